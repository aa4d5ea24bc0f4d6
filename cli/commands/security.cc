// File: cli/commands/security.cc
//
// fjord security (alias sec): rpk's `security acl|user|role` trees
// (rpk-reference §3) over the controller's security RPCs
// (controller_service.proto), plus `acl check`, which asks the controller's
// authorizer for one decision and what decided it.
//
//   acl create|list|delete   flags -> bindings/filters: cli/security/acl_flags.h
//   acl check                CheckAcl
//   acl --help-operations    what each request needs
//   user create|update|delete|list    SCRAM users; passwords: cli/security/password.h
//   role create|delete|list|describe|assign|unassign
//
// Output is rpk's (tables with upper-case headers; JSON with the same names),
// through the one printer. Exit codes (cli/exit_codes.h): 0 done or nothing
// to do (a --dry delete, a declined confirmation, a check that says denied:
// the question was answered); 1 any item failed (each is printed) or the
// controller refused the call; 2 usage, including a delete or role delete
// that would have to ask but has no terminal to ask on (--no-confirm).
// Passwords are never printed except a generated one, once, on its own line.

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.h"
#include "cli/confirm.h"
#include "cli/context.h"
#include "cli/security/acl_flags.h"
#include "cli/security/password.h"
#include "cli/wait.h"
#include "common/security/acl_proto.h"

namespace fjord::cli {
namespace {

using json = nlohmann::json;
using acl::acl_flags;

std::string code_name(v1::ErrorCode c) {
    return v1::ErrorCode_Name(c);
}

/// "" for OK, else "CODE: message".
std::string item_error(const v1::ItemResult& r) {
    if (r.code() == v1::OK) {
        return {};
    }
    return r.message().empty() ? code_name(r.code())
                               : fmt::format("{}: {}", code_name(r.code()), r.message());
}

void add_resource_flags(CLI::App* cmd, acl_flags& f, bool filter) {
    const char* verb = filter ? "Match" : "Grant on";
    cmd->add_option("--topic", f.topics, fmt::format("{} these topics", verb))->delimiter(',');
    cmd->add_option("--group", f.groups, fmt::format("{} these consumer groups", verb))
        ->delimiter(',');
    cmd->add_flag("--cluster", f.cluster,
                  fmt::format("{} the cluster (its name is always kafka-cluster)", verb));
    cmd->add_option("--transactional-id", f.transactional_ids,
                    fmt::format("{} these transactional ids", verb))
        ->delimiter(',');
    cmd->add_option("--resource-pattern-type", f.pattern,
                    filter ? "any (default: literal or prefixed with the exact name), match "
                             "(every pattern that applies to the name), literal, prefixed"
                           : "literal (default) or prefixed");
    cmd->add_option("--operation", f.operations,
                    std::string("Operations: all, read, write, create, delete, alter, describe, "
                                "cluster_action, describe_configs, alter_configs, "
                                "idempotent_write") +
                        (filter ? ", any" : ""))
        ->delimiter(',');
    cmd->add_option("--allow-principal", f.allow_principals,
                    "Principals allowed (User: added when missing; '*' is every user)")
        ->delimiter(',');
    cmd->add_option("--deny-principal", f.deny_principals,
                    "Principals denied (User: added when missing)")
        ->delimiter(',');
    cmd->add_option("--allow-role", f.allow_roles, "Roles allowed")->delimiter(',');
    cmd->add_option("--deny-role", f.deny_roles, "Roles denied")->delimiter(',');
    cmd->add_option("--allow-host", f.allow_hosts,
                    "Hosts the allow principals may connect from (default every host, *)")
        ->delimiter(',');
    cmd->add_option("--deny-host", f.deny_hosts,
                    "Hosts the deny principals are denied from (default every host, *)")
        ->delimiter(',');
}

json with_error(json j, const std::string& error) {
    j["error"] = error;
    return j;
}

std::vector<std::string> with_error(std::vector<std::string> row, const std::string& error) {
    row.push_back(error);
    return row;
}

std::vector<std::string> columns_with_error(const std::vector<std::string>& cols) {
    auto out = cols;
    out.emplace_back("error");
    return out;
}

/// The filters as the controller takes them.
result<std::vector<v1::AclFilter>> proto_filters(const acl_flags& f) {
    auto filters = acl::filters_for(f);
    if (!filters) {
        return filters.error();
    }
    std::vector<v1::AclFilter> out;
    for (const auto& flt : *filters) {
        out.push_back(security::to_proto(flt));
    }
    return out;
}

/// A binding's identity for de-duplication across filters (its audit aside).
std::string binding_key(const v1::AclBinding& b) {
    return fmt::format("{}", fmt::join(acl::binding_row(b), "\x1f"));
}

// ------------------------------------------------------------ acl create

struct acl_create_options {
    acl_flags flags;
    std::chrono::milliseconds wait{0};
};

void run_acl_create(cli_context& ctx, const acl_create_options& o) {
    if (ctx.print_schema("[{\"principal\": string, \"host\": string, \"resource_type\": "
                         "\"TOPIC\"|\"GROUP\"|\"CLUSTER\"|\"TRANSACTIONAL_ID\", \"resource_name\": "
                         "string, \"resource_pattern_type\": \"LITERAL\"|\"PREFIXED\", "
                         "\"operation\": string, \"permission\": \"ALLOW\"|\"DENY\", \"error\": "
                         "string (\"\" when created or already there)}]")) {
        return;
    }
    auto bindings = acl::bindings_to_create(o.flags);
    if (!bindings) {
        ctx.fail(exit_code::usage, bindings.error().detail);
        return;
    }
    v1::CreateAclsRequest req;
    for (const auto& b : *bindings) {
        *req.add_bindings() = security::to_proto(b);
    }
    auto resp = ctx.call(&ctl::create_acls, req);
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return;
    }
    if (resp->results_size() != req.bindings_size()) {
        ctx.fail(exit_code::failed,
                 fmt::format("the controller answered {} results for {} bindings",
                             resp->results_size(), req.bindings_size()));
        return;
    }
    json doc = json::array();
    std::vector<std::vector<std::string>> rows;
    for (int i = 0; i < req.bindings_size(); ++i) {
        const std::string err = item_error(resp->results(i));
        if (!err.empty()) {
            ctx.set_code(exit_code::failed);
        }
        doc.push_back(with_error(acl::binding_json(req.bindings(i)), err));
        rows.push_back(with_error(acl::binding_row(req.bindings(i)), err));
    }
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        return render_table(columns_with_error(acl::binding_columns), rows);
    });
    if (o.wait.count() > 0 && ctx.code() == exit_code::ok) {
        wait_for_brokers(ctx, resp->revision(), o.wait);
    }
}

