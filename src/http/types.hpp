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

  // A path parameter ("id" for /v1/things/{id}).
  const std::string& param(std::string_view name) const;
  // A query parameter, percent-decoded; the first if repeated.
  std::optional<std::string> query_param(std::string_view name) const;
  std::string_view header(std::string_view name) const;
};

using Handler = std::function<boost::asio::awaitable<Response>(RequestContext&)>;

// Who may call a route. The accounts issue adds user, role and scope checks.
enum class Access { anonymous, operator_token, internal };

struct RouteInfo {
  std::string summary;
  Access access = Access::anonymous;
  std::size_t max_body = 0;  // 0: the server's default
};

// Percent-decodes; returns nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

}  // namespace rh::http
