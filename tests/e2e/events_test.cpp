// A user's live events over the real binary, on both drivers: GET /v1/events
// starts "from now", a long poll returns as soon as an on-net message arrives
// for its user, never shows another user's events, and honours its wait
// beyond the server's request time-out; bad cursors and parameters are 400s.
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "e2e/numbers_fixture.hpp"

namespace rh::test {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

class EventsE2E : public NumbersWorld {
 protected:
  void boot(std::vector<std::string> extra = {}) {
    boot_with({"--set", "messaging.user_rate_per_minute=0"}, extra);
    if (HasFatalFailure()) return;
    auto imp = post_csv(port_, admin("/v1/admin/numbers/import"), numbers_csv(300, 2), op_);
    ASSERT_EQ(imp.status, 201) << imp.body;
    alice_ = signed_up_user(port_, op_, "alice@example.com");
    bob_ = signed_up_user(port_, op_, "bob@example.com");
    credit(port_, op_, alice_.id, "10.00");
    credit(port_, op_, bob_.id, "10.00");
    ASSERT_EQ(purchase(port_, alice_.access_token, "+14155550300", "a").status, 201);
    ASSERT_EQ(purchase(port_, bob_.access_token, "+14155550301", "b").status, 201);
  }

  HttpResponse events(const Account& a, const std::string& query) {
    HttpRequest q;
    q.target = "/v1/events" + query;
    q.headers["Authorization"] = "Bearer " + a.access_token;
    q.headers["Host"] = "localhost";
    return http(port_, q, std::chrono::seconds(40));
  }

  // The cursor where a client starting now begins.
  std::string now_cursor(const Account& a) {
    auto r = events(a, "");
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return "";
    EXPECT_TRUE(r.json().at("data").as_array().empty()) << r.body;
    return jstr(r.json(), "next");
  }

  HttpResponse send(const Account& a, const std::string& from, const std::string& to,
                    const std::string& text, const std::string& key) {
    return send_message(port_, a.access_token, from, json::value(to), text, key);
  }

  Account alice_, bob_;
};
RH_E2E_ON_BOTH_DRIVERS(EventsE2E);

TEST_P(EventsE2E, ALongPollWakesForANewMessageAndShowsOnlyTheUsersOwn) {
  boot();
  // History before "now" is not replayed.
  ASSERT_EQ(send(alice_, "+14155550300", "+14155550301", "before", "k0").status, 201);
  auto t0 = Clock::now();
  std::string bob_from = now_cursor(bob_);
  std::string alice_from = now_cursor(alice_);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(3)) << "no wait without a cursor";
  ASSERT_FALSE(bob_from.empty());

