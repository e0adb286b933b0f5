#include "accounts/auth.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <boost/json.hpp>
#include <limits>

#include "accounts/access_token.hpp"
#include "accounts/mail.hpp"
#include "accounts/totp.hpp"
#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "jobs/outbox.hpp"

namespace rh::accounts {

using storage::Connection;
using storage::Row;
using storage::Value;

// ---- configuration --------------------------------------------------------

void declare_auth_config(config::Schema& s) {
  s.string("auth.issuer", "ringhouse", "The iss claim of access tokens.");
  s.string("auth.audience", "ringhouse-api", "The aud claim of access tokens.");
  s.integer("auth.access_token_ttl_s", 600,
            "Life of an access token, in seconds. Revocation (logout, suspension) takes effect "
            "at once regardless.",
            60, 3600);
  s.integer("auth.refresh_token_ttl_s", 30 * 86400,
            "Life of an unused refresh token: a session idle this long ends.", 300, 365 * 86400);
  s.integer("auth.session_max_age_s", 90 * 86400,
            "Absolute life of a session, however often it is refreshed.", 300, 3650 * 86400);
  s.integer("auth.verify_token_ttl_s", 48 * 3600, "Life of an email verification link.", 300,
            30 * 86400);
  s.integer("auth.reset_token_ttl_s", 3600, "Life of a password reset link.", 300, 7 * 86400);
  s.integer("auth.argon2_memory_kib", 19456,
            "Argon2id memory per password hash, in KiB (at least 19456, OWASP's minimum).", 19456,
            4 * 1024 * 1024);
  s.integer("auth.argon2_passes", 2, "Argon2id passes (at least 2).", 2, 16);
  s.integer("auth.hash_threads", 0,
            "Threads hashing passwords (each uses auth.argon2_memory_kib); 0: one per core.", 0,
            256);
  s.integer("auth.login_max_failures_per_account", 5,
            "Failed logins on one account within the window before it is locked for a while.", 1,
            1000);
  s.integer("auth.login_max_failures_per_ip", 30,
            "Failed logins from one IP address within the window before it is locked for a "
            "while.",
            1, 100000);
  s.integer("auth.login_failure_window_s", 900, "Window over which failed logins are counted.", 1,
            86400);
  s.integer("auth.login_lockout_s", 60,
            "First lock-out; each further failure doubles it, up to the window.", 1, 86400);
  s.integer("auth.password_min_length", 10, "Shortest password accepted.", 8, 128);
  s.boolean("auth.signup_enabled", true, "Let people sign up by themselves.");
  s.string("auth.totp_issuer", "", "Issuer shown in authenticator apps; empty: the tenant's name.");
  s.integer("auth.session_cache_ms", 1000,
            "How long a node remembers that a session or API key is valid, saving a database "
            "read per request. Changes made on the node (logout, suspension, revocation) apply "
            "at once; changes made on another node or with the CLI within this time. 0: off.",
            0, 60000);
  s.string("auth.app_url", "",
           "Base URL of links in emails (https://phone.example.com). Empty: the request's Host "
           "when it is one of the tenant's hostnames, else http.public_url.");
}

AuthOptions auth_options(const config::Config& c) {
  AuthOptions o;
  o.issuer = c.string("auth.issuer");
  o.audience = c.string("auth.audience");
  o.access_ttl_s = c.integer("auth.access_token_ttl_s");
  o.refresh_ttl_s = c.integer("auth.refresh_token_ttl_s");
  o.session_max_age_s = c.integer("auth.session_max_age_s");
  o.verify_ttl_s = c.integer("auth.verify_token_ttl_s");
  o.reset_ttl_s = c.integer("auth.reset_token_ttl_s");
  o.hash.memory_kib = static_cast<std::uint64_t>(c.integer("auth.argon2_memory_kib"));
  o.hash.passes = static_cast<std::uint64_t>(c.integer("auth.argon2_passes"));
  o.max_failures_per_account = static_cast<int>(c.integer("auth.login_max_failures_per_account"));
  o.max_failures_per_ip = static_cast<int>(c.integer("auth.login_max_failures_per_ip"));
  o.failure_window_s = c.integer("auth.login_failure_window_s");
  o.lockout_s = c.integer("auth.login_lockout_s");
  o.password_min_length = static_cast<std::size_t>(c.integer("auth.password_min_length"));
  o.signup_enabled = c.boolean("auth.signup_enabled");
  o.totp_issuer = c.string("auth.totp_issuer");
  o.app_url = c.string("auth.app_url");
  return o;
}

const std::vector<std::string>& api_key_scopes() {
  static const std::vector<std::string> kScopes{"me:read",        "me:write",     "numbers:read",
                                                "numbers:write",  "billing:read", "messages:read",
                                                "messages:write", "calls:read",   "events:read"};
  return kScopes;
}

// ---- helpers ---------------------------------------------------------------

namespace {

std::string token_hash(std::string_view token) {
  return crypto::hex_encode(crypto::sha256(token));
}

std::string join(const std::vector<std::string>& v, char sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out.push_back(sep);
    out += s;
  }
  return out;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto p = s.find(sep);
    auto part = s.substr(0, p);
    if (!part.empty()) out.emplace_back(part);
    if (p == std::string_view::npos) break;
    s.remove_prefix(p + 1);
  }
  return out;
}

Error unauthorized(std::string reason, std::string msg) {
  return make_reason(Errc::unauthorized, std::move(reason), std::move(msg));
}

Result<std::optional<User>> user_by_email(Connection& c, const std::string& tenant_id,
                                          const std::string& email) {
  RH_ASSIGN(
      auto row,
      c.query_opt(fmt::format("SELECT {} FROM users WHERE tenant_id = ? AND email = ?", kUserCols),
                  {tenant_id, email}));
  if (!row) return std::optional<User>();
  return std::optional<User>(user_from_row(*row));
}

Result<User> user_by_id(Connection& c, const std::string& id) {
  RH_ASSIGN(auto row,
            c.query_opt(fmt::format("SELECT {} FROM users WHERE id = ?", kUserCols), {id}));
  if (!row) return make_error(Errc::not_found, "no such user");
  return user_from_row(*row);
}

Result<std::string> tenant_name(Connection& c, const std::string& tenant_id) {
  RH_ASSIGN(auto row, c.query_opt("SELECT name FROM tenants WHERE id = ?", {tenant_id}));
  if (!row) return make_error(Errc::not_found, "no such tenant");
  return row->text("name");
}

std::string account_key(const std::string& tenant_id, const std::string& email) {
  return "acct:" + token_hash(tenant_id + "\n" + email).substr(0, 40);
}

Session session_from_row(const Row& r) {
  Session s;
  s.id = r.text("id");
  s.user_agent = r.text("user_agent");
  s.ip = r.text("ip");
  s.mfa = r.boolean("mfa");
  s.created_at = r.integer("created_at");
  s.last_used_at = r.integer("last_used_at");
  s.expires_at = r.integer("expires_at");
  return s;
}

ApiKey key_from_row(const Row& r) {
  ApiKey k;
  k.id = r.text("id");
  k.name = r.text("name");
  k.scopes = split(r.text("scopes"), ' ');
  k.prefix = r.text("prefix");
  k.created_at = r.integer("created_at");
  k.last_used_at = r.integer("last_used_at");
  k.expires_at = r.integer("expires_at");
  return k;
}

