// One logger per subsystem ("http", "access", "storage", "jobs", ...), all
// writing to the same sinks configured at start-up.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace rh::log {

struct Options {
  std::string level = "info";         // trace|debug|info|warn|error
  std::string format = "text";        // text|json
  std::string access_log = "stdout";  // stdout|off|path to a file
};

// Configures the sinks; call once in main. Safe to skip in tests.
void setup(const Options& o);
// A named logger sharing the configured sinks. Cheap after the first call.
std::shared_ptr<spdlog::logger> get(const std::string& name);
// The access logger (may be disabled, then returns nullptr).
std::shared_ptr<spdlog::logger> access();
void flush();

}  // namespace rh::log
