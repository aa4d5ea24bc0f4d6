#pragma once
// File: common/assert.h
//
// Broken invariants and corruption that must never be served stop the process
// with a message: FJORD_PANIC always, FJORD_ASSERT when its condition fails.
// These are not error handling; expected failures are `result` values.

#include <fmt/format.h>

namespace fjord {

/// Called by FJORD_PANIC before the process aborts. A handler may throw to
/// unwind instead (the deterministic simulation does, to report the seed and
/// trace); if it returns, the process aborts. Not for production code.
using panic_handler = void (*)(const char* file, int line, const std::string& msg);
/// Installs `h` (nullptr restores the default) and returns the previous one.
panic_handler set_panic_handler(panic_handler h);

namespace detail {
[[noreturn]] void panic(const char* file, int line, const std::string& msg);
}
}  // namespace fjord

#define FJORD_PANIC(...) ::fjord::detail::panic(__FILE__, __LINE__, ::fmt::format(__VA_ARGS__))
#define FJORD_ASSERT(cond, ...)                                                                   \
    do {                                                                                          \
        if (!(cond)) [[unlikely]] {                                                               \
            ::fjord::detail::panic(__FILE__, __LINE__,                                            \
                                   "assertion failed: " #cond ": " + ::fmt::format(__VA_ARGS__)); \
        }                                                                                         \
    } while (0)
