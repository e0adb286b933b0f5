#include "core/csv.hpp"

#include <fmt/format.h>

#include <set>

namespace rh::csv {

namespace {

// More fields than this in one record is malformed (and the extra fields are
// not kept, so a line of a million commas costs no memory).
constexpr std::size_t kMaxColumns = 256;

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

bool is_line_end(char c) {
  return c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// One record as the scanner found it, before it is checked against the header.
struct RawRecord {
  int line = 0;                     // where it starts
  std::vector<std::string> fields;  // at most kMaxColumns kept
  std::size_t field_count = 0;      // all of them
  bool any_quoted = false;
  bool any_text = false;  // some field (kept or not) is not empty
  std::string problem;    // the first quoting problem, if any
  int problem_line = 0;
};

// Reads records one at a time. Every call consumes at least one byte while
// any is left, so parsing ends; line counts follow "\r\n", "\n" and a lone
// "\r" as line ends, also inside quoted fields.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : s_(text) {}

  bool done() const { return i_ >= s_.size(); }

  void next(RawRecord& r) {
    r.line = line_;
    r.fields.clear();
    r.field_count = 0;
    r.any_quoted = false;
    r.any_text = false;
    r.problem.clear();
    r.problem_line = 0;
    for (;;) {
      std::string field;
      std::size_t j = i_;
      while (j < s_.size() && is_blank(s_[j])) ++j;
      if (j < s_.size() && s_[j] == '"') {
        r.any_quoted = true;
        i_ = j + 1;
        quoted(r, field);
      } else {
        unquoted(r, field);
      }
      r.any_text = r.any_text || !field.empty();
      if (r.field_count < kMaxColumns) r.fields.push_back(std::move(field));
      ++r.field_count;
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      end_line();
      return;
    }
  }

 private:
  void flag(RawRecord& r, std::string message) {
    if (!r.problem.empty()) return;
    r.problem = std::move(message);
    r.problem_line = line_;
  }

  // Consumes a line end at i_ (if any) and counts it.
  void end_line() {
    if (i_ >= s_.size()) return;
    if (s_[i_] == '\r' && i_ + 1 < s_.size() && s_[i_ + 1] == '\n') ++i_;
    ++i_;
    ++line_;
  }

  void unquoted(RawRecord& r, std::string& field) {
    std::size_t k = i_;
    while (k < s_.size() && s_[k] != ',' && !is_line_end(s_[k])) {
      if (s_[k] == '"')
        flag(r, "a quote inside an unquoted field (quote the whole field and double the quote)");
      ++k;
    }
    field.assign(trim(s_.substr(i_, k - i_)));
    i_ = k;
  }

  // i_ is just past the opening quote.
  void quoted(RawRecord& r, std::string& field) {
    const int open_line = line_;
    bool closed = false;
    while (i_ < s_.size()) {
      std::size_t k = i_;
      while (k < s_.size() && s_[k] != '"' && !is_line_end(s_[k])) ++k;
      field.append(s_.substr(i_, k - i_));
      i_ = k;
      if (i_ >= s_.size()) break;
      char c = s_[i_];
      if (c == '"') {
        if (i_ + 1 < s_.size() && s_[i_ + 1] == '"') {
          field += '"';
          i_ += 2;
          continue;
        }
        ++i_;
        closed = true;
        break;
      }
      // A line break inside the field: kept as it is written, and counted.
      if (c == '\r' && i_ + 1 < s_.size() && s_[i_ + 1] == '\n') {
        field += "\r\n";
        i_ += 2;
      } else {
        field += c;
        ++i_;
      }
      ++line_;
    }
    if (!closed) {
      if (r.problem.empty()) {
        r.problem = fmt::format("a quoted field opened on line {} is never closed", open_line);
        r.problem_line = open_line;
      }
      return;
    }
    while (i_ < s_.size() && is_blank(s_[i_])) ++i_;
    if (i_ < s_.size() && s_[i_] != ',' && !is_line_end(s_[i_])) {
      flag(r,
           "unexpected text after a closing quote (a quote inside a quoted field is written \"\")");
      while (i_ < s_.size() && s_[i_] != ',' && !is_line_end(s_[i_])) field += s_[i_++];
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  int line_ = 1;
};

// A line with nothing on it, only blanks, or only empty unquoted fields
// (",,,", as spreadsheets export empty rows).
bool blank(const RawRecord& r) {
  return !r.any_quoted && !r.any_text && r.problem.empty();
}

}  // namespace

Table parse(std::string_view text, std::size_t max_records) {
  Table t;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  Scanner scan(text);
  RawRecord raw;
  bool have_header = false;
  std::size_t rows = 0;  // data records, good or bad
  while (!scan.done()) {
    scan.next(raw);
    if (blank(raw)) continue;
    if (!have_header) {
      have_header = true;
      if (!raw.problem.empty()) t.problems.push_back({raw.problem_line, raw.problem});
      if (raw.field_count > kMaxColumns) {
        t.problems.push_back(
            {raw.line, fmt::format("the header has {} columns; at most {} are allowed",
                                   raw.field_count, kMaxColumns)});
      }
      std::set<std::string> seen;
      for (const auto& f : raw.fields) {
        std::string name = lower(trim(f));
        if (!name.empty() && !seen.insert(name).second)
          t.problems.push_back({raw.line, fmt::format("column '{}' appears twice", name)});
        t.header.push_back(std::move(name));
      }
      continue;
    }
    if (rows >= max_records) {
      t.problems.push_back(
          {raw.line,
           fmt::format("more than {} records; the rest of the file is ignored", max_records)});
      break;
    }
    ++rows;
    if (!raw.problem.empty()) {
      t.problems.push_back({raw.problem_line, raw.problem});
      continue;
    }
    if (raw.field_count != t.header.size()) {
      t.problems.push_back({raw.line, fmt::format("expected {} fields, found {}", t.header.size(),
                                                  raw.field_count)});
      continue;
    }
    Record rec;
    rec.line = raw.line;
    for (std::size_t k = 0; k < raw.fields.size(); ++k) {
      // Columns without a name (trailing commas in the header) are not kept.
      if (t.header[k].empty()) continue;
      rec.fields.emplace(t.header[k], std::move(raw.fields[k]));
    }
    t.records.push_back(std::move(rec));
  }
  return t;
}

std::string join_list(const std::vector<std::string>& fields) {
  std::string out;
  for (const auto& f : fields) {
    if (!out.empty()) out += ',';
    out += f;
  }
  return out;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace rh::csv
