// Sending SMS/MMS through the carriers' HTTP APIs (Telnyx, Bandwidth, Plivo)
// with the real libcurl client, each against tests/support/carrier-fake.py,
// a fake of the carrier's API that follows ../shared/contracts/carriers.md,
// over loopback.
#include "messaging/carrier_messaging.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "support/carrier_fake.hpp"

namespace rh::messaging {
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

json::object body_of(const json::value& request) {
  return json::parse(str(request, "body")).as_object();
}

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

CarrierSend sms(std::string text = "Hello from Ringhouse") {
  CarrierSend m;
  m.from = "+14155551000";
  m.to = "+12125550123";
  m.text = std::move(text);
  m.reference = "msg_01HZX3";
  return m;
}

CarrierSend mms() {
  CarrierSend m = sms("Look at this");
  m.media_urls = {"https://rh.example.com/media/med_1/cat.jpg",
                  "https://rh.example.com/media/med_2/dog.png"};
  m.status_url = "https://rh.example.com/hooks/carrier/status?msg=msg_01HZX3";
  return m;
}

// A fake for one carrier per test; fast transport settings; retry waits
// recorded instead of slept.
class CarrierMessagingFixture : public ::testing::Test {
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

  std::unique_ptr<MessageCarrier> sender(std::map<std::string, std::string> overrides = {}) {
    auto c = make_message_carrier(carrier(), settings(std::move(overrides)),
                                  [this](milliseconds d) { waits_.push_back(d); });
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? std::move(c).value() : nullptr;
  }

  CarrierFake fake_;
  std::vector<milliseconds> waits_;
};

// ---------------------------------------------------------------------------
// What every carrier shares

class CarrierMessagingTest : public CarrierMessagingFixture,
                             public ::testing::WithParamInterface<std::string> {
 protected:
  std::string carrier() const override { return GetParam(); }
};

TEST_P(CarrierMessagingTest, AnSmsIsAcceptedAndTheCarriersIdReturned) {
  auto c = sender();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->name(), carrier());
  auto r = c->send(sms());
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto sent = fake_.messages();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(r->carrier_message_id, str(sent[0], "id"));
  EXPECT_FALSE(r->carrier_message_id.empty());
  EXPECT_EQ(r->segments, 1);
  EXPECT_EQ(str(sent[0], "from"), "+14155551000");
  EXPECT_EQ(str(sent[0], "to"), "+12125550123");
  EXPECT_EQ(str(sent[0], "text"), "Hello from Ringhouse");
  EXPECT_EQ(fake_.requests().size(), 1u);
}

TEST_P(CarrierMessagingTest, LongTextsCountTheirSegments) {
  auto c = sender();
  std::string gsm, ucs2;
  for (int i = 0; i < 100; ++i) {
    gsm += "\xC3\xA9t\xC3\xA9 ";          // "été ": GSM 03.38 has é
    ucs2 += "\xD0\xB4\xD0\xBE\xD0\xBC ";  // "дом ": UCS-2
  }
  auto g = c->send(sms(gsm));
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->segments, 3);  // 400 septets / 153
  auto u = c->send(sms(ucs2));
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->segments, 6);  // 400 units / 67
  auto sent = fake_.messages();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].as_object().at("segments").as_int64(), 3);
  EXPECT_EQ(sent[1].as_object().at("segments").as_int64(), 6);
  EXPECT_EQ(str(sent[1], "text"), ucs2);
}

