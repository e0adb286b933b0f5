// The web app's file server: path resolution that never leaves the directory,
// types, caching, precompressed files, ETags and the single-page fallback.
#include "http/web_app.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

namespace rh::http {
namespace {

namespace fs = std::filesystem;

class WebAppTest : public testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::path(testing::TempDir()) / ("web_app_test_" + std::to_string(::getpid()));
    fs::remove_all(base_);
    dist_ = base_ / "dist";
    fs::create_directories(dist_ / "assets");
    write("index.html", "<!doctype html><title>Ringhouse</title>");
    write("assets/app-abc123.js", "console.log('app')");
    write("assets/app-abc123.js.gz", "gzipped bytes");
    write("sw.js", "self.addEventListener('fetch', () => {})");
    write("manifest.webmanifest", "{}");
    write(".env", "SECRET=1");
    std::ofstream(base_ / "outside.txt") << "outside";
  }
  void TearDown() override { fs::remove_all(base_); }

  void write(const std::string& rel, const std::string& text) {
    std::ofstream(dist_ / rel, std::ios::binary) << text;
  }

  Response get(const std::string& path, std::map<std::string, std::string> headers = {},
               bool https = false) {
    Request req{Verb::get, path, 11};
    for (const auto& [k, v] : headers) req.set(k, v);
    return WebApp(WebAppOptions{dist_.string()}).serve(req, path, https);
  }

  static std::string h(const Response& r, std::string_view name) {
    auto it = r.find(boost::beast::string_view(name.data(), name.size()));
    return it == r.end() ? std::string() : std::string(it->value());
  }
  static std::string code(const Response& r) {
    return std::string(boost::json::parse(r.body()).at("code").as_string());
  }

  fs::path base_, dist_;
};

TEST(WebFilePath, DecodesAndRefusesWhatCouldLeaveTheDirectory) {
  EXPECT_EQ(web_file_path("/"), "");
  EXPECT_EQ(web_file_path("/assets/app.js"), "assets/app.js");
  EXPECT_EQ(web_file_path("/caf%C3%A9/"), "café/");
  EXPECT_EQ(web_file_path("/a+b"), "a+b");
  for (const char* bad :
       {"", "assets", "/..", "/../etc/passwd", "/assets/../../x", "/%2e%2e/x", "/%2E%2E/x",
        "/assets%2fapp.js", "/assets%2Fapp.js", "/a%5c..%5cx", "/a%00.js", "/.env",
        "/x/.git/config", "/./index.html", "//etc/passwd", "/a//b", "/%zz", "/a\\b", "/a%0a"})
    EXPECT_FALSE(web_file_path(bad).has_value()) << bad;
}

