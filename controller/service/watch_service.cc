// File: controller/service/watch_service.cc
//
// Watch: a snapshot (from revision 0, or when the changes asked for are no
// longer retained), then every applied change, in order, grouped by
// revision; only from a member that has proven it is current.

#include <algorithm>
#include <thread>

#include "controller/service/adapter.h"

namespace fjord::service {

using clock = std::chrono::steady_clock;

namespace {

/// Whether `d` may change who may watch: users, ACLs, roles, and the two
/// config keys that decide authentication and superusers.
bool changes_access(const v1::Delta& d) {
    switch (d.change_case()) {
        case v1::Delta::kUserUpserted:
        case v1::Delta::kUserDeleted:
        case v1::Delta::kAclCreated:
        case v1::Delta::kAclDeleted:
        case v1::Delta::kRoleUpserted:
        case v1::Delta::kRoleDeleted:
            return true;
        case v1::Delta::kConfigSet:
            return d.config_set().key() == "admin_api_require_auth" ||
                   d.config_set().key() == "superusers";
        case v1::Delta::kConfigRemoved:
            return d.config_removed() == "admin_api_require_auth" ||
                   d.config_removed() == "superusers";
        default:
            return false;
    }
}

}  // namespace

grpc::Status controller_service::Watch(grpc::ServerContext* ctx, const v1::WatchRequest* req,
                                       grpc::ServerWriter<v1::WatchEvent>* writer) {
    const auto cancelled = [&] { return _core.stopping() || ctx->IsCancelled(); };
    // A watcher acts on what it is sent (a broker creates and deletes data
    // on it), so the stream starts only from a member that has proven it
    // is current: a ReadIndex, as for a linearizable read. A member that is
    // partitioned, behind or without a leader fails the call, with the
    // leader hint, and the watcher tries another. One that has just started
    // or lost its leader learns of one within an election timeout: that is
    // waited for (up to the read timeout), not turned into a failure.
    if (_core.stopping()) {
        return finish("Watch", {grpc::StatusCode::UNAVAILABLE, "controller shutting down"});
    }
    // The stream carries users' SCRAM credentials (brokers verify logins
    // with them): while authentication is on, only superusers and holders of
    // CLUSTER_ACTION on the cluster (brokers' users) may watch.
    if (auto deny = check_access(ctx, {on_cluster(security::acl_operation::cluster_action)})) {
        return finish("Watch", *deny);
    }
    const auto barrier_deadline = clock::now() + _core.opts().read_timeout;
    auto r = _core.linearize(v1::ReadOptions{});
    while (!r && to_error_code(r.error().code) == v1::NOT_LEADER &&
           clock::now() + std::chrono::milliseconds(20) < barrier_deadline && !cancelled()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        r = _core.linearize(v1::ReadOptions{});
    }
    if (!r) {
        const grpc::Status hint = not_leader(ctx);  // adds the leader's id and address
        if (to_error_code(r.error().code) == v1::NOT_LEADER) {
            return finish("Watch", hint);
        }
        return finish(
            "Watch",
            {grpc::StatusCode::UNAVAILABLE,
             fmt::format("this member cannot confirm that its state is current ({}); {}",
                         r.error().detail.empty() ? r.error().code.message() : r.error().detail,
                         hint.error_message())});
    }
    revision_id last{req->from_revision()};
    auto send_snapshot = [&]() {
        // Serialized under the read lock (no copy of the tables), parsed
        // outside it: the raft loop's applies wait for that lock, and at a
        // million partitions a copy held it long enough to cost the leader
        // its lease.
        const std::string bytes =
            _core.state().read([&](const stm::controller_stm& s) { return s.snapshot(); });
        v1::WatchEvent ev;
        if (!ev.mutable_snapshot()->ParseFromString(bytes)) {
            return false;
        }
        last = revision_id{ev.snapshot().revision()};
        ev.set_revision_complete(true);
        return writer->Write(ev);
    };
    if (last == revision_id{0}) {
        if (!send_snapshot()) {
            return finish("Watch", grpc::Status::OK);
        }
    }
    // A member that loses its leader (partitioned, or the group has no
    // quorum) stops learning commits, and a watcher kept on it would stay
    // behind for as long as the partition lasts: after an election timeout
    // without a leader the stream ends, and the watcher goes to a member
    // that can prove it is current (the barrier above).
    std::optional<clock::time_point> leaderless_since;
    while (!cancelled()) {
        if (_core.loop().leader() != no_node) {
            leaderless_since.reset();
        } else if (!leaderless_since) {
            leaderless_since = clock::now();
        } else if (clock::now() - *leaderless_since >= _core.opts().election_timeout) {
            return finish("Watch", {grpc::StatusCode::UNAVAILABLE,
                                    "this member has lost its leader; its state may be behind"});
        }
        auto deltas =
            _core.state().read([&](const stm::controller_stm& s) { return s.changes_after(last); });
        if (!deltas) {
            // The changes after `last` are no longer retained: start over.
            if (!send_snapshot()) {
                break;
            }
            continue;
        }
        // Rights can change under an open stream (a revoked ACL, a deleted
        // user, authentication turned on): checked again before any change
        // to them is sent, so a watcher that lost the right to the
        // credentials stops receiving them.
        if (std::any_of(deltas->begin(), deltas->end(), changes_access)) {
            if (auto deny =
                    check_access(ctx, {on_cluster(security::acl_operation::cluster_action)})) {
                return finish("Watch", *deny);
            }
        }
        for (size_t i = 0; i < deltas->size(); ++i) {
            v1::WatchEvent ev;
            last = revision_id{(*deltas)[i].revision()};
            ev.set_revision_complete(i + 1 == deltas->size() ||
                                     (*deltas)[i + 1].revision() != (*deltas)[i].revision());
            *ev.mutable_delta() = std::move((*deltas)[i]);
            if (!writer->Write(ev)) {
                return finish("Watch", grpc::Status::OK);
            }
        }
        _core.state().wait_for_revision(last, clock::now() + std::chrono::seconds(1), cancelled);
    }
    return finish("Watch", _core.stopping() ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                           "controller shutting down")
                                            : grpc::Status::OK);
}

}  // namespace fjord::service
