// File: cli/commands/storage.cc
//
// fjord cluster storage: rpk's mountable-topic commands (rpk-reference §5)
// over the controller's migration API (docs/tiered-storage.md):
//   mount TOPIC [--to NAME] [--wait]      a topic unmounted into the object store
//   unmount TOPIC [--wait]                hibernate a topic: its data stays mountable
//   list-mountable                        TOPIC NAMESPACE LOCATION
//   list-mount (list-unmount) [-f STATE]  ID STATE MIGRATION TOPICS
//   status-mount ID (status-unmount)      one migration, with why it waits
//   cancel-mount ID (cancel-unmount)      preparing..executed -> canceling -> cancelled
//   delete-mount ID (delete-unmount)      forget a planned, finished or cancelled one
// TOPIC is [kafka/]name, or a location (<name>/<cluster uuid>/<topic uuid>,
// as list-mountable prints it) when several unmounted copies share a name.
// --wait polls the migration until it is finished (exit 0) or cancelled
// (exit 1); on a terminal it prints a line per state change and why it waits.

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.h"
#include "cli/context.h"
#include "common/cluster/migration.h"

namespace fjord::cli {
namespace {

using json = nlohmann::json;

constexpr const char* migration_schema =
    "{\"id\": int, \"state\": \"planned\"|\"preparing\"|\"prepared\"|\"executing\"|"
    "\"executed\"|\"cut_over\"|\"finished\"|\"canceling\"|\"cancelled\", \"type\": "
    "\"mount\"|\"unmount\", \"topics\": [string], \"status\": string}";

/// A migration's topics as rpk prints them: "name", or "source -> alias"
/// for a mount under another name.
std::vector<std::string> topic_names(const v1::Migration& m) {
    std::vector<std::string> out;
    for (const v1::MigrationTopic& t : m.topics()) {
        out.push_back(t.alias().empty() ? t.topic()
                                        : fmt::format("{} -> {}", t.topic(), t.alias()));
    }
    return out;
}

json migration_doc(const v1::Migration& m) {
    return {{"id", m.id()},
            {"state", std::string(cluster::to_string(m.state()))},
            {"type", std::string(cluster::to_string(m.type()))},
            {"topics", topic_names(m)},
            {"status", m.status()}};
}

std::vector<std::string> migration_row(const v1::Migration& m, bool wide) {
    std::vector<std::string> row = {std::to_string(m.id()),
                                    std::string(cluster::to_string(m.state())),
                                    std::string(cluster::to_string(m.type())),
                                    fmt::format("{}", fmt::join(topic_names(m), ", "))};
    if (wide) {
        row.push_back(m.status());
    }
    return row;
}

std::string migration_table(const std::vector<v1::Migration>& ms, bool wide) {
    std::vector<std::vector<std::string>> rows;
    for (const v1::Migration& m : ms) {
        rows.push_back(migration_row(m, wide));
    }
    std::vector<std::string> headers = {"id", "state", "migration", "topics"};
    if (wide) {
        headers.push_back("status");
    }
    return render_table(headers, rows);
}

/// "[kafka/]name" -> name; anything but the kafka namespace is a usage error.
result<std::string> strip_namespace(std::string_view arg, std::string_view what) {
    const size_t slash = arg.find('/');
    if (slash == std::string_view::npos) {
        return std::string(arg);
    }
    if (arg.substr(0, slash) != "kafka") {
        return error_info(
            std::make_error_code(std::errc::invalid_argument),
            fmt::format("{} \"{}\": only the kafka namespace holds topics", what, arg));
    }
    return std::string(arg.substr(slash + 1));
}

/// TOPIC of `mount`: [kafka/]name or [kafka/]<name>/<cluster uuid>/<topic uuid>.
result<v1::MountTopicsRequest::Item> parse_source(std::string_view arg) {
    v1::MountTopicsRequest::Item item;
    const auto slashes = std::count(arg.begin(), arg.end(), '/');
    if (slashes == 3) {
        if (!arg.starts_with("kafka/")) {
            return error_info(std::make_error_code(std::errc::invalid_argument),
                              fmt::format("TOPIC \"{}\": expected [kafka/]<name>/<cluster "
                                          "uuid>/<topic uuid>",
                                          arg));
        }
        arg.remove_prefix(6);
    }
    if (slashes >= 2) {
        item.set_location(std::string(arg));
        item.set_topic(std::string(arg.substr(0, arg.find('/'))));
        return item;
    }
    auto name = strip_namespace(arg, "TOPIC");
    if (!name) {
        return name.error();
    }
    item.set_topic(*name);
    return item;
}

struct storage_options {
    std::string topic;
    std::string to;
    bool wait = false;
    std::string filter = "all";
    int64_t id = 0;
};

/// --wait: polls the migration until it ends; progress on a terminal. True
/// when it finished.
bool wait_for_migration(cli_context& ctx, int64_t id) {
    const bool tty = ::isatty(STDOUT_FILENO) != 0 &&
                     (ctx.format() == output_format::text || ctx.format() == output_format::wide);
    v1::MigrationState last = v1::MIGRATION_STATE_UNSPECIFIED;
    std::string last_status;
    for (;;) {
        v1::GetMigrationRequest req;
        req.set_id(id);
        auto r = ctx.call(&ctl::get_migration, req);
        if (!r) {
            ctx.fail(exit_code::failed, r.error().detail);
            return false;
        }
        const v1::Migration& m = r->migration();
        if (tty && m.state() != last) {
            std::cout << fmt::format("Migration {}: {}\n", id, cluster::to_string(m.state()))
                      << std::flush;
        }
        if (tty && !m.status().empty() && (m.status() != last_status || m.state() != last)) {
            std::cout << fmt::format("  waiting: {}\n", m.status()) << std::flush;
        }
        last = m.state();
        last_status = m.status();
        if (m.state() == v1::MIGRATION_STATE_FINISHED) {
            print_output(std::cout, ctx.format(), migration_doc(m),
                         [&](bool) { return fmt::format("Migration {} finished.\n", id); });
            return true;
        }
        if (m.state() == v1::MIGRATION_STATE_CANCELLED) {
            if (!tty) {
                print_output(std::cout, ctx.format(), migration_doc(m), [](bool) { return ""; });
            }
            ctx.fail(exit_code::failed, fmt::format("migration {} was cancelled", id));
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
}

/// The answer of a migration write: the error (exit 1), or the migration id.
std::optional<int64_t> migration_written(cli_context& ctx, const result<v1::MigrationResponse>& r) {
    if (!r) {
        ctx.fail(exit_code::failed, r.error().detail);
        return std::nullopt;
    }
    if (r->result().code() != v1::OK) {
        ctx.fail(exit_code::failed, r->result().message());
        return std::nullopt;
    }
    return r->migration_id();
}

void run_mount(cli_context& ctx, const storage_options& o) {
    if (ctx.print_schema(migration_schema)) {
        return;
    }
    auto item = parse_source(o.topic);
    if (!item) {
        ctx.fail(exit_code::usage, item.error().detail);
        return;
    }
    if (!o.to.empty()) {
        auto alias = strip_namespace(o.to, "--to");
        if (!alias) {
            ctx.fail(exit_code::usage, alias.error().detail);
            return;
        }
        item->set_alias(*alias);
    }
    v1::MountTopicsRequest req;
    *req.add_topics() = *item;
    auto r = ctx.call(&ctl::mount_topics, req);
    const auto id = migration_written(ctx, r);
    if (!id) {
        return;
    }
    const std::string target = item->alias().empty() ? item->topic() : item->alias();
    if (ctx.format() == output_format::text || ctx.format() == output_format::wide) {
        std::cout << fmt::format(
            "Topic mount from Tiered Storage topic \"{}\" to your Fjord cluster topic \"{}\" has "
            "started with Migration ID {}\nTo check the status run 'fjord cluster storage "
            "status-mount {}'\n",
            item->topic(), target, *id, *id);
    } else if (!o.wait) {
        print_output(std::cout, ctx.format(), migration_doc(r->migration()), {});
    }
    if (o.wait) {
        wait_for_migration(ctx, *id);
    }
}

void run_unmount(cli_context& ctx, const storage_options& o) {
    if (ctx.print_schema(migration_schema)) {
        return;
    }
    auto name = strip_namespace(o.topic, "TOPIC");
    if (!name) {
        ctx.fail(exit_code::usage, name.error().detail);
        return;
    }
    v1::UnmountTopicsRequest req;
    req.add_topics(*name);
    auto r = ctx.call(&ctl::unmount_topics, req);
    const auto id = migration_written(ctx, r);
    if (!id) {
        return;
    }
    if (ctx.format() == output_format::text || ctx.format() == output_format::wide) {
        std::cout << fmt::format(
            "Topic unmounting from your Fjord cluster topic \"{}\" has started with Migration ID "
            "{}\nTo check the status run 'fjord cluster storage status-unmount {}'\n",
            *name, *id, *id);
    } else if (!o.wait) {
        print_output(std::cout, ctx.format(), migration_doc(r->migration()), {});
    }
    if (o.wait) {
        wait_for_migration(ctx, *id);
    }
}

void run_list_mountable(cli_context& ctx) {
    if (ctx.print_schema(
            "[{\"topic\": string, \"namespace\": string, \"topic_location\": string}]")) {
        return;
    }
    auto r = ctx.call(&ctl::list_mountable_topics, v1::ListMountableTopicsRequest{});
    if (!r) {
        ctx.fail(exit_code::failed, r.error().detail);
        return;
    }
    for (const auto& s : r->skipped()) {
        std::cerr << fmt::format("fjord: skipped {}: {}\n", s.key(), s.reason());
    }
    json doc = json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : r->topics()) {
        doc.push_back(
            {{"topic", t.topic()}, {"namespace", t.ns()}, {"topic_location", t.topic_location()}});
        rows.push_back({t.topic(), t.ns(), t.topic_location()});
    }
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        return render_table({"topic", "namespace", "location"}, rows);
    });
}

void run_list_mount(cli_context& ctx, const storage_options& o) {
    if (ctx.print_schema(fmt::format("[{}]", migration_schema))) {
        return;
    }
    std::optional<v1::MigrationState> only;
    if (o.filter != "all") {
        only = cluster::parse_migration_state(o.filter);
        if (!only) {
            ctx.fail(exit_code::usage,
                     fmt::format("--filter \"{}\": use all, planned, preparing, prepared, "
                                 "executing, executed, cut_over, finished, canceling or cancelled",
                                 o.filter));
            return;
        }
    }
    auto r = ctx.call(&ctl::list_migrations, v1::ListMigrationsRequest{});
    if (!r) {
        ctx.fail(exit_code::failed, r.error().detail);
        return;
    }
    std::vector<v1::Migration> shown;
    json doc = json::array();
    for (const auto& m : r->migrations()) {
        if (only && m.state() != *only) {
            continue;
        }
        shown.push_back(m);
        doc.push_back(migration_doc(m));
    }
    print_output(std::cout, ctx.format(), doc,
                 [&](bool wide) { return migration_table(shown, wide); });
}

void run_status_mount(cli_context& ctx, const storage_options& o) {
    if (ctx.print_schema(migration_schema)) {
        return;
    }
    v1::GetMigrationRequest req;
    req.set_id(o.id);
    auto r = ctx.call(&ctl::get_migration, req);
    if (!r) {
        ctx.fail(exit_code::failed, r.error().detail);
        return;
    }
    const v1::Migration& m = r->migration();
    print_output(std::cout, ctx.format(), migration_doc(m), [&](bool wide) {
        std::string out = migration_table({m}, wide);
        if (!wide && !m.status().empty()) {
            out += fmt::format("\nWaiting: {}\n", m.status());
        }
        return out;
    });
}

void run_cancel_mount(cli_context& ctx, const storage_options& o) {
    if (ctx.print_schema(migration_schema)) {
        return;
    }
    v1::CancelMigrationRequest req;
    req.set_id(o.id);
    auto r = ctx.call(&ctl::cancel_migration, req);
    if (!migration_written(ctx, r)) {
        return;
    }
    print_output(std::cout, ctx.format(), migration_doc(r->migration()), [&](bool) {
        return fmt::format("Successfully canceled the operation with ID {}\n", o.id);
    });
}

void run_delete_mount(cli_context& ctx, const storage_options& o) {
    if (ctx.print_schema("{\"id\": int, \"deleted\": bool}")) {
        return;
    }
    v1::DeleteMigrationRequest req;
    req.set_id(o.id);
    auto r = ctx.call(&ctl::delete_migration, req);
    if (!migration_written(ctx, r)) {
        return;
    }
    print_output(std::cout, ctx.format(), json{{"id", o.id}, {"deleted", true}}, [&](bool) {
        return fmt::format("Successfully deleted the migration with ID {}\n", o.id);
    });
}

}  // namespace

