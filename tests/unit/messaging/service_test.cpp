// MessageService and Dispatcher on both drivers: on-net exchange, off-net
// rating with holds, outcomes (accepted, retried, failed), receipts before
// and after the submit's outcome, out-of-order statuses, idempotency,
// STOP/START/HELP, the allow-list and the crash takeover of leases. Routes
// here are an in-process RouteSender the test scripts; the real SMPP and
// HTTP routes are tested against their peers in the gateway, carrier and
// e2e tests.
#include "messaging/service.hpp"

#include <gtest/gtest.h>

#include <future>

#include "accounts/tenants.hpp"
#include "billing/ledger.hpp"
#include "billing/rates.hpp"
#include "core/ids.hpp"
#include "unit/unit_db.hpp"

namespace rh::messaging {
namespace {

TEST(MessageStatus, DerivedFromDeliveries) {
  EXPECT_EQ(derive_status({"queued"}), "queued");
  EXPECT_EQ(derive_status({"sending", "queued"}), "queued");
  EXPECT_EQ(derive_status({"sending", "sent"}), "sending");
  EXPECT_EQ(derive_status({"sent", "delivered"}), "sent");
  EXPECT_EQ(derive_status({"delivered", "delivered"}), "delivered");
  EXPECT_EQ(derive_status({"delivered", "failed"}), "failed");
  EXPECT_EQ(derive_status({"undelivered", "delivered"}), "undelivered");
  EXPECT_EQ(derive_status({"failed", "sending"}), "sending");
}

TEST(MessageStatus, NeverMovesBackFromDelivered) {
  EXPECT_TRUE(status_advances("queued", "sending"));
  EXPECT_TRUE(status_advances("sending", "sent"));
  EXPECT_TRUE(status_advances("sent", "delivered"));
  EXPECT_TRUE(status_advances("sent", "failed"));
  EXPECT_TRUE(status_advances("failed", "delivered"));
  EXPECT_FALSE(status_advances("delivered", "sent"));
  EXPECT_FALSE(status_advances("delivered", "failed"));
  EXPECT_FALSE(status_advances("sent", "sending"));
  EXPECT_FALSE(status_advances("failed", "sent"));
  EXPECT_FALSE(status_advances("sent", "bogus"));
}

TEST(MessageStatus, ComplianceKeywords) {
  EXPECT_EQ(compliance_keyword("STOP"), "STOP");
  EXPECT_EQ(compliance_keyword(" stop "), "STOP");
  EXPECT_EQ(compliance_keyword("Unsubscribe."), "STOP");
  EXPECT_EQ(compliance_keyword("start"), "START");
  EXPECT_EQ(compliance_keyword("Help!"), "HELP");
  EXPECT_EQ(compliance_keyword("please stop texting me"), "");
  EXPECT_EQ(compliance_keyword(""), "");
}

// A route the test answers by hand.
class ScriptedRoute final : public RouteSender {
 public:
  bool handles(const std::string& route) const override { return route == "smsc1"; }
  std::vector<std::string> routes() const override { return {"smsc1"}; }
  std::size_t capacity(const std::string&) const override { return 10; }
  void send(const RouteSend& m, std::function<void(RouteResult)> done) override {
    std::lock_guard lk(mu);
    sent.push_back(m);
    pending.push_back(std::move(done));
    cv.notify_all();
  }
  // Waits for n sends in total.
  bool wait_sent(std::size_t n) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, std::chrono::seconds(10), [&] { return sent.size() >= n; });
  }
  void answer(RouteResult r) {
    std::function<void(RouteResult)> f;
    {
      std::lock_guard lk(mu);
      f = std::move(pending.front());
      pending.pop_front();
    }
    f(std::move(r));
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<RouteSend> sent;
  std::deque<std::function<void(RouteResult)>> pending;
};

class MessageServiceTest : public unit::MigratedDbTest {
 protected:
  void SetUp() override {
    unit::MigratedDbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    tenants_ = std::make_unique<accounts::TenantStore>(db(), clock_);
    accounts::TenantInput in;
    in.slug = "t";
    in.name = "T";
    auto t = tenants_->create(in, true);
    ASSERT_TRUE(t) << t.error().message;
    tenant_ = t->id;
    alice_ = {tenant_, "usr_alice"};
    bob_ = {tenant_, "usr_bob"};
    add_number("+12125550100", alice_.user_id);
    add_number("+12125550101", bob_.user_id);
    ledger_ = std::make_unique<billing::Ledger>(clock_, billing::LedgerOptions{});
    rates_ = std::make_unique<billing::RateStore>(db(), clock_);
    inv_ = std::make_unique<numbers::Inventory>(db(), clock_);
    MessagingOptions o;
    o.user_rate_per_minute = 0;
    o.retry_base_ms = 1;
    o.max_attempts = 3;
    o.allowed_countries = {"US", "GB"};
    svc_ = std::make_unique<MessageService>(db(), *inv_, *ledger_, *rates_, nullptr, *tenants_,
                                            clock_, o);
  }
  void TearDown() override {
    if (dispatcher_) dispatcher_->stop();
  }

