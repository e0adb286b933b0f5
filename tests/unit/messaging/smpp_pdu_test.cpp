// The SMPP 3.4 PDU codec: byte-exact encodings written by hand from the
// spec's layouts, round trips of every PDU type, every kind of malformed
// input with the status an ESME answers it with, stream framing, and the
// retry/permanent verdict on submit_sm_resp statuses (contracts/smpp.md).
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "messaging/smpp/pdu.hpp"

namespace rh::messaging::smpp {
namespace {

using S = CommandStatus;

// Hex to bytes; blanks and other non-hex characters are ignored.
std::string unhex(std::string_view h) {
  std::string out;
  int hi = -1;
  for (char c : h) {
    int v = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (v < 0) continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<char>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

std::string hex(std::string_view b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : b) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(kDigits[u >> 4]);
    out.push_back(kDigits[u & 15]);
  }
  return out;
}

std::string encoded(const Pdu& p) {
  auto r = encode(p);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : std::string();
}

// Decodes hex expected to fail; returns the error. Unless the test is about
// it, the hex must not fail merely because command_length is miscounted.
PduError decode_error(std::string_view h, bool length_mismatch_expected = false) {
  auto r = decode(unhex(h));
  EXPECT_FALSE(r.ok()) << "decoded: " << (r.ok() ? command_name(r->command_id) : "");
  if (r.ok()) return PduError{};
  if (!length_mismatch_expected) {
    EXPECT_EQ(r.error().message.find("disagrees"), std::string::npos) << r.error().message;
  }
  return r.error();
}

ShortMessage sample_submit() {
  ShortMessage m;
  m.source = {kTonInternational, kNpiIsdn, "14155550100"};
  m.dest = {kTonInternational, kNpiIsdn, "447700900123"};
  m.registered_delivery = kRegisteredDeliveryFinal;
  m.short_message = "Hello";
  return m;
}

// --- Byte-exact encodings ----------------------------------------------------

TEST(SmppPdu, EnquireLinkIsAHeaderAlone) {
  Pdu p{CommandId::enquire_link, S::ESME_ROK, 1, {}};
  EXPECT_EQ(hex(encoded(p)), hex(unhex("00000010 00000015 00000000 00000001")));
  auto d = decode(unhex("00000010 00000015 00000000 00000001"));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(*d, p);
  EXPECT_EQ(hex(encoded(make_response(p))), hex(unhex("00000010 80000015 00000000 00000001")));
}

TEST(SmppPdu, BindTransceiverBytes) {
  Bind b;
  b.system_id = "smppclient1";
  b.password = "password";
  Pdu p{CommandId::bind_transceiver, S::ESME_ROK, 1, b};
  // 16 header + "smppclient1\0" 12 + "password\0" 9 + system_type "\0" 1 +
  // interface_version 1 + addr_ton 1 + addr_npi 1 + address_range "\0" 1 = 42.
  const std::string want = unhex(
      "0000002A 00000009 00000000 00000001"
      "736D7070636C69656E743100"  // system_id
      "70617373776F726400"        // password
      "00"                        // system_type
      "34"                        // interface_version 3.4
      "00 00 00");                // addr_ton, addr_npi, address_range
  EXPECT_EQ(hex(encoded(p)), hex(want));
  auto d = decode(want);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(*d, p);
  EXPECT_EQ(d->body_as<Bind>()->system_id, "smppclient1");
  EXPECT_EQ(d->body_as<Bind>()->interface_version, 0x34);
}

TEST(SmppPdu, BindTransceiverRespWithScInterfaceVersion) {
  const std::string bytes = unhex(
      "0000001A 80000009 00000000 00000001"
      "534D534300"      // system_id "SMSC"
      "0210 0001 34");  // sc_interface_version 3.4
  auto d = decode(bytes);
  ASSERT_TRUE(d.ok()) << d.error().message;
  const BindResp* r = d->body_as<BindResp>();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->system_id, "SMSC");
  EXPECT_EQ(r->tlvs.sc_interface_version(), 0x34);
  EXPECT_EQ(hex(encoded(*d)), hex(bytes));
}

TEST(SmppPdu, SubmitSmWithTlvsBytes) {
  ShortMessage m = sample_submit();
  m.tlvs.set_sar(42, 2, 1);
  m.tlvs.set_u16(kTagUserMessageReference, 7);
  Pdu p{CommandId::submit_sm, S::ESME_ROK, 2, m};
  const std::string want = unhex(
      "00000053 00000004 00000000 00000002"
      "00"                                // service_type ""
      "01 01 313431353535353031303000"    // source 1/1 "14155550100"
      "01 01 34343737303039303031323300"  // dest 1/1 "447700900123"
      "00 00 00"                          // esm_class, protocol_id, priority_flag
      "00 00"                             // schedule_delivery_time, validity_period
      "01 00 00 00"       // registered_delivery, replace_if_present, data_coding, sm_default_msg_id
      "05 48656C6C6F"     // sm_length 5, "Hello"
      "020C 0002 002A"    // sar_msg_ref_num 42
      "020E 0001 02"      // sar_total_segments 2
      "020F 0001 01"      // sar_segment_seqnum 1
      "0204 0002 0007");  // user_message_reference 7
  EXPECT_EQ(hex(encoded(p)), hex(want));
  auto d = decode(want);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(*d, p);
  const ShortMessage* got = d->body_as<ShortMessage>();
  EXPECT_EQ(got->tlvs.sar_msg_ref_num(), 42);
  EXPECT_EQ(got->tlvs.sar_total_segments(), 2);
  EXPECT_EQ(got->tlvs.sar_segment_seqnum(), 1);
  EXPECT_EQ(got->tlvs.user_message_reference(), 7);
  EXPECT_EQ(got->dest.addr, "447700900123");
}

TEST(SmppPdu, SubmitSmRespBytes) {
  Pdu p{CommandId::submit_sm_resp, S::ESME_ROK, 2, MessageIdResp{"abc123", {}}};
  EXPECT_EQ(hex(encoded(p)), hex(unhex("00000017 80000004 00000000 00000002 61626331323300")));
}

TEST(SmppPdu, SubmitSmRespWithErrorMayHaveNoBody) {
  auto d = decode(unhex("00000010 80000004 00000058 00000003"));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->command_status, S::ESME_RTHROTTLED);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(d->body));
  EXPECT_EQ(hex(encoded(*d)),
            "000000108000000400000058"
            "00000003");
  // With a body that does not parse, the status still comes through.
  auto junk = decode(unhex("00000013 80000004 00000045 00000004 414243"));
  ASSERT_TRUE(junk.ok()) << junk.error().message;
  EXPECT_EQ(junk->command_status, S::ESME_RSUBMITFAIL);
  // With status 0 the message_id is required.
  EXPECT_EQ(decode_error("00000010 80000004 00000000 00000003").status, S::ESME_RINVCMDLEN);
}

