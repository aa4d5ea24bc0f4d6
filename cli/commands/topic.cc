// File: cli/commands/topic.cc
//
// fjord topic create|delete|list|describe: rpk's flags and output, with
// Fjord's exit-code contract (any failed item fails the command) and a strict
// --if-not-exists (an existing topic that differs is an error naming each
// difference).

#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.h"
#include "cli/context.h"
#include "cli/kafka/partition_storage.h"
#include "cli/wait.h"

namespace fjord::cli {
namespace {

using json = nlohmann::json;

const char* error_name(v1::ErrorCode c) {
    return v1::ErrorCode_Name(c).c_str();
}

/// "k=v" pairs into a map; a malformed pair is a usage error naming it.
bool parse_kv(cli_context& ctx, const std::vector<std::string>& pairs, const char* flag,
              std::map<std::string, std::string>& out) {
    for (const auto& p : pairs) {
        const size_t eq = p.find('=');
        if (eq == std::string::npos || eq == 0) {
            ctx.fail(exit_code::usage, fmt::format("{} \"{}\": expected key=value", flag, p));
            return false;
        }
        out[p.substr(0, eq)] = p.substr(eq + 1);
    }
    return true;
}

bool is_internal(const std::string& name) {
    return name.starts_with("__");
}

// ------------------------------------------------------------ create

struct create_options {
    std::vector<std::string> topics;
    int32_t partitions = -1;
    int32_t replicas = -1;
    std::vector<std::string> configs;
    bool dry = false;
    bool if_not_exists = false;
    std::chrono::milliseconds wait{0};
};

/// The differences between an existing topic and what was asked for.
std::vector<std::string> differences(const v1::Topic& t, int32_t partitions, int32_t replicas,
                                     const std::map<std::string, std::string>& configs) {
    std::vector<std::string> diffs;
    if (t.partitions_size() != partitions) {
        diffs.push_back(fmt::format("partitions: exists with {}, asked for {}", t.partitions_size(),
                                    partitions));
    }
    if (t.replication_factor() != replicas) {
        diffs.push_back(fmt::format("replication factor: exists with {}, asked for {}",
                                    t.replication_factor(), replicas));
    }
    std::set<std::string> keys;
    for (const auto& [k, v] : t.configs()) {
        keys.insert(k);
    }
    for (const auto& [k, v] : configs) {
        keys.insert(k);
    }
    for (const auto& k : keys) {
        auto have = t.configs().find(k);
        auto want = configs.find(k);
        const std::string h = have == t.configs().end() ? "(default)" : have->second;
        const std::string w = want == configs.end() ? "(default)" : want->second;
        if (h != w) {
            diffs.push_back(fmt::format("config {}: exists with {}, asked for {}", k, h, w));
        }
    }
    return diffs;
}

void run_create(cli_context& ctx, const create_options& o) {
    if (ctx.format() == output_format::help) {
        std::cout << "[{\"topic\": string, \"status\": \"OK\"|\"EXISTS_UNCHANGED\"|error code, "
                     "\"message\": string, \"partitions\": int, \"replicas\": int}]\n";
        return;
    }
    std::map<std::string, std::string> configs;
    if (!parse_kv(ctx, o.configs, "-c/--topic-config", configs)) {
        return;
    }
    v1::CreateTopicsRequest req;
    req.set_validate_only(o.dry);
    for (const auto& name : o.topics) {
        auto* item = req.add_topics();
        item->set_name(name);
        item->set_partitions(o.partitions);
        item->set_replication_factor(o.replicas);
        for (const auto& [k, v] : configs) {
            (*item->mutable_configs())[k] = v;
        }
    }
    auto resp = ctx.call(&ctl::create_topics, req);
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return;
    }
    // Strict --if-not-exists: compare what exists with what was asked for,
    // with -1 resolved to the cluster defaults.
    std::map<std::string, v1::Topic> existing;
    int32_t want_partitions = o.partitions;
    int32_t want_replicas = o.replicas;
    bool any_exists = false;
    for (const auto& t : resp->topics()) {
        any_exists = any_exists || t.result().code() == v1::TOPIC_ALREADY_EXISTS;
    }
    if (o.if_not_exists && any_exists) {
        v1::ListTopicsRequest lr;
        for (const auto& t : resp->topics()) {
            if (t.result().code() == v1::TOPIC_ALREADY_EXISTS) {
                lr.add_names(t.name());
            }
        }
        auto listed = ctx.call(&ctl::list_topics, lr);
        if (!listed) {
            ctx.fail(exit_code::failed, listed.error().detail);
            return;
        }
        for (const auto& t : listed->topics()) {
            existing[t.name()] = t;
        }
        if (want_partitions < 0 || want_replicas < 0) {
            v1::GetClusterConfigRequest cr;
            cr.add_keys("default_topic_partitions");
            cr.add_keys("default_topic_replications");
            auto cfg = ctx.call(&ctl::get_cluster_config, cr);
            if (!cfg) {
                ctx.fail(exit_code::failed, cfg.error().detail);
                return;
            }
            for (const auto& e : cfg->entries()) {
                if (e.key() == "default_topic_partitions" && want_partitions < 0) {
                    want_partitions = std::stoi(e.value());
                }
                if (e.key() == "default_topic_replications" && want_replicas < 0) {
                    want_replicas = std::stoi(e.value());
                }
            }
        }
    }
    json doc = json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : resp->topics()) {
        std::string status = t.result().code() == v1::OK ? "OK" : error_name(t.result().code());
        std::string message = t.result().message();
        bool failed = t.result().code() != v1::OK;
        if (o.if_not_exists && t.result().code() == v1::TOPIC_ALREADY_EXISTS) {
            auto it = existing.find(t.name());
            if (it != existing.end()) {
                const auto diffs = differences(it->second, want_partitions, want_replicas, configs);
                if (diffs.empty()) {
                    status = "EXISTS_UNCHANGED";
                    message = "exists, unchanged";
                    failed = false;
                } else {
                    status = "EXISTS_DIFFERENT";
                    message.clear();
                    for (const auto& d : diffs) {
                        message += (message.empty() ? "" : "; ") + d;
                    }
                }
            }
        }
        if (failed) {
            ctx.set_code(exit_code::failed);
        }
        json item = {{"topic", t.name()}, {"status", status}};
        if (!message.empty()) {
            item["message"] = message;
        }
        if (t.has_topic()) {
            item["partitions"] = t.topic().partitions_size();
            item["replicas"] = t.topic().replication_factor();
        }
        doc.push_back(item);
        rows.push_back({t.name(), message.empty() ? status : status + ": " + message});
    }
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        return render_table({"topic", "status"}, rows);
    });
    if (o.wait.count() > 0 && !o.dry) {
        wait_for_brokers(ctx, resp->revision(), o.wait);
    }
}

