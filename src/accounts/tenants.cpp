#include "accounts/tenants.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "accounts/auth.hpp"
#include "accounts/mail.hpp"
#include "core/ids.hpp"
#include "core/phone_number.hpp"
#include "jobs/outbox.hpp"

namespace rh::accounts {

using storage::Connection;
using storage::Value;

namespace {

constexpr const char* kCols =
    "id, slug, name, status, is_default, default_country, currency, display_name, logo_url, "
    "primary_color, accent_color, support_email, support_url, terms_url, privacy_url, "
    "max_numbers_per_user, max_devices_per_user, max_messages_per_day, created_at, updated_at";

bool is_alnum_lower(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

Status invalid(const std::string& field, const std::string& msg) {
  return Error(Errc::invalid_argument, field, field + ": " + msg);
}

bool valid_ipv4(std::string_view h);

bool valid_hostname(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  // All-numeric dotted names are addresses, and must be valid ones.
  if (h.find_first_not_of("0123456789.") == std::string_view::npos) return valid_ipv4(h);
  std::size_t start = 0;
  while (start <= h.size()) {
    auto end = h.find('.', start);
    if (end == std::string_view::npos) end = h.size();
    auto label = h.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label) {
      if (!is_alnum_lower(c) && c != '-') return false;
    }
    start = end + 1;
  }
  return true;
}

bool valid_ipv4(std::string_view h) {
  int parts = 0;
  std::size_t start = 0;
  while (start <= h.size()) {
    auto end = h.find('.', start);
    if (end == std::string_view::npos) end = h.size();
    auto p = h.substr(start, end - start);
    if (p.empty() || p.size() > 3 ||
        !std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    if (std::stoi(std::string(p)) > 255) return false;
    ++parts;
    start = end + 1;
  }
  return parts == 4;
}

Status check_url(const std::string& field, const std::string& v) {
  if (v.empty()) return {};
  if (v.size() > 2048) return invalid(field, "must be at most 2048 characters");
  if (v.rfind("https://", 0) != 0 && v.rfind("http://", 0) != 0)
    return invalid(field, "must be an http:// or https:// URL");
  for (char c : v) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '"' || c == '<' || c == '>')
      return invalid(field, "must not contain spaces, quotes or angle brackets");
  }
  return {};
}

Status check_color(const std::string& field, const std::string& v) {
  if (v.size() != 7 || v[0] != '#' || !std::all_of(v.begin() + 1, v.end(), is_hex))
    return invalid(field, "must be a colour as #rrggbb");
  return {};
}

Status check_text(const std::string& field, const std::string& v, std::size_t max, bool required) {
  if (required && v.empty()) return invalid(field, "is required");
  if (v.size() > max) return invalid(field, fmt::format("must be at most {} bytes", max));
  for (unsigned char c : v) {
    if (c < 0x20) return invalid(field, "must not contain control characters");
  }
  return {};
}

Status validate(const Tenant& t) {
  if (t.slug.empty() || t.slug.size() > 63 || !is_alnum_lower(t.slug[0]) ||
      !std::all_of(t.slug.begin(), t.slug.end(),
                   [](char c) { return is_alnum_lower(c) || c == '-'; }))
    return invalid(
        "slug",
        "must be 1 to 63 lower-case letters, digits or '-', starting with a letter or digit");
  RH_TRY(check_text("name", t.name, 191, true));
  if (t.status != "active" && t.status != "suspended")
    return invalid("status", "must be active or suspended");
  if (t.default_country.size() != 2 || !is_upper(t.default_country[0]) ||
      !is_upper(t.default_country[1]) || !phone::is_supported_region(t.default_country))
    return invalid("default_country", "must be an ISO 3166-1 alpha-2 country code such as US");
  if (t.currency.size() != 3 || !std::all_of(t.currency.begin(), t.currency.end(), is_upper))
    return invalid("currency", "must be an ISO 4217 code such as USD");
  RH_TRY(check_text("branding.display_name", t.branding.display_name, 191, false));
  RH_TRY(check_url("branding.logo_url", t.branding.logo_url));
  RH_TRY(check_color("branding.primary_color", t.branding.primary_color));
  RH_TRY(check_color("branding.accent_color", t.branding.accent_color));
  if (!t.branding.support_email.empty()) {
    const auto& e = t.branding.support_email;
    auto at = e.find('@');
    if (e.size() > 254 || at == std::string::npos || at == 0 ||
        e.find('.', at) == std::string::npos || e.find_first_of(" \t\r\n<>\"") != std::string::npos)
      return invalid("branding.support_email", "must be an email address");
  }
  RH_TRY(check_url("branding.support_url", t.branding.support_url));
  RH_TRY(check_url("branding.terms_url", t.branding.terms_url));
  RH_TRY(check_url("branding.privacy_url", t.branding.privacy_url));
  auto check_limit = [](const char* f, std::int64_t v) -> Status {
    if (v < 0 || v > 1'000'000'000)
      return invalid(std::string("limits.") + f, "must be between 0 and 1000000000");
    return {};
  };
  RH_TRY(check_limit("max_numbers_per_user", t.limits.max_numbers_per_user));
  RH_TRY(check_limit("max_devices_per_user", t.limits.max_devices_per_user));
  RH_TRY(check_limit("max_messages_per_day", t.limits.max_messages_per_day));
  if (t.hostnames.size() > 50) return invalid("hostnames", "at most 50 hostnames");
  std::set<std::string> seen;
  for (const auto& h : t.hostnames) {
    if (!(valid_hostname(h) || valid_ipv4(h)) || h != normalise_host(h))
      return invalid("hostnames", "'" + h + "' is not a lower-case host name without a port");
    if (!seen.insert(h).second) return invalid("hostnames", "'" + h + "' is listed twice");
  }
  return {};
}

void apply(Tenant& t, const TenantInput& in) {
  if (in.slug) t.slug = *in.slug;
  if (in.name) t.name = *in.name;
  if (in.status) t.status = *in.status;
  if (in.default_country) t.default_country = *in.default_country;
  if (in.currency) t.currency = *in.currency;
  if (in.hostnames) t.hostnames = *in.hostnames;
  if (in.display_name) t.branding.display_name = *in.display_name;
  if (in.logo_url) t.branding.logo_url = *in.logo_url;
  if (in.primary_color) t.branding.primary_color = *in.primary_color;
  if (in.accent_color) t.branding.accent_color = *in.accent_color;
  if (in.support_email) t.branding.support_email = *in.support_email;
  if (in.support_url) t.branding.support_url = *in.support_url;
  if (in.terms_url) t.branding.terms_url = *in.terms_url;
  if (in.privacy_url) t.branding.privacy_url = *in.privacy_url;
  if (in.max_numbers_per_user) t.limits.max_numbers_per_user = *in.max_numbers_per_user;
  if (in.max_devices_per_user) t.limits.max_devices_per_user = *in.max_devices_per_user;
  if (in.max_messages_per_day) t.limits.max_messages_per_day = *in.max_messages_per_day;
}

Tenant from_row(const storage::Row& r) {
  Tenant t;
  t.id = r.text("id");
  t.slug = r.text("slug");
  t.name = r.text("name");
  t.status = r.text("status");
  t.is_default = r.boolean("is_default");
  t.default_country = r.text("default_country");
  t.currency = r.text("currency");
  t.branding = {r.text("display_name"), r.text("logo_url"),      r.text("primary_color"),
                r.text("accent_color"), r.text("support_email"), r.text("support_url"),
                r.text("terms_url"),    r.text("privacy_url")};
  t.limits = {r.integer("max_numbers_per_user"), r.integer("max_devices_per_user"),
              r.integer("max_messages_per_day")};
  t.created_at = r.integer("created_at");
  t.updated_at = r.integer("updated_at");
  return t;
}

Result<Tenant> load(Connection& c, std::string_view where, Value key) {
  RH_ASSIGN(auto row,
            c.query_opt(fmt::format("SELECT {} FROM tenants WHERE {}", kCols, where), {key}));
  if (!row) return Error(Errc::not_found, "no such tenant");
  Tenant t = from_row(*row);
  RH_ASSIGN(auto hosts,
            c.query("SELECT hostname FROM tenant_hostnames WHERE tenant_id = ? ORDER BY hostname",
                    {t.id}));
  for (const auto& h : hosts) t.hostnames.push_back(h.text("hostname"));
  return t;
}

std::vector<Value> row_values(const Tenant& t) {
  return {t.slug,
          t.name,
          t.status,
          static_cast<std::int64_t>(t.is_default),
          t.default_country,
          t.currency,
          t.branding.display_name,
          t.branding.logo_url,
          t.branding.primary_color,
          t.branding.accent_color,
          t.branding.support_email,
          t.branding.support_url,
          t.branding.terms_url,
          t.branding.privacy_url,
          t.limits.max_numbers_per_user,
          t.limits.max_devices_per_user,
          t.limits.max_messages_per_day,
          t.updated_at};
}

Status write_hostnames(Connection& c, const Tenant& t) {
  RH_TRY(c.exec("DELETE FROM tenant_hostnames WHERE tenant_id = ?", {t.id}));
  for (const auto& h : t.hostnames) {
    auto r = c.exec("INSERT INTO tenant_hostnames (hostname, tenant_id) VALUES (?, ?)", {h, t.id});
    if (!r) {
      if (r.error().code == Errc::conflict)
        return Error(Errc::conflict, "hostnames",
                     "hostname '" + h + "' already serves another tenant");
      return r.take_error();
    }
  }
  return {};
}

std::string event_payload(const Tenant& t) {
  boost::json::object o{
      {"tenant_id", t.id}, {"slug", t.slug}, {"name", t.name}, {"status", t.status}};
  return boost::json::serialize(o);
}

}  // namespace

std::string normalise_host(std::string_view host) {
  std::string h;
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string_view::npos) return {};
    h = std::string(host.substr(0, close + 1));
  } else {
    auto colon = host.find(':');
    h = std::string(host.substr(0, colon));
  }
  if (!h.empty() && h.back() == '.') h.pop_back();
  for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (h.size() > 253) return {};
  return h;
}

