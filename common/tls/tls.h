#pragma once
// File: common/tls/tls.h
//
// TLS for every Fjord connection: what one endpoint's TLS is configured as,
// the PEM material it serves with (checked before use), and the OpenSSL
// contexts built from it. Both sides of every link use this file: the Kafka
// listener (Boost.Asio over OpenSSL, broker/server/kafka_listener.cc), the
// gRPC servers and channels (common/tls/grpc_tls.h), and the CLI.
//
// Contracts:
// - Nothing throws. Every failure is a tls_errc whose detail names the file
//   and the reason ("cert_file /etc/fjord/b.pem: certificate expired on
//   2026-01-01 00:00:00 UTC"), so an operator can fix it from the message.
// - Material is checked when loaded, not at the first handshake: the files
//   parse, the key belongs to the certificate, the certificate is valid now
//   (not expired, not yet valid), and the truststore holds at least one CA.
// - The cipher policy is one function (apply_policy): TLS 1.2 minimum
//   everywhere; in FIPS mode only NIST-approved suites and curves (AES-GCM
//   with ECDHE on P-256/P-384/P-521; no ChaCha20-Poly1305, no X25519).
// - OpenSSL's error queue is drained into the detail of the error it caused
//   and never left for an unrelated caller to find.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "common/result.h"

struct ssl_ctx_st;
struct ssl_st;
struct x509_st;

namespace fjord::tls {

enum class tls_errc {
    /// A file could not be read (missing, permissions).
    unreadable = 1,
    /// A file is not the PEM it should be.
    bad_pem,
    /// The private key does not belong to the certificate.
    key_mismatch,
    /// The certificate is outside its validity period.
    expired,
    not_yet_valid,
    /// A setting is missing or contradicts another.
    bad_settings,
    /// OpenSSL refused to build a context.
    openssl,
};
const std::error_category& tls_category();
inline std::error_code make_error_code(tls_errc e) {
    return {static_cast<int>(e), tls_category()};
}

}  // namespace fjord::tls

template <>
struct std::is_error_code_enum<fjord::tls::tls_errc> : std::true_type {};

