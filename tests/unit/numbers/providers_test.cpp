// The carrier number providers (Telnyx, Bandwidth, Plivo) through the real
// libcurl client, each against tests/support/carrier-fake.py, a fake of the
// carrier's API that follows ../shared/contracts/carriers.md, over loopback.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "numbers/carrier_http.hpp"
#include "numbers/carriers.hpp"
#include "numbers/provider.hpp"
#include "support/carrier_fake.hpp"

namespace rh::numbers {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using test::CarrierFake;

std::string str(const json::value& v, std::string_view key) {
  const auto* p = v.as_object().if_contains(key);
  return p != nullptr && p->is_string() ? std::string(p->as_string()) : std::string();
}

std::string header(const json::value& request, std::string_view name) {
  return str(request.as_object().at("headers"), name);
}

std::vector<std::string> numbers_of(const std::vector<AvailableNumber>& found) {
  std::vector<std::string> out;
  for (const auto& n : found) out.push_back(n.e164);
  return out;
}

std::vector<std::string> requests_with_method(const json::array& log, const std::string& method) {
  std::vector<std::string> out;
  for (const auto& r : log)
    if (str(r, "method") == method) out.push_back(str(r, "path"));
  return out;
}

// A loopback port nothing listens on.
std::uint16_t closed_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// A fake for one carrier per test; fast transport settings.
class CarrierFakeFixture : public ::testing::Test {
 protected:
  virtual std::string carrier() const = 0;

  void SetUp() override {
    auto started = fake_.start(carrier());
    if (started.skip) GTEST_SKIP() << started.why;
    ASSERT_TRUE(started.ok) << started.why;
  }

  std::map<std::string, std::string> settings(std::map<std::string, std::string> overrides = {}) {
    auto s = fake_.settings();
    s["timeout_ms"] = "2000";
    s["max_attempts"] = "3";
    s["retry_base_ms"] = "10";
    for (auto& [k, v] : overrides) s[k] = v;
    return s;
  }

  std::unique_ptr<NumberProvider> provider(std::map<std::string, std::string> overrides = {}) {
    auto p = make_carrier_provider({carrier(), settings(std::move(overrides))});
    EXPECT_TRUE(p.ok()) << p.error().message;
    return p.ok() ? std::move(p).value() : nullptr;
  }

  // Polls order_status until the order is no longer pending (at most 10 times).
  ProviderOrder settle(NumberProvider& p, ProviderOrder o) {
    for (int i = 0; i < 10 && o.status == "pending"; ++i) {
      auto s = p.order_status(o.id);
      EXPECT_TRUE(s.ok()) << s.error().message;
      if (!s.ok()) break;
      o = *s;
    }
    return o;
  }

  CarrierFake fake_;
};

// ---------------------------------------------------------------------------
// Behaviour every carrier shares: retries, time-outs, credentials, orders.

class CarrierProviderTest : public CarrierFakeFixture,
                            public ::testing::WithParamInterface<std::string> {
 protected:
  std::string carrier() const override { return GetParam(); }

  static SearchQuery sf(int limit = 2) {
    SearchQuery q;
    q.area_code = "415";
    q.limit = limit;
    return q;
  }
};

TEST_P(CarrierProviderTest, TwoServiceUnavailablesAreRetriedThenTheSearchSucceeds) {
  auto p = provider();
  ASSERT_TRUE(fake_.control(R"({"fail_next": [503, 503]})"));
  auto found = p->search(sf());
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(numbers_of(*found), (std::vector<std::string>{"+14155551000", "+14155551037"}));
  EXPECT_EQ(fake_.requests().size(), 3u);
}

TEST_P(CarrierProviderTest, ATooManyRequestsWaitsForRetryAfter) {
  auto p = provider();
  ASSERT_TRUE(fake_.control(R"({"rate_limit_next": 1, "retry_after": 1})"));
  auto t0 = std::chrono::steady_clock::now();
  auto found = p->search(sf());
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(found->size(), 2u);
  EXPECT_GE(took, milliseconds(950));  // Retry-After: 1, not the 10 ms back-off
  EXPECT_EQ(fake_.requests().size(), 2u);
}

TEST_P(CarrierProviderTest, ServerErrorsToTheLastAttemptMakeTheProviderUnavailable) {
  auto p = provider();
  ASSERT_TRUE(fake_.control(R"({"fail_next": [500, 502, 503, 503]})"));
  auto found = p->search(sf());
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, Errc::unavailable);
  EXPECT_EQ(found.error().reason, "provider_unavailable");
  EXPECT_EQ(found.error().retry_after_s, 30);
  EXPECT_NE(found.error().message.find("Fake failure 503"), std::string::npos)
      << found.error().message;
  EXPECT_EQ(fake_.requests().size(), 3u);  // max_attempts
}

