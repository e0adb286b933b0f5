#include "http/router.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "core/metrics.hpp"
#include "http/types.hpp"

namespace rh::http {
namespace {

Handler noop() {
  return [](RequestContext&) -> boost::asio::awaitable<Response> { co_return Response{}; };
}

class RouterTest : public testing::Test {
 protected:
  void add(Verb v, const std::string& pattern) { router_.add(v, pattern, noop()); }
  std::string matched(Verb v, std::string_view path) {
    Match m = router_.match(v, path);
    return m.route ? m.route->pattern : "";
  }

  metrics::Registry metrics_;
  Router router_{metrics_};
};

TEST_F(RouterTest, LiteralBeatsParameterWhicheverIsAddedFirst) {
  add(Verb::get, "/v1/numbers/{id}");
  add(Verb::get, "/v1/numbers/available");
  add(Verb::get, "/v1/things/available");
  add(Verb::get, "/v1/things/{id}");
  EXPECT_EQ(matched(Verb::get, "/v1/numbers/available"), "/v1/numbers/available");
  EXPECT_EQ(matched(Verb::get, "/v1/numbers/n_1"), "/v1/numbers/{id}");
  EXPECT_EQ(matched(Verb::get, "/v1/things/available"), "/v1/things/available");
  EXPECT_EQ(matched(Verb::get, "/v1/things/t_1"), "/v1/things/{id}");
}

TEST_F(RouterTest, LiteralBeatsParameterWithRoutesOfOtherLengthsInBetween) {
  // Routes of other lengths never compete for a path, but they must not
  // disturb the literal-first order of the ones that do.
  add(Verb::get, "/v1/other");
  add(Verb::get, "/v1/{kind}/list");
  add(Verb::get, "/v1");
  add(Verb::get, "/v1/numbers/list");
  EXPECT_EQ(matched(Verb::get, "/v1/numbers/list"), "/v1/numbers/list");
  EXPECT_EQ(matched(Verb::get, "/v1/things/list"), "/v1/{kind}/list");
  EXPECT_EQ(matched(Verb::get, "/v1"), "/v1");
  EXPECT_EQ(matched(Verb::get, "/v1/other"), "/v1/other");
  add(Verb::get, "/v1/numbers/{id}");
  add(Verb::get, "/v1/{kind}/{id}");
  EXPECT_EQ(matched(Verb::get, "/v1/numbers/list"), "/v1/numbers/list");
  EXPECT_EQ(matched(Verb::get, "/v1/numbers/n_1"), "/v1/numbers/{id}");
  EXPECT_EQ(matched(Verb::get, "/v1/things/list"), "/v1/{kind}/list");
  EXPECT_EQ(matched(Verb::get, "/v1/things/t_1"), "/v1/{kind}/{id}");
}

TEST_F(RouterTest, PathParametersAreExtractedAndDecoded) {
  add(Verb::get, "/v1/tenants/{tenant}/users/{user}");
  Match m = router_.match(Verb::get, "/v1/tenants/t%201/users/a%2Fb+c");
  ASSERT_NE(m.route, nullptr);
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[0], (std::pair<std::string, std::string>{"tenant", "t 1"}));
  // '%2F' decodes to '/' inside the segment; '+' stays a plus in a path.
  EXPECT_EQ(m.params[1], (std::pair<std::string, std::string>{"user", "a/b+c"}));

  Request req;
  RequestContext ctx{.req = req, .params = m.params};
  EXPECT_EQ(ctx.param("user"), "a/b+c");
  EXPECT_THROW((void)ctx.param("nope"), std::logic_error);
}

TEST_F(RouterTest, BadEscapeInAParameterIsReported) {
  add(Verb::get, "/v1/things/{id}");
  Match m = router_.match(Verb::get, "/v1/things/%zz");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.bad_escape);
  m = router_.match(Verb::get, "/v1/things/abc%4");
  EXPECT_TRUE(m.bad_escape);
}

