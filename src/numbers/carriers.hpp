// The carrier adapters behind NumberProvider (telnyx.cpp, bandwidth.cpp,
// plivo.cpp) and what they share: query checks, result filtering, settings.
// Private to the numbers module; make_carrier_provider (provider.hpp) is the
// way in. Each adapter follows ../shared/contracts/carriers.md.
//
// Settings besides those listed in provider.hpp: retry_base_ms (first
// back-off between attempts, default 200; tests make it small). base_url is
// the API root without the account part, which the adapters append:
//   telnyx    https://api.telnyx.com/v2            + /available_phone_numbers
//   bandwidth https://dashboard.bandwidth.com/api  + /accounts/{account_id}/...
//                                           (or .../api/v1: the contract is unsure)
//   plivo     https://api.plivo.com/v1             + /Account/{auth_id}/...
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "numbers/carrier_http.hpp"
#include "numbers/provider.hpp"

namespace rh::numbers {

// Each expects the settings checked by make_carrier_provider (required keys
// present) and checks the rest.
Result<std::unique_ptr<NumberProvider>> make_telnyx_provider(const ProviderConfig& config);
// A Telnyx error body's errors[0] as "title: detail (code N)", or "" (also
// used by messaging's Telnyx send adapter).
std::string telnyx_error_text(const std::string& body);
Result<std::unique_ptr<NumberProvider>> make_bandwidth_provider(const ProviderConfig& config);
Result<std::unique_ptr<NumberProvider>> make_plivo_provider(const ProviderConfig& config);

// A copy of the query checked and normalised: country upper-case, features
// lower-case, known and deduplicated, limit in 1..100 (kMaxSearchLimit);
// area_code and contains digits only. invalid_argument otherwise.
inline constexpr int kMaxSearchLimit = 100;
Result<SearchQuery> checked_query(const SearchQuery& q);

// Whether a number the carrier offered satisfies the query: every requested
// feature, the digits in `contains`, the area code (for +1 numbers), and
// locality / region when the query has them (case-insensitive; a number
// whose locality or region is unknown does not match one that was asked for).
bool satisfies(const AvailableNumber& n, const SearchQuery& q);

// Keeps the numbers that satisfy the query, at most q.limit, without
// duplicates, in the carrier's order.
std::vector<AvailableNumber> filter_results(std::vector<AvailableNumber> found,
                                            const SearchQuery& q);

// A carrier's decimal price string as micro-units. Digits beyond the sixth
// decimal are dropped when zero and rounded up otherwise (never undercharge).
Result<std::int64_t> price_micros(std::string_view text);

// The setting's value, or fallback when absent or empty.
std::string setting(const ProviderConfig& c, const std::string& key,
                    const std::string& fallback = "");

// base_url (or the default) without trailing slashes; invalid_argument when it
// is not an http(s) URL.
Result<std::string> base_url(const ProviderConfig& c, const std::string& fallback);

// "+" followed by 8 to 15 digits.
bool is_e164(std::string_view s);

// A carrier's JSON body, or nullopt when it does not parse.
std::optional<boost::json::value> parse_json(std::string_view body);
// The string at key, or "" (absent or not a string).
std::string string_at(const boost::json::object& o, std::string_view key);

// Tiny, safe XML reading for Bandwidth's answers: no DTDs, no external or
// custom entities (only the five predefined ones and character references),
// no recursion. Element names match exactly (namespace prefixes included).
namespace xml {

// The inner XML of the first element named `name` (at any depth), or nullopt
// when there is none or the document is cut short.
std::optional<std::string_view> element(std::string_view doc, std::string_view name);

// The inner XML of every element named `name` that is not inside another.
std::vector<std::string_view> elements(std::string_view doc, std::string_view name);

// The text of the first element named `name`: its character data (child
// elements skipped, CDATA kept, entities decoded), trimmed.
std::optional<std::string> text(std::string_view doc, std::string_view name);

// The texts of every element named `name` (see elements()).
std::vector<std::string> texts(std::string_view doc, std::string_view name);

// Character data of an XML fragment: markup removed, entities decoded.
std::string unescape_text(std::string_view fragment);

// Escapes &, <, >, " and ' for element text and attribute values.
std::string escape(std::string_view s);

}  // namespace xml

}  // namespace rh::numbers
