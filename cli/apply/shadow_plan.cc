// File: cli/apply/shadow_plan.cc
//
// One shadow_links entry's plan (contract: shadow_plan.h).

#include "cli/apply/shadow_plan.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/shadow/config_yaml.h"
#include "common/cluster/shadow_link.h"

namespace fjord::cli::apply {
namespace {

namespace rules = ::fjord::cluster::shadow;

/// A flat_config value as shown: strings without their JSON quotes.
std::string shown(const std::string& json_text) {
    const auto j = nlohmann::json::parse(json_text, nullptr, false);
    return j.is_string() ? j.get<std::string>() : json_text;
}

/// "configurations.client_options.x" -> "config.client_options.x".
std::string field_name(const std::string& path) {
    constexpr std::string_view prefix = "configurations.";
    return path.starts_with(prefix) ? "config." + path.substr(prefix.size()) : path;
}

void refuse(v1::PlannedChange& c, const error_info& e, const std::string& path) {
    c.mutable_error()->set_code(v1::INVALID_ARGUMENT);
    c.mutable_error()->set_message(fmt::format("{}.config: {}", path, e.detail));
    c.mutable_error()->set_field(e.field);
    c.mutable_error()->set_detail(e.detail);
}

}  // namespace

shadow_step plan_shadow_link(const shadow_link_entry& e,
                             const std::optional<v1::ShadowLink>& current) {
    shadow_step s;
    s.change.mutable_object()->set_kind(v1::OBJECT_SHADOW_LINK);
    s.change.mutable_object()->set_name(e.link.name());
    s.request_link = e.link;
    const v1::ShadowLink desired = rules::redacted(e.link);
    if (!current) {
        s.change.set_action(v1::CHANGE_CREATE);
        s.change.set_revision(0);
        for (const auto& [path, value] : shadow::flat_config(desired)) {
            auto* f = s.change.add_fields();
            f->set_field(field_name(path));
            f->set_after(shown(value));
            f->set_has_after(true);
        }
        if (auto v = rules::validate_link(s.request_link, false); !v) {
            refuse(s.change, v.error(), e.path);
        }
        return s;
    }
    s.change.set_revision(current->updated().revision());
    s.update_mask = shadow::changed_paths(*current, desired);
    if (s.update_mask.empty()) {
        return s;  // nothing to do
    }
    s.change.set_action(v1::CHANGE_UPDATE);
    const auto before = shadow::flat_config(*current);
    const auto after = shadow::flat_config(desired);
    for (const auto& path : s.update_mask) {
        auto* f = s.change.add_fields();
        f->set_field(field_name(path));
        if (auto it = before.find(path); it != before.end()) {
            f->set_before(shown(it->second));
            f->set_has_before(true);
        }
        if (auto it = after.find(path); it != after.end()) {
            f->set_after(shown(it->second));
            f->set_has_after(true);
        }
    }
    shadow::keep_stored_secrets(*current, s.request_link);
    s.request_link.set_uuid(current->uuid());  // refused if recreated meanwhile
    if (auto v = rules::validate_link(s.request_link, true); !v) {
        refuse(s.change, v.error(), e.path);
    }
    return s;
}

}  // namespace fjord::cli::apply
