// File: cli/shadow/printers.cc
//
// list, describe and status output (contract: printers.h).

#include "cli/shadow/printers.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "cli/output/printer.h"
#include "cli/shadow/config_yaml.h"
#include "common/cluster/shadow_link.h"

namespace fjord::cli::shadow {
namespace {

using json = nlohmann::json;
using rows = std::vector<std::pair<std::string, std::string>>;
namespace rules = cluster::shadow;

/// An rpk section: the title, underlined, then the body (sections are
/// joined with a blank line).
std::string section(std::string_view title, const std::string& body) {
    return fmt::format("{}\n{}\n{}", title, std::string(title.size(), '='), body);
}

/// KEY  value rows, keys aligned.
std::string key_values(const rows& kv) {
    size_t w = 0;
    for (const auto& [k, v] : kv) {
        w = std::max(w, k.size());
    }
    std::string out;
    for (const auto& [k, v] : kv) {
        out += fmt::format("{:<{}}  {}\n", k, w, v);
    }
    return out;
}

std::string or_dash(const std::string& s) {
    return s.empty() ? "-" : s;
}

std::string yes_no(bool b) {
    return b ? "true" : "false";
}

std::string joined(const google::protobuf::RepeatedPtrField<std::string>& xs) {
    return xs.empty() ? "-" : fmt::format("{}", fmt::join(xs, ", "));
}

std::string state_name(v1::ShadowLinkState s) {
    return std::string(rules::to_string(s));
}

/// The document's name of an enum (config_yaml.h's spellings), "-" when unset.
std::string spelled(const json& j, const char* key) {
    return j.contains(key) ? j[key].get<std::string>() : "-";
}

std::string indent(const std::string& text) {
    std::string out;
    for (size_t a = 0, b; a < text.size(); a = b + 1) {
        b = text.find('\n', a);
        if (b == std::string::npos) {
            b = text.size();
        }
        out += "  " + text.substr(a, b - a) + "\n";
    }
    return out;
}

std::string filter_table(const json& filters) {
    std::vector<std::vector<std::string>> r;
    for (const auto& f : filters) {
        r.push_back({spelled(f, "pattern_type"), spelled(f, "filter_type"), spelled(f, "name")});
    }
    if (r.empty()) {
        return "  (none: nothing matches)\n";
    }
    return indent(render_table({"pattern", "filter", "name"}, r));
}

std::string overview_text(const v1::ShadowLink& l) {
    return section(
        "OVERVIEW",
        key_values({{"NAME", l.name()}, {"UID", l.uuid()}, {"STATE", state_name(l.state())}}));
}

std::string client_text(const v1::ShadowLink& l) {
    const v1::ShadowClientOptions& c = l.config().client_options();
    rows kv = {{"BOOTSTRAP SERVERS", joined(c.bootstrap_servers())},
               {"SOURCE CLUSTER ID", or_dash(c.source_cluster_id())}};
    const auto& t = c.tls_settings();
    kv.push_back({"TLS ENABLED", yes_no(c.has_tls_settings() && t.enabled())});
    if (t.has_tls_file_settings()) {
        kv.push_back({"TLS CA PATH", or_dash(t.tls_file_settings().ca_path())});
        kv.push_back({"TLS CERT PATH", or_dash(t.tls_file_settings().cert_path())});
        kv.push_back({"TLS KEY PATH", or_dash(t.tls_file_settings().key_path())});
    }
    if (t.has_tls_pem_settings()) {
        kv.push_back({"TLS CA (PEM)", t.tls_pem_settings().ca().empty() ? "-" : "set"});
        kv.push_back({"TLS CERT (PEM)", t.tls_pem_settings().cert().empty() ? "-" : "set"});
        kv.push_back({"TLS KEY FINGERPRINT", or_dash(t.tls_pem_settings().key_fingerprint())});
    }
    if (c.has_tls_settings()) {
        kv.push_back({"TLS SNI", t.do_not_set_sni_hostname() ? "not set" : "host name"});
    }
    const auto& a = c.authentication_configuration();
    const auto sasl = [&](const std::string& mech, const std::string& user, bool set, int64_t at) {
        kv.push_back({"SASL MECHANISM", mech});
        kv.push_back({"SASL USERNAME", or_dash(user)});
        kv.push_back({"PASSWORD SET", yes_no(set)});
        kv.push_back({"PASSWORD SET AT", set && at > 0 ? format_rfc3339_ms(at) : "-"});
    };
    if (a.has_scram_configuration()) {
        const auto& s = a.scram_configuration();
        sasl(s.scram_mechanism(), s.username(), s.password_set(), s.password_set_at_ms());
    } else if (a.has_plain_configuration()) {
        const auto& s = a.plain_configuration();
        sasl("PLAIN", s.username(), s.password_set(), s.password_set_at_ms());
    } else {
        kv.push_back({"SASL MECHANISM", "-"});
    }
    const rules::client_tunables e = rules::effective(c);
    kv.push_back({"METADATA MAX AGE MS", std::to_string(e.metadata_max_age_ms)});
    kv.push_back({"CONNECTION TIMEOUT MS", std::to_string(e.connection_timeout_ms)});
    kv.push_back({"RETRY BACKOFF MS", std::to_string(e.retry_backoff_ms)});
    kv.push_back({"FETCH WAIT MAX MS", std::to_string(e.fetch_wait_max_ms)});
    kv.push_back({"FETCH MIN BYTES", std::to_string(e.fetch_min_bytes)});
    kv.push_back({"FETCH MAX BYTES", std::to_string(e.fetch_max_bytes)});
    kv.push_back({"FETCH PARTITION MAX BYTES", std::to_string(e.fetch_partition_max_bytes)});
    return section("CLIENT", key_values(kv));
}

template <typename T>
void task_rows(rows& kv, const T& t) {
    kv.push_back({"INTERVAL", format_duration_ms(rules::effective_interval_ms(t.interval_ms()))});
    kv.push_back({"PAUSED", yes_no(t.paused())});
}

std::string topic_text(const v1::ShadowLink& l) {
    const auto& t = l.config().topic_metadata_sync_options();
    rows kv;
    task_rows(kv, t);
    kv.push_back({"EXCLUDE DEFAULT", yes_no(t.exclude_default())});
    const int64_t at = rules::start_at(t);
    kv.push_back({"START AT", at == -2 ? "earliest" : at == -1 ? "latest" : format_rfc3339_ms(at)});
    const auto synced = rules::synced_properties(t);
    kv.push_back(
        {"SYNCED PROPERTIES", synced.empty() ? "-" : fmt::format("{}", fmt::join(synced, ", "))});
    const json doc = json::parse(to_document(l).dump());
    const json filters =
        doc.contains("topic_metadata_sync_options")
            ? doc["topic_metadata_sync_options"]["auto_create_shadow_topic_filters"]
            : json::array();
    return section("TOPIC METADATA SYNC",
                   key_values(kv) + "AUTO-CREATE FILTERS\n" + filter_table(filters));
}

std::string consumer_text(const v1::ShadowLink& l) {
    rows kv;
    task_rows(kv, l.config().consumer_offset_sync_options());
    const json doc = json::parse(to_document(l).dump());
    const json filters = doc.contains("consumer_offset_sync_options")
                             ? doc["consumer_offset_sync_options"]["group_filters"]
                             : json::array();
    return section("CONSUMER OFFSET SYNC",
                   key_values(kv) + "GROUP FILTERS\n" + filter_table(filters));
}

std::string security_text(const v1::ShadowLink& l) {
    rows kv;
    task_rows(kv, l.config().security_sync_options());
    const json doc = json::parse(to_document(l).dump());
    std::vector<std::vector<std::string>> r;
    if (doc.contains("security_sync_options")) {
        for (const auto& f : doc["security_sync_options"]["acl_filters"]) {
            const json& res = f["resource_filter"];
            const json& acc = f["access_filter"];
            r.push_back({spelled(res, "resource_type"), spelled(res, "pattern_type"),
                         res.contains("name") ? res["name"].get<std::string>() : "(any)",
                         acc.contains("principal") ? acc["principal"].get<std::string>() : "(any)",
                         spelled(acc, "operation"), spelled(acc, "permission_type"),
                         acc.contains("host") ? acc["host"].get<std::string>() : "(any)"});
        }
    }
    const std::string table =
        r.empty() ? "  (none: no ACLs are synced)\n"
                  : indent(render_table({"resource_type", "pattern", "name", "principal",
                                         "operation", "permission", "host"},
                                        r));
    return section("SECURITY SYNC", key_values(kv) + "ACL FILTERS\n" + table);
}

}  // namespace

// ------------------------------------------------------------------- list

nlohmann::json list_doc(const std::vector<v1::ShadowLink>& links) {
    std::vector<const v1::ShadowLink*> sorted;
    for (const auto& l : links) {
        sorted.push_back(&l);
    }
    std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
        return std::pair(a->name(), state_name(a->state())) <
               std::pair(b->name(), state_name(b->state()));
    });
    json out = json::array();
    for (const auto* l : sorted) {
        out.push_back({{"name", l->name()}, {"UID", l->uuid()}, {"state", state_name(l->state())}});
    }
    return out;
}

