// Fuzz target: CSV rate decks uploaded by tenant admins (core/csv.hpp,
// billing/rates.hpp). Any input parses without crashing, in bounded time,
// and what comes out is consistent: records have one field per named
// column, a deck is either usable (valid, unique prefixes that the deck
// matches) or refused with problems and no rates.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "billing/rates.hpp"
#include "core/csv.hpp"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);

  rh::csv::Table t = rh::csv::parse(s, 50);
  check(t.records.size() <= 50);
  std::set<std::string> named;
  for (const auto& h : t.header) {
    if (!h.empty()) named.insert(h);
  }
  int last_line = 0;
  for (const auto& r : t.records) {
    check(r.line > last_line);  // in order, each on its own line
    last_line = r.line;
    check(r.fields.size() == named.size());
  }
  for (const auto& p : t.problems) check(p.line >= 1 && !p.message.empty());

  rh::billing::ParsedDeck d = rh::billing::parse_rate_csv(s);
  check(d.problems.empty() != d.rates.empty());
  std::set<std::string> prefixes;
  for (const auto& r : d.rates) {
    check(!r.prefix.empty() && r.prefix.size() <= 15);
    check(r.prefix.find_first_not_of("0123456789") == std::string::npos);
    check(prefixes.insert(r.prefix).second);
    check(r.per_minute_micros >= 0 && r.connect_micros >= 0 && r.sms_micros >= 0 &&
          r.mms_micros >= 0);
    check(r.first_increment_s >= 1 && r.first_increment_s <= 3600);
    check(r.next_increment_s >= 1 && r.next_increment_s <= 3600);
  }
  rh::billing::RateDeck deck(d.rates);
  for (const auto& r : deck.rates()) {
    const rh::billing::Rate* m = deck.match("+" + r.prefix);
    check(m != nullptr && m->prefix == r.prefix);
    std::int64_t balance = r.per_minute_micros * 3 + r.connect_micros;
    std::int64_t secs = rh::billing::max_affordable_seconds(r, balance, 86'400);
    check(secs >= 0 && secs <= 86'400);
    if (secs > 0) check(rh::billing::call_cost(r, secs) <= balance);
  }
  return 0;
}
