#include "numbers/ports.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/phone_number.hpp"
#include "jobs/outbox.hpp"
#include "numbers/inventory.hpp"

namespace rh::numbers {

using storage::Connection;
namespace json = boost::json;

namespace {

constexpr const char* kColumns =
    "id, tenant_id, user_id, numbers, losing_carrier, account_number, account_pin, account_name, "
    "service_address, documents, status, notes, history, created_at, updated_at";

// A stored JSON array, or an empty one.
json::value parse_or(const std::string& text, json::value fallback) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  return ec || !v.is_array() ? fallback : v;
}

std::string str(const json::object& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
}

std::int64_t num(const json::object& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->value().is_int64() ? it->value().as_int64() : 0;
}

PortRequest from_row(const storage::Row& r) {
  PortRequest p;
  p.id = r.text("id");
  p.tenant_id = r.text("tenant_id");
  p.user_id = r.text("user_id");
  json::value numbers = parse_or(r.text("numbers"), json::array{});
  json::value documents = parse_or(r.text("documents"), json::array{});
  json::value history = parse_or(r.text("history"), json::array{});
  for (const auto& n : numbers.as_array())
    if (n.is_string()) p.numbers.emplace_back(n.as_string());
  p.losing_carrier = r.text("losing_carrier");
  p.account_number = r.text("account_number");
  p.pin_set = !r.text("account_pin").empty();
  p.account_name = r.text("account_name");
  p.service_address = r.text("service_address");
  for (const auto& d : documents.as_array()) {
    if (!d.is_object()) continue;
    const auto& o = d.as_object();
    p.documents.push_back(
        {str(o, "id"), str(o, "name"), str(o, "content_type"), num(o, "size"), num(o, "at")});
  }
  p.status = r.text("status");
  for (const auto& h : history.as_array()) {
    if (!h.is_object()) continue;
    const auto& o = h.as_object();
    p.history.push_back({str(o, "status"), str(o, "note"), str(o, "actor"), num(o, "at")});
  }
  p.created_at = r.integer("created_at");
  p.updated_at = r.integer("updated_at");
  return p;
}

json::array documents_json(const std::vector<PortDocument>& docs) {
  json::array a;
  for (const auto& d : docs)
    a.push_back(json::object{{"id", d.id},
                             {"name", d.name},
                             {"content_type", d.content_type},
                             {"size", d.size},
                             {"at", d.uploaded_at}});
  return a;
}

json::array history_json(const std::vector<PortStep>& steps) {
  json::array a;
  for (const auto& s : steps)
    a.push_back(
        json::object{{"status", s.status}, {"note", s.note}, {"actor", s.actor}, {"at", s.at}});
  return a;
}

bool allowed(const std::string& from, const std::string& to) {
  static const std::set<std::pair<std::string, std::string>> kMoves{
      {"submitted", "in_review"}, {"submitted", "rejected"}, {"submitted", "cancelled"},
      {"in_review", "approved"},  {"in_review", "rejected"}, {"in_review", "cancelled"},
      {"approved", "completed"},  {"approved", "cancelled"}, {"approved", "rejected"}};
  return kMoves.count({from, to}) != 0;
}

Status check_text(const std::string& v, const char* field, std::size_t max, bool required) {
  if (required && v.empty()) return Error(Errc::invalid_argument, field, "is required");
  if (v.size() > max)
    return Error(Errc::invalid_argument, field, fmt::format("at most {} bytes", max));
  return {};
}

}  // namespace

std::string sniff_document_type(std::string_view b) {
  if (b.substr(0, 5) == "%PDF-") return "application/pdf";
  if (b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) return "image/png";
  if (b.size() >= 3 && static_cast<unsigned char>(b[0]) == 0xFF &&
      static_cast<unsigned char>(b[1]) == 0xD8 && static_cast<unsigned char>(b[2]) == 0xFF)
    return "image/jpeg";
  return "";
}

