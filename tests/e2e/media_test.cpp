// MMS media over HTTP on both drivers, against the real binary: a user
// uploads a picture and reads it back; nobody else can; executables, pages
// and oversize bodies are refused; a carrier fetches it from a signed link
// without credentials, and a tampered or expired link gets nothing. The
// links are computed here as the documented scheme says, from the server's
// data key in its data directory.
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <string>

#include "core/crypto.hpp"
#include "e2e/accounts_fixture.hpp"

namespace rh::test {

namespace json = boost::json;

namespace {

const std::string kPng(
    "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00"
    "\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x0d\x49\x44\x41\x54\x78\x9c\x63"
    "\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99\x3d\x1d\x00\x00\x00\x00\x49\x45\x4e\x44"
    "\xae\x42\x60\x82",
    70);

std::string code_of(const HttpResponse& r) {
  try {
    return jstr(r.json(), "code");
  } catch (const std::exception&) {
    return "";
  }
}

HttpResponse upload(std::uint16_t port, const std::string& token, const std::string& body,
                    const std::string& type, const std::string& host = "localhost") {
  HttpRequest q;
  q.method = "POST";
  q.target = "/v1/media";
  q.body = body;
  if (!type.empty()) q.headers["Content-Type"] = type;
  if (!token.empty()) q.headers["Authorization"] = "Bearer " + token;
  q.headers["Host"] = host;
  return http(port, q);
}

class Media : public E2E {
 protected:
  void SetUp() override {
    E2E::SetUp();
    if (IsSkipped()) return;
    crypto::init();
    rh_ = start({"--set", "messaging.media_max_bytes=4096"});
    ASSERT_TRUE(rh_->running()) << rh_->log();
    op_ = rh_->operator_token();
  }
  void TearDown() override {
    if (HasFailure() && rh_) rh_->keep_dir();
  }
  std::uint16_t port() const { return rh_->port(); }

