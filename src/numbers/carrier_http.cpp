#include "numbers/carrier_http.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "core/log.hpp"

namespace rh::numbers {

namespace {

constexpr int kMaxRedirects = 3;
constexpr std::size_t kMaxCarrierText = 300;

void curl_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// The URL without its query, for logs and messages.
std::string url_for_log(const std::string& url) {
  return url.substr(0, url.find('?'));
}

struct Origin {
  std::string scheme;
  std::string host;
  std::string port;
};

// The scheme, host and port of an absolute http(s) URL; nullopt otherwise.
std::optional<Origin> origin_of(const std::string& url) {
  std::unique_ptr<CURLU, void (*)(CURLU*)> u(curl_url(), curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return std::nullopt;
  auto part = [&](CURLUPart p, unsigned flags) -> std::optional<std::string> {
    char* out = nullptr;
    if (curl_url_get(u.get(), p, &out, flags) != CURLUE_OK || out == nullptr) return std::nullopt;
    std::string s(out);
    curl_free(out);
    return s;
  };
  auto scheme = part(CURLUPART_SCHEME, 0);
  auto host = part(CURLUPART_HOST, 0);
  auto port = part(CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (!scheme || !host || !port) return std::nullopt;
  std::string sch = lower(*scheme);
  if (sch != "http" && sch != "https") return std::nullopt;
  return Origin{sch, lower(*host), *port};
}

struct Capture {
  CarrierResponse* response;
  std::size_t max_body;
  bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* cap = static_cast<Capture*>(user);
  std::size_t len = size * n;
  if (cap->response->body.size() + len > cap->max_body) {
    cap->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  cap->response->body.append(data, len);
  return len;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* cap = static_cast<Capture*>(user);
  std::size_t len = size * n;
  std::string_view line(data, len);
  if (line.starts_with("HTTP/")) {
    cap->response->headers.clear();  // a new response (after a 100 Continue)
    return len;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return len;
  std::string name = lower(trim(line.substr(0, colon)));
  std::string value(trim(line.substr(colon + 1)));
  auto [it, fresh] = cap->response->headers.emplace(name, value);
  if (!fresh) it->second += ", " + value;
  return len;
}

// One exchange, no retry, no redirect.
struct Exchange {
  CURLcode rc = CURLE_OK;
  std::string error;  // curl's message when rc != OK
  bool too_large = false;
  std::string redirect_url;  // Location resolved against the request URL
  CarrierResponse response;
};

Exchange perform(const CarrierRequest& req, const std::string& method, const std::string& url,
                 const CarrierHttpOptions& o) {
  Exchange ex;
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    ex.rc = CURLE_OUT_OF_MEMORY;
    ex.error = "cannot create a libcurl handle";
    return ex;
  }
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(nullptr, curl_slist_free_all);
  auto add_header = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next != nullptr) {
      (void)headers.release();
      headers.reset(next);
    }
  };
  for (const auto& [k, v] : req.headers) add_header(k + ": " + v);
  add_header("Expect:");  // no 100-continue round trip for larger bodies

  std::array<char, CURL_ERROR_SIZE> errbuf{};
  Capture cap{&ex.response, o.max_body};
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);  // redirects are ours to check
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout_ms));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.timeout_ms));
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(o.max_body));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf.data());
  curl_easy_setopt(h, CURLOPT_USERAGENT, "ringhouse");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &cap);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &cap);
  if (!req.basic_user.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(h, CURLOPT_USERNAME, req.basic_user.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, req.basic_password.c_str());
  }
  if (method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  bool sends_body = !req.body.empty() ? method != "GET"
                                      : (method == "POST" || method == "PUT" || method == "PATCH");
  if (sends_body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.c_str());
  }

  ex.rc = curl_easy_perform(h);
  ex.too_large = cap.too_large || ex.rc == CURLE_FILESIZE_EXCEEDED;
  if (ex.rc != CURLE_OK) {
    ex.error = errbuf[0] != '\0' ? std::string(errbuf.data()) : curl_easy_strerror(ex.rc);
    return ex;
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  ex.response.status = status;
  char* location = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location != nullptr)
    ex.redirect_url = location;
  return ex;
}

