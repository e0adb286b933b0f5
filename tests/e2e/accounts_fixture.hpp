// Helpers for end-to-end tests of accounts: users are created the way a
// person would (sign up, follow the link from the mail log, sign in) or by
// the operator's CLI, and TOTP codes are computed as an authenticator app
// does.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <regex>
#include <string>

#include "accounts/totp.hpp"
#include "e2e/e2e_fixture.hpp"

namespace rh::test {

struct Account {
  std::string id;
  std::string email;
  std::string password;
  std::string access_token;
  std::string refresh_token;
  std::string session_id;
  std::string totp_key;  // raw key when TOTP is on
};

inline std::string jstr(const boost::json::value& v, const char* key) {
  return std::string(v.at(key).as_string());
}

// A request with a Host header (the tenant) and an optional bearer token.
inline HttpResponse call(std::uint16_t port, const std::string& method, const std::string& target,
                         const std::string& body = "", const std::string& token = "",
                         const std::string& host = "localhost") {
  return http_json(port, method, target, body, token, host);
}

// The token of the newest mailed link of `kind` sent to `to`, read from the
// mail log through the admin API (the operator token).
inline std::optional<std::string> mailed_token(std::uint16_t port, const std::string& op_token,
                                               const std::string& to, const std::string& kind) {
  std::optional<std::string> found;
  eventually([&] {
    auto r = http_get(port, "/v1/admin/emails?limit=1&kind=" + kind + "&to=" + to, op_token);
    if (r.status != 200) return false;
    auto v = r.json();
    const auto& data = v.at("data").as_array();
    if (data.empty()) return false;
    std::smatch m;
    std::string text = jstr(data.at(0), "text");
    if (!std::regex_search(text, m, std::regex("token=([A-Za-z0-9_-]+)"))) return false;
    found = m[1].str();
    return true;
  });
  return found;
}

inline HttpResponse login(std::uint16_t port, const std::string& email, const std::string& password,
                          const std::string& totp_code = "",
                          const std::string& host = "localhost") {
  boost::json::object b{{"email", email}, {"password", password}};
  if (!totp_code.empty()) b["totp_code"] = totp_code;
  return call(port, "POST", "/v1/auth/login", boost::json::serialize(b), "", host);
}

inline void take_tokens(Account& a, const HttpResponse& r) {
  auto v = r.json();
  a.access_token = jstr(v, "access_token");
  a.refresh_token = jstr(v, "refresh_token");
  a.session_id = jstr(v, "session_id");
}

// Signs up, verifies through the mailed link and signs in. Fails the test on
// any unexpected answer.
inline Account signed_up_user(std::uint16_t port, const std::string& op_token,
                              const std::string& email, const std::string& host = "localhost") {
  Account a;
  a.email = email;
  a.password = "a long enough password " + email;
  auto s =
      call(port, "POST", "/v1/auth/signup",
           boost::json::serialize(boost::json::object{{"email", email}, {"password", a.password}}),
           "", host);
  EXPECT_EQ(s.status, 202) << s.body;
  auto token = mailed_token(port, op_token, email, "verify_email");
  EXPECT_TRUE(token) << "no verification email for " << email;
  if (!token) return a;
  auto v = call(port, "POST", "/v1/auth/verify-email",
                boost::json::serialize(boost::json::object{{"token", *token}}), "", host);
  EXPECT_EQ(v.status, 200) << v.body;
  if (v.status == 200) a.id = jstr(v.json(), "id");
  auto l = login(port, email, a.password, "", host);
  EXPECT_EQ(l.status, 200) << l.body;
  if (l.status == 200) take_tokens(a, l);
  return a;
}

inline std::string totp_now(const std::string& key, std::int64_t offset_steps = 0) {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto step = static_cast<std::uint64_t>(now / accounts::totp::kStepSeconds + offset_steps);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06u", accounts::totp::hotp(key, step));
  return buf;
}

// Turns TOTP on for a signed-in account (the current session becomes verified).
inline void enable_totp(std::uint16_t port, Account& a, const std::string& host = "localhost") {
  auto setup = call(port, "POST", "/v1/me/totp", "", a.access_token, host);
  ASSERT_EQ(setup.status, 200) << setup.body;
  auto key = accounts::totp::base32_decode(jstr(setup.json(), "secret"));
  ASSERT_TRUE(key);
  a.totp_key = *key;
  auto confirm = call(port, "POST", "/v1/me/totp/confirm",
                      boost::json::serialize(boost::json::object{{"code", totp_now(a.totp_key)}}),
                      a.access_token, host);
  ASSERT_EQ(confirm.status, 204) << confirm.body;
}

}  // namespace rh::test
