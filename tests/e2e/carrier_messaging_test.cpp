// Messaging through the carriers' HTTP APIs, end to end: the real binary
// sends through the contract fake (tests/support/carrier-fake.py) and takes
// the carrier's signed webhooks at /hooks/{carrier}: Telnyx Ed25519, Plivo
// V3 and Bandwidth Basic with its challenge; valid, tampered, stale and
// duplicated deliveries.
#include <gtest/gtest.h>
#include <sodium.h>

#include <boost/json.hpp>
#include <chrono>

#include "core/crypto.hpp"
#include "e2e/numbers_fixture.hpp"
#include "support/carrier_fake.hpp"

namespace rh::test {
namespace {

namespace json = boost::json;

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class CarrierMessagingE2E : public NumbersWorld {
 protected:
  void boot() {
    boot_with({"--set", "messaging.retry_base_ms=100", "--set", "messaging.user_rate_per_minute=0",
               "--set", "messaging.max_retry_ms=200", "--set", "jobs.poll_ms=50"},
              {});
  }

  // Starts the fake, configures the tenant's carrier with extra settings,
  // and gives Alice a number routed through it.
  bool carrier(CarrierFake& fake, const std::string& name, const std::string& number,
               json::object extra = {}) {
    if (!use_carrier(fake, name, extra)) return false;
    auto imp = post_csv(port_, admin("/v1/admin/numbers/import"),
                        "number,trunk,messaging_route,features,monthly_price,upfront_price\n" +
                            number + ",trunk-a," + name + ",sms;mms;voice,0.50,0.50\n",
                        op_);
    EXPECT_EQ(imp.status, 201) << imp.body;
    if (alice_.id.empty()) {
      alice_ = signed_up_user(port_, op_, "alice@example.com");
      credit(port_, op_, alice_.id, "100.00");
    }
    auto bought = purchase(port_, alice_.access_token, number, "buy-" + number);
    EXPECT_EQ(bought.status, 201) << bought.body;
    return bought.status == 201;
  }

  HttpResponse send(const std::string& from, const std::string& to, const std::string& text,
                    const std::string& key) {
    return send_message(port_, alice_.access_token, from, json::value(to), text, key);
  }

  std::string status_of(const std::string& id) {
    auto r = call(port_, "GET", "/v1/messages/" + id, "", alice_.access_token);
    return r.status == 200 ? jstr(r.json(), "status") : "";
  }

  HttpResponse hook(const std::string& carrier, const std::string& body,
                    std::map<std::string, std::string> headers,
                    const std::string& content_type = "application/json") {
    HttpRequest q;
    q.method = "POST";
    q.target = "/hooks/" + carrier;
    q.body = body;
    q.headers = std::move(headers);
    q.headers["Content-Type"] = content_type;
    q.headers["Host"] = "localhost";
    return http(port_, q);
  }

  // The newest inbound text in Alice's conversation with `from`.
  std::string last_inbound(const std::string& from) {
    auto r =
        call(port_, "GET", "/v1/messages?participant=" + from.substr(1), "", alice_.access_token);
    if (r.status != 200) return "";
    auto v = r.json();
    for (const auto& m : v.at("data").as_array())
      if (jstr(m, "direction") == "inbound") return jstr(m, "text");
    return "";
  }

  Account alice_;
};

struct Ed25519 {
  std::string pk = std::string(crypto_sign_PUBLICKEYBYTES, '\0');
  std::string sk = std::string(crypto_sign_SECRETKEYBYTES, '\0');
  Ed25519() {
    crypto_sign_keypair(reinterpret_cast<unsigned char*>(pk.data()),
                        reinterpret_cast<unsigned char*>(sk.data()));
  }
  std::map<std::string, std::string> headers(const std::string& body, std::int64_t ts) const {
    std::string text = std::to_string(ts) + "|" + body;
    std::string sig(crypto_sign_BYTES, '\0');
    crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                         reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                         reinterpret_cast<const unsigned char*>(sk.data()));
    return {{"telnyx-timestamp", std::to_string(ts)},
            {"telnyx-signature-ed25519", crypto::base64_encode(sig)}};
  }
};

std::string telnyx_event(const std::string& type, const std::string& event_id,
                         const json::object& payload) {
  return json::serialize(json::object{{"data", json::object{{"event_type", type},
                                                            {"id", event_id},
                                                            {"occurred_at", "2026-11-26T05:00:00Z"},
                                                            {"record_type", "event"},
                                                            {"payload", payload}}},
                                      {"meta", json::object{{"attempt", 1}}}});
}

TEST_P(CarrierMessagingE2E, TelnyxSendsAndItsSignedWebhooksAreVerifiedAndAppliedOnce) {
  boot();
  Ed25519 key;
  CarrierFake telnyx;
  if (!carrier(telnyx, "telnyx", "+14155550100", {{"public_key", crypto::base64_encode(key.pk)}})) {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    return;
  }
  auto r = send("+14155550100", "+12025550123", "hello through Telnyx", "t-1");
  ASSERT_EQ(r.status, 201) << r.body;
  std::string id = jstr(r.json(), "id");
  ASSERT_TRUE(eventually([&] { return status_of(id) == "sent"; })) << rh_->log();
  auto sent = telnyx.messages();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(jstr(sent.at(0), "from"), "+14155550100");
  EXPECT_EQ(jstr(sent.at(0), "to"), "+12025550123");
  EXPECT_EQ(jstr(sent.at(0), "text"), "hello through Telnyx");
  EXPECT_NE(jstr(sent.at(0), "status_url").find("/hooks/telnyx"), std::string::npos);
  std::string carrier_id = jstr(sent.at(0), "id");

  json::object status_payload{
      {"id", carrier_id},
      {"direction", "outbound"},
      {"from", json::object{{"phone_number", "+14155550100"}}},
      {"to", json::array{json::object{{"phone_number", "+12025550123"}, {"status", "delivered"}}}},
      {"parts", 1},
      {"errors", json::array{}}};
  std::string body = telnyx_event("message.finalized", "evt-final-1", status_payload);
  // Tampered, signed by another key, stale: refused, nothing changes.
  auto headers = key.headers(body, now_s());
  std::string tampered = body;
  tampered.replace(tampered.find("delivered"), 9, "delivrd!!");
  EXPECT_EQ(hook("telnyx", tampered, headers).status, 401);
  Ed25519 other;
  EXPECT_EQ(hook("telnyx", body, other.headers(body, now_s())).status, 401);
  EXPECT_EQ(hook("telnyx", body, key.headers(body, now_s() - 400)).status, 401);
  EXPECT_EQ(hook("telnyx", body, {}).status, 401);
  EXPECT_EQ(status_of(id), "sent");
  // Valid: applied; the same event again: a duplicate, still 200.
  auto ok = hook("telnyx", body, headers);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json().at("accepted").as_int64(), 1);
  EXPECT_EQ(status_of(id), "delivered");
  auto dup = hook("telnyx", body, headers);
  ASSERT_EQ(dup.status, 200) << dup.body;
  EXPECT_EQ(dup.json().at("duplicates").as_int64(), 1);
  // A late "sent" never moves it back.
  std::string late = telnyx_event(
      "message.sent", "evt-sent-1",
      json::object{
          {"id", carrier_id},
          {"direction", "outbound"},
          {"from", json::object{{"phone_number", "+14155550100"}}},
          {"to", json::array{json::object{{"phone_number", "+12025550123"}, {"status", "sent"}}}}});
  EXPECT_EQ(hook("telnyx", late, key.headers(late, now_s())).status, 200);
  EXPECT_EQ(status_of(id), "delivered");

