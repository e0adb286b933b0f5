// Fuzz target: RFC 3339 times from clients (job run_at, later message times).
// Any accepted input must format and parse back to the same instant.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/clock.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  auto t = rh::parse_rfc3339(s);
  if (t && *t >= 0 && *t < 253402300800000) {  // years 1970..9999
    auto back = rh::parse_rfc3339(rh::format_rfc3339(*t));
    if (!back || *back != *t) __builtin_trap();
  }
  return 0;
}
