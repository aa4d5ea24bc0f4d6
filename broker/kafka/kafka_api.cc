// File: broker/kafka/kafka_api.cc
//
// The handlers behind kafka_api.h. Each takes the decoded request and
// answers through `reply` exactly once; error codes come from errors.h.

#include "broker/kafka/kafka_api.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "broker/kafka/admin_api.h"
#include "broker/kafka/api_module.h"
#include "broker/kafka/errors.h"
#include "common/kafka/frame.h"
#include "common/kafka/messages/api_versions.h"
#include "common/kafka/messages/fetch.h"
#include "common/kafka/messages/list_offsets.h"
#include "common/kafka/messages/metadata.h"
#include "common/kafka/messages/produce.h"
#include "common/log.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;
using storage::kafka_offset;
constexpr const char* component = "kafka";

/// What kafka_api serves itself; modules add theirs (api_module.h).
/// Produce is listed from v0 although v0-2 (message formats 0 and 1) are
/// refused per partition: librdkafka compresses gzip, snappy and lz4 only
/// when a broker lists Produce v0-2 (its feature check), as Kafka 4.0 found
/// (KAFKA-18659) and answered the same way.
constexpr int16_t produce_min_stored_version = 3;
constexpr served_api served[] = {
    {kafka::api_key::produce, 0, 9},      {kafka::api_key::fetch, 4, 12},
    {kafka::api_key::list_offsets, 1, 6}, {kafka::api_key::metadata, 0, 12},
    {kafka::api_key::api_versions, 0, 3},
};

const v1::PartitionAssignment* find_partition(const v1::Topic& t, int32_t p) {
    for (const auto& a : t.partitions()) {
        if (a.partition() == p) {
            return &a;
        }
    }
    return nullptr;
}

}  // namespace

/// A Fetch waiting for min_bytes or max_wait_ms.
struct kafka_api::parked_fetch {
    uint64_t connection = 0;
    kafka::request_view header;  // body no longer valid; header fields only
    int16_t version = 0;
    kafka::fetch_request request;
    reply_fn reply;
    bool done = false;
};

/// The handlers, with access to kafka_api's state.
struct handlers {
    kafka_api& api;

    template <typename Resp>
    void respond(const kafka::request_view& rq, const Resp& resp, const reply_fn& reply,
                 const connection_info& conn) {
        send_response(rq, resp, reply, conn);
    }

    template <typename Req>
    std::optional<Req> decode(const kafka::request_view& rq, const connection_info& conn) {
        return decode_request<Req>(rq, conn);
    }

    // ------------------------------------------------------------ ApiVersions

    void api_versions(const kafka::request_view& rq, const connection_info& conn,
                      const reply_fn& reply) {
        kafka::api_versions_response resp;
        const auto add = [&](const served_api& s) {
            kafka::api_versions_response::api_version v;
            v.api_key = static_cast<int16_t>(s.key);
            v.min_version = s.min;
            v.max_version = s.max;
            resp.api_keys.push_back(v);
        };
        for (const auto& s : served) {
            add(s);
        }
        for (api_module* m : api._modules) {
            for (const auto& s : m->apis()) {
                add(s);
            }
        }
        std::sort(resp.api_keys.begin(), resp.api_keys.end(),
                  [](const auto& a, const auto& b) { return a.api_key < b.api_key; });
        const served_api* self = api.find_api(rq.api_key()).first;
        if (rq.api_version() < self->min || rq.api_version() > self->max) {
            // KIP-511: a version we do not know gets a v0 response naming
            // what we support, so the client can retry with one of them.
            resp.error_code = k::unsupported_version;
            kafka::writer w;
            (void)resp.encode(w, 0);
            reply(reply_t::response(kafka::response_message(rq.correlation_id(), 0, w.data())));
            return;
        }
        // The body (client software name/version, v3) is informational.
        if (!decode<kafka::api_versions_request>(rq, conn)) {
            resp.error_code = k::invalid_request;
        }
        respond(rq, resp, reply, conn);
    }

