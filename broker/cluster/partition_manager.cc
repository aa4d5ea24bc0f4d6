// File: broker/cluster/partition_manager.cc

#include "broker/cluster/partition_manager.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "broker/cluster/cluster_record.h"
#include "broker/storage/errc.h"
#include "broker/tiered/migration_rules.h"
#include "broker/tiered/topic_settings.h"
#include "common/cluster/shadow_link.h"
#include "common/data_dir.h"
#include "common/fs/file_ops.h"
#include "common/log.h"
#include "common/uuid.h"

namespace fjord::broker {
namespace {

namespace fs = std::filesystem;
constexpr const char* component = "partitions";

result<int64_t> parse_i64(const std::string& key, const std::string& text) {
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) {
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          fmt::format("{}: \"{}\" is not an integer", key, text));
    }
    return v;
}

/// The entries of `dir` (none if it does not exist or cannot be read),
/// without exceptions.
std::vector<fs::path> entries(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    for (const fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
        out.push_back(it->path());
    }
    return out;
}

objstore::config_lookup lookup(const metadata_cache& md) {
    return [&md](std::string_view key) { return md.config(std::string(key)); };
}

}  // namespace

partition_manager::partition_manager(std::string data_dir, int32_t broker_id, partition_defaults d,
                                     cluster_record* record, log_flusher* flusher)
    : _data_dir(std::move(data_dir)),
      _broker_id(broker_id),
      _own_flusher(flusher == nullptr ? std::make_unique<log_flusher>() : nullptr),
      _flusher(flusher == nullptr ? _own_flusher.get() : flusher),
      _defaults(d),
      _record(record) {}

partition_manager::~partition_manager() {
    for (auto it = _logs.begin(); it != _logs.end();) {
        it = close(it);
    }
}

std::map<partition_manager::key, partition_manager::open_log>::iterator partition_manager::close(
    std::map<key, open_log>::iterator it) {
    _flusher->forget(*it->second.part);
    return _logs.erase(it);
}

void partition_manager::flush_all(int64_t now_ms) {
    for (auto& [k, l] : _logs) {
        if (auto r = l.part->log().flush(now_ms); !r) {
            log(log_level::error, component, "{}-{}: flush at shutdown: {}", k.topic, k.partition,
                r.error().detail);
        }
    }
}

