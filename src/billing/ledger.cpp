#include "billing/ledger.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "core/ids.hpp"
#include "jobs/outbox.hpp"

namespace rh::billing {

namespace {

using storage::Value;

constexpr const char* kWallet = "wallet";
constexpr const char* kBalanceOf = "SELECT balance, held FROM ledger_accounts WHERE id = ?";

const char* insert_ignore(const storage::Connection& c) {
  return c.dialect() == storage::Dialect::mariadb ? "INSERT IGNORE" : "INSERT OR IGNORE";
}

Error insufficient(std::int64_t available, std::int64_t wanted) {
  return make_reason(Errc::payment_required, "insufficient_funds",
                     fmt::format("the balance does not cover this: {} micro-units available, "
                                 "{} needed",
                                 available, wanted));
}

Hold hold_from_row(const storage::Row& r) {
  Hold h;
  h.id = r.text("id");
  h.tenant_id = r.text("tenant_id");
  h.user_id = r.text("user_id");
  h.amount_micros = r.integer("amount");
  h.state = r.text("state");
  h.kind = r.text("kind");
  h.reference = r.text("reference");
  h.expires_at = r.integer("expires_at");
  h.created_at = r.integer("created_at");
  h.txn_id = r.opt_text("txn_id").value_or("");
  h.account_id = r.text("account_id");
  return h;
}

constexpr const char* kHoldColumns =
    "id, tenant_id, user_id, account_id, amount, state, kind, reference, expires_at, created_at, "
    "txn_id";

}  // namespace

const char* txn_kind_name(TxnKind k) {
  switch (k) {
    case TxnKind::topup:
      return "topup";
    case TxnKind::purchase:
      return "purchase";
    case TxnKind::rental:
      return "rental";
    case TxnKind::plan:
      return "plan";
    case TxnKind::call:
      return "call";
    case TxnKind::sms:
      return "sms";
    case TxnKind::mms:
      return "mms";
    case TxnKind::refund:
      return "refund";
    case TxnKind::adjustment:
      return "adjustment";
  }
  return "adjustment";
}

Result<std::string> Ledger::account_id(storage::Connection& tx, const std::string& tenant_id,
                                       const std::string& kind, const std::string& user_id) {
  const char* select =
      "SELECT id FROM ledger_accounts WHERE tenant_id = ? AND kind = ? AND user_id = ?";
  RH_ASSIGN(auto row, tx.query_opt(select, {tenant_id, kind, user_id}));
  if (row) return row->text("id");
  std::int64_t now = clock_.now_ms();
  // Two first postings may race to create the account: the unique key keeps
  // one, and both read it back.
  RH_TRY(tx.exec(fmt::format("{} INTO ledger_accounts (id, tenant_id, kind, user_id, balance, "
                             "held, created_at, updated_at) VALUES (?, ?, ?, ?, 0, 0, ?, ?)",
                             insert_ignore(tx)),
                 {new_id("acc", now), tenant_id, kind, user_id, now, now}));
  RH_ASSIGN(auto created, tx.query_one(select, {tenant_id, kind, user_id}));
  return created.text("id");
}

Result<std::string> Ledger::post(storage::Connection& tx, const Posting& p, bool wallet_credit,
                                 const char* counter_kind) {
  if (p.amount_micros <= 0)
    return Error(Errc::invalid_argument, "amount", "the amount must be positive");
  if (p.tenant_id.empty() || p.user_id.empty())
    return Error(Errc::internal, "a posting needs a tenant and a user");
  std::int64_t now = clock_.now_ms();
  std::string txn_id = new_id("ltx", now);
  // No transaction or posting is written before every check passed (at most
  // the empty account rows), so that a caller may swallow a refusal
  // (insufficient funds, a duplicate) and commit the rest of its transaction.
  if (!p.idempotency_key.empty()) {
    RH_ASSIGN(auto dup, tx.query_opt("SELECT id FROM ledger_txns WHERE tenant_id = ? AND "
                                     "idem_key = ?",
                                     {p.tenant_id, p.idempotency_key}));
    if (dup)
      return make_reason(Errc::conflict, "duplicate_posting",
                         "this posting was already made (" + p.idempotency_key + ")");
  }
  RH_ASSIGN(std::string wallet, account_id(tx, p.tenant_id, kWallet, p.user_id));
  RH_ASSIGN(std::string counter, account_id(tx, p.tenant_id, counter_kind, ""));

  std::int64_t delta = wallet_credit ? p.amount_micros : -p.amount_micros;
  if (wallet_credit || p.allow_negative) {
    RH_TRY(tx.exec("UPDATE ledger_accounts SET balance = balance + ?, updated_at = ? WHERE id = ?",
                   {delta, now, wallet}));
  } else {
    // The check and the change in one statement: a concurrent spend either
    // sees this one's result or waits for it (row lock; SQLite has one writer).
    RH_ASSIGN(auto upd, tx.exec("UPDATE ledger_accounts SET balance = balance - ?, updated_at = ? "
                                "WHERE id = ? AND balance - held >= ?",
                                {p.amount_micros, now, wallet, p.amount_micros}));
    if (upd.affected == 0) {
      RH_ASSIGN(auto cur, tx.query_one(kBalanceOf, {wallet}));
      return insufficient(cur.integer("balance") - cur.integer("held"), p.amount_micros);
    }
  }
  Value idem = p.idempotency_key.empty() ? Value{} : Value{p.idempotency_key};
  auto inserted = tx.exec(
      "INSERT INTO ledger_txns (id, tenant_id, kind, reference, memo, actor, idem_key, "
      "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      {txn_id, p.tenant_id, txn_kind_name(p.kind), p.reference.substr(0, 64), p.memo.substr(0, 500),
       p.actor.substr(0, 64), idem, now});
  if (!inserted) {
    // A concurrent duplicate got in first: the balance change above must be
    // rolled back, so this is not a refusal a caller may swallow.
    if (inserted.error().code == Errc::conflict)
      return Error(Errc::unavailable, "a concurrent posting with the same key; retry");
    return inserted.take_error();
  }
  RH_ASSIGN(auto after, tx.query_one(kBalanceOf, {wallet}));
  std::int64_t balance_after = after.integer("balance");
  // System accounts keep no running total (it would make one hot row of every
  // spend in a tenant); their balances are sums.
  RH_TRY(
      tx.exec("INSERT INTO ledger_postings (txn_id, account_id, amount, balance_after, "
              "created_at) VALUES (?, ?, ?, ?, ?), (?, ?, ?, NULL, ?)",
              {txn_id, wallet, delta, balance_after, now, txn_id, counter, -delta, now}));

