// Group commit: many small transactions from concurrent callers committed as
// one. Each caller's work runs inside a SAVEPOINT of a shared transaction and
// every caller returns after that one COMMIT — durable, exactly as with a
// transaction of its own, but one fsync serves the whole group. A caller
// whose work fails (an error or an exception) is rolled back to its savepoint
// alone. If the shared transaction fails as a whole (a failed COMMIT, a busy
// database), each caller's work runs again in a transaction of its own, so
// one caller's trouble never becomes another's.
//
// The SQLite driver runs every transaction through one (its writes are
// serialised on one connection anyway, so a group costs nothing but the
// savepoints and saves a commit and an fsync per member).
//
// Urgent work (Priority::ahead) goes ahead of the ordinary work waiting, in
// a group of its own. Priority::now work that arrives while an ordinary
// group runs does not even wait for all of it: the leader runs it next,
// commits what ran so far with it, and leaves the group's unrun members for
// the next group (an extra commit: for work everything else waits on).
//
// Leader/follower: the first caller to find no group running takes the
// waiting work (up to max_batch, in arrival order) and runs it; the others
// wait, each on its own condition variable: the leader wakes the callers it
// committed and hands the lead to the first one still waiting, so a commit
// wakes only the threads it concerns. No thread of its own. The work must
// not depend on which thread runs it, and like any transaction body it may
// run more than once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <vector>

#include "storage/database.hpp"

namespace rh::storage {

class GroupCommitter {
 public:
  using Body = std::function<Status(Connection&)>;
  // Runs one body in a transaction of its own (BEGIN … COMMIT or ROLLBACK).
  using Runner = std::function<Status(const Body&)>;

  explicit GroupCommitter(Runner run_transaction, std::size_t max_batch = 64)
      : run_transaction_(std::move(run_transaction)), max_batch_(max_batch == 0 ? 1 : max_batch) {}

  enum class Priority { normal, ahead, now };
  // Runs fn in a (shared) transaction; its result once committed. An
  // exception fn throws is rethrown here, after its work was rolled back.
  Status run(const Body& fn, Priority priority = Priority::normal);

  struct Stats {
    // cut_short: groups committed early for urgent work that arrived while
    // they ran (it joined them; their unrun members went to the next group).
    std::uint64_t groups = 0, items = 0, fallbacks = 0, cut_short = 0;
  };
  Stats stats() const;
  // Callers waiting for a group to take their work.
  std::size_t waiting() const;

 private:
  struct Item {
    const Body* fn = nullptr;
    Status result;
    std::exception_ptr exception;
    bool done = false;
    bool urgent = false;   // Priority::ahead or ::now
    bool preempt = false;  // Priority::now
    bool lead = false;     // handed the lead by the previous leader
    std::condition_variable cv;
  };
  void execute(std::deque<Item*>& batch);
  // Before batch[at] runs: Priority::now work is waiting, so the urgent work
  // waiting runs next and the group ends with it (batch[at..] go back to
  // the queue's head).
  void cut_for_urgent(std::deque<Item*>& batch, std::size_t at, std::vector<Status>& results);
  Status call(Item& item, Connection& c);

  Runner run_transaction_;
  std::size_t max_batch_;
  mutable std::mutex mu_;
  std::deque<Item*> queue_;
  bool leading_ = false;
  // Priority::now items in queue_: changed under mu_, read without it by the
  // leader between the members of a group.
  std::atomic<std::size_t> preempt_waiting_{0};
  Stats stats_;
};

}  // namespace rh::storage
