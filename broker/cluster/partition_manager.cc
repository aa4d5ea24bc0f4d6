// File: broker/cluster/partition_manager.cc

#include "broker/cluster/partition_manager.h"

#include <charconv>
#include <filesystem>
#include <limits>
#include <set>
#include <system_error>

#include <fmt/format.h>

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

}  // namespace

partition_manager::partition_manager(std::string data_dir, int32_t broker_id, partition_defaults d)
    : _data_dir(std::move(data_dir)), _broker_id(broker_id), _defaults(d) {}

result<storage::log_config> partition_manager::config_for(const v1::Topic& topic,
                                                          const metadata_cache& md,
                                                          const partition_defaults& d) {
    // Topic config, else its cluster-wide default, else the schema default
    // (the same defaults as the controller's topic schema,
    // controller/stm/config_schema.cc).
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
    constexpr int64_t never = std::numeric_limits<int64_t>::max();
    c.flush_messages = d.flush_messages > 0 ? d.flush_messages : never;
    c.flush_ms = d.flush_ms > 0 ? d.flush_ms : never;
    if (auto r = storage::validate(c); !r) {
        return r.error();
    }
    return c;
}

void partition_manager::reconcile(const metadata_cache& md, int64_t now_ms) {
    if (!md.ready()) {
        return;
    }
    _failed = 0;
    std::set<key> wanted;
    std::set<std::string> live_uuids;
    for (const auto& [name, topic] : md.topics()) {
        live_uuids.insert(topic.uuid());
        auto cfg = config_for(topic, md, _defaults);
        if (!cfg) {
            log(log_level::warn, component, "topic {}: {}; using the defaults", name,
                cfg.error().detail);
            cfg = config_for(v1::Topic{}, md, _defaults);
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
                _logs.erase(it);  // the topic was deleted and created again
                it = _logs.end();
            }
            if (it != _logs.end()) {
                if (cfg && !(it->second.log->config().segment_bytes == cfg->segment_bytes &&
                             it->second.log->config().retention_ms == cfg->retention_ms &&
                             it->second.log->config().retention_bytes == cfg->retention_bytes &&
                             it->second.log->config().max_batch_bytes == cfg->max_batch_bytes &&
                             it->second.log->config().segment_ms == cfg->segment_ms &&
                             it->second.log->config().message_timestamp_type ==
                                 cfg->message_timestamp_type)) {
                    (void)it->second.log->set_config(*cfg);
                }
                continue;
            }
            const std::string dir =
                fmt::format("{}/topics/{}/{}", _data_dir, topic.uuid(), p.partition());
            std::error_code ec;
            fs::create_directories(fs::path(dir).parent_path(), ec);
            auto opened =
                storage::partition_log::open(dir, cfg ? *cfg : storage::log_config{}, now_ms);
            if (!opened) {
                ++_failed;
                log(log_level::error, component, "{}-{}: cannot open the log in {}: {}", name,
                    p.partition(), dir, opened.error().detail);
                continue;
            }
            // One replica holds the data until replication lands: what is
            // appended is committed.
            (void)(*opened)->set_high_watermark((*opened)->log_end_offset());
            log(log_level::info, component, "{}-{}: log open in {} (offsets {}..{})", name,
                p.partition(), dir, (*opened)->log_start_offset().value(),
                (*opened)->log_end_offset().value());
            _logs.emplace(k, open_log{topic.uuid(), std::move(*opened)});
        }
    }
    for (auto it = _logs.begin(); it != _logs.end();) {
        if (wanted.count(it->first) == 0) {
            log(log_level::info, component, "{}-{}: no longer assigned here; closed",
                it->first.topic, it->first.partition);
            it = _logs.erase(it);
        } else {
            ++it;
        }
    }
    // Directories of topics the controller no longer has: deleted.
    std::error_code ec;
    const fs::path topics_dir = fs::path(_data_dir) / "topics";
    if (!fs::exists(topics_dir, ec)) {
        return;
    }
    for (const auto& entry : fs::directory_iterator(topics_dir, ec)) {
        const std::string uuid = entry.path().filename().string();
        if (!entry.is_directory(ec) || !parse_uuid(uuid)) {
            continue;  // not ours: never remove what we did not create
        }
        if (live_uuids.count(uuid) == 0) {
            fs::remove_all(entry.path(), ec);
            log(log_level::info, component, "removed the data of deleted topic {} ({})", uuid,
                ec ? ec.message() : "ok");
        }
    }
}

storage::partition_log* partition_manager::find(const std::string& topic, int32_t partition) {
    auto it = _logs.find(key{topic, partition});
    return it == _logs.end() ? nullptr : it->second.log.get();
}

void partition_manager::housekeeping(int64_t now_ms) {
    for (auto& [k, l] : _logs) {
        if (auto r = l.log->maybe_flush(now_ms); !r) {
            log(log_level::error, component, "{}-{}: flush: {}", k.topic, k.partition,
                r.error().detail);
        }
        if (auto r = l.log->apply_retention(now_ms); !r) {
            log(log_level::error, component, "{}-{}: retention: {}", k.topic, k.partition,
                r.error().detail);
        }
    }
}

}  // namespace fjord::broker
