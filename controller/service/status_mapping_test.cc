// File: controller/service/status_mapping_test.cc
//
// The error-translation table's ItemResults: field, message and detail for
// errors with and without a field, item prefixes and plain-value items.

#include "controller/service/status_mapping.h"

#include <gtest/gtest.h>

#include "common/cluster/errc.h"

namespace fjord::service {
namespace {

using cluster::errc;

TEST(status_mapping, item_field_and_detail) {
    const auto e = error_info::for_field(errc::invalid_argument, "name", "must not be empty");
    const v1::ItemResult r = to_item_result(e, "topics", 0, false);
    EXPECT_EQ(r.code(), v1::INVALID_ARGUMENT);
    EXPECT_EQ(r.field(), "topics[0].name");
    EXPECT_EQ(r.message(), "topics[0].name: must not be empty");
    EXPECT_EQ(r.detail(), "name: must not be empty");
}

TEST(status_mapping, nested_field) {
    const auto e =
        error_info::for_field(errc::invalid_config, "retention.ms", "bad").within("set.");
    const v1::ItemResult r = to_item_result(e, "topics", 2, false);
    EXPECT_EQ(r.code(), v1::INVALID_CONFIG);
    EXPECT_EQ(r.field(), "topics[2].set.retention.ms");
    EXPECT_EQ(r.message(), "topics[2].set.retention.ms: bad");
    EXPECT_EQ(r.detail(), "set.retention.ms: bad");
}

TEST(status_mapping, scalar_item_is_its_own_field) {
    const auto e = error_info::for_field(errc::unknown_topic, "name", "topic \"a\" does not exist");
    const v1::ItemResult r = to_item_result(e, "names", 3, true);
    EXPECT_EQ(r.code(), v1::UNKNOWN_TOPIC);
    EXPECT_EQ(r.field(), "names[3]");
    EXPECT_EQ(r.message(), "names[3]: topic \"a\" does not exist");
    EXPECT_EQ(r.detail(), "topic \"a\" does not exist");
}

TEST(status_mapping, no_field) {
    const error_info e(errc::timeout, "not applied in time; the outcome is unknown");
    for (bool scalar : {false, true}) {
        const v1::ItemResult r = to_item_result(e, "names", 0, scalar);
        EXPECT_EQ(r.code(), v1::TIMEOUT);
        EXPECT_EQ(r.field(), "");
        EXPECT_EQ(r.message(), "not applied in time; the outcome is unknown");
        EXPECT_EQ(r.detail(), r.message());
    }
    // A colon in the text is not a field: only error_info::field is.
    const error_info colon(errc::internal, "snapshot: 3 bytes");
    const v1::ItemResult c = to_item_result(colon, "topics[0].");
    EXPECT_EQ(c.field(), "");
    EXPECT_EQ(c.message(), "snapshot: 3 bytes");
    // No detail at all: the code's message.
    const v1::ItemResult empty = to_item_result(error_info(errc::conflict), "");
    EXPECT_EQ(empty.message(), error_info(errc::conflict).code.message());
    EXPECT_EQ(empty.detail(), empty.message());
}

TEST(status_mapping, request_level_prefix) {
    const auto e = error_info::for_field(errc::timeout, "id", "learner did not catch up in time");
    const v1::ItemResult r = to_item_result(e, "member.");
    EXPECT_EQ(r.field(), "member.id");
    EXPECT_EQ(r.message(), "member.id: learner did not catch up in time");
    EXPECT_EQ(r.detail(), "id: learner did not catch up in time");
    const v1::ItemResult top = to_item_result(e, "");
    EXPECT_EQ(top.field(), "id");
    EXPECT_EQ(top.message(), "id: learner did not catch up in time");
    EXPECT_EQ(top.detail(), top.message());
}

TEST(status_mapping, grpc_status_uses_the_whole_detail) {
    const auto e =
        error_info::for_field(errc::invalid_argument, "topics", "at least one topic is required");
    const grpc::Status s = to_grpc_status(e);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), "topics: at least one topic is required");
}

