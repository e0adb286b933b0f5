// Config keys of the job queue and the event dispatcher: [jobs] and [events].
#pragma once
#include "core/config.hpp"
#include "jobs/builtin_jobs.hpp"
#include "jobs/job_queue.hpp"
#include "jobs/outbox.hpp"
namespace rh::jobs {
void declare_config(config::Schema& s);
QueueOptions queue_options(const config::Config& c);
WorkerOptions worker_options(const config::Config& c);
DispatcherOptions dispatcher_options(const config::Config& c);
BuiltinOptions builtin_options(const config::Config& c);
}  // namespace rh::jobs
