// The voice tests' SIP peers, tested against each other without Kamailio:
// baresip (a user's device) calls a sipp trunk UAS and is called by a sipp
// trunk UAC, with RTP counted both ways; a device that rings sees the
// CANCEL; registration against a sipp registrar with good and bad
// credentials; raw SIP over UDP and TCP. If these fail, the voice tests'
// failures say nothing about Ringhouse.
#include "support/sip_peers.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace rh::test {
namespace {

using namespace std::chrono_literals;

class SipPeers : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!sip_peers_available(why)) GTEST_SKIP() << why;
  }

  static BaresipOptions device(const std::string& user, bool auto_answer = true) {
    BaresipOptions o;
    o.username = user;
    o.auto_answer = auto_answer;
    return o;
  }
};

#define START_OR_FAIL(expr)                          \
  do {                                               \
    auto started_ = (expr);                          \
    if (started_.skip) GTEST_SKIP() << started_.why; \
    ASSERT_TRUE(started_.ok) << started_.why;        \
  } while (0)

TEST_F(SipPeers, DeviceCallsTrunkWithAudioBothWays) {
  Sipp trunk;
  SippOptions so;
  so.scenario = "uas_answer.xml";
  START_OR_FAIL(trunk.start_uas(so));
  Baresip alice;
  auto ao = device("alice");
  ao.display_name = "Alice";
  START_OR_FAIL(alice.start(ao));

  ASSERT_TRUE(alice.dial("sip:+15551234567@" + trunk.address()));
  ASSERT_TRUE(alice.wait_event("CALL_ESTABLISHED", 5s)) << alice.log();
  // The trunk echoes what it receives (-rtp_echo): packets coming back prove both directions.
  EXPECT_TRUE(alice.wait_rtp(25, 5s)) << alice.log();

  auto invite = trunk.received_request("INVITE");
  ASSERT_TRUE(invite);
  EXPECT_EQ(invite->start_line(), "INVITE sip:+15551234567@" + trunk.address() + " SIP/2.0");
  EXPECT_NE(invite->header("From").find("sip:alice@127.0.0.1"), std::string::npos) << invite->text;
  EXPECT_NE(invite->header("From").find("\"Alice\""), std::string::npos) << invite->text;
  EXPECT_EQ(invite->header("P-Asserted-Identity"), "");

  ASSERT_TRUE(alice.hangup());
  ASSERT_TRUE(alice.wait_event("CALL_CLOSED", 5s));
  EXPECT_EQ(trunk.wait_exit(5s), 0) << trunk.log();
  EXPECT_EQ(trunk.summary().successful, 1);
  EXPECT_TRUE(trunk.received_request("BYE"));
  auto after = alice.rtp_stats();  // from the statistics printed at the end of the call
  EXPECT_GE(after.sent, 25);
  EXPECT_GE(after.received, 25);
}

TEST_F(SipPeers, DeviceCallsTrunkOverTcp) {
  Sipp trunk;
  SippOptions so;
  so.scenario = "uas_answer.xml";
  so.transport = "tcp";
  START_OR_FAIL(trunk.start_uas(so));
  Baresip lena;
  auto lo = device("lena");
  lo.transport = "tcp";
  START_OR_FAIL(lena.start(lo));

  ASSERT_TRUE(lena.dial("sip:+15551234567@" + trunk.address() + ";transport=tcp"));
  ASSERT_TRUE(lena.wait_event("CALL_ESTABLISHED", 5s)) << lena.log() << trunk.log();
  EXPECT_TRUE(lena.wait_rtp(10, 5s));
  ASSERT_TRUE(lena.hangup());
  EXPECT_EQ(trunk.wait_exit(5s), 0) << trunk.log();
  auto invite = trunk.received_request("INVITE");
  ASSERT_TRUE(invite);
  EXPECT_EQ(invite->transport, "TCP");
  EXPECT_NE(invite->header("Via").find("SIP/2.0/TCP"), std::string::npos);

  // The device's own trace tells what it sent from what it received.
  int sent_invites = 0, received_ok = 0;
  for (const auto& m : lena.sip_messages()) {
    if (!m.received && m.method() == "INVITE" && m.is_request()) ++sent_invites;
    if (m.received && m.status() == 200 && m.method() == "INVITE") ++received_ok;
  }
  EXPECT_EQ(sent_invites, 1) << lena.log();
  EXPECT_EQ(received_ok, 1) << lena.log();
}

