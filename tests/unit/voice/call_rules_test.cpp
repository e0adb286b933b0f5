#include "voice/call_rules.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <variant>
#include <vector>

namespace rh::voice {
namespace {

// UTC ms of a calendar instant (a fixed point in time: tests never read the clock).
std::int64_t utc(int y, unsigned mo, unsigned d, int h, int mi) {
  using namespace std::chrono;
  auto t = sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi};
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

std::string describe(const std::vector<RuleProblem>& ps) {
  std::string s;
  for (const auto& p : ps) s += "[" + p.field + "] " + p.message + "\n";
  return s;
}

CallRules parse_ok(std::string_view json, std::string_view country = "US") {
  auto r = parse_call_rules(json, country);
  if (auto* ps = std::get_if<std::vector<RuleProblem>>(&r)) {
    ADD_FAILURE() << "unexpected problems for " << json << ":\n" << describe(*ps);
    return {};
  }
  return std::get<CallRules>(r);
}

std::vector<RuleProblem> problems(std::string_view json, std::string_view country = "US") {
  auto r = parse_call_rules(json, country);
  if (std::holds_alternative<CallRules>(r)) {
    ADD_FAILURE() << "accepted: " << json;
    return {};
  }
  return std::get<std::vector<RuleProblem>>(r);
}

Stage stage(const std::variant<Stage, Reject>& plan) {
  if (const auto* r = std::get_if<Reject>(&plan)) {
    ADD_FAILURE() << "rejected " << r->code << " " << r->reason;
    return {};
  }
  return std::get<Stage>(plan);
}

Reject reject(const std::variant<Stage, Reject>& plan) {
  if (std::holds_alternative<Stage>(plan)) {
    ADD_FAILURE() << "expected a reject, got a stage";
    return {};
  }
  return std::get<Reject>(plan);
}

const Target kDevices{Target::Kind::devices, {}};
const Target kVoicemail{Target::Kind::voicemail, {}};
Target number(std::string n) {
  return Target{Target::Kind::number, std::move(n)};
}

InboundCall call_from(std::string caller) {
  InboundCall c;
  c.caller = std::move(caller);
  c.at_ms = utc(2024, 7, 3, 15, 0);  // a Wednesday afternoon
  c.time_zone = "America/New_York";
  return c;
}

const std::string kCaller = "+14155550100";
const std::string kCell = "+14155550132";
const std::string kOffice = "+14155550133";

// ---------------------------------------------------------------------------
// Parsing

TEST(CallRulesParse, EmptyObjectRingsDevicesThenVoicemail) {
  CallRules r = parse_ok("{}");
  EXPECT_EQ(r, CallRules{});
  EXPECT_TRUE(r.ring.devices);
  EXPECT_EQ(r.ring.timeout_s, 25);
  EXPECT_EQ(r.fallback.no_answer.action, Fallback::Action::voicemail);
  EXPECT_EQ(r.fallback.busy.action, Fallback::Action::voicemail);
  EXPECT_EQ(r.fallback.dnd.action, Fallback::Action::voicemail);
  EXPECT_EQ(r.forward.mode, CallRules::Forward::Mode::simultaneous);
  EXPECT_EQ(r.forward.timeout_s, 20);
}

TEST(CallRulesParse, ReadsEveryField) {
  CallRules r = parse_ok(R"({
    "block": ["+1 (415) 555-0199", "+1900*", "+15551234567"],
    "allow": ["415-555-0100", "+44*"],
    "allow_only": true,
    "reject_anonymous": true,
    "dnd": {"manual": true, "schedule": [
      {"days": ["mon", "TUE", "Wednesday"], "start": "22:00", "end": "07:00"},
      {"start": "12:00", "end": "24:00"}]},
    "ring": {"devices": false, "timeout_s": 30},
    "forward": {"numbers": ["(415) 555-0132", "+44 20 7946 0958"], "mode": "sequential",
                "timeout_s": 15},
    "fallback": {"no_answer": "forward:+14155550133", "busy": "reject", "dnd": "voicemail"}
  })");
  EXPECT_EQ(r.block, (std::vector<std::string>{"+14155550199", "+1900*", "+15551234567"}));
  EXPECT_EQ(r.allow, (std::vector<std::string>{"+14155550100", "+44*"}));
  EXPECT_TRUE(r.allow_only);
  EXPECT_TRUE(r.reject_anonymous);
  EXPECT_TRUE(r.dnd.manual);
  ASSERT_EQ(r.dnd.schedule.size(), 2u);
  EXPECT_EQ(r.dnd.schedule[0].days,
            (std::array<bool, 7>{true, true, true, false, false, false, false}));
  EXPECT_EQ(r.dnd.schedule[0].start_min, 22 * 60);
  EXPECT_EQ(r.dnd.schedule[0].end_min, 7 * 60);
  EXPECT_EQ(r.dnd.schedule[1].days, (std::array<bool, 7>{true, true, true, true, true, true, true}))
      << "no days: every day";
  EXPECT_EQ(r.dnd.schedule[1].end_min, 24 * 60);
  EXPECT_FALSE(r.ring.devices);
  EXPECT_EQ(r.ring.timeout_s, 30);
  EXPECT_EQ(r.forward.numbers, (std::vector<std::string>{kCell, "+442079460958"}));
  EXPECT_EQ(r.forward.mode, CallRules::Forward::Mode::sequential);
  EXPECT_EQ(r.forward.timeout_s, 15);
  EXPECT_EQ(r.fallback.no_answer, (Fallback{Fallback::Action::forward, kOffice}));
  EXPECT_EQ(r.fallback.busy.action, Fallback::Action::reject);
  EXPECT_EQ(r.fallback.dnd.action, Fallback::Action::voicemail);
}

TEST(CallRulesParse, NationalNumbersReadInTheDefaultCountry) {
  EXPECT_EQ(parse_ok(R"({"forward":{"numbers":["020 7946 0958"]}})", "GB").forward.numbers,
            std::vector<std::string>{"+442079460958"});
  EXPECT_EQ(parse_ok(R"({"fallback":{"busy":"forward:(415) 555-0132"}})", "US").fallback.busy,
            (Fallback{Fallback::Action::forward, kCell}));
  // Without a usable default country only international numbers are read.
  auto ps = problems(R"({"forward":{"numbers":["(415) 555-0132"]}})", "");
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].field, "forward.numbers[0]");
}

