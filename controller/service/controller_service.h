#pragma once
// File: controller/service/controller_service.h
//
// fjord.controller.v1.ControllerService: gRPC in, frontend work, gRPC out.
// The handlers are thin adapters, one file per domain: decode the request,
// call the frontend (controller/frontend), encode the answer.
//
//   request ──▶ leader? ──no──▶ forward to the leader's API (once; a forwarded
//      │                        call that lands on a non-leader answers
//      │                        UNAVAILABLE + leader hint instead)
//      └─yes─▶ frontend: validate ──▶ build the command ──▶ propose ──▶ wait
//              until applied ──▶ per-item result (status_mapping.h)
//
//   forwarding.cc       routing to the leader, call plumbing, metrics
//   topics_service.cc   CreateTopics DeleteTopics AlterTopicConfigs
//                       CreatePartitions ListTopics
//   config_service.cc   GetClusterConfig SetClusterConfig
//   brokers_service.cc  RegisterBroker Heartbeat SetBrokerState ListBrokers
//   members_service.cc  Status AddMember RemoveMember TransferLeadership
//                       TakeSnapshot
//   watch_service.cc    Watch
//   security_service.cc CreateUser UpdateUser DeleteUser ListUsers CreateAcls
//                       DeleteAcls ListAcls CreateRole DeleteRole
//                       AlterRoleMembers ListRoles CheckAcl
//   migrations_service.cc UnmountTopics MountTopics CancelMigration
//                       DeleteMigration ListMigrations GetMigration
//                       ListMountableTopics
//   shadow_service.cc   CreateShadowLink UpdateShadowLink DeleteShadowLink
//                       GetShadowLink ListShadowLinks FailOverShadowLink
//                       GetShadowLinkStatus
//   apply_service.cc    Apply (fjord apply)
//   access.cc           authentication and ACL checks of every call (auth.h)
//
// Reads (ListTopics, GetClusterConfig, ...) run on any member: a ReadIndex
// first unless `read.stale`, then the local tables. Watch always streams the
// local member's applied changes.
//
// Writes use gRPC's callback API: a write's handler validates, proposes and
// returns; the call finishes from the proposal's completion (on the raft
// loop's completion thread) or from the forwarded call's callback, so no
// thread is parked per in-flight write. Reads, Watch and membership
// administration use the sync API (a thread per call) and may block.
//
// Errors are translated only in status_mapping.h. Handlers run on gRPC's
// threads and completions on the loop's; everything they share is
// thread-safe (the frontend's core, the stub cache).

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>

#include <grpcpp/grpcpp.h>

#include "common/metrics.h"
#include "common/security/principal_mapping.h"
#include "controller/frontend/frontend.h"
#include "controller/service/auth.h"
#include "fjord/controller/v1/controller_service.grpc.pb.h"

namespace fjord::service {

namespace v1 = fjord::controller::v1;

namespace detail {
using S = v1::ControllerService;
/// The sync service with the write methods switched to the callback API,
/// taking raw bytes: the service parses requests itself, so that bytes that
/// are not a request get INVALID_ARGUMENT naming the message type (gRPC's
/// own parsing would answer UNIMPLEMENTED, which reads as "no such method").
using security_writes = S::WithRawCallbackMethod_CreateUser<
    S::WithRawCallbackMethod_UpdateUser<S::WithRawCallbackMethod_DeleteUser<
        S::WithRawCallbackMethod_CreateAcls<S::WithRawCallbackMethod_DeleteAcls<
            S::WithRawCallbackMethod_CreateRole<S::WithRawCallbackMethod_DeleteRole<
                S::WithRawCallbackMethod_AlterRoleMembers<S::Service>>>>>>>>;
using service_base = S::WithRawCallbackMethod_CreateTopics<
    S::WithRawCallbackMethod_DeleteTopics<S::WithRawCallbackMethod_AlterTopicConfigs<
        S::WithRawCallbackMethod_CreatePartitions<S::WithRawCallbackMethod_SetClusterConfig<
            S::WithRawCallbackMethod_RegisterBroker<S::WithRawCallbackMethod_Heartbeat<
                S::WithRawCallbackMethod_SetBrokerState<security_writes>>>>>>>>;

/// One callback-API call: the parsed request, the response being built and
/// the reactor that finishes it. Allocated per call; deletes itself when
/// gRPC is done with it (OnDone).
template <typename Req, typename Resp>
class unary_call final : public grpc::ServerUnaryReactor {
  public:
    using finish_fn = std::function<void(const char*, const grpc::Status&)>;
    unary_call(grpc::CallbackServerContext* c, grpc::ByteBuffer* out, const char* method,
               finish_fn on_finish)
        : ctx(c), _out(out), _method(method), _on_finish(std::move(on_finish)) {}

