// File: broker/kafka/dispatcher.cc

#include "broker/kafka/dispatcher.h"

#include "broker/kafka/admin_forwarder.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/group_gateway.h"
#include "broker/kafka/handlers/fetch.h"
#include "broker/kafka/registry.h"
#include "broker/security/sasl_session.h"
#include "common/kafka/frame.h"
#include "common/kafka/messages/api_versions.h"
#include "common/log.h"

namespace fjord::broker {
namespace {

constexpr const char* component = "kafka";

/// What an unauthenticated connection may send when SASL is required.
bool allowed_before_authentication(kafka::api_key key) {
    return key == kafka::api_key::api_versions || key == kafka::api_key::sasl_handshake ||
           key == kafka::api_key::sasl_authenticate;
}

}  // namespace

std::shared_ptr<const security_snapshot> dispatcher::current_security() const {
    if (_services.security != nullptr) {
        return _services.security->current();
    }
    static const std::shared_ptr<const security_snapshot> open = security_snapshot::open();
    return open;
}

void dispatcher::on_frame(const std::shared_ptr<session>& s, std::string frame, reply_fn reply) {
    auto snap = current_security();
    // Held requests go first: a connection's requests are served in order.
    if (!snap->ready() || !_held.empty()) {
        _held.push_back({s, std::move(frame), std::move(reply)});
        return;
    }
    serve(s, std::move(frame), std::move(reply), std::move(snap));
}

void dispatcher::release_held() {
    auto snap = current_security();
    while (snap->ready() && !_held.empty()) {
        held_frame h = std::move(_held.front());
        _held.pop_front();
        serve(h.s, std::move(h.frame), std::move(h.reply), snap);
    }
}

void dispatcher::serve_raw_sasl_token(const std::shared_ptr<session>& s, const std::string& frame,
                                      const reply_fn& reply,
                                      const std::shared_ptr<const security_snapshot>& snap) {
    sasl_session& sasl = *s->sasl();
    auto step = sasl.authenticate(frame, snap);
    if (step.status != sasl_status::ok) {
        // No Kafka framing to carry an error in: Kafka closes, and so do we.
        log(log_level::info, component, "{}: SASL {} login refused: {}; closing", s->peer(),
            to_string(*sasl.mechanism()), step.message);
        reply(reply_t::close_connection());
        return;
    }
    if (sasl.complete()) {
        s->authenticate(sasl.user());
        log(log_level::info, component, "{}: authenticated as {} (SASL {})", s->peer(),
            s->principal(), to_string(*sasl.mechanism()));
    }
    reply(reply_t::response(std::move(step.token)));
}

void dispatcher::serve(const std::shared_ptr<session>& s, std::string frame, reply_fn reply,
                       std::shared_ptr<const security_snapshot> snap) {
    if (const auto& sasl = s->sasl(); sasl && sasl->raw_tokens()) {
        serve_raw_sasl_token(s, frame, reply, snap);
        return;
    }
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
    if (!s->authenticated() && !allowed_before_authentication(entry->key) &&
        _services.options.require_sasl.value_or(snap->sasl_enabled())) {
        log(log_level::warn, component,
            "{} (client {}): {} before SASL authentication; closing (this listener requires "
            "SASL: SaslHandshake first)",
            s->peer(), rq->header.client_id.value_or(""), rq->api->name);
        reply(reply_t::close_connection());
        return;
    }
    request_context ctx;
    ctx.conn = s;
    ctx.principal = s->principal();
    ctx.user = security::principal::user(s->user());
    ctx.security = std::move(snap);
    ctx.client_id = rq->header.client_id.value_or("");
    ctx.api = rq->api;
    ctx.version = rq->api_version();
    ctx.correlation_id = rq->correlation_id();
    ctx.services = &_services;
    ctx.reply = std::move(reply);
    entry->serve(ctx, rq->body);
}

void dispatcher::on_close(const session& s) {
    // Their replies would go nowhere: the listener discards them.
    std::erase_if(_held, [&](const held_frame& h) { return h.s->id() == s.id(); });
    _services.fetches.on_close(s);
    if (_services.admin != nullptr) {
        _services.admin->on_close(s);
    }
    if (_services.groups != nullptr) {
        _services.groups->on_close(s);
    }
}

}  // namespace fjord::broker
