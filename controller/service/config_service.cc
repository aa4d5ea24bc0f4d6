// File: controller/service/config_service.cc
//
// The cluster config adapters: GetClusterConfig and SetClusterConfig (all or
// nothing: one ItemResult per key).

#include "controller/frontend/cluster_config.h"
#include "controller/service/adapter.h"

namespace fjord::service {

grpc::ServerUnaryReactor* controller_service::SetClusterConfig(grpc::CallbackServerContext* ctx,
                                                               const grpc::ByteBuffer* in,
                                                               grpc::ByteBuffer* out) {
    return serve<v1::SetClusterConfigRequest, v1::SetClusterConfigResponse>(
        ctx, in, out, "SetClusterConfig", &controller_service::SetClusterConfig_async);
}

grpc::Status controller_service::GetClusterConfig(grpc::ServerContext* ctx,
                                                  const v1::GetClusterConfigRequest* req,
                                                  v1::GetClusterConfigResponse* resp) {
    if (auto deny = check_access(ctx, {on_cluster(security::acl_operation::describe_configs)})) {
        return finish("GetClusterConfig", *deny);
    }
    auto r = frontend::get_cluster_config(_core, *req);
    if (!r) {
        return finish("GetClusterConfig", to_grpc_status(r.error()));
    }
    *resp = std::move(*r);
    return finish("GetClusterConfig", grpc::Status::OK);
}

void controller_service::SetClusterConfig_async(
    call<v1::SetClusterConfigRequest, v1::SetClusterConfigResponse>& c) {
    if (forward_async(c, &stub::async::SetClusterConfig, "SetClusterConfig")) {
        return;
    }
    if (auto deny = check_access(c.ctx, {on_cluster(security::acl_operation::alter_configs)})) {
        c.reply(*deny);
        return;
    }
    frontend::set_cluster_config(
        _core, c.req, meta(c.ctx), [&c](result<frontend::config_outcome> r) {
            if (!r) {
                c.reply(to_grpc_status(r.error()));
                return;
            }
            auto& results = *c.resp.mutable_results();
            for (const auto& [k, v] : c.req.upsert()) {
                results[k] = ok_item();
            }
            for (const auto& k : c.req.remove()) {
                results[k] = ok_item();
            }
            if (!r->outcome) {
                // All or nothing: the key at fault gets the error, every other
                // key says it was not applied, or why it is wrong on its own.
                const v1::ItemResult failed = to_item_result(r->outcome.error(), "");
                for (auto& [k, item] : results) {
                    if (failed.field() == k) {
                        item = failed;
                    } else if (auto it = r->alone.find(k); it != r->alone.end()) {
                        item = to_item_result(it->second, "");
                    } else {
                        item.set_code(failed.code() == v1::INVALID_CONFIG ? v1::INVALID_ARGUMENT
                                                                          : failed.code());
                        const bool unknown =
                            failed.code() == v1::OUTCOME_UNKNOWN || failed.code() == v1::TIMEOUT;
                        item.set_message(unknown
                                             ? failed.message()
                                             : fmt::format("not applied: {}", failed.message()));
                        item.set_detail(item.message());
                    }
                }
            }
            c.resp.set_needs_restart(r->needs_restart);
            c.resp.set_revision(r->revision);
            c.resp.set_changed(r->changed);
            c.reply(grpc::Status::OK);
        });
}

}  // namespace fjord::service
