// The SMPP ESME session against a real SMSC: npm `smpp` 0.5.1 scripted by
// tests/support/smsc/smsc-fake.js (see its header for the control protocol),
// over real sockets on loopback.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "messaging/smpp/session.hpp"
#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/smsc_fake.hpp"

namespace rh::messaging::smpp {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Kind = SubmitResult::Kind;

// Waits up to `timeout` for pred() to hold, checking every 10 ms.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return pred();
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Submit results as they arrive, in order.
struct Results {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<SubmitResult> items;

  Session::SubmitCallback callback() {
    return [this](const SubmitResult& r) {
      std::lock_guard lk(mu);
      items.push_back(r);
      cv.notify_all();
    };
  }
  bool wait(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, timeout, [&] { return items.size() >= n; });
  }
  std::vector<SubmitResult> snapshot() {
    std::lock_guard lk(mu);
    return items;
  }
};

// deliver_sm handed to on_deliver, with their completions.
struct Deliveries {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<ShortMessage> messages;
  std::vector<Session::DeliverDone> done;

  Session::DeliverHandler handler() {
    return [this](const ShortMessage& m, Session::DeliverDone d) {
      std::lock_guard lk(mu);
      messages.push_back(m);
      done.push_back(std::move(d));
      cv.notify_all();
    };
  }
  bool wait(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, timeout, [&] { return messages.size() >= n; });
  }
  void complete(std::size_t i, CommandStatus s = CommandStatus::ESME_ROK) {
    Session::DeliverDone d;
    {
      std::lock_guard lk(mu);
      d = done.at(i);
    }
    d(s);
  }
};

ShortMessage message(const std::string& text) {
  ShortMessage m;
  m.source = {kTonInternational, kNpiIsdn, "15550001111"};
  m.dest = {kTonInternational, kNpiIsdn, "15550002222"};
  m.short_message = text;
  return m;
}

class SmppSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = smsc_.start();
    if (started.skip) GTEST_SKIP() << started.why;
    ASSERT_TRUE(started.ok) << started.why;
    smpp_port_ = smsc_.smpp_port();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  void TearDown() override {
    if (session_) stop_session();
    session_.reset();
    work_.reset();
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
    if (HasFailure() && smsc_.pid() > 0) std::cerr << "smsc-fake stderr:\n" << smsc_.stderr_text();
  }

  SessionOptions options() {
    SessionOptions o;
    o.id = "test";
    o.port = smpp_port_;
    o.system_id = "ringhouse";
    o.password = "secret";
    o.response_timeout = 3s;
    o.bind_timeout = 3s;
    o.unbind_timeout = 1s;
    o.reconnect_initial = 20ms;
    o.reconnect_max = 100ms;
    return o;
  }

  Session& make_session(SessionOptions o) {
    session_ = std::make_unique<Session>(ioc_, std::move(o));
    return *session_;
  }

  bool wait_bound(std::chrono::milliseconds timeout = 5s) {
    return eventually([&] { return session_->state() == SessionState::bound; }, timeout);
  }

  void stop_session() {
    std::promise<void> stopped;
    auto f = stopped.get_future();
    session_->stop([&stopped] { stopped.set_value(); });
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready) << "stop() did not complete";
  }

  json::object smsc_state() { return smsc_.state(); }
  std::int64_t smsc_count(const char* key) { return smsc_.count(key); }

  void script(const std::string& body) { ASSERT_TRUE(smsc_.script(body)); }

  rh::test::SmscFake smsc_;
  std::uint16_t smpp_port_ = 0;
  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      ioc_.get_executor()};
  std::thread thread_;
  std::unique_ptr<Session> session_;
};

TEST_F(SmppSessionTest, BindsAndGetsAMessageId) {
  auto& s = make_session(options());
  s.start();
  ASSERT_TRUE(wait_bound());
  Results results;
  ASSERT_EQ(s.submit(message("hello"), results.callback()), SubmitRefusal::none);
  ASSERT_TRUE(results.wait(1));
  auto r = results.snapshot().at(0);
  EXPECT_EQ(r.kind, Kind::ok) << kind_name(r.kind);
  EXPECT_EQ(r.message_id.rfind('m', 0), 0u) << r.message_id;
  EXPECT_EQ(smsc_count("binds"), 1);
  EXPECT_EQ(s.counters().acked, 1u);
  EXPECT_EQ(s.counters().binds, 1u);
}

