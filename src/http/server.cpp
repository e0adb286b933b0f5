#include "http/server.hpp"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "core/ids.hpp"
#include "core/log.hpp"
#include "http/problem.hpp"

namespace rh::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using asio::use_awaitable;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

namespace {

bool valid_request_id(std::string_view v) {
  if (v.empty() || v.size() > 64) return false;
  for (char c : v) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string_view sv(beast::string_view s) {
  return {s.data(), s.size()};
}

std::string allow_list(const std::vector<Verb>& verbs) {
  std::string out;
  for (auto v : verbs) {
    if (!out.empty()) out += ", ";
    out += sv(bhttp::to_string(v));
  }
  return out;
}

}  // namespace

// One live connection, tracked so that shutdown can close the idle ones.
struct Connection {
  explicit Connection(tcp::socket s) : stream(std::move(s)) {}
  beast::tcp_stream stream;
  std::atomic<bool> busy{false};  // handling a request (between read and write)
  bool timed_out = false;         // the read deadline passed (strand only)
};

class Server::Impl : public std::enable_shared_from_this<Server::Impl> {
 public:
  Impl(asio::io_context& ioc, Router& router, metrics::Registry& metrics, ServerOptions o,
       std::atomic<bool>& draining)
      : ioc_(ioc),
        acceptor_(asio::make_strand(ioc)),
        router_(router),
        opts_(std::move(o)),
        draining_(draining),
        logger_(log::get("http")),
        access_(log::access()),
        rejected_(metrics.counter("ringhouse_http_connections_rejected_total",
                                  "Connections refused because max_connections was reached")),
        in_flight_(metrics.gauge("ringhouse_http_requests_in_flight",
                                 "Requests received (headers read) and not yet answered")) {
    metrics.add_collector([this]() -> std::vector<metrics::Sample> {
      return {{"ringhouse_http_connections",
               "Open HTTP connections",
               "gauge",
               {},
               static_cast<double>(connection_count())}};
    });
  }

  std::uint16_t listen() {
    tcp::endpoint ep(asio::ip::make_address(opts_.address), opts_.port);
    boost::system::error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw std::runtime_error(
          fmt::format("cannot listen on {}:{}: {}", opts_.address, opts_.port, ec.message()));
    }
    auto self = shared_from_this();
    asio::co_spawn(acceptor_.get_executor(), accept_loop(), [self](std::exception_ptr e) {
      if (e) self->log_exception("accept loop", e);
    });
    return acceptor_.local_endpoint().port();
  }

