#include "support/carrier_fake.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/http_client.hpp"

namespace rh::test {

CarrierFake::Started CarrierFake::start(const std::string& carrier,
                                        const std::vector<std::string>& extra_args) {
  Started out;
  carrier_ = carrier;
  if (!program_available("python3")) {
    out.skip = true;
    out.why = "python3 is not installed: the carrier fake (tests/support/carrier-fake.py) needs it";
    return out;
  }
  std::vector<std::string> argv{
      "python3",   std::string(RH_SOURCE_DIR) + "/tests/support/carrier-fake.py",
      "--carrier", carrier,
      "--port",    "0"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  auto started = child_.start(argv);
  out.ok = started.ok && child_.port() != 0;
  out.why = started.ok ? "carrier-fake.py announced no port: " + child_.ready_value() : started.why;
  return out;
}

std::string CarrierFake::base_url() const {
  std::string root = "http://127.0.0.1:" + std::to_string(port());
  if (carrier_ == "telnyx") return root + "/v2";
  if (carrier_ == "bandwidth") return root + "/api";
  return root + "/v1";
}

std::string CarrierFake::messaging_base_url() const {
  return "http://127.0.0.1:" + std::to_string(port()) + "/api/v2";
}

std::map<std::string, std::string> CarrierFake::settings() const {
  std::map<std::string, std::string> s{{"base_url", base_url()}};
  if (carrier_ == "telnyx") {
    s["api_key"] = kApiKey;
    s["connection_id"] = "conn-1234";
    s["messaging_profile_id"] = "mp-5678";
  } else if (carrier_ == "bandwidth") {
    s["account_id"] = kAccountId;
    s["username"] = kUser;
    s["password"] = kPassword;
    s["site_id"] = "site-42";
    s["application_id"] = kApplicationId;
    s["messaging_base_url"] = messaging_base_url();
  } else {
    s["auth_id"] = kAuthId;
    s["auth_token"] = kAuthToken;
    s["app_id"] = "app-77";
  }
  return s;
}

bool CarrierFake::control(const std::string& json) {
  HttpRequest req;
  req.method = "POST";
  req.target = "/_control";
  req.body = json;
  req.headers["Content-Type"] = "application/json";
  HttpResponse r = http(port(), req, std::chrono::seconds(10));
  if (r.status != 200) {
    ADD_FAILURE() << "carrier fake refused control " << json << ": " << r.status << " " << r.body;
    return false;
  }
  return true;
}

namespace {

// GET /_<name> -> {"<name>": [...]}
boost::json::array fetch_list(std::uint16_t port, const std::string& name) {
  HttpRequest req;
  req.target = "/_" + name;
  HttpResponse r = http(port, req, std::chrono::seconds(10));
  boost::system::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  if (r.status != 200 || ec || !v.is_object() || !v.as_object().contains(name) ||
      !v.as_object().at(name).is_array()) {
    ADD_FAILURE() << "carrier fake /_" << name << " answered " << r.status << " " << r.body;
    return {};
  }
  return v.as_object().at(name).as_array();
}

}  // namespace

boost::json::array CarrierFake::requests() {
  return fetch_list(port(), "requests");
}

boost::json::array CarrierFake::messages() {
  return fetch_list(port(), "messages");
}

bool CarrierFake::script_sends(const std::string& json_array) {
  return control(R"({"send_results":)" + json_array + "}");
}

}  // namespace rh::test