Result<PortRequest> PortStore::load(Connection& c, const std::string& id) {
  RH_ASSIGN(auto row,
            c.query_opt(fmt::format("SELECT {} FROM port_requests WHERE id = ?", kColumns), {id}));
  if (!row) return Error(Errc::not_found, "no such port request");
  return from_row(*row);
}

Result<PortRequest> PortStore::create(const UserScope& u, const PortInput& in,
                                      const std::string& default_country) {
  if (in.numbers.empty() || in.numbers.size() > 100)
    return Error(Errc::invalid_argument, "numbers", "give 1 to 100 numbers");
  std::vector<std::string> e164s;
  for (std::size_t i = 0; i < in.numbers.size(); ++i) {
    auto e = phone::to_e164(in.numbers[i], default_country);
    if (!e) return Error(Errc::invalid_argument, fmt::format("numbers[{}]", i), e.error().message);
    if (std::find(e164s.begin(), e164s.end(), *e) != e164s.end())
      return Error(Errc::invalid_argument, fmt::format("numbers[{}]", i), *e + " is listed twice");
    e164s.push_back(*e);
  }
  RH_TRY(check_text(in.losing_carrier, "losing_carrier", 100, true));
  RH_TRY(check_text(in.account_number, "account_number", 64, true));
  RH_TRY(check_text(in.account_pin, "account_pin", 32, false));
  RH_TRY(check_text(in.account_name, "account_name", 200, true));
  RH_TRY(check_text(in.service_address, "service_address", 500, true));
  std::int64_t now = clock_.now_ms();
  return db_.in_transaction<PortRequest>([&](Connection& c) -> Result<PortRequest> {
    for (std::size_t i = 0; i < e164s.size(); ++i) {
      RH_ASSIGN(auto held, c.query_opt("SELECT id FROM numbers WHERE e164 = ?", {e164s[i]}));
      if (held)
        return make_reason(Errc::conflict, "number_on_platform",
                           e164s[i] + " is already on this platform");
    }
    PortRequest p;
    p.id = new_id("prt", now);
    p.tenant_id = u.tenant_id;
    p.user_id = u.user_id;
    p.numbers = e164s;
    p.losing_carrier = in.losing_carrier;
    p.account_number = in.account_number;
    p.pin_set = !in.account_pin.empty();
    p.account_name = in.account_name;
    p.service_address = in.service_address;
    p.status = "submitted";
    p.history.push_back({"submitted", "", u.user_id, now});
    p.created_at = p.updated_at = now;
    json::array numbers;
    for (const auto& e : e164s) numbers.emplace_back(e);
    RH_TRY(c.exec(
        fmt::format("INSERT INTO port_requests ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                    "'[]', 'submitted', '', ?, ?, ?)",
                    kColumns),
        {p.id, p.tenant_id, p.user_id, json::serialize(numbers), p.losing_carrier, p.account_number,
         in.account_pin.empty() ? std::string() : crypto::seal(data_key_, in.account_pin),
         p.account_name, p.service_address, json::serialize(history_json(p.history)), now, now}));
    RH_TRY(jobs::append_event(
        c,
        {"port_request.created", p.tenant_id, p.id,
         json::serialize(json::object{{"port_request_id", p.id}, {"user_id", p.user_id}}),
         p.user_id},
        now));
    return p;
  });
}

Result<std::vector<PortRequest>> PortStore::list(const UserScope& u) {
  using Out = std::vector<PortRequest>;
  return db_.read<Out>([&](Connection& c) -> Result<Out> {
    RH_ASSIGN(auto rows, c.query(fmt::format("SELECT {} FROM port_requests WHERE tenant_id = ? AND "
                                             "user_id = ? ORDER BY id DESC LIMIT 100",
                                             kColumns),
                                 {u.tenant_id, u.user_id}));
    Out out;
    for (const auto& r : rows) out.push_back(from_row(r));
    return out;
  });
}

