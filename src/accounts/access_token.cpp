// Access tokens as compact JWS, HS256 only. Verification refuses in this
// order: shape (3 non-empty base64url parts, bounded size), header (alg pinned
// to HS256, typ at+jwt, no crit), signature (constant time), then claims.
// Nothing is read from the claims before the signature has been checked, and
// nothing thrown inside escapes: every failure is an unauthorized Error.
#include "accounts/access_token.hpp"

#include <boost/json.hpp>
#include <limits>
#include <optional>

#include "core/crypto.hpp"

namespace rh::accounts {
namespace {

namespace json = boost::json;

constexpr std::string_view kHeader = R"({"alg":"HS256","typ":"at+jwt"})";
// Our tokens are a few hundred bytes; anything far larger is not one of ours.
constexpr std::size_t kMaxTokenBytes = 4096;
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

Error refuse(std::string reason) {
  return Error(Errc::unauthorized, std::move(reason));
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? kMax : kMin;
  return r;
}

std::int64_t saturating_sub(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r)) return b > 0 ? kMin : kMax;
  return r;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

std::string_view view(const json::string& s) {
  return {s.data(), s.size()};
}

// Decodes one base64url part and parses it as a JSON object.
std::optional<json::object> decode_object(std::string_view part) {
  auto bytes = crypto::base64url_decode(part);
  if (!bytes) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(*bytes, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

const json::value* member(const json::object& o, std::string_view name) {
  return o.if_contains(name);
}

// A NumericDate as an integer number of seconds; doubles and numbers beyond
// int64 are refused.
std::optional<std::int64_t> integer_claim(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  return std::nullopt;
}

// Optional string claim: absent is "", present must be a string.
bool string_claim(const json::object& o, std::string_view name, std::string& out) {
  const json::value* v = member(o, name);
  if (v == nullptr) return true;
  if (!v->is_string()) return false;
  out.assign(view(v->get_string()));
  return true;
}

Result<AccessClaims> verify_unguarded(std::string_view token, std::string_view key,
                                      std::string_view issuer, std::string_view audience,
                                      std::int64_t now_s, std::int64_t leeway_s) {
  if (token.size() > kMaxTokenBytes) return refuse("malformed");
  const std::size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return refuse("malformed");
  const std::size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return refuse("malformed");
  const std::string_view header_part = token.substr(0, dot1);
  const std::string_view payload_part = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_part = token.substr(dot2 + 1);
  if (header_part.empty() || payload_part.empty() || signature_part.empty())
    return refuse("malformed");

  // Header: the algorithm is pinned before the signature is looked at.
  auto header = decode_object(header_part);
  if (!header) return refuse("malformed");
  const json::value* alg = member(*header, "alg");
  if (alg == nullptr || !alg->is_string() || view(alg->get_string()) != "HS256")
    return refuse("unsupported algorithm");
  const json::value* typ = member(*header, "typ");
  if (typ == nullptr || !typ->is_string() ||
      !(iequals(view(typ->get_string()), "at+jwt") ||
        iequals(view(typ->get_string()), "application/at+jwt")))
    return refuse("malformed");
  // We understand no JWS extension, so any "crit" must be refused (RFC 7515 §4.1.11).
  if (member(*header, "crit") != nullptr) return refuse("malformed");

  // Signature over "header.payload", compared in constant time. An empty key
  // would let anyone mint tokens, so it verifies nothing.
  auto signature = crypto::base64url_decode(signature_part);
  const std::string expected = crypto::hmac_sha256(key, token.substr(0, dot2));
  if (key.empty() || !signature || !crypto::constant_time_equal(*signature, expected))
    return refuse("bad signature");

  // Claims.
  auto claims = decode_object(payload_part);
  if (!claims) return refuse("malformed");
  AccessClaims c;

  const json::value* iss = member(*claims, "iss");
  if (iss == nullptr || !iss->is_string() || view(iss->get_string()) != issuer)
    return refuse("wrong issuer");
  c.iss.assign(issuer);

  const json::value* aud = member(*claims, "aud");
  bool aud_ok = false;
  if (aud != nullptr && aud->is_string()) {
    aud_ok = view(aud->get_string()) == audience;
  } else if (aud != nullptr && aud->is_array()) {
    for (const json::value& a : aud->get_array())
      if (a.is_string() && view(a.get_string()) == audience) aud_ok = true;
  }
  if (!aud_ok) return refuse("wrong audience");
  c.aud.assign(audience);

  const std::int64_t leeway = leeway_s < 0 ? 0 : leeway_s;
  const json::value* exp = member(*claims, "exp");
  if (exp == nullptr) return refuse("malformed");
  auto exp_s = integer_claim(*exp);
  if (!exp_s) return refuse("malformed");
  if (*exp_s <= saturating_sub(now_s, leeway)) return refuse("expired");
  c.exp = *exp_s;

  const std::int64_t latest = saturating_add(now_s, leeway);
  for (std::string_view name : {"nbf", "iat"}) {
    const json::value* v = member(*claims, name);
    if (v == nullptr) continue;
    auto t = integer_claim(*v);
    if (!t) return refuse("malformed");
    if (*t > latest) return refuse("not yet valid");
    if (name == "iat") c.iat = *t;
  }

  if (!string_claim(*claims, "sub", c.sub) || c.sub.empty() ||
      !string_claim(*claims, "tid", c.tid) || c.tid.empty() ||
      !string_claim(*claims, "sid", c.sid) || c.sid.empty() || !string_claim(*claims, "jti", c.jti))
    return refuse("malformed");

  if (const json::value* mfa = member(*claims, "mfa")) {
    if (!mfa->is_bool()) return refuse("malformed");
    c.mfa = mfa->get_bool();
  }
  return c;
}

}  // namespace

std::string sign_access_token(const AccessClaims& c, std::string_view key) {
  json::object claims;
  claims["iss"] = c.iss;
  claims["aud"] = c.aud;
  claims["sub"] = c.sub;
  claims["tid"] = c.tid;
  claims["sid"] = c.sid;
  if (!c.jti.empty()) claims["jti"] = c.jti;
  claims["mfa"] = c.mfa;
  claims["iat"] = c.iat;
  claims["exp"] = c.exp;
  std::string token = crypto::base64url_encode(kHeader);
  token += '.';
  token += crypto::base64url_encode(json::serialize(claims));
  const std::string signature = crypto::hmac_sha256(key, token);
  token += '.';
  token += crypto::base64url_encode(signature);
  return token;
}

Result<AccessClaims> verify_access_token(std::string_view token, std::string_view key,
                                         std::string_view issuer, std::string_view audience,
                                         std::int64_t now_s, std::int64_t leeway_s) {
  try {
    return verify_unguarded(token, key, issuer, audience, now_s, leeway_s);
  } catch (...) {
    // Out of memory, or a Boost.JSON surprise: still just a refused token.
    return refuse("malformed");
  }
}

}  // namespace rh::accounts
