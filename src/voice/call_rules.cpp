#include "voice/call_rules.hpp"

#include <date/tz.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <exception>
#include <new>
#include <optional>
#include <unordered_set>

#include "core/phone_number.hpp"

namespace rh::voice {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 7> kDayNames = {"mon", "tue", "wed", "thu",
                                                       "fri", "sat", "sun"};
constexpr std::array<std::string_view, 7> kDayLongNames = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};

constexpr std::size_t kMaxEntryChars = 64;
constexpr std::size_t kMaxQuotedChars = 40;

// 'text' for a message, cut short (never inside a UTF-8 sequence).
std::string quote(std::string_view s) {
  std::string out = "'";
  if (s.size() <= kMaxQuotedChars) {
    out.append(s);
  } else {
    std::size_t n = kMaxQuotedChars;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    out.append(s.substr(0, n));
    out += "...";
  }
  out += '\'';
  return out;
}

const char* kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

std::string join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string out(path);
  out += '.';
  out.append(key);
  return out;
}

std::string index(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

std::string two_digits(int n) {
  std::string s = std::to_string(n);
  return n < 10 ? "0" + s : s;
}

std::string format_hhmm(int minutes) {
  return two_digits(minutes / 60) + ":" + two_digits(minutes % 60);
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// "+1 (415) 555-0132" -> "+14155550132"; nullopt when it holds anything but
// digits, one leading '+' and the usual separators.
std::optional<std::string> strip_separators(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (is_digit(c)) {
      out += c;
    } else if (c == '+') {
      if (!out.empty()) return std::nullopt;
      out += c;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
      return std::nullopt;
    }
  }
  return out;
}

// "+" then a country code's first digit (never 0) and up to 15 digits in all.
bool is_e164_shape(std::string_view s, std::size_t min_digits) {
  if (s.size() < 1 + min_digits || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
  return std::all_of(s.begin() + 1, s.end(), is_digit);
}

class RulesParser {
 public:
  explicit RulesParser(std::string_view default_country) : country_(default_country) {}

  std::vector<RuleProblem> take_problems() { return std::move(problems_); }
  bool ok() const { return problems_.empty(); }

  void problem(std::string field, std::string message) {
    if (problems_.size() < kMaxRuleProblems) {
      problems_.push_back({std::move(field), std::move(message)});
    }
  }

  CallRules parse(const json::value& doc) {
    CallRules r;
    if (!doc.is_object()) {
      problem("", std::string("must be a JSON object, not ") + kind_name(doc));
      return r;
    }
    const json::object& o = doc.get_object();
    check_fields(
        o, "",
        {"block", "allow", "allow_only", "reject_anonymous", "dnd", "ring", "forward", "fallback"});
    read_list(o, "block", "", r.block);
    read_list(o, "allow", "", r.allow);
    read_bool(o, "allow_only", "", r.allow_only);
    read_bool(o, "reject_anonymous", "", r.reject_anonymous);
    if (const json::object* dnd = object_field(o, "dnd", "")) {
      check_fields(*dnd, "dnd", {"manual", "schedule"});
      read_bool(*dnd, "manual", "dnd", r.dnd.manual);
      read_schedule(*dnd, r.dnd.schedule);
    }
    if (const json::object* ring = object_field(o, "ring", "")) {
      check_fields(*ring, "ring", {"devices", "timeout_s"});
      read_bool(*ring, "devices", "ring", r.ring.devices);
      read_timeout(*ring, "timeout_s", "ring", r.ring.timeout_s);
    }
    if (const json::object* fwd = object_field(o, "forward", "")) {
      check_fields(*fwd, "forward", {"numbers", "mode", "timeout_s"});
      read_forward_numbers(*fwd, r.forward.numbers);
      read_mode(*fwd, r.forward.mode);
      read_timeout(*fwd, "timeout_s", "forward", r.forward.timeout_s);
    }
    if (const json::object* fb = object_field(o, "fallback", "")) {
      check_fields(*fb, "fallback", {"no_answer", "busy", "dnd"});
      read_fallback(*fb, "no_answer", r.fallback.no_answer);
      read_fallback(*fb, "busy", r.fallback.busy);
      read_fallback(*fb, "dnd", r.fallback.dnd);
    }
    return r;
  }

 private:
  // The value of o[key], or nullptr when absent or null.
  static const json::value* field(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return nullptr;
    return v;
  }

  void check_fields(const json::object& o, std::string_view path,
                    std::initializer_list<std::string_view> known) {
    for (const auto& kv : o) {
      std::string_view key = kv.key();
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string expected;
      for (std::string_view k : known) {
        if (!expected.empty()) expected += ", ";
        expected.append(k);
      }
      problem(path.empty() ? std::string(key.substr(0, kMaxQuotedChars))
                           : join(path, key.substr(0, kMaxQuotedChars)),
              "is not a known field (expected one of: " + expected + ")");
    }
  }

  const json::object* object_field(const json::object& o, std::string_view key,
                                   std::string_view path) {
    const json::value* v = field(o, key);
    if (v == nullptr) return nullptr;
    if (!v->is_object()) {
      problem(join(path, key), std::string("must be an object, not ") + kind_name(*v));
      return nullptr;
    }
    return &v->get_object();
  }

  const json::array* array_field(const json::object& o, std::string_view key,
                                 std::string_view path) {
    const json::value* v = field(o, key);
    if (v == nullptr) return nullptr;
    if (!v->is_array()) {
      problem(join(path, key), std::string("must be an array, not ") + kind_name(*v));
      return nullptr;
    }
    return &v->get_array();
  }

  void read_bool(const json::object& o, std::string_view key, std::string_view path, bool& out) {
    const json::value* v = field(o, key);
    if (v == nullptr) return;
    if (!v->is_bool()) {
      problem(join(path, key), std::string("must be true or false, not ") + kind_name(*v));
      return;
    }
    out = v->get_bool();
  }

  void read_timeout(const json::object& o, std::string_view key, std::string_view path, int& out) {
    const json::value* v = field(o, key);
    if (v == nullptr) return;
    std::optional<std::int64_t> n;
    if (v->is_int64()) {
      n = v->get_int64();
    } else if (v->is_uint64()) {
      n = kMaxTimeoutS + 1;  // out of range anyway
    } else if (v->is_double()) {
      double d = v->get_double();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e9) {
        n = static_cast<std::int64_t>(d);
      }
    }
    if (!n || *n < kMinTimeoutS || *n > kMaxTimeoutS) {
      problem(join(path, key), "must be a whole number of seconds from " +
                                   std::to_string(kMinTimeoutS) + " to " +
                                   std::to_string(kMaxTimeoutS));
      return;
    }
    out = static_cast<int>(*n);
  }

  // A string element of an array, or a problem.
  const json::string* string_at(const json::value& v, const std::string& where) {
    if (!v.is_string()) {
      problem(where, std::string("must be a string, not ") + kind_name(v));
      return nullptr;
    }
    return &v.get_string();
  }

  // A valid number in E.164 or national form; with loose, also any
  // "+<digits>" (to block numbers libphonenumber calls invalid: spoofed
  // callers use them).
  std::optional<std::string> number(std::string_view s, bool loose) {
    if (s.empty() || s.size() > kMaxEntryChars) return std::nullopt;
    std::optional<std::string> stripped = strip_separators(s);
    if (!stripped || stripped->empty()) return std::nullopt;
    auto e164 = phone::to_e164(*stripped, country_);
    if (e164.ok()) return std::move(e164).value();
    if (loose && is_e164_shape(*stripped, 2)) return stripped;
    return std::nullopt;
  }

  void read_list(const json::object& o, std::string_view key, std::string_view path,
                 std::vector<std::string>& out) {
    const json::array* a = array_field(o, key, path);
    if (a == nullptr) return;
    std::string list_path = join(path, key);
    if (a->size() > kMaxListEntries) {
      problem(list_path, "has " + std::to_string(a->size()) + " entries; at most " +
                             std::to_string(kMaxListEntries) + " are allowed");
      return;
    }
    std::unordered_set<std::string> seen;
    for (std::size_t i = 0; i < a->size(); ++i) {
      std::string where = index(list_path, i);
      const json::string* s = string_at((*a)[i], where);
      if (s == nullptr) continue;
      std::string_view text(s->data(), s->size());
      std::optional<std::string> entry;
      if (!text.empty() && text.back() == '*' && text.size() <= kMaxEntryChars) {
        std::optional<std::string> prefix = strip_separators(text.substr(0, text.size() - 1));
        if (prefix && is_e164_shape(*prefix, 1)) entry = *prefix + "*";
      } else {
        entry = number(text, /*loose=*/true);
      }
      if (!entry) {
        problem(where, "is not a phone number (" + quote(text) +
                           "): use E.164 (+14155550132), a national number, "
                           "or an international prefix ending in * (+1900*)");
        continue;
      }
      if (seen.insert(*entry).second) out.push_back(std::move(*entry));
    }
  }

  void read_forward_numbers(const json::object& o, std::vector<std::string>& out) {
    const json::array* a = array_field(o, "numbers", "forward");
    if (a == nullptr) return;
    if (a->size() > kMaxForwardNumbers) {
      problem("forward.numbers", "has " + std::to_string(a->size()) + " numbers; at most " +
                                     std::to_string(kMaxForwardNumbers) + " are allowed");
      return;
    }
    for (std::size_t i = 0; i < a->size(); ++i) {
      std::string where = index("forward.numbers", i);
      const json::string* s = string_at((*a)[i], where);
      if (s == nullptr) continue;
      std::string_view text(s->data(), s->size());
      std::optional<std::string> n = number(text, /*loose=*/false);
      if (!n) {
        problem(where, "is not a valid phone number (" + quote(text) +
                           "): use E.164 (+14155550132) or a national number");
        continue;
      }
      if (std::find(out.begin(), out.end(), *n) != out.end()) {
        problem(where, "repeats an earlier number (" + quote(text) + ")");
        continue;
      }
      out.push_back(std::move(*n));
    }
  }

  void read_mode(const json::object& o, CallRules::Forward::Mode& out) {
    const json::value* v = field(o, "mode");
    if (v == nullptr) return;
    if (v->is_string() && v->get_string() == "simultaneous") {
      out = CallRules::Forward::Mode::simultaneous;
    } else if (v->is_string() && v->get_string() == "sequential") {
      out = CallRules::Forward::Mode::sequential;
    } else {
      problem("forward.mode", "must be \"simultaneous\" or \"sequential\"");
    }
  }

  void read_fallback(const json::object& o, std::string_view key, Fallback& out) {
    const json::value* v = field(o, key);
    if (v == nullptr) return;
    std::string where = join("fallback", key);
    constexpr std::string_view kForward = "forward:";
    if (v->is_string()) {
      std::string_view s(v->get_string().data(), v->get_string().size());
      if (s == "voicemail") {
        out = Fallback{Fallback::Action::voicemail, {}};
        return;
      }
      if (s == "reject") {
        out = Fallback{Fallback::Action::reject, {}};
        return;
      }
      if (s.starts_with(kForward)) {
        std::string_view rest = s.substr(kForward.size());
        if (std::optional<std::string> n = number(rest, /*loose=*/false)) {
          out = Fallback{Fallback::Action::forward, std::move(*n)};
        } else {
          problem(where, "has no valid phone number after \"forward:\" (" + quote(rest) + ")");
        }
        return;
      }
    }
    problem(where, "must be \"voicemail\", \"reject\" or \"forward:<number>\"");
  }

  // "HH:MM" -> minutes; "24:00" only when allow_24.
  static std::optional<int> hhmm(const json::value& v, bool allow_24) {
    if (!v.is_string()) return std::nullopt;
    const json::string& s = v.get_string();
    if (s.size() != 5 || s[2] != ':' || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[3]) ||
        !is_digit(s[4])) {
      return std::nullopt;
    }
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (allow_24 && h == 24 && m == 0) return 24 * 60;
    if (h > 23 || m > 59) return std::nullopt;
    return h * 60 + m;
  }

  static std::optional<int> day_index(const json::value& v) {
    if (!v.is_string()) return std::nullopt;
    const json::string& s = v.get_string();
    if (s.size() > 9) return std::nullopt;
    std::string lower;
    for (char c : s) lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    for (int i = 0; i < 7; ++i) {
      if (lower == kDayNames[i] || lower == kDayLongNames[i]) return i;
    }
    return std::nullopt;
  }

  void read_schedule(const json::object& dnd, std::vector<DndWindow>& out) {
    const json::array* a = array_field(dnd, "schedule", "dnd");
    if (a == nullptr) return;
    if (a->size() > kMaxDndWindows) {
      problem("dnd.schedule", "has " + std::to_string(a->size()) + " windows; at most " +
                                  std::to_string(kMaxDndWindows) + " are allowed");
      return;
    }
    for (std::size_t i = 0; i < a->size(); ++i) {
      std::string where = index("dnd.schedule", i);
      const json::value& item = (*a)[i];
      if (!item.is_object()) {
        problem(where, std::string("must be an object, not ") + kind_name(item));
        continue;
      }
      const json::object& o = item.get_object();
      check_fields(o, where, {"days", "start", "end"});
      DndWindow w;
      bool good = true;
      w.days.fill(true);
      if (const json::array* days = array_field(o, "days", where)) {
        w.days.fill(false);
        std::string days_path = join(where, "days");
        if (days->empty()) {
          problem(days_path, "must name at least one day (omit it for every day)");
          good = false;
        }
        for (std::size_t d = 0; d < days->size(); ++d) {
          if (std::optional<int> day = day_index((*days)[d])) {
            w.days[*day] = true;
          } else {
            problem(index(days_path, d), "must be a day: mon, tue, wed, thu, fri, sat or sun");
            good = false;
          }
        }
      }
      std::optional<int> start, end;
      if (const json::value* v = field(o, "start")) {
        start = hhmm(*v, false);
        if (!start) problem(join(where, "start"), "must be a time HH:MM, from 00:00 to 23:59");
      } else {
        problem(join(where, "start"), "is required (HH:MM)");
      }
      if (const json::value* v = field(o, "end")) {
        end = hhmm(*v, true);
        if (!end) problem(join(where, "end"), "must be a time HH:MM, from 00:00 to 24:00");
      } else {
        problem(join(where, "end"), "is required (HH:MM)");
      }
      if (start && end && *start == *end) {
        problem(join(where, "end"), "must differ from start (for a whole day use 00:00 to 24:00)");
        good = false;
      }
      if (!good || !start || !end) continue;
      w.start_min = *start;
      w.end_min = *end;
      out.push_back(w);
    }
  }

  std::string country_;
  std::vector<RuleProblem> problems_;
};

