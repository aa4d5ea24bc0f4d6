#include "cli/settings.h"

#include <fmt/format.h>

namespace fjord::cli {
namespace {

result<void> set(settings& s, std::string_view key, std::string_view value, std::string_view from) {
    const auto bad = [&](std::string_view why) {
        return result<void>(error_info(std::make_error_code(std::errc::invalid_argument),
                                       fmt::format("{} {}: {}", from, key, why)));
    };
    if (key == "controllers") {
        s.controllers.clear();
        size_t pos = 0;
        while (pos <= value.size()) {
            const size_t comma = value.find(',', pos);
            std::string_view one = value.substr(
                pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
            if (!one.empty()) {
                if (one.find(':') == std::string_view::npos) {
                    return bad(fmt::format("\"{}\" is not host:port", one));
                }
                s.controllers.emplace_back(one);
            }
            if (comma == std::string_view::npos) {
                break;
            }
            pos = comma + 1;
        }
        if (s.controllers.empty()) {
            return bad("at least one host:port is required");
        }
        return ok();
    }
    if (key == "globals.command_timeout" || key == "globals.retry_timeout") {
        auto d = parse_duration(value);
        if (!d) {
            return bad(d.error().detail);
        }
        (key == "globals.command_timeout" ? s.command_timeout : s.retry_timeout) = *d;
        return ok();
    }
    return error_info(std::make_error_code(std::errc::invalid_argument),
                      fmt::format("{}: unknown key \"{}\" (see -X list)", from, key));
}

}  // namespace

const std::vector<setting_key>& settings_keys() {
    static const std::vector<setting_key> keys{
        {"controllers", "FJORD_CONTROLLERS", "127.0.0.1:9644",
         "comma-separated host:port list of controller API endpoints"},
        {"globals.command_timeout", "FJORD_GLOBALS_COMMAND_TIMEOUT", "30s",
         "how long one request may take"},
        {"globals.retry_timeout", "FJORD_GLOBALS_RETRY_TIMEOUT", "30s",
         "how long transient errors (unavailable, not leader) are retried"},
    };
    return keys;
}

result<std::chrono::milliseconds> parse_duration(std::string_view text) {
    const auto bad = [&] {
        return result<std::chrono::milliseconds>(
            error_info(std::make_error_code(std::errc::invalid_argument),
                       fmt::format("\"{}\" is not a duration (e.g. 500ms, 30s, 2m)", text)));
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

result<settings> resolve_settings(const std::vector<std::string>& x_options,
                                  const std::map<std::string, std::string>& env) {
    settings s;
    for (const auto& k : settings_keys()) {
        if (auto it = env.find(k.env); it != env.end()) {
            if (auto r = set(s, k.name, it->second, fmt::format("environment {}", k.env)); !r) {
                return r.error();
            }
        }
    }
    for (const auto& opt : x_options) {
        const size_t eq = opt.find('=');
        if (eq == std::string::npos || eq == 0) {
            return error_info(std::make_error_code(std::errc::invalid_argument),
                              fmt::format("-X {}: expected key=value", opt));
        }
        if (auto r = set(s, opt.substr(0, eq), std::string_view(opt).substr(eq + 1), "-X"); !r) {
            return r.error();
        }
    }
    return s;
}

}  // namespace fjord::cli
