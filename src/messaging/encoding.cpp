#include "messaging/encoding.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

namespace rh::messaging {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

Error invalid(const char* reason, std::string message) {
  return make_reason(Errc::invalid_argument, reason, std::move(message));
}

// ---------------------------------------------------------------------------
// UTF-8

struct Utf8Step {
  char32_t cp = 0;
  std::size_t len = 0;
  const char* problem = nullptr;  // set when the bytes at the position are not UTF-8
};

// Decodes the code point starting at s[i] (i < s.size()), per RFC 3629 table 3.
Utf8Step next_utf8(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned c0 = byte(i);
  if (c0 < 0x80) return {c0, 1, nullptr};
  if (c0 < 0xC0) return {0, 1, "unexpected continuation byte"};
  if (c0 < 0xC2) return {0, 1, "overlong encoding"};
  std::size_t n = 0;
  char32_t cp = 0;
  unsigned lo = 0x80;
  unsigned hi = 0xBF;
  const char* range_problem = nullptr;
  if (c0 < 0xE0) {
    n = 2;
    cp = c0 & 0x1F;
  } else if (c0 < 0xF0) {
    n = 3;
    cp = c0 & 0x0F;
    if (c0 == 0xE0) {
      lo = 0xA0;
      range_problem = "overlong encoding";
    } else if (c0 == 0xED) {
      hi = 0x9F;
      range_problem = "UTF-16 surrogate encoded in UTF-8";
    }
  } else if (c0 < 0xF5) {
    n = 4;
    cp = c0 & 0x07;
    if (c0 == 0xF0) {
      lo = 0x90;
      range_problem = "overlong encoding";
    } else if (c0 == 0xF4) {
      hi = 0x8F;
      range_problem = "code point beyond U+10FFFF";
    }
  } else {
    return {0, 1, "byte that never appears in UTF-8"};
  }
  for (std::size_t k = 1; k < n; ++k) {
    if (i + k >= s.size()) return {0, k, "truncated sequence"};
    const unsigned ck = byte(i + k);
    if (ck < 0x80 || ck > 0xBF) return {0, k, "truncated sequence"};
    if (k == 1 && (ck < lo || ck > hi)) return {0, 1, range_problem};
    cp = (cp << 6) | (ck & 0x3F);
  }
  return {cp, n, nullptr};
}

Error utf8_error(std::size_t offset, const char* problem) {
  return invalid(kReasonInvalidUtf8, fmt::format("invalid UTF-8 at byte {}: {}", offset, problem));
}

// Calls f(code_point, byte_offset) for each code point; f returns false to stop
// (the caller then knows why). Invalid UTF-8 is an error.
template <class F>
Status for_each_code_point(std::string_view s, F&& f) {
  std::size_t i = 0;
  while (i < s.size()) {
    const Utf8Step st = next_utf8(s, i);
    if (st.problem != nullptr) return utf8_error(i, st.problem);
    if (!f(st.cp, i)) return {};
    i += st.len;
  }
  return {};
}

std::string describe(char32_t c) {
  std::string s;
  if (c >= 0x20 && c != 0x7F && !(c >= 0x80 && c < 0xA0)) {
    s += '\'';
    append_utf8(s, c);
    s += "' ";
  }
  s += fmt::format("(U+{:04X})", static_cast<std::uint32_t>(c));
  return s;
}

// ---------------------------------------------------------------------------
// GSM 03.38 tables (3GPP TS 23.038 §6.2.1, Unicode's GSM0338.TXT)

constexpr std::array<char32_t, 128> kGsm7Default = {
    U'@', U'£', U'$',  U'¥',    U'è', U'é',  U'ù', U'ì',   // 0x00
    U'ò', U'ç', U'\n', U'Ø',    U'ø', U'\r', U'Å', U'å',   // 0x08
    U'Δ', U'_', U'Φ',  U'Γ',    U'Λ', U'Ω',  U'Π', U'Ψ',   // 0x10
    U'Σ', U'Θ', U'Ξ',  U'\x1B', U'Æ', U'æ',  U'ß', U'É',   // 0x18 (0x1B: ESC)
    U' ', U'!', U'"',  U'#',    U'¤', U'%',  U'&', U'\'',  // 0x20
    U'(', U')', U'*',  U'+',    U',', U'-',  U'.', U'/',   // 0x28
    U'0', U'1', U'2',  U'3',    U'4', U'5',  U'6', U'7',   // 0x30
    U'8', U'9', U':',  U';',    U'<', U'=',  U'>', U'?',   // 0x38
    U'¡', U'A', U'B',  U'C',    U'D', U'E',  U'F', U'G',   // 0x40
    U'H', U'I', U'J',  U'K',    U'L', U'M',  U'N', U'O',   // 0x48
    U'P', U'Q', U'R',  U'S',    U'T', U'U',  U'V', U'W',   // 0x50
    U'X', U'Y', U'Z',  U'Ä',    U'Ö', U'Ñ',  U'Ü', U'§',   // 0x58
    U'¿', U'a', U'b',  U'c',    U'd', U'e',  U'f', U'g',   // 0x60
    U'h', U'i', U'j',  U'k',    U'l', U'm',  U'n', U'o',   // 0x68
    U'p', U'q', U'r',  U's',    U't', U'u',  U'v', U'w',   // 0x70
    U'x', U'y', U'z',  U'ä',    U'ö', U'ñ',  U'ü', U'à',   // 0x78
};

struct Gsm7Extension {
  std::uint8_t septet;
  char32_t c;
};

// The basic extension table: sent as ESC + septet.
constexpr std::array<Gsm7Extension, 10> kGsm7Extension = {{
    {0x0A, U'\f'},
    {0x14, U'^'},
    {0x28, U'{'},
    {0x29, U'}'},
    {0x2F, U'\\'},
    {0x3C, U'['},
    {0x3D, U'~'},
    {0x3E, U']'},
    {0x40, U'|'},
    {0x65, U'€'},
}};

// Encoding direction: code point → septet (with 0x80 set when it follows ESC).
struct Gsm7Code {
  char32_t c;
  std::uint8_t code;
};

constexpr std::uint8_t kEscapedFlag = 0x80;
constexpr std::uint8_t kNoCode = 0xFF;

constexpr std::size_t count_non_ascii() {
  std::size_t n = 0;
  for (char32_t c : kGsm7Default) n += c >= 0x80 ? 1 : 0;
  for (const auto& e : kGsm7Extension) n += e.c >= 0x80 ? 1 : 0;
  return n + 1;  // + 'Ç' → 0x09
}

constexpr auto kNonAsciiToGsm7 = [] {
  std::array<Gsm7Code, count_non_ascii()> a{};
  std::size_t n = 0;
  for (std::size_t s = 0; s < kGsm7Default.size(); ++s) {
    if (kGsm7Default[s] >= 0x80) a[n++] = {kGsm7Default[s], static_cast<std::uint8_t>(s)};
  }
  for (const auto& e : kGsm7Extension) {
    if (e.c >= 0x80) a[n++] = {e.c, static_cast<std::uint8_t>(e.septet | kEscapedFlag)};
  }
  a[n++] = {U'Ç', 0x09};
  std::sort(a.begin(), a.end(), [](const Gsm7Code& x, const Gsm7Code& y) { return x.c < y.c; });
  return a;
}();

constexpr auto kAsciiToGsm7 = [] {
  std::array<std::uint8_t, 128> a{};
  a.fill(kNoCode);
  for (std::size_t s = 0; s < kGsm7Default.size(); ++s) {
    if (s != kGsm7Escape && kGsm7Default[s] < 0x80) {
      a[kGsm7Default[s]] = static_cast<std::uint8_t>(s);
    }
  }
  for (const auto& e : kGsm7Extension) {
    if (e.c < 0x80) a[e.c] = static_cast<std::uint8_t>(e.septet | kEscapedFlag);
  }
  return a;
}();

// The septet for c, with kEscapedFlag for extension characters; kNoCode if none.
std::uint8_t gsm7_code(char32_t c) {
  if (c < 0x80) return kAsciiToGsm7[c];
  const auto it = std::lower_bound(kNonAsciiToGsm7.begin(), kNonAsciiToGsm7.end(), c,
                                   [](const Gsm7Code& x, char32_t v) { return x.c < v; });
  return it != kNonAsciiToGsm7.end() && it->c == c ? it->code : kNoCode;
}

char32_t gsm7_extension_char(std::uint8_t septet) {
  for (const auto& e : kGsm7Extension) {
    if (e.septet == septet) return e.c;
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Segmentation

constexpr int kSmsUserDataBits = kSmsUserDataOctets * 8;

Status check_options(const SegmentOptions& o) {
  if (o.max_segments < 1 || o.max_segments > kMaxConcatParts) {
    return invalid(kReasonInvalidOptions, fmt::format("max_segments must be 1..{}, not {}",
                                                      kMaxConcatParts, o.max_segments));
  }
  if (o.concat_udh_octets < 0 || o.concat_udh_octets > 32) {
    return invalid(kReasonInvalidOptions,
                   fmt::format("concat_udh_octets must be 0..32, not {}", o.concat_udh_octets));
  }
  return {};
}

// Units a part of a long message holds, after its UDH (and fill bits).
int gsm7_part_capacity(int udh_octets) {
  return (kSmsUserDataBits - udh_octets * 8) / 7;
}
int ucs2_part_capacity(int udh_octets) {
  return (kSmsUserDataOctets - udh_octets) / 2;
}

// Greedy split into parts of `capacity` units, never splitting an item (an
// escape sequence or a surrogate pair: at most 2 units, capacity >= 2).
struct PartCounter {
  int capacity = 0;
  std::size_t parts = 1;
  int used = 0;  // in the last part

  void add(int width) {
    if (used + width > capacity) {
      ++parts;
      used = width;
    } else {
      used += width;
    }
  }
};

}  // namespace

// ---------------------------------------------------------------------------
// UTF-8

Result<std::u32string> decode_utf8(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  RH_TRY(for_each_code_point(utf8, [&](char32_t c, std::size_t) {
    out.push_back(c);
    return true;
  }));
  return out;
}

void append_utf8(std::string& out, char32_t c) {
  if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) c = kReplacement;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// ---------------------------------------------------------------------------
// GSM-7

int gsm7_septets(char32_t c) {
  const std::uint8_t code = gsm7_code(c);
  if (code == kNoCode) return 0;
  return (code & kEscapedFlag) != 0 ? 2 : 1;
}

Result<std::string> encode_gsm7(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  std::optional<Error> refused;
  RH_TRY(for_each_code_point(utf8, [&](char32_t c, std::size_t offset) {
    const std::uint8_t code = gsm7_code(c);
    if (code == kNoCode) {
      refused = invalid(
          kReasonNotGsm7,
          fmt::format("{} at byte {} is not in the GSM 03.38 alphabet", describe(c), offset));
      return false;
    }
    if ((code & kEscapedFlag) != 0) out += static_cast<char>(kGsm7Escape);
    out += static_cast<char>(code & 0x7F);
    return true;
  }));
  if (refused) return std::move(*refused);
  return out;
}

Result<std::string> decode_gsm7(std::string_view septets, Malformed mode) {
  std::string out;
  out.reserve(septets.size());
  for (std::size_t i = 0; i < septets.size(); ++i) {
    const auto b = static_cast<unsigned char>(septets[i]);
    if (b >= 0x80) {
      if (mode == Malformed::reject) {
        return invalid(kReasonInvalidGsm7,
                       fmt::format("octet 0x{:02X} at offset {} is not a GSM 7-bit septet", b, i));
      }
      append_utf8(out, kReplacement);
      continue;
    }
    if (b != kGsm7Escape) {
      append_utf8(out, kGsm7Default[b]);
      continue;
    }
    // ESC: the next septet is from the extension table. A trailing ESC, ESC
    // ESC (reserved for a further table) show as a space; ESC before an
    // octet that is not a septet shows as a space and the octet is handled
    // on its own; an unknown extension shows as its default character.
    if (i + 1 >= septets.size() || static_cast<unsigned char>(septets[i + 1]) >= 0x80) {
      out += ' ';
      continue;
    }
    const auto next = static_cast<std::uint8_t>(septets[++i]);
    if (next == kGsm7Escape) {
      out += ' ';
    } else if (const char32_t ext = gsm7_extension_char(next); ext != 0) {
      append_utf8(out, ext);
    } else {
      append_utf8(out, kGsm7Default[next]);
    }
  }
  return out;
}

int udh_fill_bits(std::size_t udh_octets) {
  // 8n mod 7 == n mod 7, written so that no multiplication can overflow.
  return static_cast<int>((7 - udh_octets % 7) % 7);
}

Result<std::string> pack_septets(std::string_view septets, int fill_bits) {
  if (fill_bits < 0 || fill_bits > 6) {
    return invalid(kReasonInvalidGsm7, fmt::format("fill bits must be 0..6, not {}", fill_bits));
  }
  std::string out;
  out.reserve((septets.size() * 7 + 14) / 8);
  std::uint32_t acc = 0;
  int bits = fill_bits;  // the fill bits are the low, zero bits of the first octet
  for (std::size_t i = 0; i < septets.size(); ++i) {
    const auto s = static_cast<unsigned char>(septets[i]);
    if (s >= 0x80) {
      return invalid(kReasonInvalidGsm7,
                     fmt::format("octet 0x{:02X} at offset {} is not a GSM 7-bit septet", s, i));
    }
    acc |= static_cast<std::uint32_t>(s) << bits;
    bits += 7;
    while (bits >= 8) {
      out += static_cast<char>(acc & 0xFF);
      acc >>= 8;
      bits -= 8;
    }
  }
  if (!septets.empty() && bits > 0) out += static_cast<char>(acc & 0xFF);
  return out;
}

Result<std::string> unpack_septets(std::string_view octets, std::optional<std::size_t> septet_count,
                                   int fill_bits) {
  if (fill_bits < 0 || fill_bits > 6) {
    return invalid(kReasonInvalidGsm7, fmt::format("fill bits must be 0..6, not {}", fill_bits));
  }
  const std::size_t total_bits = octets.size() * 8;
  const std::size_t available =
      total_bits > static_cast<std::size_t>(fill_bits) ? total_bits - fill_bits : 0;
  const std::size_t count = septet_count.value_or(available / 7);
  if (count > available / 7) {
    return invalid(kReasonInvalidGsm7,
                   fmt::format("{} octets after {} fill bits hold {} septets, not {}",
                               octets.size(), fill_bits, available / 7, count));
  }
  const auto byte = [&](std::size_t k) {
    return static_cast<unsigned>(static_cast<unsigned char>(octets[k]));
  };
  std::string out;
  out.reserve(count);
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t bit = static_cast<std::size_t>(fill_bits) + 7 * k;
    const std::size_t at = bit / 8;
    const unsigned shift = bit % 8;
    unsigned v = byte(at) >> shift;
    if (shift > 1) v |= byte(at + 1) << (8 - shift);  // the septet spans two octets
    out += static_cast<char>(v & 0x7F);
  }
  return out;
}

// ---------------------------------------------------------------------------
// UCS-2

Result<std::string> encode_ucs2(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size() * 2);
  const auto unit = [&](std::uint32_t u) {
    out += static_cast<char>(u >> 8);
    out += static_cast<char>(u & 0xFF);
  };
  RH_TRY(for_each_code_point(utf8, [&](char32_t c, std::size_t) {
    if (c < 0x10000) {
      unit(c);
    } else {
      const std::uint32_t v = c - 0x10000;
      unit(0xD800 + (v >> 10));
      unit(0xDC00 + (v & 0x3FF));
    }
    return true;
  }));
  return out;
}

