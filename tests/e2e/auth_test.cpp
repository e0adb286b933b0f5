// Accounts end to end, on both drivers, against the real binary: sign-up with
// the link from the mail log, sign-in, refresh-token rotation and reuse
// detection, logout, password reset, throttling per account and per IP,
// TOTP, staff without TOTP, API keys and scopes, forged access tokens,
// suspension, sessions, the CLI and the bootstrap of the first admin.
#include <fstream>
#include <regex>

#include "accounts/access_token.hpp"
#include "core/crypto.hpp"
#include "e2e/accounts_fixture.hpp"

namespace rh::test {

namespace json = boost::json;

class Auth : public E2E {
 protected:
  std::string key_of(const RinghouseProcess& p) {
    std::ifstream in(p.data_dir() + "/secrets/access-token-key");
    std::string k;
    std::getline(in, k);
    return k;
  }
  // `ringhouse admin ...` against this test's data dir and database.
  CommandResult admin(const RinghouseProcess& p, std::vector<std::string> args) {
    std::vector<std::string> full{"admin"};
    full.insert(full.end(), args.begin(), args.end());
    full.push_back("--data-dir");
    full.push_back(p.data_dir());
    for (auto& a : db_args()) full.push_back(a);
    return run_ringhouse(full);
  }
  // Creates a user with the CLI; returns its generated password.
  std::string cli_user(const RinghouseProcess& p, const std::string& email,
                       const std::string& role) {
    auto r = admin(p, {"create-user", "--email", email, "--role", role});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::smatch m;
    if (!std::regex_search(r.output, m, std::regex("password: (\\S+)"))) {
      ADD_FAILURE() << r.output;
      return "";
    }
    return m[1].str();
  }
};
RH_E2E_ON_BOTH_DRIVERS(Auth);

namespace {
std::string body(std::initializer_list<std::pair<const char*, std::string>> kv) {
  json::object o;
  for (const auto& [k, v] : kv) o[k] = v;
  return json::serialize(o);
}
std::string code_of(const HttpResponse& r) {
  try {
    return jstr(r.json(), "code");
  } catch (...) {
    return "";
  }
}
}  // namespace

TEST_P(Auth, SignupVerifyLoginRefreshReuseLogout) {
  auto p = start();
  std::string op = p->operator_token();
  std::string pw = "correct horse battery staple";
  auto s =
      call(p->port(), "POST", "/v1/auth/signup",
           body({{"email", "Alice@Example.COM"}, {"password", pw}, {"display_name", "Alice"}}));
  ASSERT_EQ(s.status, 202) << s.body;

  // Not before the email is confirmed.
  auto early = login(p->port(), "alice@example.com", pw);
  EXPECT_EQ(early.status, 403) << early.body;
  EXPECT_EQ(code_of(early), "email_unverified");

  auto token = mailed_token(p->port(), op, "alice@example.com", "verify_email");
  ASSERT_TRUE(token);
  auto bad = call(p->port(), "POST", "/v1/auth/verify-email", body({{"token", "nope"}}));
  EXPECT_EQ(bad.status, 422) << bad.body;
  auto v = call(p->port(), "POST", "/v1/auth/verify-email", body({{"token", *token}}));
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_EQ(jstr(v.json(), "status"), "active");
  auto again = call(p->port(), "POST", "/v1/auth/verify-email", body({{"token", *token}}));
  EXPECT_EQ(again.status, 422) << "a link works once: " << again.body;

  auto l = login(p->port(), "alice@example.com", pw);
  ASSERT_EQ(l.status, 200) << l.body;
  EXPECT_EQ(l.header("cache-control"), "no-store");
  Account a;
  take_tokens(a, l);
  auto me = call(p->port(), "GET", "/v1/me", "", a.access_token);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(jstr(me.json(), "email"), "alice@example.com");
  EXPECT_EQ(jstr(me.json(), "display_name"), "Alice");
  EXPECT_EQ(jstr(me.json(), "role"), "user");

  // Rotation: the refresh token is replaced at each use.
  auto r1 = call(p->port(), "POST", "/v1/auth/refresh", body({{"refresh_token", a.refresh_token}}));
  ASSERT_EQ(r1.status, 200) << r1.body;
  Account b;
  take_tokens(b, r1);
  EXPECT_NE(b.refresh_token, a.refresh_token);
  EXPECT_EQ(b.session_id, a.session_id);
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", b.access_token).status, 200);

  // The old refresh token presented again: the whole family is revoked.
  auto reuse =
      call(p->port(), "POST", "/v1/auth/refresh", body({{"refresh_token", a.refresh_token}}));
  EXPECT_EQ(reuse.status, 401) << reuse.body;
  EXPECT_EQ(code_of(reuse), "refresh_token_reused");
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", b.access_token).status, 401);
  auto after =
      call(p->port(), "POST", "/v1/auth/refresh", body({{"refresh_token", b.refresh_token}}));
  EXPECT_EQ(after.status, 401) << "the newest token of a revoked family: " << after.body;
  auto events = http_get(p->port(), "/v1/admin/events?type=session.revoked", op);
  EXPECT_EQ(events.json().at("data").as_array().size(), 1u) << events.body;

  // A new session, then logout ends it.
  auto l2 = login(p->port(), "alice@example.com", pw);
  ASSERT_EQ(l2.status, 200) << l2.body;
  Account c;
  take_tokens(c, l2);
  EXPECT_EQ(call(p->port(), "POST", "/v1/auth/logout", "", c.access_token).status, 204);
  auto gone = call(p->port(), "GET", "/v1/me", "", c.access_token);
  EXPECT_EQ(gone.status, 401);
  EXPECT_NE(gone.header("www-authenticate").find("invalid_token"), std::string::npos);
  EXPECT_EQ(call(p->port(), "POST", "/v1/auth/refresh", body({{"refresh_token", c.refresh_token}}))
                .status,
            401);

  // Signing up again with the same address changes nothing and mails the owner.
  auto dup = call(p->port(), "POST", "/v1/auth/signup",
                  body({{"email", "alice@example.com"}, {"password", "another password 123"}}));
  EXPECT_EQ(dup.status, 202);
  EXPECT_TRUE(eventually([&] {
    auto r = http_get(p->port(), "/v1/admin/emails?kind=signup_existing", op);
    return r.status == 200 && r.json().at("data").as_array().size() == 1;
  }));
  EXPECT_EQ(login(p->port(), "alice@example.com", pw).status, 200);
}

TEST_P(Auth, BadInputGetsClearErrors) {
  auto p = start();
  auto weak = call(p->port(), "POST", "/v1/auth/signup",
                   body({{"email", "bob@example.com"}, {"password", "short"}}));
  EXPECT_EQ(weak.status, 422) << weak.body;
  EXPECT_NE(weak.body.find("\"password\""), std::string::npos) << weak.body;
  auto bad_email = call(p->port(), "POST", "/v1/auth/signup",
                        body({{"email", "not-an-email"}, {"password", "long enough password"}}));
  EXPECT_EQ(bad_email.status, 422) << bad_email.body;
  auto unknown = call(p->port(), "POST", "/v1/auth/login",
                      R"({"email":"a@b.co","password":"x","admin":true})");
  EXPECT_EQ(unknown.status, 422) << unknown.body;
  auto not_json = call(p->port(), "POST", "/v1/auth/login", "{", "");
  EXPECT_EQ(not_json.status, 400) << not_json.body;
  auto wrong_type = call(p->port(), "POST", "/v1/auth/login", R"({"email":1,"password":[]})");
  EXPECT_EQ(wrong_type.status, 422) << wrong_type.body;
  auto no_token = http_get(p->port(), "/v1/me");
  EXPECT_EQ(no_token.status, 401);
  EXPECT_NE(no_token.header("www-authenticate").find("Bearer"), std::string::npos);
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", "garbage").status, 401);
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", "rhk_x_y").status, 401);
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", std::string(5000, 'a')).status, 401);
  // The operator token is not a user.
  auto op = call(p->port(), "GET", "/v1/me", "", p->operator_token());
  EXPECT_EQ(op.status, 403) << op.body;
  EXPECT_EQ(code_of(op), "user_required");
}

TEST_P(Auth, LinksInEmailsIgnoreForgedHosts) {
  auto p = start();
  std::string op = p->operator_token();
  for (std::string host :
       {"localhost:1@evil.example", "evil.example", "localhost:80/x.evil.example"}) {
    std::string email = "m" + std::to_string(host.size()) + "@example.com";
    auto s = call(p->port(), "POST", "/v1/auth/signup",
                  body({{"email", email}, {"password", "a long enough password"}}), "", host);
    ASSERT_EQ(s.status, 202) << host << ": " << s.body;
    ASSERT_TRUE(mailed_token(p->port(), op, email, "verify_email"));
    auto mail = http_get(p->port(), "/v1/admin/emails?to=" + email, op);
    std::string text = jstr(mail.json().at("data").as_array().at(0), "text");
    EXPECT_EQ(text.find("evil"), std::string::npos) << host << ":\n" << text;
    EXPECT_NE(text.find("http://localhost"), std::string::npos) << text;
  }
}

TEST_P(Auth, PasswordReset) {
  auto p = start();
  std::string op = p->operator_token();
  Account a = signed_up_user(p->port(), op, "carol@example.com");
  ASSERT_FALSE(a.access_token.empty());
  // Unknown addresses get the same answer and no email.
  auto unknown =
      call(p->port(), "POST", "/v1/auth/password-reset", body({{"email", "nobody@example.com"}}));
  EXPECT_EQ(unknown.status, 202);
  auto req =
      call(p->port(), "POST", "/v1/auth/password-reset", body({{"email", "carol@example.com"}}));
  EXPECT_EQ(req.status, 202);
  auto token = mailed_token(p->port(), op, "carol@example.com", "password_reset");
  ASSERT_TRUE(token);
  auto none = http_get(p->port(), "/v1/admin/emails?to=nobody@example.com", op);
  EXPECT_EQ(none.json().at("data").as_array().size(), 0u);

  auto weak = call(p->port(), "POST", "/v1/auth/password-reset/complete",
                   body({{"token", *token}, {"password", "short"}}));
  EXPECT_EQ(weak.status, 422) << weak.body;
  std::string fresh = "a brand new password 42";
  auto done = call(p->port(), "POST", "/v1/auth/password-reset/complete",
                   body({{"token", *token}, {"password", fresh}}));
  ASSERT_EQ(done.status, 204) << done.body;
  auto twice = call(p->port(), "POST", "/v1/auth/password-reset/complete",
                    body({{"token", *token}, {"password", "yet another password 1"}}));
  EXPECT_EQ(twice.status, 422) << twice.body;

  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", a.access_token).status, 401)
      << "a reset signs out everywhere";
  EXPECT_EQ(login(p->port(), "carol@example.com", a.password).status, 401);
  EXPECT_EQ(login(p->port(), "carol@example.com", fresh).status, 200);

  // Changing the password while signed in keeps this session, ends the others.
  auto s1 = login(p->port(), "carol@example.com", fresh);
  auto s2 = login(p->port(), "carol@example.com", fresh);
  Account one, two;
  take_tokens(one, s1);
  take_tokens(two, s2);
  auto wrong =
      call(p->port(), "POST", "/v1/me/password",
           body({{"current_password", "not it at all"}, {"new_password", "third password 333"}}),
           one.access_token);
  EXPECT_EQ(wrong.status, 422) << wrong.body;
  auto changed = call(p->port(), "POST", "/v1/me/password",
                      body({{"current_password", fresh}, {"new_password", "third password 333"}}),
                      one.access_token);
  EXPECT_EQ(changed.status, 204) << changed.body;
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", one.access_token).status, 200);
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", two.access_token).status, 401);
}

TEST_P(Auth, ThrottlingPerAccountAndPerIp) {
  auto p = start({"--set", "auth.login_max_failures_per_account=3", "--set",
                  "auth.login_max_failures_per_ip=6", "--set", "auth.login_lockout_s=30"});
  std::string op = p->operator_token();
  Account a = signed_up_user(p->port(), op, "dave@example.com");
  Account b = signed_up_user(p->port(), op, "erin@example.com");
  for (int i = 0; i < 3; ++i) {
    auto r = login(p->port(), a.email, "wrong password " + std::to_string(i));
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(code_of(r), "invalid_credentials");
  }
  // Locked: even the right password waits.
  auto locked = login(p->port(), a.email, a.password);
  EXPECT_EQ(locked.status, 429) << locked.body;
  EXPECT_EQ(code_of(locked), "login_throttled");
  int wait = std::atoi(locked.header("retry-after").c_str());
  EXPECT_GE(wait, 1);
  EXPECT_LE(wait, 30);
  // Another account from the same address still works (the IP has 3 of 6).
  EXPECT_EQ(login(p->port(), b.email, b.password).status, 200);
  // Failures on unknown accounts count against the address too.
  for (int i = 0; i < 3; ++i) {
    auto r = login(p->port(), "ghost" + std::to_string(i) + "@example.com", "whatever it is");
    EXPECT_EQ(r.status, 401) << r.body;
  }
  auto ip_locked = login(p->port(), b.email, b.password);
  EXPECT_EQ(ip_locked.status, 429) << ip_locked.body;
  EXPECT_FALSE(ip_locked.header("retry-after").empty());
  EXPECT_NE(ip_locked.body.find("address"), std::string::npos) << ip_locked.body;
}

TEST_P(Auth, TotpEnrolmentAndLogin) {
  auto p = start();
  std::string op = p->operator_token();
  Account a = signed_up_user(p->port(), op, "frank@example.com");
  enable_totp(p->port(), a);
  auto me = call(p->port(), "GET", "/v1/me", "", a.access_token);
  EXPECT_TRUE(me.json().at("totp_enabled").as_bool()) << me.body;

  auto no_code = login(p->port(), a.email, a.password);
  EXPECT_EQ(no_code.status, 401) << no_code.body;
  EXPECT_EQ(code_of(no_code), "totp_required");
  auto wrong = login(p->port(), a.email, a.password, totp_now(a.totp_key, 5));
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  EXPECT_EQ(code_of(wrong), "invalid_totp");
  // The next step's code (the window accepts one step ahead); the enrolment
  // used the current one, which cannot be used twice.
  std::string code = totp_now(a.totp_key, 1);
  auto ok = login(p->port(), a.email, a.password, code);
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto replay = login(p->port(), a.email, a.password, code);
  EXPECT_EQ(replay.status, 401) << "a code works once: " << replay.body;

  auto sessions = call(p->port(), "GET", "/v1/sessions", "", jstr(ok.json(), "access_token"));
  ASSERT_EQ(sessions.status, 200);
  bool verified = false;
  auto listed = sessions.json();
  for (const auto& s : listed.at("data").as_array())
    if (s.at("current").as_bool()) verified = s.at("two_step_verified").as_bool();
  EXPECT_TRUE(verified) << sessions.body;
}

TEST_P(Auth, StaffNeedTotp) {
  auto p = start();
  std::string pw = cli_user(*p, "admin@example.com", "tenant_admin");
  ASSERT_FALSE(pw.empty());
  auto l = login(p->port(), "admin@example.com", pw);
  ASSERT_EQ(l.status, 200) << l.body;
  Account a;
  a.email = "admin@example.com";
  a.password = pw;
  take_tokens(a, l);
  auto refused = call(p->port(), "GET", "/v1/admin/users", "", a.access_token);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(code_of(refused), "totp_required");
  // A staff member without TOTP is still a user: may enrol.
  enable_totp(p->port(), a);
  auto allowed = call(p->port(), "GET", "/v1/admin/users", "", a.access_token);
  EXPECT_EQ(allowed.status, 200) << "the enrolling session passed TOTP: " << allowed.body;
  auto l2 = login(p->port(), a.email, a.password, totp_now(a.totp_key, 1));
  ASSERT_EQ(l2.status, 200) << l2.body;
  // A lost authenticator: the operator turns TOTP off with the CLI.
  auto reset = admin(*p, {"reset-totp", "--email", a.email});
  EXPECT_EQ(reset.exit_code, 0) << reset.output;
  auto no_code = login(p->port(), a.email, a.password);
  EXPECT_EQ(no_code.status, 200) << no_code.body;
  auto staff_again =
      call(p->port(), "GET", "/v1/admin/users", "", jstr(no_code.json(), "access_token"));
  EXPECT_EQ(staff_again.status, 403) << "without TOTP, no staff powers";
  take_tokens(a, no_code);
  enable_totp(p->port(), a);
  l2 = login(p->port(), a.email, a.password, totp_now(a.totp_key, 1));
  ASSERT_EQ(l2.status, 200) << l2.body;
  auto list =
      call(p->port(), "GET", "/v1/admin/users?q=admin", "", jstr(l2.json(), "access_token"));
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.json().at("data").as_array().size(), 1u) << list.body;
  // A tenant admin is not a platform admin.
  auto platform = call(p->port(), "GET", "/v1/admin/tenants", "", jstr(l2.json(), "access_token"));
  EXPECT_EQ(platform.status, 403) << platform.body;
  // A plain user is not staff at all.
  Account u = signed_up_user(p->port(), p->operator_token(), "plain@example.com");
  auto plain = call(p->port(), "GET", "/v1/admin/users", "", u.access_token);
  EXPECT_EQ(plain.status, 403);
  EXPECT_EQ(code_of(plain), "forbidden");
}

