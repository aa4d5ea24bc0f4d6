// File: cli/security/password.cc

#include "cli/security/password.h"

#include <sys/random.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <system_error>

#include <fmt/format.h>

namespace fjord::cli::security_cli {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

error_info bad(std::string detail) {
    return error_info(std::make_error_code(std::errc::invalid_argument), std::move(detail));
}

/// Terminal echo off for the guard's lifetime (restored on every path).
class no_echo {
  public:
    no_echo() {
        if (::tcgetattr(STDIN_FILENO, &_saved) == 0) {
            termios quiet = _saved;
            quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
            _active = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
        }
    }
    ~no_echo() {
        if (_active) {
            ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &_saved);
        }
    }
    no_echo(const no_echo&) = delete;
    no_echo& operator=(const no_echo&) = delete;

  private:
    termios _saved{};
    bool _active = false;
};

result<std::string> prompt(const std::string& question, const std::string& flag) {
    std::cerr << question << std::flush;
    result<std::string> r = bad("");
    {
        no_echo guard;
        r = password_line(std::cin, flag);
    }
    std::cerr << "\n";  // the Enter the terminal did not echo
    return r;
}

}  // namespace

std::string generate_password(size_t n) {
    std::string out;
    out.reserve(n);
    unsigned char buf[64];
    while (out.size() < n) {
        const ssize_t got = ::getrandom(buf, sizeof buf, 0);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw std::system_error(errno, std::generic_category(), "getrandom");
        }
        for (ssize_t i = 0; i < got && out.size() < n; ++i) {
            // 248 = 4 * 62: bytes at or above it would favour the first
            // characters, so they are dropped.
            if (buf[i] < 248) {
                out += alphabet[buf[i] % alphabet.size()];
            }
        }
    }
    return out;
}

result<std::string> password_line(std::istream& in, const std::string& flag) {
    std::string line;
    if (!std::getline(in, line)) {
        return bad(fmt::format("{} -: no password on stdin", flag));
    }
    if (!line.empty() && line.back() == '\r') {
        line.pop_back();
    }
    if (line.empty()) {
        return bad(fmt::format("{} -: the password on stdin is empty", flag));
    }
    return line;
}

result<std::string> read_password(const std::string& flag) {
    if (::isatty(STDIN_FILENO) == 0) {
        return password_line(std::cin, flag);
    }
    auto first = prompt("Password: ", flag);
    if (!first) {
        return first;
    }
    auto again = prompt("Password (again): ", flag);
    if (!again) {
        return again;
    }
    if (*first != *again) {
        return bad(fmt::format("{} -: the two passwords typed differ", flag));
    }
    return first;
}

}  // namespace fjord::cli::security_cli
