#include "cli/context.h"

#include <cstdlib>
#include <map>

extern char** environ;

namespace fjord::cli {

bool cli_context::prepare() {
    auto f = parse_output_format(format_flag);
    if (!f) {
        fail(exit_code::usage, f.error().detail);
        return false;
    }
    _format = *f;
    std::map<std::string, std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string kv(*e);
        const size_t eq = kv.find('=');
        if (eq != std::string::npos && kv.starts_with("FJORD_")) {
            env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
        }
    }
    auto s = resolve_settings(x_options, env);
    if (!s) {
        fail(exit_code::usage, s.error().detail);
        return false;
    }
    _settings = *s;
    _settings.verbose = verbose;
    return true;
}

controller_client& cli_context::client() {
    if (!_client) {
        _client = std::make_unique<controller_client>(_settings);
    }
    return *_client;
}

void cli_context::fail(exit_code code, const std::string& msg) {
    std::cerr << "fjord: " << msg << "\n";
    set_code(code);
}

}  // namespace fjord::cli
