// A fresh database for one test, on either driver: a temporary SQLite file,
// or a new database on the test MariaDB server (tests/support/mariadb-server.sh,
// started by the CTest fixture; its directory comes in RINGHOUSE_TEST_MARIADB_DIR).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "storage/database.hpp"

namespace rh::test {

// The MariaDB server URL (no database), or nullopt when none is running.
std::optional<std::string> mariadb_server_url();

struct TestDb {
  storage::Dialect dialect;
  std::unique_ptr<storage::Database> db;
  std::string location;  // SQLite file path, or the MariaDB URL with database
  std::string dir;       // temporary directory (SQLite)
  std::string mariadb_name;
  ~TestDb();
};

// Opens an empty database. For MariaDB without a server it calls GTEST_SKIP
// through the returned nullptr; use RH_OPEN_TEST_DB.
std::unique_ptr<TestDb> open_test_db(storage::Dialect d, std::string& skip_reason);

// A new empty temporary directory.
std::string make_temp_dir(const std::string& prefix);

const char* dialect_param_name(storage::Dialect d);

}  // namespace rh::test

#define RH_OPEN_TEST_DB(var, dialect)                         \
  std::string var##_skip;                                     \
  auto var = ::rh::test::open_test_db((dialect), var##_skip); \
  if (!var) GTEST_SKIP() << var##_skip;