namespace fjord::tls {

/// One endpoint's TLS as configured (a server listener, or a client's link).
/// For a server: cert_file and key_file are its identity, truststore_file the
/// CAs client certificates must chain to (needed for require_client_auth).
/// For a client: truststore_file the CAs the server must chain to (empty: the
/// system's), cert_file and key_file its identity for mutual TLS (optional).
struct tls_settings {
    bool enabled = false;
    std::string cert_file;
    std::string key_file;
    std::string truststore_file;
    /// Server: refuse a client without a certificate that chains to the
    /// truststore. Client: unused.
    bool require_client_auth = false;
    /// Client only: accept any server certificate (rpk's
    /// tls.insecure_skip_verify). Never set by a daemon.
    bool insecure_skip_verify = false;
    /// Client only: the name the server certificate must carry; empty: the
    /// host the client dials.
    std::string server_name;
    bool operator==(const tls_settings&) const = default;
};

/// Checks a server's settings: enabled needs cert_file and key_file;
/// require_client_auth needs truststore_file. `path` prefixes the errors
/// ("listen.kafka_tls").
result<void> check_server_settings(const tls_settings& s, std::string_view path);

/// Checks a client's: cert_file and key_file both or neither.
result<void> check_client_settings(const tls_settings& s, std::string_view path);

/// PEM material as loaded from a tls_settings' files, checked (see the file
/// comment). Empty strings for files not configured.
struct credential_set {
    std::string key_pem;
    std::string cert_pem;  ///< the certificate chain, leaf first
    std::string ca_pem;
    /// The leaf's subject (RFC 2253) and expiry, for logs and status.
    std::string subject;
    std::chrono::system_clock::time_point not_after{};
    bool operator==(const credential_set& o) const {
        return key_pem == o.key_pem && cert_pem == o.cert_pem && ca_pem == o.ca_pem;
    }
};

/// Reads and checks the files `s` names, as of `now`.
result<credential_set> load_credentials(
    const tls_settings& s,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// Checks PEM material already in memory (load_credentials after the reads).
/// `what` names the source in errors (a file path, "dev CA").
result<credential_set> check_credentials(std::string key_pem, std::string cert_pem,
                                         std::string ca_pem,
                                         std::chrono::system_clock::time_point now);

/// Whether this process runs OpenSSL in FIPS mode (the fips provider is the
/// default; see common/tls/fips.h). Decides apply_policy's lists.
bool fips_active();

/// The approved lists apply_policy sets in FIPS mode (for docs and tests).
inline constexpr const char* fips_tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";
inline constexpr const char* fips_tls13_ciphersuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";
inline constexpr const char* fips_groups = "P-256:P-384:P-521";

/// TLS 1.2 minimum; in FIPS mode the approved suites and groups only.
result<void> apply_policy(ssl_ctx_st* ctx);

/// Owns an SSL_CTX (SSL_CTX_free on destruction).
struct ssl_ctx_deleter {
    void operator()(ssl_ctx_st* c) const;
};
using ssl_ctx_ptr = std::unique_ptr<ssl_ctx_st, ssl_ctx_deleter>;

/// A server context: identity from `c`, client certificates requested when
/// `c.ca_pem` is set and required when `require_client_auth`.
result<ssl_ctx_ptr> make_server_context(const credential_set& c, bool require_client_auth);

/// A client context: server verified against `c.ca_pem` (the system's CAs
/// when empty) unless `insecure_skip_verify`; identity from `c` when set.
/// The host name is checked per connection (verify_host).
result<ssl_ctx_ptr> make_client_context(const credential_set& c, bool insecure_skip_verify);

/// Makes `ssl` (a client connection) check that the server certificate names
/// `host` (a DNS name or an IP address) and send it as SNI.
result<void> verify_host(ssl_st* ssl, const std::string& host);

/// Whether the PEM certificate `pem` names `host` in its subject
/// alternative names, strictly: an IP address only as an IP SAN, a DNS name
/// only as a DNS SAN spelled out (no wildcards, never the subject's CN).
/// The check that binds a verified certificate to a member's advertised
/// address (controller API forwarding, peer transport): looser matching
/// would let a user's or a wildcard certificate pass as a member's.
bool certificate_names_host(std::string_view pem, const std::string& host);

/// The subject (RFC 2253) of the PEM certificate `pem`, "" if it does not
/// parse. For logs.
std::string certificate_subject(std::string_view pem);

/// Whether `a` and `b` are the same IP address, comparing the parsed
/// addresses ("::ffff:127.0.0.1" is 127.0.0.1); false if either is not one.
bool same_ip_address(const std::string& a, const std::string& b);

/// The subject of `cert` in RFC 2253 form ("CN=alice,OU=ops,O=Example"), the
/// form Kafka's principal mapping rules match against.
std::string subject_rfc2253(x509_st* cert);

/// A handshake or verification failure as a sentence a user can act on,
/// from OpenSSL's error queue (drained) and the peer verification result:
/// "certificate has expired", "unable to get local issuer certificate
/// (the server's certificate is not signed by a trusted CA)",
/// "wrong version number (is the peer speaking plaintext?)".
std::string describe_failure(ssl_st* ssl);

/// "2026-01-01 00:00:00 UTC".
std::string format_utc(std::chrono::system_clock::time_point t);

/// The oldest entries of OpenSSL's error queue as one string, and drains it.
std::string drain_errors();

/// True when `bytes` (the first bytes a client sent) is a TLS ClientHello:
/// a handshake record of TLS 1.0..1.3. Lets a plaintext listener name the
/// mistake instead of failing on a nonsense frame size.
bool looks_like_client_hello(std::string_view bytes);

}  // namespace fjord::tls
