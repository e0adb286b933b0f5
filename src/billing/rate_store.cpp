// RateStore: rate decks in the database (rate_decks + rates), the active one
// per tenant cached in memory.
#include <fmt/format.h>

#include <algorithm>

#include "billing/rates.hpp"
#include "core/ids.hpp"

namespace rh::billing {

using storage::Connection;
using storage::Value;

namespace detail {
bool valid_utf8(std::string_view s);  // rates.cpp
}  // namespace detail

namespace {

constexpr std::size_t kBatchRows = 500;    // rates per INSERT statement
constexpr std::int64_t kRecheckMs = 1000;  // how stale the cached active deck may be
constexpr std::size_t kKeepDecks = 5;      // decks kept per tenant, the active one included
constexpr std::size_t kMaxNameBytes = 191;

constexpr const char* kDeckCols = "id, tenant_id, name, rate_count, active, created_at";
constexpr const char* kRateCols =
    "prefix, description, per_minute_micros, connect_micros, first_increment_s, "
    "next_increment_s, sms_micros, mms_micros";
constexpr int kRateParams = 9;  // deck_id + the columns above

DeckInfo deck_from_row(const storage::Row& r) {
  DeckInfo d;
  d.id = r.text("id");
  d.tenant_id = r.text("tenant_id");
  d.name = r.text("name");
  d.rate_count = r.integer("rate_count");
  d.active = r.boolean("active");
  d.created_at = r.integer("created_at");
  return d;
}

std::string insert_sql(std::size_t rows) {
  std::string sql = fmt::format("INSERT INTO rates (deck_id, {}) VALUES ", kRateCols);
  sql.reserve(sql.size() + rows * (kRateParams * 3 + 4));
  for (std::size_t i = 0; i < rows; ++i) {
    sql += i == 0 ? "(" : ", (";
    for (int k = 0; k < kRateParams; ++k) sql += k == 0 ? "?" : ", ?";
    sql += ")";
  }
  return sql;
}

Status insert_rates(Connection& c, const std::string& deck_id, const std::vector<Rate>& rates) {
  const std::string full = insert_sql(kBatchRows);
  std::vector<Value> params;
  params.reserve(kBatchRows * kRateParams);
  for (std::size_t start = 0; start < rates.size(); start += kBatchRows) {
    const std::size_t n = std::min(kBatchRows, rates.size() - start);
    params.clear();
    for (std::size_t i = start; i < start + n; ++i) {
      const Rate& r = rates[i];
      params.emplace_back(deck_id);
      params.emplace_back(r.prefix);
      params.emplace_back(r.description);
      params.emplace_back(r.per_minute_micros);
      params.emplace_back(r.connect_micros);
      params.emplace_back(static_cast<std::int64_t>(r.first_increment_s));
      params.emplace_back(static_cast<std::int64_t>(r.next_increment_s));
      params.emplace_back(r.sms_micros);
      params.emplace_back(r.mms_micros);
    }
    RH_TRY(c.exec(n == kBatchRows ? std::string_view(full) : std::string_view(insert_sql(n)),
                  std::span<const Value>(params)));
  }
  return {};
}

Result<std::vector<Rate>> load_rates(Connection& c, const std::string& deck_id) {
  RH_ASSIGN(auto rows,
            c.query(fmt::format("SELECT {} FROM rates WHERE deck_id = ?", kRateCols), {deck_id}));
  std::vector<Rate> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    Rate r;
    r.prefix = row.text("prefix");
    r.description = row.text("description");
    r.per_minute_micros = row.integer("per_minute_micros");
    r.connect_micros = row.integer("connect_micros");
    r.first_increment_s = static_cast<int>(row.integer("first_increment_s"));
    r.next_increment_s = static_cast<int>(row.integer("next_increment_s"));
    r.sms_micros = row.integer("sms_micros");
    r.mms_micros = row.integer("mms_micros");
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::string> active_deck_id(Connection& c, const std::string& tenant_id) {
  RH_ASSIGN(auto row, c.query_opt("SELECT id FROM rate_decks WHERE tenant_id = ? AND active = 1 "
                                  "ORDER BY created_at DESC, id DESC LIMIT 1",
                                  {tenant_id}));
  return row ? row->text("id") : std::string();
}

Status check_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameBytes)
    return Error(Errc::invalid_argument, "name",
                 fmt::format("name: must be 1 to {} bytes", kMaxNameBytes));
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
      return Error(Errc::invalid_argument, "name", "name: must not contain control characters");
  }
  if (!detail::valid_utf8(name)) return Error(Errc::invalid_argument, "name", "name: not UTF-8");
  return {};
}

}  // namespace