TEST_P(CarrierProviderTest, RateLimitedToTheEndReportsTheCarriersRetryAfter) {
  auto p = provider({{"max_attempts", "2"}});
  ASSERT_TRUE(fake_.control(R"({"rate_limit_next": 5, "retry_after": 1})"));
  auto found = p->search(sf());
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().reason, "provider_unavailable");
  EXPECT_EQ(found.error().retry_after_s, 1);
  EXPECT_EQ(fake_.requests().size(), 2u);
}

TEST_P(CarrierProviderTest, AnAnswerSlowerThanTheTimeoutIsRetriedThenGivenUp) {
  auto p = provider({{"timeout_ms", "250"}, {"max_attempts", "2"}});
  ASSERT_TRUE(fake_.control(R"({"delay_ms": 1500})"));
  auto t0 = std::chrono::steady_clock::now();
  auto found = p->search(sf());
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, Errc::unavailable);
  EXPECT_EQ(found.error().reason, "provider_unavailable");
  EXPECT_GT(found.error().retry_after_s, 0);
  EXPECT_LT(took, milliseconds(1400));  // two 250 ms attempts, not 1.5 s answers
  EXPECT_EQ(fake_.requests().size(), 2u);
}

TEST_P(CarrierProviderTest, OneSlowAnswerIsRetried) {
  auto p = provider({{"timeout_ms", "300"}});
  ASSERT_TRUE(fake_.control(R"({"delay_ms": 1500, "delay_count": 1})"));
  auto found = p->search(sf());
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(found->size(), 2u);
  EXPECT_EQ(fake_.requests().size(), 2u);
}

TEST_P(CarrierProviderTest, WrongCredentialsAreTheOperatorsToFix) {
  std::map<std::string, std::string> wrong;
  if (carrier() == "telnyx") wrong["api_key"] = "KEYwrong";
  if (carrier() == "bandwidth") wrong["password"] = "wrong";
  if (carrier() == "plivo") wrong["auth_token"] = "wrong";
  auto p = provider(wrong);
  auto found = p->search(sf());
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, Errc::unavailable);
  EXPECT_EQ(found.error().reason, "provider_auth_failed");
  EXPECT_NE(found.error().message.find("Authentication"), std::string::npos)
      << found.error().message;            // the carrier's own words
  EXPECT_EQ(fake_.requests().size(), 1u);  // not retried
}

TEST_P(CarrierProviderTest, AGarbageAnswerIsABadResponse) {
  auto p = provider();
  ASSERT_TRUE(fake_.control(R"({"fail_next": [200], "fail_body": "<html>oops</html>"})"));
  auto found = p->search(sf());
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, Errc::unavailable);
  EXPECT_EQ(found.error().reason, "provider_bad_response");
  EXPECT_EQ(fake_.requests().size(), 1u);
}

TEST_P(CarrierProviderTest, ARejectedRequestIsNotRetried) {
  auto p = provider();
  ASSERT_TRUE(fake_.control(R"({"fail_next": [400]})"));
  auto found = p->search(sf());
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().reason, "provider_rejected");
  EXPECT_NE(found.error().message.find("Fake failure 400"), std::string::npos)
      << found.error().message;
  EXPECT_EQ(fake_.requests().size(), 1u);
}

TEST_P(CarrierProviderTest, AnOrderCompletesAndTheReleaseGivesTheNumberBack) {
  auto p = provider();
  auto o = p->order("+14155551000", "ord_1");
  ASSERT_TRUE(o.ok()) << o.error().message;
  ProviderOrder done = settle(*p, *o);
  ASSERT_EQ(done.status, "complete") << done.detail;
  EXPECT_FALSE(done.phone_number_id.empty());
  auto after = p->search(sf(1));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(numbers_of(*after), std::vector<std::string>{"+14155551037"});  // sold

  ASSERT_TRUE(p->release("+14155551000", done.phone_number_id).ok());
  auto back = p->search(sf(1));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(numbers_of(*back), std::vector<std::string>{"+14155551000"});
}

TEST_P(CarrierProviderTest, APendingOrderCompletesThroughStatusPolls) {
  auto p = provider();
  ASSERT_TRUE(fake_.control(R"({"order_mode": "pending_then_complete", "pending_polls": 2})"));
  auto o = p->order("+14155551037", "ord_2");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->status, "pending");
  EXPECT_FALSE(o->id.empty());
  for (int i = 0; i < 2; ++i) {
    auto s = p->order_status(o->id);
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ(s->status, "pending") << "poll " << i;
  }
  auto s = p->order_status(o->id);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->status, "complete");
  EXPECT_EQ(s->id, o->id);
  EXPECT_FALSE(s->phone_number_id.empty());
}

