// The send calls of ../shared/contracts/carriers.md ("Telnyx: Send",
// "Bandwidth: Messaging v2", "Plivo: Send") over numbers::CarrierHttp.
#include "messaging/carrier_messaging.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <optional>
#include <string_view>
#include <utility>

#include "messaging/encoding.hpp"
#include "numbers/carriers.hpp"

namespace rh::messaging {

namespace {

namespace json = boost::json;
using numbers::CarrierHttp;
using numbers::CarrierHttpOptions;
using numbers::CarrierRequest;
using numbers::CarrierResponse;

constexpr const char* kTelnyxBase = "https://api.telnyx.com/v2";
constexpr const char* kBandwidthMessagingBase = "https://messaging.bandwidth.com/api/v2";
constexpr const char* kPlivoBase = "https://api.plivo.com/v1";
constexpr std::size_t kMaxMedia = 10;
constexpr std::size_t kMaxUrl = 2048;

using Settings = std::map<std::string, std::string>;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7F;
  });
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_http_url(std::string_view url) {
  std::string l = lower(url.substr(0, 8));
  bool scheme =
      (l.starts_with("https://") && url.size() > 8) || (l.starts_with("http://") && url.size() > 7);
  return scheme && url.size() <= kMaxUrl && !has_control(url) &&
         url.find(' ') == std::string_view::npos;
}

std::string setting(const Settings& s, const std::string& key, const std::string& fallback = "") {
  auto it = s.find(key);
  return it == s.end() || it->second.empty() ? fallback : it->second;
}

Error invalid_setting(const std::string& key, const std::string& msg) {
  return Error(Errc::invalid_argument, "settings." + key, "settings." + key + " " + msg);
}

// The base URL in `key` (or the default) without trailing slashes.
Result<std::string> base_url_setting(const Settings& s, const std::string& key,
                                     const std::string& fallback) {
  std::string url = setting(s, key, fallback);
  while (url.ends_with('/')) url.pop_back();
  if (!is_http_url(url) || url.find_first_of("?#") != std::string::npos)
    return invalid_setting(key, "must be an http:// or https:// URL without a query");
  return url;
}

Error invalid_message(const std::string& field, const std::string& msg) {
  Error e(Errc::invalid_argument, field, field + ": " + msg);
  e.reason = kReasonInvalidMessage;
  return e;
}

Status check_message(const CarrierSend& m) {
  if (!numbers::is_e164(m.from))
    return invalid_message("from", "must be an E.164 number such as +14155550100");
  if (!numbers::is_e164(m.to))
    return invalid_message("to", "must be an E.164 number such as +14155550100");
  if (m.text.empty() && m.media_urls.empty())
    return invalid_message("text", "a message needs text or media");
  if (m.media_urls.size() > kMaxMedia)
    return invalid_message("media_urls", fmt::format("at most {} media per message", kMaxMedia));
  for (const auto& u : m.media_urls) {
    if (!is_http_url(u))
      return invalid_message("media_urls", "each must be an absolute http(s) URL");
  }
  if (!m.status_url.empty() && !is_http_url(m.status_url))
    return invalid_message("status_url", "must be an absolute http(s) URL");
  if (m.reference.size() > 1024 || has_control(m.reference))
    return invalid_message("reference", "must be printable and at most 1024 bytes");
  return {};
}

using numbers::parse_json;
using numbers::string_at;

// A count field (integer or digit string), or 0.
int count_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return static_cast<int>(std::clamp<std::int64_t>(v->as_int64(), 0, 1000));
  if (v->is_uint64()) return static_cast<int>(std::min<std::uint64_t>(v->as_uint64(), 1000));
  if (v->is_string() && all_digits(v->as_string()) && v->as_string().size() <= 4)
    return std::stoi(std::string(v->as_string()));
  return 0;
}

bool is_success(long status) {
  return status >= 200 && status <= 299;
}