TEST_P(Auth, ApiKeysWithScopes) {
  auto p = start();
  Account a = signed_up_user(p->port(), p->operator_token(), "gina@example.com");
  auto bad_scope = call(p->port(), "POST", "/v1/api-keys",
                        R"({"name":"ci","scopes":["numbers:everything"]})", a.access_token);
  EXPECT_EQ(bad_scope.status, 422) << bad_scope.body;
  auto created = call(p->port(), "POST", "/v1/api-keys",
                      R"({"name":"reader","scopes":["me:read"]})", a.access_token);
  ASSERT_EQ(created.status, 201) << created.body;
  std::string key = jstr(created.json(), "key");
  std::string id = jstr(created.json(), "id");
  EXPECT_EQ(key.rfind("rhk_", 0), 0u);

  auto me = call(p->port(), "GET", "/v1/me", "", key);
  EXPECT_EQ(me.status, 200) << me.body;
  auto write = call(p->port(), "PATCH", "/v1/me", R"({"display_name":"G"})", key);
  EXPECT_EQ(write.status, 403) << write.body;
  EXPECT_EQ(code_of(write), "insufficient_scope");
  EXPECT_NE(write.header("www-authenticate").find("me:write"), std::string::npos);
  auto keys_with_key = call(p->port(), "GET", "/v1/api-keys", "", key);
  EXPECT_EQ(keys_with_key.status, 403) << "a key cannot manage keys";
  EXPECT_EQ(code_of(keys_with_key), "api_key_not_allowed");

  auto list = call(p->port(), "GET", "/v1/api-keys", "", a.access_token);
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json().at("data").as_array().size(), 1u);
  EXPECT_FALSE(list.json().at("data").as_array().at(0).as_object().contains("key"))
      << "the secret is shown once";
  EXPECT_EQ(list.body.find(key), std::string::npos);

  // A tampered secret with a real id is refused.
  std::string tampered = key;
  tampered.back() = tampered.back() == 'a' ? 'b' : 'a';
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", tampered).status, 401);

  EXPECT_EQ(call(p->port(), "DELETE", "/v1/api-keys/" + id, "", a.access_token).status, 204);
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", key).status, 401);
  EXPECT_EQ(call(p->port(), "DELETE", "/v1/api-keys/key_nothere", "", a.access_token).status, 404);
}

