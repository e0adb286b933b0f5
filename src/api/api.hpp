// The HTTP routes: thin handlers that turn requests into module calls. Every
// route declares who may call it (RouteInfo::access); the check happens in
// one place, in the wrapper that register_routes installs.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "core/async.hpp"
#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "http/router.hpp"
#include "voice/edge_config.hpp"

namespace rh::http {
class WebApp;
}
namespace rh::storage {
class Database;
class BlobStore;
}  // namespace rh::storage
namespace rh::accounts {
class TenantStore;
class UserStore;
class AuthService;
}  // namespace rh::accounts
namespace rh::numbers {
class Inventory;
class ProviderRegistry;
class NumberService;
class PortStore;
}  // namespace rh::numbers
namespace rh::billing {
class Ledger;
class RateStore;
class PaymentWebhook;
class PlanStore;
}  // namespace rh::billing
namespace rh::jobs {
class JobQueue;
class JobWorker;
}  // namespace rh::jobs
namespace rh::messaging {
class MediaStore;
class MessageService;
class HookService;
namespace smpp {
class Gateway;
}
}  // namespace rh::messaging
namespace rh::voice {
class VoiceService;
}

namespace rh::api {

// Who may call /internal/sip/*: the SIP edge, with its key, from its addresses.
struct EdgeAccess {
  std::string key;
  std::vector<std::string> addresses;
};

struct ApiDeps {
  storage::Database& db;
  BlockingPool& pool;
  BlockingPool& hash_pool;  // password hashing (Argon2id): never on `pool`
  std::size_t hash_threads;
  accounts::TenantStore& tenants;
  accounts::UserStore& users;
  accounts::AuthService& auth;
  jobs::JobQueue& queue;
  numbers::Inventory& inventory;
  numbers::ProviderRegistry& providers;
  numbers::NumberService& numbers;
  numbers::PortStore& ports;
  BlockingPool& provider_pool;  // carrier API calls (slow, remote): never on `pool`
  billing::Ledger& ledger;
  billing::RateStore& rates;
  billing::PaymentWebhook& payments;
  billing::PlanStore& plans;
  std::function<void()> jobs_enqueued;  // wakes the local workers
  metrics::Registry& metrics;
  const Clock& clock;
  std::string operator_token_hash;  // sha256 of the operator token
  std::function<bool()> draining;
  std::string version;
  std::string public_url;                    // base of links when nothing better is known
  std::vector<std::string> trusted_proxies;  // peers whose X-Forwarded-For is believed
  messaging::MediaStore& media;              // MMS media
  messaging::MessageService& messages;
  messaging::HookService& hooks;             // carrier webhooks
  messaging::smpp::Gateway* smpp = nullptr;  // null without configured binds
  // Sends wait here for their group commit: enough threads that concurrent
  // sends share commits (null: `pool`).
  BlockingPool* message_pool = nullptr;
  voice::VoiceService* voice = nullptr;  // calls, SIP credentials, the edge's hooks
  EdgeAccess edge;
  // The edge's hooks wait here: every Kamailio worker blocks on its request,
  // so enough threads that concurrent ones share commits (null: `pool`).
  BlockingPool* hook_pool = nullptr;
  const http::Router* router = nullptr;  // for the route listing
  std::atomic<int> hashes_waiting{0};    // backlog of the hashing pool
  voice::BrowserSipOptions browser_sip;  // GET /v1/branding's `sip`
  const http::WebApp* web = nullptr;     // the browser app at /; null: none
};

// The OpenAPI document compiled into the binary (api/openapi.json).
const std::string& openapi_document();

void register_routes(http::Router& router, ApiDeps& deps);

}  // namespace rh::api