TEST(CallRulesParse, ListsDropDuplicatesAndNormalise) {
  CallRules r = parse_ok(R"({"block":["+1 900*", "+1900*", "(415) 555-0199", "+14155550199"]})");
  EXPECT_EQ(r.block, (std::vector<std::string>{"+1900*", "+14155550199"}));
}

TEST(CallRulesParse, NullMeansTheDefault) {
  CallRules r = parse_ok(R"({"block":null,"dnd":null,"ring":{"timeout_s":null},
                             "fallback":{"busy":null}})");
  EXPECT_EQ(r, CallRules{});
}

TEST(CallRulesParse, AcceptsTheLimits) {
  std::string block = R"({"block":[)";
  for (int i = 0; i < 1000; ++i) {
    block += (i ? "," : "") + std::string("\"+1555") + std::to_string(1000000 + i) + "\"";
  }
  block += "]}";
  EXPECT_EQ(parse_ok(block).block.size(), 1000u);
  std::string fwd = R"({"forward":{"numbers":[)";
  for (int i = 0; i < 10; ++i) {
    fwd += (i ? "," : "") + std::string("\"+1415555010") + std::to_string(i) + "\"";
  }
  fwd += R"(],"timeout_s":120},"ring":{"timeout_s":5}})";
  CallRules r = parse_ok(fwd);
  EXPECT_EQ(r.forward.numbers.size(), 10u);
  EXPECT_EQ(r.forward.timeout_s, 120);
  EXPECT_EQ(r.ring.timeout_s, 5);
  EXPECT_EQ(parse_ok(R"({"ring":{"timeout_s":30.0}})").ring.timeout_s, 30);
}

struct BadCase {
  const char* json;
  const char* field;
  const char* message;  // a part of the message
};

