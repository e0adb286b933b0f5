// The request/response types and the handler signature every route uses.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/crypto.hpp"
#include "core/principal.hpp"

namespace rh::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
using Status = bhttp::status;
using Verb = bhttp::verb;

struct Route;

// Everything a handler knows about the request in front of it.
struct RequestContext {
  Request& req;
  std::string request_id;
  std::string remote_addr;
  std::string_view path;                                    // without the query
  std::string_view query;                                   // without the '?'
  std::vector<std::pair<std::string, std::string>> params;  // path parameters, decoded
  const Route* route = nullptr;
  // Set by the access check for routes that need a caller.
  std::optional<Principal> principal;

  // A path parameter ("id" for /v1/things/{id}).
  const std::string& param(std::string_view name) const;
  // A query parameter, percent-decoded; the first if repeated.
  std::optional<std::string> query_param(std::string_view name) const;
  std::string_view header(std::string_view name) const;
};

using Handler = std::function<boost::asio::awaitable<Response>(RequestContext&)>;

// Who may call a route; checked in one place before the handler runs.
//   anonymous  anyone
//   user       a signed-in user (access token); an API key too when `scope`
//              is set and the key carries that scope
//   staff      a session with TOTP whose role is at least `min_role`, or
//              the operator token
//   internal   the SIP edge's hooks
enum class Access { anonymous, user, staff, internal };

struct Policy {
  Access access = Access::anonymous;
  Role min_role = Role::user;  // staff routes
  std::string scope;           // user routes: the API-key scope that grants it
};

struct RouteInfo {
  std::string summary;
  Policy policy;
  std::size_t max_body = 0;  // 0: the server's default
};

using crypto::percent_decode;

}  // namespace rh::http
