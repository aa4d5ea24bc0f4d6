// File: common/tls/tls.cc
//
// OpenSSL behind tls.h. Every OpenSSL object is owned by a unique_ptr with
// its free function; every failing call drains the error queue into the
// error it returns.

#include "common/tls/tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <vector>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

namespace fjord::tls {
namespace {

class tls_category_impl : public std::error_category {
  public:
    const char* name() const noexcept override { return "tls"; }
    std::string message(int c) const override {
        switch (static_cast<tls_errc>(c)) {
            case tls_errc::unreadable:
                return "file unreadable";
            case tls_errc::bad_pem:
                return "not valid PEM";
            case tls_errc::key_mismatch:
                return "key does not match certificate";
            case tls_errc::expired:
                return "certificate expired";
            case tls_errc::not_yet_valid:
                return "certificate not yet valid";
            case tls_errc::bad_settings:
                return "bad TLS settings";
            case tls_errc::openssl:
                return "OpenSSL error";
        }
        return "unknown tls error";
    }
};

struct bio_free {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct x509_free {
    void operator()(X509* x) const { X509_free(x); }
};
struct pkey_free {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

bio_ptr memory_bio(std::string_view pem) {
    return bio_ptr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

result<std::string> read_file(const std::string& key, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return error_info(tls_errc::unreadable,
                          fmt::format("{} {}: cannot be read ({})", key, path,
                                      std::generic_category().message(errno)));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (ss.str().size() > (1u << 20)) {
        return error_info(tls_errc::bad_pem, fmt::format("{} {}: larger than 1 MiB", key, path));
    }
    return ss.str();
}

}  // namespace

std::string format_utc(std::chrono::system_clock::time_point t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

namespace {

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* t) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(t, &tm) != 1) {
        return {};
    }
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

/// Every certificate in `pem` (leaf first), or an error naming `what`.
result<std::vector<x509_ptr>> parse_certs(std::string_view pem, std::string_view what) {
    std::vector<x509_ptr> out;
    auto bio = memory_bio(pem);
    while (true) {
        x509_ptr c(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (!c) {
            break;
        }
        out.push_back(std::move(c));
    }
    ERR_clear_error();  // the read past the last certificate is not an error
    if (out.empty()) {
        return error_info(tls_errc::bad_pem, fmt::format("{}: no PEM certificate found", what));
    }
    // Every certificate block must parse: a file caught half-written (a
    // bundle copied over in place) would otherwise pass as its first part.
    size_t blocks = 0;
    for (size_t at = pem.find("-----BEGIN CERTIFICATE-----"); at != std::string_view::npos;
         at = pem.find("-----BEGIN CERTIFICATE-----", at + 1)) {
        ++blocks;
    }
    if (blocks != out.size()) {
        return error_info(tls_errc::bad_pem,
                          fmt::format("{}: {} of {} certificate blocks parse (is the file "
                                      "incomplete or damaged?)",
                                      what, out.size(), blocks));
    }
    return out;
}

}  // namespace

const std::error_category& tls_category() {
    static const tls_category_impl c;
    return c;
}

std::string drain_errors() {
    std::string out;
    unsigned long e = 0;
    while ((e = ERR_get_error()) != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        // "error:0A000086:SSL routines::certificate verify failed": keep the reason.
        std::string_view s(buf);
        const auto p = s.rfind(':');
        if (!out.empty()) {
            out += "; ";
        }
        out += p == std::string_view::npos ? s : s.substr(p + 1);
    }
    return out;
}

result<void> check_server_settings(const tls_settings& s, std::string_view path) {
    if (!s.enabled) {
        return {};
    }
    if (s.cert_file.empty() || s.key_file.empty()) {
        return error_info::for_field(
            tls_errc::bad_settings,
            fmt::format("{}.{}", path, s.cert_file.empty() ? "cert_file" : "key_file"),
            "required when TLS is enabled");
    }
    if (s.require_client_auth && s.truststore_file.empty()) {
        return error_info::for_field(tls_errc::bad_settings,
                                     fmt::format("{}.truststore_file", path),
                                     "required when require_client_auth is true (the CAs "
                                     "client certificates must chain to)");
    }
    return {};
}

result<void> check_client_settings(const tls_settings& s, std::string_view path) {
    if (s.cert_file.empty() != s.key_file.empty()) {
        return error_info::for_field(
            tls_errc::bad_settings,
            fmt::format("{}.{}", path, s.cert_file.empty() ? "cert_file" : "key_file"),
            "mutual TLS needs both a certificate and its key");
    }
    return {};
}

result<credential_set> check_credentials(std::string key_pem, std::string cert_pem,
                                         std::string ca_pem,
                                         std::chrono::system_clock::time_point now) {
    credential_set out;
    if (!cert_pem.empty()) {
        auto certs = parse_certs(cert_pem, "certificate");
        if (!certs) {
            return error_info::for_field(certs.error().code, "cert_file", certs.error().detail);
        }
        X509* leaf = (*certs)[0].get();
        out.subject = subject_rfc2253(leaf);
        out.not_after = to_time_point(X509_get0_notAfter(leaf));
        const auto not_before = to_time_point(X509_get0_notBefore(leaf));
        if (now > out.not_after) {
            return error_info::for_field(tls_errc::expired, "cert_file",
                                         fmt::format("certificate {} expired on {}", out.subject,
                                                     format_utc(out.not_after)));
        }
        if (now < not_before) {
            return error_info::for_field(tls_errc::not_yet_valid, "cert_file",
                                         fmt::format("certificate {} is not valid before {}",
                                                     out.subject, format_utc(not_before)));
        }
        if (key_pem.empty()) {
            return error_info::for_field(tls_errc::bad_settings, "key_file",
                                         "a certificate needs its private key");
        }
        auto kb = memory_bio(key_pem);
        pkey_ptr key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
        if (!key) {
            const auto why = drain_errors();
            return error_info::for_field(
                tls_errc::bad_pem, "key_file",
                fmt::format("not a PEM private key without a passphrase ({})", why));
        }
        if (X509_check_private_key(leaf, key.get()) != 1) {
            drain_errors();
            return error_info::for_field(
                tls_errc::key_mismatch, "key_file",
                fmt::format("the private key does not belong to certificate {}", out.subject));
        }
    } else if (!key_pem.empty()) {
        return error_info::for_field(tls_errc::bad_settings, "cert_file",
                                     "a private key needs its certificate");
    }
    if (!ca_pem.empty()) {
        auto cas = parse_certs(ca_pem, "truststore");
        if (!cas) {
            return error_info::for_field(cas.error().code, "truststore_file", cas.error().detail);
        }
    }
    out.key_pem = std::move(key_pem);
    out.cert_pem = std::move(cert_pem);
    out.ca_pem = std::move(ca_pem);
    return out;
}

result<credential_set> load_credentials(const tls_settings& s,
                                        std::chrono::system_clock::time_point now) {
    std::string key, cert, ca;
    struct file {
        const char* name;
        const std::string& path;
        std::string& out;
    };
    for (const file& f : {file{"key_file", s.key_file, key}, file{"cert_file", s.cert_file, cert},
                          file{"truststore_file", s.truststore_file, ca}}) {
        if (f.path.empty()) {
            continue;
        }
        auto text = read_file(f.name, f.path);
        if (!text) {
            return text.error();
        }
        f.out = std::move(*text);
    }
    auto c = check_credentials(std::move(key), std::move(cert), std::move(ca), now);
    if (!c) {
        // check_credentials names the part at fault as its field: name the file.
        const auto& e = c.error();
        const std::string& path = e.field == "key_file"          ? s.key_file
                                  : e.field == "truststore_file" ? s.truststore_file
                                                                 : s.cert_file;
        return error_info(e.code, fmt::format("{} {}: {}", e.field.empty() ? "cert_file" : e.field,
                                              path, e.reason()));
    }
    return c;
}

bool fips_active() {
    return EVP_default_properties_is_fips_enabled(nullptr) == 1;
}

result<void> apply_policy(SSL_CTX* ctx) {
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        return error_info(tls_errc::openssl, "cannot set TLS 1.2 minimum: " + drain_errors());
    }
    if (!fips_active()) {
        return {};
    }
    if (SSL_CTX_set_cipher_list(ctx, fips_tls12_ciphers) != 1 ||
        SSL_CTX_set_ciphersuites(ctx, fips_tls13_ciphersuites) != 1 ||
        SSL_CTX_set1_groups_list(ctx, fips_groups) != 1) {
        return error_info(tls_errc::openssl,
                          "the FIPS provider refused the approved TLS suites: " + drain_errors());
    }
    return {};
}

void ssl_ctx_deleter::operator()(SSL_CTX* c) const {
    SSL_CTX_free(c);
}

namespace {

result<void> use_identity(SSL_CTX* ctx, const credential_set& c) {
    auto certs = parse_certs(c.cert_pem, "certificate");
    if (!certs) {
        return certs.error();
    }
    if (SSL_CTX_use_certificate(ctx, (*certs)[0].get()) != 1) {
        return error_info(tls_errc::openssl, "certificate refused: " + drain_errors());
    }
    for (size_t i = 1; i < certs->size(); ++i) {
        // add1: the context takes its own reference.
        if (SSL_CTX_add1_chain_cert(ctx, (*certs)[i].get()) != 1) {
            return error_info(tls_errc::openssl, "chain certificate refused: " + drain_errors());
        }
    }
    auto kb = memory_bio(c.key_pem);
    pkey_ptr key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    if (!key || SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        return error_info(tls_errc::key_mismatch, "private key refused: " + drain_errors());
    }
    return {};
}

result<void> use_trust(SSL_CTX* ctx, const std::string& ca_pem) {
    auto cas = parse_certs(ca_pem, "truststore");
    if (!cas) {
        return cas.error();
    }
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    for (auto& ca : *cas) {
        if (X509_STORE_add_cert(store, ca.get()) != 1) {
            drain_errors();  // a duplicate CA in the bundle is harmless
        }
    }
    return {};
}

}  // namespace

result<ssl_ctx_ptr> make_server_context(const credential_set& c, bool require_client_auth) {
    ssl_ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) {
        return error_info(tls_errc::openssl, "SSL_CTX_new: " + drain_errors());
    }
    if (auto r = apply_policy(ctx.get()); !r) {
        return r.error();
    }
    if (auto r = use_identity(ctx.get(), c); !r) {
        return r.error();
    }
    if (!c.ca_pem.empty()) {
        if (auto r = use_trust(ctx.get(), c.ca_pem); !r) {
            return r.error();
        }
        SSL_CTX_set_verify(
            ctx.get(),
            SSL_VERIFY_PEER | (require_client_auth ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), nullptr);
    } else if (require_client_auth) {
        return error_info(tls_errc::bad_settings,
                          "require_client_auth needs a truststore to verify clients against");
    }
    // No session tickets or cache: every connection authenticates afresh,
    // so a reloaded certificate or truststore applies at once.
    // No TLS 1.2 renegotiation either (a client could otherwise make every
    // write wait for a handshake; OpenSSL 3 refuses it by default, this
    // says so whatever the build).
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
    return ctx;
}

result<ssl_ctx_ptr> make_client_context(const credential_set& c, bool insecure_skip_verify) {
    ssl_ctx_ptr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) {
        return error_info(tls_errc::openssl, "SSL_CTX_new: " + drain_errors());
    }
    if (auto r = apply_policy(ctx.get()); !r) {
        return r.error();
    }
    if (!c.cert_pem.empty()) {
        if (auto r = use_identity(ctx.get(), c); !r) {
            return r.error();
        }
    }
    if (!c.ca_pem.empty()) {
        if (auto r = use_trust(ctx.get(), c.ca_pem); !r) {
            return r.error();
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
        return error_info(tls_errc::openssl, "no system CA store: " + drain_errors());
    }
    SSL_CTX_set_verify(ctx.get(), insecure_skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
                       nullptr);
    return ctx;
}

result<void> verify_host(SSL* ssl, const std::string& host) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    ASN1_OCTET_STRING* ip = a2i_IPADDRESS(host.c_str());
    if (ip != nullptr) {
        ASN1_OCTET_STRING_free(ip);
        if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
            return error_info(tls_errc::openssl, "bad IP address " + host + ": " + drain_errors());
        }
        return {};
    }
    ERR_clear_error();
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) != 1 ||
        SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(host.c_str())) != 1) {
        return error_info(tls_errc::openssl, "bad host name " + host + ": " + drain_errors());
    }
    return {};
}

