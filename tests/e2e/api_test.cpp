// The API over HTTP on both drivers: branding by Host, tenants with their
// events (and no event when the change rolls back), operator auth, the
// OpenAPI document covering every route, health and metrics.
#include <algorithm>
#include <boost/json.hpp>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "e2e/e2e_fixture.hpp"

namespace rh::test {

namespace json = boost::json;

class Api : public E2E {};
RH_E2E_ON_BOTH_DRIVERS(Api);

namespace {
std::string str(const json::value& v, const char* key) {
  return std::string(v.at(key).as_string());
}

std::size_t count_events(std::uint16_t port, const std::string& token, const std::string& type) {
  auto r = http_get(port, "/v1/admin/events?limit=500&type=" + type, token);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.json().at("data").as_array().size();
}
}  // namespace

TEST_P(Api, HealthReadinessAndMigrationsFromEmpty) {
  auto p = start();
  EXPECT_EQ(http_get(p->port(), "/healthz").status, 200);
  auto ready = http_get(p->port(), "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(str(ready.json(), "status"), "ready");
  // The empty database was migrated at start: a second start applies nothing.
  EXPECT_NE(p->log().find("applied"), std::string::npos) << p->log();
  p->signal(SIGTERM);
  ASSERT_TRUE(p->wait_exit(std::chrono::seconds(20)));
  auto again = start({}, p->data_dir());
  // Both runs log into the same file: one "applied" line, from the first.
  std::string log = again->log();
  auto first = log.find("applied ");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("applied ", first + 1), std::string::npos) << log;
  EXPECT_EQ(http_get(again->port(), "/readyz").status, 200);
}

TEST_P(Api, BrandingFollowsTheHostHeader) {
  auto p = start();
  std::string token = p->operator_token();
  auto created = http_json(p->port(), "POST", "/v1/admin/tenants",
                           R"({"slug":"acme","name":"Acme Phone","hostnames":["phone.acme.test"],
                               "default_country":"GB","currency":"GBP",
                               "branding":{"primary_color":"#112233","logo_url":"https://acme.test/logo.png"}})",
                           token);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.header("Location"), "/v1/admin/tenants/" + str(created.json(), "id"));

  HttpRequest req;
  req.target = "/v1/branding";
  req.headers["Host"] = "Phone.Acme.Test:8443";
  auto acme = http(p->port(), req);
  ASSERT_EQ(acme.status, 200) << acme.body;
  EXPECT_EQ(str(acme.json(), "name"), "Acme Phone");
  EXPECT_EQ(str(acme.json(), "primary_color"), "#112233");
  EXPECT_EQ(str(acme.json(), "default_country"), "GB");

  // The installable app's manifest carries the same brand.
  req.target = "/v1/branding/manifest.webmanifest";
  req.headers["Host"] = "phone.acme.test";
  auto manifest = http(p->port(), req);
  ASSERT_EQ(manifest.status, 200) << manifest.body;
  EXPECT_EQ(manifest.header("Content-Type"), "application/manifest+json");
  EXPECT_EQ(str(manifest.json(), "name"), "Acme Phone");
  EXPECT_EQ(str(manifest.json(), "theme_color"), "#112233");
  EXPECT_EQ(str(manifest.json(), "start_url"), "/messages");
  EXPECT_GE(manifest.json().at("icons").as_array().size(), 3u);

  req.target = "/v1/branding";
  req.headers["Host"] = "unknown.example";
  auto fallback = http(p->port(), req);
  ASSERT_EQ(fallback.status, 200);
  EXPECT_EQ(str(fallback.json(), "slug"), "default");
}

