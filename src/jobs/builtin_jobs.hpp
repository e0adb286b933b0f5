// Job kinds the platform itself runs:
//   maintenance.prune  recurring clean-up of finished jobs and delivered events
//   diag.probe         an operator's self-check of the job system: records a
//                      run, optionally failing its first N attempts or taking
//                      a while, so retries, dead-letters and crash recovery
//                      can be watched on a live system.
#pragma once

#include <cstdint>
#include <string>

#include "jobs/job_queue.hpp"

namespace rh::jobs {

struct BuiltinOptions {
  std::int64_t job_retention_s = 7 * 86400;
  std::int64_t event_retention_s = 30 * 86400;
  std::int64_t prune_interval_s = 3600;
};

void register_builtin_jobs(JobWorker& worker, const Clock& clock, const BuiltinOptions& o);
// Creates the recurring schedules of the built-in kinds.
Status schedule_builtin_jobs(JobQueue& queue, const BuiltinOptions& o);

struct ProbeRun {
  std::string job_id;
  std::string note;
  int attempt = 0;
  std::int64_t created_at = 0;
};
Result<std::vector<ProbeRun>> probe_runs(storage::Database& db, const std::string& job_id);

// Validates a diag.probe payload (used by the admin API before enqueueing).
Status check_probe_payload(const std::string& payload);

}  // namespace rh::jobs
