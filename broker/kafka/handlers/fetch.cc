// File: broker/kafka/handlers/fetch.cc
//
// Fetch (key 1): records up to the high watermark of partitions this broker
// leads, capped by the broker's fetch.max.bytes; a real long poll
// (fetch.h). This broker creates no fetch sessions (KIP-227).
// Authorization: READ on each topic, else its partitions are
// TOPIC_AUTHORIZATION_FAILED (and not read); a Fetch with no readable
// partition at all is answered at once, as Kafka does. A parked Fetch keeps
// the decisions of its arrival (its context's snapshot).

#include "broker/kafka/handlers/fetch.h"

#include <algorithm>
#include <vector>

#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"
#include "broker/kafka/handlers/led_log.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

/// Builds the response from the logs as they are now; returns the bytes of
/// records it holds and whether any partition has an error (or none may be
/// read: nothing to wait for).
std::pair<uint64_t, bool> fill_fetch(const request_context& ctx, const kafka::fetch_request& req,
                                     kafka::fetch_response& resp) {
    const broker_services& s = *ctx.services;
    uint64_t total = 0;
    bool any_error = false;
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
            if (part == nullptr) {
                pd.error_code = code;
                any_error = true;
                tr.partitions.push_back(std::move(pd));
                continue;
            }
            const storage::partition_log& l = part->log();
            pd.high_watermark = part->high_watermark().value();
            pd.last_stable_offset = pd.high_watermark;
            pd.log_start_offset = l.log_start_offset().value();
            const uint64_t room = total >= max_total ? 0 : max_total - total;
            const uint64_t part_max = std::min<uint64_t>(
                fp.partition_max_bytes > 0 ? static_cast<uint64_t>(fp.partition_max_bytes) : 0,
                room);
            // Kafka sends the first batch even when it exceeds the limits,
            // but only for the first partition with data.
            const auto rule = total == 0 ? storage::first_batch::may_exceed_max_bytes
                                         : storage::first_batch::within_max_bytes;
            auto slice =
                l.read(kafka_offset{fp.fetch_offset}, part_max, part->high_watermark(), rule);
            if (!slice) {
                pd.error_code = kafka_error(slice.error().code);
                any_error = true;
            } else {
                total += slice->bytes.size();
                pd.records = std::move(slice->bytes);
            }
            tr.partitions.push_back(std::move(pd));
        }
        resp.responses.push_back(std::move(tr));
    }
    return {total, any_error || (any_denied && !any_readable)};
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
    const auto [bytes, error] = fill_fetch(ctx, req, resp);
    if (error || req.max_wait_ms <= 0 || static_cast<int64_t>(bytes) >= req.min_bytes) {
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
    const auto [bytes, error] = fill_fetch(p.ctx, p.request, probe);
    if (error || static_cast<int64_t>(bytes) >= p.request.min_bytes) {
        finish(p);
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
