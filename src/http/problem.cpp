#include "http/problem.hpp"

#include <fmt/format.h>

#include <boost/beast/http/field.hpp>
#include <boost/json.hpp>
#include <charconv>

namespace rh::http {

namespace json = boost::json;

Response problem(unsigned status, std::string_view code, std::string_view title,
                 std::string_view detail, const std::vector<FieldProblem>& errors,
                 const json::object& extra) {
  json::object o = extra;
  o["type"] = fmt::format("https://ringhouse.dev/problems/{}", code);
  o["title"] = title;
  o["status"] = status;
  if (!detail.empty()) o["detail"] = detail;
  o["code"] = code;
  if (!errors.empty()) {
    json::array arr;
    for (const auto& e : errors)
      arr.push_back(json::object{{"field", e.field}, {"detail", e.detail}});
    o["errors"] = std::move(arr);
  }
  Response res{static_cast<Status>(status), 11};
  res.set(bhttp::field::content_type, "application/problem+json");
  res.body() = json::serialize(o);
  res.prepare_payload();
  return res;
}

namespace {

Response problem_for(const Error& e, const std::string& request_id) {
  std::vector<FieldProblem> fields;
  if (!e.field.empty()) fields.push_back({e.field, e.message});
  auto code = [&](std::string_view def) -> std::string_view {
    return e.reason.empty() ? def : std::string_view(e.reason);
  };
  switch (e.code) {
    case Errc::invalid_argument:
      return problem(422, code("validation_failed"), "The request is not valid", e.message, fields);
    case Errc::not_found:
      return problem(404, code("not_found"), "Not found", e.message);
    case Errc::conflict:
      return problem(409, code("conflict"), "Conflict", e.message, fields);
    case Errc::payment_required:
      return problem(402, code("payment_required"), "Payment required", e.message);
    case Errc::precondition:
      return problem(409, code("invalid_state"), "Not allowed in this state", e.message);
    case Errc::unauthorized: {
      Response r = problem(401, code("unauthorized"), "Authentication required", e.message);
      r.set(bhttp::field::www_authenticate, "Bearer realm=\"ringhouse\"");
      return r;
    }
    case Errc::forbidden:
      return problem(403, code("forbidden"), "Forbidden", e.message);
    case Errc::too_many:
      return problem(429, code("rate_limited"), "Too many requests", e.message);
    case Errc::unavailable:
      return problem(
          503, code("unavailable"), "Service temporarily unavailable",
          // A dependency's message may name hosts: only ours are shown.
          e.reason.empty() ? "a dependency is unavailable; try again shortly" : e.message);
    case Errc::timeout:
      return problem(504, code("timeout"), "Timed out", e.message);
    case Errc::internal:
      break;
  }
  return problem(500, "internal_error", "Internal server error",
                 "an unexpected error occurred; quote request id " + request_id + " to support");
}

}  // namespace

Response problem_from_error(const Error& e, const std::string& request_id) {
  Response r = problem_for(e, request_id);
  if (e.retry_after_s > 0 && (e.code == Errc::too_many || e.code == Errc::unavailable))
    r.set(bhttp::field::retry_after, std::to_string(e.retry_after_s));
  return r;
}

Response json_response(unsigned status, const json::value& body) {
  Response res{static_cast<Status>(status), 11};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = json::serialize(body);
  res.prepare_payload();
  return res;
}

Response text_response(unsigned status, std::string body, std::string_view content_type) {
  Response res{static_cast<Status>(status), 11};
  res.set(bhttp::field::content_type,
          boost::beast::string_view(content_type.data(), content_type.size()));
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response no_content() {
  Response res{Status::no_content, 11};
  res.prepare_payload();
  return res;
}

JsonBody read_json_object(const Request& req) {
  JsonBody out;
  auto ct = req[bhttp::field::content_type];
  std::string_view type(ct.data(), ct.size());
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  std::string lower;
  for (char c : type) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool is_json = lower == "application/json" ||
                 (lower.size() > 5 && lower.rfind("+json") == lower.size() - 5 &&
                  lower.rfind("application/", 0) == 0);
  if (!is_json) {
    out.error = problem(415, "unsupported_media_type", "Unsupported media type",
                        "send the body as application/json");
    return out;
  }
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 32;
  json::value v = json::parse(req.body(), ec, {}, opts);
  if (ec) {
    out.error = problem(400, "malformed_json", "Malformed JSON",
                        "the body is not valid JSON: " + ec.message());
    return out;
  }
  if (!v.is_object()) {
    out.error = problem(422, "validation_failed", "The request is not valid",
                        "the body must be a JSON object");
    return out;
  }
  out.object = std::move(v.as_object());
  return out;
}

std::string FieldReader::path(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
}

std::optional<std::string> FieldReader::string(std::string_view key) {
  auto* v = o_.if_contains(key);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    problems_.push_back({path(key), "must be a string"});
    return std::nullopt;
  }
  return std::string(v->as_string());
}

std::optional<std::int64_t> FieldReader::integer(std::string_view key) {
  auto* v = o_.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->as_uint64());
  problems_.push_back({path(key), "must be an integer"});
  return std::nullopt;
}

