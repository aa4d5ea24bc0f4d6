#include "cli/client/controller_client.h"

#include <map>
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

}  // namespace

struct controller_client::impl {
    settings cfg;
    std::map<std::string, std::unique_ptr<stub>> stubs;
    std::string target;  // last known leader, or the first controller

    stub& stub_for(const std::string& address) {
        auto& s = stubs[address];
        if (!s) {
            // Listings of large clusters are large (100,000 topics of 10
            // partitions is ~60 MB); gRPC's default limit is 4 MiB.
            grpc::ChannelArguments args;
            args.SetMaxReceiveMessageSize(max_response_bytes);
            s = v1::ControllerService::NewStub(
                grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
        }
        return *s;
    }

    template <typename Req, typename Resp>
    result<Resp> call(method<Req, Resp> m, const Req& req, bool follow_leader = true) {
        const auto deadline = clock::now() + cfg.retry_timeout;
        std::map<std::string, std::string> answers;
        size_t next = 0;
        std::chrono::milliseconds backoff{50};
        if (target.empty()) {
            target = cfg.controllers.front();
        }
        for (;;) {
            grpc::ClientContext ctx;
            ctx.set_deadline(std::chrono::system_clock::now() + cfg.command_timeout);
            Resp resp;
            const grpc::Status s = (stub_for(target).*m)(&ctx, req, &resp);
            if (s.ok()) {
                return resp;
            }
            answers[target] = describe(s);
            if (s.error_code() != grpc::StatusCode::UNAVAILABLE || !follow_leader ||
                clock::now() + backoff >= deadline) {
                std::string detail;
                for (const auto& [addr, what] : answers) {
                    detail +=
                        fmt::format("{}controller {}: {}", detail.empty() ? "" : "; ", addr, what);
                }
                return error_info(std::make_error_code(to_errc(s.error_code())), detail);
            }
            // Not the leader, or unreachable: follow the hint, else try the next one.
            std::string hint;
            const auto& md = ctx.GetServerTrailingMetadata();
            if (auto it = md.find("fjord-leader-address"); it != md.end()) {
                hint.assign(it->second.data(), it->second.size());
            }
            if (!hint.empty() && hint != target) {
                target = hint;
                continue;
            }
            target = cfg.controllers[next++ % cfg.controllers.size()];
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
    return _impl->call(&stub::CreateTopics, r);
}
result<v1::DeleteTopicsResponse> controller_client::delete_topics(
    const v1::DeleteTopicsRequest& r) {
    return _impl->call(&stub::DeleteTopics, r);
}
result<v1::ListTopicsResponse> controller_client::list_topics(const v1::ListTopicsRequest& r) {
    return _impl->call(&stub::ListTopics, r);
}
result<v1::AlterTopicConfigsResponse> controller_client::alter_topic_configs(
    const v1::AlterTopicConfigsRequest& r) {
    return _impl->call(&stub::AlterTopicConfigs, r);
}
result<v1::CreatePartitionsResponse> controller_client::create_partitions(
    const v1::CreatePartitionsRequest& r) {
    return _impl->call(&stub::CreatePartitions, r);
}
result<v1::ListBrokersResponse> controller_client::list_brokers(const v1::ListBrokersRequest& r) {
    return _impl->call(&stub::ListBrokers, r);
}
result<v1::GetClusterConfigResponse> controller_client::get_cluster_config(
    const v1::GetClusterConfigRequest& r) {
    return _impl->call(&stub::GetClusterConfig, r);
}
result<v1::SetClusterConfigResponse> controller_client::set_cluster_config(
    const v1::SetClusterConfigRequest& r) {
    return _impl->call(&stub::SetClusterConfig, r);
}
result<v1::StatusResponse> controller_client::status(const v1::StatusRequest& r) {
    return _impl->call(&stub::Status, r);
}
result<v1::StatusResponse> controller_client::status_of(const std::string& address) {
    const std::string saved = _impl->target;
    _impl->target = address;
    auto r = _impl->call(&stub::Status, v1::StatusRequest{}, false);
    _impl->target = saved;
    return r;
}
result<v1::AddMemberResponse> controller_client::add_member(const v1::AddMemberRequest& r) {
    return _impl->call(&stub::AddMember, r);
}
result<v1::RemoveMemberResponse> controller_client::remove_member(
    const v1::RemoveMemberRequest& r) {
    return _impl->call(&stub::RemoveMember, r);
}
result<v1::TransferLeadershipResponse> controller_client::transfer_leadership(
    const v1::TransferLeadershipRequest& r) {
    return _impl->call(&stub::TransferLeadership, r);
}

}  // namespace fjord::cli
