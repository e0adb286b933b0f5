// Numbers over HTTP: search the pool and the carriers, reserve, purchase
// (Idempotency-Key), list, label and release one's numbers; staff import
// DID blocks, see the inventory, force releases and set provider
// credentials. Carrier calls run on their own pool: they wait on remote
// APIs and must not hold the database pool's threads.
#include <fmt/format.h>

#include <boost/json.hpp>

#include "accounts/tenants.hpp"
#include "api/handlers.hpp"
#include "api/json_views.hpp"
#include "core/clock.hpp"
#include "core/money.hpp"
#include "numbers/inventory.hpp"
#include "numbers/ports.hpp"
#include "numbers/service.hpp"

namespace rh::api {

namespace {

json::object number_json(const numbers::Number& n, bool staff = false) {
  json::object o{{"id", n.id},
                 {"phone_number", n.e164},
                 {"state", n.state},
                 {"label", n.label},
                 {"provider", n.provider},
                 {"features", string_array(n.features)},
                 {"country", n.country},
                 {"region", n.region},
                 {"city", n.locality},
                 {"monthly_price_micros", n.monthly_micros},
                 {"upfront_price_micros", n.upfront_micros},
                 {"activated_at", time_or_null(n.activated_at)},
                 {"paid_until", time_or_null(n.paid_until)},
                 {"grace_until", time_or_null(n.grace_until)},
                 {"created_at", format_rfc3339(n.created_at)}};
  if (staff) {
    o["tenant_id"] = n.tenant_id;
    o["user_id"] = n.user_id.empty() ? json::value(nullptr) : json::value(n.user_id);
    o["trunk"] = n.trunk;
    o["messaging_route"] = n.messaging_route;
    o["reserved_until"] = time_or_null(n.reserved_until);
    o["aging_until"] = time_or_null(n.aging_until);
  }
  return o;
}

json::object order_json(const numbers::Order& o) {
  json::object j{{"id", o.id},
                 {"state", o.state},
                 {"phone_number", o.e164},
                 {"provider", o.provider},
                 {"number_id", o.number_id},
                 {"amount_micros", o.amount_micros},
                 {"created_at", format_rfc3339(o.created_at)}};
  if (o.state == "failed")
    j["error"] =
        json::object{{"code", o.error.reason.empty() ? errc_name(o.error.code) : o.error.reason},
                     {"detail", o.error.message}};
  return j;
}

}  // namespace

Response csv_problem(const std::vector<csv::LineProblem>& problems) {
  json::array errors;
  for (const auto& p : problems)
    errors.push_back(json::object{{"line", p.line}, {"detail", p.message}});
  std::string detail =
      problems.empty()
          ? ""
          : fmt::format(
                "line {}: {}{}", problems.front().line, problems.front().message,
                problems.size() > 1 ? fmt::format(" (and {} more)", problems.size() - 1) : "");
  return problem(422, "invalid_csv", "The file has bad rows; nothing was imported", detail, {},
                 json::object{{"errors", std::move(errors)}});
}

std::optional<std::string> tenant_filter(const RequestContext& ctx, Response& err) {
  TenantScope scope = staff_scope(ctx);
  std::string t = ctx.query_param("tenant_id").value_or("");
  if (t.empty()) return scope.tenant_id;
  if (!scope.covers(t)) {
    err = problem(404, "not_found", "Not found", "no such tenant");
    return std::nullopt;
  }
  return t;
}

std::optional<std::string> acting_tenant(const RequestContext& ctx, Response& err) {
  TenantScope scope = staff_scope(ctx);
  std::string t = ctx.query_param("tenant_id").value_or("");
  if (t.empty()) {
    if (scope.tenant_id.empty()) {
      err = problem(400, "tenant_required", "Tenant required",
                    "platform staff name the tenant with ?tenant_id=");
      return std::nullopt;
    }
    return scope.tenant_id;
  }
  if (!scope.covers(t)) {
    err = problem(404, "not_found", "Not found", "no such tenant");
    return std::nullopt;
  }
  return t;
}

awaitable<Response> get_allow_list(ApiDeps& d, RequestContext& ctx, AllowListGet get) {
  Response err;
  auto tenant = acting_tenant(ctx, err);
  if (!tenant) co_return err;
  auto c = co_await offload(d.pool, [&] { return get(*tenant); });
  if (!c) co_return problem_from_error(c.error(), ctx.request_id);
  co_return json_response(
      200, json::object{{"tenant_id", *tenant}, {"allowed_countries", string_array(*c)}});
}

awaitable<Response> put_allow_list(ApiDeps& d, RequestContext& ctx, AllowListSet set) {
  Response err;
  auto tenant = acting_tenant(ctx, err);
  if (!tenant) co_return err;
  auto body = http::read_json_object(ctx.req);
  if (body.error) co_return std::move(*body.error);
  http::FieldReader f(*body.object);
  f.reject_unknown({"allowed_countries"});
  auto countries = f.string_list("allowed_countries");
  if (!countries) f.problems().push_back({"allowed_countries", "is required"});
  if (!f.problems().empty()) co_return http::validation_problem(f.problems());
  auto st = co_await offload(d.pool, [&] { return set(*tenant, *countries); });
  if (!st) co_return problem_from_error(st.error(), ctx.request_id);
  co_return json_response(
      200, json::object{{"tenant_id", *tenant}, {"allowed_countries", string_array(*countries)}});
}


namespace {

awaitable<Response> search_available(ApiDeps& d, RequestContext& ctx) {
  numbers::SearchQuery q;
  auto self = self_scope(ctx);
  auto tenant = co_await offload(d.pool, [&] { return d.tenants.get(self.tenant_id); });
  if (!tenant) co_return problem_from_error(tenant.error(), ctx.request_id);
  q.country = ctx.query_param("country").value_or(tenant->default_country);
  q.area_code = ctx.query_param("area_code").value_or("");
  q.contains = ctx.query_param("contains").value_or("");
  q.locality = ctx.query_param("city").value_or("");
  q.region = ctx.query_param("region").value_or("");
  std::vector<http::FieldProblem> bad;
  auto digits = [](const std::string& s, std::size_t max) {
    return s.size() <= max &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (q.country.size() != 2 || !std::all_of(q.country.begin(), q.country.end(), ::isupper))
    bad.push_back({"country", "must be an ISO 3166-1 alpha-2 code such as US"});
  if (!digits(q.area_code, 6)) bad.push_back({"area_code", "must be up to 6 digits"});
  if (!digits(q.contains, 10)) bad.push_back({"contains", "must be up to 10 digits"});
  if (q.locality.size() > 100) bad.push_back({"city", "at most 100 bytes"});
  if (q.region.size() > 64) bad.push_back({"region", "at most 64 bytes"});
  if (auto f = ctx.query_param("features"); f && !f->empty()) {
    q.features = numbers::parse_features(*f);
    for (const auto& x : q.features)
      if (x != "sms" && x != "mms" && x != "voice")
        bad.push_back({"features", "a list of sms, mms and voice"});
  }
  q.limit = 20;
  if (auto l = ctx.query_param("limit")) {
    try {
      q.limit = std::stoi(*l);
    } catch (...) {
      q.limit = 0;
    }
    if (q.limit < 1 || q.limit > 100) bad.push_back({"limit", "must be from 1 to 100"});
  }
  if (!bad.empty())
    co_return problem(400, "bad_parameter", "Bad query parameter",
                      bad.front().field + " " + bad.front().detail, bad);
  auto r = co_await offload(d.provider_pool, [&] { return d.numbers.search(self.tenant_id, q); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  json::array data;
  for (const auto& a : r->numbers) {
    data.push_back(json::object{{"phone_number", a.e164},
                                {"provider", a.provider},
                                {"features", string_array(a.features)},
                                {"country", a.country},
                                {"region", a.region},
                                {"city", a.locality},
                                {"monthly_price_micros", a.monthly_micros},
                                {"upfront_price_micros", a.upfront_micros},
                                {"currency", tenant->currency}});
  }
  co_return json_response(200,
                          json::object{{"data", std::move(data)},
                                       {"unavailable_providers", string_array(r->unavailable)}});
}

awaitable<Response> reserve_number(ApiDeps& d, RequestContext& ctx) {
  auto body = http::read_json_object(ctx.req);
  if (body.error) co_return std::move(*body.error);
  http::FieldReader f(*body.object);
  f.reject_unknown({"phone_number", "provider"});
  auto number = f.string("phone_number");
  auto provider = f.string("provider");
  if (!number) f.problems().push_back({"phone_number", "is required"});
  if (!f.problems().empty()) co_return http::validation_problem(f.problems());
  auto self = self_scope(ctx);
  auto n = co_await offload(
      d.provider_pool, [&] { return d.numbers.reserve(self, *number, provider.value_or("")); });
  if (!n) co_return problem_from_error(n.error(), ctx.request_id);
  json::object o = number_json(*n);
  o["reserved_until"] = time_or_null(n->reserved_until);
  co_return json_response(201, o);
}

awaitable<Response> purchase_number(ApiDeps& d, RequestContext& ctx) {
  auto body = http::read_json_object(ctx.req);
  if (body.error) co_return std::move(*body.error);
  http::FieldReader f(*body.object);
  f.reject_unknown({"phone_number", "provider", "label"});
  numbers::PurchaseRequest r;
  auto number = f.string("phone_number");
  if (!number) f.problems().push_back({"phone_number", "is required"});
  r.provider = f.string("provider").value_or("");
  r.label = f.string("label").value_or("");
  if (!f.problems().empty()) co_return http::validation_problem(f.problems());
  r.phone_number = *number;
  r.idempotency_key = std::string(ctx.header("Idempotency-Key"));
  auto self = self_scope(ctx);
  auto o = co_await offload(d.provider_pool, [&] { return d.numbers.purchase(self, r); });
  if (!o) co_return problem_from_error(o.error(), ctx.request_id);
  if (o->state == "failed") {
    Response resp = problem_from_error(o->error, ctx.request_id);
    resp.set("Idempotency-Replayed", "false");
    co_return resp;
  }
  json::object out{{"order", order_json(*o)}};
  if (o->state == "complete") {
    auto n = co_await offload(d.pool, [&] { return d.inventory.get_owned(self, o->number_id); });
    if (n) out["number"] = number_json(*n);
    Response resp = json_response(201, out);
    resp.set(http::bhttp::field::location, "/v1/numbers/" + o->number_id);
    co_return resp;
  }
  Response resp = json_response(202, out);
  resp.set(http::bhttp::field::location, "/v1/number-orders/" + o->id);
  co_return resp;
}

awaitable<Response> get_order(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto o = co_await offload(d.pool, [&] { return d.numbers.get_order(self, ctx.param("id")); });
  if (!o) co_return problem_from_error(o.error(), ctx.request_id);
  co_return json_response(200, order_json(*o));
}

awaitable<Response> list_numbers(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto page = http::read_page(ctx, 50, 200, err);
  if (!page) co_return err;
  auto self = self_scope(ctx);
  auto r = co_await offload(d.pool,
                            [&] { return d.inventory.list_owned(self, page->after, page->limit); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  co_return page_response(*r, page->limit, [](const auto& x) { return number_json(x); });
}

awaitable<Response> get_number(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto n = co_await offload(d.pool, [&] { return d.inventory.get_owned(self, ctx.param("id")); });
  if (!n) co_return problem_from_error(n.error(), ctx.request_id);
  co_return json_response(200, number_json(*n));
}

awaitable<Response> patch_number(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  // The number first: another user's id is 404 whatever the body.
  auto cur = co_await offload(d.pool, [&] { return d.inventory.get_owned(self, ctx.param("id")); });
  if (!cur) co_return problem_from_error(cur.error(), ctx.request_id);
  auto body = http::read_json_object(ctx.req);
  if (body.error) co_return std::move(*body.error);
  http::FieldReader f(*body.object);
  f.reject_unknown({"label"});
  auto label = f.string("label");
  if (!f.problems().empty()) co_return http::validation_problem(f.problems());
  if (!label) co_return json_response(200, number_json(*cur));
  auto n = co_await offload(d.pool,
                            [&] { return d.inventory.set_label(self, ctx.param("id"), *label); });
  if (!n) co_return problem_from_error(n.error(), ctx.request_id);
  co_return json_response(200, number_json(*n));
}

awaitable<Response> release_number(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto n = co_await offload(d.pool, [&] { return d.numbers.release(self, ctx.param("id")); });
  if (!n) co_return problem_from_error(n.error(), ctx.request_id);
  if (d.jobs_enqueued) d.jobs_enqueued();
  co_return json_response(202, number_json(*n));
}

// ---- staff ----------------------------------------------------------------------

awaitable<Response> admin_import(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto tenant_id = acting_tenant(ctx, err);
  if (!tenant_id) co_return err;
  auto ct = ctx.header("Content-Type");
  if (ct.substr(0, 8) != "text/csv")
    co_return problem(415, "unsupported_media_type", "Unsupported media type",
                      "send the numbers as text/csv");
  auto tenant = co_await offload(d.pool, [&] { return d.tenants.get(*tenant_id); });
  if (!tenant) co_return problem_from_error(tenant.error(), ctx.request_id);
  numbers::ImportDefaults defs{*tenant_id, tenant->default_country};
  auto r = co_await offload(d.pool, [&] { return d.inventory.import_csv(defs, ctx.req.body()); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  if (!r->problems.empty()) co_return csv_problem(r->problems);
  co_return json_response(201, json::object{{"imported", r->imported}, {"tenant_id", *tenant_id}});
}

awaitable<Response> admin_list_numbers(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto page = http::read_page(ctx, 50, 500, err);
  if (!page) co_return err;
  numbers::InventoryFilter f;
  auto tenant = tenant_filter(ctx, err);
  if (!tenant) co_return err;
  f.tenant_id = *tenant;
  f.state = ctx.query_param("state").value_or("");
  f.provider = ctx.query_param("provider").value_or("");
  f.q = ctx.query_param("q").value_or("");
  if (f.q.size() > 16 || f.state.size() > 16 || f.provider.size() > 16)
    co_return problem(400, "bad_parameter", "Bad query parameter", "a filter is too long");
  f.after_id = page->after;
  f.limit = page->limit;
  auto r = co_await offload(d.pool, [&] { return d.inventory.list(f); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  co_return page_response(*r, page->limit, [](const auto& x) { return number_json(x, true); });
}

awaitable<Response> admin_inventory_summary(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto t = tenant_filter(ctx, err);
  if (!t) co_return err;
  auto r = co_await offload(d.pool, [&] { return d.inventory.counts(*t); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  json::object by_state;
  for (const auto& [k, v] : *r) by_state[k] = v;
  co_return json_response(200, json::object{{"by_state", std::move(by_state)}});
}

awaitable<Response> admin_get_number(ApiDeps& d, RequestContext& ctx) {
  auto scope = staff_scope(ctx);
  auto n = co_await offload(d.pool, [&] { return d.inventory.get(scope, ctx.param("id")); });
  if (!n) co_return problem_from_error(n.error(), ctx.request_id);
  co_return json_response(200, number_json(*n, true));
}

awaitable<Response> admin_release(ApiDeps& d, RequestContext& ctx) {
  auto scope = staff_scope(ctx);
  std::string actor =
      ctx.principal && !ctx.principal->user_id.empty() ? ctx.principal->user_id : "operator";
  auto n = co_await offload(d.pool,
                            [&] { return d.numbers.force_release(scope, ctx.param("id"), actor); });
  if (!n) co_return problem_from_error(n.error(), ctx.request_id);
  if (d.jobs_enqueued) d.jobs_enqueued();
  co_return json_response(202, number_json(*n, true));
}

json::object provider_json(const numbers::ProviderSettingsView& v) {
  return json::object{{"name", v.name},
                      {"enabled", v.enabled},
                      {"settings_set", string_array(v.keys)},
                      {"updated_at", format_rfc3339(v.updated_at)}};
}

awaitable<Response> admin_list_providers(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto tenant_id = acting_tenant(ctx, err);
  if (!tenant_id) co_return err;
  auto r = co_await offload(d.pool, [&] { return d.providers.list(*tenant_id); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  json::array arr;
  for (const auto& v : *r) arr.push_back(provider_json(v));
  co_return json_response(200, page_json(std::move(arr), ""));
}

awaitable<Response> admin_put_provider(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto tenant_id = acting_tenant(ctx, err);
  if (!tenant_id) co_return err;
  const std::string& name = ctx.param("name");
  if (name != "telnyx" && name != "bandwidth" && name != "plivo")
    co_return problem(404, "not_found", "Not found",
                      "no such provider (telnyx, bandwidth or plivo)");
  auto body = http::read_json_object(ctx.req);
  if (body.error) co_return std::move(*body.error);
  http::FieldReader f(*body.object);
  f.reject_unknown({"enabled", "settings"});
  auto enabled = f.boolean("enabled");
  if (!enabled) f.problems().push_back({"enabled", "is required"});
  std::map<std::string, std::string> settings;
  if (auto it = body.object->find("settings"); it != body.object->end()) {
    if (!it->value().is_object()) {
      f.problems().push_back({"settings", "must be an object of strings"});
    } else {
      for (const auto& kv : it->value().as_object()) {
        if (!kv.value().is_string())
          f.problems().push_back({"settings." + std::string(kv.key()), "must be a string"});
        else
          settings[std::string(kv.key())] = std::string(kv.value().as_string());
      }
    }
  }
  if (!f.problems().empty()) co_return http::validation_problem(f.problems());
  auto r = co_await offload(d.pool, [&] {
    return d.providers.configure(*tenant_id, ctx.param("name"), *enabled, settings);
  });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  co_return json_response(200, provider_json(*r));
}

awaitable<Response> admin_delete_provider(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto tenant_id = acting_tenant(ctx, err);
  if (!tenant_id) co_return err;
  auto st =
      co_await offload(d.pool, [&] { return d.providers.remove(*tenant_id, ctx.param("name")); });
  if (!st) co_return problem_from_error(st.error(), ctx.request_id);
  co_return http::no_content();
}

// ---- port-in requests ------------------------------------------------------------

json::object port_json(const numbers::PortRequest& p, bool staff = false) {
  json::array docs, history;
  for (const auto& d : p.documents)
    docs.push_back(json::object{{"id", d.id},
                                {"name", d.name},
                                {"content_type", d.content_type},
                                {"size", d.size},
                                {"uploaded_at", format_rfc3339(d.uploaded_at)}});
  for (const auto& h : p.history)
    history.push_back(json::object{
        {"status", h.status}, {"note", h.note}, {"by", h.actor}, {"at", format_rfc3339(h.at)}});
  json::object o{{"id", p.id},
                 {"status", p.status},
                 {"numbers", string_array(p.numbers)},
                 {"losing_carrier", p.losing_carrier},
                 {"account_number", p.account_number},
                 {"pin_set", p.pin_set},
                 {"account_name", p.account_name},
                 {"service_address", p.service_address},
                 {"documents", std::move(docs)},
                 {"history", std::move(history)},
                 {"created_at", format_rfc3339(p.created_at)},
                 {"updated_at", format_rfc3339(p.updated_at)}};
  if (staff) {
    o["tenant_id"] = p.tenant_id;
    o["user_id"] = p.user_id;
  }
  return o;
}

awaitable<Response> create_port(ApiDeps& d, RequestContext& ctx) {
  auto body = http::read_json_object(ctx.req);
  if (body.error) co_return std::move(*body.error);
  http::FieldReader f(*body.object);
  f.reject_unknown({"numbers", "losing_carrier", "account_number", "account_pin", "account_name",
                    "service_address"});
  numbers::PortInput in;
  auto list = f.string_list("numbers");
  if (!list) f.problems().push_back({"numbers", "is required (a list of phone numbers)"});
  in.losing_carrier = f.string("losing_carrier").value_or("");
  in.account_number = f.string("account_number").value_or("");
  in.account_pin = f.string("account_pin").value_or("");
  in.account_name = f.string("account_name").value_or("");
  in.service_address = f.string("service_address").value_or("");
  if (!f.problems().empty()) co_return http::validation_problem(f.problems());
  in.numbers = *list;
  auto self = self_scope(ctx);
  auto tenant = co_await offload(d.pool, [&] { return d.tenants.get(self.tenant_id); });
  if (!tenant) co_return problem_from_error(tenant.error(), ctx.request_id);
  auto p =
      co_await offload(d.pool, [&] { return d.ports.create(self, in, tenant->default_country); });
  if (!p) co_return problem_from_error(p.error(), ctx.request_id);
  Response r = json_response(201, port_json(*p));
  r.set(http::bhttp::field::location, "/v1/port-requests/" + p->id);
  co_return r;
}

awaitable<Response> list_ports(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto r = co_await offload(d.pool, [&] { return d.ports.list(self); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  json::array arr;
  for (const auto& p : *r) arr.push_back(port_json(p));
  co_return json_response(200, page_json(std::move(arr), ""));
}

awaitable<Response> get_port(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto p = co_await offload(d.pool, [&] { return d.ports.get(self, ctx.param("id")); });
  if (!p) co_return problem_from_error(p.error(), ctx.request_id);
  co_return json_response(200, port_json(*p));
}

awaitable<Response> cancel_port(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto p = co_await offload(d.pool, [&] { return d.ports.cancel(self, ctx.param("id")); });
  if (!p) co_return problem_from_error(p.error(), ctx.request_id);
  co_return json_response(200, port_json(*p));
}

awaitable<Response> upload_port_document(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  std::string name = ctx.query_param("name").value_or("");
  auto doc = co_await offload(d.pool, [&] {
    return d.ports.add_document(self, ctx.param("id"), name, ctx.header("Content-Type"),
                                ctx.req.body());
  });
  if (!doc) co_return problem_from_error(doc.error(), ctx.request_id);
  co_return json_response(201, json::object{{"id", doc->id},
                                            {"name", doc->name},
                                            {"content_type", doc->content_type},
                                            {"size", doc->size},
                                            {"uploaded_at", format_rfc3339(doc->uploaded_at)}});
}

awaitable<Response> admin_list_ports(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto page = http::read_page(ctx, 50, 200, err);
  if (!page) co_return err;
  numbers::PortFilter f;
  auto tenant = tenant_filter(ctx, err);
  if (!tenant) co_return err;
  f.tenant_id = *tenant;
  f.status = ctx.query_param("status").value_or("");
  if (f.status.size() > 16)
    co_return problem(400, "bad_parameter", "Bad query parameter", "status is too long");
  f.after_id = page->after;
  f.limit = page->limit;
  auto r = co_await offload(d.pool, [&] { return d.ports.list(f); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  co_return page_response(*r, page->limit, [](const auto& x) { return port_json(x, true); });
}

awaitable<Response> admin_get_port(ApiDeps& d, RequestContext& ctx) {
  auto scope = staff_scope(ctx);
  auto p = co_await offload(d.pool, [&] { return d.ports.get(scope, ctx.param("id")); });
  if (!p) co_return problem_from_error(p.error(), ctx.request_id);
  co_return json_response(200, port_json(*p, true));
}

awaitable<Response> admin_port_document(ApiDeps& d, RequestContext& ctx) {
  auto scope = staff_scope(ctx);
  auto doc = co_await offload(
      d.pool, [&] { return d.ports.document(scope, ctx.param("id"), ctx.param("doc_id")); });
  if (!doc) co_return problem_from_error(doc.error(), ctx.request_id);
  Response r = http::text_response(200, std::move(doc->first), doc->second);
  r.set(http::bhttp::field::content_disposition, "attachment");
  r.set("X-Content-Type-Options", "nosniff");
  r.set(http::bhttp::field::cache_control, "private, no-store");
  co_return r;
}

awaitable<Response> admin_move_port(ApiDeps& d, RequestContext& ctx) {
  auto scope = staff_scope(ctx);
  // The request first: another tenant's id is 404 whatever the body.
  auto cur = co_await offload(d.pool, [&] { return d.ports.get(scope, ctx.param("id")); });
  if (!cur) co_return problem_from_error(cur.error(), ctx.request_id);
  auto body = http::read_json_object(ctx.req);
  if (body.error) co_return std::move(*body.error);
  http::FieldReader f(*body.object);
  f.reject_unknown({"status", "note", "trunk", "messaging_route", "monthly_price"});
  numbers::PortTransition t;
  auto status = f.string("status");
  if (!status) f.problems().push_back({"status", "is required"});
  t.note = f.string("note").value_or("");
  t.trunk = f.string("trunk").value_or("");
  t.messaging_route = f.string("messaging_route").value_or("");
  if (auto price = f.string("monthly_price")) {
    auto m = money::parse_micros(*price);
    if (!m || *m < 0)
      f.problems().push_back({"monthly_price", "must be a decimal such as \"1.00\""});
    else
      t.monthly_micros = *m;
  }
  if (t.note.size() > 1000) f.problems().push_back({"note", "at most 1000 bytes"});
  if (t.trunk.size() > 64 || t.messaging_route.size() > 64)
    f.problems().push_back({"trunk", "trunk and messaging_route are at most 64 bytes"});
  if (!f.problems().empty()) co_return http::validation_problem(f.problems());
  t.status = *status;
  t.actor = ctx.principal && !ctx.principal->user_id.empty() ? ctx.principal->user_id : "operator";
  auto p = co_await offload(d.pool, [&] { return d.ports.transition(scope, ctx.param("id"), t); });
  if (!p) co_return problem_from_error(p.error(), ctx.request_id);
  co_return json_response(200, port_json(*p, true));
}

}  // namespace

void register_number_routes(const AddRoute& add) {
  add(Verb::get, "/v1/numbers/available", search_available, user("numbers:read"),
      "Search numbers to buy (local pool and carriers)");
  add(Verb::post, "/v1/numbers/reservations", reserve_number, user("numbers:write"),
      "Hold a number for a few minutes while deciding");
  add(Verb::post, "/v1/numbers", purchase_number, user("numbers:write"),
      "Buy a number (Idempotency-Key required)");
  add(Verb::get, "/v1/numbers", list_numbers, user("numbers:read"), "The caller's numbers");
  add(Verb::get, "/v1/numbers/{id}", get_number, user("numbers:read"),
      "One of the caller's numbers");
  add(Verb::patch, "/v1/numbers/{id}", patch_number, user("numbers:write"), "Label a number");
  add(Verb::delete_, "/v1/numbers/{id}", release_number, user("numbers:write"),
      "Release a number (it ages before anyone else gets it)");
  add(Verb::get, "/v1/number-orders/{id}", get_order, user("numbers:read"), "A purchase order");

  add(Verb::get, "/v1/port-requests", list_ports, user("numbers:read"),
      "The caller's port-in requests");
  add(Verb::post, "/v1/port-requests", create_port, user("numbers:write"),
      "Ask to bring numbers from another carrier");
  add(Verb::get, "/v1/port-requests/{id}", get_port, user("numbers:read"), "A port-in request");
  add(Verb::delete_, "/v1/port-requests/{id}", cancel_port, user("numbers:write"),
      "Cancel a port-in request");
  add(Verb::post, "/v1/port-requests/{id}/documents", upload_port_document, user("numbers:write"),
      "Attach a document (PDF, PNG or JPEG) to a port-in request", 11 * 1024 * 1024);
  add(Verb::get, "/v1/admin/port-requests", admin_list_ports, staff(Role::support),
      "Port-in requests");
  add(Verb::get, "/v1/admin/port-requests/{id}", admin_get_port, staff(Role::support),
      "A port-in request");
  add(Verb::get, "/v1/admin/port-requests/{id}/documents/{doc_id}", admin_port_document,
      staff(Role::support), "Download a port-in request's document");
  add(Verb::patch, "/v1/admin/port-requests/{id}", admin_move_port, staff(Role::tenant_admin),
      "Move a port-in request along (completing it activates the numbers)");
  add(Verb::post, "/v1/admin/numbers/import", admin_import, staff(Role::tenant_admin),
      "Import local numbers from CSV (all rows or none)", 16 * 1024 * 1024);
  add(Verb::get, "/v1/admin/numbers", admin_list_numbers, staff(Role::support),
      "The number inventory");
  add(Verb::get, "/v1/admin/numbers/summary", admin_inventory_summary, staff(Role::support),
      "Inventory counts by state");
  add(Verb::get, "/v1/admin/numbers/{id}", admin_get_number, staff(Role::support), "A number");
  add(Verb::post, "/v1/admin/numbers/{id}/release", admin_release, staff(Role::tenant_admin),
      "Force the release of an assigned number");
  add(Verb::get, "/v1/admin/providers", admin_list_providers, staff(Role::tenant_admin),
      "Number providers configured for a tenant");
  add(Verb::put, "/v1/admin/providers/{name}", admin_put_provider, staff(Role::tenant_admin),
      "Configure a number provider (credentials are stored sealed)");
  add(Verb::delete_, "/v1/admin/providers/{name}", admin_delete_provider, staff(Role::tenant_admin),
      "Remove a number provider's settings");
}

}  // namespace rh::api
