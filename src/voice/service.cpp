#include "voice/service.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <limits>
#include <boost/json.hpp>
#include <variant>

#include "accounts/tenants.hpp"
#include "accounts/users.hpp"
#include "core/crypto.hpp"
#include "core/csv.hpp"
#include "core/ids.hpp"
#include "core/phone_number.hpp"
#include "jobs/outbox.hpp"
#include "numbers/carriers.hpp"
#include "voice/call_rules.hpp"
#include "voice/edge_settings.hpp"

namespace rh::voice {

namespace json = boost::json;
using storage::Connection;
using storage::Row;
using storage::Value;

// ---------------------------------------------------------------------------
// Schema and configuration

std::vector<storage::Migration> voice_migrations() {
  return {{2026112801, "voice", R"SQL(
CREATE TABLE sip_credentials (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  user_id VARCHAR(40) NOT NULL,
  username VARCHAR(40) NOT NULL,
  ha1 VARCHAR(32) NOT NULL,
  label VARCHAR(100) NOT NULL,
  created_at BIGINT NOT NULL,
  rotated_at BIGINT NOT NULL,
  revoked_at BIGINT
){{table}};
CREATE UNIQUE INDEX sip_credentials_username ON sip_credentials (username);
CREATE INDEX sip_credentials_user ON sip_credentials (user_id, revoked_at);
CREATE TABLE sip_registrations (
  username VARCHAR(40) NOT NULL,
  contact_key VARCHAR(64) NOT NULL,
  contact TEXT NOT NULL,
  user_agent VARCHAR(200) NOT NULL,
  transport VARCHAR(8) NOT NULL,
  src_ip VARCHAR(64) NOT NULL,
  expires_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (username, contact_key)
){{table}};
CREATE TABLE voice_settings (
  tenant_id VARCHAR(40) NOT NULL PRIMARY KEY,
  allowed_countries VARCHAR(1000) NOT NULL,
  updated_at BIGINT NOT NULL
){{table}};
CREATE TABLE call_rules (
  number_id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  rules TEXT NOT NULL,
  updated_at BIGINT NOT NULL
){{table}};
CREATE TABLE calls (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  user_id VARCHAR(40) NOT NULL,
  number_id VARCHAR(40) NOT NULL,
  direction VARCHAR(10) NOT NULL,
  from_number VARCHAR(100) NOT NULL,
  to_number VARCHAR(100) NOT NULL,
  status VARCHAR(12) NOT NULL,
  on_net INTEGER NOT NULL,
  sip_call_id VARCHAR(200) NOT NULL,
  sip_code INTEGER NOT NULL,
  reason VARCHAR(200) NOT NULL,
  caller VARCHAR(100) NOT NULL,
  anonymous INTEGER NOT NULL,
  rules TEXT NOT NULL,
  time_zone VARCHAR(64) NOT NULL,
  stage INTEGER NOT NULL,
  hold_id VARCHAR(40) NOT NULL,
  rate_per_minute BIGINT NOT NULL,
  rate_connect BIGINT NOT NULL,
  rate_first_s INTEGER NOT NULL,
  rate_next_s INTEGER NOT NULL,
  max_duration_s BIGINT NOT NULL,
  started_at BIGINT NOT NULL,
  answered_at BIGINT NOT NULL,
  ended_at BIGINT NOT NULL,
  duration_s BIGINT NOT NULL,
  billed_s BIGINT NOT NULL,
  cost_micros BIGINT NOT NULL
){{table}};
CREATE INDEX calls_sip ON calls (sip_call_id);
CREATE INDEX calls_user ON calls (user_id, id);
CREATE INDEX calls_active ON calls (user_id, status)
)SQL"}};
}

void declare_voice_config(config::Schema& s) {
  s.string("voice.sip_domain", "localhost",
               "The SIP domain and digest realm: devices register as "
               "<username>@<sip_domain>. Changing it invalidates every issued credential.");
  s.string("voice.voicemail_uri", "",
               "SIP URI of the voicemail service calls fall back to; empty: a voicemail "
               "fallback answers 480 (voicemail is not available).");
  s.integer("voice.max_call_s", 4 * 3600, "The longest call, in seconds.", 60, 86'400);
  s.integer("voice.max_concurrent_calls", 2,
                "Outbound calls a user may have at once (0: no limit).", 0, 1000);
  s.integer("voice.daily_spend_limit_micros", 0,
                "Call spend per user and UTC day, in micro-units of the tenant's currency "
                "(0: no limit).",
                0, std::numeric_limits<std::int64_t>::max());
  s.list("voice.allowed_countries", {},
                    "ISO country codes users may call (empty: the tenant's default country "
                    "only).");
  s.list("voice.blocked_prefixes", {"+882", "+883", "+979", "+808", "+870", "+881"},
                    "E.164 prefixes never called (high-risk and premium ranges).");
  s.integer("voice.outbound_timeout_s", 60, "How long a PSTN call may ring.", 5, 300);
  s.integer("voice.max_credentials", 10, "SIP credentials (devices) per user.", 1, 100);
  s.integer("voice.hook_threads", 32,
            "Threads that answer the SIP edge's hooks (/internal/sip/*). Each Kamailio worker "
            "waits on its request, so at least voice.edge_children; concurrent hooks share "
            "commits on SQLite (group commit), so more threads than cores pays off.",
            1, 1024);
  s.secret("voice.edge_key",
           "The key the SIP edge sends to /internal/sip/* (HTTP Basic edge:KEY or the header "
           "X-Ringhouse-Edge-Key); empty: "
           "generated at first start and kept in <data_dir>/secrets/edge-key.");
  s.list("voice.edge_addresses", {"127.0.0.1", "::1", "::ffff:127.0.0.1"},
         "Addresses the SIP edge (Kamailio) calls /internal/sip/* from; requests from any "
         "other address are refused.");
  s.string("voice.edge_rpc_url", "",
           "Kamailio's JSON-RPC URL (http://127.0.0.1:<port>/RPC): ringhouse tells it to forget "
           "a device's cached HA1 when its credentials are rotated or revoked. `ringhouse up` "
           "sets it; empty: cached HA1s expire after voice.auth_cache_s.");
  s.integer("voice.auth_cache_s", 60, "How long the SIP edge caches a device's HA1.", 0, 3600);
  declare_edge_config(s);
  s.list("voice.trunks", {},
                    "SIP trunks, one URL each: sip://host:port?name=carrier1&transport=udp"
                    "&addresses=203.0.113.5,203.0.113.6 (a number's `trunk` names one).");
}

VoiceOptions voice_options(const config::Config& c) {
  VoiceOptions o;
  o.sip_domain = c.string("voice.sip_domain");
  o.voicemail_uri = c.string("voice.voicemail_uri");
  o.max_call_s = c.integer("voice.max_call_s");
  o.max_concurrent_calls = static_cast<int>(c.integer("voice.max_concurrent_calls"));
  o.daily_spend_limit_micros = c.integer("voice.daily_spend_limit_micros");
  o.allowed_countries = c.list("voice.allowed_countries");
  o.blocked_prefixes = c.list("voice.blocked_prefixes");
  o.outbound_timeout_s = static_cast<int>(c.integer("voice.outbound_timeout_s"));
  o.max_credentials = static_cast<int>(c.integer("voice.max_credentials"));
  auto trunks = parse_trunks(c.list("voice.trunks"));
  if (!trunks) throw config::ConfigError("voice.trunks: " + trunks.error().message);
  o.trunks = std::move(*trunks);
  return o;
}

// ---------------------------------------------------------------------------
// Small helpers

std::string digest_ha1(std::string_view username, std::string_view realm,
                       std::string_view password) {
  std::string in = fmt::format("{}:{}:{}", username, realm, password);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(in.data(), in.size(), md, &len, EVP_md5(), nullptr);
  return crypto::hex_encode(std::string_view(reinterpret_cast<const char*>(md), len));
}

namespace {

constexpr const char* kCredentialColumns =
    "id, tenant_id, user_id, username, label, created_at, rotated_at";
// What the next stage of an inbound plan needs.
constexpr const char* kStageColumns =
    "id, tenant_id, user_id, number_id, direction, on_net, sip_call_id, caller, anonymous, rules, "
    "time_zone, stage, status, started_at";
constexpr const char* kCallColumns =
    "id, tenant_id, user_id, number_id, direction, from_number, to_number, status, on_net, "
    "sip_code, reason, started_at, answered_at, ended_at, duration_s, billed_s, cost_micros";

SipCredential credential_from_row(const Row& r) {
  SipCredential c;
  c.id = r.text("id");
  c.tenant_id = r.text("tenant_id");
  c.user_id = r.text("user_id");
  c.username = r.text("username");
  c.label = r.text("label");
  c.created_at = r.integer("created_at");
  c.rotated_at = r.integer("rotated_at");
  return c;
}

Call call_from_row(const Row& r) {
  Call c;
  c.id = r.text("id");
  c.tenant_id = r.text("tenant_id");
  c.user_id = r.text("user_id");
  c.number_id = r.text("number_id");
  c.direction = r.text("direction");
  c.from = r.text("from_number");
  c.to = r.text("to_number");
  c.status = r.text("status");
  c.on_net = r.boolean("on_net");
  c.sip_code = static_cast<int>(r.integer("sip_code"));
  c.reason = r.text("reason");
  c.started_at = r.integer("started_at");
  c.answered_at = r.integer("answered_at");
  c.ended_at = r.integer("ended_at");
  c.duration_s = r.integer("duration_s");
  c.billed_s = r.integer("billed_s");
  c.cost_micros = r.integer("cost_micros");
  return c;
}

// A random SIP username: a letter, then 11 lowercase letters or digits.
std::string new_username() {
  static constexpr std::string_view kAlnum = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string u(1, kAlnum[crypto::random_below(26)]);
  while (u.size() < 12) u += kAlnum[crypto::random_below(kAlnum.size())];
  return u;
}

std::string new_password() { return crypto::base64url_encode(crypto::random_bytes(18)); }

bool has_feature(const numbers::Number& n, std::string_view f) {
  return std::find(n.features.begin(), n.features.end(), f) != n.features.end();
}

int int_field(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v) return 0;
  if (v->is_int64()) return static_cast<int>(std::clamp<std::int64_t>(v->as_int64(), -1, 100000));
  if (v->is_uint64()) return static_cast<int>(std::min<std::uint64_t>(v->as_uint64(), 100000));
  if (v->is_string()) {
    // Kamailio's pseudo-variables are strings: "486".
    try {
      return std::clamp(std::stoi(std::string(v->as_string())), -1, 100000);
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

Result<json::object> parse_object(std::string_view text) {
  auto v = numbers::parse_json(text);
  if (!v || !v->is_object())
    return make_error(Errc::invalid_argument, "the body must be a JSON object");
  return std::move(v->as_object());
}

// The E.164 form of a dialled or presented number: already E.164, digits a
// trunk sends without '+', or national in the default country.
std::optional<std::string> e164_of(std::string_view raw, std::string_view country) {
  std::string s(raw);
  if (s.empty() || s.size() > 32) return std::nullopt;
  // Dialled or presented numbers only: no vanity letters (a device's SIP
  // username is not a number).
  if (!std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == ' ' || c == '(' ||
               c == ')' || c == '.';
      }))
    return std::nullopt;
  if (s.rfind("00", 0) == 0) s = "+" + s.substr(2);
  if (s[0] == '+') {
    auto e = phone::to_e164(s, country.empty() ? "US" : country);
    if (e) return *e;
    return std::nullopt;
  }
  if (!country.empty()) {
    if (auto e = phone::to_e164(s, country)) return *e;
  }
  if (s.size() >= 8 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (auto e = phone::to_e164("+" + s, "US")) return *e;
  }
  return std::nullopt;
}

RouteDecision reject(int code, std::string reason, std::string call = {}) {
  RouteDecision d;
  d.reject = true;
  d.code = code;
  d.reason = std::move(reason);
  d.call = std::move(call);
  return d;
}

std::int64_t utc_day_start(std::int64_t ms) { return ms - ms % 86'400'000; }

Status emit(Connection& tx, const std::string& type, const std::string& tenant,
            const std::string& user, const std::string& call_id, json::object payload,
            std::int64_t now) {
  payload["call"] = call_id;
  payload["user"] = user;
  RH_TRY(jobs::append_event(tx, {type, tenant, call_id, json::serialize(payload), user}, now));
  return {};
}


}  // namespace

Result<RouteRequest> parse_route_request(std::string_view text) {
  RH_ASSIGN(auto o, parse_object(text));
  RouteRequest r;
  r.call_id = numbers::string_at(o, "call_id");
  r.source = numbers::string_at(o, "source");
  r.username = numbers::string_at(o, "username");
  r.trunk = numbers::string_at(o, "trunk");
  r.from_user = numbers::string_at(o, "from_user");
  r.from_display = numbers::string_at(o, "from_display");
  r.to_user = numbers::string_at(o, "to_user");
  r.privacy = numbers::string_at(o, "privacy");
  r.transport = numbers::string_at(o, "transport");
  r.src_ip = numbers::string_at(o, "src_ip");
  r.call = numbers::string_at(o, "call");
  r.stage = int_field(o, "stage");
  r.code = int_field(o, "code");
  if (r.call_id.empty() || r.call_id.size() > 200)
    return Error(Errc::invalid_argument, "call_id", "call_id is required (at most 200 characters)");
  if (!r.call.empty()) {
    if (!is_id(r.call, "cal") || r.stage < 1)
      return Error(Errc::invalid_argument, "call", "a next-stage request needs call and stage");
    return r;
  }
  if (r.source != "device" && r.source != "trunk")
    return Error(Errc::invalid_argument, "source", "source must be device or trunk");
  if (r.source == "device" && r.username.empty())
    return Error(Errc::invalid_argument, "username", "a device call needs its username");
  if (r.source == "trunk" && r.trunk.empty())
    return Error(Errc::invalid_argument, "trunk", "a trunk call needs its trunk");
  if (r.to_user.empty() || r.to_user.size() > 64)
    return Error(Errc::invalid_argument, "to_user", "to_user is required (at most 64 characters)");
  if (r.from_user.size() > 100 || r.from_display.size() > 200)
    return Error(Errc::invalid_argument, "from_user", "from_user or from_display is too long");
  return r;
}

std::string route_json(const RouteDecision& d) {
  json::object o;
  if (d.reject) {
    o["action"] = "reject";
    o["code"] = d.code;
    o["reason"] = d.reason;
    if (!d.call.empty()) o["call"] = d.call;
    return json::serialize(o);
  }
  o["action"] = "route";
  o["call"] = d.call;
  o["stage"] = d.stage;
  o["max_duration_s"] = d.max_duration_s;
  o["version"] = "1.0";
  o["routing"] = "parallel";
  json::array routes;
  for (const auto& t : d.routes) {
    json::object r;
    r["uri"] = t.uri;
    if (!t.dst_uri.empty()) r["dst_uri"] = t.dst_uri;
    if (!t.from_uri.empty()) {
      json::object from{{"display", t.from_display}, {"uri", t.from_uri}};
      r["headers"] = json::object{
          {"from", std::move(from)},
          {"extra", fmt::format("P-Asserted-Identity: <{}>\r\n", t.from_uri)}};
    }
    if (t.timeout_s > 0) r["fr_inv_timer"] = t.timeout_s * 1000;
    routes.push_back(std::move(r));
  }
  o["routes"] = std::move(routes);
  return json::serialize(o);
}

Result<EdgeEvent> parse_edge_event(std::string_view text) {
  RH_ASSIGN(auto o, parse_object(text));
  EdgeEvent ev;
  std::string event = numbers::string_at(o, "event");
  if (event == "registered") {
    RegisterEvent r;
    r.username = numbers::string_at(o, "username");
    r.contact = numbers::string_at(o, "contact");
    r.expires_s = std::max(0, int_field(o, "expires"));
    r.user_agent = numbers::string_at(o, "user_agent").substr(0, 200);
    r.transport = numbers::string_at(o, "transport").substr(0, 8);
    r.src_ip = numbers::string_at(o, "src_ip").substr(0, 64);
    if (r.username.empty() || r.username.size() > 40)
      return Error(Errc::invalid_argument, "username", "username is required");
    if (r.contact.empty() || r.contact.size() > 500)
      return Error(Errc::invalid_argument, "contact", "contact is required (at most 500 characters)");
    ev.registration = std::move(r);
    return ev;
  }
  if (event != "answered" && event != "ended" && event != "failed")
    return Error(Errc::invalid_argument, "event",
                 "event must be answered, ended, failed or registered");
  CallEvent c;
  c.event = event;
  c.call = numbers::string_at(o, "call");
  c.call_id = numbers::string_at(o, "call_id");
  c.by = numbers::string_at(o, "by").substr(0, 20);
  c.code = int_field(o, "code");
  c.reason = numbers::string_at(o, "reason").substr(0, 200);
  if (c.call_id.empty() && c.call.empty())
    return Error(Errc::invalid_argument, "call_id", "call or call_id is required");
  if (!c.call.empty() && !is_id(c.call, "cal"))
    return Error(Errc::invalid_argument, "call", "call is not a call id");
  ev.call = std::move(c);
  return ev;
}

// ---------------------------------------------------------------------------

VoiceService::VoiceService(storage::Database& db, numbers::Inventory& inventory,
                           billing::Ledger& ledger, billing::RateStore& rates,
                           billing::PlanStore* plans, accounts::TenantStore& tenants,
                           accounts::UserStore& users, const Clock& clock, VoiceOptions o)
    : db_(db),
      inventory_(inventory),
      ledger_(ledger),
      rates_(rates),
      plans_(plans),
      tenants_(tenants),
      users_(users),
      clock_(clock),
      o_(std::move(o)) {}

// The route hook's steps, with access to the service's collaborators.
struct VoiceService::Impl {
  VoiceService& s;

  const Trunk* trunk_named(const std::string& name) const {
    for (const auto& t : s.o_.trunks)
      if (t.name == name) return &t;
    return nullptr;
  }

  std::string trunk_uri(const Trunk& t, const std::string& e164) const {
    return fmt::format("sip:{}@{}:{}", e164, t.host, t.port);
  }
  std::string trunk_dst(const Trunk& t) const {
    return fmt::format("sip:{}:{};transport={}", t.host, t.port, t.transport);
  }
  std::string device_uri(const std::string& username) const {
    return fmt::format("sip:{}@{}", username, s.o_.sip_domain);
  }
  std::string caller_uri(const std::string& e164) const {
    return fmt::format("sip:{}@{}", e164, s.o_.sip_domain);
  }

  Result<std::vector<std::string>> device_usernames(Connection& c, const std::string& user_id) {
    RH_ASSIGN(auto rows, c.query("SELECT username FROM sip_credentials WHERE user_id = ? AND "
                                 "revoked_at IS NULL ORDER BY id",
                                 {user_id}));
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.text("username"));
    return out;
  }

  // The routes of one stage of an inbound plan to `number` (owned by
  // user_id); the caller ID shown on forwarded legs is the caller's.
  Result<std::vector<RouteTarget>> stage_routes(Connection& c, const numbers::Number& number,
                                                const std::string& caller, const Stage& st) {
    std::vector<RouteTarget> out;
    for (const auto& t : st.targets) {
      switch (t.kind) {
        case Target::Kind::devices: {
          RH_ASSIGN(auto names, device_usernames(c, number.user_id));
          for (auto& n : names) {
            // Devices show the caller's number, normalised (an on-net
            // caller's From is their device, not their number).
            RouteTarget rt{device_uri(n), "", "", "", st.timeout_s};
            if (!caller.empty() && caller[0] == '+') rt.from_uri = caller_uri(caller);
            out.push_back(std::move(rt));
          }
          break;
        }
        case Target::Kind::number: {
          // Forwarding a number to itself would come straight back in.
          if (t.number == number.e164) break;
          const Trunk* tr = trunk_named(number.trunk);
          if (!tr) break;  // no trunk configured for it: nothing to ring there
          RouteTarget rt{trunk_uri(*tr, t.number), trunk_dst(*tr), "", "", st.timeout_s};
          if (!caller.empty() && caller[0] == '+') rt.from_uri = caller_uri(caller);
          out.push_back(std::move(rt));
          break;
        }
        case Target::Kind::voicemail:
          if (!s.o_.voicemail_uri.empty())
            out.push_back({s.o_.voicemail_uri, "", "", "", st.timeout_s});
          break;
      }
    }
    return out;
  }

  // Plans stages from `failed` on until one has something to ring (a stage
  // without any route — no device, voicemail not configured — counts as
  // failed with 480). Returns the routes and the stage's number, or a reject.
  Result<std::variant<std::pair<int, std::vector<RouteTarget>>, Reject>> plan_from(
      Connection& c, const CallRules& rules, const InboundCall& call,
      const numbers::Number& number, int failed, int code) {
    for (int guard = 0; guard < 64; ++guard) {
      auto next = plan_inbound(rules, call, failed, code);
      if (auto* rj = std::get_if<Reject>(&next)) {
        return std::variant<std::pair<int, std::vector<RouteTarget>>, Reject>(*rj);
      }
      const auto& st = std::get<Stage>(next);
      RH_ASSIGN(auto routes, stage_routes(c, number, call.caller, st));
      if (!routes.empty())
        return std::variant<std::pair<int, std::vector<RouteTarget>>, Reject>(
            std::pair<int, std::vector<RouteTarget>>(failed + 1, std::move(routes)));
      // Nothing to ring in this stage.
      bool only_voicemail = std::all_of(st.targets.begin(), st.targets.end(), [](const Target& t) {
        return t.kind == Target::Kind::voicemail;
      });
      if (only_voicemail && !st.targets.empty())
        return std::variant<std::pair<int, std::vector<RouteTarget>>, Reject>(
            Reject{480, "Voicemail is not available"});
      ++failed;
      code = 480;
    }
    return std::variant<std::pair<int, std::vector<RouteTarget>>, Reject>(
        Reject{480, "Temporarily Unavailable"});
  }

  Result<CallRules> rules_of(Connection& c, const numbers::Number& n, const std::string& country) {
    RH_ASSIGN(auto row, c.query_opt("SELECT rules FROM call_rules WHERE number_id = ?", {n.id}));
    std::string text = row ? row->text("rules") : "{}";
    auto parsed = parse_call_rules(text, country);
    if (auto* r = std::get_if<CallRules>(&parsed)) return std::move(*r);
    // Stored rules always parse; if they ever stop (a newer version's
    // rules), ring the devices rather than losing the call.
    auto fallback = parse_call_rules("{}", country);
    return std::get<CallRules>(std::move(fallback));
  }

  struct NewCall {
    std::string id;
    std::string tenant_id, user_id, number_id, direction, from, to;
    bool on_net = false;
    std::string sip_call_id;
    std::string caller;
    bool anonymous = false;
    std::string rules;
    std::string time_zone;
    int stage = 0;
    std::string hold_id;
    const billing::Rate* rate = nullptr;
    std::int64_t max_duration_s = 0;
    std::string status = "ringing";
    int sip_code = 0;
    std::string reason;
  };

  Status insert_call(Connection& tx, const NewCall& n, std::int64_t now) {
    RH_TRY(tx.exec(
        "INSERT INTO calls (id, tenant_id, user_id, number_id, direction, from_number, "
        "to_number, status, on_net, sip_call_id, sip_code, reason, caller, anonymous, rules, "
        "time_zone, stage, hold_id, rate_per_minute, rate_connect, rate_first_s, rate_next_s, "
        "max_duration_s, started_at, answered_at, ended_at, duration_s, billed_s, cost_micros) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 0, "
        "0, 0)",
        {n.id, n.tenant_id, n.user_id, n.number_id, n.direction, n.from, n.to, n.status,
         std::int64_t{n.on_net}, n.sip_call_id, std::int64_t{n.sip_code}, n.reason, n.caller,
         std::int64_t{n.anonymous}, n.rules, n.time_zone, std::int64_t{n.stage}, n.hold_id,
         n.rate ? n.rate->per_minute_micros : 0, n.rate ? n.rate->connect_micros : 0,
         std::int64_t{n.rate ? n.rate->first_increment_s : 60},
         std::int64_t{n.rate ? n.rate->next_increment_s : 60}, n.max_duration_s, now,
         n.status == "ringing" ? std::int64_t{0} : now}));
    return {};
  }

  // The inbound leg of a call to a platform number: the callee's call rules,
  // a row in the callee's log, call.incoming, and the first stage to ring.
  Result<RouteDecision> inbound(Connection& tx, const numbers::Number& number,
                                const std::string& caller, bool anonymous,
                                const std::string& sip_call_id, NewCall* caller_leg,
                                std::int64_t now) {
    RH_ASSIGN(auto tenant, s.tenants_.get(number.tenant_id));
    RH_ASSIGN(auto user, s.users_.get(UserScope{number.tenant_id, number.user_id}));
    RH_ASSIGN(auto rules, rules_of(tx, number, tenant.default_country));
    InboundCall ic;
    ic.caller = anonymous ? std::string() : caller;
    ic.anonymous = anonymous;
    ic.at_ms = now;
    ic.time_zone = user.time_zone;
    RH_ASSIGN(auto plan, plan_from(tx, rules, ic, number, 0, 0));

    NewCall leg;
    leg.id = new_id("cal", now);
    leg.tenant_id = number.tenant_id;
    leg.user_id = number.user_id;
    leg.number_id = number.id;
    leg.direction = "inbound";
    leg.from = anonymous ? "anonymous" : caller;
    leg.to = number.e164;
    leg.on_net = caller_leg != nullptr;
    leg.sip_call_id = sip_call_id;
    leg.caller = ic.caller;
    leg.anonymous = anonymous;
    leg.rules = call_rules_json(rules);
    leg.time_zone = user.time_zone;
    RouteDecision d;
    if (auto* rj = std::get_if<Reject>(&plan)) {
      leg.status = "rejected";
      leg.sip_code = rj->code;
      leg.reason = rj->reason;
      d = reject(rj->code, rj->reason);
    } else {
      auto& [stage, routes] = std::get<0>(plan);
      leg.stage = stage;
      d.stage = stage;
      d.routes = std::move(routes);
      d.max_duration_s = s.o_.max_call_s;
    }
    RH_TRY(insert_call(tx, leg, now));
    json::object payload{{"from", leg.from}, {"to", leg.to}, {"number", number.id}};
    RH_TRY(emit(tx, leg.status == "rejected" ? "call.missed" : "call.incoming", leg.tenant_id,
                leg.user_id, leg.id, payload, now));
    if (caller_leg) {
      // On-net: Kamailio's dialog carries the caller's call id; the callee's
      // row is found by the SIP Call-ID.
      caller_leg->stage = leg.stage;
      if (leg.status == "rejected") {
        caller_leg->status = "failed";
        caller_leg->sip_code = leg.sip_code;
        caller_leg->reason = leg.reason;
      }
      RH_TRY(insert_call(tx, *caller_leg, now));
      d.call = caller_leg->id;
      d.max_duration_s = s.o_.max_call_s;
    } else {
      d.call = leg.id;
    }
    return d;
  }

  // The user's number a device call presents: the one in From when it is a
  // number (it must be theirs), else `fallback` (their first active voice
  // number, found before the transaction).
  Result<std::optional<numbers::Number>> calling_number(Connection& c, const UserScope& u,
                                                        const std::string& from_user,
                                                        const std::string& country,
                                                        const std::string& fallback) {
    auto e = e164_of(from_user, country);
    if (!e && fallback.empty()) return std::optional<numbers::Number>();
    RH_ASSIGN(auto n, s.inventory_.find_e164(c, e ? *e : fallback));
    if (!n || n->state != "active" || n->user_id != u.user_id || n->tenant_id != u.tenant_id)
      return std::optional<numbers::Number>();
    return n;
  }
};

// ---------------------------------------------------------------------------
// Credentials

Result<IssuedCredential> VoiceService::create_credential(const UserScope& u,
                                                         const std::string& label) {
  if (label.size() > 100)
    return Error(Errc::invalid_argument, "label", "label is at most 100 characters");
  const std::int64_t now = clock_.now_ms();
  IssuedCredential out;
  out.domain = o_.sip_domain;
  out.password = new_password();
  RH_TRY(db_.transaction([&](Connection& tx) -> Status {
    RH_ASSIGN(auto n, tx.query_one("SELECT COUNT(*) AS n FROM sip_credentials WHERE user_id = ? "
                                   "AND revoked_at IS NULL",
                                   {u.user_id}));
    if (n.integer("n") >= o_.max_credentials)
      return make_reason(Errc::conflict, "too_many_credentials",
                         fmt::format("a user has at most {} SIP credentials: revoke one first",
                                     o_.max_credentials));
    for (int attempt = 0;; ++attempt) {
      SipCredential c;
      c.id = new_id("sip", now);
      c.tenant_id = u.tenant_id;
      c.user_id = u.user_id;
      c.username = new_username();
      c.label = label;
      c.created_at = c.rotated_at = now;
      RH_ASSIGN(auto taken, tx.query_opt("SELECT id FROM sip_credentials WHERE username = ?",
                                         {c.username}));
      if (taken && attempt < 5) continue;
      RH_TRY(tx.exec("INSERT INTO sip_credentials (id, tenant_id, user_id, username, ha1, label, "
                     "created_at, rotated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     {c.id, c.tenant_id, c.user_id, c.username,
                      digest_ha1(c.username, o_.sip_domain, out.password), c.label, now, now}));
      out.credential = std::move(c);
      return {};
    }
  }));
  return out;
}

Result<std::vector<SipCredential>> VoiceService::credentials(const UserScope& u) {
  const std::int64_t now = clock_.now_ms();
  return db_.read<std::vector<SipCredential>>(
      [&](Connection& c) -> Result<std::vector<SipCredential>> {
        RH_ASSIGN(auto rows,
                  c.query(fmt::format("SELECT {} FROM sip_credentials WHERE tenant_id = ? AND "
                                      "user_id = ? AND revoked_at IS NULL ORDER BY id",
                                      kCredentialColumns),
                          {u.tenant_id, u.user_id}));
        std::vector<SipCredential> out;
        for (const auto& r : rows) out.push_back(credential_from_row(r));
        RH_ASSIGN(auto regs,
                  c.query("SELECT g.username, g.contact, g.user_agent, g.transport, g.src_ip, "
                          "g.expires_at, g.updated_at FROM sip_registrations g JOIN "
                          "sip_credentials s ON s.username = g.username WHERE s.user_id = ? AND "
                          "s.revoked_at IS NULL AND g.expires_at > ? ORDER BY g.updated_at",
                          {u.user_id, now}));
        for (const auto& g : regs) {
          for (auto& cr : out) {
            if (cr.username != g.text("username")) continue;
            cr.registrations.push_back({g.text("contact"), g.text("user_agent"),
                                        g.text("transport"), g.text("src_ip"),
                                        g.integer("expires_at"), g.integer("updated_at")});
          }
        }
        return out;
      });
}

Result<SipCredential> VoiceService::credential(const UserScope& u, const std::string& id) {
  RH_ASSIGN(auto all, credentials(u));
  for (auto& c : all)
    if (c.id == id) return std::move(c);
  return make_error(Errc::not_found, "no such SIP credential");
}

Result<IssuedCredential> VoiceService::rotate_credential(const UserScope& u,
                                                         const std::string& id) {
  const std::int64_t now = clock_.now_ms();
  IssuedCredential out;
  out.domain = o_.sip_domain;
  out.password = new_password();
  RH_TRY(db_.transaction([&](Connection& tx) -> Status {
    RH_ASSIGN(auto row, tx.query_opt(fmt::format("SELECT {} FROM sip_credentials WHERE id = ? AND "
                                                 "tenant_id = ? AND user_id = ? AND revoked_at "
                                                 "IS NULL",
                                                 kCredentialColumns),
                                     {id, u.tenant_id, u.user_id}));
    if (!row) return make_error(Errc::not_found, "no such SIP credential");
    out.credential = credential_from_row(*row);
    out.credential.rotated_at = now;
    RH_TRY(tx.exec("UPDATE sip_credentials SET ha1 = ?, rotated_at = ? WHERE id = ?",
                   {digest_ha1(out.credential.username, o_.sip_domain, out.password), now, id}));
    return {};
  }));
  if (forget_) forget_(out.credential.username);
  return out;
}

Status VoiceService::revoke_credential(const UserScope& u, const std::string& id) {
  const std::int64_t now = clock_.now_ms();
  std::string username;
  RH_TRY(db_.transaction([&](Connection& tx) -> Status {
    RH_ASSIGN(auto row, tx.query_opt("SELECT username FROM sip_credentials WHERE id = ? AND "
                                     "tenant_id = ? AND user_id = ? AND revoked_at IS NULL",
                                     {id, u.tenant_id, u.user_id}));
    if (!row) return make_error(Errc::not_found, "no such SIP credential");
    username = row->text("username");
    RH_TRY(tx.exec("UPDATE sip_credentials SET revoked_at = ? WHERE id = ?", {now, id}));
    RH_TRY(tx.exec("DELETE FROM sip_registrations WHERE username = ?", {username}));
    return {};
  }));
  if (forget_) forget_(username);
  return {};
}

Result<std::optional<std::string>> VoiceService::ha1_of(const std::string& username) {
  if (username.empty() || username.size() > 40) return std::optional<std::string>();
  return db_.read<std::optional<std::string>>(
      [&](Connection& c) -> Result<std::optional<std::string>> {
        RH_ASSIGN(auto row, c.query_opt("SELECT ha1 FROM sip_credentials WHERE username = ? AND "
                                        "revoked_at IS NULL",
                                        {username}));
        if (!row) return std::optional<std::string>();
        return std::optional<std::string>(row->text("ha1"));
      });
}

Status VoiceService::registered(const RegisterEvent& e) {
  const std::int64_t now = clock_.now_ms();
  return db_.transaction([&](Connection& tx) -> Status {
    RH_ASSIGN(auto cred, tx.query_opt("SELECT id FROM sip_credentials WHERE username = ? AND "
                                      "revoked_at IS NULL",
                                      {e.username}));
    if (!cred) return make_error(Errc::not_found, "no such SIP username");
    const std::string key = crypto::hex_encode(crypto::sha256(e.contact));
    RH_TRY(tx.exec("DELETE FROM sip_registrations WHERE username = ? AND (contact_key = ? OR "
                   "expires_at <= ?)",
                   {e.username, key, now}));
    if (e.expires_s > 0) {
      RH_TRY(tx.exec("INSERT INTO sip_registrations (username, contact_key, contact, user_agent, "
                     "transport, src_ip, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     {e.username, key, e.contact, e.user_agent, e.transport, e.src_ip,
                      now + e.expires_s * 1000, now}));
    }
    return {};
  });
}

