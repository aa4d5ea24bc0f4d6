#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "common/assert.h"

namespace fjord {
namespace {

log_level level_from_env() {
    const char* e = std::getenv("FJORD_LOG");
    if (e == nullptr) {
        return log_level::info;
    }
    const std::string_view v(e);
    if (v == "trace") {
        return log_level::trace;
    }
    if (v == "debug") {
        return log_level::debug;
    }
    if (v == "warn") {
        return log_level::warn;
    }
    if (v == "error") {
        return log_level::error;
    }
    if (v == "off") {
        return log_level::off;
    }
    return log_level::info;
}

std::atomic<log_level>& level_ref() {
    static std::atomic<log_level> l{level_from_env()};
    return l;
}

constexpr std::string_view level_name(log_level l) {
    switch (l) {
        case log_level::trace:
            return "TRACE";
        case log_level::debug:
            return "DEBUG";
        case log_level::info:
            return "INFO";
        case log_level::warn:
            return "WARN";
        case log_level::error:
            return "ERROR";
        case log_level::off:
            break;
    }
    return "OFF";
}

}  // namespace

void set_log_level(log_level l) {
    level_ref().store(l);
}
log_level current_log_level() {
    return level_ref().load(std::memory_order_relaxed);
}

void log_write(log_level l, std::string_view component, std::string_view msg) {
    static std::mutex mu;
    const auto now = std::chrono::system_clock::now();
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    const std::string line =
        fmt::format("{}.{:03d} {} {}: {}\n", ms / 1000, ms % 1000, level_name(l), component, msg);
    std::lock_guard g(mu);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

namespace {
std::atomic<panic_handler> g_panic_handler{nullptr};
}

panic_handler set_panic_handler(panic_handler h) {
    return g_panic_handler.exchange(h);
}

namespace detail {
[[noreturn]] void panic(const char* file, int line, const std::string& msg) {
    if (auto h = g_panic_handler.load()) {
        h(file, line, msg);
    }
    const std::string out = fmt::format("PANIC {}:{}: {}\n", file, line, msg);
    std::fwrite(out.data(), 1, out.size(), stderr);
    std::fflush(stderr);
    std::abort();
}
}  // namespace detail

}  // namespace fjord
