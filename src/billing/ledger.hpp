// The ledger: every balance change is a transaction of double-entry postings
// (their amounts sum to zero) in integer micro-units of the tenant's
// currency. Each user has a wallet account; each tenant has system accounts
// that money comes from and goes to:
//   funding     money paid in (top-ups); goes negative as users pay in
//   revenue     what users spent (purchases, rentals, calls, messages)
//   adjustments manual credits and debits by staff
// A wallet's balance is the sum of its postings; the account row keeps it as
// a running total written only together with the postings (and each posting
// records the balance after it), so that a spend can be checked and applied
// with one conditional UPDATE: no two concurrent spends can overdraw, on
// either driver. Holds reserve part of a balance for work in flight (a call,
// a message, a number order) and are settled for the actual amount or
// released.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/principal.hpp"
#include "core/result.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"

namespace rh::billing {

// What caused a transaction.
enum class TxnKind { topup, purchase, rental, plan, call, sms, mms, refund, adjustment };
const char* txn_kind_name(TxnKind k);

struct Balance {
  std::int64_t balance_micros = 0;  // sum of postings
  std::int64_t held_micros = 0;     // reserved by open holds
  std::int64_t available_micros() const { return balance_micros - held_micros; }
};

// A user's view of one transaction on their wallet.
struct LedgerEntry {
  std::string id;  // ltx_...: the transaction
  std::string kind;
  std::int64_t amount_micros = 0;  // + credit, - debit, on the wallet
  std::int64_t balance_after_micros = 0;
  std::string reference;  // what caused it ("num_...", "evt_...", "hld_...")
  std::string memo;
  std::int64_t created_at = 0;
};

struct Posting {
  TxnKind kind = TxnKind::adjustment;
  std::string tenant_id;
  std::string user_id;
  std::int64_t amount_micros = 0;  // > 0
  std::string reference;
  std::string memo;
  std::string actor;  // who did it (a staff user id, "operator", "system")
  // When set, a second posting with the same key in the tenant is refused
  // with conflict (reason "duplicate_posting"): exactly-once credits for
  // payment events, renewals of one period, ...
  std::string idempotency_key;
  // Debits only: allow the balance to go below zero (a staff correction).
  bool allow_negative = false;
};

struct Hold {
  std::string id;  // hld_...
  std::string tenant_id;
  std::string user_id;
  std::int64_t amount_micros = 0;
  std::string state;  // open | settled | released | expired
  std::string kind;   // what it is for: "call", "sms", "purchase", ...
  std::string reference;
  std::int64_t expires_at = 0;
  std::int64_t created_at = 0;
  std::string txn_id;      // the settlement transaction
  std::string account_id;  // the wallet's ledger account
};

struct LedgerOptions {
  // A balance.low event is written when a debit takes the available
  // balance from at least this to below it (0 disables).
  std::int64_t low_balance_micros = 1'000'000;
};

class Ledger {
 public:
  Ledger(const Clock& clock, LedgerOptions o) : clock_(clock), o_(o) {}

  // Postings inside the caller's transaction. They return the transaction id.
  // Wallet += amount; counter-account: funding (topup), revenue (refund),
  // adjustments (adjustment).
  Result<std::string> credit(storage::Connection& tx, const Posting& p);
  // Wallet -= amount when the available balance covers it, else
  // payment_required with reason "insufficient_funds"; counter-account revenue
  // (spends) or adjustments (adjustment).
  Result<std::string> debit(storage::Connection& tx, const Posting& p);

  // Reserves amount of the available balance (insufficient_funds when it
  // does not fit). expires_at: when a sweep releases it if nobody settled it.
  Result<Hold> place_hold(storage::Connection& tx, const std::string& tenant_id,
                          const std::string& user_id, std::int64_t amount_micros,
                          const std::string& kind, const std::string& reference,
                          std::int64_t expires_at);
  // Charges actual_micros (at most the held amount) as a `kind` debit and
  // frees the hold; 0 just frees it. An already settled hold answers its
  // settlement again (idempotent); a released or expired one is precondition.
  Result<Hold> settle_hold(storage::Connection& tx, const std::string& hold_id,
                           std::int64_t actual_micros, TxnKind kind, const std::string& memo);
  // Frees the hold without charging. Idempotent for released holds.
  Result<Hold> release_hold(storage::Connection& tx, const std::string& hold_id);
  Result<Hold> get_hold(storage::Connection& c, const std::string& hold_id);
  // Releases open holds past their expiry; returns how many.
  Result<int> expire_holds(storage::Connection& tx, int limit = 500);

  Result<Balance> balance(storage::Connection& c, const UserScope& user);
  // Newest first; after: a transaction id from a previous page.
  Result<std::vector<LedgerEntry>> entries(storage::Connection& c, const UserScope& user,
                                           const std::string& after, int limit);
  // Sum of all postings of a tenant (must be 0) and wallets whose running
  // total disagrees with their postings: an integrity check for tests and
  // `ringhouse admin check-ledger`.
  struct Audit {
    std::int64_t sum_micros = 0;
    std::vector<std::string> mismatched_accounts;
  };
  Result<Audit> audit(storage::Connection& c, const std::string& tenant_id);

  const LedgerOptions& options() const { return o_; }

 private:
  Result<std::string> post(storage::Connection& tx, const Posting& p, bool wallet_credit,
                           const char* counter_kind);
  // open -> state, giving the held amount back to the wallet; false when
  // the hold was no longer open (someone else closed it).
  Result<bool> close_hold(storage::Connection& tx, const Hold& h, const char* state);
  Result<std::string> account_id(storage::Connection& tx, const std::string& tenant_id,
                                 const std::string& kind, const std::string& user_id);

  const Clock& clock_;
  LedgerOptions o_;
};

std::vector<storage::Migration> ledger_migrations();

// billing.* settings: the low-balance threshold, the payment webhook secret.
void declare_billing_config(config::Schema& s);
LedgerOptions ledger_options(const config::Config& c);

}  // namespace rh::billing
