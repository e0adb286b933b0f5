#include "core/money.hpp"

#include <cstdlib>

namespace rh::money {

Result<std::int64_t> parse_micros(std::string_view text) {
  auto bad = [&] {
    return Error(Errc::invalid_argument, "'" + std::string(text.substr(0, 40)) +
                                             "' is not an amount (digits with at most six "
                                             "decimals)");
  };
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  auto dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  if (whole.empty() && frac.empty()) return bad();
  if (dot != std::string_view::npos && frac.empty()) return bad();
  if (whole.size() > 12 || frac.size() > 6) return bad();
  std::int64_t units = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return bad();
    units = units * 10 + (c - '0');
  }
  if (units >= 9'000'000'000'000) return bad();
  std::int64_t micros = 0;
  std::int64_t scale = 100'000;
  for (char c : frac) {
    if (c < '0' || c > '9') return bad();
    micros += (c - '0') * scale;
    scale /= 10;
  }
  std::int64_t v = units * kMicros + micros;
  return negative ? -v : v;
}

std::string format_micros(std::int64_t micros) {
  bool negative = micros < 0;
  // |INT64_MIN| does not fit: amounts never get there (parse caps at 9e18).
  std::uint64_t m =
      negative ? 0 - static_cast<std::uint64_t>(micros) : static_cast<std::uint64_t>(micros);
  std::string frac = std::to_string(m % kMicros);
  frac.insert(0, 6 - frac.size(), '0');
  while (frac.size() > 2 && frac.back() == '0') frac.pop_back();
  return (negative ? "-" : "") + std::to_string(m / kMicros) + "." + frac;
}

}  // namespace rh::money
