#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "core/metrics.hpp"
#include "jobs/builtin_jobs.hpp"
#include "jobs/job_queue.hpp"
#include "jobs/outbox.hpp"
#include "unit/unit_db.hpp"

namespace rh::jobs {
namespace {

class JobWorkerTest : public unit::MigratedDbTest {
 protected:
  void SetUp() override {
    unit::MigratedDbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    QueueOptions o;
    o.default_max_attempts = 3;
    o.retry_base_ms = 100;
    o.retry_max_ms = 1000;
    o.lease_ms = 10'000;
    queue_ = std::make_unique<JobQueue>(db(), clock_, o);
    WorkerOptions w;
    w.node_id = "test-node";
    worker_ = std::make_unique<JobWorker>(*queue_, db(), metrics_, w);
  }

  JobQueue& queue() { return *queue_; }
  JobWorker& worker() { return *worker_; }

  std::string enqueue(const std::string& kind, const std::string& payload = "{}",
                      int max_attempts = 0) {
    JobSpec s;
    s.kind = kind;
    s.payload = payload;
    s.max_attempts = max_attempts;
    auto id = queue().enqueue(s);
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id ? *id : "";
  }

  // Runs one job; true when there was one.
  bool run_one() {
    auto r = worker().run_one("test-node/0");
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r && *r;
  }

  // Moves the clock to the job's next run time (past its back-off).
  void advance_to_run_at(const std::string& id) {
    auto j = queue().get(id);
    ASSERT_TRUE(j.ok());
    ASSERT_GT(j->run_at, clock_.now_ms());
    clock_.set_ms(j->run_at);
  }

  Job get(const std::string& id) {
    auto j = queue().get(id);
    EXPECT_TRUE(j.ok()) << j.error().message;
    return j ? *j : Job{};
  }

  std::vector<ProbeRun> runs(const std::string& id) {
    auto r = probe_runs(db(), id);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r ? *r : std::vector<ProbeRun>{};
  }

  std::size_t dead_events() {
    EventFilter f;
    f.type = "job.dead";
    auto r = list_events(db(), f);
    EXPECT_TRUE(r.ok());
    return r ? r->size() : 0;
  }

  bool metrics_have(const std::string& line) {
    return ("\n" + metrics_.render()).find("\n" + line + "\n") != std::string::npos;
  }

