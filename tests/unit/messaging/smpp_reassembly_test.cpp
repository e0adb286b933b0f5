// Reassembly of concatenated MO (messaging/smpp/reassembly.hpp): the pure
// helpers, MemoryPartStore, and SqlPartStore on SQLite and MariaDB; and the
// gateway's address conversions (gateway.hpp).
#include <gtest/gtest.h>

#include "messaging/encoding.hpp"
#include "messaging/smpp/gateway.hpp"
#include "messaging/smpp/reassembly.hpp"
#include "storage/migrations.hpp"
#include "unit/unit_db.hpp"

namespace rh::messaging::smpp {
namespace {

MoPart part(std::uint8_t seq, std::uint8_t total, std::string payload,
            std::int64_t received_ms = 1000, std::uint16_t ref = 42, bool ref16 = false) {
  MoPart p;
  p.route = "smsc1";
  p.source = "+15550001111";
  p.destination = "+15550002222";
  p.reference = ref;
  p.ref16 = ref16;
  p.total = total;
  p.seq = seq;
  p.data_coding = 0;
  p.payload = std::move(payload);
  p.received_ms = received_ms;
  return p;
}

std::vector<std::uint8_t> seqs(const std::vector<MoPart>& parts) {
  std::vector<std::uint8_t> out;
  for (const auto& p : parts) out.push_back(p.seq);
  return out;
}

TEST(SmppReassembly, ValidatePart) {
  EXPECT_TRUE(validate_part(part(1, 1, "x")).ok());
  EXPECT_TRUE(validate_part(part(3, 3, "x")).ok());
  EXPECT_FALSE(validate_part(part(0, 3, "x")).ok());
  EXPECT_FALSE(validate_part(part(4, 3, "x")).ok());
  EXPECT_FALSE(validate_part(part(1, 0, "x")).ok());
  EXPECT_FALSE(validate_part(part(1, 2, "x", 0, 300, false)).ok());
  EXPECT_TRUE(validate_part(part(1, 2, "x", 0, 300, true)).ok());
}

TEST(SmppReassembly, KeySeparatesEightAndSixteenBitReferences) {
  auto a = part(1, 2, "x", 0, 42, false);
  auto b = part(1, 2, "x", 0, 42, true);
  EXPECT_NE(key_of(a), key_of(b));
  EXPECT_EQ(describe(key_of(a)), "smsc1 +15550001111>+15550002222 ref8:42");
  EXPECT_EQ(describe(key_of(b)), "smsc1 +15550001111>+15550002222 ref16:42");
}

TEST(SmppReassembly, JoinedTextDecodesOnceSoASplitSurrogatePairJoins) {
  // "Hi 😀" in UTF-16BE, cut inside the surrogate pair.
  auto a = part(1, 2, std::string("\x00H\x00i\x00 \xD8\x3D", 8));
  auto b = part(2, 2, std::string("\xDE\x00", 2));
  a.data_coding = b.data_coding = 8;
  EXPECT_EQ(join_payloads({a, b}), std::string("\x00H\x00i\x00 \xD8\x3D\xDE\x00", 10));
  auto text = joined_text({a, b});
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "Hi \xF0\x9F\x98\x80");
  // Decoded part by part, each half would be a lone surrogate.
  EXPECT_FALSE(decode_text(8, a.payload).ok());
}

TEST(SmppReassembly, JoinedTextRefusesBinaryAndNothing) {
  auto a = part(1, 1, "\x01\x02");
  a.data_coding = 4;
  EXPECT_FALSE(joined_text({a}).ok());
  EXPECT_FALSE(joined_text({}).ok());
}

TEST(SmppReassembly, AddressConversions) {
  EXPECT_EQ(smpp_address_of("+15550001111"), (Address{1, 1, "15550001111"}));
  EXPECT_EQ(smpp_address_of("12345"), (Address{0, 1, "12345"}));
  EXPECT_EQ(smpp_address_of("Ringhouse"), (Address{5, 0, "Ringhouse"}));
  EXPECT_EQ(e164_of(Address{1, 1, "15550001111"}), "+15550001111");
  EXPECT_EQ(e164_of(Address{1, 1, "+447700900123"}), "+447700900123");
  EXPECT_EQ(e164_of(Address{0, 1, "4915112345678"}), "+4915112345678");
  EXPECT_EQ(e164_of(Address{3, 0, "12345"}), "12345");
  EXPECT_EQ(e164_of(Address{1, 1, "1234"}), "+1234");
  EXPECT_EQ(e164_of(Address{5, 0, "BANK"}), "BANK");
  EXPECT_EQ(e164_of(Address{0, 0, ""}), "");
}

// ---------------------------------------------------------------------------
// The same behaviour from every store.

void store_completes_out_of_order_with_repeats(PartStore& store) {
  auto r = store.add(part(3, 3, "c"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->has_value());
  r = store.add(part(1, 3, "a-old"));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  r = store.add(part(1, 3, "a"));  // a repeat replaces the earlier copy
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  // Another message (16-bit reference of the same value) does not mix in.
  r = store.add(part(2, 3, "other", 1000, 42, true));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  r = store.add(part(2, 3, "b"));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  const auto& parts = **r;
  EXPECT_EQ(seqs(parts), (std::vector<std::uint8_t>{1, 2, 3}));
  EXPECT_EQ(join_payloads(parts), "abc");
  EXPECT_EQ(parts[0].route, "smsc1");
  EXPECT_EQ(parts[0].source, "+15550001111");
  EXPECT_EQ(parts[0].reference, 42);
  EXPECT_EQ(parts[0].total, 3);
  // Adding a part again before remove() reports the set complete again.
  r = store.add(part(3, 3, "c"));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(join_payloads(**r), "abc");
  ASSERT_TRUE(store.remove(parts[1]).ok());
  // Removed: a late repeat starts over.
  r = store.add(part(1, 3, "a"));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

void store_drops_older_parts_of_another_total(PartStore& store) {
  ASSERT_TRUE(store.add(part(1, 3, "old1")).ok());
  ASSERT_TRUE(store.add(part(2, 3, "old2")).ok());
  // The reference is reused by a two-part message.
  auto r = store.add(part(2, 2, "new2"));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  r = store.add(part(1, 2, "new1"));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(join_payloads(**r), "new1new2");
}

void store_expires_stale_sets(PartStore& store) {
  ASSERT_TRUE(store.add(part(1, 2, "stale", 1000, 1)).ok());
  ASSERT_TRUE(store.add(part(1, 3, "slow", 1000, 2)).ok());
  ASSERT_TRUE(store.add(part(2, 3, "slow", 5000, 2)).ok());  // newest part is recent
  ASSERT_TRUE(store.add(part(1, 2, "fresh", 6000, 3)).ok());
  auto n = store.expire(4000);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 1);
  n = store.expire(4000);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  // The slow set kept both parts.
  auto r = store.add(part(3, 3, "!", 7000, 2));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(join_payloads(**r), "slowslow!");
  n = store.expire(100'000);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4);
}

void store_refuses_invalid_parts(PartStore& store) {
  EXPECT_FALSE(store.add(part(0, 2, "x")).ok());
  EXPECT_FALSE(store.add(part(3, 2, "x")).ok());
}

TEST(SmppReassemblyMemory, CompletesOutOfOrderWithRepeats) {
  MemoryPartStore s;
  store_completes_out_of_order_with_repeats(s);
  EXPECT_EQ(s.size(), 2u);  // the 16-bit message's part and the late repeat
}
TEST(SmppReassemblyMemory, DropsOlderPartsOfAnotherTotal) {
  MemoryPartStore s;
  store_drops_older_parts_of_another_total(s);
}
TEST(SmppReassemblyMemory, ExpiresStaleSets) {
  MemoryPartStore s;
  store_expires_stale_sets(s);
  EXPECT_EQ(s.size(), 0u);
}
TEST(SmppReassemblyMemory, RefusesInvalidParts) {
  MemoryPartStore s;
  store_refuses_invalid_parts(s);
  EXPECT_EQ(s.size(), 0u);
}

class SmppReassemblySqlTest : public unit::DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    if (IsSkipped()) return;
    auto n = storage::Migrator(smpp_migrations()).migrate(db(), clock_.now_ms());
    ASSERT_TRUE(n.ok()) << n.error().message;
    EXPECT_EQ(*n, 1);
  }
  std::int64_t rows() { return scalar("SELECT COUNT(*) AS n FROM smpp_mo_parts"); }
};

TEST_P(SmppReassemblySqlTest, CompletesOutOfOrderWithRepeats) {
  SqlPartStore s(db());
  store_completes_out_of_order_with_repeats(s);
  EXPECT_EQ(rows(), 2);
}

TEST_P(SmppReassemblySqlTest, DropsOlderPartsOfAnotherTotal) {
  SqlPartStore s(db());
  store_drops_older_parts_of_another_total(s);
  EXPECT_EQ(rows(), 2);
}

TEST_P(SmppReassemblySqlTest, ExpiresStaleSets) {
  SqlPartStore s(db());
  store_expires_stale_sets(s);
  EXPECT_EQ(rows(), 0);
}

TEST_P(SmppReassemblySqlTest, RefusesInvalidParts) {
  SqlPartStore s(db());
  store_refuses_invalid_parts(s);
  EXPECT_EQ(rows(), 0);
}

TEST_P(SmppReassemblySqlTest, KeepsBinaryPayloadsExactly) {
  SqlPartStore s(db());
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  ASSERT_TRUE(s.add(part(2, 2, bytes)).ok());
  auto r = s.add(part(1, 2, std::string("\x00\xFF", 2)));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((**r)[1].payload, bytes);
  EXPECT_EQ((**r)[0].payload, std::string("\x00\xFF", 2));
  EXPECT_EQ((**r)[1].received_ms, 1000);
}

RH_ON_BOTH_DRIVERS(SmppReassemblySqlTest);

}  // namespace
}  // namespace rh::messaging::smpp
