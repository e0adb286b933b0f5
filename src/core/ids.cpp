#include "core/ids.hpp"

#include "core/clock.hpp"
#include "core/crypto.hpp"

namespace rh {

namespace {
constexpr char kAlphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
}

std::string new_id(std::string_view prefix, std::int64_t now_ms) {
  std::string out(prefix);
  out += '_';
  // 26 chars: 10 for time (50 bits, top 2 zero), 16 for 80 random bits.
  auto t = static_cast<std::uint64_t>(now_ms);
  char buf[26];
  for (int i = 9; i >= 0; --i) {
    buf[i] = kAlphabet[t & 31];
    t >>= 5;
  }
  std::string rnd = crypto::random_bytes(10);
  std::uint64_t hi = 0, lo = 0;
  for (int i = 0; i < 5; ++i) hi = (hi << 8) | static_cast<unsigned char>(rnd[i]);
  for (int i = 5; i < 10; ++i) lo = (lo << 8) | static_cast<unsigned char>(rnd[i]);
  for (int i = 17; i >= 10; --i) {
    buf[i] = kAlphabet[hi & 31];
    hi >>= 5;
  }
  for (int i = 25; i >= 18; --i) {
    buf[i] = kAlphabet[lo & 31];
    lo >>= 5;
  }
  out.append(buf, 26);
  return out;
}

std::string new_id(std::string_view prefix) {
  return new_id(prefix, SystemClock().now_ms());
}

bool is_id(std::string_view s, std::string_view prefix) {
  if (s.size() != prefix.size() + 27 || s.substr(0, prefix.size()) != prefix ||
      s[prefix.size()] != '_')
    return false;
  for (char c : s.substr(prefix.size() + 1)) {
    bool ok = false;
    for (const char* a = kAlphabet; *a; ++a) ok |= (*a == c);
    if (!ok) return false;
  }
  return true;
}

}  // namespace rh
