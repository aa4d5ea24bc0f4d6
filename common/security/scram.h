#pragma once
// File: common/security/scram.h
//
// SASL/SCRAM as Kafka brokers speak it: SCRAM-SHA-256 and SCRAM-SHA-512
// (RFC 5802, RFC 7677), the stored credentials, the username rule, and both
// ends of the exchange. Pure: no sockets, no clock, no logging, nothing
// throws. Randomness comes from OpenSSL's RAND_bytes; every digest, HMAC and
// PBKDF2 goes through EVP fetches, so that a loaded FIPS provider (and
// `fips=yes` default properties) governs them without a change here. PBKDF2
// is an EVP_KDF without PKCS#5 compatibility, so under the FIPS provider it
// refuses what SP 800-132 does (salt under 16 bytes, iterations under 1000);
// generated salts are 32 bytes.
//
// The exchange, and which call handles which message:
//
//   client (scram_client)                     server (scram_server)
//   client_first(user)        --client-first-->  handle_client_first
//                             <--server-first--  (r=nonce,s=salt,i=iterations)
//   client_final(sf, pw)      --client-final-->  handle_client_final
//   verify_server_final(v)    <--server-final--  (v=ServerSignature)
//
// Rules enforced (each one is a regression test in scram_test.cc):
//   - Iterations are at least 4096 (Kafka's minimum for both mechanisms) and
//     at most 1,000,000, on credential creation and in the client (a server
//     cannot make a client spin or weaken its proof).
//   - Usernames travel as SASLnames: "," is "=2C", "=" is "=3D"; any other
//     "=" escape is malformed.
//   - Channel binding is not supported: the gs2 flag is "n" or "y"; "p=" is
//     refused. The client-final's c= must be the base64 of the client's gs2
//     header, byte for byte.
//   - Impersonation (CVE-2017-12610): an authzid (a=) in the gs2 header must
//     equal the user.
//   - The client-final's nonce must be exactly the client's nonce followed by
//     the server's.
//   - Proofs and signatures are compared in constant time (CRYPTO_memcmp;
//     CVE-2021-38153).
//   - An unknown user is not refused at client-first: the server continues
//     with a decoy credential (decoy_scram_credential) and fails at
//     client-final with exactly the error a wrong password gets, so neither
//     the messages nor the work done reveal whether a user exists.
//   - Kafka's client-first extensions (key=value after r=) are accepted and
//     ignored, except tokenauth=true: Fjord has no delegation tokens.
//   - Every message is parsed strictly: attribute order, printable nonces,
//     canonical base64, no empty required attribute, length limits.
//
// Passwords are used as their UTF-8 bytes, without SASLprep, as Kafka and
// Redpanda do; their clients do the same, so credentials interoperate.
//
// Errors: the exchange returns `sasl_errc` values whose detail is safe to
// send to the client ("malformed client-first message: ...", "authentication
// failed: invalid credentials"). Credential and username validation returns
// sasl_errc::invalid_argument built with error_info::for_field ("password",
// "iterations", "salt", "username", "mechanism").
//
// Threads: the free functions are safe from any thread. A scram_server or
// scram_client is one exchange: one connection's session owns it and drives
// it from one thread at a time.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "common/result.h"

namespace fjord::security {

/// The errors of both SASL mechanisms (SCRAM here, PLAIN in sasl_plain.h).
enum class sasl_errc {
    success = 0,
    malformed_message,          ///< a message breaks its grammar, a limit, or the exchange's nonce
                                ///< or channel binding
    authentication_failed,      ///< wrong password or unknown user: deliberately one error
    authorization_id_mismatch,  ///< an authzid other than the user (CVE-2017-12610)
    unsupported,                ///< channel binding, delegation tokens, mandatory extensions
    invalid_argument,  ///< a credential's, username's or mechanism's value (with its field)
    invalid_state,     ///< a call out of the exchange's order, or after it failed
    internal,          ///< OpenSSL failed (no randomness, no digest)
};

/// The enumerator's name, e.g. "authentication_failed" (for logs and tests).
std::string_view to_string(sasl_errc e);

const std::error_category& sasl_error_category();
inline std::error_code make_error_code(sasl_errc e) {
    return {static_cast<int>(e), sasl_error_category()};
}

}  // namespace fjord::security

template <>
struct std::is_error_code_enum<fjord::security::sasl_errc> : std::true_type {};

