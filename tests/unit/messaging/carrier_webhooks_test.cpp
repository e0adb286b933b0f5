// Inbound carrier webhooks: parsing Telnyx, Bandwidth and Plivo bodies into
// events, and verifying them as ../shared/contracts/webhooks.md describes
// (Telnyx Ed25519 keys made here with libsodium; Plivo signatures computed
// from base strings written out by hand from plivo-python's
// signature_v3.py).
#include "messaging/carrier_webhooks.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <map>
#include <string>
#include <vector>

#include "core/crypto.hpp"

namespace rh::messaging {
namespace {

constexpr std::int64_t kNow = 1'717'000'000;  // 2024-05-29T16:26:40Z

// ---------------------------------------------------------------------------
// Telnyx

struct Ed25519Key {
  std::string public_key;  // 32 bytes
  std::string secret_key;  // 64 bytes
};

Ed25519Key make_key() {
  crypto::init();
  Ed25519Key k{std::string(crypto_sign_PUBLICKEYBYTES, '\0'),
               std::string(crypto_sign_SECRETKEYBYTES, '\0')};
  crypto_sign_keypair(reinterpret_cast<unsigned char*>(k.public_key.data()),
                      reinterpret_cast<unsigned char*>(k.secret_key.data()));
  return k;
}

std::string ed25519_sign(const Ed25519Key& k, const std::string& text) {
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                       reinterpret_cast<const unsigned char*>(k.secret_key.data()));
  return sig;
}

const std::string kTelnyxInbound = R"({
  "data": {
    "event_type": "message.received",
    "id": "b301ed3f-1490-491f-995f-6e64e69674d4",
    "occurred_at": "2024-05-29T16:26:40.588+00:00",
    "record_type": "event",
    "payload": {
      "direction": "inbound",
      "id": "84cca175-9755-4859-b67f-4730d7f58aa3",
      "from": {"carrier": "T-Mobile USA", "line_type": "long_code", "phone_number": "+12125550123"},
      "to": [{"carrier": "Telnyx", "line_type": "Wireless", "phone_number": "+14155551000",
              "status": "webhook_delivered"}],
      "text": "Hello from Telnyx! \u00e9",
      "media": [{"url": "https://media.telnyx.example/1.jpg", "content_type": "image/jpeg"},
                {"url": "https://media.telnyx.example/2.png", "content_type": "image/png"}],
      "parts": 1,
      "type": "MMS"
    }
  },
  "meta": {"attempt": 1, "delivered_to": "https://rh.example.com/hooks/telnyx"}
})";

std::string telnyx_status(const std::string& event_type, const std::string& status,
                          const std::string& errors = "[]", int attempt = 1) {
  return R"({"data":{"event_type":")" + event_type + R"(","id":"0a1b2c3d-0000-4000-8000-)" +
         event_type.substr(8) + status +
         R"(","occurred_at":"2024-05-29T16:26:41Z","record_type":"event","payload":{"id":"40319a58-out","direction":"outbound","from":{"phone_number":"+14155551000"},"to":[{"phone_number":"+12125550123","status":")" +
         status + R"("}],"parts":2,"errors":)" + errors + R"(}},"meta":{"attempt":)" +
         std::to_string(attempt) + "}}";
}

class WebhookTelnyx : public ::testing::Test {
 protected:
  WebhookRequest signed_request(const std::string& body, std::int64_t ts,
                                const Ed25519Key* signer = nullptr) {
    const Ed25519Key& k = signer != nullptr ? *signer : key_;
    WebhookRequest r;
    r.method = "POST";
    r.url = "https://rh.example.com/hooks/telnyx";
    r.headers["content-type"] = "application/json";
    r.headers["telnyx-timestamp"] = std::to_string(ts);
    r.headers["telnyx-signature-ed25519"] =
        crypto::base64_encode(ed25519_sign(k, std::to_string(ts) + "|" + body));
    r.body = body;
    return r;
  }
  std::map<std::string, std::string> settings() const {
    return {{"api_key", "KEY"}, {"public_key", crypto::base64_encode(key_.public_key)}};
  }

  Ed25519Key key_ = make_key();
};

TEST_F(WebhookTelnyx, AValidSignatureVerifies) {
  auto req = signed_request(kTelnyxInbound, kNow);
  auto v = verify_webhook("telnyx", req, settings(), kNow);
  EXPECT_TRUE(v.ok()) << v.error().message;
}

