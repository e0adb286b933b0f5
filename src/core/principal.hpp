// Who is calling, and whose data a call may touch. The API's access check
// builds a Principal from the request's credentials; handlers then obtain a
// UserScope or TenantScope from it, and every store function that reads or
// changes a user's data takes one of those and puts it in its WHERE clause.
// There is no unscoped overload, so a handler cannot forget the scoping.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rh {

// Ordered: each role can do what the ones before it can.
enum class Role { user = 0, support = 1, tenant_admin = 2, platform_admin = 3 };

inline const char* role_name(Role r) {
  switch (r) {
    case Role::user:
      return "user";
    case Role::support:
      return "support";
    case Role::tenant_admin:
      return "tenant_admin";
    case Role::platform_admin:
      return "platform_admin";
  }
  return "user";
}

inline std::optional<Role> parse_role(std::string_view s) {
  for (Role r : {Role::user, Role::support, Role::tenant_admin, Role::platform_admin})
    if (s == role_name(r)) return r;
  return std::nullopt;
}

struct Principal {
  enum class Kind { session, api_key, operator_token };
  Kind kind = Kind::session;
  std::string tenant_id;   // empty for the operator token
  std::string user_id;     // empty for the operator token
  std::string session_id;  // for sessions
  std::string api_key_id;  // for API keys
  Role role = Role::user;
  bool mfa = false;                 // the session passed a second factor
  std::vector<std::string> scopes;  // API keys only

  // Staff roles count only in sessions that passed TOTP; without it a staff
  // member acts as a plain user (and may enrol TOTP).
  Role effective_role() const {
    if (kind == Kind::operator_token) return Role::platform_admin;
    if (kind == Kind::api_key) return Role::user;
    return role > Role::user && !mfa ? Role::user : role;
  }
  bool has_scope(std::string_view s) const {
    return std::find(scopes.begin(), scopes.end(), s) != scopes.end();
  }
};

// One user's own data, in one tenant.
struct UserScope {
  std::string tenant_id;
  std::string user_id;
};

// A staff member's reach: one tenant, or every tenant when tenant_id is empty
// (platform admins and the operator).
struct TenantScope {
  std::string tenant_id;
  bool covers(std::string_view t) const { return tenant_id.empty() || tenant_id == t; }
};

}  // namespace rh