// ---------------------------------------------------------------------------
// Tenant settings

Result<std::vector<std::string>> VoiceService::allowed_countries(const std::string& tenant_id) {
  return db_.read<std::vector<std::string>>([&](Connection& c) -> Result<std::vector<std::string>> {
    RH_ASSIGN(auto row, c.query_opt("SELECT allowed_countries FROM voice_settings WHERE "
                                    "tenant_id = ?",
                                    {tenant_id}));
    if (row) return csv::split_list(row->text("allowed_countries"));
    return o_.allowed_countries;
  });
}

Status VoiceService::set_allowed_countries(const std::string& tenant_id,
                                           const std::vector<std::string>& countries) {
  RH_TRY(phone::check_regions(countries, "allowed_countries"));
  std::string joined = csv::join_list(countries);
  if (joined.size() > 1000)
    return Error(Errc::invalid_argument, "allowed_countries", "too many countries");
  const std::int64_t now = clock_.now_ms();
  return db_.transaction([&](Connection& c) -> Status {
    RH_TRY(c.exec("DELETE FROM voice_settings WHERE tenant_id = ?", {tenant_id}));
    RH_TRY(c.exec("INSERT INTO voice_settings (tenant_id, allowed_countries, updated_at) VALUES "
                  "(?, ?, ?)",
                  {tenant_id, joined, now}));
    return {};
  });
}

