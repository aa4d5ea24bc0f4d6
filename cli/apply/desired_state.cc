// File: cli/apply/desired_state.cc
//
// The desired-state file codec (contract: desired_state.h). One reader per
// top-level key, each walking its list with cli/yaml/read.h's readers so that
// every refusal carries the YAML path and line.

#include "cli/apply/desired_state.h"

#include <algorithm>
#include <cctype>
#include <map>

#include <fmt/format.h>

#include "cli/security/acl_flags.h"
#include "cli/shadow/config_yaml.h"
#include "cli/yaml/read.h"
#include "common/security/acl.h"
#include "common/security/acl_proto.h"

namespace fjord::cli::apply {
namespace {

using yaml::bad;
using yaml::check_map;
using yaml::join;
using yaml::node;
using yaml::present;
using yaml::read_list;
using yaml::read_string;

#define FJORD_TRY(expr)              \
    do {                             \
        if (auto _r = (expr); !_r) { \
            return _r.error();       \
        }                            \
    } while (0)

/// A required, non-empty string.
result<std::string> required_string(const node& parent, std::string_view key,
                                    std::string_view path) {
    const std::string p = join(path, key);
    const node n = parent[std::string(key)];
    if (!present(n) || n.IsNull()) {
        return bad(parent, p, "required");
    }
    auto s = read_string(n, p);
    if (!s) {
        return s.error();
    }
    if (s->empty()) {
        return bad(n, p, "must not be empty");
    }
    return s;
}

/// A name not seen before in its list: "<path>: "x" is listed twice (first
/// at topics[0])".
result<void> unique(std::map<std::string, std::string>& seen, const std::string& name,
                    const node& n, std::string_view path) {
    auto [it, fresh] = seen.emplace(name, std::string(path));
    if (!fresh) {
        return bad(n, path, fmt::format("\"{}\" is listed twice (first at {})", name, it->second));
    }
    return ok();
}

/// partitions / replication_factor: absent -1 (the cluster's default), else >= 1.
result<int32_t> count_field(const node& parent, std::string_view key, std::string_view path) {
    const node n = parent[std::string(key)];
    const std::string p = join(path, key);
    if (!present(n) || n.IsNull()) {
        return -1;
    }
    auto v = yaml::read_int32(n, p);
    if (!v) {
        return v.error();
    }
    if (*v < 1) {
        return bad(n, p,
                   fmt::format("{} is not allowed (at least 1; leave it out for the "
                               "cluster's default)",
                               *v));
    }
    return v;
}

/// A map of config values into `out`.
result<void> read_config_map(const node& n, std::string_view path,
                             google::protobuf::Map<std::string, std::string>* out) {
    if (!present(n) || n.IsNull()) {
        return ok();
    }
    if (!n.IsMap()) {
        return bad(n, path, "expected a map of key: value");
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
        if (!it->first.IsScalar() || it->first.Scalar().empty()) {
            return bad(it->first, path, "keys must be names");
        }
        const std::string key = it->first.Scalar();
        const std::string p = join(path, key);
        if (out->contains(key)) {
            return bad(it->first, p, "duplicate key");
        }
        if (it->second.IsNull()) {
            // A null value has no place of its own in the text: its key's line.
            return bad(it->first, p, "expected a value (\"\" to reset the key to its default)");
        }
        auto v = config_value_text(it->second, p);
        if (!v) {
            return v.error();
        }
        (*out)[key] = *v;
    }
    return ok();
}

result<void> read_topics(const node& n, std::string_view path, v1::DesiredState& d) {
    std::map<std::string, std::string> seen;
    return read_list(n, path, [&](const node& item, const std::string& p) -> result<void> {
        FJORD_TRY(check_map(item, p, {"name", "partitions", "replication_factor", "config"}));
        if (!item.IsMap()) {
            return bad(item, p, "expected a map with name, partitions, replication_factor, config");
        }
        auto name = required_string(item, "name", p);
        if (!name) {
            return name.error();
        }
        FJORD_TRY(unique(seen, *name, item["name"], join(p, "name")));
        auto parts = count_field(item, "partitions", p);
        if (!parts) {
            return parts.error();
        }
        auto rf = count_field(item, "replication_factor", p);
        if (!rf) {
            return rf.error();
        }
        v1::DesiredState::Topic* t = d.add_topics();
        t->set_name(*name);
        t->set_partitions(*parts);
        t->set_replication_factor(*rf);
        return read_config_map(item["config"], join(p, "config"), t->mutable_configs());
    });
}

/// An ACL field through acl.h's parser; absent: `fallback` ("" = required).
template <typename T, typename Parse>
result<T> acl_enum(const node& item, std::string_view key, std::string_view p,
                   std::string_view fallback, Parse parse) {
    const node n = item[std::string(key)];
    const std::string fp = join(p, key);
    std::string text(fallback);
    if (present(n) && !n.IsNull()) {
        auto s = read_string(n, fp);
        if (!s) {
            return s.error();
        }
        text = *s;
    } else if (fallback.empty()) {
        return bad(item, fp, "required");
    }
    auto v = parse(text);
    if (!v) {
        return bad(present(n) ? n : item, fp, v.error().reason());
    }
    return *v;
}

result<void> read_acls(const node& n, std::string_view path, v1::DesiredState& d) {
    std::map<std::string, std::string> seen;
    return read_list(n, path, [&](const node& item, const std::string& p) -> result<void> {
        FJORD_TRY(check_map(item, p,
                            {"principal", "host", "resource_type", "resource_name", "pattern_type",
                             "operation", "permission"}));
        if (!item.IsMap()) {
            return bad(item, p, "expected a map with principal, resource_type, operation, ...");
        }
        security::acl_binding b;
        auto who = required_string(item, "principal", p);
        if (!who) {
            return who.error();
        }
        // `fjord security acl --allow-principal`'s rule ("alice" is
        // User:alice); its error reads `principal "x": reason`, which is this
        // key's.
        auto principal = acl::principal_flag("principal", *who);
        if (!principal) {
            const std::string& e = principal.error().detail;
            return bad(item["principal"], join(p, "principal"),
                       e.starts_with("principal ") ? e.substr(10) : e);
        }
        b.who = *principal;
        auto rtype = acl_enum<security::resource_type>(item, "resource_type", p, "",
                                                       security::parse_resource_type);
        if (!rtype) {
            return rtype.error();
        }
        b.rtype = *rtype;
        if (b.rtype == security::resource_type::cluster && !present(item["resource_name"])) {
            b.name = std::string(security::cluster_resource_name);
        } else {
            auto name = required_string(item, "resource_name", p);
            if (!name) {
                return name.error();
            }
            b.name = *name;
        }
        auto ptype = acl_enum<security::pattern_type>(item, "pattern_type", p, "literal",
                                                      security::parse_pattern_type);
        if (!ptype) {
            return ptype.error();
        }
        b.ptype = *ptype;
        auto host = read_string(item["host"], join(p, "host"));
        if (!host) {
            return host.error();
        }
        b.host = host->empty() ? std::string(security::wildcard_host) : *host;
        auto op =
            acl_enum<security::acl_operation>(item, "operation", p, "", security::parse_operation);
        if (!op) {
            return op.error();
        }
        b.op = *op;
        auto perm = acl_enum<security::acl_permission>(item, "permission", p, "allow",
                                                       security::parse_permission);
        if (!perm) {
            return perm.error();
        }
        b.perm = *perm;
        // What may be stored (no `any`, a valid topic name, a host address):
        // acl.h names the field, which is this item's key of the same name
        // (but for acl.h's "name").
        if (auto v = security::validate(b); !v) {
            const std::string f(v.error().field);
            const std::string key = f == "name" || f.empty() ? "resource_name" : f;
            return bad(present(item[key]) ? item[key] : item, join(p, key), v.error().reason());
        }
        FJORD_TRY(unique(seen, security::to_string(b), item, p));
        *d.add_acls() = security::to_proto(b);
        return ok();
    });
}

/// password_env or password_file of `item` (one of them, never `password`
/// itself): the password, or an error naming the key.
result<std::string> read_password(const node& item, std::string_view p,
                                  const secret_source& secrets, bool required) {
    if (present(item["password"])) {
        return bad(item["password"], join(p, "password"),
                   "an inline password is not accepted: use password_env: VARIABLE or "
                   "password_file: PATH (the file is meant to be committed)");
    }
    const node env = item["password_env"];
    const node file = item["password_file"];
    if (present(env) && present(file)) {
        return bad(file, join(p, "password_file"),
                   "password_env and password_file are mutually exclusive; set one");
    }
    if (!present(env) && !present(file)) {
        if (!required) {
            return std::string();
        }
        return bad(item, join(p, "password_env"), "required (or password_file)");
    }
    if (present(env)) {
        const std::string fp = join(p, "password_env");
        auto var = read_string(env, fp);
        if (!var) {
            return var.error();
        }
        if (var->empty()) {
            return bad(env, fp, "must name an environment variable");
        }
        auto value = secrets.env(*var);
        if (!value) {
            return bad(env, fp, fmt::format("environment variable {} is not set", *var));
        }
        if (value->empty()) {
            return bad(env, fp, fmt::format("environment variable {} is empty", *var));
        }
        return *value;
    }
    const std::string fp = join(p, "password_file");
    auto path = read_string(file, fp);
    if (!path) {
        return path.error();
    }
    if (path->empty()) {
        return bad(file, fp, "must name a file");
    }
    auto content = secrets.read_file(*path);
    if (!content) {
        return bad(file, fp, content.error().detail);
    }
    std::string pw = *content;
    if (pw.ends_with("\n")) {
        pw.pop_back();
        if (pw.ends_with("\r")) {
            pw.pop_back();
        }
    }
    if (pw.empty()) {
        return bad(file, fp, fmt::format("{} is empty", *path));
    }
    return pw;
}

result<void> read_users(const node& n, std::string_view path, const secret_source& secrets,
                        v1::DesiredState& d) {
    std::map<std::string, std::string> seen;
    return read_list(n, path, [&](const node& item, const std::string& p) -> result<void> {
        FJORD_TRY(
            check_map(item, p, {"name", "mechanism", "password_env", "password_file", "password"}));
        if (!item.IsMap()) {
            return bad(item, p, "expected a map with name, mechanism, password_env|password_file");
        }
        auto name = required_string(item, "name", p);
        if (!name) {
            return name.error();
        }
        FJORD_TRY(unique(seen, *name, item["name"], join(p, "name")));
        auto mech = read_string(item["mechanism"], join(p, "mechanism"));
        if (!mech) {
            return mech.error();
        }
        std::string m = *mech;
        std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) {
            return c == '_' ? '-' : static_cast<char>(std::toupper(c));
        });
        if (m.empty()) {
            m = "SCRAM-SHA-256";
        } else if (m != "SCRAM-SHA-256" && m != "SCRAM-SHA-512") {
            return bad(item["mechanism"], join(p, "mechanism"),
                       fmt::format("\"{}\" is not one of SCRAM-SHA-256, SCRAM-SHA-512", *mech));
        }
        auto pw = read_password(item, p, secrets, true);
        if (!pw) {
            return pw.error();
        }
        v1::DesiredState::User* u = d.add_users();
        u->set_name(*name);
        u->set_mechanism(m);
        u->set_password(*pw);
        return ok();
    });
}

