// File: cli/commands/shadow.cc
//
// fjord shadow: rpk's shadow link commands (rpk-reference §4) over the
// controller's Shadow RPCs (controller_service.proto; docs/shadow-links.md).
// Run them against the SHADOW cluster: it pulls from the source.
//   config generate [--print-template] [-o FILE]   a sample (or commented) link file
//   create -c FILE                     parse, check (shadow_link.h), create; the
//                                      controller's preflight reaches the source
//   list                               NAME UID STATE
//   describe LINK [-o -c -t -r -s -a]  the link's config, sections by flag
//   status LINK [-o -k -t -a]          tasks, per-partition lag, synced properties
//   update LINK [-c FILE]              from a file, or $EDITOR on the current config
//   failover LINK --topic T | --all    asynchronous; irreversible
//   delete LINK [--force]              --force fails every topic over first
// The file's format and its refusals: cli/shadow/config_yaml.h; what list,
// describe and status print: cli/shadow/printers.h. Errors read as rpk's
// (errors.go): an unknown link says how to list them, a refusal that a
// superuser is needed. Exit codes (cli/exit_codes.h): 0 done, nothing to do
// ("No changes detected") or a declined prompt; 1 the file or the request
// was refused; 2 usage, including a prompt with no terminal to ask on.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.h"
#include "cli/confirm.h"
#include "cli/context.h"
#include "cli/shadow/config_yaml.h"
#include "cli/shadow/printers.h"
#include "cli/yaml/read.h"
#include "common/cluster/shadow_link.h"