    // ------------------------------------------------------------ Metadata

    void fill_partitions(const v1::Topic& t,
                         kafka::metadata_response::metadata_response_topic& out) {
        for (const auto& a : t.partitions()) {
            kafka::metadata_response::metadata_response_partition p;
            p.partition_index = a.partition();
            p.leader_id = a.leader();
            p.leader_epoch = static_cast<int32_t>(a.leader_epoch());
            p.replica_nodes.assign(a.replicas().begin(), a.replicas().end());
            if (a.leader() >= 0) {
                // Until replication between brokers lands, only the leader
                // holds the data: the ISR is the leader alone.
                p.isr_nodes.push_back(a.leader());
            } else {
                p.error_code = k::leader_not_available;
            }
            out.partitions.push_back(std::move(p));
        }
    }

    void metadata(const kafka::request_view& rq, const connection_info& conn,
                  const reply_fn& reply) {
        auto req = decode<kafka::metadata_request>(rq, conn);
        if (!req) {
            reply(reply_t::close_connection());
            return;
        }
        kafka::metadata_response resp;
        for (const auto& [id, b] : api._md.brokers()) {
            const v1::Endpoint* ep = kafka_endpoint(b);
            if (ep == nullptr) {
                continue;
            }
            kafka::metadata_response::metadata_response_broker mb;
            mb.node_id = id;
            mb.host = ep->host();
            mb.port = ep->port();
            if (!b.rack().empty()) {
                mb.rack = b.rack();
            }
            resp.brokers.push_back(std::move(mb));
        }
        resp.cluster_id = api._md.cluster_uuid();
        // No broker is a Kafka controller here (the controller is Fjord's
        // Raft group); admin requests would come to this broker.
        resp.controller_id = api._me.node_id;

        // v0: an empty list means every topic; v1+: null means every topic.
        const bool all =
            !req->topics.has_value() || (rq.api_version() == 0 && req->topics->empty());
        if (all) {
            for (const auto& [name, t] : api._md.topics()) {
                kafka::metadata_response::metadata_response_topic mt;
                mt.name = name;
                mt.topic_id = to_kafka_uuid(t.uuid());
                fill_partitions(t, mt);
                resp.topics.push_back(std::move(mt));
            }
        } else {
            for (const auto& want : *req->topics) {
                kafka::metadata_response::metadata_response_topic mt;
                const v1::Topic* t = nullptr;
                if (want.name) {
                    t = api._md.topic(*want.name);
                    mt.name = *want.name;
                } else {
                    for (const auto& [name, cand] : api._md.topics()) {
                        if (to_kafka_uuid(cand.uuid()) == want.topic_id) {
                            t = &cand;
                            mt.name = name;
                        }
                    }
                    if (t == nullptr) {
                        mt.name = std::nullopt;
                    }
                }
                if (t == nullptr) {
                    // An unknown name may be auto-created (admin_api.h):
                    // LEADER_NOT_AVAILABLE meanwhile, as Kafka answers.
                    mt.error_code = k::unknown_topic_or_partition;
                    mt.topic_id = want.topic_id;
                    admin_api* admin = admin_api::find(api._modules);
                    if (admin != nullptr && want.name && req->allow_auto_topic_creation &&
                        !cluster::is_internal_topic(*want.name)) {
                        mt.error_code = admin->auto_create_topic(*want.name);
                    }
                } else {
                    mt.topic_id = to_kafka_uuid(t->uuid());
                    fill_partitions(*t, mt);
                }
                resp.topics.push_back(std::move(mt));
            }
        }
        if (rq.api_version() >= 1) {  // is_internal exists from v1
            for (auto& mt : resp.topics) {
                mt.is_internal = mt.name && cluster::is_internal_topic(*mt.name);
            }
        }
        respond(rq, resp, reply, conn);
    }

    // ------------------------------------------------------------ partitions