// ---------------------------------------------------------------------------
// Call rules

Result<std::string> VoiceService::call_rules(const UserScope& u, const std::string& number_id) {
  RH_ASSIGN(auto number, inventory_.get_owned(u, number_id));
  RH_ASSIGN(auto tenant, tenants_.get(u.tenant_id));
  return db_.read<std::string>([&](Connection& c) -> Result<std::string> {
    RH_ASSIGN(auto rules, Impl{*this}.rules_of(c, number, tenant.default_country));
    return call_rules_json(rules);
  });
}

Result<std::string> VoiceService::set_call_rules(const UserScope& u, const std::string& number_id,
                                                 std::string_view text,
                                                 std::vector<RuleProblem>* problems_out) {
  RH_ASSIGN(auto number, inventory_.get_owned(u, number_id));
  RH_ASSIGN(auto tenant, tenants_.get(u.tenant_id));
  auto parsed = parse_call_rules(text, tenant.default_country);
  if (auto* problems = std::get_if<std::vector<RuleProblem>>(&parsed)) {
    std::string msg;
    for (const auto& p : *problems) {
      if (!msg.empty()) msg += "\n";
      msg += p.field.empty() ? p.message : p.field + ": " + p.message;
    }
    Error e(Errc::invalid_argument, problems->empty() ? "" : problems->front().field, msg);
    e.reason = "invalid_call_rules";
    if (problems_out) *problems_out = *problems;
    return e;
  }
  std::string canonical = call_rules_json(std::get<CallRules>(parsed));
  const std::int64_t now = clock_.now_ms();
  RH_TRY(db_.transaction([&](Connection& tx) -> Status {
    RH_TRY(tx.exec("DELETE FROM call_rules WHERE number_id = ?", {number.id}));
    RH_TRY(tx.exec("INSERT INTO call_rules (number_id, tenant_id, rules, updated_at) VALUES (?, "
                   "?, ?, ?)",
                   {number.id, number.tenant_id, canonical, now}));
    return {};
  }));
  return canonical;
}

