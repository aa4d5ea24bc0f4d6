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
#include <grpc/support/log.h>

#include "cli/profile.h"
#include "common/log.h"
#include "common/tls/grpc_tls.h"
#include "common/tls/probe.h"

extern char** environ;

namespace fjord::cli {
namespace {

/// gRPC's own log lines (a refused handshake prints an "E1207 ..." line per
/// attempt) would break the CLI's one-line errors: they go to -v only.
void grpc_log(gpr_log_func_args* a) {
    log(log_level::debug, "grpc", "{}:{}: {}", a->file, a->line, a->message);
}

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
    gpr_set_log_function(grpc_log);
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
    // A certificate without its key (or the reverse) is half of an identity:
    // say which half is missing rather than connect without one.
    for (const char* group : {"tls", "admin.tls"}) {
        const std::string cert = fmt::format("{}.cert", group);
        const std::string key = fmt::format("{}.key", group);
        if (setting_value(_settings, cert).empty() != setting_value(_settings, key).empty()) {
            const bool has_cert = !setting_value(_settings, cert).empty();
            fail(exit_code::usage,
                 fmt::format("{} is set (from {}) but {} is not: a client certificate needs its "
                             "key (-X {}=FILE, or the profile)",
                             has_cert ? cert : key, _settings.origin[has_cert ? cert : key],
                             has_cert ? key : cert, has_cert ? key : cert));
            return false;
        }
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

std::string tls_error_in_cli_terms(std::string detail, std::string_view group) {
    for (const auto& [daemon_key, cli_key] :
         {std::pair{"cert_file", "cert"}, std::pair{"key_file", "key"},
          std::pair{"truststore_file", "ca"}}) {
        const std::string prefix = fmt::format("{} ", daemon_key);
        if (detail.starts_with(prefix)) {
            return fmt::format("{}.{} {}", group, cli_key, detail.substr(prefix.size()));
        }
    }
    return fmt::format("{}: {}", group, detail);
}

result<std::unique_ptr<ctl>> make_controller_client(const settings& s) {
    controller_client::options o;
    o.attempt_timeout = s.command_timeout;
    o.max_attempts = std::numeric_limits<size_t>::max();
    if (!s.user.empty()) {
        o.auth = controller_client::credential{s.user, s.pass};
    }
    const tls::tls_settings t = s.admin_tls();
    // Reads and checks the files now: an expired or mismatched certificate
    // is refused here, before anything is dialed.
    auto creds = tls::grpc_channel_credentials(t);
    if (!creds) {
        return error_info(creds.error().code,
                          tls_error_in_cli_terms(creds.error().detail, "admin.tls"));
    }
    o.credentials = std::move(*creds);
    o.diagnose = [t](const std::string& target) {
        std::string why = tls::diagnose_endpoint(target, t, std::chrono::milliseconds(2000));
        if (!t.enabled && !why.empty()) {
            why += " (set admin.tls.enabled=true, and admin.tls.ca=FILE for a private CA)";
        }
        return why;
    };
    return std::make_unique<ctl>(s.controllers, o);
}

error_info cli_context::explain_refusal(error_info e) const {
    const auto origin = [&](const char* k) {
        auto it = _settings.origin.find(k);
        return it == _settings.origin.end() ? std::string("default") : it->second;
    };
    if (e.code == std::errc::permission_denied) {  // UNAUTHENTICATED
        e.detail +=
            !_settings.user.empty()
                ? fmt::format(" (as user \"{}\" from {}: check the name and password)",
                              _settings.user, origin("user"))
            : !_settings.admin_tls_cert.empty()
                ? fmt::format(" (as the client certificate {} from {})", _settings.admin_tls_cert,
                              origin("admin.tls.cert"))
                : std::string(
                      " (no credentials were sent: set -X user=NAME -X pass=..., FJORD_USER and "
                      "FJORD_PASS, or the profile's user and pass; or a client certificate, "
                      "admin.tls.cert and admin.tls.key)");
    } else if (e.code == std::errc::operation_not_permitted) {  // PERMISSION_DENIED
        e.detail += fmt::format(
            " (as {}: a superuser or an ACL allowing it is needed; fjord security acl "
            "--help-operations)",
            !_settings.user.empty()             ? fmt::format("user \"{}\"", _settings.user)
            : !_settings.admin_tls_cert.empty() ? fmt::format("the user the client certificate {} "
                                                              "maps to",
                                                              _settings.admin_tls_cert)
                                                : std::string("an anonymous caller"));
    }
    return e;
}

result<ctl*> cli_context::client() {
    if (!_client) {
        auto c = make_controller_client(_settings);
        if (!c) {
            return c.error();
        }
        _client = std::move(*c);
    }
    return _client.get();
}

void cli_context::fail(exit_code code, const std::string& msg) {
    std::cerr << "fjord: " << msg << "\n";
    set_code(code);
}

}  // namespace fjord::cli
