#pragma once
// File: cli/exit_codes.h
//
// The one exit-code contract of every fjord verb (printed by `fjord --help`):
//   0  done, or nothing to do; a validate-only run (--dry) that would succeed
//   1  failed: the request, or any item of a batch (every item is still printed)
//   2  usage error: unknown flag, bad argument, malformed key=value
//   3  apply --dry-run: changes pending (nothing is wrong; a CI job can
//      tell "drift" from "failed"; docs/apply.md)

namespace fjord::cli {

enum class exit_code : int { ok = 0, failed = 1, usage = 2, pending = 3 };

inline constexpr const char* exit_code_help =
    "Exit codes: 0 done (or nothing to do; --dry that would succeed), 1 failed (any item of a\n"
    "batch failing fails the command; every item is printed), 2 usage error, 3 apply --dry-run:\n"
    "changes pending.";

}  // namespace fjord::cli
