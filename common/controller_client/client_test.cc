// File: common/controller_client/client_test.cc
//
// The client against in-process fake controllers: the retry rule at work
// (leader hints, a session write repeated with its seq, an unsafe write
// not repeated), the budget, and stop().

#include "common/controller_client/client.h"

#include <atomic>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "common/controller_client/blocking.h"

namespace fjord::controller_client {
namespace {

using std::chrono::milliseconds;

/// A controller whose answers the test scripts: each call takes the next
/// status from `script` (OK once it runs out) and records its session seq.
class fake_controller final : public v1::ControllerService::Service {
  public:
    std::vector<grpc::Status> script;
    std::string leader_hint;  ///< sent as fjord-leader-address with failures
    std::mutex mu;
    std::vector<uint64_t> seqs;
    std::vector<std::string> authorizations;  ///< each call's metadata ("" when absent)
    std::atomic<int> calls{0};

    fake_controller() {
        grpc::ServerBuilder b;
        b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &_port);
        b.RegisterService(this);
        _server = b.BuildAndStart();
    }
    ~fake_controller() override { _server->Shutdown(); }
    std::string address() const { return "127.0.0.1:" + std::to_string(_port); }

    grpc::Status CreateTopics(grpc::ServerContext* ctx, const v1::CreateTopicsRequest* req,
                              v1::CreateTopicsResponse*) override {
        std::lock_guard g(mu);
        seqs.push_back(req->session().seq());
        return next(ctx);
    }
    grpc::Status CreateUser(grpc::ServerContext* ctx, const v1::CreateUserRequest* req,
                            v1::UserResponse*) override {
        std::lock_guard g(mu);
        seqs.push_back(req->session().seq());
        return next(ctx);
    }
    grpc::Status ListUsers(grpc::ServerContext* ctx, const v1::ListUsersRequest*,
                           v1::ListUsersResponse*) override {
        std::lock_guard g(mu);
        return next(ctx);
    }
    grpc::Status AddMember(grpc::ServerContext* ctx, const v1::AddMemberRequest*,
                           v1::AddMemberResponse*) override {
        std::lock_guard g(mu);
        return next(ctx);
    }
    grpc::Status Status(grpc::ServerContext* ctx, const v1::StatusRequest*,
                        v1::StatusResponse* out) override {
        std::lock_guard g(mu);
        out->set_role("leader");
        return next(ctx);
    }

  private:
    grpc::Status next(grpc::ServerContext* ctx) {
        const int i = calls++;
        const auto& md = ctx->client_metadata();
        auto a = md.find("authorization");
        authorizations.push_back(a == md.end() ? ""
                                               : std::string(a->second.data(), a->second.size()));
        grpc::Status s = i < static_cast<int>(script.size()) ? script[i] : grpc::Status::OK;
        if (!s.ok() && !leader_hint.empty()) {
            ctx->AddTrailingMetadata("fjord-leader-address", leader_hint);
        }
        return s;
    }
    int _port = 0;
    std::unique_ptr<grpc::Server> _server;
};

const grpc::Status unknown(grpc::StatusCode::UNKNOWN, "outcome unknown");

options until_timeout() {
    options o;
    o.max_attempts = 100;
    return o;
}

TEST(controller_client, session_write_is_repeated_with_its_seq_after_outcome_unknown) {
    fake_controller f;
    f.script = {unknown, unknown};
    client c({f.address()}, until_timeout());
    auto r = wait_for(c, &client::create_topics, v1::CreateTopicsRequest{}, milliseconds(5000));
    ASSERT_TRUE(r.has_value()) << r.error().detail;
    std::lock_guard g(f.mu);
    EXPECT_EQ(f.seqs, (std::vector<uint64_t>{1, 1, 1}));
}

TEST(controller_client, unsafe_write_is_not_repeated_after_outcome_unknown) {
    fake_controller f;
    f.script = {unknown};
    client c({f.address()}, until_timeout());
    auto r = wait_for(c, &client::add_member, v1::AddMemberRequest{}, milliseconds(5000));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, std::errc::timed_out);
    EXPECT_NE(r.error().detail.find("outcome unknown"), std::string::npos) << r.error().detail;
    EXPECT_EQ(f.calls.load(), 1);
}

