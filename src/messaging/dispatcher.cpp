// The dispatcher: claims queued deliveries, hands them to their route, and
// commits the outcomes in batches. A slot of a route's capacity is freed only
// once its outcome is committed, so a crash re-sends at most a window.
#include <chrono>

#include "core/ids.hpp"
#include "core/log.hpp"
#include "messaging/service.hpp"

namespace rh::messaging {

namespace {
constexpr auto kPoll = std::chrono::milliseconds(250);
constexpr auto kGather = std::chrono::milliseconds(2);
constexpr std::size_t kUnknownRouteSlots = 16;
}  // namespace

Dispatcher::Dispatcher(MessageService& svc, std::vector<RouteSender*> senders, std::string node_id)
    : svc_(svc), senders_(std::move(senders)) {
  node_prefix_ = (node_id.empty() ? std::string("node") : node_id) + ":";
  owner_ = node_prefix_ + new_id("boot");
}

Dispatcher::~Dispatcher() {
  stop();
}

void Dispatcher::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Dispatcher::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  notify();
  thread_.join();
}

void Dispatcher::notify() {
  {
    std::lock_guard lk(mu_);
    wake_ = true;
  }
  cv_.notify_one();
}

Dispatcher::Stats Dispatcher::stats() const {
  std::lock_guard lk(mu_);
  Stats s = stats_;
  s.in_flight = 0;
  for (const auto& [k, v] : in_flight_) s.in_flight += v;
  return s;
}

RouteSender* Dispatcher::sender_for(const std::string& route) const {
  for (auto* s : senders_)
    if (s->handles(route)) return s;
  return nullptr;
}