TEST_F(WebhookTelnyx, ATamperedBodyIsABadSignature) {
  auto req = signed_request(kTelnyxInbound, kNow);
  req.body.replace(req.body.find("Hello"), 5, "Hallo");
  auto v = verify_webhook("telnyx", req, settings(), kNow);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, Errc::unauthorized);
  EXPECT_EQ(v.error().reason, "bad_signature");
}

TEST_F(WebhookTelnyx, ATamperedTimestampIsABadSignature) {
  auto req = signed_request(kTelnyxInbound, kNow);
  req.headers["telnyx-timestamp"] = std::to_string(kNow + 1);
  auto v = verify_webhook("telnyx", req, settings(), kNow);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().reason, "bad_signature");
}

TEST_F(WebhookTelnyx, AnotherKeysSignatureIsABadSignature) {
  Ed25519Key other = make_key();
  auto req = signed_request(kTelnyxInbound, kNow, &other);
  auto v = verify_webhook("telnyx", req, settings(), kNow);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().reason, "bad_signature");
}

TEST_F(WebhookTelnyx, StaleAndFutureTimestampsAreRefusedPastFiveMinutes) {
  for (std::int64_t skew : {-299, 0, 299, 300, -300}) {
    auto v =
        verify_webhook("telnyx", signed_request(kTelnyxInbound, kNow + skew), settings(), kNow);
    EXPECT_TRUE(v.ok()) << skew << ": " << v.error().message;
  }
  for (std::int64_t skew : {-301, 301, -86'400, 86'400}) {
    auto v =
        verify_webhook("telnyx", signed_request(kTelnyxInbound, kNow + skew), settings(), kNow);
    ASSERT_FALSE(v.ok()) << skew;
    EXPECT_EQ(v.error().code, Errc::unauthorized);
    EXPECT_EQ(v.error().reason, "stale_timestamp") << skew;
  }
}

TEST_F(WebhookTelnyx, MissingHeadersAreAMissingSignature) {
  for (const char* h : {"telnyx-timestamp", "telnyx-signature-ed25519"}) {
    auto req = signed_request(kTelnyxInbound, kNow);
    req.headers.erase(h);
    auto v = verify_webhook("telnyx", req, settings(), kNow);
    ASSERT_FALSE(v.ok()) << h;
    EXPECT_EQ(v.error().code, Errc::unauthorized);
    EXPECT_EQ(v.error().reason, "missing_signature") << h;
  }
}

TEST_F(WebhookTelnyx, MalformedHeadersAreInvalidArgument) {
  auto bad_ts = signed_request(kTelnyxInbound, kNow);
  bad_ts.headers["telnyx-timestamp"] = "yesterday";
  auto short_sig = signed_request(kTelnyxInbound, kNow);
  short_sig.headers["telnyx-signature-ed25519"] = crypto::base64_encode("short");
  auto not_b64 = signed_request(kTelnyxInbound, kNow);
  not_b64.headers["telnyx-signature-ed25519"] = "!!not base64!!";
  for (const auto* req : {&bad_ts, &short_sig, &not_b64}) {
    auto v = verify_webhook("telnyx", *req, settings(), kNow);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error().code, Errc::invalid_argument);
    EXPECT_EQ(v.error().reason, "malformed_signature");
  }
}

TEST_F(WebhookTelnyx, HeaderNamesInAnyCaseAreFound) {
  auto req = signed_request(kTelnyxInbound, kNow);
  WebhookRequest mixed = req;
  mixed.headers.clear();
  mixed.headers["Telnyx-Timestamp"] = req.headers["telnyx-timestamp"];
  mixed.headers["Telnyx-Signature-Ed25519"] = req.headers["telnyx-signature-ed25519"];
  EXPECT_TRUE(verify_webhook("telnyx", mixed, settings(), kNow).ok());
}

TEST_F(WebhookTelnyx, WithoutAUsablePublicKeyNothingVerifies) {
  auto req = signed_request(kTelnyxInbound, kNow);
  for (const std::string& key :
       {std::string(), std::string("not base64"), crypto::base64_encode("16 bytes only..")}) {
    auto v = verify_webhook("telnyx", req, {{"public_key", key}}, kNow);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error().code, Errc::precondition);
    EXPECT_EQ(v.error().reason, "webhook_not_configured");
    EXPECT_EQ(v.error().field, "settings.public_key");
  }
}

