#include "support/sip_peers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "support/child_process.hpp"
#include "support/test_db.hpp"

namespace rh::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kScenarioDir = std::string(RH_SOURCE_DIR) + "/tests/support/sip";
// The modules the device configuration loads.
const char* const kBaresipModules[] = {"g711", "ausine", "aufile", "menu", "ctrl_tcp"};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string strip_ansi(const std::string& s) {
  static const std::regex kEscape("\x1b\\[[0-9;]*m");
  return std::regex_replace(s, kEscape, "");
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

std::string baresip_module_dir() {
  for (const char* d : {"/usr/lib/baresip/modules", "/usr/local/lib/baresip/modules",
                        "/usr/lib/x86_64-linux-gnu/baresip/modules"}) {
    if (fs::exists(std::string(d) + "/ctrl_tcp.so")) return d;
  }
  return "/usr/lib/baresip/modules";
}

// --- ports ---------------------------------------------------------------

// Binds 127.0.0.1:port (0: any) and returns the port, or 0 when it is taken.
std::uint16_t try_bind(int type, std::uint16_t port) {
  int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::uint16_t out = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) out = ntohs(a.sin_port);
  }
  ::close(fd);
  return out;
}

}  // namespace

// A port free for UDP and TCP (and, with `tls_too`, TCP on port+1: baresip
// listens for TLS there). Bound then released: a small race remains, which
// the callers cover by retrying when the program says the port is taken.
// Picked below the kernel's ephemeral range (32768-60999 by default): a
// port the kernel handed out (bind to port 0) is free again once released,
// and any connection opened meanwhile, by this test or a parallel one, may
// get it as its local port, so that the program's bind fails (Kamailio's
// TCP listener did, and `ringhouse up` counted the failed starts).
std::uint16_t free_sip_port(bool tls_too) {
  static std::mt19937 rng(static_cast<unsigned>(::getpid()) ^ std::random_device{}());
  std::uniform_int_distribution<int> pick(10000, 19998);
  for (int i = 0; i < 200; ++i) {
    std::uint16_t p = try_bind(SOCK_DGRAM, static_cast<std::uint16_t>(pick(rng)));
    if (p == 0) continue;
    if (try_bind(SOCK_STREAM, p) != p) continue;
    if (tls_too && try_bind(SOCK_STREAM, static_cast<std::uint16_t>(p + 1)) != p + 1) continue;
    return p;
  }
  return 0;
}

namespace {

// Whether some socket has `port` (UDP bound, or TCP in LISTEN, or with
// `any_tcp_state` any TCP socket), read from /proc/net so the check itself
// never takes the port.
bool port_in_use(bool tcp, std::uint16_t port, bool any_tcp_state = false) {
  for (const char* f : tcp ? std::vector<const char*>{"/proc/net/tcp", "/proc/net/tcp6"}
                           : std::vector<const char*>{"/proc/net/udp", "/proc/net/udp6"}) {
    std::ifstream in(f);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string sl, local, remote, state;
      ls >> sl >> local >> remote >> state;
      auto colon = local.rfind(':');
      if (colon == std::string::npos) continue;
      unsigned long p = std::strtoul(local.c_str() + colon + 1, nullptr, 16);
      if (p != port) continue;
      if (!tcp || any_tcp_state || state == "0A") return true;
    }
  }
  return false;
}

// --- sockets -------------------------------------------------------------

int connect_tcp(const std::string& host, std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<long>(0, left.count()));
}

// --- SIP text ------------------------------------------------------------

// Where the header block ends (the index of the blank line's end), or npos.
std::size_t header_end(const std::string& s, std::size_t from = 0) {
  auto crlf = s.find("\r\n\r\n", from);
  auto lf = s.find("\n\n", from);
  if (crlf == std::string::npos && lf == std::string::npos) return std::string::npos;
  if (lf == std::string::npos || (crlf != std::string::npos && crlf < lf)) return crlf + 4;
  return lf + 2;
}

std::vector<std::string> header_lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t end = header_end(text);
  std::istringstream in(text.substr(0, end == std::string::npos ? text.size() : end));
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (first) {
      first = false;
      continue;
    }
    if (line.empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !out.empty()) {
      out.back() += " " + trim(line);  // folded line
    } else {
      out.push_back(line);
    }
  }
  return out;
}