// ------------------------------------------------------------ delete

struct delete_options {
    std::vector<std::string> topics;
    bool regex = false;
    bool if_exists = false;
    std::chrono::milliseconds wait{0};
};

void run_delete(cli_context& ctx, const delete_options& o) {
    if (ctx.format() == output_format::help) {
        std::cout << "[{\"topic\": string, \"status\": \"OK\"|\"NOT_FOUND_IGNORED\"|error code, "
                     "\"message\": string}]\n";
        return;
    }
    std::vector<std::string> names = o.topics;
    if (o.regex) {
        // Like rpk: each argument is a regex anchored with ^...$ over the
        // non-internal topics.
        auto listed = ctx.call(&ctl::list_topics, v1::ListTopicsRequest{});
        if (!listed) {
            ctx.fail(exit_code::failed, listed.error().detail);
            return;
        }
        names.clear();
        for (const auto& pattern : o.topics) {
            std::regex re;
            try {
                re = std::regex("^(?:" + pattern + ")$");
            } catch (const std::regex_error& e) {
                ctx.fail(exit_code::usage, fmt::format("bad regex \"{}\": {}", pattern, e.what()));
                return;
            }
            for (const auto& t : listed->topics()) {
                if (!is_internal(t.name()) && std::regex_match(t.name(), re)) {
                    names.push_back(t.name());
                }
            }
        }
        if (names.empty()) {
            print_output(std::cout, ctx.format(), json::array(),
                         [](bool) { return std::string("no topics match\n"); });
            return;
        }
    }
    v1::DeleteTopicsRequest req;
    for (const auto& n : names) {
        req.add_names(n);
    }
    auto resp = ctx.call(&ctl::delete_topics, req);
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return;
    }
    json doc = json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : resp->topics()) {
        std::string status = t.result().code() == v1::OK ? "OK" : error_name(t.result().code());
        std::string message = t.result().message();
        if (t.result().code() == v1::UNKNOWN_TOPIC && o.if_exists) {
            status = "NOT_FOUND_IGNORED";
            message = "does not exist, nothing to do";
        } else if (t.result().code() != v1::OK) {
            ctx.set_code(exit_code::failed);
        }
        json item = {{"topic", t.name()}, {"status", status}};
        if (!message.empty()) {
            item["message"] = message;
        }
        doc.push_back(item);
        rows.push_back({t.name(), message.empty() ? status : status + ": " + message});
    }
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        return render_table({"topic", "status"}, rows);
    });
    if (o.wait.count() > 0) {
        wait_for_brokers(ctx, resp->revision(), o.wait);
    }
}