// ------------------------------------------------------------ acl list

struct acl_list_options {
    acl_flags flags;
    bool print_filters = false;
};

constexpr const char* filter_schema =
    "{\"resource_type\": string, \"resource_name\": string|null, \"resource_pattern_type\": "
    "string, \"principal\": string|null, \"host\": string|null, \"operation\": string, "
    "\"permission\": string}";
constexpr const char* binding_schema =
    "{\"principal\": string, \"host\": string, \"resource_type\": string, \"resource_name\": "
    "string, \"resource_pattern_type\": string, \"operation\": string, \"permission\": string}";

std::string filters_section(const std::vector<v1::AclFilter>& filters) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& f : filters) {
        rows.push_back(acl::filter_row(f));
    }
    return "FILTERS\n" + render_table(acl::filter_columns, rows) + "\n";
}

void run_acl_list(cli_context& ctx, const acl_list_options& o) {
    if (ctx.print_schema(fmt::format("{{\"filters\": [{}], \"matches\": [{}]}}", filter_schema,
                                     binding_schema))) {
        return;
    }
    auto filters = proto_filters(o.flags);
    if (!filters) {
        ctx.fail(exit_code::usage, filters.error().detail);
        return;
    }
    // ListAcls takes one filter; the flags' product is their union.
    std::set<std::string> seen;
    std::vector<v1::AclBinding> matches;
    for (const auto& f : *filters) {
        v1::ListAclsRequest req;
        *req.mutable_filter() = f;
        auto resp = ctx.call(&ctl::list_acls, req);
        if (!resp) {
            ctx.fail(exit_code::failed, resp.error().detail);
            return;
        }
        for (const auto& b : resp->bindings()) {
            if (seen.insert(binding_key(b)).second) {
                matches.push_back(b);
            }
        }
    }
    json doc = {{"filters", json::array()}, {"matches", json::array()}};
    for (const auto& f : *filters) {
        doc["filters"].push_back(acl::filter_json(f));
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& b : matches) {
        doc["matches"].push_back(acl::binding_json(b));
        rows.push_back(acl::binding_row(b));
    }
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        std::string out = o.print_filters ? filters_section(*filters) + "MATCHES\n" : "";
        return out + render_table(acl::binding_columns, rows);
    });
}

// ------------------------------------------------------------ acl delete

struct acl_delete_options {
    acl_flags flags;
    bool dry = false;
    bool no_confirm = false;
    bool print_filters = false;
    std::chrono::milliseconds wait{0};
};

/// One DeleteAcls call: its answer, or the command failed.
std::optional<v1::DeleteAclsResponse> delete_acls(cli_context& ctx,
                                                  const std::vector<v1::AclFilter>& filters,
                                                  bool validate_only) {
    v1::DeleteAclsRequest req;
    req.set_validate_only(validate_only);
    for (const auto& f : filters) {
        *req.add_filters() = f;
    }
    auto resp = ctx.call(&ctl::delete_acls, req);
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return std::nullopt;
    }
    if (resp->results_size() != req.filters_size()) {
        ctx.fail(exit_code::failed, fmt::format("the controller answered {} results for {} filters",
                                                resp->results_size(), req.filters_size()));
        return std::nullopt;
    }
    return std::move(*resp);
}

