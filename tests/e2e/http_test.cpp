// Bad input at the HTTP layer: each gets a clear 4xx and the server keeps
// serving. These do not depend on the database, so they run on SQLite only.
#include <signal.h>

#include <boost/json.hpp>

#include "e2e/e2e_fixture.hpp"

namespace rh::test {

class Http : public ::testing::Test {
 protected:
  void SetUp() override {
    ProcessOptions o;
    o.args = {"--set", "http.max_body_bytes=4096",   "--set", "http.max_header_bytes=8192",
              "--set", "http.request_timeout_ms=700"};
    p_ = std::make_unique<RinghouseProcess>(o);
    token_ = p_->operator_token();
  }
  void TearDown() override {
    // Whatever happened, the server still answers.
    if (p_) {
      EXPECT_EQ(http_get(p_->port(), "/healthz").status, 200);
      EXPECT_TRUE(p_->running());
    }
  }
  std::string problem_code(const HttpResponse& r) {
    EXPECT_EQ(r.header("Content-Type"), "application/problem+json") << r.body;
    return std::string(r.json().at("code").as_string());
  }
  std::unique_ptr<RinghouseProcess> p_;
  std::string token_;
};

TEST_F(Http, MalformedJsonIs400) {
  auto r = http_json(p_->port(), "POST", "/v1/admin/tenants", R"({"slug": "x", )", token_);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(problem_code(r), "malformed_json");
  auto deep = http_json(p_->port(), "POST", "/v1/admin/tenants",
                        std::string(200, '[') + std::string(200, ']'), token_);
  EXPECT_EQ(deep.status, 400);
}

TEST_F(Http, WrongTypesAre422WithTheField) {
  auto r =
      http_json(p_->port(), "POST", "/v1/admin/tenants", R"({"slug": true, "name": 12})", token_);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(problem_code(r), "validation_failed");
  EXPECT_EQ(std::string(r.json().at("errors").as_array().at(0).at("field").as_string()), "slug");
  auto arr = http_json(p_->port(), "POST", "/v1/admin/tenants", "[1,2]", token_);
  EXPECT_EQ(arr.status, 422);
}

TEST_F(Http, WrongContentTypeIs415) {
  HttpRequest req;
  req.method = "POST";
  req.target = "/v1/admin/tenants";
  req.body = R"({"slug":"x","name":"y"})";
  req.headers["Content-Type"] = "text/plain";
  req.headers["Authorization"] = "Bearer " + token_;
  auto r = http(p_->port(), req);
  EXPECT_EQ(r.status, 415);
}

TEST_F(Http, OversizedBodyIs413) {
  std::string big = R"({"slug":"x","name":")" + std::string(8000, 'a') + R"("})";
  auto r = http_json(p_->port(), "POST", "/v1/admin/tenants", big, token_);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(problem_code(r), "body_too_large");
  // Chunked, with no Content-Length up front: cut off when the limit passes.
  std::string chunk(3000, 'b');
  char hex[16];
  std::snprintf(hex, sizeof hex, "%zx", chunk.size());
  std::string raw =
      "POST /v1/admin/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) raw += std::string(hex) + "\r\n" + chunk + "\r\n";
  raw += "0\r\n\r\n";
  auto res = raw_exchange(p_->port(), raw, std::chrono::seconds(5));
  EXPECT_EQ(raw_status(res.received), 413) << res.received;
}

TEST_F(Http, HugeHeadersAre431) {
  HttpRequest req;
  req.target = "/healthz";
  req.headers["X-Padding"] = std::string(20000, 'h');
  auto r = http(p_->port(), req);
  EXPECT_EQ(r.status, 431);
}

TEST_F(Http, UnknownRouteIs404AndWrongMethodIs405) {
  auto r = http_get(p_->port(), "/v1/does-not-exist");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(problem_code(r), "not_found");
  HttpRequest del;
  del.method = "DELETE";
  del.target = "/v1/branding";
  auto m = http(p_->port(), del);
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.header("Allow"), "GET");
  auto esc = http_get(p_->port(), "/v1/admin/tenants/%zz", token_);
  EXPECT_EQ(esc.status, 400);
}

TEST_F(Http, GarbageIs400) {
  auto res = raw_exchange(p_->port(), "HELLO THERE\r\n\r\n", std::chrono::seconds(5));
  EXPECT_EQ(raw_status(res.received), 400) << res.received;
  EXPECT_TRUE(res.closed);
  auto bin = raw_exchange(
      p_->port(), std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n",
      std::chrono::seconds(5));
  EXPECT_EQ(raw_status(bin.received), 400) << bin.received;
}

TEST_F(Http, SlowPartialRequestIsCutOff) {
  // Half a request, then silence: answered 408 and closed at the deadline,
  // not held open.
  auto start = std::chrono::steady_clock::now();
  auto res = raw_exchange(p_->port(),
                          "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", std::chrono::seconds(10));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(raw_status(res.received), 408) << res.received;
  EXPECT_TRUE(res.closed);
  EXPECT_LT(took, std::chrono::seconds(5));
  // A body that never finishes is cut off the same way.
  auto body = raw_exchange(
      p_->port(),
      "POST /v1/admin/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 100\r\n\r\n{\"slug\":",
      std::chrono::seconds(10));
  EXPECT_EQ(raw_status(body.received), 408) << body.received;
  EXPECT_TRUE(body.closed);
  // An idle keep-alive connection is closed quietly.
  auto idle = raw_exchange(p_->port(), "", std::chrono::seconds(10));
  EXPECT_TRUE(idle.closed);
  EXPECT_EQ(idle.received, "");
}

TEST_F(Http, KeepAliveServesSeveralRequests) {
  std::string two =
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: "
      "close\r\n\r\n";
  auto res = raw_exchange(p_->port(), two, std::chrono::seconds(5));
  EXPECT_TRUE(res.closed);
  std::size_t first = res.received.find("HTTP/1.1 200");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(res.received.find("HTTP/1.1 200", first + 1), std::string::npos) << res.received;
}

TEST_F(Http, ExpectContinueIsHonoured) {
  HttpRequest req;
  req.method = "POST";
  req.target = "/v1/admin/tenants";
  req.body = R"({"slug":"cont","name":"Continue"})";
  req.headers["Content-Type"] = "application/json";
  req.headers["Expect"] = "100-continue";
  req.headers["Authorization"] = "Bearer " + token_;
  auto res = raw_exchange(
      p_->port(),
      "POST /v1/admin/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Authorization: Bearer " +
          token_ + "\r\nExpect: 100-continue\r\nContent-Length: " +
          std::to_string(req.body.size()) + "\r\n\r\n",
      std::chrono::milliseconds(300));
  EXPECT_EQ(raw_status(res.received), 100) << res.received;
  auto big = raw_exchange(p_->port(),
                          "POST /v1/admin/tenants HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                          "Content-Length: 99999999\r\n\r\n",
                          std::chrono::seconds(5));
  EXPECT_EQ(raw_status(big.received), 413) << big.received;
}

}  // namespace rh::test
