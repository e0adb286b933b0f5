// Rating throughput of billing::RateDeck (billing/rates.hpp): longest-prefix
// lookups per second on one thread against a deck of realistic prefixes, and
// parse_rate_csv rows per second for a CSV of the same size.
//
//   rating_bench [--rates 100000] [--lookups 5000000] [--seed 1]
//
// The deck: country codes (1 to 3 digits, as in E.164) extended with area
// and exchange digits, prefixes of 1 to 8 digits, as carriers' decks look.
// Lookups are random E.164 numbers (country code of the deck's countries,
// then digits up to 11-13 digits in all), so most of them walk several
// prefix lengths before matching, a few match nothing.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "billing/rates.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kUsage = R"(rating_bench: RateDeck lookups/s and parse_rate_csv rows/s

Usage: rating_bench [options]
  --rates N     prefixes in the deck (default 100000)
  --lookups N   lookups to time (default 5000000)
  --seed N      random seed (default 1)
  --help
)";

struct Options {
  std::size_t rates = 100'000;
  std::size_t lookups = 5'000'000;
  std::uint64_t seed = 1;
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::cerr << "rating_bench: " << msg << "\n\n" << kUsage;
  std::exit(2);
}

std::uint64_t parse_uint(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || v.front() == '-' || n == 0)
    usage_error(flag + " needs a positive integer, got '" + v + "'");
  return n;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (i + 1 >= argc) usage_error(arg + " needs a value");
    std::string v = argv[++i];
    if (arg == "--rates") {
      o.rates = parse_uint(arg, v);
      if (o.rates > 1'000'000) usage_error("--rates must be at most 1000000");
    } else if (arg == "--lookups") {
      o.lookups = parse_uint(arg, v);
    } else if (arg == "--seed") {
      o.seed = parse_uint(arg, v);
    } else {
      usage_error("unknown argument '" + arg + "'");
    }
  }
  return o;
}

// A sample of real country calling codes, weighted towards the big ones.
const std::vector<std::string>& country_codes() {
  static const std::vector<std::string> cc = {
      "1",   "7",   "20",  "27",  "30",  "31",  "32",  "33",  "34",  "36",  "39",  "40",
      "41",  "43",  "44",  "45",  "46",  "47",  "48",  "49",  "51",  "52",  "53",  "54",
      "55",  "56",  "57",  "58",  "60",  "61",  "62",  "63",  "64",  "65",  "66",  "81",
      "82",  "84",  "86",  "90",  "91",  "92",  "93",  "94",  "95",  "98",  "212", "213",
      "216", "218", "220", "221", "225", "233", "234", "254", "255", "256", "351", "352",
      "353", "354", "355", "358", "359", "370", "371", "372", "380", "381", "385", "386",
      "420", "421", "502", "503", "504", "505", "506", "507", "591", "593", "595", "598",
      "852", "853", "855", "880", "886", "960", "961", "962", "963", "964", "965", "966",
      "971", "972", "973", "974", "975", "976", "977", "992", "993", "994", "995", "998"};
  return cc;
}

std::string digits(std::mt19937_64& rng, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<char>('0' + rng() % 10);
  return s;
}

// A deck of n distinct prefixes: every country code, then country code plus
// 1 to 5 more digits (area code, exchange), 8 digits at most.
std::vector<std::string> make_prefixes(std::mt19937_64& rng, std::size_t n) {
  const auto& cc = country_codes();
  std::set<std::string> seen(cc.begin(), cc.end());
  std::vector<std::string> out(cc.begin(), cc.end());
  out.resize(std::min(out.size(), n));
  // Big countries get more area codes: a skewed pick of the country.
  std::geometric_distribution<std::size_t> skew(0.03);
  while (out.size() < n) {
    const std::string& c = cc[skew(rng) % cc.size()];
    std::size_t extra = 1 + rng() % std::min<std::size_t>(5, 8 - c.size());
    std::string p = c + digits(rng, extra);
    if (seen.insert(p).second) out.push_back(std::move(p));
  }
  return out;
}

