// The SMPP gateway (several binds per route, TX + RX pairs, rate lowering,
// receipts, durable MO reassembly) against a real SMSC: npm `smpp` 0.5.1
// scripted by tests/support/smsc/smsc-fake.js, over real sockets on loopback.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/async.hpp"
#include "messaging/smpp/gateway.hpp"
#include "storage/migrations.hpp"
#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/smsc_fake.hpp"
#include "support/test_db.hpp"

namespace rh::messaging::smpp {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using OKind = SmsOutcome::Kind;

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return pred();
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::string hex(std::string_view bytes) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

// Send outcomes as they arrive.
struct Outcomes {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<SmsOutcome> items;
  std::set<std::thread::id> threads;

  std::function<void(SmsOutcome)> callback() {
    return [this](SmsOutcome o) {
      std::lock_guard lk(mu);
      items.push_back(std::move(o));
      threads.insert(std::this_thread::get_id());
      cv.notify_all();
    };
  }
  bool wait(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, timeout, [&] { return items.size() >= n; });
  }
  std::vector<SmsOutcome> snapshot() {
    std::lock_guard lk(mu);
    return items;
  }
};

// What on_mo / on_receipt got, with their acks.
template <class T>
struct Inbox {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<T> items;
  std::vector<Gateway::Ack> acks;

  std::function<void(T, Gateway::Ack)> handler() {
    return [this](T item, Gateway::Ack ack) {
      std::lock_guard lk(mu);
      items.push_back(std::move(item));
      acks.push_back(std::move(ack));
      cv.notify_all();
    };
  }
  bool wait(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, timeout, [&] { return items.size() >= n; });
  }
  T at(std::size_t i) {
    std::lock_guard lk(mu);
    return items.at(i);
  }
  std::size_t size() {
    std::lock_guard lk(mu);
    return items.size();
  }
  void ack(std::size_t i, bool ok) {
    Gateway::Ack a;
    {
      std::lock_guard lk(mu);
      a = acks.at(i);
    }
    a(ok);
  }
};

class SmppGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = smsc_.start();
    if (started.skip) GTEST_SKIP() << started.why;
    ASSERT_TRUE(started.ok) << started.why;
    smpp_port_ = smsc_.smpp_port();
  }

  void TearDown() override {
    if (gateway_) stop_gateway();
    gateway_.reset();
    if (HasFailure() && smsc_.pid() > 0) std::cerr << "smsc-fake stderr:\n" << smsc_.stderr_text();
  }

  BindConfig bind(const std::string& id, BindConfig::Mode mode = BindConfig::Mode::transceiver,
                  const std::string& route = "smsc1") {
    BindConfig b;
    b.route = route;
    b.id = id;
    b.mode = mode;
    b.session.port = smpp_port_;
    b.session.system_id = "ringhouse";
    b.session.password = "secret";
    b.session.response_timeout = 3s;
    b.session.bind_timeout = 3s;
    b.session.unbind_timeout = 1s;
    b.session.reconnect_initial = 20ms;
    b.session.reconnect_max = 100ms;
    return b;
  }

  GatewayOptions options(std::vector<BindConfig> binds) {
    GatewayOptions o;
    o.binds = std::move(binds);
    o.throttled_retry_after = 50ms;
    o.link_retry_after = 10ms;
    o.no_bind_retry_after = 20ms;
    return o;
  }

  Gateway& make_gateway(GatewayOptions o, std::shared_ptr<PartStore> store = nullptr) {
    gateway_ = std::make_unique<Gateway>(std::move(o), std::move(store));
    return *gateway_;
  }

  // Every session of every bind bound.
  bool wait_bound(std::chrono::milliseconds timeout = 5s) {
    return eventually(
        [&] {
          for (const auto& b : gateway_->status())
            for (const auto& s : b.sessions)
              if (s.state != "bound") return false;
          return true;
        },
        timeout);
  }

  const SessionStatus* session_status(const std::vector<BindStatus>& st, const std::string& id) {
    for (const auto& b : st)
      for (const auto& s : b.sessions)
        if (s.id == id) return &s;
    return nullptr;
  }

  double rate_of(const std::string& session_id) {
    auto st = gateway_->status();
    auto* s = session_status(st, session_id);
    return s ? s->max_per_second : -1;
  }

  void stop_gateway() {
    std::promise<void> stopped;
    auto f = stopped.get_future();
    gateway_->stop([&stopped] { stopped.set_value(); });
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready) << "stop() did not complete";
  }

  json::object smsc_state() { return smsc_.state(); }
  std::int64_t smsc_count(const char* key) { return smsc_.count(key); }
  json::array deliver_resps() { return smsc_state().at("deliver_sm_resps").as_array(); }
  json::array submitted() { return smsc_state().at("submitted").as_array(); }

  void script_json(const json::value& body) { ASSERT_TRUE(smsc_.script(json::serialize(body))); }
  void script(const std::string& body) { ASSERT_TRUE(smsc_.script(body)); }

  OutboundSms sms(const std::string& text) {
    OutboundSms m;
    m.reference = "msg_test";
    m.source = "+15550001111";
    m.destination = "+15550002222";
    m.text = text;
    return m;
  }

  rh::test::SmscFake smsc_;
  std::uint16_t smpp_port_ = 0;
  std::unique_ptr<Gateway> gateway_;
};

