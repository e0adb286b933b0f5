#include "http/web_app.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <boost/beast/http/field.hpp>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/log.hpp"
#include "http/problem.hpp"

namespace rh::http {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob: https:; media-src 'self' blob:; font-src 'self'; "
    "connect-src 'self' ws: wss:; worker-src 'self'; manifest-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view header_of(const Request& req, bhttp::field f) {
  auto v = req[f];
  return {v.data(), v.size()};
}

// The items of a comma-separated header (Accept, Accept-Encoding), each
// without its parameters, and its quality (1 unless q= says otherwise).
struct Item {
  std::string value;  // lower-case
  double q = 1;
};
std::vector<Item> header_items(std::string_view h) {
  std::vector<Item> out;
  while (!h.empty()) {
    auto comma = h.find(',');
    std::string_view part = h.substr(0, comma);
    h = comma == std::string_view::npos ? std::string_view() : h.substr(comma + 1);
    auto semi = part.find(';');
    Item it{lower(trim(part.substr(0, semi))), 1};
    while (semi != std::string_view::npos) {
      part = part.substr(semi + 1);
      semi = part.find(';');
      auto param = trim(part.substr(0, semi));
      if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
        auto v = param.substr(2);
        double q = 1;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), q);
        if (ec == std::errc() && p == v.data() + v.size()) it.q = q;
      }
    }
    if (!it.value.empty()) out.push_back(std::move(it));
  }
  return out;
}

bool accepts_gzip(const Request& req) {
  std::optional<double> gzip, any;
  for (const auto& it : header_items(header_of(req, bhttp::field::accept_encoding))) {
    if (it.value == "gzip" || it.value == "x-gzip") gzip = it.q;
    if (it.value == "*") any = it.q;
  }
  if (gzip) return *gzip > 0;
  return any && *any > 0;
}

bool wants_html(const Request& req) {
  for (const auto& it : header_items(header_of(req, bhttp::field::accept)))
    if (it.value == "text/html" && it.q > 0) return true;
  return false;
}

// If-None-Match against our ETag, by weak comparison (RFC 9110 13.1.2).
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    auto comma = if_none_match.find(',');
    auto tag = trim(if_none_match.substr(0, comma));
    if_none_match =
        comma == std::string_view::npos ? std::string_view() : if_none_match.substr(comma + 1);
    if (tag == "*") return true;
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

struct FileRef {
  std::string path;  // canonical
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
};

