// File: cli/shadow/config_yaml.cc
//
// The shadow link YAML codec (contract: config_yaml.h). Reading walks the
// yaml-cpp tree map by map, checking every key against the format's list so
// that a typo is named with its path and line; writing builds one ordered
// JSON document that is both the YAML file (render_link_yaml) and
// describe's JSON, and the base of update's field mask (changed_paths).

#include "cli/shadow/config_yaml.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <set>
#include <system_error>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "cli/yaml/read.h"

namespace fjord::cli::shadow {
namespace {

using ojson = nlohmann::ordered_json;
using node = YAML::Node;

// ------------------------------------------------------------------ enums

/// One spelling of an enum value; the first spelling of a value is the one
/// written.
struct spelling {
    std::string_view name;
    int value;
};

constexpr std::array<spelling, 3> name_pattern_types = {{
    {"LITERAL", v1::SHADOW_PATTERN_LITERAL},
    {"PREFIX", v1::SHADOW_PATTERN_PREFIX},
    {"PREFIXED", v1::SHADOW_PATTERN_PREFIX},
}};
constexpr std::array<spelling, 2> filter_types = {{
    {"INCLUDE", v1::SHADOW_FILTER_INCLUDE},
    {"EXCLUDE", v1::SHADOW_FILTER_EXCLUDE},
}};
constexpr std::array<spelling, 6> acl_resource_types = {{
    {"ANY", v1::ACL_RESOURCE_ANY},
    {"CLUSTER", v1::ACL_RESOURCE_CLUSTER},
    {"GROUP", v1::ACL_RESOURCE_GROUP},
    {"TOPIC", v1::ACL_RESOURCE_TOPIC},
    {"TXN_ID", v1::ACL_RESOURCE_TRANSACTIONAL_ID},
    {"TRANSACTIONAL_ID", v1::ACL_RESOURCE_TRANSACTIONAL_ID},
}};
constexpr std::array<spelling, 5> acl_pattern_types = {{
    {"ANY", v1::ACL_PATTERN_ANY},
    {"LITERAL", v1::ACL_PATTERN_LITERAL},
    {"PREFIXED", v1::ACL_PATTERN_PREFIXED},
    {"PREFIX", v1::ACL_PATTERN_PREFIXED},
    {"MATCH", v1::ACL_PATTERN_MATCH},
}};
constexpr std::array<spelling, 13> acl_operations = {{
    {"ANY", v1::ACL_OPERATION_ANY},
    {"ALL", v1::ACL_OPERATION_ALL},
    {"READ", v1::ACL_OPERATION_READ},
    {"WRITE", v1::ACL_OPERATION_WRITE},
    {"CREATE", v1::ACL_OPERATION_CREATE},
    {"REMOVE", v1::ACL_OPERATION_DELETE},
    {"DELETE", v1::ACL_OPERATION_DELETE},
    {"ALTER", v1::ACL_OPERATION_ALTER},
    {"DESCRIBE", v1::ACL_OPERATION_DESCRIBE},
    {"CLUSTER_ACTION", v1::ACL_OPERATION_CLUSTER_ACTION},
    {"DESCRIBE_CONFIGS", v1::ACL_OPERATION_DESCRIBE_CONFIGS},
    {"ALTER_CONFIGS", v1::ACL_OPERATION_ALTER_CONFIGS},
    {"IDEMPOTENT_WRITE", v1::ACL_OPERATION_IDEMPOTENT_WRITE},
}};
constexpr std::array<spelling, 3> acl_permissions = {{
    {"ANY", v1::ACL_PERMISSION_ANY},
    {"ALLOW", v1::ACL_PERMISSION_ALLOW},
    {"DENY", v1::ACL_PERMISSION_DENY},
}};
constexpr std::array<spelling, 4> scram_mechanisms = {{
    {"SCRAM-SHA-256", 256},
    {"SCRAM-SHA-512", 512},
    {"SCRAM_SHA_256", 256},
    {"SCRAM_SHA_512", 512},
}};

template <size_t N>
std::string_view name_of(const std::array<spelling, N>& table, int value) {
    for (const spelling& s : table) {
        if (s.value == value) {
            return s.name;
        }
    }
    return {};
}

/// "LITERAL, PREFIX" (the written spellings) for errors.
template <size_t N>
std::string choices(const std::array<spelling, N>& table) {
    std::string out;
    std::set<int> seen;
    for (const spelling& s : table) {
        if (seen.insert(s.value).second) {
            out += (out.empty() ? "" : ", ") + std::string(s.name);
        }
    }
    return out;
}

std::string upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

// ---------------------------------------------------------------- reading

using yaml::bad;
using yaml::check_map;
using yaml::join;
using yaml::present;
using yaml::read_bool;
using yaml::read_int;
using yaml::read_int32;
using yaml::read_list;
using yaml::read_string;
using yaml::read_string_list;

result<int64_t> read_duration(const node& n, std::string_view path) {
    if (!n.IsDefined() || n.IsNull()) {
        return int64_t{0};
    }
    if (!n.IsScalar()) {
        return bad(n, path, "expected a duration (e.g. 30s, 500ms, 1m)");
    }
    auto d = parse_duration_ms(n.Scalar(), path);
    if (!d) {
        return bad(n, path, d.error().reason());
    }
    return *d;
}

template <size_t N>
result<int> read_enum(const node& n, std::string_view path, const std::array<spelling, N>& table) {
    if (!n.IsDefined() || n.IsNull()) {
        return 0;
    }
    if (!n.IsScalar()) {
        return bad(n, path, fmt::format("expected one of {}", choices(table)));
    }
    const std::string v = upper(n.Scalar());
    for (const spelling& s : table) {
        if (s.name == v) {
            return s.value;
        }
    }
    return bad(n, path, fmt::format("\"{}\" is not one of {}", n.Scalar(), choices(table)));
}

/// A password or PEM key: redacted_marker means "keep the stored one" (empty).
std::string unredacted(std::string s) {
    return s == redacted_marker ? std::string() : s;
}

// Returns the error of a result<void> step.
#define FJORD_TRY(expr)              \
    do {                             \
        if (auto _r = (expr); !_r) { \
            return _r.error();       \
        }                            \
    } while (0)

result<void> read_tls(const node& n, std::string_view path, v1::ShadowTlsSettings* t) {
    FJORD_TRY(check_map(
        n, path, {"enabled", "do_not_set_sni_hostname", "tls_file_settings", "tls_pem_settings"}));
    if (!n.IsDefined() || n.IsNull()) {
        return ok();
    }
    auto enabled = read_bool(n["enabled"], join(path, "enabled"));
    if (!enabled) {
        return enabled.error();
    }
    t->set_enabled(*enabled);
    auto sni = read_bool(n["do_not_set_sni_hostname"], join(path, "do_not_set_sni_hostname"));
    if (!sni) {
        return sni.error();
    }
    t->set_do_not_set_sni_hostname(*sni);
    const node files = n["tls_file_settings"];
    const node pem = n["tls_pem_settings"];
    if (present(files) && present(pem)) {
        return bad(pem, join(path, "tls_pem_settings"),
                   "tls_file_settings and tls_pem_settings are mutually exclusive; set one");
    }
    if (present(files)) {
        const std::string p = join(path, "tls_file_settings");
        FJORD_TRY(check_map(files, p, {"ca_path", "key_path", "cert_path"}));
        auto* f = t->mutable_tls_file_settings();
        const bool is_map = files.IsMap();
        auto ca = read_string(is_map ? files["ca_path"] : node(), join(p, "ca_path"));
        auto key = read_string(is_map ? files["key_path"] : node(), join(p, "key_path"));
        auto cert = read_string(is_map ? files["cert_path"] : node(), join(p, "cert_path"));
        for (const auto* r : {&ca, &key, &cert}) {
            if (!*r) {
                return r->error();
            }
        }
        f->set_ca_path(*ca);
        f->set_key_path(*key);
        f->set_cert_path(*cert);
    }
    if (present(pem)) {
        const std::string p = join(path, "tls_pem_settings");
        FJORD_TRY(check_map(pem, p, {"ca", "key", "cert", "key_fingerprint"}));
        auto* x = t->mutable_tls_pem_settings();
        const bool is_map = pem.IsMap();
        auto ca = read_string(is_map ? pem["ca"] : node(), join(p, "ca"));
        auto key = read_string(is_map ? pem["key"] : node(), join(p, "key"));
        auto cert = read_string(is_map ? pem["cert"] : node(), join(p, "cert"));
        for (const auto* r : {&ca, &key, &cert}) {
            if (!*r) {
                return r->error();
            }
        }
        x->set_ca(*ca);
        x->set_key(unredacted(*key));
        x->set_cert(*cert);
    }
    return ok();
}

/// scram_configuration or plain_configuration: username, password, and for
/// SCRAM the mechanism (written SCRAM-SHA-256 whichever spelling was read).
result<void> read_auth(const node& n, std::string_view path, v1::ShadowAuthentication* a) {
    FJORD_TRY(check_map(n, path, {"scram_configuration", "plain_configuration"}));
    if (!n.IsDefined() || n.IsNull()) {
        return ok();
    }
    const node scram = n["scram_configuration"];
    const node plain = n["plain_configuration"];
    if (present(scram) && present(plain)) {
        return bad(plain, join(path, "plain_configuration"),
                   "scram_configuration and plain_configuration are mutually exclusive; set one");
    }
    if (present(scram)) {
        const std::string p = join(path, "scram_configuration");
        FJORD_TRY(check_map(
            scram, p,
            {"username", "password", "scram_mechanism", "password_set", "password_set_at"}));
        auto* s = a->mutable_scram_configuration();
        const bool is_map = scram.IsMap();
        auto user = read_string(is_map ? scram["username"] : node(), join(p, "username"));
        auto pass = read_string(is_map ? scram["password"] : node(), join(p, "password"));
        auto mech = read_enum(is_map ? scram["scram_mechanism"] : node(),
                              join(p, "scram_mechanism"), scram_mechanisms);
        for (const auto* r : {&user, &pass}) {
            if (!*r) {
                return r->error();
            }
        }
        if (!mech) {
            return mech.error();
        }
        s->set_username(*user);
        s->set_password(unredacted(*pass));
        s->set_scram_mechanism(*mech == 0 ? "" : std::string(name_of(scram_mechanisms, *mech)));
    }
    if (present(plain)) {
        const std::string p = join(path, "plain_configuration");
        FJORD_TRY(check_map(plain, p, {"username", "password", "password_set", "password_set_at"}));
        auto* s = a->mutable_plain_configuration();
        const bool is_map = plain.IsMap();
        auto user = read_string(is_map ? plain["username"] : node(), join(p, "username"));
        auto pass = read_string(is_map ? plain["password"] : node(), join(p, "password"));
        for (const auto* r : {&user, &pass}) {
            if (!*r) {
                return r->error();
            }
        }
        s->set_username(*user);
        s->set_password(unredacted(*pass));
    }
    return ok();
}

result<void> read_client(const node& n, std::string_view path, v1::ShadowClientOptions* c) {
    FJORD_TRY(check_map(
        n, path,
        {"bootstrap_servers", "source_cluster_id", "tls_settings", "authentication_configuration",
         "metadata_max_age_ms", "connection_timeout_ms", "retry_backoff_ms", "fetch_wait_max_ms",
         "fetch_min_bytes", "fetch_max_bytes", "fetch_partition_max_bytes"}));
    if (!n.IsDefined() || n.IsNull()) {
        return ok();
    }
    FJORD_TRY(read_string_list(n["bootstrap_servers"], join(path, "bootstrap_servers"),
                               c->mutable_bootstrap_servers()));
    auto id = read_string(n["source_cluster_id"], join(path, "source_cluster_id"));
    if (!id) {
        return id.error();
    }
    c->set_source_cluster_id(*id);
    if (present(n["tls_settings"])) {
        FJORD_TRY(
            read_tls(n["tls_settings"], join(path, "tls_settings"), c->mutable_tls_settings()));
    }
    if (present(n["authentication_configuration"])) {
        FJORD_TRY(read_auth(n["authentication_configuration"],
                            join(path, "authentication_configuration"),
                            c->mutable_authentication_configuration()));
    }
    using setter = void (v1::ShadowClientOptions::*)(int32_t);
    const std::initializer_list<std::pair<std::string_view, setter>> tunables = {
        {"metadata_max_age_ms", &v1::ShadowClientOptions::set_metadata_max_age_ms},
        {"connection_timeout_ms", &v1::ShadowClientOptions::set_connection_timeout_ms},
        {"retry_backoff_ms", &v1::ShadowClientOptions::set_retry_backoff_ms},
        {"fetch_wait_max_ms", &v1::ShadowClientOptions::set_fetch_wait_max_ms},
        {"fetch_min_bytes", &v1::ShadowClientOptions::set_fetch_min_bytes},
        {"fetch_max_bytes", &v1::ShadowClientOptions::set_fetch_max_bytes},
        {"fetch_partition_max_bytes", &v1::ShadowClientOptions::set_fetch_partition_max_bytes},
    };
    for (const auto& [key, set] : tunables) {
        auto v = read_int32(n[std::string(key)], join(path, key));
        if (!v) {
            return v.error();
        }
        (c->*set)(*v);
    }
    return ok();
}

result<void> read_name_filter(const node& n, std::string_view path, v1::ShadowNameFilter* f) {
    if (!n.IsMap()) {
        return bad(n, path, "expected a map of pattern_type, filter_type and name");
    }
    FJORD_TRY(check_map(n, path, {"pattern_type", "filter_type", "name"}));
    auto pattern = read_enum(n["pattern_type"], join(path, "pattern_type"), name_pattern_types);
    if (!pattern) {
        return pattern.error();
    }
    auto type = read_enum(n["filter_type"], join(path, "filter_type"), filter_types);
    if (!type) {
        return type.error();
    }
    auto name = read_string(n["name"], join(path, "name"));
    if (!name) {
        return name.error();
    }
    f->set_pattern_type(static_cast<v1::ShadowPatternType>(*pattern));
    f->set_filter_type(static_cast<v1::ShadowFilterType>(*type));
    f->set_name(*name);
    return ok();
}

/// interval and paused, common to the three task sections.
template <typename T>
result<void> read_task(const node& n, std::string_view path, T* t) {
    auto interval = read_duration(n["interval"], join(path, "interval"));
    if (!interval) {
        return interval.error();
    }
    auto paused = read_bool(n["paused"], join(path, "paused"));
    if (!paused) {
        return paused.error();
    }
    t->set_interval_ms(*interval);
    t->set_paused(*paused);
    return ok();
}

/// start_at_earliest: {} and start_at_latest: {} take an empty map (or
/// nothing); start_at_timestamp an RFC 3339 time.
result<void> read_start_at(const node& n, std::string_view path, v1::ShadowTopicSyncOptions* t) {
    const char* keys[] = {"start_at_earliest", "start_at_latest", "start_at_timestamp"};
    const char* first = nullptr;
    for (const char* k : keys) {
        if (!present(n[k])) {
            continue;
        }
        if (first != nullptr) {
            return bad(n[k], join(path, k),
                       fmt::format("{} is already set: start_at_earliest, start_at_latest and "
                                   "start_at_timestamp are mutually exclusive",
                                   first));
        }
        first = k;
    }
    if (first == nullptr) {
        return ok();
    }
    const node v = n[first];
    const std::string p = join(path, first);
    if (std::string_view(first) == "start_at_timestamp") {
        if (!v.IsScalar()) {
            return bad(v, p, "expected an RFC 3339 time (e.g. 2026-01-02T03:04:05Z)");
        }
        auto ms = parse_rfc3339_ms(v.Scalar(), p);
        if (!ms) {
            return bad(v, p, ms.error().reason());
        }
        t->set_start_at_timestamp_ms(*ms);
        return ok();
    }
    if (!v.IsNull() && !(v.IsMap() && v.size() == 0)) {
        return bad(v, p, "expected {} (an empty map)");
    }
    if (std::string_view(first) == "start_at_earliest") {
        t->set_start_at_earliest(true);
    } else {
        t->set_start_at_latest(true);
    }
    return ok();
}

result<void> read_topic_sync(const node& n, std::string_view path, v1::ShadowTopicSyncOptions* t) {
    FJORD_TRY(check_map(
        n, path,
        {"interval", "paused", "auto_create_shadow_topic_filters", "synced_shadow_topic_properties",
         "exclude_default", "start_at_earliest", "start_at_latest", "start_at_timestamp"}));
    if (!n.IsDefined() || n.IsNull()) {
        return ok();
    }
    FJORD_TRY(read_task(n, path, t));
    FJORD_TRY(read_list(
        n["auto_create_shadow_topic_filters"], join(path, "auto_create_shadow_topic_filters"),
        [&](const node& item, const std::string& p) {
            return read_name_filter(item, p, t->add_auto_create_shadow_topic_filters());
        }));
    FJORD_TRY(read_string_list(n["synced_shadow_topic_properties"],
                               join(path, "synced_shadow_topic_properties"),
                               t->mutable_synced_shadow_topic_properties()));
    auto ex = read_bool(n["exclude_default"], join(path, "exclude_default"));
    if (!ex) {
        return ex.error();
    }
    t->set_exclude_default(*ex);
    return read_start_at(n, path, t);
}

result<void> read_group_sync(const node& n, std::string_view path,
                             v1::ShadowConsumerOffsetSyncOptions* g) {
    FJORD_TRY(check_map(n, path, {"interval", "paused", "group_filters"}));
    if (!n.IsDefined() || n.IsNull()) {
        return ok();
    }
    FJORD_TRY(read_task(n, path, g));
    return read_list(n["group_filters"], join(path, "group_filters"),
                     [&](const node& item, const std::string& p) {
                         return read_name_filter(item, p, g->add_group_filters());
                     });
}

result<void> read_acl_filter(const node& n, std::string_view path, v1::AclFilter* f) {
    if (!n.IsMap()) {
        return bad(n, path, "expected a map of resource_filter and access_filter");
    }
    FJORD_TRY(check_map(n, path, {"resource_filter", "access_filter"}));
    const node res = n["resource_filter"];
    const std::string rp = join(path, "resource_filter");
    FJORD_TRY(check_map(res, rp, {"resource_type", "pattern_type", "name"}));
    if (present(res) && res.IsMap()) {
        const node type = res["resource_type"];
        if (present(type) && type.IsScalar()) {
            const std::string t = upper(type.Scalar());
            if (t == "SUBJECT" || t == "REGISTRY" || t == "SR_ANY") {
                return bad(type, join(rp, "resource_type"),
                           fmt::format("{} is not supported: Fjord has no schema registry", t));
            }
        }
        auto rt = read_enum(type, join(rp, "resource_type"), acl_resource_types);
        if (!rt) {
            return rt.error();
        }
        auto pt = read_enum(res["pattern_type"], join(rp, "pattern_type"), acl_pattern_types);
        if (!pt) {
            return pt.error();
        }
        auto name = read_string(res["name"], join(rp, "name"));
        if (!name) {
            return name.error();
        }
        f->set_resource_type(static_cast<v1::AclResourceType>(*rt));
        f->set_pattern_type(static_cast<v1::AclPatternType>(*pt));
        if (!name->empty()) {  // empty: every name (rpk-reference §4.9)
            f->set_resource_name(*name);
        }
    }
    const node acc = n["access_filter"];
    const std::string ap = join(path, "access_filter");
    FJORD_TRY(check_map(acc, ap, {"principal", "operation", "permission_type", "host"}));
    if (present(acc) && acc.IsMap()) {
        auto principal = read_string(acc["principal"], join(ap, "principal"));
        if (!principal) {
            return principal.error();
        }
        auto op = read_enum(acc["operation"], join(ap, "operation"), acl_operations);
        if (!op) {
            return op.error();
        }
        auto perm = read_enum(acc["permission_type"], join(ap, "permission_type"), acl_permissions);
        if (!perm) {
            return perm.error();
        }
        auto host = read_string(acc["host"], join(ap, "host"));
        if (!host) {
            return host.error();
        }
        if (!principal->empty()) {
            f->set_principal(*principal);
        }
        f->set_operation(static_cast<v1::AclOperation>(*op));
        f->set_permission(static_cast<v1::AclPermission>(*perm));
        if (!host->empty()) {
            f->set_host(*host);
        }
    }
    return ok();
}

result<void> read_security_sync(const node& n, std::string_view path,
                                v1::ShadowSecuritySyncOptions* s) {
    FJORD_TRY(check_map(n, path, {"interval", "paused", "acl_filters"}));
    if (!n.IsDefined() || n.IsNull()) {
        return ok();
    }
    FJORD_TRY(read_task(n, path, s));
    return read_list(n["acl_filters"], join(path, "acl_filters"),
                     [&](const node& item, const std::string& p) {
                         return read_acl_filter(item, p, s->add_acl_filters());
                     });
}

// ---------------------------------------------------------------- writing

ojson name_filter_doc(const v1::ShadowNameFilter& f) {
    ojson j = ojson::object();
    if (f.pattern_type() != v1::SHADOW_PATTERN_TYPE_UNSPECIFIED) {
        j["pattern_type"] = std::string(name_of(name_pattern_types, f.pattern_type()));
    }
    if (f.filter_type() != v1::SHADOW_FILTER_TYPE_UNSPECIFIED) {
        j["filter_type"] = std::string(name_of(filter_types, f.filter_type()));
    }
    j["name"] = f.name();
    return j;
}

ojson name_filters_doc(const google::protobuf::RepeatedPtrField<v1::ShadowNameFilter>& fs) {
    ojson j = ojson::array();
    for (const auto& f : fs) {
        j.push_back(name_filter_doc(f));
    }
    return j;
}

ojson acl_filter_doc(const v1::AclFilter& f) {
    ojson res = ojson::object();
    if (f.resource_type() != v1::ACL_RESOURCE_TYPE_UNSPECIFIED) {
        res["resource_type"] = std::string(name_of(acl_resource_types, f.resource_type()));
    }
    if (f.pattern_type() != v1::ACL_PATTERN_TYPE_UNSPECIFIED) {
        res["pattern_type"] = std::string(name_of(acl_pattern_types, f.pattern_type()));
    }
    if (f.has_resource_name()) {
        res["name"] = f.resource_name();
    }
    ojson acc = ojson::object();
    if (f.has_principal()) {
        acc["principal"] = f.principal();
    }
    if (f.operation() != v1::ACL_OPERATION_UNSPECIFIED) {
        acc["operation"] = std::string(name_of(acl_operations, f.operation()));
    }
    if (f.permission() != v1::ACL_PERMISSION_UNSPECIFIED) {
        acc["permission_type"] = std::string(name_of(acl_permissions, f.permission()));
    }
    if (f.has_host()) {
        acc["host"] = f.host();
    }
    return ojson{{"resource_filter", res}, {"access_filter", acc}};
}

/// A password: the value when it is known, the marker when it is set but
/// withheld (and asked for), else absent.
void put_secret(ojson& j, const char* key, const std::string& value, bool set,
                const doc_options& o) {
    if (!value.empty()) {
        j[key] = value;
    } else if (set && o.mark_redacted) {
        j[key] = std::string(redacted_marker);
    }
}

ojson client_doc(const v1::ShadowClientOptions& c, const doc_options& o) {
    ojson j = ojson::object();
    j["bootstrap_servers"] = ojson::array();
    for (const auto& b : c.bootstrap_servers()) {
        j["bootstrap_servers"].push_back(b);
    }
    if (!c.source_cluster_id().empty()) {
        j["source_cluster_id"] = c.source_cluster_id();
    }
    if (c.has_tls_settings()) {
        const auto& t = c.tls_settings();
        ojson tj = {{"enabled", t.enabled()}};
        if (t.do_not_set_sni_hostname()) {
            tj["do_not_set_sni_hostname"] = true;
        }
        if (t.has_tls_file_settings()) {
            ojson f = ojson::object();
            const auto& fs = t.tls_file_settings();
            for (const auto& [k, v] :
                 {std::pair<const char*, const std::string*>{"ca_path", &fs.ca_path()},
                  {"key_path", &fs.key_path()},
                  {"cert_path", &fs.cert_path()}}) {
                if (!v->empty()) {
                    f[k] = *v;
                }
            }
            tj["tls_file_settings"] = f;
        }
        if (t.has_tls_pem_settings()) {
            const auto& p = t.tls_pem_settings();
            ojson f = ojson::object();
            if (!p.ca().empty()) {
                f["ca"] = p.ca();
            }
            put_secret(f, "key", p.key(), !p.key_fingerprint().empty(), o);
            if (!p.cert().empty()) {
                f["cert"] = p.cert();
            }
            if (o.output_fields && !p.key_fingerprint().empty()) {
                f["key_fingerprint"] = p.key_fingerprint();
            }
            tj["tls_pem_settings"] = f;
        }
        j["tls_settings"] = tj;
    }
    if (c.has_authentication_configuration()) {
        const auto& a = c.authentication_configuration();
        ojson aj = ojson::object();
        const auto output = [&](ojson& x, bool set, int64_t at) {
            if (o.output_fields) {
                x["password_set"] = set;
                if (set && at > 0) {
                    x["password_set_at"] = format_rfc3339_ms(at);
                }
            }
        };
        if (a.has_scram_configuration()) {
            const auto& s = a.scram_configuration();
            ojson x = {{"username", s.username()}};
            put_secret(x, "password", s.password(), s.password_set(), o);
            if (!s.scram_mechanism().empty()) {
                x["scram_mechanism"] = s.scram_mechanism();
            }
            output(x, s.password_set(), s.password_set_at_ms());
            aj["scram_configuration"] = x;
        }
        if (a.has_plain_configuration()) {
            const auto& s = a.plain_configuration();
            ojson x = {{"username", s.username()}};
            put_secret(x, "password", s.password(), s.password_set(), o);
            output(x, s.password_set(), s.password_set_at_ms());
            aj["plain_configuration"] = x;
        }
        j["authentication_configuration"] = aj;
    }
    const std::initializer_list<std::pair<const char*, int32_t>> tunables = {
        {"metadata_max_age_ms", c.metadata_max_age_ms()},
        {"connection_timeout_ms", c.connection_timeout_ms()},
        {"retry_backoff_ms", c.retry_backoff_ms()},
        {"fetch_wait_max_ms", c.fetch_wait_max_ms()},
        {"fetch_min_bytes", c.fetch_min_bytes()},
        {"fetch_max_bytes", c.fetch_max_bytes()},
        {"fetch_partition_max_bytes", c.fetch_partition_max_bytes()},
    };
    for (const auto& [k, v] : tunables) {
        if (v != 0) {
            j[k] = v;
        }
    }
    return j;
}

template <typename T>
void task_doc(ojson& j, const T& t) {
    if (t.interval_ms() != 0) {
        j["interval"] = format_duration_ms(t.interval_ms());
    }
    if (t.paused()) {
        j["paused"] = true;
    }
}

ojson topic_sync_doc(const v1::ShadowTopicSyncOptions& t) {
    ojson j = ojson::object();
    task_doc(j, t);
    j["auto_create_shadow_topic_filters"] = name_filters_doc(t.auto_create_shadow_topic_filters());
    if (!t.synced_shadow_topic_properties().empty()) {
        j["synced_shadow_topic_properties"] = ojson::array();
        for (const auto& p : t.synced_shadow_topic_properties()) {
            j["synced_shadow_topic_properties"].push_back(p);
        }
    }
    if (t.exclude_default()) {
        j["exclude_default"] = true;
    }
    switch (t.start_at_case()) {
        case v1::ShadowTopicSyncOptions::kStartAtEarliest:
            j["start_at_earliest"] = ojson::object();
            break;
        case v1::ShadowTopicSyncOptions::kStartAtLatest:
            j["start_at_latest"] = ojson::object();
            break;
        case v1::ShadowTopicSyncOptions::kStartAtTimestampMs:
            j["start_at_timestamp"] = format_rfc3339_ms(t.start_at_timestamp_ms());
            break;
        default:
            break;
    }
    return j;
}

void emit(YAML::Emitter& e, const ojson& j) {
    switch (j.type()) {
        case ojson::value_t::object:
            if (j.empty()) {
                e << YAML::Flow << YAML::BeginMap << YAML::EndMap;
                break;
            }
            e << YAML::BeginMap;
            for (const auto& [k, v] : j.items()) {
                e << YAML::Key << k << YAML::Value;
                emit(e, v);
            }
            e << YAML::EndMap;
            break;
        case ojson::value_t::array:
            if (j.empty()) {
                e << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
                break;
            }
            e << YAML::BeginSeq;
            for (const auto& v : j) {
                emit(e, v);
            }
            e << YAML::EndSeq;
            break;
        case ojson::value_t::string: {
            const std::string s = j.get<std::string>();
            // Strings that YAML would read as something else, or that carry
            // YAML syntax, are quoted; the others are plain.
            const bool quote = s.empty() || s == "*" ||
                               s.find_first_of(":#{}[],&*!|>'\"%@`") != std::string::npos ||
                               s.front() == ' ' || s.back() == ' ' || s.front() == '-' ||
                               s.front() == '?' || upper(s) == "TRUE" || upper(s) == "FALSE" ||
                               upper(s) == "NULL" || s == "~" ||
                               s.find_first_not_of("0123456789.+-eE") == std::string::npos;
            if (s.find('\n') != std::string::npos) {
                e << YAML::Literal << s;
            } else if (quote) {
                e << YAML::DoubleQuoted << s;
            } else {
                e << s;
            }
            break;
        }
        case ojson::value_t::boolean:
            e << (j.get<bool>() ? "true" : "false");
            break;
        case ojson::value_t::null:
            e << YAML::Null;
            break;
        default:
            e << j.dump();
            break;
    }
}

void flatten(const ojson& j, const std::string& path, std::map<std::string, std::string>& out) {
    if (j.is_object() && !j.empty()) {
        for (const auto& [k, v] : j.items()) {
            flatten(v, path.empty() ? k : path + "." + k, out);
        }
        return;
    }
    out[path] = j.dump();
}

// ------------------------------------------------------------------- time

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2 ? 1 : 0;
}

bool leap(int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

}  // namespace

// ------------------------------------------------------------------- API

result<int64_t> parse_duration_ms(std::string_view text, std::string_view field) {
    const auto fail = [&] {
        return error_info::for_field(
            std::make_error_code(std::errc::invalid_argument), field,
            fmt::format("\"{}\" is not a duration (e.g. 30s, 500ms, 1m, 1m30s)", text));
    };
    if (text == "0") {
        return int64_t{0};
    }
    if (text.empty()) {
        return fail();
    }
    int64_t total = 0;
    size_t i = 0;
    while (i < text.size()) {
        const size_t start = i;
        int64_t n = 0;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0) {
            n = n * 10 + (text[i] - '0');
            if (n > 1'000'000'000'000LL) {
                return fail();
            }
            ++i;
        }
        if (i == start) {
            return fail();
        }
        int64_t unit = 0;
        if (text.substr(i, 2) == "ms") {
            unit = 1;
            i += 2;
        } else if (i < text.size() && text[i] == 's') {
            unit = 1000;
            ++i;
        } else if (i < text.size() && text[i] == 'm') {
            unit = 60'000;
            ++i;
        } else if (i < text.size() && text[i] == 'h') {
            unit = 3'600'000;
            ++i;
        } else {
            return fail();
        }
        total += n * unit;
        if (total > 1'000'000'000'000'000LL) {
            return fail();
        }
    }
    return total;
}

