// SQLite driver: WAL mode, one writer connection (SQLite allows one writer at
// a time; serialising it in-process avoids busy loops) and a pool of read-only
// connections that read concurrently with the writer.
#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "storage/database.hpp"
#include "storage/group_commit.hpp"

namespace rh::storage {

namespace {

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  int ext = db ? sqlite3_extended_errcode(db) : rc;
  std::string msg =
      fmt::format("sqlite {}: {} ({})", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), ext);
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return Error(Errc::conflict, msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error(Errc::unavailable, msg);
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      return Error(Errc::unavailable, msg);
    default:
      return Error(Errc::internal, msg);
  }
}

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() override {
    for (auto& [sql, st] : cache_) sqlite3_finalize(st);
    sqlite3_close_v2(db_);
  }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  Dialect dialect() const override { return Dialect::sqlite; }

  Result<Rows> query(std::string_view sql, std::span<const Value> params) override {
    RH_ASSIGN(sqlite3_stmt * st, prepare(sql, params));
    Rows rows;
    std::shared_ptr<std::vector<std::string>> cols;
    int n = sqlite3_column_count(st);
    for (;;) {
      int rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        Error e = sqlite_error(db_, rc, "step");
        sqlite3_reset(st);
        return e;
      }
      if (!cols) {
        cols = std::make_shared<std::vector<std::string>>();
        for (int i = 0; i < n; ++i) cols->emplace_back(sqlite3_column_name(st, i));
      }
      std::vector<Value> vals;
      vals.reserve(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i) {
        switch (sqlite3_column_type(st, i)) {
          case SQLITE_INTEGER:
            vals.emplace_back(static_cast<std::int64_t>(sqlite3_column_int64(st, i)));
            break;
          case SQLITE_FLOAT:
            vals.emplace_back(sqlite3_column_double(st, i));
            break;
          case SQLITE_TEXT:
            vals.emplace_back(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, i)),
                                          static_cast<std::size_t>(sqlite3_column_bytes(st, i))));
            break;
          case SQLITE_BLOB: {
            const void* p = sqlite3_column_blob(st, i);
            auto len = static_cast<std::size_t>(sqlite3_column_bytes(st, i));
            vals.emplace_back(Blob{std::string(static_cast<const char*>(p), len)});
            break;
          }
          default:
            vals.emplace_back(std::monostate{});
        }
      }
      rows.emplace_back(cols, std::move(vals));
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rows;
  }

  Result<ExecResult> exec(std::string_view sql, std::span<const Value> params) override {
    RH_ASSIGN(sqlite3_stmt * st, prepare(sql, params));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) {
      Error e = sqlite_error(db_, rc, "exec");
      sqlite3_reset(st);
      return e;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ExecResult{sqlite3_changes64(db_), sqlite3_last_insert_rowid(db_)};
  }

  Status exec_script(std::string_view sql) override {
    char* err = nullptr;
    std::string s(sql);
    int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return Error(Errc::internal, "sqlite script: " + msg);
    }
    return {};
  }

  sqlite3* handle() { return db_; }

 private:
  Result<sqlite3_stmt*> prepare(std::string_view sql, std::span<const Value> params) {
    sqlite3_stmt* st = nullptr;
    auto it = cache_.find(std::string(sql));
    if (it != cache_.end()) {
      st = it->second;
    } else {
      int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                  SQLITE_PREPARE_PERSISTENT, &st, nullptr);
      if (rc != SQLITE_OK) return sqlite_error(db_, rc, "prepare");
      if (cache_.size() > 256) {
        for (auto& [k, v] : cache_) sqlite3_finalize(v);
        cache_.clear();
      }
      cache_.emplace(std::string(sql), st);
    }
    int expected = sqlite3_bind_parameter_count(st);
    if (expected != static_cast<int>(params.size())) {
      return Error(
          Errc::invalid_argument,
          fmt::format("sqlite: statement takes {} parameters, {} given", expected, params.size()));
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i + 1);
      int rc = std::visit(
          [&](const auto& v) -> int {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>)
              return sqlite3_bind_null(st, idx);
            else if constexpr (std::is_same_v<T, std::int64_t>)
              return sqlite3_bind_int64(st, idx, v);
            else if constexpr (std::is_same_v<T, double>)
              return sqlite3_bind_double(st, idx, v);
            else if constexpr (std::is_same_v<T, std::string>)
              return sqlite3_bind_text64(st, idx, v.data(), v.size(), SQLITE_TRANSIENT,
                                         SQLITE_UTF8);
            else
              return sqlite3_bind_blob64(st, idx, v.bytes.data(), v.bytes.size(), SQLITE_TRANSIENT);
          },
          params[i]);
      if (rc != SQLITE_OK) {
        sqlite3_reset(st);
        return sqlite_error(db_, rc, "bind");
      }
    }
    return st;
  }

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