constexpr std::string_view kKeyPrefix = "rhk_";
constexpr std::int64_t kMailCooldownMs = 60'000;

Status emit(Connection& c, const jobs::NewEvent& e, std::int64_t now) {
  RH_TRY(jobs::append_event(c, e, now));
  return {};
}

}  // namespace

AuthService::AuthService(storage::Database& db, jobs::JobQueue& queue, const Clock& clock,
                         AuthOptions o, SessionCache& cache)
    : db_(db), queue_(queue), clock_(clock), o_(std::move(o)), hasher_(o_.hash), cache_(cache) {
  if (o_.token_key.size() < 32) throw std::invalid_argument("the access-token key is too short");
}

bool AuthService::check_password(const LoginCandidate& c, std::string_view pw) const {
  if (!c.user || c.password_hash.empty()) {
    hasher_.verify_dummy(pw);
    return false;
  }
  return hasher_.verify(c.password_hash, pw);
}

std::string AuthService::seal(std::string_view plain) const {
  return crypto::seal(o_.data_key, plain);
}

std::optional<std::string> AuthService::unseal(std::string_view sealed) const {
  return crypto::unseal(o_.data_key, sealed);
}

// ---- tokens and sessions ---------------------------------------------------

std::string AuthService::access_token(const User& u, const std::string& session_id, bool mfa) {
  AccessClaims c;
  c.iss = o_.issuer;
  c.aud = o_.audience;
  c.sub = u.id;
  c.tid = u.tenant_id;
  c.sid = session_id;
  c.jti = crypto::random_token(12);
  c.mfa = mfa;
  c.iat = clock_.now_ms() / 1000;
  c.exp = c.iat + o_.access_ttl_s;
  return sign_access_token(c, o_.token_key);
}

Result<std::string> AuthService::issue_refresh(Connection& c, const std::string& session_id,
                                               std::int64_t session_expires_at) {
  std::string token = "rt_" + crypto::random_token(32);
  std::int64_t now = clock_.now_ms();
  std::int64_t expires = std::min(now + o_.refresh_ttl_s * 1000, session_expires_at);
  RH_TRY(
      c.exec("INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at, "
             "used_at) VALUES (?, ?, ?, ?, 0)",
             {token_hash(token), session_id, now, expires}));
  return token;
}

Result<Tokens> AuthService::open_session(Connection& c, const User& u, bool mfa,
                                         const ClientInfo& client) {
  std::int64_t now = clock_.now_ms();
  std::string id = new_id("ses", now);
  std::int64_t expires = now + o_.session_max_age_s * 1000;
  RH_TRY(
      c.exec("INSERT INTO sessions (id, tenant_id, user_id, mfa, user_agent, ip, created_at, "
             "last_used_at, expires_at, revoked_at, revoked_reason) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '')",
             {id, u.tenant_id, u.id, std::int64_t{mfa ? 1 : 0}, client.user_agent.substr(0, 255),
              client.ip.substr(0, 64), now, now, expires}));
  RH_ASSIGN(std::string refresh, issue_refresh(c, id, expires));
  Tokens t;
  t.access_token = access_token(u, id, mfa);
  t.access_expires_in = o_.access_ttl_s;
  t.refresh_token = std::move(refresh);
  t.refresh_expires_in = std::min(o_.refresh_ttl_s, o_.session_max_age_s);
  t.session_id = id;
  return t;
}

Result<Tokens> AuthService::refresh(const std::string& refresh_token, const ClientInfo& client) {
  std::int64_t now = clock_.now_ms();
  // A reused token revokes its family; that must commit although the call fails.
  std::optional<Error> failure;
  std::string reused_by;
  auto r = db_.in_transaction<std::optional<Tokens>>([&](Connection& c)
                                                         -> Result<std::optional<Tokens>> {
    failure.reset();
    RH_ASSIGN(auto row, c.query_opt("SELECT r.session_id, r.used_at, r.expires_at, s.user_id, "
                                    "s.revoked_at, s.expires_at AS session_expires_at, s.mfa "
                                    "FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id "
                                    "WHERE r.token_hash = ?",
                                    {token_hash(refresh_token)}));
    auto fail = [&](Error e) -> Result<std::optional<Tokens>> {
      failure = std::move(e);
      return std::optional<Tokens>();
    };
    if (!row) return fail(unauthorized("invalid_grant", "the refresh token is not valid"));
    std::string sid = row->text("session_id");
    if (row->integer("revoked_at") != 0)
      return fail(unauthorized("invalid_grant", "the session has ended"));
    auto revoke_family = [&]() -> Result<std::optional<Tokens>> {
      RH_TRY(c.exec("UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ?",
                    {now, std::string("refresh_token_reused"), sid}));
      RH_ASSIGN(User u, user_by_id(c, row->text("user_id")));
      reused_by = u.id;
      RH_TRY(jobs::append_event(c,
                                {"session.revoked", u.tenant_id, sid,
                                 boost::json::serialize(boost::json::object{
                                     {"user_id", u.id}, {"reason", "refresh_token_reused"}})},
                                now));
      log::get("auth")->warn("refresh token reused: session {} of {} revoked", sid, u.id);
      return fail(unauthorized("refresh_token_reused",
                               "this refresh token was already used; the session has been "
                               "ended: sign in again"));
    };
    if (row->integer("used_at") != 0) return revoke_family();
    if (row->integer("expires_at") <= now || row->integer("session_expires_at") <= now)
      return fail(unauthorized("invalid_grant", "the session has expired"));
    RH_ASSIGN(User u, user_by_id(c, row->text("user_id")));
    if (u.status != "active")
      return fail(unauthorized("invalid_grant", "the account is not active"));
    RH_ASSIGN(auto used, c.exec("UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? "
                                "AND used_at = 0",
                                {now, token_hash(refresh_token)}));
    if (used.affected != 1) return revoke_family();  // a concurrent refresh won
    RH_ASSIGN(std::string next, issue_refresh(c, sid, row->integer("session_expires_at")));
    RH_TRY(c.exec("UPDATE sessions SET last_used_at = ?, ip = ?, user_agent = ? WHERE id = ?",
                  {now, client.ip.substr(0, 64), client.user_agent.substr(0, 255), sid}));
    bool mfa = row->boolean("mfa");
    Tokens t;
    t.access_token = access_token(u, sid, mfa);
    t.access_expires_in = o_.access_ttl_s;
    t.refresh_token = std::move(next);
    t.refresh_expires_in =
        (std::min(now + o_.refresh_ttl_s * 1000, row->integer("session_expires_at")) - now) / 1000;
    t.session_id = sid;
    return std::optional<Tokens>(std::move(t));
  });
  if (!r) return r.take_error();
  if (failure) {
    if (failure->reason == "refresh_token_reused") cache_.forget_user(reused_by);
    return std::move(*failure);
  }
  return std::move(**r);
}