TEST_F(SipPeers, TrunkCallsDeviceFromWavFile) {
  Baresip bob;
  auto bo = device("bob");
  bo.audio_file = testing::TempDir() + "/sip-peers-tone.wav";
  write_tone_wav(bo.audio_file, 10);
  START_OR_FAIL(bob.start(bo));
  Sipp trunk;
  SippOptions so;
  so.scenario = "uac_call.xml";
  so.service = "bob";
  so.keys = {{"caller", "+15557654321"}};
  so.pause_ms = 1500;
  START_OR_FAIL(trunk.start_uac(so, "127.0.0.1:" + std::to_string(bob.sip_port())));

  auto incoming = bob.wait_event("CALL_INCOMING", 5s);
  ASSERT_TRUE(incoming) << bob.log() << trunk.log();
  EXPECT_EQ(incoming->peer_uri, "sip:+15557654321@" + trunk.address());
  EXPECT_EQ(bob.last_incoming_from(), "sip:+15557654321@" + trunk.address());
  ASSERT_TRUE(bob.wait_event("CALL_ESTABLISHED", 5s)) << bob.log();
  EXPECT_TRUE(bob.wait_rtp(20, 5s)) << bob.log();
  auto closed = bob.wait_event("CALL_CLOSED", 10s);  // the trunk hangs up after its pause
  ASSERT_TRUE(closed) << bob.log();
  EXPECT_EQ(closed->param, "Connection reset by peer");
  EXPECT_EQ(trunk.wait_exit(5s), 0) << trunk.log();
  EXPECT_EQ(bob.received_requests("BYE"), 1);
}

TEST_F(SipPeers, DeviceDialsNumberThroughItsProxy) {
  Sipp proxy;  // stands in for the edge proxy: answers whatever it is sent
  SippOptions so;
  so.scenario = "uas_answer.xml";
  START_OR_FAIL(proxy.start_uas(so));
  Baresip mia;
  auto mo = device("mia");
  mo.domain = "ringhouse.test";
  mo.outbound_proxy = "sip:" + proxy.address() + ";transport=udp";
  START_OR_FAIL(mia.start(mo));

  ASSERT_TRUE(mia.dial("+15551234567"));  // completed with the account's domain
  ASSERT_TRUE(mia.wait_event("CALL_ESTABLISHED", 5s)) << mia.log() << proxy.log();
  auto invite = proxy.received_request("INVITE");
  ASSERT_TRUE(invite);
  EXPECT_EQ(invite->start_line(), "INVITE sip:+15551234567@ringhouse.test SIP/2.0");
  EXPECT_EQ(invite->header("Route"), "<sip:" + proxy.address() + ";transport=udp;lr>");
  EXPECT_NE(invite->header("From").find("sip:mia@ringhouse.test"), std::string::npos);
  ASSERT_TRUE(mia.hangup());
  EXPECT_EQ(proxy.wait_exit(5s), 0) << proxy.log();
}

TEST_F(SipPeers, DeviceHangsUpTrunkCall) {
  Baresip nina;
  START_OR_FAIL(nina.start(device("nina")));
  Sipp trunk;
  SippOptions so;
  so.scenario = "uac_call_remote_hangup.xml";
  so.service = "nina";
  so.keys = {{"caller", "+15550003333"}};
  START_OR_FAIL(trunk.start_uac(so, "127.0.0.1:" + std::to_string(nina.sip_port())));
  ASSERT_TRUE(nina.wait_event("CALL_ESTABLISHED", 5s)) << nina.log() << trunk.log();
  EXPECT_TRUE(nina.wait_rtp(5, 5s));
  ASSERT_TRUE(nina.hangup());
  EXPECT_EQ(trunk.wait_exit(5s), 0) << trunk.log();
  EXPECT_TRUE(trunk.received_request("BYE"));
}

TEST_F(SipPeers, RingingDeviceSeesCancel) {
  Baresip caller, callee;
  START_OR_FAIL(caller.start(device("carol")));
  START_OR_FAIL(callee.start(device("dave", /*auto_answer=*/false)));

  ASSERT_TRUE(caller.dial(callee.direct_uri()));
  ASSERT_TRUE(callee.wait_event("CALL_INCOMING", 5s)) << callee.log();
  ASSERT_TRUE(caller.wait_event("CALL_RINGING", 5s)) << caller.log();
  ASSERT_TRUE(caller.hangup());
  EXPECT_TRUE(callee.wait_received_request("CANCEL", 5s)) << callee.log();
  auto closed = callee.wait_event("CALL_CLOSED", 5s);
  ASSERT_TRUE(closed);
  EXPECT_EQ(callee.event_count("CALL_ESTABLISHED"), 0);
  EXPECT_EQ(callee.received_requests("INVITE"), 1);
}

