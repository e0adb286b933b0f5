#include "billing/plans.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/money.hpp"
#include "jobs/outbox.hpp"

namespace rh::billing {

using storage::Connection;
using storage::Value;

namespace {

constexpr const char* kPlanColumns =
    "id, tenant_id, name, description, monthly_micros, included_numbers, included_minutes, "
    "included_sms, status, created_at, updated_at";
constexpr const char* kSubColumns =
    "id, tenant_id, user_id, plan_id, state, period_start, period_end, grace_until, "
    "minutes_used, sms_used, cancel_at_period_end, created_at, updated_at";

Plan plan_from_row(const storage::Row& r) {
  Plan p;
  p.id = r.text("id");
  p.tenant_id = r.text("tenant_id");
  p.name = r.text("name");
  p.description = r.text("description");
  p.monthly_micros = r.integer("monthly_micros");
  p.included_numbers = r.integer("included_numbers");
  p.included_minutes = r.integer("included_minutes");
  p.included_sms = r.integer("included_sms");
  p.status = r.text("status");
  p.created_at = r.integer("created_at");
  p.updated_at = r.integer("updated_at");
  return p;
}

Subscription sub_from_row(const storage::Row& r) {
  Subscription s;
  s.id = r.text("id");
  s.tenant_id = r.text("tenant_id");
  s.user_id = r.text("user_id");
  s.plan_id = r.text("plan_id");
  s.state = r.text("state");
  s.period_start = r.integer("period_start");
  s.period_end = r.integer("period_end");
  s.grace_until = r.opt_integer("grace_until").value_or(0);
  s.minutes_used = r.integer("minutes_used");
  s.sms_used = r.integer("sms_used");
  s.cancel_at_period_end = r.boolean("cancel_at_period_end");
  s.created_at = r.integer("created_at");
  s.updated_at = r.integer("updated_at");
  return s;
}

Status validate(const PlanInput& in, bool create) {
  if (create && (!in.name || !in.monthly_micros))
    return Error(Errc::invalid_argument, create && !in.name ? "name" : "monthly_price",
                 "is required");
  if (in.name && (in.name->empty() || in.name->size() > 100))
    return Error(Errc::invalid_argument, "name", "must be 1 to 100 bytes");
  if (in.description && in.description->size() > 1000)
    return Error(Errc::invalid_argument, "description", "at most 1000 bytes");
  if (in.status && *in.status != "active" && *in.status != "archived")
    return Error(Errc::invalid_argument, "status", "must be active or archived");
  for (auto [v, f] : {std::pair{&in.monthly_micros, "monthly_price"},
                      std::pair{&in.included_numbers, "included_numbers"},
                      std::pair{&in.included_minutes, "included_minutes"},
                      std::pair{&in.included_sms, "included_sms"}})
    if (*v && (**v < 0 || **v > 1'000'000'000'000))
      return Error(Errc::invalid_argument, f, "must be zero or more");
  return {};
}

std::string sub_payload(const Subscription& s) {
  return boost::json::serialize(boost::json::object{{"subscription_id", s.id},
                                                    {"user_id", s.user_id},
                                                    {"plan_id", s.plan_id},
                                                    {"state", s.state}});
}

}  // namespace

Result<Plan> PlanStore::create_plan(const std::string& tenant_id, const PlanInput& in) {
  RH_TRY(validate(in, true));
  std::int64_t now = clock_.now_ms();
  Plan p;
  p.id = new_id("pln", now);
  p.tenant_id = tenant_id;
  p.name = *in.name;
  p.description = in.description.value_or("");
  p.monthly_micros = *in.monthly_micros;
  p.included_numbers = in.included_numbers.value_or(0);
  p.included_minutes = in.included_minutes.value_or(0);
  p.included_sms = in.included_sms.value_or(0);
  p.status = in.status.value_or("active");
  p.created_at = p.updated_at = now;
  RH_TRY(db_.transaction([&](Connection& c) -> Status {
    RH_TRY(c.exec(fmt::format("INSERT INTO plans ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              kPlanColumns),
                  {p.id, p.tenant_id, p.name, p.description, p.monthly_micros, p.included_numbers,
                   p.included_minutes, p.included_sms, p.status, now, now}));
    return {};
  }));
  return p;
}

Result<Plan> PlanStore::update_plan(const TenantScope& s, const std::string& id,
                                    const PlanInput& in) {
  RH_TRY(validate(in, false));
  return db_.in_transaction<Plan>([&](Connection& c) -> Result<Plan> {
    RH_ASSIGN(auto row,
              c.query_opt(fmt::format("SELECT {} FROM plans WHERE id = ?", kPlanColumns), {id}));
    if (!row) return Error(Errc::not_found, "no such plan");
    Plan p = plan_from_row(*row);
    if (!s.covers(p.tenant_id)) return Error(Errc::not_found, "no such plan");
    if (in.name) p.name = *in.name;
    if (in.description) p.description = *in.description;
    if (in.status) p.status = *in.status;
    if (in.monthly_micros) p.monthly_micros = *in.monthly_micros;
    if (in.included_numbers) p.included_numbers = *in.included_numbers;
    if (in.included_minutes) p.included_minutes = *in.included_minutes;
    if (in.included_sms) p.included_sms = *in.included_sms;
    p.updated_at = clock_.now_ms();
    RH_TRY(
        c.exec("UPDATE plans SET name = ?, description = ?, status = ?, monthly_micros = ?, "
               "included_numbers = ?, included_minutes = ?, included_sms = ?, updated_at = ? "
               "WHERE id = ?",
               {p.name, p.description, p.status, p.monthly_micros, p.included_numbers,
                p.included_minutes, p.included_sms, p.updated_at, p.id}));
    return p;
  });
}

Result<std::vector<Plan>> PlanStore::plans(const std::string& tenant_id, bool active_only) {
  using Out = std::vector<Plan>;
  return db_.read<Out>([&](Connection& c) -> Result<Out> {
    RH_ASSIGN(auto rows,
              c.query(fmt::format("SELECT {} FROM plans WHERE tenant_id = ? {} ORDER "
                                  "BY monthly_micros, id LIMIT 200",
                                  kPlanColumns, active_only ? "AND status = 'active'" : ""),
                      {tenant_id}));
    Out out;
    for (const auto& r : rows) out.push_back(plan_from_row(r));
    return out;
  });
}

Result<Subscription> PlanStore::load(Connection& c, const std::string& id) {
  RH_ASSIGN(
      auto row,
      c.query_opt(fmt::format("SELECT {} FROM subscriptions WHERE id = ?", kSubColumns), {id}));
  if (!row) return Error(Errc::not_found, "no such subscription");
  return sub_from_row(*row);
}

Result<std::optional<Subscription>> PlanStore::current(Connection& c, const UserScope& u) {
  RH_ASSIGN(auto row, c.query_opt(fmt::format("SELECT {} FROM subscriptions WHERE tenant_id = ? "
                                              "AND user_id = ? AND state IN ('active', "
                                              "'past_due') ORDER BY created_at DESC LIMIT 1",
                                              kSubColumns),
                                  {u.tenant_id, u.user_id}));
  if (!row) return std::optional<Subscription>();
  return std::optional<Subscription>(sub_from_row(*row));
}

Result<Subscription> PlanStore::subscribe(const UserScope& u, const std::string& plan_id,
                                          const std::string& key) {
  if (key.empty() || key.size() > 100)
    return make_reason(Errc::invalid_argument, "idempotency_key_required",
                       "an Idempotency-Key header of 1 to 100 characters is required");
  return db_.in_transaction<Subscription>([&](Connection& c) -> Result<Subscription> {
    std::int64_t now = clock_.now_ms();
    std::string idem = "plan:" + u.user_id + ":" + key;
    // A replay answers the subscription the key made.
    RH_ASSIGN(auto prior, c.query_opt("SELECT reference FROM ledger_txns WHERE tenant_id = ? AND "
                                      "idem_key = ?",
                                      {u.tenant_id, idem}));
    if (prior) return load(c, prior->text("reference"));
    RH_ASSIGN(auto row, c.query_opt(fmt::format("SELECT {} FROM plans WHERE id = ? AND "
                                                "tenant_id = ? AND status = 'active'",
                                                kPlanColumns),
                                    {plan_id, u.tenant_id}));
    if (!row) return Error(Errc::not_found, "plan_id", "no such plan");
    Plan p = plan_from_row(*row);
    Subscription s;
    s.id = new_id("sub", now);
    s.tenant_id = u.tenant_id;
    s.user_id = u.user_id;
    s.plan_id = p.id;
    s.state = "active";
    s.period_start = now;
    s.period_end = now + o_.period_s * 1000;
    s.created_at = s.updated_at = now;
    if (p.monthly_micros > 0) {
      // The debit locks the wallet row: this user's subscribes are serialised
      // from here, so the check below is exact.
      Posting post;
      post.kind = TxnKind::plan;
      post.tenant_id = u.tenant_id;
      post.user_id = u.user_id;
      post.amount_micros = p.monthly_micros;
      post.reference = s.id;
      post.memo = "Plan " + p.name;
      post.actor = u.user_id;
      post.idempotency_key = idem;
      RH_TRY(ledger_.debit(c, post));
    }
    RH_ASSIGN(auto cur, current(c, u));
    if (cur)
      return make_reason(Errc::conflict, "already_subscribed",
                         "you already have a plan; cancel it first");
    RH_TRY(c.exec(fmt::format("INSERT INTO subscriptions ({}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, "
                              "0, 0, 0, ?, ?)",
                              kSubColumns),
                  {s.id, s.tenant_id, s.user_id, s.plan_id, s.state, s.period_start, s.period_end,
                   now, now}));
    RH_TRY(jobs::append_event(
        c, {"subscription.created", s.tenant_id, s.id, sub_payload(s), s.user_id}, now));
    return s;
  });
}

Result<std::vector<Subscription>> PlanStore::subscriptions(const UserScope& u) {
  using Out = std::vector<Subscription>;
  return db_.read<Out>([&](Connection& c) -> Result<Out> {
    RH_ASSIGN(auto rows, c.query(fmt::format("SELECT {} FROM subscriptions WHERE tenant_id = ? AND "
                                             "user_id = ? ORDER BY created_at DESC LIMIT 50",
                                             kSubColumns),
                                 {u.tenant_id, u.user_id}));
    Out out;
    for (const auto& r : rows) out.push_back(sub_from_row(r));
    return out;
  });
}

Result<Subscription> PlanStore::cancel(const UserScope& u, const std::string& id) {
  return db_.in_transaction<Subscription>([&](Connection& c) -> Result<Subscription> {
    RH_ASSIGN(Subscription s, load(c, id));
    if (s.tenant_id != u.tenant_id || s.user_id != u.user_id)
      return Error(Errc::not_found, "no such subscription");
    if (s.state == "cancelled" || s.cancel_at_period_end) return s;
    std::int64_t now = clock_.now_ms();
    // An unpaid subscription ends now; a paid one at the end of its period.
    if (s.state == "active") {
      RH_TRY(
          c.exec("UPDATE subscriptions SET cancel_at_period_end = 1, updated_at = ? WHERE id = ?",
                 {now, id}));
      s.cancel_at_period_end = true;
    } else {
      RH_TRY(c.exec("UPDATE subscriptions SET state = 'cancelled', updated_at = ? WHERE id = ?",
                    {now, id}));
      s.state = "cancelled";
    }
    RH_TRY(jobs::append_event(
        c, {"subscription.cancelled", s.tenant_id, s.id, sub_payload(s), s.user_id}, now));
    return s;
  });
}

Result<std::int64_t> PlanStore::consume(Connection& c, const UserScope& u, const std::string& what,
                                        std::int64_t quantity) {
  if (what != "minutes" && what != "sms") return Error(Errc::internal, "unknown allowance " + what);
  if (quantity <= 0) return std::int64_t{0};
  RH_ASSIGN(auto cur, current(c, u));
  if (!cur) return std::int64_t{0};
  RH_ASSIGN(auto plan, c.query_one(fmt::format("SELECT {} FROM plans WHERE id = ?", kPlanColumns),
                                   {cur->plan_id}));
  Plan p = plan_from_row(plan);
  std::int64_t included = what == "minutes" ? p.included_minutes : p.included_sms;
  std::string col = what == "minutes" ? "minutes_used" : "sms_used";
  // Take what is left with one conditional statement per attempt (two
  // concurrent consumers cannot both take the last units).
  for (int attempt = 0; attempt < 5; ++attempt) {
    RH_ASSIGN(auto row,
              c.query_one(fmt::format("SELECT {} AS used FROM subscriptions WHERE id = ?", col),
                          {cur->id}));
    std::int64_t used = row.integer("used");
    std::int64_t take = std::min(quantity, std::max<std::int64_t>(0, included - used));
    if (take == 0) return std::int64_t{0};
    RH_ASSIGN(auto upd, c.exec(fmt::format("UPDATE subscriptions SET {0} = {0} + ? WHERE id = ? "
                                           "AND {0} = ?",
                                           col),
                               {take, cur->id, used}));
    if (upd.affected == 1) return take;
  }
  return Error(Errc::unavailable, "the allowance is contended; retry");
}

Result<bool> PlanStore::covers_rental(Connection& c, const UserScope& u, std::int64_t owned) {
  RH_ASSIGN(auto cur, current(c, u));
  if (!cur) return false;
  RH_ASSIGN(auto plan,
            c.query_one("SELECT included_numbers FROM plans WHERE id = ?", {cur->plan_id}));
  return owned < plan.integer("included_numbers");
}

Status PlanStore::renew(const Subscription& s) {
  std::int64_t now = clock_.now_ms();
  return db_.transaction([&](Connection& c) -> Status {
    RH_ASSIGN(Subscription cur, load(c, s.id));
    if (cur.updated_at != s.updated_at || cur.period_end > now) return {};
    if (cur.cancel_at_period_end) {
      RH_TRY(c.exec("UPDATE subscriptions SET state = 'cancelled', updated_at = ? WHERE id = ?",
                    {now, cur.id}));
      cur.state = "cancelled";
      return notify_(c, cur, "subscription.ended", "Your plan has ended",
                     "Your plan ended at the end of its paid period, as you asked.\n");
    }
    RH_ASSIGN(auto prow, c.query_one(fmt::format("SELECT {} FROM plans WHERE id = ?", kPlanColumns),
                                     {cur.plan_id}));
    Plan p = plan_from_row(prow);
    bool paid = p.monthly_micros == 0;
    if (!paid) {
      Posting post;
      post.kind = TxnKind::plan;
      post.tenant_id = cur.tenant_id;
      post.user_id = cur.user_id;
      post.amount_micros = p.monthly_micros;
      post.reference = cur.id;
      post.memo = "Plan " + p.name + " renewal";
      post.actor = "system";
      post.idempotency_key = "plan-renewal:" + cur.id + ":" + std::to_string(cur.period_end);
      auto t = ledger_.debit(c, post);
      paid = t.ok() || t.error().reason == "duplicate_posting";
      if (!t && !paid && t.error().reason != "insufficient_funds") return t.take_error();
    }
    if (paid) {
      bool was_lapsing = cur.state != "active";
      RH_TRY(
          c.exec("UPDATE subscriptions SET state = 'active', period_start = period_end, "
                 "period_end = period_end + ?, grace_until = NULL, minutes_used = 0, sms_used "
                 "= 0, updated_at = ? WHERE id = ?",
                 {o_.period_s * 1000, now, cur.id}));
      cur.state = "active";
      if (was_lapsing)
        return notify_(c, cur, "subscription.reactivated", "Your plan is active again",
                       "Your plan " + p.name + " is paid and active again.\n");
      RH_TRY(jobs::append_event(
          c, {"subscription.renewed", cur.tenant_id, cur.id, sub_payload(cur), cur.user_id}, now));
      return {};
    }
    if (cur.state != "active") return {};  // already past due or suspended: told
    RH_TRY(
        c.exec("UPDATE subscriptions SET state = 'past_due', grace_until = ?, updated_at = ? "
               "WHERE id = ?",
               {now + o_.grace_s * 1000, now, cur.id}));
    cur.state = "past_due";
    return notify_(c, cur, "subscription.renewal_failed", "Payment for your plan failed",
                   "We could not renew your plan " + p.name + ": your balance does not cover " +
                       money::format_micros(p.monthly_micros) +
                       ". Top up within the grace period to keep its inclusions.\n");
  });
}

Status PlanStore::sweep() {
  std::int64_t now = clock_.now_ms();
  RH_ASSIGN(auto due, db_.read<storage::Rows>([&](Connection& c) {
    return c.query(fmt::format("SELECT {} FROM subscriptions WHERE state IN ('active', "
                               "'past_due', 'suspended') AND period_end <= ? LIMIT 500",
                               kSubColumns),
                   {now});
  }));
  for (const auto& r : due)
    if (auto st = renew(sub_from_row(r)); !st)
      log::get("billing")->warn("renewal of {} failed: {}", r.text("id"), st.error().message);
  RH_ASSIGN(auto lapsed, db_.read<storage::Rows>([&](Connection& c) {
    return c.query(fmt::format("SELECT {} FROM subscriptions WHERE state IN ('past_due', "
                               "'suspended') AND grace_until <= ? LIMIT 500",
                               kSubColumns),
                   {now});
  }));
  for (const auto& r : lapsed) {
    Subscription s = sub_from_row(r);
    Status st = db_.transaction([&](Connection& c) -> Status {
      if (s.state == "past_due") {
        RH_ASSIGN(auto upd, c.exec("UPDATE subscriptions SET state = 'suspended', updated_at = ? "
                                   "WHERE id = ? AND updated_at = ?",
                                   {now, s.id, s.updated_at}));
        if (upd.affected == 0) return {};
        s.state = "suspended";
        return notify_(c, s, "subscription.suspended", "Your plan is suspended",
                       "Your plan is unpaid and suspended: its included numbers, minutes and "
                       "messages are charged at normal rates until you top up.\n");
      }
      if (s.grace_until + o_.suspended_s * 1000 > now) return {};
      RH_ASSIGN(auto upd, c.exec("UPDATE subscriptions SET state = 'cancelled', updated_at = ? "
                                 "WHERE id = ? AND updated_at = ?",
                                 {now, s.id, s.updated_at}));
      if (upd.affected == 0) return {};
      s.state = "cancelled";
      return notify_(c, s, "subscription.cancelled", "Your plan was cancelled",
                     "Your plan stayed unpaid and was cancelled.\n");
    });
    if (!st) log::get("billing")->warn("lapse of {} failed: {}", s.id, st.error().message);
  }
  return {};
}

void PlanStore::register_jobs(jobs::JobWorker& w) {
  w.register_handler("billing.plans", [this](jobs::JobContext&) -> Status { return sweep(); });
}

std::vector<storage::Migration> plan_migrations() {
  return {{2026112604, "plans and subscriptions", R"SQL(
CREATE TABLE plans (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  name VARCHAR(100) NOT NULL,
  description VARCHAR(1000) NOT NULL,
  monthly_micros BIGINT NOT NULL,
  included_numbers BIGINT NOT NULL,
  included_minutes BIGINT NOT NULL,
  included_sms BIGINT NOT NULL,
  status VARCHAR(16) NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
){{table}};
CREATE INDEX plans_tenant ON plans (tenant_id, status);
CREATE TABLE subscriptions (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  user_id VARCHAR(40) NOT NULL,
  plan_id VARCHAR(40) NOT NULL,
  state VARCHAR(16) NOT NULL,
  period_start BIGINT NOT NULL,
  period_end BIGINT NOT NULL,
  grace_until BIGINT,
  minutes_used BIGINT NOT NULL,
  sms_used BIGINT NOT NULL,
  cancel_at_period_end INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
){{table}};
CREATE INDEX subscriptions_user ON subscriptions (tenant_id, user_id, state);
CREATE INDEX subscriptions_due ON subscriptions (state, period_end)
)SQL"}};
}

}  // namespace rh::billing
