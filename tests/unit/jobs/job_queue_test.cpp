#include "jobs/job_queue.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jobs/builtin_jobs.hpp"
#include "jobs/outbox.hpp"
#include "unit/unit_db.hpp"

namespace rh::jobs {
namespace {

constexpr std::int64_t kLeaseMs = 10'000;

QueueOptions small_options() {
  QueueOptions o;
  o.default_max_attempts = 3;
  o.retry_base_ms = 100;
  o.retry_max_ms = 1000;
  o.lease_ms = kLeaseMs;
  return o;
}

class JobQueueTest : public unit::MigratedDbTest {
 protected:
  void SetUp() override {
    unit::MigratedDbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    queue_ = std::make_unique<JobQueue>(db(), clock_, small_options());
  }

  JobQueue& queue() { return *queue_; }

  std::string enqueue(JobSpec spec) {
    auto id = queue().enqueue(spec);
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id ? *id : "";
  }
  std::string enqueue(const std::string& kind, int max_attempts = 0) {
    JobSpec s;
    s.kind = kind;
    s.max_attempts = max_attempts;
    return enqueue(s);
  }

  std::vector<Job> claim(const std::string& owner, std::vector<std::string> kinds = {"test.work"},
                         int n = 10) {
    auto r = queue().claim(owner, kinds, n);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r ? *r : std::vector<Job>{};
  }

  // Claims exactly one job (the test's only due one).
  Job claim_one(const std::string& owner) {
    auto jobs = claim(owner);
    EXPECT_EQ(jobs.size(), 1u);
    return jobs.empty() ? Job{} : jobs.front();
  }

  Job get(const std::string& id) {
    auto j = queue().get(id);
    EXPECT_TRUE(j.ok()) << id << ": " << j.error().message;
    return j ? *j : Job{};
  }

  std::vector<Event> events(const std::string& type) {
    EventFilter f;
    f.type = type;
    auto r = list_events(db(), f);
    EXPECT_TRUE(r.ok());
    return r ? *r : std::vector<Event>{};
  }

  std::unique_ptr<JobQueue> queue_;
};

TEST_P(JobQueueTest, EnqueueClaimComplete) {
  JobSpec spec;
  spec.kind = "test.work";
  spec.payload = R"({"n":1})";
  spec.tenant_id = "ten_1";
  std::string id = enqueue(spec);
  EXPECT_TRUE(id.rfind("job_", 0) == 0) << id;

  Job queued = get(id);
  EXPECT_EQ(queued.state, "queued");
  EXPECT_EQ(queued.kind, "test.work");
  EXPECT_EQ(queued.payload, R"({"n":1})");
  EXPECT_EQ(queued.tenant_id, "ten_1");
  EXPECT_EQ(queued.attempts, 0);
  EXPECT_EQ(queued.max_attempts, 3);  // the queue's default
  EXPECT_EQ(queued.run_at, clock_.now_ms());
  EXPECT_EQ(queued.created_at, clock_.now_ms());

  Job running = claim_one("node-a/0");
  EXPECT_EQ(running.id, id);
  EXPECT_EQ(running.state, "running");
  EXPECT_EQ(running.attempts, 1);
  EXPECT_EQ(running.lease_owner, "node-a/0");
  EXPECT_EQ(running.lease_until, clock_.now_ms() + kLeaseMs);
  Job stored = get(id);
  EXPECT_EQ(stored.state, "running");
  EXPECT_EQ(stored.lease_owner, "node-a/0");

  // Leased: nobody else gets it.
  EXPECT_TRUE(claim("node-b/0").empty());

  clock_.advance_ms(5);
  ASSERT_TRUE(queue().complete(running).ok());
  Job done = get(id);
  EXPECT_EQ(done.state, "done");
  EXPECT_EQ(done.finished_at, clock_.now_ms());
  EXPECT_EQ(done.lease_owner, "");
  EXPECT_FALSE(done.lease_until.has_value());
  EXPECT_TRUE(claim("node-b/0").empty());

  auto counts = queue().counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ((*counts)["done"], 1);
  EXPECT_EQ((*counts)["queued"], 0);
}

TEST_P(JobQueueTest, EmptyPayloadBecomesAnEmptyObject) {
  JobSpec s;
  s.kind = "test.work";
  s.payload = "";
  EXPECT_EQ(get(enqueue(s)).payload, "{}");
}

TEST_P(JobQueueTest, BadKindIsRefused) {
  JobSpec s;
  auto r = queue().enqueue(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  s.kind = std::string(101, 'k');
  r = queue().enqueue(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
}

TEST_P(JobQueueTest, ClaimsOnlyTheRequestedKindsInPriorityOrder) {
  std::string other = enqueue("test.other");
  JobSpec low;
  low.kind = "test.work";
  low.priority = -5;
  std::string low_id = enqueue(low);
  clock_.advance_ms(1);
  JobSpec high;
  high.kind = "test.work";
  high.priority = 10;
  std::string high_id = enqueue(high);
  std::string normal_id = enqueue("test.work");

  auto first = claim("w", {"test.work"}, 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].id, high_id);
  EXPECT_EQ(first[1].id, normal_id);
  auto rest = claim("w", {"test.work"}, 10);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].id, low_id);
  EXPECT_EQ(get(other).state, "queued");

