// The HTTP/1.1 server: Boost.Beast on C++20 coroutines, a strand per
// connection, keep-alive, limits on header and body size, a deadline for
// reading each request (a slow or partial request cannot pin a connection),
// request ids, access log, CORS, metrics, and a graceful drain on shutdown.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/metrics.hpp"
#include "http/router.hpp"

namespace rh::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port (see Server::port())
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  // Reading the whole request, incl. keep-alive idle; not the handler's time.
  std::chrono::milliseconds request_timeout{15'000};
  std::chrono::milliseconds write_timeout{30'000};
  std::size_t max_connections = 10'000;
  std::vector<std::string> cors_origins;  // exact origins, or "*"
  std::chrono::seconds cors_max_age{600};
};

class Server {
 public:
  Server(boost::asio::io_context& ioc, Router& router, metrics::Registry& metrics, ServerOptions o);
  ~Server();

  // Binds and starts accepting; throws std::runtime_error when it cannot bind.
  void start();
  std::uint16_t port() const { return bound_port_; }

  // Stops accepting, closes idle connections, lets in-flight requests finish
  // (their responses carry Connection: close), then calls on_drained once.
  // Safe to call from any thread.
  void shutdown(std::function<void()> on_drained);
  bool draining() const { return draining_.load(); }
  std::size_t connections() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
  std::uint16_t bound_port_ = 0;
  std::atomic<bool> draining_{false};
};

}  // namespace rh::http
