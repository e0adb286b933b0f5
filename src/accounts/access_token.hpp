// Short-lived access tokens: compact JWS (RFC 7515/7519) signed with HMAC
// SHA-256 under a server key, following RFC 8725: the algorithm is pinned to
// HS256 (a token naming any other, "none" included, is refused before its
// signature is looked at), iss, aud and exp are required and checked, and
// typ is "at+jwt" (RFC 9068) so that no other JWT passes for an access token.
// Pure functions, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace rh::accounts {

struct AccessClaims {
  std::string iss;
  std::string aud;
  std::string sub;   // user id
  std::string tid;   // tenant id
  std::string sid;   // session id (refresh-token family)
  std::string jti;   // unique token id
  bool mfa = false;  // the session passed a second factor
  std::int64_t iat = 0;
  std::int64_t exp = 0;
};

// Header {"alg":"HS256","typ":"at+jwt"}; claims as above ("mfa" a boolean).
std::string sign_access_token(const AccessClaims& c, std::string_view key);

// Verifies signature (constant time), algorithm, typ, iss, aud (a string or
// an array containing it), exp (with `leeway_s`), nbf/iat not in the future
// (with leeway), and that sub/tid/sid are present strings. Any failure is
// Errc::unauthorized with a short reason ("expired", "bad signature",
// "wrong audience", "unsupported algorithm", "malformed").
Result<AccessClaims> verify_access_token(std::string_view token, std::string_view key,
                                         std::string_view issuer, std::string_view audience,
                                         std::int64_t now_s, std::int64_t leeway_s = 30);

}  // namespace rh::accounts
