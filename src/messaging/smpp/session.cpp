#include "messaging/smpp/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <vector>

#include "core/log.hpp"

namespace rh::messaging::smpp {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

const char* state_name(SessionState s) {
  switch (s) {
    case SessionState::disconnected:
      return "disconnected";
    case SessionState::connecting:
      return "connecting";
    case SessionState::binding:
      return "binding";
    case SessionState::bound:
      return "bound";
    case SessionState::unbinding:
      return "unbinding";
  }
  return "unknown";
}

const char* kind_name(SubmitResult::Kind k) {
  switch (k) {
    case SubmitResult::Kind::ok:
      return "ok";
    case SubmitResult::Kind::rejected:
      return "rejected";
    case SubmitResult::Kind::timed_out:
      return "timed_out";
    case SubmitResult::Kind::link_down:
      return "link_down";
  }
  return "unknown";
}

const char* bind_mode_name(BindMode m) {
  switch (m) {
    case BindMode::transceiver:
      return "transceiver";
    case BindMode::transmitter:
      return "transmitter";
    case BindMode::receiver:
      return "receiver";
  }
  return "unknown";
}

const char* refusal_name(SubmitRefusal r) {
  switch (r) {
    case SubmitRefusal::none:
      return "none";
    case SubmitRefusal::queue_full:
      return "queue_full";
    case SubmitRefusal::invalid_message:
      return "invalid_message";
    case SubmitRefusal::stopped:
      return "stopped";
    case SubmitRefusal::receive_only:
      return "receive_only";
  }
  return "unknown";
}

namespace {

using Strand = asio::strand<asio::io_context::executor_type>;

// One TCP connection. Everything in it is touched on the session's strand
// only. Its coroutines (reader, writer, sender, ticker) end once `open` is
// false; the timers are condition variables: waiters re-check their state
// after every wake-up, wakers cancel the wait.
struct Link {
  explicit Link(const Strand& s)
      : socket(s), wake_writer(s), wake_sender(s), tick(s), closed(s), watchdog(s) {}
  tcp::socket socket;
  std::string rbuf;
  std::string out;  // bytes waiting for the writer
  bool open = true;
  bool close_after_flush = false;
  asio::steady_timer wake_writer, wake_sender, tick, closed, watchdog;
  Clock::time_point last_rx = Clock::now();
  std::optional<std::uint32_t> enquire_seq;
  Clock::time_point enquire_deadline{};
  std::optional<std::uint32_t> unbind_seq;
  Clock::time_point unbind_deadline{};
};

void put_u32(std::string& bytes, std::size_t at, std::uint32_t v) {
  bytes[at] = static_cast<char>((v >> 24) & 0xFF);
  bytes[at + 1] = static_cast<char>((v >> 16) & 0xFF);
  bytes[at + 2] = static_cast<char>((v >> 8) & 0xFF);
  bytes[at + 3] = static_cast<char>(v & 0xFF);
}

}  // namespace

class Session::Impl : public std::enable_shared_from_this<Session::Impl> {
 public:
  Impl(asio::io_context& ioc, SessionOptions o)
      : strand_(asio::make_strand(ioc)),
        opts_(std::move(o)),
        logger_(log::get("smpp")),
        backoff_timer_(strand_),
        rng_(std::random_device{}()),
        rate_(opts_.max_per_second > 0 ? opts_.max_per_second : 0) {}

  // ---- any thread -------------------------------------------------------

  void set_deliver(DeliverHandler h) {
    asio::post(strand_, [self = shared_from_this(), h = std::move(h)]() mutable {
      self->deliver_ = std::move(h);
    });
  }

  void start() {
    asio::post(strand_, [self = shared_from_this()] {
      if (self->running_ || self->stop_requested_) return;
      self->running_ = true;
      asio::co_spawn(self->strand_, self->run(), [self](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          self->logger_->error("[{}] session loop failed: {}", self->opts_.id, ex.what());
        }
        self->running_ = false;
        self->finish();
      });
    });
  }

