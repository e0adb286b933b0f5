#include "http/problem.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace rh::http {
namespace {

namespace json = boost::json;

json::object body_of(const Response& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body(), ec);
  EXPECT_FALSE(ec) << r.body();
  return v.is_object() ? v.as_object() : json::object{};
}

std::string content_type(const Response& r) {
  return std::string(r[bhttp::field::content_type]);
}

Request json_request(std::string_view type, std::string body) {
  Request req{Verb::post, "/", 11};
  if (!type.empty()) req.set(bhttp::field::content_type, type);
  req.body() = std::move(body);
  return req;
}

TEST(Problem, HasTheRfc9457Members) {
  Response r = problem(409, "conflict", "Conflict", "it clashes", {{"slug", "taken"}},
                       json::object{{"retry", true}});
  EXPECT_EQ(r.result_int(), 409u);
  EXPECT_EQ(content_type(r), "application/problem+json");
  json::object o = body_of(r);
  EXPECT_EQ(o["type"], "https://ringhouse.dev/problems/conflict");
  EXPECT_EQ(o["title"], "Conflict");
  EXPECT_EQ(o["status"], 409);
  EXPECT_EQ(o["detail"], "it clashes");
  EXPECT_EQ(o["code"], "conflict");
  EXPECT_EQ(o["retry"], true);
  ASSERT_TRUE(o["errors"].is_array());
  EXPECT_EQ(o["errors"].as_array().at(0), (json::object{{"field", "slug"}, {"detail", "taken"}}));
  EXPECT_EQ(r[bhttp::field::content_length], std::to_string(r.body().size()));
}

TEST(Problem, EmptyDetailIsLeftOut) {
  json::object o = body_of(problem(404, "not_found", "Not found", ""));
  EXPECT_FALSE(o.contains("detail"));
  EXPECT_FALSE(o.contains("errors"));
}

struct Mapping {
  Errc code;
  unsigned status;
  const char* name;
};

TEST(ProblemFromError, MapsEveryErrorCode) {
  for (const Mapping& m :
       {Mapping{Errc::invalid_argument, 422, "validation_failed"},
        Mapping{Errc::not_found, 404, "not_found"}, Mapping{Errc::conflict, 409, "conflict"},
        Mapping{Errc::precondition, 409, "invalid_state"},
        Mapping{Errc::unauthorized, 401, "unauthorized"},
        Mapping{Errc::forbidden, 403, "forbidden"}, Mapping{Errc::too_many, 429, "rate_limited"},
        Mapping{Errc::unavailable, 503, "unavailable"}, Mapping{Errc::timeout, 504, "timeout"},
        Mapping{Errc::internal, 500, "internal_error"}}) {
    SCOPED_TRACE(errc_name(m.code));
    Response r = problem_from_error(Error(m.code, "msg"), "req_1");
    EXPECT_EQ(r.result_int(), m.status);
    EXPECT_EQ(content_type(r), "application/problem+json");
    json::object o = body_of(r);
    EXPECT_EQ(o["code"], m.name);
    EXPECT_EQ(o["status"], m.status);
  }
}

TEST(ProblemFromError, ValidationAndConflictNameTheField) {
  json::object v = body_of(problem_from_error(
      Error(Errc::invalid_argument, "branding.primary_color", "must be a colour"), "req_1"));
  EXPECT_EQ(v["detail"], "must be a colour");
  ASSERT_TRUE(v["errors"].is_array());
  EXPECT_EQ(v["errors"].as_array().at(0).as_object().at("field"), "branding.primary_color");

  json::object c = body_of(problem_from_error(Error(Errc::conflict, "slug", "taken"), "req_1"));
  ASSERT_TRUE(c["errors"].is_array());
  EXPECT_EQ(c["errors"].as_array().at(0).as_object().at("field"), "slug");

  json::object n = body_of(problem_from_error(Error(Errc::not_found, "no such tenant"), "req_1"));
  EXPECT_EQ(n["detail"], "no such tenant");
  EXPECT_FALSE(n.contains("errors"));
}

TEST(ProblemFromError, InternalErrorDoesNotLeakItsMessage) {
  const std::string secret = "sqlite prepare: no such table secret_table [in: SELECT password]";
  Response r = problem_from_error(Error(Errc::internal, secret), "req_42");
  EXPECT_EQ(r.result_int(), 500u);
  EXPECT_EQ(r.body().find("secret_table"), std::string::npos) << r.body();
  EXPECT_EQ(r.body().find("password"), std::string::npos) << r.body();
  json::object o = body_of(r);
  // The caller gets the request id to quote instead.
  EXPECT_NE(std::string(o["detail"].as_string()).find("req_42"), std::string::npos);
}