TEST_F(SipPeers, TrunkCancelsWhileDeviceRings) {
  Baresip erin;
  START_OR_FAIL(erin.start(device("erin", /*auto_answer=*/false)));
  Sipp trunk;
  SippOptions so;
  so.scenario = "uac_cancel.xml";
  so.local_ip = "127.0.0.2";  // another host, as a carrier not in the trunk list would be
  so.service = "erin";
  so.keys = {{"caller", "+15550001111"}};
  so.pause_ms = 200;
  START_OR_FAIL(trunk.start_uac(so, "127.0.0.1:" + std::to_string(erin.sip_port())));
  auto incoming = erin.wait_event("CALL_INCOMING", 5s);
  ASSERT_TRUE(incoming) << erin.log() << trunk.log();
  EXPECT_EQ(incoming->peer_uri, "sip:+15550001111@127.0.0.2:" + std::to_string(trunk.port()));
  EXPECT_TRUE(erin.wait_received_request("CANCEL", 5s)) << erin.log();
  EXPECT_TRUE(erin.wait_event("CALL_CLOSED", 5s));
  EXPECT_EQ(trunk.wait_exit(5s), 0) << trunk.log();
}

TEST_F(SipPeers, DeviceToDeviceWithAnswerDelay) {
  Baresip frank, grace;
  START_OR_FAIL(frank.start(device("frank")));
  auto go = device("grace");
  go.answer_delay_ms = 300;
  START_OR_FAIL(grace.start(go));

  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(frank.dial(grace.direct_uri()));
  ASSERT_TRUE(frank.wait_event("CALL_RINGING", 5s)) << frank.log();
  ASSERT_TRUE(frank.wait_event("CALL_ESTABLISHED", 5s)) << frank.log() << grace.log();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  ASSERT_TRUE(grace.wait_event("CALL_ESTABLISHED", 5s));
  EXPECT_TRUE(frank.wait_rtp(20, 5s));
  EXPECT_TRUE(grace.wait_rtp(20, 5s));
  ASSERT_TRUE(grace.hangup());
  EXPECT_TRUE(frank.wait_event("CALL_CLOSED", 5s));
  EXPECT_TRUE(grace.wait_event("CALL_CLOSED", 5s));
}

TEST_F(SipPeers, TrunkRefusesAndHangsUp) {
  Baresip henry;
  START_OR_FAIL(henry.start(device("henry")));
  {
    Sipp busy;
    SippOptions so;
    so.scenario = "uas_reject.xml";
    so.keys = {{"reject_code", "486"}, {"reject_reason", "Busy Here"}};
    START_OR_FAIL(busy.start_uas(so));
    ASSERT_TRUE(henry.dial("sip:+15559990000@" + busy.address()));
    auto closed = henry.wait_event("CALL_CLOSED", 5s);
    ASSERT_TRUE(closed) << henry.log();
    EXPECT_NE(closed->param.find("486"), std::string::npos) << closed->param;
    EXPECT_EQ(busy.wait_exit(5s), 0) << busy.log();
  }
  {
    Sipp hangs_up;
    SippOptions so;
    so.scenario = "uas_answer_hangup.xml";
    so.pause_ms = 300;
    START_OR_FAIL(hangs_up.start_uas(so));
    ASSERT_TRUE(henry.dial("sip:+15559990001@" + hangs_up.address()));
    ASSERT_TRUE(henry.wait_event("CALL_ESTABLISHED", 5s)) << henry.log();
    auto closed = henry.wait_event("CALL_CLOSED", 5s);
    ASSERT_TRUE(closed) << henry.log();
    EXPECT_EQ(closed->param, "Connection reset by peer");
    EXPECT_EQ(hangs_up.wait_exit(5s), 0) << hangs_up.log();
  }
  {
    Sipp rings;
    SippOptions so;
    so.scenario = "uas_ring_no_answer.xml";
    START_OR_FAIL(rings.start_uas(so));
    ASSERT_TRUE(henry.dial("sip:+15559990002@" + rings.address()));
    ASSERT_TRUE(henry.wait_event("CALL_RINGING", 5s)) << henry.log();
    ASSERT_TRUE(henry.hangup());
    EXPECT_TRUE(henry.wait_event("CALL_CLOSED", 5s));
    EXPECT_EQ(rings.wait_exit(5s), 0) << rings.log();
    EXPECT_TRUE(rings.received_request("CANCEL"));
  }
}

