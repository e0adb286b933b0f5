// JSON shapes of the resources the API returns.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "accounts/auth.hpp"
#include "accounts/mail.hpp"
#include "accounts/tenants.hpp"
#include "accounts/users.hpp"
#include "jobs/builtin_jobs.hpp"
#include "jobs/job_queue.hpp"
#include "jobs/outbox.hpp"

namespace rh::api {

// An RFC 3339 time, or null when unset (tables store "never" as 0 or NULL).
boost::json::value time_or_null(const std::optional<std::int64_t>& ms);
boost::json::value time_or_null(std::int64_t ms);
boost::json::array string_array(const std::vector<std::string>& v);

boost::json::object tenant_json(const accounts::Tenant& t);
boost::json::object branding_json(const accounts::Tenant& t);
boost::json::object job_json(const jobs::Job& j);
boost::json::object event_json(const jobs::Event& e);
boost::json::object probe_run_json(const jobs::ProbeRun& r);
boost::json::object user_json(const accounts::User& u);
boost::json::object session_json(const accounts::Session& s, const std::string& current_id);
boost::json::object api_key_json(const accounts::ApiKey& k);
boost::json::object tokens_json(const accounts::Tokens& t);
boost::json::object email_json(const accounts::StoredEmail& e);

}  // namespace rh::api
