#include "support/http_client.hpp"

#include <poll.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

namespace rh::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

std::string HttpResponse::header(const std::string& name) const {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = headers.find(lower);
  return it == headers.end() ? "" : it->second;
}

boost::json::value HttpResponse::json() const {
  return boost::json::parse(body);
}

HttpResponse http(std::uint16_t port, const HttpRequest& r, std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(timeout);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(r.method), r.target, 11};
  req.set(bhttp::field::host, "localhost");
  for (const auto& [k, v] : r.headers) req.set(k, v);
  req.body() = r.body;
  if (!r.body.empty() || r.method == "POST" || r.method == "PATCH" || r.method == "PUT")
    req.prepare_payload();
  bhttp::write(stream, req);
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (r.method == "HEAD") parser.skip(true);
  bhttp::read(stream, buf, parser);
  auto& res = parser.get();
  HttpResponse out;
  out.status = res.result_int();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  out.body = res.body();
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

HttpResponse http_get(std::uint16_t port, const std::string& target, const std::string& token) {
  HttpRequest r;
  r.target = target;
  if (!token.empty()) r.headers["Authorization"] = "Bearer " + token;
  return http(port, r);
}

HttpResponse http_json(std::uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body, const std::string& token, const std::string& host) {
  HttpRequest r;
  if (!host.empty()) r.headers["Host"] = host;
  r.method = method;
  r.target = target;
  r.body = body;
  r.headers["Content-Type"] = "application/json";
  if (!token.empty()) r.headers["Authorization"] = "Bearer " + token;
  return http(port, r);
}

RawResult raw_exchange(std::uint16_t port, const std::string& bytes,
                       std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  RawResult out;
  boost::system::error_code ec;
  if (!bytes.empty()) asio::write(sock, asio::buffer(bytes), ec);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      out.timed_out = true;
      break;
    }
    pollfd p{sock.native_handle(), POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n == 0) {
      out.timed_out = true;
      break;
    }
    std::size_t got = sock.read_some(asio::buffer(buf), ec);
    if (ec) {
      out.closed = true;
      break;
    }
    out.received.append(buf, got);
  }
  return out;
}

int raw_status(const std::string& received) {
  if (received.rfind("HTTP/1.1 ", 0) != 0 || received.size() < 12) return 0;
  return std::stoi(received.substr(9, 3));
}

}  // namespace rh::test