// ------------------------------------------------------------ alter-config

struct alter_options {
    std::vector<std::string> topics;
    std::vector<std::string> set;
    std::vector<std::string> del;
    std::vector<std::string> append;
    std::vector<std::string> subtract;
    bool dry = false;
    std::chrono::milliseconds wait{0};
};

std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos <= s.size()) {
        const size_t comma = s.find(',', pos);
        std::string one =
            s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        if (!one.empty()) {
            out.push_back(one);
        }
        if (comma == std::string::npos) {
            break;
        }
        pos = comma + 1;
    }
    return out;
}

/// The batch result table shared by alter-config and add-partitions.
template <typename Items>
void print_item_results(cli_context& ctx, const Items& items) {
    json doc = json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : items) {
        const bool ok = t.result().code() == v1::OK;
        if (!ok) {
            ctx.set_code(exit_code::failed);
        }
        const std::string status = ok ? "OK" : error_name(t.result().code());
        json item = {{"topic", t.name()}, {"status", status}};
        if (!t.result().message().empty()) {
            item["message"] = t.result().message();
        }
        doc.push_back(item);
        rows.push_back({t.name(), ok ? status : status + ": " + t.result().message()});
    }
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        return render_table({"topic", "status"}, rows);
    });
}

std::string join_list(const std::vector<std::string>& values) {
    std::string out;
    for (const auto& v : values) {
        out += (out.empty() ? "" : ",") + v;
    }
    return out;
}

void run_alter(cli_context& ctx, const alter_options& o) {
    if (ctx.format() == output_format::help) {
        std::cout << "[{\"topic\": string, \"status\": \"OK\"|error code, \"message\": string}]\n";
        return;
    }
    std::map<std::string, std::string> set;
    std::map<std::string, std::string> append;
    std::map<std::string, std::string> subtract;
    if (!parse_kv(ctx, o.set, "--set", set) || !parse_kv(ctx, o.append, "--append", append) ||
        !parse_kv(ctx, o.subtract, "--subtract", subtract)) {
        return;
    }
    if (set.empty() && o.del.empty() && append.empty() && subtract.empty()) {
        print_output(std::cout, ctx.format(), json::array(), [](bool) {
            return std::string("No incremental configuration changes were requested!\n");
        });
        return;
    }
    // --append/--subtract edit list values: they need each topic's current value.
    std::map<std::string, v1::Topic> current;
    if (!append.empty() || !subtract.empty()) {
        v1::ListTopicsRequest lr;
        for (const auto& n : o.topics) {
            lr.add_names(n);
        }
        auto listed = ctx.call(&ctl::list_topics, lr);
        if (!listed) {
            ctx.fail(exit_code::failed, listed.error().detail);
            return;
        }
        for (const auto& t : listed->topics()) {
            current[t.name()] = t;
        }
    }
    v1::AlterTopicConfigsRequest req;
    req.set_validate_only(o.dry);
    for (const auto& name : o.topics) {
        auto* item = req.add_topics();
        item->set_name(name);
        for (const auto& [k, v] : set) {
            (*item->mutable_set())[k] = v;
        }
        for (const auto& k : o.del) {
            item->add_remove(k);
        }
        auto it = current.find(name);
        auto current_values = [&](const std::string& k) {
            if (it != current.end() && it->second.configs().count(k) > 0) {
                return split_list(it->second.configs().at(k));
            }
            return std::vector<std::string>{};
        };
        for (const auto& [k, v] : append) {
            std::vector<std::string> values = current_values(k);
            for (const auto& add : split_list(v)) {
                if (std::find(values.begin(), values.end(), add) == values.end()) {
                    values.push_back(add);
                }
            }
            (*item->mutable_set())[k] = join_list(values);
        }
        for (const auto& [k, v] : subtract) {
            std::vector<std::string> values = current_values(k);
            for (const auto& sub : split_list(v)) {
                std::erase(values, sub);
            }
            if (values.empty()) {
                item->add_remove(k);
            } else {
                (*item->mutable_set())[k] = join_list(values);
            }
        }
    }
    auto resp = ctx.call(&ctl::alter_topic_configs, req);
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return;
    }
    print_item_results(ctx, resp->topics());
    if (o.wait.count() > 0 && !o.dry) {
        wait_for_brokers(ctx, resp->revision(), o.wait);
    }
}

