#include "billing/rates.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "accounts/tenants.hpp"
#include "unit/unit_db.hpp"

namespace rh::billing {
namespace {

Rate rate(std::int64_t per_minute, int first = 60, int next = 60, std::int64_t connect = 0) {
  Rate r;
  r.prefix = "1";
  r.per_minute_micros = per_minute;
  r.first_increment_s = first;
  r.next_increment_s = next;
  r.connect_micros = connect;
  return r;
}

std::string problems_of(const std::vector<csv::LineProblem>& ps) {
  std::string s;
  for (const auto& p : ps) s += std::to_string(p.line) + ": " + p.message + "\n";
  return s;
}

// ---------------------------------------------------------------------------
// Rating

TEST(Rating, BilledSecondsFollowTheIncrements) {
  struct Case {
    int first, next;
    std::int64_t duration, billed;
  };
  const Case cases[] = {
      {60, 60, 0, 0},    {60, 60, -5, 0},    {60, 60, 1, 60},     {60, 60, 60, 60},
      {60, 60, 61, 120}, {60, 60, 119, 120}, {60, 60, 121, 180},  {6, 6, 1, 6},
      {6, 6, 6, 6},      {6, 6, 7, 12},      {6, 6, 31, 36},      {1, 1, 1, 1},
      {1, 1, 37, 37},    {30, 6, 1, 30},     {30, 6, 30, 30},     {30, 6, 31, 36},
      {30, 6, 36, 36},   {30, 6, 37, 42},    {30, 6, 3600, 3600}, {60, 1, 61, 61},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(billed_seconds(rate(0, c.first, c.next), c.duration), c.billed)
        << c.first << "/" << c.next << " for " << c.duration << " s";
  }
}

TEST(Rating, CallCostGoldenCases) {
  // 0.01 a minute, 60/60: 61 s bill as two minutes.
  EXPECT_EQ(call_cost(rate(10'000), 61), 20'000);
  EXPECT_EQ(call_cost(rate(10'000), 60), 10'000);
  EXPECT_EQ(call_cost(rate(10'000), 1), 10'000);
  // 0.012 a minute, 6/6: 7 s bill as 12 s = 0.0024.
  EXPECT_EQ(call_cost(rate(12'000, 6, 6), 7), 2'400);
  // 1/1: 37 s at 0.006 = 0.0037.
  EXPECT_EQ(call_cost(rate(6'000, 1, 1), 37), 3'700);
  // 30/6: 31 s bill as 36 s at 0.02 = 0.012.
  EXPECT_EQ(call_cost(rate(20'000, 30, 6), 31), 12'000);
  EXPECT_EQ(call_cost(rate(20'000, 30, 6), 10), 10'000);
  // A connect fee is charged once, on answered calls only.
  EXPECT_EQ(call_cost(rate(10'000, 60, 60, 50'000), 1), 60'000);
  EXPECT_EQ(call_cost(rate(10'000, 60, 60, 50'000), 120), 70'000);
  EXPECT_EQ(call_cost(rate(10'000, 60, 60, 50'000), 0), 0);
  EXPECT_EQ(call_cost(rate(0, 60, 60, 50'000), 3600), 50'000);
  // Fractions of a micro-unit round up.
  EXPECT_EQ(call_cost(rate(1, 1, 1), 1), 1);            // 1/60 micro
  EXPECT_EQ(call_cost(rate(12'500, 1, 1), 7), 1'459);   // 1458.33...
  EXPECT_EQ(call_cost(rate(12'500, 1, 1), 24), 5'000);  // exact: no rounding
  EXPECT_EQ(call_cost(rate(59, 1, 1), 1), 1);
  EXPECT_EQ(call_cost(rate(61, 1, 1), 1), 2);
  // Zero duration is free.
  EXPECT_EQ(call_cost(rate(10'000, 6, 6), 0), 0);
}

TEST(Rating, HugeDurationsSaturateInsteadOfWrapping) {
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(billed_seconds(rate(0, 60, 60), max), max);
  EXPECT_EQ(call_cost(rate(1'000'000'000'000, 60, 60), max), max);
  EXPECT_GT(call_cost(rate(1'000'000'000'000, 1, 1), 1'000'000'000), 0);
}

TEST(Rating, MessageCost) {
  Rate r;
  r.sms_micros = 7'500;
  r.mms_micros = 20'000;
  EXPECT_EQ(message_cost(r, false, 1), 7'500);
  EXPECT_EQ(message_cost(r, false, 3), 22'500);
  EXPECT_EQ(message_cost(r, false, 0), 7'500);  // a message is at least one segment
  EXPECT_EQ(message_cost(r, true, 4), 20'000);  // MMS: per message
}

TEST(Rating, MaxAffordableSecondsExamples) {
  // 0.01 a minute, 60/60: 0.05 buys five minutes.
  EXPECT_EQ(max_affordable_seconds(rate(10'000), 50'000), 300);
  EXPECT_EQ(max_affordable_seconds(rate(10'000), 59'999), 300);
  // A connect fee of 0.01 leaves four.
  EXPECT_EQ(max_affordable_seconds(rate(10'000, 60, 60, 10'000), 50'000), 240);
  // Not even the first increment.
  EXPECT_EQ(max_affordable_seconds(rate(10'000), 9'999), 0);
  EXPECT_EQ(max_affordable_seconds(rate(10'000, 60, 60, 10'000), 10'000), 0);
  EXPECT_EQ(max_affordable_seconds(rate(10'000), -1), 0);
  // 30/6 at 0.06 a minute (1000 micro/s): 0.0365 buys 30 + 6 = 36 s.
  EXPECT_EQ(max_affordable_seconds(rate(60'000, 30, 6), 36'500), 36);
  // Capped at max_s.
  EXPECT_EQ(max_affordable_seconds(rate(10'000), 1'000'000'000), 86'400);
  EXPECT_EQ(max_affordable_seconds(rate(10'000), 1'000'000'000, 90), 90);
  EXPECT_EQ(max_affordable_seconds(rate(10'000), std::numeric_limits<std::int64_t>::max()), 86'400);
  // Free destinations.
  EXPECT_EQ(max_affordable_seconds(rate(0), 0), 86'400);
  EXPECT_EQ(max_affordable_seconds(rate(0), 0, 7'200), 7'200);
  EXPECT_EQ(max_affordable_seconds(rate(0, 60, 60, 5'000), 4'999), 0);
  EXPECT_EQ(max_affordable_seconds(rate(0, 60, 60, 5'000), 5'000), 86'400);
}

// The longest affordable call by walking every increment boundary.
std::int64_t affordable_by_walking(const Rate& r, std::int64_t balance, std::int64_t max_s) {
  std::int64_t best = 0;
  for (std::int64_t t = r.first_increment_s;; t += r.next_increment_s) {
    if (call_cost(r, t) > balance) break;
    best = t;
    if (t >= max_s) break;
  }
  return std::min(best, max_s);
}

TEST(Rating, MaxAffordableSecondsIsExactAgainstCallCost) {
  std::mt19937_64 rng(20261126);
  const std::pair<int, int> common[] = {{60, 60}, {6, 6}, {1, 1}, {30, 6}, {60, 1}, {1, 60}};
  for (int i = 0; i < 20'000; ++i) {
    Rate r;
    if (rng() % 2) {
      auto [a, b] = common[rng() % std::size(common)];
      r.first_increment_s = a;
      r.next_increment_s = b;
    } else {
      r.first_increment_s = 1 + static_cast<int>(rng() % 3600);
      r.next_increment_s = 1 + static_cast<int>(rng() % 3600);
    }
    switch (rng() % 4) {
      case 0:
        r.per_minute_micros = static_cast<std::int64_t>(rng() % 100);  // sub-micro per second
        break;
      case 1:
        r.per_minute_micros = static_cast<std::int64_t>(rng() % 5'000'000);
        break;
      case 2:
        r.per_minute_micros = 0;
        break;
      default:
        r.per_minute_micros = static_cast<std::int64_t>(rng() % 100'000);
    }
    r.connect_micros = rng() % 3 == 0 ? static_cast<std::int64_t>(rng() % 100'000) : 0;
    const std::int64_t balance = static_cast<std::int64_t>(rng() % 2'000'000) - 1'000;
    const std::int64_t max_s =
        rng() % 4 == 0 ? 86'400 : 1 + static_cast<std::int64_t>(rng() % 20'000);

    const std::int64_t got = max_affordable_seconds(r, balance, max_s);
    ASSERT_EQ(got, affordable_by_walking(r, balance, max_s))
        << "per_minute " << r.per_minute_micros << " connect " << r.connect_micros << " "
        << r.first_increment_s << "/" << r.next_increment_s << " balance " << balance << " max_s "
        << max_s;
    // What it promises, in call_cost's own terms.
    ASSERT_LE(got, max_s);
    if (got > 0) {
      ASSERT_LE(call_cost(r, got), balance);
    }
    if (got < max_s) {
      const std::int64_t next = got == 0 ? r.first_increment_s : got + r.next_increment_s;
      ASSERT_GT(call_cost(r, next), balance);
      if (got > 0) {
        ASSERT_EQ(billed_seconds(r, got), got);  // a whole number of increments
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Decks

TEST(RateDeck, LongestPrefixWins) {
  std::vector<Rate> rates(4);
  rates[0].prefix = "1";
  rates[1].prefix = "1415";
  rates[2].prefix = "14155";
  rates[3].prefix = "44";
  for (auto& r : rates) r.description = "d" + r.prefix;
  RateDeck deck(std::move(rates));
  EXPECT_EQ(deck.size(), 4u);

  auto prefix = [&](std::string_view n) -> std::string {
    const Rate* r = deck.match(n);
    return r ? r->prefix : "none";
  };
  EXPECT_EQ(prefix("+14155550100"), "14155");
  EXPECT_EQ(prefix("14155550100"), "14155");
  EXPECT_EQ(prefix("+14150000000"), "1415");
  EXPECT_EQ(prefix("+14165550100"), "1");
  EXPECT_EQ(prefix("+1"), "1");
  EXPECT_EQ(prefix("+442071838750"), "44");
  EXPECT_EQ(prefix("+33142685300"), "none");
  EXPECT_EQ(prefix("4"), "none");
  // Anything but digits (after one '+') matches nothing.
  for (std::string_view bad : {"", "+", "++14155550100", "+1 415 555 0100", "+1-415", "1415a",
                               "tel:+14155550100", "+14155550100\n"}) {
    EXPECT_EQ(deck.match(bad), nullptr) << bad;
  }
  EXPECT_EQ(deck.match("+14155550100")->description, "d14155");
}

TEST(RateDeck, CopiesAndMovesKeepMatching) {
  std::vector<Rate> rates(3);
  rates[0].prefix = "1";
  rates[1].prefix = "44";
  rates[2].prefix = "4420";
  auto original = std::make_unique<RateDeck>(std::move(rates));
  RateDeck copy(*original);
  RateDeck assigned(std::vector<Rate>{});
  assigned = *original;
  original.reset();  // the copies must not point into it
  EXPECT_EQ(copy.match("+442071838750")->prefix, "4420");
  EXPECT_EQ(assigned.match("+447700900123")->prefix, "44");
  RateDeck moved(std::move(copy));
  EXPECT_EQ(moved.match("+12025550100")->prefix, "1");
  EXPECT_EQ(moved.match("+12025550100"), &moved.rates()[0]);
}

TEST(RateDeck, EmptyDeckMatchesNothing) {
  RateDeck deck(std::vector<Rate>{});
  EXPECT_EQ(deck.match("+14155550100"), nullptr);
}

// ---------------------------------------------------------------------------
// CSV

TEST(RateCsv, ParsesEveryColumn) {
  ParsedDeck d = parse_rate_csv(
      "\xEF\xBB\xBFPrefix,Description,Per Minute,connect_fee,increment,SMS,mms\r\n"
      "+1,\"United States, all\",0.0100,0.05,60/60,0.0075,0.02\r\n"
      "1415,San Francisco,0.012,,6/6,,\r\n"
      "44,\"Royaume-Uni \"\"fixe\"\"\",0.02,0,30/6,0.04,0.1\r\n"
      "225,C\xC3\xB4te d'Ivoire,1.5,0,1,0,0\r\n");
  ASSERT_TRUE(d.problems.empty()) << problems_of(d.problems);
  ASSERT_EQ(d.rates.size(), 4u);
  const Rate& us = d.rates[0];
  EXPECT_EQ(us.prefix, "1");
  EXPECT_EQ(us.description, "United States, all");
  EXPECT_EQ(us.per_minute_micros, 10'000);
  EXPECT_EQ(us.connect_micros, 50'000);
  EXPECT_EQ(us.first_increment_s, 60);
  EXPECT_EQ(us.next_increment_s, 60);
  EXPECT_EQ(us.sms_micros, 7'500);
  EXPECT_EQ(us.mms_micros, 20'000);
  EXPECT_EQ(d.rates[1].connect_micros, 0);  // empty reads as 0
  EXPECT_EQ(d.rates[1].first_increment_s, 6);
  EXPECT_EQ(d.rates[2].description, "Royaume-Uni \"fixe\"");
  EXPECT_EQ(d.rates[2].first_increment_s, 30);
  EXPECT_EQ(d.rates[2].next_increment_s, 6);
  EXPECT_EQ(d.rates[3].description, "C\xC3\xB4te d'Ivoire");
  EXPECT_EQ(d.rates[3].per_minute_micros, 1'500'000);
  EXPECT_EQ(d.rates[3].first_increment_s, 1);
  EXPECT_EQ(d.rates[3].next_increment_s, 1);
}

TEST(RateCsv, MissingOptionalColumnsReadAsZeroAndSixtySixty) {
  ParsedDeck d = parse_rate_csv("prefix\n1\n44\n");
  ASSERT_TRUE(d.problems.empty()) << problems_of(d.problems);
  ASSERT_EQ(d.rates.size(), 2u);
  EXPECT_EQ(d.rates[1].prefix, "44");
  EXPECT_EQ(d.rates[1].per_minute_micros, 0);
  EXPECT_EQ(d.rates[1].first_increment_s, 60);
  EXPECT_EQ(d.rates[1].next_increment_s, 60);
  EXPECT_EQ(d.rates[1].description, "");
}

TEST(RateCsv, EveryBadRowIsReportedByLineAndNothingIsKept) {
  ParsedDeck d = parse_rate_csv(
      "prefix,description,per_minute,increment,sms\n"  // 1
      "1,US,0.01,60/60,0.0075\n"                       // 2 fine
      "44,UK,-0.02,60/60,0\n"                          // 3 negative
      "33,FR,0.02,0/60,0\n"                            // 4 bad increment
      "34,ES,0.02,60/0,0\n"                            // 5 bad increment
      "35,PT,0.02,3601/1,0\n"                          // 6 bad increment
      "36,HU,0.02,6.5/6,0\n"                           // 7 bad increment
      "12a,Bad,-0.02,0/0,0\n"                          // 8 bad prefix, price, increment
      "1234567890123456,Long,0.01,1/1,0\n"             // 9 sixteen digits
      ",Empty,0.01,1/1,0\n"                            // 10 no prefix
      "+1,US again,0.01,60/60,0\n"                     // 11 duplicate of line 2
      "49,DE,abc,60/60,0\n"                            // 12 not an amount
      "\"50,DE,0.01,60/60,0\n"                         // 13 unterminated quote: the rest
      "51,ok,0.01,60/60,0\n");
  EXPECT_TRUE(d.rates.empty());
  std::vector<int> lines;
  for (const auto& p : d.problems) lines.push_back(p.line);
  EXPECT_EQ(lines, (std::vector<int>{3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}))
      << problems_of(d.problems);
  auto message = [&](int line) {
    for (const auto& p : d.problems)
      if (p.line == line) return p.message;
    return std::string();
  };
  EXPECT_NE(message(3).find("per_minute"), std::string::npos) << message(3);
  EXPECT_NE(message(3).find("negative"), std::string::npos) << message(3);
  EXPECT_NE(message(4).find("increment"), std::string::npos) << message(4);
  // One problem per line, naming everything wrong with it.
  EXPECT_NE(message(8).find("prefix: '12a'"), std::string::npos) << message(8);
  EXPECT_NE(message(8).find("per_minute: '-0.02' is negative"), std::string::npos) << message(8);
  EXPECT_NE(message(8).find("increment: '0/0'"), std::string::npos) << message(8);
  EXPECT_EQ(message(11), "prefix 1 is listed twice (first on line 2)");
  EXPECT_NE(message(13).find("never closed"), std::string::npos) << message(13);
}

TEST(RateCsv, WrongFieldCountIsAProblemOnItsLine) {
  ParsedDeck d = parse_rate_csv("prefix,per_minute\n1,0.01\n44\n33,0.01,extra\n");
  EXPECT_TRUE(d.rates.empty());
  ASSERT_EQ(d.problems.size(), 2u) << problems_of(d.problems);
  EXPECT_EQ(d.problems[0].line, 3);
  EXPECT_EQ(d.problems[1].line, 4);
}

TEST(RateCsv, HeaderProblemsAreOnLineOne) {
  {
    ParsedDeck d = parse_rate_csv("code,per_minute\n1,0.01\n");
    ASSERT_FALSE(d.problems.empty());
    EXPECT_EQ(d.problems[0].line, 1);
    EXPECT_NE(problems_of(d.problems).find("no prefix column"), std::string::npos)
        << problems_of(d.problems);
    EXPECT_TRUE(d.rates.empty());
  }
  {
    // A misspelt price column would silently rate everything at 0.
    ParsedDeck d = parse_rate_csv("prefix,rate\n1,0.01\n");
    ASSERT_EQ(d.problems.size(), 1u) << problems_of(d.problems);
    EXPECT_EQ(d.problems[0].line, 1);
    EXPECT_NE(d.problems[0].message.find("unknown column 'rate'"), std::string::npos);
  }
  {
    ParsedDeck d = parse_rate_csv("");
    ASSERT_EQ(d.problems.size(), 1u);
    EXPECT_EQ(d.problems[0].line, 1);
  }
  {
    ParsedDeck d = parse_rate_csv("prefix,per_minute\n");
    ASSERT_EQ(d.problems.size(), 1u);
    EXPECT_NE(d.problems[0].message.find("no rates"), std::string::npos);
  }
}

TEST(RateCsv, DescriptionsMustBeUtf8TextOnOneLine) {
  ParsedDeck d = parse_rate_csv("prefix,description\n1,\"two\nlines\"\n2,\xFF\xFE\n3," +
                                std::string(256, 'x') + "\n4,ok\n");
  std::vector<int> lines;
  for (const auto& p : d.problems) lines.push_back(p.line);
  EXPECT_EQ(lines, (std::vector<int>{2, 4, 5})) << problems_of(d.problems);
}

TEST(RateCsv, MoreThanAMillionRowsIsRefused) {
  std::string text = "prefix\n";
  text.reserve(9'000'000);
  for (int i = 0; i <= 1'000'000; ++i) text += fmt::format("{}\n", 1'000'000 + i);
  ParsedDeck d = parse_rate_csv(text);
  EXPECT_TRUE(d.rates.empty());
  ASSERT_EQ(d.problems.size(), 1u) << problems_of(d.problems);
  EXPECT_EQ(d.problems[0].line, 1'000'002);
  EXPECT_NE(d.problems[0].message.find("more than 1000000"), std::string::npos);
}

// ---------------------------------------------------------------------------
// RateStore, on both drivers

std::string random_deck_csv(std::size_t rows, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string csv = "prefix,description,per_minute,connect_fee,increment,sms,mms\n";
  csv.reserve(rows * 48);
  std::set<std::string> seen;
  while (seen.size() < rows) {
    std::string p = std::to_string(1 + rng() % 999) + std::to_string(rng() % 100'000);
    if (!seen.insert(p).second) continue;
    csv += fmt::format("{},Destination {},0.{:04},0,{},0.{:04},0.02\n", p, seen.size(),
                       rng() % 10'000, rng() % 2 ? "60/60" : "6/6", rng() % 100);
  }
  return csv;
}

class RateStoreTest : public unit::MigratedDbTest {
 protected:
  void SetUp() override {
    unit::MigratedDbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    tenant_ = create_tenant("acme");
    store_ = std::make_unique<RateStore>(db(), clock_);
  }

  std::string create_tenant(const std::string& slug) {
    accounts::TenantStore tenants(db(), clock_);
    accounts::TenantInput in;
    in.slug = slug;
    in.name = slug + " Telecom";
    auto t = tenants.create(in);
    EXPECT_TRUE(t.ok()) << t.error().message;
    return t ? t->id : std::string();
  }

  DeckInfo import_ok(RateStore& store, const std::string& name, const std::string& csv) {
    auto r = store.import(tenant_, name, csv);
    EXPECT_TRUE(r.ok()) << r.error().message;
    if (!r) return {};
    EXPECT_TRUE(r->problems.empty()) << problems_of(r->problems);
    EXPECT_TRUE(r->deck.has_value());
    return r->deck ? *r->deck : DeckInfo{};
  }

  std::int64_t count(const std::string& table) {
    return scalar("SELECT COUNT(*) AS n FROM " + table);
  }

  std::string tenant_;
  std::unique_ptr<RateStore> store_;
};

constexpr const char* kDeckV1 =
    "prefix,description,per_minute,connect_fee,increment,sms,mms\n"
    "1,United States,0.01,0,60/60,0.0075,0.02\n"
    "1415,San Francisco,0.012,0,6/6,0.0075,0.02\n"
    "14155,San Francisco downtown,0.015,0.01,30/6,0.008,0.02\n"
    "225,C\xC3\xB4te d'Ivoire,0.25,0,1/1,0.05,0.1\n";

constexpr const char* kDeckV2 =
    "prefix,description,per_minute\n"
    "1,United States,0.02\n"
    "44,United Kingdom,0.03\n";

TEST_P(RateStoreTest, ImportMakesTheDeckActiveAndLookupMatchesTheLongestPrefix) {
  DeckInfo d = import_ok(*store_, "November", kDeckV1);
  EXPECT_EQ(d.id.rfind("rdk_", 0), 0u) << d.id;
  EXPECT_EQ(d.tenant_id, tenant_);
  EXPECT_EQ(d.name, "November");
  EXPECT_EQ(d.rate_count, 4);
  EXPECT_TRUE(d.active);
  EXPECT_EQ(d.created_at, clock_.now_ms());
  EXPECT_EQ(count("rates"), 4);

  auto r = store_->lookup(tenant_, "+14155550100");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->prefix, "14155");
  EXPECT_EQ(r->per_minute_micros, 15'000);
  EXPECT_EQ(r->connect_micros, 10'000);
  EXPECT_EQ(r->first_increment_s, 30);
  EXPECT_EQ(r->next_increment_s, 6);
  EXPECT_EQ(r->sms_micros, 8'000);
  EXPECT_EQ(store_->lookup(tenant_, "14155550100")->prefix, "14155");
  EXPECT_EQ(store_->lookup(tenant_, "+14150000000")->prefix, "1415");
  EXPECT_EQ(store_->lookup(tenant_, "+12025550100")->prefix, "1");

  auto none = store_->lookup(tenant_, "+33142685300");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::not_found);
  EXPECT_EQ(none.error().reason, "no_rate");
  EXPECT_FALSE(store_->lookup(tenant_, "not a number").ok());

  // A fresh store (another node, or after a restart) reads the same from the database.
  RateStore other(db(), clock_);
  auto ci = other.lookup(tenant_, "+2250700000000");
  ASSERT_TRUE(ci.ok()) << ci.error().message;
  EXPECT_EQ(ci->description, "C\xC3\xB4te d'Ivoire");
  EXPECT_EQ(ci->per_minute_micros, 250'000);
  EXPECT_EQ(ci->mms_micros, 100'000);
  auto deck = other.active(tenant_);
  ASSERT_TRUE(deck.ok());
  EXPECT_EQ((*deck)->size(), 4u);

  auto list = store_->list(tenant_);
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, d.id);
  EXPECT_TRUE((*list)[0].active);
  EXPECT_EQ((*list)[0].rate_count, 4);
}

TEST_P(RateStoreTest, ATenantWithoutADeckHasAnEmptyOne) {
  auto deck = store_->active(tenant_);
  ASSERT_TRUE(deck.ok()) << deck.error().message;
  EXPECT_EQ((*deck)->size(), 0u);
  auto r = store_->lookup(tenant_, "+14155550100");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, "no_rate");
  auto list = store_->list(tenant_);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_P(RateStoreTest, ABadFileStoresNothingAndKeepsTheActiveDeck) {
  DeckInfo v1 = import_ok(*store_, "v1", kDeckV1);
  auto r = store_->import(tenant_, "broken",
                          "prefix,per_minute,increment\n"
                          "1,0.01,60/60\n"
                          "44,-1,60/60\n"
                          "1,0.02,60/60\n"
                          "33,0.01,0/0\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->deck.has_value());
  std::vector<int> lines;
  for (const auto& p : r->problems) lines.push_back(p.line);
  EXPECT_EQ(lines, (std::vector<int>{3, 4, 5})) << problems_of(r->problems);
  EXPECT_EQ(count("rate_decks"), 1);
  EXPECT_EQ(count("rates"), 4);
  EXPECT_EQ(store_->lookup(tenant_, "+14155550100")->prefix, "14155");
  auto list = store_->list(tenant_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, v1.id);
}

TEST_P(RateStoreTest, BadInputIsRefusedBeforeTheDatabase) {
  auto no_name = store_->import(tenant_, "", kDeckV1);
  ASSERT_FALSE(no_name.ok());
  EXPECT_EQ(no_name.error().code, Errc::invalid_argument);
  EXPECT_EQ(no_name.error().field, "name");
  auto latin1 = store_->import(tenant_, "C\xF4te", kDeckV1);
  ASSERT_FALSE(latin1.ok());
  EXPECT_EQ(latin1.error().field, "name");
  auto no_tenant = store_->import("ten_00000000000000000000000000", "x", kDeckV1);
  ASSERT_FALSE(no_tenant.ok());
  EXPECT_EQ(no_tenant.error().code, Errc::not_found);
  EXPECT_EQ(count("rate_decks"), 0);
  EXPECT_EQ(count("rates"), 0);
}

TEST_P(RateStoreTest, ReimportReplacesTheActiveDeckAndOtherNodesSeeItWithinASecond) {
  RateStore node_b(db(), clock_);  // another node on the same database
  DeckInfo v1 = import_ok(*store_, "v1", kDeckV1);
  EXPECT_EQ(node_b.lookup(tenant_, "+14155550100")->per_minute_micros, 15'000);

  clock_.advance_ms(10);
  DeckInfo v2 = import_ok(*store_, "v2", kDeckV2);
  // The importing node at once.
  EXPECT_EQ(store_->lookup(tenant_, "+14155550100")->per_minute_micros, 20'000);
  EXPECT_EQ(store_->lookup(tenant_, "+442071838750")->prefix, "44");
  // The other node keeps its cached deck until the next re-check...
  clock_.advance_ms(500);
  EXPECT_EQ(node_b.lookup(tenant_, "+14155550100")->per_minute_micros, 15'000);
  EXPECT_FALSE(node_b.lookup(tenant_, "+442071838750").ok());
  // ...at most a second after it last looked.
  clock_.advance_ms(500);
  EXPECT_EQ(node_b.lookup(tenant_, "+14155550100")->per_minute_micros, 20'000);
  EXPECT_EQ(node_b.lookup(tenant_, "+442071838750")->prefix, "44");
  auto deck_b = node_b.active(tenant_);
  ASSERT_TRUE(deck_b.ok());
  EXPECT_EQ((*deck_b)->size(), 2u);

  auto list = store_->list(tenant_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, v2.id);  // newest first
  EXPECT_TRUE((*list)[0].active);
  EXPECT_EQ((*list)[1].id, v1.id);
  EXPECT_FALSE((*list)[1].active);
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM rate_decks WHERE active = 1"), 1);
}

TEST_P(RateStoreTest, AnUnchangedDeckIsNotReloaded) {
  import_ok(*store_, "v1", kDeckV1);
  RateStore node_b(db(), clock_);
  auto first = node_b.active(tenant_);
  ASSERT_TRUE(first.ok());
  clock_.advance_ms(5'000);
  auto again = node_b.active(tenant_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(first->get(), again->get());  // the same object: only the active id was checked
}

TEST_P(RateStoreTest, OnlyTheFiveNewestDecksAreKept) {
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) {
    clock_.advance_ms(1'000);
    ids.push_back(import_ok(*store_, fmt::format("deck {}", i),
                            fmt::format("prefix\n{}\n{}\n", i + 1, 90 + i))
                      .id);
  }
  auto list = store_->list(tenant_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ((*list)[i].id, ids[6 - i]);
  EXPECT_EQ(count("rates"), 10);
  EXPECT_EQ(store_->lookup(tenant_, "+7000")->prefix, "7");
  EXPECT_FALSE(store_->lookup(tenant_, "+1000").ok());
}

TEST_P(RateStoreTest, TenantsHaveTheirOwnDecks) {
  std::string other = create_tenant("globex");
  import_ok(*store_, "acme", kDeckV1);
  auto r = store_->import(other, "globex", kDeckV2);
  ASSERT_TRUE(r.ok() && r->deck) << (r.ok() ? problems_of(r->problems) : r.error().message);
  EXPECT_EQ(store_->lookup(tenant_, "+14155550100")->prefix, "14155");
  EXPECT_EQ(store_->lookup(other, "+14155550100")->prefix, "1");
  EXPECT_FALSE(store_->lookup(tenant_, "+442071838750").ok());
  EXPECT_EQ(store_->list(tenant_)->size(), 1u);
  EXPECT_EQ(store_->list(other)->size(), 1u);
  EXPECT_TRUE((*store_->list(tenant_))[0].active);
}

TEST_P(RateStoreTest, AHundredThousandRowsImportInSeconds) {
  const std::string csv = random_deck_csv(100'000, 7);
  auto t0 = std::chrono::steady_clock::now();
  DeckInfo d = import_ok(*store_, "big", csv);
  auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(d.rate_count, 100'000);
  EXPECT_EQ(count("rates"), 100'000);

  RateStore node_b(db(), clock_);
  auto deck = node_b.active(tenant_);
  auto t2 = std::chrono::steady_clock::now();
  ASSERT_TRUE(deck.ok()) << deck.error().message;
  EXPECT_EQ((*deck)->size(), 100'000u);
  // Every rate came back as it was parsed.
  ParsedDeck parsed = parse_rate_csv(csv);
  for (std::size_t i = 0; i < parsed.rates.size(); i += 997) {
    const Rate& want = parsed.rates[i];
    const Rate* got = (*deck)->match(want.prefix);
    ASSERT_NE(got, nullptr) << want.prefix;
    EXPECT_EQ(got->prefix, want.prefix);
    EXPECT_EQ(got->per_minute_micros, want.per_minute_micros);
    EXPECT_EQ(got->description, want.description);
    EXPECT_EQ(got->first_increment_s, want.first_increment_s);
    EXPECT_EQ(got->sms_micros, want.sms_micros);
  }
  auto ms = [](auto span) { return std::chrono::duration<double, std::milli>(span).count(); };
  std::cout << "[ RATES    ] " << storage::dialect_name(dialect()) << ": imported 100000 rates in "
            << ms(t1 - t0) << " ms, loaded them in " << ms(t2 - t1) << " ms\n";
  EXPECT_LT(ms(t1 - t0), 60'000.0);
}

RH_ON_BOTH_DRIVERS(RateStoreTest);

}  // namespace
}  // namespace rh::billing