result<storage::log_config> partition_manager::config_for(const v1::Topic& topic,
                                                          const metadata_cache& md,
                                                          const partition_defaults& d) {
    // Topic config, else its cluster-wide default, else the schema default
    // (the same defaults as the controller's topic schema,
    // common/cluster/config_schema.cc).
    const auto value = [&](const std::string& key,
                           const char* cluster_key) -> std::optional<std::string> {
        if (auto it = topic.configs().find(key); it != topic.configs().end()) {
            return it->second;
        }
        if (cluster_key != nullptr) {
            if (auto v = md.config(cluster_key)) {
                return v;
            }
        }
        return std::nullopt;
    };
    storage::log_config c;
    c.segment_bytes = int64_t{128} << 20;
    c.segment_ms = int64_t{7} * 24 * 3600 * 1000;
    c.retention_ms = int64_t{7} * 24 * 3600 * 1000;
    c.retention_bytes = -1;
    c.max_batch_bytes = 1048588;
    const std::pair<const char*, std::pair<const char*, int64_t*>> ints[] = {
        {"segment.bytes", {"log_segment_size", &c.segment_bytes}},
        {"segment.ms", {nullptr, &c.segment_ms}},
        {"retention.ms", {"log_retention_ms", &c.retention_ms}},
        {"retention.bytes", {"retention_bytes", &c.retention_bytes}},
        {"max.message.bytes", {nullptr, &c.max_batch_bytes}},
        {"delete.retention.ms", {nullptr, &c.delete_retention_ms}},
        {"min.compaction.lag.ms", {nullptr, &c.min_compaction_lag_ms}},
    };
    for (const auto& [key, target] : ints) {
        if (auto v = value(key, target.first)) {
            auto n = parse_i64(key, *v);
            if (!n) {
                return n.error();
            }
            *target.second = *n;
        }
    }
    if (auto v = value("message.timestamp.type", nullptr)) {
        c.message_timestamp_type = *v == "LogAppendTime" ? storage::timestamp_type::log_append_time
                                                         : storage::timestamp_type::create_time;
    }
    if (auto v = value("write.caching", "write_caching_default")) {
        if (*v != "true" && *v != "false") {
            return error_info(std::make_error_code(std::errc::invalid_argument),
                              fmt::format("write.caching: \"{}\" is not true or false", *v));
        }
        c.write_caching = *v == "true";
    }
    if (auto v = value("cleanup.policy", "log_cleanup_policy")) {
        c.cleanup_delete = false;
        c.cleanup_compact = false;
        for (std::string_view rest = *v; !rest.empty();) {
            const size_t comma = rest.find(',');
            std::string_view item = rest.substr(0, comma);
            rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
            while (!item.empty() && item.front() == ' ') {
                item.remove_prefix(1);
            }
            while (!item.empty() && item.back() == ' ') {
                item.remove_suffix(1);
            }
            if (item == "delete") {
                c.cleanup_delete = true;
            } else if (item == "compact") {
                c.cleanup_compact = true;
            } else {
                return error_info(
                    std::make_error_code(std::errc::invalid_argument),
                    fmt::format("cleanup.policy: \"{}\" is not delete or compact", item));
            }
        }
    }
    if (auto v = value("min.cleanable.dirty.ratio", nullptr)) {
        double ratio = 0;
        const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), ratio);
        if (ec != std::errc() || end != v->data() + v->size()) {
            return error_info(std::make_error_code(std::errc::invalid_argument),
                              fmt::format("min.cleanable.dirty.ratio: \"{}\" is not a number", *v));
        }
        c.min_cleanable_dirty_ratio = ratio;
    }
    // Tiered topics keep locally what their local target says (never more
    // than the whole log's retention); the archiver's retention limit
    // keeps what is not uploaded yet.
    auto tiered = tiered_settings_for(topic, md.cluster_uuid(), lookup(md));
    if (!tiered) {
        return tiered.error();
    }
    if (tiered->tiered) {
        c.retention_ms = tighter_limit(tiered->local_target_ms, c.retention_ms);
        c.retention_bytes = tighter_limit(tiered->local_target_bytes, c.retention_bytes);
    }
    // A shadow topic's log holds the source's offsets, gaps included
    // (partition_log::append_copy); it keeps them after a failover.
    c.offset_gaps = topic.has_shadow();
    constexpr int64_t never = std::numeric_limits<int64_t>::max();
    // Only write caching leaves anything for a flush policy to do.
    c.flush_messages = c.write_caching && d.flush_messages > 0 ? d.flush_messages : never;
    c.flush_ms = c.write_caching && d.flush_ms > 0 ? d.flush_ms : never;
    if (auto r = storage::validate(c); !r) {
        return r.error();
    }
    return c;
}

storage::log_config partition_manager::fallback_config_for(const v1::Topic& topic,
                                                           const metadata_cache& md,
                                                           const partition_defaults& d) {
    auto defaults = config_for(v1::Topic{}, md, d);
    storage::log_config c = defaults ? *defaults : storage::log_config{};
    // A compacted topic under a delete policy would lose keys' latest
    // records to retention: whatever else is wrong with its configs, a
    // policy naming compact (however malformed the rest of it) gets compact
    // only.
    std::optional<std::string> policy;
    if (auto it = topic.configs().find("cleanup.policy"); it != topic.configs().end()) {
        policy = it->second;
    } else {
        policy = md.config("log_cleanup_policy");
    }
    if (policy && policy->find("compact") != std::string::npos) {
        c.cleanup_compact = true;
        c.cleanup_delete = false;
    }
    c.offset_gaps = topic.has_shadow();
    return c;
}

bool partition_manager::record_applied(const metadata_cache& md) {
    if (_record == nullptr) {
        return true;
    }
    if (auto r = _record->advance(md.cluster_uuid(), md.applied_revision()); !r) {
        log(log_level::error, component,
            "cannot record revision {} of cluster {} in {}: {}; not changing the disk until it is",
            md.applied_revision(), md.cluster_uuid(), _record->dir(), r.error().detail);
        return false;
    }
    return true;
}

