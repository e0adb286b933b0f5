#include "app/cli.hpp"

#include <algorithm>

namespace rh::app {

bool CommandLine::has_flag(const std::string& f) const {
  return std::find(flags.begin(), flags.end(), f) != flags.end();
}

std::optional<std::string> CommandLine::option(const std::string& name) const {
  auto it = options.find(name);
  if (it == options.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> CommandLine::options_named(const std::string& name) const {
  std::vector<std::string> out;
  auto [b, e] = options.equal_range(name);
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

CommandLine parse_command_line(int argc, char** argv, const std::vector<std::string>& value_less) {
  CommandLine cl;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      std::string name = a.substr(2);
      auto eq = name.find('=');
      if (eq != std::string::npos) {
        cl.options.emplace(name.substr(0, eq), name.substr(eq + 1));
      } else if (std::find(value_less.begin(), value_less.end(), name) != value_less.end()) {
        cl.flags.push_back(name);
      } else if (i + 1 < argc) {
        cl.options.emplace(name, argv[++i]);
      } else {
        throw config::ConfigError("option --" + name + " needs a value");
      }
    } else {
      cl.positional.push_back(a);
    }
  }
  return cl;
}

config::Sources config_sources(const CommandLine& cl) {
  config::Sources s;
  if (auto f = cl.option("config")) s.file = *f;
  s.environment = config::ringhouse_environment();
  if (auto d = cl.option("data-dir")) s.overrides.emplace_back("node.data_dir", *d);
  if (auto p = cl.option("http-port")) s.overrides.emplace_back("http.port", *p);
  for (const auto& kv : cl.options_named("set")) {
    auto eq = kv.find('=');
    if (eq == std::string::npos)
      throw config::ConfigError("--set needs key=value, got '" + kv + "'");
    s.overrides.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return s;
}

std::vector<std::string> config_arguments(const CommandLine& cl) {
  std::vector<std::string> out;
  for (const char* name : {"config", "data-dir", "http-port", "set"}) {
    for (const auto& v : cl.options_named(name)) {
      out.push_back(std::string("--") + name);
      out.push_back(v);
    }
  }
  return out;
}

}  // namespace rh::app
