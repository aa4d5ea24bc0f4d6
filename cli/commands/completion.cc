// File: cli/commands/completion.cc
//
// fjord completion bash|zsh|fish: prints a shell completion script generated
// from the CLI11 command tree as registered at run time (subcommands, their
// aliases, and flags), so it never drifts from the commands:
//   source <(fjord completion bash)          # bash
//   source <(fjord completion zsh)           # zsh, after compinit
//   fjord completion fish | source           # fish
// Every script finds the command path by scanning the words before the
// cursor for subcommand names, then offers that command's subcommands and
// flags (a command accepts its ancestors' flags too: the root falls
// through). Values: --format and -X keys from fixed lists, --config and
// --state-dir as files, --profile and `profile use|delete|print` from
// `fjord profile list`.

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands/commands.h"
#include "cli/context.h"
#include "cli/settings.h"

namespace fjord::cli {
namespace {

struct flag_info {
    std::vector<std::string> names;  // "-p", "--partitions"
    bool takes_value = false;
    std::string long_name;  // without dashes, "" if none
    std::string description;
};

struct command_info {
    std::string path;                                              // "fjord topic create"
    std::vector<std::pair<std::string, std::string>> subcommands;  // name (or alias), help
    std::vector<flag_info> flags;                                  // its own and its ancestors'
};

flag_info describe(const CLI::Option* o) {
    flag_info f;
    for (const auto& s : o->get_snames()) {
        f.names.push_back("-" + s);
    }
    for (const auto& l : o->get_lnames()) {
        f.names.push_back("--" + l);
        if (f.long_name.empty()) {
            f.long_name = l;
        }
    }
    // Flags have no type size; an optional value (--wait[=30s]) completes as a flag.
    f.takes_value = o->get_type_size() > 0 && o->get_expected_min() > 0;
    f.description = o->get_description();
    return f;
}

void walk(const CLI::App* app, const std::string& path, std::vector<flag_info> inherited,
          std::vector<command_info>& out) {
    for (const CLI::Option* o : app->get_options()) {
        if (o->get_group().empty() || (o->get_snames().empty() && o->get_lnames().empty())) {
            continue;  // hidden, or positional
        }
        flag_info f = describe(o);
        // Every level has its own -h,--help: list each name once.
        const bool known = std::any_of(inherited.begin(), inherited.end(),
                                       [&](const flag_info& x) { return x.names == f.names; });
        if (!known) {
            inherited.push_back(std::move(f));
        }
    }
    command_info info;
    info.path = path;
    info.flags = inherited;
    const auto subs =
        app->get_subcommands([](const CLI::App* a) { return !a->get_group().empty(); });
    for (const CLI::App* sub : subs) {
        info.subcommands.emplace_back(sub->get_name(), sub->get_description());
        for (const auto& alias : sub->get_aliases()) {
            info.subcommands.emplace_back(alias, sub->get_description());
        }
    }
    out.push_back(info);
    for (const CLI::App* sub : subs) {
        walk(sub, path + " " + sub->get_name(), inherited, out);
        for (const auto& alias : sub->get_aliases()) {
            walk(sub, path + " " + alias, inherited, out);
        }
    }
}

/// Paths whose positional argument is a profile name.
bool takes_profile_name(const std::string& path) {
    return path == "fjord profile use" || path == "fjord profile delete" ||
           path == "fjord profile rm" || path == "fjord profile print";
}

std::string x_keys() {
    std::string out;
    for (const auto& k : settings_keys()) {
        out += (out.empty() ? "" : " ") + std::string(k.name) + "=";
    }
    return out;
}

/// 'text' for bash and zsh.
std::string sq(const std::string& s) {
    std::string out = "'";
    for (const char c : s) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

/// 'text' for fish (which escapes \ and ' inside single quotes).
std::string fish_sq(const std::string& s) {
    std::string out = "'";
    for (const char c : s) {
        if (c == '\'' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "'";
}

/// The `case` pattern list of every command path below the root.
std::vector<std::string> sub_paths(const std::vector<command_info>& cmds) {
    std::vector<std::string> out;
    for (const auto& c : cmds) {
        if (c.path != "fjord") {
            out.push_back(c.path);
        }
    }
    return out;
}

/// The value-taking flags whose values complete (the others complete
/// nothing after them). Their names are the same in every command.
struct value_flags {
    std::vector<std::string> format, keys, files, profiles;
};

/// Names of the value-taking flags `c` accepts.
std::vector<std::string> value_names(const command_info& c) {
    std::vector<std::string> out;
    for (const auto& f : c.flags) {
        if (f.takes_value) {
            out.insert(out.end(), f.names.begin(), f.names.end());
        }
    }
    return out;
}

value_flags classify(const std::vector<command_info>& cmds) {
    value_flags v;
    std::set<std::string> seen;
    for (const auto& c : cmds) {
        for (const auto& f : c.flags) {
            std::vector<std::string>* bucket = nullptr;
            if (!f.takes_value) {
                continue;
            } else if (f.long_name == "format") {
                bucket = &v.format;
            } else if (f.long_name == "config-opt") {
                bucket = &v.keys;
            } else if (f.long_name == "config" || f.long_name == "state-dir") {
                bucket = &v.files;
            } else if (f.long_name == "profile" || f.long_name == "from-profile") {
                bucket = &v.profiles;
            } else {
                continue;
            }
            for (const auto& n : f.names) {
                if (seen.insert(n).second) {
                    bucket->push_back(n);
                }
            }
        }
    }
    return v;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
    std::string out;
    for (const auto& s : v) {
        out += (out.empty() ? "" : sep) + s;
    }
    return out;
}

std::string joined_quoted(const std::vector<std::string>& v, const std::string& sep) {
    std::vector<std::string> q;
    for (const auto& s : v) {
        q.push_back(sq(s));
    }
    return join(q, sep);
}

constexpr const char* formats = "text wide json yaml help";
constexpr const char* profile_lister =
    "profile list 2>/dev/null | awk 'NR>1 {sub(/\\*$/, \"\", $1); print $1}'";

std::string bash_script(const std::vector<command_info>& cmds) {
    const value_flags v = classify(cmds);
    std::string out = fmt::format(
        "# fjord completion for bash. Load it with: source <(fjord completion bash)\n"
        "_fjord_profiles() {{\n"
        "    \"${{COMP_WORDS[0]}}\" {}\n"
        "}}\n"
        "_fjord() {{\n"
        "    local cur=\"${{COMP_WORDS[COMP_CWORD]}}\" prev=\"${{COMP_WORDS[COMP_CWORD-1]}}\"\n"
        "    local path=\"fjord\" i w words=\"\"\n"
        "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
        "        w=\"${{COMP_WORDS[i]}}\"\n"
        "        case \"$path $w\" in\n"
        "            {}) path=\"$path $w\" ;;\n"
        "        esac\n"
        "    done\n"
        "    case \"$prev\" in\n",
        profile_lister, joined_quoted(sub_paths(cmds), "|"));
    const auto value_case = [&](const std::vector<std::string>& names, const std::string& body) {
        if (!names.empty()) {
            out += fmt::format("        {}) {}; return ;;\n", join(names, "|"), body);
        }
    };
    value_case(v.format, fmt::format("COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))", formats));
    value_case(v.keys, fmt::format("compopt -o nospace; COMPREPLY=($(compgen -W \"{}\" -- "
                                   "\"$cur\"))",
                                   x_keys()));
    value_case(v.files, "COMPREPLY=($(compgen -f -- \"$cur\"))");
    value_case(v.profiles, "COMPREPLY=($(compgen -W \"$(_fjord_profiles)\" -- \"$cur\"))");
    out += "    esac\n    local vals=\"\"\n    case \"$path\" in\n";
    for (const auto& c : cmds) {
        std::vector<std::string> words;
        for (const auto& [name, help] : c.subcommands) {
            words.push_back(name);
        }
        if (c.path == "fjord completion") {
            words.insert(words.end(), {"bash", "zsh", "fish"});
        }
        for (const auto& f : c.flags) {
            words.insert(words.end(), f.names.begin(), f.names.end());
        }
        out += fmt::format("        {}) words={}{}; vals={} ;;\n", sq(c.path), sq(join(words, " ")),
                           takes_profile_name(c.path) ? "\" $(_fjord_profiles)\"" : "",
                           sq(" " + join(value_names(c), " ") + " "));
    }
    out +=
        "    esac\n"
        "    # After a flag that takes a value (other than those above): no guesses.\n"
        "    if [[ \"$vals\" == *\" $prev \"* ]]; then\n"
        "        COMPREPLY=()\n"
        "        return\n"
        "    fi\n"
        "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
        "}\n"
        "complete -F _fjord fjord\n";
    return out;
}

/// "name:description" for zsh's _describe (':' in the name escaped).
std::string zsh_item(const std::string& name, const std::string& help) {
    std::string n;
    for (const char c : name) {
        if (c == ':') {
            n += '\\';
        }
        n += c;
    }
    return sq(n + ":" + help);
}

std::string zsh_script(const std::vector<command_info>& cmds) {
    const value_flags v = classify(cmds);
    std::string out = fmt::format(
        "#compdef fjord\n"
        "# fjord completion for zsh. Load it with: source <(fjord completion zsh)  (after\n"
        "# compinit), or save it as _fjord in a directory of $fpath.\n"
        "_fjord_profiles() {{\n"
        "    ${{words[1]}} {}\n"
        "}}\n"
        "_fjord() {{\n"
        "    local cmdpath=\"fjord\" i w prev\n"
        "    local -a cmds opts\n"
        "    for ((i = 2; i < CURRENT; i++)); do\n"
        "        w=${{words[i]}}\n"
        "        case \"$cmdpath $w\" in\n"
        "            ({}) cmdpath=\"$cmdpath $w\" ;;\n"
        "        esac\n"
        "    done\n"
        "    prev=${{words[CURRENT-1]}}\n"
        "    case $prev in\n",
        profile_lister, joined_quoted(sub_paths(cmds), "|"));
    const auto value_case = [&](const std::vector<std::string>& names, const std::string& body) {
        if (!names.empty()) {
            out += fmt::format("        ({}) {}; return ;;\n", join(names, "|"), body);
        }
    };
    value_case(v.format, fmt::format("compadd -- {}", formats));
    value_case(v.keys, fmt::format("compadd -S '' -- {}", x_keys()));
    value_case(v.files, "_files");
    value_case(v.profiles, "compadd -- ${(f)\"$(_fjord_profiles)\"}");
    out += "    esac\n    local vals=\"\"\n    case $cmdpath in\n";
    for (const auto& c : cmds) {
        std::vector<std::string> sub_items;
        std::vector<std::string> flag_items;
        for (const auto& [name, help] : c.subcommands) {
            sub_items.push_back(zsh_item(name, help));
        }
        if (c.path == "fjord completion") {
            for (const char* s : {"bash", "zsh", "fish"}) {
                sub_items.push_back(zsh_item(s, std::string("a script for ") + s));
            }
        }
        for (const auto& f : c.flags) {
            for (const auto& n : f.names) {
                flag_items.push_back(zsh_item(n, f.description));
            }
        }
        out += fmt::format(
            "        ({})\n            cmds=({})\n            opts=({})\n"
            "            vals={}{}\n            ;;\n",
            sq(c.path), join(sub_items, " "), join(flag_items, " "),
            sq(" " + join(value_names(c), " ") + " "),
            takes_profile_name(c.path) ? "\n            cmds+=(${(f)\"$(_fjord_profiles)\"})" : "");
    }
    out +=
        "    esac\n"
        "    if [[ \"$vals\" == *\" $prev \"* ]]; then\n"
        "        return 1\n"
        "    fi\n"
        "    if [[ $PREFIX == -* ]]; then\n"
        "        _describe -t options 'fjord flag' opts\n"
        "    elif (( ${#cmds} )); then\n"
        "        _describe -t commands 'fjord command' cmds\n"
        "    else\n"
        "        _describe -t options 'fjord flag' opts\n"
        "    fi\n"
        "}\n"
        "if [[ \"${funcstack[1]}\" == _fjord ]]; then\n"
        "    _fjord \"$@\"\n"
        "elif (( $+functions[compdef] )); then\n"
        "    compdef _fjord fjord\n"
        "else\n"
        "    print -u2 'fjord completion: run \"autoload -U compinit && compinit\" first'\n"
        "fi\n";
    return out;
}

std::string fish_script(const std::vector<command_info>& cmds) {
    std::vector<std::string> paths;
    for (const auto& p : sub_paths(cmds)) {
        paths.push_back(fish_sq(p));
    }
    std::string out = fmt::format(
        "# fjord completion for fish. Load it with: fjord completion fish | source\n"
        "function __fjord_path\n"
        "    set -l tokens (commandline -opc)\n"
        "    set -e tokens[1]\n"
        "    set -l p fjord\n"
        "    for t in $tokens\n"
        "        switch \"$p $t\"\n"
        "            case {}\n"
        "                set p \"$p $t\"\n"
        "        end\n"
        "    end\n"
        "    echo $p\n"
        "end\n"
        "function __fjord_at\n"
        "    test (__fjord_path) = \"$argv[1]\"\n"
        "end\n"
        "function __fjord_profiles\n"
        "    set -l tokens (commandline -opc)\n"
        "    $tokens[1] {}\n"
        "end\n"
        "complete -c fjord -f\n",
        join(paths, " "), profile_lister);
    const auto flag_line = [&](const flag_info& f, const std::string& cond) {
        std::string line = "complete -c fjord" + cond;
        for (const auto& n : f.names) {
            line += n.starts_with("--") ? " -l " + n.substr(2) : " -s " + n.substr(1);
        }
        if (f.takes_value) {
            if (f.long_name == "format") {
                line += fmt::format(" -x -a {}", fish_sq(formats));
            } else if (f.long_name == "config-opt") {
                line += fmt::format(" -x -a {}", fish_sq(x_keys()));
            } else if (f.long_name == "config" || f.long_name == "state-dir") {
                line += " -r -F";
            } else if (f.long_name == "profile" || f.long_name == "from-profile") {
                line += " -x -a '(__fjord_profiles)'";
            } else {
                line += " -x";
            }
        }
        return line + " -d " + fish_sq(f.description) + "\n";
    };
    // Root flags apply at every level; the others where their command is.
    const size_t root_flags = cmds.front().flags.size();
    for (const auto& f : cmds.front().flags) {
        out += flag_line(f, "");
    }
    for (const auto& c : cmds) {
        const std::string cond = fmt::format(" -n {}", fish_sq("__fjord_at '" + c.path + "'"));
        for (const auto& [name, help] : c.subcommands) {
            out += fmt::format("complete -c fjord{} -a {} -d {}\n", cond, fish_sq(name),
                               fish_sq(help));
        }
        if (c.path == "fjord completion") {
            out += fmt::format("complete -c fjord{} -a 'bash zsh fish'\n", cond);
        }
        if (takes_profile_name(c.path)) {
            out += fmt::format("complete -c fjord{} -a '(__fjord_profiles)'\n", cond);
        }
        // The command's own and inherited flags beyond the root's (which
        // apply everywhere and are registered once above).
        if (c.path != "fjord") {
            for (size_t i = root_flags; i < c.flags.size(); ++i) {
                out += flag_line(c.flags[i], cond);
            }
        }
    }
    return out;
}

}  // namespace

void register_completion_command(CLI::App& root, cli_context& ctx) {
    auto shell = std::make_shared<std::string>();
    auto* cmd = root.add_subcommand("completion", "Print a shell completion script");
    cmd->footer(
        "Load it with:\n"
        "  bash: source <(fjord completion bash)\n"
        "  zsh:  source <(fjord completion zsh)      (after compinit)\n"
        "  fish: fjord completion fish | source");
    cmd->add_option("shell", *shell, "bash, zsh or fish")
        ->required()
        ->check(CLI::IsMember({"bash", "zsh", "fish"}));
    const CLI::App* root_ptr = &root;
    cmd->callback([&ctx, shell, root_ptr] {
        if (!ctx.prepare_output()) {
            return;
        }
        if (ctx.format() == output_format::help) {
            std::cout << "a shell script (text only)\n";
            return;
        }
        if (ctx.format() != output_format::text) {
            ctx.fail(exit_code::usage,
                     "--format: completion prints a shell script; only text "
                     "(the default) applies");
            return;
        }
        std::vector<command_info> cmds;
        walk(root_ptr, "fjord", {}, cmds);
        if (*shell == "bash") {
            std::cout << bash_script(cmds);
        } else if (*shell == "zsh") {
            std::cout << zsh_script(cmds);
        } else {
            std::cout << fish_script(cmds);
        }
    });
}

}  // namespace fjord::cli