Result<std::string> decode_ucs2(std::string_view bytes, Malformed mode) {
  std::string out;
  out.reserve(bytes.size());
  const std::size_t n = bytes.size() / 2;
  const auto unit = [&](std::size_t k) -> std::uint32_t {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[2 * k]) << 8) |
           static_cast<unsigned char>(bytes[2 * k + 1]);
  };
  if (bytes.size() % 2 != 0 && mode == Malformed::reject) {
    return invalid(kReasonInvalidUcs2,
                   fmt::format("UCS-2 text has an odd number of octets ({})", bytes.size()));
  }
  for (std::size_t k = 0; k < n; ++k) {
    const std::uint32_t u = unit(k);
    if (u >= 0xD800 && u <= 0xDBFF && k + 1 < n && unit(k + 1) >= 0xDC00 && unit(k + 1) <= 0xDFFF) {
      append_utf8(out, 0x10000 + ((u - 0xD800) << 10) + (unit(k + 1) - 0xDC00));
      ++k;
    } else if (u >= 0xD800 && u <= 0xDFFF) {
      if (mode == Malformed::reject) {
        return invalid(kReasonInvalidUcs2,
                       fmt::format("lone UTF-16 surrogate 0x{:04X} at offset {}", u, 2 * k));
      }
      append_utf8(out, kReplacement);
    } else {
      append_utf8(out, u);
    }
  }
  if (bytes.size() % 2 != 0) append_utf8(out, kReplacement);
  return out;
}

