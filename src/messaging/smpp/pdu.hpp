// SMPP 3.4 PDUs as values: the header, command ids and statuses, typed bodies
// for every PDU an ESME exchanges with an SMSC, optional parameters (TLVs),
// and the framing of a byte stream into PDUs.
//
// Wire format (SMPP 3.4 §3.2). Every PDU starts with a 16-octet header of
// four big-endian uint32:
//   command_length   the whole PDU in octets, header included (16 and up)
//   command_id       what it is; responses have bit 31 set (0x80000000)
//   command_status   0 in requests; in responses the result (ESME_R...)
//   sequence_number  chosen by the requester, echoed by the response
// The body follows: the mandatory parameters in a fixed order, as
//   * integers of 1, 2 or 4 octets, big-endian,
//   * C-octet strings: ASCII with one terminating NUL. The spec gives each a
//     maximum size that counts the NUL ("system_id Var. max 16" is 15
//     characters + NUL); an empty string is the NUL alone,
//   * octet strings whose length an earlier field gives (short_message),
// then optional parameters (TLVs): tag u16, length u16, value of that length.
//
// Conventions:
//  * Bytes are carried in std::string / std::string_view, as elsewhere in the
//    project (core/crypto.hpp, messaging/encoding.hpp).
//  * Pure functions, no I/O. Any input is accepted: nothing reads outside the
//    given bytes, a PDU is at most kMaxPduSize octets, so nothing allocates
//    more than that, and every failure is a value (PduError) carrying the
//    command_status the ESME should answer with. No exception escapes.
//  * Strict where SMPP is unambiguous (field sizes, NULs, TLV lengths, a
//    command_length that disagrees with the body) and lenient where carriers
//    are known to differ: see decode().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace rh::messaging::smpp {

inline constexpr std::size_t kHeaderSize = 16;
// The largest PDU accepted or produced, header included. SMPP sets no limit;
// the largest legitimate PDU is a message_payload of a few KiB.
inline constexpr std::size_t kMaxPduSize = 64 * 1024;
// interface_version in a bind: SMPP 3.4.
inline constexpr std::uint8_t kInterfaceVersion = 0x34;

// ---------------------------------------------------------------------------
// Command ids (SMPP 3.4 §5.1.2.1). Only those this codec has bodies for;
// anything else (query_sm, replace_sm, cancel_sm, submit_multi, vendor ids)
// decodes as ESME_RINVCMDID and is answered with generic_nack. A CommandId
// may still hold any value read off the wire (see PduError::header).
enum class CommandId : std::uint32_t {
  generic_nack = 0x80000000,
  bind_receiver = 0x00000001,
  bind_receiver_resp = 0x80000001,
  bind_transmitter = 0x00000002,
  bind_transmitter_resp = 0x80000002,
  submit_sm = 0x00000004,
  submit_sm_resp = 0x80000004,
  deliver_sm = 0x00000005,
  deliver_sm_resp = 0x80000005,
  unbind = 0x00000006,
  unbind_resp = 0x80000006,
  bind_transceiver = 0x00000009,
  bind_transceiver_resp = 0x80000009,
  outbind = 0x0000000B,
  enquire_link = 0x00000015,
  enquire_link_resp = 0x80000015,
  alert_notification = 0x00000102,
  data_sm = 0x00000103,
  data_sm_resp = 0x80000103,
};

inline constexpr std::uint32_t kResponseBit = 0x80000000;

// Bit 31 set: a response (generic_nack included).
bool is_response(CommandId id);
// One of the ids above.
bool is_known(CommandId id);
// "submit_sm", ...; "unknown" for other values.
const char* command_name(CommandId id);
// The response a request expects (submit_sm → submit_sm_resp); nullopt for
// responses and for requests that have none (outbind, alert_notification).
std::optional<CommandId> response_id(CommandId request);

