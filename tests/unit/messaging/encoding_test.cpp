#include "messaging/encoding.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace rh::messaging {
namespace {

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string s;
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    if (!s.empty()) s += ' ';
    s += kDigits[b >> 4];
    s += kDigits[b & 0xF];
  }
  return s;
}

std::string bytes(std::initializer_list<int> values) {
  std::string s;
  for (int v : values) s += static_cast<char>(v);
  return s;
}

std::string repeat(std::string_view piece, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += piece;
  return s;
}

std::string utf8_of(char32_t c) {
  std::string s;
  append_utf8(s, c);
  return s;
}

// Every character GSM-7 can carry, as decoded: the default alphabet (but ESC)
// and the extension table.
std::vector<char32_t> gsm_characters() {
  std::vector<char32_t> all;
  for (int s = 0; s < 128; ++s) {
    if (s == kGsm7Escape) continue;
    auto d = decode_gsm7(std::string(1, static_cast<char>(s)));
    EXPECT_TRUE(d.ok());
    auto cps = decode_utf8(*d);
    EXPECT_TRUE(cps.ok());
    EXPECT_EQ(cps->size(), 1u);
    all.push_back((*cps)[0]);
  }
  for (char32_t c : std::u32string(U"\f^{}\\[~]|€")) all.push_back(c);
  return all;
}

SegmentSummary summary_of(std::string_view text, const SegmentOptions& o = {}) {
  auto r = count_segments(text, o);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : SegmentSummary{};
}

SegmentedMessage segmented(std::string_view text, const SegmentOptions& o = {}) {
  auto r = segment(text, o);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : SegmentedMessage{};
}

// ---------------------------------------------------------------------------
// GSM-7

