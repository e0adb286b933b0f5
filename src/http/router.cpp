#include "http/router.hpp"

#include <algorithm>
#include <stdexcept>

namespace rh::http {

namespace {
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  if (!path.empty() && path[0] == '/') i = 1;
  while (i <= path.size()) {
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}
bool is_param(std::string_view seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}
}  // namespace

const std::string& RequestContext::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  throw std::logic_error("route has no parameter " + std::string(name));
}

std::optional<std::string> RequestContext::query_param(std::string_view name) const {
  std::size_t i = 0;
  while (i < query.size()) {
    auto amp = query.find('&', i);
    if (amp == std::string_view::npos) amp = query.size();
    auto pair = query.substr(i, amp - i);
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    if (key && *key == name) {
      if (eq == std::string_view::npos) return std::string();
      return percent_decode(pair.substr(eq + 1), true);
    }
    i = amp + 1;
  }
  return std::nullopt;
}

std::string_view RequestContext::header(std::string_view name) const {
  auto it = req.find(boost::beast::string_view(name.data(), name.size()));
  if (it == req.end()) return {};
  auto v = it->value();
  return {v.data(), v.size()};
}

void Router::add(Verb method, std::string pattern, Handler h, RouteInfo info) {
  auto r = std::make_unique<Route>();
  r->method = method;
  r->pattern = pattern;
  for (auto seg : split_path(pattern)) r->segments.emplace_back(seg);
  r->handler = std::move(h);
  r->info = std::move(info);
  for (const auto& existing : routes_) {
    if (existing->method == method && existing->pattern == pattern)
      throw std::logic_error("route added twice: " + pattern);
  }
  r->latency = &metrics_.histogram("ringhouse_http_request_duration_seconds",
                                   "HTTP request latency by route", {{"route", pattern}},
                                   metrics::latency_buckets());
  routes_.push_back(std::move(r));
  // Literal segments before parameters, so /v1/numbers/available beats /v1/numbers/{id}.
  std::stable_sort(routes_.begin(), routes_.end(), [](const auto& a, const auto& b) {
    std::size_t n = std::min(a->segments.size(), b->segments.size());
    for (std::size_t i = 0; i < n; ++i) {
      bool pa = is_param(a->segments[i]), pb = is_param(b->segments[i]);
      if (pa != pb) return !pa;
    }
    // Shorter first: without it the order is not a strict weak ordering, and a
    // route of another length between two rivals can leave a parameter first.
    return a->segments.size() < b->segments.size();
  });
}

void Router::set_fallback(Handler h, RouteInfo info, std::vector<std::string> reserved) {
  auto r = std::make_unique<Route>();
  r->method = Verb::get;
  r->pattern = "/*";
  r->handler = std::move(h);
  r->info = std::move(info);
  r->latency = &metrics_.histogram("ringhouse_http_request_duration_seconds",
                                   "HTTP request latency by route", {{"route", r->pattern}},
                                   metrics::latency_buckets());
  fallback_ = std::move(r);
  reserved_ = std::move(reserved);
}

bool Router::reserved(std::string_view path) const {
  for (const auto& r : reserved_) {
    if (path == r) return true;
    if (!r.empty() && r.back() == '/' &&
        (path.rfind(r, 0) == 0 || path == std::string_view(r).substr(0, r.size() - 1)))
      return true;
  }
  return false;
}

Match Router::match(Verb method, std::string_view path) const {
  Match m;
  auto segs = split_path(path);
  for (const auto& r : routes_) {
    if (r->segments.size() != segs.size()) continue;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      if (!is_param(r->segments[i]) && r->segments[i] != segs[i]) ok = false;
      if (is_param(r->segments[i]) && segs[i].empty()) ok = false;
    }
    if (!ok) continue;
    // HEAD is answered by the GET route (the server drops the body).
    bool same = r->method == method || (method == Verb::head && r->method == Verb::get);
    if (!same) {
      if (std::find(m.allowed.begin(), m.allowed.end(), r->method) == m.allowed.end())
        m.allowed.push_back(r->method);
      continue;
    }
    if (m.route) continue;
    std::vector<std::pair<std::string, std::string>> params;
    for (std::size_t i = 0; i < segs.size(); ++i) {
      if (!is_param(r->segments[i])) continue;
      auto v = percent_decode(segs[i], false);
      if (!v) {
        m.bad_escape = true;
        return m;
      }
      params.emplace_back(r->segments[i].substr(1, r->segments[i].size() - 2), std::move(*v));
    }
    m.route = r.get();
    m.params = std::move(params);
  }
  if (m.route) m.allowed.clear();
  if (!m.route && m.allowed.empty() && fallback_ && (method == Verb::get || method == Verb::head) &&
      !reserved(path))
    m.route = fallback_.get();
  return m;
}

void Router::observe(const Route* r, Verb method, unsigned status, double seconds) {
  Route* route = const_cast<Route*>(r ? r : &unmatched_);
  if (status >= route->by_status.size()) status = 599;
  metrics::Counter* c = route->by_status[status].load(std::memory_order_acquire);
  if (!c) {
    std::lock_guard lk(init_mu_);
    c = route->by_status[status].load(std::memory_order_acquire);
    if (!c) {
      std::string m(bhttp::to_string(r ? r->method : method));
      c = &metrics_.counter("ringhouse_http_requests_total",
                            "HTTP requests by route, method and status",
                            {{"route", r ? r->pattern : "unmatched"},
                             {"method", r ? m : "any"},
                             {"status", std::to_string(status)}});
      route->by_status[status].store(c, std::memory_order_release);
    }
  }
  c->inc();
  if (r && r->latency) r->latency->observe(seconds);
}

}  // namespace rh::http
