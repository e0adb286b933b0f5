// tests/support/carrier-fake.py as a child of the test: a fake of one
// carrier's number API and message send call (Telnyx, Bandwidth or Plivo)
// following ../shared/contracts/carriers.md, on a free loopback port.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "support/child_process.hpp"

namespace rh::test {

class CarrierFake {
 public:
  // The credentials the fake accepts unless told otherwise.
  static constexpr const char* kApiKey = "KEYtest0123456789";    // telnyx
  static constexpr const char* kUser = "apiuser";                // bandwidth
  static constexpr const char* kPassword = "apipass";            // bandwidth
  static constexpr const char* kAccountId = "9900001";           // bandwidth
  static constexpr const char* kApplicationId = "msg-app-0001";  // bandwidth messaging
  static constexpr const char* kAuthId = "MAFAKEAUTHID0000000";  // plivo
  static constexpr const char* kAuthToken = "fake-auth-token";   // plivo

  struct Started {
    bool ok = false;
    bool skip = false;  // this machine cannot run it (no python3): skip the test
    std::string why;
  };

  // Starts the fake for carrier (telnyx, bandwidth or plivo); extra_args go
  // to the script (--api-key K ...).
  Started start(const std::string& carrier, const std::vector<std::string>& extra_args = {});

  const std::string& carrier() const { return carrier_; }
  std::uint16_t port() const { return child_.port(); }
  // The API base a provider's base_url setting takes: http://127.0.0.1:P/v2
  // (telnyx), /api (bandwidth), /v1 (plivo).
  std::string base_url() const;
  // Bandwidth's messaging API base (messaging_base_url): http://127.0.0.1:P/api/v2.
  std::string messaging_base_url() const;
  // Settings for make_carrier_provider and make_message_carrier pointing at
  // this fake, with the credentials it accepts (bandwidth also gets
  // application_id and messaging_base_url).
  std::map<std::string, std::string> settings() const;

  // POST /_control with this JSON; a test failure when the fake refuses it.
  bool control(const std::string& json);
  // GET /_requests: what the fake received, oldest first.
  boost::json::array requests();
  // GET /_messages: the message sends it accepted, oldest first
  // ({"id","from","to","text","media_urls","status_url","reference",
  // "segments","request"}).
  boost::json::array messages();
  // Scripts the answers to the next message sends, one each, in order: a
  // JSON array of "ok" | {"status": N, "error": "text", "code": "c",
  // "retry_after": S} (control {"send_results": ...}).
  bool script_sends(const std::string& json_array);

 private:
  std::string carrier_;
  ChildProcess child_;
};

}  // namespace rh::test