// Maps a non-2xx answer (after CarrierHttp's retries) onto the send errors.
Error send_error(const std::string& carrier, const CarrierResponse& r,
                 const std::string& carrier_text, int default_retry_after_s) {
  std::string text = numbers::clean_carrier_text(carrier_text);
  std::string said =
      text.empty() ? fmt::format("HTTP {}", r.status) : fmt::format("HTTP {}: {}", r.status, text);
  long s = r.status;
  if (s == 401 || s == 403) {
    return make_reason(
        Errc::unauthorized, kReasonProviderAuthFailed,
        fmt::format("{} refused the configured credentials ({}); check the carrier settings",
                    carrier, said));
  }
  if (s == 429 || (s >= 500 && s <= 599)) {
    Error e = make_reason(Errc::unavailable, kReasonProviderUnavailable,
                          fmt::format("{} is unavailable ({}, after {} attempt{}); try again later",
                                      carrier, said, r.attempts, r.attempts == 1 ? "" : "s"));
    e.retry_after_s = r.retry_after_s > 0 ? r.retry_after_s : default_retry_after_s;
    return e;
  }
  if (s >= 400 && s <= 499) {
    return make_reason(Errc::invalid_argument, kReasonProviderRejected,
                       fmt::format("{} rejected the message ({})", carrier, said));
  }
  return make_reason(Errc::unavailable, kReasonProviderBadResponse,
                     fmt::format("{} answered the send with an unexpected {}", carrier, said));
}

// A 2xx whose body we cannot read: the message may be on its way.
Error accepted_but_unreadable(const std::string& carrier, const std::string& what,
                              const CarrierResponse& r) {
  std::string snippet = numbers::clean_carrier_text(std::string_view(r.body).substr(0, 120));
  return make_reason(
      Errc::internal, kReasonProviderBadResponse,
      fmt::format("{} answered HTTP {} but {}{}; the message may have been accepted", carrier,
                  r.status, what,
                  snippet.empty() ? std::string(" (empty body)") : " (body: " + snippet + ")"));
}

// Our count for carriers that give none: GSM-7/UCS-2 segments, 1 for MMS.
int our_segments(const CarrierSend& m) {
  if (!m.media_urls.empty()) return 1;
  SegmentOptions o;
  o.max_segments = kMaxConcatParts;
  auto c = count_segments(m.text, o);
  return c ? static_cast<int>(c->segments) : 0;
}