Status AuthService::revoke_session(const UserScope& self, const std::string& session_id) {
  std::int64_t now = clock_.now_ms();
  Status st = db_.transaction([&](Connection& c) -> Status {
    RH_ASSIGN(auto row, c.query_opt("SELECT revoked_at FROM sessions WHERE id = ? AND "
                                    "tenant_id = ? AND user_id = ?",
                                    {session_id, self.tenant_id, self.user_id}));
    if (!row) return make_error(Errc::not_found, "no such session");
    if (row->integer("revoked_at") != 0) return {};
    RH_TRY(
        c.exec("UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND "
               "tenant_id = ? AND user_id = ?",
               {now, std::string("revoked"), session_id, self.tenant_id, self.user_id}));
    return emit(c,
                {"session.revoked", self.tenant_id, session_id,
                 boost::json::serialize(
                     boost::json::object{{"user_id", self.user_id}, {"reason", "revoked"}})},
                now);
  });
  if (st) cache_.forget("s:" + session_id);
  return st;
}

Result<std::vector<Session>> AuthService::sessions(const UserScope& self) {
  std::int64_t now = clock_.now_ms();
  return db_.read<std::vector<Session>>([&](Connection& c) -> Result<std::vector<Session>> {
    RH_ASSIGN(auto rows, c.query("SELECT id, user_agent, ip, mfa, created_at, last_used_at, "
                                 "expires_at FROM sessions WHERE tenant_id = ? AND user_id = ? "
                                 "AND revoked_at = 0 AND expires_at > ? ORDER BY id DESC LIMIT 200",
                                 {self.tenant_id, self.user_id, now}));
    std::vector<Session> out;
    for (const auto& r : rows) out.push_back(session_from_row(r));
    return out;
  });
}

Result<Principal> AuthService::authenticate(std::string_view bearer, const ClientInfo&) {
  std::int64_t now = clock_.now_ms();
  if (bearer.substr(0, kKeyPrefix.size()) == kKeyPrefix) {
    auto rest = bearer.substr(kKeyPrefix.size());
    auto us = rest.find('_');
    if (us == std::string_view::npos || us == 0 || us > 40)
      return unauthorized("invalid_token", "the API key is not valid");
    std::string id = "key_" + std::string(rest.substr(0, us));
    auto found = db_.read<std::optional<Row>>([&](Connection& c) {
      return c.query_opt(
          "SELECT k.secret_hash, k.scopes, k.expires_at, k.revoked_at, "
          "k.last_used_at, k.tenant_id, k.user_id, u.status, t.status AS tenant_status "
          "FROM api_keys k JOIN users u ON u.id = k.user_id "
          "JOIN tenants t ON t.id = k.tenant_id WHERE k.id = ?",
          {id});
    });
    if (!found) return found.take_error();
    const auto& row = *found;
    if (!row || !crypto::constant_time_equal(token_hash(bearer), row->text("secret_hash")))
      return unauthorized("invalid_token", "the API key is not valid");
    if (row->integer("revoked_at") != 0)
      return unauthorized("invalid_token", "the API key has been revoked");
    std::int64_t exp = row->integer("expires_at");
    if (exp != 0 && exp <= now) return unauthorized("invalid_token", "the API key has expired");
    if (row->text("status") != "active")
      return unauthorized("invalid_token", "the account is not active");
    if (row->text("tenant_status") != "active")
      return unauthorized("invalid_token", "this service is suspended");
    if (now - row->integer("last_used_at") > 60000) {
      // At most one write a minute per key.
      (void)db_.with_connection(storage::Access::write, [&](Connection& c) -> Status {
        RH_TRY(c.exec("UPDATE api_keys SET last_used_at = ? WHERE id = ?", {now, id}));
        return {};
      });
    }
    Principal p;
    p.kind = Principal::Kind::api_key;
    p.tenant_id = row->text("tenant_id");
    p.user_id = row->text("user_id");
    p.api_key_id = id;
    p.role = Role::user;
    p.scopes = split(row->text("scopes"), ' ');
    cache_.put("k:" + token_hash(bearer), p, now,
               exp == 0 ? std::numeric_limits<std::int64_t>::max() : exp);
    return p;
  }
  RH_ASSIGN(AccessClaims claims,
            verify_access_token(bearer, o_.token_key, o_.issuer, o_.audience, now / 1000));
  auto found = db_.read<std::optional<Row>>([&](Connection& c) {
    return c.query_opt(
        "SELECT s.revoked_at, s.expires_at, s.mfa, u.status, u.role, "
        "t.status AS tenant_status "
        "FROM sessions s JOIN users u ON u.id = s.user_id "
        "JOIN tenants t ON t.id = s.tenant_id "
        "WHERE s.id = ? AND s.user_id = ? AND s.tenant_id = ?",
        {claims.sid, claims.sub, claims.tid});
  });
  if (!found) return found.take_error();
  const auto& row = *found;
  if (!row || row->integer("revoked_at") != 0 || row->integer("expires_at") <= now)
    return unauthorized("invalid_token", "the session has ended");
  if (row->text("status") != "active")
    return unauthorized("invalid_token", "the account is not active");
  if (row->text("tenant_status") != "active")
    return unauthorized("invalid_token", "this service is suspended");
  Principal p;
  p.kind = Principal::Kind::session;
  p.tenant_id = claims.tid;
  p.user_id = claims.sub;
  p.session_id = claims.sid;
  p.role = parse_role(row->text("role")).value_or(Role::user);
  p.mfa = row->boolean("mfa");
  cache_.put("s:" + p.session_id, p, now, row->integer("expires_at"));
  return p;
}

std::optional<Principal> AuthService::authenticate_cached(std::string_view bearer) {
  if (!cache_.enabled()) return std::nullopt;
  std::int64_t now = clock_.now_ms();
  if (bearer.substr(0, kKeyPrefix.size()) == kKeyPrefix)
    return cache_.get("k:" + token_hash(bearer), now);
  auto claims = verify_access_token(bearer, o_.token_key, o_.issuer, o_.audience, now / 1000);
  if (!claims) return std::nullopt;
  auto p = cache_.get("s:" + claims->sid, now);
  if (!p || p->user_id != claims->sub || p->tenant_id != claims->tid) return std::nullopt;
  return p;
}

// ---- mailed tokens ------------------------------------------------------------

