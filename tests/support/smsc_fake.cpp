#include "support/smsc_fake.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "support/http_client.hpp"

namespace rh::test {

namespace {
const std::string kSmscDir = std::string(RH_SOURCE_DIR) + "/tests/support/smsc";
}

SmscFake::Started SmscFake::start() {
  Started s;
  if (!program_available("node")) {
    s.skip = true;
    s.why = "node is not installed (scripts/install-deps.sh test installs nodejs npm)";
    return s;
  }
  if (!std::filesystem::exists(kSmscDir + "/node_modules/smpp")) {
    s.skip = true;
    s.why = "npm smpp is not installed: run `npm ci --prefix tests/support/smsc`";
    return s;
  }
  auto started = child_.start(
      {"node", kSmscDir + "/smsc-fake.js", "--system-id", "ringhouse", "--password", "secret"});
  if (!started.ok) {
    s.why = started.why;
    return s;
  }
  std::istringstream in(child_.ready_value());
  in >> smpp_port_ >> control_port_;
  s.ok = smpp_port_ != 0 && control_port_ != 0;
  if (!s.ok) s.why = "smsc-fake.js did not say its ports: '" + child_.ready_value() + "'";
  return s;
}

boost::json::object SmscFake::state() {
  auto r = http_get(control_port_, "/state");
  EXPECT_EQ(r.status, 200) << r.body;
  return r.status == 200 ? r.json().as_object() : boost::json::object{};
}

std::int64_t SmscFake::count(const char* key) {
  auto s = state();
  return s.contains(key) ? s.at(key).to_number<std::int64_t>() : -1;
}

bool SmscFake::script(const std::string& json) {
  auto r = http_json(control_port_, "POST", "/script", json);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.status == 200;
}

std::map<std::string, int> SmscFake::texts() {
  auto r = http_get(control_port_, "/texts");
  EXPECT_EQ(r.status, 200) << r.body;
  std::map<std::string, int> out;
  if (r.status != 200) return out;
  auto v = r.json();
  for (const auto& kv : v.as_object())
    out[std::string(kv.key())] = static_cast<int>(kv.value().to_number<std::int64_t>());
  return out;
}

}  // namespace rh::test
