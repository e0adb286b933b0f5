#include "accounts/mail.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cerrno>
#include <ctime>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>

#include "accounts/users.hpp"
#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"

namespace rh::accounts {

using storage::Connection;
using storage::Value;

namespace {

constexpr const char* kCols =
    "id, tenant_id, to_address, subject, body, kind, status, attempts, last_error, created_at, "
    "sent_at";

constexpr std::size_t kMaxAddress = 254;
constexpr std::size_t kMaxSubject = 998;
constexpr std::size_t kMaxBody = 1024 * 1024;
constexpr std::size_t kMaxLine = 998;  // RFC 5322 2.1.1, without the line ending

Status invalid(const std::string& field, const std::string& msg) {
  return Error(Errc::invalid_argument, field, field + ": " + msg);
}

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    // Overlong forms, surrogates and values past U+10FFFF.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

// RFC 5322 atext, the characters of an unquoted local part (besides '.').
bool is_atext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+/=?^_`{|}~-").find(c) != std::string_view::npos;
}

// One plain address, local@domain: a dot-atom local part and a host name (or
// an IPv4 literal in brackets is not accepted: nobody signs up with one). No
// display name, no comments, no second address, ASCII only (we do not
// negotiate SMTPUTF8).
bool plausible_address(std::string_view a) {
  if (a.empty() || a.size() > kMaxAddress) return false;
  auto at = a.find('@');
  if (at == std::string_view::npos || a.find('@', at + 1) != std::string_view::npos) return false;
  auto local = a.substr(0, at);
  auto domain = a.substr(at + 1);
  if (local.empty() || local.size() > 64 || local.front() == '.' || local.back() == '.' ||
      local.find("..") != std::string_view::npos)
    return false;
  for (char c : local) {
    if (!is_atext(c) && c != '.') return false;
  }
  if (domain.empty() || domain.size() > 253) return false;
  std::size_t start = 0;
  while (start <= domain.size()) {
    auto end = domain.find('.', start);
    if (end == std::string_view::npos) end = domain.size();
    auto label = domain.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label) {
      bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

bool has_control(std::string_view s, bool allow_tab) {
  return std::any_of(s.begin(), s.end(), [allow_tab](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return (c < 0x20 && !(allow_tab && c == '\t')) || c == 0x7F;
  });
}

// The body's lines, whatever its line endings (CRLF, LF or CR).
std::vector<std::string_view> body_lines(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) {
      out.push_back(text.substr(start));
      break;
    }
    out.push_back(text.substr(start, end - start));
    start = end + ((text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n') ? 2 : 1);
  }
  return out;
}

Status validate(const Email& e) {
  if (e.tenant_id.empty() || e.tenant_id.size() > 40 || has_control(e.tenant_id, false))
    return invalid("tenant_id", "must be a tenant id");
  if (!plausible_address(e.to)) return invalid("to", "must be one email address (local@domain)");
  if (e.subject.empty()) return invalid("subject", "is required");
  if (e.subject.size() > kMaxSubject)
    return invalid("subject", fmt::format("must be at most {} bytes", kMaxSubject));
  if (has_control(e.subject, true))
    return invalid("subject", "must be one line without control characters");
  if (!valid_utf8(e.subject)) return invalid("subject", "must be UTF-8");
  if (e.text.size() > kMaxBody)
    return invalid("text", fmt::format("must be at most {} bytes", kMaxBody));
  if (!valid_utf8(e.text)) return invalid("text", "must be UTF-8");
  if (e.text.find('\0') != std::string::npos) return invalid("text", "must not contain NUL");
  for (auto line : body_lines(e.text)) {
    if (line.size() > kMaxLine)
      return invalid("text", fmt::format("lines must be at most {} bytes", kMaxLine));
  }
  if (e.kind.empty() || e.kind.size() > 40 ||
      !std::all_of(e.kind.begin(), e.kind.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
      }))
    return invalid("kind", "must be 1 to 40 of a-z, 0-9, '_', '.', '-'");
  return {};
}

StoredEmail from_row(const storage::Row& r) {
  StoredEmail e;
  e.id = r.text("id");
  e.tenant_id = r.text("tenant_id");
  e.to = r.text("to_address");
  e.subject = r.text("subject");
  e.text = r.text("body");
  e.kind = r.text("kind");
  e.status = r.text("status");
  e.attempts = static_cast<int>(r.integer("attempts"));
  e.last_error = r.opt_text("last_error").value_or("");
  e.created_at = r.integer("created_at");
  e.sent_at = r.integer("sent_at");
  return e;
}

Result<StoredEmail> load(Connection& c, const std::string& id) {
  RH_ASSIGN(auto row, c.query_opt(fmt::format("SELECT {} FROM emails WHERE id = ?", kCols), {id}));
  if (!row) return Error(Errc::not_found, "no such email");
  return from_row(*row);
}

// ---- Message rendering -----------------------------------------------------

// RFC 2047 B encoded-words, split on character boundaries and folded so that
// no line holding one is longer than 76 characters (39 bytes encode to 52).
std::string encoded_words(std::string_view text) {
  constexpr std::size_t kChunk = 39;
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t n = std::min(kChunk, text.size() - i);
    // Back off to the start of a UTF-8 character.
    while (i + n < text.size() && n > 0 && (static_cast<unsigned char>(text[i + n]) & 0xC0) == 0x80)
      --n;
    if (n == 0) n = std::min(kChunk, text.size() - i);
    if (!out.empty()) out += "\n ";
    out += "=?UTF-8?B?" + crypto::base64_encode(text.substr(i, n)) + "?=";
    i += n;
  }
  return out;
}

// "Name: value" folded before spaces so that lines stay within 78 characters
// where the words allow it. Folding is undone by the reader (RFC 5322 2.2.3).
std::string folded_field(std::string_view name, std::string_view value) {
  std::string line = std::string(name) + ":";
  std::size_t line_len = line.size();
  std::size_t i = 0;
  bool first = true;
  while (i < value.size()) {
    // A piece: its leading spaces, then a word.
    std::size_t j = i;
    while (j < value.size() && value[j] == ' ') ++j;
    bool has_word = j < value.size();
    while (j < value.size() && value[j] != ' ') ++j;
    std::string_view piece = value.substr(i, j - i);
    if (first) {
      line += ' ';
      ++line_len;
    } else if (has_word && piece.front() == ' ' && line_len + piece.size() > 78) {
      line += '\n';
      line_len = 0;
    }
    line += piece;
    line_len += piece.size();
    first = false;
    i = j;
  }
  if (first) line += ' ';
  return line + "\n";
}

bool needs_encoding(std::string_view s) {
  if (!is_ascii(s) || s.find("=?") != std::string_view::npos) return true;
  // A word too long to fit a line even when folded.
  std::size_t word = 0;
  for (char c : s) {
    word = c == ' ' ? 0 : word + 1;
    if (word > 900) return true;
  }
  return false;
}

std::string subject_field(std::string_view subject) {
  if (needs_encoding(subject)) return "Subject: " + encoded_words(subject) + "\n";
  return folded_field("Subject", subject);
}

std::string from_field(const MailOptions& o) {
  std::string addr = o.from.empty() ? "ringhouse@localhost" : o.from;
  std::string name = o.from_name;
  std::erase_if(name, [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
  if (name.empty()) return "From: " + addr + "\n";
  std::string shown;
  if (needs_encoding(name)) {
    shown = encoded_words(name);
  } else if (std::all_of(name.begin(), name.end(),
                         [](char c) { return is_atext(c) || c == ' '; })) {
    shown = name;
  } else {
    shown = "\"";
    for (char c : name) {
      if (c == '"' || c == '\\') shown += '\\';
      shown += c;
    }
    shown += '"';
  }
  std::string field = "From: " + shown;
  // Lines holding encoded-words stay within 76 characters (RFC 2047 2).
  auto nl = field.rfind('\n');
  std::size_t last_line = nl == std::string::npos ? field.size() : field.size() - nl - 1;
  field += last_line + addr.size() + 3 > 76 ? "\n <" : " <";
  return field + addr + ">\n";
}

constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::tm utc(std::int64_t ms) {
  auto secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

// RFC 5322 3.3: "Tue, 25 Nov 2026 21:37:17 +0000".
std::string rfc5322_date(std::int64_t ms) {
  std::tm t = utc(ms);
  return fmt::format("{}, {} {} {} {:02}:{:02}:{:02} +0000",
                     kDays.at(static_cast<std::size_t>(t.tm_wday)), t.tm_mday,
                     kMonths.at(static_cast<std::size_t>(t.tm_mon)), t.tm_year + 1900, t.tm_hour,
                     t.tm_min, t.tm_sec);
}

// asctime(3) without its newline: "Tue Nov 25 21:37:17 2026" (the mbox "From " line).
std::string asctime_date(std::int64_t ms) {
  std::tm t = utc(ms);
  return fmt::format("{} {} {:2} {:02}:{:02}:{:02} {}",
                     kDays.at(static_cast<std::size_t>(t.tm_wday)),
                     kMonths.at(static_cast<std::size_t>(t.tm_mon)), t.tm_mday, t.tm_hour, t.tm_min,
                     t.tm_sec, t.tm_year + 1900);
}

// The RFC 5322 header block, lines ending in LF, without the blank line.
std::string render_headers(const StoredEmail& e, const MailOptions& o) {
  std::string h;
  h += "Date: " + rfc5322_date(e.created_at) + "\n";
  h += from_field(o);
  h += "To: " + e.to + "\n";
  h += subject_field(e.subject);
  h += "Message-ID: <" + e.id + "@ringhouse>\n";
  h += "MIME-Version: 1.0\n";
  h += "Content-Type: text/plain; charset=utf-8\n";
  h += "Content-Transfer-Encoding: 8bit\n";
  return h;
}

// The whole message with CRLF line endings, as SMTP wants it.
std::string render_smtp(const StoredEmail& e, const MailOptions& o) {
  std::string lf = render_headers(e, o) + "\n";
  for (auto line : body_lines(e.text)) {
    lf += line;
    lf += '\n';
  }
  std::string out;
  out.reserve(lf.size() + lf.size() / 32);
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

// One mbox entry: the "From " separator, the message with LF endings, body
// lines matching ^>*From  quoted with one more '>' (mboxrd), and a blank line.
std::string render_mbox(const StoredEmail& e, const MailOptions& o, std::int64_t now_ms) {
  std::string out =
      fmt::format("From {} {}\n", o.from.empty() ? "MAILER-DAEMON" : o.from, asctime_date(now_ms));
  out += render_headers(e, o);
  out += '\n';
  for (auto line : body_lines(e.text)) {
    auto gt = line.find_first_not_of('>');
    if (gt != std::string_view::npos && line.substr(gt).starts_with("From ")) out += '>';
    out += line;
    out += '\n';
  }
  out += '\n';
  return out;
}

// ---- Delivery ---------------------------------------------------------------

std::mutex& mail_log_mutex() {
  static std::mutex m;
  return m;
}

std::string errno_text(int err) {
  return std::system_category().message(err);
}

// Appends one entry to the mail log and fsyncs it. Appends are serialised in
// this process by a mutex, and with other processes by flock.
Status append_mail_log(const std::string& path, const std::string& entry) {
  std::lock_guard lk(mail_log_mutex());
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error(Errc::unavailable,
                 fmt::format("cannot open the mail log {}: {}", path, errno_text(errno)));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::flock(fd, LOCK_EX) != 0) {
    return Error(Errc::unavailable,
                 fmt::format("cannot lock the mail log {}: {}", path, errno_text(errno)));
  }
  std::size_t done = 0;
  while (done < entry.size()) {
    ssize_t n = ::write(fd, entry.data() + done, entry.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Error(Errc::unavailable,
                   fmt::format("cannot write the mail log {}: {}", path, errno_text(errno)));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    return Error(Errc::unavailable,
                 fmt::format("cannot sync the mail log {}: {}", path, errno_text(errno)));
  }
  return {};
}

void curl_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Upload {
  std::string_view data;
  std::size_t offset = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t nitems, void* user) {
  auto* up = static_cast<Upload*>(user);
  std::size_t n = std::min(size * nitems, up->data.size() - up->offset);
  std::copy_n(up->data.data() + up->offset, n, buffer);
  up->offset += n;
  return n;
}

// Sends one message. A 5xx reply to RCPT TO (the recipient is refused for
// good) is invalid_argument, so the job dead-letters at once; anything else
// is unavailable and retried.
Status smtp_send(const StoredEmail& e, const MailOptions& o, const std::string& message) {
  curl_init_once();
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return Error(Errc::unavailable, "cannot create a libcurl handle");
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> rcpt(nullptr, curl_slist_free_all);
  std::string rcpt_to = "<" + e.to + ">";
  rcpt.reset(curl_slist_append(nullptr, rcpt_to.c_str()));
  if (!rcpt) return Error(Errc::unavailable, "out of memory building the recipient list");
  std::string mail_from =
      "<" + (o.from.empty() ? std::string("ringhouse@localhost") : o.from) + ">";
  Upload up{message, 0};
  std::array<char, CURL_ERROR_SIZE> errbuf{};
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, o.smtp_url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(h, CURLOPT_READDATA, &up);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout_ms));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.timeout_ms));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf.data());
  if (o.smtp_starttls && o.smtp_url.starts_with("smtp://"))
    curl_easy_setopt(h, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (!o.smtp_user.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, o.smtp_user.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, o.smtp_password.c_str());
  }
  CURLcode rc = curl_easy_perform(h);
  if (rc == CURLE_OK) return {};
  long reply = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply);
  std::string detail = errbuf[0] != '\0' ? std::string(errbuf.data()) : curl_easy_strerror(rc);
  std::string msg = fmt::format("SMTP delivery to {} failed: {}", e.to, detail);
  if (reply > 0) msg += fmt::format(" (last reply {})", reply);
  bool recipient_refused = rc == CURLE_SEND_ERROR && reply >= 500 && reply < 600 &&
                           detail.find("RCPT") != std::string::npos;
  return Error(recipient_refused ? Errc::invalid_argument : Errc::unavailable, msg);
}

Result<std::string> email_id_of(const std::string& payload) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(payload, ec);
  if (ec || !v.is_object()) return Error(Errc::invalid_argument, "payload must be a JSON object");
  const auto* id = v.as_object().if_contains("email_id");
  std::string out = id && id->is_string() ? std::string(id->as_string()) : std::string();
  if (!is_id(out, "eml"))
    return Error(Errc::invalid_argument, "payload.email_id must be an email id");
  return out;
}

// Records a failed attempt in its own transaction (the job's failure does not
// carry effects). The row ends "failed" on the job's last attempt.
void record_failure(storage::Database& db, const std::string& id, const Error& err,
                    bool final_attempt) {
  Status st = db.transaction([&](Connection& c) -> Status {
    RH_TRY(
        c.exec("UPDATE emails SET attempts = attempts + 1, last_error = ?, status = ? "
               "WHERE id = ? AND status NOT IN ('sent', 'logged')",
               {err.message, final_attempt ? "failed" : "queued", id}));
    return {};
  });
  if (!st) {
    log::get("mail")->warn("email {}: recording the failed attempt failed: {}", id,
                           st.error().message);
  }
}

Status run_send(jobs::JobContext& ctx, const Clock& clock, const MailOptions& o) {
  RH_ASSIGN(std::string id, email_id_of(ctx.job().payload));
  auto loaded =
      ctx.db().read<StoredEmail>([&](Connection& c) -> Result<StoredEmail> { return load(c, id); });
  if (!loaded) {
    if (loaded.error().code == Errc::not_found)
      return Error(Errc::invalid_argument, "email " + id + " no longer exists");
    return loaded.take_error();
  }
  const StoredEmail& e = *loaded;
  if (e.status == "sent" || e.status == "logged") return {};  // a repeated job: done already

  auto logger = log::get("mail");
  bool smtp = !o.smtp_url.empty();
  Status delivered = smtp ? smtp_send(e, o, render_smtp(e, o))
                          : append_mail_log(o.log_path, render_mbox(e, o, clock.now_ms()));
  if (!delivered) {
    bool permanent = delivered.error().code == Errc::invalid_argument;
    bool final_attempt = permanent || ctx.job().attempts >= ctx.job().max_attempts;
    record_failure(ctx.db(), id, delivered.error(), final_attempt);
    return delivered;
  }
  std::string status = smtp ? "sent" : "logged";
  std::int64_t now = clock.now_ms();
  if (smtp) {
    logger->info("email {} sent to {} by SMTP: {}", id, e.to, e.subject);
  } else {
    logger->info("email {} to {} written to the mail log {}: {}", id, e.to, o.log_path, e.subject);
  }
  ctx.on_complete([id, status, now](Connection& c) -> Status {
    RH_TRY(c.exec("UPDATE emails SET status = ?, sent_at = ?, attempts = attempts + 1 WHERE id = ?",
                  {status, now, id}));
    return {};
  });
  return {};
}

std::optional<std::string> check_smtp_url(const config::Value& v) {
  const auto& s = std::get<std::string>(v);
  if (s.empty() || s.starts_with("smtp://") || s.starts_with("smtps://")) return std::nullopt;
  return "must be empty, smtp://host:port or smtps://host:port";
}

std::optional<std::string> check_from(const config::Value& v) {
  if (plausible_address(std::get<std::string>(v))) return std::nullopt;
  return "must be one email address (local@domain)";
}

std::optional<std::string> check_one_line(const config::Value& v) {
  const auto& s = std::get<std::string>(v);
  if (has_control(s, false) || !valid_utf8(s)) return "must be one line of UTF-8 text";
  return std::nullopt;
}

}  // namespace

Result<std::string> queue_email(storage::Connection& tx, jobs::JobQueue& queue, const Clock& clock,
                                const Email& e) {
  RH_TRY(validate(e));
  std::int64_t now = clock.now_ms();
  std::string id = new_id("eml", now);
  RH_TRY(tx.exec(
      "INSERT INTO emails (id, tenant_id, to_address, subject, body, kind, status, attempts, "
      "created_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', 0, ?, 0)",
      {id, e.tenant_id, e.to, e.subject, e.text, e.kind, now}));
  jobs::JobSpec spec;
  spec.kind = "mail.send";
  spec.payload = boost::json::serialize(boost::json::object{{"email_id", id}});
  spec.tenant_id = e.tenant_id;
  RH_TRY(queue.enqueue(tx, spec));
  return id;
}

Result<std::vector<StoredEmail>> list_emails(storage::Database& db, const EmailFilter& f) {
  return db.read<std::vector<StoredEmail>>([&](Connection& c) -> Result<std::vector<StoredEmail>> {
    std::string where;
    std::vector<Value> params;
    auto add = [&](const char* cond, const std::string& v) {
      where += where.empty() ? " WHERE " : " AND ";
      where += cond;
      params.emplace_back(v);
    };
    if (!f.tenant_id.empty()) add("tenant_id = ?", f.tenant_id);
    if (!f.to.empty()) add("to_address = ?", f.to);
    if (!f.kind.empty()) add("kind = ?", f.kind);
    if (!f.after_id.empty()) add("id < ?", f.after_id);
    params.emplace_back(static_cast<std::int64_t>(std::clamp(f.limit, 1, 500)));
    RH_ASSIGN(auto rows,
              c.query(fmt::format("SELECT {} FROM emails{} ORDER BY id DESC LIMIT ?", kCols, where),
                      params));
    std::vector<StoredEmail> out;
    out.reserve(rows.size());
    for (const auto& r : rows) out.push_back(from_row(r));
    return out;
  });
}

Result<StoredEmail> get_email(storage::Database& db, const std::string& id) {
  return db.read<StoredEmail>([&](Connection& c) { return load(c, id); });
}

void declare_mail_config(config::Schema& s) {
  s.string("mail.smtp_url", "",
           "SMTP server for outgoing email: smtp://host:587 (STARTTLS, see mail.smtp_starttls) "
           "or smtps://host:465 (TLS from the start). Empty: emails are only written to the "
           "mail log.",
           check_smtp_url);
  s.string("mail.smtp_user", "", "SMTP user name; empty: no authentication.");
  s.secret("mail.smtp_password", "SMTP password (with mail.smtp_user).");
  s.boolean("mail.smtp_starttls", true,
            "Require STARTTLS on smtp:// URLs; turn off only for a relay on this host.");
  s.string("mail.from", "ringhouse@localhost", "Sender address of outgoing email.", check_from);
  s.string("mail.from_name", "Ringhouse", "Sender display name of outgoing email.", check_one_line);
  s.integer("mail.retention_days", 30,
            "Delivered or logged emails are deleted from the database after this many days.", 1,
            3650);
  s.string("mail.log_path", "",
           "Mail log (mbox) that emails are appended to when mail.smtp_url is empty; empty: "
           "<node.data_dir>/mail.log.");
  s.integer("mail.timeout_ms", 15000, "Time limit for delivering one email by SMTP.", 1000, 600000);
}

MailOptions mail_options(const config::Config& c) {
  MailOptions o;
  o.smtp_url = c.string("mail.smtp_url");
  o.smtp_user = c.string("mail.smtp_user");
  o.smtp_password = c.string("mail.smtp_password");
  o.smtp_starttls = c.boolean("mail.smtp_starttls");
  o.from = c.string("mail.from");
  o.from_name = c.string("mail.from_name");
  o.log_path = c.string("mail.log_path");
  if (o.log_path.empty())
    o.log_path = (std::filesystem::path(c.string("node.data_dir")) / "mail.log").string();
  o.timeout_ms = static_cast<int>(c.integer("mail.timeout_ms"));
  return o;
}

Status queue_email_to_user(storage::Connection& tx, jobs::JobQueue& queue, const Clock& clock,
                           UserStore& users, const UserScope& user, const std::string& subject,
                           const std::string& text, const std::string& kind) {
  auto u = users.get(user);
  if (!u) return u.error().code == Errc::not_found ? Status{} : Status(u.take_error());
  if (u->email.empty()) return {};
  RH_TRY(queue_email(tx, queue, clock, {user.tenant_id, u->email, subject, text, kind}));
  return {};
}

void register_mail_jobs(jobs::JobWorker& worker, const Clock& clock, const MailOptions& o) {
  worker.register_handler("mail.send", [&clock, o](jobs::JobContext& ctx) -> Status {
    return run_send(ctx, clock, o);
  });
}

std::vector<storage::Migration> mail_migrations() {
  return {{2026112521, "emails", R"SQL(
CREATE TABLE emails (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  to_address VARCHAR(254) NOT NULL,
  subject VARCHAR(998) NOT NULL,
  body {{text}} NOT NULL,
  kind VARCHAR(40) NOT NULL,
  status VARCHAR(16) NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error {{text}},
  created_at BIGINT NOT NULL,
  sent_at BIGINT NOT NULL DEFAULT 0
){{table}};
CREATE INDEX emails_tenant ON emails (tenant_id, id);
CREATE INDEX emails_to ON emails (to_address)
)SQL"}};
}

Status MailDeadLetters::deliver(const jobs::Event& e) {
  if (e.type != "job.dead") return {};
  boost::system::error_code ec;
  auto v = boost::json::parse(e.payload, ec);
  if (ec || !v.is_object()) return {};
  const auto* kind = v.as_object().if_contains("kind");
  if (!kind || !kind->is_string() || kind->as_string() != "mail.send") return {};
  auto job = queue_.get(e.subject);
  if (!job) return job.error().code == Errc::not_found ? Status{} : Status{job.take_error()};
  auto id = email_id_of(job->payload);
  if (!id) return {};
  std::string reason = job->last_error.empty() ? "the delivery job died" : job->last_error;
  return db_.with_connection(storage::Access::write, [&](storage::Connection& c) -> Status {
    RH_TRY(
        c.exec("UPDATE emails SET status = 'failed', last_error = ? WHERE id = ? AND "
               "status = 'queued'",
               {reason.substr(0, 2000), *id}));
    return {};
  });
}

}  // namespace rh::accounts
