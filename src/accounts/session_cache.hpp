// A node's short memory of valid credentials: which sessions and API keys it
// checked against the database in the last `ttl_ms`, and who they belong to.
// An authenticated request whose credential is remembered needs no database
// round trip for its check. Every change that ends or narrows a credential on
// this node (logout, revocation, suspension, role, password or TOTP changes)
// forgets it at once; a change made on another node, or with the CLI, applies
// here within ttl_ms. A ttl of 0 turns the cache off.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/principal.hpp"

namespace rh::accounts {

class SessionCache {
 public:
  explicit SessionCache(std::int64_t ttl_ms, std::size_t max_entries = 100'000)
      : ttl_ms_(ttl_ms), max_entries_(max_entries) {}

  bool enabled() const { return ttl_ms_ > 0; }
  std::int64_t ttl_ms() const { return ttl_ms_; }

  std::optional<Principal> get(const std::string& key, std::int64_t now_ms) const;
  // Remembers until min(now + ttl, valid_until).
  void put(const std::string& key, const Principal& p, std::int64_t now_ms,
           std::int64_t valid_until_ms);
  void forget(const std::string& key);
  void forget_user(const std::string& user_id);
  std::size_t size() const;

 private:
  struct Entry {
    Principal principal;
    std::int64_t expires_at = 0;
  };
  std::int64_t ttl_ms_;
  std::size_t max_entries_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace rh::accounts
