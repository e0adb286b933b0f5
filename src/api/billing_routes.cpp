// Billing over HTTP: the caller's balance, ledger and rates; staff balance
// adjustments and rate-deck imports; the payment provider's webhook.
#include <fmt/format.h>

#include <boost/json.hpp>

#include "accounts/tenants.hpp"
#include "accounts/users.hpp"
#include "api/handlers.hpp"
#include "api/json_views.hpp"
#include "billing/ledger.hpp"
#include "billing/payments.hpp"
#include "billing/plans.hpp"
#include "billing/rates.hpp"
#include "core/clock.hpp"
#include "core/money.hpp"
#include "core/phone_number.hpp"

namespace rh::api {

namespace {

awaitable<Response> get_balance(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto tenant = co_await offload(d.pool, [&] { return d.tenants.get(self.tenant_id); });
  if (!tenant) co_return problem_from_error(tenant.error(), ctx.request_id);
  auto b = co_await offload(d.pool, [&] {
    return d.db.read<billing::Balance>(
        [&](storage::Connection& c) { return d.ledger.balance(c, self); });
  });
  if (!b) co_return problem_from_error(b.error(), ctx.request_id);
  co_return json_response(200, json::object{{"currency", tenant->currency},
                                            {"balance_micros", b->balance_micros},
                                            {"held_micros", b->held_micros},
                                            {"available_micros", b->available_micros()}});
}

awaitable<Response> get_ledger(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto page = http::read_page(ctx, 50, 200, err);
  if (!page) co_return err;
  auto self = self_scope(ctx);
  auto r = co_await offload(d.pool, [&] {
    return d.db.read<std::vector<billing::LedgerEntry>>([&](storage::Connection& c) {
      return d.ledger.entries(c, self, page->after, page->limit);
    });
  });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  co_return page_response(*r, page->limit, [](const billing::LedgerEntry& e) {
    return json::object{{"id", e.id},
                        {"kind", e.kind},
                        {"amount_micros", e.amount_micros},
                        {"balance_after_micros", e.balance_after_micros},
                        {"reference", e.reference},
                        {"memo", e.memo},
                        {"created_at", format_rfc3339(e.created_at)}};
  });
}

json::object rate_json(const billing::Rate& r, const std::string& currency) {
  return json::object{{"prefix", r.prefix},
                      {"description", r.description},
                      {"per_minute_micros", r.per_minute_micros},
                      {"connect_fee_micros", r.connect_micros},
                      {"increment", fmt::format("{}/{}", r.first_increment_s, r.next_increment_s)},
                      {"sms_micros", r.sms_micros},
                      {"mms_micros", r.mms_micros},
                      {"currency", currency}};
}

awaitable<Response> get_rate(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto to = ctx.query_param("to");
  if (!to || to->empty())
    co_return problem(400, "bad_parameter", "Bad query parameter",
                      "to (a phone number) is required");
  auto tenant = co_await offload(d.pool, [&] { return d.tenants.get(self.tenant_id); });
  if (!tenant) co_return problem_from_error(tenant.error(), ctx.request_id);
  auto e164 = phone::to_e164(*to, tenant->default_country);
  if (!e164) co_return problem(400, "bad_parameter", "Bad query parameter", e164.error().message);
  auto rate = co_await offload(d.pool, [&] { return d.rates.lookup(self.tenant_id, *e164); });
  if (!rate) co_return problem_from_error(rate.error(), ctx.request_id);
  auto balance = co_await offload(d.pool, [&] {
    return d.db.read<billing::Balance>(
        [&](storage::Connection& c) { return d.ledger.balance(c, self); });
  });
  if (!balance) co_return problem_from_error(balance.error(), ctx.request_id);
  json::object o = rate_json(*rate, tenant->currency);
  o["to"] = *e164;
  o["max_call_seconds"] = billing::max_affordable_seconds(*rate, balance->available_micros());
  co_return json_response(200, o);
}

// ---- staff ----------------------------------------------------------------------

awaitable<Response> admin_adjust(ApiDeps& d, RequestContext& ctx) {
  auto scope = staff_scope(ctx);
  // The user first: another tenant's id is 404 whatever the body.
  auto user = co_await offload(d.pool, [&] { return d.users.get(scope, ctx.param("id")); });
  if (!user) co_return problem_from_error(user.error(), ctx.request_id);
  auto body = http::read_json_object(ctx.req);
  if (body.error) co_return std::move(*body.error);
  http::FieldReader f(*body.object);
  f.reject_unknown({"amount", "reason", "allow_negative"});
  auto amount = f.string("amount");
  auto reason = f.string("reason");
  auto allow_negative = f.boolean("allow_negative");
  std::int64_t micros = 0;
  if (!amount) {
    f.problems().push_back({"amount", "is required (a decimal such as \"10.00\" or \"-2.50\")"});
  } else if (auto m = money::parse_micros(*amount); !m || *m == 0) {
    f.problems().push_back({"amount", "must be a non-zero decimal such as \"10.00\" or \"-2.50\""});
  } else {
    micros = *m;
  }
  if (!reason || reason->empty() || reason->size() > 500)
    f.problems().push_back({"reason", "is required (1 to 500 bytes)"});
  if (!f.problems().empty()) co_return http::validation_problem(f.problems());
  billing::Posting p;
  p.kind = billing::TxnKind::adjustment;
  p.tenant_id = user->tenant_id;
  p.user_id = user->id;
  p.amount_micros = micros < 0 ? -micros : micros;
  p.reference = user->id;
  p.memo = *reason;
  p.actor = ctx.principal && !ctx.principal->user_id.empty() ? ctx.principal->user_id : "operator";
  p.allow_negative = allow_negative.value_or(false);
  auto txn = co_await offload(d.pool, [&] {
    return d.db.in_transaction<std::string>([&](storage::Connection& c) {
      return micros > 0 ? d.ledger.credit(c, p) : d.ledger.debit(c, p);
    });
  });
  if (!txn) co_return problem_from_error(txn.error(), ctx.request_id);
  auto b = co_await offload(d.pool, [&] {
    return d.db.read<billing::Balance>([&](storage::Connection& c) {
      return d.ledger.balance(c, UserScope{user->tenant_id, user->id});
    });
  });
  if (!b) co_return problem_from_error(b.error(), ctx.request_id);
  co_return json_response(201, json::object{{"transaction_id", *txn},
                                            {"user_id", user->id},
                                            {"amount_micros", micros},
                                            {"balance_micros", b->balance_micros},
                                            {"available_micros", b->available_micros()}});
}

json::object deck_json(const billing::DeckInfo& k) {
  return json::object{{"id", k.id},         {"tenant_id", k.tenant_id},
                      {"name", k.name},     {"rate_count", k.rate_count},
                      {"active", k.active}, {"created_at", format_rfc3339(k.created_at)}};
}

awaitable<Response> admin_import_deck(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto tenant_id = acting_tenant(ctx, err);
  if (!tenant_id) co_return err;
  if (ctx.header("Content-Type").substr(0, 8) != "text/csv")
    co_return problem(415, "unsupported_media_type", "Unsupported media type",
                      "send the rate deck as text/csv");
  std::string name = ctx.query_param("name").value_or("");
  if (name.empty()) name = "Rate deck " + format_rfc3339(d.clock.now_ms());
  if (name.size() > 100)
    co_return problem(400, "bad_parameter", "Bad query parameter", "name is at most 100 bytes");
  auto r =
      co_await offload(d.pool, [&] { return d.rates.import(*tenant_id, name, ctx.req.body()); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  if (!r->deck) co_return csv_problem(r->problems);
  co_return json_response(201, deck_json(*r->deck));
}

awaitable<Response> admin_list_decks(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto tenant_id = acting_tenant(ctx, err);
  if (!tenant_id) co_return err;
  auto r = co_await offload(d.pool, [&] { return d.rates.list(*tenant_id); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  json::array arr;
  for (const auto& k : *r) arr.push_back(deck_json(k));
  co_return json_response(200, page_json(std::move(arr), ""));
}

// ---- plans and subscriptions ----------------------------------------------------

json::object plan_json(const billing::Plan& p, const std::string& currency) {
  return json::object{{"id", p.id},
                      {"name", p.name},
                      {"description", p.description},
                      {"monthly_price_micros", p.monthly_micros},
                      {"currency", currency},
                      {"included_numbers", p.included_numbers},
                      {"included_minutes", p.included_minutes},
                      {"included_sms", p.included_sms},
                      {"status", p.status},
                      {"created_at", format_rfc3339(p.created_at)}};
}

json::object subscription_json(const billing::Subscription& s) {
  return json::object{{"id", s.id},
                      {"plan_id", s.plan_id},
                      {"state", s.state},
                      {"current_period_start", format_rfc3339(s.period_start)},
                      {"current_period_end", format_rfc3339(s.period_end)},
                      {"grace_until", s.grace_until ? json::value(format_rfc3339(s.grace_until))
                                                    : json::value(nullptr)},
                      {"minutes_used", s.minutes_used},
                      {"sms_used", s.sms_used},
                      {"cancel_at_period_end", s.cancel_at_period_end},
                      {"created_at", format_rfc3339(s.created_at)}};
}

awaitable<Response> list_plans(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto tenant = co_await offload(d.pool, [&] { return d.tenants.get(self.tenant_id); });
  if (!tenant) co_return problem_from_error(tenant.error(), ctx.request_id);
  auto r = co_await offload(d.pool, [&] { return d.plans.plans(self.tenant_id, true); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  json::array arr;
  for (const auto& p : *r) arr.push_back(plan_json(p, tenant->currency));
  co_return json_response(200, page_json(std::move(arr), ""));
}

awaitable<Response> list_subscriptions(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto r = co_await offload(d.pool, [&] { return d.plans.subscriptions(self); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  json::array arr;
  for (const auto& s : *r) arr.push_back(subscription_json(s));
  co_return json_response(200, page_json(std::move(arr), ""));
}

awaitable<Response> subscribe(ApiDeps& d, RequestContext& ctx) {
  auto body = http::read_json_object(ctx.req);
  if (body.error) co_return std::move(*body.error);
  http::FieldReader f(*body.object);
  f.reject_unknown({"plan_id"});
  auto plan = f.string("plan_id");
  if (!plan) f.problems().push_back({"plan_id", "is required"});
  if (!f.problems().empty()) co_return http::validation_problem(f.problems());
  auto self = self_scope(ctx);
  std::string key(ctx.header("Idempotency-Key"));
  auto s = co_await offload(d.pool, [&] { return d.plans.subscribe(self, *plan, key); });
  if (!s) co_return problem_from_error(s.error(), ctx.request_id);
  Response r = json_response(201, subscription_json(*s));
  r.set(http::bhttp::field::location, "/v1/subscriptions/" + s->id);
  co_return r;
}

awaitable<Response> cancel_subscription(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto s = co_await offload(d.pool, [&] { return d.plans.cancel(self, ctx.param("id")); });
  if (!s) co_return problem_from_error(s.error(), ctx.request_id);
  co_return json_response(200, subscription_json(*s));
}

// Reads a plan's fields; prices are decimals ("4.99").
std::optional<billing::PlanInput> read_plan(const json::object& o, Response& err) {
  http::FieldReader f(o);
  f.reject_unknown({"name", "description", "status", "monthly_price", "included_numbers",
                    "included_minutes", "included_sms"});
  billing::PlanInput in;
  in.name = f.string("name");
  in.description = f.string("description");
  in.status = f.string("status");
  if (auto price = f.string("monthly_price")) {
    auto m = money::parse_micros(*price);
    if (!m || *m < 0)
      f.problems().push_back({"monthly_price", "must be a decimal such as \"4.99\""});
    else
      in.monthly_micros = *m;
  }
  in.included_numbers = f.integer("included_numbers");
  in.included_minutes = f.integer("included_minutes");
  in.included_sms = f.integer("included_sms");
  if (!f.problems().empty()) {
    err = http::validation_problem(f.problems());
    return std::nullopt;
  }
  return in;
}

awaitable<Response> admin_list_plans(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto tenant_id = acting_tenant(ctx, err);
  if (!tenant_id) co_return err;
  auto tenant = co_await offload(d.pool, [&] { return d.tenants.get(*tenant_id); });
  if (!tenant) co_return problem_from_error(tenant.error(), ctx.request_id);
  auto r = co_await offload(d.pool, [&] { return d.plans.plans(*tenant_id, false); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  json::array arr;
  for (const auto& p : *r) arr.push_back(plan_json(p, tenant->currency));
  co_return json_response(200, page_json(std::move(arr), ""));
}

awaitable<Response> admin_create_plan(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto tenant_id = acting_tenant(ctx, err);
  if (!tenant_id) co_return err;
  auto body = http::read_json_object(ctx.req);
  if (body.error) co_return std::move(*body.error);
  auto in = read_plan(*body.object, err);
  if (!in) co_return err;
  auto tenant = co_await offload(d.pool, [&] { return d.tenants.get(*tenant_id); });
  if (!tenant) co_return problem_from_error(tenant.error(), ctx.request_id);
  auto p = co_await offload(d.pool, [&] { return d.plans.create_plan(*tenant_id, *in); });
  if (!p) co_return problem_from_error(p.error(), ctx.request_id);
  co_return json_response(201, plan_json(*p, tenant->currency));
}

awaitable<Response> admin_patch_plan(ApiDeps& d, RequestContext& ctx) {
  auto body = http::read_json_object(ctx.req);
  if (body.error) co_return std::move(*body.error);
  Response err;
  auto in = read_plan(*body.object, err);
  if (!in) co_return err;
  auto scope = staff_scope(ctx);
  auto p =
      co_await offload(d.pool, [&] { return d.plans.update_plan(scope, ctx.param("id"), *in); });
  if (!p) co_return problem_from_error(p.error(), ctx.request_id);
  auto tenant = co_await offload(d.pool, [&] { return d.tenants.get(p->tenant_id); });
  if (!tenant) co_return problem_from_error(tenant.error(), ctx.request_id);
  co_return json_response(200, plan_json(*p, tenant->currency));
}

// ---- the payment provider -------------------------------------------------------

awaitable<Response> payment_hook(ApiDeps& d, RequestContext& ctx) {
  std::string sig(ctx.header("Stripe-Signature"));
  auto r = co_await offload(d.pool, [&] { return d.payments.handle(sig, ctx.req.body()); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  co_return json_response(200, json::object{{"status", r->status},
                                            {"detail", r->detail},
                                            {"transaction_id", r->transaction_id}});
}

}  // namespace

void register_billing_routes(const AddRoute& add) {
  add(Verb::get, "/v1/balance", get_balance, user("billing:read"), "The caller's balance");
  add(Verb::get, "/v1/ledger", get_ledger, user("billing:read"),
      "The caller's ledger, newest first");
  add(Verb::get, "/v1/rates", get_rate, user("billing:read"),
      "The price of a destination, and the longest call the balance affords");
  add(Verb::get, "/v1/plans", list_plans, user("billing:read"),
      "Plans the caller can subscribe to");
  add(Verb::get, "/v1/subscriptions", list_subscriptions, user("billing:read"),
      "The caller's plan subscriptions");
  add(Verb::post, "/v1/subscriptions", subscribe, user(),
      "Subscribe to a plan, paying the first period (Idempotency-Key required)");
  add(Verb::delete_, "/v1/subscriptions/{id}", cancel_subscription, user(),
      "Cancel a subscription at the end of its paid period");
  add(Verb::get, "/v1/admin/plans", admin_list_plans, staff(Role::tenant_admin),
      "A tenant's plans");
  add(Verb::post, "/v1/admin/plans", admin_create_plan, staff(Role::tenant_admin), "Create a plan");
  add(Verb::patch, "/v1/admin/plans/{id}", admin_patch_plan, staff(Role::tenant_admin),
      "Change or archive a plan (prices apply from the next renewal)");
  add(Verb::post, "/v1/admin/users/{id}/balance-adjustments", admin_adjust,
      staff(Role::tenant_admin), "Credit or debit a user's wallet with a reason");
  add(Verb::post, "/v1/admin/rate-decks", admin_import_deck, staff(Role::tenant_admin),
      "Import a rate deck from CSV and make it active (all rows or none)", 64 * 1024 * 1024);
  add(Verb::get, "/v1/admin/rate-decks", admin_list_decks, staff(Role::tenant_admin),
      "A tenant's rate decks");
  add(Verb::post, "/hooks/payments", payment_hook, anyone(),
      "Payment provider webhook (Stripe-style signed event): credits a top-up once per event",
      256 * 1024);
}

}  // namespace rh::api