namespace fjord::cli {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
namespace rules = cluster::shadow;
namespace sh = cli::shadow;

struct shadow_options {
    std::string link;
    std::string file;  // create -c, update -c, config generate -o
    bool no_confirm = false;
    bool print_template = false;
    bool force = false;
    bool all = false;
    std::string topic;
    sh::describe_sections describe;
    bool describe_all = false;
    sh::status_sections status;
    bool status_all = false;
};

// ------------------------------------------------------------- the calls

std::string not_found(std::string_view name) {
    return fmt::format(
        "shadow link \"{}\" not found; to get all active shadow links run 'fjord shadow list'",
        name);
}

/// A call that failed as a whole, in rpk's words (errors.go): `op` is the
/// verb of "you don't have access to <op> shadow links".
void fail_call(cli_context& ctx, const error_info& e, std::string_view op, std::string_view name) {
    if (e.code == std::errc::no_such_file_or_directory && !name.empty()) {
        ctx.fail(exit_code::failed, not_found(name));
    } else if (e.code == std::errc::operation_not_permitted) {
        ctx.fail(exit_code::failed,
                 fmt::format("permission denied: you don't have access to {} shadow links "
                             "(superuser role required): {}",
                             op, e.detail));
    } else {
        ctx.fail(exit_code::failed, e.detail);
    }
}

/// The response of a call about link `name`: false (after failing the
/// command) when the call or its item failed.
template <typename Resp>
bool answered(cli_context& ctx, const result<Resp>& r, std::string_view op, std::string_view name) {
    if (!r) {
        fail_call(ctx, r.error(), op, name);
        return false;
    }
    if constexpr (requires { r->result(); }) {
        const v1::ItemResult& item = r->result();
        switch (item.code()) {
            case v1::OK:
                return true;
            case v1::UNKNOWN_SHADOW_LINK:
                ctx.fail(exit_code::failed, not_found(name));
                return false;
            case v1::SHADOW_LINK_HAS_ACTIVE_TOPICS:
                ctx.fail(exit_code::failed,
                         fmt::format("{}; fail them over first (fjord shadow failover {} --all), "
                                     "or delete with --force, which fails every topic over",
                                     item.message(), name));
                return false;
            default:
                ctx.fail(exit_code::failed,
                         item.message().empty() ? v1::ErrorCode_Name(item.code()) : item.message());
                return false;
        }
    }
    return true;
}

/// A link file parsed and checked (create: every password present; update:
/// a password may be left out or <redacted> to keep the stored one).
result<v1::ShadowLink> load_link(const std::string& text, bool for_update) {
    auto l = sh::parse_link_yaml(text);
    if (!l) {
        return l.error();
    }
    if (auto v = rules::validate_link(*l, for_update); !v) {
        return v.error();
    }
    return l;
}

// ------------------------------------------------------- config generate

void run_generate(cli_context& ctx, const shadow_options& o) {
    if (ctx.print_schema("YAML: a shadow link's config file (docs/shadow-links.md)")) {
        return;
    }
    const std::string text = o.print_template ? sh::config_template() : sh::sample_config();
    if (o.file.empty()) {
        std::cout << text;
        return;
    }
    std::error_code ec;
    if (fs::exists(o.file, ec) && !o.no_confirm) {
        const answer a = confirm(ctx, fmt::format("File \"{}\" exists. Overwrite it?", o.file),
                                 fmt::format("overwrite {}", o.file));
        if (a == answer::cannot_ask) {
            return;
        }
        if (a == answer::no) {
            std::cout << "Nothing written.\n";
            return;
        }
    }
    std::ofstream out(o.file, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
        ctx.fail(exit_code::failed,
                 fmt::format("cannot write {}: {}", o.file, std::strerror(errno)));
        return;
    }
    std::cout << fmt::format("Wrote {}. Edit it, then: fjord shadow create -c {}\n", o.file,
                             o.file);
}

// ---------------------------------------------------------------- create

void run_create(cli_context& ctx, const shadow_options& o) {
    if (ctx.print_schema("{\"name\": string, \"uid\": string}")) {
        return;
    }
    auto text = yaml::read_input(o.file);
    if (!text) {
        ctx.fail(exit_code::failed, text.error().detail);
        return;
    }
    auto link = load_link(*text, false);
    if (!link) {
        ctx.fail(exit_code::failed, fmt::format("{}: {}", o.file, link.error().detail));
        return;
    }
    if (!o.no_confirm) {
        if (::isatty(STDIN_FILENO) != 0) {
            std::cerr << fmt::format(
                "Shadow link \"{}\" from {}\n", link->name(),
                fmt::join(link->config().client_options().bootstrap_servers(), ", "));
        }
        const answer a = confirm(ctx, "Do you want to create this shadow link?",
                                 fmt::format("create shadow link \"{}\"", link->name()));
        if (a == answer::cannot_ask) {
            return;
        }
        if (a == answer::no) {
            std::cout << "Shadow Link creation cancelled\n";
            return;
        }
    }
    v1::CreateShadowLinkRequest req;
    *req.mutable_link() = *link;
    auto r = ctx.call(&ctl::create_shadow_link, std::move(req));
    if (!answered(ctx, r, "create", link->name())) {
        return;
    }
    print_output(std::cout, ctx.format(), {{"name", r->link().name()}, {"uid", r->link().uuid()}},
                 [&](bool) {
                     return fmt::format(
                         "Successfully created shadow link \"{}\" with ID \"{}\". To query the "
                         "status, run: 'fjord shadow status {}'\n",
                         r->link().name(), r->link().uuid(), r->link().name());
                 });
}

// ------------------------------------------------------------------ list

void run_list(cli_context& ctx, const shadow_options&) {
    if (ctx.print_schema(
            "[{\"name\": string, \"UID\": string, \"state\": \"ACTIVE\"|\"PAUSED\"}]")) {
        return;
    }
    auto r = ctx.call(&ctl::list_shadow_links, v1::ListShadowLinksRequest{});
    if (!answered(ctx, r, "list", "")) {
        return;
    }
    const std::vector<v1::ShadowLink> links(r->links().begin(), r->links().end());
    print_output(std::cout, ctx.format(), sh::list_doc(links),
                 [&](bool) { return sh::list_text(links); });
}

// -------------------------------------------------------------- describe

result<v1::ShadowLink> fetch_link(cli_context& ctx, const std::string& name, std::string_view op) {
    v1::GetShadowLinkRequest req;
    req.set_name(name);
    auto r = ctx.call(&ctl::get_shadow_link, std::move(req));
    if (!answered(ctx, r, op, name)) {
        return error_info(std::make_error_code(std::errc::no_such_file_or_directory));
    }
    return r->link();
}

void run_describe(cli_context& ctx, const shadow_options& o) {
    if (ctx.print_schema(
            "{\"name\": string, \"uid\": string, \"state\": string, \"client_options\": {...}, "
            "\"topic_metadata_sync_options\": {...}, \"consumer_offset_sync_options\": {...}, "
            "\"security_sync_options\": {...}} (the config file's fields; passwords as "
            "password_set, password_set_at)")) {
        return;
    }
    auto link = fetch_link(ctx, o.link, "describe");
    if (!link) {
        return;
    }
    sh::describe_sections s = o.describe;
    if (o.describe_all) {
        s = {true, true, true, true, true};
    }
    s.defaults_if_none();
    print_output(std::cout, ctx.format(), sh::describe_doc(*link),
                 [&](bool) { return sh::describe_text(*link, s); });
}

// ---------------------------------------------------------------- status

void run_status(cli_context& ctx, const shadow_options& o) {
    if (ctx.print_schema(
            "{\"overview\": {\"name\": string, \"id\": string, \"state\": string}, \"tasks\": "
            "[{\"name\": string, \"broker_id\": int, \"shard\": int, \"state\": "
            "\"ACTIVE\"|\"PAUSED\"|\"LINK_UNAVAILABLE\"|\"NOT_RUNNING\"|\"FAULTED\", \"reason\": "
            "string}], \"topics\": [{\"name\": string, \"id\": string, \"state\": string, "
            "\"reason\": string, \"partitions\": [{\"partition_id\": int, \"src_lso\": int, "
            "\"src_hwm\": int, \"dst_hwm\": int, \"lag\": int}]}], "
            "\"synced_shadow_topic_properties\": [string]} (-1: not known yet)")) {
        return;
    }
    v1::GetShadowLinkStatusRequest req;
    req.set_name(o.link);
    auto r = ctx.call(&ctl::get_shadow_link_status, std::move(req));
    if (!answered(ctx, r, "get the status of", o.link)) {
        return;
    }
    sh::status_sections s = o.status;
    if (o.status_all) {
        s = {true, true, true};
    }
    s.defaults_if_none();
    print_output(std::cout, ctx.format(), sh::status_doc(*r),
                 [&](bool) { return sh::status_text(*r, s); });
}

// ---------------------------------------------------------------- update

/// Runs $EDITOR (else vi) on `path`, as a shell would (EDITOR may carry
/// arguments: "code -w").
result<void> run_editor(const std::string& editor, const std::string& path) {
    std::string quoted = "'";
    for (const char ch : path) {
        quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    }
    quoted += "'";
    const int status = std::system(fmt::format("{} {}", editor, quoted).c_str());
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return error_info(std::make_error_code(std::errc::io_error),
                          fmt::format("the editor ({}) failed (status {}); nothing was changed",
                                      editor, status == -1 ? -1 : WEXITSTATUS(status)));
    }
    return ok();
}