// ---------------------------------------------------------------------------
// Command status (SMPP 3.4 §5.1.3, table 5-2). Enumerators keep the spec's
// names so that they grep the same as in carrier documents and logs; the
// type holds any value (0x400–0x4FF are vendor-specific).
enum class CommandStatus : std::uint32_t {
  ESME_ROK = 0x00000000,               // no error
  ESME_RINVMSGLEN = 0x00000001,        // message length is invalid
  ESME_RINVCMDLEN = 0x00000002,        // command length is invalid
  ESME_RINVCMDID = 0x00000003,         // invalid command id
  ESME_RINVBNDSTS = 0x00000004,        // incorrect bind status for given command
  ESME_RALYBND = 0x00000005,           // ESME already in bound state
  ESME_RINVPRTFLG = 0x00000006,        // invalid priority flag
  ESME_RINVREGDLVFLG = 0x00000007,     // invalid registered delivery flag
  ESME_RSYSERR = 0x00000008,           // system error
  ESME_RINVSRCADR = 0x0000000A,        // invalid source address
  ESME_RINVDSTADR = 0x0000000B,        // invalid destination address
  ESME_RINVMSGID = 0x0000000C,         // message id is invalid
  ESME_RBINDFAIL = 0x0000000D,         // bind failed
  ESME_RINVPASWD = 0x0000000E,         // invalid password
  ESME_RINVSYSID = 0x0000000F,         // invalid system id
  ESME_RCANCELFAIL = 0x00000011,       // cancel_sm failed
  ESME_RREPLACEFAIL = 0x00000013,      // replace_sm failed
  ESME_RMSGQFUL = 0x00000014,          // message queue full
  ESME_RINVSERTYP = 0x00000015,        // invalid service type
  ESME_RINVNUMDESTS = 0x00000033,      // invalid number of destinations
  ESME_RINVDLNAME = 0x00000034,        // invalid distribution list name
  ESME_RINVDESTFLAG = 0x00000040,      // destination flag is invalid (submit_multi)
  ESME_RINVSUBREP = 0x00000042,        // invalid submit with replace request
  ESME_RINVESMCLASS = 0x00000043,      // invalid esm_class field data
  ESME_RCNTSUBDL = 0x00000044,         // cannot submit to distribution list
  ESME_RSUBMITFAIL = 0x00000045,       // submit_sm or submit_multi failed
  ESME_RINVSRCTON = 0x00000048,        // invalid source address TON
  ESME_RINVSRCNPI = 0x00000049,        // invalid source address NPI
  ESME_RINVDSTTON = 0x00000050,        // invalid destination address TON
  ESME_RINVDSTNPI = 0x00000051,        // invalid destination address NPI
  ESME_RINVSYSTYP = 0x00000053,        // invalid system_type field
  ESME_RINVREPFLAG = 0x00000054,       // invalid replace_if_present flag
  ESME_RINVNUMMSGS = 0x00000055,       // invalid number of messages
  ESME_RTHROTTLED = 0x00000058,        // throttling error (ESME exceeded allowed message limits)
  ESME_RINVSCHED = 0x00000061,         // invalid scheduled delivery time
  ESME_RINVEXPIRY = 0x00000062,        // invalid message validity period (expiry time)
  ESME_RINVDFTMSGID = 0x00000063,      // predefined message invalid or not found
  ESME_RX_T_APPN = 0x00000064,         // ESME receiver temporary app error code
  ESME_RX_P_APPN = 0x00000065,         // ESME receiver permanent app error code
  ESME_RX_R_APPN = 0x00000066,         // ESME receiver reject message error code
  ESME_RQUERYFAIL = 0x00000067,        // query_sm request failed
  ESME_RINVOPTPARSTREAM = 0x000000C0,  // error in the optional part of the PDU body
  ESME_ROPTPARNOTALLWD = 0x000000C1,   // optional parameter not allowed
  ESME_RINVPARLEN = 0x000000C2,        // invalid parameter length
  ESME_RMISSINGOPTPARAM = 0x000000C3,  // expected optional parameter missing
  ESME_RINVOPTPARAMVAL = 0x000000C4,   // invalid optional parameter value
  ESME_RDELIVERYFAILURE = 0x000000FE,  // delivery failure (data_sm_resp)
  ESME_RUNKNOWNERR = 0x000000FF,       // unknown error
};

// "ESME_RTHROTTLED"; "" for values without a name (vendor-specific, reserved).
const char* status_name(CommandStatus s);
// For logs and problem details: "0x00000058 ESME_RTHROTTLED (throttling
// error)", or "0x00000401 (vendor-specific)".
std::string describe_status(CommandStatus s);

// What to do with a message whose submit_sm got this status in its
// submit_sm_resp (or whose data_sm got it in data_sm_resp). Per the table in
// contracts/smpp.md (Kannel gw/smsc/smsc_smpp.c, Jasmin's default
// submit_error_retrial):
//   ESME_ROK                             ok
//   0x58 ESME_RTHROTTLED  retry: 20 × 30 s, and lower the bind's send rate
//   0x14 ESME_RMSGQFUL    retry:  2 × 180 s
//   0x08 ESME_RSYSERR     retry:  2 × 30 s
//   0x64 ESME_RX_T_APPN   retry:  2 × 30 s (the contract gives no figures;
//                                 ours, as for ESME_RSYSERR)
//   0x61 ESME_RINVSCHED   retry:  2 × 300 s
//   anything else (0x0B, 0x45, 0x65, 0x66, vendor codes, ...)  permanent
enum class SubmitAction { ok, retry, permanent };

