// File: cli/security/acl_flags.cc

#include "cli/security/acl_flags.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/security/acl_proto.h"

namespace fjord::cli::acl {
namespace {

using security::acl_binding;
using security::acl_filter;
using security::acl_operation;
using security::acl_permission;
using security::pattern_type;
using security::principal;
using security::resource_type;

error_info usage(std::string detail) {
    return error_info(std::make_error_code(std::errc::invalid_argument), std::move(detail));
}

/// `--flag "value": reason` from a field error of acl.h.
error_info flag_error(std::string_view flag, std::string_view value, const error_info& e) {
    return usage(fmt::format("{} \"{}\": {}", flag, value, e.reason()));
}

/// A resource the flags name: its type, its name, and the flag that named it.
struct resource {
    resource_type type;
    std::string name;
    const char* flag;
};

std::vector<resource> resources_of(const acl_flags& f) {
    std::vector<resource> out;
    for (const auto& t : f.topics) {
        out.push_back({resource_type::topic, t, "--topic"});
    }
    for (const auto& g : f.groups) {
        out.push_back({resource_type::group, g, "--group"});
    }
    if (f.cluster) {
        out.push_back(
            {resource_type::cluster, std::string(security::cluster_resource_name), "--cluster"});
    }
    for (const auto& x : f.transactional_ids) {
        out.push_back({resource_type::transactional_id, x, "--transactional-id"});
    }
    return out;
}

result<std::vector<acl_operation>> operations_of(const acl_flags& f, bool filter) {
    std::vector<acl_operation> out;
    for (const auto& text : f.operations) {
        auto op = security::parse_operation(text);
        if (!op) {
            return flag_error("--operation", text, op.error());
        }
        if (*op == acl_operation::any && !filter) {
            return usage(fmt::format(
                "--operation \"{}\": any selects bindings in list and delete; create grants "
                "or denies named operations (all is every operation)",
                text));
        }
        if (std::find(out.begin(), out.end(), *op) == out.end()) {
            out.push_back(*op);
        }
    }
    return out;
}

result<pattern_type> pattern_of(const acl_flags& f, bool filter) {
    if (f.pattern.empty()) {
        return filter ? pattern_type::any : pattern_type::literal;
    }
    auto p = security::parse_pattern_type(f.pattern);
    if (!p) {
        return flag_error("--resource-pattern-type", f.pattern, p.error());
    }
    if (!filter && *p != pattern_type::literal && *p != pattern_type::prefixed) {
        return usage(fmt::format(
            "--resource-pattern-type \"{}\": create takes literal or prefixed (any and match "
            "select bindings in list and delete)",
            f.pattern));
    }
    return *p;
}

/// One side (allow or deny) of the principal flags.
struct side {
    acl_permission perm;
    const std::vector<std::string>* principals;
    const std::vector<std::string>* roles;
    const std::vector<std::string>* hosts;
    const char* principal_flag;
    const char* role_flag;
    const char* host_flag;
};

std::vector<side> sides_of(const acl_flags& f) {
    return {{acl_permission::allow, &f.allow_principals, &f.allow_roles, &f.allow_hosts,
             "--allow-principal", "--allow-role", "--allow-host"},
            {acl_permission::deny, &f.deny_principals, &f.deny_roles, &f.deny_hosts,
             "--deny-principal", "--deny-role", "--deny-host"}};
}

result<std::vector<principal>> principals_of(const side& s) {
    std::vector<principal> out;
    const auto add = [&](const principal& p) {
        if (std::find(out.begin(), out.end(), p) == out.end()) {
            out.push_back(p);
        }
    };
    for (const auto& text : *s.principals) {
        auto p = principal_flag(s.principal_flag, text);
        if (!p) {
            return p.error();
        }
        add(*p);
    }
    for (const auto& text : *s.roles) {
        auto p = role_flag(s.role_flag, text);
        if (!p) {
            return p.error();
        }
        add(*p);
    }
    return out;
}

result<std::vector<std::string>> hosts_of(const side& s) {
    std::vector<std::string> out;
    for (const auto& h : *s.hosts) {
        if (auto r = security::validate_host(h); !r) {
            return flag_error(s.host_flag, h, r.error());
        }
        if (std::find(out.begin(), out.end(), h) == out.end()) {
            out.push_back(h);
        }
    }
    return out;
}

std::string upper_name(std::string_view lower) {
    return upper(lower);
}

}  // namespace

std::string upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

result<principal> principal_flag(std::string_view flag, std::string_view text) {
    if (text.starts_with("Group:")) {
        return usage(
            fmt::format("{} \"{}\": Group principals are not supported (User:NAME, "
                        "User:* or Role:NAME)",
                        flag, text));
    }
    const bool typed =
        text.starts_with("User:") || text.starts_with("Role:") || text.starts_with("RedpandaRole:");
    const std::string full = typed ? std::string(text) : "User:" + std::string(text);
    auto p = security::parse_principal(full);
    if (!p) {
        return flag_error(flag, text, p.error());
    }
    return *p;
}

result<principal> role_flag(std::string_view flag, std::string_view text) {
    if (text.empty()) {
        return usage(fmt::format("{}: a role name must not be empty", flag));
    }
    if (text == "*") {
        return usage(
            fmt::format("{} \"*\": a role is never a wildcard (--allow-principal '*' is "
                        "every user)",
                        flag));
    }
    principal p = principal::role(std::string(text));
    if (auto r = security::validate_principal(p); !r) {
        return flag_error(flag, text, r.error());
    }
    return p;
}

result<std::vector<acl_binding>> bindings_to_create(const acl_flags& f) {
    const auto ptype = pattern_of(f, false);
    if (!ptype) {
        return ptype.error();
    }
    const auto ops = operations_of(f, false);
    if (!ops) {
        return ops.error();
    }
    // (principal, permission, host) pairs, allow side first.
    struct grant {
        principal who;
        acl_permission perm;
        std::string host;
    };
    std::vector<grant> grants;
    for (const side& s : sides_of(f)) {
        auto who = principals_of(s);
        if (!who) {
            return who.error();
        }
        auto hosts = hosts_of(s);
        if (!hosts) {
            return hosts.error();
        }
        if (who->empty() && !hosts->empty()) {
            return usage(fmt::format("{} needs {} or {}: a host only narrows a principal",
                                     s.host_flag, s.principal_flag, s.role_flag));
        }
        if (hosts->empty()) {
            hosts->emplace_back(security::wildcard_host);
        }
        for (const auto& p : *who) {
            for (const auto& h : *hosts) {
                grants.push_back({p, s.perm, h});
            }
        }
    }
    const auto resources = resources_of(f);
    if (grants.empty()) {
        return usage(
            "at least one principal is required: --allow-principal, --deny-principal, "
            "--allow-role or --deny-role");
    }
    if (resources.empty()) {
        return usage(
            "at least one resource is required: --topic, --group, --cluster or "
            "--transactional-id");
    }
    if (ops->empty()) {
        return usage("at least one --operation is required (e.g. --operation read,describe)");
    }
    std::vector<acl_binding> out;
    std::set<acl_binding> seen;
    for (const auto& g : grants) {
        for (const auto& r : resources) {
            for (const auto op : *ops) {
                acl_binding b{r.type, r.name, *ptype, g.who, g.host, op, g.perm};
                if (auto v = security::validate(b); !v) {
                    const bool about_name = v.error().field == "resource_name";
                    return usage(fmt::format("{} \"{}\": {}", about_name ? r.flag : "binding",
                                             about_name ? r.name : security::to_string(b),
                                             v.error().reason()));
                }
                if (seen.insert(b).second) {
                    out.push_back(std::move(b));
                }
            }
        }
    }
    return out;
}

result<std::vector<acl_filter>> filters_for(const acl_flags& f) {
    const auto ptype = pattern_of(f, true);
    if (!ptype) {
        return ptype.error();
    }
    auto ops = operations_of(f, true);
    if (!ops) {
        return ops.error();
    }
    if (ops->empty()) {
        ops->push_back(acl_operation::any);
    }
    // (principal or every principal, permission, host or every host).
    struct who {
        std::optional<principal> p;
        acl_permission perm;
        std::optional<std::string> host;
    };
    std::vector<who> whos;
    bool any_principal = false;
    std::vector<who> host_only;
    for (const side& s : sides_of(f)) {
        auto ps = principals_of(s);
        if (!ps) {
            return ps.error();
        }
        auto hosts = hosts_of(s);
        if (!hosts) {
            return hosts.error();
        }
        any_principal = any_principal || !ps->empty();
        for (const auto& h : *hosts) {
            host_only.push_back({std::nullopt, s.perm, h});
        }
        for (const auto& p : *ps) {
            if (hosts->empty()) {
                whos.push_back({p, s.perm, std::nullopt});
            }
            for (const auto& h : *hosts) {
                whos.push_back({p, s.perm, h});
            }
        }
    }
    if (!any_principal) {
        // Hosts without principals: every principal from those hosts.
        whos = host_only;
        if (whos.empty()) {
            whos.push_back({std::nullopt, acl_permission::any, std::nullopt});
        }
    } else {
        for (const auto& h : host_only) {
            // A host flag of a side without principals would be dropped
            // silently by the product: refuse it instead.
            const bool side_has_principal = std::any_of(
                whos.begin(), whos.end(), [&](const who& w) { return w.perm == h.perm; });
            if (!side_has_principal) {
                const bool allow = h.perm == acl_permission::allow;
                return usage(fmt::format(
                    "{} needs {} or {} when {} names principals",
                    allow ? "--allow-host" : "--deny-host",
                    allow ? "--allow-principal" : "--deny-principal",
                    allow ? "--allow-role" : "--deny-role",
                    allow ? "--deny-principal/--deny-role" : "--allow-principal/--allow-role"));
            }
        }
    }
    auto resources = resources_of(f);
    std::vector<std::optional<resource>> rs(resources.begin(), resources.end());
    if (rs.empty()) {
        rs.emplace_back(std::nullopt);
    }
    std::vector<acl_filter> out;
    for (const auto& w : whos) {
        for (const auto& r : rs) {
            for (const auto op : *ops) {
                acl_filter flt;
                flt.rtype = r ? r->type : resource_type::any;
                if (r) {
                    flt.name = r->name;
                }
                flt.ptype = *ptype;
                flt.who = w.p;
                flt.host = w.host;
                flt.op = op;
                flt.perm = w.perm;
                if (std::find(out.begin(), out.end(), flt) == out.end()) {
                    out.push_back(std::move(flt));
                }
            }
        }
    }
    return out;
}

result<v1::CheckAclRequest> check_request(const check_flags& f) {
    if (f.principal.empty()) {
        return usage("--principal is required (a user: alice or User:alice)");
    }
    auto who = principal_flag("--principal", f.principal);
    if (!who) {
        return who.error();
    }
    if (who->type != principal::kind::user) {
        return usage(fmt::format(
            "--principal \"{}\": a check asks about a user (its roles' bindings count for it)",
            f.principal));
    }
    if (who->is_wildcard()) {
        return usage("--principal \"User:*\": a check asks about one user, not every user");
    }
    if (f.operation.empty()) {
        return usage("--operation is required (e.g. read, write, describe)");
    }
    auto op = security::parse_operation(f.operation);
    if (!op) {
        return flag_error("--operation", f.operation, op.error());
    }
    if (*op == acl_operation::any || *op == acl_operation::all) {
        return usage(
            fmt::format("--operation \"{}\": a request asks for one operation (read, "
                        "write, create, delete, alter, describe, cluster_action, "
                        "describe_configs, alter_configs, idempotent_write)",
                        f.operation));
    }
    const int named = int{!f.topic.empty()} + int{!f.group.empty()} +
                      int{!f.transactional_id.empty()} + int{f.cluster};
    if (named != 1) {
        return usage(
            fmt::format("name exactly one resource: --topic, --group, --cluster or "
                        "--transactional-id ({} given)",
                        named));
    }
    if (!f.host.empty()) {
        if (auto r = security::validate_host(f.host); !r) {
            return flag_error("--host", f.host, r.error());
        }
    }
    v1::CheckAclRequest req;
    req.set_principal(security::to_string(*who));
    req.set_host(f.host);
    req.set_operation(static_cast<v1::AclOperation>(*op));
    if (!f.topic.empty()) {
        req.set_resource_type(v1::ACL_RESOURCE_TOPIC);
        req.set_resource_name(f.topic);
    } else if (!f.group.empty()) {
        req.set_resource_type(v1::ACL_RESOURCE_GROUP);
        req.set_resource_name(f.group);
    } else if (!f.transactional_id.empty()) {
        req.set_resource_type(v1::ACL_RESOURCE_TRANSACTIONAL_ID);
        req.set_resource_name(f.transactional_id);
    } else {
        req.set_resource_type(v1::ACL_RESOURCE_CLUSTER);
        req.set_resource_name(std::string(security::cluster_resource_name));
    }
    return req;
}

// ------------------------------------------------------------ printing

std::string resource_type_name(v1::AclResourceType t) {
    return t == v1::ACL_RESOURCE_TYPE_UNSPECIFIED
               ? "ANY"
               : upper_name(security::to_string(static_cast<resource_type>(t)));
}

std::string pattern_type_name(v1::AclPatternType t) {
    return t == v1::ACL_PATTERN_TYPE_UNSPECIFIED
               ? "ANY"
               : upper_name(security::to_string(static_cast<pattern_type>(t)));
}

std::string operation_name(v1::AclOperation o) {
    return o == v1::ACL_OPERATION_UNSPECIFIED
               ? "ANY"
               : upper_name(security::to_string(static_cast<acl_operation>(o)));
}

std::string permission_name(v1::AclPermission p) {
    return p == v1::ACL_PERMISSION_UNSPECIFIED
               ? "ANY"
               : upper_name(security::to_string(static_cast<acl_permission>(p)));
}

const std::vector<std::string> binding_columns{
    "principal", "host",      "resource-type", "resource-name", "resource-pattern-type",
    "operation", "permission"};

std::vector<std::string> binding_row(const v1::AclBinding& b) {
    return {b.principal(),
            b.host(),
            resource_type_name(b.resource_type()),
            b.resource_name(),
            pattern_type_name(b.pattern_type()),
            operation_name(b.operation()),
            permission_name(b.permission())};
}

nlohmann::json binding_json(const v1::AclBinding& b) {
    return {{"principal", b.principal()},
            {"host", b.host()},
            {"resource_type", resource_type_name(b.resource_type())},
            {"resource_name", b.resource_name()},
            {"resource_pattern_type", pattern_type_name(b.pattern_type())},
            {"operation", operation_name(b.operation())},
            {"permission", permission_name(b.permission())}};
}

const std::vector<std::string> filter_columns{
    "type", "name", "resource-pattern-type", "principal", "host", "operation", "permission"};

std::vector<std::string> filter_row(const v1::AclFilter& f) {
    return {resource_type_name(f.resource_type()),
            f.has_resource_name() ? f.resource_name() : std::string("(any)"),
            pattern_type_name(f.pattern_type()),
            f.has_principal() ? f.principal() : std::string("(any)"),
            f.has_host() ? f.host() : std::string("(any)"),
            operation_name(f.operation()),
            permission_name(f.permission())};
}

nlohmann::json filter_json(const v1::AclFilter& f) {
    const auto opt = [](bool has, const std::string& v) {
        return has ? nlohmann::json(v) : nlohmann::json(nullptr);
    };
    return {{"resource_type", resource_type_name(f.resource_type())},
            {"resource_name", opt(f.has_resource_name(), f.resource_name())},
            {"resource_pattern_type", pattern_type_name(f.pattern_type())},
            {"principal", opt(f.has_principal(), f.principal())},
            {"host", opt(f.has_host(), f.host())},
            {"operation", operation_name(f.operation())},
            {"permission", permission_name(f.permission())}};
}

const char* const operations_help =
    R"(The operation each request needs, on which resource (Kafka's table; a superuser
needs none). With kafka_enable_authorization on, a broker checks these for the
authenticated user, its roles, User:* and the client's host:

  REQUEST                          OPERATION          RESOURCE
  Produce                          WRITE              TOPIC
                                   WRITE              TRANSACTIONAL_ID (transactional producers)
  Fetch (consumer)                 READ               TOPIC
  ListOffsets                      DESCRIBE           TOPIC
  Metadata                         DESCRIBE           TOPIC (only those are listed)
    ...that auto-creates a topic   CREATE             CLUSTER or TOPIC
  InitProducerId                   IDEMPOTENT_WRITE   CLUSTER, or WRITE on any TOPIC
                                   WRITE              TRANSACTIONAL_ID (with one)
  FindCoordinator                  DESCRIBE           GROUP or TRANSACTIONAL_ID
  JoinGroup, SyncGroup,            READ               GROUP
    Heartbeat, LeaveGroup
  OffsetCommit                     READ               GROUP, and READ on each TOPIC
  OffsetFetch                      DESCRIBE           GROUP, and DESCRIBE on each TOPIC
  ListGroups                       DESCRIBE           GROUP (only those are listed)
  DescribeGroups                   DESCRIBE           GROUP
  DeleteRecords                    DELETE             TOPIC
  CreateTopics                     CREATE             CLUSTER or TOPIC
  DeleteTopics                     DELETE             TOPIC
  CreatePartitions                 ALTER              TOPIC
  DescribeConfigs                  DESCRIBE_CONFIGS   TOPIC, or CLUSTER for broker configs
  AlterConfigs,                    ALTER_CONFIGS      TOPIC, or CLUSTER for broker configs
    IncrementalAlterConfigs
  DescribeCluster                  DESCRIBE           CLUSTER
  DescribeAcls                     DESCRIBE           CLUSTER
  CreateAcls, DeleteAcls           ALTER              CLUSTER
  DescribeUserScramCredentials     DESCRIBE           CLUSTER
  AlterUserScramCredentials        ALTER              CLUSTER
  ApiVersions, SaslHandshake,      (none)
    SaslAuthenticate

