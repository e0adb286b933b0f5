// Voice end to end: `ringhouse up` spawns the real Kamailio (the rendered
// template) and rtpengine; baresip plays users' devices, sipp the carrier
// trunk. Devices live on 127.0.0.1, the trunk on 127.0.0.2 (the only address
// in its `addresses`), and a stranger on 127.0.0.3. SQLite only: the
// database paths of voice run on both drivers in tests/unit/voice/.
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <unistd.h>

#include <csignal>
#include <set>

#include <boost/json.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "core/crypto.hpp"
#include "e2e/numbers_fixture.hpp"
#include "support/child_process.hpp"
#include "support/sip_peers.hpp"

namespace rh::test {
namespace {

namespace fs = std::filesystem;

class Voice : public NumbersWorld {
 protected:
  static constexpr const char* kDomain = "voice.test";

  void SetUp() override {
    NumbersWorld::SetUp();
    if (IsSkipped()) return;
    std::string why;
    if (!sip_peers_available(why)) GTEST_SKIP() << why;
    for (const char* p : {"kamailio", "rtpengine"})
      if (!program_available(p) && !program_available(std::string("/usr/sbin/") + p))
        GTEST_SKIP() << p << " is not installed (scripts/install-deps.sh test)";
  }

  void TearDown() override {
    if (HasFailure()) {
      if (rh_) {
        rh_->keep_dir();
        std::cerr << "ringhouse up log:\n" << rh_->log() << "\n";
      }
      if (trunk_) std::cerr << "trunk sipp log:\n" << trunk_->log() << "\n";
      for (auto* d : {&dev1_, &dev2_, &dev3_})
        if (*d) std::cerr << "baresip log:\n" << (*d)->log() << "\n";
    }
    NumbersWorld::TearDown();
  }

  // Starts the trunk (a sipp UAS running `scenario`), then the platform with
  // it as trunk1, a priced deck, and one user with a number.
  void boot(const std::string& scenario = "uas_answer.xml",
            std::map<std::string, std::string> keys = {},
            std::vector<std::string> extra = {}) {
    trunk_ = std::make_unique<Sipp>();
    SippOptions so;
    so.scenario = scenario;
    so.local_ip = "127.0.0.2";
    so.keys = std::move(keys);
    so.timeout = std::chrono::seconds(60);
    auto st = trunk_->start_uas(so);
    if (st.skip) GTEST_SKIP() << st.why;
    ASSERT_TRUE(st.ok) << st.why;
    sip_port_ = free_sip_port();
    std::uint16_t rtp_base = static_cast<std::uint16_t>(20000 + (::getpid() % 400) * 100);
    std::vector<std::string> args{
        "--set", std::string("voice.sip_domain=") + kDomain,
        "--set", "voice.sip_port=" + std::to_string(sip_port_),
        "--set", "voice.tls_port=" + std::to_string(free_sip_port()),
        "--set", "voice.ws_port=" + std::to_string(free_sip_port()),
        "--set", "voice.wss_port=" + std::to_string(free_sip_port()),
        "--set", "voice.rpc_port=" + std::to_string(free_sip_port()),
        "--set", "voice.rtpengine_port=" + std::to_string(free_sip_port()),
        "--set", "voice.rtp_port_min=" + std::to_string(rtp_base),
        "--set", "voice.rtp_port_max=" + std::to_string(rtp_base + 99),
        "--set", "voice.edge_children=2",
        "--set", "voice.auth_failures_ban=3",
        "--set",
        "voice.trunks=sip://127.0.0.2:" + std::to_string(trunk_->port()) +
            "?name=trunk1&addresses=127.0.0.2",
        "--set", "voice.allowed_countries=US",
    };
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessOptions o;
    o.command = "up";
    o.args = db_args();
    o.args.insert(o.args.end(), args.begin(), args.end());
    rh_ = std::make_unique<RinghouseProcess>(o);
    ASSERT_TRUE(rh_->running()) << rh_->log();
    port_ = rh_->port();
    op_ = rh_->operator_token();
    tenant_ = default_tenant_id(port_, op_);
    // The edge is up when Kamailio answers an OPTIONS.
    ASSERT_TRUE(eventually(
        [&] {
          return !send_raw_sip_udp("127.0.0.1", sip_port_, options_request(),
                                   std::chrono::milliseconds(300))
                      .empty();
        },
        std::chrono::seconds(30)))
        << rh_->log();
    // Prices: US calls at 0.60/min in 1 s steps (10,000 micros a second).
    ASSERT_EQ(post_csv(port_, admin("/v1/admin/rate-decks?name=Voice"),
                       "prefix,description,per_minute,increment,sms,mms\n"
                       "1,US,0.60,1/1,0.01,0.02\n",
                       op_)
                  .status,
              201);
    std::string csv = "number,trunk,messaging_route,features,monthly_price,upfront_price\n";
    for (int i = 0; i < 3; ++i)
      csv += "+1212555010" + std::to_string(i) + ",trunk1,smpp-a,sms;mms;voice,0,0\n";
    ASSERT_EQ(post_csv(port_, admin("/v1/admin/numbers/import"), csv, op_).status, 201);
    alice_ = user_with_number("alice", "+12125550100");
  }

