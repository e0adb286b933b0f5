// sms_load: the load generator of bench/messaging_bench.sh.
//
// http mode (default): sends a fixed number of messages over N keep-alive
// HTTP/1.1 connections, all opened (TCP handshake done) before the clock
// starts, each connection one request at a time (closed loop). Two kinds of
// request:
//   --kind ringhouse  POST /v1/messages {"from","to","text"} with
//                     Authorization: Bearer, Idempotency-Key, Host; the
//                     senders (access token and number) come from --senders
//                     FILE, one "TOKEN FROM" a line, used in turn
//   --kind kannel     GET /cgi-bin/sendsms?username=&password=&from=&to=&text=
//                     (Kannel smsbox's sendsms interface)
// A 2xx answer is a message accepted. The SMSC's counters (--sink PORT, the
// control port of bench/smsc-sink.cpp) give when it answered the last
// submit_sm: the end-to-end figure is accepted messages / (time from the
// first request to the SMSC's last submit_sm_resp).
//
//   sms_load --kind ringhouse|kannel --port P --messages N --connections C
//            --sink CONTROL_PORT [--senders FILE] [--user U --password PW
//            --from NUMBER] [--run ID] [--timeout-s 300] [--label TEXT]
//            [--no-wait]
// --no-wait: report once every request was answered, without waiting for the
// SMSC (for a run whose SMPP link is down on purpose: accepted/s alone).
//
// smpp mode: an ESME that binds as transceiver and keeps --window submit_sm
// outstanding until --messages were answered: the ceiling of an SMSC alone.
//   sms_load --mode smpp --port SMPP_PORT --messages N --window W
//            [--system-id ID --password PW] [--label TEXT]
//
// One line on stdout, key=value:
//   RESULT label=... messages=N ok=N failed=N accepted_per_s=X
//     e2e_per_s=X p50_ms=X p99_ms=X max_ms=X submitted_at_last_response=N
//     drain_ms=X ...
// Progress and errors go to stderr; the exit status is 1 when a request
// failed or the SMSC did not see every accepted message in time.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t real_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& m) {
  std::fprintf(stderr, "sms_load: %s\n", m.c_str());
  std::exit(2);
}

int connect_to(int port, bool nonblocking) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  if (nonblocking) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

bool write_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      continue;
    }
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// One blocking HTTP/1.0 exchange with the sink's control port: its body.
std::string control(int port, const std::string& method, const std::string& path) {
  int fd = connect_to(port, false);
  if (fd < 0) return "";
  write_all(fd, method + " " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  std::string r;
  char b[4096];
  ssize_t n;
  while ((n = ::recv(fd, b, sizeof b, 0)) > 0) r.append(b, static_cast<std::size_t>(n));
  ::close(fd);
  auto p = r.find("\r\n\r\n");
  return p == std::string::npos ? "" : r.substr(p + 4);
}
std::int64_t json_int(const std::string& body, const std::string& key) {
  auto p = body.find("\"" + key + "\":");
  if (p == std::string::npos) return -1;
  return std::strtoll(body.c_str() + p + key.size() + 3, nullptr, 10);
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string o;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      o.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      o.push_back('+');
    } else {
      o.push_back('%');
      o.push_back(hex[c >> 4]);
      o.push_back(hex[c & 15]);
    }
  }
  return o;
}

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size()));
  if (i >= v.size()) i = v.size() - 1;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

struct Options {
  std::string mode = "http", kind = "ringhouse", label, run, senders_file, user, password,
              from, system_id = "ringhouse", smpp_password = "secret";
  int port = 0, sink = 0, connections = 32, window = 100;
  long messages = 1000;
  int timeout_s = 300;
  bool no_wait = false;  // do not wait for the SMSC (its link is down on purpose)
};

// ------------------------------------------------------------------- http

struct Conn {
  int fd = -1;
  std::string out;  // bytes still to write
  std::string in;   // bytes read, not yet a full response
  bool busy = false;
  Clock::time_point sent_at;
};

struct Sender {
  std::string token, from;
};

