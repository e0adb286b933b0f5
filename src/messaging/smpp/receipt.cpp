#include "messaging/smpp/receipt.hpp"

#include <algorithm>
#include <cstdio>

#include "messaging/smpp/udh.hpp"

namespace rh::messaging::smpp {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// A count of at most 9 digits.
std::optional<int> parse_count(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

int two(std::string_view s, std::size_t at) {
  return (s[at] - '0') * 10 + (s[at + 1] - '0');
}

// "submit date", "submit_date", "submitdate" → "submit date"; same for done.
std::string canonical_key(std::string key) {
  if (key == "submit_date" || key == "submitdate") return "submit date";
  if (key == "done_date" || key == "donedate") return "done date";
  return key;
}

}  // namespace

std::optional<MessageState> message_state_from_tlv(std::uint8_t value) {
  if (value > 9) return std::nullopt;
  return static_cast<MessageState>(value);
}

std::optional<MessageState> message_state_from_stat(std::string_view word) {
  struct Word {
    const char* text;
    MessageState state;
  };
  static constexpr Word kWords[] = {
      {"DELIVRD", MessageState::delivered},         {"DELIVERED", MessageState::delivered},
      {"EXPIRED", MessageState::expired},           {"DELETED", MessageState::deleted},
      {"UNDELIV", MessageState::undeliverable},     {"UNDELIVERABLE", MessageState::undeliverable},
      {"UNDELIVERED", MessageState::undeliverable}, {"ACCEPTD", MessageState::accepted},
      {"ACCEPTED", MessageState::accepted},         {"UNKNOWN", MessageState::unknown},
      {"REJECTD", MessageState::rejected},          {"REJECTED", MessageState::rejected},
      {"ENROUTE", MessageState::enroute},           {"BUFFRED", MessageState::enroute},
      {"SCHEDULED", MessageState::scheduled},       {"SKIPPED", MessageState::skipped},
  };
  for (const auto& w : kWords) {
    if (iequals(word, w.text)) return w.state;
  }
  return std::nullopt;
}

const char* stat_word(MessageState s) {
  switch (s) {
    case MessageState::scheduled:
      return "SCHEDULED";
    case MessageState::enroute:
      return "ENROUTE";
    case MessageState::delivered:
      return "DELIVRD";
    case MessageState::expired:
      return "EXPIRED";
    case MessageState::deleted:
      return "DELETED";
    case MessageState::undeliverable:
      return "UNDELIV";
    case MessageState::accepted:
      return "ACCEPTD";
    case MessageState::unknown:
      return "UNKNOWN";
    case MessageState::rejected:
      return "REJECTD";
    case MessageState::skipped:
      return "SKIPPED";
  }
  return "UNKNOWN";
}

DeliveryStatus delivery_status(MessageState s) {
  switch (s) {
    case MessageState::delivered:
      return DeliveryStatus::delivered;
    case MessageState::expired:
    case MessageState::undeliverable:
    case MessageState::unknown:
      return DeliveryStatus::undelivered;
    case MessageState::deleted:
    case MessageState::rejected:
    case MessageState::skipped:
      return DeliveryStatus::failed;
    case MessageState::scheduled:
    case MessageState::enroute:
    case MessageState::accepted:
      return DeliveryStatus::sent;
  }
  return DeliveryStatus::undelivered;
}

const char* delivery_status_name(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::sent:
      return "sent";
    case DeliveryStatus::delivered:
      return "delivered";
    case DeliveryStatus::undelivered:
      return "undelivered";
    case DeliveryStatus::failed:
      return "failed";
  }
  return "undelivered";
}

std::optional<ReceiptTime> parse_receipt_time(std::string_view d) {
  if (d.size() != 10 && d.size() != 12 && d.size() != 14) return std::nullopt;
  for (char c : d) {
    if (!is_digit(c)) return std::nullopt;
  }
  ReceiptTime t;
  std::size_t at = 0;
  if (d.size() == 14) {
    t.year = two(d, 0) * 100 + two(d, 2);
    at = 4;
  } else {
    t.year = 2000 + two(d, 0);
    at = 2;
  }
  t.month = two(d, at);
  t.day = two(d, at + 2);
  t.hour = two(d, at + 4);
  t.minute = two(d, at + 6);
  if (d.size() > 10) t.second = two(d, at + 8);
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > 31 || t.hour > 23 || t.minute > 59 ||
      t.second > 60) {
    return std::nullopt;
  }
  return t;
}