  std::string options_request() const {
    return "OPTIONS sip:" + std::string(kDomain) +
           " SIP/2.0\r\nVia: SIP/2.0/UDP [local_ip]:[local_port];branch=z9hG4bK-ready\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:" +
           std::string(kDomain) +
           ">\r\nCall-ID: ready-probe\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  }

  struct User {
    Account account;
    std::string number;
    std::string number_id;
  };

  User user_with_number(const std::string& name, const std::string& e164) {
    User u;
    u.account = signed_up_user(port_, op_, name + "@example.com");
    u.number = e164;
    auto r = purchase(port_, u.account.access_token, e164, "buy-" + name);
    EXPECT_EQ(r.status, 201) << r.body;
    if (r.status == 201) u.number_id = jstr(r.json().at("number"), "id");
    return u;
  }

  struct Device {
    std::string username, password;
  };
  Device credential(const User& u, const std::string& label = "phone") {
    auto r = call(port_, "POST", "/v1/sip-credentials",
                  boost::json::serialize(boost::json::object{{"label", label}}),
                  u.account.access_token);
    EXPECT_EQ(r.status, 201) << r.body;
    if (r.status != 201) return {};
    auto v = r.json();
    return {jstr(v, "username"), jstr(v, "password")};
  }

  // A registered baresip for the credentials.
  std::unique_ptr<Baresip> device(const Device& d, bool auto_answer = true) {
    auto b = std::make_unique<Baresip>();
    BaresipOptions o;
    o.username = d.username;
    o.password = d.password;
    o.domain = kDomain;
    o.registrar = "sip:127.0.0.1:" + std::to_string(sip_port_) + ";transport=udp";
    o.auto_answer = auto_answer;
    auto st = b->start(o);
    EXPECT_TRUE(st.ok) << st.why;
    EXPECT_TRUE(b->wait_registered(std::chrono::seconds(10))) << b->log() << rh_->log();
    return b;
  }

  boost::json::array calls(const User& u) {
    auto r = call(port_, "GET", "/v1/calls", "", u.account.access_token);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? r.json().at("data").as_array() : boost::json::array{};
  }

  std::unique_ptr<Sipp> trunk_;
  std::uint16_t sip_port_ = 0;
  User alice_;
  std::unique_ptr<Baresip> dev1_, dev2_, dev3_;
};

std::string md5_hex(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_md5(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

// The value of a parameter in a Digest challenge (nonce="...").
std::string digest_param(const std::string& header, const std::string& name) {
  auto at = header.find(name + "=\"");
  if (at == std::string::npos) return "";
  at += name.size() + 2;
  return header.substr(at, header.find('"', at) - at);
}

// One REGISTER from `from_ip`, answering the challenge with `password`.
// Returns the final code (0: no answer).
int register_with(std::uint16_t port, const std::string& from_ip, const std::string& user,
                  const std::string& password, const std::string& domain) {
  static int seq = 0;
  const std::string call_id = "reg-" + std::to_string(::getpid()) + "-" + std::to_string(++seq);
  auto request = [&](const std::string& auth) {
    return "REGISTER sip:" + domain + " SIP/2.0\r\n"
           "Via: SIP/2.0/UDP [local_ip]:[local_port];rport;branch=z9hG4bK" + call_id +
           std::to_string(auth.size()) + "\r\nMax-Forwards: 70\r\nFrom: <sip:" + user + "@" +
           domain + ">;tag=" + call_id + "\r\nTo: <sip:" + user + "@" + domain +
           ">\r\nCall-ID: " + call_id + "\r\nCSeq: " + (auth.empty() ? "1" : "2") +
           " REGISTER\r\nContact: <sip:" + user + "@[local_ip]:[local_port]>\r\n" + auth +
           "Expires: 60\r\nContent-Length: 0\r\n\r\n";
  };
  auto first = send_raw_sip_udp("127.0.0.1", port, request(""), std::chrono::milliseconds(1500),
                                from_ip);
  if (first.empty()) return 0;
  if (first.back().status() != 401) return first.back().status();
  std::string challenge = first.back().header("WWW-Authenticate");
  std::string nonce = digest_param(challenge, "nonce");
  std::string ha1 = md5_hex(user + ":" + domain + ":" + password);
  std::string ha2 = md5_hex("REGISTER:sip:" + domain);
  std::string response = md5_hex(ha1 + ":" + nonce + ":00000001:abcdef:auth:" + ha2);
  std::string auth = "Authorization: Digest username=\"" + user + "\", realm=\"" + domain +
                     "\", nonce=\"" + nonce + "\", uri=\"sip:" + domain + "\", response=\"" +
                     response + "\", qop=auth, nc=00000001, cnonce=\"abcdef\"\r\n";
  auto second = send_raw_sip_udp("127.0.0.1", port, request(auth),
                                 std::chrono::milliseconds(1500), from_ip);
  return second.empty() ? 0 : second.back().status();
}

TEST_P(Voice, RegistrationNeedsTheRightPasswordAndRepeatedFailuresAreBanned) {
  boot();
  if (IsSkipped() || HasFatalFailure()) return;
  auto cred = credential(alice_);
  dev1_ = device(cred);
  // Online in the API.
  ASSERT_TRUE(eventually([&] {
    auto r = call(port_, "GET", "/v1/sip-credentials", "", alice_.account.access_token);
    return r.status == 200 && r.json().at("data").as_array().at(0).at("online").as_bool();
  }));
  // From another address: the right password works; a wrong one and an
  // unknown user get the same answer.
  EXPECT_EQ(register_with(sip_port_, "127.0.0.3", cred.username, cred.password, kDomain), 200);
  int wrong = register_with(sip_port_, "127.0.0.3", cred.username, "wrong", kDomain);
  EXPECT_TRUE(wrong == 401 || wrong == 403) << wrong;
  EXPECT_EQ(register_with(sip_port_, "127.0.0.3", "nosuchuser1", "wrong", kDomain), wrong);
  // The third failure (voice.auth_failures_ban = 3) bans the address: even
  // the right password gets no answer now, while other addresses still work.
  register_with(sip_port_, "127.0.0.3", cred.username, "wrong-again", kDomain);
  EXPECT_EQ(register_with(sip_port_, "127.0.0.3", cred.username, cred.password, kDomain), 0);
  EXPECT_EQ(register_with(sip_port_, "127.0.0.4", cred.username, cred.password, kDomain), 200);
  // A rotated password works at once and the old one stops working.
  auto creds = call(port_, "GET", "/v1/sip-credentials", "", alice_.account.access_token);
  std::string id = jstr(creds.json().at("data").as_array().at(0), "id");
  auto rot = call(port_, "POST", "/v1/sip-credentials/" + id + "/rotate", "",
                  alice_.account.access_token);
  ASSERT_EQ(rot.status, 200) << rot.body;
  std::string fresh = jstr(rot.json(), "password");
  EXPECT_EQ(register_with(sip_port_, "127.0.0.5", cred.username, fresh, kDomain), 200);
  int old = register_with(sip_port_, "127.0.0.6", cred.username, cred.password, kDomain);
  EXPECT_TRUE(old == 401 || old == 403) << old;
}

TEST_P(Voice, DeviceCallsThePstnWithItsNumberAsCallerIdAndMediaFlowsThroughRtpengine) {
  boot();
  if (IsSkipped() || HasFatalFailure()) return;
  credit(port_, op_, alice_.account.id, "10.00");
  dev1_ = device(credential(alice_));
  ASSERT_TRUE(dev1_->dial("+12125550199"));
  ASSERT_TRUE(dev1_->wait_event("CALL_ESTABLISHED", std::chrono::seconds(15))) << rh_->log();
  // RTP both ways: sipp echoes what reaches it, through rtpengine.
  EXPECT_TRUE(dev1_->wait_rtp(50, std::chrono::seconds(10)));
  auto invite = trunk_->received_request("INVITE");
  ASSERT_TRUE(invite);
  EXPECT_NE(invite->header("From").find("+12125550100"), std::string::npos) << invite->text;
  EXPECT_NE(invite->header("P-Asserted-Identity").find("+12125550100"), std::string::npos)
      << invite->text;
  EXPECT_EQ(invite->start_line().rfind("INVITE sip:+12125550199@", 0), 0u) << invite->text;
  // The trunk sees rtpengine's address and ports, never the device's.
  std::string dev_port = std::to_string(dev1_->sip_port());
  EXPECT_EQ(invite->text.find("127.0.0.1:" + dev_port), std::string::npos)
      << "topology not hidden:\n"
      << invite->text;
  ASSERT_TRUE(dev1_->hangup());
  ASSERT_TRUE(eventually([&] {
    auto c = calls(alice_);
    return !c.empty() && jstr(c.at(0), "status") == "completed";
  })) << rh_->log();
  auto c = calls(alice_).at(0);
  EXPECT_EQ(jstr(c, "to"), "+12125550199");
  EXPECT_GT(c.at("cost_micros").as_int64(), 0);
}

TEST_P(Voice, TheCallIsCutWhenCreditRunsOut) {
  boot();
  if (IsSkipped() || HasFatalFailure()) return;
  credit(port_, op_, alice_.account.id, "0.03");  // three seconds at 0.60/min
  dev1_ = device(credential(alice_));
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(dev1_->dial("+12125550199"));
  ASSERT_TRUE(dev1_->wait_event("CALL_ESTABLISHED", std::chrono::seconds(15))) << rh_->log();
  // Nobody hangs up: the edge sends BYE to both sides.
  ASSERT_TRUE(dev1_->wait_event("CALL_CLOSED", std::chrono::seconds(15))) << rh_->log();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(12));
  EXPECT_TRUE(trunk_->wait_received_request("BYE", std::chrono::seconds(5)));
  ASSERT_TRUE(eventually([&] {
    auto c = calls(alice_);
    return !c.empty() && jstr(c.at(0), "status") == "completed";
  }));
  EXPECT_LE(calls(alice_).at(0).at("cost_micros").as_int64(), 30'000);
}

TEST_P(Voice, UpRestartsTheEdgeWhenItDies) {
  boot();
  if (IsSkipped() || HasFatalFailure()) return;
  auto pid_of = [&](const std::string& file) -> pid_t {
    std::ifstream in(rh_->data_dir() + "/run/edge/" + file);
    long pid = 0;
    in >> pid;
    return static_cast<pid_t>(pid);
  };
  pid_t kamailio = pid_of("kamailio.pid");
  ASSERT_GT(kamailio, 0);
  ASSERT_EQ(::kill(kamailio, SIGKILL), 0);
  // A new Kamailio answers again, and devices can register to it.
  ASSERT_TRUE(eventually(
      [&] {
        pid_t now = pid_of("kamailio.pid");
        return now > 0 && now != kamailio &&
               !send_raw_sip_udp("127.0.0.1", sip_port_, options_request(),
                                 std::chrono::milliseconds(300))
                    .empty();
      },
      std::chrono::seconds(30)))
      << rh_->log();
  // None of the dead Kamailio's workers is left holding the ports.
  EXPECT_TRUE(eventually([&] { return ::kill(-kamailio, 0) != 0; }, std::chrono::seconds(5)));
  dev1_ = device(credential(alice_));
}

// A trunk call from 127.0.0.2 (the trunk's address) to a DID.
std::unique_ptr<Sipp> trunk_call(std::uint16_t sip_port, const std::string& did,
                                 const std::string& caller, const std::string& scenario,
                                 int pause_ms = 1000) {
  auto uac = std::make_unique<Sipp>();
  SippOptions o;
  o.scenario = scenario;
  o.local_ip = "127.0.0.2";
  o.service = did;
  o.keys = {{"caller", caller}};
  o.pause_ms = pause_ms;
  o.timeout = std::chrono::seconds(40);
  auto st = uac->start_uac(o, "127.0.0.1:" + std::to_string(sip_port));
  EXPECT_TRUE(st.ok) << st.why;
  return uac;
}

TEST_P(Voice, PstnCallRingsBothDevicesTheFirstToAnswerWinsTheOtherIsCancelled) {
  boot();
  if (IsSkipped() || HasFatalFailure()) return;
  dev1_ = device(credential(alice_, "phone"), /*auto_answer=*/false);
  dev2_ = device(credential(alice_, "tablet"), /*auto_answer=*/false);
  auto uac = trunk_call(sip_port_, "12125550100", "+13105550123", "uac_call.xml", 2000);
  // Both ring before the phone answers, as people do (with both answering
  // at once, each could send its 200 before it saw the other's: a race of
  // two answers, not what this test is about). A device that rings only
  // after the answer: ADeviceThatRingsOnlyAfterTheCallWasAnsweredIsCancelled.
  ASSERT_TRUE(dev2_->wait_event("CALL_INCOMING", std::chrono::seconds(10))) << rh_->log();
  ASSERT_TRUE(dev1_->wait_event("CALL_INCOMING", std::chrono::seconds(10))) << rh_->log();
  ASSERT_TRUE(dev1_->answer());
  EXPECT_TRUE(dev1_->wait_event("CALL_ESTABLISHED", std::chrono::seconds(10)));
  EXPECT_TRUE(dev2_->wait_received_request("CANCEL", std::chrono::seconds(10)));
  EXPECT_NE(dev1_->last_incoming_from().find("+13105550123"), std::string::npos)
      << dev1_->last_incoming_from();
  EXPECT_TRUE(dev1_->wait_rtp(20, std::chrono::seconds(10)));
  EXPECT_EQ(uac->wait_exit(std::chrono::seconds(20)), 0) << uac->log();
  ASSERT_TRUE(eventually([&] {
    auto c = calls(alice_);
    return !c.empty() && jstr(c.at(0), "status") == "completed";
  })) << rh_->log();
  auto c = calls(alice_).at(0);
  EXPECT_EQ(jstr(c, "direction"), "inbound");
  EXPECT_EQ(jstr(c, "from"), "+13105550123");
}

// A device that sends its first reply (180, not even a 100 before it) only
// after another device answered: Kamailio's tm gives up on such an
// unreplied branch when the 200 completes the call, and sends the CANCEL
// when its 180 finally arrives (RFC 3261 9.1: CANCEL once a provisional
// response came), so the slow device stops ringing.
TEST_P(Voice, ADeviceThatRingsOnlyAfterTheCallWasAnsweredIsCancelled) {
  boot();
  if (IsSkipped() || HasFatalFailure()) return;
  Device slow = credential(alice_, "desk");
  // The slow device is sipp: one run registers from a port, a second one
  // listens on it for the call.
  const std::uint16_t port = free_sip_port();
  {
    Sipp reg;
    SippOptions o;
    o.scenario = "device_register.xml";
    o.port = port;
    o.keys = {{"sip_user", slow.username}, {"sip_secret", slow.password}, {"sip_domain", kDomain}};
    o.timeout = std::chrono::seconds(15);
    auto st = reg.start_uac(o, "127.0.0.1:" + std::to_string(sip_port_));
    ASSERT_TRUE(st.ok) << st.why;
    ASSERT_EQ(reg.wait_exit(std::chrono::seconds(20)), 0) << reg.log() << rh_->log();
  }
  Sipp late;
  {
    SippOptions o;
    o.scenario = "device_late_ring.xml";
    o.port = port;
    o.keys = {{"ring_delay_ms", "1500"}};
    o.timeout = std::chrono::seconds(30);
    auto st = late.start_uas(o);
    ASSERT_TRUE(st.ok) << st.why;
  }
  dev1_ = device(credential(alice_, "phone"));  // answers at once
  auto uac = trunk_call(sip_port_, "12125550100", "+13105550123", "uac_call.xml", 3000);
  EXPECT_TRUE(dev1_->wait_event("CALL_ESTABLISHED", std::chrono::seconds(10))) << rh_->log();
  // The slow device's 180 comes 1.5 s after its INVITE, when the call is
  // already up: it is sent a CANCEL, and its scenario (CANCEL, 200, 487,
  // ACK) completes.
  EXPECT_EQ(late.wait_exit(std::chrono::seconds(20)), 0) << late.log();
  auto cancel = late.received_request("CANCEL");
  ASSERT_TRUE(cancel) << late.log();
  EXPECT_NE(cancel->header("Reason").find("cause=200"), std::string::npos) << cancel->text;
  EXPECT_EQ(uac->wait_exit(std::chrono::seconds(20)), 0) << uac->log();
}

// The final response a sipp UAC received to its INVITE (0: none).
int final_code(const Sipp& uac) {
  int code = 0;
  for (const auto& m : uac.received_messages())
    if (!m.is_request() && m.method() == "INVITE" && m.status() >= 200) code = m.status();
  return code;
}

TEST_P(Voice, CallRulesBlockDndForwardAndNoAnswerFallback) {
  boot();
  if (IsSkipped() || HasFatalFailure()) return;
  dev1_ = device(credential(alice_), /*auto_answer=*/false);
  auto put_rules = [&](const std::string& rules) {
    auto r = call(port_, "PUT", "/v1/numbers/" + alice_.number_id + "/call-rules", rules,
                  alice_.account.access_token);
    ASSERT_EQ(r.status, 200) << r.body;
  };
  // Block list: the caller is declined and the device never rings.
  put_rules(R"({"block":["+1310*"]})");
  {
    auto uac = trunk_call(sip_port_, "+12125550100", "+13105550123", "uac_refused.xml");
    EXPECT_EQ(uac->wait_exit(std::chrono::seconds(15)), 0) << uac->log();
    EXPECT_EQ(final_code(*uac), 603);
  }
  // Do not disturb now (a window around the current time, UTC: the user
  // has no time zone), falling back to a rejection.
  auto now = std::time(nullptr);
  auto hhmm = [](std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char b[8];
    std::snprintf(b, sizeof b, "%02d:%02d", tm.tm_hour, tm.tm_min);
    return std::string(b);
  };
  put_rules(R"({"dnd":{"schedule":[{"start":")" + hhmm(now - 3600) + R"(","end":")" +
            hhmm(now + 3600) + R"("}]},"fallback":{"dnd":"reject"}})");
  {
    auto uac = trunk_call(sip_port_, "+12125550100", "+13105550123", "uac_refused.xml");
    EXPECT_EQ(uac->wait_exit(std::chrono::seconds(15)), 0) << uac->log();
    EXPECT_EQ(final_code(*uac), 480);
  }
  EXPECT_EQ(dev1_->event_count("CALL_INCOMING"), 0);
  // No answer within 5 s: forwarded to another number through the trunk,
  // showing the original caller.
  put_rules(R"({"ring":{"timeout_s":5},"fallback":{"no_answer":"forward:+12125550177"}})");
  {
    auto uac = trunk_call(sip_port_, "+12125550100", "+13105550123", "uac_call.xml", 1000);
    EXPECT_TRUE(dev1_->wait_event("CALL_INCOMING", std::chrono::seconds(10)));
    EXPECT_TRUE(dev1_->wait_received_request("CANCEL", std::chrono::seconds(10)));
    EXPECT_TRUE(trunk_->wait_received_request("INVITE", std::chrono::seconds(10)));
    EXPECT_EQ(uac->wait_exit(std::chrono::seconds(20)), 0) << uac->log();
    auto invite = trunk_->received_request("INVITE");
    ASSERT_TRUE(invite);
    EXPECT_EQ(invite->start_line().rfind("INVITE sip:+12125550177@", 0), 0u) << invite->text;
    EXPECT_NE(invite->header("From").find("+13105550123"), std::string::npos) << invite->text;
  }
  ASSERT_TRUE(eventually([&] { return calls(alice_).size() == 3; })) << rh_->log();
  auto log = calls(alice_);
  EXPECT_EQ(jstr(log.at(2), "status"), "rejected");
  EXPECT_EQ(jstr(log.at(1), "status"), "rejected");
}

