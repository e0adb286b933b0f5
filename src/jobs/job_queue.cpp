#include "jobs/job_queue.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "jobs/outbox.hpp"

namespace rh::jobs {

using storage::Connection;
using storage::Dialect;
using storage::Value;

namespace {

constexpr const char* kJobCols =
    "id, kind, payload, state, priority, attempts, max_attempts, run_at, lease_owner, lease_until, "
    "last_error, unique_key, tenant_id, created_at, updated_at, finished_at";

Job job_from_row(const storage::Row& r) {
  Job j;
  j.id = r.text("id");
  j.kind = r.text("kind");
  j.payload = r.text("payload");
  j.state = r.text("state");
  j.priority = static_cast<int>(r.integer("priority"));
  j.attempts = static_cast<int>(r.integer("attempts"));
  j.max_attempts = static_cast<int>(r.integer("max_attempts"));
  j.run_at = r.integer("run_at");
  j.lease_owner = r.opt_text("lease_owner").value_or("");
  j.lease_until = r.opt_integer("lease_until");
  j.last_error = r.opt_text("last_error").value_or("");
  j.unique_key = r.opt_text("unique_key").value_or("");
  j.tenant_id = r.opt_text("tenant_id").value_or("");
  j.created_at = r.integer("created_at");
  j.updated_at = r.integer("updated_at");
  j.finished_at = r.opt_integer("finished_at");
  return j;
}

Value opt(const std::string& s) {
  return s.empty() ? Value{} : Value{s};
}

Result<Job> get_job(Connection& c, const std::string& id) {
  auto r = c.query_one(fmt::format("SELECT {} FROM jobs WHERE id = ?", kJobCols), {id});
  if (!r) {
    if (r.error().code == Errc::not_found) return Error(Errc::not_found, "no such job");
    return r.take_error();
  }
  return job_from_row(*r);
}

}  // namespace

JobQueue::JobQueue(storage::Database& db, const Clock& clock, QueueOptions o)
    : db_(db), clock_(clock), opts_(o) {}

std::int64_t JobQueue::backoff_ms(int attempts) const {
  int shift = std::clamp(attempts - 1, 0, 30);
  std::int64_t ceiling = std::min(opts_.retry_max_ms, opts_.retry_base_ms << shift);
  // "Equal jitter": half fixed, half random, so retries spread out but never
  // come back immediately.
  std::int64_t half = ceiling / 2;
  return half +
         static_cast<std::int64_t>(crypto::random_below(static_cast<std::uint64_t>(half) + 1));
}

Result<std::string> JobQueue::enqueue(const JobSpec& spec) {
  return db_.in_transaction<std::string>([&](Connection& c) { return enqueue(c, spec); });
}

Result<std::string> JobQueue::enqueue(Connection& tx, const JobSpec& spec) {
  if (spec.kind.empty() || spec.kind.size() > 100) {
    return Error(Errc::invalid_argument, "job kind must be 1 to 100 characters");
  }
  std::int64_t now = clock_.now_ms();
  if (spec.unique_key) {
    RH_ASSIGN(auto existing,
              tx.query_opt("SELECT id FROM jobs WHERE unique_key = ?", {*spec.unique_key}));
    if (existing) return existing->text("id");
  }
  std::string id = new_id("job", now);
  int max_attempts = spec.max_attempts > 0 ? spec.max_attempts : opts_.default_max_attempts;
  RH_TRY(tx.exec(
      "INSERT INTO jobs (id, kind, payload, state, priority, attempts, max_attempts, run_at, "
      "unique_key, tenant_id, created_at, updated_at) VALUES (?, ?, ?, 'queued', ?, 0, ?, ?, ?, ?, "
      "?, ?)",
      {id, spec.kind, spec.payload.empty() ? "{}" : spec.payload,
       static_cast<std::int64_t>(spec.priority), static_cast<std::int64_t>(max_attempts),
       spec.run_at_ms > 0 ? spec.run_at_ms : now,
       spec.unique_key ? Value{*spec.unique_key} : Value{}, opt(spec.tenant_id), now, now}));
  return id;
}

Result<std::vector<Job>> JobQueue::claim(const std::string& owner,
                                         const std::vector<std::string>& kinds, int n) {
  if (kinds.empty() || n <= 0) return std::vector<Job>{};
  return db_.in_transaction<std::vector<Job>>([&](Connection& c) -> Result<std::vector<Job>> {
    std::int64_t now = clock_.now_ms();
    std::string in;
    std::vector<Value> params{now, now};
    for (const auto& k : kinds) {
      in += in.empty() ? "?" : ", ?";
      params.emplace_back(k);
    }
    params.emplace_back(static_cast<std::int64_t>(n));
    // Due queued jobs, and running jobs whose lease ran out (their worker died).
    std::string sql = fmt::format(
        "SELECT {} FROM jobs WHERE ((state = 'queued' AND run_at <= ?) OR "
        "(state = 'running' AND lease_until < ?)) AND kind IN ({}) "
        "ORDER BY priority DESC, run_at, id LIMIT ?{}",
        kJobCols, in, c.dialect() == Dialect::mariadb ? " FOR UPDATE SKIP LOCKED" : "");
    RH_ASSIGN(auto rows, c.query(sql, params));
    std::vector<Job> out;
    for (const auto& r : rows) {
      Job j = job_from_row(r);
      if (j.state == "running" && j.attempts >= j.max_attempts) {
        // Its last attempt died with its worker: dead-letter it.
        RH_TRY(
            c.exec("UPDATE jobs SET state = 'dead', lease_owner = NULL, lease_until = NULL, "
                   "last_error = ?, updated_at = ?, finished_at = ? WHERE id = ?",
                   {"lease expired on the last attempt (worker died?)", now, now, j.id}));
        RH_TRY(append_event(c,
                            {"job.dead", j.tenant_id, j.id,
                             fmt::format(R"({{"job_id":"{}","kind":"{}"}})", j.id, j.kind)},
                            now));
        continue;
      }
      RH_TRY(
          c.exec("UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, "
                 "lease_until = ?, updated_at = ? WHERE id = ?",
                 {owner, now + opts_.lease_ms, now, j.id}));
      j.state = "running";
      j.attempts += 1;
      j.lease_owner = owner;
      j.lease_until = now + opts_.lease_ms;
      out.push_back(std::move(j));
    }
    return out;
  });
}

Status JobQueue::complete(const Job& job, const std::function<Status(Connection&)>& effect) {
  return db_.transaction([&](Connection& c) -> Status {
    std::int64_t now = clock_.now_ms();
    RH_ASSIGN(auto r,
              c.exec("UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until = NULL, "
                     "last_error = NULL, updated_at = ?, finished_at = ? "
                     "WHERE id = ? AND state = 'running' AND lease_owner = ? AND attempts = ?",
                     {now, now, job.id, job.lease_owner, static_cast<std::int64_t>(job.attempts)}));
    if (r.affected != 1) {
      return Error(Errc::conflict, "job " + job.id + " lease lost before completion");
    }
    if (effect) RH_TRY(effect(c));
    return {};
  });
}

Result<int> JobQueue::extend_leases(const std::map<std::string, std::string>& running) {
  if (running.empty()) return 0;
  return db_.in_transaction<int>([&](Connection& c) -> Result<int> {
    std::int64_t now = clock_.now_ms();
    int n = 0;
    for (const auto& [id, owner] : running) {
      RH_ASSIGN(auto r, c.exec("UPDATE jobs SET lease_until = ? WHERE id = ? AND state = 'running' "
                               "AND lease_owner = ?",
                               {now + opts_.lease_ms, id, owner}));
      n += static_cast<int>(r.affected);
    }
    return n;
  });
}

Status JobQueue::fail(const Job& job, const std::string& error, bool permanent) {
  return db_.transaction([&](Connection& c) -> Status {
    std::int64_t now = clock_.now_ms();
    bool dead = permanent || job.attempts >= job.max_attempts;
    std::string err = error.size() > 2000 ? error.substr(0, 2000) : error;
    RH_ASSIGN(auto r,
              c.exec("UPDATE jobs SET state = ?, run_at = ?, lease_owner = NULL, "
                     "lease_until = NULL, last_error = ?, updated_at = ?, finished_at = ? "
                     "WHERE id = ? AND state = 'running' AND lease_owner = ? AND attempts = ?",
                     {dead ? "dead" : "queued", dead ? job.run_at : now + backoff_ms(job.attempts),
                      err, now, dead ? Value{now} : Value{}, job.id, job.lease_owner,
                      static_cast<std::int64_t>(job.attempts)}));
    if (r.affected != 1)
      return Error(Errc::conflict, "job " + job.id + " lease lost before failure");
    if (dead) {
      RH_TRY(append_event(c,
                          {"job.dead", job.tenant_id, job.id,
                           fmt::format(R"({{"job_id":"{}","kind":"{}"}})", job.id, job.kind)},
                          now));
    }
    return {};
  });
}

Result<Job> JobQueue::get(const std::string& id) {
  return db_.read<Job>([&](Connection& c) { return get_job(c, id); });
}

Result<std::vector<Job>> JobQueue::list(const JobFilter& f) {
  return db_.read<std::vector<Job>>([&](Connection& c) -> Result<std::vector<Job>> {
    std::string sql = fmt::format("SELECT {} FROM jobs WHERE 1 = 1", kJobCols);
    std::vector<Value> params;
    if (!f.state.empty()) {
      sql += " AND state = ?";
      params.emplace_back(f.state);
    }
    if (!f.kind.empty()) {
      sql += " AND kind = ?";
      params.emplace_back(f.kind);
    }
    if (!f.after_id.empty()) {
      sql += " AND id > ?";
      params.emplace_back(f.after_id);
    }
    sql += " ORDER BY id LIMIT ?";
    params.emplace_back(static_cast<std::int64_t>(std::clamp(f.limit, 1, 500)));
    RH_ASSIGN(auto rows, c.query(sql, params));
    std::vector<Job> out;
    for (const auto& r : rows) out.push_back(job_from_row(r));
    return out;
  });
}

Result<Job> JobQueue::retry(const std::string& id) {
  return db_.in_transaction<Job>([&](Connection& c) -> Result<Job> {
    RH_ASSIGN(auto j, get_job(c, id));
    if (j.state != "dead" && j.state != "cancelled") {
      return Error(Errc::precondition,
                   "only a dead or cancelled job can be retried (this one is " + j.state + ")");
    }
    std::int64_t now = clock_.now_ms();
    RH_TRY(
        c.exec("UPDATE jobs SET state = 'queued', attempts = 0, run_at = ?, finished_at = NULL, "
               "updated_at = ? WHERE id = ?",
               {now, now, id}));
    return get_job(c, id);
  });
}

Result<Job> JobQueue::cancel(const std::string& id) {
  return db_.in_transaction<Job>([&](Connection& c) -> Result<Job> {
    RH_ASSIGN(auto j, get_job(c, id));
    if (j.state != "queued") {
      return Error(Errc::precondition,
                   "only a queued job can be cancelled (this one is " + j.state + ")");
    }
    std::int64_t now = clock_.now_ms();
    RH_TRY(
        c.exec("UPDATE jobs SET state = 'cancelled', updated_at = ?, finished_at = ? WHERE id = ?",
               {now, now, id}));
    return get_job(c, id);
  });
}

Result<std::map<std::string, std::int64_t>> JobQueue::counts() {
  return db_.read<std::map<std::string, std::int64_t>>(
      [&](Connection& c) -> Result<std::map<std::string, std::int64_t>> {
        std::map<std::string, std::int64_t> out{
            {"queued", 0}, {"running", 0}, {"done", 0}, {"dead", 0}, {"cancelled", 0}};
        RH_ASSIGN(auto rows, c.query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state", {}));
        for (const auto& r : rows) out[r.text("state")] = r.integer("n");
        return out;
      });
}

Status JobQueue::upsert_schedule(const std::string& name, const std::string& kind,
                                 const std::string& payload, std::int64_t interval_s) {
  if (interval_s <= 0) return Error(Errc::invalid_argument, "schedule interval must be positive");
  return db_.transaction([&](Connection& c) -> Status {
    std::int64_t now = clock_.now_ms();
    RH_ASSIGN(auto existing, c.query_opt("SELECT name FROM job_schedules WHERE name = ?", {name}));
    if (existing) {
      RH_TRY(
          c.exec("UPDATE job_schedules SET kind = ?, payload = ?, interval_s = ?, updated_at = ? "
                 "WHERE name = ?",
                 {kind, payload, interval_s, now, name}));
    } else {
      RH_TRY(c.exec(
          "INSERT INTO job_schedules (name, kind, payload, interval_s, next_run_at, updated_at) "
          "VALUES (?, ?, ?, ?, ?, ?)",
          {name, kind, payload, interval_s, now, now}));
    }
    return {};
  });
}

Result<std::vector<Schedule>> JobQueue::schedules() {
  return db_.read<std::vector<Schedule>>([&](Connection& c) -> Result<std::vector<Schedule>> {
    RH_ASSIGN(
        auto rows,
        c.query(
            "SELECT name, kind, payload, interval_s, next_run_at FROM job_schedules ORDER BY name",
            {}));
    std::vector<Schedule> out;
    for (const auto& r : rows) {
      out.push_back({r.text("name"), r.text("kind"), r.text("payload"), r.integer("interval_s"),
                     r.integer("next_run_at")});
    }
    return out;
  });
}

Result<int> JobQueue::enqueue_due_schedules() {
  return db_.in_transaction<int>([&](Connection& c) -> Result<int> {
    std::int64_t now = clock_.now_ms();
    std::string sql =
        "SELECT name, kind, payload, interval_s, next_run_at FROM job_schedules WHERE next_run_at "
        "<= ?";
    if (c.dialect() == Dialect::mariadb) sql += " FOR UPDATE SKIP LOCKED";
    RH_ASSIGN(auto rows, c.query(sql, {now}));
    int n = 0;
    for (const auto& r : rows) {
      std::string name = r.text("name");
      std::int64_t due = r.integer("next_run_at");
      JobSpec spec;
      spec.kind = r.text("kind");
      spec.payload = r.text("payload");
      // One job per due time, even if two nodes race.
      spec.unique_key = fmt::format("schedule:{}:{}", name, due);
      RH_TRY(enqueue(c, spec));
      // Missed runs are not replayed one by one: the next run is one interval from now.
      std::int64_t interval_ms = r.integer("interval_s") * 1000;
      std::int64_t next = due + interval_ms;
      if (next <= now) next = now + interval_ms;
      RH_TRY(c.exec("UPDATE job_schedules SET next_run_at = ?, updated_at = ? WHERE name = ?",
                    {next, now, name}));
      ++n;
    }
    return n;
  });
}

JobWorker::JobWorker(JobQueue& queue, storage::Database& db, metrics::Registry& metrics,
                     WorkerOptions o)
    : queue_(queue), db_(db), opts_(std::move(o)), metrics_(metrics) {
  if (opts_.node_id.empty()) opts_.node_id = new_id("node");
  metrics_.add_collector([this]() -> std::vector<metrics::Sample> {
    auto counts = queue_.counts();
    std::vector<metrics::Sample> out;
    if (!counts) return out;
    for (const auto& [state, n] : *counts) {
      out.push_back({"ringhouse_jobs",
                     "Jobs in the queue by state",
                     "gauge",
                     {{"state", state}},
                     static_cast<double>(n)});
    }
    return out;
  });
}

JobWorker::~JobWorker() {
  stop();
}

void JobWorker::register_handler(const std::string& kind, JobHandler h) {
  handlers_[kind] = std::move(h);
  kinds_.push_back(kind);
}

void JobWorker::start() {
  stopping_ = false;
  heartbeat_stop_ = false;
  for (int i = 0; i < std::max(1, opts_.threads); ++i) {
    threads_.emplace_back([this, i] { loop(i); });
  }
  heartbeat_ = std::thread([this] { heartbeat(); });
}

void JobWorker::heartbeat() {
  auto logger = log::get("jobs");
  auto period = std::chrono::milliseconds(std::max<std::int64_t>(100, queue_.options().lease_ms / 3));
  std::unique_lock lk(heartbeat_mu_);
  while (!heartbeat_stop_) {
    heartbeat_cv_.wait_for(lk, period, [&] { return heartbeat_stop_.load(); });
    if (heartbeat_stop_) break;
    lk.unlock();
    std::map<std::string, std::string> running;
    {
      std::lock_guard rl(running_mu_);
      running = running_;
    }
    auto r = queue_.extend_leases(running);
    if (!r) logger->warn("extending job leases failed: {}", r.error().message);
    lk.lock();
  }
}

void JobWorker::stop() {
  stopping_ = true;
  {
    std::lock_guard lk(mu_);
    wake_ += 1000;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  // Running jobs have finished: the heartbeat can go.
  {
    std::lock_guard lk(heartbeat_mu_);
    heartbeat_stop_ = true;
  }
  heartbeat_cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
}

void JobWorker::notify() {
  {
    std::lock_guard lk(mu_);
    ++wake_;
  }
  cv_.notify_one();
}

Result<bool> JobWorker::run_one(const std::string& owner) {
  RH_ASSIGN(auto jobs, queue_.claim(owner, kinds_, 1));
  if (jobs.empty()) return false;
  const Job& job = jobs.front();
  auto logger = log::get("jobs");
  auto started = std::chrono::steady_clock::now();
  JobContext ctx(job, db_, stopping_);
  {
    std::lock_guard rl(running_mu_);
    running_[job.id] = job.lease_owner;
  }
  // The lease is kept alive until the outcome is recorded (end of scope).
  struct Forget {
    JobWorker* w;
    std::string id;
    ~Forget() {
      std::lock_guard rl(w->running_mu_);
      w->running_.erase(id);
    }
  } forget{this, job.id};
  Status st;
  try {
    st = handlers_.at(job.kind)(ctx);
  } catch (const std::exception& e) {
    st = Error(Errc::internal, std::string("handler threw: ") + e.what());
  } catch (...) {
    st = Error(Errc::internal, "handler threw a non-standard exception");
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  metrics_
      .histogram("ringhouse_job_duration_seconds", "Time spent running jobs", {{"kind", job.kind}},
                 metrics::latency_buckets())
      .observe(secs);
  std::string outcome;
  if (st) {
    Status done = queue_.complete(job, ctx.effect());
    outcome = done ? "done" : "lost";
    if (!done)
      logger->warn("job {} ({}) completed but not recorded: {}", job.id, job.kind,
                   done.error().message);
  } else {
    bool permanent = st.error().code == Errc::invalid_argument;
    bool dead = permanent || job.attempts >= job.max_attempts;
    Status f = queue_.fail(job, st.error().message, permanent);
    outcome = dead ? "dead" : "retry";
    logger->log(dead ? spdlog::level::err : spdlog::level::warn,
                "job {} ({}) attempt {}/{} failed: {}{}", job.id, job.kind, job.attempts,
                job.max_attempts, st.error().message, dead ? " — dead-lettered" : "");
    if (!f) logger->warn("job {} failure not recorded: {}", job.id, f.error().message);
  }
  metrics_
      .counter("ringhouse_jobs_processed_total", "Jobs run, by kind and outcome",
               {{"kind", job.kind}, {"outcome", outcome}})
      .inc();
  return true;
}

void JobWorker::loop(int index) {
  auto logger = log::get("jobs");
  std::string owner = fmt::format("{}/{}", opts_.node_id, index);
  while (!stopping_) {
    if (index == 0) {
      auto n = queue_.enqueue_due_schedules();
      if (!n) logger->warn("schedules: {}", n.error().message);
    }
    auto r = run_one(owner);
    if (!r) logger->warn("claim failed: {}", r.error().message);
    if (r && *r) continue;
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, std::chrono::milliseconds(opts_.poll_ms),
                 [&] { return wake_ > 0 || stopping_; });
    if (wake_ > 0) --wake_;
  }
}

}  // namespace rh::jobs
