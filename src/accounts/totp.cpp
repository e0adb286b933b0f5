// TOTP (RFC 6238) over HOTP (RFC 4226) with HMAC-SHA1 from OpenSSL, the
// RFC 4648 base32 that authenticator apps exchange secrets in, and the
// otpauth:// provisioning URI they scan.
#include "accounts/totp.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <climits>

#include "core/crypto.hpp"

namespace rh::accounts::totp {
namespace {

constexpr char kBase32Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
// A wider window would let a guesser try many steps per attempt; callers
// asking for more get this many steps either side of now.
constexpr int kMaxWindow = 10;

// Value of a base32 character (either case), or -1.
int base32_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

// floor(t / kStepSeconds), also for negative t, without overflow.
std::int64_t step_of(std::int64_t t) {
  std::int64_t q = t / kStepSeconds;
  if (t % kStepSeconds < 0) --q;
  return q;
}

std::string zero_padded(std::uint32_t value, int digits) {
  std::string s = std::to_string(value);
  if (s.size() < static_cast<std::size_t>(digits))
    s.insert(0, static_cast<std::size_t>(digits) - s.size(), '0');
  return s;
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// RFC 3986 percent-encoding of everything but the unreserved characters.
std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (is_unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string base32_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += kBase32Alphabet[(acc >> bits) & 31];
    }
    acc &= (1u << bits) - 1;
  }
  if (bits > 0) out += kBase32Alphabet[(acc << (5 - bits)) & 31];
  return out;
}

std::optional<std::string> base32_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 5 / 8);
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t chars = 0;
  for (char c : text) {
    if (c == ' ' || c == '-' || c == '=') continue;
    int v = base32_value(c);
    if (v < 0) return std::nullopt;
    ++chars;
    acc = (acc << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
      acc &= (1u << bits) - 1;
    }
  }
  // A final group of 8 characters carries 1..5 bytes in 2, 4, 5, 7 or 8 of
  // them; 1, 3 or 6 characters cannot come from an encoder.
  switch (chars % 8) {
    case 1:
    case 3:
    case 6:
      return std::nullopt;
    default:
      return out;
  }
}

std::uint32_t hotp(std::string_view key, std::uint64_t counter, int digits) {
  std::array<unsigned char, 8> msg{};
  for (int i = 7; i >= 0; --i) {
    msg[static_cast<std::size_t>(i)] = static_cast<unsigned char>(counter & 0xff);
    counter >>= 8;
  }
  // OpenSSL takes the key length as an int; a NULL key would mean "reuse the
  // previous key", so an empty key still gets a valid pointer.
  static const unsigned char kEmpty = 0;
  const void* key_ptr = key.empty() ? &kEmpty : static_cast<const void*>(key.data());
  int key_len = static_cast<int>(std::min<std::size_t>(key.size(), INT_MAX));
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha1(), key_ptr, key_len, msg.data(), msg.size(), mac.data(), &mac_len) == nullptr ||
      mac_len < 20)
    return 0;
  // Dynamic truncation (RFC 4226 §5.3).
  unsigned offset = mac[19] & 0x0f;
  std::uint32_t bin = (static_cast<std::uint32_t>(mac[offset] & 0x7f) << 24) |
                      (static_cast<std::uint32_t>(mac[offset + 1]) << 16) |
                      (static_cast<std::uint32_t>(mac[offset + 2]) << 8) |
                      static_cast<std::uint32_t>(mac[offset + 3]);
  if (digits <= 0) return 0;
  if (digits >= 10) return bin;  // bin < 2^31 < 10^10
  std::uint32_t mod = 1;
  for (int i = 0; i < digits; ++i) mod *= 10;
  return bin % mod;
}

std::optional<std::int64_t> verify(std::string_view key, std::string_view code, std::int64_t now_s,
                                   std::int64_t last_used_step, int window) {
  if (code.size() != static_cast<std::size_t>(kDigits)) return std::nullopt;
  for (char c : code)
    if (c < '0' || c > '9') return std::nullopt;
  window = std::clamp(window, 0, kMaxWindow);
  // |step_of(now_s)| <= 2^63 / 30, so adding the window cannot overflow.
  const std::int64_t now_step = step_of(now_s);
  std::optional<std::int64_t> matched;
  // Every candidate is computed and compared, so the time taken does not
  // depend on which step (if any) the code belongs to.
  for (std::int64_t step = now_step - window; step <= now_step + window; ++step) {
    if (step < 0 || step <= last_used_step) continue;  // before 1970, or already used
    std::string expected = zero_padded(hotp(key, static_cast<std::uint64_t>(step)), kDigits);
    if (crypto::constant_time_equal(expected, code) && !matched) matched = step;
  }
  return matched;
}

std::string provisioning_uri(std::string_view issuer, std::string_view account,
                             std::string_view key) {
  std::string uri = "otpauth://totp/";
  if (!issuer.empty()) uri += percent_encode(issuer) + ":";
  uri += percent_encode(account);
  uri += "?secret=" + base32_encode(key);
  if (!issuer.empty()) uri += "&issuer=" + percent_encode(issuer);
  uri += "&algorithm=SHA1&digits=" + std::to_string(kDigits) +
         "&period=" + std::to_string(kStepSeconds);
  return uri;
}

}  // namespace rh::accounts::totp
