// Ledger postings/s (billing/ledger.hpp) on SQLite or MariaDB: each
// transaction is one wallet debit or credit — two postings, the wallet's
// conditional balance update and its balance-after — committed on its own,
// as a call's or a message's charge is. See bench/README.md.
//
//   ledger_bench --driver sqlite|mariadb [--url mariadb://u:p@h:port/db]
//                [--threads 4] [--seconds 5] [--users 1000] [--sqlite-sync full|normal]
//
// Two runs per invocation: "spread" (each thread charges its own users: no
// two transactions wait on one wallet row) and "one_wallet" (every thread
// charges the same user: the worst case, serialised on that row). One line
// per run on stdout:
//
//   BENCH driver=sqlite mode=spread threads=4 txns=N seconds=X txns_per_s=X
//         postings_per_s=X p50_ms=X p99_ms=X refused=N
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "app/platform.hpp"
#include "billing/ledger.hpp"
#include "core/clock.hpp"
#include "storage/database.hpp"

namespace {

using namespace rh;

struct Args {
  std::string driver = "sqlite";
  std::string url;
  int threads = 4;
  double seconds = 5;
  int users = 1000;
  bool sync_full = true;  // SQLite: fsync on every commit (the server's default)
};

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

void run(storage::Database& db, billing::Ledger& ledger, const Args& a, bool one_wallet) {
  // Every user starts with plenty: debits never run dry.
  for (int u = 0; u < (one_wallet ? 1 : a.users); ++u) {
    auto st = db.in_transaction<std::string>([&](storage::Connection& c) {
      billing::Posting p;
      p.kind = billing::TxnKind::topup;
      p.tenant_id = "ten_bench";
      p.user_id = one_wallet ? std::string("usr_one") : "usr_" + std::to_string(u);
      p.amount_micros = 1'000'000'000'000;
      p.actor = "bench";
      return ledger.credit(c, p);
    });
    if (!st) {
      std::cerr << "seed: " << st.error().message << "\n";
      std::exit(1);
    }
  }
  std::atomic<bool> stop{false};
  std::atomic<long> refused{0};
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(a.threads));
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < a.threads; ++t)
    ts.emplace_back([&, t] {
      long i = 0;
      while (!stop.load()) {
        std::string user =
            one_wallet
                ? "usr_one"
                : "usr_" + std::to_string((t + a.threads * (i % (a.users / a.threads))) % a.users);
        auto t0 = std::chrono::steady_clock::now();
        auto r = db.in_transaction<std::string>([&](storage::Connection& c) {
          billing::Posting p;
          p.kind = i % 2 ? billing::TxnKind::sms : billing::TxnKind::call;
          p.tenant_id = "ten_bench";
          p.user_id = user;
          p.amount_micros = 7'500 + i % 100;
          p.reference = "bench";
          p.actor = "bench";
          return ledger.debit(c, p);
        });
        auto t1 = std::chrono::steady_clock::now();
        if (!r) ++refused;
        lat[static_cast<std::size_t>(t)].push_back(
            std::chrono::duration<double, std::milli>(t1 - t0).count());
        ++i;
      }
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(a.seconds));
  stop = true;
  for (auto& t : ts) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  double txns = static_cast<double>(all.size());
  std::printf(
      "BENCH driver=%s%s mode=%s threads=%d txns=%.0f seconds=%.2f txns_per_s=%.0f "
      "postings_per_s=%.0f p50_ms=%.2f p99_ms=%.2f refused=%ld\n",
      a.driver.c_str(), a.driver == "sqlite" ? (a.sync_full ? " sync=full" : " sync=normal") : "",
      one_wallet ? "one_wallet" : "spread", a.threads, txns, secs, txns / secs, 2 * txns / secs,
      pct(all, 0.50), pct(all, 0.99), refused.load());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << k << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--driver")
      a.driver = next();
    else if (k == "--url")
      a.url = next();
    else if (k == "--threads")
      a.threads = std::max(1, std::atoi(next().c_str()));
    else if (k == "--seconds")
      a.seconds = std::atof(next().c_str());
    else if (k == "--users")
      a.users = std::max(1, std::atoi(next().c_str()));
    else if (k == "--sqlite-sync")
      a.sync_full = next() != "normal";
    else {
      std::cerr << "usage: ledger_bench --driver sqlite|mariadb [--url URL] [--threads N] "
                   "[--seconds S] [--users N] [--sqlite-sync full|normal]\n";
      return 2;
    }
  }
  a.users = std::max(a.users, a.threads);
  Result<std::unique_ptr<storage::Database>> db = Error(Errc::internal, "no driver");
  std::string dir;
  if (a.driver == "sqlite") {
    dir = std::filesystem::temp_directory_path() / ("ledger-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    storage::SqliteOptions o;
    o.path = dir + "/bench.db";
    o.synchronous_full = a.sync_full;
    db = storage::open_sqlite(o);
  } else if (a.driver == "mariadb") {
    auto o = storage::parse_mariadb_url(a.url);
    if (!o) {
      std::cerr << "--url: " << o.error().message << "\n";
      return 2;
    }
    o->pool_size = std::max(8, a.threads + 2);
    db = storage::open_mariadb(*o);
  }
  if (!db) {
    std::cerr << "cannot open the database: " << db.error().message << "\n";
    return 1;
  }
  SystemClock clock;
  auto m = app::migrator().migrate(**db, clock.now_ms());
  if (!m) {
    std::cerr << "migrate: " << m.error().message << "\n";
    return 1;
  }
  billing::Ledger ledger(clock, billing::LedgerOptions{0});
  run(**db, ledger, a, false);
  run(**db, ledger, a, true);
  db->reset();
  if (!dir.empty()) std::filesystem::remove_all(dir);
  return 0;
}
