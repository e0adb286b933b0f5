#include "support/test_db.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/crypto.hpp"

namespace rh::test {

namespace fs = std::filesystem;

std::optional<std::string> mariadb_server_url() {
  const char* dir = std::getenv("RINGHOUSE_TEST_MARIADB_DIR");
  std::string d = dir ? dir : "";
  if (d.empty()) return std::nullopt;
  std::ifstream in(fs::path(d) / "url");
  std::string url;
  if (!in || !std::getline(in, url) || url.empty()) return std::nullopt;
  return url;
}

std::string make_temp_dir(const std::string& prefix) {
  std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

const char* dialect_param_name(storage::Dialect d) {
  return d == storage::Dialect::sqlite ? "SQLite" : "MariaDB";
}

TestDb::~TestDb() {
  db.reset();
  if (!mariadb_name.empty()) {
    auto url = mariadb_server_url();
    if (url) {
      auto o = storage::parse_mariadb_url(*url + "mysql");
      if (o) {
        auto admin = storage::open_mariadb(*o);
        if (admin) {
          (void)(*admin)->with_connection(
              storage::Access::write, [&](storage::Connection& c) -> Status {
                return c.exec_script("DROP DATABASE IF EXISTS `" + mariadb_name + "`");
              });
        }
      }
    }
  }
  if (!dir.empty()) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
}

std::unique_ptr<TestDb> open_test_db(storage::Dialect d, std::string& skip_reason) {
  crypto::init();
  auto t = std::make_unique<TestDb>();
  t->dialect = d;
  if (d == storage::Dialect::sqlite) {
    t->dir = make_temp_dir("rh-sqlite");
    t->location = t->dir + "/test.db";
    storage::SqliteOptions o;
    o.path = t->location;
    o.synchronous_full = false;
    auto db = storage::open_sqlite(o);
    if (!db) throw std::runtime_error("open sqlite: " + db.error().message);
    t->db = std::move(*db);
    return t;
  }
  auto url = mariadb_server_url();
  if (!url) {
    skip_reason =
        "no test MariaDB server: run through ctest (its fixture starts one) or set "
        "RINGHOUSE_TEST_MARIADB_DIR to a directory started by tests/support/mariadb-server.sh";
    return nullptr;
  }
  t->mariadb_name = "rh_test_" + crypto::hex_encode(crypto::random_bytes(6));
  {
    auto o = storage::parse_mariadb_url(*url + "mysql");
    if (!o) throw std::runtime_error("bad test MariaDB URL: " + o.error().message);
    auto admin = storage::open_mariadb(*o);
    if (!admin) throw std::runtime_error("connect to test MariaDB: " + admin.error().message);
    Status st =
        (*admin)->with_connection(storage::Access::write, [&](storage::Connection& c) -> Status {
          return c.exec_script("CREATE DATABASE `" + t->mariadb_name +
                               "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
        });
    if (!st) throw std::runtime_error("create test database: " + st.error().message);
  }
  t->location = *url + t->mariadb_name;
  auto o = storage::parse_mariadb_url(t->location);
  if (!o) throw std::runtime_error(o.error().message);
  o->pool_size = 8;
  auto db = storage::open_mariadb(*o);
  if (!db) throw std::runtime_error("open test database: " + db.error().message);
  t->db = std::move(*db);
  return t;
}

}  // namespace rh::test
