// File: controller/service/topics_service.cc
//
// The topics adapters: CreateTopics, DeleteTopics, AlterTopicConfigs,
// CreatePartitions (writes, one ItemResult per item) and ListTopics.

#include "controller/frontend/topics.h"
#include "controller/service/adapter.h"

namespace fjord::service {
namespace {

using security::acl_operation;

/// `op` on every topic of a request's items (`or_cluster`: or on the
/// cluster, Kafka's CreateTopics rule).
template <typename Items>
std::vector<access> topic_needs(const Items& items, acl_operation op, bool or_cluster = false) {
    std::vector<access> out;
    for (const auto& item : items) {
        out.push_back(on_topic(op, item.name(), or_cluster));
    }
    return out;
}

template <typename Names>
std::vector<access> name_needs(const Names& names, acl_operation op) {
    std::vector<access> out;
    for (const std::string& n : names) {
        out.push_back(on_topic(op, n));
    }
    return out;
}

/// Fills each item's result from the frontend's outcomes.
template <typename Items>
void fill_items(Items* items, const std::vector<result<void>>& outcomes, const char* list,
                bool scalar_items = false) {
    for (size_t i = 0; i < outcomes.size(); ++i) {
        *items->Mutable(static_cast<int>(i))->mutable_result() =
            outcomes[i] ? ok_item() : to_item_result(outcomes[i].error(), list, i, scalar_items);
    }
}

/// Answers a batch write of the topics API: the call's failure, or one entry
/// per request item, named name_of(item), carrying its result.
template <typename Call, typename List, typename NameOf>
void answer_items(Call& c, const result<frontend::batch_outcome>& r, const List& request_items,
                  const char* list, NameOf name_of, bool scalar_items = false) {
    if (!r) {
        c.reply(to_grpc_status(r.error()));
        return;
    }
    for (const auto& item : request_items) {
        c.resp.add_topics()->set_name(name_of(item));
    }
    fill_items(c.resp.mutable_topics(), r->items, list, scalar_items);
    c.resp.set_revision(r->revision);
    c.reply(grpc::Status::OK);
}

}  // namespace

grpc::ServerUnaryReactor* controller_service::CreateTopics(grpc::CallbackServerContext* ctx,
                                                           const grpc::ByteBuffer* in,
                                                           grpc::ByteBuffer* out) {
    return serve<v1::CreateTopicsRequest, v1::CreateTopicsResponse>(
        ctx, in, out, "CreateTopics", &controller_service::CreateTopics_async);
}

grpc::ServerUnaryReactor* controller_service::DeleteTopics(grpc::CallbackServerContext* ctx,
                                                           const grpc::ByteBuffer* in,
                                                           grpc::ByteBuffer* out) {
    return serve<v1::DeleteTopicsRequest, v1::DeleteTopicsResponse>(
        ctx, in, out, "DeleteTopics", &controller_service::DeleteTopics_async);
}

grpc::ServerUnaryReactor* controller_service::AlterTopicConfigs(grpc::CallbackServerContext* ctx,
                                                                const grpc::ByteBuffer* in,
                                                                grpc::ByteBuffer* out) {
    return serve<v1::AlterTopicConfigsRequest, v1::AlterTopicConfigsResponse>(
        ctx, in, out, "AlterTopicConfigs", &controller_service::AlterTopicConfigs_async);
}

grpc::ServerUnaryReactor* controller_service::CreatePartitions(grpc::CallbackServerContext* ctx,
                                                               const grpc::ByteBuffer* in,
                                                               grpc::ByteBuffer* out) {
    return serve<v1::CreatePartitionsRequest, v1::CreatePartitionsResponse>(
        ctx, in, out, "CreatePartitions", &controller_service::CreatePartitions_async);
}

void controller_service::CreateTopics_async(
    call<v1::CreateTopicsRequest, v1::CreateTopicsResponse>& c) {
    if (forward_async(c, &stub::async::CreateTopics, "CreateTopics")) {
        return;
    }
    if (auto deny = check_access(c.ctx, topic_needs(c.req.topics(), acl_operation::create, true))) {
        c.reply(*deny);
        return;
    }
    frontend::create_topics(_core, c.req, meta(c.ctx), [&c](result<frontend::created_topics> r) {
        if (!r) {
            c.reply(to_grpc_status(r.error()));
            return;
        }
        for (size_t i = 0; i < r->items.size(); ++i) {
            auto* t = c.resp.add_topics();
            t->set_name(c.req.topics(static_cast<int>(i)).name());
            if (r->topics[i]) {
                *t->mutable_topic() = std::move(*r->topics[i]);
            }
        }
        fill_items(c.resp.mutable_topics(), r->items, "topics");
        c.resp.set_revision(r->revision);
        c.reply(grpc::Status::OK);
    });
}

void controller_service::DeleteTopics_async(
    call<v1::DeleteTopicsRequest, v1::DeleteTopicsResponse>& c) {
    if (forward_async(c, &stub::async::DeleteTopics, "DeleteTopics")) {
        return;
    }
    if (auto deny = check_access(c.ctx, name_needs(c.req.names(), acl_operation::remove))) {
        c.reply(*deny);
        return;
    }
    frontend::delete_topics(_core, c.req, meta(c.ctx), [&c](result<frontend::batch_outcome> r) {
        answer_items(
            c, r, c.req.names(), "names", [](const std::string& name) { return name; }, true);
    });
}

void controller_service::AlterTopicConfigs_async(
    call<v1::AlterTopicConfigsRequest, v1::AlterTopicConfigsResponse>& c) {
    if (forward_async(c, &stub::async::AlterTopicConfigs, "AlterTopicConfigs")) {
        return;
    }
    if (auto deny =
            check_access(c.ctx, topic_needs(c.req.topics(), acl_operation::alter_configs))) {
        c.reply(*deny);
        return;
    }
    frontend::alter_topic_configs(
        _core, c.req, meta(c.ctx), [&c](result<frontend::batch_outcome> r) {
            answer_items(c, r, c.req.topics(), "topics", [](const auto& t) { return t.name(); });
        });
}

void controller_service::CreatePartitions_async(
    call<v1::CreatePartitionsRequest, v1::CreatePartitionsResponse>& c) {
    if (forward_async(c, &stub::async::CreatePartitions, "CreatePartitions")) {
        return;
    }
    if (auto deny = check_access(c.ctx, topic_needs(c.req.topics(), acl_operation::alter))) {
        c.reply(*deny);
        return;
    }
    frontend::create_partitions(_core, c.req, meta(c.ctx), [&c](result<frontend::batch_outcome> r) {
        answer_items(c, r, c.req.topics(), "topics", [](const auto& t) { return t.name(); });
    });
}

grpc::Status controller_service::ListTopics(grpc::ServerContext* ctx,
                                            const v1::ListTopicsRequest* req,
                                            v1::ListTopicsResponse* resp) {
    // Named topics each need DESCRIBE; a listing of all shows the topics the
    // caller may describe (as Kafka's Metadata does).
    if (auto deny = check_access(ctx, name_needs(req->names(), acl_operation::describe))) {
        return finish("ListTopics", *deny);
    }
    std::optional<std::string> user;
    if (auth_required()) {
        auto u = authenticate(ctx);  // verified above: a cache hit
        if (!u) {
            return finish("ListTopics", to_grpc_status(u.error()));
        }
        user = std::move(*u);
    }
    auto r = frontend::list_topics(_core, *req);
    if (!r) {
        return finish("ListTopics", to_grpc_status(r.error()));
    }
    if (user && req->names_size() == 0) {
        const auto authz =
            _core.state().read([](const stm::controller_stm& s) { return s.authorizer(); });
        const std::string host = client_host(ctx);
        const auto who = security::principal::user(*user);
        auto* topics = r->mutable_topics();
        int kept = 0;
        for (int i = 0; i < topics->size(); ++i) {
            if (authz->allowed(who, host, acl_operation::describe, security::resource_type::topic,
                               topics->Get(i).name())) {
                topics->SwapElements(kept++, i);
            }
        }
        topics->DeleteSubrange(kept, topics->size() - kept);
    }
    *resp = std::move(*r);
    return finish("ListTopics", grpc::Status::OK);
}

}  // namespace fjord::service