TEST_F(SmppSessionTest, WrongPasswordIsNotBoundAndRetriesWithBackoff) {
  auto o = options();
  o.password = "wrong";
  auto& s = make_session(o);
  s.start();
  ASSERT_TRUE(eventually([&] { return smsc_count("bind_failures") >= 3; }));
  EXPECT_NE(s.state(), SessionState::bound);
  EXPECT_EQ(smsc_count("binds"), 0);
  EXPECT_GE(s.counters().bind_failures, 3u);
  EXPECT_EQ(s.counters().binds, 0u);
  // Not bound: a submit is answered link_down at once.
  Results results;
  ASSERT_EQ(s.submit(message("x"), results.callback()), SubmitRefusal::none);
  ASSERT_TRUE(results.wait(1));
  EXPECT_EQ(results.snapshot().at(0).kind, Kind::link_down);
}

TEST_F(SmppSessionTest, FiftySubmitsStayWithinAWindowOfTen) {
  auto o = options();
  o.window = 10;
  auto& s = make_session(o);
  s.start();
  ASSERT_TRUE(wait_bound());
  script(R"({"delay_ms": 30})");
  Results results;
  for (int i = 0; i < 50; ++i)
    ASSERT_EQ(s.submit(message("m" + std::to_string(i)), results.callback()), SubmitRefusal::none);
  ASSERT_TRUE(results.wait(50, 10s));
  std::set<std::string> ids;
  for (auto& r : results.snapshot()) {
    EXPECT_EQ(r.kind, Kind::ok) << kind_name(r.kind);
    ids.insert(r.message_id);
  }
  EXPECT_EQ(ids.size(), 50u);
  auto st = smsc_state();
  EXPECT_EQ(st.at("submits").to_number<int>(), 50);
  EXPECT_LE(st.at("max_outstanding").to_number<int>(), 10);
  EXPECT_GE(st.at("max_outstanding").to_number<int>(), 5);  // the window is used
  EXPECT_EQ(s.counters().outstanding, 0u);
  EXPECT_EQ(s.counters().submitted, 50u);
}

TEST_F(SmppSessionTest, ThrottledResponsesAreRetryClass) {
  auto& s = make_session(options());
  s.start();
  ASSERT_TRUE(wait_bound());
  script(R"({"submit_status": 88, "count": 2})");
  Results results;
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(s.submit(message("t"), results.callback()), SubmitRefusal::none);
  ASSERT_TRUE(results.wait(3));
  auto rs = results.snapshot();
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(rs[i].kind, Kind::rejected) << kind_name(rs[i].kind);
    EXPECT_EQ(rs[i].status, CommandStatus::ESME_RTHROTTLED);
    EXPECT_EQ(rs[i].verdict.action, SubmitAction::retry);
    EXPECT_TRUE(rs[i].verdict.slow_down);
  }
  EXPECT_EQ(rs[2].kind, Kind::ok);
  EXPECT_EQ(s.counters().throttled, 2u);
  EXPECT_EQ(s.counters().rejected, 2u);
}

TEST_F(SmppSessionTest, SlowResponseTimesOut) {
  auto o = options();
  o.response_timeout = 200ms;
  auto& s = make_session(o);
  s.start();
  ASSERT_TRUE(wait_bound());
  script(R"({"delay_ms": 1500})");
  Results results;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(s.submit(message("slow"), results.callback()), SubmitRefusal::none);
  ASSERT_TRUE(results.wait(1, 3s));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(results.snapshot().at(0).kind, Kind::timed_out);
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 1400ms);
  EXPECT_EQ(s.counters().timed_out, 1u);
  EXPECT_EQ(s.counters().outstanding, 0u);
  EXPECT_EQ(s.state(), SessionState::bound);
}

