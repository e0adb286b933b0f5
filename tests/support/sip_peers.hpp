// The voice tests' SIP peers, real programs run as children of the test on
// loopback: baresip (1.0.0) as a user's device, sipp (3.6.1) as the carrier
// trunk, and raw SIP sent over UDP/TCP (RFC 4475 torture messages).
//
// Baresip: one process per device, its own config directory, driven over
// its ctrl_tcp module (JSON netstrings: commands, responses and UA events)
// and started with -s so every SIP message it sends or receives is in its
// log. Sipp: one run of a scenario from tests/support/sip/ with -trace_msg,
// so the test reads what the trunk received. Both die with the test
// (PR_SET_PDEATHSIG) and their directories (config, logs, traces) are kept
// when the test fails (always, with RINGHOUSE_TEST_KEEP_PEER_LOGS=1). See
// tests/e2e/sip_peers_test.cpp for examples.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace rh::test {

// One SIP message as a peer logged it, or as read back from the wire.
struct SipMessage {
  bool received = true;   // false: the peer sent it
  std::string transport;  // "UDP", "TCP" (when known)
  std::string text;       // the whole message, CRLF or LF line ends

  std::string start_line() const;
  bool is_request() const;
  std::string method() const;  // "INVITE"; for a response, the CSeq method
  int status() const;          // response code, 0 for a request
  // The first header of that name (case-insensitive, compact forms not
  // expanded), its value trimmed; empty when absent.
  std::string header(const std::string& name) const;
  std::string body() const;
};

// Parses a byte stream into SIP messages using Content-Length (for TCP).
std::vector<SipMessage> split_sip_stream(const std::string& data);

// Whether baresip and sipp (and the baresip modules the harness loads) are
// installed; when not, `why` says what is missing (for GTEST_SKIP).
bool sip_peers_available(std::string& why);

// Writes an 8 kHz mono 16-bit PCM WAV of a sine tone (for BaresipOptions::audio_file).
void write_tone_wav(const std::string& path, double seconds, double hz = 440.0);

// A child process whose stdout and stderr go to a file, started in a given
// directory; it dies with the test. (ChildProcess closes the child's stdout
// after its ready line, which would kill a chatty program with SIGPIPE.)
class LoggedProcess {
 public:
  LoggedProcess() = default;
  ~LoggedProcess();
  LoggedProcess(const LoggedProcess&) = delete;
  LoggedProcess& operator=(const LoggedProcess&) = delete;

  // argv[0] is looked up in $PATH; false (with `why`) when fork fails.
  bool start(const std::vector<std::string>& argv, const std::string& cwd,
             const std::string& log_path, std::string& why);
  pid_t pid() const { return pid_; }
  bool running();
  // Waits for the exit; the exit code (128+signal when killed), nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // SIGTERM, up to `grace` to exit, then SIGKILL.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(2));
  std::optional<int> exit_code() const { return exit_code_; }

 private:
  void reap(int status);
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// ---------------------------------------------------------------- baresip

struct BaresipOptions {
  std::string username = "device";   // the AOR user (and digest user)
  std::string password;              // digest password; empty: none
  std::string domain = "127.0.0.1";  // the AOR domain: sip:username@domain
  std::string display_name;
  // Where REGISTER and every call go (the account's outbound proxy), e.g.
  // "sip:127.0.0.1:5060;transport=udp". Empty: the device does not register
  // and dials URIs directly (a full sip: URI with host and port).
  std::string registrar;
  std::string outbound_proxy;  // overrides `registrar` as the outbound proxy
  int register_interval_s = 600;
  // Answer every incoming call (the harness sends `accept` on CALL_INCOMING,
  // after answer_delay_ms). Off: the device rings (180) until the test calls
  // answer() or hangup(), or the caller cancels.
  bool auto_answer = true;
  int answer_delay_ms = 0;
  std::string transport = "udp";  // "udp" or "tcp": the AOR's and proxy's transport
  // What the device sends: a WAV file, 8 kHz mono 16-bit (write_tone_wav),
  // played once: baresip 1.0.0 ends the call when it runs out. Empty: an
  // endless 440 Hz tone (the ausine module).
  std::string audio_file;
  std::vector<std::string> extra_account_params;  // appended as ";k=v" to the account line
};

// One event baresip reported on its ctrl_tcp connection.
struct BaresipEvent {
  std::string type;       // REGISTER_OK, REGISTER_FAIL, CALL_INCOMING, CALL_RINGING,
                          // CALL_PROGRESS, CALL_ESTABLISHED, CALL_CLOSED, CALL_RTPESTAB...
  std::string param;      // e.g. "200 OK", "403 Forbidden", "Connection reset by peer"
  std::string peer_uri;   // the other side (the From URI for incoming calls)
  std::string peer_name;  // its display name, if any
  std::string direction;  // "incoming" / "outgoing"
  std::string call_id;
  std::string json;  // the whole event
};

struct RtpStats {
  long sent = -1;      // RTP packets sent; -1 when unknown (no call yet)
  long received = -1;  // RTP packets received
};

class Baresip {
 public:
  struct Started {
    bool ok = false;
    bool skip = false;  // baresip or a module missing: GTEST_SKIP with `why`
    std::string why;
  };

