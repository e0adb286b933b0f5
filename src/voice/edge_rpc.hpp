// Commands ringhouse sends to the SIP edge over Kamailio's JSON-RPC (module
// jsonrpcs over HTTP on a loopback listener, see docs/sip-edge.md).
#pragma once

#include <string>

#include "core/result.hpp"

namespace rh::voice {

class EdgeRpc {
 public:
  // url: http://127.0.0.1:<port>/RPC; empty: every command is a no-op.
  explicit EdgeRpc(std::string url) : url_(std::move(url)) {}

  // Forgets the cached HA1 of a device's username (htable.delete auth
  // <username>): its rotated or revoked password stops working at once
  // rather than when the cache entry expires. Logs and returns a failure;
  // callers go on (the entry expires anyway).
  Status forget_credentials(const std::string& username);

  // Sends one JSON-RPC request; the response's JSON text.
  Result<std::string> call(const std::string& method, const std::string& params_json);

 private:
  std::string url_;
};

}  // namespace rh::voice
