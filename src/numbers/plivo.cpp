// Plivo number search, purchase and release, as
// ../shared/contracts/carriers.md ("Plivo") documents them.
#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <optional>

#include "core/log.hpp"
#include "numbers/carriers.hpp"

namespace rh::numbers {

namespace {

namespace json = boost::json;

const std::string kPlivo = "plivo";
constexpr const char* kPlivoBase = "https://api.plivo.com/v1";
constexpr const char* kOrderPrefix = "plivo:";
constexpr int kPlivoMaxLimit = 20;  // the search's page size cap

bool true_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->as_bool();
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "+14155559186" -> "14155559186" (Plivo writes numbers without the '+').
std::string plivo_digits(std::string_view e164) {
  return is_e164(e164) ? std::string(e164.substr(1)) : std::string();
}

std::string error_text(const CarrierResponse& r) {
  auto v = parse_json(r.body);
  if (v && v->is_object()) {
    const json::value* e = v->as_object().if_contains("error");
    if (e != nullptr && e->is_string()) return std::string(e->as_string());
    if (e != nullptr) return json::serialize(*e);
  }
  return r.body.substr(0, 200);
}

std::optional<AvailableNumber> parse_available(const json::value& item, const SearchQuery& q) {
  if (!item.is_object()) return std::nullopt;
  const json::object& o = item.as_object();
  std::string digits = string_at(o, "number");
  if (!all_digits(digits)) return std::nullopt;
  AvailableNumber n;
  n.provider = kPlivo;
  n.e164 = "+" + digits;
  if (!is_e164(n.e164)) return std::nullopt;
  if (true_at(o, "sms_enabled")) n.features.push_back("sms");
  if (true_at(o, "mms_enabled")) n.features.push_back("mms");
  if (true_at(o, "voice_enabled")) n.features.push_back("voice");
  n.country = q.country;
  n.locality = string_at(o, "city");
  // Not in the contract's example, but Plivo's numbers carry one: used for
  // region queries, which match nothing without it.
  n.region = string_at(o, "region");
  auto monthly = price_micros(string_at(o, "monthly_rental_rate"));
  auto setup = price_micros(string_at(o, "setup_rate"));
  if (!monthly || !setup || *monthly < 0 || *setup < 0) return std::nullopt;
  n.monthly_micros = *monthly;
  n.upfront_micros = *setup;
  n.currency = "USD";  // Plivo prices in US dollars
  return n;
}

class PlivoProvider final : public NumberProvider {
 public:
  PlivoProvider(std::string base, const ProviderConfig& c, CarrierHttpOptions o)
      : base_(std::move(base)),
        auth_id_(setting(c, "auth_id")),
        auth_token_(setting(c, "auth_token")),
        app_id_(setting(c, "app_id")),
        http_(std::move(o)) {}

  const std::string& name() const override { return kPlivo; }

  Result<std::vector<AvailableNumber>> search(const SearchQuery& query) override {
    RH_ASSIGN(SearchQuery q, checked_query(query));
    // pattern: the digits after the country code the numbers start with.
    // With both an area code and `contains`, the latter is filtered here.
    std::vector<std::pair<std::string, std::string>> params{{"country_iso", q.country}};
    if (!q.area_code.empty()) {
      params.emplace_back("pattern", q.area_code);
    } else if (!q.contains.empty()) {
      params.emplace_back("pattern", q.contains);
    }
    std::string target = "/PhoneNumber/" + query_string(params);
    std::string services;
    for (const char* s : {"voice", "sms", "mms"}) {
      if (std::find(q.features.begin(), q.features.end(), s) == q.features.end()) continue;
      services += (services.empty() ? "" : ",") + std::string(s);
    }
    if (!services.empty()) target += "&services=" + services;
    target += "&limit=" + std::to_string(std::min(q.limit, kPlivoMaxLimit));
    RH_ASSIGN(CarrierResponse r, call("GET", target, ""));
    if (r.status != 200) return carrier_error(kPlivo, CarrierCall::search, r, error_text(r));
    auto v = parse_json(r.body);
    const json::value* objects =
        v && v->is_object() ? v->as_object().if_contains("objects") : nullptr;
    if (objects == nullptr || !objects->is_array())
      return bad_response(kPlivo, "the search answer has no objects array", r);
    std::vector<AvailableNumber> found;
    for (const auto& item : objects->as_array()) {
      auto n = parse_available(item, q);
      if (n) {
        found.push_back(std::move(*n));
      } else {
        log::get("numbers")->warn("plivo: skipped a search result without a number or prices");
      }
    }
    if (found.empty() && !objects->as_array().empty())
      return bad_response(kPlivo, "no search result had a number and prices", r);
    return filter_results(std::move(found), q);
  }

