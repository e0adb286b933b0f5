// smsc_sink: the cheapest SMSC we could write, for bench/messaging_bench.sh.
//
// It answers every submit_sm at once with ESME_ROK and a message_id, counts,
// and does nothing else, so that the SMSC is not what limits a throughput
// measurement (tests/support/smsc/smsc-fake.js, npm `smpp` on Node, records
// every PDU and tops out far lower; the bench measures both ceilings).
// No project code: plain sockets and the SMPP 3.4 header, one thread per SMPP
// connection (blocking reads; all the responses to what one read() brought
// go out in one write()).
//
//   smsc_sink [--system-id ID] [--password PW] [--port N] [--control-port N]
//
// Listens on 127.0.0.1 (ports 0: free ones) and prints one line on stdout:
//   READY <smpp_port> <control_port>
// SMPP: bind_transmitter/_receiver/_transceiver -> ESME_ROK if system_id and
// password match (ESME_RINVPASWD otherwise); submit_sm -> submit_sm_resp
// ESME_ROK, message_id "<n>" (hex); enquire_link -> enquire_link_resp;
// unbind -> unbind_resp, then close; *_resp and generic_nack from the peer
// are ignored; anything else -> generic_nack ESME_RINVCMDID. No delivery
// receipts are sent.
// Control (HTTP/1.0, one request per connection):
//   GET /state   {"connections":n,"binds":n,"bind_failures":n,"submits":n,
//                 "enquire_links":n,"first_submit_ns":t,"last_submit_ns":t}
//                 times are CLOCK_REALTIME nanoseconds: first_submit_ns when
//                 the first submit_sm since the last reset was read,
//                 last_submit_ns right after the response to the latest one
//                 was written.
//   POST /reset  zeroes submits, enquire_links and both times.
// Exits on SIGTERM/SIGINT, or when its parent dies.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr std::uint32_t kBindReceiver = 0x00000001;
constexpr std::uint32_t kBindTransmitter = 0x00000002;
constexpr std::uint32_t kSubmitSm = 0x00000004;
constexpr std::uint32_t kUnbind = 0x00000006;
constexpr std::uint32_t kBindTransceiver = 0x00000009;
constexpr std::uint32_t kEnquireLink = 0x00000015;
constexpr std::uint32_t kGenericNack = 0x80000000;
constexpr std::uint32_t kRespBit = 0x80000000;
constexpr std::uint32_t kInvPaswd = 0x0000000E;
constexpr std::uint32_t kInvCmdId = 0x00000003;

std::string g_system_id = "ringhouse";
std::string g_password = "secret";

std::atomic<std::uint64_t> g_connections{0}, g_binds{0}, g_bind_failures{0}, g_submits{0},
    g_enquire_links{0}, g_next_id{1};
std::atomic<std::int64_t> g_first_submit_ns{0}, g_last_submit_ns{0};

std::int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::uint32_t get32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
         std::uint32_t(p[3]);
}
void put32(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}
void pdu(std::string& out, std::uint32_t id, std::uint32_t status, std::uint32_t seq,
         const std::string& body = "") {
  put32(out, static_cast<std::uint32_t>(16 + body.size()));
  put32(out, id);
  put32(out, status);
  put32(out, seq);
  out += body;
}
// A C-octet string field at *off (advanced past its NUL), empty if malformed.
std::string cstr(const unsigned char* p, std::size_t len, std::size_t* off) {
  std::string s;
  while (*off < len && p[*off] != 0) s.push_back(static_cast<char>(p[(*off)++]));
  if (*off < len) ++*off;
  return s;
}