TEST(CallRulesParse, ExplainsEachKindOfBadInput) {
  const BadCase cases[] = {
      {"", "", "not valid JSON"},
      {"{", "", "not valid JSON"},
      {"{} {}", "", "not valid JSON"},
      {R"({"block":[],})", "", "not valid JSON"},
      {"\"rules\"", "", "must be a JSON object, not a string"},
      {"[]", "", "must be a JSON object, not an array"},
      {"null", "", "must be a JSON object, not null"},
      {"{\"block\":[\"\xff\"]}", "", "not valid JSON"},
      {R"({"blok":[]})", "blok", "is not a known field (expected one of: block, allow, allow_only"},
      {R"({"dnd":{"enabled":true}})", "dnd.enabled", "expected one of: manual, schedule"},
      {R"({"ring":{"timeout":25}})", "ring.timeout", "expected one of: devices, timeout_s"},
      {R"({"ring":{"timeout_s":4}})", "ring.timeout_s", "from 5 to 120"},
      {R"({"ring":{"timeout_s":121}})", "ring.timeout_s", "from 5 to 120"},
      {R"({"ring":{"timeout_s":-25}})", "ring.timeout_s", "from 5 to 120"},
      {R"({"ring":{"timeout_s":"25"}})", "ring.timeout_s", "from 5 to 120"},
      {R"({"ring":{"timeout_s":25.5}})", "ring.timeout_s", "whole number"},
      {R"({"ring":{"timeout_s":1e300}})", "ring.timeout_s", "whole number"},
      {R"({"ring":{"timeout_s":18446744073709551615}})", "ring.timeout_s", "whole number"},
      {R"({"forward":{"timeout_s":0}})", "forward.timeout_s", "from 5 to 120"},
      {R"({"ring":{"devices":"yes"}})", "ring.devices", "must be true or false, not a string"},
      {R"({"allow_only":1})", "allow_only", "must be true or false, not a number"},
      {R"({"reject_anonymous":[]})", "reject_anonymous", "must be true or false"},
      {R"({"ring":true})", "ring", "must be an object, not a boolean"},
      {R"({"block":"+14155550100"})", "block", "must be an array, not a string"},
      {R"({"block":[14155550100]})", "block[0]", "must be a string, not a number"},
      {R"({"allow":["hello"]})", "allow[0]", "is not a phone number ('hello'): use E.164"},
      {R"({"block":["*"]})", "block[0]", "prefix ending in *"},
      {R"({"block":["1900*"]})", "block[0]", "international prefix"},
      {R"({"block":["+0*"]})", "block[0]", "not a phone number"},
      {R"({"block":["+1*9*"]})", "block[0]", "not a phone number"},
      {R"({"block":["+1 415 555 0100 x12"]})", "block[0]", "not a phone number"},
      {R"({"block":["+12345678901234567"]})", "block[0]", "not a phone number"},
      {R"({"forward":{"numbers":["+15551234567"]}})", "forward.numbers[0]",
       "is not a valid phone number ('+15551234567')"},
      {R"({"forward":{"numbers":"+14155550132"}})", "forward.numbers", "must be an array"},
      {R"({"forward":{"numbers":["+14155550132","(415) 555-0132"]}})", "forward.numbers[1]",
       "repeats an earlier number ('(415) 555-0132')"},
      {R"({"forward":{"mode":"parallel"}})", "forward.mode",
       "must be \"simultaneous\" or \"sequential\""},
      {R"({"forward":{"mode":1}})", "forward.mode", "simultaneous"},
      {R"({"fallback":{"busy":"hangup"}})", "fallback.busy",
       "must be \"voicemail\", \"reject\" or \"forward:<number>\""},
      {R"({"fallback":{"dnd":5}})", "fallback.dnd", "forward:<number>"},
      {R"({"fallback":{"no_answer":"forward:"}})", "fallback.no_answer",
       "has no valid phone number after \"forward:\" ('')"},
      {R"({"fallback":{"no_answer":"forward:abc"}})", "fallback.no_answer",
       "after \"forward:\" ('abc')"},
      {R"({"fallback":{"voicemail":"busy"}})", "fallback.voicemail", "is not a known field"},
      {R"({"dnd":[]})", "dnd", "must be an object, not an array"},
      {R"({"dnd":{"manual":"on"}})", "dnd.manual", "true or false"},
      {R"({"dnd":{"schedule":{}}})", "dnd.schedule", "must be an array"},
      {R"({"dnd":{"schedule":[5]}})", "dnd.schedule[0]", "must be an object, not a number"},
      {R"({"dnd":{"schedule":[{"days":["funday"],"start":"22:00","end":"07:00"}]}})",
       "dnd.schedule[0].days[0]", "must be a day: mon, tue"},
      {R"({"dnd":{"schedule":[{"days":[1],"start":"22:00","end":"07:00"}]}})",
       "dnd.schedule[0].days[0]", "must be a day"},
      {R"({"dnd":{"schedule":[{"days":"mon","start":"22:00","end":"07:00"}]}})",
       "dnd.schedule[0].days", "must be an array"},
      {R"({"dnd":{"schedule":[{"days":[],"start":"22:00","end":"07:00"}]}})",
       "dnd.schedule[0].days", "at least one day"},
      {R"({"dnd":{"schedule":[{"start":"7:00","end":"09:00"}]}})", "dnd.schedule[0].start",
       "must be a time HH:MM"},
      {R"({"dnd":{"schedule":[{"start":"24:00","end":"09:00"}]}})", "dnd.schedule[0].start",
       "HH:MM"},
      {R"({"dnd":{"schedule":[{"start":"22:60","end":"09:00"}]}})", "dnd.schedule[0].start",
       "HH:MM"},
      {R"({"dnd":{"schedule":[{"start":"22:00","end":"24:01"}]}})", "dnd.schedule[0].end",
       "00:00 to 24:00"},
      {R"({"dnd":{"schedule":[{"start":2200,"end":"07:00"}]}})", "dnd.schedule[0].start", "HH:MM"},
      {R"({"dnd":{"schedule":[{"start":"22:00","end":"22:00"}]}})", "dnd.schedule[0].end",
       "must differ from start"},
      {R"({"dnd":{"schedule":[{"end":"07:00"}]}})", "dnd.schedule[0].start", "is required"},
      {R"({"dnd":{"schedule":[{"start":"22:00"}]}})", "dnd.schedule[0].end", "is required"},
      {R"({"dnd":{"schedule":[{"start":"22:00","end":"07:00","tz":"UTC"}]}})", "dnd.schedule[0].tz",
       "expected one of: days, start, end"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    auto ps = problems(c.json);
    ASSERT_EQ(ps.size(), 1u) << describe(ps);
    EXPECT_EQ(ps[0].field, c.field);
    EXPECT_NE(ps[0].message.find(c.message), std::string::npos) << ps[0].message;
  }
}

TEST(CallRulesParse, RefusesWhatIsOverTheLimits) {
  std::string block = R"({"block":[)";
  for (int i = 0; i < 1001; ++i) block += (i ? "," : "") + std::string("\"+1900*\"");
  block += "]}";
  auto ps = problems(block);
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0], (RuleProblem{"block", "has 1001 entries; at most 1000 are allowed"}));

  std::string fwd = R"({"forward":{"numbers":[)";
  for (int i = 0; i < 11; ++i) fwd += (i ? "," : "") + std::string("\"+14155550132\"");
  fwd += "]}}";
  ps = problems(fwd);
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0], (RuleProblem{"forward.numbers", "has 11 numbers; at most 10 are allowed"}));

  std::string windows = R"({"dnd":{"schedule":[)";
  for (int i = 0; i < 51; ++i)
    windows += (i ? "," : "") + std::string(R"({"start":"01:00","end":"02:00"})");
  windows += "]}}";
  ps = problems(windows);
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].field, "dnd.schedule");

  ps = problems("{\"block\":[\"" + std::string(300 * 1024, '1') + "\"]}");
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0], (RuleProblem{"", "is too large: at most 256 KiB"}));

  ps = problems(std::string(1000, '[') + std::string(1000, ']'));
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].field, "");
}

