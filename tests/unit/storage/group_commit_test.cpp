// GroupCommitter on both drivers: concurrent callers share commits, a
// failing caller is rolled back alone, and every result is its own.
#include "storage/group_commit.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "unit/unit_db.hpp"

namespace rh::storage {
namespace {

class GroupCommitTest : public unit::DbTest {
 protected:
  void SetUp() override {
    unit::DbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto st = exec("CREATE TABLE gc_items (id INTEGER NOT NULL PRIMARY KEY, note VARCHAR(20))");
    ASSERT_TRUE(st) << st.error().message;
  }
};

TEST_P(GroupCommitTest, ConcurrentCallersShareCommitsAndFailAlone) {
  GroupCommitter gc(db(), 16);
  constexpr int kThreads = 8, kPerThread = 50;
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::int64_t id = t * 1000 + i;
        const bool fail = i % 10 == 3;  // writes, then fails: must leave nothing
        Status st = gc.run([&](Connection& c) -> Status {
          RH_TRY(c.exec("INSERT INTO gc_items (id, note) VALUES (?, 'x')", {id}));
          if (fail) return make_error(Errc::invalid_argument, "refused");
          return {};
        });
        if (st) {
          ++ok;
        } else {
          EXPECT_EQ(st.error().message, "refused");
          ++failed;
        }
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), kThreads * 5);
  EXPECT_EQ(ok.load(), kThreads * (kPerThread - 5));
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM gc_items"), ok.load());
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM gc_items WHERE MOD(id, 1000) = 3"), 0);
  auto s = gc.stats();
  EXPECT_EQ(s.items, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_LE(s.groups, s.items);
}

TEST_P(GroupCommitTest, AUniqueViolationFailsOnlyItsCaller) {
  GroupCommitter gc(db(), 16);
  ASSERT_TRUE(gc.run([](Connection& c) -> Status {
    RH_TRY(c.exec("INSERT INTO gc_items (id, note) VALUES (1, 'first')", {}));
    return {};
  }));
  std::vector<std::thread> threads;
  std::atomic<int> conflicts{0}, ok{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      Status st = gc.run([&](Connection& c) -> Status {
        RH_TRY(c.exec("INSERT INTO gc_items (id, note) VALUES (?, 'again')",
                      {static_cast<std::int64_t>(t % 2 == 0 ? 1 : 100 + t)}));
        return {};
      });
      if (st)
        ++ok;
      else if (st.error().code == Errc::conflict)
        ++conflicts;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(conflicts.load(), 2);
  EXPECT_EQ(ok.load(), 2);
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM gc_items"), 3);
}

RH_ON_BOTH_DRIVERS(GroupCommitTest);

}  // namespace
}  // namespace rh::storage
