#include "accounts/tenants.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jobs/outbox.hpp"
#include "unit/unit_db.hpp"

namespace rh::accounts {
namespace {

TenantInput input(const std::string& slug, const std::string& name,
                  std::vector<std::string> hostnames = {}) {
  TenantInput in;
  in.slug = slug;
  in.name = name;
  if (!hostnames.empty()) in.hostnames = std::move(hostnames);
  return in;
}

class Tenants : public unit::MigratedDbTest {
 protected:
  void SetUp() override {
    unit::MigratedDbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    store_ = std::make_unique<TenantStore>(db(), clock_);
  }

  TenantStore& store() { return *store_; }

  Tenant create(const TenantInput& in, bool make_default = false) {
    auto t = store().create(in, make_default);
    EXPECT_TRUE(t.ok()) << t.error().message;
    return t ? *t : Tenant{};
  }

  Tenant get(const std::string& id) {
    auto t = store().get(id);
    EXPECT_TRUE(t.ok()) << t.error().message;
    return t ? *t : Tenant{};
  }

  std::size_t events(const std::string& type) {
    jobs::EventFilter f;
    f.type = type;
    auto r = jobs::list_events(db(), f);
    EXPECT_TRUE(r.ok());
    return r ? r->size() : 0;
  }

  std::int64_t tenant_count() { return scalar("SELECT COUNT(*) AS n FROM tenants"); }