/// The edited text: the current config (passwords <redacted>) in a private
/// temporary file, through the editor, read back.
result<std::string> edit_link(cli_context& ctx, const v1::ShadowLink& current) {
    const std::string editor = [&] {
        auto it = ctx.env().find("EDITOR");
        return it == ctx.env().end() || it->second.empty() ? std::string("vi") : it->second;
    }();
    const bool editor_set = editor != "vi" || ctx.env().contains("EDITOR");
    if (!editor_set && ::isatty(STDIN_FILENO) == 0) {
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          "update needs a terminal for the editor, or -c FILE (or EDITOR set "
                          "to a program that edits the file it is given)");
    }
    auto tmp_dir = ctx.env().contains("TMPDIR") ? ctx.env().at("TMPDIR") : std::string("/tmp");
    std::string path = fmt::format("{}/fjord-shadow-{}-XXXXXX.yaml", tmp_dir, current.name());
    const int fd = ::mkstemps(path.data(), 5);  // mode 0600
    if (fd < 0) {
        return error_info(
            std::make_error_code(std::errc::io_error),
            fmt::format("cannot create a temporary file in {}: {}", tmp_dir, std::strerror(errno)));
    }
    const std::string before =
        fmt::format(
            "# Shadow link \"{}\": edit, save and quit to update it; the name cannot "
            "change.\n# A password left as {} keeps the stored one.\n",
            current.name(), sh::redacted_marker) +
        sh::render_link_yaml(current, {.mark_redacted = true});
    const bool written =
        ::write(fd, before.data(), before.size()) == static_cast<ssize_t>(before.size());
    ::close(fd);
    struct remover {
        std::string p;
        ~remover() { ::unlink(p.c_str()); }
    } cleanup{path};
    if (!written) {
        return error_info(std::make_error_code(std::errc::io_error),
                          fmt::format("cannot write {}", path));
    }
    if (auto e = run_editor(editor, path); !e) {
        return e.error();
    }
    return yaml::read_input(path);
}