TEST_F(SmppSessionTest, DroppedLinkFailsOutstandingAndRebinds) {
  auto& s = make_session(options());
  s.start();
  ASSERT_TRUE(wait_bound());
  script(R"({"delay_ms": 500, "drop_after": 5})");
  Results results;
  for (int i = 0; i < 8; ++i)
    ASSERT_EQ(s.submit(message("d"), results.callback()), SubmitRefusal::none);
  ASSERT_TRUE(results.wait(8));
  for (auto& r : results.snapshot()) EXPECT_EQ(r.kind, Kind::link_down) << kind_name(r.kind);
  ASSERT_TRUE(eventually([&] { return smsc_count("binds") == 2; }));
  ASSERT_TRUE(wait_bound());
  script(R"({"delay_ms": null})");
  Results after;
  ASSERT_EQ(s.submit(message("again"), after.callback()), SubmitRefusal::none);
  ASSERT_TRUE(after.wait(1));
  EXPECT_EQ(after.snapshot().at(0).kind, Kind::ok);
  EXPECT_EQ(s.counters().link_down, 8u);
}

TEST_F(SmppSessionTest, MoReachesOnDeliverAndIsAckedOnlyAfterTheHandlerCompletes) {
  auto& s = make_session(options());
  Deliveries deliveries;
  s.on_deliver(deliveries.handler());
  s.start();
  ASSERT_TRUE(wait_bound());
  script(R"({"mo": {"source": "15557770000", "dest": "15558880000", "text": "hi there"}})");
  ASSERT_TRUE(deliveries.wait(1));
  EXPECT_EQ(deliveries.messages[0].short_message, "hi there");
  EXPECT_EQ(deliveries.messages[0].source.addr, "15557770000");
  EXPECT_EQ(deliveries.messages[0].dest.addr, "15558880000");
  // A submit_sm answered after the deliver_sm was handed over: had the
  // deliver_sm_resp been sent, the SMSC would have read it first.
  Results results;
  ASSERT_EQ(s.submit(message("barrier"), results.callback()), SubmitRefusal::none);
  ASSERT_TRUE(results.wait(1));
  EXPECT_TRUE(smsc_state().at("deliver_sm_resps").as_array().empty());
  deliveries.complete(0);
  deliveries.complete(0);  // a second call is ignored
  ASSERT_TRUE(
      eventually([&] { return smsc_state().at("deliver_sm_resps").as_array().size() == 1; }));
  auto resp = smsc_state().at("deliver_sm_resps").as_array().at(0).as_object();
  EXPECT_EQ(resp.at("status").to_number<int>(), 0);
  EXPECT_EQ(s.counters().delivered, 1u);
}

TEST_F(SmppSessionTest, ReceiptBeforeSubmitRespReachesOnDeliver) {
  auto& s = make_session(options());
  Deliveries deliveries;
  std::mutex order_mu;
  std::vector<std::string> order;
  s.on_deliver([&](const ShortMessage& m, Session::DeliverDone d) {
    {
      std::lock_guard lk(order_mu);
      order.push_back("receipt");
    }
    deliveries.handler()(m, std::move(d));
  });
  s.start();
  ASSERT_TRUE(wait_bound());
  script(R"({"receipt": "before"})");
  Results results;
  auto m = message("with receipt");
  m.registered_delivery = kRegisteredDeliveryFinal;
  ASSERT_EQ(s.submit(m,
                     [&, cb = results.callback()](const SubmitResult& r) {
                       {
                         std::lock_guard lk(order_mu);
                         order.push_back("resp");
                       }
                       cb(r);
                     }),
            SubmitRefusal::none);
  ASSERT_TRUE(results.wait(1));
  ASSERT_TRUE(deliveries.wait(1));
  auto r = results.snapshot().at(0);
  ASSERT_EQ(r.kind, Kind::ok);
  auto& receipt = deliveries.messages.at(0);
  EXPECT_EQ(receipt.esm_class & kEsmTypeMask, kEsmTypeDeliveryReceipt);
  EXPECT_EQ(receipt.tlvs.receipted_message_id(), r.message_id);
  EXPECT_NE(receipt.short_message.find("id:" + r.message_id), std::string::npos);
  {
    std::lock_guard lk(order_mu);
    EXPECT_EQ(order, (std::vector<std::string>{"receipt", "resp"}));
  }
  deliveries.complete(0);
  ASSERT_TRUE(
      eventually([&] { return smsc_state().at("deliver_sm_resps").as_array().size() == 1; }));
}

