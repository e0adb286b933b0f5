#include "messaging/routes.hpp"

#include <fmt/format.h>

#include <boost/asio/post.hpp>

#include "core/crypto.hpp"
#include "core/log.hpp"
#include "messaging/carrier_messaging.hpp"
#include "numbers/inventory.hpp"

namespace rh::messaging {

namespace {
const std::vector<std::string> kHttpCarriers{"telnyx", "bandwidth", "plivo"};
}

// ---------------------------------------------------------------------------
// SMPP

namespace {

std::string percent_decode(std::string_view in, bool& ok) {
  auto v = crypto::percent_decode(in);
  if (!v) ok = false;
  return v.value_or("");
}

}  // namespace

Result<std::vector<smpp::BindConfig>> parse_smpp_binds(const std::vector<std::string>& urls) {
  std::vector<smpp::BindConfig> out;
  std::map<std::string, int> per_route;
  for (std::size_t n = 0; n < urls.size(); ++n) {
    const std::string field = fmt::format("messaging.smpp_binds[{}]", n);
    auto bad = [&](const std::string& why) { return Error(Errc::invalid_argument, field, why); };
    std::string_view u = urls[n];
    if (u.substr(0, 7) != "smpp://") return bad("must start with smpp://");
    u.remove_prefix(7);
    std::string_view query;
    if (auto q = u.find('?'); q != std::string_view::npos) {
      query = u.substr(q + 1);
      u = u.substr(0, q);
    }
    smpp::BindConfig b;
    bool ok = true;
    if (auto at = u.rfind('@'); at != std::string_view::npos) {
      std::string_view cred = u.substr(0, at);
      u = u.substr(at + 1);
      auto colon = cred.find(':');
      b.session.system_id = percent_decode(cred.substr(0, colon), ok);
      if (colon != std::string_view::npos)
        b.session.password = percent_decode(cred.substr(colon + 1), ok);
    }
    if (!ok) return bad("bad percent-encoding in the credentials");
    auto colon = u.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return bad("needs host:port");
    b.session.host = std::string(u.substr(0, colon));
    try {
      int port = std::stoi(std::string(u.substr(colon + 1)));
      if (port <= 0 || port > 65535) return bad("port out of range");
      b.session.port = static_cast<std::uint16_t>(port);
    } catch (...) {
      return bad("port is not a number");
    }
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string_view kv = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      auto eq = kv.find('=');
      std::string key(kv.substr(0, eq));
      std::string value =
          eq == std::string_view::npos ? std::string() : percent_decode(kv.substr(eq + 1), ok);
      auto number = [&](double lo, double hi) -> std::optional<double> {
        try {
          std::size_t used = 0;
          double v = std::stod(value, &used);
          if (used != value.size() || v < lo || v > hi) return std::nullopt;
          return v;
        } catch (...) {
          return std::nullopt;
        }
      };
      auto ms = [&](std::chrono::milliseconds& dst) -> bool {
        auto v = number(1, 3'600'000);
        if (!v) return false;
        dst = std::chrono::milliseconds(static_cast<std::int64_t>(*v));
        return true;
      };
      if (key == "route") {
        b.route = value;
      } else if (key == "id") {
        b.id = value;
      } else if (key == "mode") {
        if (value == "transceiver")
          b.mode = smpp::BindConfig::Mode::transceiver;
        else if (value == "pair")
          b.mode = smpp::BindConfig::Mode::pair;
        else
          return bad("mode is transceiver or pair");
      } else if (key == "window") {
        auto v = number(1, 10'000);
        if (!v) return bad("window is 1..10000");
        b.session.window = static_cast<std::size_t>(*v);
      } else if (key == "rate") {
        auto v = number(0, 1'000'000);
        if (!v) return bad("rate is a number of messages per second");
        b.session.max_per_second = *v;
      } else if (key == "system_type") {
        b.session.system_type = value;
      } else if (key == "response_timeout_ms") {
        if (!ms(b.session.response_timeout)) return bad("response_timeout_ms is 1..3600000");
      } else if (key == "enquire_link_ms") {
        if (!ms(b.session.enquire_link_interval)) return bad("enquire_link_ms is 1..3600000");
      } else if (key == "reconnect_ms") {
        if (!ms(b.session.reconnect_initial)) return bad("reconnect_ms is 1..3600000");
      } else {
        return bad("unknown parameter '" + key.substr(0, 32) + "'");
      }
    }
    if (!ok) return bad("bad percent-encoding");
    if (b.route.empty()) return bad("route= is required");
    if (b.id.empty()) b.id = fmt::format("{}-{}", b.route, ++per_route[b.route]);
    for (const auto& other : out)
      if (other.id == b.id) return bad("duplicate id '" + b.id + "'");
    out.push_back(std::move(b));
  }
  return out;
}

RouteResult route_result_of(const smpp::SmsOutcome& o) {
  RouteResult r;
  switch (o.kind) {
    case smpp::SmsOutcome::Kind::accepted:
      r.kind = RouteResult::Kind::accepted;
      break;
    case smpp::SmsOutcome::Kind::retry:
      r.kind = RouteResult::Kind::retry;
      break;
    case smpp::SmsOutcome::Kind::permanent:
      r.kind = RouteResult::Kind::permanent;
      break;
  }
  r.carrier_ids = o.message_ids;
  r.error_code = o.error_code;
  r.detail = o.detail;
  r.retry_after = o.retry_after;
  return r;
}

std::string status_of_receipt(const smpp::DeliveryReceipt& r) {
  if (!r.state || r.intermediate) return "sent";
  switch (*r.state) {
    case smpp::MessageState::delivered:
      return "delivered";
    case smpp::MessageState::rejected:
      return "failed";
    case smpp::MessageState::expired:
    case smpp::MessageState::deleted:
    case smpp::MessageState::undeliverable:
      return "undelivered";
    default:
      return "sent";
  }
}

SmppRoutes::SmppRoutes(smpp::Gateway& gw, const std::vector<smpp::BindConfig>& binds,
                       MessageService& svc, BlockingPool& pool, std::chrono::milliseconds max_retry)
    : gw_(gw), svc_(svc), pool_(pool), max_retry_(max_retry) {
  for (const auto& b : binds) capacity_[b.route] += std::max<std::size_t>(1, b.session.window);
  auto logger = log::get("messaging");
  gw_.on_mo([this, logger](smpp::InboundSms m, smpp::Gateway::Ack ack) {
    boost::asio::post(pool_.executor(), [this, logger, m = std::move(m), ack = std::move(ack)] {
      InboundMessage in;
      in.route = m.route;
      in.from = m.source;
      in.to = {m.destination};
      in.text = m.text;
      auto r = svc_.receive(in);
      if (!r && r.error().code != Errc::not_found && r.error().code != Errc::conflict) {
        logger->warn("cannot store an MO from {} on {}: {}", m.source, m.bind_id,
                     r.error().message);
        ack(false);  // the SMSC delivers it again
        return;
      }
      if (!r && r.error().code == Errc::not_found)
        logger->info("MO for {} dropped: not an active platform number", m.destination);
      ack(true);
    });
  });
  gw_.on_receipt([this, logger](smpp::DeliveryReceipt d, smpp::Gateway::Ack ack) {
    boost::asio::post(pool_.executor(), [this, logger, d = std::move(d), ack = std::move(ack)] {
      std::string status = status_of_receipt(d);
      if (status == "sent" || d.message_id.empty()) {
        ack(true);
        return;
      }
      std::string detail;
      if (d.state) detail = smpp::stat_word(*d.state);
      auto st = svc_.apply_status(d.route, d.message_id, status,
                                  status == "delivered" ? std::string() : d.error_code, detail);
      if (!st) {
        logger->warn("cannot record a receipt for {} on {}: {}", d.message_id, d.bind_id,
                     st.error().message);
        ack(false);
        return;
      }
      ack(true);
    });
  });
}

bool SmppRoutes::handles(const std::string& route) const {
  return capacity_.count(route) > 0;
}

std::vector<std::string> SmppRoutes::routes() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : capacity_) out.push_back(k);
  return out;
}