    grpc::CallbackServerContext* const ctx;
    Req req;
    Resp resp;

    /// Ends the call: with `resp` if `s` is OK, else with `s` alone.
    void reply(grpc::Status s) {
        _on_finish(_method, s);
        if (s.ok()) {
            bool own = false;
            s = grpc::SerializationTraits<Resp>::Serialize(resp, _out, &own);
        }
        Finish(std::move(s));
    }
    void OnDone() override { delete this; }

  private:
    grpc::ByteBuffer* _out;
    const char* _method;
    finish_fn _on_finish;
};
}  // namespace detail

/// The API's TLS as the service sees it (the server's credentials are the
/// composition root's).
struct service_tls {
    /// Channels to the leader's API when forwarding; nullptr: plaintext.
    std::shared_ptr<grpc::ChannelCredentials> forward_credentials;
    /// Set when the API verifies client certificates: a call without
    /// `authorization` metadata is made as the user its certificate's
    /// subject maps to (access.cc).
    std::optional<security::principal_mapper> principal_mapping;
};

class controller_service final : public detail::service_base {
    using service_base = detail::service_base;

  public:
    controller_service(frontend::core& core, metrics::registry& metrics, service_tls tls = {});

    // The callback forms below replace these (which abort if called); named
    // here so that overriding one overload does not hide the other.
    using service_base::AlterRoleMembers;
    using service_base::AlterTopicConfigs;
    using service_base::CreateAcls;
    using service_base::CreatePartitions;
    using service_base::CreateRole;
    using service_base::CreateTopics;
    using service_base::CreateUser;
    using service_base::DeleteAcls;
    using service_base::DeleteRole;
    using service_base::DeleteTopics;
    using service_base::DeleteUser;
    using service_base::Heartbeat;
    using service_base::RegisterBroker;
    using service_base::SetBrokerState;
    using service_base::SetClusterConfig;
    using service_base::UpdateUser;

    /// Ends Watch streams and refuses new calls (shutdown).
    void stop() { _core.stop(); }

    grpc::ServerUnaryReactor* CreateTopics(grpc::CallbackServerContext* ctx,
                                           const grpc::ByteBuffer* in,
                                           grpc::ByteBuffer* out) override;
    grpc::ServerUnaryReactor* DeleteTopics(grpc::CallbackServerContext* ctx,
                                           const grpc::ByteBuffer* in,
                                           grpc::ByteBuffer* out) override;
    grpc::Status ListTopics(grpc::ServerContext* ctx, const v1::ListTopicsRequest* req,
                            v1::ListTopicsResponse* resp) override;
    grpc::ServerUnaryReactor* AlterTopicConfigs(grpc::CallbackServerContext* ctx,
                                                const grpc::ByteBuffer* in,
                                                grpc::ByteBuffer* out) override;
    grpc::ServerUnaryReactor* CreatePartitions(grpc::CallbackServerContext* ctx,
                                               const grpc::ByteBuffer* in,
                                               grpc::ByteBuffer* out) override;
    grpc::Status GetClusterConfig(grpc::ServerContext* ctx, const v1::GetClusterConfigRequest* req,
                                  v1::GetClusterConfigResponse* resp) override;
    grpc::ServerUnaryReactor* SetClusterConfig(grpc::CallbackServerContext* ctx,
                                               const grpc::ByteBuffer* in,
                                               grpc::ByteBuffer* out) override;
    grpc::ServerUnaryReactor* RegisterBroker(grpc::CallbackServerContext* ctx,
                                             const grpc::ByteBuffer* in,
                                             grpc::ByteBuffer* out) override;
    grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* ctx,
                                        const grpc::ByteBuffer* in, grpc::ByteBuffer* out) override;
    grpc::Status ListBrokers(grpc::ServerContext* ctx, const v1::ListBrokersRequest* req,
                             v1::ListBrokersResponse* resp) override;
    grpc::ServerUnaryReactor* SetBrokerState(grpc::CallbackServerContext* ctx,
                                             const grpc::ByteBuffer* in,
                                             grpc::ByteBuffer* out) override;
    grpc::Status Watch(grpc::ServerContext* ctx, const v1::WatchRequest* req,
                       grpc::ServerWriter<v1::WatchEvent>* writer) override;
    grpc::Status Status(grpc::ServerContext* ctx, const v1::StatusRequest* req,
                        v1::StatusResponse* resp) override;
    grpc::Status AddMember(grpc::ServerContext* ctx, const v1::AddMemberRequest* req,
                           v1::AddMemberResponse* resp) override;
    grpc::Status RemoveMember(grpc::ServerContext* ctx, const v1::RemoveMemberRequest* req,
                              v1::RemoveMemberResponse* resp) override;
    grpc::Status TransferLeadership(grpc::ServerContext* ctx,
                                    const v1::TransferLeadershipRequest* req,
                                    v1::TransferLeadershipResponse* resp) override;
    grpc::Status TakeSnapshot(grpc::ServerContext* ctx, const v1::TakeSnapshotRequest* req,
                              v1::TakeSnapshotResponse* resp) override;