// ---------------------------------------------------------------------------
// Outbound

TEST_F(SmppGatewayTest, TwoBindsOnOneRouteShareTheLoad) {
  auto& g = make_gateway(options({bind("a"), bind("b")}));
  g.start();
  ASSERT_TRUE(wait_bound());
  script(R"({"delay_ms": 50})");
  Outcomes out;
  for (int i = 0; i < 20; ++i) g.send("smsc1", sms("load " + std::to_string(i)), out.callback());
  ASSERT_TRUE(out.wait(20));
  std::map<std::string, int> by_bind;
  for (auto& o : out.snapshot()) {
    EXPECT_EQ(o.kind, OKind::accepted) << o.error_code << " " << o.detail;
    ASSERT_EQ(o.message_ids.size(), 1u);
    by_bind[o.bind_id]++;
  }
  EXPECT_GE(by_bind["a"], 5);
  EXPECT_GE(by_bind["b"], 5);
  std::map<std::int64_t, int> by_conn;
  for (auto& s : submitted()) by_conn[s.as_object().at("conn").to_number<std::int64_t>()]++;
  EXPECT_EQ(by_conn.size(), 2u);
  EXPECT_EQ(smsc_count("binds"), 2);
  // Callbacks run on the gateway's one thread.
  EXPECT_EQ(out.threads.size(), 1u);
  EXPECT_EQ(out.threads.count(std::this_thread::get_id()), 0u);
}

TEST_F(SmppGatewayTest, PairModeSendsOnTheTransmitterAndReceivesOnTheReceiver) {
  auto& g = make_gateway(options({bind("p", BindConfig::Mode::pair)}));
  Inbox<InboundSms> mo;
  Inbox<DeliveryReceipt> receipts;
  g.on_mo(mo.handler());
  g.on_receipt(receipts.handler());
  g.start();
  ASSERT_TRUE(wait_bound());
  auto st = g.status();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].mode, "pair");
  ASSERT_EQ(st[0].sessions.size(), 2u);
  EXPECT_EQ(st[0].sessions[0].id, "p/tx");
  EXPECT_EQ(st[0].sessions[0].bind_mode, BindMode::transmitter);
  EXPECT_EQ(st[0].sessions[1].id, "p/rx");
  EXPECT_EQ(st[0].sessions[1].bind_mode, BindMode::receiver);
  for (auto& s : st[0].sessions) {
    EXPECT_EQ(s.state, "bound");
    EXPECT_TRUE(s.bound_since_ms.has_value());
  }
  auto modes = smsc_state().at("binds_by_mode").as_object();
  EXPECT_EQ(modes.at("transmitter").to_number<int>(), 1);
  EXPECT_EQ(modes.at("receiver").to_number<int>(), 1);
  EXPECT_EQ(modes.at("transceiver").to_number<int>(), 0);

  script(R"({"receipt": "after"})");
  Outcomes out;
  g.send("smsc1", sms("over the pair"), out.callback());
  ASSERT_TRUE(out.wait(1));
  auto o = out.snapshot().at(0);
  ASSERT_EQ(o.kind, OKind::accepted) << o.error_code;
  EXPECT_EQ(o.bind_id, "p");
  auto subs = submitted();
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].as_object().at("mode").as_string(), "transmitter");
  EXPECT_EQ(smsc_count("submits_on_receiver"), 0);

  // The receipt comes on the receiver.
  ASSERT_TRUE(receipts.wait(1));
  auto r = receipts.at(0);
  EXPECT_EQ(r.message_id, o.message_ids.at(0));
  EXPECT_EQ(r.state, MessageState::delivered);
  EXPECT_EQ(r.bind_id, "p");
  EXPECT_EQ(r.route, "smsc1");
  receipts.ack(0, true);

  script(R"({"mo": {"source": "15557770000", "dest": "15558880000", "text": "hi pair"}})");
  ASSERT_TRUE(mo.wait(1));
  auto m = mo.at(0);
  EXPECT_EQ(m.text, "hi pair");
  EXPECT_EQ(m.source, "+15557770000");
  EXPECT_EQ(m.destination, "+15558880000");
  EXPECT_EQ(m.parts, 1);
  EXPECT_EQ(m.bind_id, "p");
  mo.ack(0, true);
  ASSERT_TRUE(eventually([&] { return deliver_resps().size() == 2; }));
  for (auto& resp : deliver_resps()) EXPECT_EQ(resp.as_object().at("status").to_number<int>(), 0);
  EXPECT_EQ(smsc_count("deliver_sm_sent"), 2);  // nothing went to the transmitter
}