std::string format_duration_ms(int64_t ms) {
    if (ms <= 0) {
        return "0s";
    }
    std::string out;
    const int64_t h = ms / 3'600'000;
    const int64_t m = ms / 60'000 % 60;
    const int64_t s = ms / 1000 % 60;
    const int64_t rest = ms % 1000;
    if (h != 0) {
        out += fmt::format("{}h", h);
    }
    if (m != 0) {
        out += fmt::format("{}m", m);
    }
    if (s != 0) {
        out += fmt::format("{}s", s);
    }
    if (rest != 0) {
        out += fmt::format("{}ms", rest);
    }
    return out;
}

result<int64_t> parse_rfc3339_ms(std::string_view t, std::string_view field) {
    const auto fail = [&](std::string_view why) {
        return error_info::for_field(
            std::make_error_code(std::errc::invalid_argument), field,
            fmt::format("\"{}\" is not an RFC 3339 time (e.g. 2026-01-02T03:04:05Z): {}", t, why));
    };
    const auto digits = [&](size_t at, size_t n, int64_t& v) {
        if (at + n > t.size()) {
            return false;
        }
        v = 0;
        for (size_t i = at; i < at + n; ++i) {
            if (std::isdigit(static_cast<unsigned char>(t[i])) == 0) {
                return false;
            }
            v = v * 10 + (t[i] - '0');
        }
        return true;
    };
    int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    if (!digits(0, 4, y) || t.size() < 19 || t[4] != '-' || !digits(5, 2, mo) || t[7] != '-' ||
        !digits(8, 2, d) || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || !digits(11, 2, h) ||
        t[13] != ':' || !digits(14, 2, mi) || t[16] != ':' || !digits(17, 2, s)) {
        return fail("expected YYYY-MM-DDTHH:MM:SS");
    }
    constexpr unsigned month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12) {
        return fail("month out of range");
    }
    const unsigned last = month_days[mo - 1] + (mo == 2 && leap(y) ? 1 : 0);
    if (d < 1 || d > last) {
        return fail("day out of range");
    }
    if (h > 23 || mi > 59 || s > 59) {
        return fail("time out of range");
    }
    size_t i = 19;
    int64_t frac_ms = 0;
    if (i < t.size() && t[i] == '.') {
        ++i;
        size_t n = 0;
        while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i])) != 0) {
            if (n < 3) {
                frac_ms = frac_ms * 10 + (t[i] - '0');
            }
            ++n;
            ++i;
        }
        if (n == 0) {
            return fail("expected digits after '.'");
        }
        for (; n < 3; ++n) {
            frac_ms *= 10;
        }
    }
    int64_t offset_min = 0;
    if (i < t.size() && (t[i] == 'Z' || t[i] == 'z')) {
        ++i;
    } else if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
        int64_t oh = 0, om = 0;
        if (!digits(i + 1, 2, oh) || i + 3 >= t.size() || t[i + 3] != ':' ||
            !digits(i + 4, 2, om) || oh > 23 || om > 59) {
            return fail("expected a zone offset like +02:00");
        }
        offset_min = (t[i] == '+' ? 1 : -1) * (oh * 60 + om);
        i += 6;
    } else {
        return fail("expected a zone: Z or an offset like +02:00");
    }
    if (i != t.size()) {
        return fail("unexpected text after the time");
    }
    const int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    const int64_t secs = days * 86400 + h * 3600 + mi * 60 + s - offset_min * 60;
    if (secs < 0) {
        return fail("before 1970-01-01T00:00:00Z");
    }
    return secs * 1000 + frac_ms;
}