TEST_P(CarrierMessagingTest, AFourHundredIsProviderRejectedWithTheCarriersText) {
  auto c = sender();
  ASSERT_TRUE(fake_.script_sends(
      R"([{"status": 400, "error": "Destination number is blocked", "code": "40300"}])"));
  auto r = c->send(sms());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(r.error().reason, "provider_rejected");
  EXPECT_NE(r.error().message.find("Destination number is blocked"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find(carrier()), std::string::npos) << r.error().message;
  EXPECT_EQ(fake_.requests().size(), 1u);  // permanent: not retried
  EXPECT_TRUE(fake_.messages().empty());
}

TEST_P(CarrierMessagingTest, ServerErrorsAreRetriedThenTheSendSucceeds) {
  auto c = sender();
  ASSERT_TRUE(fake_.script_sends(R"([{"status": 503}, {"status": 500}])"));
  auto r = c->send(sms());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(fake_.requests().size(), 3u);
  ASSERT_EQ(fake_.messages().size(), 1u);
  EXPECT_EQ(r->carrier_message_id, str(fake_.messages()[0], "id"));
  EXPECT_EQ(waits_.size(), 2u);  // two back-offs
}

TEST_P(CarrierMessagingTest, ATooManyRequestsWaitsForRetryAfterThenSucceeds) {
  auto c = sender();
  ASSERT_TRUE(fake_.script_sends(R"([{"status": 429, "retry_after": 2}])"));
  auto r = c->send(sms());
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(waits_.size(), 1u);
  EXPECT_EQ(waits_[0], milliseconds(2000));  // the carrier's Retry-After, not the back-off
  EXPECT_EQ(fake_.requests().size(), 2u);
}

TEST_P(CarrierMessagingTest, ServerErrorsToTheLastAttemptAreProviderUnavailable) {
  auto c = sender();
  ASSERT_TRUE(fake_.script_sends(R"([{"status": 502}, {"status": 503}, {"status": 503}, "ok"])"));
  auto r = c->send(sms());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_EQ(r.error().reason, "provider_unavailable");
  EXPECT_EQ(r.error().retry_after_s, 30);
  EXPECT_EQ(fake_.requests().size(), 3u);  // max_attempts
}

TEST_P(CarrierMessagingTest, RateLimitedToTheEndCarriesTheCarriersRetryAfter) {
  auto c = sender({{"max_attempts", "2"}});
  ASSERT_TRUE(fake_.script_sends(
      R"([{"status": 429, "retry_after": 7}, {"status": 429, "retry_after": 7}])"));
  auto r = c->send(sms());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, "provider_unavailable");
  EXPECT_EQ(r.error().retry_after_s, 7);
}

TEST_P(CarrierMessagingTest, WrongCredentialsAreProviderAuthFailed) {
  std::map<std::string, std::string> wrong;
  if (carrier() == "telnyx") wrong["api_key"] = "KEYwrong";
  if (carrier() == "bandwidth") wrong["password"] = "wrong";
  if (carrier() == "plivo") wrong["auth_token"] = "wrong";
  auto c = sender(wrong);
  auto r = c->send(sms());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unauthorized);
  EXPECT_EQ(r.error().reason, "provider_auth_failed");
  EXPECT_NE(r.error().message.find("401"), std::string::npos) << r.error().message;
  EXPECT_EQ(fake_.requests().size(), 1u);  // not retried
}

TEST_P(CarrierMessagingTest, AnUnreachableCarrierIsProviderUnavailable) {
  std::string base = "http://127.0.0.1:" + std::to_string(closed_port()) + "/x";
  auto c = sender({{carrier() == "bandwidth" ? "messaging_base_url" : "base_url", base},
                   {"max_attempts", "2"}});
  auto r = c->send(sms());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_EQ(r.error().reason, "provider_unavailable");
  EXPECT_GT(r.error().retry_after_s, 0);
}

TEST_P(CarrierMessagingTest, ASuccessWithoutAnIdMayHaveBeenSentSoIsNotRetryable) {
  auto c = sender();
  ASSERT_TRUE(fake_.control(
      R"({"fail_next": [200], "fail_body": "{}", "fail_content_type": "application/json"})"));
  auto r = c->send(sms());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::internal);
  EXPECT_EQ(r.error().reason, "provider_bad_response");
  EXPECT_EQ(fake_.requests().size(), 1u);
}

TEST_P(CarrierMessagingTest, ARedirectStatusIsABadResponseNotAnAcceptance) {
  auto c = sender();
  ASSERT_TRUE(fake_.control(R"({"fail_next": [302]})"));
  auto r = c->send(sms());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_EQ(r.error().reason, "provider_bad_response");
}

TEST_P(CarrierMessagingTest, InvalidMessagesAreRefusedBeforeAnyRequest) {
  auto c = sender();
  auto bad_from = sms();
  bad_from.from = "14155551000";
  auto bad_to = sms();
  bad_to.to = "+1 415 555";
  auto empty = sms("");
  auto bad_media = mms();
  bad_media.media_urls.push_back("ftp://rh.example.com/x.jpg");
  auto bad_status_url = sms();
  bad_status_url.status_url = "javascript:alert(1)";
  for (const auto& [m, field] :
       std::vector<std::pair<CarrierSend, std::string>>{{bad_from, "from"},
                                                        {bad_to, "to"},
                                                        {empty, "text"},
                                                        {bad_media, "media_urls"},
                                                        {bad_status_url, "status_url"}}) {
    auto r = c->send(m);
    ASSERT_FALSE(r.ok()) << field;
    EXPECT_EQ(r.error().code, Errc::invalid_argument) << field;
    EXPECT_EQ(r.error().reason, "invalid_message") << field;
    EXPECT_EQ(r.error().field, field);
  }
  EXPECT_TRUE(fake_.requests().empty());
}

