// TOTP second factor (RFC 6238 over RFC 4226 HOTP, HMAC-SHA1, 6 digits, 30 s
// steps): what authenticator apps speak. Pure functions, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rh::accounts::totp {

constexpr int kDigits = 6;
constexpr std::int64_t kStepSeconds = 30;

// RFC 4648 base32, upper case, without padding (the form otpauth URIs use).
std::string base32_encode(std::string_view bytes);
// Case-insensitive; ignores spaces, dashes and '=' padding. nullopt on any
// other character or a bad length.
std::optional<std::string> base32_decode(std::string_view text);

// RFC 4226 HOTP value for a counter, truncated to `digits` decimal digits.
std::uint32_t hotp(std::string_view key, std::uint64_t counter, int digits = kDigits);

// Checks a code typed by the user at unix time `now_s`, accepting the steps
// within `window` of now. Steps at or before `last_used_step` are refused, so
// a code works once. Returns the matched step (to store as the new
// last_used_step), else nullopt. Codes must be exactly kDigits ASCII digits.
std::optional<std::int64_t> verify(std::string_view key, std::string_view code, std::int64_t now_s,
                                   std::int64_t last_used_step, int window = 1);

// otpauth://totp/Issuer:account?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30
std::string provisioning_uri(std::string_view issuer, std::string_view account,
                             std::string_view key);

}  // namespace rh::accounts::totp