TEST(SmppPdu, DeliverSmReceiptDecodes) {
  const std::string text = "id:1234 stat:DELIVRD";
  std::string sm = unhex(
      "00"                                 // service_type
      "01 01 343437373030393030313233 00"  // source: the handset
      "01 01 3134313535353530313030 00"    // dest: us
      "04 00 00"                           // esm_class: SMSC delivery receipt
      "00 00"                              // schedule, validity: unused
      "00 00 00 00");                      // registered_delivery, replace, data_coding, default id
  sm.push_back(static_cast<char>(text.size()));
  sm += text;
  sm += unhex("001E 0005 3132333400 0427 0001 02");  // receipted_message_id "1234", DELIVERED
  std::string header = unhex("00000000 00000005 00000000 0000000A");
  std::string pdu = header + sm;
  pdu[3] = static_cast<char>(pdu.size());
  auto d = decode(pdu);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->command_id, CommandId::deliver_sm);
  const ShortMessage* m = d->body_as<ShortMessage>();
  EXPECT_EQ(m->esm_class, kEsmTypeDeliveryReceipt);
  EXPECT_EQ(m->short_message, text);
  EXPECT_EQ(m->tlvs.receipted_message_id(), "1234");
  EXPECT_EQ(m->tlvs.message_state(), 2);
  // deliver_sm_resp: message_id unused, a single NUL.
  Pdu resp = make_response(*d, S::ESME_ROK, MessageIdResp{});
  EXPECT_EQ(hex(encoded(resp)), hex(unhex("00000011 80000005 00000000 0000000A 00")));
}

