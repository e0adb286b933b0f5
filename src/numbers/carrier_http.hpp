// A small blocking HTTP client over libcurl for the carriers' number APIs
// (Telnyx, Bandwidth, Plivo): one request with a per-attempt time-out,
// retried with exponential back-off and jitter on connection failures,
// time-outs, 429 and 5xx. Shared by the numbers adapters and messaging's
// send adapters (messaging/carrier_messaging.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace rh::numbers {

struct CarrierHttpOptions {
  std::string carrier;                 // for messages and logs: "telnyx"
  int timeout_ms = 10'000;             // per attempt, connect and total
  int max_attempts = 4;                // 1 = no retry
  int retry_base_ms = 200;             // first back-off; doubles each retry
  int max_wait_ms = 10'000;            // cap on one wait (back-off or Retry-After)
  std::size_t max_body = 4u << 20;     // response bodies larger than this fail
  int unavailable_retry_after_s = 30;  // retry_after_s when the carrier said nothing
};

struct CarrierRequest {
  std::string method = "GET";  // GET, POST, PUT, PATCH, DELETE
  std::string url;             // absolute http:// or https:// URL
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // HTTP Basic credentials, sent with the first request (no challenge).
  std::string basic_user;
  std::string basic_password;
};

struct CarrierResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names; repeats joined by ", "
  std::string body;
  int attempts = 0;                // requests made, retries included
  std::int64_t retry_after_s = 0;  // the last Retry-After, in seconds (0: none)

  // The header's value, or "" (name in any case).
  std::string header(std::string_view name) const;
};

// Sleeps between attempts; tests inject one that records the waits.
using SleepFn = std::function<void(std::chrono::milliseconds)>;

class CarrierHttp {
 public:
  explicit CarrierHttp(CarrierHttpOptions o, SleepFn sleep = {});

  // Sends the request, retrying on connection errors, time-outs, 429 and 5xx
  // until max_attempts. Order and release calls (POST/DELETE) are retried
  // too: the carriers de-duplicate orders by our customer reference and a
  // repeated release finds the number gone, which the adapters treat as done.
  //
  // Returns the last response whatever its status (a 503 after the last
  // attempt too: the caller maps it with carrier_error). Fails with
  // unavailable/"provider_unavailable" when no attempt got a response,
  // unavailable/"provider_bad_response" for an oversized body or a redirect
  // elsewhere, invalid_argument for a URL that is not http(s).
  //
  // Redirects are followed only to the same scheme, host and port (307/308
  // keep the method and body; 301/302/303 only for GET), at most 3 times.
  Result<CarrierResponse> send(const CarrierRequest& request) const;

  const CarrierHttpOptions& options() const { return opts_; }

 private:
  CarrierHttpOptions opts_;
  SleepFn sleep_;
};

// Reads the transport settings every carrier shares: timeout_ms (per
// attempt, default 10000), max_attempts (default 4), retry_base_ms (default
// 200). invalid_argument naming the key when one is not a number in range.
Result<CarrierHttpOptions> http_options_from(const std::string& carrier,
                                             const std::map<std::string, std::string>& settings);

// The back-off before retry number `retry` (1 for the first retry):
// base * 2^(retry-1), capped, with "equal jitter" (half fixed, half random).
std::chrono::milliseconds backoff_delay(int retry, int base_ms, int max_ms);

// Parses a Retry-After value: delta-seconds or an HTTP date. -1 if neither.
std::int64_t parse_retry_after(std::string_view value, std::int64_t now_s);

// A carrier's text made safe to show: control characters become spaces, at
// most 300 bytes (then "...").
std::string clean_carrier_text(std::string_view text);

// RFC 3986 percent-encoding of everything but the unreserved characters;
// for query values and path segments.
std::string percent_encode(std::string_view s);

// Builds "?k=v&k2=v2" from pairs, encoding the values (keys are ours and
// written as the carriers document them, brackets included). "" when empty.
std::string query_string(const std::vector<std::pair<std::string, std::string>>& params);

// What kind of call failed, for mapping statuses onto errors.
enum class CarrierCall { search, order, order_status, release };

// Maps a carrier's non-success answer onto an error:
//   401/403 -> unavailable "provider_auth_failed" (the operator's settings)
//   404/409/422 on an order -> conflict "number_unavailable"
//   429/5xx -> unavailable "provider_unavailable" (retry_after_s set)
//   other 4xx -> unavailable "provider_rejected"
//   anything else -> unavailable "provider_bad_response"
// carrier_text is the carrier's own error message (may be empty).
Error carrier_error(const std::string& carrier, CarrierCall call, const CarrierResponse& r,
                    const std::string& carrier_text, int default_retry_after_s = 30);

// unavailable "provider_bad_response": the carrier answered, but not in the
// documented shape.
Error bad_response(const std::string& carrier, const std::string& what, const CarrierResponse& r);

}  // namespace rh::numbers