TEST_P(Voice, OnNetCallRingsTheOtherUsersDeviceWithAudioBothWays) {
  boot();
  if (IsSkipped() || HasFatalFailure()) return;
  User bob = user_with_number("bob", "+12125550101");
  dev1_ = device(credential(alice_));
  dev2_ = device(credential(bob));
  ASSERT_TRUE(dev1_->dial("+12125550101"));
  ASSERT_TRUE(dev2_->wait_event("CALL_INCOMING", std::chrono::seconds(10))) << rh_->log();
  EXPECT_NE(dev2_->last_incoming_from().find("+12125550100"), std::string::npos)
      << dev2_->last_incoming_from();
  ASSERT_TRUE(dev1_->wait_event("CALL_ESTABLISHED", std::chrono::seconds(10)));
  EXPECT_TRUE(dev1_->wait_rtp(50, std::chrono::seconds(10)));
  EXPECT_TRUE(dev2_->wait_rtp(50, std::chrono::seconds(10)));
  ASSERT_TRUE(dev1_->hangup());
  ASSERT_TRUE(eventually([&] {
    auto a = calls(alice_);
    auto b = calls(bob);
    return !a.empty() && !b.empty() && jstr(a.at(0), "status") == "completed" &&
           jstr(b.at(0), "status") == "completed";
  })) << rh_->log();
  EXPECT_TRUE(calls(alice_).at(0).at("on_net").as_bool());
  EXPECT_EQ(jstr(calls(bob).at(0), "direction"), "inbound");
  EXPECT_EQ(calls(alice_).at(0).at("cost_micros").as_int64(), 0);
}