// ---------------------------------------------------------------------------
// Route hook

Result<RouteDecision> VoiceService::route(const RouteRequest& r) {
  Impl impl{*this};
  if (!r.call.empty()) {
    // The next stage of a call whose stage `r.stage` failed with r.code.
    RouteDecision out;
    RH_TRY(db_.transaction([&](Connection& tx) -> Status {
      RH_ASSIGN(auto row, tx.query_opt(fmt::format("SELECT {} FROM calls WHERE id = ?",
                                                   kStageColumns),
                                       {r.call}));
      if (!row) {
        out = reject(r.code > 0 ? r.code : 480, "Unknown call");
        return {};
      }
      // The inbound leg carries the rules: itself, or the callee's leg of
      // an on-net call.
      std::optional<Row> leg = row;
      if (row->text("direction") == "outbound") {
        leg.reset();
        if (row->boolean("on_net")) {
          RH_ASSIGN(auto in, tx.query_opt(fmt::format("SELECT {} FROM calls WHERE sip_call_id = ? "
                                                      "AND direction = 'inbound'",
                                                      kStageColumns),
                                          {row->text("sip_call_id")}));
          leg = std::move(in);
        }
      }
      if (!leg || leg->text("status") != "ringing" || leg->integer("stage") != r.stage) {
        out = reject(r.code > 0 ? r.code : 480, "No further destination", r.call);
        return {};
      }
      RH_ASSIGN(auto number, inventory_.get_tx(tx, leg->text("number_id")));
      auto parsed = parse_call_rules(leg->text("rules"), "");
      if (!std::holds_alternative<CallRules>(parsed)) {
        out = reject(r.code > 0 ? r.code : 480, "No further destination", r.call);
        return {};
      }
      InboundCall ic;
      ic.caller = leg->text("caller");
      ic.anonymous = leg->boolean("anonymous");
      ic.at_ms = leg->integer("started_at");
      ic.time_zone = leg->text("time_zone");
      RH_ASSIGN(auto plan, impl.plan_from(tx, std::get<CallRules>(parsed), ic, number, r.stage,
                                          r.code));
      if (auto* rj = std::get_if<Reject>(&plan)) {
        out = reject(rj->code, rj->reason, r.call);
        return {};
      }
      auto& [stage, routes] = std::get<0>(plan);
      RH_TRY(tx.exec("UPDATE calls SET stage = ? WHERE sip_call_id = ? AND status = 'ringing'",
                     {std::int64_t{stage}, leg->text("sip_call_id")}));
      out.call = r.call;
      out.stage = stage;
      out.routes = std::move(routes);
      out.max_duration_s = o_.max_call_s;
      return {};
    }));
    return out;
  }
  return r.source == "trunk" ? route_trunk(r) : route_device(r);
}

