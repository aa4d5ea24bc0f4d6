// File: common/controller_client/retry_rule_test.cc
//
// The one retry rule, case by case: what each kind of call may repeat.

#include "common/controller_client/retry_rule.h"

#include <gtest/gtest.h>

namespace fjord::controller_client {
namespace {

failed_attempt with(grpc::StatusCode c, const std::string& msg, bool connected = true) {
    return {grpc::Status(c, msg), connected};
}

TEST(retry_rule, reads_and_session_writes_repeat_after_any_transient_failure) {
    for (auto k : {call_kind::read, call_kind::session_write}) {
        EXPECT_TRUE(may_retry(k, with(grpc::StatusCode::UNAVAILABLE, "not the leader")));
        EXPECT_TRUE(may_retry(k, with(grpc::StatusCode::UNAVAILABLE, "Socket closed")));
        EXPECT_TRUE(may_retry(k, with(grpc::StatusCode::UNKNOWN, "outcome unknown")));
        EXPECT_TRUE(may_retry(k, with(grpc::StatusCode::DEADLINE_EXCEEDED, "")));
        EXPECT_FALSE(may_retry(k, with(grpc::StatusCode::INVALID_ARGUMENT, "bad")));
        EXPECT_FALSE(may_retry(k, with(grpc::StatusCode::CANCELLED, "")));
    }
}

TEST(retry_rule, unsafe_writes_repeat_only_when_nothing_was_applied) {
    const auto k = call_kind::unsafe_write;
    EXPECT_TRUE(may_retry(k, with(grpc::StatusCode::UNAVAILABLE, "not the leader (leader 2)")));
    EXPECT_TRUE(may_retry(k, with(grpc::StatusCode::UNAVAILABLE, "controller shutting down")));
    EXPECT_TRUE(may_retry(k, with(grpc::StatusCode::UNAVAILABLE, "could not connect", false)));
    EXPECT_TRUE(
        may_retry(k, with(grpc::StatusCode::UNAVAILABLE, "failed to connect to all addresses")));
    EXPECT_TRUE(may_retry(k, with(grpc::StatusCode::UNAVAILABLE,
                                  "nothing was done: could not confirm the security state")));
    EXPECT_FALSE(may_retry(k, with(grpc::StatusCode::UNAVAILABLE, "Socket closed")));
    EXPECT_FALSE(may_retry(k, with(grpc::StatusCode::UNKNOWN, "outcome unknown")));
    EXPECT_FALSE(may_retry(k, with(grpc::StatusCode::DEADLINE_EXCEEDED, "")));
}

TEST(retry_rule, only_writes_that_were_sent_may_have_applied) {
    const auto lost = with(grpc::StatusCode::DEADLINE_EXCEEDED, "");
    EXPECT_FALSE(may_have_applied(call_kind::read, lost));
    EXPECT_TRUE(may_have_applied(call_kind::session_write, lost));
    EXPECT_TRUE(may_have_applied(call_kind::unsafe_write, lost));
    EXPECT_FALSE(may_have_applied(call_kind::session_write,
                                  with(grpc::StatusCode::UNAVAILABLE, "not the leader")));
    EXPECT_FALSE(may_have_applied(call_kind::session_write,
                                  with(grpc::StatusCode::INVALID_ARGUMENT, "bad")));
    // Cancelled by stop() with the attempt on the wire: not repeated, but
    // the controller may have applied it.
    const auto cancelled = with(grpc::StatusCode::CANCELLED, "Cancelled");
    EXPECT_FALSE(may_retry(call_kind::session_write, cancelled));
    EXPECT_TRUE(may_have_applied(call_kind::session_write, cancelled));
    EXPECT_TRUE(may_have_applied(call_kind::unsafe_write, cancelled));
    EXPECT_FALSE(may_have_applied(call_kind::read, cancelled));
    EXPECT_FALSE(may_have_applied(call_kind::session_write,
                                  with(grpc::StatusCode::CANCELLED, "Cancelled", false)));
}

TEST(retry_rule, a_refused_caller_is_final_and_definite_for_every_kind_of_call) {
    for (auto c : {grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::PERMISSION_DENIED}) {
        // Even with texts the rule reads as "nothing was sent".
        for (const char* msg : {"no credentials", "not the leader", "failed to connect"}) {
            const auto a = with(c, msg);
            EXPECT_TRUE(refused(a.status));
            for (auto k : {call_kind::read, call_kind::session_write, call_kind::unsafe_write}) {
                EXPECT_FALSE(may_retry(k, a)) << static_cast<int>(k) << " " << msg;
                EXPECT_FALSE(may_have_applied(k, a)) << static_cast<int>(k) << " " << msg;
            }
        }
    }
    EXPECT_FALSE(refused(grpc::Status(grpc::StatusCode::UNAVAILABLE, "")));
    EXPECT_EQ(to_errc(grpc::StatusCode::UNAUTHENTICATED), std::errc::permission_denied);
    EXPECT_EQ(to_errc(grpc::StatusCode::PERMISSION_DENIED), std::errc::operation_not_permitted);
    EXPECT_EQ(describe(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no credentials")),
              "unauthenticated: no credentials");
}

TEST(retry_rule, security_answers_are_in_doubt_like_topic_items) {
    v1::CreateAclsResponse acls;
    acls.add_results()->set_code(v1::OK);
    EXPECT_FALSE(in_doubt(acls));
    acls.add_results()->set_code(v1::NOT_LEADER);
    EXPECT_TRUE(in_doubt(acls));
    v1::DeleteAclsResponse del;
    del.add_results()->mutable_result()->set_code(v1::OK);
    EXPECT_FALSE(in_doubt(del));
    del.add_results()->mutable_result()->set_code(v1::OUTCOME_UNKNOWN);
    EXPECT_TRUE(in_doubt(del));
    v1::UserResponse user;
    EXPECT_FALSE(in_doubt(user));
    user.mutable_result()->set_code(v1::TIMEOUT);
    EXPECT_TRUE(in_doubt(user));
    v1::RoleResponse role;
    role.mutable_result()->set_code(v1::INVALID_ARGUMENT);
    EXPECT_FALSE(in_doubt(role));
}

TEST(retry_rule, items_without_a_definite_result_are_in_doubt) {
    v1::CreateTopicsResponse r;
    r.add_topics()->mutable_result()->set_code(v1::OK);
    EXPECT_FALSE(in_doubt(r));
    r.add_topics()->mutable_result()->set_code(v1::OUTCOME_UNKNOWN);
    EXPECT_TRUE(in_doubt(r));
    v1::SetClusterConfigResponse c;
    (*c.mutable_results())["k"].set_code(v1::TIMEOUT);
    EXPECT_TRUE(in_doubt(c));
    EXPECT_FALSE(in_doubt(v1::ListTopicsResponse{}));
}

TEST(retry_rule, describes_a_status_by_its_name) {
    EXPECT_EQ(describe(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")), "unavailable: down");
    EXPECT_EQ(to_errc(grpc::StatusCode::UNAVAILABLE), std::errc::host_unreachable);
}

}  // namespace
}  // namespace fjord::controller_client
