// File: broker/kafka/dispatcher.cc

#include "broker/kafka/dispatcher.h"

#include "broker/kafka/admin_forwarder.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/group_gateway.h"
#include "broker/kafka/handlers/fetch.h"
#include "broker/kafka/registry.h"
#include "common/kafka/frame.h"
#include "common/kafka/messages/api_versions.h"
#include "common/log.h"

namespace fjord::broker {
namespace {

constexpr const char* component = "kafka";

}  // namespace

void dispatcher::on_frame(const std::shared_ptr<session>& s, std::string frame, reply_fn reply) {
    auto rq = kafka::parse_request(frame);
    if (!rq) {
        log(log_level::warn, component, "{}: bad request header: {}; closing", s->peer(),
            rq.error().detail);
        reply(reply_t::close_connection());
        return;
    }
    const api_entry* entry = find_api_entry(rq->api_key());
    if (entry == nullptr) {
        log(log_level::warn, component, "{} (client {}): API {} ({}) is not served; closing",
            s->peer(), rq->header.client_id.value_or(""), rq->api_key(), rq->api->name);
        reply(reply_t::close_connection());
        return;
    }
    if (!entry->serves(rq->api_version())) {
        if (entry->key == kafka::api_key::api_versions) {
            // KIP-511: a version we do not know gets a v0 response naming
            // what we support, so the client can retry with one of them.
            kafka::api_versions_response resp;
            resp.api_keys = advertised_versions();
            resp.error_code = kafka_errors::unsupported_version;
            kafka::writer w;
            (void)resp.encode(w, 0);
            reply(reply_t::response(kafka::response_message(rq->correlation_id(), 0, w.data())));
            return;
        }
        log(log_level::warn, component, "{} (client {}): {} v{} is not served (v{}-{}); closing",
            s->peer(), rq->header.client_id.value_or(""), rq->api->name, rq->api_version(),
            entry->min_version, entry->max_version);
        reply(reply_t::close_connection());
        return;
    }
    request_context ctx;
    ctx.conn = s;
    ctx.principal = s->principal();
    ctx.client_id = rq->header.client_id.value_or("");
    ctx.api = rq->api;
    ctx.version = rq->api_version();
    ctx.correlation_id = rq->correlation_id();
    ctx.services = &_services;
    ctx.reply = std::move(reply);
    entry->serve(ctx, rq->body);
}

void dispatcher::on_close(const session& s) {
    _services.fetches.on_close(s);
    if (_services.admin != nullptr) {
        _services.admin->on_close(s);
    }
    if (_services.groups != nullptr) {
        _services.groups->on_close(s);
    }
}

}  // namespace fjord::broker
