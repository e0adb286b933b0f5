// Password hashing with Argon2id (libsodium's crypto_pwhash, PHC string
// format). Hashing is deliberately slow and memory-hard: call it on a
// blocking pool, never on an I/O thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace rh::accounts {

struct HashParams {
  std::uint64_t memory_kib = 19456;  // OWASP's minimum for Argon2id: 19 MiB
  std::uint64_t passes = 2;
};

class PasswordHasher {
 public:
  // Throws std::invalid_argument below the minimum (19 MiB, 2 passes).
  explicit PasswordHasher(HashParams p);

  // "$argon2id$v=19$m=19456,t=2,p=1$salt$hash"; unavailable when memory is short.
  Result<std::string> hash(std::string_view password) const;
  // Constant-time; false for a malformed or empty stored hash.
  bool verify(std::string_view stored, std::string_view password) const;
  // True when the stored hash used weaker parameters than the current ones.
  bool needs_rehash(std::string_view stored) const;
  // Spends the time of one verification, for an unknown account, so that
  // response times do not tell which emails have accounts.
  void verify_dummy(std::string_view password) const;
  const HashParams& params() const { return p_; }

 private:
  HashParams p_;
  // Made on first use, not at start-up (19 MiB and ~20 ms of CPU).
  mutable std::once_flag dummy_once_;
  mutable std::string dummy_;
};

// Length and content rules for a new password (NIST SP 800-63B: a minimum
// length, a maximum that bounds hashing cost, no composition rules, and a
// refusal of passwords equal to the email). Returns invalid_argument naming
// `field`.
Status check_new_password(std::string_view password, std::string_view email, std::size_t min_len,
                          std::string_view field = "password");

}  // namespace rh::accounts