struct SubmitVerdict {
  SubmitAction action = SubmitAction::permanent;
  std::chrono::seconds pause{0};  // retry: wait at least this long before the next attempt
  int max_retries = 0;            // retry: further attempts the message gets at most
  bool slow_down = false;         // retry: also lower the bind's send rate (throttled)
  bool operator==(const SubmitVerdict&) const = default;
};

SubmitVerdict classify_submit_status(CommandStatus status);

// ---------------------------------------------------------------------------
// Field values

// Type of number / numbering plan indicator of an address (§5.2.5, §5.2.6).
inline constexpr std::uint8_t kTonUnknown = 0x00;
inline constexpr std::uint8_t kTonInternational = 0x01;
inline constexpr std::uint8_t kTonNational = 0x02;
inline constexpr std::uint8_t kTonNetworkSpecific = 0x03;
inline constexpr std::uint8_t kTonSubscriber = 0x04;
inline constexpr std::uint8_t kTonAlphanumeric = 0x05;
inline constexpr std::uint8_t kTonAbbreviated = 0x06;
inline constexpr std::uint8_t kNpiUnknown = 0x00;
inline constexpr std::uint8_t kNpiIsdn = 0x01;  // E.164
inline constexpr std::uint8_t kNpiNational = 0x08;

// esm_class (§5.2.12), one octet:
//   bits 1..0  messaging mode (submit_sm, data_sm): 00 SMSC default,
//              01 datagram, 10 forward (transaction), 11 store and forward
//   bits 5..2  message type. In submit_sm: 0000 default, 0010 ESME delivery
//              acknowledgement, 0100 ESME manual/user acknowledgement. In
//              deliver_sm: 0000 default, 0001 SMSC delivery receipt (0x04),
//              0010 SME delivery ack (0x08), 0100 SME manual/user ack (0x10),
//              0110 conversation abort (0x18), 1000 intermediate delivery
//              notification (0x20)
//   bits 7..6  GSM features: 01 UDH indicator (0x40), 10 reply path (0x80)
inline constexpr std::uint8_t kEsmModeMask = 0x03;
inline constexpr std::uint8_t kEsmModeStoreAndForward = 0x03;
inline constexpr std::uint8_t kEsmTypeMask = 0x3C;
inline constexpr std::uint8_t kEsmTypeDeliveryReceipt = 0x04;
inline constexpr std::uint8_t kEsmTypeSmeDeliveryAck = 0x08;
inline constexpr std::uint8_t kEsmTypeSmeManualAck = 0x10;
inline constexpr std::uint8_t kEsmTypeConversationAbort = 0x18;
inline constexpr std::uint8_t kEsmTypeIntermediateNotification = 0x20;
inline constexpr std::uint8_t kEsmUdhi = 0x40;
inline constexpr std::uint8_t kEsmReplyPath = 0x80;

// registered_delivery (§5.2.17): bits 1..0 SMSC delivery receipt, bit 4
// intermediate notification.
inline constexpr std::uint8_t kRegisteredDeliveryNone = 0x00;
inline constexpr std::uint8_t kRegisteredDeliveryFinal = 0x01;        // on success or failure
inline constexpr std::uint8_t kRegisteredDeliveryFailureOnly = 0x02;  // on failure only
inline constexpr std::uint8_t kRegisteredDeliveryIntermediate = 0x10;

// Mandatory sizes, in octets including the NUL (the largest accepted string
// is one character shorter).
inline constexpr std::size_t kMaxSystemId = 16;
inline constexpr std::size_t kMaxPassword = 9;
inline constexpr std::size_t kMaxSystemType = 13;
inline constexpr std::size_t kMaxAddressRange = 41;
inline constexpr std::size_t kMaxServiceType = 6;
inline constexpr std::size_t kMaxSmAddress = 21;      // submit_sm, deliver_sm addresses
inline constexpr std::size_t kMaxLongAddress = 65;    // data_sm, alert_notification addresses
inline constexpr std::size_t kMaxMessageId = 65;      // message_id, receipted_message_id
inline constexpr std::size_t kTimeFieldSize = 17;     // "YYMMDDhhmmsstnnp" + NUL, or NUL alone
inline constexpr std::size_t kMaxShortMessage = 254;  // sm_length 0..254

