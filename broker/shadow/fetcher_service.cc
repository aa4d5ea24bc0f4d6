// File: broker/shadow/fetcher_service.cc
//
// The fetchers (fetcher_service.h): the io thread's side (reconcile, the
// fenced appends, tick), a link's thread (link_worker::run), and the
// status both feed (report, metrics).

#include "broker/shadow/fetcher_service.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/shadow/fetch_rules.h"
#include "broker/shadow/source_client.h"
#include "common/cluster/shadow_link.h"
#include "common/kafka/client/wire_client.h"
#include "common/kafka/messages/fetch.h"
#include "common/kafka/messages/list_offsets.h"
#include "common/kafka/messages/metadata.h"
#include "common/log.h"
#include "common/metrics.h"

namespace fjord::broker::shadow {
namespace {

constexpr const char* component = "shadow";
namespace sh = cluster::shadow;
using kafka::client::wire_client;

/// One shadow partition a link copies on this broker.
struct task {
    std::string topic;
    std::string topic_uuid;
    std::string source_topic;
    std::string source_topic_id;  ///< the source's id at create ("" unknown)
    int32_t partition = 0;
    int64_t start_query = earliest;  ///< ListOffsets' timestamp (start_query())
    /// TopicShadow.state_revision: a state change (pause and resume, ...)
    /// is a new task, which clears a sticky fault.
    uint64_t shadow_revision = 0;
    bool operator==(const task&) const = default;
};

using pkey = std::pair<std::string, int32_t>;  // (shadow topic, partition)

struct partition_status {
    std::string topic;
    int32_t partition = 0;
    int64_t source_lso = -1;
    int64_t source_hwm = -1;
    int64_t shadow_hwm = 0;
    int64_t updated_ms = 0;
    std::string state{state_active};
    std::string reason;
};

struct link_totals {
    uint64_t bytes_fetched = 0;
    uint64_t bytes_written = 0;
    uint64_t records_fetched = 0;
    uint64_t records_written = 0;
    uint64_t client_errors = 0;
};

/// What the io thread answers a link thread about one partition.
struct io_answer {
    bool fenced = false;      ///< no longer copied here (why says why)
    std::string why;          ///< fenced, or the append's error
    bool failed = false;      ///< an append or a move failed (why)
    int64_t log_end = 0;      ///< the shadow log's end after the call
    bool empty = false;       ///< the log holds no batch
    int64_t hwm = 0;          ///< its high watermark
    int32_t last_epoch = -1;  ///< its last batch's partitionLeaderEpoch (-1: none, unreadable)
    uint64_t bytes_written = 0;
    int64_t records_written = 0;
};

}  // namespace

struct link_worker;

struct fetcher_service::impl : std::enable_shared_from_this<fetcher_service::impl> {
    fetcher_options o;
    // The io thread's.
    const metadata_cache* md = nullptr;
    partition_manager* pm = nullptr;
    std::map<std::string, std::shared_ptr<link_worker>> workers;
    /// Workers told to stop, joined once done (or at stop()).
    std::vector<std::shared_ptr<link_worker>> retired;
    std::atomic<bool> stopped{false};

    // The status, under mu.
    mutable std::mutex mu;
    std::map<std::string, std::map<pkey, partition_status>> parts;     // by link
    std::map<std::string, std::pair<std::string, std::string>> tasks;  // link -> (state, reason)
    std::map<std::string, link_totals> totals;                         // by link
    std::map<std::pair<std::string, std::string>, int> topic_states;   // (link, topic)

    explicit impl(fetcher_options opts) : o(std::move(opts)) {}

    int64_t now() const { return o.now ? o.now() : 0; }

    /// io thread: the partition `t` of `link` if it is still to be copied
    /// here (the failover fence), else null with `why`.
    partition* fenced(const std::string& link, const task& t, std::string& why) const;
    /// io thread: the answer fields about `p`'s log; its last batch's
    /// epoch is read from the log unless `read_epoch` is false (the caller
    /// knows it).
    static void describe(const partition& p, io_answer& a, bool read_epoch = true) {
        const storage::partition_log& log = p.log();
        a.log_end = log.log_end_offset().value();
        a.empty = log.size_bytes() == 0;
        a.hwm = p.high_watermark().value();
        if (!read_epoch) {
            return;
        }
        a.last_epoch = -1;
        if (!a.empty && a.log_end > log.log_start_offset().value()) {
            // The batch holding the last offset is the last batch.
            if (auto r = log.read(kafka_offset{a.log_end - 1}, 1, kafka_offset{a.log_end}); r) {
                a.last_epoch = last_batch_epoch(r->bytes);
            }
        }
    }
    /// io thread: the shadow HWM in the status, after a sync.
    void note_hwm(const std::string& link, const pkey& k, int64_t hwm) {
        std::lock_guard g(mu);
        auto l = parts.find(link);
        if (l == parts.end()) {
            return;
        }
        if (auto p = l->second.find(k); p != l->second.end()) {
            p->second.shadow_hwm = hwm;
        }
    }
};

/// One link's fetch thread and what the io thread gives it.
struct link_worker {
    std::shared_ptr<fetcher_service::impl> svc;
    std::string name;
    std::thread thread;
    std::atomic<bool> stop{false};
    std::atomic<bool> done{false};  ///< run() returned

    // Set by the io thread, read by the worker, under mu.
    std::mutex mu;
    std::condition_variable cv;
    v1::ShadowLink config;
    std::vector<task> tasks;
    uint64_t generation = 0;

