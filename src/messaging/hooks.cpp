#include "messaging/hooks.hpp"

#include <algorithm>

#include "core/log.hpp"
#include "messaging/carrier_webhooks.hpp"
#include "messaging/media.hpp"
#include "messaging/service.hpp"
#include "numbers/inventory.hpp"

namespace rh::messaging {

Result<HookOutcome> HookService::handle(const HookRequest& h) {
  static const std::vector<std::string> kCarriers{"telnyx", "bandwidth", "plivo"};
  if (std::find(kCarriers.begin(), kCarriers.end(), h.carrier) == kCarriers.end())
    return make_error(Errc::not_found, "no webhook for carrier '" + h.carrier.substr(0, 32) + "'");
  WebhookRequest req{h.method, h.url, h.headers, h.body};
  // Bandwidth sends its first attempt without credentials and expects a
  // challenge.
  if (h.carrier == "bandwidth" && !h.headers.count("authorization"))
    return make_reason(Errc::unauthorized, kReasonChallenge, "credentials are required");
  RH_ASSIGN(auto events, parse_webhook(h.carrier, req));

  // Whose keys verify it.
  std::vector<std::string> candidates;
  for (const auto& e : events) {
    if (e.kind == WebhookEventKind::inbound_message) {
      for (const auto& to : e.to)
        if (auto o = svc_.owner_of_number(to)) candidates.push_back(o->tenant_id);
    } else if (!e.carrier_message_id.empty()) {
      if (auto t = svc_.tenant_of_carrier_id(h.carrier, e.carrier_message_id))
        candidates.push_back(*t);
    }
    if (!candidates.empty()) break;
  }
  if (candidates.empty()) {
    RH_ASSIGN(candidates, providers_.tenants_with(h.carrier));
  }
  const std::int64_t now_s = clock_.now_ms() / 1000;
  std::string tenant;
  std::map<std::string, std::string> settings;
  Error last = make_reason(Errc::unauthorized, kReasonWebhookNotConfigured,
                           "no tenant has " + h.carrier + " webhooks configured");
  for (const auto& t : candidates) {
    auto s = providers_.settings(t, h.carrier);
    if (!s) continue;
    auto v = verify_webhook(h.carrier, req, *s, now_s);
    if (v) {
      tenant = t;
      settings = std::move(*s);
      break;
    }
    last = v.take_error();
  }
  if (tenant.empty()) return last;

  HookOutcome out;
  auto logger = log::get("messaging");
  for (const auto& e : events) {
    if (e.kind == WebhookEventKind::status) {
      if (e.status.empty() || e.carrier_message_id.empty()) {
        ++out.ignored;
        continue;
      }
      auto st = svc_.apply_status(h.carrier, e.carrier_message_id, e.status, e.error_code,
                                  e.error_detail, e.event_id);
      if (st) {
        ++out.accepted;
      } else if (st.error().reason == "duplicate") {
        ++out.duplicates;
      } else {
        return st.take_error();
      }
      continue;
    }
    // Inbound: only to this tenant's numbers.
    std::vector<std::string> to;
    UserScope owner;
    for (const auto& x : e.to) {
      auto o = svc_.owner_of_number(x);
      if (o && o->tenant_id == tenant) {
        if (owner.user_id.empty()) owner = *o;
      }
      to.push_back(x);
    }
    if (owner.user_id.empty()) {
      ++out.ignored;
      continue;
    }
    // A repeat is caught by receive() itself; looking first only saves
    // downloading its media again.
    if (!e.event_id.empty() && !e.media_urls.empty()) {
      RH_ASSIGN(bool seen, svc_.seen(h.carrier, e.event_id));
      if (seen) {
        ++out.duplicates;
        continue;
      }
    }
    std::vector<std::string> media;
    std::string text = e.text;
    for (const auto& url : e.media_urls) {
      std::string user, password;
      if (h.carrier == "bandwidth") {
        user = settings["username"];
        password = settings["password"];
      }
      auto m = media_.fetch_remote(TenantScope{tenant}, owner.user_id, url, user, password);
      if (m) {
        media.push_back(m->id);
        continue;
      }
      if (m.error().code == Errc::unavailable || m.error().code == Errc::timeout) {
        Error err = m.take_error();
        err.code = Errc::unavailable;
        if (err.retry_after_s == 0) err.retry_after_s = 30;
        return err;  // nothing stored: the carrier sends it again
      }
      logger->warn("inbound media from {} not kept: {}", e.from, m.error().message);
      if (!text.empty()) text += "\n";
      text += "[a media attachment could not be received: " + m.error().message + "]";
    }
    InboundMessage in{h.carrier, e.from, to, text, media, e.event_id};
    auto r = svc_.receive(in);
    if (r) {
      ++out.accepted;
    } else if (r.error().reason == "duplicate") {
      ++out.duplicates;
    } else if (r.error().code == Errc::not_found) {
      ++out.ignored;
    } else {
      return r.take_error();
    }
  }
  return out;
}

}  // namespace rh::messaging
