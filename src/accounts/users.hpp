// Users of a tenant: their profile, role and status. Every function takes the
// scope it may touch (core/principal.hpp): a UserScope for the caller's own
// record, a TenantScope for staff. Passwords, sessions, TOTP and API keys
// live in auth.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "accounts/session_cache.hpp"
#include "core/clock.hpp"
#include "core/principal.hpp"
#include "core/result.hpp"
#include "storage/database.hpp"

namespace rh::accounts {

struct User {
  std::string id;  // usr_...
  std::string tenant_id;
  std::string email;
  std::string display_name;
  Role role = Role::user;
  std::string status;  // pending (email not verified) | active | suspended
  bool email_verified = false;
  bool totp_enabled = false;
  std::string locale;
  std::string time_zone;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::int64_t last_login_at = 0;
};

// What a user may change about themselves.
struct ProfilePatch {
  std::optional<std::string> display_name;
  std::optional<std::string> locale;     // BCP 47 ("en", "pt-BR")
  std::optional<std::string> time_zone;  // IANA ("Europe/Paris")
};

// What staff may change about a user.
struct StaffPatch {
  std::optional<std::string> display_name;
  std::optional<Role> role;
  std::optional<std::string> status;  // active | suspended
};

struct UserFilter {
  std::string q;  // substring of email or display name
  std::string role;
  std::string status;
  std::string after_id;
  int limit = 50;
};

// Lower-cases and checks an email address (one @, a dot in the domain, no
// spaces or controls, at most 254 bytes); invalid_argument naming `field`.
Result<std::string> normalise_email(std::string_view email, std::string_view field = "email");

class UserStore {
 public:
  // `cache`, when given, forgets a user's credentials when staff change them.
  UserStore(storage::Database& db, const Clock& clock, SessionCache* cache = nullptr)
      : db_(db), clock_(clock), cache_(cache) {}

  Result<User> get(const UserScope& self);
  Result<User> update_profile(const UserScope& self, const ProfilePatch& p);

  Result<std::vector<User>> list(const TenantScope& staff, const UserFilter& f);
  Result<User> get(const TenantScope& staff, const std::string& id);
  // Applies a staff change. `actor_role` bounds what may be granted: nobody
  // grants a role above their own, and only platform admins grant
  // platform_admin. Suspending revokes the user's sessions and API keys.
  Result<User> update_by_staff(const TenantScope& staff, Role actor_role, const std::string& id,
                               const StaffPatch& p);

 private:
  storage::Database& db_;
  const Clock& clock_;
  SessionCache* cache_;
};

// Shared with auth.cpp.
extern const char* const kUserCols;
User user_from_row(const storage::Row& r);
// The payload of user.* events: id, email, role, status.
std::string user_event_payload(const User& u);
// Revokes every session and API key of a user (suspension, password reset).
Status revoke_all_credentials(storage::Connection& c, const std::string& user_id, std::int64_t now,
                              const std::string& reason);

}  // namespace rh::accounts
