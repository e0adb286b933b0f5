#include "storage/group_commit.hpp"

#include <vector>

namespace rh::storage {

Status GroupCommitter::run(const Body& fn, Priority priority) {
  Item item;
  item.fn = &fn;
  item.urgent = priority != Priority::normal;
  item.preempt = priority == Priority::now;
  std::unique_lock lk(mu_);
  if (item.urgent) {
    // Ahead of every waiting ordinary item, behind earlier urgent ones.
    auto at = queue_.begin();
    while (at != queue_.end() && (*at)->urgent) ++at;
    queue_.insert(at, &item);
    if (item.preempt) ++preempt_waiting_;
  } else {
    queue_.push_back(&item);
  }
  if (leading_) {
    item.cv.wait(lk, [&] { return item.done || item.lead; });
    if (item.done) {
      if (item.exception) std::rethrow_exception(item.exception);
      return std::move(item.result);
    }
  }
  // The lead: run groups until this caller's own work is committed. A group
  // is the waiting urgent items alone when there are any (they commit
  // without waiting for the ordinary ones), else up to max_batch items in
  // arrival order.
  leading_ = true;
  while (!item.done) {
    std::deque<Item*> batch;
    const bool urgent_group = queue_.front()->urgent;
    while (!queue_.empty() && batch.size() < max_batch_ &&
           (!urgent_group || queue_.front()->urgent)) {
      if (queue_.front()->preempt) --preempt_waiting_;
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    lk.unlock();
    execute(batch);
    lk.lock();
    // Wake under the lock: a woken caller returns and its Item (and cv) die.
    for (Item* i : batch) {
      i->done = true;
      if (i != &item) i->cv.notify_one();
    }
  }
  if (queue_.empty()) {
    leading_ = false;
  } else {
    queue_.front()->lead = true;
    queue_.front()->cv.notify_one();
  }
  if (item.exception) std::rethrow_exception(item.exception);
  return std::move(item.result);
}

Status GroupCommitter::call(Item& item, Connection& c) {
  item.exception = nullptr;
  try {
    return (*item.fn)(c);
  } catch (...) {
    item.exception = std::current_exception();
    return make_error(Errc::internal, "the transaction threw");
  }
}

void GroupCommitter::execute(std::deque<Item*>& batch) {
  bool whole_failed = false;
  std::vector<Status> results(batch.size());
  auto alone = [&](std::size_t i) {
    try {
      results[i] = run_transaction_([&](Connection& c) { return call(*batch[i], c); });
    } catch (...) {
      batch[i]->exception = std::current_exception();
      results[i] = make_error(Errc::internal, "the transaction threw");
    }
  };
  if (batch.size() == 1) {
    alone(0);
  } else {
    Status st;
    try {
      st = run_transaction_([&](Connection& c) -> Status {
        for (std::size_t i = 0; i < batch.size(); ++i) {
          if (i > 0 && !batch[i]->urgent && preempt_waiting_.load(std::memory_order_relaxed) > 0)
            cut_for_urgent(batch, i, results);
          RH_TRY(c.exec("SAVEPOINT rh_group", {}));
          Status r = call(*batch[i], c);
          if (!r) {
            // A failed ROLLBACK TO means the transaction itself is gone:
            // the whole group falls back.
            RH_TRY(c.exec("ROLLBACK TO SAVEPOINT rh_group", {}));
          }
          RH_TRY(c.exec("RELEASE SAVEPOINT rh_group", {}));
          results[i] = std::move(r);
        }
        return {};
      });
    } catch (...) {
      st = make_error(Errc::internal, "the group's transaction threw");
    }
    whole_failed = !st.ok();
  }
  if (whole_failed) {
    for (std::size_t i = 0; i < batch.size(); ++i) alone(i);
  }
  {
    std::lock_guard lk(mu_);
    ++stats_.groups;
    stats_.items += batch.size();
    if (whole_failed) ++stats_.fallbacks;
  }
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->result = std::move(results[i]);
}

void GroupCommitter::cut_for_urgent(std::deque<Item*>& batch, std::size_t at,
                                    std::vector<Status>& results) {
  std::lock_guard lk(mu_);
  if (preempt_waiting_ == 0) return;
  // The members not run yet go back to the head of the queue (behind no
  // one: the urgent items there are taken now), in their order.
  std::deque<Item*> rest(batch.begin() + static_cast<std::ptrdiff_t>(at), batch.end());
  batch.erase(batch.begin() + static_cast<std::ptrdiff_t>(at), batch.end());
  while (!queue_.empty() && queue_.front()->urgent) {
    if (queue_.front()->preempt) --preempt_waiting_;
    batch.push_back(queue_.front());
    queue_.pop_front();
  }
  queue_.insert(queue_.begin(), rest.begin(), rest.end());
  results.resize(batch.size());
  ++stats_.cut_short;
}

std::size_t GroupCommitter::waiting() const {
  std::lock_guard lk(mu_);
  return queue_.size();
}

GroupCommitter::Stats GroupCommitter::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

}  // namespace rh::storage
