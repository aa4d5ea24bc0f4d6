// File: cli/commands/generate.cc
//
// fjord __generate man DIR: writes one manual page per command
// (cli/man/man_pages.h) into DIR, creating it. Hidden (no help entry, no
// completion): it exists for packaging (packaging/CMakeLists.txt runs it
// on the built binary), not for users. Completion scripts come from the
// public `fjord completion bash|zsh|fish`.

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands/commands.h"
#include "cli/context.h"
#include "cli/man/man_pages.h"
#include "common/build_info.h"

namespace fjord::cli {

void register_generate_command(CLI::App& root, cli_context& ctx) {
    auto* gen = root.add_subcommand("__generate", "Generate files from the command tree");
    gen->group("");  // hidden
    gen->require_subcommand(1);
    auto dir = std::make_shared<std::string>();
    auto* man = gen->add_subcommand("man", "Write one roff manual page per command into DIR");
    man->add_option("dir", *dir, "Output directory (created if missing)")->required();
    const CLI::App* root_ptr = &root;
    man->callback([&ctx, dir, root_ptr] {
        namespace fs = std::filesystem;
        std::error_code ec;
        fs::create_directories(*dir, ec);
        if (ec) {
            ctx.fail(exit_code::failed,
                     fmt::format("dir: cannot create {}: {}", *dir, ec.message()));
            return;
        }
        const auto pages = man_pages(*root_ptr, std::string("fjord ") + build::version());
        for (const auto& page : pages) {
            const fs::path file = fs::path(*dir) / page.file_name;
            std::ofstream f(file, std::ios::binary | std::ios::trunc);
            f << page.text;
            f.close();
            if (!f) {
                ctx.fail(exit_code::failed, fmt::format("cannot write {}", file.string()));
                return;
            }
        }
        std::cout << fmt::format("wrote {} manual pages to {}\n", pages.size(), *dir);
    });
}

}  // namespace fjord::cli
