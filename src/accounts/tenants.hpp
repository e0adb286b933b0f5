// Tenants are the brands an operator runs on one installation: each has its
// hostnames, public branding, default country, currency and limits. Every
// user, number and message belongs to one. A request's tenant is resolved
// from its Host header.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"

namespace rh::accounts {

struct Branding {
  std::string display_name;
  std::string logo_url;
  std::string primary_color = "#2563eb";
  std::string accent_color = "#f59e0b";
  std::string support_email;
  std::string support_url;
  std::string terms_url;
  std::string privacy_url;
};

struct TenantLimits {
  std::int64_t max_numbers_per_user = 5;
  std::int64_t max_devices_per_user = 10;
  std::int64_t max_messages_per_day = 1000;
};

struct Tenant {
  std::string id;  // ten_...
  std::string slug;
  std::string name;
  std::string status;  // active | suspended
  bool is_default = false;
  std::string default_country;  // ISO 3166-1 alpha-2
  std::string currency;         // ISO 4217
  Branding branding;
  TenantLimits limits;
  std::vector<std::string> hostnames;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;

  // The name users see: the branding's display name, else the tenant's name.
  const std::string& brand_name() const {
    return branding.display_name.empty() ? name : branding.display_name;
  }
};

// A create or a partial update: unset fields are left as they are.
struct TenantInput {
  std::optional<std::string> slug;
  std::optional<std::string> name;
  std::optional<std::string> status;
  std::optional<std::string> default_country;
  std::optional<std::string> currency;
  std::optional<std::vector<std::string>> hostnames;
  std::optional<std::string> display_name, logo_url, primary_color, accent_color, support_email,
      support_url, terms_url, privacy_url;
  std::optional<std::int64_t> max_numbers_per_user, max_devices_per_user, max_messages_per_day;
};

// Lower-cases a Host header value and strips its port; empty when invalid.
std::string normalise_host(std::string_view host);

class TenantStore {
 public:
  TenantStore(storage::Database& db, const Clock& clock,
              std::chrono::milliseconds cache_ttl = std::chrono::seconds(1))
      : db_(db), clock_(clock), cache_ttl_(cache_ttl) {}

  // Validates and creates; writes a tenant.created event with it.
  Result<Tenant> create(const TenantInput& in, bool make_default = false);
  // Applies a partial update; writes a tenant.updated event with it.
  Result<Tenant> update(const std::string& id, const TenantInput& patch);
  // By id, from memory when this process read it less than cache_ttl ago
  // (every message and call reads its tenant). A change made through this
  // store is seen at once; one made by another node or a CLI command within
  // cache_ttl (1 s unless given).
  Result<Tenant> get(const std::string& id);
  Result<Tenant> get_by_slug(const std::string& slug);
  Result<std::vector<Tenant>> list(const std::string& after_id, int limit);
  // The tenant serving a Host, else the default tenant. One query on the hot
  // path: the returned tenant's hostnames hold only the Host it was found by,
  // and are empty when it is the default tenant's fallback.
  Result<Tenant> resolve_host(std::string_view host);
  // Creates the default tenant on first start; returns it either way.
  Result<Tenant> ensure_default(const TenantInput& defaults);

 private:
  void forget_all();

  struct Cached {
    Tenant tenant;
    std::chrono::steady_clock::time_point loaded_at;
  };
  storage::Database& db_;
  const Clock& clock_;
  const std::chrono::milliseconds cache_ttl_;
  std::mutex cache_mu_;
  std::unordered_map<std::string, Cached> cache_;
  std::uint64_t generation_ = 0;  // bumped by every write: a load that
                                  // raced one is not kept
};

// The accounts module's migrations: tenants, users and auth, emails.
std::vector<storage::Migration> migrations();

}  // namespace rh::accounts