// "SIP/2.0/UDP 127.0.0.1:5071;branch=..." -> port 5071 (0 when none).
std::uint16_t via_port(const std::string& via) {
  auto sp = via.find_first_of(" \t");
  if (sp == std::string::npos) return 0;
  std::string sent_by = trim(via.substr(sp));
  sent_by = sent_by.substr(0, sent_by.find_first_of(";, \t"));
  auto colon = sent_by.rfind(':');
  if (colon == std::string::npos || sent_by.find(']', colon) != std::string::npos) return 0;
  return static_cast<std::uint16_t>(std::atoi(sent_by.c_str() + colon + 1));
}

void write_u32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void write_u16(std::string& s, std::uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}

bool keep_on_failure(const std::string& dir, bool keep, const char* what) {
  if (dir.empty()) return true;
  if (keep || ::testing::Test::HasFailure() || std::getenv("RINGHOUSE_TEST_KEEP_PEER_LOGS")) {
    std::fprintf(stderr, "[%s] logs kept in %s\n", what, dir.c_str());
    return true;
  }
  return false;
}

}  // namespace

// ------------------------------------------------------------- SipMessage

std::string SipMessage::start_line() const {
  auto start = text.find_first_not_of("\r\n");
  if (start == std::string::npos) return "";
  auto eol = text.find_first_of("\r\n", start);
  return text.substr(start, eol == std::string::npos ? std::string::npos : eol - start);
}

bool SipMessage::is_request() const {
  return start_line().rfind("SIP/2.0 ", 0) != 0;
}

std::string SipMessage::method() const {
  if (is_request()) {
    auto line = start_line();
    return line.substr(0, line.find(' '));
  }
  std::istringstream cseq(header("CSeq"));
  std::string num, m;
  cseq >> num >> m;
  return m;
}

int SipMessage::status() const {
  if (is_request()) return 0;
  return std::atoi(start_line().c_str() + 8);
}

std::string SipMessage::header(const std::string& name) const {
  static const std::map<std::string, std::string> kCompact = {
      {"via", "v"},          {"from", "f"},    {"to", "t"},
      {"call-id", "i"},      {"contact", "m"}, {"content-length", "l"},
      {"content-type", "c"}, {"subject", "s"}, {"supported", "k"}};
  std::string want = lower(name);
  auto compact = kCompact.find(want);
  for (const auto& line : header_lines(text)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = lower(trim(line.substr(0, colon)));
    if (key == want || (compact != kCompact.end() && key == compact->second))
      return trim(line.substr(colon + 1));
  }
  return "";
}

std::string SipMessage::body() const {
  auto end = header_end(text);
  return end == std::string::npos ? "" : text.substr(end);
}

std::vector<SipMessage> split_sip_stream(const std::string& data) {
  std::vector<SipMessage> out;
  std::size_t pos = 0;
  while (pos < data.size()) {
    while (pos < data.size() && (data[pos] == '\r' || data[pos] == '\n')) ++pos;  // keepalives
    if (pos >= data.size()) break;
    auto end = header_end(data, pos);
    if (end == std::string::npos) {
      out.push_back({true, "TCP", data.substr(pos)});
      break;
    }
    SipMessage head{true, "TCP", data.substr(pos, end - pos)};
    std::string cl = head.header("Content-Length");
    std::size_t body = cl.empty() ? 0 : static_cast<std::size_t>(std::atol(cl.c_str()));
    body = std::min(body, data.size() - end);
    out.push_back({true, "TCP", data.substr(pos, end - pos + body)});
    pos = end + body;
  }
  return out;
}

bool sip_peers_available(std::string& why) {
  if (!program_available("baresip")) {
    why = "baresip is not installed (apt-get install baresip-core)";
    return false;
  }
  if (!program_available("sipp")) {
    why = "sipp is not installed (apt-get install sip-tester)";
    return false;
  }
  std::string dir = baresip_module_dir();
  for (const char* m : kBaresipModules) {
    if (!fs::exists(dir + "/" + m + ".so")) {
      why = std::string("the baresip module ") + m + ".so is not in " + dir;
      return false;
    }
  }
  return true;
}

void write_tone_wav(const std::string& path, double seconds, double hz) {
  const std::uint32_t rate = 8000;
  const auto samples = static_cast<std::uint32_t>(seconds * rate);
  std::string data;
  data.reserve(samples * 2);
  for (std::uint32_t i = 0; i < samples; ++i) {
    double v = 8000.0 * std::sin(2.0 * M_PI * hz * i / rate);
    write_u16(data, static_cast<std::uint16_t>(static_cast<std::int16_t>(v)));
  }
  std::string wav = "RIFF";
  write_u32(wav, 36 + static_cast<std::uint32_t>(data.size()));
  wav += "WAVEfmt ";
  write_u32(wav, 16);
  write_u16(wav, 1);  // PCM
  write_u16(wav, 1);  // mono
  write_u32(wav, rate);
  write_u32(wav, rate * 2);
  write_u16(wav, 2);
  write_u16(wav, 16);
  wav += "data";
  write_u32(wav, static_cast<std::uint32_t>(data.size()));
  wav += data;
  write_file(path, wav);
}

