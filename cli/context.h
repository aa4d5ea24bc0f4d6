#pragma once
// File: cli/context.h
//
// What every command shares for one run: the global flags as parsed, the
// process environment, the resolved settings (cli/settings.h: defaults <
// profile < FJORD_* < -X) and output format, the controller client (created
// on first use), and the exit code the command settles on. One per process,
// owned by main.

#include <iostream>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "cli/exit_codes.h"
#include "cli/output/printer.h"
#include "cli/settings.h"
#include "common/controller_client/blocking.h"

namespace fjord::cli {

namespace v1 = fjord::controller::v1;

/// The controller client's calls, as commands name them: ctx.call(&ctl::list_topics, req).
using ctl = controller_client::client;

/// A FipsMode as `cluster info` and `controller status` print it (the node
/// config's spelling); "unknown" when not reported.
inline std::string fips_mode_name(v1::FipsMode m) {
    switch (m) {
        case v1::FIPS_MODE_DISABLED:
            return "disabled";
        case v1::FIPS_MODE_PERMISSIVE:
            return "permissive";
        case v1::FIPS_MODE_ENABLED:
            return "enabled";
        default:
            return "unknown";
    }
}

/// The controller client for `s`: each attempt limited to command_timeout,
/// retried until retry_timeout (common/controller_client/retry_rule.h says
/// which failures are retried at all), authenticated as `s.user` when set,
/// over TLS as admin.tls.* says. A connection that fails is probed once
/// (common/tls/probe.h), and a TLS mistake ends the call with one sentence
/// naming it. An error (before anything is dialed) when the admin.tls files
/// cannot be used: unreadable, not PEM, expired, key not matching.
result<std::unique_ptr<ctl>> make_controller_client(const settings& s);

/// `detail` of a common/tls error about `group`'s files ("tls" or
/// "admin.tls") with the settings' key names instead of the daemons'
/// ("admin.tls.cert /x.pem: certificate expired on ...").
std::string tls_error_in_cli_terms(std::string detail, std::string_view group);

class cli_context {
  public:
    // Global flags, bound by main.
    std::vector<std::string> x_options;
    std::string format_flag = "text";
    std::string profile_flag;  // --profile NAME
    std::string config_flag;   // --config FILE (the profile file)
    bool verbose = false;

    /// Resolves format, verbosity, the profile file and the settings; on
    /// failure prints the error and sets the usage exit code (a bad -X, an
    /// unknown key, a broken profile file, an unknown --profile). Call first
    /// in every command callback that talks to the cluster.
    bool prepare();

    /// Resolves format and verbosity only (and reads the environment): for
    /// commands that manage the profile file itself or need no settings, so
    /// that a profile problem can still be repaired with `fjord profile`.
    bool prepare_output();

    output_format format() const { return _format; }
    /// For `--format help` (after prepare or prepare_output): prints `schema`
    /// and returns true, and the command stops there without contacting the
    /// cluster or writing anything; false for every other format.
    bool print_schema(std::string_view schema) const;
    const settings& cfg() const { return _settings; }
    /// One controller call, waited for (the client is created on first use).
    /// A refusal (no or wrong credentials, a missing ACL) names the user the
    /// call was made as and where that came from.
    template <typename Arg, typename Resp>
    result<Resp> call(controller_client::method<Arg, Resp> m, std::type_identity_t<Arg> arg) {
        auto c = client();
        if (!c) {
            return c.error();
        }
        auto r = controller_client::wait_for(**c, m, std::move(arg), _settings.retry_timeout);
        if (!r) {
            return explain_refusal(r.error());
        }
        return r;
    }

    /// The process environment (captured by prepare/prepare_output).
    const env_map& env() const { return _env; }
    /// The profile file path (--config > FJORD_CONFIG > XDG/HOME); on failure
    /// prints the error and sets the usage code.
    bool profile_path(std::string& out);
    /// The profile in effect after prepare(), "" for none, and why
    /// ("--profile", "FJORD_PROFILE", "current_profile").
    const std::string& profile_name() const { return _profile_name; }
    const std::string& profile_source() const { return _profile_source; }

    /// Prints "fjord: <msg>" to stderr and records `code`.
    void fail(exit_code code, const std::string& msg);
    void set_code(exit_code c) {
        if (static_cast<int>(c) > static_cast<int>(_code)) {
            _code = c;
        }
    }
    exit_code code() const { return _code; }

  private:
    settings _settings;
    env_map _env;
    std::string _profile_name;
    std::string _profile_source;
    output_format _format = output_format::text;
    result<ctl*> client();
    error_info explain_refusal(error_info e) const;

    std::unique_ptr<ctl> _client;
    exit_code _code = exit_code::ok;
};

}  // namespace fjord::cli