TEST_F(SmppSessionTest, EnquireLinkKeepsTheLink) {
  auto o = options();
  o.enquire_link_interval = 50ms;
  auto& s = make_session(o);
  s.start();
  ASSERT_TRUE(wait_bound());
  ASSERT_TRUE(eventually([&] { return smsc_count("enquire_links") >= 4; }));
  EXPECT_EQ(s.state(), SessionState::bound);
  EXPECT_EQ(smsc_count("binds"), 1);
  EXPECT_EQ(smsc_count("connections"), 1);
}

TEST_F(SmppSessionTest, UnansweredEnquireLinkDropsAndRebinds) {
  auto o = options();
  o.enquire_link_interval = 50ms;
  o.response_timeout = 200ms;
  auto& s = make_session(o);
  s.start();
  ASSERT_TRUE(wait_bound());
  script(R"({"ignore_enquire": true})");
  ASSERT_TRUE(eventually([&] { return smsc_count("binds") >= 2; }));
}

TEST_F(SmppSessionTest, StopUnbindsCleanly) {
  auto& s = make_session(options());
  s.start();
  ASSERT_TRUE(wait_bound());
  stop_session();
  EXPECT_EQ(s.state(), SessionState::disconnected);
  EXPECT_EQ(smsc_count("unbinds"), 1);
  Results results;
  EXPECT_EQ(s.submit(message("late"), results.callback()), SubmitRefusal::stopped);
}

TEST_F(SmppSessionTest, UnbindFromTheSmscIsAnsweredAndTheSessionRebinds) {
  auto& s = make_session(options());
  s.start();
  ASSERT_TRUE(wait_bound());
  script(R"({"unbind": true})");
  ASSERT_TRUE(eventually([&] { return smsc_count("unbind_resps") == 1; }));
  ASSERT_TRUE(eventually([&] { return smsc_count("binds") == 2; }));
  EXPECT_TRUE(wait_bound());
}

TEST_F(SmppSessionTest, UnknownPduGetsGenericNack) {
  auto& s = make_session(options());
  s.start();
  ASSERT_TRUE(wait_bound());
  // command_id 0x00000999 (unknown), sequence_number 77.
  script(R"({"raw_hex": "0000001000000999000000000000004d"})");
  ASSERT_TRUE(eventually([&] { return !smsc_state().at("generic_nacks").as_array().empty(); }));
  auto nack = smsc_state().at("generic_nacks").as_array().at(0).as_object();
  EXPECT_EQ(nack.at("seq").to_number<int>(), 77);
  EXPECT_EQ(nack.at("status").to_number<int>(), 3);  // ESME_RINVCMDID
  EXPECT_EQ(s.state(), SessionState::bound);
}

TEST_F(SmppSessionTest, FullQueueIsRefused) {
  auto o = options();
  o.window = 1;
  o.max_queue = 2;
  auto& s = make_session(o);
  s.start();
  ASSERT_TRUE(wait_bound());
  script(R"({"delay_ms": 500})");
  Results results;
  int accepted = 0, refused = 0;
  for (int i = 0; i < 10; ++i) {
    auto r = s.submit(message("q"), results.callback());
    if (r == SubmitRefusal::none) ++accepted;
    if (r == SubmitRefusal::queue_full) ++refused;
  }
  EXPECT_LE(accepted, 3);
  EXPECT_EQ(accepted + refused, 10);
  ASSERT_TRUE(results.wait(accepted, 5s));
  for (auto& r : results.snapshot()) EXPECT_EQ(r.kind, Kind::ok);
}