// ------------------------------------------------------------ add-partitions

struct add_partitions_options {
    std::vector<std::string> topics;
    int32_t num = 0;
    std::chrono::milliseconds wait{0};
};

void run_add_partitions(cli_context& ctx, const add_partitions_options& o) {
    if (ctx.format() == output_format::help) {
        std::cout << "[{\"topic\": string, \"status\": \"OK\"|error code, \"message\": string}]\n";
        return;
    }
    if (o.num <= 0) {
        ctx.fail(exit_code::usage,
                 fmt::format("-n/--num: must be > 0 (partitions to add), got {}", o.num));
        return;
    }
    v1::ListTopicsRequest lr;
    for (const auto& n : o.topics) {
        lr.add_names(n);
    }
    auto listed = ctx.call(&ctl::list_topics, lr);
    if (!listed) {
        ctx.fail(exit_code::failed, listed.error().detail);
        return;
    }
    std::map<std::string, int32_t> counts;
    for (const auto& t : listed->topics()) {
        counts[t.name()] = t.partitions_size();
    }
    v1::CreatePartitionsRequest req;
    for (const auto& n : o.topics) {
        auto* item = req.add_topics();
        item->set_name(n);
        // An unknown topic gets total = num; the controller answers UNKNOWN_TOPIC.
        item->set_total((counts.count(n) > 0 ? counts[n] : 0) + o.num);
    }
    auto resp = ctx.call(&ctl::create_partitions, req);
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return;
    }
    print_item_results(ctx, resp->topics());
    if (o.wait.count() > 0) {
        wait_for_brokers(ctx, resp->revision(), o.wait);
    }
}

// ------------------------------------------------------------ list

struct list_options {
    std::vector<std::string> topics;
    bool detailed = false;
    bool internal = false;
    bool regex = false;
};

json partitions_json(const v1::Topic& t) {
    json parts = json::array();
    for (const auto& p : t.partitions()) {
        parts.push_back(
            {{"partition", p.partition()},
             {"leader", p.leader()},
             {"epoch", p.leader_epoch()},
             {"replicas", std::vector<int32_t>(p.replicas().begin(), p.replicas().end())}});
    }
    return parts;
}

void run_list(cli_context& ctx, const list_options& o) {
    if (ctx.format() == output_format::help) {
        std::cout << "[{\"name\": string, \"partitions\": int, \"replicas\": int, "
                     "\"partition_list\" (with -d): [{\"partition\": int, \"leader\": int, "
                     "\"epoch\": int, \"replicas\": [int]}]}]\n";
        return;
    }
    if (o.internal && o.regex) {
        ctx.fail(exit_code::usage,
                 "cannot list with internal topics and list by regular expression");
        return;
    }
    v1::ListTopicsRequest req;
    if (!o.regex) {
        for (const auto& n : o.topics) {
            req.add_names(n);
        }
    }
    auto resp = ctx.call(&ctl::list_topics, req);
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return;
    }
    std::vector<std::regex> patterns;
    if (o.regex) {
        for (const auto& p : o.topics) {
            try {
                patterns.emplace_back("^(?:" + p + ")$");
            } catch (const std::regex_error& e) {
                ctx.fail(exit_code::usage, fmt::format("bad regex \"{}\": {}", p, e.what()));
                return;
            }
        }
    }
    json doc = json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : resp->topics()) {
        if (is_internal(t.name()) && !o.internal && o.topics.empty()) {
            continue;
        }
        if (!patterns.empty() &&
            std::none_of(patterns.begin(), patterns.end(),
                         [&](const std::regex& re) { return std::regex_match(t.name(), re); })) {
            continue;
        }
        json item = {{"name", t.name()},
                     {"partitions", t.partitions_size()},
                     {"replicas", t.replication_factor()}};
        if (o.detailed) {
            item["partition_list"] = partitions_json(t);
        }
        doc.push_back(item);
        rows.push_back({t.name(), std::to_string(t.partitions_size()),
                        std::to_string(t.replication_factor())});
    }
    for (const auto& m : resp->missing()) {
        ctx.fail(exit_code::failed, fmt::format("topic \"{}\" does not exist", m));
    }
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        if (!o.detailed) {
            return render_table({"name", "partitions", "replicas"}, rows);
        }
        std::string out;
        for (const auto& t : resp->topics()) {
            if (doc.empty()) {
                break;
            }
            bool shown = false;
            for (const auto& d : doc) {
                shown = shown || d["name"] == t.name();
            }
            if (!shown) {
                continue;
            }
            out += fmt::format("{}, {} partitions, {} replicas\n", t.name(), t.partitions_size(),
                               t.replication_factor());
            std::vector<std::vector<std::string>> prow;
            for (const auto& p : t.partitions()) {
                prow.push_back({std::to_string(p.partition()), std::to_string(p.leader()),
                                std::to_string(p.leader_epoch()),
                                fmt::format("[{}]", fmt::join(p.replicas(), " "))});
            }
            out += render_table({"partition", "leader", "epoch", "replicas"}, prow) + "\n";
        }
        return out;
    });
}

