// ringhouse: the one binary. `up` runs the whole platform on one machine,
// `serve` the API server alone; `migrate`, `config` and `admin` are tools.
#include <sys/resource.h>

#include <fmt/format.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "accounts/auth.hpp"
#include "accounts/settings.hpp"
#include "accounts/tenants.hpp"
#include "api/json_views.hpp"
#include "app/cli.hpp"
#include "app/platform.hpp"
#include "app/supervisor.hpp"
#include "voice/edge_config.hpp"
#include "voice/edge_settings.hpp"
#include "voice/tls_certificate.hpp"
#include "billing/ledger.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"
#include "http/settings.hpp"
#include "jobs/job_queue.hpp"
#include "jobs/settings.hpp"
#include "numbers/inventory.hpp"
#include "storage/migrations.hpp"
#include "storage/settings.hpp"

namespace fs = std::filesystem;
using namespace rh;

namespace {

constexpr const char* kUsage = R"(ringhouse — a self-hosted second-phone-number platform

Usage:
  ringhouse up      [options]   run the whole platform on this machine (embedded defaults)
  ringhouse serve   [options]   run the API server alone (production, under systemd)
  ringhouse migrate [options] [--status]
                                apply pending database migrations, or list them
  ringhouse config --defaults   print a complete, commented configuration file
  ringhouse config --markdown   print the configuration reference (docs/config.md)
  ringhouse config --show [options]
                                print the effective configuration and where each value came from
  ringhouse admin create-tenant --slug S --name N [--hostname H]... [--country CC] [--currency CUR]
  ringhouse admin create-user --tenant SLUG --email E [--role R] [--name N] [--password-stdin]
                                create an active user (a password is generated unless read from stdin)
  ringhouse admin set-role --tenant SLUG --email E --role R
                                roles: user, support, tenant_admin, platform_admin
  ringhouse admin reset-password --tenant SLUG --email E [--password-stdin]
                                set a new password (generated unless read from stdin) and end the
                                user's sessions and API keys
  ringhouse admin reset-totp --tenant SLUG --email E
                                turn two-step verification off (a lost authenticator) and end
                                the user's sessions
  ringhouse admin import-numbers [--tenant SLUG] FILE.csv
                                add the operator's own DIDs to a tenant's pool (all rows or none;
                                columns: docs/operations.md)
  ringhouse admin check-ledger [--tenant SLUG]
                                verify that every tenant's ledger balances (exit 1 if not)
  ringhouse admin operator-token [options]
                                print where the operator (admin API) token is kept
  ringhouse edge-config [options] [--out DIR]
                                render the SIP edge's kamailio.cfg for `serve` deployments (default
                                DIR: <data_dir>/run/edge) and print Kamailio's and rtpengine's
                                command lines (docs/sip-edge.md)
  ringhouse version

Options (every command that reads configuration):
  --config FILE       TOML configuration file
  --data-dir DIR      same as --set node.data_dir=DIR (default ./data)
  --http-port N       same as --set http.port=N (default 8080; 0 picks a free port)
  --set KEY=VALUE     set any key (see `ringhouse config --defaults`); repeatable
Precedence: --set/--data-dir/--http-port > RINGHOUSE_* environment > --config file > defaults.
)";

log::Options log_options(const config::Config& cfg) {
  return {cfg.string("log.level"), cfg.string("log.format"), cfg.string("log.access_log")};
}

std::string self_exe(const char* argv0) {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(argv0) : p.string();
}