result<void> read_roles(const node& n, std::string_view path, v1::DesiredState& d) {
    std::map<std::string, std::string> seen;
    return read_list(n, path, [&](const node& item, const std::string& p) -> result<void> {
        FJORD_TRY(check_map(item, p, {"name", "members"}));
        if (!item.IsMap()) {
            return bad(item, p, "expected a map with name, members");
        }
        auto name = required_string(item, "name", p);
        if (!name) {
            return name.error();
        }
        FJORD_TRY(unique(seen, *name, item["name"], join(p, "name")));
        v1::DesiredState::Role* r = d.add_roles();
        r->set_name(*name);
        std::map<std::string, std::string> members;
        return read_list(item["members"], join(p, "members"),
                         [&](const node& m, const std::string& mp) -> result<void> {
                             if (!m.IsScalar()) {
                                 return bad(m, mp, "expected a principal (alice, User:alice)");
                             }
                             auto who = security::parse_role_member(m.Scalar());
                             if (!who) {
                                 return bad(m, mp, who.error().reason());
                             }
                             const std::string canonical = security::to_string(*who);
                             FJORD_TRY(unique(members, canonical, m, mp));
                             r->add_members(canonical);
                             return ok();
                         });
    });
}

result<void> read_shadow_links(const node& n, std::string_view path, const secret_source& secrets,
                               desired_file& out) {
    std::map<std::string, std::string> seen;
    return read_list(n, path, [&](const node& item, const std::string& p) -> result<void> {
        FJORD_TRY(check_map(item, p, {"name", "config", "password_env", "password_file"}));
        if (!item.IsMap()) {
            return bad(item, p, "expected a map with name, config");
        }
        auto name = required_string(item, "name", p);
        if (!name) {
            return name.error();
        }
        FJORD_TRY(unique(seen, *name, item["name"], join(p, "name")));
        const node config = item["config"];
        const std::string cp = join(p, "config");
        if (!present(config) || config.IsNull()) {
            return bad(item, cp, "required (the YAML of fjord shadow create -c)");
        }
        auto link = shadow::parse_link_node(config, cp);
        if (!link) {
            return link.error();
        }
        if (!link->name().empty() && link->name() != *name) {
            return bad(config["name"], join(cp, "name"),
                       fmt::format("\"{}\" differs from the entry's name \"{}\" (leave it out)",
                                   link->name(), *name));
        }
        link->set_name(*name);
        shadow_link_entry e;
        // The source's SASL password, inline (as shadow create takes it) or
        // from password_env/password_file: one of them.
        std::string* inline_pw = nullptr;
        if (link->config().client_options().has_authentication_configuration()) {
            auto* auth = link->mutable_config()
                             ->mutable_client_options()
                             ->mutable_authentication_configuration();
            inline_pw = auth->has_scram_configuration()
                            ? auth->mutable_scram_configuration()->mutable_password()
                        : auth->has_plain_configuration()
                            ? auth->mutable_plain_configuration()->mutable_password()
                            : nullptr;
        }
        auto pw = read_password(item, p, secrets, false);
        if (!pw) {
            return pw.error();
        }
        if (!pw->empty()) {
            if (inline_pw == nullptr) {
                return bad(
                    present(item["password_env"]) ? item["password_env"] : item["password_file"],
                    join(p, present(item["password_env"]) ? "password_env" : "password_file"),
                    "the config has no client_options.authentication_configuration "
                    "to use the password for");
            }
            if (!inline_pw->empty()) {
                return bad(item, join(cp, "client_options.authentication_configuration"),
                           "a password inline and password_env/password_file: set one");
            }
            *inline_pw = *pw;
        }
        e.has_password = inline_pw != nullptr && !inline_pw->empty();
        e.link = std::move(*link);
        e.path = p;
        out.shadow_links.push_back(std::move(e));
        return ok();
    });
}

}  // namespace