/// Prints {"filters": [... "error"], "deletions" or "matches": [... "error"]}.
void print_deletions(cli_context& ctx, const std::vector<v1::AclFilter>& filters,
                     const v1::DeleteAclsResponse& resp, const char* section, bool show_filters) {
    json doc = {{"filters", json::array()}, {section, json::array()}};
    std::vector<std::vector<std::string>> frows;
    std::vector<std::vector<std::string>> rows;
    std::set<std::string> seen;
    bool filter_failed = false;
    for (size_t i = 0; i < filters.size(); ++i) {
        const auto& r = resp.results(static_cast<int>(i));
        const std::string err = item_error(r.result());
        filter_failed = filter_failed || !err.empty();
        doc["filters"].push_back(with_error(acl::filter_json(filters[i]), err));
        frows.push_back(with_error(acl::filter_row(filters[i]), err));
        for (const auto& b : r.deleted()) {
            if (seen.insert(binding_key(b)).second) {
                doc[section].push_back(with_error(acl::binding_json(b), ""));
                rows.push_back(acl::binding_row(b));
            }
        }
    }
    if (filter_failed) {
        ctx.set_code(exit_code::failed);
    }
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        std::string out;
        if (show_filters || filter_failed) {  // failed filters are always shown, as rpk does
            out +=
                "FILTERS\n" + render_table(columns_with_error(acl::filter_columns), frows) + "\n";
        }
        out += acl::upper(section) + "\n" + render_table(acl::binding_columns, rows);
        return out;
    });
}

size_t deleted_count(const v1::DeleteAclsResponse& resp) {
    std::set<std::string> seen;
    for (const auto& r : resp.results()) {
        for (const auto& b : r.deleted()) {
            seen.insert(binding_key(b));
        }
    }
    return seen.size();
}

void run_acl_delete(cli_context& ctx, const acl_delete_options& o) {
    if (ctx.print_schema(fmt::format(
            "{{\"filters\": [{} + \"error\": string], \"deletions\" (\"matches\" with --dry): "
            "[{} + \"error\": string]}}",
            filter_schema, binding_schema))) {
        return;
    }
    auto filters = proto_filters(o.flags);
    if (!filters) {
        ctx.fail(exit_code::usage, filters.error().detail);
        return;
    }
    if (o.dry || !o.no_confirm) {
        // What would go: the controller applies the filters without deleting.
        auto preview = delete_acls(ctx, *filters, true);
        if (!preview) {
            return;
        }
        const size_t n = deleted_count(*preview);
        if (o.dry) {
            print_deletions(ctx, *filters, *preview, "matches", o.print_filters);
            return;
        }
        if (n == 0) {
            print_deletions(ctx, *filters, *preview, "deletions", o.print_filters);
            std::cerr << "No ACLs match; nothing deleted.\n";
            return;
        }
        // The matches and the question go to stderr: stdout keeps the result.
        std::vector<std::vector<std::string>> rows;
        std::set<std::string> seen;
        for (const auto& r : preview->results()) {
            for (const auto& b : r.deleted()) {
                if (seen.insert(binding_key(b)).second) {
                    rows.push_back(acl::binding_row(b));
                }
            }
        }
        if (::isatty(STDIN_FILENO) != 0) {
            std::cerr << "MATCHES\n" << render_table(acl::binding_columns, rows) << "\n";
        }
        const std::string what = fmt::format("delete {} ACL{}", n, n == 1 ? "" : "s");
        auto a = confirm(ctx, "Confirm deletion of the above matching ACLs?", what);
        if (a == answer::yes && n > 10) {
            a = confirm(ctx, fmt::format("This deletes {} ACLs. Are you sure?", n), what);
        }
        if (a != answer::yes) {
            if (a == answer::no) {
                std::cerr << "Deletion canceled; nothing deleted.\n";
            }
            return;
        }
    }
    auto resp = delete_acls(ctx, *filters, false);
    if (!resp) {
        return;
    }
    print_deletions(ctx, *filters, *resp, "deletions", o.print_filters);
    if (o.wait.count() > 0 && ctx.code() == exit_code::ok) {
        wait_for_brokers(ctx, resp->revision(), o.wait);
    }
}

// ------------------------------------------------------------ acl check

