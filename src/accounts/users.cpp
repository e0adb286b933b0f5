#include "accounts/users.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>

#include "jobs/outbox.hpp"

namespace rh::accounts {

using storage::Connection;
using storage::Row;
using storage::Value;

const char* const kUserCols =
    "id, tenant_id, email, display_name, role, status, email_verified_at, totp_enabled, locale, "
    "time_zone, created_at, updated_at, last_login_at";

User user_from_row(const Row& r) {
  User u;
  u.id = r.text("id");
  u.tenant_id = r.text("tenant_id");
  u.email = r.text("email");
  u.display_name = r.text("display_name");
  u.role = parse_role(r.text("role")).value_or(Role::user);
  u.status = r.text("status");
  u.email_verified = r.integer("email_verified_at") != 0;
  u.totp_enabled = r.boolean("totp_enabled");
  u.locale = r.text("locale");
  u.time_zone = r.text("time_zone");
  u.created_at = r.integer("created_at");
  u.updated_at = r.integer("updated_at");
  u.last_login_at = r.integer("last_login_at");
  return u;
}

std::string user_event_payload(const User& u) {
  return boost::json::serialize(boost::json::object{
      {"id", u.id}, {"email", u.email}, {"role", role_name(u.role)}, {"status", u.status}});
}

Result<std::string> normalise_email(std::string_view email, std::string_view field) {
  std::string f(field);
  std::string e;
  e.reserve(email.size());
  for (unsigned char c : email) e.push_back(static_cast<char>(std::tolower(c)));
  auto bad = [&](const char* why) { return Error(Errc::invalid_argument, f, why); };
  if (e.empty()) return bad("is required");
  if (e.size() > 254) return bad("must be at most 254 bytes");
  for (unsigned char c : e)
    if (c >= 0x80)
      return bad("must be an ASCII address (internationalised addresses are not supported)");
  for (unsigned char c : e)
    if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' ||
        c == '\\')
      return bad("is not a valid email address");
  auto at = e.find('@');
  if (at == std::string::npos || at == 0 || e.find('@', at + 1) != std::string::npos)
    return bad("is not a valid email address");
  std::string_view domain = std::string_view(e).substr(at + 1);
  auto dot = domain.find('.');
  if (domain.empty() || dot == std::string_view::npos || dot == 0 || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos)
    return bad("is not a valid email address");
  return e;
}

namespace {

Status check_text(std::string_view field, const std::string& v, std::size_t max) {
  if (v.size() > max)
    return Error(Errc::invalid_argument, std::string(field),
                 fmt::format("must be at most {} bytes", max));
  for (unsigned char c : v)
    if (c < 0x20 || c == 0x7f)
      return Error(Errc::invalid_argument, std::string(field),
                   "must not contain control characters");
  return {};
}

Status check_locale(const std::string& v) {
  if (v.empty()) return {};
  bool ok = v.size() <= 35 && std::all_of(v.begin(), v.end(), [](unsigned char c) {
              return std::isalnum(c) || c == '-';
            });
  if (!ok) return Error(Errc::invalid_argument, "locale", "must be a BCP 47 tag such as en-US");
  return {};
}

Status check_time_zone(const std::string& v) {
  if (v.empty()) return {};
  bool ok = v.size() <= 64 && std::all_of(v.begin(), v.end(), [](unsigned char c) {
              return std::isalnum(c) || c == '/' || c == '_' || c == '-' || c == '+';
            });
  if (!ok)
    return Error(Errc::invalid_argument, "time_zone",
                 "must be an IANA time zone such as Europe/Paris");
  return {};
}

Result<User> load_own(Connection& c, const UserScope& s) {
  RH_ASSIGN(auto row, c.query_opt(fmt::format("SELECT {} FROM users WHERE id = ? AND tenant_id = ?",
                                              kUserCols),
                                  {s.user_id, s.tenant_id}));
  if (!row) return make_error(Errc::not_found, "no such user");
  return user_from_row(*row);
}

Result<User> load_staff(Connection& c, const TenantScope& s, const std::string& id) {
  RH_ASSIGN(auto row, c.query_opt(fmt::format("SELECT {} FROM users WHERE id = ? AND "
                                              "(? = '' OR tenant_id = ?)",
                                              kUserCols),
                                  {id, s.tenant_id, s.tenant_id}));
  if (!row) return make_error(Errc::not_found, "no such user");
  return user_from_row(*row);
}

}  // namespace

Status revoke_all_credentials(Connection& c, const std::string& user_id, std::int64_t now,
                              const std::string& reason) {
  RH_TRY(
      c.exec("UPDATE sessions SET revoked_at = ?, revoked_reason = ? "
             "WHERE user_id = ? AND revoked_at = 0",
             {now, reason, user_id}));
  RH_TRY(c.exec("UPDATE api_keys SET revoked_at = ? WHERE user_id = ? AND revoked_at = 0",
                {now, user_id}));
  return {};
}

Result<User> UserStore::get(const UserScope& self) {
  return db_.read<User>([&](Connection& c) { return load_own(c, self); });
}

