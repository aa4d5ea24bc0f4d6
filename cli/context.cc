// File: cli/context.cc
//
// Resolution of one run's format, profile and settings (cli/context.h). The
// -v log names the profile file, the profile in effect and, for every key,
// its value and the layer it came from, so a surprising address can be
// traced to its source.

#include "cli/context.h"

#include <cstdlib>
#include <iostream>
#include <limits>

#include <fmt/format.h>

#include "cli/profile.h"
#include "common/log.h"

extern char** environ;

namespace fjord::cli {
namespace {

env_map read_environment() {
    env_map env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string kv(*e);
        const size_t eq = kv.find('=');
        if (eq != std::string::npos) {
            env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
        }
    }
    return env;
}

}  // namespace

bool cli_context::print_schema(std::string_view schema) const {
    if (_format != output_format::help) {
        return false;
    }
    std::cout << schema << "\n";
    return true;
}

bool cli_context::prepare_output() {
    if (verbose) {
        set_log_level(log_level::debug);
    }
    _env = read_environment();
    auto f = parse_output_format(format_flag);
    if (!f) {
        fail(exit_code::usage, f.error().detail);
        return false;
    }
    _format = *f;
    return true;
}

bool cli_context::profile_path(std::string& out) {
    auto p = profile_file_path(config_flag, _env);
    if (!p) {
        fail(exit_code::usage, p.error().detail);
        return false;
    }
    out = *p;
    return true;
}

bool cli_context::prepare() {
    if (!prepare_output()) {
        return false;
    }
    settings_layers layers;
    layers.env = _env;
    layers.x_options = x_options;

    // The profile in effect: --profile, else FJORD_PROFILE, else the file's
    // current_profile. Without HOME (and no --config) there is no profile
    // file; that is not an error unless a profile was asked for.
    const auto env_profile = _env.find("FJORD_PROFILE");
    if (!profile_flag.empty()) {
        _profile_name = profile_flag;
        _profile_source = "--profile";
    } else if (env_profile != _env.end() && !env_profile->second.empty()) {
        _profile_name = env_profile->second;
        _profile_source = "FJORD_PROFILE";
    }
    auto path = profile_file_path(config_flag, _env);
    if (!path && !_profile_name.empty()) {
        fail(exit_code::usage, path.error().detail);
        return false;
    }
    if (path) {
        auto file = load_profile_file(*path);
        if (!file) {
            fail(exit_code::usage, file.error().detail);
            return false;
        }
        log(log_level::debug, "cli", "profile file {}: {}", *path,
            file->exists ? fmt::format("{} profile(s), current {}", file->profiles.size(),
                                       file->current.empty() ? "(none)" : file->current)
                         : std::string("does not exist"));
        if (_profile_name.empty() && !file->current.empty()) {
            _profile_name = file->current;
            _profile_source = "current_profile";
        }
        if (!_profile_name.empty()) {
            const profile* p = file->find(_profile_name);
            if (p == nullptr) {
                fail(exit_code::usage,
                     fmt::format("{} {}: no such profile in {} (profiles: {})", _profile_source,
                                 _profile_name, *path, file->names()));
                return false;
            }
            layers.profile = p->values;
            layers.profile_label = fmt::format("profile {} ({})", p->name, *path);
        }
    }
    log(log_level::debug, "cli", "profile in effect: {}",
        _profile_name.empty() ? std::string("none")
                              : fmt::format("{} (from {})", _profile_name, _profile_source));
    auto s = resolve_settings(layers);
    if (!s) {
        fail(exit_code::usage, s.error().detail);
        return false;
    }
    _settings = *s;
    _settings.verbose = verbose;
    // Asking for TLS and silently getting plaintext would be worse than
    // failing: until the controller API serves TLS, refuse.
    if (_settings.use_tls()) {
        std::string why;
        for (const char* k : {"tls.enabled", "tls.ca", "tls.cert", "tls.key"}) {
            if (_settings.origin[k] != "default" && !setting_value(_settings, k).empty() &&
                setting_value(_settings, k) != "false") {
                why = fmt::format("{} (from {})", k, _settings.origin[k]);
                break;
            }
        }
        fail(exit_code::failed,
             fmt::format("{} asks for TLS, but controllers serve plaintext gRPC only in this "
                         "release; refusing to connect without it",
                         why));
        return false;
    }
    // Credentials are a pair: half of one would be sent as an empty name or
    // password, and the refusal would not say which half was missing.
    if (_settings.user.empty() != _settings.pass.empty()) {
        const char* set = _settings.user.empty() ? "pass" : "user";
        const char* unset = _settings.user.empty() ? "user" : "pass";
        fail(exit_code::usage,
             fmt::format("{} is set (from {}) but {} is not: both are needed to authenticate "
                         "(-X {}=..., FJORD_{} or the profile)",
                         set, _settings.origin[set], unset, unset,
                         _settings.user.empty() ? "USER" : "PASS"));
        return false;
    }
    if (_settings.user.find(':') != std::string::npos) {
        fail(exit_code::usage,
             fmt::format("user \"{}\" (from {}): a name with ':' cannot be sent as basic auth to "
                         "the controller API",
                         _settings.user, _settings.origin["user"]));
        return false;
    }
    for (const auto& k : settings_keys()) {
        const std::string v = setting_value(_settings, k.name);
        log(log_level::debug, "cli", "setting {} = {} (from {})", k.name, v.empty() ? "\"\"" : v,
            _settings.origin[k.name]);
    }
    return true;
}

std::unique_ptr<ctl> make_controller_client(const settings& s) {
    controller_client::options o;
    o.attempt_timeout = s.command_timeout;
    o.max_attempts = std::numeric_limits<size_t>::max();
    if (!s.user.empty()) {
        o.auth = controller_client::credential{s.user, s.pass};
    }
    return std::make_unique<ctl>(s.controllers, o);
}

error_info cli_context::explain_refusal(error_info e) const {
    const auto origin = [&](const char* k) {
        auto it = _settings.origin.find(k);
        return it == _settings.origin.end() ? std::string("default") : it->second;
    };
    if (e.code == std::errc::permission_denied) {  // UNAUTHENTICATED
        e.detail += _settings.user.empty()
                        ? std::string(
                              " (no credentials were sent: set -X user=NAME -X pass=..., "
                              "FJORD_USER and FJORD_PASS, or the profile's user and pass)")
                        : fmt::format(" (as user \"{}\" from {}: check the name and password)",
                                      _settings.user, origin("user"));
    } else if (e.code == std::errc::operation_not_permitted) {  // PERMISSION_DENIED
        e.detail += fmt::format(
            " (as {}: a superuser or an ACL allowing it is needed; fjord security acl "
            "--help-operations)",
            _settings.user.empty() ? std::string("an anonymous caller")
                                   : fmt::format("user \"{}\"", _settings.user));
    }
    return e;
}

ctl& cli_context::client() {
    if (!_client) {
        _client = make_controller_client(_settings);
    }
    return *_client;
}

void cli_context::fail(exit_code code, const std::string& msg) {
    std::cerr << "fjord: " << msg << "\n";
    set_code(code);
}

}  // namespace fjord::cli
