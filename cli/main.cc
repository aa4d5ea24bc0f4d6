// File: cli/main.cc
//
// fjord: the root command. Global flags (-X, --profile, --config, --format,
// -v), the command groups (one file each under cli/commands/), and the
// exit-code contract (cli/exit_codes.h). CLI11's parse errors end here as
// usage errors (2).

#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands/commands.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/settings.h"
#include "common/build_info.h"

int main(int argc, char** argv) {
    using fjord::cli::exit_code;
    fjord::cli::cli_context ctx;
    CLI::App app{"fjord: the command line of the Fjord streaming control plane", "fjord"};
    app.require_subcommand(1);
    // Global flags may follow the subcommand (`fjord topic list --format json`).
    app.fallthrough();
    app.footer(std::string(fjord::cli::exit_code_help) + "\n\n" + fjord::cli::settings_help(false));
    app.add_option("-X,--config-opt", ctx.x_options,
                   "Override a setting: key=value (-X help lists the keys)");
    app.add_option("--format", ctx.format_flag, "Output: text, wide, json, yaml, help")
        ->capture_default_str();
    app.add_option("--profile", ctx.profile_flag,
                   "Profile to use (default: FJORD_PROFILE, else the current profile)");
    app.add_option("--config", ctx.config_flag,
                   "Profile file (default: FJORD_CONFIG, else ~/.config/fjord/fjord.yaml)");
    app.add_flag("-v,--verbose", ctx.verbose, "Debug logs on stderr");
    app.set_version_flag("--version", "fjord " + fjord::build::describe());
    fjord::cli::register_topic_commands(app, ctx);
    fjord::cli::register_controller_commands(app, ctx);
    fjord::cli::register_cluster_commands(app, ctx);
    fjord::cli::register_version_command(app, ctx);
    fjord::cli::register_profile_commands(app, ctx);
    fjord::cli::register_dev_commands(app, ctx);
    fjord::cli::register_security_commands(app, ctx);
    fjord::cli::register_shadow_commands(app, ctx);
    fjord::cli::register_apply_command(app, ctx);
    fjord::cli::register_completion_command(app, ctx);
    fjord::cli::register_generate_command(app, ctx);

    // -X help / -X list print the keys and exit 0 before any command runs
    // (also as -Xhelp and --config-opt=help, as CLI11 would accept them).
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        std::string v;
        if ((a == "-X" || a == "--config-opt") && i + 1 < argc) {
            v = argv[i + 1];
        } else if (a.starts_with("--config-opt=")) {
            v = a.substr(13);
        } else if (a.starts_with("-X")) {
            v = a.substr(2);
        }
        if (v == "help" || v == "list") {
            std::cout << fjord::cli::settings_help(v == "list");
            return 0;
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {
            return app.exit(e);  // --help, --version
        }
        std::cerr << "fjord: " << e.what() << "\n";
        std::cerr << "Run with --help for usage.\n";
        return static_cast<int>(exit_code::usage);
    }
    return static_cast<int>(ctx.code());
}
