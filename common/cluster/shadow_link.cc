// File: common/cluster/shadow_link.cc
//
// The shadow-link rules (shadow_link.h).

#include "common/cluster/shadow_link.h"

#include <algorithm>
#include <array>
#include <set>

#include <fmt/format.h>

#include "common/cluster/config_schema.h"
#include "common/cluster/errc.h"
#include "common/host_port.h"

namespace fjord::cluster::shadow {
namespace {

error_info bad(std::string_view field, std::string_view reason) {
    return error_info::for_field(errc::invalid_argument, field, reason);
}

bool starts_with(std::string_view s, std::string_view p) {
    return s.substr(0, p.size()) == p;
}

/// Names no wildcard or prefix filter may reach (§10.3).
constexpr std::array<std::string_view, 3> reserved_literals = {"__consumer_offsets", "_schemas",
                                                               "_redpanda.audit_log"};
constexpr std::array<std::string_view, 3> system_prefixes = {"_redpanda", "__redpanda", "__fjord"};

/// Cluster-local properties that never follow the source (§10.2), plus this
/// cluster's own tiering placement.
constexpr std::array<std::string_view, 9> never_synced = {
    "redpanda.remote.readreplica", "redpanda.remote.recovery",    "redpanda.remote.allowgaps",
    "redpanda.virtual.cluster.id", "redpanda.leaders.preference", "redpanda.cloud_topic.enabled",
    "redpanda.remote.read",        "redpanda.remote.write",       "redpanda.remote.delete"};

result<void> check_tunable(int64_t v, int64_t max, std::string_view field) {
    if (v < 0) {
        return bad(field, fmt::format("{} is negative (0 means the default)", v));
    }
    if (v > max) {
        return bad(field, fmt::format("{} is above the maximum {}", v, max));
    }
    return {};
}

result<void> check_interval(int64_t v, std::string_view field) {
    if (v < 0) {
        return bad(field, "a negative interval");
    }
    if (v > 0 && v < 100) {
        return bad(field, fmt::format("{} ms is below the 100 ms minimum", v));
    }
    return {};
}

result<void> check_filters(const google::protobuf::RepeatedPtrField<v1::ShadowNameFilter>& fs,
                           filter_kind kind, std::string_view field) {
    for (int i = 0; i < fs.size(); ++i) {
        if (auto r = check_name_filter(fs[i], kind, fmt::format("{}[{}]", field, i)); !r) {
            return r;
        }
    }
    return {};
}

result<void> check_link_name(std::string_view name) {
    if (name.empty()) {
        return bad("name", "required");
    }
    if (name.size() > 128) {
        return bad("name", fmt::format("{} characters; at most 128", name.size()));
    }
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) {
            return bad("name", fmt::format("\"{}\" has a character outside [a-zA-Z0-9._-]", name));
        }
    }
    return {};
}