TEST(Gsm7Encoding, EncodesTheDefaultAlphabetOneSeptetEach) {
  auto r = encode_gsm7("Hello @£$_ΔÉà\r\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(hex(*r), "48 65 6C 6C 6F 20 00 01 02 11 10 1F 7F 0D 0A");
}

TEST(Gsm7Encoding, ExtensionCharactersAreEscapedAndCostTwoSeptets) {
  auto r = encode_gsm7("€^{}\\[~]|\f");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(hex(*r), "1B 65 1B 14 1B 28 1B 29 1B 2F 1B 3C 1B 3D 1B 3E 1B 40 1B 0A");
  for (char32_t c : std::u32string(U"€^{}\\[~]|\f")) EXPECT_EQ(gsm7_septets(c), 2);
  EXPECT_EQ(gsm7_septets(U'a'), 1);
  EXPECT_EQ(gsm7_septets(U'ć'), 0);
  EXPECT_EQ(gsm7_septets(U'`'), 0);  // ASCII, but not in GSM 03.38

  SegmentSummary s = summary_of("Price: 5€");
  EXPECT_EQ(s.encoding, Encoding::gsm7);
  EXPECT_EQ(s.characters, 9u);
  EXPECT_EQ(s.units, 10u);
  EXPECT_EQ(s.units_remaining, 150);
}

TEST(Gsm7Encoding, OneNonGsmCharacterSwitchesTheWholeTextToUcs2) {
  EXPECT_EQ(*choose_encoding("Ça va, garçon?"), Encoding::gsm7);  // ç is 0x09
  EXPECT_EQ(*choose_encoding("Ćao"), Encoding::ucs2);             // ć is not GSM
  EXPECT_EQ(*choose_encoding(""), Encoding::gsm7);

  std::string text = repeat("a", 100) + "ć";
  SegmentSummary s = summary_of(text);
  EXPECT_EQ(s.encoding, Encoding::ucs2);
  EXPECT_EQ(s.units, 101u);
  EXPECT_EQ(s.segments, 2u);  // 101 GSM septets would have fitted in one
  EXPECT_EQ(s.units_per_segment, 67);
  EXPECT_EQ(s.units_remaining, 2 * 67 - 101);

  SegmentedMessage m = segmented(text);
  ASSERT_EQ(m.parts.size(), 2u);
  EXPECT_EQ(hex(m.parts[0].substr(0, 4)), "00 61 00 61");
}

TEST(Gsm7Encoding, EncodeRefusesANonGsmCharacterSayingWhichAndWhere) {
  auto r = encode_gsm7("ab`ć");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(r.error().reason, kReasonNotGsm7);
  EXPECT_NE(r.error().message.find("U+0060"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("byte 2"), std::string::npos) << r.error().message;
}

TEST(Gsm7Encoding, CapitalCCedillaIsSentAs0x09WhichReadsBackAsSmallCCedilla) {
  EXPECT_EQ(hex(*encode_gsm7("Çç")), "09 09");
  EXPECT_EQ(*decode_gsm7(bytes({0x09})), "ç");  // Unicode's GSM0338.TXT
}

TEST(Gsm7Encoding, DecodesEscapesIncludingUnknownAndDanglingOnes) {
  EXPECT_EQ(*decode_gsm7(bytes({0x1B, 0x65, 0x20, 0x35})), "€ 5");
  EXPECT_EQ(*decode_gsm7(bytes({0x1B, 0x0A})), "\f");
  EXPECT_EQ(*decode_gsm7(bytes({0x1B, 0x41})), "A");         // unknown: the default character
  EXPECT_EQ(*decode_gsm7(bytes({0x41, 0x1B})), "A ");        // trailing ESC: a space
  EXPECT_EQ(*decode_gsm7(bytes({0x1B, 0x1B, 0x41})), " A");  // ESC ESC: reserved, a space
  EXPECT_EQ(*decode_gsm7(bytes({0x00, 0x02, 0x11})), "@$_");
}

TEST(Gsm7Encoding, AnOctetThatIsNotASeptetIsAnErrorOrAReplacement) {
  auto r = decode_gsm7(bytes({0x41, 0x80}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, kReasonInvalidGsm7);
  EXPECT_NE(r.error().message.find("offset 1"), std::string::npos) << r.error().message;
  EXPECT_EQ(*decode_gsm7(bytes({0x41, 0x80, 0x1B, 0xFF}), Malformed::replace),
            "A\xEF\xBF\xBD \xEF\xBF\xBD");
}

TEST(Gsm7Encoding, RandomGsmTextsRoundTrip) {
  const std::vector<char32_t> alphabet = gsm_characters();
  ASSERT_EQ(alphabet.size(), 137u);
  std::mt19937 rng(20240601);
  for (int round = 0; round < 500; ++round) {
    std::string text;
    std::size_t septets = 0;
    const std::size_t n = rng() % 400;
    for (std::size_t i = 0; i < n; ++i) {
      const char32_t c = alphabet[rng() % alphabet.size()];
      septets += static_cast<std::size_t>(gsm7_septets(c));
      append_utf8(text, c);
    }
    auto enc = encode_gsm7(text);
    ASSERT_TRUE(enc.ok()) << enc.error().message;
    EXPECT_EQ(enc->size(), septets);
    auto dec = decode_gsm7(*enc);
    ASSERT_TRUE(dec.ok()) << dec.error().message;
    EXPECT_EQ(*dec, text);
    EXPECT_EQ(summary_of(text).units, septets);
    EXPECT_EQ(summary_of(text).encoding, Encoding::gsm7);
  }
}

// ---------------------------------------------------------------------------
// 7-bit packing

TEST(Gsm7Packing, MatchesWellKnownReferenceValues) {
  EXPECT_EQ(hex(*pack_septets(*encode_gsm7("hello"))), "E8 32 9B FD 06");
  EXPECT_EQ(hex(*pack_septets(*encode_gsm7("hellohello"))), "E8 32 9B FD 46 97 D9 EC 37");
  EXPECT_EQ(*unpack_septets(bytes({0xE8, 0x32, 0x9B, 0xFD, 0x06}), 5), "hello");
  // After a 6-octet concatenation UDH the text starts one fill bit later.
  EXPECT_EQ(hex(*pack_septets(*encode_gsm7("hello"), udh_fill_bits(6))), "D0 65 36 FB 0D");
  EXPECT_EQ(*unpack_septets(bytes({0xD0, 0x65, 0x36, 0xFB, 0x0D}), 5, 1), "hello");
}

TEST(Gsm7Packing, FillBitsBringTheTextToASeptetBoundaryAfterTheUdh) {
  EXPECT_EQ(udh_fill_bits(0), 0);
  EXPECT_EQ(udh_fill_bits(6), 1);   // 48 bits + 1 = 7 septets
  EXPECT_EQ(udh_fill_bits(7), 0);   // 56 bits = 8 septets
  EXPECT_EQ(udh_fill_bits(12), 2);  // concatenation + port addressing: 96 + 2 = 14 septets
  for (std::size_t n = 0; n < 50; ++n) EXPECT_EQ((n * 8 + udh_fill_bits(n)) % 7, 0u) << n;
  // 153 septets after a 6-octet UDH fill the 140 octets of user data.
  EXPECT_EQ(6 + pack_septets(std::string(153, 'a'), 1)->size(), 140u);
  EXPECT_EQ(6 + pack_septets(std::string(154, 'a'), 1)->size(), 141u);
}

TEST(Gsm7Packing, PackAndUnpackRoundTripWithAndWithoutFillBits) {
  std::mt19937 rng(7);
  for (int fill = 0; fill <= 6; ++fill) {
    for (std::size_t n = 0; n <= 170; ++n) {
      std::string septets;
      for (std::size_t i = 0; i < n; ++i) septets += static_cast<char>(rng() % 128);
      auto packed = pack_septets(septets, fill);
      ASSERT_TRUE(packed.ok()) << packed.error().message;
      const std::size_t expected_octets =
          n == 0 ? 0 : (static_cast<std::size_t>(fill) + 7 * n + 7) / 8;
      ASSERT_EQ(packed->size(), expected_octets) << "fill " << fill << " n " << n;
      if (n > 0) {
        EXPECT_EQ(static_cast<unsigned char>((*packed)[0]) & ((1u << fill) - 1), 0u);
      }
      auto unpacked = unpack_septets(*packed, n, fill);
      ASSERT_TRUE(unpacked.ok()) << unpacked.error().message;
      EXPECT_EQ(*unpacked, septets) << "fill " << fill << " n " << n;
    }
  }
}

TEST(Gsm7Packing, WithoutACountSevenSpareBitsReadAsATrailingAt) {
  auto packed = pack_septets("1234567");  // 49 bits: 7 octets, 7 spare bits
  ASSERT_EQ(packed->size(), 7u);
  EXPECT_EQ(*unpack_septets(*packed), std::string("1234567") + '\0');
  EXPECT_EQ(*unpack_septets(*packed, 7), "1234567");
  EXPECT_EQ(*unpack_septets(*pack_septets("12345678")), "12345678");  // exactly 7 octets
}

TEST(Gsm7Packing, BadInputIsAnError) {
  EXPECT_EQ(pack_septets(bytes({0x41, 0x80})).error().reason, kReasonInvalidGsm7);
  EXPECT_FALSE(pack_septets("a", 7).ok());
  EXPECT_FALSE(pack_septets("a", -1).ok());
  EXPECT_FALSE(unpack_septets("abc", 4).ok());  // 24 bits hold 3 septets
  EXPECT_TRUE(unpack_septets("abc", 3).ok());
  EXPECT_FALSE(unpack_septets("abc", 3, 4).ok());  // 20 bits after the fill hold 2
  EXPECT_FALSE(unpack_septets("", 1, 6).ok());
  EXPECT_FALSE(unpack_septets("abc", static_cast<std::size_t>(-1)).ok());
  EXPECT_EQ(*unpack_septets("", std::nullopt, 6), "");
  EXPECT_FALSE(unpack_septets("abc", std::nullopt, 9).ok());
}

// ---------------------------------------------------------------------------
// UCS-2

TEST(Ucs2Encoding, EncodesUtf16BigEndianWithSurrogatePairs) {
  EXPECT_EQ(hex(*encode_ucs2("Aé€")), "00 41 00 E9 20 AC");
  EXPECT_EQ(hex(*encode_ucs2("😀")), "D8 3D DE 00");  // U+1F600
  EXPECT_EQ(hex(*encode_ucs2(utf8_of(0x10FFFF))), "DB FF DF FF");
  EXPECT_EQ(*decode_ucs2(bytes({0x00, 0x41, 0xD8, 0x3D, 0xDE, 0x00})), "A😀");

  SegmentSummary s = summary_of("hi 😀");
  EXPECT_EQ(s.encoding, Encoding::ucs2);
  EXPECT_EQ(s.characters, 4u);
  EXPECT_EQ(s.units, 5u);
  EXPECT_EQ(s.units_remaining, 65);
}

TEST(Ucs2Encoding, RandomUnicodeTextsRoundTrip) {
  std::mt19937 rng(99);
  const auto random_code_point = [&]() -> char32_t {
    switch (rng() % 4) {
      case 0:
        return rng() % 0x80;
      case 1:
        return 0x80 + rng() % (0x800 - 0x80);
      case 2: {
        char32_t c = 0x800 + rng() % (0x10000 - 0x800 - 0x800);
        return c >= 0xD800 ? c + 0x800 : c;  // skip the surrogates
      }
      default:
        return 0x10000 + rng() % (0x110000 - 0x10000);
    }
  };
  for (int round = 0; round < 500; ++round) {
    std::string text;
    std::size_t units = 0;
    const std::size_t n = rng() % 200;
    for (std::size_t i = 0; i < n; ++i) {
      const char32_t c = random_code_point();
      units += c > 0xFFFF ? 2 : 1;
      append_utf8(text, c);
    }
    ASSERT_TRUE(decode_utf8(text).ok());
    auto enc = encode_ucs2(text);
    ASSERT_TRUE(enc.ok()) << enc.error().message;
    EXPECT_EQ(enc->size(), 2 * units);
    auto dec = decode_ucs2(*enc);
    ASSERT_TRUE(dec.ok()) << dec.error().message;
    EXPECT_EQ(*dec, text);
    auto via_inbound = decode_text(8, *enc);
    ASSERT_TRUE(via_inbound.ok());
    EXPECT_EQ(*via_inbound, text);
    const SegmentSummary s = summary_of(text);
    EXPECT_EQ(s.characters, n);
    if (s.encoding == Encoding::ucs2) {
      EXPECT_EQ(s.units, units);
    }
  }
}

TEST(Ucs2Encoding, LoneSurrogatesAndOddLengthsAreErrorsOrReplacements) {
  for (const std::string& bad : {bytes({0xD8, 0x3D}), bytes({0xDE, 0x00, 0x00, 0x41}),
                                 bytes({0xD8, 0x3D, 0x00, 0x41}), bytes({0x00, 0x41, 0x00})}) {
    auto r = decode_ucs2(bad);
    ASSERT_FALSE(r.ok()) << hex(bad);
    EXPECT_EQ(r.error().reason, kReasonInvalidUcs2);
  }
  EXPECT_EQ(*decode_ucs2(bytes({0xD8, 0x3D, 0x00, 0x41}), Malformed::replace),
            "\xEF\xBF\xBD"
            "A");
  EXPECT_EQ(*decode_ucs2(bytes({0x00, 0x41, 0x00}), Malformed::replace), "A\xEF\xBF\xBD");
}

// ---------------------------------------------------------------------------
// UTF-8 input

TEST(Utf8Encoding, InvalidUtf8IsRefusedWithItsOffsetEverywhere) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"ab\xC0\xAF", "overlong"},          // '/' in two bytes
      {"ab\xE0\x80\xAF", "overlong"},      // '/' in three
      {"ab\xF0\x80\x80\xAF", "overlong"},  // '/' in four
      {"ab\xED\xA0\x80", "surrogate"},     // U+D800 in UTF-8 (CESU-8)
      {"ab\xED\xBF\xBF", "surrogate"},     // U+DFFF
      {"ab\xF4\x90\x80\x80", "U+10FFFF"},  // U+110000
      {"ab\xE2\x82", "truncated"},         // '€' cut short at the end
      {"ab\xE2\x82z", "truncated"},        // ... and in the middle
      {"ab\x80", "continuation"},          // stray continuation byte
      {"ab\xFF", "never appears"},
  };
  for (const auto& [text, problem] : cases) {
    auto d = decode_utf8(text);
    ASSERT_FALSE(d.ok()) << hex(text);
    EXPECT_EQ(d.error().code, Errc::invalid_argument);
    EXPECT_EQ(d.error().reason, kReasonInvalidUtf8);
    EXPECT_NE(d.error().message.find("byte 2"), std::string::npos) << d.error().message;
    EXPECT_NE(d.error().message.find(problem), std::string::npos) << d.error().message;
    EXPECT_EQ(choose_encoding(text).error().reason, kReasonInvalidUtf8);
    EXPECT_EQ(count_segments(text).error().reason, kReasonInvalidUtf8);
    EXPECT_EQ(segment(text).error().reason, kReasonInvalidUtf8);
    EXPECT_EQ(encode_gsm7(text).error().reason, kReasonInvalidUtf8);
    EXPECT_EQ(encode_ucs2(text).error().reason, kReasonInvalidUtf8);
  }
  // Validation does not stop at the first non-GSM character.
  EXPECT_FALSE(choose_encoding("ć\xFF").ok());
  EXPECT_FALSE(count_segments("ć\xFF").ok());
  // The largest code point and the ones around the surrogates are fine.
  EXPECT_TRUE(decode_utf8("\xF4\x8F\xBF\xBF\xED\x9F\xBF\xEE\x80\x80").ok());
}

