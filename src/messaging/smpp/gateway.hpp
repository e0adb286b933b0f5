// The SMPP gateway: every configured bind to every SMSC, grouped by route,
// behind one send() for MT messages and two handlers for what comes back
// (MO messages, delivery receipts).
//
// Binds and routes. A route ("smsc1") is served by one or more binds; each
// bind is one transceiver session, or a pair of sessions (transmitter +
// receiver) to the same SMSC. send() picks, among the route's bound sessions
// that can transmit, the one with the most free window (window − outstanding
// − queued; ties go round-robin), and puts every part of the message on it.
//
// Outbound. The text is segmented with messaging::segment() (GSM-7 or UCS-2,
// data_coding 0 or 8). A long message goes as N submit_sm, each with a
// concatenation UDH (IEI 0x00, an 8-bit reference that rotates per bind) and
// esm_class UDHI. Addresses: "+<digits>" goes as TON 1 / NPI 1 without the
// '+'; bare digits (a short code) as TON 0 / NPI 1; anything else (an
// alphanumeric sender) as TON 5 / NPI 0. done() gets exactly one SmsOutcome,
// on the gateway's thread (it must not block):
//   accepted   every part got ESME_ROK; message_ids in part order
//   retry      a part was refused for a temporary reason: the table of
//              contracts/smpp.md via classify_submit_status (error_code
//              "smpp_0x58", ...), "timed_out", "link_down", "queue_full",
//              "stopped", or "no_bind" (no bound session on the route);
//              retry_after says how long to wait
//   permanent  a part was refused for good ("smpp_0x0b", ...), or the
//              message cannot be sent: "unknown_route", "invalid_message"
//              (segment()'s reason in detail: too_many_segments, ...),
//              "invalid_address"
// A message whose parts partly succeeded is retried whole: the parts the
// SMSC accepted go again (the handset may show them twice). Likewise a part
// that timed out may have reached the SMSC. Both are the duplicates the
// contract allows (at most the in-flight window).
//
// Rate lowering. On ESME_RTHROTTLED the session's throughput cap is halved
// (a session without cap gets half the rate of responses seen in the last
// second), not below min_per_second, and at most once per throttle_hold.
// Every rate_restore_interval without a throttle it rises by
// rate_restore_step of the configured cap, back to the configured value (an
// uncapped session: by that fraction of the rate it had when throttled, and
// the cap is lifted once that rate is reached again). The throttled message
// gets retry_after = throttled_retry_after (Jasmin: 30 s).
//
// Inbound. deliver_sm with esm_class type 0x04 (receipt) or 0x20
// (intermediate notification) go to on_receipt; every other deliver_sm is an
// MO message for on_mo. Each handler gets an ack: ack(true) after the
// consumer stored what it got → deliver_sm_resp ESME_ROK; ack(false) →
// ESME_RX_T_APPN, so the SMSC delivers it again. Without a handler the
// answer is ESME_RX_T_APPN. Addresses become E.164 ('+' added for TON 1 and
// for 10 or more digits; short codes and names stay as they are). Text is
// decoded with decode_text (Malformed::replace). Answered ESME_RX_P_APPN (the
// SMSC must not redeliver; logged): an MO with binary or unknown data_coding
// (0x02, 0x04, 8-bit message classes: WAP push, SIM data, which we do not
// handle), a malformed UDH or sar_* set, and a receipt without any message id.
//
// Concatenated MO (UDH 8/16-bit reference or sar_* TLVs) goes through the
// PartStore (reassembly.hpp): each part is answered ESME_ROK once add()
// stored it; the part that completes the set is answered only after the
// consumer's ack of the whole message (ack(true): the parts are removed, then
// ESME_ROK). Store calls run on post_blocking, never on the gateway thread.
// The consumer may see a concatenated message twice (a crash between its
// store and the removal, or a redelivered last part): InboundSms::concat_key
// lets it recognise one.
//
// Threading: the gateway runs on one io_context, its own (one thread started
// by start()) or the caller's. Every public function may be called from any
// thread. Handlers and done() run on the gateway's strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "messaging/smpp/pdu.hpp"
#include "messaging/smpp/reassembly.hpp"
#include "messaging/smpp/receipt.hpp"
#include "messaging/smpp/session.hpp"

namespace boost::asio {
class io_context;
}

namespace rh::messaging::smpp {

struct BindConfig {
  enum class Mode {
    transceiver,  // one session bound as transceiver
    pair,         // a transmitter and a receiver session to the same SMSC
  };
  std::string route;  // e.g. "smsc1"; several binds may share a route
  std::string id;     // unique among binds, e.g. "smsc1-a"
  Mode mode = Mode::transceiver;
  // host, port, system_id, password, system_type, window, max_queue,
  // max_per_second (the configured cap), time-outs and back-off. The gateway
  // sets `id` ("<id>", or "<id>/tx" and "<id>/rx" for a pair) and bind_mode.
  SessionOptions session;
};
const char* mode_name(BindConfig::Mode m);  // "transceiver", "pair"

struct GatewayOptions {
  std::vector<BindConfig> binds;
  // Runs blocking work (PartStore calls) off the gateway thread, e.g. on a
  // BlockingPool. Unset: run inline, acceptable only with MemoryPartStore.
  std::function<void(std::function<void()>)> post_blocking;
  // Wall clock for received_ms and part expiry; unset: the system clock.
  const Clock* clock = nullptr;

