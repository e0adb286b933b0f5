// MariaDB driver over the C connector (libmariadb), text protocol.
//
// Parameters are interpolated on the client: every '?' outside string
// literals, quoted identifiers and comments becomes an escaped literal
// (mysql_real_escape_string, which knows the connection's charset and
// sql_mode). One pool of connections serves reads and writes; connections are
// opened lazily, checked after sitting idle, and dropped when the server goes
// away (MYSQL_OPT_RECONNECT stays off: a silent reconnect would lose the
// session settings and any open transaction).
#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "core/crypto.hpp"
#include "storage/database.hpp"

namespace rh::storage {

namespace {

using Clock = std::chrono::steady_clock;

constexpr unsigned kReadWriteTimeoutS = 30;
// An idle connection is pinged before it is handed out again after this long
// (the server may have closed it: wait_timeout, restart, failover).
constexpr auto kValidateAfter = std::chrono::seconds(5);
constexpr int kTransactionAttempts = 3;

constexpr const char* kSessionSetup =
    "SET SESSION sql_mode='STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION,ANSI_QUOTES', "
    "time_zone='+00:00', innodb_lock_wait_timeout=20";
// transaction_isolation only exists from MariaDB 11.1 (tx_isolation before);
// this form works on every version.
constexpr const char* kIsolationSetup = "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED";

// ---------------------------------------------------------------------------
// Library and thread initialisation.

bool init_library() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = mysql_library_init(0, nullptr, nullptr) == 0; });
  return ok;
}

struct ThreadGuard {
  ThreadGuard() { mysql_thread_init(); }
  ~ThreadGuard() { mysql_thread_end(); }
  ThreadGuard(const ThreadGuard&) = delete;
  ThreadGuard& operator=(const ThreadGuard&) = delete;
};

// Every thread that touches a connection calls this first.
bool init_thread() {
  if (!init_library()) return false;
  thread_local ThreadGuard guard;
  return true;
}

// ---------------------------------------------------------------------------
// Errors.

bool is_connection_error(unsigned code) {
  switch (code) {
    case CR_CONNECTION_ERROR:      // 2002
    case CR_CONN_HOST_ERROR:       // 2003
    case CR_SERVER_GONE_ERROR:     // 2006
    case CR_SERVER_LOST:           // 2013
    case CR_COMMANDS_OUT_OF_SYNC:  // 2014: our bug, but the connection is unusable
    case CR_SERVER_LOST_EXTENDED:  // 2055
    case ER_SERVER_SHUTDOWN:       // 1053
    case 1927:                     // ER_CONNECTION_KILLED
    case 4031:                     // ER_CLIENT_INTERACTION_TIMEOUT (11.x)
      return true;
    default:
      return false;
  }
}

bool is_retryable(unsigned code) {
  return code == ER_LOCK_DEADLOCK || code == ER_LOCK_WAIT_TIMEOUT;
}

Errc errc_for(unsigned code) {
  switch (code) {
    case ER_DUP_ENTRY:                // 1062
    case ER_DUP_ENTRY_WITH_KEY_NAME:  // 1586
    case ER_NO_REFERENCED_ROW:        // 1216
    case ER_ROW_IS_REFERENCED:        // 1217
    case ER_ROW_IS_REFERENCED_2:      // 1451
    case ER_NO_REFERENCED_ROW_2:      // 1452
      return Errc::conflict;
    case ER_LOCK_DEADLOCK:      // 1213
    case ER_LOCK_WAIT_TIMEOUT:  // 1205
      return Errc::unavailable;
    case 1969:  // ER_STATEMENT_TIMEOUT (max_statement_time)
      return Errc::timeout;
    default:
      return is_connection_error(code) ? Errc::unavailable : Errc::internal;
  }
}

