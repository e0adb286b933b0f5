// Messaging end to end: the real ringhouse binary bound over SMPP to the npm
// `smpp` SMSC (tests/support/smsc/smsc-fake.js), two users with numbers from
// the local pool: on-net exchange, off-net submits with receipts, MO (plain,
// concatenated, UCS-2), STOP, throttling, a dropped link, and a kill -9
// during a burst with nothing lost and nothing charged twice.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "e2e/numbers_fixture.hpp"
#include "support/smsc_fake.hpp"

namespace rh::test {
namespace {

namespace json = boost::json;

class MessagingE2E : public NumbersWorld {
 protected:
  void SetUp() override {
    NumbersWorld::SetUp();
    if (IsSkipped()) return;
    auto started = smsc_.start();
    if (started.skip) GTEST_SKIP() << started.why;
    ASSERT_TRUE(started.ok) << started.why;
  }
  void TearDown() override {
    if (HasFailure() && smsc_.pid() > 0) std::cerr << "smsc-fake stderr:\n" << smsc_.stderr_text();
    NumbersWorld::TearDown();
    // A restarted server's directory (the first process kept it for the second).
    if (!reused_dir_.empty() && !HasFailure()) {
      rh_.reset();
      std::error_code ec;
      std::filesystem::remove_all(reused_dir_, ec);
    }
  }

  std::string bind_url(int window = 10) const {
    return "messaging.smpp_binds=smpp://ringhouse:secret@127.0.0.1:" +
           std::to_string(smsc_.smpp_port()) + "?route=smpp-a&window=" + std::to_string(window) +
           "&reconnect_ms=100";
  }

  void boot(std::vector<std::string> extra = {}, int window = 10) {
    std::vector<std::string> base{"--set", bind_url(window),
                                  "--set", "messaging.smpp_link_retry_ms=100",
                                  "--set", "messaging.smpp_throttle_retry_ms=200",
                                  "--set", "messaging.max_retry_ms=300",
                                  "--set", "messaging.retry_base_ms=100",
                                  "--set", "messaging.user_rate_per_minute=0",
                                  "--set", "jobs.poll_ms=50"};
    boot_args_ = base;
    boot_args_.insert(boot_args_.end(), extra.begin(), extra.end());
    boot_with(base, extra);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(eventually([&] { return smsc_count("bound_sessions") >= 1; })) << rh_->log();
  }

  // Two users with a number each (+14155550100 and +14155550101).
  void two_users() {
    auto imp = post_csv(port_, admin("/v1/admin/numbers/import"), numbers_csv(100, 2), op_);
    ASSERT_EQ(imp.status, 201) << imp.body;
    alice_ = signed_up_user(port_, op_, "alice@example.com");
    bob_ = signed_up_user(port_, op_, "bob@example.com");
    credit(port_, op_, alice_.id, "100.00");
    credit(port_, op_, bob_.id, "100.00");
    ASSERT_EQ(purchase(port_, alice_.access_token, "+14155550100", "a").status, 201);
    ASSERT_EQ(purchase(port_, bob_.access_token, "+14155550101", "b").status, 201);
  }

  HttpResponse send(const Account& a, const std::string& from, const json::value& to,
                    const std::string& text, const std::string& key) {
    return send_message(port_, a.access_token, from, to, text, key);
  }

  json::value get(const Account& a, const std::string& target) {
    auto r = call(port_, "GET", target, "", a.access_token);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    return r.status == 200 ? r.json() : json::value();
  }

  std::string status_of(const Account& a, const std::string& id) {
    auto m = get(a, "/v1/messages/" + id);
    return m.is_object() ? jstr(m, "status") : "";
  }

  void script(const json::object& o) { ASSERT_TRUE(smsc_.script(json::serialize(o))); }
  json::object smsc_state() { return smsc_.state(); }
  std::map<std::string, int> smsc_texts() { return smsc_.texts(); }
  std::int64_t smsc_count(const char* key) { return smsc_.count(key); }

  // The messages of the user's only conversation, newest first.
  json::array thread(const Account& a) {
    auto convs = get(a, "/v1/conversations");
    if (!convs.is_object() || convs.at("data").as_array().empty()) return {};
    std::string id = jstr(convs.at("data").as_array().at(0), "id");
    auto msgs = get(a, "/v1/conversations/" + id + "/messages");
    return msgs.is_object() ? msgs.at("data").as_array() : json::array{};
  }

