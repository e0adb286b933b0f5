#include "http/settings.hpp"

#include <thread>

namespace rh::http {

void declare_config(config::Schema& s) {
  s.string("http.address", "127.0.0.1",
           "Address the HTTP server listens on; 0.0.0.0 or :: for every interface.");
  s.integer("http.port", 8080,
            "TCP port of the HTTP server; 0 picks a free port (written to "
            "<data_dir>/run/http.json).",
            0, 65535);
  s.integer("http.threads", 0, "I/O threads serving HTTP; 0 means one per CPU core.", 0, 256);
  s.integer("http.max_header_bytes", 16384,
            "Largest request header block accepted; larger gets 431.", 1024, 1048576);
  s.integer(
      "http.max_body_bytes", 1048576,
      "Largest request body accepted by default; larger gets 413. Routes such as media upload "
      "set their own.",
      0, 1073741824);
  s.integer("http.request_timeout_ms", 15000,
            "Time a connection has to deliver a complete request (headers and body), counted from "
            "the end of the previous response; covers keep-alive idle time and slow senders.",
            100, 3600000);
  s.integer("http.write_timeout_ms", 30000, "Time allowed to write a response.", 100, 3600000);
  s.integer("http.max_connections", 10000,
            "Open connections allowed at once; new ones beyond it are closed at accept.", 1,
            1000000);
  s.integer("http.drain_timeout_ms", 20000,
            "On SIGTERM, how long in-flight requests may take to finish before the process exits.",
            0, 600000);
  s.list("http.cors_origins", {},
         "Origins allowed to call the API from a browser (exact, e.g. https://app.example.com), "
         "or \"*\". Empty: no CORS headers.");
  s.list("http.trusted_proxies", {},
         "Addresses of reverse proxies (nginx) whose X-Forwarded-For names the client and whose "
         "X-Forwarded-Proto: https marks a request as HTTPS (the web app then sends HSTS); the "
         "client address is used for login throttling and shown in sessions.");
  s.string("http.public_url", "",
           "The URL users reach this server at, printed at start-up and used in links; empty "
           "means http://localhost:<port>.");
  s.string("web.dir", "web/dist",
           "Directory of the browser app's built files (npm --prefix web run build), served at / "
           "for every GET that no API route answers; relative to the working directory. Empty: "
           "no web app.");
}

ServerOptions server_options(const config::Config& c) {
  ServerOptions o;
  o.address = c.string("http.address");
  o.port = static_cast<std::uint16_t>(c.integer("http.port"));
  o.max_header_bytes = static_cast<std::size_t>(c.integer("http.max_header_bytes"));
  o.max_body_bytes = static_cast<std::size_t>(c.integer("http.max_body_bytes"));
  o.request_timeout = std::chrono::milliseconds(c.integer("http.request_timeout_ms"));
  o.write_timeout = std::chrono::milliseconds(c.integer("http.write_timeout_ms"));
  o.max_connections = static_cast<std::size_t>(c.integer("http.max_connections"));
  o.cors_origins = c.list("http.cors_origins");
  return o;
}

WebAppOptions web_app_options(const config::Config& c) {
  return WebAppOptions{c.string("web.dir")};
}

}  // namespace rh::http