Result<RouteDecision> VoiceService::route_trunk(const RouteRequest& r) {
  Impl impl{*this};
  const Trunk* trunk = impl.trunk_named(r.trunk);
  if (!trunk) return reject(403, "Unknown trunk");
  auto did = e164_of(r.to_user, "");
  if (!did) return reject(404, "Not Found");
  const std::int64_t now = clock_.now_ms();
  RouteDecision out;
  RH_TRY(db_.transaction([&](Connection& tx) -> Status {
    RH_ASSIGN(auto number, inventory_.find_e164(tx, *did));
    if (!number || number->state != "active" || number->user_id.empty() ||
        !has_feature(*number, "voice")) {
      out = reject(404, "Not Found");
      return {};
    }
    RH_ASSIGN(auto tenant, tenants_.get(number->tenant_id));
    bool anonymous = r.from_user.empty() || r.from_user == "anonymous" ||
                     r.privacy.find("id") != std::string::npos;
    std::string caller;
    if (!anonymous) {
      auto e = e164_of(r.from_user, tenant.default_country);
      caller = e ? *e : r.from_user.substr(0, 64);
    }
    RH_ASSIGN(out, impl.inbound(tx, *number, caller, anonymous, r.call_id, nullptr, now));
    return {};
  }));
  return out;
}