TEST_F(WebhookTelnyx, AnInboundMmsParses) {
  auto events = parse_webhook("telnyx", signed_request(kTelnyxInbound, kNow));
  ASSERT_TRUE(events.ok()) << events.error().message;
  ASSERT_EQ(events->size(), 1u);
  const WebhookEvent& e = events->front();
  EXPECT_EQ(e.kind, WebhookEventKind::inbound_message);
  EXPECT_EQ(e.event_id, "b301ed3f-1490-491f-995f-6e64e69674d4");
  EXPECT_EQ(e.carrier_message_id, "84cca175-9755-4859-b67f-4730d7f58aa3");
  EXPECT_EQ(e.from, "+12125550123");
  EXPECT_EQ(e.to, std::vector<std::string>{"+14155551000"});
  EXPECT_EQ(e.text, "Hello from Telnyx! \xC3\xA9");
  EXPECT_EQ(e.media_urls, (std::vector<std::string>{"https://media.telnyx.example/1.jpg",
                                                    "https://media.telnyx.example/2.png"}));
  EXPECT_EQ(e.occurred_ms, kNow * 1000 + 588);  // 2024-05-29T16:26:40.588+00:00
  EXPECT_TRUE(e.status.empty());
}

TEST_F(WebhookTelnyx, StatusEventsMapToOurVocabulary) {
  const std::map<std::string, std::string> expected{
      {"queued", "sending"},      {"sending", "sending"},           {"sent", "sent"},
      {"delivered", "delivered"}, {"sending_failed", "failed"},     {"delivery_failed", "failed"},
      {"expired", "failed"},      {"delivery_unconfirmed", "sent"}, {"teleported", ""}};
  for (const auto& [theirs, ours] : expected) {
    WebhookRequest req;
    req.method = "POST";
    req.body = telnyx_status("message.finalized", theirs);
    auto events = parse_webhook("telnyx", req);
    ASSERT_TRUE(events.ok()) << theirs << ": " << events.error().message;
    ASSERT_EQ(events->size(), 1u);
    const WebhookEvent& e = events->front();
    EXPECT_EQ(e.kind, WebhookEventKind::status);
    EXPECT_EQ(e.status, ours) << theirs;
    EXPECT_EQ(e.carrier_status, theirs);
    EXPECT_EQ(e.carrier_message_id, "40319a58-out");
    EXPECT_EQ(e.from, "+14155551000");
    EXPECT_EQ(e.to, std::vector<std::string>{"+12125550123"});
    EXPECT_EQ(e.segments, 2);
    EXPECT_GT(e.occurred_ms, 0);
  }
}

TEST_F(WebhookTelnyx, AFailureCarriesTheCarriersErrorCodeAndText) {
  WebhookRequest req;
  req.method = "POST";
  req.body = telnyx_status(
      "message.finalized", "delivery_failed",
      R"([{"code":"40008","title":"Undeliverable","detail":"The destination handset is off"}])");
  auto events = parse_webhook("telnyx", req);
  ASSERT_TRUE(events.ok()) << events.error().message;
  EXPECT_EQ(events->at(0).status, "failed");
  EXPECT_EQ(events->at(0).error_code, "40008");
  EXPECT_EQ(events->at(0).error_detail, "Undeliverable: The destination handset is off");
}

TEST_F(WebhookTelnyx, ARedeliveryParsesToTheSameEventId) {
  WebhookRequest first;
  first.body = telnyx_status("message.sent", "sent", "[]", 1);
  WebhookRequest again = first;
  again.body = telnyx_status("message.sent", "sent", "[]", 2);
  ASSERT_NE(first.body, again.body);
  auto a = parse_webhook("telnyx", first);
  auto b = parse_webhook("telnyx", again);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->at(0).event_id, b->at(0).event_id);
  auto finalized =
      parse_webhook("telnyx", {"POST", "", {}, telnyx_status("message.finalized", "delivered")});
  ASSERT_TRUE(finalized.ok());
  EXPECT_NE(finalized->at(0).event_id, a->at(0).event_id);
}

TEST_F(WebhookTelnyx, OtherEventTypesParseToNothing) {
  WebhookRequest req;
  req.body = R"({"data":{"event_type":"number_order.complete","id":"e1","payload":{}}})";
  auto events = parse_webhook("telnyx", req);
  ASSERT_TRUE(events.ok()) << events.error().message;
  EXPECT_TRUE(events->empty());
}