TEST_F(RouterTest, WrongMethodListsTheAllowedOnes) {
  add(Verb::get, "/v1/things/{id}");
  add(Verb::patch, "/v1/things/{id}");
  add(Verb::delete_, "/v1/things/{id}");
  add(Verb::post, "/v1/things");
  Match m = router_.match(Verb::post, "/v1/things/t_1");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_FALSE(m.bad_escape);
  std::vector<Verb> allowed = m.allowed;
  std::sort(allowed.begin(), allowed.end());
  std::vector<Verb> want{Verb::get, Verb::patch, Verb::delete_};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(allowed, want);

  // A match clears the list; no path at all leaves it empty (404, not 405).
  EXPECT_TRUE(router_.match(Verb::get, "/v1/things/t_1").allowed.empty());
  Match none = router_.match(Verb::get, "/v1/nothing/here");
  EXPECT_EQ(none.route, nullptr);
  EXPECT_TRUE(none.allowed.empty());
}

TEST_F(RouterTest, HeadIsAnsweredByTheGetRoute) {
  add(Verb::get, "/v1/things/{id}");
  add(Verb::post, "/v1/things");
  Match m = router_.match(Verb::head, "/v1/things/t_1");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->method, Verb::get);
  EXPECT_EQ(m.params.front().second, "t_1");
  // Not for other methods: HEAD of a POST-only path is 405.
  Match post_only = router_.match(Verb::head, "/v1/things");
  EXPECT_EQ(post_only.route, nullptr);
  EXPECT_EQ(post_only.allowed, std::vector<Verb>{Verb::post});
}

TEST_F(RouterTest, AllowedListHasNoDuplicates) {
  add(Verb::get, "/v1/things/{id}");
  add(Verb::get, "/v1/things/special");
  Match m = router_.match(Verb::post, "/v1/things/special");
  EXPECT_EQ(m.allowed, std::vector<Verb>{Verb::get});
}

TEST_F(RouterTest, TrailingSlashAndEmptySegmentsDoNotMatch) {
  add(Verb::get, "/v1/things");
  add(Verb::get, "/v1/things/{id}");
  add(Verb::get, "/");
  EXPECT_EQ(matched(Verb::get, "/v1/things"), "/v1/things");
  EXPECT_EQ(matched(Verb::get, "/v1/things/"), "");  // a parameter is never empty
  EXPECT_EQ(matched(Verb::get, "/v1//things"), "");
  EXPECT_EQ(matched(Verb::get, "//v1/things"), "");
  EXPECT_EQ(matched(Verb::get, "/v1/things/a/"), "");
  EXPECT_EQ(matched(Verb::get, "/"), "/");
  EXPECT_TRUE(router_.match(Verb::post, "/v1/things/").allowed.empty());
}

TEST_F(RouterTest, AddingARouteTwiceIsAProgrammingError) {
  add(Verb::get, "/v1/x");
  EXPECT_THROW(add(Verb::get, "/v1/x"), std::logic_error);
  EXPECT_NO_THROW(add(Verb::post, "/v1/x"));
}

