// File: common/security/scram.cc
//
// SCRAM's arithmetic (RFC 5802 §3) over OpenSSL's EVP, the strict parsers of
// the four messages, and the two state machines. Each parser returns the
// attributes it found or an error naming the message and the attribute; the
// state machines compare those against the exchange. See scram.h for the
// rules and why.
//
// The parsers split a message at "," and read attributes positionally. That
// is exact for SCRAM: no attribute value may contain "," (nonces and
// extension values exclude it, names escape it as "=2C", base64 has none).
// The gs2 header is the one part read by hand, since its authzid may be
// absent and its end is its second ",".

#include "common/security/scram.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/assert.h"

namespace fjord::security {

std::string_view to_string(sasl_errc e) {
    switch (e) {
        case sasl_errc::success:
            return "success";
        case sasl_errc::malformed_message:
            return "malformed_message";
        case sasl_errc::authentication_failed:
            return "authentication_failed";
        case sasl_errc::authorization_id_mismatch:
            return "authorization_id_mismatch";
        case sasl_errc::unsupported:
            return "unsupported";
        case sasl_errc::invalid_argument:
            return "invalid_argument";
        case sasl_errc::invalid_state:
            return "invalid_state";
        case sasl_errc::internal:
            return "internal";
    }
    return "unknown";
}

namespace {

class sasl_category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "sasl"; }
    std::string message(int c) const override {
        switch (static_cast<sasl_errc>(c)) {
            case sasl_errc::success:
                return "success";
            case sasl_errc::malformed_message:
                return "malformed SASL message";
            case sasl_errc::authentication_failed:
                return "authentication failed";
            case sasl_errc::authorization_id_mismatch:
                return "authorization id differs from the user";
            case sasl_errc::unsupported:
                return "unsupported SASL feature";
            case sasl_errc::invalid_argument:
                return "invalid argument";
            case sasl_errc::invalid_state:
                return "SASL exchange out of order";
            case sasl_errc::internal:
                return "internal error";
        }
        return "unknown sasl error " + std::to_string(c);
    }
};

// Limits on what a peer may send. A message is a few hundred bytes in
// practice; the caps bound the work and memory one unauthenticated
// connection can cause (CVE-2022-34917 is the broker-level twin).
constexpr size_t max_message_length = 4096;
constexpr size_t max_client_nonce_length = 256;
constexpr size_t max_nonce_length = 512;  // client + server part, as the client accepts it
constexpr size_t max_salt_length = 256;
constexpr size_t max_extensions = 16;
constexpr size_t max_extension_key_length = 64;
constexpr size_t max_server_error_length = 128;
// Random bytes behind a generated nonce (base64: 32 characters) and a salt.
constexpr size_t nonce_random_bytes = 24;
constexpr size_t salt_random_bytes = 32;

// ---- errors ----

error_info malformed(std::string_view message, std::string_view reason) {
    return error_info(sasl_errc::malformed_message,
                      "malformed " + std::string(message) + " message: " + std::string(reason));
}

error_info invalid_credentials() {
    return error_info(sasl_errc::authentication_failed,
                      "authentication failed: invalid credentials");
}

error_info openssl_failed(std::string_view what) {
    return error_info(sasl_errc::internal, "OpenSSL failed: " + std::string(what));
}

// ---- characters ----

bool is_control(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}

bool has_control(std::string_view s) {
    for (char c : s) {
        if (is_control(static_cast<unsigned char>(c))) {
            return true;
        }
    }
    return false;
}

// RFC 5802 "printable": ASCII 0x21..0x7e except ",".
bool is_printable_nonce(std::string_view s) {
    for (char c : s) {
        if (c < 0x21 || c > 0x7e || c == ',') {
            return false;
        }
    }
    return true;
}

// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, at most
// U+10FFFF.
bool is_valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t len = 0;
        uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > s.size()) {
            return false;
        }
        for (size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (cc & 0x3f);
        }
        constexpr std::array<uint32_t, 5> min_for_len{0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_for_len[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += len;
    }
    return true;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

// ---- base64 (RFC 4648 §4, with padding, canonical only) ----

constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view in) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    size_t i = 0;
    auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(in[k])); };
    for (; i + 3 <= in.size(); i += 3) {
        const uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
        out += base64_alphabet[(v >> 18) & 63];
        out += base64_alphabet[(v >> 12) & 63];
        out += base64_alphabet[(v >> 6) & 63];
        out += base64_alphabet[v & 63];
    }
    if (in.size() - i == 1) {
        const uint32_t v = byte(i) << 16;
        out += base64_alphabet[(v >> 18) & 63];
        out += base64_alphabet[(v >> 12) & 63];
        out += "==";
    } else if (in.size() - i == 2) {
        const uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
        out += base64_alphabet[(v >> 18) & 63];
        out += base64_alphabet[(v >> 12) & 63];
        out += base64_alphabet[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

// The bytes of `in`, or nullopt unless `in` is exactly what base64_encode
// writes for them: length a multiple of 4, padding only at the end, unused
// bits zero. One text per value keeps "c=" comparable byte for byte.
std::optional<std::string> base64_decode(std::string_view in) {
    if (in.size() % 4 != 0) {
        return std::nullopt;
    }
    size_t pad = 0;
    if (!in.empty() && in.back() == '=') {
        pad = in.size() >= 2 && in[in.size() - 2] == '=' ? 2 : 1;
    }
    std::string out;
    out.reserve(in.size() / 4 * 3);
    uint32_t acc = 0;
    for (size_t i = 0; i < in.size() - pad; ++i) {
        const int v = base64_value(in[i]);
        if (v < 0) {
            return std::nullopt;
        }
        acc = (acc << 6) | static_cast<uint32_t>(v);
        if (i % 4 == 3) {
            out += static_cast<char>((acc >> 16) & 0xff);
            out += static_cast<char>((acc >> 8) & 0xff);
            out += static_cast<char>(acc & 0xff);
            acc = 0;
        }
    }
    if (pad == 2) {  // "xx==": 12 bits, the low 4 unused
        if ((acc & 0x0f) != 0) {
            return std::nullopt;
        }
        out += static_cast<char>((acc >> 4) & 0xff);
    } else if (pad == 1) {  // "xxx=": 18 bits, the low 2 unused
        if ((acc & 0x03) != 0) {
            return std::nullopt;
        }
        out += static_cast<char>((acc >> 10) & 0xff);
        out += static_cast<char>((acc >> 2) & 0xff);
    }
    return out;
}

// ---- OpenSSL: every primitive fetched through EVP (FIPS-governed) ----

const char* digest_name(scram_mechanism m) {
    return m == scram_mechanism::sha256 ? "SHA256" : "SHA512";
}

size_t digest_size(scram_mechanism m) {
    return m == scram_mechanism::sha256 ? 32 : 64;
}

const unsigned char* bytes(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

result<std::string> hmac(scram_mechanism m, std::string_view key, std::string_view data) {
    std::string out(EVP_MAX_MD_SIZE, '\0');
    size_t len = 0;
    if (EVP_Q_mac(nullptr, "HMAC", nullptr, digest_name(m), nullptr, key.data(), key.size(),
                  bytes(data), data.size(), reinterpret_cast<unsigned char*>(out.data()),
                  out.size(), &len) == nullptr ||
        len != digest_size(m)) {
        return openssl_failed("HMAC");
    }
    out.resize(len);
    return out;
}

result<std::string> digest(scram_mechanism m, std::string_view data) {
    std::string out(EVP_MAX_MD_SIZE, '\0');
    size_t len = 0;
    if (EVP_Q_digest(nullptr, digest_name(m), nullptr, data.data(), data.size(),
                     reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
        len != digest_size(m)) {
        return openssl_failed("digest");
    }
    out.resize(len);
    return out;
}

// PBKDF2 through EVP_KDF rather than PKCS5_PBKDF2_HMAC: that wrapper asks
// for PKCS#5 compatibility, which turns off the SP 800-132 lower bounds
// (salt >= 16 bytes, key >= 112 bits, iterations >= 1000) the FIPS provider
// otherwise enforces. Here the provider in force decides: in FIPS mode a
// credential below those bounds cannot be derived.
result<std::string> pbkdf2(scram_mechanism m, std::string_view password, std::string_view salt,
                           int32_t iterations) {
    const std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(
        EVP_KDF_fetch(nullptr, "PBKDF2", nullptr), &EVP_KDF_free);
    if (kdf == nullptr) {
        ERR_clear_error();  // not left for a TLS call on this thread to find
        return openssl_failed("PBKDF2");
    }
    const std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(EVP_KDF_CTX_new(kdf.get()),
                                                                        &EVP_KDF_CTX_free);
    auto iter = static_cast<unsigned int>(iterations);
    std::string digest(digest_name(m));
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                          const_cast<char*>(password.data()), password.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()),
                                          salt.size()),
        OSSL_PARAM_construct_uint(OSSL_KDF_PARAM_ITER, &iter),
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0),
        OSSL_PARAM_construct_end()};
    std::string out(digest_size(m), '\0');
    if (ctx == nullptr || EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()),
                                         out.size(), params) != 1) {
        ERR_clear_error();
        return openssl_failed("PBKDF2 (in FIPS mode: salt, iterations or key below SP 800-132)");
    }
    return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
    // The lengths are public (the digest size); only the contents are secret.
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string xor_bytes(std::string_view a, std::string_view b) {
    std::string out(a.size(), '\0');
    for (size_t i = 0; i < a.size(); ++i) {
        out[i] = static_cast<char>(a[i] ^ b[i]);
    }
    return out;
}

std::optional<std::string> random_bytes(size_t n) {
    std::string out(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
        return std::nullopt;
    }
    return out;
}