// ---------------------------------------------------------------------------
// Segmentation

TEST(Segmentation, Gsm7SingleMessageHolds160Septets) {
  SegmentSummary s = summary_of(repeat("a", 160));
  EXPECT_EQ(s.encoding, Encoding::gsm7);
  EXPECT_EQ(s.segments, 1u);
  EXPECT_EQ(s.units, 160u);
  EXPECT_EQ(s.units_per_segment, 160);
  EXPECT_EQ(s.units_remaining, 0);

  s = summary_of(repeat("a", 161));
  EXPECT_EQ(s.segments, 2u);
  EXPECT_EQ(s.units_per_segment, 153);
  EXPECT_EQ(s.units_remaining, 2 * 153 - 161);

  SegmentedMessage m = segmented(repeat("a", 161));
  ASSERT_EQ(m.parts.size(), 2u);
  EXPECT_EQ(m.parts[0], std::string(153, 'a'));
  EXPECT_EQ(m.parts[1], std::string(8, 'a'));
}

TEST(Segmentation, Gsm7PartsHold153Septets) {
  SegmentSummary s = summary_of(repeat("a", 153 * 2));
  EXPECT_EQ(s.segments, 2u);
  EXPECT_EQ(s.units_remaining, 0);
  s = summary_of(repeat("a", 153 * 2 + 1));
  EXPECT_EQ(s.segments, 3u);
  EXPECT_EQ(s.units_remaining, 152);
  SegmentedMessage m = segmented(repeat("a", 153 * 2 + 1));
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_EQ(m.parts[2], "a");
}

