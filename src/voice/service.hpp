// Voice: SIP credentials for users' devices, the call-control hooks the SIP
// edge (Kamailio) asks, call rules per number, and call records (CDRs).
//
// Kamailio keeps no business logic (docs/voice.md): it fetches a device's HA1
// (`ha1_of`), asks where an authenticated or trunk INVITE goes (`route`), and
// reports registrations and dialog events (`registered`, `call_event`).
//
// Calls: one row per party whose call log shows it (the caller's outbound row
// and, for a call to a platform number, the callee's inbound row), tied by
// the SIP Call-ID. A call to the PSTN is rated from the tenant's rate deck:
// the route hook places a ledger hold for the longest affordable duration
// (never more than voice.max_call_s, within the user's daily spend limit) and
// gives Kamailio that duration, after which the dialog is cut; the end event
// settles the hold with the real cost (included plan minutes first). Events
// call.incoming, call.missed and call.ended go to the outbox in the same
// transaction as the change they describe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "billing/ledger.hpp"
#include "billing/plans.hpp"
#include "billing/rates.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/principal.hpp"
#include "core/result.hpp"
#include "jobs/job_queue.hpp"
#include "numbers/inventory.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "voice/call_rules.hpp"
#include "voice/edge_config.hpp"

namespace rh::accounts {
class TenantStore;
class UserStore;
}  // namespace rh::accounts

namespace rh::voice {

std::vector<storage::Migration> voice_migrations();

void declare_voice_config(config::Schema& s);

struct VoiceOptions {
  std::string sip_domain = "localhost";  // realm; device AoRs are username@sip_domain
  std::string voicemail_uri;             // empty: a voicemail fallback answers 480
  std::int64_t max_call_s = 4 * 3600;    // no call lasts longer
  int max_concurrent_calls = 2;          // a user's outbound calls at once (0: no limit)
  std::int64_t daily_spend_limit_micros = 0;   // a user's call spend per UTC day (0: none)
  std::vector<std::string> allowed_countries;  // destinations; empty: the tenant's country
  std::vector<std::string> blocked_prefixes;   // E.164 prefixes never called ("+882", ...)
  int outbound_timeout_s = 60;  // a PSTN call's time to answer
  int max_credentials = 10;     // SIP credentials per user
  std::vector<Trunk> trunks;
};
VoiceOptions voice_options(const config::Config& c);

// ---------------------------------------------------------------------------
// SIP credentials

struct Registration {
  std::string contact;
  std::string user_agent;
  std::string transport;
  std::string src_ip;
  std::int64_t expires_at = 0;
  std::int64_t updated_at = 0;
};

struct SipCredential {
  std::string id;  // sip_...
  std::string tenant_id;
  std::string user_id;
  std::string username;
  std::string label;
  std::int64_t created_at = 0;
  std::int64_t rotated_at = 0;
  std::vector<Registration> registrations;  // online contacts (list and get only)
};

// A credential with its password: shown once, when created or rotated.
struct IssuedCredential {
  SipCredential credential;
  std::string password;
  std::string domain;
};

// HA1 = hex MD5("username:realm:password") (RFC 2617).
std::string digest_ha1(std::string_view username, std::string_view realm,
                       std::string_view password);

// ---------------------------------------------------------------------------
// Route hook

struct RouteRequest {
  std::string call_id;
  std::string source;  // device | trunk
  std::string username;
  std::string trunk;
  std::string from_user, from_display;
  std::string to_user;
  std::string privacy;
  std::string transport;
  std::string src_ip;
  // Next stage: the call, the stage that failed and its final code.
  std::string call;
  int stage = 0;
  int code = 0;
};
// invalid_argument naming the field for a body that is not the protocol's.
Result<RouteRequest> parse_route_request(std::string_view json);

struct RouteTarget {
  std::string uri;
  std::string dst_uri;  // trunks and voicemail: where to send it
  std::string from_uri, from_display;  // the caller ID to present (empty: unchanged)
  int timeout_s = 0;
};

struct RouteDecision {
  bool reject = false;
  int code = 0;
  std::string reason;
  std::string call;  // cal_...
  int stage = 0;
  std::int64_t max_duration_s = 0;
  std::vector<RouteTarget> routes;
};
// The answer's JSON: a reject, or an rtjson document with ringhouse's fields.
std::string route_json(const RouteDecision& d);

struct CallEvent {
  std::string event;  // answered | ended | failed
  std::string call;   // cal_... (may be empty: then call_id alone)
  std::string call_id;
  std::string by;  // ended: caller | callee | timeout
  int code = 0;
  std::string reason;
};

struct RegisterEvent {
  std::string username;
  std::string contact;
  std::int64_t expires_s = 0;  // 0: removed
  std::string user_agent, transport, src_ip;
};

// Parses events of docs/voice.md: a call event or a registration.
struct EdgeEvent {
  std::optional<CallEvent> call;
  std::optional<RegisterEvent> registration;
};
Result<EdgeEvent> parse_edge_event(std::string_view json);

// ---------------------------------------------------------------------------
// Calls

struct Call {
  std::string id;  // cal_...
  std::string tenant_id;
  std::string user_id;
  std::string number_id;
  std::string direction;  // inbound | outbound
  std::string from, to;   // E.164 (or a caller's name as received; "anonymous")
  std::string status;     // ringing | answered | completed | missed | failed | rejected
  bool on_net = false;
  int sip_code = 0;
  std::string reason;
  std::int64_t started_at = 0;
  std::int64_t answered_at = 0;
  std::int64_t ended_at = 0;
  std::int64_t duration_s = 0;
  std::int64_t billed_s = 0;
  std::int64_t cost_micros = 0;
};

struct CallPage {
  std::vector<Call> calls;
  std::string next;  // cursor, empty at the end
};

class VoiceService {
 public:
  VoiceService(storage::Database& db, numbers::Inventory& inventory, billing::Ledger& ledger,
               billing::RateStore& rates, billing::PlanStore* plans,
               accounts::TenantStore& tenants, accounts::UserStore& users, const Clock& clock,
               VoiceOptions o);