TEST(controller_client, follows_the_leader_hint) {
    fake_controller leader;
    fake_controller follower;
    follower.script = {grpc::Status(grpc::StatusCode::UNAVAILABLE, "not the leader")};
    follower.leader_hint = leader.address();
    client c({follower.address()}, until_timeout());
    auto r = wait_for(c, &client::add_member, v1::AddMemberRequest{}, milliseconds(5000));
    ASSERT_TRUE(r.has_value()) << r.error().detail;
    EXPECT_EQ(follower.calls.load(), 1);
    EXPECT_EQ(leader.calls.load(), 1);
}

TEST(controller_client, default_budget_tries_each_controller_once) {
    client c({"127.0.0.1:1"});
    auto r = wait_for(c, &client::create_topics, v1::CreateTopicsRequest{}, milliseconds(10000));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, std::errc::host_unreachable) << "nothing can have been applied";
    EXPECT_EQ(r.error().detail.rfind("controller 127.0.0.1:1: unavailable: ", 0), 0u)
        << r.error().detail;
}

TEST(controller_client, a_diagnosed_connection_failure_ends_the_call_at_once) {
    options o = until_timeout();
    std::atomic<int> asked{0};
    o.diagnose = [&](const std::string& target) {
        ++asked;
        return "TLS handshake with " + target + " failed: a test reason";
    };
    client c({"127.0.0.1:1"}, o);
    const auto start = std::chrono::steady_clock::now();
    auto r = wait_for(c, &client::list_topics, v1::ListTopicsRequest{}, milliseconds(10000));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, std::errc::host_unreachable);
    EXPECT_EQ(r.error().detail, "TLS handshake with 127.0.0.1:1 failed: a test reason");
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000)) << "not retried";
    auto again = wait_for(c, &client::list_topics, v1::ListTopicsRequest{}, milliseconds(10000));
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(asked.load(), 1) << "one diagnosis per target";
}

TEST(controller_client, a_diagnosed_controller_does_not_stop_the_others) {
    fake_controller good;
    options o = until_timeout();
    o.diagnose = [&](const std::string& target) {
        return target == good.address() ? std::string()
                                        : "TLS handshake with " + target + " failed: bad";
    };
    client c({"127.0.0.1:1", good.address()}, o);
    auto r = wait_for(c, &client::list_users, v1::ListUsersRequest{}, milliseconds(10000));
    ASSERT_TRUE(r.has_value()) << r.error().detail;

    options both = until_timeout();
    both.diagnose = [](const std::string& target) {
        return "TLS handshake with " + target + " failed: bad";
    };
    client d({"127.0.0.1:1", "127.0.0.1:2"}, both);
    auto e = wait_for(d, &client::list_users, v1::ListUsersRequest{}, milliseconds(10000));
    ASSERT_FALSE(e.has_value());
    EXPECT_EQ(e.error().detail,
              "TLS handshake with 127.0.0.1:1 failed: bad; TLS handshake with 127.0.0.1:2 failed: "
              "bad");
}

TEST(controller_client, an_undiagnosed_failure_and_a_controller_answer_are_retried) {
    fake_controller follower;
    fake_controller leader;
    follower.script = {grpc::Status(grpc::StatusCode::UNAVAILABLE, "not the leader")};
    follower.leader_hint = leader.address();
    options o = until_timeout();
    std::vector<std::string> asked;
    std::mutex mu;
    o.diagnose = [&](const std::string& target) {
        std::lock_guard g(mu);
        asked.push_back(target);
        return std::string();
    };
    // Nothing listens on the first; the follower answers, which is no
    // connection failure; the leader serves.
    client c({"127.0.0.1:1", follower.address()}, o);
    auto r = wait_for(c, &client::list_users, v1::ListUsersRequest{}, milliseconds(10000));
    ASSERT_TRUE(r.has_value()) << r.error().detail;
    std::lock_guard g(mu);
    EXPECT_EQ(asked, std::vector<std::string>{"127.0.0.1:1"});
}

