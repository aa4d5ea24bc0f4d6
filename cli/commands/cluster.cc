// File: cli/commands/cluster.cc
//
// fjord cluster info|health|config: rpk's `cluster` group over the controller
// API. config is schema-aware: every key has a type, a default and whether
// a change needs a restart; `set k=` resets k to its default; unknown keys
// are refused by the controller, naming them.

#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <thread>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.h"
#include "cli/context.h"
#include "cli/wait.h"

namespace fjord::cli {
namespace {

using json = nlohmann::json;

// ------------------------------------------------------------ info

struct info_options {
    bool cluster = false;
    bool brokers = false;
    bool topics = false;
};

void run_info(cli_context& ctx, const info_options& o) {
    if (ctx.format() == output_format::help) {
        std::cout << "{\"cluster_uuid\": string, \"controller_leader\": int, \"brokers\": "
                     "[{\"id\": int, \"host\": string, \"port\": int, \"rack\": string, "
                     "\"state\": string, \"alive\": bool, \"fips_mode\": \"disabled\"|"
                     "\"permissive\"|\"enabled\"}], \"topics\": [{\"name\": string, "
                     "\"partitions\": int, \"replicas\": int}]}\n";
        return;
    }
    const bool all = !o.cluster && !o.brokers && !o.topics;
    auto st = ctx.call(&ctl::status, v1::StatusRequest{});
    if (!st) {
        ctx.fail(exit_code::failed, st.error().detail);
        return;
    }
    auto brokers = ctx.call(&ctl::list_brokers, v1::ListBrokersRequest{});
    if (!brokers) {
        ctx.fail(exit_code::failed, brokers.error().detail);
        return;
    }
    auto topics = ctx.call(&ctl::list_topics, v1::ListTopicsRequest{});
    if (!topics) {
        ctx.fail(exit_code::failed, topics.error().detail);
        return;
    }
    json bj = json::array();
    std::vector<std::vector<std::string>> brows;
    for (const auto& b : brokers->brokers()) {
        std::string host;
        int port = 0;
        for (const auto& e : b.broker().endpoints()) {
            if (host.empty() || e.name() == "kafka") {
                host = e.host();
                port = e.port();
            }
        }
        const std::string state = v1::BrokerState_Name(b.broker().state()).substr(13);
        const std::string fips = fips_mode_name(b.broker().fips_mode());
        bj.push_back({{"id", b.broker().id()},
                      {"host", host},
                      {"port", port},
                      {"rack", b.broker().rack()},
                      {"state", state},
                      {"alive", b.alive()},
                      {"fips_mode", fips}});
        brows.push_back({std::to_string(b.broker().id()), host, std::to_string(port),
                         b.broker().rack(), state, b.alive() ? "yes" : "no", fips});
    }
    json tj = json::array();
    std::vector<std::vector<std::string>> trows;
    for (const auto& t : topics->topics()) {
        tj.push_back({{"name", t.name()},
                      {"partitions", t.partitions_size()},
                      {"replicas", t.replication_factor()}});
        trows.push_back({t.name(), std::to_string(t.partitions_size()),
                         std::to_string(t.replication_factor())});
    }
    json doc = {{"cluster_uuid", st->cluster_uuid()},
                {"controller_leader", st->leader_id()},
                {"brokers", bj},
                {"topics", tj}};
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        const int sections = (all || o.cluster) + (all || o.brokers) + (all || o.topics);
        auto header = [&](const char* h) {
            return sections > 1 ? fmt::format("{}\n{}\n", h, std::string(std::strlen(h), '=')) : "";
        };
        std::string out;
        if (all || o.cluster) {
            out += header("CLUSTER") + fmt::format("fjord.{} (controller leader {})\n\n",
                                                   st->cluster_uuid(), st->leader_id());
        }
        if (all || o.brokers) {
            out +=
                header("BROKERS") +
                render_table({"id", "host", "port", "rack", "state", "alive", "fips_mode"}, brows) +
                "\n";
        }
        if (all || o.topics) {
            out += header("TOPICS") + render_table({"name", "partitions", "replicas"}, trows);
        }
        return out;
    });
}

