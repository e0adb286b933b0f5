// NumberService on both drivers with a fake clock and an in-process
// provider: what depends on time (renewal, grace, suspension, release,
// quarantine) and the provider order paths (pending then complete through
// the order job, failure refunds, a crash between reserving and ordering).
// The carriers' real wire formats are tested against their contract fakes
// in providers_test.cpp and the e2e tests.
#include "numbers/service.hpp"

#include <gtest/gtest.h>

#include "accounts/auth.hpp"
#include "accounts/mail.hpp"
#include "accounts/tenants.hpp"
#include "accounts/users.hpp"
#include "core/money.hpp"
#include "jobs/outbox.hpp"
#include "unit/unit_db.hpp"

namespace rh::numbers {
namespace {

// A provider whose answers the test scripts.
class ScriptedProvider final : public NumberProvider {
 public:
  explicit ScriptedProvider(std::string name) : name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  Result<std::vector<AvailableNumber>> search(const SearchQuery& q) override {
    std::vector<AvailableNumber> out;
    for (const auto& e : stock)
      if (q.contains.empty() || e.find(q.contains) != std::string::npos) {
        AvailableNumber a;
        a.e164 = e;
        a.provider = name_;
        a.features = {"sms", "voice"};
        a.country = "US";
        a.monthly_micros = 1'000'000;
        a.upfront_micros = 500'000;
        out.push_back(a);
      }
    return out;
  }
  Result<ProviderOrder> order(const std::string& e164, const std::string& ref) override {
    ++orders;
    last_ref = ref;
    if (order_error) return *order_error;
    return ProviderOrder{"po-" + e164, first_status, "pn-" + e164, ""};
  }
  Result<ProviderOrder> order_status(const std::string& id) override {
    ++polls;
    return ProviderOrder{id, poll_status, "pn-x", poll_status == "failed" ? "no stock" : ""};
  }
  Status release(const std::string& e164, const std::string&) override {
    released.push_back(e164);
    return {};
  }
  std::vector<std::string> stock{"+12125550100", "+12125550101"};
  std::string first_status = "complete", poll_status = "pending", last_ref;
  std::optional<Error> order_error;
  int orders = 0, polls = 0;
  std::vector<std::string> released;

 private:
  std::string name_;
};

class NumberServiceTest : public unit::MigratedDbTest {
 protected:
  void SetUp() override {
    unit::MigratedDbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    tenants_ = std::make_unique<accounts::TenantStore>(db(), clock_);
    accounts::TenantInput in;
    in.slug = "t";
    in.name = "T";
    auto t = tenants_->create(in, true);
    ASSERT_TRUE(t) << t.error().message;
    tenant_ = t->id;
    queue_ = std::make_unique<jobs::JobQueue>(db(), clock_, jobs::QueueOptions{});
    accounts::AuthOptions ao;
    ao.token_key = std::string(32, 'k');
    ao.data_key = std::string(32, 'd');
    auth_ = std::make_unique<accounts::AuthService>(db(), *queue_, clock_, ao, cache_);
    users_ = std::make_unique<accounts::UserStore>(db(), clock_, &cache_);
    auto h = auth_->hash_password("password for the test user");
    ASSERT_TRUE(h);
    auto u = auth_->create_user(tenant_, "owner@example.com", *h, Role::user, "");
    ASSERT_TRUE(u) << u.error().message;
    user_ = {tenant_, u->id};
    ledger_ = std::make_unique<billing::Ledger>(clock_, billing::LedgerOptions{});
    inv_ = std::make_unique<Inventory>(db(), clock_);
    registry_ = std::make_unique<ProviderRegistry>(db(), clock_, std::string(32, 'd'));
    provider_ = std::make_shared<ScriptedProvider>("telnyx");
    registry_->set_factory(
        [p = provider_](const ProviderConfig&) -> Result<std::unique_ptr<NumberProvider>> {
          // A thin forwarder, so that the test keeps its handle on the script.
          struct Fwd final : NumberProvider {
            std::shared_ptr<ScriptedProvider> p;
            const std::string& name() const override { return p->name(); }
            Result<std::vector<AvailableNumber>> search(const SearchQuery& q) override {
              return p->search(q);
            }
            Result<ProviderOrder> order(const std::string& e, const std::string& r) override {
              return p->order(e, r);
            }
            Result<ProviderOrder> order_status(const std::string& i) override {
              return p->order_status(i);
            }
            Status release(const std::string& e, const std::string& i) override {
              return p->release(e, i);
            }
          };
          auto f = std::make_unique<Fwd>();
          f->p = p;
          return std::unique_ptr<NumberProvider>(std::move(f));
        });
    NumbersOptions o;
    o.order_wait_ms = 0;  // the fake clock does not move: answer at once
    o.renewal_period_s = 30 * 86400;
    o.grace_s = 86400;
    o.suspended_s = 2 * 86400;
    o.aging_s = 3 * 86400;
    svc_ = std::make_unique<NumberService>(*inv_, *registry_, *ledger_, *queue_, *tenants_, *users_,
                                           clock_, o);
  }

