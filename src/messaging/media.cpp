#include "messaging/media.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fmt/format.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>
#include <memory>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"

namespace rh::messaging {

using storage::Connection;

namespace {

constexpr const char* kColumns =
    "id, tenant_id, user_id, blob_key, content_type, size, sha256, origin, created_at";
constexpr long kMaxRedirects = 3;
constexpr std::size_t kMaxUrlBytes = 2048;

Media from_row(const storage::Row& r) {
  Media m;
  m.id = r.text("id");
  m.tenant_id = r.text("tenant_id");
  m.user_id = r.text("user_id");
  m.content_type = r.text("content_type");
  m.size = r.integer("size");
  m.sha256 = r.text("sha256");
  m.origin = r.text("origin");
  m.created_at = r.integer("created_at");
  return m;
}

std::string blob_key(const std::string& tenant_id, const std::string& id) {
  return "media/" + tenant_id + "/" + id;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

unsigned char byte_at(std::string_view b, std::size_t i) {
  return static_cast<unsigned char>(b[i]);
}

// An MPEG audio frame header (MP3 without an ID3 tag): the sync word, a
// layer, a bitrate index other than "bad" and a valid sampling rate.
bool mpeg_audio_frame(std::string_view b) {
  if (b.size() < 4 || byte_at(b, 0) != 0xFF || (byte_at(b, 1) & 0xE0) != 0xE0) return false;
  unsigned version = (byte_at(b, 1) >> 3) & 0x3;
  unsigned layer = (byte_at(b, 1) >> 1) & 0x3;
  unsigned bitrate = byte_at(b, 2) >> 4;
  unsigned rate = (byte_at(b, 2) >> 2) & 0x3;
  return version != 1 && layer != 0 && bitrate != 0xF && rate != 3;
}

// The ISO base media file type box: "....ftyp" then the major brand.
std::string iso_media_type(std::string_view b) {
  if (b.size() < 12 || b.substr(4, 4) != "ftyp") return "";
  std::string_view brand = b.substr(8, 4);
  if (brand.substr(0, 3) == "3gp" || brand.substr(0, 3) == "3g2") return "video/3gpp";
  static constexpr std::array<std::string_view, 15> kMp4{"isom", "iso2", "iso3", "iso4", "iso5",
                                                         "iso6", "mp41", "mp42", "avc1", "M4V ",
                                                         "M4VP", "mmp4", "dash", "MSNV", "f4v "};
  if (std::find(kMp4.begin(), kMp4.end(), brand) != kMp4.end()) return "video/mp4";
  return "";  // HEIF, M4A, QuickTime and the rest are not taken
}

bool vcard(std::string_view b) {
  if (b.substr(0, 3) == "\xEF\xBB\xBF") b.remove_prefix(3);  // UTF-8 BOM
  while (!b.empty() &&
         (b.front() == ' ' || b.front() == '\t' || b.front() == '\r' || b.front() == '\n'))
    b.remove_prefix(1);
  return b.size() >= 11 && lower(b.substr(0, 11)) == "begin:vcard";
}

// The kind of a type, for telling a mislabelled upload from an alias:
// image/jpg and image/jpeg are the same kind, image/png and application/pdf
// are not. Audio and video share a kind (3GPP and MP4 hold either).
std::string kind_of(std::string_view type) {
  auto slash = type.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= type.size()) return "";
  std::string top = lower(type.substr(0, slash));
  if (top == "audio" || top == "video") return "av";
  return top;
}

// "image/jpeg; name=x" -> "image/jpeg", lower-case and trimmed.
std::string bare_type(std::string_view declared) {
  declared = declared.substr(0, declared.find(';'));
  while (!declared.empty() && (declared.front() == ' ' || declared.front() == '\t'))
    declared.remove_prefix(1);
  while (!declared.empty() && (declared.back() == ' ' || declared.back() == '\t'))
    declared.remove_suffix(1);
  return lower(declared);
}

// ---- addresses --------------------------------------------------------------

struct Address {
  int family = AF_UNSPEC;
  std::array<unsigned char, 16> b{};
};

bool in_net(const Address& a, const Cidr& n) {
  if (a.family != n.family) return false;
  int full = n.prefix / 8, rest = n.prefix % 8;
  if (std::memcmp(a.b.data(), n.addr.data(), static_cast<std::size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  auto mask = static_cast<unsigned char>(0xFF << (8 - rest));
  return (a.b[static_cast<std::size_t>(full)] & mask) == n.addr[static_cast<std::size_t>(full)];
}

const std::vector<Cidr>& refused_v4() {
  static const std::vector<Cidr> kNets = [] {
    std::vector<Cidr> out;
    for (const char* n :
         {"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
          "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
          "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4"})
      out.push_back(*parse_cidr(n));
    return out;
  }();
  return kNets;
}

const std::vector<Cidr>& refused_v6() {
  static const std::vector<Cidr> kNets = [] {
    std::vector<Cidr> out;
    // ::/96 covers :: (unspecified), ::1 (loopback) and the deprecated
    // IPv4-compatible addresses.
    for (const char* n : {"::/96", "64:ff9b:1::/48", "100::/64", "2001:db8::/32", "fc00::/7",
                          "fe80::/10", "fec0::/10", "ff00::/8"})
      out.push_back(*parse_cidr(n));
    return out;
  }();
  return kNets;
}

// The IPv4 address an IPv6 address stands for, when it carries one that a
// host may end up reaching: IPv4-mapped, NAT64 (well-known prefix), 6to4.
std::optional<Address> embedded_v4(const Address& a) {
  static const Cidr kMapped = *parse_cidr("::ffff:0:0/96");
  static const Cidr kNat64 = *parse_cidr("64:ff9b::/96");
  static const Cidr k6to4 = *parse_cidr("2002::/16");
  Address v4;
  v4.family = AF_INET;
  if (in_net(a, kMapped) || in_net(a, kNat64)) {
    std::copy(a.b.begin() + 12, a.b.end(), v4.b.begin());
    return v4;
  }
  if (in_net(a, k6to4)) {
    std::copy(a.b.begin() + 2, a.b.begin() + 6, v4.b.begin());
    return v4;
  }
  return std::nullopt;
}

bool listed(const Address& a, std::span<const Cidr> nets) {
  return std::any_of(nets.begin(), nets.end(), [&](const Cidr& n) { return in_net(a, n); });
}

std::string address_text(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (sa->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, sa, sizeof in);
    ::inet_ntop(AF_INET, &in.sin_addr, buf, sizeof buf);
  } else if (sa->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, sa, sizeof in6);
    ::inet_ntop(AF_INET6, &in6.sin6_addr, buf, sizeof buf);
  } else {
    return fmt::format("(address family {})", sa->sa_family);
  }
  return buf;
}

// ---- download ---------------------------------------------------------------

void curl_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Download {
  std::string body;
  std::size_t max_bytes = 0;
  bool too_large = false;
  std::span<const Cidr> allow;
  std::string refused;  // the first address refused, for the error
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* d = static_cast<Download*>(user);
  std::size_t len = size * n;
  if (d->body.size() + len > d->max_bytes) {
    d->too_large = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  d->body.append(data, len);
  return len;
}

// Every connection libcurl opens — the first, each address Happy Eyeballs
// tries, each redirect's — comes here with the resolved address before the
// socket exists; refusing it is CURL_SOCKET_BAD.
curl_socket_t open_socket(void* user, curlsocktype purpose, struct curl_sockaddr* a) {
  auto* d = static_cast<Download*>(user);
  sockaddr_storage ss{};
  std::size_t len = std::min<std::size_t>(a->addrlen, sizeof ss);
  std::memcpy(&ss, &a->addr, len);
  const auto* sa = reinterpret_cast<const sockaddr*>(&ss);
  bool long_enough = (a->family == AF_INET && len >= sizeof(sockaddr_in)) ||
                     (a->family == AF_INET6 && len >= sizeof(sockaddr_in6));
  if (purpose != CURLSOCKTYPE_IPCXN || !long_enough || sa->sa_family != a->family ||
      !address_allowed(sa, d->allow)) {
    if (d->refused.empty()) d->refused = address_text(sa);
    return CURL_SOCKET_BAD;
  }
  return ::socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

bool http_url(const std::string& url) {
  if (url.empty() || url.size() > kMaxUrlBytes) return false;
  std::unique_ptr<CURLU, void (*)(CURLU*)> u(curl_url(), curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return false;
  char* scheme = nullptr;
  char* host = nullptr;
  bool ok = curl_url_get(u.get(), CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u.get(), CURLUPART_HOST, &host, 0) == CURLUE_OK && scheme && host &&
            host[0] != '\0' && (lower(scheme) == "http" || lower(scheme) == "https");
  curl_free(scheme);
  curl_free(host);
  return ok;
}

}  // namespace

// ---- pure functions -----------------------------------------------------------

std::string sniff_media_type(std::string_view b) {
  if (b.size() >= 3 && byte_at(b, 0) == 0xFF && byte_at(b, 1) == 0xD8 && byte_at(b, 2) == 0xFF)
    return "image/jpeg";
  if (b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) return "image/png";
  if (b.substr(0, 6) == "GIF87a" || b.substr(0, 6) == "GIF89a") return "image/gif";
  if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") return "image/webp";
  if (auto iso = iso_media_type(b); !iso.empty()) return iso;
  if (b.substr(0, 6) == "#!AMR\n") return "audio/amr";
  if ((b.size() >= 10 && b.substr(0, 3) == "ID3") || mpeg_audio_frame(b)) return "audio/mpeg";
  if (b.substr(0, 5) == "%PDF-") return "application/pdf";
  if (vcard(b)) return "text/vcard";
  return "";
}

std::optional<Cidr> parse_cidr(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  auto slash = text.find('/');
  std::string host(text.substr(0, slash));
  Cidr c;
  if (host.find(':') != std::string::npos) {
    c.family = AF_INET6;
    if (::inet_pton(AF_INET6, host.c_str(), c.addr.data()) != 1) return std::nullopt;
    c.prefix = 128;
  } else {
    c.family = AF_INET;
    if (::inet_pton(AF_INET, host.c_str(), c.addr.data()) != 1) return std::nullopt;
    c.prefix = 32;
  }
  if (slash != std::string_view::npos) {
    std::string_view p = text.substr(slash + 1);
    int prefix = -1;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (p.empty() || p.size() > 3 || ec != std::errc() || end != p.data() + p.size() ||
        prefix < 0 || prefix > c.prefix)
      return std::nullopt;
    c.prefix = prefix;
  }
  int width = c.family == AF_INET ? 4 : 16;
  for (int i = 0; i < width; ++i) {
    int keep = std::clamp(c.prefix - i * 8, 0, 8);
    c.addr[static_cast<std::size_t>(i)] &= static_cast<unsigned char>(0xFF00 >> keep);
  }
  return c;
}

bool address_allowed(const sockaddr* sa, std::span<const Cidr> allow) {
  if (sa == nullptr) return false;
  Address a;
  if (sa->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, sa, sizeof in);
    a.family = AF_INET;
    std::memcpy(a.b.data(), &in.sin_addr, 4);
  } else if (sa->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, sa, sizeof in6);
    a.family = AF_INET6;
    std::memcpy(a.b.data(), &in6.sin6_addr, 16);
  } else {
    return false;
  }
  auto v4 = a.family == AF_INET6 ? embedded_v4(a) : std::nullopt;
  // The operator's exceptions first, in either form of a mapped address.
  if (listed(a, allow) || (v4 && listed(*v4, allow))) return true;
  if (a.family == AF_INET6) {
    if (listed(a, refused_v6())) return false;
    if (!v4) return true;
    a = *v4;
  }
  return !listed(a, refused_v4());  // 240/4 includes the broadcast address
}

// ---- configuration and schema -------------------------------------------------

void declare_media_config(config::Schema& s) {
  s.integer("messaging.media_max_bytes", 5 * 1024 * 1024,
            "Largest medium (picture, clip, voice note, vCard, PDF) a user may upload or an "
            "inbound MMS may bring; larger uploads get 413 and larger downloads are stopped.",
            1024, 100 * 1024 * 1024);
  s.integer("messaging.mms_max_total_bytes", 1024 * 1024,
            "Largest total size of the media of one outbound MMS (carriers take about 1 MB).", 1024,
            100 * 1024 * 1024);
  s.integer("messaging.media_fetch_timeout_ms", 15'000,
            "Time allowed to download one inbound MMS medium from a carrier, redirects "
            "included.",
            100, 300'000);
  s.list("messaging.media_fetch_allow", {},
         "Networks (CIDR, e.g. 10.20.0.0/16 or fd00::/8) that media downloads may reach although "
         "they are loopback, private, link-local or otherwise internal. Empty: public addresses "
         "only.",
         [](const config::Value& v) -> std::optional<std::string> {
           for (const auto& n : std::get<std::vector<std::string>>(v))
             if (!parse_cidr(n))
               return "\"" + n + "\" is not a network such as 192.0.2.0/24 or 2001:db8::/32";
           return std::nullopt;
         });
  s.integer("messaging.media_url_ttl_s", 86'400,
            "Lifetime of the signed URLs from which carriers fetch outbound MMS media.", 60,
            30 * 86'400);
}

MediaOptions media_options(const config::Config& c) {
  MediaOptions o;
  o.max_bytes = static_cast<std::size_t>(c.integer("messaging.media_max_bytes"));
  o.mms_max_total_bytes = static_cast<std::size_t>(c.integer("messaging.mms_max_total_bytes"));
  o.fetch_timeout_ms = c.integer("messaging.media_fetch_timeout_ms");
  for (const auto& n : c.list("messaging.media_fetch_allow"))
    if (auto cidr = parse_cidr(n)) o.fetch_allow.push_back(*cidr);
  o.url_ttl_s = c.integer("messaging.media_url_ttl_s");
  return o;
}

std::vector<storage::Migration> media_migrations() {
  return {{2026112702, "mms media", R"SQL(
CREATE TABLE media (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  user_id VARCHAR(40) NOT NULL,
  blob_key VARCHAR(191) NOT NULL,
  content_type VARCHAR(64) NOT NULL,
  size BIGINT NOT NULL,
  sha256 VARCHAR(64) NOT NULL,
  origin VARCHAR(16) NOT NULL,
  created_at BIGINT NOT NULL
){{table}};
CREATE INDEX media_owner ON media (tenant_id, user_id, id);
CREATE TABLE media_grants (
  media_id VARCHAR(40) NOT NULL,
  user_id VARCHAR(40) NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (media_id, user_id)
){{table}};
CREATE INDEX media_grants_user ON media_grants (user_id)
)SQL"}};
}

// ---- the store ------------------------------------------------------------------

MediaStore::MediaStore(storage::Database& db, storage::BlobStore& blobs, const Clock& clock,
                       const std::string& key, MediaOptions o, std::string public_url)
    : db_(db),
      blobs_(blobs),
      clock_(clock),
      url_key_(crypto::hmac_sha256(key, "ringhouse media url v1")),
      o_(std::move(o)) {
  set_public_url(std::move(public_url));
}

void MediaStore::set_public_url(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  std::lock_guard lock(url_mu_);
  public_url_ = std::move(url);
}

std::string MediaStore::public_url() const {
  std::lock_guard lock(url_mu_);
  return public_url_;
}

Result<Media> MediaStore::store(const std::string& tenant_id, const std::string& user_id,
                                std::string_view bytes, std::string content_type,
                                const char* origin) {
  std::int64_t now = clock_.now_ms();
  Media m;
  m.id = new_id("med", now);
  m.tenant_id = tenant_id;
  m.user_id = user_id;
  m.content_type = std::move(content_type);
  m.size = static_cast<std::int64_t>(bytes.size());
  m.sha256 = crypto::hex_encode(crypto::sha256(bytes));
  m.origin = origin;
  m.created_at = now;
  std::string key = blob_key(m.tenant_id, m.id);
  // The bytes first (durable), then the row that names them.
  RH_TRY(blobs_.put(key, bytes));
  Status st = db_.transaction([&](Connection& c) -> Status {
    RH_TRY(
        c.exec(fmt::format("INSERT INTO media ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", kColumns),
               {m.id, m.tenant_id, m.user_id, key, m.content_type, m.size, m.sha256, m.origin,
                m.created_at}));
    return {};
  });
  if (!st) {
    (void)blobs_.remove(key);
    return st.take_error();
  }
  return m;
}

Result<Media> MediaStore::upload(const UserScope& u, std::string_view bytes,
                                 std::string_view declared_type) {
  if (bytes.empty()) return make_reason(Errc::invalid_argument, "empty_media", "the body is empty");
  if (bytes.size() > o_.max_bytes)
    return make_reason(Errc::invalid_argument, "media_too_large",
                       fmt::format("a medium may be at most {} bytes", o_.max_bytes));
  std::string type = sniff_media_type(bytes);
  if (type.empty())
    return make_reason(Errc::invalid_argument, "unsupported_media_type",
                       "media must be JPEG, PNG, GIF or WebP pictures, MP4 or 3GPP video, AMR or "
                       "MP3 audio, a vCard or a PDF");
  std::string declared = bare_type(declared_type);
  if (!declared.empty() && declared != "application/octet-stream" &&
      kind_of(declared) != kind_of(type))
    return make_reason(Errc::invalid_argument, "media_type_mismatch",
                       "the content is " + type + ", not " + declared);
  return store(u.tenant_id, u.user_id, bytes, type, "upload");
}

Result<Media> MediaStore::get(const UserScope& u, const std::string& id) {
  return db_.read<Media>([&](Connection& c) -> Result<Media> {
    RH_ASSIGN(auto row,
              c.query_opt(fmt::format("SELECT {} FROM media WHERE id = ?", kColumns), {id}));
    if (!row) return Error(Errc::not_found, "no such media");
    Media m = from_row(*row);
    if (m.tenant_id == u.tenant_id && m.user_id == u.user_id) return m;
    RH_ASSIGN(auto granted,
              c.query_opt("SELECT media_id FROM media_grants WHERE media_id = ? AND user_id = ?",
                          {id, u.user_id}));
    if (!granted) return Error(Errc::not_found, "no such media");
    return m;
  });
}

Result<std::string> MediaStore::read(const std::string& id) {
  RH_ASSIGN(std::string key, db_.read<std::string>([&](Connection& c) -> Result<std::string> {
    RH_ASSIGN(auto row, c.query_opt("SELECT blob_key FROM media WHERE id = ?", {id}));
    if (!row) return Error(Errc::not_found, "no such media");
    return row->text("blob_key");
  }));
  return blobs_.get(key);
}

Status MediaStore::grant(const std::string& media_id, const std::string& user_id) {
  return db_.transaction([&](Connection& c) { return grant(c, media_id, user_id); });
}

Status MediaStore::grant(Connection& c, const std::string& media_id, const std::string& user_id) {
  RH_ASSIGN(auto row, c.query_opt("SELECT user_id FROM media WHERE id = ?", {media_id}));
  if (!row) return Error(Errc::not_found, "no such media");
  if (row->text("user_id") == user_id) return {};
  RH_ASSIGN(auto held,
            c.query_opt("SELECT media_id FROM media_grants WHERE media_id = ? AND user_id = ?",
                        {media_id, user_id}));
  if (held) return {};
  RH_TRY(c.exec("INSERT INTO media_grants (media_id, user_id, created_at) VALUES (?, ?, ?)",
                {media_id, user_id, clock_.now_ms()}));
  return {};
}

std::string MediaStore::signature(std::string_view id, std::string_view exp) const {
  std::string data(id);
  data += '.';
  data += exp;
  return crypto::base64url_encode(crypto::hmac_sha256(url_key_, data));
}

std::string MediaStore::signed_url(const std::string& id, std::int64_t ttl_s) const {
  std::string exp = std::to_string(clock_.now_ms() / 1000 + (ttl_s > 0 ? ttl_s : o_.url_ttl_s));
  return fmt::format("{}/media/{}?exp={}&sig={}", public_url(), id, exp, signature(id, exp));
}

bool MediaStore::verify_signed(std::string_view id, std::string_view exp, std::string_view sig,
                               std::int64_t now_s) const {
  if (!is_id(id, "med") || exp.empty() || exp.size() > 12 || sig.size() != 43) return false;
  std::int64_t at = 0;
  auto [end, ec] = std::from_chars(exp.data(), exp.data() + exp.size(), at);
  if (ec != std::errc() || end != exp.data() + exp.size() || exp.front() == '-') return false;
  bool good = crypto::constant_time_equal(signature(id, exp), sig);
  return good && at >= now_s;
}

Status MediaStore::check_mms_total(std::span<const Media> parts) const {
  std::int64_t total = 0;
  for (const auto& m : parts) total += m.size;
  if (total > static_cast<std::int64_t>(o_.mms_max_total_bytes))
    return make_reason(Errc::invalid_argument, "mms_too_large",
                       fmt::format("the media of one MMS may add up to at most {} bytes (these "
                                   "are {})",
                                   o_.mms_max_total_bytes, total));
  return {};
}

Result<Media> MediaStore::fetch_remote(const TenantScope& scope, const std::string& user_id,
                                       const std::string& url, const std::string& basic_user,
                                       const std::string& basic_password) {
  if (scope.tenant_id.empty() || user_id.empty())
    return Error(Errc::invalid_argument, "inbound media needs a tenant and a user");
  curl_init_once();
  if (!http_url(url))
    return make_reason(Errc::invalid_argument, "bad_media_url",
                       "a media URL must be an absolute http or https URL");
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return Error(Errc::internal, "cannot create a libcurl handle");
  Download d;
  d.max_bytes = o_.max_bytes;
  d.allow = o_.fetch_allow;
  std::array<char, CURL_ERROR_SIZE> errbuf{};
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, kMaxRedirects);
  // Credentials go to the named host only, never to where it redirects.
  curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
  // No proxy from the environment: the address checked must be the peer's.
  curl_easy_setopt(h, CURLOPT_PROXY, "");
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &d);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(o_.fetch_timeout_ms));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o_.fetch_timeout_ms));
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(o_.max_bytes));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf.data());
  curl_easy_setopt(h, CURLOPT_USERAGENT, "ringhouse");
  curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &d);
  if (!basic_user.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(h, CURLOPT_USERNAME, basic_user.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, basic_password.c_str());
  }
  CURLcode rc = curl_easy_perform(h);
  std::string shown = url.substr(0, url.find('?'));  // queries may carry tokens
  auto log = log::get("messaging");
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] != '\0' ? std::string(errbuf.data()) : curl_easy_strerror(rc);
    if (d.too_large || rc == CURLE_FILESIZE_EXCEEDED)
      return make_reason(Errc::invalid_argument, "media_too_large",
                         fmt::format("the medium is larger than {} bytes", o_.max_bytes));
    if (!d.refused.empty() && rc == CURLE_COULDNT_CONNECT) {
      log->warn("media fetch {}: refused to connect to {}", shown, d.refused);
      return make_reason(
          Errc::forbidden, "media_address_refused",
          "the media URL leads to an address that may not be reached (" + d.refused + ")");
    }
    if (rc == CURLE_OPERATION_TIMEDOUT)
      return make_reason(
          Errc::timeout, "media_fetch_timeout",
          fmt::format("the medium did not arrive within {} ms", o_.fetch_timeout_ms));
    log->warn("media fetch {}: {}", shown, why);
    if (rc == CURLE_TOO_MANY_REDIRECTS)
      return make_reason(Errc::unavailable, "media_fetch_failed",
                         fmt::format("more than {} redirects", kMaxRedirects));
    return make_reason(Errc::unavailable, "media_fetch_failed", "the download failed: " + why);
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    log->warn("media fetch {}: HTTP {}", shown, status);
    return make_reason(Errc::unavailable, "media_fetch_failed",
                       fmt::format("the media server answered HTTP {}", status));
  }
  if (d.body.empty())
    return make_reason(Errc::invalid_argument, "empty_media", "the media server sent no bytes");
  std::string type = sniff_media_type(d.body);
  if (type.empty())
    return make_reason(Errc::invalid_argument, "unsupported_media_type",
                       "the medium is not of a supported type");
  return store(scope.tenant_id, user_id, d.body, type, "inbound");
}

}  // namespace rh::messaging