  Result<ProviderOrder> order(const std::string& e164,
                              const std::string& /*customer_ref*/) override {
    // Plivo's purchase takes no reference of ours: buying a number the
    // account already rents again (a retry) is answered as the first time.
    std::string digits = plivo_digits(e164);
    if (digits.empty()) return Error(Errc::invalid_argument, "e164", "not an E.164 number");
    json::object body{{"app_id", app_id_}};
    RH_ASSIGN(CarrierResponse r,
              call("POST", "/PhoneNumber/" + digits + "/", json::serialize(body)));
    if (r.status != 200 && r.status != 201 && r.status != 202)
      return carrier_error(kPlivo, CarrierCall::order, r, error_text(r));
    auto v = parse_json(r.body);
    if (!v || !v->is_object()) return bad_response(kPlivo, "the purchase answer is not JSON", r);
    std::string status = string_at(v->as_object(), "status");
    ProviderOrder o;
    o.id = kOrderPrefix + digits;  // Plivo has no order id: ours
    o.phone_number_id = digits;
    if (status == "fulfilled") {
      o.status = "complete";
    } else if (status == "pending") {
      o.status = "pending";
    } else {
      return bad_response(kPlivo, "the purchase status '" + status.substr(0, 40) + "' is unknown",
                          r);
    }
    return o;
  }

  // Outside the contract, which documents no order-status endpoint: a
  // pending purchase is complete once the number is among the account's
  // rented numbers, GET /Number/{number}/ (200; 404 while still pending).
  Result<ProviderOrder> order_status(const std::string& order_id) override {
    std::string digits = order_id.starts_with(kOrderPrefix)
                             ? order_id.substr(std::string_view(kOrderPrefix).size())
                             : "";
    if (!all_digits(digits))
      return Error(Errc::invalid_argument, "order_id", "not a plivo order id: " + order_id);
    RH_ASSIGN(CarrierResponse r, call("GET", "/Number/" + digits + "/", ""));
    ProviderOrder o;
    o.id = order_id;
    o.phone_number_id = digits;
    if (r.status == 200) {
      o.status = "complete";
    } else if (r.status == 404) {
      o.status = "pending";
    } else {
      return carrier_error(kPlivo, CarrierCall::order_status, r, error_text(r));
    }
    return o;
  }

  Status release(const std::string& e164, const std::string& phone_number_id) override {
    std::string digits = plivo_digits(e164);
    if (digits.empty() && all_digits(phone_number_id)) digits = phone_number_id;
    if (digits.empty()) return Error(Errc::invalid_argument, "e164", "not an E.164 number");
    RH_ASSIGN(CarrierResponse r, call("DELETE", "/Number/" + digits + "/", ""));
    // 204 (documented, unconfirmed) or 200; 404: not rented any more.
    if (r.status == 204 || r.status == 200 || r.status == 404) return {};
    return carrier_error(kPlivo, CarrierCall::release, r, error_text(r));
  }

 private:
  Result<CarrierResponse> call(const std::string& method, const std::string& path,
                               const std::string& body) {
    CarrierRequest req;
    req.method = method;
    req.url = base_ + "/Account/" + percent_encode(auth_id_) + path;
    req.headers = {{"Accept", "application/json"}};
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    req.body = body;
    req.basic_user = auth_id_;
    req.basic_password = auth_token_;
    return http_.send(req);
  }

  std::string base_;
  std::string auth_id_;
  std::string auth_token_;
  std::string app_id_;
  CarrierHttp http_;
};

}  // namespace

Result<std::unique_ptr<NumberProvider>> make_plivo_provider(const ProviderConfig& config) {
  RH_ASSIGN(std::string base, base_url(config, kPlivoBase));
  RH_ASSIGN(CarrierHttpOptions o, http_options_from(kPlivo, config.settings));
  return std::unique_ptr<NumberProvider>(std::make_unique<PlivoProvider>(base, config, o));
}

}  // namespace rh::numbers
