// Time comes from an injectable clock so that schedules, leases and back-off
// can be tested without sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rh {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch (wall clock, UTC).
  virtual std::int64_t now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t now_ms() const override;
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  std::int64_t now_ms() const override { return now_.load(); }
  void advance_ms(std::int64_t d) { now_ += d; }
  void set_ms(std::int64_t t) { now_ = t; }

 private:
  std::atomic<std::int64_t> now_;
};

// RFC 3339 UTC with milliseconds: 2026-11-25T21:37:17.123Z
std::string format_rfc3339(std::int64_t ms);
// Parses RFC 3339 ("2026-11-25T21:37:17Z", fractions and offsets allowed).
std::optional<std::int64_t> parse_rfc3339(std::string_view s);

}  // namespace rh
