// AuthService on both drivers with a fake clock: what depends on time
// (lock-outs ending, links and tokens expiring, sessions' absolute life) and
// the scoping of every per-user call.
#include "accounts/auth.hpp"

#include <gtest/gtest.h>

#include "accounts/tenants.hpp"
#include "accounts/users.hpp"
#include "jobs/job_queue.hpp"
#include "unit/unit_db.hpp"

namespace rh::accounts {

class AuthServiceTest : public unit::MigratedDbTest {
 protected:
  void SetUp() override {
    unit::MigratedDbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    TenantStore tenants(db(), clock_);
    TenantInput in;
    in.slug = "t";
    in.name = "T";
    auto t = tenants.create(in, true);
    ASSERT_TRUE(t) << t.error().message;
    tenant_ = t->id;
    TenantInput in2;
    in2.slug = "other";
    in2.name = "Other";
    auto t2 = tenants.create(in2);
    ASSERT_TRUE(t2) << t2.error().message;
    other_tenant_ = t2->id;
    queue_ = std::make_unique<jobs::JobQueue>(db(), clock_, jobs::QueueOptions{});
    AuthOptions o;
    o.token_key = std::string(32, 'k');
    o.data_key = std::string(32, 'd');
    o.max_failures_per_account = 2;
    o.max_failures_per_ip = 100;
    o.lockout_s = 60;
    o.failure_window_s = 900;
    o.refresh_ttl_s = 3600;
    o.session_max_age_s = 3 * 3600;
    auth_ = std::make_unique<AuthService>(db(), *queue_, clock_, o, cache_);
  }

  User make_user(const std::string& email, const std::string& tenant = {}) {
    auto h = auth_->hash_password("password " + email);
    EXPECT_TRUE(h);
    auto u = auth_->create_user(tenant.empty() ? tenant_ : tenant, email, *h, Role::user, "");
    EXPECT_TRUE(u) << u.error().message;
    return *u;
  }

  Result<Tokens> login(const std::string& email, const std::string& password) {
    RH_ASSIGN(LoginCandidate c, auth_->begin_login(tenant_, email, "10.0.0.1"));
    bool ok = auth_->check_password(c, password);
    LoginInput in;
    in.tenant_id = tenant_;
    in.email = email;
    in.password = password;
    in.client = {"10.0.0.1", "test"};
    return auth_->finish_login(c, ok, in);
  }

