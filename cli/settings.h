#pragma once
// File: cli/settings.h
//
// Where the CLI connects and how long it waits, resolved once per run with
// the precedence flags > -X key=value > FJORD_* environment > defaults
// (profiles arrive later; see DESIGN.md §4). Every key is listed in
// `settings_keys()`; an unknown key is an error that names it.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace fjord::cli {

struct settings {
    std::vector<std::string> controllers{"127.0.0.1:9644"};
    std::chrono::milliseconds command_timeout{30000};
    std::chrono::milliseconds retry_timeout{30000};
    bool verbose = false;
};

struct setting_key {
    const char* name;
    const char* env;
    const char* default_value;
    const char* help;
};

const std::vector<setting_key>& settings_keys();

/// Applies environment (FJORD_*) then `-X key=value` overrides to defaults.
/// `env` maps variable names to values (the process environment in main).
result<settings> resolve_settings(const std::vector<std::string>& x_options,
                                  const std::map<std::string, std::string>& env);

/// "30s", "500ms", "2m", "1h"; a bare number is seconds.
result<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace fjord::cli
