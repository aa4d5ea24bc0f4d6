// File: common/objstore/sigv4.cc
//
// AWS Signature Version 4; see sigv4.h for the rules it follows.
#include "common/objstore/sigv4.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <memory>

#include "common/objstore/errc.h"

namespace fjord::objstore::sigv4 {
namespace {

constexpr std::string_view hex_digits = "0123456789abcdef";
constexpr std::string_view upper_hex_digits = "0123456789ABCDEF";

bool unreserved(unsigned char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

char lower(char ch) {
    return (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
}

bool is_space(char ch) {
    return ch == ' ' || ch == '\t';
}

/// OpenSSL's queued reasons, for an error detail ("" when none).
std::string openssl_reasons() {
    std::string out;
    while (const unsigned long e = ERR_get_error()) {
        std::array<char, 256> buf{};
        ERR_error_string_n(e, buf.data(), buf.size());
        out += out.empty() ? "" : "; ";
        out += buf.data();
    }
    return out;
}

error_info crypto_failed(std::string_view what) {
    const std::string why = openssl_reasons();
    return error_info(errc::config, "OpenSSL could not compute " + std::string(what) +
                                        " (no provider offers it?)" +
                                        (why.empty() ? "" : ": " + why));
}

/// Value trimmed and runs of spaces/tabs collapsed to one space.
std::string canonical_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    bool pending_space = false;
    for (const char ch : v) {
        if (is_space(ch)) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) {
            out.push_back(' ');
            pending_space = false;
        }
        out.push_back(ch);
    }
    return out;
}

bool is_hex64(std::string_view s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char ch) {
               return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
           });
}