void run_acl_check(cli_context& ctx, const acl::check_flags& f) {
    if (ctx.print_schema("{\"allowed\": bool, \"reason\": \"superuser\"|\"allowed_by_binding\"|"
                         "\"denied_by_binding\"|\"no_binding_matched\"|"
                         "\"authorization_disabled\", \"explanation\": string, \"binding\": "
                         "{\"principal\": ..., \"permission\": ...}|null, \"via_role\": "
                         "string|null, \"authorization_enabled\": bool, \"principal\": string, "
                         "\"host\": string, \"operation\": string, \"resource_type\": string, "
                         "\"resource_name\": string}")) {
        return;
    }
    auto req = acl::check_request(f);
    if (!req) {
        ctx.fail(exit_code::usage, req.error().detail);
        return;
    }
    auto resp = ctx.call(&ctl::check_acl, *req);
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return;
    }
    const std::string host = req->host().empty() ? "*" : req->host();
    json doc = {{"allowed", resp->allowed()},
                {"reason", resp->reason()},
                {"explanation", resp->explanation()},
                {"binding", resp->has_binding() ? acl::binding_json(resp->binding()) : json()},
                {"via_role", resp->via_role().empty() ? json() : json(resp->via_role())},
                {"authorization_enabled", resp->authorization_enabled()},
                {"principal", req->principal()},
                {"host", host},
                {"operation", acl::operation_name(req->operation())},
                {"resource_type", acl::resource_type_name(req->resource_type())},
                {"resource_name", req->resource_name()}};
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        std::string out = fmt::format(
            "{}: {} {} {} {} {} from {}\n", resp->allowed() ? "ALLOWED" : "DENIED",
            req->principal(), resp->allowed() ? "may" : "may not",
            acl::operation_name(req->operation()), acl::resource_type_name(req->resource_type()),
            req->resource_name(), host == "*" ? "any host" : host);
        std::vector<std::vector<std::string>> rows{{"reason", resp->reason()}};
        if (resp->has_binding()) {
            const auto& b = resp->binding();
            rows.push_back(
                {"binding",
                 fmt::format("{} {} {} {} {} {} {}", acl::permission_name(b.permission()),
                             b.principal(), b.host(), acl::resource_type_name(b.resource_type()),
                             acl::pattern_type_name(b.pattern_type()), b.resource_name(),
                             acl::operation_name(b.operation()))});
        }
        if (!resp->via_role().empty()) {
            rows.push_back({"via-role", resp->via_role()});
        }
        if (!resp->explanation().empty()) {
            rows.push_back({"explanation", resp->explanation()});
        }
        out += render_table({"", ""}, rows);
        if (!resp->authorization_enabled()) {
            out +=
                "(authorization is off on this cluster: brokers allow every request until "
                "kafka_enable_authorization or enable_sasl is set)\n";
        }
        return out;
    });
}

// ------------------------------------------------------------ user

/// SCRAM-SHA-256 or SCRAM-SHA-512 from --mechanism (any case).
result<std::string> mechanism_flag(const std::string& m) {
    const std::string u = acl::upper(m);
    if (u == "SCRAM-SHA-256" || u == "SCRAM-SHA-512") {
        return u;
    }
    return error_info(std::make_error_code(std::errc::invalid_argument),
                      fmt::format("--mechanism \"{}\": not scram-sha-256 or scram-sha-512", m));
}

struct user_options {
    std::string name;
    std::string password;  ///< "-": stdin or a prompt; "": generate (create) / required (update)
    std::string mechanism = "scram-sha-256";
    std::chrono::milliseconds wait{0};
};

/// Fails the command naming the user when the item failed; true when it did not.
bool user_result(cli_context& ctx, const std::string& name, const v1::UserResponse& r) {
    if (r.result().code() == v1::OK) {
        return true;
    }
    ctx.fail(exit_code::failed, fmt::format("user \"{}\": {}", name, item_error(r.result())));
    return false;
}

void run_user_create(cli_context& ctx, const user_options& o) {
    if (ctx.print_schema("{\"user\": string, \"mechanism\": \"SCRAM-SHA-256\"|\"SCRAM-SHA-512\", "
                         "\"password\": string (only when generated)}")) {
        return;
    }
    auto mech = mechanism_flag(o.mechanism);
    if (!mech) {
        ctx.fail(exit_code::usage, mech.error().detail);
        return;
    }
    std::string password = o.password;
    const bool generated = password.empty();
    if (generated) {
        password = security_cli::generate_password();
    } else if (password == "-") {
        auto p = security_cli::read_password("--password");
        if (!p) {
            ctx.fail(exit_code::usage, p.error().detail);
            return;
        }
        password = std::move(*p);
    }
    v1::CreateUserRequest req;
    req.set_name(o.name);
    req.set_password(password);
    req.set_mechanism(*mech);
    auto resp = ctx.call(&ctl::create_user, req);
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return;
    }
    if (!user_result(ctx, o.name, *resp)) {
        return;
    }
    json doc = {{"user", o.name}, {"mechanism", *mech}};
    if (generated) {
        doc["password"] = password;
    }
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        std::string out = fmt::format("Created user \"{}\" ({}).\n", o.name, *mech);
        if (generated) {
            // Its own line, so that scripts can take it with `tail -n 1`.
            out += "Generated password (shown only now; store it):\n" + password + "\n";
        }
        return out;
    });
    if (o.wait.count() > 0) {
        wait_for_brokers(ctx, resp->revision(), o.wait);
    }
}