TEST(SmppPdu, GenericNackAndUnbindBytes) {
  EXPECT_EQ(hex(encoded({CommandId::generic_nack, S::ESME_RINVCMDID, 5, {}})),
            hex(unhex("00000010 80000000 00000003 00000005")));
  EXPECT_EQ(hex(encoded({CommandId::unbind, S::ESME_ROK, 9, {}})),
            hex(unhex("00000010 00000006 00000000 00000009")));
  EXPECT_EQ(hex(encoded({CommandId::unbind_resp, S::ESME_ROK, 9, {}})),
            hex(unhex("00000010 80000006 00000000 00000009")));
}

TEST(SmppPdu, AlertNotificationDecodes) {
  const std::string bytes = unhex(
      "00000026 00000102 00000000 00000007"
      "01 01 3434373730303900"  // source 1/1 "4477009"
      "00 00 7273687300"        // esme_addr "rshs"
      "0422 0001 00");          // ms_availability_status: available
  auto d = decode(bytes);
  ASSERT_TRUE(d.ok()) << d.error().message;
  const AlertNotification* a = d->body_as<AlertNotification>();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->source.addr, "4477009");
  EXPECT_EQ(a->esme.addr, "rshs");
  EXPECT_EQ(a->tlvs.u8(kTagMsAvailabilityStatus), 0);
  EXPECT_EQ(hex(encoded(*d)), hex(bytes));
  EXPECT_FALSE(response_id(CommandId::alert_notification).has_value());
}

// --- Round trips ----------------------------------------------------------------

TEST(SmppPdu, EveryPduTypeRoundTrips) {
  Bind bind{"sysid", "secret", "VMA", kInterfaceVersion, {kTonInternational, kNpiIsdn, "^1415"}};
  BindResp bind_resp{"SMSC", {}};
  bind_resp.tlvs.set_u8(kTagScInterfaceVersion, 0x34);
  ShortMessage submit = sample_submit();
  submit.service_type = "CMT";
  submit.schedule_delivery_time = "230131120000000+";
  submit.validity_period = "000001000000000R";
  submit.esm_class = kEsmUdhi;
  submit.data_coding = 8;
  submit.short_message = std::string("\x05\x00\x03\x2A\x02\x01\x00H\x00i", 10);
  ShortMessage payload = sample_submit();
  payload.short_message.clear();
  payload.tlvs.set_message_payload(std::string(3000, 'x'));
  ShortMessage deliver = sample_submit();
  deliver.esm_class = kEsmTypeDeliveryReceipt;
  deliver.tlvs.set_receipted_message_id("0A1B2C");
  deliver.tlvs.set_u8(kTagMessageState, 5);
  deliver.tlvs.set_network_error_code({3, 0x0102});
  deliver.tlvs.set(0x1403, "vendor");  // unknown tags are kept
  DataSm data{"WAP", {1, 1, "14155550100"}, {1, 1, "447700900123"}, 0, 1, 4, {}};
  data.tlvs.set_message_payload("payload");
  MessageIdResp data_resp{"d1", {}};
  data_resp.tlvs.set_network_error_code({1, 7});
  AlertNotification alert{{1, 1, "447700900123"}, {0, 0, "esme"}, {}};

  const Pdu pdus[] = {
      {CommandId::bind_receiver, S::ESME_ROK, 1, bind},
      {CommandId::bind_transmitter, S::ESME_ROK, 2, bind},
      {CommandId::bind_transceiver, S::ESME_ROK, 3, bind},
      {CommandId::bind_receiver_resp, S::ESME_ROK, 1, bind_resp},
      {CommandId::bind_transmitter_resp, S::ESME_ROK, 2, BindResp{"SMSC", {}}},
      {CommandId::bind_transceiver_resp, S::ESME_RINVPASWD, 3, {}},
      {CommandId::unbind, S::ESME_ROK, 4, {}},
      {CommandId::unbind_resp, S::ESME_ROK, 4, {}},
      {CommandId::enquire_link, S::ESME_ROK, 0x7FFFFFFF, {}},
      {CommandId::enquire_link_resp, S::ESME_ROK, 0x7FFFFFFF, {}},
      {CommandId::generic_nack, S::ESME_RINVCMDLEN, 6, {}},
      {CommandId::submit_sm, S::ESME_ROK, 7, submit},
      {CommandId::submit_sm, S::ESME_ROK, 8, payload},
      {CommandId::submit_sm_resp, S::ESME_ROK, 7, MessageIdResp{std::string(64, 'f'), {}}},
      {CommandId::submit_sm_resp, S::ESME_RTHROTTLED, 8, {}},
      {CommandId::deliver_sm, S::ESME_ROK, 9, deliver},
      {CommandId::deliver_sm_resp, S::ESME_ROK, 9, MessageIdResp{}},
      {CommandId::outbind, S::ESME_ROK, 10, Outbind{"SMSC", "pw"}},
      {CommandId::alert_notification, S::ESME_ROK, 11, alert},
      {CommandId::data_sm, S::ESME_ROK, 12, data},
      {CommandId::data_sm_resp, S::ESME_ROK, 12, data_resp},
  };
  for (const Pdu& p : pdus) {
    SCOPED_TRACE(command_name(p.command_id));
    std::string bytes = encoded(p);
    Frame f = next_frame(bytes);
    EXPECT_EQ(f.status, FrameStatus::complete);
    EXPECT_EQ(f.size, bytes.size());
    auto d = decode(bytes);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(*d, p);
  }
}