    // The worker's own.
    struct cursor {
        std::optional<int64_t> log_end;  ///< the log's true end; unknown: probe the io thread
        /// Where the next Fetch asks, when beyond log_end: the source's
        /// retention passed the shadow (a gap). Batches are still planned
        /// against log_end (plan_copy).
        std::optional<int64_t> resume_at;
        int32_t last_epoch = -1;  ///< the log's last batch's epoch (LastFetchedEpoch)
        /// Sticky: the source is no longer the log the shadow copied (the
        /// reason). Never fetched again while the task stays the same.
        std::optional<std::string> fault;
        bool empty = false;
        bool start_checked = false;  ///< start_at applied (empty logs)
        int64_t retry_at_ms = 0;     ///< a faulted or failing partition waits
    };
    std::map<pkey, cursor> cursors;
    /// Where `c`'s next Fetch asks.
    static int64_t fetch_at(const cursor& c) {
        return std::max(*c.log_end, c.resume_at.value_or(*c.log_end));
    }
    /// The cursor's log end and epoch from an io answer.
    static void take(cursor& c, const io_answer& a) {
        c.log_end = a.log_end;
        c.empty = a.empty;
        c.last_epoch = a.last_epoch;
        if (c.resume_at && *c.resume_at <= a.log_end) {
            c.resume_at.reset();
        }
    }
    /// Faults `t` for good (cursor::fault): FAULTED with `reason`.
    void fault(const task& t, const std::string& reason);
    std::unique_ptr<wire_client> bootstrap;
    size_t next_bootstrap = 0;
    std::map<int32_t, std::unique_ptr<wire_client>> conns;  // by source broker id
    std::map<int32_t, std::string> brokers;                 // source broker id -> host:port
    std::map<pkey, int32_t> leaders;                        // (source topic, partition) -> id
    std::map<pkey, int32_t> leader_epochs;                  // (source topic, partition) -> epoch
    bool metadata_ok = false;
    int64_t metadata_at_ms = 0;
    int64_t backoff_ms = 0;
    kafka::client::client_options client;
    std::string config_error;  ///< the config does not make a client (the field named)

    void run();
    /// Sleeps up to `ms` unless stopping (a new config wakes it too).
    void pause(int64_t ms, uint64_t seen_generation);

    // --- the io thread, from the worker --------------------------------------

    /// Runs `fn` on the io thread and waits for its answer (nullopt: the
    /// io thread did not answer in time, or stopping).
    std::optional<io_answer> on_io(std::function<io_answer(fetcher_service::impl&)> fn);
    std::optional<io_answer> probe(const task& t);
    std::optional<io_answer> append(const task& t, std::shared_ptr<std::string> records,
                                    copy_plan plan);
    std::optional<io_answer> move_start(const task& t, int64_t offset);

    // --- the source ------------------------------------------------------------

    bool refresh_metadata(const std::vector<task>& ts, const v1::ShadowLink& l);
    wire_client* connection(int32_t broker, std::string& why);
    /// ListOffsets at `ts` for each of `parts` (source topic, partition) on
    /// `leader`: offset per partition, or the error code (negative).
    std::map<pkey, std::pair<int16_t, int64_t>> list_offsets(int32_t leader,
                                                             const std::vector<pkey>& parts,
                                                             const std::vector<int64_t>& ts,
                                                             std::string& why);
    void fetch_from(int32_t leader, const std::vector<const task*>& ts, const v1::ShadowLink& l,
                    int32_t max_wait_ms);

    // --- status ------------------------------------------------------------------

