// Argon2id throughput of ringhouse's PasswordHasher (accounts/passwords.hpp):
// hashes/s and verifications/s with the configured parameters, on one thread
// and on N threads at once, with the mean time of one operation and the peak
// RSS of each configuration. See bench/README.md.
//
//   password_hash_bench [--memory-kib 19456] [--passes 2] [--threads N]
//                       [--seconds 5] [--ops hash,verify]
//
// One line per configuration on stdout, in the key=value style of the wrk
// scripts' BENCH lines (bench/wrk/report.lua):
//
//   BENCH op=hash memory_kib=19456 passes=2 threads=1 ops=N seconds=X
//         ops_per_s=X mean_ms=X p50_ms=X max_ms=X cpu_s=X cpu_ms_per_op=X
//         peak_rss_kib=N
//
// ops_per_s counts every thread's operations over the wall-clock time of the
// configuration (all threads start together, each stops at the first
// operation ending after --seconds); mean_ms is the mean time of one
// operation as seen by the thread running it, so it grows when the threads
// compete for cores or memory bandwidth. cpu_ms_per_op is the process's CPU
// time over the operations: the cost of one operation, which other load on
// the machine changes much less than the wall-clock figures (when ops_per_s
// is far below threads * 1000 / cpu_ms_per_op, the threads did not get their
// cores). peak_rss_kib is the process's VmHWM
// after the configuration; the peak is reset before each configuration
// (/proc/self/clear_refs), so it is that configuration's own peak.
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <fstream>
#include <iostream>
#include <latch>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "accounts/passwords.hpp"
#include "core/crypto.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kUsage = R"(password_hash_bench: Argon2id hashes/s and verifications/s of PasswordHasher

Usage: password_hash_bench [options]
  --memory-kib N   Argon2id memory per hash (default 19456, the minimum allowed)
  --passes N       Argon2id passes (default 2, the minimum allowed)
  --threads N      threads of the concurrent configuration (default: hardware
                   concurrency); 1 runs the single-threaded configuration only
  --seconds S      length of each configuration (default 5; decimals allowed)
  --ops LIST       hash, verify or hash,verify (default)
  --help
Prints one BENCH line per configuration (operation x thread count).
)";

struct Options {
  rh::accounts::HashParams params;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  double seconds = 5.0;
  bool hash = true;
  bool verify = true;
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::cerr << "password_hash_bench: " << msg << "\n\n" << kUsage;
  std::exit(2);
}

std::uint64_t parse_uint(std::string_view flag, const std::string& v) {
  try {
    std::size_t used = 0;
    unsigned long long n = std::stoull(v, &used);
    if (used != v.size() || n == 0 || v.front() == '-') throw std::invalid_argument("");
    return n;
  } catch (const std::exception&) {
    usage_error(std::string(flag) + " needs a positive integer, got '" + v + "'");
  }
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    auto next = [&]() -> std::string {
      if (has_value) return value;
      if (i + 1 >= argc) usage_error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--memory-kib") {
      o.params.memory_kib = parse_uint(arg, next());
    } else if (arg == "--passes") {
      o.params.passes = parse_uint(arg, next());
    } else if (arg == "--threads") {
      auto n = parse_uint(arg, next());
      if (n > 1024) usage_error("--threads must be at most 1024");
      o.threads = static_cast<unsigned>(n);
    } else if (arg == "--seconds") {
      std::string v = next();
      char* end = nullptr;
      o.seconds = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(o.seconds > 0) || o.seconds > 3600)
        usage_error("--seconds needs a number in (0, 3600], got '" + v + "'");
    } else if (arg == "--ops") {
      std::string v = next();
      o.hash = o.verify = false;
      std::stringstream ss(v);
      for (std::string op; std::getline(ss, op, ',');) {
        if (op == "hash")
          o.hash = true;
        else if (op == "verify")
          o.verify = true;
        else
          usage_error("--ops takes hash and/or verify, got '" + op + "'");
      }
      if (!o.hash && !o.verify) usage_error("--ops is empty");
    } else {
      usage_error("unknown argument '" + arg + "'");
    }
  }
  return o;
}

// A field of /proc/self/status in kB (VmRSS, VmHWM); 0 when unreadable.
std::uint64_t proc_status_kib(std::string_view field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field, 0) == 0 && line.size() > field.size() && line[field.size()] == ':')
      return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return 0;
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return f ? a + " " + b + " " + c : "?";
}

// Resets VmHWM to the current RSS (Linux >= 4.0). False when not allowed.
bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  if (!f) return false;
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

