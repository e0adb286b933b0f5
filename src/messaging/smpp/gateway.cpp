#include "messaging/smpp/gateway.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <deque>
#include <future>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include "core/log.hpp"
#include "messaging/encoding.hpp"
#include "messaging/smpp/udh.hpp"

namespace rh::messaging::smpp {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

const char* mode_name(BindConfig::Mode m) {
  return m == BindConfig::Mode::pair ? "pair" : "transceiver";
}

const char* kind_name(SmsOutcome::Kind k) {
  switch (k) {
    case SmsOutcome::Kind::accepted:
      return "accepted";
    case SmsOutcome::Kind::retry:
      return "retry";
    case SmsOutcome::Kind::permanent:
      return "permanent";
  }
  return "unknown";
}

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// decode_text refuses binary and unknown data_coding whatever the bytes.
bool is_text_coding(std::uint8_t data_coding) {
  auto r = decode_text(data_coding, "", Malformed::replace);
  return r.ok();
}

}  // namespace

Address smpp_address_of(std::string_view number) {
  if (number.size() > 1 && number.front() == '+' && all_digits(number.substr(1)))
    return Address{kTonInternational, kNpiIsdn, std::string(number.substr(1))};
  if (all_digits(number)) return Address{kTonUnknown, kNpiIsdn, std::string(number)};
  return Address{kTonAlphanumeric, kNpiUnknown, std::string(number)};
}

std::string e164_of(const Address& a) {
  std::string_view digits = a.addr;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  if (!all_digits(digits)) return a.addr;
  if (a.ton == kTonInternational || digits.size() >= 10) return "+" + std::string(digits);
  return a.addr;
}

// ---------------------------------------------------------------------------

class Gateway::Impl : public std::enable_shared_from_this<Gateway::Impl> {
 public:
  Impl(asio::io_context& ioc, GatewayOptions o, std::shared_ptr<PartStore> store)
      : ioc_(ioc),
        strand_(asio::make_strand(ioc)),
        opts_(std::move(o)),
        store_(store ? std::move(store) : std::make_shared<MemoryPartStore>()),
        logger_(log::get("smpp")),
        restore_timer_(strand_),
        expire_timer_(strand_) {
    if (!opts_.clock) opts_.clock = &system_clock_;
    std::random_device rd;
    std::set<std::string> ids;
    for (const auto& cfg : opts_.binds) {
      if (cfg.route.empty()) throw std::invalid_argument("smpp bind " + cfg.id + ": no route");
      if (cfg.id.empty())
        throw std::invalid_argument("smpp bind on route " + cfg.route + ": no id");
      if (!ids.insert(cfg.id).second)
        throw std::invalid_argument("smpp bind " + cfg.id + ": the id is used twice");
      auto b = std::make_unique<Bind>();
      b->cfg = cfg;
      b->next_ref = static_cast<std::uint8_t>(rd());
      auto add = [&](std::string id, BindMode mode) {
        auto s = std::make_unique<Slot>();
        SessionOptions so = cfg.session;
        so.id = std::move(id);
        so.bind_mode = mode;
        s->configured_rate = so.max_per_second > 0 ? so.max_per_second : 0;
        s->session = std::make_unique<Session>(ioc_, std::move(so));
        s->mode = mode;
        b->slots.push_back(std::move(s));
      };
      if (cfg.mode == BindConfig::Mode::pair) {
        add(cfg.id + "/tx", BindMode::transmitter);
        add(cfg.id + "/rx", BindMode::receiver);
      } else {
        add(cfg.id, BindMode::transceiver);
      }
      routes_[cfg.route].push_back(b.get());
      binds_.push_back(std::move(b));
    }
  }

  // ---- any thread -------------------------------------------------------

  void set_mo(MoHandler h) {
    asio::post(strand_, [self = shared_from_this(), h = std::move(h)]() mutable {
      self->mo_ = std::move(h);
    });
  }
  void set_receipt(ReceiptHandler h) {
    asio::post(strand_, [self = shared_from_this(), h = std::move(h)]() mutable {
      self->receipt_ = std::move(h);
    });
  }

