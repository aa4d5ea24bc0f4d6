#pragma once
// File: common/controller_client/client.h
//
// The one client of the controller group's ControllerService, asynchronous,
// for the broker's request handlers (forwarded admin APIs, topic
// auto-creation, the offsets topic) and, through blocking.h, the CLI.
// (The broker's registration, heartbeats and Watch stream are
// broker/cluster/controller_link's.)
//
// Contract:
// - Routing: a call starts at the controller the last call reached (at first
//   the first configured one); after a failure it follows the leader hint the
//   controller sent (trailer fjord-leader-address) at once, else it moves to
//   the next configured controller after a backoff (50 ms, doubling, at most
//   1 s).
// - Which failures are retried is retry_rule.h's one rule (never a repeat
//   that could apply twice); how long is the call's `timeout` (no retry
//   starts after it) and options (attempts per call, each attempt's limit).
// - Writes carry a client session (controller_service.proto, Session): one
//   random client id per client, requests numbered in call order, and the
//   lowest seq still awaited as first_outstanding; every retry of a write
//   carries its seq. validate_only requests carry none.
// - `done` runs exactly once, on a thread of gRPC's or of the client's
//   (never inside the call):
//   with the response, or with an error naming what each controller
//   answered. When some attempt of a write may have been applied the error
//   is std::errc::timed_out and says "outcome unknown"; a session write
//   whose items are still in doubt when the budget runs out is answered
//   with its last response, whose item codes say so. Per-item results are
//   the caller's to read.
// - Nothing of a call (context, messages, `done` and what it captured)
//   outlives the completion of its `done`.
// - An unsafe write is sent only on a connection that is up (waiting at most
//   2 s on a thread of its own), so that "could not connect" means "not
//   sent".
// - Credentials: with options::auth set, every attempt carries the gRPC
//   metadata `authorization: Basic base64(user:password)` (rpk's Admin API
//   basic auth, over gRPC), which the controller checks against its users
//   table when admin_api_require_auth is on. The header is built once; the
//   password is never logged. A refusal (UNAUTHENTICATED: no or wrong
//   credentials; PERMISSION_DENIED: the user may not do this) is final at
//   once and definite: the controller decides it before proposing anything
//   (retry_rule.h), so the error is std::errc::permission_denied or
//   std::errc::operation_not_permitted, never "outcome unknown" (unless an
//   earlier attempt of the same write may already have applied).
// - TLS: options::credentials are every channel's (nullptr: plaintext). A
//   refused handshake reaches gRPC's caller as UNAVAILABLE, like a server
//   that is down; options::diagnose (the CLI's: common/tls/probe.h) may name
//   the cause after a target's first UNAVAILABLE. Such a cause does not heal
//   (the same certificates fail the same way): once every configured
//   controller has one, the call ends at once as std::errc::host_unreachable
//   with those sentences ("; "-joined); until then the others are tried.
// - stop() cancels the attempts in flight, waits until every call's `done`
//   has run and nothing of the call is left on any thread (a call waiting
//   out a backoff or for a connection ends when the wait does), and fails
//   later calls; the destructor stops.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/security/credentials.h>

#include "common/result.h"
#include "fjord/controller/v1/controller_service.grpc.pb.h"

namespace fjord::controller_client {

namespace v1 = fjord::controller::v1;

/// A SASL user's name and password, sent as HTTP basic auth in gRPC metadata.
struct credential {
    std::string user;
    std::string password;
};

/// "Basic " + base64(user ":" password): the `authorization` metadata value.
std::string basic_authorization(const credential& c);

/// The retry budget, the session's name and the caller's credentials.
struct options {
    /// Each attempt's own limit; zero: the rest of the call's timeout.
    std::chrono::milliseconds attempt_timeout{0};
    /// Attempts per call at most; zero: one per configured controller (for
    /// callers whose own clients retry, as Kafka clients do).
    size_t max_attempts = 0;
    /// Prefix of the session's random client id (e.g. "broker-").
    std::string client_id_prefix;
    /// When set, every call authenticates as this user (see the header).
    std::optional<credential> auth;
    /// Every channel's credentials (common/tls/grpc_tls.h); nullptr: plaintext.
    std::shared_ptr<grpc::ChannelCredentials> credentials;
    /// Why `target` cannot be reached, when no retry can fix it; "" when
    /// nothing definite is known. Called at most once per target per client,
    /// after an UNAVAILABLE from it, on a thread of the client's; may block
    /// for a moment.
    std::function<std::string(const std::string& target)> diagnose;
};

class client {
  public:
    template <typename Resp>
    using done_fn = std::function<void(result<Resp>)>;