    void set_task_state(std::string_view state, const std::string& reason);
    void set_partition(const task& t, std::string_view state, const std::string& reason);
    /// Runs `fn` on t's status, if the io thread still lists it (under mu).
    void with_status(const task& t, const std::function<void(partition_status&)>& fn);
    void client_error(const std::string& why);
    void drop_connections() {
        bootstrap.reset();
        conns.clear();
        metadata_ok = false;
    }
};

// ------------------------------------------------------------ the io thread

partition* fetcher_service::impl::fenced(const std::string& link, const task& t,
                                         std::string& why) const {
    if (stopped || md == nullptr || pm == nullptr) {
        why = "the broker is stopping";
        return nullptr;
    }
    const v1::Topic* topic = md->topic(t.topic);
    if (topic == nullptr || topic->uuid() != t.topic_uuid) {
        why = "the topic was deleted";
        return nullptr;
    }
    if (!topic->has_shadow() || topic->shadow().link() != link) {
        why = fmt::format("no longer a shadow topic of link {}", link);
        return nullptr;
    }
    if (!sh::replicates(topic->shadow().state())) {
        why = fmt::format("the topic is {}", sh::to_string(topic->shadow().state()));
        return nullptr;
    }
    const v1::ShadowLink* l = md->shadow_link(link);
    if (l == nullptr || l->state() != v1::SHADOW_LINK_STATE_ACTIVE) {
        why = l == nullptr ? "the link was deleted" : "the link is paused";
        return nullptr;
    }
    bool leader = false;
    for (const auto& a : topic->partitions()) {
        if (a.partition() == t.partition) {
            leader = a.leader() == o.node_id;
        }
    }
    partition* p = leader ? pm->find(t.topic, t.partition) : nullptr;
    if (p == nullptr) {
        why = "this broker no longer leads the partition";
    }
    return p;
}

fetcher_service::fetcher_service(fetcher_options o) : _impl(std::make_shared<impl>(std::move(o))) {}

fetcher_service::~fetcher_service() {
    stop();
}

void fetcher_service::reconcile(const metadata_cache& md, partition_manager& pm) {
    impl& s = *_impl;
    if (s.stopped) {
        return;
    }
    s.md = &md;
    s.pm = &pm;
    std::map<std::string, std::vector<task>> work;
    std::map<std::pair<std::string, std::string>, int> topic_states;
    for (const auto& [name, t] : md.topics()) {
        if (!t.has_shadow()) {
            continue;
        }
        topic_states[{t.shadow().link(), name}] = static_cast<int>(t.shadow().state());
        const v1::ShadowLink* l = md.shadow_link(t.shadow().link());
        if (l == nullptr || !sh::replicates(t.shadow().state())) {
            continue;
        }
        auto& list = work[l->name()];  // a link with topics here runs (maybe paused)
        if (l->state() != v1::SHADOW_LINK_STATE_ACTIVE) {
            continue;
        }
        for (const auto& a : t.partitions()) {
            if (a.leader() != s.o.node_id || pm.find(name, a.partition()) == nullptr) {
                continue;
            }
            const std::string& source =
                t.shadow().source_topic().empty() ? t.name() : t.shadow().source_topic();
            list.push_back(task{name, t.uuid(), source, t.shadow().source_topic_id(), a.partition(),
                                start_query(t.shadow().start_at(), t.created().time_ms()),
                                t.shadow().state_revision()});
        }
    }
    // Links without work here stop; the others get their new work.
    for (auto it = s.workers.begin(); it != s.workers.end();) {
        if (work.count(it->first) != 0) {
            ++it;
            continue;
        }
        it->second->stop = true;  // it ends after its current call
        it->second->cv.notify_all();
        s.retired.push_back(std::move(it->second));
        it = s.workers.erase(it);
    }
    std::erase_if(s.retired, [](const std::shared_ptr<link_worker>& w) {
        if (!w->done) {
            return false;
        }
        if (w->thread.joinable()) {
            w->thread.join();
        }
        return true;
    });
    {
        std::lock_guard g(s.mu);
        s.topic_states = std::move(topic_states);
        for (auto it = s.parts.begin(); it != s.parts.end();) {
            it = work.count(it->first) == 0 ? s.parts.erase(it) : std::next(it);
        }
        for (auto it = s.tasks.begin(); it != s.tasks.end();) {
            it = work.count(it->first) == 0 ? s.tasks.erase(it) : std::next(it);
        }
        for (const auto& [link, ts] : work) {
            auto& known = s.parts[link];
            std::set<pkey> live;
            for (const auto& t : ts) {
                live.insert({t.topic, t.partition});
                auto& st = known[{t.topic, t.partition}];
                st.topic = t.topic;
                st.partition = t.partition;
            }
            std::erase_if(known, [&](const auto& kv) { return live.count(kv.first) == 0; });
            const v1::ShadowLink* l = md.shadow_link(link);
            if (l->state() != v1::SHADOW_LINK_STATE_ACTIVE) {
                s.tasks[link] = {std::string(state_paused), ""};
            } else if (s.tasks.count(link) == 0 || s.tasks[link].first == state_paused) {
                s.tasks[link] = {std::string(state_active), ""};
            }
        }
    }
    for (auto& [link, ts] : work) {
        auto& w = s.workers[link];
        if (!w) {
            w = std::make_shared<link_worker>();
            w->svc = _impl;
            w->name = link;
        }
        {
            std::lock_guard g(w->mu);
            const v1::ShadowLink& l = *md.shadow_link(link);
            const bool changed =
                w->tasks != ts || w->config.SerializeAsString() != l.SerializeAsString();
            if (changed) {
                w->tasks = ts;
                w->config = l;
                ++w->generation;
            }
        }
        w->cv.notify_all();
        if (!w->thread.joinable()) {
            w->thread = std::thread([w] {
                w->run();
                w->done = true;
            });
        }
    }
}

void fetcher_service::tick() {
    impl& s = *_impl;
    if (s.stopped || s.pm == nullptr) {
        return;
    }
    std::lock_guard g(s.mu);
    for (auto& [link, ps] : s.parts) {
        for (auto& [k, st] : ps) {
            if (partition* p = s.pm->find(k.first, k.second)) {
                st.shadow_hwm = p->high_watermark().value();
            }
        }
    }
}

void fetcher_service::report(v1::HeartbeatRequest& req) const {
    const impl& s = *_impl;
    std::lock_guard g(s.mu);
    for (const auto& [link, ps] : s.parts) {
        for (const auto& [k, st] : ps) {
            auto* out = req.add_shadow_partitions();
            out->set_link(link);
            out->set_topic(st.topic);
            out->set_partition(st.partition);
            out->set_source_lso(st.source_lso);
            out->set_source_hwm(st.source_hwm);
            out->set_shadow_hwm(st.shadow_hwm);
            out->set_source_last_updated_ms(st.updated_ms);
            out->set_state(st.state);
            out->set_reason(st.reason);
            out->set_broker_id(s.o.node_id);
        }
    }
    for (const auto& [link, t] : s.tasks) {
        auto* out = req.add_shadow_tasks();
        out->set_link(link);
        out->set_name(std::string(replication_task));
        out->set_broker_id(s.o.node_id);
        out->set_shard(0);
        out->set_state(t.first);
        out->set_reason(t.second);
    }
}

std::function<void()> fetcher_service::add_metrics(metrics::registry& reg) {
    auto& lag = reg.add_gauge_family(
        "fjord_shadow_link_shadow_lag",
        "Offsets the shadow partition is behind its source: source LSO - shadow high watermark",
        {"link", "topic", "partition"});
    auto& bytes_fetched =
        reg.add_counter_family("fjord_shadow_link_total_bytes_fetched",
                               "Record batch bytes fetched from the source", {"link"});
    auto& bytes_written =
        reg.add_counter_family("fjord_shadow_link_total_bytes_written",
                               "Record batch bytes written into shadow partitions", {"link"});
    auto& records_fetched = reg.add_counter_family("fjord_shadow_link_total_records_fetched",
                                                   "Records fetched from the source", {"link"});
    auto& records_written =
        reg.add_counter_family("fjord_shadow_link_total_records_written",
                               "Records written into shadow partitions", {"link"});
    auto& client_errors = reg.add_counter_family(
        "fjord_shadow_link_client_errors",
        "Failed calls to the source cluster (connect, authentication, requests)", {"link"});
    auto& topic_state = reg.add_gauge_family(
        "fjord_shadow_link_shadow_topic_state",
        "The shadow topic's state: 1 ACTIVE, 2 PAUSED, 3 FAULTED, 4 FAILING_OVER, 5 FAILED_OVER, "
        "6 PROMOTING, 7 PROMOTED",
        {"link", "topic"});
    std::weak_ptr<impl> weak = _impl;
    return [weak, &lag, &bytes_fetched, &bytes_written, &records_fetched, &records_written,
            &client_errors, &topic_state] {
        auto s = weak.lock();
        if (!s) {
            return;
        }
        auto catch_up = [](metrics::counter& c, uint64_t v) {
            c.inc(v > c.value() ? v - c.value() : 0);
        };
        std::lock_guard g(s->mu);
        for (const auto& [link, ps] : s->parts) {
            for (const auto& [k, st] : ps) {
                lag.with({link, st.topic, std::to_string(st.partition)})
                    .set(static_cast<double>(shadow::lag(st.source_lso, st.shadow_hwm)));
            }
        }
        for (const auto& [link, t] : s->totals) {
            catch_up(bytes_fetched.with({link}), t.bytes_fetched);
            catch_up(bytes_written.with({link}), t.bytes_written);
            catch_up(records_fetched.with({link}), t.records_fetched);
            catch_up(records_written.with({link}), t.records_written);
            catch_up(client_errors.with({link}), t.client_errors);
        }
        for (const auto& [k, st] : s->topic_states) {
            topic_state.with({k.first, k.second}).set(static_cast<double>(st));
        }
    };
}

void fetcher_service::stop() {
    impl& s = *_impl;
    if (s.stopped.exchange(true)) {
        return;
    }
    for (auto& [name, w] : s.workers) {
        w->stop = true;
        w->cv.notify_all();
    }
    for (auto& [name, w] : s.workers) {
        if (w->thread.joinable()) {
            w->thread.join();
        }
    }
    for (auto& w : s.retired) {
        if (w->thread.joinable()) {
            w->thread.join();
        }
    }
    s.workers.clear();
    s.retired.clear();
}

// ------------------------------------------------------------ a link's thread

void link_worker::pause(int64_t ms, uint64_t seen_generation) {
    std::unique_lock g(mu);
    cv.wait_for(g, std::chrono::milliseconds(std::max<int64_t>(ms, 1)),
                [&] { return stop.load() || generation != seen_generation; });
}

std::optional<io_answer> link_worker::on_io(std::function<io_answer(fetcher_service::impl&)> fn) {
    struct slot {
        std::mutex m;
        std::condition_variable cv;
        std::optional<io_answer> v;
    };
    auto sl = std::make_shared<slot>();
    std::weak_ptr<fetcher_service::impl> weak = svc;
    svc->o.post_to_io([weak, sl, fn = std::move(fn)] {
        auto s = weak.lock();
        if (!s) {
            return;
        }
        io_answer a = fn(*s);
        std::lock_guard g(sl->m);
        sl->v = std::move(a);
        sl->cv.notify_all();
    });
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(svc->o.io_timeout_ms);
    std::unique_lock g(sl->m);
    while (!sl->v && !stop && std::chrono::steady_clock::now() < deadline) {
        sl->cv.wait_for(g, std::chrono::milliseconds(100));
    }
    return std::move(sl->v);
}

std::optional<io_answer> link_worker::probe(const task& t) {
    return on_io([link = name, t](fetcher_service::impl& s) {
        io_answer a;
        partition* p = s.fenced(link, t, a.why);
        if (p == nullptr) {
            a.fenced = true;
            return a;
        }
        fetcher_service::impl::describe(*p, a);
        return a;
    });
}

std::optional<io_answer> link_worker::move_start(const task& t, int64_t offset) {
    return on_io([link = name, t, offset](fetcher_service::impl& s) {
        io_answer a;
        partition* p = s.fenced(link, t, a.why);
        if (p == nullptr) {
            a.fenced = true;
            return a;
        }
        if (auto r = p->move_empty_start(kafka_offset{offset}, s.now()); !r) {
            a.failed = true;
            a.why = r.error().detail;
        }
        fetcher_service::impl::describe(*p, a);
        return a;
    });
}

std::optional<io_answer> link_worker::append(const task& t, std::shared_ptr<std::string> records,
                                             copy_plan plan) {
    return on_io([link = name, t, records, plan = std::move(plan)](fetcher_service::impl& s) {
        io_answer a;
        partition* p = s.fenced(link, t, a.why);
        if (p == nullptr) {
            a.fenced = true;  // the failover fence: nothing lands
            return a;
        }
        const int64_t now = s.now();
        // The source's start (or start_at) inside the first batch: the log
        // takes the batch whole from its base, and its start then moves up
        // to where the source's is (DeleteRecords' rule, once durable).
        std::optional<int64_t> start_within;
        if (plan.move_start_to && p->log().size_bytes() == 0) {
            start_within = p->log().log_end_offset().value();
            if (auto r = p->move_empty_start(kafka_offset{*plan.move_start_to}, now); !r) {
                a.failed = true;
                a.why = r.error().detail;
                fetcher_service::impl::describe(*p, a);
                return a;
            }
        }
        std::optional<int32_t> appended_epoch;
        for (const batch_ref& b : plan.batches) {
            const std::string_view batch = std::string_view(*records).substr(b.pos, b.size);
            auto r = p->append_copy(std::string(batch), now);
            if (!r) {
                a.failed = true;
                a.why = fmt::format("append at offset {}: {}", b.base_offset, r.error().detail);
                break;
            }
            appended_epoch = last_batch_epoch(batch);
            a.bytes_written += b.size;
            a.records_written += std::max<int32_t>(0, b.records);
        }
        if (a.bytes_written > 0) {
            // Readable (and counted in the high watermark) once durable.
            std::weak_ptr<fetcher_service::impl> weak = s.shared_from_this();
            p->sync([weak, link, k = pkey{t.topic, t.partition}, uuid = t.topic_uuid,
                     start_within](const result<void>& synced) {
                auto self = weak.lock();
                if (!self || self->stopped || self->pm == nullptr || self->md == nullptr) {
                    return;
                }
                // The name may since belong to another topic (deleted and
                // created again): its partition is not the one appended to.
                const v1::Topic* topic = self->md->topic(k.first);
                if (topic == nullptr || topic->uuid() != uuid) {
                    return;
                }
                partition* q = self->pm->find(k.first, k.second);
                if (q == nullptr) {
                    return;
                }
                if (synced && start_within && q->high_watermark().value() >= *start_within) {
                    if (auto r = q->log().delete_records_before(kafka_offset{*start_within}); !r) {
                        log(log_level::warn, component, "{}-{}: moving the start to {}: {}",
                            k.first, k.second, *start_within, r.error().detail);
                    }
                }
                self->note_hwm(link, k, q->high_watermark().value());
            });
        }
        fetcher_service::impl::describe(*p, a, !appended_epoch);
        if (appended_epoch) {
            a.last_epoch = *appended_epoch;
        }
        return a;
    });
}

void link_worker::set_task_state(std::string_view state, const std::string& reason) {
    std::lock_guard g(svc->mu);
    auto it = svc->tasks.find(name);
    if (it != svc->tasks.end()) {
        it->second = {std::string(state), reason};
    }
}

void link_worker::with_status(const task& t, const std::function<void(partition_status&)>& fn) {
    std::lock_guard g(svc->mu);
    auto l = svc->parts.find(name);
    if (l == svc->parts.end()) {
        return;
    }
    if (auto p = l->second.find({t.topic, t.partition}); p != l->second.end()) {
        fn(p->second);
    }
}

void link_worker::set_partition(const task& t, std::string_view state, const std::string& reason) {
    with_status(t, [&](partition_status& st) {
        st.state = std::string(state);
        st.reason = reason;
    });
}

void link_worker::fault(const task& t, const std::string& reason) {
    cursor& cur = cursors[{t.topic, t.partition}];
    if (!cur.fault) {
        log(log_level::error, component, "link {}: {}-{}: {}", name, t.topic, t.partition, reason);
    }
    cur.fault = reason;
    set_partition(t, state_faulted, reason);
}

void link_worker::client_error(const std::string& why) {
    {
        std::lock_guard g(svc->mu);
        ++svc->totals[name].client_errors;
    }
    log(log_level::warn, component, "link {}: {}", name, why);
}

wire_client* link_worker::connection(int32_t broker, std::string& why) {
    if (auto it = conns.find(broker); it != conns.end()) {
        return it->second.get();
    }
    auto addr = brokers.find(broker);
    if (addr == brokers.end()) {
        why = fmt::format("source broker {} is not in the source's metadata", broker);
        return nullptr;
    }
    auto c = wire_client::open(addr->second, client);
    if (!c) {
        why = c.error().message();
        return nullptr;
    }
    return (conns[broker] = std::move(*c)).get();
}

bool link_worker::refresh_metadata(const std::vector<task>& ts, const v1::ShadowLink& l) {
    const auto& servers = l.config().client_options().bootstrap_servers();
    if (servers.empty()) {
        set_task_state(state_link_unavailable, "client_options.bootstrap_servers: none");
        return false;
    }
    std::string why;
    for (int i = 0; i < servers.size(); ++i) {
        if (!bootstrap) {
            const std::string& addr =
                servers[static_cast<int>(next_bootstrap++ % static_cast<size_t>(servers.size()))];
            auto c = wire_client::open(addr, client);
            if (!c) {
                why = c.error().message();
                client_error(why);
                continue;
            }
            bootstrap = std::move(*c);
        }
        const auto v = bootstrap->version_for(static_cast<int16_t>(kafka::api_key::metadata),
                                              min_metadata_version, max_metadata_version);
        if (!v) {
            why = fmt::format("{}: the source serves no Metadata version in [{}, {}]",
                              bootstrap->address(), min_metadata_version, max_metadata_version);
            bootstrap.reset();
            continue;
        }
        kafka::metadata_request req;
        std::set<std::string> names;
        for (const auto& t : ts) {
            names.insert(t.source_topic);
        }
        req.topics.emplace();
        for (const auto& n : names) {
            kafka::metadata_request::metadata_request_topic rt;
            rt.name = n;
            req.topics->push_back(std::move(rt));
        }
        req.allow_auto_topic_creation = false;
        auto resp = bootstrap->call<kafka::metadata_request, kafka::metadata_response>(req, *v);
        if (!resp) {
            why = resp.error().message();
            client_error(why);
            bootstrap.reset();
            continue;
        }
        const std::string& want = cluster::shadow::expected_source_cluster_id(l);
        if (!want.empty() && resp->cluster_id.value_or("") != want) {
            why = fmt::format(
                "client_options.source_cluster_id: the source at {} is cluster \"{}\", not \"{}\"",
                bootstrap->address(), resp->cluster_id.value_or(""), want);
            bootstrap.reset();
            continue;
        }
        std::map<int32_t, std::string> new_brokers;
        for (const auto& b : resp->brokers) {
            new_brokers[b.node_id] = fmt::format("{}:{}", b.host, b.port);
        }
        if (new_brokers != brokers) {
            conns.clear();  // addresses changed: reconnect as needed
        }
        brokers = std::move(new_brokers);
        leaders.clear();
        leader_epochs.clear();
        for (const auto& t : resp->topics) {
            if (t.error_code != 0 || !t.name) {
                continue;
            }
            // The same name, another topic: its partitions are another
            // history, never continued into the shadow (v10+ sends the id).
            const std::string id = topic_id_text(t.topic_id.high, t.topic_id.low);
            for (const auto& st : ts) {
                if (st.source_topic != *t.name) {
                    continue;
                }
                if (auto why_not = source_topic_recreated(id, st.source_topic_id)) {
                    fault(st, *why_not);
                }
            }
            for (const auto& p : t.partitions) {
                if (p.error_code == 0 && p.leader_id >= 0) {
                    leaders[{*t.name, p.partition_index}] = p.leader_id;
                    leader_epochs[{*t.name, p.partition_index}] = p.leader_epoch;
                }
            }
        }
        metadata_ok = true;
        metadata_at_ms = svc->now();
        return true;
    }
    set_task_state(state_link_unavailable, why);
    return false;
}

std::map<pkey, std::pair<int16_t, int64_t>> link_worker::list_offsets(
    int32_t leader, const std::vector<pkey>& parts, const std::vector<int64_t>& ts,
    std::string& why) {
    std::map<pkey, std::pair<int16_t, int64_t>> out;
    wire_client* c = connection(leader, why);
    if (c == nullptr) {
        return out;
    }
    const auto v = c->version_for(static_cast<int16_t>(kafka::api_key::list_offsets),
                                  min_list_offsets_version, max_list_offsets_version);
    if (!v) {
        why = fmt::format("{}: the source serves no ListOffsets version in [{}, {}]", c->address(),
                          min_list_offsets_version, max_list_offsets_version);
        return out;
    }
    kafka::list_offsets_request req;
    req.replica_id = -1;
    req.isolation_level = 0;
    std::map<std::string, size_t> at;
    for (size_t i = 0; i < parts.size(); ++i) {
        auto [it, fresh] = at.emplace(parts[i].first, req.topics.size());
        if (fresh) {
            kafka::list_offsets_request::list_offsets_topic t;
            t.name = parts[i].first;
            req.topics.push_back(std::move(t));
        }
        kafka::list_offsets_request::list_offsets_partition p;
        p.partition_index = parts[i].second;
        p.timestamp = ts[i];
        req.topics[it->second].partitions.push_back(p);
    }
    auto resp = c->call<kafka::list_offsets_request, kafka::list_offsets_response>(req, *v);
    if (!resp) {
        why = resp.error().message();
        conns.erase(leader);
        return out;
    }
    for (const auto& t : resp->topics) {
        for (const auto& p : t.partitions) {
            out[{t.name, p.partition_index}] = {p.error_code, p.offset};
        }
    }
    return out;
}

void link_worker::fetch_from(int32_t leader, const std::vector<const task*>& ts,
                             const v1::ShadowLink& l, int32_t max_wait_ms) {
    const auto tun = sh::effective(l.config().client_options());
    std::string why;
    wire_client* c = connection(leader, why);
    if (c == nullptr) {
        client_error(why);
        for (const task* t : ts) {
            set_partition(*t, state_link_unavailable, why);
        }
        set_task_state(state_link_unavailable, why);
        metadata_ok = false;
        return;
    }
    const auto v = c->version_for(static_cast<int16_t>(kafka::api_key::fetch), min_fetch_version,
                                  max_fetch_version);
    if (!v) {
        why = fmt::format("{}: the source serves no Fetch version in [{}, {}]", c->address(),
                          min_fetch_version, max_fetch_version);
        for (const task* t : ts) {
            set_partition(*t, state_link_unavailable, why);
        }
        set_task_state(state_link_unavailable, why);
        return;
    }
    kafka::fetch_request req;
    req.replica_id = -1;
    req.max_wait_ms = max_wait_ms;
    req.min_bytes = tun.fetch_min_bytes;
    req.max_bytes = tun.fetch_max_bytes;
    req.isolation_level = 0;  // READ_UNCOMMITTED: every batch, as it is
    req.session_id = 0;
    req.session_epoch = -1;  // full fetches, no session
    std::map<pkey, const task*> by_source;
    std::map<std::string, size_t> at;
    for (const task* t : ts) {
        by_source[{t->source_topic, t->partition}] = t;
        auto [it, fresh] = at.emplace(t->source_topic, req.topics.size());
        if (fresh) {
            kafka::fetch_request::fetch_topic ft;
            ft.topic = t->source_topic;
            req.topics.push_back(std::move(ft));
        }
        const cursor& cur = cursors[{t->topic, t->partition}];
        kafka::fetch_request::fetch_partition fp;
        fp.partition = t->partition;
        fp.fetch_offset = fetch_at(cur);
        fp.partition_max_bytes = tun.fetch_partition_max_bytes;
        // The source checks the shadow's last epoch against its own log
        // (v12+: DivergingEpoch) and its leader epoch against ours (v9+).
        if (*v >= 9) {
            auto e = leader_epochs.find({t->source_topic, t->partition});
            fp.current_leader_epoch = e != leader_epochs.end() ? e->second : -1;
        }
        if (*v >= 12) {
            fp.last_fetched_epoch =
                last_fetched_epoch(fp.fetch_offset, *cur.log_end, cur.last_epoch);
        }
        req.topics[it->second].partitions.push_back(fp);
    }
    auto resp = c->call<kafka::fetch_request, kafka::fetch_response>(req, *v);
    if (!resp) {
        why = resp.error().message();
        client_error(why);
        conns.erase(leader);
        metadata_ok = false;
        for (const task* t : ts) {
            set_partition(*t, state_link_unavailable, why);
        }
        set_task_state(state_link_unavailable, why);
        return;
    }
    if (resp->error_code != 0) {
        why = fmt::format("{}: Fetch: {}", c->address(), error_name(resp->error_code));
        client_error(why);
        if (on_partition_error(resp->error_code) == error_action::unavailable) {
            set_task_state(state_link_unavailable, why);
        }
        metadata_ok = false;
        return;
    }
    set_task_state(state_active, "");
    backoff_ms = 0;
    const int64_t now = svc->now();
    std::vector<const task*> out_of_range;
    for (auto& tr : resp->responses) {
        for (auto& pr : tr.partitions) {
            auto it = by_source.find({tr.topic, pr.partition_index});
            if (it == by_source.end()) {
                continue;
            }
            const task& t = *it->second;
            cursor& cur = cursors[{t.topic, t.partition}];
            if (auto why_not = diverged(pr.diverging_epoch.epoch, pr.diverging_epoch.end_offset)) {
                fault(t, *why_not);  // nothing of this answer is appended
                continue;
            }
            const error_action act = on_partition_error(pr.error_code);
            if (act != error_action::none) {
                const std::string reason = fmt::format("source {}-{}: {}", t.source_topic,
                                                       t.partition, error_name(pr.error_code));
                switch (act) {
                    case error_action::reset_offset:
                        out_of_range.push_back(&t);
                        break;
                    case error_action::refresh_metadata:
                        metadata_ok = false;
                        set_partition(t, state_active, reason);
                        break;
                    case error_action::unavailable:
                        client_error(reason);
                        set_partition(t, state_link_unavailable, reason);
                        cur.retry_at_ms = now + svc->o.max_backoff_ms;
                        break;
                    default:
                        set_partition(t, state_active, reason);
                        cur.retry_at_ms = now + tun.retry_backoff_ms;
                        break;
                }
                continue;
            }
            {
                // Only a partition the io thread still lists (a retired
                // worker's last answer is not reported).
                with_status(t, [&](partition_status& st) {
                    st.source_hwm = pr.high_watermark;
                    st.source_lso =
                        pr.last_stable_offset >= 0 ? pr.last_stable_offset : pr.high_watermark;
                    st.updated_ms = now;
                    st.state = std::string(state_active);
                    st.reason.clear();
                });
            }
            if (!pr.records || pr.records->empty()) {
                continue;
            }
            auto records = std::make_shared<std::string>(std::move(*pr.records));
            copy_plan plan = plan_copy(*records, *cur.log_end, cur.empty, pr.high_watermark);
            if (!plan.rejected.empty()) {
                fault(t,
                      fmt::format("source {}-{}: {}", t.source_topic, t.partition, plan.rejected));
                continue;
            }
            {
                std::lock_guard g(svc->mu);
                auto& tot = svc->totals[name];
                tot.bytes_fetched += plan.bytes_fetched;
                tot.records_fetched += static_cast<uint64_t>(plan.records_fetched);
            }
            if (plan.misaligned) {
                const std::string reason = fmt::format(
                    "the source's batch holding offset {} starts below it: the source's log no "
                    "longer lines up with the shadow's",
                    *cur.log_end);
                set_partition(t, state_faulted, reason);
                cur.retry_at_ms = now + svc->o.max_backoff_ms;
                continue;
            }
            if (plan.batches.empty()) {
                continue;
            }
            auto a = append(t, records, std::move(plan));
            if (!a) {
                cur.log_end.reset();  // the io thread did not answer: probe again
                continue;
            }
            if (a->fenced) {
                set_partition(t, state_stopped, a->why);
                cur.log_end.reset();
                cur.retry_at_ms = now + tun.retry_backoff_ms;
                continue;
            }
            take(cur, *a);
            {
                std::lock_guard g(svc->mu);
                auto& tot = svc->totals[name];
                tot.bytes_written += a->bytes_written;
                tot.records_written += static_cast<uint64_t>(a->records_written);
            }
            if (a->failed) {
                log(log_level::warn, component, "link {}: {}-{}: {}", name, t.topic, t.partition,
                    a->why);
                set_partition(t, state_faulted, a->why);
                cur.retry_at_ms = now + tun.retry_backoff_ms;
            }
        }
    }
    if (out_of_range.empty()) {
        return;
    }
    // The source's retention (or DeleteRecords) passed the shadow's end.
    std::vector<pkey> parts;
    for (const task* t : out_of_range) {
        parts.emplace_back(t->source_topic, t->partition);
    }
    auto starts = list_offsets(leader, parts, std::vector<int64_t>(parts.size(), earliest), why);
    auto ends = list_offsets(leader, parts, std::vector<int64_t>(parts.size(), latest), why);
    for (const task* t : out_of_range) {
        cursor& cur = cursors[{t->topic, t->partition}];
        auto s = starts.find({t->source_topic, t->partition});
        auto e = ends.find({t->source_topic, t->partition});
        if (s == starts.end() || e == ends.end() || s->second.first != 0 || e->second.first != 0) {
            metadata_ok = false;
            cur.retry_at_ms = now + tun.retry_backoff_ms;
            continue;
        }
        const out_of_range_plan plan =
            on_out_of_range(s->second.second, e->second.second, *cur.log_end);
        if (plan.faulted) {
            fault(*t, plan.reason);  // sticky: a later answer must not make it ACTIVE
            continue;
        }
        if (plan.next_offset <= *cur.log_end) {
            // In range again at the log end (the range moved meanwhile).
            cur.resume_at.reset();
            cur.retry_at_ms = now + tun.retry_backoff_ms;
            continue;
        }
        log(log_level::info, component,
            "link {}: {}-{}: the source starts at {}, beyond the shadow's end {}: the gap is "
            "kept",
            name, t->topic, t->partition, plan.next_offset, *cur.log_end);
        if (cur.empty) {
            if (auto a = move_start(*t, plan.next_offset); a && !a->fenced && !a->failed) {
                take(cur, *a);
                continue;
            }
            cur.log_end.reset();
            continue;
        }
        // The next Fetch asks past the gap; the log end stays the true
        // one, so a batch straddling the source's start still lands
        // whole after the gap (append_copy keeps it).
        cur.resume_at = plan.next_offset;
    }
}

void link_worker::run() {
    uint64_t seen = ~uint64_t{0};
    std::vector<task> ts;
    v1::ShadowLink l;
    while (!stop) {
        {
            std::lock_guard g(mu);
            if (generation != seen) {
                seen = generation;
                std::map<pkey, const task*> before;
                for (const auto& t : ts) {
                    before[{t.topic, t.partition}] = &t;
                }
                // A new config or new work: connect again, probe again. A
                // partition whose task changed (another topic uuid, source
                // id or state revision) starts afresh, its sticky fault
                // cleared; an unchanged one keeps it.
                drop_connections();
                std::map<pkey, cursor> kept;
                for (const auto& t : tasks) {
                    pkey k{t.topic, t.partition};
                    auto it = cursors.find(k);
                    auto was = before.find(k);
                    if (it != cursors.end() && was != before.end() && *was->second == t) {
                        kept[k] = it->second;
                        kept[k].log_end.reset();
                    }
                }
                cursors = std::move(kept);
                ts = tasks;
                l = config;
                auto opts = source_client_options(l.config().client_options(),
                                                  fmt::format("fjord-shadow-{}", name));
                config_error.clear();
                if (opts) {
                    client = std::move(*opts);
                } else {
                    config_error = opts.error().message();
                }
            }
        }
        const auto tun = sh::effective(l.config().client_options());
        if (ts.empty() || l.state() != v1::SHADOW_LINK_STATE_ACTIVE) {
            pause(1000, seen);
            continue;
        }
        if (!config_error.empty()) {
            set_task_state(state_link_unavailable, config_error);
            pause(svc->o.max_backoff_ms, seen);
            continue;
        }
        const int64_t now = svc->now();
        if (!metadata_ok || now - metadata_at_ms >= tun.metadata_max_age_ms) {
            if (!refresh_metadata(ts, l)) {
                {
                    // Every partition says why (the task's reason).
                    std::lock_guard g(svc->mu);
                    auto task_state = svc->tasks.find(name);
                    auto ps = svc->parts.find(name);
                    if (task_state != svc->tasks.end() && ps != svc->parts.end()) {
                        for (auto& [k, st] : ps->second) {
                            if (auto c = cursors.find(k); c != cursors.end() && c->second.fault) {
                                continue;  // a sticky fault stays FAULTED
                            }
                            st.state = task_state->second.first;
                            st.reason = task_state->second.second;
                        }
                    }
                }
                backoff_ms = std::clamp<int64_t>(backoff_ms * 2, tun.retry_backoff_ms,
                                                 svc->o.max_backoff_ms);
                pause(backoff_ms, seen);
                continue;
            }
        }
        // Cursors: every partition's log end, from the io thread.
        std::map<int32_t, std::vector<const task*>> by_leader;
        std::map<int32_t, std::vector<const task*>> to_start;
        bool waiting = false;
        for (const auto& t : ts) {
            cursor& cur = cursors[{t.topic, t.partition}];
            if (cur.fault) {
                continue;  // sticky: never fetched again (cursor::fault)
            }
            if (cur.retry_at_ms > now) {
                waiting = true;
                continue;
            }
            if (!cur.log_end) {
                auto a = probe(t);
                if (!a) {
                    waiting = true;
                    continue;
                }
                if (a->fenced) {
                    set_partition(t, state_stopped, a->why);
                    cur.retry_at_ms = now + tun.retry_backoff_ms;
                    continue;
                }
                take(cur, *a);
            }
            auto leader = leaders.find({t.source_topic, t.partition});
            if (leader == leaders.end()) {
                const std::string reason =
                    fmt::format("source {}-{}: no leader in the source's metadata", t.source_topic,
                                t.partition);
                set_partition(t, state_active, reason);
                metadata_ok = false;
                cur.retry_at_ms = now + tun.retry_backoff_ms;
                continue;
            }
            if (cur.empty && !cur.start_checked) {
                to_start[leader->second].push_back(&t);
                continue;
            }
            by_leader[leader->second].push_back(&t);
        }
        // Empty shadow partitions start where start_at says.
        for (const auto& [leader, group] : to_start) {
            std::vector<pkey> parts;
            std::vector<int64_t> query;
            for (const task* t : group) {
                parts.emplace_back(t->source_topic, t->partition);
                query.push_back(t->start_query);
            }
            std::string why;
            auto answers = list_offsets(leader, parts, query, why);
            auto ends =
                list_offsets(leader, parts, std::vector<int64_t>(parts.size(), latest), why);
            for (const task* t : group) {
                cursor& cur = cursors[{t->topic, t->partition}];
                auto a = answers.find({t->source_topic, t->partition});
                auto e = ends.find({t->source_topic, t->partition});
                if (a == answers.end() || e == ends.end() || a->second.first != 0 ||
                    e->second.first != 0) {
                    if (!why.empty()) {
                        client_error(why);
                    }
                    metadata_ok = false;
                    cur.retry_at_ms = now + tun.retry_backoff_ms;
                    continue;
                }
                if (auto start = start_offset(a->second.second, e->second.second, *cur.log_end)) {
                    auto moved = move_start(*t, *start);
                    if (!moved || moved->fenced || moved->failed) {
                        cur.log_end.reset();
                        cur.retry_at_ms = now + tun.retry_backoff_ms;
                        continue;
                    }
                    log(log_level::info, component, "link {}: {}-{} starts at source offset {}",
                        name, t->topic, t->partition, *start);
                    take(cur, *moved);
                }
                cur.start_checked = true;
            }
        }
        if (by_leader.empty()) {
            pause(waiting ? tun.retry_backoff_ms : 200, seen);
            continue;
        }
        // One Fetch per source leader, in turn: the long poll is shared
        // between them so a round stays within fetch_wait_max_ms.
        const auto wait = static_cast<int32_t>(
            std::max<int64_t>(10, tun.fetch_wait_max_ms / static_cast<int64_t>(by_leader.size())));
        for (const auto& [leader, group] : by_leader) {
            if (stop) {
                break;
            }
            fetch_from(leader, group, l, wait);
        }
        if (!metadata_ok) {
            backoff_ms =
                std::clamp<int64_t>(backoff_ms * 2, tun.retry_backoff_ms, svc->o.max_backoff_ms);
            pause(backoff_ms, seen);
        }
    }
}

}  // namespace fjord::broker::shadow
