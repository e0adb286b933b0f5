// Fuzz target: bytes from an SMSC's socket (messaging/smpp/pdu.hpp, udh.hpp,
// receipt.hpp). The input is a receive buffer: it is cut into frames the way
// the session layer does, and each frame is decoded. Nothing may crash, read
// out of bounds or hang, and what comes out is consistent:
//  * framing reports sizes within 16..kMaxPduSize and within the buffer,
//  * a PDU that decodes encodes again, and that encoding decodes to the same
//    PDU (and re-encodes to the same bytes),
//  * a PDU that does not decode has a non-zero status, and the reply built
//    for it encodes,
//  * the user data of submit_sm/deliver_sm splits into a consistent UDH /
//    sar_* concatenation, whose rebuilt UDH parses back the same,
//  * receipts parse without crashing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "messaging/smpp/pdu.hpp"
#include "messaging/smpp/receipt.hpp"
#include "messaging/smpp/udh.hpp"

namespace {

namespace smpp = rh::messaging::smpp;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void check_short_message(const smpp::ShortMessage& sm) {
  auto ud = smpp::user_data_of(sm);
  if (ud && ud->concat) {
    const smpp::Concat& c = *ud->concat;
    check(c.total >= 1 && c.seq >= 1 && c.seq <= c.total);
    auto udh = smpp::build_concat_udh(c);
    check(udh.ok());
    auto back = smpp::parse_udh(*udh + ud->payload);
    check(back.ok() && back->concat == c && back->payload == ud->payload);
  }
  if (auto report = smpp::delivery_report_of(sm)) {
    check(!report->message_id.empty());
    check(!smpp::message_id_keys(report->message_id).empty());
    if (report->state) (void)smpp::delivery_status(*report->state);
  }
}

void check_frame(std::string_view frame) {
  auto pdu = smpp::decode(frame);
  if (!pdu) {
    check(pdu.error().status != smpp::CommandStatus::ESME_ROK);
    check(!pdu.error().message.empty());
    if (auto reply = smpp::error_reply(pdu.error())) check(smpp::encode(*reply).ok());
    return;
  }
  auto bytes = smpp::encode(*pdu);
  check(bytes.ok());
  check(bytes->size() >= smpp::kHeaderSize && bytes->size() <= smpp::kMaxPduSize);
  auto again = smpp::decode(*bytes);
  check(again.ok() && *again == *pdu);
  auto bytes2 = smpp::encode(*again);
  check(bytes2.ok() && *bytes2 == *bytes);
  if (const auto* sm = pdu->body_as<smpp::ShortMessage>()) check_short_message(*sm);
  if (auto resp_id = smpp::response_id(pdu->command_id)) {
    smpp::Pdu resp = smpp::make_response(*pdu, smpp::CommandStatus::ESME_RSYSERR);
    check(resp.command_id == *resp_id && smpp::encode(resp).ok());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view buffer(reinterpret_cast<const char*>(data), size);

  // The input as one frame, whatever its framing says.
  check_frame(buffer);

  // The input as a stream.
  std::string_view rest = buffer;
  while (true) {
    smpp::Frame f = smpp::next_frame(rest);
    if (f.status == smpp::FrameStatus::corrupt) {
      check(f.command_length < smpp::kHeaderSize || f.command_length > smpp::kMaxPduSize);
      break;
    }
    if (f.status == smpp::FrameStatus::need_more) {
      check(f.size > rest.size() && f.size >= smpp::kHeaderSize);
      break;
    }
    check(f.size >= smpp::kHeaderSize && f.size <= rest.size() && f.size <= smpp::kMaxPduSize);
    check_frame(rest.substr(0, f.size));
    rest.remove_prefix(f.size);
  }

  // The input as user data and as receipt text.
  if (auto ud = smpp::parse_udh(buffer)) {
    check(ud->udh_length >= 1 && ud->udh_length <= size);
    check(ud->payload.size() == size - ud->udh_length);
  }
  if (auto r = smpp::parse_receipt(buffer)) (void)smpp::message_id_keys(r->id);
  return 0;
}
