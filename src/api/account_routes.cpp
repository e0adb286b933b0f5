// Accounts over HTTP: sign-up and sign-in (auth/*), the caller's own account
// (me, sessions, api-keys) and staff routes for users and the mail log.
// Password hashing runs on its own pool, bounded, so that a login flood
// cannot starve database work.
#include <fmt/format.h>

#include <boost/json.hpp>

#include "accounts/auth.hpp"
#include "accounts/mail.hpp"
#include "accounts/tenants.hpp"
#include "accounts/users.hpp"
#include "api/handlers.hpp"
#include "api/json_views.hpp"

namespace rh::api {

namespace {

Response no_store(Response r) {
  r.set(http::bhttp::field::cache_control, "no-store");
  return r;
}

Response accepted(std::string_view detail) {
  return json_response(202, json::object{{"status", "accepted"}, {"detail", detail}});
}

// The tenant of the request's Host; refuses a suspended tenant.
awaitable<Result<accounts::Tenant>> request_tenant(ApiDeps& d, const RequestContext& ctx) {
  std::string host(ctx.header("Host"));
  auto t = co_await offload(d.pool, [&] { return d.tenants.resolve_host(host); });
  if (t && t->status != "active")
    co_return make_reason(Errc::forbidden, "tenant_suspended", "this service is suspended");
  co_return t;
}

// Where links in emails point. The Host header is used only when it is one of
// the tenant's own hostnames, so that a forged Host cannot redirect a reset
// link elsewhere.
std::string link_base(const ApiDeps& d, const RequestContext& ctx, const accounts::Tenant& t) {
  const std::string& configured = d.auth.options().app_url;
  if (!configured.empty()) return configured;
  if (!t.hostnames.empty()) {
    // Rebuilt from the matched hostname and a numeric port only: the raw
    // header could carry "host:1@evil.example/".
    const std::string& h = t.hostnames.front();
    std::string_view raw = ctx.header("Host");
    std::string port;
    if (auto colon = raw.rfind(':'); colon != std::string_view::npos && raw.back() != ']') {
      auto digits = raw.substr(colon + 1);
      if (!digits.empty() && digits.size() <= 5 &&
          std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        port = ":" + std::string(digits);
    }
    bool local = h == "localhost" || h == "127.0.0.1" || h.ends_with(".localhost");
    std::string scheme = d.public_url.rfind("https:", 0) == 0 || !local ? "https" : "http";
    return scheme + "://" + h + port;
  }
  return d.public_url;
}

// Counts work waiting on the hashing pool; refuses when it is too deep.
class HashSlot {
 public:
  explicit HashSlot(ApiDeps& d) : d_(d) {
    int limit = static_cast<int>(std::max<std::size_t>(1, d.hash_threads) * 16);
    ok_ = d_.hashes_waiting.fetch_add(1) < limit;
  }
  ~HashSlot() { d_.hashes_waiting.fetch_sub(1); }
  HashSlot(const HashSlot&) = delete;
  HashSlot& operator=(const HashSlot&) = delete;
  bool ok() const { return ok_; }

 private:
  ApiDeps& d_;
  bool ok_ = false;
};

Error busy() {
  Error e = make_reason(Errc::unavailable, "busy", "too many sign-ins at once; try again shortly");
  e.retry_after_s = 1;
  return e;
}

awaitable<Result<std::string>> hash_password(ApiDeps& d, std::string pw) {
  HashSlot slot(d);
  if (!slot.ok()) co_return busy();
  co_return co_await offload(d.hash_pool, [&] { return d.auth.hash_password(pw); });
}

awaitable<Result<bool>> check_password(ApiDeps& d, const accounts::LoginCandidate& c,
                                       std::string pw) {
  HashSlot slot(d);
  if (!slot.ok()) co_return busy();
  bool ok = co_await offload(d.hash_pool, [&] { return d.auth.check_password(c, pw); });
  co_return ok;
}

accounts::ClientInfo client_of(const ApiDeps& d, const RequestContext& ctx) {
  return {client_ip(d, ctx), std::string(ctx.header("User-Agent")).substr(0, 255)};
}

// Reads the listed string fields of a JSON body; `required` ones must be present.
struct Fields {
  std::optional<Response> error;
  std::map<std::string, std::string, std::less<>> values;
  const std::string& operator[](std::string_view k) const {
    static const std::string kEmpty;
    auto it = values.find(k);
    return it == values.end() ? kEmpty : it->second;
  }
  bool has(std::string_view k) const { return values.count(k) != 0; }
};

Fields read_fields(const RequestContext& ctx, std::initializer_list<std::string_view> required,
                   std::initializer_list<std::string_view> optional) {
  Fields out;
  auto body = http::read_json_object(ctx.req);
  if (body.error) {
    out.error = std::move(*body.error);
    return out;
  }
  http::FieldReader f(*body.object);
  std::vector<std::string_view> known(required);
  known.insert(known.end(), optional.begin(), optional.end());
  f.reject_unknown(known);
  for (auto k : known) {
    if (auto v = f.string(k)) out.values.emplace(std::string(k), std::move(*v));
  }
  for (auto k : required)
    if (!out.has(k) && !body.object->contains(k))
      f.problems().push_back({std::string(k), "is required"});
  if (!f.problems().empty()) out.error = http::validation_problem(f.problems());
  return out;
}

// ---- auth/* ----------------------------------------------------------------

awaitable<Response> signup(ApiDeps& d, RequestContext& ctx) {
  if (!d.auth.options().signup_enabled)
    co_return problem(403, "signup_disabled", "Forbidden", "sign-up is closed on this service");
  auto f = read_fields(ctx, {"email", "password"}, {"display_name"});
  if (f.error) co_return std::move(*f.error);
  auto email = accounts::normalise_email(f["email"]);
  if (!email) co_return problem_from_error(email.error(), ctx.request_id);
  if (auto st =
          accounts::check_new_password(f["password"], *email, d.auth.options().password_min_length);
      !st)
    co_return problem_from_error(st.error(), ctx.request_id);
  if (f["display_name"].size() > 100)
    co_return http::validation_problem({{"display_name", "must be at most 100 bytes"}});
  auto tenant = co_await request_tenant(d, ctx);
  if (!tenant) co_return problem_from_error(tenant.error(), ctx.request_id);
  auto hash = co_await hash_password(d, f["password"]);
  if (!hash) co_return problem_from_error(hash.error(), ctx.request_id);
  std::string base = link_base(d, ctx, *tenant);
  auto st = co_await offload(
      d.pool, [&] { return d.auth.signup(tenant->id, *email, *hash, f["display_name"], base); });
  if (!st) co_return problem_from_error(st.error(), ctx.request_id);
  co_return accepted("check your email for a link to confirm your address");
}

awaitable<Response> verify_email(ApiDeps& d, RequestContext& ctx) {
  auto f = read_fields(ctx, {"token"}, {});
  if (f.error) co_return std::move(*f.error);
  auto u = co_await offload(d.pool, [&] { return d.auth.verify_email(f["token"]); });
  if (!u) co_return problem_from_error(u.error(), ctx.request_id);
  co_return json_response(200, user_json(*u));
}

awaitable<Response> resend_verification(ApiDeps& d, RequestContext& ctx) {
  auto f = read_fields(ctx, {"email"}, {});
  if (f.error) co_return std::move(*f.error);
  auto tenant = co_await request_tenant(d, ctx);
  if (!tenant) co_return problem_from_error(tenant.error(), ctx.request_id);
  std::string base = link_base(d, ctx, *tenant);
  auto st = co_await offload(
      d.pool, [&] { return d.auth.resend_verification(tenant->id, f["email"], base); });
  if (!st) co_return problem_from_error(st.error(), ctx.request_id);
  co_return accepted("if the address has an unconfirmed account, a new link is on its way");
}

void count_login(ApiDeps& d, std::string_view outcome) {
  d.metrics
      .counter("ringhouse_auth_logins_total", "Sign-in attempts by outcome",
               {{"outcome", std::string(outcome)}})
      .inc();
}

awaitable<Response> login(ApiDeps& d, RequestContext& ctx) {
  auto f = read_fields(ctx, {"email", "password"}, {"totp_code"});
  if (f.error) co_return std::move(*f.error);
  auto tenant = co_await request_tenant(d, ctx);
  if (!tenant) co_return problem_from_error(tenant.error(), ctx.request_id);
  accounts::LoginInput in;
  in.tenant_id = tenant->id;
  in.email = f["email"];
  in.password = f["password"];
  if (f.has("totp_code")) in.totp_code = f["totp_code"];
  in.client = client_of(d, ctx);
  auto failed = [&](const Error& e) {
    count_login(d, e.reason.empty() ? errc_name(e.code) : e.reason);
    return problem_from_error(e, ctx.request_id);
  };
  auto cand = co_await offload(
      d.pool, [&] { return d.auth.begin_login(in.tenant_id, in.email, in.client.ip); });
  if (!cand) co_return failed(cand.error());
  auto ok = co_await check_password(d, *cand, in.password);
  if (!ok) co_return failed(ok.error());
  auto tokens = co_await offload(d.pool, [&] { return d.auth.finish_login(*cand, *ok, in); });
  if (!tokens) co_return failed(tokens.error());
  count_login(d, "success");
  if (d.auth.hasher().needs_rehash(cand->password_hash)) {
    // The parameters were raised since this hash was made.
    auto fresh = co_await hash_password(d, in.password);
    if (fresh) {
      auto st = co_await offload(
          d.pool, [&] { return d.auth.upgrade_hash(cand->user->id, cand->password_hash, *fresh); });
      (void)st;
    }
  }
  json::object body = tokens_json(*tokens);
  body["user"] = user_json(*cand->user);
  co_return no_store(json_response(200, body));
}

awaitable<Response> refresh(ApiDeps& d, RequestContext& ctx) {
  auto f = read_fields(ctx, {"refresh_token"}, {});
  if (f.error) co_return std::move(*f.error);
  auto client = client_of(d, ctx);
  auto t = co_await offload(d.pool, [&] { return d.auth.refresh(f["refresh_token"], client); });
  if (!t) co_return problem_from_error(t.error(), ctx.request_id);
  co_return no_store(json_response(200, tokens_json(*t)));
}

awaitable<Response> logout(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  std::string sid = ctx.principal->session_id;
  auto st = co_await offload(d.pool, [&] { return d.auth.revoke_session(self, sid); });
  if (!st) co_return problem_from_error(st.error(), ctx.request_id);
  co_return http::no_content();
}

awaitable<Response> request_reset(ApiDeps& d, RequestContext& ctx) {
  auto f = read_fields(ctx, {"email"}, {});
  if (f.error) co_return std::move(*f.error);
  auto tenant = co_await request_tenant(d, ctx);
  if (!tenant) co_return problem_from_error(tenant.error(), ctx.request_id);
  std::string base = link_base(d, ctx, *tenant);
  auto st = co_await offload(
      d.pool, [&] { return d.auth.request_password_reset(tenant->id, f["email"], base); });
  if (!st) co_return problem_from_error(st.error(), ctx.request_id);
  co_return accepted("if the address has an account, a reset link is on its way");
}

awaitable<Response> complete_reset(ApiDeps& d, RequestContext& ctx) {
  auto f = read_fields(ctx, {"token", "password"}, {});
  if (f.error) co_return std::move(*f.error);
  auto u = co_await offload(d.pool, [&] { return d.auth.peek_reset_token(f["token"]); });
  if (!u) co_return problem_from_error(u.error(), ctx.request_id);
  if (auto st = accounts::check_new_password(f["password"], u->email,
                                             d.auth.options().password_min_length);
      !st)
    co_return problem_from_error(st.error(), ctx.request_id);
  auto hash = co_await hash_password(d, f["password"]);
  if (!hash) co_return problem_from_error(hash.error(), ctx.request_id);
  auto st = co_await offload(d.pool, [&] { return d.auth.reset_password(f["token"], *hash); });
  if (!st) co_return problem_from_error(st.error(), ctx.request_id);
  co_return http::no_content();
}

awaitable<Response> bootstrap(ApiDeps& d, RequestContext& ctx) {
  auto f = read_fields(ctx, {"token", "email", "password"}, {"display_name"});
  if (f.error) co_return std::move(*f.error);
  auto email = accounts::normalise_email(f["email"]);
  if (!email) co_return problem_from_error(email.error(), ctx.request_id);
  if (auto st =
          accounts::check_new_password(f["password"], *email, d.auth.options().password_min_length);
      !st)
    co_return problem_from_error(st.error(), ctx.request_id);
  auto tenant = co_await request_tenant(d, ctx);
  if (!tenant) co_return problem_from_error(tenant.error(), ctx.request_id);
  auto hash = co_await hash_password(d, f["password"]);
  if (!hash) co_return problem_from_error(hash.error(), ctx.request_id);
  auto u = co_await offload(d.pool, [&] {
    return d.auth.bootstrap(f["token"], tenant->id, *email, *hash, f["display_name"]);
  });
  if (!u) co_return problem_from_error(u.error(), ctx.request_id);
  co_return json_response(201, user_json(*u));
}

// ---- me ------------------------------------------------------------------------

awaitable<Response> get_me(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto u = co_await offload(d.pool, [&] { return d.users.get(self); });
  if (!u) co_return problem_from_error(u.error(), ctx.request_id);
  co_return json_response(200, user_json(*u));
}

awaitable<Response> patch_me(ApiDeps& d, RequestContext& ctx) {
  auto f = read_fields(ctx, {}, {"display_name", "locale", "time_zone"});
  if (f.error) co_return std::move(*f.error);
  accounts::ProfilePatch p;
  if (f.has("display_name")) p.display_name = f["display_name"];
  if (f.has("locale")) p.locale = f["locale"];
  if (f.has("time_zone")) p.time_zone = f["time_zone"];
  auto self = self_scope(ctx);
  auto u = co_await offload(d.pool, [&] { return d.users.update_profile(self, p); });
  if (!u) co_return problem_from_error(u.error(), ctx.request_id);
  co_return json_response(200, user_json(*u));
}

awaitable<Response> change_password(ApiDeps& d, RequestContext& ctx) {
  auto f = read_fields(ctx, {"current_password", "new_password"}, {});
  if (f.error) co_return std::move(*f.error);
  auto self = self_scope(ctx);
  auto cand = co_await offload(d.pool, [&] { return d.auth.password_of(self); });
  if (!cand) co_return problem_from_error(cand.error(), ctx.request_id);
  if (auto st = accounts::check_new_password(f["new_password"], cand->email,
                                             d.auth.options().password_min_length, "new_password");
      !st)
    co_return problem_from_error(st.error(), ctx.request_id);
  auto ok = co_await check_password(d, *cand, f["current_password"]);
  if (!ok) co_return problem_from_error(ok.error(), ctx.request_id);
  if (!*ok)
    co_return http::validation_problem({{"current_password", "is not the current password"}});
  auto hash = co_await hash_password(d, f["new_password"]);
  if (!hash) co_return problem_from_error(hash.error(), ctx.request_id);
  std::string sid = ctx.principal->session_id;
  auto st = co_await offload(d.pool, [&] { return d.auth.change_password(self, sid, *hash); });
  if (!st) co_return problem_from_error(st.error(), ctx.request_id);
  co_return http::no_content();
}

awaitable<Response> begin_totp(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  std::string issuer = d.auth.options().totp_issuer;
  if (issuer.empty()) {
    auto t = co_await offload(d.pool, [&] { return d.tenants.get(self.tenant_id); });
    if (!t) co_return problem_from_error(t.error(), ctx.request_id);
    issuer = t->brand_name();
  }
  auto s = co_await offload(d.pool, [&] { return d.auth.begin_totp(self, issuer); });
  if (!s) co_return problem_from_error(s.error(), ctx.request_id);
  co_return no_store(
      json_response(200, json::object{{"secret", s->secret}, {"otpauth_uri", s->uri}}));
}

awaitable<Response> confirm_totp(ApiDeps& d, RequestContext& ctx) {
  auto f = read_fields(ctx, {"code"}, {});
  if (f.error) co_return std::move(*f.error);
  auto self = self_scope(ctx);
  std::string sid = ctx.principal->session_id;
  auto st = co_await offload(d.pool, [&] { return d.auth.confirm_totp(self, sid, f["code"]); });
  if (!st) co_return problem_from_error(st.error(), ctx.request_id);
  co_return http::no_content();
}

awaitable<Response> disable_totp(ApiDeps& d, RequestContext& ctx) {
  auto f = read_fields(ctx, {"code"}, {});
  if (f.error) co_return std::move(*f.error);
  auto self = self_scope(ctx);
  auto st = co_await offload(d.pool, [&] { return d.auth.disable_totp(self, f["code"]); });
  if (!st) co_return problem_from_error(st.error(), ctx.request_id);
  co_return http::no_content();
}

// ---- sessions and API keys ------------------------------------------------------

awaitable<Response> list_sessions(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto r = co_await offload(d.pool, [&] { return d.auth.sessions(self); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  json::array arr;
  for (const auto& s : *r) arr.push_back(session_json(s, ctx.principal->session_id));
  co_return json_response(200, page_json(std::move(arr), ""));
}

awaitable<Response> revoke_session(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto st = co_await offload(d.pool, [&] { return d.auth.revoke_session(self, ctx.param("id")); });
  if (!st) co_return problem_from_error(st.error(), ctx.request_id);
  co_return http::no_content();
}

awaitable<Response> list_keys(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto r = co_await offload(d.pool, [&] { return d.auth.api_keys(self); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  json::array arr;
  for (const auto& k : *r) arr.push_back(api_key_json(k));
  co_return json_response(200, page_json(std::move(arr), ""));
}

awaitable<Response> create_key(ApiDeps& d, RequestContext& ctx) {
  auto body = http::read_json_object(ctx.req);
  if (body.error) co_return std::move(*body.error);
  http::FieldReader f(*body.object);
  f.reject_unknown({"name", "scopes", "expires_at"});
  auto name = f.string("name");
  auto scopes = f.string_list("scopes");
  auto expires = f.string("expires_at");
  if (!name) f.problems().push_back({"name", "is required"});
  if (!scopes) f.problems().push_back({"scopes", "is required"});
  std::int64_t expires_at = 0;
  if (expires) {
    auto t = parse_rfc3339(*expires);
    if (!t)
      f.problems().push_back({"expires_at", "must be an RFC 3339 time"});
    else
      expires_at = *t;
  }
  if (!f.problems().empty()) co_return http::validation_problem(f.problems());
  auto self = self_scope(ctx);
  auto k = co_await offload(
      d.pool, [&] { return d.auth.create_api_key(self, *name, *scopes, expires_at); });
  if (!k) co_return problem_from_error(k.error(), ctx.request_id);
  Response r = no_store(json_response(201, api_key_json(*k)));
  r.set(http::bhttp::field::location, "/v1/api-keys/" + k->id);
  co_return r;
}

awaitable<Response> revoke_key(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto st = co_await offload(d.pool, [&] { return d.auth.revoke_api_key(self, ctx.param("id")); });
  if (!st) co_return problem_from_error(st.error(), ctx.request_id);
  co_return http::no_content();
}

// ---- staff: users and the mail log ------------------------------------------------

awaitable<Response> admin_list_users(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto page = http::read_page(ctx, 50, 200, err);
  if (!page) co_return err;
  accounts::UserFilter f;
  f.q = ctx.query_param("q").value_or("");
  if (f.q.size() > 254)
    co_return problem(400, "bad_parameter", "Bad query parameter", "q must be at most 254 bytes");
  f.role = ctx.query_param("role").value_or("");
  f.status = ctx.query_param("status").value_or("");
  f.after_id = page->after;
  f.limit = page->limit;
  auto tenant = tenant_filter(ctx, err);
  if (!tenant) co_return err;
  TenantScope scope{*tenant};
  auto r = co_await offload(d.pool, [&] { return d.users.list(scope, f); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  json::array arr;
  for (const auto& u : *r) arr.push_back(user_json(u));
  std::string next = static_cast<int>(r->size()) == page->limit ? r->back().id : "";
  co_return json_response(200, page_json(std::move(arr), next));
}

awaitable<Response> admin_get_user(ApiDeps& d, RequestContext& ctx) {
  auto scope = staff_scope(ctx);
  auto u = co_await offload(d.pool, [&] { return d.users.get(scope, ctx.param("id")); });
  if (!u) co_return problem_from_error(u.error(), ctx.request_id);
  co_return json_response(200, user_json(*u));
}

awaitable<Response> admin_patch_user(ApiDeps& d, RequestContext& ctx) {
  auto f = read_fields(ctx, {}, {"display_name", "role", "status"});
  if (f.error) co_return std::move(*f.error);
  accounts::StaffPatch p;
  if (f.has("display_name")) p.display_name = f["display_name"];
  if (f.has("status")) p.status = f["status"];
  if (f.has("role")) {
    p.role = parse_role(f["role"]);
    if (!p.role)
      co_return http::validation_problem(
          {{"role", "must be one of user, support, tenant_admin, platform_admin"}});
  }
  auto scope = staff_scope(ctx);
  Role actor = ctx.principal->effective_role();
  if (ctx.principal->user_id == ctx.param("id") && (p.role || p.status))
    co_return problem(409, "invalid_state", "Not allowed in this state",
                      "you cannot change your own role or status");
  auto u = co_await offload(
      d.pool, [&] { return d.users.update_by_staff(scope, actor, ctx.param("id"), p); });
  if (!u) co_return problem_from_error(u.error(), ctx.request_id);
  co_return json_response(200, user_json(*u));
}

awaitable<Response> admin_reset_user(ApiDeps& d, RequestContext& ctx) {
  auto scope = staff_scope(ctx);
  // The link goes to the configured base, not to the staff member's Host
  // (which may be another tenant's); the store checks the user is in scope.
  std::string base = link_base(d, ctx, accounts::Tenant{});
  auto st = co_await offload(
      d.pool, [&] { return d.auth.send_password_reset(scope, ctx.param("id"), base); });
  if (!st) co_return problem_from_error(st.error(), ctx.request_id);
  co_return accepted("a reset link was mailed to the user");
}

awaitable<Response> admin_list_emails(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto page = http::read_page(ctx, 50, 200, err);
  if (!page) co_return err;
  accounts::EmailFilter f;
  f.tenant_id = ctx.query_param("tenant_id").value_or("");
  f.to = ctx.query_param("to").value_or("");
  f.kind = ctx.query_param("kind").value_or("");
  f.after_id = page->after;
  f.limit = page->limit;
  auto r = co_await offload(d.pool, [&] { return accounts::list_emails(d.db, f); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  json::array arr;
  for (const auto& e : *r) arr.push_back(email_json(e));
  std::string next = static_cast<int>(r->size()) == page->limit ? r->back().id : "";
  co_return json_response(200, page_json(std::move(arr), next));
}

awaitable<Response> admin_get_email(ApiDeps& d, RequestContext& ctx) {
  auto e = co_await offload(d.pool, [&] { return accounts::get_email(d.db, ctx.param("id")); });
  if (!e) co_return problem_from_error(e.error(), ctx.request_id);
  co_return json_response(200, email_json(*e));
}

}  // namespace

void register_account_routes(const AddRoute& add) {
  add(Verb::post, "/v1/auth/signup", signup, anyone(), "Sign up (mails a confirmation link)");
  add(Verb::post, "/v1/auth/verify-email", verify_email, anyone(),
      "Confirm an email address with the mailed token");
  add(Verb::post, "/v1/auth/verify-email/resend", resend_verification, anyone(),
      "Mail a new confirmation link");
  add(Verb::post, "/v1/auth/login", login, anyone(), "Sign in: access and refresh tokens");
  add(Verb::post, "/v1/auth/refresh", refresh, anyone(),
      "Exchange a refresh token for new tokens (rotation)");
  add(Verb::post, "/v1/auth/logout", logout, user(), "End the current session");
  add(Verb::post, "/v1/auth/password-reset", request_reset, anyone(), "Mail a password reset link");
  add(Verb::post, "/v1/auth/password-reset/complete", complete_reset, anyone(),
      "Set a new password with the mailed token");
  add(Verb::post, "/v1/auth/bootstrap", bootstrap, anyone(),
      "Create the first platform admin with the one-time bootstrap token");

  add(Verb::get, "/v1/me", get_me, user("me:read"), "The signed-in user");
  add(Verb::patch, "/v1/me", patch_me, user("me:write"), "Update the signed-in user's profile");
  add(Verb::post, "/v1/me/password", change_password, user(), "Change the password");
  add(Verb::post, "/v1/me/totp", begin_totp, user(), "Start two-step verification set-up");
  add(Verb::post, "/v1/me/totp/confirm", confirm_totp, user(),
      "Turn two-step verification on with a first code");
  add(Verb::delete_, "/v1/me/totp", disable_totp, user(), "Turn two-step verification off");
  add(Verb::get, "/v1/sessions", list_sessions, user(), "The signed-in user's sessions");
  add(Verb::delete_, "/v1/sessions/{id}", revoke_session, user(), "End a session");
  add(Verb::get, "/v1/api-keys", list_keys, user(), "The signed-in user's API keys");
  add(Verb::post, "/v1/api-keys", create_key, user(), "Create an API key (shown once)");
  add(Verb::delete_, "/v1/api-keys/{id}", revoke_key, user(), "Revoke an API key");

  add(Verb::get, "/v1/admin/users", admin_list_users, staff(Role::support),
      "List and search users");
  add(Verb::get, "/v1/admin/users/{id}", admin_get_user, staff(Role::support), "Get a user");
  add(Verb::patch, "/v1/admin/users/{id}", admin_patch_user, staff(Role::tenant_admin),
      "Change a user's role or status (suspend)");
  add(Verb::post, "/v1/admin/users/{id}/password-reset", admin_reset_user, staff(Role::support),
      "Mail a user a password reset link");
  add(Verb::get, "/v1/admin/emails", admin_list_emails, staff(Role::platform_admin),
      "The mail log: emails sent or logged");
  add(Verb::get, "/v1/admin/emails/{id}", admin_get_email, staff(Role::platform_admin),
      "One email of the mail log");
}

}  // namespace rh::api