TEST_F(WebhookTelnyx, MalformedBodiesAreClearInvalidArguments) {
  for (
      const std::string& body : std::vector<std::string>{
          "", "not json", "[]", R"({"data":[]})", R"({"data":{"id":"e1"}})",
          R"({"data":{"event_type":"message.received","payload":{}}})",
          R"({"data":{"event_type":"message.received","id":"e1"}})",
          R"({"data":{"event_type":"message.received","id":"e1","payload":{"id":"m1"}}})",
          R"({"data":{"event_type":"message.received","id":"e1","payload":{"id":"m1","from":{"phone_number":"+1212"},"to":[]}}})",
          R"({"data":{"event_type":"message.finalized","id":"e1","payload":{"id":"m1","to":[{}]}}})",
          R"({"data":{"event_type":"message.sent","id":"e1","payload":{"to":"x"}}})"}) {
    auto events = parse_webhook("telnyx", {"POST", "", {}, body});
    ASSERT_FALSE(events.ok()) << body;
    EXPECT_EQ(events.error().code, Errc::invalid_argument) << body;
    EXPECT_EQ(events.error().reason, "malformed_webhook") << body;
    EXPECT_FALSE(events.error().message.empty());
  }
}

// ---------------------------------------------------------------------------
// Bandwidth

const std::string kBandwidthBatch = R"([
  {"type":"message-received","time":"2024-05-29T16:26:40Z","description":"Incoming message received",
   "to":"+14155551000","message":{"id":"14762070468292kw2fuqty55yp2b2","time":"2024-05-29T16:26:40Z",
   "to":["+14155551000"],"from":"+12125550123","text":"Hey, check this out!",
   "applicationId":"msg-app-0001","media":["https://messaging.bandwidth.com/api/v2/users/9900001/media/a/0/bw.png"],
   "owner":"+14155551000","direction":"in","segmentCount":1}},
  {"type":"message-delivered","time":"2024-05-29T16:26:41.5Z","description":"ok","to":"+12125550123",
   "message":{"id":"1589228074636lm4k2je7j7jklbn2","time":"2024-05-29T16:26:39Z","to":["+12125550123"],
   "from":"+14155551000","text":"","tag":"msg_01HZX3","owner":"+14155551000","direction":"out","segmentCount":2}},
  {"type":"message-failed","time":"2024-05-29T16:26:42Z","description":"rejected-unallocated-to-number",
   "to":"+12125550199","errorCode":4720,
   "message":{"id":"1589228074636lm4k2je7j7jklbn3","to":["+12125550199"],"from":"+14155551000","tag":"msg_2"}},
  {"type":"message-read","time":"2024-05-29T16:26:43Z","message":{"id":"x"}}
])";

class WebhookBandwidth : public ::testing::Test {
 protected:
  static WebhookRequest request(const std::string& body, const std::string& authorization = "") {
    WebhookRequest r;
    r.method = "POST";
    r.url = "https://rh.example.com/hooks/bandwidth";
    r.headers["content-type"] = "application/json";
    if (!authorization.empty()) r.headers["authorization"] = authorization;
    r.body = body;
    return r;
  }
  static std::string basic(const std::string& user, const std::string& password) {
    return "Basic " + crypto::base64_encode(user + ":" + password);
  }
  std::map<std::string, std::string> settings_{{"callback_username", "bw-hooks"},
                                               {"callback_password", "s3cret:with:colons"}};
};

TEST_F(WebhookBandwidth, WithoutCredentialsTheRouteMustChallenge) {
  auto v = verify_webhook("bandwidth", request(kBandwidthBatch), settings_, kNow);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, Errc::unauthorized);
  EXPECT_EQ(v.error().reason, "challenge");
  EXPECT_STREQ(kBandwidthChallenge, "Basic realm=\"\"");
}

TEST_F(WebhookBandwidth, AWrongPasswordOrUserIsRefused) {
  for (const auto& auth : {basic("bw-hooks", "wrong"), basic("someone", "s3cret:with:colons"),
                           basic("bw-hooks", "s3cret:with:colons-and-more")}) {
    auto v = verify_webhook("bandwidth", request(kBandwidthBatch, auth), settings_, kNow);
    ASSERT_FALSE(v.ok()) << auth;
    EXPECT_EQ(v.error().code, Errc::unauthorized);
    EXPECT_EQ(v.error().reason, "bad_signature");
  }
}

TEST_F(WebhookBandwidth, TheRightCredentialsVerify) {
  auto v =
      verify_webhook("bandwidth", request(kBandwidthBatch, basic("bw-hooks", "s3cret:with:colons")),
                     settings_, kNow);
  EXPECT_TRUE(v.ok()) << v.error().message;
  auto lower_scheme =
      request(kBandwidthBatch, "basic " + crypto::base64_encode("bw-hooks:s3cret:with:colons"));
  EXPECT_TRUE(verify_webhook("bandwidth", lower_scheme, settings_, kNow).ok());
}

