#include "storage/database.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "storage/migrations.hpp"
#include "unit/unit_db.hpp"

namespace rh::storage {
namespace {

class DatabaseTest : public unit::DbTest {
 protected:
  void SetUp() override {
    unit::DbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    Status st = db().with_connection(Access::write, [&](Connection& c) -> Status {
      return c.exec_script(render_sql(
          "CREATE TABLE vals (id {{id_pk}}, i BIGINT, d DOUBLE, s {{text}}, b {{blob}}){{table}};"
          "CREATE TABLE uniq (k VARCHAR(50) NOT NULL, v INTEGER){{table}};"
          "CREATE UNIQUE INDEX uniq_k ON uniq (k)",
          dialect()));
    });
    ASSERT_TRUE(st.ok()) << st.error().message;
  }

  // Inserts one row of values and reads it back.
  Row round_trip(const Value& i, const Value& d, const Value& s, const Value& b) {
    auto id = db().in_transaction<std::int64_t>([&](Connection& c) -> Result<std::int64_t> {
      RH_ASSIGN(auto r, c.exec("INSERT INTO vals (i, d, s, b) VALUES (?, ?, ?, ?)", {i, d, s, b}));
      return r.last_insert_id;
    });
    EXPECT_TRUE(id.ok()) << id.error().message;
    auto row = db().read<Row>([&](Connection& c) {
      return c.query_one("SELECT id, i, d, s, b FROM vals WHERE id = ?", {id ? *id : -1});
    });
    EXPECT_TRUE(row.ok()) << row.error().message;
    return std::move(row).value();
  }

