// tests/support/smsc/smsc-fake.js (npm `smpp` playing the SMSC) as a child
// of the test: started on free loopback ports, scripted and read over its
// control HTTP port (see the script's header for the protocol).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <string>

#include "support/child_process.hpp"

namespace rh::test {

class SmscFake {
 public:
  struct Started {
    bool ok = false;
    bool skip = false;  // node or npm smpp missing: skip the test with `why`
    std::string why;
  };
  // Binds accept system_id "ringhouse", password "secret".
  Started start();

  std::uint16_t smpp_port() const { return smpp_port_; }
  std::uint16_t control_port() const { return control_port_; }
  pid_t pid() const { return child_.pid(); }
  std::string stderr_text() const { return child_.stderr_text(); }

  // GET /state (empty, with a test failure, when it does not answer).
  boost::json::object state();
  std::int64_t count(const char* key);
  // POST /script; false (with a test failure) when refused.
  bool script(const std::string& json);
  // GET /texts: every text submitted over the process's life, how often.
  std::map<std::string, int> texts();

 private:
  ChildProcess child_;
  std::uint16_t smpp_port_ = 0, control_port_ = 0;
};

}  // namespace rh::test