std::size_t SmppRoutes::capacity(const std::string& route) const {
  auto it = capacity_.find(route);
  return it == capacity_.end() ? 0 : it->second;
}

void SmppRoutes::send(const RouteSend& m, std::function<void(RouteResult)> done) {
  if (!m.media.empty()) {
    RouteResult r;
    r.kind = RouteResult::Kind::permanent;
    r.error_code = "mms_not_supported";
    r.detail = "SMPP routes carry text only; media needs an HTTP carrier route";
    done(std::move(r));
    return;
  }
  smpp::OutboundSms sms;
  sms.reference = m.delivery_id;
  sms.source = m.from;
  sms.destination = m.to;
  sms.text = m.text;
  sms.max_segments = m.max_segments;
  gw_.send(m.route, std::move(sms), [done = std::move(done), cap = max_retry_](smpp::SmsOutcome o) {
    RouteResult r = route_result_of(o);
    r.retry_after = std::min(r.retry_after, cap);
    done(std::move(r));
  });
}

// ---------------------------------------------------------------------------
// HTTP carriers

HttpCarrierRoutes::HttpCarrierRoutes(numbers::ProviderRegistry& providers, MediaStore& media,
                                     BlockingPool& pool, std::size_t capacity,
                                     std::chrono::milliseconds max_retry)
    : providers_(providers),
      media_(media),
      pool_(pool),
      capacity_(capacity),
      max_retry_(max_retry) {}

