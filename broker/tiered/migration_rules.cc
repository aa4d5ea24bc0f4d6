// File: broker/tiered/migration_rules.cc
//
// The migration rules (migration_rules.h).

#include "broker/tiered/migration_rules.h"

#include <fmt/format.h>

#include "common/cluster/migration.h"

namespace fjord::broker {
namespace {

bool has(const v1::Topic& t, v1::MigrationType type) {
    return t.has_migration() && t.migration().type() == type;
}

}  // namespace

bool topic_blocked(const v1::Topic& topic) {
    return topic.has_migration() && cluster::blocks_clients(topic.migration());
}

std::string blocked_reason(const v1::Topic& topic) {
    return fmt::format("topic {} is being {} (migration {}, {}): not served", topic.name(),
                       has(topic, v1::MIGRATION_TYPE_MOUNT) ? "mounted" : "unmounted",
                       topic.migration().id(), cluster::to_string(topic.migration().state()));
}

std::optional<int64_t> final_upload_migration(const v1::Topic& topic) {
    if (!has(topic, v1::MIGRATION_TYPE_UNMOUNT)) {
        return std::nullopt;
    }
    const auto s = topic.migration().state();
    if (s == v1::MIGRATION_STATE_EXECUTING || s == v1::MIGRATION_STATE_EXECUTED ||
        s == v1::MIGRATION_STATE_CUT_OVER) {
        return topic.migration().id();
    }
    return std::nullopt;
}

bool archiver_may_write(const v1::Topic& topic) {
    return !has(topic, v1::MIGRATION_TYPE_MOUNT) ||
           topic.migration().state() == v1::MIGRATION_STATE_FINISHED;
}

bool remote_delete_allowed(const v1::Topic& topic) {
    if (has(topic, v1::MIGRATION_TYPE_UNMOUNT)) {
        return topic.migration().state() == v1::MIGRATION_STATE_CANCELLED;
    }
    if (has(topic, v1::MIGRATION_TYPE_MOUNT)) {
        return topic.migration().state() == v1::MIGRATION_STATE_FINISHED;
    }
    return true;
}

}  // namespace fjord::broker