namespace {

/// Nothing copies into a shadow topic's log once it failed over or its link
/// went: the producer state the copies brought goes (partition_log.h
/// end_copies), before any client may produce to it. A failure is logged
/// and retried at the next reconcile.
void end_copies_unless_replicating(const v1::Topic& topic, storage::partition_log& l,
                                   int64_t now_ms) {
    if (!l.copying() ||
        (topic.has_shadow() && cluster::shadow::replicates(topic.shadow().state()))) {
        return;
    }
    if (auto r = l.end_copies(now_ms); !r) {
        log(log_level::error, component, "{}: {}", topic.name(), r.error().detail);
    }
}

}  // namespace

void partition_manager::reconcile(const metadata_cache& md, int64_t now_ms) {
    if (!md.ready()) {
        return;
    }
    _failed = 0;
    if (_record != nullptr && !_record->exists()) {
        adopt(md, now_ms);
    }
    std::set<key> wanted;
    std::set<std::string> live_uuids;
    for (const auto& [name, topic] : md.topics()) {
        live_uuids.insert(topic.uuid());
        auto tiered = tiered_settings_for(topic, md.cluster_uuid(), lookup(md));
        const bool is_tiered = tiered && tiered->tiered;
        if (tiered) {
            _remote_intent[topic.uuid()] =
                is_tiered && tiered->remote_delete && remote_delete_allowed(topic)
                    ? tiered->location
                    : std::string();
        }  // else: the intent of the last state that parsed stands
        auto cfg = config_for(topic, md, _defaults);
        if (!cfg) {
            // Open logs keep the settings they have; only a log opened now
            // gets fallback ones (fallback_config_for: never delete for a
            // topic that asks for compact).
            log(log_level::warn, component,
                "topic {}: {}; its open logs keep their settings, new ones get the defaults", name,
                cfg.error().detail);
        }
        for (const auto& p : topic.partitions()) {
            bool mine = false;
            for (int32_t r : p.replicas()) {
                mine = mine || r == _broker_id;
            }
            if (!mine) {
                continue;
            }
            const key k{name, p.partition()};
            wanted.insert(k);
            auto it = _logs.find(k);
            if (it != _logs.end() && it->second.uuid != topic.uuid()) {
                close(it);  // the topic was deleted and created again
                it = _logs.end();
            }
            if (it != _logs.end()) {
                end_copies_unless_replicating(topic, it->second.part->log(), now_ms);
                auto& log = it->second.part->log();
                if (is_tiered && !log.retention_limit()) {
                    log.set_retention_limit(kafka_offset{0});  // until the archiver knows
                } else if (tiered && !is_tiered && log.retention_limit()) {
                    log.set_retention_limit(std::nullopt);
                }
                if (cfg && !(it->second.part->log().config() == *cfg)) {
                    const bool was_caching = it->second.part->log().config().write_caching;
                    (void)it->second.part->log().set_config(*cfg);
                    if (was_caching && !cfg->write_caching) {
                        // Its high watermark may be above the durable
                        // offset: sync now, not at the next produce.
                        it->second.part->sync(nullptr);
                    }
                }
                continue;
            }
            const std::string dir =
                fmt::format("{}/topics/{}/{}", _data_dir, topic.uuid(), p.partition());
            std::error_code ec;
            if (!fs::exists(dir, ec) && !record_applied(md)) {
                ++_failed;  // a directory the record does not cover could later look deleted
                continue;
            }
            // Each new level durably (file_ops::make_dir syncs the parent), so
            // a power loss cannot take a directory a synced segment is in.
            bool levels_durable = true;
            for (const std::string& level :
                 {_data_dir + "/topics", fmt::format("{}/topics/{}", _data_dir, topic.uuid())}) {
                if (auto r = fjord::fs::posix_file_ops(storage::errc::io_error)->make_dir(level);
                    !r) {
                    log(log_level::error, component, "{}-{}: {}; not serving it", name,
                        p.partition(), r.error().detail);
                    levels_durable = false;
                    break;
                }
            }
            if (!levels_durable) {
                ++_failed;  // retried on the next reconcile
                continue;
            }
            // A mounted partition's new log starts where its remote data
            // ends (an existing one keeps its offsets).
            const kafka_offset first{std::max<int64_t>(0, p.start_offset())};
            auto opened = storage::partition_log::open(
                dir, cfg ? *cfg : fallback_config_for(topic, md, _defaults), now_ms, nullptr,
                first);
            if (!opened) {
                ++_failed;
                log(log_level::error, component, "{}-{}: cannot open the log in {}: {}", name,
                    p.partition(), dir, opened.error().detail);
                continue;
            }
            end_copies_unless_replicating(topic, **opened, now_ms);
            // One replica holds the data until replication lands: what is
            // appended is committed.
            (void)(*opened)->set_high_watermark((*opened)->log_end_offset());
            if (is_tiered || !tiered) {
                // Nothing goes before the archiver knows what is uploaded
                // (a topic whose tiered settings do not parse: neither).
                (*opened)->set_retention_limit(kafka_offset{0});
            }
            log(log_level::info, component, "{}-{}: log open in {} (offsets {}..{})", name,
                p.partition(), dir, (*opened)->log_start_offset().value(),
                (*opened)->log_end_offset().value());
            _logs.emplace(k, open_log{topic.uuid(), std::make_unique<broker::partition>(
                                                        std::move(*opened), *_flusher)});
        }
    }
    std::map<std::string, std::string> names;  // uuid -> topic name, of the logs open until now
    for (auto it = _logs.begin(); it != _logs.end();) {
        names[it->second.uuid] = it->first.topic;
        if (wanted.count(it->first) == 0) {
            log(log_level::info, component, "{}-{}: no longer assigned here; closed",
                it->first.topic, it->first.partition);
            it = close(it);
        } else {
            ++it;
        }
    }
    retire_deleted(md, live_uuids, names, now_ms);
}