bool certificate_names_host(std::string_view pem, const std::string& host) {
    if (host.empty()) {
        return false;
    }
    bio_ptr b = memory_bio(pem);
    x509_ptr cert(b ? PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!cert) {
        drain_errors();
        return false;
    }
    bool named = false;
    if (ASN1_OCTET_STRING* ip = a2i_IPADDRESS(host.c_str()); ip != nullptr) {
        ASN1_OCTET_STRING_free(ip);
        named = X509_check_ip_asc(cert.get(), host.c_str(), 0) == 1;
    } else {
        named = X509_check_host(cert.get(), host.data(), host.size(),
                                X509_CHECK_FLAG_NO_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
                                nullptr) == 1;
    }
    drain_errors();
    return named;
}

std::string certificate_subject(std::string_view pem) {
    bio_ptr b = memory_bio(pem);
    x509_ptr cert(b ? PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!cert) {
        drain_errors();
        return {};
    }
    return subject_rfc2253(cert.get());
}

bool same_ip_address(const std::string& a, const std::string& b) {
    // Both as 16-byte IPv6, IPv4 mapped (::ffff:a.b.c.d).
    auto parse = [](const std::string& s, unsigned char out[16]) {
        in_addr v4{};
        if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
            std::memset(out, 0, 10);
            out[10] = out[11] = 0xff;
            std::memcpy(out + 12, &v4, 4);
            return true;
        }
        return inet_pton(AF_INET6, s.c_str(), out) == 1;
    };
    unsigned char x[16];
    unsigned char y[16];
    return parse(a, x) && parse(b, y) && std::memcmp(x, y, 16) == 0;
}