// The SIP edge's options from the configuration, with the key, the runtime
// directory and (in development) a generated TLS certificate.
voice::EdgeOptions prepare_edge(const config::Config& cfg, const app::Secrets& secrets,
                                const fs::path& data) {
  voice::EdgeOptions eo = voice::edge_options(cfg);
  eo.edge_key = secrets.edge_key;
  eo.runtime_dir = (data / "run" / "edge").string();
  fs::create_directories(eo.runtime_dir);
  if (eo.tls_certificate.empty() && (eo.tls_port != 0 || eo.wss_port != 0)) {
    eo.tls_certificate = (data / "secrets" / "edge-tls.crt").string();
    eo.tls_private_key = (data / "secrets" / "edge-tls.key").string();
    auto st = voice::ensure_self_signed_certificate(
        eo.tls_certificate, eo.tls_private_key,
        eo.advertised_ip.empty() ? eo.listen_ip : eo.advertised_ip);
    if (!st)
      throw std::runtime_error("cannot create the SIP edge's TLS certificate: " +
                               st.error().message);
  }
  for (const char* program : {"kamailio", "rtpengine"}) {
    if (!app::find_program(program))
      throw std::runtime_error(fmt::format(
          "{} is not installed: run scripts/install-deps.sh (or set voice.edge=false to run "
          "without calls)",
          program));
  }
  return eo;
}

// `ringhouse edge-config`: the SIP edge's files for a `serve` deployment
// (systemd units in docs/sip-edge.md): kamailio.cfg for the API's port, and
// the two command lines.
int cmd_edge_config(const app::CommandLine& cl, const config::Config& cfg) {
  log::setup({cfg.string("log.level"), cfg.string("log.format"), "off"});
  app::Secrets secrets = app::prepare_data_dir(cfg);
  fs::path data = fs::absolute(cfg.string("node.data_dir"));
  voice::EdgeOptions eo = prepare_edge(cfg, secrets, data);
  auto port = cfg.integer("http.port");
  if (port == 0)
    throw config::ConfigError("http.port: the SIP edge needs the API's fixed port (not 0)");
  eo.hook_url = fmt::format("http://127.0.0.1:{}/internal/sip", port);
  auto out = cl.options_named("out");
  fs::path dir = out.empty() ? fs::path(eo.runtime_dir) : fs::absolute(out.back());
  fs::create_directories(dir);
  fs::path cfg_path = dir / "kamailio.cfg";
  std::ofstream(cfg_path, std::ios::trunc) << voice::render_kamailio_cfg(eo);
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& a : v) s += (s.empty() ? "" : " ") + a;
    return s;
  };
  std::cout << "wrote " << cfg_path.string() << "\n"
            << "kamailio:  " << join(app::resolve_program(voice::kamailio_argv(eo, cfg_path.string())))
            << "\nrtpengine: " << join(app::resolve_program(voice::rtpengine_argv(eo))) << "\n";
  return 0;
}