TEST_F(RouterTest, ObserveCountsByRouteMethodAndStatus) {
  add(Verb::get, "/v1/things/{id}");
  const Route* r = router_.match(Verb::get, "/v1/things/1").route;
  ASSERT_NE(r, nullptr);
  router_.observe(r, Verb::get, 200, 0.002);
  router_.observe(r, Verb::get, 200, 0.003);
  router_.observe(r, Verb::get, 404, 0.001);
  router_.observe(nullptr, Verb::post, 404, 0.001);
  router_.observe(nullptr, Verb::get, 1000, 0.001);  // out of range: counted as 599
  std::string out = metrics_.render();
  EXPECT_NE(out.find("ringhouse_http_requests_total{route=\"/v1/things/"
                     "{id}\",method=\"GET\",status=\"200\"} 2\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("ringhouse_http_requests_total{route=\"/v1/things/"
                     "{id}\",method=\"GET\",status=\"404\"} 1\n"),
            std::string::npos)
      << out;
  EXPECT_NE(
      out.find(
          "ringhouse_http_requests_total{route=\"unmatched\",method=\"any\",status=\"404\"} 1\n"),
      std::string::npos)
      << out;
  EXPECT_NE(
      out.find(
          "ringhouse_http_requests_total{route=\"unmatched\",method=\"any\",status=\"599\"} 1\n"),
      std::string::npos)
      << out;
  EXPECT_NE(
      out.find("ringhouse_http_request_duration_seconds_count{route=\"/v1/things/{id}\"} 3\n"),
      std::string::npos)
      << out;
}

TEST(PercentDecode, DecodesEscapes) {
  EXPECT_EQ(percent_decode("", false), "");
  EXPECT_EQ(percent_decode("plain", false), "plain");
  EXPECT_EQ(percent_decode("%41%62%2b", false), "Ab+");
  EXPECT_EQ(percent_decode("%e2%9c%93", false), "\xe2\x9c\x93");
  EXPECT_EQ(percent_decode("a%00b", false), std::string("a\0b", 3));
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_EQ(percent_decode("%2B", true), "+");
}

TEST(PercentDecode, BadEscapesAreRejected) {
  for (const char* bad : {"%", "%4", "a%", "%g0", "%0g", "%%41", "abc%2"}) {
    EXPECT_FALSE(percent_decode(bad, false).has_value()) << bad;
    EXPECT_FALSE(percent_decode(bad, true).has_value()) << bad;
  }
}

TEST(QueryParam, FindsDecodesAndTakesTheFirst) {
  Request req;
  RequestContext ctx{.req = req, .query = "a=1&b=x%20y&c=d+e&flag&a=2&x%5By%5D=z&empty="};
  EXPECT_EQ(ctx.query_param("a"), "1");
  EXPECT_EQ(ctx.query_param("b"), "x y");
  EXPECT_EQ(ctx.query_param("c"), "d e");
  EXPECT_EQ(ctx.query_param("flag"), "");
  EXPECT_EQ(ctx.query_param("empty"), "");
  EXPECT_EQ(ctx.query_param("x[y]"), "z");
  EXPECT_FALSE(ctx.query_param("missing").has_value());
  EXPECT_FALSE(ctx.query_param("A").has_value());  // names are case-sensitive
}

TEST(QueryParam, MalformedValueIsAbsent) {
  Request req;
  RequestContext ctx{.req = req, .query = "bad=%G1&ok=1"};
  EXPECT_FALSE(ctx.query_param("bad").has_value());
  EXPECT_EQ(ctx.query_param("ok"), "1");
}

TEST(QueryParam, EmptyQuery) {
  Request req;
  RequestContext ctx{.req = req};
  EXPECT_FALSE(ctx.query_param("a").has_value());
}

TEST(RequestHeaders, LookupIsCaseInsensitive) {
  Request req;
  req.set("X-Request-Id", "abc");
  RequestContext ctx{.req = req};
  EXPECT_EQ(ctx.header("x-request-id"), "abc");
  EXPECT_EQ(ctx.header("X-Missing"), "");
}

TEST_F(RouterTest, FallbackTakesUnmatchedGetsOutsideReservedPaths) {
  add(Verb::get, "/v1/things/{id}");
  add(Verb::post, "/app/save");
  EXPECT_EQ(matched(Verb::get, "/conversations/42"), "");  // no fallback yet: 404
  router_.set_fallback(noop(), RouteInfo{"web app"}, {"/v1/", "/healthz"});
  EXPECT_EQ(matched(Verb::get, "/conversations/42"), "/*");
  EXPECT_EQ(matched(Verb::head, "/"), "/*");
  EXPECT_EQ(matched(Verb::get, "/v1/things/t_1"), "/v1/things/{id}");
  // Reserved paths keep their 404; other methods are not the fallback's.
  EXPECT_EQ(matched(Verb::get, "/v1/unknown"), "");
  EXPECT_EQ(matched(Verb::get, "/v1"), "");
  EXPECT_EQ(matched(Verb::get, "/healthz"), "");
  EXPECT_EQ(matched(Verb::get, "/healthz2"), "/*");
  EXPECT_EQ(matched(Verb::get, "/v10"), "/*");
  EXPECT_EQ(matched(Verb::post, "/conversations/42"), "");
  // A path that exists with another method stays a 405.
  Match m = router_.match(Verb::get, "/app/save");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allowed, std::vector<Verb>{Verb::post});
  // The fallback is no route of the listing.
  for (const auto& r : router_.routes()) EXPECT_NE(r->pattern, "/*");
}

}  // namespace
}  // namespace rh::http
