#include "voice/tls_certificate.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <functional>
#include <filesystem>
#include <memory>

namespace rh::voice {

namespace {

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

Status write_pem(const std::string& path, mode_t mode, const std::function<bool(FILE*)>& fn) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return make_error(Errc::internal, "cannot write " + tmp);
  FILE* f = fdopen(fd, "w");
  if (!f) {
    ::close(fd);
    return make_error(Errc::internal, "cannot write " + tmp);
  }
  bool ok = fn(f);
  ok = (std::fflush(f) == 0) && ok && ::fsync(fileno(f)) == 0;
  std::fclose(f);
  if (!ok) return make_error(Errc::internal, "cannot write " + tmp);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return make_error(Errc::internal, "cannot write " + path + ": " + ec.message());
  return {};
}

}  // namespace

Status ensure_self_signed_certificate(const std::string& cert_path, const std::string& key_path,
                                      const std::string& common_name) {
  std::error_code ec;
  if (std::filesystem::exists(cert_path, ec) && std::filesystem::exists(key_path, ec)) return {};
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return make_error(Errc::internal, "cannot generate a TLS key");
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(::time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 825L * 86'400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Ringhouse (development)"), -1,
                             -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  std::string san = (is_ip(common_name) ? "IP:" : "DNS:") + common_name;
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str()));
  if (!ext || !X509_add_ext(cert.get(), ext.get(), -1))
    return make_error(Errc::internal, "cannot add the certificate's subjectAltName");
  if (!X509_sign(cert.get(), key.get(), EVP_sha256()))
    return make_error(Errc::internal, "cannot sign the TLS certificate");
  RH_TRY(write_pem(key_path, 0600, [&](FILE* f) {
    return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  }));
  RH_TRY(write_pem(cert_path, 0644,
                   [&](FILE* f) { return PEM_write_X509(f, cert.get()) == 1; }));
  return {};
}

}  // namespace rh::voice