int cmd_up(const app::CommandLine& cl, const config::Config& cfg, const char* argv0) {
  log::setup({cfg.string("log.level"), cfg.string("log.format"), "off"});
  app::Secrets secrets = app::prepare_data_dir(cfg);
  // Migrate here, so that problems show before any child starts; serve
  // repeats it as a no-op. While no platform admin exists, each start prints
  // a fresh one-time bootstrap token (the previous one stops working).
  std::optional<std::string> bootstrap;
  {
    auto db = app::open_and_migrate(cfg, false);
    SystemClock clock;
    jobs::JobQueue queue(*db, clock, jobs::queue_options(cfg));
    accounts::SessionCache no_cache(0);
    accounts::AuthService auth(*db, queue, clock, app::auth_options(cfg, secrets), no_cache);
    auto t = auth.issue_bootstrap_token();
    if (!t) throw std::runtime_error("cannot issue a bootstrap token: " + t.error().message);
    bootstrap = *t;
  }
  fs::path data = fs::absolute(cfg.string("node.data_dir"));
  fs::path run_file = data / "run" / "http.json";
  std::error_code ec;
  fs::remove(run_file, ec);

  std::vector<std::string> argv{self_exe(argv0), "serve"};
  for (auto& a : app::config_arguments(cl)) argv.push_back(a);

  // The SIP edge: rtpengine at once; Kamailio once the API answers (its
  // config names the API's port, which may be picked at start).
  const bool edge = cfg.boolean("voice.edge");
  voice::EdgeOptions eo;
  if (edge) {
    eo = prepare_edge(cfg, secrets, data);
    if (eo.rpc_port != 0 && cfg.string("voice.edge_rpc_url").empty()) {
      argv.push_back("--set");
      argv.push_back(fmt::format("voice.edge_rpc_url=http://127.0.0.1:{}/RPC", eo.rpc_port));
    }
  }
  // Children inherit the open-file limit: rtpengine holds two sockets per
  // media stream, Kamailio one per TCP/WebSocket client. Raise the soft
  // limit to the hard one.
  struct rlimit nofile {};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  app::Supervisor sup(std::chrono::milliseconds(cfg.integer("http.drain_timeout_ms") + 5000));
  sup.add({"api", argv, 3});
  if (edge) sup.add({"rtpengine", app::resolve_program(voice::rtpengine_argv(eo)), 3});
  sup.on_tick([&]() -> bool {
    std::ifstream in(run_file);
    std::stringstream ss;
    ss << in.rdbuf();
    boost::system::error_code jec;
    auto v = boost::json::parse(ss.str(), jec);
    if (jec || !v.is_object()) return false;
    if (v.as_object()["pid"].to_number<long>() != sup.pid_of("api")) return false;
    std::string url(v.as_object()["url"].as_string());
    std::string sip;
    if (edge) {
      eo.hook_url = fmt::format("http://127.0.0.1:{}/internal/sip",
                                v.as_object()["port"].to_number<long>());
      fs::path cfg_path = fs::path(eo.runtime_dir) / "kamailio.cfg";
      std::ofstream(cfg_path, std::ios::trunc) << voice::render_kamailio_cfg(eo);
      sup.add({"kamailio", app::resolve_program(voice::kamailio_argv(eo, cfg_path.string())), 3});
      std::string host = eo.advertised_ip.empty() ? eo.listen_ip : eo.advertised_ip;
      sip = fmt::format(
          "  SIP edge        sip:{0}:{1} (UDP, TCP){2}{3}\n"
          "                  domain {4}; devices register with credentials from "
          "POST /v1/sip-credentials\n",
          host, eo.sip_port, eo.tls_port ? fmt::format(", sips:{}:{}", host, eo.tls_port) : "",
          eo.wss_port ? fmt::format(", wss://{}:{}", host, eo.wss_port) : "", eo.sip_domain);
    }
    std::string web;
    if (!cfg.string("web.dir").empty()) {
      bool built = http::WebApp(http::web_app_options(cfg)).check().empty();
      web = fmt::format("  Web app         {}\n",
                        built ? url + "/" : "not built yet: npm --prefix web run build");
    }
    std::string db = cfg.string("storage.driver") == "mariadb"
                         ? std::string("MariaDB")
                         : "SQLite " + (cfg.string("storage.sqlite_path").empty()
                                            ? (data / "ringhouse.db").string()
                                            : cfg.string("storage.sqlite_path"));
    std::cout
        << fmt::format(
               "\nRinghouse is up.\n\n"
               "{7}"
               "  Branding        {0}/v1/branding\n"
               "  API document    {0}/v1/openapi.json\n"
               "  Health          {0}/healthz   {0}/readyz\n"
               "  Metrics         {0}/metrics\n{6}\n"
               "  Data            {1}\n"
               "  Database        {2}\n"
               "  Operator token  {3}{4}\n"
               "                  (send it as Authorization: Bearer <token> to /v1/admin/*)\n\n"
               "{5}"
               "Press Ctrl-C to stop.\n",
               url, data.string(), db, secrets.operator_token_path,
               secrets.operator_token_created ? "  (new)" : "",
               bootstrap
                   ? fmt::format("  First admin     no platform admin yet: create one with this "
                                 "one-time token\n"
                                 "                  (valid 7 days, replaced at the next start):\n\n"
                                 "    curl -X POST {0}/v1/auth/bootstrap -H 'Content-Type: "
                                 "application/json' \\\n"
                                 "      -d '{{\"token\":\"{1}\",\"email\":\"you@example.com\","
                                 "\"password\":\"...\"}}'\n\n"
                                 "                  then sign in and turn on two-step "
                                 "verification (POST /v1/me/totp).\n\n",
                                 url, *bootstrap)
                   : std::string(),
               sip, web)
        << std::flush;
    return true;
  });
  return sup.run();
}