std::vector<std::string> partition_manager::topic_dirs() const {
    std::vector<std::string> out;
    for (const fs::path& p : entries(fs::path(_data_dir) / "topics")) {
        const std::string uuid = p.filename().string();
        const auto canonical = parse_uuid(uuid);
        std::error_code ec;
        if (fs::is_directory(p, ec) && canonical && *canonical == uuid) {
            out.push_back(uuid);  // anything else is not ours: never touch it
        }
    }
    return out;
}

void partition_manager::adopt(const metadata_cache& md, int64_t now_ms) {
    for (const std::string& uuid : topic_dirs()) {
        if (std::any_of(md.topics().begin(), md.topics().end(),
                        [&](const auto& t) { return t.second.uuid() == uuid; })) {
            continue;
        }
        const fs::path from = fs::path(_data_dir) / "topics" / uuid;
        fs::path to = fs::path(_data_dir) / "orphans" / uuid;
        std::error_code ec;
        fs::create_directories(to.parent_path(), ec);
        if (fs::exists(to, ec)) {
            to += fmt::format(".{}", now_ms);
        }
        fs::rename(from, to, ec);
        log(log_level::warn, component,
            "topic directory {} is not in cluster {}'s state at revision {}, and this data dir "
            "has no {} to prove the topic was deleted: moved to {} and kept ({}); remove it by "
            "hand once you know it is not needed",
            from.string(), md.cluster_uuid(), md.applied_revision(), cluster_record::file_name,
            to.string(), ec ? ec.message() : "ok");
    }
    (void)record_applied(md);
}

void partition_manager::retire_deleted(const metadata_cache& md,
                                       const std::set<std::string>& live_uuids,
                                       const std::map<std::string, std::string>& names,
                                       int64_t now_ms) {
    if (_record == nullptr || !_record->exists()) {
        return;  // nothing proves a deletion (see the file comment)
    }
    bool recorded = false;
    for (const std::string& uuid : topic_dirs()) {
        if (live_uuids.count(uuid) != 0) {
            continue;
        }
        // The deletion is acted on: a snapshot from before it must be
        // refused from now on, or the topic would come back empty.
        if (!recorded && !(recorded = record_applied(md))) {
            return;
        }
        const fs::path from = fs::path(_data_dir) / "topics" / uuid;
        const fs::path to = fs::path(_data_dir) / "trash" /
                            fmt::format("{}.{}.{}", uuid, md.applied_revision(), now_ms);
        write_remote_intent(from.string(), uuid);
        std::error_code ec;
        fs::create_directories(to.parent_path(), ec);
        if (!ec) {
            fs::rename(from, to, ec);
        }
        const auto name = names.find(uuid);
        const std::string topic =
            name != names.end() ? fmt::format("{} ({})", name->second, uuid) : uuid;
        if (ec) {
            log(log_level::error, component,
                "topic {} was deleted (revision <= {}), but its data in {} cannot be moved to "
                "the trash ({}): {}; retrying at the next change",
                topic, md.applied_revision(), from.string(), to.string(), ec.message());
            continue;
        }
        log(log_level::info, component,
            "topic {} was deleted (revision <= {}): its data moved to {}, removed in {} ms", topic,
            md.applied_revision(), to.string(), _defaults.delete_delay_ms);
    }
}

