// File: broker/kafka/registry.cc
//
// The table behind registry.h, and the one place request bodies are decoded.

#include "broker/kafka/registry.h"

#include <optional>

#include "broker/kafka/handlers/handlers.h"
#include "common/log.h"

namespace fjord::broker {
namespace {

/// Decodes the body as `Req`; on failure logs the client and the reason
/// and returns nullopt.
template <typename Req>
std::optional<Req> decode(const request_context& ctx, std::string_view body) {
    kafka::reader r(body);
    auto d = Req::decode(r, ctx.version);
    if (!d) {
        log(log_level::warn, "kafka", "{} (client {}): {} v{} does not decode: {}; closing",
            ctx.peer(), ctx.client_id, ctx.api_name(), ctx.version, d.error().detail);
        return std::nullopt;
    }
    return std::move(*d);
}

/// The usual rule: a body that does not decode closes the connection.
template <typename Req, void (*Handle)(const request_context&, Req)>
void decode_or_close(const request_context& ctx, std::string_view body) {
    auto req = decode<Req>(ctx, body);
    if (!req) {
        ctx.close_connection();
        return;
    }
    Handle(ctx, std::move(*req));
}

/// ApiVersions' rule (KIP-511): the handler answers a body that does not
/// decode.
template <typename Req, void (*Handle)(const request_context&, std::optional<Req>)>
void decode_leniently(const request_context& ctx, std::string_view body) {
    Handle(ctx, decode<Req>(ctx, body));
}

template <typename Req, void (*Handle)(const request_context&, Req)>
constexpr api_entry api(int16_t min, int16_t max) {
    return {Req::api, min, max, &decode_or_close<Req, Handle>};
}

// Minimums and maximums, and why:
// - Produce is listed from v0 although v0-2 (message formats 0 and 1) are
//   refused per partition (produce.cc): librdkafka compresses gzip, snappy
//   and lz4 only when a broker lists Produce v0-2 (its feature check), as
//   Kafka 4.0 found (KAFKA-18659) and answered the same way.
// - Produce 3+ and Fetch 4+ carry record batch v2 only (what librdkafka and
//   kafka-python send to a broker advertising them).
// - Every group API starts at 0: librdkafka turns consumer groups on only
//   when FindCoordinator, JoinGroup, SyncGroup, Heartbeat and LeaveGroup
//   include v0, OffsetCommit overlaps 1-2 and OffsetFetch includes v1.
// - ListOffsets 7 answers MAX_TIMESTAMP (-3, KIP-734) and 8 EARLIEST_LOCAL
//   (-4, KIP-405: the local log start of a tiered partition); 9 would add
//   LATEST_TIERED (-5, KIP-1005), which is not served.
constexpr api_entry table[] = {
    api<kafka::produce_request, handlers::produce>(0, 9),
    api<kafka::fetch_request, handlers::fetch>(4, 12),
    api<kafka::list_offsets_request, handlers::list_offsets>(1, 8),
    api<kafka::metadata_request, handlers::metadata>(0, 12),
    api<kafka::offset_commit_request, handlers::offset_commit>(0, 8),
    api<kafka::offset_fetch_request, handlers::offset_fetch>(0, 8),
    api<kafka::find_coordinator_request, handlers::find_coordinator>(0, 4),
    api<kafka::join_group_request, handlers::join_group>(0, 7),
    api<kafka::heartbeat_request, handlers::heartbeat>(0, 4),
    api<kafka::leave_group_request, handlers::leave_group>(0, 4),
    api<kafka::sync_group_request, handlers::sync_group>(0, 5),
    api<kafka::describe_groups_request, handlers::describe_groups>(0, 5),
    api<kafka::list_groups_request, handlers::list_groups>(0, 4),
    api<kafka::sasl_handshake_request, handlers::sasl_handshake>(0, 1),
    {kafka::api_key::api_versions, 0, 3,
     &decode_leniently<kafka::api_versions_request, handlers::api_versions>},
    api<kafka::create_topics_request, handlers::create_topics>(0, 7),
    api<kafka::delete_topics_request, handlers::delete_topics>(0, 6),
    api<kafka::delete_records_request, handlers::delete_records>(0, 2),
    api<kafka::init_producer_id_request, handlers::init_producer_id>(0, 4),
    api<kafka::describe_acls_request, handlers::describe_acls>(0, 3),
    api<kafka::create_acls_request, handlers::create_acls>(0, 3),
    api<kafka::delete_acls_request, handlers::delete_acls>(0, 3),
    api<kafka::describe_configs_request, handlers::describe_configs>(0, 4),
    api<kafka::alter_configs_request, handlers::alter_configs>(0, 2),
    api<kafka::describe_log_dirs_request, handlers::describe_log_dirs>(0, 4),
    api<kafka::sasl_authenticate_request, handlers::sasl_authenticate>(0, 2),
    api<kafka::create_partitions_request, handlers::create_partitions>(0, 3),
    api<kafka::incremental_alter_configs_request, handlers::incremental_alter_configs>(0, 1),
    api<kafka::describe_user_scram_credentials_request, handlers::describe_user_scram_credentials>(
        0, 0),
    api<kafka::alter_user_scram_credentials_request, handlers::alter_user_scram_credentials>(0, 0),
    api<kafka::describe_cluster_request, handlers::describe_cluster>(0, 1),
};

constexpr bool in_key_order() {
    for (size_t i = 1; i < std::size(table); ++i) {
        if (table[i - 1].key >= table[i].key) {
            return false;
        }
    }
    return true;
}
static_assert(in_key_order(), "registry: one entry per API, in key order");

}  // namespace

std::span<const api_entry> kafka_apis() {
    return table;
}

const api_entry* find_api_entry(int16_t key) {
    for (const auto& e : table) {
        if (static_cast<int16_t>(e.key) == key) {
            return &e;
        }
    }
    return nullptr;
}

std::vector<kafka::api_versions_response::api_version> advertised_versions() {
    std::vector<kafka::api_versions_response::api_version> out;
    for (const auto& e : table) {
        kafka::api_versions_response::api_version v;
        v.api_key = static_cast<int16_t>(e.key);
        v.min_version = e.min_version;
        v.max_version = e.max_version;
        out.push_back(v);
    }
    return out;
}

}  // namespace fjord::broker