void run_update(cli_context& ctx, const shadow_options& o) {
    if (ctx.print_schema("{\"name\": string, \"uid\": string, \"changed\": [string]}")) {
        return;
    }
    auto current = fetch_link(ctx, o.link, "update");
    if (!current) {
        return;
    }
    auto text = o.file.empty() ? edit_link(ctx, *current) : yaml::read_input(o.file);
    if (!text) {
        ctx.fail(exit_code::failed, text.error().detail);
        return;
    }
    const std::string source = o.file.empty() ? std::string("the edited config") : o.file;
    auto parsed = sh::parse_link_yaml(*text);
    if (!parsed) {
        ctx.fail(exit_code::failed, fmt::format("{}: {}", source, parsed.error().detail));
        return;
    }
    if (parsed->name() != current->name()) {
        ctx.fail(exit_code::failed,
                 fmt::format("shadow link name cannot be changed (\"{}\" -> \"{}\"); to rename a "
                             "link, delete it and create it again",
                             current->name(), parsed->name()));
        return;
    }
    sh::keep_stored_secrets(*current, *parsed);
    if (auto v = rules::validate_link(*parsed, true); !v) {
        ctx.fail(exit_code::failed, fmt::format("{}: {}", source, v.error().detail));
        return;
    }
    const std::vector<std::string> mask = sh::changed_paths(*current, *parsed);
    if (mask.empty()) {
        print_output(
            std::cout, ctx.format(),
            {{"name", current->name()}, {"uid", current->uuid()}, {"changed", json::array()}},
            [](bool) { return std::string("No changes detected\n"); });
        return;
    }
    v1::UpdateShadowLinkRequest req;
    *req.mutable_link() = *parsed;
    req.mutable_link()->set_uuid(current->uuid());  // refused if recreated meanwhile
    for (const auto& p : mask) {
        req.add_update_mask(p);
    }
    auto r = ctx.call(&ctl::update_shadow_link, std::move(req));
    if (!answered(ctx, r, "update", o.link)) {
        return;
    }
    print_output(std::cout, ctx.format(),
                 {{"name", current->name()}, {"uid", current->uuid()}, {"changed", mask}},
                 [&](bool) {
                     return fmt::format("Successfully updated shadow link \"{}\" ({}).\n",
                                        current->name(), fmt::join(mask, ", "));
                 });
}

// -------------------------------------------------------------- failover

void run_failover(cli_context& ctx, const shadow_options& o) {
    if (ctx.print_schema("{\"name\": string, \"topic\": string|null, \"initiated\": bool}")) {
        return;
    }
    if (o.all == !o.topic.empty()) {
        ctx.fail(exit_code::usage, o.all ? "--all and --topic are mutually exclusive"
                                         : "either --all or --topic must be provided");
        return;
    }
    if (!o.no_confirm) {
        auto link = fetch_link(ctx, o.link, "fail over");
        if (!link) {
            return;
        }
        if (::isatty(STDIN_FILENO) != 0) {
            std::cerr << sh::describe_text(*link, {.overview = true}) << "\n";
        }
        const std::string what =
            o.all ? fmt::format("every topic of shadow link \"{}\"", o.link)
                  : fmt::format("topic \"{}\" of shadow link \"{}\"", o.topic, o.link);
        const answer a = confirm(ctx,
                                 fmt::format("Fail over {}? It becomes writable here and stops "
                                             "replicating, for good.",
                                             what),
                                 "fail over " + what);
        if (a == answer::cannot_ask) {
            return;
        }
        if (a == answer::no) {
            std::cout << "Fail over cancelled.\n";
            return;
        }
    }
    v1::FailOverShadowLinkRequest req;
    req.set_name(o.link);
    req.set_topic(o.topic);
    auto r = ctx.call(&ctl::fail_over_shadow_link, std::move(req));
    if (!answered(ctx, r, "fail over", o.link)) {
        return;
    }
    print_output(std::cout, ctx.format(),
                 {{"name", o.link},
                  {"topic", o.topic.empty() ? json(nullptr) : json(o.topic)},
                  {"initiated", true}},
                 [&](bool) {
                     return fmt::format(
                         "Successfully initiated the Fail Over for Shadow Link \"{}\". To check "
                         "the status, run: fjord shadow status {}\n",
                         o.link, o.link);
                 });
}

// ---------------------------------------------------------------- delete

void run_delete(cli_context& ctx, const shadow_options& o) {
    if (ctx.print_schema("{\"name\": string, \"deleted\": bool}")) {
        return;
    }
    if (!o.no_confirm && !o.force) {
        const answer a = confirm(ctx, fmt::format("Delete shadow link \"{}\"?", o.link),
                                 fmt::format("delete shadow link \"{}\"", o.link));
        if (a == answer::cannot_ask) {
            return;
        }
        if (a == answer::no) {
            std::cout << "Deletion canceled.\n";
            return;
        }
    }
    v1::DeleteShadowLinkRequest req;
    req.set_name(o.link);
    req.set_force(o.force);
    auto r = ctx.call(&ctl::delete_shadow_link, std::move(req));
    if (!answered(ctx, r, "delete", o.link)) {
        return;
    }
    print_output(std::cout, ctx.format(), {{"name", o.link}, {"deleted", true}}, [&](bool) {
        return fmt::format("Successfully deleted shadow link \"{}\"{}.\n", o.link,
                           o.force ? " (its topics were failed over)" : "");
    });
}

}  // namespace