  metrics::Registry metrics_;
  std::unique_ptr<JobQueue> queue_;
  std::unique_ptr<JobWorker> worker_;
};

TEST_P(JobWorkerTest, NothingToRun) {
  worker().register_handler("test.work", [](JobContext&) -> Status { return {}; });
  EXPECT_FALSE(run_one());
}

TEST_P(JobWorkerTest, RunsOnlyKindsItHasHandlersFor) {
  worker().register_handler("test.work", [](JobContext&) -> Status { return {}; });
  EXPECT_TRUE(worker().has_handler("test.work"));
  EXPECT_FALSE(worker().has_handler("test.other"));
  std::string other = enqueue("test.other");
  EXPECT_FALSE(run_one());
  EXPECT_EQ(get(other).state, "queued");
}

TEST_P(JobWorkerTest, FailsTwiceThenSucceeds) {
  int calls = 0;
  worker().register_handler("test.flaky", [&calls](JobContext& ctx) -> Status {
    ++calls;
    EXPECT_EQ(ctx.job().attempts, calls);
    if (ctx.job().attempts <= 2) return Error(Errc::unavailable, "not yet");
    return {};
  });
  std::string id = enqueue("test.flaky", "{}", 5);

  ASSERT_TRUE(run_one());
  EXPECT_EQ(get(id).state, "queued");
  EXPECT_EQ(get(id).last_error, "not yet");
  EXPECT_FALSE(run_one());  // backing off
  advance_to_run_at(id);
  ASSERT_TRUE(run_one());
  EXPECT_EQ(get(id).attempts, 2);
  EXPECT_FALSE(run_one());
  advance_to_run_at(id);
  ASSERT_TRUE(run_one());

  Job done = get(id);
  EXPECT_EQ(done.state, "done");
  EXPECT_EQ(done.attempts, 3);
  EXPECT_EQ(calls, 3);
  EXPECT_TRUE(
      metrics_have("ringhouse_jobs_processed_total{kind=\"test.flaky\",outcome=\"retry\"} 2"));
  EXPECT_TRUE(
      metrics_have("ringhouse_jobs_processed_total{kind=\"test.flaky\",outcome=\"done\"} 1"));
  EXPECT_TRUE(metrics_have("ringhouse_jobs{state=\"done\"} 1"));
}

TEST_P(JobWorkerTest, DeadLettersAfterMaxAttempts) {
  worker().register_handler("test.broken",
                            [](JobContext&) -> Status { return Error(Errc::internal, "always"); });
  std::string id = enqueue("test.broken", "{}", 2);
  ASSERT_TRUE(run_one());
  advance_to_run_at(id);
  ASSERT_TRUE(run_one());
  Job dead = get(id);
  EXPECT_EQ(dead.state, "dead");
  EXPECT_EQ(dead.attempts, 2);
  EXPECT_EQ(dead_events(), 1u);
  EXPECT_TRUE(
      metrics_have("ringhouse_jobs_processed_total{kind=\"test.broken\",outcome=\"dead\"} 1"));
}

TEST_P(JobWorkerTest, InvalidArgumentIsPermanent) {
  int calls = 0;
  worker().register_handler("test.bad", [&calls](JobContext&) -> Status {
    ++calls;
    return Error(Errc::invalid_argument, "payload makes no sense");
  });
  std::string id = enqueue("test.bad", "{}", 5);
  ASSERT_TRUE(run_one());
  Job dead = get(id);
  EXPECT_EQ(dead.state, "dead");
  EXPECT_EQ(dead.attempts, 1);
  EXPECT_EQ(dead.last_error, "payload makes no sense");
  EXPECT_EQ(dead_events(), 1u);
  clock_.advance_ms(3'600'000);
  EXPECT_FALSE(run_one());
  EXPECT_EQ(calls, 1);
}

TEST_P(JobWorkerTest, HandlerExceptionIsRetried) {
  worker().register_handler("test.throws", [](JobContext& ctx) -> Status {
    if (ctx.job().attempts == 1) throw std::runtime_error("kaboom");
    return {};
  });
  std::string id = enqueue("test.throws", "{}", 3);
  ASSERT_TRUE(run_one());
  Job j = get(id);
  EXPECT_EQ(j.state, "queued");
  EXPECT_NE(j.last_error.find("kaboom"), std::string::npos) << j.last_error;
  advance_to_run_at(id);
  ASSERT_TRUE(run_one());
  EXPECT_EQ(get(id).state, "done");
}

TEST_P(JobWorkerTest, EffectCommitsWithCompletion) {
  worker().register_handler("test.effect", [](JobContext& ctx) -> Status {
    std::string id = ctx.job().id;
    ctx.on_complete([id](storage::Connection& c) -> Status {
      RH_TRY(c.exec(
          "INSERT INTO diag_probe_runs (job_id, note, attempt, created_at) VALUES (?, ?, ?, ?)",
          {id, "from effect", std::int64_t{1}, std::int64_t{0}}));
      return {};
    });
    return {};
  });
  std::string id = enqueue("test.effect");
  ASSERT_TRUE(run_one());
  EXPECT_EQ(get(id).state, "done");
  auto r = runs(id);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].note, "from effect");
}

class ProbeTest : public JobWorkerTest {
 protected:
  void SetUp() override {
    JobWorkerTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    BuiltinOptions o;
    o.job_retention_s = 60;
    o.event_retention_s = 120;
    register_builtin_jobs(worker(), clock_, o);
  }
};

TEST_P(ProbeTest, RecordsExactlyOneRunPerCompletedJob) {
  std::string a = enqueue("diag.probe", R"({"note":"hello"})");
  std::string b = enqueue("diag.probe");
  ASSERT_TRUE(run_one());
  ASSERT_TRUE(run_one());
  EXPECT_FALSE(run_one());
  for (const std::string& id : {a, b}) {
    EXPECT_EQ(get(id).state, "done");
    auto r = runs(id);
    ASSERT_EQ(r.size(), 1u) << id;
    EXPECT_EQ(r[0].job_id, id);
    EXPECT_EQ(r[0].attempt, 1);
    EXPECT_EQ(r[0].created_at, clock_.now_ms());
  }
  EXPECT_EQ(runs(a)[0].note, "hello");
}

TEST_P(ProbeTest, FailingAttemptsRecordNothing) {
  std::string id = enqueue("diag.probe", R"({"fail_times":2,"note":"x"})", 5);
  ASSERT_TRUE(run_one());
  EXPECT_TRUE(runs(id).empty());
  EXPECT_NE(get(id).last_error.find("probe failing attempt 1"), std::string::npos);
  advance_to_run_at(id);
  ASSERT_TRUE(run_one());
  EXPECT_TRUE(runs(id).empty());
  advance_to_run_at(id);
  ASSERT_TRUE(run_one());
  Job done = get(id);
  EXPECT_EQ(done.state, "done");
  EXPECT_EQ(done.attempts, 3);
  auto r = runs(id);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].attempt, 3);
}

