#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <future>
#include <set>
#include <thread>

#include "accounts/mail.hpp"
#include "accounts/tenants.hpp"
#include "accounts/users.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/money.hpp"
#include "core/phone_number.hpp"
#include "jobs/outbox.hpp"
#include "numbers/service.hpp"

namespace rh::numbers {

using storage::Connection;
using storage::Value;

namespace {

constexpr std::int64_t kQuoteTtlMs = 30 * 60 * 1000;

Error unavailable_number(const std::string& e164) {
  return make_reason(Errc::conflict, "number_unavailable", e164 + " is not available");
}

std::string payload_of(const Number& n, const boost::json::object& extra = {}) {
  boost::json::object o{{"number_id", n.id}, {"phone_number", n.e164}, {"user_id", n.user_id}};
  for (const auto& kv : extra) o[kv.key()] = kv.value();
  return boost::json::serialize(o);
}

Order order_from_row(const storage::Row& r) {
  Order o;
  o.id = r.text("id");
  o.state = r.text("state");
  o.e164 = r.text("e164");
  o.provider = r.text("provider");
  o.number_id = r.text("number_id");
  o.amount_micros = r.integer("amount_micros");
  o.created_at = r.integer("created_at");
  if (o.state == "failed") {
    Errc code = Errc::unavailable;
    std::string c = r.text("error_code");
    for (Errc e : {Errc::invalid_argument, Errc::not_found, Errc::conflict, Errc::precondition,
                   Errc::payment_required, Errc::forbidden, Errc::too_many, Errc::unavailable,
                   Errc::timeout})
      if (c == errc_name(e)) code = e;
    o.error = make_reason(code, r.text("error_reason"), r.text("error_message"));
  }
  return o;
}

template <class T>
Status status_of(Result<T> r) {
  if (!r) return r.take_error();
  return {};
}

constexpr const char* kOrderColumns =
    "id, tenant_id, user_id, idem_key, e164, provider, number_id, provider_order_id, state, "
    "hold_id, amount_micros, label, error_code, error_reason, error_message, created_at, "
    "updated_at";

}  // namespace

void declare_numbers_config(config::Schema& s) {
  s.integer("numbers.reservation_s", 600, "How long a reservation holds a number for one user.", 1,
            86'400);
  s.integer("numbers.aging_s", 30 * 86'400,
            "Quarantine of a released number before anyone else can have it (seconds).", 0,
            365 * 86'400);
  s.integer("numbers.order_wait_ms", 20'000,
            "How long a purchase waits for the provider before answering 202 (the order goes on "
            "in the background).",
            0, 300'000);
  s.integer("numbers.order_poll_ms", 1000, "Interval between polls of a pending provider order.",
            10, 60'000);
  s.integer("numbers.order_give_up_s", 86'400,
            "A provider order still pending after this fails and is refunded.", 60, 30 * 86'400);
  s.integer("numbers.provider_threads", 16,
            "Threads that wait on carrier number APIs (search, order, release).", 1, 256);
  s.integer("numbers.sweep_interval_s", 60,
            "Interval of the upkeep job: reservations, quarantines, renewals, holds.", 1, 3600);
}

NumbersOptions numbers_options(const config::Config& c) {
  NumbersOptions o;
  o.reservation_s = c.integer("numbers.reservation_s");
  o.aging_s = c.integer("numbers.aging_s");
  o.order_wait_ms = c.integer("numbers.order_wait_ms");
  o.order_poll_ms = c.integer("numbers.order_poll_ms");
  o.order_give_up_s = c.integer("numbers.order_give_up_s");
  o.renewal_period_s = c.integer("billing.renewal_period_s");
  o.grace_s = c.integer("billing.grace_s");
  o.suspended_s = c.integer("billing.suspended_s");
  return o;
}

NumberService::NumberService(Inventory& inv, ProviderRegistry& providers, billing::Ledger& ledger,
                             jobs::JobQueue& queue, accounts::TenantStore& tenants,
                             accounts::UserStore& users, const Clock& clock, NumbersOptions o)
    : inv_(inv),
      providers_(providers),
      ledger_(ledger),
      queue_(queue),
      tenants_(tenants),
      users_(users),
      clock_(clock),
      o_(o) {}

// ---- search and reservation ------------------------------------------------------

Result<SearchResult> NumberService::search(const std::string& tenant_id, const SearchQuery& q) {
  SearchResult out;
  RH_ASSIGN(out.numbers, inv_.search_local(tenant_id, q));
  RH_ASSIGN(auto providers, providers_.enabled(tenant_id));
  std::vector<AvailableNumber> offered;
  // The carriers are asked at once: the answer waits for the slowest one,
  // not for their sum.
  std::vector<std::future<Result<std::vector<AvailableNumber>>>> answers;
  for (const auto& p : providers)
    answers.push_back(std::async(std::launch::async, [p, &q] { return p->search(q); }));
  for (std::size_t i = 0; i < providers.size(); ++i) {
    auto r = answers[i].get();
    if (!r) {
      log::get("numbers")->warn("tenant {}: {} search failed: {}", tenant_id, providers[i]->name(),
                                r.error().message);
      out.unavailable.push_back(providers[i]->name());
      continue;
    }
    for (auto& a : *r) offered.push_back(std::move(a));
  }
  std::vector<std::string> e164s;
  for (const auto& a : offered) e164s.push_back(a.e164);
  RH_ASSIGN(auto held, inv_.held(e164s));
  std::set<std::string> seen(held.begin(), held.end());
  for (const auto& a : out.numbers) seen.insert(a.e164);
  std::int64_t now = clock_.now_ms();
  std::lock_guard lk(quotes_mu_);
  for (auto it = quotes_.begin(); it != quotes_.end();)
    it = it->second.second < now ? quotes_.erase(it) : std::next(it);
  for (auto& a : offered) {
    if (!seen.insert(a.e164).second) continue;
    quotes_[{tenant_id, a.e164}] = {a, now + kQuoteTtlMs};
    out.numbers.push_back(std::move(a));
  }
  if (out.numbers.size() > static_cast<std::size_t>(std::max(q.limit, 1)))
    out.numbers.resize(static_cast<std::size_t>(std::max(q.limit, 1)));
  return out;
}

Result<std::optional<AvailableNumber>> NumberService::quote(const std::string& tenant_id,
                                                            const std::string& e164,
                                                            const std::string& provider) {
  {
    std::lock_guard lk(quotes_mu_);
    auto it = quotes_.find({tenant_id, e164});
    if (it != quotes_.end() && it->second.second >= clock_.now_ms() &&
        (provider.empty() || it->second.first.provider == provider))
      return std::optional<AvailableNumber>(it->second.first);
  }
  // Not offered lately: ask the provider(s) for exactly this number.
  SearchQuery q;
  q.country = phone::region_of(e164);
  if (e164.rfind("+1", 0) == 0 && e164.size() == 12) {
    // NANP: search the area code (every carrier takes it) for the rest.
    q.area_code = e164.substr(2, 3);
    q.contains = e164.substr(5);
  } else {
    q.contains = e164.substr(e164.size() > 7 ? e164.size() - 7 : 1);
  }
  q.limit = 100;
  RH_ASSIGN(auto providers, providers_.enabled(tenant_id));
  for (const auto& p : providers) {
    if (!provider.empty() && p->name() != provider) continue;
    auto r = p->search(q);
    if (!r) {
      if (!provider.empty()) return r.take_error();
      continue;
    }
    for (auto& a : *r)
      if (a.e164 == e164) return std::optional<AvailableNumber>(std::move(a));
  }
  return std::optional<AvailableNumber>();
}

namespace {

// Claims a number for a user inside a transaction: a local number of the
// tenant's pool that is free (or already reserved by this user), or a
// carrier's number that the platform does not hold, inserted as reserved.
Result<Number> claim(Connection& c, Inventory& inv, const UserScope& u, const std::string& e164,
                     const std::optional<AvailableNumber>& offer, std::int64_t until,
                     std::int64_t now) {
  RH_ASSIGN(auto row, inv.find_e164(c, e164));
  if (row) {
    Number n = *row;
    bool free = n.state == "available" || (n.state == "reserved" && n.reserved_until < now) ||
                (n.state == "reserved" && n.user_id == u.user_id);
    if (n.tenant_id != u.tenant_id || n.provider != "local" || !free)
      return unavailable_number(e164);
    RH_ASSIGN(auto upd, c.exec("UPDATE numbers SET state = 'reserved', user_id = ?, "
                               "reserved_until = ?, updated_at = ? WHERE id = ? AND state = ? AND "
                               "updated_at = ?",
                               {u.user_id, until, now, n.id, n.state, n.updated_at}));
    if (upd.affected == 0) return unavailable_number(e164);
    return inv.get_tx(c, n.id);
  }
  if (!offer) return unavailable_number(e164);
  const AvailableNumber& a = *offer;
  std::string id = new_id("num", now);
  auto ins = c.exec(
      fmt::format("INSERT INTO numbers ({}) VALUES (?, ?, ?, ?, '', 'reserved', ?, '', ?, ?, ?, ?, "
                  "?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, ?, ?)",
                  kNumberColumns),
      {id, u.tenant_id, e164, a.provider, u.user_id, features_text(a.features),
       a.country.empty() ? phone::region_of(e164) : a.country, a.region.substr(0, 64),
       a.locality.substr(0, 100), a.monthly_micros, a.upfront_micros, a.provider, a.provider, until,
       now, now});
  if (!ins) {
    if (ins.error().code == Errc::conflict) return unavailable_number(e164);
    return ins.take_error();
  }
  return inv.get_tx(c, id);
}

}  // namespace

Result<Number> NumberService::reserve(const UserScope& u, const std::string& phone_number,
                                      const std::string& provider) {
  RH_ASSIGN(auto tenant, tenants_.get(u.tenant_id));
  auto e164 = phone::to_e164(phone_number, tenant.default_country);
  if (!e164) return Error(Errc::invalid_argument, "phone_number", e164.error().message);
  std::optional<AvailableNumber> offer;
  RH_ASSIGN(auto local, inv_.db().read<std::optional<Number>>(
                            [&](Connection& c) { return inv_.find_e164(c, *e164); }));
  if (!local && provider != "local") {
    RH_ASSIGN(offer, quote(u.tenant_id, *e164, provider));
  }
  std::int64_t now = clock_.now_ms();
  return inv_.db().in_transaction<Number>([&](Connection& c) -> Result<Number> {
    return claim(c, inv_, u, *e164, offer, now + o_.reservation_s * 1000, now);
  });
}

// ---- purchase -----------------------------------------------------------------------

Result<Order> NumberService::load_order(Connection& c, const std::string& id) {
  RH_ASSIGN(
      auto row,
      c.query_opt(fmt::format("SELECT {} FROM number_orders WHERE id = ?", kOrderColumns), {id}));
  if (!row) return Error(Errc::not_found, "no such order");
  return order_from_row(*row);
}

Result<Order> NumberService::get_order(const UserScope& u, const std::string& id) {
  return inv_.db().read<Order>([&](Connection& c) -> Result<Order> {
    RH_ASSIGN(auto row, c.query_opt(fmt::format("SELECT {} FROM number_orders WHERE id = ? AND "
                                                "tenant_id = ? AND user_id = ?",
                                                kOrderColumns),
                                    {id, u.tenant_id, u.user_id}));
    if (!row) return Error(Errc::not_found, "no such order");
    return order_from_row(*row);
  });
}

Result<Order> NumberService::wait_order(const std::string& id, std::int64_t deadline_ms) {
  for (;;) {
    RH_ASSIGN(Order o, inv_.db().read<Order>([&](Connection& c) { return load_order(c, id); }));
    if (o.state != "pending" || clock_.now_ms() >= deadline_ms) return o;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Result<Order> NumberService::purchase(const UserScope& u, const PurchaseRequest& r) {
  const std::string& key = r.idempotency_key;
  if (key.empty() || key.size() > 128 ||
      !std::all_of(key.begin(), key.end(), [](char ch) { return ch > 0x20 && ch < 0x7f; }))
    return make_reason(Errc::invalid_argument, "idempotency_key_required",
                       "an Idempotency-Key header of 1 to 128 printable characters is required");
  if (r.label.size() > 100) return Error(Errc::invalid_argument, "label", "at most 100 bytes");
  RH_ASSIGN(auto tenant, tenants_.get(u.tenant_id));
  auto parsed = phone::to_e164(r.phone_number, tenant.default_country);
  if (!parsed) return Error(Errc::invalid_argument, "phone_number", parsed.error().message);
  const std::string e164 = *parsed;
  std::int64_t started = clock_.now_ms();
  std::int64_t deadline = started + o_.order_wait_ms;

  auto replay = [&]() -> Result<Order> {
    RH_ASSIGN(auto row, inv_.db().read<std::optional<storage::Row>>([&](Connection& c) {
      return c.query_opt(fmt::format("SELECT {} FROM number_orders WHERE tenant_id = ? AND "
                                     "user_id = ? AND idem_key = ?",
                                     kOrderColumns),
                         {u.tenant_id, u.user_id, key});
    }));
    if (!row) return Error(Errc::not_found, "no order");
    Order o = order_from_row(*row);
    if (o.e164 != e164)
      return make_reason(Errc::invalid_argument, "idempotency_key_reused",
                         "this Idempotency-Key was used for another number");
    return wait_order(o.id, deadline);
  };
  if (auto prior = replay(); prior || prior.error().code != Errc::not_found) return prior;

  // Price and provider: the local pool first, else what a carrier quotes.
  RH_ASSIGN(auto local, inv_.db().read<std::optional<Number>>(
                            [&](Connection& c) { return inv_.find_e164(c, e164); }));
  std::optional<AvailableNumber> offer;
  if (!local) {
    if (r.provider == "local") return unavailable_number(e164);
    auto q = quote(u.tenant_id, e164, r.provider);
    if (!q) return q.take_error();
    offer = std::move(*q);
    if (!offer) return unavailable_number(e164);
  }

  std::int64_t now = clock_.now_ms();
  std::string order_id = new_id("nor", now);
  bool duplicate = false;
  auto placed = inv_.db().in_transaction<Order>([&](Connection& c) -> Result<Order> {
    auto ins = c.exec(fmt::format("INSERT INTO number_orders ({}) VALUES (?, ?, ?, ?, ?, '', '', "
                                  "'', 'pending', '', 0, ?, '', '', '', ?, ?)",
                                  kOrderColumns),
                      {order_id, u.tenant_id, u.user_id, key, e164, r.label, now, now});
    if (!ins) {
      duplicate = ins.error().code == Errc::conflict;
      return ins.take_error();
    }
    RH_ASSIGN(Number n, claim(c, inv_, u, e164, offer, now + o_.reservation_s * 1000, now));
    RH_ASSIGN(bool covered, rental_covered(c, u, n.id));
    std::int64_t amount = n.upfront_micros + (covered ? 0 : n.monthly_micros);
    // The hold locks the wallet row until commit, so this user's purchases
    // are serialised from here and the count below is exact.
    RH_ASSIGN(auto hold, ledger_.place_hold(c, u.tenant_id, u.user_id, amount, "purchase", order_id,
                                            now + (o_.order_give_up_s + 3600) * 1000));
    RH_ASSIGN(auto count, c.query_one("SELECT COUNT(*) AS n FROM numbers WHERE tenant_id = ? AND "
                                      "user_id = ? AND state IN ('active', 'suspended', "
                                      "'releasing') OR id IN (SELECT number_id FROM "
                                      "number_orders WHERE tenant_id = ? AND user_id = ? AND "
                                      "state = 'pending' AND id <> ?)",
                                      {u.tenant_id, u.user_id, u.tenant_id, u.user_id, order_id}));
    if (count.integer("n") >= tenant.limits.max_numbers_per_user)
      return make_reason(
          Errc::precondition, "number_limit",
          fmt::format("you can have at most {} numbers", tenant.limits.max_numbers_per_user));
    RH_TRY(
        c.exec("UPDATE number_orders SET provider = ?, number_id = ?, hold_id = ?, "
               "amount_micros = ? WHERE id = ?",
               {n.provider, n.id, hold.id, amount, order_id}));
    jobs::JobSpec job;
    job.kind = "numbers.order";
    job.payload = boost::json::serialize(boost::json::object{{"order_id", order_id}});
    job.run_at_ms = now + o_.order_wait_ms + 1000;
    job.unique_key = "numbers.order:" + order_id;
    job.tenant_id = u.tenant_id;
    job.max_attempts = 1000;
    RH_TRY(queue_.enqueue(c, job));
    return load_order(c, order_id);
  });
  if (!placed) {
    if (duplicate) return replay();
    return placed.take_error();
  }
  Order o = *placed;
  if (o.provider == "local") return complete_order(o.id, "");

  auto provider = providers_.get(u.tenant_id, o.provider);
  if (!provider) return fail_order(o.id, provider.error());
  auto po = (*provider)->order(e164, o.id);
  if (!po) return fail_order(o.id, po.error());
  RH_TRY(inv_.db().transaction([&](Connection& c) -> Status {
    RH_TRY(c.exec("UPDATE number_orders SET provider_order_id = ?, updated_at = ? WHERE id = ?",
                  {po->id, clock_.now_ms(), o.id}));
    return {};
  }));
  for (;;) {
    if (po->status == "complete") return complete_order(o.id, po->phone_number_id);
    if (po->status == "failed")
      return fail_order(o.id, make_reason(Errc::unavailable, "provider_order_failed",
                                          "the provider could not complete the order" +
                                              (po->detail.empty() ? "" : ": " + po->detail)));
    if (clock_.now_ms() + o_.order_poll_ms >= deadline) return wait_order(o.id, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(o_.order_poll_ms));
    std::string pnid = po->phone_number_id;
    auto next = (*provider)->order_status(po->id);
    if (!next) continue;  // a failed poll: the next one, or the job, tries again
    po = std::move(next);
    if (po->phone_number_id.empty()) po->phone_number_id = pnid;
  }
}

Result<Order> NumberService::complete_order(const std::string& id,
                                            const std::string& provider_number_id) {
  return inv_.db().in_transaction<Order>([&](Connection& c) -> Result<Order> {
    std::int64_t now = clock_.now_ms();
    RH_ASSIGN(auto claimed, c.exec("UPDATE number_orders SET state = 'complete', updated_at = ? "
                                   "WHERE id = ? AND state = 'pending'",
                                   {now, id}));
    RH_ASSIGN(
        auto row,
        c.query_one(fmt::format("SELECT {} FROM number_orders WHERE id = ?", kOrderColumns), {id}));
    Order o = order_from_row(row);
    if (claimed.affected == 0) return o;
    RH_ASSIGN(Number n, inv_.get_tx(c, o.number_id));
    RH_TRY(ledger_.settle_hold(c, row.text("hold_id"), o.amount_micros, billing::TxnKind::purchase,
                               "Number " + n.e164));
    RH_TRY(
        c.exec("UPDATE numbers SET state = 'active', provider_ref = ?, label = ?, "
               "activated_at = ?, paid_until = ?, grace_until = NULL, reserved_until = NULL, "
               "updated_at = ? WHERE id = ?",
               {provider_number_id.empty() ? n.provider_ref : provider_number_id, row.text("label"),
                now, now + o_.renewal_period_s * 1000, now, n.id}));
    n.user_id = row.text("user_id");
    RH_TRY(jobs::append_event(
        c,
        {"number.purchased", n.tenant_id, n.id,
         payload_of(n, boost::json::object{{"order_id", o.id}, {"amount_micros", o.amount_micros}}),
         n.user_id},
        now));
    return o;
  });
}

Result<Order> NumberService::fail_order(const std::string& id, const Error& why) {
  auto done = inv_.db().in_transaction<Order>([&](Connection& c) -> Result<Order> {
    std::int64_t now = clock_.now_ms();
    RH_ASSIGN(auto claimed,
              c.exec("UPDATE number_orders SET state = 'failed', error_code = ?, error_reason = "
                     "?, error_message = ?, updated_at = ? WHERE id = ? AND state = 'pending'",
                     {errc_name(why.code), why.reason.substr(0, 64), why.message.substr(0, 500),
                      now, id}));
    RH_ASSIGN(
        auto row,
        c.query_one(fmt::format("SELECT {} FROM number_orders WHERE id = ?", kOrderColumns), {id}));
    Order o = order_from_row(row);
    if (claimed.affected == 0) return o;
    if (!row.text("hold_id").empty()) RH_TRY(ledger_.release_hold(c, row.text("hold_id")));
    if (!o.number_id.empty()) {
      // Back to the pool, or out of the inventory for a carrier's number.
      RH_TRY(
          c.exec("UPDATE numbers SET state = 'available', user_id = NULL, reserved_until = "
                 "NULL, updated_at = ? WHERE id = ? AND provider = 'local' AND state = "
                 "'reserved'",
                 {now, o.number_id}));
      RH_TRY(
          c.exec("DELETE FROM numbers WHERE id = ? AND provider <> 'local' AND state = "
                 "'reserved'",
                 {o.number_id}));
    }
    return o;
  });
  if (done) log::get("numbers")->info("order {} failed: {}", id, why.message);
  return done;
}

Status NumberService::finish_order(const std::string& order_id, bool final_attempt) {
  RH_ASSIGN(auto row, inv_.db().read<std::optional<storage::Row>>([&](Connection& c) {
    return c.query_opt(fmt::format("SELECT {} FROM number_orders WHERE id = ?", kOrderColumns),
                       {order_id});
  }));
  if (!row) return {};
  Order o = order_from_row(*row);
  if (o.state != "pending") return {};
  if (o.provider == "local" || o.provider.empty()) {
    if (o.number_id.empty())
      return status_of(fail_order(o.id, Error(Errc::internal, "incomplete order")));
    return status_of(complete_order(o.id, ""));
  }
  std::string tenant_id = row->text("tenant_id");
  std::string provider_order_id = row->text("provider_order_id");
  bool give_up = final_attempt || clock_.now_ms() - o.created_at > o_.order_give_up_s * 1000;
  auto provider = providers_.get(tenant_id, o.provider);
  if (!provider) {
    if (give_up) return status_of(fail_order(o.id, provider.error()));
    return provider.take_error();
  }
  if (provider_order_id.empty()) {
    // The process stopped between reserving and ordering: order now (the
    // provider de-duplicates by our order id).
    auto po = (*provider)->order(o.e164, o.id);
    if (!po) {
      if (give_up || po.error().code != Errc::unavailable)
        return status_of(fail_order(o.id, po.error()));
      return po.take_error();
    }
    RH_TRY(inv_.db().transaction([&](Connection& c) -> Status {
      RH_TRY(c.exec("UPDATE number_orders SET provider_order_id = ? WHERE id = ?", {po->id, o.id}));
      return {};
    }));
    provider_order_id = po->id;
    if (po->status == "complete") return status_of(complete_order(o.id, po->phone_number_id));
  }
  auto st = (*provider)->order_status(provider_order_id);
  if (st && st->status == "complete") return status_of(complete_order(o.id, st->phone_number_id));
  if (st && st->status == "failed")
    return status_of(
        fail_order(o.id, make_reason(Errc::unavailable, "provider_order_failed",
                                     "the provider could not complete the order" +
                                         (st->detail.empty() ? "" : ": " + st->detail))));
  if (give_up) {
    // Best effort: whatever the provider does later, we do not keep it.
    (void)(*provider)->release(o.e164, st ? st->phone_number_id : "");
    return status_of(
        fail_order(o.id, make_reason(Errc::timeout, "provider_order_timeout",
                                     "the provider did not complete the order in time")));
  }
  return Error(Errc::unavailable, "order " + o.id + " is still pending at " + o.provider);
}

Result<bool> NumberService::rental_covered(Connection& c, const UserScope& u,
                                           const std::string& number_id) {
  if (!plans_) return false;
  // How many of the user's numbers come before this one (older activations;
  // a number being bought has none yet and comes last).
  RH_ASSIGN(auto self, c.query_one("SELECT activated_at FROM numbers WHERE id = ?", {number_id}));
  std::int64_t at = self.opt_integer("activated_at").value_or(INT64_MAX);
  RH_ASSIGN(auto row, c.query_one("SELECT COUNT(*) AS n FROM numbers WHERE tenant_id = ? AND "
                                  "user_id = ? AND state IN ('active', 'suspended') AND id <> ? "
                                  "AND activated_at < ?",
                                  {u.tenant_id, u.user_id, number_id, at}));
  return plans_->covers_rental(c, u, row.integer("n"));
}

// ---- release -------------------------------------------------------------------------

Result<Number> NumberService::begin_release(Connection& c, const Number& n,
                                            const std::string& actor) {
  std::int64_t now = clock_.now_ms();
  RH_ASSIGN(auto upd, c.exec("UPDATE numbers SET state = 'releasing', updated_at = ? WHERE id = ? "
                             "AND state IN ('active', 'suspended') AND updated_at = ?",
                             {now, n.id, n.updated_at}));
  if (upd.affected == 0)
    return make_reason(Errc::conflict, "number_changed", "the number changed meanwhile; retry");
  jobs::JobSpec job;
  job.kind = "numbers.release";
  job.payload = boost::json::serialize(boost::json::object{{"number_id", n.id}});
  job.unique_key = "numbers.release:" + n.id + ":" + std::to_string(now);
  job.tenant_id = n.tenant_id;
  job.max_attempts = 50;
  RH_TRY(queue_.enqueue(c, job));
  RH_TRY(jobs::append_event(c,
                            {"number.released", n.tenant_id, n.id,
                             payload_of(n, boost::json::object{{"by", actor}}), n.user_id},
                            now));
  return inv_.get_tx(c, n.id);
}

Result<Number> NumberService::release(const UserScope& u, const std::string& id) {
  return inv_.db().in_transaction<Number>([&](Connection& c) -> Result<Number> {
    RH_ASSIGN(Number n, inv_.get_tx(c, id));
    if (n.tenant_id != u.tenant_id || n.user_id != u.user_id ||
        (n.state != "active" && n.state != "suspended" && n.state != "releasing"))
      return Error(Errc::not_found, "no such number");
    if (n.state == "releasing") return n;
    return begin_release(c, n, u.user_id);
  });
}

Result<Number> NumberService::force_release(const TenantScope& s, const std::string& id,
                                            const std::string& actor) {
  return inv_.db().in_transaction<Number>([&](Connection& c) -> Result<Number> {
    RH_ASSIGN(Number n, inv_.get_tx(c, id));
    if (!s.covers(n.tenant_id)) return Error(Errc::not_found, "no such number");
    if (n.state == "releasing") return n;
    if (n.state != "active" && n.state != "suspended")
      return make_reason(Errc::precondition, "not_assigned",
                         "only an assigned number can be released (it is " + n.state + ")");
    return begin_release(c, n, actor);
  });
}

Status NumberService::finish_release(const std::string& number_id) {
  RH_ASSIGN(auto n,
            inv_.db().read<Number>([&](Connection& c) { return inv_.get_tx(c, number_id); }));
  if (n.state != "releasing") return {};
  if (n.provider != "local") {
    RH_ASSIGN(auto p, providers_.get(n.tenant_id, n.provider));
    RH_TRY(p->release(n.e164, n.provider_ref));
  }
  return inv_.db().transaction([&](Connection& c) -> Status {
    std::int64_t now = clock_.now_ms();
    RH_TRY(
        c.exec("UPDATE numbers SET state = 'aging', aging_until = ?, user_id = NULL, label = "
               "'', paid_until = NULL, grace_until = NULL, updated_at = ? WHERE id = ? AND "
               "state = 'releasing'",
               {now + o_.aging_s * 1000, now, number_id}));
    return {};
  });
}

// ---- upkeep: renewals, grace, suspension ---------------------------------------------

Status NumberService::notify(Connection& c, const Number& n, const std::string& event,
                             const std::string& subject, const std::string& text) {
  std::int64_t now = clock_.now_ms();
  RH_TRY(jobs::append_event(c, {event, n.tenant_id, n.id, payload_of(n), n.user_id}, now));
  return accounts::queue_email_to_user(c, queue_, clock_, users_, {n.tenant_id, n.user_id}, subject,
                                       text, event);
}

Status NumberService::renew(const Number& n) {
  std::int64_t now = clock_.now_ms();
  return inv_.db().transaction([&](Connection& c) -> Status {
    RH_ASSIGN(Number cur, inv_.get_tx(c, n.id));
    if (cur.updated_at != n.updated_at || cur.paid_until > now) return {};
    std::int64_t next = cur.paid_until + o_.renewal_period_s * 1000;
    RH_ASSIGN(bool covered, rental_covered(c, UserScope{cur.tenant_id, cur.user_id}, cur.id));
    bool paid = cur.monthly_micros == 0 || covered;
    if (!paid) {
      billing::Posting p;
      p.kind = billing::TxnKind::rental;
      p.tenant_id = cur.tenant_id;
      p.user_id = cur.user_id;
      p.amount_micros = cur.monthly_micros;
      p.reference = cur.id;
      p.memo = "Number " + cur.e164 + " rental";
      p.actor = "system";
      p.idempotency_key = "rental:" + cur.id + ":" + std::to_string(cur.paid_until);
      auto t = ledger_.debit(c, p);
      paid = t.ok() || t.error().reason == "duplicate_posting";
      if (!t && !paid && t.error().reason != "insufficient_funds") return t.take_error();
    }
    if (paid) {
      RH_TRY(
          c.exec("UPDATE numbers SET paid_until = ?, grace_until = NULL, state = 'active', "
                 "updated_at = ? WHERE id = ?",
                 {next, now, cur.id}));
      if (cur.state == "suspended")
        return notify(c, cur, "number.reactivated", "Your number " + cur.e164 + " works again",
                      "The rental of " + cur.e164 + " is paid and the number works again.\n");
      return status_of(jobs::append_event(
          c, {"number.renewed", cur.tenant_id, cur.id, payload_of(cur), cur.user_id}, now));
    }
    if (cur.grace_until != 0) return {};  // already told
    RH_TRY(c.exec("UPDATE numbers SET grace_until = ?, updated_at = ? WHERE id = ?",
                  {now + o_.grace_s * 1000, now, cur.id}));
    return notify(c, cur, "number.renewal_failed", "Payment for " + cur.e164 + " failed",
                  "We could not renew " + cur.e164 + ": your balance does not cover " +
                      money::format_micros(cur.monthly_micros) +
                      ". Top up within the grace period to keep the number; after it the "
                      "number is suspended, and later released.\n");
  });
}

Status NumberService::sweep() {
  auto& db = inv_.db();
  std::int64_t now = clock_.now_ms();
  // Reservations and quarantines that ran out.
  RH_TRY(db.transaction([&](Connection& c) -> Status {
    const char* no_order =
        "id NOT IN (SELECT number_id FROM number_orders WHERE state = 'pending')";
    RH_TRY(c.exec(fmt::format("UPDATE numbers SET state = 'available', user_id = NULL, "
                              "reserved_until = NULL, updated_at = ? WHERE provider = 'local' AND "
                              "state = 'reserved' AND reserved_until < ? AND {}",
                              no_order),
                  {now, now}));
    RH_TRY(c.exec(fmt::format("DELETE FROM numbers WHERE provider <> 'local' AND state = "
                              "'reserved' AND reserved_until < ? AND {}",
                              no_order),
                  {now}));
    RH_TRY(
        c.exec("UPDATE numbers SET state = 'available', aging_until = NULL, updated_at = ? "
               "WHERE provider = 'local' AND state = 'aging' AND aging_until <= ?",
               {now, now}));
    RH_TRY(
        c.exec("DELETE FROM numbers WHERE provider <> 'local' AND state = 'aging' AND "
               "aging_until <= ?",
               {now}));
    RH_TRY(ledger_.expire_holds(c));
    return {};
  }));
  // Renewals due (suspended numbers too: paying brings them back).
  RH_ASSIGN(auto due, db.read<storage::Rows>([&](Connection& c) {
    return c.query(fmt::format("SELECT {} FROM numbers WHERE state IN ('active', 'suspended') AND "
                               "paid_until <= ? ORDER BY paid_until LIMIT 500",
                               kNumberColumns),
                   {now});
  }));
  for (const auto& r : due) {
    Number n = number_from_row(r);
    if (n.state == "suspended" && n.grace_until != 0 &&
        n.grace_until + o_.suspended_s * 1000 <= now)
      continue;  // released below
    if (auto st = renew(n); !st)
      log::get("numbers")->warn("renewal of {} failed: {}", n.id, st.error().message);
  }
  // Grace over: suspend. Suspended too long: release.
  RH_ASSIGN(auto lapsed, db.read<storage::Rows>([&](Connection& c) {
    return c.query(fmt::format("SELECT {} FROM numbers WHERE state IN ('active', 'suspended') AND "
                               "grace_until IS NOT NULL AND grace_until <= ? LIMIT 500",
                               kNumberColumns),
                   {now});
  }));
  for (const auto& r : lapsed) {
    Number n = number_from_row(r);
    Status st = db.transaction([&](Connection& c) -> Status {
      if (n.state == "active") {
        RH_ASSIGN(auto upd, c.exec("UPDATE numbers SET state = 'suspended', updated_at = ? WHERE "
                                   "id = ? AND updated_at = ?",
                                   {now, n.id, n.updated_at}));
        if (upd.affected == 0) return {};
        return notify(c, n, "number.suspended", "Your number " + n.e164 + " is suspended",
                      "The rental of " + n.e164 +
                          " is unpaid and the number is suspended: calls and messages to it "
                          "are refused. Top up to bring it back before it is released.\n");
      }
      if (n.grace_until + o_.suspended_s * 1000 > now) return {};
      RH_TRY(begin_release(c, n, "system"));
      return notify(c, n, "number.lapsed", "Your number " + n.e164 + " was released",
                    "The rental of " + n.e164 + " stayed unpaid and the number was released.\n");
    });
    if (!st) log::get("numbers")->warn("lapse of {} failed: {}", n.id, st.error().message);
  }
  // Orders stuck pending (their job is the normal path; this is the backstop).
  RH_ASSIGN(auto stale, db.read<storage::Rows>([&](Connection& c) {
    return c.query(
        "SELECT id FROM number_orders WHERE state = 'pending' AND created_at < ? "
        "LIMIT 100",
        {now - o_.order_give_up_s * 1000});
  }));
  for (const auto& r : stale) (void)finish_order(r.text("id"), true);
  return {};
}

void NumberService::register_jobs(jobs::JobWorker& w) {
  auto field = [](const jobs::Job& j, const char* k) -> std::string {
    boost::system::error_code ec;
    auto v = boost::json::parse(j.payload, ec);
    if (ec || !v.is_object() || !v.as_object().contains(k) || !v.at(k).is_string()) return {};
    return std::string(v.at(k).as_string());
  };
  w.register_handler("numbers.order", [this, field](jobs::JobContext& ctx) -> Status {
    std::string id = field(ctx.job(), "order_id");
    if (id.empty()) return Error(Errc::invalid_argument, "numbers.order without order_id");
    return finish_order(id, false);
  });
  w.register_handler("numbers.release", [this, field](jobs::JobContext& ctx) -> Status {
    std::string id = field(ctx.job(), "number_id");
    if (id.empty()) return Error(Errc::invalid_argument, "numbers.release without number_id");
    return finish_release(id);
  });
  w.register_handler("numbers.sweep", [this](jobs::JobContext&) -> Status { return sweep(); });
}

}  // namespace rh::numbers