// A fresh nonce: base64 of random bytes, so printable and without ",".
std::optional<std::string> random_nonce() {
    auto r = random_bytes(nonce_random_bytes);
    if (!r) {
        return std::nullopt;
    }
    return base64_encode(*r);
}

// The secret behind every decoy credential, drawn once per process.
const std::optional<std::string>& process_secret() {
    static const std::optional<std::string> secret = random_bytes(32);
    return secret;
}

struct derived_keys {
    std::string client_key;
    std::string stored_key;
    std::string server_key;
};

// RFC 5802 §3: ClientKey, StoredKey and ServerKey from SaltedPassword.
result<derived_keys> keys_from_salted(scram_mechanism m, std::string_view salted) {
    auto client_key = hmac(m, salted, "Client Key");
    if (!client_key) {
        return client_key.error();
    }
    auto stored_key = digest(m, *client_key);
    if (!stored_key) {
        return stored_key.error();
    }
    auto server_key = hmac(m, salted, "Server Key");
    if (!server_key) {
        return server_key.error();
    }
    return derived_keys{std::move(*client_key), std::move(*stored_key), std::move(*server_key)};
}

// SaltedPassword = PBKDF2(password, salt, iterations), then keys_from_salted.
result<derived_keys> derive_keys(scram_mechanism m, std::string_view password,
                                 std::string_view salt, int32_t iterations) {
    auto salted = pbkdf2(m, password, salt, iterations);
    if (!salted) {
        return salted.error();
    }
    return keys_from_salted(m, *salted);
}

// Whether `c` is usable by an exchange of mechanism `m`: what a corrupt or
// foreign store entry fails.
bool usable_credential(const scram_credential& c, scram_mechanism m) {
    return c.mechanism == m && c.iterations >= scram_min_iterations &&
           c.iterations <= scram_max_iterations && !c.salt.empty() &&
           c.salt.size() <= max_salt_length && c.stored_key.size() == digest_size(m) &&
           c.server_key.size() == digest_size(m);
}

// ---- message grammar ----

std::vector<std::string_view> split_attributes(std::string_view s) {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (true) {
        const size_t comma = s.find(',', start);
        if (comma == std::string_view::npos) {
            out.push_back(s.substr(start));
            return out;
        }
        out.push_back(s.substr(start, comma - start));
        start = comma + 1;
    }
}

// The value of attribute `attr` if its key is the one letter `key`.
std::optional<std::string_view> attribute(std::string_view attr, char key) {
    if (attr.size() < 2 || attr[0] != key || attr[1] != '=') {
        return std::nullopt;
    }
    return attr.substr(2);
}

// The letters RFC 5802 gives a meaning; one of them where an extension
// stands is an attribute out of place, not an extension.
bool is_scram_attribute_key(std::string_view key) {
    return key.size() == 1 &&
           std::string_view("acleimnprsv").find(key[0]) != std::string_view::npos;
}

enum class extension_rules { ignore_all, client_first };

// Extensions: key=value attributes, key letters only, value printable ASCII
// (no ","), each key at most once. In a client-first, tokenauth=true asks for
// delegation-token authentication, which Fjord does not have.
result<void> check_extensions(std::span<const std::string_view> attrs, std::string_view message,
                              extension_rules rules) {
    if (attrs.size() > max_extensions) {
        return malformed(message, "more than " + std::to_string(max_extensions) + " extensions");
    }
    std::vector<std::string_view> seen;
    for (std::string_view attr : attrs) {
        if (attr.empty()) {
            return malformed(message, "empty attribute");
        }
        const size_t eq = attr.find('=');
        if (eq == std::string_view::npos || eq == 0) {
            return malformed(message, "extension is not key=value");
        }
        const std::string_view key = attr.substr(0, eq);
        const std::string_view value = attr.substr(eq + 1);
        if (is_scram_attribute_key(key)) {
            return malformed(message, "attribute " + std::string(key) + "= out of place");
        }
        if (key.size() > max_extension_key_length) {
            return malformed(message, "extension key longer than " +
                                          std::to_string(max_extension_key_length) + " letters");
        }
        for (char c : key) {
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
                return malformed(message, "extension key is not letters only");
            }
        }
        if (value.empty()) {
            return malformed(message, "extension " + std::string(key) + "= has an empty value");
        }
        for (char c : value) {
            if (c < 0x20 || c > 0x7e) {
                return malformed(message,
                                 "extension " + std::string(key) + "= is not printable ASCII");
            }
        }
        for (std::string_view k : seen) {
            if (k == key) {
                return malformed(message, "extension " + std::string(key) + "= repeated");
            }
        }
        seen.push_back(key);
        if (rules == extension_rules::client_first && key == "tokenauth") {
            if (iequals(value, "true")) {
                return error_info(sasl_errc::unsupported,
                                  "client-first message: delegation tokens (tokenauth=true) are "
                                  "not supported");
            }
            if (!iequals(value, "false")) {
                return malformed(message, "tokenauth= must be true or false");
            }
        }
    }
    return ok();
}