result<void> check_client(const v1::ShadowClientOptions& c, bool password_may_be_kept) {
    const std::string p = "client_options";
    if (c.bootstrap_servers().empty()) {
        return bad(p + ".bootstrap_servers", "at least one host:port is required");
    }
    for (int i = 0; i < c.bootstrap_servers().size(); ++i) {
        if (auto hp = parse_host_port(c.bootstrap_servers(i)); !hp) {
            return bad(fmt::format("{}.bootstrap_servers[{}]", p, i),
                       fmt::format("\"{}\": {}", c.bootstrap_servers(i), hp.error().detail));
        }
    }
    if (c.has_tls_settings()) {
        const auto& t = c.tls_settings();
        const std::string tp = p + ".tls_settings";
        if (t.has_tls_file_settings() && t.has_tls_pem_settings()) {
            return bad(tp, "both tls_file_settings and tls_pem_settings are set; choose one");
        }
        if (t.has_tls_file_settings()) {
            const auto& f = t.tls_file_settings();
            if (f.key_path().empty() != f.cert_path().empty()) {
                return bad(tp + ".tls_file_settings",
                           "key_path and cert_path go together: both or neither");
            }
        }
        if (t.has_tls_pem_settings()) {
            const auto& f = t.tls_pem_settings();
            // An update may leave the key out (it is never returned): the
            // stored one is kept, like a password.
            const bool key_given = !f.key().empty() || (password_may_be_kept && !f.cert().empty());
            if (key_given != !f.cert().empty()) {
                return bad(tp + ".tls_pem_settings", "key and cert go together: both or neither");
            }
        }
        if (!t.enabled() && (t.has_tls_file_settings() || t.has_tls_pem_settings())) {
            return bad(tp + ".enabled", "false while TLS files or PEM are given");
        }
    }
    if (c.has_authentication_configuration()) {
        const auto& a = c.authentication_configuration();
        const std::string ap = p + ".authentication_configuration";
        if (a.has_scram_configuration()) {
            const auto& s = a.scram_configuration();
            const std::string sp = ap + ".scram_configuration";
            if (s.username().empty()) {
                return bad(sp + ".username", "required");
            }
            if (s.password().empty() && !(password_may_be_kept && s.password_set())) {
                return bad(sp + ".password", "required");
            }
            if (s.scram_mechanism() != "SCRAM-SHA-256" && s.scram_mechanism() != "SCRAM-SHA-512") {
                return bad(sp + ".scram_mechanism",
                           fmt::format("\"{}\": expected SCRAM-SHA-256 or SCRAM-SHA-512",
                                       s.scram_mechanism()));
            }
        } else if (a.has_plain_configuration()) {
            const auto& s = a.plain_configuration();
            const std::string sp = ap + ".plain_configuration";
            if (s.username().empty()) {
                return bad(sp + ".username", "required");
            }
            if (s.password().empty() && !(password_may_be_kept && s.password_set())) {
                return bad(sp + ".password", "required");
            }
        }
    }
    // Bounds keep one slow source from stalling the tasks that share a
    // thread (a driver pass, a broker's fetch loop).
    const struct {
        int64_t v;
        int64_t max;
        const char* name;
    } tunables[] = {{c.metadata_max_age_ms(), 3600000, "metadata_max_age_ms"},
                    {c.connection_timeout_ms(), 60000, "connection_timeout_ms"},
                    {c.retry_backoff_ms(), 60000, "retry_backoff_ms"},
                    {c.fetch_wait_max_ms(), 30000, "fetch_wait_max_ms"},
                    {c.fetch_min_bytes(), 256 << 20, "fetch_min_bytes"},
                    {c.fetch_max_bytes(), 256 << 20, "fetch_max_bytes"},
                    {c.fetch_partition_max_bytes(), 256 << 20, "fetch_partition_max_bytes"}};
    for (const auto& t : tunables) {
        if (auto r = check_tunable(t.v, t.max, p + "." + t.name); !r) {
            return r;
        }
    }
    const auto e = effective(c);
    if (e.fetch_min_bytes > e.fetch_max_bytes) {
        return bad(p + ".fetch_min_bytes", fmt::format("{} is above fetch_max_bytes ({})",
                                                       e.fetch_min_bytes, e.fetch_max_bytes));
    }
    if (e.fetch_partition_max_bytes > e.fetch_max_bytes) {
        return bad(p + ".fetch_partition_max_bytes",
                   fmt::format("{} is above fetch_max_bytes ({})", e.fetch_partition_max_bytes,
                               e.fetch_max_bytes));
    }
    return {};
}

}  // namespace

client_tunables effective(const v1::ShadowClientOptions& o) {
    client_tunables t;
    auto pick = [](int32_t v, int32_t d) { return v > 0 ? v : d; };
    t.metadata_max_age_ms = pick(o.metadata_max_age_ms(), t.metadata_max_age_ms);
    t.connection_timeout_ms = pick(o.connection_timeout_ms(), t.connection_timeout_ms);
    t.retry_backoff_ms = pick(o.retry_backoff_ms(), t.retry_backoff_ms);
    t.fetch_wait_max_ms = pick(o.fetch_wait_max_ms(), t.fetch_wait_max_ms);
    t.fetch_min_bytes = pick(o.fetch_min_bytes(), t.fetch_min_bytes);
    t.fetch_max_bytes = pick(o.fetch_max_bytes(), t.fetch_max_bytes);
    t.fetch_partition_max_bytes = pick(o.fetch_partition_max_bytes(), t.fetch_partition_max_bytes);
    return t;
}

int64_t effective_interval_ms(int64_t configured_ms) {
    return configured_ms > 0 ? configured_ms : default_interval_ms;
}

