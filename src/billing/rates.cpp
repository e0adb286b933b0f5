#include "billing/rates.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "core/money.hpp"

namespace rh::billing {

namespace detail {

// Valid UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len;
    std::uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

}  // namespace detail

namespace {

// Exact intermediate arithmetic for rating: seconds times a per-minute price
// does not fit 64 bits for absurd inputs, and rating must never wrap.
__extension__ using Wide = __int128;

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::size_t kMaxRates = 1'000'000;
constexpr std::size_t kMaxPrefixDigits = 15;  // E.164
constexpr std::size_t kMaxDescription = 255;  // bytes; the column is VARCHAR(255)
constexpr int kMaxIncrement = 3600;
// A sanity bound on every price (1,000,000.00 a minute, a message or a
// connection): anything above is a typo, and it keeps rating far from overflow.
constexpr std::int64_t kMaxPriceMicros = 1'000'000 * money::kMicros;

std::int64_t saturate(Wide v) {
  if (v > kMax) return kMax;
  if (v < 0) return 0;
  return static_cast<std::int64_t>(v);
}

// The increments as rating uses them: hand-built rates with zero or negative
// increments are rated per second rather than divided by zero.
int first_increment(const Rate& r) {
  return std::max(r.first_increment_s, 1);
}
int next_increment(const Rate& r) {
  return std::max(r.next_increment_s, 1);
}

// connect + ceil(seconds * per_minute / 60), exactly, for seconds > 0.
Wide cost_of_billed(const Rate& r, std::int64_t billed) {
  Wide per_minute = std::max<std::int64_t>(r.per_minute_micros, 0);
  Wide connect = std::max<std::int64_t>(r.connect_micros, 0);
  Wide time = (Wide{billed} * per_minute + 59) / 60;
  return connect + time;
}

// The filter key of a prefix: its digits as a number, and its length (so
// that "1" and "01" differ). Prefixes have at most 15 digits: it fits.
std::uint64_t prefix_key(std::string_view digits) {
  std::uint64_t value = 0;
  for (char c : digits) value = value * 10 + static_cast<std::uint64_t>(c - '0');
  return value * 16 + digits.size();
}

// Fibonacci hashing onto the filter's 64 - shift bits.
std::uint64_t filter_slot(std::uint64_t key, int shift) {
  return (key * 0x9E3779B97F4A7C15ull) >> shift;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Digits of an E.164 number or prefix without its optional leading '+';
// empty when anything else is in it.
std::string_view digits_of(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || !std::all_of(s.begin(), s.end(), is_digit)) return {};
  return s;
}

// A short quote of user input for a problem message.
std::string quote(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 40)) {
    auto u = static_cast<unsigned char>(c);
    out += u < 0x20 || u == 0x7F ? '?' : c;
  }
  if (s.size() > 40) out += "...";
  return "'" + out + "'";
}

// Known columns. Header names are matched case-insensitively with ' ' and
// '-' read as '_' ("Per Minute", "connect-fee").
constexpr std::string_view kColumns[] = {"prefix",    "description", "per_minute", "connect_fee",
                                         "increment", "sms",         "mms"};

std::string column_key(std::string_view header) {
  std::string k(header);
  for (char& c : k) {
    if (c == ' ' || c == '-') c = '_';
  }
  return k;
}