TEST_P(Auth, ForgedAccessTokensAreRefused) {
  auto p = start();
  Account a = signed_up_user(p->port(), p->operator_token(), "hank@example.com");
  std::string key = key_of(*p);
  ASSERT_FALSE(key.empty());
  // The genuine token's claims, re-signed with changes.
  auto parts = std::vector<std::string>();
  {
    std::string t = a.access_token;
    std::size_t pos = 0, dot;
    while ((dot = t.find('.', pos)) != std::string::npos) {
      parts.push_back(t.substr(pos, dot - pos));
      pos = dot + 1;
    }
    parts.push_back(t.substr(pos));
  }
  ASSERT_EQ(parts.size(), 3u);
  auto claims_text = crypto::base64url_decode(parts[1]);
  ASSERT_TRUE(claims_text);
  auto claims = json::parse(*claims_text).as_object();
  accounts::AccessClaims c;
  c.iss = jstr(claims, "iss");
  c.aud = jstr(claims, "aud");
  c.sub = jstr(claims, "sub");
  c.tid = jstr(claims, "tid");
  c.sid = jstr(claims, "sid");
  c.iat = claims.at("iat").to_number<std::int64_t>();
  c.exp = claims.at("exp").to_number<std::int64_t>();

  // Control: re-signing the same claims with the real key works.
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", accounts::sign_access_token(c, key)).status, 200);

  auto expired = c;
  expired.iat -= 7200;
  expired.exp = expired.iat + 600;
  auto r = call(p->port(), "GET", "/v1/me", "", accounts::sign_access_token(expired, key));
  EXPECT_EQ(r.status, 401) << "expired";
  EXPECT_NE(r.body.find("expired"), std::string::npos) << r.body;

  auto audience = c;
  audience.aud = "some-other-api";
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", accounts::sign_access_token(audience, key)).status,
            401)
      << "wrong audience";
  auto issuer = c;
  issuer.iss = "evil";
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", accounts::sign_access_token(issuer, key)).status,
            401);
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "",
                 accounts::sign_access_token(c, "another key of enough length 0123456789"))
                .status,
            401)
      << "another key";

  // Tampered: another user's id in the payload, signature unchanged.
  auto other = claims;
  other["sub"] = "usr_someoneelse";
  std::string tampered =
      parts[0] + "." + crypto::base64url_encode(json::serialize(other)) + "." + parts[2];
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", tampered).status, 401) << "tampered";

  // alg none, with and without a signature.
  std::string none_header = crypto::base64url_encode(R"({"alg":"none","typ":"at+jwt"})");
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", none_header + "." + parts[1] + ".").status, 401);
  EXPECT_EQ(
      call(p->port(), "GET", "/v1/me", "", none_header + "." + parts[1] + "." + parts[2]).status,
      401);
  // HS256 "signed" with the public nothing: RS256 header confusion.
  std::string rs_header = crypto::base64url_encode(R"({"alg":"RS256","typ":"at+jwt"})");
  EXPECT_EQ(
      call(p->port(), "GET", "/v1/me", "", rs_header + "." + parts[1] + "." + parts[2]).status,
      401);
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", a.access_token).status, 200);
}