// ---------------------------------------------------------------------------
// Choosing and segmenting

const char* encoding_name(Encoding e) {
  return e == Encoding::gsm7 ? "GSM-7" : "UCS-2";
}

std::uint8_t data_coding_of(Encoding e) {
  return e == Encoding::gsm7 ? 0x00 : 0x08;
}

Result<Encoding> choose_encoding(std::string_view utf8) {
  Encoding e = Encoding::gsm7;
  // Goes through the whole text even after a non-GSM character, to validate it.
  RH_TRY(for_each_code_point(utf8, [&](char32_t c, std::size_t) {
    if (gsm7_code(c) == kNoCode) e = Encoding::ucs2;
    return true;
  }));
  return e;
}

Result<SegmentSummary> count_segments(std::string_view utf8, const SegmentOptions& options) {
  RH_TRY(check_options(options));
  std::size_t characters = 0;
  std::size_t septets = 0;
  std::size_t units = 0;
  bool gsm = true;
  PartCounter gsm_parts{gsm7_part_capacity(options.concat_udh_octets)};
  PartCounter ucs2_parts{ucs2_part_capacity(options.concat_udh_octets)};
  RH_TRY(for_each_code_point(utf8, [&](char32_t c, std::size_t) {
    ++characters;
    if (gsm) {
      const int w = gsm7_septets(c);
      if (w == 0) {
        gsm = false;
      } else {
        septets += static_cast<std::size_t>(w);
        gsm_parts.add(w);
      }
    }
    const int u = c > 0xFFFF ? 2 : 1;
    units += static_cast<std::size_t>(u);
    ucs2_parts.add(u);
    return true;
  }));

  SegmentSummary s;
  s.encoding = gsm ? Encoding::gsm7 : Encoding::ucs2;
  s.characters = characters;
  s.units = gsm ? septets : units;
  const int single = gsm ? kGsm7SingleSeptets : kUcs2SingleUnits;
  const PartCounter& parts = gsm ? gsm_parts : ucs2_parts;
  if (s.units <= static_cast<std::size_t>(single)) {
    s.segments = 1;
    s.units_per_segment = single;
    s.units_remaining = single - static_cast<int>(s.units);
  } else {
    s.segments = parts.parts;
    s.units_per_segment = parts.capacity;
    s.units_remaining = parts.capacity - parts.used;
  }
  s.exceeds_max_segments = s.segments > static_cast<std::size_t>(options.max_segments);
  return s;
}

