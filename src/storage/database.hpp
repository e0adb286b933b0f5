// One SQL interface over two drivers: SQLite (embedded default) and MariaDB
// (production). Statements use '?' placeholders on both. Calls block: run
// them on the blocking pool (core/async.hpp), never on an I/O thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.hpp"

namespace rh::storage {

enum class Dialect { sqlite, mariadb };
const char* dialect_name(Dialect d);

struct Blob {
  std::string bytes;
};

using Value = std::variant<std::monostate, std::int64_t, double, std::string, Blob>;

class Row {
 public:
  Row(std::shared_ptr<const std::vector<std::string>> cols, std::vector<Value> vals)
      : cols_(std::move(cols)), vals_(std::move(vals)) {}

  std::size_t size() const { return vals_.size(); }
  const Value& at(std::size_t i) const { return vals_.at(i); }
  const Value& at(std::string_view col) const;
  bool is_null(std::string_view col) const;

  // Conversions are lenient across drivers: MariaDB returns text for some
  // numeric expressions, SQLite returns integers for booleans.
  std::int64_t integer(std::string_view col) const;
  std::optional<std::int64_t> opt_integer(std::string_view col) const;
  double number(std::string_view col) const;
  std::string text(std::string_view col) const;
  std::optional<std::string> opt_text(std::string_view col) const;
  bool boolean(std::string_view col) const { return integer(col) != 0; }

 private:
  std::shared_ptr<const std::vector<std::string>> cols_;
  std::vector<Value> vals_;
};

using Rows = std::vector<Row>;

struct ExecResult {
  std::int64_t affected = 0;
  std::int64_t last_insert_id = 0;
};

// A single connection. Not thread-safe; owned by one caller at a time.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;
  virtual Result<Rows> query(std::string_view sql, std::span<const Value> params = {}) = 0;
  virtual Result<ExecResult> exec(std::string_view sql, std::span<const Value> params = {}) = 0;
  // Several statements without parameters (migrations).
  virtual Status exec_script(std::string_view sql) = 0;

  Result<Rows> query(std::string_view sql, std::initializer_list<Value> params) {
    return query(sql, std::span<const Value>(params.begin(), params.size()));
  }
  Result<ExecResult> exec(std::string_view sql, std::initializer_list<Value> params) {
    return exec(sql, std::span<const Value>(params.begin(), params.size()));
  }
  // The first row, or not_found.
  Result<Row> query_one(std::string_view sql, std::initializer_list<Value> params);
  // The first row if any.
  Result<std::optional<Row>> query_opt(std::string_view sql, std::initializer_list<Value> params);
};

struct PoolStats {
  int size = 0;     // connections open
  int in_use = 0;   // handed out now
  int waiting = 0;  // callers waiting for one
  std::uint64_t waits_total = 0;
  std::uint64_t transactions = 0;  // transaction() calls run
  std::uint64_t commits = 0;       // commits they took (fewer with group commit)
};

enum class Access { read, write };

class Database {
 public:
  virtual ~Database() = default;
  virtual Dialect dialect() const = 0;

  // Runs fn with a connection suited to the access. SQLite has one writer
  // connection (serialised) and a pool of readers; MariaDB one pool.
  virtual Status with_connection(Access access, const std::function<Status(Connection&)>& fn) = 0;

  // Runs fn in a transaction: committed when fn succeeds, rolled back when it
  // returns an error or throws. Retried on deadlock/busy a few times, so fn
  // must not have effects outside the database. On SQLite concurrent
  // transactions share commits (storage/group_commit.hpp): fn may run on
  // another caller's thread, inside a savepoint.
  virtual Status transaction(const std::function<Status(Connection&)>& fn) = 0;
  // The same, for a transaction that much other work waits on (the message
  // dispatcher's: its commit frees the window's slots). On SQLite it goes
  // ahead of the transactions waiting for the next shared commit; with
  // Urgency::now it also cuts a shared transaction that is running short
  // (it joins it, and that commits at once): for work that everything else
  // is idle behind, as it costs an extra commit.
  enum class Urgency { ahead, now };
  virtual Status urgent_transaction(const std::function<Status(Connection&)>& fn,
                                    Urgency /*urgency*/ = Urgency::ahead) {
    return transaction(fn);
  }

  virtual PoolStats stats() const = 0;
  // A trivial round trip (readiness).
  virtual Status ping() = 0;

  // Convenience wrappers returning a value.
  template <class T>
  Result<T> read(const std::function<Result<T>(Connection&)>& fn) {
    std::optional<Result<T>> out;
    Status st = with_connection(Access::read, [&](Connection& c) -> Status {
      out.emplace(fn(c));
      return {};
    });
    if (!st) return st.take_error();
    return std::move(*out);
  }
  template <class T>
  Result<T> in_transaction(const std::function<Result<T>(Connection&)>& fn) {
    std::optional<T> out;
    Status st = transaction([&](Connection& c) -> Status {
      auto r = fn(c);
      if (!r) return r.take_error();
      out.emplace(std::move(r).value());
      return {};
    });
    if (!st) return st.take_error();
    return std::move(*out);
  }
};

struct SqliteOptions {
  std::string path;  // file path; ":memory:" is refused (readers need the file)
  int readers = 4;   // reader connections
  int busy_timeout_ms = 5000;
  bool synchronous_full = true;  // fsync on every commit (durability before acknowledging)
};

struct MariadbOptions {
  std::string host = "127.0.0.1";
  int port = 3306;
  std::string user = "ringhouse";
  std::string password;
  std::string database = "ringhouse";
  std::string unix_socket;
  int pool_size = 8;
  int connect_timeout_s = 5;
  int pool_wait_ms = 5000;  // how long a caller waits for a free connection
};

// Parses mariadb://user:password@host:port/database?socket=/path
Result<MariadbOptions> parse_mariadb_url(std::string_view url);

Result<std::unique_ptr<Database>> open_sqlite(const SqliteOptions& o);
Result<std::unique_ptr<Database>> open_mariadb(const MariadbOptions& o);

}  // namespace rh::storage
