// Conversations and messages: what users send and receive, and the pipeline
// that carries outbound messages to carriers.
//
// A message belongs to one user's conversation, keyed by the user's number
// and the set of other participants (a group MMS is one thread). An outbound
// message has one delivery per recipient:
//   * on-net (the recipient is an active platform number): stored at once as
//     an inbound message in the recipient's conversation; the delivery is
//     `delivered` in the same transaction;
//   * off-net: `queued` with a ledger hold for its price, carried by the
//     number's messaging route (an SMPP route or a carrier's HTTP API) by the
//     Dispatcher.
// Delivery states: queued → sending → sent → delivered | failed | undelivered.
// A message's status is derived from its deliveries (see derive_status).
//
// Durability: POST /v1/messages answers after the message, its deliveries,
// holds and events are committed. The Dispatcher claims queued deliveries
// with a lease owned by this node's boot, and commits every outcome before it
// frees the slot for another submit, so after a crash the deliveries re-sent
// are at most those that were in flight (a route's window). Charges and
// events are written in the same transaction as the state change they
// describe, guarded by the state, so a replay neither charges nor tells twice.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "billing/ledger.hpp"
#include "billing/plans.hpp"
#include "billing/rates.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/principal.hpp"
#include "core/result.hpp"
#include "numbers/inventory.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"

namespace rh::accounts {
class TenantStore;
}

namespace rh::messaging {

std::vector<storage::Migration> message_migrations();

void declare_messaging_config(config::Schema& s);

struct MessagingOptions {
  int max_segments = 10;                       // longest text, in SMS segments
  int max_recipients = 10;                     // a group message's recipients
  int user_rate_per_minute = 60;               // sends per user per minute (0: unlimited)
  std::vector<std::string> allowed_countries;  // default destination allow-list
  std::int64_t lease_ms = 180'000;             // a claimed delivery's lease
  int max_attempts = 12;                       // retries before a delivery fails
  std::int64_t max_age_ms = 86'400'000;        // a delivery still queued after this fails
  std::int64_t hold_expiry_ms = 3 * 86'400'000LL;
  std::int64_t retry_base_ms = 5'000;  // back-off without a carrier hint
  std::size_t batch = 256;             // deliveries claimed or committed at once
  std::string node_id;                 // lease owner prefix
  std::string stop_reply =
      "You have been unsubscribed and will receive no more messages from this number. Reply "
      "START to resubscribe.";
  std::string start_reply = "You have been resubscribed. Reply STOP to unsubscribe.";
  std::string help_reply = "Reply STOP to unsubscribe.";
};
MessagingOptions messaging_options(const config::Config& c);

struct Delivery {
  std::string id;  // dlv_...
  std::string message_id;
  std::string recipient;
  std::string route;   // "on-net", an SMPP route name, or telnyx | bandwidth | plivo
  std::string status;  // queued | sending | sent | delivered | failed | undelivered
  std::string error_code, error_detail;
  int attempts = 0;
  std::int64_t cost_micros = 0;
  std::string carrier_message_id;
  std::int64_t updated_at = 0;
};

struct Message {
  std::string id;  // msg_...
  std::string tenant_id, user_id, conversation_id;
  std::string direction;  // outbound | inbound
  std::string from;
  std::vector<std::string> to;
  std::string text;
  std::vector<std::string> media;  // med_... ids
  std::string kind;                // sms | mms
  std::string encoding;            // GSM-7 | UCS-2
  int segments = 1;
  std::string status;  // outbound: as deliveries; inbound: received
  std::string error_code, error_detail;
  std::int64_t cost_micros = 0;
  std::int64_t read_at = 0;
  std::int64_t created_at = 0, updated_at = 0;
  std::vector<Delivery> deliveries;  // outbound, when asked for
};

struct Conversation {
  std::string id;  // cnv_...
  std::string tenant_id, user_id;
  std::string local_number;               // the user's number (E.164)
  std::vector<std::string> participants;  // the others, sorted
  bool group = false;
  std::string last_message_id, last_preview, last_direction;
  std::int64_t last_message_at = 0;
  std::int64_t unread = 0;
  std::int64_t created_at = 0;
};

struct SendRequest {
  std::string from;             // one of the user's active numbers (E.164 or national)
  std::vector<std::string> to;  // E.164 or national, 1..max_recipients
  std::string text;
  std::vector<std::string> media;  // med_... ids the user uploaded
  std::string idempotency_key;
};

struct SendOutcome {
  Message message;
  bool replayed = false;
};

struct ConversationQuery {
  std::string q;            // text in the preview or a participant
  std::string participant;  // E.164 digits contained in a participant
  std::string after;        // cursor: conversations older than this one
  int limit = 50;
};

struct MessageQuery {
  std::string conversation_id;  // empty: every conversation (search)
  std::string q;                // text contains
  std::string participant;
  std::string after;  // cursor: messages older than this id
  int limit = 50;
};

// An inbound message from a carrier (SMPP deliver_sm or a verified webhook).
struct InboundMessage {
  std::string route;  // SMPP route or carrier name
  std::string from;
  std::vector<std::string> to;  // the platform number(s) it was sent to
  std::string text;
  std::vector<std::string> media;  // med_... already stored, for this tenant
  std::string dedup_key;           // "" or a carrier event id: processed once
};

// What a route returns for one delivery.
struct RouteResult {
  enum class Kind { accepted, retry, permanent };
  Kind kind = Kind::retry;
  std::vector<std::string> carrier_ids;  // accepted: one per part (SMPP) or one
  std::string error_code, detail;
  std::chrono::milliseconds retry_after{0};
};

struct RouteSend {
  std::string delivery_id, message_id, tenant_id;
  std::string route;
  std::string from, to, text;
  std::vector<std::string> media;  // med_... ids
  int max_segments = 10;
};

// A way out: the SMPP gateway or the HTTP carriers.
class RouteSender {
 public:
  virtual ~RouteSender() = default;
  virtual bool handles(const std::string& route) const = 0;
  // The routes it serves (for capacity planning).
  virtual std::vector<std::string> routes() const = 0;
  // How many deliveries of this route may be in flight (sent or waiting
  // for their result) at once.
  virtual std::size_t capacity(const std::string& route) const = 0;
  // Sends; done is called exactly once, from any thread, and must not block.
  virtual void send(const RouteSend& m, std::function<void(RouteResult)> done) = 0;
};

// Media the service needs: ownership checks, sharing with on-net recipients.
class MediaAccess {
 public:
  virtual ~MediaAccess() = default;
  // The content types of the user's media (not_found if one is not theirs)
  // and their total size.
  virtual Result<std::int64_t> check_owned(const UserScope& u,
                                           const std::vector<std::string>& ids) = 0;
  // Lets another user read the media (an on-net MMS).
  virtual Status grant(storage::Connection& tx, const std::vector<std::string>& ids,
                       const UserScope& to) = 0;
};

// Everything about conversations and messages except moving bytes to
// carriers (the Dispatcher does that).
class MessageService {
 public:
  MessageService(storage::Database& db, numbers::Inventory& inventory, billing::Ledger& ledger,
                 billing::RateStore& rates, billing::PlanStore* plans,
                 accounts::TenantStore& tenants, const Clock& clock, MessagingOptions o);

