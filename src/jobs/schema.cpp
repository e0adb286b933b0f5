#include "jobs/schema.hpp"

namespace rh::jobs {

std::vector<storage::Migration> migrations() {
  return {
      {2026112501, "jobs and schedules", R"SQL(
CREATE TABLE jobs (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  kind VARCHAR(100) NOT NULL,
  payload {{text}} NOT NULL,
  state VARCHAR(16) NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  run_at BIGINT NOT NULL,
  lease_owner VARCHAR(100),
  lease_until BIGINT,
  last_error {{text}},
  unique_key VARCHAR(191),
  tenant_id VARCHAR(40),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  finished_at BIGINT
){{table}};
CREATE INDEX jobs_due ON jobs (state, run_at);
CREATE INDEX jobs_kind ON jobs (kind, state);
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key);
CREATE TABLE job_schedules (
  name VARCHAR(100) NOT NULL PRIMARY KEY,
  kind VARCHAR(100) NOT NULL,
  payload {{text}} NOT NULL,
  interval_s BIGINT NOT NULL,
  next_run_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
){{table}}
)SQL"},
      {2026112502, "event outbox", R"SQL(
CREATE TABLE events (
  seq {{id_pk}},
  id VARCHAR(40) NOT NULL,
  tenant_id VARCHAR(40),
  type VARCHAR(100) NOT NULL,
  subject VARCHAR(100),
  payload {{text}} NOT NULL,
  created_at BIGINT NOT NULL,
  dispatched_at BIGINT,
  next_attempt_at BIGINT NOT NULL,
  lease_until BIGINT,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error {{text}}
){{table}};
CREATE UNIQUE INDEX events_id ON events (id);
CREATE INDEX events_pending ON events (dispatched_at, next_attempt_at);
CREATE INDEX events_type ON events (type, seq)
)SQL"},
      {2026112503, "job system probe runs", R"SQL(
CREATE TABLE diag_probe_runs (
  id {{id_pk}},
  job_id VARCHAR(40) NOT NULL,
  note VARCHAR(191),
  attempt INTEGER NOT NULL,
  created_at BIGINT NOT NULL
){{table}};
CREATE INDEX diag_probe_runs_job ON diag_probe_runs (job_id)
)SQL"},
      // The user an event belongs to, for their live feed (GET /v1/events).
      {2026112901, "events of a user", R"SQL(
ALTER TABLE events ADD COLUMN user_id VARCHAR(40);
CREATE INDEX events_user ON events (tenant_id, user_id, seq)
)SQL"},
  };
}

}  // namespace rh::jobs