// ------------------------------------------------------------ health

struct health_report {
    bool healthy = false;
    std::vector<std::string> reasons;
    uint64_t controller_leader = 0;
    std::vector<int32_t> nodes;
    std::vector<int32_t> down;
    int leaderless = 0;
    json doc;
};

result<health_report> check_health(cli_context& ctx) {
    health_report h;
    auto st = ctx.call(&ctl::status, v1::StatusRequest{});
    if (!st) {
        return st.error();
    }
    auto brokers = ctx.call(&ctl::list_brokers, v1::ListBrokersRequest{});
    if (!brokers) {
        return brokers.error();
    }
    auto topics = ctx.call(&ctl::list_topics, v1::ListTopicsRequest{});
    if (!topics) {
        return topics.error();
    }
    h.controller_leader = st->leader_id();
    std::map<int32_t, bool> alive;
    for (const auto& b : brokers->brokers()) {
        if (b.broker().state() == v1::BROKER_STATE_DECOMMISSIONED) {
            continue;
        }
        h.nodes.push_back(b.broker().id());
        alive[b.broker().id()] = b.alive();
        if (!b.alive()) {
            h.down.push_back(b.broker().id());
        }
    }
    for (const auto& t : topics->topics()) {
        for (const auto& p : t.partitions()) {
            if (p.leader() < 0 || !alive[p.leader()]) {
                ++h.leaderless;
            }
        }
    }
    if (h.controller_leader == 0) {
        h.reasons.push_back("no controller leader");
    }
    if (!h.down.empty()) {
        h.reasons.push_back("nodes_down");
    }
    if (h.leaderless > 0) {
        h.reasons.push_back("leaderless_partitions");
    }
    h.healthy = h.reasons.empty();
    h.doc = {{"healthy", h.healthy},
             {"unhealthy_reasons", h.reasons},
             {"controller_id", h.controller_leader},
             {"all_nodes", h.nodes},
             {"nodes_down", h.down},
             {"leaderless_partitions", h.leaderless}};
    return h;
}

std::string health_text(const health_report& h) {
    return fmt::format(
        "CLUSTER HEALTH OVERVIEW\n=======================\n"
        "Healthy:                 {}\nUnhealthy reasons:       [{}]\nController ID:           "
        "{}\nAll nodes:               [{}]\nNodes down:              [{}]\nLeaderless partitions:  "
        " {}\n",
        h.healthy, fmt::join(h.reasons, " "), h.controller_leader, fmt::join(h.nodes, " "),
        fmt::join(h.down, " "), h.leaderless);
}

struct health_options {
    bool watch = false;
    bool exit_when_healthy = false;
};

void run_health(cli_context& ctx, const health_options& o) {
    if (ctx.format() == output_format::help) {
        std::cout << "{\"healthy\": bool, \"unhealthy_reasons\": [string], \"controller_id\": "
                     "int, \"all_nodes\": [int], \"nodes_down\": [int], "
                     "\"leaderless_partitions\": int}\n";
        return;
    }
    std::string last;
    for (;;) {
        auto h = check_health(ctx);
        if (!h) {
            ctx.fail(exit_code::failed, h.error().detail);
            return;
        }
        std::string text = ctx.format() == output_format::json   ? render_json(h->doc)
                           : ctx.format() == output_format::yaml ? render_yaml(h->doc)
                                                                 : health_text(*h);
        if (text != last) {
            std::cout << text << std::flush;
            last = text;
        }
        if (!(o.watch || o.exit_when_healthy) || (o.exit_when_healthy && h->healthy)) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::seconds(2));
    }
}

// ------------------------------------------------------------ config

result<v1::GetClusterConfigResponse> get_config(cli_context& ctx, std::vector<std::string> keys) {
    v1::GetClusterConfigRequest req;
    for (auto& k : keys) {
        req.add_keys(std::move(k));
    }
    req.set_include_schema(true);
    return ctx.call(&ctl::get_cluster_config, req);
}

