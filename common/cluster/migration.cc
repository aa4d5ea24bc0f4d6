// File: common/cluster/migration.cc
//
// Migration state names and transitions (migration.h).

#include "common/cluster/migration.h"

namespace fjord::cluster {

std::string_view to_string(v1::MigrationState s) {
    switch (s) {
        case v1::MIGRATION_STATE_PLANNED:
            return "planned";
        case v1::MIGRATION_STATE_PREPARING:
            return "preparing";
        case v1::MIGRATION_STATE_PREPARED:
            return "prepared";
        case v1::MIGRATION_STATE_EXECUTING:
            return "executing";
        case v1::MIGRATION_STATE_EXECUTED:
            return "executed";
        case v1::MIGRATION_STATE_CUT_OVER:
            return "cut_over";
        case v1::MIGRATION_STATE_FINISHED:
            return "finished";
        case v1::MIGRATION_STATE_CANCELING:
            return "canceling";
        case v1::MIGRATION_STATE_CANCELLED:
            return "cancelled";
        default:
            return "unspecified";
    }
}

std::string_view to_string(v1::MigrationType t) {
    switch (t) {
        case v1::MIGRATION_TYPE_MOUNT:
            return "mount";
        case v1::MIGRATION_TYPE_UNMOUNT:
            return "unmount";
        default:
            return "unspecified";
    }
}

std::optional<v1::MigrationState> parse_migration_state(std::string_view s) {
    for (int i = v1::MIGRATION_STATE_PLANNED; i <= v1::MIGRATION_STATE_CANCELLED; ++i) {
        const auto st = static_cast<v1::MigrationState>(i);
        if (to_string(st) == s) {
            return st;
        }
    }
    return std::nullopt;
}

bool is_terminal(v1::MigrationState s) {
    return s == v1::MIGRATION_STATE_FINISHED || s == v1::MIGRATION_STATE_CANCELLED;
}

bool can_cancel(v1::MigrationState s) {
    return s == v1::MIGRATION_STATE_PREPARING || s == v1::MIGRATION_STATE_PREPARED ||
           s == v1::MIGRATION_STATE_EXECUTING || s == v1::MIGRATION_STATE_EXECUTED;
}

std::optional<v1::MigrationState> next_state(v1::MigrationState s) {
    switch (s) {
        case v1::MIGRATION_STATE_PLANNED:
            return v1::MIGRATION_STATE_PREPARING;
        case v1::MIGRATION_STATE_PREPARING:
            return v1::MIGRATION_STATE_PREPARED;
        case v1::MIGRATION_STATE_PREPARED:
            return v1::MIGRATION_STATE_EXECUTING;
        case v1::MIGRATION_STATE_EXECUTING:
            return v1::MIGRATION_STATE_EXECUTED;
        case v1::MIGRATION_STATE_EXECUTED:
            return v1::MIGRATION_STATE_CUT_OVER;
        case v1::MIGRATION_STATE_CUT_OVER:
            return v1::MIGRATION_STATE_FINISHED;
        case v1::MIGRATION_STATE_CANCELING:
            return v1::MIGRATION_STATE_CANCELLED;
        default:
            return std::nullopt;
    }
}

bool is_legal_transition(v1::MigrationState from, v1::MigrationState to) {
    if (to == v1::MIGRATION_STATE_CANCELING) {
        return can_cancel(from);
    }
    const auto next = next_state(from);
    return next && *next == to;
}

const std::string& effective_name(const v1::MigrationTopic& t) {
    return t.alias().empty() ? t.topic() : t.alias();
}

bool blocks_clients(const v1::TopicMigration& m) {
    if (is_terminal(m.state()) || m.state() == v1::MIGRATION_STATE_UNSPECIFIED) {
        return false;
    }
    if (m.type() == v1::MIGRATION_TYPE_MOUNT) {
        return true;
    }
    return m.state() == v1::MIGRATION_STATE_EXECUTING ||
           m.state() == v1::MIGRATION_STATE_EXECUTED || m.state() == v1::MIGRATION_STATE_CUT_OVER ||
           m.state() == v1::MIGRATION_STATE_CANCELING;
}

}  // namespace fjord::cluster
