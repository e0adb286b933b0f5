// The number inventory: every number the platform holds, from the
// operator's own DID blocks (provider `local`) or bought from a carrier, and
// where it is in its life:
//   available -> reserved -> active -> releasing -> aging -> available
// with `suspended` while its owner's renewal is unpaid. A reservation holds
// a number for one user for a few minutes; aging quarantines a released
// number so that its next owner does not get the last owner's calls.
// Carrier numbers leave the inventory when their quarantine ends (the
// carrier has them back); local numbers return to the pool.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/csv.hpp"
#include "core/principal.hpp"
#include "core/result.hpp"
#include "numbers/provider.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"

namespace rh::numbers {

struct Number {
  std::string id;  // num_...
  std::string tenant_id;
  std::string e164;
  std::string provider;      // local | telnyx | bandwidth | plivo
  std::string provider_ref;  // the provider's id of the number
  std::string state;         // available | reserved | active | suspended | releasing | aging
  std::string user_id;       // owner (reserved, active, suspended, releasing)
  std::string label;
  std::vector<std::string> features;
  std::string country, region, locality;
  std::int64_t monthly_micros = 0;
  std::int64_t upfront_micros = 0;
  std::string trunk;            // the SIP trunk its calls use
  std::string messaging_route;  // the SMPP bind or carrier API its messages use
  std::int64_t reserved_until = 0;
  std::int64_t aging_until = 0;
  std::int64_t activated_at = 0;
  std::int64_t paid_until = 0;   // the rental is paid up to here
  std::int64_t grace_until = 0;  // a failed renewal: suspended after this
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

std::string features_text(const std::vector<std::string>& f);
std::vector<std::string> parse_features(std::string_view text);

struct InventoryFilter {
  std::string tenant_id;  // empty: every tenant (platform staff)
  std::string state;
  std::string provider;
  std::string q;  // digits the number contains
  std::string after_id;
  int limit = 50;
};

struct ImportOutcome {
  int imported = 0;
  std::vector<csv::LineProblem> problems;  // non-empty: nothing was imported
};

// Columns of a number import (header names, order free):
//   number (required; E.164 or national in the tenant's country), trunk
//   (required), messaging_route (required), features ("sms;mms;voice" or
//   "sms,mms,voice"; default all three), monthly_price, upfront_price
//   (decimals; default 0), region, city
struct ImportDefaults {
  std::string tenant_id;
  std::string default_country;
};

class Inventory {
 public:
  Inventory(storage::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

  // Validates every row, then inserts all of them in one transaction, or none.
  Result<ImportOutcome> import_csv(const ImportDefaults& d, std::string_view csv);

  // The caller's numbers (active, suspended, releasing).
  Result<std::vector<Number>> list_owned(const UserScope& u, const std::string& after, int limit);
  Result<Number> get_owned(const UserScope& u, const std::string& id);
  Result<Number> set_label(const UserScope& u, const std::string& id, const std::string& label);
  // Staff views.
  Result<std::vector<Number>> list(const InventoryFilter& f);
  Result<Number> get(const TenantScope& s, const std::string& id);
  // Counts by state for a tenant (empty: all).
  Result<std::map<std::string, std::int64_t>> counts(const std::string& tenant_id);

  // Local numbers a user could take now, matching the query.
  Result<std::vector<AvailableNumber>> search_local(const std::string& tenant_id,
                                                    const SearchQuery& q);
  // E.164 numbers among `e164s` that the platform holds in any state (so a
  // carrier's search result for them must not be offered).
  Result<std::vector<std::string>> held(const std::vector<std::string>& e164s);

  // Within the caller's transaction: the row by number, if the platform has it.
  Result<std::optional<Number>> find_e164(storage::Connection& c, const std::string& e164);
  Result<Number> get_tx(storage::Connection& c, const std::string& id);

  storage::Database& db() { return db_; }

 private:
  storage::Database& db_;
  const Clock& clock_;
};

Number number_from_row(const storage::Row& r);
extern const char* const kNumberColumns;

// Per-tenant provider credentials and enablement, the settings sealed at
// rest with the data key. Provider objects are cached per tenant and built
// anew when the settings change.
struct ProviderSettingsView {
  std::string name;
  bool enabled = false;
  std::vector<std::string> keys;  // which settings are set (values are never shown)
  std::int64_t updated_at = 0;
};

class ProviderRegistry {
 public:
  ProviderRegistry(storage::Database& db, const Clock& clock, std::string data_key)
      : db_(db), clock_(clock), data_key_(std::move(data_key)) {}
  // Creates or replaces a tenant's settings for a carrier (telnyx,
  // bandwidth, plivo); settings not given keep their stored values.
  Result<ProviderSettingsView> configure(const std::string& tenant_id, const std::string& name,
                                         bool enabled,
                                         const std::map<std::string, std::string>& settings);
  Result<std::vector<ProviderSettingsView>> list(const std::string& tenant_id);
  Status remove(const std::string& tenant_id, const std::string& name);
  // The tenant's enabled carriers.
  Result<std::vector<std::shared_ptr<NumberProvider>>> enabled(const std::string& tenant_id);
  // A tenant's carrier by name (enabled or not: releasing needs it).
  // The decrypted settings of an enabled provider (messaging uses the same
  // credentials, and the webhook keys kept beside them); not_found if none.
  Result<std::map<std::string, std::string>> settings(const std::string& tenant_id,
                                                      const std::string& name);
  // Tenants that have this provider enabled.
  Result<std::vector<std::string>> tenants_with(const std::string& name);
  Result<std::shared_ptr<NumberProvider>> get(const std::string& tenant_id,
                                              const std::string& name);
  // Lets tests and the bench use a provider object directly.
  void set_factory(
      std::function<Result<std::unique_ptr<NumberProvider>>(const ProviderConfig&)> f) {
    factory_ = std::move(f);
  }

 private:
  struct Entry {
    std::int64_t updated_at = 0;
    std::shared_ptr<NumberProvider> provider;
  };
  Result<std::shared_ptr<NumberProvider>> build(const std::string& tenant_id,
                                                const storage::Row& row);
  storage::Database& db_;
  const Clock& clock_;
  std::string data_key_;
  std::function<Result<std::unique_ptr<NumberProvider>>(const ProviderConfig&)> factory_ =
      make_carrier_provider;
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Entry> cache_;
};

std::vector<storage::Migration> number_migrations();

}  // namespace rh::numbers