  std::vector<std::string> boot_args_;
  std::string reused_dir_;
  SmscFake smsc_;
  Account alice_, bob_;
};

TEST_P(MessagingE2E, OnNetMessagesReachTheOtherUserAtOnce) {
  boot();
  two_users();
  auto r = send(alice_, "+14155550100", "+14155550101", "hello Bob 👋", "k1");
  ASSERT_EQ(r.status, 201) << r.body;
  auto m = r.json();
  EXPECT_EQ(jstr(m, "status"), "delivered");
  EXPECT_EQ(jstr(m, "encoding"), "UCS-2");
  EXPECT_EQ(m.at("deliveries").as_array().at(0).at("on_net").as_bool(), true);
  // The same key again: the same message, not a second one.
  auto again = send(alice_, "+14155550100", "+14155550101", "hello Bob 👋", "k1");
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(jstr(again.json(), "id"), jstr(m, "id"));

  auto convs = get(bob_, "/v1/conversations");
  ASSERT_EQ(convs.at("data").as_array().size(), 1u) << convs;
  const auto& c = convs.at("data").as_array().at(0);
  EXPECT_EQ(c.at("unread_count").as_int64(), 1);
  EXPECT_EQ(std::string(c.at("participants").as_array().at(0).as_string()), "+14155550100");
  auto t = thread(bob_);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(jstr(t.at(0), "text"), "hello Bob 👋");
  EXPECT_EQ(jstr(t.at(0), "direction"), "inbound");

  // Bob reads it and answers; nothing went to the SMSC.
  auto read =
      call(port_, "POST", "/v1/conversations/" + jstr(c, "id") + "/read", "", bob_.access_token);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.json().at("unread_count").as_int64(), 0);
  ASSERT_EQ(send(bob_, "+14155550101", "+14155550100", "hi Alice", "k2").status, 201);
  EXPECT_EQ(thread(alice_).size(), 2u);
  EXPECT_EQ(smsc_count("submits"), 0);
  // Search and the other user's view.
  auto found = get(alice_, "/v1/messages?q=Alice");
  EXPECT_EQ(found.at("data").as_array().size(), 1u);
  auto other = call(port_, "GET", "/v1/conversations/" + jstr(c, "id"), "", alice_.access_token);
  EXPECT_EQ(other.status, 404);
  // Bad input gets a clear problem.
  EXPECT_EQ(send(alice_, "+14155550100", "+14155550101", "no key", "").status, 422);
  EXPECT_EQ(send(alice_, "+14155550101", "+14155550100", "not mine", "k3").status, 422);
  EXPECT_EQ(send(alice_, "+14155550100", "12", "bad number", "k4").status, 422);
}

TEST_P(MessagingE2E, OffNetMessagesGoToTheSmscAndReceiptsDeliverThem) {
  boot();
  two_users();
  auto deck = post_csv(port_, admin("/v1/admin/rate-decks?name=Retail"),
                       "prefix,description,per_minute,increment,sms,mms\n"
                       "1,US,0.01,60/60,0.0075,0.02\n",
                       op_);
  ASSERT_EQ(deck.status, 201) << deck.body;
  script({{"receipt", "after"}});
  auto before = micros(balance(port_, alice_.access_token), "balance_micros");
  std::string longtext(200, 'x');  // two parts
  auto r = send(alice_, "+14155550100", "+12025550123", longtext, "off-1");
  ASSERT_EQ(r.status, 201) << r.body;
  std::string id = jstr(r.json(), "id");
  EXPECT_EQ(r.json().at("segments").as_int64(), 2);
  ASSERT_TRUE(eventually([&] { return status_of(alice_, id) == "delivered"; }))
      << status_of(alice_, id) << "\n"
      << rh_->log();
  auto st = smsc_state();
  ASSERT_EQ(st.at("submitted").as_array().size(), 2u);
  const auto& part = st.at("submitted").as_array().at(0);
  EXPECT_EQ(jstr(part, "source"), "14155550100");
  EXPECT_EQ(jstr(part, "dest"), "12025550123");
  EXPECT_EQ(jstr(part, "udh_hex").substr(0, 6), "050003");
  // Charged once, two segments at 0.0075.
  auto after = balance(port_, alice_.access_token);
  EXPECT_EQ(before - micros(after, "balance_micros"), 15'000);
  EXPECT_EQ(micros(after, "held_micros"), 0);

  // A receipt before the submit response works too.
  script({{"receipt", "before"}});
  auto r2 = send(alice_, "+14155550100", "+12025550124", "early receipt", "off-2");
  ASSERT_EQ(r2.status, 201) << r2.body;
  ASSERT_TRUE(eventually([&] { return status_of(alice_, jstr(r2.json(), "id")) == "delivered"; }))
      << rh_->log();
}

TEST_P(MessagingE2E, ThrottlingAndQueueFullAreRetriedAndPermanentErrorsFail) {
  boot();
  two_users();
  script({{"submit_status", 0x58}, {"count", 2}});
  auto r = send(alice_, "+14155550100", "+12025550123", "throttled first", "t-1");
  ASSERT_EQ(r.status, 201) << r.body;
  ASSERT_TRUE(eventually([&] { return status_of(alice_, jstr(r.json(), "id")) == "sent"; }))
      << rh_->log();
  EXPECT_GE(smsc_count("submits"), 3);

  script({{"submit_status", 0x14}, {"count", 1}});
  auto q = send(alice_, "+14155550100", "+12025550123", "queue full first", "t-2");
  ASSERT_TRUE(eventually([&] { return status_of(alice_, jstr(q.json(), "id")) == "sent"; }));

  script({{"submit_status", 0x0B}, {"count", 1}});
  auto p = send(alice_, "+14155550100", "+12025550123", "bad destination", "t-3");
  ASSERT_TRUE(eventually([&] { return status_of(alice_, jstr(p.json(), "id")) == "failed"; }));
  auto m = get(alice_, "/v1/messages/" + jstr(p.json(), "id"));
  EXPECT_EQ(jstr(m.at("error"), "code"), "smpp_0x0b") << m;
}

TEST_P(MessagingE2E, ADroppedLinkRequeuesWhatWasInFlight) {
  boot();
  two_users();
  script({{"delay_ms", 300}, {"drop_after", 1}});
  auto r = send(alice_, "+14155550100", "+12025550123", "through a dropped link", "d-1");
  ASSERT_EQ(r.status, 201) << r.body;
  script({{"delay_ms", nullptr}});
  ASSERT_TRUE(eventually([&] { return status_of(alice_, jstr(r.json(), "id")) == "sent"; }))
      << rh_->log();
  EXPECT_GE(smsc_count("binds"), 2);
}

TEST_P(MessagingE2E, MobileOriginatedMessagesArriveWholeAndStopIsHonoured) {
  boot();
  two_users();
  script({{"mo", json::object{{"source", "12025550123"},
                              {"dest", "14155550100"},
                              {"text", "hello from a phone"}}}});
  ASSERT_TRUE(eventually([&] { return thread(alice_).size() == 1; })) << rh_->log();
  auto t = thread(alice_);
  EXPECT_EQ(jstr(t.at(0), "from"), "+12025550123");
  EXPECT_EQ(jstr(t.at(0), "text"), "hello from a phone");

  // A concatenated MO (UDH, 8-bit reference) in two parts, and a UCS-2 emoji.
  script({{"deliver", json::array{json::object{{"source", "12025550123"},
                                               {"dest", "14155550100"},
                                               {"esm_class", 0x40},
                                               {"hex", "0500037702016669727374"}},
                                  json::object{{"source", "12025550123"},
                                               {"dest", "14155550100"},
                                               {"esm_class", 0x40},
                                               {"hex", "05000377020220706172740a"}}}}});
  ASSERT_TRUE(eventually([&] { return thread(alice_).size() == 2; })) << rh_->log();
  EXPECT_EQ(jstr(thread(alice_).at(0), "text"), "first part\n");
  script({{"deliver", json::object{{"source", "12025550123"},
                                   {"dest", "14155550100"},
                                   {"data_coding", 8},
                                   {"hex", "d83dde00"}}}});
  ASSERT_TRUE(eventually([&] { return thread(alice_).size() == 3; }));
  EXPECT_EQ(jstr(thread(alice_).at(0), "text"), "😀");

  // STOP: answered over SMPP, and the number cannot text them any more.
  script(
      {{"mo", json::object{{"source", "12025550123"}, {"dest", "14155550100"}, {"text", "STOP"}}}});
  ASSERT_TRUE(eventually([&] {
    auto st = smsc_state();
    for (const auto& s : st.at("submitted").as_array())
      if (jstr(s, "text").find("unsubscribed") != std::string::npos) return true;
    return false;
  })) << rh_->log();
  auto refused = send(alice_, "+14155550100", "+12025550123", "are you there?", "s-1");
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_NE(refused.body.find("recipient_opted_out"), std::string::npos);
}

// kill -9 in the middle of a burst: 10,000 messages accepted, the SMSC
// slower than the API, the server killed while it works through them; after
// the restart every accepted message reaches the SMSC, re-sent at most the
// window, charged and told once.
TEST_P(MessagingE2E, KillDuringABurstLosesNothingAndChargesOnce) {
  const int kMessages = 10'000;
  const int kWindow = 10;
  boot({"--set", "messaging.batch=64", "--set", "http.threads=2"}, kWindow);
  two_users();
  auto deck = post_csv(port_, admin("/v1/admin/rate-decks?name=Retail"),
                       "prefix,description,per_minute,increment,sms,mms\n"
                       "1,US,0.01,60/60,0.001,0.02\n",
                       op_);
  ASSERT_EQ(deck.status, 201) << deck.body;
  credit(port_, op_, alice_.id, "100.00");
  auto lim = call(port_, "PATCH", "/v1/admin/tenants/" + tenant_,
                  R"({"limits":{"max_messages_per_day":100000}})", op_);
  ASSERT_EQ(lim.status, 200) << lim.body;
  // 10 in flight and 100 ms each: 100 submits a second, slower than the API
  // on either driver, so the kill comes while the queue is being worked off.
  script({{"delay_ms", 100}});
  std::set<std::string> accepted;
  std::mutex mu;
  std::atomic<int> next{0};
  auto worker = [&] {
    for (int i = next++; i < kMessages; i = next++) {
      auto r = send(alice_, "+14155550100", "+12025550123", "burst " + std::to_string(i),
                    "burst-" + std::to_string(i));
      ASSERT_EQ(r.status, 201) << r.body;
      std::lock_guard lk(mu);
      accepted.insert("burst " + std::to_string(i));
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  ASSERT_EQ(accepted.size(), static_cast<std::size_t>(kMessages));
  rh_->signal(SIGKILL);
  ASSERT_TRUE(rh_->wait_exit(std::chrono::seconds(10)));
  const std::size_t sent_before = static_cast<std::size_t>(smsc_count("submits"));
  ASSERT_LT(sent_before, accepted.size()) << "the burst was over before the kill";

  script({{"delay_ms", nullptr}});
  std::string dir = rh_->data_dir();
  rh_->keep_dir();
  reused_dir_ = dir;
  rh_ = start(boot_args_, dir);
  ASSERT_TRUE(rh_->running()) << rh_->log();
  port_ = rh_->port();
  // Every accepted message reaches the SMSC.
  std::map<std::string, int> texts;
  ASSERT_TRUE(eventually(
      [&] {
        texts = smsc_texts();
        for (const auto& a : accepted)
          if (!texts.count(a)) return false;
        return true;
      },
      std::chrono::seconds(120)))
      << "accepted " << accepted.size() << ", submitted " << smsc_count("submits");
  // Duplicates: at most the window.
  int dup = 0;
  for (const auto& [text, n] : texts) dup += n - 1;
  EXPECT_LE(dup, kWindow) << "submitted before the kill: " << sent_before;
  // Charged once per message: every message stored was sent (those whose
  // answer the kill cut off too), each charged once.
  std::size_t distinct = texts.size();
  EXPECT_GE(distinct, accepted.size());
  auto login_again = login(port_, alice_.email, alice_.password);
  ASSERT_EQ(login_again.status, 200);
  take_tokens(alice_, login_again);
  ASSERT_TRUE(
      eventually([&] { return micros(balance(port_, alice_.access_token), "held_micros") == 0; }));
  auto b = balance(port_, alice_.access_token);
  // 200.00 credit - 0.50 upfront - 0.50 first month - 0.001 per message.
  EXPECT_EQ(micros(b, "balance_micros"),
            200'000'000 - 1'000'000 - static_cast<std::int64_t>(distinct) * 1'000);
  std::cout << "accepted " << accepted.size() << ", stored " << distinct
            << ", submitted before the kill " << sent_before << ", duplicates " << dup << "\n";
}

RH_E2E_ON_BOTH_DRIVERS(MessagingE2E);

}  // namespace
}  // namespace rh::test