std::string invite_from_stranger(const std::string& ruri, const std::string& from) {
  return "INVITE " + ruri +
         " SIP/2.0\r\nVia: SIP/2.0/UDP [local_ip]:[local_port];rport;branch=z9hG4bK-stranger-" +
         std::to_string(std::rand()) + "\r\nMax-Forwards: 70\r\nFrom: <" + from +
         ">;tag=s1\r\nTo: <" + ruri + ">\r\nCall-ID: stranger-" + std::to_string(std::rand()) +
         "\r\nCSeq: 1 INVITE\r\nContact: <sip:x@[local_ip]:[local_port]>\r\n"
         "Content-Length: 0\r\n\r\n";
}

TEST_P(Voice, StrangersCannotRelayOrPoseAsTheTrunk) {
  boot();
  if (IsSkipped() || HasFatalFailure()) return;
  dev1_ = device(credential(alice_));
  // An unauthenticated INVITE for a foreign domain: no open relay.
  auto relay = send_raw_sip_udp(
      "127.0.0.1", sip_port_,
      invite_from_stranger("sip:+12125550199@foreign.example.com", "sip:a@foreign.example.com"),
      std::chrono::seconds(2), "127.0.0.3");
  ASSERT_FALSE(relay.empty());
  EXPECT_EQ(relay.back().status(), 403);
  // An INVITE for a DID from an address outside the trunk list is no trunk
  // call: it is challenged like any device, and nothing rings.
  auto fake_trunk = send_raw_sip_udp(
      "127.0.0.1", sip_port_,
      invite_from_stranger("sip:+12125550100@127.0.0.1:" + std::to_string(sip_port_),
                           "sip:+13105550123@127.0.0.3"),
      std::chrono::seconds(2), "127.0.0.3");
  ASSERT_FALSE(fake_trunk.empty());
  EXPECT_TRUE(fake_trunk.back().status() == 407 || fake_trunk.back().status() == 403)
      << fake_trunk.back().text;
  EXPECT_FALSE(dev1_->wait_event("CALL_INCOMING", std::chrono::seconds(1)));
  EXPECT_FALSE(trunk_->received_request("INVITE"));
  // The edge's hooks answer only the edge: not without its key, not with a
  // wrong one.
  EXPECT_EQ(http_get(port_, "/internal/sip/auth?username=x").status, 403);
  HttpRequest q;
  q.method = "POST";
  q.target = "/internal/sip/route";
  q.body = R"({"call_id":"x","source":"trunk","trunk":"trunk1","to_user":"+12125550100"})";
  q.headers["Content-Type"] = "application/json";
  q.headers["Host"] = "localhost";
  q.headers["X-Ringhouse-Edge-Key"] = "not-the-key";
  EXPECT_EQ(http(port_, q).status, 403);
  q.headers.erase("X-Ringhouse-Edge-Key");
  q.headers["Authorization"] = "Basic " + crypto::base64_encode("edge:not-the-key");
  EXPECT_EQ(http(port_, q).status, 403);
  std::string key;
  std::getline(std::ifstream(rh_->data_dir() + "/secrets/edge-key"), key);
  ASSERT_FALSE(key.empty());
  q.headers["Authorization"] = "Basic " + crypto::base64_encode("other:" + key);
  EXPECT_EQ(http(port_, q).status, 403);
  // from the edge's address with its key: answered (the trunk is not ours)
  q.headers["Authorization"] = "Basic " + crypto::base64_encode("edge:" + key);
  EXPECT_NE(http(port_, q).status, 403);
}

