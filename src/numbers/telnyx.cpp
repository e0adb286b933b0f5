// Telnyx API v2 number search, orders and release, as
// ../shared/contracts/carriers.md ("Telnyx") documents them.
#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <optional>

#include "core/log.hpp"
#include "numbers/carriers.hpp"

namespace rh::numbers {

namespace {

namespace json = boost::json;

const std::string kTelnyx = "telnyx";
constexpr const char* kTelnyxBase = "https://api.telnyx.com/v2";

// A price field: a decimal string (as documented) or a JSON number.
std::optional<std::int64_t> price_of(const json::object& cost, std::string_view key) {
  const json::value* v = cost.if_contains(key);
  if (v == nullptr) return std::nullopt;
  std::string text;
  if (v->is_string()) {
    text = std::string(v->as_string());
  } else if (v->is_int64() || v->is_uint64()) {
    text = json::serialize(*v);
  } else {
    return std::nullopt;
  }
  auto m = price_micros(text);
  if (!m) return std::nullopt;
  return *m;
}

// One entry of the search's data[]; nullopt when it lacks a number or prices.
std::optional<AvailableNumber> parse_available(const json::value& item, const SearchQuery& q) {
  if (!item.is_object()) return std::nullopt;
  const json::object& o = item.as_object();
  AvailableNumber n;
  n.provider = kTelnyx;
  n.e164 = string_at(o, "phone_number");
  if (!n.e164.empty() && n.e164.front() != '+') n.e164.insert(0, "+");
  if (!is_e164(n.e164)) return std::nullopt;
  if (const json::value* fs = o.if_contains("features"); fs != nullptr && fs->is_array()) {
    for (const auto& f : fs->as_array()) {
      if (!f.is_object()) continue;
      std::string name = string_at(f.as_object(), "name");
      if ((name == "sms" || name == "mms" || name == "voice") &&
          std::find(n.features.begin(), n.features.end(), name) == n.features.end())
        n.features.push_back(name);
    }
  }
  n.country = q.country;
  std::string rate_center;
  if (const json::value* ri = o.if_contains("region_information");
      ri != nullptr && ri->is_array()) {
    for (const auto& r : ri->as_array()) {
      if (!r.is_object()) continue;
      std::string type = string_at(r.as_object(), "region_type");
      std::string value = string_at(r.as_object(), "region_name");
      if (value.empty()) continue;
      if (type == "country_code") n.country = value;
      if (type == "state") n.region = value;
      if (type == "location") n.locality = value;
      if (type == "rate_center") rate_center = value;
    }
  }
  if (n.locality.empty()) n.locality = rate_center;
  const json::value* cost = o.if_contains("cost_information");
  if (cost == nullptr || !cost->is_object()) return std::nullopt;
  auto monthly = price_of(cost->as_object(), "monthly_cost");
  auto upfront = price_of(cost->as_object(), "upfront_cost");
  if (!monthly || !upfront || *monthly < 0 || *upfront < 0) return std::nullopt;
  n.monthly_micros = *monthly;
  n.upfront_micros = *upfront;
  n.currency = string_at(cost->as_object(), "currency");
  if (n.currency.empty()) n.currency = "USD";
  return n;
}

class TelnyxProvider final : public NumberProvider {
 public:
  TelnyxProvider(std::string base, const ProviderConfig& c, CarrierHttpOptions o)
      : base_(std::move(base)),
        api_key_(setting(c, "api_key")),
        connection_id_(setting(c, "connection_id")),
        messaging_profile_id_(setting(c, "messaging_profile_id")),
        http_(std::move(o)) {}

  const std::string& name() const override { return kTelnyx; }

  Result<std::vector<AvailableNumber>> search(const SearchQuery& query) override {
    RH_ASSIGN(SearchQuery q, checked_query(query));
    std::vector<std::pair<std::string, std::string>> params{{"filter[country_code]", q.country}};
    if (!q.area_code.empty()) params.emplace_back("filter[national_destination_code]", q.area_code);
    if (!q.contains.empty()) params.emplace_back("filter[phone_number][contains]", q.contains);
    if (!q.locality.empty()) params.emplace_back("filter[locality]", q.locality);
    if (!q.region.empty()) params.emplace_back("filter[administrative_area]", q.region);
    for (const auto& f : q.features) params.emplace_back("filter[features][]", f);
    params.emplace_back("filter[limit]", std::to_string(q.limit));
    RH_ASSIGN(CarrierResponse r,
              call("GET", "/available_phone_numbers" + query_string(params), ""));
    if (r.status != 200) return carrier_error(kTelnyx, CarrierCall::search, r, error_text(r));
    auto v = parse_json(r.body);
    const json::value* data = v && v->is_object() ? v->as_object().if_contains("data") : nullptr;
    if (data == nullptr || !data->is_array())
      return bad_response(kTelnyx, "the search answer has no data array", r);
    std::vector<AvailableNumber> found;
    for (const auto& item : data->as_array()) {
      auto n = parse_available(item, q);
      if (n) {
        found.push_back(std::move(*n));
      } else {
        log::get("numbers")->warn("telnyx: skipped a search result without a number or prices");
      }
    }
    if (found.empty() && !data->as_array().empty())
      return bad_response(kTelnyx, "no search result had a number and prices", r);
    return filter_results(std::move(found), q);
  }

