#include "messaging/smpp/reassembly.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "messaging/encoding.hpp"
#include "storage/database.hpp"

namespace rh::messaging::smpp {

MoPartKey key_of(const MoPart& p) {
  return MoPartKey{p.route, p.source, p.destination, p.reference, p.ref16};
}

std::string describe(const MoPartKey& k) {
  return fmt::format("{} {}>{} ref{}:{}", k.route, k.source, k.destination, k.ref16 ? 16 : 8,
                     k.reference);
}

Status validate_part(const MoPart& p) {
  if (p.total == 0 || p.seq == 0 || p.seq > p.total) {
    return make_error(Errc::invalid_argument,
                      fmt::format("part {} of {} is out of range", p.seq, p.total));
  }
  if (!p.ref16 && p.reference > 0xFF) {
    return make_error(Errc::invalid_argument,
                      fmt::format("8-bit reference {} is over 255", p.reference));
  }
  return {};
}

std::string join_payloads(const std::vector<MoPart>& parts) {
  std::size_t n = 0;
  for (const auto& p : parts) n += p.payload.size();
  std::string out;
  out.reserve(n);
  for (const auto& p : parts) out += p.payload;
  return out;
}

Result<std::string> joined_text(const std::vector<MoPart>& parts) {
  if (parts.empty()) return make_error(Errc::invalid_argument, "no parts to join");
  return decode_text(parts.front().data_coding, join_payloads(parts), Malformed::replace);
}

// ---------------------------------------------------------------------------
// MemoryPartStore

Result<std::optional<std::vector<MoPart>>> MemoryPartStore::add(const MoPart& part) {
  RH_TRY(validate_part(part));
  std::lock_guard lk(mu_);
  auto& set = sets_[key_of(part)];
  std::erase_if(set, [&](const auto& kv) { return kv.second.total != part.total; });
  set[part.seq] = part;
  if (set.size() < part.total) return std::optional<std::vector<MoPart>>();
  std::vector<MoPart> out;
  out.reserve(set.size());
  for (const auto& [seq, p] : set) out.push_back(p);
  return std::optional<std::vector<MoPart>>(std::move(out));
}

Status MemoryPartStore::remove(const MoPart& any) {
  std::lock_guard lk(mu_);
  sets_.erase(key_of(any));
  return {};
}

Result<int> MemoryPartStore::expire(std::int64_t older_than_ms) {
  std::lock_guard lk(mu_);
  int dropped = 0;
  for (auto it = sets_.begin(); it != sets_.end();) {
    std::int64_t newest = INT64_MIN;
    for (const auto& [seq, p] : it->second) newest = std::max(newest, p.received_ms);
    if (it->second.empty() || newest < older_than_ms) {
      dropped += static_cast<int>(it->second.size());
      it = sets_.erase(it);
    } else {
      ++it;
    }
  }
  return dropped;
}

std::size_t MemoryPartStore::size() const {
  std::lock_guard lk(mu_);
  std::size_t n = 0;
  for (const auto& [k, set] : sets_) n += set.size();
  return n;
}

// ---------------------------------------------------------------------------
// SqlPartStore

namespace {

using storage::Connection;
using storage::Value;

constexpr const char* kKeyWhere =
    "route = ? AND source = ? AND destination = ? AND reference = ? AND ref16 = ?";

std::vector<Value> key_params(const MoPartKey& k) {
  return {k.route, k.source, k.destination, static_cast<std::int64_t>(k.reference),
          static_cast<std::int64_t>(k.ref16 ? 1 : 0)};
}

}  // namespace

Result<std::optional<std::vector<MoPart>>> SqlPartStore::add(const MoPart& part) {
  RH_TRY(validate_part(part));
  const MoPartKey key = key_of(part);
  using Out = std::optional<std::vector<MoPart>>;
  return db_.in_transaction<Out>([&](Connection& c) -> Result<Out> {
    auto params = key_params(key);
    if (c.dialect() == storage::Dialect::mariadb) {
      // Locks the key's rows and the gap where they go: a concurrent add()
      // of the same message waits (or deadlocks and is retried).
      RH_TRY(
          c.query(std::string("SELECT seq FROM smpp_mo_parts WHERE ") + kKeyWhere + " FOR UPDATE",
                  std::span<const Value>(params)));
    }
    auto del = params;
    del.emplace_back(static_cast<std::int64_t>(part.seq));
    del.emplace_back(static_cast<std::int64_t>(part.total));
    RH_TRY(c.exec(std::string("DELETE FROM smpp_mo_parts WHERE ") + kKeyWhere +
                      " AND (seq = ? OR total <> ?)",
                  std::span<const Value>(del)));
    auto ins = params;
    ins.emplace_back(static_cast<std::int64_t>(part.seq));
    ins.emplace_back(static_cast<std::int64_t>(part.total));
    ins.emplace_back(static_cast<std::int64_t>(part.data_coding));
    ins.emplace_back(storage::Blob{part.payload});
    ins.emplace_back(part.received_ms);
    RH_TRY(c.exec(
        "INSERT INTO smpp_mo_parts (route, source, destination, reference, ref16, seq, total, "
        "data_coding, payload, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        std::span<const Value>(ins)));
    RH_ASSIGN(auto rows,
              c.query(std::string("SELECT seq, total, data_coding, payload, received_at FROM "
                                  "smpp_mo_parts WHERE ") +
                          kKeyWhere + " ORDER BY seq",
                      std::span<const Value>(params)));
    if (rows.size() < part.total) return Out();
    std::vector<MoPart> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
      MoPart p;
      p.route = key.route;
      p.source = key.source;
      p.destination = key.destination;
      p.reference = key.reference;
      p.ref16 = key.ref16;
      p.seq = static_cast<std::uint8_t>(r.integer("seq"));
      p.total = static_cast<std::uint8_t>(r.integer("total"));
      p.data_coding = static_cast<std::uint8_t>(r.integer("data_coding"));
      p.payload = r.text("payload");
      p.received_ms = r.integer("received_at");
      out.push_back(std::move(p));
    }
    return Out(std::move(out));
  });
}

Status SqlPartStore::remove(const MoPart& any) {
  auto params = key_params(key_of(any));
  return db_.with_connection(storage::Access::write, [&](Connection& c) -> Status {
    RH_TRY(c.exec(std::string("DELETE FROM smpp_mo_parts WHERE ") + kKeyWhere,
                  std::span<const Value>(params)));
    return {};
  });
}

Result<int> SqlPartStore::expire(std::int64_t older_than_ms) {
  return db_.in_transaction<int>([&](Connection& c) -> Result<int> {
    // MariaDB cannot DELETE from a table its own subquery reads: find the
    // stale sets first, then drop them one by one.
    RH_ASSIGN(auto stale, c.query("SELECT route, source, destination, reference, ref16 FROM "
                                  "smpp_mo_parts GROUP BY route, source, destination, "
                                  "reference, ref16 HAVING MAX(received_at) < ?",
                                  {older_than_ms}));
    int dropped = 0;
    for (const auto& r : stale) {
      MoPartKey k{r.text("route"), r.text("source"), r.text("destination"),
                  static_cast<std::uint16_t>(r.integer("reference")), r.integer("ref16") != 0};
      auto params = key_params(k);
      RH_ASSIGN(auto res, c.exec(std::string("DELETE FROM smpp_mo_parts WHERE ") + kKeyWhere,
                                 std::span<const Value>(params)));
      dropped += static_cast<int>(res.affected);
    }
    return dropped;
  });
}

std::vector<storage::Migration> smpp_migrations() {
  return {{2026112701, "smpp_mo_parts", R"SQL(
CREATE TABLE smpp_mo_parts (
  route VARCHAR(64) NOT NULL,
  source VARCHAR(32) NOT NULL,
  destination VARCHAR(32) NOT NULL,
  reference INTEGER NOT NULL,
  ref16 INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  total INTEGER NOT NULL,
  data_coding INTEGER NOT NULL,
  payload {{blob}} NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (route, source, destination, reference, ref16, seq)
){{table}};
CREATE INDEX smpp_mo_parts_age ON smpp_mo_parts (received_at)
)SQL"}};
}

}  // namespace rh::messaging::smpp
