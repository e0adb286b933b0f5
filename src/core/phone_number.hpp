// Telephone numbers in E.164 ("+14155550132"), parsed and validated with
// libphonenumber. National input is read in a default region (the tenant's
// default country).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace rh::phone {

// Parses international ("+44 20 7946 0958") or national ("(415) 555-0132",
// with default_region "US") input and returns the E.164 form. Fails with
// invalid_argument when it cannot be parsed or is not a valid number.
Result<std::string> to_e164(std::string_view input, std::string_view default_region);

// True for a region code libphonenumber knows ("US", "GB", ...).
bool is_supported_region(std::string_view region);

// The region of an E.164 number ("US" for +1415...), or "ZZ" when unknown.
std::string region_of(std::string_view e164);

// invalid_argument naming `field` for the first code in `regions` that is
// not a supported ISO 3166-1 alpha-2 region (destination allow-lists).
Status check_regions(const std::vector<std::string>& regions, std::string_view field);

}  // namespace rh::phone