Status AuthService::mail_token(Connection& c, const User& u, const std::string& purpose,
                               std::int64_t ttl_s, const std::string& link_base) {
  std::int64_t now = clock_.now_ms();
  // At most one link a minute per user and purpose, so that nobody can flood
  // an inbox through the sign-up or reset forms.
  RH_ASSIGN(auto last, c.query_one("SELECT COALESCE(MAX(created_at), 0) AS n FROM user_tokens "
                                   "WHERE user_id = ? AND purpose = ?",
                                   {u.id, purpose}));
  if (now - last.integer("n") < kMailCooldownMs) return {};
  // One live token per purpose: a new link supersedes the previous one.
  RH_TRY(
      c.exec("UPDATE user_tokens SET used_at = ? WHERE user_id = ? AND purpose = ? AND "
             "used_at = 0",
             {now, u.id, purpose}));
  std::string token = crypto::random_token(32);
  RH_TRY(
      c.exec("INSERT INTO user_tokens (token_hash, tenant_id, user_id, purpose, created_at, "
             "expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?, 0)",
             {token_hash(token), u.tenant_id, u.id, purpose, now, now + ttl_s * 1000}));
  RH_ASSIGN(std::string brand, tenant_name(c, u.tenant_id));
  Email e;
  e.tenant_id = u.tenant_id;
  e.to = u.email;
  e.kind = purpose;
  std::string hours =
      ttl_s >= 7200 ? fmt::format("{} hours", ttl_s / 3600) : fmt::format("{} minutes", ttl_s / 60);
  if (purpose == "verify_email") {
    e.subject = fmt::format("Confirm your email for {}", brand);
    e.text = fmt::format(
        "Hello{},\n\nConfirm your email address to finish creating your {} account:\n\n"
        "{}/verify-email?token={}\n\nThe link works once, for {}. If you did not sign up, "
        "ignore this email.\n",
        u.display_name.empty() ? "" : " " + u.display_name, brand, link_base, token, hours);
  } else {
    e.subject = fmt::format("Reset your {} password", brand);
    e.text = fmt::format(
        "Hello{},\n\nSomeone asked to reset the password of your {} account. To choose a new "
        "one, open:\n\n{}/reset-password?token={}\n\nThe link works once, for {}. Resetting "
        "signs you out everywhere. If you did not ask for it, ignore this email: your password "
        "stays as it is.\n",
        u.display_name.empty() ? "" : " " + u.display_name, brand, link_base, token, hours);
  }
  RH_TRY(queue_email(c, queue_, clock_, e));
  return {};
}

// Loads a live mailed token; marks it used when `consume`.
static Result<Row> live_token(Connection& c, const std::string& token, const char* purpose,
                              std::int64_t now, bool consume) {
  auto invalid = [] {
    return Error(Errc::invalid_argument, "token", "the link is not valid or has expired");
  };
  if (token.empty() || token.size() > 200) return invalid();
  std::string h = token_hash(token);
  RH_ASSIGN(auto row, c.query_opt("SELECT user_id, tenant_id, expires_at, used_at FROM "
                                  "user_tokens WHERE token_hash = ? AND purpose = ?",
                                  {h, std::string(purpose)}));
  if (!row || row->integer("used_at") != 0 || row->integer("expires_at") <= now) return invalid();
  if (consume) {
    RH_ASSIGN(auto upd, c.exec("UPDATE user_tokens SET used_at = ? WHERE token_hash = ? AND "
                               "used_at = 0",
                               {now, h}));
    if (upd.affected != 1) return invalid();
  }
  return std::move(*row);
}

// ---- signup ---------------------------------------------------------------------

Status AuthService::signup(const std::string& tenant_id, const std::string& email_in,
                           const std::string& password_hash, const std::string& display_name,
                           const std::string& link_base) {
  RH_ASSIGN(std::string email, normalise_email(email_in));
  std::int64_t now = clock_.now_ms();
  return db_.transaction([&](Connection& c) -> Status {
    RH_ASSIGN(auto existing, user_by_email(c, tenant_id, email));
    if (existing) {
      if (!existing->email_verified) {
        RH_TRY(mail_token(c, *existing, "verify_email", o_.verify_ttl_s, link_base));
        return {};
      }
      // One notice an hour is enough.
      RH_ASSIGN(auto recent, c.query_one("SELECT COUNT(*) AS n FROM emails WHERE to_address = ? "
                                         "AND kind = 'signup_existing' AND created_at > ?",
                                         {email, now - 3600LL * 1000}));
      if (recent.integer("n") > 0) return {};
      RH_ASSIGN(std::string brand, tenant_name(c, tenant_id));
      Email e;
      e.tenant_id = tenant_id;
      e.to = email;
      e.kind = "signup_existing";
      e.subject = fmt::format("You already have a {} account", brand);
      e.text = fmt::format(
          "Hello,\n\nSomeone tried to create a {} account with this email address, which "
          "already has one. If it was you, sign in instead, or reset your password at:\n\n"
          "{}/reset-password\n\nIf it was not you, you can ignore this email.\n",
          brand, link_base);
      RH_TRY(queue_email(c, queue_, clock_, e));
      return {};
    }
    User u;
    u.id = new_id("usr", now);
    u.tenant_id = tenant_id;
    u.email = email;
    u.display_name = display_name;
    u.role = Role::user;
    u.status = "pending";
    RH_TRY(
        c.exec("INSERT INTO users (id, tenant_id, email, display_name, password_hash, role, "
               "status, email_verified_at, totp_enabled, totp_secret, totp_pending, "
               "totp_last_step, locale, time_zone, password_changed_at, last_login_at, "
               "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'user', 'pending', 0, 0, '', "
               "'', 0, '', '', ?, 0, ?, ?)",
               {u.id, tenant_id, email, display_name, password_hash, now, now, now}));
    RH_TRY(jobs::append_event(c, {"user.created", tenant_id, u.id, user_event_payload(u)}, now));
    RH_TRY(mail_token(c, u, "verify_email", o_.verify_ttl_s, link_base));
    return {};
  });
}

Status AuthService::resend_verification(const std::string& tenant_id, const std::string& email_in,
                                        const std::string& link_base) {
  RH_ASSIGN(std::string email, normalise_email(email_in));
  return db_.transaction([&](Connection& c) -> Status {
    RH_ASSIGN(auto u, user_by_email(c, tenant_id, email));
    if (!u || u->email_verified || u->status == "suspended") return {};
    RH_TRY(mail_token(c, *u, "verify_email", o_.verify_ttl_s, link_base));
    return {};
  });
}

Result<User> AuthService::verify_email(const std::string& token) {
  std::int64_t now = clock_.now_ms();
  return db_.in_transaction<User>([&](Connection& c) -> Result<User> {
    RH_ASSIGN(Row t, live_token(c, token, "verify_email", now, true));
    std::string uid = t.text("user_id");
    RH_TRY(
        c.exec("UPDATE users SET email_verified_at = ?, updated_at = ?, status = CASE WHEN "
               "status = 'pending' THEN 'active' ELSE status END WHERE id = ?",
               {now, now, uid}));
    RH_ASSIGN(User u, user_by_id(c, uid));
    RH_TRY(jobs::append_event(c, {"user.verified", u.tenant_id, u.id, user_event_payload(u)}, now));
    return u;
  });
}

// ---- login ------------------------------------------------------------------------

Result<std::int64_t> AuthService::locked_for(Connection& c, const std::string& key,
                                             std::int64_t now) {
  RH_ASSIGN(auto row,
            c.query_opt("SELECT locked_until FROM auth_throttle WHERE throttle_key = ?", {key}));
  if (!row) return std::int64_t{0};
  std::int64_t until = row->integer("locked_until");
  return until > now ? (until - now + 999) / 1000 : 0;
}