Result<SegmentedMessage> segment(std::string_view utf8, const SegmentOptions& options) {
  RH_ASSIGN(SegmentSummary summary, count_segments(utf8, options));
  if (summary.exceeds_max_segments) {
    return invalid(kReasonTooManySegments,
                   fmt::format("the message needs {} segments ({} {} characters); at most {} "
                               "are allowed",
                               summary.segments, summary.characters,
                               encoding_name(summary.encoding), options.max_segments));
  }
  const bool gsm = summary.encoding == Encoding::gsm7;
  RH_ASSIGN(std::string encoded, gsm ? encode_gsm7(utf8) : encode_ucs2(utf8));

  SegmentedMessage m;
  m.summary = summary;
  if (summary.segments == 1) {
    m.parts.push_back(std::move(encoded));
    return m;
  }
  // Split the encoded text the same way count_segments() counted it. An item
  // is an escape sequence (2 octets), a surrogate pair (4) or one unit.
  const std::size_t unit_octets = gsm ? 1 : 2;
  const auto capacity = static_cast<std::size_t>(summary.units_per_segment);
  std::size_t part_start = 0;
  std::size_t part_units = 0;
  std::size_t i = 0;
  while (i < encoded.size()) {
    std::size_t width = 1;
    if (gsm) {
      if (static_cast<std::uint8_t>(encoded[i]) == kGsm7Escape) width = 2;
    } else {
      const auto hi = static_cast<unsigned char>(encoded[i]);
      if (hi >= 0xD8 && hi <= 0xDB) width = 2;
    }
    if (part_units + width > capacity) {
      m.parts.push_back(encoded.substr(part_start, i - part_start));
      part_start = i;
      part_units = 0;
    }
    part_units += width;
    i += width * unit_octets;
  }
  m.parts.push_back(encoded.substr(part_start));
  return m;
}