  void begin_shutdown(std::function<void()> on_drained) {
    {
      std::lock_guard lk(mu_);
      on_drained_ = std::move(on_drained);
    }
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ec;
      self->acceptor_.close(ec);
    });
    // Idle connections (waiting for a request) are closed now; busy ones
    // close after writing their response.
    std::vector<std::shared_ptr<Connection>> conns;
    {
      std::lock_guard lk(mu_);
      conns.assign(conns_.begin(), conns_.end());
    }
    for (auto& c : conns) {
      asio::post(c->stream.get_executor(), [c] {
        if (!c->busy.load()) {
          boost::system::error_code ec;
          c->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
          c->stream.socket().close(ec);
        }
      });
    }
    maybe_drained();
  }

  std::size_t connection_count() const {
    std::lock_guard lk(mu_);
    return conns_.size();
  }

 private:
  void log_exception(const char* what, std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      logger_->error("{}: {}", what, ex.what());
    }
  }

  void maybe_drained() {
    std::function<void()> fn;
    {
      std::lock_guard lk(mu_);
      if (!draining_.load() || !conns_.empty() || !on_drained_ || accepting_) return;
      fn = std::move(on_drained_);
      on_drained_ = nullptr;
    }
    fn();
  }

  asio::awaitable<void> accept_loop() {
    {
      std::lock_guard lk(mu_);
      accepting_ = true;
    }
    for (;;) {
      auto [ec, sock] = co_await acceptor_.async_accept(asio::make_strand(ioc_), tuple_awaitable);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open() || draining_) break;
        if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space) {
          logger_->warn("accept: {}", ec.message());
          asio::steady_timer t(acceptor_.get_executor(), std::chrono::milliseconds(50));
          co_await t.async_wait(tuple_awaitable);
        }
        continue;
      }
      if (connection_count() >= opts_.max_connections) {
        rejected_.inc();
        boost::system::error_code ignored;
        sock.close(ignored);
        continue;
      }
      sock.set_option(tcp::no_delay(true), ec);
      auto conn = std::make_shared<Connection>(std::move(sock));
      {
        std::lock_guard lk(mu_);
        conns_.insert(conn);
      }
      auto self = shared_from_this();
      auto exec = conn->stream.get_executor();
      asio::co_spawn(exec, session(conn), [self, conn](std::exception_ptr e) {
        if (e) self->log_exception("connection", e);
        {
          std::lock_guard lk(self->mu_);
          self->conns_.erase(conn);
        }
        self->maybe_drained();
      });
    }
    {
      std::lock_guard lk(mu_);
      accepting_ = false;
    }
    maybe_drained();
  }

  // Sends a response to a request that could not be read, then the caller closes.
  asio::awaitable<void> send_error(Connection& c, unsigned status, std::string_view code,
                                   std::string_view title, std::string_view detail) {
    Response res = problem(status, code, title, detail);
    std::string rid = new_id("req");
    res.set("X-Request-Id", rid);
    res.keep_alive(false);
    c.stream.expires_after(std::chrono::seconds(5));
    co_await bhttp::async_write(c.stream, res, tuple_awaitable);
    router_.observe(nullptr, Verb::unknown, status, 0);
    if (access_)
      access_->info("{} - - {} {} request-id={} reason={}", remote_of(c), status, 0, rid, code);
  }

  static std::string remote_of(Connection& c) {
    boost::system::error_code ec;
    auto ep = c.stream.socket().remote_endpoint(ec);
    return ec ? "-" : ep.address().to_string();
  }

  asio::awaitable<void> session(std::shared_ptr<Connection> conn) {
    Connection& c = *conn;
    beast::flat_buffer buffer;
    std::string remote = remote_of(c);
    // The read deadline cancels the read (rather than closing the socket, as
    // tcp_stream's own timeout does) so that a late request still gets a 408.
    asio::steady_timer deadline(c.stream.get_executor());
    auto arm = [&deadline, conn](std::chrono::milliseconds d) {
      conn->timed_out = false;
      deadline.expires_after(d);
      deadline.async_wait([conn](boost::system::error_code ec) {
        if (ec) return;
        conn->timed_out = true;
        boost::system::error_code ignored;
        conn->stream.socket().cancel(ignored);
      });
    };
    for (;;) {
      if (draining_) break;
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(opts_.max_header_bytes));
      parser.body_limit(opts_.max_body_bytes);
      // One deadline for the whole request, header and body, counted from the
      // end of the previous response: idle keep-alive and slow senders alike.
      c.stream.expires_never();
      arm(opts_.request_timeout);
      auto [ec, n] = co_await bhttp::async_read_header(c.stream, buffer, parser, tuple_awaitable);
      if (ec) {
        deadline.cancel();
        co_await on_read_error(c, ec, parser.got_some() || buffer.size() > 0);
        co_return;
      }
      c.busy = true;
      in_flight_.add(1);
      struct InFlight {
        Connection& c;
        metrics::Gauge& g;
        ~InFlight() {
          c.busy = false;
          g.add(-1);
        }
      } in_flight_guard{c, in_flight_};
      auto& hdr = parser.get();
      std::string target(sv(hdr.target()));
      auto qpos = target.find('?');
      std::string_view path = std::string_view(target).substr(0, qpos);
      Match m = router_.match(hdr.method(), path);
      std::size_t limit =
          m.route && m.route->info.max_body ? m.route->info.max_body : opts_.max_body_bytes;
      if (auto len = parser.content_length(); len && *len > limit) {
        co_await send_error(c, 413, "body_too_large", "Request body too large",
                            fmt::format("the body may be at most {} bytes", limit));
        co_return;
      }
      parser.body_limit(limit);
      if (beast::iequals(hdr[bhttp::field::expect], "100-continue")) {
        bhttp::response<bhttp::empty_body> cont{Status::continue_, 11};
        auto [wec, wn] = co_await bhttp::async_write(c.stream, cont, tuple_awaitable);
        if (wec) co_return;
      }
      if (!parser.is_done()) {
        auto [bec, bn] = co_await bhttp::async_read(c.stream, buffer, parser, tuple_awaitable);
        if (bec) {
          deadline.cancel();
          co_await on_read_error(c, bec, true);
          co_return;
        }
      }
      // No deadline runs while the handler does: a long poll (GET /v1/events)
      // may take its time. The write has its own deadline.
      deadline.cancel();
      auto started = std::chrono::steady_clock::now();
      Request req = parser.release();
      bool keep_alive = req.keep_alive();
      Response res =
          co_await handle(req, m, remote, path,
                          qpos == std::string::npos ? std::string_view()
                                                    : std::string_view(target).substr(qpos + 1));
      keep_alive = keep_alive && !draining_;
      res.keep_alive(keep_alive);
      double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      router_.observe(m.route, req.method(), res.result_int(), secs);
      if (access_) {
        access_->info("{} {} {} {} {} {:.3f}ms request-id={}", remote, sv(req.method_string()),
                      target, res.result_int(), res.body().size(), secs * 1000,
                      sv(res["X-Request-Id"]));
      }
      c.stream.expires_after(opts_.write_timeout);
      auto [wec, wn] = co_await bhttp::async_write(c.stream, res, tuple_awaitable);
      if (wec || !keep_alive) break;
    }
    boost::system::error_code ec;
    c.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    c.stream.socket().close(ec);
  }

  asio::awaitable<void> on_read_error(Connection& c, boost::system::error_code ec, bool partial) {
    if (c.timed_out) ec = beast::error::timeout;
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == asio::error::bad_descriptor) {
      co_return;
    }
    if (ec == beast::error::timeout) {
      if (partial) {
        co_await send_error(c, 408, "request_timeout", "Request timeout",
                            "the request was not received in time");
      }
      co_return;
    }
    if (ec == bhttp::error::header_limit) {
      co_await send_error(
          c, 431, "headers_too_large", "Request header fields too large",
          fmt::format("the request headers may be at most {} bytes", opts_.max_header_bytes));
    } else if (ec == bhttp::error::body_limit) {
      co_await send_error(c, 413, "body_too_large", "Request body too large",
                          "the body is too large");
    } else if (ec == bhttp::error::partial_message) {
      // The peer closed mid-request; nobody to answer.
    } else {
      co_await send_error(c, 400, "bad_request", "Bad request",
                          "malformed HTTP request: " + ec.message());
    }
  }

  void apply_cors(const Request& req, Response& res) {
    if (opts_.cors_origins.empty()) return;
    auto origin = sv(req[bhttp::field::origin]);
    if (origin.empty()) return;
    bool any = false, match = false;
    for (const auto& o : opts_.cors_origins) {
      any |= o == "*";
      match |= o == origin;
    }
    if (!any && !match) return;
    res.set(bhttp::field::access_control_allow_origin,
            any && !match ? std::string("*") : std::string(origin));
    res.set(bhttp::field::vary, "Origin");
    res.set(bhttp::field::access_control_expose_headers, "X-Request-Id, Retry-After, Location");
  }

  asio::awaitable<Response> handle(Request& req, const Match& m, const std::string& remote,
                                   std::string_view path, std::string_view query) {
    std::string rid;
    auto given = sv(req["X-Request-Id"]);
    rid = valid_request_id(given) ? std::string(given) : new_id("req");
    Response res;
    bool preflight =
        req.method() == Verb::options && !req[bhttp::field::access_control_request_method].empty();
    if (preflight && (m.route || !m.allowed.empty())) {
      res = no_content();
      std::vector<Verb> verbs = m.allowed;
      if (m.route) verbs.push_back(m.route->method);
      apply_cors(req, res);
      if (res.find(bhttp::field::access_control_allow_origin) != res.end()) {
        res.set(bhttp::field::access_control_allow_methods, allow_list(verbs));
        res.set(bhttp::field::access_control_allow_headers,
                "Authorization, Content-Type, Idempotency-Key, X-Request-Id");
        res.set(bhttp::field::access_control_max_age, std::to_string(opts_.cors_max_age.count()));
      }
    } else if (m.bad_escape) {
      res = problem(400, "bad_request", "Bad request", "the path has a malformed percent-escape");
    } else if (!m.route && !m.allowed.empty()) {
      res = problem(405, "method_not_allowed", "Method not allowed",
                    fmt::format("{} is not allowed here; use {}", sv(req.method_string()),
                                allow_list(m.allowed)));
      res.set(bhttp::field::allow, allow_list(m.allowed));
    } else if (!m.route) {
      res = problem(404, "not_found", "Not found", "no such route: " + std::string(path));
    } else {
      RequestContext ctx{req, rid, remote, path, query, m.params, m.route};
      std::string failure;
      try {
        res = co_await m.route->handler(ctx);
      } catch (const std::exception& e) {
        failure = e.what();
      } catch (...) {
        failure = "unknown exception";
      }
      if (!failure.empty()) {
        logger_->error("request {} {} {} failed: {}", rid, sv(req.method_string()), path, failure);
        res = problem(500, "internal_error", "Internal server error",
                      "an unexpected error occurred; quote request id " + rid + " to support");
      }
    }
    if (!preflight) apply_cors(req, res);
    res.set("X-Request-Id", rid);
    if (res.find(bhttp::field::cache_control) == res.end())
      res.set(bhttp::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    // Nothing of ours is meant to be framed (the web app says so in its CSP too).
    if (res.find(bhttp::field::x_frame_options) == res.end())
      res.set(bhttp::field::x_frame_options, "DENY");
    if (req.method() == Verb::head) {
      // Beast keeps Content-Length from prepare_payload; drop the body.
      res.body().clear();
    }
    co_return res;
  }

  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  Router& router_;
  ServerOptions opts_;
  std::atomic<bool>& draining_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<spdlog::logger> access_;  // nullptr when the access log is off
  metrics::Counter& rejected_;
  metrics::Gauge& in_flight_;
  mutable std::mutex mu_;
  std::set<std::shared_ptr<Connection>> conns_;
  std::function<void()> on_drained_;
  bool accepting_ = false;
};

Server::Server(asio::io_context& ioc, Router& router, metrics::Registry& metrics, ServerOptions o)
    : impl_(std::make_shared<Impl>(ioc, router, metrics, std::move(o), draining_)) {}

Server::~Server() = default;

void Server::start() {
  bound_port_ = impl_->listen();
}

void Server::shutdown(std::function<void()> on_drained) {
  draining_ = true;
  impl_->begin_shutdown(std::move(on_drained));
}

std::size_t Server::connections() const {
  return impl_->connection_count();
}

}  // namespace rh::http
