// Plans and subscriptions. A tenant defines plans (a monthly price, how many
// numbers' rentals it includes, included call minutes and SMS segments per
// period); a user subscribes to one at a time. The first period is charged
// when subscribing; renewals are charged by the billing.plans job. A failed
// renewal starts a grace period (past_due), then the subscription is
// suspended (its inclusions stop: numbers pay their own rental again, calls
// and messages are rated), then cancelled — each step an event and an email.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "billing/ledger.hpp"
#include "core/clock.hpp"
#include "core/principal.hpp"
#include "core/result.hpp"
#include "jobs/job_queue.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"

namespace rh::billing {

struct Plan {
  std::string id;  // pln_...
  std::string tenant_id;
  std::string name;
  std::string description;
  std::int64_t monthly_micros = 0;
  std::int64_t included_numbers = 0;
  std::int64_t included_minutes = 0;
  std::int64_t included_sms = 0;
  std::string status;  // active | archived
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct PlanInput {
  std::optional<std::string> name, description, status;
  std::optional<std::int64_t> monthly_micros, included_numbers, included_minutes, included_sms;
};

struct Subscription {
  std::string id;  // sub_...
  std::string tenant_id;
  std::string user_id;
  std::string plan_id;
  std::string state;  // active | past_due | suspended | cancelled
  std::int64_t period_start = 0;
  std::int64_t period_end = 0;
  std::int64_t grace_until = 0;
  std::int64_t minutes_used = 0;
  std::int64_t sms_used = 0;
  bool cancel_at_period_end = false;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct PlanOptions {
  std::int64_t period_s = 30 * 86'400;
  std::int64_t grace_s = 7 * 86'400;
  std::int64_t suspended_s = 14 * 86'400;
};

// Who to tell (accounts owns users and mail): called inside the transaction
// of the change with the event type, subject line and text.
using Notifier =
    std::function<Status(storage::Connection&, const Subscription&, const std::string& event,
                         const std::string& subject, const std::string& text)>;

class PlanStore {
 public:
  PlanStore(storage::Database& db, Ledger& ledger, const Clock& clock, PlanOptions o,
            Notifier notify)
      : db_(db), ledger_(ledger), clock_(clock), o_(o), notify_(std::move(notify)) {}

  // Tenant staff.
  Result<Plan> create_plan(const std::string& tenant_id, const PlanInput& in);
  Result<Plan> update_plan(const TenantScope& s, const std::string& id, const PlanInput& in);
  Result<std::vector<Plan>> plans(const std::string& tenant_id, bool active_only);

  // Users. subscribe charges the first period (once per idempotency key).
  Result<Subscription> subscribe(const UserScope& u, const std::string& plan_id,
                                 const std::string& idempotency_key);
  Result<std::vector<Subscription>> subscriptions(const UserScope& u);
  // Ends the subscription at the end of the paid period.
  Result<Subscription> cancel(const UserScope& u, const std::string& id);

  // For rating and rentals, inside the caller's transaction: the user's
  // subscription that currently gives inclusions (active or past_due).
  Result<std::optional<Subscription>> current(storage::Connection& c, const UserScope& u);
  // Takes up to `quantity` of the period's included minutes or SMS
  // ("minutes" | "sms"); returns how many were covered.
  Result<std::int64_t> consume(storage::Connection& c, const UserScope& u, const std::string& what,
                               std::int64_t quantity);
  // Whether the plan covers the monthly rental of one more (or this) number:
  // `owned` is how many of the user's numbers are covered already.
  Result<bool> covers_rental(storage::Connection& c, const UserScope& u, std::int64_t owned);

  // The billing.plans job: renewals, grace, suspension, cancellation.
  Status sweep();
  void register_jobs(jobs::JobWorker& w);

 private:
  Status renew(const Subscription& s);
  Result<Subscription> load(storage::Connection& c, const std::string& id);

  storage::Database& db_;
  Ledger& ledger_;
  const Clock& clock_;
  PlanOptions o_;
  Notifier notify_;
};

std::vector<storage::Migration> plan_migrations();

}  // namespace rh::billing
