#include "core/phone_number.hpp"

#include <phonenumbers/phonenumberutil.h>

#include <set>

namespace rh::phone {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

Result<std::string> to_e164(std::string_view input, std::string_view default_region) {
  if (input.empty() || input.size() > 64) {
    return Error(Errc::invalid_argument, "a phone number must be 1 to 64 characters");
  }
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber n;
  auto err = util.Parse(std::string(input), std::string(default_region), &n);
  if (err != PhoneNumberUtil::NO_PARSING_ERROR) {
    return Error(Errc::invalid_argument, "'" + std::string(input) + "' is not a phone number");
  }
  if (!util.IsValidNumber(n)) {
    return Error(Errc::invalid_argument,
                 "'" + std::string(input) + "' is not a valid phone number");
  }
  std::string out;
  util.Format(n, PhoneNumberUtil::E164, &out);
  return out;
}

bool is_supported_region(std::string_view region) {
  std::set<std::string> regions;
  PhoneNumberUtil::GetInstance()->GetSupportedRegions(&regions);
  return regions.count(std::string(region)) != 0;
}

std::string region_of(std::string_view e164) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber n;
  if (util.Parse(std::string(e164), "ZZ", &n) != PhoneNumberUtil::NO_PARSING_ERROR) return "ZZ";
  std::string region;
  util.GetRegionCodeForNumber(n, &region);
  return region;
}

Status check_regions(const std::vector<std::string>& regions, std::string_view field) {
  for (const auto& r : regions)
    if (!is_supported_region(r))
      return Error(Errc::invalid_argument, std::string(field),
                   "'" + r.substr(0, 8) + "' is not an ISO 3166-1 alpha-2 country code");
  return {};
}

}  // namespace rh::phone