TEST_F(SipPeers, TrunkCallRefusedByDevice) {
  Baresip ivan;
  START_OR_FAIL(ivan.start(device("ivan", /*auto_answer=*/false)));
  Sipp trunk;
  SippOptions so;
  so.scenario = "uac_refused.xml";
  so.service = "ivan";
  so.keys = {{"caller", "+15550002222"}};
  START_OR_FAIL(trunk.start_uac(so, "127.0.0.1:" + std::to_string(ivan.sip_port())));
  ASSERT_TRUE(ivan.wait_event("CALL_INCOMING", 5s)) << ivan.log();
  ASSERT_TRUE(ivan.hangup());  // rejects the ringing call
  EXPECT_EQ(trunk.wait_exit(5s), 0) << trunk.log();
  int final_code = 0;
  for (const auto& m : trunk.received_messages())
    if (!m.is_request() && m.status() >= 300) final_code = m.status();
  EXPECT_GE(final_code, 400);
}

TEST_F(SipPeers, RegistrationWithGoodAndBadPassword) {
  for (const std::string password : {"s3cret", "wrong"}) {
    SCOPED_TRACE(password);
    Sipp registrar;
    SippOptions so;
    so.scenario = "registrar.xml";
    so.rtp_echo = false;
    so.keys = {{"reg_user", "judy"}, {"reg_password", "s3cret"}};
    START_OR_FAIL(registrar.start_uas(so));
    Baresip judy;
    auto jo = device("judy");
    jo.password = password;
    jo.domain = "ringhouse.test";
    jo.registrar = "sip:" + registrar.address() + ";transport=udp";
    START_OR_FAIL(judy.start(jo));
    if (password == "s3cret") {
      EXPECT_TRUE(judy.wait_registered(5s)) << judy.log() << registrar.log();
      EXPECT_EQ(judy.last_register_code(), 200);
    } else {
      EXPECT_TRUE(judy.wait_registration_failed(5s)) << judy.log() << registrar.log();
      EXPECT_EQ(judy.last_register_code(), 403);
    }
    EXPECT_EQ(registrar.wait_exit(5s), 0) << registrar.log();
    auto reg = registrar.received_request("REGISTER");
    ASSERT_TRUE(reg);
    EXPECT_EQ(reg->start_line(), "REGISTER sip:ringhouse.test SIP/2.0");
  }
}

TEST_F(SipPeers, RawSipOverUdpAndTcp) {
  Baresip kim;
  START_OR_FAIL(kim.start(device("kim")));
  const std::string options =
      "OPTIONS sip:kim@127.0.0.1 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP [local_ip]:[local_port];branch=z9hG4bK-raw-1\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:probe@127.0.0.1>;tag=raw1\r\n"
      "To: <sip:kim@127.0.0.1>\r\n"
      "Call-ID: raw-options-1@127.0.0.1\r\n"
      "CSeq: 1 OPTIONS\r\n"
      "Content-Length: 0\r\n\r\n";
  auto udp = send_raw_sip_udp("127.0.0.1", kim.sip_port(), options, 2s);
  ASSERT_EQ(udp.size(), 1u) << kim.log();
  EXPECT_EQ(udp[0].status(), 200) << udp[0].text;
  EXPECT_EQ(udp[0].method(), "OPTIONS");
  EXPECT_EQ(udp[0].header("Call-ID"), "raw-options-1@127.0.0.1");

  // A new transaction (the same one again would be answered 482 Loop Detected).
  std::string tcp_options = options;
  tcp_options.replace(tcp_options.find("SIP/2.0/UDP"), 11, "SIP/2.0/TCP");
  tcp_options.replace(tcp_options.find("raw-1"), 5, "raw-2");
  tcp_options.replace(tcp_options.find("options-1"), 9, "options-2");
  auto tcp = send_raw_sip_tcp("127.0.0.1", kim.sip_port(), tcp_options, 2s);
  ASSERT_EQ(tcp.size(), 1u) << kim.log();
  EXPECT_EQ(tcp[0].status(), 200) << tcp[0].text;

  // A datagram that is not SIP gets no answer, and the device lives on.
  EXPECT_TRUE(send_raw_sip_udp("127.0.0.1", kim.sip_port(), "NOT SIP\r\n\r\n", 300ms).empty());
  EXPECT_EQ(send_raw_sip_udp("127.0.0.1", kim.sip_port(), options, 2s).size(), 1u);
}

}  // namespace
}  // namespace rh::test
