#pragma once
// File: broker/kafka/request_context.h
//
// What every Kafka handler is given besides its decoded request: who asks
// (the connection's session and principal, the client id), what was asked
// (API, version, correlation id), the security snapshot it is decided
// under, the broker's services, and the one way to answer. The dispatcher
// (dispatcher.h) builds it from the request header.
//
// Authorization: a handler asks allowed(op, resource type, name) (or
// allowed_on_cluster(op)) before it reads or changes anything the answer
// depends on, and answers Kafka's *_AUTHORIZATION_FAILED code for what is
// refused (the table is in README.md, "Authorization"). The snapshot was
// loaded once when the request arrived, so one request is decided under one
// set of rules, and a request after an ACL change under the new ones.
//
// Contract for a handler (registry.h registers them):
// - it runs on the listener's io thread and answers exactly once through
//   respond(), respond_nothing() or close_connection(), now or later, from
//   any thread (the listener posts replies to its io thread);
// - a handler that answers later keeps a copy of its context: it holds
//   only the header's fields, the session and the reply (the request's
//   bytes are gone once the handler returns).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "broker/kafka/services.h"
#include "broker/security/security_snapshot.h"
#include "broker/server/kafka_listener.h"
#include "broker/server/session.h"
#include "common/kafka/frame.h"
#include "common/kafka/wire.h"
#include "common/log.h"

namespace fjord::broker {

struct request_context {
    /// The connection (never null); read-only for handlers until SASL.
    std::shared_ptr<session> conn;
    /// Who sent the request: the session's principal when it arrived.
    std::string principal;
    /// The same as the authorizer sees it (User:<name>).
    security::principal user;
    /// The security rules in force when the request arrived; never null
    /// (security_snapshot::open() when the services have no security).
    std::shared_ptr<const security_snapshot> security;
    /// The header's client id ("" when null).
    std::string client_id;
    /// The API (key, name, header versions); never null.
    const kafka::api_info* api = nullptr;
    int16_t version = 0;
    int32_t correlation_id = 0;
    broker_services* services = nullptr;  ///< never null; outlives every request
    reply_fn reply;

    kafka::api_key key() const { return static_cast<kafka::api_key>(api->key); }
    std::string_view api_name() const { return api->name; }
    /// The client as log lines name it: "host:port".
    const std::string& peer() const { return conn->peer(); }

    /// Whether the requester may do `op` on `rt`/`name` (always, with
    /// authorization off).
    bool allowed(security::acl_operation op, security::resource_type rt,
                 std::string_view name) const {
        return security->allowed(user, conn->host(), op, rt, name);
    }
    bool allowed_on_topic(security::acl_operation op, std::string_view topic) const {
        return allowed(op, security::resource_type::topic, topic);
    }
    bool allowed_on_group(security::acl_operation op, std::string_view group) const {
        return allowed(op, security::resource_type::group, group);
    }
    bool allowed_on_cluster(security::acl_operation op) const {
        return security->allowed_on_cluster(user, conn->host(), op);
    }
    /// Whether this listener requires SASL authentication now.
    bool sasl_required() const {
        return services->options.require_sasl.value_or(security->sasl_enabled());
    }

    /// Encodes `resp` for this request's version, with the response header
    /// version its API and version call for, and answers with it. A
    /// response that cannot be encoded (a bug: a field the version cannot
    /// carry) closes the connection with a log line.
    template <typename Resp>
    void respond(const Resp& resp) const {
        kafka::writer w;
        if (auto r = resp.encode(w, version); !r) {
            log(log_level::error, "kafka", "{} v{} to {}: cannot encode the response: {}",
                api->name, version, peer(), r.error().detail);
            reply(reply_t::close_connection());
            return;
        }
        reply(reply_t::response(kafka::response_message(
            correlation_id, kafka::response_header_version(*api, version), w.data())));
    }
    /// No response on the wire (Produce with acks=0); keeps the order.
    void respond_nothing() const { reply(reply_t::none()); }
    /// Drops the connection after the responses before this one.
    void close_connection() const { reply(reply_t::close_connection()); }
    /// respond(), then drops the connection (a refused SASL login).
    template <typename Resp>
    void respond_then_close(const Resp& resp) const {
        kafka::writer w;
        if (auto r = resp.encode(w, version); !r) {
            reply(reply_t::close_connection());
            return;
        }
        reply(reply_t::response_then_close(kafka::response_message(
            correlation_id, kafka::response_header_version(*api, version), w.data())));
    }
};

}  // namespace fjord::broker