/// Applies upserts (value "" = reset to default) and removals; prints rpk's
/// messages. Returns the new revision, or 0 on failure or when nothing
/// changed (the controller's `changed`).
uint64_t apply_config(cli_context& ctx, const std::map<std::string, std::string>& values,
                      const std::vector<std::string>& removes, bool dry) {
    v1::SetClusterConfigRequest req;
    req.set_validate_only(dry);
    for (const auto& [k, v] : values) {
        if (v.empty()) {
            req.add_remove(k);
        } else {
            (*req.mutable_upsert())[k] = v;
        }
    }
    for (const auto& k : removes) {
        req.add_remove(k);
    }
    auto resp = ctx.call(&ctl::set_cluster_config, req);
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return 0;
    }
    // The change is all or nothing: each key at fault names its error, and
    // a failure of the whole change (not the leader, outcome unknown) shows
    // on every key without a field; it is reported once.
    std::string errors;
    json failures = json::array();
    bool unknown = false;
    std::string whole;
    for (const auto& [k, r] :
         std::map<std::string, v1::ItemResult>(resp->results().begin(), resp->results().end())) {
        if (r.code() == v1::OK) {
            continue;
        }
        unknown = unknown || r.code() == v1::OUTCOME_UNKNOWN || r.code() == v1::TIMEOUT;
        failures.push_back(
            {{"key", k}, {"status", v1::ErrorCode_Name(r.code())}, {"message", r.message()}});
        if (r.field() == k) {
            errors += fmt::format("  {}\n", r.message());
        } else if (whole.empty()) {
            whole = fmt::format("  {}: {}\n", v1::ErrorCode_Name(r.code()), r.message());
        }
    }
    if (errors.empty()) {
        errors = whole;
    }
    const bool text = ctx.format() == output_format::text || ctx.format() == output_format::wide;
    // The controller proposes nothing when every value is already in place
    // and says so (changed false, revision 0): automation can trust it.
    const bool changed = errors.empty() && !dry && resp->changed();
    const json doc = {{"changed", changed},
                      {"dry", dry},
                      {"revision", changed ? resp->revision() : 0},
                      {"needs_restart", changed && resp->needs_restart()},
                      {"errors", failures}};
    if (!errors.empty()) {
        ctx.fail(exit_code::failed, (unknown ? "The outcome is unknown: the change may or may not "
                                               "have been applied:\n"
                                             : "No changes were made:\n") +
                                        errors);
        if (!text) {
            print_output(std::cout, ctx.format(), doc, {});
        }
        return 0;
    }
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        if (dry) {
            return std::string("Validation passed; no changes were made (--dry).\n");
        }
        if (!changed) {
            return std::string("No changes: every value is already in place.\n");
        }
        return fmt::format("Successfully updated configuration. New configuration version is {}.\n",
                           resp->revision()) +
               (resp->needs_restart() ? "Cluster needs to be restarted. See more details with "
                                        "'fjord cluster config status'.\n"
                                      : "");
    });
    return changed ? resp->revision() : 0;
}

/// What `config set` and `config import` print (apply_config).
constexpr const char* apply_schema =
    "{\"changed\": bool, \"dry\": bool, \"revision\": int (0 when nothing changed), "
    "\"needs_restart\": bool, "
    "\"errors\": [{\"key\": string, \"status\": error code, \"message\": string}]}";

struct config_options {
    std::vector<std::string> args;
    std::string filter;
    std::string file;
    bool all = false;
    bool dry = false;
    std::chrono::milliseconds wait{0};
};