Result<PortRequest> PortStore::get(const UserScope& u, const std::string& id) {
  return db_.read<PortRequest>([&](Connection& c) -> Result<PortRequest> {
    RH_ASSIGN(PortRequest p, load(c, id));
    if (p.tenant_id != u.tenant_id || p.user_id != u.user_id)
      return Error(Errc::not_found, "no such port request");
    return p;
  });
}

Result<PortDocument> PortStore::add_document(const UserScope& u, const std::string& id,
                                             const std::string& name,
                                             std::string_view declared_type,
                                             std::string_view bytes) {
  RH_ASSIGN(PortRequest p, get(u, id));
  if (p.status != "submitted" && p.status != "in_review")
    return make_reason(Errc::precondition, "port_closed",
                       "documents can be added only while the request is open");
  if (bytes.empty() || bytes.size() > kMaxDocumentBytes)
    return make_reason(Errc::invalid_argument, "bad_document", "a document is 1 byte to 10 MiB");
  std::string type = sniff_document_type(bytes);
  if (type.empty())
    return make_reason(Errc::invalid_argument, "bad_document",
                       "a document must be a PDF, PNG or JPEG file");
  std::string declared(declared_type.substr(0, declared_type.find(';')));
  if (!declared.empty() && declared != type && declared != "application/octet-stream")
    return make_reason(Errc::invalid_argument, "bad_document",
                       "the content is " + type + ", not " + declared);
  if (name.size() > 200) return Error(Errc::invalid_argument, "name", "at most 200 bytes");
  if (p.documents.size() >= 10)
    return make_reason(Errc::precondition, "too_many_documents", "at most 10 documents");
  std::int64_t now = clock_.now_ms();
  PortDocument d{new_id("doc", now), name.empty() ? "document" : name, type,
                 static_cast<std::int64_t>(bytes.size()), now};
  // The bytes first (durable), then the row that names them.
  RH_TRY(blobs_.put("ports/" + p.id + "/" + d.id, bytes));
  RH_TRY(db_.transaction([&](Connection& c) -> Status {
    RH_ASSIGN(PortRequest cur, load(c, id));
    if (cur.updated_at != p.updated_at)
      return make_reason(Errc::conflict, "changed", "the request changed meanwhile; retry");
    cur.documents.push_back(d);
    RH_TRY(c.exec("UPDATE port_requests SET documents = ?, updated_at = ? WHERE id = ?",
                  {json::serialize(documents_json(cur.documents)), now, id}));
    return {};
  }));
  return d;
}

Result<PortRequest> PortStore::cancel(const UserScope& u, const std::string& id) {
  RH_ASSIGN(PortRequest p, get(u, id));
  PortTransition t;
  t.status = "cancelled";
  t.actor = u.user_id;
  t.note = "cancelled by the user";
  return db_.in_transaction<PortRequest>([&](Connection& c) -> Result<PortRequest> {
    RH_ASSIGN(PortRequest cur, load(c, p.id));
    if (cur.status == "cancelled") return cur;
    return move(c, cur, t);
  });
}

Result<std::vector<PortRequest>> PortStore::list(const PortFilter& f) {
  using Out = std::vector<PortRequest>;
  return db_.read<Out>([&](Connection& c) -> Result<Out> {
    std::string sql = fmt::format("SELECT {} FROM port_requests WHERE id > ?", kColumns);
    std::vector<storage::Value> args{f.after_id};
    if (!f.tenant_id.empty()) {
      sql += " AND tenant_id = ?";
      args.emplace_back(f.tenant_id);
    }
    if (!f.status.empty()) {
      sql += " AND status = ?";
      args.emplace_back(f.status);
    }
    RH_ASSIGN(auto rows, c.query(sql + fmt::format(" ORDER BY id LIMIT {}", f.limit), args));
    Out out;
    for (const auto& r : rows) out.push_back(from_row(r));
    return out;
  });
}

