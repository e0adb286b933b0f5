// Fuzz target: a tenant create/patch body as the admin API reads it — JSON
// parsing with its limits, typed field reads that report problems, and the
// Host normalisation used to pick a tenant.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "accounts/tenants.hpp"
#include "http/problem.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  rh::http::Request req;
  req.set(boost::beast::http::field::content_type, "application/json");
  req.body() = text;
  auto body = rh::http::read_json_object(req);
  if (body.object) {
    rh::http::FieldReader f(*body.object);
    f.reject_unknown({"slug", "name", "hostnames", "branding"});
    (void)f.string("slug");
    (void)f.integer("name");
    (void)f.string_list("hostnames");
    if (const auto* b = f.object("branding")) {
      rh::http::FieldReader bf(*b, "branding");
      (void)bf.string("primary_color");
      f.merge(bf);
    }
    for (const auto& p : f.problems()) {
      if (p.detail.empty()) __builtin_trap();  // every problem says what is wrong
    }
  } else if (!body.error) {
    __builtin_trap();
  }
  std::string host = rh::accounts::normalise_host(text);
  if (host.size() > 253) __builtin_trap();
  return 0;
}
