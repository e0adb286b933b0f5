#include "accounts/session_cache.hpp"

#include <algorithm>

namespace rh::accounts {

std::optional<Principal> SessionCache::get(const std::string& key, std::int64_t now_ms) const {
  if (!enabled()) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.expires_at <= now_ms) return std::nullopt;
  return it->second.principal;
}

void SessionCache::put(const std::string& key, const Principal& p, std::int64_t now_ms,
                       std::int64_t valid_until_ms) {
  if (!enabled()) return;
  std::int64_t until = std::min(now_ms + ttl_ms_, valid_until_ms);
  if (until <= now_ms) return;
  std::lock_guard lock(mu_);
  if (entries_.size() >= max_entries_) {
    // Drop what has expired; if that is not enough, start over.
    std::erase_if(entries_, [&](const auto& kv) { return kv.second.expires_at <= now_ms; });
    if (entries_.size() >= max_entries_) entries_.clear();
  }
  entries_[key] = Entry{p, until};
}

void SessionCache::forget(const std::string& key) {
  if (!enabled()) return;
  std::lock_guard lock(mu_);
  entries_.erase(key);
}

void SessionCache::forget_user(const std::string& user_id) {
  if (!enabled()) return;
  std::lock_guard lock(mu_);
  std::erase_if(entries_, [&](const auto& kv) { return kv.second.principal.user_id == user_id; });
}

std::size_t SessionCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace rh::accounts
