// File: controller/service/auth.cc
//
// Basic credentials in gRPC metadata, verified against SCRAM credentials with
// a bounded cache of successes (auth.h).

#include "controller/service/auth.h"

#include <openssl/evp.h>

#include <array>
#include <cctype>

#include <fmt/format.h>

#include "common/cluster/errc.h"
#include "common/security/acl_proto.h"
#include "common/security/scram.h"

namespace fjord::service {
namespace {

using cluster::errc;

constexpr std::string_view failed = "authentication failed: invalid credentials";

error_info unauthenticated(std::string_view why) {
    return error_info(errc::unauthenticated, std::string(why));
}

/// RFC 4648 base64 with padding; nullopt when `in` is not that.
std::optional<std::string> base64_decode(std::string_view in) {
    if (in.size() % 4 != 0) {
        return std::nullopt;
    }
    const auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') {
            return c - 'A';
        }
        if (c >= 'a' && c <= 'z') {
            return c - 'a' + 26;
        }
        if (c >= '0' && c <= '9') {
            return c - '0' + 52;
        }
        return c == '+' ? 62 : c == '/' ? 63 : -1;
    };
    std::string out;
    for (size_t i = 0; i < in.size(); i += 4) {
        const bool last = i + 4 == in.size();
        std::array<int, 4> v{};
        int pad = 0;
        for (size_t j = 0; j < 4; ++j) {
            const char c = in[i + j];
            if (c == '=' && last && j >= 2) {
                ++pad;
                v[j] = 0;
                continue;
            }
            if (pad > 0 || (v[j] = value(c)) < 0) {
                return std::nullopt;
            }
        }
        const uint32_t n = (static_cast<uint32_t>(v[0]) << 18) |
                           (static_cast<uint32_t>(v[1]) << 12) |
                           (static_cast<uint32_t>(v[2]) << 6) | static_cast<uint32_t>(v[3]);
        out.push_back(static_cast<char>((n >> 16) & 0xff));
        if (pad < 2) {
            out.push_back(static_cast<char>((n >> 8) & 0xff));
        }
        if (pad < 1) {
            out.push_back(static_cast<char>(n & 0xff));
        }
    }
    return out;
}

std::optional<std::string> sha256(std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    EVP_MD* digest = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (digest == nullptr) {
        return std::nullopt;
    }
    const int ok = EVP_Digest(data.data(), data.size(), md.data(), &len, digest, nullptr);
    EVP_MD_free(digest);
    if (ok != 1) {
        return std::nullopt;
    }
    return std::string(reinterpret_cast<const char*>(md.data()), len);
}

}  // namespace

result<basic_credentials> parse_basic_authorization(std::string_view value) {
    constexpr std::string_view scheme = "basic ";
    if (value.size() < scheme.size()) {
        return unauthenticated(
            "authorization metadata: expected \"Basic <base64(user:password)>\"");
    }
    for (size_t i = 0; i < scheme.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(value[i])) != scheme[i]) {
            return unauthenticated(
                "authorization metadata: only the Basic scheme is supported "
                "(\"Basic <base64(user:password)>\")");
        }
    }
    std::string_view b64 = value.substr(scheme.size());
    while (!b64.empty() && b64.front() == ' ') {
        b64.remove_prefix(1);
    }
    const auto decoded = base64_decode(b64);
    if (!decoded) {
        return unauthenticated("authorization metadata: the credentials are not base64");
    }
    const size_t colon = decoded->find(':');
    if (colon == std::string::npos || colon == 0) {
        return unauthenticated("authorization metadata: expected base64 of \"user:password\"");
    }
    return basic_credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

result<void> authenticator::verify(const basic_credentials& c,
                                   const std::optional<v1::ScramCredential>& stored) {
    if (c.password.size() < _min_password_length) {
        return unauthenticated(fmt::format(
            "authentication failed: FIPS mode needs a password of at least {} characters",
            _min_password_length));
    }
    std::optional<security::scram_credential> cred;
    if (stored) {
        cred = security::credential_from_proto(*stored);
    }
    std::string key;
    if (cred) {
        const auto h = sha256(c.password);
        if (!h) {
            return error_info(errc::internal, "no SHA-256 digest available");
        }
        key = c.user;
        key.push_back('\0');
        key += *h;
        key += cred->stored_key;
        std::lock_guard g(_mu);
        if (_verified.count(key) > 0) {
            return ok();
        }
    }
    if (!cred) {
        // The same work a real user's check costs, and the same answer.
        auto decoy = security::decoy_scram_credential(security::scram_mechanism::sha256, c.user);
        if (decoy) {
            (void)security::verify_password(*decoy, c.password);
        }
        return unauthenticated(failed);
    }
    if (!security::verify_password(*cred, c.password)) {
        return unauthenticated(failed);
    }
    std::lock_guard g(_mu);
    if (_verified.insert(key).second) {
        _order.push_back(key);
        while (_order.size() > _max) {
            _verified.erase(_order.front());
            _order.pop_front();
        }
    }
    return ok();
}

size_t authenticator::cached() const {
    std::lock_guard g(_mu);
    return _verified.size();
}

}  // namespace fjord::service