TEST_F(SmppGatewayTest, ThrottlingLowersTheRateAndAsksForARetryLater) {
  auto b = bind("t");
  b.session.max_per_second = 200;
  auto o = options({b});
  o.rate_restore_interval = 100ms;
  o.rate_restore_step = 0.25;
  o.throttle_hold = 1s;
  auto& g = make_gateway(o);
  g.start();
  ASSERT_TRUE(wait_bound());
  EXPECT_EQ(rate_of("t"), 200);
  script(R"({"submit_status": 88, "count": 3})");
  Outcomes out;
  for (int i = 0; i < 3; ++i) g.send("smsc1", sms("throttle me"), out.callback());
  ASSERT_TRUE(out.wait(3));
  for (auto& r : out.snapshot()) {
    EXPECT_EQ(r.kind, OKind::retry);
    EXPECT_EQ(r.error_code, "smpp_0x58");
    EXPECT_EQ(r.retry_after, 50ms);
    EXPECT_TRUE(r.message_ids.empty());
  }
  // Halved once (the next throttles fall within throttle_hold), then raised
  // back step by step.
  auto st = g.status();
  auto* s = session_status(st, "t");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->configured_max_per_second, 200);
  EXPECT_EQ(s->counters.throttled, 3u);
  EXPECT_LT(s->max_per_second, 200);
  EXPECT_GE(s->max_per_second, 100);
  ASSERT_TRUE(eventually([&] { return rate_of("t") == 200; }, 3s)) << rate_of("t");
  Outcomes after;
  g.send("smsc1", sms("fine again"), after.callback());
  ASSERT_TRUE(after.wait(1));
  EXPECT_EQ(after.snapshot().at(0).kind, OKind::accepted);
}

TEST_F(SmppGatewayTest, ThrottlingCapsAnUncappedBindThenLiftsTheCap) {
  auto o = options({bind("u")});
  o.rate_restore_interval = 100ms;
  o.rate_restore_step = 0.5;
  o.min_per_second = 5;
  auto& g = make_gateway(o);
  g.start();
  ASSERT_TRUE(wait_bound());
  EXPECT_EQ(rate_of("u"), 0);
  script(R"({"submit_status": 88})");
  Outcomes out;
  g.send("smsc1", sms("x"), out.callback());
  ASSERT_TRUE(out.wait(1));
  EXPECT_EQ(out.snapshot().at(0).error_code, "smpp_0x58");
  EXPECT_GE(rate_of("u"), 5);
  ASSERT_TRUE(eventually([&] { return rate_of("u") == 0; }, 3s)) << rate_of("u");
}

TEST_F(SmppGatewayTest, QueueFullIsRetryAndInvalidDestinationPermanent) {
  auto& g = make_gateway(options({bind("a")}));
  g.start();
  ASSERT_TRUE(wait_bound());
  script(R"({"submit_status": 20})");
  Outcomes out;
  g.send("smsc1", sms("queue full"), out.callback());
  ASSERT_TRUE(out.wait(1));
  script(R"({"submit_status": 11})");
  g.send("smsc1", sms("bad destination"), out.callback());
  ASSERT_TRUE(out.wait(2));
  auto rs = out.snapshot();
  EXPECT_EQ(rs[0].kind, OKind::retry);
  EXPECT_EQ(rs[0].error_code, "smpp_0x14");
  EXPECT_EQ(rs[0].retry_after, 180s);
  EXPECT_NE(rs[0].detail.find("ESME_RMSGQFUL"), std::string::npos) << rs[0].detail;
  EXPECT_EQ(rs[1].kind, OKind::permanent);
  EXPECT_EQ(rs[1].error_code, "smpp_0x0b");
  EXPECT_EQ(rs[1].retry_after, 0ms);
  EXPECT_EQ(rs[1].bind_id, "a");
}