TEST_F(WebhookBandwidth, OtherSchemesAndGarbageAreMalformed) {
  for (const std::string& auth : {std::string("Bearer abc"), std::string("Basic !!!"),
                                  "Basic " + crypto::base64_encode("no-colon")}) {
    auto v = verify_webhook("bandwidth", request(kBandwidthBatch, auth), settings_, kNow);
    ASSERT_FALSE(v.ok()) << auth;
    EXPECT_EQ(v.error().code, Errc::invalid_argument);
    EXPECT_EQ(v.error().reason, "malformed_signature");
  }
}

TEST_F(WebhookBandwidth, WithoutConfiguredCredentialsNothingVerifies) {
  auto v = verify_webhook("bandwidth", request(kBandwidthBatch, basic("a", "b")),
                          {{"callback_username", "a"}}, kNow);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, Errc::precondition);
  EXPECT_EQ(v.error().field, "settings.callback_password");
}

TEST_F(WebhookBandwidth, AnArrayOfEventsParsesInOrderSkippingUnknownTypes) {
  auto events = parse_webhook("bandwidth", request(kBandwidthBatch));
  ASSERT_TRUE(events.ok()) << events.error().message;
  ASSERT_EQ(events->size(), 3u);
  const WebhookEvent& in = events->at(0);
  EXPECT_EQ(in.kind, WebhookEventKind::inbound_message);
  EXPECT_EQ(in.carrier_message_id, "14762070468292kw2fuqty55yp2b2");
  EXPECT_EQ(in.event_id, "14762070468292kw2fuqty55yp2b2:message-received:2024-05-29T16:26:40Z");
  EXPECT_EQ(in.from, "+12125550123");
  EXPECT_EQ(in.to, std::vector<std::string>{"+14155551000"});
  EXPECT_EQ(in.text, "Hey, check this out!");
  EXPECT_EQ(in.media_urls,
            std::vector<std::string>{
                "https://messaging.bandwidth.com/api/v2/users/9900001/media/a/0/bw.png"});
  EXPECT_EQ(in.occurred_ms, kNow * 1000);  // 2024-05-29T16:26:40Z
  const WebhookEvent& delivered = events->at(1);
  EXPECT_EQ(delivered.kind, WebhookEventKind::status);
  EXPECT_EQ(delivered.status, "delivered");
  EXPECT_EQ(delivered.carrier_status, "message-delivered");
  EXPECT_EQ(delivered.reference, "msg_01HZX3");
  EXPECT_EQ(delivered.from, "+14155551000");
  EXPECT_EQ(delivered.segments, 2);
  EXPECT_EQ(delivered.occurred_ms, in.occurred_ms + 1'500);
  const WebhookEvent& failed = events->at(2);
  EXPECT_EQ(failed.status, "failed");
  EXPECT_EQ(failed.error_code, "4720");
  EXPECT_EQ(failed.error_detail, "rejected-unallocated-to-number");
  EXPECT_EQ(failed.to, std::vector<std::string>{"+12125550199"});
}

TEST_F(WebhookBandwidth, ASingleObjectParsesAsOneEvent) {
  std::string one =
      R"({"type":"message-sending","time":"2024-05-29T16:26:40Z","to":"+12125550123",
          "message":{"id":"m-1","from":"+14155551000","to":["+12125550123"],"tag":"msg_9"}})";
  auto events = parse_webhook("bandwidth", request(one));
  ASSERT_TRUE(events.ok()) << events.error().message;
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->at(0).status, "sending");
  EXPECT_EQ(events->at(0).reference, "msg_9");
  auto sent =
      parse_webhook("bandwidth", request(R"([{"type":"message-sent","message":{"id":"m-1"}}])"));
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  EXPECT_EQ(sent->at(0).status, "sent");
  EXPECT_EQ(sent->at(0).event_id, "m-1:message-sent:");  // tolerated without a time
  auto empty = parse_webhook("bandwidth", request("[]"));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_F(WebhookBandwidth, ARetriedBatchParsesToTheSameEventIds) {
  auto a = parse_webhook("bandwidth", request(kBandwidthBatch));
  std::string pretty = kBandwidthBatch;
  pretty.insert(1, "\n   ");
  auto b = parse_webhook("bandwidth", request(pretty));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), b->size());
  for (std::size_t i = 0; i < a->size(); ++i) EXPECT_EQ(a->at(i).event_id, b->at(i).event_id);
  EXPECT_NE(a->at(0).event_id, a->at(1).event_id);
}