// ---------------------------------------------------------------------------
// Optional parameters (TLVs, §5.3). Tags with a fixed or bounded length are
// checked on decode and on encode (ESME_RINVPARLEN); every other tag is kept
// as it came, in order, and re-encoded unchanged.
inline constexpr std::uint16_t kTagReceiptedMessageId = 0x001E;    // C-octet, ≤ 65 with NUL
inline constexpr std::uint16_t kTagUserMessageReference = 0x0204;  // 2
inline constexpr std::uint16_t kTagSarMsgRefNum = 0x020C;          // 2
inline constexpr std::uint16_t kTagSarTotalSegments = 0x020E;      // 1
inline constexpr std::uint16_t kTagSarSegmentSeqnum = 0x020F;      // 1
inline constexpr std::uint16_t kTagScInterfaceVersion = 0x0210;    // 1
inline constexpr std::uint16_t kTagMsAvailabilityStatus = 0x0422;  // 1 (alert_notification)
inline constexpr std::uint16_t kTagNetworkErrorCode = 0x0423;  // 3: network type, error code u16
inline constexpr std::uint16_t kTagMessagePayload = 0x0424;    // any length
inline constexpr std::uint16_t kTagMessageState = 0x0427;      // 1

struct Tlv {
  std::uint16_t tag = 0;
  std::string value;  // at most 65535 octets
  bool operator==(const Tlv&) const = default;
};

// network_error_code (§5.3.2.31): 1 = ANSI-136 (access denied reason),
// 2 = IS-95, 3 = GSM (cause), 4..8 reserved/other; then the error code.
struct NetworkErrorCode {
  std::uint8_t network_type = 0;
  std::uint16_t error_code = 0;
  bool operator==(const NetworkErrorCode&) const = default;
};

// The optional parameters of a PDU, in wire order. Typed getters return
// nullopt when the tag is absent (or, for a list built by hand, has the wrong
// length); setters replace every TLV with that tag by one at the end.
struct TlvList {
  std::vector<Tlv> items;

  const Tlv* find(std::uint16_t tag) const;  // the first with this tag
  bool has(std::uint16_t tag) const { return find(tag) != nullptr; }
  std::optional<std::uint8_t> u8(std::uint16_t tag) const;
  std::optional<std::uint16_t> u16(std::uint16_t tag) const;

  std::optional<std::uint16_t> sar_msg_ref_num() const { return u16(kTagSarMsgRefNum); }
  std::optional<std::uint8_t> sar_total_segments() const { return u8(kTagSarTotalSegments); }
  std::optional<std::uint8_t> sar_segment_seqnum() const { return u8(kTagSarSegmentSeqnum); }
  std::optional<std::uint8_t> sc_interface_version() const { return u8(kTagScInterfaceVersion); }
  std::optional<std::uint16_t> user_message_reference() const {
    return u16(kTagUserMessageReference);
  }
  std::optional<std::uint8_t> message_state() const { return u8(kTagMessageState); }
  std::optional<NetworkErrorCode> network_error_code() const;
  // The value without its NUL (also accepted without one: some SMSCs omit it).
  std::optional<std::string> receipted_message_id() const;
  const std::string* message_payload() const;

  void set(std::uint16_t tag, std::string value);
  void set_u8(std::uint16_t tag, std::uint8_t v);
  void set_u16(std::uint16_t tag, std::uint16_t v);
  void set_sar(std::uint16_t ref_num, std::uint8_t total_segments, std::uint8_t segment_seqnum);
  void set_network_error_code(NetworkErrorCode code);
  void set_receipted_message_id(std::string_view id);  // adds the NUL
  void set_message_payload(std::string payload) { set(kTagMessagePayload, std::move(payload)); }
  void erase(std::uint16_t tag);

  bool operator==(const TlvList&) const = default;
};

// ---------------------------------------------------------------------------
// Header, errors, results

struct Header {
  std::uint32_t command_length = 0;
  CommandId command_id = CommandId::generic_nack;
  CommandStatus command_status = CommandStatus::ESME_ROK;
  std::uint32_t sequence_number = 0;
  bool operator==(const Header&) const = default;
};