TEST_P(CarrierProviderTest, AnOrderRetriedAfterA503IsPlacedOnce) {
  auto p = provider();
  ASSERT_TRUE(fake_.control(R"({"fail_next": [503]})"));
  auto o = p->order("+14155551074", "ord_3");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(settle(*p, *o).status, "complete");
  auto log = fake_.requests();
  auto posts = requests_with_method(log, "POST");
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[0], posts[1]);
}

TEST_P(CarrierProviderTest, ABadSettingIsRefusedUpFront) {
  auto s = settings({{"timeout_ms", "soon"}});
  auto p = make_carrier_provider({carrier(), s});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, Errc::invalid_argument);
  EXPECT_EQ(p.error().field, "settings.timeout_ms");
  auto bad_url = make_carrier_provider({carrier(), settings({{"base_url", "ftp://x"}})});
  ASSERT_FALSE(bad_url.ok());
  EXPECT_EQ(bad_url.error().field, "settings.base_url");
  auto q = SearchQuery{};
  q.features = {"fax"};
  auto found = provider()->search(q);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, Errc::invalid_argument);
  EXPECT_TRUE(fake_.requests().empty());
}

INSTANTIATE_TEST_SUITE_P(Carriers, CarrierProviderTest,
                         ::testing::Values("telnyx", "bandwidth", "plivo"),
                         [](const auto& param_info) { return param_info.param; });

// ---------------------------------------------------------------------------
// Telnyx: the contract's shapes.

class TelnyxProviderTest : public CarrierFakeFixture {
 protected:
  std::string carrier() const override { return "telnyx"; }
};

TEST_F(TelnyxProviderTest, SearchSendsTheDocumentedFiltersAndMapsPrices) {
  auto p = provider();
  SearchQuery q;
  q.area_code = "415";
  q.contains = "11";
  q.features = {"sms", "mms"};
  q.limit = 2;
  auto found = p->search(q);
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_EQ(found->size(), 2u);
  const AvailableNumber& a = (*found)[0];
  EXPECT_EQ(a.e164, "+14155551111");
  EXPECT_EQ(a.provider, "telnyx");
  EXPECT_EQ(a.features, (std::vector<std::string>{"sms", "mms"}));
  EXPECT_EQ(a.monthly_micros, 1'000'000);
  EXPECT_EQ(a.upfront_micros, 500'000);
  EXPECT_EQ(a.currency, "USD");
  EXPECT_EQ(a.country, "US");
  EXPECT_EQ(a.region, "CA");
  EXPECT_EQ(a.locality, "SAN FRANCISCO");
  const AvailableNumber& b = (*found)[1];
  EXPECT_EQ(b.e164, "+14155551148");
  EXPECT_EQ(b.features, (std::vector<std::string>{"sms", "mms", "voice"}));  // not "emergency"
  EXPECT_EQ(b.monthly_micros, 1'250'000);
  EXPECT_EQ(b.upfront_micros, 0);

  auto log = fake_.requests();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(str(log[0], "method"), "GET");
  EXPECT_EQ(str(log[0], "path"), "/v2/available_phone_numbers");
  EXPECT_EQ(str(log[0], "query"),
            "filter[country_code]=US&filter[national_destination_code]=415"
            "&filter[phone_number][contains]=11&filter[features][]=sms&filter[features][]=mms"
            "&filter[limit]=2");
  EXPECT_EQ(header(log[0], "authorization"), std::string("Bearer ") + CarrierFake::kApiKey);
}

TEST_F(TelnyxProviderTest, PlaceNamesAreEncodedAndMatched) {
  auto p = provider();
  SearchQuery q;
  q.locality = "New York";
  q.region = "NY";
  q.features = {"voice"};
  q.limit = 3;
  auto found = p->search(q);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(numbers_of(*found),
            (std::vector<std::string>{"+12125551000", "+12125551037", "+12125551074"}));
  auto log = fake_.requests();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(str(log[0], "query"),
            "filter[country_code]=US&filter[locality]=New%20York&filter[administrative_area]=NY"
            "&filter[features][]=voice&filter[limit]=3");
}

TEST_F(TelnyxProviderTest, AnOrderSendsTheDocumentedBodyAndReleasesByPhoneNumberId) {
  auto p = provider();
  auto o = p->order("+14155551000", "ord_42");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->status, "complete");
  EXPECT_EQ(o->id, "0fa1c5d2-7c3e-4b1a-9f00-000000000001");
  EXPECT_EQ(o->phone_number_id, "1293384261075731001");
  ASSERT_TRUE(p->release("+14155551000", o->phone_number_id).ok());

  auto log = fake_.requests();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(str(log[0], "method"), "POST");
  EXPECT_EQ(str(log[0], "path"), "/v2/number_orders");
  EXPECT_EQ(header(log[0], "content-type"), "application/json");
  EXPECT_EQ(header(log[0], "authorization"), std::string("Bearer ") + CarrierFake::kApiKey);
  auto body = json::parse(str(log[0], "body"));
  EXPECT_EQ(body, json::parse(R"({"phone_numbers":[{"phone_number":"+14155551000"}],
      "connection_id":"conn-1234","messaging_profile_id":"mp-5678",
      "customer_reference":"ord_42"})"));
  EXPECT_EQ(str(log[1], "method"), "DELETE");
  EXPECT_EQ(str(log[1], "path"), "/v2/phone_numbers/1293384261075731001");
  EXPECT_EQ(str(log[1], "body"), "");
  EXPECT_EQ(header(log[1], "content-type"), "");
}