result<void> validate_link(const v1::ShadowLink& l, bool password_may_be_kept) {
    if (auto r = check_link_name(l.name()); !r) {
        return r;
    }
    const auto& c = l.config();
    if (auto r = check_client(c.client_options(), password_may_be_kept); !r) {
        return r;
    }
    const auto& t = c.topic_metadata_sync_options();
    const std::string tp = "topic_metadata_sync_options";
    if (auto r = check_interval(t.interval_ms(), tp + ".interval"); !r) {
        return r;
    }
    if (auto r = check_filters(t.auto_create_shadow_topic_filters(), filter_kind::topic,
                               tp + ".auto_create_shadow_topic_filters");
        !r) {
        return r;
    }
    for (int i = 0; i < t.synced_shadow_topic_properties().size(); ++i) {
        if (auto r =
                check_synced_property(t.synced_shadow_topic_properties(i),
                                      fmt::format("{}.synced_shadow_topic_properties[{}]", tp, i));
            !r) {
            return r;
        }
    }
    if (t.start_at_case() == v1::ShadowTopicSyncOptions::kStartAtTimestampMs &&
        t.start_at_timestamp_ms() < 0) {
        return bad(tp + ".start_at_timestamp", "before 1970");
    }
    const auto& g = c.consumer_offset_sync_options();
    const std::string gp = "consumer_offset_sync_options";
    if (auto r = check_interval(g.interval_ms(), gp + ".interval"); !r) {
        return r;
    }
    if (auto r = check_filters(g.group_filters(), filter_kind::group, gp + ".group_filters"); !r) {
        return r;
    }
    const auto& s = c.security_sync_options();
    const std::string sp = "security_sync_options";
    if (auto r = check_interval(s.interval_ms(), sp + ".interval"); !r) {
        return r;
    }
    for (int i = 0; i < s.acl_filters().size(); ++i) {
        const auto& f = s.acl_filters(i);
        const std::string fp = fmt::format("{}.acl_filters[{}]", sp, i);
        if (!v1::AclResourceType_IsValid(f.resource_type())) {
            return bad(fp + ".resource_filter.resource_type", "not a valid value");
        }
        if (!v1::AclPatternType_IsValid(f.pattern_type())) {
            return bad(fp + ".resource_filter.pattern_type", "not a valid value");
        }
        if (!v1::AclOperation_IsValid(f.operation())) {
            return bad(fp + ".access_filter.operation", "not a valid value");
        }
        if (!v1::AclPermission_IsValid(f.permission())) {
            return bad(fp + ".access_filter.permission_type", "not a valid value");
        }
        if (f.has_principal() && !f.principal().empty() &&
            f.principal().find(':') == std::string::npos) {
            return bad(fp + ".access_filter.principal",
                       fmt::format("\"{}\": expected TYPE:NAME, e.g. User:alice", f.principal()));
        }
    }
    return {};
}

result<void> check_name_filter(const v1::ShadowNameFilter& f, filter_kind kind,
                               std::string_view field) {
    const std::string p(field);
    if (f.pattern_type() != v1::SHADOW_PATTERN_LITERAL &&
        f.pattern_type() != v1::SHADOW_PATTERN_PREFIX) {
        return bad(p + ".pattern_type", "expected LITERAL or PREFIX");
    }
    if (f.filter_type() != v1::SHADOW_FILTER_INCLUDE &&
        f.filter_type() != v1::SHADOW_FILTER_EXCLUDE) {
        return bad(p + ".filter_type", "expected INCLUDE or EXCLUDE");
    }
    if (f.name().empty()) {
        return bad(p + ".name", "required");
    }
    if (f.name().find('*') != std::string::npos) {
        if (f.name() != "*") {
            return bad(p + ".name", fmt::format("\"{}\": '*' must be the whole name", f.name()));
        }
        if (f.pattern_type() != v1::SHADOW_PATTERN_LITERAL) {
            return bad(p + ".pattern_type", "\"*\" needs LITERAL");
        }
    }
    if (kind == filter_kind::topic) {
        if (f.pattern_type() == v1::SHADOW_PATTERN_LITERAL) {
            for (auto r : reserved_literals) {
                if (f.name() == r) {
                    return bad(p + ".name",
                               fmt::format("\"{}\" is a system topic and cannot be shadowed", r));
                }
            }
        } else {
            for (auto sys : system_prefixes) {
                // A prefix that reaches a system name space, either way round.
                if (starts_with(sys, f.name()) || starts_with(f.name(), sys)) {
                    return bad(p + ".name", fmt::format("prefix \"{}\" matches the system topics "
                                                        "\"{}*\"",
                                                        f.name(), sys));
                }
            }
        }
    }
    return {};
}

