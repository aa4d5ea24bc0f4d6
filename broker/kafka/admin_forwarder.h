#pragma once
// File: broker/kafka/admin_forwarder.h
//
// What the Kafka admin APIs share: they are served by forwarding them to
// Fjord's controller, which owns topics and their configs; the broker
// decides nothing (it shapes requests, refuses what Kafka refuses before any
// validation, and translates the controller's per-item results with
// errors.h, handlers/admin_items.h). One handler per API in handlers/:
//
//   CreateTopics 0-7        → controller CreateTopics
//   DeleteTopics 0-6        → controller DeleteTopics (v6: by name or id)
//   CreatePartitions 0-3    → controller CreatePartitions
//   AlterConfigs 0-2        → controller AlterTopicConfigs (TOPIC resources)
//   IncrementalAlterConfigs 0-1 → the same (SET, DELETE, APPEND, SUBTRACT)
//   DescribeConfigs 0-4     from the metadata cache (admin_configs.h)
//   DescribeCluster 0-1     from the metadata cache
//   Metadata's auto-creation of unknown topics (auto_create_topic()). A
//   Produce naming an unknown topic does not trigger it: clients ask
//   Metadata first, and get UNKNOWN_TOPIC_OR_PARTITION from Produce.
//
// Threads: the handlers, on_close() and auto_create_topic() run on the io thread,
// which owns the metadata cache. A controller call completes on a gRPC
// thread, which only posts its result back to the io thread (`post`); the
// response is built there and sent through `reply`. Nothing here locks.
//
//   client ─CreateTopics─▶ handler (io) ─▶ controller_client ─gRPC─▶ controller
//                                                  │ done (gRPC thread)
//        reply ◀─ wait until the cache has ◀─ post ┘
//                 applied the change (io)
//
// Read-your-writes: after a change, Kafka clients ask Metadata (or
// DescribeConfigs) at once and expect to see it, but the cache follows the
// controller's Watch stream with a lag. So a successful change is answered
// only once the cache has applied the revision the controller returned, or
// when the request's deadline passes (answered as done anyway: the change
// is committed; only this broker's view lags, and it is logged).
//
// Deadlines: CreateTopics, DeleteTopics and CreatePartitions use the
// request's timeout_ms (capped at max_timeout) for the controller call and
// the wait together; timeout_ms <= 0 means "do not wait for the change to
// propagate" (Kafka's meaning): the call gets default_timeout and the
// answer comes as soon as the controller's does. Config changes, which
// carry no timeout, use default_timeout.
//
// The controller unreachable, or its deadline passed: NOT_CONTROLLER or
// REQUEST_TIMED_OUT per item (errors.h, kafka_error_for_controller_call),
// both retriable for Kafka's admin clients; kafka-python refreshes its
// controller and retries once on NOT_CONTROLLER.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "broker/cluster/metadata_cache.h"
#include "broker/kafka/admin_configs.h"
#include "broker/kafka/handlers/admin_items.h"
#include "broker/kafka/request_context.h"
#include "common/controller_client/client.h"

namespace fjord::broker {

struct admin_options {
    int32_t node_id = 0;  ///< this broker (DescribeCluster's controller id, BROKER resources)
    /// This broker's settings as DescribeConfigs reports them (broker_settings()).
    std::vector<broker_setting> settings;
    std::chrono::milliseconds default_timeout{30000};
    std::chrono::milliseconds max_timeout{300000};
    /// How often a waiting answer looks at the cache's applied revision.
    std::chrono::milliseconds poll_interval{5};
    /// Auto-creation: the controller call's deadline, and how long a refused
    /// creation is answered with the refusal before it is asked again.
    std::chrono::milliseconds auto_create_timeout{10000};
    std::chrono::milliseconds auto_create_retry{1000};
};

class admin_forwarder {
  public:
    using clock = std::chrono::steady_clock;
    /// Runs `fn` on the io thread after `delay`; callable from any thread.
    using post_fn = std::function<void(std::chrono::milliseconds, std::function<void()>)>;

    /// `md` and `controller` outlive this; `post` must not run `fn` inline.
    admin_forwarder(admin_options o, metadata_cache& md, controller_client::client& controller,
                    post_fn post);
    admin_forwarder(const admin_forwarder&) = delete;
    admin_forwarder& operator=(const admin_forwarder&) = delete;

    const admin_options& options() const { return _o; }
    controller_client::client& controller() { return _controller; }

    /// One request between its handler and its reply.
    struct pending {
        request_context ctx;
        clock::time_point deadline;
        bool wait = true;  ///< answer only once the cache has applied the change
    };
    std::shared_ptr<pending> make_pending(const request_context& ctx,
                                          std::chrono::milliseconds timeout, bool wait) const;
    /// The call's timeout for a request's timeout_ms, and whether to wait
    /// for the cache (see "Deadlines" above).
    std::pair<std::chrono::milliseconds, bool> timeout_of(int32_t timeout_ms) const;

    /// A controller call's `done` that runs `fn` on the io thread (unless
    /// stopped by then).
    template <typename Resp>
    controller_client::client::done_fn<Resp> on_io(std::function<void(result<Resp>)> fn) {
        return [this, fn = std::move(fn)](result<Resp> r) {
            auto shared = std::make_shared<result<Resp>>(std::move(r));
            _post(std::chrono::milliseconds(0), [this, fn, shared] {
                if (!_stopped) {
                    fn(std::move(*shared));
                }
            });
        };
    }
    /// Sends `resp` to the request of `p`.
    template <typename Resp>
    static std::function<void()> sender(const std::shared_ptr<pending>& p,
                                        std::shared_ptr<Resp> resp) {
        return [p, resp] { p->ctx.respond(*resp); };
    }
    /// Logs an item's outcome: "<API> from <client>: <item>: done|error".
    static void log_outcome(const pending& p, const std::string& item, const outcome& o);

    /// Sends `send` once the cache has applied `revision` (0: at once), the
    /// deadline passed, or the connection closed (then nothing is sent).
    void answer_after(uint64_t revision, std::shared_ptr<pending> p, std::function<void()> send);

    /// Metadata named `topic`, which the cache does not hold, and allows
    /// auto-creation (v4+: allow_auto_topic_creation; always below v4).
    /// Returns the error code to answer for it: UNKNOWN_TOPIC_OR_PARTITION
    /// when the cluster's auto_create_topics_enabled is false;
    /// INVALID_TOPIC_EXCEPTION for a name Kafka refuses; else
    /// LEADER_NOT_AVAILABLE while the controller creates it with the
    /// cluster's defaults (one call per topic at a time), or the controller's
    /// refusal for auto_create_retry after it refused. io thread.
    int16_t auto_create_topic(const std::string& topic);
    /// The cluster's auto_create_topics_enabled (its default when unset).
    bool auto_create_enabled() const;

    /// The connection is gone: its waiting answers are dropped.
    void on_close(const session& s);
    /// After the listener has stopped: answers nothing more (the io thread
    /// is gone, so its posted work never runs) and drops waiting answers.
    void stop();

  private:
    void poll_waiters();

    struct waiter {
        uint64_t revision = 0;
        std::shared_ptr<pending> p;
        std::function<void()> send;
    };
    struct auto_create_state {
        bool in_flight = false;
        int16_t refused = 0;  ///< the last refusal's code (0: none)
        clock::time_point retry_after;
    };

    admin_options _o;
    metadata_cache& _md;
    controller_client::client& _controller;
    post_fn _post;
    std::vector<waiter> _waiters;
    bool _polling = false;
    bool _stopped = false;
    std::map<std::string, auto_create_state> _auto;
};

}  // namespace fjord::broker