  EXPECT_TRUE(claim("w", {}, 10).empty());
  EXPECT_TRUE(claim("w", {"test.other"}, 0).empty());
}

TEST_P(JobQueueTest, FailedJobWaitsForItsBackOffThenSucceeds) {
  std::string id = enqueue("test.work", 5);

  Job a1 = claim_one("w");
  ASSERT_TRUE(queue().fail(a1, "boom 1").ok());
  Job after1 = get(id);
  EXPECT_EQ(after1.state, "queued");
  EXPECT_EQ(after1.attempts, 1);
  EXPECT_EQ(after1.last_error, "boom 1");
  EXPECT_EQ(after1.lease_owner, "");
  // First retry: between half and all of retry_base_ms from now.
  EXPECT_GE(after1.run_at, clock_.now_ms() + 50);
  EXPECT_LE(after1.run_at, clock_.now_ms() + 100);
  EXPECT_TRUE(claim("w").empty());  // not yet due

  clock_.set_ms(after1.run_at);
  Job a2 = claim_one("w");
  EXPECT_EQ(a2.attempts, 2);
  ASSERT_TRUE(queue().fail(a2, "boom 2").ok());
  Job after2 = get(id);
  EXPECT_GE(after2.run_at, clock_.now_ms() + 100);  // the ceiling doubled
  EXPECT_LE(after2.run_at, clock_.now_ms() + 200);
  clock_.set_ms(after2.run_at - 1);
  EXPECT_TRUE(claim("w").empty());

  clock_.advance_ms(1);
  Job a3 = claim_one("w");
  EXPECT_EQ(a3.attempts, 3);
  ASSERT_TRUE(queue().complete(a3).ok());
  Job done = get(id);
  EXPECT_EQ(done.state, "done");
  EXPECT_EQ(done.attempts, 3);
  EXPECT_EQ(done.last_error, "");
  EXPECT_TRUE(events("job.dead").empty());
}

TEST_P(JobQueueTest, DeadLettersAfterMaxAttempts) {
  JobSpec s;
  s.kind = "test.work";
  s.max_attempts = 2;
  s.tenant_id = "ten_x";
  std::string id = enqueue(s);

  ASSERT_TRUE(queue().fail(claim_one("w"), "first").ok());
  clock_.advance_ms(1000);
  ASSERT_TRUE(queue().fail(claim_one("w"), "second").ok());

  Job dead = get(id);
  EXPECT_EQ(dead.state, "dead");
  EXPECT_EQ(dead.attempts, 2);
  EXPECT_EQ(dead.last_error, "second");
  EXPECT_EQ(dead.finished_at, clock_.now_ms());
  clock_.advance_ms(100'000);
  EXPECT_TRUE(claim("w").empty());

  auto ev = events("job.dead");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].subject, id);
  EXPECT_EQ(ev[0].tenant_id, "ten_x");
  EXPECT_NE(ev[0].payload.find(id), std::string::npos) << ev[0].payload;
  EXPECT_NE(ev[0].payload.find("test.work"), std::string::npos) << ev[0].payload;
}

TEST_P(JobQueueTest, PermanentFailureDeadLettersAtOnce) {
  std::string id = enqueue("test.work", 5);
  ASSERT_TRUE(queue().fail(claim_one("w"), "bad payload", true).ok());
  Job dead = get(id);
  EXPECT_EQ(dead.state, "dead");
  EXPECT_EQ(dead.attempts, 1);
  EXPECT_EQ(events("job.dead").size(), 1u);
}

TEST_P(JobQueueTest, LongErrorsAreTruncated) {
  std::string id = enqueue("test.work", 5);
  ASSERT_TRUE(queue().fail(claim_one("w"), std::string(5000, 'e')).ok());
  EXPECT_EQ(get(id).last_error.size(), 2000u);
}

