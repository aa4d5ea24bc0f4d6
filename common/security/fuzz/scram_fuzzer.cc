// File: common/security/fuzz/scram_fuzzer.cc
//
// libFuzzer target for what a broker does with SASL bytes from a client that
// has not authenticated yet. Each input goes, whole, to
//   - decode_saslname                  (and back through encode_saslname),
//   - parse_sasl_plain,
//   - a fresh scram_server's handle_client_first (both mechanisms),
//   - a scram_server primed with the RFC 7677 client-first, as client-final;
// and, when it holds a '\n', the part before goes to one server as
// client-first and the part after as that server's client-final, so the
// fuzzer can vary both messages of one exchange.
//
// Nonces are fixed (the server's part injected) and user "user" has password
// "pencil" with RFC 7677's salt, made once, so a seed can carry a complete
// valid exchange (fuzz/corpus/). Any crash, sanitizer report, internal
// error, or broken invariant (checked below, std::abort) is a bug. Built with
// clang only (FJORD_FUZZ=ON, see common/security/CMakeLists.txt).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "common/security/sasl_plain.h"
#include "common/security/scram.h"

namespace {

using namespace fjord::security;

constexpr std::string_view server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view rfc_client_first = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";

const scram_credential& user_credential(scram_mechanism m) {
    static const auto make = [](scram_mechanism mech) {
        auto c = make_scram_credential(
            mech, "pencil", scram_min_iterations,
            std::string("\x5b\x6d\x99\x68\x9d\x12\x35\x8e\xec\xa0\x4b\x14\x12\x36\xfa\x81", 16));
        if (!c) {
            std::abort();
        }
        return *c;
    };
    static const scram_credential sha256 = make(scram_mechanism::sha256);
    static const scram_credential sha512 = make(scram_mechanism::sha512);
    return m == scram_mechanism::sha256 ? sha256 : sha512;
}

scram_server make_server(scram_mechanism m) {
    return scram_server(
        m,
        [m](std::string_view user) -> std::optional<scram_credential> {
            if (user == "user") {
                return user_credential(m);
            }
            return std::nullopt;
        },
        std::string(server_nonce));
}

// An error is a value with a detail; an internal error means OpenSSL failed
// on input it should take.
template <typename T>
void check_error(const fjord::result<T>& r) {
    if (!r && (r.code() == sasl_errc::internal || r.error().detail.empty())) {
        std::abort();
    }
}

// Only "user" can complete, and only with a proof: nothing else may.
void check_server(const scram_server& s) {
    if (s.complete() && s.username() != "user") {
        std::abort();
    }
}

void saslname(std::string_view in) {
    auto decoded = decode_saslname(in);
    check_error(decoded);
    if (decoded && encode_saslname(*decoded) != in) {
        std::abort();
    }
    // Any name without NUL (which no SASLname carries) survives the wire.
    if (in.find('\0') == std::string_view::npos) {
        auto again = decode_saslname(encode_saslname(in));
        if (!again || *again != in) {
            std::abort();
        }
    }
}

void plain(std::string_view in) {
    auto p = parse_sasl_plain(in);
    check_error(p);
    if (p && (p->user.empty() || p->password.empty() ||
              (!p->authzid.empty() && p->authzid != p->user))) {
        std::abort();
    }
}

void scram(std::string_view in) {
    for (scram_mechanism m : {scram_mechanism::sha256, scram_mechanism::sha512}) {
        scram_server s = make_server(m);
        auto first = s.handle_client_first(in);
        check_error(first);
        check_server(s);
    }
    {
        scram_server s = make_server(scram_mechanism::sha256);
        if (!s.handle_client_first(rfc_client_first)) {
            std::abort();
        }
        auto final_message = s.handle_client_final(in);
        check_error(final_message);
        check_server(s);
        if (static_cast<bool>(final_message) != s.complete()) {
            std::abort();
        }
    }
    const size_t newline = in.find('\n');
    if (newline != std::string_view::npos) {
        scram_server s = make_server(scram_mechanism::sha256);
        auto first = s.handle_client_first(in.substr(0, newline));
        check_error(first);
        if (first) {
            auto final_message = s.handle_client_final(in.substr(newline + 1));
            check_error(final_message);
        }
        check_server(s);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    saslname(in);
    plain(in);
    scram(in);
    return 0;
}