Result<LoginCandidate> AuthService::begin_login(const std::string& tenant_id,
                                                const std::string& email_in,
                                                const std::string& ip) {
  LoginCandidate cand;
  cand.tenant_id = tenant_id;
  auto norm = normalise_email(email_in);
  cand.email = norm ? *norm : std::string();
  std::int64_t now = clock_.now_ms();
  return db_.read<LoginCandidate>([&](Connection& c) -> Result<LoginCandidate> {
    RH_ASSIGN(std::int64_t ip_wait, locked_for(c, "ip:" + ip, now));
    std::int64_t acct_wait = 0;
    if (!cand.email.empty()) {
      RH_ASSIGN(acct_wait, locked_for(c, account_key(tenant_id, cand.email), now));
    }
    if (ip_wait > 0 || acct_wait > 0) {
      Error e = make_reason(Errc::too_many, "login_throttled",
                            ip_wait >= acct_wait
                                ? "too many failed sign-ins from this address; try again later"
                                : "too many failed sign-ins on this account; try again later");
      e.retry_after_s = std::max(ip_wait, acct_wait);
      return e;
    }
    if (cand.email.empty()) return cand;
    RH_ASSIGN(auto row, c.query_opt(fmt::format("SELECT {}, password_hash FROM users WHERE "
                                                "tenant_id = ? AND email = ?",
                                                kUserCols),
                                    {tenant_id, cand.email}));
    if (row) {
      cand.user = user_from_row(*row);
      cand.password_hash = row->text("password_hash");
    }
    return cand;
  });
}

Status AuthService::record_failure(const std::string& tenant_id, const std::string& email,
                                   const std::string& ip) {
  std::int64_t now = clock_.now_ms();
  std::vector<std::pair<std::string, int>> keys{{"ip:" + ip, o_.max_failures_per_ip}};
  if (!email.empty()) keys.emplace_back(account_key(tenant_id, email), o_.max_failures_per_account);
  return db_.transaction([&](Connection& c) -> Status {
    for (const auto& [key, max] : keys) {
      std::string sql = "SELECT failures, window_start FROM auth_throttle WHERE throttle_key = ?";
      if (c.dialect() == storage::Dialect::mariadb) sql += " FOR UPDATE";
      RH_ASSIGN(auto row, c.query_opt(sql, {key}));
      std::int64_t failures = 1, start = now;
      if (row && now - row->integer("window_start") < o_.failure_window_s * 1000) {
        failures = row->integer("failures") + 1;
        start = row->integer("window_start");
      }
      std::int64_t locked_until = 0;
      if (failures >= max) {
        std::int64_t extra = std::min<std::int64_t>(failures - max, 20);
        std::int64_t secs = std::min(o_.lockout_s << extra, o_.failure_window_s);
        locked_until = now + secs * 1000;
      }
      if (row) {
        RH_TRY(
            c.exec("UPDATE auth_throttle SET failures = ?, window_start = ?, locked_until = ? "
                   "WHERE throttle_key = ?",
                   {failures, start, locked_until, key}));
      } else {
        RH_TRY(
            c.exec("INSERT INTO auth_throttle (throttle_key, failures, window_start, "
                   "locked_until) VALUES (?, ?, ?, ?)",
                   {key, failures, start, locked_until}));
      }
    }
    return {};
  });
}

Result<Tokens> AuthService::finish_login(const LoginCandidate& cand, bool password_ok,
                                         const LoginInput& in) {
  auto bad = [] {
    return unauthorized("invalid_credentials", "the email or the password is wrong");
  };
  if (!password_ok || !cand.user) {
    RH_TRY(record_failure(cand.tenant_id, cand.email, in.client.ip));
    return bad();
  }
  const User& u = *cand.user;
  if (u.status == "suspended")
    return make_reason(Errc::forbidden, "account_suspended", "this account is suspended");
  if (!u.email_verified)
    return make_reason(Errc::forbidden, "email_unverified",
                       "confirm your email address first: follow the link we sent you");
  std::int64_t now = clock_.now_ms();
  bool totp_failed = false;
  auto r = db_.in_transaction<std::optional<Tokens>>(
      [&](Connection& c) -> Result<std::optional<Tokens>> {
        totp_failed = false;
        RH_ASSIGN(auto row, c.query_one("SELECT totp_enabled, totp_secret, totp_last_step FROM "
                                        "users WHERE id = ?",
                                        {u.id}));
        bool mfa = false;
        if (row.boolean("totp_enabled")) {
          if (!in.totp_code || in.totp_code->empty())
            return make_reason(Errc::unauthorized, "totp_required",
                               "this account has two-step verification: send totp_code");
          auto key = unseal(row.text("totp_secret"));
          if (!key) return make_error(Errc::internal, "cannot decrypt a TOTP secret");
          auto step = totp::verify(*key, *in.totp_code, now / 1000, row.integer("totp_last_step"));
          if (!step) {
            totp_failed = true;
            return std::optional<Tokens>();
          }
          RH_ASSIGN(auto upd, c.exec("UPDATE users SET totp_last_step = ? WHERE id = ? AND "
                                     "totp_last_step < ?",
                                     {*step, u.id, *step}));
          if (upd.affected != 1) {
            totp_failed = true;
            return std::optional<Tokens>();
          }
          mfa = true;
        }
        RH_TRY(c.exec("DELETE FROM auth_throttle WHERE throttle_key = ?",
                      {account_key(cand.tenant_id, cand.email)}));
        RH_TRY(c.exec("UPDATE users SET last_login_at = ? WHERE id = ?", {now, u.id}));
        RH_ASSIGN(Tokens t, open_session(c, u, mfa, in.client));
        return std::optional<Tokens>(std::move(t));
      });
  if (!r) return r.take_error();
  if (totp_failed) {
    RH_TRY(record_failure(cand.tenant_id, cand.email, in.client.ip));
    return unauthorized("invalid_totp", "the two-step verification code is wrong");
  }
  return std::move(**r);
}

// ---- passwords ----------------------------------------------------------------------

Status AuthService::request_password_reset(const std::string& tenant_id,
                                           const std::string& email_in,
                                           const std::string& link_base) {
  auto email = normalise_email(email_in);
  if (!email) return {};  // silent, like an unknown address
  return db_.transaction([&](Connection& c) -> Status {
    RH_ASSIGN(auto u, user_by_email(c, tenant_id, *email));
    if (!u || u->status == "suspended") return {};
    RH_TRY(mail_token(c, *u, "password_reset", o_.reset_ttl_s, link_base));
    return {};
  });
}

Status AuthService::send_password_reset(const TenantScope& staff, const std::string& user_id,
                                        const std::string& link_base) {
  return db_.transaction([&](Connection& c) -> Status {
    RH_ASSIGN(User u, user_by_id(c, user_id));
    if (!staff.covers(u.tenant_id)) return make_error(Errc::not_found, "no such user");
    RH_TRY(mail_token(c, u, "password_reset", o_.reset_ttl_s, link_base));
    return {};
  });
}

Result<User> AuthService::peek_reset_token(const std::string& token) {
  std::int64_t now = clock_.now_ms();
  return db_.read<User>([&](Connection& c) -> Result<User> {
    RH_ASSIGN(Row t, live_token(c, token, "password_reset", now, false));
    return user_by_id(c, t.text("user_id"));
  });
}

