// Rate decks: per-destination prices a tenant charges, imported from CSV,
// matched by the longest prefix of the E.164 digits. Rating is pure
// arithmetic in integer micro-units, rounded up (in the operator's favour,
// as carriers bill): nothing here touches the database except RateStore.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/csv.hpp"
#include "core/result.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"

namespace rh::billing {

struct Rate {
  std::string prefix;  // E.164 digits without '+': "1", "1415", "44"
  std::string description;
  std::int64_t per_minute_micros = 0;
  std::int64_t connect_micros = 0;  // charged once per answered call
  int first_increment_s = 60;       // "60/60": the first 60 s, then 60 s steps
  int next_increment_s = 60;
  std::int64_t sms_micros = 0;  // per segment
  std::int64_t mms_micros = 0;  // per message
};

// Columns, by header name (order free, names case-insensitive):
//   prefix (required; digits, optional leading '+'), description,
//   per_minute (decimal), connect_fee (decimal), increment ("60/60", "6/6",
//   "1/1", or one number for both), sms (decimal, per segment), mms (decimal)
// Missing optional columns read as 0 ("60/60" for increment). A duplicate
// prefix, a negative price or a bad increment is a problem on its line.
struct ParsedDeck {
  std::vector<Rate> rates;
  std::vector<csv::LineProblem> problems;  // empty when the deck is usable
};
ParsedDeck parse_rate_csv(std::string_view text);

// An immutable deck with longest-prefix lookup.
class RateDeck {
 public:
  explicit RateDeck(std::vector<Rate> rates);
  // The index holds views into rates_: a copy builds its own; a move keeps
  // the vector's buffer, so the views stay valid.
  RateDeck(const RateDeck& other) : RateDeck(other.rates_) {}
  RateDeck& operator=(const RateDeck& other) {
    if (this != &other) *this = RateDeck(other.rates_);
    return *this;
  }
  RateDeck(RateDeck&&) noexcept = default;
  RateDeck& operator=(RateDeck&&) noexcept = default;
  ~RateDeck() = default;
  // The rate for an E.164 number ("+14155550100" or digits), or nullptr.
  const Rate* match(std::string_view e164) const;
  std::size_t size() const { return rates_.size(); }
  const std::vector<Rate>& rates() const { return rates_; }

 private:
  std::vector<Rate> rates_;
  std::unordered_map<std::string_view, const Rate*> by_prefix_;
  std::size_t max_len_ = 0;
  // A one-hash Bloom filter over every prefix (its length and digits): most
  // leading digits of a number are no prefix, and one bit rules them out
  // without a hash-table probe (rating_bench: several times fewer cache misses).
  std::vector<std::uint64_t> filter_;
  int filter_shift_ = 63;
};

// Seconds billed for a call of duration_s: 0 for 0 s; otherwise the first
// increment, then whole next increments rounded up.
std::int64_t billed_seconds(const Rate& r, std::int64_t duration_s);
// connect fee + billed seconds at per_minute, rounded up to a micro-unit; 0
// for an unanswered (0 s) call.
std::int64_t call_cost(const Rate& r, std::int64_t duration_s);
// The longest call (seconds, a whole number of increments) whose cost is at
// most balance_micros; 0 when not even the connect fee and first increment
// fit. A free destination (all zero) returns max_s.
std::int64_t max_affordable_seconds(const Rate& r, std::int64_t balance_micros,
                                    std::int64_t max_s = 86'400);
// segments * sms rate, or the mms rate.
std::int64_t message_cost(const Rate& r, bool mms, int segments);

struct DeckInfo {
  std::string id;  // rdk_...
  std::string tenant_id;
  std::string name;
  std::int64_t rate_count = 0;
  bool active = false;
  std::int64_t created_at = 0;
};

struct ImportResult {
  std::optional<DeckInfo> deck;            // set when imported
  std::vector<csv::LineProblem> problems;  // set when refused: nothing was stored
};

// Decks in the database, one active per tenant; the active deck is cached in
// memory and reloaded when another import replaces it (checked at most once
// a second, so other nodes' imports are seen).
class RateStore {
 public:
  RateStore(storage::Database& db, const Clock& clock) : db_(db), clock_(clock) {}
  // Parses and stores a deck and makes it the tenant's active one, all in one
  // transaction; any bad row refuses the whole file.
  Result<ImportResult> import(const std::string& tenant_id, const std::string& name,
                              std::string_view csv);
  Result<std::vector<DeckInfo>> list(const std::string& tenant_id);
  // The tenant's active deck (empty deck when none was imported).
  Result<std::shared_ptr<const RateDeck>> active(const std::string& tenant_id);
  // The rate for a destination under the tenant's active deck; not_found
  // (reason "no_rate") when no prefix matches.
  Result<Rate> lookup(const std::string& tenant_id, std::string_view e164);

 private:
  struct Cached {
    std::string deck_id;
    std::shared_ptr<const RateDeck> deck;
    std::int64_t checked_at = 0;
  };
  storage::Database& db_;
  const Clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;
};

// rate_decks and rates tables.
std::vector<storage::Migration> rate_migrations();

}  // namespace rh::billing