  std::chrono::milliseconds no_bind_retry_after{1'000};
  // link_down, timed_out, queue_full, stopped.
  std::chrono::milliseconds link_retry_after{1'000};
  std::chrono::milliseconds throttled_retry_after{30'000};

  double min_per_second = 1.0;
  std::chrono::milliseconds throttle_hold{1'000};
  std::chrono::milliseconds rate_restore_interval{10'000};
  double rate_restore_step = 0.10;

  // Incomplete concatenated MO are dropped when their newest part is older.
  std::chrono::milliseconds part_max_age{std::chrono::hours(24)};
  std::chrono::milliseconds part_expire_interval{std::chrono::minutes(10)};
};

struct OutboundSms {
  std::string reference;    // the caller's id, for logs
  std::string source;       // E.164 with '+', a short code, or an alphanumeric sender
  std::string destination;  // E.164 with '+'
  std::string text;         // UTF-8
  int max_segments = 10;
  bool registered_delivery = true;  // ask for a final receipt for every part
};

struct SmsOutcome {
  enum class Kind { accepted, retry, permanent };
  Kind kind = Kind::retry;
  std::vector<std::string> message_ids;  // accepted: one per part, in part order
  std::string error_code;                // "smpp_0x58", "link_down", "timed_out", ...
  std::string detail;                    // human text
  std::chrono::milliseconds retry_after{0};
  std::string bind_id;  // the bind used ("" when none was)
};
const char* kind_name(SmsOutcome::Kind k);  // "accepted", "retry", "permanent"

struct InboundSms {
  std::string route;
  std::string bind_id;
  std::string source;       // E.164, or a short code / name as received
  std::string destination;  // idem
  std::string text;         // UTF-8
  std::uint8_t data_coding = 0;
  int parts = 1;
  // Concatenated messages: describe(MoPartKey), the same on every delivery
  // of this message; "" for a single part.
  std::string concat_key;
  std::int64_t received_ms = 0;
};

struct DeliveryReceipt {
  std::string route;
  std::string bind_id;
  std::string message_id;  // receipted_message_id, else the text's id (see message_id_keys)
  std::optional<MessageState> state;  // message_state, else the text's stat
  bool intermediate = false;          // an intermediate notification (esm_class 0x20)
  // network_error_code TLV as "net:<type>:<code>" (decimal), else the text's
  // err: as written ("000"); "" when neither is there.
  std::string error_code;
  std::string source;       // the handset, E.164
  std::string destination;  // our number, E.164
  std::string text;         // the receipt text as received
  std::int64_t received_ms = 0;
};

struct SessionStatus {
  std::string id;  // "<bind id>", "<bind id>/tx", "<bind id>/rx"
  BindMode bind_mode = BindMode::transceiver;
  std::string state;  // state_name(): "bound", ...
  SessionCounters counters;
  double max_per_second = 0;             // now (lowered after throttling); 0: no cap
  double configured_max_per_second = 0;  // from the configuration
  std::string last_error;
  std::optional<std::int64_t> bound_since_ms;  // wall clock, when bound
};

struct BindStatus {
  std::string id;
  std::string route;
  std::string mode;  // mode_name()
  std::vector<SessionStatus> sessions;
};

// "+15550001111" → {1, 1, "15550001111"}; "12345" → {0, 1, "12345"}; anything
// else → {5, 0, as given}.
Address smpp_address_of(std::string_view number);
// TON 1 or 10+ digits → "+<digits>"; otherwise the address as received.
std::string e164_of(const Address& a);

class Gateway {
 public:
  using Ack = std::function<void(bool ok)>;
  using MoHandler = std::function<void(InboundSms, Ack)>;
  using ReceiptHandler = std::function<void(DeliveryReceipt, Ack)>;

  // With its own io_context and thread. Throws std::invalid_argument for a
  // bad configuration (no route or id, a duplicate id). store may be null:
  // an in-memory store is used (parts are lost on a restart).
  explicit Gateway(GatewayOptions o, std::shared_ptr<PartStore> store = nullptr);
  // On the caller's io_context (which the caller runs).
  Gateway(boost::asio::io_context& ioc, GatewayOptions o,
          std::shared_ptr<PartStore> store = nullptr);
  // Stops if not done; with its own thread, waits for the stop and joins it
  // (do not destroy the gateway from its own thread).
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Set before start(). Ack may be called from any thread, once.
  void on_mo(MoHandler h);
  void on_receipt(ReceiptHandler h);

  void start();
  // Stops every session cleanly (unbind), answers pending sends (retry,
  // link_down), waits for store calls in flight, then calls on_stopped once.
  void stop(std::function<void()> on_stopped = {});

  // done is called exactly once, on the gateway thread; it must not block.
  void send(const std::string& route, OutboundSms m, std::function<void(SmsOutcome)> done);

  // For the admin API and /metrics. Any thread.
  std::vector<BindStatus> status() const;

  class Impl;

 private:
  struct Loop;                  // the own io_context and thread, if any
  std::unique_ptr<Loop> loop_;  // declared first: impl_ runs on it
  std::shared_ptr<Impl> impl_;
};

}  // namespace rh::messaging::smpp
