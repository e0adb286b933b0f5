// A self-signed TLS certificate for the SIP edge's TLS and secure WebSocket
// listeners in development (`ringhouse up` without voice.tls_certificate).
// Production deployments give Kamailio the operator's certificate.
#pragma once

#include <string>

#include "core/result.hpp"

namespace rh::voice {

// Writes an ECDSA P-256 key (0600) and a certificate for common_name (also
// its subjectAltName, DNS or IP), valid 825 days, unless both files exist.
Status ensure_self_signed_certificate(const std::string& cert_path, const std::string& key_path,
                                      const std::string& common_name);

}  // namespace rh::voice
