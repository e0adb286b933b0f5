#include "jobs/builtin_jobs.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <thread>

namespace rh::jobs {

namespace json = boost::json;

namespace {

struct ProbeSpec {
  std::int64_t fail_times = 0;
  std::int64_t sleep_ms = 0;
  std::string note;
};

Result<ProbeSpec> parse_probe(const std::string& payload) {
  boost::system::error_code ec;
  json::value v = json::parse(payload, ec);
  if (ec || !v.is_object())
    return Error(Errc::invalid_argument, "probe payload must be a JSON object");
  ProbeSpec s;
  const auto& o = v.as_object();
  for (const auto& [k, val] : o) {
    if (k == "fail_times") {
      if (!val.is_int64() || val.as_int64() < 0 || val.as_int64() > 100)
        return Error(Errc::invalid_argument, "fail_times must be an integer from 0 to 100");
      s.fail_times = val.as_int64();
    } else if (k == "sleep_ms") {
      if (!val.is_int64() || val.as_int64() < 0 || val.as_int64() > 60000)
        return Error(Errc::invalid_argument, "sleep_ms must be an integer from 0 to 60000");
      s.sleep_ms = val.as_int64();
    } else if (k == "note") {
      if (!val.is_string() || val.as_string().size() > 191)
        return Error(Errc::invalid_argument, "note must be a string of at most 191 bytes");
      s.note = std::string(val.as_string());
    } else {
      return Error(Errc::invalid_argument, fmt::format("unknown probe field '{}'", std::string(k)));
    }
  }
  return s;
}

}  // namespace

Status check_probe_payload(const std::string& payload) {
  RH_TRY(parse_probe(payload));
  return {};
}

void register_builtin_jobs(JobWorker& worker, const Clock& clock, const BuiltinOptions& o) {
  worker.register_handler("diag.probe", [&clock](JobContext& ctx) -> Status {
    RH_ASSIGN(ProbeSpec spec, parse_probe(ctx.job().payload));
    if (ctx.job().attempts <= spec.fail_times) {
      return Error(Errc::unavailable, fmt::format("probe failing attempt {} of the {} requested",
                                                  ctx.job().attempts, spec.fail_times));
    }
    if (spec.sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(spec.sleep_ms));
    std::string job_id = ctx.job().id;
    auto attempt = static_cast<std::int64_t>(ctx.job().attempts);
    std::int64_t now = clock.now_ms();
    // The run is recorded in the transaction that marks the job done.
    ctx.on_complete([job_id, note = spec.note, attempt, now](storage::Connection& c) -> Status {
      RH_TRY(c.exec(
          "INSERT INTO diag_probe_runs (job_id, note, attempt, created_at) VALUES (?, ?, ?, ?)",
          {job_id, note, attempt, now}));
      return {};
    });
    return {};
  });

  worker.register_handler("maintenance.prune", [&clock, o](JobContext& ctx) -> Status {
    std::int64_t now = clock.now_ms();
    return ctx.db().transaction([&](storage::Connection& c) -> Status {
      RH_TRY(c.exec("DELETE FROM jobs WHERE state IN ('done', 'cancelled') AND finished_at < ?",
                    {now - o.job_retention_s * 1000}));
      RH_TRY(c.exec("DELETE FROM events WHERE dispatched_at IS NOT NULL AND dispatched_at < ?",
                    {now - o.event_retention_s * 1000}));
      RH_TRY(c.exec("DELETE FROM diag_probe_runs WHERE created_at < ?",
                    {now - o.job_retention_s * 1000}));
      return {};
    });
  });
}

Status schedule_builtin_jobs(JobQueue& queue, const BuiltinOptions& o) {
  return queue.upsert_schedule("maintenance.prune", "maintenance.prune", "{}", o.prune_interval_s);
}

Result<std::vector<ProbeRun>> probe_runs(storage::Database& db, const std::string& job_id) {
  return db.read<std::vector<ProbeRun>>(
      [&](storage::Connection& c) -> Result<std::vector<ProbeRun>> {
        RH_ASSIGN(auto rows,
                  c.query("SELECT job_id, note, attempt, created_at FROM diag_probe_runs "
                          "WHERE job_id = ? ORDER BY id",
                          {job_id}));
        std::vector<ProbeRun> out;
        for (const auto& r : rows) {
          out.push_back({r.text("job_id"), r.opt_text("note").value_or(""),
                         static_cast<int>(r.integer("attempt")), r.integer("created_at")});
        }
        return out;
      });
}

}  // namespace rh::jobs