TEST_F(WebhookBandwidth, MalformedEventsAreClearInvalidArguments) {
  for (const std::string& body : std::vector<std::string>{
           "", "\"text\"", "42", "[1]", R"([{"message":{"id":"m"}}])",
           R"([{"type":"message-delivered"}])", R"([{"type":"message-delivered","message":{}}])",
           R"([{"type":"message-received","message":{"id":"m","to":["+1"]}}])",
           R"([{"type":"message-received","message":{"id":"m","from":"+1"}}])"}) {
    auto events = parse_webhook("bandwidth", request(body));
    ASSERT_FALSE(events.ok()) << body;
    EXPECT_EQ(events.error().code, Errc::invalid_argument) << body;
    EXPECT_EQ(events.error().reason, "malformed_webhook") << body;
  }
}

// ---------------------------------------------------------------------------
// Plivo

const std::string kToken = "plivo-auth-token-0123";
const std::string kNonce = "05429567804466091622";

std::string hmac_b64(const std::string& data) {
  return crypto::base64_encode(crypto::hmac_sha256(kToken, data));
}

class WebhookPlivo : public ::testing::Test {
 protected:
  static WebhookRequest post(const std::string& url, const std::string& body) {
    WebhookRequest r;
    r.method = "POST";
    r.url = url;
    r.headers["content-type"] = "application/x-www-form-urlencoded";
    r.body = body;
    return r;
  }
  static WebhookRequest with_v3(WebhookRequest r, const std::string& signature) {
    r.headers["x-plivo-signature-v3"] = signature;
    r.headers["x-plivo-signature-v3-nonce"] = kNonce;
    r.headers["x-plivo-signature-ma-v3"] = "main-account-signature-not-checked";
    return r;
  }
  Status verify(const WebhookRequest& r) const {
    return verify_webhook("plivo", r, settings_, kNow);
  }
  std::map<std::string, std::string> settings_{{"auth_id", "MA1"}, {"auth_token", kToken}};
};

const std::string kInboundBody =
    "To=14155551000&From=12125550123&Text=Hello+world%21+%F0%9F%98%80&MessageUUID=2c1a9f0e-aaaa"
    "&Type=sms";
const std::string kInboundUrl = "https://hooks.example.com/hooks/plivo?tenant=t_1&b=2";
// plivo-python construct_post_url: URL without query, "?", sorted query,
// ".", then the body's params sorted, as name+value, decoded.
const std::string kInboundBase =
    "https://hooks.example.com/hooks/plivo?b=2&tenant=t_1.From12125550123MessageUUID2c1a9f0e-aaaa"
    "TextHello world! \xF0\x9F\x98\x80To14155551000Typesms";

TEST_F(WebhookPlivo, V3OverQueryAndBodyVerifies) {
  auto req = with_v3(post(kInboundUrl, kInboundBody), hmac_b64(kInboundBase + "." + kNonce));
  auto v = verify(req);
  EXPECT_TRUE(v.ok()) << v.error().message;
}

TEST_F(WebhookPlivo, V3WithoutQueryStillHasTheQuestionMark) {
  std::string body = "MessageUUID=m1&Status=delivered&To=14155551000";
  std::string base =
      "https://hooks.example.com/hooks/plivo/status?MessageUUIDm1StatusdeliveredTo14155551000";
  auto req = with_v3(post("https://hooks.example.com/hooks/plivo/status", body),
                     hmac_b64(base + "." + kNonce));
  auto v = verify(req);
  EXPECT_TRUE(v.ok()) << v.error().message;
}

TEST_F(WebhookPlivo, V3OnAGetSignsTheSortedQuery) {
  WebhookRequest req;
  req.method = "GET";
  req.url =
      "https://hooks.example.com/hooks/plivo?To=14155551000&From=12125550123&MessageUUID=u3&Text="
      "hi+there";
  std::string base =
      "https://hooks.example.com/hooks/plivo?From=12125550123&MessageUUID=u3&Text=hi "
      "there&To=14155551000";
  auto v = verify(with_v3(req, hmac_b64(base + "." + kNonce)));
  EXPECT_TRUE(v.ok()) << v.error().message;
  auto events = parse_webhook("plivo", req);
  ASSERT_TRUE(events.ok()) << events.error().message;
  EXPECT_EQ(events->at(0).text, "hi there");
}

