// File: controller/service/brokers_service.cc
//
// The brokers adapters: RegisterBroker, Heartbeat, SetBrokerState (writes)
// and ListBrokers (liveness lives on the leader).

#include "controller/frontend/brokers.h"
#include "controller/service/adapter.h"

namespace fjord::service {

grpc::ServerUnaryReactor* controller_service::RegisterBroker(grpc::CallbackServerContext* ctx,
                                                             const grpc::ByteBuffer* in,
                                                             grpc::ByteBuffer* out) {
    return serve<v1::RegisterBrokerRequest, v1::RegisterBrokerResponse>(
        ctx, in, out, "RegisterBroker", &controller_service::RegisterBroker_async);
}

grpc::ServerUnaryReactor* controller_service::Heartbeat(grpc::CallbackServerContext* ctx,
                                                        const grpc::ByteBuffer* in,
                                                        grpc::ByteBuffer* out) {
    return serve<v1::HeartbeatRequest, v1::HeartbeatResponse>(ctx, in, out, "Heartbeat",
                                                              &controller_service::Heartbeat_async);
}

grpc::ServerUnaryReactor* controller_service::SetBrokerState(grpc::CallbackServerContext* ctx,
                                                             const grpc::ByteBuffer* in,
                                                             grpc::ByteBuffer* out) {
    return serve<v1::SetBrokerStateRequest, v1::SetBrokerStateResponse>(
        ctx, in, out, "SetBrokerState", &controller_service::SetBrokerState_async);
}

void controller_service::RegisterBroker_async(
    call<v1::RegisterBrokerRequest, v1::RegisterBrokerResponse>& c) {
    if (forward_async(c, &stub::async::RegisterBroker, "RegisterBroker")) {
        return;
    }
    if (auto deny = check_access(c.ctx, {on_cluster(security::acl_operation::cluster_action)})) {
        c.reply(*deny);
        return;
    }
    frontend::register_broker(_core, c.req, meta(c.ctx), [&c](result<frontend::registered> r) {
        if (!r) {
            c.reply(to_grpc_status(r.error()));
            return;
        }
        *c.resp.mutable_result() = r->outcome ? ok_item() : to_item_result(r->outcome.error(), "");
        c.resp.set_revision(r->revision);
        c.resp.set_cluster_uuid(r->cluster_uuid);
        c.reply(grpc::Status::OK);
    });
}

void controller_service::Heartbeat_async(call<v1::HeartbeatRequest, v1::HeartbeatResponse>& c) {
    if (forward_async(c, &stub::async::Heartbeat, "Heartbeat")) {
        return;
    }
    if (auto deny = check_access(c.ctx, {on_cluster(security::acl_operation::cluster_action)})) {
        c.reply(*deny);
        return;
    }
    const frontend::heartbeat_outcome r = frontend::heartbeat(_core, c.req);
    c.resp.set_revision(r.revision);
    c.resp.set_session_timeout_ms(_core.opts().broker_session_timeout.count());
    if (r.known) {
        *c.resp.mutable_result() = ok_item();
    } else {
        // The field is named but the message reads as a sentence of its own.
        v1::ItemResult& item = *c.resp.mutable_result();
        item.set_code(v1::UNKNOWN_BROKER);
        item.set_message(
            fmt::format("broker {} incarnation \"{}\" is not registered (register again)",
                        c.req.broker_id(), c.req.incarnation()));
        item.set_field("broker_id");
        item.set_detail(item.message());
    }
    c.reply(grpc::Status::OK);
}

void controller_service::SetBrokerState_async(
    call<v1::SetBrokerStateRequest, v1::SetBrokerStateResponse>& c) {
    if (forward_async(c, &stub::async::SetBrokerState, "SetBrokerState")) {
        return;
    }
    if (auto deny = check_access(c.ctx, {on_cluster(security::acl_operation::alter)})) {
        c.reply(*deny);
        return;
    }
    frontend::set_broker_state(_core, c.req, meta(c.ctx), [&c](frontend::write_outcome r) {
        *c.resp.mutable_result() = r.outcome ? ok_item() : to_item_result(r.outcome.error(), "");
        c.resp.set_revision(r.revision);
        c.reply(grpc::Status::OK);
    });
}

grpc::Status controller_service::ListBrokers(grpc::ServerContext* ctx,
                                             const v1::ListBrokersRequest* req,
                                             v1::ListBrokersResponse* resp) {
    // Liveness lives on the leader: only a stale read is served locally.
    if (!req->read().stale()) {
        if (auto fwd = forward_if_follower(ctx, *req, resp, &stub::ListBrokers, "ListBrokers")) {
            return finish("ListBrokers", *fwd);
        }
    }
    if (auto deny = check_access(ctx, {on_cluster(security::acl_operation::describe)})) {
        return finish("ListBrokers", *deny);
    }
    auto r = frontend::list_brokers(_core, *req);
    if (!r) {
        return finish("ListBrokers", to_grpc_status(r.error()));
    }
    *resp = std::move(*r);
    return finish("ListBrokers", grpc::Status::OK);
}

}  // namespace fjord::service
