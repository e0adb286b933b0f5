#include "core/phone_number.hpp"

#include <phonenumbers/phonenumberutil.h>

#include <mutex>
#include <set>
#include <unordered_map>

namespace rh::phone {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

namespace {

// Parsing with libphonenumber runs ICU regular expressions (tens of
// microseconds); every message and call parses the same few numbers again
// and again. The functions are pure, so their answers are remembered, a
// bounded number of them (forgotten all at once when full).
template <class V>
class Memo {
 public:
  template <class F>
  V get(const std::string& key, F compute) {
    {
      std::lock_guard lk(mu_);
      if (auto it = map_.find(key); it != map_.end()) return it->second;
    }
    V v = compute();
    std::lock_guard lk(mu_);
    if (map_.size() >= kMax) map_.clear();
    map_.emplace(key, v);
    return v;
  }

 private:
  static constexpr std::size_t kMax = 1 << 16;
  std::mutex mu_;
  std::unordered_map<std::string, V> map_;
};

Result<std::string> parse_e164(std::string_view input, std::string_view default_region) {
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

}  // namespace

Result<std::string> to_e164(std::string_view input, std::string_view default_region) {
  if (input.empty() || input.size() > 64) {
    return Error(Errc::invalid_argument, "a phone number must be 1 to 64 characters");
  }
  static Memo<Result<std::string>> memo;
  std::string key(default_region);
  key += '|';
  key += input;
  return memo.get(key, [&] { return parse_e164(input, default_region); });
}

bool is_supported_region(std::string_view region) {
  std::set<std::string> regions;
  PhoneNumberUtil::GetInstance()->GetSupportedRegions(&regions);
  return regions.count(std::string(region)) != 0;
}

std::string region_of(std::string_view e164) {
  static Memo<std::string> memo;
  return memo.get(std::string(e164), [&] {
    const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
    PhoneNumber n;
    if (util.Parse(std::string(e164), "ZZ", &n) != PhoneNumberUtil::NO_PARSING_ERROR)
      return std::string("ZZ");
    std::string region;
    util.GetRegionCodeForNumber(n, &region);
    return region;
  });
}

Status check_regions(const std::vector<std::string>& regions, std::string_view field) {
  for (const auto& r : regions)
    if (!is_supported_region(r))
      return Error(Errc::invalid_argument, std::string(field),
                   "'" + r.substr(0, 8) + "' is not an ISO 3166-1 alpha-2 country code");
  return {};
}

}  // namespace rh::phone