void run_config_get(cli_context& ctx, const config_options& o) {
    if (ctx.format() == output_format::help) {
        std::cout << "{\"key\": string, \"value\": string, \"is_default\": bool}\n";
        return;
    }
    auto resp = get_config(ctx, {o.args.front()});
    if (!resp) {
        if (resp.error().detail.find("unknown") != std::string::npos ||
            resp.error().detail.find("invalid argument") != std::string::npos) {
            ctx.fail(exit_code::failed, fmt::format("Property '{}' not found", o.args.front()));
        } else {
            ctx.fail(exit_code::failed, resp.error().detail);
        }
        return;
    }
    for (const auto& e : resp->entries()) {
        json doc = {{"key", e.key()}, {"value", e.value()}, {"is_default", e.is_default()}};
        print_output(std::cout, ctx.format(), doc, [&](bool) { return e.value() + "\n"; });
    }
}

void run_config_set(cli_context& ctx, const config_options& o) {
    if (ctx.print_schema(apply_schema)) {
        return;
    }
    std::map<std::string, std::string> values;
    if (o.args.size() == 2 && o.args[0].find('=') == std::string::npos) {
        values[o.args[0]] = o.args[1];
    } else {
        for (const auto& a : o.args) {
            const size_t eq = a.find('=');
            if (eq == std::string::npos || eq == 0) {
                ctx.fail(exit_code::usage,
                         fmt::format("\"{}\": expected KEY VALUE or KEY=VALUE ...", a));
                return;
            }
            values[a.substr(0, eq)] = a.substr(eq + 1);
        }
    }
    const uint64_t rev = apply_config(ctx, values, {}, o.dry);
    if (rev > 0 && o.wait.count() > 0 && !o.dry) {
        wait_for_brokers(ctx, rev, o.wait);
    }
}

void run_config_list(cli_context& ctx, const config_options& o) {
    if (ctx.format() == output_format::help) {
        std::cout << "[{\"key\": string, \"value\": string, \"default\": string, \"is_default\": "
                     "bool, \"type\": string, \"needs_restart\": bool, \"secret\": bool, "
                     "\"allowed\": string, \"description\": string}]\n";
        return;
    }
    auto resp = get_config(ctx, {});
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return;
    }
    std::regex filter;
    if (!o.filter.empty()) {
        try {
            filter = std::regex(o.filter);
        } catch (const std::regex_error& e) {
            ctx.fail(exit_code::usage, fmt::format("--filter \"{}\": {}", o.filter, e.what()));
            return;
        }
    }
    std::map<std::string, v1::ConfigProperty> schema;
    for (const auto& p : resp->schema()) {
        schema[p.name()] = p;
    }
    json doc = json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : resp->entries()) {
        if (!o.filter.empty() && !std::regex_search(e.key(), filter)) {
            continue;
        }
        const auto& p = schema[e.key()];
        doc.push_back({{"key", e.key()},
                       {"value", e.value()},
                       {"default", p.default_value()},
                       {"is_default", e.is_default()},
                       {"type", p.type()},
                       {"needs_restart", p.needs_restart()},
                       {"secret", p.secret()},
                       {"allowed", p.allowed()},
                       {"description", p.description()}});
        rows.push_back({e.key(), e.value(), e.is_default() ? "default" : "set", p.type(),
                        p.needs_restart() ? "yes" : "no", p.description()});
    }
    print_output(std::cout, ctx.format(), doc, [&](bool wide) {
        if (wide) {
            return render_table({"key", "value", "source", "type", "restart", "description"}, rows);
        }
        std::vector<std::vector<std::string>> narrow;
        for (const auto& r : rows) {
            narrow.push_back({r[0], r[1], r[2]});
        }
        return render_table({"key", "value", "source"}, narrow);
    });
}

