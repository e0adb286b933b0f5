// Voice: users' SIP credentials, call rules, the call log, and the hooks the
// SIP edge (Kamailio) asks under /internal/sip/ (docs/voice.md).
#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/handlers.hpp"
#include "api/json_views.hpp"
#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "voice/service.hpp"

namespace rh::api {
namespace {

json::object credential_json(const voice::SipCredential& c, const std::string& domain) {
  json::array regs;
  for (const auto& r : c.registrations)
    regs.push_back(json::object{{"contact", r.contact},
                                {"user_agent", r.user_agent},
                                {"transport", r.transport},
                                {"address", r.src_ip},
                                {"expires_at", format_rfc3339(r.expires_at)},
                                {"registered_at", format_rfc3339(r.updated_at)}});
  return json::object{{"id", c.id},
                      {"username", c.username},
                      {"domain", domain},
                      {"label", c.label},
                      {"online", !c.registrations.empty()},
                      {"registrations", std::move(regs)},
                      {"created_at", format_rfc3339(c.created_at)},
                      {"rotated_at", format_rfc3339(c.rotated_at)}};
}

json::object issued_json(const voice::IssuedCredential& c) {
  auto o = credential_json(c.credential, c.domain);
  o["password"] = c.password;
  o["uri"] = "sip:" + c.credential.username + "@" + c.domain;
  return o;
}

json::object call_json(const voice::Call& c) {
  auto ts = [](std::int64_t ms) { return ms ? json::value(format_rfc3339(ms)) : json::value(nullptr); };
  return json::object{{"id", c.id},
                      {"direction", c.direction},
                      {"from", c.from},
                      {"to", c.to},
                      {"number_id", c.number_id},
                      {"status", c.status},
                      {"on_net", c.on_net},
                      {"sip_code", c.sip_code ? json::value(c.sip_code) : json::value(nullptr)},
                      {"reason", c.reason},
                      {"started_at", ts(c.started_at)},
                      {"answered_at", ts(c.answered_at)},
                      {"ended_at", ts(c.ended_at)},
                      {"duration_s", c.duration_s},
                      {"billed_s", c.billed_s},
                      {"cost_micros", c.cost_micros}};
}

awaitable<Response> list_credentials(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto r = co_await offload(d.pool, [&] { return d.voice->credentials(self); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  json::array out;
  for (const auto& c : *r) out.push_back(credential_json(c, d.voice->options().sip_domain));
  co_return json_response(200, json::object{{"data", std::move(out)}});
}

awaitable<Response> create_credential(ApiDeps& d, RequestContext& ctx) {
  std::string label;
  if (!ctx.req.body().empty()) {
    auto body = http::read_json_object(ctx.req);
    if (body.error) co_return std::move(*body.error);
    http::FieldReader f(*body.object);
    f.reject_unknown({"label"});
    label = f.string("label").value_or("");
    if (!f.problems().empty()) co_return http::validation_problem(f.problems());
  }
  auto self = self_scope(ctx);
  auto r = co_await offload(d.pool, [&] { return d.voice->create_credential(self, label); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  Response resp = json_response(201, issued_json(*r));
  resp.set(http::bhttp::field::location, "/v1/sip-credentials/" + r->credential.id);
  co_return resp;
}

awaitable<Response> get_credential(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  std::string id(ctx.param("id"));
  auto r = co_await offload(d.pool, [&] { return d.voice->credential(self, id); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  co_return json_response(200, credential_json(*r, d.voice->options().sip_domain));
}

awaitable<Response> rotate_credential(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  std::string id(ctx.param("id"));
  auto r = co_await offload(d.pool, [&] { return d.voice->rotate_credential(self, id); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  co_return json_response(200, issued_json(*r));
}

awaitable<Response> revoke_credential(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  std::string id(ctx.param("id"));
  auto r = co_await offload(d.pool, [&] { return d.voice->revoke_credential(self, id); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  co_return http::no_content();
}

Response rules_response(const std::string& canonical) {
  boost::system::error_code ec;
  auto v = json::parse(canonical, ec);
  return json_response(200, ec ? json::value(json::object{}) : v);
}

awaitable<Response> get_call_rules(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  std::string id(ctx.param("id"));
  auto r = co_await offload(d.pool, [&] { return d.voice->call_rules(self, id); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  co_return rules_response(*r);
}

awaitable<Response> put_call_rules(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  std::string id(ctx.param("id"));
  std::string body = ctx.req.body();
  std::vector<voice::RuleProblem> problems;
  auto r = co_await offload(d.pool,
                            [&] { return d.voice->set_call_rules(self, id, body, &problems); });
  if (!r && r.error().reason == "invalid_call_rules" && !problems.empty()) {
    // One entry per problem, each naming its field (docs/call-rules.md).
    std::vector<http::FieldProblem> errors;
    for (const auto& p : problems) errors.push_back({p.field, p.message});
    std::string detail = problems.front().field.empty()
                             ? problems.front().message
                             : problems.front().field + ": " + problems.front().message;
    if (problems.size() > 1) detail += fmt::format(" (and {} more)", problems.size() - 1);
    co_return http::problem(422, "invalid_call_rules", "The call rules are not valid", detail,
                            errors);
  }
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  co_return rules_response(*r);
}

awaitable<Response> list_calls(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto page = http::read_page(ctx, 50, 200, err);
  if (!page) co_return err;
  auto self = self_scope(ctx);
  auto r = co_await offload(d.pool, [&] { return d.voice->calls(self, page->after, page->limit); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  json::array out;
  for (const auto& c : r->calls) out.push_back(call_json(c));
  co_return json_response(200, page_json(std::move(out), r->next));
}

awaitable<Response> get_call(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  std::string id(ctx.param("id"));
  auto r = co_await offload(d.pool, [&] { return d.voice->call(self, id); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  co_return json_response(200, call_json(*r));
}

awaitable<Response> get_voice_settings(ApiDeps& d, RequestContext& ctx) {
  co_return co_await get_allow_list(
      d, ctx, [&](const std::string& t) { return d.voice->allowed_countries(t); });
}

awaitable<Response> put_voice_settings(ApiDeps& d, RequestContext& ctx) {
  co_return co_await put_allow_list(
      d, ctx, [&](const std::string& t, const std::vector<std::string>& c) {
        return d.voice->set_allowed_countries(t, c);
      });
}

// --- the edge's hooks -------------------------------------------------------

BlockingPool& hook_pool(ApiDeps& d) { return d.hook_pool ? *d.hook_pool : d.pool; }

// Only the SIP edge may ask: the right key, from one of its addresses. The
// key comes in X-Ringhouse-Edge-Key or as HTTP Basic credentials edge:KEY
// (Kamailio's http_client connections send those).
std::optional<Response> edge_refused(ApiDeps& d, RequestContext& ctx) {
  const auto& e = d.edge;
  bool from_edge = std::find(e.addresses.begin(), e.addresses.end(), ctx.remote_addr) !=
                   e.addresses.end();
  bool key_ok = false;
  if (!e.key.empty()) {
    if (auto header = ctx.header("X-Ringhouse-Edge-Key"); !header.empty()) {
      key_ok = crypto::constant_time_equal(std::string(header), e.key);
    } else if (auto auth = ctx.header("Authorization"); !auth.empty()) {
      key_ok = crypto::constant_time_equal(std::string(auth),
                                           "Basic " + crypto::base64_encode("edge:" + e.key));
    }
  }
  if (!d.voice || !from_edge || !key_ok)
    return problem(403, "forbidden", "Forbidden", "only the SIP edge may call this");
  return std::nullopt;
}

awaitable<Response> sip_auth(ApiDeps& d, RequestContext& ctx) {
  if (auto refused = edge_refused(d, ctx)) co_return std::move(*refused);
  std::string username = ctx.query_param("username").value_or("");
  auto r = co_await offload(hook_pool(d), [&] { return d.voice->ha1_of(username); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  if (!*r) co_return json_response(404, json::object{{"ha1", ""}});
  co_return json_response(200, json::object{{"ha1", **r}});
}

awaitable<Response> sip_route(ApiDeps& d, RequestContext& ctx) {
  if (auto refused = edge_refused(d, ctx)) co_return std::move(*refused);
  auto req = voice::parse_route_request(ctx.req.body());
  if (!req) co_return problem_from_error(req.error(), ctx.request_id);
  auto r = co_await offload(hook_pool(d), [&] { return d.voice->route(*req); });
  if (!r) {
    // The edge needs a SIP answer whatever happened: a clean 500 for the
    // caller (and a problem logged here), never a hang.
    voice::RouteDecision failed;
    failed.reject = true;
    failed.code = r.error().code == Errc::payment_required ? 402 : 500;
    failed.reason = r.error().code == Errc::payment_required ? "Payment Required"
                                                             : "Server Internal Error";
    Response resp(http::bhttp::status::ok, 11);
    resp.set(http::bhttp::field::content_type, "application/json");
    resp.body() = voice::route_json(failed);
    resp.prepare_payload();
    co_return resp;
  }
  Response resp(http::bhttp::status::ok, 11);
  resp.set(http::bhttp::field::content_type, "application/json");
  resp.body() = voice::route_json(*r);
  resp.prepare_payload();
  co_return resp;
}

awaitable<Response> sip_events(ApiDeps& d, RequestContext& ctx) {
  if (auto refused = edge_refused(d, ctx)) co_return std::move(*refused);
  auto ev = voice::parse_edge_event(ctx.req.body());
  if (!ev) co_return problem_from_error(ev.error(), ctx.request_id);
  auto r = co_await offload(hook_pool(d), [&]() -> Status {
    if (ev->registration) return d.voice->registered(*ev->registration);
    return d.voice->call_event(*ev->call);
  });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  co_return http::no_content();
}

}  // namespace

void register_voice_routes(const AddRoute& add) {
  add(Verb::get, "/v1/sip-credentials", list_credentials, user(),
      "Your devices' SIP credentials, with the devices online now");
  add(Verb::post, "/v1/sip-credentials", create_credential, user(),
      "New SIP credentials for a device (the password is shown once)");
  add(Verb::get, "/v1/sip-credentials/{id}", get_credential, user(), "One SIP credential");
  add(Verb::post, "/v1/sip-credentials/{id}/rotate", rotate_credential, user(),
      "A new password for a SIP credential (the old one stops working)");
  add(Verb::delete_, "/v1/sip-credentials/{id}", revoke_credential, user(),
      "Revoke a SIP credential");
  add(Verb::get, "/v1/numbers/{id}/call-rules", get_call_rules, user("numbers:read"),
      "The call rules of one of your numbers");
  add(Verb::put, "/v1/numbers/{id}/call-rules", put_call_rules, user("numbers:write"),
      "Replace the call rules of one of your numbers");
  add(Verb::get, "/v1/calls", list_calls, user("calls:read"), "Your call log, newest first");
  add(Verb::get, "/v1/calls/{id}", get_call, user("calls:read"), "One call");
  add(Verb::get, "/v1/admin/voice/settings", get_voice_settings, staff(Role::tenant_admin),
      "The tenant's call destination allow-list");
  add(Verb::put, "/v1/admin/voice/settings", put_voice_settings, staff(Role::tenant_admin),
      "Replace the tenant's call destination allow-list");
  add(Verb::get, "/internal/sip/auth", sip_auth, anyone(),
      "SIP edge: the HA1 of a device's credentials");
  add(Verb::post, "/internal/sip/route", sip_route, anyone(),
      "SIP edge: where a call goes (an rtjson routing document)");
  add(Verb::post, "/internal/sip/events", sip_events, anyone(),
      "SIP edge: registrations and dialog events");
}

}  // namespace rh::api
