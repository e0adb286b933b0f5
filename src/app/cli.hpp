// Command-line parsing: `ringhouse <command> [subcommand] [--option value]...`
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace rh::app {

struct CommandLine {
  std::vector<std::string> positional;              // command, subcommand, ...
  std::multimap<std::string, std::string> options;  // --name value / --name=value
  std::vector<std::string> flags;                   // --name with no value

  bool has_flag(const std::string& f) const;
  std::optional<std::string> option(const std::string& name) const;
  std::vector<std::string> options_named(const std::string& name) const;
};

// Flags that take no value.
CommandLine parse_command_line(int argc, char** argv, const std::vector<std::string>& value_less);

// The config sources of a command line: --config FILE, the RINGHOUSE_*
// environment, and --set key=value, --data-dir DIR, --http-port N.
config::Sources config_sources(const CommandLine& cl);

// The options that carry configuration, to pass on to a child process.
std::vector<std::string> config_arguments(const CommandLine& cl);

}  // namespace rh::app