  std::int64_t threshold = o_.low_balance_micros;
  std::int64_t available_after = balance_after - after.integer("held");
  // The row lock held since the UPDATE means nothing else moved it: before
  // this posting the available balance differed by exactly its amount.
  std::int64_t available_before = available_after - delta;
  if (!wallet_credit && threshold > 0 && available_before >= threshold &&
      available_after < threshold) {
    boost::json::object payload{{"user_id", p.user_id},
                                {"balance_micros", balance_after},
                                {"available_micros", available_after},
                                {"threshold_micros", threshold},
                                {"transaction_id", txn_id}};
    RH_TRY(jobs::append_event(
        tx, {"balance.low", p.tenant_id, p.user_id, boost::json::serialize(payload), p.user_id},
        now));
  }
  return txn_id;
}

Result<std::string> Ledger::credit(storage::Connection& tx, const Posting& p) {
  const char* counter = p.kind == TxnKind::topup        ? "funding"
                        : p.kind == TxnKind::adjustment ? "adjustments"
                                                        : "revenue";
  return post(tx, p, true, counter);
}

Result<std::string> Ledger::debit(storage::Connection& tx, const Posting& p) {
  const char* counter = p.kind == TxnKind::adjustment ? "adjustments"
                        : p.kind == TxnKind::topup    ? "funding"
                                                      : "revenue";
  return post(tx, p, false, counter);
}