Status AuthService::reset_password(const std::string& token, const std::string& password_hash) {
  std::int64_t now = clock_.now_ms();
  std::string reset_user;
  Status st = db_.transaction([&](Connection& c) -> Status {
    RH_ASSIGN(Row t, live_token(c, token, "password_reset", now, true));
    RH_ASSIGN(User u, user_by_id(c, t.text("user_id")));
    reset_user = u.id;
    if (u.status == "suspended")
      return make_reason(Errc::forbidden, "account_suspended", "this account is suspended");
    RH_TRY(
        c.exec("UPDATE users SET password_hash = ?, password_changed_at = ?, updated_at = ?, "
               "email_verified_at = CASE WHEN email_verified_at = 0 THEN ? ELSE "
               "email_verified_at END, status = CASE WHEN status = 'pending' THEN 'active' "
               "ELSE status END WHERE id = ?",
               {password_hash, now, now, now, u.id}));
    RH_TRY(revoke_all_credentials(c, u.id, now, "password_reset"));
    RH_TRY(c.exec("DELETE FROM auth_throttle WHERE throttle_key = ?",
                  {account_key(u.tenant_id, u.email)}));
    return emit(c, {"user.password_changed", u.tenant_id, u.id, user_event_payload(u)}, now);
  });
  if (st) cache_.forget_user(reset_user);
  return st;
}

Result<LoginCandidate> AuthService::password_of(const UserScope& self) {
  return db_.read<LoginCandidate>([&](Connection& c) -> Result<LoginCandidate> {
    RH_ASSIGN(auto row, c.query_opt(fmt::format("SELECT {}, password_hash FROM users WHERE id = ? "
                                                "AND tenant_id = ?",
                                                kUserCols),
                                    {self.user_id, self.tenant_id}));
    if (!row) return make_error(Errc::not_found, "no such user");
    LoginCandidate cand;
    cand.user = user_from_row(*row);
    cand.password_hash = row->text("password_hash");
    cand.tenant_id = self.tenant_id;
    cand.email = cand.user->email;
    return cand;
  });
}

Status AuthService::change_password(const UserScope& self, const std::string& keep_session_id,
                                    const std::string& password_hash) {
  std::int64_t now = clock_.now_ms();
  Status st = db_.transaction([&](Connection& c) -> Status {
    RH_ASSIGN(auto upd, c.exec("UPDATE users SET password_hash = ?, password_changed_at = ?, "
                               "updated_at = ? WHERE id = ? AND tenant_id = ?",
                               {password_hash, now, now, self.user_id, self.tenant_id}));
    if (upd.affected != 1) return make_error(Errc::not_found, "no such user");
    RH_TRY(
        c.exec("UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE user_id = ? AND "
               "id <> ? AND revoked_at = 0",
               {now, std::string("password_changed"), self.user_id, keep_session_id}));
    return emit(c,
                {"user.password_changed", self.tenant_id, self.user_id,
                 boost::json::serialize(boost::json::object{{"id", self.user_id}})},
                now);
  });
  if (st) cache_.forget_user(self.user_id);
  return st;
}

// ---- TOTP -----------------------------------------------------------------------------

Result<TotpSetup> AuthService::begin_totp(const UserScope& self, const std::string& issuer) {
  std::int64_t now = clock_.now_ms();
  return db_.in_transaction<TotpSetup>([&](Connection& c) -> Result<TotpSetup> {
    RH_ASSIGN(auto row, c.query_opt("SELECT email, totp_enabled FROM users WHERE id = ? AND "
                                    "tenant_id = ?",
                                    {self.user_id, self.tenant_id}));
    if (!row) return make_error(Errc::not_found, "no such user");
    if (row->boolean("totp_enabled"))
      return make_reason(Errc::conflict, "totp_enabled",
                         "two-step verification is already on; turn it off first");
    std::string key = crypto::random_bytes(20);
    RH_TRY(c.exec("UPDATE users SET totp_pending = ?, updated_at = ? WHERE id = ?",
                  {seal(key), now, self.user_id}));
    TotpSetup s;
    s.secret = totp::base32_encode(key);
    s.uri = totp::provisioning_uri(issuer, row->text("email"), key);
    return s;
  });
}

Status AuthService::confirm_totp(const UserScope& self, const std::string& session_id,
                                 const std::string& code) {
  std::int64_t now = clock_.now_ms();
  Status st = db_.transaction([&](Connection& c) -> Status {
    RH_ASSIGN(auto row, c.query_opt("SELECT totp_pending, totp_enabled FROM users WHERE id = ? "
                                    "AND tenant_id = ?",
                                    {self.user_id, self.tenant_id}));
    if (!row) return make_error(Errc::not_found, "no such user");
    if (row->boolean("totp_enabled"))
      return make_reason(Errc::conflict, "totp_enabled", "two-step verification is already on");
    auto key = unseal(row->text("totp_pending"));
    if (!key)
      return make_reason(Errc::precondition, "totp_not_started",
                         "start the set-up first (POST /v1/me/totp)");
    auto step = totp::verify(*key, code, now / 1000, 0);
    if (!step) return Error(Errc::invalid_argument, "code", "the code is wrong");
    RH_TRY(
        c.exec("UPDATE users SET totp_secret = totp_pending, totp_pending = '', "
               "totp_enabled = 1, totp_last_step = ?, updated_at = ? WHERE id = ?",
               {*step, now, self.user_id}));
    RH_TRY(c.exec("UPDATE sessions SET mfa = 1 WHERE id = ? AND user_id = ?",
                  {session_id, self.user_id}));
    return emit(c,
                {"user.totp_enabled", self.tenant_id, self.user_id,
                 boost::json::serialize(boost::json::object{{"id", self.user_id}})},
                now);
  });
  if (st) cache_.forget("s:" + session_id);
  return st;
}

Status AuthService::disable_totp(const UserScope& self, const std::string& code) {
  std::int64_t now = clock_.now_ms();
  Status st = db_.transaction([&](Connection& c) -> Status {
    RH_ASSIGN(auto row, c.query_opt("SELECT totp_secret, totp_enabled, totp_last_step FROM users "
                                    "WHERE id = ? AND tenant_id = ?",
                                    {self.user_id, self.tenant_id}));
    if (!row) return make_error(Errc::not_found, "no such user");
    if (!row->boolean("totp_enabled"))
      return make_reason(Errc::precondition, "totp_disabled", "two-step verification is off");
    auto key = unseal(row->text("totp_secret"));
    if (!key || !totp::verify(*key, code, now / 1000, row->integer("totp_last_step")))
      return Error(Errc::invalid_argument, "code", "the code is wrong");
    RH_TRY(
        c.exec("UPDATE users SET totp_secret = '', totp_pending = '', totp_enabled = 0, "
               "updated_at = ? WHERE id = ?",
               {now, self.user_id}));
    RH_TRY(c.exec("UPDATE sessions SET mfa = 0 WHERE user_id = ?", {self.user_id}));
    return emit(c,
                {"user.totp_disabled", self.tenant_id, self.user_id,
                 boost::json::serialize(boost::json::object{{"id", self.user_id}})},
                now);
  });
  if (st) cache_.forget_user(self.user_id);
  return st;
}

Status AuthService::reset_totp(const std::string& user_id) {
  std::int64_t now = clock_.now_ms();
  Status st = db_.transaction([&](Connection& c) -> Status {
    RH_ASSIGN(User u, user_by_id(c, user_id));
    RH_TRY(
        c.exec("UPDATE users SET totp_secret = '', totp_pending = '', totp_enabled = 0, "
               "totp_last_step = 0, updated_at = ? WHERE id = ?",
               {now, user_id}));
    RH_TRY(
        c.exec("UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE user_id = ? AND "
               "revoked_at = 0",
               {now, std::string("totp_reset"), user_id}));
    return emit(c, {"user.totp_disabled", u.tenant_id, u.id, user_event_payload(u)}, now);
  });
  if (st) cache_.forget_user(user_id);
  return st;
}