TEST_P(Auth, SuspendedUsersTokensStopWorking) {
  auto p = start();
  std::string op = p->operator_token();
  Account a = signed_up_user(p->port(), op, "ivan@example.com");
  auto key = call(p->port(), "POST", "/v1/api-keys", R"({"name":"k","scopes":["me:read"]})",
                  a.access_token);
  ASSERT_EQ(key.status, 201);
  std::string api_key = jstr(key.json(), "key");
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", api_key).status, 200);

  auto s =
      http_json(p->port(), "PATCH", "/v1/admin/users/" + a.id, R"({"status":"suspended"})", op);
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(jstr(s.json(), "status"), "suspended");
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", a.access_token).status, 401);
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", api_key).status, 401);
  EXPECT_EQ(call(p->port(), "POST", "/v1/auth/refresh", body({{"refresh_token", a.refresh_token}}))
                .status,
            401);
  auto l = login(p->port(), a.email, a.password);
  EXPECT_EQ(l.status, 403) << l.body;
  EXPECT_EQ(code_of(l), "account_suspended");
  auto ev = http_get(p->port(), "/v1/admin/events?type=user.suspended", op);
  EXPECT_EQ(ev.json().at("data").as_array().size(), 1u);

  // Reactivated: a fresh sign-in works; the old credentials stay revoked.
  auto back =
      http_json(p->port(), "PATCH", "/v1/admin/users/" + a.id, R"({"status":"active"})", op);
  ASSERT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(login(p->port(), a.email, a.password).status, 200);
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", api_key).status, 401);
}

