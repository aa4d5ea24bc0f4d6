#pragma once
// File: controller/service/adapter.h
//
// Inside the service: what every domain's adapter uses. The member templates
// of controller_service that forward a call to the leader or serve it here
// (defined here because every domain file instantiates them), and small
// encoding helpers. Not for use outside controller/service.

#include <fmt/format.h>

#include "controller/service/controller_service.h"
#include "controller/service/status_mapping.h"

namespace fjord::service {

/// INVALID_ARGUMENT, for malformed requests.
inline grpc::Status invalid(const std::string& msg) {
    return {grpc::StatusCode::INVALID_ARGUMENT, msg};
}

template <typename Req, typename Resp>
std::optional<grpc::Status> controller_service::forward_if_follower(grpc::ServerContext* ctx,
                                                                    const Req& req, Resp* resp,
                                                                    stub_method<Req, Resp> method,
                                                                    const char* name, bool write) {
    route r = route_call(ctx);
    if (r.answer || r.leader == nullptr) {
        return r.answer;
    }
    auto fctx = forward_context(ctx);
    grpc::Status s = (r.leader->*method)(fctx.get(), req, resp);
    return forwarded(ctx, *fctx, std::move(s), r, name, write);
}

template <typename Req, typename Resp>
bool controller_service::forward_async(call<Req, Resp>& c, async_method<Req, Resp> method,
                                       const char* name) {
    route r = route_call(c.ctx);
    if (r.answer) {
        c.reply(*r.answer);
        return true;
    }
    if (r.leader == nullptr) {
        return false;
    }
    auto fctx = forward_context(c.ctx);
    stub* leader = r.leader;
    grpc::ClientContext* raw = fctx.get();
    // The context goes before the reply, not with the functor, which gRPC
    // destroys later on its callback thread: once replied to, the call no
    // longer holds up server shutdown, and a context outliving _stubs would
    // hold its channel's last reference there (see
    // common/controller_client/client.cc, call_token).
    (leader->async()->*method)(
        raw, &c.req, &c.resp,
        [this, &c, fctx = std::move(fctx), r = std::move(r), name](grpc::Status s) mutable {
            grpc::Status answer = forwarded(c.ctx, *fctx, std::move(s), r, name, true);
            fctx.reset();
            c.reply(std::move(answer));
        });
    return true;
}

template <typename Req, typename Resp>
grpc::ServerUnaryReactor* controller_service::serve(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* in, grpc::ByteBuffer* out,
    const char* method, void (controller_service::*handler)(call<Req, Resp>&)) {
    auto* c = new call<Req, Resp>(ctx, out, method,
                                  [this](const char* m, const grpc::Status& s) { count(m, s); });
    grpc::ByteBuffer bytes(*in);  // shares the slices; Deserialize consumes its argument
    const size_t size = bytes.Length();
    if (!grpc::SerializationTraits<Req>::Deserialize(&bytes, &c->req).ok()) {
        c->reply(invalid(fmt::format("request: {} bytes are not a valid {}", size,
                                     Req::descriptor()->full_name())));
        return c;
    }
    (this->*handler)(*c);
    return c;
}

}  // namespace fjord::service
