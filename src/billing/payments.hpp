// Top-ups paid through a payment provider arrive as Stripe-style signed
// webhook events (../shared/contracts/webhooks.md): the `Stripe-Signature`
// header "t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">" (several v1 may be
// present: key rotation), 300 s tolerance. A paid checkout session or a
// succeeded payment intent whose metadata names a tenant and user credits
// that user's wallet, exactly once per event id.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "billing/ledger.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "storage/database.hpp"

namespace rh::billing {

// Checks a Stripe-Signature header against the body; unauthorized (reason
// "bad_signature" or "stale_signature") when it does not verify.
Status verify_stripe_signature(std::string_view header, std::string_view body,
                               std::string_view secret, std::int64_t now_s,
                               std::int64_t tolerance_s = 300);

// Minor units of a currency (cents) to micro-units: 2 decimals for most,
// 0 for JPY, KRW and the other zero-decimal currencies, 3 for BHD, KWD, ...
std::int64_t minor_to_micros(std::int64_t minor, std::string_view currency);

struct PaymentOutcome {
  std::string status;  // "credited" | "duplicate" | "ignored"
  std::string detail;
  std::string transaction_id;
};

struct PaymentTarget {
  std::string currency;  // the tenant's
  bool user_exists = false;
};

class PaymentWebhook {
 public:
  // target(tenant_id, user_id): the tenant's currency and whether the user
  // exists there (accounts owns both).
  using TargetFn = std::function<Result<PaymentTarget>(const std::string&, const std::string&)>;
  PaymentWebhook(storage::Database& db, Ledger& ledger, const Clock& clock, std::string secret,
                 TargetFn target)
      : db_(db),
        ledger_(ledger),
        clock_(clock),
        secret_(std::move(secret)),
        target_(std::move(target)) {}
  Result<PaymentOutcome> handle(std::string_view signature_header, std::string_view body);

 private:
  storage::Database& db_;
  Ledger& ledger_;
  const Clock& clock_;
  std::string secret_;
  TargetFn target_;
};

}  // namespace rh::billing