TEST(ProblemFromError, UnavailableDoesNotLeakItsMessage) {
  Response r = problem_from_error(
      Error(Errc::unavailable, "mariadb: cannot connect to 10.0.0.5:3306: Access denied"), "req_1");
  EXPECT_EQ(r.result_int(), 503u);
  EXPECT_EQ(r.body().find("10.0.0.5"), std::string::npos) << r.body();
}

TEST(ReadJsonObject, AcceptsJsonObjects) {
  for (const char* type :
       {"application/json", "application/json; charset=utf-8", "Application/JSON",
        "application/merge-patch+json", "application/vnd.ringhouse+json ; charset=utf-8"}) {
    SCOPED_TRACE(type);
    JsonBody b = read_json_object(json_request(type, R"({"name":"x","n":1})"));
    ASSERT_FALSE(b.error.has_value()) << b.error->body();
    ASSERT_TRUE(b.object.has_value());
    EXPECT_EQ(b.object->at("name"), "x");
  }
}

TEST(ReadJsonObject, OtherMediaTypesGet415) {
  for (const char* type : {"text/plain", "", "text/json", "application/jsonx", "+json",
                           "application/x-www-form-urlencoded"}) {
    SCOPED_TRACE(type);
    JsonBody b = read_json_object(json_request(type, R"({"name":"x"})"));
    ASSERT_TRUE(b.error.has_value());
    EXPECT_EQ(b.error->result_int(), 415u);
    EXPECT_EQ(body_of(*b.error)["code"], "unsupported_media_type");
    EXPECT_FALSE(b.object.has_value());
  }
}

TEST(ReadJsonObject, MalformedJsonGets400) {
  for (const char* body : {"", "{", "{\"a\":}", "{\"a\":1} trailing", "{'a':1}"}) {
    SCOPED_TRACE(body);
    JsonBody b = read_json_object(json_request("application/json", body));
    ASSERT_TRUE(b.error.has_value());
    EXPECT_EQ(b.error->result_int(), 400u);
    EXPECT_EQ(body_of(*b.error)["code"], "malformed_json");
  }
}

TEST(ReadJsonObject, DeepNestingGets400) {
  std::string deep = "{\"a\":" + std::string(40, '[') + std::string(40, ']') + "}";
  JsonBody b = read_json_object(json_request("application/json", deep));
  ASSERT_TRUE(b.error.has_value());
  EXPECT_EQ(b.error->result_int(), 400u);
}

TEST(ReadJsonObject, NonObjectGets422) {
  for (const char* body : {"[1,2]", "\"text\"", "3", "null"}) {
    SCOPED_TRACE(body);
    JsonBody b = read_json_object(json_request("application/json", body));
    ASSERT_TRUE(b.error.has_value());
    EXPECT_EQ(b.error->result_int(), 422u);
    EXPECT_EQ(body_of(*b.error)["code"], "validation_failed");
  }
}

TEST(FieldReader, ReadsPresentFieldsOfTheRightType) {
  json::object o = json::parse(
                       R"({"s":"x","i":-5,"u":18446744073709551615,"big":9223372036854775807,
                            "b":false,"l":["a","b"],"o":{"k":1}})")
                       .as_object();
  FieldReader f(o);
  EXPECT_EQ(f.string("s"), "x");
  EXPECT_EQ(f.integer("i"), -5);
  EXPECT_EQ(f.integer("big"), INT64_MAX);
  EXPECT_EQ(f.boolean("b"), false);
  EXPECT_EQ(f.string_list("l"), (std::vector<std::string>{"a", "b"}));
  ASSERT_NE(f.object("o"), nullptr);
  EXPECT_EQ(f.object("o")->at("k"), 1);
  // Absent fields are not problems.
  EXPECT_FALSE(f.string("absent").has_value());
  EXPECT_FALSE(f.integer("absent").has_value());
  EXPECT_EQ(f.object("absent"), nullptr);
  EXPECT_TRUE(f.problems().empty());
  // Larger than int64 is a problem, not a wrap-around.
  EXPECT_FALSE(f.integer("u").has_value());
  ASSERT_EQ(f.problems().size(), 1u);
  EXPECT_EQ(f.problems()[0].field, "u");
}