  // The signature a link carries: base64url(HMAC-SHA256(k, id + "." + exp))
  // with k = HMAC-SHA256(data key, "ringhouse media url v1").
  std::string signature(const std::string& id, const std::string& exp) const {
    std::ifstream in(rh_->data_dir() + "/secrets/data-key");
    std::string data_key;
    std::getline(in, data_key);
    EXPECT_FALSE(data_key.empty());
    std::string k = crypto::hmac_sha256(data_key, "ringhouse media url v1");
    return crypto::base64url_encode(crypto::hmac_sha256(k, id + "." + exp));
  }
  static std::int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  std::unique_ptr<RinghouseProcess> rh_;
  std::string op_;
};
RH_E2E_ON_BOTH_DRIVERS(Media);

TEST_P(Media, UploadedPictureIsServedToItsOwnerOnly) {
  Account ann = signed_up_user(port(), op_, "ann@example.com");
  Account ben = signed_up_user(port(), op_, "ben@example.com");

  auto up = upload(port(), ann.access_token, kPng, "image/png");
  ASSERT_EQ(up.status, 201) << up.body;
  auto m = up.json();
  std::string id = jstr(m, "id");
  EXPECT_EQ(id.rfind("med_", 0), 0u) << id;
  EXPECT_EQ(jstr(m, "content_type"), "image/png");
  EXPECT_EQ(m.at("size").as_int64(), 70);
  EXPECT_EQ(jstr(m, "url"), "/v1/media/" + id);
  EXPECT_EQ(jstr(m, "sha256"), crypto::hex_encode(crypto::sha256(kPng)));
  EXPECT_FALSE(jstr(m, "created_at").empty());
  EXPECT_EQ(up.header("location"), "/v1/media/" + id);

  auto mine = call(port(), "GET", "/v1/media/" + id, "", ann.access_token);
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(mine.body, kPng);
  EXPECT_EQ(mine.header("content-type"), "image/png");
  EXPECT_EQ(mine.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(mine.header("content-disposition"), "inline");
  EXPECT_EQ(mine.header("cache-control").rfind("private", 0), 0u) << mine.header("cache-control");

  // Another user of the same tenant: as if it did not exist.
  auto other = call(port(), "GET", "/v1/media/" + id, "", ben.access_token);
  EXPECT_EQ(other.status, 404) << other.body;
  EXPECT_EQ(other.header("content-type"), "application/problem+json");
  // A user of another tenant too.
  auto t = http_json(
      port(), "POST", "/v1/admin/tenants",
      json::serialize(json::object{
          {"slug", "other"}, {"name", "Other"}, {"hostnames", json::array{"other.test"}}}),
      op_);
  ASSERT_EQ(t.status, 201) << t.body;
  Account oz = signed_up_user(port(), op_, "oz@example.com", "other.test");
  auto far = call(port(), "GET", "/v1/media/" + id, "", oz.access_token, "other.test");
  EXPECT_EQ(far.status, 404) << far.body;
  // Nobody at all.
  auto anon = call(port(), "GET", "/v1/media/" + id);
  EXPECT_EQ(anon.status, 401) << anon.body;
  auto anon_up = upload(port(), "", kPng, "image/png");
  EXPECT_EQ(anon_up.status, 401) << anon_up.body;
  EXPECT_EQ(
      call(port(), "GET", "/v1/media/med_01jd0000000000000000000000", "", ann.access_token).status,
      404);

  // A PDF is a download, not a page.
  auto pdf = upload(port(), ben.access_token, "%PDF-1.4\n%%EOF\n", "");
  ASSERT_EQ(pdf.status, 201) << pdf.body;
  auto got = call(port(), "GET", "/v1/media/" + jstr(pdf.json(), "id"), "", ben.access_token);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.header("content-type"), "application/pdf");
  EXPECT_EQ(got.header("content-disposition"), "attachment");
}

TEST_P(Media, ExecutablesPagesAndOversizeBodiesAreRefused) {
  Account ann = signed_up_user(port(), op_, "ann@example.com");
  auto html = upload(port(), ann.access_token, "<html><script>alert(document.cookie)</script>",
                     "text/html");
  EXPECT_EQ(html.status, 415) << html.body;
  EXPECT_EQ(html.header("content-type"), "application/problem+json");
  EXPECT_EQ(code_of(html), "unsupported_media_type");
  auto exe =
      upload(port(), ann.access_token, std::string("MZ\x90\x00\x03\x00\x00\x00", 8), "image/png");
  EXPECT_EQ(exe.status, 415) << exe.body;
  auto elf = upload(port(), ann.access_token,
                    std::string("\x7f"
                                "ELF\x02\x01\x01\x00",
                                8),
                    "application/octet-stream");
  EXPECT_EQ(elf.status, 415) << elf.body;
  // A picture declared as something else entirely.
  auto lie = upload(port(), ann.access_token, kPng, "application/pdf");
  EXPECT_EQ(lie.status, 415) << lie.body;
  EXPECT_EQ(code_of(lie), "media_type_mismatch");
  // messaging.media_max_bytes is 4096 here.
  auto big = upload(port(), ann.access_token, kPng + std::string(5000, '\0'), "image/png");
  EXPECT_EQ(big.status, 413) << big.body;
  EXPECT_EQ(big.header("content-type"), "application/problem+json");
  auto fits = upload(port(), ann.access_token, kPng + std::string(4096 - 70, '\0'), "image/png");
  EXPECT_EQ(fits.status, 201) << fits.body;
}

TEST_P(Media, SignedLinksServeCarriersWithoutCredentials) {
  Account ann = signed_up_user(port(), op_, "ann@example.com");
  auto up = upload(port(), ann.access_token, kPng, "image/png");
  ASSERT_EQ(up.status, 201) << up.body;
  std::string id = jstr(up.json(), "id");
  std::string exp = std::to_string(now_s() + 600);
  std::string sig = signature(id, exp);

  auto good = http_get(port(), "/media/" + id + "?exp=" + exp + "&sig=" + sig);
  ASSERT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(good.body, kPng);
  EXPECT_EQ(good.header("content-type"), "image/png");
  EXPECT_EQ(good.header("x-content-type-options"), "nosniff");

  std::string tampered = sig;
  tampered[0] = tampered[0] == 'A' ? 'B' : 'A';
  auto bad = http_get(port(), "/media/" + id + "?exp=" + exp + "&sig=" + tampered);
  EXPECT_EQ(bad.status, 403) << bad.body;
  EXPECT_EQ(bad.header("content-type"), "application/problem+json");
  EXPECT_EQ(code_of(bad), "bad_signature");
  // A later expiry with the old signature.
  auto longer =
      http_get(port(), "/media/" + id + "?exp=" + std::to_string(now_s() + 6000) + "&sig=" + sig);
  EXPECT_EQ(longer.status, 403) << longer.body;
  // Correctly signed, but expired.
  std::string past = std::to_string(now_s() - 5);
  auto expired = http_get(port(), "/media/" + id + "?exp=" + past + "&sig=" + signature(id, past));
  EXPECT_EQ(expired.status, 403) << expired.body;
  // An unknown id, correctly signed: the same answer as a bad signature.
  std::string ghost = "med_01jd0000000000000000000000";
  auto unknown =
      http_get(port(), "/media/" + ghost + "?exp=" + exp + "&sig=" + signature(ghost, exp));
  EXPECT_EQ(unknown.status, 403) << unknown.body;
  EXPECT_EQ(code_of(unknown), "bad_signature");
  // No link at all.
  EXPECT_EQ(http_get(port(), "/media/" + id).status, 404);
  // The signed link is not a way into the API.
  EXPECT_EQ(http_get(port(), "/v1/media/" + id + "?exp=" + exp + "&sig=" + sig).status, 401);
}

TEST_P(Media, ApiKeysNeedTheMessagesScopes) {
  Account ann = signed_up_user(port(), op_, "ann@example.com");
  auto key_with = [&](const char* scopes) {
    auto k = call(port(), "POST", "/v1/api-keys",
                  std::string(R"({"name":"k","scopes":)") + scopes + "}", ann.access_token);
    EXPECT_EQ(k.status, 201) << k.body;
    return k.status == 201 ? jstr(k.json(), "key") : std::string();
  };
  std::string writer = key_with(R"(["messages:write"])");
  std::string reader = key_with(R"(["messages:read"])");
  std::string numbers = key_with(R"(["numbers:read","numbers:write"])");

  auto up = upload(port(), writer, kPng, "image/png");
  ASSERT_EQ(up.status, 201) << up.body;
  std::string id = jstr(up.json(), "id");
  EXPECT_EQ(upload(port(), reader, kPng, "image/png").status, 403);
  EXPECT_EQ(call(port(), "GET", "/v1/media/" + id, "", reader).status, 200);
  auto refused = call(port(), "GET", "/v1/media/" + id, "", writer);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(code_of(refused), "insufficient_scope");
  EXPECT_EQ(call(port(), "GET", "/v1/media/" + id, "", numbers).status, 403);
}

}  // namespace
}  // namespace rh::test