Result<std::unique_ptr<SqliteConnection>> open_one(const SqliteOptions& o, bool writer) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI |
              (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY);
  int rc = sqlite3_open_v2(o.path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(db, rc, "open " + o.path);
    sqlite3_close_v2(db);
    return e;
  }
  auto conn = std::make_unique<SqliteConnection>(db);
  sqlite3_busy_timeout(db, o.busy_timeout_ms);
  sqlite3_extended_result_codes(db, 1);
  // temp_store=MEMORY also keeps statement journals (the savepoints of group
  // commit) in memory; without it each spilled to a temporary file in
  // /var/tmp, written page by page.
  std::string pragmas = "PRAGMA foreign_keys=ON;PRAGMA temp_store=MEMORY;";
  if (writer) {
    pragmas += "PRAGMA journal_mode=WAL;";
    pragmas += o.synchronous_full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;";
  }
  RH_TRY(conn->exec_script(pragmas));
  return conn;
}

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(std::unique_ptr<SqliteConnection> writer, int readers, SqliteOptions o)
      : writer_(std::move(writer)),
        max_readers_(readers),
        opts_(std::move(o)),
        group_([this](const GroupCommitter::Body& fn) { return transaction_alone(fn); }) {}

  Dialect dialect() const override { return Dialect::sqlite; }

  Status with_connection(Access access, const std::function<Status(Connection&)>& fn) override {
    if (access == Access::write) {
      std::unique_lock lk(writer_mu_);
      return fn(*writer_);
    }
    RH_ASSIGN(auto conn, borrow_reader());
    Status st;
    try {
      st = fn(*conn);
    } catch (...) {
      give_back(std::move(conn));
      throw;
    }
    give_back(std::move(conn));
    return st;
  }

  // Concurrent transactions share commits: one writer connection serialises
  // them anyway, and each commit costs an fsync.
  Status transaction(const std::function<Status(Connection&)>& fn) override {
    return group_.run(fn);
  }
  Status urgent_transaction(const std::function<Status(Connection&)>& fn,
                            Urgency urgency) override {
    return group_.run(fn, urgency == Urgency::now ? GroupCommitter::Priority::now
                                                  : GroupCommitter::Priority::ahead);
  }

  PoolStats stats() const override {
    auto g = group_.stats();
    std::lock_guard lk(mu_);
    return PoolStats{open_readers_ + 1, in_use_, waiting_, waits_total_, g.items, g.groups};
  }

  Status ping() override {
    return with_connection(Access::read, [](Connection& c) -> Status {
      RH_TRY(c.query("SELECT 1", {}));
      return {};
    });
  }

 private:
  Status transaction_alone(const std::function<Status(Connection&)>& fn) {
    std::unique_lock lk(writer_mu_);
    for (int attempt = 1;; ++attempt) {
      Status st = writer_->exec_script("BEGIN IMMEDIATE");
      if (st) {
        try {
          st = fn(*writer_);
        } catch (...) {
          (void)writer_->exec_script("ROLLBACK");
          throw;
        }
        if (st) st = writer_->exec_script("COMMIT");
        if (!st) (void)writer_->exec_script("ROLLBACK");
      }
      if (st || st.error().code != Errc::unavailable || attempt >= 3) return st;
      std::this_thread::sleep_for(std::chrono::milliseconds(10 * attempt));
    }
  }

  Result<std::unique_ptr<SqliteConnection>> borrow_reader() {
    std::unique_lock lk(mu_);
    if (idle_.empty() && open_readers_ >= max_readers_) {
      ++waiting_;
      ++waits_total_;
      bool got = cv_.wait_for(lk, std::chrono::milliseconds(opts_.busy_timeout_ms),
                              [&] { return !idle_.empty(); });
      --waiting_;
      if (!got) return Error(Errc::unavailable, "database pool exhausted");
    }
    ++in_use_;
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    ++open_readers_;
    lk.unlock();
    auto c = open_one(opts_, false);
    if (!c) {
      std::lock_guard lk2(mu_);
      --open_readers_;
      --in_use_;
      cv_.notify_one();
    }
    return c;
  }

  void give_back(std::unique_ptr<SqliteConnection> c) {
    {
      std::lock_guard lk(mu_);
      --in_use_;
      idle_.push_back(std::move(c));
    }
    cv_.notify_one();
  }

  std::mutex writer_mu_;
  std::unique_ptr<SqliteConnection> writer_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_;
  int open_readers_ = 0;
  int in_use_ = 0;
  int waiting_ = 0;
  std::uint64_t waits_total_ = 0;
  int max_readers_;
  SqliteOptions opts_;
  GroupCommitter group_;
};

}  // namespace

Result<std::unique_ptr<Database>> open_sqlite(const SqliteOptions& o) {
  if (o.path.empty() || o.path == ":memory:") {
    return Error(Errc::invalid_argument, "sqlite needs a file path (readers share it)");
  }
  RH_ASSIGN(auto writer, open_one(o, true));
  return std::unique_ptr<Database>(
      std::make_unique<SqliteDatabase>(std::move(writer), std::max(1, o.readers), o));
}

}  // namespace rh::storage
