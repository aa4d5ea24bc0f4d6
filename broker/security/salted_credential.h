#pragma once
// File: broker/security/salted_credential.h
//
// Kafka's AlterUserScramCredentials sends a credential as salt, iterations
// and SaltedPassword (= PBKDF2(password, salt, iterations)), never the
// password. The stored form (scram.h scram_credential) is derived here, as
// RFC 5802 §3 defines it: StoredKey = H(HMAC(SaltedPassword, "Client Key")),
// ServerKey = HMAC(SaltedPassword, "Server Key"), with OpenSSL's EVP (a FIPS
// provider governs it like every other digest). Pure; any thread.

#include <string_view>

#include "common/result.h"
#include "common/security/scram.h"

namespace fjord::broker {

/// The credential a client derived: `salted_password` must be as long as
/// the mechanism's digest (32 or 64 bytes), `salt` 1..256 bytes, and
/// `iterations` within [scram_min_iterations, scram_max_iterations].
/// Errors: sasl_errc::invalid_argument with the field ("salted_password",
/// "salt", "iterations"); sasl_errc::internal if OpenSSL fails.
result<security::scram_credential> credential_from_salted_password(
    security::scram_mechanism m, std::string_view salt, int32_t iterations,
    std::string_view salted_password);

}  // namespace fjord::broker
