#include "core/config.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

extern char** environ;

namespace rh::config {

const char* type_name(Type t) {
  switch (t) {
    case Type::string:
      return "string";
    case Type::integer:
      return "integer";
    case Type::boolean:
      return "boolean";
    case Type::number:
      return "number";
    case Type::string_list:
      return "list of strings";
  }
  return "?";
}

const char* source_name(Source s) {
  switch (s) {
    case Source::default_value:
      return "default";
    case Source::file:
      return "file";
    case Source::environment:
      return "environment";
    case Source::command_line:
      return "command line";
  }
  return "?";
}

namespace {

std::string toml_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string render_value(const Value& v) {
  struct V {
    std::string operator()(const std::string& s) const { return toml_quote(s); }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(double d) const {
      std::string s = fmt::format("{}", d);
      if (s.find_first_of(".eE") == std::string::npos) s += ".0";
      return s;
    }
    std::string operator()(const std::vector<std::string>& l) const {
      std::string out = "[";
      for (std::size_t i = 0; i < l.size(); ++i) {
        if (i) out += ", ";
        out += toml_quote(l[i]);
      }
      return out + "]";
    }
  };
  return std::visit(V{}, v);
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

// Parses a string from the environment or the command line into the key's type.
std::optional<Value> parse_text(Type t, const std::string& text, std::string& why) {
  switch (t) {
    case Type::string:
      return Value{text};
    case Type::integer: {
      std::int64_t v = 0;
      std::string s = trim(text);
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
        why = "expected an integer";
        return std::nullopt;
      }
      return Value{v};
    }
    case Type::boolean: {
      std::string s = trim(text);
      std::transform(s.begin(), s.end(), s.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      if (s == "true" || s == "1" || s == "yes" || s == "on") return Value{true};
      if (s == "false" || s == "0" || s == "no" || s == "off") return Value{false};
      why = "expected true or false";
      return std::nullopt;
    }
    case Type::number: {
      std::string s = trim(text);
      try {
        std::size_t used = 0;
        double d = std::stod(s, &used);
        if (used != s.size()) throw std::invalid_argument(s);
        return Value{d};
      } catch (const std::exception&) {
        why = "expected a number";
        return std::nullopt;
      }
    }
    case Type::string_list: {
      std::vector<std::string> out;
      std::string s = trim(text);
      if (s.empty()) return Value{out};
      std::stringstream ss(s);
      std::string item;
      while (std::getline(ss, item, ',')) out.push_back(trim(item));
      return Value{out};
    }
  }
  return std::nullopt;
}

std::optional<Value> from_toml(Type t, const toml::node& n, std::string& why) {
  switch (t) {
    case Type::string:
      if (auto v = n.value<std::string>(); v && n.is_string()) return Value{*v};
      why = "expected a string";
      return std::nullopt;
    case Type::integer:
      if (n.is_integer()) return Value{*n.value<std::int64_t>()};
      why = "expected an integer";
      return std::nullopt;
    case Type::boolean:
      if (n.is_boolean()) return Value{*n.value<bool>()};
      why = "expected true or false";
      return std::nullopt;
    case Type::number:
      if (n.is_floating_point() || n.is_integer()) return Value{*n.value<double>()};
      why = "expected a number";
      return std::nullopt;
    case Type::string_list: {
      const auto* arr = n.as_array();
      if (!arr) {
        why = "expected an array of strings";
        return std::nullopt;
      }
      std::vector<std::string> out;
      for (const auto& el : *arr) {
        if (!el.is_string()) {
          why = "expected an array of strings";
          return std::nullopt;
        }
        out.push_back(*el.value<std::string>());
      }
      return Value{out};
    }
  }
  return std::nullopt;
}

[[noreturn]] void bad_value(const KeyDef& def, Source src, const std::string& why,
                            const std::string& shown) {
  throw ConfigError(fmt::format("config key '{}' ({}): {}: got {} — {} [{}]", def.name,
                                source_name(src), why, shown, def.help, type_name(def.type)));
}

}  // namespace

void Schema::add(KeyDef def) {
  if (index_.count(def.name)) throw std::logic_error("config key declared twice: " + def.name);
  index_.emplace(def.name, keys_.size());
  keys_.push_back(std::move(def));
}

void Schema::string(std::string name, std::string def, std::string help, Check check) {
  add({std::move(name), Type::string, Value{std::move(def)}, std::move(help), std::move(check)});
}

void Schema::secret(std::string name, std::string help) {
  KeyDef d{std::move(name), Type::string, Value{std::string()}, std::move(help), {}};
  d.secret = true;
  add(std::move(d));
}

void Schema::integer(std::string name, std::int64_t def, std::string help, std::int64_t min,
                     std::int64_t max) {
  add({std::move(name), Type::integer, Value{def}, std::move(help),
       [min, max](const Value& v) -> std::optional<std::string> {
         auto i = std::get<std::int64_t>(v);
         if (i < min || i > max) return fmt::format("must be between {} and {}", min, max);
         return std::nullopt;
       }});
}

void Schema::boolean(std::string name, bool def, std::string help) {
  add({std::move(name), Type::boolean, Value{def}, std::move(help), {}});
}

void Schema::number(std::string name, double def, std::string help, double min, double max) {
  add({std::move(name), Type::number, Value{def}, std::move(help),
       [min, max](const Value& v) -> std::optional<std::string> {
         auto d = std::get<double>(v);
         if (!(d >= min && d <= max)) return fmt::format("must be between {} and {}", min, max);
         return std::nullopt;
       }});
}

void Schema::list(std::string name, std::vector<std::string> def, std::string help, Check check) {
  add({std::move(name), Type::string_list, Value{std::move(def)}, std::move(help),
       std::move(check)});
}

const KeyDef* Schema::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &keys_[it->second];
}

std::string Schema::env_name(std::string_view key) {
  std::string out = "RINGHOUSE_";
  for (char c : key) {
    out += (c == '.' || c == '-') ? '_'
                                  : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

namespace {
// Keys grouped by section, in declaration order of first appearance.
std::vector<std::pair<std::string, std::vector<const KeyDef*>>> by_section(
    const std::vector<KeyDef>& keys) {
  std::vector<std::pair<std::string, std::vector<const KeyDef*>>> out;
  for (const auto& k : keys) {
    auto dot = k.name.find('.');
    std::string section = dot == std::string::npos ? "" : k.name.substr(0, dot);
    auto it = std::find_if(out.begin(), out.end(), [&](auto& p) { return p.first == section; });
    if (it == out.end()) {
      out.push_back({section, {}});
      it = std::prev(out.end());
    }
    it->second.push_back(&k);
  }
  return out;
}

std::string wrap_comment(const std::string& text) {
  std::string out;
  std::string line = "#";
  std::stringstream ss(text);
  std::string word;
  while (ss >> word) {
    if (line.size() + 1 + word.size() > 80 && line != "#") {
      out += line + "\n";
      line = "#";
    }
    line += " " + word;
  }
  return out + line + "\n";
}
}  // namespace

std::string Schema::render_defaults_toml() const {
  std::string out =
      "# Ringhouse configuration. Every key is shown at its default.\n"
      "# Precedence: command line (--set key=value) > environment (RINGHOUSE_SECTION_KEY)\n"
      "# > this file > defaults.\n";
  for (const auto& [section, keys] : by_section(keys_)) {
    out += "\n[" + section + "]\n";
    for (const KeyDef* k : keys) {
      out += "\n" + wrap_comment(k->help);
      out += fmt::format("# type: {}; environment: {}\n", type_name(k->type), env_name(k->name));
      std::string leaf = k->name.substr(section.size() + 1);
      out += fmt::format("{} = {}\n", leaf, render_value(k->default_value));
    }
  }
  return out;
}

std::string Schema::render_markdown() const {
  std::string out =
      "# Configuration reference\n\n"
      "Generated by `ringhouse config --markdown`; a test keeps this file equal to the\n"
      "binary's output. Values come from the TOML file given with `--config`, then the\n"
      "environment, then `--set key=value` on the command line, each overriding the one\n"
      "before. `ringhouse config --defaults` prints a complete commented file.\n";
  for (const auto& [section, keys] : by_section(keys_)) {
    out += "\n## [" + section +
           "]\n\n| key | type | default | environment | meaning |\n|---|---|---|---|---|\n";
    for (const KeyDef* k : keys) {
      std::string help = k->help;
      std::replace(help.begin(), help.end(), '|', '/');
      out += fmt::format("| `{}` | {} | `{}` | `{}` | {} |\n", k->name, type_name(k->type),
                         k->secret ? std::string("(secret)") : render_value(k->default_value),
                         env_name(k->name), help);
    }
  }
  return out;
}

Check one_of(std::vector<std::string> allowed) {
  return [allowed](const Value& v) -> std::optional<std::string> {
    const auto& s = std::get<std::string>(v);
    if (std::find(allowed.begin(), allowed.end(), s) != allowed.end()) return std::nullopt;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return "must be one of: " + list;
  };
}

Config Config::defaults(const Schema& schema) {
  Config c;
  c.schema_ = &schema;
  for (const auto& k : schema.keys()) c.values_[k.name] = {k.default_value, Source::default_value};
  return c;
}

Config Config::load(const Schema& schema, const Sources& sources) {
  Config c = defaults(schema);
  auto accept = [&](const KeyDef& def, Value v, Source src, const std::string& shown) {
    if (def.check) {
      if (auto why = def.check(v)) bad_value(def, src, *why, shown);
    }
    c.values_[def.name] = {std::move(v), src};
  };

  if (sources.file) {
    toml::table tbl;
    try {
      tbl = toml::parse_file(*sources.file);
    } catch (const toml::parse_error& e) {
      std::ostringstream where;
      where << e.source().begin;
      throw ConfigError(
          fmt::format("config file {}: {} at {}", *sources.file, e.description(), where.str()));
    }
    for (const auto& [section, node] : tbl) {
      const auto* sub = node.as_table();
      if (!sub) {
        throw ConfigError(
            fmt::format("config file {}: '{}' must be a [section]", *sources.file, section.str()));
      }
      for (const auto& [leaf, val] : *sub) {
        std::string key = std::string(section.str()) + "." + std::string(leaf.str());
        const KeyDef* def = schema.find(key);
        if (!def) {
          throw ConfigError(
              fmt::format("config file {}: unknown key '{}' (see `ringhouse config --defaults`)",
                          *sources.file, key));
        }
        std::string why;
        auto v = from_toml(def->type, val, why);
        std::ostringstream shown;
        val.visit([&](auto&& n) { shown << n; });
        if (!v) bad_value(*def, Source::file, why, shown.str());
        accept(*def, std::move(*v), Source::file, shown.str());
      }
    }
  }

  for (const auto& def : schema.keys()) {
    auto it = sources.environment.find(Schema::env_name(def.name));
    if (it == sources.environment.end()) continue;
    std::string why;
    auto v = parse_text(def.type, it->second, why);
    if (!v) bad_value(def, Source::environment, why, "'" + it->second + "'");
    accept(def, std::move(*v), Source::environment, "'" + it->second + "'");
  }

  for (const auto& [key, text] : sources.overrides) {
    const KeyDef* def = schema.find(key);
    if (!def) {
      throw ConfigError(
          fmt::format("unknown config key '{}' (see `ringhouse config --defaults`)", key));
    }
    std::string why;
    auto v = parse_text(def->type, text, why);
    if (!v) bad_value(*def, Source::command_line, why, "'" + text + "'");
    accept(*def, std::move(*v), Source::command_line, "'" + text + "'");
  }
  return c;
}

const Value& Config::get(std::string_view key, Type t) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw std::logic_error("undeclared config key: " + std::string(key));
  const KeyDef* def = schema_->find(key);
  if (def->type != t) throw std::logic_error("config key read as wrong type: " + std::string(key));
  return it->second.first;
}

std::int64_t Config::integer(std::string_view key) const {
  return std::get<std::int64_t>(get(key, Type::integer));
}
std::string Config::string(std::string_view key) const {
  return std::get<std::string>(get(key, Type::string));
}
bool Config::boolean(std::string_view key) const {
  return std::get<bool>(get(key, Type::boolean));
}
double Config::number(std::string_view key) const {
  return std::get<double>(get(key, Type::number));
}
std::vector<std::string> Config::list(std::string_view key) const {
  return std::get<std::vector<std::string>>(get(key, Type::string_list));
}

Source Config::source(std::string_view key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw std::logic_error("undeclared config key: " + std::string(key));
  return it->second.second;
}

void Config::set(std::string_view key, Value v, Source s) {
  auto it = values_.find(key);
  if (it == values_.end()) throw std::logic_error("undeclared config key: " + std::string(key));
  it->second = {std::move(v), s};
}

std::string Config::render_effective() const {
  std::string out;
  for (const auto& [section, keys] : by_section(schema_->keys())) {
    out += "[" + section + "]\n";
    for (const KeyDef* k : keys) {
      const auto& [v, src] = values_.at(k->name);
      std::string leaf = k->name.substr(section.size() + 1);
      bool redact = k->secret && !std::get<std::string>(v).empty();
      out += fmt::format("{} = {}  # {}\n", leaf, redact ? "\"(set)\"" : render_value(v),
                         source_name(src));
    }
    out += "\n";
  }
  return out;
}

std::map<std::string, std::string> ringhouse_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    if (kv.rfind("RINGHOUSE_", 0) != 0) continue;
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return out;
}

}  // namespace rh::config
