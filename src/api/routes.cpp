#include <fmt/format.h>

#include <boost/json.hpp>

#include "accounts/auth.hpp"
#include "accounts/tenants.hpp"
#include "api/api.hpp"
#include "api/handlers.hpp"
#include "api/json_views.hpp"
#include "core/crypto.hpp"
#include "http/problem.hpp"
#include "http/web_app.hpp"
#include "jobs/builtin_jobs.hpp"
#include "jobs/job_queue.hpp"
#include "jobs/outbox.hpp"
#include "messaging/media.hpp"
#include "storage/database.hpp"

namespace rh::api {

// ---- access control, in one place -------------------------------------

namespace {

std::string_view bearer_of(const RequestContext& ctx) {
  auto auth = ctx.header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() <= kBearer.size() ||
      !std::equal(kBearer.begin(), kBearer.end(), auth.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
    return {};
  auto token = auth.substr(kBearer.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  return token;
}

Response challenge(std::string_view code, std::string_view detail, std::string_view error = {}) {
  Response r = problem(401, code, "Authentication required", detail);
  std::string h = "Bearer realm=\"ringhouse\"";
  if (!error.empty()) h += ", error=\"" + std::string(error) + "\"";
  r.set(http::bhttp::field::www_authenticate, h);
  return r;
}

Response forbidden(std::string_view code, std::string_view detail) {
  return problem(403, code, "Forbidden", detail);
}

// Decides whether the caller may use the route; fills ctx.principal.
awaitable<std::optional<Response>> authorize(ApiDeps& d, RequestContext& ctx) {
  const http::Policy& policy = ctx.route->info.policy;
  if (policy.access == http::Access::anonymous) co_return std::nullopt;
  std::string_view bearer = bearer_of(ctx);
  if (bearer.empty())
    co_return challenge("unauthorized", "send a token as Authorization: Bearer <token>");
  if (bearer.size() > 4096)
    co_return challenge("invalid_token", "the token is not valid", "invalid_token");
  bool is_operator = !d.operator_token_hash.empty() &&
                     crypto::constant_time_equal(crypto::sha256(bearer), d.operator_token_hash);
  if (policy.access == http::Access::internal) {
    if (!is_operator)
      co_return challenge("invalid_token", "the token is not valid", "invalid_token");
    co_return std::nullopt;
  }
  Principal p;
  if (is_operator) {
    p.kind = Principal::Kind::operator_token;
    p.role = Role::platform_admin;
    p.mfa = true;
  } else if (auto cached = d.auth.authenticate_cached(bearer)) {
    p = std::move(*cached);  // remembered: no database round trip
  } else {
    std::string token(bearer);
    accounts::ClientInfo client{client_ip(d, ctx), std::string(ctx.header("User-Agent"))};
    auto r = co_await offload(d.pool, [&] { return d.auth.authenticate(token, client); });
    if (!r) {
      if (r.error().code == Errc::unauthorized)
        co_return challenge(r.error().reason.empty() ? "invalid_token" : r.error().reason,
                            r.error().message, "invalid_token");
      co_return problem_from_error(r.error(), ctx.request_id);
    }
    p = std::move(*r);
  }
  if (policy.access == http::Access::user) {
    if (p.kind == Principal::Kind::operator_token)
      co_return forbidden("user_required",
                          "this route acts for a signed-in user; the operator token has none");
    if (p.kind == Principal::Kind::api_key) {
      if (policy.scope.empty())
        co_return forbidden("api_key_not_allowed",
                            "API keys cannot call this route: sign in instead");
      if (!p.has_scope(policy.scope)) {
        Response r = forbidden("insufficient_scope", "the API key lacks the scope " + policy.scope);
        r.set(http::bhttp::field::www_authenticate,
              "Bearer realm=\"ringhouse\", error=\"insufficient_scope\", scope=\"" + policy.scope +
                  "\"");
        co_return r;
      }
    }
  } else {  // staff
    if (p.kind == Principal::Kind::api_key)
      co_return forbidden("api_key_not_allowed", "API keys cannot call staff routes");
    if (p.effective_role() < policy.min_role) {
      if (p.role >= policy.min_role)
        co_return forbidden("totp_required",
                            "staff roles need two-step verification: turn it on (POST "
                            "/v1/me/totp) and sign in with a code");
      co_return forbidden("forbidden",
                          std::string("this route needs the role ") + role_name(policy.min_role));
    }
  }
  ctx.principal = std::move(p);
  co_return std::nullopt;
}

awaitable<Response> guarded(ApiDeps& d, RouteFn fn, RequestContext& ctx) {
  if (auto denied = co_await authorize(d, ctx)) co_return std::move(*denied);
  co_return co_await fn(d, ctx);
}

}  // namespace

json::object page_json(json::array data, const std::string& next) {
  return {{"data", std::move(data)},
          {"next", next.empty() ? json::value(nullptr) : json::value(next)}};
}

UserScope self_scope(const RequestContext& ctx) {
  // Only user routes call this, after authorize() set a user principal.
  return UserScope{ctx.principal->tenant_id, ctx.principal->user_id};
}

TenantScope staff_scope(const RequestContext& ctx) {
  const Principal& p = *ctx.principal;
  if (p.effective_role() == Role::platform_admin) return TenantScope{};
  return TenantScope{p.tenant_id};
}

std::string client_ip(const ApiDeps& d, const RequestContext& ctx) {
  std::string ip = ctx.remote_addr;
  auto trusted = [&](const std::string& a) {
    return std::find(d.trusted_proxies.begin(), d.trusted_proxies.end(), a) !=
           d.trusted_proxies.end();
  };
  if (!trusted(ip)) return ip;
  // The right-most address a trusted proxy did not add.
  std::string_view xff = ctx.header("X-Forwarded-For");
  while (!xff.empty()) {
    auto comma = xff.rfind(',');
    std::string_view part = comma == std::string_view::npos ? xff : xff.substr(comma + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (part.empty() || part.size() > 45) break;
    ip = std::string(part);
    if (!trusted(ip)) break;
    if (comma == std::string_view::npos) break;
    xff = xff.substr(0, comma);
  }
  return ip;
}

bool forwarded_https(const ApiDeps& d, const RequestContext& ctx) {
  if (std::find(d.trusted_proxies.begin(), d.trusted_proxies.end(), ctx.remote_addr) ==
      d.trusted_proxies.end())
    return false;
  // The right-most value: the one our proxy added.
  std::string_view proto = ctx.header("X-Forwarded-Proto");
  proto = proto.substr(proto.rfind(',') == std::string_view::npos ? 0 : proto.rfind(',') + 1);
  while (!proto.empty() && proto.front() == ' ') proto.remove_prefix(1);
  while (!proto.empty() && proto.back() == ' ') proto.remove_suffix(1);
  return proto.size() == 5 && std::equal(proto.begin(), proto.end(), "https", [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

namespace {

// ---- operations ---------------------------------------------------------

awaitable<Response> healthz(ApiDeps& d, RequestContext&) {
  co_return json_response(200, json::object{{"status", "ok"}, {"version", d.version}});
}

awaitable<Response> readyz(ApiDeps& d, RequestContext&) {
  if (d.draining()) {
    co_return json_response(503, json::object{{"status", "draining"}});
  }
  Status db = co_await offload(d.pool, [&] { return d.db.ping(); });
  json::object checks{{"database", db ? "ok" : db.error().message}};
  co_return json_response(db ? 200 : 503, json::object{{"status", db ? "ready" : "not_ready"},
                                                       {"checks", std::move(checks)}});
}

awaitable<Response> metrics_text(ApiDeps& d, RequestContext&) {
  // Collectors may query the database: off the I/O thread.
  std::string body = co_await offload(d.pool, [&] { return d.metrics.render(); });
  co_return http::text_response(200, std::move(body), "text/plain; version=0.0.4; charset=utf-8");
}

awaitable<Response> openapi(ApiDeps&, RequestContext&) {
  co_return http::text_response(200, openapi_document(), "application/json");
}

// ---- tenants ------------------------------------------------------------

// Where browsers register for calls (JsSIP over WebSocket), or null.
json::value browser_sip_json(const ApiDeps& d, std::string_view host) {
  auto sip = d.voice ? voice::browser_sip(d.browser_sip, host) : std::nullopt;
  if (!sip) return nullptr;
  auto url = [](const std::string& u) { return u.empty() ? json::value(nullptr) : json::value(u); };
  return json::object{
      {"domain", sip->domain}, {"ws_url", url(sip->ws_url)}, {"wss_url", url(sip->wss_url)}};
}

awaitable<Response> branding(ApiDeps& d, RequestContext& ctx) {
  std::string host(ctx.header("Host"));
  auto t = co_await offload(d.pool, [&] { return d.tenants.resolve_host(host); });
  if (!t) co_return problem_from_error(t.error(), ctx.request_id);
  json::object body = branding_json(*t);
  body["sip"] = browser_sip_json(d, host);
  Response r = json_response(200, body);
  r.set(http::bhttp::field::cache_control, "public, max-age=60");
  r.set(http::bhttp::field::vary, "Host");
  co_return r;
}

// The web app's manifest in the Host tenant's name and colours, so that an
// installed app carries each operator's brand without a rebuild.
awaitable<Response> web_manifest(ApiDeps& d, RequestContext& ctx) {
  std::string host(ctx.header("Host"));
  auto t = co_await offload(d.pool, [&] { return d.tenants.resolve_host(host); });
  if (!t) co_return problem_from_error(t.error(), ctx.request_id);
  const std::string& name = t->brand_name();
  std::string color = t->branding.primary_color.empty() ? "#0b6bcb" : t->branding.primary_color;
  auto icon = [](const char* src, const char* sizes, const char* type, const char* purpose) {
    return json::object{{"src", src}, {"sizes", sizes}, {"type", type}, {"purpose", purpose}};
  };
  json::object m{
      {"name", name},
      {"short_name", name.size() <= 12 ? name : name.substr(0, 12)},
      {"description", "Calls and texts with your second number."},
      {"id", "/"},
      {"start_url", "/messages"},
      {"scope", "/"},
      {"display", "standalone"},
      {"background_color", "#ffffff"},
      {"theme_color", color},
      {"categories", json::array{"communication", "social"}},
      {"icons", json::array{icon("/icons/icon.svg", "any", "image/svg+xml", "any"),
                            icon("/icons/icon-192.png", "192x192", "image/png", "any"),
                            icon("/icons/icon-512.png", "512x512", "image/png", "any"),
                            icon("/icons/maskable-512.png", "512x512", "image/png", "maskable")}}};
  Response r = http::text_response(200, json::serialize(m), "application/manifest+json");
  r.set(http::bhttp::field::cache_control, "public, max-age=300");
  r.set(http::bhttp::field::vary, "Host");
  co_return r;
}

// Reads a tenant create/patch body into TenantInput; returns a 4xx on bad input.
std::optional<Response> read_tenant_input(const RequestContext& ctx, accounts::TenantInput& in) {
  auto body = http::read_json_object(ctx.req);
  if (body.error) return std::move(*body.error);
  http::FieldReader f(*body.object);
  f.reject_unknown(
      {"slug", "name", "status", "default_country", "currency", "hostnames", "branding", "limits"});
  in.slug = f.string("slug");
  in.name = f.string("name");
  in.status = f.string("status");
  in.default_country = f.string("default_country");
  in.currency = f.string("currency");
  in.hostnames = f.string_list("hostnames");
  if (const auto* b = f.object("branding")) {
    http::FieldReader bf(*b, "branding");
    bf.reject_unknown({"display_name", "logo_url", "primary_color", "accent_color", "support_email",
                       "support_url", "terms_url", "privacy_url"});
    in.display_name = bf.string("display_name");
    in.logo_url = bf.string("logo_url");
    in.primary_color = bf.string("primary_color");
    in.accent_color = bf.string("accent_color");
    in.support_email = bf.string("support_email");
    in.support_url = bf.string("support_url");
    in.terms_url = bf.string("terms_url");
    in.privacy_url = bf.string("privacy_url");
    f.merge(bf);
  }
  if (const auto* l = f.object("limits")) {
    http::FieldReader lf(*l, "limits");
    lf.reject_unknown({"max_numbers_per_user", "max_devices_per_user", "max_messages_per_day"});
    in.max_numbers_per_user = lf.integer("max_numbers_per_user");
    in.max_devices_per_user = lf.integer("max_devices_per_user");
    in.max_messages_per_day = lf.integer("max_messages_per_day");
    f.merge(lf);
  }
  if (!f.problems().empty()) return http::validation_problem(f.problems());
  return std::nullopt;
}

awaitable<Response> list_tenants(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto page = http::read_page(ctx, 50, 200, err);
  if (!page) co_return err;
  auto r = co_await offload(d.pool, [&] { return d.tenants.list(page->after, page->limit); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  json::array arr;
  for (const auto& t : *r) arr.push_back(tenant_json(t));
  std::string next = static_cast<int>(r->size()) == page->limit ? r->back().id : "";
  co_return json_response(200, page_json(std::move(arr), next));
}

awaitable<Response> create_tenant(ApiDeps& d, RequestContext& ctx) {
  accounts::TenantInput in;
  if (auto bad = read_tenant_input(ctx, in)) co_return std::move(*bad);
  std::vector<http::FieldProblem> missing;
  if (!in.slug) missing.push_back({"slug", "is required"});
  if (!in.name) missing.push_back({"name", "is required"});
  if (!missing.empty()) co_return http::validation_problem(missing);
  auto t = co_await offload(d.pool, [&] { return d.tenants.create(in); });
  if (!t) co_return problem_from_error(t.error(), ctx.request_id);
  Response r = json_response(201, tenant_json(*t));
  r.set(http::bhttp::field::location, "/v1/admin/tenants/" + t->id);
  co_return r;
}

awaitable<Response> get_tenant(ApiDeps& d, RequestContext& ctx) {
  auto t = co_await offload(d.pool, [&] { return d.tenants.get(ctx.param("id")); });
  if (!t) co_return problem_from_error(t.error(), ctx.request_id);
  co_return json_response(200, tenant_json(*t));
}

awaitable<Response> patch_tenant(ApiDeps& d, RequestContext& ctx) {
  accounts::TenantInput in;
  if (auto bad = read_tenant_input(ctx, in)) co_return std::move(*bad);
  auto t = co_await offload(d.pool, [&] { return d.tenants.update(ctx.param("id"), in); });
  if (!t) co_return problem_from_error(t.error(), ctx.request_id);
  co_return json_response(200, tenant_json(*t));
}

// ---- jobs and events ----------------------------------------------------

// Kinds an operator may enqueue by hand.
bool admin_enqueueable(const std::string& kind) {
  return kind == "diag.probe" || kind == "maintenance.prune";
}

awaitable<Response> list_jobs(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto page = http::read_page(ctx, 50, 500, err);
  if (!page) co_return err;
  jobs::JobFilter f;
  f.state = ctx.query_param("state").value_or("");
  f.kind = ctx.query_param("kind").value_or("");
  static const std::vector<std::string> kStates{"queued", "running", "done", "dead", "cancelled"};
  if (!f.state.empty() && std::find(kStates.begin(), kStates.end(), f.state) == kStates.end()) {
    co_return problem(400, "bad_parameter", "Bad query parameter",
                      "state must be one of queued, running, done, dead, cancelled");
  }
  f.after_id = page->after;
  f.limit = page->limit;
  auto r = co_await offload(d.pool, [&] { return d.queue.list(f); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  json::array arr;
  for (const auto& j : *r) arr.push_back(job_json(j));
  std::string next = static_cast<int>(r->size()) == page->limit ? r->back().id : "";
  co_return json_response(200, page_json(std::move(arr), next));
}

awaitable<Response> enqueue_job(ApiDeps& d, RequestContext& ctx) {
  auto body = http::read_json_object(ctx.req);
  if (body.error) co_return std::move(*body.error);
  http::FieldReader f(*body.object);
  f.reject_unknown({"kind", "payload", "run_at", "max_attempts", "priority", "unique_key"});
  auto kind = f.string("kind");
  const json::object* payload = f.object("payload");
  auto run_at = f.string("run_at");
  auto max_attempts = f.integer("max_attempts");
  auto priority = f.integer("priority");
  auto unique_key = f.string("unique_key");
  if (!kind)
    f.problems().push_back({"kind", "is required"});
  else if (!admin_enqueueable(*kind))
    f.problems().push_back({"kind", "must be one of diag.probe, maintenance.prune"});
  jobs::JobSpec spec;
  if (payload) spec.payload = json::serialize(*payload);
  if (kind && *kind == "diag.probe") {
    if (Status st = jobs::check_probe_payload(spec.payload); !st)
      f.problems().push_back({"payload", st.error().message});
  }
  if (run_at) {
    auto t = parse_rfc3339(*run_at);
    if (!t)
      f.problems().push_back({"run_at", "must be an RFC 3339 time such as 2026-11-25T21:00:00Z"});
    else
      spec.run_at_ms = *t;
  }
  if (max_attempts && (*max_attempts < 1 || *max_attempts > 100))
    f.problems().push_back({"max_attempts", "must be from 1 to 100"});
  if (priority && (*priority < -100 || *priority > 100))
    f.problems().push_back({"priority", "must be from -100 to 100"});
  if (unique_key && (unique_key->empty() || unique_key->size() > 191))
    f.problems().push_back({"unique_key", "must be 1 to 191 bytes"});
  if (!f.problems().empty()) co_return http::validation_problem(f.problems());
  spec.kind = *kind;
  spec.max_attempts = max_attempts ? static_cast<int>(*max_attempts) : 0;
  spec.priority = priority ? static_cast<int>(*priority) : 0;
  if (unique_key) spec.unique_key = *unique_key;
  auto job = co_await offload(d.pool, [&]() -> Result<jobs::Job> {
    RH_ASSIGN(std::string id, d.queue.enqueue(spec));
    return d.queue.get(id);
  });
  if (!job) co_return problem_from_error(job.error(), ctx.request_id);
  if (d.jobs_enqueued) d.jobs_enqueued();
  Response r = json_response(201, job_json(*job));
  r.set(http::bhttp::field::location, "/v1/admin/jobs/" + job->id);
  co_return r;
}

awaitable<Response> get_job(ApiDeps& d, RequestContext& ctx) {
  auto r = co_await offload(d.pool, [&] { return d.queue.get(ctx.param("id")); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  co_return json_response(200, job_json(*r));
}

awaitable<Response> retry_job(ApiDeps& d, RequestContext& ctx) {
  auto r = co_await offload(d.pool, [&] { return d.queue.retry(ctx.param("id")); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  if (d.jobs_enqueued) d.jobs_enqueued();
  co_return json_response(200, job_json(*r));
}

awaitable<Response> cancel_job(ApiDeps& d, RequestContext& ctx) {
  auto r = co_await offload(d.pool, [&] { return d.queue.cancel(ctx.param("id")); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  co_return json_response(200, job_json(*r));
}

awaitable<Response> job_runs(ApiDeps& d, RequestContext& ctx) {
  auto r = co_await offload(d.pool, [&]() -> Result<std::vector<jobs::ProbeRun>> {
    RH_TRY(d.queue.get(ctx.param("id")));
    return jobs::probe_runs(d.db, ctx.param("id"));
  });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  json::array arr;
  for (const auto& run : *r) arr.push_back(probe_run_json(run));
  co_return json_response(200, page_json(std::move(arr), ""));
}

awaitable<Response> queue_summary(ApiDeps& d, RequestContext& ctx) {
  auto r = co_await offload(d.pool, [&]() -> Result<json::object> {
    RH_ASSIGN(auto counts, d.queue.counts());
    RH_ASSIGN(auto schedules, d.queue.schedules());
    json::object c;
    for (const auto& [state, n] : counts) c[state] = n;
    json::array s;
    for (const auto& sc : schedules) {
      s.push_back(json::object{{"name", sc.name},
                               {"kind", sc.kind},
                               {"interval_seconds", sc.interval_s},
                               {"next_run_at", format_rfc3339(sc.next_run_at)}});
    }
    return json::object{{"counts", std::move(c)}, {"schedules", std::move(s)}};
  });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  co_return json_response(200, *r);
}

awaitable<Response> list_events(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto page = http::read_page(ctx, 50, 500, err);
  if (!page) co_return err;
  jobs::EventFilter f;
  f.type = ctx.query_param("type").value_or("");
  f.tenant_id = ctx.query_param("tenant_id").value_or("");
  f.limit = page->limit;
  if (!page->after.empty()) {
    try {
      std::size_t used = 0;
      f.after_seq = std::stoll(page->after, &used);
      if (used != page->after.size() || f.after_seq < 0) throw std::invalid_argument("after");
    } catch (const std::exception&) {
      co_return problem(400, "bad_parameter", "Bad query parameter",
                        "after must be an event seq number");
    }
  }
  auto r = co_await offload(d.pool, [&] { return jobs::list_events(d.db, f); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  json::array arr;
  for (const auto& e : *r) arr.push_back(event_json(e));
  std::string next =
      static_cast<int>(r->size()) == page->limit ? std::to_string(r->back().seq) : "";
  co_return json_response(200, page_json(std::move(arr), next));
}

// ---- the web app ----------------------------------------------------------

awaitable<Response> web_app_file(ApiDeps& d, RequestContext& ctx) {
  const bool https = forwarded_https(d, ctx);
  co_return co_await offload(d.pool, [&] { return d.web->serve(ctx.req, ctx.path, https); });
}

std::string access_name(const http::Policy& p) {
  switch (p.access) {
    case http::Access::anonymous:
      return "anonymous";
    case http::Access::user:
      return p.scope.empty() ? "user" : "user or API key with " + p.scope;
    case http::Access::staff:
      return std::string("staff: ") + role_name(p.min_role);
    case http::Access::internal:
      return "internal";
  }
  return "?";
}

awaitable<Response> list_routes(ApiDeps& d, RequestContext&) {
  json::array arr;
  if (d.router) {
    for (const auto& r : d.router->routes()) {
      arr.push_back(json::object{{"method", std::string(http::bhttp::to_string(r->method))},
                                 {"path", r->pattern},
                                 {"access", access_name(r->info.policy)},
                                 {"summary", r->info.summary}});
    }
  }
  co_return json_response(200, page_json(std::move(arr), ""));
}

}  // namespace

void register_routes(http::Router& router, ApiDeps& deps) {
  AddRoute add{[&](Verb v, const char* pattern, RouteFn fn, http::Policy policy,
                   const char* summary, std::size_t max_body) {
    router.add(
        v, pattern, [&deps, fn](RequestContext& ctx) { return guarded(deps, fn, ctx); },
        http::RouteInfo{summary, std::move(policy), max_body});
  }};
  const auto operator_only = staff(Role::platform_admin);
  add(Verb::get, "/healthz", healthz, anyone(), "Liveness");
  add(Verb::get, "/readyz", readyz, anyone(), "Readiness (database reachable, not draining)");
  add(Verb::get, "/metrics", metrics_text, anyone(), "Prometheus metrics");
  add(Verb::get, "/v1/openapi.json", openapi, anyone(), "This API's OpenAPI document");
  add(Verb::get, "/v1/branding", branding, anyone(), "Public branding of the Host's tenant");
  add(Verb::get, "/v1/branding/manifest.webmanifest", web_manifest, anyone(),
      "The web app's manifest in the Host tenant's brand");

  add(Verb::get, "/v1/admin/tenants", list_tenants, operator_only, "List tenants");
  add(Verb::post, "/v1/admin/tenants", create_tenant, operator_only, "Create a tenant");
  add(Verb::get, "/v1/admin/tenants/{id}", get_tenant, operator_only, "Get a tenant");
  add(Verb::patch, "/v1/admin/tenants/{id}", patch_tenant, operator_only, "Update a tenant");

  add(Verb::get, "/v1/admin/jobs", list_jobs, operator_only, "List jobs");
  add(Verb::post, "/v1/admin/jobs", enqueue_job, operator_only, "Enqueue a job");
  add(Verb::get, "/v1/admin/jobs/{id}", get_job, operator_only, "Get a job");
  add(Verb::post, "/v1/admin/jobs/{id}/retry", retry_job, operator_only, "Retry a dead job");
  add(Verb::post, "/v1/admin/jobs/{id}/cancel", cancel_job, operator_only, "Cancel a queued job");
  add(Verb::get, "/v1/admin/jobs/{id}/probe-runs", job_runs, operator_only,
      "Runs recorded by a diag.probe job");
  add(Verb::get, "/v1/admin/queue", queue_summary, operator_only,
      "Job counts by state and schedules");
  add(Verb::get, "/v1/admin/events", list_events, operator_only, "List outbox events");
  add(Verb::get, "/v1/admin/routes", list_routes, operator_only,
      "Every route this server answers, with who may call it");
  register_account_routes(add);
  register_number_routes(add);
  register_billing_routes(add);
  register_media_routes(add, deps.media.options().max_bytes);
  register_message_routes(add);
  register_voice_routes(add);
  register_event_routes(add);
  if (deps.web) {
    // Every other GET is the browser app's, outside the API's own paths.
    router.set_fallback(
        [&deps](RequestContext& ctx) { return web_app_file(deps, ctx); },
        http::RouteInfo{"The web app's files", anyone()},
        {"/v1/", "/internal/", "/hooks/", "/media/", "/healthz", "/readyz", "/metrics"});
  }
  deps.router = &router;
}

}  // namespace rh::api
