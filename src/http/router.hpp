// Routes by method and path pattern with {name} parameters:
//   GET /v1/admin/tenants/{id}
// Literal segments win over parameters. A path that matches with another
// method gets 405 with Allow. An optional fallback answers GET and HEAD for
// paths no route matches (the web app's files), outside reserved paths.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/metrics.hpp"
#include "http/types.hpp"

namespace rh::http {

struct Route {
  Verb method;
  std::string pattern;
  std::vector<std::string> segments;  // "{id}" for a parameter
  Handler handler;
  RouteInfo info;

  // Per-route metrics, created on first use (hot path: no registry lookup).
  metrics::Histogram* latency = nullptr;
  std::array<std::atomic<metrics::Counter*>, 600> by_status{};
};

struct Match {
  const Route* route = nullptr;
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<Verb> allowed;  // when the path exists with other methods
  bool bad_escape = false;
};

class Router {
 public:
  explicit Router(metrics::Registry& metrics) : metrics_(metrics) {}
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  void add(Verb method, std::string pattern, Handler h, RouteInfo info = {});
  // The handler of GET and HEAD requests that match no route (and no route
  // with another method), unless the path is reserved: equal to an entry, or
  // under an entry that ends in '/' ("/v1/" reserves "/v1" and "/v1/..."). A
  // reserved path keeps the plain 404. Not listed in routes().
  void set_fallback(Handler h, RouteInfo info, std::vector<std::string> reserved);
  Match match(Verb method, std::string_view path) const;
  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

  // Counts a response for metrics.
  void observe(const Route* r, Verb method, unsigned status, double seconds);

 private:
  bool reserved(std::string_view path) const;
  metrics::Registry& metrics_;
  std::vector<std::unique_ptr<Route>> routes_;
  std::unique_ptr<Route> fallback_;
  std::vector<std::string> reserved_;
  // Responses that matched no route.
  Route unmatched_;
  std::mutex init_mu_;
};

}  // namespace rh::http