// Why bytes did not decode, or a PDU did not encode.
struct PduError {
  // What the ESME answers with (error_reply() builds the PDU): ESME_RINVCMDLEN
  // for a bad command_length or a body shorter/longer than its fields,
  // ESME_RINVCMDID for an unknown command, ESME_RINVMSGLEN for a bad
  // sm_length, ESME_RINVOPTPARSTREAM / ESME_RINVPARLEN for TLVs, and the
  // field's own status for a bad C-octet string (ESME_RINVSRCADR, ...).
  CommandStatus status = CommandStatus::ESME_RSYSERR;
  std::string message;  // for logs: what was wrong, naming the field
  // The header, whenever its 16 octets were there to read (even if its
  // command_length or command_id is what was wrong).
  std::optional<Header> header;
};

template <class T>
class [[nodiscard]] PduResult {
 public:
  PduResult(T v) : v_(std::in_place_index<0>, std::move(v)) {}         // NOLINT implicit
  PduResult(PduError e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT implicit

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  // Precondition: ok() (value) / !ok() (error); std::get checks it.
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const PduError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, PduError> v_;
};

// ---------------------------------------------------------------------------
// Framing

enum class FrameStatus {
  complete,   // the buffer starts with a whole PDU of `size` octets
  need_more,  // read until the buffer holds at least `size` octets, then ask again
  corrupt,    // command_length is out of range: the stream cannot be resynchronised;
              // answer generic_nack ESME_RINVCMDLEN and drop the connection
};

struct Frame {
  FrameStatus status = FrameStatus::need_more;
  std::size_t size = kHeaderSize;
  std::uint32_t command_length = 0;  // as read, when 4 octets were there
};

// Looks at the start of a receive buffer, which may hold part of a PDU,
// several PDUs, or garbage. Only command_length is judged here (16 ≤ it ≤
// max_pdu_size); the rest is decode()'s business.
Frame next_frame(std::string_view buffer, std::size_t max_pdu_size = kMaxPduSize);

// Reads the 16-octet header at the start of bytes: ESME_RINVCMDLEN if fewer
// than 16 octets or command_length < 16 or > kMaxPduSize. The command_id is
// not judged here.
PduResult<Header> decode_header(std::string_view bytes);

// ---------------------------------------------------------------------------
// Bodies

// An address: type of number, numbering plan, digits (or a name with TON 5).
struct Address {
  std::uint8_t ton = kTonUnknown;
  std::uint8_t npi = kNpiUnknown;
  std::string addr;
  bool operator==(const Address&) const = default;
};

// bind_receiver, bind_transmitter, bind_transceiver (§4.1). No TLVs.
struct Bind {
  std::string system_id;    // < kMaxSystemId characters
  std::string password;     // < kMaxPassword
  std::string system_type;  // < kMaxSystemType
  std::uint8_t interface_version = kInterfaceVersion;
  Address address_range;  // addr_ton, addr_npi, address_range (< kMaxAddressRange)
  bool operator==(const Bind&) const = default;
};

// bind_*_resp: the SMSC's system_id; TLV sc_interface_version when the SMSC
// supports TLVs (3.4).
struct BindResp {
  std::string system_id;  // < kMaxSystemId
  TlvList tlvs;
  bool operator==(const BindResp&) const = default;
};

// outbind (§4.1.7): the SMSC asks the ESME to bind. No TLVs.
struct Outbind {
  std::string system_id;
  std::string password;
  bool operator==(const Outbind&) const = default;
};

// submit_sm (§4.4.1) and deliver_sm (§4.6.1), which share their layout. In a
// deliver_sm, schedule_delivery_time, validity_period, replace_if_present_flag
// and sm_default_msg_id are unused (empty / 0).
struct ShortMessage {
  std::string service_type;  // < kMaxServiceType; "" for the SMSC default
  Address source;            // source_addr_ton, _npi, source_addr (< kMaxSmAddress)
  Address dest;              // dest_addr_ton, _npi, destination_addr (< kMaxSmAddress)
  std::uint8_t esm_class = 0;
  std::uint8_t protocol_id = 0;
  std::uint8_t priority_flag = 0;
  std::string schedule_delivery_time;  // "" (immediate) or 16 characters
  std::string validity_period;         // "" (SMSC default) or 16 characters
  std::uint8_t registered_delivery = kRegisteredDeliveryNone;
  std::uint8_t replace_if_present_flag = 0;
  std::uint8_t data_coding = 0;
  std::uint8_t sm_default_msg_id = 0;
  // Up to kMaxShortMessage octets; sm_length on the wire is its size. Must
  // be empty when the message_payload TLV carries the message.
  std::string short_message;
  TlvList tlvs;
  bool operator==(const ShortMessage&) const = default;
};

// submit_sm_resp, deliver_sm_resp, data_sm_resp: message_id (< kMaxMessageId;
// unused and empty in deliver_sm_resp), then TLVs (data_sm_resp; SMPP 5.0
// SMSCs also add some to submit_sm_resp: they are kept).
struct MessageIdResp {
  std::string message_id;
  TlvList tlvs;
  bool operator==(const MessageIdResp&) const = default;
};

// data_sm (§4.7.1): the message goes in the message_payload TLV.
struct DataSm {
  std::string service_type;  // < kMaxServiceType
  Address source;            // < kMaxLongAddress
  Address dest;              // < kMaxLongAddress
  std::uint8_t esm_class = 0;
  std::uint8_t registered_delivery = 0;
  std::uint8_t data_coding = 0;
  TlvList tlvs;
  bool operator==(const DataSm&) const = default;
};

// alert_notification (§4.12.1): a mobile became available; TLV
// ms_availability_status.
struct AlertNotification {
  Address source;  // < kMaxLongAddress
  Address esme;    // esme_addr_ton, _npi, esme_addr (< kMaxLongAddress)
  TlvList tlvs;
  bool operator==(const AlertNotification&) const = default;
};

// The body a command carries:
//   monostate          generic_nack, unbind(_resp), enquire_link(_resp), and
//                      any response with a non-zero status sent without body
//   Bind               bind_receiver, bind_transmitter, bind_transceiver
//   BindResp           bind_*_resp
//   Outbind            outbind
//   ShortMessage       submit_sm, deliver_sm
//   MessageIdResp      submit_sm_resp, deliver_sm_resp, data_sm_resp
//   DataSm             data_sm
//   AlertNotification  alert_notification
using Body = std::variant<std::monostate, Bind, BindResp, Outbind, ShortMessage, MessageIdResp,
                          DataSm, AlertNotification>;

struct Pdu {
  CommandId command_id = CommandId::generic_nack;
  CommandStatus command_status = CommandStatus::ESME_ROK;
  std::uint32_t sequence_number = 0;  // 1..0x7FFFFFFF in practice; not checked
  Body body;