Result<Hold> Ledger::place_hold(storage::Connection& tx, const std::string& tenant_id,
                                const std::string& user_id, std::int64_t amount_micros,
                                const std::string& kind, const std::string& reference,
                                std::int64_t expires_at) {
  if (amount_micros < 0) return Error(Errc::invalid_argument, "a hold cannot be negative");
  std::int64_t now = clock_.now_ms();
  RH_ASSIGN(std::string wallet, account_id(tx, tenant_id, kWallet, user_id));
  RH_ASSIGN(auto upd, tx.exec("UPDATE ledger_accounts SET held = held + ?, updated_at = ? "
                              "WHERE id = ? AND balance - held >= ?",
                              {amount_micros, now, wallet, amount_micros}));
  if (upd.affected == 0) {
    RH_ASSIGN(auto cur, tx.query_one(kBalanceOf, {wallet}));
    return insufficient(cur.integer("balance") - cur.integer("held"), amount_micros);
  }
  Hold h;
  h.id = new_id("hld", now);
  h.tenant_id = tenant_id;
  h.user_id = user_id;
  h.amount_micros = amount_micros;
  h.state = "open";
  h.kind = kind.substr(0, 16);
  h.reference = reference.substr(0, 64);
  h.expires_at = expires_at;
  h.created_at = now;
  h.account_id = wallet;
  RH_TRY(tx.exec(fmt::format("INSERT INTO ledger_holds ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                             "NULL)",
                             kHoldColumns),
                 {h.id, tenant_id, user_id, wallet, amount_micros, h.state, h.kind, h.reference,
                  expires_at, now}));
  return h;
}

Result<Hold> Ledger::get_hold(storage::Connection& c, const std::string& hold_id) {
  RH_ASSIGN(auto row,
            c.query_opt(fmt::format("SELECT {} FROM ledger_holds WHERE id = ?", kHoldColumns),
                        {hold_id}));
  if (!row) return Error(Errc::not_found, "no such hold");
  return hold_from_row(*row);
}

Result<Hold> Ledger::settle_hold(storage::Connection& tx, const std::string& hold_id,
                                 std::int64_t actual_micros, TxnKind kind,
                                 const std::string& memo) {
  RH_ASSIGN(Hold h, get_hold(tx, hold_id));
  if (h.state == "settled") return h;
  if (h.state != "open")
    return make_reason(Errc::precondition, "hold_closed", "the hold was " + h.state);
  if (actual_micros < 0 || actual_micros > h.amount_micros)
    return Error(
        Errc::invalid_argument,
        fmt::format("a settlement must be between 0 and the held {} micro-units", h.amount_micros));
  RH_ASSIGN(bool claimed, close_hold(tx, h, "settled"));
  if (!claimed) return get_hold(tx, hold_id);
  if (actual_micros > 0) {
    Posting p;
    p.kind = kind;
    p.tenant_id = h.tenant_id;
    p.user_id = h.user_id;
    p.amount_micros = actual_micros;
    p.reference = h.reference;
    p.memo = memo;
    p.actor = "system";
    p.allow_negative = true;  // the money was reserved for this
    RH_ASSIGN(h.txn_id, debit(tx, p));
    RH_TRY(tx.exec("UPDATE ledger_holds SET txn_id = ? WHERE id = ?", {h.txn_id, hold_id}));
  }
  h.state = "settled";
  return h;
}

Result<bool> Ledger::close_hold(storage::Connection& tx, const Hold& h, const char* state) {
  // The state change claims the hold: of two closers, one sees 0 rows.
  RH_ASSIGN(auto claimed, tx.exec("UPDATE ledger_holds SET state = ? WHERE id = ? AND state = "
                                  "'open'",
                                  {state, h.id}));
  if (claimed.affected == 0) return false;
  RH_TRY(tx.exec("UPDATE ledger_accounts SET held = held - ?, updated_at = ? WHERE id = ?",
                 {h.amount_micros, clock_.now_ms(), h.account_id}));
  return true;
}

