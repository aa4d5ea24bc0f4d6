#pragma once
// File: cli/settings.h
//
// Where the CLI connects, how it authenticates and how long it waits,
// resolved once per run from four layers, later ones winning:
//   defaults < profile (cli/profile.h) < FJORD_* environment < -X key=value
// (command flags, where a command has one for a key, win over all four).
// Every key is listed in `settings_keys()`; the environment variable of key
// `a.b_c` is FJORD_A_B_C. An unknown key or a malformed value is an error
// that names the key and the layer it came from; keys are case-insensitive.
// TLS, as rpk names it: `tls.*` is the brokers' Kafka API (librdkafka's
// ssl.* properties, cli/kafka/rdkafka.h), `admin.tls.*` the controllers' API
// (gRPC channel credentials, cli_context). Naming any PEM file of a group
// turns that group's TLS on. `user` and `pass` authenticate to both APIs: the controller's
// (gRPC metadata `authorization: Basic ...`, controller_client/client.h) and
// the brokers' Kafka API (SASL with `sasl.mechanism`, SCRAM-SHA-256 when
// unset; cli/kafka/rdkafka.h). Either needs the other.

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/tls/tls.h"

namespace fjord::cli {

using env_map = std::map<std::string, std::string>;

struct settings {
    std::vector<std::string> controllers{"127.0.0.1:9644"};
    std::vector<std::string> brokers{"127.0.0.1:9092"};
    bool tls_enabled = false;
    bool tls_insecure_skip_verify = false;
    std::string tls_ca;
    std::string tls_cert;
    std::string tls_key;
    bool admin_tls_enabled = false;
    bool admin_tls_insecure_skip_verify = false;
    std::string admin_tls_ca;
    std::string admin_tls_cert;
    std::string admin_tls_key;
    std::string user;
    std::string pass;
    std::string sasl_mechanism;  // "" or upper case: SCRAM-SHA-256, SCRAM-SHA-512, PLAIN
    std::chrono::milliseconds command_timeout{30000};
    std::chrono::milliseconds retry_timeout{30000};
    bool verbose = false;
    /// As in rpk, naming any PEM file, or skipping verification, implies
    /// TLS (computed here, not when a key is applied, so the answer does not
    /// depend on key order): asking to skip verification and silently
    /// getting plaintext would send credentials in clear.
    bool use_tls() const {
        return tls_enabled || tls_insecure_skip_verify || !tls_ca.empty() || !tls_cert.empty() ||
               !tls_key.empty();
    }
    bool use_admin_tls() const {
        return admin_tls_enabled || admin_tls_insecure_skip_verify || !admin_tls_ca.empty() ||
               !admin_tls_cert.empty() || !admin_tls_key.empty();
    }
    /// The brokers' TLS (tls.*) and the controllers' (admin.tls.*) as
    /// common/tls sees a client's: truststore = ca, identity = cert + key.
    tls::tls_settings kafka_tls() const;
    tls::tls_settings admin_tls() const;
    /// Key -> the layer its value came from ("default", "profile dev (FILE)",
    /// "environment FJORD_X", "-X"); for -v logs and error messages.
    std::map<std::string, std::string> origin;
};

struct setting_key {
    const char* name;
    const char* env;
    const char* default_value;
    const char* help;
};

const std::vector<setting_key>& settings_keys();

/// The key named `name` (case-insensitive), or nullptr.
const setting_key* find_setting_key(std::string_view name);

/// "unknown key \"x\" (did you mean y? see -X list)" for an unknown key.
std::string unknown_key_message(std::string_view key);

/// Splits "key=value" (the key lower-cased); a missing '=' or an empty key is
/// an error naming `from` and the text.
result<std::pair<std::string, std::string>> split_key_value(std::string_view text,
                                                            std::string_view from);

/// Validates `value` for `key` and stores it in `s` (recording `from` as its
/// origin). Errors read "<from> <key>: <reason>".
result<void> apply_setting(settings& s, std::string_view key, std::string_view value,
                           std::string_view from);

/// Checks `value` for `key` without a layer: the error detail is the bare
/// reason ("unknown key ...", "\"x\" is not host:port"), for callers that
/// name the place themselves (the profile file loader).
result<void> validate_setting_value(std::string_view key, std::string_view value);

/// The value `s` holds for `key` in the text form -X accepts ("" for unset
/// strings); for the -v log and `profile print`.
std::string setting_value(const settings& s, std::string_view key);

/// The layers below flags, as read by the caller (cli_context): a profile's
/// key=value map and its label ("profile dev (/home/u/.config/fjord/fjord.yaml)"),
/// the process environment, and the -X options in command-line order.
struct settings_layers {
    std::map<std::string, std::string> profile;
    std::string profile_label;
    env_map env;
    std::vector<std::string> x_options;
};

/// Applies the layers to the defaults in precedence order. Environment
/// variables that are set but empty count as unset (CI systems often export
/// empty variables for missing secrets); FJORD_* names that are not keys
/// (FJORD_CONFIG, FJORD_PROFILE, FJORD_LOG, ...) are ignored.
result<settings> resolve_settings(const settings_layers& layers);

/// Compatibility form: environment then -X, no profile.
result<settings> resolve_settings(const std::vector<std::string>& x_options, const env_map& env);

/// "30s", "500ms", "2m", "1h"; a bare number is seconds.
result<std::chrono::milliseconds> parse_duration(std::string_view text);

/// -X help (every key with its variable, default and meaning, plus the
/// precedence and the profile file) or, if `terse`, -X list (one key a line).
std::string settings_help(bool terse);

}  // namespace fjord::cli
