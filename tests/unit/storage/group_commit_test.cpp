// Concurrent transactions on both drivers: a failing caller is rolled back
// alone and every result is its own; on SQLite they share commits
// (GroupCommitter inside the driver).
#include "storage/group_commit.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
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

// The order in which bodies ran, from any thread.
class RunOrder {
 public:
  void note(const std::string& who) {
    std::lock_guard lk(mu_);
    order_.push_back(who);
  }
  std::vector<std::string> order() const {
    std::lock_guard lk(mu_);
    return order_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> order_;
};

// Waits (up to 5 s) until n callers wait for a group to take their work.
void wait_for_waiting(const GroupCommitter& gc, std::size_t n) {
  for (int i = 0; i < 5000 && gc.waiting() != n; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(gc.waiting(), n);
}

TEST_P(GroupCommitTest, ConcurrentCallersShareCommitsAndFailAlone) {
  const auto before = db().stats();
  constexpr int kThreads = 8, kPerThread = 50;
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::int64_t id = t * 1000 + i;
        const bool fail = i % 10 == 3;  // writes, then fails: must leave nothing
        Status st = db().transaction([&](Connection& c) -> Status {
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
  const auto after = db().stats();
  EXPECT_EQ(after.transactions - before.transactions,
            static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_LE(after.commits - before.commits, after.transactions - before.transactions);
}

TEST_P(GroupCommitTest, AUniqueViolationFailsOnlyItsCaller) {
  ASSERT_TRUE(db().transaction([](Connection& c) -> Status {
    RH_TRY(c.exec("INSERT INTO gc_items (id, note) VALUES (1, 'first')", {}));
    return {};
  }));
  std::vector<std::thread> threads;
  std::atomic<int> conflicts{0}, ok{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      Status st = db().transaction([&](Connection& c) -> Status {
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

// A body that throws: its caller gets the exception, its writes are rolled
// back, and the callers sharing its commit are not affected.
TEST_P(GroupCommitTest, AnExceptionReachesOnlyItsCaller) {
  constexpr int kThreads = 6, kPerThread = 30;
  std::atomic<int> ok{0}, thrown{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::int64_t id = t * 1000 + i;
        try {
          Status st = db().transaction([&](Connection& c) -> Status {
            RH_TRY(c.exec("INSERT INTO gc_items (id, note) VALUES (?, 'x')", {id}));
            if (i % 7 == 2) throw std::runtime_error("boom");
            return {};
          });
          if (st) ++ok;
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "boom");
          ++thrown;
        }
      }
    });
  for (auto& th : threads) th.join();
  constexpr int kThrowing = 4;  // i = 2, 9, 16, 23
  EXPECT_EQ(thrown.load(), kThreads * kThrowing);
  EXPECT_EQ(ok.load(), kThreads * (kPerThread - kThrowing));
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM gc_items"), ok.load());
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM gc_items WHERE MOD(MOD(id, 1000), 7) = 2"), 0);
}

// On SQLite, callers that arrive while a commit is running share the next.
TEST_P(GroupCommitTest, SqliteSharesCommits) {
  if (db().dialect() != Dialect::sqlite) GTEST_SKIP() << "group commit is SQLite's";
  const auto before = db().stats();
  constexpr int kThreads = 16, kPerThread = 40;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i)
        EXPECT_TRUE(db().transaction([&](Connection& c) -> Status {
          RH_TRY(c.exec("INSERT INTO gc_items (id, note) VALUES (?, 'x')",
                        {static_cast<std::int64_t>(t * 1000 + i)}));
          return {};
        }));
    });
  for (auto& th : threads) th.join();
  const auto after = db().stats();
  EXPECT_EQ(after.transactions - before.transactions,
            static_cast<std::uint64_t>(kThreads * kPerThread));
  // 16 threads each waiting on a commit (an fsync each): groups form.
  EXPECT_LT(after.commits - before.commits, after.transactions - before.transactions);
}

// Urgent work waiting goes ahead of the ordinary work that waited before it,
// in a group of its own.
TEST_P(GroupCommitTest, UrgentWorkGoesFirst) {
  GroupCommitter gc([&](const GroupCommitter::Body& b) { return db().transaction(b); }, 64);
  RunOrder run;
  auto note = [&](const std::string& who) { run.note(who); };
  std::promise<void> release, started;
  auto released = release.get_future().share();
  std::thread first([&] {
    EXPECT_TRUE(gc.run([&](Connection&) -> Status {
      started.set_value();
      released.wait();  // holds the group while the others queue
      note("first");
      return {};
    }));
  });
  started.get_future().wait();  // the first one is running
  std::vector<std::thread> ordinary;
  for (int i = 0; i < 4; ++i) {
    ordinary.emplace_back([&, i] {
      EXPECT_TRUE(gc.run([&, i](Connection&) -> Status {
        note("ordinary" + std::to_string(i));
        return {};
      }));
    });
    wait_for_waiting(gc, static_cast<std::size_t>(i + 1));
  }
  std::thread urgent([&] {
    EXPECT_TRUE(gc.run(
        [&](Connection&) -> Status {
          note("urgent");
          return {};
        },
        GroupCommitter::Priority::ahead));
  });
  wait_for_waiting(gc, 5);
  release.set_value();
  first.join();
  urgent.join();
  for (auto& t : ordinary) t.join();
  const auto order = run.order();
  ASSERT_EQ(order.size(), 6u);
  EXPECT_EQ(order[0], "first");
  EXPECT_EQ(order[1], "urgent");
  EXPECT_EQ(order[2], "ordinary0");
  EXPECT_EQ(order[5], "ordinary3");
  // first alone, urgent alone, then the four ordinary ones together
  EXPECT_EQ(gc.stats().groups, 3u);
}

// Priority::now work that arrives while an ordinary group runs joins it at
// once and the group commits with it; the members not run yet go to the
// next group. Priority::ahead work waits for the running group.
TEST_P(GroupCommitTest, UrgentWorkCutsARunningGroupShortOnlyWhenItMustNotWait) {
  for (auto priority : {GroupCommitter::Priority::now, GroupCommitter::Priority::ahead}) {
    SCOPED_TRACE(priority == GroupCommitter::Priority::now ? "now" : "ahead");
    ASSERT_TRUE(exec("DELETE FROM gc_items"));
    GroupCommitter gc([&](const GroupCommitter::Body& b) { return db().transaction(b); }, 64);
    RunOrder run;
    auto note = [&](const std::string& who) { run.note(who); };
    std::promise<void> release_lead, lead_started, release_a, a_started;
    auto lead_released = release_lead.get_future().share();
    auto a_released = release_a.get_future().share();
    // "lead" holds a group of its own while a, b and c queue: they then run
    // as one group, a first.
    std::thread lead([&] {
      EXPECT_TRUE(gc.run([&](Connection&) -> Status {
        lead_started.set_value();
        lead_released.wait();
        note("lead");
        return {};
      }));
    });
    lead_started.get_future().wait();
    std::vector<std::thread> members;
    for (std::string name : {"a", "b", "c"}) {
      members.emplace_back([&, name] {
        EXPECT_TRUE(gc.run([&, name](Connection& c) -> Status {
          if (name == "a") {
            a_started.set_value();
            a_released.wait();  // the urgent work arrives meanwhile
          }
          note(name);
          RH_TRY(c.exec("INSERT INTO gc_items (id, note) VALUES (?, ?)",
                        {static_cast<std::int64_t>(name[0]), name}));
          return {};
        }));
      });
      wait_for_waiting(gc, members.size());
    }
    release_lead.set_value();
    a_started.get_future().wait();  // a's group (a, b, c) is running
    ASSERT_EQ(gc.waiting(), 0u);
    std::thread urgent([&] {
      EXPECT_TRUE(gc.run(
          [&](Connection&) -> Status {
            note("urgent");
            return {};
          },
          priority));
    });
    wait_for_waiting(gc, 1);
    release_a.set_value();
    urgent.join();
    lead.join();
    for (auto& t : members) t.join();
    const std::vector<std::string> cut{"lead", "a", "urgent", "b", "c"};
    const std::vector<std::string> waited{"lead", "a", "b", "c", "urgent"};
    EXPECT_EQ(run.order(), priority == GroupCommitter::Priority::now ? cut : waited);
    // now: lead alone, a with the urgent work, then b and c.
    // ahead: lead alone, a b c, then the urgent work alone.
    EXPECT_EQ(gc.stats().groups, 3u);
    EXPECT_EQ(gc.stats().cut_short, priority == GroupCommitter::Priority::now ? 1u : 0u);
    EXPECT_EQ(gc.stats().items, 5u);
    EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM gc_items"), 3);
  }
}

RH_ON_BOTH_DRIVERS(GroupCommitTest);

}  // namespace
}  // namespace rh::storage
