#include "storage/migrations.hpp"

#include <gtest/gtest.h>

#include <string>

#include "app/platform.hpp"
#include "unit/unit_db.hpp"

namespace rh::storage {
namespace {

class Migrations : public unit::DbTest {
 protected:
  bool table_exists(const std::string& name) {
    auto r = db().read<bool>([&](Connection& c) -> Result<bool> {
      auto rows = c.query("SELECT COUNT(*) AS n FROM " + name, std::span<const Value>());
      return rows.ok();
    });
    return r.ok() && *r;
  }
};

TEST_P(Migrations, AppliesEveryAppMigrationToAnEmptyDatabase) {
  Migrator m = app::migrator();
  ASSERT_FALSE(m.all().empty());
  auto pending = m.pending(db());
  ASSERT_TRUE(pending.ok()) << pending.error().message;
  EXPECT_EQ(pending->size(), m.all().size());  // no bookkeeping table yet: all pending

  auto ran = m.migrate(db(), clock_.now_ms());
  ASSERT_TRUE(ran.ok()) << ran.error().message;
  EXPECT_EQ(*ran, static_cast<int>(m.all().size()));

  auto applied = m.applied(db());
  ASSERT_TRUE(applied.ok());
  ASSERT_EQ(applied->size(), m.all().size());
  for (std::size_t i = 0; i < applied->size(); ++i) {
    EXPECT_EQ((*applied)[i].version, m.all()[i].version);
    EXPECT_EQ((*applied)[i].name, m.all()[i].name);
    EXPECT_EQ((*applied)[i].applied_at_ms, clock_.now_ms());
  }
  for (const char* t :
       {"jobs", "job_schedules", "events", "diag_probe_runs", "tenants", "tenant_hostnames"}) {
    EXPECT_TRUE(table_exists(t)) << t;
  }
  auto after = m.pending(db());
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
}

TEST_P(Migrations, SecondRunAppliesNothing) {
  Migrator m = app::migrator();
  ASSERT_TRUE(m.migrate(db(), clock_.now_ms()).ok());
  clock_.advance_ms(1000);
  auto again = m.migrate(db(), clock_.now_ms());
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, 0);
  auto applied = m.applied(db());
  ASSERT_TRUE(applied.ok());
  // The first application's time is kept.
  EXPECT_EQ(applied->front().applied_at_ms, clock_.now_ms() - 1000);
}

TEST_P(Migrations, RefusesADatabaseMigratedByANewerBinary) {
  Migrator m = app::migrator();
  ASSERT_TRUE(m.migrate(db(), clock_.now_ms()).ok());
  ASSERT_TRUE(exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                   {std::int64_t{9999123101}, "from the future", clock_.now_ms()})
                  .ok());
  auto r = m.migrate(db(), clock_.now_ms());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::precondition);
  EXPECT_NE(r.error().message.find("9999123101"), std::string::npos) << r.error().message;
}

TEST_P(Migrations, RefusesBeforeApplyingAnything) {
  // Only the unknown version is recorded: nothing of this binary's may run on top.
  Migrator m = app::migrator();
  ASSERT_TRUE(exec(render_sql("CREATE TABLE schema_migrations (version BIGINT NOT NULL PRIMARY KEY,"
                              " name VARCHAR(191) NOT NULL, applied_at BIGINT NOT NULL){{table}}",
                              dialect()))
                  .ok());
  ASSERT_TRUE(exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                   {std::int64_t{9999123101}, "from the future", std::int64_t{1}})
                  .ok());
  auto r = m.migrate(db(), clock_.now_ms());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::precondition);
  EXPECT_FALSE(table_exists("jobs"));
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM schema_migrations"), 1);
}

TEST_P(Migrations, AppliesOnlyWhatIsPendingInVersionOrder) {
  std::vector<Migration> first{{2, "b", "CREATE TABLE mb (x INTEGER){{table}}"}};
  ASSERT_TRUE(Migrator(first).migrate(db(), 1).ok());
  // Given out of order; 1 and 3 are new.
  Migrator m(
      {{3, "c", "CREATE TABLE mc (x INTEGER){{table}}; INSERT INTO mc (x) SELECT COUNT(*) FROM ma"},
       {1, "a", "CREATE TABLE ma (x INTEGER){{table}}"},
       {2, "b", "CREATE TABLE mb (x INTEGER){{table}}"}});
  EXPECT_EQ(m.all().front().version, 1);
  auto pending = m.pending(db());
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].version, 1);
  EXPECT_EQ((*pending)[1].version, 3);
  auto r = m.migrate(db(), 2);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, 2);
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM mc"), 1);  // 3 ran after 1 created ma
}

TEST_P(Migrations, FailedMigrationIsReportedAndNotRecorded) {
  Migrator m({{1, "good", "CREATE TABLE good_one (x INTEGER){{table}}"},
              {2, "broken", "CREATE TABLE broken_one (x INTEGER){{table}}; SELEKT nonsense"},
              {3, "later", "CREATE TABLE later_one (x INTEGER){{table}}"}});
  auto r = m.migrate(db(), clock_.now_ms());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("migration 2 broken"), std::string::npos) << r.error().message;
  auto applied = m.applied(db());
  ASSERT_TRUE(applied.ok());
  ASSERT_EQ(applied->size(), 1u);
  EXPECT_EQ(applied->front().version, 1);
  EXPECT_FALSE(table_exists("later_one"));
  auto pending = m.pending(db());
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ(pending->front().version, 2);
  if (dialect() == Dialect::sqlite) {
    // DDL is transactional on SQLite: the half-applied migration left nothing.
    EXPECT_FALSE(table_exists("broken_one"));
  }
}

RH_ON_BOTH_DRIVERS(Migrations);

TEST(Migrator, DuplicateVersionsAreAProgrammingError) {
  EXPECT_THROW(Migrator({{1, "a", "x"}, {1, "b", "y"}}), std::logic_error);
}

TEST(Migrator, AppMigrationsUseOnlyKnownTokens) {
  Migrator migrator = app::migrator();
  for (const Migration& m : migrator.all()) {
    for (Dialect d : {Dialect::sqlite, Dialect::mariadb}) {
      std::string sql = render_sql(m.sql, d);
      EXPECT_EQ(sql.find("{{"), std::string::npos) << m.version << " " << dialect_name(d);
    }
    // Versions are YYYYMMDDNN.
    EXPECT_GE(m.version, 2000000000);
    EXPECT_LT(m.version, 9999999999);
  }
}

}  // namespace
}  // namespace rh::storage
