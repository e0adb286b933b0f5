// MMS media: type sniffing, the downloader's address rules, signed URLs, the
// store's ownership rules, and SSRF-safe downloads from a small HTTP server
// run in the test on loopback addresses.
#include "messaging/media.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "unit/unit_db.hpp"

namespace rh::messaging {
namespace {

using namespace std::chrono_literals;

const std::string kPng(
    "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00"
    "\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x0d\x49\x44\x41\x54\x78\x9c\x63"
    "\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99\x3d\x1d\x00\x00\x00\x00\x49\x45\x4e\x44"
    "\xae\x42\x60\x82",
    70);

std::string bytes(std::initializer_list<int> b, std::string_view tail = "") {
  std::string out;
  for (int c : b) out += static_cast<char>(c);
  return out + std::string(tail);
}

// ---- sniffing -------------------------------------------------------------------

TEST(MediaSniff, RecognisesEachSupportedType) {
  EXPECT_EQ(sniff_media_type(bytes({0xFF, 0xD8, 0xFF, 0xE0}, "JFIF")), "image/jpeg");
  EXPECT_EQ(sniff_media_type(kPng), "image/png");
  EXPECT_EQ(sniff_media_type("GIF89a\x01\x00\x01\x00"), "image/gif");
  EXPECT_EQ(sniff_media_type("GIF87a\x01\x00\x01\x00"), "image/gif");
  EXPECT_EQ(sniff_media_type(std::string("RIFF\x24\x00\x00\x00WEBPVP8 ", 16)), "image/webp");
  EXPECT_EQ(sniff_media_type(std::string("\x00\x00\x00\x20"
                                         "ftypisom\x00\x00\x02\x00",
                                         16)),
            "video/mp4");
  EXPECT_EQ(sniff_media_type(std::string("\x00\x00\x00\x18"
                                         "ftypmp42\x00\x00\x00\x00",
                                         16)),
            "video/mp4");
  EXPECT_EQ(sniff_media_type(std::string("\x00\x00\x00\x14"
                                         "ftyp3gp4\x00\x00\x00\x00",
                                         16)),
            "video/3gpp");
  EXPECT_EQ(sniff_media_type("#!AMR\n\x3c\x91"), "audio/amr");
  EXPECT_EQ(sniff_media_type(std::string("ID3\x04\x00\x00\x00\x00\x00\x21", 10)), "audio/mpeg");
  EXPECT_EQ(sniff_media_type(bytes({0xFF, 0xFB, 0x90, 0x64})), "audio/mpeg");  // MPEG-1 layer 3
  EXPECT_EQ(sniff_media_type("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada\r\nEND:VCARD\r\n"),
            "text/vcard");
  EXPECT_EQ(sniff_media_type("\xEF\xBB\xBF\r\nbegin:vcard\nEND:VCARD\n"), "text/vcard");
  EXPECT_EQ(sniff_media_type("%PDF-1.7\n%\xE2\xE3\xCF\xD3"), "application/pdf");
}

TEST(MediaSniff, RefusesJunkAndLookalikes) {
  for (const std::string& junk : std::vector<std::string>{
           "", "<!DOCTYPE html><html><script>alert(1)</script>",
           "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
           std::string("MZ\x90\x00\x03\x00", 6),  // Windows executable
           std::string("\x7f"
                       "ELF\x02\x01\x01\x00",
                       8),  // ELF executable
           "#!/bin/sh\nrm -rf /\n",
           "#!AMR-WB\n",                                     // wide-band AMR: not taken
           std::string("RIFF\x24\x00\x00\x00WAVEfmt ", 16),  // WAV, not WebP
           std::string("\x00\x00\x00\x18"
                       "ftypheic\x00\x00\x00\x00",
                       16),  // HEIF picture
           std::string("\x00\x00\x00\x18"
                       "ftypM4A \x00\x00\x00\x00",
                       16),                  // AAC audio
           bytes({0xFF, 0xF1, 0x50, 0x80}),  // AAC ADTS, not MPEG layer 1-3
           bytes({0xFF, 0xFB, 0xF0, 0x64}),  // MPEG frame with a bad bitrate
           bytes({0xFF, 0xD8}),              // truncated JPEG marker
           "PK\x03\x04",                     // zip
           "VERSION:3.0\nBEGIN:VCARD",       // not at the start
           "\x89PNG\r\n",                    // truncated signature
       }) {
    EXPECT_EQ(sniff_media_type(junk), "") << "bytes: " << crypto::hex_encode(junk);
  }
}

// ---- networks and addresses -----------------------------------------------------------

sockaddr_storage addr(const std::string& text) {
  sockaddr_storage ss{};
  if (text.find(':') != std::string::npos) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    EXPECT_EQ(::inet_pton(AF_INET6, text.c_str(), &in6->sin6_addr), 1) << text;
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    EXPECT_EQ(::inet_pton(AF_INET, text.c_str(), &in->sin_addr), 1) << text;
  }
  return ss;
}

bool allowed(const std::string& text, const std::vector<Cidr>& allow = {}) {
  auto ss = addr(text);
  return address_allowed(reinterpret_cast<const sockaddr*>(&ss), allow);
}

std::vector<Cidr> nets(std::initializer_list<const char*> list) {
  std::vector<Cidr> out;
  for (const char* n : list) {
    auto c = parse_cidr(n);
    EXPECT_TRUE(c) << n;
    if (c) out.push_back(*c);
  }
  return out;
}

TEST(MediaCidr, ParsesNetworksAndHosts) {
  auto a = parse_cidr("10.1.2.3/8");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->family, AF_INET);
  EXPECT_EQ(a->prefix, 8);
  EXPECT_EQ(a->addr[0], 10);
  EXPECT_EQ(a->addr[1], 0);  // host bits cleared
  EXPECT_EQ(a->addr[3], 0);
  auto host = parse_cidr("192.0.2.7");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->prefix, 32);
  auto odd = parse_cidr("172.31.255.255/12");
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->addr[1], 16);
  auto v6 = parse_cidr("fd00:abcd::1/8");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family, AF_INET6);
  EXPECT_EQ(v6->prefix, 8);
  EXPECT_EQ(v6->addr[0], 0xfd);
  EXPECT_EQ(v6->addr[1], 0);
  EXPECT_EQ(parse_cidr("::1")->prefix, 128);
  EXPECT_EQ(parse_cidr("0.0.0.0/0")->prefix, 0);
  EXPECT_EQ(parse_cidr("::/0")->prefix, 0);
  for (const char* bad : {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x",
                          "10.0.0/8", "10.0.0.256", "localhost", "10.0.0.0/08a", "1.2.3.4/+8",
                          "fe80::1%eth0", "::ffff:1.2.3.4.5", "10.0.0.0 /8"})
    EXPECT_FALSE(parse_cidr(bad)) << bad;
}