TEST_F(SmppGatewayTest, LinkDroppedMidWindowGivesRetryOutcomes) {
  auto& g = make_gateway(options({bind("a")}));
  g.start();
  ASSERT_TRUE(wait_bound());
  script(R"({"delay_ms": 500, "drop_after": 3})");
  Outcomes out;
  for (int i = 0; i < 5; ++i) g.send("smsc1", sms("drop " + std::to_string(i)), out.callback());
  ASSERT_TRUE(out.wait(5));
  for (auto& o : out.snapshot()) {
    EXPECT_EQ(o.kind, OKind::retry);
    EXPECT_EQ(o.error_code, "link_down");
    EXPECT_EQ(o.retry_after, 10ms);
  }
  // The bind comes back and takes messages again.
  ASSERT_TRUE(eventually([&] { return smsc_count("binds") == 2; }));
  ASSERT_TRUE(wait_bound());
  script(R"({"delay_ms": null})");
  Outcomes after;
  g.send("smsc1", sms("again"), after.callback());
  ASSERT_TRUE(after.wait(1));
  EXPECT_EQ(after.snapshot().at(0).kind, OKind::accepted);
  EXPECT_NE(g.status().at(0).sessions.at(0).last_error.find("closed"), std::string::npos)
      << g.status().at(0).sessions.at(0).last_error;
}

TEST_F(SmppGatewayTest, LongMessageGoesAsPartsWithAConcatenationUdh) {
  auto& g = make_gateway(options({bind("a"), bind("b")}));
  g.start();
  ASSERT_TRUE(wait_bound());
  std::string text;
  for (int i = 0; i < 40; ++i) text += "abcdefghij";  // 400 GSM-7 characters: 3 parts
  Outcomes out;
  g.send("smsc1", sms(text), out.callback());
  ASSERT_TRUE(out.wait(1));
  auto o = out.snapshot().at(0);
  ASSERT_EQ(o.kind, OKind::accepted) << o.error_code;
  ASSERT_EQ(o.message_ids.size(), 3u);
  auto subs = submitted();
  ASSERT_EQ(subs.size(), 3u);
  std::string joined;
  std::string ref;
  std::set<std::int64_t> conns;
  for (std::size_t i = 0; i < 3; ++i) {
    auto s = subs[i].as_object();
    std::string udh(s.at("udh_hex").as_string());
    ASSERT_EQ(udh.size(), 12u) << udh;
    EXPECT_EQ(udh.substr(0, 6), "050003");
    if (i == 0) ref = udh.substr(6, 2);
    EXPECT_EQ(udh.substr(6, 2), ref);
    EXPECT_EQ(udh.substr(8, 2), "03");
    EXPECT_EQ(udh.substr(10, 2), "0" + std::to_string(i + 1));
    EXPECT_EQ(s.at("esm_class").to_number<int>() & 0x40, 0x40);
    EXPECT_EQ(s.at("data_coding").to_number<int>(), 0);
    EXPECT_EQ(s.at("registered_delivery").to_number<int>(), 1);
    EXPECT_EQ(s.at("source").as_string(), "15550001111");
    EXPECT_EQ(s.at("source_ton").to_number<int>(), 1);
    EXPECT_EQ(s.at("source_npi").to_number<int>(), 1);
    EXPECT_EQ(s.at("dest").as_string(), "15550002222");
    EXPECT_EQ(s.at("dest_ton").to_number<int>(), 1);
    conns.insert(s.at("conn").to_number<std::int64_t>());
    joined += std::string(s.at("text").as_string());
  }
  EXPECT_EQ(joined, text);
  EXPECT_EQ(conns.size(), 1u);  // every part on the same bind
  auto message_ids = smsc_state().at("message_ids").as_array();
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(o.message_ids[i], message_ids[i].as_string());

  // UCS-2: 100 emoji are 200 units, 67 a part → 3 parts, data_coding 8;
  // and the next message on that bind has another reference.
  std::string emoji;
  for (int i = 0; i < 100; ++i) emoji += "\xF0\x9F\x98\x80";
  auto m = sms(emoji);
  m.registered_delivery = false;
  g.send("smsc1", m, out.callback());
  ASSERT_TRUE(out.wait(2));
  ASSERT_EQ(out.snapshot().at(1).kind, OKind::accepted);
  ASSERT_EQ(out.snapshot().at(1).message_ids.size(), 4u);  // a pair never splits: 66 units a part
  subs = submitted();
  ASSERT_EQ(subs.size(), 7u);
  std::string ucs;
  for (std::size_t i = 3; i < 7; ++i) {
    auto s = subs[i].as_object();
    EXPECT_EQ(s.at("data_coding").to_number<int>(), 8);
    EXPECT_EQ(s.at("registered_delivery").to_number<int>(), 0);
    ucs += std::string(s.at("text").as_string());
  }
  EXPECT_EQ(ucs, emoji);
}