    explicit client(std::vector<std::string> controllers, options o = {});
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // Session writes.
    void create_topics(v1::CreateTopicsRequest req, std::chrono::milliseconds timeout,
                       done_fn<v1::CreateTopicsResponse> done);
    void delete_topics(v1::DeleteTopicsRequest req, std::chrono::milliseconds timeout,
                       done_fn<v1::DeleteTopicsResponse> done);
    void create_partitions(v1::CreatePartitionsRequest req, std::chrono::milliseconds timeout,
                           done_fn<v1::CreatePartitionsResponse> done);
    void alter_topic_configs(v1::AlterTopicConfigsRequest req, std::chrono::milliseconds timeout,
                             done_fn<v1::AlterTopicConfigsResponse> done);
    void set_cluster_config(v1::SetClusterConfigRequest req, std::chrono::milliseconds timeout,
                            done_fn<v1::SetClusterConfigResponse> done);
    void create_user(v1::CreateUserRequest req, std::chrono::milliseconds timeout,
                     done_fn<v1::UserResponse> done);
    void update_user(v1::UpdateUserRequest req, std::chrono::milliseconds timeout,
                     done_fn<v1::UserResponse> done);
    void delete_user(v1::DeleteUserRequest req, std::chrono::milliseconds timeout,
                     done_fn<v1::UserResponse> done);
    void create_acls(v1::CreateAclsRequest req, std::chrono::milliseconds timeout,
                     done_fn<v1::CreateAclsResponse> done);
    /// Without a session when validate_only (delete --dry).
    void delete_acls(v1::DeleteAclsRequest req, std::chrono::milliseconds timeout,
                     done_fn<v1::DeleteAclsResponse> done);
    void create_role(v1::CreateRoleRequest req, std::chrono::milliseconds timeout,
                     done_fn<v1::RoleResponse> done);
    void delete_role(v1::DeleteRoleRequest req, std::chrono::milliseconds timeout,
                     done_fn<v1::RoleResponse> done);
    void alter_role_members(v1::AlterRoleMembersRequest req, std::chrono::milliseconds timeout,
                            done_fn<v1::RoleResponse> done);
    // Mountable topics (session writes).
    void unmount_topics(v1::UnmountTopicsRequest req, std::chrono::milliseconds timeout,
                        done_fn<v1::MigrationResponse> done);
    void mount_topics(v1::MountTopicsRequest req, std::chrono::milliseconds timeout,
                      done_fn<v1::MigrationResponse> done);
    void cancel_migration(v1::CancelMigrationRequest req, std::chrono::milliseconds timeout,
                          done_fn<v1::MigrationResponse> done);
    void delete_migration(v1::DeleteMigrationRequest req, std::chrono::milliseconds timeout,
                          done_fn<v1::MigrationResponse> done);
    // Shadow links (session writes; create with validate_only carries no
    // session).
    void create_shadow_link(v1::CreateShadowLinkRequest req, std::chrono::milliseconds timeout,
                            done_fn<v1::ShadowLinkResponse> done);
    void update_shadow_link(v1::UpdateShadowLinkRequest req, std::chrono::milliseconds timeout,
                            done_fn<v1::ShadowLinkResponse> done);
    void delete_shadow_link(v1::DeleteShadowLinkRequest req, std::chrono::milliseconds timeout,
                            done_fn<v1::ShadowLinkResponse> done);
    void fail_over_shadow_link(v1::FailOverShadowLinkRequest req, std::chrono::milliseconds timeout,
                               done_fn<v1::ShadowLinkResponse> done);
    // Desired state (fjord apply; a session write, dry runs too: a dry run
    // proposes nothing, so its session entry is never used).
    void apply(v1::ApplyRequest req, std::chrono::milliseconds timeout,
               done_fn<v1::ApplyResponse> done);
    // Reads.
    void get_shadow_link(v1::GetShadowLinkRequest req, std::chrono::milliseconds timeout,
                         done_fn<v1::ShadowLinkResponse> done);
    void list_shadow_links(v1::ListShadowLinksRequest req, std::chrono::milliseconds timeout,
                           done_fn<v1::ListShadowLinksResponse> done);
    /// The leader's view (the call is forwarded there).
    void get_shadow_link_status(v1::GetShadowLinkStatusRequest req,
                                std::chrono::milliseconds timeout,
                                done_fn<v1::GetShadowLinkStatusResponse> done);
    void list_migrations(v1::ListMigrationsRequest req, std::chrono::milliseconds timeout,
                         done_fn<v1::ListMigrationsResponse> done);
    void get_migration(v1::GetMigrationRequest req, std::chrono::milliseconds timeout,
                       done_fn<v1::GetMigrationResponse> done);
    void list_mountable_topics(v1::ListMountableTopicsRequest req,
                               std::chrono::milliseconds timeout,
                               done_fn<v1::ListMountableTopicsResponse> done);
    void list_topics(v1::ListTopicsRequest req, std::chrono::milliseconds timeout,
                     done_fn<v1::ListTopicsResponse> done);
    void list_brokers(v1::ListBrokersRequest req, std::chrono::milliseconds timeout,
                      done_fn<v1::ListBrokersResponse> done);
    void get_cluster_config(v1::GetClusterConfigRequest req, std::chrono::milliseconds timeout,
                            done_fn<v1::GetClusterConfigResponse> done);
    void status(v1::StatusRequest req, std::chrono::milliseconds timeout,
                done_fn<v1::StatusResponse> done);
    void list_users(v1::ListUsersRequest req, std::chrono::milliseconds timeout,
                    done_fn<v1::ListUsersResponse> done);
    void list_acls(v1::ListAclsRequest req, std::chrono::milliseconds timeout,
                   done_fn<v1::ListAclsResponse> done);
    void list_roles(v1::ListRolesRequest req, std::chrono::milliseconds timeout,
                    done_fn<v1::ListRolesResponse> done);
    void check_acl(v1::CheckAclRequest req, std::chrono::milliseconds timeout,
                   done_fn<v1::CheckAclResponse> done);
    /// The Status of the controller at `address` itself: one attempt, no
    /// leader hint followed.
    void status_of(std::string address, std::chrono::milliseconds timeout,
                   done_fn<v1::StatusResponse> done);
    // Unsafe writes (no session).
    void add_member(v1::AddMemberRequest req, std::chrono::milliseconds timeout,
                    done_fn<v1::AddMemberResponse> done);
    void remove_member(v1::RemoveMemberRequest req, std::chrono::milliseconds timeout,
                       done_fn<v1::RemoveMemberResponse> done);
    void transfer_leadership(v1::TransferLeadershipRequest req, std::chrono::milliseconds timeout,
                             done_fn<v1::TransferLeadershipResponse> done);

    void stop();

  private:
    friend struct engine;      // the .cc: one call through its attempts
    friend struct call_token;  // the .cc: what _calls counts
    struct conn {
        std::shared_ptr<grpc::Channel> channel;
        std::unique_ptr<v1::ControllerService::Stub> stub;
    };

    const std::vector<std::string> _controllers;
    const options _o;
    const std::string _client_id;      ///< this client's session
    const std::string _authorization;  ///< the metadata value; "" without credentials
    std::mutex _mu;
    std::condition_variable _idle;
    std::map<std::string, conn> _conns;             ///< by address, made on first use
    std::map<std::string, std::string> _diagnosed;  ///< options::diagnose's answers
    std::set<grpc::ClientContext*> _in_flight;      ///< attempts on the wire (to cancel)
    size_t _calls = 0;  ///< calls of which anything (state, `done`) still exists
    bool _stopped = false;
    std::string _target;              ///< where the next call starts
    uint64_t _last_seq = 0;           ///< the last seq handed out
    std::set<uint64_t> _outstanding;  ///< seqs of writes not yet answered
};

}  // namespace fjord::controller_client
