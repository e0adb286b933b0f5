// The fixture both mail test files share: a migrated database (jobs and
// emails), a job queue and worker, a temporary directory for the mail log,
// and helpers to queue, run and inspect emails.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "accounts/mail.hpp"
#include "core/metrics.hpp"
#include "jobs/job_queue.hpp"
#include "jobs/schema.hpp"
#include "support/test_db.hpp"
#include "unit/unit_db.hpp"

namespace rh::accounts {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class MailFixture : public unit::DbTest {
 protected:
  explicit MailFixture(int max_attempts, std::string dir_prefix)
      : max_attempts_(max_attempts), dir_prefix_(std::move(dir_prefix)) {}

  void SetUp() override {
    unit::DbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    std::vector<storage::Migration> migrations = jobs::migrations();
    for (auto& m : mail_migrations()) migrations.push_back(std::move(m));
    auto n = storage::Migrator(migrations).migrate(db(), clock_.now_ms());
    ASSERT_TRUE(n.ok()) << n.error().message;
    jobs::QueueOptions q;
    q.default_max_attempts = max_attempts_;
    q.retry_base_ms = 100;
    q.retry_max_ms = 1000;
    q.lease_ms = 30'000;
    queue_ = std::make_unique<jobs::JobQueue>(db(), clock_, q);
    jobs::WorkerOptions w;
    w.node_id = "test-node";
    worker_ = std::make_unique<jobs::JobWorker>(*queue_, db(), metrics_, w);
    dir_ = test::make_temp_dir(dir_prefix_);
    opts_.from = "noreply@ring.example";
    opts_.from_name = "Ring House";
    opts_.log_path = dir_ + "/mail.log";
  }

  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  Result<std::string> queue(const Email& e) {
    return db().in_transaction<std::string>(
        [&](storage::Connection& c) { return queue_email(c, *queue_, clock_, e); });
  }

  std::string queue_ok(const Email& e) {
    auto id = queue(e);
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id ? *id : "";
  }

  bool run_one(const std::string& owner = "test-node/0") {
    auto r = worker_->run_one(owner);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r && *r;
  }

  StoredEmail stored(const std::string& id) {
    auto e = get_email(db(), id);
    EXPECT_TRUE(e.ok()) << e.error().message;
    return e ? *e : StoredEmail{};
  }

  jobs::Job only_job() {
    jobs::JobFilter f;
    f.kind = "mail.send";
    auto jobs = queue_->list(f);
    EXPECT_TRUE(jobs.ok());
    EXPECT_EQ(jobs ? jobs->size() : 0, 1u);
    return jobs && !jobs->empty() ? jobs->front() : jobs::Job{};
  }

  int max_attempts_;
  std::string dir_prefix_;
  metrics::Registry metrics_;
  std::unique_ptr<jobs::JobQueue> queue_;
  std::unique_ptr<jobs::JobWorker> worker_;
  std::string dir_;
  MailOptions opts_;
};

}  // namespace rh::accounts