int cmd_migrate(const app::CommandLine& cl, const config::Config& cfg) {
  log::setup(log_options(cfg));
  app::prepare_data_dir(cfg);
  if (cl.has_flag("status")) {
    auto db = storage::open_database(cfg);
    if (!db) throw std::runtime_error(db.error().message);
    storage::Migrator m = app::migrator();
    auto applied = m.applied(**db);
    if (!applied) throw std::runtime_error(applied.error().message);
    auto pending = m.pending(**db);
    if (!pending) throw std::runtime_error(pending.error().message);
    for (const auto& a : *applied)
      std::cout << "applied  " << a.version << "  " << a.name << "  "
                << format_rfc3339(a.applied_at_ms) << "\n";
    for (const auto& p : *pending) std::cout << "pending  " << p.version << "  " << p.name << "\n";
    return 0;
  }
  auto db = app::open_and_migrate(cfg, true);
  std::cout << "database is at the current schema\n";
  return 0;
}

// A password from stdin (one line), or a generated one that is printed.
std::string new_password(const app::CommandLine& cl, bool& generated) {
  generated = !cl.has_flag("password-stdin");
  if (generated) return crypto::random_token(15);
  std::string pw;
  std::getline(std::cin, pw);
  if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  return pw;
}

int cmd_admin_user(const std::string& sub, const app::CommandLine& cl, const config::Config& cfg) {
  auto secrets = app::prepare_data_dir(cfg);
  auto db = app::open_and_migrate(cfg, false);
  SystemClock clock;
  accounts::TenantStore tenants(*db, clock);
  jobs::JobQueue queue(*db, clock, jobs::queue_options(cfg));
  accounts::SessionCache no_cache(0);
  accounts::AuthService auth(*db, queue, clock, app::auth_options(cfg, secrets), no_cache);
  auto slug = cl.option("tenant");
  auto email = cl.option("email");
  if (!email) {
    std::cerr << "admin " << sub << " needs --email (and --tenant SLUG unless the default)\n";
    return 2;
  }
  if (!slug && cfg.boolean("tenants.create_default")) {
    if (auto t = tenants.ensure_default(accounts::default_tenant(cfg)); !t) {
      std::cerr << "cannot create the default tenant: " << t.error().message << "\n";
      return 1;
    }
  }
  auto tenant = slug ? tenants.get_by_slug(*slug) : tenants.resolve_host("");
  if (!tenant) {
    std::cerr << "no such tenant: " << tenant.error().message << "\n";
    return 1;
  }
  auto fail = [](const Error& e) {
    std::cerr << "ringhouse: " << (e.field.empty() ? "" : e.field + " ") << e.message << "\n";
    return 1;
  };
  std::optional<Role> role;
  if (auto r = cl.option("role")) {
    role = parse_role(*r);
    if (!role) {
      std::cerr << "--role must be one of user, support, tenant_admin, platform_admin\n";
      return 2;
    }
  }
  if (sub == "set-role") {
    if (!role) {
      std::cerr << "admin set-role needs --role\n";
      return 2;
    }
    auto u = auth.find_user(tenant->id, *email);
    if (!u) return fail(u.error());
    auto changed = auth.set_role(u->id, *role);
    if (!changed) return fail(changed.error());
    std::cout << boost::json::serialize(api::user_json(*changed)) << "\n";
    return 0;
  }
  if (sub == "reset-totp") {
    auto u = auth.find_user(tenant->id, *email);
    if (!u) return fail(u.error());
    if (auto st = auth.reset_totp(u->id); !st) return fail(st.error());
    std::cout << "two-step verification is off for " << u->email
              << "; sessions ended (a staff member must turn it on again to act as staff)\n";
    return 0;
  }
  bool generated = false;
  std::string pw = new_password(cl, generated);
  auto norm = accounts::normalise_email(*email);
  if (!norm) return fail(norm.error());
  if (auto st = accounts::check_new_password(pw, *norm, auth.options().password_min_length); !st)
    return fail(st.error());
  auto hash = auth.hash_password(pw);
  if (!hash) return fail(hash.error());
  if (sub == "create-user") {
    auto u = auth.create_user(tenant->id, *norm, *hash, role.value_or(Role::user),
                              cl.option("name").value_or(""));
    if (!u) return fail(u.error());
    std::cout << boost::json::serialize(api::user_json(*u)) << "\n";
  } else {
    auto u = auth.find_user(tenant->id, *norm);
    if (!u) return fail(u.error());
    if (auto st = auth.set_password(u->id, *hash); !st) return fail(st.error());
    std::cout << "password reset for " << u->email << "; sessions and API keys revoked\n";
  }
  if (generated) std::cout << "password: " << pw << "\n";
  return 0;
}

