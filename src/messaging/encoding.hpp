// Message text encoding and segmentation, counted the way carriers count it.
//
// An SMS carries at most 140 octets of user data. Text goes as one of:
//  * GSM-7: the GSM 03.38 (3GPP TS 23.038) default alphabet, 7 bits a
//    character, 160 characters in 140 octets. Ten characters (^ { } \ [ ~ ] |
//    € and form feed) live in the extension table and are sent as ESC (0x1B)
//    plus a second septet, so they cost 2.
//  * UCS-2: UTF-16BE in practice, 2 octets a unit, 70 units. Characters
//    outside the Basic Multilingual Plane (most emoji) are surrogate pairs and
//    cost 2 units.
// A longer text goes as several parts, each with a concatenation UDH (6
// octets with an 8-bit reference), leaving 153 septets or 67 units a part.
// Parts never split an escape sequence or a surrogate pair.
//
// Conventions:
//  * Text is UTF-8 in std::string / std::string_view; invalid UTF-8
//    (overlong forms, UTF-16 surrogates, code points past U+10FFFF, truncated
//    or stray bytes) is refused with reason "invalid_utf8" and the byte offset.
//  * Encoded bytes are also carried in std::string, as elsewhere in the
//    project (core/crypto.hpp). GSM-7 is "unpacked": one septet per octet, as
//    SMPP carries it with data_coding 0. pack_septets()/unpack_septets()
//    convert to and from the packed 7-bit form (GSM 03.40 TP-UD).
//  * Every function is pure (no I/O, no globals that change) and accepts any
//    input: failures are Result errors (rh::Errc::invalid_argument with a
//    machine-readable Error::reason), never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace rh::messaging {

// ---------------------------------------------------------------------------
// Error reasons (Error::reason), all with Errc::invalid_argument.
inline constexpr const char* kReasonInvalidUtf8 = "invalid_utf8";
inline constexpr const char* kReasonNotGsm7 = "not_gsm7";            // text has a non-GSM character
inline constexpr const char* kReasonInvalidGsm7 = "invalid_gsm7";    // septet >= 0x80, bad packing
inline constexpr const char* kReasonInvalidUcs2 = "invalid_ucs2";    // odd length, lone surrogate
inline constexpr const char* kReasonInvalidAscii = "invalid_ascii";  // IA5 byte >= 0x80
inline constexpr const char* kReasonTooManySegments = "too_many_segments";
inline constexpr const char* kReasonBinaryDataCoding = "binary_data_coding";
inline constexpr const char* kReasonUnsupportedDataCoding = "unsupported_data_coding";
inline constexpr const char* kReasonInvalidOptions = "invalid_options";

// ---------------------------------------------------------------------------
// UTF-8

// The code points of a UTF-8 text (strict RFC 3629). Error reason
// "invalid_utf8"; the message names the problem and the byte offset where
// the bad sequence starts.
Result<std::u32string> decode_utf8(std::string_view utf8);

// Appends the UTF-8 form of a code point. Surrogates and values past
// U+10FFFF become U+FFFD.
void append_utf8(std::string& out, char32_t c);

// ---------------------------------------------------------------------------
// GSM 03.38 default alphabet + basic extension table

inline constexpr std::uint8_t kGsm7Escape = 0x1B;

// How many septets a character costs in GSM-7: 1 (default alphabet), 2
// (extension table, sent as ESC + septet) or 0 (not representable).
// 'Ç' (U+00C7) counts as GSM: it is sent as 0x09, which the 03.38 chart
// draws as 'Ç' but Unicode's mapping (GSM0338.TXT) and decode_gsm7() read as
// 'ç'. Nothing else is mapped approximately (no "smart quote" folding).
int gsm7_septets(char32_t c);

// UTF-8 → unpacked septets (one per octet, each < 0x80). Error reason
// "not_gsm7" (naming the character and its byte offset) when a character is
// not in the alphabet, "invalid_utf8" for bad input.
Result<std::string> encode_gsm7(std::string_view utf8);

// What decoders do with input that does not decode.
enum class Malformed {
  reject,   // return an error (the default)
  replace,  // substitute U+FFFD and go on: for showing an inbound message anyway
};

// Unpacked septets → UTF-8. ESC + an unknown septet decodes as that septet
// of the default alphabet, ESC ESC and a trailing ESC as a space (3GPP TS
// 23.038 §6.2.1.1). An octet >= 0x80 is not a septet: reason "invalid_gsm7".
Result<std::string> decode_gsm7(std::string_view septets, Malformed mode = Malformed::reject);

// Fill bits that follow a UDH of udh_octets octets (its length octet
// included) so that the text starts on a septet boundary: (7 - 8n % 7) % 7.
// A 6-octet concatenation UDH needs 1; 7 octets need 0.
int udh_fill_bits(std::size_t udh_octets);

// Packs septets 8 into 7 octets, least significant bit first (GSM 03.40
// §9.2.3.24), after fill_bits (0..6) zero bits in the low bits of the first
// octet. n > 0 septets give ceil((fill_bits + 7 * n) / 8) octets, the unused
// high bits zero; no septets give no octets.
// Error reason "invalid_gsm7" for an octet >= 0x80 or fill_bits out of range.
Result<std::string> pack_septets(std::string_view septets, int fill_bits = 0);

