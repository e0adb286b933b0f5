#include "core/config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "app/platform.hpp"
#include "support/test_db.hpp"

namespace rh::config {
namespace {

namespace fs = std::filesystem;

// A temporary directory holding config files, removed after the test.
class ConfigTest : public testing::Test {
 protected:
  void SetUp() override { dir_ = test::make_temp_dir("rh-config"); }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write_file(const std::string& text, const std::string& name = "ringhouse.toml") {
    std::string path = (fs::path(dir_) / name).string();
    std::ofstream out(path, std::ios::trunc);
    out << text;
    return path;
  }

  // The ConfigError message of loading sources against the app's schema.
  std::string load_error(const Sources& s) {
    try {
      (void)Config::load(app::schema(), s);
    } catch (const ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected a ConfigError";
    return {};
  }

  std::string dir_;
};

TEST_F(ConfigTest, DefaultsComeFromTheSchema) {
  Config c = Config::defaults(app::schema());
  EXPECT_EQ(c.integer("http.port"), 8080);
  EXPECT_EQ(c.string("storage.driver"), "sqlite");
  EXPECT_TRUE(c.boolean("storage.auto_migrate"));
  EXPECT_EQ(c.list("tenants.default_hostnames"),
            (std::vector<std::string>{"localhost", "127.0.0.1"}));
  EXPECT_EQ(c.source("http.port"), Source::default_value);
}

TEST_F(ConfigTest, EachSourceOverridesTheOneBefore) {
  Sources s;
  s.file = write_file(R"(
[http]
port = 9001
address = "0.0.0.0"
threads = 3

[jobs]
workers = 5
)");
  s.environment = {{"RINGHOUSE_HTTP_PORT", "9002"}, {"RINGHOUSE_HTTP_THREADS", "4"}};
  s.overrides = {{"http.port", "9003"}};
  Config c = Config::load(app::schema(), s);

  EXPECT_EQ(c.integer("http.port"), 9003);  // file < environment < command line
  EXPECT_EQ(c.source("http.port"), Source::command_line);
  EXPECT_EQ(c.integer("http.threads"), 4);  // file < environment
  EXPECT_EQ(c.source("http.threads"), Source::environment);
  EXPECT_EQ(c.string("http.address"), "0.0.0.0");  // file only
  EXPECT_EQ(c.source("http.address"), Source::file);
  EXPECT_EQ(c.integer("jobs.workers"), 5);
  EXPECT_EQ(c.integer("http.max_body_bytes"), 1048576);  // untouched
  EXPECT_EQ(c.source("http.max_body_bytes"), Source::default_value);
}

TEST_F(ConfigTest, LaterCommandLineOverrideWins) {
  Sources s;
  s.overrides = {{"jobs.workers", "3"}, {"jobs.workers", "7"}};
  Config c = Config::load(app::schema(), s);
  EXPECT_EQ(c.integer("jobs.workers"), 7);
}

TEST_F(ConfigTest, TextValuesAreParsedByType) {
  Sources s;
  s.environment = {{"RINGHOUSE_STORAGE_AUTO_MIGRATE", "off"},
                   {"RINGHOUSE_HTTP_CORS_ORIGINS", " https://a.example , https://b.example"},
                   {"RINGHOUSE_JOBS_WORKERS", " 12 "}};
  s.overrides = {{"jobs.enabled", "No"}};
  Config c = Config::load(app::schema(), s);
  EXPECT_FALSE(c.boolean("storage.auto_migrate"));
  EXPECT_FALSE(c.boolean("jobs.enabled"));
  EXPECT_EQ(c.list("http.cors_origins"),
            (std::vector<std::string>{"https://a.example", "https://b.example"}));
  EXPECT_EQ(c.integer("jobs.workers"), 12);
}

TEST_F(ConfigTest, OutOfRangeIntegerNamesTheKeyAndItsSource) {
  Sources s;
  s.file = write_file("[http]\nport = 70000\n");
  std::string msg = load_error(s);
  EXPECT_NE(msg.find("http.port"), std::string::npos) << msg;
  EXPECT_NE(msg.find("file"), std::string::npos) << msg;
  EXPECT_NE(msg.find("between 0 and 65535"), std::string::npos) << msg;
  EXPECT_NE(msg.find("70000"), std::string::npos) << msg;

  Sources e;
  e.environment = {{"RINGHOUSE_HTTP_PORT", "-1"}};
  msg = load_error(e);
  EXPECT_NE(msg.find("http.port"), std::string::npos) << msg;
  EXPECT_NE(msg.find("environment"), std::string::npos) << msg;
}

TEST_F(ConfigTest, NonIntegerIsRejectedFromEverySource) {
  Sources f;
  f.file = write_file("[http]\nport = \"8080\"\n");
  std::string msg = load_error(f);
  EXPECT_NE(msg.find("http.port"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected an integer"), std::string::npos) << msg;

  Sources e;
  e.environment = {{"RINGHOUSE_HTTP_PORT", "80x"}};
  msg = load_error(e);
  EXPECT_NE(msg.find("http.port"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected an integer"), std::string::npos) << msg;

  Sources o;
  o.overrides = {{"http.port", ""}};
  msg = load_error(o);
  EXPECT_NE(msg.find("http.port"), std::string::npos) << msg;
  EXPECT_NE(msg.find("command line"), std::string::npos) << msg;
}

TEST_F(ConfigTest, BadBooleanNamesTheKey) {
  Sources s;
  s.overrides = {{"jobs.enabled", "maybe"}};
  std::string msg = load_error(s);
  EXPECT_NE(msg.find("jobs.enabled"), std::string::npos) << msg;
  EXPECT_NE(msg.find("true or false"), std::string::npos) << msg;
}

TEST_F(ConfigTest, UnknownKeyInTheFileIsAnError) {
  Sources s;
  s.file = write_file("[http]\nprot = 8080\n");
  std::string msg = load_error(s);
  EXPECT_NE(msg.find("unknown key 'http.prot'"), std::string::npos) << msg;
}

TEST_F(ConfigTest, TopLevelValueInTheFileIsAnError) {
  Sources s;
  s.file = write_file("port = 8080\n");
  std::string msg = load_error(s);
  EXPECT_NE(msg.find("'port' must be a [section]"), std::string::npos) << msg;
}

TEST_F(ConfigTest, MalformedFileIsAnErrorNamingTheFile) {
  Sources s;
  s.file = write_file("[http\nport = 1\n");
  std::string msg = load_error(s);
  EXPECT_NE(msg.find(*s.file), std::string::npos) << msg;
}

TEST_F(ConfigTest, UnknownCommandLineKeyIsAnError) {
  Sources s;
  s.overrides = {{"http.prot", "1"}};
  std::string msg = load_error(s);
  EXPECT_NE(msg.find("unknown config key 'http.prot'"), std::string::npos) << msg;
}

TEST_F(ConfigTest, UnknownEnvironmentNamesAreIgnored) {
  Sources s;
  s.environment = {{"RINGHOUSE_NO_SUCH_KEY", "1"}};
  EXPECT_NO_THROW((void)Config::load(app::schema(), s));
}

TEST_F(ConfigTest, EnumValueOutsideTheListNamesTheChoices) {
  Sources s;
  s.overrides = {{"storage.driver", "postgres"}};
  std::string msg = load_error(s);
  EXPECT_NE(msg.find("storage.driver"), std::string::npos) << msg;
  EXPECT_NE(msg.find("must be one of: sqlite, mariadb"), std::string::npos) << msg;
  EXPECT_NE(msg.find("postgres"), std::string::npos) << msg;

  Sources f;
  f.file = write_file("[log]\nlevel = \"loud\"\n");
  msg = load_error(f);
  EXPECT_NE(msg.find("log.level"), std::string::npos) << msg;
}

TEST_F(ConfigTest, ListMustBeAnArrayOfStringsInTheFile) {
  Sources s;
  s.file = write_file("[http]\ncors_origins = [\"https://a.example\", 3]\n");
  std::string msg = load_error(s);
  EXPECT_NE(msg.find("http.cors_origins"), std::string::npos) << msg;
  EXPECT_NE(msg.find("array of strings"), std::string::npos) << msg;
}

TEST_F(ConfigTest, NumberKeysAcceptIntegersAndCheckTheirRange) {
  Schema schema;
  schema.number("limits.ratio", 0.5, "A ratio.", 0.0, 1.0);
  Sources s;
  s.file = write_file("[limits]\nratio = 1\n");
  EXPECT_DOUBLE_EQ(Config::load(schema, s).number("limits.ratio"), 1.0);

  Sources bad;
  bad.overrides = {{"limits.ratio", "1.5"}};
  EXPECT_THROW((void)Config::load(schema, bad), ConfigError);
  Sources nan;
  nan.overrides = {{"limits.ratio", "nan"}};
  EXPECT_THROW((void)Config::load(schema, nan), ConfigError);
}

TEST_F(ConfigTest, DefaultsFileRoundTrips) {
  const Schema& schema = app::schema();
  Sources s;
  s.file = write_file(schema.render_defaults_toml());
  Config c = Config::load(schema, s);
  for (const KeyDef& k : schema.keys()) {
    SCOPED_TRACE(k.name);
    // Every key is written to the file (secrets may be left commented out).
    if (!k.secret) {
      EXPECT_EQ(c.source(k.name), Source::file);
    }
    switch (k.type) {
      case Type::string:
        EXPECT_EQ(c.string(k.name), std::get<std::string>(k.default_value));
        break;
      case Type::integer:
        EXPECT_EQ(c.integer(k.name), std::get<std::int64_t>(k.default_value));
        break;
      case Type::boolean:
        EXPECT_EQ(c.boolean(k.name), std::get<bool>(k.default_value));
        break;
      case Type::number:
        EXPECT_EQ(c.number(k.name), std::get<double>(k.default_value));
        break;
      case Type::string_list:
        EXPECT_EQ(c.list(k.name), std::get<std::vector<std::string>>(k.default_value));
        break;
    }
  }
}

TEST_F(ConfigTest, DefaultsFileRoundTripsAwkwardValues) {
  Schema schema;
  schema.string("a.quoted", "say \"hi\" \\ there\tnow", "Quotes and escapes.");
  schema.number("a.whole", 2.0, "A whole number.", 0, 10);
  schema.number("a.small", 1e-9, "A small number.", 0, 10);
  schema.list("a.list", {"x,y", "z"}, "A list.");
  Sources s;
  s.file = write_file(schema.render_defaults_toml());
  Config c = Config::load(schema, s);
  EXPECT_EQ(c.string("a.quoted"), "say \"hi\" \\ there\tnow");
  EXPECT_EQ(c.number("a.whole"), 2.0);
  EXPECT_EQ(c.number("a.small"), 1e-9);
  EXPECT_EQ(c.list("a.list"), (std::vector<std::string>{"x,y", "z"}));
}

TEST_F(ConfigTest, DefaultsFileDocumentsEveryKey) {
  const Schema& schema = app::schema();
  std::string toml = schema.render_defaults_toml();
  for (const KeyDef& k : schema.keys()) {
    EXPECT_NE(toml.find(Schema::env_name(k.name)), std::string::npos) << k.name;
  }
  EXPECT_NE(toml.find("[http]"), std::string::npos);
  EXPECT_NE(toml.find("\nport = 8080\n"), std::string::npos);
}

TEST_F(ConfigTest, EnvName) {
  EXPECT_EQ(Schema::env_name("http.port"), "RINGHOUSE_HTTP_PORT");
  EXPECT_EQ(Schema::env_name("storage.sqlite_path"), "RINGHOUSE_STORAGE_SQLITE_PATH");
  EXPECT_EQ(Schema::env_name("a.b-c"), "RINGHOUSE_A_B_C");
}

TEST_F(ConfigTest, EffectiveConfigRedactsSecretsAndShowsSources) {
  Sources s;
  s.overrides = {{"admin.operator_token", "s3cret-token-value"}, {"http.port", "9000"}};
  Config c = Config::load(app::schema(), s);
  std::string out = c.render_effective();
  EXPECT_EQ(out.find("s3cret-token-value"), std::string::npos) << out;
  EXPECT_NE(out.find("operator_token = \"(set)\""), std::string::npos) << out;
  EXPECT_NE(out.find("port = 9000  # command line"), std::string::npos) << out;
  EXPECT_NE(out.find("driver = \"sqlite\"  # default"), std::string::npos) << out;
}

TEST_F(ConfigTest, SetOverridesAfterLoad) {
  Config c = Config::defaults(app::schema());
  c.set("node.data_dir", std::string("/var/lib/ringhouse"), Source::command_line);
  EXPECT_EQ(c.string("node.data_dir"), "/var/lib/ringhouse");
  EXPECT_EQ(c.source("node.data_dir"), Source::command_line);
  EXPECT_THROW(c.set("no.such", std::string("x"), Source::file), std::logic_error);
  EXPECT_THROW((void)c.integer("node.data_dir"), std::logic_error);  // read as the wrong type
}

TEST_F(ConfigTest, DeclaringAKeyTwiceIsAProgrammingError) {
  Schema schema;
  schema.boolean("a.b", true, "x");
  EXPECT_THROW(schema.boolean("a.b", false, "y"), std::logic_error);
}

TEST_F(ConfigTest, ProcessEnvironmentOnlyRinghouseNames) {
  ASSERT_EQ(::setenv("RINGHOUSE_UNIT_TEST_PROBE", "a=b", 1), 0);
  ASSERT_EQ(::setenv("NOT_RINGHOUSE_UNIT_TEST_PROBE", "x", 1), 0);
  auto env = ringhouse_environment();
  ::unsetenv("RINGHOUSE_UNIT_TEST_PROBE");
  ::unsetenv("NOT_RINGHOUSE_UNIT_TEST_PROBE");
  ASSERT_TRUE(env.count("RINGHOUSE_UNIT_TEST_PROBE"));
  EXPECT_EQ(env["RINGHOUSE_UNIT_TEST_PROBE"], "a=b");
  EXPECT_EQ(env.count("NOT_RINGHOUSE_UNIT_TEST_PROBE"), 0u);
}

}  // namespace
}  // namespace rh::config