TEST(CallRulesParse, ReportsEveryProblemAndQuotesShortly) {
  auto ps = problems(R"({"ring":{"timeout_s":1,"devices":0},"colour":"red",
                         "block":["nope", "+1900*", "also nope"]})");
  ASSERT_EQ(ps.size(), 5u) << describe(ps);
  EXPECT_EQ(ps[0].field, "colour");
  EXPECT_EQ(ps[1].field, "block[0]");
  EXPECT_EQ(ps[2].field, "block[2]");
  EXPECT_EQ(ps[3].field, "ring.devices");
  EXPECT_EQ(ps[4].field, "ring.timeout_s");

  ps = problems("{\"block\":[\"" + std::string(60, 'x') + "\"]}");
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_NE(ps[0].message.find("'" + std::string(40, 'x') + "...'"), std::string::npos);

  std::string many = R"({"block":[)";
  for (int i = 0; i < 500; ++i) many += (i ? "," : "") + std::string("\"bad\"");
  many += "]}";
  EXPECT_EQ(problems(many).size(), kMaxRuleProblems);
}

// ---------------------------------------------------------------------------
// Canonical JSON

TEST(CallRulesJson, DefaultsAreSpelledOut) {
  EXPECT_EQ(call_rules_json(CallRules{}),
            R"({"block":[],"allow":[],"allow_only":false,"reject_anonymous":false,)"
            R"("dnd":{"manual":false,"schedule":[]},"ring":{"devices":true,"timeout_s":25},)"
            R"("forward":{"numbers":[],"mode":"simultaneous","timeout_s":20},)"
            R"("fallback":{"no_answer":"voicemail","busy":"voicemail","dnd":"voicemail"}})");
}

TEST(CallRulesJson, RoundTripsThroughTheParser) {
  CallRules r = parse_ok(R"({
    "block": ["+1900*", "+15551234567"], "allow": ["+14155550100"],
    "allow_only": true, "reject_anonymous": true,
    "dnd": {"manual": true, "schedule": [
      {"days": ["sun", "fri"], "start": "22:30", "end": "07:05"},
      {"start": "00:00", "end": "24:00"}]},
    "ring": {"devices": false, "timeout_s": 40},
    "forward": {"numbers": ["(415) 555-0132"], "mode": "sequential", "timeout_s": 12},
    "fallback": {"no_answer": "forward:+14155550133", "busy": "reject", "dnd": "voicemail"}
  })");
  std::string text = call_rules_json(r);
  EXPECT_NE(text.find(R"({"days":["fri","sun"],"start":"22:30","end":"07:05"})"), std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("end":"24:00")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("no_answer":"forward:+14155550133")"), std::string::npos) << text;
  // The canonical form reads the same in any country, and again gives the same text.
  EXPECT_EQ(parse_ok(text, "GB"), r);
  EXPECT_EQ(parse_ok(text, ""), r);
  EXPECT_EQ(call_rules_json(parse_ok(text)), text);
  EXPECT_EQ(parse_ok(call_rules_json(CallRules{})), CallRules{});
}

// ---------------------------------------------------------------------------
// Planning

TEST(CallRulesPlan, DefaultRingsDevicesThenVoicemailThenGivesUp) {
  CallRules r;
  InboundCall c = call_from(kCaller);
  EXPECT_EQ(stage(plan_inbound(r, c)), (Stage{{kDevices}, 25, PlanCause::ring}));
  EXPECT_EQ(stage(plan_inbound(r, c, 1, 408)), (Stage{{kVoicemail}, 0, PlanCause::no_answer}));
  EXPECT_EQ(stage(plan_inbound(r, c, 1, 486)), (Stage{{kVoicemail}, 0, PlanCause::busy}));
  EXPECT_EQ(reject(plan_inbound(r, c, 2, 408)),
            (Reject{480, "Temporarily Unavailable", PlanCause::exhausted}));
  EXPECT_EQ(reject(plan_inbound(r, c, 99, 0)).code, 480);
  EXPECT_EQ(stage(plan_inbound(r, c, -3, 0)).targets, std::vector<Target>{kDevices})
      << "a negative count is the first stage";
}

TEST(CallRulesPlan, BusyAndNoAnswerTakeTheirOwnFallbacks) {
  CallRules r = parse_ok(R"({"fallback":{"busy":"forward:+14155550133","no_answer":"reject"},
                             "forward":{"timeout_s":30}})");
  InboundCall c = call_from(kCaller);
  for (int busy : {486, 600}) {
    EXPECT_EQ(stage(plan_inbound(r, c, 1, busy)), (Stage{{number(kOffice)}, 30, PlanCause::busy}));
    EXPECT_EQ(reject(plan_inbound(r, c, 2, 408)).code, 480) << "after the forward fallback";
  }
  for (int other : {408, 480, 487, 503, 603, 0}) {
    EXPECT_EQ(reject(plan_inbound(r, c, 1, other)),
              (Reject{480, "Temporarily Unavailable", PlanCause::no_answer}))
        << other;
  }
  CallRules busy_rejects = parse_ok(R"({"fallback":{"busy":"reject"}})");
  EXPECT_EQ(reject(plan_inbound(busy_rejects, c, 1, 486)),
            (Reject{486, "Busy Here", PlanCause::busy}));
}