Result<RouteDecision> VoiceService::route_device(const RouteRequest& r) {
  Impl impl{*this};
  const std::int64_t now = clock_.now_ms();
  // Who calls.
  RH_ASSIGN(auto cred_row, db_.read<std::optional<Row>>([&](Connection& c) {
    return c.query_opt("SELECT tenant_id, user_id FROM sip_credentials WHERE username = ? AND "
                       "revoked_at IS NULL",
                       {r.username});
  }));
  if (!cred_row) return reject(403, "Forbidden");
  UserScope u{cred_row->text("tenant_id"), cred_row->text("user_id")};
  RH_ASSIGN(auto user, users_.get(u));
  if (user.status == "suspended") return reject(403, "Account suspended");
  RH_ASSIGN(auto tenant, tenants_.get(u.tenant_id));

  // Where to.
  auto dest = e164_of(r.to_user, tenant.default_country);
  if (!dest) return reject(484, "Address Incomplete");

  // Off-net pricing is read before the transaction (the deck is cached);
  // the plan's remaining minutes only for a priced destination.
  RH_ASSIGN(auto deck, rates_.active(u.tenant_id));
  const billing::Rate* rate = deck->size() > 0 ? deck->match(*dest) : nullptr;
  const bool priced = rate && (rate->per_minute_micros > 0 || rate->connect_micros > 0);
  std::int64_t included_s = 0;
  if (plans_ && priced) {
    RH_ASSIGN(auto sub, db_.read<std::optional<billing::Subscription>>(
                            [&](Connection& c) { return plans_->current(c, u); }));
    if (sub) {
      RH_ASSIGN(auto plans, plans_->plans(u.tenant_id, false));
      for (const auto& p : plans)
        if (p.id == sub->plan_id)
          included_s = std::max<std::int64_t>(0, p.included_minutes - sub->minutes_used) * 60;
    }
  }

  // The number a call shows when From does not name one: the user's first
  // active voice number.
  std::string default_number;
  if (!e164_of(r.from_user, tenant.default_country)) {
    RH_ASSIGN(auto owned, inventory_.list_owned(u, "", 200));
    std::stable_sort(owned.begin(), owned.end(), [](const auto& a, const auto& b) {
      return a.activated_at < b.activated_at;
    });
    for (const auto& n : owned)
      if (n.state == "active" && has_feature(n, "voice")) {
        default_number = n.e164;
        break;
      }
  }

  RouteDecision out;
  RH_TRY(db_.transaction([&](Connection& tx) -> Status {
    RH_ASSIGN(auto from, impl.calling_number(tx, u, r.from_user, tenant.default_country,
                                             default_number));
    if (!from) {
      out = reject(403, "Caller does not own the number it calls from");
      return {};
    }
    if (!has_feature(*from, "voice")) {
      out = reject(403, "The number cannot make calls");
      return {};
    }
    if (o_.max_concurrent_calls > 0) {
      RH_ASSIGN(auto busy, tx.query_one("SELECT COUNT(*) AS n FROM calls WHERE user_id = ? AND "
                                        "direction = 'outbound' AND status IN ('ringing', "
                                        "'answered') AND started_at > ?",
                                        {u.user_id, now - (o_.max_call_s + 300) * 1000}));
      if (busy.integer("n") >= o_.max_concurrent_calls) {
        out = reject(486, "Too many calls in progress");
        return {};
      }
    }
    Impl::NewCall leg;
    leg.id = new_id("cal", now);
    leg.tenant_id = u.tenant_id;
    leg.user_id = u.user_id;
    leg.number_id = from->id;
    leg.direction = "outbound";
    leg.from = from->e164;
    leg.to = *dest;
    leg.sip_call_id = r.call_id;
    leg.caller = from->e164;
    leg.time_zone = user.time_zone;

    // On-net: the callee's number and rules.
    RH_ASSIGN(auto callee, inventory_.find_e164(tx, *dest));
    if (callee && callee->state == "active" && !callee->user_id.empty() &&
        has_feature(*callee, "voice")) {
      if (callee->id == from->id) {
        out = reject(486, "Busy Here");
        return {};
      }
      leg.on_net = true;
      RH_ASSIGN(out, impl.inbound(tx, *callee, from->e164, false, r.call_id, &leg, now));
      return {};
    }

    // Off-net: allowed destinations, the trunk, the price, the hold.
    std::vector<std::string> allowed = o_.allowed_countries;
    RH_ASSIGN(auto own, tx.query_opt("SELECT allowed_countries FROM voice_settings WHERE "
                                     "tenant_id = ?",
                                     {u.tenant_id}));
    if (own) allowed = csv::split_list(own->text("allowed_countries"));
    if (allowed.empty()) allowed.push_back(tenant.default_country);
    if (std::find(allowed.begin(), allowed.end(), phone::region_of(*dest)) == allowed.end()) {
      out = reject(403, "Destination not allowed");
      return {};
    }
    for (const auto& p : o_.blocked_prefixes) {
      if (!p.empty() && dest->rfind(p, 0) == 0) {
        out = reject(403, "Destination not allowed");
        return {};
      }
    }
    const Trunk* trunk = impl.trunk_named(from->trunk);
    if (!trunk) {
      out = reject(503, "No trunk for this number");
      return {};
    }
    std::int64_t max_s = o_.max_call_s;
    if (deck->size() > 0 && !rate) {
      out = reject(403, "Destination not priced");
      return {};
    }
    if (priced) {
      RH_ASSIGN(auto bal, ledger_.balance(tx, u));
      std::int64_t budget = bal.available_micros();
      if (o_.daily_spend_limit_micros > 0) {
        RH_ASSIGN(auto spent, tx.query_one("SELECT COALESCE(SUM(cost_micros), 0) AS n FROM "
                                           "calls WHERE user_id = ? AND started_at >= ?",
                                           {u.user_id, utc_day_start(now)}));
        budget = std::min(budget, o_.daily_spend_limit_micros - spent.integer("n"));
      }
      std::int64_t paid_s = billing::max_affordable_seconds(*rate, std::max<std::int64_t>(budget, 0),
                                                            o_.max_call_s);
      max_s = std::min(o_.max_call_s, paid_s + included_s);
      if (max_s <= 0) {
        out = reject(402, "Payment Required: insufficient balance");
        return {};
      }
      std::int64_t hold = billing::call_cost(*rate, paid_s);
      if (hold > 0) {
        RH_ASSIGN(auto h, ledger_.place_hold(tx, u.tenant_id, u.user_id, hold, "call", leg.id,
                                             now + (max_s + 3600) * 1000));
        leg.hold_id = h.id;
      }
    }
    leg.rate = rate;
    leg.max_duration_s = max_s;
    leg.stage = 1;
    RH_TRY(impl.insert_call(tx, leg, now));
    RouteTarget t{impl.trunk_uri(*trunk, *dest), impl.trunk_dst(*trunk),
                  impl.caller_uri(from->e164), "", o_.outbound_timeout_s};
    out.call = leg.id;
    out.stage = 1;
    out.max_duration_s = max_s;
    out.routes.push_back(std::move(t));
    return {};
  }));
  return out;
}

