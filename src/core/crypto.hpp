// Small crypto helpers over libsodium: random bytes, encodings, hashing and
// constant-time comparison.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rh::crypto {

// Initialises libsodium; safe to call more than once. Throws on failure.
void init();

std::string random_bytes(std::size_t n);
std::uint64_t random_u64();
// Uniform in [0, bound).
std::uint64_t random_below(std::uint64_t bound);

std::string hex_encode(std::string_view bytes);
std::string base64url_encode(std::string_view bytes);  // unpadded
std::string base64_encode(std::string_view bytes);     // RFC 4648 §4, padded (MIME)
// Strict inverse of base64url_encode: the RFC 4648 §5 alphabet without padding
// ('=' refused), and no stray bits after the last byte. nullopt on any error.
std::optional<std::string> base64url_decode(std::string_view text);
// RFC 3986 percent-decoding ('+' as a space too for form data); nullopt on
// a malformed escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space = false);
// A URL-safe random token carrying `bytes` bytes of entropy.
std::string random_token(std::size_t bytes = 32);

std::string sha256(std::string_view data);                             // raw 32 bytes
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes
bool constant_time_equal(std::string_view a, std::string_view b);

// Authenticated encryption of secrets at rest (libsodium secretbox, XSalsa20-
// Poly1305) under a key derived from `key` (any length; SHA-256 of it is
// used). seal returns base64url(nonce || ciphertext); unseal returns nullopt
// for a tampered text or a wrong key.
std::string seal(std::string_view key, std::string_view plain);
std::optional<std::string> unseal(std::string_view key, std::string_view sealed);

}  // namespace rh::crypto
