// The durable job queue through the real binary: retries with back-off,
// dead-letters, scheduled jobs, and crash recovery after kill -9 with every
// job done exactly once.
#include <signal.h>

#include <boost/json.hpp>
#include <map>
#include <set>

#include "core/clock.hpp"
#include "e2e/e2e_fixture.hpp"

namespace rh::test {

namespace json = boost::json;

class Jobs : public E2E {
 protected:
  // Fast retries and short leases so the test does not wait long.
  std::vector<std::string> fast() {
    return {"--set", "jobs.retry_base_ms=50", "--set", "jobs.retry_max_ms=200",
            "--set", "jobs.poll_ms=50",       "--set", "jobs.lease_seconds=2"};
  }
  std::string enqueue(RinghouseProcess& p, const std::string& body) {
    auto r = http_json(p.port(), "POST", "/v1/admin/jobs", body, p.operator_token());
    EXPECT_EQ(r.status, 201) << r.body;
    return std::string(r.json().at("id").as_string());
  }
  json::value job(RinghouseProcess& p, const std::string& id) {
    auto r = http_get(p.port(), "/v1/admin/jobs/" + id, p.operator_token());
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  }
  std::string state(RinghouseProcess& p, const std::string& id) {
    return std::string(job(p, id).at("state").as_string());
  }
  std::size_t runs(RinghouseProcess& p, const std::string& id) {
    auto r = http_get(p.port(), "/v1/admin/jobs/" + id + "/probe-runs", p.operator_token());
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json().at("data").as_array().size();
  }
};
RH_E2E_ON_BOTH_DRIVERS(Jobs);

TEST_P(Jobs, FailsTwiceThenSucceeds) {
  auto p = start(fast());
  std::string id =
      enqueue(*p, R"({"kind":"diag.probe","payload":{"fail_times":2,"note":"twice"}})");
  ASSERT_TRUE(eventually([&] { return state(*p, id) == "done"; })) << job(*p, id);
  auto j = job(*p, id);
  EXPECT_EQ(j.at("attempts").as_int64(), 3);
  EXPECT_TRUE(j.at("last_error").is_null());
  EXPECT_EQ(runs(*p, id), 1u);
  EXPECT_NE(p->log().find("attempt 2/8 failed"), std::string::npos);
}

TEST_P(Jobs, DeadLettersAfterMaxAttemptsAndCanBeRetried) {
  auto p = start(fast());
  std::string token = p->operator_token();
  std::string id =
      enqueue(*p, R"({"kind":"diag.probe","max_attempts":3,"payload":{"fail_times":5}})");
  ASSERT_TRUE(eventually([&] { return state(*p, id) == "dead"; })) << job(*p, id);
  auto j = job(*p, id);
  EXPECT_EQ(j.at("attempts").as_int64(), 3);
  EXPECT_NE(std::string(j.at("last_error").as_string()).find("probe failing"), std::string::npos);
  EXPECT_EQ(runs(*p, id), 0u);
  // Visible among the dead, with an event.
  auto dead = http_get(p->port(), "/v1/admin/jobs?state=dead", token).json();
  ASSERT_EQ(dead.at("data").as_array().size(), 1u);
  auto ev = http_get(p->port(), "/v1/admin/events?type=job.dead", token).json();
  ASSERT_EQ(ev.at("data").as_array().size(), 1u);
  EXPECT_EQ(std::string(ev.at("data").as_array().at(0).at("subject").as_string()), id);
  // An operator retry gives it a fresh budget; it fails again (fail_times 5 > 3).
  auto retried = http_json(p->port(), "POST", "/v1/admin/jobs/" + id + "/retry", "", token);
  EXPECT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(std::string(retried.json().at("state").as_string()), "queued");
  // Retrying a job that is not dead is refused.
  std::string ok = enqueue(*p, R"({"kind":"diag.probe"})");
  ASSERT_TRUE(eventually([&] { return state(*p, ok) == "done"; }));
  EXPECT_EQ(http_json(p->port(), "POST", "/v1/admin/jobs/" + ok + "/retry", "", token).status, 409);
}

TEST_P(Jobs, ScheduledJobWaitsForItsTime) {
  auto p = start(fast());
  std::int64_t at = SystemClock().now_ms() + 1500;
  std::string id = enqueue(*p, R"({"kind":"diag.probe","run_at":")" + format_rfc3339(at) + R"("})");
  std::string later = enqueue(*p, R"({"kind":"diag.probe","run_at":"2999-01-01T00:00:00Z"})");
  EXPECT_EQ(state(*p, id), "queued");
  ASSERT_TRUE(eventually([&] { return state(*p, id) == "done"; }));
  auto finished = parse_rfc3339(std::string(job(*p, id).at("finished_at").as_string()));
  ASSERT_TRUE(finished);
  EXPECT_GE(*finished, at);
  EXPECT_EQ(state(*p, later), "queued");
  // A queued job can be cancelled, and is then never run.
  auto c =
      http_json(p->port(), "POST", "/v1/admin/jobs/" + later + "/cancel", "", p->operator_token());
  EXPECT_EQ(c.status, 200);
  EXPECT_EQ(state(*p, later), "cancelled");
  // The recurring maintenance schedules are there.
  auto q = http_get(p->port(), "/v1/admin/queue", p->operator_token()).json();
  std::set<std::string> names;
  for (const auto& s : q.at("schedules").as_array())
    names.insert(std::string(s.at("name").as_string()));
  EXPECT_TRUE(names.count("maintenance.prune")) << json::serialize(q);
  EXPECT_TRUE(names.count("accounts.prune")) << json::serialize(q);
}

TEST_P(Jobs, JobLongerThanItsLeaseRunsOnce) {
  // A 1 s lease and a 2.5 s job: the worker's heartbeat keeps the lease, so
  // the other worker never takes the job over.
  auto p = start(
      {"--set", "jobs.lease_seconds=1", "--set", "jobs.poll_ms=50", "--set", "jobs.workers=2"});
  std::string id = enqueue(*p, R"({"kind":"diag.probe","payload":{"sleep_ms":2500}})");
  ASSERT_TRUE(eventually([&] { return state(*p, id) == "done"; }));
  EXPECT_EQ(job(*p, id).at("attempts").as_int64(), 1);
  EXPECT_EQ(runs(*p, id), 1u);
}

TEST_P(Jobs, BadJobRequestsAreRefused) {
  auto p = start(fast());
  std::string token = p->operator_token();
  for (const char* body :
       {R"({"kind":"payments.steal"})", R"({"kind":"diag.probe","payload":{"fail_times":-1}})",
        R"({"kind":"diag.probe","payload":{"surprise":1}})",
        R"({"kind":"diag.probe","run_at":"tomorrow"})", R"({"kind":"diag.probe","max_attempts":0})",
        R"({"payload":{}})"}) {
    auto r = http_json(p->port(), "POST", "/v1/admin/jobs", body, token);
    EXPECT_EQ(r.status, 422) << body << " -> " << r.body;
  }
  EXPECT_EQ(http_get(p->port(), "/v1/admin/jobs?state=bogus", token).status, 400);
  EXPECT_EQ(http_get(p->port(), "/v1/admin/jobs?limit=0", token).status, 400);
  EXPECT_EQ(http_get(p->port(), "/v1/admin/jobs/job_missing", token).status, 404);
}

TEST_P(Jobs, KillNineWithJobsLeasedLosesNothing) {
  auto p = start(fast());
  std::string dir = p->data_dir();
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) {
    ids.push_back(
        enqueue(*p, R"({"kind":"diag.probe","payload":{"sleep_ms":600,"note":"crash"}})"));
  }
  // Wait until jobs are leased and running, then kill the process hard.
  ASSERT_TRUE(eventually([&] {
    auto q = http_get(p->port(), "/v1/admin/queue", p->operator_token()).json();
    return q.at("counts").at("running").as_int64() >= 2;
  }));
  p->signal(SIGKILL);
  ASSERT_TRUE(p->wait_exit(std::chrono::seconds(10)));

  auto again = start(fast(), dir);
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& id : ids) {
          if (state(*again, id) != "done") return false;
        }
        return true;
      },
      std::chrono::seconds(60)));
  // Every job ran to completion exactly once: one recorded run each.
  for (const auto& id : ids) EXPECT_EQ(runs(*again, id), 1u) << id;
}

}  // namespace rh::test