TEST_F(TelnyxProviderTest, AFailedOrderSaysWhy) {
  auto p = provider();
  ASSERT_TRUE(fake_.control(R"({"order_mode": "fail"})"));
  auto o = p->order("+14155551000", "ord_5");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->status, "pending");
  auto s = p->order_status(o->id);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->status, "failed");
  EXPECT_NE(s->detail.find("failure"), std::string::npos) << s->detail;
  auto log = fake_.requests();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(str(log[1], "path"), "/v2/number_orders/" + o->id);
}

TEST_F(TelnyxProviderTest, ANumberNoLongerAvailableIsAConflict) {
  auto p = provider();
  auto o = p->order("+14155550000", "ord_6");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().code, Errc::conflict);
  EXPECT_EQ(o.error().reason, "number_unavailable");
  EXPECT_NE(o.error().message.find("Number not available"), std::string::npos) << o.error().message;
}

TEST_F(TelnyxProviderTest, ReleasingANumberAlreadyGoneSucceeds) {
  auto p = provider();
  EXPECT_TRUE(p->release("+14155551000", "1293384261075731999").ok());
  auto none = p->release("+14155551000", "");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::invalid_argument);
}

// ---------------------------------------------------------------------------
// Bandwidth: XML both ways, prices from the settings.

class BandwidthProviderTest : public CarrierFakeFixture {
 protected:
  std::string carrier() const override { return "bandwidth"; }
  static constexpr const char* kBasic = "Basic YXBpdXNlcjphcGlwYXNz";  // apiuser:apipass
};

TEST_F(BandwidthProviderTest, SearchByAreaCodeUsesTheConfiguredPrices) {
  auto p = provider({{"monthly_price", "2.5"}, {"upfront_price", "0.99"}});
  SearchQuery q;
  q.area_code = "415";
  q.features = {"sms", "mms"};
  q.limit = 3;
  auto found = p->search(q);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(numbers_of(*found),
            (std::vector<std::string>{"+14155551000", "+14155551037", "+14155551074"}));
  for (const auto& n : *found) {
    EXPECT_EQ(n.provider, "bandwidth");
    EXPECT_EQ(n.features, (std::vector<std::string>{"sms", "mms", "voice"}));
    EXPECT_EQ(n.monthly_micros, 2'500'000);
    EXPECT_EQ(n.upfront_micros, 990'000);
    EXPECT_EQ(n.currency, "USD");
    EXPECT_EQ(n.country, "US");
  }
  auto log = fake_.requests();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(str(log[0], "method"), "GET");
  EXPECT_EQ(str(log[0], "path"), "/api/accounts/9900001/availableNumbers");
  EXPECT_EQ(str(log[0], "query"), "areaCode=415&quantity=3");
  EXPECT_EQ(header(log[0], "authorization"), kBasic);
}

TEST_F(BandwidthProviderTest, SearchByCityAndStateAndDefaultPrices) {
  auto p = provider();
  SearchQuery q;
  q.locality = "New York";
  q.region = "ny";
  q.limit = 2;
  auto found = p->search(q);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(numbers_of(*found), (std::vector<std::string>{"+12125551000", "+12125551037"}));
  EXPECT_EQ((*found)[0].monthly_micros, 1'000'000);
  EXPECT_EQ((*found)[0].upfront_micros, 0);
  EXPECT_EQ((*found)[0].region, "NY");
  EXPECT_EQ(str(fake_.requests()[0], "query"), "city=New%20York&state=NY&quantity=2");
}

TEST_F(BandwidthProviderTest, ContainsIsFilteredHere) {
  auto p = provider();
  SearchQuery q;
  q.area_code = "415";
  q.contains = "777";
  q.limit = 5;
  auto found = p->search(q);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(numbers_of(*found), std::vector<std::string>{"+14155551777"});
  EXPECT_EQ(str(fake_.requests()[0], "query"), "areaCode=415&quantity=500");
}

TEST_F(BandwidthProviderTest, TheV1BaseWorksToo) {
  auto p = provider({{"base_url", fake_.base_url() + "/v1/"}});
  SearchQuery q;
  q.area_code = "919";
  q.limit = 1;
  auto found = p->search(q);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(numbers_of(*found), std::vector<std::string>{"+19195551000"});
  EXPECT_EQ(str(fake_.requests()[0], "path"), "/api/v1/accounts/9900001/availableNumbers");
}

TEST_F(BandwidthProviderTest, ASearchWithoutPlaceIsRefusedBeforeAsking) {
  auto p = provider();
  SearchQuery q;
  q.contains = "777";
  auto found = p->search(q);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, Errc::invalid_argument);
  SearchQuery other;
  other.country = "GB";
  other.area_code = "20";
  auto none = p->search(other);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_TRUE(fake_.requests().empty());
}