std::vector<partition_manager::tombstone> partition_manager::tombstones() const {
    std::vector<tombstone> out;
    for (const fs::path& p : entries(fs::path(_data_dir) / "trash")) {
        // <uuid>.<revision>.<deleted at ms>: exactly what retire_deleted names.
        const std::string name = p.filename().string();
        const size_t a = name.find('.');
        const size_t b = a == std::string::npos ? a : name.find('.', a + 1);
        if (b == std::string::npos || name.find('.', b + 1) != std::string::npos) {
            continue;
        }
        tombstone t;
        t.path = p.string();
        t.topic_uuid = name.substr(0, a);
        const auto uuid = parse_uuid(t.topic_uuid);
        const std::string rev = name.substr(a + 1, b - a - 1);
        const std::string at = name.substr(b + 1);
        const auto digits = [](const std::string& x) {
            return !x.empty() && x.size() <= 18 && x.find_first_not_of("0123456789") == x.npos;
        };
        if (!uuid || *uuid != t.topic_uuid || !digits(rev) || !digits(at)) {
            continue;
        }
        t.revision = std::stoull(rev);
        t.deleted_ms = std::stoll(at);
        out.push_back(std::move(t));
    }
    std::sort(out.begin(), out.end(),
              [](const tombstone& x, const tombstone& y) { return x.deleted_ms < y.deleted_ms; });
    return out;
}

void partition_manager::write_remote_intent(const std::string& topic_dir, const std::string& uuid) {
    const auto it = _remote_intent.find(uuid);
    const std::string location = it == _remote_intent.end() ? std::string() : it->second;
    std::error_code ec;
    if (location.empty()) {
        // No remote deletion; a stale intent (a tombstone renamed back by
        // hand) must not act for this deletion.
        fs::remove(fs::path(topic_dir) / remote_delete_file, ec);
        return;
    }
    const std::string body = encode_checked_kv(
        fmt::format("# Delete this topic's objects from the object store when its tombstone is "
                    "reclaimed.\nformat=1\nlocation={}\n",
                    location));
    if (auto r = write_file_durably(topic_dir, remote_delete_file, body); !r) {
        log(log_level::error, component,
            "topic {}: cannot record that its remote data at {} is to be deleted: {}; the remote "
            "data is kept",
            uuid, location, r.error().detail);
        return;
    }
    log(log_level::info, component,
        "topic {}: its remote data at {} will be deleted with its tombstone "
        "(redpanda.remote.delete)",
        uuid, location);
}

std::optional<std::string> partition_manager::remote_intent_of(const std::string& tomb) {
    const std::string path = tomb + "/" + remote_delete_file;
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        return std::nullopt;
    }
    std::string text;
    {
        std::ifstream in(path, std::ios::binary);
        text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    auto kv = decode_checked_kv(text, path, 4096);
    if (kv) {
        for (const auto& [k, v] : *kv) {
            if (k == "location" && !v.empty()) {
                return std::string(v);
            }
        }
    }
    // Damaged: nobody can tell which data it meant; the remote data stays.
    if (_unremovable.insert(path).second) {
        log(log_level::error, component,
            "{} does not decode ({}): the tombstone is removed, its remote data kept", path,
            kv ? "no location" : kv.error().detail);
    }
    return std::string();
}

