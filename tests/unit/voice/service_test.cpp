// VoiceService on both drivers: SIP credentials (HA1, rotation, revocation,
// registrations), the route hook's decisions (device → PSTN with the hold and
// the affordable duration, caller-ID ownership, allow-list and blocked
// prefixes, the concurrent-call limit, on-net calls, trunk → DID through the
// call rules, next stages), and dialog events turned into CDRs, ledger
// entries and outbox events. Kamailio's side of the protocol is tested
// against the real Kamailio in tests/e2e/voice_test.cpp.
#include "voice/service.hpp"

#include <gtest/gtest.h>

#include <set>

#include "accounts/tenants.hpp"
#include "accounts/users.hpp"
#include "billing/ledger.hpp"
#include "billing/rates.hpp"
#include "core/ids.hpp"
#include "unit/unit_db.hpp"

namespace rh::voice {
namespace {

TEST(VoiceDigest, Ha1IsRfc2617) {
  // RFC 2617 §3.5's example: Mufasa / testrealm@host.com / Circle Of Life.
  EXPECT_EQ(digest_ha1("Mufasa", "testrealm@host.com", "Circle Of Life"),
            "939e7578ed9e3c518a452acee763bce9");
}

TEST(VoiceProtocol, RouteRequestsAreChecked) {
  EXPECT_FALSE(parse_route_request("not json"));
  EXPECT_FALSE(parse_route_request(R"({"source":"device","username":"u","to_user":"1"})"));
  EXPECT_FALSE(parse_route_request(R"({"call_id":"c","source":"pbx","to_user":"1"})"));
  EXPECT_FALSE(parse_route_request(R"({"call_id":"c","source":"device","to_user":"1"})"));
  EXPECT_FALSE(parse_route_request(R"({"call_id":"c","source":"trunk","to_user":"1"})"));
  EXPECT_FALSE(parse_route_request(R"({"call_id":"c","call":"cal_x"})"));
  auto r = parse_route_request(
      R"({"call_id":"c1","source":"device","username":"u1","to_user":"+12125550123","from_user":"+12125550100"})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->username, "u1");
  // Kamailio sends numbers as strings.
  auto next = parse_route_request(
      R"({"call_id":"c1","call":")" + new_id("cal") + R"(","stage":"1","code":"486"})");
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->stage, 1);
  EXPECT_EQ(next->code, 486);
}

TEST(VoiceProtocol, RouteJsonIsAnRtjsonDocument) {
  RouteDecision d;
  d.call = "cal_1";
  d.stage = 1;
  d.max_duration_s = 120;
  d.routes.push_back({"sip:+12125550123@10.0.0.1:5060", "sip:10.0.0.1:5060;transport=udp",
                      "sip:+12125550100@sip.test", "", 60});
  std::string j = route_json(d);
  EXPECT_NE(j.find(R"("action":"route")"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("version":"1.0")"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("routing":"parallel")"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("fr_inv_timer":60000)"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("uri":"sip:+12125550100@sip.test")"), std::string::npos) << j;
  EXPECT_NE(j.find("P-Asserted-Identity: <sip:+12125550100@sip.test>\\r\\n"), std::string::npos)
      << j;
  RouteDecision rj;
  rj.reject = true;
  rj.code = 403;
  rj.reason = "Forbidden";
  EXPECT_EQ(route_json(rj), R"({"action":"reject","code":403,"reason":"Forbidden"})");
}

TEST(VoiceProtocol, EdgeEvents) {
  auto reg = parse_edge_event(
      R"({"event":"registered","username":"abc","contact":"sip:abc@127.0.0.1:5080","expires":"600"})");
  ASSERT_TRUE(reg) << reg.error().message;
  ASSERT_TRUE(reg->registration);
  EXPECT_EQ(reg->registration->expires_s, 600);
  auto ans =
      parse_edge_event(R"({"event":"answered","call":")" + new_id("cal") + R"(","call_id":"x"})");
  ASSERT_TRUE(ans);
  ASSERT_TRUE(ans->call);
  EXPECT_FALSE(parse_edge_event(R"({"event":"exploded","call_id":"x"})"));
  EXPECT_FALSE(parse_edge_event(R"({"event":"ended"})"));
  EXPECT_FALSE(parse_edge_event(R"([1,2])"));
}

class VoiceServiceTest : public unit::MigratedDbTest {
 protected:
  void SetUp() override {
    unit::MigratedDbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    tenants_ = std::make_unique<accounts::TenantStore>(db(), clock_);
    accounts::TenantInput in;
    in.slug = "t";
    in.name = "T";
    in.default_country = "US";
    auto t = tenants_->create(in, true);
    ASSERT_TRUE(t) << t.error().message;
    tenant_ = t->id;
    users_ = std::make_unique<accounts::UserStore>(db(), clock_);
    alice_ = add_user("alice");
    bob_ = add_user("bob");
    alice_number_ = add_number("+12125550100", alice_.user_id);
    bob_number_ = add_number("+12125550101", bob_.user_id);
    ledger_ = std::make_unique<billing::Ledger>(clock_, billing::LedgerOptions{});
    rates_ = std::make_unique<billing::RateStore>(db(), clock_);
    inv_ = std::make_unique<numbers::Inventory>(db(), clock_);
    o_.sip_domain = "sip.test";
    o_.trunks = {{"trunk1", "10.0.0.1", 5060, "udp", {"10.0.0.1"}}};
    o_.max_concurrent_calls = 1;
    o_.allowed_countries = {"US", "GB"};
    o_.blocked_prefixes = {"+1900"};
    make_service();
  }

