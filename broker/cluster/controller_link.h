#pragma once
// File: broker/cluster/controller_link.h
//
// The broker's side of the controller API: it registers the broker,
// heartbeats with the revision the broker has applied, and follows Watch.
// Two threads of its own (registration/heartbeats, and the Watch stream);
// every call goes to one of the configured controllers, rotating on
// failure (followers forward writes to the leader).
//
//   [cluster uuid known: Status ──other cluster──▶ refused, next controller]
//   register ──▶ heartbeat every session_timeout/3 ──UNKNOWN_BROKER──▶ register
//   Watch(from = applied revision) ──events──▶ on_event (the caller applies
//        them, e.g. on its io thread, and then calls set_applied_revision)
//   stream broken, or reconnect() ──▶ back off ──▶ the next controller,
//        Watch again from the applied revision
//
// The cluster check: a resumed Watch (from > 0) carries no cluster uuid,
// only deltas, so before each Watch (and each registration) the link asks
// the member's Status for its cluster uuid, and neither follows nor
// registers with a member of another cluster (a misconfigured
// `controllers` list). The snapshot is checked again by the caller
// (metadata_cache::require): that is what guards the data.
//
// Credentials: with `authorization` set (broker.yaml controller_credentials,
// as common/controller_client's basic_authorization() writes them), every
// call carries it as the gRPC metadata `authorization`, which a controller
// with admin_api_require_auth checks; Watch carries users' credentials and
// is restricted there.
//
// stop() cancels the calls in flight and joins both threads. leave(), once
// the broker has stopped serving, tells the controllers so (Kafka's
// controlled shutdown): a successor with the same node_id may register at
// once rather than after the session timeout.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <grpcpp/security/credentials.h>

#include "fjord/controller/v1/controller_service.grpc.pb.h"

namespace fjord::broker {

namespace v1 = fjord::controller::v1;

struct controller_link_options {
    std::vector<std::string> controllers;  ///< host:port of controller APIs
    v1::Broker broker;                     ///< id, incarnation, endpoints, rack, version
    std::chrono::milliseconds retry_backoff{200};
    std::chrono::milliseconds max_backoff{2000};
    /// The `authorization` metadata value ("Basic ..."); "" sends none.
    std::string authorization;
    /// The channels' transport security (broker.yaml controller_tls, from
    /// common/tls/grpc_tls.h, which follows reloaded certificates); null:
    /// plaintext.
    std::shared_ptr<grpc::ChannelCredentials> credentials;
};

/// Where a Watch event came from: one stream (numbered from 1, increasing)
/// of one controller.
struct watch_source {
    uint64_t stream = 0;
    std::string address;
};

class controller_link {
  public:
    using event_fn = std::function<void(v1::WatchEvent, const watch_source&)>;

    controller_link(controller_link_options o, event_fn on_event);
    ~controller_link();
    controller_link(const controller_link&) = delete;
    controller_link& operator=(const controller_link&) = delete;

    void start();
    void stop();
    /// After stop(), when the broker no longer serves clients or writes its
    /// data: a `leaving` heartbeat, to each controller in turn until one
    /// answers, within `budget`. Nothing when never registered. The outcome
    /// is logged (a controller that knows another incarnation by now answers
    /// UNKNOWN_BROKER, which frees nothing and is also fine).
    void leave(std::chrono::milliseconds budget);

    /// The revision the broker has fully applied (reported in heartbeats,
    /// and where a new Watch resumes). A new revision is reported at once,
    /// not at the next periodic heartbeat, so that `--wait` (which waits for
    /// every broker's report) returns when the change is enforced; reports
    /// coalesce while a heartbeat is in flight.
    void set_applied_revision(uint64_t r);
    /// Drops the Watch stream (after an event the caller refused or could
    /// not apply) and follows the next controller, from the applied revision
    /// (0: with a snapshot). Events of the dropped stream may still be in
    /// the caller's queue: it tells them by watch_source::stream.
    void reconnect();
    /// What every heartbeat reports besides the revision (the shadow
    /// fetchers' partitions and tasks, broker/shadow): called on the
    /// heartbeat thread before each heartbeat, so it must be thread-safe.
    /// Set before start().
    using report_fn = std::function<void(v1::HeartbeatRequest&)>;
    void set_heartbeat_report(report_fn fn) { _report = std::move(fn); }
    /// The cluster the broker's data belongs to: from then on, a controller
    /// whose Status names another cluster is not followed.
    void set_cluster_uuid(std::string uuid);
    bool registered() const { return _registered; }
    /// Registration's last error, for logs and start-up messages.
    std::string last_error() const;

  private:
    using stub = v1::ControllerService::Stub;
    stub& stub_at(size_t i);
    void heartbeat_loop();
    void watch_loop();
    /// Sleeps `d` unless stopping; false when stopping.
    bool pause(std::chrono::milliseconds d);
    /// pause(), ending early when a new applied revision wants reporting.
    bool pause_until_report(std::chrono::milliseconds d);
    void set_error(std::string e);
    /// Whether controller `target` belongs to the broker's cluster (true
    /// while none is known), asked with `ctx` (null: stopping, false); a
    /// refusal is logged as an error, once a minute per controller.
    bool same_cluster(size_t target, const std::shared_ptr<grpc::ClientContext>& ctx);
    /// A context for the Watch thread's next call, where stop() and
    /// reconnect() can cancel it; null once stopping.
    std::shared_ptr<grpc::ClientContext> watch_context();
    /// A fresh context with the credentials, if any.
    std::shared_ptr<grpc::ClientContext> new_context() const;

    controller_link_options _o;
    event_fn _on_event;
    report_fn _report;
    std::vector<std::unique_ptr<stub>> _stubs;
    std::atomic<uint64_t> _applied{0};
    std::atomic<bool> _registered{false};
    std::atomic<size_t> _answered{0};  ///< the controller that last answered a heartbeat
    std::atomic<bool> _stopping{false};
    mutable std::mutex _mu;
    std::condition_variable _cv;
    bool _report_now = false;  ///< under _mu: a revision applied since the last heartbeat
    std::string _last_error;
    std::string _cluster_uuid;
    /// The last refusal logged per controller, and when: repeated every
    /// minute, not at every retry.
    std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> _refusals;
    std::atomic<uint64_t> _streams{0};
    std::shared_ptr<grpc::ClientContext> _watch_ctx;
    std::shared_ptr<grpc::ClientContext> _call_ctx;
    std::thread _heartbeats;
    std::thread _watch;
};

}  // namespace fjord::broker
