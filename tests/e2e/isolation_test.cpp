// Tenant isolation over HTTP on both drivers: a user or a tenant admin of
// tenant A gets 404 for every id of tenant B on every route that takes an id,
// and no list shows them anything of B. The routes come from the OpenAPI
// document (and the server's own route list), so a new route is checked
// without touching this test.
#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "e2e/accounts_fixture.hpp"

namespace rh::test {

namespace json = boost::json;

namespace {

// Rank of a role: a caller may use an operation when its rank is at least the
// operation's. kInternal is the operator token alone.
constexpr int kAnyone = -1;
constexpr int kInternal = 4;

std::optional<int> role_rank(std::string_view role) {
  if (role == "user") return 0;
  if (role == "support") return 1;
  if (role == "tenant_admin") return 2;
  if (role == "platform_admin" || role == "operator") return 3;
  return std::nullopt;
}

// The least rank the server's route list says an operation needs.
std::optional<int> rank_of_access(std::string_view access) {
  if (access == "anonymous") return kAnyone;
  if (access == "internal") return kInternal;
  if (access.rfind("user", 0) == 0) return 0;
  constexpr std::string_view kStaff = "staff: ";
  if (access.rfind(kStaff, 0) == 0) return role_rank(access.substr(kStaff.size()));
  return std::nullopt;
}

struct Operation {
  std::string method;  // upper case
  std::string path;    // with its {parameters}
  int min_rank = 0;
};

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The "data" array of a list answer (a copy: it outlives the parsed body).
json::array data_of(const HttpResponse& r) {
  return r.json().at("data").as_array();
}

bool has_parameter(const std::string& path) {
  return path.find('{') != std::string::npos;
}

// The path with every {parameter} replaced by id.
std::string fill(const std::string& path, const std::string& id) {
  return std::regex_replace(path, std::regex("\\{[^}/]+\\}"), id);
}

// The id prefix (as in usr_...) of the collection a path's first parameter
// names, e.g. "ses" for /v1/sessions/{id}; empty when unknown.
std::string id_prefix_of(const std::string& path) {
  auto brace = path.find('{');
  if (brace == std::string::npos || brace < 2) return "";
  // A path with two parameters (a document of a request) gets B's ids only:
  // no single own id fills both.
  if (path.find('{', brace + 1) != std::string::npos) return "";
  auto slash = path.rfind('/', brace - 2);
  std::string collection = path.substr(slash + 1, brace - slash - 2);
  static const std::map<std::string, std::string> kKnown{
      {"tenants", "ten"},       {"users", "usr"}, {"sessions", "ses"},      {"api-keys", "key"},
      {"emails", "eml"},        {"jobs", "job"},  {"events", "evt"},        {"numbers", "num"},
      {"number-orders", "nor"}, {"plans", "pln"}, {"subscriptions", "sub"}, {"messages", "msg"},
      {"conversations", "cnv"}};
  auto it = kKnown.find(collection);
  return it == kKnown.end() ? "" : it->second;
}

// Every operation of the OpenAPI document, plus any route the server answers
// that the document lacks; each with the least role it needs, from the
// operation's "x-ringhouse-role", else from the server's route list.
std::vector<Operation> operations(std::uint16_t port, const std::string& op_token) {
  static const std::set<std::string> kMethods{"get",     "put",  "post",  "delete",
                                              "options", "head", "patch", "trace"};
  std::map<std::pair<std::string, std::string>, std::optional<int>> found;
  auto routes = http_get(port, "/v1/admin/routes", op_token);
  EXPECT_EQ(routes.status, 200) << routes.body;
  if (routes.status == 200) {
    for (const auto& r : data_of(routes)) {
      auto rank = rank_of_access(jstr(r, "access"));
      EXPECT_TRUE(rank) << "unknown access " << jstr(r, "access");
      found[{upper(jstr(r, "method")), jstr(r, "path")}] = rank;
    }
  }
  auto doc = http_get(port, "/v1/openapi.json");
  EXPECT_EQ(doc.status, 200);
  if (doc.status == 200) {
    auto spec = doc.json();
    for (const auto& [path, item] : spec.at("paths").as_object()) {
      for (const auto& [method, op] : item.as_object()) {
        if (!kMethods.count(lower(std::string(method))) || !op.is_object()) continue;
        auto& rank = found[{upper(std::string(method)), std::string(path)}];
        if (const auto* role = op.as_object().if_contains("x-ringhouse-role")) {
          auto declared =
              role->is_string() ? role_rank(std::string(role->as_string())) : std::optional<int>();
          EXPECT_TRUE(declared) << "unknown x-ringhouse-role " << json::serialize(*role) << " of "
                                << method << " " << path;
          if (declared) rank = declared;
        }
      }
    }
  }
  std::vector<Operation> out;
  // An operation of unknown access is taken as open to every user: then only
  // 404 is accepted.
  for (const auto& [key, rank] : found) out.push_back({key.first, key.second, rank.value_or(0)});
  return out;
}

std::string body_for(const std::string& method) {
  return method == "POST" || method == "PATCH" || method == "PUT" ? "{}" : "";
}

// One tenant of the test: its plain user and its tenant admin.
struct TenantWorld {
  std::string id;
  std::string slug;
  std::string host;
  Account user;
  Account admin;
  std::string user_spare_session;   // a second session of the user
  std::string admin_spare_session;  // the admin's session from before TOTP
  std::string user_key;             // an API key of the user
  std::string admin_key;            // an API key of the admin
  std::vector<std::string> email_ids;
  // Numbers and billing: the user's number, its order, a plan and the
  // user's subscription to it.
  std::string number_id, order_id, plan_id, subscription_id, port_id;
  // Messaging: a message the user sent and its conversation.
  std::string message_id, conversation_id;
};

// An A caller: a token, a role rank and its own ids by id prefix.
struct Caller {
  std::string name;
  std::string token;
  int rank = 0;
  std::map<std::string, std::string> own;
};

}  // namespace

class Isolation : public E2E {
 protected:
  void SetUp() override {
    E2E::SetUp();
    if (IsSkipped()) return;
    p_ = start();
    op_ = p_->operator_token();
    make_tenant(a_, "alpha", "a.test");
    if (HasFatalFailure()) return;
    make_tenant(b_, "bravo", "b.test");
    if (HasFatalFailure()) return;
    auto jobs = http_get(port(), "/v1/admin/jobs?limit=500", op_);
    ASSERT_EQ(jobs.status, 200) << jobs.body;
    for (const auto& j : data_of(jobs)) job_id_ = jstr(j, "id");
    if (job_id_.empty()) {
      auto j =
          http_json(port(), "POST", "/v1/admin/jobs", R"({"kind":"diag.probe","payload":{}})", op_);
      ASSERT_EQ(j.status, 201) << j.body;
      job_id_ = jstr(j.json(), "id");
    }
  }