// ---------------------------------------------------------- LoggedProcess

LoggedProcess::~LoggedProcess() {
  stop(std::chrono::milliseconds(500));
}

bool LoggedProcess::start(const std::vector<std::string>& args, const std::string& cwd,
                          const std::string& log_path, std::string& why) {
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    why = "open " + log_path + ": " + std::strerror(errno);
    return false;
  }
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    if (::chdir(cwd.c_str()) != 0) ::_exit(125);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execvp(argv[0], argv.data());
    const char msg[] = "exec failed\n";
    ssize_t ignored = ::write(2, msg, sizeof msg - 1);
    (void)ignored;
    ::_exit(127);
  }
  ::close(log_fd);
  if (pid < 0) {
    why = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  pid_ = pid;
  exit_code_.reset();
  return true;
}

void LoggedProcess::reap(int status) {
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool LoggedProcess::running() {
  if (pid_ <= 0 || exit_code_) return false;
  int st = 0;
  if (::waitpid(pid_, &st, WNOHANG) == pid_) {
    reap(st);
    return false;
  }
  return true;
}

std::optional<int> LoggedProcess::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (running()) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
  return exit_code_;
}

void LoggedProcess::stop(std::chrono::milliseconds grace) {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  if (wait_exit(grace)) return;
  ::kill(pid_, SIGKILL);
  int st = 0;
  if (::waitpid(pid_, &st, 0) == pid_) reap(st);
}

// ---------------------------------------------------------------- Baresip

