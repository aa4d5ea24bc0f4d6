// File: broker/security/sasl_session.cc

#include "broker/security/sasl_session.h"

#include <fmt/format.h>

#include "common/security/sasl_plain.h"

namespace fjord::broker {
namespace {

namespace sec = fjord::security;

}  // namespace

sasl_status sasl_session::handshake(std::string_view mechanism, int16_t version,
                                    const security_snapshot& snap) {
    if (_stage != stage::handshake) {
        _stage = stage::failed;
        return sasl_status::illegal_state;
    }
    auto m = parse_sasl_mechanism(mechanism);
    if (!m || !snap.offers(*m)) {
        _stage = stage::failed;
        return sasl_status::unsupported_mechanism;
    }
    _mechanism = m;
    _raw = version == 0;
    _stage = stage::authenticate;
    return sasl_status::ok;
}

sasl_session::step sasl_session::fail(std::string message) {
    _stage = stage::failed;
    _scram.reset();
    return {sasl_status::authentication_failed, {}, std::move(message)};
}

sasl_session::step sasl_session::authenticate(
    std::string_view token, const std::shared_ptr<const security_snapshot>& snap) {
    if (_stage != stage::authenticate) {
        _stage = stage::failed;
        return {sasl_status::illegal_state,
                {},
                "SaslAuthenticate is not expected now: send SaslHandshake first, once"};
    }
    if (*_mechanism == sasl_mechanism::plain) {
        auto creds = sec::parse_sasl_plain(token);
        if (!creds) {
            // Malformed, or an authzid other than the user: the message
            // says which (it never repeats the password).
            return fail(fmt::format("Authentication failed: {}", creds.error().detail));
        }
        if (creds->password.size() < _min_password_length) {
            return fail(fmt::format(
                "Authentication failed: FIPS mode needs a password of at least {} characters",
                _min_password_length));
        }
        const sec::scram_credential* stored = snap->credential(creds->user);
        bool ok = false;
        if (stored != nullptr) {
            ok = sec::verify_password(*stored, creds->password);
        } else if (auto decoy =
                       sec::decoy_scram_credential(sec::scram_mechanism::sha256, creds->user)) {
            // The same work as for a real user, and the same answer.
            (void)sec::verify_password(*decoy, creds->password);
        }
        if (!ok) {
            return fail(std::string(authentication_failed_message));
        }
        _user = creds->user;
        _stage = stage::complete;
        return {};
    }
    if (!_scram) {
        const auto mech = *_mechanism == sasl_mechanism::scram_sha_256
                              ? sec::scram_mechanism::sha256
                              : sec::scram_mechanism::sha512;
        // The lookup runs inside handle_client_first, against the snapshot
        // current for this token.
        _scram = std::make_unique<sec::scram_server>(
            mech, [snap, mech](std::string_view user) { return snap->credential(user, mech); });
        auto first = _scram->handle_client_first(token);
        if (!first) {
            return fail(fmt::format("Authentication failed: {}", first.error().detail));
        }
        return {sasl_status::ok, std::move(*first), {}};
    }
    auto final_message = _scram->handle_client_final(token);
    if (!final_message) {
        if (final_message.error().code == sec::sasl_errc::authentication_failed) {
            return fail(std::string(authentication_failed_message));
        }
        return fail(fmt::format("Authentication failed: {}", final_message.error().detail));
    }
    // A user deleted since the client-first is refused too.
    if (snap->credential(_scram->username()) == nullptr) {
        return fail(std::string(authentication_failed_message));
    }
    _user = _scram->username();
    _stage = stage::complete;
    _scram.reset();
    return {sasl_status::ok, std::move(*final_message), {}};
}

}  // namespace fjord::broker
