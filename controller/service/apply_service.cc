// File: controller/service/apply_service.cc
//
// The Apply adapter (`fjord apply`, docs/apply.md). Sync API: the plan
// reads linearizable tables and checks passwords (PBKDF2), and the write
// waits. A follower forwards it to the leader, which computes the plan.
//
// Access while authentication is on: superusers only. A desired-state file
// spans topics, users, ACLs, roles and cluster config at once; the ACLs of
// each would be checked one by one, and a plan half of which is allowed is
// not a plan that lands whole.

#include <future>

#include "controller/frontend/apply.h"
#include "controller/service/adapter.h"

namespace fjord::service {

grpc::Status controller_service::Apply(grpc::ServerContext* ctx, const v1::ApplyRequest* req,
                                       v1::ApplyResponse* resp) {
    if (auto fwd = forward_if_follower(ctx, *req, resp, &stub::Apply, "Apply", true)) {
        return finish("Apply", *fwd);
    }
    if (auto deny = check_access(ctx, {superuser()})) {
        return finish("Apply", *deny);
    }
    const auto m = meta(ctx);
    auto p = std::make_shared<std::promise<result<frontend::apply_outcome>>>();
    auto f = p->get_future();
    frontend::apply(_core, *req, m,
                    [p](result<frontend::apply_outcome> r) { p->set_value(std::move(r)); });
    auto r = f.get();
    if (!r) {
        return finish("Apply", to_grpc_status(r.error()));
    }
    for (auto& pc : r->plan.changes) {
        if (pc.error) {
            *pc.change.mutable_error() = to_item_result(*pc.error, "");
        }
        *resp->add_changes() = std::move(pc.change);
    }
    resp->set_plan_revision(r->plan.plan_revision);
    *resp->mutable_result() = r->outcome ? ok_item() : to_item_result(r->outcome.error(), "");
    resp->set_applied(r->applied);
    resp->set_revision(r->revision);
    return finish("Apply", grpc::Status::OK);
}

}  // namespace fjord::service
