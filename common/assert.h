#pragma once
// File: common/assert.h
//
// Broken invariants and corruption that must never be served stop the process
// with a message: FJORD_PANIC always, FJORD_ASSERT when its condition fails.
// These are not error handling; expected failures are `result` values.

#include <fmt/format.h>

namespace fjord::detail {
[[noreturn]] void panic(const char* file, int line, const std::string& msg);
}

#define FJORD_PANIC(...) ::fjord::detail::panic(__FILE__, __LINE__, ::fmt::format(__VA_ARGS__))
#define FJORD_ASSERT(cond, ...)                                                                   \
    do {                                                                                          \
        if (!(cond)) [[unlikely]] {                                                               \
            ::fjord::detail::panic(__FILE__, __LINE__,                                            \
                                   "assertion failed: " #cond ": " + ::fmt::format(__VA_ARGS__)); \
        }                                                                                         \
    } while (0)