std::string format_rfc3339_ms(int64_t ms) {
    const int64_t secs = ms / 1000;
    const int64_t days = secs / 86400;
    const int64_t rem = secs % 86400;
    int64_t y = 0;
    unsigned m = 0, d = 0;
    civil_from_days(days, y, m, d);
    std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", y, m, d, rem / 3600,
                                  rem / 60 % 60, rem % 60);
    if (ms % 1000 != 0) {
        out += fmt::format(".{:03}", ms % 1000);
    }
    return out + "Z";
}

result<v1::ShadowLink> parse_link_yaml(std::string_view text) {
    auto loaded = yaml::load(text);
    if (!loaded) {
        return loaded.error();
    }
    // Read through a const node: a non-const operator[] would add the keys
    // it looks up.
    const node& root = *loaded;
    if (!root.IsDefined() || root.IsNull()) {
        return error_info::for_field(std::make_error_code(std::errc::invalid_argument), "name",
                                     "required (the file is empty)");
    }
    return parse_link_node(root, "");
}

result<v1::ShadowLink> parse_link_node(const YAML::Node& root, std::string_view path) {
    if (!root.IsMap()) {
        return bad(root, path, "expected a map with name, client_options, ...");
    }
    // cloud_options and the schema registry and role sections are §4.9's
    // but Fjord's links do not have them: refused, never ignored.
    for (const char* unsupported :
         {"cloud_options", "schema_registry_sync_options", "role_sync_options"}) {
        if (present(root[unsupported])) {
            return bad(root[unsupported], join(path, unsupported),
                       "not supported by Fjord's shadow links (docs/shadow-links.md)");
        }
    }
    FJORD_TRY(check_map(root, path,
                        {"name", "uid", "state", "client_options", "topic_metadata_sync_options",
                         "consumer_offset_sync_options", "security_sync_options"}));
    v1::ShadowLink l;
    auto name = read_string(root["name"], join(path, "name"));
    if (!name) {
        return name.error();
    }
    l.set_name(*name);
    v1::ShadowLinkConfig* c = l.mutable_config();
    if (present(root["client_options"])) {
        FJORD_TRY(read_client(root["client_options"], join(path, "client_options"),
                              c->mutable_client_options()));
    }
    if (present(root["topic_metadata_sync_options"])) {
        FJORD_TRY(read_topic_sync(root["topic_metadata_sync_options"],
                                  join(path, "topic_metadata_sync_options"),
                                  c->mutable_topic_metadata_sync_options()));
    }
    if (present(root["consumer_offset_sync_options"])) {
        FJORD_TRY(read_group_sync(root["consumer_offset_sync_options"],
                                  join(path, "consumer_offset_sync_options"),
                                  c->mutable_consumer_offset_sync_options()));
    }
    if (present(root["security_sync_options"])) {
        FJORD_TRY(read_security_sync(root["security_sync_options"],
                                     join(path, "security_sync_options"),
                                     c->mutable_security_sync_options()));
    }
    return l;
}

