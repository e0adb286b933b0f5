#include "messaging/smpp/pdu.hpp"

#include <cstdio>

namespace rh::messaging::smpp {

namespace {

using S = CommandStatus;

std::string hex32(std::uint32_t v) {
  char buf[11];
  std::snprintf(buf, sizeof buf, "0x%08X", static_cast<unsigned>(v));
  return buf;
}

std::string hex16(std::uint16_t v) {
  char buf[7];
  std::snprintf(buf, sizeof buf, "0x%04X", static_cast<unsigned>(v));
  return buf;
}

PduError fail(CommandStatus s, std::string message) {
  return PduError{s, std::move(message), std::nullopt};
}

// ---------------------------------------------------------------------------
// Reading: a cursor that never goes past its bytes.

class Reader {
 public:
  explicit Reader(std::string_view bytes) : b_(bytes) {}

  std::size_t left() const { return b_.size() - pos_; }
  std::string_view rest() const { return b_.substr(pos_); }

  bool u8(std::uint8_t& v) {
    if (left() < 1) return false;
    v = byte(pos_++);
    return true;
  }
  bool u16(std::uint16_t& v) {
    if (left() < 2) return false;
    v = static_cast<std::uint16_t>(byte(pos_) << 8 | byte(pos_ + 1));
    pos_ += 2;
    return true;
  }
  bool u32(std::uint32_t& v) {
    if (left() < 4) return false;
    v = static_cast<std::uint32_t>(byte(pos_)) << 24 |
        static_cast<std::uint32_t>(byte(pos_ + 1)) << 16 |
        static_cast<std::uint32_t>(byte(pos_ + 2)) << 8 |
        static_cast<std::uint32_t>(byte(pos_ + 3));
    pos_ += 4;
    return true;
  }
  bool bytes(std::size_t n, std::string& out) {
    if (left() < n) return false;
    out.assign(b_.substr(pos_, n));
    pos_ += n;
    return true;
  }

  enum class CStr { ok, truncated, too_long };
  // A C-octet string of at most max octets, NUL included.
  CStr c_octet(std::size_t max, std::string& out) {
    std::size_t window = left() < max ? left() : max;
    std::size_t nul = b_.substr(pos_, window).find('\0');
    if (nul == std::string_view::npos) return window < max ? CStr::truncated : CStr::too_long;
    out.assign(b_.substr(pos_, nul));
    pos_ += nul + 1;
    return CStr::ok;
  }

 private:
  std::uint8_t byte(std::size_t i) const { return static_cast<std::uint8_t>(b_[i]); }

