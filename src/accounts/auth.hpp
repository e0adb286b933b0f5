// Authentication: signup with email verification, login with throttling and
// TOTP, sessions with rotating refresh tokens (a rotated token presented again
// revokes its whole family, RFC 9700 §4.14.2), short-lived signed access
// tokens, password reset, API keys, and the bootstrap of the first platform
// admin. Calls block on the database: run them on the blocking pool. Password
// hashing is split out (hash_password / check_password) so that callers run
// it on a pool of its own and it never holds a database thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "accounts/passwords.hpp"
#include "accounts/session_cache.hpp"
#include "accounts/users.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/principal.hpp"
#include "core/result.hpp"
#include "jobs/job_queue.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"

namespace rh::accounts {

struct AuthOptions {
  std::string issuer = "ringhouse";
  std::string audience = "ringhouse-api";
  std::string token_key;  // HMAC key of access tokens (secret)
  std::string data_key;   // 32 bytes: encrypts TOTP secrets at rest
  std::int64_t access_ttl_s = 600;
  std::int64_t refresh_ttl_s = 30 * 86400;      // idle: a refresh token's life
  std::int64_t session_max_age_s = 90 * 86400;  // absolute: a session's life
  std::int64_t verify_ttl_s = 48 * 3600;
  std::int64_t reset_ttl_s = 3600;
  std::int64_t bootstrap_ttl_s = 7 * 86400;
  int max_failures_per_account = 5;
  int max_failures_per_ip = 30;
  std::int64_t failure_window_s = 900;
  std::int64_t lockout_s = 60;  // first lock; doubles per further failure, capped at the window
  std::size_t password_min_length = 10;
  bool signup_enabled = true;
  std::string totp_issuer;  // shown in authenticator apps; empty: the tenant's name
  std::string app_url;      // base of links in emails; empty: derived from the request
  HashParams hash;
};

void declare_auth_config(config::Schema& s);
// token_key and data_key are filled by the caller from the secrets directory.
AuthOptions auth_options(const config::Config& c);

// Scopes an API key may carry; each route that accepts keys names one.
const std::vector<std::string>& api_key_scopes();

struct Tokens {
  std::string access_token;
  std::int64_t access_expires_in = 0;
  std::string refresh_token;
  std::int64_t refresh_expires_in = 0;
  std::string session_id;
};

struct ClientInfo {
  std::string ip;
  std::string user_agent;
};

// The first step of a login: what the password must be checked against.
struct LoginCandidate {
  std::optional<User> user;  // none: unknown email (a dummy hash is checked)
  std::string password_hash;
  std::string tenant_id;
  std::string email;  // normalised
};

struct LoginInput {
  std::string tenant_id;
  std::string email;
  std::string password;
  std::optional<std::string> totp_code;
  ClientInfo client;
};

struct Session {
  std::string id;  // ses_...
  std::string user_agent;
  std::string ip;
  bool mfa = false;
  std::int64_t created_at = 0;
  std::int64_t last_used_at = 0;
  std::int64_t expires_at = 0;
};

struct ApiKey {
  std::string id;  // key_...
  std::string name;
  std::vector<std::string> scopes;
  std::string prefix;  // the first characters of the key, to recognise it
  std::int64_t created_at = 0;
  std::int64_t last_used_at = 0;
  std::int64_t expires_at = 0;  // 0: never
  std::string secret;           // the whole key: only when just created
};

struct TotpSetup {
  std::string secret;  // base32
  std::string uri;     // otpauth://
};

class AuthService {
 public:
  AuthService(storage::Database& db, jobs::JobQueue& queue, const Clock& clock, AuthOptions o,
              SessionCache& cache);

  const AuthOptions& options() const { return o_; }
  const PasswordHasher& hasher() const { return hasher_; }

  // ---- passwords (slow: on the hashing pool) ----
  Result<std::string> hash_password(std::string_view pw) const { return hasher_.hash(pw); }
  bool check_password(const LoginCandidate& c, std::string_view pw) const;

  // ---- signup and verification ----
  // Creates a pending user and mails a verification link. When the email
  // already has an account, mails that account's owner a notice instead, and
  // returns the same answer, so that signup does not reveal who has one.
  Status signup(const std::string& tenant_id, const std::string& email,
                const std::string& password_hash, const std::string& display_name,
                const std::string& link_base);
  Status resend_verification(const std::string& tenant_id, const std::string& email,
                             const std::string& link_base);
  Result<User> verify_email(const std::string& token);

  // ---- login ----
  // 429 (too_many, retry_after_s) when the account or the IP is locked out.
  Result<LoginCandidate> begin_login(const std::string& tenant_id, const std::string& email,
                                     const std::string& ip);
  Result<Tokens> finish_login(const LoginCandidate& c, bool password_ok, const LoginInput& in);

