// Helpers shared by the unit tests that need a database: a fixture
// parameterised over both drivers, and small query helpers.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "app/platform.hpp"
#include "core/clock.hpp"
#include "storage/database.hpp"
#include "support/test_db.hpp"

namespace rh::unit {

inline std::string dialect_test_name(const testing::TestParamInfo<storage::Dialect>& info) {
  return test::dialect_param_name(info.param);
}

// A fresh empty database on the parameter's driver, skipped for MariaDB when
// no test server runs. MigratedDbTest also applies every app migration.
class DbTest : public testing::TestWithParam<storage::Dialect> {
 protected:
  explicit DbTest(bool migrate = false) : migrate_(migrate) {}

  void SetUp() override {
    RH_OPEN_TEST_DB(opened, GetParam());
    tdb_ = std::move(opened);
    if (migrate_) {
      auto n = app::migrator().migrate(db(), clock_.now_ms());
      ASSERT_TRUE(n.ok()) << n.error().message;
    }
  }

  storage::Database& db() { return *tdb_->db; }
  storage::Dialect dialect() const { return GetParam(); }

  // The integer in column "n" of the first row ("SELECT COUNT(*) AS n ...").
  std::int64_t scalar(const std::string& sql, std::vector<storage::Value> params = {}) {
    auto r = db().read<std::int64_t>([&](storage::Connection& c) -> Result<std::int64_t> {
      RH_ASSIGN(auto rows, c.query(sql, std::span<const storage::Value>(params)));
      if (rows.empty()) return Error(Errc::not_found, "no row");
      return rows.front().integer("n");
    });
    EXPECT_TRUE(r.ok()) << sql << ": " << (r ? "" : r.error().message);
    return r ? *r : -1;
  }

  Status exec(const std::string& sql, std::vector<storage::Value> params = {}) {
    return db().with_connection(storage::Access::write, [&](storage::Connection& c) -> Status {
      RH_TRY(c.exec(sql, std::span<const storage::Value>(params)));
      return {};
    });
  }

  FakeClock clock_;

 private:
  bool migrate_;
  std::unique_ptr<test::TestDb> tdb_;
};

class MigratedDbTest : public DbTest {
 protected:
  MigratedDbTest() : DbTest(true) {}
};

}  // namespace rh::unit

// Instantiates a DbTest-derived suite on SQLite and MariaDB.
#define RH_ON_BOTH_DRIVERS(suite)                                                         \
  INSTANTIATE_TEST_SUITE_P(                                                               \
      Drivers, suite,                                                                     \
      ::testing::Values(::rh::storage::Dialect::sqlite, ::rh::storage::Dialect::mariadb), \
      ::rh::unit::dialect_test_name)