TEST(CallRulesPlan, BlockedCallersAreDeclined) {
  CallRules r = parse_ok(R"({"block":["+14155550100","+1900*"]})");
  EXPECT_EQ(reject(plan_inbound(r, call_from(kCaller))),
            (Reject{603, "Decline", PlanCause::blocked}));
  EXPECT_EQ(reject(plan_inbound(r, call_from("+19005550123"))).code, 603);
  EXPECT_EQ(reject(plan_inbound(r, call_from(kCaller), 1, 408)).code, 603)
      << "every stage of a blocked call";
  EXPECT_EQ(stage(plan_inbound(r, call_from("+14155550101"))).targets,
            std::vector<Target>{kDevices});
  EXPECT_EQ(stage(plan_inbound(r, call_from("+1800555012"))).targets,
            std::vector<Target>{kDevices});
  InboundCall hidden = call_from(kCaller);
  hidden.anonymous = true;  // the number is still known to the network: still blocked
  EXPECT_EQ(reject(plan_inbound(r, hidden)).code, 603);
}

TEST(CallRulesPlan, AllowListBeatsBlockAllowOnlyAndDnd) {
  CallRules r = parse_ok(R"({"block":["+1415*"],"allow":["+14155550100","+4420*"],
                             "reject_anonymous":true,"dnd":{"manual":true}})");
  EXPECT_EQ(stage(plan_inbound(r, call_from(kCaller))), (Stage{{kDevices}, 25, PlanCause::ring}));
  EXPECT_EQ(stage(plan_inbound(r, call_from("+442079460958"))).cause, PlanCause::ring);
  EXPECT_EQ(reject(plan_inbound(r, call_from("+14155550101"))).code, 603);
  EXPECT_EQ(stage(plan_inbound(r, call_from("+12125550100"))),
            (Stage{{kVoicemail}, 0, PlanCause::dnd}));

  CallRules only = parse_ok(R"({"allow_only":true,"allow":["+14155550100"],
                                "fallback":{"dnd":"reject"}})");
  EXPECT_EQ(stage(plan_inbound(only, call_from(kCaller))).cause, PlanCause::ring);
  EXPECT_EQ(reject(plan_inbound(only, call_from("+14155550101"))),
            (Reject{480, "Temporarily Unavailable", PlanCause::allow_only}));
  EXPECT_EQ(reject(plan_inbound(only, call_from(""))).cause, PlanCause::allow_only);
}

TEST(CallRulesPlan, AllowOnlyWithAnEmptyListSendsEveryoneToTheDndFallback) {
  CallRules r = parse_ok(R"({"allow_only":true})");
  EXPECT_EQ(stage(plan_inbound(r, call_from(kCaller))),
            (Stage{{kVoicemail}, 0, PlanCause::allow_only}));
  EXPECT_EQ(reject(plan_inbound(r, call_from(kCaller), 1, 408)).cause, PlanCause::exhausted);
}

TEST(CallRulesPlan, AnonymousCallersAreRejectedWhenAsked) {
  CallRules r = parse_ok(R"({"reject_anonymous":true})");
  InboundCall hidden = call_from("");
  hidden.anonymous = true;
  EXPECT_EQ(reject(plan_inbound(r, hidden)),
            (Reject{433, "Anonymity Disallowed", PlanCause::anonymous}));
  EXPECT_EQ(reject(plan_inbound(r, call_from(""))).code, 433) << "no number at all";
  InboundCall withheld = call_from(kCaller);
  withheld.anonymous = true;
  EXPECT_EQ(reject(plan_inbound(r, withheld)).code, 433);
  EXPECT_EQ(stage(plan_inbound(r, call_from(kCaller))).cause, PlanCause::ring);
  EXPECT_EQ(stage(plan_inbound(CallRules{}, hidden)).cause, PlanCause::ring)
      << "anonymous callers ring unless reject_anonymous";
}

TEST(CallRulesPlan, ManualDndUsesTheDndFallback) {
  InboundCall c = call_from(kCaller);
  CallRules r = parse_ok(R"({"dnd":{"manual":true}})");
  EXPECT_EQ(stage(plan_inbound(r, c)), (Stage{{kVoicemail}, 0, PlanCause::dnd}));
  EXPECT_EQ(reject(plan_inbound(r, c, 1, 408)).code, 480);

  r = parse_ok(R"({"dnd":{"manual":true},"fallback":{"dnd":"forward:+14155550133"},
                   "forward":{"timeout_s":18}})");
  EXPECT_EQ(stage(plan_inbound(r, c)), (Stage{{number(kOffice)}, 18, PlanCause::dnd}));
  EXPECT_EQ(reject(plan_inbound(r, c, 1, 486)).code, 480);

  r = parse_ok(R"({"dnd":{"manual":true},"fallback":{"dnd":"reject"}})");
  EXPECT_EQ(reject(plan_inbound(r, c)), (Reject{480, "Temporarily Unavailable", PlanCause::dnd}));
}

TEST(CallRulesPlan, SimultaneousForwardRingsWithTheDevices) {
  CallRules r = parse_ok(R"({"forward":{"numbers":["+14155550132","+14155550133"]},
                             "ring":{"timeout_s":30}})");
  InboundCall c = call_from(kCaller);
  EXPECT_EQ(stage(plan_inbound(r, c)),
            (Stage{{kDevices, number(kCell), number(kOffice)}, 30, PlanCause::ring}));
  EXPECT_EQ(stage(plan_inbound(r, c, 1, 480)), (Stage{{kVoicemail}, 0, PlanCause::no_answer}));
  EXPECT_EQ(reject(plan_inbound(r, c, 2, 0)).code, 480);

  r.ring.devices = false;
  r.forward.timeout_s = 15;
  EXPECT_EQ(stage(plan_inbound(r, c)),
            (Stage{{number(kCell), number(kOffice)}, 15, PlanCause::ring}))
      << "without devices the numbers ring for forward.timeout_s";
}