// ---------------------------------------------------------------------------
// Dialog events and CDRs

Status VoiceService::call_event(const CallEvent& e) {
  const std::int64_t now = clock_.now_ms();
  return db_.transaction([&](Connection& tx) -> Status {
    std::string sip_call_id = e.call_id;
    if (!e.call.empty()) {
      RH_ASSIGN(auto row, tx.query_opt("SELECT sip_call_id FROM calls WHERE id = ?", {e.call}));
      if (!row) return make_error(Errc::not_found, "no such call");
      sip_call_id = row->text("sip_call_id");
    }
    RH_ASSIGN(auto rows,
              tx.query("SELECT id, tenant_id, user_id, number_id, direction, from_number, "
                       "to_number, status, on_net, hold_id, rate_per_minute, rate_connect, "
                       "rate_first_s, rate_next_s, answered_at, started_at, max_duration_s FROM "
                       "calls WHERE "
                       "sip_call_id = ?",
                       {sip_call_id}));
    if (rows.empty()) return make_error(Errc::not_found, "no such call");
    for (const auto& row : rows) {
      const std::string id = row.text("id");
      const std::string status = row.text("status");
      const std::string tenant = row.text("tenant_id");
      const std::string user = row.text("user_id");
      json::object payload{{"from", row.text("from_number")},
                           {"to", row.text("to_number")},
                           {"direction", row.text("direction")}};
      if (e.event == "answered") {
        RH_TRY(tx.exec("UPDATE calls SET status = 'answered', answered_at = ? WHERE id = ? AND "
                       "status = 'ringing'",
                       {now, id}));
        continue;
      }
      if (status != "ringing" && status != "answered") continue;  // already ended
      if (status == "answered") {
        std::int64_t duration_s = (now - row.integer("answered_at") + 999) / 1000;
        // The edge cuts the call at max_duration_s: the timer and the event's
        // trip can only add rounding, never talk time.
        if (row.integer("max_duration_s") > 0)
          duration_s = std::min(duration_s, row.integer("max_duration_s"));
        billing::Rate rate;
        rate.per_minute_micros = row.integer("rate_per_minute");
        rate.connect_micros = row.integer("rate_connect");
        rate.first_increment_s = static_cast<int>(row.integer("rate_first_s"));
        rate.next_increment_s = static_cast<int>(row.integer("rate_next_s"));
        std::int64_t billed_s = billing::billed_seconds(rate, duration_s);
        std::int64_t cost = 0;
        const bool paid = row.text("direction") == "outbound" && !row.boolean("on_net") &&
                          (rate.per_minute_micros > 0 || rate.connect_micros > 0);
        if (paid) {
          std::int64_t charged_s = billed_s;
          if (plans_) {
            RH_ASSIGN(auto covered,
                      plans_->consume(tx, UserScope{tenant, user}, "minutes", (billed_s + 59) / 60));
            charged_s = std::max<std::int64_t>(0, billed_s - covered * 60);
          }
          cost = charged_s > 0 ? billing::call_cost(rate, charged_s) : 0;
          if (!row.text("hold_id").empty()) {
            // Never more than was held for it (the hold was sized for the
            // longest call the user could pay).
            RH_ASSIGN(auto hold, ledger_.get_hold(tx, row.text("hold_id")));
            cost = std::min(cost, hold.amount_micros);
            auto settled = ledger_.settle_hold(tx, row.text("hold_id"), cost,
                                               billing::TxnKind::call,
                                               "Call to " + row.text("to_number"));
            if (settled) cost = std::min(cost, settled->amount_micros);
            else if (settled.error().code != Errc::precondition) return settled.error();
            else cost = 0;  // the hold expired: nothing can be charged any more
          } else {
            cost = 0;
          }
        }
        RH_TRY(tx.exec("UPDATE calls SET status = 'completed', ended_at = ?, duration_s = ?, "
                       "billed_s = ?, cost_micros = ?, reason = ? WHERE id = ?",
                       {now, duration_s, paid ? billed_s : std::int64_t{0}, cost,
                        e.by.empty() ? std::string("hangup") : "hangup by " + e.by, id}));
        payload["status"] = "completed";
        payload["duration_s"] = duration_s;
        payload["cost_micros"] = cost;
        RH_TRY(emit(tx, "call.ended", tenant, user, id, payload, now));
        continue;
      }
      // Ended without an answer.
      if (!row.text("hold_id").empty()) {
        auto rel = ledger_.release_hold(tx, row.text("hold_id"));
        if (!rel && rel.error().code != Errc::precondition) return rel.error();
      }
      const bool inbound = row.text("direction") == "inbound";
      const int code = e.code > 0 ? e.code : 487;
      std::string new_status = inbound ? "missed" : "failed";
      RH_TRY(tx.exec("UPDATE calls SET status = ?, ended_at = ?, sip_code = ?, reason = ? WHERE "
                     "id = ?",
                     {new_status, now, std::int64_t{code},
                      e.reason.empty() ? std::string(e.event == "ended" ? "cancelled" : "failed")
                                       : e.reason,
                      id}));
      payload["status"] = new_status;
      payload["sip_code"] = code;
      RH_TRY(emit(tx, inbound ? "call.missed" : "call.ended", tenant, user, id, payload, now));
    }
    return {};
  });
}