// A name as it came off the wire (n= or a=), decoded and checked: what no
// user can be named is malformed before any lookup.
result<std::string> wire_name(std::string_view raw, std::string_view message, char key) {
    const std::string prefix = std::string(1, key) + "=: ";
    if (raw.empty()) {
        return malformed(message, prefix + "empty name");
    }
    if (raw.size() > 3 * max_username_length) {
        return malformed(message,
                         prefix + "longer than " + std::to_string(max_username_length) + " bytes");
    }
    auto name = decode_saslname(raw);
    if (!name) {
        return malformed(message, prefix + std::string(name.error().detail));
    }
    if (name->size() > max_username_length) {
        return malformed(message,
                         prefix + "longer than " + std::to_string(max_username_length) + " bytes");
    }
    if (has_control(*name) || !is_valid_utf8(*name)) {
        return malformed(message, prefix + "not UTF-8 text without control characters");
    }
    return name;
}

struct client_first_msg {
    std::string gs2_header;  ///< "n,," or "n,a=<authzid>," (as sent, with its ",")
    std::optional<std::string> authzid;
    std::string bare;  ///< client-first-message-bare, as sent
    std::string username;
    std::string nonce;
};

constexpr std::string_view client_first_name = "client-first";

// gs2-header = gs2-cbind-flag "," [ authzid ] ","  (RFC 5802 §7)
result<void> parse_gs2_header(std::string_view msg, client_first_msg& out, size_t& consumed) {
    const auto m = client_first_name;
    if (msg.starts_with("p=")) {
        return error_info(sasl_errc::unsupported,
                          "client-first message: channel binding (gs2 flag p=) is not supported");
    }
    if (msg.empty() || (msg[0] != 'n' && msg[0] != 'y')) {
        return malformed(m, "gs2 flag must be \"n\" or \"y\"");
    }
    if (msg.size() < 2 || msg[1] != ',') {
        return malformed(m, "expected \",\" after the gs2 flag");
    }
    std::string_view rest = msg.substr(2);
    if (auto a = attribute(rest, 'a')) {
        const size_t comma = a->find(',');
        if (comma == std::string_view::npos) {
            return malformed(m, "gs2 header not terminated by \",\"");
        }
        auto authzid = wire_name(a->substr(0, comma), m, 'a');
        if (!authzid) {
            return authzid.error();
        }
        out.authzid = std::move(*authzid);
        consumed = 2 + 2 + comma + 1;
    } else if (rest.starts_with(',')) {
        consumed = 3;
    } else {
        return malformed(m, "expected \"a=\" or \",\" after the gs2 flag");
    }
    out.gs2_header = std::string(msg.substr(0, consumed));
    return ok();
}

result<client_first_msg> parse_client_first(std::string_view msg) {
    const auto m = client_first_name;
    if (msg.size() > max_message_length) {
        return malformed(m, "longer than " + std::to_string(max_message_length) + " bytes");
    }
    client_first_msg out;
    size_t consumed = 0;
    if (auto r = parse_gs2_header(msg, out, consumed); !r) {
        return r.error();
    }
    out.bare = std::string(msg.substr(consumed));
    const std::vector<std::string_view> attrs = split_attributes(out.bare);
    if (attribute(attrs[0], 'm')) {
        return error_info(sasl_errc::unsupported,
                          "client-first message: mandatory extensions (m=) are not supported");
    }
    auto n = attribute(attrs[0], 'n');
    if (!n) {
        return malformed(m, "expected n= (the username) after the gs2 header");
    }
    auto username = wire_name(*n, m, 'n');
    if (!username) {
        return username.error();
    }
    out.username = std::move(*username);
    auto r = attrs.size() >= 2 ? attribute(attrs[1], 'r') : std::nullopt;
    if (!r) {
        return malformed(m, "expected r= (the nonce) after n=");
    }
    if (r->empty() || r->size() > max_client_nonce_length || !is_printable_nonce(*r)) {
        return malformed(m, "r=: nonce must be 1 to " + std::to_string(max_client_nonce_length) +
                                " printable ASCII characters other than \",\"");
    }
    out.nonce = std::string(*r);
    const std::span<const std::string_view> extensions(attrs.begin() + 2, attrs.end());
    if (auto e = check_extensions(extensions, m, extension_rules::client_first); !e) {
        return e.error();
    }
    return out;
}

struct client_final_msg {
    std::string channel_binding;  ///< c=, decoded
    std::string nonce;
    std::string proof;          ///< p=, decoded
    std::string without_proof;  ///< client-final-message-without-proof, as sent
};