// ------------------------------------------------------------ describe

struct describe_options {
    std::vector<std::string> topics;
    bool summary = false;
    bool configs = false;
    bool partitions = false;
    bool all = false;
};

/// A storage fact as JSON: null when unknown.
json opt(const std::optional<int64_t>& v) {
    return v ? json(*v) : json(nullptr);
}

std::string opt_text(const std::optional<int64_t>& v) {
    return v ? std::to_string(*v) : "-";
}

/// The remote start: the log start clients see when the topic reads from
/// the object store and the partition has data there (ListOffsets EARLIEST
/// answers it then); unknown otherwise.
std::optional<int64_t> remote_start(const v1::Topic& t, const kafka::partition_storage& ps) {
    auto it = t.configs().find("redpanda.remote.read");
    if (it == t.configs().end() || it->second != "true" || !ps.remote_bytes ||
        *ps.remote_bytes <= 0) {
        return std::nullopt;
    }
    return ps.log_start;
}

/// The brokers' Kafka endpoints by id (the one named "kafka", else the first).
std::map<int32_t, std::string> kafka_endpoints(const v1::ListBrokersResponse& resp) {
    std::map<int32_t, std::string> out;
    for (const auto& item : resp.brokers()) {
        const v1::Endpoint* ep = nullptr;
        for (const auto& e : item.broker().endpoints()) {
            if (ep == nullptr || e.name() == "kafka") {
                ep = &e;
            }
        }
        if (ep != nullptr) {
            out[item.broker().id()] = ep->host().find(':') != std::string::npos
                                          ? fmt::format("[{}]:{}", ep->host(), ep->port())
                                          : fmt::format("{}:{}", ep->host(), ep->port());
        }
    }
    return out;
}

