// RFC 4180 CSV, as operators export it from spreadsheets: a header row,
// comma-separated fields, double quotes around fields that hold commas,
// quotes or line breaks ("" for a quote inside), CRLF or LF line ends, an
// optional UTF-8 byte-order mark, blank lines skipped. Pure; no I/O.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rh::csv {

// A problem found in one line of the input (1-based, counting the header).
struct LineProblem {
  int line = 0;
  std::string message;
};

struct Record {
  int line = 0;  // where the record starts
  std::map<std::string, std::string> fields;  // by lower-cased, trimmed header name
};

struct Table {
  std::vector<std::string> header;  // lower-cased, trimmed
  std::vector<Record> records;
  std::vector<LineProblem> problems;  // malformed lines (wrong field count, bad quoting)
};

// Parses the whole text. Records with the wrong number of fields are reported
// in problems and left out. At most max_records records (the rest is a
// problem on the line where the limit was passed).
Table parse(std::string_view text, std::size_t max_records = 1'000'000);

// A stored list: fields joined by ',' with no quoting (the fields never hold
// a comma: numbers, ids, country codes). split_list drops empty fields.
std::string join_list(const std::vector<std::string>& fields);
std::vector<std::string> split_list(std::string_view text);

}  // namespace rh::csv