#undef FJORD_TRY

nlohmann::ordered_json to_document(const v1::ShadowLink& l, const doc_options& o) {
    ojson j = ojson::object();
    j["name"] = l.name();
    const auto& c = l.config();
    if (c.has_client_options()) {
        j["client_options"] = client_doc(c.client_options(), o);
    }
    if (c.has_topic_metadata_sync_options()) {
        j["topic_metadata_sync_options"] = topic_sync_doc(c.topic_metadata_sync_options());
    }
    if (c.has_consumer_offset_sync_options()) {
        const auto& g = c.consumer_offset_sync_options();
        ojson x = ojson::object();
        task_doc(x, g);
        x["group_filters"] = name_filters_doc(g.group_filters());
        j["consumer_offset_sync_options"] = x;
    }
    if (c.has_security_sync_options()) {
        const auto& s = c.security_sync_options();
        ojson x = ojson::object();
        task_doc(x, s);
        x["acl_filters"] = ojson::array();
        for (const auto& f : s.acl_filters()) {
            x["acl_filters"].push_back(acl_filter_doc(f));
        }
        j["security_sync_options"] = x;
    }
    return j;
}

std::string render_link_yaml(const v1::ShadowLink& l, const doc_options& o) {
    YAML::Emitter e;
    emit(e, to_document(l, o));
    return std::string(e.c_str()) + "\n";
}