// The SQL as written (placeholders, not values), shortened for messages.
std::string sql_excerpt(std::string_view sql) {
  constexpr std::size_t kMax = 160;
  std::string out;
  out.reserve(std::min(sql.size(), kMax) + 3);
  bool space = false;
  for (char c : sql) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
    if (out.size() >= kMax) {
      out += "...";
      break;
    }
  }
  return out;
}

Error make_db_error(unsigned code, const char* text, std::string_view sql) {
  std::string msg = "mariadb error " + std::to_string(code) + ": " + (text ? text : "?");
  // Conflicts reach API clients; internal errors are for the logs, where the
  // statement helps. Only the statement text, never parameter values.
  if (!sql.empty() && errc_for(code) == Errc::internal) msg += " [in: " + sql_excerpt(sql) + "]";
  return Error(errc_for(code), std::move(msg));
}

// ---------------------------------------------------------------------------
// Lexing: enough of MariaDB's lexer to find '?' and ';' that are SQL syntax.

// If a string literal, quoted identifier or comment starts at s[i], the index
// just past it (s.size() when unterminated); otherwise i.
std::size_t skip_opaque(std::string_view s, std::size_t i) {
  const std::size_t n = s.size();
  const char c = s[i];
  if (c == '\'' || c == '"' || c == '`') {
    // Single quotes: a string, backslash escapes (no NO_BACKSLASH_ESCAPES).
    // Double quotes (ANSI_QUOTES) and backticks: identifiers, no escapes.
    // All three also escape by doubling the quote.
    const bool backslash = c == '\'';
    for (std::size_t j = i + 1; j < n; ++j) {
      if (backslash && s[j] == '\\') {
        ++j;
      } else if (s[j] == c) {
        if (j + 1 < n && s[j + 1] == c) {
          ++j;
        } else {
          return j + 1;
        }
      }
    }
    return n;
  }
  const bool dash_comment =
      c == '-' && i + 1 < n && s[i + 1] == '-' &&
      (i + 2 == n || static_cast<unsigned char>(s[i + 2]) <= ' ');  // MariaDB: "-- " only
  if (c == '#' || dash_comment) {
    std::size_t e = s.find('\n', i);
    return e == std::string_view::npos ? n : e + 1;
  }
  if (c == '/' && i + 1 < n && s[i + 1] == '*') {
    std::size_t e = s.find("*/", i + 2);
    return e == std::string_view::npos ? n : e + 2;
  }
  return i;
}

void append_hex(std::string& out, std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  for (char ch : bytes) {
    const auto b = static_cast<unsigned char>(ch);
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
}

// Splits a script into statements on ';' outside literals and comments,
// dropping statements that are only whitespace and comments. (No DELIMITER:
// stored programs with BEGIN ... END bodies need to be run one by one.)
std::vector<std::string_view> split_script(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  bool code = false;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == ';') {
      if (code) out.push_back(s.substr(start, i - start));
      start = ++i;
      code = false;
      continue;
    }
    std::size_t e = skip_opaque(s, i);
    if (e != i) {
      if (c == '\'' || c == '"' || c == '`') code = true;
      i = e;
      continue;
    }
    if (!std::isspace(static_cast<unsigned char>(c))) code = true;
    ++i;
  }
  if (code) out.push_back(s.substr(start));
  return out;
}

