// The browser app's files (web.dir: Vite's build output) served on the API's
// origin. Paths are percent-decoded and resolved strictly inside the
// directory: no `..`, no dotfiles, no encoded separators, no NUL, no way out
// through symlinks. Vite's content-hashed files under /assets/ are cached
// for a year, everything else (index.html, sw.js, the manifest, icons) is
// revalidated by ETag. A `<file>.gz` beside a file is sent to clients that
// accept gzip. A page navigation to a path with no file (a client-side
// route such as /conversations/42) gets index.html. Every answer carries the
// app's security headers (CSP, nosniff, DENY framing; HSTS over HTTPS).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/types.hpp"

namespace rh::http {

struct WebAppOptions {
  std::string dir;  // relative to the working directory; empty: no web app
};

class WebApp {
 public:
  explicit WebApp(WebAppOptions o) : o_(std::move(o)) {}

  const std::string& dir() const { return o_.dir; }
  // Empty when the app is there to serve; else why not (the start-up warning).
  std::string check() const;

  // The answer to a GET or HEAD of `path` (the request path, still
  // percent-encoded, without the query). Reads files: call it off the I/O
  // threads. `https`: the request reached the server over TLS (adds HSTS).
  Response serve(const Request& req, std::string_view path, bool https) const;

 private:
  WebAppOptions o_;
};

// The file path under the app's directory that a request path names
// ("assets/app.js"; "" for "/"), or nullopt when it is refused: malformed
// escapes, encoded '/' or '\', NUL or control characters, empty, "." or
// ".." segments, dotfiles.
std::optional<std::string> web_file_path(std::string_view request_path);

// The Content-Type of a file by its extension.
std::string_view web_content_type(std::string_view file_name);

// The security headers of every web-app response.
void set_web_app_headers(Response& r, bool https);

}  // namespace rh::http
