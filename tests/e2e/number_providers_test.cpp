// Buying carriers' numbers end to end: the real binary talks to contract
// fakes of Telnyx, Bandwidth and Plivo (tests/support/carrier-fake.py, a
// separate HTTP process each) — search merged with the local pool, orders
// that complete, stay pending then complete (answered 202 and finished by
// the order job), fail (refunded, nothing left), 5xx and 429 answers, and
// release back to the carrier.
#include <boost/json.hpp>
#include <set>

#include "e2e/numbers_fixture.hpp"
#include "support/carrier_fake.hpp"

namespace rh::test {
namespace {

namespace json = boost::json;

class ProvidersE2E : public NumbersWorld {
 protected:
  void boot(const std::vector<std::string>& extra = {}) {
    boot_with({"--set", "numbers.order_poll_ms=100", "--set", "numbers.order_wait_ms=5000", "--set",
               "jobs.poll_ms=50", "--set", "jobs.retry_base_ms=100", "--set",
               "numbers.sweep_interval_s=1", "--set", "numbers.aging_s=1"},
              extra);
  }
  bool carrier(CarrierFake& fake, const std::string& name) { return use_carrier(fake, name); }
  int count_requests(CarrierFake& f, const std::string& method, const std::string& path_part) {
    int n = 0;
    for (const auto& r : f.requests())
      if (r.at("method").as_string() == method &&
          std::string(r.at("path").as_string()).find(path_part) != std::string::npos)
        ++n;
    return n;
  }
};

TEST_P(ProvidersE2E, TelnyxSearchPurchasePendingFailureAndRelease) {
  boot();
  CarrierFake telnyx;
  if (!carrier(telnyx, "telnyx")) {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    return;
  }
  ASSERT_EQ(post_csv(port_, admin("/v1/admin/numbers/import"), numbers_csv(0, 1), op_).status, 201);
  Account a = signed_up_user(port_, op_, "carrier@example.com");
  credit(port_, op_, a.id, "10.00");

  // Local first, then the carrier's offers with their prices; every result
  // names its provider. Provider settings are never shown back.
  auto found = call(port_, "GET", "/v1/numbers/available?area_code=415&features=sms&limit=5", "",
                    a.access_token);
  ASSERT_EQ(found.status, 200) << found.body;
  auto data = found.json().at("data").as_array();
  ASSERT_GE(data.size(), 3u) << found.body;
  EXPECT_EQ(jstr(data.at(0), "provider"), "local");
  EXPECT_EQ(jstr(data.at(1), "provider"), "telnyx");
  EXPECT_EQ(jstr(data.at(1), "phone_number"), "+14155551000");
  EXPECT_EQ(data.at(1).at("monthly_price_micros").as_int64(), 1'000'000);
  auto listed = call(port_, "GET", admin("/v1/admin/providers"), "", op_);
  EXPECT_EQ(listed.body.find(CarrierFake::kApiKey), std::string::npos);

  // A slow answer (past the 2 s per-attempt time-out) is retried.
  ASSERT_TRUE(telnyx.control(R"({"delay_ms":2500,"delay_count":1})"));
  auto slow = call(port_, "GET", "/v1/numbers/available?area_code=212&limit=3", "", a.access_token);
  ASSERT_EQ(slow.status, 200) << slow.body;
  EXPECT_EQ(slow.json().at("unavailable_providers").as_array().size(), 0u) << slow.body;
  EXPECT_EQ(slow.json().at("data").as_array().size(), 3u) << slow.body;

  // An order that stays pending for two polls, then completes.
  ASSERT_TRUE(telnyx.control(R"({"order_mode":"pending_then_complete","pending_polls":2})"));
  auto bought = purchase(port_, a.access_token, "+14155551000", "t-1", "telnyx");
  ASSERT_EQ(bought.status, 201) << bought.body << rh_->log();
  std::string number_id = jstr(bought.json().at("number"), "id");
  EXPECT_EQ(jstr(bought.json().at("number"), "provider"), "telnyx");
  EXPECT_EQ(micros(balance(port_, a.access_token), "balance_micros"), 9'000'000);
  // The order carried our order id as the customer reference.
  bool referenced = false;
  for (const auto& r : telnyx.requests())
    if (r.at("method").as_string() == "POST" &&
        std::string(r.at("body").as_string()).find("nor_") != std::string::npos)
      referenced = true;
  EXPECT_TRUE(referenced);
  // Now held by the platform: not offered again.
  found = call(port_, "GET", "/v1/numbers/available?contains=5551000", "", a.access_token);
  auto again = found.json();
  for (const auto& n : again.at("data").as_array())
    EXPECT_NE(jstr(n, "phone_number"), "+14155551000");

  // An order that fails: refunded, nothing left behind; the key replays it.
  ASSERT_TRUE(telnyx.control(R"({"order_mode":"fail","pending_polls":1})"));
  auto failed = purchase(port_, a.access_token, "+14155551037", "t-2", "telnyx");
  EXPECT_EQ(failed.status, 503) << failed.body;
  EXPECT_NE(failed.body.find("provider_order_failed"), std::string::npos) << failed.body;
  auto b = balance(port_, a.access_token);
  EXPECT_EQ(micros(b, "available_micros"), 9'000'000);
  EXPECT_EQ(micros(b, "held_micros"), 0);
  EXPECT_EQ(purchase(port_, a.access_token, "+14155551037", "t-2", "telnyx").status, 503);
  auto summary = call(port_, "GET", admin("/v1/admin/numbers/summary"), "", op_);
  EXPECT_EQ(summary.json().at("by_state").at("reserved").as_int64(), 0) << summary.body;

  // 503, 503 then success, and 429 with Retry-After: retried inside one purchase.
  ASSERT_TRUE(telnyx.control(R"({"order_mode":"complete","fail_next":[503,503]})"));
  EXPECT_EQ(purchase(port_, a.access_token, "+14155551074", "t-3", "telnyx").status, 201);
  ASSERT_TRUE(telnyx.control(R"({"rate_limit_next":1,"retry_after":1})"));
  EXPECT_EQ(purchase(port_, a.access_token, "+14155551111", "t-4", "telnyx").status, 201);

  // Release gives it back to the carrier (DELETE /phone_numbers/{id}).
  auto released = call(port_, "DELETE", "/v1/numbers/" + number_id, "", a.access_token);
  ASSERT_EQ(released.status, 202) << released.body;
  EXPECT_TRUE(eventually([&] { return count_requests(telnyx, "DELETE", "/phone_numbers/") == 1; }))
      << rh_->log();
  EXPECT_TRUE(eventually([&] {
    auto n = call(port_, "GET", "/v1/admin/numbers/" + number_id, "", op_);
    return n.status == 404 || (n.status == 200 && jstr(n.json(), "state") == "aging");
  }));
}

TEST_P(ProvidersE2E, SlowOrdersAnswer202AndTheJobFinishesThem) {
  boot({"--set", "numbers.order_wait_ms=300"});
  CarrierFake telnyx;
  if (!carrier(telnyx, "telnyx")) {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    return;
  }
  Account a = signed_up_user(port_, op_, "slow@example.com");
  credit(port_, op_, a.id, "10.00");
  ASSERT_TRUE(telnyx.control(R"({"order_mode":"pending_then_complete","pending_polls":6})"));
  auto r = purchase(port_, a.access_token, "+12125551000", "s-1", "telnyx");
  ASSERT_EQ(r.status, 202) << r.body;
  std::string order_id = jstr(r.json().at("order"), "id");
  EXPECT_EQ(r.header("location"), "/v1/number-orders/" + order_id);
  EXPECT_EQ(micros(balance(port_, a.access_token), "held_micros"), 1'000'000);
  EXPECT_TRUE(eventually(
      [&] {
        auto o = call(port_, "GET", "/v1/number-orders/" + order_id, "", a.access_token);
        return o.status == 200 && jstr(o.json(), "state") == "complete";
      },
      std::chrono::seconds(60)))
      << rh_->log();
  auto b = balance(port_, a.access_token);
  EXPECT_EQ(micros(b, "held_micros"), 0);
  EXPECT_EQ(micros(b, "balance_micros"), 9'000'000);
  // The replayed key now answers the finished purchase.
  auto replay = purchase(port_, a.access_token, "+12125551000", "s-1", "telnyx");
  EXPECT_EQ(replay.status, 201) << replay.body;
}

TEST_P(ProvidersE2E, BandwidthAndPlivoPurchasesAndAnUnreachableCarrier) {
  boot();
  CarrierFake bandwidth, plivo;
  if (!carrier(bandwidth, "bandwidth") || !carrier(plivo, "plivo")) {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    return;
  }
  Account a = signed_up_user(port_, op_, "multi@example.com");
  credit(port_, op_, a.id, "20.00");
  auto found =
      call(port_, "GET", "/v1/numbers/available?area_code=919&limit=50", "", a.access_token);
  ASSERT_EQ(found.status, 200) << found.body;
  // Both fakes hold the same numbers: each is offered once (by the first
  // carrier that offered it), and a purchase may still name the other.
  std::set<std::string> seen;
  bool saw_bw = false;
  auto offers = found.json();
  for (const auto& n : offers.at("data").as_array()) {
    EXPECT_TRUE(seen.insert(jstr(n, "phone_number")).second) << "offered twice: " << n;
    saw_bw |= jstr(n, "provider") == "bandwidth";
  }
  EXPECT_TRUE(saw_bw) << found.body;
  ASSERT_TRUE(bandwidth.control(R"({"order_mode":"pending_then_complete","pending_polls":1})"));
  auto bw = purchase(port_, a.access_token, "+19195551000", "b-1", "bandwidth");
  EXPECT_EQ(bw.status, 201) << bw.body;
  auto pl = purchase(port_, a.access_token, "+19195551037", "p-1", "plivo");
  EXPECT_EQ(pl.status, 201) << pl.body;
  EXPECT_EQ(count_requests(bandwidth, "POST", "/orders"), 1);
  EXPECT_EQ(count_requests(plivo, "POST", "/PhoneNumber/19195551037/"), 1);

  // A carrier answering 503 to everything: search still answers, naming it.
  ASSERT_TRUE(plivo.control(R"({"fail_next":[503,503,503,503,503,503,503,503]})"));
  found = call(port_, "GET", "/v1/numbers/available?area_code=919", "", a.access_token);
  ASSERT_EQ(found.status, 200) << found.body;
  auto unavailable = found.json().at("unavailable_providers").as_array();
  ASSERT_EQ(unavailable.size(), 1u) << found.body;
  EXPECT_EQ(unavailable.at(0).as_string(), "plivo");
}

RH_E2E_ON_BOTH_DRIVERS(ProvidersE2E);

}  // namespace
}  // namespace rh::test