result<client_final_msg> parse_client_final(std::string_view msg, scram_mechanism mech) {
    constexpr std::string_view m = "client-final";
    if (msg.size() > max_message_length) {
        return malformed(m, "longer than " + std::to_string(max_message_length) + " bytes");
    }
    const std::vector<std::string_view> attrs = split_attributes(msg);
    client_final_msg out;
    auto c = attribute(attrs[0], 'c');
    if (!c) {
        return malformed(m, "expected c= (the channel binding) first");
    }
    auto cb = base64_decode(*c);
    if (c->empty() || !cb) {
        return malformed(m, "c=: not base64");
    }
    out.channel_binding = std::move(*cb);
    auto r = attrs.size() >= 2 ? attribute(attrs[1], 'r') : std::nullopt;
    if (!r || r->empty()) {
        return malformed(m, "expected r= (the nonce) after c=");
    }
    out.nonce = std::string(*r);
    auto p = attrs.size() >= 3 ? attribute(attrs.back(), 'p') : std::nullopt;
    if (!p) {
        return malformed(m, "expected p= (the proof) last");
    }
    auto proof = base64_decode(*p);
    if (!proof || proof->size() != digest_size(mech)) {
        return malformed(
            m, "p=: not the base64 of a " + std::to_string(digest_size(mech)) + "-byte proof");
    }
    out.proof = std::move(*proof);
    const std::span<const std::string_view> extensions(attrs.begin() + 2, attrs.end() - 1);
    if (auto e = check_extensions(extensions, m, extension_rules::ignore_all); !e) {
        return e.error();
    }
    out.without_proof = std::string(msg.substr(0, msg.size() - attrs.back().size() - 1));
    return out;
}

struct server_first_msg {
    std::string nonce;
    std::string salt;  ///< decoded
    int32_t iterations = 0;
};

result<int32_t> parse_iterations(std::string_view s, std::string_view m) {
    int64_t v = 0;
    const bool digits_only = !s.empty() && s.size() <= 10 && (s.size() == 1 || s[0] != '0') &&
                             s.find_first_not_of("0123456789") == std::string_view::npos;
    if (!digits_only || std::from_chars(s.data(), s.data() + s.size(), v).ec != std::errc{}) {
        return malformed(m, "i=: not a decimal number");
    }
    if (v < scram_min_iterations) {
        return malformed(m, "i=: " + std::to_string(v) + " iterations is below the minimum " +
                                std::to_string(scram_min_iterations));
    }
    if (v > scram_max_iterations) {
        return malformed(m, "i=: " + std::to_string(v) + " iterations is above the maximum " +
                                std::to_string(scram_max_iterations));
    }
    return static_cast<int32_t>(v);
}

result<server_first_msg> parse_server_first(std::string_view msg) {
    constexpr std::string_view m = "server-first";
    if (msg.size() > max_message_length) {
        return malformed(m, "longer than " + std::to_string(max_message_length) + " bytes");
    }
    const std::vector<std::string_view> attrs = split_attributes(msg);
    if (attribute(attrs[0], 'm')) {
        return error_info(sasl_errc::unsupported,
                          "server-first message: mandatory extensions (m=) are not supported");
    }
    server_first_msg out;
    auto r = attribute(attrs[0], 'r');
    if (!r) {
        return malformed(m, "expected r= (the nonce) first");
    }
    if (r->empty() || r->size() > max_nonce_length || !is_printable_nonce(*r)) {
        return malformed(m, "r=: nonce must be 1 to " + std::to_string(max_nonce_length) +
                                " printable ASCII characters other than \",\"");
    }
    out.nonce = std::string(*r);
    auto s = attrs.size() >= 2 ? attribute(attrs[1], 's') : std::nullopt;
    if (!s) {
        return malformed(m, "expected s= (the salt) after r=");
    }
    auto salt = base64_decode(*s);
    if (!salt || salt->empty() || salt->size() > max_salt_length) {
        return malformed(
            m, "s=: not the base64 of 1 to " + std::to_string(max_salt_length) + " bytes");
    }
    out.salt = std::move(*salt);
    auto i = attrs.size() >= 3 ? attribute(attrs[2], 'i') : std::nullopt;
    if (!i) {
        return malformed(m, "expected i= (the iteration count) after s=");
    }
    auto iterations = parse_iterations(*i, m);
    if (!iterations) {
        return iterations.error();
    }
    out.iterations = *iterations;
    const std::span<const std::string_view> extensions(attrs.begin() + 3, attrs.end());
    if (auto e = check_extensions(extensions, m, extension_rules::ignore_all); !e) {
        return e.error();
    }
    return out;
}

void check_injected_nonce(const std::optional<std::string>& nonce) {
    if (nonce && (nonce->empty() || nonce->size() > max_client_nonce_length ||
                  !is_printable_nonce(*nonce))) {
        FJORD_PANIC("injected SCRAM nonce must be 1 to {} printable characters without \",\"",
                    max_client_nonce_length);
    }
}

}  // namespace

const std::error_category& sasl_error_category() {
    static const sasl_category c;
    return c;
}

// ---- mechanisms and credentials ----

