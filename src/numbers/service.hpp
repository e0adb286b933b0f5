// Buying, releasing and renewing numbers. A purchase is all or nothing: the
// price is held on the wallet and the number reserved in one transaction,
// the provider order placed and awaited, then in one more transaction the
// hold is charged and the number activated — or, on any failure, the hold
// released and the number put back. A `numbers.order` job started with the
// order finishes it if this process dies or the provider is slow, so no
// order stays half done. Purchases carry an Idempotency-Key: the same key
// gives the same order and the same answer.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "billing/ledger.hpp"
#include "billing/plans.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/principal.hpp"
#include "core/result.hpp"
#include "jobs/job_queue.hpp"
#include "numbers/inventory.hpp"

namespace rh::accounts {
class TenantStore;
class UserStore;
}  // namespace rh::accounts

namespace rh::numbers {

struct NumbersOptions {
  std::int64_t reservation_s = 600;       // how long a reservation holds a number
  std::int64_t aging_s = 30 * 86'400;     // quarantine after release
  std::int64_t order_wait_ms = 20'000;    // a purchase answers 202 after this
  std::int64_t order_poll_ms = 1000;      // provider order polling interval
  std::int64_t order_give_up_s = 86'400;  // a pending order fails after this
  std::int64_t renewal_period_s = 30 * 86'400;
  std::int64_t grace_s = 7 * 86'400;       // unpaid renewal: suspended after this
  std::int64_t suspended_s = 14 * 86'400;  // suspended: released after this
};

void declare_numbers_config(config::Schema& s);
NumbersOptions numbers_options(const config::Config& c);

struct PurchaseRequest {
  std::string phone_number;  // E.164 or national
  std::string provider;      // empty: local, or whichever search offered it
  std::string label;
  std::string idempotency_key;
};

struct Order {
  std::string id;     // nor_...
  std::string state;  // pending | complete | failed
  std::string e164;
  std::string provider;
  std::string number_id;
  std::int64_t amount_micros = 0;
  Error error;  // failed orders
  std::int64_t created_at = 0;
};

struct SearchResult {
  std::vector<AvailableNumber> numbers;
  std::vector<std::string> unavailable;  // providers that failed to answer
};

class NumberService {
 public:
  NumberService(Inventory& inv, ProviderRegistry& providers, billing::Ledger& ledger,
                jobs::JobQueue& queue, accounts::TenantStore& tenants, accounts::UserStore& users,
                const Clock& clock, NumbersOptions o);

  // Local pool and every enabled provider, merged (local first); numbers the
  // platform holds are never offered.
  Result<SearchResult> search(const std::string& tenant_id, const SearchQuery& q);

  // Holds a number for the caller for NumbersOptions::reservation_s.
  Result<Number> reserve(const UserScope& u, const std::string& phone_number,
                         const std::string& provider);

  // Places or replays an order; waits up to order_wait_ms for it to finish.
  Result<Order> purchase(const UserScope& u, const PurchaseRequest& r);
  Result<Order> get_order(const UserScope& u, const std::string& id);

  // The owner gives the number up: releasing now, aging once the provider
  // has it back (the numbers.release job).
  Result<Number> release(const UserScope& u, const std::string& id);
  // Staff: the same for any number in their reach, in any owned state.
  Result<Number> force_release(const TenantScope& s, const std::string& id,
                               const std::string& actor);

  // Jobs.
  void register_jobs(jobs::JobWorker& w);
  // Recurring upkeep: expired reservations and quarantines, renewals,
  // grace and suspension, stale orders, expired ledger holds.
  Status sweep();
  // One order: poll the provider and finish it (complete or failed).
  Status finish_order(const std::string& order_id, bool final_attempt);
  // Gives a releasing number back to its provider, then ages it.
  Status finish_release(const std::string& number_id);

  const NumbersOptions& options() const { return o_; }
  // Plans that include numbers' rentals (optional).
  void set_plans(billing::PlanStore* plans) { plans_ = plans; }

 private:
  Result<Order> load_order(storage::Connection& c, const std::string& id);
  Result<Order> wait_order(const std::string& id, std::int64_t deadline_ms);
  Result<Order> complete_order(const std::string& id, const std::string& provider_number_id);
  Result<Order> fail_order(const std::string& id, const Error& why);
  Result<Number> begin_release(storage::Connection& c, const Number& n, const std::string& actor);
  Status renew(const Number& n);
  Status notify(storage::Connection& c, const Number& n, const std::string& event,
                const std::string& subject, const std::string& text);
  // Whether the user's plan pays this number's rental: the plan covers the
  // first included_numbers of the user's numbers, oldest first.
  Result<bool> rental_covered(storage::Connection& c, const UserScope& u,
                              const std::string& number_id);
  Result<std::optional<AvailableNumber>> quote(const std::string& tenant_id,
                                               const std::string& e164,
                                               const std::string& provider);

  Inventory& inv_;
  ProviderRegistry& providers_;
  billing::Ledger& ledger_;
  jobs::JobQueue& queue_;
  accounts::TenantStore& tenants_;
  accounts::UserStore& users_;
  const Clock& clock_;
  NumbersOptions o_;
  billing::PlanStore* plans_ = nullptr;
  std::mutex quotes_mu_;
  // Prices a carrier quoted in a search, by tenant and number, for buying
  // what was just offered without searching again.
  std::map<std::pair<std::string, std::string>, std::pair<AvailableNumber, std::int64_t>> quotes_;
};

}  // namespace rh::numbers