    /// The log of a partition this broker leads, or the error code why not.
    std::pair<storage::partition_log*, int16_t> leader_log(const std::string& topic,
                                                           int32_t partition) {
        const v1::Topic* t = api._md.topic(topic);
        if (t == nullptr) {
            return {nullptr, k::unknown_topic_or_partition};
        }
        const v1::PartitionAssignment* a = find_partition(*t, partition);
        if (a == nullptr) {
            return {nullptr, k::unknown_topic_or_partition};
        }
        if (a->leader() < 0) {
            return {nullptr, k::leader_not_available};
        }
        if (a->leader() != api._me.node_id) {
            return {nullptr, k::not_leader_or_follower};
        }
        storage::partition_log* l = api._pm.find(topic, partition);
        if (l == nullptr) {
            // Assigned here but not open (yet, or it failed to open).
            return {nullptr, k::not_leader_or_follower};
        }
        return {l, k::none};
    }

    // ------------------------------------------------------------ Produce

    /// Produce. Durability follows `acks` (docs/durability.md): the batch is
    /// written at once; acks=all is answered only when every partition it
    /// went to is fsynced (log_flusher: one group commit for all of them),
    /// acks=1 and 0 right after the write. Either way consumers see a batch
    /// only once it is durable, unless the topic has write.caching.
    void produce(const kafka::request_view& rq, const connection_info& conn,
                 const reply_fn& reply) {
        auto req = decode<kafka::produce_request>(rq, conn);
        if (!req) {
            reply(reply_t::close_connection());
            return;
        }
        const bool valid_acks = req->acks == 0 || req->acks == 1 || req->acks == -1;
        const bool old_format = rq.api_version() < produce_min_stored_version;
        const int64_t now = api._now();
        // The response, completed by the syncs acks=all waits for.
        struct pending {
            kafka::produce_response resp;
            size_t waiting = 0;
            bool sent = false;
        };
        auto state = std::make_shared<pending>();
        // Partitions (topic index, partition index) per log to wait for.
        std::vector<std::pair<storage::partition_log*, std::vector<std::pair<size_t, size_t>>>>
            awaited;
        bool appended = false;
        for (auto& td : req->topic_data) {
            kafka::produce_response::topic_produce_response tr;
            tr.name = td.name;
            for (auto& pd : td.partition_data) {
                kafka::produce_response::partition_produce_response pr;
                pr.index = pd.index;
                pr.base_offset = -1;
                auto [log_ptr, code] = leader_log(td.name, pd.index);
                if (old_format) {
                    pr.error_code = k::unsupported_version;
                    pr.error_message =
                        "Produce v0-2 (message format 0 and 1) is not supported: "
                        "use v3 or later (record batches)";
                } else if (!valid_acks) {
                    pr.error_code = k::invalid_required_acks;
                } else if (cluster::is_internal_topic(td.name)) {
                    // The group coordinator's own log (broker/group/): only
                    // it appends there, as Kafka refuses clients' writes.
                    pr.error_code = k::invalid_topic_exception;
                    pr.error_message = "__consumer_offsets is internal: clients cannot produce";
                } else if (log_ptr == nullptr) {
                    pr.error_code = code;
                } else if (!pd.records || pd.records->empty()) {
                    pr.error_code = k::corrupt_message;
                    pr.error_message = "records: no record batch";
                } else {
                    auto r = log_ptr->append(std::move(*pd.records), now);
                    if (!r) {
                        pr.error_code = kafka_error(r.error().code);
                        pr.error_message = r.error().detail;
                        log(log_level::debug, component, "produce {}-{} from {}: {}", td.name,
                            pd.index, conn.peer, r.error().detail);
                    } else {
                        pr.base_offset = r->base_offset.value();
                        pr.log_append_time_ms = r->log_append_time;
                        pr.log_start_offset = log_ptr->log_start_offset().value();
                        if (log_ptr->config().write_caching) {
                            // Readable and acknowledged once written; the
                            // flush policy bounds what a power loss takes.
                            (void)log_ptr->set_high_watermark(log_ptr->log_end_offset());
                            appended = true;
                        } else if (req->acks == -1) {
                            // A retry deduplicated by the producer state
                            // waits too: its first write may not be synced.
                            auto it =
                                std::find_if(awaited.begin(), awaited.end(),
                                             [&](const auto& a) { return a.first == log_ptr; });
                            if (it == awaited.end()) {
                                awaited.emplace_back(log_ptr,
                                                     std::vector<std::pair<size_t, size_t>>{});
                                it = std::prev(awaited.end());
                            }
                            it->second.emplace_back(state->resp.responses.size(),
                                                    tr.partition_responses.size());
                        } else {
                            api._pm.flusher().sync(*log_ptr, nullptr);  // readable once synced
                        }
                    }
                }
                tr.partition_responses.push_back(std::move(pr));
            }
            state->resp.responses.push_back(std::move(tr));
        }
        if (appended) {
            api.wake_fetches();
        }
        if (req->acks == 0) {
            reply(reply_t::none());
            return;
        }
        state->waiting = awaited.size();
        if (state->waiting == 0) {
            respond(rq, state->resp, reply, conn);
            return;
        }
        // The header, for answering later (the body is gone by then).
        kafka::request_view header = rq;
        header.body = {};
        const connection_info c = conn;
        kafka_api* self = &api;  // `this` is a temporary: do not capture it
        for (auto& [log_ptr, parts] : awaited) {
            api._pm.flusher().sync(*log_ptr, [self, state, parts = std::move(parts), header, reply,
                                              c](const result<void>& synced) {
                if (!synced) {
                    // Written but not known durable: the outcome is
                    // unknown to the producer, which retries
                    // (idempotent producers safely).
                    for (const auto& [ti, pi] : parts) {
                        auto& pr = state->resp.responses[ti].partition_responses[pi];
                        pr.error_code = kafka_error(synced.error().code);
                        pr.error_message = synced.error().detail;
                        pr.base_offset = -1;
                    }
                }
                if (--state->waiting == 0 && !state->sent) {
                    state->sent = true;
                    handlers{*self}.respond(header, state->resp, reply, c);
                }
            });
        }
    }