TEST_P(ProbeTest, BadPayloadDeadLettersAtOnce) {
  std::string id = enqueue("diag.probe", R"({"fail_times":"two"})", 5);
  ASSERT_TRUE(run_one());
  Job dead = get(id);
  EXPECT_EQ(dead.state, "dead");
  EXPECT_EQ(dead.attempts, 1);
  EXPECT_NE(dead.last_error.find("fail_times"), std::string::npos) << dead.last_error;
  EXPECT_TRUE(runs(id).empty());
}

TEST_P(ProbeTest, PruneDeletesOnlyOldFinishedWork) {
  // At t0: a done job with its probe run, a dead job, a cancelled job, and
  // two events, one delivered.
  std::string old_done = enqueue("diag.probe");
  ASSERT_TRUE(run_one());
  std::string old_dead = enqueue("diag.probe", R"({"bogus":1})");
  ASSERT_TRUE(run_one());
  ASSERT_EQ(get(old_dead).state, "dead");
  std::string old_cancelled = enqueue("test.none");
  ASSERT_TRUE(queue().cancel(old_cancelled).ok());
  Status st = db().transaction([&](storage::Connection& c) -> Status {
    RH_TRY(append_event(c, {"test.delivered", "", "", "{}"}, clock_.now_ms()));
    return {};
  });
  ASSERT_TRUE(st.ok());
  EventDispatcher dispatcher(db(), clock_, metrics_, DispatcherOptions{});
  ASSERT_EQ(*dispatcher.run_once(), 2);  // with the job.dead event
  st = db().transaction([&](storage::Connection& c) -> Status {
    RH_TRY(append_event(c, {"test.pending", "", "", "{}"}, clock_.now_ms()));
    return {};
  });
  ASSERT_TRUE(st.ok());

  // Past both retentions (jobs 60 s, events 120 s): a fresh done job, then the prune.
  clock_.advance_ms(121'000);
  std::string recent_done = enqueue("diag.probe");
  ASSERT_TRUE(run_one());
  std::string prune = enqueue("maintenance.prune");
  ASSERT_TRUE(run_one());
  EXPECT_EQ(get(prune).state, "done");

  for (const std::string& id : {old_done, old_cancelled}) {
    auto gone = queue().get(id);
    ASSERT_FALSE(gone.ok()) << id;
    EXPECT_EQ(gone.error().code, Errc::not_found);
  }
  EXPECT_TRUE(runs(old_done).empty());
  // Dead jobs stay for an operator to look at; recent work stays.
  EXPECT_EQ(get(old_dead).state, "dead");
  EXPECT_EQ(get(recent_done).state, "done");
  EXPECT_EQ(runs(recent_done).size(), 1u);
  // Delivered events go; undelivered ones stay whatever their age.
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM events"), 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM events WHERE type = 'test.pending'"), 1);
}

TEST_P(ProbeTest, ScheduleBuiltinJobsCreatesThePruneSchedule) {
  BuiltinOptions o;
  o.prune_interval_s = 900;
  ASSERT_TRUE(schedule_builtin_jobs(queue(), o).ok());
  ASSERT_TRUE(schedule_builtin_jobs(queue(), o).ok());  // idempotent
  auto s = queue().schedules();
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ((*s)[0].kind, "maintenance.prune");
  EXPECT_EQ((*s)[0].interval_s, 900);
  ASSERT_EQ(*queue().enqueue_due_schedules(), 1);
  ASSERT_TRUE(run_one());
  auto jobs = queue().list(JobFilter{});
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].state, "done");
}

RH_ON_BOTH_DRIVERS(JobWorkerTest);
RH_ON_BOTH_DRIVERS(ProbeTest);

TEST(ProbePayload, Validation) {
  EXPECT_TRUE(check_probe_payload("{}").ok());
  EXPECT_TRUE(check_probe_payload(R"({"fail_times":100,"sleep_ms":0,"note":"n"})").ok());
  for (const char* bad : {"", "[]", "{", R"({"fail_times":101})", R"({"fail_times":-1})",
                          R"({"sleep_ms":60001})", R"({"note":1})", R"({"other":1})"}) {
    Status st = check_probe_payload(bad);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().code, Errc::invalid_argument) << bad;
  }
  EXPECT_FALSE(check_probe_payload(R"({"note":")" + std::string(192, 'n') + "\"}").ok());
}

}  // namespace
}  // namespace rh::jobs
