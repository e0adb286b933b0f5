// User data headers: concatenation with 8- and 16-bit references, parsed and
// built byte for byte, inconsistent headers refused, and the same
// information taken from sar_* TLVs.
#include <gtest/gtest.h>

#include <string>

#include "messaging/smpp/udh.hpp"

namespace rh::messaging::smpp {
namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int v : b) s.push_back(static_cast<char>(v));
  return s;
}

TEST(SmppUdh, EightBitConcatenation) {
  auto r = parse_udh(bytes({0x05, 0x00, 0x03, 0x2A, 0x03, 0x01}) + "Hello");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->concat.has_value());
  EXPECT_EQ(*r->concat, (Concat{0x2A, 3, 1, false}));
  EXPECT_EQ(r->udh_length, 6u);
  EXPECT_EQ(r->payload, "Hello");
  ASSERT_EQ(r->elements.size(), 1u);
  EXPECT_EQ(r->elements[0], (InformationElement{0x00, bytes({0x2A, 0x03, 0x01})}));
}

TEST(SmppUdh, SixteenBitConcatenation) {
  auto r = parse_udh(bytes({0x06, 0x08, 0x04, 0x12, 0x34, 0x02, 0x02, 0x00, 0x41}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r->concat, (Concat{0x1234, 2, 2, true}));
  EXPECT_EQ(r->udh_length, 7u);
  EXPECT_EQ(r->payload, bytes({0x00, 0x41}));
}

TEST(SmppUdh, OtherElementsAreKeptAlongside) {
  // National language single shift (IEI 0x24, Turkish) then concatenation.
  auto r = parse_udh(bytes({0x08, 0x24, 0x01, 0x01, 0x00, 0x03, 0x07, 0x02, 0x02}) + "x");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->elements.size(), 2u);
  EXPECT_EQ(r->elements[0].iei, 0x24);
  EXPECT_EQ(*r->concat, (Concat{7, 2, 2, false}));
  EXPECT_EQ(r->payload, "x");
  // An empty UDH (UDHL 0) is legal.
  auto empty = parse_udh(bytes({0x00}) + "abc");
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_FALSE(empty->concat.has_value());
  EXPECT_EQ(empty->payload, "abc");
}

TEST(SmppUdh, InconsistentHeadersAreRefused) {
  const std::string bad[] = {
      "",                                           // no UDHL
      bytes({0x05, 0x00, 0x03, 0x01}),              // UDHL past the end
      bytes({0x05, 0x00, 0x03, 0x01, 0x02, 0x00}),  // seq 0
      bytes({0x05, 0x00, 0x03, 0x01, 0x02, 0x03}),  // seq > total
      bytes({0x05, 0x00, 0x03, 0x01, 0x00, 0x00}),  // total 0
      bytes({0x05, 0x00, 0x05, 0x01, 0x02, 0x01}),  // IE runs past the UDH
      bytes({0x04, 0x00, 0x02, 0x01, 0x02}),        // 8-bit IE of 2 octets
      bytes({0x05, 0x08, 0x03, 0x01, 0x02, 0x01}),  // 16-bit IE of 3 octets
      bytes({0x01, 0x00}),                          // IE header cut off
      bytes({0x0B, 0x00, 0x03, 0x01, 0x02, 0x01, 0x08, 0x04, 0x00, 0x01, 0x02, 0x01}),  // both
  };
  for (const std::string& b : bad) {
    auto r = parse_udh(b);
    EXPECT_FALSE(r.ok()) << "accepted: " << testing::PrintToString(b);
    if (!r.ok()) {
      EXPECT_EQ(r.error().reason, kReasonInvalidUdh);
      EXPECT_EQ(r.error().code, Errc::invalid_argument);
    }
  }
}

TEST(SmppUdh, BuildConcatHeaders) {
  auto eight = build_concat_udh({0xA7, 3, 2, false});
  ASSERT_TRUE(eight.ok()) << eight.error().message;
  EXPECT_EQ(*eight, bytes({0x05, 0x00, 0x03, 0xA7, 0x03, 0x02}));
  auto sixteen = build_concat_udh({0xBEEF, 2, 1, true});
  ASSERT_TRUE(sixteen.ok()) << sixteen.error().message;
  EXPECT_EQ(*sixteen, bytes({0x06, 0x08, 0x04, 0xBE, 0xEF, 0x02, 0x01}));
  // What is built parses back.
  auto back = parse_udh(*sixteen + "part");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back->concat, (Concat{0xBEEF, 2, 1, true}));
  EXPECT_EQ(back->payload, "part");

  EXPECT_FALSE(build_concat_udh({0x100, 2, 1, false}).ok());  // 8 bits cannot hold it
  EXPECT_FALSE(build_concat_udh({1, 2, 3, false}).ok());
  EXPECT_FALSE(build_concat_udh({1, 2, 0, false}).ok());
  EXPECT_FALSE(build_concat_udh({1, 0, 0, true}).ok());
}

TEST(SmppUdh, UserDataOfAShortMessage) {
  ShortMessage m;
  m.esm_class = kEsmUdhi;
  m.short_message = bytes({0x05, 0x00, 0x03, 0x09, 0x02, 0x02}) + "tail";
  auto r = user_data_of(m);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r->concat, (Concat{9, 2, 2, false}));
  EXPECT_EQ(r->payload, "tail");

  // Without UDHI the same bytes are the payload.
  m.esm_class = 0;
  r = user_data_of(m);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->concat.has_value());
  EXPECT_EQ(r->payload, m.short_message);

  // sar_* TLVs, and message_payload carrying the text.
  ShortMessage sar;
  sar.tlvs.set_sar(0x0102, 4, 3);
  sar.tlvs.set_message_payload("long part");
  r = user_data_of(sar);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r->concat, (Concat{0x0102, 4, 3, true}));
  EXPECT_EQ(r->payload, "long part");

  // A UDH in message_payload.
  ShortMessage mp;
  mp.esm_class = kEsmUdhi | kEsmTypeDeliveryReceipt;
  mp.tlvs.set_message_payload(bytes({0x05, 0x00, 0x03, 0x01, 0x01, 0x01}) + "x");
  r = user_data_of(mp);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->payload, "x");

  // Incomplete or inconsistent sar_* TLVs.
  ShortMessage half;
  half.tlvs.set_u16(kTagSarMsgRefNum, 1);
  r = user_data_of(half);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, kReasonInvalidSar);
  half.tlvs.set_sar(1, 2, 5);
  EXPECT_FALSE(user_data_of(half).ok());

  // UDHI with a broken UDH.
  ShortMessage broken;
  broken.esm_class = kEsmUdhi;
  broken.short_message = bytes({0x09, 0x00});
  EXPECT_FALSE(user_data_of(broken).ok());
}

}  // namespace
}  // namespace rh::messaging::smpp
