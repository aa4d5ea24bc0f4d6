#pragma once
// File: broker/cluster/controller_client.h
//
// Asynchronous calls from the broker's request handlers to the controller
// group: the admin APIs forwarded to it, topic auto-creation, and the
// group coordinator's offsets topic. (Registration, heartbeats and Watch
// are controller_link's.)
//
// Contract:
// - Each call goes to one of the configured controllers (followers forward
//   writes to the leader). A call that fails with UNAVAILABLE is retried on
//   the next controller, each controller at most once, within the deadline.
// - Writes carry a client session (controller_service.proto, Session): one
//   random client id per client, requests numbered in call order, and the
//   lowest seq still awaited as first_outstanding. So a retry can never
//   apply twice, and a write is also retried on outcome unknown.
// - `done` runs exactly once, on a gRPC thread (never inside the call):
//   with the response, or with an error naming the controller and gRPC's
//   reason. Per-item results inside a response are the caller's to read.
// - stop() cancels the calls in flight, waits until their `done` has run,
//   and fails later calls at once; the destructor stops.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "fjord/controller/v1/controller_service.grpc.pb.h"

namespace fjord::broker {

namespace v1 = fjord::controller::v1;

class controller_client {
  public:
    template <typename Resp>
    using done_fn = std::function<void(result<Resp>)>;

    explicit controller_client(std::vector<std::string> controllers);
    ~controller_client();
    controller_client(const controller_client&) = delete;
    controller_client& operator=(const controller_client&) = delete;

    void create_topics(v1::CreateTopicsRequest req, std::chrono::milliseconds timeout,
                       done_fn<v1::CreateTopicsResponse> done);
    void delete_topics(v1::DeleteTopicsRequest req, std::chrono::milliseconds timeout,
                       done_fn<v1::DeleteTopicsResponse> done);
    void create_partitions(v1::CreatePartitionsRequest req, std::chrono::milliseconds timeout,
                           done_fn<v1::CreatePartitionsResponse> done);
    void alter_topic_configs(v1::AlterTopicConfigsRequest req, std::chrono::milliseconds timeout,
                             done_fn<v1::AlterTopicConfigsResponse> done);
    void get_cluster_config(v1::GetClusterConfigRequest req, std::chrono::milliseconds timeout,
                            done_fn<v1::GetClusterConfigResponse> done);
    void set_cluster_config(v1::SetClusterConfigRequest req, std::chrono::milliseconds timeout,
                            done_fn<v1::SetClusterConfigResponse> done);

    void stop();

    struct call_state;  // one call's context, request and response (the .cc's)

  private:
    using stub = v1::ControllerService::Stub;
    friend struct caller;

    std::vector<std::string> _addresses;
    std::vector<std::unique_ptr<stub>> _stubs;
    std::mutex _mu;
    std::condition_variable _idle;
    std::set<grpc::ClientContext*> _in_flight;  ///< attempts on the wire (to cancel)
    size_t _calls = 0;                          ///< calls whose `done` has not run yet
    bool _stopped = false;
    size_t _next = 0;                 ///< where the next call starts (the last one that answered)
    const std::string _client_id;     ///< this client's session
    uint64_t _last_seq = 0;           ///< the last seq handed out
    std::set<uint64_t> _outstanding;  ///< seqs of writes not yet answered
};

}  // namespace fjord::broker