std::string make_csv(std::mt19937_64& rng, const std::vector<std::string>& prefixes) {
  static const char* const kIncrements[] = {"60/60", "6/6", "1/1", "30/6"};
  std::string csv = "prefix,description,per_minute,connect_fee,increment,sms,mms\n";
  csv.reserve(prefixes.size() * 64);
  char buf[160];
  for (const auto& p : prefixes) {
    int n =
        std::snprintf(buf, sizeof buf, "+%s,\"Destination %s, mobile\",0.%04u,0,%s,0.%04u,0.02\n",
                      p.c_str(), p.c_str(), static_cast<unsigned>(rng() % 10'000),
                      kIncrements[rng() % 4], static_cast<unsigned>(rng() % 1'000));
    csv.append(buf, static_cast<std::size_t>(n));
  }
  return csv;
}

// Random E.164 numbers, "+" then 11 to 13 digits; one in 50 starts with a
// country code the deck does not have.
std::vector<std::string> make_numbers(std::mt19937_64& rng, std::size_t n) {
  const auto& cc = country_codes();
  std::geometric_distribution<std::size_t> skew(0.03);
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::string c = rng() % 50 == 0 ? "999" : cc[skew(rng) % cc.size()];
    std::size_t len = 11 + rng() % 3;
    out.push_back("+" + c + digits(rng, len - c.size()));
  }
  return out;
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return f ? a + " " + b + " " + c : "?";
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  std::mt19937_64 rng(o.seed);
  std::printf("# rating_bench: load average %s\n", load_average().c_str());

  const std::vector<std::string> prefixes = make_prefixes(rng, o.rates);
  const std::string csv = make_csv(rng, prefixes);
  std::size_t by_len[9] = {};
  for (const auto& p : prefixes) ++by_len[p.size()];
  std::printf("# deck: %zu prefixes; by length 1..8:", prefixes.size());
  for (int l = 1; l <= 8; ++l) std::printf(" %zu", by_len[l]);
  std::printf("\n");

  // parse_rate_csv: best of 3.
  double best_parse_ms = 1e300;
  rh::billing::ParsedDeck parsed;
  for (int rep = 0; rep < 3; ++rep) {
    auto t0 = Clock::now();
    parsed = rh::billing::parse_rate_csv(csv);
    best_parse_ms = std::min(best_parse_ms, ms_since(t0));
  }
  if (!parsed.problems.empty() || parsed.rates.size() != prefixes.size()) {
    std::cerr << "rating_bench: the generated CSV did not parse: line "
              << (parsed.problems.empty() ? 0 : parsed.problems[0].line) << ": "
              << (parsed.problems.empty() ? "wrong count" : parsed.problems[0].message) << "\n";
    return 1;
  }
  std::printf("parse_rate_csv rows/s: %.0f (%zu rows, %.1f MB, best of 3: %.1f ms)\n",
              static_cast<double>(parsed.rates.size()) * 1000 / best_parse_ms, parsed.rates.size(),
              static_cast<double>(csv.size()) / 1e6, best_parse_ms);

  auto t_build = Clock::now();
  const rh::billing::RateDeck deck(std::move(parsed.rates));
  std::printf("# RateDeck index built in %.1f ms\n", ms_since(t_build));

  const std::vector<std::string> numbers =
      make_numbers(rng, std::min<std::size_t>(o.lookups, 1'000'000));
  // Warm-up pass over the numbers (caches, branch predictors).
  std::size_t matched = 0, prefix_digits = 0;
  for (const auto& n : numbers) {
    if (const auto* r = deck.match(n)) {
      ++matched;
      prefix_digits += r->prefix.size();
    }
  }
  std::uint64_t checksum = 0;
  double cpu0 = cpu_seconds();
  auto t0 = Clock::now();
  for (std::size_t i = 0, k = 0; i < o.lookups; ++i, ++k) {
    if (k == numbers.size()) k = 0;
    const auto* r = deck.match(numbers[k]);
    checksum += r ? static_cast<std::uint64_t>(r->per_minute_micros) : 1;
  }
  double ms = ms_since(t0);
  double cpu_ms = (cpu_seconds() - cpu0) * 1000;
  double per_s = static_cast<double>(o.lookups) * 1000 / ms;
  std::printf("rating lookups/s: %.0f\n", per_s);
  std::printf(
      "ns/lookup: %.1f (%zu lookups in %.1f ms, %.1f ms of CPU, one thread; %.1f%% matched, "
      "mean matched prefix %.2f digits; checksum %llu)\n",
      1e6 * ms / static_cast<double>(o.lookups), o.lookups, ms, cpu_ms,
      100.0 * static_cast<double>(matched) / static_cast<double>(numbers.size()),
      matched ? static_cast<double>(prefix_digits) / static_cast<double>(matched) : 0.0,
      static_cast<unsigned long long>(checksum));
  std::printf("# load average after: %s\n", load_average().c_str());
  return 0;
}
