// File: broker/kafka/handlers/fetch.cc
//
// Fetch (key 1): records up to the high watermark of partitions this broker
// leads, capped by the broker's fetch.max.bytes; a real long poll
// (fetch.h). This broker creates no fetch sessions (KIP-227).
// Authorization: READ on each topic, else its partitions are
// TOPIC_AUTHORIZATION_FAILED (and not read); a Fetch with no readable
// partition at all is answered at once, as Kafka does. A parked Fetch keeps
// the decisions of its arrival (its context's snapshot).
// Mountable topics: a topic an unmount or mount blocks
// (broker/tiered/migration_rules.h) is INVALID_TOPIC_EXCEPTION.
// Tiered storage (handlers/tiered_read.h): an offset below the local log
// start of a redpanda.remote.read topic is read from the object store,
// transparently: the same whole batches, the same byte limits, and
// log_start_offset is the remote start. When the segment must be downloaded
// first, the partition counts as empty for now and the Fetch waits like a
// long poll: the remote reader's progress wakes it (broker_server.cc), and
// at max_wait_ms it is answered with what there is. Below the remote start
// it is OFFSET_OUT_OF_RANGE; an object-store failure is KAFKA_STORAGE_ERROR
// (errors.h), which clients retry.

#include "broker/kafka/handlers/fetch.h"

#include <algorithm>
#include <vector>

#include "broker/cluster/metadata_cache.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"
#include "broker/kafka/handlers/led_log.h"
#include "broker/kafka/handlers/tiered_read.h"
#include "broker/tiered/migration_rules.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

/// What fill_fetch found.
struct fill_result {
    uint64_t bytes = 0;  ///< bytes of records in the response
    bool error = false;  ///< a partition has an error, or none may be read
};

/// Builds the response from the logs (and the remote reader's cache) as
/// they are now.
fill_result fill_fetch(const request_context& ctx, const kafka::fetch_request& req,
                       kafka::fetch_response& resp) {
    const broker_services& s = *ctx.services;
    fill_result out;
    bool any_denied = false;
    bool any_readable = false;
    // Capped by the broker's fetch.max.bytes, as Kafka does.
    const uint64_t max_total =
        std::min<uint64_t>(req.max_bytes > 0 ? static_cast<uint64_t>(req.max_bytes) : uint64_t{0},
                           static_cast<uint64_t>(std::max(s.options.fetch_max_bytes, 0)));
    for (const auto& ft : req.topics) {
        kafka::fetch_response::fetchable_topic_response tr;
        tr.topic = ft.topic;
        tr.topic_id = ft.topic_id;
        const bool may_read = ctx.allowed_on_topic(security::acl_operation::read, ft.topic);
        const v1::Topic* topic = s.md.topic(ft.topic);
        for (const auto& fp : ft.partitions) {
            kafka::fetch_response::partition_data pd;
            pd.partition_index = fp.partition;
            pd.records = std::string();
            if (!may_read) {
                pd.error_code = k::topic_authorization_failed;
                any_denied = true;
                tr.partitions.push_back(std::move(pd));
                continue;
            }
            any_readable = true;
            auto [part, code] = find_led_log(s, ft.topic, fp.partition);
            if (part != nullptr && topic != nullptr && topic_blocked(*topic)) {
                code = k::invalid_topic_exception;
                part = nullptr;
            }
            if (part == nullptr) {
                pd.error_code = code;
                out.error = true;
                tr.partitions.push_back(std::move(pd));
                continue;
            }
            const storage::partition_log& l = part->log();
            const kafka_offset local_start = l.log_start_offset();
            const kafka_offset deleted_before = l.records_deleted_before();
            const auto remote =
                topic != nullptr ? remote_of(s, *topic, fp.partition) : std::nullopt;
            pd.high_watermark = part->high_watermark().value();
            pd.last_stable_offset = pd.high_watermark;
            pd.log_start_offset =
                visible_log_start(remote, local_start.value(), deleted_before.value());
            const uint64_t room = out.bytes >= max_total ? 0 : max_total - out.bytes;
            const uint64_t part_max = std::min<uint64_t>(
                fp.partition_max_bytes > 0 ? static_cast<uint64_t>(fp.partition_max_bytes) : 0,
                room);
            // Kafka sends the first batch even when it exceeds the limits,
            // but only for the first partition with data.
            const auto rule = out.bytes == 0 ? storage::first_batch::may_exceed_max_bytes
                                             : storage::first_batch::within_max_bytes;
            kafka_offset from{fp.fetch_offset};
            // Below the DeleteRecords start nothing is served (the local
            // read below answers OFFSET_OUT_OF_RANGE).
            if (remote && from >= deleted_before && from < local_start) {
                auto a = remote->reader->read(remote->rp, from, local_start, part_max, rule);
                if (a.is_pending()) {
                    // Empty for now; the download's completion wakes this Fetch.
                    tr.partitions.push_back(std::move(pd));
                    continue;
                }
                if (a.is_failed()) {
                    pd.error_code = kafka_error(a.error.code);
                    out.error = true;
                    tr.partitions.push_back(std::move(pd));
                    continue;
                }
                if (!a.value.beyond_remote) {
                    pd.log_start_offset =
                        visible_log_start(remote, local_start.value(), deleted_before.value());
                    out.bytes += a.value.slice.bytes.size();
                    pd.records = std::move(a.value.slice.bytes);
                    tr.partitions.push_back(std::move(pd));
                    continue;
                }
                // A gap between the remote end and the local start (as
                // compaction leaves): the records go on locally.
                from = local_start;
            }
            auto slice = l.read(from, part_max, part->high_watermark(), rule);
            if (!slice) {
                pd.error_code = kafka_error(slice.error().code);
                out.error = true;
            } else {
                out.bytes += slice->bytes.size();
                pd.records = std::move(slice->bytes);
            }
            tr.partitions.push_back(std::move(pd));
        }
        resp.responses.push_back(std::move(tr));
    }
    out.error = out.error || (any_denied && !any_readable);
    return out;
}

}  // namespace