std::string list_text(const std::vector<v1::ShadowLink>& links) {
    std::vector<std::vector<std::string>> r;
    for (const auto& j : list_doc(links)) {
        r.push_back({j["name"].get<std::string>(), j["UID"].get<std::string>(),
                     j["state"].get<std::string>()});
    }
    return render_table({"name", "uid", "state"}, r);
}

// --------------------------------------------------------------- describe

void describe_sections::defaults_if_none() {
    if (!overview && !client && !topic && !consumer && !security) {
        overview = true;
        client = true;
    }
}

nlohmann::json describe_doc(const v1::ShadowLink& l) {
    json doc = json::parse(to_document(l, {.output_fields = true}).dump());
    doc["uid"] = l.uuid();
    doc["state"] = state_name(l.state());
    return doc;
}

std::string describe_text(const v1::ShadowLink& l, const describe_sections& s) {
    std::vector<std::string> parts;
    if (s.overview) {
        parts.push_back(overview_text(l));
    }
    if (s.client) {
        parts.push_back(client_text(l));
    }
    if (s.topic) {
        parts.push_back(topic_text(l));
    }
    if (s.consumer) {
        parts.push_back(consumer_text(l));
    }
    if (s.security) {
        parts.push_back(security_text(l));
    }
    return fmt::format("{}", fmt::join(parts, "\n"));
}