  // Inbound.
  std::string in =
      telnyx_event("message.received", "evt-in-1",
                   json::object{{"id", "in-1"},
                                {"direction", "inbound"},
                                {"from", json::object{{"phone_number", "+12025550123"}}},
                                {"to", json::array{json::object{{"phone_number", "+14155550100"}}}},
                                {"text", "a reply through Telnyx"}});
  auto got = hook("telnyx", in, key.headers(in, now_s()));
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(last_inbound("+12025550123"), "a reply through Telnyx");
  EXPECT_EQ(hook("telnyx", in, key.headers(in, now_s())).json().at("duplicates").as_int64(), 1);
}

TEST_P(CarrierMessagingE2E, CarrierRefusalsFailTheMessageAndOutagesAreRetried) {
  boot();
  CarrierFake telnyx;
  if (!carrier(telnyx, "telnyx", "+14155550100")) {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    return;
  }
  ASSERT_TRUE(
      telnyx.script_sends(R"([{"status":400,"error":"Invalid destination","code":"40310"}])"));
  auto r = send("+14155550100", "+12025550123", "refused", "t-2");
  ASSERT_EQ(r.status, 201) << r.body;
  std::string id = jstr(r.json(), "id");
  ASSERT_TRUE(eventually([&] { return status_of(id) == "failed"; })) << rh_->log();
  auto m = call(port_, "GET", "/v1/messages/" + id, "", alice_.access_token).json();
  EXPECT_EQ(jstr(m.at("error"), "code"), "provider_rejected");

  // Four 503s use up one send's retries; the dispatcher tries again later.
  ASSERT_TRUE(
      telnyx.script_sends(R"([{"status":503},{"status":503},{"status":503},{"status":503},"ok"])"));
  auto later = send("+14155550100", "+12025550123", "after an outage", "t-3");
  ASSERT_EQ(later.status, 201);
  ASSERT_TRUE(eventually([&] { return status_of(jstr(later.json(), "id")) == "sent"; },
                         std::chrono::seconds(60)))
      << rh_->log();
}