/// A Fetch waiting for min_bytes or max_wait_ms.
struct parked_fetches::parked {
    request_context ctx;
    kafka::fetch_request request;
    bool done = false;
    /// On the partitions it reads; dropped when it is answered.
    std::vector<partition::subscription> watching;
};

void handlers::fetch(const request_context& ctx, kafka::fetch_request req) {
    if (req.session_id != 0) {
        // This broker creates no fetch sessions (KIP-227 lets it refuse: it
        // answers session id 0), so a client naming one is wrong.
        kafka::fetch_response resp;
        resp.error_code = 70;  // FETCH_SESSION_ID_NOT_FOUND
        ctx.respond(resp);
        return;
    }
    kafka::fetch_response resp;
    const fill_result r = fill_fetch(ctx, req, resp);
    // A partition waiting for the object store waits like a long poll: for
    // at most max_wait_ms, unless the others already bring min_bytes.
    if (r.error || req.max_wait_ms <= 0 || static_cast<int64_t>(r.bytes) >= req.min_bytes) {
        ctx.respond(resp);
        return;
    }
    ctx.services->fetches.park(ctx, std::move(req));
}

parked_fetches::parked_fetches(schedule_fn schedule) : _schedule(std::move(schedule)) {}

void parked_fetches::park(const request_context& ctx, kafka::fetch_request req) {
    auto p = std::make_shared<parked>(parked{ctx, std::move(req), false, {}});
    _parked.push_back(p);
    watch(p);
    _schedule(std::chrono::milliseconds(p->request.max_wait_ms), [this, p] {
        if (p->done) {
            return;
        }
        finish(*p);
    });
}

void parked_fetches::watch(const std::shared_ptr<parked>& p) {
    p->watching.clear();
    const std::weak_ptr<parked> weak = p;
    for (const auto& ft : p->request.topics) {
        for (const auto& fp : ft.partitions) {
            partition* part = find_led_log(*p->ctx.services, ft.topic, fp.partition).part;
            if (part == nullptr) {
                continue;
            }
            // Records become readable when the high watermark moves.
            p->watching.push_back(part->observe([this, weak] {
                if (auto q = weak.lock(); q && !q->done) {
                    (void)recheck(*q);
                }
            }));
        }
    }
}

bool parked_fetches::recheck(parked& p) {
    kafka::fetch_response probe;
    const fill_result r = fill_fetch(p.ctx, p.request, probe);
    if (r.error || static_cast<int64_t>(r.bytes) >= p.request.min_bytes) {
        // Answered with what was just read (reading again could start
        // another download).
        p.done = true;
        p.watching.clear();
        p.ctx.respond(probe);
        _parked.remove_if([&](const auto& x) { return x.get() == &p; });
        return true;
    }
    return false;
}

void parked_fetches::finish(parked& p) {
    p.done = true;
    p.watching.clear();
    kafka::fetch_response resp;
    (void)fill_fetch(p.ctx, p.request, resp);
    p.ctx.respond(resp);
    _parked.remove_if([&](const auto& x) { return x.get() == &p; });
}

void parked_fetches::wake() {
    if (_waking) {
        return;
    }
    _waking = true;
    // Copy: finishing a fetch removes it from the list.
    const auto snapshot = _parked;
    for (const auto& p : snapshot) {
        if (p->done || recheck(*p)) {
            continue;
        }
        watch(p);  // its partitions may have been reopened
    }
    _waking = false;
}

void parked_fetches::on_close(const session& s) {
    for (auto& p : _parked) {
        if (p->ctx.conn->id() == s.id()) {
            p->done = true;
            p->watching.clear();
        }
    }
    _parked.remove_if([&](const auto& p) { return p->ctx.conn->id() == s.id(); });
}

}  // namespace fjord::broker