int cmd_admin_billing(const std::string& sub, const app::CommandLine& cl,
                      const config::Config& cfg) {
  app::prepare_data_dir(cfg);
  auto db = app::open_and_migrate(cfg, false);
  SystemClock clock;
  accounts::TenantStore tenants(*db, clock);
  if (cfg.boolean("tenants.create_default")) {
    if (auto t = tenants.ensure_default(accounts::default_tenant(cfg)); !t) {
      std::cerr << "cannot create the default tenant: " << t.error().message << "\n";
      return 1;
    }
  }
  auto slug = cl.option("tenant");
  if (sub == "check-ledger") {
    billing::Ledger ledger(clock, {});
    std::vector<accounts::Tenant> list;
    if (slug) {
      auto t = tenants.get_by_slug(*slug);
      if (!t) {
        std::cerr << "no such tenant: " << t.error().message << "\n";
        return 1;
      }
      list.push_back(*t);
    } else {
      auto all = tenants.list("", 1000);
      if (!all) {
        std::cerr << all.error().message << "\n";
        return 1;
      }
      list = *all;
    }
    bool ok = true;
    for (const auto& t : list) {
      auto a = db->read<billing::Ledger::Audit>(
          [&](storage::Connection& c) { return ledger.audit(c, t.id); });
      if (!a) {
        std::cerr << t.slug << ": " << a.error().message << "\n";
        return 1;
      }
      bool good = a->sum_micros == 0 && a->mismatched_accounts.empty();
      ok &= good;
      std::cout << t.slug << ": " << (good ? "balanced" : "NOT BALANCED") << " (sum "
                << a->sum_micros << ", " << a->mismatched_accounts.size()
                << " wallet(s) disagreeing with their postings)\n";
    }
    return ok ? 0 : 1;
  }
  if (cl.positional.size() < 3) {
    std::cerr << "admin import-numbers needs a CSV file (or - for standard input)\n";
    return 2;
  }
  auto tenant = slug ? tenants.get_by_slug(*slug) : tenants.resolve_host("");
  if (!tenant) {
    std::cerr << "no such tenant: " << tenant.error().message << "\n";
    return 1;
  }
  std::string path = cl.positional[2];
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::cerr << "cannot read " << path << "\n";
      return 1;
    }
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  numbers::Inventory inventory(*db, clock);
  auto r = inventory.import_csv({tenant->id, tenant->default_country}, text);
  if (!r) {
    std::cerr << "ringhouse: " << r.error().message << "\n";
    return 1;
  }
  if (!r->problems.empty()) {
    for (const auto& p : r->problems)
      std::cerr << path << ":" << p.line << ": " << p.message << "\n";
    std::cerr << "nothing was imported (" << r->problems.size() << " bad line(s))\n";
    return 1;
  }
  std::cout << "imported " << r->imported << " number(s) into " << tenant->slug << "\n";
  return 0;
}

