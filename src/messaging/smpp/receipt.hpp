// SMSC delivery receipts: how a deliver_sm says what became of a message we
// submitted, and what that means for the message's status.
//
// A receipt is a deliver_sm whose esm_class message-type bits (5..2, mask
// 0x3C) are 0001, i.e. (esm_class & 0x3C) == 0x04 "SMSC delivery receipt";
// 1000 (0x20) is an intermediate delivery notification, same format. Bits
// 7..6 (UDHI, reply path) and 1..0 may be set alongside, so compare the
// masked value, never esm_class itself. It carries either or both of:
//  * the text of SMPP 3.4 Appendix B in short_message (or message_payload):
//      id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm
//      done date:YYMMDDhhmm stat:DDDDDDD err:E text:...
//    Carriers vary: fields go missing or change order, keys change case
//    ("Text:", "submit_date:"), ids are decimal, hex or longer than 10
//    characters, dates carry seconds (YYMMDDhhmmss), err has 3 digits, stat
//    is spelled out ("DELIVERED"). The parser takes "key:value" pairs in any
//    order, values up to the next blank, except text: which runs to the end.
//  * TLVs receipted_message_id (the message_id of our submit_sm_resp),
//    message_state and network_error_code, which win over the text.
// Pure functions; any input is accepted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "messaging/smpp/pdu.hpp"

namespace rh::messaging::smpp {

// The message_state TLV (SMPP 3.4 §5.2.28: 1..8; 0 and 9 added by SMPP 5.0),
// also what a receipt's stat word names.
enum class MessageState : std::uint8_t {
  scheduled = 0,      // SCHEDULED (5.0)
  enroute = 1,        // ENROUTE: in the SMSC, not yet delivered
  delivered = 2,      // DELIVRD
  expired = 3,        // EXPIRED: validity period passed
  deleted = 4,        // DELETED
  undeliverable = 5,  // UNDELIV
  accepted = 6,       // ACCEPTD
  unknown = 7,        // UNKNOWN
  rejected = 8,       // REJECTD
  skipped = 9,        // SKIPPED (5.0)
};

// 0..9 as above; nullopt otherwise.
std::optional<MessageState> message_state_from_tlv(std::uint8_t value);
// A stat word, case-insensitive: DELIVRD/DELIVERED, EXPIRED, DELETED,
// UNDELIV/UNDELIVERABLE/UNDELIVERED, ACCEPTD/ACCEPTED, UNKNOWN,
// REJECTD/REJECTED, ENROUTE, BUFFRED (Kannel's, = enroute), SCHEDULED,
// SKIPPED. nullopt for anything else (treat as unknown).
std::optional<MessageState> message_state_from_stat(std::string_view word);
// The Appendix B word: "DELIVRD", "UNDELIV", ...
const char* stat_word(MessageState s);

// Our message statuses, as a receipt moves them.
enum class DeliveryStatus {
  sent,         // not final: ENROUTE, ACCEPTD, SCHEDULED. Carriers send ACCEPTD as an
                // intermediate acknowledgement, the final receipt follows.
  delivered,    // DELIVRD
  undelivered,  // the network tried and could not: UNDELIV, EXPIRED, UNKNOWN
  failed,       // the network refused or dropped it: REJECTD, DELETED, SKIPPED
};

DeliveryStatus delivery_status(MessageState s);
const char* delivery_status_name(DeliveryStatus s);  // "sent", "delivered", ...

// A receipt date, in the SMSC's local time (the zone is not given).
struct ReceiptTime {
  int year = 0;  // 2000 + YY
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;  // 0 when the carrier sent YYMMDDhhmm
  bool operator==(const ReceiptTime&) const = default;
};

// YYMMDDhhmm, YYMMDDhhmmss or YYYYMMDDhhmmss, in range (day 1..31, ...).
std::optional<ReceiptTime> parse_receipt_time(std::string_view digits);

struct Receipt {
  std::string id;                // as written; see message_id_keys()
  std::optional<int> submitted;  // sub:
  std::optional<int> delivered;  // dlvrd:
  std::optional<ReceiptTime> submit_date;
  std::optional<ReceiptTime> done_date;
  std::string stat;                   // as written, e.g. "DELIVRD"
  std::optional<MessageState> state;  // stat, understood
  std::string err;                    // as written, e.g. "000"
  std::string text;                   // the start of the message, trimmed
  // Every key:value read, keys lower-cased ("submit date"), in order.
  std::vector<std::pair<std::string, std::string>> fields;
};

// Reads a receipt text. nullopt when it has neither an id: nor a stat: field.
std::optional<Receipt> parse_receipt(std::string_view text);

// (esm_class & 0x3C) == 0x04: SMSC delivery receipt.
bool is_delivery_receipt(std::uint8_t esm_class);
// (esm_class & 0x3C) == 0x20: intermediate delivery notification.
bool is_intermediate_notification(std::uint8_t esm_class);

// What a receipt deliver_sm says, TLVs and text together.
struct DeliveryReport {
  std::string message_id;             // receipted_message_id, else the text's id
  std::optional<MessageState> state;  // message_state, else the text's stat
  std::optional<NetworkErrorCode> network_error;
  std::optional<Receipt> receipt;  // the text, when it parsed
  bool intermediate = false;       // an intermediate notification, not the final receipt
};

// nullopt when the deliver_sm is not a receipt (is_delivery_receipt /
// is_intermediate_notification) or names no message id at all.
std::optional<DeliveryReport> delivery_report_of(const ShortMessage& deliver_sm);

// Forms under which to look up a message_id, exact form first: trimmed
// and lower-cased with leading zeros dropped; if it is decimal, also its hex
// form; if it is hex, also its decimal form (numbers up to 64 bits). Some
// SMSCs answer submit_sm_resp with a hex id and put it in decimal in the
// receipt, or the other way round (Kannel's msg-id-type). Match the exact
// key first and fall back to the others.
std::vector<std::string> message_id_keys(std::string_view id);

}  // namespace rh::messaging::smpp