Implied operations (ALLOW only): READ, WRITE, DELETE or ALTER allow DESCRIBE;
ALTER_CONFIGS allows DESCRIBE_CONFIGS. ALL matches every operation. A matching
DENY beats every ALLOW; with no matching binding the request is denied.

The controller API (every fjord command that talks to the controllers) checks the
same bindings for the basic-auth user when admin_api_require_auth is on:

  CALL (fjord command)                     OPERATION          RESOURCE
  CreateTopics (topic create)              CREATE             TOPIC or CLUSTER
  DeleteTopics (topic delete)              DELETE             TOPIC
  AlterTopicConfigs (topic alter-config)   ALTER_CONFIGS      TOPIC
  CreatePartitions (topic add-partitions)  ALTER              TOPIC
  ListTopics (topic list|describe)         DESCRIBE           TOPIC (only those are listed)
  GetClusterConfig (cluster config get)    DESCRIBE_CONFIGS   CLUSTER
  SetClusterConfig (cluster config set)    ALTER_CONFIGS      CLUSTER
  Users, ACLs, roles: changes              ALTER              CLUSTER
  Users, ACLs, roles: lists, acl check     DESCRIBE           CLUSTER
  Status, ListBrokers (controller status)  DESCRIBE           CLUSTER
  Membership, leadership, snapshots,       ALTER              CLUSTER
    SetBrokerState
  RegisterBroker, Heartbeat, Watch         CLUSTER_ACTION     CLUSTER (the brokers' own calls)
)";

}  // namespace fjord::cli::acl