result<scram_mechanism> parse_scram_mechanism(std::string_view s) {
    if (iequals(s, "SCRAM-SHA-256")) {
        return scram_mechanism::sha256;
    }
    if (iequals(s, "SCRAM-SHA-512")) {
        return scram_mechanism::sha512;
    }
    return error_info::for_field(sasl_errc::invalid_argument, "mechanism",
                                 "unknown SCRAM mechanism (SCRAM-SHA-256 or SCRAM-SHA-512)");
}

std::string_view to_string(scram_mechanism m) {
    return m == scram_mechanism::sha256 ? "SCRAM-SHA-256" : "SCRAM-SHA-512";
}

result<scram_credential> make_scram_credential(scram_mechanism m, std::string_view password,
                                               int32_t iterations,
                                               std::optional<std::string> salt) {
    if (password.empty()) {
        return error_info::for_field(sasl_errc::invalid_argument, "password", "must not be empty");
    }
    if (password.size() > max_password_length) {
        return error_info::for_field(
            sasl_errc::invalid_argument, "password",
            "longer than " + std::to_string(max_password_length) + " bytes");
    }
    if (has_control(password)) {
        return error_info::for_field(sasl_errc::invalid_argument, "password",
                                     "must not contain control characters");
    }
    if (iterations < scram_min_iterations || iterations > scram_max_iterations) {
        return error_info::for_field(sasl_errc::invalid_argument, "iterations",
                                     std::to_string(iterations) + " is outside " +
                                         std::to_string(scram_min_iterations) + ".." +
                                         std::to_string(scram_max_iterations));
    }
    if (salt && (salt->empty() || salt->size() > max_salt_length)) {
        return error_info::for_field(sasl_errc::invalid_argument, "salt",
                                     "must be 1 to " + std::to_string(max_salt_length) + " bytes");
    }
    if (!salt) {
        salt = random_bytes(salt_random_bytes);
        if (!salt) {
            return openssl_failed("RAND_bytes");
        }
    }
    auto keys = derive_keys(m, password, *salt, iterations);
    if (!keys) {
        return keys.error();
    }
    return scram_credential{m, std::move(*salt), iterations, std::move(keys->stored_key),
                            std::move(keys->server_key)};
}

result<scram_credential> credential_from_salted_password(scram_mechanism m, std::string_view salt,
                                                         int32_t iterations,
                                                         std::string_view salted_password) {
    if (salted_password.size() != digest_size(m)) {
        return error_info::for_field(sasl_errc::invalid_argument, "salted_password",
                                     std::to_string(salted_password.size()) +
                                         " bytes: " + std::string(to_string(m)) + " needs " +
                                         std::to_string(digest_size(m)));
    }
    if (salt.empty() || salt.size() > max_salt_length) {
        return error_info::for_field(sasl_errc::invalid_argument, "salt",
                                     "must be 1 to " + std::to_string(max_salt_length) + " bytes");
    }
    if (iterations < scram_min_iterations || iterations > scram_max_iterations) {
        return error_info::for_field(sasl_errc::invalid_argument, "iterations",
                                     std::to_string(iterations) + " is outside " +
                                         std::to_string(scram_min_iterations) + ".." +
                                         std::to_string(scram_max_iterations));
    }
    auto keys = keys_from_salted(m, salted_password);
    if (!keys) {
        return keys.error();
    }
    return scram_credential{m, std::string(salt), iterations, std::move(keys->stored_key),
                            std::move(keys->server_key)};
}

bool verify_password(const scram_credential& c, std::string_view password) {
    if (!usable_credential(c, c.mechanism) || password.empty() ||
        password.size() > max_password_length) {
        return false;
    }
    auto keys = derive_keys(c.mechanism, password, c.salt, c.iterations);
    return keys && equal_constant_time(keys->stored_key, c.stored_key);
}

result<scram_credential> decoy_scram_credential(scram_mechanism m, std::string_view user) {
    const std::optional<std::string>& secret = process_secret();
    if (!secret) {
        return openssl_failed("RAND_bytes");
    }
    // Labelled inputs, so the three values are independent of each other.
    auto input = [&](std::string_view label) {
        std::string s(label);
        s += '\0';
        s += to_string(m);
        s += '\0';
        s += user;
        return s;
    };
    auto salt = hmac(scram_mechanism::sha256, *secret, input("salt"));
    auto stored_key = hmac(m, *secret, input("stored_key"));
    auto server_key = hmac(m, *secret, input("server_key"));
    if (!salt || !stored_key || !server_key) {
        return openssl_failed("HMAC");
    }
    return scram_credential{m, std::move(*salt), scram_min_iterations, std::move(*stored_key),
                            std::move(*server_key)};
}

// ---- usernames ----