TEST_P(Api, BrandingTellsBrowsersWhereToRegisterForCalls) {
  // By default: the edge's WebSocket listeners on the host the browser asked for.
  auto p = start({"--set", "voice.sip_domain=sip.acme.test", "--set", "voice.ws_port=18088",
                  "--set", "voice.wss_port=18443"});
  HttpRequest req;
  req.target = "/v1/branding";
  req.headers["Host"] = "Phone.Acme.Test:8080";
  auto r = http(p->port(), req);
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = r.json();
  const auto& sip = body.at("sip");
  ASSERT_TRUE(sip.is_object()) << r.body;
  EXPECT_EQ(str(sip, "domain"), "sip.acme.test");
  EXPECT_EQ(str(sip, "ws_url"), "ws://phone.acme.test:18088");
  EXPECT_EQ(str(sip, "wss_url"), "wss://phone.acme.test:18443");
  req.headers["Host"] = "[::1]:8080";
  EXPECT_EQ(str(http(p->port(), req).json().at("sip"), "wss_url"), "wss://[::1]:18443");
  p.reset();

  // Behind a proxy: a public host, a listener off, an override URL.
  auto q = start({"--set", "voice.public_host=edge.acme.test", "--set", "voice.ws_port=0", "--set",
                  "voice.public_wss_url=wss://phone.acme.test/sip"});
  auto s = http(q->port(), req).json().at("sip");
  EXPECT_TRUE(s.at("ws_url").is_null()) << s;
  EXPECT_EQ(str(s, "wss_url"), "wss://phone.acme.test/sip");
  EXPECT_EQ(str(s, "domain"), "localhost");
  q.reset();

  // No edge: nothing to register with.
  auto off = start({"--set", "voice.edge=false"});
  auto none = http(off->port(), req);
  ASSERT_EQ(none.status, 200);
  EXPECT_TRUE(none.json().at("sip").is_null()) << none.body;
  // A bad override is a start-up error naming the key.
  auto bad = run_ringhouse({"config", "--show", "--set", "voice.public_wss_url=https://x"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("voice.public_wss_url"), std::string::npos) << bad.output;
}

TEST_P(Api, TenantChangesWriteEventsAndRollBackTogether) {
  auto p = start();
  std::string token = p->operator_token();
  auto a = http_json(p->port(), "POST", "/v1/admin/tenants",
                     R"({"slug":"alpha","name":"Alpha","hostnames":["alpha.test"]})", token);
  ASSERT_EQ(a.status, 201) << a.body;
  std::string alpha = str(a.json(), "id");
  EXPECT_EQ(count_events(p->port(), token, "tenant.created"), 2u);  // default + alpha

  // Creating a tenant whose hostname is taken fails as a whole: no tenant, no event.
  auto clash = http_json(p->port(), "POST", "/v1/admin/tenants",
                         R"({"slug":"beta","name":"Beta","hostnames":["alpha.test"]})", token);
  EXPECT_EQ(clash.status, 409) << clash.body;
  EXPECT_EQ(clash.header("Content-Type"), "application/problem+json");
  EXPECT_EQ(count_events(p->port(), token, "tenant.created"), 2u);
  auto list = http_get(p->port(), "/v1/admin/tenants", token).json();
  for (const auto& t : list.at("data").as_array()) EXPECT_NE(str(t, "slug"), "beta");

  // An update that fails after its event was appended leaves neither.
  auto b = http_json(p->port(), "POST", "/v1/admin/tenants",
                     R"({"slug":"gamma","name":"Gamma","hostnames":["gamma.test"]})", token);
  ASSERT_EQ(b.status, 201);
  std::string gamma = str(b.json(), "id");
  auto bad = http_json(p->port(), "PATCH", "/v1/admin/tenants/" + gamma,
                       R"({"name":"Gamma Renamed","hostnames":["alpha.test"]})", token);
  EXPECT_EQ(bad.status, 409) << bad.body;
  EXPECT_EQ(count_events(p->port(), token, "tenant.updated"), 0u);
  EXPECT_EQ(str(http_get(p->port(), "/v1/admin/tenants/" + gamma, token).json(), "name"), "Gamma");

  // A good update is there with its event.
  auto good = http_json(p->port(), "PATCH", "/v1/admin/tenants/" + gamma,
                        R"({"name":"Gamma Renamed","limits":{"max_numbers_per_user":3}})", token);
  ASSERT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(good.json().at("limits").at("max_numbers_per_user").as_int64(), 3);
  EXPECT_EQ(count_events(p->port(), token, "tenant.updated"), 1u);
  auto events = http_get(p->port(), "/v1/admin/events?type=tenant.updated", token).json();
  EXPECT_EQ(str(events.at("data").as_array().at(0), "subject"), gamma);
  // The dispatcher delivers it.
  EXPECT_TRUE(eventually([&] {
    auto e = http_get(p->port(), "/v1/admin/events?type=tenant.updated", token).json();
    return !e.at("data").as_array().at(0).at("dispatched_at").is_null();
  }));
  (void)alpha;
}

TEST_P(Api, TenantValidationNamesTheField) {
  auto p = start();
  std::string token = p->operator_token();
  auto r = http_json(p->port(), "POST", "/v1/admin/tenants",
                     R"({"slug":"ok","name":"Ok","branding":{"primary_color":"blue"}})", token);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(str(r.json().at("errors").as_array().at(0), "field"), "branding.primary_color");
  auto types = http_json(
      p->port(), "POST", "/v1/admin/tenants",
      R"({"slug":7,"name":["x"],"limits":{"max_numbers_per_user":"many"},"bogus":1})", token);
  EXPECT_EQ(types.status, 422) << types.body;
  std::set<std::string> fields;
  auto types_json = types.json();
  for (const auto& e : types_json.at("errors").as_array()) fields.insert(str(e, "field"));
  EXPECT_TRUE(fields.count("slug"));
  EXPECT_TRUE(fields.count("name"));
  EXPECT_TRUE(fields.count("limits.max_numbers_per_user"));
  EXPECT_TRUE(fields.count("bogus"));
  auto country = http_json(p->port(), "POST", "/v1/admin/tenants",
                           R"({"slug":"xx","name":"Nowhere","default_country":"XX"})", token);
  EXPECT_EQ(country.status, 422) << country.body;
  EXPECT_EQ(str(country.json().at("errors").as_array().at(0), "field"), "default_country");
  auto missing = http_json(p->port(), "POST", "/v1/admin/tenants", R"({"name":"No slug"})", token);
  EXPECT_EQ(missing.status, 422);
  EXPECT_EQ(http_get(p->port(), "/v1/admin/tenants/ten_nope", token).status, 404);
}

TEST_P(Api, AdminRoutesNeedTheOperatorToken) {
  auto p = start();
  auto none = http_get(p->port(), "/v1/admin/tenants");
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.header("WWW-Authenticate").find("Bearer"), std::string::npos);
  EXPECT_EQ(http_get(p->port(), "/v1/admin/tenants", "wrong-token").status, 401);
  EXPECT_EQ(http_get(p->port(), "/v1/admin/tenants", p->operator_token()).status, 200);
  // The token can also come from configuration.
  auto q = start({"--set", "admin.operator_token=from-config-123"});
  EXPECT_EQ(http_get(q->port(), "/v1/admin/queue", "from-config-123").status, 200);
}