TEST(CallRulesPlan, SequentialForwardRingsOneAfterAnother) {
  CallRules r = parse_ok(R"({"forward":{"numbers":["+14155550132","+14155550133"],
                             "mode":"sequential","timeout_s":15},
                             "fallback":{"busy":"reject"}})");
  InboundCall c = call_from(kCaller);
  EXPECT_EQ(stage(plan_inbound(r, c, 0, 0)), (Stage{{kDevices}, 25, PlanCause::ring}));
  EXPECT_EQ(stage(plan_inbound(r, c, 1, 408)), (Stage{{number(kCell)}, 15, PlanCause::ring}));
  EXPECT_EQ(stage(plan_inbound(r, c, 2, 486)), (Stage{{number(kOffice)}, 15, PlanCause::ring}))
      << "a busy stage moves on to the next number";
  EXPECT_EQ(stage(plan_inbound(r, c, 3, 408)), (Stage{{kVoicemail}, 0, PlanCause::no_answer}));
  EXPECT_EQ(reject(plan_inbound(r, c, 3, 486)), (Reject{486, "Busy Here", PlanCause::busy}));
  EXPECT_EQ(reject(plan_inbound(r, c, 4, 408)).cause, PlanCause::exhausted);

  r.ring.devices = false;
  EXPECT_EQ(stage(plan_inbound(r, c, 0, 0)), (Stage{{number(kCell)}, 15, PlanCause::ring}));
  EXPECT_EQ(stage(plan_inbound(r, c, 2, 408)).cause, PlanCause::no_answer);
}

TEST(CallRulesPlan, NothingToRingGoesStraightToTheNoAnswerFallback) {
  CallRules r = parse_ok(R"({"ring":{"devices":false}})");
  InboundCall c = call_from(kCaller);
  EXPECT_EQ(stage(plan_inbound(r, c)), (Stage{{kVoicemail}, 0, PlanCause::no_answer}));
  EXPECT_EQ(reject(plan_inbound(r, c, 1, 0)).cause, PlanCause::exhausted);
  r = parse_ok(R"({"ring":{"devices":false},"forward":{"mode":"sequential"},
                   "fallback":{"no_answer":"reject","busy":"voicemail"}})");
  EXPECT_EQ(reject(plan_inbound(r, c)),
            (Reject{480, "Temporarily Unavailable", PlanCause::no_answer}));
}

TEST(CallRulesPlan, ScheduledDndFollowsTheUsersZone) {
  CallRules r =
      parse_ok(R"({"dnd":{"schedule":[{"days":["fri"],"start":"22:00","end":"07:00"}]}})");
  InboundCall c = call_from(kCaller);
  c.time_zone = "America/New_York";
  c.at_ms = utc(2024, 7, 6, 3, 30);  // Friday 23:30 EDT
  EXPECT_EQ(stage(plan_inbound(r, c)).cause, PlanCause::dnd);
  EXPECT_EQ(reject(plan_inbound(r, c, 1, 408)).cause, PlanCause::exhausted)
      << "later stages of the same call see the same DND";
  c.time_zone = "Asia/Tokyo";  // Saturday 12:30 there
  EXPECT_EQ(stage(plan_inbound(r, c)).cause, PlanCause::ring);
}

// ---------------------------------------------------------------------------
// DND schedules

CallRules schedule(std::string_view windows) {
  return parse_ok(R"({"dnd":{"schedule":[)" + std::string(windows) + "]}}");
}

TEST(CallRulesDnd, NightWindowCrossesMidnightInNewYork) {
  CallRules r =
      schedule(R"({"days":["mon","tue","wed","thu","fri"],"start":"22:00","end":"07:00"})");
  const char* ny = "America/New_York";
  // July: EDT, UTC-4. 2024-07-05 is a Friday.
  EXPECT_TRUE(dnd_active(r, utc(2024, 7, 6, 3, 30), ny)) << "Fri 23:30";
  EXPECT_TRUE(dnd_active(r, utc(2024, 7, 6, 2, 0), ny)) << "Fri 22:00, the start";
  EXPECT_FALSE(dnd_active(r, utc(2024, 7, 6, 1, 59), ny)) << "Fri 21:59";
  EXPECT_TRUE(dnd_active(r, utc(2024, 7, 6, 10, 59), ny)) << "Sat 06:59, Friday's night";
  EXPECT_FALSE(dnd_active(r, utc(2024, 7, 6, 11, 0), ny)) << "Sat 07:00, the end";
  EXPECT_FALSE(dnd_active(r, utc(2024, 7, 7, 3, 30), ny)) << "Sat 23:30";
  EXPECT_FALSE(dnd_active(r, utc(2024, 7, 8, 10, 0), ny)) << "Mon 06:00, after Sunday";
  EXPECT_TRUE(dnd_active(r, utc(2024, 7, 9, 10, 0), ny)) << "Tue 06:00, after Monday";
  EXPECT_FALSE(dnd_active(r, utc(2024, 7, 9, 16, 0), ny)) << "Tue 12:00";
}