void run_user_update(cli_context& ctx, const user_options& o) {
    if (ctx.print_schema("{\"user\": string, \"mechanism\": string}")) {
        return;
    }
    auto mech = mechanism_flag(o.mechanism);
    if (!mech) {
        ctx.fail(exit_code::usage, mech.error().detail);
        return;
    }
    std::string password = o.password;
    if (password == "-") {
        auto p = security_cli::read_password("--new-password");
        if (!p) {
            ctx.fail(exit_code::usage, p.error().detail);
            return;
        }
        password = std::move(*p);
    }
    v1::UpdateUserRequest req;
    req.set_name(o.name);
    req.set_password(password);
    req.set_mechanism(*mech);
    auto resp = ctx.call(&ctl::update_user, req);
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return;
    }
    if (!user_result(ctx, o.name, *resp)) {
        return;
    }
    print_output(std::cout, ctx.format(), {{"user", o.name}, {"mechanism", *mech}}, [&](bool) {
        return fmt::format("Updated user \"{}\" successfully ({}).\n", o.name, *mech);
    });
    if (o.wait.count() > 0) {
        wait_for_brokers(ctx, resp->revision(), o.wait);
    }
}

void run_user_delete(cli_context& ctx, const user_options& o) {
    if (ctx.print_schema("{\"user\": string}")) {
        return;
    }
    v1::DeleteUserRequest req;
    req.set_name(o.name);
    auto resp = ctx.call(&ctl::delete_user, req);
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return;
    }
    if (!user_result(ctx, o.name, *resp)) {
        return;
    }
    print_output(std::cout, ctx.format(), {{"user", o.name}}, [&](bool) {
        return fmt::format("Deleted user \"{}\" (its ACLs are kept).\n", o.name);
    });
    if (o.wait.count() > 0) {
        wait_for_brokers(ctx, resp->revision(), o.wait);
    }
}

void run_user_list(cli_context& ctx) {
    if (ctx.print_schema("[string] (user names, ascending)")) {
        return;
    }
    auto resp = ctx.call(&ctl::list_users, v1::ListUsersRequest{});
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return;
    }
    json doc = json::array();
    std::vector<std::vector<std::string>> rows;
    std::vector<std::vector<std::string>> wide_rows;
    for (const auto& u : resp->users()) {
        doc.push_back(u.name());
        rows.push_back({u.name()});
        wide_rows.push_back({u.name(), u.mechanism(), u.created().principal(),
                             std::to_string(u.updated().revision())});
    }
    print_output(std::cout, ctx.format(), doc, [&](bool wide) {
        return wide ? render_table({"username", "mechanism", "created-by", "revision"}, wide_rows)
                    : render_table({"username"}, rows);
    });
}

// ------------------------------------------------------------ role

struct role_options {
    std::string name;
    bool no_confirm = false;
    std::string prefix;
    std::string principal;
    std::vector<std::string> principals;
    bool print_permissions = false;
    bool print_members = false;
    bool print_all = false;
    std::chrono::milliseconds wait{0};
};

bool role_result(cli_context& ctx, const std::string& name, const v1::RoleResponse& r) {
    if (r.result().code() == v1::OK) {
        return true;
    }
    ctx.fail(exit_code::failed, fmt::format("role \"{}\": {}", name, item_error(r.result())));
    return false;
}

/// The role named exactly `name` and its bindings; nullopt after failing the
/// command (it does not exist, or a call failed).
struct role_view {
    v1::Role role;
    std::vector<v1::AclBinding> bindings;
};

std::optional<role_view> describe_role(cli_context& ctx, const std::string& name) {
    v1::ListRolesRequest lr;
    lr.set_prefix(name);
    auto roles = ctx.call(&ctl::list_roles, lr);
    if (!roles) {
        ctx.fail(exit_code::failed, roles.error().detail);
        return std::nullopt;
    }
    role_view v;
    bool found = false;
    for (const auto& r : roles->roles()) {
        if (r.name() == name) {
            v.role = r;
            found = true;
        }
    }
    if (!found) {
        ctx.fail(exit_code::failed, fmt::format("role \"{}\" does not exist", name));
        return std::nullopt;
    }
    v1::ListAclsRequest ar;
    ar.mutable_filter()->set_principal("Role:" + name);
    auto acls = ctx.call(&ctl::list_acls, ar);
    if (!acls) {
        ctx.fail(exit_code::failed, acls.error().detail);
        return std::nullopt;
    }
    v.bindings.assign(acls->bindings().begin(), acls->bindings().end());
    return v;
}

json members_json(const v1::Role& r) {
    json out = json::array();
    for (const auto& m : r.members()) {
        out.push_back(m);
    }
    return out;
}

