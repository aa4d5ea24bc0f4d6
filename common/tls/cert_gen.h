#pragma once
// File: common/tls/cert_gen.h
//
// A private certificate authority in a few calls, for `fjord dev start --tls`
// and for tests that need real certificates (expired ones, wrong hosts,
// untrusted issuers). Keys are ECDSA P-256 and signatures SHA-256, both
// FIPS-approved, so what this makes also works in FIPS mode.
//
// Not for production PKI: no revocation, no key protection beyond the file
// mode the caller writes with (write_key_file uses 0600).

#include <chrono>
#include <string>
#include <vector>

#include "common/result.h"

namespace fjord::tls {

struct issued {
    std::string key_pem;
    std::string cert_pem;
};

struct cert_request {
    /// The subject's CN; `extra_subject` adds RDNs after it ("OU=ops,O=Fjord").
    std::string common_name;
    std::string extra_subject;
    /// Subject alternative names: DNS names and IP addresses ("127.0.0.1").
    std::vector<std::string> dns_names;
    std::vector<std::string> ip_addresses;
    std::chrono::system_clock::time_point not_before =
        std::chrono::system_clock::now() - std::chrono::hours(1);
    std::chrono::system_clock::time_point not_after =
        std::chrono::system_clock::now() + std::chrono::hours(24 * 365);
    bool is_ca = false;
};

/// A self-signed CA certificate (is_ca forced on).
result<issued> make_ca(cert_request r);

/// A certificate for `r`, signed by `ca`. Usable for both server and client
/// authentication.
result<issued> issue(const issued& ca, const cert_request& r);

/// Writes `pem` to `path` with mode 0600 (keys) or 0644 (certificates),
/// replacing any file there.
result<void> write_pem_file(const std::string& path, const std::string& pem, bool secret);

}  // namespace fjord::tls
