// The browser app served by the real binary at / (web.dir): types, caching,
// precompressed files, ETags, the single-page fallback, paths that try to
// leave the directory, security headers, and the API beside it unchanged.
// No database behaviour is involved, so these run on SQLite only.
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "e2e/e2e_fixture.hpp"

namespace rh::test {

namespace fs = std::filesystem;

namespace {

constexpr const char* kIndex = "<!doctype html><title>Ringhouse</title><div id=app></div>";
constexpr const char* kAppJs = "import{createApp}from'./vue-1.js';createApp().mount('#app')";
constexpr const char* kAppJsGz = "\x1f\x8b\x08 pretend-gzip";

std::string problem_code(const HttpResponse& r) {
  EXPECT_EQ(r.header("Content-Type"), "application/problem+json") << r.body;
  return std::string(r.json().at("code").as_string());
}

HttpResponse get(std::uint16_t port, const std::string& target,
                 std::map<std::string, std::string> headers = {},
                 const std::string& method = "GET") {
  HttpRequest q;
  q.method = method;
  q.target = target;
  q.headers = std::move(headers);
  return http(port, q);
}

const std::map<std::string, std::string> kBrowser{
    {"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
    {"Accept-Encoding", "gzip, deflate, br"}};

void expect_app_headers(const HttpResponse& r, const std::string& what) {
  EXPECT_EQ(r.header("Content-Security-Policy"),
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src "
            "'self' data: blob: https:; media-src 'self' blob:; font-src 'self'; connect-src "
            "'self' ws: wss:; worker-src 'self'; manifest-src 'self'; object-src 'none'; "
            "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
      << what;
  EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff") << what;
  EXPECT_EQ(r.header("X-Frame-Options"), "DENY") << what;
  EXPECT_EQ(r.header("Referrer-Policy"), "same-origin") << what;
  EXPECT_EQ(r.header("Permissions-Policy"), "camera=(), geolocation=(), microphone=(self)") << what;
}

}  // namespace

class WebApp : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = make_temp_dir("ringhouse-web");
    dist_ = base_ + "/dist";
    fs::create_directories(dist_ + "/assets");
    write("index.html", kIndex);
    write("assets/app-abc123.js", kAppJs);
    write("assets/app-abc123.js.gz", kAppJsGz);
    write("sw.js", "self.addEventListener('fetch',()=>{})");
    write("manifest.webmanifest", R"({"name":"Ringhouse"})");
    write(".env", "SECRET=dotfile");
    std::ofstream(base_ + "/outside.txt") << "SECRET=outside";
    fs::create_symlink(base_ + "/outside.txt", dist_ + "/link-out.txt");
  }
  void TearDown() override {
    if (p_ && HasFailure()) p_->keep_dir();
    p_.reset();
    if (!HasFailure()) fs::remove_all(base_);
  }
  void write(const std::string& rel, const std::string& text) {
    std::ofstream(dist_ + "/" + rel, std::ios::binary) << text;
  }
  void boot(std::vector<std::string> extra = {}) {
    ProcessOptions o;
    o.args = {"--set", "web.dir=" + dist_};
    o.args.insert(o.args.end(), extra.begin(), extra.end());
    p_ = std::make_unique<RinghouseProcess>(o);
    port_ = p_->port();
  }