TEST_F(BandwidthProviderTest, AnOrderIsEscapedXmlAndTheDisconnectToo) {
  auto p = provider({{"site_id", "site<1>"}});
  auto o = p->order("+14155551000", "ord&\"7\"");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->status, "pending");  // RECEIVED
  EXPECT_EQ(o->id, "6a2bd4c8-3e1f-4d5a-8b00-000000000001");
  auto done = p->order_status(o->id);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done->status, "complete");
  EXPECT_EQ(done->phone_number_id, "4155551000");
  ASSERT_TRUE(p->release("+14155551000", done->phone_number_id).ok());

  auto log = fake_.requests();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(str(log[0], "method"), "POST");
  EXPECT_EQ(str(log[0], "path"), "/api/accounts/9900001/orders");
  EXPECT_EQ(header(log[0], "authorization"), kBasic);
  EXPECT_EQ(header(log[0], "content-type"), "application/xml; charset=utf-8");
  EXPECT_EQ(str(log[0], "body"),
            "<Order><CustomerOrderId>ord&amp;&quot;7&quot;</CustomerOrderId>"
            "<ExistingTelephoneNumberOrderType><TelephoneNumberList>"
            "<TelephoneNumber>4155551000</TelephoneNumber></TelephoneNumberList>"
            "</ExistingTelephoneNumberOrderType><SiteId>site&lt;1&gt;</SiteId></Order>");
  EXPECT_EQ(str(log[1], "method"), "GET");
  EXPECT_EQ(str(log[1], "path"), "/api/accounts/9900001/orders/" + o->id);
  EXPECT_EQ(str(log[2], "method"), "POST");
  EXPECT_EQ(str(log[2], "path"), "/api/accounts/9900001/disconnects");
  EXPECT_EQ(str(log[2], "body"),
            "<DisconnectTelephoneNumberOrder><DisconnectTelephoneNumberOrderType>"
            "<TelephoneNumberList><TelephoneNumber>4155551000</TelephoneNumber>"
            "</TelephoneNumberList></DisconnectTelephoneNumberOrderType>"
            "</DisconnectTelephoneNumberOrder>");
}

TEST_F(BandwidthProviderTest, APartialOneNumberOrderFailed) {
  auto p = provider();
  ASSERT_TRUE(fake_.control(R"({"order_mode": "partial"})"));
  auto o = p->order("+14155551000", "ord_8");
  ASSERT_TRUE(o.ok()) << o.error().message;
  auto s = p->order_status(o->id);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->status, "failed");
  EXPECT_NE(s->detail.find("PARTIAL"), std::string::npos) << s->detail;
  EXPECT_NE(s->detail.find("5005"), std::string::npos) << s->detail;
}

TEST_F(BandwidthProviderTest, AFailedOrderAndAnUnavailableNumberEndFailed) {
  auto p = provider();
  ASSERT_TRUE(fake_.control(R"({"order_mode": "fail"})"));
  auto o = p->order("+14155551000", "ord_9");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(settle(*p, *o).status, "failed");
  ASSERT_TRUE(fake_.control(R"({"order_mode": "complete"})"));
  auto gone = p->order("+14155550000", "ord_10");  // not in the inventory
  ASSERT_TRUE(gone.ok()) << gone.error().message;
  ProviderOrder s = settle(*p, *gone);
  EXPECT_EQ(s.status, "failed");
  EXPECT_NE(s.detail.find("unavailable"), std::string::npos) << s.detail;
}

TEST_F(BandwidthProviderTest, TheCarriersErrorTextIsInTheMessage) {
  auto p = provider({{"account_id", "1234"}});  // not this user's account
  SearchQuery q;
  q.area_code = "415";
  auto found = p->search(q);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().reason, "provider_auth_failed");
  EXPECT_NE(found.error().message.find("no access to account 1234 (code 403)"), std::string::npos)
      << found.error().message;
}

// ---------------------------------------------------------------------------
// Plivo: JSON, numbers without '+', our own order ids.

