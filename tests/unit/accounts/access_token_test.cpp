// Access tokens: what we sign verifies, and everything else is refused with
// a reason and without throwing: expired, early, tampered, other keys, other
// issuers and audiences, algorithm confusion ("none", HS512), a missing typ,
// crit headers and garbage. Also the strict base64url decoder they rely on.
#include "accounts/access_token.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "core/crypto.hpp"

namespace rh::accounts {
namespace {

constexpr std::string_view kKey = "unit-test-key-0123456789abcdef0123456789";
constexpr std::string_view kIssuer = "https://ringhouse.example";
constexpr std::string_view kAudience = "ringhouse-api";
constexpr std::int64_t kNow = 1700000000;
constexpr std::string_view kGoodHeader = R"({"alg":"HS256","typ":"at+jwt"})";

AccessClaims sample_claims() {
  AccessClaims c;
  c.iss = kIssuer;
  c.aud = kAudience;
  c.sub = "usr_1";
  c.tid = "ten_1";
  c.sid = "ses_1";
  c.jti = "jti_1";
  c.mfa = true;
  c.iat = kNow;
  c.exp = kNow + 300;
  return c;
}

// A token with any header and payload text, correctly signed with `key`.
std::string forge(std::string_view header, std::string_view payload, std::string_view key = kKey) {
  std::string input = crypto::base64url_encode(header) + "." + crypto::base64url_encode(payload);
  return input + "." + crypto::base64url_encode(crypto::hmac_sha256(key, input));
}

// The standard claims without the named member.
std::string payload_without(std::string_view name) {
  const std::vector<std::pair<std::string, std::string>> members = {
      {"iss", R"("https://ringhouse.example")"},
      {"aud", R"("ringhouse-api")"},
      {"sub", R"("usr_1")"},
      {"tid", R"("ten_1")"},
      {"sid", R"("ses_1")"},
      {"exp", "1700000300"}};
  std::string out = "{";
  for (const auto& [k, v] : members) {
    if (k == name) continue;
    if (out.size() > 1) out += ",";
    out += "\"" + k + "\":" + v;
  }
  return out + "}";
}

// The standard claims.
std::string standard_payload() {
  return payload_without("");
}

// The standard claims with `name` set to the JSON text `value`.
std::string payload_with(std::string_view name, std::string_view value) {
  std::string out = payload_without(name);
  out.insert(1, "\"" + std::string(name) + "\":" + std::string(value) + ",");
  return out;
}

std::vector<std::string> split(const std::string& token) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = token.find('.', start);
    parts.push_back(token.substr(start, dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

class AccessToken : public testing::Test {
 protected:
  void SetUp() override { crypto::init(); }

  static Result<AccessClaims> verify(std::string_view token, std::int64_t now = kNow,
                                     std::int64_t leeway = 30) {
    return verify_access_token(token, kKey, kIssuer, kAudience, now, leeway);
  }

  // The reason a token is refused, or "accepted".
  static std::string reason(std::string_view token, std::int64_t now = kNow,
                            std::int64_t leeway = 30) {
    Result<AccessClaims> r = Result<AccessClaims>(Error());
    EXPECT_NO_THROW(r = verify(token, now, leeway));
    if (r.ok()) return "accepted";
    EXPECT_EQ(r.error().code, Errc::unauthorized);
    return r.error().message;
  }
};

TEST_F(AccessToken, RoundTrip) {
  const AccessClaims c = sample_claims();
  const std::string token = sign_access_token(c, kKey);
  auto r = verify(token);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->iss, c.iss);
  EXPECT_EQ(r->aud, c.aud);
  EXPECT_EQ(r->sub, c.sub);
  EXPECT_EQ(r->tid, c.tid);
  EXPECT_EQ(r->sid, c.sid);
  EXPECT_EQ(r->jti, c.jti);
  EXPECT_EQ(r->mfa, true);
  EXPECT_EQ(r->iat, c.iat);
  EXPECT_EQ(r->exp, c.exp);

  AccessClaims plain = sample_claims();
  plain.mfa = false;
  plain.jti.clear();
  auto r2 = verify(sign_access_token(plain, kKey));
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_FALSE(r2->mfa);
  EXPECT_EQ(r2->jti, "");
}

TEST_F(AccessToken, HeaderIsExactlyHs256AtJwt) {
  const auto parts = split(sign_access_token(sample_claims(), kKey));
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(crypto::base64url_decode(parts[0]), std::string(kGoodHeader));
  EXPECT_EQ(parts[2].size(), 43u);  // 32 bytes of HMAC-SHA256, unpadded
}

TEST_F(AccessToken, ClaimsWithQuotesAndUnicodeSurvive) {
  AccessClaims c = sample_claims();
  c.sub = "usr \"quoted\" \\ é";
  auto r = verify(sign_access_token(c, kKey));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->sub, c.sub);
}

TEST_F(AccessToken, ExpiredWithLeeway) {
  AccessClaims c = sample_claims();
  c.iat = kNow - 1000;
  c.exp = kNow - 31;
  EXPECT_EQ(reason(sign_access_token(c, kKey)), "expired");
  c.exp = kNow - 30;
  EXPECT_EQ(reason(sign_access_token(c, kKey)), "expired");
  c.exp = kNow - 29;
  EXPECT_EQ(reason(sign_access_token(c, kKey)), "accepted");
  c.exp = kNow;
  EXPECT_EQ(reason(sign_access_token(c, kKey), kNow, 0), "expired");
  c.exp = kNow + 1;
  EXPECT_EQ(reason(sign_access_token(c, kKey), kNow, 0), "accepted");
  // A negative leeway counts as none.
  EXPECT_EQ(reason(sign_access_token(c, kKey), kNow, -100), "accepted");
}

TEST_F(AccessToken, NotYetValid) {
  AccessClaims c = sample_claims();
  c.iat = kNow + 31;
  c.exp = kNow + 600;
  EXPECT_EQ(reason(sign_access_token(c, kKey)), "not yet valid");
  c.iat = kNow + 30;
  EXPECT_EQ(reason(sign_access_token(c, kKey)), "accepted");
  EXPECT_EQ(reason(forge(kGoodHeader, payload_with("nbf", "1700000100"))), "not yet valid");
  EXPECT_EQ(reason(forge(kGoodHeader, payload_with("nbf", "1700000030"))), "accepted");
  EXPECT_EQ(reason(forge(kGoodHeader, payload_with("nbf", R"("soon")"))), "malformed");
}

TEST_F(AccessToken, TamperedPayloadIsABadSignature) {
  const std::string token = sign_access_token(sample_claims(), kKey);
  auto parts = split(token);
  AccessClaims other = sample_claims();
  other.sub = "usr_admin";
  const auto other_parts = split(sign_access_token(other, kKey));
  EXPECT_EQ(reason(parts[0] + "." + other_parts[1] + "." + parts[2]), "bad signature");

  std::string flipped = parts[1];
  flipped[10] = flipped[10] == 'A' ? 'B' : 'A';
  EXPECT_EQ(reason(parts[0] + "." + flipped + "." + parts[2]), "bad signature");
}

TEST_F(AccessToken, TamperedSignature) {
  const auto parts = split(sign_access_token(sample_claims(), kKey));
  std::string sig = parts[2];
  sig[5] = sig[5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(reason(parts[0] + "." + parts[1] + "." + sig), "bad signature");
  EXPECT_EQ(reason(parts[0] + "." + parts[1] + "." + parts[2].substr(0, 42)), "bad signature");
  EXPECT_EQ(reason(parts[0] + "." + parts[1] + "." + parts[2] + "AA"), "bad signature");
  EXPECT_EQ(reason(parts[0] + "." + parts[1] + "." + parts[2] + "="), "bad signature");
  EXPECT_EQ(reason(parts[0] + "." + parts[1] + ".AAAA"), "bad signature");
  EXPECT_EQ(reason(parts[0] + "." + parts[1] + ".!!!!"), "bad signature");
}

TEST_F(AccessToken, WrongKey) {
  const std::string token = sign_access_token(sample_claims(), "some other key");
  EXPECT_EQ(reason(token), "bad signature");
}

TEST_F(AccessToken, EmptyKeyVerifiesNothing) {
  const std::string token = sign_access_token(sample_claims(), "");
  auto r = verify_access_token(token, "", kIssuer, kAudience, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "bad signature");
}

TEST_F(AccessToken, WrongIssuer) {
  AccessClaims c = sample_claims();
  c.iss = "https://evil.example";
  EXPECT_EQ(reason(sign_access_token(c, kKey)), "wrong issuer");
  c.iss = "";
  EXPECT_EQ(reason(sign_access_token(c, kKey)), "wrong issuer");
  EXPECT_EQ(reason(forge(kGoodHeader, payload_without("iss"))), "wrong issuer");
  EXPECT_EQ(reason(forge(kGoodHeader, payload_with("iss", "7"))), "wrong issuer");
}

TEST_F(AccessToken, WrongAudience) {
  AccessClaims c = sample_claims();
  c.aud = "another-api";
  EXPECT_EQ(reason(sign_access_token(c, kKey)), "wrong audience");
  EXPECT_EQ(reason(forge(kGoodHeader, payload_without("aud"))), "wrong audience");
  EXPECT_EQ(reason(forge(kGoodHeader, payload_with("aud", "null"))), "wrong audience");
  EXPECT_EQ(reason(forge(kGoodHeader, payload_with("aud", R"({"x":"ringhouse-api"})"))),
            "wrong audience");
}

TEST_F(AccessToken, AudienceMayBeAnArray) {
  auto r = verify(forge(kGoodHeader, payload_with("aud", R"(["other",1,"ringhouse-api"])")));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->aud, kAudience);
  EXPECT_EQ(reason(forge(kGoodHeader, payload_with("aud", R"(["other","more"])"))),
            "wrong audience");
  EXPECT_EQ(reason(forge(kGoodHeader, payload_with("aud", "[]"))), "wrong audience");
}

TEST_F(AccessToken, AlgNoneIsRefused) {
  const auto parts = split(sign_access_token(sample_claims(), kKey));
  const std::string none = crypto::base64url_encode(R"({"alg":"none","typ":"at+jwt"})");
  // The classic form, with an empty signature.
  EXPECT_NE(reason(none + "." + parts[1] + "."), "accepted");
  // With a signature present, it is the algorithm that is refused.
  EXPECT_EQ(reason(none + "." + parts[1] + "." + parts[2]), "unsupported algorithm");
  EXPECT_EQ(reason(forge(R"({"alg":"none","typ":"at+jwt"})", standard_payload())),
            "unsupported algorithm");
}

TEST_F(AccessToken, OtherAlgorithmsAreRefused) {
  for (std::string_view header :
       {R"({"alg":"HS512","typ":"at+jwt"})", R"({"alg":"HS384","typ":"at+jwt"})",
        R"({"alg":"RS256","typ":"at+jwt"})", R"({"alg":"hs256","typ":"at+jwt"})",
        R"({"alg":"HS256 ","typ":"at+jwt"})", R"({"alg":"","typ":"at+jwt"})",
        R"({"alg":null,"typ":"at+jwt"})", R"({"alg":256,"typ":"at+jwt"})",
        R"({"alg":["HS256"],"typ":"at+jwt"})", R"({"typ":"at+jwt"})", "{}"}) {
    SCOPED_TRACE(header);
    EXPECT_EQ(reason(forge(header, standard_payload())), "unsupported algorithm");
  }
}

TEST_F(AccessToken, TypMustBeAtJwt) {
  EXPECT_EQ(reason(forge(R"({"alg":"HS256"})", standard_payload())), "malformed");
  EXPECT_EQ(reason(forge(R"({"alg":"HS256","typ":"JWT"})", standard_payload())), "malformed");
  EXPECT_EQ(reason(forge(R"({"alg":"HS256","typ":1})", standard_payload())), "malformed");
  EXPECT_EQ(reason(forge(R"({"alg":"HS256","typ":"AT+JWT"})", standard_payload())), "accepted");
  EXPECT_EQ(reason(forge(R"({"alg":"HS256","typ":"application/at+jwt"})", standard_payload())),
            "accepted");
}

TEST_F(AccessToken, CritHeaderIsRefused) {
  EXPECT_EQ(reason(forge(R"({"alg":"HS256","typ":"at+jwt","crit":["exp"]})", standard_payload())),
            "malformed");
  EXPECT_EQ(reason(forge(R"({"alg":"HS256","typ":"at+jwt","crit":[]})", standard_payload())),
            "malformed");
}

TEST_F(AccessToken, ClaimTypesAreChecked) {
  EXPECT_EQ(reason(forge(kGoodHeader, standard_payload())), "accepted");
  EXPECT_EQ(reason(forge(kGoodHeader, payload_without("exp"))), "malformed");
  EXPECT_EQ(reason(forge(kGoodHeader, payload_without("sub"))), "malformed");
  EXPECT_EQ(reason(forge(kGoodHeader, payload_without("tid"))), "malformed");
  EXPECT_EQ(reason(forge(kGoodHeader, payload_without("sid"))), "malformed");
  const std::vector<std::pair<std::string_view, std::string_view>> bad = {
      {"sub", R"("")"},
      {"sub", "42"},
      {"tid", "null"},
      {"sid", R"(["s"])"},
      {"jti", "7"},
      {"mfa", R"("true")"},
      {"mfa", "1"},
      {"iat", R"("now")"},
      {"iat", "1.5"},
      {"exp", R"("1700000300")"},
      {"exp", "1.7e9"},
      {"exp", "1700000300.5"},
      {"exp", "null"},
      {"exp", "true"},
      {"exp", "18446744073709551615"}};
  for (const auto& [name, value] : bad) {
    SCOPED_TRACE(std::string(name) + "=" + std::string(value));
    EXPECT_EQ(reason(forge(kGoodHeader, payload_with(name, value))), "malformed");
  }
}

TEST_F(AccessToken, DuplicateMembersResolveToTheLastOne) {
  // RFC 7515/7519 allow a parser that keeps the lexically last duplicate;
  // Boost.JSON does, so a second "alg" or "iss" cannot smuggle a value past
  // the checks on the first.
  EXPECT_EQ(reason(forge(R"({"alg":"HS256","typ":"at+jwt","alg":"none"})", standard_payload())),
            "unsupported algorithm");
  std::string payload = standard_payload();
  payload.insert(payload.size() - 1, R"(,"iss":"https://evil.example")");
  EXPECT_EQ(reason(forge(kGoodHeader, payload)), "wrong issuer");
}

TEST_F(AccessToken, NonObjectJsonIsMalformed) {
  for (std::string_view payload : {"[]", "[1,2]", "42", "\"claims\"", "null", "true", "", "{",
                                   "{\"iss\":}", "{} {}", "\xff\xfe"}) {
    SCOPED_TRACE(payload);
    EXPECT_EQ(reason(forge(kGoodHeader, payload)), "malformed");
  }
  for (std::string_view header : {"[]", "[\"HS256\"]", "42", "null", "not json", "{"}) {
    SCOPED_TRACE(header);
    EXPECT_EQ(reason(forge(header, standard_payload())), "malformed");
  }
  // Nesting beyond the parser's depth limit is an error, not a stack overflow.
  std::string deep = "{\"x\":" + std::string(1000, '[') + std::string(1000, ']') + "}";
  EXPECT_EQ(reason(forge(kGoodHeader, deep)), "malformed");
}

TEST_F(AccessToken, GarbageIsRefusedWithoutThrowing) {
  const auto parts = split(sign_access_token(sample_claims(), kKey));
  const std::string good_h = parts[0], good_p = parts[1], good_s = parts[2];
  const std::vector<std::string> inputs = {
      "",
      ".",
      "..",
      "...",
      "a",
      "a.b",
      "a.b.c",
      "a.b.c.d",
      good_h + "." + good_p,
      good_h + "." + good_p + "." + good_s + "." + good_s,
      good_h + ".." + good_s,
      "." + good_p + "." + good_s,
      good_h + "=." + good_p + "." + good_s,
      good_h + "." + good_p + "=." + good_s,
      "!!!!." + good_p + "." + good_s,
      good_h + ".!!!!." + good_s,
      crypto::base64url_encode("not json") + "." + good_p + "." + good_s,
      good_h + "." + crypto::base64url_encode("not json") + "." + good_s,
      std::string("\0\0\0", 3),
      std::string(5000, 'A'),
      good_h + "." + std::string(5000, 'A') + "." + good_s,
      std::string(4097, '.'),
      "eyJhbGciOiJIUzI1NiJ9.e30.\xff\xfe",
  };
  for (const auto& input : inputs) {
    SCOPED_TRACE(input.substr(0, 80));
    EXPECT_NE(reason(input), "accepted");
  }
  EXPECT_EQ(reason(std::string(5000, 'A')), "malformed");
  EXPECT_EQ(reason("a.b"), "malformed");
  EXPECT_EQ(reason("a.b.c.d"), "malformed");
}

TEST_F(AccessToken, OversizedTokensAreMalformedEvenIfSigned) {
  AccessClaims c = sample_claims();
  c.sub = std::string(4000, 'x');
  EXPECT_EQ(reason(sign_access_token(c, kKey)), "malformed");
  c.sub = std::string(2000, 'x');
  EXPECT_EQ(reason(sign_access_token(c, kKey)), "accepted");
}

TEST_F(AccessToken, ExtremeClocksAreHandled) {
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  AccessClaims c = sample_claims();
  const std::string token = sign_access_token(c, kKey);
  EXPECT_EQ(reason(token, kMax, kMax), "accepted");
  EXPECT_EQ(reason(token, kMax, 0), "expired");
  EXPECT_EQ(reason(token, kMin, kMax), "not yet valid");  // iat is after kMin + kMax = -1
  EXPECT_EQ(reason(token, kMin, 0), "not yet valid");
  c.exp = kMax;
  c.iat = kMin;
  EXPECT_EQ(reason(sign_access_token(c, kKey), kMax, kMax), "accepted");
  EXPECT_EQ(reason(sign_access_token(c, kKey), kMin, kMax), "accepted");
  c.exp = kMin;
  EXPECT_EQ(reason(sign_access_token(c, kKey), kMin, 0), "expired");
  EXPECT_EQ(reason(sign_access_token(c, kKey), kMin, kMax), "expired");
}

TEST(Base64UrlDecode, InvertsTheEncoder) {
  EXPECT_EQ(crypto::base64url_decode(""), "");
  EXPECT_EQ(crypto::base64url_decode("Zg"), "f");
  EXPECT_EQ(crypto::base64url_decode("Zm8"), "fo");
  EXPECT_EQ(crypto::base64url_decode("Zm9v"), "foo");
  EXPECT_EQ(crypto::base64url_decode("Zm9vYg"), "foob");
  EXPECT_EQ(crypto::base64url_decode("Zm9vYmE"), "fooba");
  EXPECT_EQ(crypto::base64url_decode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(crypto::base64url_decode("-_-_"), "\xfb\xff\xbf");
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(crypto::base64url_decode(crypto::base64url_encode(bytes)), bytes) << i;
    bytes += static_cast<char>((i * 131 + 7) & 0xff);
  }
}

TEST(Base64UrlDecode, IsStrict) {
  for (std::string_view text : {"Zg==", "Zg=", "Zm8=", "=", "Z", "Zm9vY", "Zh", "Zm9", "+/+/",
                                "Zm 9v", "Zm9v\n", " Zm9v", "Zm9v.", "Zm9v%3D"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(crypto::base64url_decode(text), std::nullopt);
  }
  EXPECT_EQ(crypto::base64url_decode(std::string_view("Zm9v\0", 5)), std::nullopt);
  EXPECT_EQ(crypto::base64url_decode(std::string_view("Zm\0v", 4)), std::nullopt);
}

}  // namespace
}  // namespace rh::accounts