  // ---- sessions and tokens ----
  Result<Tokens> refresh(const std::string& refresh_token, const ClientInfo& client);
  Result<std::vector<Session>> sessions(const UserScope& self);
  Status revoke_session(const UserScope& self, const std::string& session_id);

  // Resolves a bearer credential (access token or API key) to a caller;
  // unauthorized when it is not valid now (expired, revoked, suspended).
  Result<Principal> authenticate(std::string_view bearer, const ClientInfo& client);
  // The same from the node's memory only (no database): nullopt when the
  // credential is not remembered (or not valid); then call authenticate().
  std::optional<Principal> authenticate_cached(std::string_view bearer);

  // ---- passwords ----
  // Mails a reset link when the email has an active account; silent otherwise.
  Status request_password_reset(const std::string& tenant_id, const std::string& email,
                                const std::string& link_base);
  // Staff: mails the user a reset link.
  Status send_password_reset(const TenantScope& staff, const std::string& user_id,
                             const std::string& link_base);
  // Sets the password, verifies the email, revokes every session and key.
  Status reset_password(const std::string& token, const std::string& password_hash);
  // Checks a reset token before the (slow) hashing of the new password.
  Result<User> peek_reset_token(const std::string& token);
  Result<LoginCandidate> password_of(const UserScope& self);
  // Changes the password; revokes the user's other sessions.
  Status change_password(const UserScope& self, const std::string& keep_session_id,
                         const std::string& password_hash);

  // ---- TOTP ----
  Result<TotpSetup> begin_totp(const UserScope& self, const std::string& issuer);
  // Enables TOTP with a first code; the current session counts as verified.
  Status confirm_totp(const UserScope& self, const std::string& session_id,
                      const std::string& code);
  Status disable_totp(const UserScope& self, const std::string& code);
  // Turns TOTP off for a user who lost their authenticator (admin CLI) and
  // ends their sessions.
  Status reset_totp(const std::string& user_id);

  // ---- API keys ----
  Result<ApiKey> create_api_key(const UserScope& self, const std::string& name,
                                const std::vector<std::string>& scopes, std::int64_t expires_at);
  Result<std::vector<ApiKey>> api_keys(const UserScope& self);
  Status revoke_api_key(const UserScope& self, const std::string& id);

  // ---- administration ----
  // Creates an active, verified user (admin CLI, bootstrap).
  Result<User> create_user(const std::string& tenant_id, const std::string& email,
                           const std::string& password_hash, Role role,
                           const std::string& display_name);
  Result<User> find_user(const std::string& tenant_id, const std::string& email);
  Result<User> set_role(const std::string& user_id, Role role);
  // Replaces a hash made with weaker parameters after a successful sign-in;
  // a no-op if the password changed meanwhile.
  Status upgrade_hash(const std::string& user_id, const std::string& old_hash,
                      const std::string& new_hash);
  // Sets a password directly and revokes sessions and keys (admin CLI).
  Status set_password(const std::string& user_id, const std::string& password_hash);

  // A fresh one-time bootstrap token while no platform admin exists (the
  // previous one stops working); nullopt once one exists.
  Result<std::optional<std::string>> issue_bootstrap_token();
  // Redeems it: creates the first platform admin in the given tenant.
  Result<User> bootstrap(const std::string& token, const std::string& tenant_id,
                         const std::string& email, const std::string& password_hash,
                         const std::string& display_name);

 private:
  Result<Tokens> open_session(storage::Connection& c, const User& u, bool mfa,
                              const ClientInfo& client);
  Result<std::string> issue_refresh(storage::Connection& c, const std::string& session_id,
                                    std::int64_t session_expires_at);
  std::string access_token(const User& u, const std::string& session_id, bool mfa);
  Status mail_token(storage::Connection& c, const User& u, const std::string& purpose,
                    std::int64_t ttl_s, const std::string& link_base);
  Status record_failure(const std::string& tenant_id, const std::string& email,
                        const std::string& ip);
  Result<std::int64_t> locked_for(storage::Connection& c, const std::string& key, std::int64_t now);
  std::string seal(std::string_view plain) const;
  std::optional<std::string> unseal(std::string_view sealed) const;

  storage::Database& db_;
  jobs::JobQueue& queue_;
  const Clock& clock_;
  AuthOptions o_;
  PasswordHasher hasher_;
  SessionCache& cache_;
};

// `accounts.prune`, hourly: deletes expired refresh tokens, mailed tokens and
// throttling windows, sessions ended more than 30 days ago, and emails older
// than `email_retention_s` once delivered or logged.
void register_auth_jobs(jobs::JobWorker& worker, const Clock& clock,
                        std::int64_t email_retention_s);
Status schedule_auth_jobs(jobs::JobQueue& queue);

std::vector<storage::Migration> auth_migrations();

}  // namespace rh::accounts
