#include "cli/client/controller_client.h"

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

namespace fjord::cli {
namespace {

using stub = v1::ControllerService::Stub;
using clock = std::chrono::steady_clock;

template <typename Req, typename Resp>
using method = grpc::Status (stub::*)(grpc::ClientContext*, const Req&, Resp*);

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
        default:
            return std::errc::io_error;
    }
}

constexpr int max_response_bytes = 1 << 30;

/// Which failures a call may be retried after (see controller_client.h):
/// reads and session writes after any transient failure, writes without a
/// session only when nothing can have been applied.
enum class retry { read, session_write, unsafe_write };

/// An item result that is not a definite answer.
bool doubtful(const v1::ItemResult& r) {
    return r.code() == v1::NOT_LEADER || r.code() == v1::OUTCOME_UNKNOWN || r.code() == v1::TIMEOUT;
}

/// Whether a write's answer has items to send again (session writes only).
template <typename Resp>
bool in_doubt(const Resp& r) {
    if constexpr (requires { r.topics(0).result(); }) {
        return std::any_of(r.topics().begin(), r.topics().end(),
                           [](const auto& t) { return doubtful(t.result()); });
    } else {
        return false;  // a read, or a call without items
    }
}
bool in_doubt(const v1::SetClusterConfigResponse& r) {
    return std::any_of(r.results().begin(), r.results().end(),
                       [](const auto& kv) { return doubtful(kv.second); });
}

bool not_leader_answer(const grpc::Status& s) {
    return s.error_code() == grpc::StatusCode::UNAVAILABLE &&
           (s.error_message().rfind("not the leader", 0) == 0 ||
            s.error_message() == "controller shutting down");
}

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

std::string random_client_id() {
    std::random_device rd;
    return fmt::format("{:08x}{:08x}{:08x}{:08x}", rd(), rd(), rd(), rd());
}

}  // namespace

struct controller_client::impl {
    settings cfg;
    struct conn {
        std::shared_ptr<grpc::Channel> channel;
        std::unique_ptr<stub> s;
    };
    std::map<std::string, conn> conns;
    std::string target;  // last known leader, or the first controller
    const std::string client_id = random_client_id();
    uint64_t next_seq = 1;

    conn& conn_for(const std::string& address) {
        auto& c = conns[address];
        if (!c.s) {
            // Listings of large clusters are large (100,000 topics of 10
            // partitions is ~60 MB); gRPC's default limit is 4 MiB.
            grpc::ChannelArguments args;
            args.SetMaxReceiveMessageSize(max_response_bytes);
            c.channel =
                grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
            c.s = v1::ControllerService::NewStub(c.channel);
        }
        return c;
    }

    /// Numbers a write (once: every retry of it carries the same seq).
    template <typename Req>
    Req in_session(const Req& r) {
        Req out = r;
        if (!r.validate_only()) {
            const uint64_t seq = next_seq++;
            out.mutable_session()->set_client_id(client_id);
            out.mutable_session()->set_seq(seq);
            out.mutable_session()->set_first_outstanding(seq);
        }
        return out;
    }