TEST(MediaCidr, RefusesInternalIpv4AndTheirEdges) {
  for (const char* a : {"127.0.0.1",   "127.255.255.255", "0.0.0.0",         "0.255.255.255",
                        "10.0.0.0",    "10.255.255.255",  "172.16.0.0",      "172.31.255.255",
                        "192.168.0.1", "192.168.255.255", "169.254.169.254", "169.254.0.0",
                        "100.64.0.0",  "100.127.255.255", "224.0.0.1",       "239.255.255.255",
                        "240.0.0.1",   "255.255.255.255", "192.0.0.8",       "192.0.2.1",
                        "198.18.0.1",  "198.19.255.255",  "198.51.100.1",    "203.0.113.9"})
    EXPECT_FALSE(allowed(a)) << a;
  for (const char* a : {"8.8.8.8", "1.1.1.1", "9.255.255.255", "11.0.0.0", "172.15.255.255",
                        "172.32.0.0", "192.167.255.255", "192.169.0.0", "169.253.255.255",
                        "169.255.0.0", "100.63.255.255", "100.128.0.0", "126.255.255.255",
                        "128.0.0.0", "223.255.255.255", "198.17.255.255", "198.20.0.0"})
    EXPECT_TRUE(allowed(a)) << a;
}

TEST(MediaCidr, RefusesInternalIpv6AndMappedIpv4) {
  for (const char* a : {"::",
                        "::1",
                        "fe80::1",
                        "febf:ffff::1",
                        "fec0::1",
                        "fc00::1",
                        "fdff:ffff::1",
                        "ff02::1",
                        "ff0e::1",
                        "::ffff:127.0.0.1",
                        "::ffff:10.0.0.1",
                        "::ffff:169.254.169.254",
                        "::ffff:0.0.0.0",
                        "::ffff:100.64.0.1",
                        "::ffff:224.0.0.1",
                        "::127.0.0.1",
                        "::8.8.8.8",
                        "64:ff9b::10.0.0.1",
                        "64:ff9b::127.0.0.1",
                        "64:ff9b:1::1",
                        "2002:a00:1::1",
                        "2002:7f00:1::1",
                        "2001:db8::1",
                        "100::1"})
    EXPECT_FALSE(allowed(a)) << a;
  for (const char* a : {"2606:4700:4700::1111", "2001:4860:4860::8888", "::ffff:8.8.8.8",
                        "64:ff9b::8.8.8.8", "2002:808:808::1", "fbff:ffff::1", "fe7f:ffff::1"})
    EXPECT_TRUE(allowed(a)) << a;
}

