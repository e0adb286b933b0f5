// The ESME side of one SMPP 3.4 bind: a TCP connection to an SMSC, bound as
// transceiver (or as transmitter or receiver only, for a TX + RX pair), that
// sends submit_sm within a window and a throughput cap, receives deliver_sm
// (MO and delivery receipts), keeps the link alive with enquire_link and
// reconnects with back-off when it drops.
//
// Bind modes: a transceiver submits and receives; a transmitter submits and
// answers a deliver_sm (which the SMSC must not send it) with
// ESME_RINVBNDSTS without calling on_deliver; a receiver refuses every submit
// (SubmitRefusal::receive_only) and only receives.
//
// Threading: the session runs on the io_context given to its constructor (the
// caller runs it, on one thread or several: the session keeps its own strand).
// Every public function may be called from any thread. Callbacks (submit
// results, on_deliver, on_stopped) run on that strand: they must not block.
//
// Life of a submit: submit() encodes the message at once (an invalid message
// is refused there) and queues it; the session sends it when bound, when
// fewer than `window` submit_sm are waiting for their response and when the
// throughput cap allows. The callback then gets exactly one SubmitResult:
//   ok          submit_sm_resp ESME_ROK; message_id set
//   rejected    submit_sm_resp (or generic_nack) with a non-zero status;
//               `verdict` says retry or permanent (classify_submit_status)
//   timed_out   no response within response_timeout: the SMSC may still have
//               it; the caller requeues (a duplicate is possible)
//   link_down   not bound when submitted, or the link went down (or the
//               session stopped) before the response: the caller requeues
// Submits are never carried over from one connection to the next.
//
// deliver_sm: on_deliver gets the message and a completion; the session sends
// deliver_sm_resp with the status given to the completion (from any thread,
// once), so the caller can store the message durably first. A completion
// called after the link it came on went down does nothing (the SMSC
// redelivers). Without an on_deliver handler deliver_sm gets ESME_RX_T_APPN.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "messaging/smpp/pdu.hpp"

namespace boost::asio {
class io_context;
}

namespace rh::messaging::smpp {

// Which bind_* the session sends.
enum class BindMode { transceiver, transmitter, receiver };
const char* bind_mode_name(BindMode m);  // "transceiver", "transmitter", "receiver"

struct SessionOptions {
  std::string id = "smpp";  // for logs: every line about this session carries it
  std::string host = "127.0.0.1";
  std::uint16_t port = 2775;
  std::string system_id;
  std::string password;
  std::string system_type;
  BindMode bind_mode = BindMode::transceiver;
  // At most this many submit_sm waiting for their submit_sm_resp.
  std::size_t window = 10;
  // Submits accepted but not yet sent (waiting for the window or the
  // throughput cap); submit() refuses beyond this.
  std::size_t max_queue = 10'000;
  // Throughput cap: submit_sm are spaced by 1/max_per_second. 0: no cap.
  // The initial value; set_max_per_second() changes it at run time.
  double max_per_second = 0;
  std::chrono::milliseconds response_timeout{60'000};
  std::chrono::milliseconds enquire_link_interval{30'000};
  // Connecting and binding together must take less than this.
  std::chrono::milliseconds bind_timeout{10'000};
  // How long stop() waits for unbind_resp before closing.
  std::chrono::milliseconds unbind_timeout{2'000};
  // Reconnect back-off: initial delay, doubled after each failure up to max,
  // each multiplied by a random factor in [1 - jitter, 1 + jitter].
  std::chrono::milliseconds reconnect_initial{1'000};
  std::chrono::milliseconds reconnect_max{60'000};
  double reconnect_jitter = 0.2;
};

enum class SessionState { disconnected, connecting, binding, bound, unbinding };
const char* state_name(SessionState s);

struct SubmitResult {
  enum class Kind { ok, rejected, timed_out, link_down };
  Kind kind = Kind::link_down;
  std::string message_id;                              // ok
  CommandStatus status = CommandStatus::ESME_ROK;      // rejected
  SubmitVerdict verdict{SubmitAction::ok, {}, 0, {}};  // rejected: what to do
};
const char* kind_name(SubmitResult::Kind k);

// Why submit() did not take a message (its callback is then never called).
// receive_only: the session is bound as a receiver.
enum class SubmitRefusal { none, queue_full, invalid_message, stopped, receive_only };
const char* refusal_name(SubmitRefusal r);

// A snapshot for /metrics.
struct SessionCounters {
  std::uint64_t submitted = 0;  // submit_sm sent
  std::uint64_t acked = 0;      // submit_sm_resp ESME_ROK
  std::uint64_t rejected = 0;   // non-zero status (throttled included)
  std::uint64_t throttled = 0;  // ESME_RTHROTTLED
  std::uint64_t timed_out = 0;
  std::uint64_t link_down = 0;  // submits answered link_down
  std::uint64_t outstanding = 0;
  std::uint64_t queued = 0;
  std::uint64_t delivered = 0;  // deliver_sm received
  std::uint64_t binds = 0;      // successful binds
  std::uint64_t bind_failures = 0;
};

class Session {
 public:
  using SubmitCallback = std::function<void(const SubmitResult&)>;
  // Call once, from any thread, with the status for deliver_sm_resp.
  using DeliverDone = std::function<void(CommandStatus)>;
  using DeliverHandler = std::function<void(const ShortMessage&, DeliverDone)>;

  Session(boost::asio::io_context& ioc, SessionOptions o);
  // Requests stop() if not done; callbacks may still run on the io_context
  // afterwards, so stop and wait for on_stopped before destroying what they use.
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Set before start().
  void on_deliver(DeliverHandler h);

  // Connects and binds, and keeps doing so until stop().
  void start();
  // Unbinds (waits up to unbind_timeout for unbind_resp), closes, answers
  // what is queued or outstanding with link_down, then calls on_stopped once.
  void stop(std::function<void()> on_stopped = {});

  [[nodiscard]] SubmitRefusal submit(ShortMessage m, SubmitCallback cb);

  // The throughput cap from now on (0: none): the next submit_sm goes out
  // 1/rate after the previous one. Any thread.
  void set_max_per_second(double rate);
  double max_per_second() const;

  SessionState state() const;
  SessionCounters counters() const;
  const SessionOptions& options() const;
  // Why the link last went down or a bind failed ("" if it never did).
  std::string last_error() const;
  // When the current bind succeeded (wall clock); nullopt when not bound.
  std::optional<std::chrono::system_clock::time_point> bound_since() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace rh::messaging::smpp
