#pragma once
// File: broker/cluster/controller_link.h
//
// The broker's side of the controller API: it registers the broker,
// heartbeats with the revision the broker has applied, and follows Watch.
// Two threads of its own (registration/heartbeats, and the Watch stream);
// every call goes to one of the configured controllers, rotating on
// failure (followers forward writes to the leader).
//
//   register ──▶ heartbeat every session_timeout/3 ──UNKNOWN_BROKER──▶ register
//   Watch(from = applied revision) ──events──▶ on_event (the caller applies
//        them, e.g. on its io thread, and then calls set_applied_revision)
//   stream broken ──▶ back off ──▶ Watch again from the applied revision
//
// stop() cancels the calls in flight and joins both threads.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fjord/controller/v1/controller_service.grpc.pb.h"

namespace fjord::broker {

namespace v1 = fjord::controller::v1;

struct controller_link_options {
    std::vector<std::string> controllers;  ///< host:port of controller APIs
    v1::Broker broker;                     ///< id, incarnation, endpoints, rack, version
    std::chrono::milliseconds retry_backoff{200};
    std::chrono::milliseconds max_backoff{2000};
};

class controller_link {
  public:
    using event_fn = std::function<void(v1::WatchEvent)>;

    controller_link(controller_link_options o, event_fn on_event);
    ~controller_link();
    controller_link(const controller_link&) = delete;
    controller_link& operator=(const controller_link&) = delete;

    void start();
    void stop();

    /// The revision the broker has fully applied (reported in heartbeats,
    /// and where a new Watch resumes).
    void set_applied_revision(uint64_t r) { _applied = r; }
    /// Drops the Watch stream and starts over with a snapshot (after an
    /// event the caller could not apply).
    void resync();
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
    void set_error(std::string e);

    controller_link_options _o;
    event_fn _on_event;
    std::vector<std::unique_ptr<stub>> _stubs;
    std::atomic<uint64_t> _applied{0};
    std::atomic<bool> _registered{false};
    std::atomic<bool> _stopping{false};
    mutable std::mutex _mu;
    std::condition_variable _cv;
    std::string _last_error;
    std::shared_ptr<grpc::ClientContext> _watch_ctx;
    std::shared_ptr<grpc::ClientContext> _call_ctx;
    std::thread _heartbeats;
    std::thread _watch;
};

}  // namespace fjord::broker