  void TearDown() override {
    if (p_ && HasFailure()) p_->keep_dir();
  }

  std::uint16_t port() const { return p_->port(); }

  // A tenant with a plain user (signed up) and a tenant admin (made by the
  // CLI, signed in with two-step verification), each with a spare session
  // and an API key.
  void make_tenant(TenantWorld& t, const std::string& slug, const std::string& host) {
    t.slug = slug;
    t.host = host;
    auto created = http_json(
        port(), "POST", "/v1/admin/tenants",
        json::serialize(json::object{
            {"slug", slug}, {"name", slug}, {"hostnames", json::array{json::value(host)}}}),
        op_);
    ASSERT_EQ(created.status, 201) << created.body;
    t.id = jstr(created.json(), "id");

    t.user = signed_up_user(port(), op_, "user@" + slug + ".example", host);
    ASSERT_FALSE(t.user.access_token.empty());
    auto again = login(port(), t.user.email, t.user.password, "", host);
    ASSERT_EQ(again.status, 200) << again.body;
    t.user_spare_session = jstr(again.json(), "session_id");

    std::vector<std::string> args{
        "admin",    "create-user", "--data-dir", p_->data_dir(),
        "--tenant", slug,          "--email",    "admin@" + slug + ".example",
        "--role",   "tenant_admin"};
    auto db = db_args();
    args.insert(args.end(), db.begin(), db.end());
    auto cli = run_ringhouse(args);
    ASSERT_EQ(cli.exit_code, 0) << cli.output;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(cli.output, m, std::regex("\"id\":\"(usr_[^\"]+)\"")))
        << cli.output;
    t.admin.id = m[1].str();
    ASSERT_TRUE(std::regex_search(cli.output, m, std::regex("password: (\\S+)"))) << cli.output;
    t.admin.password = m[1].str();
    t.admin.email = "admin@" + slug + ".example";
    auto first = login(port(), t.admin.email, t.admin.password, "", host);
    ASSERT_EQ(first.status, 200) << first.body;
    take_tokens(t.admin, first);
    t.admin_spare_session = t.admin.session_id;
    enable_totp(port(), t.admin, host);
    if (HasFatalFailure()) return;
    // The confirmation used this step's code; the next step's is within the window.
    auto second =
        login(port(), t.admin.email, t.admin.password, totp_now(t.admin.totp_key, 1), host);
    ASSERT_EQ(second.status, 200) << second.body;
    take_tokens(t.admin, second);