Baresip::~Baresip() {
  stop();
  if (!keep_on_failure(dir_, keep_, "baresip")) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

void Baresip::stop() {
  stopping_ = true;
  // SIGTERM makes it unregister; it is not waited for long.
  proc_.stop(std::chrono::milliseconds(500));
  if (ctrl_fd_ >= 0) ::shutdown(ctrl_fd_, SHUT_RDWR);
  if (reader_.joinable()) reader_.join();
  if (ctrl_fd_ >= 0) ::close(ctrl_fd_);
  ctrl_fd_ = -1;
}

Baresip::Started Baresip::start(const BaresipOptions& o) {
  Started s;
  if (!sip_peers_available(s.why)) {
    s.skip = true;
    return s;
  }
  if (!proc_.running() && dir_.empty()) dir_ = make_temp_dir("rh-baresip");
  opts_ = o;
  for (int attempt = 0; attempt < 3; ++attempt) {
    bool clash = false;
    if (start_once(o, s.why, clash)) {
      s.ok = true;
      return s;
    }
    if (!clash) break;  // another program took a port between the check and the bind
  }
  s.why += "\n--- baresip log (" + dir_ + ") ---\n" + log();
  return s;
}

bool Baresip::start_once(const BaresipOptions& o, std::string& why, bool& port_clash) {
  stop();
  stopping_ = false;
  sip_port_ = free_sip_port(true);
  ctrl_port_ = try_bind(SOCK_STREAM, 0);
  if (sip_port_ == 0 || ctrl_port_ == 0) {
    why = "no free local port";
    return false;
  }
  const bool file = !o.audio_file.empty();
  std::ostringstream cfg;
  cfg << "# written by tests/support/sip_peers.cpp\n"
      << "poll_method\t\tepoll\n"
      << "sip_listen\t\t127.0.0.1:" << sip_port_ << "\n"
      << "net_interface\t\t127.0.0.1\n"
      << "call_local_timeout\t120\n"
      << "call_max_calls\t\t4\n"
      << "audio_source\t\t" << (file ? "aufile," + o.audio_file : std::string("ausine,440")) << "\n"
      << "audio_alert\t\tnone,none\n"
      // The tone generator only makes 48 kHz stereo; the WAV must be 8 kHz mono.
      << "ausrc_srate\t\t" << (file ? 8000 : 48000) << "\n"
      << "ausrc_channels\t\t" << (file ? 1 : 2) << "\n"
      << "audio_buffer\t\t20-160\n"
      << "rtp_stats\t\tyes\n"
      << "rtcp_mux\t\tno\n"
      << "jitter_buffer_delay\t5-10\n"
      << "statmode_default\toff\n"
      << "module_path\t\t" << baresip_module_dir() << "\n"
      << "module\t\t\tg711.so\n"
      << "module\t\t\t" << (file ? "aufile.so" : "ausine.so") << "\n"
      << "module_app\t\tmenu.so\n"
      << "module_app\t\tctrl_tcp.so\n"
      << "ctrl_tcp_listen\t\t127.0.0.1:" << ctrl_port_ << "\n";
  write_file(dir_ + "/config", cfg.str());
  write_file(dir_ + "/accounts", "");  // the account is created over ctrl_tcp
  write_file(dir_ + "/contacts", "");
  std::string log_path = dir_ + "/baresip.log";
  write_file(log_path, "");

  if (!proc_.start({"baresip", "-s", "-f", dir_}, dir_, log_path, why)) return false;

  auto deadline = Clock::now() + 10s;
  for (;;) {
    std::string text = read_file(log_path);
    if (text.find("baresip is ready.") != std::string::npos) break;
    if (!proc_.running() || Clock::now() >= deadline) {
      port_clash = text.find("Address already in use") != std::string::npos;
      why = proc_.running()
                ? "baresip did not say it was ready within 10 s"
                : "baresip exited (code " + std::to_string(proc_.exit_code().value_or(-1)) +
                      ") before it was ready";
      proc_.stop();
      return false;
    }
    std::this_thread::sleep_for(20ms);
  }
  while ((ctrl_fd_ = connect_tcp("127.0.0.1", ctrl_port_)) < 0) {
    if (Clock::now() >= deadline) {
      why = "could not connect to baresip's ctrl_tcp port " + std::to_string(ctrl_port_);
      return false;
    }
    std::this_thread::sleep_for(20ms);
  }
  reader_ = std::thread([this] { reader_loop(); });

  // The account line: <sip:user@domain;transport=tcp>;auth_pass=...;outbound="sip:...".
  std::ostringstream acc;
  if (!o.display_name.empty()) acc << '"' << o.display_name << "\" ";
  acc << "<sip:" << o.username << "@" << o.domain;
  if (o.transport != "udp") acc << ";transport=" << o.transport;
  acc << ">";
  if (!o.password.empty()) acc << ";auth_user=" << o.username << ";auth_pass=" << o.password;
  std::string outbound = o.outbound_proxy.empty() ? o.registrar : o.outbound_proxy;
  if (!outbound.empty()) acc << ";outbound=\"" << outbound << "\"";
  acc << ";regint=" << (o.registrar.empty() ? 0 : o.register_interval_s);
  acc << ";answermode=manual";  // the harness answers, so CALL_INCOMING is always reported
  for (const auto& p : o.extra_account_params) acc << ";" << p;
  auto created = command("uanew", acc.str());
  if (!created || created->find("failed") != std::string::npos) {
    why = "uanew " + acc.str() + " failed: " + created.value_or("(no answer)");
    return false;
  }
  return true;
}

std::string Baresip::direct_uri() const {
  return "sip:" + opts_.username + "@127.0.0.1:" + std::to_string(sip_port_) +
         (opts_.transport == "udp" ? "" : ";transport=" + opts_.transport);
}

void Baresip::reader_loop() {
  std::string buf;
  std::vector<Clock::time_point> answers_due;  // auto-answer: when to send `accept`
  char chunk[8192];
  while (!stopping_) {
    for (auto it = answers_due.begin(); it != answers_due.end();) {
      if (Clock::now() < *it) {
        ++it;
        continue;
      }
      send_json(R"({"command":"accept","token":"auto-answer"})");
      it = answers_due.erase(it);
    }
    int timeout = 200;
    for (auto due : answers_due) timeout = std::min(timeout, ms_left(due));
    pollfd p{ctrl_fd_, POLLIN, 0};
    int r = ::poll(&p, 1, timeout);
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    ssize_t n = ::recv(ctrl_fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, static_cast<std::size_t>(n));
    // Netstrings: <length>:<json>,
    for (;;) {
      auto colon = buf.find(':');
      if (colon == std::string::npos) break;
      std::size_t len = static_cast<std::size_t>(std::atol(buf.substr(0, colon).c_str()));
      if (buf.size() < colon + 1 + len + 1) break;
      std::string json = buf.substr(colon + 1, len);
      buf.erase(0, colon + 1 + len + 1);
      if (handle_message(json) == "CALL_INCOMING" && opts_.auto_answer)
        answers_due.push_back(Clock::now() + std::chrono::milliseconds(opts_.answer_delay_ms));
    }
  }
  std::lock_guard lock(mu_);
  cv_.notify_all();
}

std::string Baresip::handle_message(const std::string& json) {
  boost::system::error_code ec;
  auto v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) return "";
  const auto& o = v.as_object();
  auto str = [&](const char* k) -> std::string {
    auto it = o.find(k);
    return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
  };
  std::lock_guard lock(mu_);
  if (o.contains("response")) {
    auto ok = o.find("ok");
    responses_[str("token")] = {ok != o.end() && ok->value().is_bool() && ok->value().as_bool(),
                                str("data")};
  } else if (o.contains("event")) {
    events_.push_back({str("type"), str("param"), str("peeruri"), str("peerdisplayname"),
                       str("direction"), str("id"), json});
    cv_.notify_all();
    return events_.back().type;
  }
  cv_.notify_all();
  return "";
}

