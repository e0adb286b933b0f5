// Fuzz target: delivery receipt texts as SMSCs write them
// (messaging/smpp/receipt.hpp). Any text parses without crashing, in linear
// time, and what comes out is consistent: a receipt has an id: or a stat:
// field, every field's key was lower-cased, dates are in range, and a stat
// word understood maps to a state whose word maps back to it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "messaging/smpp/receipt.hpp"

namespace {

namespace smpp = rh::messaging::smpp;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void check_time(const std::optional<smpp::ReceiptTime>& t) {
  if (!t) return;
  check(t->month >= 1 && t->month <= 12 && t->day >= 1 && t->day <= 31);
  check(t->hour >= 0 && t->hour <= 23 && t->minute >= 0 && t->minute <= 59);
  check(t->second >= 0 && t->second <= 60);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = smpp::parse_receipt(text);
  if (r) {
    bool id_or_stat = false;
    for (const auto& [key, value] : r->fields) {
      check(!key.empty() && value.size() <= size);
      for (char c : key) check(!(c >= 'A' && c <= 'Z'));
      if (key == "id" || key == "stat") id_or_stat = true;
    }
    check(id_or_stat);
    check_time(r->submit_date);
    check_time(r->done_date);
    if (r->state) {
      check(smpp::message_state_from_stat(smpp::stat_word(*r->state)) == r->state);
    }
    auto keys = smpp::message_id_keys(r->id);
    check(!keys.empty() && keys.size() <= 3);
  }
  check_time(smpp::parse_receipt_time(text));
  return 0;
}