/// A password left empty (or <redacted>) in the new config keeps the stored
/// one: the new link says so with password_set (and the stored key's
/// fingerprint for a PEM key), which validate_link reads as "kept" and the
/// controller fills in (commands.proto UpsertShadowLink).
void keep_stored_secrets(const v1::ShadowLink& current, v1::ShadowLink& next) {
    const auto& ca = current.config().client_options().authentication_configuration();
    auto* na = next.mutable_config()->mutable_client_options();
    if (na->has_authentication_configuration()) {
        auto* a = na->mutable_authentication_configuration();
        if (a->has_scram_configuration() && a->scram_configuration().password().empty() &&
            ca.has_scram_configuration() && ca.scram_configuration().password_set()) {
            a->mutable_scram_configuration()->set_password_set(true);
        }
        if (a->has_plain_configuration() && a->plain_configuration().password().empty() &&
            ca.has_plain_configuration() && ca.plain_configuration().password_set()) {
            a->mutable_plain_configuration()->set_password_set(true);
        }
    }
    const auto& ct = current.config().client_options().tls_settings();
    if (na->has_tls_settings() && na->tls_settings().has_tls_pem_settings() &&
        na->tls_settings().tls_pem_settings().key().empty() && ct.has_tls_pem_settings()) {
        na->mutable_tls_settings()->mutable_tls_pem_settings()->set_key_fingerprint(
            ct.tls_pem_settings().key_fingerprint());
    }
}