  void set_media(MediaAccess* m) { media_ = m; }
  // Called after a send commits queued deliveries (wakes the dispatcher).
  void on_queued(std::function<void()> f) { on_queued_ = std::move(f); }

  Result<SendOutcome> send(const UserScope& u, const SendRequest& r);
  Result<Message> get_message(const UserScope& u, const std::string& id);
  Result<std::vector<Message>> messages(const UserScope& u, const MessageQuery& q);
  Result<std::vector<Conversation>> conversations(const UserScope& u, const ConversationQuery& q);
  Result<Conversation> conversation(const UserScope& u, const std::string& id);
  // Marks the conversation's inbound messages read (up to a message id, or all).
  Result<Conversation> mark_read(const UserScope& u, const std::string& conversation_id,
                                 const std::string& up_to);
  // Hidden for this user; the other side keeps its copy.
  Status delete_message(const UserScope& u, const std::string& id);
  Status delete_conversation(const UserScope& u, const std::string& id);

  // Inbound. Unknown destination numbers: not_found (an SMPP MO is then
  // acknowledged and dropped by the caller; a webhook answers 200).
  Result<Message> receive(const InboundMessage& m);
  // A status from a receipt or callback, by the carrier's message id on a
  // route. Unknown ids are kept for a while (a receipt can come before the
  // submit response is committed) and applied when the id is recorded.
  // With an event key (a carrier's event id), a second call with the same
  // key is conflict/"duplicate" and changes nothing.
  Status apply_status(const std::string& route, const std::string& carrier_id,
                      const std::string& status, const std::string& error_code,
                      const std::string& detail, const std::string& event_key = "");
  // Whether it was seen (without marking it).
  Result<bool> seen(const std::string& carrier, const std::string& event_id);
  // The owner of an active number (webhooks pick their keys by its tenant).
  Result<UserScope> owner_of_number(const std::string& e164);
  Result<std::string> tenant_of_carrier_id(const std::string& route, const std::string& carrier_id);

