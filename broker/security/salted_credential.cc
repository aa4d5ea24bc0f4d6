// File: broker/security/salted_credential.cc

#include "broker/security/salted_credential.h"

#include <openssl/evp.h>

#include <array>

#include <fmt/format.h>

namespace fjord::broker {
namespace {

namespace sec = fjord::security;

const char* digest_name(sec::scram_mechanism m) {
    return m == sec::scram_mechanism::sha256 ? "SHA256" : "SHA512";
}

size_t digest_size(sec::scram_mechanism m) {
    return m == sec::scram_mechanism::sha256 ? 32 : 64;
}

result<std::string> hmac(sec::scram_mechanism m, std::string_view key, std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    size_t len = 0;
    if (EVP_Q_mac(nullptr, "HMAC", nullptr, digest_name(m), nullptr, key.data(), key.size(),
                  reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
                  out.size(), &len) == nullptr) {
        return error_info(sec::sasl_errc::internal, "HMAC failed (OpenSSL)");
    }
    return std::string(reinterpret_cast<const char*>(out.data()), len);
}

result<std::string> digest(sec::scram_mechanism m, std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    size_t len = 0;
    if (EVP_Q_digest(nullptr, digest_name(m), nullptr, data.data(), data.size(), out.data(),
                     &len) == 0) {
        return error_info(sec::sasl_errc::internal, "digest failed (OpenSSL)");
    }
    return std::string(reinterpret_cast<const char*>(out.data()), len);
}

}  // namespace

result<security::scram_credential> credential_from_salted_password(
    security::scram_mechanism m, std::string_view salt, int32_t iterations,
    std::string_view salted_password) {
    if (salted_password.size() != digest_size(m)) {
        return error_info::for_field(sec::sasl_errc::invalid_argument, "salted_password",
                                     fmt::format("{} bytes: {} needs {}", salted_password.size(),
                                                 sec::to_string(m), digest_size(m)));
    }
    if (salt.empty() || salt.size() > 256) {
        return error_info::for_field(sec::sasl_errc::invalid_argument, "salt",
                                     fmt::format("{} bytes: must be 1..256", salt.size()));
    }
    if (iterations < sec::scram_min_iterations || iterations > sec::scram_max_iterations) {
        return error_info::for_field(
            sec::sasl_errc::invalid_argument, "iterations",
            fmt::format("{}: must be {}..{}", iterations, sec::scram_min_iterations,
                        sec::scram_max_iterations));
    }
    auto client_key = hmac(m, salted_password, "Client Key");
    if (!client_key) {
        return client_key.error();
    }
    auto stored_key = digest(m, *client_key);
    if (!stored_key) {
        return stored_key.error();
    }
    auto server_key = hmac(m, salted_password, "Server Key");
    if (!server_key) {
        return server_key.error();
    }
    return sec::scram_credential{m, std::string(salt), iterations, std::move(*stored_key),
                                 std::move(*server_key)};
}

}  // namespace fjord::broker