    auto key_of = [&](const Account& a) {
      auto k = call(port(), "POST", "/v1/api-keys", R"({"name":"isolation","scopes":["me:read"]})",
                    a.access_token, host);
      EXPECT_EQ(k.status, 201) << k.body;
      return k.status == 201 ? jstr(k.json(), "id") : std::string();
    };
    t.user_key = key_of(t.user);
    t.admin_key = key_of(t.admin);
    ASSERT_FALSE(t.user_key.empty() || t.admin_key.empty());

    // A number bought from the tenant's pool, and a plan subscribed to.
    std::string did = slug == "alpha" ? "+14155550100" : "+14155550200";
    HttpRequest imp;
    imp.method = "POST";
    imp.target = "/v1/admin/numbers/import?tenant_id=" + t.id;
    imp.body = "number,trunk,messaging_route\n" + did + ",trunk,route\n";
    imp.headers = {{"Content-Type", "text/csv"}, {"Authorization", "Bearer " + op_}};
    auto imported = http(port(), imp);
    ASSERT_EQ(imported.status, 201) << imported.body;
    auto plan = http_json(port(), "POST", "/v1/admin/plans?tenant_id=" + t.id,
                          R"({"name":"Plan","monthly_price":"1.00"})", op_);
    ASSERT_EQ(plan.status, 201) << plan.body;
    t.plan_id = jstr(plan.json(), "id");
    auto credited =
        http_json(port(), "POST", "/v1/admin/users/" + t.user.id + "/balance-adjustments",
                  R"({"amount":"5.00","reason":"test"})", op_);
    ASSERT_EQ(credited.status, 201) << credited.body;
    HttpRequest buy;
    buy.method = "POST";
    buy.target = "/v1/numbers";
    buy.body = json::serialize(json::object{{"phone_number", did}});
    buy.headers = {{"Content-Type", "application/json"},
                   {"Authorization", "Bearer " + t.user.access_token},
                   {"Host", host},
                   {"Idempotency-Key", "iso-" + slug}};
    auto bought = http(port(), buy);
    ASSERT_EQ(bought.status, 201) << bought.body;
    t.number_id = jstr(bought.json().at("number"), "id");
    t.order_id = jstr(bought.json().at("order"), "id");
    buy.target = "/v1/subscriptions";
    buy.body = json::serialize(json::object{{"plan_id", t.plan_id}});
    auto sub = http(port(), buy);
    ASSERT_EQ(sub.status, 201) << sub.body;
    t.subscription_id = jstr(sub.json(), "id");
    buy.target = "/v1/messages";
    buy.headers["Idempotency-Key"] = "iso-msg-" + slug;
    buy.body =
        json::serialize(json::object{{"from", did}, {"to", "+12025550123"}, {"text", "isolation"}});
    auto msg = http(port(), buy);
    ASSERT_EQ(msg.status, 201) << msg.body;
    t.message_id = jstr(msg.json(), "id");
    t.conversation_id = jstr(msg.json(), "conversation_id");
    auto ported =
        call(port(), "POST", "/v1/port-requests",
             json::serialize(json::object{
                 {"numbers",
                  json::array{json::value(slug == "alpha" ? "+12125550150" : "+12125550151")}},
                 {"losing_carrier", "X"},
                 {"account_number", "1"},
                 {"account_name", "A"},
                 {"service_address", "S"}}),
             t.user.access_token, host);
    ASSERT_EQ(ported.status, 201) << ported.body;
    t.port_id = jstr(ported.json(), "id");

