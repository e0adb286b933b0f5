#include "jobs/settings.hpp"

namespace rh::jobs {

void declare_config(config::Schema& s) {
  s.boolean("jobs.enabled", true, "Run job workers on this node.");
  s.integer("jobs.workers", 2, "Worker threads running jobs.", 1, 256);
  s.integer("jobs.poll_ms", 500,
            "How often idle workers look for due jobs (they are also woken "
            "when this node enqueues one).",
            10, 60000);
  s.integer("jobs.lease_seconds", 60,
            "How long a worker holds a job; a job whose worker died is run again after this.", 1,
            86400);
  s.integer("jobs.max_attempts", 8,
            "Attempts before a failing job is dead-lettered (a job may set its own).", 1, 100);
  s.integer("jobs.retry_base_ms", 1000,
            "First retry delay; each further retry doubles it, with jitter.", 1, 3600000);
  s.integer("jobs.retry_max_ms", 3600000, "Longest retry delay.", 1, 86400000);
  s.integer("jobs.retention_days", 7, "Finished jobs are deleted after this many days.", 1, 3650);
  s.boolean("events.enabled", true, "Run the event dispatcher on this node.");
  s.integer("events.poll_ms", 500, "How often the dispatcher looks for undelivered events.", 10,
            60000);
  s.integer("events.retention_days", 30, "Delivered events are deleted after this many days.", 1,
            3650);
}

QueueOptions queue_options(const config::Config& c) {
  QueueOptions o;
  o.default_max_attempts = static_cast<int>(c.integer("jobs.max_attempts"));
  o.retry_base_ms = c.integer("jobs.retry_base_ms");
  o.retry_max_ms = c.integer("jobs.retry_max_ms");
  o.lease_ms = c.integer("jobs.lease_seconds") * 1000;
  return o;
}

WorkerOptions worker_options(const config::Config& c) {
  WorkerOptions o;
  o.threads = static_cast<int>(c.integer("jobs.workers"));
  o.poll_ms = static_cast<int>(c.integer("jobs.poll_ms"));
  o.node_id = c.string("node.id");
  return o;
}

DispatcherOptions dispatcher_options(const config::Config& c) {
  DispatcherOptions o;
  o.poll_ms = static_cast<int>(c.integer("events.poll_ms"));
  return o;
}

BuiltinOptions builtin_options(const config::Config& c) {
  BuiltinOptions o;
  o.job_retention_s = c.integer("jobs.retention_days") * 86400;
  o.event_retention_s = c.integer("events.retention_days") * 86400;
  return o;
}

}  // namespace rh::jobs