  void add_number(const std::string& e164, const std::string& user,
                  const std::string& route = "smsc1") {
    auto st = exec(
        "INSERT INTO numbers (id, tenant_id, e164, provider, provider_ref, state, user_id, label, "
        "features, country, region, locality, monthly_micros, upfront_micros, trunk, "
        "messaging_route, created_at, updated_at) VALUES (?, ?, ?, 'local', '', 'active', ?, '', "
        "'sms;mms;voice', 'US', '', '', 0, 0, 'trunk1', ?, 0, 0)",
        {new_id("num"), tenant_, e164, user, route});
    ASSERT_TRUE(st) << st.error().message;
  }

  void price_messages() {
    auto r = rates_->import(tenant_, "deck",
                            "prefix,description,per_minute,increment,sms,mms\n"
                            "1,US,0.01,60/60,0.0075,0.02\n"
                            "44,UK,0.02,60/60,0.04,0.10\n");
    ASSERT_TRUE(r) << r.error().message;
  }

  void fund(const UserScope& u, std::int64_t micros) {
    auto st = db().transaction([&](storage::Connection& tx) -> Status {
      billing::Posting p;
      p.kind = billing::TxnKind::topup;
      p.tenant_id = u.tenant_id;
      p.user_id = u.user_id;
      p.amount_micros = micros;
      p.reference = "test";
      p.actor = "test";
      RH_TRY(ledger_->credit(tx, p));
      return {};
    });
    ASSERT_TRUE(st) << st.error().message;
  }

  billing::Balance balance(const UserScope& u) {
    auto b =
        db().read<billing::Balance>([&](storage::Connection& c) { return ledger_->balance(c, u); });
    EXPECT_TRUE(b);
    return b ? *b : billing::Balance{};
  }

  Result<SendOutcome> send(const UserScope& u, std::string from, std::vector<std::string> to,
                           std::string text, std::string key = "") {
    SendRequest r;
    r.from = std::move(from);
    r.to = std::move(to);
    r.text = std::move(text);
    r.idempotency_key = key.empty() ? new_id("k") : key;
    return svc_->send(u, r);
  }

  void start_dispatcher() {
    dispatcher_ = std::make_unique<Dispatcher>(*svc_, std::vector<RouteSender*>{&route_}, "n1");
    svc_->on_queued([d = dispatcher_.get()] { d->notify(); });
    dispatcher_->start();
  }

  // Waits until the message reaches a status (the dispatcher commits in
  // the background).
  Message wait_status(const UserScope& u, const std::string& id, const std::string& status) {
    Message m;
    for (int i = 0; i < 500; ++i) {
      auto r = svc_->get_message(u, id);
      EXPECT_TRUE(r);
      if (!r) break;
      m = *r;
      if (m.status == status) return m;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "message " << id << " stayed " << m.status << ", not " << status;
    return m;
  }

  std::int64_t events(const std::string& type) {
    return scalar("SELECT COUNT(*) AS n FROM events WHERE type = ?", {type});
  }

  std::unique_ptr<accounts::TenantStore> tenants_;
  std::unique_ptr<billing::Ledger> ledger_;
  std::unique_ptr<billing::RateStore> rates_;
  std::unique_ptr<numbers::Inventory> inv_;
  std::unique_ptr<MessageService> svc_;
  std::unique_ptr<Dispatcher> dispatcher_;
  ScriptedRoute route_;
  std::string tenant_;
  UserScope alice_, bob_;
};

TEST_P(MessageServiceTest, OnNetMessagesArriveAtOnceInBothThreads) {
  auto s = send(alice_, "+12125550100", {"(212) 555-0101"}, "hello Bob");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->message.status, "delivered");
  EXPECT_EQ(s->message.to, std::vector<std::string>{"+12125550101"});
  ASSERT_EQ(s->message.deliveries.size(), 1u);
  EXPECT_EQ(s->message.deliveries[0].route, "on-net");