  template <class B>
  const B* body_as() const {
    return std::get_if<B>(&body);
  }
  template <class B>
  B* body_as() {
    return std::get_if<B>(&body);
  }
  bool operator==(const Pdu&) const = default;
};

// ---------------------------------------------------------------------------
// Decoding and encoding

// Decodes exactly one PDU: `frame` must be the `size` octets next_frame()
// reported (its length must equal command_length, else ESME_RINVCMDLEN).
// Strict: a body that ends inside a field or has octets left after its last
// field (PDUs without TLVs) is ESME_RINVCMDLEN; a C-octet string without its
// NUL within its maximum size gets its field's status; TLVs that run past the
// end are ESME_RINVOPTPARSTREAM, known TLVs of the wrong length
// ESME_RINVPARLEN; sm_length > 254 or past the end, or short_message together
// with message_payload, ESME_RINVMSGLEN.
// Lenient: command_status is not checked in requests; a response with a
// non-zero status may come without body (or with one that does not parse:
// it decodes as monostate, since the status is what matters); a
// deliver_sm_resp may come without its NUL message_id; receipted_message_id
// may lack its NUL; unknown TLVs are kept.
PduResult<Pdu> decode(std::string_view frame);

// The PDU's octets, command_length filled in. Fails (with the status a peer
// would answer) when the body does not belong to the command_id, a string is
// too long or holds a NUL, short_message is over 254 octets or comes with
// message_payload, a known TLV has the wrong length, a TLV is over 65535
// octets, or the PDU would exceed kMaxPduSize.
PduResult<std::string> encode(const Pdu& pdu);

// The response to a request: same sequence_number, response_id(), the given
// status and body (e.g. MessageIdResp for a deliver_sm_resp). For a request
// without response, a generic_nack.
Pdu make_response(const Pdu& request, CommandStatus status = CommandStatus::ESME_ROK,
                  Body body = {});

// What to send back for bytes that did not decode: the request's own
// response with the error status (deliver_sm_resp and data_sm_resp with an
// empty message_id), else a generic_nack with the error status and the
// sequence_number when the header was readable (0 otherwise). nullopt for a
// broken generic_nack: a nack is never answered.
std::optional<Pdu> error_reply(const PduError& error);

}  // namespace rh::messaging::smpp