TEST(MediaCidr, TheAllowListOpensExactlyWhatItNames) {
  auto loopback = nets({"127.0.0.0/8"});
  EXPECT_TRUE(allowed("127.0.0.1", loopback));
  EXPECT_TRUE(allowed("127.9.9.9", loopback));
  EXPECT_TRUE(allowed("::ffff:127.0.0.1", loopback));  // the mapped form too
  EXPECT_FALSE(allowed("::1", loopback));
  EXPECT_FALSE(allowed("10.0.0.1", loopback));
  EXPECT_TRUE(allowed("128.0.0.1", loopback));  // public anyway
  auto one = nets({"127.0.0.1/32", "fd12::/16"});
  EXPECT_TRUE(allowed("127.0.0.1", one));
  EXPECT_FALSE(allowed("127.0.0.2", one));
  EXPECT_TRUE(allowed("fd12:3456::1", one));
  EXPECT_FALSE(allowed("fd13::1", one));
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  EXPECT_FALSE(address_allowed(reinterpret_cast<const sockaddr*>(&un), nets({"0.0.0.0/0"})));
  EXPECT_FALSE(address_allowed(nullptr, {}));
}

// ---- the store --------------------------------------------------------------------

class MediaStoreTest : public unit::MigratedDbTest {
 protected:
  void SetUp() override {
    unit::MigratedDbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    crypto::init();
    dir_ = test::make_temp_dir("rh-media");
    blobs_ = storage::open_local_blob_store(dir_);
    store_ = make_store(std::string(32, 'd'));
    alice_ = {new_id("ten"), new_id("usr")};
    bob_ = {alice_.tenant_id, new_id("usr")};
    eve_ = {new_id("ten"), alice_.user_id};  // another tenant, even with the same user id
  }
  void TearDown() override {
    store_.reset();
    blobs_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
    unit::MigratedDbTest::TearDown();
  }
  std::unique_ptr<MediaStore> make_store(const std::string& key) {
    return std::make_unique<MediaStore>(db(), *blobs_, clock_, key, options_,
                                        "https://rh.example/");
  }

  MediaOptions options_;
  std::string dir_;
  std::unique_ptr<storage::BlobStore> blobs_;
  std::unique_ptr<MediaStore> store_;
  UserScope alice_, bob_, eve_;
};

RH_ON_BOTH_DRIVERS(MediaStoreTest);

TEST_P(MediaStoreTest, UploadSniffsStoresAndServesOnlyTheOwner) {
  auto m = store_->upload(alice_, kPng, "application/octet-stream");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_TRUE(is_id(m->id, "med"));
  EXPECT_EQ(m->content_type, "image/png");
  EXPECT_EQ(m->size, 70);
  EXPECT_EQ(m->sha256, crypto::hex_encode(crypto::sha256(kPng)));
  EXPECT_EQ(m->origin, "upload");
  EXPECT_EQ(m->created_at, clock_.now_ms());

  auto got = store_->get(alice_, m->id);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->content_type, "image/png");
  EXPECT_EQ(got->user_id, alice_.user_id);
  auto read = store_->read(m->id);
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, kPng);

  EXPECT_EQ(store_->get(bob_, m->id).error().code, Errc::not_found);
  EXPECT_EQ(store_->get(eve_, m->id).error().code, Errc::not_found);
  EXPECT_EQ(store_->get(alice_, new_id("med")).error().code, Errc::not_found);
  EXPECT_EQ(store_->read(new_id("med")).error().code, Errc::not_found);
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM media WHERE origin = 'upload'"), 1);
}

