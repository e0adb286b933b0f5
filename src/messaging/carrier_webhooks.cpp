// Carrier webhook parsing and verification; see carrier_webhooks.hpp and
// ../shared/contracts/webhooks.md.
#include "messaging/carrier_webhooks.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <optional>

#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "numbers/carriers.hpp"

namespace rh::messaging {

namespace {

namespace json = boost::json;
using Settings = std::map<std::string, std::string>;
using Params = std::map<std::string, std::vector<std::string>>;

constexpr std::size_t kMaxShown = 60;

// ---------------------------------------------------------------------------
// Small helpers

char lower_char(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower_char(c);
  return out;
}

std::string_view trim(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Untrusted text quoted in a message: printable ASCII, short.
std::string shown(std::string_view s) {
  std::string out;
  for (char ch : s.substr(0, kMaxShown)) {
    auto c = static_cast<unsigned char>(ch);
    out += (c < 0x20 || c >= 0x7F) ? '?' : ch;
  }
  if (s.size() > kMaxShown) out += "...";
  return out;
}

// The header's value ("" when absent); names compared in any case.
std::string header(const WebhookRequest& req, std::string_view name) {
  auto it = req.headers.find(std::string(name));
  if (it != req.headers.end()) return it->second;
  for (const auto& [k, v] : req.headers) {
    if (k.size() == name.size() && lower(k) == name) return v;
  }
  return "";
}

Error malformed(const std::string& carrier, const std::string& what) {
  return make_reason(Errc::invalid_argument, kReasonMalformedWebhook,
                     fmt::format("{} webhook: {}", carrier, what));
}

Error unauthorized(const char* reason, std::string message) {
  return make_reason(Errc::unauthorized, reason, std::move(message));
}

Error malformed_signature(std::string message) {
  return make_reason(Errc::invalid_argument, kReasonMalformedSignature, std::move(message));
}

Error not_configured(const std::string& carrier, const std::string& key, const std::string& why) {
  Error e(Errc::precondition, "settings." + key,
          fmt::format("{} webhooks cannot be verified: settings.{} {}", carrier, key, why));
  e.reason = kReasonWebhookNotConfigured;
  return e;
}

std::string setting(const Settings& s, const std::string& key) {
  auto it = s.find(key);
  return it == s.end() ? std::string() : it->second;
}

// Standard base64 (RFC 4648 §4), padded or not, surrounding spaces ignored.
std::optional<std::string> base64_decode(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  std::string out(text.size() / 4 * 3 + 3, '\0');
  for (int variant : {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING}) {
    std::size_t len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                          text.size(), nullptr, &len, &end, variant) == 0 &&
        end == text.data() + text.size()) {
      out.resize(len);
      return out;
    }
  }
  return std::nullopt;
}

// Compares secrets of any length in constant time (hashes first).
bool secret_equal(std::string_view a, std::string_view b) {
  return crypto::constant_time_equal(crypto::sha256(a), crypto::sha256(b));
}

bool sodium_ready() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

using numbers::parse_json;
using numbers::string_at;

// A string or a whole number as text ("" otherwise).
std::string scalar_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return "";
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64() || v->is_uint64()) return json::serialize(*v);
  return "";
}

int count_of(std::string_view text) {
  if (!all_digits(text) || text.size() > 4) return 0;
  return std::atoi(std::string(text).c_str());
}

int count_at(const json::object& o, std::string_view key) {
  return count_of(scalar_at(o, key));
}

std::int64_t time_ms(std::string_view text) {
  if (text.empty()) return 0;
  auto t = parse_rfc3339(text);
  return t ? *t : 0;
}

// A phone number as E.164: Plivo writes them without the '+'.
std::string e164(std::string_view s) {
  s = trim(s);
  if (all_digits(s)) return "+" + std::string(s);
  return std::string(s);
}

// A phone number field: "+1…" or {"phone_number":"+1…"} (Telnyx).
std::string number_of(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_object()) return string_at(v.as_object(), "phone_number");
  return "";
}

// ---------------------------------------------------------------------------
// Status words

struct StatusWord {
  std::string_view carrier;
  std::string_view word;
  std::string_view ours;
};

