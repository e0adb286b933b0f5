// Internal to the api module: what the route files share.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <functional>
#include <optional>
#include <vector>

#include "api/api.hpp"
#include "core/csv.hpp"
#include "core/principal.hpp"
#include "http/problem.hpp"

namespace rh::api {

// The names every route file uses.
namespace json = boost::json;
using boost::asio::awaitable;
using http::json_response;
using http::problem;
using http::problem_from_error;
using http::RequestContext;
using http::Response;
using http::Verb;

using RouteFn = boost::asio::awaitable<http::Response> (*)(ApiDeps&, http::RequestContext&);
// Registers a route: method, pattern, handler, who may call it, summary and,
// for routes that take large bodies (CSV imports), their body limit.
struct AddRoute {
  std::function<void(http::Verb, const char*, RouteFn, http::Policy, const char*, std::size_t)> fn;
  void operator()(http::Verb v, const char* pattern, RouteFn f, http::Policy p, const char* summary,
                  std::size_t max_body = 0) const {
    fn(v, pattern, f, std::move(p), summary, max_body);
  }
};

// Accounts: auth/*, me, sessions, api-keys, admin/users, admin/emails.
void register_account_routes(const AddRoute& add);
// Numbers: search, reservations, purchase, release; admin inventory,
// imports and provider settings.
void register_number_routes(const AddRoute& add);
// Billing: balance, ledger, rates; admin adjustments and rate decks;
// the payment webhook.
void register_billing_routes(const AddRoute& add);
// Media: upload and download of MMS media; the signed links carriers fetch.
// Uploads may be max_upload_bytes long (messaging.media_max_bytes).
void register_media_routes(const AddRoute& add, std::size_t max_upload_bytes);
// Messaging: send, conversations, messages, settings, SMPP binds, carrier
// webhooks.
void register_message_routes(const AddRoute& add);
// Voice: SIP credentials, call rules, calls; the SIP edge's hooks.
void register_voice_routes(const AddRoute& add);
// The signed-in user's live events (long poll).
void register_event_routes(const AddRoute& add);

boost::json::object page_json(boost::json::array data, const std::string& next);

// A 200 page of rows (each with an `id`), converted by to_json; the cursor
// is the last id when the page is full.
template <class T, class F>
http::Response page_response(const std::vector<T>& rows, int limit, F&& to_json) {
  boost::json::array arr;
  for (const auto& row : rows) arr.push_back(to_json(row));
  std::string next = static_cast<int>(rows.size()) == limit && !rows.empty() ? rows.back().id : "";
  return http::json_response(200, page_json(std::move(arr), next));
}

// The tenant filter of a staff list: ?tenant_id= within the caller's reach,
// else their own tenant ("" for platform staff: every tenant). On failure
// sets err (404 for a tenant out of reach).
std::optional<std::string> tenant_filter(const http::RequestContext& ctx, http::Response& err);

// The caller's own data (user routes).
UserScope self_scope(const http::RequestContext& ctx);
// A staff member's reach (staff routes): every tenant for platform admins and
// the operator, else their own.
TenantScope staff_scope(const http::RequestContext& ctx);

// The client's address: the peer, or what a trusted proxy says it forwarded.
std::string client_ip(const ApiDeps& d, const http::RequestContext& ctx);
// Whether the client reached us over HTTPS: a trusted proxy says so in
// X-Forwarded-Proto (ringhouse itself speaks plain HTTP).
bool forwarded_https(const ApiDeps& d, const http::RequestContext& ctx);

// The tenant a staff request acts on: ?tenant_id= for platform staff (and
// required of them), else the caller's own. On failure sets err.
std::optional<std::string> acting_tenant(const http::RequestContext& ctx, http::Response& err);

// GET and PUT of a tenant's destination allow-list (messaging, voice): the
// acting tenant's list through `get`, a replacement `{"allowed_countries":
// [...]}` through `set`.
using AllowListGet = std::function<Result<std::vector<std::string>>(const std::string& tenant)>;
using AllowListSet =
    std::function<Status(const std::string& tenant, const std::vector<std::string>& countries)>;
boost::asio::awaitable<http::Response> get_allow_list(ApiDeps& d, http::RequestContext& ctx,
                                                      AllowListGet get);
boost::asio::awaitable<http::Response> put_allow_list(ApiDeps& d, http::RequestContext& ctx,
                                                      AllowListSet set);

// 422 invalid_csv listing every bad line of an import (nothing was stored).
http::Response csv_problem(const std::vector<csv::LineProblem>& problems);

// Policies, for registration.
inline http::Policy anyone() {
  return {};
}
inline http::Policy user(std::string scope = {}) {
  return {http::Access::user, Role::user, std::move(scope)};
}
inline http::Policy staff(Role r) {
  return {http::Access::staff, r, {}};
}

}  // namespace rh::api