Result<Tenant> TenantStore::create(const TenantInput& in, bool make_default) {
  if (make_default) {
    auto has_default = db_.read<bool>([](Connection& c) -> Result<bool> {
      RH_ASSIGN(auto row, c.query_opt("SELECT id FROM tenants WHERE is_default = 1", {}));
      return row.has_value();
    });
    if (!has_default) return has_default.take_error();
    if (*has_default) return Error(Errc::conflict, "there is already a default tenant");
  }
  Tenant t;
  t.status = "active";
  t.default_country = "US";
  t.currency = "USD";
  apply(t, in);
  if (t.branding.display_name.empty()) t.branding.display_name = t.name;
  t.is_default = make_default;
  RH_TRY(validate(t));
  return db_.in_transaction<Tenant>([&](Connection& c) -> Result<Tenant> {
    std::int64_t now = clock_.now_ms();
    t.id = new_id("ten", now);
    t.created_at = t.updated_at = now;
    auto vals = row_values(t);
    vals.insert(vals.begin(), Value{t.id});
    vals.emplace_back(now);
    auto r = c.exec(
        "INSERT INTO tenants (id, slug, name, status, is_default, default_country, currency, "
        "display_name, logo_url, primary_color, accent_color, support_email, support_url, "
        "terms_url, privacy_url, max_numbers_per_user, max_devices_per_user, "
        "max_messages_per_day, updated_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        vals);
    if (!r) {
      if (r.error().code == Errc::conflict)
        return Error(Errc::conflict, "slug", "a tenant with slug '" + t.slug + "' already exists");
      return r.take_error();
    }
    RH_TRY(jobs::append_event(c, {"tenant.created", t.id, t.id, event_payload(t)}, now));
    RH_TRY(write_hostnames(c, t));
    return t;
  });
}

Result<Tenant> TenantStore::update(const std::string& id, const TenantInput& patch) {
  auto updated = db_.in_transaction<Tenant>([&](Connection& c) -> Result<Tenant> {
    RH_ASSIGN(Tenant t, load(c, "id = ?", id));
    apply(t, patch);
    RH_TRY(validate(t));
    std::int64_t now = clock_.now_ms();
    t.updated_at = now;
    auto vals = row_values(t);
    vals.emplace_back(t.id);
    // The event is appended first: if anything after it fails, the whole
    // transaction (event included) rolls back.
    RH_TRY(jobs::append_event(c, {"tenant.updated", t.id, t.id, event_payload(t)}, now));
    auto r = c.exec(
        "UPDATE tenants SET slug = ?, name = ?, status = ?, is_default = ?, default_country = ?, "
        "currency = ?, display_name = ?, logo_url = ?, primary_color = ?, accent_color = ?, "
        "support_email = ?, support_url = ?, terms_url = ?, privacy_url = ?, "
        "max_numbers_per_user = ?, max_devices_per_user = ?, max_messages_per_day = ?, "
        "updated_at = ? WHERE id = ?",
        vals);
    if (!r) {
      if (r.error().code == Errc::conflict)
        return Error(Errc::conflict, "slug", "a tenant with slug '" + t.slug + "' already exists");
      return r.take_error();
    }
    if (patch.hostnames) RH_TRY(write_hostnames(c, t));
    return t;
  });
  // After the commit: a get() that read the old row before it is not kept.
  forget_all();
  return updated;
}

Result<Tenant> TenantStore::get(const std::string& id) {
  const auto now = std::chrono::steady_clock::now();
  std::uint64_t generation = 0;
  {
    std::lock_guard lk(cache_mu_);
    if (auto it = cache_.find(id); it != cache_.end() && now - it->second.loaded_at < cache_ttl_)
      return it->second.tenant;
    generation = generation_;
  }
  RH_ASSIGN(auto t, db_.read<Tenant>([&](Connection& c) { return load(c, "id = ?", id); }));
  std::lock_guard lk(cache_mu_);
  if (generation == generation_) cache_.insert_or_assign(id, Cached{t, now});
  return t;
}

void TenantStore::forget_all() {
  std::lock_guard lk(cache_mu_);
  ++generation_;
  cache_.clear();
}

Result<Tenant> TenantStore::get_by_slug(const std::string& slug) {
  return db_.read<Tenant>([&](Connection& c) { return load(c, "slug = ?", slug); });
}

Result<std::vector<Tenant>> TenantStore::list(const std::string& after_id, int limit) {
  return db_.read<std::vector<Tenant>>([&](Connection& c) -> Result<std::vector<Tenant>> {
    RH_ASSIGN(auto rows,
              c.query(fmt::format("SELECT {} FROM tenants WHERE id > ? ORDER BY id LIMIT ?", kCols),
                      {after_id, static_cast<std::int64_t>(std::clamp(limit, 1, 500))}));
    std::vector<Tenant> out;
    if (rows.empty()) return out;
    std::string in;
    std::vector<Value> ids;
    for (const auto& r : rows) {
      out.push_back(from_row(r));
      in += in.empty() ? "?" : ", ?";
      ids.emplace_back(out.back().id);
    }
    // The page's hostnames in one query.
    RH_ASSIGN(auto hosts, c.query(fmt::format("SELECT tenant_id, hostname FROM tenant_hostnames "
                                              "WHERE tenant_id IN ({}) ORDER BY hostname",
                                              in),
                                  ids));
    for (const auto& h : hosts) {
      for (auto& t : out) {
        if (t.id == h.text("tenant_id")) t.hostnames.push_back(h.text("hostname"));
      }
    }
    return out;
  });
}

Result<Tenant> TenantStore::resolve_host(std::string_view host) {
  std::string h = normalise_host(host);
  return db_.read<Tenant>([&](Connection& c) -> Result<Tenant> {
    if (!h.empty()) {
      RH_ASSIGN(
          auto row,
          c.query_opt(fmt::format("SELECT {} FROM tenants WHERE id = "
                                  "(SELECT tenant_id FROM tenant_hostnames WHERE hostname = ?)",
                                  kCols),
                      {h}));
      if (row) {
        Tenant t = from_row(*row);
        t.hostnames = {h};  // the Host it was found by
        return t;
      }
    }
    RH_ASSIGN(auto def,
              c.query_opt(fmt::format("SELECT {} FROM tenants WHERE is_default = 1", kCols), {}));
    if (!def)
      return Error(Errc::not_found, "no tenant serves this host and there is no default tenant");
    return from_row(*def);
  });
}

Result<Tenant> TenantStore::ensure_default(const TenantInput& defaults) {
  auto existing = db_.read<std::optional<std::string>>(
      [&](Connection& c) -> Result<std::optional<std::string>> {
        RH_ASSIGN(auto row, c.query_opt("SELECT id FROM tenants WHERE is_default = 1", {}));
        if (!row) return std::optional<std::string>();
        return std::optional<std::string>(row->text("id"));
      });
  if (!existing) return existing.take_error();
  if (*existing) return get(**existing);
  return create(defaults, true);
}

std::vector<storage::Migration> migrations() {
  std::vector<storage::Migration> out{{2026112510, "tenants", R"SQL(
CREATE TABLE tenants (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  slug VARCHAR(63) NOT NULL,
  name VARCHAR(191) NOT NULL,
  status VARCHAR(16) NOT NULL,
  is_default INTEGER NOT NULL DEFAULT 0,
  default_country CHAR(2) NOT NULL,
  currency CHAR(3) NOT NULL,
  display_name VARCHAR(191) NOT NULL,
  logo_url VARCHAR(2048) NOT NULL,
  primary_color VARCHAR(7) NOT NULL,
  accent_color VARCHAR(7) NOT NULL,
  support_email VARCHAR(254) NOT NULL,
  support_url VARCHAR(2048) NOT NULL,
  terms_url VARCHAR(2048) NOT NULL,
  privacy_url VARCHAR(2048) NOT NULL,
  max_numbers_per_user BIGINT NOT NULL,
  max_devices_per_user BIGINT NOT NULL,
  max_messages_per_day BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
){{table}};
CREATE UNIQUE INDEX tenants_slug ON tenants (slug);
CREATE INDEX tenants_default ON tenants (is_default);
CREATE TABLE tenant_hostnames (
  hostname VARCHAR(191) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL REFERENCES tenants (id) ON DELETE CASCADE
){{table}};
CREATE INDEX tenant_hostnames_tenant ON tenant_hostnames (tenant_id)
)SQL"}};
  for (auto& m : auth_migrations()) out.push_back(std::move(m));
  for (auto& m : mail_migrations()) out.push_back(std::move(m));
  return out;
}

}  // namespace rh::accounts
