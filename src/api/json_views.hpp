// JSON shapes of the resources the API returns.
#pragma once

#include <boost/json/object.hpp>

#include "accounts/tenants.hpp"
#include "jobs/builtin_jobs.hpp"
#include "jobs/job_queue.hpp"
#include "jobs/outbox.hpp"

namespace rh::api {

boost::json::object tenant_json(const accounts::Tenant& t);
boost::json::object branding_json(const accounts::Tenant& t);
boost::json::object job_json(const jobs::Job& j);
boost::json::object event_json(const jobs::Event& e);
boost::json::object probe_run_json(const jobs::ProbeRun& r);

}  // namespace rh::api
