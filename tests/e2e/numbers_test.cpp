// Numbers end to end with the local provider: import, search, purchase with
// an Idempotency-Key (replays, concurrent duplicates, 100 parallel buys on a
// balance for 10), labels, release into quarantine and back to the pool.
#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "e2e/numbers_fixture.hpp"

namespace rh::test {
namespace {

namespace json = boost::json;

class NumbersE2E : public NumbersWorld {
 protected:
  void boot(const std::vector<std::string>& extra = {}) {
    boot_with({"--set", "numbers.sweep_interval_s=1", "--set", "jobs.poll_ms=50"}, extra);
  }
};

TEST_P(NumbersE2E, LocalLifecycleFromImportToQuarantineAndBack) {
  boot({"--set", "numbers.aging_s=2"});
  auto imp =
      post_csv(port_, admin("/v1/admin/numbers/import"), numbers_csv(100, 3, "2.00", "1.00"), op_);
  ASSERT_EQ(imp.status, 201) << imp.body;
  EXPECT_EQ(imp.json().at("imported").as_int64(), 3);

  Account a = signed_up_user(port_, op_, "buyer@example.com");
  auto found = call(port_, "GET", "/v1/numbers/available?area_code=415&features=sms,voice", "",
                    a.access_token);
  ASSERT_EQ(found.status, 200) << found.body;
  auto offers = found.json();
  ASSERT_EQ(offers.at("data").as_array().size(), 3u) << found.body;
  const auto& first = offers.at("data").as_array().at(0);
  EXPECT_EQ(jstr(first, "phone_number"), "+14155550100");
  EXPECT_EQ(jstr(first, "provider"), "local");
  EXPECT_EQ(first.at("monthly_price_micros").as_int64(), 2'000'000);
  EXPECT_EQ(first.at("upfront_price_micros").as_int64(), 1'000'000);

  // No key: refused. No money: 402 and nothing held.
  auto nokey = purchase(port_, a.access_token, "+14155550100", "");
  EXPECT_EQ(nokey.status, 422) << nokey.body;
  auto broke = purchase(port_, a.access_token, "+14155550100", "k-broke");
  EXPECT_EQ(broke.status, 402) << broke.body;
  EXPECT_EQ(micros(balance(port_, a.access_token), "held_micros"), 0);

  credit(port_, op_, a.id, "10.00");
  // National input in the tenant's default country (US).
  auto bought = purchase(port_, a.access_token, "(415) 555-0100", "k-1");
  ASSERT_EQ(bought.status, 201) << bought.body;
  auto order = bought.json();
  std::string number_id = jstr(order.at("number"), "id");
  EXPECT_EQ(jstr(order.at("number"), "state"), "active");
  auto b = balance(port_, a.access_token);
  EXPECT_EQ(micros(b, "balance_micros"), 7'000'000);
  EXPECT_EQ(micros(b, "held_micros"), 0);

  // The same key again: the same order, charged once.
  auto again = purchase(port_, a.access_token, "+14155550100", "k-1");
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(jstr(again.json().at("order"), "id"), jstr(order.at("order"), "id"));
  EXPECT_EQ(micros(balance(port_, a.access_token), "balance_micros"), 7'000'000);
  // The same key for another number is a client error.
  auto reused = purchase(port_, a.access_token, "+14155550101", "k-1");
  EXPECT_EQ(reused.status, 422) << reused.body;
  // The bought number is not offered any more; someone else cannot buy it.
  found = call(port_, "GET", "/v1/numbers/available?area_code=415", "", a.access_token);
  EXPECT_EQ(found.json().at("data").as_array().size(), 2u) << found.body;
  Account other = signed_up_user(port_, op_, "other@example.com");
  credit(port_, op_, other.id, "10.00");
  auto taken = purchase(port_, other.access_token, "+14155550100", "o-1");
  EXPECT_EQ(taken.status, 409) << taken.body;
  EXPECT_EQ(micros(balance(port_, other.access_token), "available_micros"), 10'000'000);

  // Label, list, ledger.
  auto labelled =
      call(port_, "PATCH", "/v1/numbers/" + number_id, R"({"label":"Work"})", a.access_token);
  ASSERT_EQ(labelled.status, 200) << labelled.body;
  EXPECT_EQ(jstr(labelled.json(), "label"), "Work");
  auto mine = call(port_, "GET", "/v1/numbers", "", a.access_token);
  ASSERT_EQ(mine.status, 200);
  EXPECT_EQ(mine.json().at("data").as_array().size(), 1u);
  EXPECT_EQ(call(port_, "GET", "/v1/numbers/" + number_id, "", other.access_token).status, 404);
  auto ledger = call(port_, "GET", "/v1/ledger", "", a.access_token);
  ASSERT_EQ(ledger.status, 200) << ledger.body;
  auto entries = ledger.json().at("data").as_array();
  ASSERT_EQ(entries.size(), 2u) << ledger.body;
  EXPECT_EQ(jstr(entries.at(0), "kind"), "purchase");
  EXPECT_EQ(entries.at(0).at("amount_micros").as_int64(), -3'000'000);
  EXPECT_EQ(entries.at(0).at("balance_after_micros").as_int64(), 7'000'000);
  EXPECT_EQ(jstr(entries.at(1), "kind"), "adjustment");

  // Release: releasing, then aging (quarantined: not offered), then back.
  auto released = call(port_, "DELETE", "/v1/numbers/" + number_id, "", a.access_token);
  ASSERT_EQ(released.status, 202) << released.body;
  EXPECT_EQ(jstr(released.json(), "state"), "releasing");
  EXPECT_TRUE(eventually([&] {
    auto n = call(port_, "GET", "/v1/admin/numbers/" + number_id, "", op_);
    return n.status == 200 && jstr(n.json(), "state") == "aging";
  })) << rh_->log();
  found = call(port_, "GET", "/v1/numbers/available?contains=5550100", "", other.access_token);
  EXPECT_EQ(found.json().at("data").as_array().size(), 0u) << found.body;
  EXPECT_EQ(purchase(port_, other.access_token, "+14155550100", "o-2").status, 409);
  EXPECT_TRUE(eventually([&] {
    auto f = call(port_, "GET", "/v1/numbers/available?contains=5550100", "", other.access_token);
    return f.status == 200 && f.json().at("data").as_array().size() == 1;
  })) << rh_->log();
  auto rebought = purchase(port_, other.access_token, "+14155550100", "o-3");
  EXPECT_EQ(rebought.status, 201) << rebought.body;
  auto summary = call(port_, "GET", admin("/v1/admin/numbers/summary"), "", op_);
  ASSERT_EQ(summary.status, 200) << summary.body;
  EXPECT_EQ(summary.json().at("by_state").at("active").as_int64(), 1);
  EXPECT_EQ(summary.json().at("by_state").at("available").as_int64(), 2);
}

TEST_P(NumbersE2E, BadCsvRowsAreReportedByLineAndNothingIsImported) {
  boot();
  std::string csv =
      "number,trunk,messaging_route,monthly_price\n"
      "+14155550100,t,m,1.00\n"
      "not a number,t,m,1.00\n"
      "+14155550101,,m,1.00\n"
      "+14155550102,t,m,-1\n"
      "+14155550100,t,m,1.00\n"
      "+14155550103,t,m,1.00\n";
  auto r = post_csv(port_, admin("/v1/admin/numbers/import"), csv, op_);
  ASSERT_EQ(r.status, 422) << r.body;
  auto errors = r.json().at("errors").as_array();
  std::vector<std::int64_t> lines;
  for (const auto& e : errors) lines.push_back(e.at("line").as_int64());
  EXPECT_EQ(lines, (std::vector<std::int64_t>{3, 4, 5, 6})) << r.body;
  auto summary = call(port_, "GET", admin("/v1/admin/numbers/summary"), "", op_);
  EXPECT_EQ(summary.json().at("by_state").at("available").as_int64(), 0);
  // A good file after it goes in whole; the same numbers again are refused.
  ASSERT_EQ(post_csv(port_, admin("/v1/admin/numbers/import"), numbers_csv(0, 5), op_).status, 201);
  auto dup = post_csv(port_, admin("/v1/admin/numbers/import"), numbers_csv(3, 4), op_);
  EXPECT_EQ(dup.status, 422) << dup.body;
  summary = call(port_, "GET", admin("/v1/admin/numbers/summary"), "", op_);
  EXPECT_EQ(summary.json().at("by_state").at("available").as_int64(), 5);
  // Not CSV, not staff.
  EXPECT_EQ(call(port_, "POST", admin("/v1/admin/numbers/import"), "{}", op_).status, 415);
}

TEST_P(NumbersE2E, HundredParallelPurchasesOnABalanceForTenSucceedTenTimes) {
  boot();
  ASSERT_EQ(post_csv(port_, admin("/v1/admin/numbers/import"), numbers_csv(0, 100), op_).status,
            201);
  auto patch = call(port_, "PATCH", "/v1/admin/tenants/" + tenant_,
                    R"({"limits":{"max_numbers_per_user":1000}})", op_);
  ASSERT_EQ(patch.status, 200) << patch.body;
  Account a = signed_up_user(port_, op_, "many@example.com");
  credit(port_, op_, a.id, "10.00");  // each number costs 1.00 (0.50 + 0.50)

  std::mutex mu;
  std::map<int, int> statuses;
  std::vector<std::thread> threads;
  for (int i = 0; i < 100; ++i) {
    threads.emplace_back([&, i] {
      char n[16];
      std::snprintf(n, sizeof n, "+1415555%04d", i);
      auto r = purchase(port_, a.access_token, n, "par-" + std::to_string(i));
      std::lock_guard lk(mu);
      statuses[r.status]++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(statuses[201], 10);
  EXPECT_EQ(statuses[402], 90);
  auto b = balance(port_, a.access_token);
  EXPECT_EQ(micros(b, "balance_micros"), 0);
  EXPECT_EQ(micros(b, "held_micros"), 0);
  auto mine = call(port_, "GET", "/v1/numbers?limit=200", "", a.access_token);
  EXPECT_EQ(mine.json().at("data").as_array().size(), 10u);
  auto summary = call(port_, "GET", admin("/v1/admin/numbers/summary"), "", op_);
  EXPECT_EQ(summary.json().at("by_state").at("available").as_int64(), 90) << summary.body;
  EXPECT_EQ(summary.json().at("by_state").at("reserved").as_int64(), 0) << summary.body;
}

TEST_P(NumbersE2E, ConcurrentDuplicatesOfOneKeyBuyOnce) {
  boot();
  ASSERT_EQ(
      post_csv(port_, admin("/v1/admin/numbers/import"), numbers_csv(0, 2, "1.00", "0.00"), op_)
          .status,
      201);
  Account a = signed_up_user(port_, op_, "dup@example.com");
  credit(port_, op_, a.id, "5.00");
  std::mutex mu;
  std::map<std::string, int> orders;
  std::vector<int> codes;
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i)
    threads.emplace_back([&] {
      auto r = purchase(port_, a.access_token, "+14155550000", "same-key");
      std::lock_guard lk(mu);
      codes.push_back(r.status);
      if (r.status == 201) orders[jstr(r.json().at("order"), "id")]++;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(codes.begin(), codes.end(), 201), 12);
  EXPECT_EQ(orders.size(), 1u);
  EXPECT_EQ(micros(balance(port_, a.access_token), "balance_micros"), 4'000'000);
}

TEST_P(NumbersE2E, ReservationHoldsANumberForOneUser) {
  boot({"--set", "numbers.reservation_s=2"});
  ASSERT_EQ(post_csv(port_, admin("/v1/admin/numbers/import"), numbers_csv(0, 1), op_).status, 201);
  Account a = signed_up_user(port_, op_, "r1@example.com");
  Account b = signed_up_user(port_, op_, "r2@example.com");
  credit(port_, op_, b.id, "5.00");
  auto r = call(port_, "POST", "/v1/numbers/reservations", R"({"phone_number":"+14155550000"})",
                a.access_token);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(jstr(r.json(), "state"), "reserved");
  EXPECT_EQ(call(port_, "POST", "/v1/numbers/reservations", R"({"phone_number":"+14155550000"})",
                 b.access_token)
                .status,
            409);
  EXPECT_EQ(purchase(port_, b.access_token, "+14155550000", "b-1").status, 409);
  // After the reservation runs out the sweep frees it.
  EXPECT_TRUE(eventually([&] {
    return purchase(port_, b.access_token, "+14155550000", "b-" + std::to_string(std::rand()))
               .status == 201;
  })) << rh_->log();
}

TEST_P(NumbersE2E, PortRequestsCarryDocumentsAndStaffMoveThemAlong) {
  boot();
  Account a = signed_up_user(port_, op_, "porter@example.com");
  auto bad = call(
      port_, "POST", "/v1/port-requests",
      R"({"numbers":["not a number"],"losing_carrier":"X","account_number":"1","account_name":"A","service_address":"S"})",
      a.access_token);
  EXPECT_EQ(bad.status, 422) << bad.body;
  auto created = call(
      port_, "POST", "/v1/port-requests",
      R"({"numbers":["(212) 555-0199","+12125550198"],"losing_carrier":"Old Telco","account_number":"ACC-1","account_pin":"4321","account_name":"Ann Example","service_address":"1 Main St, New York"})",
      a.access_token);
  ASSERT_EQ(created.status, 201) << created.body;
  auto p = created.json();
  std::string id = jstr(p, "id");
  EXPECT_EQ(jstr(p, "status"), "submitted");
  EXPECT_TRUE(p.at("pin_set").as_bool());
  EXPECT_EQ(created.body.find("4321"), std::string::npos);  // the PIN is never shown

  // Documents: sniffed, not trusted.
  HttpRequest up;
  up.method = "POST";
  up.target = "/v1/port-requests/" + id + "/documents?name=bill.pdf";
  up.headers = {{"Authorization", "Bearer " + a.access_token}, {"Content-Type", "application/pdf"}};
  up.body = "%PDF-1.4\n% a bill\n";
  auto doc = http(port_, up);
  ASSERT_EQ(doc.status, 201) << doc.body;
  std::string doc_id = jstr(doc.json(), "id");
  up.body = "<html>not a pdf</html>";
  EXPECT_EQ(http(port_, up).status, 422);
  up.headers["Content-Type"] = "image/png";
  up.body = "%PDF-1.4\n";
  EXPECT_EQ(http(port_, up).status, 422);  // says PNG, is a PDF

  auto staff_view = call(port_, "GET", "/v1/admin/port-requests/" + id, "", op_);
  ASSERT_EQ(staff_view.status, 200) << staff_view.body;
  EXPECT_EQ(staff_view.json().at("documents").as_array().size(), 1u);
  auto bytes =
      call(port_, "GET", "/v1/admin/port-requests/" + id + "/documents/" + doc_id, "", op_);
  ASSERT_EQ(bytes.status, 200);
  EXPECT_EQ(bytes.body, "%PDF-1.4\n% a bill\n");
  EXPECT_EQ(bytes.header("content-type"), "application/pdf");

  // Staff move it along; a skipped step is refused; completing needs a trunk.
  EXPECT_EQ(call(port_, "PATCH", "/v1/admin/port-requests/" + id, R"({"status":"completed"})", op_)
                .status,
            409);
  ASSERT_EQ(call(port_, "PATCH", "/v1/admin/port-requests/" + id,
                 R"({"status":"in_review","note":"checking the bill"})", op_)
                .status,
            200);
  ASSERT_EQ(
      call(port_, "PATCH", "/v1/admin/port-requests/" + id, R"({"status":"approved"})", op_).status,
      200);
  EXPECT_EQ(call(port_, "PATCH", "/v1/admin/port-requests/" + id, R"({"status":"completed"})", op_)
                .status,
            422);
  auto done = call(
      port_, "PATCH", "/v1/admin/port-requests/" + id,
      R"({"status":"completed","trunk":"trunk-a","messaging_route":"smpp-a","monthly_price":"1.00"})",
      op_);
  ASSERT_EQ(done.status, 200) << done.body;
  auto history = done.json().at("history").as_array();
  EXPECT_EQ(history.size(), 4u);
  EXPECT_EQ(jstr(history.at(1), "note"), "checking the bill");
  // The numbers are the user's now; the user was told at each step.
  auto mine = call(port_, "GET", "/v1/numbers", "", a.access_token);
  ASSERT_EQ(mine.status, 200);
  EXPECT_EQ(mine.json().at("data").as_array().size(), 2u) << mine.body;
  auto mails =
      call(port_, "GET", "/v1/admin/emails?kind=port_request&to=porter@example.com", "", op_);
  EXPECT_EQ(mails.json().at("data").as_array().size(), 3u) << mails.body;
  // Closed: no more documents, no cancelling.
  up.headers["Content-Type"] = "application/pdf";
  EXPECT_EQ(http(port_, up).status, 409);
  EXPECT_EQ(call(port_, "DELETE", "/v1/port-requests/" + id, "", a.access_token).status, 409);
}

TEST_P(NumbersE2E, TheCommandLineImportsNumbersAndChecksTheLedger) {
  boot();
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--data-dir", rh_->data_dir()});
    auto db = db_args();
    args.insert(args.end(), db.begin(), db.end());
    return run_ringhouse(args);
  };
  std::string dir = make_temp_dir("rh-import");
  {
    std::ofstream good(dir + "/good.csv");
    good << numbers_csv(0, 4);
    std::ofstream bad(dir + "/bad.csv");
    bad << "number,trunk,messaging_route\n+14155559000,t,m\n12,t,m\n+14155559001,t,\n";
  }
  auto refused = cli({"admin", "import-numbers", dir + "/bad.csv"});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("bad.csv:3:"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("bad.csv:4:"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("nothing was imported"), std::string::npos) << refused.output;
  auto ok = cli({"admin", "import-numbers", dir + "/good.csv"});
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("imported 4 number(s)"), std::string::npos) << ok.output;
  auto summary = call(port_, "GET", admin("/v1/admin/numbers/summary"), "", op_);
  EXPECT_EQ(summary.json().at("by_state").at("available").as_int64(), 4) << summary.body;

  Account a = signed_up_user(port_, op_, "cli@example.com");
  credit(port_, op_, a.id, "5.00");
  ASSERT_EQ(purchase(port_, a.access_token, "+14155550000", "cli-1").status, 201);
  auto checked = cli({"admin", "check-ledger"});
  EXPECT_EQ(checked.exit_code, 0) << checked.output;
  EXPECT_NE(checked.output.find("default: balanced"), std::string::npos) << checked.output;
  std::filesystem::remove_all(dir);
}

RH_E2E_ON_BOTH_DRIVERS(NumbersE2E);

}  // namespace
}  // namespace rh::test
