// File: broker/kafka/handlers/incremental_alter_configs.cc
//
// IncrementalAlterConfigs (key 44, v0-1): SET, DELETE, APPEND and SUBTRACT
// per key (admin_configs.h, incremental_topic_configs), forwarded to the
// controller (handlers/config_alteration.h).

#include "broker/kafka/handlers/config_alteration.h"
#include "broker/kafka/handlers/handlers.h"

namespace fjord::broker {

void handlers::incremental_alter_configs(const request_context& ctx,
                                         kafka::incremental_alter_configs_request req) {
    alter_topic_configs<kafka::incremental_alter_configs_request,
                        kafka::incremental_alter_configs_response>(ctx, req);
}

}  // namespace fjord::broker
