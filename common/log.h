#pragma once
// File: common/log.h
//
// Leveled logging to stderr: one line per event, "<ts> <level> <component>: msg".
// Thread-safe. The level comes from FJORD_LOG (trace|debug|info|warn|error,
// default info) at first use, or set_log_level().

#include <string_view>

#include <fmt/format.h>

namespace fjord {

enum class log_level { trace, debug, info, warn, error, off };

void set_log_level(log_level l);
log_level current_log_level();
void log_write(log_level l, std::string_view component, std::string_view msg);

template <typename... A>
void log(log_level l, std::string_view component, fmt::format_string<A...> f, A&&... args) {
    if (l >= current_log_level()) {
        log_write(l, component, fmt::format(f, std::forward<A>(args)...));
    }
}

}  // namespace fjord
