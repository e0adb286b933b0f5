// TOTP: the RFC 4226 and RFC 6238 test vectors, the verification window,
// replay refusal, malformed codes, extreme clocks, base32 (RFC 4648 vectors)
// and the otpauth:// URI authenticator apps scan.
#include "accounts/totp.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <limits>
#include <string>

namespace rh::accounts {
namespace {

constexpr std::string_view kRfcKey = "12345678901234567890";
constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min();

std::string six(std::uint32_t v) {
  std::string s = std::to_string(v);
  return std::string(6 - std::min<std::size_t>(6, s.size()), '0') + s;
}

TEST(TotpHotp, Rfc4226AppendixDValues) {
  constexpr std::array<std::uint32_t, 10> kExpected = {755224, 287082, 359152, 969429, 338314,
                                                       254676, 287922, 162583, 399871, 520489};
  for (std::uint64_t counter = 0; counter < kExpected.size(); ++counter)
    EXPECT_EQ(totp::hotp(kRfcKey, counter), kExpected[counter]) << "counter " << counter;
}

TEST(TotpHotp, DigitsTruncateTheSameValue) {
  // RFC 4226 appendix D: counter 0 truncates to 1284755224.
  EXPECT_EQ(totp::hotp(kRfcKey, 0, 10), 1284755224u);
  EXPECT_EQ(totp::hotp(kRfcKey, 0, 8), 84755224u);
  EXPECT_EQ(totp::hotp(kRfcKey, 0, 1), 4u);
  EXPECT_EQ(totp::hotp(kRfcKey, 0, 0), 0u);
  EXPECT_EQ(totp::hotp(kRfcKey, 0, -5), 0u);
}

TEST(TotpHotp, EmptyAndHugeCountersAreFine) {
  EXPECT_LT(totp::hotp("", 0), 1000000u);
  EXPECT_LT(totp::hotp(kRfcKey, std::numeric_limits<std::uint64_t>::max()), 1000000u);
}

TEST(TotpVerify, Rfc6238Sha1VectorsTruncatedToSixDigits) {
  struct Vector {
    std::int64_t t;
    const char* code;
  };
  constexpr std::array<Vector, 6> kVectors = {{{59, "287082"},
                                               {1111111109, "081804"},
                                               {1111111111, "050471"},
                                               {1234567890, "005924"},
                                               {2000000000, "279037"},
                                               {20000000000, "353130"}}};
  for (const auto& v : kVectors) {
    SCOPED_TRACE(v.t);
    EXPECT_EQ(six(totp::hotp(kRfcKey, static_cast<std::uint64_t>(v.t / 30))), v.code);
    auto step = totp::verify(kRfcKey, v.code, v.t, kNever, 0);
    ASSERT_TRUE(step.has_value());
    EXPECT_EQ(*step, v.t / 30);
  }
}

TEST(TotpVerify, AcceptsStepsWithinTheWindowOnly) {
  // At t=59 (step 1), steps 0..3 have codes 755224 287082 359152 969429.
  EXPECT_EQ(totp::verify(kRfcKey, "755224", 59, kNever), 0);
  EXPECT_EQ(totp::verify(kRfcKey, "287082", 59, kNever), 1);
  EXPECT_EQ(totp::verify(kRfcKey, "359152", 59, kNever), 2);
  EXPECT_EQ(totp::verify(kRfcKey, "969429", 59, kNever), std::nullopt);
  EXPECT_EQ(totp::verify(kRfcKey, "969429", 59, kNever, 2), 3);
  EXPECT_EQ(totp::verify(kRfcKey, "755224", 59, kNever, 0), std::nullopt);
  EXPECT_EQ(totp::verify(kRfcKey, "287082", 59, kNever, 0), 1);
  // A negative window is no window; a huge one is capped, not iterated.
  EXPECT_EQ(totp::verify(kRfcKey, "755224", 59, kNever, -3), std::nullopt);
  EXPECT_EQ(totp::verify(kRfcKey, "287082", 59, kNever, -3), 1);
  EXPECT_EQ(totp::verify(kRfcKey, "969429", 59, kNever, INT_MAX), 3);
  EXPECT_EQ(totp::verify(kRfcKey, "287082", 59, kNever, INT_MIN), 1);
}

TEST(TotpVerify, StepBoundaries) {
  // 30 s steps: t=30..59 is step 1, t=60 is step 2.
  EXPECT_EQ(totp::verify(kRfcKey, "287082", 30, kNever, 0), 1);
  EXPECT_EQ(totp::verify(kRfcKey, "287082", 29, kNever, 0), std::nullopt);
  EXPECT_EQ(totp::verify(kRfcKey, "287082", 60, kNever, 0), std::nullopt);
}

TEST(TotpVerify, WrongCodeIsRefused) {
  EXPECT_EQ(totp::verify(kRfcKey, "000000", 59, kNever), std::nullopt);
  EXPECT_EQ(totp::verify("another key", "287082", 59, kNever), std::nullopt);
}

TEST(TotpVerify, ACodeWorksOnce) {
  auto first = totp::verify(kRfcKey, "287082", 59, kNever);
  ASSERT_EQ(first, 1);
  // Replaying it, even a second later within the same step, is refused.
  EXPECT_EQ(totp::verify(kRfcKey, "287082", 60, *first), std::nullopt);
  // So is any earlier step still inside the window...
  EXPECT_EQ(totp::verify(kRfcKey, "755224", 59, *first), std::nullopt);
  // ...but the next step's code is fine.
  EXPECT_EQ(totp::verify(kRfcKey, "359152", 59, *first), 2);
  // A last_used_step in the far future refuses everything.
  EXPECT_EQ(totp::verify(kRfcKey, "287082", 59, std::numeric_limits<std::int64_t>::max()),
            std::nullopt);
}

TEST(TotpVerify, MalformedCodesAreRefused) {
  for (std::string_view code :
       {"", "28708", "2870822", " 287082", "287082 ", "28708a", "-87082", "+87082", "287 082",
        "287-082", "２８７０８２", "0x1234", "28708\xd9"}) {
    SCOPED_TRACE(code);
    EXPECT_EQ(totp::verify(kRfcKey, code, 59, kNever), std::nullopt);
  }
  EXPECT_EQ(totp::verify(kRfcKey, std::string_view("28708\0", 6), 59, kNever), std::nullopt);
}

TEST(TotpVerify, ExtremeTimesAreHandled) {
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(totp::verify(kRfcKey, "755224", kMin, kNever), std::nullopt);
  EXPECT_EQ(totp::verify(kRfcKey, "755224", -31, kNever), std::nullopt);
  // t=-1 is step -1; step 0 is still within a window of 1.
  EXPECT_EQ(totp::verify(kRfcKey, "755224", -1, kNever), 0);
  EXPECT_EQ(totp::verify(kRfcKey, "755224", -1, kNever, 0), std::nullopt);
  const std::int64_t last = kMax / 30;
  const std::string code = six(totp::hotp(kRfcKey, static_cast<std::uint64_t>(last)));
  EXPECT_EQ(totp::verify(kRfcKey, code, kMax, kNever, 0), last);
  EXPECT_EQ(totp::verify(kRfcKey, code, kMax, kNever, 10), last);
}

TEST(TotpBase32, Rfc4648VectorsUnpadded) {
  EXPECT_EQ(totp::base32_encode(""), "");
  EXPECT_EQ(totp::base32_encode("f"), "MY");
  EXPECT_EQ(totp::base32_encode("fo"), "MZXQ");
  EXPECT_EQ(totp::base32_encode("foo"), "MZXW6");
  EXPECT_EQ(totp::base32_encode("foob"), "MZXW6YQ");
  EXPECT_EQ(totp::base32_encode("fooba"), "MZXW6YTB");
  EXPECT_EQ(totp::base32_encode("foobar"), "MZXW6YTBOI");
  EXPECT_EQ(totp::base32_encode(kRfcKey), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

TEST(TotpBase32, DecodesRfc4648VectorsPaddedOrNot) {
  EXPECT_EQ(totp::base32_decode(""), "");
  EXPECT_EQ(totp::base32_decode("MY======"), "f");
  EXPECT_EQ(totp::base32_decode("MZXQ===="), "fo");
  EXPECT_EQ(totp::base32_decode("MZXW6==="), "foo");
  EXPECT_EQ(totp::base32_decode("MZXW6YQ="), "foob");
  EXPECT_EQ(totp::base32_decode("MZXW6YTB"), "fooba");
  EXPECT_EQ(totp::base32_decode("MZXW6YTBOI======"), "foobar");
  EXPECT_EQ(totp::base32_decode("MZXW6YTBOI"), "foobar");
}

TEST(TotpBase32, DecodeIsLenientAboutCaseSpacesAndDashes) {
  EXPECT_EQ(totp::base32_decode("mzxw6ytboi"), "foobar");
  EXPECT_EQ(totp::base32_decode("mzxw 6ytb-oi"), "foobar");
  EXPECT_EQ(totp::base32_decode("GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"), kRfcKey);
}

TEST(TotpBase32, DecodeRefusesOtherCharactersAndBadLengths) {
  for (std::string_view text : {"MZXW1", "MZXW8", "MZXW0", "MZ_W6", "MZ.W6", "MZ\tW6", "MZXW6\n",
                                "M", "MZX", "MZXW6Y", "MZXW6YTBO", "MZXW6\xc3\xa9"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(totp::base32_decode(text), std::nullopt);
  }
  EXPECT_EQ(totp::base32_decode(std::string_view("MZ\0W6", 5)), std::nullopt);
}

TEST(TotpBase32, RoundTripsEveryLengthAndByte) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(totp::base32_decode(totp::base32_encode(bytes)), bytes) << "length " << i;
    bytes += static_cast<char>((i * 67 + 13) & 0xff);
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(totp::base32_decode(totp::base32_encode(all)), all);
}

TEST(TotpProvisioningUri, CarriesIssuerAccountAndSecret) {
  EXPECT_EQ(totp::provisioning_uri("Ringhouse", "alice@example.com", kRfcKey),
            "otpauth://totp/Ringhouse:alice%40example.com"
            "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Ringhouse"
            "&algorithm=SHA1&digits=6&period=30");
}

TEST(TotpProvisioningUri, PercentEncodesIssuerAndAccount) {
  EXPECT_EQ(totp::provisioning_uri("Ring House & Co", "bob:smith?x=1/é", "f"),
            "otpauth://totp/Ring%20House%20%26%20Co:bob%3Asmith%3Fx%3D1%2F%C3%A9"
            "?secret=MY&issuer=Ring%20House%20%26%20Co&algorithm=SHA1&digits=6&period=30");
  EXPECT_EQ(totp::provisioning_uri("a-b_c.d~e", "+1 555", "f"),
            "otpauth://totp/a-b_c.d~e:%2B1%20555"
            "?secret=MY&issuer=a-b_c.d~e&algorithm=SHA1&digits=6&period=30");
}

TEST(TotpProvisioningUri, SecretDecodesBackToTheKey) {
  const char kRaw[] = "\x00\xff\x10 binary key\x80";
  const std::string key(kRaw, sizeof kRaw - 1);
  std::string uri = totp::provisioning_uri("Ringhouse", "alice", key);
  auto start = uri.find("secret=") + 7;
  auto secret = uri.substr(start, uri.find('&', start) - start);
  EXPECT_EQ(totp::base32_decode(secret), key);
}

}  // namespace
}  // namespace rh::accounts