  auto convs = svc_->conversations(bob_, {});
  ASSERT_TRUE(convs);
  ASSERT_EQ(convs->size(), 1u);
  EXPECT_EQ((*convs)[0].unread, 1);
  EXPECT_EQ((*convs)[0].participants, std::vector<std::string>{"+12125550100"});
  EXPECT_EQ((*convs)[0].last_preview, "hello Bob");
  MessageQuery q;
  q.conversation_id = (*convs)[0].id;
  auto msgs = svc_->messages(bob_, q);
  ASSERT_TRUE(msgs);
  ASSERT_EQ(msgs->size(), 1u);
  EXPECT_EQ((*msgs)[0].direction, "inbound");
  EXPECT_EQ((*msgs)[0].from, "+12125550100");
  EXPECT_EQ(events("message.received"), 1);
  EXPECT_EQ(events("message.status"), 1);
  // Each belongs to the user whose message it is: Bob's live feed shows what he received.
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM events WHERE type = 'message.received' AND "
                   "tenant_id = ? AND user_id = ?",
                   {bob_.tenant_id, bob_.user_id}),
            1);
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM events WHERE type = 'message.status' AND user_id = ?",
                   {alice_.user_id}),
            1);

  // Bob replies into the same thread; Alice's thread gets it.
  auto r = send(bob_, "+12125550101", {"+12125550100"}, "hi Alice");
  ASSERT_TRUE(r);
  auto ac = svc_->conversations(alice_, {});
  ASSERT_TRUE(ac);
  ASSERT_EQ(ac->size(), 1u);
  EXPECT_EQ((*ac)[0].unread, 1);
  auto read = svc_->mark_read(alice_, (*ac)[0].id, "");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->unread, 0);
  // Bob cannot see Alice's conversation.
  EXPECT_EQ(svc_->conversation(bob_, (*ac)[0].id).error().code, Errc::not_found);
}

TEST_P(MessageServiceTest, SendingIsValidated) {
  EXPECT_EQ(send(alice_, "+12125550101", {"+12125550100"}, "x").error().reason, "number_not_owned");
  EXPECT_EQ(send(alice_, "+12125550100", {"not a number"}, "x").error().field, "to[0]");
  EXPECT_EQ(send(alice_, "+12125550100", {"+12125550100"}, "x").error().field, "to[0]");
  EXPECT_EQ(send(alice_, "+12125550100", {"+12125550101"}, "").error().field, "text");
  EXPECT_EQ(send(alice_, "+12125550100", {"+12125550101"}, std::string(1601, 'a')).error().reason,
            "too_many_segments");
  EXPECT_EQ(send(alice_, "+12125550100", {"+33612345678"}, "bonjour").error().field, "to[0]");
  EXPECT_EQ(send(alice_, "+12125550100", {"+12125550101"}, "bad \xff utf-8").error().field, "text");
  SendRequest r;
  r.from = "+12125550100";
  r.to = {"+12125550101"};
  r.text = "no key";
  EXPECT_EQ(svc_->send(alice_, r).error().reason, "idempotency_key_required");
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM messages"), 0);
}

TEST_P(MessageServiceTest, TheDailyCapCountsSendsPerUserAndDay) {
  accounts::TenantInput in;
  in.max_messages_per_day = 2;
  ASSERT_TRUE(tenants_->update(tenant_, in));
  EXPECT_TRUE(send(alice_, "+12125550100", {"+12125550101"}, "one"));
  EXPECT_TRUE(send(alice_, "+12125550100", {"+12125550101"}, "two"));
  auto third = send(alice_, "+12125550100", {"+12125550101"}, "three");
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().reason, "daily_limit");
  EXPECT_TRUE(send(bob_, "+12125550101", {"+12125550100"}, "Bob has his own"));
  clock_.advance_ms(86'400'000);
  EXPECT_TRUE(send(alice_, "+12125550100", {"+12125550101"}, "a new day"));
}