bool parse_int(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// ---------------------------------------------------------------------------
// A connection.

class MariadbConnection final : public Connection {
 public:
  explicit MariadbConnection(MYSQL* m) : m_(m) {}
  ~MariadbConnection() override {
    if (m_) mysql_close(m_);
  }
  MariadbConnection(const MariadbConnection&) = delete;
  MariadbConnection& operator=(const MariadbConnection&) = delete;

  using Connection::exec;
  using Connection::query;

  Dialect dialect() const override { return Dialect::mariadb; }

  Result<Rows> query(std::string_view sql, std::span<const Value> params) override {
    std::string text;
    RH_TRY(interpolate(sql, params, text));
    RH_TRY(send(text, sql));
    MYSQL_RES* res = mysql_store_result(m_);
    if (!res) {
      if (mysql_errno(m_) != 0) return fail(sql);
      RH_TRY(drain(sql));
      return Rows{};  // a statement without a result set
    }
    Rows rows = convert(res);
    mysql_free_result(res);
    RH_TRY(drain(sql));
    return rows;
  }

  Result<ExecResult> exec(std::string_view sql, std::span<const Value> params) override {
    std::string text;
    RH_TRY(interpolate(sql, params, text));
    return run(text, sql);
  }

  Status exec_script(std::string_view sql) override {
    auto statements = split_script(sql);
    for (std::size_t i = 0; i < statements.size(); ++i) {
      auto r = run(statements[i], statements[i]);
      if (!r) {
        Error e = r.take_error();
        e.message = "script statement " + std::to_string(i + 1) + ": " + e.message;
        return e;
      }
    }
    return {};
  }

  // Pool and transaction bookkeeping.
  bool broken() const { return broken_; }
  void mark_broken() { broken_ = true; }
  bool saw_retryable() const { return saw_retryable_; }
  bool saw_deadlock() const { return saw_deadlock_; }
  void reset_flags() {
    saw_retryable_ = false;
    saw_deadlock_ = false;
  }
  Clock::time_point idle_since() const { return idle_since_; }
  void set_idle_since(Clock::time_point t) { idle_since_ = t; }

  Status command(std::string_view sql) {
    auto r = run(sql, sql);
    if (!r) return r.take_error();
    return {};
  }

  // Round trip to check the connection is alive.
  bool alive() {
    if (mysql_ping(m_) == 0) return true;
    broken_ = true;
    return false;
  }

  bool in_transaction() {
    unsigned int status = 0;
    if (mariadb_get_infov(m_, MARIADB_CONNECTION_SERVER_STATUS, &status) != 0) return true;
    return (status & SERVER_STATUS_IN_TRANS) != 0;
  }

  // After a failure or before going back to the pool: end any transaction.
  void rollback_quietly() {
    if (broken_) return;
    if (!command("ROLLBACK")) broken_ = true;
  }

 private:
  Error fail(std::string_view sql) {
    const unsigned code = mysql_errno(m_);
    if (is_connection_error(code)) broken_ = true;
    if (is_retryable(code)) saw_retryable_ = true;
    if (code == ER_LOCK_DEADLOCK) saw_deadlock_ = true;
    return make_db_error(code, mysql_error(m_), sql);
  }

  Status send(std::string_view text, std::string_view sql) {
    if (broken_) return Error(Errc::unavailable, "mariadb: connection lost");
    if (mysql_real_query(m_, text.data(), text.size()) != 0) return fail(sql);
    return {};
  }

  // Consumes any further result sets (CALL) so the connection stays in sync.
  Status drain(std::string_view sql) {
    while (mysql_more_results(m_)) {
      const int r = mysql_next_result(m_);
      if (r > 0) return fail(sql);
      if (r < 0) break;
      if (MYSQL_RES* extra = mysql_store_result(m_)) mysql_free_result(extra);
    }
    return {};
  }

  Result<ExecResult> run(std::string_view text, std::string_view sql) {
    RH_TRY(send(text, sql));
    ExecResult out;
    if (MYSQL_RES* res = mysql_store_result(m_)) {
      mysql_free_result(res);
    } else if (mysql_errno(m_) != 0) {
      return fail(sql);
    }
    const my_ulonglong affected = mysql_affected_rows(m_);
    if (affected != static_cast<my_ulonglong>(-1))
      out.affected = static_cast<std::int64_t>(affected);
    out.last_insert_id = static_cast<std::int64_t>(mysql_insert_id(m_));
    RH_TRY(drain(sql));
    return out;
  }

  Status append_value(std::string& out, const Value& v) {
    if (std::holds_alternative<std::monostate>(v)) {
      out += "NULL";
    } else if (auto* i = std::get_if<std::int64_t>(&v)) {
      // A space keeps "x-?" with a negative value from reading as "x--1".
      if (*i < 0) out += ' ';
      out += std::to_string(*i);
    } else if (auto* d = std::get_if<double>(&v)) {
      if (!std::isfinite(*d)) {
        return Error(Errc::invalid_argument, "mariadb: cannot bind a non-finite double");
      }
      char buf[40];
      const int n = std::snprintf(buf, sizeof buf, "%.17g", *d);
      if (*d < 0) out += ' ';
      out.append(buf, static_cast<std::size_t>(n));
      // With an exponent the literal is a DOUBLE; without, MariaDB reads
      // 0.10000000000000001 as an exact DECIMAL.
      if (std::string_view(buf, static_cast<std::size_t>(n)).find_first_of("eE") ==
          std::string_view::npos) {
        out += "e0";
      }
    } else if (auto* s = std::get_if<std::string>(&v)) {
      std::string buf(s->size() * 2 + 1, '\0');
      const unsigned long n = mysql_real_escape_string(m_, buf.data(), s->data(), s->size());
      if (n == static_cast<unsigned long>(-1)) {
        return Error(Errc::invalid_argument, "mariadb: cannot escape a string parameter");
      }
      out += '\'';
      out.append(buf.data(), n);
      out += '\'';
    } else if (auto* b = std::get_if<Blob>(&v)) {
      out += "X'";
      append_hex(out, b->bytes);
      out += '\'';
    }
    return {};
  }

  Status interpolate(std::string_view sql, std::span<const Value> params, std::string& out) {
    std::size_t extra = 0;
    for (const Value& v : params) {
      if (auto* s = std::get_if<std::string>(&v))
        extra += s->size() * 2 + 3;
      else if (auto* b = std::get_if<Blob>(&v))
        extra += b->bytes.size() * 2 + 3;
      else
        extra += 26;
    }
    out.clear();
    out.reserve(sql.size() + extra);
    std::size_t used = 0;
    std::size_t i = 0;
    while (i < sql.size()) {
      std::size_t e = skip_opaque(sql, i);
      if (e != i) {
        out.append(sql.substr(i, e - i));
        i = e;
        continue;
      }
      if (sql[i] == '?') {
        if (used == params.size()) {
          return Error(Errc::invalid_argument,
                       "mariadb: more placeholders than the " + std::to_string(params.size()) +
                           " parameters given [in: " + sql_excerpt(sql) + "]");
        }
        RH_TRY(append_value(out, params[used++]));
      } else {
        out += sql[i];
      }
      ++i;
    }
    if (used != params.size()) {
      return Error(Errc::invalid_argument, "mariadb: " + std::to_string(params.size()) +
                                               " parameters for " + std::to_string(used) +
                                               " placeholders [in: " + sql_excerpt(sql) + "]");
    }
    return {};
  }

  enum class Kind { integer, real, text, blob };

  static Kind kind_of(const MYSQL_FIELD& f) {
    switch (f.type) {
      case MYSQL_TYPE_TINY:
      case MYSQL_TYPE_SHORT:
      case MYSQL_TYPE_LONG:
      case MYSQL_TYPE_LONGLONG:
      case MYSQL_TYPE_INT24:
      case MYSQL_TYPE_YEAR:
        return Kind::integer;
      case MYSQL_TYPE_FLOAT:
      case MYSQL_TYPE_DOUBLE:
        return Kind::real;
      case MYSQL_TYPE_DECIMAL:
      case MYSQL_TYPE_NEWDECIMAL:
        return Kind::text;
      case MYSQL_TYPE_BIT:
      case MYSQL_TYPE_TINY_BLOB:
      case MYSQL_TYPE_MEDIUM_BLOB:
      case MYSQL_TYPE_LONG_BLOB:
      case MYSQL_TYPE_BLOB:
      case MYSQL_TYPE_VAR_STRING:
      case MYSQL_TYPE_STRING:
      case MYSQL_TYPE_VARCHAR:
        // charsetnr 63 is "binary": BLOB, VARBINARY, BINARY, BIT, X'..'.
        return f.charsetnr == 63 ? Kind::blob : Kind::text;
      default:
        return Kind::text;  // dates and times, JSON, ENUM, SET, ...
    }
  }

  static Rows convert(MYSQL_RES* res) {
    const unsigned nf = mysql_num_fields(res);
    const MYSQL_FIELD* fields = mysql_fetch_fields(res);
    auto names = std::make_shared<std::vector<std::string>>();
    std::vector<Kind> kinds;
    names->reserve(nf);
    kinds.reserve(nf);
    for (unsigned i = 0; i < nf; ++i) {
      names->emplace_back(fields[i].name, fields[i].name_length);
      kinds.push_back(kind_of(fields[i]));
    }
    std::shared_ptr<const std::vector<std::string>> cols = std::move(names);

    Rows rows;
    rows.reserve(static_cast<std::size_t>(mysql_num_rows(res)));
    while (MYSQL_ROW r = mysql_fetch_row(res)) {
      const unsigned long* lengths = mysql_fetch_lengths(res);
      std::vector<Value> vals;
      vals.reserve(nf);
      for (unsigned i = 0; i < nf; ++i) {
        if (!r[i]) {
          vals.emplace_back(std::monostate{});
          continue;
        }
        std::string_view s(r[i], lengths[i]);
        switch (kinds[i]) {
          case Kind::integer: {
            std::int64_t v = 0;
            if (parse_int(s, v)) {
              vals.emplace_back(v);
            } else {
              vals.emplace_back(std::string(s));  // unsigned beyond int64
            }
            break;
          }
          case Kind::real: {
            double d = 0;
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
            if (ec == std::errc() && p == s.data() + s.size()) {
              vals.emplace_back(d);
            } else {
              vals.emplace_back(std::string(s));
            }
            break;
          }
          case Kind::text:
            vals.emplace_back(std::string(s));
            break;
          case Kind::blob:
            vals.emplace_back(Blob{std::string(s)});
            break;
        }
      }
      rows.emplace_back(cols, std::move(vals));
    }
    return rows;
  }

  MYSQL* m_;
  bool broken_ = false;
  bool saw_retryable_ = false;
  bool saw_deadlock_ = false;
  Clock::time_point idle_since_ = Clock::now();
};

// ---------------------------------------------------------------------------
// The pool.

class MariadbDatabase final : public Database {
 public:
  explicit MariadbDatabase(MariadbOptions o) : opts_(std::move(o)) {}
  // Callers must have returned every connection (no with_connection or
  // transaction running) before the database is destroyed.
  ~MariadbDatabase() override = default;

  Dialect dialect() const override { return Dialect::mariadb; }

  Status with_connection(Access /*access*/, const std::function<Status(Connection&)>& fn) override {
    auto lease = acquire();
    if (!lease) return lease.take_error();
    return fn(lease->conn());
  }

  Status transaction(const std::function<Status(Connection&)>& fn) override {
    static thread_local std::minstd_rand rng(std::random_device{}());
    for (int attempt = 1;; ++attempt) {
      bool retryable = false;
      Status result = attempt_transaction(fn, retryable);
      if (result || !retryable || attempt >= kTransactionAttempts) {
        transactions_.fetch_add(1, std::memory_order_relaxed);
        if (result) commits_.fetch_add(1, std::memory_order_relaxed);
        return result;
      }
      std::uniform_int_distribution<int> jitter(5, 25);
      std::this_thread::sleep_for(std::chrono::milliseconds(jitter(rng) * attempt));
    }
  }

  PoolStats stats() const override {
    std::lock_guard lk(mu_);
    PoolStats s;
    s.size = open_;
    s.in_use = in_use_;
    s.waiting = waiting_;
    s.waits_total = waits_total_;
    s.transactions = transactions_.load(std::memory_order_relaxed);
    s.commits = commits_.load(std::memory_order_relaxed);
    return s;
  }

  Status ping() override {
    return with_connection(Access::read, [](Connection& c) -> Status {
      auto r = c.query("SELECT 1", std::span<const Value>());
      if (!r) return r.take_error();
      return {};
    });
  }

  // Opens one connection now so that a wrong address or password shows at
  // start-up; it stays in the pool.
  Status warm_up() {
    auto lease = acquire();
    if (!lease) return lease.take_error();
    return {};
  }

 private:
  using ConnPtr = std::unique_ptr<MariadbConnection>;

  class Lease {
   public:
    Lease(MariadbDatabase* db, ConnPtr c) : db_(db), c_(std::move(c)) {}
    Lease(Lease&& o) noexcept : db_(o.db_), c_(std::move(o.c_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (c_) db_->release(std::move(c_));
    }
    MariadbConnection& conn() { return *c_; }

   private:
    MariadbDatabase* db_;
    ConnPtr c_;
  };

  // One attempt; retryable tells whether a failure was a deadlock or a lock
  // wait timeout (worth running the whole transaction again).
  Status attempt_transaction(const std::function<Status(Connection&)>& fn, bool& retryable) {
    retryable = false;
    auto lease = acquire();
    if (!lease) return lease.take_error();
    MariadbConnection& c = lease->conn();
    c.reset_flags();
    if (Status st = c.command("START TRANSACTION"); !st) {
      // A pooled connection the server dropped (restart, failover) fails
      // here, before fn ran: safe to run again on a fresh one.
      retryable = c.broken() || c.saw_retryable();
      return st;
    }

    Status result;
    try {
      result = fn(c);
    } catch (...) {
      c.rollback_quietly();
      throw;
    }
    // After a deadlock InnoDB has rolled the whole transaction back: even if
    // fn carried on, what it did before is gone, so never commit that.
    if (result && c.saw_deadlock()) {
      result = Error(Errc::unavailable, "mariadb: deadlock inside the transaction");
    }
    if (result) {
      result = c.command("COMMIT");
      if (result) return result;
    }
    c.rollback_quietly();
    retryable = c.saw_retryable() && !c.broken();
    return result;
  }

  Result<Lease> acquire() {
    if (!init_thread()) return Error(Errc::internal, "mariadb: mysql_library_init failed");
    ConnPtr c;
    {
      std::unique_lock lk(mu_);
      const auto deadline = Clock::now() + std::chrono::milliseconds(opts_.pool_wait_ms);
      bool counted = false;
      const auto ready = [&] { return !idle_.empty() || open_ < std::max(1, opts_.pool_size); };
      while (!ready()) {
        if (!counted) {
          ++waits_total_;
          counted = true;
        }
        ++waiting_;
        const bool ok = cv_.wait_until(lk, deadline, ready);
        --waiting_;
        if (!ok) return Error(Errc::unavailable, "database pool exhausted");
      }
      ++in_use_;
      if (!idle_.empty()) {
        c = std::move(idle_.back());
        idle_.pop_back();
      } else {
        ++open_;  // reserve the slot; connect below without the lock
      }
    }
    if (c && Clock::now() - c->idle_since() >= kValidateAfter && !c->alive()) c.reset();
    if (!c) {
      auto fresh = connect();
      if (!fresh) {
        {
          std::lock_guard lk(mu_);
          --open_;
          --in_use_;
        }
        cv_.notify_one();
        return fresh.take_error();
      }
      c = std::move(fresh).value();
    }
    return Lease(this, std::move(c));
  }

  void release(ConnPtr c) {
    if (!c->broken() && c->in_transaction()) c->rollback_quietly();
    if (c->broken()) {
      c.reset();  // close outside the lock
    } else {
      c->set_idle_since(Clock::now());
    }
    {
      std::lock_guard lk(mu_);
      --in_use_;
      if (c) {
        idle_.push_back(std::move(c));
      } else {
        --open_;
      }
    }
    cv_.notify_one();
  }

  Result<ConnPtr> connect() {
    MYSQL* m = mysql_init(nullptr);
    if (!m) return Error(Errc::internal, "mariadb: mysql_init failed (out of memory)");
    ConnPtr c = std::make_unique<MariadbConnection>(m);  // closes m on every path

    unsigned int connect_timeout = static_cast<unsigned>(std::max(1, opts_.connect_timeout_s));
    unsigned int rw_timeout = kReadWriteTimeoutS;
    my_bool reconnect = 0;
    unsigned int local_infile = 0;
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
    mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
    mysql_optionsv(m, MYSQL_OPT_RECONNECT, &reconnect);
    mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &local_infile);
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");

    const bool socket = !opts_.unix_socket.empty();
    if (socket) {
      unsigned int protocol = MYSQL_PROTOCOL_SOCKET;
      mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &protocol);
    }
    const char* host = socket ? "localhost" : opts_.host.c_str();
    const char* db = opts_.database.empty() ? nullptr : opts_.database.c_str();
    // CLIENT_FOUND_ROWS: UPDATE reports rows matched, not rows changed, as
    // SQLite does (an UPDATE to the same values is not "not found").
    if (!mysql_real_connect(m, host, opts_.user.c_str(), opts_.password.c_str(), db,
                            socket ? 0 : static_cast<unsigned>(opts_.port),
                            socket ? opts_.unix_socket.c_str() : nullptr,
                            CLIENT_FOUND_ROWS | CLIENT_MULTI_RESULTS)) {
      std::string where =
          socket ? opts_.unix_socket : opts_.host + ":" + std::to_string(opts_.port);
      return Error(Errc::unavailable, "mariadb: cannot connect to " + where + ": " +
                                          mysql_error(m) + " (error " +
                                          std::to_string(mysql_errno(m)) + ")");
    }
    for (const char* setup : {kSessionSetup, kIsolationSetup}) {
      if (Status st = c->command(setup); !st) {
        Error e = st.take_error();
        e.message = "mariadb: session setup failed: " + e.message;
        if (e.code == Errc::internal) e.code = Errc::unavailable;
        return e;
      }
    }
    return c;
  }

  const MariadbOptions opts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ConnPtr> idle_;  // most recently used last
  int open_ = 0;               // idle + in use + being opened
  int in_use_ = 0;
  int waiting_ = 0;
  std::uint64_t waits_total_ = 0;
  std::atomic<std::uint64_t> transactions_{0}, commits_{0};
};