TEST_F(SmppSessionTest, ThroughputCapSpacesSubmits) {
  auto o = options();
  o.max_per_second = 10;
  o.window = 50;
  auto& s = make_session(o);
  s.start();
  ASSERT_TRUE(wait_bound());
  Results results;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(s.submit(message("r"), results.callback()), SubmitRefusal::none);
  ASSERT_TRUE(results.wait(20, 5s));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 1850ms);
  EXPECT_LT(took, 3s);
  for (auto& r : results.snapshot()) EXPECT_EQ(r.kind, Kind::ok);
}

TEST_F(SmppSessionTest, TransmitterAndReceiverBindsSplitTheWork) {
  auto o = options();
  o.id = "tx";
  o.bind_mode = BindMode::transmitter;
  auto& tx = make_session(o);
  auto ro = options();
  ro.id = "rx";
  ro.bind_mode = BindMode::receiver;
  Session rx(ioc_, ro);
  Deliveries deliveries;
  rx.on_deliver(deliveries.handler());
  tx.start();
  rx.start();
  ASSERT_TRUE(wait_bound());
  ASSERT_TRUE(eventually([&] { return rx.state() == SessionState::bound; }));
  auto modes = smsc_state().at("binds_by_mode").as_object();
  EXPECT_EQ(modes.at("transmitter").to_number<int>(), 1);
  EXPECT_EQ(modes.at("receiver").to_number<int>(), 1);
  // A receiver never submits.
  Results refused;
  EXPECT_EQ(rx.submit(message("no"), refused.callback()), SubmitRefusal::receive_only);
  Results results;
  ASSERT_EQ(tx.submit(message("yes"), results.callback()), SubmitRefusal::none);
  ASSERT_TRUE(results.wait(1));
  EXPECT_EQ(results.snapshot().at(0).kind, Kind::ok);
  // MO goes to the receiver only.
  script(R"({"mo": {"text": "to the receiver"}})");
  ASSERT_TRUE(deliveries.wait(1));
  EXPECT_EQ(deliveries.messages.at(0).short_message, "to the receiver");
  deliveries.complete(0);
  ASSERT_TRUE(
      eventually([&] { return smsc_state().at("deliver_sm_resps").as_array().size() == 1; }));
  EXPECT_EQ(smsc_count("deliver_sm_sent"), 1);
  EXPECT_EQ(rx.counters().delivered, 1u);
  EXPECT_EQ(tx.counters().delivered, 0u);
  EXPECT_EQ(smsc_count("submits_on_receiver"), 0);
  std::promise<void> stopped;
  rx.stop([&stopped] { stopped.set_value(); });
  ASSERT_EQ(stopped.get_future().wait_for(5s), std::future_status::ready);
}

TEST_F(SmppSessionTest, SetMaxPerSecondChangesTheCapAtRunTime) {
  auto o = options();
  o.window = 50;
  auto& s = make_session(o);
  s.start();
  ASSERT_TRUE(wait_bound());
  EXPECT_EQ(s.max_per_second(), 0);
  s.set_max_per_second(20);
  EXPECT_EQ(s.max_per_second(), 20);
  Results capped;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(s.submit(message("c"), capped.callback()), SubmitRefusal::none);
  ASSERT_TRUE(capped.wait(10));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 400ms);  // 9 intervals of 50 ms at least
  EXPECT_LT(took, 1500ms);
  s.set_max_per_second(0);
  Results free;
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(s.submit(message("f"), free.callback()), SubmitRefusal::none);
  ASSERT_TRUE(free.wait(10));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 300ms);
}

TEST_F(SmppSessionTest, LastErrorAndBoundSince) {
  auto o = options();
  o.password = "wrong";
  auto& s = make_session(o);
  s.start();
  ASSERT_TRUE(eventually([&] { return !s.last_error().empty(); }));
  EXPECT_NE(s.last_error().find("bind refused"), std::string::npos) << s.last_error();
  EXPECT_FALSE(s.bound_since().has_value());
  stop_session();
  auto& ok = make_session(options());
  auto before = std::chrono::system_clock::now();
  ok.start();
  ASSERT_TRUE(wait_bound());
  ASSERT_TRUE(ok.bound_since().has_value());
  EXPECT_GE(*ok.bound_since(), before - 1s);
  EXPECT_TRUE(ok.last_error().empty());
}

}  // namespace
}  // namespace rh::messaging::smpp