constexpr StatusWord kStatusWords[] = {
    {"telnyx", "queued", "sending"},
    {"telnyx", "sending", "sending"},
    {"telnyx", "sent", "sent"},
    {"telnyx", "delivered", "delivered"},
    {"telnyx", "sending_failed", "failed"},
    {"telnyx", "delivery_failed", "failed"},
    {"telnyx", "expired", "failed"},
    {"telnyx", "delivery_unconfirmed", "sent"},
    {"bandwidth", "message-sending", "sending"},
    {"bandwidth", "message-sent", "sent"},
    {"bandwidth", "message-delivered", "delivered"},
    {"bandwidth", "message-failed", "failed"},
    {"plivo", "queued", "sending"},
    {"plivo", "sent", "sent"},
    {"plivo", "delivered", "delivered"},
    {"plivo", "failed", "failed"},
    {"plivo", "rejected", "failed"},
    {"plivo", "undelivered", "undelivered"},
};

// ---------------------------------------------------------------------------
// Telnyx

Result<std::vector<WebhookEvent>> parse_telnyx(const WebhookRequest& req) {
  const std::string c = "telnyx";
  auto v = parse_json(req.body);
  if (!v || !v->is_object()) return malformed(c, "the body is not a JSON object");
  const json::value* data = v->as_object().if_contains("data");
  if (data == nullptr || !data->is_object()) return malformed(c, "no data object");
  const json::object& d = data->as_object();
  std::string type = string_at(d, "event_type");
  std::vector<WebhookEvent> out;
  bool inbound = type == "message.received";
  if (!inbound && type != "message.sent" && type != "message.finalized") {
    if (type.empty()) return malformed(c, "data.event_type is missing");
    return out;  // not about messages
  }
  WebhookEvent e;
  e.kind = inbound ? WebhookEventKind::inbound_message : WebhookEventKind::status;
  e.event_id = string_at(d, "id");
  if (e.event_id.empty()) return malformed(c, "data.id (the event id) is missing");
  e.occurred_ms = time_ms(string_at(d, "occurred_at"));
  const json::value* payload = d.if_contains("payload");
  if (payload == nullptr || !payload->is_object()) return malformed(c, "no data.payload object");
  const json::object& p = payload->as_object();
  e.carrier_message_id = string_at(p, "id");
  if (e.carrier_message_id.empty()) return malformed(c, "data.payload.id is missing");
  if (const json::value* from = p.if_contains("from")) e.from = number_of(*from);
  std::string first_status;
  if (const json::value* to = p.if_contains("to")) {
    if (to->is_array()) {
      for (const auto& t : to->as_array()) {
        std::string n = number_of(t);
        if (!n.empty()) e.to.push_back(n);
        if (first_status.empty() && t.is_object())
          first_status = string_at(t.as_object(), "status");
      }
    } else {
      std::string n = number_of(*to);
      if (!n.empty()) e.to.push_back(n);
    }
  }
  e.segments = count_at(p, "parts");
  if (inbound) {
    e.text = string_at(p, "text");
    if (const json::value* media = p.if_contains("media"); media != nullptr && media->is_array()) {
      for (const auto& m : media->as_array()) {
        std::string url = m.is_object()   ? string_at(m.as_object(), "url")
                          : m.is_string() ? std::string(m.as_string())
                                          : std::string();
        if (!url.empty()) e.media_urls.push_back(url);
      }
    }
    if (e.from.empty()) return malformed(c, "data.payload.from.phone_number is missing");
    if (e.to.empty()) return malformed(c, "data.payload.to[].phone_number is missing");
  } else {
    e.carrier_status = first_status;
    if (e.carrier_status.empty() && type == "message.sent") e.carrier_status = "sent";
    if (e.carrier_status.empty()) return malformed(c, "data.payload.to[0].status is missing");
    e.status = map_carrier_status(c, e.carrier_status);
    if (const json::value* errs = p.if_contains("errors"); errs != nullptr && errs->is_array() &&
                                                           !errs->as_array().empty() &&
                                                           errs->as_array()[0].is_object()) {
      const json::object& err = errs->as_array()[0].as_object();
      e.error_code = scalar_at(err, "code");
      std::string title = string_at(err, "title");
      std::string detail = string_at(err, "detail");
      e.error_detail = title;
      if (!detail.empty() && detail != title)
        e.error_detail += (e.error_detail.empty() ? "" : ": ") + detail;
    }
  }
  out.push_back(std::move(e));
  return out;
}

