// A durable job queue in the database: jobs are leased to a worker for a
// while, retried with exponential back-off and jitter, dead-lettered after
// max attempts, and may be scheduled for later or recur on an interval. A
// handler's database effects can commit atomically with the job's completion
// (JobContext::on_complete), which with leases gives exactly-once effects
// even when a node is killed mid-job.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"
#include "storage/database.hpp"

namespace rh::jobs {

struct JobSpec {
  std::string kind;
  std::string payload = "{}";             // JSON object text
  std::int64_t run_at_ms = 0;             // 0: now
  int max_attempts = 0;                   // 0: the queue's default
  int priority = 0;                       // higher first
  std::optional<std::string> unique_key;  // a second enqueue with the same key is a no-op
  std::string tenant_id;
};

struct Job {
  std::string id;
  std::string kind;
  std::string payload;
  std::string state;  // queued | running | done | dead | cancelled
  int priority = 0;
  int attempts = 0;
  int max_attempts = 0;
  std::int64_t run_at = 0;
  std::string lease_owner;
  std::optional<std::int64_t> lease_until;
  std::string last_error;
  std::string unique_key;
  std::string tenant_id;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::optional<std::int64_t> finished_at;
};

struct JobFilter {
  std::string state;
  std::string kind;
  std::string after_id;  // cursor: ids sort by creation time
  int limit = 50;
};

struct QueueOptions {
  int default_max_attempts = 8;
  std::int64_t retry_base_ms = 1000;
  std::int64_t retry_max_ms = 3'600'000;
  std::int64_t lease_ms = 60'000;
};

struct Schedule {
  std::string name;
  std::string kind;
  std::string payload;
  std::int64_t interval_s = 0;
  std::int64_t next_run_at = 0;
};

class JobQueue {
 public:
  JobQueue(storage::Database& db, const Clock& clock, QueueOptions o);

  // Enqueues in its own transaction.
  Result<std::string> enqueue(const JobSpec& spec);
  // Enqueues inside the caller's transaction (with the change that causes it).
  Result<std::string> enqueue(storage::Connection& tx, const JobSpec& spec);

  // Leases up to n due jobs of the given kinds to owner.
  Result<std::vector<Job>> claim(const std::string& owner, const std::vector<std::string>& kinds,
                                 int n);
  // Marks the job done and runs effect in the same transaction; fails with
  // conflict (and rolls the effect back) when the lease was lost.
  Status complete(const Job& job, const std::function<Status(storage::Connection&)>& effect = {});
  // Extends the leases of jobs still running here (id -> lease owner); a
  // lease this node no longer holds is left alone. Returns how many moved.
  Result<int> extend_leases(const std::map<std::string, std::string>& running);
  // Schedules a retry with back-off, or dead-letters when attempts are spent
  // or the failure is permanent.
  Status fail(const Job& job, const std::string& error, bool permanent = false);

  Result<Job> get(const std::string& id);
  Result<std::vector<Job>> list(const JobFilter& f);
  // A dead or cancelled job back to queued with a fresh attempt budget.
  Result<Job> retry(const std::string& id);
  // A queued job to cancelled.
  Result<Job> cancel(const std::string& id);
  Result<std::map<std::string, std::int64_t>> counts();

  // Recurring work: creates or updates a schedule; the first run is due now.
  Status upsert_schedule(const std::string& name, const std::string& kind,
                         const std::string& payload, std::int64_t interval_s);
  Result<std::vector<Schedule>> schedules();
  // Enqueues a job for every due schedule (once per due time, even with
  // several nodes) and moves the schedule on; returns how many were enqueued.
  Result<int> enqueue_due_schedules();

  // The retry delay after `attempts` failures, with jitter.
  std::int64_t backoff_ms(int attempts) const;

  const QueueOptions& options() const { return opts_; }

 private:
  storage::Database& db_;
  const Clock& clock_;
  QueueOptions opts_;
};

// What a handler sees.
class JobContext {
 public:
  JobContext(const Job& job, storage::Database& db, const std::atomic<bool>& stopping)
      : job_(job), db_(db), stopping_(stopping) {}
  const Job& job() const { return job_; }
  storage::Database& db() { return db_; }
  bool stopping() const { return stopping_.load(); }
  // Database work that must commit together with the job's completion.
  void on_complete(std::function<Status(storage::Connection&)> effect) {
    effect_ = std::move(effect);
  }
  const std::function<Status(storage::Connection&)>& effect() const { return effect_; }

 private:
  const Job& job_;
  storage::Database& db_;
  const std::atomic<bool>& stopping_;
  std::function<Status(storage::Connection&)> effect_;
};

// An error with code invalid_argument is permanent (dead-letters at once);
// any other error is retried.
using JobHandler = std::function<Status(JobContext&)>;

struct WorkerOptions {
  int threads = 2;
  int poll_ms = 500;
  std::string node_id;  // lease owner prefix
};

class JobWorker {
 public:
  JobWorker(JobQueue& queue, storage::Database& db, metrics::Registry& metrics, WorkerOptions o);
  ~JobWorker();

  void register_handler(const std::string& kind, JobHandler h);
  bool has_handler(const std::string& kind) const { return handlers_.count(kind) != 0; }
  void start();
  // Stops claiming, waits for running jobs to finish.
  void stop();
  void notify();
  // Claims and runs at most one job on the calling thread (tests).
  Result<bool> run_one(const std::string& owner);

 private:
  void loop(int index);
  // Keeps the leases of running jobs alive, so that a job may run longer than
  // one lease without another node taking it over.
  void heartbeat();
  JobQueue& queue_;
  storage::Database& db_;
  WorkerOptions opts_;
  metrics::Registry& metrics_;
  std::map<std::string, JobHandler> handlers_;
  std::vector<std::string> kinds_;
  std::mutex mu_;
  std::condition_variable cv_;
  int wake_ = 0;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  std::mutex running_mu_;
  std::map<std::string, std::string> running_;  // job id -> lease owner
  std::mutex heartbeat_mu_;
  std::condition_variable heartbeat_cv_;
  std::atomic<bool> heartbeat_stop_{false};
  std::thread heartbeat_;
};

}  // namespace rh::jobs
