// File: cli/confirm.cc

#include "cli/confirm.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <iostream>

#include <fmt/format.h>

#include "cli/context.h"

namespace fjord::cli {

answer confirm(cli_context& ctx, const std::string& question, const std::string& what) {
    if (::isatty(STDIN_FILENO) == 0) {
        ctx.fail(exit_code::usage,
                 fmt::format("refusing to {} without confirmation: stdin is not a terminal to "
                             "ask on; pass --no-confirm",
                             what));
        return answer::cannot_ask;
    }
    std::cerr << question << " [y/N]: " << std::flush;
    std::string a;
    if (!std::getline(std::cin, a)) {
        std::cerr << "\n";
        return answer::no;
    }
    while (!a.empty() && (a.back() == '\r' || a.back() == ' ')) {
        a.pop_back();
    }
    std::transform(a.begin(), a.end(), a.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return a == "y" || a == "yes" ? answer::yes : answer::no;
}

}  // namespace fjord::cli
