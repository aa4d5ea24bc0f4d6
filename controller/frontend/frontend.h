#pragma once
// File: controller/frontend/frontend.h
//
// The controller's frontend: what a request does once it has reached the
// member that serves it, with no gRPC in sight.
//
//   write:  validate (request shape, session) ──▶ build the command against
//           the tables (controller/stm/commands.h) ──▶ propose (loop_port)
//           ──▶ wait until applied ──▶ one result per item
//   read:   ReadIndex unless stale ──▶ the local tables
//
// This file holds what every domain shares (`core`: the loop, the state, the
// proposal and batch machinery, sessions); the domains are topics.h,
// brokers.h, cluster_config.h, members.h, security.h, migrations.h and
// shadow_links.h. Leader forwarding and the API's
// encoding are the service's (controller/service).
//
// Errors are values. A function answers either a whole-call error (the
// request is malformed, the member cannot serve it) or per-item outcomes;
// item errors carry their field relative to the item (error_info::field),
// and the service adds the item's position. Writes complete through a
// callback, called once: at once for a refusal, else from the proposals'
// completion on the loop's completion thread (it must not block); the
// request passed in must stay valid until then.

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/cluster/errc.h"
#include "common/objstore/object_store.h"
#include "common/result.h"
#include "controller/frontend/broker_liveness.h"
#include "controller/frontend/shadow_reports.h"
#include "controller/loop/controller_state.h"
#include "controller/loop/loop_port.h"
#include "controller/stm/commands.h"
#include "fjord/controller/v1/commands.pb.h"
#include "fjord/controller/v1/controller_service.pb.h"

namespace fjord::frontend {

namespace v1 = fjord::controller::v1;
using stm::command_meta;
using clock = std::chrono::steady_clock;

struct options {
    /// How long a write waits for its entry to apply before TIMEOUT.
    std::chrono::milliseconds write_timeout{10000};
    /// How long a linearizable read waits for its read index.
    std::chrono::milliseconds read_timeout{5000};
    std::chrono::milliseconds broker_session_timeout{9000};
    /// For TransferLeadership / AddMember waits: an election timeout.
    std::chrono::milliseconds election_timeout{1000};
    /// This member's FIPS mode (controller.yaml fips_mode, common/tls/fips.h),
    /// reported by Status.
    v1::FipsMode fips_mode = v1::FIPS_MODE_DISABLED;
    /// In FIPS mode (tls::fips_min_password_length; 0 otherwise): shorter
    /// passwords are refused on CreateUser/UpdateUser, and so are given
    /// credentials whose salt is under security::fips_min_salt_length.
    size_t min_password_length = 0;
    /// The FIPS modes other members announced on their Raft streams to this
    /// member (controller/transport), by member id; Status reports them.
    /// Empty: none known.
    std::function<std::map<uint64_t, v1::FipsMode>()> peer_fips_modes;
    /// The object store the cluster config names (mountable topics: mount
    /// checks, ListMountableTopics); the composition root's
    /// controller/migration/store_cache.h. Unset: none (errors say so).
    std::function<result<std::shared_ptr<objstore::object_store>>()> object_store;
    /// Called after a migration was created or cancelled (wakes the driver).
    std::function<void()> migrations_changed;
    /// Shadow links (docs/shadow-links.md): the preflight CreateShadowLink
    /// runs before it proposes (and alone with validate_only): the source
    /// reachable, its API versions sufficient, its cluster id the configured
    /// one; errors shadow_link_unreachable / shadow_link_unsupported_api
    /// naming the field. The composition root's controller/shadow/source.h
    /// `preflight`. Unset: none (nothing is checked beyond the config). It
    /// blocks: called on a sync handler's thread.
    std::function<result<void>(const v1::ShadowLink&)> shadow_preflight;
    /// Called after a link was created, updated, deleted or failed over
    /// (wakes the shadow driver). Unset: nothing.
    std::function<void()> shadow_links_changed;
};

template <typename T>
using then_fn = std::function<void(T)>;

/// A batch write's answer: one outcome per request item, in order, and the
/// revision that holds every change made.
struct batch_outcome {
    std::vector<result<void>> items;
    uint64_t revision = 0;
};

/// Waits for `f` until `deadline`; a broken promise (shutdown) or a timeout
/// becomes an error value.
template <typename T>
result<T> await(std::future<result<T>>& f, clock::time_point deadline) {
    if (f.wait_until(deadline) != std::future_status::ready) {
        return error_info(cluster::errc::timeout, "not applied in time; the outcome is unknown");
    }
    try {
        return f.get();
    } catch (const std::future_error&) {
        return error_info(std::make_error_code(std::errc::operation_canceled),
                          "controller shutting down");
    }
}

/// The wall clock in ms since the epoch (command_meta::time_ms).
int64_t now_ms();

/// The command-level session of item `item` of a request, if it has one.
std::optional<v1::CommandSession> command_session(const v1::Session& s, size_t item);
/// The id a proposal of item `item` carries (ControllerCommand.request_id):
/// for a session the same on every retry, so that a retry answered from the
/// session still finds what its first attempt changed (changes_of); without
/// a session a fresh one.
std::string request_id(const v1::Session& s, size_t item);
/// A request's session must be well formed before anything is proposed.
result<void> check_session(const v1::Session& s);
/// The RecordRefusal command to propose for item `item`'s `refusal` (made
/// on linearizable tables) when the request is a retry (Session.retry);
/// nullopt when the refusal can be answered at once.
std::optional<std::string> refusal_to_record(const v1::Session& session, size_t item,
                                             const result<void>& refusal,
                                             const stm::command_meta& meta);

/// What every domain shares. Thread-safe (its parts are).
class core {
  public:
    core(options o, loop::loop_port& loop, loop::controller_state& state, broker_liveness& liveness)
        : _o(o), _loop(loop), _state(state), _liveness(liveness) {}