TEST_P(CarrierMessagingE2E, BandwidthChallengesFirstThenTakesBasicCredentials) {
  boot();
  CarrierFake bw;
  if (!carrier(bw, "bandwidth", "+14155550101",
               {{"callback_username", "hookuser"}, {"callback_password", "hook pass"}})) {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    return;
  }
  std::string body = json::serialize(
      json::array{json::object{{"type", "message-received"},
                               {"time", "2026-11-26T05:00:00Z"},
                               {"to", "+14155550101"},
                               {"message", json::object{{"id", "bw-in-1"},
                                                        {"direction", "in"},
                                                        {"from", "+12025550123"},
                                                        {"to", json::array{"+14155550101"}},
                                                        {"text", "hi via Bandwidth"},
                                                        {"time", "2026-11-26T05:00:00Z"}}}}});
  auto first = hook("bandwidth", body, {});
  EXPECT_EQ(first.status, 401);
  EXPECT_EQ(first.headers["www-authenticate"], "Basic realm=\"\"");
  auto wrong = hook("bandwidth", body,
                    {{"Authorization", "Basic " + crypto::base64_encode("hookuser:nope")}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(last_inbound("+12025550123"), "");
  auto right = hook("bandwidth", body,
                    {{"Authorization", "Basic " + crypto::base64_encode("hookuser:hook pass")}});
  ASSERT_EQ(right.status, 200) << right.body;
  EXPECT_EQ(last_inbound("+12025550123"), "hi via Bandwidth");

  // Sending goes to the messaging API with our id as the tag.
  auto r = send("+14155550101", "+12025550123", "hello through Bandwidth", "b-1");
  ASSERT_EQ(r.status, 201) << r.body;
  ASSERT_TRUE(eventually([&] { return status_of(jstr(r.json(), "id")) == "sent"; })) << rh_->log();
  auto sent = bw.messages();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(jstr(sent.at(0), "text"), "hello through Bandwidth");
}

TEST_P(CarrierMessagingE2E, PlivoFormWebhooksAreVerifiedWithSignatureV3) {
  boot();
  CarrierFake plivo;
  if (!carrier(plivo, "plivo", "+14155550102")) {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    return;
  }
  const std::string body =
      "From=12025550123&MessageUUID=pl-in-1&Text=hi+via+Plivo&To=14155550102&Type=sms";
  const std::string url = "http://localhost:" + std::to_string(port_) + "/hooks/plivo";
  // V3: url + "?" + sorted body params as keyvalue + "." + nonce, HMAC-SHA256, base64.
  const std::string base =
      url + "?" + "From12025550123MessageUUIDpl-in-1Texthi via PlivoTo14155550102Typesms";
  const std::string nonce = "12345678901234567890";
  std::string sig =
      crypto::base64_encode(crypto::hmac_sha256(CarrierFake::kAuthToken, base + "." + nonce));
  auto bad = hook("plivo", body,
                  {{"X-Plivo-Signature-V3", crypto::base64_encode(std::string(32, 'x'))},
                   {"X-Plivo-Signature-V3-Nonce", nonce}},
                  "application/x-www-form-urlencoded");
  EXPECT_EQ(bad.status, 401) << bad.body;
  auto ok =
      hook("plivo", body, {{"X-Plivo-Signature-V3", sig}, {"X-Plivo-Signature-V3-Nonce", nonce}},
           "application/x-www-form-urlencoded");
  ASSERT_EQ(ok.status, 200) << ok.body << "\n" << rh_->log();
  EXPECT_EQ(last_inbound("+12025550123"), "hi via Plivo");
}

TEST_P(CarrierMessagingE2E, UnknownCarriersAndGarbageGetClearErrors) {
  boot();
  EXPECT_EQ(hook("nope", "{}", {}).status, 404);
  EXPECT_EQ(hook("telnyx", "not json", {}).status / 100, 4);
  EXPECT_EQ(hook("telnyx", telnyx_event("message.received", "e", json::object{}), {}).status / 100,
            4);
}

RH_E2E_ON_BOTH_DRIVERS(CarrierMessagingE2E);

}  // namespace
}  // namespace rh::test
