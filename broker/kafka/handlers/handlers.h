#pragma once
// File: broker/kafka/handlers/handlers.h
//
// One handler per Kafka API, one file per handler (handlers/<api>.cc),
// registered in registry.cc. Each is given the decoded request and its
// context, and answers through the context exactly once (request_context.h).
// Error codes come from errors.h.

#include <optional>

#include "broker/kafka/request_context.h"
#include "common/kafka/messages/alter_configs.h"
#include "common/kafka/messages/alter_user_scram_credentials.h"
#include "common/kafka/messages/api_versions.h"
#include "common/kafka/messages/create_acls.h"
#include "common/kafka/messages/create_partitions.h"
#include "common/kafka/messages/create_topics.h"
#include "common/kafka/messages/delete_acls.h"
#include "common/kafka/messages/delete_records.h"
#include "common/kafka/messages/delete_topics.h"
#include "common/kafka/messages/describe_acls.h"
#include "common/kafka/messages/describe_cluster.h"
#include "common/kafka/messages/describe_configs.h"
#include "common/kafka/messages/describe_groups.h"
#include "common/kafka/messages/describe_log_dirs.h"
#include "common/kafka/messages/describe_user_scram_credentials.h"
#include "common/kafka/messages/fetch.h"
#include "common/kafka/messages/find_coordinator.h"
#include "common/kafka/messages/heartbeat.h"
#include "common/kafka/messages/incremental_alter_configs.h"
#include "common/kafka/messages/init_producer_id.h"
#include "common/kafka/messages/join_group.h"
#include "common/kafka/messages/leave_group.h"
#include "common/kafka/messages/list_groups.h"
#include "common/kafka/messages/list_offsets.h"
#include "common/kafka/messages/metadata.h"
#include "common/kafka/messages/offset_commit.h"
#include "common/kafka/messages/offset_fetch.h"
#include "common/kafka/messages/produce.h"
#include "common/kafka/messages/sasl_authenticate.h"
#include "common/kafka/messages/sasl_handshake.h"
#include "common/kafka/messages/sync_group.h"

namespace fjord::broker::handlers {

// The data path (produce.cc, fetch.cc, list_offsets.cc, delete_records.cc)
void produce(const request_context& ctx, kafka::produce_request req);
void fetch(const request_context& ctx, kafka::fetch_request req);
void list_offsets(const request_context& ctx, kafka::list_offsets_request req);
void delete_records(const request_context& ctx, kafka::delete_records_request req);
void init_producer_id(const request_context& ctx, kafka::init_producer_id_request req);

// The cluster (metadata.cc, api_versions.cc, describe_cluster.cc,
// describe_log_dirs.cc)
void metadata(const request_context& ctx, kafka::metadata_request req);
/// nullopt: the body did not decode (KIP-511: answered, not closed).
void api_versions(const request_context& ctx, std::optional<kafka::api_versions_request> req);
void describe_cluster(const request_context& ctx, kafka::describe_cluster_request req);
void describe_log_dirs(const request_context& ctx, kafka::describe_log_dirs_request req);

// The admin APIs, forwarded to the controller (admin_forwarder.h)
void create_topics(const request_context& ctx, kafka::create_topics_request req);
void delete_topics(const request_context& ctx, kafka::delete_topics_request req);
void create_partitions(const request_context& ctx, kafka::create_partitions_request req);
void describe_configs(const request_context& ctx, kafka::describe_configs_request req);
void alter_configs(const request_context& ctx, kafka::alter_configs_request req);
void incremental_alter_configs(const request_context& ctx,
                               kafka::incremental_alter_configs_request req);

// Authentication (sasl_handshake.cc, sasl_authenticate.cc;
// broker/security/sasl_session.h)
void sasl_handshake(const request_context& ctx, kafka::sasl_handshake_request req);
void sasl_authenticate(const request_context& ctx, kafka::sasl_authenticate_request req);

// ACLs and SCRAM users, forwarded to the controller (acl_items.h)
void describe_acls(const request_context& ctx, kafka::describe_acls_request req);
void create_acls(const request_context& ctx, kafka::create_acls_request req);
void delete_acls(const request_context& ctx, kafka::delete_acls_request req);
void describe_user_scram_credentials(const request_context& ctx,
                                     kafka::describe_user_scram_credentials_request req);
void alter_user_scram_credentials(const request_context& ctx,
                                  kafka::alter_user_scram_credentials_request req);

// The consumer groups (group_gateway.h)
void find_coordinator(const request_context& ctx, kafka::find_coordinator_request req);
void join_group(const request_context& ctx, kafka::join_group_request req);
void sync_group(const request_context& ctx, kafka::sync_group_request req);
void heartbeat(const request_context& ctx, kafka::heartbeat_request req);
void leave_group(const request_context& ctx, kafka::leave_group_request req);
void offset_commit(const request_context& ctx, kafka::offset_commit_request req);
void offset_fetch(const request_context& ctx, kafka::offset_fetch_request req);
void list_groups(const request_context& ctx, kafka::list_groups_request req);
void describe_groups(const request_context& ctx, kafka::describe_groups_request req);

}  // namespace fjord::broker::handlers