TEST(Segmentation, ExtensionCharactersCountTwoAtTheSingleMessageLimit) {
  EXPECT_EQ(summary_of(repeat("a", 158) + "€").segments, 1u);  // 160 septets
  SegmentSummary s = summary_of(repeat("a", 159) + "€");       // 161 septets
  EXPECT_EQ(s.characters, 160u);
  EXPECT_EQ(s.units, 161u);
  EXPECT_EQ(s.segments, 2u);
}

TEST(Segmentation, AnEscapeSequenceIsNeverSplitAcrossParts) {
  // 152 + 2 does not fit in 153: the '€' moves whole to part 2.
  SegmentedMessage m = segmented(repeat("a", 152) + "€" + repeat("b", 10));
  ASSERT_EQ(m.parts.size(), 2u);
  EXPECT_EQ(m.parts[0], std::string(152, 'a'));
  EXPECT_EQ(hex(m.parts[1].substr(0, 3)), "1B 65 62");
  EXPECT_EQ(m.summary.units, 164u);
  EXPECT_EQ(m.summary.units_remaining, 153 - 12);

  // 306 septets would fill 2 parts exactly, but the escape at the boundary
  // wastes a septet, so carriers bill 3.
  m = segmented(repeat("a", 152) + "{" + repeat("a", 152));
  EXPECT_EQ(m.summary.units, 306u);
  EXPECT_EQ(m.summary.segments, 3u);
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_EQ(m.parts[0].size(), 152u);
  EXPECT_EQ(m.parts[1].size(), 153u);
  EXPECT_EQ(hex(m.parts[1].substr(0, 2)), "1B 28");
  EXPECT_EQ(m.parts[2], "a");
  EXPECT_EQ(m.summary.units_remaining, 152);
}