  void start() {
    asio::post(strand_, [self = shared_from_this()] {
      if (self->started_ || self->stopping_) return;
      self->started_ = true;
      std::weak_ptr<Impl> weak = self;
      for (auto& b : self->binds_) {
        Bind* bind = b.get();
        for (auto& s : b->slots) {
          if (s->mode != BindMode::transmitter) {
            s->session->on_deliver([weak, bind](const ShortMessage& sm, Session::DeliverDone d) {
              auto me = weak.lock();
              if (!me) return;  // nothing answers: the SMSC redelivers
              asio::post(me->strand_, [me, bind, sm, d = std::move(d)]() mutable {
                me->inbound(*bind, sm, std::move(d));
              });
            });
          }
          s->session->start();
        }
      }
      self->arm_restore();
      self->arm_expire();
    });
  }

  void stop(std::function<void()> on_stopped) {
    asio::post(strand_, [self = shared_from_this(), cb = std::move(on_stopped)]() mutable {
      if (cb) self->on_stopped_.push_back(std::move(cb));
      if (self->stopping_) {
        self->maybe_stopped();
        return;
      }
      self->stopping_ = true;
      self->restore_timer_.cancel();
      self->expire_timer_.cancel();
      for (auto& b : self->binds_) {
        for (auto& s : b->slots) {
          self->sessions_running_++;
          s->session->stop([self] {
            asio::post(self->strand_, [self] {
              self->sessions_running_--;
              self->maybe_stopped();
            });
          });
        }
      }
      self->maybe_stopped();
    });
  }

  void send(const std::string& route, OutboundSms m, std::function<void(SmsOutcome)> done) {
    asio::post(strand_, [self = shared_from_this(), route, m = std::move(m),
                         done = std::move(done)]() mutable {
      self->do_send(route, std::move(m), std::move(done));
    });
  }

  std::vector<BindStatus> status() const {
    std::vector<BindStatus> out;
    for (const auto& b : binds_) {
      BindStatus bs;
      bs.id = b->cfg.id;
      bs.route = b->cfg.route;
      bs.mode = mode_name(b->cfg.mode);
      for (const auto& s : b->slots) {
        SessionStatus ss;
        ss.id = s->session->options().id;
        ss.bind_mode = s->mode;
        ss.state = state_name(s->session->state());
        ss.counters = s->session->counters();
        ss.max_per_second = s->session->max_per_second();
        ss.configured_max_per_second = s->configured_rate;
        ss.last_error = s->session->last_error();
        if (auto since = s->session->bound_since()) {
          ss.bound_since_ms =
              std::chrono::duration_cast<std::chrono::milliseconds>(since->time_since_epoch())
                  .count();
        }
        bs.sessions.push_back(std::move(ss));
      }
      out.push_back(std::move(bs));
    }
    return out;
  }

 private:
  // One session of a bind, with its rate-lowering state (strand only, but
  // for the immutable fields that status() reads).
  struct Slot {
    std::unique_ptr<Session> session;
    BindMode mode = BindMode::transceiver;
    double configured_rate = 0;
    double throttled_from = 0;  // uncapped sessions: the rate when throttled
    SteadyClock::time_point last_throttle{};
    SteadyClock::time_point last_lowered{};
    std::deque<SteadyClock::time_point> responses;  // last second, for the observed rate
  };
  struct Bind {
    BindConfig cfg;
    std::vector<std::unique_ptr<Slot>> slots;
    std::uint8_t next_ref = 0;  // strand only
  };

  // One send() in flight: the results of its parts.
  struct PartResult {
    bool done = false;
    SubmitResult result;
    SubmitRefusal refusal = SubmitRefusal::none;
  };
  struct SendOp {
    std::string reference;
    std::function<void(SmsOutcome)> done;
    std::string bind_id;
    std::vector<PartResult> parts;
    std::size_t remaining = 0;
  };

  // ---- strand only ------------------------------------------------------

