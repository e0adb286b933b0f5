// Carrier webhooks (POST /hooks/{carrier}): inbound messages and status
// callbacks from Telnyx, Bandwidth and Plivo. The request is parsed first
// (untrusted) only to find whose carrier keys to verify it with: the tenant
// of the number it is for, or of the message it reports on, else every
// tenant with that carrier configured. Nothing is stored before the
// signature is verified. Each carrier event is processed once; inbound MMS
// media are downloaded into the blob store before the message is stored.
#pragma once

#include <map>
#include <string>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace rh::numbers {
class ProviderRegistry;
}

namespace rh::messaging {

class MessageService;
class MediaStore;

struct HookRequest {
  std::string carrier;  // the {carrier} of the path
  std::string method;
  std::string url;  // the public URL the carrier called (signatures cover it)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct HookOutcome {
  int accepted = 0;    // events applied
  int duplicates = 0;  // seen before
  int ignored = 0;     // about nothing of ours (an unknown number or message)
};

class HookService {
 public:
  HookService(MessageService& svc, numbers::ProviderRegistry& providers, MediaStore& media,
              const Clock& clock)
      : svc_(svc), providers_(providers), media_(media), clock_(clock) {}

  // Errors: not_found (unknown carrier), invalid_argument (malformed body),
  // unauthorized (reason "challenge" for Bandwidth's first, credential-less
  // request: answer 401 with WWW-Authenticate; else a bad, missing or stale
  // signature), unavailable (media could not be fetched yet: the carrier
  // retries).
  Result<HookOutcome> handle(const HookRequest& h);

 private:
  MessageService& svc_;
  numbers::ProviderRegistry& providers_;
  MediaStore& media_;
  const Clock& clock_;
};

}  // namespace rh::messaging
