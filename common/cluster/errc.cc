// File: common/cluster/errc.cc
//
// The "controller" error category: names and messages of cluster::errc.

#include "common/cluster/errc.h"

#include <string>

namespace fjord::cluster {

std::string_view to_string(errc e) {
    switch (e) {
        case errc::success:
            return "success";
        case errc::invalid_argument:
            return "invalid_argument";
        case errc::topic_already_exists:
            return "topic_already_exists";
        case errc::unknown_topic:
            return "unknown_topic";
        case errc::invalid_partitions:
            return "invalid_partitions";
        case errc::invalid_replication_factor:
            return "invalid_replication_factor";
        case errc::invalid_config:
            return "invalid_config";
        case errc::broker_id_in_use:
            return "broker_id_in_use";
        case errc::unknown_broker:
            return "unknown_broker";
        case errc::unknown_member:
            return "unknown_member";
        case errc::conflict:
            return "conflict";
        case errc::not_leader:
            return "not_leader";
        case errc::timeout:
            return "timeout";
        case errc::internal:
            return "internal";
        case errc::outcome_unknown:
            return "outcome_unknown";
        case errc::user_already_exists:
            return "user_already_exists";
        case errc::unknown_user:
            return "unknown_user";
        case errc::role_already_exists:
            return "role_already_exists";
        case errc::unknown_role:
            return "unknown_role";
        case errc::unauthenticated:
            return "unauthenticated";
        case errc::permission_denied:
            return "permission_denied";
        case errc::resource_is_being_migrated:
            return "resource_is_being_migrated";
        case errc::unknown_migration:
            return "unknown_migration";
        case errc::invalid_migration_state:
            return "invalid_migration_state";
        case errc::migrations_disabled:
            return "migrations_disabled";
        case errc::shadow_link_already_exists:
            return "shadow_link_already_exists";
        case errc::unknown_shadow_link:
            return "unknown_shadow_link";
        case errc::shadow_link_limit_reached:
            return "shadow_link_limit_reached";
        case errc::shadow_link_has_active_topics:
            return "shadow_link_has_active_topics";
        case errc::shadow_topic_read_only:
            return "shadow_topic_read_only";
        case errc::shadow_link_unreachable:
            return "shadow_link_unreachable";
        case errc::shadow_link_unsupported_api:
            return "shadow_link_unsupported_api";
    }
    return "unknown";
}

namespace {

class category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "controller"; }
    std::string message(int c) const override {
        switch (static_cast<errc>(c)) {
            case errc::success:
                return "success";
            case errc::invalid_argument:
                return "invalid argument";
            case errc::topic_already_exists:
                return "topic already exists";
            case errc::unknown_topic:
                return "unknown topic";
            case errc::invalid_partitions:
                return "invalid partitions";
            case errc::invalid_replication_factor:
                return "invalid replication factor";
            case errc::invalid_config:
                return "invalid config";
            case errc::broker_id_in_use:
                return "broker id in use";
            case errc::unknown_broker:
                return "unknown broker";
            case errc::unknown_member:
                return "unknown member";
            case errc::conflict:
                return "conflict: the state changed since validation";
            case errc::not_leader:
                return "not the leader";
            case errc::timeout:
                return "timeout";
            case errc::internal:
                return "internal error";
            case errc::outcome_unknown:
                return "outcome unknown";
            case errc::user_already_exists:
                return "user already exists";
            case errc::unknown_user:
                return "unknown user";
            case errc::role_already_exists:
                return "role already exists";
            case errc::unknown_role:
                return "unknown role";
            case errc::unauthenticated:
                return "unauthenticated";
            case errc::permission_denied:
                return "permission denied";
            case errc::resource_is_being_migrated:
                return "resource is being migrated";
            case errc::unknown_migration:
                return "unknown migration";
            case errc::invalid_migration_state:
                return "invalid migration state";
            case errc::migrations_disabled:
                return "migrations disabled: cloud storage disabled";
            case errc::shadow_link_already_exists:
                return "shadow link already exists";
            case errc::unknown_shadow_link:
                return "unknown shadow link";
            case errc::shadow_link_limit_reached:
                return "shadow link limit reached: one link per cluster";
            case errc::shadow_link_has_active_topics:
                return "shadow link has active shadow topics";
            case errc::shadow_topic_read_only:
                return "shadow topic is read-only until failed over";
            case errc::shadow_link_unreachable:
                return "shadow link source cluster unreachable";
            case errc::shadow_link_unsupported_api:
                return "shadow link source cluster lacks a required API version";
        }
        return "unknown controller error " + std::to_string(c);
    }
};

}  // namespace

const std::error_category& error_category() {
    static const category c;
    return c;
}

}  // namespace fjord::cluster