  static void finish_with(const std::function<void(SmsOutcome)>& done, SmsOutcome o) {
    if (done) done(std::move(o));
  }

  SmsOutcome failure(SmsOutcome::Kind kind, std::string code, std::string detail,
                     std::chrono::milliseconds retry_after = std::chrono::milliseconds(0)) {
    SmsOutcome o;
    o.kind = kind;
    o.error_code = std::move(code);
    o.detail = std::move(detail);
    o.retry_after = retry_after;
    return o;
  }

  Slot* pick(const std::vector<Bind*>& binds, Bind** chosen_bind) {
    Slot* best = nullptr;
    std::int64_t best_free = 0;
    std::vector<std::pair<Bind*, Slot*>> candidates;
    for (Bind* b : binds)
      for (auto& s : b->slots)
        if (s->mode != BindMode::receiver && s->session->state() == SessionState::bound)
          candidates.emplace_back(b, s.get());
    if (candidates.empty()) return nullptr;
    const std::size_t start = rr_++ % candidates.size();
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      auto [b, s] = candidates[(start + i) % candidates.size()];
      auto c = s->session->counters();
      auto free = static_cast<std::int64_t>(s->session->options().window) -
                  static_cast<std::int64_t>(c.outstanding) - static_cast<std::int64_t>(c.queued);
      if (!best || free > best_free) {
        best = s;
        best_free = free;
        *chosen_bind = b;
      }
    }
    return best;
  }

  void do_send(const std::string& route, OutboundSms m, std::function<void(SmsOutcome)> done) {
    using Kind = SmsOutcome::Kind;
    if (stopping_ || !started_) {
      finish_with(done, failure(Kind::retry, "stopped", "the SMPP gateway is not running",
                                opts_.link_retry_after));
      return;
    }
    auto rit = routes_.find(route);
    if (rit == routes_.end()) {
      finish_with(done, failure(Kind::permanent, "unknown_route",
                                "no SMPP bind serves the route \"" + route + "\""));
      return;
    }
    SegmentOptions so;
    so.max_segments = std::clamp(m.max_segments, 1, kMaxConcatParts);
    auto seg = segment(m.text, so);
    if (!seg) {
      finish_with(done, failure(Kind::permanent, "invalid_message",
                                seg.error().reason + ": " + seg.error().message));
      return;
    }
    Address source = smpp_address_of(m.source);
    Address dest = smpp_address_of(m.destination);
    if (source.addr.empty() || source.addr.size() >= kMaxSmAddress || dest.addr.empty() ||
        dest.addr.size() >= kMaxSmAddress || dest.ton == kTonAlphanumeric) {
      finish_with(done, failure(Kind::permanent, "invalid_address",
                                "source \"" + m.source + "\" or destination \"" + m.destination +
                                    "\" cannot be an SMPP address"));
      return;
    }
    Bind* bind = nullptr;
    Slot* slot = pick(rit->second, &bind);
    if (!slot) {
      finish_with(done,
                  failure(Kind::retry, "no_bind", "no bound SMPP session on the route " + route,
                          opts_.no_bind_retry_after));
      return;
    }
    const auto& parts = seg->parts;
    const std::size_t n = parts.size();
    const std::uint8_t ref = n > 1 ? bind->next_ref++ : 0;
    auto op = std::make_shared<SendOp>();
    op->reference = m.reference;
    op->done = std::move(done);
    op->bind_id = bind->cfg.id;
    op->parts.resize(n);
    op->remaining = n;
    const std::uint8_t dc = data_coding_of(seg->summary.encoding);
    for (std::size_t i = 0; i < n; ++i) {
      ShortMessage sm;
      sm.source = source;
      sm.dest = dest;
      sm.data_coding = dc;
      sm.registered_delivery =
          m.registered_delivery ? kRegisteredDeliveryFinal : kRegisteredDeliveryNone;
      if (n > 1) {
        auto udh = build_concat_udh(
            Concat{ref, static_cast<std::uint8_t>(n), static_cast<std::uint8_t>(i + 1), false});
        sm.esm_class = kEsmUdhi;
        sm.short_message = *udh + parts[i];
      } else {
        sm.short_message = parts[i];
      }
      std::weak_ptr<Impl> weak = shared_from_this();
      auto refusal =
          slot->session->submit(std::move(sm), [weak, op, slot, i](const SubmitResult& r) {
            auto me = weak.lock();
            if (!me) return;
            asio::post(me->strand_, [me, op, slot, i, r] { me->part_done(*op, slot, i, r); });
          });
      if (refusal != SubmitRefusal::none) {
        // The parts not yet submitted will not be: they fail the same way.
        for (std::size_t j = i; j < n; ++j) {
          op->parts[j].done = true;
          op->parts[j].refusal = refusal;
        }
        op->remaining -= n - i;
        if (op->remaining == 0) finish(*op);
        break;
      }
    }
  }

  void note_response(Slot& s, SteadyClock::time_point now) {
    s.responses.push_back(now);
    while (!s.responses.empty() && now - s.responses.front() > std::chrono::seconds(1))
      s.responses.pop_front();
  }

  void part_done(SendOp& op, Slot* slot, std::size_t i, const SubmitResult& r) {
    auto now = SteadyClock::now();
    if (r.kind == SubmitResult::Kind::ok || r.kind == SubmitResult::Kind::rejected)
      note_response(*slot, now);
    if (r.kind == SubmitResult::Kind::rejected && r.status == CommandStatus::ESME_RTHROTTLED)
      throttled(*slot, now);
    if (i >= op.parts.size() || op.parts[i].done) return;
    op.parts[i].done = true;
    op.parts[i].result = r;
    if (--op.remaining == 0) finish(op);
  }

  void finish(SendOp& op) {
    using Kind = SmsOutcome::Kind;
    SmsOutcome out;
    out.bind_id = op.bind_id;
    out.kind = Kind::accepted;
    for (std::size_t i = 0; i < op.parts.size(); ++i) {
      const auto& p = op.parts[i];
      Kind kind = Kind::accepted;
      std::string code, detail;
      std::chrono::milliseconds after{0};
      if (p.refusal != SubmitRefusal::none) {
        kind = p.refusal == SubmitRefusal::invalid_message ? Kind::permanent : Kind::retry;
        code = p.refusal == SubmitRefusal::invalid_message ? "invalid_message"
                                                           : refusal_name(p.refusal);
        detail = std::string("the session refused the submit: ") + refusal_name(p.refusal);
        after = opts_.link_retry_after;
      } else {
        switch (p.result.kind) {
          case SubmitResult::Kind::ok:
            out.message_ids.push_back(p.result.message_id);
            continue;
          case SubmitResult::Kind::rejected: {
            const auto& v = p.result.verdict;
            kind = v.action == SubmitAction::retry ? Kind::retry : Kind::permanent;
            code = fmt::format("smpp_0x{:02x}", static_cast<std::uint32_t>(p.result.status));
            detail = describe_status(p.result.status);
            after = p.result.status == CommandStatus::ESME_RTHROTTLED
                        ? opts_.throttled_retry_after
                        : std::chrono::duration_cast<std::chrono::milliseconds>(v.pause);
            break;
          }
          case SubmitResult::Kind::timed_out:
            kind = Kind::retry;
            code = "timed_out";
            detail = "no submit_sm_resp in time: the SMSC may have the part";
            after = opts_.link_retry_after;
            break;
          case SubmitResult::Kind::link_down:
            kind = Kind::retry;
            code = "link_down";
            detail = "the SMPP link was down or went down before the submit_sm_resp";
            after = opts_.link_retry_after;
            break;
        }
      }
      if (op.parts.size() > 1)
        detail = fmt::format("part {} of {}: {}", i + 1, op.parts.size(), detail);
      // permanent beats retry; the first failing part names the error.
      if (out.kind == Kind::accepted || (out.kind == Kind::retry && kind == Kind::permanent)) {
        out.kind = kind;
        out.error_code = code;
        out.detail = detail;
      }
      out.retry_after = std::max(out.retry_after, after);
    }
    if (out.kind == Kind::accepted) {
      out.retry_after = std::chrono::milliseconds(0);
    } else {
      out.message_ids.clear();
      if (out.kind == Kind::permanent) out.retry_after = std::chrono::milliseconds(0);
      logger_->info("[{}] message {} not accepted: {} {} ({})", op.bind_id, op.reference,
                    kind_name(out.kind), out.error_code, out.detail);
    }
    auto done = std::move(op.done);
    op.done = nullptr;
    try {
      finish_with(done, std::move(out));
    } catch (const std::exception& e) {
      logger_->error("[{}] send callback threw: {}", op.bind_id, e.what());
    }
  }

  // ---- rate lowering ----------------------------------------------------

  void throttled(Slot& s, SteadyClock::time_point now) {
    s.last_throttle = now;
    if (s.last_lowered != SteadyClock::time_point{} && now - s.last_lowered < opts_.throttle_hold)
      return;
    const double current = s.session->max_per_second();
    double next;
    if (current > 0) {
      next = current / 2;
    } else {
      const double observed = static_cast<double>(s.responses.size());  // over the last second
      s.throttled_from = std::max(observed, opts_.min_per_second);
      next = observed / 2;
    }
    next = std::max(next, opts_.min_per_second);
    s.last_lowered = now;
    if (current > 0 && next >= current) return;
    s.session->set_max_per_second(next);
    logger_->warn("[{}] throttled by the SMSC: rate lowered to {:.2f}/s", s.session->options().id,
                  next);
  }

  void restore_rates() {
    const auto now = SteadyClock::now();
    for (auto& b : binds_) {
      for (auto& sp : b->slots) {
        Slot& s = *sp;
        const double current = s.session->max_per_second();
        if (current <= 0 || current == s.configured_rate) continue;  // not lowered
        if (now - s.last_throttle < opts_.rate_restore_interval) continue;
        double next;
        if (s.configured_rate > 0) {
          next = std::min(s.configured_rate, current + s.configured_rate * opts_.rate_restore_step);
        } else {
          next = current + s.throttled_from * opts_.rate_restore_step;
          if (next >= s.throttled_from) next = 0;  // lift the cap
        }
        s.session->set_max_per_second(next);
        logger_->info("[{}] rate raised to {}", s.session->options().id,
                      next > 0 ? fmt::format("{:.2f}/s", next) : std::string("uncapped"));
      }
    }
  }

  void arm_restore() {
    if (stopping_) return;
    restore_timer_.expires_after(opts_.rate_restore_interval);
    restore_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopping_) return;
      self->restore_rates();
      self->arm_restore();
    });
  }

  // ---- blocking work ----------------------------------------------------

  // Runs fn off the gateway thread, then then_fn on the strand.
  template <class Fn, class Then>
  void blocking(Fn fn, Then then_fn) {
    inflight_++;
    auto task = [self = shared_from_this(), fn = std::move(fn),
                 then_fn = std::move(then_fn)]() mutable {
      auto r = fn();
      asio::post(self->strand_, [self, r = std::move(r), then_fn = std::move(then_fn)]() mutable {
        self->inflight_--;
        then_fn(std::move(r));
        self->maybe_stopped();
      });
    };
    if (opts_.post_blocking) {
      opts_.post_blocking(std::move(task));
    } else {
      task();
    }
  }

  void arm_expire() {
    if (stopping_) return;
    expire_timer_.expires_after(opts_.part_expire_interval);
    expire_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopping_) return;
      const std::int64_t cutoff = self->opts_.clock->now_ms() - self->opts_.part_max_age.count();
      self->blocking(
          [store = self->store_, cutoff] { return store->expire(cutoff); },
          [self](Result<int> r) {
            if (!r) {
              self->logger_->warn("smpp: expiring MO parts failed: {}", r.error().message);
            } else if (*r > 0) {
              self->logger_->warn("smpp: dropped {} parts of concatenated MO never completed", *r);
            }
            self->arm_expire();
          });
    });
  }

  // ---- inbound ----------------------------------------------------------

  // deliver_sm_resp status for an ack.
  Ack make_ack(Session::DeliverDone done) {
    auto once = std::make_shared<std::atomic<bool>>(false);
    return [once, done = std::move(done)](bool ok) {
      if (once->exchange(true)) return;
      done(ok ? CommandStatus::ESME_ROK : CommandStatus::ESME_RX_T_APPN);
    };
  }

  void inbound(Bind& bind, const ShortMessage& sm, Session::DeliverDone done) {
    if (is_delivery_receipt(sm.esm_class) || is_intermediate_notification(sm.esm_class)) {
      inbound_receipt(bind, sm, std::move(done));
    } else {
      inbound_mo(bind, sm, std::move(done));
    }
  }

  void inbound_receipt(Bind& bind, const ShortMessage& sm, Session::DeliverDone done) {
    auto report = delivery_report_of(sm);
    if (!report) {
      logger_->warn("[{}] delivery receipt without a message id from {}: refused", bind.cfg.id,
                    sm.source.addr);
      done(CommandStatus::ESME_RX_P_APPN);
      return;
    }
    if (!receipt_) {
      done(CommandStatus::ESME_RX_T_APPN);
      return;
    }
    DeliveryReceipt r;
    r.route = bind.cfg.route;
    r.bind_id = bind.cfg.id;
    r.message_id = report->message_id;
    r.state = report->state;
    r.intermediate = report->intermediate;
    if (report->network_error) {
      r.error_code = fmt::format("net:{}:{}", report->network_error->network_type,
                                 report->network_error->error_code);
    } else if (report->receipt) {
      r.error_code = report->receipt->err;
    }
    r.source = e164_of(sm.source);
    r.destination = e164_of(sm.dest);
    const std::string* payload = sm.tlvs.message_payload();
    r.text = payload ? *payload : sm.short_message;
    r.received_ms = opts_.clock->now_ms();
    try {
      receipt_(std::move(r), make_ack(std::move(done)));
    } catch (const std::exception& e) {
      logger_->error("[{}] on_receipt threw: {}", bind.cfg.id, e.what());
    }
  }

  void deliver_mo(InboundSms sms, Ack ack) {
    std::string bind_id = sms.bind_id;
    try {
      mo_(std::move(sms), std::move(ack));
    } catch (const std::exception& e) {
      logger_->error("[{}] on_mo threw: {}", bind_id, e.what());
    }
  }

  void inbound_mo(Bind& bind, const ShortMessage& sm, Session::DeliverDone done) {
    if (!mo_) {
      done(CommandStatus::ESME_RX_T_APPN);
      return;
    }
    auto ud = user_data_of(sm);
    if (!ud) {
      logger_->warn("[{}] MO from {} refused: {}", bind.cfg.id, sm.source.addr, ud.error().message);
      done(CommandStatus::ESME_RX_P_APPN);
      return;
    }
    if (!is_text_coding(sm.data_coding)) {
      logger_->warn("[{}] MO from {} with data_coding 0x{:02X} (binary or unknown) refused",
                    bind.cfg.id, sm.source.addr, sm.data_coding);
      done(CommandStatus::ESME_RX_P_APPN);
      return;
    }
    InboundSms sms;
    sms.route = bind.cfg.route;
    sms.bind_id = bind.cfg.id;
    sms.source = e164_of(sm.source);
    sms.destination = e164_of(sm.dest);
    sms.data_coding = sm.data_coding;
    sms.received_ms = opts_.clock->now_ms();
    if (!ud->concat || ud->concat->total <= 1) {
      auto text = decode_text(sm.data_coding, ud->payload, Malformed::replace);
      if (!text) {
        done(CommandStatus::ESME_RX_P_APPN);
        return;
      }
      sms.text = std::move(*text);
      deliver_mo(std::move(sms), make_ack(std::move(done)));
      return;
    }
    MoPart part;
    part.route = sms.route;
    part.source = sms.source;
    part.destination = sms.destination;
    part.reference = ud->concat->reference;
    part.ref16 = ud->concat->reference_16bit;
    part.total = ud->concat->total;
    part.seq = ud->concat->seq;
    part.data_coding = sm.data_coding;
    part.payload = std::move(ud->payload);
    part.received_ms = sms.received_ms;
    auto key = key_of(part);
    // One store call at a time per message on this node.
    keyed(key, [self = shared_from_this(), part = std::move(part), key, sms = std::move(sms),
                done = std::move(done)]() mutable {
      self->blocking([store = self->store_, part] { return store->add(part); },
                     [self, part, key, sms = std::move(sms), done = std::move(done)](
                         Result<std::optional<std::vector<MoPart>>> r) mutable {
                       self->keyed_next(key);
                       self->part_added(std::move(part), std::move(key), std::move(sms),
                                        std::move(done), std::move(r));
                     });
    });
  }

  void keyed(const MoPartKey& key, std::function<void()> task) {
    auto [it, fresh] = key_queue_.try_emplace(key);
    if (fresh) {
      task();
    } else {
      it->second.push_back(std::move(task));
    }
  }

  void keyed_next(const MoPartKey& key) {
    auto it = key_queue_.find(key);
    if (it == key_queue_.end()) return;
    if (it->second.empty()) {
      key_queue_.erase(it);
      return;
    }
    auto task = std::move(it->second.front());
    it->second.pop_front();
    task();
  }

  void part_added(MoPart part, MoPartKey key, InboundSms sms, Session::DeliverDone done,
                  Result<std::optional<std::vector<MoPart>>> r) {
    if (!r) {
      logger_->error("[{}] cannot store MO part {} of {} ({}): {}", sms.bind_id, part.seq,
                     part.total, describe(key), r.error().message);
      done(CommandStatus::ESME_RX_T_APPN);
      return;
    }
    if (!*r) {
      done(CommandStatus::ESME_ROK);
      return;
    }
    if (auto it = delivering_.find(key); it != delivering_.end()) {
      // A part again while the whole message is with the consumer (the SMSC
      // gave up waiting for our response): it is stored (replaced) and gets
      // the answer the completing part gets.
      it->second.push_back(std::move(done));
      return;
    }
    auto parts = std::move(**r);
    auto text = joined_text(parts);
    if (!text) {
      logger_->warn("[{}] concatenated MO {} refused: {}", sms.bind_id, describe(key),
                    text.error().message);
      remove_parts(std::move(part), [d = std::move(done)] { d(CommandStatus::ESME_RX_P_APPN); });
      return;
    }
    delivering_[key].push_back(std::move(done));
    sms.text = std::move(*text);
    sms.parts = static_cast<int>(parts.size());
    sms.data_coding = parts.front().data_coding;
    sms.concat_key = describe(key);
    sms.received_ms = parts.back().received_ms;
    for (const auto& p : parts) sms.received_ms = std::max(sms.received_ms, p.received_ms);
    auto once = std::make_shared<std::atomic<bool>>(false);
    std::weak_ptr<Impl> weak = shared_from_this();
    Ack ack = [weak, once, part, key](bool ok) {
      if (once->exchange(true)) return;
      auto me = weak.lock();
      if (!me) return;  // gone: nothing answers, the SMSC redelivers
      asio::post(me->strand_, [me, ok, part, key]() mutable {
        if (!ok) {
          me->answer_delivering(key, CommandStatus::ESME_RX_T_APPN);
          return;
        }
        me->remove_parts(std::move(part),
                         [me, key] { me->answer_delivering(key, CommandStatus::ESME_ROK); });
      });
    };
    deliver_mo(std::move(sms), std::move(ack));
  }

  // Answers the parts waiting for the consumer's verdict on a message.
  void answer_delivering(const MoPartKey& key, CommandStatus status) {
    auto it = delivering_.find(key);
    if (it == delivering_.end()) return;
    auto waiting = std::move(it->second);
    delivering_.erase(it);
    for (auto& d : waiting) d(status);
  }

  // Removes a message's parts (in turn with the adds of its key).
  void remove_parts(MoPart part, std::function<void()> then_fn) {
    auto key = key_of(part);
    keyed(key, [self = shared_from_this(), part = std::move(part), key,
                then_fn = std::move(then_fn)]() mutable {
      self->blocking([store = self->store_, part] { return store->remove(part); },
                     [self, key, then_fn = std::move(then_fn)](Status st) {
                       self->keyed_next(key);
                       if (!st) {
                         // The message is stored: the leftover parts expire.
                         self->logger_->warn("smpp: cannot remove the parts of {}: {}",
                                             describe(key), st.error().message);
                       }
                       then_fn();
                     });
    });
  }

  // ---- stop -------------------------------------------------------------

  void maybe_stopped() {
    if (!stopping_ || sessions_running_ > 0 || inflight_ > 0 || on_stopped_.empty()) return;
    auto cbs = std::move(on_stopped_);
    on_stopped_.clear();
    for (auto& cb : cbs) cb();
  }

  asio::io_context& ioc_;
  asio::strand<asio::io_context::executor_type> strand_;
  GatewayOptions opts_;
  std::shared_ptr<PartStore> store_;
  std::shared_ptr<spdlog::logger> logger_;
  SystemClock system_clock_;
  // Built in the constructor, never changed: status() reads them from any thread.
  std::vector<std::unique_ptr<Bind>> binds_;
  std::map<std::string, std::vector<Bind*>> routes_;

  // Strand only.
  asio::steady_timer restore_timer_, expire_timer_;
  bool started_ = false;
  bool stopping_ = false;
  int sessions_running_ = 0;
  int inflight_ = 0;
  std::size_t rr_ = 0;
  std::vector<std::function<void()>> on_stopped_;
  MoHandler mo_;
  ReceiptHandler receipt_;
  std::map<MoPartKey, std::deque<std::function<void()>>> key_queue_;
  // Messages handed to the consumer, with the parts waiting for its ack.
  std::map<MoPartKey, std::vector<Session::DeliverDone>> delivering_;
};

