#include "storage/migrations.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace rh::storage {

namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
}

constexpr std::string_view kBookkeeping =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version BIGINT NOT NULL PRIMARY KEY,"
    " name VARCHAR(191) NOT NULL,"
    " applied_at BIGINT NOT NULL){{table}}";

}  // namespace

std::string render_sql(std::string_view sql, Dialect d) {
  std::string s(sql);
  bool my = d == Dialect::mariadb;
  replace_all(
      s, "{{id_pk}}",
      my ? "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT");
  replace_all(s, "{{text}}", my ? "LONGTEXT" : "TEXT");
  replace_all(s, "{{blob}}", my ? "LONGBLOB" : "BLOB");
  replace_all(s, "{{table}}",
              my ? " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin" : "");
  return s;
}

Migrator::Migrator(std::vector<Migration> migrations) : all_(std::move(migrations)) {
  std::sort(all_.begin(), all_.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (std::size_t i = 1; i < all_.size(); ++i) {
    if (all_[i].version == all_[i - 1].version) {
      throw std::logic_error(fmt::format("two migrations with version {}", all_[i].version));
    }
  }
}

Result<std::vector<AppliedMigration>> Migrator::applied(Database& db) {
  return db.read<std::vector<AppliedMigration>>([&](Connection& c)
                                                    -> Result<std::vector<AppliedMigration>> {
    std::vector<AppliedMigration> out;
    const char* exists_sql =
        c.dialect() == Dialect::sqlite
            ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            : "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() "
              "AND table_name = 'schema_migrations'";
    RH_ASSIGN(auto exists, c.query(exists_sql, {}));
    if (exists.empty()) return out;  // never migrated: nothing applied
    RH_ASSIGN(
        auto rows,
        c.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version", {}));
    for (const auto& r : rows) {
      out.push_back({r.integer("version"), r.text("name"), r.integer("applied_at")});
    }
    return out;
  });
}

Result<std::vector<Migration>> Migrator::pending(Database& db) {
  RH_ASSIGN(auto done, applied(db));
  std::set<std::int64_t> have;
  for (const auto& a : done) have.insert(a.version);
  std::vector<Migration> out;
  for (const auto& m : all_) {
    if (!have.count(m.version)) out.push_back(m);
  }
  return out;
}

Result<int> Migrator::migrate(Database& db, std::int64_t now_ms) {
  Dialect d = db.dialect();
  int ran = 0;
  Status st = db.with_connection(Access::write, [&](Connection& c) -> Status {
    RH_TRY(c.exec_script(render_sql(kBookkeeping, d)));
    // Serialise concurrent migrators (two nodes starting together).
    if (d == Dialect::mariadb) {
      RH_ASSIGN(auto lock, c.query_one("SELECT GET_LOCK('ringhouse_migrate', 60) AS got", {}));
      if (lock.integer("got") != 1)
        return Error(Errc::unavailable, "could not take the migration lock");
    }
    auto run = [&]() -> Status {
      RH_ASSIGN(auto rows, c.query("SELECT version FROM schema_migrations", {}));
      std::set<std::int64_t> have;
      for (const auto& r : rows) have.insert(r.integer("version"));
      std::set<std::int64_t> known;
      for (const auto& m : all_) known.insert(m.version);
      for (auto v : have) {
        if (!known.count(v)) {
          return Error(Errc::precondition,
                       fmt::format("the database has migration {} that this binary does not know: "
                                   "it was migrated by a newer ringhouse",
                                   v));
        }
      }
      for (const auto& m : all_) {
        if (have.count(m.version)) continue;
        // The migration's statements, then its record. On SQLite, where DDL is
        // transactional, both commit together; MariaDB commits DDL implicitly,
        // so there each statement is applied and the record follows.
        bool atomic = d == Dialect::sqlite;
        if (atomic) RH_TRY(c.exec_script("BEGIN IMMEDIATE"));
        Status s = c.exec_script(render_sql(m.sql, d));
        if (s) {
          auto recorded =
              c.exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                     {m.version, m.name, now_ms});
          if (!recorded) s = recorded.take_error();
        }
        if (!s) {
          if (atomic) (void)c.exec_script("ROLLBACK");
          return Error(s.error().code,
                       fmt::format("migration {} {}: {}", m.version, m.name, s.error().message));
        }
        if (atomic) RH_TRY(c.exec_script("COMMIT"));
        ++ran;
      }
      return {};
    };
    Status s = run();
    if (d == Dialect::mariadb) (void)c.query("SELECT RELEASE_LOCK('ringhouse_migrate')", {});
    return s;
  });
  if (!st) return st.take_error();
  return ran;
}

}  // namespace rh::storage
