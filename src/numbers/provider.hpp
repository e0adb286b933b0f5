// Number providers behind one interface: the operator's own pool (`local`,
// rows in the numbers table) and carriers' number APIs (Telnyx, Bandwidth,
// Plivo) as ../shared/contracts/carriers.md describes them. Calls block (HTTP
// with time-outs and retries): run them on the blocking pool.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace rh::numbers {

struct SearchQuery {
  std::string country = "US";         // ISO 3166-1 alpha-2
  std::string area_code;              // "415" (national destination code)
  std::string contains;               // digits the number must contain
  std::string locality;               // city
  std::string region;                 // state / administrative area ("CA")
  std::vector<std::string> features;  // any of "sms", "mms", "voice": all required
  int limit = 20;
};

struct AvailableNumber {
  std::string e164;                   // "+14155550100"
  std::string provider;               // "local", "telnyx", "bandwidth", "plivo"
  std::vector<std::string> features;  // "sms", "mms", "voice"
  std::string country;                // "US"
  std::string region;                 // "CA" when known
  std::string locality;               // "SAN FRANCISCO" when known
  std::int64_t monthly_micros = 0;    // price per month in micro-units
  std::int64_t upfront_micros = 0;    // one-off price in micro-units
  std::string currency;               // ISO 4217 of the provider's price ("USD")
};

// A provider order. Orders complete asynchronously: poll order_status until
// the status is complete or failed.
struct ProviderOrder {
  std::string id;               // the provider's order id
  std::string status;           // "pending" | "complete" | "failed"
  std::string phone_number_id;  // the provider's id of the number (Telnyx releases by it)
  std::string detail;           // why it failed, when it did
};

// What a tenant configured for a provider. Keys in `settings` by provider:
//   telnyx:    api_key, connection_id, messaging_profile_id
//   bandwidth: account_id, username, password, site_id,
//              monthly_price, upfront_price (decimal strings: Bandwidth's
//              search returns no prices)
//   plivo:     auth_id, auth_token, app_id
// and for all: base_url (the API's base; tests point it at a fake),
// timeout_ms (per attempt, default 10000), max_attempts (default 4).
struct ProviderConfig {
  std::string name;
  std::map<std::string, std::string> settings;
};

class NumberProvider {
 public:
  virtual ~NumberProvider() = default;
  virtual const std::string& name() const = 0;
  virtual Result<std::vector<AvailableNumber>> search(const SearchQuery& q) = 0;
  // Orders one number; customer_ref is ours (an order id) for the provider's
  // records and de-duplication.
  virtual Result<ProviderOrder> order(const std::string& e164, const std::string& customer_ref) = 0;
  virtual Result<ProviderOrder> order_status(const std::string& order_id) = 0;
  // Gives the number back to the provider.
  virtual Status release(const std::string& e164, const std::string& phone_number_id) = 0;
};

// The carrier provider named by config.name (telnyx, bandwidth, plivo), or
// invalid_argument for an unknown name or missing settings.
Result<std::unique_ptr<NumberProvider>> make_carrier_provider(const ProviderConfig& config);

// The settings keys a provider requires (for validating admin input).
std::vector<std::string> required_settings(const std::string& provider);

}  // namespace rh::numbers