    // Security (security_service.cc).
    grpc::ServerUnaryReactor* CreateUser(grpc::CallbackServerContext* ctx,
                                         const grpc::ByteBuffer* in,
                                         grpc::ByteBuffer* out) override;
    grpc::ServerUnaryReactor* UpdateUser(grpc::CallbackServerContext* ctx,
                                         const grpc::ByteBuffer* in,
                                         grpc::ByteBuffer* out) override;
    grpc::ServerUnaryReactor* DeleteUser(grpc::CallbackServerContext* ctx,
                                         const grpc::ByteBuffer* in,
                                         grpc::ByteBuffer* out) override;
    grpc::Status ListUsers(grpc::ServerContext* ctx, const v1::ListUsersRequest* req,
                           v1::ListUsersResponse* resp) override;
    grpc::ServerUnaryReactor* CreateAcls(grpc::CallbackServerContext* ctx,
                                         const grpc::ByteBuffer* in,
                                         grpc::ByteBuffer* out) override;
    grpc::ServerUnaryReactor* DeleteAcls(grpc::CallbackServerContext* ctx,
                                         const grpc::ByteBuffer* in,
                                         grpc::ByteBuffer* out) override;
    grpc::Status ListAcls(grpc::ServerContext* ctx, const v1::ListAclsRequest* req,
                          v1::ListAclsResponse* resp) override;
    grpc::ServerUnaryReactor* CreateRole(grpc::CallbackServerContext* ctx,
                                         const grpc::ByteBuffer* in,
                                         grpc::ByteBuffer* out) override;
    grpc::ServerUnaryReactor* DeleteRole(grpc::CallbackServerContext* ctx,
                                         const grpc::ByteBuffer* in,
                                         grpc::ByteBuffer* out) override;
    grpc::ServerUnaryReactor* AlterRoleMembers(grpc::CallbackServerContext* ctx,
                                               const grpc::ByteBuffer* in,
                                               grpc::ByteBuffer* out) override;
    grpc::Status ListRoles(grpc::ServerContext* ctx, const v1::ListRolesRequest* req,
                           v1::ListRolesResponse* resp) override;
    grpc::Status CheckAcl(grpc::ServerContext* ctx, const v1::CheckAclRequest* req,
                          v1::CheckAclResponse* resp) override;

    // Mountable topics (migrations_service.cc).
    grpc::Status UnmountTopics(grpc::ServerContext* ctx, const v1::UnmountTopicsRequest* req,
                               v1::MigrationResponse* resp) override;
    grpc::Status MountTopics(grpc::ServerContext* ctx, const v1::MountTopicsRequest* req,
                             v1::MigrationResponse* resp) override;
    grpc::Status CancelMigration(grpc::ServerContext* ctx, const v1::CancelMigrationRequest* req,
                                 v1::MigrationResponse* resp) override;
    grpc::Status DeleteMigration(grpc::ServerContext* ctx, const v1::DeleteMigrationRequest* req,
                                 v1::MigrationResponse* resp) override;
    grpc::Status ListMigrations(grpc::ServerContext* ctx, const v1::ListMigrationsRequest* req,
                                v1::ListMigrationsResponse* resp) override;
    grpc::Status GetMigration(grpc::ServerContext* ctx, const v1::GetMigrationRequest* req,
                              v1::GetMigrationResponse* resp) override;
    grpc::Status ListMountableTopics(grpc::ServerContext* ctx,
                                     const v1::ListMountableTopicsRequest* req,
                                     v1::ListMountableTopicsResponse* resp) override;