// ---------------------------------------------------------------------------
// Inbound

Result<std::string> decode_text(std::uint8_t data_coding, std::string_view bytes, Malformed mode) {
  const auto binary = [&] {
    return invalid(kReasonBinaryDataCoding,
                   fmt::format("data_coding 0x{:02X} is 8-bit binary data, not text", data_coding));
  };
  switch (data_coding) {
    case 0x00:
      return decode_gsm7(bytes, mode);
    case 0x01: {
      std::string out;
      out.reserve(bytes.size());
      for (std::size_t i = 0; i < bytes.size(); ++i) {
        const auto b = static_cast<unsigned char>(bytes[i]);
        if (b < 0x80) {
          out += static_cast<char>(b);
        } else if (mode == Malformed::reject) {
          return invalid(kReasonInvalidAscii,
                         fmt::format("octet 0x{:02X} at offset {} is not IA5/ASCII", b, i));
        } else {
          append_utf8(out, kReplacement);
        }
      }
      return out;
    }
    case 0x02:
    case 0x04:
      return binary();
    case 0x03: {
      std::string out;
      out.reserve(bytes.size() * 2);
      for (char b : bytes) append_utf8(out, static_cast<unsigned char>(b));
      return out;
    }
    case 0x08:
      return decode_ucs2(bytes, mode);
    default:
      break;
  }
  if (data_coding >= 0xC0 && data_coding <= 0xDF) return decode_gsm7(bytes, mode);
  if (data_coding >= 0xE0 && data_coding <= 0xEF) return decode_ucs2(bytes, mode);
  if (data_coding >= 0xF0) {
    if ((data_coding & 0x04) != 0) return binary();
    return decode_gsm7(bytes, mode);
  }
  return invalid(kReasonUnsupportedDataCoding,
                 fmt::format("data_coding 0x{:02X} is not supported", data_coding));
}

}  // namespace rh::messaging