TEST_P(Auth, ASuspendedTenantsUsersAreShutOut) {
  auto p = start();
  std::string op = p->operator_token();
  auto t = http_json(p->port(), "POST", "/v1/admin/tenants",
                     R"({"slug":"acme","name":"Acme","hostnames":["acme.test"]})", op);
  ASSERT_EQ(t.status, 201) << t.body;
  Account a = signed_up_user(p->port(), op, "kim@example.com", "acme.test");
  ASSERT_FALSE(a.access_token.empty());
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", a.access_token, "acme.test").status, 200);
  auto s = http_json(p->port(), "PATCH", "/v1/admin/tenants/" + jstr(t.json(), "id"),
                     R"({"status":"suspended"})", op);
  ASSERT_EQ(s.status, 200) << s.body;
  // Within the node's memory of the session (auth.session_cache_ms).
  EXPECT_TRUE(eventually(
      [&] {
        return call(p->port(), "GET", "/v1/me", "", a.access_token, "acme.test").status == 401;
      },
      std::chrono::seconds(5)));
  auto l = login(p->port(), a.email, a.password, "", "acme.test");
  EXPECT_EQ(l.status, 403) << l.body;
  EXPECT_EQ(code_of(l), "tenant_suspended");
  // Non-ASCII addresses are refused up front, not deep in the mail outbox.
  auto intl =
      call(p->port(), "POST", "/v1/auth/signup",
           body({{"email", "j\xc3\xbcrgen@example.com"}, {"password", "long enough password"}}));
  EXPECT_EQ(intl.status, 422) << intl.body;
}

