// File: broker/kafka/handlers/list_offsets.cc
//
// ListOffsets (key 2, v1-8) of partitions this broker leads:
//   -2 (EARLIEST)        the log start clients see: for a redpanda.remote.read
//                        topic with data in the object store below the local
//                        log start, the remote start (handlers/tiered_read.h)
//   -1 (LATEST)          the high watermark
//   -3 (MAX_TIMESTAMP, v7+, KIP-734) the first batch carrying the partition's
//                        largest timestamp, remote segments included
//   -4 (EARLIEST_LOCAL, v8+, KIP-405) the local log start
//   a timestamp >= 0     the first batch (in offset order) whose maxTimestamp
//                        is at or after it: the remote segments below the
//                        local start first (the manifest's max_timestamp
//                        picks the one to read), then the local log
// Offsets and timestamps are at batch granularity (partition_log.h:
// offset_for_timestamp). A partition with nothing matching answers offset
// -1, timestamp -1, as Kafka does. -3 and -4 at a version that cannot carry
// them, or any other negative value, are INVALID_REQUEST.
// DESCRIBE on the topic, else TOPIC_AUTHORIZATION_FAILED; a topic an
// unmount or mount blocks (broker/tiered/migration_rules.h) is
// INVALID_TOPIC_EXCEPTION.
// Answers that need the object store (a manifest to load, a segment to
// download) wait for the remote reader without blocking the io thread: the
// request is answered once every partition is known, or after
// max_remote_wait with REQUEST_TIMED_OUT (retriable) for those still
// waiting; an object-store failure is KAFKA_STORAGE_ERROR (errors.h).

#include <algorithm>
#include <chrono>
#include <memory>

#include "broker/cluster/metadata_cache.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"
#include "broker/kafka/handlers/led_log.h"
#include "broker/kafka/handlers/tiered_read.h"
#include "broker/tiered/migration_rules.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

/// How long a ListOffsets waits for the object store at most (below the
/// clients' request timeouts, 30 s and more).
constexpr int64_t max_remote_wait_ms = 20000;

constexpr int64_t earliest = -2;
constexpr int64_t latest = -1;
constexpr int64_t max_timestamp = -3;
constexpr int64_t earliest_local = -4;

using partition_response = kafka::list_offsets_response::list_offsets_partition_response;

void answer(partition_response& pr, const std::optional<storage::timestamp_offset>& found) {
    if (found) {
        pr.offset = found->offset.value();
        pr.timestamp = found->timestamp;
    }
}