size_t partition_manager::reclaim(int64_t now_ms) {
    size_t removed = 0;
    for (const tombstone& t : tombstones()) {
        const int64_t delay = std::max<int64_t>(0, _defaults.delete_delay_ms);
        const bool due = t.deleted_ms <= std::numeric_limits<int64_t>::max() - delay &&
                         t.deleted_ms + delay <= now_ms;
        if (!due) {
            continue;
        }
        std::error_code ec;
        if (auto location = remote_intent_of(t.path); location && !location->empty()) {
            if (!_remote_reclaimer || !_remote_reclaimer(t.topic_uuid, *location)) {
                // Not yet: the local data goes now, the intent stays.
                for (const fs::path& e : entries(t.path)) {
                    if (e.filename() != remote_delete_file) {
                        fs::remove_all(e, ec);
                    }
                }
                if (_remote_pending.insert(t.path).second) {
                    log(log_level::info, component,
                        "topic {}: local data of tombstone {} removed; waiting for its remote "
                        "data at {} to be deleted{}",
                        t.topic_uuid, t.path, *location,
                        _remote_reclaimer ? "" : " (no object store configured)");
                }
                continue;
            }
            _remote_pending.erase(t.path);
        }
        fs::remove_all(t.path, ec);
        if (ec) {
            if (_unremovable.insert(t.path).second) {  // retried every pass, logged once
                log(log_level::error, component, "cannot remove tombstone {}: {}", t.path,
                    ec.message());
            }
            continue;
        }
        _unremovable.erase(t.path);
        ++removed;
        log(log_level::info, component,
            "removed the data of deleted topic {} (tombstone {}, {} ms after its deletion)",
            t.topic_uuid, t.path, now_ms - t.deleted_ms);
    }
    return removed;
}

partition* partition_manager::find(const std::string& topic, int32_t partition) {
    auto it = _logs.find(key{topic, partition});
    return it == _logs.end() ? nullptr : it->second.part.get();
}

void partition_manager::housekeeping(int64_t now_ms) {
    reclaim(now_ms);
    for (auto& [k, l] : _logs) {
        if (auto r = l.part->log().maybe_flush(now_ms); !r) {
            log(log_level::error, component, "{}-{}: flush: {}", k.topic, k.partition,
                r.error().detail);
        }
        // segment.ms on an idle partition first, so retention sees the roll.
        if (auto r = l.part->log().maybe_roll(now_ms); !r) {
            log(log_level::error, component, "{}-{}: roll: {}", k.topic, k.partition,
                r.error().detail);
        }
        if (auto r = l.part->log().apply_retention(now_ms); !r) {
            log(log_level::error, component, "{}-{}: retention: {}", k.topic, k.partition,
                r.error().detail);
        }
    }
    // Compaction runs here, on the io thread that serves every Kafka
    // request, so each call does a bounded share of it: at most
    // compaction_budget_bytes of cleaner reads (writes are fewer) over all
    // logs. One pass at a time: a pass that does not end within the budget
    // goes on at the next call before any other starts, so one offset map
    // (compaction_limits::max_map_bytes) is held at a time; then the logs
    // after it get their turn. At the cleaner's rate (bench/log_cleaner_bench:
    // 100-250 MB/s on a loaded 2-core machine) that is a pause of some
    // 35-85 ms once a second, which requests absorb, and 8 MiB/s of cleaning,
    // more than compacted topics (__consumer_offsets, changelogs) usually
    // take in. Fine for now;
    // the way past it is a cleaner thread of its own (Kafka's
    // log.cleaner.threads), once a partition log can be shared between
    // threads.
    uint64_t budget = compaction_budget_bytes;
    auto it = _logs.find(_compacted_last);
    if (it == _logs.end() || !it->second.part->log().compaction_in_progress()) {
        it = _logs.upper_bound(_compacted_last);
    }
    for (size_t n = 0; n < _logs.size() && budget > 0; ++n, ++it) {
        if (it == _logs.end()) {
            it = _logs.begin();
        }
        const auto& [k, l] = *it;
        if (!l.part->log().config().cleanup_compact) {
            continue;
        }
        _compacted_last = k;
        auto r = l.part->log().compact(now_ms, storage::compaction_limits{budget});
        if (!r) {
            log(log_level::error, component, "{}-{}: compaction: {}", k.topic, k.partition,
                r.error().detail);
            continue;
        }
        budget -= std::min(budget, r->bytes_read);
        _compaction.bytes_removed += r->bytes_before - std::min(r->bytes_before, r->bytes_after);
        _compaction.records_removed += r->records_removed;
        if (r->pass_done) {
            ++_compaction.passes;
        }
        if (r->in_progress) {
            break;  // the budget is spent; this pass goes on first next time
        }
    }
}

}  // namespace fjord::broker