  std::unique_ptr<TenantStore> store_;
};

// get() answers from memory: another node's change (another store on the
// same database) shows after the cache's time-to-live, this store's own at
// once.
TEST_P(Tenants, GetIsCachedAndAnUpdateThroughTheStoreIsSeenAtOnce) {
  Tenant t = create(input("acme", "Acme Telecom"));
  ASSERT_EQ(get(t.id).name, "Acme Telecom");
  TenantStore other_node(db(), clock_);
  TenantStore uncached(db(), clock_, std::chrono::milliseconds(0));
  TenantInput patch;
  patch.name = "Acme Two";
  ASSERT_TRUE(other_node.update(t.id, patch).ok());
  EXPECT_EQ(get(t.id).name, "Acme Telecom");        // still this node's copy
  EXPECT_EQ(uncached.get(t.id)->name, "Acme Two");  // no cache: the row
  EXPECT_EQ(other_node.get(t.id)->name, "Acme Two");
  patch.name = "Acme Three";
  ASSERT_TRUE(store().update(t.id, patch).ok());
  EXPECT_EQ(get(t.id).name, "Acme Three");
  // Unknown ids are not remembered.
  EXPECT_EQ(store().get("ten_nope").error().code, Errc::not_found);
}

TEST_P(Tenants, CreateFillsDefaultsAndWritesAnEvent) {
  Tenant t = create(input("acme", "Acme Telecom", {"acme.example.com", "calls.acme.example"}));
  EXPECT_EQ(t.id.rfind("ten_", 0), 0u) << t.id;
  EXPECT_EQ(t.slug, "acme");
  EXPECT_EQ(t.status, "active");
  EXPECT_FALSE(t.is_default);
  EXPECT_EQ(t.default_country, "US");
  EXPECT_EQ(t.currency, "USD");
  EXPECT_EQ(t.branding.display_name, "Acme Telecom");  // defaults to the name
  EXPECT_EQ(t.branding.primary_color, "#2563eb");
  EXPECT_EQ(t.limits.max_numbers_per_user, 5);
  EXPECT_EQ(t.created_at, clock_.now_ms());
  EXPECT_EQ(t.updated_at, clock_.now_ms());

  Tenant stored = get(t.id);
  EXPECT_EQ(stored.slug, "acme");
  EXPECT_EQ(stored.name, "Acme Telecom");
  EXPECT_EQ(stored.branding.display_name, "Acme Telecom");
  EXPECT_EQ(stored.hostnames, (std::vector<std::string>{"acme.example.com", "calls.acme.example"}));
  EXPECT_EQ(stored.created_at, clock_.now_ms());

  jobs::EventFilter f;
  f.type = "tenant.created";
  auto ev = jobs::list_events(db(), f);
  ASSERT_TRUE(ev.ok());
  ASSERT_EQ(ev->size(), 1u);
  EXPECT_EQ((*ev)[0].tenant_id, t.id);
  EXPECT_EQ((*ev)[0].subject, t.id);
  EXPECT_NE((*ev)[0].payload.find("\"slug\":\"acme\""), std::string::npos) << (*ev)[0].payload;

  auto by_slug = store().get_by_slug("acme");
  ASSERT_TRUE(by_slug.ok());
  EXPECT_EQ(by_slug->id, t.id);
}

TEST_P(Tenants, CreateStoresEveryField) {
  TenantInput in = input("full", "Full Co", {"full.example"});
  in.status = "suspended";
  in.default_country = "GB";
  in.currency = "GBP";
  in.display_name = "Full \"Brand\"";
  in.logo_url = "https://cdn.example/logo.png";
  in.primary_color = "#AABBCC";
  in.accent_color = "#000000";
  in.support_email = "help@full.example";
  in.support_url = "https://full.example/help";
  in.terms_url = "http://full.example/terms";
  in.privacy_url = "https://full.example/privacy";
  in.max_numbers_per_user = 0;
  in.max_devices_per_user = 1'000'000'000;
  in.max_messages_per_day = 42;
  Tenant t = get(create(in).id);
  EXPECT_EQ(t.status, "suspended");
  EXPECT_EQ(t.default_country, "GB");
  EXPECT_EQ(t.currency, "GBP");
  EXPECT_EQ(t.branding.display_name, "Full \"Brand\"");
  EXPECT_EQ(t.branding.logo_url, "https://cdn.example/logo.png");
  EXPECT_EQ(t.branding.primary_color, "#AABBCC");
  EXPECT_EQ(t.branding.accent_color, "#000000");
  EXPECT_EQ(t.branding.support_email, "help@full.example");
  EXPECT_EQ(t.branding.support_url, "https://full.example/help");
  EXPECT_EQ(t.branding.terms_url, "http://full.example/terms");
  EXPECT_EQ(t.branding.privacy_url, "https://full.example/privacy");
  EXPECT_EQ(t.limits.max_numbers_per_user, 0);
  EXPECT_EQ(t.limits.max_devices_per_user, 1'000'000'000);
  EXPECT_EQ(t.limits.max_messages_per_day, 42);
}

struct BadInput {
  const char* what;
  std::string field;
  TenantInput in;
};

std::vector<BadInput> bad_inputs() {
  std::vector<BadInput> out;
  auto add = [&](const char* what, std::string field, auto mutate) {
    TenantInput in = input("ok-slug", "OK");
    mutate(in);
    out.push_back({what, std::move(field), std::move(in)});
  };
  add("no slug", "slug", [](TenantInput& i) { i.slug.reset(); });
  add("upper-case slug", "slug", [](TenantInput& i) { i.slug = "Acme"; });
  add("slug starting with -", "slug", [](TenantInput& i) { i.slug = "-acme"; });
  add("slug with _", "slug", [](TenantInput& i) { i.slug = "ac_me"; });
  add("slug too long", "slug", [](TenantInput& i) { i.slug = std::string(64, 'a'); });
  add("no name", "name", [](TenantInput& i) { i.name.reset(); });
  add("name with a newline", "name", [](TenantInput& i) { i.name = "a\nb"; });
  add("name too long", "name", [](TenantInput& i) { i.name = std::string(192, 'n'); });
  add("bad status", "status", [](TenantInput& i) { i.status = "deleted"; });
  add("lower-case country", "default_country", [](TenantInput& i) { i.default_country = "us"; });
  add("three-letter country", "default_country", [](TenantInput& i) { i.default_country = "USA"; });
  add("unknown country", "default_country", [](TenantInput& i) { i.default_country = "XX"; });
  add("lower-case currency", "currency", [](TenantInput& i) { i.currency = "usd"; });
  add("named colour", "branding.primary_color", [](TenantInput& i) { i.primary_color = "blue"; });
  add("short colour", "branding.primary_color", [](TenantInput& i) { i.primary_color = "#fff"; });
  add("non-hex colour", "branding.accent_color",
      [](TenantInput& i) { i.accent_color = "#12345g"; });
  add("ftp logo", "branding.logo_url",
      [](TenantInput& i) { i.logo_url = "ftp://x.example/l.png"; });
  add("url with space", "branding.support_url",
      [](TenantInput& i) { i.support_url = "https://x.example/a b"; });
  add("url with quote", "branding.terms_url",
      [](TenantInput& i) { i.terms_url = "https://x.example/\"><script>"; });
  add("javascript url", "branding.privacy_url",
      [](TenantInput& i) { i.privacy_url = "javascript:alert(1)"; });
  add("email without @", "branding.support_email",
      [](TenantInput& i) { i.support_email = "help"; });
  add("email without domain dot", "branding.support_email",
      [](TenantInput& i) { i.support_email = "help@localhost"; });
  add("negative limit", "limits.max_numbers_per_user",
      [](TenantInput& i) { i.max_numbers_per_user = -1; });
  add("huge limit", "limits.max_messages_per_day",
      [](TenantInput& i) { i.max_messages_per_day = 1'000'000'001; });
  add("duplicate hostnames", "hostnames", [](TenantInput& i) {
    i.hostnames = std::vector<std::string>{"a.example", "a.example"};
  });
  add("upper-case hostname", "hostnames",
      [](TenantInput& i) { i.hostnames = std::vector<std::string>{"A.example"}; });
  add("hostname with port", "hostnames",
      [](TenantInput& i) { i.hostnames = std::vector<std::string>{"a.example:8080"}; });
  add("hostname with trailing dot", "hostnames",
      [](TenantInput& i) { i.hostnames = std::vector<std::string>{"a.example."}; });
  add("hostname with underscore", "hostnames",
      [](TenantInput& i) { i.hostnames = std::vector<std::string>{"a_b.example"}; });
  add("too many hostnames", "hostnames", [](TenantInput& i) {
    std::vector<std::string> h;
    for (int n = 0; n < 51; ++n) h.push_back("h" + std::to_string(n) + ".example");
    i.hostnames = h;
  });
  return out;
}

TEST_P(Tenants, InvalidInputNamesTheFieldAndWritesNothing) {
  for (const BadInput& b : bad_inputs()) {
    SCOPED_TRACE(b.what);
    auto r = store().create(b.in);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_EQ(r.error().field, b.field) << r.error().message;
    EXPECT_NE(r.error().message.find(b.field), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(tenant_count(), 0);
  EXPECT_EQ(events("tenant.created"), 0u);
}

TEST_P(Tenants, AcceptsIpv4HostnamesAndLongNames) {
  Tenant t =
      create(input("ip", "IP", {"127.0.0.1", "10.0.0.255", std::string(63, 'a') + ".example"}));
  EXPECT_EQ(get(t.id).hostnames.size(), 3u);
}

TEST_P(Tenants, DuplicateSlugIsAConflict) {
  create(input("acme", "Acme"));
  auto dup = store().create(input("acme", "Other Acme"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, Errc::conflict);
  EXPECT_EQ(dup.error().field, "slug");
  EXPECT_EQ(tenant_count(), 1);
  EXPECT_EQ(events("tenant.created"), 1u);
}

TEST_P(Tenants, HostnameOfAnotherTenantIsAConflictOnCreate) {
  create(input("a", "A", {"shared.example", "a.example"}));
  auto dup = store().create(input("b", "B", {"b.example", "shared.example"}));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, Errc::conflict);
  EXPECT_EQ(dup.error().field, "hostnames");
  EXPECT_NE(dup.error().message.find("shared.example"), std::string::npos);
  // Nothing of b was kept: not the tenant, its other hostname, or its event.
  EXPECT_EQ(tenant_count(), 1);
  EXPECT_FALSE(store().get_by_slug("b").ok());
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM tenant_hostnames WHERE hostname = 'b.example'"), 0);
  EXPECT_EQ(events("tenant.created"), 1u);
}

TEST_P(Tenants, ResolveHost) {
  Tenant a = create(input("a", "A", {"a.example.com", "10.1.2.3"}));
  Tenant def = create(input("default", "Default", {"localhost"}), true);

  auto resolved = [&](std::string_view host) {
    auto r = store().resolve_host(host);
    EXPECT_TRUE(r.ok()) << host << ": " << (r ? "" : r.error().message);
    return r ? r->id : "";
  };
  EXPECT_EQ(resolved("a.example.com"), a.id);
  EXPECT_EQ(resolved("a.example.com:8443"), a.id);
  EXPECT_EQ(resolved("A.Example.COM"), a.id);
  EXPECT_EQ(resolved("a.example.com."), a.id);
  EXPECT_EQ(resolved("10.1.2.3:80"), a.id);
  EXPECT_EQ(resolved("localhost:8080"), def.id);
  // Anything else goes to the default tenant.
  EXPECT_EQ(resolved("unknown.example"), def.id);
  EXPECT_EQ(resolved("example.com"), def.id);
  EXPECT_EQ(resolved(""), def.id);
  EXPECT_EQ(resolved("[::1]:8080"), def.id);
  EXPECT_EQ(resolved("[broken"), def.id);

  auto r = store().resolve_host("a.example.com");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->slug, "a");
  EXPECT_EQ(r->name, "A");
  EXPECT_FALSE(r->is_default);
}

TEST_P(Tenants, ResolveHostWithoutADefaultTenant) {
  Tenant a = create(input("a", "A", {"a.example.com"}));
  auto hit = store().resolve_host("a.example.com");
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ(hit->id, a.id);
  auto miss = store().resolve_host("b.example.com");
  ASSERT_FALSE(miss.ok());
  EXPECT_EQ(miss.error().code, Errc::not_found);
}

TEST_P(Tenants, PartialUpdateChangesOnlyWhatIsGiven) {
  TenantInput in = input("acme", "Acme", {"acme.example"});
  in.primary_color = "#111111";
  Tenant t = create(in);
  clock_.advance_ms(5000);

  TenantInput patch;
  patch.name = "Acme Two";
  patch.accent_color = "#222222";
  auto u = store().update(t.id, patch);
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->name, "Acme Two");

  Tenant after = get(t.id);
  EXPECT_EQ(after.name, "Acme Two");
  EXPECT_EQ(after.branding.accent_color, "#222222");
  EXPECT_EQ(after.slug, "acme");
  EXPECT_EQ(after.branding.primary_color, "#111111");
  EXPECT_EQ(after.branding.display_name, "Acme");  // set at creation, not tied to the name
  EXPECT_EQ(after.hostnames, std::vector<std::string>{"acme.example"});
  EXPECT_EQ(after.created_at, t.created_at);
  EXPECT_EQ(after.updated_at, clock_.now_ms());
  EXPECT_EQ(events("tenant.updated"), 1u);

  // Hostnames given: the set is replaced.
  TenantInput hosts;
  hosts.hostnames = std::vector<std::string>{"new.example", "acme2.example"};
  ASSERT_TRUE(store().update(t.id, hosts).ok());
  EXPECT_EQ(get(t.id).hostnames, (std::vector<std::string>{"acme2.example", "new.example"}));
  EXPECT_EQ(store().resolve_host("acme.example").ok(), false);  // no default: old host is gone
  EXPECT_EQ(store().resolve_host("new.example")->id, t.id);
  // An empty list removes them all.
  hosts.hostnames = std::vector<std::string>{};
  ASSERT_TRUE(store().update(t.id, hosts).ok());
  EXPECT_TRUE(get(t.id).hostnames.empty());
}

TEST_P(Tenants, InvalidUpdateChangesNothing) {
  Tenant t = create(input("acme", "Acme"));
  TenantInput patch;
  patch.name = "Renamed";
  patch.primary_color = "red";
  auto u = store().update(t.id, patch);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code, Errc::invalid_argument);
  EXPECT_EQ(u.error().field, "branding.primary_color");
  EXPECT_EQ(get(t.id).name, "Acme");
  EXPECT_EQ(events("tenant.updated"), 0u);
}

TEST_P(Tenants, HostnameOfAnotherTenantIsAConflictOnUpdateAndRollsBack) {
  Tenant a = create(input("a", "A", {"a.example"}));
  Tenant b = create(input("b", "B", {"b.example", "b2.example"}));
  clock_.advance_ms(1000);

  TenantInput patch;
  patch.name = "B renamed";
  patch.hostnames = std::vector<std::string>{"b.example", "a.example"};
  auto u = store().update(b.id, patch);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code, Errc::conflict);
  EXPECT_EQ(u.error().field, "hostnames");
  EXPECT_NE(u.error().message.find("a.example"), std::string::npos) << u.error().message;

  // Nothing of the update happened: not the name, not the hostnames, no event.
  Tenant after = get(b.id);
  EXPECT_EQ(after.name, "B");
  EXPECT_EQ(after.updated_at, b.updated_at);
  EXPECT_EQ(after.hostnames, (std::vector<std::string>{"b.example", "b2.example"}));
  EXPECT_EQ(get(a.id).hostnames, std::vector<std::string>{"a.example"});
  EXPECT_EQ(store().resolve_host("b2.example")->id, b.id);
  EXPECT_EQ(events("tenant.updated"), 0u);
  EXPECT_EQ(events("tenant.created"), 2u);
}

TEST_P(Tenants, SlugOfAnotherTenantIsAConflictOnUpdate) {
  create(input("a", "A"));
  Tenant b = create(input("b", "B"));
  TenantInput patch;
  patch.slug = "a";
  auto u = store().update(b.id, patch);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code, Errc::conflict);
  EXPECT_EQ(u.error().field, "slug");
  EXPECT_EQ(get(b.id).slug, "b");
  EXPECT_EQ(events("tenant.updated"), 0u);
}

TEST_P(Tenants, UpdateOfAMissingTenant) {
  TenantInput patch;
  patch.name = "x";
  auto u = store().update("ten_nope", patch);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code, Errc::not_found);
  EXPECT_EQ(events("tenant.updated"), 0u);
  auto g = store().get("ten_nope");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code, Errc::not_found);
}