  Baresip() = default;
  ~Baresip();
  Baresip(const Baresip&) = delete;
  Baresip& operator=(const Baresip&) = delete;

  // Starts the process, connects to its ctrl_tcp port and creates the
  // account (which starts registering when a registrar is set). Returns
  // once the account exists; registration is awaited with wait_registered.
  Started start(const BaresipOptions& o);
  void stop();

  std::uint16_t sip_port() const { return sip_port_; }  // UDP and TCP
  // A URI that reaches this device directly: sip:<user>@127.0.0.1:<port>.
  std::string direct_uri() const;
  const std::string& dir() const { return dir_; }

  // Registration: each call consumes one REGISTER_OK / REGISTER_FAIL event.
  bool wait_registered(std::chrono::milliseconds timeout);
  bool wait_registration_failed(std::chrono::milliseconds timeout);
  // The status code of the last registration answer (200, 401, 403...);
  // 0 before any, 999 when it failed without one (a timeout).
  int last_register_code();

  // Calls: `uri` is a full SIP URI, or a bare number/user completed by
  // baresip with the account's domain (and sent to its outbound proxy).
  bool dial(const std::string& uri);
  bool answer();  // the ringing incoming call
  bool hangup();  // the current call: CANCEL, BYE, or "486 Rejected" when it rings here

  // Waits for the next event of `type` not yet returned by wait_event (each
  // type has its own cursor, so events that came before the wait count).
  std::optional<BaresipEvent> wait_event(const std::string& type,
                                         std::chrono::milliseconds timeout);
  int event_count(const std::string& type);
  std::vector<BaresipEvent> events();
  // The caller shown on the last incoming call: the From URI baresip
  // reported (and the display name, if any, as "Name <uri>").
  std::string last_incoming_from();

  // RTP packets of the current call (from `audio_debug`) or, when none is
  // in progress, of the last one that ended (printed at its end).
  RtpStats rtp_stats();
  // Polls rtp_stats() until both directions reach `min_packets`.
  bool wait_rtp(long min_packets, std::chrono::milliseconds timeout);

  // Every SIP message in the device's log (baresip -s), oldest first.
  std::vector<SipMessage> sip_messages();
  // How many requests with that method the device received (e.g. "CANCEL").
  int received_requests(const std::string& method);
  bool wait_received_request(const std::string& method, std::chrono::milliseconds timeout,
                             int count = 1);