std::map<std::string, std::string> flat_config(const v1::ShadowLink& l) {
    std::map<std::string, std::string> flat;
    ojson d = to_document(l);
    d.erase("name");
    flatten(d, "", flat);
    std::map<std::string, std::string> out;
    for (auto& [k, v] : flat) {
        out.emplace("configurations." + k, std::move(v));
    }
    return out;
}

std::vector<std::string> changed_paths(const v1::ShadowLink& a, const v1::ShadowLink& b) {
    const auto fa = flat_config(a);
    const auto fb = flat_config(b);
    std::set<std::string> out;
    for (const auto& [k, v] : fa) {
        auto it = fb.find(k);
        if (it == fb.end() || it->second != v) {
            out.insert(k);
        }
    }
    for (const auto& [k, v] : fb) {
        if (!fa.contains(k)) {
            out.insert(k);
        }
    }
    return {out.begin(), out.end()};
}

std::string sample_config() {
    return R"(# A shadow link: this cluster (the shadow) replicates topics, consumer group
# offsets and ACLs from a source cluster, at the same offsets.
# Edit it, then: fjord shadow create -c <this file>
# Every field, explained: fjord shadow config generate --print-template
name: sample-link
client_options:
  bootstrap_servers:
    - 127.0.0.1:9092
topic_metadata_sync_options:
  interval: 30s
  auto_create_shadow_topic_filters:
    - pattern_type: LITERAL
      filter_type: INCLUDE
      name: "*"
  start_at_earliest: {}
consumer_offset_sync_options:
  interval: 30s
  group_filters:
    - pattern_type: LITERAL
      filter_type: INCLUDE
      name: "*"
security_sync_options:
  interval: 30s
  acl_filters:
    - resource_filter:
        resource_type: ANY
        pattern_type: ANY
      access_filter:
        operation: ANY
        permission_type: ANY
)";
}