// ---------------------------------------------------------------------------

struct Gateway::Loop {
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{
      ioc.get_executor()};
  std::thread thread;
};

Gateway::Gateway(GatewayOptions o, std::shared_ptr<PartStore> store)
    : loop_(std::make_unique<Loop>()),
      impl_(std::make_shared<Impl>(loop_->ioc, std::move(o), std::move(store))) {}

Gateway::Gateway(boost::asio::io_context& ioc, GatewayOptions o, std::shared_ptr<PartStore> store)
    : impl_(std::make_shared<Impl>(ioc, std::move(o), std::move(store))) {}

Gateway::~Gateway() {
  if (!loop_) {
    impl_->stop({});  // the caller's io_context finishes it
    return;
  }
  if (loop_->thread.joinable()) {
    auto stopped = std::make_shared<std::promise<void>>();
    auto f = stopped->get_future();
    impl_->stop([stopped] { stopped->set_value(); });
    if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
      log::get("smpp")->error("smpp gateway: stop did not complete in 30 s");
    loop_->work.reset();
    loop_->ioc.stop();
    loop_->thread.join();
  }
  impl_.reset();
}

void Gateway::on_mo(MoHandler h) {
  impl_->set_mo(std::move(h));
}
void Gateway::on_receipt(ReceiptHandler h) {
  impl_->set_receipt(std::move(h));
}
void Gateway::start() {
  if (loop_ && !loop_->thread.joinable())
    loop_->thread = std::thread([loop = loop_.get()] { loop->ioc.run(); });
  impl_->start();
}
void Gateway::stop(std::function<void()> on_stopped) {
  impl_->stop(std::move(on_stopped));
}
void Gateway::send(const std::string& route, OutboundSms m, std::function<void(SmsOutcome)> done) {
  impl_->send(route, std::move(m), std::move(done));
}
std::vector<BindStatus> Gateway::status() const {
  return impl_->status();
}

}  // namespace rh::messaging::smpp