void run_describe(cli_context& ctx, const describe_options& o) {
    if (ctx.format() == output_format::help) {
        std::cout << "[{\"summary\": {\"name\": string, \"uuid\": string, \"internal\": bool, "
                     "\"partitions\": int, \"replicas\": int, \"revision\": int, "
                     "\"created_by\": string, \"updated_by\": string}, \"configs\": [{\"key\": "
                     "string, \"value\": string, \"source\": \"topic\"}], \"partitions\": "
                     "[{\"partition\": int, \"leader\": int, \"epoch\": int, \"replicas\": "
                     "[int], \"log_start_offset\": int|null, \"local_start_offset\": int|null, "
                     "\"high_watermark\": int|null, \"local_size_bytes\": int|null, "
                     "\"remote_start_offset\": int|null, \"remote_size_bytes\": int|null, "
                     "\"remote_lag_offsets\": int|null, \"storage_error\" (when something "
                     "is unknown): string}]}]\n";
        return;
    }
    v1::ListTopicsRequest req;
    for (const auto& n : o.topics) {
        req.add_names(n);
    }
    auto resp = ctx.call(&ctl::list_topics, req);
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return;
    }
    for (const auto& m : resp->missing()) {
        ctx.fail(exit_code::failed, fmt::format("topic \"{}\" does not exist", m));
    }
    const bool any = o.summary || o.configs || o.partitions;
    const bool all = o.all || o.topics.size() > 1;
    const bool show_summary = all || o.summary || !any;
    const bool show_configs = all || o.configs || !any;
    const bool show_partitions = all || o.partitions;
    // The partitions' offsets and sizes, from their leaders (JSON and YAML
    // always carry every section).
    std::map<kafka::topic_partition, kafka::partition_storage> storage;
    if ((show_partitions || ctx.format() != output_format::text) && resp->topics_size() > 0) {
        auto brokers = ctx.call(&ctl::list_brokers, v1::ListBrokersRequest{});
        const std::vector<v1::Topic> topics(resp->topics().begin(), resp->topics().end());
        storage = kafka::describe_storage(
            ctx.cfg(), topics,
            brokers ? kafka_endpoints(*brokers) : std::map<int32_t, std::string>{});
        if (!brokers) {
            for (auto& [tp, ps] : storage) {
                ps.error = "the brokers are unknown: " + brokers.error().detail;
            }
        }
    }
    json doc = json::array();
    std::string text;
    for (const auto& t : resp->topics()) {
        json summary = {{"name", t.name()},
                        {"uuid", t.uuid()},
                        {"internal", is_internal(t.name())},
                        {"partitions", t.partitions_size()},
                        {"replicas", t.replication_factor()},
                        {"revision", t.updated().revision()},
                        {"created_by", t.created().principal()},
                        {"updated_by", t.updated().principal()}};
        json configs = json::array();
        std::vector<std::vector<std::string>> crow;
        for (const auto& [k, v] :
             std::map<std::string, std::string>(t.configs().begin(), t.configs().end())) {
            configs.push_back({{"key", k}, {"value", v}, {"source", "topic"}});
            crow.push_back({k, v, "topic"});
        }
        json parts = partitions_json(t);
        std::vector<std::vector<std::string>> prow;
        for (size_t i = 0; i < static_cast<size_t>(t.partitions_size()); ++i) {
            const auto& p = t.partitions(static_cast<int>(i));
            const kafka::partition_storage ps = storage.count({t.name(), p.partition()}) > 0
                                                    ? storage.at({t.name(), p.partition()})
                                                    : kafka::partition_storage{};
            const auto rstart = remote_start(t, ps);
            json& pj = parts[i];
            pj["log_start_offset"] = opt(ps.log_start);
            pj["local_start_offset"] = opt(ps.local_start);
            pj["high_watermark"] = opt(ps.high_watermark);
            pj["local_size_bytes"] = opt(ps.local_bytes);
            pj["remote_start_offset"] = opt(rstart);
            pj["remote_size_bytes"] = opt(ps.remote_bytes);
            pj["remote_lag_offsets"] = opt(ps.remote_lag);
            if (!ps.error.empty()) {
                pj["storage_error"] = ps.error;
                if (show_partitions && ctx.format() == output_format::text) {
                    std::cerr << fmt::format("fjord: {}-{}: {}\n", t.name(), p.partition(),
                                             ps.error);
                }
            }
            prow.push_back({std::to_string(p.partition()), std::to_string(p.leader()),
                            std::to_string(p.leader_epoch()),
                            fmt::format("[{}]", fmt::join(p.replicas(), " ")),
                            opt_text(ps.log_start), opt_text(ps.local_start),
                            opt_text(ps.high_watermark), opt_text(ps.local_bytes), opt_text(rstart),
                            opt_text(ps.remote_bytes)});
        }
        doc.push_back({{"summary", summary}, {"configs", configs}, {"partitions", parts}});
        if (show_summary) {
            text += render_table(
                {"name", "uuid", "partitions", "replicas", "revision"},
                {{t.name(), t.uuid(), std::to_string(t.partitions_size()),
                  std::to_string(t.replication_factor()), std::to_string(t.updated().revision())}});
        }
        if (show_configs) {
            text += "\n" + (crow.empty() ? std::string("(no topic configs set; all defaults)\n")
                                         : render_table({"key", "value", "source"}, crow));
        }
        if (show_partitions) {
            text += "\n" + render_table({"partition", "leader", "epoch", "replicas",
                                         "log-start-offset", "local-start-offset", "high-watermark",
                                         "local-size", "remote-start-offset", "remote-size"},
                                        prow);
        }
        text += "\n";
    }
    print_output(std::cout, ctx.format(), doc, [&](bool) { return text; });
}

}  // namespace