TEST(SmppPdu, DeliverSmRespWithoutBodyIsAccepted) {
  auto d = decode(unhex("00000010 80000005 00000000 00000001"));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->body_as<MessageIdResp>()->message_id, "");
}

TEST(SmppPdu, MaximumFieldSizesAreAccepted) {
  Bind b{std::string(15, 's'),
         std::string(8, 'p'),
         std::string(12, 't'),
         0x34,
         {0, 0, std::string(40, 'r')}};
  Pdu p{CommandId::bind_transmitter, S::ESME_ROK, 1, b};
  auto d = decode(encoded(p));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(*d, p);
  ShortMessage m = sample_submit();
  m.source.addr = std::string(20, '1');
  m.dest.addr = std::string(20, '2');
  m.short_message = std::string(254, 'x');
  Pdu s{CommandId::submit_sm, S::ESME_ROK, 2, m};
  auto ds = decode(encoded(s));
  ASSERT_TRUE(ds.ok()) << ds.error().message;
  EXPECT_EQ(*ds, s);
}

// --- Malformed input -------------------------------------------------------------

TEST(SmppPdu, ShortHeaderIsRejected) {
  auto r = decode(unhex("00000010 00000015 0000"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, S::ESME_RINVCMDLEN);
  EXPECT_FALSE(r.error().header.has_value());
  auto reply = error_reply(r.error());
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->command_id, CommandId::generic_nack);
  EXPECT_EQ(reply->sequence_number, 0u);
  EXPECT_FALSE(decode("").ok());
}

TEST(SmppPdu, CommandLengthOutOfRangeIsRejected) {
  PduError small = decode_error("0000000F 00000015 00000000 00000001");
  EXPECT_EQ(small.status, S::ESME_RINVCMDLEN);
  ASSERT_TRUE(small.header.has_value());
  EXPECT_EQ(small.header->sequence_number, 1u);
  auto reply = error_reply(small);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->command_id, CommandId::generic_nack);
  EXPECT_EQ(reply->command_status, S::ESME_RINVCMDLEN);
  EXPECT_EQ(reply->sequence_number, 1u);

  std::string big = unhex("00010001 00000004 00000000 00000002");
  big.resize(0x10001, '\0');
  auto r = decode(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, S::ESME_RINVCMDLEN);
}

