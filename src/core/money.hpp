// Money is an integer count of micro-units (1/1,000,000) of a currency, so
// that sums are exact. Prices arrive as decimal strings ("6.54", "0.00350")
// from carriers, CSV rate decks and admins.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace rh::money {

inline constexpr std::int64_t kMicros = 1'000'000;

// "6.54" -> 6540000, "-1.5" -> -1500000, "7" -> 7000000. At most six
// decimals, an optional leading '-' (or '+'), digits only, |value| below
// 9e12 units. Fails with invalid_argument otherwise.
Result<std::int64_t> parse_micros(std::string_view text);

// 6540000 -> "6.54", 7000000 -> "7.00", 3500 -> "0.0035": at least two
// decimals, trailing zeros beyond them trimmed.
std::string format_micros(std::int64_t micros);

}  // namespace rh::money