void run_config_export(cli_context& ctx, const config_options& o) {
    if (ctx.print_schema("{key: string} (YAML unless --format json; `config import` reads it)")) {
        return;
    }
    auto resp = get_config(ctx, {});
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return;
    }
    json values = json::object();
    YAML::Emitter e;
    e << YAML::BeginMap;
    for (const auto& entry : resp->entries()) {
        if (o.all || !entry.is_default()) {
            values[entry.key()] = entry.value();
            e << YAML::Key << entry.key() << YAML::Value << YAML::DoubleQuoted << entry.value();
        }
    }
    e << YAML::EndMap;
    // The file is the document itself: YAML by default, JSON on request.
    const std::string text =
        ctx.format() == output_format::json ? values.dump(2) + "\n" : std::string(e.c_str()) + "\n";
    if (o.file.empty()) {
        std::cout << text;
        return;
    }
    std::ofstream f(o.file);
    f << text;
    if (!f) {
        ctx.fail(exit_code::failed, fmt::format("cannot write \"{}\"", o.file));
        return;
    }
    std::cout << fmt::format("Wrote configuration to file \"{}\".\n", o.file);
}

void run_config_import(cli_context& ctx, const config_options& o) {
    if (ctx.print_schema(apply_schema)) {
        return;
    }
    YAML::Node doc;
    try {
        doc = YAML::LoadFile(o.file);
    } catch (const YAML::Exception& e) {
        ctx.fail(exit_code::failed, fmt::format("{}: {}", o.file, e.what()));
        return;
    }
    if (!doc.IsMap() && !doc.IsNull()) {
        ctx.fail(exit_code::failed, fmt::format("{}: expected a map of key: value", o.file));
        return;
    }
    std::map<std::string, std::string> wanted;
    for (const auto& kv : doc) {
        if (!kv.second.IsScalar()) {
            ctx.fail(exit_code::failed, fmt::format("{}: {}: expected a scalar value (lists are "
                                                    "comma-separated strings)",
                                                    o.file, kv.first.as<std::string>()));
            return;
        }
        wanted[kv.first.as<std::string>()] = kv.second.as<std::string>();
    }
    auto current = get_config(ctx, {});
    if (!current) {
        ctx.fail(exit_code::failed, current.error().detail);
        return;
    }
    // Keys set now but absent from the file go back to their defaults.
    std::map<std::string, std::string> upserts;
    std::vector<std::string> removes;
    for (const auto& e : current->entries()) {
        auto it = wanted.find(e.key());
        if (e.redacted() && it != wanted.end() && it->second == e.value()) {
            continue;  // "[secret]" as exported: keep the stored credential
        }
        if (it == wanted.end()) {
            if (!e.is_default() && !o.all) {
                removes.push_back(e.key());
            }
        } else if (it->second != e.value() || e.is_default()) {
            upserts[it->first] = it->second;
        }
    }
    for (const auto& [k, v] : wanted) {
        if (std::none_of(current->entries().begin(), current->entries().end(),
                         [&](const auto& e) { return e.key() == k; })) {
            upserts[k] = v;  // unknown: the controller refuses it by name
        }
    }
    if (upserts.empty() && removes.empty()) {
        print_output(std::cout, ctx.format(),
                     {{"changed", false},
                      {"dry", o.dry},
                      {"revision", 0},
                      {"needs_restart", false},
                      {"errors", json::array()}},
                     [](bool) {
                         return "No changes: the cluster configuration already matches the "
                                "file.\n";
                     });
        return;
    }
    apply_config(ctx, upserts, removes, o.dry);
}

void run_config_status(cli_context& ctx) {
    if (ctx.format() == output_format::help) {
        std::cout << "[{\"node\": int, \"config_version\": int, \"applied_revision\": int, "
                     "\"up_to_date\": bool, \"alive\": bool}]\n";
        return;
    }
    auto cfg = get_config(ctx, {});
    if (!cfg) {
        ctx.fail(exit_code::failed, cfg.error().detail);
        return;
    }
    uint64_t version = 0;
    for (const auto& e : cfg->entries()) {
        version = std::max<uint64_t>(version, e.updated().revision());
    }
    v1::ListBrokersRequest req;
    req.set_applied_at_least(version);
    auto brokers = ctx.call(&ctl::list_brokers, req);
    if (!brokers) {
        ctx.fail(exit_code::failed, brokers.error().detail);
        return;
    }
    json doc = json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& b : brokers->brokers()) {
        const bool up = version == 0 || b.applied();
        doc.push_back({{"node", b.broker().id()},
                       {"config_version", version},
                       {"applied_revision", b.applied_revision()},
                       {"up_to_date", up},
                       {"alive", b.alive()}});
        rows.push_back({std::to_string(b.broker().id()), std::to_string(version),
                        std::to_string(b.applied_revision()), up ? "yes" : "no",
                        b.alive() ? "yes" : "no"});
    }
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        return fmt::format("configuration version {}\n", version) +
               render_table({"node", "config-version", "applied", "up-to-date", "alive"}, rows);
    });
}

}  // namespace