    // ------------------------------------------------------------ Fetch

    /// Builds the response from the logs as they are now; returns the bytes
    /// of records it holds and whether any partition has an error.
    std::pair<uint64_t, bool> fill_fetch(const kafka::fetch_request& req,
                                         kafka::fetch_response& resp) {
        uint64_t total = 0;
        bool any_error = false;
        // Capped by the broker's fetch.max.bytes, as Kafka does.
        const uint64_t max_total = std::min<uint64_t>(
            req.max_bytes > 0 ? static_cast<uint64_t>(req.max_bytes) : uint64_t{0},
            static_cast<uint64_t>(std::max(api._options.fetch_max_bytes, 0)));
        for (const auto& ft : req.topics) {
            kafka::fetch_response::fetchable_topic_response tr;
            tr.topic = ft.topic;
            tr.topic_id = ft.topic_id;
            for (const auto& fp : ft.partitions) {
                kafka::fetch_response::partition_data pd;
                pd.partition_index = fp.partition;
                pd.records = std::string();
                auto [log_ptr, code] = leader_log(ft.topic, fp.partition);
                if (log_ptr == nullptr) {
                    pd.error_code = code;
                    any_error = true;
                    tr.partitions.push_back(std::move(pd));
                    continue;
                }
                pd.high_watermark = log_ptr->high_watermark().value();
                pd.last_stable_offset = pd.high_watermark;
                pd.log_start_offset = log_ptr->log_start_offset().value();
                const uint64_t room = total >= max_total ? 0 : max_total - total;
                const uint64_t part_max = std::min<uint64_t>(
                    fp.partition_max_bytes > 0 ? static_cast<uint64_t>(fp.partition_max_bytes) : 0,
                    room);
                // Kafka sends the first batch even when it exceeds the
                // limits, but only for the first partition with data.
                const auto rule = total == 0 ? storage::first_batch::may_exceed_max_bytes
                                             : storage::first_batch::within_max_bytes;
                auto slice = log_ptr->read(kafka_offset{fp.fetch_offset}, part_max,
                                           log_ptr->high_watermark(), rule);
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
        return {total, any_error};
    }

    void fetch(const kafka::request_view& rq, const connection_info& conn, const reply_fn& reply) {
        auto req = decode<kafka::fetch_request>(rq, conn);
        if (!req) {
            reply(reply_t::close_connection());
            return;
        }
        if (req->session_id != 0) {
            // This broker creates no fetch sessions (KIP-227 lets it refuse:
            // it answers session id 0), so a client naming one is wrong.
            kafka::fetch_response resp;
            resp.error_code = 70;  // FETCH_SESSION_ID_NOT_FOUND
            respond(rq, resp, reply, conn);
            return;
        }
        kafka::fetch_response resp;
        const auto [bytes, error] = fill_fetch(*req, resp);
        if (error || req->max_wait_ms <= 0 || static_cast<int64_t>(bytes) >= req->min_bytes) {
            respond(rq, resp, reply, conn);
            return;
        }
        auto p = std::make_shared<kafka_api::parked_fetch>();
        p->connection = conn.id;
        p->header = rq;
        p->header.body = {};
        p->version = rq.api_version();
        p->request = std::move(*req);
        p->reply = reply;
        api._parked.push_back(p);
        const connection_info c = conn;
        kafka_api* self = &api;  // `this` is a temporary: do not capture it
        api._schedule(std::chrono::milliseconds(p->request.max_wait_ms), [self, p, c] {
            if (p->done) {
                return;
            }
            handlers{*self}.finish_parked(*p, c);
        });
    }

    void finish_parked(kafka_api::parked_fetch& p, const connection_info& conn) {
        p.done = true;
        kafka::fetch_response resp;
        (void)fill_fetch(p.request, resp);
        respond(p.header, resp, p.reply, conn);
        api._parked.remove_if([&](const auto& x) { return x.get() == &p; });
    }

    // ------------------------------------------------------------ ListOffsets

    void list_offsets(const kafka::request_view& rq, const connection_info& conn,
                      const reply_fn& reply) {
        auto req = decode<kafka::list_offsets_request>(rq, conn);
        if (!req) {
            reply(reply_t::close_connection());
            return;
        }
        kafka::list_offsets_response resp;
        for (const auto& t : req->topics) {
            kafka::list_offsets_response::list_offsets_topic_response tr;
            tr.name = t.name;
            for (const auto& p : t.partitions) {
                kafka::list_offsets_response::list_offsets_partition_response pr;
                pr.partition_index = p.partition_index;
                auto [log_ptr, code] = leader_log(t.name, p.partition_index);
                if (log_ptr == nullptr) {
                    pr.error_code = code;
                } else if (p.timestamp == -2) {  // earliest
                    pr.offset = log_ptr->log_start_offset().value();
                } else if (p.timestamp == -1) {  // latest (the high watermark)
                    pr.offset = log_ptr->high_watermark().value();
                } else if (p.timestamp < 0) {
                    pr.error_code = k::invalid_request;  // -3 (max timestamp) needs v7
                } else {
                    auto found =
                        log_ptr->offset_for_timestamp(p.timestamp, log_ptr->high_watermark());
                    if (!found) {
                        pr.error_code = kafka_error(found.error().code);
                    } else if (*found) {
                        pr.offset = (*found)->offset.value();
                        pr.timestamp = (*found)->timestamp;
                    }
                }
                tr.partitions.push_back(std::move(pr));
            }
            resp.topics.push_back(std::move(tr));
        }
        respond(rq, resp, reply, conn);
    }
};

kafka_api::kafka_api(broker_endpoint me, metadata_cache& md, partition_manager& pm,
                     schedule_fn schedule, clock_fn now, std::vector<api_module*> modules,
                     kafka_api_options options)
    : _me(std::move(me)),
      _md(md),
      _pm(pm),
      _schedule(std::move(schedule)),
      _now(std::move(now)),
      _modules(std::move(modules)),
      _options(options) {
    // Records become readable when they are durable: wake parked Fetches.
    _pm.flusher().set_on_commit([this] { wake_fetches(); });
}

kafka_api::~kafka_api() {
    _pm.flusher().set_on_commit(nullptr);
}

std::pair<const served_api*, api_module*> kafka_api::find_api(int16_t key) const {
    for (const auto& s : served) {
        if (static_cast<int16_t>(s.key) == key) {
            return {&s, nullptr};
        }
    }
    for (api_module* m : _modules) {
        for (const auto& s : m->apis()) {
            if (static_cast<int16_t>(s.key) == key) {
                return {&s, m};
            }
        }
    }
    return {nullptr, nullptr};
}

void kafka_api::on_frame(const connection_info& conn, std::string frame, reply_fn reply) {
    auto rq = kafka::parse_request(frame);
    if (!rq) {
        log(log_level::warn, component, "{}: bad request header: {}; closing", conn.peer,
            rq.error().detail);
        reply(reply_t::close_connection());
        return;
    }
    handlers h{*this};
    const auto [s, module] = find_api(rq->api_key());
    if (s == nullptr) {
        log(log_level::warn, component, "{} (client {}): API {} ({}) is not served; closing",
            conn.peer, rq->header.client_id.value_or(""), rq->api_key(), rq->api->name);
        reply(reply_t::close_connection());
        return;
    }
    if (rq->api_key() == static_cast<int16_t>(kafka::api_key::api_versions)) {
        h.api_versions(*rq, conn, reply);
        return;
    }
    if (rq->api_version() < s->min || rq->api_version() > s->max) {
        log(log_level::warn, component, "{} (client {}): {} v{} is not served (v{}-{}); closing",
            conn.peer, rq->header.client_id.value_or(""), rq->api->name, rq->api_version(), s->min,
            s->max);
        reply(reply_t::close_connection());
        return;
    }
    if (module != nullptr) {
        module->serve(*rq, conn, reply);
        return;
    }
    switch (static_cast<kafka::api_key>(rq->api_key())) {
        case kafka::api_key::metadata:
            h.metadata(*rq, conn, reply);
            return;
        case kafka::api_key::produce:
            h.produce(*rq, conn, reply);
            return;
        case kafka::api_key::fetch:
            h.fetch(*rq, conn, reply);
            return;
        case kafka::api_key::list_offsets:
            h.list_offsets(*rq, conn, reply);
            return;
        default:
            reply(reply_t::close_connection());
            return;
    }
}

void kafka_api::on_close(const connection_info& conn) {
    for (api_module* m : _modules) {
        m->on_close(conn);
    }
    for (auto& p : _parked) {
        if (p->connection == conn.id) {
            p->done = true;
        }
    }
    _parked.remove_if([&](const auto& p) { return p->connection == conn.id; });
}

void kafka_api::wake_fetches() {
    if (_waking) {
        return;
    }
    _waking = true;
    handlers h{*this};
    // Copy: finishing a fetch removes it from the list.
    const auto parked = _parked;
    for (const auto& p : parked) {
        if (p->done) {
            continue;
        }
        kafka::fetch_response probe;
        const auto [bytes, error] = h.fill_fetch(p->request, probe);
        if (error || static_cast<int64_t>(bytes) >= p->request.min_bytes) {
            connection_info c;
            c.id = p->connection;
            h.finish_parked(*p, c);
        }
    }
    _waking = false;
}

kafka::uuid to_kafka_uuid(std::string_view text) {
    std::string hex;
    for (char c : text) {
        if (c != '-') {
            hex.push_back(c);
        }
    }
    kafka::uuid u;
    if (hex.size() != 32) {
        return u;
    }
    const auto parse = [](std::string_view s, uint64_t& out) {
        return std::from_chars(s.data(), s.data() + s.size(), out, 16).ec == std::errc();
    };
    if (!parse(std::string_view(hex).substr(0, 16), u.high) ||
        !parse(std::string_view(hex).substr(16, 16), u.low)) {
        return kafka::uuid{};
    }
    return u;
}

}  // namespace fjord::broker