// The reverse: skips fill_bits (0..6) leading bits, then reads septet_count
// septets, or, without a count, as many whole septets as the octets hold.
// Without a count the form is ambiguous: when the last octet has 7 spare bits
// a trailing '@' (0x00) appears, so pass the count (TP-UDL) when known.
// Error reason "invalid_gsm7" if the octets are too short for the count.
Result<std::string> unpack_septets(std::string_view octets,
                                   std::optional<std::size_t> septet_count = std::nullopt,
                                   int fill_bits = 0);

// ---------------------------------------------------------------------------
// UCS-2 (UTF-16BE)

// UTF-8 → UTF-16 big-endian; characters past U+FFFF become surrogate pairs.
Result<std::string> encode_ucs2(std::string_view utf8);

// UTF-16BE → UTF-8, surrogate pairs joined. An odd length or a lone
// surrogate is reason "invalid_ucs2" (or U+FFFD with Malformed::replace).
Result<std::string> decode_ucs2(std::string_view bytes, Malformed mode = Malformed::reject);

// ---------------------------------------------------------------------------
// Choosing an encoding and segmenting

enum class Encoding { gsm7, ucs2 };

// "GSM-7" or "UCS-2", as shown to users and in the API.
const char* encoding_name(Encoding e);

// The SMPP data_coding that carries it: 0 (SMSC default alphabet) or 8.
std::uint8_t data_coding_of(Encoding e);

// GSM-7 when every character is in the GSM 03.38 alphabet (extension
// characters included), otherwise UCS-2. Error only for invalid UTF-8.
Result<Encoding> choose_encoding(std::string_view utf8);

inline constexpr int kSmsUserDataOctets = 140;
inline constexpr int kConcatUdhOctets = 6;  // UDHL + IEI 0x00 (8-bit reference)
inline constexpr int kGsm7SingleSeptets = 160;
inline constexpr int kGsm7PartSeptets = 153;
inline constexpr int kUcs2SingleUnits = 70;
inline constexpr int kUcs2PartUnits = 67;
inline constexpr int kMaxConcatParts = 255;  // the UDH numbers parts in one octet

struct SegmentOptions {
  // Hard cap: a text that needs more parts is refused by segment() (reason
  // "too_many_segments") and flagged by count_segments(). 1..255.
  int max_segments = 10;
  // The UDH each part of a long message carries, length octet included:
  // 6 for IEI 0x00 (8-bit reference, the usual: 153 septets / 67 units),
  // 7 for IEI 0x08 (16-bit reference: 152 / 66), 0 when the parts are tied
  // together with sar_* TLVs instead (160 / 70). 0..32.
  int concat_udh_octets = kConcatUdhOctets;
};

// What a live counter shows. All counts are for the chosen encoding.
struct SegmentSummary {
  Encoding encoding = Encoding::gsm7;
  std::size_t segments = 1;    // an empty text is one (empty) segment
  std::size_t characters = 0;  // Unicode code points (not grapheme clusters)
  std::size_t units = 0;       // septets (GSM-7) or 16-bit units (UCS-2) of the whole text
  int units_per_segment = 0;   // 160/70 for a single message, else 153/67 (by default)
  int units_remaining = 0;     // free units in the last segment
  bool exceeds_max_segments = false;
};

// The summary alone, in one pass without allocating: cheap enough to run on
// every keystroke. Errors: "invalid_utf8", "invalid_options". Exceeding
// max_segments is not an error here; it sets exceeds_max_segments.
Result<SegmentSummary> count_segments(std::string_view utf8, const SegmentOptions& options = {});

struct SegmentedMessage {
  SegmentSummary summary;
  // The encoded text of each part, without UDH: unpacked septets (GSM-7,
  // data_coding 0) or UTF-16BE (UCS-2, data_coding 8). Concatenated, the
  // parts are exactly encode_gsm7()/encode_ucs2() of the whole text.
  std::vector<std::string> parts;
};

// Encodes and splits a text. Errors: "invalid_utf8", "invalid_options",
// "too_many_segments" (the message says how many segments it needed).
Result<SegmentedMessage> segment(std::string_view utf8, const SegmentOptions& options = {});

// ---------------------------------------------------------------------------
// Inbound

// The short_message (or message_payload) of an inbound deliver_sm as UTF-8,
// by its SMPP 3.4 data_coding:
//   0x00          SMSC default alphabet, taken as GSM-7 unpacked
//   0x01          IA5 / ASCII (bytes >= 0x80: reason "invalid_ascii")
//   0x03          Latin-1 (ISO-8859-1; every byte decodes)
//   0x08          UCS-2 (decoded as UTF-16BE, so surrogate pairs work)
//   0x02, 0x04    8-bit binary: not text, reason "binary_data_coding"; the
//                 caller keeps the raw bytes (e.g. WAP push, SIM data)
//   0xC0–0xDF     GSM message-waiting groups, default alphabet: GSM-7
//   0xE0–0xEF     GSM message-waiting group, UCS-2
//   0xF0–0xFF     GSM message class; bit 2 clear: GSM-7, set: 8-bit data,
//                 "binary_data_coding" (reserved bit 3 ignored)
//   anything else reason "unsupported_data_coding"
// A concatenated message must be reassembled (bytes of all parts joined)
// before decoding, so a surrogate pair split by a careless sender still joins.
Result<std::string> decode_text(std::uint8_t data_coding, std::string_view bytes,
                                Malformed mode = Malformed::reject);

}  // namespace rh::messaging