json::array string_array(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

// ---------------------------------------------------------------------------
// Telnyx

class TelnyxMessaging final : public MessageCarrier {
 public:
  TelnyxMessaging(std::string base, const Settings& s, CarrierHttpOptions o, numbers::SleepFn sl)
      : base_(std::move(base)),
        api_key_(setting(s, "api_key")),
        messaging_profile_id_(setting(s, "messaging_profile_id")),
        http_(std::move(o), std::move(sl)) {}

  std::string name() const override { return "telnyx"; }

  Result<CarrierSendResult> send(const CarrierSend& m) override {
    RH_TRY(check_message(m));
    json::object body{{"from", m.from}, {"to", m.to}};
    if (!m.text.empty()) body["text"] = m.text;
    if (!m.media_urls.empty()) body["media_urls"] = string_array(m.media_urls);
    if (!m.status_url.empty()) body["webhook_url"] = m.status_url;
    if (!messaging_profile_id_.empty()) body["messaging_profile_id"] = messaging_profile_id_;
    CarrierRequest req;
    req.method = "POST";
    req.url = base_ + "/messages";
    req.headers = {{"Authorization", "Bearer " + api_key_},
                   {"Accept", "application/json"},
                   {"Content-Type", "application/json"}};
    req.body = json::serialize(body);
    RH_ASSIGN(CarrierResponse r, http_.send(req));
    if (!is_success(r.status)) {
      std::string text = numbers::telnyx_error_text(r.body);
      return send_error("telnyx", r, text.empty() ? r.body.substr(0, 200) : text,
                        http_.options().unavailable_retry_after_s);
    }
    auto v = parse_json(r.body);
    const json::value* data = v && v->is_object() ? v->as_object().if_contains("data") : nullptr;
    if (data == nullptr || !data->is_object())
      return accepted_but_unreadable("telnyx", "the answer has no data object", r);
    CarrierSendResult out;
    out.carrier_message_id = string_at(data->as_object(), "id");
    if (out.carrier_message_id.empty())
      return accepted_but_unreadable("telnyx", "the message has no id", r);
    out.segments = count_at(data->as_object(), "parts");
    return out;
  }

 private:
  std::string base_;
  std::string api_key_;
  std::string messaging_profile_id_;
  CarrierHttp http_;
};

// ---------------------------------------------------------------------------
// Bandwidth

// {"type":"…","description":"…","fieldErrors":[{"fieldName":"…","description":"…"}]}
// (the SDK's MessagingRequestError), or "".
std::string bandwidth_error_text(const std::string& body) {
  auto v = parse_json(body);
  if (!v || !v->is_object()) return "";
  const json::object& o = v->as_object();
  std::string out = string_at(o, "description");
  std::string type = string_at(o, "type");
  if (const json::value* fe = o.if_contains("fieldErrors"); fe != nullptr && fe->is_array()) {
    for (const auto& f : fe->as_array()) {
      if (!f.is_object()) continue;
      std::string field = string_at(f.as_object(), "fieldName");
      std::string d = string_at(f.as_object(), "description");
      if (field.empty() && d.empty()) continue;
      out += (out.empty() ? "" : "; ") + (field.empty() ? d : field + ": " + d);
    }
  }
  if (!type.empty()) out = out.empty() ? type : out + " (" + type + ")";
  return out;
}

class BandwidthMessaging final : public MessageCarrier {
 public:
  BandwidthMessaging(std::string base, const Settings& s, CarrierHttpOptions o, numbers::SleepFn sl)
      : base_(std::move(base)),
        account_(setting(s, "account_id")),
        username_(setting(s, "username")),
        password_(setting(s, "password")),
        application_id_(setting(s, "application_id")),
        http_(std::move(o), std::move(sl)) {}

  std::string name() const override { return "bandwidth"; }

  Result<CarrierSendResult> send(const CarrierSend& m) override {
    RH_TRY(check_message(m));
    json::object body{{"applicationId", application_id_},
                      {"to", json::array{json::value(m.to)}},
                      {"from", m.from}};
    if (!m.text.empty()) body["text"] = m.text;
    if (!m.media_urls.empty()) body["media"] = string_array(m.media_urls);
    if (!m.reference.empty()) body["tag"] = m.reference;
    CarrierRequest req;
    req.method = "POST";
    req.url = base_ + "/users/" + numbers::percent_encode(account_) + "/messages";
    req.headers = {{"Accept", "application/json"}, {"Content-Type", "application/json"}};
    req.body = json::serialize(body);
    req.basic_user = username_;
    req.basic_password = password_;
    RH_ASSIGN(CarrierResponse r, http_.send(req));
    if (!is_success(r.status)) {
      std::string text = bandwidth_error_text(r.body);
      return send_error("bandwidth", r, text.empty() ? r.body.substr(0, 200) : text,
                        http_.options().unavailable_retry_after_s);
    }
    auto v = parse_json(r.body);
    if (!v || !v->is_object()) return accepted_but_unreadable("bandwidth", "not with JSON", r);
    CarrierSendResult out;
    out.carrier_message_id = string_at(v->as_object(), "id");
    if (out.carrier_message_id.empty())
      return accepted_but_unreadable("bandwidth", "the message has no id", r);
    out.segments = count_at(v->as_object(), "segmentCount");
    return out;
  }

 private:
  std::string base_;
  std::string account_;
  std::string username_;
  std::string password_;
  std::string application_id_;
  CarrierHttp http_;
};

// ---------------------------------------------------------------------------
// Plivo

std::string plivo_error_text(const std::string& body) {
  auto v = parse_json(body);
  if (!v || !v->is_object()) return "";
  const json::value* e = v->as_object().if_contains("error");
  if (e == nullptr) return "";
  if (e->is_string()) return std::string(e->as_string());
  return json::serialize(*e);
}

class PlivoMessaging final : public MessageCarrier {
 public:
  PlivoMessaging(std::string base, const Settings& s, CarrierHttpOptions o, numbers::SleepFn sl)
      : base_(std::move(base)),
        auth_id_(setting(s, "auth_id")),
        auth_token_(setting(s, "auth_token")),
        http_(std::move(o), std::move(sl)) {}

  std::string name() const override { return "plivo"; }

  Result<CarrierSendResult> send(const CarrierSend& m) override {
    RH_TRY(check_message(m));
    // Plivo writes numbers without the '+'.
    json::object body{{"src", m.from.substr(1)}, {"dst", m.to.substr(1)}};
    if (!m.text.empty() || m.media_urls.empty()) body["text"] = m.text;
    body["type"] = m.media_urls.empty() ? "sms" : "mms";
    if (!m.media_urls.empty()) body["media_urls"] = string_array(m.media_urls);
    if (!m.status_url.empty()) {
      body["url"] = m.status_url;
      body["method"] = "POST";
    }
    CarrierRequest req;
    req.method = "POST";
    req.url = base_ + "/Account/" + numbers::percent_encode(auth_id_) + "/Message/";
    req.headers = {{"Accept", "application/json"}, {"Content-Type", "application/json"}};
    req.body = json::serialize(body);
    req.basic_user = auth_id_;
    req.basic_password = auth_token_;
    RH_ASSIGN(CarrierResponse r, http_.send(req));
    if (!is_success(r.status)) {
      std::string text = plivo_error_text(r.body);
      return send_error("plivo", r, text.empty() ? r.body.substr(0, 200) : text,
                        http_.options().unavailable_retry_after_s);
    }
    auto v = parse_json(r.body);
    if (!v || !v->is_object()) return accepted_but_unreadable("plivo", "not with JSON", r);
    const json::value* ids = v->as_object().if_contains("message_uuid");
    CarrierSendResult out;
    if (ids != nullptr && ids->is_array() && !ids->as_array().empty() &&
        ids->as_array()[0].is_string()) {
      out.carrier_message_id = std::string(ids->as_array()[0].as_string());
    } else if (ids != nullptr && ids->is_string()) {
      out.carrier_message_id = std::string(ids->as_string());
    }
    if (out.carrier_message_id.empty())
      return accepted_but_unreadable("plivo", "the answer has no message_uuid", r);
    out.segments = our_segments(m);
    return out;
  }

 private:
  std::string base_;
  std::string auth_id_;
  std::string auth_token_;
  CarrierHttp http_;
};

}  // namespace

