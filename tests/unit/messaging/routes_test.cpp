// The glue between the message service and the SMPP gateway: bind URLs,
// what gateway outcomes and receipts mean for a delivery.
#include "messaging/routes.hpp"

#include <gtest/gtest.h>

namespace rh::messaging {
namespace {

TEST(SmppBindUrls, AreParsedWithEveryOption) {
  auto b = parse_smpp_binds(
      {"smpp://esme%40x:p%26ss@smsc.example.net:2775?route=smsc1&id=a&mode=pair&window=100&rate="
       "30.5&system_type=VMA&response_timeout_ms=5000&enquire_link_ms=15000&reconnect_ms=250",
       "smpp://u:p@10.0.0.1:2776?route=smsc1", "smpp://u:p@10.0.0.2:2776?route=smsc2"});
  ASSERT_TRUE(b) << b.error().message;
  ASSERT_EQ(b->size(), 3u);
  const auto& a = (*b)[0];
  EXPECT_EQ(a.route, "smsc1");
  EXPECT_EQ(a.id, "a");
  EXPECT_EQ(a.mode, smpp::BindConfig::Mode::pair);
  EXPECT_EQ(a.session.system_id, "esme@x");
  EXPECT_EQ(a.session.password, "p&ss");
  EXPECT_EQ(a.session.host, "smsc.example.net");
  EXPECT_EQ(a.session.port, 2775);
  EXPECT_EQ(a.session.window, 100u);
  EXPECT_DOUBLE_EQ(a.session.max_per_second, 30.5);
  EXPECT_EQ(a.session.system_type, "VMA");
  EXPECT_EQ(a.session.response_timeout.count(), 5000);
  EXPECT_EQ(a.session.enquire_link_interval.count(), 15000);
  EXPECT_EQ(a.session.reconnect_initial.count(), 250);
  EXPECT_EQ((*b)[1].id, "smsc1-1");  // ids default to route-N
  EXPECT_EQ((*b)[1].mode, smpp::BindConfig::Mode::transceiver);
  EXPECT_EQ((*b)[2].id, "smsc2-1");
}

TEST(SmppBindUrls, BadEntriesAreNamed) {
  for (const char* bad :
       {"http://u:p@h:1?route=r", "smpp://u:p@h?route=r", "smpp://u:p@h:0?route=r",
        "smpp://u:p@h:99999?route=r", "smpp://u:p@h:1", "smpp://u:p@h:1?route=r&window=0",
        "smpp://u:p@h:1?route=r&mode=tx", "smpp://u:p@h:1?route=r&colour=blue",
        "smpp://u:%zz@h:1?route=r", "smpp://u:p@h:1?route=r&rate=fast"}) {
    auto b = parse_smpp_binds({"smpp://u:p@h:1?route=ok", bad});
    ASSERT_FALSE(b) << bad;
    EXPECT_EQ(b.error().field, "messaging.smpp_binds[1]") << bad;
  }
  auto dup = parse_smpp_binds({"smpp://u:p@h:1?route=r&id=x", "smpp://u:p@h:2?route=r&id=x"});
  EXPECT_FALSE(dup);
  EXPECT_TRUE(parse_smpp_binds({}));
}

TEST(SmppOutcomes, MapToRouteResults) {
  smpp::SmsOutcome o;
  o.kind = smpp::SmsOutcome::Kind::accepted;
  o.message_ids = {"a", "b"};
  auto r = route_result_of(o);
  EXPECT_EQ(r.kind, RouteResult::Kind::accepted);
  EXPECT_EQ(r.carrier_ids, (std::vector<std::string>{"a", "b"}));
  o.kind = smpp::SmsOutcome::Kind::retry;
  o.error_code = "smpp_0x58";
  o.retry_after = std::chrono::seconds(30);
  r = route_result_of(o);
  EXPECT_EQ(r.kind, RouteResult::Kind::retry);
  EXPECT_EQ(r.error_code, "smpp_0x58");
  EXPECT_EQ(r.retry_after.count(), 30'000);
  o.kind = smpp::SmsOutcome::Kind::permanent;
  EXPECT_EQ(route_result_of(o).kind, RouteResult::Kind::permanent);
}

TEST(SmppOutcomes, ReceiptsMapToStatuses) {
  smpp::DeliveryReceipt d;
  EXPECT_EQ(status_of_receipt(d), "sent");  // no state: nothing learnt
  d.state = smpp::MessageState::delivered;
  EXPECT_EQ(status_of_receipt(d), "delivered");
  d.intermediate = true;
  EXPECT_EQ(status_of_receipt(d), "sent");
  d.intermediate = false;
  d.state = smpp::MessageState::rejected;
  EXPECT_EQ(status_of_receipt(d), "failed");
  for (auto s : {smpp::MessageState::expired, smpp::MessageState::deleted,
                 smpp::MessageState::undeliverable}) {
    d.state = s;
    EXPECT_EQ(status_of_receipt(d), "undelivered");
  }
  d.state = smpp::MessageState::enroute;
  EXPECT_EQ(status_of_receipt(d), "sent");
}

}  // namespace
}  // namespace rh::messaging