bool Baresip::send_json(const std::string& json) {
  std::lock_guard lock(write_mu_);
  if (ctrl_fd_ < 0) return false;
  return send_all(ctrl_fd_, std::to_string(json.size()) + ":" + json + ",");
}

std::optional<std::string> Baresip::command(const std::string& cmd, const std::string& params,
                                            std::chrono::milliseconds timeout) {
  std::string token;
  {
    std::lock_guard lock(mu_);
    token = "t" + std::to_string(++next_token_);
  }
  boost::json::object msg{{"command", cmd}, {"token", token}};
  if (!params.empty()) msg["params"] = params;
  if (!send_json(boost::json::serialize(msg))) return std::nullopt;
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return responses_.count(token) > 0; }))
    return std::nullopt;
  Response r = responses_[token];
  responses_.erase(token);
  if (!r.ok) return std::nullopt;
  return r.data;
}

std::optional<BaresipEvent> Baresip::wait_event_locked(const std::string& type,
                                                       std::chrono::milliseconds timeout,
                                                       std::unique_lock<std::mutex>& lock) {
  auto find = [&]() -> const BaresipEvent* {
    std::size_t seen = 0, want = cursors_[type];
    for (const auto& e : events_) {
      if (e.type != type) continue;
      if (seen++ == want) return &e;
    }
    return nullptr;
  };
  const BaresipEvent* e = nullptr;
  cv_.wait_for(lock, timeout, [&] { return (e = find()) != nullptr; });
  if (e == nullptr) return std::nullopt;
  ++cursors_[type];
  return *e;
}

std::optional<BaresipEvent> Baresip::wait_event(const std::string& type,
                                                std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return wait_event_locked(type, timeout, lock);
}

int Baresip::event_count(const std::string& type) {
  std::lock_guard lock(mu_);
  return static_cast<int>(
      std::count_if(events_.begin(), events_.end(), [&](const auto& e) { return e.type == type; }));
}

std::vector<BaresipEvent> Baresip::events() {
  std::lock_guard lock(mu_);
  return events_;
}

bool Baresip::wait_registered(std::chrono::milliseconds timeout) {
  return wait_event("REGISTER_OK", timeout).has_value();
}

bool Baresip::wait_registration_failed(std::chrono::milliseconds timeout) {
  return wait_event("REGISTER_FAIL", timeout).has_value();
}

int Baresip::last_register_code() {
  std::lock_guard lock(mu_);
  for (auto it = events_.rbegin(); it != events_.rend(); ++it) {
    if (it->type != "REGISTER_OK" && it->type != "REGISTER_FAIL") continue;
    int code = std::atoi(it->param.c_str());
    return code > 0 ? code : 999;
  }
  return 0;
}

bool Baresip::dial(const std::string& uri) {
  return command("dial", uri).has_value();
}
bool Baresip::answer() {
  return command("accept").has_value();
}
bool Baresip::hangup() {
  return command("hangup").has_value();
}

std::string Baresip::last_incoming_from() {
  std::lock_guard lock(mu_);
  for (auto it = events_.rbegin(); it != events_.rend(); ++it) {
    if (it->type != "CALL_INCOMING") continue;
    return it->peer_name.empty() ? it->peer_uri : it->peer_name + " <" + it->peer_uri + ">";
  }
  return "";
}