Status verify_telnyx(const WebhookRequest& req, const Settings& settings, std::int64_t now_s) {
  const std::string c = "telnyx";
  std::string key_text = setting(settings, "public_key");
  if (trim(key_text).empty()) return not_configured(c, "public_key", "is not set");
  auto key = base64_decode(key_text);
  if (!key || key->size() != crypto_sign_PUBLICKEYBYTES)
    return not_configured(c, "public_key", "is not the base64 of a 32-byte Ed25519 key");
  std::string sig_text = header(req, "telnyx-signature-ed25519");
  std::string ts_text(trim(header(req, "telnyx-timestamp")));
  if (trim(sig_text).empty() || ts_text.empty()) {
    return unauthorized(kReasonMissingSignature,
                        "telnyx webhook without telnyx-signature-ed25519 and telnyx-timestamp");
  }
  if (!all_digits(ts_text) || ts_text.size() > 12)
    return malformed_signature("telnyx-timestamp is not Unix seconds: '" + shown(ts_text) + "'");
  auto sig = base64_decode(sig_text);
  if (!sig || sig->size() != crypto_sign_BYTES)
    return malformed_signature("telnyx-signature-ed25519 is not the base64 of 64 bytes");
  std::int64_t ts = std::stoll(ts_text);
  if (ts > now_s + kTelnyxToleranceS || ts < now_s - kTelnyxToleranceS) {
    return unauthorized(
        kReasonStaleTimestamp,
        fmt::format("telnyx webhook timestamp {} is {} s away from now (at most {})", ts,
                    ts - now_s, kTelnyxToleranceS));
  }
  if (!sodium_ready()) return Error(Errc::internal, "libsodium failed to initialise");
  std::string signed_text = ts_text + "|" + req.body;
  if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                  reinterpret_cast<const unsigned char*>(signed_text.data()),
                                  signed_text.size(),
                                  reinterpret_cast<const unsigned char*>(key->data())) != 0) {
    return unauthorized(kReasonBadSignature, "telnyx webhook signature does not verify");
  }
  return {};
}

// ---------------------------------------------------------------------------
// Bandwidth

bool known_bandwidth_type(std::string_view type) {
  return type == "message-received" || type == "message-sending" || type == "message-sent" ||
         type == "message-delivered" || type == "message-failed";
}

Result<WebhookEvent> parse_bandwidth_event(const json::value& item, std::size_t index) {
  const std::string c = "bandwidth";
  std::string at = fmt::format("event {}", index);
  if (!item.is_object()) return malformed(c, at + " is not an object");
  const json::object& o = item.as_object();
  std::string type = string_at(o, "type");
  WebhookEvent e;
  e.kind =
      type == "message-received" ? WebhookEventKind::inbound_message : WebhookEventKind::status;
  const json::value* message = o.if_contains("message");
  if (message == nullptr || !message->is_object()) return malformed(c, at + " has no message");
  const json::object& m = message->as_object();
  e.carrier_message_id = string_at(m, "id");
  if (e.carrier_message_id.empty()) return malformed(c, at + ": message.id is missing");
  std::string time = string_at(o, "time");
  if (time.empty()) time = string_at(m, "time");
  e.event_id = e.carrier_message_id + ":" + type + ":" + time;
  e.occurred_ms = time_ms(time);
  e.from = string_at(m, "from");
  if (const json::value* to = m.if_contains("to"); to != nullptr && to->is_array()) {
    for (const auto& t : to->as_array()) {
      if (t.is_string() && !t.as_string().empty()) e.to.emplace_back(t.as_string());
    }
  } else if (to != nullptr && to->is_string() && !to->as_string().empty()) {
    e.to.emplace_back(to->as_string());
  }
  if (e.to.empty()) {
    std::string top = string_at(o, "to");
    if (!top.empty()) e.to.push_back(top);
  }
  e.reference = string_at(m, "tag");
  e.segments = count_at(m, "segmentCount");
  if (e.kind == WebhookEventKind::inbound_message) {
    e.text = string_at(m, "text");
    if (const json::value* media = m.if_contains("media"); media != nullptr && media->is_array()) {
      for (const auto& u : media->as_array()) {
        if (u.is_string() && !u.as_string().empty()) e.media_urls.emplace_back(u.as_string());
      }
    }
    if (e.from.empty()) return malformed(c, at + ": message.from is missing");
    if (e.to.empty()) return malformed(c, at + ": message.to is missing");
  } else {
    e.carrier_status = type;
    e.status = map_carrier_status(c, type);
    e.error_code = scalar_at(o, "errorCode");
    if (type == "message-failed" || !e.error_code.empty())
      e.error_detail = string_at(o, "description");
  }
  return e;
}

Result<std::vector<WebhookEvent>> parse_bandwidth(const WebhookRequest& req) {
  const std::string c = "bandwidth";
  auto v = parse_json(req.body);
  if (!v || (!v->is_array() && !v->is_object()))
    return malformed(c, "the body is not a JSON array or object");
  std::vector<const json::value*> items;
  if (v->is_array()) {
    for (const auto& item : v->as_array()) items.push_back(&item);
  } else {
    items.push_back(&*v);
  }
  std::vector<WebhookEvent> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const json::value& item = *items[i];
    if (item.is_object()) {
      std::string type = string_at(item.as_object(), "type");
      if (type.empty()) return malformed(c, fmt::format("event {} has no type", i));
      if (!known_bandwidth_type(type)) continue;  // not about messages we send or receive
    }
    RH_ASSIGN(WebhookEvent e, parse_bandwidth_event(item, i));
    out.push_back(std::move(e));
  }
  return out;
}