  // Bob waits; Alice's message arrives half a second later.
  auto started = Clock::now();
  auto poll = std::async(std::launch::async, [&] { return events(bob_, "?after=" + bob_from); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto sent = send(alice_, "+14155550300", "+14155550301", "hello Bob", "k1");
  ASSERT_EQ(sent.status, 201) << sent.body;
  auto r = poll.get();
  auto took = Clock::now() - started;
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_LT(took, std::chrono::seconds(5)) << "the long poll did not wake promptly";
  auto body = r.json();
  const auto& data = body.at("data").as_array();
  ASSERT_EQ(data.size(), 1u) << body;
  const auto& e = data.at(0);
  EXPECT_EQ(jstr(e, "type"), "message.received");
  EXPECT_EQ(jstr(e, "id").rfind("evt_", 0), 0u);
  EXPECT_FALSE(jstr(e, "created_at").empty());
  EXPECT_EQ(jstr(e.at("data"), "user_id"), bob_.id);
  EXPECT_EQ(jstr(e.at("data"), "from"), "+14155550300");
  EXPECT_EQ(jstr(e.at("data"), "text"), "hello Bob");
  std::string next = jstr(body, "next");
  EXPECT_NE(next, bob_from);

  // Nothing newer: the same cursor back, empty, after the wait.
  auto idle = events(bob_, "?wait=1&after=" + next);
  ASSERT_EQ(idle.status, 200) << idle.body;
  EXPECT_TRUE(idle.json().at("data").as_array().empty());
  EXPECT_EQ(jstr(idle.json(), "next"), next);

  // Alice sees only her own events, never Bob's received message; a user with
  // no messages sees nothing at all.
  auto mine = events(alice_, "?wait=0&after=" + alice_from);
  ASSERT_EQ(mine.status, 200) << mine.body;
  auto mine_body = mine.json();
  for (const auto& ev : mine_body.at("data").as_array()) {
    EXPECT_NE(jstr(ev, "type"), "message.received") << ev;
    EXPECT_EQ(jstr(ev.at("data"), "user_id"), alice_.id) << ev;
  }
  auto carol = signed_up_user(port_, op_, "carol@example.com");
  auto none = events(carol, "?wait=0&after=ev0");
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_TRUE(none.json().at("data").as_array().empty()) << none.body;
  // From the very start, everything in Bob's feed is his.
  auto all = events(bob_, "?wait=0&after=ev0").json();
  for (const auto& ev : all.at("data").as_array())
    EXPECT_EQ(jstr(ev.at("data"), "user_id"), bob_.id) << ev;
  // Filtered by type.
  // (wait, not 0: on MariaDB an event is held back until it is 1 s old.)
  auto numbers = events(bob_, "?wait=5&after=ev0&types=number.purchased,call.missed");
  ASSERT_EQ(numbers.status, 200) << numbers.body;
  ASSERT_EQ(numbers.json().at("data").as_array().size(), 1u) << numbers.body;
  EXPECT_EQ(jstr(numbers.json().at("data").as_array().at(0), "type"), "number.purchased");
  auto page = events(bob_, "?wait=5&after=ev0&limit=1");
  EXPECT_EQ(page.json().at("data").as_array().size(), 1u) << page.body;
}

TEST_P(EventsE2E, BadParametersAre400AndWaitZeroAnswersAtOnce) {
  boot();
  for (const char* q : {"?after=garbage", "?after=ev-1", "?after=ev", "?after=12",
                        "?after=ev1&wait=26", "?after=ev1&wait=-1", "?after=ev1&wait=soon",
                        "?after=ev1&limit=0", "?after=ev1&limit=201", "?after=ev1&types=,"}) {
    auto r = events(bob_, q);
    EXPECT_EQ(r.status, 400) << q << ": " << r.body;
    EXPECT_EQ(r.header("Content-Type"), "application/problem+json") << q;
  }
  std::string from = now_cursor(bob_);
  auto t0 = Clock::now();
  auto r = events(bob_, "?wait=0&after=" + from);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(2));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.json().at("data").as_array().empty());
  EXPECT_EQ(jstr(r.json(), "next"), from);
  // Only a signed-in user, or an API key with events:read.
  HttpRequest anon;
  anon.target = "/v1/events";
  EXPECT_EQ(http(port_, anon).status, 401);
  auto key_for = [&](const char* scope) {
    auto k = call(port_, "POST", "/v1/api-keys",
                  json::serialize(json::object{{"name", scope}, {"scopes", json::array{scope}}}),
                  bob_.access_token);
    EXPECT_EQ(k.status, 201) << k.body;
    Account a = bob_;
    a.access_token = k.status == 201 ? jstr(k.json(), "key") : "";
    return a;
  };
  EXPECT_EQ(events(key_for("events:read"), "?wait=0&after=" + from).status, 200);
  EXPECT_EQ(events(key_for("calls:read"), "?wait=0&after=" + from).status, 403);
}

TEST_P(EventsE2E, ALongPollOutlivesTheRequestTimeout) {
  // The request time-out covers reading a request, not the handler's wait.
  boot({"--set", "http.request_timeout_ms=1000"});
  std::string from = now_cursor(bob_);
  auto t0 = Clock::now();
  auto r = events(bob_, "?wait=3&after=" + from);
  auto took = Clock::now() - t0;
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.json().at("data").as_array().empty());
  EXPECT_GE(took, std::chrono::milliseconds(2900));
  EXPECT_LT(took, std::chrono::seconds(8));
}

TEST_P(EventsE2E, DrainingEndsAWaitEarly) {
  boot();
  std::string from = now_cursor(bob_);
  auto t0 = Clock::now();
  auto poll =
      std::async(std::launch::async, [&] { return events(bob_, "?wait=25&after=" + from); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  rh_->signal(SIGTERM);
  auto r = poll.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
  EXPECT_TRUE(rh_->wait_exit(std::chrono::seconds(10)).has_value());
}

}  // namespace
}  // namespace rh::test