Result<ImportResult> RateStore::import(const std::string& tenant_id, const std::string& name,
                                       std::string_view csv) {
  RH_TRY(check_name(name));
  ParsedDeck parsed = parse_rate_csv(csv);
  ImportResult out;
  if (!parsed.problems.empty()) {
    out.problems = std::move(parsed.problems);
    return out;
  }
  DeckInfo info;
  Status st = db_.transaction([&](Connection& c) -> Status {
    RH_ASSIGN(auto tenant, c.query_opt("SELECT id FROM tenants WHERE id = ?", {tenant_id}));
    if (!tenant) return Error(Errc::not_found, "no such tenant");
    const std::int64_t now = clock_.now_ms();
    info = DeckInfo{new_id("rdk", now),
                    tenant_id,
                    name,
                    static_cast<std::int64_t>(parsed.rates.size()),
                    true,
                    now};
    RH_TRY(c.exec(fmt::format("INSERT INTO rate_decks ({}) VALUES (?, ?, ?, ?, 0, ?)", kDeckCols),
                  {info.id, info.tenant_id, info.name, info.rate_count, info.created_at}));
    RH_TRY(insert_rates(c, info.id, parsed.rates));
    RH_TRY(
        c.exec("UPDATE rate_decks SET active = 0 WHERE tenant_id = ? AND active = 1", {tenant_id}));
    RH_TRY(c.exec("UPDATE rate_decks SET active = 1 WHERE id = ?", {info.id}));
    // History: the newest decks stay, older ones go.
    RH_ASSIGN(auto older, c.query("SELECT id FROM rate_decks WHERE tenant_id = ? AND id <> ? "
                                  "ORDER BY created_at DESC, id DESC",
                                  {tenant_id, info.id}));
    for (std::size_t i = kKeepDecks - 1; i < older.size(); ++i) {
      std::string id = older[i].text("id");
      RH_TRY(c.exec("DELETE FROM rates WHERE deck_id = ?", {id}));
      RH_TRY(c.exec("DELETE FROM rate_decks WHERE id = ?", {id}));
    }
    return {};
  });
  if (!st) return st.take_error();
  // This node sees its own import at once; others within a second.
  auto deck = std::make_shared<const RateDeck>(std::move(parsed.rates));
  {
    std::lock_guard lk(mu_);
    cache_[tenant_id] = Cached{info.id, std::move(deck), clock_.now_ms()};
  }
  out.deck = std::move(info);
  return out;
}

Result<std::vector<DeckInfo>> RateStore::list(const std::string& tenant_id) {
  return db_.read<std::vector<DeckInfo>>([&](Connection& c) -> Result<std::vector<DeckInfo>> {
    RH_ASSIGN(auto rows, c.query(fmt::format("SELECT {} FROM rate_decks WHERE tenant_id = ? "
                                             "ORDER BY created_at DESC, id DESC",
                                             kDeckCols),
                                 {tenant_id}));
    std::vector<DeckInfo> out;
    out.reserve(rows.size());
    for (const auto& r : rows) out.push_back(deck_from_row(r));
    return out;
  });
}

Result<std::shared_ptr<const RateDeck>> RateStore::active(const std::string& tenant_id) {
  const std::int64_t now = clock_.now_ms();
  std::optional<std::string> cached_id;  // set when the tenant has a cached deck
  {
    std::lock_guard lk(mu_);
    auto it = cache_.find(tenant_id);
    if (it != cache_.end()) {
      const std::int64_t age = now - it->second.checked_at;
      if (age >= 0 && age < kRecheckMs) return it->second.deck;
      cached_id = it->second.deck_id;
    }
  }
  // Which deck is active now, and its rates only when it is not the cached
  // one: a deck's rates never change once committed, so its id names them.
  // The database is read without holding mu_.
  struct Loaded {
    std::string id;  // empty: the tenant has no deck
    std::optional<std::vector<Rate>> rates;
  };
  RH_ASSIGN(Loaded loaded, db_.read<Loaded>([&](Connection& c) -> Result<Loaded> {
    Loaded l;
    RH_ASSIGN(l.id, active_deck_id(c, tenant_id));
    if (cached_id && *cached_id == l.id) return l;
    if (l.id.empty()) {
      l.rates.emplace();
    } else {
      RH_ASSIGN(l.rates, load_rates(c, l.id));
    }
    return l;
  }));
  std::lock_guard lk(mu_);
  Cached& slot = cache_[tenant_id];
  if (loaded.rates) {
    slot = Cached{loaded.id, std::make_shared<const RateDeck>(std::move(*loaded.rates)), now};
    return slot.deck;
  }
  if (slot.deck_id == loaded.id) slot.checked_at = now;
  // Otherwise an import on this node replaced the deck meanwhile: it is newer.
  return slot.deck;
}

Result<Rate> RateStore::lookup(const std::string& tenant_id, std::string_view e164) {
  RH_ASSIGN(auto deck, active(tenant_id));
  const Rate* r = deck->match(e164);
  if (!r) {
    std::string shown(e164.substr(0, 20));
    return make_reason(Errc::not_found, "no_rate", "no rate for '" + shown + "'");
  }
  return *r;
}

std::vector<storage::Migration> rate_migrations() {
  return {{2026112601, "rate decks", R"SQL(
CREATE TABLE rate_decks (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name VARCHAR(191) NOT NULL,
  rate_count BIGINT NOT NULL,
  active INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL
){{table}};
CREATE INDEX rate_decks_tenant ON rate_decks (tenant_id, active);
CREATE TABLE rates (
  deck_id VARCHAR(40) NOT NULL REFERENCES rate_decks (id) ON DELETE CASCADE,
  prefix VARCHAR(16) NOT NULL,
  description VARCHAR(255) NOT NULL,
  per_minute_micros BIGINT NOT NULL,
  connect_micros BIGINT NOT NULL,
  first_increment_s INTEGER NOT NULL,
  next_increment_s INTEGER NOT NULL,
  sms_micros BIGINT NOT NULL,
  mms_micros BIGINT NOT NULL,
  PRIMARY KEY (deck_id, prefix)
){{table}}
)SQL"}};
}

}  // namespace rh::billing
