// File: broker/kafka/handlers/create_topics.cc
//
// CreateTopics (key 19, v0-7), forwarded to the controller's CreateTopics
// (admin_forwarder.h). Refused here, per topic: an internal topic, a name
// twice in one request, manual replica assignments, null or repeated config
// values. Authorization: CREATE on the cluster or on the topic, else
// TOPIC_AUTHORIZATION_FAILED (and it is not sent).

#include "broker/kafka/admin_forwarder.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"
#include "broker/kafka/topic_id.h"
#include "common/cluster/internal_topics.h"

#include <set>

#include <fmt/format.h>

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

/// What Kafka refuses before asking anyone; nullopt: ask the controller.
std::optional<outcome> refuse_create(const kafka::create_topics_request::creatable_topic& t,
                                     int named) {
    if (auto internal = refuse_internal(t.name)) {
        return internal;
    }
    if (named > 1) {
        return outcome{
            k::invalid_request,
            fmt::format("name: topic \"{}\" is named more than once in the request", t.name)};
    }
    if (!t.assignments.empty()) {
        return outcome{k::invalid_request,
                       "assignments: manual replica assignment is not supported: give "
                       "num_partitions and replication_factor (-1 for the cluster defaults) "
                       "and the controller places the partitions"};
    }
    std::set<std::string> keys;
    for (const auto& c : t.configs) {
        if (!c.value) {
            return outcome{k::invalid_config,
                           fmt::format("configs.{}: a null value is not allowed", c.name)};
        }
        if (!keys.insert(c.name).second) {
            return outcome{k::invalid_request,
                           fmt::format("configs: \"{}\" is named more than once", c.name)};
        }
    }
    return std::nullopt;
}

/// v5+: the created topic's partitions, replication factor and configs
/// (with validate_only: as it would be created); v7: its id (none with
/// validate_only: the controller's would-be id never exists).
void fill_created(kafka::create_topics_response::creatable_topic_result& out, const v1::Topic& t,
                  const metadata_cache& md, int16_t version, bool validate_only) {
    if (!validate_only) {
        out.topic_id = to_kafka_uuid(t.uuid());
    }
    if (version < 5) {
        return;
    }
    out.num_partitions = t.partitions_size();
    out.replication_factor = static_cast<int16_t>(t.replication_factor());
    out.configs.emplace();
    for (const auto& d : describe_topic(t, md)) {
        kafka::create_topics_response::creatable_topic_configs c;
        c.name = d.name;
        c.value = d.value;
        c.read_only = d.read_only;
        c.config_source = static_cast<int8_t>(d.source);
        out.configs->push_back(std::move(c));
    }
}

}  // namespace

void handlers::create_topics(const request_context& ctx, kafka::create_topics_request req) {
    admin_forwarder* admin = ctx.services->admin;
    const int16_t version = ctx.version;
    auto resp = std::make_shared<kafka::create_topics_response>();
    std::map<std::string, int> named;
    for (const auto& t : req.topics) {
        ++named[t.name];
    }
    v1::CreateTopicsRequest call;
    call.set_validate_only(req.validate_only);
    std::vector<size_t> sent;  // the response item of each call item
    const bool may_create_any = ctx.allowed_on_cluster(security::acl_operation::create);
    for (const auto& t : req.topics) {
        kafka::create_topics_response::creatable_topic_result r;
        r.name = t.name;
        r.error_message = std::nullopt;
        if (!may_create_any && !ctx.allowed_on_topic(security::acl_operation::create, t.name)) {
            r.error_code = k::topic_authorization_failed;
            r.error_message = "CreateTopics needs CREATE on the cluster or on the topic";
        } else if (auto refused = refuse_create(t, named[t.name])) {
            r.error_code = refused->code;
            r.error_message = refused->message;
        } else {
            auto* item = call.add_topics();
            item->set_name(t.name);
            item->set_partitions(t.num_partitions);
            item->set_replication_factor(t.replication_factor);
            for (const auto& c : t.configs) {
                (*item->mutable_configs())[c.name] = *c.value;
            }
            sent.push_back(resp->topics.size());
        }
        resp->topics.push_back(std::move(r));
    }
    if (sent.empty()) {
        ctx.respond(*resp);
        return;
    }
    const auto [timeout, wait] = admin->timeout_of(req.timeout_ms);
    const bool validate_only = req.validate_only;
    auto p = admin->make_pending(ctx, timeout, wait && !validate_only);
    admin->controller().create_topics(
        std::move(call), timeout,
        admin->on_io<v1::CreateTopicsResponse>([admin, services = ctx.services, p, resp, sent,
                                                version,
                                                validate_only](result<v1::CreateTopicsResponse> r) {
            uint64_t revision = 0;
            for (size_t i = 0; i < sent.size(); ++i) {
                auto& out = resp->topics[sent[i]];
                const outcome o = outcome_at(r, i);
                out.error_code = o.code;
                out.error_message = o.message;
                if (o.code == k::none) {
                    fill_created(out, r->topics(static_cast<int>(i)).topic(), services->md, version,
                                 validate_only);
                    revision = r->revision();
                }
                if (!validate_only) {
                    admin_forwarder::log_outcome(*p, "create topic " + out.name, o);
                }
            }
            admin->answer_after(revision, p, admin_forwarder::sender(p, resp));
        }));
}

}  // namespace fjord::broker
