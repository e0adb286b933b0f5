// Fuzz target: message text encoding and segmentation (messaging/encoding.hpp).
// The input is used both as outgoing UTF-8 text and as inbound bytes of every
// data_coding. Nothing crashes, errors carry a reason and a message, and what
// comes out is consistent: the counter agrees with the split, parts never cut
// an escape sequence or a surrogate pair, encodings round-trip, decoders with
// Malformed::replace always succeed and always produce valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "messaging/encoding.hpp"

namespace {

namespace msg = rh::messaging;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

template <class T>
void check_error(const rh::Result<T>& r) {
  if (!r.ok()) check(!r.error().reason.empty() && !r.error().message.empty());
}

void check_text(std::string_view s) {
  auto cps = msg::decode_utf8(s);
  check_error(cps);
  auto enc = msg::choose_encoding(s);
  check(enc.ok() == cps.ok());
  check_error(enc);
  if (!cps.ok()) {
    check(!msg::count_segments(s).ok() && !msg::segment(s).ok());
    check(!msg::encode_gsm7(s).ok() && !msg::encode_ucs2(s).ok());
    return;
  }
  std::string again;
  for (char32_t c : *cps) msg::append_utf8(again, c);
  check(again == s);

  msg::SegmentOptions o;
  o.max_segments = msg::kMaxConcatParts;
  o.concat_udh_octets = s.empty() ? 6 : static_cast<int>(static_cast<unsigned char>(s[0]) % 33);
  auto sum = msg::count_segments(s, o);
  check(sum.ok() && sum->encoding == *enc && sum->characters == cps->size());
  check(sum->segments >= 1 && sum->units_remaining >= 0 &&
        sum->units_remaining <= sum->units_per_segment);
  auto seg = msg::segment(s, o);
  check(seg.ok() == !sum->exceeds_max_segments);
  if (!seg.ok()) {
    check(seg.error().reason == msg::kReasonTooManySegments);
    return;
  }
  check(seg->parts.size() == sum->segments);
  const bool gsm = *enc == msg::Encoding::gsm7;
  std::string joined;
  for (const auto& part : seg->parts) {
    const std::size_t units = part.size() / (gsm ? 1 : 2);
    check(units <= static_cast<std::size_t>(sum->units_per_segment));
    if (gsm) {
      check(part.empty() || part.back() != '\x1B');
    } else {
      check(part.size() % 2 == 0 && msg::decode_ucs2(part).ok());
    }
    joined += part;
  }
  auto whole = gsm ? msg::encode_gsm7(s) : msg::encode_ucs2(s);
  check(whole.ok() && *whole == joined);
  check(whole->size() / (gsm ? 1 : 2) == sum->units);
  auto back = gsm ? msg::decode_gsm7(*whole) : msg::decode_ucs2(*whole);
  check(back.ok());
  // 'Ç' is sent as 0x09 and reads back as 'ç'; everything else round-trips.
  if (s.find("\xC3\x87") == std::string_view::npos) check(*back == s);
  auto ucs2 = msg::encode_ucs2(s);
  check(ucs2.ok() && msg::decode_ucs2(*ucs2).ok() && *msg::decode_ucs2(*ucs2) == s);
}

void check_bytes(std::string_view b) {
  for (int dc : {0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x05, 0xC4, 0xE1, 0xF1, 0xF6}) {
    const auto coding = static_cast<std::uint8_t>(dc);
    auto strict = msg::decode_text(coding, b);
    check_error(strict);
    auto lenient = msg::decode_text(coding, b, msg::Malformed::replace);
    check_error(lenient);
    if (strict.ok()) check(lenient.ok() && *lenient == *strict);
    if (lenient.ok()) check(msg::decode_utf8(*lenient).ok());
  }

  // GSM-7: whatever decodes encodes again (unknown escapes become plain).
  auto gsm = msg::decode_gsm7(b, msg::Malformed::replace);
  check(gsm.ok());
  auto strict_gsm = msg::decode_gsm7(b);
  if (strict_gsm.ok()) check(msg::encode_gsm7(*strict_gsm).ok());

  // UCS-2: valid UTF-16 round-trips exactly.
  auto ucs2 = msg::decode_ucs2(b);
  if (ucs2.ok()) check(*msg::encode_ucs2(*ucs2) == b);

  // Packing.
  const int fill = static_cast<int>(b.size() % 7);
  std::string septets(b);
  for (char& c : septets) c = static_cast<char>(c & 0x7F);
  auto packed = msg::pack_septets(septets, fill);
  check(packed.ok());
  auto unpacked = msg::unpack_septets(*packed, septets.size(), fill);
  check(unpacked.ok() && *unpacked == septets);
  auto any = msg::unpack_septets(b, std::nullopt, fill);
  check(any.ok() && any->size() == (b.size() * 8 > static_cast<std::size_t>(fill)
                                        ? (b.size() * 8 - static_cast<std::size_t>(fill)) / 7
                                        : 0));
  check(!msg::unpack_septets(b, b.size() * 8 / 7 + 1, fill).ok());
  check(msg::pack_septets(b).ok() == (septets == b));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  check_text(s);
  check_bytes(s);
  return 0;
}
