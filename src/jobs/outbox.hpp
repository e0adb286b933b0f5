// The event outbox: a state change that others must hear about appends an
// event in the same transaction as the change, so the event exists exactly
// when the change does. The dispatcher then hands each event to every
// registered consumer (stream, push, webhooks, ...) at least once; consumers
// de-duplicate by event id.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "core/principal.hpp"
#include "core/result.hpp"
#include "storage/database.hpp"

namespace rh::jobs {

struct NewEvent {
  std::string type;       // "tenant.updated", "message.received", ...
  std::string tenant_id;  // empty for platform-wide events
  std::string subject;    // id of the thing it is about
  std::string payload;    // JSON object text
  // The user it belongs to (their message, call, number, balance): that
  // user's live feed (GET /v1/events) shows it. Empty: nobody's.
  std::string user_id;
};

struct Event {
  std::int64_t seq = 0;
  std::string id;  // evt_...
  std::string tenant_id;
  std::string user_id;
  std::string type;
  std::string subject;
  std::string payload;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> dispatched_at;
  int attempts = 0;
  std::string last_error;
};

// Appends an event inside the caller's transaction; returns its id.
Result<std::string> append_event(storage::Connection& tx, const NewEvent& e, std::int64_t now_ms);

struct EventFilter {
  std::string type;       // exact match when set
  std::string tenant_id;  // exact match when set
  std::int64_t after_seq = 0;
  int limit = 50;
};
Result<std::vector<Event>> list_events(storage::Database& db, const EventFilter& f);

// A user's own events (appended with their tenant and user id), in seq order.
struct UserEventQuery {
  std::int64_t after_seq = 0;
  std::vector<std::string> types;  // exact types; empty: every type
  int limit = 100;                 // 1..500
  // Only events created at or before this time (ms; 0: no limit). On
  // MariaDB, transactions commit out of seq order: a reader that took a
  // fresh event could step past an older one still being committed, so
  // readers there hold each event back until it is settle_ms old.
  std::int64_t created_before_ms = 0;
};

// How long a live reader waits before it trusts that nothing older than an
// event can still appear: 0 on SQLite (one writer at a time), else 1000 ms.
std::int64_t event_settle_ms(const storage::Database& db);
Result<std::vector<Event>> list_user_events(storage::Database& db, const UserScope& u,
                                            const UserEventQuery& q);

// The newest event's seq, 0 when there is none: where a reader that starts
// "from now" begins.
Result<std::int64_t> last_event_seq(storage::Database& db);

// The cursor a reader of a user's events continues from, opaque to clients
// ("ev" and a seq), and back: nullopt for anything that is not one.
std::string event_cursor(std::int64_t seq);
std::optional<std::int64_t> parse_event_cursor(std::string_view cursor);

class EventConsumer {
 public:
  virtual ~EventConsumer() = default;
  virtual std::string name() const = 0;
  // Must be quick (hand off to a queue or a job); an error retries the event.
  virtual Status deliver(const Event& e) = 0;
};

struct DispatcherOptions {
  int batch = 100;
  int poll_ms = 500;
  int lease_ms = 30'000;
  int retry_base_ms = 1000;
  int retry_max_ms = 300'000;
};

class EventDispatcher {
 public:
  EventDispatcher(storage::Database& db, const Clock& clock, metrics::Registry& metrics,
                  DispatcherOptions o);
  ~EventDispatcher();

  void add_consumer(std::shared_ptr<EventConsumer> c);
  void start();
  void stop();
  // Wakes the dispatcher (an event was just committed).
  void notify();
  // One pass: claims and delivers due events; returns how many were delivered.
  Result<int> run_once();

 private:
  void loop();
  storage::Database& db_;
  const Clock& clock_;
  DispatcherOptions opts_;
  std::vector<std::shared_ptr<EventConsumer>> consumers_;
  metrics::Counter& delivered_;
  metrics::Counter& failed_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace rh::jobs
