#pragma once
// File: controller/migration/driver.h
//
// The migration driver: on the controller leader only, on a thread of its
// own (never the Raft loop), it moves every active migration of mountable
// topics (docs/tiered-storage.md, rpk-reference §11) through its states by
// proposing the controller's commands (controller/stm/commands.h), once what
// a step waits for holds in the object store:
//
//   unmount (outbound)
//     planned    -> preparing   at once
//     preparing  -> prepared    every partition manifest of every topic exists
//     prepared   -> executing   at once (brokers now refuse the topic's clients
//                               and seal each partition: final upload, final marker)
//     executing  -> executed    every partition manifest has final.migration_id == id
//     executed   -> cut_over    after the topic mount manifest is written
//                               (configs, replication factor, next_offsets from
//                               the final markers); apply removes the topics
//     cut_over   -> finished    at once
//     canceling  -> cancelled   after deleting a mount manifest this migration
//                               wrote (the topic is served again, unchanged)
//   mount (inbound)
//     planned    -> preparing   at once
//     preparing  -> prepared    the mount manifests read; apply creates the topics
//                               (placed here, start offsets from next_offsets)
//     prepared   -> executing   at once
//     executing  -> executed    every mount manifest still exists
//     executed   -> cut_over    at once
//     cut_over   -> finished    after deleting the mount manifests (the lock:
//                               no other cluster can mount them now)
//     canceling  -> cancelled   at once; apply removes the created topics, the
//                               bucket is untouched
//
// Every step is re-derived from the replicated state and the object store
// alone: the driver keeps nothing but retry timers, so a new leader (or a
// restarted one) just runs it and resumes wherever the migrations are. Store
// writes are idempotent (the same manifest again; deleting a missing one is
// fine) and a step's proposal names the state it leaves, so a step taken
// twice applies once. While a step waits, Migration.status says why (the
// store is down, partition N has not uploaded yet, the mount manifest is
// gone), and the step is retried with backoff (doubling up to max_backoff).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/objstore/object_store.h"
#include "common/result.h"
#include "controller/stm/commands.h"
#include "controller/stm/controller_stm.h"
#include "fjord/controller/v1/commands.pb.h"

namespace fjord::migration {

namespace v1 = fjord::controller::v1;

/// What the driver needs of the controller. The server implements it over
/// the Raft loop and controller_state; tests over a bare controller_stm.
class driver_host {
  public:
    virtual ~driver_host() = default;
    /// Runs `fn` with read access to the applied state (a shared lock that
    /// excludes apply: no I/O inside).
    virtual void read(const std::function<void(const stm::controller_stm&)>& fn) = 0;
    /// Proposes `cmd` and waits until it applied: its outcome, or why it did
    /// not (not the leader, outcome unknown, timeout).
    virtual result<void> propose(const v1::ControllerCommand& cmd) = 0;
    /// Whether this member leads (may be stale; linearize() confirms).
    virtual bool is_leader() = 0;
    /// A read barrier: afterwards the state holds every committed change.
    virtual result<void> linearize() = 0;
    /// The object store the cluster config names, or why there is none.
    virtual result<std::shared_ptr<objstore::object_store>> store() = 0;
    /// Wall-clock ms (the commands' time, the mount manifest's unmounted_ms).
    virtual int64_t now_ms() = 0;
    /// A fresh topic uuid (mounts create topics).
    virtual std::string new_uuid() = 0;
};

struct driver_options {
    std::chrono::milliseconds min_backoff{200};
    std::chrono::milliseconds max_backoff{5000};
    /// How often the thread looks for work while nothing is due.
    std::chrono::milliseconds poll{200};
    /// The audit principal of the driver's commands.
    std::string principal = "controller";
};

/// What one step did.
enum class step_result {
    advanced,  ///< a command applied (or the state moved on meanwhile): step again soon
    waiting,   ///< what the step needs does not hold yet; status says why
    idle,      ///< nothing to do (terminal, gone, not the leader)
};

struct step_outcome {
    step_result result = step_result::idle;
    std::string status;  ///< why it waits (waiting only)
};

class driver {
  public:
    driver(driver_host& host, driver_options o = {});
    ~driver();
    driver(const driver&) = delete;
    driver& operator=(const driver&) = delete;

    /// One step of migration `id` as described in the file comment (the
    /// status of a wait is proposed too). Runs on the caller's thread.
    step_outcome step(int64_t id);
    /// One pass over every active migration whose retry time has come:
    /// steps each until it waits or is done. Returns how many steps advanced.
    size_t run_once();

    /// The thread: passes while this member leads, until stop().
    void start();
    void stop();
    /// Look for work now (a migration was created or cancelled).
    void poke();

  private:
    step_outcome step_unmount(const v1::Migration& m);
    step_outcome step_mount(const v1::Migration& m);
    /// Proposes the command `build` makes against the state (nothing when it
    /// finds nothing to do); a refusal because the state moved on counts as
    /// advanced, any other failure as waiting with that status.
    step_outcome propose(const std::function<result<std::optional<v1::ControllerCommand>>(
                             const stm::controller_stm&)>& build);
    step_outcome advance(const v1::Migration& m, v1::MigrationState to);
    stm::command_meta meta();
    void set_status(const v1::Migration& m, const std::string& status);
    void loop();

    driver_host& _host;
    const driver_options _o;
    struct retry {
        std::chrono::steady_clock::time_point due;
        std::chrono::milliseconds backoff{0};
    };
    std::map<int64_t, retry> _retry;  // by migration id; the loop's only state

    std::mutex _mu;
    std::condition_variable _cv;
    bool _stopping = false;
    bool _poked = false;
    std::thread _thread;
};

}  // namespace fjord::migration
