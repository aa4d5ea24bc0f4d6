// File: cli/settings.cc
//
// The settings keys, their validation and the layered resolution described
// in cli/settings.h. Validation is of shape only (host:port lists, booleans,
// durations, SASL mechanism names); whether an address answers is the
// client's business.

#include "cli/settings.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include <fmt/format.h>

#include "common/yaml_config.h"  // edit_distance

namespace fjord::cli {
namespace {

error_info invalid(std::string detail) {
    return error_info(std::make_error_code(std::errc::invalid_argument), std::move(detail));
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

/// "" when `hp` is a usable host:port, else the reason. Hosts are IPv4
/// addresses or DNS names (letters, digits, '.', '-', '_') or bracketed IPv6.
std::string host_port_problem(std::string_view hp) {
    const size_t colon = hp.rfind(':');
    if (colon == std::string_view::npos) {
        return fmt::format("\"{}\" is not host:port", hp);
    }
    const std::string_view host = hp.substr(0, colon);
    const std::string_view port = hp.substr(colon + 1);
    if (host.empty()) {
        return fmt::format("\"{}\": the host is missing", hp);
    }
    if (host.front() == '[') {
        if (host.size() < 3 || host.back() != ']' ||
            host.find_first_not_of("0123456789abcdefABCDEF:.", 1) != host.size() - 1) {
            return fmt::format("\"{}\": \"{}\" is not a bracketed IPv6 address", hp, host);
        }
    } else if (host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789.-_") != std::string_view::npos) {
        return fmt::format("\"{}\": \"{}\" is not a host name or address{}", hp, host,
                           host.find(':') != std::string_view::npos
                               ? " (write IPv6 addresses in brackets: [::1]:9644)"
                               : "");
    }
    uint32_t n = 0;
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos) {
        return fmt::format("\"{}\": the port \"{}\" is not a number", hp, port);
    }
    for (const char c : port) {
        n = n * 10 + static_cast<uint32_t>(c - '0');
    }
    if (n == 0 || n > 65535) {
        return fmt::format("\"{}\": the port {} is not in 1..65535", hp, n);
    }
    return {};
}

result<std::vector<std::string>> parse_host_ports(std::string_view value) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos <= value.size()) {
        const size_t comma = value.find(',', pos);
        std::string_view one = value.substr(
            pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
        while (!one.empty() && one.front() == ' ') {
            one.remove_prefix(1);
        }
        while (!one.empty() && one.back() == ' ') {
            one.remove_suffix(1);
        }
        if (!one.empty()) {
            if (auto why = host_port_problem(one); !why.empty()) {
                return invalid(why);
            }
            out.emplace_back(one);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        pos = comma + 1;
    }
    if (out.empty()) {
        return invalid("at least one host:port is required");
    }
    return out;
}

result<bool> parse_bool(std::string_view v) {
    const std::string l = lower(v);
    if (l == "true" || l == "1" || l == "yes") {
        return true;
    }
    if (l == "false" || l == "0" || l == "no") {
        return false;
    }
    return invalid(fmt::format("\"{}\" is not a boolean (true or false)", v));
}

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) {
        out += (out.empty() ? "" : ",") + s;
    }
    return out;
}

std::string format_duration(std::chrono::milliseconds d) {
    const auto ms = d.count();
    if (ms % 3'600'000 == 0 && ms != 0) {
        return fmt::format("{}h", ms / 3'600'000);
    }
    if (ms % 60'000 == 0 && ms != 0) {
        return fmt::format("{}m", ms / 60'000);
    }
    if (ms % 1000 == 0) {
        return fmt::format("{}s", ms / 1000);
    }
    return fmt::format("{}ms", ms);
}

}  // namespace

