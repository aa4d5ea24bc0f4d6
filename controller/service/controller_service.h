#pragma once
// File: controller/service/controller_service.h
//
// fjord.controller.v1.ControllerService: gRPC in, frontend work, gRPC out.
//
//   request ──▶ leader? ──no──▶ forward to the leader's API (once; a forwarded
//      │                        call that lands on a non-leader answers
//      │                        UNAVAILABLE + leader hint instead)
//      └─yes─▶ validate against the tables (controller/stm/validation.h)
//              ──▶ propose the command ──▶ wait until applied ──▶ per-item result
//
// Reads (ListTopics, GetClusterConfig, ...) run on any member: a ReadIndex
// first unless `read.stale`, then the local tables. Watch always streams the
// local member's applied changes.
//
// Errors are translated only in status_mapping.h. Handlers run on gRPC's
// threads; everything they share is thread-safe (raft_loop, controller_state,
// broker_liveness, the stub cache).

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>

#include <grpcpp/grpcpp.h>

#include "common/metrics.h"
#include "controller/server/controller_state.h"
#include "controller/server/raft_loop.h"
#include "controller/service/broker_liveness.h"
#include "fjord/controller/v1/controller_service.grpc.pb.h"

namespace fjord::service {

namespace v1 = fjord::controller::v1;

struct service_options {
    /// How long a write waits for its entry to apply before TIMEOUT.
    std::chrono::milliseconds write_timeout{10000};
    /// How long a linearizable read waits for its read index.
    std::chrono::milliseconds read_timeout{5000};
    std::chrono::milliseconds broker_session_timeout{9000};
    /// For TransferLeadership / AddMember waits: an election timeout.
    std::chrono::milliseconds election_timeout{1000};
};

class controller_service final : public v1::ControllerService::Service {
  public:
    controller_service(service_options o, server::raft_loop& loop, server::controller_state& state,
                       broker_liveness& liveness, metrics::registry& metrics);

    /// Ends Watch streams and refuses new calls (shutdown).
    void stop() { _stopping = true; }

    grpc::Status CreateTopics(grpc::ServerContext* ctx, const v1::CreateTopicsRequest* req,
                              v1::CreateTopicsResponse* resp) override;
    grpc::Status DeleteTopics(grpc::ServerContext* ctx, const v1::DeleteTopicsRequest* req,
                              v1::DeleteTopicsResponse* resp) override;
    grpc::Status ListTopics(grpc::ServerContext* ctx, const v1::ListTopicsRequest* req,
                            v1::ListTopicsResponse* resp) override;
    grpc::Status AlterTopicConfigs(grpc::ServerContext* ctx,
                                   const v1::AlterTopicConfigsRequest* req,
                                   v1::AlterTopicConfigsResponse* resp) override;
    grpc::Status CreatePartitions(grpc::ServerContext* ctx, const v1::CreatePartitionsRequest* req,
                                  v1::CreatePartitionsResponse* resp) override;
    grpc::Status GetClusterConfig(grpc::ServerContext* ctx, const v1::GetClusterConfigRequest* req,
                                  v1::GetClusterConfigResponse* resp) override;
    grpc::Status SetClusterConfig(grpc::ServerContext* ctx, const v1::SetClusterConfigRequest* req,
                                  v1::SetClusterConfigResponse* resp) override;
    grpc::Status RegisterBroker(grpc::ServerContext* ctx, const v1::RegisterBrokerRequest* req,
                                v1::RegisterBrokerResponse* resp) override;
    grpc::Status Heartbeat(grpc::ServerContext* ctx, const v1::HeartbeatRequest* req,
                           v1::HeartbeatResponse* resp) override;
    grpc::Status ListBrokers(grpc::ServerContext* ctx, const v1::ListBrokersRequest* req,
                             v1::ListBrokersResponse* resp) override;
    grpc::Status SetBrokerState(grpc::ServerContext* ctx, const v1::SetBrokerStateRequest* req,
                                v1::SetBrokerStateResponse* resp) override;
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

  private:
    using stub = v1::ControllerService::Stub;
    template <typename Req, typename Resp>
    using stub_method = grpc::Status (stub::*)(grpc::ClientContext*, const Req&, Resp*);

    /// If this member is not the leader: forwards the call and returns its
    /// status; otherwise nullopt (serve locally).
    template <typename Req, typename Resp>
    std::optional<grpc::Status> forward_if_follower(grpc::ServerContext* ctx, const Req& req,
                                                    Resp* resp, stub_method<Req, Resp> method,
                                                    const char* name);
    grpc::Status not_leader(grpc::ServerContext* ctx);
    /// ReadIndex unless stale: afterwards the local tables are linearizable.
    result<void> linearize(const v1::ReadOptions& read);
    /// The shape of every batch write: per item, build the command against
    /// the tables (`build(stm, i)` -> result<ControllerCommand>) or record the
    /// item's error in `out(i)`; then propose all and record each outcome.
    template <typename Build, typename Out>
    void run_batch(size_t n, const char* list, bool validate_only, Build build, Out out,
                   bool scalar_items = false);
    /// Proposes every command (in order) and waits for each to apply.
    std::vector<result<void>> propose_all(const std::vector<std::optional<std::string>>& cmds);
    result<void> propose_one(const v1::ControllerCommand& cmd);
    uint64_t revision() const;
    std::string principal(grpc::ServerContext* ctx) const;
    void count(const char* method, const grpc::Status& s);
    grpc::Status finish(const char* method, grpc::Status s) {
        count(method, s);
        return s;
    }

    service_options _o;
    server::raft_loop& _loop;
    server::controller_state& _state;
    broker_liveness& _liveness;
    metrics::family<metrics::counter>& _requests;
    std::atomic<bool> _stopping{false};
    std::mutex _stubs_mu;
    std::map<std::string, std::unique_ptr<stub>> _stubs;
};

}  // namespace fjord::service
