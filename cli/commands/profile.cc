// File: cli/commands/profile.cc
//
// fjord profile create|use|list|delete|current|set|print: named settings in
// the profile file (cli/profile.h), with rpk's semantics (rpk-reference §8):
// `create` switches to the new profile; `set` changes the profile in effect.
// The profile "in effect" is --profile, else FJORD_PROFILE, else the file's
// current_profile; `current` and `list` report that one.
//
// Exit codes: 2 for a bad profile name, a malformed key=value, an unknown
// key or a bad value (nothing is written); 1 when the request cannot be
// done (no such profile, it already exists, the file cannot be written).
// These commands never read the settings, so a broken profile can be
// repaired with them even when other commands refuse to start.

#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.h"
#include "cli/context.h"
#include "cli/profile.h"

namespace fjord::cli {
namespace {

using json = nlohmann::json;

/// The profile's settings for output; `pass` is never printed.
json settings_json(const profile& p) {
    json out = json::object();
    for (const auto& [k, v] : p.values) {
        out[k] = k == "pass" ? std::string("(set)") : v;
    }
    return out;
}

/// The profile in effect: --profile, FJORD_PROFILE, then the file's current.
std::pair<std::string, std::string> in_effect(const cli_context& ctx, const profile_file& f) {
    if (!ctx.profile_flag.empty()) {
        return {ctx.profile_flag, "--profile"};
    }
    if (auto it = ctx.env().find("FJORD_PROFILE"); it != ctx.env().end() && !it->second.empty()) {
        return {it->second, "FJORD_PROFILE"};
    }
    if (!f.current.empty()) {
        return {f.current, "current_profile"};
    }
    return {"", ""};
}

/// Parses and validates every key=value before anything is written.
bool parse_sets(cli_context& ctx, const std::vector<std::string>& pairs, const char* flag,
                std::vector<std::pair<std::string, std::string>>& out) {
    for (const auto& text : pairs) {
        auto kv = split_key_value(text, flag);
        if (!kv) {
            ctx.fail(exit_code::usage, kv.error().detail);
            return false;
        }
        profile scratch;
        if (auto r = set_profile_value(scratch, kv->first, kv->second, flag); !r) {
            ctx.fail(exit_code::usage, r.error().detail);
            return false;
        }
        out.push_back(*kv);
    }
    return true;
}

/// Loads the file for a read-only command; false after reporting an error.
bool load(cli_context& ctx, std::string& path, profile_file& out) {
    if (!ctx.prepare_output() || !ctx.profile_path(path)) {
        return false;
    }
    auto f = load_profile_file(path);
    if (!f) {
        ctx.fail(exit_code::usage, f.error().detail);
        return false;
    }
    out = std::move(*f);
    return true;
}

/// Runs a locked read-modify-write; `change` sets `code` for its own errors
/// (default: failed).
bool update(cli_context& ctx, const std::string& path,
            const std::function<result<void>(profile_file&, exit_code&)>& change,
            profile_file& out) {
    exit_code code = exit_code::failed;
    auto f = update_profile_file(path, [&](profile_file& pf) { return change(pf, code); });
    if (!f) {
        ctx.fail(code, f.error().detail);
        return false;
    }
    out = std::move(*f);
    return true;
}

error_info not_found(const profile_file& f, std::string_view name) {
    return error_info(
        std::make_error_code(std::errc::no_such_file_or_directory),
        fmt::format("profile \"{}\" not found in {} (profiles: {})", name, f.path, f.names()));
}

void print_message(cli_context& ctx, const json& doc, const std::string& text) {
    print_output(std::cout, ctx.format(), doc, [&](bool) { return text + "\n"; });
}

void warn_if_overridden(const cli_context& ctx, const profile_file& f) {
    const auto [name, source] = in_effect(ctx, f);
    if (source == "FJORD_PROFILE" && name != f.current) {
        std::cerr << fmt::format(
            "fjord: note: FJORD_PROFILE={} is set, so this shell keeps using profile \"{}\"\n",
            name, name);
    }
}

// ------------------------------------------------------------ create

struct create_options {
    std::string name;
    std::vector<std::string> sets;
    std::string from_profile;
    std::string description;
};

void run_create(cli_context& ctx, const create_options& o) {
    std::string path;
    if (!ctx.prepare_output() ||
        ctx.print_schema("{\"name\": string, \"current\": true, \"file\": path, \"settings\": "
                         "{key: string}}") ||
        !ctx.profile_path(path)) {
        return;
    }
    if (auto r = validate_profile_name(o.name); !r) {
        ctx.fail(exit_code::usage, r.error().detail);
        return;
    }
    std::vector<std::pair<std::string, std::string>> sets;
    if (!parse_sets(ctx, o.sets, "--set", sets)) {
        return;
    }
    profile_file f;
    const bool done = update(
        ctx, path,
        [&](profile_file& pf, exit_code& code) -> result<void> {
            if (pf.find(o.name) != nullptr) {
                return error_info(
                    std::make_error_code(std::errc::file_exists),
                    fmt::format("profile \"{}\" already exists in {}", o.name, pf.path));
            }
            profile p;
            if (!o.from_profile.empty()) {
                const std::string from =
                    o.from_profile == "current" ? in_effect(ctx, pf).first : o.from_profile;
                if (from.empty()) {
                    return error_info(std::make_error_code(std::errc::invalid_argument),
                                      "--from-profile current: no profile is in effect");
                }
                const profile* src = pf.find(from);
                if (src == nullptr) {
                    return not_found(pf, from);
                }
                // The settings are copied; the description describes the original.
                p.values = src->values;
            }
            p.name = o.name;
            p.description = o.description;
            for (const auto& [k, v] : sets) {
                if (auto r = set_profile_value(p, k, v, "--set"); !r) {
                    code = exit_code::usage;
                    return r;
                }
            }
            pf.profiles.push_back(std::move(p));
            pf.current = o.name;
            return ok();
        },
        f);
    if (!done) {
        return;
    }
    print_message(ctx,
                  {{"name", o.name},
                   {"current", true},
                   {"file", f.path},
                   {"settings", settings_json(*f.find(o.name))}},
                  fmt::format("Created and switched to profile \"{}\" ({}).", o.name, f.path));
    warn_if_overridden(ctx, f);
}

// ------------------------------------------------------------ use, delete

void run_use(cli_context& ctx, const std::string& name) {
    std::string path;
    if (!ctx.prepare_output() ||
        ctx.print_schema("{\"current_profile\": string, \"file\": path}") ||
        !ctx.profile_path(path)) {
        return;
    }
    profile_file f;
    if (!update(
            ctx, path,
            [&](profile_file& pf, exit_code&) -> result<void> {
                if (pf.find(name) == nullptr) {
                    return not_found(pf, name);
                }
                pf.current = name;
                return ok();
            },
            f)) {
        return;
    }
    print_message(ctx, {{"current_profile", name}, {"file", f.path}},
                  fmt::format("Switched to profile \"{}\".", name));
    warn_if_overridden(ctx, f);
}

void run_delete(cli_context& ctx, const std::string& name) {
    std::string path;
    if (!ctx.prepare_output() || ctx.print_schema("{\"deleted\": string, \"was_current\": bool}") ||
        !ctx.profile_path(path)) {
        return;
    }
    bool was_current = false;
    profile_file f;
    if (!update(
            ctx, path,
            [&](profile_file& pf, exit_code&) -> result<void> {
                if (pf.find(name) == nullptr) {
                    return not_found(pf, name);
                }
                std::erase_if(pf.profiles, [&](const profile& p) { return p.name == name; });
                was_current = pf.current == name;
                if (was_current) {
                    pf.current.clear();
                }
                return ok();
            },
            f)) {
        return;
    }
    print_message(
        ctx, {{"deleted", name}, {"was_current", was_current}},
        fmt::format("Deleted profile \"{}\".{}", name,
                    was_current ? " It was the current profile; none is current now." : ""));
}

// ------------------------------------------------------------ list, current, print

void run_list(cli_context& ctx) {
    if (ctx.format_flag == "help") {
        std::cout << "[{\"name\": string, \"description\": string, \"current\": bool}]\n";
        return;
    }
    std::string path;
    profile_file f;
    if (!load(ctx, path, f)) {
        return;
    }
    const std::string current = in_effect(ctx, f).first;
    json doc = json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : f.profiles) {
        doc.push_back(
            {{"name", p.name}, {"description", p.description}, {"current", p.name == current}});
        rows.push_back({p.name + (p.name == current ? "*" : ""), p.description});
    }
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        return render_table({"name", "description"}, rows);
    });
}