TEST_P(Voice, Rfc4475TortureMessagesNeitherCrashNorGetRelayed) {
  const fs::path dir = fs::path(RH_SOURCE_DIR) / ".." / "shared" / "testdata" / "sip" / "rfc4475";
  if (!fs::exists(dir))
    GTEST_SKIP() << "the RFC 4475 messages are not here (" << dir.string()
                 << "): CI has them beside the clone";
  boot();
  if (IsSkipped() || HasFatalFailure()) return;
  dev1_ = device(credential(alice_));
  int sent = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".dat") continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string msg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // From the trunk's address (trusted the most) and from a stranger.
    for (const char* from : {"127.0.0.2", "127.0.0.3"})
      send_raw_sip_udp("127.0.0.1", sip_port_, msg, std::chrono::milliseconds(100), from);
    ++sent;
  }
  EXPECT_EQ(sent, 50);
  // The edge still answers, the API is up, and nothing reached the trunk or
  // rang a device.
  EXPECT_FALSE(send_raw_sip_udp("127.0.0.1", sip_port_, options_request(),
                                std::chrono::seconds(2), "127.0.0.4")
                   .empty());
  EXPECT_EQ(http_get(port_, "/healthz").status, 200);
  EXPECT_FALSE(trunk_->received_request("INVITE"));
  EXPECT_EQ(dev1_->event_count("CALL_INCOMING"), 0);
  // And a real call still works after them.
  credit(port_, op_, alice_.account.id, "1.00");
  ASSERT_TRUE(dev1_->dial("+12125550199"));
  EXPECT_TRUE(dev1_->wait_event("CALL_ESTABLISHED", std::chrono::seconds(15))) << rh_->log();
}