json::value list_json(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

std::string fallback_text(const Fallback& f) {
  switch (f.action) {
    case Fallback::Action::voicemail:
      return "voicemail";
    case Fallback::Action::reject:
      return "reject";
    case Fallback::Action::forward:
      return "forward:" + f.number;
  }
  return "voicemail";
}

bool listed(const std::vector<std::string>& list, std::string_view caller) {
  if (caller.empty()) return false;
  for (const std::string& e : list) {
    if (!e.empty() && e.back() == '*') {
      if (caller.starts_with(std::string_view(e).substr(0, e.size() - 1))) return true;
    } else if (e == caller) {
      return true;
    }
  }
  return false;
}

// The local weekday (0 Monday) and minute of the day at at_ms in zone
// (UTC when the zone is empty or unknown).
struct LocalMinute {
  int weekday = 0;
  int minute = 0;
};

LocalMinute local_minute(std::int64_t at_ms, std::string_view zone_name) {
  using std::chrono::milliseconds;
  // Years 1970..9999: keeps the day arithmetic far from overflow.
  constexpr std::int64_t kMaxMs = 253'402'300'799'999;
  at_ms = std::clamp<std::int64_t>(at_ms, 0, kMaxMs);
  date::sys_time<milliseconds> t{milliseconds{at_ms}};
  const date::time_zone* zone = nullptr;
  if (!zone_name.empty() && zone_name.size() < 128) {
    try {
      zone = date::locate_zone(zone_name);
    } catch (const std::exception&) {
      zone = nullptr;  // unknown zone (or no zone database): UTC
    }
  }
  date::local_time<milliseconds> lt{t.time_since_epoch()};
  if (zone != nullptr) {
    try {
      lt = zone->to_local(t);
    } catch (const std::exception&) {
      lt = date::local_time<milliseconds>{t.time_since_epoch()};
    }
  }
  date::local_days day = date::floor<date::days>(lt);
  date::weekday wd{day};
  LocalMinute out;
  out.weekday = static_cast<int>((wd.c_encoding() + 6) % 7);
  out.minute = static_cast<int>(date::floor<std::chrono::minutes>(lt - day).count());
  return out;
}

bool in_window(const DndWindow& w, const LocalMinute& now) {
  if (w.start_min < w.end_min) {
    return w.days[now.weekday] && now.minute >= w.start_min && now.minute < w.end_min;
  }
  // Crosses midnight: the evening of one of its days, or the morning after.
  if (w.days[now.weekday] && now.minute >= w.start_min) return true;
  return w.days[(now.weekday + 6) % 7] && now.minute < w.end_min;
}

Reject exhausted() {
  return Reject{480, "Temporarily Unavailable", PlanCause::exhausted};
}

std::variant<Stage, Reject> fallback_plan(const CallRules& r, const Fallback& f, PlanCause cause) {
  switch (f.action) {
    case Fallback::Action::voicemail:
      return Stage{{Target{Target::Kind::voicemail, {}}}, 0, cause};
    case Fallback::Action::forward:
      return Stage{{Target{Target::Kind::number, f.number}}, r.forward.timeout_s, cause};
    case Fallback::Action::reject:
      break;
  }
  if (cause == PlanCause::busy) return Reject{486, "Busy Here", cause};
  return Reject{480, "Temporarily Unavailable", cause};
}

std::vector<Stage> ring_stages(const CallRules& r) {
  std::vector<Stage> stages;
  const auto& numbers = r.forward.numbers;
  if (r.forward.mode == CallRules::Forward::Mode::simultaneous) {
    Stage s;
    if (r.ring.devices) s.targets.push_back(Target{Target::Kind::devices, {}});
    for (const auto& n : numbers) s.targets.push_back(Target{Target::Kind::number, n});
    s.timeout_s = r.ring.devices ? r.ring.timeout_s : r.forward.timeout_s;
    if (!s.targets.empty()) stages.push_back(std::move(s));
    return stages;
  }
  if (r.ring.devices) {
    stages.push_back(Stage{{Target{Target::Kind::devices, {}}}, r.ring.timeout_s});
  }
  for (const auto& n : numbers) {
    stages.push_back(Stage{{Target{Target::Kind::number, n}}, r.forward.timeout_s});
  }
  return stages;
}

}  // namespace