TEST(CallRulesDnd, UsesLocalTimeNotUtc) {
  CallRules r = schedule(R"({"days":["fri"],"start":"23:00","end":"23:45"})");
  // Friday 23:30 in New York is Saturday 03:30 UTC in summer, 04:30 UTC in winter.
  EXPECT_TRUE(dnd_active(r, utc(2024, 7, 6, 3, 30), "America/New_York"));
  EXPECT_TRUE(dnd_active(r, utc(2024, 1, 6, 4, 30), "America/New_York"));
  EXPECT_FALSE(dnd_active(r, utc(2024, 1, 6, 3, 30), "America/New_York")) << "22:30 EST";
  EXPECT_FALSE(dnd_active(r, utc(2024, 7, 6, 3, 30), "UTC"));
  EXPECT_TRUE(dnd_active(r, utc(2024, 7, 5, 23, 30), "UTC"));
}

TEST(CallRulesDnd, OneInstantDiffersAcrossZones) {
  CallRules r =
      schedule(R"({"days":["mon","tue","wed","thu","fri"],"start":"20:00","end":"23:00"})");
  const std::int64_t t = utc(2024, 7, 5, 12, 0);  // Friday noon UTC
  EXPECT_TRUE(dnd_active(r, t, "Asia/Tokyo")) << "Fri 21:00";
  EXPECT_FALSE(dnd_active(r, t, "Europe/London")) << "Fri 13:00";
  EXPECT_FALSE(dnd_active(r, t, "America/Los_Angeles")) << "Fri 05:00";
  EXPECT_FALSE(dnd_active(r, t, "Asia/Kolkata")) << "Fri 17:30";
  EXPECT_TRUE(dnd_active(r, utc(2024, 7, 5, 3, 0), "America/Los_Angeles")) << "Thu 20:00";
}

TEST(CallRulesDnd, SpringForwardSkipsAnHour) {
  // New York, Sunday 2024-03-10: 02:00 EST becomes 03:00 EDT (07:00 UTC).
  const char* ny = "America/New_York";
  CallRules early = schedule(R"({"days":["sun"],"start":"03:00","end":"04:00"})");
  EXPECT_FALSE(dnd_active(early, utc(2024, 3, 10, 6, 59), ny)) << "01:59 EST";
  EXPECT_TRUE(dnd_active(early, utc(2024, 3, 10, 7, 0), ny)) << "03:00 EDT";
  EXPECT_TRUE(dnd_active(early, utc(2024, 3, 10, 7, 59), ny)) << "03:59 EDT";
  EXPECT_FALSE(dnd_active(early, utc(2024, 3, 10, 8, 0), ny)) << "04:00 EDT";
  CallRules missing = schedule(R"({"days":["sun"],"start":"02:00","end":"03:00"})");
  EXPECT_FALSE(dnd_active(missing, utc(2024, 3, 10, 6, 59), ny));
  EXPECT_FALSE(dnd_active(missing, utc(2024, 3, 10, 7, 0), ny)) << "the hour never happens";
  // A night window spanning the change still ends at 07:00 local (11:00 UTC now).
  CallRules night = schedule(R"({"days":["sat"],"start":"22:00","end":"07:00"})");
  EXPECT_TRUE(dnd_active(night, utc(2024, 3, 10, 10, 59), ny));
  EXPECT_FALSE(dnd_active(night, utc(2024, 3, 10, 11, 0), ny));
}

TEST(CallRulesDnd, FallBackRepeatsAnHour) {
  // New York, Sunday 2024-11-03: 02:00 EDT becomes 01:00 EST (06:00 UTC).
  const char* ny = "America/New_York";
  CallRules r = schedule(R"({"days":["sun"],"start":"01:00","end":"02:00"})");
  EXPECT_FALSE(dnd_active(r, utc(2024, 11, 3, 4, 59), ny)) << "00:59 EDT";
  EXPECT_TRUE(dnd_active(r, utc(2024, 11, 3, 5, 30), ny)) << "01:30 EDT";
  EXPECT_TRUE(dnd_active(r, utc(2024, 11, 3, 6, 30), ny)) << "01:30 EST";
  EXPECT_FALSE(dnd_active(r, utc(2024, 11, 3, 7, 0), ny)) << "02:00 EST";
}

TEST(CallRulesDnd, UnknownOrEmptyZoneIsUtc) {
  CallRules r = schedule(R"({"days":["wed"],"start":"09:00","end":"10:00"})");
  const std::int64_t t = utc(2024, 7, 3, 9, 30);  // Wednesday 09:30 UTC
  for (const char* zone : {"", "UTC", "Mars/Olympus_Mons", "../../etc/passwd", "america/new_york",
                           "Etc/Unknown\xff"}) {
    EXPECT_TRUE(dnd_active(r, t, zone)) << zone;
  }
  EXPECT_FALSE(dnd_active(r, t, "America/New_York"));
  InboundCall c = call_from(kCaller);
  c.at_ms = t;
  c.time_zone = "Nowhere/Special";
  EXPECT_EQ(stage(plan_inbound(r, c)).cause, PlanCause::dnd);
}