void run_role_create(cli_context& ctx, const role_options& o) {
    if (ctx.print_schema("{\"role\": string}")) {
        return;
    }
    v1::CreateRoleRequest req;
    req.set_name(o.name);
    auto resp = ctx.call(&ctl::create_role, req);
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return;
    }
    if (!role_result(ctx, o.name, *resp)) {
        return;
    }
    print_output(std::cout, ctx.format(), {{"role", o.name}},
                 [&](bool) { return fmt::format("Created role \"{}\".\n", o.name); });
}

void run_role_delete(cli_context& ctx, const role_options& o) {
    if (ctx.print_schema(
            fmt::format("{{\"role\": string, \"deleted_acls\": [{}]}}", binding_schema))) {
        return;
    }
    if (!o.no_confirm) {
        if (::isatty(STDIN_FILENO) == 0) {
            confirm(ctx, "", fmt::format("delete role \"{}\"", o.name));  // fails the command
            return;
        }
        auto v = describe_role(ctx, o.name);
        if (!v) {
            return;
        }
        const auto a =
            confirm(ctx,
                    fmt::format("Delete role \"{}\", its {} ACL{} and its {} member assignment{}?",
                                o.name, v->bindings.size(), v->bindings.size() == 1 ? "" : "s",
                                v->role.members_size(), v->role.members_size() == 1 ? "" : "s"),
                    fmt::format("delete role \"{}\"", o.name));
        if (a != answer::yes) {
            if (a == answer::no) {
                std::cerr << "Deletion canceled; nothing deleted.\n";
            }
            return;
        }
    }
    v1::DeleteRoleRequest req;
    req.set_name(o.name);
    auto resp = ctx.call(&ctl::delete_role, req);
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return;
    }
    if (!role_result(ctx, o.name, *resp)) {
        return;
    }
    json doc = {{"role", o.name}, {"deleted_acls", json::array()}};
    std::vector<std::vector<std::string>> rows;
    for (const auto& b : resp->deleted_acls()) {
        doc["deleted_acls"].push_back(acl::binding_json(b));
        rows.push_back(acl::binding_row(b));
    }
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        std::string out = fmt::format("Deleted role \"{}\" ({} ACL{} removed).\n", o.name,
                                      rows.size(), rows.size() == 1 ? "" : "s");
        if (!rows.empty()) {
            out += render_table(acl::binding_columns, rows);
        }
        return out;
    });
    if (o.wait.count() > 0) {
        wait_for_brokers(ctx, resp->revision(), o.wait);
    }
}

void run_role_list(cli_context& ctx, const role_options& o) {
    if (ctx.print_schema("[{\"name\": string, \"members\": [string]}]")) {
        return;
    }
    v1::ListRolesRequest req;
    req.set_prefix(o.prefix);
    if (!o.principal.empty()) {
        auto p = acl::principal_flag("--principal", o.principal);
        if (!p) {
            ctx.fail(exit_code::usage, p.error().detail);
            return;
        }
        req.set_principal(security::to_string(*p));
    }
    auto resp = ctx.call(&ctl::list_roles, req);
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return;
    }
    json doc = json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : resp->roles()) {
        doc.push_back({{"name", r.name()}, {"members", members_json(r)}});
        rows.push_back({r.name(), std::to_string(r.members_size())});
    }
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        return render_table({"name", "members"}, rows);
    });
}

void run_role_describe(cli_context& ctx, const role_options& o) {
    if (ctx.print_schema(
            fmt::format("{{\"name\": string, \"permissions\": [{}], \"members\": [string]}}",
                        binding_schema))) {
        return;
    }
    auto v = describe_role(ctx, o.name);
    if (!v) {
        return;
    }
    const bool none = !o.print_permissions && !o.print_members;
    const bool perms = o.print_all || o.print_permissions || none;
    const bool members = o.print_all || o.print_members || none;
    json doc = {
        {"name", o.name}, {"permissions", json::array()}, {"members", members_json(v->role)}};
    std::vector<std::vector<std::string>> prows;
    for (const auto& b : v->bindings) {
        doc["permissions"].push_back(acl::binding_json(b));
        prows.push_back(acl::binding_row(b));
    }
    std::vector<std::vector<std::string>> mrows;
    for (const auto& m : v->role.members()) {
        mrows.push_back({m});
    }
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        std::string out;
        if (perms) {
            out += fmt::format("PERMISSIONS ({})\n", prows.size()) +
                   render_table(acl::binding_columns, prows);
        }
        if (members) {
            out += fmt::format("{}MEMBERS ({})\n", perms ? "\n" : "", mrows.size()) +
                   render_table({"principal"}, mrows);
        }
        return out;
    });
}