Result<User> UserStore::update_profile(const UserScope& self, const ProfilePatch& p) {
  if (p.display_name) RH_TRY(check_text("display_name", *p.display_name, 100));
  if (p.locale) RH_TRY(check_locale(*p.locale));
  if (p.time_zone) RH_TRY(check_time_zone(*p.time_zone));
  std::int64_t now = clock_.now_ms();
  return db_.in_transaction<User>([&](Connection& c) -> Result<User> {
    RH_ASSIGN(User u, load_own(c, self));
    if (p.display_name) u.display_name = *p.display_name;
    if (p.locale) u.locale = *p.locale;
    if (p.time_zone) u.time_zone = *p.time_zone;
    u.updated_at = now;
    RH_TRY(
        c.exec("UPDATE users SET display_name = ?, locale = ?, time_zone = ?, updated_at = ? "
               "WHERE id = ? AND tenant_id = ?",
               {u.display_name, u.locale, u.time_zone, now, self.user_id, self.tenant_id}));
    RH_TRY(jobs::append_event(c, {"user.updated", u.tenant_id, u.id, user_event_payload(u)}, now));
    return u;
  });
}

Result<std::vector<User>> UserStore::list(const TenantScope& staff, const UserFilter& f) {
  if (!f.role.empty() && !parse_role(f.role))
    return Error(Errc::invalid_argument, "role",
                 "must be one of user, support, tenant_admin, platform_admin");
  if (!f.status.empty() && f.status != "pending" && f.status != "active" && f.status != "suspended")
    return Error(Errc::invalid_argument, "status", "must be one of pending, active, suspended");
  return db_.read<std::vector<User>>([&](Connection& c) -> Result<std::vector<User>> {
    std::string sql = fmt::format("SELECT {} FROM users WHERE id > ?", kUserCols);
    std::vector<Value> args{f.after_id};
    if (!staff.tenant_id.empty()) {
      sql += " AND tenant_id = ?";
      args.emplace_back(staff.tenant_id);
    }
    if (!f.role.empty()) {
      sql += " AND role = ?";
      args.emplace_back(f.role);
    }
    if (!f.status.empty()) {
      sql += " AND status = ?";
      args.emplace_back(f.status);
    }
    if (!f.q.empty()) {
      // Substring match with LIKE's wildcards escaped.
      std::string pat = "%";
      for (char ch : f.q) {
        if (ch == '%' || ch == '_' || ch == '!') pat.push_back('!');
        pat.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
      }
      pat += "%";
      sql += " AND (email LIKE ? ESCAPE '!' OR LOWER(display_name) LIKE ? ESCAPE '!')";
      args.emplace_back(pat);
      args.emplace_back(pat);
    }
    sql += " ORDER BY id LIMIT ?";
    args.emplace_back(static_cast<std::int64_t>(std::clamp(f.limit, 1, 500)));
    RH_ASSIGN(auto rows, c.query(sql, args));
    std::vector<User> out;
    out.reserve(rows.size());
    for (const auto& r : rows) out.push_back(user_from_row(r));
    return out;
  });
}

Result<User> UserStore::get(const TenantScope& staff, const std::string& id) {
  return db_.read<User>([&](Connection& c) { return load_staff(c, staff, id); });
}

Result<User> UserStore::update_by_staff(const TenantScope& staff, Role actor_role,
                                        const std::string& id, const StaffPatch& p) {
  if (p.display_name) RH_TRY(check_text("display_name", *p.display_name, 100));
  if (p.status && *p.status != "active" && *p.status != "suspended")
    return Error(Errc::invalid_argument, "status", "must be active or suspended");
  if (p.role && *p.role > actor_role)
    return make_error(Errc::forbidden, "you cannot grant a role above your own");
  std::int64_t now = clock_.now_ms();
  auto r = db_.in_transaction<User>([&](Connection& c) -> Result<User> {
    RH_ASSIGN(User u, load_staff(c, staff, id));
    if (u.role > actor_role)
      return make_error(Errc::forbidden, "you cannot change a user whose role is above yours");
    bool suspending = p.status && *p.status == "suspended" && u.status != "suspended";
    if (p.display_name) u.display_name = *p.display_name;
    if (p.role) u.role = *p.role;
    if (p.status) {
      // Reactivating a user who never verified their email leaves them pending.
      u.status = *p.status == "active" && !u.email_verified ? "pending" : *p.status;
    }
    u.updated_at = now;
    RH_TRY(
        c.exec("UPDATE users SET display_name = ?, role = ?, status = ?, updated_at = ? "
               "WHERE id = ? AND tenant_id = ?",
               {u.display_name, std::string(role_name(u.role)), u.status, now, u.id, u.tenant_id}));
    if (suspending) RH_TRY(revoke_all_credentials(c, u.id, now, "suspended"));
    RH_TRY(jobs::append_event(
        c,
        {suspending ? "user.suspended" : "user.updated", u.tenant_id, u.id, user_event_payload(u)},
        now));
    return u;
  });
  if (r && cache_) cache_->forget_user(r->id);
  return r;
}

}  // namespace rh::accounts