  std::string_view b_;
  std::size_t pos_ = 0;
};

// Body decoders return an error or nothing; fields are read in spec order.
using Fault = std::optional<PduError>;

Fault truncated(const char* field) {
  return fail(S::ESME_RINVCMDLEN, std::string("body ends inside ") + field);
}

Fault read_u8(Reader& r, std::uint8_t& v, const char* field) {
  if (!r.u8(v)) return truncated(field);
  return std::nullopt;
}

Fault read_c(Reader& r, std::size_t max, std::string& out, CommandStatus bad, const char* field) {
  switch (r.c_octet(max, out)) {
    case Reader::CStr::ok:
      return std::nullopt;
    case Reader::CStr::truncated:
      return fail(S::ESME_RINVCMDLEN,
                  std::string("body ends inside ") + field + " (no NUL terminator)");
    case Reader::CStr::too_long:
      break;
  }
  return fail(bad, std::string(field) + " has no NUL within its " + std::to_string(max) +
                       " octets (too long or not terminated)");
}

// schedule_delivery_time / validity_period: NUL alone or 16 characters + NUL.
Fault read_time(Reader& r, std::string& out, CommandStatus bad, const char* field) {
  if (auto f = read_c(r, kTimeFieldSize, out, bad, field)) return f;
  if (!out.empty() && out.size() != kTimeFieldSize - 1) {
    return fail(bad, std::string(field) + " must be empty or 16 characters, got " +
                         std::to_string(out.size()));
  }
  return std::nullopt;
}

Fault read_address(Reader& r, Address& a, std::size_t max, CommandStatus bad, const char* ton,
                   const char* npi, const char* field) {
  if (auto f = read_u8(r, a.ton, ton)) return f;
  if (auto f = read_u8(r, a.npi, npi)) return f;
  return read_c(r, max, a.addr, bad, field);
}

// The expected length of a known TLV's value: exact, or a range.
struct TlvRule {
  std::size_t min = 0;
  std::size_t max = 0xFFFF;
  const char* name = nullptr;
};

std::optional<TlvRule> tlv_rule(std::uint16_t tag) {
  switch (tag) {
    case kTagReceiptedMessageId:
      return TlvRule{1, kMaxMessageId, "receipted_message_id"};
    case kTagUserMessageReference:
      return TlvRule{2, 2, "user_message_reference"};
    case kTagSarMsgRefNum:
      return TlvRule{2, 2, "sar_msg_ref_num"};
    case kTagSarTotalSegments:
      return TlvRule{1, 1, "sar_total_segments"};
    case kTagSarSegmentSeqnum:
      return TlvRule{1, 1, "sar_segment_seqnum"};
    case kTagScInterfaceVersion:
      return TlvRule{1, 1, "sc_interface_version"};
    case kTagMsAvailabilityStatus:
      return TlvRule{1, 1, "ms_availability_status"};
    case kTagNetworkErrorCode:
      return TlvRule{3, 3, "network_error_code"};
    case kTagMessagePayload:
      return TlvRule{0, 0xFFFF, "message_payload"};
    case kTagMessageState:
      return TlvRule{1, 1, "message_state"};
    default:
      return std::nullopt;
  }
}

Fault check_tlv(const Tlv& t) {
  if (t.value.size() > 0xFFFF) {
    return fail(S::ESME_RINVPARLEN, "TLV " + hex16(t.tag) + " is over 65535 octets");
  }
  auto rule = tlv_rule(t.tag);
  if (!rule) return std::nullopt;
  std::size_t n = t.value.size();
  if (n < rule->min || n > rule->max) {
    std::string want = rule->min == rule->max
                           ? std::to_string(rule->min)
                           : std::to_string(rule->min) + ".." + std::to_string(rule->max);
    return fail(S::ESME_RINVPARLEN, std::string("TLV ") + rule->name + " (" + hex16(t.tag) +
                                        ") must be " + want + " octets, got " + std::to_string(n));
  }
  if (t.tag == kTagReceiptedMessageId) {
    // A C-octet string: a NUL may only end it (some SMSCs leave it out).
    std::size_t nul = t.value.find('\0');
    if (nul != std::string::npos && nul != n - 1) {
      return fail(S::ESME_RINVOPTPARAMVAL, "TLV receipted_message_id has a NUL inside");
    }
    if (n == kMaxMessageId && nul == std::string::npos) {
      return fail(S::ESME_RINVPARLEN, "TLV receipted_message_id is over 64 characters");
    }
  }
  return std::nullopt;
}

Fault read_tlvs(Reader& r, TlvList& out) {
  while (r.left() > 0) {
    std::uint16_t tag = 0;
    std::uint16_t len = 0;
    if (r.left() < 4) {
      return fail(
          S::ESME_RINVOPTPARSTREAM,
          std::to_string(r.left()) + " stray octets where a TLV header (4 octets) should be");
    }
    (void)r.u16(tag);
    (void)r.u16(len);
    Tlv t{tag, {}};
    if (!r.bytes(len, t.value)) {
      return fail(S::ESME_RINVOPTPARSTREAM, "TLV " + hex16(tag) + " of length " +
                                                std::to_string(len) + " runs past the PDU (" +
                                                std::to_string(r.left()) + " octets left)");
    }
    if (auto f = check_tlv(t)) return f;
    out.items.push_back(std::move(t));
  }
  return std::nullopt;
}

Fault expect_end(const Reader& r) {
  if (r.left() == 0) return std::nullopt;
  return fail(S::ESME_RINVCMDLEN,
              std::to_string(r.left()) + " octets after the last field (command_length too large)");
}

Fault decode_bind(Reader& r, Bind& b) {
  if (auto f = read_c(r, kMaxSystemId, b.system_id, S::ESME_RINVSYSID, "system_id")) return f;
  if (auto f = read_c(r, kMaxPassword, b.password, S::ESME_RINVPASWD, "password")) return f;
  if (auto f = read_c(r, kMaxSystemType, b.system_type, S::ESME_RINVSYSTYP, "system_type"))
    return f;
  if (auto f = read_u8(r, b.interface_version, "interface_version")) return f;
  if (auto f = read_address(r, b.address_range, kMaxAddressRange, S::ESME_RBINDFAIL, "addr_ton",
                            "addr_npi", "address_range")) {
    return f;
  }
  return expect_end(r);
}

Fault decode_bind_resp(Reader& r, BindResp& b) {
  if (auto f = read_c(r, kMaxSystemId, b.system_id, S::ESME_RINVSYSID, "system_id")) return f;
  return read_tlvs(r, b.tlvs);
}

Fault decode_outbind(Reader& r, Outbind& b) {
  if (auto f = read_c(r, kMaxSystemId, b.system_id, S::ESME_RINVSYSID, "system_id")) return f;
  if (auto f = read_c(r, kMaxPassword, b.password, S::ESME_RINVPASWD, "password")) return f;
  return expect_end(r);
}

Fault check_payload_exclusive(const ShortMessage& m) {
  if (!m.short_message.empty() && m.tlvs.has(kTagMessagePayload)) {
    return fail(S::ESME_RINVMSGLEN,
                "short_message (sm_length " + std::to_string(m.short_message.size()) +
                    ") and message_payload are both present; sm_length must be 0");
  }
  return std::nullopt;
}

// service_type, source and destination: how submit_sm, deliver_sm and
// data_sm begin (address sizes differ: kMaxSmAddress or kMaxLongAddress).
Fault read_routing(Reader& r, std::string& service_type, Address& source, Address& dest,
                   std::size_t max_address) {
  if (auto f = read_c(r, kMaxServiceType, service_type, S::ESME_RINVSERTYP, "service_type")) {
    return f;
  }
  if (auto f = read_address(r, source, max_address, S::ESME_RINVSRCADR, "source_addr_ton",
                            "source_addr_npi", "source_addr")) {
    return f;
  }
  if (auto f = read_address(r, dest, max_address, S::ESME_RINVDSTADR, "dest_addr_ton",
                            "dest_addr_npi", "destination_addr")) {
    return f;
  }
  return std::nullopt;
}

Fault decode_short_message(Reader& r, ShortMessage& m) {
  if (auto f = read_routing(r, m.service_type, m.source, m.dest, kMaxSmAddress)) return f;
  if (auto f = read_u8(r, m.esm_class, "esm_class")) return f;
  if (auto f = read_u8(r, m.protocol_id, "protocol_id")) return f;
  if (auto f = read_u8(r, m.priority_flag, "priority_flag")) return f;
  if (auto f =
          read_time(r, m.schedule_delivery_time, S::ESME_RINVSCHED, "schedule_delivery_time")) {
    return f;
  }
  if (auto f = read_time(r, m.validity_period, S::ESME_RINVEXPIRY, "validity_period")) return f;
  if (auto f = read_u8(r, m.registered_delivery, "registered_delivery")) return f;
  if (auto f = read_u8(r, m.replace_if_present_flag, "replace_if_present_flag")) return f;
  if (auto f = read_u8(r, m.data_coding, "data_coding")) return f;
  if (auto f = read_u8(r, m.sm_default_msg_id, "sm_default_msg_id")) return f;
  std::uint8_t sm_length = 0;
  if (auto f = read_u8(r, sm_length, "sm_length")) return f;
  if (sm_length > kMaxShortMessage) {
    return fail(S::ESME_RINVMSGLEN, "sm_length " + std::to_string(sm_length) + " is over 254");
  }
  if (!r.bytes(sm_length, m.short_message)) {
    return fail(S::ESME_RINVMSGLEN, "sm_length " + std::to_string(sm_length) +
                                        " runs past the PDU (" + std::to_string(r.left()) +
                                        " octets left)");
  }
  if (auto f = read_tlvs(r, m.tlvs)) return f;
  return check_payload_exclusive(m);
}

Fault decode_message_id_resp(Reader& r, MessageIdResp& m, bool id_optional) {
  if (id_optional && r.left() == 0) return std::nullopt;
  if (auto f = read_c(r, kMaxMessageId, m.message_id, S::ESME_RINVMSGID, "message_id")) return f;
  return read_tlvs(r, m.tlvs);
}

Fault decode_data_sm(Reader& r, DataSm& m) {
  if (auto f = read_routing(r, m.service_type, m.source, m.dest, kMaxLongAddress)) return f;
  if (auto f = read_u8(r, m.esm_class, "esm_class")) return f;
  if (auto f = read_u8(r, m.registered_delivery, "registered_delivery")) return f;
  if (auto f = read_u8(r, m.data_coding, "data_coding")) return f;
  return read_tlvs(r, m.tlvs);
}

Fault decode_alert(Reader& r, AlertNotification& m) {
  if (auto f = read_address(r, m.source, kMaxLongAddress, S::ESME_RINVSRCADR, "source_addr_ton",
                            "source_addr_npi", "source_addr")) {
    return f;
  }
  if (auto f = read_address(r, m.esme, kMaxLongAddress, S::ESME_RINVDSTADR, "esme_addr_ton",
                            "esme_addr_npi", "esme_addr")) {
    return f;
  }
  return read_tlvs(r, m.tlvs);
}

// Decodes the body for a known command id into `body`.
Fault decode_body(CommandId id, Reader& r, Body& body) {
  switch (id) {
    case CommandId::generic_nack:
    case CommandId::unbind:
    case CommandId::unbind_resp:
    case CommandId::enquire_link:
    case CommandId::enquire_link_resp:
      body = std::monostate{};
      return expect_end(r);
    case CommandId::bind_receiver:
    case CommandId::bind_transmitter:
    case CommandId::bind_transceiver:
      return decode_bind(r, body.emplace<Bind>());
    case CommandId::bind_receiver_resp:
    case CommandId::bind_transmitter_resp:
    case CommandId::bind_transceiver_resp:
      return decode_bind_resp(r, body.emplace<BindResp>());
    case CommandId::outbind:
      return decode_outbind(r, body.emplace<Outbind>());
    case CommandId::submit_sm:
    case CommandId::deliver_sm:
      return decode_short_message(r, body.emplace<ShortMessage>());
    case CommandId::submit_sm_resp:
    case CommandId::data_sm_resp:
      return decode_message_id_resp(r, body.emplace<MessageIdResp>(), false);
    case CommandId::deliver_sm_resp:
      return decode_message_id_resp(r, body.emplace<MessageIdResp>(), true);
    case CommandId::data_sm:
      return decode_data_sm(r, body.emplace<DataSm>());
    case CommandId::alert_notification:
      return decode_alert(r, body.emplace<AlertNotification>());
  }
  return fail(S::ESME_RINVCMDID, "unknown command_id");
}

// ---------------------------------------------------------------------------
// Writing

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void bytes(std::string_view b) { out_.append(b); }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

Fault write_c(Writer& w, std::string_view s, std::size_t max, CommandStatus bad,
              const char* field) {
  if (s.find('\0') != std::string_view::npos) {
    return fail(bad, std::string(field) + " holds a NUL");
  }
  if (s.size() + 1 > max) {
    return fail(bad, std::string(field) + " is " + std::to_string(s.size()) +
                         " characters; at most " + std::to_string(max - 1));
  }
  w.bytes(s);
  w.u8(0);
  return std::nullopt;
}

Fault write_time(Writer& w, std::string_view s, CommandStatus bad, const char* field) {
  if (!s.empty() && s.size() != kTimeFieldSize - 1) {
    return fail(bad, std::string(field) + " must be empty or 16 characters, got " +
                         std::to_string(s.size()));
  }
  return write_c(w, s, kTimeFieldSize, bad, field);
}

Fault write_address(Writer& w, const Address& a, std::size_t max, CommandStatus bad,
                    const char* field) {
  w.u8(a.ton);
  w.u8(a.npi);
  return write_c(w, a.addr, max, bad, field);
}

Fault write_tlvs(Writer& w, const TlvList& tlvs) {
  for (const Tlv& t : tlvs.items) {
    if (auto f = check_tlv(t)) return f;
    w.u16(t.tag);
    w.u16(static_cast<std::uint16_t>(t.value.size()));
    w.bytes(t.value);
  }
  return std::nullopt;
}

Fault encode_body(Writer& w, const Bind& b) {
  if (auto f = write_c(w, b.system_id, kMaxSystemId, S::ESME_RINVSYSID, "system_id")) return f;
  if (auto f = write_c(w, b.password, kMaxPassword, S::ESME_RINVPASWD, "password")) return f;
  if (auto f = write_c(w, b.system_type, kMaxSystemType, S::ESME_RINVSYSTYP, "system_type")) {
    return f;
  }
  w.u8(b.interface_version);
  return write_address(w, b.address_range, kMaxAddressRange, S::ESME_RBINDFAIL, "address_range");
}

Fault encode_body(Writer& w, const BindResp& b) {
  if (auto f = write_c(w, b.system_id, kMaxSystemId, S::ESME_RINVSYSID, "system_id")) return f;
  return write_tlvs(w, b.tlvs);
}

Fault encode_body(Writer& w, const Outbind& b) {
  if (auto f = write_c(w, b.system_id, kMaxSystemId, S::ESME_RINVSYSID, "system_id")) return f;
  return write_c(w, b.password, kMaxPassword, S::ESME_RINVPASWD, "password");
}

// The inverse of read_routing.
Fault write_routing(Writer& w, std::string_view service_type, const Address& source,
                    const Address& dest, std::size_t max_address) {
  if (auto f = write_c(w, service_type, kMaxServiceType, S::ESME_RINVSERTYP, "service_type")) {
    return f;
  }
  if (auto f = write_address(w, source, max_address, S::ESME_RINVSRCADR, "source_addr")) {
    return f;
  }
  if (auto f = write_address(w, dest, max_address, S::ESME_RINVDSTADR, "destination_addr")) {
    return f;
  }
  return std::nullopt;
}

Fault encode_body(Writer& w, const ShortMessage& m) {
  if (auto f = check_payload_exclusive(m)) return f;
  if (m.short_message.size() > kMaxShortMessage) {
    return fail(S::ESME_RINVMSGLEN, "short_message is " + std::to_string(m.short_message.size()) +
                                        " octets; at most 254 (use message_payload)");
  }
  if (auto f = write_routing(w, m.service_type, m.source, m.dest, kMaxSmAddress)) return f;
  w.u8(m.esm_class);
  w.u8(m.protocol_id);
  w.u8(m.priority_flag);
  if (auto f =
          write_time(w, m.schedule_delivery_time, S::ESME_RINVSCHED, "schedule_delivery_time")) {
    return f;
  }
  if (auto f = write_time(w, m.validity_period, S::ESME_RINVEXPIRY, "validity_period")) return f;
  w.u8(m.registered_delivery);
  w.u8(m.replace_if_present_flag);
  w.u8(m.data_coding);
  w.u8(m.sm_default_msg_id);
  w.u8(static_cast<std::uint8_t>(m.short_message.size()));
  w.bytes(m.short_message);
  return write_tlvs(w, m.tlvs);
}

Fault encode_body(Writer& w, const MessageIdResp& m) {
  if (auto f = write_c(w, m.message_id, kMaxMessageId, S::ESME_RINVMSGID, "message_id")) return f;
  return write_tlvs(w, m.tlvs);
}

Fault encode_body(Writer& w, const DataSm& m) {
  if (auto f = write_routing(w, m.service_type, m.source, m.dest, kMaxLongAddress)) return f;
  w.u8(m.esm_class);
  w.u8(m.registered_delivery);
  w.u8(m.data_coding);
  return write_tlvs(w, m.tlvs);
}

Fault encode_body(Writer& w, const AlertNotification& m) {
  if (auto f = write_address(w, m.source, kMaxLongAddress, S::ESME_RINVSRCADR, "source_addr")) {
    return f;
  }
  if (auto f = write_address(w, m.esme, kMaxLongAddress, S::ESME_RINVDSTADR, "esme_addr")) {
    return f;
  }
  return write_tlvs(w, m.tlvs);
}

Fault encode_body(Writer&, const std::monostate&) {
  return std::nullopt;
}

// The body alternative (Body's index) each command carries.
std::optional<std::size_t> body_index(CommandId id) {
  switch (id) {
    case CommandId::generic_nack:
    case CommandId::unbind:
    case CommandId::unbind_resp:
    case CommandId::enquire_link:
    case CommandId::enquire_link_resp:
      return 0;
    case CommandId::bind_receiver:
    case CommandId::bind_transmitter:
    case CommandId::bind_transceiver:
      return 1;
    case CommandId::bind_receiver_resp:
    case CommandId::bind_transmitter_resp:
    case CommandId::bind_transceiver_resp:
      return 2;
    case CommandId::outbind:
      return 3;
    case CommandId::submit_sm:
    case CommandId::deliver_sm:
      return 4;
    case CommandId::submit_sm_resp:
    case CommandId::deliver_sm_resp:
    case CommandId::data_sm_resp:
      return 5;
    case CommandId::data_sm:
      return 6;
    case CommandId::alert_notification:
      return 7;
  }
  return std::nullopt;
}

void put_u32(std::string& s, std::size_t at, std::uint32_t v) {
  s[at] = static_cast<char>(v >> 24);
  s[at + 1] = static_cast<char>(v >> 16);
  s[at + 2] = static_cast<char>(v >> 8);
  s[at + 3] = static_cast<char>(v);
}

}  // namespace

// ---------------------------------------------------------------------------
// Commands and statuses

bool is_response(CommandId id) {
  return (static_cast<std::uint32_t>(id) & kResponseBit) != 0;
}

bool is_known(CommandId id) {
  return body_index(id).has_value();
}

const char* command_name(CommandId id) {
  switch (id) {
    case CommandId::generic_nack:
      return "generic_nack";
    case CommandId::bind_receiver:
      return "bind_receiver";
    case CommandId::bind_receiver_resp:
      return "bind_receiver_resp";
    case CommandId::bind_transmitter:
      return "bind_transmitter";
    case CommandId::bind_transmitter_resp:
      return "bind_transmitter_resp";
    case CommandId::submit_sm:
      return "submit_sm";
    case CommandId::submit_sm_resp:
      return "submit_sm_resp";
    case CommandId::deliver_sm:
      return "deliver_sm";
    case CommandId::deliver_sm_resp:
      return "deliver_sm_resp";
    case CommandId::unbind:
      return "unbind";
    case CommandId::unbind_resp:
      return "unbind_resp";
    case CommandId::bind_transceiver:
      return "bind_transceiver";
    case CommandId::bind_transceiver_resp:
      return "bind_transceiver_resp";
    case CommandId::outbind:
      return "outbind";
    case CommandId::enquire_link:
      return "enquire_link";
    case CommandId::enquire_link_resp:
      return "enquire_link_resp";
    case CommandId::alert_notification:
      return "alert_notification";
    case CommandId::data_sm:
      return "data_sm";
    case CommandId::data_sm_resp:
      return "data_sm_resp";
  }
  return "unknown";
}

std::optional<CommandId> response_id(CommandId request) {
  if (is_response(request) || !is_known(request)) return std::nullopt;
  if (request == CommandId::outbind || request == CommandId::alert_notification) {
    return std::nullopt;
  }
  return static_cast<CommandId>(static_cast<std::uint32_t>(request) | kResponseBit);
}

namespace {

struct StatusInfo {
  CommandStatus status;
  const char* name;
  const char* meaning;
};

constexpr StatusInfo kStatuses[] = {
    {S::ESME_ROK, "ESME_ROK", "no error"},
    {S::ESME_RINVMSGLEN, "ESME_RINVMSGLEN", "message length is invalid"},
    {S::ESME_RINVCMDLEN, "ESME_RINVCMDLEN", "command length is invalid"},
    {S::ESME_RINVCMDID, "ESME_RINVCMDID", "invalid command id"},
    {S::ESME_RINVBNDSTS, "ESME_RINVBNDSTS", "incorrect bind status for given command"},
    {S::ESME_RALYBND, "ESME_RALYBND", "ESME already in bound state"},
    {S::ESME_RINVPRTFLG, "ESME_RINVPRTFLG", "invalid priority flag"},
    {S::ESME_RINVREGDLVFLG, "ESME_RINVREGDLVFLG", "invalid registered delivery flag"},
    {S::ESME_RSYSERR, "ESME_RSYSERR", "system error"},
    {S::ESME_RINVSRCADR, "ESME_RINVSRCADR", "invalid source address"},
    {S::ESME_RINVDSTADR, "ESME_RINVDSTADR", "invalid destination address"},
    {S::ESME_RINVMSGID, "ESME_RINVMSGID", "message id is invalid"},
    {S::ESME_RBINDFAIL, "ESME_RBINDFAIL", "bind failed"},
    {S::ESME_RINVPASWD, "ESME_RINVPASWD", "invalid password"},
    {S::ESME_RINVSYSID, "ESME_RINVSYSID", "invalid system id"},
    {S::ESME_RCANCELFAIL, "ESME_RCANCELFAIL", "cancel_sm failed"},
    {S::ESME_RREPLACEFAIL, "ESME_RREPLACEFAIL", "replace_sm failed"},
    {S::ESME_RMSGQFUL, "ESME_RMSGQFUL", "message queue full"},
    {S::ESME_RINVSERTYP, "ESME_RINVSERTYP", "invalid service type"},
    {S::ESME_RINVNUMDESTS, "ESME_RINVNUMDESTS", "invalid number of destinations"},
    {S::ESME_RINVDLNAME, "ESME_RINVDLNAME", "invalid distribution list name"},
    {S::ESME_RINVDESTFLAG, "ESME_RINVDESTFLAG", "destination flag is invalid"},
    {S::ESME_RINVSUBREP, "ESME_RINVSUBREP", "invalid submit with replace request"},
    {S::ESME_RINVESMCLASS, "ESME_RINVESMCLASS", "invalid esm_class field data"},
    {S::ESME_RCNTSUBDL, "ESME_RCNTSUBDL", "cannot submit to distribution list"},
    {S::ESME_RSUBMITFAIL, "ESME_RSUBMITFAIL", "submit_sm or submit_multi failed"},
    {S::ESME_RINVSRCTON, "ESME_RINVSRCTON", "invalid source address TON"},
    {S::ESME_RINVSRCNPI, "ESME_RINVSRCNPI", "invalid source address NPI"},
    {S::ESME_RINVDSTTON, "ESME_RINVDSTTON", "invalid destination address TON"},
    {S::ESME_RINVDSTNPI, "ESME_RINVDSTNPI", "invalid destination address NPI"},
    {S::ESME_RINVSYSTYP, "ESME_RINVSYSTYP", "invalid system_type field"},
    {S::ESME_RINVREPFLAG, "ESME_RINVREPFLAG", "invalid replace_if_present flag"},
    {S::ESME_RINVNUMMSGS, "ESME_RINVNUMMSGS", "invalid number of messages"},
    {S::ESME_RTHROTTLED, "ESME_RTHROTTLED", "throttling error"},
    {S::ESME_RINVSCHED, "ESME_RINVSCHED", "invalid scheduled delivery time"},
    {S::ESME_RINVEXPIRY, "ESME_RINVEXPIRY", "invalid message validity period"},
    {S::ESME_RINVDFTMSGID, "ESME_RINVDFTMSGID", "predefined message invalid or not found"},
    {S::ESME_RX_T_APPN, "ESME_RX_T_APPN", "ESME receiver temporary app error"},
    {S::ESME_RX_P_APPN, "ESME_RX_P_APPN", "ESME receiver permanent app error"},
    {S::ESME_RX_R_APPN, "ESME_RX_R_APPN", "ESME receiver reject message error"},
    {S::ESME_RQUERYFAIL, "ESME_RQUERYFAIL", "query_sm request failed"},
    {S::ESME_RINVOPTPARSTREAM, "ESME_RINVOPTPARSTREAM", "error in the optional part of the PDU"},
    {S::ESME_ROPTPARNOTALLWD, "ESME_ROPTPARNOTALLWD", "optional parameter not allowed"},
    {S::ESME_RINVPARLEN, "ESME_RINVPARLEN", "invalid parameter length"},
    {S::ESME_RMISSINGOPTPARAM, "ESME_RMISSINGOPTPARAM", "expected optional parameter missing"},
    {S::ESME_RINVOPTPARAMVAL, "ESME_RINVOPTPARAMVAL", "invalid optional parameter value"},
    {S::ESME_RDELIVERYFAILURE, "ESME_RDELIVERYFAILURE", "delivery failure"},
    {S::ESME_RUNKNOWNERR, "ESME_RUNKNOWNERR", "unknown error"},
};

const StatusInfo* status_info(CommandStatus s) {
  for (const auto& i : kStatuses) {
    if (i.status == s) return &i;
  }
  return nullptr;
}

}  // namespace

const char* status_name(CommandStatus s) {
  const StatusInfo* i = status_info(s);
  return i ? i->name : "";
}

std::string describe_status(CommandStatus s) {
  auto v = static_cast<std::uint32_t>(s);
  std::string out = hex32(v);
  if (const StatusInfo* i = status_info(s)) return out + " " + i->name + " (" + i->meaning + ")";
  if (v >= 0x400 && v <= 0x4FF) return out + " (vendor-specific)";
  return out + " (reserved)";
}

SubmitVerdict classify_submit_status(CommandStatus status) {
  using std::chrono::seconds;
  switch (status) {
    case S::ESME_ROK:
      return {SubmitAction::ok, seconds(0), 0, false};
    case S::ESME_RTHROTTLED:
      return {SubmitAction::retry, seconds(30), 20, true};
    case S::ESME_RMSGQFUL:
      return {SubmitAction::retry, seconds(180), 2, false};
    case S::ESME_RSYSERR:
      return {SubmitAction::retry, seconds(30), 2, false};
    case S::ESME_RX_T_APPN:
      return {SubmitAction::retry, seconds(30), 2, false};
    case S::ESME_RINVSCHED:
      return {SubmitAction::retry, seconds(300), 2, false};
    default:
      return {SubmitAction::permanent, seconds(0), 0, false};
  }
}

// ---------------------------------------------------------------------------
// TLV list

const Tlv* TlvList::find(std::uint16_t tag) const {
  for (const Tlv& t : items) {
    if (t.tag == tag) return &t;
  }
  return nullptr;
}

std::optional<std::uint8_t> TlvList::u8(std::uint16_t tag) const {
  const Tlv* t = find(tag);
  if (!t || t->value.size() != 1) return std::nullopt;
  return static_cast<std::uint8_t>(t->value[0]);
}

std::optional<std::uint16_t> TlvList::u16(std::uint16_t tag) const {
  const Tlv* t = find(tag);
  if (!t || t->value.size() != 2) return std::nullopt;
  return static_cast<std::uint16_t>(static_cast<std::uint8_t>(t->value[0]) << 8 |
                                    static_cast<std::uint8_t>(t->value[1]));
}

std::optional<NetworkErrorCode> TlvList::network_error_code() const {
  const Tlv* t = find(kTagNetworkErrorCode);
  if (!t || t->value.size() != 3) return std::nullopt;
  auto b = [&](std::size_t i) { return static_cast<std::uint8_t>(t->value[i]); };
  return NetworkErrorCode{b(0), static_cast<std::uint16_t>(b(1) << 8 | b(2))};
}

std::optional<std::string> TlvList::receipted_message_id() const {
  const Tlv* t = find(kTagReceiptedMessageId);
  if (!t) return std::nullopt;
  std::string_view v = t->value;
  if (!v.empty() && v.back() == '\0') v.remove_suffix(1);
  if (v.find('\0') != std::string_view::npos || v.size() >= kMaxMessageId) return std::nullopt;
  return std::string(v);
}

const std::string* TlvList::message_payload() const {
  const Tlv* t = find(kTagMessagePayload);
  return t ? &t->value : nullptr;
}

void TlvList::erase(std::uint16_t tag) {
  std::erase_if(items, [tag](const Tlv& t) { return t.tag == tag; });
}

void TlvList::set(std::uint16_t tag, std::string value) {
  erase(tag);
  items.push_back(Tlv{tag, std::move(value)});
}

void TlvList::set_u8(std::uint16_t tag, std::uint8_t v) {
  set(tag, std::string(1, static_cast<char>(v)));
}

void TlvList::set_u16(std::uint16_t tag, std::uint16_t v) {
  std::string s(2, '\0');
  s[0] = static_cast<char>(v >> 8);
  s[1] = static_cast<char>(v);
  set(tag, std::move(s));
}

void TlvList::set_sar(std::uint16_t ref_num, std::uint8_t total_segments,
                      std::uint8_t segment_seqnum) {
  set_u16(kTagSarMsgRefNum, ref_num);
  set_u8(kTagSarTotalSegments, total_segments);
  set_u8(kTagSarSegmentSeqnum, segment_seqnum);
}

void TlvList::set_network_error_code(NetworkErrorCode code) {
  std::string s(3, '\0');
  s[0] = static_cast<char>(code.network_type);
  s[1] = static_cast<char>(code.error_code >> 8);
  s[2] = static_cast<char>(code.error_code);
  set(kTagNetworkErrorCode, std::move(s));
}

void TlvList::set_receipted_message_id(std::string_view id) {
  std::string v(id);
  v.push_back('\0');
  set(kTagReceiptedMessageId, std::move(v));
}

// ---------------------------------------------------------------------------
// Framing, decoding, encoding

Frame next_frame(std::string_view buffer, std::size_t max_pdu_size) {
  Frame f;
  if (buffer.size() < 4) return f;  // need_more, at least a header
  Reader r(buffer);
  (void)r.u32(f.command_length);
  if (f.command_length < kHeaderSize || f.command_length > max_pdu_size) {
    f.status = FrameStatus::corrupt;
    f.size = 0;
    return f;
  }
  f.size = f.command_length;
  f.status = buffer.size() >= f.size ? FrameStatus::complete : FrameStatus::need_more;
  return f;
}

PduResult<Header> decode_header(std::string_view bytes) {
  if (bytes.size() < kHeaderSize) {
    return fail(S::ESME_RINVCMDLEN,
                "only " + std::to_string(bytes.size()) + " octets; a PDU header is 16");
  }
  Reader r(bytes);
  Header h;
  std::uint32_t id = 0;
  std::uint32_t status = 0;
  (void)r.u32(h.command_length);
  (void)r.u32(id);
  (void)r.u32(status);
  (void)r.u32(h.sequence_number);
  h.command_id = static_cast<CommandId>(id);
  h.command_status = static_cast<CommandStatus>(status);
  if (h.command_length < kHeaderSize || h.command_length > kMaxPduSize) {
    PduError e = fail(S::ESME_RINVCMDLEN, "command_length " + std::to_string(h.command_length) +
                                              " is outside 16.." + std::to_string(kMaxPduSize));
    e.header = h;
    return e;
  }
  return h;
}

PduResult<Pdu> decode(std::string_view frame) {
  auto header = decode_header(frame);
  if (!header) return header.error();
  const Header& h = *header;
  auto with_header = [&h](PduError e) {
    e.header = h;
    return e;
  };
  if (frame.size() != h.command_length) {
    return with_header(
        fail(S::ESME_RINVCMDLEN, "command_length " + std::to_string(h.command_length) +
                                     " disagrees with the " + std::to_string(frame.size()) +
                                     " octets of the PDU"));
  }
  if (!is_known(h.command_id)) {
    return with_header(
        fail(S::ESME_RINVCMDID,
             "unknown command_id " + hex32(static_cast<std::uint32_t>(h.command_id))));
  }
  Pdu pdu{h.command_id, h.command_status, h.sequence_number, {}};
  std::string_view body = frame.substr(kHeaderSize);
  bool error_response = is_response(h.command_id) && h.command_status != S::ESME_ROK;
  if (error_response && body.empty()) return pdu;  // allowed: no body with an error status
  Reader r(body);
  if (Fault f = decode_body(h.command_id, r, pdu.body)) {
    if (error_response) {
      // The status is what the peer says; a body we cannot read changes nothing.
      pdu.body = std::monostate{};
      return pdu;
    }
    f->message = std::string(command_name(h.command_id)) + ": " + f->message;
    return with_header(std::move(*f));
  }
  return pdu;
}

PduResult<std::string> encode(const Pdu& pdu) {
  auto fail_for = [&pdu](CommandStatus s, std::string m) {
    return fail(s, std::string(command_name(pdu.command_id)) + ": " + m);
  };
  auto index = body_index(pdu.command_id);
  if (!index) {
    return fail_for(S::ESME_RINVCMDID, "cannot encode command_id " +
                                           hex32(static_cast<std::uint32_t>(pdu.command_id)));
  }
  bool empty_error_response =
      is_response(pdu.command_id) && pdu.command_status != S::ESME_ROK && pdu.body.index() == 0;
  if (pdu.body.index() != *index && !empty_error_response) {
    return fail_for(S::ESME_RSYSERR, "the body given does not belong to this command");
  }
  Writer w;
  w.u32(0);  // command_length, set below
  w.u32(static_cast<std::uint32_t>(pdu.command_id));
  w.u32(static_cast<std::uint32_t>(pdu.command_status));
  w.u32(pdu.sequence_number);
  Fault f = std::visit([&w](const auto& b) { return encode_body(w, b); }, pdu.body);
  if (f) {
    f->message = std::string(command_name(pdu.command_id)) + ": " + f->message;
    return std::move(*f);
  }
  std::string& out = w.out();
  if (out.size() > kMaxPduSize) {
    return fail_for(S::ESME_RINVCMDLEN, "the PDU would be " + std::to_string(out.size()) +
                                            " octets, over the cap of " +
                                            std::to_string(kMaxPduSize));
  }
  put_u32(out, 0, static_cast<std::uint32_t>(out.size()));
  return std::move(out);
}

Pdu make_response(const Pdu& request, CommandStatus status, Body body) {
  Pdu resp;
  resp.sequence_number = request.sequence_number;
  resp.command_status = status;
  auto id = response_id(request.command_id);
  resp.command_id = id ? *id : CommandId::generic_nack;
  resp.body = id ? std::move(body) : Body{};
  return resp;
}

std::optional<Pdu> error_reply(const PduError& error) {
  CommandStatus status =
      error.status == S::ESME_ROK ? S::ESME_RSYSERR : error.status;  // never "ok" for an error
  Pdu reply;
  reply.command_id = CommandId::generic_nack;
  reply.command_status = status;
  if (!error.header) return reply;
  const Header& h = *error.header;
  reply.sequence_number = h.sequence_number;
  if (h.command_id == CommandId::generic_nack) return std::nullopt;
  bool bad_frame = status == S::ESME_RINVCMDLEN &&
                   (h.command_length < kHeaderSize || h.command_length > kMaxPduSize);
  auto id = response_id(h.command_id);
  if (!id || bad_frame || status == S::ESME_RINVCMDID) return reply;
  reply.command_id = *id;
  if (*id == CommandId::deliver_sm_resp || *id == CommandId::data_sm_resp) {
    reply.body = MessageIdResp{};
  }
  return reply;
}

}  // namespace rh::messaging::smpp