std::string subject_rfc2253(X509* cert) {
    bio_ptr b(BIO_new(BIO_s_mem()));
    if (!b || X509_NAME_print_ex(b.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0) {
        drain_errors();
        return {};
    }
    char* data = nullptr;
    const long n = BIO_get_mem_data(b.get(), &data);
    return std::string(data, static_cast<size_t>(n));
}

std::string describe_failure(SSL* ssl) {
    std::string queue = drain_errors();
    const long v = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
    std::string out;
    if (v != X509_V_OK) {
        out = X509_verify_cert_error_string(v);
        switch (v) {
            case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
            case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
            case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
            case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
                out += " (the peer's certificate is not signed by a trusted CA)";
                break;
            case X509_V_ERR_HOSTNAME_MISMATCH:
            case X509_V_ERR_IP_ADDRESS_MISMATCH:
                out += " (the certificate does not name the host dialed)";
                break;
            default:
                break;
        }
    } else {
        out = queue.empty() ? "handshake failed" : queue;
        if (queue.find("wrong version number") != std::string::npos ||
            queue.find("packet length too long") != std::string::npos ||
            queue.find("http request") != std::string::npos) {
            out += " (is the peer speaking plaintext?)";
        } else if (queue.find("no shared cipher") != std::string::npos ||
                   queue.find("no cipher") != std::string::npos ||
                   queue.find("handshake failure") != std::string::npos) {
            out += " (no cipher suite both sides allow)";
        } else if (queue.find("peer did not return a certificate") != std::string::npos ||
                   queue.find("certificate required") != std::string::npos) {
            out += " (the server requires a client certificate)";
        }
    }
    return out;
}

bool looks_like_client_hello(std::string_view b) {
    // TLS record: type 22 (handshake), version 3.1..3.4, then a ClientHello (1).
    return b.size() >= 6 && static_cast<unsigned char>(b[0]) == 22 &&
           static_cast<unsigned char>(b[1]) == 3 && static_cast<unsigned char>(b[2]) <= 4 &&
           static_cast<unsigned char>(b[5]) == 1;
}

}  // namespace fjord::tls
