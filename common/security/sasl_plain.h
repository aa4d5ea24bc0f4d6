#pragma once
// File: common/security/sasl_plain.h
//
// SASL/PLAIN (RFC 4616) as Kafka brokers accept it: the one message
// "authzid NUL authcid NUL passwd", parsed strictly. Checking the password
// is the caller's: look the user's SCRAM credential up and call
// verify_password (scram.h), against decoy_scram_credential when there is
// none, so that an unknown user costs the same time as a wrong password.
// Pure; safe from any thread.
//
// Impersonation (CVE-2017-12610): the authzid must be empty or equal to the
// user; anything else is refused here, before a password is looked at.
// PLAIN sends the password in clear: only over TLS.

#include <string>
#include <string_view>

#include "common/result.h"
#include "common/security/scram.h"

namespace fjord::security {

/// A parsed PLAIN message. Holds a clear-text password: never log it.
struct plain_credentials {
    std::string authzid;  ///< empty, or equal to `user`
    std::string user;     ///< the authcid: the identity to authenticate
    std::string password;

    bool operator==(const plain_credentials&) const = default;
};

/// The longest PLAIN message: authzid and user of max_username_length bytes,
/// a password of max_password_length, two NULs.
inline constexpr size_t max_plain_message_length =
    2 * max_username_length + max_password_length + 2;

/// Parses "authzid NUL authcid NUL passwd": exactly two NULs; a non-empty
/// user of at most max_username_length bytes of UTF-8 without control
/// characters; a non-empty password of at most max_password_length bytes; an
/// authzid that is empty or the user. Errors: sasl_errc::malformed_message
/// ("malformed PLAIN message: <reason>"), sasl_errc::authorization_id_mismatch.
/// No error repeats the password.
result<plain_credentials> parse_sasl_plain(std::string_view message);

}  // namespace fjord::security
