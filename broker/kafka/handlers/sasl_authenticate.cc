// File: broker/kafka/handlers/sasl_authenticate.cc
//
// SaslAuthenticate (key 36, v0-2): one SASL token of the exchange a
// SaslHandshake v1 started (sasl_session.h); the answer carries the server's
// token. When the exchange completes, the connection is authenticated as the
// user (session.h) and every later request on it is that user's. Kafka's
// answers:
//
//   a refused login (wrong password, unknown user: one message for both),
//   or a malformed token                       SASL_AUTHENTICATION_FAILED,
//                                              closed
//   no handshake before, or out of order       ILLEGAL_SASL_STATE, closed
//   the listener does not use SASL, or the
//   connection is already authenticated        ILLEGAL_SASL_STATE (kept open)
//
// session_lifetime_ms (v1+) is 0: sessions do not expire (no KIP-368
// re-authentication).

#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"
#include "broker/security/sasl_session.h"
#include "common/log.h"

namespace fjord::broker {

void handlers::sasl_authenticate(const request_context& ctx, kafka::sasl_authenticate_request req) {
    namespace k = kafka_errors;
    kafka::sasl_authenticate_response resp;
    resp.error_message = std::nullopt;
    if (!ctx.sasl_required() || ctx.conn->authenticated()) {
        resp.error_code = k::illegal_sasl_state;
        resp.error_message = ctx.conn->authenticated()
                                 ? "SaslAuthenticate after the connection authenticated"
                                 : "this listener does not use SASL";
        ctx.respond(resp);
        return;
    }
    const auto& sasl = ctx.conn->sasl();
    if (!sasl) {
        resp.error_code = k::illegal_sasl_state;
        resp.error_message = "SaslAuthenticate before SaslHandshake";
        ctx.respond_then_close(resp);
        return;
    }
    auto step = sasl->authenticate(req.auth_bytes, ctx.security);
    if (step.status != sasl_status::ok) {
        resp.error_code = step.status == sasl_status::illegal_state ? k::illegal_sasl_state
                                                                    : k::sasl_authentication_failed;
        resp.error_message = step.message;
        log(log_level::info, "kafka", "{} (client {}): SASL {} login refused: {}; closing",
            ctx.peer(), ctx.client_id, sasl->mechanism() ? to_string(*sasl->mechanism()) : "(none)",
            step.message);
        ctx.respond_then_close(resp);
        return;
    }
    if (sasl->complete()) {
        ctx.conn->authenticate(sasl->user());
        log(log_level::info, "kafka", "{} (client {}): authenticated as {} (SASL {})", ctx.peer(),
            ctx.client_id, ctx.conn->principal(), to_string(*sasl->mechanism()));
    }
    resp.auth_bytes = std::move(step.token);
    ctx.respond(resp);
}

}  // namespace fjord::broker