Result<Hold> Ledger::release_hold(storage::Connection& tx, const std::string& hold_id) {
  RH_ASSIGN(Hold h, get_hold(tx, hold_id));
  if (h.state == "released" || h.state == "expired") return h;
  if (h.state != "open")
    return make_reason(Errc::precondition, "hold_closed", "the hold was " + h.state);
  RH_ASSIGN(bool claimed, close_hold(tx, h, "released"));
  if (!claimed) return get_hold(tx, hold_id);
  h.state = "released";
  return h;
}

Result<int> Ledger::expire_holds(storage::Connection& tx, int limit) {
  RH_ASSIGN(auto rows, tx.query(fmt::format("SELECT {} FROM ledger_holds WHERE state = 'open' AND "
                                            "expires_at <= ? ORDER BY expires_at LIMIT {}",
                                            kHoldColumns, limit),
                                {clock_.now_ms()}));
  int n = 0;
  for (const auto& r : rows) {
    RH_ASSIGN(bool claimed, close_hold(tx, hold_from_row(r), "expired"));
    n += claimed ? 1 : 0;
  }
  return n;
}

Result<Balance> Ledger::balance(storage::Connection& c, const UserScope& user) {
  RH_ASSIGN(auto row, c.query_opt("SELECT balance, held FROM ledger_accounts WHERE tenant_id = ? "
                                  "AND kind = 'wallet' AND user_id = ?",
                                  {user.tenant_id, user.user_id}));
  Balance b;
  if (row) {
    b.balance_micros = row->integer("balance");
    b.held_micros = row->integer("held");
  }
  return b;
}

Result<std::vector<LedgerEntry>> Ledger::entries(storage::Connection& c, const UserScope& user,
                                                 const std::string& after, int limit) {
  RH_ASSIGN(auto acc, c.query_opt("SELECT id FROM ledger_accounts WHERE tenant_id = ? AND kind = "
                                  "'wallet' AND user_id = ?",
                                  {user.tenant_id, user.user_id}));
  std::vector<LedgerEntry> out;
  if (!acc) {
    if (!after.empty()) return Error(Errc::invalid_argument, "after", "unknown cursor");
    return out;
  }
  std::string account = acc->text("id");
  std::int64_t before_seq = INT64_MAX;
  if (!after.empty()) {
    RH_ASSIGN(auto cur, c.query_opt("SELECT seq FROM ledger_postings WHERE txn_id = ? AND "
                                    "account_id = ?",
                                    {after, account}));
    if (!cur) return Error(Errc::invalid_argument, "after", "unknown cursor");
    before_seq = cur->integer("seq");
  }
  RH_ASSIGN(auto rows,
            c.query(fmt::format("SELECT p.amount, p.balance_after, t.id, t.kind, t.reference, "
                                "t.memo, t.created_at FROM ledger_postings p JOIN ledger_txns t "
                                "ON t.id = p.txn_id WHERE p.account_id = ? AND p.seq < ? ORDER BY "
                                "p.seq DESC LIMIT {}",
                                limit),
                    {account, before_seq}));
  for (const auto& r : rows) {
    LedgerEntry e;
    e.id = r.text("id");
    e.kind = r.text("kind");
    e.amount_micros = r.integer("amount");
    e.balance_after_micros = r.integer("balance_after");
    e.reference = r.text("reference");
    e.memo = r.opt_text("memo").value_or("");
    e.created_at = r.integer("created_at");
    out.push_back(std::move(e));
  }
  return out;
}