enum class Op { hash, verify };

struct ThreadResult {
  std::vector<double> op_ms;  // every operation's duration
  std::string failure;
};

// Runs `op` on `threads` threads for `seconds`; prints its BENCH line.
// Returns false when an operation failed.
bool run_config(const rh::accounts::PasswordHasher& hasher, Op op, unsigned threads,
                double seconds, const std::string& stored, const std::string& password) {
  bool peak_reset = reset_peak_rss();
  std::vector<ThreadResult> results(threads);
  std::latch ready(static_cast<std::ptrdiff_t>(threads) + 1);
  std::atomic<bool> go{false};
  Clock::time_point start;
  auto duration = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto& r = results[t];
      r.op_ms.reserve(4096);
      ready.arrive_and_wait();
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      auto deadline = start + duration;
      for (;;) {
        auto t0 = Clock::now();
        if (op == Op::hash) {
          auto h = hasher.hash(password);
          if (!h) {
            r.failure = "hash failed: " + h.error().message;
            return;
          }
        } else if (!hasher.verify(stored, password)) {
          r.failure = "verify returned false for the right password";
          return;
        }
        auto t1 = Clock::now();
        r.op_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        if (t1 >= deadline) break;
      }
    });
  }
  ready.arrive_and_wait();
  double cpu0 = process_cpu_seconds();
  start = Clock::now();
  go.store(true, std::memory_order_release);
  for (auto& th : pool) th.join();
  auto end = Clock::now();
  double cpu_s = process_cpu_seconds() - cpu0;
  std::uint64_t peak_kib = proc_status_kib("VmHWM");

  std::vector<double> all;
  for (const auto& r : results) {
    if (!r.failure.empty()) {
      std::cerr << "password_hash_bench: " << r.failure << "\n";
      return false;
    }
    all.insert(all.end(), r.op_ms.begin(), r.op_ms.end());
  }
  std::sort(all.begin(), all.end());
  double wall_s = std::chrono::duration<double>(end - start).count();
  double sum = 0;
  for (double v : all) sum += v;
  double mean = all.empty() ? 0 : sum / static_cast<double>(all.size());
  double p50 = all.empty() ? 0 : all[all.size() / 2];
  double max = all.empty() ? 0 : all.back();

  std::printf(
      "BENCH op=%s memory_kib=%llu passes=%llu threads=%u ops=%zu seconds=%.2f ops_per_s=%.2f "
      "mean_ms=%.1f p50_ms=%.1f max_ms=%.1f cpu_s=%.2f cpu_ms_per_op=%.1f peak_rss_kib=%llu%s\n",
      op == Op::hash ? "hash" : "verify",
      static_cast<unsigned long long>(hasher.params().memory_kib),
      static_cast<unsigned long long>(hasher.params().passes), threads, all.size(), wall_s,
      static_cast<double>(all.size()) / wall_s, mean, p50, max, cpu_s,
      all.empty() ? 0.0 : 1000 * cpu_s / static_cast<double>(all.size()),
      static_cast<unsigned long long>(peak_kib), peak_reset ? "" : " peak_rss_note=process_lifetime");
  std::fflush(stdout);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  try {
    rh::crypto::init();
    std::uint64_t idle_kib = proc_status_kib("VmRSS");
    rh::accounts::PasswordHasher hasher(o.params);  // throws below 19456 KiB / 2 passes
    const std::string password = "correct horse battery staple";
    auto stored = hasher.hash(password);
    if (!stored) {
      std::cerr << "password_hash_bench: cannot hash: " << stored.error().message << "\n";
      return 1;
    }
    std::printf("# password_hash_bench: libsodium %s, Argon2id (crypto_pwhash_str_alg), %s; "
                "hardware concurrency %u; RSS before the first hash %llu KiB; "
                "load average %s\n",
                sodium_version_string(), stored->substr(0, stored->find('$', 16)).c_str(),
                std::thread::hardware_concurrency(), static_cast<unsigned long long>(idle_kib),
                load_average().c_str());
    std::vector<unsigned> counts{1};
    if (o.threads > 1) counts.push_back(o.threads);
    for (Op op : {Op::hash, Op::verify}) {
      if ((op == Op::hash && !o.hash) || (op == Op::verify && !o.verify)) continue;
      for (unsigned n : counts)
        if (!run_config(hasher, op, n, o.seconds, *stored, password)) return 1;
    }
    std::printf("# load average after: %s\n", load_average().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "password_hash_bench: " << e.what() << "\n";
    return 1;
  }
}