RtpStats Baresip::rtp_stats() {
  RtpStats s;
  // During a call: "TX: packets=N" of the RTCP session, and "rcvd=N" per
  // remote source.
  auto debug = command("audio_debug");
  if (debug && debug->find("Audio stream") != std::string::npos) {
    static const std::regex kTx("TX: packets=([0-9]+)");
    static const std::regex kRx("rcvd=([0-9]+)");
    std::smatch m;
    if (std::regex_search(*debug, m, kTx)) s.sent = std::stol(m[1]);
    s.received = 0;
    for (std::sregex_iterator it(debug->begin(), debug->end(), kRx), end; it != end; ++it)
      s.received += std::stol((*it)[1]);
    return s;
  }
  // After it: the "packets:  <tx>  <rx>" line printed when the stream ended.
  static const std::regex kEnd("packets:\\s+([0-9]+)\\s+([0-9]+)");
  std::string text = log();
  for (std::sregex_iterator it(text.begin(), text.end(), kEnd), end; it != end; ++it) {
    s.sent = std::stol((*it)[1]);
    s.received = std::stol((*it)[2]);
  }
  return s;
}

bool Baresip::wait_rtp(long min_packets, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto s = rtp_stats();
    if (s.sent >= min_packets && s.received >= min_packets) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
}

std::vector<SipMessage> Baresip::sip_messages() {
  // baresip -s prints "\e[36;1m#\n<TP> <src> -> <dst>\n<message>\e[;m".
  std::vector<SipMessage> out;
  std::string raw = read_file(dir_ + "/baresip.log");
  const std::string kOpen = "\x1b[36;1m#\n";
  const std::string kClose = "\x1b[;m";
  for (auto at = raw.find(kOpen); at != std::string::npos; at = raw.find(kOpen, at + 1)) {
    auto line_end = raw.find('\n', at + kOpen.size());
    auto stop = raw.find(kClose, at + kOpen.size());
    if (line_end == std::string::npos || stop == std::string::npos || stop < line_end) break;
    std::istringstream addr(raw.substr(at + kOpen.size(), line_end - at - kOpen.size()));
    SipMessage m;
    std::string src, arrow, dst;
    addr >> m.transport >> src >> arrow >> dst;
    m.text = raw.substr(line_end + 1, stop - line_end - 1);
    // The trace does not say which way a message went: ours carry our
    // listening port in the top Via (requests) or came back with it (responses).
    bool our_via = via_port(m.header("Via")) == sip_port_;
    m.received = m.is_request() ? !our_via : our_via;
    out.push_back(std::move(m));
  }
  return out;
}

int Baresip::received_requests(const std::string& method) {
  int n = 0;
  for (const auto& m : sip_messages())
    if (m.received && m.is_request() && m.method() == method) ++n;
  return n;
}

bool Baresip::wait_received_request(const std::string& method, std::chrono::milliseconds timeout,
                                    int count) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (received_requests(method) >= count) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

std::string Baresip::log() const {
  return strip_ansi(read_file(dir_ + "/baresip.log"));
}

// ------------------------------------------------------------------- Sipp