// ----------------------------------------------------------------- status

void status_sections::defaults_if_none() {
    if (!overview && !tasks && !topics) {
        overview = tasks = topics = true;
    }
}

int64_t partition_lag(const v1::ShadowPartitionStatus& p) {
    if (p.source_hwm() < 0 || p.shadow_hwm() < 0) {
        return -1;
    }
    return std::max<int64_t>(0, p.source_hwm() - p.shadow_hwm());
}

nlohmann::json status_doc(const v1::GetShadowLinkStatusResponse& r) {
    json tasks = json::array();
    for (const auto& t : r.tasks()) {
        tasks.push_back({{"name", t.name()},
                         {"broker_id", t.broker_id()},
                         {"shard", t.shard()},
                         {"state", t.state()},
                         {"reason", t.reason()}});
    }
    json topics = json::array();
    for (const auto& t : r.topics()) {
        json parts = json::array();
        for (const auto& p : t.partitions()) {
            parts.push_back({{"partition_id", p.partition()},
                             {"src_lso", p.source_lso()},
                             {"src_hwm", p.source_hwm()},
                             {"dst_hwm", p.shadow_hwm()},
                             {"lag", partition_lag(p)}});
        }
        topics.push_back({{"name", t.name()},
                          {"id", t.id()},
                          {"state", std::string(rules::to_string(t.state()))},
                          {"reason", t.reason()},
                          {"partitions", parts}});
    }
    json props = json::array();
    for (const auto& p : r.synced_shadow_topic_properties()) {
        props.push_back(p);
    }
    return {{"overview",
             {{"name", r.link().name()},
              {"id", r.link().uuid()},
              {"state", state_name(r.link().state())}}},
            {"tasks", tasks},
            {"topics", topics},
            {"synced_shadow_topic_properties", props}};
}

std::string status_text(const v1::GetShadowLinkStatusResponse& r, const status_sections& s) {
    std::vector<std::string> parts;
    if (s.overview) {
        parts.push_back(overview_text(r.link()));
    }
    const auto offset = [](int64_t v) { return v < 0 ? std::string("-") : std::to_string(v); };
    if (s.tasks) {
        std::vector<std::vector<std::string>> rs;
        for (const auto& t : r.tasks()) {
            rs.push_back({t.name(), t.broker_id() < 0 ? "-" : std::to_string(t.broker_id()),
                          std::to_string(t.shard()), t.state(), or_dash(t.reason())});
        }
        parts.push_back(section(
            "TASKS", rs.empty()
                         ? "No tasks to display right now.\n"
                         : render_table({"name", "broker_id", "shard", "state", "reason"}, rs)));
    }
    if (s.topics) {
        std::string body;
        if (r.topics().empty()) {
            body = "No topics are being shadowed.\n\n";
        }
        for (const auto& t : r.topics()) {
            body += fmt::format("Name: {}, ID: {}, State: {}{}\n", t.name(), or_dash(t.id()),
                                rules::to_string(t.state()),
                                t.reason().empty() ? "" : fmt::format(" ({})", t.reason()));
            std::vector<std::vector<std::string>> rs;
            for (const auto& p : t.partitions()) {
                rs.push_back({std::to_string(p.partition()), offset(p.source_lso()),
                              offset(p.source_hwm()), offset(p.shadow_hwm()),
                              offset(partition_lag(p))});
            }
            body += rs.empty() ? "  (no partition has reported yet)\n"
                               : indent(render_table(
                                     {"partition", "src_lso", "src_hwm", "dst_hwm", "lag"}, rs));
            body += "\n";
        }
        body += "Synced Shadow Topic Properties:\n";
        if (r.synced_shadow_topic_properties().empty()) {
            body += "  -\n";
        }
        for (const auto& p : r.synced_shadow_topic_properties()) {
            body += fmt::format("  - {}\n", p);
        }
        parts.push_back(section("TOPICS", body));
    }
    return fmt::format("{}", fmt::join(parts, "\n"));
}

}  // namespace fjord::cli::shadow
