// Prefixed, time-ordered identifiers: "job_01jd…". 48 bits of milliseconds then
// 80 random bits, Crockford base32, so ids sort by creation time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rh {

std::string new_id(std::string_view prefix, std::int64_t now_ms);
std::string new_id(std::string_view prefix);

// True when s is prefix + "_" + 26 base32 characters.
bool is_id(std::string_view s, std::string_view prefix);

}  // namespace rh