TEST_P(CarrierMessagingTest, MissingOrBadSettingsAreNamed) {
  for (const auto& key : required_message_settings(carrier())) {
    auto s = settings();
    s.erase(key);
    auto c = make_message_carrier(carrier(), s);
    ASSERT_FALSE(c.ok()) << key;
    EXPECT_EQ(c.error().code, Errc::invalid_argument);
    EXPECT_EQ(c.error().field, "settings." + key);
  }
  std::string url_key = carrier() == "bandwidth" ? "messaging_base_url" : "base_url";
  auto bad_url = make_message_carrier(carrier(), settings({{url_key, "ftp://x"}}));
  ASSERT_FALSE(bad_url.ok());
  EXPECT_EQ(bad_url.error().field, "settings." + url_key);
  auto bad_timeout = make_message_carrier(carrier(), settings({{"timeout_ms", "soon"}}));
  ASSERT_FALSE(bad_timeout.ok());
  EXPECT_EQ(bad_timeout.error().field, "settings.timeout_ms");
}

INSTANTIATE_TEST_SUITE_P(Carriers, CarrierMessagingTest,
                         ::testing::Values("telnyx", "bandwidth", "plivo"),
                         [](const auto& param_info) { return param_info.param; });

TEST(CarrierMessagingSettings, UnknownCarriersAndRequiredKeys) {
  auto c = make_message_carrier("twilio", {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().field, "carrier");
  EXPECT_EQ(required_message_settings("telnyx"), std::vector<std::string>{"api_key"});
  EXPECT_EQ(required_message_settings("bandwidth"),
            (std::vector<std::string>{"account_id", "username", "password", "application_id"}));
  EXPECT_EQ(required_message_settings("plivo"),
            (std::vector<std::string>{"auth_id", "auth_token"}));
  auto ctl = make_message_carrier(
      "telnyx", {{"api_key", std::string("KEY\r\nX-Injected: 1")}, {"base_url", "https://a.b"}});
  ASSERT_FALSE(ctl.ok());
  EXPECT_EQ(ctl.error().field, "settings.api_key");
}

// ---------------------------------------------------------------------------
// Telnyx: POST /v2/messages, Bearer

class CarrierMessagingTelnyx : public CarrierMessagingFixture {
 protected:
  std::string carrier() const override { return "telnyx"; }
};

TEST_F(CarrierMessagingTelnyx, AnMmsFollowsTheContract) {
  auto r = sender()->send(mms());
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto log = fake_.requests();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(str(log[0], "method"), "POST");
  EXPECT_EQ(str(log[0], "path"), "/v2/messages");
  EXPECT_EQ(header(log[0], "authorization"), std::string("Bearer ") + CarrierFake::kApiKey);
  EXPECT_EQ(header(log[0], "content-type"), "application/json");
  json::object b = body_of(log[0]);
  EXPECT_EQ(b.at("from"), "+14155551000");
  EXPECT_EQ(b.at("to"), "+12125550123");
  EXPECT_EQ(b.at("text"), "Look at this");
  EXPECT_EQ(b.at("media_urls"), (json::array{"https://rh.example.com/media/med_1/cat.jpg",
                                             "https://rh.example.com/media/med_2/dog.png"}));
  EXPECT_EQ(b.at("webhook_url"), "https://rh.example.com/hooks/carrier/status?msg=msg_01HZX3");
  EXPECT_EQ(b.at("messaging_profile_id"), "mp-5678");
  EXPECT_FALSE(b.contains("reference"));  // Telnyx has no field for it
  EXPECT_EQ(r->segments, 1);              // the answer's "parts"
}

TEST_F(CarrierMessagingTelnyx, MediaWithoutTextSendsNoTextAndNoDefaultWebhook) {
  auto m = mms();
  m.text.clear();
  m.status_url.clear();
  auto r = sender({{"messaging_profile_id", ""}})->send(m);
  ASSERT_TRUE(r.ok()) << r.error().message;
  json::object b = body_of(fake_.requests().at(0));
  EXPECT_FALSE(b.contains("text"));
  EXPECT_FALSE(b.contains("webhook_url"));
  EXPECT_FALSE(b.contains("messaging_profile_id"));
}

TEST_F(CarrierMessagingTelnyx, TheCarriersErrorTitleDetailAndCodeAreQuoted) {
  ASSERT_TRUE(
      fake_.script_sends(R"([{"status": 422, "error": "Invalid 'to' address", "code": "40310"}])"));
  auto r = sender()->send(sms());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, "provider_rejected");
  EXPECT_NE(r.error().message.find("HTTP 422: Invalid 'to' address (code 40310)"),
            std::string::npos)
      << r.error().message;
}

// ---------------------------------------------------------------------------
// Bandwidth: POST {messaging_base_url}/users/{account}/messages, Basic

