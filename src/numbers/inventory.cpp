#include "numbers/inventory.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/money.hpp"
#include "core/phone_number.hpp"

namespace rh::numbers {

using storage::Connection;
using storage::Value;

const char* const kNumberColumns =
    "id, tenant_id, e164, provider, provider_ref, state, user_id, label, features, country, "
    "region, locality, monthly_micros, upfront_micros, trunk, messaging_route, reserved_until, "
    "aging_until, activated_at, paid_until, grace_until, created_at, updated_at";

namespace {

bool valid_feature(std::string_view f) {
  return f == "sms" || f == "mms" || f == "voice";
}

}  // namespace

std::string features_text(const std::vector<std::string>& f) {
  std::string out;
  for (const char* name : {"sms", "mms", "voice"})
    if (std::find(f.begin(), f.end(), name) != f.end())
      out += (out.empty() ? "" : ",") + std::string(name);
  return out;
}

std::vector<std::string> parse_features(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    while (!cur.empty() && cur.back() == ' ') cur.pop_back();
    if (!cur.empty() && std::find(out.begin(), out.end(), cur) == out.end()) out.push_back(cur);
    cur.clear();
  };
  for (char c : text) {
    if (c == ',' || c == ';' || c == '|') {
      flush();
    } else if (!(c == ' ' && cur.empty())) {
      cur += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  flush();
  return out;
}

Number number_from_row(const storage::Row& r) {
  Number n;
  n.id = r.text("id");
  n.tenant_id = r.text("tenant_id");
  n.e164 = r.text("e164");
  n.provider = r.text("provider");
  n.provider_ref = r.text("provider_ref");
  n.state = r.text("state");
  n.user_id = r.opt_text("user_id").value_or("");
  n.label = r.text("label");
  n.features = parse_features(r.text("features"));
  n.country = r.text("country");
  n.region = r.text("region");
  n.locality = r.text("locality");
  n.monthly_micros = r.integer("monthly_micros");
  n.upfront_micros = r.integer("upfront_micros");
  n.trunk = r.text("trunk");
  n.messaging_route = r.text("messaging_route");
  n.reserved_until = r.opt_integer("reserved_until").value_or(0);
  n.aging_until = r.opt_integer("aging_until").value_or(0);
  n.activated_at = r.opt_integer("activated_at").value_or(0);
  n.paid_until = r.opt_integer("paid_until").value_or(0);
  n.grace_until = r.opt_integer("grace_until").value_or(0);
  n.created_at = r.integer("created_at");
  n.updated_at = r.integer("updated_at");
  return n;
}

Result<ImportOutcome> Inventory::import_csv(const ImportDefaults& d, std::string_view text) {
  ImportOutcome out;
  csv::Table t = csv::parse(text, 100'000);
  out.problems = t.problems;
  auto has = [&](const char* col) {
    return std::find(t.header.begin(), t.header.end(), col) != t.header.end();
  };
  for (const char* col : {"number", "trunk", "messaging_route"})
    if (!has(col)) out.problems.push_back({1, fmt::format("the header has no '{}' column", col)});
  if (!out.problems.empty()) return out;
  if (t.records.empty()) {
    out.problems.push_back({1, "the file has no numbers"});
    return out;
  }
  struct Row {
    Number n;
    int line;
  };
  std::vector<Row> rows;
  std::map<std::string, int> seen;
  std::int64_t now = clock_.now_ms();
  for (const auto& rec : t.records) {
    auto field = [&](const char* k) -> std::string {
      auto it = rec.fields.find(k);
      return it == rec.fields.end() ? std::string() : it->second;
    };
    auto problem = [&](std::string m) { out.problems.push_back({rec.line, std::move(m)}); };
    Number n;
    auto e164 = phone::to_e164(field("number"), d.default_country);
    if (!e164) {
      problem(e164.error().message);
      continue;
    }
    n.e164 = *e164;
    if (auto [it, fresh] = seen.emplace(n.e164, rec.line); !fresh) {
      problem(fmt::format("{} is already on line {}", n.e164, it->second));
      continue;
    }
    n.trunk = field("trunk");
    n.messaging_route = field("messaging_route");
    if (n.trunk.empty() || n.trunk.size() > 64) problem("trunk must be 1 to 64 characters");
    if (n.messaging_route.empty() || n.messaging_route.size() > 64)
      problem("messaging_route must be 1 to 64 characters");
    std::string feat = field("features");
    n.features =
        feat.empty() ? std::vector<std::string>{"sms", "mms", "voice"} : parse_features(feat);
    bool bad_feature = n.features.empty();
    for (const auto& f : n.features) bad_feature |= !valid_feature(f);
    if (bad_feature) problem("features must be a list of sms, mms and voice");
    for (auto [col, dest] : {std::pair{"monthly_price", &n.monthly_micros},
                             std::pair{"upfront_price", &n.upfront_micros}}) {
      std::string v = field(col);
      if (v.empty()) continue;
      auto m = money::parse_micros(v);
      if (!m || *m < 0)
        problem(fmt::format("{} must be a non-negative amount such as 1.50", col));
      else
        *dest = *m;
    }
    n.region = field("region").substr(0, 64);
    n.locality = field("city").substr(0, 100);
    n.country = phone::region_of(n.e164);
    if (!out.problems.empty() && out.problems.back().line == rec.line) continue;
    rows.push_back({std::move(n), rec.line});
  }
  if (!out.problems.empty()) return out;

  Status st = db_.transaction([&](Connection& c) -> Status {
    // Numbers the platform already holds are refused by line.
    for (std::size_t i = 0; i < rows.size(); i += 400) {
      std::size_t end = std::min(rows.size(), i + 400);
      std::string sql = "SELECT e164 FROM numbers WHERE e164 IN (";
      std::vector<Value> args;
      for (std::size_t j = i; j < end; ++j) {
        sql += j == i ? "?" : ",?";
        args.emplace_back(rows[j].n.e164);
      }
      RH_ASSIGN(auto found, c.query(sql + ")", args));
      for (const auto& f : found) {
        std::string e = f.text("e164");
        for (std::size_t j = i; j < end; ++j)
          if (rows[j].n.e164 == e)
            out.problems.push_back({rows[j].line, e + " is already in the inventory"});
      }
    }
    if (!out.problems.empty()) return {};
    for (std::size_t i = 0; i < rows.size(); i += 200) {
      std::size_t end = std::min(rows.size(), i + 200);
      std::string sql = fmt::format("INSERT INTO numbers ({}) VALUES ", kNumberColumns);
      std::vector<Value> args;
      for (std::size_t j = i; j < end; ++j) {
        const Number& n = rows[j].n;
        sql += j == i ? "" : ",";
        sql +=
            "(?,?,?,'local','','available',NULL,'',?,?,?,?,?,?,?,?,NULL,NULL,NULL,NULL,NULL,?,?)";
        for (Value v : std::initializer_list<Value>{new_id("num", now), d.tenant_id, n.e164,
                                                    features_text(n.features), n.country, n.region,
                                                    n.locality, n.monthly_micros, n.upfront_micros,
                                                    n.trunk, n.messaging_route, now, now})
          args.push_back(std::move(v));
      }
      RH_TRY(c.exec(sql, args));
    }
    return {};
  });
  if (!st) return st.take_error();
  std::sort(out.problems.begin(), out.problems.end(),
            [](const auto& a, const auto& b) { return a.line < b.line; });
  if (out.problems.empty()) out.imported = static_cast<int>(rows.size());
  return out;
}

Result<std::vector<Number>> Inventory::list_owned(const UserScope& u, const std::string& after,
                                                  int limit) {
  return db_.read<std::vector<Number>>([&](Connection& c) -> Result<std::vector<Number>> {
    RH_ASSIGN(auto rows,
              c.query(fmt::format("SELECT {} FROM numbers WHERE tenant_id = ? AND user_id = ? "
                                  "AND state IN ('active', 'suspended', 'releasing') AND id > ? "
                                  "ORDER BY id LIMIT {}",
                                  kNumberColumns, limit),
                      {u.tenant_id, u.user_id, after}));
    std::vector<Number> out;
    for (const auto& r : rows) out.push_back(number_from_row(r));
    return out;
  });
}

Result<Number> Inventory::get_owned(const UserScope& u, const std::string& id) {
  return db_.read<Number>([&](Connection& c) -> Result<Number> {
    RH_ASSIGN(auto row, c.query_opt(fmt::format("SELECT {} FROM numbers WHERE id = ? AND "
                                                "tenant_id = ? AND user_id = ? AND state IN "
                                                "('active', 'suspended', 'releasing')",
                                                kNumberColumns),
                                    {id, u.tenant_id, u.user_id}));
    if (!row) return Error(Errc::not_found, "no such number");
    return number_from_row(*row);
  });
}

Result<Number> Inventory::set_label(const UserScope& u, const std::string& id,
                                    const std::string& label) {
  if (label.size() > 100) return Error(Errc::invalid_argument, "label", "at most 100 bytes");
  return db_.in_transaction<Number>([&](Connection& c) -> Result<Number> {
    RH_ASSIGN(auto upd, c.exec("UPDATE numbers SET label = ?, updated_at = ? WHERE id = ? AND "
                               "tenant_id = ? AND user_id = ? AND state IN ('active', "
                               "'suspended')",
                               {label, clock_.now_ms(), id, u.tenant_id, u.user_id}));
    if (upd.affected == 0) return Error(Errc::not_found, "no such number");
    return get_tx(c, id);
  });
}

Result<Number> Inventory::get_tx(Connection& c, const std::string& id) {
  RH_ASSIGN(auto row,
            c.query_opt(fmt::format("SELECT {} FROM numbers WHERE id = ?", kNumberColumns), {id}));
  if (!row) return Error(Errc::not_found, "no such number");
  return number_from_row(*row);
}

Result<std::optional<Number>> Inventory::find_e164(Connection& c, const std::string& e164) {
  RH_ASSIGN(
      auto row,
      c.query_opt(fmt::format("SELECT {} FROM numbers WHERE e164 = ?", kNumberColumns), {e164}));
  if (!row) return std::optional<Number>();
  return std::optional<Number>(number_from_row(*row));
}

Result<std::vector<Number>> Inventory::list(const InventoryFilter& f) {
  return db_.read<std::vector<Number>>([&](Connection& c) -> Result<std::vector<Number>> {
    std::string sql = fmt::format("SELECT {} FROM numbers WHERE id > ?", kNumberColumns);
    std::vector<Value> args{f.after_id};
    if (!f.tenant_id.empty()) {
      sql += " AND tenant_id = ?";
      args.emplace_back(f.tenant_id);
    }
    if (!f.state.empty()) {
      sql += " AND state = ?";
      args.emplace_back(f.state);
    }
    if (!f.provider.empty()) {
      sql += " AND provider = ?";
      args.emplace_back(f.provider);
    }
    if (!f.q.empty()) {
      sql += " AND e164 LIKE ?";
      args.emplace_back("%" + f.q + "%");
    }
    sql += fmt::format(" ORDER BY id LIMIT {}", f.limit);
    RH_ASSIGN(auto rows, c.query(sql, args));
    std::vector<Number> out;
    for (const auto& r : rows) out.push_back(number_from_row(r));
    return out;
  });
}

Result<Number> Inventory::get(const TenantScope& s, const std::string& id) {
  return db_.read<Number>([&](Connection& c) -> Result<Number> {
    RH_ASSIGN(Number n, get_tx(c, id));
    if (!s.covers(n.tenant_id)) return Error(Errc::not_found, "no such number");
    return n;
  });
}

Result<std::map<std::string, std::int64_t>> Inventory::counts(const std::string& tenant_id) {
  using Map = std::map<std::string, std::int64_t>;
  return db_.read<Map>([&](Connection& c) -> Result<Map> {
    Map out;
    for (const char* s : {"available", "reserved", "active", "suspended", "releasing", "aging"})
      out[s] = 0;
    std::string sql = "SELECT state, COUNT(*) AS n FROM numbers";
    std::vector<Value> args;
    if (!tenant_id.empty()) {
      sql += " WHERE tenant_id = ?";
      args.emplace_back(tenant_id);
    }
    RH_ASSIGN(auto rows, c.query(sql + " GROUP BY state", args));
    for (const auto& r : rows) out[r.text("state")] = r.integer("n");
    return out;
  });
}

Result<std::vector<AvailableNumber>> Inventory::search_local(const std::string& tenant_id,
                                                             const SearchQuery& q) {
  return db_.read<std::vector<AvailableNumber>>(
      [&](Connection& c) -> Result<std::vector<AvailableNumber>> {
        std::int64_t now = clock_.now_ms();
        std::string sql = fmt::format(
            "SELECT {} FROM numbers WHERE tenant_id = ? AND provider = 'local' AND (state = "
            "'available' OR (state = 'reserved' AND reserved_until < ?)) AND country = ?",
            kNumberColumns);
        std::vector<Value> args{tenant_id, now, q.country};
        if (!q.area_code.empty()) {
          // The national number starts with the area code: for +1 numbers
          // that is after "+1"; in general, after the country code, which
          // LIKE cannot know, so match "+<cc><area>" for NANP and anywhere
          // in the first digits otherwise.
          sql += " AND (e164 LIKE ? OR e164 LIKE ? OR e164 LIKE ?)";
          args.emplace_back("+1" + q.area_code + "%");
          args.emplace_back("+__" + q.area_code + "%");
          args.emplace_back("+___" + q.area_code + "%");
        }
        if (!q.contains.empty()) {
          sql += " AND e164 LIKE ?";
          args.emplace_back("%" + q.contains + "%");
        }
        if (!q.locality.empty()) {
          sql += " AND LOWER(locality) = LOWER(?)";
          args.emplace_back(q.locality);
        }
        if (!q.region.empty()) {
          sql += " AND LOWER(region) = LOWER(?)";
          args.emplace_back(q.region);
        }
        for (const auto& f : q.features) {
          if (!valid_feature(f))
            return Error(Errc::invalid_argument, "features", "unknown feature " + f);
          sql += " AND features LIKE ?";
          args.emplace_back("%" + f + "%");
        }
        sql += fmt::format(" ORDER BY e164 LIMIT {}", std::clamp(q.limit, 1, 100));
        RH_ASSIGN(auto rows, c.query(sql, args));
        std::vector<AvailableNumber> out;
        for (const auto& r : rows) {
          Number n = number_from_row(r);
          AvailableNumber a;
          a.e164 = n.e164;
          a.provider = "local";
          a.features = n.features;
          a.country = n.country;
          a.region = n.region;
          a.locality = n.locality;
          a.monthly_micros = n.monthly_micros;
          a.upfront_micros = n.upfront_micros;
          out.push_back(std::move(a));
        }
        return out;
      });
}

Result<std::vector<std::string>> Inventory::held(const std::vector<std::string>& e164s) {
  using Out = std::vector<std::string>;
  if (e164s.empty()) return Out{};
  return db_.read<Out>([&](Connection& c) -> Result<Out> {
    std::string sql = "SELECT e164 FROM numbers WHERE e164 IN (";
    std::vector<Value> args;
    for (std::size_t i = 0; i < e164s.size() && i < 500; ++i) {
      sql += i == 0 ? "?" : ",?";
      args.emplace_back(e164s[i]);
    }
    RH_ASSIGN(auto rows, c.query(sql + ")", args));
    Out out;
    for (const auto& r : rows) out.push_back(r.text("e164"));
    return out;
  });
}

// ---- providers ----------------------------------------------------------------

Result<ProviderSettingsView> ProviderRegistry::configure(
    const std::string& tenant_id, const std::string& name, bool enabled,
    const std::map<std::string, std::string>& settings) {
  auto required = required_settings(name);
  if (required.empty() && name != "telnyx" && name != "bandwidth" && name != "plivo")
    return Error(Errc::invalid_argument, "name", "unknown provider " + name);
  for (const auto& [k, v] : settings)
    if (k.size() > 64 || v.size() > 4096)
      return Error(Errc::invalid_argument, "settings", "a setting is too long");
  return db_.in_transaction<ProviderSettingsView>(
      [&](Connection& c) -> Result<ProviderSettingsView> {
        std::map<std::string, std::string> merged;
        RH_ASSIGN(auto row, c.query_opt("SELECT settings FROM number_providers WHERE tenant_id = "
                                        "? AND name = ?",
                                        {tenant_id, name}));
        if (row) {
          auto plain = crypto::unseal(data_key_, row->text("settings"));
          if (!plain) return Error(Errc::internal, "stored provider settings cannot be read");
          auto v = boost::json::parse(*plain);
          for (const auto& [k, val] : v.as_object())
            merged[std::string(k)] = std::string(val.as_string());
        }
        for (const auto& [k, v] : settings) {
          if (v.empty())
            merged.erase(k);
          else
            merged[k] = v;
        }
        ProviderConfig cfg{name, merged};
        if (enabled) {
          for (const auto& k : required)
            if (!merged.count(k))
              return Error(Errc::invalid_argument, "settings." + k,
                           "is required to enable " + name);
          auto p = factory_(cfg);
          if (!p) return p.take_error();
        }
        boost::json::object o;
        for (const auto& [k, v] : merged) o[k] = v;
        std::string sealed = crypto::seal(data_key_, boost::json::serialize(o));
        std::int64_t now = clock_.now_ms();
        RH_ASSIGN(auto upd, c.exec("UPDATE number_providers SET enabled = ?, settings = ?, "
                                   "updated_at = ? WHERE tenant_id = ? AND name = ?",
                                   {std::int64_t{enabled}, sealed, now, tenant_id, name}));
        if (upd.affected == 0)
          RH_TRY(
              c.exec("INSERT INTO number_providers (tenant_id, name, enabled, settings, "
                     "updated_at) VALUES (?, ?, ?, ?, ?)",
                     {tenant_id, name, std::int64_t{enabled}, sealed, now}));
        ProviderSettingsView view{name, enabled, {}, now};
        for (const auto& [k, v] : merged) view.keys.push_back(k);
        return view;
      });
}

Result<std::vector<ProviderSettingsView>> ProviderRegistry::list(const std::string& tenant_id) {
  using Out = std::vector<ProviderSettingsView>;
  return db_.read<Out>([&](Connection& c) -> Result<Out> {
    RH_ASSIGN(auto rows, c.query("SELECT name, enabled, settings, updated_at FROM "
                                 "number_providers WHERE tenant_id = ? ORDER BY name",
                                 {tenant_id}));
    Out out;
    for (const auto& r : rows) {
      ProviderSettingsView v{r.text("name"), r.boolean("enabled"), {}, r.integer("updated_at")};
      if (auto plain = crypto::unseal(data_key_, r.text("settings"))) {
        boost::system::error_code ec;
        auto j = boost::json::parse(*plain, ec);
        if (!ec && j.is_object())
          for (const auto& kv : j.as_object()) v.keys.emplace_back(kv.key());
      }
      out.push_back(std::move(v));
    }
    return out;
  });
}

Status ProviderRegistry::remove(const std::string& tenant_id, const std::string& name) {
  return db_.transaction([&](Connection& c) -> Status {
    RH_ASSIGN(auto d, c.exec("DELETE FROM number_providers WHERE tenant_id = ? AND name = ?",
                             {tenant_id, name}));
    if (d.affected == 0) return Error(Errc::not_found, "no such provider");
    return {};
  });
}

Result<std::shared_ptr<NumberProvider>> ProviderRegistry::build(const std::string& tenant_id,
                                                                const storage::Row& row) {
  std::string name = row.text("name");
  std::int64_t updated = row.integer("updated_at");
  std::lock_guard lk(mu_);
  auto key = std::make_pair(tenant_id, name);
  if (auto it = cache_.find(key); it != cache_.end() && it->second.updated_at == updated)
    return it->second.provider;
  auto plain = crypto::unseal(data_key_, row.text("settings"));
  if (!plain) return Error(Errc::internal, "stored provider settings cannot be read");
  ProviderConfig cfg{name, {}};
  boost::system::error_code ec;
  auto j = boost::json::parse(*plain, ec);
  if (ec || !j.is_object()) return Error(Errc::internal, "stored provider settings are corrupt");
  for (const auto& kv : j.as_object())
    if (kv.value().is_string())
      cfg.settings[std::string(kv.key())] = std::string(kv.value().as_string());
  auto p = factory_(cfg);
  if (!p) return p.take_error();
  std::shared_ptr<NumberProvider> shared(std::move(*p));
  cache_[key] = {updated, shared};
  return shared;
}

Result<std::map<std::string, std::string>> ProviderRegistry::settings(const std::string& tenant_id,
                                                                     const std::string& name) {
  RH_ASSIGN(auto row, db_.read<std::optional<storage::Row>>([&](Connection& c) {
    return c.query_opt("SELECT settings FROM number_providers WHERE tenant_id = ? AND name = ? AND "
                       "enabled = 1",
                       {tenant_id, name});
  }));
  if (!row) return Error(Errc::not_found, "provider '" + name + "' is not configured");
  auto plain = crypto::unseal(data_key_, row->text("settings"));
  if (!plain) return Error(Errc::internal, "stored provider settings cannot be read");
  boost::system::error_code ec;
  auto j = boost::json::parse(*plain, ec);
  if (ec || !j.is_object()) return Error(Errc::internal, "stored provider settings are corrupt");
  std::map<std::string, std::string> out;
  for (const auto& kv : j.as_object())
    if (kv.value().is_string()) out[std::string(kv.key())] = std::string(kv.value().as_string());
  return out;
}

Result<std::vector<std::string>> ProviderRegistry::tenants_with(const std::string& name) {
  RH_ASSIGN(auto rows, db_.read<storage::Rows>([&](Connection& c) {
    return c.query("SELECT tenant_id FROM number_providers WHERE name = ? AND enabled = 1 ORDER BY "
                   "tenant_id",
                   {name});
  }));
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.text("tenant_id"));
  return out;
}

Result<std::vector<std::shared_ptr<NumberProvider>>> ProviderRegistry::enabled(
    const std::string& tenant_id) {
  RH_ASSIGN(auto rows, db_.read<storage::Rows>([&](Connection& c) {
    return c.query(
        "SELECT name, settings, updated_at FROM number_providers WHERE tenant_id = ? "
        "AND enabled = 1 ORDER BY name",
        {tenant_id});
  }));
  std::vector<std::shared_ptr<NumberProvider>> out;
  for (const auto& r : rows) {
    RH_ASSIGN(auto p, build(tenant_id, r));
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::shared_ptr<NumberProvider>> ProviderRegistry::get(const std::string& tenant_id,
                                                              const std::string& name) {
  RH_ASSIGN(auto row, db_.read<std::optional<storage::Row>>([&](Connection& c) {
    return c.query_opt(
        "SELECT name, settings, updated_at FROM number_providers WHERE tenant_id "
        "= ? AND name = ?",
        {tenant_id, name});
  }));
  if (!row)
    return make_reason(Errc::unavailable, "provider_not_configured",
                       "the provider " + name + " is not configured for this tenant");
  return build(tenant_id, *row);
}

std::vector<storage::Migration> number_migrations() {
  return {{2026112603, "numbers", R"SQL(
CREATE TABLE numbers (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  e164 VARCHAR(20) NOT NULL,
  provider VARCHAR(16) NOT NULL,
  provider_ref VARCHAR(100) NOT NULL,
  state VARCHAR(16) NOT NULL,
  user_id VARCHAR(40),
  label VARCHAR(100) NOT NULL,
  features VARCHAR(32) NOT NULL,
  country VARCHAR(2) NOT NULL,
  region VARCHAR(64) NOT NULL,
  locality VARCHAR(100) NOT NULL,
  monthly_micros BIGINT NOT NULL,
  upfront_micros BIGINT NOT NULL,
  trunk VARCHAR(64) NOT NULL,
  messaging_route VARCHAR(64) NOT NULL,
  reserved_until BIGINT,
  aging_until BIGINT,
  activated_at BIGINT,
  paid_until BIGINT,
  grace_until BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
){{table}};
CREATE UNIQUE INDEX numbers_e164 ON numbers (e164);
CREATE INDEX numbers_pool ON numbers (tenant_id, state, e164);
CREATE INDEX numbers_owner ON numbers (user_id, state);
CREATE INDEX numbers_timers ON numbers (state, paid_until);
CREATE TABLE number_orders (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  user_id VARCHAR(40) NOT NULL,
  idem_key VARCHAR(128) NOT NULL,
  e164 VARCHAR(20) NOT NULL,
  provider VARCHAR(16) NOT NULL,
  number_id VARCHAR(40) NOT NULL,
  provider_order_id VARCHAR(100) NOT NULL,
  state VARCHAR(16) NOT NULL,
  hold_id VARCHAR(40) NOT NULL,
  amount_micros BIGINT NOT NULL,
  label VARCHAR(100) NOT NULL,
  error_code VARCHAR(40) NOT NULL,
  error_reason VARCHAR(64) NOT NULL,
  error_message VARCHAR(500) NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
){{table}};
CREATE UNIQUE INDEX number_orders_idem ON number_orders (tenant_id, user_id, idem_key);
CREATE INDEX number_orders_state ON number_orders (state, created_at);
CREATE TABLE number_providers (
  tenant_id VARCHAR(40) NOT NULL,
  name VARCHAR(16) NOT NULL,
  enabled INTEGER NOT NULL,
  settings {{text}} NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, name)
){{table}};
CREATE TABLE port_requests (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  user_id VARCHAR(40) NOT NULL,
  numbers {{text}} NOT NULL,
  losing_carrier VARCHAR(100) NOT NULL,
  account_number VARCHAR(64) NOT NULL,
  account_pin VARCHAR(200) NOT NULL,
  account_name VARCHAR(200) NOT NULL,
  service_address VARCHAR(500) NOT NULL,
  documents {{text}} NOT NULL,
  status VARCHAR(16) NOT NULL,
  notes {{text}} NOT NULL,
  history {{text}} NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
){{table}};
CREATE INDEX port_requests_tenant ON port_requests (tenant_id, status);
CREATE INDEX port_requests_user ON port_requests (user_id)
)SQL"}};
}

}  // namespace rh::numbers