// The voice API on its own (no SIP edge), on both drivers.
class VoiceApi : public NumbersWorld {};

TEST_P(VoiceApi, AllowListsCredentialsCallRulesAndTheCallLog) {
  boot_with({}, {});
  // Destination allow-lists, calls and messages alike.
  for (const std::string path : {"/v1/admin/voice/settings", "/v1/admin/messaging/settings"}) {
    auto put = call(port_, "PUT", admin(path), R"({"allowed_countries":["US","GB"]})", op_);
    EXPECT_EQ(put.status, 200) << put.body;
    auto get = call(port_, "GET", admin(path), "", op_);
    ASSERT_EQ(get.status, 200) << get.body;
    EXPECT_EQ(get.json().at("allowed_countries").as_array().size(), 2u) << get.body;
    EXPECT_EQ(call(port_, "PUT", admin(path), R"({"allowed_countries":["XX"]})", op_).status, 422);
    EXPECT_EQ(call(port_, "PUT", admin(path), R"({"countries":["US"]})", op_).status, 422);
  }
  ASSERT_EQ(post_csv(port_, admin("/v1/admin/numbers/import"),
                     "number,trunk,messaging_route,features,monthly_price,upfront_price\n"
                     "+12125550100,trunk1,smpp-a,sms;mms;voice,0,0\n",
                     op_)
                .status,
            201);
  auto ann = signed_up_user(port_, op_, "ann@example.com");
  auto bought = purchase(port_, ann.access_token, "+12125550100", "buy-ann");
  ASSERT_EQ(bought.status, 201) << bought.body;
  std::string number_id = jstr(bought.json().at("number"), "id");
  // Credentials: the password once, then never again.
  auto created = call(port_, "POST", "/v1/sip-credentials", R"({"label":"Pixel"})",
                      ann.access_token);
  ASSERT_EQ(created.status, 201) << created.body;
  std::string id = jstr(created.json(), "id");
  EXPECT_FALSE(jstr(created.json(), "password").empty());
  auto listed = call(port_, "GET", "/v1/sip-credentials", "", ann.access_token);
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.body.find("password"), std::string::npos) << listed.body;
  EXPECT_EQ(call(port_, "POST", "/v1/sip-credentials", R"({"label":7})", ann.access_token).status,
            422);
  auto bob = signed_up_user(port_, op_, "bob@example.com");
  EXPECT_EQ(call(port_, "GET", "/v1/sip-credentials/" + id, "", bob.access_token).status, 404);
  EXPECT_EQ(call(port_, "POST", "/v1/sip-credentials/" + id + "/rotate", "", ann.access_token)
                .status,
            200);
  EXPECT_EQ(call(port_, "DELETE", "/v1/sip-credentials/" + id, "", ann.access_token).status, 204);
  EXPECT_EQ(call(port_, "DELETE", "/v1/sip-credentials/" + id, "", ann.access_token).status, 404);
  // Call rules: validated with the field named, owned, canonical on the way out.
  std::string rules_path = "/v1/numbers/" + number_id + "/call-rules";
  auto bad = call(port_, "PUT", rules_path,
                  R"({"ring":{"timeout_s":1},"block":["abc"],"fallback":{"busy":"x"}})",
                  ann.access_token);
  ASSERT_EQ(bad.status, 422) << bad.body;
  // One entry per problem, each with its field (docs/call-rules.md).
  auto problems = bad.json();
  EXPECT_EQ(jstr(problems, "code"), "invalid_call_rules");
  const auto& errors = problems.at("errors").as_array();
  ASSERT_EQ(errors.size(), 3u) << bad.body;
  std::set<std::string> fields;
  for (const auto& e : errors) fields.insert(jstr(e, "field"));
  EXPECT_EQ(fields, (std::set<std::string>{"ring.timeout_s", "block[0]", "fallback.busy"}))
      << bad.body;
  EXPECT_EQ(call(port_, "PUT", rules_path, "not json", ann.access_token).status, 422);
  EXPECT_EQ(call(port_, "PUT", rules_path, "{}", bob.access_token).status, 404);
  auto good = call(port_, "PUT", rules_path, R"({"block":["+1900*"]})", ann.access_token);
  ASSERT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(good.json().at("block").as_array().size(), 1u) << good.body;
  auto log = call(port_, "GET", "/v1/calls", "", ann.access_token);
  ASSERT_EQ(log.status, 200);
  EXPECT_TRUE(log.json().at("data").as_array().empty());
  EXPECT_EQ(call(port_, "GET", "/v1/calls/cal_nosuch", "", ann.access_token).status, 404);
}

RH_E2E_ON_BOTH_DRIVERS(VoiceApi);

INSTANTIATE_TEST_SUITE_P(Sqlite, Voice, ::testing::Values(storage::Dialect::sqlite),
                         dialect_name);

}  // namespace
}  // namespace rh::test