class CarrierMessagingBandwidth : public CarrierMessagingFixture {
 protected:
  std::string carrier() const override { return "bandwidth"; }
};

TEST_F(CarrierMessagingBandwidth, AnMmsFollowsTheContractWithOurReferenceAsTag) {
  auto r = sender()->send(mms());
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto log = fake_.requests();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(str(log[0], "method"), "POST");
  EXPECT_EQ(str(log[0], "path"),
            std::string("/api/v2/users/") + CarrierFake::kAccountId + "/messages");
  EXPECT_EQ(header(log[0], "authorization"),
            "Basic " + crypto::base64_encode(std::string(CarrierFake::kUser) + ":" +
                                             CarrierFake::kPassword));
  json::object b = body_of(log[0]);
  EXPECT_EQ(b.at("applicationId"), CarrierFake::kApplicationId);
  EXPECT_EQ(b.at("to"), (json::array{"+12125550123"}));
  EXPECT_EQ(b.at("from"), "+14155551000");
  EXPECT_EQ(b.at("text"), "Look at this");
  EXPECT_EQ(b.at("media"), (json::array{"https://rh.example.com/media/med_1/cat.jpg",
                                        "https://rh.example.com/media/med_2/dog.png"}));
  EXPECT_EQ(b.at("tag"), "msg_01HZX3");
  EXPECT_FALSE(b.contains("callbackUrl"));  // set on the application, not per message
  EXPECT_EQ(str(fake_.messages().at(0), "reference"), "msg_01HZX3");
}

TEST_F(CarrierMessagingBandwidth, AnUnknownApplicationIsRejectedWithTheFieldErrors) {
  auto r = sender({{"application_id", "not-mine"}})->send(sms());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(r.error().reason, "provider_rejected");
  EXPECT_NE(r.error().message.find("applicationId: 'not-mine' is not an application"),
            std::string::npos)
      << r.error().message;
}

TEST_F(CarrierMessagingBandwidth, MessagingUsesItsOwnBaseNotTheNumbersApis) {
  std::string closed = "http://127.0.0.1:" + std::to_string(closed_port()) + "/api";
  auto r = sender({{"base_url", closed}})->send(sms());
  ASSERT_TRUE(r.ok()) << r.error().message;
}

TEST_F(CarrierMessagingBandwidth, ApplicationIdIsRequired) {
  auto s = settings();
  s.erase("application_id");
  auto c = make_message_carrier("bandwidth", s);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().field, "settings.application_id");
}

// ---------------------------------------------------------------------------
// Plivo: POST /v1/Account/{auth_id}/Message/, Basic

class CarrierMessagingPlivo : public CarrierMessagingFixture {
 protected:
  std::string carrier() const override { return "plivo"; }
};

TEST_F(CarrierMessagingPlivo, AnMmsFollowsTheContract) {
  auto r = sender()->send(mms());
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto log = fake_.requests();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(str(log[0], "path"), std::string("/v1/Account/") + CarrierFake::kAuthId + "/Message/");
  EXPECT_EQ(header(log[0], "authorization"),
            "Basic " + crypto::base64_encode(std::string(CarrierFake::kAuthId) + ":" +
                                             CarrierFake::kAuthToken));
  json::object b = body_of(log[0]);
  EXPECT_EQ(b.at("src"), "14155551000");  // no '+'
  EXPECT_EQ(b.at("dst"), "12125550123");
  EXPECT_EQ(b.at("type"), "mms");
  EXPECT_EQ(b.at("text"), "Look at this");
  EXPECT_EQ(b.at("media_urls"), (json::array{"https://rh.example.com/media/med_1/cat.jpg",
                                             "https://rh.example.com/media/med_2/dog.png"}));
  EXPECT_EQ(b.at("url"), "https://rh.example.com/hooks/carrier/status?msg=msg_01HZX3");
  EXPECT_EQ(b.at("method"), "POST");
  EXPECT_EQ(r->carrier_message_id, str(fake_.messages().at(0), "id"));
  EXPECT_EQ(r->segments, 1);
}

TEST_F(CarrierMessagingPlivo, AnSmsIsTypedSmsWithoutUrlWhenNoStatusUrl) {
  auto r = sender()->send(sms(std::string(161, 'a')));
  ASSERT_TRUE(r.ok()) << r.error().message;
  json::object b = body_of(fake_.requests().at(0));
  EXPECT_EQ(b.at("type"), "sms");
  EXPECT_FALSE(b.contains("url"));
  EXPECT_FALSE(b.contains("media_urls"));
  EXPECT_EQ(r->segments, 2);  // ours: 161 GSM-7 characters
}

}  // namespace
}  // namespace rh::messaging
