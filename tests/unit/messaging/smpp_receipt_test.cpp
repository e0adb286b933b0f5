// Delivery receipts as carriers actually write them, the message_state TLV,
// and what each state means for our message status.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "messaging/smpp/receipt.hpp"

namespace rh::messaging::smpp {
namespace {

TEST(SmppReceipt, TextInTheSpecsOwnFormat) {
  auto r = parse_receipt(
      "id:0123456789 sub:001 dlvrd:001 submit date:2301311200 done date:2301311201 "
      "stat:DELIVRD err:000 text:Hello world, this i");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->id, "0123456789");
  EXPECT_EQ(r->submitted, 1);
  EXPECT_EQ(r->delivered, 1);
  EXPECT_EQ(r->submit_date, (ReceiptTime{2023, 1, 31, 12, 0, 0}));
  EXPECT_EQ(r->done_date, (ReceiptTime{2023, 1, 31, 12, 1, 0}));
  EXPECT_EQ(r->stat, "DELIVRD");
  EXPECT_EQ(r->state, MessageState::delivered);
  EXPECT_EQ(r->err, "000");
  EXPECT_EQ(r->text, "Hello world, this i");
  EXPECT_EQ(r->fields.size(), 8u);
}

TEST(SmppReceipt, HexIdsSecondsAndCapitalisedText) {
  // Hex id, dates with seconds, "Text:" capitalised.
  auto r = parse_receipt(
      "id:7F3A2B1C9D sub:001 dlvrd:001 submit date:230131120005 done date:230131120107 "
      "stat:DELIVRD err:0 Text:Hi");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->id, "7F3A2B1C9D");
  EXPECT_EQ(r->submit_date, (ReceiptTime{2023, 1, 31, 12, 0, 5}));
  EXPECT_EQ(r->done_date, (ReceiptTime{2023, 1, 31, 12, 1, 7}));
  EXPECT_EQ(r->err, "0");
  EXPECT_EQ(r->text, "Hi");
}

TEST(SmppReceipt, LongIdsMissingFieldsAndAnotherOrder) {
  auto r = parse_receipt(
      "id:c4a9f1e2-0a4b-4e7e-9d7a-1b2c3d4e5f60 stat:UNDELIV err:001 "
      "submit date:2301311200 done date:2301311230");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->id, "c4a9f1e2-0a4b-4e7e-9d7a-1b2c3d4e5f60");
  EXPECT_FALSE(r->submitted.has_value());
  EXPECT_FALSE(r->delivered.has_value());
  EXPECT_EQ(r->state, MessageState::undeliverable);
  EXPECT_EQ(r->err, "001");
  EXPECT_EQ(r->text, "");
  EXPECT_EQ(delivery_status(*r->state), DeliveryStatus::undelivered);
}

TEST(SmppReceipt, UpperCaseKeysAndUnderscores) {
  auto r = parse_receipt(
      "ID:12345678901234 SUB:001 DLVRD:000 SUBMIT_DATE:2302010930 DONE_DATE:2302011030 "
      "STAT:EXPIRED ERR:027 TEXT:");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->id, "12345678901234");
  EXPECT_EQ(r->delivered, 0);
  EXPECT_EQ(r->submit_date, (ReceiptTime{2023, 2, 1, 9, 30, 0}));
  EXPECT_EQ(r->done_date, (ReceiptTime{2023, 2, 1, 10, 30, 0}));
  EXPECT_EQ(r->state, MessageState::expired);
  EXPECT_EQ(r->err, "027");
}

TEST(SmppReceipt, SpelledOutStatsBlanksAfterColonsAndTextLast) {
  // Some carriers spell the state out and put a blank after a colon; the
  // message text may itself look like receipt fields.
  auto r = parse_receipt(
      "id: 42 sub:001 dlvrd:001 submit date:2301311200 done date:2301311200 "
      "stat:delivered err:000 text:stat:UNDELIV id:9");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->id, "42");
  EXPECT_EQ(r->state, MessageState::delivered);
  EXPECT_EQ(r->text, "stat:UNDELIV id:9");

  // An empty id followed by the next field keeps them apart.
  auto empty_id = parse_receipt("id: sub:001 stat:REJECTD");
  ASSERT_TRUE(empty_id.has_value());
  EXPECT_EQ(empty_id->id, "");
  EXPECT_EQ(empty_id->submitted, 1);
  EXPECT_EQ(empty_id->state, MessageState::rejected);
}

TEST(SmppReceipt, OddDatesAndUnknownStatsDoNotFailTheReceipt) {
  auto r = parse_receipt("id:1 submit date:2313311200 done date:23 stat:WEIRD err:x");
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->submit_date.has_value());  // month 13
  EXPECT_FALSE(r->done_date.has_value());
  EXPECT_EQ(r->stat, "WEIRD");
  EXPECT_FALSE(r->state.has_value());
  EXPECT_EQ(parse_receipt_time("20230131120005"), (ReceiptTime{2023, 1, 31, 12, 0, 5}));
  EXPECT_FALSE(parse_receipt_time("23013112a0").has_value());
}

TEST(SmppReceipt, OrdinaryTextIsNotAReceipt) {
  EXPECT_FALSE(parse_receipt("Hello there, see you at 10:30").has_value());
  EXPECT_FALSE(parse_receipt("").has_value());
  EXPECT_FALSE(parse_receipt(":::: : :").has_value());
}