std::optional<Receipt> parse_receipt(std::string_view s) {
  Receipt r;
  bool has_id = false;
  bool has_stat = false;
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    while (i < n && is_blank(s[i])) ++i;
    if (i >= n) break;
    std::size_t k0 = i;
    while (i < n && is_key_char(s[i])) ++i;
    std::string key = lowered(s.substr(k0, i - k0));
    if (key == "submit" || key == "done") {
      // Two-word keys: "submit date:", "done date:".
      std::size_t j = i;
      while (j < n && (s[j] == ' ' || s[j] == '_')) ++j;
      if (j + 4 <= n && iequals(s.substr(j, 4), "date")) {
        key += " date";
        i = j + 4;
      }
    }
    key = canonical_key(std::move(key));
    if (key.empty() || i >= n || s[i] != ':') {
      // Not a key: skip the word (always at least one character).
      if (i == k0) ++i;
      while (i < n && !is_blank(s[i])) ++i;
      continue;
    }
    ++i;  // ':'
    if (key == "text") {
      r.text = std::string(trim(s.substr(i)));
      r.fields.emplace_back(key, r.text);
      break;
    }
    // The value runs to the next blank. "id: 123" (a blank after the colon)
    // is tolerated when the next word is not itself a key:value.
    std::size_t v0 = i;
    if (i < n && is_blank(s[i])) {
      std::size_t j = i;
      while (j < n && is_blank(s[j])) ++j;
      std::size_t e = j;
      while (e < n && !is_blank(s[e])) ++e;
      if (s.substr(j, e - j).find(':') == std::string_view::npos) v0 = i = j;
    }
    while (i < n && !is_blank(s[i])) ++i;
    std::string value(s.substr(v0, i - v0));
    r.fields.emplace_back(key, value);
    if (key == "id") {
      if (!has_id) r.id = value;
      has_id = true;
    } else if (key == "sub") {
      r.submitted = parse_count(value);
    } else if (key == "dlvrd") {
      r.delivered = parse_count(value);
    } else if (key == "submit date") {
      r.submit_date = parse_receipt_time(value);
    } else if (key == "done date") {
      r.done_date = parse_receipt_time(value);
    } else if (key == "stat") {
      r.stat = value;
      r.state = message_state_from_stat(value);
      has_stat = true;
    } else if (key == "err") {
      r.err = value;
    }
  }
  if (!has_id && !has_stat) return std::nullopt;
  return r;
}

bool is_delivery_receipt(std::uint8_t esm_class) {
  return (esm_class & kEsmTypeMask) == kEsmTypeDeliveryReceipt;
}

bool is_intermediate_notification(std::uint8_t esm_class) {
  return (esm_class & kEsmTypeMask) == kEsmTypeIntermediateNotification;
}

std::optional<DeliveryReport> delivery_report_of(const ShortMessage& sm) {
  DeliveryReport report;
  report.intermediate = is_intermediate_notification(sm.esm_class);
  if (!report.intermediate && !is_delivery_receipt(sm.esm_class)) return std::nullopt;

  std::string text;
  if (auto ud = user_data_of(sm)) {
    text = std::move(ud->payload);
  } else {
    const std::string* payload = sm.tlvs.message_payload();
    text = payload ? *payload : sm.short_message;
  }
  report.receipt = parse_receipt(text);
  if (auto id = sm.tlvs.receipted_message_id(); id && !id->empty()) {
    report.message_id = std::move(*id);
  } else if (report.receipt) {
    report.message_id = report.receipt->id;
  }
  if (auto st = sm.tlvs.message_state()) report.state = message_state_from_tlv(*st);
  if (!report.state && report.receipt) report.state = report.receipt->state;
  report.network_error = sm.tlvs.network_error_code();
  if (report.message_id.empty()) return std::nullopt;
  return report;
}

std::vector<std::string> message_id_keys(std::string_view id) {
  std::string exact = lowered(trim(id));
  std::size_t zeros = exact.find_first_not_of('0');
  if (zeros == std::string::npos) zeros = exact.empty() ? 0 : exact.size() - 1;
  exact.erase(0, zeros);
  std::vector<std::string> keys{exact};
  if (exact.empty()) return keys;
  auto add = [&keys](std::string k) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(std::move(k));
  };
  bool decimal = std::all_of(exact.begin(), exact.end(), is_digit);
  bool hex = std::all_of(exact.begin(), exact.end(), is_hex);
  if (decimal && exact.size() <= 19) {  // 19 digits always fit in 64 bits
    std::uint64_t v = 0;
    for (char c : exact) v = v * 10 + static_cast<std::uint64_t>(c - '0');
    char buf[17];
    std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
    add(buf);
  }
  if (hex && exact.size() <= 16) {
    std::uint64_t v = 0;
    for (char c : exact) {
      v = v * 16 + static_cast<std::uint64_t>(is_digit(c) ? c - '0' : c - 'a' + 10);
    }
    add(std::to_string(v));
  }
  return keys;
}

}  // namespace rh::messaging::smpp
