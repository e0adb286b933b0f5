// Fuzz target: what the server does with a request target before a handler
// runs — route matching with percent-decoded parameters and query parsing.
#include <boost/beast/http/message.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/metrics.hpp"
#include "http/router.hpp"

namespace {
rh::http::Router& router() {
  static rh::metrics::Registry metrics;
  static rh::http::Router r(metrics);
  static bool init = [] {
    using rh::http::Verb;
    for (const char* p :
         {"/v1/branding", "/v1/admin/tenants", "/v1/admin/tenants/{id}",
          "/v1/admin/jobs/{id}/retry", "/v1/numbers/available", "/v1/numbers/{id}"}) {
      r.add(Verb::get, p, rh::http::Handler{});  // matched, never called
    }
    return true;
  }();
  (void)init;
  return r;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string target(reinterpret_cast<const char*>(data), size);
  auto q = target.find('?');
  std::string_view path = std::string_view(target).substr(0, q);
  auto m = router().match(rh::http::Verb::get, path);
  rh::http::Request req;
  rh::http::RequestContext ctx{
      req,
      "req",
      "127.0.0.1",
      path,
      q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1),
      m.params,
      m.route};
  for (const char* name : {"limit", "after", "state", ""}) (void)ctx.query_param(name);
  for (const auto& [k, v] : m.params) {
    if (k.empty()) __builtin_trap();
    (void)v;
  }
  (void)rh::http::percent_decode(target, true);
  return 0;
}