TEST_F(SmppGatewayTest, TooLongIsPermanentUnknownRoutePermanentNoBindRetry) {
  auto dead = bind("dead", BindConfig::Mode::transceiver, "smsc2");
  dead.session.port = 1;  // nothing listens
  auto& g = make_gateway(options({bind("a"), dead}));
  g.start();
  ASSERT_TRUE(eventually([&] { return g.status()[0].sessions[0].state == "bound"; }));
  Outcomes out;
  g.send("nowhere", sms("x"), out.callback());
  g.send("smsc2", sms("x"), out.callback());
  auto m = sms(std::string(400, 'x'));
  m.max_segments = 2;
  g.send("smsc1", m, out.callback());
  ASSERT_TRUE(out.wait(3));
  auto rs = out.snapshot();
  EXPECT_EQ(rs[0].kind, OKind::permanent);
  EXPECT_EQ(rs[0].error_code, "unknown_route");
  EXPECT_EQ(rs[1].kind, OKind::retry);
  EXPECT_EQ(rs[1].error_code, "no_bind");
  EXPECT_EQ(rs[1].retry_after, 20ms);
  EXPECT_EQ(rs[2].kind, OKind::permanent);
  EXPECT_EQ(rs[2].error_code, "invalid_message");
  EXPECT_NE(rs[2].detail.find("too_many_segments"), std::string::npos) << rs[2].detail;
  EXPECT_EQ(smsc_count("submits"), 0);
  EXPECT_FALSE(g.status()[1].sessions[0].last_error.empty());
}

TEST_F(SmppGatewayTest, StopUnbindsEverySessionAndRefusesLaterSends) {
  auto& g = make_gateway(options({bind("a"), bind("p", BindConfig::Mode::pair)}));
  g.start();
  ASSERT_TRUE(wait_bound());
  stop_gateway();
  EXPECT_EQ(smsc_count("unbinds"), 3);
  Outcomes out;
  g.send("smsc1", sms("late"), out.callback());
  ASSERT_TRUE(out.wait(1));
  EXPECT_EQ(out.snapshot().at(0).kind, OKind::retry);
  EXPECT_EQ(out.snapshot().at(0).error_code, "stopped");
}

// ---------------------------------------------------------------------------
// Inbound: single messages and receipts

TEST_F(SmppGatewayTest, Ucs2EmojiMoIsDecodedAndShortCodesStayAsTheyAre) {
  auto& g = make_gateway(options({bind("a")}));
  Inbox<InboundSms> mo;
  g.on_mo(mo.handler());
  g.start();
  ASSERT_TRUE(wait_bound());
  // "Hi 😀🎉" in UTF-16BE.
  script_json(json::value{{"deliver",
                           {{"source", "12345"},
                            {"source_ton", 3},
                            {"source_npi", 0},
                            {"dest", "15558880000"},
                            {"dest_ton", 0},
                            {"data_coding", 8},
                            {"hex", "004800690020d83dde00d83cdf89"}}}});
  ASSERT_TRUE(mo.wait(1));
  auto m = mo.at(0);
  EXPECT_EQ(m.text, "Hi \xF0\x9F\x98\x80\xF0\x9F\x8E\x89");
  EXPECT_EQ(m.source, "12345");
  EXPECT_EQ(m.destination, "+15558880000");  // 11 digits: international
  EXPECT_EQ(m.data_coding, 8);
  EXPECT_TRUE(m.concat_key.empty());
  mo.ack(0, true);
  ASSERT_TRUE(eventually([&] { return deliver_resps().size() == 1; }));
  EXPECT_EQ(deliver_resps()[0].as_object().at("status").to_number<int>(), 0);
}