  void make_service() {
    svc_ = std::make_unique<VoiceService>(db(), *inv_, *ledger_, *rates_, nullptr, *tenants_,
                                          *users_, clock_, o_);
    svc_->on_credential_changed([this](const std::string& u) { forgotten_.push_back(u); });
  }

  UserScope add_user(const std::string& name) {
    std::string id = "usr_" + name;
    auto st = exec(
        "INSERT INTO users (id, tenant_id, email, display_name, password_hash, role, status, "
        "email_verified_at, totp_enabled, totp_secret, totp_pending, totp_last_step, locale, "
        "time_zone, password_changed_at, last_login_at, created_at, updated_at) VALUES (?, ?, ?, "
        "?, '', 'user', 'active', 1, 0, '', '', 0, '', 'America/New_York', 0, 0, 0, 0)",
        {id, tenant_, name + "@example.com", name});
    EXPECT_TRUE(st) << st.error().message;
    return {tenant_, id};
  }

  std::string add_number(const std::string& e164, const std::string& user) {
    std::string id = new_id("num");
    auto st = exec(
        "INSERT INTO numbers (id, tenant_id, e164, provider, provider_ref, state, user_id, label, "
        "features, country, region, locality, monthly_micros, upfront_micros, trunk, "
        "messaging_route, created_at, updated_at, activated_at) VALUES (?, ?, ?, 'local', '', "
        "'active', ?, '', 'sms;mms;voice', 'US', '', '', 0, 0, 'trunk1', 'smsc1', 0, 0, 0)",
        {id, tenant_, e164, user});
    EXPECT_TRUE(st) << st.error().message;
    return id;
  }

  void price_calls() {
    // 0.06/min in 60/60 steps (1,000 micro per second), no connect fee.
    auto r = rates_->import(tenant_, "deck",
                            "prefix,description,per_minute,increment,sms,mms\n"
                            "1,US,0.06,60/60,0.0075,0.02\n"
                            "44,UK,0.12,60/60,0.04,0.10\n");
    ASSERT_TRUE(r) << r.error().message;
  }

  void fund(const UserScope& u, std::int64_t micros) {
    auto st = db().transaction([&](storage::Connection& tx) -> Status {
      billing::Posting p;
      p.kind = billing::TxnKind::topup;
      p.tenant_id = u.tenant_id;
      p.user_id = u.user_id;
      p.amount_micros = micros;
      p.reference = "test";
      p.actor = "test";
      RH_TRY(ledger_->credit(tx, p));
      return {};
    });
    ASSERT_TRUE(st) << st.error().message;
  }

  billing::Balance balance(const UserScope& u) {
    auto b =
        db().read<billing::Balance>([&](storage::Connection& c) { return ledger_->balance(c, u); });
    EXPECT_TRUE(b);
    return b ? *b : billing::Balance{};
  }

  std::string device_of(const UserScope& u) {
    auto c = svc_->create_credential(u, "phone");
    EXPECT_TRUE(c) << c.error().message;
    return c ? c->credential.username : "";
  }