TEST(Segmentation, Ucs2SingleMessageHolds70UnitsAndPartsHold67) {
  SegmentSummary s = summary_of(repeat("ć", 70));
  EXPECT_EQ(s.encoding, Encoding::ucs2);
  EXPECT_EQ(s.segments, 1u);
  EXPECT_EQ(s.units_per_segment, 70);
  EXPECT_EQ(s.units_remaining, 0);

  s = summary_of(repeat("ć", 71));
  EXPECT_EQ(s.segments, 2u);
  EXPECT_EQ(s.units_per_segment, 67);
  EXPECT_EQ(s.units_remaining, 2 * 67 - 71);

  EXPECT_EQ(summary_of(repeat("ć", 67 * 2)).segments, 2u);
  s = summary_of(repeat("ć", 67 * 2 + 1));
  EXPECT_EQ(s.segments, 3u);
  EXPECT_EQ(s.units_remaining, 66);

  SegmentedMessage m = segmented(repeat("ć", 67 * 2 + 1));
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_EQ(m.parts[0].size(), 134u);
  EXPECT_EQ(m.parts[1].size(), 134u);
  EXPECT_EQ(hex(m.parts[2]), "01 07");
}

TEST(Segmentation, ASurrogatePairIsNeverSplitAtThe67Boundary) {
  SegmentedMessage m = segmented(repeat("ć", 66) + "😀" + repeat("ć", 10));
  EXPECT_EQ(m.summary.characters, 77u);
  EXPECT_EQ(m.summary.units, 78u);
  ASSERT_EQ(m.parts.size(), 2u);
  EXPECT_EQ(m.parts[0].size(), 66u * 2);
  EXPECT_EQ(hex(m.parts[1].substr(0, 4)), "D8 3D DE 00");
  EXPECT_EQ(m.summary.units_remaining, 67 - 12);

  // 134 units would fill two parts, but the pair straddling the boundary
  // moves to the second one: three segments.
  m = segmented(repeat("ć", 66) + "😀" + repeat("ć", 66));
  EXPECT_EQ(m.summary.units, 134u);
  EXPECT_EQ(m.summary.segments, 3u);
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_EQ(hex(m.parts[2]), "01 07");

  // An emoji costs 2 units at the single-message limit too.
  EXPECT_EQ(summary_of(repeat("ć", 68) + "😀").segments, 1u);
  EXPECT_EQ(summary_of(repeat("ć", 69) + "😀").segments, 2u);
}