TEST_P(Auth, SessionsListAndRevoke) {
  auto p = start();
  Account a = signed_up_user(p->port(), p->operator_token(), "judy@example.com");
  auto second = login(p->port(), a.email, a.password);
  ASSERT_EQ(second.status, 200);
  Account b;
  take_tokens(b, second);
  auto list = call(p->port(), "GET", "/v1/sessions", "", a.access_token);
  ASSERT_EQ(list.status, 200);
  auto listed = list.json();
  const auto& data = listed.at("data").as_array();
  ASSERT_EQ(data.size(), 2u) << list.body;
  int current = 0;
  for (const auto& s : data) current += s.at("current").as_bool() ? 1 : 0;
  EXPECT_EQ(current, 1);
  EXPECT_EQ(call(p->port(), "DELETE", "/v1/sessions/" + b.session_id, "", a.access_token).status,
            204);
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", b.access_token).status, 401);
  EXPECT_EQ(call(p->port(), "GET", "/v1/me", "", a.access_token).status, 200);
  EXPECT_EQ(call(p->port(), "DELETE", "/v1/sessions/ses_unknown", "", a.access_token).status, 404);

  auto patched = call(p->port(), "PATCH", "/v1/me",
                      R"({"display_name":"Judy","locale":"fr-FR","time_zone":"Europe/Paris"})",
                      a.access_token);
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(jstr(patched.json(), "time_zone"), "Europe/Paris");
  auto bad = call(p->port(), "PATCH", "/v1/me", R"({"role":"platform_admin"})", a.access_token);
  EXPECT_EQ(bad.status, 422) << "no self-promotion: " << bad.body;
  auto bad_tz =
      call(p->port(), "PATCH", "/v1/me", R"({"time_zone":"Mars/../etc"})", a.access_token);
  EXPECT_EQ(bad_tz.status, 422) << bad_tz.body;
}