namespace fjord::security {

enum class scram_mechanism { sha256, sha512 };

/// "SCRAM-SHA-256" or "SCRAM-SHA-512", ignoring case (rpk's
/// `--mechanism scram-sha-256`). sasl_errc::invalid_argument, field `mechanism`.
result<scram_mechanism> parse_scram_mechanism(std::string_view s);
/// "SCRAM-SHA-256" or "SCRAM-SHA-512": the names Kafka's SaslHandshake uses.
std::string_view to_string(scram_mechanism m);

/// Kafka's minimum for both mechanisms, and the default.
inline constexpr int32_t scram_min_iterations = 4096;
/// Far above any sensible setting; bounds what a stored credential or a
/// server-first can make PBKDF2 do.
inline constexpr int32_t scram_max_iterations = 1'000'000;
/// Longest username in bytes (decoded, not as a SASLname).
inline constexpr size_t max_username_length = 255;
/// Longest password in bytes.
inline constexpr size_t max_password_length = 1024;
/// Shortest salt FIPS mode accepts (NIST SP 800-132: 128 bits, which the FIPS
/// provider's PBKDF2 enforces). Generated salts are longer (32 bytes).
inline constexpr size_t fips_min_salt_length = 16;

/// What is stored per user and mechanism: never the password (RFC 5802 §3).
/// `salt`, `stored_key` and `server_key` are raw bytes; the keys are as long
/// as the mechanism's digest (32 or 64 bytes).
struct scram_credential {
    scram_mechanism mechanism = scram_mechanism::sha256;
    std::string salt;
    int32_t iterations = 0;
    std::string stored_key;
    std::string server_key;

    bool operator==(const scram_credential&) const = default;
};

/// The credential for `password`: SaltedPassword = PBKDF2(password, salt,
/// iterations), StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey =
/// HMAC(SaltedPassword, "Server Key"). Without `salt`, 32 random bytes.
/// Refuses (invalid_argument) an empty password, one with control characters
/// or longer than max_password_length (field `password`), iterations outside
/// [scram_min_iterations, scram_max_iterations] (`iterations`), and an empty
/// salt or one over 256 bytes (`salt`); sasl_errc::internal if OpenSSL fails.
result<scram_credential> make_scram_credential(scram_mechanism m, std::string_view password,
                                               int32_t iterations = scram_min_iterations,
                                               std::optional<std::string> salt = std::nullopt);

/// The credential from what Kafka's AlterUserScramCredentials sends instead
/// of a password: salt, iterations and SaltedPassword (PBKDF2 of the
/// password), as long as the mechanism's digest. Errors:
/// sasl_errc::invalid_argument with the field ("salted_password", "salt",
/// "iterations"); sasl_errc::internal if OpenSSL fails.
result<scram_credential> credential_from_salted_password(scram_mechanism m, std::string_view salt,
                                                         int32_t iterations,
                                                         std::string_view salted_password);

/// Whether `password` derives `c`'s StoredKey (compared in constant time):
/// password checks outside SCRAM, e.g. HTTP basic authentication on the
/// controller API. False for a credential that is itself invalid. Costs one
/// PBKDF2 of `c.iterations`; for an unknown user, check against
/// decoy_scram_credential so that the time spent is the same.
bool verify_password(const scram_credential& c, std::string_view password);

/// The credential the server pretends `user` has when it has none: derived
/// with HMAC from the user, the mechanism and a secret drawn once per process,
/// so that asking twice gives the same salt (as for a real user) and no one
/// outside the process can compute it. Its iterations are
/// scram_min_iterations. No password verifies against it (short of breaking
/// HMAC). sasl_errc::internal if the process has no randomness.
result<scram_credential> decoy_scram_credential(scram_mechanism m, std::string_view user);

/// A SASLname (RFC 5802 §5.1) decoded: "=2C" is ",", "=3D" is "="; any other
/// "=", a raw "," or a NUL is malformed. sasl_errc::malformed_message.
result<std::string> decode_saslname(std::string_view saslname);
/// `name` as a SASLname: "," as "=2C", "=" as "=3D", all else unchanged.
std::string encode_saslname(std::string_view name);

/// The rule for a SCRAM username that is to be stored (the controller's user
/// creation): non-empty, at most max_username_length bytes, valid UTF-8, no
/// control characters, and itself a well-formed SASLname, i.e. no "," and "="
/// only as the start of "=2C" or "=3D" (Redpanda's validate_scram_username,
/// so a name one accepts the other accepts too). invalid_argument, field
/// `username`.
result<void> validate_username(std::string_view name);

/// The credential store as the server sees it: the user's credential for the
/// server's mechanism, or nullopt when there is none. Called once per
/// exchange, from handle_client_first.
using scram_credential_lookup =
    std::function<std::optional<scram_credential>(std::string_view user)>;

/// The server's side of one SCRAM exchange.
///
/// Lifecycle: constructed per authentication attempt; handle_client_first,
/// then handle_client_final, each at most once and in that order. Any error
/// ends the exchange (later calls return sasl_errc::invalid_state); the
/// session then fails the authentication and closes the connection, as Kafka
/// does. complete() becomes true only when handle_client_final succeeds: the
/// connection is then authenticated as username().
class scram_server {
  public:
    /// `nonce_suffix` replaces the random server nonce part: for test vectors
    /// and the fuzzer only; it must be printable ASCII without "," (checked,
    /// panics otherwise: a caller's mistake).
    scram_server(scram_mechanism m, scram_credential_lookup lookup,
                 std::optional<std::string> nonce_suffix = std::nullopt);