    // Shadow links (shadow_service.cc).
    grpc::Status CreateShadowLink(grpc::ServerContext* ctx, const v1::CreateShadowLinkRequest* req,
                                  v1::ShadowLinkResponse* resp) override;
    grpc::Status UpdateShadowLink(grpc::ServerContext* ctx, const v1::UpdateShadowLinkRequest* req,
                                  v1::ShadowLinkResponse* resp) override;
    grpc::Status DeleteShadowLink(grpc::ServerContext* ctx, const v1::DeleteShadowLinkRequest* req,
                                  v1::ShadowLinkResponse* resp) override;
    grpc::Status GetShadowLink(grpc::ServerContext* ctx, const v1::GetShadowLinkRequest* req,
                               v1::ShadowLinkResponse* resp) override;
    grpc::Status ListShadowLinks(grpc::ServerContext* ctx, const v1::ListShadowLinksRequest* req,
                                 v1::ListShadowLinksResponse* resp) override;
    grpc::Status FailOverShadowLink(grpc::ServerContext* ctx,
                                    const v1::FailOverShadowLinkRequest* req,
                                    v1::ShadowLinkResponse* resp) override;
    grpc::Status GetShadowLinkStatus(grpc::ServerContext* ctx,
                                     const v1::GetShadowLinkStatusRequest* req,
                                     v1::GetShadowLinkStatusResponse* resp) override;

    // Desired state (apply_service.cc).
    grpc::Status Apply(grpc::ServerContext* ctx, const v1::ApplyRequest* req,
                       v1::ApplyResponse* resp) override;

  private:
    using stub = v1::ControllerService::Stub;
    template <typename Req, typename Resp>
    using stub_method = grpc::Status (stub::*)(grpc::ClientContext*, const Req&, Resp*);
    template <typename Req, typename Resp>
    using async_method = void (stub::async::*)(grpc::ClientContext*, const Req*, Resp*,
                                               std::function<void(grpc::Status)>);

    /// Where a leader-only call goes: `answer` set: answer it now (shutting
    /// down, no known leader, already forwarded once); `leader` set: forward
    /// it there; neither: serve it here.
    struct route {
        std::optional<grpc::Status> answer;
        stub* leader = nullptr;
        node_id leader_id;
        std::string address;
    };
    route route_call(grpc::ServerContextBase* ctx);
    /// A forwarded call's outcome, as this member answers it. When the call
    /// itself broke, a read answers "not the leader" (retry elsewhere) and a
    /// write "outcome unknown" (the leader may have applied it).
    grpc::Status forwarded(grpc::ServerContextBase* ctx, const grpc::ClientContext& fctx,
                           grpc::Status s, const route& r, const char* name, bool write);
    std::shared_ptr<grpc::ClientContext> forward_context(grpc::ServerContextBase* ctx) const;
    /// If this member is not the leader: forwards the call and returns its
    /// status; otherwise nullopt (serve locally).
    template <typename Req, typename Resp>
    std::optional<grpc::Status> forward_if_follower(grpc::ServerContext* ctx, const Req& req,
                                                    Resp* resp, stub_method<Req, Resp> method,
                                                    const char* name, bool write = false);
    template <typename Req, typename Resp>
    using call = detail::unary_call<Req, Resp>;
    /// Parses the request and runs `handler` (which must end the call with
    /// reply(), now or later); answers bytes that do not parse itself.
    template <typename Req, typename Resp>
    grpc::ServerUnaryReactor* serve(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* in,
                                    grpc::ByteBuffer* out, const char* method,
                                    void (controller_service::*handler)(call<Req, Resp>&));
    /// The callback-API form: true when the call was answered or forwarded
    /// (it ends when the leader answers); false: serve it here.
    template <typename Req, typename Resp>
    bool forward_async(call<Req, Resp>& c, async_method<Req, Resp> method, const char* name);