// ---------------------------------------------------------------------------
// URL parsing.

// Percent-decodes into out; false on a malformed escape.
bool percent_decode(std::string_view in, std::string& out) {
  auto v = crypto::percent_decode(in);
  if (!v) return false;
  out = std::move(*v);
  return true;
}

bool parse_bounded(std::string_view s, int lo, int hi, int& out) {
  std::int64_t v = 0;
  if (!parse_int(s, v) || v < lo || v > hi) return false;
  out = static_cast<int>(v);
  return true;
}

}  // namespace

Result<MariadbOptions> parse_mariadb_url(std::string_view url) {
  // The URL carries a password: messages never repeat it.
  const auto bad = [](const std::string& why) {
    return Error(Errc::invalid_argument,
                 "bad MariaDB URL (" + why +
                     "); expected mariadb://user:password@host:port/database?socket=PATH&pool=N");
  };
  MariadbOptions o;
  std::string_view rest;
  bool scheme_ok = false;
  for (std::string_view scheme : {"mariadb://", "mysql://"}) {
    if (url.substr(0, scheme.size()) == scheme) {
      rest = url.substr(scheme.size());
      scheme_ok = true;
    }
  }
  if (!scheme_ok) return bad("scheme must be mariadb:// or mysql://");
  if (rest.find('#') != std::string_view::npos) {
    return bad("unexpected '#': percent-encode it as %23");
  }

  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view authority = rest;
  std::string_view path;
  bool has_path = false;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash + 1);
    has_path = true;
  }

  std::string_view hostport = authority;
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    hostport = authority.substr(at + 1);
    std::string_view user = userinfo;
    if (auto colon = userinfo.find(':'); colon != std::string_view::npos) {
      user = userinfo.substr(0, colon);
      if (!percent_decode(userinfo.substr(colon + 1), o.password)) {
        return bad("bad percent-encoding in the password");
      }
    }
    if (!percent_decode(user, o.user)) return bad("bad percent-encoding in the user");
    if (o.user.empty()) return bad("empty user name");
  }

  std::string_view port;
  if (!hostport.empty() && hostport.front() == '[') {
    auto close = hostport.find(']');
    if (close == std::string_view::npos) return bad("unterminated '[' in the host");
    o.host = std::string(hostport.substr(1, close - 1));
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after ']'");
      port = after.substr(1);
      if (port.empty()) return bad("empty port");
    }
  } else if (auto colon = hostport.find(':'); colon != std::string_view::npos) {
    o.host = std::string(hostport.substr(0, colon));
    port = hostport.substr(colon + 1);
    if (port.empty()) return bad("empty port");
  } else {
    o.host = std::string(hostport);
  }
  if (!port.empty() && !parse_bounded(port, 1, 65535, o.port)) {
    return bad("port must be a number from 1 to 65535");
  }

  // No path keeps the default database; an empty one ("host/") means none
  // (connect without a default database, e.g. to create per-test databases).
  if (has_path) {
    if (!percent_decode(path, o.database)) return bad("bad percent-encoding in the database");
    if (o.database.find('/') != std::string::npos) return bad("database name contains '/'");
  }

  while (!query.empty()) {
    std::string_view item = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), item.size() + 1));
    if (item.empty()) continue;
    std::string_view key = item.substr(0, item.find('='));
    std::string_view raw = key.size() < item.size() ? item.substr(key.size() + 1) : "";
    std::string value;
    if (!percent_decode(raw, value)) {
      return bad("bad percent-encoding in parameter '" + std::string(key) + "'");
    }
    if (key == "socket") {
      if (value.empty()) return bad("empty socket path");
      o.unix_socket = value;
    } else if (key == "pool" || key == "pool_size") {
      if (!parse_bounded(value, 1, 1000, o.pool_size)) return bad("pool must be 1 to 1000");
    } else if (key == "connect_timeout") {
      if (!parse_bounded(value, 1, 3600, o.connect_timeout_s)) {
        return bad("connect_timeout must be 1 to 3600 seconds");
      }
    } else if (key == "pool_wait_ms") {
      if (!parse_bounded(value, 0, 600000, o.pool_wait_ms)) {
        return bad("pool_wait_ms must be 0 to 600000");
      }
    } else {
      return bad("unknown parameter '" + std::string(key) + "'");
    }
  }

  if (o.host.empty()) {
    if (o.unix_socket.empty()) return bad("missing host");
    o.host = "localhost";
  }
  return o;
}

Result<std::unique_ptr<Database>> open_mariadb(const MariadbOptions& o) {
  if (o.pool_size < 1) return Error(Errc::invalid_argument, "mariadb: pool_size must be >= 1");
  if (o.pool_wait_ms < 0)
    return Error(Errc::invalid_argument, "mariadb: pool_wait_ms must be >= 0");
  if (o.unix_socket.empty() && o.host.empty()) {
    return Error(Errc::invalid_argument, "mariadb: no host or socket given");
  }
  if (!init_library()) return Error(Errc::internal, "mariadb: mysql_library_init failed");
  auto db = std::make_unique<MariadbDatabase>(o);
  if (Status st = db->warm_up(); !st) return st.take_error();
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace rh::storage