class PlivoProviderTest : public CarrierFakeFixture {
 protected:
  std::string carrier() const override { return "plivo"; }
  static std::string account() { return std::string("/v1/Account/") + CarrierFake::kAuthId; }
};

TEST_F(PlivoProviderTest, SearchSendsCountryPatternServicesAndLimit) {
  auto p = provider();
  SearchQuery q;
  q.area_code = "415";
  q.features = {"sms", "voice"};
  q.limit = 3;
  auto found = p->search(q);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(numbers_of(*found),
            (std::vector<std::string>{"+14155551000", "+14155551074", "+14155551148"}));
  const AvailableNumber& b = (*found)[1];
  EXPECT_EQ(b.provider, "plivo");
  EXPECT_EQ(b.features, (std::vector<std::string>{"sms", "voice"}));
  EXPECT_EQ(b.monthly_micros, 1'500'000);
  EXPECT_EQ(b.upfront_micros, 0);
  EXPECT_EQ(b.locality, "SAN FRANCISCO");
  EXPECT_EQ(b.currency, "USD");
  EXPECT_EQ((*found)[2].monthly_micros, 1'250'000);

  auto log = fake_.requests();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(str(log[0], "path"), account() + "/PhoneNumber/");
  EXPECT_EQ(str(log[0], "query"), "country_iso=US&pattern=415&services=voice,sms&limit=3");
  EXPECT_EQ(header(log[0], "authorization"),
            "Basic TUFGQUtFQVVUSElEMDAwMDAwMDpmYWtlLWF1dGgtdG9rZW4=");
}

TEST_F(PlivoProviderTest, ContainsBecomesThePatternOrIsFilteredHere) {
  auto p = provider();
  SearchQuery q;
  q.contains = "212555";
  q.limit = 2;
  auto found = p->search(q);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(numbers_of(*found), (std::vector<std::string>{"+12125551000", "+12125551037"}));
  SearchQuery both;
  both.area_code = "415";
  both.contains = "1111";
  auto one = p->search(both);
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(numbers_of(*one), std::vector<std::string>{"+14155551111"});
  auto log = fake_.requests();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(str(log[0], "query"), "country_iso=US&pattern=212555&limit=2");
  EXPECT_EQ(str(log[1], "query"), "country_iso=US&pattern=415&limit=20");
}

TEST_F(PlivoProviderTest, ABuyIsCompleteAtOnceAndReleasedTwiceHarmlessly) {
  auto p = provider();
  auto o = p->order("+14155551000", "ord_11");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->status, "complete");
  EXPECT_EQ(o->id, "plivo:14155551000");
  EXPECT_EQ(o->phone_number_id, "14155551000");
  ASSERT_TRUE(p->release("+14155551000", o->phone_number_id).ok());
  ASSERT_TRUE(p->release("+14155551000", o->phone_number_id).ok());  // 404: gone already

  auto log = fake_.requests();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(str(log[0], "method"), "POST");
  EXPECT_EQ(str(log[0], "path"), account() + "/PhoneNumber/14155551000/");
  EXPECT_EQ(header(log[0], "content-type"), "application/json");
  EXPECT_EQ(json::parse(str(log[0], "body")), json::parse(R"({"app_id":"app-77"})"));
  EXPECT_EQ(str(log[1], "method"), "DELETE");
  EXPECT_EQ(str(log[1], "path"), account() + "/Number/14155551000/");
}

TEST_F(PlivoProviderTest, APendingBuyIsPolledThroughTheRentedNumber) {
  auto p = provider();
  ASSERT_TRUE(fake_.control(R"({"order_mode": "pending_then_complete", "pending_polls": 1})"));
  auto o = p->order("+14155551000", "ord_12");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->status, "pending");
  EXPECT_EQ(settle(*p, *o).status, "complete");
  auto log = fake_.requests();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(str(log[1], "method"), "GET");
  EXPECT_EQ(str(log[1], "path"), account() + "/Number/14155551000/");
}

TEST_F(PlivoProviderTest, ARefusedBuyAndAMissingNumber) {
  auto p = provider();
  ASSERT_TRUE(fake_.control(R"({"order_mode": "fail"})"));
  auto refused = p->order("+14155551000", "ord_13");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().reason, "provider_rejected");
  EXPECT_NE(refused.error().message.find("could not be purchased"), std::string::npos)
      << refused.error().message;
  ASSERT_TRUE(fake_.control(R"({"order_mode": "complete"})"));
  auto missing = p->order("+14155550000", "ord_14");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::conflict);
  EXPECT_EQ(missing.error().reason, "number_unavailable");
  auto bad_id = p->order_status("ord_14");
  ASSERT_FALSE(bad_id.ok());
  EXPECT_EQ(bad_id.error().code, Errc::invalid_argument);
}