bool write_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void serve_smpp(int fd) {
  ++g_connections;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::vector<unsigned char> buf(1 << 16);
  std::size_t have = 0;
  std::string out;
  bool closing = false;
  while (!closing) {
    if (have == buf.size()) buf.resize(buf.size() * 2);
    ssize_t n = ::recv(fd, buf.data() + have, buf.size() - have, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    have += static_cast<std::size_t>(n);
    out.clear();
    std::size_t pos = 0;
    std::uint64_t submits = 0;
    while (have - pos >= 16) {
      const unsigned char* p = buf.data() + pos;
      std::uint32_t len = get32(p);
      if (len < 16 || len > 1'000'000) {
        closing = true;
        break;
      }
      if (have - pos < len) break;
      std::uint32_t id = get32(p + 4), seq = get32(p + 12);
      const unsigned char* body = p + 16;
      std::size_t blen = len - 16;
      switch (id) {
        case kBindReceiver:
        case kBindTransmitter:
        case kBindTransceiver: {
          std::size_t off = 0;
          std::string sys = cstr(body, blen, &off);
          std::string pw = cstr(body, blen, &off);
          bool ok = sys == g_system_id && pw == g_password;
          ++(ok ? g_binds : g_bind_failures);
          pdu(out, id | kRespBit, ok ? 0 : kInvPaswd, seq, std::string("sink") + '\0');
          break;
        }
        case kSubmitSm: {
          if (submits == 0 && g_first_submit_ns.load() == 0) {
            std::int64_t zero = 0;
            g_first_submit_ns.compare_exchange_strong(zero, now_ns());
          }
          ++submits;
          char mid[24];
          int m = std::snprintf(mid, sizeof mid, "%llx",
                                static_cast<unsigned long long>(g_next_id++));
          pdu(out, id | kRespBit, 0, seq, std::string(mid, static_cast<std::size_t>(m)) + '\0');
          break;
        }
        case kEnquireLink:
          ++g_enquire_links;
          pdu(out, id | kRespBit, 0, seq);
          break;
        case kUnbind:
          pdu(out, id | kRespBit, 0, seq);
          closing = true;
          break;
        default:
          if (!(id & kRespBit)) pdu(out, kGenericNack, kInvCmdId, seq);
          break;
      }
      pos += len;
      if (closing) break;
    }
    if (pos > 0) {
      std::memmove(buf.data(), buf.data() + pos, have - pos);
      have -= pos;
    }
    if (!out.empty() && !write_all(fd, out)) break;
    if (submits > 0) {
      g_last_submit_ns.store(now_ns());
      g_submits.fetch_add(submits);
    }
  }
  ::close(fd);
}

int listen_on(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 512) != 0) {
    std::perror("smsc_sink: bind/listen");
    std::exit(1);
  }
  return fd;
}
int port_of(int fd) {
  sockaddr_in a{};
  socklen_t l = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
  return ntohs(a.sin_port);
}

void serve_control(int lfd) {
  while (true) {
    int fd = ::accept(lfd, nullptr, nullptr);
    if (fd < 0) continue;
    std::string req;
    char tmp[4096];
    while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
      ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) break;
      req.append(tmp, static_cast<std::size_t>(n));
    }
    std::string body, status = "200 OK";
    if (req.rfind("GET /state", 0) == 0) {
      auto n = [](const auto& v) { return std::to_string(v.load()); };
      body = "{\"connections\":" + n(g_connections) + ",\"binds\":" + n(g_binds) +
             ",\"bind_failures\":" + n(g_bind_failures) + ",\"submits\":" + n(g_submits) +
             ",\"enquire_links\":" + n(g_enquire_links) +
             ",\"first_submit_ns\":" + n(g_first_submit_ns) +
             ",\"last_submit_ns\":" + n(g_last_submit_ns) + "}";
    } else if (req.rfind("POST /reset", 0) == 0) {
      g_submits = 0;
      g_enquire_links = 0;
      g_first_submit_ns = 0;
      g_last_submit_ns = 0;
      body = "{\"ok\":true}";
    } else {
      status = "404 Not Found";
      body = "{\"error\":\"not found\"}";
    }
    std::string resp = "HTTP/1.0 " + status +
                       "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body;
    write_all(fd, resp);
    ::close(fd);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, control_port = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "smsc_sink: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--system-id")
      g_system_id = next();
    else if (a == "--password")
      g_password = next();
    else if (a == "--port")
      port = std::atoi(next().c_str());
    else if (a == "--control-port")
      control_port = std::atoi(next().c_str());
    else {
      std::fprintf(stderr,
                   "usage: smsc_sink [--system-id ID] [--password PW] [--port N] "
                   "[--control-port N]\n");
      return 2;
    }
  }
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  signal(SIGPIPE, SIG_IGN);
  int smpp = listen_on(port);
  int control = listen_on(control_port);
  std::printf("READY %d %d\n", port_of(smpp), port_of(control));
  std::fflush(stdout);
  std::thread(serve_control, control).detach();
  while (true) {
    int fd = ::accept(smpp, nullptr, nullptr);
    if (fd < 0) {
      if (errno == EINTR) continue;
      std::perror("smsc_sink: accept");
      return 1;
    }
    std::thread(serve_smpp, fd).detach();
  }
}