TEST_F(SmppGatewayTest, MessagePayloadMoIsOneLongMessage) {
  auto& g = make_gateway(options({bind("a")}));
  Inbox<InboundSms> mo;
  g.on_mo(mo.handler());
  g.start();
  ASSERT_TRUE(wait_bound());
  std::string text(300, 'p');
  script_json(json::value{{"deliver", {{"payload_hex", hex(text)}}}});
  ASSERT_TRUE(mo.wait(1));
  EXPECT_EQ(mo.at(0).text, text);
  EXPECT_EQ(mo.at(0).parts, 1);
  mo.ack(0, true);
  ASSERT_TRUE(eventually([&] { return deliver_resps().size() == 1; }));
}

TEST_F(SmppGatewayTest, AckFalseMakesTheSmscSeeATemporaryError) {
  auto& g = make_gateway(options({bind("a")}));
  Inbox<InboundSms> mo;
  g.on_mo(mo.handler());
  g.start();
  ASSERT_TRUE(wait_bound());
  script(R"({"mo": {"text": "store me"}})");
  ASSERT_TRUE(mo.wait(1));
  mo.ack(0, false);
  mo.ack(0, true);  // a second call is ignored
  ASSERT_TRUE(eventually([&] { return deliver_resps().size() == 1; }));
  EXPECT_EQ(deliver_resps()[0].as_object().at("status").to_number<int>(), 0x64);
}

TEST_F(SmppGatewayTest, BinaryMoIsRefusedPermanently) {
  auto& g = make_gateway(options({bind("a")}));
  Inbox<InboundSms> mo;
  g.on_mo(mo.handler());
  g.start();
  ASSERT_TRUE(wait_bound());
  script_json(json::value{{"deliver", {{"data_coding", 4}, {"hex", "0102030405"}}}});
  ASSERT_TRUE(eventually([&] { return deliver_resps().size() == 1; }));
  EXPECT_EQ(deliver_resps()[0].as_object().at("status").to_number<int>(), 0x65);
  EXPECT_EQ(mo.size(), 0u);
}

TEST_F(SmppGatewayTest, ReceiptsInTextAndTlvFormsReachOnReceipt) {
  auto& g = make_gateway(options({bind("a")}));
  Inbox<DeliveryReceipt> receipts;
  Inbox<InboundSms> mo;
  g.on_receipt(receipts.handler());
  g.on_mo(mo.handler());
  g.start();
  ASSERT_TRUE(wait_bound());
  const std::string text =
      "id:7F3A sub:001 dlvrd:000 submit date:2401011200 done date:2401011201 stat:UNDELIV "
      "err:005 text:hello";
  script_json(json::value{
      {"deliver", json::array{
                      {{"esm_class", 4}, {"source", "15557770000"}, {"text", text}},
                      {{"esm_class", 4},
                       {"receipted_message_id", "m42"},
                       {"message_state", 2},
                       {"network_error_code", {{"type", 3}, {"code", 0}}}},
                      {{"esm_class", 0x20}, {"receipted_message_id", "m43"}, {"message_state", 1}},
                  }}});
  ASSERT_TRUE(receipts.wait(3));
  auto r0 = receipts.at(0);
  EXPECT_EQ(r0.message_id, "7F3A");
  EXPECT_EQ(r0.state, MessageState::undeliverable);
  EXPECT_EQ(r0.error_code, "005");
  EXPECT_EQ(r0.text, text);
  EXPECT_EQ(r0.source, "+15557770000");
  EXPECT_FALSE(r0.intermediate);
  auto r1 = receipts.at(1);
  EXPECT_EQ(r1.message_id, "m42");
  EXPECT_EQ(r1.state, MessageState::delivered);
  EXPECT_EQ(r1.error_code, "net:3:0");
  auto r2 = receipts.at(2);
  EXPECT_EQ(r2.message_id, "m43");
  EXPECT_TRUE(r2.intermediate);
  EXPECT_EQ(r2.state, MessageState::enroute);
  receipts.ack(0, true);
  receipts.ack(1, false);
  receipts.ack(2, true);
  ASSERT_TRUE(eventually([&] { return deliver_resps().size() == 3; }));
  std::multiset<int> statuses;
  for (auto& r : deliver_resps()) statuses.insert(r.as_object().at("status").to_number<int>());
  EXPECT_EQ(statuses, (std::multiset<int>{0, 0, 0x64}));
  EXPECT_EQ(mo.size(), 0u);
}