std::variant<CallRules, std::vector<RuleProblem>> parse_call_rules(
    std::string_view text, std::string_view default_country) {
  std::vector<RuleProblem> problems;
  try {
    if (text.size() > kMaxRulesJsonBytes) {
      problems.push_back(
          {"", "is too large: at most " + std::to_string(kMaxRulesJsonBytes / 1024) + " KiB"});
      return problems;
    }
    json::parser p;
    boost::system::error_code ec;
    std::size_t used = p.write(text.data(), text.size(), ec);
    if (ec) {
      problems.push_back(
          {"", "is not valid JSON: " + ec.message() + " (at byte " + std::to_string(used) + ")"});
      return problems;
    }
    json::value doc = p.release();
    RulesParser rp(default_country);
    CallRules rules = rp.parse(doc);
    if (rp.ok()) return rules;
    return rp.take_problems();
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    problems.clear();
    problems.push_back({"", std::string("could not be read: ") + e.what()});
    return problems;
  }
}

std::string call_rules_json(const CallRules& r) {
  json::array schedule;
  for (const DndWindow& w : r.dnd.schedule) {
    json::array days;
    for (int d = 0; d < 7; ++d) {
      if (w.days[d]) days.emplace_back(kDayNames[d]);
    }
    schedule.push_back(json::object{{"days", std::move(days)},
                                    {"start", format_hhmm(w.start_min)},
                                    {"end", format_hhmm(w.end_min)}});
  }
  json::object o{
      {"block", list_json(r.block)},
      {"allow", list_json(r.allow)},
      {"allow_only", r.allow_only},
      {"reject_anonymous", r.reject_anonymous},
      {"dnd", json::object{{"manual", r.dnd.manual}, {"schedule", std::move(schedule)}}},
      {"ring", json::object{{"devices", r.ring.devices}, {"timeout_s", r.ring.timeout_s}}},
      {"forward", json::object{{"numbers", list_json(r.forward.numbers)},
                               {"mode", r.forward.mode == CallRules::Forward::Mode::sequential
                                            ? "sequential"
                                            : "simultaneous"},
                               {"timeout_s", r.forward.timeout_s}}},
      {"fallback", json::object{{"no_answer", fallback_text(r.fallback.no_answer)},
                                {"busy", fallback_text(r.fallback.busy)},
                                {"dnd", fallback_text(r.fallback.dnd)}}}};
  return json::serialize(o);
}

