// Sending SMS/MMS through the carriers' HTTP messaging APIs (Telnyx,
// Bandwidth, Plivo), as ../shared/contracts/carriers.md documents them, over
// the numbers module's blocking libcurl client (numbers/carrier_http.hpp:
// per-attempt time-out, retries with back-off on connection failures, 429
// and 5xx). Calls block: run them on the blocking pool.
//
// One per-tenant carrier configuration serves numbers and messaging: the
// settings keys are those of numbers/provider.hpp, plus the ones marked NEW.
//   telnyx     api_key (required), messaging_profile_id (sent when set),
//              base_url (default https://api.telnyx.com/v2)
//              -> POST {base_url}/messages, Authorization: Bearer {api_key}
//   bandwidth  account_id, username, password (the API user),
//              application_id (NEW, required: the messaging application),
//              messaging_base_url (NEW, default
//              https://messaging.bandwidth.com/api/v2; base_url stays the
//              numbers API's)
//              -> POST {messaging_base_url}/users/{account_id}/messages, Basic
//   plivo      auth_id, auth_token, base_url (default https://api.plivo.com/v1)
//              -> POST {base_url}/Account/{auth_id}/Message/, Basic
//   all        timeout_ms (per attempt, default 10000), max_attempts (default
//              4), retry_base_ms (first back-off, default 200)
// Webhook verification keys (telnyx public_key, bandwidth callback_username /
// callback_password, plivo auth_token) are read by carrier_webhooks.hpp.
//
// Where our message id (CarrierSend::reference) goes: Bandwidth's `tag`
// (echoed in its callbacks, WebhookEvent::reference). Telnyx's and Plivo's
// send calls have no such field in the contract: the reference is not sent,
// and callbacks are matched by carrier_message_id (or put the id in
// status_url's query).
//
// Status callbacks: Telnyx `webhook_url` and Plivo `url` (+ method POST) take
// status_url per message; Bandwidth has no per-message callback URL (it is
// set on the application), so status_url is ignored there.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "numbers/carrier_http.hpp"

namespace rh::messaging {

struct CarrierSend {
  std::string from;                     // E.164 with '+'
  std::string to;                       // E.164 with '+'
  std::string text;                     // UTF-8; may be empty for an MMS with media
  std::vector<std::string> media_urls;  // absolute https/http URLs ringhouse serves
  std::string status_url;  // our webhook URL for status callbacks ("" = carrier default)
  std::string reference;   // our message id, sent where the carrier has a field (Bandwidth tag)
};

struct CarrierSendResult {
  std::string carrier_message_id;
  // Billed parts as the carrier counted them (Telnyx `parts`, Bandwidth
  // `segmentCount`); Plivo says nothing at send time, so ours: the GSM-7 /
  // UCS-2 segment count of the text for an SMS, 1 for an MMS. 0 = unknown.
  int segments = 0;
};

// Error reasons (Error::reason) of MessageCarrier::send:
//   Errc::unavailable  "provider_unavailable"  no answer, 429 or 5xx after the
//                      retries; retry later, Error::retry_after_s set (the
//                      carrier's Retry-After, else 30 s)
//   Errc::unavailable  "provider_bad_response" the carrier answered with an
//                      unexpected status (3xx, 1xx...) or an oversized body;
//                      nothing was accepted: retrying is safe
//   Errc::internal     "provider_bad_response" a 2xx answer without a message
//                      id: the carrier MAY have accepted the message; do not
//                      retry automatically (a duplicate could reach the user)
//   Errc::invalid_argument "provider_rejected" any other 4xx: permanent; the
//                      carrier's own error text is in the message
//   Errc::unauthorized "provider_auth_failed"  401/403: permanent until the
//                      operator fixes the settings (the brief's
//                      "unauthenticated"; core names it unauthorized)
//   Errc::invalid_argument "invalid_message" (field "from", "to", "text" or
//                      "media_urls"): refused before any request
// Note: like number orders, a send is retried after connection errors and
// 5xx; a carrier that accepted the first attempt but whose answer was lost
// may send the message twice (none of the three documents an idempotency key
// for messages).
inline constexpr const char* kReasonProviderUnavailable = "provider_unavailable";
inline constexpr const char* kReasonProviderRejected = "provider_rejected";
inline constexpr const char* kReasonProviderAuthFailed = "provider_auth_failed";
inline constexpr const char* kReasonProviderBadResponse = "provider_bad_response";
inline constexpr const char* kReasonInvalidMessage = "invalid_message";

class MessageCarrier {
 public:
  virtual ~MessageCarrier() = default;
  virtual std::string name() const = 0;
  virtual Result<CarrierSendResult> send(const CarrierSend& message) = 0;
};

// The adapter for carrier ("telnyx", "bandwidth", "plivo") with the tenant's
// settings (keys above). invalid_argument naming the key (field
// "settings.<key>") for an unknown carrier, a missing required key, a value
// with control characters or a base URL that is not http(s).
Result<std::unique_ptr<MessageCarrier>> make_message_carrier(
    const std::string& carrier, const std::map<std::string, std::string>& settings);

// The same with the wait between retries injected (tests record the waits).
Result<std::unique_ptr<MessageCarrier>> make_message_carrier(
    const std::string& carrier, const std::map<std::string, std::string>& settings,
    numbers::SleepFn sleep);

// The settings keys messaging requires of a carrier ({} for an unknown one).
std::vector<std::string> required_message_settings(const std::string& carrier);

}  // namespace rh::messaging
