// The SIP edge's configuration: trunk URLs, option checks, the rendered
// Kamailio config (checked by the real `kamailio -c` when it is installed)
// and the Kamailio and rtpengine command lines.
#include "voice/edge_config.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "voice/tls_certificate.hpp"

namespace rh::voice {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool has_arg(const std::vector<std::string>& argv, const std::string& a) {
  return std::find(argv.begin(), argv.end(), a) != argv.end();
}

EdgeOptions valid_options() {
  EdgeOptions o;
  o.sip_domain = "sip.example.com";
  o.listen_ip = "127.0.0.1";
  o.sip_port = 25060;
  o.tls_port = 25061;
  o.ws_port = 25088;
  o.wss_port = 25443;
  o.rpc_port = 25099;
  o.tls_certificate = "/var/lib/ringhouse/edge/cert.pem";
  o.tls_private_key = "/var/lib/ringhouse/edge/key.pem";
  o.hook_url = "http://127.0.0.1:8080/internal/sip/";
  o.edge_key = "k3y-0123456789abcdef";
  o.rtpengine_control = "udp:127.0.0.1:22222";
  o.runtime_dir = "/run/ringhouse/edge";
  auto trunks =
      parse_trunks({"sip://203.0.113.5:5060?name=carrier1",
                    "sip://trunk.example.net?name=carrier2&transport=tcp",
                    "sip://198.51.100.7?name=carrier3&addresses=198.51.100.0/28,2001:db8::5"});
  EXPECT_TRUE(trunks) << trunks.error().message;
  o.trunks = *trunks;
  return o;
}

// ---------------------------------------------------------------------------
// Trunk URLs

TEST(EdgeConfigTrunks, AreParsedWithEveryOption) {
  auto t = parse_trunks(
      {"sip://203.0.113.5:5080?name=carrier1&transport=udp&addresses=203.0.113.5,203.0.113.6",
       "sip://trunk.example.net?name=carrier-2_b&transport=tls", "sip://[2001:db8::1]:5061?name=v6",
       "sip://198.51.100.9?name=subnet&addresses=198.51.100.0%2F24"});
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->size(), 4u);
  const Trunk& a = (*t)[0];
  EXPECT_EQ(a.name, "carrier1");
  EXPECT_EQ(a.host, "203.0.113.5");
  EXPECT_EQ(a.port, 5080);
  EXPECT_EQ(a.transport, "udp");
  EXPECT_EQ(a.addresses, (std::vector<std::string>{"203.0.113.5", "203.0.113.6"}));
  const Trunk& b = (*t)[1];
  EXPECT_EQ(b.host, "trunk.example.net");
  EXPECT_EQ(b.port, 5060);  // the default
  EXPECT_EQ(b.transport, "tls");
  EXPECT_TRUE(b.addresses.empty());  // a DNS name: matched by resolving it
  const Trunk& c = (*t)[2];
  EXPECT_EQ(c.host, "2001:db8::1");
  EXPECT_EQ(c.port, 5061);
  EXPECT_EQ(c.addresses, (std::vector<std::string>{"2001:db8::1"}));  // host when an IP
  EXPECT_EQ((*t)[3].addresses, (std::vector<std::string>{"198.51.100.0/24"}));
}

TEST(EdgeConfigTrunks, NoneIsFine) {
  auto t = parse_trunks({});
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->empty());
}

TEST(EdgeConfigTrunks, BadEntriesAreNamed) {
  for (const char* bad : {"http://203.0.113.5?name=a",
                          "sip://203.0.113.5",
                          "sip://203.0.113.5?name=",
                          "sip://203.0.113.5?name=Carrier",
                          "sip://203.0.113.5?name=a b",
                          "sip://203.0.113.5:0?name=a",
                          "sip://203.0.113.5:70000?name=a",
                          "sip://203.0.113.5:x?name=a",
                          "sip://203.0.113.5:?name=a",
                          "sip://user@203.0.113.5?name=a",
                          "sip://?name=a",
                          "sip://bad_host!?name=a",
                          "sip://[203.0.113.5]?name=a",
                          "sip://[2001:db8::1?name=a",
                          "sip://203.0.113.5?name=a&transport=sctp",
                          "sip://203.0.113.5?name=a&addresses=",
                          "sip://203.0.113.5?name=a&addresses=not-an-ip",
                          "sip://203.0.113.5?name=a&addresses=10.0.0.0/33",
                          "sip://203.0.113.5?name=a&colour=blue",
                          "sip://203.0.113.5?name=a%zz"}) {
    auto t = parse_trunks({"sip://192.0.2.1?name=first", bad});
    ASSERT_FALSE(t) << bad;
    EXPECT_EQ(t.error().code, Errc::invalid_argument) << bad;
    EXPECT_EQ(t.error().field, "voice.trunks[1]") << bad;
    EXPECT_FALSE(t.error().message.empty()) << bad;
  }
}