// ---- API keys -------------------------------------------------------------------------

Result<ApiKey> AuthService::create_api_key(const UserScope& self, const std::string& name,
                                           const std::vector<std::string>& scopes,
                                           std::int64_t expires_at) {
  if (name.empty() || name.size() > 100)
    return Error(Errc::invalid_argument, "name", "must be 1 to 100 bytes");
  if (scopes.empty())
    return Error(Errc::invalid_argument, "scopes", "must name at least one scope");
  const auto& known = api_key_scopes();
  for (const auto& s : scopes)
    if (std::find(known.begin(), known.end(), s) == known.end())
      return Error(Errc::invalid_argument, "scopes",
                   fmt::format("unknown scope '{}'; known: {}", s, join(known, ' ')));
  std::int64_t now = clock_.now_ms();
  if (expires_at != 0 && expires_at <= now)
    return Error(Errc::invalid_argument, "expires_at", "must be in the future");
  std::vector<std::string> uniq = scopes;
  std::sort(uniq.begin(), uniq.end());
  uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
  return db_.in_transaction<ApiKey>([&](Connection& c) -> Result<ApiKey> {
    RH_ASSIGN(auto n, c.query_one("SELECT COUNT(*) AS n FROM api_keys WHERE user_id = ? AND "
                                  "tenant_id = ? AND revoked_at = 0",
                                  {self.user_id, self.tenant_id}));
    if (n.integer("n") >= 50)
      return make_reason(Errc::conflict, "too_many_keys", "at most 50 API keys per user");
    ApiKey k;
    k.id = new_id("key", now);
    k.name = name;
    k.scopes = uniq;
    k.secret = std::string(kKeyPrefix) + k.id.substr(4) + "_" + crypto::random_token(32);
    k.prefix = k.secret.substr(0, 12);
    k.created_at = now;
    k.expires_at = expires_at;
    RH_TRY(
        c.exec("INSERT INTO api_keys (id, tenant_id, user_id, name, prefix, secret_hash, "
               "scopes, created_at, last_used_at, expires_at, revoked_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 0)",
               {k.id, self.tenant_id, self.user_id, name, k.prefix, token_hash(k.secret),
                join(uniq, ' '), now, expires_at}));
    return k;
  });
}

Result<std::vector<ApiKey>> AuthService::api_keys(const UserScope& self) {
  return db_.read<std::vector<ApiKey>>([&](Connection& c) -> Result<std::vector<ApiKey>> {
    RH_ASSIGN(auto rows, c.query("SELECT id, name, prefix, scopes, created_at, last_used_at, "
                                 "expires_at FROM api_keys WHERE tenant_id = ? AND user_id = ? "
                                 "AND revoked_at = 0 ORDER BY id",
                                 {self.tenant_id, self.user_id}));
    std::vector<ApiKey> out;
    for (const auto& r : rows) out.push_back(key_from_row(r));
    return out;
  });
}

Status AuthService::revoke_api_key(const UserScope& self, const std::string& id) {
  std::int64_t now = clock_.now_ms();
  Status st = db_.transaction([&](Connection& c) -> Status {
    RH_ASSIGN(auto row, c.query_opt("SELECT revoked_at FROM api_keys WHERE id = ? AND "
                                    "tenant_id = ? AND user_id = ?",
                                    {id, self.tenant_id, self.user_id}));
    if (!row) return make_error(Errc::not_found, "no such API key");
    if (row->integer("revoked_at") != 0) return {};
    RH_TRY(
        c.exec("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND tenant_id = ? AND "
               "user_id = ?",
               {now, id, self.tenant_id, self.user_id}));
    return {};
  });
  if (st) cache_.forget_user(self.user_id);
  return st;
}

// ---- administration -----------------------------------------------------------------

namespace {

// Inserts an active, verified user inside the caller's transaction.
Result<User> insert_user(Connection& c, const std::string& tenant_id, const std::string& email,
                         const std::string& password_hash, Role role,
                         const std::string& display_name, std::int64_t now) {
  RH_TRY(tenant_name(c, tenant_id));
  RH_ASSIGN(auto existing, user_by_email(c, tenant_id, email));
  if (existing)
    return Error(Errc::conflict, "email", "a user with this email exists in the tenant");
  std::string id = new_id("usr", now);
  RH_TRY(
      c.exec("INSERT INTO users (id, tenant_id, email, display_name, password_hash, role, "
             "status, email_verified_at, totp_enabled, totp_secret, totp_pending, "
             "totp_last_step, locale, time_zone, password_changed_at, last_login_at, "
             "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'active', ?, 0, '', '', 0, "
             "'', '', ?, 0, ?, ?)",
             {id, tenant_id, email, display_name, password_hash, std::string(role_name(role)), now,
              now, now, now}));
  RH_ASSIGN(User u, user_by_id(c, id));
  RH_TRY(jobs::append_event(c, {"user.created", tenant_id, u.id, user_event_payload(u)}, now));
  return u;
}

}  // namespace

Result<User> AuthService::create_user(const std::string& tenant_id, const std::string& email_in,
                                      const std::string& password_hash, Role role,
                                      const std::string& display_name) {
  RH_ASSIGN(std::string email, normalise_email(email_in));
  std::int64_t now = clock_.now_ms();
  return db_.in_transaction<User>([&](Connection& c) {
    return insert_user(c, tenant_id, email, password_hash, role, display_name, now);
  });
}

Result<User> AuthService::find_user(const std::string& tenant_id, const std::string& email_in) {
  RH_ASSIGN(std::string email, normalise_email(email_in));
  return db_.read<User>([&](Connection& c) -> Result<User> {
    RH_ASSIGN(auto u, user_by_email(c, tenant_id, email));
    if (!u) return make_error(Errc::not_found, "no user with this email in the tenant");
    return std::move(*u);
  });
}

Result<User> AuthService::set_role(const std::string& user_id, Role role) {
  std::int64_t now = clock_.now_ms();
  auto r = db_.in_transaction<User>([&](Connection& c) -> Result<User> {
    RH_TRY(c.exec("UPDATE users SET role = ?, updated_at = ? WHERE id = ?",
                  {std::string(role_name(role)), now, user_id}));
    RH_ASSIGN(User u, user_by_id(c, user_id));
    RH_TRY(jobs::append_event(c, {"user.updated", u.tenant_id, u.id, user_event_payload(u)}, now));
    return u;
  });
  if (r) cache_.forget_user(user_id);
  return r;
}

Status AuthService::upgrade_hash(const std::string& user_id, const std::string& old_hash,
                                 const std::string& new_hash) {
  return db_.with_connection(storage::Access::write, [&](Connection& c) -> Status {
    RH_TRY(c.exec("UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?",
                  {new_hash, user_id, old_hash}));
    return {};
  });
}

