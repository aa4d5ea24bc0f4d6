#pragma once
// File: common/controller_client/retry_rule.h
//
// The one rule for repeating a call to the controller group, shared by every
// caller through client.h (the CLI and the broker). It decides only what is
// SAFE to repeat; how long and how often (the budget) is the caller's
// (client::options). A repeat must never apply a change twice:
//   - reads change nothing, and session writes (every topic and
//     cluster-config write: they carry a Session, controller_service.proto,
//     and the controller answers a repeat with the first outcome) cannot
//     apply twice: both are repeated after any transient failure (not the
//     leader, unreachable, an attempt timed out, outcome unknown). A session
//     write whose answer has items without a definite result (NOT_LEADER,
//     OUTCOME_UNKNOWN, TIMEOUT) is sent again, whole, with the same seq;
//   - unsafe writes (membership and leadership changes, which have no
//     session) are repeated only when nothing can have been applied: the
//     controller said "not the leader" (or is shutting down), or no
//     connection could be made.
// Every other failure is final at once. A final failure after which some
// attempt of a write may have been applied is "outcome unknown".
// A refusal of the caller (UNAUTHENTICATED: missing or wrong credentials;
// PERMISSION_DENIED: the user lacks the ACL) is decided by the controller
// before it proposes anything, and another attempt with the same credentials
// gets the same answer: it is never repeated, for any kind of call, and
// never makes a write "outcome unknown".

#include <string>
#include <system_error>

#include <grpcpp/support/status.h>

#include "fjord/controller/v1/controller_service.pb.h"

namespace fjord::controller_client {

namespace v1 = fjord::controller::v1;

/// What a second copy of a call could do.
enum class call_kind {
    read,           ///< changes nothing
    session_write,  ///< carries a Session: a repeat is answered with the first outcome
    unsafe_write,   ///< no session: a repeat could apply the change twice
};

/// One attempt that failed, as the rule sees it.
struct failed_attempt {
    grpc::Status status;
    /// False when the attempt was never sent because no connection came up.
    bool connected = true;
};

/// UNAUTHENTICATED or PERMISSION_DENIED: the controller refused the caller
/// before proposing anything; final and definite.
bool refused(const grpc::Status& s);
/// Whether the attempt certainly applied nothing.
bool applied_nothing(const failed_attempt& a);
/// Whether the call may be sent again after this failure.
bool may_retry(call_kind k, const failed_attempt& a);
/// Whether this failed attempt of a write may have applied it.
bool may_have_applied(call_kind k, const failed_attempt& a);

/// An item result that is not a definite answer.
bool doubtful(const v1::ItemResult& r);

/// Whether an answer has items to send again (meaningful for session writes):
/// per-topic items (topics[i].result), per-filter items (DeleteAcls:
/// results[i].result), bare item results (CreateAcls: results[i]) or one
/// result (users and roles).
template <typename Resp>
bool in_doubt(const Resp& r) {
    if constexpr (requires { r.topics(0).result(); }) {
        for (const auto& t : r.topics()) {
            if (doubtful(t.result())) {
                return true;
            }
        }
    } else if constexpr (requires { r.results(0).result(); }) {
        for (const auto& t : r.results()) {
            if (doubtful(t.result())) {
                return true;
            }
        }
    } else if constexpr (requires { r.results(0).code(); }) {
        for (const auto& t : r.results()) {
            if (doubtful(t)) {
                return true;
            }
        }
    } else if constexpr (requires { r.result().code(); }) {
        return doubtful(r.result());
    }
    return false;  // a read, or a call without items
}
bool in_doubt(const v1::SetClusterConfigResponse& r);

/// "unavailable: <gRPC's message>": one controller's answer in an error text.
std::string describe(const grpc::Status& s);
/// The error code of a final failure that applied nothing.
std::errc to_errc(grpc::StatusCode c);

}  // namespace fjord::controller_client