TEST_P(MessageServiceTest, TheSameKeyGivesTheSameMessageOnce) {
  auto a = send(alice_, "+12125550100", {"+12125550101"}, "once", "key-1");
  ASSERT_TRUE(a);
  auto b = send(alice_, "+12125550100", {"+12125550101"}, "once", "key-1");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->replayed);
  EXPECT_EQ(a->message.id, b->message.id);
  EXPECT_EQ(send(alice_, "+12125550100", {"+12125550101"}, "other", "key-1").error().reason,
            "idempotency_key_reused");
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM messages WHERE direction = 'inbound'"), 1);
}

TEST_P(MessageServiceTest, OffNetIsHeldThenChargedOnceWhenTheRouteAccepts) {
  price_messages();
  fund(alice_, 1'000'000);
  start_dispatcher();
  // 161 GSM characters: two segments at 0.0075.
  auto s = send(alice_, "+12125550100", {"+12025550123"}, std::string(161, 'a'));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->message.segments, 2);
  EXPECT_EQ(s->message.cost_micros, 15'000);
  EXPECT_EQ(balance(alice_).held_micros, 15'000);
  ASSERT_TRUE(route_.wait_sent(1));
  EXPECT_EQ(route_.sent[0].to, "+12025550123");
  EXPECT_EQ(route_.sent[0].from, "+12125550100");
  route_.answer({RouteResult::Kind::accepted, {"c-1", "c-2"}, "", "", {}});
  wait_status(alice_, s->message.id, "sent");
  EXPECT_EQ(balance(alice_).held_micros, 0);
  EXPECT_EQ(balance(alice_).balance_micros, 985'000);

  // Receipts: one part delivered is not the message; both are.
  ASSERT_TRUE(svc_->apply_status("smsc1", "c-1", "delivered", "", ""));
  EXPECT_EQ(svc_->get_message(alice_, s->message.id)->status, "sent");
  ASSERT_TRUE(svc_->apply_status("smsc1", "c-2", "delivered", "", ""));
  EXPECT_EQ(svc_->get_message(alice_, s->message.id)->status, "delivered");
  // Late and repeated statuses change nothing.
  ASSERT_TRUE(svc_->apply_status("smsc1", "c-2", "failed", "x", ""));
  ASSERT_TRUE(svc_->apply_status("smsc1", "c-1", "sent", "", ""));
  EXPECT_EQ(svc_->get_message(alice_, s->message.id)->status, "delivered");
  EXPECT_EQ(events("message.status"), 2);  // sent, delivered
  EXPECT_EQ(balance(alice_).balance_micros, 985'000);
}

TEST_P(MessageServiceTest, AReceiptBeforeTheSubmitOutcomeIsAppliedWhenItIsRecorded) {
  start_dispatcher();
  auto s = send(alice_, "+12125550100", {"+12025550123"}, "early receipt");
  ASSERT_TRUE(s);
  ASSERT_TRUE(route_.wait_sent(1));
  ASSERT_TRUE(svc_->apply_status("smsc1", "early-1", "delivered", "", ""));
  route_.answer({RouteResult::Kind::accepted, {"early-1"}, "", "", {}});
  wait_status(alice_, s->message.id, "delivered");
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM message_status_pending"), 0);
}

TEST_P(MessageServiceTest, RetriesThenFailsAndReleasesTheHold) {
  price_messages();
  fund(alice_, 1'000'000);
  start_dispatcher();
  auto s = send(alice_, "+12125550100", {"+12025550123"}, "retry me");
  ASSERT_TRUE(s);
  for (std::size_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE(route_.wait_sent(i)) << i;
    route_.answer(
        {RouteResult::Kind::retry, {}, "smpp_0x14", "queue full", std::chrono::milliseconds(1000)});
    if (i == 3) break;
    // The retry is due once the (fake) clock passes its pause.
    for (int n = 0; n < 500; ++n) {
      if (scalar("SELECT COUNT(*) AS n FROM message_deliveries WHERE status = 'queued' AND "
                 "attempts = ?",
                 {static_cast<std::int64_t>(i)}) == 1)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    clock_.advance_ms(1000);
    dispatcher_->notify();
  }
  auto m = wait_status(alice_, s->message.id, "failed");
  EXPECT_EQ(m.error_code, "smpp_0x14");
  EXPECT_EQ(balance(alice_).held_micros, 0);
  EXPECT_EQ(balance(alice_).balance_micros, 1'000'000);
}

TEST_P(MessageServiceTest, APermanentRejectionFailsAtOnce) {
  start_dispatcher();
  auto s = send(alice_, "+12125550100", {"+12025550123"}, "bad destination");
  ASSERT_TRUE(s);
  ASSERT_TRUE(route_.wait_sent(1));
  route_.answer({RouteResult::Kind::permanent, {}, "smpp_0x0b", "invalid destination", {}});
  auto m = wait_status(alice_, s->message.id, "failed");
  EXPECT_EQ(m.error_code, "smpp_0x0b");
  EXPECT_EQ(m.error_detail, "invalid destination");
}

TEST_P(MessageServiceTest, WithoutFundsNothingIsStored) {
  price_messages();
  auto s = send(alice_, "+12125550100", {"+12025550123"}, "no money");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::payment_required);
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM messages"), 0);
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM conversations"), 0);
  // A destination the deck does not price cannot be sent to.
  fund(alice_, 1'000'000);
  auto ok = svc_->set_allowed_countries(tenant_, {"US", "FR"});
  ASSERT_TRUE(ok);
  EXPECT_EQ(send(alice_, "+12125550100", {"+33612345678"}, "x").error().reason, "no_rate");
}

TEST_P(MessageServiceTest, StopStartAndHelpAreAnsweredFromTheNumber) {
  auto in = svc_->receive({"smsc1", "+12025550123", {"+12125550100"}, "STOP", {}, "ev-1"});
  ASSERT_TRUE(in) << in.error().message;
  EXPECT_EQ(in->direction, "inbound");
  // The answer is queued to the sender, and the number cannot text them now.
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM message_deliveries WHERE recipient = "
                   "'+12025550123' AND status = 'queued'"),
            1);
  EXPECT_EQ(send(alice_, "+12125550100", {"+12025550123"}, "still there?").error().reason,
            "recipient_opted_out");
  // The same carrier event again is a duplicate.
  EXPECT_EQ(
      svc_->receive({"smsc1", "+12025550123", {"+12125550100"}, "STOP", {}, "ev-1"}).error().reason,
      "duplicate");
  ASSERT_TRUE(svc_->receive({"smsc1", "+12025550123", {"+12125550100"}, "start", {}, "ev-2"}));
  EXPECT_TRUE(send(alice_, "+12125550100", {"+12025550123"}, "welcome back"));
  ASSERT_TRUE(svc_->receive({"smsc1", "+12025550123", {"+12125550100"}, "HELP", {}, "ev-3"}));
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM messages WHERE direction = 'outbound' AND body LIKE "
                   "'T: Reply STOP%'"),
            1);
  // Unknown numbers are refused.
  EXPECT_EQ(svc_->receive({"smsc1", "+12025550123", {"+12125550199"}, "hi", {}, ""}).error().code,
            Errc::not_found);
}

