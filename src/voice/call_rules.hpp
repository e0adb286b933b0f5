// Call rules: what happens when someone calls a user's number. A pure
// function from (rules, call, time) to a routing plan, one stage at a time:
// the route hook asks for the first stage when the call arrives and for the
// next one each time a stage fails. Nothing here does I/O or keeps state;
// the only outside input is the system's time zone database (for the DND
// schedule, in the user's local time).
//
// The JSON format users PUT is documented, with examples, in docs/call-rules.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace rh::voice {

// A weekly do-not-disturb window in the user's local time. It starts on each
// of its days at start_min and ends at end_min (exclusive); when end_min <
// start_min it crosses midnight and ends on the next day ("fri 22:00-07:00"
// runs from Friday 22:00 to Saturday 07:00).
struct DndWindow {
  std::array<bool, 7> days{};  // [0] Monday ... [6] Sunday
  int start_min = 0;           // minutes after local midnight, 0..1439
  int end_min = 0;             // 0..1440 (1440: "24:00"), never equal to start_min
  bool operator==(const DndWindow&) const = default;
};

// What to do when the devices and forward numbers did not answer, were busy,
// or DND (or allow_only) stopped them from ringing.
struct Fallback {
  enum class Action { voicemail, forward, reject };
  Action action = Action::voicemail;
  std::string number;  // E.164, for forward
  bool operator==(const Fallback&) const = default;
};

// Validated rules; the defaults are what "{}" means: ring the user's devices
// for 25 s, then voicemail. Numbers are E.164; list entries are E.164
// numbers or prefixes ending in '*' ("+1900*").
struct CallRules {
  std::vector<std::string> block;  // callers refused with 603
  std::vector<std::string> allow;  // callers that always ring: beat block, allow_only and DND
  bool allow_only = false;         // only callers in allow ring; others get fallback.dnd
  bool reject_anonymous = false;   // a caller who hides their number (or has none) gets 433

  struct Dnd {
    bool manual = false;              // DND on now, until turned off
    std::vector<DndWindow> schedule;  // DND during these weekly windows
    bool operator==(const Dnd&) const = default;
  } dnd;

  struct Ring {
    bool devices = true;  // ring the user's apps and SIP phones
    int timeout_s = 25;
    bool operator==(const Ring&) const = default;
  } ring;

  struct Forward {
    enum class Mode { simultaneous, sequential };
    std::vector<std::string> numbers;  // E.164, at most kMaxForwardNumbers
    Mode mode = Mode::simultaneous;
    int timeout_s = 20;  // each number in sequential mode (and the simultaneous
                         // stage when devices do not ring); a forward fallback
    bool operator==(const Forward&) const = default;
  } forward;

  struct Fallbacks {
    Fallback no_answer;
    Fallback busy;
    Fallback dnd;  // also callers refused by allow_only
    bool operator==(const Fallbacks&) const = default;
  } fallback;

  bool operator==(const CallRules&) const = default;
};

inline constexpr int kMinTimeoutS = 5;
inline constexpr int kMaxTimeoutS = 120;
inline constexpr std::size_t kMaxForwardNumbers = 10;
inline constexpr std::size_t kMaxListEntries = 1000;  // block, allow: each
inline constexpr std::size_t kMaxDndWindows = 50;
inline constexpr std::size_t kMaxRulesJsonBytes = 256 * 1024;
inline constexpr std::size_t kMaxRuleProblems = 50;  // the rest are not reported

// A reason the input was refused: field is a path into the JSON
// ("dnd.schedule[0].start", "block[3]"), "" for the document itself (not
// JSON, not an object, too large).
struct RuleProblem {
  std::string field;
  std::string message;
  bool operator==(const RuleProblem&) const = default;
};

// Parses and validates rules JSON (a whole document: absent fields take their
// defaults, null counts as absent). Numbers may be E.164 or national in
// default_country ("US"); block/allow prefixes must be international
// ("+1900*"). An unknown field, a wrong type or a value out of range is a
// problem; all problems are returned, at most kMaxRuleProblems. Never throws
// (except std::bad_alloc).
std::variant<CallRules, std::vector<RuleProblem>> parse_call_rules(
    std::string_view json, std::string_view default_country);

// The canonical JSON: every field, defaults included, numbers in E.164.
// parse_call_rules(call_rules_json(r), any country) gives r back.
std::string call_rules_json(const CallRules& rules);

struct InboundCall {
  std::string caller;      // E.164, or empty when unknown
  bool anonymous = false;  // the caller asked to hide their number (Privacy: id)
  std::int64_t at_ms = 0;  // when the call started, UTC ms since the epoch
  std::string time_zone;   // the user's IANA zone ("America/New_York"); unknown or empty: UTC
};

struct Target {
  enum class Kind { devices, number, voicemail };
  Kind kind = Kind::devices;
  std::string number;  // E.164, for number
  bool operator==(const Target&) const = default;
};

// Why the plan is what it is: for logs and call records.
enum class PlanCause {
  ring,        // the rules' own stages: devices and forward numbers
  dnd,         // DND (manual or scheduled) sent the call to fallback.dnd
  allow_only,  // the caller is not on the allow list: fallback.dnd
  no_answer,   // fallback.no_answer
  busy,        // fallback.busy
  blocked,     // the caller is on the block list
  anonymous,   // reject_anonymous and the caller hid their number
  exhausted,   // every stage failed
};
const char* plan_cause_name(PlanCause c);  // "ring", "dnd", ...

// Ring all targets in parallel for timeout_s; 0 (a voicemail stage): no ring
// timeout, voicemail answers.
struct Stage {
  std::vector<Target> targets;
  int timeout_s = 0;
  PlanCause cause = PlanCause::ring;
  bool operator==(const Stage&) const = default;
};

// Refuse the call with this SIP code and reason phrase.
struct Reject {
  int code = 480;
  std::string reason;
  PlanCause cause = PlanCause::exhausted;
  bool operator==(const Reject&) const = default;
};

// The first stage (failed_stages == 0), or the stage after failed_stages
// stages failed, the last with final SIP code last_code (486/600: busy;
// anything else, 408/480/487 included: no answer). In order:
//   1. a caller on the allow list skips 2-4;
//   2. blocked caller: 603 Decline;
//   3. anonymous (or no number) with reject_anonymous: 433 Anonymity Disallowed;
//   4. allow_only, or DND (manual, or a schedule window at at_ms in the
//      user's zone): fallback.dnd, one stage;
//   5. the ring stages: devices with the forward numbers (simultaneous), or
//      devices then each forward number in turn (sequential); then
//      fallback.busy or fallback.no_answer by last_code, one stage;
// and when no stage remains: 480 Temporarily Unavailable. A reject fallback
// is 486 Busy Here for busy and 480 Temporarily Unavailable otherwise.
// at_ms is the call's start, so every stage of one call sees the same DND.
std::variant<Stage, Reject> plan_inbound(const CallRules& rules, const InboundCall& call,
                                         int failed_stages = 0, int last_code = 0);

// True when DND is on for a call at at_ms in time_zone (manual or scheduled).
bool dnd_active(const CallRules& rules, std::int64_t at_ms, std::string_view time_zone);

}  // namespace rh::voice
