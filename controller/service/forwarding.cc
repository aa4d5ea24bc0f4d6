// File: controller/service/forwarding.cc
//
// Routing to the leader (one hop, then a hint), the forwarded call's outcome
// as this member answers it, and the per-call plumbing every adapter shares
// (metrics; the principal is access.cc's).

#include <fmt/format.h>

#include "common/log.h"
#include "common/tls/grpc_tls.h"
#include "controller/service/adapter.h"

namespace fjord::service {
namespace {

constexpr const char* forwarded_header = "fjord-forwarded";

}  // namespace

controller_service::controller_service(frontend::core& core, metrics::registry& metrics,
                                       service_tls tls)
    : _core(core),
      _tls(std::move(tls)),
      _auth(1024, core.opts().min_password_length),
      _requests(metrics.add_counter_family("fjord_controller_requests_total",
                                           "ControllerService calls by method and status code",
                                           {"method", "code"})) {}

void controller_service::count(const char* method, const grpc::Status& s) {
    static const char* const names[] = {"OK",
                                        "CANCELLED",
                                        "UNKNOWN",
                                        "INVALID_ARGUMENT",
                                        "DEADLINE_EXCEEDED",
                                        "NOT_FOUND",
                                        "ALREADY_EXISTS",
                                        "PERMISSION_DENIED",
                                        "RESOURCE_EXHAUSTED",
                                        "FAILED_PRECONDITION",
                                        "ABORTED",
                                        "OUT_OF_RANGE",
                                        "UNIMPLEMENTED",
                                        "INTERNAL",
                                        "UNAVAILABLE",
                                        "DATA_LOSS",
                                        "UNAUTHENTICATED"};
    const auto code = static_cast<size_t>(s.error_code());
    _requests.with({method, code < std::size(names) ? names[code] : "UNKNOWN"}).inc();
}

frontend::command_meta controller_service::meta(grpc::ServerContextBase* ctx) const {
    return {principal(ctx), frontend::now_ms()};
}

grpc::Status controller_service::not_leader(grpc::ServerContextBase* ctx) {
    const node_id leader = _core.loop().leader();
    std::string address;
    if (leader != no_node) {
        address = _core.state().read([&](const stm::controller_stm& s) {
            const auto* m = s.members().find(leader.value());
            return m != nullptr ? m->api_address() : std::string{};
        });
        ctx->AddTrailingMetadata("fjord-leader-id", std::to_string(leader.value()));
        if (!address.empty()) {
            ctx->AddTrailingMetadata("fjord-leader-address", address);
        }
    }
    return {grpc::StatusCode::UNAVAILABLE,
            leader == no_node
                ? std::string("not the leader; no leader is known (election in progress?)")
                : fmt::format("not the leader; the leader is {} at {}", leader,
                              address.empty() ? "an unknown address" : address)};
}

controller_service::route controller_service::route_call(grpc::ServerContextBase* ctx) {
    route r;
    if (_core.stopping()) {
        r.answer = grpc::Status(grpc::StatusCode::UNAVAILABLE, "controller shutting down");
        return r;
    }
    if (_core.loop().is_leader()) {
        return r;
    }
    // One hop only: a forwarded call that meets a non-leader (leadership
    // moved meanwhile) tells the caller where to go instead of bouncing.
    if (ctx->client_metadata().count(forwarded_header) > 0) {
        r.answer = not_leader(ctx);
        return r;
    }
    r.leader_id = _core.loop().leader();
    if (r.leader_id == no_node) {
        r.answer = not_leader(ctx);
        return r;
    }
    r.address = _core.state().read([&](const stm::controller_stm& s) {
        const auto* m = s.members().find(r.leader_id.value());
        return m != nullptr ? m->api_address() : std::string{};
    });
    if (r.address.empty()) {
        r.answer = not_leader(ctx);
        return r;
    }
    std::lock_guard g(_stubs_mu);
    auto& slot = _stubs[r.address];
    if (!slot) {
        // With api_tls the leader's certificate must name the address it
        // advertises (r.address), as for any client.
        slot = v1::ControllerService::NewStub(grpc::CreateChannel(
            r.address, _tls.forward_credentials ? _tls.forward_credentials
                                                : grpc::InsecureChannelCredentials()));
    }
    r.leader = slot.get();
    return r;
}

std::shared_ptr<grpc::ClientContext> controller_service::forward_context(
    grpc::ServerContextBase* ctx) const {
    auto fctx = std::make_shared<grpc::ClientContext>();
    fctx->AddMetadata(forwarded_header, "1");
    // The caller's identity travels with the call: the leader authenticates
    // and authorizes it as if the client had called it (access.cc), so the
    // forward hop grants nothing. The client's address goes along for ACL
    // hosts.
    const auto& md = ctx->client_metadata();
    if (const auto it = md.find("authorization"); it != md.end()) {
        fctx->AddMetadata("authorization", std::string(it->second.data(), it->second.size()));
    }
    fctx->AddMetadata("fjord-client-host", client_host(ctx));
    // The client certificate this member verified: the leader sees this
    // member's certificate on the forward, not the client's. Only one this
    // member verified itself: a subject the caller sent in metadata is not
    // passed on (client_subject refuses it), so the leader judges the call
    // on its other credentials.
    if (auto subject = client_subject(ctx); subject && !subject->empty()) {
        fctx->AddMetadata("fjord-client-subject-bin", *subject);
    }
    const auto cap =
        std::chrono::system_clock::now() + _core.opts().write_timeout + std::chrono::seconds(2);
    fctx->set_deadline(std::min(ctx->deadline(), cap));
    return fctx;
}

grpc::Status controller_service::forwarded(grpc::ServerContextBase* ctx,
                                           const grpc::ClientContext& fctx, grpc::Status s,
                                           const route& r, const char* name, bool write) {
    for (const auto& [k, v] : fctx.GetServerTrailingMetadata()) {
        ctx->AddTrailingMetadata(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
    }
    const bool transport_failed = (s.error_code() == grpc::StatusCode::UNAVAILABLE &&
                                   s.error_message().find("not the leader") == std::string::npos &&
                                   s.error_message().rfind("nothing was done", 0) != 0) ||
                                  (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && write);
    if (!transport_failed) {
        return s;
    }
    log(log_level::debug, "service", "forwarding {} to leader {} at {} failed: {}", name,
        r.leader_id, r.address, s.error_message());
    grpc::Status hint = not_leader(ctx);
    // gRPC fails a call on a channel that could not connect before sending
    // anything ("failed to connect to all addresses"): nothing was proposed.
    const bool never_sent = s.error_code() == grpc::StatusCode::UNAVAILABLE &&
                            s.error_message().find("failed to connect") != std::string::npos;
    if (!write || never_sent) {
        return hint;
    }
    // gRPC cannot tell whether the leader received the write before the
    // call broke, so "not the leader, retry" would be a guess; a retry with
    // the same session is what is safe.
    return {grpc::StatusCode::UNKNOWN,
            fmt::format("outcome unknown: forwarding {} to the leader {} at {} failed ({}); {}",
                        name, r.leader_id, r.address, s.error_message(), hint.error_message())};
}

}  // namespace fjord::service