std::vector<std::string> required_message_settings(const std::string& carrier) {
  if (carrier == "telnyx") return {"api_key"};
  if (carrier == "bandwidth") return {"account_id", "username", "password", "application_id"};
  if (carrier == "plivo") return {"auth_id", "auth_token"};
  return {};
}

Result<std::unique_ptr<MessageCarrier>> make_message_carrier(const std::string& carrier,
                                                             const Settings& settings) {
  return make_message_carrier(carrier, settings, {});
}

Result<std::unique_ptr<MessageCarrier>> make_message_carrier(const std::string& carrier,
                                                             const Settings& settings,
                                                             numbers::SleepFn sleep) {
  auto required = required_message_settings(carrier);
  if (required.empty()) {
    return Error(Errc::invalid_argument, "carrier",
                 fmt::format("'{}' is not a messaging carrier (telnyx, bandwidth or plivo)",
                             numbers::clean_carrier_text(std::string_view(carrier).substr(0, 40))));
  }
  for (const auto& key : required) {
    if (setting(settings, key).empty())
      return Error(Errc::invalid_argument, "settings." + key,
                   fmt::format("{} messaging needs settings.{}", carrier, key));
  }
  for (const char* key : {"api_key", "messaging_profile_id", "account_id", "username", "password",
                          "application_id", "auth_id", "auth_token"}) {
    if (has_control(setting(settings, key)))
      return invalid_setting(key, "must not contain control characters");
  }
  RH_ASSIGN(CarrierHttpOptions o, numbers::http_options_from(carrier, settings));
  if (carrier == "telnyx") {
    RH_ASSIGN(std::string base, base_url_setting(settings, "base_url", kTelnyxBase));
    return std::unique_ptr<MessageCarrier>(
        std::make_unique<TelnyxMessaging>(base, settings, o, std::move(sleep)));
  }
  if (carrier == "bandwidth") {
    RH_ASSIGN(std::string base,
              base_url_setting(settings, "messaging_base_url", kBandwidthMessagingBase));
    return std::unique_ptr<MessageCarrier>(
        std::make_unique<BandwidthMessaging>(base, settings, o, std::move(sleep)));
  }
  RH_ASSIGN(std::string base, base_url_setting(settings, "base_url", kPlivoBase));
  return std::unique_ptr<MessageCarrier>(
      std::make_unique<PlivoMessaging>(base, settings, o, std::move(sleep)));
}

}  // namespace rh::messaging
