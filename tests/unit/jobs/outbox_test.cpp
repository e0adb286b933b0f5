#include "jobs/outbox.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/metrics.hpp"
#include "unit/unit_db.hpp"

namespace rh::jobs {
namespace {

// Records what it is given; fails while `failing` is set.
class RecordingConsumer final : public EventConsumer {
 public:
  explicit RecordingConsumer(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  Status deliver(const Event& e) override {
    seen.push_back(e);
    if (failing) return Error(Errc::unavailable, "push gateway down");
    return {};
  }
  std::vector<Event> seen;
  bool failing = false;

 private:
  std::string name_;
};

class Outbox : public unit::MigratedDbTest {
 protected:
  void SetUp() override {
    unit::MigratedDbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    DispatcherOptions o;
    o.retry_base_ms = 1000;
    o.retry_max_ms = 60'000;
    dispatcher_ = std::make_unique<EventDispatcher>(db(), clock_, metrics_, o);
  }

  std::string append(const NewEvent& e) {
    auto id = db().in_transaction<std::string>(
        [&](storage::Connection& c) { return append_event(c, e, clock_.now_ms()); });
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id ? *id : "";
  }

  std::vector<Event> all_events() {
    auto r = list_events(db(), EventFilter{});
    EXPECT_TRUE(r.ok());
    return r ? *r : std::vector<Event>{};
  }

  int run_once() {
    auto r = dispatcher_->run_once();
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r ? *r : -1;
  }

  bool metrics_have(const std::string& line) {
    return ("\n" + metrics_.render()).find("\n" + line + "\n") != std::string::npos;
  }

  metrics::Registry metrics_;
  std::unique_ptr<EventDispatcher> dispatcher_;
};

TEST_P(Outbox, AppendedEventIsListed) {
  std::string id = append({"tenant.updated", "ten_1", "ten_1", R"({"slug":"a"})"});
  EXPECT_EQ(id.rfind("evt_", 0), 0u) << id;
  auto ev = all_events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].id, id);
  EXPECT_EQ(ev[0].type, "tenant.updated");
  EXPECT_EQ(ev[0].tenant_id, "ten_1");
  EXPECT_EQ(ev[0].subject, "ten_1");
  EXPECT_EQ(ev[0].payload, R"({"slug":"a"})");
  EXPECT_EQ(ev[0].created_at, clock_.now_ms());
  EXPECT_FALSE(ev[0].dispatched_at.has_value());
  EXPECT_EQ(ev[0].attempts, 0);

  // Platform-wide events have no tenant or subject; an empty payload is {}.
  append({"platform.started", "", "", ""});
  auto both = all_events();
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[1].tenant_id, "");
  EXPECT_EQ(both[1].payload, "{}");
  EXPECT_GT(both[1].seq, both[0].seq);
}

TEST_P(Outbox, EventRollsBackWithItsTransaction) {
  Status st = db().transaction([&](storage::Connection& c) -> Status {
    RH_TRY(append_event(c, {"tenant.updated", "ten_1", "ten_1", "{}"}, clock_.now_ms()));
    return Error(Errc::conflict, "the change failed");
  });
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(all_events().empty());

  EXPECT_THROW((void)db().transaction([&](storage::Connection& c) -> Status {
    RH_TRY(append_event(c, {"tenant.updated", "ten_1", "ten_1", "{}"}, clock_.now_ms()));
    throw std::runtime_error("bug");
  }),
               std::runtime_error);
  EXPECT_TRUE(all_events().empty());

  st = db().transaction([&](storage::Connection& c) -> Status {
    RH_TRY(append_event(c, {"tenant.updated", "ten_1", "ten_1", "{}"}, clock_.now_ms()));
    return {};
  });
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(all_events().size(), 1u);
}

TEST_P(Outbox, ListFilters) {
  append({"a.one", "ten_1", "", "{}"});
  append({"b.two", "ten_2", "", "{}"});
  append({"a.one", "ten_2", "", "{}"});
  EventFilter by_type;
  by_type.type = "a.one";
  EXPECT_EQ(list_events(db(), by_type)->size(), 2u);
  EventFilter by_tenant;
  by_tenant.tenant_id = "ten_2";
  EXPECT_EQ(list_events(db(), by_tenant)->size(), 2u);
  EventFilter both;
  both.type = "a.one";
  both.tenant_id = "ten_2";
  EXPECT_EQ(list_events(db(), both)->size(), 1u);
  EventFilter page;
  page.limit = 2;
  auto p1 = list_events(db(), page);
  ASSERT_EQ(p1->size(), 2u);
  page.after_seq = p1->back().seq;
  auto p2 = list_events(db(), page);
  ASSERT_EQ(p2->size(), 1u);
  EXPECT_EQ(p2->front().type, "a.one");
  EXPECT_EQ(p2->front().tenant_id, "ten_2");
}