/// "yyyymmddThhmmssZ" with digits where digits belong.
bool valid_amz_date(std::string_view d) {
    if (d.size() != 16 || d[8] != 'T' || d[15] != 'Z') {
        return false;
    }
    for (size_t i = 0; i < 15; ++i) {
        if (i != 8 && (d[i] < '0' || d[i] > '9')) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::string uri_encode(std::string_view s, bool keep_slash) {
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        const auto ch = static_cast<unsigned char>(c);
        if (unreserved(ch) || (keep_slash && ch == '/')) {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(upper_hex_digits[ch >> 4]);
            out.push_back(upper_hex_digits[ch & 0xf]);
        }
    }
    return out;
}

std::string encode_path(std::string_view path) {
    return path.empty() ? std::string("/") : uri_encode(path, true);
}

std::string canonical_query(const query_params& q) {
    std::vector<std::pair<std::string, std::string>> enc;
    enc.reserve(q.size());
    for (const auto& [k, v] : q) {
        enc.emplace_back(uri_encode(k, false), uri_encode(v, false));
    }
    std::sort(enc.begin(), enc.end());
    std::string out;
    for (const auto& [k, v] : enc) {
        if (!out.empty()) {
            out.push_back('&');
        }
        out += k;
        out.push_back('=');
        out += v;
    }
    return out;
}

canonical_headers canonicalize_headers(const std::vector<header>& headers) {
    // Stable sort keeps a repeated name's values in the order given.
    std::vector<std::pair<std::string, std::string>> h;
    h.reserve(headers.size());
    for (const auto& [name, value] : headers) {
        std::string n = canonical_value(name);
        std::transform(n.begin(), n.end(), n.begin(), lower);
        h.emplace_back(std::move(n), canonical_value(value));
    }
    std::stable_sort(h.begin(), h.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    canonical_headers out;
    for (size_t i = 0; i < h.size(); ++i) {
        if (i > 0 && h[i].first == h[i - 1].first) {
            out.text.pop_back();  // the '\n'
            out.text += ',' + h[i].second + '\n';
            continue;
        }
        if (!out.signed_headers.empty()) {
            out.signed_headers.push_back(';');
        }
        out.signed_headers += h[i].first;
        out.text += h[i].first + ':' + h[i].second + '\n';
    }
    return out;
}

result<std::string> canonical_request(const request& r) {
    if (r.method.empty()) {
        return error_info(errc::rejected, "sigv4: no method");
    }
    if (r.path.empty() || r.path.front() != '/') {
        return error_info(errc::rejected, "sigv4: path \"" + r.path + "\" does not start with '/'");
    }
    if (r.payload_hash != unsigned_payload && !is_hex64(r.payload_hash)) {
        return error_info(errc::rejected,
                          "sigv4: payload hash is neither lower-case SHA-256 hex nor " +
                              std::string(unsigned_payload));
    }
    bool has_host = false;
    for (const auto& [name, value] : r.headers) {
        if (name.find_first_of("\r\n:") != std::string::npos || name.empty() ||
            value.find_first_of("\r\n") != std::string::npos) {
            return error_info(errc::rejected, "sigv4: header \"" + name +
                                                  "\" has an empty name, a ':' in its "
                                                  "name, or a line break");
        }
        std::string n = canonical_value(name);
        std::transform(n.begin(), n.end(), n.begin(), lower);
        has_host = has_host || n == "host";
    }
    if (!has_host) {
        return error_info(errc::rejected, "sigv4: no Host header");
    }
    const canonical_headers ch = canonicalize_headers(r.headers);
    std::string out;
    out.reserve(256 + ch.text.size());
    out += r.method;
    out += '\n';
    out += encode_path(r.path);
    out += '\n';
    out += canonical_query(r.query);
    out += '\n';
    out += ch.text;
    out += '\n';
    out += ch.signed_headers;
    out += '\n';
    out += r.payload_hash;
    return out;
}

std::string credential_scope(const scope& s) {
    return s.amz_date.substr(0, 8) + '/' + s.region + '/' + s.service + "/aws4_request";
}

result<std::string> string_to_sign(const scope& s, std::string_view creq) {
    auto h = sha256_hex(creq);
    if (!h) {
        return h.error();
    }
    return std::string(algorithm) + '\n' + s.amz_date + '\n' + credential_scope(s) + '\n' + *h;
}

result<std::string> signing_key(std::string_view secret, std::string_view date,
                                std::string_view region, std::string_view service) {
    auto k = hmac_sha256("AWS4" + std::string(secret), date);
    for (const std::string_view part : {region, service, std::string_view("aws4_request")}) {
        if (!k) {
            return k;
        }
        k = hmac_sha256(*k, part);
    }
    return k;
}

result<signature> sign(const request& r, const credentials& c, const scope& s) {
    if (!valid_amz_date(s.amz_date)) {
        return error_info(errc::rejected,
                          "sigv4: x-amz-date \"" + s.amz_date + "\" is not yyyymmddThhmmssZ");
    }
    if (s.region.empty() || s.service.empty()) {
        return error_info(errc::rejected, "sigv4: the scope needs a region and a service");
    }
    if (c.access_key_id.empty() || c.secret_access_key.empty()) {
        return error_info(errc::config, "sigv4: no access key id or no secret access key");
    }
    signature out;
    auto creq = canonical_request(r);
    if (!creq) {
        return creq.error();
    }
    out.canonical_request = std::move(*creq);
    auto sts = string_to_sign(s, out.canonical_request);
    if (!sts) {
        return sts.error();
    }
    out.string_to_sign = std::move(*sts);
    auto key = signing_key(c.secret_access_key, s.amz_date.substr(0, 8), s.region, s.service);
    if (!key) {
        return key.error();
    }
    auto mac = hmac_sha256(*key, out.string_to_sign);
    if (!mac) {
        return mac.error();
    }
    out.signature = to_hex(*mac);
    out.signed_headers = canonicalize_headers(r.headers).signed_headers;
    out.authorization = std::string(algorithm) + " Credential=" + c.access_key_id + '/' +
                        credential_scope(s) + ", SignedHeaders=" + out.signed_headers +
                        ", Signature=" + out.signature;
    return out;
}

result<signature> sign_s3(request& r, const credentials& c, const scope& s) {
    r.headers.push_back({"x-amz-content-sha256", r.payload_hash});
    r.headers.push_back({"x-amz-date", s.amz_date});
    if (!c.session_token.empty()) {
        r.headers.push_back({"x-amz-security-token", c.session_token});
    }
    return sign(r, c, s);
}

result<std::string> sha256_hex(std::string_view data) {
    const std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md(
        EVP_MD_fetch(nullptr, "SHA2-256", nullptr), &EVP_MD_free);
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int len = 0;
    if (md == nullptr ||
        EVP_Digest(data.data(), data.size(), out.data(), &len, md.get(), nullptr) != 1) {
        return crypto_failed("SHA-256");
    }
    return to_hex(std::string_view(reinterpret_cast<const char*>(out.data()), len));
}

result<std::string> hmac_sha256(std::string_view key, std::string_view data) {
    const std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)> mac(
        EVP_MAC_fetch(nullptr, "HMAC", nullptr), &EVP_MAC_free);
    if (mac == nullptr) {
        return crypto_failed("HMAC-SHA256");
    }
    const std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_new(mac.get()),
                                                                        &EVP_MAC_CTX_free);
    char digest[] = "SHA2-256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    size_t len = 0;
    if (ctx == nullptr ||
        EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                     params) != 1 ||
        EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) != 1 ||
        EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1) {
        return crypto_failed("HMAC-SHA256");
    }
    return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string to_hex(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        out.push_back(hex_digits[b >> 4]);
        out.push_back(hex_digits[b & 0xf]);
    }
    return out;
}

std::string format_amz_date(std::chrono::system_clock::time_point t) {
    const std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::array<char, 20> buf{};
    const size_t n = std::strftime(buf.data(), buf.size(), "%Y%m%dT%H%M%SZ", &tm);
    return std::string(buf.data(), n);
}

}  // namespace fjord::objstore::sigv4
