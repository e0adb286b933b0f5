#include "messaging/service.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <set>

#include "accounts/tenants.hpp"
#include "core/crypto.hpp"
#include "core/csv.hpp"
#include "core/ids.hpp"
#include "core/phone_number.hpp"
#include "jobs/outbox.hpp"
#include "messaging/encoding.hpp"

namespace rh::messaging {

using storage::Connection;
using storage::Row;
using storage::Value;

namespace {

const char* const kMessageColumns =
    "id, tenant_id, user_id, conversation_id, direction, sender, recipients, body, media, kind, "
    "encoding, segments, status, error_code, error_detail, cost_micros, read_at, created_at, "
    "updated_at";

Message message_from_row(const Row& r) {
  Message m;
  m.id = r.text("id");
  m.tenant_id = r.text("tenant_id");
  m.user_id = r.text("user_id");
  m.conversation_id = r.text("conversation_id");
  m.direction = r.text("direction");
  m.from = r.text("sender");
  m.to = csv::split_list(r.text("recipients"));
  m.text = r.text("body");
  m.media = csv::split_list(r.text("media"));
  m.kind = r.text("kind");
  m.encoding = r.text("encoding");
  m.segments = static_cast<int>(r.integer("segments"));
  m.status = r.text("status");
  m.error_code = r.text("error_code");
  m.error_detail = r.text("error_detail");
  m.cost_micros = r.integer("cost_micros");
  m.read_at = r.opt_integer("read_at").value_or(0);
  m.created_at = r.integer("created_at");
  m.updated_at = r.integer("updated_at");
  return m;
}

const char* const kConversationColumns =
    "id, tenant_id, user_id, local_e164, participants_key, is_group, last_message_id, "
    "last_preview, last_direction, last_message_at, unread, created_at";

Conversation conversation_from_row(const Row& r) {
  Conversation c;
  c.id = r.text("id");
  c.tenant_id = r.text("tenant_id");
  c.user_id = r.text("user_id");
  c.local_number = r.text("local_e164");
  c.participants = csv::split_list(r.text("participants_key"));
  c.group = r.boolean("is_group");
  c.last_message_id = r.text("last_message_id");
  c.last_preview = r.text("last_preview");
  c.last_direction = r.text("last_direction");
  c.last_message_at = r.integer("last_message_at");
  c.unread = r.integer("unread");
  c.created_at = r.integer("created_at");
  return c;
}

const char* const kDeliveryColumns =
    "id, message_id, recipient, route, status, error_code, error_detail, attempts, cost_micros, "
    "carrier_message_id, updated_at";

Delivery delivery_from_row(const Row& r) {
  Delivery d;
  d.id = r.text("id");
  d.message_id = r.text("message_id");
  d.recipient = r.text("recipient");
  d.route = r.text("route");
  d.status = r.text("status");
  d.error_code = r.text("error_code");
  d.error_detail = r.text("error_detail");
  d.attempts = static_cast<int>(r.integer("attempts"));
  d.cost_micros = r.integer("cost_micros");
  d.carrier_message_id = r.text("carrier_message_id");
  d.updated_at = r.integer("updated_at");
  return d;
}

// A preview for lists and events: the first 120 bytes, cut on a character.
std::string preview_of(const std::string& text, const std::vector<std::string>& media) {
  if (text.empty() && !media.empty()) return "[media]";
  std::size_t n = std::min<std::size_t>(text.size(), 120);
  while (n < text.size() && n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return text.substr(0, n);
}

std::string like_pattern(const std::string& s) {
  std::string out = "%";
  for (char ch : s) {
    if (ch == '%' || ch == '_' || ch == '!') out += '!';
    out += ch;
  }
  return out + "%";
}

int rank(const std::string& s) {
  if (s == "queued") return 0;
  if (s == "sending") return 1;
  if (s == "sent") return 2;
  if (s == "failed" || s == "undelivered") return 3;
  if (s == "delivered") return 4;
  return -1;
}

bool terminal(const std::string& s) {
  return s == "delivered" || s == "failed" || s == "undelivered";
}

// Records a carrier event as processed; conflict "duplicate" when it was.
Status mark_event(Connection& tx, const std::string& carrier, const std::string& event_id,
                  std::int64_t now) {
  RH_ASSIGN(auto seen, tx.query_opt("SELECT 1 AS x FROM carrier_events WHERE carrier = ? AND "
                                    "event_id = ?",
                                    {carrier, event_id}));
  if (seen) return make_reason(Errc::conflict, "duplicate", "event already processed");
  RH_TRY(tx.exec("INSERT INTO carrier_events (carrier, event_id, received_at) VALUES (?, ?, ?)",
                 {carrier, event_id, now}));
  return {};
}

Status message_event(Connection& tx, const std::string& type, const Message& m, std::int64_t now) {
  boost::json::object o{{"message_id", m.id},   {"conversation_id", m.conversation_id},
                        {"user_id", m.user_id}, {"direction", m.direction},
                        {"from", m.from},       {"status", m.status}};
  boost::json::array to;
  for (const auto& t : m.to) to.emplace_back(t);
  o["to"] = std::move(to);
  if (type == "message.received") o["text"] = preview_of(m.text, m.media);
  if (!m.error_code.empty()) o["error_code"] = m.error_code;
  RH_TRY(
      jobs::append_event(tx, {type, m.tenant_id, m.id, boost::json::serialize(o), m.user_id}, now));
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------

std::string derive_status(const std::vector<std::string>& s) {
  if (s.empty()) return "queued";
  bool all_terminal = true, any_failed = false, all_delivered = true;
  int lowest = 99;
  for (const auto& x : s) {
    if (!terminal(x)) {
      all_terminal = false;
      lowest = std::min(lowest, rank(x));
    }
    if (x == "failed") any_failed = true;
    if (x != "delivered") all_delivered = false;
  }
  if (all_delivered) return "delivered";
  if (all_terminal) {
    // Some delivered, some not: the message did not reach everyone.
    return any_failed ? "failed" : "undelivered";
  }
  if (lowest <= 0) return "queued";
  if (lowest == 1) return "sending";
  return "sent";
}

bool status_advances(const std::string& from, const std::string& to) {
  int a = rank(from), b = rank(to);
  if (a < 0 || b < 0 || from == to) return false;
  if (from == "delivered") return false;
  if (terminal(from)) return to == "delivered";
  return b > a;
}

std::string compliance_keyword(std::string_view text) {
  std::string w;
  for (char ch : text) {
    if (std::isspace(static_cast<unsigned char>(ch)) || ch == '.' || ch == '!') continue;
    if (w.size() > 12) return "";
    w += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  static const std::set<std::string> stop{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL",
                                          "END",  "QUIT",    "OPTOUT",      "REVOKE"};
  static const std::set<std::string> start{"START", "UNSTOP", "YES", "SUBSCRIBE"};
  static const std::set<std::string> help{"HELP", "INFO"};
  if (stop.count(w)) return "STOP";
  if (start.count(w)) return "START";
  if (help.count(w)) return "HELP";
  return "";
}

// ---------------------------------------------------------------------------

std::vector<storage::Migration> message_migrations() {
  return {{2026112703, "messaging", R"SQL(
CREATE TABLE conversations (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  user_id VARCHAR(40) NOT NULL,
  local_e164 VARCHAR(20) NOT NULL,
  participants_key VARCHAR(400) NOT NULL,
  is_group INTEGER NOT NULL,
  hidden INTEGER NOT NULL,
  last_message_id VARCHAR(40) NOT NULL,
  last_preview VARCHAR(500) NOT NULL,
  last_direction VARCHAR(10) NOT NULL,
  last_message_at BIGINT NOT NULL,
  unread BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
){{table}};
CREATE UNIQUE INDEX conversations_key ON conversations (user_id, local_e164, participants_key);
CREATE INDEX conversations_recent ON conversations (user_id, hidden, last_message_id);
CREATE TABLE messages (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  user_id VARCHAR(40) NOT NULL,
  conversation_id VARCHAR(40) NOT NULL,
  direction VARCHAR(10) NOT NULL,
  sender VARCHAR(20) NOT NULL,
  recipients VARCHAR(400) NOT NULL,
  body TEXT NOT NULL,
  media VARCHAR(1000) NOT NULL,
  kind VARCHAR(4) NOT NULL,
  encoding VARCHAR(8) NOT NULL,
  segments INTEGER NOT NULL,
  status VARCHAR(16) NOT NULL,
  error_code VARCHAR(64) NOT NULL,
  error_detail VARCHAR(500) NOT NULL,
  cost_micros BIGINT NOT NULL,
  idempotency_key VARCHAR(200),
  request_hash VARCHAR(64),
  read_at BIGINT,
  deleted_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
){{table}};
CREATE UNIQUE INDEX messages_idempotency ON messages (user_id, idempotency_key);
CREATE INDEX messages_thread ON messages (conversation_id, id);
CREATE TABLE message_deliveries (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  message_id VARCHAR(40) NOT NULL,
  tenant_id VARCHAR(40) NOT NULL,
  user_id VARCHAR(40) NOT NULL,
  recipient VARCHAR(20) NOT NULL,
  route VARCHAR(64) NOT NULL,
  status VARCHAR(16) NOT NULL,
  error_code VARCHAR(64) NOT NULL,
  error_detail VARCHAR(500) NOT NULL,
  attempts INTEGER NOT NULL,
  cost_micros BIGINT NOT NULL,
  hold_id VARCHAR(40) NOT NULL,
  carrier_message_id VARCHAR(100) NOT NULL,
  parts_total INTEGER NOT NULL,
  due_at BIGINT,
  lease_owner VARCHAR(100),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
){{table}};
CREATE INDEX message_deliveries_due ON message_deliveries (route, status, due_at);
CREATE INDEX message_deliveries_status ON message_deliveries (status, due_at);
CREATE INDEX message_deliveries_message ON message_deliveries (message_id);
CREATE TABLE message_carrier_ids (
  route VARCHAR(64) NOT NULL,
  carrier_message_id VARCHAR(100) NOT NULL,
  delivery_id VARCHAR(40) NOT NULL,
  part INTEGER NOT NULL,
  status VARCHAR(16) NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (route, carrier_message_id)
){{table}};
CREATE INDEX message_carrier_ids_delivery ON message_carrier_ids (delivery_id);
CREATE TABLE message_status_pending (
  route VARCHAR(64) NOT NULL,
  carrier_message_id VARCHAR(100) NOT NULL,
  status VARCHAR(16) NOT NULL,
  error_code VARCHAR(64) NOT NULL,
  error_detail VARCHAR(500) NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (route, carrier_message_id)
){{table}};
CREATE TABLE carrier_events (
  carrier VARCHAR(32) NOT NULL,
  event_id VARCHAR(191) NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (carrier, event_id)
){{table}};
CREATE TABLE messaging_opt_outs (
  local_e164 VARCHAR(20) NOT NULL,
  remote_e164 VARCHAR(20) NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (local_e164, remote_e164)
){{table}};
CREATE TABLE messaging_daily (
  user_id VARCHAR(40) NOT NULL,
  day BIGINT NOT NULL,
  sent BIGINT NOT NULL,
  PRIMARY KEY (user_id, day)
){{table}};
CREATE TABLE messaging_settings (
  tenant_id VARCHAR(40) NOT NULL PRIMARY KEY,
  allowed_countries VARCHAR(1000) NOT NULL,
  updated_at BIGINT NOT NULL
){{table}}
)SQL"}};
}

void declare_messaging_config(config::Schema& s) {
  s.integer("messaging.max_segments", 10, "Longest text a user may send, in SMS segments.", 1, 255);
  s.integer("messaging.max_recipients", 10, "Recipients of one (group) message.", 1, 50);
  s.integer("messaging.user_rate_per_minute", 60,
            "Messages one user may send per minute (0: no limit). The daily cap is the tenant's "
            "max_messages_per_day.",
            0, 1'000'000);
  s.list("messaging.allowed_countries", {},
         "Destination countries (ISO 3166-1 alpha-2) a tenant's users may text when the tenant "
         "has no list of its own; empty: the tenant's default country only.");
  s.integer("messaging.max_attempts", 12,
            "Attempts to hand a message to its route before it fails.", 1, 1000);
  s.integer("messaging.max_age_s", 86'400,
            "A message its route has not accepted after this fails (seconds).", 60, 30 * 86'400);
  s.integer("messaging.retry_base_ms", 5'000,
            "First retry delay when a route gives no hint; doubles each attempt, up to 1 h.", 10,
            3'600'000);
  s.integer("messaging.lease_ms", 180'000,
            "How long a node owns a message it is handing to a route; must exceed the route's "
            "response time-out.",
            1'000, 3'600'000);
  s.integer("messaging.batch", 256, "Messages claimed or committed together by the dispatcher.", 1,
            10'000);
  s.list("messaging.smpp_binds", {},
         "SMPP binds, one URL each: smpp://system_id:password@host:port?route=NAME (required; "
         "numbers whose messaging_route is NAME use it)&id=&mode=transceiver|pair&window=10"
         "&rate=0&system_type=&response_timeout_ms=60000&enquire_link_ms=30000&reconnect_ms=1000. "
         "Several binds may share a route.");
  s.integer("messaging.smpp_throttle_retry_ms", 30'000,
            "After ESME_RTHROTTLED, a message is retried this much later (and the bind's rate "
            "is halved, then restored step by step).",
            1, 3'600'000);
  s.integer("messaging.max_retry_ms", 300'000,
            "Cap on the pause before retrying a message a route refused for now (the SMPP "
            "contract table asks 180 s after ESME_RMSGQFUL; carriers' Retry-After).",
            1, 3'600'000);
  s.integer("messaging.smpp_link_retry_ms", 1'000,
            "A message whose bind went down or timed out is retried this much later.", 1,
            3'600'000);
  s.integer("messaging.send_threads", 0,
            "Threads that store sent messages; 0 means 32 on SQLite, where concurrent sends "
            "share one commit (group commit) and each mostly waits, and four per core on "
            "MariaDB, where each send is a transaction of its own and more of them at once "
            "only wait on each other's row locks (measured in bench/RESULTS.md).",
            0, 1024);
  s.integer("messaging.http_in_flight", 32,
            "Messages in flight at once to each HTTP carrier (Telnyx, Bandwidth, Plivo).", 1, 1000);
  s.string("messaging.stop_reply",
           "You have been unsubscribed and will receive no more messages from this number. Reply "
           "START to resubscribe.",
           "Automatic answer to STOP (and its synonyms).");
  s.string("messaging.start_reply", "You have been resubscribed. Reply STOP to unsubscribe.",
           "Automatic answer to START.");
  s.string("messaging.help_reply", "Reply STOP to unsubscribe.",
           "Automatic answer to HELP; the tenant's support email is appended when it has one.");
}

MessagingOptions messaging_options(const config::Config& c) {
  MessagingOptions o;
  o.max_segments = static_cast<int>(c.integer("messaging.max_segments"));
  o.max_recipients = static_cast<int>(c.integer("messaging.max_recipients"));
  o.user_rate_per_minute = static_cast<int>(c.integer("messaging.user_rate_per_minute"));
  o.allowed_countries = c.list("messaging.allowed_countries");
  o.max_attempts = static_cast<int>(c.integer("messaging.max_attempts"));
  o.max_age_ms = c.integer("messaging.max_age_s") * 1000;
  o.retry_base_ms = c.integer("messaging.retry_base_ms");
  o.lease_ms = c.integer("messaging.lease_ms");
  o.batch = static_cast<std::size_t>(c.integer("messaging.batch"));
  o.node_id = c.string("node.id");
  o.stop_reply = c.string("messaging.stop_reply");
  o.start_reply = c.string("messaging.start_reply");
  o.help_reply = c.string("messaging.help_reply");
  return o;
}

// ---------------------------------------------------------------------------

MessageService::MessageService(storage::Database& db, numbers::Inventory& inventory,
                               billing::Ledger& ledger, billing::RateStore& rates,
                               billing::PlanStore* plans, accounts::TenantStore& tenants,
                               const Clock& clock, MessagingOptions o)
    : db_(db),
      inventory_(inventory),
      ledger_(ledger),
      rates_(rates),
      plans_(plans),
      tenants_(tenants),
      clock_(clock),
      o_(std::move(o)) {}

bool MessageService::rate_allowed(const std::string& user_id) {
  if (o_.user_rate_per_minute <= 0) return true;
  const std::int64_t now = clock_.now_ms();
  const double cap = o_.user_rate_per_minute;
  std::lock_guard lk(rate_mu_);
  if (buckets_.size() > 100'000) buckets_.clear();  // bounded; a reset only forgives
  auto [it, fresh] = buckets_.try_emplace(user_id, now, cap);
  auto& [at, tokens] = it->second;
  if (!fresh) {
    tokens = std::min(
        cap, tokens + static_cast<double>(std::max<std::int64_t>(0, now - at)) * cap / 60'000.0);
    at = now;
  }
  if (tokens < 1.0) return false;
  tokens -= 1.0;
  return true;
}

Result<std::vector<std::string>> MessageService::allowed_countries(const std::string& tenant_id) {
  return db_.read<std::vector<std::string>>([&](Connection& c) -> Result<std::vector<std::string>> {
    RH_ASSIGN(auto row,
              c.query_opt("SELECT allowed_countries FROM messaging_settings WHERE tenant_id = ?",
                          {tenant_id}));
    if (row) return csv::split_list(row->text("allowed_countries"));
    return o_.allowed_countries;
  });
}

Status MessageService::set_allowed_countries(const std::string& tenant_id,
                                             const std::vector<std::string>& countries) {
  RH_TRY(phone::check_regions(countries, "allowed_countries"));
  const std::int64_t now = clock_.now_ms();
  return db_.transaction([&](Connection& c) -> Status {
    RH_TRY(c.exec("DELETE FROM messaging_settings WHERE tenant_id = ?", {tenant_id}));
    RH_TRY(
        c.exec("INSERT INTO messaging_settings (tenant_id, allowed_countries, updated_at) "
               "VALUES (?, ?, ?)",
               {tenant_id, csv::join_list(countries), now}));
    return {};
  });
}

namespace {

// Finds or creates the user's conversation with these participants, shows
// it again if it was deleted, and returns its id.
Result<std::string> upsert_conversation(Connection& tx, const std::string& tenant_id,
                                        const std::string& user_id, const std::string& local,
                                        std::vector<std::string> others, std::int64_t now) {
  std::sort(others.begin(), others.end());
  others.erase(std::unique(others.begin(), others.end()), others.end());
  std::string key = csv::join_list(others);
  RH_ASSIGN(auto row, tx.query_opt("SELECT id FROM conversations WHERE user_id = ? AND "
                                   "local_e164 = ? AND participants_key = ?",
                                   {user_id, local, key}));
  if (row) return row->text("id");
  std::string id = new_id("cnv", now);
  RH_TRY(
      tx.exec("INSERT INTO conversations (id, tenant_id, user_id, local_e164, "
              "participants_key, is_group, hidden, last_message_id, last_preview, "
              "last_direction, last_message_at, unread, created_at, updated_at) VALUES (?, ?, "
              "?, ?, ?, ?, 0, '', '', '', 0, 0, ?, ?)",
              {id, tenant_id, user_id, local, key,
               static_cast<std::int64_t>(others.size() > 1 ? 1 : 0), now, now}));
  return id;
}

Status insert_message(Connection& tx, const Message& m, const std::string& idem,
                      const std::string& hash) {
  RH_TRY(tx.exec(
      "INSERT INTO messages (id, tenant_id, user_id, conversation_id, direction, sender, "
      "recipients, body, media, kind, encoding, segments, status, error_code, error_detail, "
      "cost_micros, idempotency_key, request_hash, read_at, deleted_at, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?)",
      {m.id,
       m.tenant_id,
       m.user_id,
       m.conversation_id,
       m.direction,
       m.from,
       csv::join_list(m.to),
       m.text,
       csv::join_list(m.media),
       m.kind,
       m.encoding,
       static_cast<std::int64_t>(m.segments),
       m.status,
       m.error_code,
       m.error_detail,
       m.cost_micros,
       idem.empty() ? Value() : Value(idem),
       hash.empty() ? Value() : Value(hash),
       m.created_at,
       m.updated_at}));
  const bool inbound = m.direction == "inbound";
  RH_TRY(tx.exec(
      "UPDATE conversations SET hidden = 0, last_message_id = ?, last_preview = ?, "
      "last_direction = ?, last_message_at = ?, unread = unread + ?, updated_at = ? WHERE id = ?",
      {m.id, preview_of(m.text, m.media), m.direction, m.created_at,
       static_cast<std::int64_t>(inbound ? 1 : 0), m.created_at, m.conversation_id}));
  return {};
}

struct Encoded {
  std::string encoding = "GSM-7";
  int segments = 1;
};

Encoded encode_info(const std::string& text, int max_segments) {
  Encoded e;
  SegmentOptions so;
  so.max_segments = std::clamp(max_segments, 1, 255);
  auto s = count_segments(text, so);
  if (s) {
    e.encoding = encoding_name(s->encoding);
    e.segments = static_cast<int>(s->segments);
  }
  return e;
}

}  // namespace

Result<Message> MessageService::store_inbound(Connection& tx, const numbers::Number& n,
                                              const std::string& from,
                                              const std::vector<std::string>& others,
                                              const std::string& text,
                                              const std::vector<std::string>& media, bool& queued) {
  const std::int64_t now = clock_.now_ms();
  std::vector<std::string> participants = others;
  participants.push_back(from);
  RH_ASSIGN(std::string conv,
            upsert_conversation(tx, n.tenant_id, n.user_id, n.e164, participants, now));
  Message m;
  m.id = new_id("msg", now);
  m.tenant_id = n.tenant_id;
  m.user_id = n.user_id;
  m.conversation_id = conv;
  m.direction = "inbound";
  m.from = from;
  m.to = {n.e164};
  for (const auto& o : others)
    if (o != from) m.to.push_back(o);
  m.text = text;
  m.media = media;
  m.kind = media.empty() && others.empty() ? "sms" : "mms";
  auto enc = encode_info(text, 255);
  m.encoding = enc.encoding;
  m.segments = enc.segments;
  m.status = "received";
  m.created_at = m.updated_at = now;
  RH_TRY(insert_message(tx, m, "", ""));
  if (!media.empty() && media_) RH_TRY(media_->grant(tx, media, {n.tenant_id, n.user_id}));
  RH_TRY(message_event(tx, "message.received", m, now));

  // Carrier compliance keywords, answered from this number.
  if (others.empty()) {
    std::string kw = compliance_keyword(text);
    if (kw == "STOP") {
      RH_TRY(tx.exec("DELETE FROM messaging_opt_outs WHERE local_e164 = ? AND remote_e164 = ?",
                     {n.e164, from}));
      RH_TRY(
          tx.exec("INSERT INTO messaging_opt_outs (local_e164, remote_e164, created_at) VALUES "
                  "(?, ?, ?)",
                  {n.e164, from, now}));
      RH_TRY(queue_reply(tx, n, from, o_.stop_reply, queued));
    } else if (kw == "START") {
      RH_TRY(tx.exec("DELETE FROM messaging_opt_outs WHERE local_e164 = ? AND remote_e164 = ?",
                     {n.e164, from}));
      RH_TRY(queue_reply(tx, n, from, o_.start_reply, queued));
    } else if (kw == "HELP") {
      std::string reply = o_.help_reply;
      auto t = tenants_.get(n.tenant_id);
      if (t) {
        const std::string& brand = t->brand_name();
        reply = brand + ": " + reply;
        if (!t->branding.support_email.empty()) reply += " Help: " + t->branding.support_email;
      }
      RH_TRY(queue_reply(tx, n, from, reply, queued));
    }
  }
  return m;
}

// An automatic answer from a number (STOP/START/HELP): not charged; on-net
// recipients get it at once.
Status MessageService::queue_reply(Connection& tx, const numbers::Number& n, const std::string& to,
                                   const std::string& text, bool& queued) {
  const std::int64_t now = clock_.now_ms();
  RH_ASSIGN(std::string conv, upsert_conversation(tx, n.tenant_id, n.user_id, n.e164, {to}, now));
  Message m;
  m.id = new_id("msg", now);
  m.tenant_id = n.tenant_id;
  m.user_id = n.user_id;
  m.conversation_id = conv;
  m.direction = "outbound";
  m.from = n.e164;
  m.to = {to};
  m.text = text;
  m.kind = "sms";
  auto enc = encode_info(text, 255);
  m.encoding = enc.encoding;
  m.segments = enc.segments;
  m.created_at = m.updated_at = now;
  RH_ASSIGN(auto other, inventory_.find_e164(tx, to));
  const bool on_net = other && other->state == "active" && !other->user_id.empty();
  m.status = on_net ? "delivered" : "queued";
  RH_TRY(insert_message(tx, m, "", ""));
  RH_TRY(tx.exec(
      "INSERT INTO message_deliveries (id, message_id, tenant_id, user_id, recipient, route, "
      "status, error_code, error_detail, attempts, cost_micros, hold_id, carrier_message_id, "
      "parts_total, due_at, lease_owner, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, '', "
      "'', 0, 0, '', '', 0, ?, NULL, ?, ?)",
      {new_id("dlv", now), m.id, n.tenant_id, n.user_id, to,
       on_net ? std::string("on-net") : n.messaging_route, m.status, on_net ? Value() : Value(now),
       now, now}));
  if (on_net) {
    // Never answer an answer: the reply is stored without keyword handling.
    RH_ASSIGN(std::string conv2, upsert_conversation(tx, other->tenant_id, other->user_id,
                                                     other->e164, {n.e164}, now));
    Message in = m;
    in.id = new_id("msg", now);
    in.tenant_id = other->tenant_id;
    in.user_id = other->user_id;
    in.conversation_id = conv2;
    in.direction = "inbound";
    in.status = "received";
    RH_TRY(insert_message(tx, in, "", ""));
    RH_TRY(message_event(tx, "message.received", in, now));
  } else {
    queued = true;
  }
  return {};
}

Result<SendOutcome> MessageService::send(const UserScope& u, const SendRequest& r) {
  if (r.idempotency_key.empty())
    return make_reason(Errc::invalid_argument, "idempotency_key_required",
                       "sending a message needs an Idempotency-Key header");
  if (r.idempotency_key.size() > 200)
    return make_reason(Errc::invalid_argument, "invalid_idempotency_key",
                       "the Idempotency-Key is at most 200 characters");
  RH_ASSIGN(auto tenant, tenants_.get(u.tenant_id));

  // Normalise the numbers.
  auto from = phone::to_e164(r.from, tenant.default_country);
  if (!from) return Error(Errc::invalid_argument, "from", "'from' is not a valid phone number");
  if (r.to.empty()) return Error(Errc::invalid_argument, "to", "at least one recipient is needed");
  std::vector<std::string> to;
  for (std::size_t i = 0; i < r.to.size(); ++i) {
    auto e = phone::to_e164(r.to[i], tenant.default_country);
    if (!e)
      return Error(Errc::invalid_argument, fmt::format("to[{}]", i),
                   "'" + r.to[i].substr(0, 32) + "' is not a valid phone number");
    if (*e == *from)
      return Error(Errc::invalid_argument, fmt::format("to[{}]", i),
                   "a number cannot send to itself");
    if (std::find(to.begin(), to.end(), *e) == to.end()) to.push_back(*e);
  }
  if (static_cast<int>(to.size()) > o_.max_recipients)
    return Error(Errc::invalid_argument, "to",
                 fmt::format("at most {} recipients", o_.max_recipients));

  // The text, counted as carriers count it.
  if (r.text.empty() && r.media.empty())
    return Error(Errc::invalid_argument, "text", "a message needs text or media");
  SegmentOptions so;
  so.max_segments = o_.max_segments;
  auto summary = count_segments(r.text, so);
  if (!summary) return Error(Errc::invalid_argument, "text", summary.error().message);
  if (summary->exceeds_max_segments) {
    Error e(Errc::invalid_argument, "text",
            fmt::format("the text needs {} segments; at most {} are allowed", summary->segments,
                        o_.max_segments));
    e.reason = "too_many_segments";
    return e;
  }
  const bool mms = !r.media.empty() || to.size() > 1;
  if (!r.media.empty()) {
    if (!media_) return make_error(Errc::invalid_argument, "media is not available");
    if (r.media.size() > 10) return Error(Errc::invalid_argument, "media", "at most 10 media");
    RH_TRY(media_->check_owned(u, r.media));
  }

  // The same key again: the same message, if it is the same request.
  std::string hash_input =
      *from + "|" + csv::join_list(to) + "|" + r.text + "|" + csv::join_list(r.media);
  const std::string hash = crypto::hex_encode(crypto::sha256(hash_input));
  auto replay = [&]() -> Result<std::optional<SendOutcome>> {
    RH_ASSIGN(auto row, db_.read<std::optional<Row>>([&](Connection& c) {
      return c.query_opt(
          "SELECT id, request_hash FROM messages WHERE user_id = ? AND "
          "idempotency_key = ?",
          {u.user_id, r.idempotency_key});
    }));
    if (!row) return std::optional<SendOutcome>();
    if (row->text("request_hash") != hash)
      return make_reason(Errc::invalid_argument, "idempotency_key_reused",
                         "this Idempotency-Key was used for a different message");
    RH_ASSIGN(auto m, get_message(u, row->text("id")));
    return std::optional<SendOutcome>(SendOutcome{std::move(m), true});
  };
  {
    RH_ASSIGN(auto prior, replay());
    if (prior) return std::move(*prior);
  }
  if (!rate_allowed(u.user_id)) {
    Error e = make_reason(Errc::too_many, "rate_limited",
                          fmt::format("at most {} messages a minute", o_.user_rate_per_minute));
    e.retry_after_s = std::max(1, 60 / std::max(1, o_.user_rate_per_minute));
    return e;
  }

  // Destinations this tenant may reach.
  RH_ASSIGN(auto allowed, allowed_countries(u.tenant_id));
  if (allowed.empty()) allowed.push_back(tenant.default_country);
  for (std::size_t i = 0; i < to.size(); ++i) {
    std::string region = phone::region_of(to[i]);
    if (std::find(allowed.begin(), allowed.end(), region) == allowed.end())
      return Error(Errc::invalid_argument, fmt::format("to[{}]", i),
                   fmt::format("messages to {} ({}) are not allowed", to[i], region));
  }
  // Prices (an empty deck: the operator has not priced messages, so free).
  RH_ASSIGN(auto deck, rates_.active(u.tenant_id));
  const int segments = static_cast<int>(summary->segments);

  const std::int64_t now = clock_.now_ms();
  Message m;
  m.id = new_id("msg", now);
  m.tenant_id = u.tenant_id;
  m.user_id = u.user_id;
  m.direction = "outbound";
  m.from = *from;
  m.to = to;
  m.text = r.text;
  m.media = r.media;
  m.kind = mms ? "mms" : "sms";
  m.encoding = encoding_name(summary->encoding);
  m.segments = segments;
  m.created_at = m.updated_at = now;
  bool queued = false;

  // On SQLite concurrent sends share one commit (group commit): each is
  // durable when it returns, one fsync serves them all.
  Status st = db_.transaction([&](Connection& tx) -> Status {
    queued = false;
    RH_ASSIGN(auto number, inventory_.find_e164(tx, *from));
    if (!number || number->tenant_id != u.tenant_id || number->user_id != u.user_id ||
        (number->state != "active"))
      return make_reason(Errc::invalid_argument, "number_not_owned",
                         "'from' must be one of your active numbers");
    if (!number->features.empty() && std::find(number->features.begin(), number->features.end(),
                                               "sms") == number->features.end())
      return make_reason(Errc::invalid_argument, "number_cannot_message",
                         "this number cannot send messages");
    if (mms && !number->features.empty() &&
        std::find(number->features.begin(), number->features.end(), "mms") ==
            number->features.end())
      return make_reason(Errc::invalid_argument, "number_cannot_mms",
                         "this number cannot send MMS (media or group messages)");
    // The daily cap: one counter row per user and UTC day, taken under its
    // row lock (no count over the day's messages).
    const std::int64_t day = now / 86'400'000;
    // UPDATE first: the row usually exists, and taking it exclusively at
    // once avoids the shared lock an INSERT IGNORE of an existing row takes
    // (two of those then deadlock on MariaDB).
    auto count_one = [&]() {
      return tx.exec(
          "UPDATE messaging_daily SET sent = sent + 1 WHERE user_id = ? AND day = ? "
          "AND sent < ?",
          {u.user_id, day, tenant.limits.max_messages_per_day});
    };
    RH_ASSIGN(auto counted, count_one());
    if (counted.affected == 0) {
      RH_ASSIGN(auto created,
                tx.exec(tx.dialect() == storage::Dialect::sqlite
                            ? "INSERT OR IGNORE INTO messaging_daily (user_id, day, sent) VALUES "
                              "(?, ?, 0)"
                            : "INSERT IGNORE INTO messaging_daily (user_id, day, sent) VALUES (?, "
                              "?, 0)",
                        {u.user_id, day}));
      (void)created;  // created now, or by a concurrent first send of the day
      RH_ASSIGN(counted, count_one());
    }
    if (counted.affected == 0) {
      Error e =
          make_reason(Errc::too_many, "daily_limit",
                      fmt::format("at most {} messages a day", tenant.limits.max_messages_per_day));
      e.retry_after_s = 3600;
      return e;
    }
    for (const auto& t : to) {
      RH_ASSIGN(auto out, tx.query_opt("SELECT 1 AS x FROM messaging_opt_outs WHERE local_e164 = "
                                       "? AND remote_e164 = ?",
                                       {*from, t}));
      if (out)
        return make_reason(Errc::invalid_argument, "recipient_opted_out",
                           t + " replied STOP to this number and cannot be messaged until they "
                               "reply START");
    }
    RH_ASSIGN(m.conversation_id, upsert_conversation(tx, u.tenant_id, u.user_id, *from, to, now));
    std::vector<std::string> statuses;
    struct Pending {
      std::string id, recipient, status, route, hold;
      std::int64_t cost = 0;
    };
    std::vector<Pending> pend;
    m.cost_micros = 0;
    for (const auto& t : to) {
      Pending p;
      p.id = new_id("dlv", now);
      p.recipient = t;
      RH_ASSIGN(auto other, inventory_.find_e164(tx, t));
      if (other && other->state == "active" && !other->user_id.empty()) {
        // On-net: the recipient has it now.
        std::vector<std::string> others;
        for (const auto& x : to)
          if (x != t) others.push_back(x);
        RH_TRY(store_inbound(tx, *other, *from, others, r.text, r.media, queued));
        p.status = "delivered";
        p.route = "on-net";
      } else {
        std::int64_t cost = 0;
        if (deck->size() > 0) {
          const billing::Rate* rate = deck->match(t);
          if (!rate)
            return make_reason(Errc::invalid_argument, "no_rate",
                               "messages to " + t + " are not priced, so they cannot be sent");
          int billable = segments;
          if (!mms && plans_) {
            RH_ASSIGN(auto covered, plans_->consume(tx, u, "sms", segments));
            billable = segments - static_cast<int>(covered);
          }
          cost = billable > 0 ? billing::message_cost(*rate, mms, billable) : 0;
        }
        if (cost > 0) {
          RH_ASSIGN(auto hold,
                    ledger_.place_hold(tx, u.tenant_id, u.user_id, cost, mms ? "mms" : "sms", p.id,
                                       now + o_.hold_expiry_ms));
          p.hold = hold.id;
        }
        p.cost = cost;
        p.status = "queued";
        p.route = number->messaging_route;
        queued = true;
      }
      m.cost_micros += p.cost;
      statuses.push_back(p.status);
      pend.push_back(std::move(p));
    }
    m.status = derive_status(statuses);
    RH_TRY(insert_message(tx, m, r.idempotency_key, hash));
    m.deliveries.clear();
    for (const auto& p : pend) {
      Delivery d;
      d.id = p.id;
      d.message_id = m.id;
      d.recipient = p.recipient;
      d.route = p.route;
      d.status = p.status;
      d.cost_micros = p.cost;
      d.updated_at = now;
      m.deliveries.push_back(std::move(d));
    }
    for (const auto& p : pend)
      RH_TRY(tx.exec(
          "INSERT INTO message_deliveries (id, message_id, tenant_id, user_id, recipient, route, "
          "status, error_code, error_detail, attempts, cost_micros, hold_id, carrier_message_id, "
          "parts_total, due_at, lease_owner, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
          "'', '', 0, ?, ?, '', 0, ?, NULL, ?, ?)",
          {p.id, m.id, u.tenant_id, u.user_id, p.recipient, p.route, p.status, p.cost, p.hold,
           p.status == "queued" ? Value(now) : Value(), now, now}));
    if (m.status == "delivered") RH_TRY(message_event(tx, "message.status", m, now));
    return {};
  });
  if (!st) {
    if (st.error().code == Errc::conflict) {
      // A concurrent request with the same key won the race.
      RH_ASSIGN(auto prior, replay());
      if (prior) return std::move(*prior);
    }
    return st.take_error();
  }
  if (queued && on_queued_) on_queued_();
  return SendOutcome{std::move(m), false};
}

Result<Message> MessageService::get_message(const UserScope& u, const std::string& id) {
  return db_.read<Message>([&](Connection& c) -> Result<Message> {
    RH_ASSIGN(auto row, c.query_opt(fmt::format("SELECT {} FROM messages WHERE id = ? AND "
                                                "tenant_id = ? AND user_id = ? AND deleted_at IS "
                                                "NULL",
                                                kMessageColumns),
                                    {id, u.tenant_id, u.user_id}));
    if (!row) return make_error(Errc::not_found, "no such message");
    Message m = message_from_row(*row);
    if (m.direction == "outbound") {
      RH_ASSIGN(auto rows, c.query(fmt::format("SELECT {} FROM message_deliveries WHERE "
                                               "message_id = ? ORDER BY id",
                                               kDeliveryColumns),
                                   {m.id}));
      for (const auto& d : rows) m.deliveries.push_back(delivery_from_row(d));
    }
    return m;
  });
}

Result<std::vector<Message>> MessageService::messages(const UserScope& u, const MessageQuery& q) {
  return db_.read<std::vector<Message>>([&](Connection& c) -> Result<std::vector<Message>> {
    std::string sql = fmt::format(
        "SELECT {} FROM messages WHERE tenant_id = ? AND user_id = ? AND deleted_at IS NULL",
        kMessageColumns);
    std::vector<Value> args{u.tenant_id, u.user_id};
    if (!q.conversation_id.empty()) {
      RH_ASSIGN(auto conv, c.query_opt("SELECT id FROM conversations WHERE id = ? AND user_id = ? "
                                       "AND tenant_id = ?",
                                       {q.conversation_id, u.user_id, u.tenant_id}));
      if (!conv) return make_error(Errc::not_found, "no such conversation");
      sql += " AND conversation_id = ?";
      args.emplace_back(q.conversation_id);
    }
    if (!q.q.empty()) {
      sql += " AND body LIKE ? ESCAPE '!'";
      args.emplace_back(like_pattern(q.q));
    }
    if (!q.participant.empty()) {
      sql += " AND (sender LIKE ? ESCAPE '!' OR recipients LIKE ? ESCAPE '!')";
      args.emplace_back(like_pattern(q.participant));
      args.emplace_back(like_pattern(q.participant));
    }
    if (!q.after.empty()) {
      sql += " AND id < ?";
      args.emplace_back(q.after);
    }
    sql += fmt::format(" ORDER BY id DESC LIMIT {}", std::clamp(q.limit, 1, 500));
    RH_ASSIGN(auto rows, c.query(sql, std::span<const Value>(args)));
    std::vector<Message> out;
    for (const auto& r : rows) out.push_back(message_from_row(r));
    return out;
  });
}

Result<std::vector<Conversation>> MessageService::conversations(const UserScope& u,
                                                                const ConversationQuery& q) {
  return db_.read<std::vector<Conversation>>(
      [&](Connection& c) -> Result<std::vector<Conversation>> {
        std::string sql = fmt::format(
            "SELECT {} FROM conversations WHERE tenant_id = ? AND user_id = ? AND hidden = 0",
            kConversationColumns);
        std::vector<Value> args{u.tenant_id, u.user_id};
        if (!q.q.empty()) {
          sql +=
              " AND (last_preview LIKE ? ESCAPE '!' OR participants_key LIKE ? ESCAPE '!' "
              "OR id IN (SELECT conversation_id FROM messages WHERE user_id = ? AND "
              "deleted_at IS NULL AND body LIKE ? ESCAPE '!'))";
          args.emplace_back(like_pattern(q.q));
          args.emplace_back(like_pattern(q.q));
          args.emplace_back(u.user_id);
          args.emplace_back(like_pattern(q.q));
        }
        if (!q.participant.empty()) {
          sql += " AND participants_key LIKE ? ESCAPE '!'";
          args.emplace_back(like_pattern(q.participant));
        }
        if (!q.after.empty()) {
          RH_ASSIGN(auto cur, c.query_opt("SELECT last_message_id FROM conversations WHERE id = ? "
                                          "AND user_id = ?",
                                          {q.after, u.user_id}));
          if (!cur) return std::vector<Conversation>();
          sql += " AND (last_message_id < ? OR (last_message_id = ? AND id < ?))";
          args.emplace_back(cur->text("last_message_id"));
          args.emplace_back(cur->text("last_message_id"));
          args.emplace_back(q.after);
        }
        sql += fmt::format(" ORDER BY last_message_id DESC, id DESC LIMIT {}",
                           std::clamp(q.limit, 1, 500));
        RH_ASSIGN(auto rows, c.query(sql, std::span<const Value>(args)));
        std::vector<Conversation> out;
        for (const auto& r : rows) out.push_back(conversation_from_row(r));
        return out;
      });
}

Result<Conversation> MessageService::conversation(const UserScope& u, const std::string& id) {
  return db_.read<Conversation>([&](Connection& c) -> Result<Conversation> {
    RH_ASSIGN(auto row, c.query_opt(fmt::format("SELECT {} FROM conversations WHERE id = ? AND "
                                                "tenant_id = ? AND user_id = ? AND hidden = 0",
                                                kConversationColumns),
                                    {id, u.tenant_id, u.user_id}));
    if (!row) return make_error(Errc::not_found, "no such conversation");
    return conversation_from_row(*row);
  });
}

Result<Conversation> MessageService::mark_read(const UserScope& u,
                                               const std::string& conversation_id,
                                               const std::string& up_to) {
  const std::int64_t now = clock_.now_ms();
  RH_TRY(db_.transaction([&](Connection& tx) -> Status {
    RH_ASSIGN(auto conv, tx.query_opt("SELECT id FROM conversations WHERE id = ? AND tenant_id = "
                                      "? AND user_id = ? AND hidden = 0",
                                      {conversation_id, u.tenant_id, u.user_id}));
    if (!conv) return make_error(Errc::not_found, "no such conversation");
    std::string sql =
        "UPDATE messages SET read_at = ? WHERE conversation_id = ? AND user_id = ? AND "
        "direction = 'inbound' AND read_at IS NULL";
    std::vector<Value> args{now, conversation_id, u.user_id};
    if (!up_to.empty()) {
      sql += " AND id <= ?";
      args.emplace_back(up_to);
    }
    RH_TRY(tx.exec(sql, std::span<const Value>(args)));
    RH_ASSIGN(auto n, tx.query_one("SELECT COUNT(*) AS n FROM messages WHERE conversation_id = ? "
                                   "AND direction = 'inbound' AND read_at IS NULL AND deleted_at "
                                   "IS NULL",
                                   {conversation_id}));
    RH_TRY(tx.exec("UPDATE conversations SET unread = ?, updated_at = ? WHERE id = ?",
                   {n.integer("n"), now, conversation_id}));
    return {};
  }));
  return conversation(u, conversation_id);
}

Status MessageService::delete_message(const UserScope& u, const std::string& id) {
  const std::int64_t now = clock_.now_ms();
  return db_.transaction([&](Connection& tx) -> Status {
    RH_ASSIGN(auto row, tx.query_opt("SELECT conversation_id, direction, read_at FROM messages "
                                     "WHERE id = ? AND tenant_id = ? AND user_id = ? AND "
                                     "deleted_at IS NULL",
                                     {id, u.tenant_id, u.user_id}));
    if (!row) return make_error(Errc::not_found, "no such message");
    RH_TRY(
        tx.exec("UPDATE messages SET deleted_at = ?, updated_at = ? WHERE id = ?", {now, now, id}));
    if (row->text("direction") == "inbound" && row->is_null("read_at"))
      RH_TRY(tx.exec("UPDATE conversations SET unread = unread - 1 WHERE id = ? AND unread > 0",
                     {row->text("conversation_id")}));
    return {};
  });
}

Status MessageService::delete_conversation(const UserScope& u, const std::string& id) {
  const std::int64_t now = clock_.now_ms();
  return db_.transaction([&](Connection& tx) -> Status {
    RH_ASSIGN(auto res, tx.exec("UPDATE conversations SET hidden = 1, unread = 0, updated_at = ? "
                                "WHERE id = ? AND tenant_id = ? AND user_id = ? AND hidden = 0",
                                {now, id, u.tenant_id, u.user_id}));
    if (res.affected == 0) return make_error(Errc::not_found, "no such conversation");
    RH_TRY(
        tx.exec("UPDATE messages SET deleted_at = ? WHERE conversation_id = ? AND user_id = ? "
                "AND deleted_at IS NULL",
                {now, id, u.user_id}));
    return {};
  });
}

// ---------------------------------------------------------------------------
// Inbound and statuses

Result<Message> MessageService::receive(const InboundMessage& in) {
  if (in.to.empty()) return make_error(Errc::invalid_argument, "an inbound message needs a 'to'");
  bool queued = false;
  auto r = db_.in_transaction<Message>([&](Connection& tx) -> Result<Message> {
    queued = false;
    if (!in.dedup_key.empty()) RH_TRY(mark_event(tx, in.route, in.dedup_key, clock_.now_ms()));
    std::optional<Message> first;
    for (const auto& dest : in.to) {
      RH_ASSIGN(auto n, inventory_.find_e164(tx, dest));
      if (!n || n->state != "active" || n->user_id.empty()) continue;
      std::vector<std::string> others;
      for (const auto& x : in.to)
        if (x != dest) others.push_back(x);
      RH_ASSIGN(auto m, store_inbound(tx, *n, in.from, others, in.text, in.media, queued));
      if (!first) first = std::move(m);
    }
    if (!first)
      return make_reason(Errc::not_found, "unknown_number",
                         "no active platform number among the recipients");
    return std::move(*first);
  });
  if (queued && on_queued_) on_queued_();
  return r;
}

Result<bool> MessageService::seen(const std::string& carrier, const std::string& event_id) {
  return db_.read<bool>([&](Connection& c) -> Result<bool> {
    RH_ASSIGN(auto row, c.query_opt("SELECT 1 AS x FROM carrier_events WHERE carrier = ? AND "
                                    "event_id = ?",
                                    {carrier, event_id}));
    return row.has_value();
  });
}

Result<UserScope> MessageService::owner_of_number(const std::string& e164) {
  return db_.read<UserScope>([&](Connection& c) -> Result<UserScope> {
    RH_ASSIGN(auto n, inventory_.find_e164(c, e164));
    if (!n || n->state != "active" || n->user_id.empty())
      return make_error(Errc::not_found, "not an active platform number");
    return UserScope{n->tenant_id, n->user_id};
  });
}

Result<std::string> MessageService::tenant_of_carrier_id(const std::string& route,
                                                         const std::string& carrier_id) {
  return db_.read<std::string>([&](Connection& c) -> Result<std::string> {
    RH_ASSIGN(auto row, c.query_opt("SELECT d.tenant_id FROM message_carrier_ids i JOIN "
                                    "message_deliveries d ON d.id = i.delivery_id WHERE i.route = "
                                    "? AND i.carrier_message_id = ?",
                                    {route, carrier_id}));
    if (!row) return make_error(Errc::not_found, "unknown message");
    return row->text("tenant_id");
  });
}

Status MessageService::refresh_message_status(Connection& tx, const std::string& message_id) {
  RH_ASSIGN(auto rows, tx.query("SELECT status, error_code, error_detail FROM message_deliveries "
                                "WHERE message_id = ?",
                                {message_id}));
  std::vector<std::string> st;
  std::string code, detail;
  for (const auto& r : rows) {
    st.push_back(r.text("status"));
    if (code.empty() && !r.text("error_code").empty() && r.text("status") != "delivered") {
      code = r.text("error_code");
      detail = r.text("error_detail");
    }
  }
  std::string status = derive_status(st);
  if (status == "delivered") code.clear(), detail.clear();
  const std::int64_t now = clock_.now_ms();
  RH_ASSIGN(auto res, tx.exec("UPDATE messages SET status = ?, error_code = ?, error_detail = ?, "
                              "updated_at = ? WHERE id = ? AND status <> ?",
                              {status, code, detail.substr(0, 500), now, message_id, status}));
  if (res.affected > 0 && status != "queued" && status != "sending") {
    RH_ASSIGN(auto row,
              tx.query_one(fmt::format("SELECT {} FROM messages WHERE id = ?", kMessageColumns),
                           {message_id}));
    RH_TRY(message_event(tx, "message.status", message_from_row(row), now));
  }
  return {};
}

Status MessageService::set_delivery_status(Connection& tx, const std::string& delivery_id,
                                           const std::string& status, const std::string& error_code,
                                           const std::string& detail) {
  RH_ASSIGN(auto row, tx.query_opt("SELECT status, message_id FROM message_deliveries WHERE id = ?",
                                   {delivery_id}));
  if (!row || !status_advances(row->text("status"), status)) return {};
  RH_TRY(
      tx.exec("UPDATE message_deliveries SET status = ?, error_code = ?, error_detail = ?, "
              "updated_at = ? WHERE id = ?",
              {status, status == "delivered" ? std::string() : error_code,
               status == "delivered" ? std::string() : detail.substr(0, 500), clock_.now_ms(),
               delivery_id}));
  return refresh_message_status(tx, row->text("message_id"));
}

namespace {

// What a part's status means for the delivery: the delivery is delivered
// when every part is, failed (or undelivered) as soon as one part is.
Result<std::string> delivery_status_from_parts(Connection& tx, const std::string& delivery_id,
                                               const std::string& part_status) {
  if (part_status != "delivered") return part_status;
  RH_ASSIGN(auto row, tx.query_one("SELECT d.parts_total AS total, (SELECT COUNT(*) FROM "
                                   "message_carrier_ids i WHERE i.delivery_id = d.id AND i.status "
                                   "= 'delivered') AS done FROM message_deliveries d WHERE d.id = "
                                   "?",
                                   {delivery_id}));
  return row.integer("done") >= std::max<std::int64_t>(1, row.integer("total"))
             ? std::string("delivered")
             : std::string("sent");
}

}  // namespace

Status MessageService::apply_status(const std::string& route, const std::string& carrier_id,
                                    const std::string& status, const std::string& error_code,
                                    const std::string& detail, const std::string& event_key) {
  if (rank(status) < 0)
    return make_error(Errc::invalid_argument, "unknown status '" + status + "'");
  const std::int64_t now = clock_.now_ms();
  return db_.transaction([&](Connection& tx) -> Status {
    if (!event_key.empty()) RH_TRY(mark_event(tx, route, event_key, now));
    // MariaDB runs transactions side by side (READ COMMITTED): the look-ups
    // here and in record_outcome lock what they find, and a status kept for
    // later is looked for again below, so that a receipt and the submit's
    // outcome committing at the same moment cannot both miss each other.
    const bool concurrent = tx.dialect() == storage::Dialect::mariadb;
    const std::string find_sql = std::string(
                                     "SELECT delivery_id, status FROM message_carrier_ids "
                                     "WHERE route = ? AND carrier_message_id = ?") +
                                 (concurrent ? " FOR UPDATE" : "");
    RH_ASSIGN(auto row, tx.query_opt(find_sql, {route, carrier_id}));
    if (!row) {
      // Before the submit's outcome is committed: keep it for then.
      RH_TRY(
          tx.exec("DELETE FROM message_status_pending WHERE route = ? AND carrier_message_id = ?",
                  {route, carrier_id}));
      RH_TRY(
          tx.exec("INSERT INTO message_status_pending (route, carrier_message_id, status, "
                  "error_code, error_detail, received_at) VALUES (?, ?, ?, ?, ?, ?)",
                  {route, carrier_id, status, error_code, detail.substr(0, 500), now}));
      if (!concurrent) return {};  // SQLite: one writer, nothing committed meanwhile
      // The outcome may have committed since the look-up, without seeing the
      // status kept here (not committed then); one being committed now is
      // waited for (its row is locked).
      RH_ASSIGN(row, tx.query_opt(find_sql, {route, carrier_id}));
      if (!row) return {};
      RH_TRY(
          tx.exec("DELETE FROM message_status_pending WHERE route = ? AND carrier_message_id = ?",
                  {route, carrier_id}));
    }
    if (!status_advances(row->text("status"), status)) return {};
    RH_TRY(
        tx.exec("UPDATE message_carrier_ids SET status = ? WHERE route = ? AND "
                "carrier_message_id = ?",
                {status, route, carrier_id}));
    const std::string delivery = row->text("delivery_id");
    RH_ASSIGN(std::string ds, delivery_status_from_parts(tx, delivery, status));
    return set_delivery_status(tx, delivery, ds, error_code, detail);
  });
}

// ---------------------------------------------------------------------------
// Dispatch support

Result<int> MessageService::reclaim(const std::string& node_prefix, const std::string& owner) {
  return db_.in_transaction<int>([&](Connection& tx) -> Result<int> {
    RH_ASSIGN(auto res, tx.exec("UPDATE message_deliveries SET due_at = 0 WHERE status = "
                                "'sending' AND lease_owner LIKE ? ESCAPE '!' AND lease_owner <> ?",
                                {like_pattern(node_prefix).substr(1), owner}));
    return static_cast<int>(res.affected);
  });
}

Result<std::vector<RouteSend>> MessageService::claim(
    const std::string& owner, const std::map<std::string, std::size_t>& free_by_route,
    std::size_t free_other) {
  return db_.in_transaction<std::vector<RouteSend>>(
      [&](Connection& tx) { return claim(tx, owner, free_by_route, free_other); });
}

Result<std::vector<RouteSend>> MessageService::claim(
    Connection& tx, const std::string& owner,
    const std::map<std::string, std::size_t>& free_by_route, std::size_t free_other) {
  const std::int64_t now = clock_.now_ms();
  std::size_t total = free_other;
  for (const auto& [k, v] : free_by_route) total += v;
  std::vector<RouteSend> out;
  if (total == 0) return out;
  // Route by route, so that a backlog on one route (a slow SMSC)
  // never hides another route's due messages; then the routes no
  // sender knows (they are retried later).
  const char* lock = tx.dialect() == storage::Dialect::mariadb ? " FOR UPDATE SKIP LOCKED" : "";
  const std::string select =
      "SELECT d.id, d.message_id, d.tenant_id, d.route, d.recipient, d.status, m.sender, "
      "m.body, m.media FROM message_deliveries d JOIN messages m ON m.id = d.message_id "
      "WHERE d.status IN ('queued', 'sending') AND d.due_at <= ? AND ";
  std::vector<std::string> messages, deliveries;
  auto take = [&](const storage::Rows& rows) -> Status {
    for (const auto& r : rows) {
      RouteSend s;
      s.delivery_id = r.text("id");
      s.message_id = r.text("message_id");
      s.tenant_id = r.text("tenant_id");
      s.route = r.text("route");
      s.from = r.text("sender");
      s.to = r.text("recipient");
      s.text = r.text("body");
      s.media = csv::split_list(r.text("media"));
      s.max_segments = 255;
      deliveries.push_back(s.delivery_id);
      if (r.text("status") == "queued") messages.push_back(s.message_id);
      out.push_back(std::move(s));
    }
    return {};
  };
  std::vector<Value> known;
  for (const auto& [route, n] : free_by_route) {
    known.emplace_back(route);
    const std::size_t want = std::min(n, o_.batch);
    if (want == 0) continue;
    RH_ASSIGN(auto rows, tx.query(fmt::format("{}d.route = ? ORDER BY d.due_at, d.id LIMIT {}{}",
                                              select, want, lock),
                                  {now, route}));
    RH_TRY(take(rows));
  }
  if (free_other > 0) {
    std::string sql = select + "d.route NOT IN (''";
    std::vector<Value> args{now};
    for (auto& k : known) {
      sql += ", ?";
      args.push_back(k);
    }
    sql +=
        fmt::format(") ORDER BY d.due_at, d.id LIMIT {}{}", std::min(free_other, o_.batch), lock);
    RH_ASSIGN(auto rows, tx.query(sql, std::span<const Value>(args)));
    RH_TRY(take(rows));
  }
  // One statement for each table, in chunks of at most 200 ids.
  auto update_in = [&](const std::string& head, std::vector<Value> args,
                       const std::vector<std::string>& ids, const std::string& tail) -> Status {
    for (std::size_t i = 0; i < ids.size(); i += 200) {
      std::string sql = head + " WHERE id IN (";
      std::vector<Value> a = args;
      for (std::size_t j = i; j < std::min(ids.size(), i + 200); ++j) {
        sql += j == i ? "?" : ", ?";
        a.emplace_back(ids[j]);
      }
      sql += ")" + tail;
      RH_TRY(tx.exec(sql, std::span<const Value>(a)));
    }
    return {};
  };
  RH_TRY(
      update_in("UPDATE message_deliveries SET status = 'sending', lease_owner = ?, due_at = ?, "
                "updated_at = ?",
                {owner, now + o_.lease_ms, now}, deliveries, ""));
  RH_TRY(update_in("UPDATE messages SET status = 'sending', updated_at = ?", {now}, messages,
                   " AND status = 'queued'"));
  return out;
}

Status MessageService::record_outcome(Connection& tx, const std::string& delivery_id,
                                      const std::string& owner, const std::string& route,
                                      const RouteResult& r) {
  const std::int64_t now = clock_.now_ms();
  RH_ASSIGN(auto row,
            tx.query_opt("SELECT d.status, d.lease_owner, d.attempts, d.hold_id, d.cost_micros, "
                         "d.created_at, d.message_id, m.kind FROM message_deliveries d JOIN "
                         "messages m ON m.id = d.message_id WHERE d.id = ?",
                         {delivery_id}));
  // Not ours any more (another boot took it over): its outcome is theirs.
  if (!row || row->text("status") != "sending" || row->text("lease_owner") != owner) return {};
  const std::string message_id = row->text("message_id");
  const std::string hold = row->text("hold_id");
  auto fail = [&](const std::string& code, const std::string& detail) -> Status {
    RH_TRY(
        tx.exec("UPDATE message_deliveries SET status = 'failed', error_code = ?, error_detail "
                "= ?, attempts = attempts + 1, due_at = NULL, lease_owner = NULL, updated_at = "
                "? WHERE id = ?",
                {code.substr(0, 64), detail.substr(0, 500), now, delivery_id}));
    if (!hold.empty()) RH_TRY(ledger_.release_hold(tx, hold));
    return refresh_message_status(tx, message_id);
  };
  switch (r.kind) {
    case RouteResult::Kind::accepted: {
      std::string first = r.carrier_ids.empty() ? std::string() : r.carrier_ids.front();
      RH_TRY(
          tx.exec("UPDATE message_deliveries SET status = 'sent', carrier_message_id = ?, "
                  "parts_total = ?, attempts = attempts + 1, error_code = '', error_detail = "
                  "'', due_at = NULL, lease_owner = NULL, updated_at = ? WHERE id = ?",
                  {first.substr(0, 100), static_cast<std::int64_t>(r.carrier_ids.size()), now,
                   delivery_id}));
      if (!hold.empty()) {
        const auto kind =
            row->text("kind") == "mms" ? billing::TxnKind::mms : billing::TxnKind::sms;
        RH_TRY(ledger_.settle_hold(tx, hold, row->integer("cost_micros"), kind,
                                   "message " + message_id));
      }
      RH_TRY(refresh_message_status(tx, message_id));
      int part = 0;
      for (const auto& id : r.carrier_ids) {
        ++part;
        if (id.empty() || id.size() > 100) continue;
        // REPLACE: a carrier that reuses an id after a long time points it
        // at the newest message (both drivers know REPLACE INTO).
        RH_TRY(
            tx.exec("REPLACE INTO message_carrier_ids (route, carrier_message_id, delivery_id, "
                    "part, status, created_at) VALUES (?, ?, ?, ?, 'sent', ?)",
                    {route, id, delivery_id, static_cast<std::int64_t>(part), now}));
        // A receipt that came first.
        // Locking on MariaDB: a receipt being stored now is waited for (see
        // apply_status).
        RH_ASSIGN(auto early,
                  tx.query_opt(std::string("SELECT status, error_code, error_detail FROM "
                                           "message_status_pending WHERE route = ? AND "
                                           "carrier_message_id = ?") +
                                   (tx.dialect() == storage::Dialect::mariadb ? " FOR UPDATE" : ""),
                               {route, id}));
        if (early) {
          RH_TRY(
              tx.exec("DELETE FROM message_status_pending WHERE route = ? AND "
                      "carrier_message_id = ?",
                      {route, id}));
          const std::string s = early->text("status");
          if (status_advances("sent", s)) {
            RH_TRY(
                tx.exec("UPDATE message_carrier_ids SET status = ? WHERE route = ? AND "
                        "carrier_message_id = ?",
                        {s, route, id}));
            RH_ASSIGN(std::string ds, delivery_status_from_parts(tx, delivery_id, s));
            RH_TRY(set_delivery_status(tx, delivery_id, ds, early->text("error_code"),
                                       early->text("error_detail")));
          }
        }
      }
      return {};
    }
    case RouteResult::Kind::permanent:
      return fail(r.error_code.empty() ? "rejected" : r.error_code, r.detail);
    case RouteResult::Kind::retry: {
      // The route could not take it at all (no bind up, the link down, a
      // route not configured): not an attempt; only max_age ends those.
      static const std::set<std::string> kNotAttempted{"no_bind",       "link_down",
                                                       "stopped",       "queue_full",
                                                       "unknown_route", "carrier_not_configured"};
      const bool attempted = !kNotAttempted.count(r.error_code);
      const int attempts = static_cast<int>(row->integer("attempts")) + (attempted ? 1 : 0);
      if ((attempted && attempts >= o_.max_attempts) ||
          now - row->integer("created_at") > o_.max_age_ms)
        return fail(r.error_code.empty() ? "gave_up" : r.error_code,
                    fmt::format("gave up after {} attempt(s): {}", attempts, r.detail));
      std::int64_t delay = r.retry_after.count();
      if (delay <= 0) {
        delay = o_.retry_base_ms;
        for (int i = 1; i < std::max(attempts, 1) && delay < 3'600'000; ++i) delay *= 2;
        delay = std::min<std::int64_t>(delay, 3'600'000);
      }
      RH_TRY(
          tx.exec("UPDATE message_deliveries SET status = 'queued', attempts = ?, error_code "
                  "= ?, error_detail = ?, due_at = ?, lease_owner = NULL, updated_at = ? WHERE "
                  "id = ?",
                  {static_cast<std::int64_t>(attempts), r.error_code.substr(0, 64),
                   r.detail.substr(0, 500), now + delay, now, delivery_id}));
      return refresh_message_status(tx, message_id);
    }
  }
  return {};
}

}  // namespace rh::messaging