TEST_F(WebhookPlivo, V3AcceptsAnyOfSeveralSignatures) {
  std::string good = hmac_b64(kInboundBase + "." + kNonce);
  std::string other = hmac_b64("something else");
  for (const std::string& header :
       {other + "," + good, good + "," + other, other + ", " + good + " ,x"}) {
    auto v = verify(with_v3(post(kInboundUrl, kInboundBody), header));
    EXPECT_TRUE(v.ok()) << header;
  }
  auto none = verify(with_v3(post(kInboundUrl, kInboundBody), other + "," + other));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().reason, "bad_signature");
}

TEST_F(WebhookPlivo, V3RefusesTamperingAndTheWrongToken) {
  std::string good = hmac_b64(kInboundBase + "." + kNonce);
  auto body = with_v3(post(kInboundUrl, kInboundBody + "&Extra=1"), good);
  auto query = with_v3(post(kInboundUrl + "&c=3", kInboundBody), good);
  auto host =
      with_v3(post("https://evil.example.com/hooks/plivo?tenant=t_1&b=2", kInboundBody), good);
  auto nonce = with_v3(post(kInboundUrl, kInboundBody), good);
  nonce.headers["x-plivo-signature-v3-nonce"] = "1";
  for (const auto* r : {&body, &query, &host, &nonce}) {
    auto v = verify(*r);
    ASSERT_FALSE(v.ok()) << r->url << " " << r->body;
    EXPECT_EQ(v.error().code, Errc::unauthorized);
    EXPECT_EQ(v.error().reason, "bad_signature");
  }
  auto wrong = verify_webhook("plivo", with_v3(post(kInboundUrl, kInboundBody), good),
                              {{"auth_token", "another-token"}}, kNow);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().reason, "bad_signature");
}

TEST_F(WebhookPlivo, V2AloneSignsTheUrlWithoutQueryAndTheNonce) {
  auto req = post(kInboundUrl, kInboundBody);
  req.headers["x-plivo-signature-v2"] = hmac_b64("https://hooks.example.com/hooks/plivo" + kNonce);
  req.headers["x-plivo-signature-v2-nonce"] = kNonce;
  auto v = verify(req);
  EXPECT_TRUE(v.ok()) << v.error().message;
  req.headers["x-plivo-signature-v2"] = hmac_b64(kInboundUrl + kNonce);
  auto bad = verify(req);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().reason, "bad_signature");
}

TEST_F(WebhookPlivo, AFailingV3IsNotRescuedByAV2) {
  auto req = with_v3(post(kInboundUrl, kInboundBody), hmac_b64("nope"));
  req.headers["x-plivo-signature-v2"] = hmac_b64("https://hooks.example.com/hooks/plivo" + kNonce);
  req.headers["x-plivo-signature-v2-nonce"] = kNonce;
  auto v = verify(req);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().reason, "bad_signature");
}

TEST_F(WebhookPlivo, MissingHeadersAreAMissingSignature) {
  auto none = verify(post(kInboundUrl, kInboundBody));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::unauthorized);
  EXPECT_EQ(none.error().reason, "missing_signature");
  auto no_nonce = with_v3(post(kInboundUrl, kInboundBody), hmac_b64(kInboundBase + "." + kNonce));
  no_nonce.headers.erase("x-plivo-signature-v3-nonce");
  auto v = verify(no_nonce);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().reason, "missing_signature");
  auto no_token = verify_webhook("plivo", with_v3(post(kInboundUrl, kInboundBody), "x"), {}, kNow);
  ASSERT_FALSE(no_token.ok());
  EXPECT_EQ(no_token.error().reason, "webhook_not_configured");
}

TEST_F(WebhookPlivo, AnInboundMmsParsesWithDecodedTextAndOrderedMedia) {
  std::string body =
      "From=12125550123&To=14155551000&Type=mms&Text=caf%C3%A9+%2B+more%26stuff&MessageUUID=in-1"
      "&MediaCount=3&Media2=https%3A%2F%2Fm.plivo.example%2Fc.jpg&Media0=https%3A%2F%2Fm.plivo."
      "example%2Fa.jpg&Media1=https%3A%2F%2Fm.plivo.example%2Fb.jpg&Units=1";
  auto events = parse_webhook("plivo", post(kInboundUrl, body));
  ASSERT_TRUE(events.ok()) << events.error().message;
  ASSERT_EQ(events->size(), 1u);
  const WebhookEvent& e = events->front();
  EXPECT_EQ(e.kind, WebhookEventKind::inbound_message);
  EXPECT_EQ(e.event_id, "in-1:inbound");
  EXPECT_EQ(e.carrier_message_id, "in-1");
  EXPECT_EQ(e.from, "+12125550123");
  EXPECT_EQ(e.to, std::vector<std::string>{"+14155551000"});
  EXPECT_EQ(e.text, "caf\xC3\xA9 + more&stuff");
  EXPECT_EQ(e.media_urls, (std::vector<std::string>{"https://m.plivo.example/a.jpg",
                                                    "https://m.plivo.example/b.jpg",
                                                    "https://m.plivo.example/c.jpg"}));
  EXPECT_EQ(e.segments, 1);
}