int run_http(const Options& o) {
  std::vector<Sender> senders;
  if (o.kind == "ringhouse") {
    std::ifstream f(o.senders_file);
    Sender s;
    while (f >> s.token >> s.from) senders.push_back(s);
    if (senders.empty()) die("--senders " + o.senders_file + " has no 'TOKEN FROM' line");
  } else if (o.kind != "kannel") {
    die("--kind is ringhouse or kannel");
  }
  std::string run = o.run.empty() ? std::to_string(real_ns()) : o.run;

  auto request = [&](long i) {
    // Recipients: 10,000 distinct US numbers (+1 202 555 xxxx).
    char to[32];
    std::snprintf(to, sizeof to, "+1202555%04ld", 1000 + i % 9000);
    std::string text = "bench " + run + " " + std::to_string(i);
    if (o.kind == "ringhouse") {
      const Sender& s = senders[static_cast<std::size_t>(i) % senders.size()];
      std::string body = "{\"from\":\"" + s.from + "\",\"to\":\"" + to + "\",\"text\":\"" + text +
                         "\"}";
      return "POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + s.token +
             "\r\nIdempotency-Key: " + run + "-" + std::to_string(i) +
             "\r\nContent-Type: application/json\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
    }
    return "GET /cgi-bin/sendsms?username=" + url_encode(o.user) +
           "&password=" + url_encode(o.password) + "&from=" + url_encode(o.from) +
           "&to=" + url_encode(to) + "&text=" + url_encode(text) +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  };

  const std::string base_state = control(o.sink, "GET", "/state");
  const std::int64_t base_submits = json_int(base_state, "submits");
  if (base_submits < 0) die("cannot read the SMSC's /state on port " + std::to_string(o.sink));

  // Open every connection before the clock starts.
  int ep = epoll_create1(0);
  std::vector<Conn> conns(static_cast<std::size_t>(o.connections));
  for (std::size_t c = 0; c < conns.size(); ++c) {
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 200; ++tries) {
      fd = connect_to(o.port, true);
      if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (fd < 0) die("cannot connect to 127.0.0.1:" + std::to_string(o.port));
    conns[c].fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = c;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  // Give the server a moment to accept them all (a small listen backlog).
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  std::vector<double> lat_ms;
  lat_ms.reserve(static_cast<std::size_t>(o.messages));
  std::map<int, long> statuses;
  long next = 0, done = 0, ok = 0, reconnects = 0, io_errors = 0;
  std::string first_failure;

  auto send_next = [&](std::size_t c) {
    Conn& k = conns[c];
    if (next >= o.messages) return;
    k.out = request(next++);
    k.busy = true;
    k.sent_at = Clock::now();
    if (!write_all(k.fd, k.out)) {
      ++io_errors;
      k.busy = false;
      ++done;
    }
    k.out.clear();
  };
  auto reopen = [&](std::size_t c) {
    Conn& k = conns[c];
    epoll_ctl(ep, EPOLL_CTL_DEL, k.fd, nullptr);
    ::close(k.fd);
    k.fd = connect_to(o.port, true);
    k.in.clear();
    if (k.fd < 0) die("cannot reconnect");
    ++reconnects;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = c;
    epoll_ctl(ep, EPOLL_CTL_ADD, k.fd, &ev);
  };

  // Samples of the SMSC's counter while the load runs.
  std::atomic<bool> sampling{true};
  std::mutex sm;
  std::vector<std::pair<std::int64_t, std::int64_t>> samples;  // (real ns, submits)
  std::thread sampler([&] {
    while (sampling) {
      auto st = control(o.sink, "GET", "/state");
      std::int64_t n = json_int(st, "submits");
      {
        std::lock_guard lk(sm);
        samples.emplace_back(real_ns(), n - base_submits);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  });

  const std::int64_t t0 = real_ns();
  const auto start = Clock::now();
  for (std::size_t c = 0; c < conns.size(); ++c) send_next(c);
  std::vector<epoll_event> evs(256);
  std::int64_t t_last_response = t0;
  char buf[65536];
  const auto deadline = start + std::chrono::seconds(o.timeout_s);
  while (done < o.messages) {
    if (Clock::now() > deadline) {
      std::fprintf(stderr, "sms_load: time-out with %ld of %ld answered\n", done, o.messages);
      break;
    }
    int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 1000);
    for (int e = 0; e < n; ++e) {
      std::size_t c = evs[static_cast<std::size_t>(e)].data.u64;
      Conn& k = conns[c];
      bool closed = false;
      while (true) {
        ssize_t r = ::recv(k.fd, buf, sizeof buf, 0);
        if (r > 0) {
          k.in.append(buf, static_cast<std::size_t>(r));
          continue;
        }
        if (r == 0) closed = true;
        else if (errno == EINTR) continue;
        else if (errno != EAGAIN) closed = true;
        break;
      }
      // Complete responses (Content-Length framing; no pipelining).
      while (true) {
        auto hend = k.in.find("\r\n\r\n");
        if (hend == std::string::npos) break;
        std::string head = k.in.substr(0, hend);
        std::string lower = head;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        std::size_t clen = 0;
        bool has_len = false;
        auto cl = lower.find("\ncontent-length:");
        if (cl != std::string::npos) {
          clen = std::strtoul(lower.c_str() + cl + 16, nullptr, 10);
          has_len = true;
        }
        if (!has_len && !closed) break;  // body runs to EOF
        if (has_len && k.in.size() < hend + 4 + clen) break;
        std::size_t total = has_len ? hend + 4 + clen : k.in.size();
        int status = std::atoi(head.c_str() + 9);
        bool close_after = lower.find("\nconnection: close") != std::string::npos ||
                           (head.rfind("HTTP/1.0", 0) == 0 &&
                            lower.find("keep-alive") == std::string::npos);
        ++statuses[status];
        if (status >= 200 && status < 300) {
          ++ok;
        } else if (first_failure.empty()) {
          first_failure = std::to_string(status) + " " + k.in.substr(hend + 4, std::min<std::size_t>(300, total - hend - 4));
        }
        ++done;
        t_last_response = real_ns();
        lat_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - k.sent_at).count());
        k.busy = false;
        k.in.erase(0, total);
        if (close_after || closed) {
          reopen(c);
          closed = false;
        }
        send_next(c);
        break;
      }
      if (closed) {
        if (k.busy) {
          ++io_errors;
          ++done;
          k.busy = false;
          if (first_failure.empty()) first_failure = "connection closed with a request in flight";
        }
        reopen(c);
        send_next(c);
      }
    }
  }
  const double load_s = static_cast<double>(t_last_response - t0) / 1e9;

  // Wait for the SMSC to have answered every accepted message.
  std::int64_t submitted = 0, last_submit_ns = 0;
  std::int64_t at_last_response = 0;
  {
    std::lock_guard lk(sm);
    for (auto& [t, n] : samples)
      if (t <= t_last_response) at_last_response = n;
  }
  const auto wait_until = Clock::now() + std::chrono::seconds(o.no_wait ? 0 : o.timeout_s);
  while (true) {
    auto st = control(o.sink, "GET", "/state");
    submitted = json_int(st, "submits") - base_submits;
    last_submit_ns = json_int(st, "last_submit_ns");
    if (submitted >= ok || Clock::now() >= wait_until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sampling = false;
  sampler.join();
  // The SMSC's rate over the middle of the run (10 % to 90 % of the messages):
  // the sustained figure, without the start and the drain.
  double steady = 0;
  {
    std::int64_t lo_t = 0, lo_n = 0, hi_t = 0, hi_n = 0;
    for (auto& [t, n] : samples) {
      if (lo_t == 0 && n >= ok / 10) lo_t = t, lo_n = n;
      if (n <= ok * 9 / 10) hi_t = t, hi_n = n;
    }
    if (hi_t > lo_t && hi_n > lo_n) steady = static_cast<double>(hi_n - lo_n) / (static_cast<double>(hi_t - lo_t) / 1e9);
  }
  const double e2e_s = static_cast<double>(last_submit_ns - t0) / 1e9;
  std::string st_list;
  for (auto& [s, n] : statuses) st_list += (st_list.empty() ? "" : ",") + std::to_string(s) + ":" + std::to_string(n);
  std::printf(
      "RESULT label=%s kind=%s messages=%ld connections=%d ok=%ld failed=%ld statuses=%s "
      "reconnects=%ld load_s=%.3f accepted_per_s=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f "
      "submitted=%lld submitted_at_last_response=%lld e2e_s=%.3f e2e_per_s=%.0f "
      "smsc_steady_per_s=%.0f drain_ms=%.0f\n",
      o.label.empty() ? o.kind.c_str() : o.label.c_str(), o.kind.c_str(), o.messages,
      o.connections, ok, done - ok, st_list.empty() ? "-" : st_list.c_str(), reconnects, load_s,
      load_s > 0 ? static_cast<double>(ok) / load_s : 0.0, pct(lat_ms, 0.5), pct(lat_ms, 0.99),
      pct(lat_ms, 1.0), static_cast<long long>(submitted), static_cast<long long>(at_last_response), e2e_s,
      e2e_s > 0 ? static_cast<double>(ok) / e2e_s : 0.0, steady,
      static_cast<double>(last_submit_ns - t_last_response) / 1e6);
  std::fflush(stdout);
  for (auto& k : conns)
    if (k.fd >= 0) ::close(k.fd);
  if (!first_failure.empty()) std::fprintf(stderr, "sms_load: first failure: %s\n", first_failure.c_str());
  if (io_errors) std::fprintf(stderr, "sms_load: %ld I/O errors\n", io_errors);
  bool fine = ok == o.messages && (o.no_wait || submitted >= ok);
  if (submitted < ok && !o.no_wait)
    std::fprintf(stderr, "sms_load: the SMSC saw %lld of %ld accepted messages\n", static_cast<long long>(submitted), ok);
  return fine ? 0 : 1;
}

// ------------------------------------------------------------------- smpp

void put32(std::string& s, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>(v >> (8 * i)));
}
std::uint32_t get32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
         std::uint32_t(p[3]);
}
std::string smpp_pdu(std::uint32_t id, std::uint32_t seq, const std::string& body) {
  std::string s;
  put32(s, static_cast<std::uint32_t>(16 + body.size()));
  put32(s, id);
  put32(s, 0);
  put32(s, seq);
  return s + body;
}