TEST_P(Auth, CliAndBootstrapOfTheFirstAdmin) {
  ProcessOptions o;
  o.command = "up";
  o.args = db_args();
  o.args.insert(o.args.end(), {"--set", "voice.edge=false"});  // fixed SIP ports otherwise
  auto up = std::make_unique<RinghouseProcess>(o);
  ASSERT_GT(up->port(), 0);
  ASSERT_TRUE(eventually([&] { return up->log().find("Ringhouse is up.") != std::string::npos; }))
      << up->log();
  std::smatch m;
  std::string log = up->log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("\"token\":\"(rhb_[A-Za-z0-9_-]+)\""))) << log;
  std::string token = m[1].str();
  std::string pw = "the first admin's password";
  auto wrong =
      call(up->port(), "POST", "/v1/auth/bootstrap",
           body({{"token", "rhb_wrong"}, {"email", "root@example.com"}, {"password", pw}}));
  EXPECT_EQ(wrong.status, 422) << wrong.body;
  // An address already taken is refused, and the token stays usable.
  ASSERT_EQ(admin(*up, {"create-user", "--email", "taken@example.com"}).exit_code, 0);
  auto taken = call(up->port(), "POST", "/v1/auth/bootstrap",
                    body({{"token", token}, {"email", "taken@example.com"}, {"password", pw}}));
  EXPECT_EQ(taken.status, 409) << taken.body;
  auto ok = call(up->port(), "POST", "/v1/auth/bootstrap",
                 body({{"token", token}, {"email", "root@example.com"}, {"password", pw}}));
  ASSERT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(jstr(ok.json(), "role"), "platform_admin");
  auto twice = call(up->port(), "POST", "/v1/auth/bootstrap",
                    body({{"token", token}, {"email", "root2@example.com"}, {"password", pw}}));
  EXPECT_EQ(twice.status, 422) << "one time only: " << twice.body;
  auto l = login(up->port(), "root@example.com", pw);
  ASSERT_EQ(l.status, 200) << l.body;

  // The CLI: set a role and reset a password (which ends sessions).
  auto r = admin(*up, {"set-role", "--email", "root@example.com", "--role", "support"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto me = call(up->port(), "GET", "/v1/me", "", jstr(l.json(), "access_token"));
  EXPECT_EQ(jstr(me.json(), "role"), "support");
  auto reset = admin(*up, {"reset-password", "--email", "root@example.com"});
  EXPECT_EQ(reset.exit_code, 0) << reset.output;
  // The CLI is another process: the server's memory of the session
  // (auth.session_cache_ms, 1 s) lets it through until then.
  EXPECT_TRUE(eventually(
      [&] {
        return call(up->port(), "GET", "/v1/me", "", jstr(l.json(), "access_token")).status == 401;
      },
      std::chrono::seconds(5)));
  auto bad_role = admin(*up, {"set-role", "--email", "root@example.com", "--role", "king"});
  EXPECT_EQ(bad_role.exit_code, 2) << bad_role.output;
  auto missing = admin(*up, {"set-role", "--email", "nobody@example.com", "--role", "user"});
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  up->signal(SIGTERM);
  ASSERT_TRUE(up->wait_exit(std::chrono::seconds(30)));
}

}  // namespace rh::test