Status verify_bandwidth(const WebhookRequest& req, const Settings& settings) {
  const std::string c = "bandwidth";
  std::string user = setting(settings, "callback_username");
  std::string password = setting(settings, "callback_password");
  if (user.empty()) return not_configured(c, "callback_username", "is not set");
  if (password.empty()) return not_configured(c, "callback_password", "is not set");
  std::string auth(trim(header(req, "authorization")));
  if (auth.empty()) {
    return unauthorized(kReasonChallenge,
                        "bandwidth webhook without credentials: answer 401 with a Basic challenge");
  }
  if (auth.size() < 6 || lower(auth.substr(0, 6)) != "basic ")
    return malformed_signature("bandwidth webhook Authorization is not Basic");
  auto decoded = base64_decode(std::string_view(auth).substr(6));
  if (!decoded || decoded->find(':') == std::string::npos)
    return malformed_signature("bandwidth webhook Authorization does not decode to user:password");
  if (!secret_equal(*decoded, user + ":" + password))
    return unauthorized(kReasonBadSignature, "bandwidth webhook credentials do not match");
  return {};
}

// ---------------------------------------------------------------------------
// Plivo

Params params_map(std::string_view text) {
  Params out;
  for (auto& [k, v] : parse_form(text)) out[k].push_back(std::move(v));
  for (auto& [k, vs] : out) std::sort(vs.begin(), vs.end());
  return out;
}

std::string first(const Params& p, const std::string& key) {
  auto it = p.find(key);
  return it == p.end() || it->second.empty() ? std::string() : it->second.front();
}

// The URL without query or fragment, the scheme in lower case (as Python's
// urlparse + urlunparse give it).
std::string url_without_query(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  auto colon = url.find("://");
  if (colon == std::string_view::npos) return std::string(url);
  return lower(url.substr(0, colon)) + std::string(url.substr(colon));
}

std::string url_query(std::string_view url) {
  url = url.substr(0, url.find('#'));
  auto q = url.find('?');
  return q == std::string_view::npos ? std::string() : std::string(url.substr(q + 1));
}

// Plivo's callback parameters: the body (POST) or the query (GET).
Result<Params> plivo_params(const WebhookRequest& req) {
  std::string method = lower(req.method);
  if (method == "post") return params_map(req.body);
  if (method == "get") return params_map(url_query(req.url));
  return malformed("plivo", "method '" + shown(req.method) + "' is neither GET nor POST");
}

Result<std::vector<WebhookEvent>> parse_plivo(const WebhookRequest& req) {
  const std::string c = "plivo";
  RH_ASSIGN(Params p, plivo_params(req));
  WebhookEvent e;
  std::string uuid = first(p, "MessageUUID");
  if (uuid.empty()) return malformed(c, "MessageUUID is missing");
  e.from = e164(first(p, "From"));
  std::string to = e164(first(p, "To"));
  if (!to.empty()) e.to.push_back(to);
  e.segments = count_of(first(p, "Units"));
  std::string status = first(p, "Status");
  if (status.empty()) {
    e.kind = WebhookEventKind::inbound_message;
    e.event_id = uuid + ":inbound";
    e.carrier_message_id = uuid;
    e.text = first(p, "Text");
    // Media0, Media1, ... (or from 1): in index order.
    std::vector<std::pair<int, std::string>> media;
    for (const auto& [k, vs] : p) {
      if (k.size() < 6 || k.size() > 8 || !k.starts_with("Media") || !all_digits(k.substr(5)))
        continue;
      if (!vs.empty() && !vs.front().empty())
        media.emplace_back(std::stoi(k.substr(5)), vs.front());
    }
    std::sort(media.begin(), media.end());
    for (auto& [i, url] : media) e.media_urls.push_back(std::move(url));
    if (e.from.empty()) return malformed(c, "From is missing");
    if (e.to.empty()) return malformed(c, "To is missing");
  } else {
    e.kind = WebhookEventKind::status;
    e.event_id = uuid + ":" + status;
    std::string parent = first(p, "ParentMessageUUID");
    e.carrier_message_id = parent.empty() ? uuid : parent;
    e.carrier_status = status;
    e.status = map_carrier_status(c, status);
    e.error_code = first(p, "ErrorCode");
    if (e.error_code == "000" || e.error_code == "0") e.error_code.clear();  // "no error"
  }
  return std::vector<WebhookEvent>{std::move(e)};
}