  RouteDecision route_device(const std::string& username, const std::string& to,
                             const std::string& from = "", const std::string& call_id = "") {
    RouteRequest r;
    r.call_id = call_id.empty() ? new_id("sipcall") : call_id;
    r.source = "device";
    r.username = username;
    r.to_user = to;
    r.from_user = from.empty() ? username : from;
    auto d = svc_->route(r);
    EXPECT_TRUE(d) << d.error().message;
    last_call_id_ = r.call_id;
    if (d) last_call_ = *d;
    return d ? *d : RouteDecision{};
  }

  RouteDecision route_trunk(const std::string& to, const std::string& from,
                            const std::string& call_id = "") {
    RouteRequest r;
    r.call_id = call_id.empty() ? new_id("sipcall") : call_id;
    r.source = "trunk";
    r.trunk = "trunk1";
    r.to_user = to;
    r.from_user = from;
    auto d = svc_->route(r);
    EXPECT_TRUE(d) << d.error().message;
    last_call_id_ = r.call_id;
    return d ? *d : RouteDecision{};
  }

  void event(const std::string& ev, const std::string& call, int code = 0) {
    CallEvent e;
    e.event = ev;
    e.call = call;
    e.code = code;
    auto st = svc_->call_event(e);
    ASSERT_TRUE(st) << st.error().message;
  }

  std::vector<Call> log(const UserScope& u) {
    auto p = svc_->calls(u, "", 50);
    EXPECT_TRUE(p) << p.error().message;
    return p ? p->calls : std::vector<Call>{};
  }

  std::int64_t events(const std::string& type) {
    return scalar("SELECT COUNT(*) AS n FROM events WHERE type = ?", {type});
  }

  std::unique_ptr<accounts::TenantStore> tenants_;
  std::unique_ptr<accounts::UserStore> users_;
  std::unique_ptr<billing::Ledger> ledger_;
  std::unique_ptr<billing::RateStore> rates_;
  std::unique_ptr<numbers::Inventory> inv_;
  std::unique_ptr<VoiceService> svc_;
  VoiceOptions o_;
  std::string tenant_;
  UserScope alice_, bob_;
  std::string alice_number_, bob_number_;
  std::vector<std::string> forgotten_;
  std::string last_call_id_;
  RouteDecision last_call_;
};

TEST_P(VoiceServiceTest, CredentialsGiveHa1sAndRotationAndRevocationTakeEffect) {
  auto c = svc_->create_credential(alice_, "Pixel");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->domain, "sip.test");
  EXPECT_EQ(c->credential.username.size(), 12u);
  EXPECT_GE(c->password.size(), 20u);
  auto ha1 = svc_->ha1_of(c->credential.username);
  ASSERT_TRUE(ha1 && *ha1);
  EXPECT_EQ(**ha1, digest_ha1(c->credential.username, "sip.test", c->password));

  auto rotated = svc_->rotate_credential(alice_, c->credential.id);
  ASSERT_TRUE(rotated) << rotated.error().message;
  EXPECT_NE(rotated->password, c->password);
  EXPECT_EQ(**svc_->ha1_of(c->credential.username),
            digest_ha1(c->credential.username, "sip.test", rotated->password));
  EXPECT_EQ(forgotten_, std::vector<std::string>{c->credential.username});

  // Bob cannot see, rotate or revoke Alice's credentials.
  EXPECT_FALSE(svc_->credential(bob_, c->credential.id));
  EXPECT_FALSE(svc_->rotate_credential(bob_, c->credential.id));
  EXPECT_FALSE(svc_->revoke_credential(bob_, c->credential.id));