void run_current(cli_context& ctx) {
    if (ctx.format_flag == "help") {
        std::cout << "{\"name\": string|null, \"source\": \"--profile\"|\"FJORD_PROFILE\"|"
                     "\"current_profile\"|null, \"file\": string}\n";
        return;
    }
    std::string path;
    profile_file f;
    if (!load(ctx, path, f)) {
        return;
    }
    const auto [name, source] = in_effect(ctx, f);
    json doc = {{"name", name.empty() ? json(nullptr) : json(name)},
                {"source", source.empty() ? json(nullptr) : json(source)},
                {"file", f.path}};
    // Text: just the name (nothing when none), for $(fjord profile current).
    print_output(std::cout, ctx.format(), doc,
                 [&](bool) { return name.empty() ? std::string() : name + "\n"; });
}

void run_print(cli_context& ctx, const std::string& requested) {
    if (ctx.format_flag == "help") {
        std::cout << "{\"name\": string, \"description\": string, \"current\": bool, "
                     "\"settings\": {key: string}}\n";
        return;
    }
    std::string path;
    profile_file f;
    if (!load(ctx, path, f)) {
        return;
    }
    const std::string current = in_effect(ctx, f).first;
    const std::string name = requested.empty() ? current : requested;
    if (name.empty()) {
        ctx.fail(exit_code::failed, "no profile in effect; name one: fjord profile print NAME");
        return;
    }
    const profile* p = f.find(name);
    if (p == nullptr) {
        ctx.fail(exit_code::failed, not_found(f, name).detail);
        return;
    }
    const json doc = {{"name", p->name},
                      {"description", p->description},
                      {"current", p->name == current},
                      {"settings", settings_json(*p)}};
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        std::string out = fmt::format("name: {}\n", p->name);
        if (!p->description.empty()) {
            out += fmt::format("description: {}\n", p->description);
        }
        out += "settings:\n";
        for (const auto& [k, v] : doc["settings"].items()) {
            out += fmt::format("  {}: {}\n", k, v.get<std::string>());
        }
        return out;
    });
}

