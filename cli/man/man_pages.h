#pragma once
// File: cli/man/man_pages.h
//
// Manual pages (roff, section 1) generated from the CLI11 command tree as
// registered at run time, so they never drift from the commands: one page
// per visible command, named after its path (`fjord topic create` is
// fjord-topic-create.1), with NAME, SYNOPSIS, DESCRIPTION (the command's
// description and footer), ARGUMENTS, OPTIONS (its own), GLOBAL OPTIONS
// (its ancestors', which every command accepts: the root falls through),
// COMMANDS (its subcommands) and SEE ALSO. Hidden commands and options
// (empty group) get none; aliases are named on their command's page.
//
// `fjord __generate man DIR` (cli/commands/generate.cc) writes them; the
// fjord package ships them in /usr/share/man/man1 (packaging/).

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace fjord::cli {

struct man_page {
    std::string file_name;  ///< "fjord-topic-create.1"
    std::string text;       ///< roff source
};

/// The pages of `root` and every visible command below it, root first,
/// then depth first in registration order. `version` goes in the footer
/// (.TH's source field, "fjord 0.1.0").
std::vector<man_page> man_pages(const CLI::App& root, const std::string& version);

/// `s` as roff text: backslashes and hyphens escaped, a line starting with
/// '.' or '\'' protected. Exposed for tests.
std::string roff_escape(const std::string& s);

}  // namespace fjord::cli