bool retryable(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

bool retryable(long status) {
  return status == 429 || (status >= 500 && status <= 599);
}

const char* call_name(CarrierCall call) {
  switch (call) {
    case CarrierCall::search:
      return "number search";
    case CarrierCall::order:
      return "number order";
    case CarrierCall::order_status:
      return "order status";
    case CarrierCall::release:
      return "number release";
  }
  return "request";
}

Result<int> int_setting(const std::map<std::string, std::string>& s, const std::string& key,
                        int fallback, int min, int max) {
  auto it = s.find(key);
  if (it == s.end() || it->second.empty()) return fallback;
  const std::string& v = it->second;
  int out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out < min || out > max) {
    return Error(Errc::invalid_argument, "settings." + key,
                 fmt::format("settings.{} must be a whole number from {} to {}", key, min, max));
  }
  return out;
}

}  // namespace

// The carrier's text made safe for a message: printable, one line, short.
std::string clean_carrier_text(std::string_view text) {
  std::string out;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    out += (c < 0x20 || c == 0x7F) ? ' ' : ch;
    if (out.size() >= kMaxCarrierText) {
      out += "...";
      break;
    }
  }
  return std::string(trim(out));
}

std::string CarrierResponse::header(std::string_view name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

CarrierHttp::CarrierHttp(CarrierHttpOptions o, SleepFn sleep)
    : opts_(std::move(o)), sleep_(std::move(sleep)) {
  if (!sleep_) sleep_ = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  opts_.max_attempts = std::max(1, opts_.max_attempts);
  curl_init_once();
}

Result<CarrierResponse> CarrierHttp::send(const CarrierRequest& request) const {
  auto origin = origin_of(request.url);
  if (!origin) {
    return Error(Errc::invalid_argument, "settings.base_url",
                 fmt::format("{}: '{}' is not an http:// or https:// URL", opts_.carrier,
                             url_for_log(request.url)));
  }
  auto logger = log::get("numbers");
  std::string last_error;
  for (int attempt = 1;; ++attempt) {
    std::string method = request.method;
    std::string url = request.url;
    Exchange ex;
    for (int hop = 0;; ++hop) {
      ex = perform(request, method, url, opts_);
      long st = ex.response.status;
      bool redirect = ex.rc == CURLE_OK && st >= 300 && st <= 399 && !ex.redirect_url.empty();
      if (!redirect) break;
      auto target = origin_of(ex.redirect_url);
      bool same_origin = target && target->scheme == origin->scheme &&
                         target->host == origin->host && target->port == origin->port;
      bool keeps_method = st == 307 || st == 308;
      bool get_like = method == "GET" && (st == 301 || st == 302 || st == 303);
      if (!same_origin || hop >= kMaxRedirects || (!keeps_method && !get_like)) {
        Error e = make_reason(
            Errc::unavailable, "provider_bad_response",
            fmt::format("{}: {} {} answered HTTP {} redirecting to {}; not followed", opts_.carrier,
                        method, url_for_log(url), st, url_for_log(ex.redirect_url)));
        return e;
      }
      url = ex.redirect_url;
    }

    if (ex.too_large) {
      return make_reason(Errc::unavailable, "provider_bad_response",
                         fmt::format("{}: the answer to {} {} is larger than {} bytes",
                                     opts_.carrier, method, url_for_log(url), opts_.max_body));
    }
    bool again = attempt < opts_.max_attempts;
    std::chrono::milliseconds wait{0};
    if (ex.rc != CURLE_OK) {
      last_error = ex.error;
      if (!retryable(ex.rc) || !again) {
        Error e = make_reason(
            Errc::unavailable, "provider_unavailable",
            fmt::format("{}: {} {} failed after {} attempt{}: {}", opts_.carrier, method,
                        url_for_log(url), attempt, attempt == 1 ? "" : "s", ex.error));
        e.retry_after_s = opts_.unavailable_retry_after_s;
        return e;
      }
      wait = backoff_delay(attempt, opts_.retry_base_ms, opts_.max_wait_ms);
      logger->warn("{}: {} {} attempt {}/{} failed: {}; retrying in {} ms", opts_.carrier, method,
                   url_for_log(url), attempt, opts_.max_attempts, ex.error, wait.count());
    } else {
      CarrierResponse& r = ex.response;
      r.attempts = attempt;
      std::string ra = r.header("retry-after");
      if (!ra.empty()) {
        r.retry_after_s = std::max<std::int64_t>(0, parse_retry_after(ra, std::time(nullptr)));
      }
      if (!retryable(r.status) || !again) return std::move(r);
      if (!ra.empty() && parse_retry_after(ra, std::time(nullptr)) >= 0) {
        wait = std::chrono::milliseconds(
            std::min<std::int64_t>(r.retry_after_s * 1000, opts_.max_wait_ms));
      } else {
        wait = backoff_delay(attempt, opts_.retry_base_ms, opts_.max_wait_ms);
      }
      logger->warn("{}: {} {} answered HTTP {} (attempt {}/{}); retrying in {} ms", opts_.carrier,
                   method, url_for_log(url), r.status, attempt, opts_.max_attempts, wait.count());
    }
    if (wait.count() > 0) sleep_(wait);
  }
}

Result<CarrierHttpOptions> http_options_from(const std::string& carrier,
                                             const std::map<std::string, std::string>& settings) {
  CarrierHttpOptions o;
  o.carrier = carrier;
  RH_ASSIGN(o.timeout_ms, int_setting(settings, "timeout_ms", 10'000, 1, 600'000));
  RH_ASSIGN(o.max_attempts, int_setting(settings, "max_attempts", 4, 1, 10));
  RH_ASSIGN(o.retry_base_ms, int_setting(settings, "retry_base_ms", 200, 0, 60'000));
  return o;
}

std::chrono::milliseconds backoff_delay(int retry, int base_ms, int max_ms) {
  if (base_ms <= 0) return std::chrono::milliseconds(0);
  std::int64_t d = base_ms;
  for (int i = 1; i < retry && d < max_ms; ++i) d *= 2;
  d = std::min<std::int64_t>(d, max_ms);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::int64_t half = d / 2;
  std::uniform_int_distribution<std::int64_t> jitter(0, d - half);
  return std::chrono::milliseconds(half + jitter(rng));
}

std::int64_t parse_retry_after(std::string_view value, std::int64_t now_s) {
  value = trim(value);
  if (value.empty()) return -1;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t s = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), s);
    if (ec != std::errc()) return 86'400;  // absurdly large: the caller caps it
    return s;
  }
  std::string copy(value);
  std::time_t at = curl_getdate(copy.c_str(), nullptr);
  if (at == static_cast<std::time_t>(-1)) return -1;
  return std::max<std::int64_t>(0, static_cast<std::int64_t>(at) - now_s);
}

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    }
  }
  return out;
}

