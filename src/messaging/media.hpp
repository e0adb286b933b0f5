// MMS media: pictures, clips, voice notes, contact cards and PDFs that
// users attach to messages, and the media carriers send with inbound MMS.
//
// The bytes live in the blob store ("media/<tenant>/<id>"), a `media` row
// names them with the type sniffed from the bytes (a declared type is never
// trusted), their size and SHA-256. A medium belongs to the user who
// uploaded or received it; on-net delivery grants a recipient read access
// too (`grant`). Carriers fetch outbound media from a signed, expiring URL
// (`/media/{id}?exp=&sig=`) that needs no credentials.
//
// Inbound media is downloaded from URLs a carrier (or whoever forges a
// carrier's webhook) names, so the download is guarded against SSRF: http
// and https only, at most 3 redirects, a size and a time limit, and every
// address the client connects to — after DNS resolution, at connect time, so
// DNS rebinding cannot slip past — must be a public unicast address unless
// the operator's allow-list names it (messaging.media_fetch_allow).
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/principal.hpp"
#include "core/result.hpp"
#include "storage/blob_store.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"

namespace rh::messaging {

struct Media {
  std::string id;  // med_...
  std::string tenant_id;
  std::string user_id;  // the uploader (upload) or the recipient (inbound)
  std::string content_type;
  std::int64_t size = 0;
  std::string sha256;  // lower-case hex
  std::string origin;  // "upload" | "inbound"
  std::int64_t created_at = 0;
};

// An IPv4 or IPv6 network: "10.0.0.0/8", "::1/128", "192.0.2.7" (a host).
struct Cidr {
  int family = AF_INET;                  // AF_INET or AF_INET6
  std::array<unsigned char, 16> addr{};  // network bytes (4 used for IPv4), host bits zero
  int prefix = 0;
};

// nullopt for anything that is not an address with an optional /prefix in
// range (0..32 for IPv4, 0..128 for IPv6). Host bits past the prefix are
// cleared ("10.1.2.3/8" is 10.0.0.0/8).
std::optional<Cidr> parse_cidr(std::string_view text);

// Whether the media downloader may connect to this address: yes when an
// allow-list entry contains it, else only when it is public unicast. Refused
// without an allow-list entry: loopback, 0.0.0.0/8, private (10/8, 172.16/12,
// 192.168/16, fc00::/7), CGNAT 100.64/10, link-local (169.254/16,
// fe80::/10), site-local fec0::/10, documentation and benchmarking ranges,
// 192.0.0.0/24, multicast, 240/4 and broadcast, ::, ::1, 100::/64, the
// IPv4-compatible ::/96, NAT64 local-use 64:ff9b:1::/48, and any IPv6 form
// that carries a refused IPv4 address (IPv4-mapped ::ffff:0:0/96, NAT64
// 64:ff9b::/96, 6to4 2002::/16). Other address families are refused.
bool address_allowed(const sockaddr* address, std::span<const Cidr> allow);

// The supported type of the bytes, sniffed from their first bytes:
// image/jpeg, image/png, image/gif, image/webp, video/mp4, video/3gpp,
// audio/amr, audio/mpeg, text/vcard, application/pdf; "" for anything else.
std::string sniff_media_type(std::string_view bytes);

struct MediaOptions {
  std::size_t max_bytes = 5 * 1024 * 1024;        // one medium, uploaded or fetched
  std::size_t mms_max_total_bytes = 1024 * 1024;  // all media of one outbound MMS
  std::int64_t fetch_timeout_ms = 15'000;         // a whole download, redirects included
  std::vector<Cidr> fetch_allow;                  // addresses allowed despite the rules
  std::int64_t url_ttl_s = 86'400;                // default lifetime of a signed URL
};

// messaging.media_max_bytes, messaging.mms_max_total_bytes,
// messaging.media_fetch_timeout_ms, messaging.media_fetch_allow,
// messaging.media_url_ttl_s.
void declare_media_config(config::Schema& s);
MediaOptions media_options(const config::Config& c);

// The `media` and `media_grants` tables.
std::vector<storage::Migration> media_migrations();

class MediaStore {
 public:
  // key: the platform's data key; the URL-signing key is derived from it.
  MediaStore(storage::Database& db, storage::BlobStore& blobs, const Clock& clock,
             const std::string& key, MediaOptions o, std::string public_url = {});

