#include "storage/settings.hpp"

#include <filesystem>

namespace rh::storage {

void declare_config(config::Schema& s) {
  s.string("storage.driver", "sqlite",
           "Database: sqlite (embedded, one machine) or mariadb (production, several nodes).",
           config::one_of({"sqlite", "mariadb"}));
  s.string("storage.sqlite_path", "", "SQLite database file; empty means <data_dir>/ringhouse.db.");
  s.integer("storage.sqlite_readers", 4,
            "SQLite read-only connections (reads run beside the one writer).", 1, 64);
  s.string(
      "storage.sqlite_synchronous", "full",
      "SQLite fsync policy: full (a commit survives power loss) or normal (survives a crash of "
      "the process, may lose the last commits on power loss).",
      config::one_of({"full", "normal"}));
  s.integer("storage.busy_timeout_ms", 5000,
            "How long a statement waits for a lock (SQLite) or a pooled connection (both).", 0,
            600000);
  config::KeyDef url{
      "storage.mariadb_url",
      config::Type::string,
      config::Value{std::string()},
      "MariaDB connection, mariadb://user:password@host:port/database (or ?socket=/path); "
      "used when storage.driver is mariadb.",
      {},
      true};
  s.add(std::move(url));
  s.integer("storage.pool_size", 16, "MariaDB connections in the pool.", 1, 1024);
  s.integer(
      "storage.blocking_threads", 0,
      "Threads that run database and other blocking work of API requests off the I/O "
      "threads; 0 means one per two CPU cores with SQLite (its reads take microseconds: a "
      "busy thread avoids the wake-ups, and more threads cost short reads half their rate, "
      "measured in bench/RESULTS.md) and one per core with MariaDB. Message sends and the "
      "SIP edge's hooks have pools of their own (messaging.send_threads, "
      "voice.hook_threads).",
      0, 1024);
  s.boolean("storage.auto_migrate", true,
            "Apply pending schema migrations at start-up; when false, `ringhouse migrate` must be "
            "run first and serve refuses to start on a schema it does not expect.");
  s.string("blobs.driver", "local", "Blob store for media: local (a directory).",
           config::one_of({"local"}));
  s.string("blobs.dir", "", "Directory of the local blob store; empty means <data_dir>/blobs.");
}

Result<std::unique_ptr<Database>> open_database(const config::Config& c) {
  if (c.string("storage.driver") == "mariadb") {
    std::string url = c.string("storage.mariadb_url");
    if (url.empty()) {
      return Error(Errc::invalid_argument, "storage.mariadb_url",
                   "storage.mariadb_url must be set when storage.driver is mariadb");
    }
    RH_ASSIGN(MariadbOptions o, parse_mariadb_url(url));
    o.pool_size = static_cast<int>(c.integer("storage.pool_size"));
    o.pool_wait_ms = static_cast<int>(c.integer("storage.busy_timeout_ms"));
    return open_mariadb(o);
  }
  SqliteOptions o;
  o.path = c.string("storage.sqlite_path");
  if (o.path.empty())
    o.path = (std::filesystem::path(c.string("node.data_dir")) / "ringhouse.db").string();
  o.readers = static_cast<int>(c.integer("storage.sqlite_readers"));
  o.busy_timeout_ms = static_cast<int>(c.integer("storage.busy_timeout_ms"));
  o.synchronous_full = c.string("storage.sqlite_synchronous") == "full";
  return open_sqlite(o);
}

std::unique_ptr<BlobStore> open_blob_store(const config::Config& c) {
  std::string dir = c.string("blobs.dir");
  if (dir.empty()) dir = (std::filesystem::path(c.string("node.data_dir")) / "blobs").string();
  std::filesystem::create_directories(dir);
  return open_local_blob_store(dir);
}

}  // namespace rh::storage