TEST_P(Api, OpenApiDocumentsEveryRoute) {
  auto p = start();
  auto doc = http_get(p->port(), "/v1/openapi.json");
  ASSERT_EQ(doc.status, 200);
  auto spec = doc.json();
  EXPECT_EQ(str(spec, "openapi"), "3.1.0");
  const auto& paths = spec.at("paths").as_object();
  const auto& schemes = spec.at("components").at("securitySchemes").as_object();
  for (const char* s : {"accessToken", "apiKey", "operatorToken"})
    EXPECT_TRUE(schemes.contains(s)) << "securitySchemes lacks " << s;
  auto routes = http_get(p->port(), "/v1/admin/routes", p->operator_token()).json();
  std::set<std::string> served;
  for (const auto& r : routes.at("data").as_array()) {
    std::string method = str(r, "method");
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string path = str(r, "path");
    served.insert(method + " " + path);
    ASSERT_TRUE(paths.contains(path)) << "route missing from api/openapi.json: " << path;
    const auto& item = paths.at(path).as_object();
    ASSERT_TRUE(item.contains(method))
        << "method missing from api/openapi.json: " << method << " " << path;
    // The document's security matches who may call the route, exactly:
    //   anonymous                    []
    //   user                         accessToken
    //   user or API key with S       accessToken, apiKey [S]
    //   staff: R                     accessToken, operatorToken; x-ringhouse-role R
    //   internal                     operatorToken
    const auto& op = item.at(method).as_object();
    const std::string where = method + " " + path;
    std::string access = str(r, "access");
    std::vector<std::string> want;  // one "scheme[scopes]" per requirement, sorted
    std::string role;               // staff routes only
    const std::string kScoped = "user or API key with ";
    const std::string kStaff = "staff: ";
    if (access == "anonymous") {
    } else if (access == "user") {
      want = {"accessToken[]"};
    } else if (access.rfind(kScoped, 0) == 0) {
      want = {"accessToken[]", "apiKey[" + access.substr(kScoped.size()) + "]"};
    } else if (access.rfind(kStaff, 0) == 0) {
      want = {"accessToken[]", "operatorToken[]"};
      role = access.substr(kStaff.size());
    } else if (access == "internal") {
      want = {"operatorToken[]"};
    } else {
      ADD_FAILURE() << "unknown access \"" << access << "\" for " << where;
      continue;
    }
    ASSERT_TRUE(op.contains("security") && op.at("security").is_array())
        << where << ": the operation must state its security";
    std::vector<std::string> got;
    for (const auto& req : op.at("security").as_array()) {
      ASSERT_TRUE(req.is_object()) << where;
      std::string one;
      for (const auto& [scheme, scopes] : req.as_object()) {
        ASSERT_TRUE(schemes.contains(scheme))
            << where << ": unknown security scheme " << std::string(scheme);
        if (!one.empty()) one += " AND ";
        one += std::string(scheme) + "[";
        bool first = true;
        for (const auto& s : scopes.as_array()) {
          if (!first) one += ",";
          one += std::string(s.as_string());
          first = false;
        }
        one += "]";
      }
      got.push_back(one);
    }
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    auto joined = [](const std::vector<std::string>& v) {
      std::string out;
      for (const auto& s : v) out += (out.empty() ? "" : " OR ") + s;
      return out.empty() ? std::string("(none)") : out;
    };
    EXPECT_EQ(joined(got), joined(want)) << where << " (access: " << access << ")";
    if (!role.empty()) {
      const auto* declared = op.if_contains("x-ringhouse-role");
      EXPECT_TRUE(declared && declared->is_string())
          << where << ": a staff route needs x-ringhouse-role";
      if (declared && declared->is_string()) {
        EXPECT_EQ(std::string(declared->as_string()), role) << where;
      }
    } else {
      EXPECT_FALSE(op.contains("x-ringhouse-role")) << where << " is not a staff route";
    }
  }
  // Every $ref points at something in the document.
  std::function<void(const json::value&)> check_refs = [&](const json::value& v) {
    if (v.is_object()) {
      for (const auto& [k, child] : v.as_object()) {
        if (k == "$ref" && child.is_string()) {
          std::string ref(child.as_string());
          ASSERT_EQ(ref.rfind("#/", 0), 0u) << ref;
          const json::value* at = &spec;
          std::size_t pos = 2;
          while (pos <= ref.size()) {
            auto next = ref.find('/', pos);
            if (next == std::string::npos) next = ref.size();
            std::string key = ref.substr(pos, next - pos);
            ASSERT_TRUE(at->is_object() && at->as_object().contains(key))
                << "dangling $ref " << ref;
            at = &at->as_object().at(key);
            pos = next + 1;
          }
        } else {
          check_refs(child);
        }
      }
    } else if (v.is_array()) {
      for (const auto& child : v.as_array()) check_refs(child);
    }
  };
  check_refs(spec);
  // And the document promises nothing the server does not answer.
  for (const auto& [path, item] : paths) {
    for (const auto& [method, op] : item.as_object()) {
      if (method == "parameters") continue;
      EXPECT_TRUE(served.count(std::string(method) + " " + std::string(path)))
          << "api/openapi.json documents a route the server does not have: " << method << " "
          << path;
    }
  }
}