std::string b64_hmac(std::string_view key, std::string_view data) {
  return crypto::base64_encode(crypto::hmac_sha256(key, data));
}

// What plivo-python's signature_v3.py signs, before "." + nonce.
std::string plivo_v3_base(const WebhookRequest& req) {
  std::string base = url_without_query(req.url);
  Params query = params_map(url_query(req.url));
  std::string qs;
  for (const auto& [k, vs] : query) {
    for (const auto& v : vs) qs += (qs.empty() ? "" : "&") + k + "=" + v;
  }
  if (lower(req.method) == "get") {
    if (!qs.empty()) base += "?" + qs;
    return base;
  }
  Params body = params_map(req.body);
  if (!qs.empty() || !body.empty()) base += "?" + qs;
  if (!qs.empty() && !body.empty()) base += ".";
  for (const auto& [k, vs] : body) {
    for (const auto& v : vs) base += k + v;
  }
  return base;
}

Status verify_plivo(const WebhookRequest& req, const Settings& settings) {
  const std::string c = "plivo";
  std::string token = setting(settings, "auth_token");
  if (token.empty()) return not_configured(c, "auth_token", "is not set");
  std::string v3 = header(req, "x-plivo-signature-v3");
  std::string v2 = header(req, "x-plivo-signature-v2");
  if (!trim(v3).empty()) {
    std::string nonce = header(req, "x-plivo-signature-v3-nonce");
    if (nonce.empty())
      return unauthorized(kReasonMissingSignature,
                          "plivo webhook without X-Plivo-Signature-V3-Nonce");
    std::string m = lower(req.method);
    if (m != "get" && m != "post")
      return malformed_signature("plivo signs GET and POST callbacks only");
    std::string expected = b64_hmac(token, plivo_v3_base(req) + "." + nonce);
    bool match = false;
    std::string_view rest = v3;
    while (true) {
      auto comma = rest.find(',');
      // Every candidate is compared (no early exit on the first match).
      if (crypto::constant_time_equal(trim(rest.substr(0, comma)), expected)) match = true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (!match)
      return unauthorized(kReasonBadSignature, "plivo webhook V3 signature does not match");
    return {};
  }
  if (!trim(v2).empty()) {
    std::string nonce = header(req, "x-plivo-signature-v2-nonce");
    if (nonce.empty())
      return unauthorized(kReasonMissingSignature,
                          "plivo webhook without X-Plivo-Signature-V2-Nonce");
    std::string expected = b64_hmac(token, url_without_query(req.url) + nonce);
    if (!crypto::constant_time_equal(trim(v2), expected))
      return unauthorized(kReasonBadSignature, "plivo webhook V2 signature does not match");
    return {};
  }
  return unauthorized(kReasonMissingSignature,
                      "plivo webhook without X-Plivo-Signature-V3 or X-Plivo-Signature-V2");
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

Error unknown_carrier(const std::string& carrier) {
  return make_reason(Errc::invalid_argument, kReasonUnknownCarrier,
                     "'" + shown(carrier) + "' is not a carrier (telnyx, bandwidth or plivo)");
}

}  // namespace

std::string map_carrier_status(std::string_view carrier, std::string_view carrier_status) {
  for (const auto& w : kStatusWords) {
    if (w.carrier == carrier && w.word == carrier_status) return std::string(w.ours);
  }
  return "";
}

std::vector<std::pair<std::string, std::string>> parse_form(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty()) {
    auto amp = text.find('&');
    std::string_view field = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (field.empty()) continue;
    auto eq = field.find('=');
    std::string_view name = field.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : field.substr(eq + 1);
    out.emplace_back(form_decode(name), form_decode(value));
  }
  return out;
}

Result<std::vector<WebhookEvent>> parse_webhook(const std::string& carrier,
                                                const WebhookRequest& req) {
  if (carrier == "telnyx") return parse_telnyx(req);
  if (carrier == "bandwidth") return parse_bandwidth(req);
  if (carrier == "plivo") return parse_plivo(req);
  return unknown_carrier(carrier);
}

Status verify_webhook(const std::string& carrier, const WebhookRequest& req,
                      const Settings& settings, std::int64_t now_s) {
  if (carrier == "telnyx") return verify_telnyx(req, settings, now_s);
  if (carrier == "bandwidth") return verify_bandwidth(req, settings);
  if (carrier == "plivo") return verify_plivo(req, settings);
  return unknown_carrier(carrier);
}

}  // namespace rh::messaging