const char* plan_cause_name(PlanCause c) {
  switch (c) {
    case PlanCause::ring:
      return "ring";
    case PlanCause::dnd:
      return "dnd";
    case PlanCause::allow_only:
      return "allow_only";
    case PlanCause::no_answer:
      return "no_answer";
    case PlanCause::busy:
      return "busy";
    case PlanCause::blocked:
      return "blocked";
    case PlanCause::anonymous:
      return "anonymous";
    case PlanCause::exhausted:
      return "exhausted";
  }
  return "unknown";
}

bool dnd_active(const CallRules& rules, std::int64_t at_ms, std::string_view time_zone) {
  if (rules.dnd.manual) return true;
  if (rules.dnd.schedule.empty()) return false;
  LocalMinute now = local_minute(at_ms, time_zone);
  return std::any_of(rules.dnd.schedule.begin(), rules.dnd.schedule.end(),
                     [&](const DndWindow& w) { return in_window(w, now); });
}

std::variant<Stage, Reject> plan_inbound(const CallRules& rules, const InboundCall& call,
                                         int failed_stages, int last_code) {
  const std::size_t failed = failed_stages < 0 ? 0 : static_cast<std::size_t>(failed_stages);
  if (!listed(rules.allow, call.caller)) {
    if (listed(rules.block, call.caller)) return Reject{603, "Decline", PlanCause::blocked};
    if (rules.reject_anonymous && (call.anonymous || call.caller.empty())) {
      return Reject{433, "Anonymity Disallowed", PlanCause::anonymous};
    }
    std::optional<PlanCause> held;
    if (rules.allow_only) {
      held = PlanCause::allow_only;
    } else if (dnd_active(rules, call.at_ms, call.time_zone)) {
      held = PlanCause::dnd;
    }
    if (held) {
      if (failed == 0) return fallback_plan(rules, rules.fallback.dnd, *held);
      return exhausted();
    }
  }
  std::vector<Stage> stages = ring_stages(rules);
  if (failed < stages.size()) return std::move(stages[failed]);
  if (failed == stages.size()) {
    const bool busy = failed > 0 && (last_code == 486 || last_code == 600);
    return busy ? fallback_plan(rules, rules.fallback.busy, PlanCause::busy)
                : fallback_plan(rules, rules.fallback.no_answer, PlanCause::no_answer);
  }
  return exhausted();
}

}  // namespace rh::voice