TEST_P(MediaStoreTest, AGrantLetsARecipientRead) {
  auto m = store_->upload(alice_, kPng, "image/png");
  ASSERT_TRUE(m);
  EXPECT_EQ(store_->get(bob_, m->id).error().code, Errc::not_found);
  ASSERT_TRUE(store_->grant(m->id, bob_.user_id));
  ASSERT_TRUE(store_->grant(m->id, bob_.user_id));    // twice is fine
  ASSERT_TRUE(store_->grant(m->id, alice_.user_id));  // the owner: nothing to record
  auto got = store_->get(bob_, m->id);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->user_id, alice_.user_id);
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM media_grants"), 1);
  EXPECT_EQ(store_->grant(new_id("med"), bob_.user_id).error().code, Errc::not_found);
}

TEST_P(MediaStoreTest, RefusesEmptyOversizeUnknownAndMislabelledUploads) {
  options_.max_bytes = 1024;
  store_ = make_store(std::string(32, 'd'));
  auto reason = [&](std::string_view body, std::string_view declared) {
    auto r = store_->upload(alice_, body, declared);
    return r ? std::string("ok") : r.error().reason;
  };
  EXPECT_EQ(reason("", ""), "empty_media");
  EXPECT_EQ(reason("%PDF-" + std::string(1020, 'x'), ""), "media_too_large");
  EXPECT_EQ(reason("%PDF-" + std::string(1019, 'x'), ""), "ok");  // exactly the limit
  EXPECT_EQ(reason("<html><body>hi</body></html>", "text/html"), "unsupported_media_type");
  EXPECT_EQ(reason(std::string("MZ\x90\x00", 4), "image/png"), "unsupported_media_type");
  EXPECT_EQ(reason(kPng, "application/pdf"), "media_type_mismatch");
  EXPECT_EQ(reason(kPng, "text/html; charset=utf-8"), "media_type_mismatch");
  EXPECT_EQ(reason("%PDF-1.4", "image/png"), "media_type_mismatch");
  // Aliases and vague labels of the same kind are fine: the bytes decide.
  EXPECT_EQ(reason(kPng, "image/jpg"), "ok");
  EXPECT_EQ(reason(kPng, " IMAGE/PNG ; name=a.png"), "ok");
  EXPECT_EQ(reason(std::string("\x00\x00\x00\x14"
                               "ftyp3gp4\x00\x00\x00\x00",
                               16),
                   "audio/3gpp"),
            "ok");
  EXPECT_EQ(reason("BEGIN:VCARD\nEND:VCARD\n", "text/x-vcard"), "ok");
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM media"), 5);
}

TEST_P(MediaStoreTest, MmsTotalIsCheckedAgainstTheCarrierLimit) {
  options_.mms_max_total_bytes = 100;
  store_ = make_store(std::string(32, 'd'));
  Media a, b;
  a.size = 60;
  b.size = 40;
  std::vector<Media> fits{a, b};
  EXPECT_TRUE(store_->check_mms_total(fits));
  b.size = 41;
  std::vector<Media> over{a, b};
  auto st = store_->check_mms_total(over);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().reason, "mms_too_large");
}

// ---- signed URLs --------------------------------------------------------------------

struct SignedUrl {
  std::string id, exp, sig;
};

SignedUrl split(const std::string& url) {
  // https://rh.example/media/{id}?exp={exp}&sig={sig}
  const std::string base = "https://rh.example/media/";
  EXPECT_EQ(url.rfind(base, 0), 0u) << url;
  auto q = url.find("?exp=");
  auto s = url.find("&sig=");
  EXPECT_NE(q, std::string::npos);
  EXPECT_NE(s, std::string::npos);
  return {url.substr(base.size(), q - base.size()), url.substr(q + 5, s - q - 5),
          url.substr(s + 5)};
}

