// Helpers for end-to-end tests of numbers and billing: the default tenant,
// CSV imports and wallet credits through the admin API, purchases.
#pragma once

#include <boost/json.hpp>
#include <string>

#include "e2e/accounts_fixture.hpp"
#include "support/carrier_fake.hpp"

namespace rh::test {

inline std::string default_tenant_id(std::uint16_t port, const std::string& op);

// A running server on the test's driver, with its operator token and
// default tenant. The data directory is kept when the test fails.
class NumbersWorld : public E2E {
 protected:
  // The fixture's settings first, so that a test's own settings win.
  void boot_with(std::vector<std::string> defaults, const std::vector<std::string>& extra) {
    defaults.insert(defaults.end(), extra.begin(), extra.end());
    rh_ = start(defaults);
    ASSERT_TRUE(rh_->running()) << rh_->log();
    port_ = rh_->port();
    op_ = rh_->operator_token();
    tenant_ = default_tenant_id(port_, op_);
  }
  void TearDown() override {
    if (HasFailure() && rh_) rh_->keep_dir();
  }
  // A staff path acting on the default tenant (platform staff name it).
  std::string admin(const std::string& path) const {
    return path + (path.find('?') == std::string::npos ? "?" : "&") + "tenant_id=" + tenant_;
  }

  // Starts a carrier's contract fake and configures the tenant to use it
  // (short time-outs and back-off), plus extra settings. False when it could
  // not; skip_ then says why if this machine cannot run the fake.
  bool use_carrier(CarrierFake& fake, const std::string& name,
                   const boost::json::object& extra = {}) {
    auto st = fake.start(name);
    if (st.skip) {
      skip_ = st.why;
      return false;
    }
    EXPECT_TRUE(st.ok) << st.why;
    if (!st.ok) return false;
    boost::json::object settings;
    for (const auto& [k, v] : fake.settings()) settings[k] = v;
    settings["timeout_ms"] = "2000";
    settings["retry_base_ms"] = "20";
    for (const auto& kv : extra) settings[kv.key()] = kv.value();
    auto r =
        call(port_, "PUT", "/v1/admin/providers/" + name + "?tenant_id=" + tenant_,
             boost::json::serialize(boost::json::object{{"enabled", true}, {"settings", settings}}),
             op_);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200;
  }

  std::unique_ptr<RinghouseProcess> rh_;
  std::uint16_t port_ = 0;
  std::string op_, tenant_;
  std::string skip_;  // why use_carrier could not run a fake here
};

inline std::string default_tenant_id(std::uint16_t port, const std::string& op) {
  auto r = http_get(port, "/v1/admin/tenants", op);
  EXPECT_EQ(r.status, 200) << r.body;
  auto v = r.json();
  for (const auto& t : v.at("data").as_array())
    if (t.at("is_default").as_bool()) return jstr(t, "id");
  ADD_FAILURE() << "no default tenant";
  return "";
}

inline HttpResponse post_csv(std::uint16_t port, const std::string& target, const std::string& csv,
                             const std::string& token) {
  HttpRequest q;
  q.method = "POST";
  q.target = target;
  q.body = csv;
  q.headers["Content-Type"] = "text/csv";
  q.headers["Authorization"] = "Bearer " + token;
  q.headers["Host"] = "localhost";
  return http(port, q);
}

// "+1415555" + 4 digits from first, n numbers; monthly and upfront prices.
inline std::string numbers_csv(int first, int n, const std::string& monthly = "0.50",
                               const std::string& upfront = "0.50",
                               const std::string& prefix = "+1415555") {
  std::string csv =
      "number,trunk,messaging_route,features,monthly_price,upfront_price,region,city\n";
  for (int i = 0; i < n; ++i) {
    char digits[8];
    std::snprintf(digits, sizeof digits, "%04d", first + i);
    csv += prefix + digits + ",trunk-a,smpp-a,sms;mms;voice," + monthly + "," + upfront +
           ",CA,San Francisco\n";
  }
  return csv;
}

// POST /v1/messages as `token`; `to` is one number or an array; no
// Idempotency-Key header when `key` is empty.
inline HttpResponse send_message(std::uint16_t port, const std::string& token,
                                 const std::string& from, const boost::json::value& to,
                                 const std::string& text, const std::string& key) {
  HttpRequest q;
  q.method = "POST";
  q.target = "/v1/messages";
  q.body = boost::json::serialize(boost::json::object{{"from", from}, {"to", to}, {"text", text}});
  q.headers["Content-Type"] = "application/json";
  q.headers["Authorization"] = "Bearer " + token;
  q.headers["Host"] = "localhost";
  if (!key.empty()) q.headers["Idempotency-Key"] = key;
  return http(port, q);
}

inline void credit(std::uint16_t port, const std::string& op, const std::string& user_id,
                   const std::string& amount) {
  auto r = call(
      port, "POST", "/v1/admin/users/" + user_id + "/balance-adjustments",
      boost::json::serialize(boost::json::object{{"amount", amount}, {"reason", "test credit"}}),
      op);
  EXPECT_EQ(r.status, 201) << r.body;
}

inline HttpResponse purchase(std::uint16_t port, const std::string& token,
                             const std::string& number, const std::string& key,
                             const std::string& provider = "") {
  HttpRequest q;
  q.method = "POST";
  q.target = "/v1/numbers";
  boost::json::object b{{"phone_number", number}};
  if (!provider.empty()) b["provider"] = provider;
  q.body = boost::json::serialize(b);
  q.headers["Content-Type"] = "application/json";
  q.headers["Authorization"] = "Bearer " + token;
  q.headers["Host"] = "localhost";
  if (!key.empty()) q.headers["Idempotency-Key"] = key;
  return http(port, q, std::chrono::seconds(60));
}

inline boost::json::object balance(std::uint16_t port, const std::string& token) {
  auto r = call(port, "GET", "/v1/balance", "", token);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.status == 200 ? r.json().as_object() : boost::json::object{};
}

inline std::int64_t micros(const boost::json::object& o, const char* k) {
  return o.contains(k) ? o.at(k).as_int64() : -1;
}

}  // namespace rh::test