  std::string tenant_, other_tenant_;
  std::unique_ptr<jobs::JobQueue> queue_;
  SessionCache cache_{1000};
  std::unique_ptr<AuthService> auth_;
};
RH_ON_BOTH_DRIVERS(AuthServiceTest);

TEST_P(AuthServiceTest, LockOutEndsAfterItsTime) {
  make_user("a@example.com");
  EXPECT_EQ(login("a@example.com", "wrong").error().code, Errc::unauthorized);
  EXPECT_EQ(login("a@example.com", "wrong").error().code, Errc::unauthorized);
  auto locked = login("a@example.com", "password a@example.com");
  ASSERT_FALSE(locked);
  EXPECT_EQ(locked.error().code, Errc::too_many);
  EXPECT_EQ(locked.error().retry_after_s, 60);
  clock_.advance_ms(59'000);
  EXPECT_EQ(login("a@example.com", "password a@example.com").error().retry_after_s, 1);
  clock_.advance_ms(1'000);
  EXPECT_TRUE(login("a@example.com", "password a@example.com"));
  // Further failures after the window lock again; a third in the same window doubles it.
  EXPECT_FALSE(login("a@example.com", "wrong"));
  EXPECT_FALSE(login("a@example.com", "wrong"));
  EXPECT_FALSE(login("a@example.com", "wrong"));  // refused as locked, not counted
  clock_.advance_ms(60'000);
  EXPECT_FALSE(login("a@example.com", "wrong"));  // third failure in the window
  auto again = login("a@example.com", "password a@example.com");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().retry_after_s, 120);
}

TEST_P(AuthServiceTest, RefreshTokensAndSessionsExpire) {
  make_user("b@example.com");
  auto t = login("b@example.com", "password b@example.com");
  ASSERT_TRUE(t) << t.error().message;
  // Idle for longer than a refresh token's life: the session is over.
  clock_.advance_ms(3601'000);
  auto late = auth_->refresh(t->refresh_token, {});
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, Errc::unauthorized);

  // Refreshed often, a session still ends at its absolute age.
  auto t2 = login("b@example.com", "password b@example.com");
  ASSERT_TRUE(t2);
  std::string rt = t2->refresh_token;
  int refreshed = 0;
  for (int i = 0; i < 6; ++i) {
    clock_.advance_ms(2000'000);
    auto r = auth_->refresh(rt, {});
    if (!r) break;
    ++refreshed;
    rt = r->refresh_token;
    EXPECT_LE(r->refresh_expires_in, 3600);
  }
  EXPECT_EQ(refreshed, 5) << "the session ends at 3 hours, between the 5th and 6th refresh";
}

TEST_P(AuthServiceTest, MailedLinksExpireAndWorkOnce) {
  auto h = auth_->hash_password("password c@example.com");
  ASSERT_TRUE(h);
  ASSERT_TRUE(auth_->signup(tenant_, "c@example.com", *h, "", "http://x"));
  auto token = [&](const char* kind) {
    return db().read<std::string>([&](storage::Connection& c) -> Result<std::string> {
      RH_ASSIGN(auto row,
                c.query_one("SELECT body AS text FROM emails WHERE kind = ? ORDER BY id DESC",
                            {std::string(kind)}));
      std::string text = row.text("text");
      auto at = text.find("token=");
      auto end = text.find('\n', at);
      return text.substr(at + 6, end - at - 6);
    });
  };
  auto first = token("verify_email");
  ASSERT_TRUE(first);
  clock_.advance_ms(49LL * 3600 * 1000);
  EXPECT_FALSE(auth_->verify_email(*first)) << "expired after 48 hours";
  ASSERT_TRUE(auth_->resend_verification(tenant_, "c@example.com", "http://x"));
  auto second = token("verify_email");
  ASSERT_TRUE(second);
  EXPECT_NE(*first, *second);
  auto u = auth_->verify_email(*second);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->status, "active");
  EXPECT_FALSE(auth_->verify_email(*second));
}

TEST_P(AuthServiceTest, ResetLinksAreRateLimitedPerUser) {
  make_user("r@example.com");
  auto count = [&] {
    return scalar("SELECT COUNT(*) AS n FROM emails WHERE kind = 'password_reset'");
  };
  ASSERT_TRUE(auth_->request_password_reset(tenant_, "r@example.com", "http://x"));
  ASSERT_TRUE(auth_->request_password_reset(tenant_, "R@example.com", "http://x"));
  EXPECT_EQ(count(), 1) << "a second request within a minute sends nothing";
  clock_.advance_ms(61'000);
  ASSERT_TRUE(auth_->request_password_reset(tenant_, "r@example.com", "http://x"));
  EXPECT_EQ(count(), 2);
  // Unknown and malformed addresses are silent.
  EXPECT_TRUE(auth_->request_password_reset(tenant_, "nobody@example.com", "http://x"));
  EXPECT_TRUE(auth_->request_password_reset(tenant_, "not an address", "http://x"));
  EXPECT_EQ(count(), 2);
}

TEST_P(AuthServiceTest, PerUserCallsAreScoped) {
  User mine = make_user("d@example.com");
  User theirs = make_user("d@example.com", other_tenant_);
  auto key = auth_->create_api_key({theirs.tenant_id, theirs.id}, "k", {"me:read"}, 0);
  ASSERT_TRUE(key);
  UserScope me{mine.tenant_id, mine.id};
  EXPECT_EQ(auth_->revoke_api_key(me, key->id).error().code, Errc::not_found);
  auto t = login("d@example.com", "password d@example.com");
  ASSERT_TRUE(t);
  EXPECT_EQ(auth_->revoke_session({theirs.tenant_id, theirs.id}, t->session_id).error().code,
            Errc::not_found);
  // A user id with the wrong tenant finds nothing.
  UserStore users(db(), clock_);
  EXPECT_EQ(users.get(UserScope{other_tenant_, mine.id}).error().code, Errc::not_found);
  EXPECT_EQ(users.get(TenantScope{other_tenant_}, mine.id).error().code, Errc::not_found);
  EXPECT_TRUE(users.get(TenantScope{}, mine.id));
  auto listed = users.list(TenantScope{tenant_}, {});
  ASSERT_TRUE(listed);
  for (const auto& u : *listed) EXPECT_EQ(u.tenant_id, tenant_);
  EXPECT_TRUE(auth_->authenticate(key->secret, {}));
}

TEST_P(AuthServiceTest, RememberedCredentialsAreForgottenOnChange) {
  User u = make_user("f@example.com");
  auto t = login("f@example.com", "password f@example.com");
  ASSERT_TRUE(t);
  EXPECT_FALSE(auth_->authenticate_cached(t->access_token)) << "not checked yet";
  ASSERT_TRUE(auth_->authenticate(t->access_token, {}));
  auto p = auth_->authenticate_cached(t->access_token);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->user_id, u.id);
  // Forgotten at once by a revocation on this node...
  ASSERT_TRUE(auth_->revoke_session({u.tenant_id, u.id}, t->session_id));
  EXPECT_FALSE(auth_->authenticate_cached(t->access_token));
  EXPECT_FALSE(auth_->authenticate(t->access_token, {}));
  // ...and by a suspension through the user store.
  auto t2 = login("f@example.com", "password f@example.com");
  ASSERT_TRUE(t2);
  auto key = auth_->create_api_key({u.tenant_id, u.id}, "k", {"me:read"}, 0);
  ASSERT_TRUE(key);
  ASSERT_TRUE(auth_->authenticate(t2->access_token, {}));
  ASSERT_TRUE(auth_->authenticate(key->secret, {}));
  EXPECT_TRUE(auth_->authenticate_cached(key->secret));
  UserStore users(db(), clock_, &cache_);
  StaffPatch suspend;
  suspend.status = "suspended";
  ASSERT_TRUE(users.update_by_staff(TenantScope{}, Role::platform_admin, u.id, suspend));
  EXPECT_FALSE(auth_->authenticate_cached(t2->access_token));
  EXPECT_FALSE(auth_->authenticate_cached(key->secret));
  EXPECT_FALSE(auth_->authenticate(key->secret, {}));
  // Memory lasts the configured time only.
  SessionCache c(1000);
  Principal pr;
  pr.user_id = "usr_x";
  c.put("s:1", pr, 0, 500);
  EXPECT_TRUE(c.get("s:1", 499));
  EXPECT_FALSE(c.get("s:1", 500)) << "bounded by the credential's own expiry";
  c.put("s:2", pr, 0, 1'000'000);
  EXPECT_FALSE(c.get("s:2", 1000)) << "bounded by the ttl";
  SessionCache off(0);
  off.put("s:1", pr, 0, 500);
  EXPECT_FALSE(off.get("s:1", 1));
}

TEST_P(AuthServiceTest, StaffCannotGrantAboveThemselves) {
  User u = make_user("e@example.com");
  UserStore users(db(), clock_);
  StaffPatch p;
  p.role = Role::platform_admin;
  EXPECT_EQ(users.update_by_staff(TenantScope{tenant_}, Role::tenant_admin, u.id, p).error().code,
            Errc::forbidden);
  p.role = Role::support;
  auto r = users.update_by_staff(TenantScope{tenant_}, Role::tenant_admin, u.id, p);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->role, Role::support);
}

TEST(Passwords, PolicyAndHashing) {
  EXPECT_FALSE(check_new_password("short", "", 10));
  EXPECT_FALSE(check_new_password("aaaaaaaaaaaa", "", 10));
  EXPECT_FALSE(check_new_password("Me@Example.com", "me@example.com", 10));
  EXPECT_FALSE(check_new_password(std::string(300, 'x') + "y", "", 10));
  EXPECT_TRUE(check_new_password("correct horse battery", "me@example.com", 10));
  EXPECT_THROW(PasswordHasher(HashParams{8192, 2}), std::invalid_argument);
  PasswordHasher h(HashParams{});
  auto hash = h.hash("correct horse battery");
  ASSERT_TRUE(hash);
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << *hash;
  EXPECT_TRUE(h.verify(*hash, "correct horse battery"));
  EXPECT_FALSE(h.verify(*hash, "correct horse batterY"));
  EXPECT_FALSE(h.verify("", "x"));
  EXPECT_FALSE(h.verify("$argon2id$garbage", "x"));
  EXPECT_FALSE(h.needs_rehash(*hash));
  PasswordHasher stronger(HashParams{32768, 3});
  EXPECT_TRUE(stronger.needs_rehash(*hash));
}

TEST(Principal, StaffRolesNeedTotp) {
  Principal p;
  p.role = Role::tenant_admin;
  EXPECT_EQ(p.effective_role(), Role::user);
  p.mfa = true;
  EXPECT_EQ(p.effective_role(), Role::tenant_admin);
  p.kind = Principal::Kind::api_key;
  EXPECT_EQ(p.effective_role(), Role::user);
  p.kind = Principal::Kind::operator_token;
  EXPECT_EQ(p.effective_role(), Role::platform_admin);
  EXPECT_TRUE(TenantScope{}.covers("ten_x"));
  EXPECT_FALSE(TenantScope{"ten_a"}.covers("ten_b"));
}

}  // namespace rh::accounts