TEST(controller_client, status_of_asks_that_controller_once) {
    fake_controller f;
    f.script = {grpc::Status(grpc::StatusCode::UNAVAILABLE, "not the leader")};
    client c({"127.0.0.1:1"}, until_timeout());
    auto r = wait_for(c, &client::status_of, f.address(), milliseconds(5000));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(f.calls.load(), 1);
    auto ok = wait_for(c, &client::status_of, f.address(), milliseconds(5000));
    ASSERT_TRUE(ok.has_value()) << ok.error().detail;
    EXPECT_EQ(ok->role(), "leader");
}

TEST(controller_client, basic_authorization_is_rfc_7617) {
    EXPECT_EQ(basic_authorization({"Aladdin", "open sesame"}),
              "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    EXPECT_EQ(basic_authorization({"a", ""}), "Basic YTo=");
    EXPECT_EQ(basic_authorization({"ab", "c"}), "Basic YWI6Yw==");
}

TEST(controller_client, every_attempt_carries_the_credentials) {
    fake_controller f;
    f.script = {unknown};
    options o = until_timeout();
    o.auth = credential{"admin", "s3cret"};
    client c({f.address()}, o);
    ASSERT_TRUE(wait_for(c, &client::create_user, v1::CreateUserRequest{}, milliseconds(5000)));
    ASSERT_TRUE(wait_for(c, &client::list_users, v1::ListUsersRequest{}, milliseconds(5000)));
    std::lock_guard g(f.mu);
    EXPECT_EQ(f.authorizations, std::vector<std::string>(3, "Basic YWRtaW46czNjcmV0"));
    EXPECT_EQ(f.seqs, (std::vector<uint64_t>{1, 1})) << "CreateUser is a session write";
}

TEST(controller_client, without_credentials_no_authorization_is_sent) {
    fake_controller f;
    client c({f.address()}, until_timeout());
    ASSERT_TRUE(wait_for(c, &client::list_users, v1::ListUsersRequest{}, milliseconds(5000)));
    std::lock_guard g(f.mu);
    EXPECT_EQ(f.authorizations, std::vector<std::string>{""});
}

TEST(controller_client, a_refusal_is_answered_at_once_and_is_definite) {
    fake_controller f;
    f.script = {grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no credentials")};
    client c({f.address()}, until_timeout());
    auto r = wait_for(c, &client::create_user, v1::CreateUserRequest{}, milliseconds(5000));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, std::errc::permission_denied);
    EXPECT_EQ(r.error().detail, "controller " + f.address() + ": unauthenticated: no credentials");
    EXPECT_EQ(f.calls.load(), 1);

    // After an attempt that may have applied, a refusal of the retry cannot
    // make the write's outcome definite.
    fake_controller g;
    g.script = {unknown,
                grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "User:bob may not ALTER")};
    client d({g.address()}, until_timeout());
    auto u = wait_for(d, &client::create_user, v1::CreateUserRequest{}, milliseconds(5000));
    ASSERT_FALSE(u.has_value());
    EXPECT_EQ(u.error().code, std::errc::timed_out);
    EXPECT_NE(u.error().detail.find("outcome unknown"), std::string::npos);
    EXPECT_EQ(g.calls.load(), 2);
}

TEST(controller_client, stop_ends_calls_waiting_to_retry_and_fails_later_ones) {
    client c({"127.0.0.1:1"}, until_timeout());
    std::atomic<int> done{0};
    for (int i = 0; i < 4; ++i) {
        c.list_topics({}, milliseconds(60000), [&](result<v1::ListTopicsResponse> r) {
            EXPECT_FALSE(r.has_value());
            ++done;
        });
    }
    c.stop();
    EXPECT_EQ(done.load(), 4);
    auto r = wait_for(c, &client::list_topics, v1::ListTopicsRequest{}, milliseconds(1000));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, std::errc::operation_canceled);
}

}  // namespace
}  // namespace fjord::controller_client