const std::vector<setting_key>& settings_keys() {
    static const std::vector<setting_key> keys{
        {"controllers", "FJORD_CONTROLLERS", "127.0.0.1:9644",
         "comma-separated host:port list of controller API endpoints"},
        {"brokers", "FJORD_BROKERS", "127.0.0.1:9092",
         "comma-separated host:port list of Kafka API endpoints"},
        {"tls.enabled", "FJORD_TLS_ENABLED", "false",
         "TLS to the brokers (implied by any tls.* file)"},
        {"tls.insecure_skip_verify", "FJORD_TLS_INSECURE_SKIP_VERIFY", "false",
         "accept any broker certificate (no CA, no host check)"},
        {"tls.ca", "FJORD_TLS_CA", "", "PEM CA file the brokers' certificates must chain to"},
        {"tls.cert", "FJORD_TLS_CERT", "", "PEM client certificate for the brokers (mTLS)"},
        {"tls.key", "FJORD_TLS_KEY", "", "PEM client key for the brokers (mTLS)"},
        {"admin.tls.enabled", "FJORD_ADMIN_TLS_ENABLED", "false",
         "TLS to the controllers (implied by any admin.tls.* file)"},
        {"admin.tls.insecure_skip_verify", "FJORD_ADMIN_TLS_INSECURE_SKIP_VERIFY", "false",
         "accept any controller certificate (no CA, no host check)"},
        {"admin.tls.ca", "FJORD_ADMIN_TLS_CA", "",
         "PEM CA file the controllers' certificates must chain to"},
        {"admin.tls.cert", "FJORD_ADMIN_TLS_CERT", "",
         "PEM client certificate for the controllers (mTLS; may name the user)"},
        {"admin.tls.key", "FJORD_ADMIN_TLS_KEY", "", "PEM client key for the controllers (mTLS)"},
        {"user", "FJORD_USER", "",
         "SASL user: basic auth to the controllers, SASL login to the brokers"},
        {"pass", "FJORD_PASS", "", "SASL password (prefer the variable or a profile to argv)"},
        {"sasl.mechanism", "FJORD_SASL_MECHANISM", "",
         "Kafka SASL: SCRAM-SHA-256 (when unset and user is set), SCRAM-SHA-512 or PLAIN"},
        {"globals.command_timeout", "FJORD_GLOBALS_COMMAND_TIMEOUT", "30s",
         "how long one request may take (> 0)"},
        {"globals.retry_timeout", "FJORD_GLOBALS_RETRY_TIMEOUT", "30s",
         "how long transient errors (unavailable, not leader) are retried"},
    };
    return keys;
}

const setting_key* find_setting_key(std::string_view name) {
    const std::string l = lower(name);
    for (const auto& k : settings_keys()) {
        if (l == k.name) {
            return &k;
        }
    }
    return nullptr;
}

std::string unknown_key_message(std::string_view key) {
    const std::string l = lower(key);
    std::string best;
    size_t best_d = 3;
    for (const auto& k : settings_keys()) {
        const std::string_view name = k.name;
        // "command_timeout" for "globals.command_timeout": a missing prefix.
        if (name.size() > l.size() && name.ends_with(l) &&
            name[name.size() - l.size() - 1] == '.') {
            best = name;
            break;
        }
        if (const size_t d = edit_distance(l, name); d < best_d) {
            best_d = d;
            best = name;
        }
    }
    return fmt::format("unknown key \"{}\" ({}see -X list)", key,
                       best.empty() ? "" : fmt::format("did you mean {}? ", best));
}

result<std::pair<std::string, std::string>> split_key_value(std::string_view text,
                                                            std::string_view from) {
    const size_t eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0) {
        return invalid(fmt::format("{} \"{}\": expected key=value", from, text));
    }
    return std::make_pair(lower(text.substr(0, eq)), std::string(text.substr(eq + 1)));
}