    /// Parses the client-first message and returns the server-first message
    /// ("r=<client nonce><server nonce>,s=<salt>,i=<iterations>"). An unknown
    /// user is not an error here (see the file comment). Errors:
    /// malformed_message, unsupported (p=, m=, tokenauth=true),
    /// authorization_id_mismatch, internal, invalid_state.
    result<std::string> handle_client_first(std::string_view message);

    /// Checks the client-final message and returns the server-final message
    /// ("v=<ServerSignature>"). A wrong proof and an unknown user fail alike
    /// with authentication_failed, detail "authentication failed: invalid
    /// credentials". Other errors: malformed_message (including a nonce or
    /// channel binding that is not this exchange's), internal, invalid_state.
    result<std::string> handle_client_final(std::string_view message);

    /// True once handle_client_final succeeded.
    bool complete() const { return _state == state::complete; }
    /// The user the client named (decoded), set by handle_client_first. Not
    /// authenticated until complete().
    const std::string& username() const { return _username; }
    scram_mechanism mechanism() const { return _mechanism; }

  private:
    enum class state { initial, first_done, complete, failed };
    error_info fail(error_info e);

    scram_mechanism _mechanism;
    scram_credential_lookup _lookup;
    std::optional<std::string> _nonce_suffix;
    state _state = state::initial;
    std::string _username;
    bool _user_known = false;
    scram_credential _credential;
    std::string _gs2_header;
    std::string _client_first_bare;
    std::string _server_first;
    std::string _nonce;  ///< client nonce + server nonce
    size_t _client_nonce_length = 0;
};

/// The client's side of one SCRAM exchange: Fjord's own clients, and tests.
///
/// Lifecycle: client_first, client_final, verify_server_final, each once and
/// in that order; any error ends the exchange (later calls return
/// invalid_state). The connection may be trusted only after
/// verify_server_final succeeds: that proves the server knew the credential.
class scram_client {
  public:
    /// `nonce` replaces the random client nonce: for test vectors only; it
    /// must be printable ASCII without "," (checked, panics otherwise).
    explicit scram_client(scram_mechanism m, std::optional<std::string> nonce = std::nullopt);

    /// The client-first message: "n,[a=<authzid>],n=<user>,r=<nonce>", names
    /// as SASLnames. Panics if the process has no randomness: without it
    /// nothing safe is left to do.
    std::string client_first(std::string_view user,
                             std::optional<std::string_view> authzid = std::nullopt);

    /// The client-final message for the server-first `server_first`. Checks
    /// that the server's nonce extends ours and that iterations are within
    /// [scram_min_iterations, scram_max_iterations]. Errors:
    /// malformed_message, unsupported (m=), invalid_argument (password),
    /// internal, invalid_state.
    result<std::string> client_final(std::string_view server_first, std::string_view password);

    /// Checks the server-final message: the server's signature (constant
    /// time). "e=<reason>" from the server is authentication_failed with that
    /// reason; a wrong signature is authentication_failed too.
    result<void> verify_server_final(std::string_view server_final);

  private:
    enum class state { initial, first_sent, final_sent, complete, failed };
    error_info fail(error_info e);

    scram_mechanism _mechanism;
    std::optional<std::string> _injected_nonce;
    state _state = state::initial;
    std::string _nonce;
    std::string _gs2_header;
    std::string _client_first_bare;
    std::string _server_signature;
};

}  // namespace fjord::security
