// The HTTP routes: thin handlers that turn requests into module calls. Every
// route declares who may call it (RouteInfo::access); the check happens in
// one place, in the wrapper that register_routes installs.
#pragma once

#include <functional>
#include <string>

#include "core/async.hpp"
#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "http/router.hpp"

namespace rh::storage {
class Database;
class BlobStore;
}  // namespace rh::storage
namespace rh::accounts {
class TenantStore;
}
namespace rh::jobs {
class JobQueue;
class JobWorker;
}  // namespace rh::jobs

namespace rh::api {

struct ApiDeps {
  storage::Database& db;
  BlockingPool& pool;
  accounts::TenantStore& tenants;
  jobs::JobQueue& queue;
  std::function<void()> jobs_enqueued;  // wakes the local workers
  metrics::Registry& metrics;
  const Clock& clock;
  std::string operator_token_hash;  // sha256 of the operator token
  std::function<bool()> draining;
  std::string version;
  const http::Router* router = nullptr;  // for the route listing
};

// The OpenAPI document compiled into the binary (api/openapi.json).
const std::string& openapi_document();

void register_routes(http::Router& router, ApiDeps& deps);

}  // namespace rh::api