namespace {

/// Stores `value` in the field of `k`; the error is the bare reason.
result<void> store(settings& s, const setting_key& k, std::string_view value) {
    const std::string_view key = k.name;
    if (key == "controllers" || key == "brokers") {
        auto list = parse_host_ports(value);
        if (!list) {
            return list.error();
        }
        (key == "controllers" ? s.controllers : s.brokers) = std::move(*list);
    } else if (bool* flag = key == "tls.enabled"                ? &s.tls_enabled
                            : key == "tls.insecure_skip_verify" ? &s.tls_insecure_skip_verify
                            : key == "admin.tls.enabled"        ? &s.admin_tls_enabled
                            : key == "admin.tls.insecure_skip_verify"
                                ? &s.admin_tls_insecure_skip_verify
                                : nullptr) {
        auto b = parse_bool(value);
        if (!b) {
            return b.error();
        }
        *flag = *b;
    } else if (std::string* path = key == "tls.ca"           ? &s.tls_ca
                                   : key == "tls.cert"       ? &s.tls_cert
                                   : key == "tls.key"        ? &s.tls_key
                                   : key == "admin.tls.ca"   ? &s.admin_tls_ca
                                   : key == "admin.tls.cert" ? &s.admin_tls_cert
                                   : key == "admin.tls.key"  ? &s.admin_tls_key
                                                             : nullptr) {
        if (value.find('\0') != std::string_view::npos) {
            return invalid("a path cannot contain NUL");
        }
        *path = std::string(value);
    } else if (key == "user") {
        if (value.find_first_of(std::string_view("\0\n\r", 3)) != std::string_view::npos) {
            return invalid("a user name cannot contain NUL or line breaks");
        }
        s.user = std::string(value);
    } else if (key == "pass") {
        if (value.find('\0') != std::string_view::npos) {
            return invalid("a password cannot contain NUL");
        }
        s.pass = std::string(value);
    } else if (key == "sasl.mechanism") {
        const std::string m = upper(value);
        if (!m.empty() && m != "SCRAM-SHA-256" && m != "SCRAM-SHA-512" && m != "PLAIN") {
            return invalid(
                fmt::format("\"{}\" is not SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN", value));
        }
        s.sasl_mechanism = m;
    } else if (key == "globals.command_timeout" || key == "globals.retry_timeout") {
        auto d = parse_duration(value);
        if (!d) {
            return d.error();
        }
        if (key == "globals.command_timeout" && d->count() == 0) {
            return invalid("must be more than 0");
        }
        (key == "globals.command_timeout" ? s.command_timeout : s.retry_timeout) = *d;
    }
    return ok();
}

}  // namespace

result<void> validate_setting_value(std::string_view key, std::string_view value) {
    const setting_key* k = find_setting_key(key);
    if (k == nullptr) {
        return invalid(unknown_key_message(key));
    }
    settings scratch;
    return store(scratch, *k, value);
}

result<void> apply_setting(settings& s, std::string_view key, std::string_view value,
                           std::string_view from) {
    const setting_key* k = find_setting_key(key);
    if (k == nullptr) {
        return invalid(fmt::format("{}: {}", from, unknown_key_message(key)));
    }
    if (auto r = store(s, *k, value); !r) {
        return invalid(fmt::format("{} {}: {}", from, k->name, r.error().detail));
    }
    s.origin[k->name] = std::string(from);
    return ok();
}

std::string setting_value(const settings& s, std::string_view key_in) {
    const setting_key* k = find_setting_key(key_in);
    const std::string_view key = k == nullptr ? key_in : std::string_view(k->name);
    if (key == "controllers") {
        return join(s.controllers);
    }
    if (key == "brokers") {
        return join(s.brokers);
    }
    for (const auto& [name, flag] :
         {std::pair{"tls.enabled", s.tls_enabled},
          std::pair{"tls.insecure_skip_verify", s.tls_insecure_skip_verify},
          std::pair{"admin.tls.enabled", s.admin_tls_enabled},
          std::pair{"admin.tls.insecure_skip_verify", s.admin_tls_insecure_skip_verify}}) {
        if (key == name) {
            return flag ? "true" : "false";
        }
    }
    for (const auto& [name, path] :
         {std::pair{"tls.ca", &s.tls_ca}, std::pair{"tls.cert", &s.tls_cert},
          std::pair{"tls.key", &s.tls_key}, std::pair{"admin.tls.ca", &s.admin_tls_ca},
          std::pair{"admin.tls.cert", &s.admin_tls_cert},
          std::pair{"admin.tls.key", &s.admin_tls_key}}) {
        if (key == name) {
            return *path;
        }
    }
    if (key == "user") {
        return s.user;
    }
    if (key == "pass") {
        return s.pass.empty() ? "" : "(set)";
    }
    if (key == "sasl.mechanism") {
        return s.sasl_mechanism;
    }
    if (key == "globals.command_timeout") {
        return format_duration(s.command_timeout);
    }
    if (key == "globals.retry_timeout") {
        return format_duration(s.retry_timeout);
    }
    return {};
}

tls::tls_settings settings::kafka_tls() const {
    tls::tls_settings t;
    t.enabled = use_tls();
    t.truststore_file = tls_ca;
    t.cert_file = tls_cert;
    t.key_file = tls_key;
    t.insecure_skip_verify = tls_insecure_skip_verify;
    return t;
}

