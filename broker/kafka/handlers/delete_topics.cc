// File: broker/kafka/handlers/delete_topics.cc
//
// DeleteTopics (key 20, v0-6: v6 by name or id), forwarded to the
// controller's DeleteTopics (admin_forwarder.h). Authorization: DELETE on
// the topic, else TOPIC_AUTHORIZATION_FAILED (and it is not sent).

#include "broker/kafka/admin_forwarder.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"
#include "broker/kafka/topic_id.h"

#include <fmt/format.h>

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

}  // namespace

void handlers::delete_topics(const request_context& ctx, kafka::delete_topics_request req) {
    admin_forwarder* admin = ctx.services->admin;
    const metadata_cache& md = ctx.services->md;
    const int16_t version = ctx.version;
    // v0-5 name topics; v6 names or ids.
    std::vector<kafka::delete_topics_request::delete_topic_state> wanted;
    if (version >= 6) {
        wanted = req.topics;
    } else {
        for (const auto& n : req.topic_names) {
            kafka::delete_topics_request::delete_topic_state s;
            s.name = n;
            wanted.push_back(std::move(s));
        }
    }
    auto resp = std::make_shared<kafka::delete_topics_response>();
    std::vector<std::optional<std::string>> names;  // resolved, or nullopt if refused
    std::map<std::string, int> named;
    for (const auto& w : wanted) {
        kafka::delete_topics_response::deletable_topic_result r;
        r.name = w.name ? *w.name : std::string();
        r.topic_id = w.topic_id;
        std::optional<std::string> name = w.name;
        const bool by_id = w.topic_id != kafka::uuid{};
        if (name && by_id) {
            r.error_code = k::invalid_request;
            r.error_message = "topics: give a topic's name or its id, not both";
            name.reset();
        } else if (!name && !by_id) {
            r.error_code = k::invalid_request;
            r.error_message = "topics: a topic's name or its id is required";
        } else if (by_id) {
            r.name = std::nullopt;
            for (const auto& [n, t] : md.topics()) {
                if (to_kafka_uuid(t.uuid()) == w.topic_id) {
                    name = n;
                    r.name = n;
                }
            }
            if (!name) {
                r.error_code = k::unknown_topic_id;
                r.error_message =
                    fmt::format("topic_id: no topic has the id {}", uuid_text(w.topic_id));
            }
        } else if (const v1::Topic* t = md.topic(*name); t != nullptr && version >= 6) {
            r.topic_id = to_kafka_uuid(t->uuid());
        }
        if (name && !ctx.allowed_on_topic(security::acl_operation::remove, *name)) {
            r.error_code = k::topic_authorization_failed;
            r.error_message = "DeleteTopics needs DELETE on the topic";
            name.reset();
        }
        if (name) {
            if (auto internal = refuse_internal(*name)) {
                r.error_code = internal->code;
                r.error_message = internal->message;
                name.reset();
            } else {
                ++named[*name];
            }
        }
        names.push_back(name);
        resp->responses.push_back(std::move(r));
    }
    v1::DeleteTopicsRequest call;
    std::vector<size_t> sent;
    for (size_t i = 0; i < names.size(); ++i) {
        if (!names[i]) {
            continue;
        }
        if (named[*names[i]] > 1) {
            resp->responses[i].error_code = k::invalid_request;
            resp->responses[i].error_message = fmt::format(
                "topics: topic \"{}\" is named more than once in the request", *names[i]);
            continue;
        }
        call.add_names(*names[i]);
        sent.push_back(i);
    }
    if (sent.empty()) {
        ctx.respond(*resp);
        return;
    }
    const auto [timeout, wait] = admin->timeout_of(req.timeout_ms);
    auto p = admin->make_pending(ctx, timeout, wait);
    admin->controller().delete_topics(
        std::move(call), timeout,
        admin->on_io<v1::DeleteTopicsResponse>(
            [admin, p, resp, sent, names](result<v1::DeleteTopicsResponse> r) {
                uint64_t revision = 0;
                for (size_t i = 0; i < sent.size(); ++i) {
                    auto& out = resp->responses[sent[i]];
                    const outcome o = outcome_at(r, i);
                    out.error_code = o.code;
                    out.error_message = o.message;
                    if (o.code == k::none) {
                        revision = r->revision();
                    }
                    admin_forwarder::log_outcome(*p, "delete topic " + *names[sent[i]], o);
                }
                admin->answer_after(revision, p, admin_forwarder::sender(p, resp));
            }));
}

}  // namespace fjord::broker