bool is_system_topic(std::string_view name) {
    for (auto r : reserved_literals) {
        if (name == r) {
            return true;
        }
    }
    for (auto p : system_prefixes) {
        if (starts_with(name, p)) {
            return true;
        }
    }
    return false;
}

bool passes(const google::protobuf::RepeatedPtrField<v1::ShadowNameFilter>& filters,
            std::string_view name, filter_kind kind) {
    auto matches = [&](const v1::ShadowNameFilter& f) {
        if (f.pattern_type() == v1::SHADOW_PATTERN_LITERAL) {
            if (f.name() == "*") {
                return !(kind == filter_kind::topic && is_system_topic(name));
            }
            return name == f.name();
        }
        if (f.pattern_type() == v1::SHADOW_PATTERN_PREFIX) {
            return starts_with(name, f.name()) &&
                   !(kind == filter_kind::topic && is_system_topic(name));
        }
        return false;
    };
    for (const auto& f : filters) {
        if (f.filter_type() == v1::SHADOW_FILTER_EXCLUDE && matches(f)) {
            return false;
        }
    }
    for (const auto& f : filters) {
        if (f.filter_type() == v1::SHADOW_FILTER_INCLUDE && matches(f)) {
            return true;
        }
    }
    return false;
}

const std::vector<std::string>& always_synced_properties() {
    static const std::vector<std::string> v = {"cleanup.policy", "max.message.bytes",
                                               "message.timestamp.type"};
    return v;
}

const std::vector<std::string>& default_synced_properties() {
    static const std::vector<std::string> v = {"compression.type",      "delete.retention.ms",
                                               "max.compaction.lag.ms", "min.compaction.lag.ms",
                                               "retention.bytes",       "retention.ms"};
    return v;
}

result<void> check_synced_property(std::string_view key, std::string_view field) {
    if (key.empty()) {
        return bad(field, "an empty property name");
    }
    for (auto n : never_synced) {
        if (key == n) {
            return bad(field,
                       fmt::format("\"{}\" is local to each cluster and is never synced", key));
        }
    }
    // A typo would be listed as synced and never be.
    if (topic_config_schema().find(key) == nullptr) {
        return bad(field, fmt::format("\"{}\" is not a topic property", key));
    }
    return {};
}

std::vector<std::string> synced_properties(const v1::ShadowTopicSyncOptions& o) {
    std::set<std::string> all(always_synced_properties().begin(), always_synced_properties().end());
    if (!o.exclude_default()) {
        all.insert(default_synced_properties().begin(), default_synced_properties().end());
    }
    for (const auto& k : o.synced_shadow_topic_properties()) {
        if (check_synced_property(k, "")) {
            all.insert(k);
        }
    }
    return {all.begin(), all.end()};
}

bool is_synced_property(const v1::ShadowTopicSyncOptions& o, std::string_view key) {
    const auto v = synced_properties(o);
    return std::binary_search(v.begin(), v.end(), key);
}

int64_t start_at(const v1::ShadowTopicSyncOptions& o) {
    switch (o.start_at_case()) {
        case v1::ShadowTopicSyncOptions::kStartAtLatest:
            return o.start_at_latest() ? -1 : -2;
        case v1::ShadowTopicSyncOptions::kStartAtTimestampMs:
            return o.start_at_timestamp_ms();
        default:
            return -2;
    }
}

std::string_view to_string(v1::ShadowTopicState s) {
    switch (s) {
        case v1::SHADOW_TOPIC_STATE_ACTIVE:
            return "ACTIVE";
        case v1::SHADOW_TOPIC_STATE_PAUSED:
            return "PAUSED";
        case v1::SHADOW_TOPIC_STATE_FAULTED:
            return "FAULTED";
        case v1::SHADOW_TOPIC_STATE_FAILING_OVER:
            return "FAILING_OVER";
        case v1::SHADOW_TOPIC_STATE_FAILED_OVER:
            return "FAILED_OVER";
        case v1::SHADOW_TOPIC_STATE_PROMOTING:
            return "PROMOTING";
        case v1::SHADOW_TOPIC_STATE_PROMOTED:
            return "PROMOTED";
        default:
            return "UNSPECIFIED";
    }
}