  // Destination allow-list per tenant (ISO countries; empty: the default).
  Result<std::vector<std::string>> allowed_countries(const std::string& tenant_id);
  Status set_allowed_countries(const std::string& tenant_id, const std::vector<std::string>& c);

  storage::Database& db() { return db_; }
  const MessagingOptions& options() const { return o_; }
  const Clock& clock() const { return clock_; }

  // Used by the Dispatcher, in its transactions.
  Status record_outcome(storage::Connection& tx, const std::string& delivery_id,
                        const std::string& lease_owner, const std::string& route,
                        const RouteResult& r);
  // Requeues what an earlier boot of this node left in flight.
  Result<int> reclaim(const std::string& node_prefix, const std::string& lease_owner);
  Result<std::vector<RouteSend>> claim(const std::string& lease_owner,
                                       const std::map<std::string, std::size_t>& free_by_route,
                                       std::size_t free_other);
  // The same inside the caller's transaction (the dispatcher records
  // outcomes and claims in one).
  Result<std::vector<RouteSend>> claim(storage::Connection& tx, const std::string& lease_owner,
                                       const std::map<std::string, std::size_t>& free_by_route,
                                       std::size_t free_other);

 private:
  struct Impl;
  Status set_delivery_status(storage::Connection& tx, const std::string& delivery_id,
                             const std::string& status, const std::string& error_code,
                             const std::string& detail);
  Status refresh_message_status(storage::Connection& tx, const std::string& message_id);
  Result<Message> store_inbound(storage::Connection& tx, const numbers::Number& n,
                                const std::string& from, const std::vector<std::string>& others,
                                const std::string& text, const std::vector<std::string>& media,
                                bool& queued);
  Status queue_reply(storage::Connection& tx, const numbers::Number& n, const std::string& to,
                     const std::string& text, bool& queued);
  bool rate_allowed(const std::string& user_id);

  storage::Database& db_;
  numbers::Inventory& inventory_;
  billing::Ledger& ledger_;
  billing::RateStore& rates_;
  billing::PlanStore* plans_;
  accounts::TenantStore& tenants_;
  const Clock& clock_;
  MessagingOptions o_;
  MediaAccess* media_ = nullptr;
  std::function<void()> on_queued_;
  std::mutex rate_mu_;
  std::map<std::string, std::pair<std::int64_t, double>> buckets_;  // user → (ms, tokens)
};

// Carries queued deliveries out through the route senders, commits their
// outcomes in batches. One per node.
class Dispatcher {
 public:
  Dispatcher(MessageService& svc, std::vector<RouteSender*> senders, std::string node_id);
  ~Dispatcher();
  void start();
  void stop();  // waits for what is in flight (bounded by the senders' time-outs)
  void notify();

  struct Stats {
    std::uint64_t claimed = 0, accepted = 0, retried = 0, failed = 0, transactions = 0;
    std::size_t in_flight = 0;
  };
  Stats stats() const;

 private:
  void run();
  RouteSender* sender_for(const std::string& route) const;

  MessageService& svc_;
  std::vector<RouteSender*> senders_;
  std::string node_prefix_, owner_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;
  std::atomic<bool> stopping_{false};
  std::deque<std::tuple<std::string, std::string, RouteResult>> results_;  // delivery, route
  std::map<std::string, std::size_t> in_flight_;                           // by route
  Stats stats_;
  std::thread thread_;
};

// Message status from its deliveries' statuses.
std::string derive_status(const std::vector<std::string>& delivery_statuses);
// Whether a delivery may move from one status to another (never back from
// delivered; never back to an earlier step).
bool status_advances(const std::string& from, const std::string& to);
// STOP, START or HELP keyword of an inbound text ("" otherwise).
std::string compliance_keyword(std::string_view text);

}  // namespace rh::messaging