TEST_P(Outbox, DispatcherDeliversToEveryConsumerOnce) {
  auto stream = std::make_shared<RecordingConsumer>("stream");
  auto push = std::make_shared<RecordingConsumer>("push");
  dispatcher_->add_consumer(stream);
  dispatcher_->add_consumer(push);
  std::string a = append({"message.received", "ten_1", "msg_1", R"({"x":1})"});
  std::string b = append({"message.received", "ten_1", "msg_2", "{}"});

  EXPECT_EQ(run_once(), 2);
  for (const auto* c : {stream.get(), push.get()}) {
    ASSERT_EQ(c->seen.size(), 2u) << c->name();
    EXPECT_EQ(c->seen[0].id, a);  // in order
    EXPECT_EQ(c->seen[0].subject, "msg_1");
    EXPECT_EQ(c->seen[0].payload, R"({"x":1})");
    EXPECT_EQ(c->seen[1].id, b);
  }
  for (const Event& e : all_events()) {
    EXPECT_EQ(e.dispatched_at, clock_.now_ms());
    EXPECT_EQ(e.attempts, 1);
  }
  EXPECT_EQ(run_once(), 0);
  clock_.advance_ms(3'600'000);
  EXPECT_EQ(run_once(), 0);
  EXPECT_EQ(stream->seen.size(), 2u);
  EXPECT_TRUE(metrics_have("ringhouse_events_delivered_total 2"));
  EXPECT_TRUE(metrics_have("ringhouse_events_pending 0"));
}

TEST_P(Outbox, FailedDeliveryIsRetriedAfterItsBackOff) {
  auto ok = std::make_shared<RecordingConsumer>("stream");
  auto push = std::make_shared<RecordingConsumer>("push");
  push->failing = true;
  dispatcher_->add_consumer(ok);
  dispatcher_->add_consumer(push);
  std::string id = append({"message.received", "ten_1", "msg_1", "{}"});
  const std::int64_t t0 = clock_.now_ms();

  EXPECT_EQ(run_once(), 0);
  auto ev = all_events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_FALSE(ev[0].dispatched_at.has_value());
  EXPECT_EQ(ev[0].attempts, 1);
  EXPECT_NE(ev[0].last_error.find("push"), std::string::npos) << ev[0].last_error;
  EXPECT_NE(ev[0].last_error.find("push gateway down"), std::string::npos) << ev[0].last_error;
  EXPECT_TRUE(metrics_have("ringhouse_events_delivery_failures_total 1"));
  EXPECT_TRUE(metrics_have("ringhouse_events_pending 1"));

  // Not retried before next_attempt_at (t0 + retry_base_ms).
  clock_.set_ms(t0 + 999);
  EXPECT_EQ(run_once(), 0);
  EXPECT_EQ(push->seen.size(), 1u);

  // Fails again at t0 + 1000: the next wait doubles.
  clock_.set_ms(t0 + 1000);
  EXPECT_EQ(run_once(), 0);
  EXPECT_EQ(push->seen.size(), 2u);
  EXPECT_EQ(all_events()[0].attempts, 2);
  clock_.set_ms(t0 + 1000 + 1999);
  EXPECT_EQ(run_once(), 0);
  EXPECT_EQ(push->seen.size(), 2u);

  push->failing = false;
  clock_.set_ms(t0 + 1000 + 2000);
  EXPECT_EQ(run_once(), 1);
  ev = all_events();
  EXPECT_EQ(ev[0].dispatched_at, clock_.now_ms());
  EXPECT_EQ(ev[0].attempts, 3);
  // At least once: the consumer that succeeded the first time sees it again
  // with the same id, to de-duplicate.
  ASSERT_EQ(ok->seen.size(), 3u);
  EXPECT_EQ(ok->seen[0].id, id);
  EXPECT_EQ(ok->seen[2].id, id);
  EXPECT_EQ(push->seen.size(), 3u);
}