    template <typename Req, typename Resp>
    result<Resp> call(method<Req, Resp> m, const Req& req, retry policy,
                      bool follow_leader = true) {
        const auto deadline = clock::now() + cfg.retry_timeout;
        std::map<std::string, std::string> answers;
        size_t next = 0;
        std::chrono::milliseconds backoff{50};
        // Whether some attempt of this write may have been applied: then a
        // final failure is "outcome unknown", whatever the last attempt met.
        bool maybe_applied = false;
        std::optional<Resp> last_answer;  // an answer with items still in doubt
        if (target.empty()) {
            target = cfg.controllers.front();
        }
        for (;;) {
            conn& c = conn_for(target);
            grpc::Status s;
            Resp resp;
            grpc::ClientContext ctx;
            const auto attempt_deadline = std::chrono::system_clock::now() + cfg.command_timeout;
            // A call that is not safe to repeat is sent only on a connection
            // that is up, so that "unreachable" really means "not sent".
            const bool connected =
                policy != retry::unsafe_write ||
                c.channel->WaitForConnected(std::min(
                    attempt_deadline, std::chrono::system_clock::now() + std::chrono::seconds(2)));
            if (!connected) {
                s = grpc::Status(grpc::StatusCode::UNAVAILABLE, "could not connect");
            } else {
                ctx.set_deadline(attempt_deadline);
                s = (c.s.get()->*m)(&ctx, req, &resp);
            }
            const bool time_left = follow_leader && clock::now() + backoff < deadline;
            if (s.ok()) {
                // Items that failed without a definite answer (not the
                // leader, outcome unknown, timed out) are sent again, with
                // the same seq: items already applied are answered from the
                // session, the rest are applied now.
                if (policy != retry::session_write || !in_doubt(resp) || !time_left) {
                    return resp;
                }
                answers[target] = "some items not yet applied";
                last_answer = std::move(resp);
            } else {
                answers[target] = describe(s);
                const bool definite =
                    not_leader_answer(s) || !connected ||
                    s.error_message().find("failed to connect") != std::string::npos;
                maybe_applied =
                    maybe_applied || (policy != retry::read && transient(s) && !definite);
                const bool retriable = policy == retry::unsafe_write ? definite : transient(s);
                if (!retriable || !time_left) {
                    if (last_answer) {
                        return std::move(*last_answer);  // its items say what is in doubt
                    }
                    std::string detail;
                    for (const auto& [addr, what] : answers) {
                        detail += fmt::format("{}controller {}: {}", detail.empty() ? "" : "; ",
                                              addr, what);
                    }
                    if (maybe_applied) {
                        return error_info(std::make_error_code(std::errc::state_not_recoverable),
                                          "outcome unknown: the change may or may not have been "
                                          "applied; check before retrying (" +
                                              detail + ")");
                    }
                    return error_info(std::make_error_code(to_errc(s.error_code())), detail);
                }
            }
            // Not the leader, or unreachable: follow the hint, else try the next one.
            std::string hint;
            if (!s.ok()) {
                const auto& md = ctx.GetServerTrailingMetadata();
                if (auto it = md.find("fjord-leader-address"); it != md.end()) {
                    hint.assign(it->second.data(), it->second.size());
                }
            }
            if (!hint.empty() && hint != target) {
                target = hint;
                continue;
            }
            if (!s.ok()) {
                target = cfg.controllers[next++ % cfg.controllers.size()];
            }
            std::this_thread::sleep_for(backoff);
            backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
        }
    }
};

controller_client::controller_client(const settings& s) : _impl(std::make_unique<impl>()) {
    _impl->cfg = s;
}
controller_client::~controller_client() = default;

result<v1::CreateTopicsResponse> controller_client::create_topics(
    const v1::CreateTopicsRequest& r) {
    return _impl->call(&stub::CreateTopics, _impl->in_session(r), retry::session_write);
}
result<v1::DeleteTopicsResponse> controller_client::delete_topics(
    const v1::DeleteTopicsRequest& r) {
    return _impl->call(&stub::DeleteTopics, _impl->in_session(r), retry::session_write);
}
result<v1::ListTopicsResponse> controller_client::list_topics(const v1::ListTopicsRequest& r) {
    return _impl->call(&stub::ListTopics, r, retry::read);
}
result<v1::AlterTopicConfigsResponse> controller_client::alter_topic_configs(
    const v1::AlterTopicConfigsRequest& r) {
    return _impl->call(&stub::AlterTopicConfigs, _impl->in_session(r), retry::session_write);
}
result<v1::CreatePartitionsResponse> controller_client::create_partitions(
    const v1::CreatePartitionsRequest& r) {
    return _impl->call(&stub::CreatePartitions, _impl->in_session(r), retry::session_write);
}
result<v1::ListBrokersResponse> controller_client::list_brokers(const v1::ListBrokersRequest& r) {
    return _impl->call(&stub::ListBrokers, r, retry::read);
}
result<v1::GetClusterConfigResponse> controller_client::get_cluster_config(
    const v1::GetClusterConfigRequest& r) {
    return _impl->call(&stub::GetClusterConfig, r, retry::read);
}
result<v1::SetClusterConfigResponse> controller_client::set_cluster_config(
    const v1::SetClusterConfigRequest& r) {
    return _impl->call(&stub::SetClusterConfig, _impl->in_session(r), retry::session_write);
}
result<v1::StatusResponse> controller_client::status(const v1::StatusRequest& r) {
    return _impl->call(&stub::Status, r, retry::read);
}
result<v1::StatusResponse> controller_client::status_of(const std::string& address) {
    const std::string saved = _impl->target;
    _impl->target = address;
    auto r = _impl->call(&stub::Status, v1::StatusRequest{}, retry::read, false);
    _impl->target = saved;
    return r;
}
result<v1::AddMemberResponse> controller_client::add_member(const v1::AddMemberRequest& r) {
    return _impl->call(&stub::AddMember, r, retry::unsafe_write);
}
result<v1::RemoveMemberResponse> controller_client::remove_member(
    const v1::RemoveMemberRequest& r) {
    return _impl->call(&stub::RemoveMember, r, retry::unsafe_write);
}
result<v1::TransferLeadershipResponse> controller_client::transfer_leadership(
    const v1::TransferLeadershipRequest& r) {
    return _impl->call(&stub::TransferLeadership, r, retry::unsafe_write);
}

}  // namespace fjord::cli