result<std::string> decode_saslname(std::string_view saslname) {
    std::string out;
    out.reserve(saslname.size());
    for (size_t i = 0; i < saslname.size(); ++i) {
        const char c = saslname[i];
        if (c == ',') {
            return error_info(sasl_errc::malformed_message, "\",\" must be escaped as =2C");
        }
        if (c == '\0') {
            return error_info(sasl_errc::malformed_message, "NUL in a name");
        }
        if (c != '=') {
            out += c;
            continue;
        }
        const std::string_view escape = saslname.substr(i, 3);
        if (escape == "=2C") {
            out += ',';
        } else if (escape == "=3D") {
            out += '=';
        } else {
            return error_info(sasl_errc::malformed_message, "\"=\" must start =2C or =3D");
        }
        i += 2;
    }
    return out;
}

std::string encode_saslname(std::string_view name) {
    std::string out;
    out.reserve(name.size());
    for (char c : name) {
        if (c == ',') {
            out += "=2C";
        } else if (c == '=') {
            out += "=3D";
        } else {
            out += c;
        }
    }
    return out;
}

result<void> validate_username(std::string_view name) {
    auto bad = [](std::string_view reason) {
        return error_info::for_field(sasl_errc::invalid_argument, "username", reason);
    };
    if (name.empty()) {
        return bad("must not be empty");
    }
    if (name.size() > max_username_length) {
        return bad("longer than " + std::to_string(max_username_length) + " bytes");
    }
    if (has_control(name)) {
        return bad("must not contain control characters");
    }
    if (!is_valid_utf8(name)) {
        return bad("not valid UTF-8");
    }
    if (!decode_saslname(name)) {
        return bad("not a SASLname: \",\" is not allowed and \"=\" only as =2C or =3D");
    }
    return ok();
}

// ---- scram_server ----

scram_server::scram_server(scram_mechanism m, scram_credential_lookup lookup,
                           std::optional<std::string> nonce_suffix)
    : _mechanism(m), _lookup(std::move(lookup)), _nonce_suffix(std::move(nonce_suffix)) {
    check_injected_nonce(_nonce_suffix);
}

error_info scram_server::fail(error_info e) {
    _state = state::failed;
    return e;
}

result<std::string> scram_server::handle_client_first(std::string_view message) {
    if (_state != state::initial) {
        return fail(error_info(sasl_errc::invalid_state, "client-first message out of order"));
    }
    auto msg = parse_client_first(message);
    if (!msg) {
        return fail(msg.error());
    }
    if (msg->authzid && *msg->authzid != msg->username) {
        return fail(error_info(sasl_errc::authorization_id_mismatch,
                               "client-first message: the authorization id (a=) must be the user "
                               "or absent"));
    }
    _username = std::move(msg->username);
    std::optional<scram_credential> found =
        _lookup ? _lookup(_username) : std::optional<scram_credential>{};
    // The decoy is derived for every user, known or not, so that this step
    // takes the same time either way.
    auto decoy = decoy_scram_credential(_mechanism, _username);
    if (!decoy) {
        return fail(decoy.error());
    }
    _user_known = found && usable_credential(*found, _mechanism);
    _credential = _user_known ? std::move(*found) : std::move(*decoy);
    std::optional<std::string> suffix = _nonce_suffix ? _nonce_suffix : random_nonce();
    if (!suffix) {
        return fail(openssl_failed("RAND_bytes"));
    }
    _nonce = msg->nonce + *suffix;
    _client_nonce_length = msg->nonce.size();
    _gs2_header = std::move(msg->gs2_header);
    _client_first_bare = std::move(msg->bare);
    _server_first = "r=" + _nonce + ",s=" + base64_encode(_credential.salt) +
                    ",i=" + std::to_string(_credential.iterations);
    _state = state::first_done;
    return _server_first;
}

result<std::string> scram_server::handle_client_final(std::string_view message) {
    if (_state != state::first_done) {
        return fail(error_info(sasl_errc::invalid_state, "client-final message out of order"));
    }
    auto msg = parse_client_final(message, _mechanism);
    if (!msg) {
        return fail(msg.error());
    }
    // Checks that do not depend on the user come first: what they reveal, the
    // client already knows.
    if (msg->channel_binding != _gs2_header) {
        return fail(malformed("client-final",
                              "c=: not the base64 of the client-first message's gs2 header"));
    }
    // RFC 5802 wants the combined nonce exactly. librdkafka (through 2.x)
    // sends its own nonce in front of the combined one, and Kafka accepts
    // that (ScramSaslServer checks endsWith); so do we, but only with that
    // exact prefix: the combined nonce still proves this exchange.
    const std::string_view client_nonce = std::string_view(_nonce).substr(0, _client_nonce_length);
    if (msg->nonce != _nonce &&
        !(msg->nonce.size() == _nonce.size() + client_nonce.size() &&
          msg->nonce.starts_with(client_nonce) && msg->nonce.ends_with(_nonce))) {
        return fail(malformed("client-final", "r=: not the nonce of this exchange"));
    }
    const std::string auth_message =
        _client_first_bare + "," + _server_first + "," + msg->without_proof;
    auto client_signature = hmac(_mechanism, _credential.stored_key, auth_message);
    if (!client_signature) {
        return fail(client_signature.error());
    }
    auto stored_key = digest(_mechanism, xor_bytes(msg->proof, *client_signature));
    if (!stored_key) {
        return fail(stored_key.error());
    }
    // The same work and the same error for a decoy as for a wrong password.
    const bool proof_ok = equal_constant_time(*stored_key, _credential.stored_key);
    if (!proof_ok || !_user_known) {
        return fail(invalid_credentials());
    }
    auto server_signature = hmac(_mechanism, _credential.server_key, auth_message);
    if (!server_signature) {
        return fail(server_signature.error());
    }
    _state = state::complete;
    return "v=" + base64_encode(*server_signature);
}

