#include "accounts/passwords.hpp"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace rh::accounts {

namespace {
constexpr std::uint64_t kMinMemoryKib = 19456;
constexpr std::uint64_t kMinPasses = 2;
constexpr std::size_t kMaxPasswordBytes = 256;
}  // namespace

PasswordHasher::PasswordHasher(HashParams p) : p_(p) {
  if (p_.memory_kib < kMinMemoryKib || p_.passes < kMinPasses)
    throw std::invalid_argument("Argon2id needs at least 19456 KiB of memory and 2 passes");
}

Result<std::string> PasswordHasher::hash(std::string_view password) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), p_.passes,
                            static_cast<std::size_t>(p_.memory_kib * 1024),
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return make_error(Errc::unavailable, "out of memory hashing a password");
  }
  return std::string(out);
}

bool PasswordHasher::verify(std::string_view stored, std::string_view password) const {
  if (stored.empty() || stored.size() >= crypto_pwhash_STRBYTES) return false;
  std::string s(stored);  // NUL-terminated
  return crypto_pwhash_str_verify(s.c_str(), password.data(), password.size()) == 0;
}

bool PasswordHasher::needs_rehash(std::string_view stored) const {
  std::string s(stored);
  return crypto_pwhash_str_needs_rehash(s.c_str(), p_.passes,
                                        static_cast<std::size_t>(p_.memory_kib * 1024)) != 0;
}

void PasswordHasher::verify_dummy(std::string_view password) const {
  std::call_once(dummy_once_, [this] {
    auto h = hash("ringhouse dummy password");
    dummy_ = h ? std::move(*h) : std::string();
  });
  if (dummy_.empty()) {
    (void)hash(password);  // out of memory once: spend the time anyway
    return;
  }
  (void)verify(dummy_, password);
}

Status check_new_password(std::string_view password, std::string_view email, std::size_t min_len,
                          std::string_view field) {
  std::string f(field);
  if (password.size() < min_len)
    return Error(Errc::invalid_argument, f,
                 "must be at least " + std::to_string(min_len) + " characters");
  if (password.size() > kMaxPasswordBytes)
    return Error(Errc::invalid_argument, f, "must be at most 256 bytes");
  if (password.find('\0') != std::string_view::npos)
    return Error(Errc::invalid_argument, f, "must not contain NUL characters");
  auto lower = [](std::string_view s) {
    std::string o(s);
    std::transform(o.begin(), o.end(), o.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return o;
  };
  if (!email.empty() && lower(password) == lower(email))
    return Error(Errc::invalid_argument, f, "must not be the email address");
  bool all_same =
      std::all_of(password.begin(), password.end(), [&](char c) { return c == password.front(); });
  if (all_same) return Error(Errc::invalid_argument, f, "must not be one repeated character");
  return {};
}

}  // namespace rh::accounts