Result<int> VoiceService::sweep() {
  const std::int64_t now = clock_.now_ms();
  const std::int64_t before = now - (o_.max_call_s + 3600) * 1000;
  RH_ASSIGN(auto stale, db_.read<storage::Rows>([&](Connection& c) {
    return c.query("SELECT id FROM calls WHERE status IN ('ringing', 'answered') AND started_at < "
                   "? ORDER BY started_at LIMIT 500",
                   {before});
  }));
  int ended = 0;
  for (const auto& s : stale) {
    RH_TRY(db_.transaction([&](Connection& tx) -> Status {
      RH_ASSIGN(auto row, tx.query_opt("SELECT id, tenant_id, user_id, direction, from_number, "
                                       "to_number, status, hold_id FROM calls WHERE id = ?",
                                       {s.text("id")}));
      if (!row || (row->text("status") != "ringing" && row->text("status") != "answered"))
        return {};
      if (!row->text("hold_id").empty()) {
        auto rel = ledger_.release_hold(tx, row->text("hold_id"));
        if (!rel && rel.error().code != Errc::precondition) return rel.error();
      }
      RH_TRY(tx.exec("UPDATE calls SET status = 'failed', ended_at = ?, reason = ? WHERE id = ? "
                     "AND status IN ('ringing', 'answered')",
                     {now, std::string("the SIP edge never reported the end"), row->text("id")}));
      json::object payload{{"from", row->text("from_number")},
                           {"to", row->text("to_number")},
                           {"direction", row->text("direction")},
                           {"status", "failed"}};
      RH_TRY(emit(tx, "call.ended", row->text("tenant_id"), row->text("user_id"),
                  row->text("id"), payload, now));
      ++ended;
      return {};
    }));
  }
  return ended;
}

void VoiceService::register_jobs(jobs::JobWorker& w) {
  w.register_handler("voice.sweep", [this](jobs::JobContext&) -> Status {
    RH_TRY(sweep());
    return {};
  });
}

// ---------------------------------------------------------------------------
// Call log

Result<CallPage> VoiceService::calls(const UserScope& u, const std::string& after, int limit) {
  limit = std::clamp(limit, 1, 200);
  return db_.read<CallPage>([&](Connection& c) -> Result<CallPage> {
    std::string sql = fmt::format("SELECT {} FROM calls WHERE tenant_id = ? AND user_id = ?",
                                  kCallColumns);
    std::vector<Value> args{u.tenant_id, u.user_id};
    if (!after.empty()) {
      sql += " AND id < ?";
      args.push_back(after);
    }
    sql += fmt::format(" ORDER BY id DESC LIMIT {}", limit + 1);
    RH_ASSIGN(auto rows, c.query(sql, std::span<const Value>(args)));
    CallPage page;
    for (const auto& r : rows) page.calls.push_back(call_from_row(r));
    if (static_cast<int>(page.calls.size()) > limit) {
      page.calls.pop_back();
      page.next = page.calls.back().id;
    }
    return page;
  });
}

Result<Call> VoiceService::call(const UserScope& u, const std::string& id) {
  return db_.read<Call>([&](Connection& c) -> Result<Call> {
    RH_ASSIGN(auto row, c.query_opt(fmt::format("SELECT {} FROM calls WHERE id = ? AND "
                                                "tenant_id = ? AND user_id = ?",
                                                kCallColumns),
                                    {id, u.tenant_id, u.user_id}));
    if (!row) return make_error(Errc::not_found, "no such call");
    return call_from_row(*row);
  });
}

}  // namespace rh::voice