TEST(Segmentation, EmptyTextIsOneEmptySegment) {
  SegmentedMessage m = segmented("");
  EXPECT_EQ(m.summary.encoding, Encoding::gsm7);
  EXPECT_EQ(m.summary.segments, 1u);
  EXPECT_EQ(m.summary.characters, 0u);
  EXPECT_EQ(m.summary.units_remaining, 160);
  ASSERT_EQ(m.parts.size(), 1u);
  EXPECT_EQ(m.parts[0], "");
}

TEST(Segmentation, CharactersAreCodePoints) {
  SegmentSummary s = summary_of("e\xCC\x81");  // e + combining acute accent
  EXPECT_EQ(s.characters, 2u);
  EXPECT_EQ(s.encoding, Encoding::ucs2);
}

TEST(Segmentation, TheSegmentCapIsAnErrorForSegmentAndAFlagForTheCounter) {
  EXPECT_EQ(segmented(repeat("a", 153 * 10)).parts.size(), 10u);
  const std::string eleven = repeat("a", 153 * 10 + 1);
  SegmentSummary s = summary_of(eleven);
  EXPECT_EQ(s.segments, 11u);
  EXPECT_TRUE(s.exceeds_max_segments);
  auto r = segment(eleven);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(r.error().reason, kReasonTooManySegments);
  EXPECT_NE(r.error().message.find("11 segments"), std::string::npos) << r.error().message;

  SegmentOptions two;
  two.max_segments = 2;
  EXPECT_TRUE(segment(repeat("ć", 134), two).ok());
  EXPECT_EQ(segment(repeat("ć", 135), two).error().reason, kReasonTooManySegments);
  two.max_segments = 1;
  EXPECT_TRUE(segment(repeat("a", 160), two).ok());
  EXPECT_FALSE(segment(repeat("a", 161), two).ok());
}