// ---------------------------------------------------------------------------
// Inbound: concatenated MO, with each PartStore

enum class StoreKind { memory, sqlite, mariadb };

class SmppGatewayReassemblyTest : public SmppGatewayTest,
                                  public ::testing::WithParamInterface<StoreKind> {
 protected:
  void SetUp() override {
    SmppGatewayTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (GetParam() == StoreKind::memory) {
      memory_ = std::make_shared<MemoryPartStore>();
      store_ = memory_;
    } else {
      auto d =
          GetParam() == StoreKind::sqlite ? storage::Dialect::sqlite : storage::Dialect::mariadb;
      RH_OPEN_TEST_DB(opened, d);
      tdb_ = std::move(opened);
      auto n = storage::Migrator(smpp_migrations()).migrate(*tdb_->db, 0);
      ASSERT_TRUE(n.ok()) << n.error().message;
      store_ = std::make_shared<SqlPartStore>(*tdb_->db);
    }
  }
  void TearDown() override {
    SmppGatewayTest::TearDown();
    pool_.stop();
  }

  std::int64_t stored_parts() {
    if (memory_) return static_cast<std::int64_t>(memory_->size());
    auto r = tdb_->db->read<std::int64_t>([](storage::Connection& c) -> Result<std::int64_t> {
      RH_ASSIGN(auto row, c.query_one("SELECT COUNT(*) AS n FROM smpp_mo_parts", {}));
      return row.integer("n");
    });
    EXPECT_TRUE(r.ok());
    return r ? *r : -1;
  }

  Gateway& start_gateway(Inbox<InboundSms>& mo) {
    auto o = options({bind("a")});
    o.post_blocking = [this](std::function<void()> f) {
      boost::asio::post(pool_.executor(), std::move(f));
    };
    auto& g = make_gateway(o, store_);
    g.on_mo(mo.handler());
    g.start();
    EXPECT_TRUE(wait_bound());
    return g;
  }

  // deliver_sm statuses seen by the SMSC, in order.
  std::vector<int> statuses() {
    std::vector<int> out;
    for (auto& r : deliver_resps()) out.push_back(r.as_object().at("status").to_number<int>());
    return out;
  }

  // One thread: parts are stored in the order they arrive (see
  // APartRepeatedWhileTheConsumerHasTheMessageGetsItsAnswer).
  BlockingPool pool_{1};
  std::unique_ptr<test::TestDb> tdb_;
  std::shared_ptr<MemoryPartStore> memory_;
  std::shared_ptr<PartStore> store_;
};

json::object udh_part(const std::string& udh_hex, const std::string& text) {
  return {{"esm_class", 0x40}, {"hex", udh_hex + hex(text)}};
}

TEST_P(SmppGatewayReassemblyTest, Udh8BitOutOfOrderWithARepeatedPart) {
  Inbox<InboundSms> mo;
  start_gateway(mo);
  // Part 2, part 3, part 2 again, then part 1 completes the set.
  script_json(json::value{
      {"deliver",
       json::array{udh_part("0500032a0302", "two "), udh_part("0500032a0303", "three"),
                   udh_part("0500032a0302", "two "), udh_part("0500032a0301", "one ")}}});
  ASSERT_TRUE(mo.wait(1));
  auto m = mo.at(0);
  EXPECT_EQ(m.text, "one two three");
  EXPECT_EQ(m.parts, 3);
  EXPECT_EQ(m.source, "+15550001111");
  EXPECT_FALSE(m.concat_key.empty());
  // The three first parts are answered; the last waits for the consumer.
  ASSERT_TRUE(eventually([&] { return statuses().size() == 3; }));
  EXPECT_EQ(statuses(), (std::vector<int>{0, 0, 0}));
  EXPECT_EQ(stored_parts(), 3);
  mo.ack(0, true);
  ASSERT_TRUE(eventually([&] { return statuses().size() == 4; }));
  EXPECT_EQ(statuses().back(), 0);
  EXPECT_EQ(stored_parts(), 0);
  EXPECT_EQ(mo.size(), 1u);
}

TEST_P(SmppGatewayReassemblyTest, Udh16BitReference) {
  Inbox<InboundSms> mo;
  start_gateway(mo);
  script_json(json::value{{"deliver", json::array{udh_part("060804beef0202", "world"),
                                                  udh_part("060804beef0201", "hello ")}}});
  ASSERT_TRUE(mo.wait(1));
  EXPECT_EQ(mo.at(0).text, "hello world");
  EXPECT_EQ(mo.at(0).parts, 2);
  mo.ack(0, true);
  ASSERT_TRUE(eventually([&] { return statuses().size() == 2; }));
  EXPECT_EQ(statuses(), (std::vector<int>{0, 0}));
  EXPECT_EQ(stored_parts(), 0);
}