void register_shadow_commands(CLI::App& root, cli_context& ctx) {
    auto* shadow = root.add_subcommand(
        "shadow",
        "Shadow links: replicate topics, consumer offsets and ACLs from a source cluster into "
        "this one, at the same offsets, for disaster recovery (run against the shadow cluster)");
    shadow->require_subcommand(1);
    auto o = std::make_shared<shadow_options>();
    const auto run = [&ctx, o](void (*fn)(cli_context&, const shadow_options&)) {
        return [&ctx, o, fn] {
            if (ctx.prepare()) {
                fn(ctx, *o);
            }
        };
    };
    const auto link_arg = [o](CLI::App* cmd) {
        cmd->add_option("link", o->link, "The shadow link's name")->required();
    };

    auto* config = shadow->add_subcommand("config", "Shadow link config files");
    config->require_subcommand(1);
    auto* generate = config->add_subcommand(
        "generate",
        "Print a sample shadow link config (or, with --print-template, every field "
        "explained)");
    generate->add_option("-o,--output", o->file, "Write to this file instead of stdout");
    generate->add_flag("--print-template", o->print_template,
                       "Every field, commented with its meaning and default");
    generate->add_flag("--no-confirm", o->no_confirm, "Overwrite an existing file without asking");
    generate->callback([&ctx, o] {
        if (ctx.prepare_output()) {
            run_generate(ctx, *o);
        }
    });

    auto* create = shadow->add_subcommand(
        "create", "Create a shadow link from a config file (the source must be reachable)");
    create->add_option("-c,--config-file", o->file, "The link's YAML config ('-': stdin)")
        ->required();
    create->add_flag("--no-confirm", o->no_confirm, "Do not ask before creating");
    create->callback(run(run_create));

    auto* list = shadow->add_subcommand("list", "The shadow links of this cluster");
    list->callback(run(run_list));

    auto* describe = shadow->add_subcommand("describe", "A shadow link's configuration");
    link_arg(describe);
    describe->add_flag("-o,--print-overview", o->describe.overview, "Name, UID, state");
    describe->add_flag("-c,--print-client", o->describe.client,
                       "How the brokers reach the source: servers, TLS, SASL, tunables");
    describe->add_flag("-t,--print-topic", o->describe.topic, "Topic metadata sync options");
    describe->add_flag("-r,--print-consumer", o->describe.consumer, "Consumer offset sync options");
    describe->add_flag("-s,--print-security", o->describe.security, "ACL sync options");
    describe->add_flag("-a,--print-all", o->describe_all, "Every section");
    describe->callback(run(run_describe));

    auto* status = shadow->add_subcommand(
        "status", "A shadow link's tasks, per-partition lag and synced topic properties");
    link_arg(status);
    status->add_flag("-o,--print-overview", o->status.overview, "Name, UID, state");
    status->add_flag("-k,--print-task", o->status.tasks, "The link's tasks and their states");
    status->add_flag("-t,--print-topic", o->status.topics,
                     "Each shadow topic: state, and per partition the source's LSO and HWM, "
                     "this cluster's HWM and the lag");
    status->add_flag("-a,--print-all", o->status_all, "Every section (the default)");
    status->callback(run(run_status));

    auto* update = shadow->add_subcommand(
        "update", "Change a shadow link's config: from -c FILE, or in $EDITOR");
    link_arg(update);
    update->add_option("-c,--config-file", o->file,
                       "The new config ('-': stdin); without it $EDITOR opens the current one");
    update->callback(run(run_update));

    auto* failover = shadow->add_subcommand(
        "failover", "Make shadow topics writable here and stop replicating them (irreversible)");
    link_arg(failover);
    failover->add_flag("--all", o->all, "Every shadow topic of the link");
    failover->add_option("--topic", o->topic, "One shadow topic");
    failover->add_flag("--no-confirm", o->no_confirm, "Do not ask first");
    failover->callback(run(run_failover));

    auto* del = shadow->add_subcommand("delete", "Delete a shadow link (its topics stay)");
    link_arg(del);
    del->add_flag("-f,--force", o->force,
                  "Delete even with active shadow topics, failing them all over (no prompt)");
    del->add_flag("--no-confirm", o->no_confirm, "Do not ask first");
    del->callback(run(run_delete));
}

}  // namespace fjord::cli
