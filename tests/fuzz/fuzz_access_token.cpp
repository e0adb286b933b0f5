// Fuzz target: access tokens from clients (the Authorization header). Any
// input, as a whole token or as the claims of a correctly signed one, is
// verified without crashing; what is accepted has its required claims and
// signs and verifies back to the same claims.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "accounts/access_token.hpp"
#include "core/crypto.hpp"

namespace {

constexpr std::string_view kKey = "fuzz-key-0123456789abcdef0123456789";
constexpr std::string_view kIssuer = "https://ringhouse.example";
constexpr std::string_view kAudience = "ringhouse-api";
constexpr std::int64_t kNow = 1700000000;

void check(std::string_view token) {
  auto r = rh::accounts::verify_access_token(token, kKey, kIssuer, kAudience, kNow);
  if (!r) {
    if (r.error().code != rh::Errc::unauthorized || r.error().message.empty()) __builtin_trap();
    return;
  }
  const rh::accounts::AccessClaims& c = *r;
  if (c.iss != kIssuer || c.aud != kAudience || c.sub.empty() || c.tid.empty() || c.sid.empty() ||
      c.exp <= kNow - 30)
    __builtin_trap();
  auto again = rh::accounts::verify_access_token(rh::accounts::sign_access_token(c, kKey), kKey,
                                                 kIssuer, kAudience, kNow);
  if (!again) {
    // Re-signing can only fail by growing past the size limit.
    if (again.error().message != "malformed") __builtin_trap();
    return;
  }
  if (again->sub != c.sub || again->tid != c.tid || again->sid != c.sid || again->jti != c.jti ||
      again->mfa != c.mfa || again->iat != c.iat || again->exp != c.exp)
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool kInitialised = (rh::crypto::init(), true);
  (void)kInitialised;
  std::string_view s(reinterpret_cast<const char*>(data), size);
  // The input as a token.
  check(s);
  // The input as the claims of a token signed with the right key, so that
  // claim parsing is reached without guessing an HMAC.
  std::string input = rh::crypto::base64url_encode(R"({"alg":"HS256","typ":"at+jwt"})") + "." +
                      rh::crypto::base64url_encode(s);
  check(input + "." + rh::crypto::base64url_encode(rh::crypto::hmac_sha256(kKey, input)));
  return 0;
}