// ---------------------------------------------------------------------------
// The HTTP client itself, with a recording sleep.

class ProviderHttpTest : public CarrierFakeFixture {
 protected:
  std::string carrier() const override { return "telnyx"; }

  CarrierHttp client(int max_attempts = 3, std::size_t max_body = 4u << 20) {
    CarrierHttpOptions o;
    o.carrier = "telnyx";
    o.timeout_ms = 2000;
    o.max_attempts = max_attempts;
    o.retry_base_ms = 100;
    o.max_body = max_body;
    return CarrierHttp(o, [this](milliseconds d) { waits_.push_back(d); });
  }

  CarrierRequest search_request() {
    CarrierRequest r;
    r.url = fake_.base_url() + "/available_phone_numbers?filter[limit]=1";
    r.headers = {{"Authorization", std::string("Bearer ") + CarrierFake::kApiKey}};
    return r;
  }

  std::vector<milliseconds> waits_;
};

TEST_F(ProviderHttpTest, BackOffGrowsAndRetryAfterIsCapped) {
  ASSERT_TRUE(fake_.control(R"({"fail_next": [503, 503, 503]})"));
  auto r = client(4).send(search_request());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->attempts, 4);
  ASSERT_EQ(waits_.size(), 3u);
  EXPECT_GE(waits_[0], milliseconds(50));
  EXPECT_LE(waits_[0], milliseconds(100));
  EXPECT_GE(waits_[1], milliseconds(100));
  EXPECT_LE(waits_[1], milliseconds(200));
  EXPECT_GE(waits_[2], milliseconds(200));
  EXPECT_LE(waits_[2], milliseconds(400));

  waits_.clear();
  ASSERT_TRUE(fake_.control(R"({"rate_limit_next": 1, "retry_after": 3600})"));
  auto limited = client().send(search_request());
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->status, 200);
  EXPECT_EQ(waits_, std::vector<milliseconds>{milliseconds(10'000)});
}

TEST_F(ProviderHttpTest, TheLastAnswerIsReturnedWithItsHeaders) {
  ASSERT_TRUE(fake_.control(R"({"rate_limit_next": 2, "retry_after": 7})"));
  auto r = client(2).send(search_request());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->retry_after_s, 7);
  EXPECT_EQ(r->header("Retry-After"), "7");
  EXPECT_EQ(r->headers.at("retry-after"), "7");
  Error e = carrier_error("telnyx", CarrierCall::search, *r, "Too many requests");
  EXPECT_EQ(e.reason, "provider_unavailable");
  EXPECT_EQ(e.retry_after_s, 7);
}

TEST_F(ProviderHttpTest, RedirectsAreFollowedOnlyOnTheSameHost) {
  std::string here = fake_.base_url() + "/available_phone_numbers?filter[limit]=2";
  ASSERT_TRUE(fake_.control(
      R"({"fail_next": [307], "fail_body": "", "fail_headers": {"Location": ")" + here + R"("}})"));
  auto same = client().send(search_request());
  ASSERT_TRUE(same.ok()) << same.error().message;
  EXPECT_EQ(same->status, 200);
  EXPECT_EQ(fake_.requests().size(), 2u);

  ASSERT_TRUE(fake_.control(
      R"({"reset": true, "fail_next": [302], "fail_body": "",
          "fail_headers": {"Location": "http://example.invalid/steal"}})"));
  auto away = client().send(search_request());
  ASSERT_FALSE(away.ok());
  EXPECT_EQ(away.error().reason, "provider_bad_response");
  EXPECT_EQ(fake_.requests().size(), 1u);
}

TEST_F(ProviderHttpTest, AnOversizedAnswerIsRefused) {
  auto r = client(3, 64).send(search_request());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, "provider_bad_response");
  EXPECT_EQ(fake_.requests().size(), 1u);  // not retried
}

TEST_F(ProviderHttpTest, AClosedPortIsRetriedThenUnavailable) {
  CarrierRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/v2/x";
  auto r = client(3).send(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_EQ(r.error().reason, "provider_unavailable");
  EXPECT_EQ(r.error().retry_after_s, 30);
  EXPECT_EQ(waits_.size(), 2u);
  CarrierRequest ftp;
  ftp.url = "ftp://127.0.0.1/x";
  auto refused = client().send(ftp);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::invalid_argument);
}

// ---------------------------------------------------------------------------
// Pure functions: XML, prices, settings, queries.

