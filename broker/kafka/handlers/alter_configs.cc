// File: broker/kafka/handlers/alter_configs.cc
//
// AlterConfigs (key 33, v0-2): the request is a resource's whole set of
// configs (admin_configs.h, replace_topic_configs), forwarded to the
// controller (handlers/config_alteration.h).

#include "broker/kafka/handlers/config_alteration.h"
#include "broker/kafka/handlers/handlers.h"

namespace fjord::broker {

void handlers::alter_configs(const request_context& ctx, kafka::alter_configs_request req) {
    alter_topic_configs<kafka::alter_configs_request, kafka::alter_configs_response>(ctx, req);
}

}  // namespace fjord::broker