void run_role_members(cli_context& ctx, const role_options& o, bool add) {
    if (ctx.print_schema("{\"role\": string, \"principals\": [string], \"members\": [string]}")) {
        return;
    }
    if (o.principals.empty()) {
        ctx.fail(exit_code::usage, "--principal is required (alice, User:alice; comma-separated)");
        return;
    }
    v1::AlterRoleMembersRequest req;
    req.set_role(o.name);
    json principals = json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& text : o.principals) {
        auto p = acl::principal_flag("--principal", text);
        if (!p) {
            ctx.fail(exit_code::usage, p.error().detail);
            return;
        }
        if (p->type != security::principal::kind::user) {
            ctx.fail(
                exit_code::usage,
                fmt::format("--principal \"{}\": roles do not nest; a member is a user", text));
            return;
        }
        const std::string full = security::to_string(*p);
        (add ? req.add_add() : req.add_remove())->assign(full);
        principals.push_back(full);
        rows.push_back({full});
    }
    auto resp = ctx.call(&ctl::alter_role_members, req);
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return;
    }
    if (!role_result(ctx, o.name, *resp)) {
        return;
    }
    json doc = {
        {"role", o.name}, {"principals", principals}, {"members", members_json(resp->role())}};
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        return fmt::format("{} role \"{}\" {}:\n", add ? "Assigned" : "Unassigned", o.name,
                           add ? "to" : "from") +
               render_table({"principal"}, rows);
    });
    if (o.wait.count() > 0) {
        wait_for_brokers(ctx, resp->revision(), o.wait);
    }
}

/// Runs `fn` after prepare() (which prints its own errors).
template <typename Fn>
std::function<void()> prepared(cli_context& ctx, Fn fn) {
    return [&ctx, fn = std::move(fn)] {
        if (ctx.prepare()) {
            fn();
        }
    };
}

void register_acl(CLI::App* security, cli_context& ctx) {
    auto* acl = security->add_subcommand("acl", "Create, list, delete and check Kafka ACLs");
    acl->require_subcommand(0, 1);
    auto help_ops = std::make_shared<bool>(false);
    acl->add_flag("--help-operations", *help_ops,
                  "Print which operation on which resource each request needs");
    acl->callback([acl, help_ops, &ctx] {
        if (*help_ops) {
            std::cout << acl::operations_help;
        } else if (acl->get_subcommands().empty()) {
            ctx.fail(exit_code::usage,
                     "security acl: a subcommand is required (create, list, delete, check); "
                     "--help-operations prints the operations each request needs");
        }
    });

    auto co = std::make_shared<acl_create_options>();
    auto* create = acl->add_subcommand(
        "create", "Create ACLs: every principal x host x resource x operation is one ACL");
    add_resource_flags(create, co->flags, false);
    add_wait_flag(create, co->wait);
    create->callback(prepared(ctx, [&ctx, co] { run_acl_create(ctx, *co); }));

    auto lo = std::make_shared<acl_list_options>();
    auto* list = acl->add_subcommand("list", "List the ACLs the filters match (all by default)");
    list->alias("ls");
    list->alias("describe");
    add_resource_flags(list, lo->flags, true);
    list->add_flag("-f,--print-filters", lo->print_filters, "Print the filters too");
    list->callback(prepared(ctx, [&ctx, lo] { run_acl_list(ctx, *lo); }));

    auto dopt = std::make_shared<acl_delete_options>();
    auto* del = acl->add_subcommand(
        "delete", "Delete the ACLs the filters match (shows them and asks first)");
    add_resource_flags(del, dopt->flags, true);
    del->add_flag("-d,--dry", dopt->dry, "Show what would be deleted; delete nothing");
    del->add_flag("--no-confirm", dopt->no_confirm, "Delete without asking (needed without a TTY)");
    del->add_flag("-f,--print-filters", dopt->print_filters, "Print the filters too");
    add_wait_flag(del, dopt->wait);
    del->callback(prepared(ctx, [&ctx, dopt] { run_acl_delete(ctx, *dopt); }));

    auto ko = std::make_shared<acl::check_flags>();
    auto* check = acl->add_subcommand(
        "check", "Ask the authorizer whether a user may do an operation on a resource, and why");
    check->add_option("--principal", ko->principal, "The user (User: added when missing)")
        ->required();
    check->add_option("--operation", ko->operation, "One operation (read, write, describe, ...)")
        ->required();
    check->add_option("--topic", ko->topic, "A topic");
    check->add_option("--group", ko->group, "A consumer group");
    check->add_flag("--cluster", ko->cluster, "The cluster");
    check->add_option("--transactional-id", ko->transactional_id, "A transactional id");
    check->add_option("--host", ko->host, "The client's address (default: any host)");
    check->callback(prepared(ctx, [&ctx, ko] { run_acl_check(ctx, *ko); }));
}