    const options& opts() const { return _o; }
    loop::loop_port& loop() { return _loop; }
    const loop::controller_state& state() const { return _state; }
    broker_liveness& liveness() { return _liveness; }
    /// The brokers' shadow-link reports and the driver's task statuses
    /// (leader-only, volatile): GetShadowLinkStatus reads them.
    shadow_reports& shadow() { return _shadow; }
    const shadow_reports& shadow() const { return _shadow; }

    /// Shutting down: long waits (AddMember, Watch) end and new calls are
    /// refused.
    void stop() { _stopping = true; }
    bool stopping() const { return _stopping.load(); }

    /// ReadIndex unless `read.stale`: afterwards the local tables are
    /// linearizable.
    result<void> linearize(const v1::ReadOptions& read);
    /// The stm's revision (last change of anything).
    uint64_t revision() const;

    /// Builds item i's command against the tables, or refuses it. A command
    /// with no case set (v1::ControllerCommand{}) means there is nothing to
    /// do: the item succeeds without a proposal (see nothing_to_do).
    using build_fn =
        std::function<result<v1::ControllerCommand>(const stm::controller_stm&, size_t)>;
    /// A builder's "nothing to do" (an empty optional) as build_fn says it.
    static result<v1::ControllerCommand> nothing_to_do(
        result<std::optional<v1::ControllerCommand>> r) {
        if (!r) {
            return r.error();
        }
        return r->has_value() ? std::move(**r) : v1::ControllerCommand{};
    }
    /// The shape of every batch write: per item, build the command against
    /// the tables or record the item's refusal; then propose all and record
    /// each outcome. With a session (client_id set), each item is first
    /// looked up in the session table and, if it is a retry, answered from
    /// there. With `validate_only` nothing is proposed. `then` gets one
    /// outcome per item.
    void run_batch(size_t n, bool validate_only, const v1::Session& session,
                   const stm::command_meta& meta, build_fn build,
                   then_fn<std::vector<result<void>>> then);
    /// Proposes one command; `then` gets its outcome.
    void propose_one(const v1::ControllerCommand& cmd, then_fn<result<void>> then);
    /// Proposes a serialized command (refusal_to_record's); `then` gets its
    /// outcome.
    void propose_record(std::string cmd, then_fn<result<void>> then);

  private:
    /// Proposes every command (in order); `then` gets each outcome once all
    /// have resolved (at once if there is nothing to propose).
    void propose_all(std::vector<std::optional<std::string>> cmds,
                     then_fn<std::vector<result<void>>> then);

    options _o;
    loop::loop_port& _loop;
    loop::controller_state& _state;
    broker_liveness& _liveness;
    shadow_reports _shadow{_o.broker_session_timeout};
    std::atomic<bool> _stopping{false};
};

}  // namespace fjord::frontend
