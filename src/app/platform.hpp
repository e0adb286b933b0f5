// Construction of everything: the only place that builds concrete objects.
#pragma once

#include <memory>
#include <string>

#include "accounts/auth.hpp"
#include "core/config.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"

namespace rh::app {

// Every module's config keys.
const config::Schema& schema();
config::Config load_config(const config::Sources& sources);

struct Secrets {
  std::string operator_token;  // bearer token of the operator (admin API)
  std::string operator_token_path;
  bool operator_token_created = false;
  std::string access_token_key;  // signs access tokens
  std::string data_key;          // encrypts secrets at rest (TOTP)
  std::string edge_key;          // the SIP edge's key for /internal/sip/* (voice.edge_key)
};

// Creates the data directory and the generated secrets if missing.
Secrets prepare_data_dir(const config::Config& cfg);

// The auth settings with the keys from the secrets directory.
accounts::AuthOptions auth_options(const config::Config& cfg, const Secrets& secrets);

// Opens the database and migrates it (or checks it is migrated); throws
// std::runtime_error with a clear message on failure.
std::unique_ptr<storage::Database> open_and_migrate(const config::Config& cfg, bool force_migrate);

// Every module's migrations.
storage::Migrator migrator();

// `ringhouse serve`: runs until SIGTERM/SIGINT, then drains. Returns the exit code.
int serve(const config::Config& cfg);

std::string version();

}  // namespace rh::app