TEST(EdgeConfigTrunks, NamesAreUnique) {
  auto t = parse_trunks({"sip://192.0.2.1?name=a", "sip://192.0.2.2?name=a"});
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().field, "voice.trunks[1]");
  EXPECT_TRUE(contains(t.error().message, "twice")) << t.error().message;
}

// ---------------------------------------------------------------------------
// Options

TEST(EdgeConfigOptions, ValidOptionsPass) {
  auto st = check_edge_options(valid_options());
  EXPECT_TRUE(st) << st.error().message;
}

TEST(EdgeConfigOptions, ProblemsNameTheField) {
  struct Case {
    const char* field;
    void (*change)(EdgeOptions&);
  };
  const Case cases[] = {
      {"voice.sip_domain", [](EdgeOptions& o) { o.sip_domain = ""; }},
      {"voice.sip_domain", [](EdgeOptions& o) { o.sip_domain = "sip\".example.com"; }},
      {"voice.sip_address", [](EdgeOptions& o) { o.listen_ip = "0.0.0.0"; }},
      {"voice.sip_address", [](EdgeOptions& o) { o.listen_ip = "localhost"; }},
      {"voice.advertised_address", [](EdgeOptions& o) { o.advertised_ip = "1.2.3.4:5060"; }},
      {"voice.sip_port", [](EdgeOptions& o) { o.sip_port = 0; }},
      {"voice.ws_port", [](EdgeOptions& o) { o.ws_port = o.sip_port; }},
      {"voice.rpc_port", [](EdgeOptions& o) { o.rpc_port = o.wss_port; }},
      {"voice.tls_certificate", [](EdgeOptions& o) { o.tls_certificate = ""; }},
      {"voice.tls_private_key", [](EdgeOptions& o) { o.tls_private_key = "/a/$b"; }},
      {"voice.hook_url", [](EdgeOptions& o) { o.hook_url = "ftp://127.0.0.1/x"; }},
      {"voice.hook_url", [](EdgeOptions& o) { o.hook_url = "http://127.0.0.1/\"x"; }},
      {"voice.edge_key", [](EdgeOptions& o) { o.edge_key = "short"; }},
      {"voice.edge_key", [](EdgeOptions& o) { o.edge_key = "0123456789abcdef\r\nX: y"; }},
      {"voice.edge_key", [](EdgeOptions& o) { o.edge_key = "0123456789abcdef$(x)"; }},
      {"voice.rtpengine_port", [](EdgeOptions& o) { o.rtpengine_control = "127.0.0.1:22222"; }},
      {"voice.rtpengine_interface_ip", [](EdgeOptions& o) { o.rtpengine_interface_ip = "eth0"; }},
      {"voice.rtp_port_min", [](EdgeOptions& o) { o.rtp_max = o.rtp_min; }},
      {"voice.auth_cache_s", [](EdgeOptions& o) { o.auth_cache_s = -1; }},
      {"voice.auth_failures_ban", [](EdgeOptions& o) { o.auth_failures_ban = 0; }},
      {"voice.ban_s", [](EdgeOptions& o) { o.ban_s = 0; }},
      {"voice.pike_density", [](EdgeOptions& o) { o.pike_reqs_density = 0; }},
      {"voice.edge_children", [](EdgeOptions& o) { o.children = 0; }},
      {"voice.runtime_dir", [](EdgeOptions& o) { o.runtime_dir = "relative/dir"; }},
      {"voice.trunks[1]", [](EdgeOptions& o) { o.trunks[1].name = o.trunks[0].name; }},
      {"voice.trunks[0]", [](EdgeOptions& o) { o.trunks[0].addresses = {"nope"}; }},
  };
  for (const auto& c : cases) {
    EdgeOptions o = valid_options();
    c.change(o);
    auto st = check_edge_options(o);
    ASSERT_FALSE(st) << c.field;
    EXPECT_EQ(st.error().code, Errc::invalid_argument);
    EXPECT_EQ(st.error().field, c.field) << st.error().message;
    EXPECT_THROW(render_kamailio_cfg(o), std::invalid_argument) << c.field;
  }
}