TEST_P(MessageServiceTest, AGroupMessageIsOneThreadForEveryone) {
  add_number("+12125550102", "usr_carol");
  auto s =
      send(alice_, "+12125550100", {"+12125550101", "+12125550102", "+12025550123"}, "group hello");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->message.kind, "mms");
  EXPECT_EQ(s->message.deliveries.size(), 3u);
  EXPECT_EQ(s->message.status, "queued");  // two on-net delivered, one queued
  auto bc = svc_->conversations(bob_, {});
  ASSERT_TRUE(bc);
  ASSERT_EQ(bc->size(), 1u);
  EXPECT_TRUE((*bc)[0].group);
  EXPECT_EQ((*bc)[0].participants,
            (std::vector<std::string>{"+12025550123", "+12125550100", "+12125550102"}));
}

TEST_P(MessageServiceTest, AnotherBootTakesOverWhatWasInFlight) {
  auto s = send(alice_, "+12125550100", {"+12025550123"}, "in flight");
  ASSERT_TRUE(s);
  auto c = svc_->claim("n1:boot-a", {{"smsc1", 10}}, 0);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->size(), 1u);
  // Nothing more to claim while the lease runs.
  EXPECT_TRUE(svc_->claim("n1:boot-a", {{"smsc1", 10}}, 0)->empty());
  // A new boot of the same node takes it back at once; another node would not.
  EXPECT_EQ(*svc_->reclaim("n2:", "n2:boot-c"), 0);
  EXPECT_EQ(*svc_->reclaim("n1:", "n1:boot-b"), 1);
  auto again = svc_->claim("n1:boot-b", {{"smsc1", 10}}, 0);
  ASSERT_TRUE(again);
  ASSERT_EQ(again->size(), 1u);
  // The old boot's late outcome is ignored.
  auto st = db().transaction([&](storage::Connection& tx) -> Status {
    return svc_->record_outcome(tx, (*c)[0].delivery_id, "n1:boot-a", "smsc1",
                                {RouteResult::Kind::accepted, {"old"}, "", "", {}});
  });
  ASSERT_TRUE(st);
  EXPECT_EQ(svc_->get_message(alice_, s->message.id)->status, "sending");
}