std::string query_string(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    out += out.empty() ? '?' : '&';
    out += k;
    out += '=';
    out += percent_encode(v);
  }
  return out;
}

Error carrier_error(const std::string& carrier, CarrierCall call, const CarrierResponse& r,
                    const std::string& carrier_text, int default_retry_after_s) {
  std::string text = clean_carrier_text(carrier_text);
  std::string said =
      text.empty() ? fmt::format("HTTP {}", r.status) : fmt::format("HTTP {}: {}", r.status, text);
  long s = r.status;
  if (s == 401 || s == 403) {
    return make_reason(
        Errc::unavailable, "provider_auth_failed",
        fmt::format("{} refused the configured credentials ({}); check the provider settings",
                    carrier, said));
  }
  if (call == CarrierCall::order && (s == 404 || s == 409 || s == 422)) {
    return make_reason(Errc::conflict, "number_unavailable",
                       fmt::format("{} cannot sell this number ({})", carrier, said));
  }
  if (retryable(s)) {
    Error e = make_reason(Errc::unavailable, "provider_unavailable",
                          fmt::format("{} is unavailable ({}, after {} attempt{}); try again later",
                                      carrier, said, r.attempts, r.attempts == 1 ? "" : "s"));
    e.retry_after_s = r.retry_after_s > 0 ? r.retry_after_s : default_retry_after_s;
    return e;
  }
  if (s >= 400 && s <= 499) {
    return make_reason(Errc::unavailable, "provider_rejected",
                       fmt::format("{} rejected the {} ({})", carrier, call_name(call), said));
  }
  return make_reason(
      Errc::unavailable, "provider_bad_response",
      fmt::format("{} answered the {} with an unexpected {}", carrier, call_name(call), said));
}

Error bad_response(const std::string& carrier, const std::string& what, const CarrierResponse& r) {
  std::string snippet = clean_carrier_text(std::string_view(r.body).substr(0, 120));
  return make_reason(
      Errc::unavailable, "provider_bad_response",
      fmt::format("{} answered HTTP {} but {}{}", carrier, r.status, what,
                  snippet.empty() ? std::string(" (empty body)") : " (body: " + snippet + ")"));
}

}  // namespace rh::numbers
