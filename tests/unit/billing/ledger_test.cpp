// The ledger on both drivers: postings balance to zero, concurrent spends
// never overdraw, holds settle or release exactly once, exactly-once keys,
// balance.low when a debit crosses the threshold; and the payment webhook's
// Stripe-style signature and exactly-once credit.
#include "billing/ledger.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "billing/payments.hpp"
#include "core/crypto.hpp"
#include "unit/unit_db.hpp"

namespace rh::billing {
namespace {

class LedgerTest : public unit::MigratedDbTest {
 protected:
  void SetUp() override {
    unit::MigratedDbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    LedgerOptions o;
    o.low_balance_micros = 2'000'000;
    ledger_ = std::make_unique<Ledger>(clock_, o);
  }
  Posting posting(TxnKind k, std::int64_t amount, const std::string& user = "usr_a") {
    Posting p;
    p.kind = k;
    p.tenant_id = "ten_1";
    p.user_id = user;
    p.amount_micros = amount;
    p.reference = "ref";
    p.actor = "test";
    return p;
  }
  Result<std::string> credit(const Posting& p) {
    return db().in_transaction<std::string>(
        [&](storage::Connection& c) { return ledger_->credit(c, p); });
  }
  Result<std::string> debit(const Posting& p) {
    return db().in_transaction<std::string>(
        [&](storage::Connection& c) { return ledger_->debit(c, p); });
  }
  Balance balance(const std::string& user = "usr_a") {
    auto b = db().read<Balance>([&](storage::Connection& c) {
      return ledger_->balance(c, {"ten_1", user});
    });
    EXPECT_TRUE(b);
    return b ? *b : Balance{};
  }
  void expect_consistent() {
    auto a = db().read<Ledger::Audit>(
        [&](storage::Connection& c) { return ledger_->audit(c, "ten_1"); });
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->sum_micros, 0);
    EXPECT_TRUE(a->mismatched_accounts.empty());
  }
  std::unique_ptr<Ledger> ledger_;
};
RH_ON_BOTH_DRIVERS(LedgerTest);

TEST_P(LedgerTest, CreditsDebitsAndEntriesWithRunningBalance) {
  ASSERT_TRUE(credit(posting(TxnKind::topup, 5'000'000)));
  ASSERT_TRUE(debit(posting(TxnKind::sms, 7'500)));
  auto over = debit(posting(TxnKind::call, 6'000'000));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().reason, "insufficient_funds");
  EXPECT_EQ(balance().balance_micros, 4'992'500);
  auto e = db().read<std::vector<LedgerEntry>>([&](storage::Connection& c) {
    return ledger_->entries(c, {"ten_1", "usr_a"}, "", 10);
  });
  ASSERT_TRUE(e);
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ(e->at(0).kind, "sms");
  EXPECT_EQ(e->at(0).amount_micros, -7'500);
  EXPECT_EQ(e->at(0).balance_after_micros, 4'992'500);
  // Cursor: the page after the newest holds the older one.
  auto next = db().read<std::vector<LedgerEntry>>([&](storage::Connection& c) {
    return ledger_->entries(c, {"ten_1", "usr_a"}, e->at(0).id, 10);
  });
  ASSERT_TRUE(next);
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ(next->at(0).kind, "topup");
  // Another user sees nothing of it.
  EXPECT_EQ(balance("usr_b").balance_micros, 0);
  // A staff debit may go negative only when asked to.
  Posting fix = posting(TxnKind::adjustment, 6'000'000);
  EXPECT_FALSE(debit(fix));
  fix.allow_negative = true;
  ASSERT_TRUE(debit(fix));
  EXPECT_EQ(balance().balance_micros, -1'007'500);
  expect_consistent();
}

TEST_P(LedgerTest, ConcurrentSpendsNeverOverdraw) {
  ASSERT_TRUE(credit(posting(TxnKind::topup, 10'000'000)));
  std::atomic<int> ok{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto r = debit(posting(TxnKind::call, 300'000));
        if (r)
          ++ok;
        else if (r.error().reason == "insufficient_funds")
          ++refused;
        else
          ++other;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 33);  // 33 * 0.30 = 9.90; the 34th would overdraw
  EXPECT_EQ(refused.load(), 47);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(balance().balance_micros, 100'000);
  expect_consistent();
}

TEST_P(LedgerTest, HoldsReserveSettleReleaseAndExpire) {
  ASSERT_TRUE(credit(posting(TxnKind::topup, 3'000'000)));
  auto hold = [&](std::int64_t amount) {
    return db().in_transaction<Hold>([&](storage::Connection& c) {
      return ledger_->place_hold(c, "ten_1", "usr_a", amount, "call", "call-1",
                                 clock_.now_ms() + 60'000);
    });
  };
  auto h1 = hold(2'000'000);
  ASSERT_TRUE(h1);
  EXPECT_EQ(balance().available_micros(), 1'000'000);
  auto h2 = hold(1'500'000);
  ASSERT_FALSE(h2);
  EXPECT_EQ(h2.error().reason, "insufficient_funds");
  // Nobody else can spend the held money.
  EXPECT_FALSE(debit(posting(TxnKind::sms, 1'500'000)));
  auto settle = [&](const std::string& id, std::int64_t amount) {
    return db().in_transaction<Hold>([&](storage::Connection& c) {
      return ledger_->settle_hold(c, id, amount, TxnKind::call, "2 minutes");
    });
  };
  EXPECT_FALSE(settle(h1->id, 2'000'001));  // more than held
  auto s = settle(h1->id, 1'234'567);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->state, "settled");
  auto again = settle(h1->id, 1'234'567);  // idempotent
  ASSERT_TRUE(again);
  EXPECT_EQ(again->txn_id, s->txn_id);
  EXPECT_EQ(balance().balance_micros, 1'765'433);
  EXPECT_EQ(balance().held_micros, 0);
  // Release and expiry free the money without charging.
  auto h3 = hold(1'000'000);
  ASSERT_TRUE(h3);
  ASSERT_TRUE(db().in_transaction<Hold>(
      [&](storage::Connection& c) { return ledger_->release_hold(c, h3->id); }));
  EXPECT_FALSE(settle(h3->id, 1));
  auto h4 = hold(1'000'000);
  ASSERT_TRUE(h4);
  clock_.advance_ms(61'000);
  auto n =
      db().in_transaction<int>([&](storage::Connection& c) { return ledger_->expire_holds(c); });
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(balance().held_micros, 0);
  EXPECT_EQ(balance().balance_micros, 1'765'433);
  expect_consistent();
}

TEST_P(LedgerTest, IdempotencyKeysAndTheLowBalanceEvent) {
  Posting p = posting(TxnKind::topup, 3'000'000);
  p.idempotency_key = "payment:evt_1";
  ASSERT_TRUE(credit(p));
  auto dup = credit(p);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().reason, "duplicate_posting");
  EXPECT_EQ(balance().balance_micros, 3'000'000);
  // 3.00 -> 2.50 stays above 2.00; 2.50 -> 1.50 crosses; 1.50 -> 1.00 does not again.
  ASSERT_TRUE(debit(posting(TxnKind::sms, 500'000)));
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM events WHERE type = 'balance.low'"), 0);
  ASSERT_TRUE(debit(posting(TxnKind::sms, 1'000'000)));
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM events WHERE type = 'balance.low'"), 1);
  ASSERT_TRUE(debit(posting(TxnKind::sms, 500'000)));
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM events WHERE type = 'balance.low'"), 1);
  expect_consistent();
}

std::string stripe_header(const std::string& secret, std::int64_t t, const std::string& body) {
  return "t=" + std::to_string(t) +
         ",v1=" + crypto::hex_encode(crypto::hmac_sha256(secret, std::to_string(t) + "." + body));
}

TEST(StripeSignature, VerifiesTheDocumentedScheme) {
  std::string body = R"({"id":"evt_1"})";
  std::int64_t now = 1'700'000'000;
  EXPECT_TRUE(verify_stripe_signature(stripe_header("whsec_a", now, body), body, "whsec_a", now));
  // Several v1 (a rotated secret): any match is enough.
  std::string both = stripe_header("whsec_old", now, body) + ",v1=" +
                     stripe_header("whsec_a", now, body)
                         .substr(stripe_header("whsec_a", now, body).find("v1=") + 3);
  EXPECT_TRUE(verify_stripe_signature(both, body, "whsec_a", now));
  EXPECT_FALSE(
      verify_stripe_signature(stripe_header("whsec_a", now, body), body + " ", "whsec_a", now));
  EXPECT_FALSE(verify_stripe_signature(stripe_header("whsec_b", now, body), body, "whsec_a", now));
  auto stale =
      verify_stripe_signature(stripe_header("whsec_a", now - 301, body), body, "whsec_a", now);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().reason, "stale_signature");
  EXPECT_FALSE(verify_stripe_signature("", body, "whsec_a", now));
  EXPECT_FALSE(verify_stripe_signature("t=abc,v1=00", body, "whsec_a", now));
  EXPECT_FALSE(verify_stripe_signature("v1=00", body, "whsec_a", now));
}

TEST(StripeAmounts, MinorUnitsByCurrency) {
  EXPECT_EQ(minor_to_micros(1050, "usd"), 10'500'000);
  EXPECT_EQ(minor_to_micros(500, "JPY"), 500'000'000);
  EXPECT_EQ(minor_to_micros(1500, "kwd"), 1'500'000);
}

TEST_P(LedgerTest, PaymentWebhookCreditsOncePerEvent) {
  std::string secret = "whsec_test";
  PaymentWebhook hook(db(), *ledger_, clock_, secret,
                      [](const std::string& t, const std::string& u) -> Result<PaymentTarget> {
                        return PaymentTarget{"USD", t == "ten_1" && u == "usr_a"};
                      });
  auto event = [](const std::string& id, const std::string& user, std::int64_t cents,
                  const std::string& cur = "usd") {
    return R"({"id":")" + id +
           R"(","type":"checkout.session.completed","data":{"object":{"id":"cs_1","payment_status":"paid","amount_total":)" +
           std::to_string(cents) + R"(,"currency":")" + cur +
           R"(","metadata":{"tenant_id":"ten_1","user_id":")" + user + R"("}}}})";
  };
  std::int64_t now = clock_.now_ms() / 1000;
  std::string body = event("evt_1", "usr_a", 1000);
  auto r = hook.handle(stripe_header(secret, now, body), body);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, "credited");
  auto again = hook.handle(stripe_header(secret, now, body), body);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, "duplicate");
  EXPECT_EQ(balance().balance_micros, 10'000'000);
  // Tampered, unknown user, wrong currency, unrelated type.
  EXPECT_FALSE(hook.handle(stripe_header(secret, now, body), event("evt_1", "usr_a", 100000)));
  std::string stranger = event("evt_2", "usr_zzz", 1000);
  EXPECT_FALSE(hook.handle(stripe_header(secret, now, stranger), stranger));
  std::string euros = event("evt_3", "usr_a", 1000, "eur");
  EXPECT_FALSE(hook.handle(stripe_header(secret, now, euros), euros));
  std::string other = R"({"id":"evt_4","type":"customer.created","data":{"object":{}}})";
  auto ignored = hook.handle(stripe_header(secret, now, other), other);
  ASSERT_TRUE(ignored);
  EXPECT_EQ(ignored->status, "ignored");
  EXPECT_EQ(balance().balance_micros, 10'000'000);
  expect_consistent();
}

}  // namespace
}  // namespace rh::billing