TEST(SmppPdu, LengthDisagreeingWithTheBodyIsRejected) {
  // The frame holds more (or fewer) octets than command_length says.
  EXPECT_EQ(decode_error("00000010 00000015 00000000 00000001 00", true).status,
            S::ESME_RINVCMDLEN);
  EXPECT_EQ(decode_error("00000014 00000015 00000000 00000001 0000", true).status,
            S::ESME_RINVCMDLEN);
  // An enquire_link has no body.
  EXPECT_EQ(decode_error("00000011 00000015 00000000 00000001 00").status, S::ESME_RINVCMDLEN);
  // A bind has no TLVs: octets after address_range.
  EXPECT_EQ(decode_error("00000018 00000002 00000000 00000001 00 00 00 34 00 00 00 FF").status,
            S::ESME_RINVCMDLEN);
  // A bind cut off before addr_npi.
  PduError cut = decode_error("00000014 00000002 00000000 00000001 00 00 00 34");
  EXPECT_EQ(cut.status, S::ESME_RINVCMDLEN);
  EXPECT_NE(cut.message.find("addr_ton"), std::string::npos) << cut.message;
  // A submit_sm cut off in its mandatory part.
  EXPECT_EQ(decode_error("00000015 00000004 00000000 00000001 00 01 01 31 00").status,
            S::ESME_RINVCMDLEN);
}

TEST(SmppPdu, COctetStringsNeedTheirNulWithinTheirSize) {
  // password runs to the end of the PDU without its NUL.
  PduError no_nul = decode_error("00000018 00000009 00000000 00000001 616200 7077 6F7264");
  EXPECT_EQ(no_nul.status, S::ESME_RINVCMDLEN);
  EXPECT_NE(no_nul.message.find("password"), std::string::npos) << no_nul.message;
  // system_id of 16 characters: no NUL within its 16 octets.
  std::string sys = hex(std::string(16, 'a'));
  PduError long_id =
      decode_error("00000027 00000009 00000000 00000001" + sys + "00 00 00 34 00 00 00");
  EXPECT_EQ(long_id.status, S::ESME_RINVSYSID);
  // password of 9 characters.
  PduError long_pw = decode_error("00000020 00000009 00000000 00000001 00" +
                                  hex(std::string(9, 'p')) + "00 00 34 00 00 00");
  EXPECT_EQ(long_pw.status, S::ESME_RINVPASWD);
  // source_addr of 21 digits in a submit_sm.
  std::string src = hex(std::string(21, '1'));
  PduError long_src = decode_error("00000037 00000004 00000000 00000001 00 01 01" + src +
                                   "00 01 01 3200 000000 0000 00000000 00");
  EXPECT_EQ(long_src.status, S::ESME_RINVSRCADR);
  auto reply = error_reply(long_src);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->command_id, CommandId::submit_sm_resp);
  EXPECT_EQ(reply->command_status, S::ESME_RINVSRCADR);
  EXPECT_EQ(reply->sequence_number, 1u);
  // destination_addr of 21 digits.
  PduError long_dst = decode_error("00000037 00000004 00000000 00000001 00 01 01 3100 01 01" + src +
                                   "00 000000 0000 00000000 00");
  EXPECT_EQ(long_dst.status, S::ESME_RINVDSTADR);
  // message_id of 65 characters in a submit_sm_resp.
  PduError long_msgid =
      decode_error("00000052 80000004 00000000 00000001" + hex(std::string(65, 'f')) + "00");
  EXPECT_EQ(long_msgid.status, S::ESME_RINVMSGID);
}

TEST(SmppPdu, TimeFieldsAreEmptyOrSixteenCharacters) {
  PduError e = decode_error(
      "00000027 00000004 00000000 00000001 00 01 01 3100 01 01 3200 000000"
      "3233303100"  // schedule_delivery_time "2301"
      "00 00000000 00");
  EXPECT_EQ(e.status, S::ESME_RINVSCHED);
  ShortMessage m = sample_submit();
  m.validity_period = "12345";
  auto r = encode({CommandId::submit_sm, S::ESME_ROK, 1, m});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, S::ESME_RINVEXPIRY);
}

TEST(SmppPdu, SmLengthMustFitThePdu) {
  // sm_length 5 with 2 octets left.
  PduError past = decode_error(
      "00000025 00000004 00000000 00000001 00 01 01 3100 01 01 3200 000000 0000 00000000"
      "05 4142");
  EXPECT_EQ(past.status, S::ESME_RINVMSGLEN);
  // sm_length 255 (the maximum is 254).
  std::string body =
      "00 01 01 3100 01 01 3200 000000 0000 00000000 FF" + hex(std::string(255, 'x'));
  std::string pdu = unhex("00000000 00000004 00000000 00000001" + body);
  pdu[2] = static_cast<char>(pdu.size() >> 8);
  pdu[3] = static_cast<char>(pdu.size());
  auto r = decode(pdu);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, S::ESME_RINVMSGLEN);
}