TEST(Segmentation, OptionsOutOfRangeAreRefused) {
  for (auto [max, udh] : std::vector<std::pair<int, int>>{{0, 6}, {256, 6}, {10, -1}, {10, 33}}) {
    SegmentOptions o;
    o.max_segments = max;
    o.concat_udh_octets = udh;
    EXPECT_EQ(count_segments("hi", o).error().reason, kReasonInvalidOptions);
    EXPECT_EQ(segment("hi", o).error().reason, kReasonInvalidOptions);
  }
}

TEST(Segmentation, PartSizeFollowsTheConcatenationHeader) {
  SegmentOptions ref16;
  ref16.concat_udh_octets = 7;  // IEI 0x08, 16-bit reference
  EXPECT_EQ(summary_of(repeat("a", 161), ref16).units_per_segment, 152);
  EXPECT_EQ(summary_of(repeat("a", 152 * 2), ref16).segments, 2u);
  EXPECT_EQ(summary_of(repeat("a", 152 * 2 + 1), ref16).segments, 3u);
  EXPECT_EQ(summary_of(repeat("ć", 71), ref16).units_per_segment, 66);
  EXPECT_EQ(summary_of(repeat("a", 160), ref16).segments, 1u);

  SegmentOptions sar;
  sar.concat_udh_octets = 0;  // sar_* TLVs: no UDH in the parts
  EXPECT_EQ(summary_of(repeat("a", 320), sar).segments, 2u);
  EXPECT_EQ(summary_of(repeat("a", 321), sar).segments, 3u);
  EXPECT_EQ(summary_of(repeat("ć", 140), sar).segments, 2u);
}

TEST(Segmentation, CounterAgreesWithTheSplitOnRandomTexts) {
  const std::vector<char32_t> gsm = gsm_characters();
  const std::u32string other = U"ćŁ😀👍🏽中ж€{";
  std::mt19937 rng(4242);
  for (int round = 0; round < 400; ++round) {
    std::string text;
    const std::size_t n = rng() % 700;
    const bool mostly_gsm = round % 2 == 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (mostly_gsm || rng() % 3 != 0) {
        append_utf8(text, gsm[rng() % gsm.size()]);
      } else {
        append_utf8(text, other[rng() % other.size()]);
      }
    }
    if (mostly_gsm && rng() % 4 == 0) append_utf8(text, U'ć');
    SegmentOptions o;
    o.max_segments = 255;
    o.concat_udh_octets = static_cast<int>(rng() % 3) + 5;
    const SegmentSummary s = summary_of(text, o);
    const SegmentedMessage m = segmented(text, o);
    ASSERT_EQ(m.parts.size(), s.segments);
    EXPECT_EQ(m.summary.units, s.units);
    EXPECT_EQ(m.summary.units_remaining, s.units_remaining);
    const bool gsm7 = s.encoding == Encoding::gsm7;
    std::string joined;
    for (std::size_t p = 0; p < m.parts.size(); ++p) {
      const std::size_t part_units = m.parts[p].size() / (gsm7 ? 1 : 2);
      EXPECT_LE(part_units, static_cast<std::size_t>(s.units_per_segment));
      if (p + 1 == m.parts.size()) {
        EXPECT_EQ(part_units + static_cast<std::size_t>(s.units_remaining),
                  static_cast<std::size_t>(s.units_per_segment));
      }
      // Each part decodes on its own: no escape or surrogate pair was cut.
      auto dec = gsm7 ? decode_gsm7(m.parts[p]) : decode_ucs2(m.parts[p]);
      ASSERT_TRUE(dec.ok()) << dec.error().message;
      if (gsm7 && !m.parts[p].empty()) {
        EXPECT_NE(m.parts[p].back(), '\x1B');
      }
      joined += m.parts[p];
    }
    EXPECT_EQ(joined, gsm7 ? *encode_gsm7(text) : *encode_ucs2(text));
  }
}

