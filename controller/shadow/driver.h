#pragma once
// File: controller/shadow/driver.h
//
// The shadow-link driver: on the controller leader only, on a thread of its
// own (never the Raft loop), it runs each link's controller-side tasks
// (rpk-reference §10.4, docs/shadow-links.md) on their intervals and
// finishes failovers:
//
//   per link, every pass:
//     failover completion   FAILING_OVER -> FAILED_OVER once every live
//                           broker applied the FAILING_OVER revision
//   per link, when due (cluster::shadow::effective_interval_ms), unless
//   the task or the link is paused:
//     "Source Topic Sync"   source Metadata + DescribeConfigs -> create
//                           shadow topics, follow partition increases and
//                           synced properties, fault topics gone at the source
//     "Security Migrator"   source DescribeAcls per acl_filter -> SyncShadowAcls
//
//   pass: read barrier -> links (copied) -> per link: connect (source.h),
//         ask, then plan (plan.h) under the read lock, then propose each
//         command outside it, and publish the tasks' states
//
// Stateless but for timers and the last task states it published: every
// decision is re-derived from the replicated state and the source, so a new
// leader (or a restarted one) just runs. A new link, or a link whose config
// changed, has its tasks due at once. Commands name the link's uuid and
// the state they expect, so a stale leader's proposal applies once or is
// refused. A source that cannot be reached makes the link's due tasks
// LINK_UNAVAILABLE (the connection error as the reason) and they retry
// after retry_backoff_ms, doubling up to the task's interval. Other failures
// (an API the source refuses, TLS material that does not load) are FAULTED
// with the reason, retried the same way. The Consumer Group Shadowing task
// runs on the brokers (broker/shadow), not here.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "controller/shadow/plan.h"
#include "controller/shadow/source.h"
#include "controller/stm/commands.h"
#include "controller/stm/controller_stm.h"
#include "fjord/controller/v1/commands.pb.h"
#include "fjord/controller/v1/controller_service.pb.h"

namespace fjord::shadow {

/// The tasks' names as rpk prints them.
inline constexpr std::string_view topic_sync_task = "Source Topic Sync";
inline constexpr std::string_view security_task = "Security Migrator";

/// What the driver needs of the controller. The server implements it over
/// the Raft loop, controller_state, the frontend's liveness and the status
/// reports; tests over a bare controller_stm and a fake source.
class driver_host {
  public:
    virtual ~driver_host() = default;
    /// Runs `fn` with read access to the applied state (a shared lock that
    /// excludes apply: no I/O inside).
    virtual void read(const std::function<void(const stm::controller_stm&)>& fn) = 0;
    /// The shadow links of the applied state, copied (ClusterState.
    /// shadow_links: with their passwords, which the source needs).
    virtual std::vector<v1::ShadowLink> links() = 0;
    /// Proposes `cmd` and waits until it applied: its outcome, or why it did
    /// not (not the leader, outcome unknown, timeout).
    virtual result<void> propose(const v1::ControllerCommand& cmd) = 0;
    /// Whether this member leads (may be stale; linearize() confirms).
    virtual bool is_leader() = 0;
    /// A read barrier: afterwards the state holds every committed change.
    virtual result<void> linearize() = 0;
    /// Wall-clock ms (the commands' time).
    virtual int64_t now_ms() = 0;
    /// A fresh topic uuid.
    virtual std::string new_uuid() = 0;
    /// The leader's liveness view of broker `id` running `incarnation`.
    virtual broker_view liveness(int32_t id, const std::string& incarnation) = 0;
    /// A connection to `link`'s source (source.h connect()).
    virtual result<std::unique_ptr<source_client>> connect(const v1::ShadowLink& link) = 0;
    /// The link's controller-side task states, as of now; an empty list when
    /// the link is gone (GetShadowLinkStatus reads them).
    virtual void publish_tasks(const std::string& link,
                               std::vector<v1::ShadowTaskStatus> tasks) = 0;
};

struct driver_options {
    /// How often the thread looks for work (failovers to finish, tasks due)
    /// while nobody pokes it.
    std::chrono::milliseconds poll{500};
    /// The audit principal of the driver's commands.
    std::string principal = "controller";
};

class driver {
  public:
    driver(driver_host& host, driver_options o = {});
    ~driver();
    driver(const driver&) = delete;
    driver& operator=(const driver&) = delete;

    /// One pass over every link (see the file comment): failovers finished,
    /// due tasks run. Returns how many commands applied.
    size_t run_once();
    /// Makes every task due now (tests; a link's config changed).
    void make_due();

    /// The thread: passes while this member leads, until stop().
    void start();
    void stop();
    /// Look for work now (a link was created, updated, failed over).
    void poke();

  private:
    struct task_timer {
        std::chrono::steady_clock::time_point due{};
        std::chrono::milliseconds backoff{0};
        v1::ShadowTaskStatus status;
    };
    struct link_timers {
        std::string uuid;
        std::string config;  // the config the timers are for (serialized)
        task_timer topics;
        task_timer security;
        std::vector<v1::ShadowTaskStatus> published;
    };
    /// A pass's connection to one link's source, opened when a task needs it.
    struct source_session;

    size_t finish_failovers(const v1::ShadowLink& link);
    /// Runs a due task; sets its status and next due time.
    size_t run_topic_sync(const v1::ShadowLink& link, source_session& src, task_timer& t);
    size_t run_security_sync(const v1::ShadowLink& link, source_session& src, task_timer& t);
    /// Proposes `p`'s commands in order; a refusal is noted (the state moved
    /// on: the next pass plans again); a proposal that did not apply (not
    /// the leader, timeout) stops the rest. Returns how many applied, and
    /// whether all were tried.
    std::pair<size_t, bool> propose_all(plan& p);
    /// The task failed: LINK_UNAVAILABLE for an unreachable source, else
    /// FAULTED, with the reason; retried after the backoff.
    size_t fail(const v1::ShadowLink& link, std::string_view task, task_timer& t,
                const error_info& e);
    /// The task ran: ACTIVE, its notes as the reason; due again after its
    /// interval, or after the backoff when not every change was tried.
    void succeed(const v1::ShadowLink& link, std::string_view task, task_timer& t,
                 const std::vector<std::string>& notes, bool complete);
    void retry_later(const v1::ShadowLink& link, std::string_view task, task_timer& t);
    static int64_t interval_of(const v1::ShadowLink& link, std::string_view task);
    stm::command_meta meta();
    void loop();

    driver_host& _host;
    const driver_options _o;
    std::map<std::string, link_timers> _links;  // by link name; the only state

    std::mutex _mu;
    std::condition_variable _cv;
    bool _stopping = false;
    bool _poked = false;
    bool _due_all = false;  // make_due()/poke(): every task due at the next pass
    std::thread _thread;
};

}  // namespace fjord::shadow