  // Registrations show which devices are online.
  RegisterEvent reg{c->credential.username, "sip:x@127.0.0.1:5080", 600, "baresip", "udp",
                    "127.0.0.1"};
  ASSERT_TRUE(svc_->registered(reg));
  auto list = svc_->credentials(alice_);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  ASSERT_EQ(list->front().registrations.size(), 1u);
  EXPECT_EQ(list->front().registrations.front().user_agent, "baresip");
  clock_.advance_ms(601'000);
  EXPECT_TRUE(svc_->credentials(alice_)->front().registrations.empty());

  ASSERT_TRUE(svc_->revoke_credential(alice_, c->credential.id));
  auto gone = svc_->ha1_of(c->credential.username);
  ASSERT_TRUE(gone);
  EXPECT_FALSE(*gone);
  EXPECT_EQ(forgotten_.size(), 2u);
  EXPECT_TRUE(svc_->credentials(alice_)->empty());
}

TEST_P(VoiceServiceTest, CredentialsPerUserAreLimited) {
  o_.max_credentials = 2;
  make_service();
  ASSERT_TRUE(svc_->create_credential(alice_, "a"));
  ASSERT_TRUE(svc_->create_credential(alice_, "b"));
  auto third = svc_->create_credential(alice_, "c");
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().reason, "too_many_credentials");
}

TEST_P(VoiceServiceTest, DeviceToPstnGoesToTheNumbersTrunkWithItsCallerIdAndAHold) {
  price_calls();
  fund(alice_, 600'000);  // 0.60: ten minutes at 0.06
  std::string dev = device_of(alice_);
  auto d = route_device(dev, "2125550199");  // national: the tenant's country
  ASSERT_FALSE(d.reject) << d.reason;
  ASSERT_EQ(d.routes.size(), 1u);
  EXPECT_EQ(d.routes[0].uri, "sip:+12125550199@10.0.0.1:5060");
  EXPECT_EQ(d.routes[0].dst_uri, "sip:10.0.0.1:5060;transport=udp");
  EXPECT_EQ(d.routes[0].from_uri, "sip:+12125550100@sip.test");
  EXPECT_EQ(d.max_duration_s, 600);
  EXPECT_EQ(balance(alice_).held_micros, 600'000);

  // Answered, 61 s: two 60 s steps = 0.12.
  event("answered", d.call);
  clock_.advance_ms(61'000);
  event("ended", d.call);
  auto calls = log(alice_);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].status, "completed");
  EXPECT_EQ(calls[0].direction, "outbound");
  EXPECT_EQ(calls[0].to, "+12125550199");
  EXPECT_EQ(calls[0].duration_s, 61);
  EXPECT_EQ(calls[0].billed_s, 120);
  EXPECT_EQ(calls[0].cost_micros, 120'000);
  EXPECT_EQ(balance(alice_).balance_micros, 480'000);
  EXPECT_EQ(balance(alice_).held_micros, 0);
  EXPECT_EQ(events("call.ended"), 1);
  // A repeated end changes nothing.
  event("ended", d.call);
  EXPECT_EQ(balance(alice_).balance_micros, 480'000);
  EXPECT_EQ(events("call.ended"), 1);
}

TEST_P(VoiceServiceTest, AnUnansweredPstnCallReleasesItsHold) {
  price_calls();
  fund(alice_, 100'000);
  auto d = route_device(device_of(alice_), "+12125550199");
  ASSERT_FALSE(d.reject) << d.reason;
  EXPECT_EQ(d.max_duration_s, 60);  // 0.10 buys one 60 s step
  event("failed", d.call, 486);
  EXPECT_EQ(balance(alice_).held_micros, 0);
  EXPECT_EQ(balance(alice_).balance_micros, 100'000);
  auto calls = log(alice_);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].status, "failed");
  EXPECT_EQ(calls[0].sip_code, 486);
}

TEST_P(VoiceServiceTest, ACallCutAtItsLimitIsChargedWhatWasHeld) {
  price_calls();
  fund(alice_, 100'000);  // one 60 s step
  auto d = route_device(device_of(alice_), "+12125550199");
  ASSERT_FALSE(d.reject) << d.reason;
  ASSERT_EQ(d.max_duration_s, 60);
  event("answered", d.call);
  // The edge's BYE and the event arrive a little after the limit.
  clock_.advance_ms(61'500);
  CallEvent e;
  e.event = "ended";
  e.call = d.call;
  e.by = "timeout";
  ASSERT_TRUE(svc_->call_event(e));
  auto calls = log(alice_);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].status, "completed");
  EXPECT_EQ(calls[0].duration_s, 60);
  EXPECT_EQ(calls[0].cost_micros, 60'000);
  EXPECT_EQ(balance(alice_).balance_micros, 40'000);
  EXPECT_EQ(balance(alice_).held_micros, 0);
}

TEST_P(VoiceServiceTest, RefusalsAreClearSipAnswers) {
  price_calls();
  std::string dev = device_of(alice_);
  // No money.
  auto broke = route_device(dev, "+12125550199");
  EXPECT_TRUE(broke.reject);
  EXPECT_EQ(broke.code, 402);
  fund(alice_, 1'000'000);
  // Somebody else's number as caller ID.
  auto spoof = route_device(dev, "+12125550199", "+12125550101");
  EXPECT_TRUE(spoof.reject);
  EXPECT_EQ(spoof.code, 403);
  // Not allowed: a country outside the list, a blocked prefix.
  EXPECT_EQ(route_device(dev, "+33142685300").code, 403);
  EXPECT_EQ(route_device(dev, "+19005550100").code, 403);
  // Not a number at all.
  EXPECT_EQ(route_device(dev, "hello").code, 484);
  // Unknown device.
  EXPECT_EQ(route_device("nobody", "+12125550199").code, 403);
  // One call at a time (voice.max_concurrent_calls = 1).
  auto first = route_device(dev, "+12125550199");
  ASSERT_FALSE(first.reject) << first.reason;
  auto second = route_device(dev, "+12125550198");
  EXPECT_TRUE(second.reject);
  EXPECT_EQ(second.code, 486);
  event("ended", first.call);
  EXPECT_FALSE(route_device(dev, "+12125550198").reject);
}

TEST_P(VoiceServiceTest, TheTenantsOwnAllowListWins) {
  price_calls();
  fund(alice_, 1'000'000);
  std::string dev = device_of(alice_);
  EXPECT_EQ(route_device(dev, "+442071838750").code, 0);  // GB: allowed by voice.allowed_countries
  event("ended", last_call_.call);
  ASSERT_TRUE(svc_->set_allowed_countries(tenant_, {"US"}));
  EXPECT_EQ(*svc_->allowed_countries(tenant_), std::vector<std::string>{"US"});
  EXPECT_EQ(route_device(dev, "+442071838751").code, 403);
  EXPECT_FALSE(svc_->set_allowed_countries(tenant_, {"XX"}));
}

TEST_P(VoiceServiceTest, DailySpendLimitCapsTheDuration) {
  price_calls();
  fund(alice_, 10'000'000);
  o_.daily_spend_limit_micros = 180'000;  // three minutes a day
  make_service();
  auto d = route_device(device_of(alice_), "+12125550199");
  ASSERT_FALSE(d.reject) << d.reason;
  EXPECT_EQ(d.max_duration_s, 180);
}

TEST_P(VoiceServiceTest, OnNetCallRingsTheCalleesDevicesAndLogsBothSides) {
  std::string a = device_of(alice_);
  std::string b1 = device_of(bob_);
  std::string b2 = device_of(bob_);
  auto d = route_device(a, "+12125550101");
  ASSERT_FALSE(d.reject) << d.reason;
  ASSERT_EQ(d.routes.size(), 2u);
  std::set<std::string> uris{d.routes[0].uri, d.routes[1].uri};
  EXPECT_EQ(uris, (std::set<std::string>{"sip:" + b1 + "@sip.test", "sip:" + b2 + "@sip.test"}));
  EXPECT_EQ(d.routes[0].timeout_s, 25);
  EXPECT_EQ(events("call.incoming"), 1);
  // The callee's event, in the callee's live feed.
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM events WHERE type = 'call.incoming' AND user_id = ?",
                   {bob_.user_id}),
            1);
  event("answered", d.call);
  clock_.advance_ms(30'000);
  event("ended", d.call);
  auto mine = log(alice_);
  auto theirs = log(bob_);
  ASSERT_EQ(mine.size(), 1u);
  ASSERT_EQ(theirs.size(), 1u);
  EXPECT_EQ(mine[0].direction, "outbound");
  EXPECT_TRUE(mine[0].on_net);
  EXPECT_EQ(mine[0].status, "completed");
  EXPECT_EQ(mine[0].cost_micros, 0);
  EXPECT_EQ(theirs[0].direction, "inbound");
  EXPECT_EQ(theirs[0].from, "+12125550100");
  EXPECT_EQ(theirs[0].status, "completed");
  EXPECT_EQ(theirs[0].duration_s, 30);
}

TEST_P(VoiceServiceTest, TrunkCallFollowsTheCallRulesStageByStage) {
  std::string b = device_of(bob_);
  auto set = svc_->set_call_rules(
      bob_, bob_number_,
      R"({"ring":{"devices":true,"timeout_s":15},"forward":{"numbers":["+12125550177"],"mode":"sequential","timeout_s":20},"fallback":{"no_answer":"reject"}})");
  ASSERT_TRUE(set) << set.error().message;
  auto d = route_trunk("12125550101", "+13105550123");  // a trunk's DID without '+'
  ASSERT_FALSE(d.reject) << d.reason;
  ASSERT_EQ(d.routes.size(), 1u);
  EXPECT_EQ(d.routes[0].uri, "sip:" + b + "@sip.test");
  EXPECT_EQ(d.routes[0].timeout_s, 15);
  EXPECT_EQ(d.stage, 1);

  // Nobody answered: the forward, presenting the caller's number.
  RouteRequest next;
  next.call_id = last_call_id_;
  next.call = d.call;
  next.stage = 1;
  next.code = 408;
  auto d2 = svc_->route(next);
  ASSERT_TRUE(d2) << d2.error().message;
  ASSERT_FALSE(d2->reject) << d2->reason;
  ASSERT_EQ(d2->routes.size(), 1u);
  EXPECT_EQ(d2->routes[0].uri, "sip:+12125550177@10.0.0.1:5060");
  EXPECT_EQ(d2->routes[0].from_uri, "sip:+13105550123@sip.test");
  EXPECT_EQ(d2->stage, 2);
  // A stale repeat of stage 1's failure is not applied twice.
  auto stale = svc_->route(next);
  ASSERT_TRUE(stale);
  EXPECT_TRUE(stale->reject);

  // The forward did not answer either: the fallback rejects.
  next.stage = 2;
  auto d3 = svc_->route(next);
  ASSERT_TRUE(d3);
  EXPECT_TRUE(d3->reject);
  event("failed", d.call, 480);
  auto calls = log(bob_);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].status, "missed");
  EXPECT_EQ(calls[0].from, "+13105550123");
  EXPECT_EQ(events("call.missed"), 1);
}

TEST_P(VoiceServiceTest, BlockedCallersAndUnknownNumbers) {
  ASSERT_TRUE(svc_->set_call_rules(bob_, bob_number_, R"({"block":["+1310*"]})"));
  auto blocked = route_trunk("+12125550101", "+13105550123");
  EXPECT_TRUE(blocked.reject);
  EXPECT_EQ(blocked.code, 603);
  EXPECT_EQ(log(bob_).front().status, "rejected");
  auto unknown = route_trunk("+12125550999", "+13105550123");
  EXPECT_TRUE(unknown.reject);
  EXPECT_EQ(unknown.code, 404);
  // Without devices or voicemail, a call has nowhere to ring.
  auto nowhere = route_trunk("+12125550100", "+13105550123");
  EXPECT_TRUE(nowhere.reject);
  EXPECT_EQ(nowhere.code, 480);
}

TEST_P(VoiceServiceTest, CallRulesAreValidatedAndOwned) {
  auto bad = svc_->set_call_rules(bob_, bob_number_, R"({"ring":{"timeout_s":1}})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
  EXPECT_EQ(bad.error().reason, "invalid_call_rules");
  EXPECT_NE(bad.error().message.find("ring.timeout_s"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(svc_->set_call_rules(alice_, bob_number_, "{}"));
  EXPECT_FALSE(svc_->call_rules(alice_, bob_number_));
  auto rules = svc_->call_rules(bob_, bob_number_);
  ASSERT_TRUE(rules) << rules.error().message;
  EXPECT_NE(rules->find("ring"), std::string::npos) << *rules;
}

TEST_P(VoiceServiceTest, CallsWhoseEndNeverCameAreSweptWithoutCharge) {
  price_calls();
  fund(alice_, 600'000);
  auto d = route_device(device_of(alice_), "+12125550199");
  ASSERT_FALSE(d.reject) << d.reason;
  event("answered", d.call);
  EXPECT_EQ(balance(alice_).held_micros, 600'000);
  auto early = svc_->sweep();
  ASSERT_TRUE(early);
  EXPECT_EQ(*early, 0);
  clock_.advance_ms((o_.max_call_s + 3601) * 1000);
  auto swept = svc_->sweep();
  ASSERT_TRUE(swept) << swept.error().message;
  EXPECT_EQ(*swept, 1);
  EXPECT_EQ(balance(alice_).held_micros, 0);
  EXPECT_EQ(balance(alice_).balance_micros, 600'000);
  EXPECT_EQ(log(alice_).front().status, "failed");
  // A late end changes nothing.
  event("ended", d.call);
  EXPECT_EQ(balance(alice_).balance_micros, 600'000);
}

INSTANTIATE_TEST_SUITE_P(Drivers, VoiceServiceTest,
                         ::testing::Values(storage::Dialect::sqlite, storage::Dialect::mariadb),
                         unit::dialect_test_name);

}  // namespace
}  // namespace rh::voice