TEST(Segmentation, EncodingNamesAndDataCodings) {
  EXPECT_STREQ(encoding_name(Encoding::gsm7), "GSM-7");
  EXPECT_STREQ(encoding_name(Encoding::ucs2), "UCS-2");
  EXPECT_EQ(data_coding_of(Encoding::gsm7), 0);
  EXPECT_EQ(data_coding_of(Encoding::ucs2), 8);
}

// ---------------------------------------------------------------------------
// Inbound decoding by data_coding

TEST(InboundEncoding, DecodesEachTextDataCoding) {
  EXPECT_EQ(*decode_text(0x00, bytes({0x48, 0x69, 0x00, 0x1B, 0x65})), "Hi@€");
  EXPECT_EQ(*decode_text(0x01, "Hi there"), "Hi there");
  EXPECT_EQ(*decode_text(0x03, bytes({0x43, 0x61, 0x66, 0xE9, 0xA3, 0xFF})), "Café£ÿ");
  EXPECT_EQ(*decode_text(0x08, bytes({0x04, 0x1F, 0x04, 0x40, 0xD8, 0x3D, 0xDE, 0x00})), "Пр😀");
  // GSM data coding scheme groups SMSCs pass through.
  EXPECT_EQ(*decode_text(0xF0, bytes({0x48, 0x69})), "Hi");  // flash SMS, class 0
  EXPECT_EQ(*decode_text(0xF3, bytes({0x48, 0x69})), "Hi");
  EXPECT_EQ(*decode_text(0xC0, bytes({0x48, 0x69})), "Hi");
  EXPECT_EQ(*decode_text(0xD8, bytes({0x48, 0x69})), "Hi");
  EXPECT_EQ(*decode_text(0xE0, bytes({0x00, 0x48, 0x00, 0x69})), "Hi");
  EXPECT_EQ(*decode_text(0x00, ""), "");
}

TEST(InboundEncoding, BinaryAndUnknownDataCodingsAreErrors) {
  for (int dc : {0x02, 0x04, 0xF4, 0xF5, 0xF6, 0xF7, 0xFC}) {
    auto r = decode_text(static_cast<std::uint8_t>(dc), "\x01\x02");
    ASSERT_FALSE(r.ok()) << dc;
    EXPECT_EQ(r.error().reason, kReasonBinaryDataCoding) << dc;
  }
  for (int dc : {0x05, 0x06, 0x07, 0x09, 0x0A, 0x0E, 0x10, 0x80, 0xBF}) {
    auto r = decode_text(static_cast<std::uint8_t>(dc), "Hi");
    ASSERT_FALSE(r.ok()) << dc;
    EXPECT_EQ(r.error().reason, kReasonUnsupportedDataCoding) << dc;
    EXPECT_FALSE(decode_text(static_cast<std::uint8_t>(dc), "Hi", Malformed::replace).ok());
  }
}

TEST(InboundEncoding, MalformedTextIsAnErrorOrReplaced) {
  EXPECT_EQ(decode_text(0x01, "Hi\x80").error().reason, kReasonInvalidAscii);
  EXPECT_EQ(*decode_text(0x01, "Hi\x80", Malformed::replace), "Hi\xEF\xBF\xBD");
  EXPECT_EQ(decode_text(0x00, "Hi\x80").error().reason, kReasonInvalidGsm7);
  EXPECT_EQ(decode_text(0x08, bytes({0x00, 0x48, 0x00})).error().reason, kReasonInvalidUcs2);
  EXPECT_EQ(*decode_text(0x08, bytes({0xDC, 0x00}), Malformed::replace), "\xEF\xBF\xBD");
  // Whatever comes out is valid UTF-8.
  std::mt19937 rng(1);
  for (int round = 0; round < 300; ++round) {
    std::string junk;
    for (std::size_t i = rng() % 64; i > 0; --i) junk += static_cast<char>(rng());
    for (int dc : {0x00, 0x01, 0x03, 0x08}) {
      auto r = decode_text(static_cast<std::uint8_t>(dc), junk, Malformed::replace);
      ASSERT_TRUE(r.ok()) << dc << " " << hex(junk);
      EXPECT_TRUE(decode_utf8(*r).ok()) << dc << " " << hex(junk);
    }
  }
}

}  // namespace
}  // namespace rh::messaging
