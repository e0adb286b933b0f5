// Configuration: every key is declared in code with its type, default and help
// text. Values come from a TOML file, then the environment, then the command
// line, each overriding the one before. A bad value is a start-up error that
// names the key and quotes its help.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace rh::config {

enum class Type { string, integer, boolean, number, string_list };
const char* type_name(Type t);

using Value = std::variant<std::string, std::int64_t, bool, double, std::vector<std::string>>;

// Returns an error message when the value is not acceptable.
using Check = std::function<std::optional<std::string>(const Value&)>;

struct KeyDef {
  std::string name;  // "section.key"
  Type type = Type::string;
  Value default_value;
  std::string help;
  Check check;
  bool secret = false;  // never printed by `config --show`
};

// Thrown at start-up only; the process prints it and exits non-zero.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Schema {
 public:
  void add(KeyDef def);
  // Shorthands used by modules' declare_config() functions.
  void string(std::string name, std::string def, std::string help, Check check = {});
  void secret(std::string name, std::string help);
  void integer(std::string name, std::int64_t def, std::string help, std::int64_t min,
               std::int64_t max);
  void boolean(std::string name, bool def, std::string help);
  void number(std::string name, double def, std::string help, double min, double max);
  void list(std::string name, std::vector<std::string> def, std::string help, Check check = {});

  const KeyDef* find(std::string_view name) const;
  const std::vector<KeyDef>& keys() const { return keys_; }

  // A complete, commented TOML file with every key at its default.
  std::string render_defaults_toml() const;
  // The same as a Markdown reference table (docs/config.md).
  std::string render_markdown() const;

  // RINGHOUSE_HTTP_PORT for http.port.
  static std::string env_name(std::string_view key);

 private:
  std::vector<KeyDef> keys_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

// A Check that accepts one of the listed strings.
Check one_of(std::vector<std::string> allowed);

enum class Source { default_value, file, environment, command_line };
const char* source_name(Source s);

struct Sources {
  std::optional<std::string> file;                             // path to a TOML file
  std::map<std::string, std::string> environment;              // NAME -> value
  std::vector<std::pair<std::string, std::string>> overrides;  // key -> value (command line)
};

class Config {
 public:
  // Throws ConfigError naming the offending key.
  static Config load(const Schema& schema, const Sources& sources);
  // Defaults only (tests, tools).
  static Config defaults(const Schema& schema);

  std::int64_t integer(std::string_view key) const;
  std::string string(std::string_view key) const;
  bool boolean(std::string_view key) const;
  double number(std::string_view key) const;
  std::vector<std::string> list(std::string_view key) const;
  Source source(std::string_view key) const;

  // Overrides a value after load (derived defaults such as data-dir paths).
  void set(std::string_view key, Value v, Source s);

  // The effective configuration as TOML, secrets redacted.
  std::string render_effective() const;

  const Schema& schema() const { return *schema_; }

 private:
  const Value& get(std::string_view key, Type t) const;
  const Schema* schema_ = nullptr;
  std::map<std::string, std::pair<Value, Source>, std::less<>> values_;
};

// The process environment as a map (only RINGHOUSE_* names).
std::map<std::string, std::string> ringhouse_environment();

}  // namespace rh::config
