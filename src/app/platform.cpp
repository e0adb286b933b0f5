#include "app/platform.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "accounts/auth.hpp"
#include "accounts/mail.hpp"
#include "accounts/settings.hpp"
#include "accounts/tenants.hpp"
#include "accounts/users.hpp"
#include "api/api.hpp"
#include "billing/ledger.hpp"
#include "billing/payments.hpp"
#include "billing/plans.hpp"
#include "billing/rates.hpp"
#include "core/async.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"
#include "core/settings.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "http/settings.hpp"
#include "http/web_app.hpp"
#include "jobs/builtin_jobs.hpp"
#include "jobs/schema.hpp"
#include "jobs/settings.hpp"
#include "messaging/hooks.hpp"
#include "messaging/media.hpp"
#include "messaging/routes.hpp"
#include "messaging/service.hpp"
#include "messaging/smpp/reassembly.hpp"
#include "voice/edge_rpc.hpp"
#include "voice/edge_settings.hpp"
#include "voice/service.hpp"
#include "numbers/inventory.hpp"
#include "numbers/ports.hpp"
#include "numbers/service.hpp"
#include "storage/migrations.hpp"
#include "storage/settings.hpp"

namespace rh::app {

namespace fs = std::filesystem;
namespace asio = boost::asio;

std::string version() {
  return "0.1.0";
}

const config::Schema& schema() {
  static const config::Schema s = [] {
    config::Schema sc;
    core::declare_config(sc);
    http::declare_config(sc);
    storage::declare_config(sc);
    jobs::declare_config(sc);
    accounts::declare_config(sc);
    billing::declare_billing_config(sc);
    numbers::declare_numbers_config(sc);
    messaging::declare_media_config(sc);
    messaging::declare_messaging_config(sc);
    voice::declare_voice_config(sc);
    sc.secret("admin.operator_token",
              "Bearer token for the operator (admin) API. Empty: a token is generated on first "
              "start and kept in <data_dir>/secrets/operator-token.");
    return sc;
  }();
  return s;
}

config::Config load_config(const config::Sources& sources) {
  return config::Config::load(schema(), sources);
}

namespace {

std::vector<storage::Migration> all_migrations() {
  std::vector<storage::Migration> out = jobs::migrations();
  for (auto& m : accounts::migrations()) out.push_back(std::move(m));
  for (auto& m : billing::rate_migrations()) out.push_back(std::move(m));
  for (auto& m : billing::ledger_migrations()) out.push_back(std::move(m));
  for (auto& m : numbers::number_migrations()) out.push_back(std::move(m));
  for (auto& m : billing::plan_migrations()) out.push_back(std::move(m));
  for (auto& m : messaging::media_migrations()) out.push_back(std::move(m));
  for (auto& m : messaging::message_migrations()) out.push_back(std::move(m));
  for (auto& m : messaging::smpp::smpp_migrations()) out.push_back(std::move(m));
  for (auto& m : voice::voice_migrations()) out.push_back(std::move(m));
  return out;
}

// Reads a secret file, creating it with fresh random content when missing.
std::string secret_file(const fs::path& path, std::size_t bytes, bool& created) {
  std::ifstream in(path);
  std::string value;
  if (in && std::getline(in, value) && !value.empty()) return value;
  value = crypto::random_token(bytes);
  fs::path tmp = path;
  tmp += ".tmp";
  {
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
      throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
    std::string line = value + "\n";
    bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
              ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, path);
  created = true;
  return value;
}

void write_run_file(const fs::path& path, const std::string& body) {
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << body;
  }
  fs::rename(tmp, path);
}

}  // namespace

Secrets prepare_data_dir(const config::Config& cfg) {
  fs::path dir = cfg.string("node.data_dir");
  std::error_code ec;
  fs::create_directories(dir / "secrets", ec);
  if (!ec) fs::create_directories(dir / "run", ec);
  if (ec)
    throw std::runtime_error("cannot create data directory " + dir.string() + ": " + ec.message());
  ::chmod((dir / "secrets").c_str(), 0700);
  Secrets s;
  s.operator_token_path = fs::absolute(dir / "secrets" / "operator-token").string();
  bool created = false;
  std::string file_token = secret_file(dir / "secrets" / "operator-token", 32, created);
  s.operator_token_created = created;
  std::string configured = cfg.string("admin.operator_token");
  s.operator_token = configured.empty() ? file_token : configured;
  // Keys: access tokens, encryption of secrets at rest (TOTP), media URLs.
  bool unused = false;
  s.access_token_key = secret_file(dir / "secrets" / "access-token-key", 32, unused);
  s.data_key = secret_file(dir / "secrets" / "data-key", 32, unused);
  secret_file(dir / "secrets" / "url-signing-key", 32, unused);
  std::string edge_key = cfg.string("voice.edge_key");
  s.edge_key = edge_key.empty() ? secret_file(dir / "secrets" / "edge-key", 32, unused) : edge_key;
  return s;
}