    auto mails = http_get(port(), "/v1/admin/emails?limit=200&tenant_id=" + t.id, op_);
    ASSERT_EQ(mails.status, 200) << mails.body;
    for (const auto& e : data_of(mails)) t.email_ids.push_back(jstr(e, "id"));
    ASSERT_FALSE(t.email_ids.empty()) << "no email of tenant " << slug;
  }

  // Every id of tenant B an A caller could try.
  std::vector<std::string> b_ids() {
    std::vector<std::string> ids{b_.id, b_.user.id, b_.admin.id, b_.user_key, b_.admin_key};
    auto sessions = call(port(), "GET", "/v1/sessions", "", b_.user.access_token, b_.host);
    EXPECT_EQ(sessions.status, 200) << sessions.body;
    if (sessions.status == 200)
      for (const auto& s : data_of(sessions)) ids.push_back(jstr(s, "id"));
    EXPECT_GE(ids.size(), 7u) << "tenant B's user should have two sessions";
    ids.insert(ids.end(), b_.email_ids.begin(), b_.email_ids.end());
    ids.push_back(job_id_);
    ids.insert(ids.end(), {b_.number_id, b_.order_id, b_.plan_id, b_.subscription_id, b_.port_id,
                           b_.message_id, b_.conversation_id});
    return ids;
  }

  // A's plain user and A's tenant admin, with their own ids.
  std::vector<Caller> a_callers() const {
    Caller user{"A's user", a_.user.access_token, 0, {}};
    user.own = {{"ten", a_.id},         {"usr", a_.user.id},        {"ses", a_.user_spare_session},
                {"key", a_.user_key},   {"nor", a_.order_id},       {"sub", a_.subscription_id},
                {"msg", a_.message_id}, {"cnv", a_.conversation_id}};
    Caller admin{"A's tenant_admin", a_.admin.access_token, 2, {}};
    admin.own = {{"ten", a_.id},
                 {"usr", a_.user.id},
                 {"ses", a_.admin_spare_session},
                 {"key", a_.admin_key},
                 {"eml", a_.email_ids.front()},
                 {"job", job_id_},
                 {"pln", a_.plan_id},
                 {"prt", a_.port_id}};
    return {user, admin};
  }

  std::unique_ptr<RinghouseProcess> p_;
  std::string op_;
  TenantWorld a_;
  TenantWorld b_;
  std::string job_id_;
};
RH_E2E_ON_BOTH_DRIVERS(Isolation);