// ------------------------------------------------------------ set

void run_set(cli_context& ctx, const std::vector<std::string>& pairs) {
    std::string path;
    if (!ctx.prepare_output() ||
        ctx.print_schema("{\"name\": string, \"settings\": {key: string}}") ||
        !ctx.profile_path(path)) {
        return;
    }
    std::vector<std::pair<std::string, std::string>> sets;
    if (!parse_sets(ctx, pairs, "profile set", sets)) {
        return;
    }
    std::string name;
    profile_file f;
    if (!update(
            ctx, path,
            [&](profile_file& pf, exit_code& code) -> result<void> {
                name = in_effect(ctx, pf).first;
                if (name.empty()) {
                    return error_info(
                        std::make_error_code(std::errc::invalid_argument),
                        fmt::format("no profile in effect in {}: create one (fjord profile create "
                                    "NAME) or select one (fjord profile use NAME)",
                                    pf.path));
                }
                profile* p = pf.find(name);
                if (p == nullptr) {
                    return not_found(pf, name);
                }
                for (const auto& [k, v] : sets) {
                    if (auto r = set_profile_value(*p, k, v, "profile set"); !r) {
                        code = exit_code::usage;
                        return r;
                    }
                }
                return ok();
            },
            f)) {
        return;
    }
    std::string keys;
    for (const auto& [k, v] : sets) {
        keys += fmt::format("{}{}{}", keys.empty() ? "" : ", ", k, v.empty() ? " (unset)" : "");
    }
    print_message(ctx, {{"name", name}, {"settings", settings_json(*f.find(name))}},
                  fmt::format("Profile \"{}\": set {}.", name, keys));
}

}  // namespace

void register_profile_commands(CLI::App& root, cli_context& ctx) {
    auto* prof = root.add_subcommand("profile", "Manage profiles: named sets of -X settings");
    prof->require_subcommand(1);
    prof->footer(
        "Profiles live in $XDG_CONFIG_HOME/fjord/fjord.yaml (default ~/.config/fjord/fjord.yaml;\n"
        "--config FILE or FJORD_CONFIG for another file). The profile in effect is --profile\n"
        "NAME, else FJORD_PROFILE, else the file's current profile. Its settings sit below\n"
        "FJORD_* variables and -X in precedence.");

    auto co = std::make_shared<create_options>();
    auto* create = prof->add_subcommand("create", "Create a profile and switch to it");
    create->add_option("name", co->name, "Profile name")->required();
    create->add_option("-s,--set", co->sets, "key=value setting (repeatable; -X keys)");
    create->add_option("--from-profile", co->from_profile,
                       "Start from a copy of this profile (\"current\": the one in effect)");
    create->add_option("-d,--description", co->description, "What the profile is for");
    create->callback([&ctx, co] { run_create(ctx, *co); });

    auto use_name = std::make_shared<std::string>();
    auto* use = prof->add_subcommand("use", "Make a profile the current one");
    use->add_option("name", *use_name, "Profile name")->required();
    use->callback([&ctx, use_name] { run_use(ctx, *use_name); });

    auto* list = prof->add_subcommand("list", "List profiles (the one in effect marked *)");
    list->alias("ls");
    list->callback([&ctx] { run_list(ctx); });

    auto del_name = std::make_shared<std::string>();
    auto* del = prof->add_subcommand("delete", "Delete a profile");
    del->alias("rm");
    del->add_option("name", *del_name, "Profile name")->required();
    del->callback([&ctx, del_name] { run_delete(ctx, *del_name); });

    auto* current = prof->add_subcommand(
        "current", "Print the name of the profile in effect (nothing if none)");
    current->callback([&ctx] { run_current(ctx); });

    auto pairs = std::make_shared<std::vector<std::string>>();
    auto* set = prof->add_subcommand(
        "set", "Set keys of the profile in effect (key= with no value removes the key)");
    set->add_option("pairs", *pairs, "key=value (-X keys; -X help lists them)")->required();
    set->callback([&ctx, pairs] { run_set(ctx, *pairs); });

    auto print_name = std::make_shared<std::string>();
    auto* print = prof->add_subcommand("print", "Print a profile (default: the one in effect)");
    print->add_option("name", *print_name, "Profile name");
    print->callback([&ctx, print_name] { run_print(ctx, *print_name); });
}

}  // namespace fjord::cli