std::string config_template() {
    return R"(# A shadow link (docs/shadow-links.md). Every field, with its meaning; 0 or a
# missing field means the default named.
#
# The link's name: required, immutable; letters, digits, '.', '_' and '-'.
name: my-link
# How this cluster's brokers connect to the source cluster.
client_options:
  # The source's Kafka listeners, host:port: at least one.
  bootstrap_servers:
    - source-host:9092
  # When set, the source's cluster id (its Metadata ClusterId) must equal
  # it, or the link does not connect.
  source_cluster_id: ""
  # TLS to the source.
  tls_settings:
    # Whether the connection uses TLS.
    enabled: false
    # Do not send the host name in the TLS handshake (SNI).
    do_not_set_sni_hostname: false
    # PEM files on every broker of this cluster: the CA to trust, and a
    # client certificate and its key (both or neither).
    tls_file_settings:
      ca_path: ""
      key_path: ""
      cert_path: ""
    # OR the PEM text itself (not both forms):
    # tls_pem_settings:
    #   ca: ""
    #   key: ""      # never shown again: describe prints its key_fingerprint
    #   cert: ""
  # SASL to the source: one of the two forms.
  authentication_configuration:
    scram_configuration:
      username: ""
      # Never shown again (describe prints password_set, password_set_at);
      # update keeps it when left as <redacted>.
      password: ""
      # SCRAM-SHA-256 or SCRAM-SHA-512.
      scram_mechanism: SCRAM-SHA-256
    # OR:
    # plain_configuration:
    #   username: ""
    #   password: ""
  # How often the source's metadata is refreshed (0: 10000).
  metadata_max_age_ms: 0
  # How long a connection attempt may take (0: 1000).
  connection_timeout_ms: 0
  # The wait before retrying a failed request (0: 100).
  retry_backoff_ms: 0
  # Fetch: the longest wait for fetch_min_bytes (0: 500).
  fetch_wait_max_ms: 0
  # Fetch: the bytes to wait for (0: 5 MiB).
  fetch_min_bytes: 0
  # Fetch: the most bytes per response (0: 20 MiB).
  fetch_max_bytes: 0
  # Fetch: the most bytes per partition (0: 5 MiB).
  fetch_partition_max_bytes: 0
# Source topic sync: which source topics get shadow topics here, and what of
# their configuration follows them.
topic_metadata_sync_options:
  # How often the source's topics are listed (0: 30s).
  interval: 30s
  # Stop creating and syncing topics (replication goes on).
  paused: false
  # Which source topics are shadowed. EXCLUDE wins; else the first INCLUDE
  # that matches decides; no match excludes. pattern_type LITERAL or PREFIX;
  # filter_type INCLUDE or EXCLUDE; name "*" (LITERAL only) matches every
  # topic except system ones, which need a literal filter of their own.
  auto_create_shadow_topic_filters:
    - pattern_type: LITERAL
      filter_type: INCLUDE
      name: "*"
  # Topic properties synced besides the defaults (always: max.message.bytes,
  # cleanup.policy, message.timestamp.type; unless exclude_default:
  # compression.type, retention.bytes, retention.ms, delete.retention.ms,
  # min.compaction.lag.ms, max.compaction.lag.ms).
  synced_shadow_topic_properties: []
  # Sync only the always-synced properties and the ones listed above.
  exclude_default: false
  # Where an empty shadow partition starts on the source: one of
  # start_at_earliest: {}, start_at_latest: {} or
  # start_at_timestamp: 2026-01-02T03:04:05Z (RFC 3339). Default: earliest.
  start_at_earliest: {}
# Consumer group offset sync: committed offsets of the shadowed topics,
# clamped to the shadow's high watermark.
consumer_offset_sync_options:
  # How often offsets are copied (0: 30s).
  interval: 30s
  paused: false
  # Which groups: the same rules as the topic filters.
  group_filters:
    - pattern_type: LITERAL
      filter_type: INCLUDE
      name: "*"
# ACL sync: the source's ACLs that match a filter are copied here (and
# removed here when the source no longer has them).
security_sync_options:
  # How often ACLs are copied (0: 30s).
  interval: 30s
  paused: false
  acl_filters:
    - resource_filter:
        # ANY, CLUSTER, GROUP, TOPIC or TXN_ID.
        resource_type: ANY
        # ANY, LITERAL, PREFIXED or MATCH.
        pattern_type: ANY
        # Empty: every name; "*" matches only ACLs named "*".
        name: ""
      access_filter:
        # "User:alice"; empty: every principal.
        principal: ""
        # ANY, ALL, READ, WRITE, CREATE, REMOVE, ALTER, DESCRIBE,
        # CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS or IDEMPOTENT_WRITE.
        operation: ANY
        # ANY, ALLOW or DENY.
        permission_type: ANY
        # Empty: every host.
        host: ""
)";
}

}  // namespace fjord::cli::shadow
