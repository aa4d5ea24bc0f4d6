// File: broker/kafka/handlers/create_partitions.cc
//
// CreatePartitions (key 37, v0-3), forwarded to the controller's
// CreatePartitions (admin_forwarder.h); manual assignments are refused.
// Authorization: ALTER on the topic, else TOPIC_AUTHORIZATION_FAILED.

#include "broker/kafka/admin_forwarder.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"

#include <fmt/format.h>

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

}  // namespace

void handlers::create_partitions(const request_context& ctx, kafka::create_partitions_request req) {
    admin_forwarder* admin = ctx.services->admin;
    auto resp = std::make_shared<kafka::create_partitions_response>();
    std::map<std::string, int> named;
    for (const auto& t : req.topics) {
        ++named[t.name];
    }
    v1::CreatePartitionsRequest call;
    call.set_validate_only(req.validate_only);
    std::vector<size_t> sent;
    for (const auto& t : req.topics) {
        kafka::create_partitions_response::create_partitions_topic_result r;
        r.name = t.name;
        if (!ctx.allowed_on_topic(security::acl_operation::alter, t.name)) {
            r.error_code = k::topic_authorization_failed;
            r.error_message = "CreatePartitions needs ALTER on the topic";
        } else if (auto internal = refuse_internal(t.name)) {
            r.error_code = internal->code;
            r.error_message = internal->message;
        } else if (named[t.name] > 1) {
            r.error_code = k::invalid_request;
            r.error_message =
                fmt::format("name: topic \"{}\" is named more than once in the request", t.name);
        } else if (t.assignments && !t.assignments->empty()) {
            r.error_code = k::invalid_request;
            r.error_message =
                "assignments: manual replica assignment is not supported: give only the "
                "new count and the controller places the new partitions";
        } else {
            auto* item = call.add_topics();
            item->set_name(t.name);
            item->set_total(t.count);
            sent.push_back(resp->results.size());
        }
        resp->results.push_back(std::move(r));
    }
    if (sent.empty()) {
        ctx.respond(*resp);
        return;
    }
    const auto [timeout, wait] = admin->timeout_of(req.timeout_ms);
    const bool validate_only = req.validate_only;
    auto p = admin->make_pending(ctx, timeout, wait && !validate_only);
    admin->controller().create_partitions(
        std::move(call), timeout,
        admin->on_io<v1::CreatePartitionsResponse>(
            [admin, p, resp, sent, validate_only](result<v1::CreatePartitionsResponse> r) {
                uint64_t revision = 0;
                for (size_t i = 0; i < sent.size(); ++i) {
                    auto& out = resp->results[sent[i]];
                    const outcome o = outcome_at(r, i);
                    out.error_code = o.code;
                    out.error_message = o.message;
                    if (o.code == k::none) {
                        revision = r->revision();
                    }
                    if (!validate_only) {
                        admin_forwarder::log_outcome(*p, "add partitions to " + out.name, o);
                    }
                }
                admin->answer_after(revision, p, admin_forwarder::sender(p, resp));
            }));
}

}  // namespace fjord::broker