int run_smpp(const Options& o) {
  int fd = connect_to(o.port, false);
  if (fd < 0) die("cannot connect to the SMSC on port " + std::to_string(o.port));
  std::string bind = o.system_id + '\0' + o.smpp_password + '\0' + std::string("") + '\0';
  bind += std::string("\x34\x00\x00", 3) + '\0';  // interface_version, ton, npi, address_range
  write_all(fd, smpp_pdu(0x00000009, 1, bind));
  std::vector<unsigned char> buf(1 << 16);
  std::size_t have = 0;
  auto read_pdus = [&](auto&& on_pdu) -> bool {
    ssize_t n = ::recv(fd, buf.data() + have, buf.size() - have, 0);
    if (n <= 0) return false;
    have += static_cast<std::size_t>(n);
    std::size_t pos = 0;
    while (have - pos >= 16) {
      std::uint32_t len = get32(buf.data() + pos);
      if (have - pos < len) break;
      on_pdu(get32(buf.data() + pos + 4), get32(buf.data() + pos + 8), get32(buf.data() + pos + 12));
      pos += len;
    }
    std::memmove(buf.data(), buf.data() + pos, have - pos);
    have -= pos;
    return true;
  };
  bool bound = false;
  while (!bound) {
    if (!read_pdus([&](std::uint32_t id, std::uint32_t status, std::uint32_t) {
          if (id == 0x80000009) {
            if (status != 0) die("bind refused");
            bound = true;
          }
        }))
      die("the SMSC closed the link during the bind");
  }
  auto submit = [&](long i) {
    char to[32];
    std::snprintf(to, sizeof to, "12025550%03ld", i % 1000);
    std::string text = "bench " + std::to_string(i);
    std::string b;
    b += '\0';                                          // service_type
    b += std::string("\x01\x01", 2) + "14155550100" + '\0';  // source ton, npi, addr
    b += std::string("\x01\x01", 2) + to + '\0';             // dest ton, npi, addr
    b += std::string("\x00\x00\x00", 3);                // esm_class, protocol_id, priority
    b += '\0';                                          // schedule_delivery_time
    b += '\0';                                          // validity_period
    b += std::string("\x00\x00\x00\x00", 4);            // registered_delivery, replace, dcs, default id
    b += static_cast<char>(text.size());
    b += text;
    return smpp_pdu(0x00000004, static_cast<std::uint32_t>(i + 2), b);
  };
  long sent = 0, answered = 0, refused = 0;
  std::vector<double> lat;
  std::vector<Clock::time_point> sent_at(static_cast<std::size_t>(o.messages));
  const auto start = Clock::now();
  std::string out;
  while (answered < o.messages) {
    out.clear();
    while (sent < o.messages && sent - answered < o.window) {
      sent_at[static_cast<std::size_t>(sent)] = Clock::now();
      out += submit(sent++);
    }
    if (!out.empty()) write_all(fd, out);
    out.clear();
    if (!read_pdus([&](std::uint32_t id, std::uint32_t status, std::uint32_t seq) {
          if (id == 0x80000004) {
            ++answered;
            if (status != 0) ++refused;
            long i = static_cast<long>(seq) - 2;
            if (i >= 0 && i < o.messages)
              lat.push_back(std::chrono::duration<double, std::milli>(
                                Clock::now() - sent_at[static_cast<std::size_t>(i)])
                                .count());
          } else if (id == 0x00000015 || id == 0x00000005) {  // enquire_link, deliver_sm
            std::string body = id == 0x5 ? std::string(1, '\0') : "";
            out += smpp_pdu(id | 0x80000000, seq, body);
          }
        }))
      die("the SMSC closed the link");
    if (!out.empty()) write_all(fd, out);
  }
  const double s = std::chrono::duration<double>(Clock::now() - start).count();
  write_all(fd, smpp_pdu(0x00000006, 1, ""));
  ::close(fd);
  std::printf(
      "RESULT label=%s kind=smpp messages=%ld window=%d answered=%ld refused=%ld seconds=%.3f "
      "submits_per_s=%.0f p50_ms=%.2f p99_ms=%.2f\n",
      o.label.empty() ? "smpp" : o.label.c_str(), o.messages, o.window, answered, refused, s,
      static_cast<double>(answered) / s, pct(lat, 0.5), pct(lat, 0.99));
  return refused ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto v = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--mode") o.mode = v();
    else if (a == "--kind") o.kind = v();
    else if (a == "--label") o.label = v();
    else if (a == "--run") o.run = v();
    else if (a == "--senders") o.senders_file = v();
    else if (a == "--user") o.user = v();
    else if (a == "--password") o.password = v();
    else if (a == "--from") o.from = v();
    else if (a == "--system-id") o.system_id = v();
    else if (a == "--smpp-password") o.smpp_password = v();
    else if (a == "--port") o.port = std::atoi(v().c_str());
    else if (a == "--sink") o.sink = std::atoi(v().c_str());
    else if (a == "--connections") o.connections = std::atoi(v().c_str());
    else if (a == "--window") o.window = std::atoi(v().c_str());
    else if (a == "--messages") o.messages = std::atol(v().c_str());
    else if (a == "--timeout-s") o.timeout_s = std::atoi(v().c_str());
    else if (a == "--no-wait") o.no_wait = true;
    else die("unknown option " + a + " (see the comment at the top of bench/sms_load.cpp)");
  }
  if (o.port <= 0) die("--port is required");
  if (o.messages <= 0) die("--messages must be positive");
  if (o.mode == "smpp") return run_smpp(o);
  if (o.mode != "http") die("--mode is http or smpp");
  if (o.sink <= 0) die("--sink (the SMSC's control port) is required");
  if (o.connections <= 0) die("--connections must be positive");
  return run_http(o);
}