    void CreateTopics_async(call<v1::CreateTopicsRequest, v1::CreateTopicsResponse>& c);
    void DeleteTopics_async(call<v1::DeleteTopicsRequest, v1::DeleteTopicsResponse>& c);
    void AlterTopicConfigs_async(
        call<v1::AlterTopicConfigsRequest, v1::AlterTopicConfigsResponse>& c);
    void CreatePartitions_async(call<v1::CreatePartitionsRequest, v1::CreatePartitionsResponse>& c);
    void SetClusterConfig_async(call<v1::SetClusterConfigRequest, v1::SetClusterConfigResponse>& c);
    void RegisterBroker_async(call<v1::RegisterBrokerRequest, v1::RegisterBrokerResponse>& c);
    void Heartbeat_async(call<v1::HeartbeatRequest, v1::HeartbeatResponse>& c);
    void SetBrokerState_async(call<v1::SetBrokerStateRequest, v1::SetBrokerStateResponse>& c);
    void CreateUser_async(call<v1::CreateUserRequest, v1::UserResponse>& c);
    void UpdateUser_async(call<v1::UpdateUserRequest, v1::UserResponse>& c);
    void DeleteUser_async(call<v1::DeleteUserRequest, v1::UserResponse>& c);
    void CreateAcls_async(call<v1::CreateAclsRequest, v1::CreateAclsResponse>& c);
    void DeleteAcls_async(call<v1::DeleteAclsRequest, v1::DeleteAclsResponse>& c);
    void CreateRole_async(call<v1::CreateRoleRequest, v1::RoleResponse>& c);
    void DeleteRole_async(call<v1::DeleteRoleRequest, v1::RoleResponse>& c);
    void AlterRoleMembers_async(call<v1::AlterRoleMembersRequest, v1::RoleResponse>& c);
    /// UNAVAILABLE naming the leader, with its id and address in the
    /// trailing metadata.
    grpc::Status not_leader(grpc::ServerContextBase* ctx);
    /// Who proposes, and when: stamped on every command.
    frontend::command_meta meta(grpc::ServerContextBase* ctx) const;

    /// "User:<name>" when authentication is on (the caller has passed it),
    /// else "anonymous": the audit trail's principal.
    std::string principal(grpc::ServerContextBase* ctx) const;

    // Access (access.cc; docs/security.md). While the cluster config
    // admin_api_require_auth is true every call authenticates and needs its
    // `access`; otherwise everything is allowed, as before.
    bool auth_required() const;
    /// The caller's verified user name: from the metadata `authorization`
    /// (auth.h) when present; else, with principal_mapping, from the client
    /// certificate's subject (for a call a member forwarded: the subject that
    /// member verified). errc::unauthenticated when missing or wrong, or when
    /// no rule maps the subject.
    result<std::string> authenticate(grpc::ServerContextBase* ctx) const;
    /// The verified client certificate subject the call is made with ("" for
    /// none): the connection's own; for a call a member forwarded (its
    /// connection presents a member_certificate) the subject that member
    /// verified, or "" if it forwarded none. errc::unauthenticated when the
    /// call carries a forwarded subject without a member certificate.
    result<std::string> client_subject(grpc::ServerContextBase* ctx) const;
    /// Whether the connection presented a verified client certificate that
    /// names a member's advertised API host (an IP SAN, or a DNS SAN without
    /// wildcards) and comes from that same host.
    bool member_certificate(grpc::ServerContextBase* ctx) const;
    /// Whether a call carrying the forwarded client host comes from a
    /// member: by member_certificate when the API verifies client
    /// certificates, else by its source address.
    bool forwarded_by_member(grpc::ServerContextBase* ctx) const;
    /// The client's address as ACL hosts name it: the peer's IP, or for a
    /// call forwarded by a member the address that member saw.
    std::string client_host(grpc::ServerContextBase* ctx) const;
    /// nullopt when the call may go on; else UNAUTHENTICATED or
    /// PERMISSION_DENIED naming what is missing. Checked where the call is
    /// served (the leader, for a forwarded call: the forward carries the
    /// caller's credentials), before anything is proposed.
    std::optional<grpc::Status> check_access(grpc::ServerContextBase* ctx,
                                             const std::vector<access>& needs) const;

    void count(const char* method, const grpc::Status& s);
    grpc::Status finish(const char* method, grpc::Status s) {
        count(method, s);
        return s;
    }

    frontend::core& _core;
    const service_tls _tls;
    mutable authenticator _auth;
    /// Whether a forged forwarded subject was logged (once per process).
    mutable std::atomic<bool> _warned_forged_subject{false};
    metrics::family<metrics::counter>& _requests;
    std::mutex _stubs_mu;
    std::map<std::string, std::unique_ptr<stub>> _stubs;
};

}  // namespace fjord::service