TEST(EdgeConfigOptions, TlsFilesAreOnlyNeededWithTlsListeners) {
  EdgeOptions o = valid_options();
  o.tls_port = 0;
  o.wss_port = 0;
  o.tls_certificate.clear();
  o.tls_private_key.clear();
  auto st = check_edge_options(o);
  EXPECT_TRUE(st) << st.error().message;
}

// ---------------------------------------------------------------------------
// Rendering

TEST(EdgeConfigRender, FillsEveryToken) {
  EdgeOptions o = valid_options();
  std::string cfg = render_kamailio_cfg(o);
  EXPECT_FALSE(contains(cfg, "{{")) << cfg.substr(cfg.find("{{"), 80);
  EXPECT_TRUE(contains(kamailio_cfg_template(), "{{SIP_DOMAIN}}"));
  EXPECT_TRUE(contains(cfg, "listen=udp:127.0.0.1:25060\n"));
  EXPECT_TRUE(contains(cfg, "listen=tcp:127.0.0.1:25060\n"));
  EXPECT_TRUE(contains(cfg, "listen=tls:127.0.0.1:25061\n"));
  EXPECT_TRUE(contains(cfg, "listen=tcp:127.0.0.1:25088\n"));
  EXPECT_TRUE(contains(cfg, "listen=tls:127.0.0.1:25443\n"));
  EXPECT_TRUE(contains(cfg, "listen=tcp:127.0.0.1:25099\n"));
  EXPECT_TRUE(contains(cfg, "alias=\"sip.example.com\""));
  // one kept-alive connection with the key as Basic credentials; no double slash
  EXPECT_TRUE(contains(
      cfg, "\"rh=>http://edge:k3y-0123456789abcdef@127.0.0.1:8080/internal/sip\""));
  EXPECT_TRUE(contains(cfg, "http_connect(\"rh\", \"/route\""));
  EXPECT_TRUE(contains(cfg, "modparam(\"http_client\", \"keep_connections\", 1)"));
  EXPECT_TRUE(contains(cfg, "auth=>size=10;autoexpire=60;"));
  EXPECT_TRUE(contains(cfg, "#!define WITH_TOPOH\n"));
  // trunk sources: by address, by subnet, by resolving a DNS name
  EXPECT_TRUE(contains(cfg, "compare_ips(\"$si\", \"203.0.113.5\")"));
  EXPECT_TRUE(contains(cfg, "$var(trunk) = \"carrier1\";"));
  EXPECT_TRUE(contains(cfg, "dns_int_match_ip(\"trunk.example.net\", \"$si\")"));
  EXPECT_TRUE(contains(cfg, "is_in_subnet(\"$si\", \"198.51.100.0/28\")"));
  EXPECT_TRUE(contains(cfg, "compare_ips(\"$si\", \"2001:db8::5\")"));
  // the secrets derived from the edge key do not show it
  auto key_uses = [&](const std::string& text) {
    std::size_t n = 0;
    for (auto at = text.find(o.edge_key); at != std::string::npos;
         at = text.find(o.edge_key, at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(key_uses(cfg), 1u);  // the hook connection only
}

TEST(EdgeConfigRender, OptionalListenersCanBeOff) {
  EdgeOptions o = valid_options();
  o.tls_port = o.ws_port = o.wss_port = o.rpc_port = 0;
  o.trunks.clear();
  o.auth_cache_s = 0;
  o.advertised_ip = "198.51.100.20";
  o.listen_ip = "10.0.0.5";
  std::string cfg = render_kamailio_cfg(o);
  for (const char* d : {"WITH_TLS", "WITH_WS", "WITH_WSS", "WITH_TLS_MODULE", "WITH_WEBSOCKET",
                        "WITH_XHTTP", "WITH_RPC", "WITH_TOPOH", "WITH_AUTH_CACHE"})
    EXPECT_FALSE(contains(cfg, std::string("#!define ") + d + "\n")) << d;
  EXPECT_TRUE(contains(cfg, "listen=udp:10.0.0.5:25060 advertise 198.51.100.20:25060\n"));
  EXPECT_FALSE(contains(cfg, "listen=tls:"));
  EXPECT_TRUE(contains(cfg, "# no trunks configured"));
}

TEST(EdgeConfigRender, Ipv6ListenAddressIsBracketed) {
  EdgeOptions o = valid_options();
  o.listen_ip = "2001:db8::10";
  std::string cfg = render_kamailio_cfg(o);
  EXPECT_TRUE(contains(cfg, "listen=udp:[2001:db8::10]:25060\n"));
  EXPECT_TRUE(contains(cfg, "listen=tcp:127.0.0.1:25099\n"));  // RPC stays on loopback
}

// ---------------------------------------------------------------------------
// Command lines

TEST(EdgeConfigArgv, KamailioRunsInTheForeground) {
  EdgeOptions o = valid_options();
  auto argv = kamailio_argv(o, "/run/ringhouse/edge/kamailio.cfg");
  ASSERT_FALSE(argv.empty());
  EXPECT_EQ(argv[0], "kamailio");
  EXPECT_TRUE(has_arg(argv, "-DD"));
  EXPECT_TRUE(has_arg(argv, "-E"));
  EXPECT_TRUE(has_arg(argv, "/run/ringhouse/edge/kamailio.cfg"));
  EXPECT_TRUE(has_arg(argv, kamailio_pid_path(o)));
  EXPECT_EQ(kamailio_pid_path(o), "/run/ringhouse/edge/kamailio.pid");
  EXPECT_TRUE(has_arg(argv, "-m"));
  EXPECT_TRUE(has_arg(argv, "-M"));
  // TLSF for shared and private memory (qm's free-list walks were a quarter
  // of Kamailio's CPU per call).
  auto x = std::find(argv.begin(), argv.end(), "-x");
  ASSERT_NE(x, argv.end());
  ASSERT_NE(x + 1, argv.end());
  EXPECT_EQ(*(x + 1), "tlsf");
  auto big_x = std::find(argv.begin(), argv.end(), "-X");
  ASSERT_NE(big_x, argv.end());
  ASSERT_NE(big_x + 1, argv.end());
  EXPECT_EQ(*(big_x + 1), "tlsf");
}

TEST(EdgeConfigArgv, RtpengineIsUserspaceInTheForeground) {
  EdgeOptions o = valid_options();
  o.rtpengine_interface_ip = "10.0.0.5";
  o.advertised_ip = "198.51.100.20";
  o.rtp_min = 40000;
  o.rtp_max = 41000;
  auto argv = rtpengine_argv(o);
  ASSERT_FALSE(argv.empty());
  EXPECT_EQ(argv[0], "rtpengine");
  for (const char* a : {"--foreground", "--log-stderr", "--table=-1", "--config-file=none",
                        "--interface=10.0.0.5!198.51.100.20", "--listen-ng=127.0.0.1:22222",
                        "--port-min=40000", "--port-max=41000"})
    EXPECT_TRUE(has_arg(argv, a)) << a;
  o.advertised_ip.clear();
  o.rtpengine_interface_ip.clear();
  EXPECT_TRUE(has_arg(rtpengine_argv(o), "--interface=127.0.0.1"));  // listen_ip by default
}

// ---------------------------------------------------------------------------
// The real Kamailio accepts the rendered config

std::string kamailio_binary() {
  for (const char* dir : {"/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"}) {
    std::string p = std::string(dir) + "/kamailio";
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

// `kamailio -c -f cfg`: the exit status and what it printed.
std::pair<int, std::string> kamailio_check(const std::string& bin, const std::string& cfg,
                                           const std::string& runtime_dir) {
  std::string cmd = bin + " -c -f '" + cfg + "' -Y '" + runtime_dir + "' 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {-1, "popen failed"};
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class EdgeConfigKamailio : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = kamailio_binary();
    if (bin_.empty())
      GTEST_SKIP() << "kamailio is not installed: the rendered config is not checked";
    dir_ = std::filesystem::temp_directory_path() /
           ("rh-edge-cfg-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }

  void expect_accepted(EdgeOptions o) {
    o.runtime_dir = dir_.string();
    std::string path = (dir_ / "kamailio.cfg").string();
    std::ofstream(path) << render_kamailio_cfg(o);
    auto [code, out] = kamailio_check(bin_, path, dir_.string());
    EXPECT_EQ(code, 0) << "kamailio -c -f " << path << " (kept):\n" << out;
  }

  std::string bin_;
  std::filesystem::path dir_;
};

TEST_F(EdgeConfigKamailio, AcceptsTheFullConfig) {
  EdgeOptions o = valid_options();
  o.tls_certificate = (dir_ / "cert.pem").string();
  o.tls_private_key = (dir_ / "key.pem").string();
  auto st = ensure_self_signed_certificate(o.tls_certificate, o.tls_private_key, o.sip_domain);
  ASSERT_TRUE(st) << st.error().message;
  expect_accepted(o);
}

TEST_F(EdgeConfigKamailio, AcceptsTheSmallestConfig) {
  EdgeOptions o = valid_options();
  o.tls_port = o.ws_port = o.wss_port = o.rpc_port = 0;
  o.tls_certificate.clear();
  o.tls_private_key.clear();
  o.trunks.clear();
  o.auth_cache_s = 0;
  expect_accepted(o);
}

TEST(BrowserSip, UrlsFromTheRequestsHostOrThePublicOne) {
  BrowserSipOptions o;
  o.enabled = true;
  o.domain = "sip.example.com";
  o.ws_port = 8088;
  o.wss_port = 8443;
  auto s = browser_sip(o, "Phone.Example.com:8080");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->domain, "sip.example.com");
  EXPECT_EQ(s->ws_url, "ws://phone.example.com:8088");
  EXPECT_EQ(s->wss_url, "wss://phone.example.com:8443");
  EXPECT_EQ(browser_sip(o, "[2001:DB8::1]:8080")->wss_url, "wss://[2001:db8::1]:8443");
  EXPECT_EQ(browser_sip(o, "192.0.2.7")->ws_url, "ws://192.0.2.7:8088");
  // A Host that is no host name gives no URL rather than a made-up one.
  for (const char* bad : {"", "evil.test\"/x", "a b", "[zz]:1", "[::1]x"})
    EXPECT_EQ(browser_sip(o, bad)->wss_url, "") << bad;
  // A listener that is off has no URL; the public host and the overrides win.
  o.ws_port = 0;
  o.public_host = "edge.example.com";
  s = browser_sip(o, "phone.example.com");
  EXPECT_EQ(s->ws_url, "");
  EXPECT_EQ(s->wss_url, "wss://edge.example.com:8443");
  o.wss_url = "wss://phone.example.com/sip";
  o.ws_url = "ws://phone.example.com/sip-plain";
  s = browser_sip(o, "other.example.com");
  EXPECT_EQ(s->wss_url, "wss://phone.example.com/sip");
  EXPECT_EQ(s->ws_url, "ws://phone.example.com/sip-plain");
  // Without an edge, nothing to register with.
  o.enabled = false;
  EXPECT_FALSE(browser_sip(o, "phone.example.com").has_value());
}

TEST(BrowserSip, UrlHostNormalisesOrRefuses) {
  EXPECT_EQ(url_host("Phone.Example.COM.", false), "phone.example.com");
  EXPECT_EQ(url_host("2001:db8::1", false), "[2001:db8::1]");
  EXPECT_EQ(url_host("[2001:db8::1]", false), "[2001:db8::1]");
  EXPECT_EQ(url_host("host:443", false), "");
  EXPECT_EQ(url_host("host:443", true), "host");
  EXPECT_EQ(url_host("[::1]:443", true), "[::1]");
  EXPECT_EQ(url_host("[::1]:443", false), "");
}

}  // namespace
}  // namespace rh::voice