  const VoiceOptions& options() const { return o_; }
  // Called with a username whose cached HA1 the edge must forget (rotated or
  // revoked). Set once at wiring.
  void on_credential_changed(std::function<void(const std::string& username)> fn) {
    forget_ = std::move(fn);
  }

  // Devices' credentials.
  Result<IssuedCredential> create_credential(const UserScope& u, const std::string& label);
  Result<std::vector<SipCredential>> credentials(const UserScope& u);
  Result<SipCredential> credential(const UserScope& u, const std::string& id);
  Result<IssuedCredential> rotate_credential(const UserScope& u, const std::string& id);
  Status revoke_credential(const UserScope& u, const std::string& id);

  // The tenant's destination allow-list for calls (ISO country codes; empty:
  // voice.allowed_countries, and when that is empty too the tenant's
  // default country).
  Result<std::vector<std::string>> allowed_countries(const std::string& tenant_id);
  Status set_allowed_countries(const std::string& tenant_id,
                               const std::vector<std::string>& countries);

  // Call rules of a number the user owns: the canonical JSON.
  Result<std::string> call_rules(const UserScope& u, const std::string& number_id);
  // Validates and stores; invalid_argument (reason "invalid_call_rules")
  // lists every problem ("field: message", one per line), and each is also
  // put in `problems` when given.
  Result<std::string> set_call_rules(const UserScope& u, const std::string& number_id,
                                     std::string_view json,
                                     std::vector<RuleProblem>* problems = nullptr);

  // Edge hooks.
  Result<std::optional<std::string>> ha1_of(const std::string& username);
  Result<RouteDecision> route(const RouteRequest& r);
  Status call_event(const CallEvent& e);
  Status registered(const RegisterEvent& e);

  // Calls whose end the edge never reported (it was down, or its event was
  // lost) and that are older than the longest call plus an hour: ended as
  // failed, their holds released, nothing charged. Returns how many.
  Result<int> sweep();
  // The `voice.sweep` job kind.
  void register_jobs(jobs::JobWorker& w);

  // Call log.
  Result<CallPage> calls(const UserScope& u, const std::string& after, int limit);
  Result<Call> call(const UserScope& u, const std::string& id);

 private:
  Result<RouteDecision> route_device(const RouteRequest& r);
  Result<RouteDecision> route_trunk(const RouteRequest& r);
  struct Impl;  // the route hook's steps (service.cpp)
  friend struct Impl;

  storage::Database& db_;
  numbers::Inventory& inventory_;
  billing::Ledger& ledger_;
  billing::RateStore& rates_;
  billing::PlanStore* plans_;
  accounts::TenantStore& tenants_;
  accounts::UserStore& users_;
  const Clock& clock_;
  VoiceOptions o_;
  std::function<void(const std::string&)> forget_;
};

}  // namespace rh::voice