TEST(SmppPdu, ShortMessageAndMessagePayloadAreExclusive) {
  PduError both = decode_error(
      "0000002B 00000004 00000000 00000001 00 01 01 3100 01 01 3200 000000 0000 00000000"
      "02 4142 0424 0002 4344");
  EXPECT_EQ(both.status, S::ESME_RINVMSGLEN);
  ShortMessage m = sample_submit();
  m.tlvs.set_message_payload("long text");
  EXPECT_FALSE(encode({CommandId::submit_sm, S::ESME_ROK, 1, m}).ok());
}

TEST(SmppPdu, TlvsMustFitAndKnownOnesHaveTheirLength) {
  const std::string head = "00 01 01 3100 01 01 3200 000000 0000 00000000 00";
  auto submit = [&head](std::string tlvs) {
    std::string pdu = unhex("00000000 00000004 00000000 00000001" + head + tlvs);
    pdu[3] = static_cast<char>(pdu.size());
    return decode(pdu);
  };
  // A TLV whose length runs past the PDU.
  auto overrun = submit("1403 0005 4142");
  ASSERT_FALSE(overrun.ok());
  EXPECT_EQ(overrun.error().status, S::ESME_RINVOPTPARSTREAM);
  // Stray octets too few for a TLV header.
  auto stray = submit("0204 00");
  ASSERT_FALSE(stray.ok());
  EXPECT_EQ(stray.error().status, S::ESME_RINVOPTPARSTREAM);
  // Known TLVs with the wrong length.
  for (std::string bad : {"020E 0002 0001", "020C 0001 01", "0423 0002 0300", "0427 0000",
                          "0204 0003 000001", "001E 0000"}) {
    SCOPED_TRACE(bad);
    auto r = submit(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().status, S::ESME_RINVPARLEN);
  }
  // receipted_message_id with a NUL inside.
  auto inner_nul = submit("001E 0004 41004200");
  ASSERT_FALSE(inner_nul.ok());
  // Unknown TLVs of any length are kept, and so is an empty one.
  auto ok = submit("1403 0003 414243 1500 0000");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  const auto& items = ok->body_as<ShortMessage>()->tlvs.items;
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0], (Tlv{0x1403, "ABC"}));
  EXPECT_EQ(items[1], (Tlv{0x1500, ""}));
  // receipted_message_id without its NUL, as some SMSCs send it.
  auto lax = submit("001E 0003 414243");
  ASSERT_TRUE(lax.ok()) << lax.error().message;
  EXPECT_EQ(lax->body_as<ShortMessage>()->tlvs.receipted_message_id(), "ABC");
}

TEST(SmppPdu, UnknownCommandIdIsAnsweredWithGenericNack) {
  // query_sm (0x00000003) is not something an SMSC sends an ESME.
  PduError e = decode_error("00000010 00000003 00000000 0000002A");
  EXPECT_EQ(e.status, S::ESME_RINVCMDID);
  auto reply = error_reply(e);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(hex(encoded(*reply)), hex(unhex("00000010 80000000 00000003 0000002A")));
  // A broken generic_nack is never answered.
  PduError nack = decode_error("00000011 80000000 00000000 00000001 00");
  EXPECT_FALSE(error_reply(nack).has_value());
}

TEST(SmppPdu, ErrorReplyToADeliverSmIsADeliverSmResp) {
  PduError e = decode_error("00000013 00000005 00000000 00000063 00 01 01");
  auto reply = error_reply(e);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(hex(encoded(*reply)), hex(unhex("00000011 80000005 00000002 00000063 00")));
}