TEST(FieldReader, WrongTypesAreReportedWithTheFieldPath) {
  json::object o = json::parse(R"({"name":1,"count":"3","ratio":1.5,"on":"yes",
                                   "hosts":["a",2],"tags":"a","branding":{"primary_color":7}})")
                       .as_object();
  FieldReader f(o);
  EXPECT_FALSE(f.string("name").has_value());
  EXPECT_FALSE(f.integer("count").has_value());
  EXPECT_FALSE(f.integer("ratio").has_value());
  EXPECT_FALSE(f.boolean("on").has_value());
  EXPECT_FALSE(f.string_list("hosts").has_value());
  EXPECT_FALSE(f.string_list("tags").has_value());
  const json::object* branding = f.object("branding");
  ASSERT_NE(branding, nullptr);
  FieldReader b(*branding, "branding");
  EXPECT_FALSE(b.string("primary_color").has_value());
  f.merge(b);
  EXPECT_TRUE(b.problems().empty());

  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& p : f.problems()) got.emplace_back(p.field, p.detail);
  std::vector<std::pair<std::string, std::string>> want{
      {"name", "must be a string"},
      {"count", "must be an integer"},
      {"ratio", "must be an integer"},
      {"on", "must be true or false"},
      {"hosts", "must be an array of strings"},
      {"tags", "must be an array of strings"},
      {"branding.primary_color", "must be a string"}};
  EXPECT_EQ(got, want);
}

TEST(FieldReader, ObjectOfTheWrongType) {
  json::object o{{"branding", "blue"}};
  FieldReader f(o);
  EXPECT_EQ(f.object("branding"), nullptr);
  ASSERT_EQ(f.problems().size(), 1u);
  EXPECT_EQ(f.problems()[0].field, "branding");
  EXPECT_EQ(f.problems()[0].detail, "must be an object");
}

TEST(FieldReader, RejectUnknownReportsEachUnknownField) {
  json::object o{{"name", "x"}, {"colour", "#fff"}, {"extra", 1}};
  FieldReader f(o, "branding");
  f.reject_unknown({"name", "primary_color"});
  std::vector<std::string> fields;
  for (const auto& p : f.problems()) {
    fields.push_back(p.field);
    EXPECT_EQ(p.detail, "is not a known field");
  }
  std::sort(fields.begin(), fields.end());
  EXPECT_EQ(fields, (std::vector<std::string>{"branding.colour", "branding.extra"}));
}

TEST(FieldReader, ValidationProblemSummarisesTheFirstField) {
  Response r = validation_problem({{"slug", "is required"}, {"name", "is required"}});
  EXPECT_EQ(r.result_int(), 422u);
  json::object o = body_of(r);
  EXPECT_EQ(o["detail"], "slug is required");
  EXPECT_EQ(o["errors"].as_array().size(), 2u);
}

TEST(ReadPage, DefaultsAndBounds) {
  Request req;
  Response err;
  RequestContext none{.req = req};
  auto p = read_page(none, 50, 500, err);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->limit, 50);
  EXPECT_EQ(p->after, "");

  RequestContext ok{.req = req, .query = "limit=500&after=ten_1"};
  p = read_page(ok, 50, 500, err);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->limit, 500);
  EXPECT_EQ(p->after, "ten_1");

  for (const char* q : {"limit=0", "limit=501", "limit=x", "limit=5x", "limit=", "limit=-1"}) {
    SCOPED_TRACE(q);
    RequestContext bad{.req = req, .query = q};
    EXPECT_FALSE(read_page(bad, 50, 500, err).has_value());
    EXPECT_EQ(err.result_int(), 400u);
    EXPECT_EQ(body_of(err)["code"], "bad_parameter");
  }
  std::string long_after = "after=" + std::string(101, 'a');
  RequestContext bad_after{.req = req, .query = long_after};
  EXPECT_FALSE(read_page(bad_after, 50, 500, err).has_value());
  EXPECT_EQ(err.result_int(), 400u);
}

TEST(Responses, JsonTextAndNoContent) {
  Response j = json_response(201, json::object{{"id", "x"}});
  EXPECT_EQ(j.result_int(), 201u);
  EXPECT_EQ(content_type(j), "application/json");
  EXPECT_EQ(j.body(), R"({"id":"x"})");
  Response t = text_response(200, "ok\n", "text/plain; charset=utf-8");
  EXPECT_EQ(content_type(t), "text/plain; charset=utf-8");
  EXPECT_EQ(t.body(), "ok\n");
  Response n = no_content();
  EXPECT_EQ(n.result_int(), 204u);
  EXPECT_TRUE(n.body().empty());
}

}  // namespace
}  // namespace rh::http
