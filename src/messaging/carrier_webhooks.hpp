// Inbound carrier webhooks (Telnyx, Bandwidth, Plivo): parsing them into
// message and status events, and verifying them, as
// ../shared/contracts/carriers.md and ../shared/contracts/webhooks.md
// document them. Pure functions over the request (no I/O, no clock: the
// caller passes now), safe on any input (fuzzed: tests/fuzz/
// fuzz_carrier_webhooks.cpp).
//
// Use: the route (/hooks/{carrier}) parses first, looks the tenant up by the
// (still untrusted) numbers, verifies with that tenant's settings, and only
// then acts on the events. The number naming the tenant is `to` for an
// inbound message and `from` for a status event (our number sent it).
//
// Verification settings (the tenant's carrier settings, shared with numbers
// and messaging):
//   telnyx     public_key: base64 of the account's 32-byte Ed25519 key.
//              Headers telnyx-signature-ed25519 (base64, 64 bytes) and
//              telnyx-timestamp (Unix seconds); Ed25519 over
//              "{timestamp}|{raw body}"; the timestamp must be within 300 s
//              of now, either way.
//   bandwidth  callback_username, callback_password: the HTTP Basic
//              credentials set on the Bandwidth application. Bandwidth first
//              calls without them: answer 401 with
//              WWW-Authenticate: Basic realm="" (kBandwidthChallenge) and it
//              calls again with them.
//   plivo      auth_token. X-Plivo-Signature-V3 (+ -V3-Nonce) when present,
//              as plivo-python's signature_v3.py computes it (URL without
//              query, then for POST "?" + sorted query + ("." when both) +
//              sorted body params as name+value, then "." + nonce;
//              HMAC-SHA256, base64; any of the comma-separated signatures
//              may match). Otherwise X-Plivo-Signature-V2 (+ -V2-Nonce):
//              base64 HMAC-SHA256 of the URL without its query + nonce.
//              Plivo signs no time: nonces could be remembered against
//              replay, which this pure check does not do.
//              X-Plivo-Signature-Ma-V3 (signed with the main account's token
//              for sub-accounts) is not checked.
//
// Status vocabulary (WebhookEvent::status; carrier_status keeps theirs):
//   telnyx     queued, sending -> sending; sent -> sent; delivered ->
//              delivered; sending_failed, delivery_failed, expired -> failed;
//              delivery_unconfirmed -> sent (the carrier took it, no handset
//              receipt came back: "sent" is the last thing we know)
//   bandwidth  message-sending -> sending; message-sent -> sent;
//              message-delivered -> delivered; message-failed -> failed
//   plivo      queued -> sending; sent -> sent; delivered -> delivered;
//              failed, rejected -> failed; undelivered -> undelivered
// An unknown status word gives status "" (carrier_status set): the caller
// logs and ignores it. Event types that are not about messages (Telnyx
// number_order.complete, Bandwidth message-... types we do not know) are
// left out of the result, so the route can still answer 200.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace rh::messaging {

struct WebhookRequest {
  std::string method;  // "POST", "GET"
  std::string url;     // the full public URL the carrier called: scheme://host/path?query
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

enum class WebhookEventKind { inbound_message, status };

struct WebhookEvent {
  WebhookEventKind kind = WebhookEventKind::status;
  // The carrier's event id, for de-duplication: Telnyx data.id; Bandwidth
  // "{message.id}:{type}:{time}"; Plivo "{MessageUUID}:{Status}" for a status,
  // "{MessageUUID}:inbound" for an inbound message.
  std::string event_id;
  // The message the event is about: Telnyx payload.id, Bandwidth message.id,
  // Plivo ParentMessageUUID when present (the parts of a long message report
  // under their own MessageUUID), else MessageUUID. For a status event it is
  // what send() returned as carrier_message_id.
  std::string carrier_message_id;
  std::string from;             // E.164 with '+'
  std::vector<std::string> to;  // E.164 with '+'
  std::string text;             // inbound
  // inbound MMS, in order. Bandwidth's need the API user's Basic credentials
  // to download; Telnyx's and Plivo's are pre-signed or public.
  std::vector<std::string> media_urls;
  // ours: "sending" | "sent" | "delivered" | "failed" | "undelivered"
  // (status events; "" for an unknown carrier status).
  std::string status;
  std::string carrier_status;    // the carrier's own word ("delivery_failed")
  std::string error_code;        // the carrier's error code, as text
  std::string error_detail;      // the carrier's error text
  std::string reference;         // Bandwidth echoes our tag (CarrierSend::reference)
  int segments = 0;              // parts, when the carrier says (0: unknown)
  std::int64_t occurred_ms = 0;  // when it happened (carrier's clock), 0 unknown
};

// Error reasons: parse_webhook fails with invalid_argument and
// "malformed_webhook"; verify_webhook with
//   unauthorized "challenge"          Bandwidth without Authorization: answer
//                                     401 + WWW-Authenticate: kBandwidthChallenge
//   unauthorized "missing_signature"  Telnyx or Plivo without their headers
//   unauthorized "bad_signature"      no signature matches / wrong password
//   unauthorized "stale_timestamp"    Telnyx timestamp more than 300 s off
//   invalid_argument "malformed_signature" a header that does not decode
//                                     (timestamp not a number, bad base64,
//                                     not Basic)
//   precondition "webhook_not_configured" the tenant lacks the key
//                                     (field "settings.<key>")
//   invalid_argument "unknown_carrier"
// (The brief's Errc::unauthenticated is core's Errc::unauthorized.)
inline constexpr const char* kReasonMalformedWebhook = "malformed_webhook";
inline constexpr const char* kReasonChallenge = "challenge";
inline constexpr const char* kReasonMissingSignature = "missing_signature";
inline constexpr const char* kReasonBadSignature = "bad_signature";
inline constexpr const char* kReasonStaleTimestamp = "stale_timestamp";
inline constexpr const char* kReasonMalformedSignature = "malformed_signature";
inline constexpr const char* kReasonWebhookNotConfigured = "webhook_not_configured";
inline constexpr const char* kReasonUnknownCarrier = "unknown_carrier";

// The WWW-Authenticate value of the 401 that answers a "challenge".
inline constexpr const char* kBandwidthChallenge = "Basic realm=\"\"";
// How far a Telnyx timestamp may be from now, either way.
inline constexpr std::int64_t kTelnyxToleranceS = 300;

// Events in the request, in the carrier's order (Bandwidth batches several).
// Which tenant's keys to verify with is decided by the caller from the
// (untrusted) parsed numbers, so parse first, verify second.
Result<std::vector<WebhookEvent>> parse_webhook(const std::string& carrier,
                                                const WebhookRequest& req);

// ok, or an error as listed above. now_s: Unix seconds (the caller's clock).
Status verify_webhook(const std::string& carrier, const WebhookRequest& req,
                      const std::map<std::string, std::string>& settings, std::int64_t now_s);

// Our status word for a carrier's ("" when unknown). carrier: telnyx,
// bandwidth (the event type, "message-delivered") or plivo.
std::string map_carrier_status(std::string_view carrier, std::string_view carrier_status);

// application/x-www-form-urlencoded (or a URL query) as name/value pairs in
// order: split on '&', first '=' separates (a field without one has an
// empty value), '+' is a space, %XX decoded (a '%' not followed by two hex
// digits is kept as it is), empty fields skipped: what Python's
// urllib.parse.parse_qsl(keep_blank_values=True) gives, which Plivo's
// signatures are computed over.
std::vector<std::pair<std::string, std::string>> parse_form(std::string_view text);

}  // namespace rh::messaging