TEST_P(JobQueueTest, ScheduledJobIsNotClaimableBeforeItsTime) {
  JobSpec s;
  s.kind = "test.work";
  s.run_at_ms = clock_.now_ms() + 5000;
  std::string id = enqueue(s);
  EXPECT_EQ(get(id).run_at, clock_.now_ms() + 5000);
  EXPECT_TRUE(claim("w").empty());
  clock_.advance_ms(4999);
  EXPECT_TRUE(claim("w").empty());
  clock_.advance_ms(1);
  EXPECT_EQ(claim_one("w").id, id);
}

TEST_P(JobQueueTest, UniqueKeyDedupes) {
  JobSpec s;
  s.kind = "test.work";
  s.unique_key = "welcome-email:usr_1";
  std::string a = enqueue(s);
  s.payload = R"({"different":true})";
  std::string b = enqueue(s);
  EXPECT_EQ(a, b);
  EXPECT_EQ(get(a).payload, "{}");  // the first enqueue's job, untouched
  auto all = queue().list(JobFilter{});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);

  JobSpec other;
  other.kind = "test.work";
  other.unique_key = "welcome-email:usr_2";
  EXPECT_NE(enqueue(other), a);
}

TEST_P(JobQueueTest, EnqueueInsideTheCallersTransactionRollsBackWithIt) {
  auto r = db().in_transaction<std::string>([&](storage::Connection& c) -> Result<std::string> {
    JobSpec s;
    s.kind = "test.work";
    RH_ASSIGN(std::string id, queue().enqueue(c, s));
    (void)id;
    return Error(Errc::conflict, "the change that caused it failed");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(claim("w").empty());
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM jobs"), 0);
}

TEST_P(JobQueueTest, RecurringScheduleEnqueuesOncePerDueTime) {
  ASSERT_TRUE(queue().upsert_schedule("nightly", "test.work", R"({"s":1})", 60).ok());
  auto sched = queue().schedules();
  ASSERT_TRUE(sched.ok());
  ASSERT_EQ(sched->size(), 1u);
  EXPECT_EQ((*sched)[0].next_run_at, clock_.now_ms());  // first run is due now
  const std::int64_t t0 = clock_.now_ms();

  auto n = queue().enqueue_due_schedules();
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(queue().schedules()->front().next_run_at, t0 + 60'000);
  // Same time again: nothing more.
  EXPECT_EQ(*queue().enqueue_due_schedules(), 0);

  auto jobs = queue().list(JobFilter{});
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].kind, "test.work");
  EXPECT_EQ((*jobs)[0].payload, R"({"s":1})");
  EXPECT_EQ((*jobs)[0].unique_key, "schedule:nightly:" + std::to_string(t0));

  clock_.advance_ms(59'999);
  EXPECT_EQ(*queue().enqueue_due_schedules(), 0);
  clock_.advance_ms(1);
  EXPECT_EQ(*queue().enqueue_due_schedules(), 1);
  EXPECT_EQ(queue().schedules()->front().next_run_at, t0 + 120'000);
  EXPECT_EQ(queue().list(JobFilter{})->size(), 2u);
}

TEST_P(JobQueueTest, MissedRunsAreNotReplayed) {
  ASSERT_TRUE(queue().upsert_schedule("s", "test.work", "{}", 60).ok());
  ASSERT_EQ(*queue().enqueue_due_schedules(), 1);
  clock_.advance_ms(10 * 60'000 + 5);  // ten intervals later
  EXPECT_EQ(*queue().enqueue_due_schedules(), 1);
  EXPECT_EQ(queue().schedules()->front().next_run_at, clock_.now_ms() + 60'000);
  EXPECT_EQ(*queue().enqueue_due_schedules(), 0);
  EXPECT_EQ(queue().list(JobFilter{})->size(), 2u);
}

TEST_P(JobQueueTest, UpsertScheduleUpdatesInPlace) {
  ASSERT_TRUE(queue().upsert_schedule("s", "test.work", "{}", 60).ok());
  ASSERT_EQ(*queue().enqueue_due_schedules(), 1);
  ASSERT_TRUE(queue().upsert_schedule("s", "test.other", R"({"v":2})", 300).ok());
  auto sched = queue().schedules();
  ASSERT_TRUE(sched.ok());
  ASSERT_EQ(sched->size(), 1u);
  EXPECT_EQ((*sched)[0].kind, "test.other");
  EXPECT_EQ((*sched)[0].payload, R"({"v":2})");
  EXPECT_EQ((*sched)[0].interval_s, 300);
  EXPECT_EQ((*sched)[0].next_run_at, clock_.now_ms() + 60'000);  // the due time is kept

  Status bad = queue().upsert_schedule("s", "test.work", "{}", 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
}

TEST_P(JobQueueTest, ExpiredLeaseMovesTheJobToAnotherWorker) {
  std::string id = enqueue("test.work", 5);
  Job by_a = claim_one("node-a/0");

  clock_.advance_ms(kLeaseMs);
  EXPECT_TRUE(claim("node-b/0").empty());  // the lease ends after lease_until, not at it
  clock_.advance_ms(1);
  Job by_b = claim_one("node-b/0");
  EXPECT_EQ(by_b.id, id);
  EXPECT_EQ(by_b.attempts, 2);
  EXPECT_EQ(by_b.lease_owner, "node-b/0");

  // A comes back and tries to finish: refused, and its effect is rolled back.
  auto record = [&](const Job& j) {
    return [id, attempt = j.attempts, now = clock_.now_ms()](storage::Connection& c) -> Status {
      RH_TRY(c.exec(
          "INSERT INTO diag_probe_runs (job_id, note, attempt, created_at) VALUES (?, ?, ?, ?)",
          {id, "effect", std::int64_t{attempt}, now}));
      return {};
    };
  };
  Status late = queue().complete(by_a, record(by_a));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, Errc::conflict);
  auto runs = probe_runs(db(), id);
  ASSERT_TRUE(runs.ok());
  EXPECT_TRUE(runs->empty());
  Status late_fail = queue().fail(by_a, "A gave up");
  ASSERT_FALSE(late_fail.ok());
  EXPECT_EQ(late_fail.error().code, Errc::conflict);
  EXPECT_EQ(get(id).state, "running");
  EXPECT_EQ(get(id).lease_owner, "node-b/0");

  ASSERT_TRUE(queue().complete(by_b, record(by_b)).ok());
  runs = probe_runs(db(), id);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].attempt, 2);
  EXPECT_EQ(get(id).state, "done");
}

TEST_P(JobQueueTest, ExtendedLeaseKeepsALongJobWithItsWorker) {
  std::string id = enqueue("test.work", 5);
  Job by_a = claim_one("node-a/0");
  clock_.advance_ms(kLeaseMs - 1000);
  // The heartbeat of another owner moves nothing; A's own moves its lease on.
  auto other = queue().extend_leases({{id, "node-b/0"}});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other, 0);
  auto mine = queue().extend_leases({{id, "node-a/0"}});
  ASSERT_TRUE(mine.ok()) << mine.error().message;
  EXPECT_EQ(*mine, 1);
  ASSERT_TRUE(get(id).lease_until.has_value());
  EXPECT_EQ(*get(id).lease_until, clock_.now_ms() + kLeaseMs);
  // Past the first lease, nobody else can take it.
  clock_.advance_ms(kLeaseMs - 1);
  EXPECT_TRUE(claim("node-b/0").empty());
  ASSERT_TRUE(queue().complete(by_a).ok());
  EXPECT_EQ(get(id).state, "done");
  EXPECT_EQ(get(id).attempts, 1);
  // A finished job's lease is not extended.
  auto after = queue().extend_leases({{id, "node-a/0"}});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, 0);
}

TEST_P(JobQueueTest, FailingEffectKeepsTheJobRunning) {
  std::string id = enqueue("test.work");
  Job j = claim_one("w");
  Status st = queue().complete(j, [](storage::Connection&) -> Status {
    return Error(Errc::unavailable, "downstream is down");
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::unavailable);
  EXPECT_EQ(get(id).state, "running");  // not marked done without its effect
}

TEST_P(JobQueueTest, LeaseExpiringOnTheLastAttemptDeadLetters) {
  std::string id = enqueue("test.work", 1);
  (void)claim_one("node-a/0");
  clock_.advance_ms(kLeaseMs + 1);
  EXPECT_TRUE(claim("node-b/0").empty());
  Job dead = get(id);
  EXPECT_EQ(dead.state, "dead");
  EXPECT_NE(dead.last_error.find("lease expired"), std::string::npos) << dead.last_error;
  auto ev = events("job.dead");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].subject, id);
}

TEST_P(JobQueueTest, RetryDeadJob) {
  std::string id = enqueue("test.work", 1);
  ASSERT_TRUE(queue().fail(claim_one("w"), "boom").ok());
  ASSERT_EQ(get(id).state, "dead");
  clock_.advance_ms(1000);

  auto r = queue().retry(id);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->state, "queued");
  EXPECT_EQ(r->attempts, 0);
  EXPECT_EQ(r->run_at, clock_.now_ms());
  EXPECT_FALSE(r->finished_at.has_value());
  Job again = claim_one("w");
  EXPECT_EQ(again.id, id);
  EXPECT_EQ(again.attempts, 1);

  // Only dead or cancelled jobs can be retried.
  auto running = queue().retry(id);
  ASSERT_FALSE(running.ok());
  EXPECT_EQ(running.error().code, Errc::precondition);
  ASSERT_TRUE(queue().complete(again).ok());
  auto done = queue().retry(id);
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, Errc::precondition);
  auto missing = queue().retry("job_nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST_P(JobQueueTest, CancelQueuedJob) {
  std::string id = enqueue("test.work");
  auto c = queue().cancel(id);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->state, "cancelled");
  EXPECT_EQ(c->finished_at, clock_.now_ms());
  EXPECT_TRUE(claim("w").empty());

  auto twice = queue().cancel(id);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, Errc::precondition);

  // A cancelled job can be retried; a running one cannot be cancelled.
  ASSERT_TRUE(queue().retry(id).ok());
  (void)claim_one("w");
  auto running = queue().cancel(id);
  ASSERT_FALSE(running.ok());
  EXPECT_EQ(running.error().code, Errc::precondition);
  EXPECT_EQ(get(id).state, "running");

  auto missing = queue().cancel("job_nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST_P(JobQueueTest, ListFiltersAndPages) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(enqueue(i % 2 ? "test.other" : "test.work"));
    clock_.advance_ms(1);
  }
  ASSERT_TRUE(queue().cancel(ids[0]).ok());

  JobFilter page;
  page.limit = 2;
  auto p1 = queue().list(page);
  ASSERT_TRUE(p1.ok());
  ASSERT_EQ(p1->size(), 2u);
  EXPECT_EQ((*p1)[0].id, ids[0]);
  EXPECT_EQ((*p1)[1].id, ids[1]);
  page.after_id = p1->back().id;
  auto p2 = queue().list(page);
  ASSERT_TRUE(p2.ok());
  ASSERT_EQ(p2->size(), 2u);
  EXPECT_EQ((*p2)[0].id, ids[2]);

  JobFilter by_kind;
  by_kind.kind = "test.other";
  EXPECT_EQ(queue().list(by_kind)->size(), 2u);
  JobFilter by_state;
  by_state.state = "cancelled";
  auto cancelled = queue().list(by_state);
  ASSERT_EQ(cancelled->size(), 1u);
  EXPECT_EQ(cancelled->front().id, ids[0]);

  auto missing = queue().get("job_nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

RH_ON_BOTH_DRIVERS(JobQueueTest);

// backoff_ms does not touch the database; one driver is enough.
class Backoff : public testing::Test {
 protected:
  void SetUp() override {
    RH_OPEN_TEST_DB(opened, storage::Dialect::sqlite);
    tdb_ = std::move(opened);
  }
  std::unique_ptr<test::TestDb> tdb_;
  FakeClock clock_;
};

TEST_F(Backoff, GrowsAndStaysBetweenHalfAndAllOfTheCeiling) {
  JobQueue q(*tdb_->db, clock_, small_options());  // base 100 ms, max 1000 ms
  struct Case {
    int attempts;
    std::int64_t ceiling;
  };
  for (Case c : {Case{0, 100}, Case{1, 100}, Case{2, 200}, Case{3, 400}, Case{4, 800},
                 Case{5, 1000}, Case{6, 1000}, Case{40, 1000}, Case{1000, 1000}}) {
    SCOPED_TRACE(c.attempts);
    std::int64_t lo = c.ceiling, hi = 0;
    for (int i = 0; i < 200; ++i) {
      std::int64_t b = q.backoff_ms(c.attempts);
      lo = std::min(lo, b);
      hi = std::max(hi, b);
    }
    EXPECT_GE(lo, c.ceiling / 2);
    EXPECT_LE(hi, c.ceiling);
    EXPECT_LT(lo, hi);  // jittered, not fixed
  }
}

TEST_F(Backoff, LargeAttemptCountsDoNotOverflow) {
  QueueOptions o;  // defaults: base 1 s, max 1 h
  JobQueue q(*tdb_->db, clock_, o);
  for (int attempts : {30, 31, 32, 63, 64, 1'000'000}) {
    std::int64_t b = q.backoff_ms(attempts);
    EXPECT_GE(b, o.retry_max_ms / 2) << attempts;
    EXPECT_LE(b, o.retry_max_ms) << attempts;
  }
}

}  // namespace
}  // namespace rh::jobs
