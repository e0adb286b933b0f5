#include "core/settings.hpp"

namespace rh::core {

void declare_config(config::Schema& s) {
  s.string("node.data_dir", "./data",
           "Directory for the embedded database, blobs, generated secrets and run files. Created "
           "on first start.");
  s.string("node.id", "",
           "This node's name in job leases and logs; empty picks a random one at each start.");
  s.string("log.level", "info",
           "Least severe log level written: trace, debug, info, warn or error.",
           config::one_of({"trace", "debug", "info", "warn", "error"}));
  s.string("log.format", "text", "Log line format: text or json.",
           config::one_of({"text", "json"}));
  s.string("log.access_log", "stdout",
           "Where the HTTP access log goes: stdout, off, or a file path.");
}

}  // namespace rh::core