accounts::AuthOptions auth_options(const config::Config& cfg, const Secrets& secrets) {
  accounts::AuthOptions o = accounts::auth_options(cfg);
  o.token_key = secrets.access_token_key;
  o.data_key = secrets.data_key;
  return o;
}

storage::Migrator migrator() {
  return storage::Migrator(all_migrations());
}

std::unique_ptr<storage::Database> open_and_migrate(const config::Config& cfg, bool force_migrate) {
  auto db = storage::open_database(cfg);
  if (!db) throw std::runtime_error("cannot open the database: " + db.error().message);
  storage::Migrator m = migrator();
  SystemClock clock;
  if (force_migrate || cfg.boolean("storage.auto_migrate")) {
    auto n = m.migrate(**db, clock.now_ms());
    if (!n) throw std::runtime_error("migration failed: " + n.error().message);
    if (*n > 0) log::get("storage")->info("applied {} migration(s)", *n);
  } else {
    auto pending = m.pending(**db);
    if (!pending)
      throw std::runtime_error("cannot read the schema version: " + pending.error().message);
    if (!pending->empty()) {
      throw std::runtime_error(
          fmt::format("the database needs {} migration(s); run `ringhouse migrate` "
                      "(storage.auto_migrate is off)",
                      pending->size()));
    }
  }
  return std::move(*db);
}

namespace {

// Logs every event at debug level; the stream, push and webhooks consumers
// plug in beside it.
class EventLog final : public jobs::EventConsumer {
 public:
  std::string name() const override { return "log"; }
  Status deliver(const jobs::Event& e) override {
    log::get("events")->debug("{} {} tenant={} subject={}", e.id, e.type, e.tenant_id, e.subject);
    return {};
  }
};

}  // namespace