// The regular file `candidate` names, once every symlink is followed, when
// it is inside `root` (canonical) and no part of its real path under root is
// a dotfile.
std::optional<FileRef> find_file(const fs::path& root, const fs::path& candidate) {
  std::error_code ec;
  fs::path real = fs::canonical(candidate, ec);
  if (ec) return std::nullopt;
  std::string prefix = root.native();
  if (prefix.empty() || prefix.back() != '/') prefix += '/';
  const std::string& r = real.native();
  if (r.size() <= prefix.size() || r.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  std::string_view rel = std::string_view(r).substr(prefix.size());
  if (rel.front() == '.' || rel.find("/.") != std::string_view::npos) return std::nullopt;
  struct stat st {};
  if (::stat(r.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return FileRef{r, static_cast<std::int64_t>(st.st_size),
                 static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(out).str();
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

std::optional<std::string> web_file_path(std::string_view p) {
  if (p.empty() || p.front() != '/') return std::nullopt;
  // An encoded '/' or '\' would change how the path splits; NUL ends C strings.
  for (std::size_t i = 0; i + 2 < p.size(); ++i) {
    if (p[i] != '%' || !is_hex(p[i + 1]) || !is_hex(p[i + 2])) continue;
    std::string esc = lower(p.substr(i + 1, 2));
    if (esc == "2f" || esc == "5c" || esc == "00") return std::nullopt;
  }
  auto decoded = percent_decode(p, false);
  if (!decoded) return std::nullopt;
  for (unsigned char c : *decoded)
    if (c < 0x20 || c == 0x7f || c == '\\') return std::nullopt;
  std::string_view rest = std::string_view(*decoded).substr(1);
  std::size_t i = 0;
  for (;;) {
    auto j = rest.find('/', i);
    bool last = j == std::string_view::npos;
    auto seg = rest.substr(i, last ? std::string_view::npos : j - i);
    if (seg.empty() && !last) return std::nullopt;                // "//"
    if (!seg.empty() && seg.front() == '.') return std::nullopt;  // ".", "..", dotfiles
    if (last) break;
    i = j + 1;
  }
  return std::string(rest);
}

std::string_view web_content_type(std::string_view name) {
  auto dot = name.rfind('.');
  auto slash = name.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
    return "application/octet-stream";
  std::string ext = lower(name.substr(dot + 1));
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {"html", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"json", "application/json"},
      {"webmanifest", "application/manifest+json"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"ico", "image/x-icon"},
      {"webp", "image/webp"},
      {"woff2", "font/woff2"},
      {"woff", "font/woff"},
      {"txt", "text/plain; charset=utf-8"},
      {"map", "application/json"},
      {"wasm", "application/wasm"},
  };
  for (const auto& [e, type] : kTypes)
    if (e == ext) return type;
  return "application/octet-stream";
}

void set_web_app_headers(Response& r, bool https) {
  r.set("Content-Security-Policy",
        boost::beast::string_view(kContentSecurityPolicy.data(), kContentSecurityPolicy.size()));
  r.set("X-Content-Type-Options", "nosniff");
  r.set(bhttp::field::x_frame_options, "DENY");
  r.set("Referrer-Policy", "same-origin");
  r.set("Permissions-Policy", "camera=(), geolocation=(), microphone=(self)");
  if (https) r.set(bhttp::field::strict_transport_security, "max-age=31536000");
}

std::string WebApp::check() const {
  if (o_.dir.empty()) return "web.dir is empty";
  std::error_code ec;
  fs::path root = fs::canonical(o_.dir, ec);
  if (ec || !fs::is_directory(root, ec))
    return fmt::format("web.dir {} does not exist (run `npm --prefix web run build`)", o_.dir);
  if (!find_file(root, root / "index.html"))
    return fmt::format("web.dir {} has no index.html (run `npm --prefix web run build`)",
                       root.string());
  return {};
}

Response WebApp::serve(const Request& req, std::string_view path, bool https) const {
  auto finish = [https](Response r) {
    set_web_app_headers(r, https);
    return r;
  };
  std::error_code ec;
  fs::path root = fs::canonical(o_.dir, ec);
  std::optional<FileRef> index;
  if (!ec) index = find_file(root, root / "index.html");
  if (!index) {
    return finish(problem(404, "web_app_not_built", "Web app not built",
                          "the web app is not built: run `npm --prefix web run build` and "
                          "reload"));
  }
  auto rel = web_file_path(path);
  if (!rel) return finish(problem(404, "not_found", "Not found", "no such file"));
  std::optional<FileRef> file;
  bool immutable = false;
  if (rel->empty()) {
    file = index;
  } else if (rel->back() != '/') {
    file = find_file(root, root / *rel);
    // Vite's output under assets/ is named by a hash of its content.
    immutable = file && rel->rfind("assets/", 0) == 0;
  }
  if (!file) {
    // A page of the app itself (a client-side route): the app's shell.
    std::string_view last = std::string_view(*rel).substr(rel->rfind('/') + 1);
    if (last.find('.') != std::string_view::npos || !wants_html(req))
      return finish(problem(404, "not_found", "Not found", "no such file: " + std::string(path)));
    file = index;
  }
  auto gz = find_file(root, file->path + ".gz");
  const bool use_gz = gz && accepts_gzip(req);
  const FileRef& sent = use_gz ? *gz : *file;
  std::string etag = fmt::format("\"{:x}-{:x}{}\"", sent.size, sent.mtime_ns, use_gz ? "-gz" : "");
  auto describe = [&](Response& r) {
    r.set(bhttp::field::etag, etag);
    r.set(bhttp::field::cache_control, immutable ? kImmutable : std::string_view("no-cache"));
    if (gz) r.set(bhttp::field::vary, "Accept-Encoding");
  };
  if (auto inm = header_of(req, bhttp::field::if_none_match);
      !inm.empty() && etag_matches(inm, etag)) {
    Response r{Status::not_modified, 11};
    describe(r);
    return finish(std::move(r));
  }
  auto body = read_file(sent.path);
  if (!body) {
    log::get("http")->warn("web app: cannot read {}", sent.path);
    return finish(problem(500, "internal_error", "Internal server error",
                          "a file of the web app cannot be read"));
  }
  Response r = text_response(200, std::move(*body), web_content_type(file->path));
  if (use_gz) r.set(bhttp::field::content_encoding, "gzip");
  describe(r);
  return finish(std::move(r));
}

}  // namespace rh::http
