// A small blocking HTTP/1.1 client for tests (Beast), plus raw socket
// exchanges for malformed and slow requests.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace rh::test {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& name) const;
  boost::json::value json() const;  // throws on invalid JSON
};

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";
  std::string body;
  std::map<std::string, std::string> headers;
};

// One request on a new connection.
HttpResponse http(std::uint16_t port, const HttpRequest& req,
                  std::chrono::milliseconds timeout = std::chrono::seconds(30));
HttpResponse http_get(std::uint16_t port, const std::string& target, const std::string& token = "");
// host: the Host header (the tenant); empty for "localhost".
HttpResponse http_json(std::uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body, const std::string& token = "",
                       const std::string& host = "");

// Sends raw bytes and returns everything the server sends back until it
// closes the connection or `timeout` passes (then `timed_out` is set).
struct RawResult {
  std::string received;
  bool closed = false;
  bool timed_out = false;
};
RawResult raw_exchange(std::uint16_t port, const std::string& bytes,
                       std::chrono::milliseconds timeout);

// Parses the status code of the first response in raw bytes (0 if none).
int raw_status(const std::string& received);

}  // namespace rh::test
