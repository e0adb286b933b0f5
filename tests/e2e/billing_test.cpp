// Billing end to end: staff adjustments, the payment webhook (signed,
// exactly once), balance.low, plans and subscriptions, rate decks and
// GET /v1/rates.
#include <boost/json.hpp>
#include <chrono>

#include "core/crypto.hpp"
#include "e2e/numbers_fixture.hpp"

namespace rh::test {
namespace {

namespace json = boost::json;

constexpr const char* kSecret = "whsec_e2e_secret";

class BillingE2E : public NumbersWorld {
 protected:
  void boot(const std::vector<std::string>& extra = {}) {
    boot_with({"--set", std::string("billing.payment_webhook_secret=") + kSecret, "--set",
               "billing.low_balance_micros=2000000"},
              extra);
  }
  HttpResponse hook(const std::string& body, std::int64_t t_offset = 0,
                    const std::string& secret = kSecret) {
    std::int64_t t = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() +
                     t_offset;
    HttpRequest q;
    q.method = "POST";
    q.target = "/hooks/payments";
    q.body = body;
    q.headers["Content-Type"] = "application/json";
    q.headers["Stripe-Signature"] =
        "t=" + std::to_string(t) +
        ",v1=" + crypto::hex_encode(crypto::hmac_sha256(secret, std::to_string(t) + "." + body));
    return http(port_, q);
  }
  std::string paid_event(const std::string& id, const std::string& user, int cents) {
    return json::serialize(json::object{
        {"id", id},
        {"type", "checkout.session.completed"},
        {"data",
         json::object{{"object", json::object{{"id", "cs_" + id},
                                              {"payment_status", "paid"},
                                              {"amount_total", cents},
                                              {"currency", "usd"},
                                              {"metadata", json::object{{"tenant_id", tenant_},
                                                                        {"user_id", user}}}}}}}});
  }
};

TEST_P(BillingE2E, PaymentWebhookCreditsExactlyOncePerEvent) {
  boot();
  Account a = signed_up_user(port_, op_, "payer@example.com");
  auto body = paid_event("evt_e2e_1", a.id, 2500);
  auto first = hook(body);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(jstr(first.json(), "status"), "credited");
  auto again = hook(body);  // the provider retries
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(jstr(again.json(), "status"), "duplicate");
  EXPECT_EQ(micros(balance(port_, a.access_token), "balance_micros"), 25'000'000);
  // Tampered (signature of another body), wrong secret, stale, unsigned:
  // refused, nothing credited.
  HttpRequest q;
  q.method = "POST";
  q.target = "/hooks/payments";
  q.body = paid_event("evt_e2e_4", a.id, 9999);
  q.headers["Stripe-Signature"] = "t=1700000000,v1=" + std::string(64, 'a');
  EXPECT_EQ(http(port_, q).status, 401);
  q.headers.erase("Stripe-Signature");
  EXPECT_EQ(hook(paid_event("evt_e2e_2", a.id, 100), 0, "whsec_wrong").status, 401);
  EXPECT_EQ(hook(paid_event("evt_e2e_3", a.id, 100), -400).status, 401);
  EXPECT_EQ(http(port_, q).status, 401);  // no signature at all
  EXPECT_EQ(hook("not json").status, 422);
  EXPECT_EQ(micros(balance(port_, a.access_token), "balance_micros"), 25'000'000);
  auto ledger = call(port_, "GET", "/v1/ledger", "", a.access_token);
  auto entries = ledger.json().at("data").as_array();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(jstr(entries.at(0), "kind"), "topup");
  EXPECT_EQ(jstr(entries.at(0), "reference"), "evt_e2e_1");
}

TEST_P(BillingE2E, StaffAdjustmentsAndTheLowBalanceEvent) {
  boot();
  Account a = signed_up_user(port_, op_, "adj@example.com");
  credit(port_, op_, a.id, "3.00");
  auto debit = call(port_, "POST", "/v1/admin/users/" + a.id + "/balance-adjustments",
                    R"({"amount":"-1.50","reason":"chargeback"})", op_);
  ASSERT_EQ(debit.status, 201) << debit.body;
  EXPECT_EQ(debit.json().at("balance_micros").as_int64(), 1'500'000);
  auto over = call(port_, "POST", "/v1/admin/users/" + a.id + "/balance-adjustments",
                   R"({"amount":"-5","reason":"too much"})", op_);
  EXPECT_EQ(over.status, 402) << over.body;
  auto forced = call(port_, "POST", "/v1/admin/users/" + a.id + "/balance-adjustments",
                     R"({"amount":"-5","reason":"fraud","allow_negative":true})", op_);
  EXPECT_EQ(forced.status, 201) << forced.body;
  EXPECT_EQ(micros(balance(port_, a.access_token), "balance_micros"), -3'500'000);
  EXPECT_EQ(call(port_, "POST", "/v1/admin/users/" + a.id + "/balance-adjustments",
                 R"({"amount":"1.5"})", op_)
                .status,
            422);
  EXPECT_EQ(call(port_, "POST", "/v1/admin/users/" + a.id + "/balance-adjustments",
                 R"({"amount":"1.1234567","reason":"x"})", op_)
                .status,
            422);
  // Users cannot adjust their own balance.
  EXPECT_EQ(call(port_, "POST", "/v1/admin/users/" + a.id + "/balance-adjustments",
                 R"({"amount":"100","reason":"me"})", a.access_token)
                .status,
            403);
  // The 3.00 -> 1.50 debit crossed 2.00: one balance.low event.
  EXPECT_TRUE(eventually([&] {
    auto e = call(port_, "GET", "/v1/admin/events?type=balance.low", "", op_);
    return e.status == 200 && e.json().at("data").as_array().size() == 1;
  }));
}

TEST_P(BillingE2E, PlansAreSubscribedOnceAndIncludeNumberRentals) {
  boot();
  auto plan = call(
      port_, "POST", admin("/v1/admin/plans"),
      R"({"name":"Basic","monthly_price":"4.99","included_numbers":1,"included_minutes":100,"included_sms":200})",
      op_);
  ASSERT_EQ(plan.status, 201) << plan.body;
  std::string plan_id = jstr(plan.json(), "id");
  EXPECT_EQ(plan.json().at("monthly_price_micros").as_int64(), 4'990'000);
  EXPECT_EQ(
      call(port_, "POST", admin("/v1/admin/plans"), R"({"name":"Bad","monthly_price":"-1"})", op_)
          .status,
      422);

  Account a = signed_up_user(port_, op_, "planner@example.com");
  auto plans = call(port_, "GET", "/v1/plans", "", a.access_token);
  ASSERT_EQ(plans.status, 200);
  EXPECT_EQ(plans.json().at("data").as_array().size(), 1u);
  HttpRequest q;
  q.method = "POST";
  q.target = "/v1/subscriptions";
  q.body = json::serialize(json::object{{"plan_id", plan_id}});
  q.headers["Content-Type"] = "application/json";
  q.headers["Authorization"] = "Bearer " + a.access_token;
  q.headers["Idempotency-Key"] = "sub-1";
  EXPECT_EQ(http(port_, q).status, 402);  // nothing on the wallet
  credit(port_, op_, a.id, "10.00");
  q.headers["Idempotency-Key"] = "sub-2";
  auto sub = http(port_, q);
  ASSERT_EQ(sub.status, 201) << sub.body;
  auto replay = http(port_, q);
  ASSERT_EQ(replay.status, 201) << replay.body;
  EXPECT_EQ(jstr(replay.json(), "id"), jstr(sub.json(), "id"));
  q.headers["Idempotency-Key"] = "sub-3";
  EXPECT_EQ(http(port_, q).status, 409);  // one plan at a time
  EXPECT_EQ(micros(balance(port_, a.access_token), "balance_micros"), 5'010'000);

  // The plan pays the first number's rental: only the upfront price is charged.
  ASSERT_EQ(
      post_csv(port_, admin("/v1/admin/numbers/import"), numbers_csv(0, 2, "2.00", "0.50"), op_)
          .status,
      201);
  ASSERT_EQ(purchase(port_, a.access_token, "+14155550000", "n-1").status, 201);
  EXPECT_EQ(micros(balance(port_, a.access_token), "balance_micros"), 4'510'000);
  ASSERT_EQ(purchase(port_, a.access_token, "+14155550001", "n-2").status, 201);
  EXPECT_EQ(micros(balance(port_, a.access_token), "balance_micros"), 2'010'000);

  auto cancel =
      call(port_, "DELETE", "/v1/subscriptions/" + jstr(sub.json(), "id"), "", a.access_token);
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  EXPECT_TRUE(cancel.json().at("cancel_at_period_end").as_bool());
}

TEST_P(BillingE2E, RateDecksPriceDestinationsByLongestPrefix) {
  boot();
  std::string deck =
      "prefix,description,per_minute,connect_fee,increment,sms,mms\n"
      "1,North America,0.010,0,60/60,0.0075,0.02\n"
      "1415,San Francisco,0.005,0.01,6/6,0.005,0.015\n"
      "44,United Kingdom,0.02,0,1/1,0.04,0.1\n";
  auto imp = post_csv(port_, admin("/v1/admin/rate-decks?name=Retail"), deck, op_);
  ASSERT_EQ(imp.status, 201) << imp.body;
  EXPECT_EQ(imp.json().at("rate_count").as_int64(), 3);
  Account a = signed_up_user(port_, op_, "rater@example.com");
  credit(port_, op_, a.id, "1.00");
  auto sf = call(port_, "GET", "/v1/rates?to=%2B14155550100", "", a.access_token);
  ASSERT_EQ(sf.status, 200) << sf.body;
  auto v = sf.json();
  EXPECT_EQ(jstr(v, "prefix"), "1415");
  EXPECT_EQ(v.at("per_minute_micros").as_int64(), 5'000);
  EXPECT_EQ(v.at("connect_fee_micros").as_int64(), 10'000);
  EXPECT_EQ(jstr(v, "increment"), "6/6");
  // (1.00 - 0.01 connect) / 0.005 per minute = 198 min = 11880 s, whole 6 s steps.
  EXPECT_EQ(v.at("max_call_seconds").as_int64(), 11'880);
  // National input with the tenant's country; longest prefix falls back to "1".
  auto ny = call(port_, "GET", "/v1/rates?to=2125550100", "", a.access_token);
  ASSERT_EQ(ny.status, 200) << ny.body;
  EXPECT_EQ(jstr(ny.json(), "prefix"), "1");
  auto fr = call(port_, "GET", "/v1/rates?to=%2B33142685300", "", a.access_token);
  EXPECT_EQ(fr.status, 404) << fr.body;
  EXPECT_EQ(call(port_, "GET", "/v1/rates?to=abc", "", a.access_token).status, 400);

  // A bad deck is refused by line and the old one stays active.
  auto bad = post_csv(
      port_, admin("/v1/admin/rate-decks"),
      "prefix,per_minute,increment\n1,0.01,60/60\nx1,0.01,60/60\n1,0.02,6/6\n44,-1,1/1\n", op_);
  ASSERT_EQ(bad.status, 422) << bad.body;
  EXPECT_GE(bad.json().at("errors").as_array().size(), 3u);
  auto decks = call(port_, "GET", admin("/v1/admin/rate-decks"), "", op_);
  ASSERT_EQ(decks.status, 200);
  EXPECT_EQ(decks.json().at("data").as_array().size(), 1u);
  sf = call(port_, "GET", "/v1/rates?to=%2B14155550100", "", a.access_token);
  EXPECT_EQ(jstr(sf.json(), "prefix"), "1415");
}

RH_E2E_ON_BOTH_DRIVERS(BillingE2E);

}  // namespace
}  // namespace rh::test