  std::string base_, dist_;
  std::unique_ptr<RinghouseProcess> p_;
  std::uint16_t port_ = 0;
};

TEST_F(WebApp, ServesItsFilesWithTypesCachingAndSecurityHeaders) {
  boot();
  auto index = get(port_, "/", kBrowser);
  ASSERT_EQ(index.status, 200) << index.body;
  EXPECT_EQ(index.body, kIndex);
  EXPECT_EQ(index.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.header("Cache-Control"), "no-cache");
  EXPECT_FALSE(index.header("ETag").empty());
  EXPECT_EQ(index.header("Strict-Transport-Security"), "");  // plain HTTP, no trusted proxy
  expect_app_headers(index, "/");

  // Vite's hashed assets: cached for good, gzip when the client takes it.
  auto gz = get(port_, "/assets/app-abc123.js", kBrowser);
  ASSERT_EQ(gz.status, 200);
  EXPECT_EQ(gz.body, kAppJsGz);
  EXPECT_EQ(gz.header("Content-Encoding"), "gzip");
  EXPECT_EQ(gz.header("Vary"), "Accept-Encoding");
  EXPECT_EQ(gz.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(gz.header("Cache-Control"), "public, max-age=31536000, immutable");
  expect_app_headers(gz, "asset");
  auto plain = get(port_, "/assets/app-abc123.js");
  EXPECT_EQ(plain.body, kAppJs);
  EXPECT_EQ(plain.header("Content-Encoding"), "");
  EXPECT_EQ(plain.header("Vary"), "Accept-Encoding");

  // The service worker and the manifest are revalidated every time.
  auto sw = get(port_, "/sw.js", kBrowser);
  EXPECT_EQ(sw.status, 200);
  EXPECT_EQ(sw.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(sw.header("Cache-Control"), "no-cache");
  EXPECT_EQ(get(port_, "/manifest.webmanifest").header("Content-Type"),
            "application/manifest+json");

  // Revalidation: the same ETag gets 304 with no body.
  auto again = get(port_, "/assets/app-abc123.js",
                   {{"Accept-Encoding", "gzip"}, {"If-None-Match", gz.header("ETag")}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.header("ETag"), gz.header("ETag"));
  EXPECT_EQ(get(port_, "/", {{"If-None-Match", index.header("ETag")}}).status, 304);
  EXPECT_EQ(get(port_, "/", {{"If-None-Match", "\"stale\""}}).status, 200);

  // HEAD: the headers of GET, no body.
  auto head = get(port_, "/sw.js", {}, "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.header("Cache-Control"), "no-cache");
}

TEST_F(WebApp, PageNavigationsGetTheAppAndTheApiStaysTheApi) {
  boot();
  auto page = get(port_, "/conversations/42", kBrowser);
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, kIndex);
  EXPECT_EQ(page.header("Cache-Control"), "no-cache");
  expect_app_headers(page, "client-side route");
  // A missing file, or a client that does not want a page: 404 problem.
  auto js = get(port_, "/assets/app-gone.js", kBrowser);
  EXPECT_EQ(js.status, 404);
  EXPECT_EQ(problem_code(js), "not_found");
  expect_app_headers(js, "missing asset");
  EXPECT_EQ(get(port_, "/conversations/42", {{"Accept", "application/json"}}).status, 404);
  // The API's own paths are never the app's, even for a browser.
  for (const char* path :
       {"/v1/does-not-exist", "/v1", "/internal/nope", "/hooks/a/b", "/media/nope/more"}) {
    auto r = get(port_, path, kBrowser);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(problem_code(r), "not_found") << path;
    EXPECT_EQ(r.header("Content-Security-Policy"), "") << path;
  }
  auto health = get(port_, "/healthz", kBrowser);
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.header("Content-Type"), "application/json");
  // API responses: no sniffing, no framing.
  auto branding = get(port_, "/v1/branding", kBrowser);
  EXPECT_EQ(branding.status, 200);
  EXPECT_EQ(branding.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(branding.header("X-Frame-Options"), "DENY");
  // Only GET and HEAD are the app's.
  EXPECT_EQ(get(port_, "/conversations/42", kBrowser, "POST").status, 404);
}

TEST_F(WebApp, PathsThatLeaveTheDirectoryAreRefused) {
  boot();
  for (const char* path :
       {"/../outside.txt", "/assets/../../outside.txt", "/%2e%2e/outside.txt",
        "/%2E%2E/%2E%2E/outside.txt", "/assets/..%2f..%2foutside.txt", "/assets%2fapp-abc123.js",
        "/assets%5c..%5c..%5coutside.txt", "/link-out.txt", "/.env", "/%2eenv", "/index.html%00.js",
        "/..", "//outside.txt"}) {
    auto r = get(port_, path, kBrowser);
    EXPECT_EQ(r.status == 404 || r.status == 400, true) << path << " -> " << r.status;
    EXPECT_EQ(r.body.find("SECRET"), std::string::npos) << path;
    EXPECT_NE(r.body, kIndex) << path << " fell back to the app";
  }
  EXPECT_TRUE(p_->running());
}

TEST_F(WebApp, StrictTransportSecurityOnlyOverHttpsFromATrustedProxy) {
  boot({"--set", "http.trusted_proxies=127.0.0.1"});
  auto tls = get(port_, "/", {{"Accept", "text/html"}, {"X-Forwarded-Proto", "https"}});
  EXPECT_EQ(tls.status, 200);
  EXPECT_EQ(tls.header("Strict-Transport-Security"), "max-age=31536000");
  auto plain = get(port_, "/", {{"Accept", "text/html"}, {"X-Forwarded-Proto", "http"}});
  EXPECT_EQ(plain.header("Strict-Transport-Security"), "");
}

TEST_F(WebApp, AnUntrustedPeerCannotClaimHttps) {
  boot();
  auto r = get(port_, "/", {{"Accept", "text/html"}, {"X-Forwarded-Proto", "https"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Strict-Transport-Security"), "");
}

TEST_F(WebApp, NotBuiltSaysHowToBuildIt) {
  fs::remove(dist_ + "/index.html");
  boot();
  auto r = get(port_, "/", kBrowser);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(problem_code(r), "web_app_not_built");
  EXPECT_NE(r.json().at("detail").as_string().find("npm --prefix web run build"), std::string::npos)
      << r.body;
  expect_app_headers(r, "not built");
  EXPECT_NE(p_->log().find("web app not served yet"), std::string::npos) << p_->log();
  // Built while running: served from then on.
  write("index.html", kIndex);
  EXPECT_EQ(get(port_, "/", kBrowser).body, kIndex);
}

TEST_F(WebApp, AnEmptyDirSettingTurnsItOff) {
  ProcessOptions o;
  o.args = {"--set", "web.dir="};
  p_ = std::make_unique<RinghouseProcess>(o);
  auto r = get(p_->port(), "/", kBrowser);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(problem_code(r), "not_found");
  EXPECT_EQ(p_->log().find("web app"), std::string::npos) << p_->log();
}

}  // namespace rh::test