/// The answer for one partition this broker leads; false if it waits for
/// the object store (pr then holds nothing yet).
bool lookup(const request_context& ctx, const v1::Topic* topic, partition& part, int64_t ts,
            partition_response& pr) {
    const storage::partition_log& log = part.log();
    const kafka_offset local_start = log.log_start_offset();
    const kafka_offset floor = log.records_deleted_before();  // DeleteRecords
    const auto remote =
        topic != nullptr ? remote_of(*ctx.services, *topic, pr.partition_index) : std::nullopt;
    // A remote answer: false (pending), or true with pr filled in (an error
    // or a value); `use` gets a ready value.
    auto from_remote = [&](const auto& a, auto use) {
        if (a.is_pending()) {
            return false;
        }
        if (a.is_failed()) {
            pr.error_code = kafka_error(a.error.code);
        } else {
            use(a.value);
        }
        return true;
    };
    if (ts == earliest) {
        if (!remote) {
            pr.offset = local_start.value();
            return true;
        }
        return from_remote(remote->reader->bounds(remote->rp, local_start),
                           [&](const tiered_read::remote_bounds& b) {
                               pr.offset = b.exists
                                               ? std::max(floor.value(),
                                                          std::min(b.start, local_start.value()))
                                               : local_start.value();
                           });
    }
    if (ts == latest) {
        pr.offset = part.high_watermark().value();
        return true;
    }
    if (ts == earliest_local && ctx.version >= 8) {
        pr.offset = local_start.value();
        return true;
    }
    if (ts == max_timestamp && ctx.version >= 7) {
        int64_t local_max = storage::no_timestamp;
        for (const auto& seg : log.segments()) {
            local_max = std::max(local_max, seg.max_timestamp);
        }
        if (remote) {
            bool use_local = false;
            const bool done =
                from_remote(remote->reader->max_timestamp(remote->rp, local_start,
                                                          std::max<int64_t>(local_max, 0), floor),
                            [&](const std::optional<storage::timestamp_offset>& found) {
                                if (found) {
                                    answer(pr, found);
                                } else {
                                    use_local = true;
                                }
                            });
            if (!done || !use_local) {
                return done;
            }
        }
        if (local_max < 0) {
            return true;  // no timestamps: offset -1, timestamp -1
        }
        auto found = log.offset_for_timestamp(local_max, part.high_watermark());
        if (!found) {
            pr.error_code = kafka_error(found.error().code);
        } else {
            answer(pr, *found);
        }
        return true;
    }
    if (ts < 0) {
        pr.error_code = k::invalid_request;
        return true;
    }
    if (remote) {
        bool use_local = false;
        const bool done =
            from_remote(remote->reader->offset_for_timestamp(remote->rp, ts, local_start, floor),
                        [&](const std::optional<storage::timestamp_offset>& found) {
                            if (found) {
                                answer(pr, found);
                            } else {
                                use_local = true;
                            }
                        });
        if (!done || !use_local) {
            return done;
        }
    }
    auto found = log.offset_for_timestamp(ts, part.high_watermark());
    if (!found) {
        pr.error_code = kafka_error(found.error().code);
    } else {
        answer(pr, *found);
    }
    return true;
}

/// Builds the response; true if a partition still waits for the object
/// store (with `last`, such partitions are answered REQUEST_TIMED_OUT).
bool fill(const request_context& ctx, const kafka::list_offsets_request& req,
          kafka::list_offsets_response& resp, bool last) {
    bool waiting = false;
    for (const auto& t : req.topics) {
        kafka::list_offsets_response::list_offsets_topic_response tr;
        tr.name = t.name;
        const bool may = ctx.allowed_on_topic(security::acl_operation::describe, t.name);
        const v1::Topic* topic = ctx.services->md.topic(t.name);
        for (const auto& p : t.partitions) {
            partition_response pr;
            pr.partition_index = p.partition_index;
            auto [part, code] = find_led_log(*ctx.services, t.name, p.partition_index);
            if (!may) {
                pr.error_code = k::topic_authorization_failed;
            } else if (part == nullptr) {
                pr.error_code = code;
            } else if (topic != nullptr && topic_blocked(*topic)) {
                pr.error_code = k::invalid_topic_exception;
            } else if (!lookup(ctx, topic, *part, p.timestamp, pr)) {
                waiting = true;
                if (last) {
                    pr.error_code = k::request_timed_out;
                }
            }
            tr.partitions.push_back(std::move(pr));
        }
        resp.topics.push_back(std::move(tr));
    }
    return waiting && !last;
}

struct pending_lookup {
    request_context ctx;
    kafka::list_offsets_request req;
    int64_t deadline_ms = 0;
};

void run(const std::shared_ptr<pending_lookup>& l) {
    const broker_services& s = *l->ctx.services;
    const int64_t now = s.now();
    const bool last = now >= l->deadline_ms || s.remote == nullptr;
    kafka::list_offsets_response resp;
    if (!fill(l->ctx, l->req, resp, last)) {
        l->ctx.respond(resp);
        return;
    }
    // Asked again after the reader's next progress (or at the deadline).
    s.remote->await(std::chrono::milliseconds(l->deadline_ms - now), [l] { run(l); });
}

}  // namespace

void handlers::list_offsets(const request_context& ctx, kafka::list_offsets_request req) {
    auto l = std::make_shared<pending_lookup>(
        pending_lookup{ctx, std::move(req), ctx.services->now() + max_remote_wait_ms});
    run(l);
}

}  // namespace fjord::broker