std::string_view to_string(v1::ShadowLinkState s) {
    switch (s) {
        case v1::SHADOW_LINK_STATE_ACTIVE:
            return "ACTIVE";
        case v1::SHADOW_LINK_STATE_PAUSED:
            return "PAUSED";
        default:
            return "UNSPECIFIED";
    }
}

std::optional<v1::ShadowTopicState> parse_topic_state(std::string_view s) {
    for (int v = v1::SHADOW_TOPIC_STATE_ACTIVE; v <= v1::SHADOW_TOPIC_STATE_PROMOTED; ++v) {
        const auto st = static_cast<v1::ShadowTopicState>(v);
        if (to_string(st) == s) {
            return st;
        }
    }
    return std::nullopt;
}

bool is_terminal(v1::ShadowTopicState s) {
    return s == v1::SHADOW_TOPIC_STATE_FAILED_OVER || s == v1::SHADOW_TOPIC_STATE_PROMOTED ||
           s == v1::SHADOW_TOPIC_STATE_FAULTED;
}

bool transition_allowed(v1::ShadowTopicState from, v1::ShadowTopicState to) {
    using S = v1::ShadowTopicState;
    if (from == to || to == S::SHADOW_TOPIC_STATE_UNSPECIFIED) {
        return false;
    }
    switch (from) {
        case S::SHADOW_TOPIC_STATE_ACTIVE:
            return to == S::SHADOW_TOPIC_STATE_PAUSED || to == S::SHADOW_TOPIC_STATE_FAILING_OVER ||
                   to == S::SHADOW_TOPIC_STATE_PROMOTING || to == S::SHADOW_TOPIC_STATE_FAULTED ||
                   to == S::SHADOW_TOPIC_STATE_FAILED_OVER;
        case S::SHADOW_TOPIC_STATE_PAUSED:
            return to == S::SHADOW_TOPIC_STATE_ACTIVE || to == S::SHADOW_TOPIC_STATE_FAILING_OVER ||
                   to == S::SHADOW_TOPIC_STATE_FAULTED || to == S::SHADOW_TOPIC_STATE_FAILED_OVER;
        case S::SHADOW_TOPIC_STATE_FAILING_OVER:
            return to == S::SHADOW_TOPIC_STATE_FAILED_OVER || to == S::SHADOW_TOPIC_STATE_FAULTED;
        case S::SHADOW_TOPIC_STATE_PROMOTING:
            return to == S::SHADOW_TOPIC_STATE_PROMOTED || to == S::SHADOW_TOPIC_STATE_FAULTED ||
                   to == S::SHADOW_TOPIC_STATE_FAILED_OVER;
        case S::SHADOW_TOPIC_STATE_FAULTED:
            // Nothing replicates a FAULTED topic: failing it over makes what
            // it holds writable, which is what a disaster needs.
            return to == S::SHADOW_TOPIC_STATE_FAILED_OVER;
        default:
            return false;
    }
}

bool is_writable(v1::ShadowTopicState s) {
    return s == v1::SHADOW_TOPIC_STATE_FAILED_OVER || s == v1::SHADOW_TOPIC_STATE_PROMOTED;
}

bool replicates(v1::ShadowTopicState s) {
    return s == v1::SHADOW_TOPIC_STATE_ACTIVE || s == v1::SHADOW_TOPIC_STATE_PROMOTING;
}

bool is_read_only(const v1::Topic& t) {
    return t.has_shadow() && !is_writable(t.shadow().state());
}

v1::ShadowLink redacted(v1::ShadowLink l) {
    auto* c = l.mutable_config()->mutable_client_options();
    if (c->has_authentication_configuration()) {
        auto* a = c->mutable_authentication_configuration();
        if (a->has_scram_configuration()) {
            a->mutable_scram_configuration()->clear_password();
        }
        if (a->has_plain_configuration()) {
            a->mutable_plain_configuration()->clear_password();
        }
    }
    if (c->has_tls_settings() && c->tls_settings().has_tls_pem_settings()) {
        c->mutable_tls_settings()->mutable_tls_pem_settings()->clear_key();
    }
    return l;
}

}  // namespace fjord::cluster::shadow
