// File: controller/service/status_mapping.cc
//
// The translation table of status_mapping.h.

#include "controller/service/status_mapping.h"

#include <fmt/format.h>

#include "common/cluster/errc.h"
#include "controller/raft/errc.h"

namespace fjord::service {
using cluster::errc;

v1::ErrorCode to_error_code(const std::error_code& ec) {
    if (!ec) {
        return v1::OK;
    }
    if (ec.category() == cluster::error_category()) {
        switch (static_cast<errc>(ec.value())) {
            case errc::success:
                return v1::OK;
            case errc::invalid_argument:
                return v1::INVALID_ARGUMENT;
            case errc::topic_already_exists:
                return v1::TOPIC_ALREADY_EXISTS;
            case errc::unknown_topic:
                return v1::UNKNOWN_TOPIC;
            case errc::invalid_partitions:
                return v1::INVALID_PARTITIONS;
            case errc::invalid_replication_factor:
                return v1::INVALID_REPLICATION_FACTOR;
            case errc::invalid_config:
                return v1::INVALID_CONFIG;
            case errc::broker_id_in_use:
                return v1::BROKER_ID_IN_USE;
            case errc::unknown_broker:
                return v1::UNKNOWN_BROKER;
            case errc::unknown_member:
                return v1::UNKNOWN_MEMBER;
            case errc::conflict:
                return v1::CONFLICT;
            case errc::not_leader:
                return v1::NOT_LEADER;
            case errc::timeout:
                return v1::TIMEOUT;
            case errc::internal:
                return v1::INTERNAL;
            case errc::outcome_unknown:
                return v1::OUTCOME_UNKNOWN;
            case errc::user_already_exists:
                return v1::USER_ALREADY_EXISTS;
            case errc::unknown_user:
                return v1::UNKNOWN_USER;
            case errc::role_already_exists:
                return v1::ROLE_ALREADY_EXISTS;
            case errc::unknown_role:
                return v1::UNKNOWN_ROLE;
            case errc::unauthenticated:
                return v1::UNAUTHENTICATED;
            case errc::permission_denied:
                return v1::PERMISSION_DENIED;
            case errc::resource_is_being_migrated:
                return v1::RESOURCE_IS_BEING_MIGRATED;
            case errc::unknown_migration:
                return v1::UNKNOWN_MIGRATION;
            case errc::invalid_migration_state:
                return v1::INVALID_MIGRATION_STATE;
            case errc::migrations_disabled:
                return v1::MIGRATIONS_DISABLED;
            case errc::shadow_link_already_exists:
                return v1::SHADOW_LINK_ALREADY_EXISTS;
            case errc::unknown_shadow_link:
                return v1::UNKNOWN_SHADOW_LINK;
            case errc::shadow_link_limit_reached:
                return v1::SHADOW_LINK_LIMIT_REACHED;
            case errc::shadow_link_has_active_topics:
                return v1::SHADOW_LINK_HAS_ACTIVE_TOPICS;
            case errc::shadow_topic_read_only:
                return v1::SHADOW_TOPIC_READ_ONLY;
            case errc::shadow_link_unreachable:
                return v1::SHADOW_LINK_UNREACHABLE;
            case errc::shadow_link_unsupported_api:
                return v1::SHADOW_LINK_UNSUPPORTED_API;
        }
        return v1::INTERNAL;
    }
    if (ec.category() == raft::error_category()) {
        switch (static_cast<raft::errc>(ec.value())) {
            // Both are definite: nothing was proposed, or another entry was
            // committed at the proposal's index. A retry cannot apply twice.
            case raft::errc::not_leader:
            case raft::errc::proposal_dropped:
                return v1::NOT_LEADER;
            case raft::errc::outcome_unknown:
                return v1::OUTCOME_UNKNOWN;
            case raft::errc::unknown_member:
                return v1::UNKNOWN_MEMBER;
            case raft::errc::conf_change_pending:
            case raft::errc::learner_not_caught_up:
            case raft::errc::not_ready:
                return v1::CONFLICT;
            case raft::errc::invalid_conf_change:
                return v1::INVALID_ARGUMENT;
            default:
                return v1::INTERNAL;
        }
    }
    if (ec == std::errc::timed_out) {
        return v1::TIMEOUT;
    }
    if (ec == std::errc::operation_canceled) {
        // Shutting down before the request reached Raft (the loop resolves
        // proposals already made with raft::errc::outcome_unknown instead):
        // the caller retries elsewhere.
        return v1::NOT_LEADER;
    }
    return v1::INTERNAL;
}

v1::ItemResult ok_item() {
    v1::ItemResult r;
    r.set_code(v1::OK);
    return r;
}

v1::ItemResult to_item_result(const error_info& e, std::string_view field_prefix) {
    v1::ItemResult r;
    r.set_code(to_error_code(e.code));
    if (!e.field.empty()) {
        r.set_field(std::string(field_prefix) + e.field);
        r.set_message(std::string(field_prefix) + e.detail);
        r.set_detail(e.detail);
    } else {
        r.set_message(e.detail.empty() ? e.code.message() : e.detail);
        r.set_detail(r.message());
    }
    return r;
}

v1::ItemResult to_item_result(const error_info& e, std::string_view list, size_t i,
                              bool scalar_item) {
    if (!scalar_item || e.field.empty()) {
        return to_item_result(e, fmt::format("{}[{}].", list, i));
    }
    v1::ItemResult r;
    r.set_code(to_error_code(e.code));
    r.set_field(fmt::format("{}[{}]", list, i));
    r.set_message(fmt::format("{}: {}", r.field(), e.reason()));
    r.set_detail(std::string(e.reason()));
    return r;
}

grpc::Status to_grpc_status(const error_info& e) {
    const std::string msg = e.detail.empty() ? e.code.message() : e.detail;
    switch (to_error_code(e.code)) {
        case v1::OK:
            return grpc::Status::OK;
        case v1::NOT_LEADER:
            return {grpc::StatusCode::UNAVAILABLE, msg};
        case v1::TIMEOUT:
            return {grpc::StatusCode::DEADLINE_EXCEEDED, msg};
        case v1::UNKNOWN_TOPIC:
        case v1::UNKNOWN_BROKER:
        case v1::UNKNOWN_MEMBER:
        case v1::UNKNOWN_USER:
        case v1::UNKNOWN_ROLE:
        case v1::UNKNOWN_MIGRATION:
        case v1::UNKNOWN_SHADOW_LINK:
            return {grpc::StatusCode::NOT_FOUND, msg};
        case v1::SHADOW_LINK_UNREACHABLE:
            return {grpc::StatusCode::UNAVAILABLE, msg};
        case v1::RESOURCE_IS_BEING_MIGRATED:
        case v1::INVALID_MIGRATION_STATE:
        case v1::MIGRATIONS_DISABLED:
        case v1::SHADOW_LINK_LIMIT_REACHED:
        case v1::SHADOW_LINK_HAS_ACTIVE_TOPICS:
        case v1::SHADOW_TOPIC_READ_ONLY:
        case v1::SHADOW_LINK_UNSUPPORTED_API:
            return {grpc::StatusCode::FAILED_PRECONDITION, msg};
        case v1::TOPIC_ALREADY_EXISTS:
        case v1::BROKER_ID_IN_USE:
        case v1::USER_ALREADY_EXISTS:
        case v1::ROLE_ALREADY_EXISTS:
        case v1::SHADOW_LINK_ALREADY_EXISTS:
            return {grpc::StatusCode::ALREADY_EXISTS, msg};
        case v1::UNAUTHENTICATED:
            return {grpc::StatusCode::UNAUTHENTICATED, msg};
        case v1::PERMISSION_DENIED:
            return {grpc::StatusCode::PERMISSION_DENIED, msg};
        case v1::CONFLICT:
            return {grpc::StatusCode::ABORTED, msg};
        case v1::OUTCOME_UNKNOWN:
            return {grpc::StatusCode::UNKNOWN, "outcome unknown: " + msg};
        case v1::INTERNAL:
            return {grpc::StatusCode::INTERNAL, msg};
        default:
            return {grpc::StatusCode::INVALID_ARGUMENT, msg};
    }
}

}  // namespace fjord::service