TEST_P(MessageServiceTest, ARouteThatIsDownDoesNotUseUpAttempts) {
  auto s = send(alice_, "+12125550100", {"+12025550123"}, "while the bind is down");
  ASSERT_TRUE(s);
  for (int i = 0; i < 10; ++i) {  // max_attempts is 3
    auto c = svc_->claim("n1:a", {{"smsc1", 1}}, 0);
    ASSERT_TRUE(c);
    ASSERT_EQ(c->size(), 1u) << i;
    auto st = db().transaction([&](storage::Connection& tx) -> Status {
      return svc_->record_outcome(
          tx, (*c)[0].delivery_id, "n1:a", "smsc1",
          {RouteResult::Kind::retry, {}, "no_bind", "no bind is up", std::chrono::milliseconds(1)});
    });
    ASSERT_TRUE(st);
    clock_.advance_ms(10);
  }
  EXPECT_EQ(svc_->get_message(alice_, s->message.id)->status, "queued");
  EXPECT_EQ(scalar("SELECT attempts AS n FROM message_deliveries"), 0);
  // Past max_age it fails all the same.
  clock_.advance_ms(svc_->options().max_age_ms + 1);
  auto c = svc_->claim("n1:a", {{"smsc1", 1}}, 0);
  ASSERT_EQ(c->size(), 1u);
  ASSERT_TRUE(db().transaction([&](storage::Connection& tx) -> Status {
    return svc_->record_outcome(tx, (*c)[0].delivery_id, "n1:a", "smsc1",
                                {RouteResult::Kind::retry, {}, "no_bind", "no bind is up", {}});
  }));
  EXPECT_EQ(svc_->get_message(alice_, s->message.id)->status, "failed");
}

TEST_P(MessageServiceTest, ABackloggedRouteDoesNotHideAnotherRoutesMessages) {
  add_number("+12125550109", alice_.user_id, "carrier2");
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(send(alice_, "+12125550100", {"+12025550123"}, "via smsc1 " + std::to_string(i)));
    clock_.advance_ms(1);
  }
  ASSERT_TRUE(send(alice_, "+12125550109", {"+12025550123"}, "via carrier2"));
  // smsc1 is full: carrier2's message still goes.
  auto c = svc_->claim("n1:a", {{"smsc1", 0}, {"carrier2", 4}}, 0);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].route, "carrier2");
  EXPECT_EQ((*c)[0].text, "via carrier2");
  // Two of smsc1's, oldest first; nothing for routes no sender knows.
  auto d = svc_->claim("n1:a", {{"smsc1", 2}}, 0);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ((*d)[0].text, "via smsc1 0");
  EXPECT_EQ((*d)[1].text, "via smsc1 1");
}

RH_ON_BOTH_DRIVERS(MessageServiceTest);

}  // namespace
}  // namespace rh::messaging