Sipp::~Sipp() {
  stop();
  if (!keep_on_failure(dir_, keep_, "sipp")) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

void Sipp::stop() {
  proc_.stop(std::chrono::milliseconds(500));
}

Sipp::Started Sipp::start_uas(const SippOptions& o) {
  return start(o, "", true);
}

Sipp::Started Sipp::start_uac(const SippOptions& o, const std::string& target) {
  return start(o, target, false);
}

Sipp::Started Sipp::start(const SippOptions& o, const std::string& target, bool uas) {
  Started s;
  if (!program_available("sipp")) {
    s.skip = true;
    s.why = "sipp is not installed (apt-get install sip-tester)";
    return s;
  }
  if (proc_.running()) {
    s.why = "already started";
    return s;
  }
  if (dir_.empty()) dir_ = make_temp_dir("rh-sipp");
  local_ip_ = o.local_ip;
  const bool tcp = o.transport == "tcp";
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = o.port != 0 ? o.port : free_sip_port(false);
    std::vector<std::string> args{"sipp"};
    if (!uas) args.push_back(target);
    if (o.scenario.rfind("builtin:", 0) == 0) {
      args.insert(args.end(), {"-sn", o.scenario.substr(8)});
    } else {
      std::string path =
          o.scenario.find('/') == std::string::npos ? kScenarioDir + "/" + o.scenario : o.scenario;
      if (!fs::exists(path)) {
        s.why = "no scenario " + path;
        return s;
      }
      // sipp reads some fields (a response's status code) when it loads the
      // scenario, before -key values apply: the keys go into a copy as text.
      std::string text = read_file(path);
      for (const auto& [k, v] : o.keys) text = replace_all(std::move(text), "[" + k + "]", v);
      write_file(dir_ + "/scenario.xml", text);
      args.insert(args.end(), {"-sf", dir_ + "/scenario.xml"});
    }
    long timeout_s = std::max<long>(
        1, static_cast<long>(std::chrono::ceil<std::chrono::seconds>(o.timeout).count()));
    args.insert(args.end(), {"-t",
                             tcp ? "t1" : "u1",
                             "-i",
                             o.local_ip,
                             "-bind_local",
                             "-p",
                             std::to_string(port_),
                             "-mi",
                             o.local_ip,
                             "-m",
                             std::to_string(o.calls),
                             "-nostdin",
                             "-timeout",
                             std::to_string(timeout_s) + "s",
                             "-timeout_error",
                             "-trace_msg",
                             "-message_file",
                             dir_ + "/messages.log",
                             "-trace_err",
                             "-error_file",
                             dir_ + "/errors.log",
                             "-trace_screen",
                             "-screen_file",
                             dir_ + "/screen.log"});
    if (o.rtp_echo) args.push_back("-rtp_echo");
    if (o.pause_ms > 0) args.insert(args.end(), {"-d", std::to_string(o.pause_ms)});
    if (!o.service.empty()) args.insert(args.end(), {"-s", o.service});
    for (const auto& [k, v] : o.keys) args.insert(args.end(), {"-key", k, v});
    args.insert(args.end(), o.extra_args.begin(), o.extra_args.end());

    std::string cmdline;
    for (const auto& a : args) cmdline += (cmdline.empty() ? "" : " ") + a;
    write_file(dir_ + "/command", cmdline + "\n");
    fs::remove(dir_ + "/messages.log");
    fs::remove(dir_ + "/screen.log");
    if (!proc_.start(args, dir_, dir_ + "/sipp.log", s.why)) return s;
    // It is running once its port is bound (a UAS listens on it; a UAC
    // sends from it) and has not exited over its scenario or arguments.
    auto ready = [&] { return port_in_use(tcp, port_, /*any_tcp_state=*/!uas); };
    auto ready_by = Clock::now() + 15s;  // generous: a loaded CI machine
    while (proc_.running() && !ready() && Clock::now() < ready_by)
      std::this_thread::sleep_for(10ms);
    if (proc_.running() && ready()) {
      s.ok = true;
      return s;
    }
    // A UAC over UDP may have finished its calls already (before its port
    // was seen bound): whatever it ended with, wait_exit() tells the test.
    // Only 254 (it could not bind) and 255 (a fatal error) mean it never ran.
    if (!uas && proc_.exit_code() && *proc_.exit_code() != 254 && *proc_.exit_code() != 255) {
      s.ok = true;
      return s;
    }
    bool clash = proc_.exit_code() == 254;  // -2: could not bind
    proc_.stop();
    s.why = "sipp did not start on port " + std::to_string(port_) + " (exit " +
            (proc_.exit_code() ? std::to_string(*proc_.exit_code()) : std::string("-")) +
            "): " + log();
    if (!clash || o.port != 0) return s;
  }
  return s;
}

std::string Sipp::address() const {
  return local_ip_ + ":" + std::to_string(port_);
}

std::optional<int> Sipp::wait_exit(std::chrono::milliseconds timeout) {
  auto code = proc_.wait_exit(timeout);
  if (!code) stop();
  return code;
}

SippSummary Sipp::summary() const {
  SippSummary s;
  std::string screen = read_file(dir_ + "/screen.log");
  static const std::regex kOk("Successful call[^\\n]*\\|\\s*([0-9]+)\\s*\\n");
  static const std::regex kFailed("Failed call[^\\n]*\\|\\s*([0-9]+)\\s*\\n");
  for (std::sregex_iterator it(screen.begin(), screen.end(), kOk), end; it != end; ++it)
    s.successful = std::stol((*it)[1]);
  for (std::sregex_iterator it(screen.begin(), screen.end(), kFailed), end; it != end; ++it)
    s.failed = std::stol((*it)[1]);
  return s;
}