std::optional<bool> FieldReader::boolean(std::string_view key) {
  auto* v = o_.if_contains(key);
  if (!v) return std::nullopt;
  if (!v->is_bool()) {
    problems_.push_back({path(key), "must be true or false"});
    return std::nullopt;
  }
  return v->as_bool();
}

std::optional<std::vector<std::string>> FieldReader::string_list(std::string_view key) {
  auto* v = o_.if_contains(key);
  if (!v) return std::nullopt;
  if (!v->is_array()) {
    problems_.push_back({path(key), "must be an array of strings"});
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& el : v->as_array()) {
    if (!el.is_string()) {
      problems_.push_back({path(key), "must be an array of strings"});
      return std::nullopt;
    }
    out.emplace_back(el.as_string());
  }
  return out;
}

const json::object* FieldReader::object(std::string_view key) {
  auto* v = o_.if_contains(key);
  if (!v) return nullptr;
  if (!v->is_object()) {
    problems_.push_back({path(key), "must be an object"});
    return nullptr;
  }
  return &v->as_object();
}

void FieldReader::reject_unknown(std::initializer_list<std::string_view> known) {
  reject_unknown(std::span<const std::string_view>(known.begin(), known.size()));
}

void FieldReader::reject_unknown(std::span<const std::string_view> known) {
  for (const auto& [k, v] : o_) {
    bool ok = false;
    for (auto n : known) ok |= (n == std::string_view(k.data(), k.size()));
    if (!ok)
      problems_.push_back({path(std::string_view(k.data(), k.size())), "is not a known field"});
  }
}

void FieldReader::merge(FieldReader& child) {
  for (auto& p : child.problems_) problems_.push_back(std::move(p));
  child.problems_.clear();
}

Response validation_problem(const std::vector<FieldProblem>& errors) {
  std::string detail = errors.empty() ? "" : errors.front().field + " " + errors.front().detail;
  return problem(422, "validation_failed", "The request is not valid", detail, errors);
}

std::optional<Page> read_page(const RequestContext& ctx, int def, int max, Response& error) {
  Page p;
  p.limit = def;
  if (auto l = ctx.query_param("limit")) {
    int v = 0;
    auto [ptr, ec] = std::from_chars(l->data(), l->data() + l->size(), v);
    if (ec != std::errc() || ptr != l->data() + l->size() || v < 1 || v > max) {
      error = problem(400, "bad_parameter", "Bad query parameter",
                      fmt::format("limit must be an integer from 1 to {}", max));
      return std::nullopt;
    }
    p.limit = v;
  }
  if (auto a = ctx.query_param("after")) {
    if (a->size() > 100) {
      error = problem(400, "bad_parameter", "Bad query parameter", "after is not a valid cursor");
      return std::nullopt;
    }
    p.after = *a;
  }
  return p;
}

}  // namespace rh::http