TEST_P(Outbox, OneFailingEventDoesNotHoldBackTheOthers) {
  class Picky final : public EventConsumer {
   public:
    std::string name() const override { return "picky"; }
    Status deliver(const Event& e) override {
      if (e.type == "bad.one") return Error(Errc::internal, "cannot");
      ++delivered;
      return {};
    }
    int delivered = 0;
  };
  auto picky = std::make_shared<Picky>();
  dispatcher_->add_consumer(picky);
  append({"bad.one", "", "", "{}"});
  append({"good.one", "", "", "{}"});
  append({"good.two", "", "", "{}"});
  EXPECT_EQ(run_once(), 2);
  EXPECT_EQ(picky->delivered, 2);
  auto ev = all_events();
  EXPECT_FALSE(ev[0].dispatched_at.has_value());
  EXPECT_TRUE(ev[1].dispatched_at.has_value());
  EXPECT_TRUE(ev[2].dispatched_at.has_value());
}

TEST_P(Outbox, BatchSizeLimitsOnePass) {
  DispatcherOptions o;
  o.batch = 2;
  EventDispatcher small(db(), clock_, metrics_, o);
  for (int i = 0; i < 3; ++i) append({"e.x", "", "", "{}"});
  auto first = small.run_once();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 2);
  auto second = small.run_once();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, 1);
}

TEST_P(Outbox, AUsersEventsAreTheirsAloneInSeqOrder) {
  auto empty = last_event_seq(db());
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, 0);
  const UserScope alice{"ten_1", "usr_a"};
  append({"message.received", "ten_1", "msg_1", R"({"n":1})", "usr_a"});
  append({"message.received", "ten_1", "msg_2", R"({"n":2})", "usr_b"});
  append({"call.incoming", "ten_2", "cal_1", "{}", "usr_a"});  // the same id in another tenant
  append({"tenant.updated", "ten_1", "ten_1", "{}"});          // nobody's
  append({"call.missed", "ten_1", "cal_2", R"({"n":3})", "usr_a"});

  auto mine = list_user_events(db(), alice, {});
  ASSERT_TRUE(mine.ok()) << mine.error().message;
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].type, "message.received");
  EXPECT_EQ((*mine)[0].payload, R"({"n":1})");
  EXPECT_EQ((*mine)[0].user_id, "usr_a");
  EXPECT_EQ((*mine)[1].type, "call.missed");
  EXPECT_LT((*mine)[0].seq, (*mine)[1].seq);

  // After a seq: only what came later.
  UserEventQuery after;
  after.after_seq = (*mine)[0].seq;
  auto later = list_user_events(db(), alice, after);
  ASSERT_TRUE(later.ok());
  ASSERT_EQ(later->size(), 1u);
  EXPECT_EQ((*later)[0].subject, "cal_2");
  after.after_seq = (*mine)[1].seq;
  EXPECT_TRUE(list_user_events(db(), alice, after)->empty());

  // By type, and a page at a time.
  UserEventQuery calls;
  calls.types = {"call.missed", "call.ended"};
  auto only = list_user_events(db(), alice, calls);
  ASSERT_EQ(only->size(), 1u);
  EXPECT_EQ((*only)[0].type, "call.missed");
  UserEventQuery one;
  one.limit = 1;
  EXPECT_EQ(list_user_events(db(), alice, one)->size(), 1u);

  // The end is the newest event of anyone.
  auto end = last_event_seq(db());
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, all_events().back().seq);
  EXPECT_EQ(all_events().at(1).user_id, "usr_b");
  EXPECT_EQ(all_events().at(3).user_id, "");
}

RH_ON_BOTH_DRIVERS(Outbox);

TEST(EventCursor, RoundTripsAndRefusesAnythingElse) {
  for (std::int64_t seq : {std::int64_t{0}, std::int64_t{1}, std::int64_t{1542},
                           std::numeric_limits<std::int64_t>::max()}) {
    auto back = parse_event_cursor(event_cursor(seq));
    ASSERT_TRUE(back.has_value()) << event_cursor(seq);
    EXPECT_EQ(*back, seq);
  }
  for (const char* bad : {"", "ev", "12", "ev-1", "ev1x", "ev 1", "EV1", "e1", "ev+1",
                          "ev99999999999999999999", "evt_01jd8x"})
    EXPECT_FALSE(parse_event_cursor(bad).has_value()) << bad;
}

}  // namespace
}  // namespace rh::jobs
