// File: cli/apply/plan_print.cc
//
// The plan as text and as data (contract: plan_print.h).

#include "cli/apply/plan_print.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace fjord::cli::apply {
namespace {

const char* symbol(v1::ChangeAction a) {
    switch (a) {
        case v1::CHANGE_CREATE:
            return "+";
        case v1::CHANGE_UPDATE:
            return "~";
        case v1::CHANGE_DELETE:
            return "-";
        default:
            return "?";
    }
}

/// A value as text: quoted when empty or padded, so that "" is visible.
std::string value_text(const std::string& v) {
    if (v.empty() || v.front() == ' ' || v.back() == ' ') {
        return fmt::format("\"{}\"", v);
    }
    return v;
}

std::string field_line(const v1::FieldChange& f, v1::ChangeAction a) {
    const std::string before = f.has_before() ? value_text(f.before()) : "(unset)";
    const std::string after = f.has_after() ? value_text(f.after()) : "(unset)";
    if (a == v1::CHANGE_CREATE && !f.has_before() && f.has_after()) {
        return fmt::format("{}: {}", f.field(), after);
    }
    if (a == v1::CHANGE_DELETE && f.has_before() && !f.has_after()) {
        return fmt::format("{}: {}", f.field(), before);
    }
    return fmt::format("{}: {} -> {}", f.field(), before, after);
}

std::string error_text(const v1::ItemResult& e) {
    const std::string& m = e.message().empty() ? e.detail() : e.message();
    return m.empty() ? v1::ErrorCode_Name(e.code())
                     : fmt::format("{}: {}", v1::ErrorCode_Name(e.code()), m);
}

nlohmann::json error_json(const v1::ItemResult& e) {
    return {{"code", v1::ErrorCode_Name(e.code())},
            {"message", e.message().empty() ? e.detail() : e.message()}};
}

}  // namespace

std::string kind_name(v1::ObjectKind k) {
    switch (k) {
        case v1::OBJECT_TOPIC:
            return "topic";
        case v1::OBJECT_ACL:
            return "acl";
        case v1::OBJECT_USER:
            return "user";
        case v1::OBJECT_ROLE:
            return "role";
        case v1::OBJECT_CLUSTER_CONFIG:
            return "cluster_config";
        case v1::OBJECT_SHADOW_LINK:
            return "shadow_link";
        default:
            return "object";
    }
}

std::string action_name(v1::ChangeAction a) {
    switch (a) {
        case v1::CHANGE_CREATE:
            return "create";
        case v1::CHANGE_UPDATE:
            return "update";
        case v1::CHANGE_DELETE:
            return "delete";
        default:
            return "";
    }
}

plan_counts count(const v1::ApplyResponse& r) {
    plan_counts c;
    for (const auto& ch : r.changes()) {
        if (ch.has_error() && ch.error().code() != v1::OK) {
            ++c.errors;
        }
        switch (ch.action()) {
            case v1::CHANGE_CREATE:
                ++c.create;
                break;
            case v1::CHANGE_UPDATE:
                ++c.update;
                break;
            case v1::CHANGE_DELETE:
                ++c.remove;
                break;
            default:
                break;
        }
    }
    return c;
}

std::vector<std::string> plan_errors(const v1::ApplyResponse& r) {
    std::vector<std::string> out;
    for (const auto& ch : r.changes()) {
        if (ch.has_error() && ch.error().code() != v1::OK) {
            out.push_back(fmt::format("{} {}: {}", kind_name(ch.object().kind()),
                                      ch.object().name(), error_text(ch.error())));
        }
    }
    return out;
}

std::string plan_text(const v1::ApplyResponse& r) {
    std::string out;
    for (const auto& ch : r.changes()) {
        out += fmt::format("{} {} {}\n", symbol(ch.action()), kind_name(ch.object().kind()),
                           ch.object().name());
        for (const auto& f : ch.fields()) {
            out += fmt::format("    {}\n", field_line(f, ch.action()));
        }
        if (ch.has_error() && ch.error().code() != v1::OK) {
            out += fmt::format("    error: {}\n", error_text(ch.error()));
        }
    }
    const plan_counts c = count(r);
    if (c.total() == 0 && c.errors == 0) {
        return out;  // the command says "Nothing to do."
    }
    return out + fmt::format("\nPlan: {} to create, {} to update, {} to delete.\n", c.create,
                             c.update, c.remove);
}

nlohmann::json plan_json(const v1::ApplyResponse& r) {
    nlohmann::json changes = nlohmann::json::array();
    for (const auto& ch : r.changes()) {
        nlohmann::json fields = nlohmann::json::array();
        for (const auto& f : ch.fields()) {
            fields.push_back({{"field", f.field()},
                              {"before", f.has_before() ? nlohmann::json(f.before()) : nullptr},
                              {"after", f.has_after() ? nlohmann::json(f.after()) : nullptr}});
        }
        changes.push_back(
            {{"kind", kind_name(ch.object().kind())},
             {"name", ch.object().name()},
             {"action", action_name(ch.action())},
             {"revision", ch.revision()},
             {"fields", fields},
             {"error", ch.has_error() && ch.error().code() != v1::OK ? error_json(ch.error())
                                                                     : nlohmann::json(nullptr)}});
    }
    return {{"plan_revision", r.plan_revision()},
            {"applied", r.applied()},
            {"revision", r.revision()},
            {"changes", changes},
            {"error", r.has_result() && r.result().code() != v1::OK ? error_json(r.result())
                                                                    : nlohmann::json(nullptr)}};
}

const char* const plan_schema =
    "{\"plan_revision\": int, \"applied\": bool, \"revision\": int (0 when nothing was "
    "applied), \"changes\": [{\"kind\": \"topic\"|\"acl\"|\"user\"|\"role\"|"
    "\"cluster_config\"|\"shadow_link\", \"name\": string, \"action\": "
    "\"create\"|\"update\"|\"delete\", \"revision\": int (the object's revision the plan read; "
    "0: absent), \"fields\": [{\"field\": string, \"before\": string|null, \"after\": "
    "string|null}], \"error\": null|{\"code\": string, \"message\": string}}], \"error\": "
    "null|{\"code\": string, \"message\": string}} (exit 0: done or nothing to do; 1: failed; "
    "3: --dry-run with changes pending)";

}  // namespace fjord::cli::apply