result<std::string> config_value_text(const YAML::Node& n, std::string_view path) {
    if (n.IsScalar()) {
        return n.Scalar();
    }
    if (n.IsSequence()) {
        std::string out;
        for (size_t i = 0; i < n.size(); ++i) {
            if (!n[i].IsScalar()) {
                return bad(n[i], yaml::index(path, i),
                           "expected a scalar (a list is comma-joined)");
            }
            out += (i == 0 ? "" : ",") + n[i].Scalar();
        }
        return out;
    }
    return bad(n, path,
               n.IsNull() ? "expected a value (\"\" to reset the key to its default)"
                          : "expected a scalar or a list of scalars");
}

result<desired_file> parse_desired_state(std::string_view text, const secret_source& secrets) {
    auto loaded = yaml::load(text);
    if (!loaded) {
        return loaded.error();
    }
    const node& root = *loaded;
    desired_file out;
    if (!root.IsDefined() || root.IsNull()) {
        return out;  // an empty file: nothing desired, nothing touched
    }
    if (!root.IsMap()) {
        return bad(root, "", "expected a map with topics, acls, users, roles, cluster_config, ...");
    }
    FJORD_TRY(check_map(
        root, "", {"owner", "topics", "acls", "users", "roles", "cluster_config", "shadow_links"}));
    auto owner = read_string(root["owner"], "owner");
    if (!owner) {
        return owner.error();
    }
    out.owner = *owner;
    v1::DesiredState& d = out.state;
    if (present(root["topics"])) {
        d.set_has_topics(true);
        FJORD_TRY(read_topics(root["topics"], "topics", d));
    }
    if (present(root["acls"])) {
        d.set_has_acls(true);
        FJORD_TRY(read_acls(root["acls"], "acls", d));
    }
    if (present(root["users"])) {
        d.set_has_users(true);
        FJORD_TRY(read_users(root["users"], "users", secrets, d));
    }
    if (present(root["roles"])) {
        d.set_has_roles(true);
        FJORD_TRY(read_roles(root["roles"], "roles", d));
    }
    if (present(root["cluster_config"])) {
        d.set_has_cluster_config(true);
        FJORD_TRY(
            read_config_map(root["cluster_config"], "cluster_config", d.mutable_cluster_config()));
    }
    if (present(root["shadow_links"])) {
        out.has_shadow_links = true;
        FJORD_TRY(read_shadow_links(root["shadow_links"], "shadow_links", secrets, out));
    }
    return out;
}

#undef FJORD_TRY

}  // namespace fjord::cli::apply
