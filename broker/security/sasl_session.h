#pragma once
// File: broker/security/sasl_session.h
//
// One connection's SASL authentication, as Kafka's SaslServerAuthenticator
// runs it for the mechanisms a Fjord broker offers (PLAIN, SCRAM-SHA-256,
// SCRAM-SHA-512). Pure: no I/O; the SaslHandshake and SaslAuthenticate
// handlers drive it with Kafka-framed tokens, and the dispatcher with raw
// ones (after a SaslHandshake v0, the tokens travel as bare
// int32-length-prefixed frames: kafka-python 2.0.2 and old librdkafka).
//
//   handshake ──SaslHandshake(mechanism offered)──▶ authenticate
//       │  (not offered: unsupported_mechanism; the connection is closed)
//   authenticate ──token──▶ PLAIN: one token, checked        ──▶ complete
//                           SCRAM: client-first ▶ server-first,
//                                  client-final ▶ server-final ──▶ complete
//                any failure ─────────────────────────────────▶ failed
//
// Rules (each one a case in sasl_session_test.cc):
//   - A failed login (wrong password, unknown user) fails with one message,
//     whatever the reason: PLAIN checks an unknown user's password against
//     decoy_scram_credential (the same PBKDF2 work as a real one), SCRAM
//     continues with a decoy and fails at the client-final (scram.h).
//   - PLAIN checks the password against the user's stored SCRAM credential
//     (whatever its mechanism: verify_password); an authzid other than the
//     user is refused (CVE-2017-12610, sasl_plain.h). In FIPS mode a PLAIN
//     password under the floor is refused with its own message before any
//     lookup (it says nothing about users). SCRAM never shows the server a
//     password: there the floor is enforced when the user is created.
//   - SCRAM needs a credential of the mechanism asked: a SCRAM-SHA-256 user
//     logging in with SCRAM-SHA-512 fails like a wrong password.
//   - The credentials are those of the snapshot current at each token, so a
//     user deleted mid-exchange is refused.
//   - Every call out of order (a second handshake, a token before the
//     handshake or after the end) is illegal_state; after a failure,
//     everything is.
//
// Threads: the io thread's, like the session that owns it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/security/security_snapshot.h"
#include "common/security/scram.h"

namespace fjord::broker {

/// What a handshake or a token came to.
enum class sasl_status {
    ok,
    unsupported_mechanism,  ///< SaslHandshake named a mechanism not offered
    illegal_state,          ///< out of the exchange's order
    authentication_failed,  ///< the token was refused: the connection is to be closed
};

class sasl_session {
  public:
    enum class stage { handshake, authenticate, complete, failed };

    /// `min_password_length`: FIPS mode's floor for PLAIN passwords
    /// (tls::fips_min_password_length; 0 outside FIPS mode).
    explicit sasl_session(size_t min_password_length = 0)
        : _min_password_length(min_password_length) {}

    /// SaslHandshake v`version` naming `mechanism`. ok: the exchange starts
    /// (after v0 its tokens come raw). unsupported_mechanism: not offered by
    /// `snap` (the handler lists what is). illegal_state: not at the
    /// handshake stage.
    sasl_status handshake(std::string_view mechanism, int16_t version,
                          const security_snapshot& snap);

    struct step {
        sasl_status status = sasl_status::ok;
        /// ok: the server's token for the client (empty for PLAIN's end).
        std::string token;
        /// not ok: the reason, safe to send to the client (never a password,
        /// and the same for a wrong password and an unknown user).
        std::string message;
    };
    /// One client token, checked against the credentials in `snap`.
    step authenticate(std::string_view token, const std::shared_ptr<const security_snapshot>& snap);

    stage current() const { return _stage; }
    bool complete() const { return _stage == stage::complete; }
    /// After a SaslHandshake v0, until the end: tokens travel as raw frames.
    bool raw_tokens() const { return _raw && _stage == stage::authenticate; }
    /// The authenticated user (complete() only).
    const std::string& user() const { return _user; }
    /// The mechanism the handshake chose (from authenticate on).
    std::optional<sasl_mechanism> mechanism() const { return _mechanism; }

  private:
    step fail(std::string message);

    size_t _min_password_length;
    stage _stage = stage::handshake;
    bool _raw = false;
    std::optional<sasl_mechanism> _mechanism;
    std::unique_ptr<security::scram_server> _scram;
    std::string _user;
};

/// The one message of a refused login (wrong password or unknown user).
inline constexpr std::string_view authentication_failed_message =
    "Authentication failed: invalid username or password";

}  // namespace fjord::broker
