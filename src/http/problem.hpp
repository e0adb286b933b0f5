// RFC 9457 problem details (application/problem+json) and JSON helpers for
// handlers: reading a JSON body with clear 4xx answers, typed field access
// that reports the offending field, and JSON responses.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "http/types.hpp"

namespace rh::http {

struct FieldProblem {
  std::string field;  // JSON pointer-ish path: "branding.primary_color"
  std::string detail;
};

// A problem response. `code` is a stable machine-readable name
// ("validation_failed", "not_found"), also used in the type URI.
Response problem(unsigned status, std::string_view code, std::string_view title,
                 std::string_view detail, const std::vector<FieldProblem>& errors = {},
                 const boost::json::object& extra = {});

// Maps an expected failure to its problem response. Internal errors are not
// described to the caller (the log has them, under the request id).
Response problem_from_error(const Error& e, const std::string& request_id);

Response json_response(unsigned status, const boost::json::value& body);
Response text_response(unsigned status, std::string body, std::string_view content_type);
Response no_content();

// Reads the body as a JSON object: 415 for another content type, 400 for
// malformed JSON, 422 when it is not an object. Returns the response to send
// on failure.
struct JsonBody {
  std::optional<boost::json::object> object;
  std::optional<Response> error;
};
JsonBody read_json_object(const Request& req);

// Typed reads of an optional field, collecting problems: a field present
// with the wrong type adds a FieldProblem and yields nullopt.
class FieldReader {
 public:
  explicit FieldReader(const boost::json::object& o, std::string prefix = {})
      : o_(o), prefix_(std::move(prefix)) {}
  std::optional<std::string> string(std::string_view key);
  std::optional<std::int64_t> integer(std::string_view key);
  std::optional<bool> boolean(std::string_view key);
  std::optional<std::vector<std::string>> string_list(std::string_view key);
  const boost::json::object* object(std::string_view key);
  // Fields not among `known` are reported as unknown.
  void reject_unknown(std::initializer_list<std::string_view> known);
  void reject_unknown(std::span<const std::string_view> known);
  std::vector<FieldProblem>& problems() { return problems_; }
  void merge(FieldReader& child);

 private:
  std::string path(std::string_view key) const;
  const boost::json::object& o_;
  std::string prefix_;
  std::vector<FieldProblem> problems_;
};

Response validation_problem(const std::vector<FieldProblem>& errors);

// Reads `limit` (1..max, default def) and `after` cursor parameters.
struct Page {
  int limit = 50;
  std::string after;
};
std::optional<Page> read_page(const RequestContext& ctx, int def, int max, Response& error);

}  // namespace rh::http