bool parse_seconds(std::string_view s, int& out) {
  if (s.empty() || s.size() > 4 || !std::all_of(s.begin(), s.end(), is_digit)) return false;
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  if (v < 1 || v > kMaxIncrement) return false;
  out = v;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

ParsedDeck parse_rate_csv(std::string_view text) {
  ParsedDeck out;
  csv::Table table = csv::parse(text, kMaxRates);
  out.problems = std::move(table.problems);
  auto problem = [&](int line, std::string msg) { out.problems.push_back({line, std::move(msg)}); };

  // Which known column each header position is (by its normalised name).
  std::map<std::string, std::string> header_key;  // csv field name -> known column
  bool has_prefix = false;
  if (table.header.empty()) {
    problem(1,
            "the file is empty: the first line must be a header naming the columns "
            "(prefix, description, per_minute, connect_fee, increment, sms, mms)");
  }
  for (const auto& h : table.header) {
    if (h.empty()) continue;
    std::string key = column_key(h);
    if (std::find(std::begin(kColumns), std::end(kColumns), key) == std::end(kColumns)) {
      problem(1, fmt::format("unknown column {} (the columns are prefix, description, "
                             "per_minute, connect_fee, increment, sms and mms)",
                             quote(h)));
      continue;
    }
    for (const auto& [other, known] : header_key) {
      if (known == key && other != h)
        problem(1, fmt::format("columns {} and {} are the same column", quote(other), quote(h)));
    }
    header_key.emplace(h, key);
    has_prefix = has_prefix || key == "prefix";
  }
  if (!table.header.empty() && !has_prefix) problem(1, "the header has no prefix column");

  std::unordered_map<std::string, int> first_line;  // prefix -> line it first appeared on
  first_line.reserve(table.records.size());
  out.rates.reserve(table.records.size());
  for (auto& rec : table.records) {
    Rate r;
    std::string row_problems;  // one problem per bad line, its messages joined
    auto bad = [&](const std::string& msg) {
      if (!row_problems.empty()) row_problems += "; ";
      row_problems += msg;
    };
    std::string_view prefix_text, increment_text;
    auto price = [&](std::string_view column, std::string_view v, std::int64_t& dst) {
      v = trim(v);
      if (v.empty()) return;
      auto m = money::parse_micros(v);
      if (!m) {
        bad(fmt::format("{}: {} is not an amount (a decimal number such as 0.0125)", column,
                        quote(v)));
      } else if (*m < 0) {
        bad(fmt::format("{}: {} is negative", column, quote(v)));
      } else if (*m > kMaxPriceMicros) {
        bad(fmt::format("{}: {} is more than 1000000", column, quote(v)));
      } else {
        dst = *m;
      }
    };
    for (auto& [name, value] : rec.fields) {
      auto it = header_key.find(name);
      if (it == header_key.end()) continue;
      const std::string& key = it->second;
      if (key == "prefix") {
        prefix_text = value;
      } else if (key == "description") {
        std::string_view d = trim(value);
        if (d.size() > kMaxDescription) {
          bad(fmt::format("description: at most {} bytes", kMaxDescription));
        } else if (!detail::valid_utf8(d)) {
          bad("description: not valid UTF-8 (save the file as UTF-8)");
        } else if (std::any_of(d.begin(), d.end(), [](char c) {
                     return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
                   })) {
          bad("description: must not contain line breaks or control characters");
        } else {
          r.description = std::string(d);
        }
      } else if (key == "per_minute") {
        price("per_minute", value, r.per_minute_micros);
      } else if (key == "connect_fee") {
        price("connect_fee", value, r.connect_micros);
      } else if (key == "sms") {
        price("sms", value, r.sms_micros);
      } else if (key == "mms") {
        price("mms", value, r.mms_micros);
      } else if (key == "increment") {
        increment_text = trim(value);
      }
    }
    if (!increment_text.empty()) {
      auto slash = increment_text.find('/');
      std::string_view a = trim(increment_text.substr(0, slash));
      std::string_view b =
          slash == std::string_view::npos ? a : trim(increment_text.substr(slash + 1));
      if (!parse_seconds(a, r.first_increment_s) || !parse_seconds(b, r.next_increment_s)) {
        bad(
            fmt::format("increment: {} must be first/next whole seconds from 1 to {} "
                        "(60/60, 6/6, 1/1) or one number for both",
                        quote(increment_text), kMaxIncrement));
      }
    }
    if (has_prefix) {
      std::string_view p = trim(prefix_text);
      std::string_view digits = digits_of(p);
      if (digits.empty() || digits.size() > kMaxPrefixDigits) {
        bad(fmt::format("prefix: {} must be 1 to {} digits (an optional leading '+')", quote(p),
                        kMaxPrefixDigits));
      } else {
        auto [it, inserted] = first_line.emplace(std::string(digits), rec.line);
        if (!inserted) {
          bad(fmt::format("prefix {} is listed twice (first on line {})", digits, it->second));
        } else {
          r.prefix = std::string(digits);
        }
      }
    }
    if (!row_problems.empty()) {
      problem(rec.line, std::move(row_problems));
    } else if (has_prefix) {
      out.rates.push_back(std::move(r));
    }
  }
  if (out.problems.empty() && out.rates.empty()) problem(1, "the file has no rates");
  std::stable_sort(
      out.problems.begin(), out.problems.end(),
      [](const csv::LineProblem& a, const csv::LineProblem& b) { return a.line < b.line; });
  if (!out.problems.empty()) out.rates.clear();
  return out;
}

RateDeck::RateDeck(std::vector<Rate> rates) : rates_(std::move(rates)) {
  // rates_ is final from here on: the keys view its strings.
  by_prefix_.reserve(rates_.size());
  for (const Rate& r : rates_) {
    // Only what an E.164 number can start with (parse_rate_csv makes no other).
    if (digits_of(r.prefix) != r.prefix || r.prefix.size() > kMaxPrefixDigits) continue;
    by_prefix_.emplace(std::string_view(r.prefix), &r);  // the first of duplicates wins
    max_len_ = std::max(max_len_, r.prefix.size());
  }
  // About 16 bits per prefix (a few % false positives), at least one word.
  int bits = 6;
  while (bits < 40 && (std::size_t{1} << bits) < by_prefix_.size() * 16) ++bits;
  filter_.assign((std::size_t{1} << bits) / 64, 0);
  filter_shift_ = 64 - bits;
  for (const auto& [prefix, rate] : by_prefix_) {
    std::uint64_t slot = filter_slot(prefix_key(prefix), filter_shift_);
    filter_[slot / 64] |= std::uint64_t{1} << (slot % 64);
  }
}

const Rate* RateDeck::match(std::string_view e164) const {
  std::string_view digits = digits_of(e164);
  if (digits.empty() || filter_.empty()) return nullptr;  // empty only when moved from
  const std::size_t longest = std::min(max_len_, digits.size());
  // The filter keys of every leading part of the number, shortest first.
  std::uint64_t keys[kMaxPrefixDigits + 1];
  std::uint64_t value = 0;
  for (std::size_t len = 1; len <= longest; ++len) {
    value = value * 10 + static_cast<std::uint64_t>(digits[len - 1] - '0');
    keys[len] = value * 16 + len;
  }
  for (std::size_t len = longest; len > 0; --len) {
    std::uint64_t slot = filter_slot(keys[len], filter_shift_);
    if (!(filter_[slot / 64] >> (slot % 64) & 1)) continue;
    auto it = by_prefix_.find(digits.substr(0, len));
    if (it != by_prefix_.end()) return it->second;
  }
  return nullptr;
}

std::int64_t billed_seconds(const Rate& r, std::int64_t duration_s) {
  if (duration_s <= 0) return 0;
  const std::int64_t a = first_increment(r);
  const std::int64_t b = next_increment(r);
  if (duration_s <= a) return a;
  const std::int64_t steps = (duration_s - a) / b + ((duration_s - a) % b != 0 ? 1 : 0);
  return saturate(Wide{a} + Wide{steps} * b);
}

std::int64_t call_cost(const Rate& r, std::int64_t duration_s) {
  const std::int64_t billed = billed_seconds(r, duration_s);
  if (billed == 0) return 0;
  return saturate(cost_of_billed(r, billed));
}

std::int64_t max_affordable_seconds(const Rate& r, std::int64_t balance_micros,
                                    std::int64_t max_s) {
  if (max_s <= 0 || balance_micros < 0) return 0;
  const std::int64_t per_minute = std::max<std::int64_t>(r.per_minute_micros, 0);
  const std::int64_t connect = std::max<std::int64_t>(r.connect_micros, 0);
  // What is left for time after the connect fee.
  const std::int64_t left = balance_micros - connect;
  if (left < 0) return 0;
  if (per_minute == 0) return max_s;  // the cost does not grow with time
  // connect + ceil(T * pm / 60) <= balance  <=>  T * pm <= 60 * left
  // (T * pm is a whole number), so T <= floor(60 * left / pm).
  const Wide longest = Wide{60} * left / per_minute;
  const std::int64_t a = first_increment(r);
  const std::int64_t b = next_increment(r);
  if (longest < a) return 0;
  // The last increment boundary a + k*b at or below longest.
  const Wide boundary = a + (longest - a) / b * b;
  return boundary >= max_s ? max_s : static_cast<std::int64_t>(boundary);
}

std::int64_t message_cost(const Rate& r, bool mms, int segments) {
  if (mms) return std::max<std::int64_t>(r.mms_micros, 0);
  // A message is at least one segment.
  return saturate(Wide{std::max(segments, 1)} * std::max<std::int64_t>(r.sms_micros, 0));
}

}  // namespace rh::billing
