// The ways out for queued messages (RouteSender implementations), the
// inbound half of the SMPP gateway, and the media access the service needs:
// the glue between MessageService and the gateway, the HTTP carriers and
// the media store. Constructed in app/.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/async.hpp"
#include "messaging/media.hpp"
#include "messaging/service.hpp"
#include "messaging/smpp/gateway.hpp"

namespace rh::numbers {
class ProviderRegistry;
}

namespace rh::messaging {

// SMPP routes: every route with a configured bind. Receipts and MO from the
// gateway go to the service (stored before the deliver_sm_resp).
class SmppRoutes final : public RouteSender {
 public:
  // max_retry caps the pause the contract table asks for (0x14: 180 s).
  SmppRoutes(smpp::Gateway& gw, const std::vector<smpp::BindConfig>& binds, MessageService& svc,
             BlockingPool& pool, std::chrono::milliseconds max_retry = std::chrono::minutes(5));
  bool handles(const std::string& route) const override;
  std::vector<std::string> routes() const override;
  std::size_t capacity(const std::string& route) const override;
  void send(const RouteSend& m, std::function<void(RouteResult)> done) override;

 private:
  smpp::Gateway& gw_;
  std::map<std::string, std::size_t> capacity_;  // route → sum of windows
  MessageService& svc_;
  BlockingPool& pool_;
  std::chrono::milliseconds max_retry_;
};

// The binds of messaging.smpp_binds, one URL each:
//   smpp://system_id:password@host:port?route=smsc1&id=smsc1-a&mode=transceiver
//     &window=10&rate=0&system_type=&response_timeout_ms=60000
//     &enquire_link_ms=30000&reconnect_ms=1000
// route is required; id defaults to route-N; mode transceiver | pair; rate is
// the throughput cap in messages/s (0: none). User and password are
// percent-decoded. invalid_argument naming the entry for anything else.
Result<std::vector<smpp::BindConfig>> parse_smpp_binds(const std::vector<std::string>& urls);

// RouteResult of a gateway outcome; the status a receipt means.
RouteResult route_result_of(const smpp::SmsOutcome& o);
std::string status_of_receipt(const smpp::DeliveryReceipt& r);

// Telnyx, Bandwidth and Plivo through their HTTP APIs, with the tenant's
// credentials; media offered as signed URLs; calls on their own pool.
class HttpCarrierRoutes final : public RouteSender {
 public:
  // Callback and media URLs start with media.public_url().
  HttpCarrierRoutes(numbers::ProviderRegistry& providers, MediaStore& media, BlockingPool& pool,
                    std::size_t capacity = 32,
                    std::chrono::milliseconds max_retry = std::chrono::minutes(5));
  bool handles(const std::string& route) const override;
  std::vector<std::string> routes() const override;
  std::size_t capacity(const std::string&) const override { return capacity_; }
  void send(const RouteSend& m, std::function<void(RouteResult)> done) override;

 private:
  RouteResult send_now(const RouteSend& m);
  numbers::ProviderRegistry& providers_;
  MediaStore& media_;
  BlockingPool& pool_;
  std::size_t capacity_;
  std::chrono::milliseconds max_retry_;
};

// MediaAccess over the media store.
class StoreMediaAccess final : public MediaAccess {
 public:
  explicit StoreMediaAccess(MediaStore& m) : media_(m) {}
  Result<std::int64_t> check_owned(const UserScope& u,
                                   const std::vector<std::string>& ids) override;
  Status grant(storage::Connection& tx, const std::vector<std::string>& ids,
               const UserScope& to) override;

 private:
  MediaStore& media_;
};

}  // namespace rh::messaging
