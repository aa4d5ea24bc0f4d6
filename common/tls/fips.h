#pragma once
// File: common/tls/fips.h
//
// FIPS mode for a daemon (Redpanda's fips_mode, rpk-reference §12): the node
// settings, and the start-up checks that run before any listener opens.
//
//   fips_mode: disabled | permissive | enabled
//   openssl_config_file: /etc/fjord/fips/openssl.cnf      # required unless disabled
//   openssl_module_directory: /usr/lib/fjord/ossl-modules # holds fips.so
//   fips_flag_file: /proc/sys/crypto/fips_enabled         # the kernel's flag
//
// start_crypto() checks, in this order (§12.2), and stops at the first
// failure:
//   1. the kernel flag file: missing, or its first byte not '1', is fatal in
//      `enabled` and a warning in `permissive`;
//   2. OpenSSL loads `openssl_config_file` with the provider search path set
//      to `openssl_module_directory`, the `fips` provider loads (running its
//      self-tests), and `fips=yes` becomes the default property, so every
//      EVP fetch in the process (SCRAM, TLS, gRPC's TLS) is served by it.
// Errors name the file they tried. `disabled` checks nothing and changes
// nothing.
//
// In FIPS mode (enabled or permissive) SCRAM passwords must have at least
// fips_min_password_length characters (FIPS 140-3: HMAC keys of 112 bits).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace fjord::tls {

/// The values are the fjord_fips_mode gauge's (Redpanda's fips_mode_flag and
/// redpanda_application_fips_mode): 0, 1, 2.
enum class fips_mode { disabled = 0, permissive = 1, enabled = 2 };

/// "disabled", "permissive", "enabled".
std::string_view to_string(fips_mode m);
/// Parses the above; nullopt for anything else.
std::optional<fips_mode> parse_fips_mode(std::string_view s);

inline constexpr size_t fips_min_password_length = 14;

struct fips_settings {
    fips_mode mode = fips_mode::disabled;
    std::string openssl_config_file;
    std::string openssl_module_directory;
    std::string flag_file = "/proc/sys/crypto/fips_enabled";
    bool operator==(const fips_settings&) const = default;
};

/// What start_crypto found that the operator should know (permissive mode's
/// warnings), already logged.
struct crypto_report {
    std::vector<std::string> warnings;
};

/// The start-up checks above; call once, before any listener opens and
/// before any other thread uses OpenSSL. Logs what it establishes (and, on
/// failure, the reason) under the component "fips". Errors: the flag file
/// missing or unreadable (tls_errc::unreadable) or not '1'
/// (tls_errc::bad_settings) in `enabled`; the configuration, the provider or
/// the final check (tls_errc::openssl), each naming the file or directory it
/// tried and OpenSSL's reasons.
result<crypto_report> start_crypto(const fips_settings& s);

/// The mode start_crypto() established (disabled before it ran).
fips_mode current_fips_mode();

/// Step 1 of start_crypto, pure: what the flag file at `path` means in mode
/// `m`, given its contents (nullopt: it does not exist or cannot be read;
/// `why` then says which). Ok with nullopt: nothing to say (the flag is '1',
/// or the mode is disabled); ok with a text: permissive mode's warning; an
/// error: `enabled` cannot start.
result<std::optional<std::string>> check_kernel_flag(fips_mode m, std::string_view path,
                                                     std::optional<std::string_view> contents,
                                                     std::string_view why = "does not exist");

/// The shortest password accepted in mode `m`: fips_min_password_length in
/// FIPS mode (enabled or permissive), 0 otherwise. Passwords are counted in
/// bytes (their UTF-8), as HMAC sees the key.
size_t min_password_length(fips_mode m);

}  // namespace fjord::tls