  void stop(std::function<void()> on_stopped) {
    stopping_ = true;
    asio::post(strand_, [self = shared_from_this(), cb = std::move(on_stopped)]() mutable {
      if (cb) self->on_stopped_.push_back(std::move(cb));
      self->stop_requested_ = true;
      if (!self->running_) {
        self->finish();
        return;
      }
      self->backoff_timer_.cancel();
      if (auto link = self->link_) {
        SessionState st = self->state_.load();
        if (st == SessionState::connecting || st == SessionState::binding) {
          self->close_link(*link, "stopped while binding");
        } else {
          link->closed.cancel();  // serve() starts the unbind
        }
      }
    });
  }

  SubmitRefusal submit(ShortMessage m, SubmitCallback cb) {
    if (stopping_) return SubmitRefusal::stopped;
    if (opts_.bind_mode == BindMode::receiver) return SubmitRefusal::receive_only;
    Pdu pdu{CommandId::submit_sm, CommandStatus::ESME_ROK, 0, std::move(m)};
    auto bytes = encode(pdu);
    if (!bytes) {
      logger_->warn("[{}] submit refused: {}", opts_.id, bytes.error().message);
      return SubmitRefusal::invalid_message;
    }
    if (admitted_.fetch_add(1) >= opts_.max_queue) {
      admitted_.fetch_sub(1);
      return SubmitRefusal::queue_full;
    }
    asio::post(strand_,
               [self = shared_from_this(), b = std::move(*bytes), cb = std::move(cb)]() mutable {
                 auto link = self->link_;
                 if (!link || !link->open || self->state_.load() != SessionState::bound) {
                   self->admitted_.fetch_sub(1);
                   self->link_down_count_++;
                   SubmitResult r;
                   r.kind = SubmitResult::Kind::link_down;
                   if (cb) cb(r);
                   return;
                 }
                 self->queue_.push_back({std::move(b), std::move(cb)});
                 link->wake_sender.cancel();
               });
    return SubmitRefusal::none;
  }

  SessionState state() const { return state_.load(); }

  void set_rate(double rate) {
    rate = rate > 0 ? rate : 0;
    rate_.store(rate);
    asio::post(strand_, [self = shared_from_this(), rate] {
      // The next submit_sm goes out 1/rate after the previous one.
      self->next_send_ = rate > 0 ? self->last_send_ + interval_of(rate) : Clock::time_point{};
      if (auto link = self->link_) link->wake_sender.cancel();
    });
  }
  double rate() const { return rate_.load(); }
  const SessionOptions& options() const { return opts_; }

  std::string last_error() const {
    std::lock_guard lk(info_mu_);
    return last_error_;
  }
  std::optional<std::chrono::system_clock::time_point> bound_since() const {
    std::lock_guard lk(info_mu_);
    return bound_since_;
  }

  SessionCounters counters() const {
    SessionCounters c;
    c.submitted = submitted_.load();
    c.acked = acked_.load();
    c.rejected = rejected_.load();
    c.throttled = throttled_.load();
    c.timed_out = timed_out_.load();
    c.link_down = link_down_count_.load();
    c.outstanding = outstanding_count_.load();
    c.queued = admitted_.load();
    c.delivered = delivered_.load();
    c.binds = binds_.load();
    c.bind_failures = bind_failures_.load();
    return c;
  }

 private:
  struct Queued {
    std::string bytes;  // the encoded submit_sm, sequence_number to fill in
    SubmitCallback cb;
  };
  struct Outstanding {
    SubmitCallback cb;
    Clock::time_point deadline;
  };

  // ---- strand only ------------------------------------------------------