TEST_P(MediaStoreTest, SignedUrlsVerifyUntilTheyExpireAndOnlyAsIssued) {
  std::string id = new_id("med");
  std::int64_t now_s = clock_.now_ms() / 1000;
  auto u = split(store_->signed_url(id, 600));
  EXPECT_EQ(u.id, id);
  EXPECT_EQ(u.exp, std::to_string(now_s + 600));
  // The documented scheme: base64url(HMAC-SHA256(key, id + "." + exp)) with
  // the key derived from the data key.
  std::string key = crypto::hmac_sha256(std::string(32, 'd'), "ringhouse media url v1");
  EXPECT_EQ(u.sig, crypto::base64url_encode(crypto::hmac_sha256(key, id + "." + u.exp)));

  EXPECT_TRUE(store_->verify_signed(u.id, u.exp, u.sig, now_s));
  EXPECT_TRUE(store_->verify_signed(u.id, u.exp, u.sig, now_s + 600));   // the last second
  EXPECT_FALSE(store_->verify_signed(u.id, u.exp, u.sig, now_s + 601));  // expired

  std::string tampered = u.sig;
  tampered[0] = tampered[0] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(store_->verify_signed(u.id, u.exp, tampered, now_s));
  EXPECT_FALSE(store_->verify_signed(u.id, std::to_string(now_s + 6000), u.sig, now_s));
  EXPECT_FALSE(store_->verify_signed(new_id("med"), u.exp, u.sig, now_s));  // another id
  EXPECT_FALSE(store_->verify_signed(u.id, u.exp, "", now_s));
  EXPECT_FALSE(store_->verify_signed(u.id, "", u.sig, now_s));
  EXPECT_FALSE(store_->verify_signed(u.id, "+" + u.exp, u.sig, now_s));
  EXPECT_FALSE(store_->verify_signed(u.id, u.exp + "0", u.sig, now_s));
  EXPECT_FALSE(store_->verify_signed("usr_" + id.substr(4), u.exp, u.sig, now_s));
  // Another server's key does not verify ours.
  auto other = make_store(std::string(32, 'e'));
  EXPECT_FALSE(other->verify_signed(u.id, u.exp, u.sig, now_s));

  // The configured lifetime by default.
  auto d = split(store_->signed_url(id));
  EXPECT_EQ(d.exp, std::to_string(now_s + options_.url_ttl_s));
}

// ---- downloads ------------------------------------------------------------------------

// A tiny HTTP/1.1 server on one loopback address, answering each
// connection on its own thread through the test's handler.
class TinyHttp {
 public:
  // handler(fd, path, request head): writes the whole answer.
  using Handler = std::function<void(int, const std::string&, const std::string&)>;

  TinyHttp(const char* address, Handler h) : handler_(std::move(h)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    ::inet_pton(AF_INET, address, &in.sin_addr);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&in), sizeof in) == 0 && ::listen(fd_, 16) == 0;
    socklen_t len = sizeof in;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&in), &len);
    port_ = ntohs(in.sin_port);
    address_ = address;
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~TinyHttp() {
    stop_ = true;
    acceptor_.join();
    std::lock_guard lock(mu_);
    for (auto& t : workers_) t.join();
    ::close(fd_);
  }
  bool ok() const { return ok_; }
  std::string url(const std::string& path) const {
    return "http://" + address_ + ":" + std::to_string(port_) + path;
  }
  int requests() const { return requests_; }
  std::uint16_t port() const { return port_; }

  static void send_all(int fd, std::string_view data) {
    while (!data.empty()) {
      auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  static std::string head(int status, std::size_t length, const std::string& extra = "") {
    return "HTTP/1.1 " + std::to_string(status) +
           " X\r\nContent-Length: " + std::to_string(length) + "\r\nConnection: close\r\n" + extra +
           "\r\n";
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ++requests_;
      std::lock_guard lock(mu_);
      workers_.emplace_back([this, c] {
        std::string req;
        char buf[4096];
        while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
          pollfd in{c, POLLIN, 0};
          if (::poll(&in, 1, 2000) <= 0) break;
          auto n = ::recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          req.append(buf, static_cast<std::size_t>(n));
        }
        auto sp1 = req.find(' ');
        auto sp2 = req.find(' ', sp1 + 1);
        std::string path = sp1 == std::string::npos || sp2 == std::string::npos
                               ? ""
                               : req.substr(sp1 + 1, sp2 - sp1 - 1);
        handler_(c, path, req);
        ::shutdown(c, SHUT_RDWR);
        ::close(c);
      });
    }
  }

  Handler handler_;
  int fd_ = -1;
  bool ok_ = false;
  std::uint16_t port_ = 0;
  std::string address_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
};