TEST_F(WebhookPlivo, StatusCallbacksMapAndDeduplicatePerPartAndStatus) {
  const std::map<std::string, std::string> expected{{"queued", "sending"},
                                                    {"sent", "sent"},
                                                    {"delivered", "delivered"},
                                                    {"undelivered", "undelivered"},
                                                    {"failed", "failed"},
                                                    {"rejected", "failed"},
                                                    {"warped", ""}};
  for (const auto& [theirs, ours] : expected) {
    auto events = parse_webhook(
        "plivo", post(kInboundUrl, "From=14155551000&To=12125550123&MessageUUID=out-1&Status=" +
                                       theirs + "&ErrorCode=000&Units=1"));
    ASSERT_TRUE(events.ok()) << events.error().message;
    const WebhookEvent& e = events->at(0);
    EXPECT_EQ(e.kind, WebhookEventKind::status);
    EXPECT_EQ(e.status, ours) << theirs;
    EXPECT_EQ(e.carrier_status, theirs);
    EXPECT_EQ(e.event_id, "out-1:" + theirs);
    EXPECT_EQ(e.carrier_message_id, "out-1");
    EXPECT_EQ(e.from, "+14155551000");
    EXPECT_TRUE(e.error_code.empty());  // "000": no error
  }
  auto part = parse_webhook(
      "plivo", post(kInboundUrl,
                    "MessageUUID=part-2&ParentMessageUUID=out-1&Status=undelivered&ErrorCode=30"));
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(part->at(0).carrier_message_id, "out-1");
  EXPECT_EQ(part->at(0).event_id, "part-2:undelivered");
  EXPECT_EQ(part->at(0).error_code, "30");
  auto again = parse_webhook(
      "plivo", post(kInboundUrl,
                    "ErrorCode=30&Status=undelivered&ParentMessageUUID=out-1&MessageUUID=part-2"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->at(0).event_id, part->at(0).event_id);
}

TEST_F(WebhookPlivo, MalformedCallbacksAreClearInvalidArguments) {
  for (const auto& req :
       {post(kInboundUrl, ""), post(kInboundUrl, "From=1&To=2&Text=x"),
        post(kInboundUrl, "MessageUUID=m&To=2"), post(kInboundUrl, "MessageUUID=m&From=1"),
        WebhookRequest{"PUT", kInboundUrl, {}, kInboundBody}}) {
    auto events = parse_webhook("plivo", req);
    ASSERT_FALSE(events.ok()) << req.body;
    EXPECT_EQ(events.error().code, Errc::invalid_argument);
    EXPECT_EQ(events.error().reason, "malformed_webhook");
  }
}

// ---------------------------------------------------------------------------
// Shared pieces

TEST(WebhookForm, DecodesLikePythonsParseQsl) {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(parse_form("a=1&&b&c=%zz&d=%41+b%2b&=e&f=x=y&g=%4"), (Pairs{{"a", "1"},
                                                                        {"b", ""},
                                                                        {"c", "%zz"},
                                                                        {"d", "A b+"},
                                                                        {"", "e"},
                                                                        {"f", "x=y"},
                                                                        {"g", "%4"}}));
  EXPECT_TRUE(parse_form("").empty());
  EXPECT_TRUE(parse_form("&&&").empty());
  EXPECT_EQ(parse_form("k%3Dx=v%26w"), (Pairs{{"k=x", "v&w"}}));
}

TEST(WebhookCarriers, UnknownCarriersAreRefused) {
  auto p = parse_webhook("twilio", {"POST", "https://x/", {}, "{}"});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().reason, "unknown_carrier");
  auto v = verify_webhook("twilio", {"POST", "https://x/", {}, "{}"}, {}, kNow);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().reason, "unknown_carrier");
  EXPECT_EQ(map_carrier_status("bandwidth", "message-delivered"), "delivered");
  EXPECT_EQ(map_carrier_status("plivo", "message-delivered"), "");
}

}  // namespace
}  // namespace rh::messaging