TEST_P(SmppGatewayReassemblyTest, SarTlvsAndASurrogatePairSplitAcrossParts) {
  Inbox<InboundSms> mo;
  start_gateway(mo);
  // "Hi 😀" in UTF-16BE, cut between the two halves of the surrogate pair.
  script_json(json::value{
      {"deliver",
       json::array{
           {{"data_coding", 8}, {"hex", "de00"}, {"sar", {{"ref", 513}, {"total", 2}, {"seq", 2}}}},
           {{"data_coding", 8},
            {"hex", "004800690020d83d"},
            {"sar", {{"ref", 513}, {"total", 2}, {"seq", 1}}}},
       }}});
  ASSERT_TRUE(mo.wait(1));
  EXPECT_EQ(mo.at(0).text, "Hi \xF0\x9F\x98\x80");
  EXPECT_EQ(mo.at(0).data_coding, 8);
  mo.ack(0, true);
  ASSERT_TRUE(eventually([&] { return statuses().size() == 2; }));
  EXPECT_EQ(stored_parts(), 0);
}

TEST_P(SmppGatewayReassemblyTest, AckFalseKeepsThePartsAndARedeliveryCompletesAgain) {
  Inbox<InboundSms> mo;
  start_gateway(mo);
  script_json(json::value{{"deliver", json::array{udh_part("050003070201", "first "),
                                                  udh_part("050003070202", "second")}}});
  ASSERT_TRUE(mo.wait(1));
  mo.ack(0, false);
  ASSERT_TRUE(eventually([&] { return statuses().size() == 2; }));
  EXPECT_EQ(statuses(), (std::vector<int>{0, 0x64}));
  EXPECT_EQ(stored_parts(), 2);
  // The SMSC delivers the refused part again.
  script_json(json::value{{"deliver", udh_part("050003070202", "second")}});
  ASSERT_TRUE(mo.wait(2));
  EXPECT_EQ(mo.at(1).text, "first second");
  EXPECT_EQ(mo.at(1).concat_key, mo.at(0).concat_key);
  mo.ack(1, true);
  ASSERT_TRUE(eventually([&] { return statuses().size() == 3; }));
  EXPECT_EQ(statuses().back(), 0);
  EXPECT_EQ(stored_parts(), 0);
}

TEST_P(SmppGatewayReassemblyTest, APartRepeatedWhileTheConsumerHasTheMessageGetsItsAnswer) {
  Inbox<InboundSms> mo;
  start_gateway(mo);
  script_json(json::value{{"deliver", json::array{udh_part("050003090201", "left "),
                                                  udh_part("050003090202", "right")}}});
  ASSERT_TRUE(mo.wait(1));
  // The SMSC gives up waiting and sends the last part again. The first part
  // of another concatenated message after it shows when the gateway has it:
  // parts are stored in arrival order on the one-thread store pool, and the
  // new message's part is answered at once (it is incomplete).
  script_json(json::value{{"deliver", udh_part("050003090202", "right")}});
  script_json(json::value{{"deliver", udh_part("0500030A0201", "barrier")}});
  ASSERT_TRUE(eventually([&] { return statuses().size() == 2; }));
  // The consumer could not store the message: both copies of the last part
  // are refused, so the SMSC tries again.
  mo.ack(0, false);
  ASSERT_TRUE(eventually([&] { return statuses().size() == 4; }));
  EXPECT_EQ(statuses(), (std::vector<int>{0, 0, 0x64, 0x64}));
  EXPECT_EQ(stored_parts(), 3);
  EXPECT_EQ(mo.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Stores, SmppGatewayReassemblyTest,
                         ::testing::Values(StoreKind::memory, StoreKind::sqlite,
                                           StoreKind::mariadb),
                         [](const ::testing::TestParamInfo<StoreKind>& p) -> std::string {
                           switch (p.param) {
                             case StoreKind::memory:
                               return "Memory";
                             case StoreKind::sqlite:
                               return "SQLite";
                             case StoreKind::mariadb:
                               return "MariaDB";
                           }
                           return "Unknown";
                         });

}  // namespace
}  // namespace rh::messaging::smpp