  void credit(const std::string& amount) {
    auto m = money::parse_micros(amount);
    ASSERT_TRUE(m);
    auto t = db().in_transaction<std::string>([&](storage::Connection& c) {
      billing::Posting p;
      p.kind = billing::TxnKind::topup;
      p.tenant_id = tenant_;
      p.user_id = user_.user_id;
      p.amount_micros = *m;
      p.actor = "test";
      return ledger_->credit(c, p);
    });
    ASSERT_TRUE(t) << t.error().message;
  }
  billing::Balance balance() {
    auto b = db().read<billing::Balance>(
        [&](storage::Connection& c) { return ledger_->balance(c, user_); });
    EXPECT_TRUE(b);
    return b ? *b : billing::Balance{};
  }
  Number number(const std::string& id) {
    auto n = inv_->get(TenantScope{}, id);
    EXPECT_TRUE(n) << n.error().message;
    return n ? *n : Number{};
  }
  std::int64_t events(const std::string& type) {
    return scalar("SELECT COUNT(*) AS n FROM events WHERE type = ?", {type});
  }
  std::int64_t emails(const std::string& kind) {
    return scalar("SELECT COUNT(*) AS n FROM emails WHERE kind = ?", {kind});
  }
  void import_local(const std::string& monthly) {
    auto r = inv_->import_csv(
        {tenant_, "US"},
        "number,trunk,messaging_route,monthly_price\n+14155550100,t,m," + monthly + "\n");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->imported, 1);
  }
  void enable_provider() {
    auto v = registry_->configure(
        tenant_, "telnyx", true,
        {{"api_key", "k"}, {"connection_id", "c"}, {"messaging_profile_id", "m"}});
    ASSERT_TRUE(v) << v.error().message;
  }

  std::string tenant_;
  UserScope user_;
  accounts::SessionCache cache_{1000};
  std::unique_ptr<accounts::TenantStore> tenants_;
  std::unique_ptr<jobs::JobQueue> queue_;
  std::unique_ptr<accounts::AuthService> auth_;
  std::unique_ptr<accounts::UserStore> users_;
  std::unique_ptr<billing::Ledger> ledger_;
  std::unique_ptr<Inventory> inv_;
  std::unique_ptr<ProviderRegistry> registry_;
  std::shared_ptr<ScriptedProvider> provider_;
  std::unique_ptr<NumberService> svc_;
};
RH_ON_BOTH_DRIVERS(NumberServiceTest);

constexpr std::int64_t kDay = 86'400'000;

TEST_P(NumberServiceTest, UnpaidRenewalGoesThroughGraceSuspensionReleaseAndQuarantine) {
  import_local("2.00");
  credit("3.00");
  auto o = svc_->purchase(user_, {"+14155550100", "", "Home", "k1"});
  ASSERT_TRUE(o) << o.error().message;
  ASSERT_EQ(o->state, "complete");
  std::string id = o->number_id;
  EXPECT_EQ(balance().balance_micros, 1'000'000);

  // First renewal is due after 30 days: the balance (1.00) does not cover 2.00.
  clock_.advance_ms(30 * kDay);
  ASSERT_TRUE(svc_->sweep());
  EXPECT_EQ(number(id).state, "active");
  EXPECT_NE(number(id).grace_until, 0);
  EXPECT_EQ(events("number.renewal_failed"), 1);
  EXPECT_EQ(emails("number.renewal_failed"), 1);
  ASSERT_TRUE(svc_->sweep());  // told once
  EXPECT_EQ(emails("number.renewal_failed"), 1);

  // Grace over: suspended.
  clock_.advance_ms(kDay + 1);
  ASSERT_TRUE(svc_->sweep());
  EXPECT_EQ(number(id).state, "suspended");
  EXPECT_EQ(events("number.suspended"), 1);
  EXPECT_EQ(emails("number.suspended"), 1);

  // Paying brings it back, charged once for the period.
  credit("1.00");
  ASSERT_TRUE(svc_->sweep());
  EXPECT_EQ(number(id).state, "active");
  EXPECT_EQ(balance().balance_micros, 0);
  EXPECT_EQ(events("number.reactivated"), 1);
  ASSERT_TRUE(svc_->sweep());
  EXPECT_EQ(balance().balance_micros, 0);

  // The next period lapses all the way: grace, suspension, release.
  clock_.advance_ms(30 * kDay);
  ASSERT_TRUE(svc_->sweep());
  clock_.advance_ms(kDay + 1);
  ASSERT_TRUE(svc_->sweep());
  EXPECT_EQ(number(id).state, "suspended");
  clock_.advance_ms(2 * kDay + 1);
  ASSERT_TRUE(svc_->sweep());
  EXPECT_EQ(number(id).state, "releasing");
  EXPECT_EQ(events("number.lapsed"), 1);
  EXPECT_EQ(emails("number.lapsed"), 1);
  ASSERT_TRUE(svc_->finish_release(id));
  EXPECT_EQ(number(id).state, "aging");
  EXPECT_TRUE(number(id).user_id.empty());

  // Quarantined: not offered, not buyable; then back in the pool.
  SearchQuery q;
  auto s = svc_->search(tenant_, q);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->numbers.empty());
  clock_.advance_ms(3 * kDay + 1);
  ASSERT_TRUE(svc_->sweep());
  EXPECT_EQ(number(id).state, "available");
  s = svc_->search(tenant_, q);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->numbers.size(), 1u);

  auto audit = db().read<billing::Ledger::Audit>(
      [&](storage::Connection& c) { return ledger_->audit(c, tenant_); });
  ASSERT_TRUE(audit);
  EXPECT_EQ(audit->sum_micros, 0);
  EXPECT_TRUE(audit->mismatched_accounts.empty());
}