Status AuthService::set_password(const std::string& user_id, const std::string& password_hash) {
  std::int64_t now = clock_.now_ms();
  Status st = db_.transaction([&](Connection& c) -> Status {
    RH_ASSIGN(auto upd, c.exec("UPDATE users SET password_hash = ?, password_changed_at = ?, "
                               "updated_at = ? WHERE id = ?",
                               {password_hash, now, now, user_id}));
    if (upd.affected != 1) return make_error(Errc::not_found, "no such user");
    return revoke_all_credentials(c, user_id, now, "password_reset");
  });
  if (st) cache_.forget_user(user_id);
  return st;
}

Result<std::optional<std::string>> AuthService::issue_bootstrap_token() {
  std::int64_t now = clock_.now_ms();
  return db_.in_transaction<std::optional<std::string>>(
      [&](Connection& c) -> Result<std::optional<std::string>> {
        RH_ASSIGN(auto admin,
                  c.query_opt("SELECT id FROM users WHERE role = 'platform_admin' LIMIT 1", {}));
        RH_TRY(c.exec("DELETE FROM auth_bootstrap", {}));
        if (admin) return std::optional<std::string>();
        std::string token = "rhb_" + crypto::random_token(24);
        RH_TRY(
            c.exec("INSERT INTO auth_bootstrap (id, token_hash, created_at, expires_at) VALUES "
                   "(1, ?, ?, ?)",
                   {token_hash(token), now, now + o_.bootstrap_ttl_s * 1000}));
        return std::optional<std::string>(token);
      });
}

Result<User> AuthService::bootstrap(const std::string& token, const std::string& tenant_id,
                                    const std::string& email, const std::string& password_hash,
                                    const std::string& display_name) {
  std::int64_t now = clock_.now_ms();
  auto invalid = [] {
    return Error(Errc::invalid_argument, "token", "the bootstrap token is not valid");
  };
  RH_ASSIGN(std::string norm, normalise_email(email));
  // Redeeming the token and creating the admin commit together: a refused
  // creation (an address already taken) leaves the token usable.
  return db_.in_transaction<User>([&](Connection& c) -> Result<User> {
    RH_ASSIGN(auto row,
              c.query_opt("SELECT token_hash, expires_at FROM auth_bootstrap WHERE id = 1", {}));
    if (!row || row->integer("expires_at") <= now ||
        !crypto::constant_time_equal(row->text("token_hash"), token_hash(token)))
      return invalid();
    RH_ASSIGN(auto del, c.exec("DELETE FROM auth_bootstrap WHERE id = 1", {}));
    if (del.affected != 1) return invalid();
    return insert_user(c, tenant_id, norm, password_hash, Role::platform_admin, display_name, now);
  });
}

// ---- housekeeping --------------------------------------------------------------------

void register_auth_jobs(jobs::JobWorker& worker, const Clock& clock,
                        std::int64_t email_retention_s) {
  worker.register_handler("accounts.prune", [&clock, email_retention_s](jobs::JobContext& ctx) {
    std::int64_t now = clock.now_ms();
    std::int64_t ended = now - 30LL * 86400 * 1000;
    return ctx.db().transaction([&](Connection& c) -> Status {
      // Used refresh tokens stay until they expire: presenting one again must
      // still revoke its family.
      RH_TRY(c.exec("DELETE FROM refresh_tokens WHERE expires_at < ?", {now}));
      RH_TRY(
          c.exec("DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions "
                 "WHERE (revoked_at <> 0 AND revoked_at < ?) OR expires_at < ?)",
                 {ended, ended}));
      RH_TRY(
          c.exec("DELETE FROM sessions WHERE (revoked_at <> 0 AND revoked_at < ?) OR "
                 "expires_at < ?",
                 {ended, ended}));
      RH_TRY(c.exec("DELETE FROM user_tokens WHERE expires_at < ?", {now - 86400LL * 1000}));
      RH_TRY(c.exec("DELETE FROM auth_throttle WHERE locked_until < ? AND window_start < ?",
                    {now, now - 86400LL * 1000}));
      RH_TRY(
          c.exec("DELETE FROM emails WHERE created_at < ? AND status IN ('sent', 'logged', "
                 "'failed')",
                 {now - email_retention_s * 1000}));
      return {};
    });
  });
}

Status schedule_auth_jobs(jobs::JobQueue& queue) {
  return queue.upsert_schedule("accounts.prune", "accounts.prune", "{}", 3600);
}

// ---- schema ---------------------------------------------------------------------------

std::vector<storage::Migration> auth_migrations() {
  return {{2026112520, "users_and_auth", R"SQL(
CREATE TABLE users (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL REFERENCES tenants (id),
  email VARCHAR(254) NOT NULL,
  display_name VARCHAR(191) NOT NULL,
  password_hash VARCHAR(255) NOT NULL,
  role VARCHAR(20) NOT NULL,
  status VARCHAR(16) NOT NULL,
  email_verified_at BIGINT NOT NULL,
  totp_enabled INTEGER NOT NULL,
  totp_secret VARCHAR(255) NOT NULL,
  totp_pending VARCHAR(255) NOT NULL,
  totp_last_step BIGINT NOT NULL,
  locale VARCHAR(35) NOT NULL,
  time_zone VARCHAR(64) NOT NULL,
  password_changed_at BIGINT NOT NULL,
  last_login_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
){{table}};
CREATE UNIQUE INDEX users_tenant_email ON users (tenant_id, email);
CREATE INDEX users_tenant_id ON users (tenant_id, id);
CREATE INDEX users_role ON users (role);
CREATE TABLE sessions (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  user_id VARCHAR(40) NOT NULL REFERENCES users (id),
  mfa INTEGER NOT NULL,
  user_agent VARCHAR(255) NOT NULL,
  ip VARCHAR(64) NOT NULL,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT NOT NULL,
  revoked_reason VARCHAR(40) NOT NULL
){{table}};
CREATE INDEX sessions_user ON sessions (user_id, id);
CREATE TABLE refresh_tokens (
  token_hash VARCHAR(64) NOT NULL PRIMARY KEY,
  session_id VARCHAR(40) NOT NULL REFERENCES sessions (id),
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT NOT NULL
){{table}};
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE TABLE api_keys (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  user_id VARCHAR(40) NOT NULL REFERENCES users (id),
  name VARCHAR(100) NOT NULL,
  prefix VARCHAR(16) NOT NULL,
  secret_hash VARCHAR(64) NOT NULL,
  scopes VARCHAR(1000) NOT NULL,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT NOT NULL
){{table}};
CREATE INDEX api_keys_user ON api_keys (user_id, id);
CREATE TABLE user_tokens (
  token_hash VARCHAR(64) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  user_id VARCHAR(40) NOT NULL REFERENCES users (id),
  purpose VARCHAR(20) NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT NOT NULL
){{table}};
CREATE INDEX user_tokens_user ON user_tokens (user_id, purpose);
CREATE TABLE auth_throttle (
  throttle_key VARCHAR(64) NOT NULL PRIMARY KEY,
  failures BIGINT NOT NULL,
  window_start BIGINT NOT NULL,
  locked_until BIGINT NOT NULL
){{table}};
CREATE TABLE auth_bootstrap (
  id INTEGER NOT NULL PRIMARY KEY,
  token_hash VARCHAR(64) NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
){{table}}
)SQL"}};
}

}  // namespace rh::accounts