std::vector<SipMessage> Sipp::messages() const {
  // Blocks: "-----...----- <time>\n<TP> message received [N] bytes :\n\n<message>"
  // or "<TP> message sent (N bytes):\n\n<message>".
  std::vector<SipMessage> out;
  std::string raw = read_file(dir_ + "/messages.log");
  const std::string sep = "----------------------------------------------- ";
  std::vector<std::size_t> starts;
  for (auto at = raw.find(sep); at != std::string::npos; at = raw.find(sep, at + 1)) {
    if (at == 0 || raw[at - 1] == '\n') starts.push_back(at);
  }
  for (std::size_t i = 0; i < starts.size(); ++i) {
    std::size_t end = i + 1 < starts.size() ? starts[i + 1] : raw.size();
    std::string block = raw.substr(starts[i], end - starts[i]);
    auto l1 = block.find('\n');
    if (l1 == std::string::npos) continue;
    auto l2 = block.find('\n', l1 + 1);
    if (l2 == std::string::npos) continue;
    std::string what = block.substr(l1 + 1, l2 - l1 - 1);
    SipMessage m;
    if (what.find("message received") != std::string::npos) {
      m.received = true;
    } else if (what.find("message sent") != std::string::npos) {
      m.received = false;
    } else {
      continue;
    }
    m.transport = what.substr(0, what.find(' '));
    std::string text = block.substr(l2 + 1);
    auto first = text.find_first_not_of("\r\n");
    if (first == std::string::npos) continue;
    text = text.substr(first);
    // The log adds a line after the message ("Discarded message ..." and
    // the like) and blank lines; cut them off after the body.
    auto hend = header_end(text);
    if (hend != std::string::npos) {
      std::string cl = SipMessage{true, "", text.substr(0, hend)}.header("Content-Length");
      std::size_t body = cl.empty() ? 0 : static_cast<std::size_t>(std::atol(cl.c_str()));
      text = text.substr(0, std::min(text.size(), hend + body));
    }
    m.text = text;
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<SipMessage> Sipp::received_messages() const {
  std::vector<SipMessage> out;
  for (auto& m : messages())
    if (m.received) out.push_back(std::move(m));
  return out;
}

std::optional<SipMessage> Sipp::received_request(const std::string& method) const {
  for (auto& m : messages())
    if (m.received && m.is_request() && m.method() == method) return m;
  return std::nullopt;
}

bool Sipp::wait_received_request(const std::string& method, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (received_request(method)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

std::string Sipp::log() const {
  std::string out = "--- sipp (" + dir_ + "): " + trim(read_file(dir_ + "/command")) + "\n";
  out += strip_ansi(read_file(dir_ + "/sipp.log"));
  std::string errors = read_file(dir_ + "/errors.log");
  if (!errors.empty()) out += "\n--- errors.log ---\n" + errors;
  std::string msgs = read_file(dir_ + "/messages.log");
  if (!msgs.empty()) out += "\n--- messages.log ---\n" + msgs;
  return out;
}

// ---------------------------------------------------------------- raw SIP

namespace {

std::string fill_local(std::string message, std::uint16_t port,
                       const std::string& ip = "127.0.0.1") {
  message = replace_all(std::move(message), "[local_ip]", ip);
  return replace_all(std::move(message), "[local_port]", std::to_string(port));
}

bool has_final(const std::vector<SipMessage>& ms) {
  return std::any_of(ms.begin(), ms.end(), [](const SipMessage& m) { return m.status() >= 200; });
}

}  // namespace

std::vector<SipMessage> send_raw_sip_udp(const std::string& host, std::uint16_t port,
                                         const std::string& message,
                                         std::chrono::milliseconds wait,
                                         const std::string& local_ip) {
  std::vector<SipMessage> out;
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return out;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  if (::inet_pton(AF_INET, local_ip.c_str(), &local.sin_addr) != 1) {
    ::close(fd);
    return out;
  }
  socklen_t len = sizeof local;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0 ||
      ::inet_pton(AF_INET, host.c_str(), &to.sin_addr) != 1) {
    ::close(fd);
    return out;
  }
  std::string data = fill_local(message, ntohs(local.sin_port), local_ip);
  if (::sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
    ::close(fd);
    return out;
  }
  auto deadline = Clock::now() + wait;
  std::vector<char> buf(65536);
  while (!has_final(out)) {
    int left = ms_left(deadline);
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) continue;  // e.g. ECONNREFUSED from an ICMP error
    out.push_back({true, "UDP", std::string(buf.data(), static_cast<std::size_t>(n))});
  }
  ::close(fd);
  return out;
}

std::vector<SipMessage> send_raw_sip_tcp(const std::string& host, std::uint16_t port,
                                         const std::string& message,
                                         std::chrono::milliseconds wait) {
  std::vector<SipMessage> out;
  int fd = connect_tcp(host, port);
  if (fd < 0) return out;
  sockaddr_in local{};
  socklen_t len = sizeof local;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
  if (!send_all(fd, fill_local(message, ntohs(local.sin_port)))) {
    ::close(fd);
    return out;
  }
  auto deadline = Clock::now() + wait;
  std::string data;
  char buf[8192];
  for (;;) {
    out = split_sip_stream(data);
    if (has_final(out)) break;
    int left = ms_left(deadline);
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;  // closed by the server
    data.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return split_sip_stream(data);
}

}  // namespace rh::test