TEST_P(Api, MetricsInPrometheusFormat) {
  auto p = start();
  http_get(p->port(), "/v1/branding");
  http_get(p->port(), "/v1/nowhere");  // outside the web app's paths: matches nothing
  auto m = http_get(p->port(), "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.header("Content-Type").find("text/plain"), std::string::npos);
  for (const char* needle :
       {"ringhouse_http_requests_total{route=\"/v1/branding\",method=\"GET\",status=\"200\"} 1",
        "ringhouse_http_requests_total{route=\"unmatched\",method=\"any\",status=\"404\"} 1",
        "ringhouse_http_request_duration_seconds_bucket{route=\"/v1/branding\",le=\"+Inf\"} 1",
        "ringhouse_db_pool_connections{state=\"open\"}", "ringhouse_jobs{state=\"queued\"}",
        "ringhouse_events_pending", "ringhouse_http_requests_in_flight"}) {
    EXPECT_NE(m.body.find(needle), std::string::npos) << needle << "\n" << m.body;
  }
}

TEST_P(Api, RequestIdsAndCors) {
  auto p = start({"--set", "http.cors_origins=https://app.example.com"});
  HttpRequest req;
  req.target = "/healthz";
  req.headers["X-Request-Id"] = "abc-123";
  req.headers["Origin"] = "https://app.example.com";
  auto r = http(p->port(), req);
  EXPECT_EQ(r.header("X-Request-Id"), "abc-123");
  EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "https://app.example.com");
  req.headers["X-Request-Id"] = "bad id with spaces";
  req.headers["Origin"] = "https://evil.example.com";
  auto r2 = http(p->port(), req);
  EXPECT_EQ(r2.header("X-Request-Id").rfind("req_", 0), 0u);
  EXPECT_EQ(r2.header("Access-Control-Allow-Origin"), "");
  HttpRequest pre;
  pre.method = "OPTIONS";
  pre.target = "/v1/admin/tenants";
  pre.headers["Origin"] = "https://app.example.com";
  pre.headers["Access-Control-Request-Method"] = "POST";
  auto r3 = http(p->port(), pre);
  EXPECT_EQ(r3.status, 204);
  EXPECT_NE(r3.header("Access-Control-Allow-Methods").find("POST"), std::string::npos);
  // The access log has the request id.
  EXPECT_TRUE(eventually([&] { return p->log().find("request-id=abc-123") != std::string::npos; }));
}

}  // namespace rh::test
