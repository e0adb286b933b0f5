// User Data Header (3GPP TS 23.040 §9.2.3.24) at the start of an SMS's user
// data, and the concatenation information of a multi-part message, whether it
// travels in a UDH or in SMPP sar_* TLVs.
//
// A UDH is present when esm_class has the UDHI bit (0x40). Layout:
//   UDHL            1 octet: the octets that follow, up to the end of the UDH
//   IEs             IEI (1 octet), IEDL (1 octet), IED (IEDL octets), repeated
//   payload         the text (or data) of this part
// Concatenation IEs:
//   IEI 0x00, IEDL 3: reference (8 bits), total parts, this part's number
//   IEI 0x08, IEDL 4: reference (16 bits, big-endian), total, number
// e.g. 05 00 03 2A 03 01 = part 1 of 3 of message 0x2A.
//
// GSM-7 text after a UDH: SMPP carries it unpacked (one septet per octet,
// data_coding 0), so the payload starts right after the UDH. Packed septets
// (rare over SMPP) are aligned to a septet boundary after the UDH:
// messaging/encoding.hpp udh_fill_bits() says how many fill bits to skip.
//
// Errors are rh::Result errors with Errc::invalid_argument and reason
// "invalid_udh" (or "invalid_sar"); no input makes these functions read out
// of bounds or throw.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "messaging/smpp/pdu.hpp"

namespace rh::messaging::smpp {

inline constexpr const char* kReasonInvalidUdh = "invalid_udh";
inline constexpr const char* kReasonInvalidSar = "invalid_sar";

inline constexpr std::uint8_t kIeiConcat8 = 0x00;
inline constexpr std::uint8_t kIeiConcat16 = 0x08;

// Where a part sits in a concatenated message.
struct Concat {
  std::uint16_t reference = 0;   // the same in every part; < 256 unless reference_16bit
  std::uint8_t total = 1;        // parts in the message, 1..255
  std::uint8_t seq = 1;          // this part, 1..total
  bool reference_16bit = false;  // IEI 0x08 (or sar_msg_ref_num) rather than IEI 0x00
  bool operator==(const Concat&) const = default;
};

struct InformationElement {
  std::uint8_t iei = 0;
  std::string data;
  bool operator==(const InformationElement&) const = default;
};

struct UserData {
  std::vector<InformationElement> elements;  // every IE of the UDH, in order (none without UDH)
  std::optional<Concat> concat;              // from IEI 0x00/0x08, or from sar_* TLVs
  std::size_t udh_length = 0;                // octets of the UDH, UDHL included (0: no UDH)
  std::string payload;                       // the user data after the UDH
  bool operator==(const UserData&) const = default;
};

// Parses the UDH at the start of user_data (the caller has checked UDHI).
// Errors: no UDHL octet, UDHL past the end, an IE running past the UDH,
// a concatenation IE of the wrong length, total 0, seq 0 or seq > total.
// When an IE occurs more than once, the last one counts (23.040 §9.2.3.24);
// an IEI 0x00 and an IEI 0x08 in the same UDH are refused as contradictory.
Result<UserData> parse_udh(std::string_view user_data);

// The UDH to put before the payload of one part: 05 00 03 ref total seq, or
// with reference_16bit 06 08 04 ref_hi ref_lo total seq. Error when total is
// 0, seq is outside 1..total, or an 8-bit reference is over 255.
Result<std::string> build_concat_udh(const Concat& concat);

// The user data of a submit_sm / deliver_sm: short_message, or the
// message_payload TLV when present; its UDH parsed when esm_class has UDHI;
// the concatenation from the UDH or, failing that, from the sar_* TLVs
// (all three must be present and consistent: reason "invalid_sar").
Result<UserData> user_data_of(const ShortMessage& sm);

}  // namespace rh::messaging::smpp