void Dispatcher::run() {
  auto logger = log::get("messaging");
  for (int attempt = 0; !stopping_; ++attempt) {
    auto n = svc_.reclaim(node_prefix_, owner_);
    if (n) {
      if (*n > 0) logger->info("re-queued {} message(s) left in flight by an earlier run", *n);
      break;
    }
    logger->warn("cannot re-queue earlier in-flight messages: {}", n.error().message);
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, std::chrono::seconds(1), [&] { return stopping_.load(); });
  }

  auto last_claim = std::chrono::steady_clock::time_point{};
  bool more = true;  // the last claim filled its batch: there may be more
  // The last claim took every free slot of a route: messages are (probably)
  // queued behind its window, so the route, not the senders, is what holds
  // them up.
  bool backlog = false;
  std::deque<std::tuple<std::string, std::string, RouteResult>> batch;
  const auto stop_deadline_after = std::chrono::seconds(10);
  std::optional<std::chrono::steady_clock::time_point> stop_deadline;
  const std::size_t gather = std::max<std::size_t>(1, svc_.options().batch / 4);

  while (true) {
    bool woken = false;
    std::size_t in_flight = 0;
    {
      std::unique_lock lk(mu_);
      for (const auto& [k, v] : in_flight_) in_flight += v;
      if (stopping_) {
        if (!stop_deadline) stop_deadline = std::chrono::steady_clock::now() + stop_deadline_after;
        if ((in_flight == 0 && results_.empty()) ||
            std::chrono::steady_clock::now() > *stop_deadline)
          break;
        cv_.wait_for(lk, std::chrono::milliseconds(50), [&] { return !results_.empty(); });
      } else {
        if (results_.empty() && !wake_ && !more)
          cv_.wait_until(lk, last_claim + kPoll,
                         [&] { return !results_.empty() || wake_ || stopping_.load(); });
        // Let outcomes and new messages gather a moment: one transaction
        // then serves many (each costs a commit), at the price of up to
        // kGather of latency. Never longer than until every message in
        // flight has its outcome: with a small window the whole window is
        // back long before kGather, and waiting on would idle the route.
        const std::size_t want = std::min(gather, in_flight);
        if (!stopping_ && results_.size() < want)
          cv_.wait_for(lk, kGather, [&] { return results_.size() >= want || stopping_.load(); });
      }
      woken = wake_;
      wake_ = false;
      batch.swap(results_);
    }

    auto now = std::chrono::steady_clock::now();
    const bool claim_now =
        !stopping_ && (woken || more || !batch.empty() || now >= last_claim + kPoll);

    // Free capacity by route, counting the slots this transaction frees.
    std::map<std::string, std::size_t> free;
    std::size_t free_other = kUnknownRouteSlots;  // routes no sender knows: retried later
    if (claim_now) {
      std::map<std::string, std::size_t> busy;
      {
        std::lock_guard lk(mu_);
        busy = in_flight_;
      }
      for (const auto& [delivery, route, result] : batch)
        if (busy[route] > 0) --busy[route];
      for (auto* s : senders_)
        for (const auto& route : s->routes()) free[route] = s->capacity(route);
      for (const auto& [route, n] : busy) {
        auto it = free.find(route);
        std::size_t cap = it != free.end() ? it->second : kUnknownRouteSlots;
        free[route] = cap > n ? cap - n : 0;
      }
    }

    // Outcomes and the next claim in one transaction.
    std::vector<RouteSend> claimed;
    // On SQLite (one writer) one transaction serves both, committed ahead
    // of the senders' waiting ones (the window's slots wait on it); on
    // MariaDB the outcomes' row locks (wallets) are let go before the claim,
    // so that senders do not wait behind it.
    const bool one_transaction = svc_.db().dialect() == storage::Dialect::sqlite;
    // Every message in flight is in this batch and more wait behind the
    // window: the routes have nothing to do until it commits, so it does not
    // wait for a running shared commit either (window 10: ~850 -> ~2,000
    // msgs/s). Otherwise it only goes first: cutting a group of sends short
    // delays their answers a commit, and when the senders are what limits
    // the rate that costs more than it gains (window 100, cutting each
    // time: ~3,300 -> 1,800-2,800 msgs/s).
    const auto urgency = backlog && !batch.empty() && batch.size() >= in_flight
                             ? storage::Database::Urgency::now
                             : storage::Database::Urgency::ahead;
    Status st = svc_.db().urgent_transaction(
        [&](storage::Connection& tx) -> Status {
          claimed.clear();
          for (const auto& [delivery, route, result] : batch)
            RH_TRY(svc_.record_outcome(tx, delivery, owner_, route, result));
          if (claim_now && one_transaction) {
            RH_ASSIGN(claimed, svc_.claim(tx, owner_, free, free_other));
          }
          return {};
        },
        urgency);
    if (st && claim_now && !one_transaction) {
      auto c = svc_.claim(owner_, free, free_other);
      if (c) {
        claimed = std::move(*c);
      } else {
        logger->warn("cannot claim queued messages: {}", c.error().message);
      }
    }
    if (!st) {
      logger->warn("cannot record {} message outcome(s) or claim more, will retry: {}",
                   batch.size(), st.error().message);
      std::unique_lock lk(mu_);
      for (auto& x : batch) results_.push_front(std::move(x));
      batch.clear();
      more = false;
      cv_.wait_for(lk, std::chrono::milliseconds(200), [&] { return stopping_.load(); });
      continue;
    }
    if (claim_now) {
      last_claim = now;
      more = claimed.size() >= svc_.options().batch;
      std::map<std::string, std::size_t> taken;
      for (const auto& c : claimed) ++taken[c.route];
      backlog = false;
      for (const auto& [route, n] : taken) {
        auto it = free.find(route);
        if (it != free.end() && it->second > 0 && n >= it->second && sender_for(route))
          backlog = true;
      }
    }
    {
      std::lock_guard lk(mu_);
      ++stats_.transactions;
      for (const auto& [delivery, route, result] : batch) {
        auto it = in_flight_.find(route);
        if (it != in_flight_.end() && it->second > 0) --it->second;
        if (result.kind == RouteResult::Kind::accepted)
          ++stats_.accepted;
        else if (result.kind == RouteResult::Kind::retry)
          ++stats_.retried;
        else
          ++stats_.failed;
      }
      stats_.claimed += claimed.size();
      for (const auto& s : claimed) ++in_flight_[s.route];
    }
    batch.clear();
    for (auto& s : claimed) {
      RouteSender* sender = sender_for(s.route);
      auto done = [this, delivery = s.delivery_id, route = s.route](RouteResult r) {
        {
          std::lock_guard lk(mu_);
          results_.emplace_back(delivery, route, std::move(r));
        }
        cv_.notify_one();
      };
      if (!sender) {
        RouteResult r;
        r.kind = RouteResult::Kind::retry;
        r.error_code = "unknown_route";
        r.detail = "the number's messaging route '" + s.route + "' is not configured";
        r.retry_after = std::chrono::minutes(5);
        done(std::move(r));
        continue;
      }
      sender->send(s, std::move(done));
    }
  }
}

}  // namespace rh::messaging