  std::int64_t count_uniq() { return scalar("SELECT COUNT(*) AS n FROM uniq"); }
};

TEST_P(DatabaseTest, IntegersRoundTripAtTheLimits) {
  for (std::int64_t v :
       {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(),
        std::int64_t{0}, std::int64_t{-1}, std::int64_t{1'700'000'000'000}}) {
    SCOPED_TRACE(v);
    Row r = round_trip(v, Value{}, Value{}, Value{});
    ASSERT_TRUE(std::holds_alternative<std::int64_t>(r.at("i")));
    EXPECT_EQ(r.integer("i"), v);
  }
}

TEST_P(DatabaseTest, DoublesRoundTripExactly) {
  for (double v : {0.1, -2.5, 1e300, -1e-300, 3.141592653589793, 0.0}) {
    SCOPED_TRACE(v);
    Row r = round_trip(Value{}, v, Value{}, Value{});
    EXPECT_EQ(r.number("d"), v);
  }
}

TEST_P(DatabaseTest, TextRoundTripsByteForByte) {
  for (std::string v :
       {std::string("it's \"quoted\""), std::string("back\\slash \\' \\\\"),
        std::string("? ; -- not a placeholder /* or comment */ #"),
        std::string("h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80"),  // é ✓ 😀
        std::string("line\nbreak\ttab\r"), std::string(), std::string(70000, 'x')}) {
    SCOPED_TRACE(v.substr(0, 40));
    Row r = round_trip(Value{}, Value{}, v, Value{});
    ASSERT_TRUE(std::holds_alternative<std::string>(r.at("s")));
    EXPECT_EQ(r.text("s"), v);
    EXPECT_FALSE(r.is_null("s"));
  }
}

TEST_P(DatabaseTest, BlobsRoundTripWithEveryByteValue) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  for (std::string v : {all, std::string("\0\0\0", 3), std::string("'\\\"", 3), std::string()}) {
    Row r = round_trip(Value{}, Value{}, Value{}, Blob{v});
    ASSERT_TRUE(std::holds_alternative<Blob>(r.at("b")));
    EXPECT_EQ(std::get<Blob>(r.at("b")).bytes, v);
    EXPECT_EQ(r.text("b"), v);
  }
}

TEST_P(DatabaseTest, NullsRoundTrip) {
  Row r = round_trip(Value{}, Value{}, Value{}, Value{});
  for (const char* col : {"i", "d", "s", "b"}) {
    EXPECT_TRUE(r.is_null(col)) << col;
  }
  EXPECT_FALSE(r.opt_integer("i").has_value());
  EXPECT_FALSE(r.opt_text("s").has_value());
  EXPECT_THROW((void)r.at("no_such_column"), std::out_of_range);
}

TEST_P(DatabaseTest, ParameterCountMismatchIsAnError) {
  Status st = db().with_connection(Access::write, [&](Connection& c) -> Status {
    RH_TRY(c.exec("INSERT INTO vals (i) VALUES (?)", {std::int64_t{1}, std::int64_t{2}}));
    return {};
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::invalid_argument);
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM vals"), 0);
}

TEST_P(DatabaseTest, QueryOneAndQueryOpt) {
  auto none = db().read<std::optional<Row>>([](Connection& c) {
    return c.query_opt("SELECT i FROM vals WHERE id = ?", {std::int64_t{42}});
  });
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto missing = db().read<Row>([](Connection& c) {
    return c.query_one("SELECT i FROM vals WHERE id = ?", {std::int64_t{42}});
  });
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST_P(DatabaseTest, TransactionCommitsOnSuccess) {
  Status st = db().transaction([](Connection& c) -> Status {
    RH_TRY(c.exec("INSERT INTO uniq (k, v) VALUES (?, ?)", {"a", std::int64_t{1}}));
    RH_TRY(c.exec("INSERT INTO uniq (k, v) VALUES (?, ?)", {"b", std::int64_t{2}}));
    return {};
  });
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(count_uniq(), 2);
}

TEST_P(DatabaseTest, TransactionRollsBackWhenItReturnsAnError) {
  Status st = db().transaction([](Connection& c) -> Status {
    RH_TRY(c.exec("INSERT INTO uniq (k, v) VALUES (?, ?)", {"a", std::int64_t{1}}));
    return Error(Errc::precondition, "changed my mind");
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::precondition);
  EXPECT_EQ(st.error().message, "changed my mind");
  EXPECT_EQ(count_uniq(), 0);
  // The database is still usable.
  ASSERT_TRUE(exec("INSERT INTO uniq (k, v) VALUES ('z', 0)").ok());
  EXPECT_EQ(count_uniq(), 1);
}

TEST_P(DatabaseTest, TransactionRollsBackAndRethrowsWhenItThrows) {
  EXPECT_THROW((void)db().transaction([](Connection& c) -> Status {
    auto r = c.exec("INSERT INTO uniq (k, v) VALUES (?, ?)", {"a", std::int64_t{1}});
    if (!r) return r.take_error();
    throw std::runtime_error("handler bug");
  }),
               std::runtime_error);
  EXPECT_EQ(count_uniq(), 0);
  // The next transaction starts cleanly (nothing left open on the connection).
  Status st = db().transaction([](Connection& c) -> Status {
    RH_TRY(c.exec("INSERT INTO uniq (k, v) VALUES (?, ?)", {"b", std::int64_t{2}}));
    return {};
  });
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(count_uniq(), 1);
}

TEST_P(DatabaseTest, InTransactionReturnsTheValue) {
  auto r = db().in_transaction<std::string>([](Connection& c) -> Result<std::string> {
    RH_TRY(c.exec("INSERT INTO uniq (k, v) VALUES (?, ?)", {"a", std::int64_t{1}}));
    return std::string("done");
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "done");
  auto bad = db().in_transaction<std::string>([](Connection& c) -> Result<std::string> {
    RH_TRY(c.exec("INSERT INTO uniq (k, v) VALUES (?, ?)", {"b", std::int64_t{1}}));
    return Error(Errc::not_found, "nope");
  });
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::not_found);
  EXPECT_EQ(count_uniq(), 1);
}

TEST_P(DatabaseTest, UniqueViolationIsAConflict) {
  ASSERT_TRUE(exec("INSERT INTO uniq (k, v) VALUES (?, ?)", {"a", std::int64_t{1}}).ok());
  Status dup = exec("INSERT INTO uniq (k, v) VALUES (?, ?)", {"a", std::int64_t{2}});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, Errc::conflict) << dup.error().message;

  // Inside a transaction, the conflict rolls back what came before it.
  Status st = db().transaction([](Connection& c) -> Status {
    RH_TRY(c.exec("INSERT INTO uniq (k, v) VALUES (?, ?)", {"b", std::int64_t{1}}));
    RH_TRY(c.exec("INSERT INTO uniq (k, v) VALUES (?, ?)", {"a", std::int64_t{3}}));
    return {};
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::conflict);
  EXPECT_EQ(count_uniq(), 1);
  EXPECT_EQ(scalar("SELECT v AS n FROM uniq WHERE k = 'a'"), 1);
}

TEST_P(DatabaseTest, SqlErrorIsInternal) {
  Status st = exec("SELECT * FROM no_such_table");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::internal);
}

TEST_P(DatabaseTest, UpdateOfUnchangedRowCountsAsAffected) {
  // Both drivers report rows matched, so "nothing changed" is not "not found".
  ASSERT_TRUE(exec("INSERT INTO uniq (k, v) VALUES ('a', 1)").ok());
  auto r = db().in_transaction<std::int64_t>([](Connection& c) -> Result<std::int64_t> {
    RH_ASSIGN(auto e, c.exec("UPDATE uniq SET v = 1 WHERE k = ?", {"a"}));
    return e.affected;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 1);
}

TEST_P(DatabaseTest, PingAndStats) {
  EXPECT_TRUE(db().ping().ok());
  PoolStats s = db().stats();
  EXPECT_GE(s.size, 1);
  EXPECT_EQ(s.in_use, 0);
  EXPECT_EQ(s.waiting, 0);
}

RH_ON_BOTH_DRIVERS(DatabaseTest);

TEST(RenderSql, ReplacesTokensPerDialect) {
  const std::string sql = "CREATE TABLE t (id {{id_pk}}, a {{text}}, b {{blob}}){{table}}";
  EXPECT_EQ(render_sql(sql, Dialect::sqlite),
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT, b BLOB)");
  EXPECT_EQ(
      render_sql(sql, Dialect::mariadb),
      "CREATE TABLE t (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, a LONGTEXT, b LONGBLOB) "
      "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
  EXPECT_EQ(render_sql("{{text}} {{text}}", Dialect::sqlite), "TEXT TEXT");
  EXPECT_EQ(render_sql("no tokens", Dialect::mariadb), "no tokens");
}

TEST(ParseMariadbUrl, ReadsEveryPart) {
  auto o = parse_mariadb_url(
      "mariadb://app:p%40ss%3Aw@db.internal:3307/ringhouse?pool=4&connect_timeout=9");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->user, "app");
  EXPECT_EQ(o->password, "p@ss:w");
  EXPECT_EQ(o->host, "db.internal");
  EXPECT_EQ(o->port, 3307);
  EXPECT_EQ(o->database, "ringhouse");
  EXPECT_EQ(o->pool_size, 4);
  EXPECT_EQ(o->connect_timeout_s, 9);

  auto sock = parse_mariadb_url("mysql://u@/db?socket=%2Frun%2Fmysqld%2Fmysqld.sock");
  ASSERT_TRUE(sock.ok()) << sock.error().message;
  EXPECT_EQ(sock->unix_socket, "/run/mysqld/mysqld.sock");
  EXPECT_EQ(sock->host, "localhost");

  auto v6 = parse_mariadb_url("mariadb://u:p@[::1]:3306/");
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->database, "");  // "host/" means no default database
}

TEST(ParseMariadbUrl, RejectsBadUrlsWithoutRepeatingThePassword) {
  for (const char* bad :
       {"postgres://u:hunter2@h/db", "mariadb://u:hunter2@h:0/db", "mariadb://u:hunter2@h:70000/db",
        "mariadb://u:hunter2@h:/db", "mariadb://u:hunter2@h/db?pool=0",
        "mariadb://u:hunter2@h/db?nope=1", "mariadb://u:hunter2%zz@h/db", "mariadb://u:hunter2@/db",
        "mariadb://u:hunter2@h/d#b"}) {
    SCOPED_TRACE(bad);
    auto o = parse_mariadb_url(bad);
    ASSERT_FALSE(o.ok());
    EXPECT_EQ(o.error().code, Errc::invalid_argument);
    EXPECT_EQ(o.error().message.find("hunter2"), std::string::npos) << o.error().message;
  }
}

TEST(OpenSqlite, RefusesInMemoryDatabases) {
  SqliteOptions o;
  o.path = ":memory:";
  auto db = open_sqlite(o);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace rh::storage