void add_password_flags(CLI::App* cmd, user_options& o, bool create) {
    if (create) {
        cmd->add_option("--password,--new-password", o.password,
                        "The user's password; - reads it from stdin (a prompt without echo on a "
                        "terminal); none: a random one is generated and printed once");
    } else {
        cmd->add_option("--new-password,--password", o.password,
                        "The new password; - reads it from stdin (a prompt without echo on a "
                        "terminal)")
            ->required();
    }
    auto* m = cmd->add_option("--mechanism", o.mechanism, "scram-sha-256 or scram-sha-512");
    if (create) {
        m->capture_default_str();
    } else {
        m->required();
    }
}

void register_user(CLI::App* security, cli_context& ctx) {
    auto* user = security->add_subcommand("user", "Create, update, delete and list SASL users");
    user->require_subcommand(1);

    auto co = std::make_shared<user_options>();
    auto* create = user->add_subcommand("create", "Create a SCRAM user");
    create->add_option("user", co->name, "The user name")->required();
    add_password_flags(create, *co, true);
    add_wait_flag(create, co->wait);
    create->callback(prepared(ctx, [&ctx, co] { run_user_create(ctx, *co); }));

    auto uo = std::make_shared<user_options>();
    auto* update = user->add_subcommand("update", "Change a user's password or mechanism");
    update->add_option("user", uo->name, "The user name")->required();
    add_password_flags(update, *uo, false);
    add_wait_flag(update, uo->wait);
    update->callback(prepared(ctx, [&ctx, uo] { run_user_update(ctx, *uo); }));

    auto dopt = std::make_shared<user_options>();
    auto* del = user->add_subcommand("delete", "Delete a user (its ACLs are kept)");
    del->add_option("user", dopt->name, "The user name")->required();
    add_wait_flag(del, dopt->wait);
    del->callback(prepared(ctx, [&ctx, dopt] { run_user_delete(ctx, *dopt); }));

    auto* list = user->add_subcommand("list", "List the users");
    list->alias("ls");
    list->callback(prepared(ctx, [&ctx] { run_user_list(ctx); }));
}

void register_role(CLI::App* security, cli_context& ctx) {
    auto* role = security->add_subcommand("role", "Manage roles (RBAC): members and permissions");
    role->alias("access");
    role->alias("roles");
    role->require_subcommand(1);

    auto co = std::make_shared<role_options>();
    auto* create =
        role->add_subcommand("create", "Create a role (grant it ACLs with --allow-role)");
    create->add_option("role", co->name, "The role name")->required();
    create->callback(prepared(ctx, [&ctx, co] { run_role_create(ctx, *co); }));

    auto dopt = std::make_shared<role_options>();
    auto* del = role->add_subcommand("delete", "Delete a role with its ACLs and memberships");
    del->add_option("role", dopt->name, "The role name")->required();
    del->add_flag("--no-confirm", dopt->no_confirm, "Delete without asking (needed without a TTY)");
    add_wait_flag(del, dopt->wait);
    del->callback(prepared(ctx, [&ctx, dopt] { run_role_delete(ctx, *dopt); }));

    auto lo = std::make_shared<role_options>();
    auto* list = role->add_subcommand("list", "List roles");
    list->alias("ls");
    list->add_option("--prefix", lo->prefix, "Only roles whose name starts with this");
    list->add_option("--principal", lo->principal,
                     "Only roles this user is a member of (User: added when missing)");
    list->callback(prepared(ctx, [&ctx, lo] { run_role_list(ctx, *lo); }));

    auto so = std::make_shared<role_options>();
    auto* describe = role->add_subcommand("describe", "A role's permissions (ACLs) and members");
    describe->alias("info");
    describe->add_option("role", so->name, "The role name")->required();
    describe->add_flag("-p,--print-permissions", so->print_permissions, "The permissions section");
    describe->add_flag("-m,--print-members", so->print_members, "The members section");
    describe->add_flag("-a,--print-all", so->print_all, "Every section (the default)");
    describe->callback(prepared(ctx, [&ctx, so] { run_role_describe(ctx, *so); }));

    for (const bool add : {true, false}) {
        auto mo = std::make_shared<role_options>();
        auto* cmd = role->add_subcommand(
            add ? "assign" : "unassign",
            add ? "Make principals members of a role" : "Remove principals from a role");
        cmd->alias(add ? "add" : "remove");
        cmd->add_option("role", mo->name, "The role name")->required();
        cmd->add_option("--principal", mo->principals,
                        "Users (User: added when missing; comma-separated)")
            ->delimiter(',')
            ->required();
        add_wait_flag(cmd, mo->wait);
        cmd->callback(prepared(ctx, [&ctx, mo, add] { run_role_members(ctx, *mo, add); }));
    }
}

}  // namespace

void register_security_commands(CLI::App& root, cli_context& ctx) {
    auto* security =
        root.add_subcommand("security", "SASL users, Kafka ACLs and roles (rpk security)");
    security->alias("sec");
    security->require_subcommand(1);
    register_acl(security, ctx);
    register_user(security, ctx);
    register_role(security, ctx);
}

}  // namespace fjord::cli