void register_cluster_commands(CLI::App& root, cli_context& ctx) {
    auto* cluster = root.add_subcommand("cluster", "Cluster information, health and configuration");
    cluster->require_subcommand(1);

    auto io = std::make_shared<info_options>();
    auto* info = cluster->add_subcommand("info", "Cluster id, brokers and topics");
    info->alias("status");
    info->alias("metadata");
    info->add_flag("-c,--print-cluster", io->cluster, "CLUSTER section");
    info->add_flag("-b,--print-brokers", io->brokers, "BROKERS section");
    info->add_flag("-t,--print-topics", io->topics, "TOPICS section");
    info->callback([&ctx, io] {
        if (ctx.prepare()) {
            run_info(ctx, *io);
        }
    });

    auto ho = std::make_shared<health_options>();
    auto* health = cluster->add_subcommand("health", "Whether the cluster is healthy, and why not");
    health->add_flag("-w,--watch", ho->watch, "Poll every 2s and print changes");
    health->add_flag("-e,--exit-when-healthy", ho->exit_when_healthy,
                     "Watch until healthy, then exit 0");
    health->callback([&ctx, ho] {
        if (ctx.prepare()) {
            run_health(ctx, *ho);
        }
    });

    auto* config = cluster->add_subcommand("config", "Cluster configuration (schema-aware)");
    config->require_subcommand(1);
    auto co = std::make_shared<config_options>();

    auto* get = config->add_subcommand("get", "Print one property's effective value");
    get->add_option("key", co->args, "Property")->required()->expected(1);
    get->callback([&ctx, co] {
        if (ctx.prepare()) {
            run_config_get(ctx, *co);
        }
    });
    auto* set =
        config->add_subcommand("set", "Set properties: KEY VALUE or KEY=VALUE ... (KEY= resets)");
    set->add_option("args", co->args, "KEY VALUE, or KEY=VALUE ...")->required();
    set->add_flag("--dry", co->dry, "Validate only");
    add_wait_flag(set, co->wait);
    set->callback([&ctx, co] {
        if (ctx.prepare()) {
            run_config_set(ctx, *co);
        }
    });
    auto* list = config->add_subcommand("list", "List every property with its value and source");
    list->add_option("--filter", co->filter, "Only keys matching this regex");
    list->callback([&ctx, co] {
        if (ctx.prepare()) {
            run_config_list(ctx, *co);
        }
    });
    auto* exp = config->add_subcommand("export", "Write the configuration as YAML");
    exp->add_option("-f,--filename", co->file, "File to write (default: stdout)");
    exp->add_flag("--all", co->all, "Include properties at their defaults");
    exp->callback([&ctx, co] {
        if (ctx.prepare()) {
            run_config_export(ctx, *co);
        }
    });
    auto* imp = config->add_subcommand("import", "Make the configuration match a YAML file");
    imp->add_option("-f,--filename", co->file, "File to read")->required();
    imp->add_flag("--all", co->all, "Do not reset properties missing from the file");
    imp->add_flag("--dry", co->dry, "Validate only");
    imp->callback([&ctx, co] {
        if (ctx.prepare()) {
            run_config_import(ctx, *co);
        }
    });
    auto* status = config->add_subcommand("status", "Which brokers have applied the configuration");
    status->callback([&ctx] {
        if (ctx.prepare()) {
            run_config_status(ctx);
        }
    });

    register_storage_commands(*cluster, ctx);
}

}  // namespace fjord::cli
