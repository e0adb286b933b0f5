#include "messaging/smpp/udh.hpp"

namespace rh::messaging::smpp {

namespace {

Error udh_error(std::string message) {
  return make_reason(Errc::invalid_argument, kReasonInvalidUdh, "UDH: " + std::move(message));
}

std::uint8_t octet(std::string_view s, std::size_t i) {
  return static_cast<std::uint8_t>(s[i]);
}

// total and seq as concatenation requires: 1 ≤ seq ≤ total.
std::optional<std::string> concat_problem(unsigned total, unsigned seq) {
  if (total == 0) return "total parts is 0";
  if (seq == 0) return "part number is 0";
  if (seq > total) {
    return "part number " + std::to_string(seq) + " is past the total of " + std::to_string(total);
  }
  return std::nullopt;
}

}  // namespace

Result<UserData> parse_udh(std::string_view user_data) {
  if (user_data.empty()) return udh_error("UDHI is set but the user data is empty");
  std::size_t udhl = octet(user_data, 0);
  if (1 + udhl > user_data.size()) {
    return udh_error("UDHL " + std::to_string(udhl) + " runs past the " +
                     std::to_string(user_data.size()) + " octets of user data");
  }
  UserData out;
  out.udh_length = 1 + udhl;
  std::string_view ies = user_data.substr(1, udhl);
  bool seen8 = false;
  bool seen16 = false;
  std::size_t i = 0;
  while (i < ies.size()) {
    if (ies.size() - i < 2) return udh_error("an IE header is cut off by the end of the UDH");
    std::uint8_t iei = octet(ies, i);
    std::size_t len = octet(ies, i + 1);
    i += 2;
    if (len > ies.size() - i) {
      return udh_error("IE " + std::to_string(iei) + " of length " + std::to_string(len) +
                       " runs past the UDH");
    }
    std::string_view data = ies.substr(i, len);
    i += len;
    if (iei == kIeiConcat8 || iei == kIeiConcat16) {
      bool wide = iei == kIeiConcat16;
      std::size_t want = wide ? 4 : 3;
      if (len != want) {
        return udh_error("concatenation IE " + std::to_string(iei) + " must be " +
                         std::to_string(want) + " octets, got " + std::to_string(len));
      }
      Concat c;
      c.reference_16bit = wide;
      c.reference =
          wide ? static_cast<std::uint16_t>(octet(data, 0) << 8 | octet(data, 1)) : octet(data, 0);
      c.total = octet(data, want - 2);
      c.seq = octet(data, want - 1);
      if (auto p = concat_problem(c.total, c.seq)) return udh_error(*p);
      (wide ? seen16 : seen8) = true;
      out.concat = c;
    }
    out.elements.push_back(InformationElement{iei, std::string(data)});
  }
  if (seen8 && seen16) return udh_error("both an 8-bit and a 16-bit concatenation IE");
  out.payload.assign(user_data.substr(out.udh_length));
  return out;
}

Result<std::string> build_concat_udh(const Concat& c) {
  if (auto p = concat_problem(c.total, c.seq)) return udh_error(*p);
  std::string udh;
  if (c.reference_16bit) {
    udh = {0x06,
           0x08,
           0x04,
           static_cast<char>(c.reference >> 8),
           static_cast<char>(c.reference),
           static_cast<char>(c.total),
           static_cast<char>(c.seq)};
  } else {
    if (c.reference > 0xFF) {
      return udh_error("reference " + std::to_string(c.reference) +
                       " does not fit in 8 bits; set reference_16bit");
    }
    udh = {0x05,
           0x00,
           0x03,
           static_cast<char>(c.reference),
           static_cast<char>(c.total),
           static_cast<char>(c.seq)};
  }
  return udh;
}

Result<UserData> user_data_of(const ShortMessage& sm) {
  const std::string* payload = sm.tlvs.message_payload();
  const std::string& data = payload ? *payload : sm.short_message;
  UserData out;
  if (sm.esm_class & kEsmUdhi) {
    RH_ASSIGN(out, parse_udh(data));
  } else {
    out.payload = data;
  }
  if (out.concat) return out;

  auto ref = sm.tlvs.sar_msg_ref_num();
  auto total = sm.tlvs.sar_total_segments();
  auto seq = sm.tlvs.sar_segment_seqnum();
  int present = static_cast<int>(ref.has_value()) + static_cast<int>(total.has_value()) +
                static_cast<int>(seq.has_value());
  if (present == 0) return out;
  if (present != 3) {
    return make_reason(Errc::invalid_argument, kReasonInvalidSar,
                       "sar_msg_ref_num, sar_total_segments and sar_segment_seqnum must come "
                       "together");
  }
  if (auto p = concat_problem(*total, *seq)) {
    return make_reason(Errc::invalid_argument, kReasonInvalidSar, "sar_*: " + *p);
  }
  out.concat = Concat{*ref, *total, *seq, true};
  return out;
}

}  // namespace rh::messaging::smpp