TEST(WebContentType, ByExtension) {
  EXPECT_EQ(web_content_type("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(web_content_type("/x/app.MJS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(web_content_type("a.css"), "text/css; charset=utf-8");
  EXPECT_EQ(web_content_type("manifest.webmanifest"), "application/manifest+json");
  EXPECT_EQ(web_content_type("i.svg"), "image/svg+xml");
  EXPECT_EQ(web_content_type("f.woff2"), "font/woff2");
  EXPECT_EQ(web_content_type("m.wasm"), "application/wasm");
  EXPECT_EQ(web_content_type("a.js.map"), "application/json");
  EXPECT_EQ(web_content_type("dir.d/noext"), "application/octet-stream");
}

TEST_F(WebAppTest, ServesFilesWithTypeCachingAndSecurityHeaders) {
  auto index = get("/");
  ASSERT_EQ(index.result_int(), 200u);
  EXPECT_EQ(index.body(), "<!doctype html><title>Ringhouse</title>");
  EXPECT_EQ(h(index, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(h(index, "Cache-Control"), "no-cache");
  EXPECT_NE(h(index, "Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(h(index, "X-Frame-Options"), "DENY");
  EXPECT_EQ(h(index, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(h(index, "Referrer-Policy"), "same-origin");
  EXPECT_EQ(h(index, "Permissions-Policy"), "camera=(), geolocation=(), microphone=(self)");
  EXPECT_EQ(h(index, "Strict-Transport-Security"), "");
  EXPECT_EQ(h(get("/", {}, true), "Strict-Transport-Security"), "max-age=31536000");

  auto js = get("/assets/app-abc123.js");
  EXPECT_EQ(js.body(), "console.log('app')");
  EXPECT_EQ(h(js, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(h(js, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(h(js, "Content-Encoding"), "");
  EXPECT_EQ(h(js, "Vary"), "Accept-Encoding");
  EXPECT_EQ(h(get("/sw.js"), "Cache-Control"), "no-cache");
  EXPECT_EQ(h(get("/manifest.webmanifest"), "Content-Type"), "application/manifest+json");
}

TEST_F(WebAppTest, SendsTheGzipFileToClientsThatAcceptIt) {
  auto gz = get("/assets/app-abc123.js", {{"Accept-Encoding", "br, gzip;q=0.8"}});
  EXPECT_EQ(gz.body(), "gzipped bytes");
  EXPECT_EQ(h(gz, "Content-Encoding"), "gzip");
  EXPECT_EQ(h(gz, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(h(gz, "Vary"), "Accept-Encoding");
  auto plain = get("/assets/app-abc123.js", {{"Accept-Encoding", "gzip;q=0, *"}});
  EXPECT_EQ(plain.body(), "console.log('app')");
  EXPECT_NE(h(gz, "ETag"), h(plain, "ETag"));
  EXPECT_EQ(get("/assets/app-abc123.js", {{"Accept-Encoding", "*"}}).body(), "gzipped bytes");
  // No .gz beside it: the file as it is, and nothing varies.
  auto sw = get("/sw.js", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(h(sw, "Content-Encoding"), "");
  EXPECT_EQ(h(sw, "Vary"), "");
}

TEST_F(WebAppTest, MatchingETagIs304) {
  auto first = get("/assets/app-abc123.js", {{"Accept-Encoding", "gzip"}});
  std::string etag = h(first, "ETag");
  ASSERT_FALSE(etag.empty());
  auto again = get("/assets/app-abc123.js",
                   {{"Accept-Encoding", "gzip"}, {"If-None-Match", "\"other\", W/" + etag}});
  EXPECT_EQ(again.result_int(), 304u);
  EXPECT_TRUE(again.body().empty());
  EXPECT_EQ(h(again, "ETag"), etag);
  EXPECT_EQ(h(again, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(h(again, "X-Frame-Options"), "DENY");
  // The other encoding's tag does not match.
  EXPECT_EQ(get("/assets/app-abc123.js", {{"If-None-Match", etag}}).result_int(), 200u);
  // A changed file has a new tag.
  auto index = get("/");
  write("index.html", "<!doctype html><title>Ringhouse 2</title>");
  EXPECT_EQ(get("/", {{"If-None-Match", h(index, "ETag")}}).result_int(), 200u);
}

TEST_F(WebAppTest, PageNavigationsWithoutAFileGetTheApp) {
  auto page = get("/conversations/42", {{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}});
  EXPECT_EQ(page.result_int(), 200u);
  EXPECT_EQ(page.body(), "<!doctype html><title>Ringhouse</title>");
  EXPECT_EQ(h(page, "Cache-Control"), "no-cache");
  // Not a page: a missing file, or a client that wants something else.
  auto js = get("/assets/missing-1.js", {{"Accept", "text/html"}});
  EXPECT_EQ(js.result_int(), 404u);
  EXPECT_EQ(h(js, "Content-Type"), "application/problem+json");
  EXPECT_EQ(code(js), "not_found");
  EXPECT_EQ(h(js, "X-Frame-Options"), "DENY");
  EXPECT_EQ(get("/conversations/42", {{"Accept", "application/json"}}).result_int(), 404u);
  EXPECT_EQ(get("/conversations/42", {{"Accept", "text/html;q=0"}}).result_int(), 404u);
}

TEST_F(WebAppTest, RefusesDotfilesTraversalAndSymlinksOut) {
  fs::create_symlink(base_ / "outside.txt", dist_ / "out.txt");
  fs::create_symlink(dist_ / ".env", dist_ / "env.txt");
  fs::create_symlink(dist_ / "sw.js", dist_ / "worker.js");
  std::map<std::string, std::string> html{{"Accept", "text/html"}};
  for (const char* path :
       {"/.env", "/out.txt", "/env.txt", "/../outside.txt", "/%2e%2e/outside.txt",
        "/assets/..%2f..%2foutside.txt", "/assets%2fapp-abc123.js"}) {
    auto r = get(path, html);
    EXPECT_EQ(r.result_int(), 404u) << path;
    EXPECT_EQ(r.body().find("outside"), std::string::npos) << path;
    EXPECT_EQ(r.body().find("SECRET"), std::string::npos) << path;
  }
  // A link that stays inside is followed.
  EXPECT_EQ(get("/worker.js").result_int(), 200u);
}

TEST_F(WebAppTest, WithoutABuildSaysHowToBuild) {
  fs::remove(dist_ / "index.html");
  WebApp app(WebAppOptions{dist_.string()});
  EXPECT_NE(app.check().find("no index.html"), std::string::npos) << app.check();
  auto r = get("/", {{"Accept", "text/html"}});
  EXPECT_EQ(r.result_int(), 404u);
  EXPECT_EQ(code(r), "web_app_not_built");
  EXPECT_NE(r.body().find("npm --prefix web run build"), std::string::npos) << r.body();
  EXPECT_EQ(h(r, "X-Frame-Options"), "DENY");
  WebApp missing(WebAppOptions{(base_ / "nowhere").string()});
  EXPECT_NE(missing.check().find("does not exist"), std::string::npos) << missing.check();
  write("index.html", "x");
  EXPECT_EQ(WebApp(WebAppOptions{dist_.string()}).check(), "");
}

}  // namespace
}  // namespace rh::http