void register_storage_commands(CLI::App& cluster, cli_context& ctx) {
    auto* storage = cluster.add_subcommand(
        "storage", "Mountable topics: unmount a tiered topic into the object store, mount it back");
    storage->require_subcommand(1);
    auto o = std::make_shared<storage_options>();
    const auto run = [&ctx, o](void (*fn)(cli_context&, const storage_options&)) {
        return [&ctx, o, fn] {
            if (ctx.prepare()) {
                fn(ctx, *o);
            }
        };
    };

    auto* mount = storage->add_subcommand(
        "mount", "Mount a topic from the object store (TOPIC: [kafka/]name, or its location)");
    mount->add_option("topic", o->topic, "[kafka/]topic, or <name>/<cluster uuid>/<topic uuid>")
        ->required();
    mount->add_option("--to", o->to, "[kafka/]name: mount it under this name");
    mount->add_flag("--wait", o->wait, "Wait until the mount finished (exit 1 if cancelled)");
    mount->callback(run(run_mount));

    auto* unmount = storage->add_subcommand(
        "unmount", "Unmount a topic into the object store (it leaves the cluster; data stays)");
    unmount->add_option("topic", o->topic, "[kafka/]topic")->required();
    unmount->add_flag("--wait", o->wait, "Wait until the unmount finished (exit 1 if cancelled)");
    unmount->callback(run(run_unmount));

    auto* mountable = storage->add_subcommand("list-mountable", "Topics that can be mounted");
    mountable->callback([&ctx] {
        if (ctx.prepare()) {
            run_list_mountable(ctx);
        }
    });

    auto* list = storage->add_subcommand("list-mount", "Mount and unmount migrations");
    list->alias("list-unmount");
    list->add_option("-f,--filter", o->filter,
                     "Only migrations in this state (all, planned, preparing, prepared, "
                     "executing, executed, cut_over, finished, canceling, cancelled)");
    list->callback(run(run_list_mount));

    auto* status =
        storage->add_subcommand("status-mount", "One migration's state, and why it waits");
    status->alias("status-unmount");
    status->add_option("id", o->id, "Migration ID")->required();
    status->callback(run(run_status_mount));

    auto* cancel = storage->add_subcommand(
        "cancel-mount", "Cancel a migration (preparing, prepared, executing or executed)");
    cancel->alias("cancel-unmount");
    cancel->add_option("id", o->id, "Migration ID")->required();
    cancel->callback(run(run_cancel_mount));

    auto* del = storage->add_subcommand(
        "delete-mount", "Forget a migration that is planned, finished or cancelled");
    del->alias("delete-unmount");
    del->add_option("id", o->id, "Migration ID")->required();
    del->callback(run(run_delete_mount));
}

}  // namespace fjord::cli