void register_topic_commands(CLI::App& root, cli_context& ctx) {
    auto* topic = root.add_subcommand("topic", "Create, delete, list and describe topics");
    topic->require_subcommand(1);

    auto co = std::make_shared<create_options>();
    auto* create = topic->add_subcommand("create", "Create topics");
    create->add_option("topics", co->topics, "Topic names")->required();
    create->add_option("-p,--partitions", co->partitions,
                       "Partitions per topic (-1: the cluster's default_topic_partitions)");
    create->add_option("-r,--replicas", co->replicas,
                       "Replication factor, odd (-1: default_topic_replications)");
    create->add_option("-c,--topic-config", co->configs, "Topic config key=value (repeatable)");
    create->add_flag("-d,--dry", co->dry, "Validate only; exit 0 if it would succeed");
    create->add_flag("--if-not-exists", co->if_not_exists,
                     "Succeed if an identical topic exists; fail naming each difference if it "
                     "differs");
    add_wait_flag(create, co->wait);
    create->callback([&ctx, co] {
        if (ctx.prepare()) {
            run_create(ctx, *co);
        }
    });

    auto dopt = std::make_shared<delete_options>();
    auto* del = topic->add_subcommand("delete", "Delete topics");
    del->add_option("topics", dopt->topics, "Topic names (regexes with -r)")->required();
    del->add_flag("-r,--regex", dopt->regex, "Treat arguments as regular expressions");
    del->add_flag("--if-exists", dopt->if_exists, "A topic that does not exist is not an error");
    add_wait_flag(del, dopt->wait);
    del->callback([&ctx, dopt] {
        if (ctx.prepare()) {
            run_delete(ctx, *dopt);
        }
    });

    auto ao = std::make_shared<alter_options>();
    auto* alter = topic->add_subcommand("alter-config",
                                        "Set, delete, append to or subtract from topic configs");
    alter->add_option("topics", ao->topics, "Topic names")->required();
    alter->add_option("-s,--set", ao->set, "key=value to set (repeatable)");
    alter->add_option("-d,--delete", ao->del, "key to reset to its default (repeatable)");
    alter->add_option("--append", ao->append, "key=value to add to a list value");
    alter->add_option("--subtract", ao->subtract, "key=value to remove from a list value");
    alter->add_flag("--dry", ao->dry, "Validate only; exit 0 if it would succeed");
    add_wait_flag(alter, ao->wait);
    alter->callback([&ctx, ao] {
        if (ctx.prepare()) {
            run_alter(ctx, *ao);
        }
    });

    auto apo = std::make_shared<add_partitions_options>();
    auto* addp = topic->add_subcommand("add-partitions", "Add partitions to topics");
    addp->add_option("topics", apo->topics, "Topic names")->required();
    addp->add_option("-n,--num", apo->num, "Partitions to add (not the new total)")->required();
    add_wait_flag(addp, apo->wait);
    addp->callback([&ctx, apo] {
        if (ctx.prepare()) {
            run_add_partitions(ctx, *apo);
        }
    });

    auto lo = std::make_shared<list_options>();
    auto* list = topic->add_subcommand("list", "List topics");
    list->alias("ls");
    list->add_option("topics", lo->topics, "Only these topics (regexes with -r)");
    list->add_flag("-d,--detailed", lo->detailed, "Per-partition information");
    list->add_flag("-i,--internal", lo->internal, "Include internal topics");
    list->add_flag("-r,--regex", lo->regex, "Treat arguments as regular expressions");
    list->callback([&ctx, lo] {
        if (ctx.prepare()) {
            run_list(ctx, *lo);
        }
    });

    register_record_commands(*topic, ctx);
    register_trim_command(*topic, ctx);

    auto dso = std::make_shared<describe_options>();
    auto* describe = topic->add_subcommand("describe", "Describe topics");
    describe->alias("info");
    describe->add_option("topics", dso->topics, "Topic names")->required();
    describe->add_flag("-s,--print-summary", dso->summary, "Summary section");
    describe->add_flag("-c,--print-configs", dso->configs, "Config section");
    describe->add_flag("-p,--print-partitions", dso->partitions, "Partition section");
    describe->add_flag("-a,--print-all", dso->all, "All sections");
    describe->callback([&ctx, dso] {
        if (ctx.prepare()) {
            run_describe(ctx, *dso);
        }
    });
}

}  // namespace fjord::cli