TEST_P(Tenants, UpdateWithSameValuesSucceeds) {
  Tenant t = create(input("same", "Same", {"same.example"}));
  auto u = store().update(t.id, input("same", "Same", {"same.example"}));
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(get(t.id).hostnames, std::vector<std::string>{"same.example"});
}

TEST_P(Tenants, EnsureDefaultIsIdempotent) {
  TenantInput defaults = input("default", "Ringhouse", {"localhost", "127.0.0.1"});
  auto first = store().ensure_default(defaults);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->is_default);
  EXPECT_EQ(first->slug, "default");

  clock_.advance_ms(1000);
  auto second = store().ensure_default(input("other", "Other"));
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->id, first->id);
  EXPECT_EQ(second->slug, "default");
  EXPECT_EQ(second->hostnames, (std::vector<std::string>{"127.0.0.1", "localhost"}));
  EXPECT_EQ(tenant_count(), 1);
  EXPECT_EQ(events("tenant.created"), 1u);
  EXPECT_EQ(store().resolve_host("anything.example")->id, first->id);
}

TEST_P(Tenants, EnsureDefaultWithBadInputFails) {
  auto r = store().ensure_default(input("Bad Slug", "x"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "slug");
  EXPECT_EQ(tenant_count(), 0);
}

TEST_P(Tenants, ListPages) {
  std::vector<std::string> ids;
  for (const char* slug : {"t1", "t2", "t3"}) {
    ids.push_back(create(input(slug, slug)).id);
    clock_.advance_ms(1);
  }
  auto p1 = store().list("", 2);
  ASSERT_TRUE(p1.ok());
  ASSERT_EQ(p1->size(), 2u);
  EXPECT_EQ((*p1)[0].id, ids[0]);
  EXPECT_EQ((*p1)[1].id, ids[1]);
  auto p2 = store().list(p1->back().id, 2);
  ASSERT_TRUE(p2.ok());
  ASSERT_EQ(p2->size(), 1u);
  EXPECT_EQ((*p2)[0].id, ids[2]);
  EXPECT_EQ((*p2)[0].slug, "t3");
}

RH_ON_BOTH_DRIVERS(Tenants);

TEST(NormaliseHost, Cases) {
  EXPECT_EQ(normalise_host("example.com"), "example.com");
  EXPECT_EQ(normalise_host("Example.COM"), "example.com");
  EXPECT_EQ(normalise_host("example.com:8080"), "example.com");
  EXPECT_EQ(normalise_host("example.com."), "example.com");
  EXPECT_EQ(normalise_host("Example.com.:443"), "example.com");
  EXPECT_EQ(normalise_host("127.0.0.1:80"), "127.0.0.1");
  EXPECT_EQ(normalise_host("[::1]:8080"), "[::1]");
  EXPECT_EQ(normalise_host("[::1]"), "[::1]");
  EXPECT_EQ(normalise_host("[::1"), "");
  EXPECT_EQ(normalise_host(""), "");
  EXPECT_EQ(normalise_host(":8080"), "");
  EXPECT_EQ(normalise_host(std::string(253, 'a')), std::string(253, 'a'));
  EXPECT_EQ(normalise_host(std::string(254, 'a')), "");
}

}  // namespace
}  // namespace rh::accounts
