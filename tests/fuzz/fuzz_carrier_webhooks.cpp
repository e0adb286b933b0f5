// Fuzz target: inbound carrier webhooks (messaging/carrier_webhooks.hpp).
// Input: one byte choosing the carrier (telnyx, bandwidth, plivo), then an
// HTTP-like text: the method on the first line, the URL on the second,
// "name: value" header lines up to an empty line, then the body. Any input
// parses and verifies without crashing, and what comes out is consistent:
// every event has an event id and a message id, inbound messages have both
// numbers, statuses are ours or "", and verification answers with one of the
// documented reasons.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "messaging/carrier_webhooks.hpp"

namespace {

namespace m = rh::messaging;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

std::string_view next_line(std::string_view& text) {
  auto nl = text.find('\n');
  std::string_view line = text.substr(0, nl);
  text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool known_status(const std::string& s) {
  return s.empty() || s == "sending" || s == "sent" || s == "delivered" || s == "failed" ||
         s == "undelivered";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const char* const kCarriers[] = {"telnyx", "bandwidth", "plivo"};
  std::string carrier = kCarriers[data[0] % 3];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  m::WebhookRequest req;
  req.method = std::string(next_line(text));
  req.url = std::string(next_line(text));
  while (!text.empty()) {
    std::string_view line = next_line(text);
    if (line.empty()) break;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    req.headers[lower(line.substr(0, colon))] = std::string(value);
  }
  req.body = std::string(text);

  auto events = m::parse_webhook(carrier, req);
  if (events) {
    for (const auto& e : *events) {
      check(!e.event_id.empty() && !e.carrier_message_id.empty());
      check(known_status(e.status));
      if (e.kind == m::WebhookEventKind::inbound_message) {
        check(!e.from.empty() && !e.to.empty());
        check(e.status.empty());
      }
      check(e.segments >= 0);
    }
  } else {
    check(events.error().code == rh::Errc::invalid_argument && !events.error().message.empty());
  }

  static const std::map<std::string, std::string> kSettings{
      {"public_key", "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
      {"callback_username", "user"},
      {"callback_password", "pass"},
      {"auth_token", "token"}};
  auto v = m::verify_webhook(carrier, req, kSettings, 1'717'000'000);
  if (!v) {
    const std::string& r = v.error().reason;
    check(r == m::kReasonChallenge || r == m::kReasonMissingSignature ||
          r == m::kReasonBadSignature || r == m::kReasonStaleTimestamp ||
          r == m::kReasonMalformedSignature);
  }
  for (const auto& [k, val] : m::parse_form(req.body)) check(k.size() + val.size() <= size);
  return 0;
}
