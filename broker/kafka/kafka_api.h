#pragma once
// File: broker/kafka/kafka_api.h
//
// The Kafka request handlers: a frame_handler for the listener. Each frame's
// header is parsed (common/kafka/frame.h), the body decoded for its API and
// version, the request served from the metadata cache and the partition
// logs, and the response encoded with the matching header version.
//
// APIs and versions served here (ApiVersions answers with these plus those
// of the api_modules given at construction, see api_module.h):
//   ApiVersions 0-3, Metadata 0-12, Produce 3-9, Fetch 4-12, ListOffsets 1-6.
// The modules of fjord-broker (broker_server.cc): producer_api.h
// (InitProducerId), admin_api.h (admin APIs), delete_records_api.h
// (DeleteRecords), broker/group/group_api.h.
// Produce 3+ and Fetch 4+ carry only record batch v2 (what librdkafka and
// kafka-python send to a broker advertising them).
//
// Runs on the listener's io thread, like the cache and the partition
// manager it reads (nothing here locks). Connection-fatal problems (an
// unknown API key, a body that does not decode, an unsupported version of
// any API but ApiVersions) close the connection with a log line naming the
// client and the reason, as Kafka does; every other client keeps being
// served.
//
// Fetch is a real long poll: a fetch that has fewer than min_bytes waits,
// parked, until appends bring enough or max_wait_ms passes (wake_fetches()
// re-checks parked fetches after every produce and metadata change).

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <utility>
#include <vector>

#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/kafka/api_module.h"
#include "broker/server/kafka_listener.h"

namespace fjord::broker {

struct broker_endpoint {
    int32_t node_id = 0;
    std::string host;
    int32_t port = 0;
    std::string rack;
};

/// Broker settings the handlers apply (broker.yaml, broker/server/README.md).
struct kafka_api_options {
    /// Kafka's fetch.max.bytes: a Fetch answers at most min(its max_bytes,
    /// this) bytes of records (the first batch may exceed both, as in Kafka).
    int32_t fetch_max_bytes = 57671680;
};

class kafka_api final : public frame_handler {
  public:
    /// Runs `fn` on the io thread after `delay`.
    using schedule_fn = std::function<void(std::chrono::milliseconds, std::function<void()>)>;
    /// Wall-clock milliseconds since the epoch (timestamps, segment ages).
    using clock_fn = std::function<int64_t()>;

    /// `modules` (not owned; they outlive this) serve the APIs they advertise.
    kafka_api(broker_endpoint me, metadata_cache& md, partition_manager& pm, schedule_fn schedule,
              clock_fn now, std::vector<api_module*> modules = {}, kafka_api_options options = {});
    ~kafka_api() override;
    kafka_api(const kafka_api&) = delete;
    kafka_api& operator=(const kafka_api&) = delete;

    void on_frame(const connection_info& conn, std::string frame, reply_fn reply) override;
    void on_close(const connection_info& conn) override;

    /// Re-checks parked fetches (after appends or metadata changes).
    void wake_fetches();

    struct parked_fetch;

  private:
    /// The API's served range and the module serving it (null: served here);
    /// {null, null} when nobody serves it.
    std::pair<const served_api*, api_module*> find_api(int16_t key) const;

    broker_endpoint _me;
    metadata_cache& _md;
    partition_manager& _pm;
    schedule_fn _schedule;
    clock_fn _now;
    std::vector<api_module*> _modules;
    kafka_api_options _options;
    std::list<std::shared_ptr<parked_fetch>> _parked;
    bool _waking = false;

    friend struct handlers;
};

}  // namespace fjord::broker
