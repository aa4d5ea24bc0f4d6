// File: common/controller_client/retry_rule.cc

#include "common/controller_client/retry_rule.h"

#include <iterator>

#include <fmt/format.h>

namespace fjord::controller_client {
namespace {

/// Transient: the attempt failed for a reason another attempt may not meet.
bool transient(const grpc::Status& s) {
    switch (s.error_code()) {
        case grpc::StatusCode::UNAVAILABLE:
        case grpc::StatusCode::UNKNOWN:  // outcome unknown
        case grpc::StatusCode::DEADLINE_EXCEEDED:
            return true;
        default:
            return false;
    }
}

}  // namespace

bool refused(const grpc::Status& s) {
    return s.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
           s.error_code() == grpc::StatusCode::PERMISSION_DENIED;
}

bool applied_nothing(const failed_attempt& a) {
    const grpc::Status& s = a.status;
    // "nothing was done: ..." is a controller that refused before proposing
    // (its access check could not reach a quorum).
    const bool not_leader = s.error_code() == grpc::StatusCode::UNAVAILABLE &&
                            (s.error_message().rfind("not the leader", 0) == 0 ||
                             s.error_message().rfind("nothing was done", 0) == 0 ||
                             s.error_message() == "controller shutting down");
    return not_leader || !a.connected ||
           s.error_message().find("failed to connect") != std::string::npos;
}

bool may_retry(call_kind k, const failed_attempt& a) {
    if (refused(a.status)) {
        return false;  // the same credentials get the same answer
    }
    return k == call_kind::unsafe_write ? applied_nothing(a) : transient(a.status);
}

bool may_have_applied(call_kind k, const failed_attempt& a) {
    // CANCELLED is this client stopping with the attempt on the wire: the
    // controller may have applied it all the same.
    const bool cancelled = a.status.error_code() == grpc::StatusCode::CANCELLED;
    return k != call_kind::read && (transient(a.status) || cancelled) && !applied_nothing(a) &&
           !refused(a.status);
}

bool doubtful(const v1::ItemResult& r) {
    return r.code() == v1::NOT_LEADER || r.code() == v1::OUTCOME_UNKNOWN || r.code() == v1::TIMEOUT;
}

bool in_doubt(const v1::SetClusterConfigResponse& r) {
    for (const auto& [key, result] : r.results()) {
        if (doubtful(result)) {
            return true;
        }
    }
    return false;
}

std::string describe(const grpc::Status& s) {
    static const char* const names[] = {"ok",
                                        "cancelled",
                                        "unknown",
                                        "invalid argument",
                                        "deadline exceeded",
                                        "not found",
                                        "already exists",
                                        "permission denied",
                                        "resource exhausted",
                                        "failed precondition",
                                        "aborted",
                                        "out of range",
                                        "unimplemented",
                                        "internal",
                                        "unavailable",
                                        "data loss",
                                        "unauthenticated"};
    const auto c = static_cast<size_t>(s.error_code());
    return fmt::format("{}: {}", c < std::size(names) ? names[c] : "error", s.error_message());
}

std::errc to_errc(grpc::StatusCode c) {
    switch (c) {
        case grpc::StatusCode::INVALID_ARGUMENT:
            return std::errc::invalid_argument;
        case grpc::StatusCode::DEADLINE_EXCEEDED:
            return std::errc::timed_out;
        case grpc::StatusCode::NOT_FOUND:
            return std::errc::no_such_file_or_directory;
        case grpc::StatusCode::ALREADY_EXISTS:
            return std::errc::file_exists;
        case grpc::StatusCode::UNAVAILABLE:
            return std::errc::host_unreachable;
        case grpc::StatusCode::UNAUTHENTICATED:
            return std::errc::permission_denied;  // who you are: credentials
        case grpc::StatusCode::PERMISSION_DENIED:
            return std::errc::operation_not_permitted;  // what you may do: ACLs
        default:
            return std::errc::io_error;
    }
}

}  // namespace fjord::controller_client
