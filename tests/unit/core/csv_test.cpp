#include "core/csv.hpp"

#include <gtest/gtest.h>

#include <string>

namespace rh::csv {
namespace {

std::string problems_of(const Table& t) {
  std::string s;
  for (const auto& p : t.problems) s += std::to_string(p.line) + ": " + p.message + "\n";
  return s;
}

TEST(Csv, HeaderIsLowerCasedAndTrimmedAndFieldsAreByName) {
  Table t = parse(" Prefix ,DESCRIPTION,Per_Minute\n1,United States,0.01\n44, UK ,0.02\n");
  EXPECT_TRUE(t.problems.empty()) << problems_of(t);
  EXPECT_EQ(t.header, (std::vector<std::string>{"prefix", "description", "per_minute"}));
  ASSERT_EQ(t.records.size(), 2u);
  EXPECT_EQ(t.records[0].line, 2);
  EXPECT_EQ(t.records[0].fields.at("prefix"), "1");
  EXPECT_EQ(t.records[0].fields.at("description"), "United States");
  EXPECT_EQ(t.records[1].line, 3);
  EXPECT_EQ(t.records[1].fields.at("description"), "UK");  // unquoted fields are trimmed
  EXPECT_EQ(t.records[1].fields.at("per_minute"), "0.02");
}

TEST(Csv, QuotedFieldsHoldCommasQuotesAndLineBreaks) {
  Table t = parse(
      "a,b,c\n"
      "\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n"
      "\"\",\"  kept  \",plain\n");
  EXPECT_TRUE(t.problems.empty()) << problems_of(t);
  ASSERT_EQ(t.records.size(), 2u);
  EXPECT_EQ(t.records[0].fields.at("a"), "x, y");
  EXPECT_EQ(t.records[0].fields.at("b"), "say \"hi\"");
  EXPECT_EQ(t.records[0].fields.at("c"), "two\nlines");
  EXPECT_EQ(t.records[1].fields.at("a"), "");
  EXPECT_EQ(t.records[1].fields.at("b"), "  kept  ");  // quoted: exactly as written
  EXPECT_EQ(t.records[1].line, 4);                     // the quoted field took two lines
}

TEST(Csv, LineNumbersStayRightAfterAQuotedFieldSpansLines) {
  Table t = parse(
      "a,b\n"
      "1,\"line\r\nbreak\r\nand another\"\r\n"
      "2,x\r\n"
      "3\r\n"  // one field short: reported on its own line
      "4,y\r\n");
  ASSERT_EQ(t.records.size(), 3u) << problems_of(t);
  EXPECT_EQ(t.records[0].line, 2);
  EXPECT_EQ(t.records[0].fields.at("b"), "line\r\nbreak\r\nand another");
  EXPECT_EQ(t.records[1].line, 5);
  EXPECT_EQ(t.records[2].line, 7);
  ASSERT_EQ(t.problems.size(), 1u);
  EXPECT_EQ(t.problems[0].line, 6);
  EXPECT_EQ(t.problems[0].message, "expected 2 fields, found 1");
}

TEST(Csv, CrlfLfAndLoneCrAreLineEnds) {
  for (const char* text :
       {"a,b\r\n1,2\r\n3,4\r\n", "a,b\n1,2\n3,4\n", "a,b\r1,2\r3,4\r", "a,b\r\n1,2\n3,4"}) {
    Table t = parse(text);
    EXPECT_TRUE(t.problems.empty()) << problems_of(t);
    ASSERT_EQ(t.records.size(), 2u) << text;
    EXPECT_EQ(t.records[0].fields.at("b"), "2");
    EXPECT_EQ(t.records[1].fields.at("a"), "3");
    EXPECT_EQ(t.records[1].fields.at("b"), "4");
    EXPECT_EQ(t.records[1].line, 3);
  }
}

TEST(Csv, ByteOrderMarkIsSkipped) {
  Table t = parse("\xEF\xBB\xBFprefix,rate\n1,2\n");
  EXPECT_TRUE(t.problems.empty());
  EXPECT_EQ(t.header[0], "prefix");
  ASSERT_EQ(t.records.size(), 1u);
  EXPECT_EQ(t.records[0].fields.at("prefix"), "1");
}

TEST(Csv, BlankLinesAreSkippedButCounted) {
  Table t = parse("\n\na,b\n\n1,2\n   \n,\n\r\n3,4\n\n");
  EXPECT_TRUE(t.problems.empty()) << problems_of(t);
  EXPECT_EQ(t.header, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(t.records.size(), 2u);
  EXPECT_EQ(t.records[0].line, 5);
  EXPECT_EQ(t.records[1].line, 9);
}

TEST(Csv, EmptyQuotedFieldsAreNotABlankLine) {
  Table t = parse("a,b\n\"\",\"\"\n");
  ASSERT_EQ(t.records.size(), 1u);
  EXPECT_EQ(t.records[0].fields.at("a"), "");
}

TEST(Csv, WrongFieldCountIsReportedByLineAndLeftOut) {
  Table t = parse("a,b,c\n1,2,3\n1,2\n1,2,3,4\n5,6,7\n");
  ASSERT_EQ(t.records.size(), 2u);
  EXPECT_EQ(t.records[1].line, 5);
  ASSERT_EQ(t.problems.size(), 2u);
  EXPECT_EQ(t.problems[0].line, 3);
  EXPECT_EQ(t.problems[0].message, "expected 3 fields, found 2");
  EXPECT_EQ(t.problems[1].line, 4);
  EXPECT_EQ(t.problems[1].message, "expected 3 fields, found 4");
}

TEST(Csv, UnterminatedQuoteIsReportedOnTheLineItOpens) {
  Table t = parse("a,b\n1,2\n3,\"never closed\n4,5\n6,7\n");
  ASSERT_EQ(t.records.size(), 1u);
  ASSERT_EQ(t.problems.size(), 1u);
  EXPECT_EQ(t.problems[0].line, 3);
  EXPECT_NE(t.problems[0].message.find("never closed"), std::string::npos);
}

TEST(Csv, BadQuotingIsReportedAndTheRestStillParses) {
  Table t = parse("a,b\n1,x\"y\n\"2\"z,3\n4,5\n");
  ASSERT_EQ(t.records.size(), 1u) << problems_of(t);
  EXPECT_EQ(t.records[0].line, 4);
  ASSERT_EQ(t.problems.size(), 2u);
  EXPECT_EQ(t.problems[0].line, 2);
  EXPECT_NE(t.problems[0].message.find("quote inside an unquoted field"), std::string::npos);
  EXPECT_EQ(t.problems[1].line, 3);
  EXPECT_NE(t.problems[1].message.find("after a closing quote"), std::string::npos);
}

TEST(Csv, SpacesAroundQuotedFieldsAreAllowed) {
  Table t = parse("a,b\n  \"x,y\"  , 2\n");
  EXPECT_TRUE(t.problems.empty()) << problems_of(t);
  ASSERT_EQ(t.records.size(), 1u);
  EXPECT_EQ(t.records[0].fields.at("a"), "x,y");
}

TEST(Csv, TrailingCommaAndLastLineWithoutNewline) {
  Table t = parse("a,b,\n1,2,\n3,4,");
  EXPECT_TRUE(t.problems.empty()) << problems_of(t);
  ASSERT_EQ(t.records.size(), 2u);
  EXPECT_EQ(t.records[1].fields.at("b"), "4");
  EXPECT_EQ(t.records[1].fields.count(""), 0u);  // unnamed columns are not kept
}

TEST(Csv, DuplicateHeaderNameIsAProblem) {
  Table t = parse("a,A,b\n1,2,3\n");
  ASSERT_EQ(t.problems.size(), 1u);
  EXPECT_EQ(t.problems[0].line, 1);
  EXPECT_NE(t.problems[0].message.find("'a' appears twice"), std::string::npos);
}

TEST(Csv, RecordLimitStopsWithAProblemWhereItWasPassed) {
  Table t = parse("a\n1\n2\n\n3\n4\n", 2);
  EXPECT_EQ(t.records.size(), 2u);
  ASSERT_EQ(t.problems.size(), 1u);
  EXPECT_EQ(t.problems[0].line, 5);
  EXPECT_NE(t.problems[0].message.find("more than 2 records"), std::string::npos);
}

TEST(Csv, EmptyInputHasNoHeaderAndNoRecords) {
  for (const char* text : {"", "\xEF\xBB\xBF", "\n\r\n  \n"}) {
    Table t = parse(text);
    EXPECT_TRUE(t.header.empty());
    EXPECT_TRUE(t.records.empty());
    EXPECT_TRUE(t.problems.empty());
  }
}

TEST(Csv, AHugeLineOfCommasIsOneBadRecordWithoutKeepingItsFields) {
  std::string text = "a,b\n" + std::string(1'000'000, ',') + "x\n1,2\n";
  Table t = parse(text);
  ASSERT_EQ(t.records.size(), 1u);
  ASSERT_EQ(t.problems.size(), 1u);
  EXPECT_EQ(t.problems[0].line, 2);
  EXPECT_EQ(t.problems[0].message, "expected 2 fields, found 1000001");
}

TEST(Csv, ALineOfOnlyCommasIsBlank) {
  Table t = parse("a,b\n" + std::string(1'000, ',') + "\n1,2\n");
  EXPECT_TRUE(t.problems.empty());
  ASSERT_EQ(t.records.size(), 1u);
  EXPECT_EQ(t.records[0].line, 3);
}

TEST(Csv, ArbitraryBytesNeverCrash) {
  std::string s;
  std::uint32_t x = 12345;
  for (int round = 0; round < 2000; ++round) {
    s.clear();
    for (int i = 0; i < 64; ++i) {
      x = x * 1664525u + 1013904223u;
      const char alphabet[] = {',', '"', '\n', '\r', 'a', ' ', '\0', '\xEF', '\xBB', '\xBF'};
      s += alphabet[(x >> 16) % sizeof alphabet];
    }
    Table t = parse(s, 5);
    EXPECT_LE(t.records.size(), 5u);
    for (const auto& p : t.problems) EXPECT_GE(p.line, 1);
  }
}

}  // namespace
}  // namespace rh::csv

namespace rh::csv {
namespace {

TEST(CsvList, JoinsAndSplitsStoredLists) {
  EXPECT_EQ(join_list({"US", "GB"}), "US,GB");
  EXPECT_EQ(join_list({}), "");
  EXPECT_EQ(split_list("US,GB"), (std::vector<std::string>{"US", "GB"}));
  EXPECT_EQ(split_list(",US,,GB,"), (std::vector<std::string>{"US", "GB"}));
  EXPECT_TRUE(split_list("").empty());
}

}  // namespace
}  // namespace rh::csv
