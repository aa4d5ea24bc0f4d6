#pragma once
// File: cli/security/password.h
//
// Passwords the CLI handles for `fjord security user` and `fjord dev start
// --sasl`: generated ones (rpk's: 30 alphanumeric characters when none is
// given) and ones read from stdin or a terminal prompt. None of these
// functions logs or prints a password; where one goes is the caller's
// business (a generated one is printed once, by the command).

#include <cstddef>
#include <istream>
#include <string>

#include "common/result.h"

namespace fjord::cli::security_cli {

/// `n` characters from [A-Za-z0-9], uniformly from the kernel's CSPRNG
/// (getrandom, rejection sampling so no character is likelier).
std::string generate_password(size_t n = 30);

/// The password `flag` stands for when given "-": from a terminal on stdin,
/// a prompt on stderr without echo, asked twice (they must match); from a
/// pipe or file, its first line (without the line break). Empty, or no
/// line at all, is an error naming `flag`.
result<std::string> read_password(const std::string& flag);

/// The first line of `in` as a password (CR LF or LF stripped); empty or
/// missing is an error naming `flag`. For read_password and its tests.
result<std::string> password_line(std::istream& in, const std::string& flag);

}  // namespace fjord::cli::security_cli