TEST(ProviderXmlTest, ReadsElementsSafely) {
  std::string_view doc =
      R"(<?xml version="1.0"?><!DOCTYPE x [<!ENTITY big "boom">]><!-- <id>no</id> -->)"
      R"(<OrderResponse><OrderStatus>COMPLETE</OrderStatus><Order a="x>y"><id> abc&amp;1 </id>)"
      R"(<Note><![CDATA[<b>&raw</b>]]> &#x41;&#66;&big;</Note><Empty/></Order>)"
      R"(<L><T>1</T><T><T>2</T></T><T>3</T></L></OrderResponse>)";
  auto order = xml::element(doc, "Order");
  ASSERT_TRUE(order.has_value());
  EXPECT_EQ(xml::text(*order, "id"), "abc&1");
  EXPECT_EQ(xml::text(doc, "OrderStatus"), "COMPLETE");      // not <OrderResponse>'s text
  EXPECT_EQ(xml::text(doc, "Note"), "<b>&raw</b> AB&big;");  // no custom entities
  EXPECT_EQ(xml::text(doc, "Empty"), "");
  EXPECT_EQ(xml::texts(*xml::element(doc, "L"), "T"), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_FALSE(xml::text(doc, "Missing").has_value());
  EXPECT_FALSE(xml::text("<a><id>cut short", "id").has_value());
  EXPECT_FALSE(xml::text("not xml at all", "id").has_value());
  EXPECT_EQ(xml::escape(R"(a&b<c>"d'e)"), "a&amp;b&lt;c&gt;&quot;d&apos;e");
}

TEST(ProviderPriceTest, CarrierDecimalsBecomeMicros) {
  EXPECT_EQ(price_micros("6.54").value(), 6'540'000);
  EXPECT_EQ(price_micros("0.80000").value(), 800'000);
  EXPECT_EQ(price_micros(" 1 ").value(), 1'000'000);
  EXPECT_EQ(price_micros("1.0000000").value(), 1'000'000);
  EXPECT_EQ(price_micros("0.0000001").value(), 1);  // rounded up, never down
  EXPECT_FALSE(price_micros("").ok());
  EXPECT_FALSE(price_micros("1,00").ok());
  EXPECT_FALSE(price_micros("0.0000001x").ok());
}

TEST(ProviderHttpHelpersTest, RetryAfterEncodingAndBackOff) {
  EXPECT_EQ(parse_retry_after("5", 0), 5);
  EXPECT_EQ(parse_retry_after("soon", 0), -1);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", 1445412480), 30);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480), 0);
  EXPECT_EQ(percent_encode("New York, NY/é~"), "New%20York%2C%20NY%2F%C3%A9~");
  EXPECT_EQ(query_string({{"a[]", "x y"}, {"b", "1"}}), "?a[]=x%20y&b=1");
  for (int i = 0; i < 20; ++i) {
    EXPECT_LE(backoff_delay(30, 200, 10'000), milliseconds(10'000));
    EXPECT_GE(backoff_delay(30, 200, 10'000), milliseconds(5'000));
  }
  EXPECT_EQ(backoff_delay(1, 0, 10'000), milliseconds(0));
}

TEST(ProviderFactoryTest, NamesSettingsAndQueriesAreChecked) {
  EXPECT_EQ(required_settings("telnyx"),
            (std::vector<std::string>{"api_key", "connection_id", "messaging_profile_id"}));
  EXPECT_EQ(required_settings("bandwidth"),
            (std::vector<std::string>{"account_id", "username", "password", "site_id"}));
  EXPECT_EQ(required_settings("plivo"),
            (std::vector<std::string>{"auth_id", "auth_token", "app_id"}));
  EXPECT_TRUE(required_settings("twilio").empty());

  auto unknown = make_carrier_provider({"twilio", {}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, Errc::invalid_argument);
  auto missing = make_carrier_provider({"telnyx", {{"api_key", "k"}, {"connection_id", "c"}}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().field, "settings.messaging_profile_id");
  auto price = make_carrier_provider({"bandwidth",
                                      {{"account_id", "1"},
                                       {"username", "u"},
                                       {"password", "p"},
                                       {"site_id", "s"},
                                       {"monthly_price", "cheap"}}});
  ASSERT_FALSE(price.ok());
  EXPECT_EQ(price.error().field, "settings.monthly_price");
  auto ok =
      make_carrier_provider({"plivo", {{"auth_id", "a"}, {"auth_token", "t"}, {"app_id", "x"}}});
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ((*ok)->name(), "plivo");

  SearchQuery q;
  q.country = "us";
  q.features = {"SMS", "sms", "voice"};
  auto checked = checked_query(q);
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(checked->country, "US");
  EXPECT_EQ(checked->features, (std::vector<std::string>{"sms", "voice"}));
  q.limit = 0;
  EXPECT_FALSE(checked_query(q).ok());
  q.limit = 5;
  q.area_code = "41a";
  EXPECT_EQ(checked_query(q).error().field, "area_code");
}

}  // namespace
}  // namespace rh::numbers