TEST(SmppPdu, EncodeRefusesWhatCannotGoOnTheWire) {
  auto status_of = [](const Pdu& p) {
    auto r = encode(p);
    return r.ok() ? S::ESME_ROK : r.error().status;
  };
  Bind b;
  b.system_id = std::string(16, 'a');
  EXPECT_EQ(status_of({CommandId::bind_transceiver, S::ESME_ROK, 1, b}), S::ESME_RINVSYSID);
  b.system_id = "ok";
  b.password = std::string("pa\0ss", 5);
  EXPECT_EQ(status_of({CommandId::bind_transceiver, S::ESME_ROK, 1, b}), S::ESME_RINVPASWD);
  ShortMessage m = sample_submit();
  m.short_message = std::string(255, 'x');
  EXPECT_EQ(status_of({CommandId::submit_sm, S::ESME_ROK, 1, m}), S::ESME_RINVMSGLEN);
  m = sample_submit();
  m.tlvs.set(kTagSarTotalSegments, "ab");
  EXPECT_EQ(status_of({CommandId::submit_sm, S::ESME_ROK, 1, m}), S::ESME_RINVPARLEN);
  m = sample_submit();
  m.short_message.clear();
  m.tlvs.set_message_payload(std::string(70000, 'x'));
  EXPECT_EQ(status_of({CommandId::submit_sm, S::ESME_ROK, 1, m}), S::ESME_RINVPARLEN);
  // A body that does not belong to the command.
  EXPECT_EQ(status_of({CommandId::enquire_link, S::ESME_ROK, 1, sample_submit()}), S::ESME_RSYSERR);
  EXPECT_EQ(status_of({CommandId::submit_sm, S::ESME_ROK, 1, {}}), S::ESME_RSYSERR);
  EXPECT_EQ(status_of({static_cast<CommandId>(0x21), S::ESME_ROK, 1, {}}), S::ESME_RINVCMDID);
}

TEST(SmppPdu, TlvListSettersReplace) {
  TlvList t;
  t.set_u8(kTagMessageState, 1);
  t.set_u8(kTagMessageState, 2);
  EXPECT_EQ(t.items.size(), 1u);
  EXPECT_EQ(t.message_state(), 2);
  t.set_network_error_code({3, 0xABCD});
  EXPECT_EQ(t.network_error_code(), (NetworkErrorCode{3, 0xABCD}));
  EXPECT_EQ(t.find(kTagNetworkErrorCode)->value, unhex("03ABCD"));
  t.set_receipted_message_id("x1");
  EXPECT_EQ(t.find(kTagReceiptedMessageId)->value, std::string("x1\0", 3));
  t.erase(kTagMessageState);
  EXPECT_FALSE(t.message_state().has_value());
  // A hand-built TLV of the wrong size reads as absent.
  t.set(kTagSarMsgRefNum, "x");
  EXPECT_FALSE(t.sar_msg_ref_num().has_value());
}

// --- Framing ---------------------------------------------------------------------

TEST(SmppFraming, PartialMultipleAndCorruptBuffers) {
  const std::string enquire = unhex("00000010 00000015 00000000 00000001");
  Bind b{"smppclient1", "password", "", 0x34, {}};
  const std::string bind = encoded({CommandId::bind_transceiver, S::ESME_ROK, 2, b});

  Frame f = next_frame("");
  EXPECT_EQ(f.status, FrameStatus::need_more);
  EXPECT_EQ(f.size, kHeaderSize);
  f = next_frame(enquire.substr(0, 3));
  EXPECT_EQ(f.status, FrameStatus::need_more);
  EXPECT_EQ(f.size, kHeaderSize);
  f = next_frame(bind.substr(0, 10));  // command_length known, body not there yet
  EXPECT_EQ(f.status, FrameStatus::need_more);
  EXPECT_EQ(f.size, 42u);

  // Two PDUs and the start of a third in one read.
  std::string buffer = enquire + bind + enquire.substr(0, 7);
  f = next_frame(buffer);
  ASSERT_EQ(f.status, FrameStatus::complete);
  ASSERT_EQ(f.size, 16u);
  EXPECT_TRUE(decode(std::string_view(buffer).substr(0, f.size)).ok());
  buffer.erase(0, f.size);
  f = next_frame(buffer);
  ASSERT_EQ(f.status, FrameStatus::complete);
  ASSERT_EQ(f.size, 42u);
  auto d = decode(std::string_view(buffer).substr(0, f.size));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->body_as<Bind>()->system_id, "smppclient1");
  buffer.erase(0, f.size);
  EXPECT_EQ(next_frame(buffer).status, FrameStatus::need_more);

  // Garbage: lengths out of range.
  f = next_frame(unhex("48545450"));  // "HTTP"
  EXPECT_EQ(f.status, FrameStatus::corrupt);
  EXPECT_EQ(f.command_length, 0x48545450u);
  EXPECT_EQ(next_frame(unhex("0000000F")).status, FrameStatus::corrupt);
  EXPECT_EQ(next_frame(unhex("00000000")).status, FrameStatus::corrupt);
  EXPECT_EQ(next_frame(unhex("00010001")).status, FrameStatus::corrupt);
  EXPECT_EQ(next_frame(unhex("00010000")).status, FrameStatus::need_more);  // 64 KiB: allowed
  EXPECT_EQ(next_frame(unhex("00000100"), 128).status, FrameStatus::corrupt);
}