bool HttpCarrierRoutes::handles(const std::string& route) const {
  return std::find(kHttpCarriers.begin(), kHttpCarriers.end(), route) != kHttpCarriers.end();
}

std::vector<std::string> HttpCarrierRoutes::routes() const {
  return kHttpCarriers;
}

void HttpCarrierRoutes::send(const RouteSend& m, std::function<void(RouteResult)> done) {
  boost::asio::post(pool_.executor(), [this, m, done = std::move(done)] {
    RouteResult r = send_now(m);
    r.retry_after = std::min(r.retry_after, max_retry_);
    done(std::move(r));
  });
}

RouteResult HttpCarrierRoutes::send_now(const RouteSend& m) {
  RouteResult out;
  auto settings = providers_.settings(m.tenant_id, m.route);
  if (!settings) {
    out.kind = RouteResult::Kind::retry;
    out.error_code = "carrier_not_configured";
    out.detail = settings.error().message;
    out.retry_after = std::chrono::minutes(5);
    return out;
  }
  auto carrier = make_message_carrier(m.route, *settings);
  if (!carrier) {
    out.kind = RouteResult::Kind::retry;
    out.error_code = "carrier_not_configured";
    out.detail = carrier.error().message;
    out.retry_after = std::chrono::minutes(5);
    return out;
  }
  CarrierSend s;
  s.from = m.from;
  s.to = m.to;
  s.text = m.text;
  s.reference = m.delivery_id;
  s.status_url = media_.public_url() + "/hooks/" + m.route;
  for (const auto& id : m.media) s.media_urls.push_back(media_.signed_url(id));
  auto r = (*carrier)->send(s);
  if (r) {
    out.kind = RouteResult::Kind::accepted;
    out.carrier_ids = {r->carrier_message_id};
    return out;
  }
  const Error& e = r.error();
  out.error_code = e.reason.empty() ? errc_name(e.code) : e.reason;
  out.detail = e.message;
  if (e.code == Errc::unavailable) {
    out.kind = RouteResult::Kind::retry;
    out.retry_after = std::chrono::seconds(std::max<std::int64_t>(1, e.retry_after_s));
  } else if (e.code == Errc::unauthorized) {
    // The operator has to fix the credentials: try again later.
    out.kind = RouteResult::Kind::retry;
    out.retry_after = std::chrono::minutes(5);
  } else {
    // Rejected, invalid, or accepted without an id (not retried: a
    // duplicate could reach the recipient).
    out.kind = RouteResult::Kind::permanent;
  }
  return out;
}

// ---------------------------------------------------------------------------

Result<std::int64_t> StoreMediaAccess::check_owned(const UserScope& u,
                                                   const std::vector<std::string>& ids) {
  std::vector<Media> parts;
  std::int64_t total = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto m = media_.get(u, ids[i]);
    if (!m) {
      if (m.error().code == Errc::not_found)
        return Error(Errc::invalid_argument, fmt::format("media[{}]", i),
                     "no such media: upload it with POST /v1/media first");
      return m.take_error();
    }
    total += m->size;
    parts.push_back(std::move(*m));
  }
  RH_TRY(media_.check_mms_total(parts));
  return total;
}

Status StoreMediaAccess::grant(storage::Connection& tx, const std::vector<std::string>& ids,
                               const UserScope& to) {
  for (const auto& id : ids) RH_TRY(media_.grant(tx, id, to.user_id));
  return {};
}

}  // namespace rh::messaging