// ---- scram_client ----

scram_client::scram_client(scram_mechanism m, std::optional<std::string> nonce)
    : _mechanism(m), _injected_nonce(std::move(nonce)) {
    check_injected_nonce(_injected_nonce);
}

error_info scram_client::fail(error_info e) {
    _state = state::failed;
    return e;
}

std::string scram_client::client_first(std::string_view user,
                                       std::optional<std::string_view> authzid) {
    std::optional<std::string> nonce = _injected_nonce ? _injected_nonce : random_nonce();
    if (!nonce) {
        FJORD_PANIC("RAND_bytes failed: no randomness for a SCRAM nonce");
    }
    _nonce = std::move(*nonce);
    _gs2_header = "n,";
    if (authzid) {
        _gs2_header += "a=" + encode_saslname(*authzid);
    }
    _gs2_header += ",";
    _client_first_bare = "n=" + encode_saslname(user) + ",r=" + _nonce;
    _state = _state == state::initial ? state::first_sent : state::failed;
    return _gs2_header + _client_first_bare;
}

result<std::string> scram_client::client_final(std::string_view server_first,
                                               std::string_view password) {
    if (_state != state::first_sent) {
        return fail(error_info(sasl_errc::invalid_state, "client-final message out of order"));
    }
    if (password.empty() || password.size() > max_password_length) {
        return fail(error_info::for_field(
            sasl_errc::invalid_argument, "password",
            "must be 1 to " + std::to_string(max_password_length) + " bytes"));
    }
    auto msg = parse_server_first(server_first);
    if (!msg) {
        return fail(msg.error());
    }
    if (msg->nonce.size() <= _nonce.size() || !msg->nonce.starts_with(_nonce)) {
        return fail(malformed("server-first", "r=: the server's nonce does not extend ours"));
    }
    auto keys = derive_keys(_mechanism, password, msg->salt, msg->iterations);
    if (!keys) {
        return fail(keys.error());
    }
    const std::string without_proof = "c=" + base64_encode(_gs2_header) + ",r=" + msg->nonce;
    const std::string auth_message =
        _client_first_bare + "," + std::string(server_first) + "," + without_proof;
    auto client_signature = hmac(_mechanism, keys->stored_key, auth_message);
    auto server_signature = hmac(_mechanism, keys->server_key, auth_message);
    if (!client_signature || !server_signature) {
        return fail(openssl_failed("HMAC"));
    }
    _server_signature = std::move(*server_signature);
    _state = state::final_sent;
    return without_proof + ",p=" + base64_encode(xor_bytes(keys->client_key, *client_signature));
}

result<void> scram_client::verify_server_final(std::string_view server_final) {
    constexpr std::string_view m = "server-final";
    if (_state != state::final_sent) {
        return fail(error_info(sasl_errc::invalid_state, "server-final message out of order"));
    }
    if (server_final.size() > max_message_length) {
        return fail(malformed(m, "longer than " + std::to_string(max_message_length) + " bytes"));
    }
    const std::vector<std::string_view> attrs = split_attributes(server_final);
    const std::span<const std::string_view> extensions(attrs.begin() + 1, attrs.end());
    if (auto e = check_extensions(extensions, m, extension_rules::ignore_all); !e) {
        return fail(e.error());
    }
    if (auto e = attribute(attrs[0], 'e')) {
        // The server's reason, shown only if it is short printable text.
        if (e->empty() || e->size() > max_server_error_length || !is_printable_nonce(*e)) {
            return fail(malformed(m, "e=: not a short printable reason"));
        }
        return fail(error_info(sasl_errc::authentication_failed,
                               "authentication failed: the server refused: " + std::string(*e)));
    }
    auto v = attribute(attrs[0], 'v');
    if (!v) {
        return fail(malformed(m, "expected v= (the server signature) or e= (an error)"));
    }
    auto signature = base64_decode(*v);
    if (!signature) {
        return fail(malformed(m, "v=: not base64"));
    }
    if (!equal_constant_time(*signature, _server_signature)) {
        return fail(error_info(sasl_errc::authentication_failed,
                               "authentication failed: the server's signature does not match"));
    }
    _state = state::complete;
    return ok();
}

}  // namespace fjord::security
