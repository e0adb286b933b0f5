// Versioned schema migrations for both drivers. Each module contributes its
// migrations; versions are YYYYMMDDNN so that work on separate modules does
// not collide. SQL is written once with a few dialect tokens:
//   {{id_pk}}   auto-increment 64-bit primary key
//   {{text}}    unbounded text;  {{blob}} unbounded bytes
//   {{table}}   table options (InnoDB, utf8mb4, binary collation on MariaDB)
// Indexed text columns use VARCHAR(n) (n <= 191) on both.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/database.hpp"

namespace rh::storage {

struct Migration {
  std::int64_t version;
  std::string name;
  std::string sql;  // statements separated by ';'
};

struct AppliedMigration {
  std::int64_t version;
  std::string name;
  std::int64_t applied_at_ms;
};

std::string render_sql(std::string_view sql, Dialect d);

class Migrator {
 public:
  explicit Migrator(std::vector<Migration> migrations);

  // Applies every pending migration in version order; returns how many ran.
  // Refuses a database that has versions this binary does not know (a newer
  // binary migrated it).
  Result<int> migrate(Database& db, std::int64_t now_ms);
  Result<std::vector<AppliedMigration>> applied(Database& db);
  Result<std::vector<Migration>> pending(Database& db);
  const std::vector<Migration>& all() const { return all_; }

 private:
  std::vector<Migration> all_;
};

}  // namespace rh::storage