int cmd_admin(const app::CommandLine& cl, const config::Config& cfg) {
  log::setup({cfg.string("log.level"), cfg.string("log.format"), "off"});
  std::string sub = cl.positional.size() > 1 ? cl.positional[1] : "";
  if (sub == "operator-token") {
    auto s = app::prepare_data_dir(cfg);
    std::cout << s.operator_token_path << "\n";
    return 0;
  }
  if (sub == "create-tenant") {
    app::prepare_data_dir(cfg);
    auto db = app::open_and_migrate(cfg, false);
    SystemClock clock;
    accounts::TenantStore tenants(*db, clock);
    accounts::TenantInput in;
    in.slug = cl.option("slug");
    in.name = cl.option("name");
    if (!in.slug || !in.name) {
      std::cerr << "admin create-tenant needs --slug and --name\n";
      return 2;
    }
    auto hosts = cl.options_named("hostname");
    if (!hosts.empty()) in.hostnames = hosts;
    if (auto c = cl.option("country")) in.default_country = *c;
    if (auto c = cl.option("currency")) in.currency = *c;
    if (auto c = cl.option("display-name")) in.display_name = *c;
    auto t = tenants.create(in);
    if (!t) {
      std::cerr << "cannot create the tenant: " << t.error().message << "\n";
      return 1;
    }
    std::cout << boost::json::serialize(api::tenant_json(*t)) << "\n";
    return 0;
  }
  if (sub == "create-user" || sub == "set-role" || sub == "reset-password" || sub == "reset-totp")
    return cmd_admin_user(sub, cl, cfg);
  if (sub == "import-numbers" || sub == "check-ledger") return cmd_admin_billing(sub, cl, cfg);
  std::cerr << "unknown admin command '" << sub << "'\n\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    crypto::init();
    auto cl = app::parse_command_line(
        argc, argv, {"defaults", "markdown", "show", "status", "help", "password-stdin"});
    std::string cmd = cl.positional.empty() ? "" : cl.positional[0];
    if (cmd.empty() || cmd == "help" || cl.has_flag("help")) {
      std::cout << kUsage;
      return cmd.empty() && !cl.has_flag("help") ? 2 : 0;
    }
    if (cmd == "version") {
      std::cout << "ringhouse " << app::version() << "\n";
      return 0;
    }
    if (cmd == "config" && cl.has_flag("defaults")) {
      std::cout << app::schema().render_defaults_toml();
      return 0;
    }
    if (cmd == "config" && cl.has_flag("markdown")) {
      std::cout << app::schema().render_markdown();
      return 0;
    }
    auto cfg = app::load_config(app::config_sources(cl));
    if (cmd == "config") {
      std::cout << cfg.render_effective();
      return 0;
    }
    if (cmd == "serve") {
      log::setup(log_options(cfg));
      return app::serve(cfg);
    }
    if (cmd == "up") return cmd_up(cl, cfg, argv[0]);
    if (cmd == "edge-config") return cmd_edge_config(cl, cfg);
    if (cmd == "migrate") return cmd_migrate(cl, cfg);
    if (cmd == "admin") return cmd_admin(cl, cfg);
    std::cerr << "unknown command '" << cmd << "'\n\n" << kUsage;
    return 2;
  } catch (const config::ConfigError& e) {
    std::cerr << "ringhouse: configuration error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ringhouse: " << e.what() << "\n";
    log::flush();
    return 1;
  }
}