TEST(status_mapping, security_codes) {
    // Every security errc has its own ErrorCode, and a whole-call status a
    // client can act on (the retry rule treats the auth refusals as final).
    const struct {
        errc e;
        v1::ErrorCode code;
        grpc::StatusCode status;
    } table[] = {
        {errc::user_already_exists, v1::USER_ALREADY_EXISTS, grpc::StatusCode::ALREADY_EXISTS},
        {errc::unknown_user, v1::UNKNOWN_USER, grpc::StatusCode::NOT_FOUND},
        {errc::role_already_exists, v1::ROLE_ALREADY_EXISTS, grpc::StatusCode::ALREADY_EXISTS},
        {errc::unknown_role, v1::UNKNOWN_ROLE, grpc::StatusCode::NOT_FOUND},
        {errc::unauthenticated, v1::UNAUTHENTICATED, grpc::StatusCode::UNAUTHENTICATED},
        {errc::permission_denied, v1::PERMISSION_DENIED, grpc::StatusCode::PERMISSION_DENIED},
    };
    for (const auto& row : table) {
        EXPECT_EQ(to_error_code(make_error_code(row.e)), row.code) << to_string(row.e);
        const grpc::Status s = to_grpc_status(error_info(row.e, "why"));
        EXPECT_EQ(s.error_code(), row.status) << to_string(row.e);
        EXPECT_EQ(s.error_message(), "why");
    }
}

TEST(status_mapping, migration_codes) {
    // Mountable topics: each errc has its ErrorCode; refusals about the
    // state of things are FAILED_PRECONDITION (retrying the same call gets
    // the same answer until the state changes), an unknown id NOT_FOUND.
    const struct {
        errc e;
        v1::ErrorCode code;
        grpc::StatusCode status;
    } table[] = {
        {errc::resource_is_being_migrated, v1::RESOURCE_IS_BEING_MIGRATED,
         grpc::StatusCode::FAILED_PRECONDITION},
        {errc::unknown_migration, v1::UNKNOWN_MIGRATION, grpc::StatusCode::NOT_FOUND},
        {errc::invalid_migration_state, v1::INVALID_MIGRATION_STATE,
         grpc::StatusCode::FAILED_PRECONDITION},
        {errc::migrations_disabled, v1::MIGRATIONS_DISABLED, grpc::StatusCode::FAILED_PRECONDITION},
    };
    for (const auto& row : table) {
        EXPECT_EQ(to_error_code(make_error_code(row.e)), row.code) << to_string(row.e);
        const grpc::Status s = to_grpc_status(error_info(row.e, "why"));
        EXPECT_EQ(s.error_code(), row.status) << to_string(row.e);
        EXPECT_EQ(s.error_message(), "why");
    }
    // Appended in order after the security codes; stored in the log
    // (RecordRefusal.code), so never renumbered.
    EXPECT_EQ(static_cast<int>(errc::resource_is_being_migrated),
              static_cast<int>(errc::permission_denied) + 1);
}

TEST(status_mapping, shadow_link_codes) {
    const struct {
        errc e;
        v1::ErrorCode code;
        grpc::StatusCode status;
    } table[] = {
        {errc::shadow_link_already_exists, v1::SHADOW_LINK_ALREADY_EXISTS,
         grpc::StatusCode::ALREADY_EXISTS},
        {errc::unknown_shadow_link, v1::UNKNOWN_SHADOW_LINK, grpc::StatusCode::NOT_FOUND},
        {errc::shadow_link_limit_reached, v1::SHADOW_LINK_LIMIT_REACHED,
         grpc::StatusCode::FAILED_PRECONDITION},
        {errc::shadow_link_has_active_topics, v1::SHADOW_LINK_HAS_ACTIVE_TOPICS,
         grpc::StatusCode::FAILED_PRECONDITION},
        {errc::shadow_topic_read_only, v1::SHADOW_TOPIC_READ_ONLY,
         grpc::StatusCode::FAILED_PRECONDITION},
        {errc::shadow_link_unreachable, v1::SHADOW_LINK_UNREACHABLE, grpc::StatusCode::UNAVAILABLE},
        {errc::shadow_link_unsupported_api, v1::SHADOW_LINK_UNSUPPORTED_API,
         grpc::StatusCode::FAILED_PRECONDITION},
    };
    for (const auto& row : table) {
        EXPECT_EQ(to_error_code(make_error_code(row.e)), row.code) << to_string(row.e);
        const grpc::Status s = to_grpc_status(error_info(row.e, "why"));
        EXPECT_EQ(s.error_code(), row.status) << to_string(row.e);
    }
    // Appended in order after the migration codes, never renumbered.
    EXPECT_EQ(static_cast<int>(errc::shadow_link_already_exists),
              static_cast<int>(errc::migrations_disabled) + 1);
    EXPECT_EQ(cluster::last_errc, errc::shadow_link_unsupported_api);
}

}  // namespace
}  // namespace fjord::service