int serve(const config::Config& cfg) {
  auto logger = log::get("ringhouse");
  Secrets secrets = prepare_data_dir(cfg);
  fs::path run_file = fs::path(cfg.string("node.data_dir")) / "run" / "http.json";
  std::error_code ec;
  fs::remove(run_file, ec);

  auto db = open_and_migrate(cfg, false);
  auto blobs = storage::open_blob_store(cfg);
  SystemClock clock;
  metrics::Registry metrics;

  metrics.add_collector([&db]() -> std::vector<metrics::Sample> {
    auto pool = db->stats();
    return {{"ringhouse_db_pool_connections",
             "Database connections",
             "gauge",
             {{"state", "open"}},
             static_cast<double>(pool.size)},
            {"ringhouse_db_pool_connections",
             "Database connections",
             "gauge",
             {{"state", "in_use"}},
             static_cast<double>(pool.in_use)},
            {"ringhouse_db_pool_waiting",
             "Callers waiting for a database connection",
             "gauge",
             {},
             static_cast<double>(pool.waiting)},
            {"ringhouse_db_pool_waits_total",
             "Times a caller had to wait for a connection",
             "counter",
             {},
             static_cast<double>(pool.waits_total)},
            {"ringhouse_db_transactions_total",
             "Write transactions run",
             "counter",
             {},
             static_cast<double>(pool.transactions)},
            {"ringhouse_db_commits_total",
             "Commits those transactions took (SQLite: concurrent ones share a commit)",
             "counter",
             {},
             static_cast<double>(pool.commits)}};
  });

  accounts::TenantStore tenants(*db, clock);
  if (cfg.boolean("tenants.create_default")) {
    auto t = tenants.ensure_default(accounts::default_tenant(cfg));
    if (!t) throw std::runtime_error("cannot create the default tenant: " + t.error().message);
  }

  jobs::JobQueue queue(*db, clock, jobs::queue_options(cfg));
  jobs::JobWorker worker(queue, *db, metrics, jobs::worker_options(cfg));
  auto builtin = jobs::builtin_options(cfg);
  jobs::register_builtin_jobs(worker, clock, builtin);
  if (auto st = jobs::schedule_builtin_jobs(queue, builtin); !st)
    throw std::runtime_error("cannot schedule built-in jobs: " + st.error().message);

  accounts::SessionCache session_cache(cfg.integer("auth.session_cache_ms"));
  accounts::UserStore users(*db, clock, &session_cache);
  accounts::AuthService auth(*db, queue, clock, auth_options(cfg, secrets), session_cache);
  accounts::register_mail_jobs(worker, clock, accounts::mail_options(cfg));
  accounts::register_auth_jobs(worker, clock, cfg.integer("mail.retention_days") * 86400);
  if (auto st = accounts::schedule_auth_jobs(queue); !st)
    throw std::runtime_error("cannot schedule accounts jobs: " + st.error().message);

  billing::Ledger ledger(clock, billing::ledger_options(cfg));
  billing::RateStore rates(*db, clock);
  billing::PaymentWebhook payments(
      *db, ledger, clock, cfg.string("billing.payment_webhook_secret"),
      [&](const std::string& tenant_id,
          const std::string& user_id) -> Result<billing::PaymentTarget> {
        auto t = tenants.get(tenant_id);
        if (!t) {
          if (t.error().code == Errc::not_found) return billing::PaymentTarget{};
          return t.take_error();
        }
        auto u = users.get(TenantScope{tenant_id}, user_id);
        if (!u && u.error().code != Errc::not_found) return u.take_error();
        return billing::PaymentTarget{t->currency, u.ok()};
      });
  numbers::Inventory inventory(*db, clock);
  numbers::ProviderRegistry providers(*db, clock, secrets.data_key);
  numbers::NumberService number_service(inventory, providers, ledger, queue, tenants, users, clock,
                                        numbers::numbers_options(cfg));
  billing::PlanOptions plan_opts{cfg.integer("billing.renewal_period_s"),
                                 cfg.integer("billing.grace_s"),
                                 cfg.integer("billing.suspended_s")};
  billing::PlanStore plans(
      *db, ledger, clock, plan_opts,
      [&](storage::Connection& c, const billing::Subscription& s, const std::string& event,
          const std::string& subject, const std::string& text) -> Status {
        RH_TRY(jobs::append_event(
            c,
            {event, s.tenant_id, s.id,
             fmt::format(R"({{"subscription_id":"{}","user_id":"{}","plan_id":"{}"}})", s.id,
                         s.user_id, s.plan_id),
             s.user_id},
            clock.now_ms()));
        return accounts::queue_email_to_user(c, queue, clock, users, {s.tenant_id, s.user_id},
                                             subject, text, event);
      });
  plans.register_jobs(worker);
  if (auto st = queue.upsert_schedule("billing.plans", "billing.plans", "{}",
                                      cfg.integer("billing.sweep_interval_s"));
      !st)
    throw std::runtime_error("cannot schedule billing jobs: " + st.error().message);
  number_service.set_plans(&plans);
  numbers::PortStore ports(
      *db, *blobs, clock, secrets.data_key, cfg.integer("billing.renewal_period_s"),
      [&](storage::Connection& c, const numbers::PortRequest& p, const std::string& subject,
          const std::string& text) -> Status {
        return accounts::queue_email_to_user(c, queue, clock, users, {p.tenant_id, p.user_id},
                                             subject, text, "port_request");
      });
  number_service.register_jobs(worker);
  if (auto st = queue.upsert_schedule("numbers.sweep", "numbers.sweep", "{}",
                                      cfg.integer("numbers.sweep_interval_s"));
      !st)
    throw std::runtime_error("cannot schedule numbers jobs: " + st.error().message);

  jobs::EventDispatcher dispatcher(*db, clock, metrics, jobs::dispatcher_options(cfg));
  dispatcher.add_consumer(std::make_shared<EventLog>());
  dispatcher.add_consumer(std::make_shared<accounts::MailDeadLetters>(*db, queue));

  int threads = static_cast<int>(cfg.integer("http.threads"));
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  asio::io_context ioc(threads);
  auto blocking = static_cast<std::size_t>(cfg.integer("storage.blocking_threads"));
  if (blocking == 0) {
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    blocking = db->dialect() == storage::Dialect::sqlite ? std::max(1u, cores / 2) : cores;
  }
  BlockingPool pool(blocking);
  auto hash_threads = static_cast<std::size_t>(cfg.integer("auth.hash_threads"));
  if (hash_threads == 0) hash_threads = std::max(1u, std::thread::hardware_concurrency());
  BlockingPool hash_pool(hash_threads);
  BlockingPool provider_pool(static_cast<std::size_t>(cfg.integer("numbers.provider_threads")));
  std::string url = cfg.string("http.public_url");
  messaging::MediaStore media(*db, *blobs, clock, secrets.data_key, messaging::media_options(cfg),
                              url);
  messaging::MessageService messages(*db, inventory, ledger, rates, &plans, tenants, clock,
                                     messaging::messaging_options(cfg));
  messaging::StoreMediaAccess media_access(media);
  messages.set_media(&media_access);
  auto binds = messaging::parse_smpp_binds(cfg.list("messaging.smpp_binds"));
  if (!binds) throw std::runtime_error(binds.error().field + ": " + binds.error().message);
  BlockingPool smpp_pool(2);  // MO parts and inbound messages are stored off the SMPP thread
  auto send_threads = static_cast<std::size_t>(cfg.integer("messaging.send_threads"));
  if (send_threads == 0)
    send_threads = db->dialect() == storage::Dialect::sqlite
                       ? 32
                       : 4 * std::max(1u, std::thread::hardware_concurrency());
  BlockingPool message_pool(send_threads);
  BlockingPool hook_pool(static_cast<std::size_t>(cfg.integer("voice.hook_threads")));
  std::unique_ptr<messaging::smpp::Gateway> gateway;
  std::unique_ptr<messaging::SmppRoutes> smpp_routes;
  std::vector<messaging::RouteSender*> senders;
  if (!binds->empty()) {
    messaging::smpp::GatewayOptions gopt;
    gopt.binds = *binds;
    gopt.clock = &clock;
    gopt.throttled_retry_after =
        std::chrono::milliseconds(cfg.integer("messaging.smpp_throttle_retry_ms"));
    gopt.link_retry_after = std::chrono::milliseconds(cfg.integer("messaging.smpp_link_retry_ms"));
    gopt.no_bind_retry_after = gopt.link_retry_after;
    gopt.post_blocking = [&smpp_pool](std::function<void()> f) {
      asio::post(smpp_pool.executor(), std::move(f));
    };
    gateway = std::make_unique<messaging::smpp::Gateway>(
        gopt, std::make_shared<messaging::smpp::SqlPartStore>(*db));
    smpp_routes = std::make_unique<messaging::SmppRoutes>(
        *gateway, *binds, messages, smpp_pool,
        std::chrono::milliseconds(cfg.integer("messaging.max_retry_ms")));
    senders.push_back(smpp_routes.get());
  }
  messaging::HttpCarrierRoutes http_routes(
      providers, media, provider_pool,
      static_cast<std::size_t>(cfg.integer("messaging.http_in_flight")),
      std::chrono::milliseconds(cfg.integer("messaging.max_retry_ms")));
  senders.push_back(&http_routes);
  messaging::Dispatcher message_dispatcher(messages, senders, cfg.string("node.id"));
  messages.on_queued([&message_dispatcher] { message_dispatcher.notify(); });
  messaging::HookService hooks(messages, providers, media, clock);
  voice::VoiceService voice_service(*db, inventory, ledger, rates, &plans, tenants, users, clock,
                                    voice::voice_options(cfg));
  voice::EdgeRpc edge_rpc(cfg.string("voice.edge_rpc_url"));
  voice_service.register_jobs(worker);
  if (auto st = queue.upsert_schedule("voice.sweep", "voice.sweep", "{}", 600); !st)
    throw std::runtime_error("cannot schedule voice jobs: " + st.error().message);
  voice_service.on_credential_changed(
      [&edge_rpc](const std::string& username) { (void)edge_rpc.forget_credentials(username); });
  metrics.add_collector([&]() -> std::vector<metrics::Sample> {
    std::vector<metrics::Sample> out;
    auto st = message_dispatcher.stats();
    out.push_back({"ringhouse_messages_in_flight",
                   "Messages handed to a route, outcome pending",
                   "gauge",
                   {},
                   static_cast<double>(st.in_flight)});
    for (auto [kind, n] : {std::pair<const char*, std::uint64_t>{"accepted", st.accepted},
                           {"retried", st.retried},
                           {"failed", st.failed}})
      out.push_back({"ringhouse_message_outcomes_total",
                     "Route outcomes recorded",
                     "counter",
                     {{"outcome", kind}},
                     static_cast<double>(n)});
    out.push_back({"ringhouse_message_dispatcher_transactions_total",
                   "Transactions of the message dispatcher (outcomes and claims)", "counter", {},
                   static_cast<double>(st.transactions)});
    if (gateway) {
      for (const auto& b : gateway->status())
        for (const auto& s : b.sessions) {
          metrics::Labels l{{"bind", s.id}, {"route", b.route}};
          out.push_back({"ringhouse_smpp_bound", "1 when the SMPP session is bound", "gauge", l,
                         s.state == "bound" ? 1.0 : 0.0});
          out.push_back({"ringhouse_smpp_submits_total", "submit_sm sent", "counter", l,
                         static_cast<double>(s.counters.submitted)});
          out.push_back({"ringhouse_smpp_throttled_total", "ESME_RTHROTTLED answers", "counter", l,
                         static_cast<double>(s.counters.throttled)});
          out.push_back({"ringhouse_smpp_outstanding", "submit_sm awaiting a response", "gauge", l,
                         static_cast<double>(s.counters.outstanding)});
          out.push_back({"ringhouse_smpp_max_per_second", "Current throughput cap (0: none)",
                         "gauge", l, s.max_per_second});
        }
    }
    return out;
  });
  http::Router router(metrics);
  http::Server* server_ptr = nullptr;
  api::ApiDeps deps{*db,
                    pool,
                    hash_pool,
                    hash_threads,
                    tenants,
                    users,
                    auth,
                    queue,
                    inventory,
                    providers,
                    number_service,
                    ports,
                    provider_pool,
                    ledger,
                    rates,
                    payments,
                    plans,
                    [&worker] { worker.notify(); },
                    metrics,
                    clock,
                    crypto::sha256(secrets.operator_token),
                    [&server_ptr] { return server_ptr && server_ptr->draining(); },
                    version(),
                    url,
                    cfg.list("http.trusted_proxies"),
                    media,
                    messages,
                    hooks,
                    gateway.get(),
                    &message_pool,
                    &voice_service,
                    {secrets.edge_key, cfg.list("voice.edge_addresses")},
                    &hook_pool};
  deps.browser_sip = voice::browser_sip_options(cfg);
  std::optional<http::WebApp> web;
  if (!cfg.string("web.dir").empty()) {
    web.emplace(http::web_app_options(cfg));
    if (auto why = web->check(); !why.empty()) logger->warn("web app not served yet: {}", why);
    deps.web = &*web;
  }
  api::register_routes(router, deps);
  http::Server server(ioc, router, metrics, http::server_options(cfg));
  server_ptr = &server;
  server.start();
  if (url.empty()) url = fmt::format("http://localhost:{}", server.port());
  deps.public_url = url;
  media.set_public_url(url);

  if (cfg.boolean("jobs.enabled")) worker.start();
  if (cfg.boolean("events.enabled")) dispatcher.start();
  if (gateway) gateway->start();
  if (cfg.boolean("jobs.enabled")) message_dispatcher.start();

  write_run_file(run_file, fmt::format(R"({{"pid":{},"port":{},"address":"{}","url":"{}"}})"
                                       "\n",
                                       ::getpid(), server.port(), cfg.string("http.address"), url));
  logger->info("ringhouse {} serving on {}:{} ({} database, {} I/O threads)", version(),
               cfg.string("http.address"), server.port(), storage::dialect_name(db->dialect()),
               threads);

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  asio::steady_timer drain_timer(ioc);
  auto drain_ms = std::chrono::milliseconds(cfg.integer("http.drain_timeout_ms"));
  signals.async_wait([&](const boost::system::error_code& e, int sig) {
    if (e) return;
    logger->info("signal {}: draining ({} connection(s) open)", sig, server.connections());
    drain_timer.expires_after(drain_ms);
    drain_timer.async_wait([&](const boost::system::error_code& te) {
      if (te) return;
      logger->warn("drain time-out: {} connection(s) still open; stopping", server.connections());
      ioc.stop();
    });
    server.shutdown([&] {
      asio::post(ioc, [&] {
        logger->info("drained");
        ioc.stop();
      });
    });
  });

  std::vector<std::thread> io_threads;
  for (int i = 1; i < threads; ++i) io_threads.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : io_threads) t.join();

  worker.stop();
  dispatcher.stop();
  message_dispatcher.stop();  // waits for outcomes in flight, while the gateway still runs
  if (gateway) gateway.reset();
  provider_pool.stop();  // carrier calls still running answer into the stopped dispatcher
  smpp_pool.stop();
  message_pool.stop();
  hook_pool.stop();
  pool.stop();
  hash_pool.stop();
  fs::remove(run_file, ec);
  logger->info("stopped");
  log::flush();
  return 0;
}

}  // namespace rh::app
