#include "jobs/outbox.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"

namespace rh::jobs {

using storage::Value;

Result<std::string> append_event(storage::Connection& tx, const NewEvent& e, std::int64_t now_ms) {
  std::string id = new_id("evt", now_ms);
  RH_TRY(
      tx.exec("INSERT INTO events (id, tenant_id, user_id, type, subject, payload, created_at, "
              "next_attempt_at, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
              {id, e.tenant_id.empty() ? Value{} : Value{e.tenant_id},
               e.user_id.empty() ? Value{} : Value{e.user_id}, e.type,
               e.subject.empty() ? Value{} : Value{e.subject}, e.payload.empty() ? "{}" : e.payload,
               now_ms, now_ms}));
  return id;
}

namespace {
Event event_from_row(const storage::Row& r) {
  Event e;
  e.seq = r.integer("seq");
  e.id = r.text("id");
  e.tenant_id = r.opt_text("tenant_id").value_or("");
  e.user_id = r.opt_text("user_id").value_or("");
  e.type = r.text("type");
  e.subject = r.opt_text("subject").value_or("");
  e.payload = r.text("payload");
  e.created_at = r.integer("created_at");
  e.dispatched_at = r.opt_integer("dispatched_at");
  e.attempts = static_cast<int>(r.integer("attempts"));
  e.last_error = r.opt_text("last_error").value_or("");
  return e;
}
constexpr const char* kEventCols =
    "seq, id, tenant_id, user_id, type, subject, payload, created_at, dispatched_at, attempts, "
    "last_error";
}  // namespace

Result<std::vector<Event>> list_events(storage::Database& db, const EventFilter& f) {
  return db.read<std::vector<Event>>([&](storage::Connection& c) -> Result<std::vector<Event>> {
    std::string sql = fmt::format("SELECT {} FROM events WHERE seq > ?", kEventCols);
    std::vector<Value> params{f.after_seq};
    if (!f.type.empty()) {
      sql += " AND type = ?";
      params.emplace_back(f.type);
    }
    if (!f.tenant_id.empty()) {
      sql += " AND tenant_id = ?";
      params.emplace_back(f.tenant_id);
    }
    sql += " ORDER BY seq LIMIT ?";
    params.emplace_back(static_cast<std::int64_t>(std::clamp(f.limit, 1, 500)));
    RH_ASSIGN(auto rows, c.query(sql, params));
    std::vector<Event> out;
    for (const auto& r : rows) out.push_back(event_from_row(r));
    return out;
  });
}

Result<std::vector<Event>> list_user_events(storage::Database& db, const UserScope& u,
                                            const UserEventQuery& q) {
  return db.read<std::vector<Event>>([&](storage::Connection& c) -> Result<std::vector<Event>> {
    // Served by the index events_user (tenant_id, user_id, seq).
    std::string sql = fmt::format(
        "SELECT {} FROM events WHERE tenant_id = ? AND user_id = ? AND seq > ?", kEventCols);
    std::vector<Value> params{u.tenant_id, u.user_id, q.after_seq};
    if (!q.types.empty()) {
      sql += " AND type IN (";
      for (std::size_t i = 0; i < q.types.size(); ++i) {
        sql += i ? ", ?" : "?";
        params.emplace_back(q.types[i]);
      }
      sql += ")";
    }
    if (q.created_before_ms > 0) {
      sql += " AND created_at <= ?";
      params.emplace_back(q.created_before_ms);
    }
    sql += " ORDER BY seq LIMIT ?";
    params.emplace_back(static_cast<std::int64_t>(std::clamp(q.limit, 1, 500)));
    RH_ASSIGN(auto rows, c.query(sql, params));
    std::vector<Event> out;
    for (const auto& r : rows) out.push_back(event_from_row(r));
    return out;
  });
}

std::int64_t event_settle_ms(const storage::Database& db) {
  return db.dialect() == storage::Dialect::sqlite ? 0 : 1000;
}

Result<std::int64_t> last_event_seq(storage::Database& db) {
  return db.read<std::int64_t>([](storage::Connection& c) -> Result<std::int64_t> {
    RH_ASSIGN(auto row, c.query_one("SELECT MAX(seq) AS n FROM events", {}));
    return row.opt_integer("n").value_or(0);
  });
}

std::string event_cursor(std::int64_t seq) {
  return fmt::format("ev{}", seq);
}

std::optional<std::int64_t> parse_event_cursor(std::string_view cursor) {
  if (cursor.size() < 3 || cursor.size() > 21 || cursor.substr(0, 2) != "ev") return std::nullopt;
  auto digits = cursor.substr(2);
  std::int64_t seq = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (ec != std::errc() || p != digits.data() + digits.size() || seq < 0) return std::nullopt;
  return seq;
}

EventDispatcher::EventDispatcher(storage::Database& db, const Clock& clock,
                                 metrics::Registry& metrics, DispatcherOptions o)
    : db_(db),
      clock_(clock),
      opts_(o),
      delivered_(
          metrics.counter("ringhouse_events_delivered_total", "Events handed to every consumer")),
      failed_(metrics.counter("ringhouse_events_delivery_failures_total",
                              "Event deliveries that failed and will be retried")) {
  metrics.add_collector([this]() -> std::vector<metrics::Sample> {
    auto r = db_.read<std::int64_t>([](storage::Connection& c) -> Result<std::int64_t> {
      RH_ASSIGN(auto row,
                c.query_one("SELECT COUNT(*) AS n FROM events WHERE dispatched_at IS NULL", {}));
      return row.integer("n");
    });
    if (!r) return {};
    return {{"ringhouse_events_pending",
             "Events not yet delivered to every consumer",
             "gauge",
             {},
             static_cast<double>(*r)}};
  });
}

EventDispatcher::~EventDispatcher() {
  stop();
}

void EventDispatcher::add_consumer(std::shared_ptr<EventConsumer> c) {
  consumers_.push_back(std::move(c));
}

void EventDispatcher::start() {
  if (running_.exchange(true)) return;
  thread_ = std::thread([this] { loop(); });
}

void EventDispatcher::stop() {
  if (!running_.exchange(false)) return;
  notify();
  if (thread_.joinable()) thread_.join();
}

void EventDispatcher::notify() {
  {
    std::lock_guard lk(mu_);
    wake_ = true;
  }
  cv_.notify_one();
}

namespace {

// UPDATE events SET <set> WHERE seq IN (...): one statement for a batch.
Status update_by_seq(storage::Connection& c, const char* set, std::vector<storage::Value> values,
                     const std::vector<std::int64_t>& seqs) {
  if (seqs.empty()) return {};
  std::string in;
  for (auto seq : seqs) {
    in += in.empty() ? "?" : ", ?";
    values.emplace_back(seq);
  }
  RH_TRY(c.exec(fmt::format("UPDATE events SET {} WHERE seq IN ({})", set, in), values));
  return {};
}

}  // namespace

Result<int> EventDispatcher::run_once() {
  std::int64_t now = clock_.now_ms();
  // Claim a batch with a lease so that two nodes never deliver the same batch
  // concurrently; a node that dies lets its lease expire.
  RH_ASSIGN(auto batch, db_.in_transaction<std::vector<Event>>([&](storage::Connection& c)
                                                                   -> Result<std::vector<Event>> {
    std::string sql = fmt::format(
        "SELECT {} FROM events WHERE dispatched_at IS NULL AND "
        "next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?) "
        "ORDER BY seq LIMIT ?{}",
        kEventCols, c.dialect() == storage::Dialect::mariadb ? " FOR UPDATE SKIP LOCKED" : "");
    RH_ASSIGN(auto rows, c.query(sql, {now, now, static_cast<std::int64_t>(opts_.batch)}));
    std::vector<Event> out;
    std::vector<std::int64_t> seqs;
    for (const auto& r : rows) {
      out.push_back(event_from_row(r));
      seqs.push_back(out.back().seq);
    }
    RH_TRY(update_by_seq(c, "lease_until = ?", {now + opts_.lease_ms}, seqs));
    return out;
  }));
  // Deliver, then record every outcome of the batch in one transaction.
  struct Outcome {
    std::int64_t seq;
    int attempts;
    std::string error;  // empty: delivered
  };
  std::vector<Outcome> outcomes;
  for (auto& e : batch) {
    std::string error;
    for (auto& consumer : consumers_) {
      Status st = consumer->deliver(e);
      if (!st) {
        error = consumer->name() + ": " + st.error().message;
        log::get("events")->warn("event {} ({}) delivery failed: {}", e.id, e.type, error);
        break;
      }
    }
    outcomes.push_back({e.seq, e.attempts, std::move(error)});
  }
  if (outcomes.empty()) return 0;
  std::int64_t t = clock_.now_ms();
  RH_TRY(db_.transaction([&](storage::Connection& c) -> Status {
    std::vector<std::int64_t> done;
    for (const auto& o : outcomes)
      if (o.error.empty()) done.push_back(o.seq);
    RH_TRY(update_by_seq(c, "dispatched_at = ?, lease_until = NULL, attempts = attempts + 1", {t},
                         done));
    for (const auto& o : outcomes) {
      if (o.error.empty()) continue;
      std::int64_t backoff =
          std::min<std::int64_t>(opts_.retry_max_ms, static_cast<std::int64_t>(opts_.retry_base_ms)
                                                         << std::min(o.attempts, 20));
      RH_TRY(
          c.exec("UPDATE events SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, "
                 "lease_until = NULL WHERE seq = ?",
                 {o.error, t + backoff, o.seq}));
    }
    return {};
  }));
  int delivered = 0;
  for (const auto& o : outcomes) {
    if (o.error.empty()) {
      ++delivered;
      delivered_.inc();
    } else {
      failed_.inc();
    }
  }
  return delivered;
}

void EventDispatcher::loop() {
  auto logger = log::get("events");
  while (running_) {
    auto r = run_once();
    if (!r) logger->warn("dispatch pass failed: {}", r.error().message);
    if (r && *r >= opts_.batch) continue;  // more waiting
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, std::chrono::milliseconds(opts_.poll_ms), [&] { return wake_ || !running_; });
    wake_ = false;
  }
}

}  // namespace rh::jobs