// --- Commands and statuses -----------------------------------------------------------

TEST(SmppStatus, NamesAndResponses) {
  EXPECT_STREQ(status_name(S::ESME_RTHROTTLED), "ESME_RTHROTTLED");
  EXPECT_STREQ(status_name(S::ESME_RX_R_APPN), "ESME_RX_R_APPN");
  EXPECT_STREQ(status_name(static_cast<S>(0x401)), "");
  EXPECT_EQ(describe_status(S::ESME_RMSGQFUL), "0x00000014 ESME_RMSGQFUL (message queue full)");
  EXPECT_EQ(describe_status(static_cast<S>(0x401)), "0x00000401 (vendor-specific)");
  EXPECT_EQ(static_cast<std::uint32_t>(S::ESME_RINVSCHED), 0x61u);
  EXPECT_EQ(static_cast<std::uint32_t>(S::ESME_RX_T_APPN), 0x64u);
  EXPECT_EQ(response_id(CommandId::submit_sm), CommandId::submit_sm_resp);
  EXPECT_EQ(response_id(CommandId::bind_transceiver), CommandId::bind_transceiver_resp);
  EXPECT_EQ(response_id(CommandId::enquire_link), CommandId::enquire_link_resp);
  EXPECT_FALSE(response_id(CommandId::submit_sm_resp).has_value());
  EXPECT_FALSE(response_id(CommandId::outbind).has_value());
  EXPECT_TRUE(is_response(CommandId::generic_nack));
  EXPECT_FALSE(is_known(static_cast<CommandId>(0x00000003)));
  EXPECT_STREQ(command_name(CommandId::deliver_sm_resp), "deliver_sm_resp");
}

TEST(SmppStatus, SubmitRespStatusesFollowTheContractTable) {
  using std::chrono::seconds;
  EXPECT_EQ(classify_submit_status(S::ESME_ROK).action, SubmitAction::ok);
  EXPECT_EQ(classify_submit_status(S::ESME_RTHROTTLED),
            (SubmitVerdict{SubmitAction::retry, seconds(30), 20, true}));
  EXPECT_EQ(classify_submit_status(S::ESME_RMSGQFUL),
            (SubmitVerdict{SubmitAction::retry, seconds(180), 2, false}));
  EXPECT_EQ(classify_submit_status(S::ESME_RSYSERR),
            (SubmitVerdict{SubmitAction::retry, seconds(30), 2, false}));
  EXPECT_EQ(classify_submit_status(S::ESME_RINVSCHED),
            (SubmitVerdict{SubmitAction::retry, seconds(300), 2, false}));
  EXPECT_EQ(classify_submit_status(S::ESME_RX_T_APPN).action, SubmitAction::retry);
  EXPECT_GT(classify_submit_status(S::ESME_RX_T_APPN).pause, seconds(0));
  for (S s : {S::ESME_RINVDSTADR, S::ESME_RX_P_APPN, S::ESME_RX_R_APPN, S::ESME_RSUBMITFAIL,
              S::ESME_RINVSRCADR, S::ESME_RINVMSGLEN, S::ESME_RUNKNOWNERR, static_cast<S>(0x400)}) {
    SCOPED_TRACE(describe_status(s));
    EXPECT_EQ(classify_submit_status(s).action, SubmitAction::permanent);
  }
}

}  // namespace
}  // namespace rh::messaging::smpp
