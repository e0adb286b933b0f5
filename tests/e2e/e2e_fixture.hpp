// The end-to-end fixture: each test runs once on SQLite and once on MariaDB,
// against the real ringhouse binary.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/test_db.hpp"

namespace rh::test {

class E2E : public ::testing::TestWithParam<storage::Dialect> {
 protected:
  void SetUp() override {
    if (GetParam() == storage::Dialect::mariadb) {
      std::string skip;
      db_ = open_test_db(storage::Dialect::mariadb, skip);
      if (!db_) GTEST_SKIP() << skip;
    }
  }

  // Arguments selecting this test's database.
  std::vector<std::string> db_args() const {
    if (!db_) return {};
    return {"--set", "storage.driver=mariadb", "--set", "storage.mariadb_url=" + db_->location};
  }

  std::unique_ptr<RinghouseProcess> start(std::vector<std::string> extra = {},
                                          std::string data_dir = {}) {
    ProcessOptions o;
    o.data_dir = std::move(data_dir);
    o.args = db_args();
    o.args.insert(o.args.end(), extra.begin(), extra.end());
    return std::make_unique<RinghouseProcess>(o);
  }

  std::unique_ptr<TestDb> db_;
};

inline std::string dialect_name(const ::testing::TestParamInfo<storage::Dialect>& info) {
  return dialect_param_name(info.param);
}

#define RH_E2E_ON_BOTH_DRIVERS(Suite)                                                     \
  INSTANTIATE_TEST_SUITE_P(                                                               \
      Drivers, Suite,                                                                     \
      ::testing::Values(::rh::storage::Dialect::sqlite, ::rh::storage::Dialect::mariadb), \
      ::rh::test::dialect_name)

// Polls fn until it returns true or the timeout passes.
inline bool eventually(const std::function<bool()>& fn,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fn()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return fn();
}

}  // namespace rh::test