Result<PortRequest> PortStore::get(const TenantScope& s, const std::string& id) {
  return db_.read<PortRequest>([&](Connection& c) -> Result<PortRequest> {
    RH_ASSIGN(PortRequest p, load(c, id));
    if (!s.covers(p.tenant_id)) return Error(Errc::not_found, "no such port request");
    return p;
  });
}

Result<std::pair<std::string, std::string>> PortStore::document(const TenantScope& s,
                                                                const std::string& id,
                                                                const std::string& doc_id) {
  RH_ASSIGN(PortRequest p, get(s, id));
  for (const auto& d : p.documents)
    if (d.id == doc_id) {
      RH_ASSIGN(auto bytes, blobs_.get("ports/" + p.id + "/" + d.id));
      return std::make_pair(std::move(bytes), d.content_type);
    }
  return Error(Errc::not_found, "no such document");
}

Result<PortRequest> PortStore::move(Connection& c, PortRequest p, const PortTransition& t) {
  if (!allowed(p.status, t.status))
    return make_reason(Errc::precondition, "bad_transition",
                       "a request that is " + p.status + " cannot become " + t.status);
  std::int64_t now = clock_.now_ms();
  if (t.status == "completed") {
    if (t.trunk.empty() || t.messaging_route.empty())
      return Error(Errc::invalid_argument, "trunk",
                   "completing a port needs the trunk and messaging_route of its numbers");
    for (const auto& e : p.numbers) {
      auto ins = c.exec(
          fmt::format("INSERT INTO numbers ({}) VALUES (?, ?, ?, 'local', '', "
                      "'active', ?, 'Ported', 'sms,mms,voice', ?, '', '', ?, 0, ?, "
                      "?, NULL, NULL, ?, ?, NULL, ?, ?)",
                      kNumberColumns),
          {new_id("num", now), p.tenant_id, e, p.user_id, phone::region_of(e), t.monthly_micros,
           t.trunk, t.messaging_route, now, now + period_s_ * 1000, now, now});
      if (!ins) {
        if (ins.error().code == Errc::conflict)
          return make_reason(Errc::conflict, "number_on_platform",
                             e + " is already on this platform");
        return ins.take_error();
      }
    }
  }
  p.status = t.status;
  p.history.push_back({t.status, t.note.substr(0, 1000), t.actor, now});
  RH_ASSIGN(auto upd,
            c.exec("UPDATE port_requests SET status = ?, history = ?, updated_at = ? WHERE "
                   "id = ? AND updated_at = ?",
                   {p.status, json::serialize(history_json(p.history)), now, p.id, p.updated_at}));
  if (upd.affected == 0)
    return make_reason(Errc::conflict, "changed", "the request changed meanwhile; retry");
  p.updated_at = now;
  RH_TRY(jobs::append_event(
      c,
      {"port_request.updated", p.tenant_id, p.id,
       json::serialize(
           json::object{{"port_request_id", p.id}, {"user_id", p.user_id}, {"status", p.status}}),
       p.user_id},
      now));
  std::string list;
  for (const auto& e : p.numbers) list += (list.empty() ? "" : ", ") + e;
  RH_TRY(notify_(c, p, "Your number transfer is " + p.status,
                 "Your request to bring " + list + " to us is now " + p.status + "." +
                     (t.note.empty() ? "" : "\n\n" + t.note) + "\n"));
  return p;
}

Result<PortRequest> PortStore::transition(const TenantScope& s, const std::string& id,
                                          const PortTransition& t) {
  return db_.in_transaction<PortRequest>([&](Connection& c) -> Result<PortRequest> {
    RH_ASSIGN(PortRequest p, load(c, id));
    if (!s.covers(p.tenant_id)) return Error(Errc::not_found, "no such port request");
    return move(c, p, t);
  });
}

}  // namespace rh::numbers