tls::tls_settings settings::admin_tls() const {
    tls::tls_settings t;
    t.enabled = use_admin_tls();
    t.truststore_file = admin_tls_ca;
    t.cert_file = admin_tls_cert;
    t.key_file = admin_tls_key;
    t.insecure_skip_verify = admin_tls_insecure_skip_verify;
    return t;
}

result<std::chrono::milliseconds> parse_duration(std::string_view text) {
    const auto bad = [&] {
        return result<std::chrono::milliseconds>(
            invalid(fmt::format("\"{}\" is not a duration (e.g. 500ms, 30s, 2m)", text)));
    };
    size_t i = 0;
    uint64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        n = n * 10 + static_cast<uint64_t>(text[i] - '0');
        if (n > 100'000'000'000ull) {
            return bad();
        }
        ++i;
    }
    if (i == 0) {
        return bad();
    }
    const std::string_view unit = text.substr(i);
    if (unit.empty() || unit == "s") {
        return std::chrono::milliseconds(n * 1000);
    }
    if (unit == "ms") {
        return std::chrono::milliseconds(n);
    }
    if (unit == "m") {
        return std::chrono::milliseconds(n * 60'000);
    }
    if (unit == "h") {
        return std::chrono::milliseconds(n * 3'600'000);
    }
    return bad();
}

result<settings> resolve_settings(const settings_layers& layers) {
    settings s;
    for (const auto& k : settings_keys()) {
        s.origin[k.name] = "default";
    }
    for (const auto& [key, value] : layers.profile) {
        if (auto r = apply_setting(s, key, value, layers.profile_label); !r) {
            return r.error();
        }
    }
    for (const auto& k : settings_keys()) {
        if (auto it = layers.env.find(k.env); it != layers.env.end() && !it->second.empty()) {
            if (auto r = apply_setting(s, k.name, it->second, fmt::format("environment {}", k.env));
                !r) {
                return r.error();
            }
        }
    }
    for (const auto& opt : layers.x_options) {
        auto kv = split_key_value(opt, "-X");
        if (!kv) {
            return kv.error();
        }
        if (auto r = apply_setting(s, kv->first, kv->second, "-X"); !r) {
            return r.error();
        }
    }
    return s;
}

result<settings> resolve_settings(const std::vector<std::string>& x_options, const env_map& env) {
    settings_layers layers;
    layers.env = env;
    layers.x_options = x_options;
    return resolve_settings(layers);
}

std::string settings_help(bool terse) {
    std::string out;
    if (terse) {
        for (const auto& k : settings_keys()) {
            out += fmt::format("{}={}\n", k.name, *k.default_value ? k.default_value : "\"\"");
        }
        return out;
    }
    out = "Settings (-X key=value, the FJORD_* variable, or a profile's settings):\n";
    for (const auto& k : settings_keys()) {
        out += fmt::format("  {:<31} {:<37} default {}\n", k.name, k.env,
                           *k.default_value ? k.default_value : "\"\"");
        out += fmt::format("  {:<31} {}\n", "", k.help);
    }
    out +=
        "tls.* is the brokers' Kafka API, admin.tls.* the controllers' API (as in rpk); naming\n"
        "a ca, cert or key file turns that TLS on. cert and key go together. A certificate that\n"
        "is expired or does not match its key is refused before anything is dialed, and a\n"
        "failed handshake is explained (untrusted CA, wrong host, TLS/plaintext mismatch).\n"
        "user and pass go together: with them every controller call carries basic auth and\n"
        "topic produce|consume|trim-prefix log in with SASL (sasl.mechanism).\n"
        "Precedence: command flags > -X > FJORD_* environment > profile > defaults. Keys are\n"
        "case-insensitive; an unknown key or a bad value is a usage error (exit 2). Empty\n"
        "variables count as unset. Durations: 500ms, 30s, 2m, 1h (a bare number is seconds).\n"
        "Profiles (fjord profile --help) live in $XDG_CONFIG_HOME/fjord/fjord.yaml (default\n"
        "~/.config/fjord/fjord.yaml; --config FILE or FJORD_CONFIG for another file); the one in\n"
        "effect is --profile NAME, else FJORD_PROFILE, else the file's current profile.\n";
    return out;
}

}  // namespace fjord::cli
