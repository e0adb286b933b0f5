// The process from the outside: configuration precedence and errors, graceful
// drain on SIGTERM, `migrate`, `admin`, and `up` supervising the server.
#include <signal.h>
#include <sys/wait.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "e2e/e2e_fixture.hpp"

namespace rh::test {

namespace fs = std::filesystem;

TEST(Config, PrecedenceIsCommandLineThenEnvironmentThenFile) {
  std::string dir = make_temp_dir("rh-cfg");
  std::string file = dir + "/ringhouse.toml";
  std::ofstream(file)
      << "[http]\nport = 1111\nthreads = 3\nmax_connections = 77\n[log]\nlevel = \"debug\"\n";
  auto r = run_ringhouse({"config", "--show", "--config", file, "--set", "http.port=3333"},
                         {{"RINGHOUSE_HTTP_PORT", "2222"}, {"RINGHOUSE_HTTP_THREADS", "4"}});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("port = 3333  # command line"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("threads = 4  # environment"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("max_connections = 77  # file"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("level = \"debug\"  # file"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("request_timeout_ms = 15000  # default"), std::string::npos) << r.output;
  fs::remove_all(dir);
}

TEST(Config, BadValueStopsStartUpNamingTheKey) {
  auto r =
      run_ringhouse({"serve", "--data-dir", "/tmp/rh-never-created", "--set", "http.port=70000"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("'http.port'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("between 0 and 65535"), std::string::npos) << r.output;
  auto env = run_ringhouse({"serve"}, {{"RINGHOUSE_STORAGE_DRIVER", "oracle"}});
  EXPECT_EQ(env.exit_code, 2);
  EXPECT_NE(env.output.find("'storage.driver' (environment)"), std::string::npos) << env.output;
  auto unknown = run_ringhouse({"serve", "--set", "http.prot=1"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.output.find("http.prot"), std::string::npos) << unknown.output;
  std::string dir = make_temp_dir("rh-cfg");
  std::ofstream(dir + "/bad.toml") << "[jobs]\nworkers = \"many\"\n";
  auto file = run_ringhouse({"serve", "--config", dir + "/bad.toml"});
  EXPECT_EQ(file.exit_code, 2);
  EXPECT_NE(file.output.find("'jobs.workers' (file)"), std::string::npos) << file.output;
  fs::remove_all(dir);
}

TEST(Config, DefaultsFileIsCompleteAndDocumented) {
  auto defaults = run_ringhouse({"config", "--defaults"});
  ASSERT_EQ(defaults.exit_code, 0);
  // It loads back as a configuration file (every key at its default).
  std::string dir = make_temp_dir("rh-cfg");
  std::ofstream(dir + "/defaults.toml") << defaults.output;
  auto shown = run_ringhouse({"config", "--show", "--config", dir + "/defaults.toml"});
  EXPECT_EQ(shown.exit_code, 0) << shown.output;
  EXPECT_EQ(shown.output.find("# default"), std::string::npos)
      << "a key is missing from --defaults";
  // docs/config.md is the binary's own reference, kept in step.
  auto md = run_ringhouse({"config", "--markdown"});
  std::ifstream doc(std::string(RH_SOURCE_DIR) + "/docs/config.md");
  std::stringstream ss;
  ss << doc.rdbuf();
  EXPECT_EQ(ss.str(), md.output)
      << "docs/config.md is stale: run `ringhouse config --markdown > docs/config.md`";
  fs::remove_all(dir);
}

class Lifecycle : public E2E {};
RH_E2E_ON_BOTH_DRIVERS(Lifecycle);

TEST_P(Lifecycle, SigtermDrainsAnInFlightRequest) {
  auto p = start();
  std::string token = p->operator_token();
  std::string body = R"({"slug":"drained","name":"Drained"})";
  // A request whose headers are in but whose body is still coming.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket sock(ioc);
  sock.connect({boost::asio::ip::make_address("127.0.0.1"), p->port()});
  std::string head =
      "POST /v1/admin/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Authorization: Bearer " +
      token + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  boost::asio::write(sock, boost::asio::buffer(head + body.substr(0, 5)));
  // In flight: ours, and the /metrics request that reports it.
  ASSERT_TRUE(eventually([&] {
    return http_get(p->port(), "/metrics").body.find("ringhouse_http_requests_in_flight 2\n") !=
           std::string::npos;
  }));
  p->signal(SIGTERM);
  // Draining: no new connections are accepted...
  ASSERT_TRUE(eventually([&] { return p->log().find("draining") != std::string::npos; }));
  // ...but the request in flight completes.
  boost::asio::write(sock, boost::asio::buffer(body.substr(5)));
  std::string got;
  char buf[4096];
  boost::system::error_code ec;
  for (;;) {
    std::size_t n = sock.read_some(boost::asio::buffer(buf), ec);
    if (ec) break;
    got.append(buf, n);
  }
  EXPECT_EQ(raw_status(got), 201) << got;
  EXPECT_NE(got.find("Connection: close"), std::string::npos) << got;
  auto st = p->wait_exit(std::chrono::seconds(20));
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << p->log();
  EXPECT_NE(p->log().find("drained"), std::string::npos);
  // The tenant it created is durable.
  auto again = start({}, p->data_dir());
  EXPECT_EQ(http_get(again->port(), "/v1/admin/tenants?limit=10", token).body.find("drained") !=
                std::string::npos,
            true);
}

TEST_P(Lifecycle, MigrateAndAdminCommands) {
  std::string dir = make_temp_dir("rh-admin");
  std::vector<std::string> base{"--data-dir", dir};
  for (auto& a : db_args()) base.push_back(a);
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), base.begin(), base.end());
    return run_ringhouse(args);
  };
  auto before = with({"migrate", "--status"});
  EXPECT_EQ(before.exit_code, 0) << before.output;
  EXPECT_NE(before.output.find("pending  2026112510  tenants"), std::string::npos) << before.output;
  auto m = with({"migrate"});
  EXPECT_EQ(m.exit_code, 0) << m.output;
  auto after = with({"migrate", "--status"});
  EXPECT_EQ(after.output.find("pending"), std::string::npos) << after.output;
  EXPECT_NE(after.output.find("applied  2026112510  tenants"), std::string::npos) << after.output;
  auto t = with(
      {"admin", "create-tenant", "--slug", "cli", "--name", "From CLI", "--hostname", "cli.test"});
  ASSERT_EQ(t.exit_code, 0) << t.output;
  EXPECT_NE(t.output.find("\"slug\":\"cli\""), std::string::npos) << t.output;
  auto dup = with({"admin", "create-tenant", "--slug", "cli", "--name", "Again"});
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_NE(dup.output.find("already exists"), std::string::npos) << dup.output;
  auto p = start({}, dir);
  HttpRequest req;
  req.target = "/v1/branding";
  req.headers["Host"] = "cli.test";
  EXPECT_NE(http(p->port(), req).body.find("From CLI"), std::string::npos);
  p.reset();
  fs::remove_all(dir);
}

TEST(Up, SupervisesTheServerAndStopsCleanly) {
  ProcessOptions o;
  o.command = "up";
  // The SIP edge listens on fixed ports by default: its supervision is
  // tested with random ones in voice_test.cpp.
  o.args = {"--set", "voice.edge=false"};
  auto up = std::make_unique<RinghouseProcess>(o);
  ASSERT_GT(up->port(), 0);
  ASSERT_TRUE(eventually([&] { return up->log().find("Ringhouse is up.") != std::string::npos; }))
      << up->log();
  EXPECT_NE(up->log().find("/v1/openapi.json"), std::string::npos);
  EXPECT_NE(up->log().find("operator-token"), std::string::npos);
  EXPECT_EQ(http_get(up->port(), "/readyz").status, 200);
  // The data directory has the database, blobs and secrets.
  EXPECT_TRUE(fs::exists(up->data_dir() + "/ringhouse.db"));
  EXPECT_TRUE(fs::is_directory(up->data_dir() + "/blobs"));
  EXPECT_EQ(
      fs::status(up->data_dir() + "/secrets/operator-token").permissions() & fs::perms::others_all,
      fs::perms::none);

  // Kill the server it supervises: it comes back.
  auto read_pid = [&] {
    auto run = read_run_file(up->data_dir());
    return run ? run->pid : 0L;
  };
  long child = read_pid();
  ASSERT_GT(child, 0);
  ::kill(static_cast<pid_t>(child), SIGKILL);
  ASSERT_TRUE(eventually(
      [&] {
        long now = read_pid();
        return now > 0 && now != child;
      },
      std::chrono::seconds(20)))
      << up->log();
  ASSERT_TRUE(eventually([&] {
    auto run = read_run_file(up->data_dir());
    if (!run) return false;
    try {
      return http_get(run->port, "/readyz").status == 200;
    } catch (const std::exception&) {
      return false;
    }
  }));
  EXPECT_NE(up->log().find("restarting in"), std::string::npos);

  // SIGTERM stops everything.
  long second = read_pid();
  up->signal(SIGTERM);
  auto st = up->wait_exit(std::chrono::seconds(30));
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << up->log();
  EXPECT_NE(::kill(static_cast<pid_t>(second), 0), 0) << "the server outlived up";
}

}  // namespace rh::test

namespace rh::test {

TEST(Up, GivesUpWhenTheServerCannotStart) {
  // The port is taken: the server fails at once, every time.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor taken(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  std::string dir = make_temp_dir("rh-up");
  auto r = run_ringhouse(
      {"up", "--data-dir", dir, "--http-port", std::to_string(taken.local_endpoint().port()),
       "--set", "voice.edge=false"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot listen"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("giving up"), std::string::npos) << r.output;
  fs::remove_all(dir);
}

}  // namespace rh::test