  // Sends a ctrl_tcp command (any long command of the menu module, e.g.
  // "listcalls", "reginfo"); nullopt when it fails or does not answer.
  std::optional<std::string> command(const std::string& cmd, const std::string& params = "",
                                     std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Everything it printed (its SIP trace included), colour codes removed.
  std::string log() const;
  void keep_dir() { keep_ = true; }

 private:
  struct Response {
    bool ok = false;
    std::string data;
  };
  bool start_once(const BaresipOptions& o, std::string& why, bool& port_clash);
  void reader_loop();
  std::string handle_message(const std::string& json);  // the event type, if an event
  bool send_json(const std::string& json);
  std::optional<BaresipEvent> wait_event_locked(const std::string& type,
                                                std::chrono::milliseconds timeout,
                                                std::unique_lock<std::mutex>& lock);

  BaresipOptions opts_;
  LoggedProcess proc_;
  std::string dir_;
  bool keep_ = false;
  std::uint16_t sip_port_ = 0, ctrl_port_ = 0;
  int ctrl_fd_ = -1;
  std::thread reader_;
  std::atomic<bool> stopping_{false};
  std::mutex write_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<BaresipEvent> events_;
  std::map<std::string, std::size_t> cursors_;  // type -> events of that type returned
  std::map<std::string, Response> responses_;   // token -> response
  long next_token_ = 0;
};

// ------------------------------------------------------------------- sipp

struct SippOptions {
  // A file in tests/support/sip/ ("uas_answer.xml"), a path, or a built-in
  // scenario name given as "builtin:uas" / "builtin:uac".
  std::string scenario;
  std::string transport = "udp";       // "udp" (-t u1) or "tcp" (-t t1)
  std::string local_ip = "127.0.0.1";  // -i, bound with -bind_local: another
                                       // 127.x address makes a foreign trunk
  std::uint16_t port = 0;              // -p; 0: a free port
  // [name] in the scenario: replaced in a copy of it (sipp reads status codes
  // before -key applies), and passed as -key name value too.
  std::map<std::string, std::string> keys;
  std::string service;   // -s: the UAC's Request-URI user
  int calls = 1;         // -m: exits after that many calls
  int pause_ms = 0;      // -d: length of <pause/>
  bool rtp_echo = true;  // -rtp_echo: media sent to [media_port] comes back
  // -timeout with -timeout_error: sipp gives up (exit 255), though a call
  // still in progress keeps it running; wait_exit() kills it.
  std::chrono::milliseconds timeout = std::chrono::seconds(30);
  std::vector<std::string> extra_args;
};

struct SippSummary {
  long successful = -1;  // calls, from the final statistics screen
  long failed = -1;
};

class Sipp {
 public:
  struct Started {
    bool ok = false;
    bool skip = false;  // sipp missing: GTEST_SKIP with `why`
    std::string why;
  };

  Sipp() = default;
  ~Sipp();
  Sipp(const Sipp&) = delete;
  Sipp& operator=(const Sipp&) = delete;

  // Waits until it listens on its port (UDP, or TCP with transport "tcp").
  Started start_uas(const SippOptions& o);
  // Calls `target` ("127.0.0.1:5060"); the fields go in as -key values,
  // e.g. {{"caller", "+15551234567"}} for the uac_* scenarios.
  Started start_uac(const SippOptions& o, const std::string& target);

  std::uint16_t port() const { return port_; }
  std::string address() const;  // "127.0.0.1:port"
  const std::string& dir() const { return dir_; }

  // The exit code: 0 every call succeeded, 1 some failed, 99 none ran,
  // 255 fatal (timeout with -timeout_error), 254 could not bind. Kills it
  // and returns nullopt when it does not end within `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  SippSummary summary() const;  // after it exited
  void stop();

  // The -trace_msg log: every message it sent and received.
  std::vector<SipMessage> messages() const;
  std::vector<SipMessage> received_messages() const;
  // The first received request with that method (e.g. the INVITE, to read
  // its From and P-Asserted-Identity), if any.
  std::optional<SipMessage> received_request(const std::string& method) const;
  bool wait_received_request(const std::string& method, std::chrono::milliseconds timeout);

  // Its output, errors file and message log, for a failure message.
  std::string log() const;
  void keep_dir() { keep_ = true; }

 private:
  Started start(const SippOptions& o, const std::string& target, bool uas);

  LoggedProcess proc_;
  std::string dir_;
  bool keep_ = false;
  std::uint16_t port_ = 0;
  std::string local_ip_;
};

// ---------------------------------------------------------------- raw SIP

// Sends one raw message from a fresh socket on 127.0.0.1 and returns the
// messages received within `wait` (it stops early once a final response,
// >= 200, came). "[local_ip]" and "[local_port]" in the message are
// replaced by the socket's address first (so Via can point back at it).
// A port free for both UDP and TCP on 127.0.0.1 (and with tls_too, TCP on
// port+1), bound then released: 0 when none was found.
std::uint16_t free_sip_port(bool tls_too = false);

// local_ip: the source address (another 127.x address is another peer).
std::vector<SipMessage> send_raw_sip_udp(const std::string& host, std::uint16_t port,
                                         const std::string& message,
                                         std::chrono::milliseconds wait,
                                         const std::string& local_ip = "127.0.0.1");
std::vector<SipMessage> send_raw_sip_tcp(const std::string& host, std::uint16_t port,
                                         const std::string& message,
                                         std::chrono::milliseconds wait);

}  // namespace rh::test
