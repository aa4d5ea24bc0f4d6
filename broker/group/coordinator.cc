// File: broker/group/coordinator.cc

#include "broker/group/coordinator.h"

#include <limits>
#include <memory>

#include "broker/kafka/errors.h"
#include "broker/kafka/topic_id.h"
#include "common/kafka/record_batch.h"
#include "common/log.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;
constexpr const char* component = "groups";
/// After a failed load or topic creation, before trying again.
constexpr int64_t retry_backoff_ms = 2000;
constexpr std::chrono::milliseconds create_timeout{30000};
/// Tombstones per batch: well within a batch's size limit (a tombstone is
/// its key and about 20 bytes).
constexpr size_t tombstone_batch_bytes = 256u << 10;

/// Kafka's translation of a log append error for an offset commit
/// (GroupMetadataManager.storeOffsets).
int16_t commit_error(int16_t append_error) {
    switch (append_error) {
        case k::unknown_topic_or_partition:
        case k::request_timed_out:
            return k::coordinator_not_available;
        case k::not_leader_or_follower:
        case k::kafka_storage_error:
            return k::not_coordinator;
        case k::message_too_large:
        case k::record_list_too_large:
            return k::invalid_commit_offset_size;
        default:
            return append_error;
    }
}

}  // namespace

int32_t java_string_hashcode(std::string_view utf8) {
    // Java's int arithmetic wraps; uint32_t wraps the same way.
    uint32_t h = 0;
    const auto add = [&h](uint32_t unit) { h = h * 31 + unit; };
    constexpr uint32_t replacement = 0xFFFD;
    constexpr uint32_t min_code_point[] = {0, 0, 0x80, 0x800, 0x10000};
    size_t i = 0;
    while (i < utf8.size()) {
        const auto b0 = static_cast<unsigned char>(utf8[i]);
        uint32_t cp = 0;
        size_t len = 0;
        if (b0 < 0x80) {
            cp = b0;
            len = 1;
        } else if ((b0 & 0xE0) == 0xC0) {
            cp = b0 & 0x1Fu;
            len = 2;
        } else if ((b0 & 0xF0) == 0xE0) {
            cp = b0 & 0x0Fu;
            len = 3;
        } else if ((b0 & 0xF8) == 0xF0) {
            cp = b0 & 0x07u;
            len = 4;
        } else {
            add(replacement);
            ++i;
            continue;
        }
        bool ok = i + len <= utf8.size();
        for (size_t j = 1; ok && j < len; ++j) {
            const auto b = static_cast<unsigned char>(utf8[i + j]);
            ok = (b & 0xC0) == 0x80;
            cp = (cp << 6) | (b & 0x3Fu);
        }
        if (!ok || cp < min_code_point[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            add(replacement);
            ++i;
            continue;
        }
        if (cp >= 0x10000) {  // a surrogate pair in UTF-16
            cp -= 0x10000;
            add(0xD800 + (cp >> 10));
            add(0xDC00 + (cp & 0x3FF));
        } else {
            add(cp);
        }
        i += len;
    }
    return static_cast<int32_t>(h);
}

int32_t offsets_partition_for(std::string_view group_id, int32_t partitions) {
    const auto h = static_cast<uint32_t>(java_string_hashcode(group_id)) & 0x7fffffffu;
    return static_cast<int32_t>(h % static_cast<uint32_t>(partitions));
}

group_coordinator::group_coordinator(coordinator_options opts, metadata_cache& md,
                                     partition_manager& pm, controller_client::client* controller,
                                     schedule_fn schedule, clock_fn now, group::id_fn new_id)
    : _opts(opts),
      _md(md),
      _pm(pm),
      _controller(controller),
      _schedule(std::move(schedule)),
      _now(std::move(now)),
      _groups(opts.groups, std::move(new_id)) {}

void group_coordinator::start() {
    if (_start_requested) {
        return;
    }
    _start_requested = true;
    // Called from the thread that starts the broker: only the io thread
    // touches the coordinator's state, so the first tick turns it on there.
    _schedule(_opts.tick_interval, [this] {
        _started = true;
        on_tick();
    });
}

void group_coordinator::stop() {
    if (_stopped) {
        return;
    }
    _stopped = true;
    _groups.unload_if([](const std::string&) { return true; }, k::not_coordinator);
}

void group_coordinator::on_tick() {
    if (_stopped) {
        return;
    }
    refresh();
    const int64_t now_ms = _now();
    std::vector<std::pair<int32_t, int64_t>> retry;  // restarting may erase from the map
    for (const auto& [p, st] : _partitions) {
        if (st.failed && now_ms >= st.retry_at_ms) {
            retry.emplace_back(p, st.leader_epoch);
        }
    }
    for (const auto& [p, epoch] : retry) {
        start_loading(p, epoch);
    }
    for (auto& [p, st] : _partitions) {
        if (st.loaded && !st.pending_tombstones.empty()) {
            flush_tombstones(p);
        }
    }
    _groups.tick(now_ms);
    // Empty groups without offsets are gone for Kafka too (its periodic
    // cleanup); groups with offsets stay listed, Empty.
    _groups.forget_idle_if([this](const std::string& id) { return !_offsets.has_group(id); });
    _schedule(_opts.tick_interval, [this] { on_tick(); });
}

// ---------------------------------------------------------------- following the metadata

const v1::PartitionAssignment* group_coordinator::assignment(int32_t partition) const {
    const v1::Topic* t = _md.topic(std::string(cluster::offsets_topic));
    if (t == nullptr) {
        return nullptr;
    }
    for (const auto& a : t->partitions()) {
        if (a.partition() == partition) {
            return &a;
        }
    }
    return nullptr;
}

int32_t group_coordinator::partition_for(const std::string& group_id) const {
    return _partition_count > 0 ? offsets_partition_for(group_id, _partition_count) : -1;
}

void group_coordinator::refresh() {
    if (_stopped || (_seen_any && _md.generation() == _seen_generation)) {
        return;
    }
    _seen_any = true;
    _seen_generation = _md.generation();
    const v1::Topic* t = _md.topic(std::string(cluster::offsets_topic));
    if (t == nullptr) {
        if (!_topic_uuid.empty()) {
            unload_all("__consumer_offsets was deleted");
        }
        _topic_uuid.clear();
        _partition_count = 0;
        follow_topics();
        return;
    }
    if (t->uuid() != _topic_uuid || t->partitions_size() != _partition_count) {
        if (!_topic_uuid.empty()) {
            unload_all(t->uuid() != _topic_uuid ? "__consumer_offsets was recreated"
                                                : "__consumer_offsets changed its partition count");
        }
        _topic_uuid = t->uuid();
        _partition_count = t->partitions_size();
    }
    // Before loading: a partition whose replay starts now checks every
    // offset at its end.
    follow_topics();
    const std::string topic(cluster::offsets_topic);
    for (const auto& a : t->partitions()) {
        const bool mine = a.leader() == _opts.node_id && _pm.find(topic, a.partition()) != nullptr;
        auto it = _partitions.find(a.partition());
        if (mine && it == _partitions.end()) {
            start_loading(a.partition(), a.leader_epoch());
        } else if (mine && it->second.leader_epoch != a.leader_epoch()) {
            // Led elsewhere in between: what was committed there is not in
            // this log; start over from what is.
            unload_partition(a.partition(), "its leader epoch changed");
            start_loading(a.partition(), a.leader_epoch());
        } else if (!mine && it != _partitions.end()) {
            unload_partition(a.partition(), "it is no longer led here");
        }
    }
}

bool group_coordinator::loading() const {
    for (const auto& [p, st] : _partitions) {
        if (!st.loaded && !st.failed) {
            return true;
        }
    }
    return false;
}

// ---------------------------------------------------------------- loading

void group_coordinator::start_loading(int32_t partition, int64_t leader_epoch) {
    broker::partition* part = _pm.find(std::string(cluster::offsets_topic), partition);
    if (part == nullptr) {
        return;
    }
    // Offsets of this partition's groups from an earlier, failed attempt
    // are replaced by the replay.
    _offsets.erase_groups_if([&](const std::string& g) { return partition_for(g) == partition; });
    partition_state& st = _partitions[partition];
    st.leader_epoch = leader_epoch;
    st.load_id = _next_load_id++;
    st.loader.emplace(part->log().log_start_offset());
    st.loaded = false;
    st.failed = false;
    st.load_started_ms = _now();
    load_step(partition, st.load_id);
}

void group_coordinator::load_step(int32_t partition, uint64_t load_id) {
    auto it = _partitions.find(partition);
    if (_stopped || it == _partitions.end() || it->second.load_id != load_id ||
        !it->second.loader) {
        return;  // given up or restarted meanwhile
    }
    partition_state& st = it->second;
    broker::partition* part = _pm.find(std::string(cluster::offsets_topic), partition);
    if (part == nullptr) {
        unload_partition(partition, "its log is closed");
        return;
    }
    auto done = st.loader->step(part->log(), _offsets, _opts.load_step_bytes);
    if (!done) {
        log(log_level::error, component,
            "__consumer_offsets-{}: cannot replay the log at offset {}: {}; its groups are "
            "unavailable, retrying in {} ms",
            partition, st.loader->next().value(), done.error().detail, retry_backoff_ms);
        st.loader.reset();
        st.failed = true;
        st.retry_at_ms = _now() + retry_backoff_ms;
        return;
    }
    if (!*done) {
        if (_started) {
            _schedule(std::chrono::milliseconds(0),
                      [this, partition, load_id] { load_step(partition, load_id); });
        } else {
            load_step(partition, load_id);  // before the io thread ticks: finish here
        }
        return;
    }
    // The topics may have been deleted or recreated while this log was not
    // loaded here.
    drop_stale_offsets(partition);
    const offsets_loader& l = *st.loader;
    size_t groups = 0;
    for (const auto& [g, offsets] : _offsets.groups()) {
        if (partition_for(g) == partition) {
            _groups.ensure(g);  // listed, Empty, until its members rejoin
            ++groups;
        }
    }
    if (l.skipped() > 0) {
        log(log_level::warn, component,
            "__consumer_offsets-{}: skipped {} records that are not offset commits (first: {})",
            partition, l.skipped(), l.first_skip_reason());
    }
    // An empty partition (most of them, at first) is not worth a line.
    log(l.applied() + l.skipped() == 0 ? log_level::debug : log_level::info, component,
        "__consumer_offsets-{}: loaded {} records up to offset {} in {} ms: {} groups with "
        "offsets",
        partition, l.applied(), l.next().value(), _now() - st.load_started_ms, groups);
    st.loader.reset();
    st.loaded = true;
}

void group_coordinator::unload_partition(int32_t partition, const char* why) {
    size_t gone = 0;
    _groups.unload_if(
        [&](const std::string& g) {
            const bool here = partition_for(g) == partition;
            gone += here ? 1 : 0;
            return here;
        },
        k::not_coordinator);
    _offsets.erase_groups_if([&](const std::string& g) { return partition_for(g) == partition; });
    _partitions.erase(partition);
    log(log_level::info, component, "__consumer_offsets-{}: given up ({}); {} groups moved away",
        partition, why, gone);
}

void group_coordinator::unload_all(const char* why) {
    _groups.unload_if([](const std::string&) { return true; }, k::not_coordinator);
    _offsets.erase_groups_if([](const std::string&) { return true; });
    if (!_partitions.empty()) {
        log(log_level::info, component, "every group given up: {}", why);
    }
    _partitions.clear();
}

// ---------------------------------------------------------------- offsets follow their topic

bool group_coordinator::is_current(const std::string& topic, const committed_offset& c) const {
    const v1::Topic* t = _md.topic(topic);
    if (t == nullptr) {
        return false;
    }
    return c.topic_id == kafka::uuid{} || c.topic_id == to_kafka_uuid(t->uuid());
}

const committed_offset* group_coordinator::fetch_offset(const std::string& group_id,
                                                        const std::string& topic,
                                                        int32_t partition) const {
    const committed_offset* c = _offsets.find(group_id, topic, partition);
    return c != nullptr && is_current(topic, *c) ? c : nullptr;
}

void group_coordinator::follow_topics() {
    if (!_md.ready()) {
        return;  // no snapshot yet: every topic would look deleted
    }
    std::map<std::string, kafka::uuid> live;
    for (const auto& [name, t] : _md.topics()) {
        live.emplace(name, to_kafka_uuid(t.uuid()));
    }
    std::vector<std::string> changed;  // deleted, or deleted and created again
    for (const auto& [name, id] : _topic_ids) {
        auto it = live.find(name);
        if (it == live.end() || it->second != id) {
            changed.push_back(name);
        }
    }
    _topic_ids = std::move(live);
    if (changed.empty()) {
        return;
    }
    std::map<int32_t, std::vector<offset_key>> stale;
    for (const auto& [g, offsets] : _offsets.groups()) {
        const int32_t p = partition_for(g);
        auto st = _partitions.find(p);
        if (st == _partitions.end() || !st->second.loaded) {
            continue;  // a replay in progress checks every offset at its end
        }
        for (const auto& name : changed) {
            auto id = _topic_ids.find(name);
            for (auto it = offsets.lower_bound({name, std::numeric_limits<int32_t>::min()});
                 it != offsets.end() && it->first.first == name; ++it) {
                // An unknown id was the previous topic's, as it was current.
                if (id == _topic_ids.end() || it->second.topic_id != id->second) {
                    stale[p].push_back({g, name, it->first.second});
                }
            }
        }
    }
    drop_offsets(std::move(stale), "their topic was deleted or recreated");
}

void group_coordinator::drop_stale_offsets(int32_t partition) {
    std::map<int32_t, std::vector<offset_key>> stale;
    for (const auto& [g, offsets] : _offsets.groups()) {
        if (partition_for(g) != partition) {
            continue;
        }
        for (const auto& [tp, c] : offsets) {
            if (!is_current(tp.first, c)) {
                stale[partition].push_back({g, tp.first, tp.second});
            }
        }
    }
    drop_offsets(std::move(stale),
                 "their topic was deleted or recreated since they were committed");
}

void group_coordinator::drop_offsets(std::map<int32_t, std::vector<offset_key>> keys,
                                     const char* why) {
    for (auto& [p, ks] : keys) {
        auto st = _partitions.find(p);
        if (st == _partitions.end() || ks.empty()) {
            continue;
        }
        for (const auto& k : ks) {
            _offsets.erase(k);
        }
        log(log_level::info, component,
            "__consumer_offsets-{}: tombstoning {} offsets (first: group {}, {}-{}): {}", p,
            ks.size(), ks.front().group, ks.front().topic, ks.front().partition, why);
        auto& pending = st->second.pending_tombstones;
        pending.insert(pending.end(), std::make_move_iterator(ks.begin()),
                       std::make_move_iterator(ks.end()));
        flush_tombstones(p);
    }
}

void group_coordinator::flush_tombstones(int32_t partition) {
    auto st = _partitions.find(partition);
    if (st == _partitions.end()) {
        return;
    }
    auto& pending = st->second.pending_tombstones;
    // A key committed again since (a new topic's offset) must not be
    // deleted by a late tombstone: only what is still absent is written.
    std::erase_if(pending, [this](const offset_key& k) {
        const committed_offset* c = _offsets.find(k.group, k.topic, k.partition);
        return c != nullptr && is_current(k.topic, *c);
    });
    if (pending.empty()) {
        return;
    }
    if (const int16_t e = tombstone_offsets(partition, pending); e != k::none) {
        log(log_level::warn, component,
            "__consumer_offsets-{}: cannot append {} tombstones (error {}); retrying", partition,
            pending.size(), e);
        return;
    }
    pending.clear();
}

int16_t group_coordinator::tombstone_offsets(int32_t partition,
                                             const std::vector<offset_key>& keys) {
    broker::partition* part = _pm.find(std::string(cluster::offsets_topic), partition);
    if (part == nullptr) {
        return k::coordinator_not_available;
    }
    const int64_t now_ms = _now();
    size_t i = 0;
    while (i < keys.size()) {
        kafka::record_batch_builder b;
        size_t bytes = 0;
        for (; i < keys.size() && bytes < tombstone_batch_bytes; ++i) {
            const std::string key = encode_offset_key(keys[i]);
            bytes += key.size();
            b.add(key, std::nullopt, now_ms);
        }
        auto appended = part->append(b.build(), now_ms);
        if (!appended) {
            log(log_level::warn, component, "cannot append tombstones to {}-{}: {}",
                cluster::offsets_topic, partition, appended.error().detail);
            return commit_error(kafka_error(appended.error().code));
        }
        // Durable in the next group commit (nobody waits for it: memory
        // already forgot these offsets, and a replay before the sync finds
        // them stale again and writes new tombstones).
        part->sync(nullptr);
    }
    return k::none;
}

// ---------------------------------------------------------------- FindCoordinator and checks

void group_coordinator::create_offsets_topic() {
    const int64_t now_ms = _now();
    if (_controller == nullptr || _creating || now_ms < _next_create_ms) {
        return;
    }
    _creating = true;
    v1::CreateTopicsRequest req;
    auto* item = req.add_topics();
    item->set_name(std::string(cluster::offsets_topic));
    item->set_partitions(_opts.offsets_topic_partitions);
    item->set_replication_factor(-1);
    // Committed offsets must not expire with the log's retention.
    (*item->mutable_configs())["retention.ms"] = "-1";
    (*item->mutable_configs())["retention.bytes"] = "-1";
    // As in Kafka: the log keeps the latest commit of each group/partition.
    (*item->mutable_configs())["cleanup.policy"] = "compact";
    log(log_level::info, component, "creating {} with {} partitions", cluster::offsets_topic,
        _opts.offsets_topic_partitions);
    _controller->create_topics(
        std::move(req), create_timeout, [this](result<v1::CreateTopicsResponse> r) {
            // On a gRPC thread: only hand the answer to the io thread.
            auto shared = std::make_shared<result<v1::CreateTopicsResponse>>(std::move(r));
            _schedule(std::chrono::milliseconds(0), [this, shared] {
                _creating = false;
                const auto& res = *shared;
                std::string problem;
                if (!res) {
                    problem = res.error().detail;
                } else if (res->topics_size() == 1) {
                    const auto& item_result = res->topics(0).result();
                    if (item_result.code() != v1::OK &&
                        item_result.code() != v1::TOPIC_ALREADY_EXISTS) {
                        problem = item_result.message();
                    }
                } else {
                    problem = "the controller answered for no topic";
                }
                if (!problem.empty()) {
                    _next_create_ms = _now() + retry_backoff_ms;
                    log(log_level::warn, component, "cannot create {}: {}; retrying on demand",
                        cluster::offsets_topic, problem);
                }
            });
        });
}

group_coordinator::location group_coordinator::locate(const std::string& group_id) {
    refresh();
    location loc;
    if (_md.topic(std::string(cluster::offsets_topic)) == nullptr) {
        create_offsets_topic();
        loc.error = k::coordinator_not_available;
        loc.message = "the offsets topic __consumer_offsets is being created";
        return loc;
    }
    const v1::PartitionAssignment* a = assignment(partition_for(group_id));
    if (a == nullptr || a->leader() < 0) {
        loc.error = k::coordinator_not_available;
        loc.message = "the group's partition of __consumer_offsets has no leader";
        return loc;
    }
    const v1::Broker* b = _md.broker(a->leader());
    const v1::Endpoint* ep = b == nullptr ? nullptr : kafka_endpoint(*b);
    if (ep == nullptr) {
        loc.error = k::coordinator_not_available;
        loc.message = "the coordinator broker has no known address";
        return loc;
    }
    loc.error = k::none;
    loc.message.clear();
    loc.node_id = a->leader();
    loc.host = ep->host();
    loc.port = ep->port();
    return loc;
}

int16_t group_coordinator::check(const std::string& group_id) {
    refresh();
    if (_stopped || _partition_count == 0) {
        return k::coordinator_not_available;
    }
    const int32_t p = partition_for(group_id);
    const v1::PartitionAssignment* a = assignment(p);
    if (a == nullptr || a->leader() < 0) {
        return k::coordinator_not_available;
    }
    if (a->leader() != _opts.node_id) {
        return k::not_coordinator;
    }
    auto it = _partitions.find(p);
    if (it == _partitions.end()) {
        // Led here, but its log is not open yet: it will be loaded.
        return k::coordinator_load_in_progress;
    }
    if (it->second.failed) {
        return k::coordinator_not_available;
    }
    return it->second.loaded ? k::none : k::coordinator_load_in_progress;
}

// ---------------------------------------------------------------- commits

void group_coordinator::store_offsets(const std::string& group_id,
                                      const std::vector<commit>& commits,
                                      std::function<void(int16_t)> done) {
    if (const int16_t e = check(group_id); e != k::none) {
        done(e);  // moved or unloaded since the request was checked
        return;
    }
    const int32_t p = partition_for(group_id);
    broker::partition* part = _pm.find(std::string(cluster::offsets_topic), p);
    if (part == nullptr) {
        done(k::coordinator_not_available);
        return;
    }
    const int64_t now_ms = _now();
    kafka::record_batch_builder b;
    for (const auto& c : commits) {
        b.add(encode_offset_key({group_id, c.topic, c.partition}), encode_offset_value(c.value),
              now_ms);
    }
    auto appended = part->append(b.build(), now_ms);
    if (!appended) {
        log(log_level::warn, component, "group {}: cannot append {} offsets to {}-{}: {}", group_id,
            commits.size(), cluster::offsets_topic, p, appended.error().detail);
        done(commit_error(kafka_error(appended.error().code)));
        return;
    }
    // Answered once durable; the partition raises the high watermark then.
    // `this` outlives the flusher's callbacks: stop() comes first, and a
    // closed log's waiters hear errc::not_open before the log goes.
    const uint64_t load_id = _partitions.count(p) != 0 ? _partitions.at(p).load_id : 0;
    part->sync(
        [this, group_id, commits, p, load_id, done = std::move(done)](const result<void>& synced) {
            if (!synced) {
                log(log_level::warn, component, "group {}: {} offsets in {}-{} not durable: {}",
                    group_id, commits.size(), cluster::offsets_topic, p, synced.error().detail);
                done(commit_error(kafka_error(synced.error().code)));
                return;
            }
            auto it = _partitions.find(p);
            if (it == _partitions.end() || it->second.load_id != load_id) {
                // Unloaded or reloaded meanwhile (a reload stops at the high
                // watermark, before this batch): the client retries, and a
                // commit is idempotent.
                done(k::not_coordinator);
                return;
            }
            for (const auto& c : commits) {
                _offsets.put({group_id, c.topic, c.partition}, c.value);
            }
            done(k::none);
        });
}

void group_coordinator::store_admin_offsets(const std::string& group_id,
                                            const std::vector<commit>& commits,
                                            std::function<void(int16_t)> done) {
    if (const int16_t e = check(group_id); e != k::none) {
        done(e);
        return;
    }
    if (const group* g = _groups.find(group_id); g != nullptr && !g->idle()) {
        done(k::non_empty_group);
        return;
    }
    if (commits.empty()) {
        done(k::none);
        return;
    }
    // The rule an OffsetCommit with generation -1 and no member meets
    // (creates the group Empty when missing).
    if (const int16_t e = _groups.validate_commit(group_id, "", -1, _now()); e != k::none) {
        done(e);
        return;
    }
    store_offsets(group_id, commits, std::move(done));
}

}  // namespace fjord::broker