  static Clock::duration interval_of(double rate) {
    return rate > 0 ? std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>(1.0 / rate))
                    : Clock::duration::zero();
  }

  void note_error(std::string why) {
    std::lock_guard lk(info_mu_);
    last_error_ = std::move(why);
  }

  void set_state(SessionState s) {
    if (s != SessionState::bound) {
      std::lock_guard lk(info_mu_);
      bound_since_.reset();
    }
    auto old = state_.exchange(s);
    if (old != s) logger_->debug("[{}] {} -> {}", opts_.id, state_name(old), state_name(s));
  }

  std::uint32_t next_seq() {
    if (seq_ >= 0x7FFFFFFF) seq_ = 0;
    return ++seq_;
  }

  void finish() {
    set_state(SessionState::disconnected);
    fail_all();
    auto cbs = std::move(on_stopped_);
    on_stopped_.clear();
    for (auto& cb : cbs) cb();
  }

  void close_link(Link& link, std::string_view why) {
    if (!link.open) return;
    link.open = false;
    logger_->info("[{}] link closed: {}", opts_.id, why);
    // "session ended" closes what a failed connect or bind left open: the
    // failure itself was noted already.
    if (!stop_requested_ && why != "session ended") note_error("link closed: " + std::string(why));
    boost::system::error_code ignored;
    link.socket.shutdown(tcp::socket::shutdown_both, ignored);
    link.socket.close(ignored);
    link.wake_writer.cancel();
    link.wake_sender.cancel();
    link.tick.cancel();
    link.closed.cancel();
    link.watchdog.cancel();
  }

  // Answers everything queued or outstanding with link_down.
  void fail_all() {
    auto queued = std::move(queue_);
    queue_.clear();
    auto outstanding = std::move(outstanding_);
    outstanding_.clear();
    outstanding_count_ = 0;
    admitted_.fetch_sub(queued.size());
    link_down_count_ += queued.size() + outstanding.size();
    SubmitResult r;
    r.kind = SubmitResult::Kind::link_down;
    for (auto& [seq, o] : outstanding)
      if (o.cb) o.cb(r);
    for (auto& q : queued)
      if (q.cb) q.cb(r);
  }

  void send_bytes(Link& link, std::string_view bytes) {
    if (!link.open) return;
    link.out.append(bytes);
    link.wake_writer.cancel();
  }

  void send(Link& link, const Pdu& pdu) {
    auto bytes = encode(pdu);
    if (!bytes) {
      logger_->error("[{}] cannot encode {}: {}", opts_.id, command_name(pdu.command_id),
                     bytes.error().message);
      return;
    }
    send_bytes(link, *bytes);
  }

  std::chrono::milliseconds jittered(std::chrono::milliseconds d) {
    double j = std::clamp(opts_.reconnect_jitter, 0.0, 1.0);
    std::uniform_real_distribution<double> dist(1.0 - j, 1.0 + j);
    return std::chrono::milliseconds(
        static_cast<std::int64_t>(static_cast<double>(d.count()) * dist(rng_)));
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    auto backoff = opts_.reconnect_initial;
    while (!stop_requested_) {
      auto link = std::make_shared<Link>(strand_);
      link_ = link;
      if (co_await connect_and_bind(link)) {
        backoff = opts_.reconnect_initial;
        co_await serve(link);
      }
      close_link(*link, "session ended");
      fail_all();
      link_.reset();
      if (stop_requested_) break;
      set_state(SessionState::disconnected);
      auto delay = jittered(backoff);
      backoff = std::min(backoff * 2, opts_.reconnect_max);
      logger_->info("[{}] reconnecting in {} ms", opts_.id, delay.count());
      backoff_timer_.expires_after(delay);
      co_await backoff_timer_.async_wait(tuple_awaitable);
    }
    running_ = false;
    finish();
    logger_->info("[{}] stopped", opts_.id);
  }

  // 1: a frame in `frame`; 0: the connection closed; -1: corrupt stream.
  asio::awaitable<int> read_frame(std::shared_ptr<Link> link, std::string& frame) {
    char tmp[8192];
    for (;;) {
      auto f = next_frame(link->rbuf);
      if (f.status == FrameStatus::complete) {
        frame = link->rbuf.substr(0, f.size);
        link->rbuf.erase(0, f.size);
        co_return 1;
      }
      if (f.status == FrameStatus::corrupt) co_return -1;
      auto [ec, n] = co_await link->socket.async_read_some(asio::buffer(tmp), tuple_awaitable);
      if (ec || !link->open) co_return 0;
      link->rbuf.append(tmp, n);
    }
  }

  asio::awaitable<bool> connect_and_bind(std::shared_ptr<Link> link) {
    set_state(SessionState::connecting);
    link->watchdog.expires_after(opts_.bind_timeout);
    link->watchdog.async_wait([self = shared_from_this(), link](boost::system::error_code ec) {
      if (!ec && self->state_.load() != SessionState::bound)
        self->close_link(*link, "bind timed out");
    });
    tcp::resolver resolver(strand_);
    auto [rec, endpoints] =
        co_await resolver.async_resolve(opts_.host, std::to_string(opts_.port), tuple_awaitable);
    if (rec || !link->open) {
      logger_->warn("[{}] cannot resolve {}: {}", opts_.id, opts_.host, rec.message());
      if (rec) note_error("cannot resolve " + opts_.host + ": " + rec.message());
      co_return false;
    }
    auto [cec, ep] = co_await asio::async_connect(link->socket, endpoints, tuple_awaitable);
    if (cec || !link->open) {
      logger_->warn("[{}] cannot connect to {}:{}: {}", opts_.id, opts_.host, opts_.port,
                    cec ? cec.message() : "closed");
      if (cec) note_error("cannot connect: " + cec.message());
      co_return false;
    }
    set_state(SessionState::binding);
    Bind bind;
    bind.system_id = opts_.system_id;
    bind.password = opts_.password;
    bind.system_type = opts_.system_type;
    const CommandId bind_id = opts_.bind_mode == BindMode::transmitter ? CommandId::bind_transmitter
                              : opts_.bind_mode == BindMode::receiver  ? CommandId::bind_receiver
                                                                      : CommandId::bind_transceiver;
    const CommandId bind_resp_id = *response_id(bind_id);
    auto seq = next_seq();
    auto bytes = encode(Pdu{bind_id, CommandStatus::ESME_ROK, seq, bind});
    if (!bytes) {
      logger_->error("[{}] cannot encode {}: {}", opts_.id, command_name(bind_id),
                     bytes.error().message);
      note_error("cannot encode the bind: " + bytes.error().message);
      bind_failures_++;
      co_return false;
    }
    auto [wec, wn] =
        co_await asio::async_write(link->socket, asio::buffer(*bytes), tuple_awaitable);
    if (wec || !link->open) co_return false;
    for (;;) {
      std::string frame;
      int r = co_await read_frame(link, frame);
      if (r <= 0 || !link->open) {
        bind_failures_++;
        logger_->warn("[{}] no {}", opts_.id, command_name(bind_resp_id));
        note_error(std::string("no ") + command_name(bind_resp_id));
        co_return false;
      }
      auto pdu = decode(frame);
      if (!pdu) continue;
      if (pdu->sequence_number != seq) continue;
      if (pdu->command_id != bind_resp_id && pdu->command_id != CommandId::generic_nack) continue;
      if (pdu->command_status != CommandStatus::ESME_ROK) {
        bind_failures_++;
        logger_->warn("[{}] bind refused: {}", opts_.id, describe_status(pdu->command_status));
        note_error("bind refused: " + describe_status(pdu->command_status));
        co_return false;
      }
      break;
    }
    link->watchdog.cancel();
    if (!link->open) co_return false;
    binds_++;
    link->last_rx = Clock::now();
    set_state(SessionState::bound);
    {
      std::lock_guard lk(info_mu_);
      bound_since_ = std::chrono::system_clock::now();
    }
    logger_->info("[{}] bound to {}:{} as {} ({})", opts_.id, opts_.host, opts_.port,
                  opts_.system_id, bind_mode_name(opts_.bind_mode));
    co_return true;
  }

  void spawn(asio::awaitable<void> a, const char* what) {
    asio::co_spawn(strand_, std::move(a), [self = shared_from_this(), what](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        self->logger_->error("[{}] {} failed: {}", self->opts_.id, what, ex.what());
      }
    });
  }

  asio::awaitable<void> serve(std::shared_ptr<Link> link) {
    spawn(reader(link), "reader");
    spawn(writer(link), "writer");
    spawn(sender(link), "sender");
    spawn(ticker(link), "ticker");
    for (;;) {
      if (!link->open) break;
      if (stop_requested_ && !link->unbind_seq) begin_unbind(*link);
      link->closed.expires_at(Clock::time_point::max());
      co_await link->closed.async_wait(tuple_awaitable);
    }
  }

  void begin_unbind(Link& link) {
    set_state(SessionState::unbinding);
    // Nothing queued goes out any more; outstanding submits may still get
    // their response before unbind_resp.
    auto queued = std::move(queue_);
    queue_.clear();
    admitted_.fetch_sub(queued.size());
    link_down_count_ += queued.size();
    SubmitResult r;
    r.kind = SubmitResult::Kind::link_down;
    for (auto& q : queued)
      if (q.cb) q.cb(r);
    auto seq = next_seq();
    link.unbind_seq = seq;
    link.unbind_deadline = Clock::now() + opts_.unbind_timeout;
    send(link, Pdu{CommandId::unbind, CommandStatus::ESME_ROK, seq, {}});
    link.tick.cancel();
  }

  asio::awaitable<void> writer(std::shared_ptr<Link> link) {
    for (;;) {
      if (!link->open) co_return;
      if (link->out.empty()) {
        if (link->close_after_flush) {
          close_link(*link, "unbound by the SMSC");
          co_return;
        }
        link->wake_writer.expires_at(Clock::time_point::max());
        co_await link->wake_writer.async_wait(tuple_awaitable);
        continue;
      }
      std::string bytes = std::move(link->out);
      link->out.clear();
      auto [ec, n] = co_await asio::async_write(link->socket, asio::buffer(bytes), tuple_awaitable);
      if (ec) {
        close_link(*link, "write failed: " + ec.message());
        co_return;
      }
    }
  }

  asio::awaitable<void> sender(std::shared_ptr<Link> link) {
    for (;;) {
      if (!link->open) co_return;
      const auto interval = interval_of(rate_.load());
      auto now = Clock::now();
      auto wake = Clock::time_point::max();
      bool sent = false;
      while (!queue_.empty() && outstanding_.size() < opts_.window &&
             state_.load() == SessionState::bound) {
        if (interval.count() > 0 && now < next_send_) {
          wake = next_send_;
          break;
        }
        auto q = std::move(queue_.front());
        queue_.pop_front();
        admitted_.fetch_sub(1);
        auto seq = next_seq();
        put_u32(q.bytes, 12, seq);
        outstanding_[seq] = Outstanding{std::move(q.cb), now + opts_.response_timeout};
        outstanding_count_ = outstanding_.size();
        submitted_++;
        link->out.append(q.bytes);
        sent = true;
        last_send_ = std::max(now, next_send_);
        if (interval.count() > 0) next_send_ = last_send_ + interval;
      }
      if (sent) {
        link->wake_writer.cancel();
        link->tick.cancel();
      }
      link->wake_sender.expires_at(wake);
      co_await link->wake_sender.async_wait(tuple_awaitable);
    }
  }

  asio::awaitable<void> ticker(std::shared_ptr<Link> link) {
    for (;;) {
      if (!link->open) co_return;
      auto now = Clock::now();
      auto wake = Clock::time_point::max();
      // Response time-outs.
      std::vector<SubmitCallback> expired;
      for (auto it = outstanding_.begin(); it != outstanding_.end();) {
        if (it->second.deadline <= now) {
          expired.push_back(std::move(it->second.cb));
          it = outstanding_.erase(it);
        } else {
          wake = std::min(wake, it->second.deadline);
          ++it;
        }
      }
      if (!expired.empty()) {
        outstanding_count_ = outstanding_.size();
        timed_out_ += expired.size();
        logger_->warn("[{}] {} submit_sm without response within {} ms", opts_.id, expired.size(),
                      opts_.response_timeout.count());
        link->wake_sender.cancel();
        SubmitResult r;
        r.kind = SubmitResult::Kind::timed_out;
        for (auto& cb : expired)
          if (cb) cb(r);
        if (!link->open) co_return;
      }
      // Keep-alive.
      if (link->enquire_seq) {
        if (now >= link->enquire_deadline) {
          close_link(*link, "no enquire_link_resp");
          co_return;
        }
        wake = std::min(wake, link->enquire_deadline);
      } else if (state_.load() == SessionState::bound) {
        auto due = link->last_rx + opts_.enquire_link_interval;
        if (now >= due) {
          auto seq = next_seq();
          link->enquire_seq = seq;
          link->enquire_deadline = now + opts_.response_timeout;
          send(*link, Pdu{CommandId::enquire_link, CommandStatus::ESME_ROK, seq, {}});
          wake = std::min(wake, link->enquire_deadline);
        } else {
          wake = std::min(wake, due);
        }
      }
      // Unbind.
      if (link->unbind_seq) {
        if (now >= link->unbind_deadline) {
          close_link(*link, "no unbind_resp");
          co_return;
        }
        wake = std::min(wake, link->unbind_deadline);
      }
      link->tick.expires_at(wake);
      co_await link->tick.async_wait(tuple_awaitable);
    }
  }

  asio::awaitable<void> reader(std::shared_ptr<Link> link) {
    for (;;) {
      std::string frame;
      int r = co_await read_frame(link, frame);
      if (!link->open) co_return;
      if (r == 0) {
        close_link(*link, "connection closed by the SMSC");
        co_return;
      }
      if (r < 0) {
        logger_->warn("[{}] corrupt command_length from the SMSC", opts_.id);
        send(*link, Pdu{CommandId::generic_nack, CommandStatus::ESME_RINVCMDLEN, 0, {}});
        link->close_after_flush = true;
        link->wake_writer.cancel();
        co_return;
      }
      link->last_rx = Clock::now();
      auto pdu = decode(frame);
      if (!pdu) {
        logger_->warn("[{}] undecodable PDU from the SMSC: {}", opts_.id, pdu.error().message);
        if (auto reply = error_reply(pdu.error())) send(*link, *reply);
        continue;
      }
      handle(link, std::move(*pdu));
    }
  }

  void complete_submit(std::uint32_t seq, const Pdu& pdu) {
    auto it = outstanding_.find(seq);
    if (it == outstanding_.end()) {
      logger_->debug("[{}] {} for unknown sequence {}", opts_.id, command_name(pdu.command_id),
                     seq);
      return;
    }
    auto cb = std::move(it->second.cb);
    outstanding_.erase(it);
    outstanding_count_ = outstanding_.size();
    SubmitResult r;
    if (pdu.command_status == CommandStatus::ESME_ROK &&
        pdu.command_id == CommandId::submit_sm_resp) {
      acked_++;
      r.kind = SubmitResult::Kind::ok;
      if (auto* b = pdu.body_as<MessageIdResp>()) r.message_id = b->message_id;
    } else {
      rejected_++;
      if (pdu.command_status == CommandStatus::ESME_RTHROTTLED) throttled_++;
      r.kind = SubmitResult::Kind::rejected;
      r.status = pdu.command_status;
      r.verdict = classify_submit_status(pdu.command_status);
      if (r.verdict.action == SubmitAction::ok) r.verdict.action = SubmitAction::permanent;
    }
    if (link_) link_->wake_sender.cancel();
    if (cb) cb(r);
  }

  void handle(const std::shared_ptr<Link>& link, Pdu pdu) {
    auto seq = pdu.sequence_number;
    switch (pdu.command_id) {
      case CommandId::submit_sm_resp:
        complete_submit(seq, pdu);
        break;
      case CommandId::generic_nack:
        if (link->enquire_seq == seq) {
          link->enquire_seq.reset();
        } else if (link->unbind_seq == seq) {
          close_link(*link, "unbind answered with generic_nack");
        } else {
          logger_->warn("[{}] generic_nack {} for sequence {}", opts_.id,
                        describe_status(pdu.command_status), seq);
          complete_submit(seq, pdu);
        }
        break;
      case CommandId::enquire_link_resp:
        if (link->enquire_seq == seq) link->enquire_seq.reset();
        link->tick.cancel();
        break;
      case CommandId::enquire_link:
        send(*link, make_response(pdu));
        break;
      case CommandId::unbind_resp:
        if (link->unbind_seq == seq) close_link(*link, "unbound");
        break;
      case CommandId::unbind:
        logger_->info("[{}] the SMSC unbinds", opts_.id);
        set_state(SessionState::unbinding);
        send(*link, make_response(pdu));
        link->close_after_flush = true;
        link->wake_writer.cancel();
        break;
      case CommandId::deliver_sm:
        on_deliver_sm(link, std::move(pdu));
        break;
      case CommandId::alert_notification:
        break;
      default:
        if (is_response(pdu.command_id)) {
          logger_->debug("[{}] ignored {}", opts_.id, command_name(pdu.command_id));
        } else if (pdu.command_id == CommandId::data_sm) {
          send(*link, make_response(pdu, CommandStatus::ESME_RINVCMDID, MessageIdResp{}));
        } else {
          send(*link, make_response(pdu, CommandStatus::ESME_RINVBNDSTS));
        }
        break;
    }
  }

  void on_deliver_sm(const std::shared_ptr<Link>& link, Pdu pdu) {
    delivered_++;
    auto* sm = pdu.body_as<ShortMessage>();
    if (opts_.bind_mode == BindMode::transmitter) {
      logger_->warn("[{}] deliver_sm on a transmitter bind: refused", opts_.id);
      send(*link, make_response(pdu, CommandStatus::ESME_RINVBNDSTS, MessageIdResp{}));
      return;
    }
    if (!deliver_ || !sm) {
      send(*link, make_response(pdu, CommandStatus::ESME_RX_T_APPN, MessageIdResp{}));
      return;
    }
    auto once = std::make_shared<std::atomic<bool>>(false);
    std::weak_ptr<Link> weak = link;
    DeliverDone done = [self = shared_from_this(), weak, seq = pdu.sequence_number,
                        once](CommandStatus status) {
      if (once->exchange(true)) return;
      asio::post(self->strand_, [self, weak, seq, status] {
        auto l = weak.lock();
        if (!l || !l->open) {
          self->logger_->info("[{}] deliver_sm {} completed after its link went down",
                              self->opts_.id, seq);
          return;
        }
        self->send(*l, Pdu{CommandId::deliver_sm_resp, status, seq, MessageIdResp{}});
      });
    };
    try {
      deliver_(*sm, std::move(done));
    } catch (const std::exception& e) {
      logger_->error("[{}] on_deliver threw: {}", opts_.id, e.what());
    }
  }

  Strand strand_;
  SessionOptions opts_;
  std::shared_ptr<spdlog::logger> logger_;
  asio::steady_timer backoff_timer_;
  std::mt19937 rng_;

  // Strand only.
  bool running_ = false;
  bool stop_requested_ = false;
  std::vector<std::function<void()>> on_stopped_;
  DeliverHandler deliver_;
  std::shared_ptr<Link> link_;
  std::deque<Queued> queue_;
  std::map<std::uint32_t, Outstanding> outstanding_;
  std::uint32_t seq_ = 0;
  Clock::time_point next_send_{};
  Clock::time_point last_send_{};

  // Any thread.
  std::atomic<double> rate_{0};
  mutable std::mutex info_mu_;
  std::string last_error_;                                            // info_mu_
  std::optional<std::chrono::system_clock::time_point> bound_since_;  // info_mu_
  std::atomic<bool> stopping_{false};
  std::atomic<SessionState> state_{SessionState::disconnected};
  std::atomic<std::uint64_t> admitted_{0};
  std::atomic<std::uint64_t> submitted_{0}, acked_{0}, rejected_{0}, throttled_{0}, timed_out_{0},
      link_down_count_{0}, outstanding_count_{0}, delivered_{0}, binds_{0}, bind_failures_{0};
};

Session::Session(boost::asio::io_context& ioc, SessionOptions o)
    : impl_(std::make_shared<Impl>(ioc, std::move(o))) {}

Session::~Session() {
  impl_->stop({});
}

void Session::on_deliver(DeliverHandler h) {
  impl_->set_deliver(std::move(h));
}
void Session::start() {
  impl_->start();
}
void Session::stop(std::function<void()> on_stopped) {
  impl_->stop(std::move(on_stopped));
}
SubmitRefusal Session::submit(ShortMessage m, SubmitCallback cb) {
  return impl_->submit(std::move(m), std::move(cb));
}
void Session::set_max_per_second(double rate) {
  impl_->set_rate(rate);
}
double Session::max_per_second() const {
  return impl_->rate();
}
SessionState Session::state() const {
  return impl_->state();
}
const SessionOptions& Session::options() const {
  return impl_->options();
}
std::string Session::last_error() const {
  return impl_->last_error();
}
std::optional<std::chrono::system_clock::time_point> Session::bound_since() const {
  return impl_->bound_since();
}
SessionCounters Session::counters() const {
  return impl_->counters();
}

}  // namespace rh::messaging::smpp
