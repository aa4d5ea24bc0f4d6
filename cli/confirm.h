#pragma once
// File: cli/confirm.h
//
// The yes/no question a command asks before it changes something for good
// (rpk's prompts; `--no-confirm` skips them). It is asked on stderr and
// answered on stdin; "y" or "yes" (any case) goes on, anything else, or
// stdin closing, declines. Without a terminal on stdin nothing is done on a
// guess: the command fails with a usage error naming --no-confirm (the
// convention of `security acl delete`, cli/commands/security.cc).

#include <string>

namespace fjord::cli {

class cli_context;

enum class answer { yes, no, cannot_ask };

/// Asks `question` (" [y/N]: " is appended); `what` completes "refusing to
/// <what> without confirmation" when stdin is not a terminal.
answer confirm(cli_context& ctx, const std::string& question, const std::string& what);

}  // namespace fjord::cli