TEST(CallRulesDnd, WholeDaysAndEveryDay) {
  CallRules monday = schedule(R"({"days":["mon"],"start":"00:00","end":"24:00"})");
  EXPECT_TRUE(dnd_active(monday, utc(2024, 7, 1, 0, 0), "UTC"));
  EXPECT_TRUE(dnd_active(monday, utc(2024, 7, 1, 23, 59), "UTC"));
  EXPECT_FALSE(dnd_active(monday, utc(2024, 7, 2, 0, 0), "UTC"));
  EXPECT_FALSE(dnd_active(monday, utc(2024, 6, 30, 23, 59), "UTC"));

  CallRules nightly = schedule(R"({"start":"23:00","end":"06:00"})");
  for (int d = 1; d <= 7; ++d) {
    EXPECT_TRUE(dnd_active(nightly, utc(2024, 7, d, 2, 0), "UTC")) << d;
    EXPECT_FALSE(dnd_active(nightly, utc(2024, 7, d, 12, 0), "UTC")) << d;
  }
  CallRules sunday_night = schedule(R"({"days":["sun"],"start":"22:00","end":"07:00"})");
  EXPECT_TRUE(dnd_active(sunday_night, utc(2024, 7, 8, 6, 0), "UTC")) << "Mon 06:00";
  EXPECT_FALSE(dnd_active(sunday_night, utc(2024, 7, 7, 6, 0), "UTC")) << "Sun 06:00";
}

TEST(CallRulesDnd, ManualBeatsTheScheduleAndExtremeInstantsAreSafe) {
  CallRules r = schedule(R"({"days":["wed"],"start":"09:00","end":"10:00"})");
  r.dnd.manual = true;
  EXPECT_TRUE(dnd_active(r, utc(2024, 7, 4, 15, 0), "UTC"));
  r.dnd.manual = false;
  for (std::int64_t t : {std::numeric_limits<std::int64_t>::min(), std::int64_t{-1},
                         std::int64_t{0}, std::numeric_limits<std::int64_t>::max()}) {
    EXPECT_NO_THROW(dnd_active(r, t, "America/New_York")) << t;
    EXPECT_NO_THROW(dnd_active(r, t, "Pacific/Kiritimati")) << t;
  }
}

// ---------------------------------------------------------------------------
// Garbage in: problems out, never an exception or a crash.

TEST(CallRulesFuzz, GarbageNeverThrows) {
  std::mt19937 rng(20240705);  // fixed seed: the same inputs every run
  const std::vector<std::string> tokens = {"{",
                                           "}",
                                           "[",
                                           "]",
                                           ":",
                                           ",",
                                           "\"block\"",
                                           "\"allow\"",
                                           "\"dnd\"",
                                           "\"schedule\"",
                                           "\"days\"",
                                           "\"start\"",
                                           "\"end\"",
                                           "\"ring\"",
                                           "\"forward\"",
                                           "\"numbers\"",
                                           "\"mode\"",
                                           "\"fallback\"",
                                           "\"busy\"",
                                           "\"no_answer\"",
                                           "\"timeout_s\"",
                                           "\"manual\"",
                                           "\"devices\"",
                                           "\"allow_only\"",
                                           "\"reject_anonymous\"",
                                           "\"+1900*\"",
                                           "\"+14155550132\"",
                                           "\"*\"",
                                           "\"22:00\"",
                                           "\"24:00\"",
                                           "\"mon\"",
                                           "\"sequential\"",
                                           "\"forward:+14155550133\"",
                                           "\"forward:\"",
                                           "\"voicemail\"",
                                           "\"reject\"",
                                           "true",
                                           "false",
                                           "null",
                                           "0",
                                           "-1",
                                           "25",
                                           "1e999",
                                           "18446744073709551616",
                                           "\"\\u0000\"",
                                           "\"\xc3\xa9\"",
                                           "\"\xff\"",
                                           " "};
  const std::string valid = R"({"block":["+1900*"],"allow":["+14155550100"],
    "dnd":{"manual":false,"schedule":[{"days":["fri"],"start":"22:00","end":"07:00"}]},
    "ring":{"devices":true,"timeout_s":25},
    "forward":{"numbers":["+14155550132"],"mode":"sequential","timeout_s":20},
    "fallback":{"no_answer":"voicemail","busy":"forward:+14155550133","dnd":"reject"}})";
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string input;
    switch (i % 3) {
      case 0: {  // random bytes
        std::size_t n = rng() % 64;
        for (std::size_t k = 0; k < n; ++k) input += static_cast<char>(rng() % 256);
        break;
      }
      case 1: {  // token soup
        std::size_t n = 1 + rng() % 40;
        for (std::size_t k = 0; k < n; ++k) input += tokens[rng() % tokens.size()];
        break;
      }
      default: {  // a valid document, mutated
        input = valid;
        for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) {
          std::size_t at = rng() % input.size();
          switch (rng() % 3) {
            case 0:
              input[at] = static_cast<char>(rng() % 256);
              break;
            case 1:
              input.erase(at, 1 + rng() % 8);
              break;
            default:
              input.insert(at, tokens[rng() % tokens.size()]);
          }
          if (input.empty()) input = "{";
        }
      }
    }
    SCOPED_TRACE(input);
    std::variant<CallRules, std::vector<RuleProblem>> out;
    ASSERT_NO_THROW(out = parse_call_rules(input, "US"));
    if (auto* rules = std::get_if<CallRules>(&out)) {
      ++accepted;
      EXPECT_EQ(parse_ok(call_rules_json(*rules)), *rules);
      ASSERT_NO_THROW((void)plan_inbound(*rules, call_from(kCaller), i % 5, 486));
    } else {
      const auto& ps = std::get<std::vector<RuleProblem>>(out);
      EXPECT_FALSE(ps.empty());
      EXPECT_LE(ps.size(), kMaxRuleProblems);
      for (const auto& p : ps) EXPECT_FALSE(p.message.empty());
    }
  }
  EXPECT_GT(accepted, 0) << "some mutations stay valid";
}

}  // namespace
}  // namespace rh::voice