TEST_P(NumberServiceTest, ProviderOrderPendingThenCompleteThroughTheJob) {
  enable_provider();
  credit("5.00");
  provider_->first_status = "pending";
  auto o = svc_->purchase(user_, {"+12125550100", "telnyx", "", "k1"});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->state, "pending");
  EXPECT_EQ(provider_->last_ref, o->id);
  // The money is held, not spent; the number is reserved.
  EXPECT_EQ(balance().held_micros, 1'500'000);
  EXPECT_EQ(number(o->number_id).state, "reserved");
  ASSERT_FALSE(svc_->finish_order(o->id, false));  // still pending: the job retries
  provider_->poll_status = "complete";
  ASSERT_TRUE(svc_->finish_order(o->id, false));
  auto done = svc_->get_order(user_, o->id);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, "complete");
  EXPECT_EQ(number(o->number_id).state, "active");
  EXPECT_EQ(number(o->number_id).provider_ref, "pn-x");
  EXPECT_EQ(balance().balance_micros, 3'500'000);
  EXPECT_EQ(balance().held_micros, 0);
  // Replaying the key answers the completed order.
  auto again = svc_->purchase(user_, {"+12125550100", "telnyx", "", "k1"});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, o->id);
  EXPECT_EQ(again->state, "complete");
  EXPECT_EQ(provider_->orders, 1);
}

TEST_P(NumberServiceTest, FailedProviderOrdersRefundAndLeaveNothingBehind) {
  enable_provider();
  credit("5.00");
  provider_->first_status = "pending";
  provider_->poll_status = "failed";
  auto o = svc_->purchase(user_, {"+12125550100", "telnyx", "", "k1"});
  ASSERT_TRUE(o);
  ASSERT_TRUE(svc_->finish_order(o->id, false));
  auto done = svc_->get_order(user_, o->id);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, "failed");
  EXPECT_EQ(done->error.reason, "provider_order_failed");
  EXPECT_EQ(balance().balance_micros, 5'000'000);
  EXPECT_EQ(balance().held_micros, 0);
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM numbers"), 0);
  // The same key replays the failure; a new key may try again.
  auto replay = svc_->purchase(user_, {"+12125550100", "telnyx", "", "k1"});
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->state, "failed");

  // An order refused outright (number gone) refunds at once.
  provider_->order_error = make_reason(Errc::conflict, "number_unavailable", "gone");
  auto refused = svc_->purchase(user_, {"+12125550101", "telnyx", "", "k2"});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->state, "failed");
  EXPECT_EQ(refused->error.reason, "number_unavailable");
  EXPECT_EQ(balance().available_micros(), 5'000'000);
}

TEST_P(NumberServiceTest, AnOrderInterruptedBeforeTheProviderIsFinishedByTheJob) {
  enable_provider();
  credit("5.00");
  // What a crash between the first transaction and the provider call leaves.
  provider_->order_error = Error(Errc::unavailable, "connection reset");
  auto o = svc_->purchase(user_, {"+12125550100", "telnyx", "", "k1"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->state, "failed");  // a provider error during the request fails it cleanly
  // Simulate the crash: a pending order with no provider order id.
  provider_->order_error.reset();
  auto o2 = svc_->purchase(user_, {"+12125550101", "telnyx", "", "k2"});
  ASSERT_TRUE(o2);
  ASSERT_EQ(o2->state, "complete");
  ASSERT_TRUE(exec(
      "UPDATE number_orders SET state = 'pending', provider_order_id = '' WHERE id = ?", {o2->id}));
  // finish_order places the order (same reference) and completes it once.
  ASSERT_TRUE(svc_->finish_order(o2->id, false));
  EXPECT_EQ(provider_->orders, 3);
  EXPECT_EQ(provider_->last_ref, o2->id);
}

TEST_P(NumberServiceTest, ProviderSettingsAreSealedAndRequiredKeysChecked) {
  auto missing = registry_->configure(tenant_, "telnyx", true, {{"api_key", "secret-key"}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::invalid_argument);
  enable_provider();
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM number_providers WHERE settings LIKE '%k%' AND "
                   "settings LIKE '%api_key%'"),
            0);
  auto list = registry_->list(tenant_);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE(list->at(0).enabled);
  EXPECT_EQ(list->at(0).keys.size(), 3u);
  EXPECT_FALSE(registry_->configure(tenant_, "nope", true, {}));
}

}  // namespace
}  // namespace rh::numbers
