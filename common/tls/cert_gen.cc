// File: common/tls/cert_gen.cc

#include "common/tls/cert_gen.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/tls/tls.h"

namespace fjord::tls {
namespace {

struct pkey_free {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct x509_free {
    void operator()(X509* x) const { X509_free(x); }
};
struct bio_free {
    void operator()(BIO* b) const { BIO_free(b); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using bio_ptr = std::unique_ptr<BIO, bio_free>;

error_info openssl_error(std::string_view what) {
    return error_info(tls_errc::openssl, std::string(what) + ": " + drain_errors());
}

std::string to_pem(EVP_PKEY* k) {
    bio_ptr b(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr);
    char* d = nullptr;
    const long n = BIO_get_mem_data(b.get(), &d);
    return std::string(d, static_cast<size_t>(n));
}

std::string to_pem(X509* x) {
    bio_ptr b(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(b.get(), x);
    char* d = nullptr;
    const long n = BIO_get_mem_data(b.get(), &d);
    return std::string(d, static_cast<size_t>(n));
}

bool add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr) {
        return false;
    }
    const bool ok = X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

/// Parses "CN=x,OU=y" style RDNs into `name` (values without commas).
bool add_rdns(X509_NAME* name, const std::string& rdns) {
    size_t pos = 0;
    while (pos < rdns.size()) {
        size_t end = rdns.find(',', pos);
        if (end == std::string::npos) {
            end = rdns.size();
        }
        const std::string part = rdns.substr(pos, end - pos);
        const size_t eq = part.find('=');
        if (eq == std::string::npos) {
            return false;
        }
        const std::string field = part.substr(0, eq);
        const std::string value = part.substr(eq + 1);
        if (X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(value.c_str()), -1,
                                       -1, 0) != 1) {
            return false;
        }
        pos = end + 1;
    }
    return true;
}

result<pkey_ptr> new_key() {
    pkey_ptr k(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!k) {
        return openssl_error("EC P-256 key generation");
    }
    return k;
}

result<x509_ptr> build(const cert_request& r, EVP_PKEY* subject_key, X509* issuer_cert,
                       EVP_PKEY* issuer_key) {
    x509_ptr x(X509_new());
    if (!x) {
        return openssl_error("X509_new");
    }
    X509_set_version(x.get(), 2);
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1) {
        return openssl_error("serial number");
    }
    serial[0] &= 0x7f;  // positive
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
    BN_free(bn);
    ASN1_TIME_set(X509_getm_notBefore(x.get()), std::chrono::system_clock::to_time_t(r.not_before));
    ASN1_TIME_set(X509_getm_notAfter(x.get()), std::chrono::system_clock::to_time_t(r.not_after));
    X509_set_pubkey(x.get(), subject_key);
    X509_NAME* name = X509_get_subject_name(x.get());
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(r.common_name.c_str()),
                                   -1, -1, 0) != 1 ||
        !add_rdns(name, r.extra_subject)) {
        return error_info(tls_errc::bad_settings,
                          "bad subject CN=" + r.common_name + "," + r.extra_subject);
    }
    X509* issuer = issuer_cert != nullptr ? issuer_cert : x.get();
    X509_set_issuer_name(x.get(), X509_get_subject_name(issuer));
    std::string san;
    for (const auto& d : r.dns_names) {
        san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
    }
    for (const auto& ip : r.ip_addresses) {
        san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
    }
    bool ok = add_ext(x.get(), issuer, NID_subject_key_identifier, "hash");
    if (r.is_ca) {
        ok = ok && add_ext(x.get(), issuer, NID_basic_constraints, "critical,CA:TRUE") &&
             add_ext(x.get(), issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        ok = ok && add_ext(x.get(), issuer, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(x.get(), issuer, NID_key_usage, "critical,digitalSignature,keyAgreement") &&
             add_ext(x.get(), issuer, NID_ext_key_usage, "serverAuth,clientAuth") &&
             add_ext(x.get(), issuer, NID_authority_key_identifier, "keyid:always");
        if (!san.empty()) {
            ok = ok && add_ext(x.get(), issuer, NID_subject_alt_name, san);
        }
    }
    if (!ok) {
        return openssl_error("certificate extensions");
    }
    if (X509_sign(x.get(), issuer_key, EVP_sha256()) == 0) {
        return openssl_error("signing the certificate");
    }
    return x;
}

}  // namespace

result<issued> make_ca(cert_request r) {
    r.is_ca = true;
    auto key = new_key();
    if (!key) {
        return key.error();
    }
    auto cert = build(r, key->get(), nullptr, key->get());
    if (!cert) {
        return cert.error();
    }
    return issued{to_pem(key->get()), to_pem(cert->get())};
}

result<issued> issue(const issued& ca, const cert_request& r) {
    bio_ptr kb(BIO_new_mem_buf(ca.key_pem.data(), static_cast<int>(ca.key_pem.size())));
    pkey_ptr ca_key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    bio_ptr cb(BIO_new_mem_buf(ca.cert_pem.data(), static_cast<int>(ca.cert_pem.size())));
    x509_ptr ca_cert(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    if (!ca_key || !ca_cert) {
        return openssl_error("reading the CA");
    }
    auto key = new_key();
    if (!key) {
        return key.error();
    }
    auto cert = build(r, key->get(), ca_cert.get(), ca_key.get());
    if (!cert) {
        return cert.error();
    }
    return issued{to_pem(key->get()), to_pem(cert->get())};
}

result<void> write_pem_file(const std::string& path, const std::string& pem, bool secret) {
    const std::string tmp = path + ".tmp";
    const int fd =
        ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, secret ? 0600 : 0644);
    if (fd < 0) {
        return error_info(std::error_code(errno, std::generic_category()), "create " + tmp);
    }
    ::fchmod(fd, secret ? 0600 : 0644);
    const ssize_t n = ::write(fd, pem.data(), pem.size());
    const int e = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(pem.size())) {
        return error_info(std::error_code(e, std::generic_category()), "write " + tmp);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        return error_info(std::error_code(errno, std::generic_category()), "rename to " + path);
    }
    return {};
}

}  // namespace fjord::tls