TEST_P(Isolation, EveryIdOfAnotherTenantIsNotFoundOnEveryRoute) {
  auto ops = operations(port(), op_);
  auto ids = b_ids();
  auto callers = a_callers();
  std::set<std::pair<std::string, std::string>> checked;
  for (const auto& op : ops) {
    if (!has_parameter(op.path)) continue;
    checked.insert({op.method, op.path});
    for (const auto& c : callers) {
      bool excluded = c.rank < op.min_rank;
      for (const auto& id : ids) {
        auto r = call(port(), op.method, fill(op.path, id), body_for(op.method), c.token, a_.host);
        bool ok = r.status == 404 || (r.status == 403 && excluded) ||
                  (r.status == 401 && op.min_rank == kInternal);
        EXPECT_TRUE(ok) << c.name << ": " << op.method << " " << op.path << " with B's id " << id
                        << " gave " << r.status << " (expected 404" << (excluded ? " or 403" : "")
                        << ")\n"
                        << r.body;
      }
    }
  }
  EXPECT_GE(checked.size(), 10u) << "too few routes with an id: is the OpenAPI document served?";

  // The positive control: with A's own ids the same routes find the object
  // wherever the caller may use them, so the 404s above are about B.
  // Deletions go last (a deleted object is gone for the routes after it),
  // and a conversation after its messages (deleting it deletes them).
  std::map<std::string, int> own_status;  // "caller METHOD path" -> status
  auto pass_of = [](const Operation& op) {
    if (op.method != "DELETE") return 0;
    return op.path.rfind("/v1/conversations/", 0) == 0 ? 2 : 1;
  };
  for (int pass = 0; pass < 3; ++pass)
    for (const auto& op : ops) {
      if (!has_parameter(op.path) || pass_of(op) != pass) continue;
      for (const auto& c : callers) {
        if (c.rank < op.min_rank) continue;
        auto own = c.own.find(id_prefix_of(op.path));
        if (own == c.own.end()) continue;
        auto r = call(port(), op.method, fill(op.path, own->second), body_for(op.method), c.token,
                      a_.host);
        own_status[c.name + " " + op.method + " " + op.path] = r.status;
        EXPECT_TRUE(r.status < 500 && r.status != 401 && r.status != 403 && r.status != 404)
            << c.name << ": " << op.method << " " << op.path << " with A's own id " << own->second
            << " gave " << r.status << "\n"
            << r.body;
      }
    }
  EXPECT_EQ(own_status["A's user DELETE /v1/sessions/{id}"], 204);
  EXPECT_EQ(own_status["A's tenant_admin DELETE /v1/sessions/{id}"], 204);
  EXPECT_EQ(own_status["A's user DELETE /v1/api-keys/{id}"], 204);
  EXPECT_EQ(own_status["A's tenant_admin GET /v1/admin/users/{id}"], 200);
  EXPECT_EQ(own_status["A's tenant_admin POST /v1/admin/users/{id}/password-reset"], 202);
  // And B's objects are all still there.
  auto still = call(port(), "GET", "/v1/sessions", "", b_.user.access_token, b_.host);
  ASSERT_EQ(still.status, 200) << still.body;
  EXPECT_EQ(data_of(still).size(), 2u) << still.body;
  auto keys = call(port(), "GET", "/v1/api-keys", "", b_.user.access_token, b_.host);
  ASSERT_EQ(keys.status, 200) << keys.body;
  EXPECT_NE(keys.body.find(b_.user_key), std::string::npos) << keys.body;
  auto b_user = http_get(port(), "/v1/admin/users/" + b_.user.id, op_);
  ASSERT_EQ(b_user.status, 200) << b_user.body;
  EXPECT_EQ(jstr(b_user.json(), "status"), "active");
  EXPECT_EQ(jstr(b_user.json(), "role"), "user");
}

TEST_P(Isolation, ListsShowNothingOfAnotherTenant) {
  auto admin = a_callers().at(1);
  auto users = call(port(), "GET", "/v1/admin/users?limit=200", "", admin.token, a_.host);
  ASSERT_EQ(users.status, 200) << users.body;
  std::set<std::string> seen;
  for (const auto& u : data_of(users)) {
    seen.insert(jstr(u, "id"));
    EXPECT_EQ(jstr(u, "tenant_id"), a_.id) << json::serialize(u);
  }
  EXPECT_TRUE(seen.count(a_.user.id) && seen.count(a_.admin.id)) << users.body;
  EXPECT_FALSE(seen.count(b_.user.id) || seen.count(b_.admin.id)) << users.body;
  auto other = call(port(), "GET", "/v1/admin/users?tenant_id=" + b_.id, "", admin.token, a_.host);
  EXPECT_EQ(other.status, 404) << other.body;
  auto own = call(port(), "GET", "/v1/admin/users?tenant_id=" + a_.id, "", admin.token, a_.host);
  EXPECT_EQ(own.status, 200) << own.body;

  // No list or page without an id shows an A caller any id or address of B.
  auto ids = b_ids();
  ids.erase(std::remove(ids.begin(), ids.end(), job_id_), ids.end());  // jobs are platform-wide
  ids.push_back(b_.user.email);
  ids.push_back(b_.admin.email);
  std::size_t pages = 0;
  for (const auto& op : operations(port(), op_)) {
    if (op.method != "GET" || has_parameter(op.path)) continue;
    for (const auto& c : a_callers()) {
      auto r = call(port(), "GET", op.path, "", c.token, a_.host);
      ++pages;
      EXPECT_LT(r.status, 500) << c.name << ": GET " << op.path << "\n" << r.body;
      for (const auto& id : ids)
        EXPECT_EQ(r.body.find(id), std::string::npos)
            << c.name << ": GET " << op.path << " shows B's " << id << "\n"
            << r.body;
    }
  }
  EXPECT_GE(pages, 10u);
}

}  // namespace rh::test