class MediaFetchTest : public MediaStoreTest {
 protected:
  void SetUp() override {
    MediaStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    options_.max_bytes = 64 * 1024;
    options_.fetch_timeout_ms = 500;
    // A second loopback address, outside an allow-list of 127.0.0.1 alone.
    other_ =
        std::make_unique<TinyHttp>("127.0.0.2", [](int fd, const std::string&, const std::string&) {
          TinyHttp::send_all(fd, TinyHttp::head(200, kPng.size()) + kPng);
        });
    server_ = std::make_unique<TinyHttp>(
        "127.0.0.1",
        [this](int fd, const std::string& path, const std::string& req) { serve(fd, path, req); });
    ASSERT_TRUE(server_->ok() && other_->ok()) << "cannot listen on 127.0.0.1 and 127.0.0.2";
  }
  void TearDown() override {
    stopping_ = true;  // slow answers end
    server_.reset();
    other_.reset();
    MediaStoreTest::TearDown();
  }

  void serve(int fd, const std::string& path, const std::string& req) {
    if (path == "/pic") {
      // A lying Content-Type: the bytes decide.
      TinyHttp::send_all(fd,
                         TinyHttp::head(200, kPng.size(), "Content-Type: text/html\r\n") + kPng);
    } else if (path == "/private") {
      bool authed = req.find("Authorization: Basic dXNlcjpzZWNyZXQ=") != std::string::npos;
      if (authed)
        TinyHttp::send_all(fd, TinyHttp::head(200, kPng.size()) + kPng);
      else
        TinyHttp::send_all(fd, TinyHttp::head(401, 0, "WWW-Authenticate: Basic\r\n"));
    } else if (path == "/big") {
      std::string body = "%PDF-" + std::string(100 * 1024, 'x');
      TinyHttp::send_all(fd, TinyHttp::head(200, body.size()) + body);
    } else if (path == "/big-unannounced") {
      // No length: the size is known only while the bytes arrive.
      TinyHttp::send_all(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n%PDF-");
      std::string chunk(4096, 'x');
      for (int i = 0; i < 64 && !stopping_; ++i) TinyHttp::send_all(fd, chunk);
    } else if (path == "/slow") {
      TinyHttp::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n%PDF-");
      for (int i = 0; i < 150 && !stopping_; ++i) std::this_thread::sleep_for(20ms);
    } else if (path == "/to-other") {
      TinyHttp::send_all(fd, TinyHttp::head(302, 0, "Location: " + other_->url("/x") + "\r\n"));
    } else if (path == "/to-metadata") {
      TinyHttp::send_all(
          fd, TinyHttp::head(302, 0, "Location: http://169.254.169.254/latest/meta-data/\r\n"));
    } else if (path == "/to-file") {
      TinyHttp::send_all(fd, TinyHttp::head(302, 0, "Location: file:///etc/passwd\r\n"));
    } else if (path.rfind("/hop/", 0) == 0) {
      int n = std::stoi(path.substr(5));
      if (n == 0)
        TinyHttp::send_all(fd, TinyHttp::head(200, kPng.size()) + kPng);
      else
        TinyHttp::send_all(
            fd, TinyHttp::head(302, 0, "Location: /hop/" + std::to_string(n - 1) + "\r\n"));
    } else if (path == "/html") {
      std::string body = "<html><body>not a picture</body></html>";
      TinyHttp::send_all(fd, TinyHttp::head(200, body.size()) + body);
    } else {
      TinyHttp::send_all(fd, TinyHttp::head(404, 0));
    }
  }

  Result<Media> fetch(const std::string& url, const std::string& user = "",
                      const std::string& password = "") {
    return store_->fetch_remote(TenantScope{alice_.tenant_id}, alice_.user_id, url, user, password);
  }
  void allow(std::initializer_list<const char*> list) {
    options_.fetch_allow = nets(list);
    store_ = make_store(std::string(32, 'd'));
  }
  static std::string reason(const Result<Media>& r) {
    return r ? std::string("ok") : r.error().reason;
  }

  std::atomic<bool> stopping_{false};
  std::unique_ptr<TinyHttp> server_, other_;
};

RH_ON_BOTH_DRIVERS(MediaFetchTest);

TEST_P(MediaFetchTest, LoopbackIsRefusedAtConnectTimeUnlessAllowed) {
  allow({});
  auto r = fetch(server_->url("/pic"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::forbidden);
  EXPECT_EQ(r.error().reason, "media_address_refused");
  // A name is checked by what it resolves to, not by how it is spelt.
  std::string by_name = "http://localhost:" + std::to_string(server_->port()) + "/pic";
  EXPECT_EQ(reason(fetch(by_name)), "media_address_refused");
  EXPECT_EQ(server_->requests(), 0) << "no connection may reach a refused address";
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM media"), 0);

  allow({"127.0.0.0/8"});
  auto ok = fetch(server_->url("/pic"));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->content_type, "image/png");  // sniffed, not the server's text/html
  EXPECT_EQ(ok->origin, "inbound");
  EXPECT_EQ(ok->user_id, alice_.user_id);
  EXPECT_EQ(ok->tenant_id, alice_.tenant_id);
  EXPECT_EQ(*store_->read(ok->id), kPng);
  EXPECT_TRUE(store_->get(alice_, ok->id));
}

TEST_P(MediaFetchTest, BasicCredentialsAreSent) {
  allow({"127.0.0.1/32"});
  EXPECT_EQ(reason(fetch(server_->url("/private"))), "media_fetch_failed");
  EXPECT_EQ(reason(fetch(server_->url("/private"), "user", "secret")), "ok");
}

TEST_P(MediaFetchTest, RedirectsAreCheckedAgainAndLimited) {
  allow({"127.0.0.1/32"});
  // 127.0.0.2 answers, but the allow-list names 127.0.0.1 alone.
  EXPECT_EQ(reason(fetch(server_->url("/to-other"))), "media_address_refused");
  EXPECT_EQ(other_->requests(), 0);
  EXPECT_EQ(reason(fetch(server_->url("/to-metadata"))), "media_address_refused");
  EXPECT_EQ(reason(fetch(server_->url("/to-file"))), "media_fetch_failed");
  EXPECT_EQ(reason(fetch(server_->url("/hop/3"))), "ok");  // three redirects are fine
  EXPECT_EQ(reason(fetch(server_->url("/hop/4"))), "media_fetch_failed");
  // With 127.0.0.2 allowed, the same redirect goes through.
  allow({"127.0.0.1/32", "127.0.0.2/32"});
  EXPECT_EQ(reason(fetch(server_->url("/to-other"))), "ok");
}

TEST_P(MediaFetchTest, OversizeSlowAndWrongContentAreStopped) {
  allow({"127.0.0.0/8"});
  auto big = fetch(server_->url("/big"));
  EXPECT_EQ(reason(big), "media_too_large");
  auto stream = fetch(server_->url("/big-unannounced"));
  EXPECT_EQ(reason(stream), "media_too_large");
  auto started = std::chrono::steady_clock::now();
  auto slow = fetch(server_->url("/slow"));
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().code, Errc::timeout);
  EXPECT_EQ(slow.error().reason, "media_fetch_timeout");
  EXPECT_LT(took, 2s);
  EXPECT_EQ(reason(fetch(server_->url("/html"))), "unsupported_media_type");
  EXPECT_EQ(reason(fetch(server_->url("/missing"))), "media_fetch_failed");
  EXPECT_EQ(scalar("SELECT COUNT(*) AS n FROM media"), 0);
}

TEST_P(MediaFetchTest, OnlyHttpUrlsAreTried) {
  allow({"0.0.0.0/0", "::/0"});
  for (const char* url : {"", "file:///etc/passwd", "gopher://127.0.0.1:70/", "ftp://127.0.0.1/x",
                          "/relative/path", "http://", "dict://127.0.0.1:11211/stat"})
    EXPECT_EQ(reason(fetch(url)), "bad_media_url") << url;
}

}  // namespace
}  // namespace rh::messaging