  // Stores a user's upload. The type is sniffed from the bytes; the declared
  // type (the request's Content-Type) may be empty, application/octet-stream
  // or any type of the same kind (image/*, video/* or audio/*, text/*,
  // application/*) — an alias such as image/jpg is fine — else the upload is
  // refused as a mismatch. Errors (invalid_argument, by reason):
  //   empty_media             no bytes
  //   media_too_large         over max_bytes
  //   unsupported_media_type  not one of the supported types
  //   media_type_mismatch     declared as another kind of thing
  Result<Media> upload(const UserScope& u, std::string_view bytes, std::string_view declared_type);

  // The medium if the caller owns it or it was granted to them; not_found
  // otherwise (another user's, another tenant's, or no such id).
  Result<Media> get(const UserScope& u, const std::string& id);
  // The bytes of a medium, unchecked: for signed URLs and the send path.
  Result<std::string> read(const std::string& id);

  // Lets another user read a medium (an on-net MMS delivered to them).
  // Granting twice is not an error; not_found for an unknown medium.
  Status grant(const std::string& media_id, const std::string& user_id);
  // The same inside the caller's transaction.
  Status grant(storage::Connection& c, const std::string& media_id, const std::string& user_id);

  // {public_url}/media/{id}?exp={unix seconds}&sig={base64url HMAC-SHA256(
  // key, id + "." + exp)}; ttl_s <= 0 takes the configured default.
  std::string signed_url(const std::string& id, std::int64_t ttl_s = 0) const;
  // True when sig is this server's signature of id and exp, and exp (unix
  // seconds, digits only) is not before now_s.
  bool verify_signed(std::string_view id, std::string_view exp, std::string_view sig,
                     std::int64_t now_s) const;

  // Downloads an inbound MMS's media from a carrier into the blob store,
  // owned by user_id of scope.tenant_id (origin "inbound"). Blocks up to
  // fetch_timeout_ms: call it on a blocking pool. The carrier's
  // Content-Type is ignored; the bytes are sniffed. Errors, by reason:
  //   bad_media_url (invalid_argument)     not an absolute http(s) URL
  //   media_address_refused (forbidden)    an address the rules refuse
  //   media_too_large (invalid_argument)   over max_bytes (the transfer stops)
  //   unsupported_media_type, empty_media (invalid_argument)
  //   media_fetch_timeout (timeout)        slower than fetch_timeout_ms
  //   media_fetch_failed (unavailable)     no answer, a non-2xx status,
  //                                        more than 3 redirects
  Result<Media> fetch_remote(const TenantScope& scope, const std::string& user_id,
                             const std::string& url, const std::string& basic_user = {},
                             const std::string& basic_password = {});

  // invalid_argument "mms_too_large" when the media of one MMS add up to
  // more than mms_max_total_bytes.
  Status check_mms_total(std::span<const Media> parts) const;

  // The base of signed URLs (known once the server listens).
  void set_public_url(std::string url);
  // The base carriers and callbacks reach this server at (no trailing '/').
  std::string public_url() const;
  const MediaOptions& options() const { return o_; }

 private:
  Result<Media> store(const std::string& tenant_id, const std::string& user_id,
                      std::string_view bytes, std::string content_type, const char* origin);
  std::string signature(std::string_view id, std::string_view exp) const;

  storage::Database& db_;
  storage::BlobStore& blobs_;
  const Clock& clock_;
  std::string url_key_;
  MediaOptions o_;
  mutable std::mutex url_mu_;
  std::string public_url_;
};

}  // namespace rh::messaging