  Result<ProviderOrder> order(const std::string& e164, const std::string& customer_ref) override {
    if (!is_e164(e164)) return Error(Errc::invalid_argument, "e164", "not an E.164 number");
    json::object body{{"phone_numbers", json::array{json::object{{"phone_number", e164}}}},
                      {"connection_id", connection_id_},
                      {"messaging_profile_id", messaging_profile_id_},
                      {"customer_reference", customer_ref}};
    RH_ASSIGN(CarrierResponse r, call("POST", "/number_orders", json::serialize(body)));
    if (r.status != 200 && r.status != 201 && r.status != 202)
      return carrier_error(kTelnyx, CarrierCall::order, r, error_text(r));
    return parse_order(r);
  }

  Result<ProviderOrder> order_status(const std::string& order_id) override {
    if (order_id.empty()) return Error(Errc::invalid_argument, "order_id", "empty order id");
    RH_ASSIGN(CarrierResponse r, call("GET", "/number_orders/" + percent_encode(order_id), ""));
    if (r.status != 200) return carrier_error(kTelnyx, CarrierCall::order_status, r, error_text(r));
    return parse_order(r);
  }

  Status release(const std::string& e164, const std::string& phone_number_id) override {
    if (phone_number_id.empty()) {
      return Error(Errc::invalid_argument, "phone_number_id",
                   "telnyx releases a number by its phone-number id, and " + e164 + " has none");
    }
    RH_ASSIGN(CarrierResponse r,
              call("DELETE", "/phone_numbers/" + percent_encode(phone_number_id), ""));
    // 404: gone already (a repeated release whose first answer was lost).
    if ((r.status >= 200 && r.status <= 299) || r.status == 404) return {};
    return carrier_error(kTelnyx, CarrierCall::release, r, error_text(r));
  }

 private:
  Result<CarrierResponse> call(const std::string& method, const std::string& path,
                               const std::string& body) {
    CarrierRequest req;
    req.method = method;
    req.url = base_ + path;
    req.headers = {{"Authorization", "Bearer " + api_key_}, {"Accept", "application/json"}};
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    req.body = body;
    return http_.send(req);
  }

  static std::string error_text(const CarrierResponse& r) {
    std::string t = telnyx_error_text(r.body);
    return t.empty() ? r.body.substr(0, 200) : t;
  }

  static Result<ProviderOrder> parse_order(const CarrierResponse& r) {
    auto v = parse_json(r.body);
    const json::value* data = v && v->is_object() ? v->as_object().if_contains("data") : nullptr;
    if (data == nullptr || !data->is_object())
      return bad_response(kTelnyx, "the order answer has no data object", r);
    const json::object& d = data->as_object();
    ProviderOrder o;
    o.id = string_at(d, "id");
    std::string status = string_at(d, "status");
    if (o.id.empty()) return bad_response(kTelnyx, "the order has no id", r);
    std::string number_status;
    if (const json::value* pn = d.if_contains("phone_numbers"); pn != nullptr && pn->is_array() &&
                                                                !pn->as_array().empty() &&
                                                                pn->as_array()[0].is_object()) {
      o.phone_number_id = string_at(pn->as_array()[0].as_object(), "id");
      number_status = string_at(pn->as_array()[0].as_object(), "status");
    }
    if (status == "pending") {
      o.status = "pending";
    } else if (status == "success") {
      o.status = "complete";
      if (o.phone_number_id.empty())
        return bad_response(kTelnyx, "the completed order names no phone number id", r);
    } else if (status == "failure") {
      o.status = "failed";
      o.detail = "telnyx number order " + o.id + " failed";
      if (!number_status.empty()) o.detail += " (number status: " + number_status + ")";
    } else {
      return bad_response(kTelnyx, "the order status '" + status.substr(0, 40) + "' is unknown", r);
    }
    return o;
  }

  std::string base_;
  std::string api_key_;
  std::string connection_id_;
  std::string messaging_profile_id_;
  CarrierHttp http_;
};

}  // namespace

// errors[0] as "title: detail (code N)", or "".
std::string telnyx_error_text(const std::string& body) {
  auto v = parse_json(body);
  if (!v || !v->is_object()) return "";
  const json::value* errors = v->as_object().if_contains("errors");
  if (errors == nullptr || !errors->is_array() || errors->as_array().empty() ||
      !errors->as_array()[0].is_object())
    return "";
  const json::object& e = errors->as_array()[0].as_object();
  std::string title = string_at(e, "title");
  std::string detail = string_at(e, "detail");
  std::string code = string_at(e, "code");
  if (const json::value* c = e.if_contains("code"); c != nullptr && c->is_number())
    code = json::serialize(*c);
  std::string out = title;
  if (!detail.empty() && detail != title) out += (out.empty() ? "" : ": ") + detail;
  if (!code.empty()) out = out.empty() ? "code " + code : out + " (code " + code + ")";
  return out;
}

Result<std::unique_ptr<NumberProvider>> make_telnyx_provider(const ProviderConfig& config) {
  RH_ASSIGN(std::string base, base_url(config, kTelnyxBase));
  RH_ASSIGN(CarrierHttpOptions o, http_options_from(kTelnyx, config.settings));
  return std::unique_ptr<NumberProvider>(std::make_unique<TelnyxProvider>(base, config, o));
}

}  // namespace rh::numbers