TEST(SmppReceipt, EsmClassMessageTypeBits) {
  EXPECT_TRUE(is_delivery_receipt(0x04));
  EXPECT_TRUE(is_delivery_receipt(0x44));  // with UDHI
  EXPECT_TRUE(is_delivery_receipt(0x87));  // reply path and mode bits do not matter
  EXPECT_FALSE(is_delivery_receipt(0x00));
  EXPECT_FALSE(is_delivery_receipt(0x08));  // SME delivery acknowledgement
  EXPECT_FALSE(is_delivery_receipt(0x0C));
  EXPECT_FALSE(is_delivery_receipt(0x40));
  EXPECT_FALSE(is_delivery_receipt(0x24));
  EXPECT_TRUE(is_intermediate_notification(0x20));
  EXPECT_FALSE(is_intermediate_notification(0x04));
}

TEST(SmppReceipt, DeliveryReportPrefersTlvs) {
  ShortMessage sm;
  sm.esm_class = kEsmTypeDeliveryReceipt;
  sm.short_message =
      "id:6699 sub:001 dlvrd:000 submit date:2301311200 done date:2301311201 stat:UNDELIV "
      "err:001 text:";
  sm.tlvs.set_receipted_message_id("1a2b");
  sm.tlvs.set_u8(kTagMessageState, 5);
  sm.tlvs.set_network_error_code({3, 1});
  auto r = delivery_report_of(sm);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->message_id, "1a2b");
  EXPECT_EQ(r->state, MessageState::undeliverable);
  EXPECT_EQ(r->network_error, (NetworkErrorCode{3, 1}));
  ASSERT_TRUE(r->receipt.has_value());
  EXPECT_EQ(r->receipt->id, "6699");
  EXPECT_FALSE(r->intermediate);

  // TLVs only, no text.
  ShortMessage tlv_only;
  tlv_only.esm_class = kEsmTypeDeliveryReceipt;
  tlv_only.tlvs.set_receipted_message_id("abc");
  tlv_only.tlvs.set_u8(kTagMessageState, 2);
  r = delivery_report_of(tlv_only);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->message_id, "abc");
  EXPECT_EQ(r->state, MessageState::delivered);
  EXPECT_FALSE(r->receipt.has_value());

  // Text only, in message_payload.
  ShortMessage text_only;
  text_only.esm_class = kEsmTypeDeliveryReceipt;
  text_only.tlvs.set_message_payload("id:77 stat:ACCEPTD");
  r = delivery_report_of(text_only);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->message_id, "77");
  EXPECT_EQ(r->state, MessageState::accepted);

  // Not a receipt; a receipt naming no message.
  ShortMessage mo;
  mo.short_message = "id:1 stat:DELIVRD";
  EXPECT_FALSE(delivery_report_of(mo).has_value());
  ShortMessage anonymous;
  anonymous.esm_class = kEsmTypeDeliveryReceipt;
  anonymous.short_message = "stat:DELIVRD";
  EXPECT_FALSE(delivery_report_of(anonymous).has_value());
}

TEST(SmppReceipt, MessageStatesMapToOurStatuses) {
  EXPECT_EQ(message_state_from_tlv(1), MessageState::enroute);
  EXPECT_EQ(message_state_from_tlv(8), MessageState::rejected);
  EXPECT_EQ(message_state_from_tlv(9), MessageState::skipped);
  EXPECT_FALSE(message_state_from_tlv(10).has_value());

  struct Case {
    std::uint8_t tlv;
    const char* stat;
    DeliveryStatus status;
  };
  const Case cases[] = {
      {1, "ENROUTE", DeliveryStatus::sent},        {2, "DELIVRD", DeliveryStatus::delivered},
      {3, "EXPIRED", DeliveryStatus::undelivered}, {4, "DELETED", DeliveryStatus::failed},
      {5, "UNDELIV", DeliveryStatus::undelivered}, {6, "ACCEPTD", DeliveryStatus::sent},
      {7, "UNKNOWN", DeliveryStatus::undelivered}, {8, "REJECTD", DeliveryStatus::failed},
      {9, "SKIPPED", DeliveryStatus::failed},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.stat);
    auto from_tlv = message_state_from_tlv(c.tlv);
    ASSERT_TRUE(from_tlv.has_value());
    EXPECT_EQ(message_state_from_stat(c.stat), from_tlv);
    EXPECT_STREQ(stat_word(*from_tlv), c.stat);
    EXPECT_EQ(delivery_status(*from_tlv), c.status);
  }
  EXPECT_EQ(message_state_from_stat("Delivered"), MessageState::delivered);
  EXPECT_EQ(message_state_from_stat("undeliverable"), MessageState::undeliverable);
  EXPECT_EQ(message_state_from_stat("BUFFRED"), MessageState::enroute);
  EXPECT_FALSE(message_state_from_stat("DELIV").has_value());
  EXPECT_STREQ(delivery_status_name(DeliveryStatus::undelivered), "undelivered");
}

TEST(SmppReceipt, MessageIdKeysBridgeHexAndDecimal) {
  // submit_sm_resp said 7F3A2B1C9D (hex); the receipt says 546436750493.
  auto resp = message_id_keys("7F3A2B1C9D");
  auto receipt = message_id_keys("546436750493");
  EXPECT_EQ(resp.front(), "7f3a2b1c9d");
  EXPECT_EQ(receipt.front(), "546436750493");
  EXPECT_NE(std::find(receipt.begin(), receipt.end(), "7f3a2b1c9d"), receipt.end());
  EXPECT_NE(std::find(resp.begin(), resp.end(), "546436750493"), resp.end());
  EXPECT_EQ(message_id_keys(" 000A1 "), (std::vector<std::string>{"a1", "161"}));
  EXPECT_EQ(message_id_keys("0"), (std::vector<std::string>{"0"}));
  EXPECT_EQ(message_id_keys("msg-1"), (std::vector<std::string>{"msg-1"}));
  EXPECT_EQ(message_id_keys("99999999999999999999").size(), 1u);  // too big to convert
}

}  // namespace
}  // namespace rh::messaging::smpp
