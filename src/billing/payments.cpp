#include "billing/payments.hpp"

#include <boost/json.hpp>
#include <cctype>

#include "core/crypto.hpp"

namespace rh::billing {

Status verify_stripe_signature(std::string_view header, std::string_view body,
                               std::string_view secret, std::int64_t now_s,
                               std::int64_t tolerance_s) {
  auto bad = [](const char* why) { return make_reason(Errc::unauthorized, "bad_signature", why); };
  if (header.empty() || header.size() > 4096) return bad("missing or oversized Stripe-Signature");
  std::string t;
  std::vector<std::string_view> v1;
  std::size_t pos = 0;
  while (pos <= header.size()) {
    std::size_t comma = header.find(',', pos);
    if (comma == std::string_view::npos) comma = header.size();
    std::string_view item = header.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (auto eq = item.find('='); eq != std::string_view::npos) {
      std::string_view k = item.substr(0, eq), v = item.substr(eq + 1);
      if (k == "t") t = std::string(v);
      if (k == "v1") v1.push_back(v);
    }
    pos = comma + 1;
  }
  if (t.empty() || t.size() > 12 ||
      !std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return bad("the Stripe-Signature header has no valid timestamp");
  if (v1.empty()) return bad("the Stripe-Signature header has no v1 signature");
  std::string expected =
      crypto::hex_encode(crypto::hmac_sha256(secret, t + "." + std::string(body)));
  bool match = false;
  for (auto s : v1) match |= crypto::constant_time_equal(s, expected);
  if (!match) return bad("the signature does not match the body");
  std::int64_t ts = std::stoll(t);
  if (ts < now_s - tolerance_s || ts > now_s + tolerance_s)
    return make_reason(Errc::unauthorized, "stale_signature",
                       "the signature's timestamp is outside the tolerance");
  return {};
}

std::int64_t minor_to_micros(std::int64_t minor, std::string_view currency) {
  std::string c(currency);
  for (auto& ch : c) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  static const char* zero[] = {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA",
                               "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"};
  static const char* three[] = {"BHD", "JOD", "KWD", "OMR", "TND"};
  for (const char* z : zero)
    if (c == z) return minor * 1'000'000;
  for (const char* z : three)
    if (c == z) return minor * 1'000;
  return minor * 10'000;
}

Result<PaymentOutcome> PaymentWebhook::handle(std::string_view signature_header,
                                              std::string_view body) {
  if (secret_.empty())
    return make_reason(Errc::not_found, "payments_not_configured",
                       "payment webhooks are not configured (payments.webhook_secret)");
  RH_TRY(verify_stripe_signature(signature_header, body, secret_, clock_.now_ms() / 1000));
  namespace json = boost::json;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  auto invalid = [](const char* why) {
    return make_reason(Errc::invalid_argument, "bad_event", why);
  };
  if (ec || !v.is_object()) return invalid("the body is not a JSON object");
  const auto& ev = v.as_object();
  auto str = [](const json::object& o, const char* k) -> std::string {
    auto it = o.find(k);
    return it != o.end() && it->value().is_string() ? std::string(it->value().as_string())
                                                    : std::string();
  };
  std::string id = str(ev, "id"), type = str(ev, "type");
  if (id.empty() || id.size() > 100 || type.empty()) return invalid("the event has no id or type");
  const json::object* obj = nullptr;
  if (auto d = ev.find("data"); d != ev.end() && d->value().is_object())
    if (auto o = d->value().as_object().find("object");
        o != d->value().as_object().end() && o->value().is_object())
      obj = &o->value().as_object();
  if (!obj) return invalid("the event has no data.object");
  std::int64_t minor = 0;
  const char* amount_key = nullptr;
  if (type == "checkout.session.completed") {
    if (str(*obj, "payment_status") != "paid")
      return PaymentOutcome{"ignored", "the session is not paid", ""};
    amount_key = "amount_total";
  } else if (type == "payment_intent.succeeded") {
    amount_key = "amount_received";
  } else {
    return PaymentOutcome{"ignored", "event type " + type + " is not a top-up", ""};
  }
  auto a = obj->find(amount_key);
  if (a == obj->end() || !a->value().is_int64() || a->value().as_int64() <= 0 ||
      a->value().as_int64() > 100'000'000'000)
    return invalid("the amount is missing or out of range");
  minor = a->value().as_int64();
  std::string currency = str(*obj, "currency");
  const json::object* meta = nullptr;
  if (auto m = obj->find("metadata"); m != obj->end() && m->value().is_object())
    meta = &m->value().as_object();
  if (!meta) return invalid("the payment has no metadata naming the wallet");
  std::string tenant_id = str(*meta, "tenant_id"), user_id = str(*meta, "user_id");
  if (tenant_id.empty() || user_id.empty())
    return invalid("metadata.tenant_id and metadata.user_id are required");
  RH_ASSIGN(auto target, target_(tenant_id, user_id));
  if (!target.user_exists) return invalid("metadata names no user of this platform");
  std::string upper = currency;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (upper != target.currency)
    return invalid("the payment's currency is not the tenant's currency");

  Posting p;
  p.kind = TxnKind::topup;
  p.tenant_id = tenant_id;
  p.user_id = user_id;
  p.amount_micros = minor_to_micros(minor, currency);
  p.reference = id;
  p.memo = "Top-up (" + str(*obj, "id") + ")";
  p.actor = "payments";
  p.idempotency_key = "payment:" + id;
  auto txn =
      db_.in_transaction<std::string>([&](storage::Connection& c) { return ledger_.credit(c, p); });
  if (!txn) {
    if (txn.error().reason == "duplicate_posting")
      return PaymentOutcome{"duplicate", "event " + id + " was already credited", ""};
    return txn.take_error();
  }
  return PaymentOutcome{"credited", "", *txn};
}

}  // namespace rh::billing
