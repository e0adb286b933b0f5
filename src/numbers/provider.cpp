#include "numbers/provider.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cctype>
#include <set>

#include "core/money.hpp"
#include "numbers/carriers.hpp"

namespace rh::numbers {

namespace {

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7F;
  });
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Error invalid(const std::string& field, const std::string& msg) {
  return Error(Errc::invalid_argument, field, field + ": " + msg);
}

}  // namespace

std::vector<std::string> required_settings(const std::string& provider) {
  if (provider == "telnyx") return {"api_key", "connection_id", "messaging_profile_id"};
  if (provider == "bandwidth") return {"account_id", "username", "password", "site_id"};
  if (provider == "plivo") return {"auth_id", "auth_token", "app_id"};
  return {};
}

Result<std::unique_ptr<NumberProvider>> make_carrier_provider(const ProviderConfig& config) {
  auto required = required_settings(config.name);
  if (required.empty()) {
    return Error(Errc::invalid_argument, "name",
                 fmt::format("'{}' is not a carrier (telnyx, bandwidth or plivo)",
                             config.name.substr(0, 40)));
  }
  for (const auto& key : required) {
    auto it = config.settings.find(key);
    if (it == config.settings.end() || it->second.empty()) {
      return Error(Errc::invalid_argument, "settings." + key,
                   fmt::format("{} needs settings.{}", config.name, key));
    }
    if (has_control(it->second)) {
      return invalid("settings." + key, "must not contain control characters");
    }
  }
  if (config.name == "telnyx") return make_telnyx_provider(config);
  if (config.name == "bandwidth") return make_bandwidth_provider(config);
  return make_plivo_provider(config);
}

Result<SearchQuery> checked_query(const SearchQuery& q) {
  SearchQuery out = q;
  if (q.country.size() != 2 || !std::isalpha(static_cast<unsigned char>(q.country[0])) ||
      !std::isalpha(static_cast<unsigned char>(q.country[1])))
    return invalid("country", "must be a two-letter ISO 3166 code such as US");
  out.country = upper(q.country);
  if (q.area_code.size() > 6 || !all_digits(q.area_code))
    return invalid("area_code", "must be up to 6 digits");
  if (q.contains.size() > 15 || !all_digits(q.contains))
    return invalid("contains", "must be up to 15 digits");
  if (q.locality.size() > 100 || has_control(q.locality))
    return invalid("locality", "must be a city name of at most 100 characters");
  if (q.region.size() > 50 || has_control(q.region))
    return invalid("region", "must be a region of at most 50 characters");
  if (q.limit < 1 || q.limit > kMaxSearchLimit)
    return invalid("limit", fmt::format("must be from 1 to {}", kMaxSearchLimit));
  out.features.clear();
  for (const auto& f : q.features) {
    std::string name = lower(f);
    if (name != "sms" && name != "mms" && name != "voice")
      return invalid("features", "each must be sms, mms or voice");
    if (std::find(out.features.begin(), out.features.end(), name) == out.features.end())
      out.features.push_back(name);
  }
  return out;
}

bool satisfies(const AvailableNumber& n, const SearchQuery& q) {
  if (!is_e164(n.e164)) return false;
  std::string_view digits = std::string_view(n.e164).substr(1);
  if (!n.country.empty() && upper(n.country) != upper(q.country)) return false;
  for (const auto& f : q.features) {
    if (std::find(n.features.begin(), n.features.end(), f) == n.features.end()) return false;
  }
  if (!q.contains.empty() && digits.find(q.contains) == std::string_view::npos) return false;
  // Only North American numbers have a fixed place for the area code.
  if (!q.area_code.empty() && digits.starts_with('1') && digits.size() == 11 &&
      digits.substr(1, q.area_code.size()) != q.area_code)
    return false;
  if (!q.locality.empty() && lower(n.locality) != lower(q.locality)) return false;
  if (!q.region.empty() && lower(n.region) != lower(q.region)) return false;
  return true;
}

std::vector<AvailableNumber> filter_results(std::vector<AvailableNumber> found,
                                            const SearchQuery& q) {
  std::vector<AvailableNumber> out;
  std::set<std::string> seen;
  for (auto& n : found) {
    if (static_cast<int>(out.size()) >= q.limit) break;
    if (!satisfies(n, q) || !seen.insert(n.e164).second) continue;
    out.push_back(std::move(n));
  }
  return out;
}

Result<std::int64_t> price_micros(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0)
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0)
    text.remove_suffix(1);
  auto dot = text.find('.');
  bool round_up = false;
  std::string_view kept = text;
  if (dot != std::string_view::npos && text.size() - dot - 1 > 6) {
    std::string_view extra = text.substr(dot + 7);
    if (!all_digits(extra)) return money::parse_micros(text);  // its error
    round_up = extra.find_first_not_of('0') != std::string_view::npos;
    kept = text.substr(0, dot + 7);
  }
  RH_ASSIGN(std::int64_t v, money::parse_micros(kept));
  if (round_up) v += v < 0 ? -1 : 1;
  return v;
}

std::string setting(const ProviderConfig& c, const std::string& key, const std::string& fallback) {
  auto it = c.settings.find(key);
  return it == c.settings.end() || it->second.empty() ? fallback : it->second;
}

Result<std::string> base_url(const ProviderConfig& c, const std::string& fallback) {
  std::string url = setting(c, "base_url", fallback);
  while (url.ends_with('/')) url.pop_back();
  std::string l = lower(url);
  bool ok =
      (l.starts_with("https://") && l.size() > 8) || (l.starts_with("http://") && l.size() > 7);
  if (!ok || has_control(url) || url.find_first_of(" ?#") != std::string::npos)
    return invalid("settings.base_url", "must be an http:// or https:// URL without a query");
  return url;
}

std::optional<boost::json::value> parse_json(std::string_view body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec) return std::nullopt;
  return v;
}

std::string string_at(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool is_e164(std::string_view s) {
  return s.size() >= 9 && s.size() <= 16 && s.front() == '+' && s[1] != '0' &&
         all_digits(s.substr(1));
}

}  // namespace rh::numbers