Result<Ledger::Audit> Ledger::audit(storage::Connection& c, const std::string& tenant_id) {
  Audit a;
  RH_ASSIGN(auto sum, c.query_one("SELECT COALESCE(SUM(p.amount), 0) AS n FROM ledger_postings p "
                                  "JOIN ledger_accounts a ON a.id = p.account_id WHERE "
                                  "a.tenant_id = ?",
                                  {tenant_id}));
  a.sum_micros = sum.integer("n");
  RH_ASSIGN(auto rows,
            c.query("SELECT a.id, a.balance, a.held, (SELECT COALESCE(SUM(p.amount), 0) FROM "
                    "ledger_postings p WHERE p.account_id = a.id) AS total, (SELECT "
                    "COALESCE(SUM(h.amount), 0) FROM ledger_holds h WHERE h.account_id = a.id AND "
                    "h.state = 'open') AS open_holds FROM ledger_accounts a WHERE a.tenant_id = ? "
                    "AND a.kind = 'wallet'",
                    {tenant_id}));
  for (const auto& r : rows)
    if (r.integer("balance") != r.integer("total") || r.integer("held") != r.integer("open_holds"))
      a.mismatched_accounts.push_back(r.text("id"));
  return a;
}

std::vector<storage::Migration> ledger_migrations() {
  return {{2026112602, "ledger", R"SQL(
CREATE TABLE ledger_accounts (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  user_id VARCHAR(40) NOT NULL,
  balance BIGINT NOT NULL,
  held BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
){{table}};
CREATE UNIQUE INDEX ledger_accounts_owner ON ledger_accounts (tenant_id, kind, user_id);
CREATE TABLE ledger_txns (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  reference VARCHAR(64) NOT NULL,
  memo VARCHAR(500) NOT NULL,
  actor VARCHAR(64) NOT NULL,
  idem_key VARCHAR(128),
  created_at BIGINT NOT NULL
){{table}};
CREATE UNIQUE INDEX ledger_txns_idem ON ledger_txns (tenant_id, idem_key);
CREATE INDEX ledger_txns_reference ON ledger_txns (tenant_id, reference);
CREATE TABLE ledger_postings (
  seq {{id_pk}},
  txn_id VARCHAR(40) NOT NULL,
  account_id VARCHAR(40) NOT NULL,
  amount BIGINT NOT NULL,
  balance_after BIGINT,
  created_at BIGINT NOT NULL
){{table}};
CREATE INDEX ledger_postings_account ON ledger_postings (account_id, seq);
CREATE INDEX ledger_postings_txn ON ledger_postings (txn_id);
CREATE TABLE ledger_holds (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  user_id VARCHAR(40) NOT NULL,
  account_id VARCHAR(40) NOT NULL,
  amount BIGINT NOT NULL,
  state VARCHAR(16) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  reference VARCHAR(64) NOT NULL,
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  txn_id VARCHAR(40)
){{table}};
CREATE INDEX ledger_holds_open ON ledger_holds (state, expires_at);
CREATE INDEX ledger_holds_account ON ledger_holds (account_id, state)
)SQL"}};
}

void declare_billing_config(config::Schema& s) {
  s.integer("billing.low_balance_micros", 1'000'000,
            "A balance.low event is written when a debit takes a wallet's available balance "
            "below this (micro-units of the tenant's currency; 0: never).",
            0, 1'000'000'000'000);
  s.integer("billing.renewal_period_s", 30 * 86'400,
            "Billing period of number rentals and plans (seconds).", 60, 366 * 86'400);
  s.integer("billing.grace_s", 7 * 86'400,
            "After a failed renewal, a number or plan keeps working this long before it is "
            "suspended.",
            0, 90 * 86'400);
  s.integer("billing.suspended_s", 14 * 86'400,
            "A suspended number is released (to aging), and a suspended plan cancelled, after "
            "this long unpaid.",
            0, 365 * 86'400);
  s.integer("billing.sweep_interval_s", 60, "Interval of the plan renewal job (billing.plans).", 1,
            3600);
  s.secret("billing.payment_webhook_secret",
           "Signing secret of the payment provider's webhook (Stripe-style, whsec_...). Empty: "
           "POST /hooks/payments answers 404.");
}

LedgerOptions ledger_options(const config::Config& c) {
  LedgerOptions o;
  o.low_balance_micros = c.integer("billing.low_balance_micros");
  return o;
}

}  // namespace rh::billing
