// File: broker/group/offset_store.cc

#include "broker/group/offset_store.h"

#include <fmt/format.h>

#include "common/kafka/errc.h"
#include "common/kafka/record_batch.h"
#include "common/kafka/wire.h"

namespace fjord::broker {
namespace {

constexpr int16_t offset_key_version = 1;
constexpr int16_t offset_value_version = 3;
/// The first flexible version, with the topic id as a tagged field.
constexpr int16_t offset_value_version_with_id = 4;
constexpr uint32_t topic_id_tag = 0;
constexpr uint32_t uuid_bytes = 16;

void put_string(kafka::writer& w, std::string_view s) {
    // Callers keep strings within offset_record_max_string (checked on
    // OffsetCommit); a longer one would be a bug, and is cut rather than
    // written with a wrong length.
    const std::string_view cut = s.substr(0, offset_record_max_string);
    w.write_int16(static_cast<int16_t>(cut.size()));
    w.write_raw(cut);
}

error_info bad_record(std::string what) {
    return error_info(kafka::errc::invalid_value, std::move(what));
}

}  // namespace

std::string encode_offset_key(const offset_key& k) {
    kafka::writer w;
    w.write_int16(offset_key_version);
    put_string(w, k.group);
    put_string(w, k.topic);
    w.write_int32(k.partition);
    return w.take();
}

std::string encode_offset_value(const committed_offset& v) {
    kafka::writer w;
    if (v.topic_id == kafka::uuid{}) {
        w.write_int16(offset_value_version);
        w.write_int64(v.offset);
        w.write_int32(v.leader_epoch);
        put_string(w, v.metadata);
        w.write_int64(v.commit_timestamp_ms);
        return w.take();
    }
    w.write_int16(offset_value_version_with_id);
    w.write_int64(v.offset);
    w.write_int32(v.leader_epoch);
    // Within offset_record_max_string, as put_string: cannot fail.
    (void)w.write_string(std::string_view(v.metadata).substr(0, offset_record_max_string), true);
    w.write_int64(v.commit_timestamp_ms);
    w.write_unsigned_varint(1);  // one tagged field
    w.write_unsigned_varint(topic_id_tag);
    w.write_unsigned_varint(uuid_bytes);
    w.write_uuid(v.topic_id);
    return w.take();
}

result<std::optional<offset_record>> decode_offset_record(std::optional<std::string_view> key,
                                                          std::optional<std::string_view> value) {
    if (!key) {
        return bad_record("key: null");
    }
    kafka::reader kr(*key);
    auto version = kr.read_int16();
    if (!version) {
        return bad_record("key: " + version.error().detail);
    }
    if (*version != 0 && *version != offset_key_version) {
        return std::optional<offset_record>();  // another kind of record
    }
    offset_record rec;
    auto group = kr.read_string(false);
    auto topic = group ? kr.read_string(false) : result<std::string>(group.error());
    auto partition = topic ? kr.read_int32() : result<int32_t>(topic.error());
    if (!partition) {
        return bad_record("key: " + partition.error().detail);
    }
    if (auto end = kr.expect_end(); !end) {
        return bad_record("key: " + end.error().detail);
    }
    rec.key = {std::move(*group), std::move(*topic), *partition};
    if (!value) {
        return std::optional<offset_record>(std::move(rec));  // tombstone
    }
    kafka::reader vr(*value);
    auto vversion = vr.read_int16();
    if (!vversion) {
        return bad_record("value: " + vversion.error().detail);
    }
    if (*vversion != offset_value_version && *vversion != offset_value_version_with_id) {
        return bad_record(fmt::format("value: version {} is not {} or {}", *vversion,
                                      offset_value_version, offset_value_version_with_id));
    }
    const bool flexible = *vversion == offset_value_version_with_id;
    committed_offset c;
    auto offset = vr.read_int64();
    auto epoch = offset ? vr.read_int32() : result<int32_t>(offset.error());
    auto metadata = epoch ? vr.read_string(flexible) : result<std::string>(epoch.error());
    auto ts = metadata ? vr.read_int64() : result<int64_t>(metadata.error());
    if (!ts) {
        return bad_record("value: " + ts.error().detail);
    }
    if (flexible) {
        auto tags = vr.read_unsigned_varint();
        if (!tags) {
            return bad_record("value: tagged fields: " + tags.error().detail);
        }
        for (uint32_t i = 0; i < *tags; ++i) {
            auto f = vr.read_tagged_field();
            if (!f) {
                return bad_record("value: tagged fields: " + f.error().detail);
            }
            if (f->tag != topic_id_tag) {
                continue;  // a later Kafka's field: ignorable by KIP-915's rules
            }
            kafka::reader ur(f->data);
            auto id = ur.read_uuid();
            if (!id || f->data.size() != uuid_bytes) {
                return bad_record(
                    fmt::format("value: topic id: {} bytes, not {}", f->data.size(), uuid_bytes));
            }
            c.topic_id = *id;
        }
    }
    if (auto end = vr.expect_end(); !end) {
        return bad_record("value: " + end.error().detail);
    }
    c.offset = *offset;
    c.leader_epoch = *epoch;
    c.metadata = std::move(*metadata);
    c.commit_timestamp_ms = *ts;
    rec.value = std::move(c);
    return std::optional<offset_record>(std::move(rec));
}

// ---------------------------------------------------------------- offset_store

void offset_store::put(const offset_key& k, committed_offset v) {
    _groups[k.group][{k.topic, k.partition}] = std::move(v);
}

void offset_store::erase(const offset_key& k) {
    auto g = _groups.find(k.group);
    if (g == _groups.end()) {
        return;
    }
    g->second.erase({k.topic, k.partition});
    if (g->second.empty()) {
        _groups.erase(g);
    }
}

const committed_offset* offset_store::find(const std::string& group, const std::string& topic,
                                           int32_t partition) const {
    auto g = _groups.find(group);
    if (g == _groups.end()) {
        return nullptr;
    }
    auto p = g->second.find({topic, partition});
    return p == g->second.end() ? nullptr : &p->second;
}

const offset_store::partition_offsets* offset_store::group_offsets(const std::string& group) const {
    auto g = _groups.find(group);
    return g == _groups.end() ? nullptr : &g->second;
}

void offset_store::erase_groups_if(const std::function<bool(const std::string&)>& which) {
    for (auto it = _groups.begin(); it != _groups.end();) {
        it = which(it->first) ? _groups.erase(it) : std::next(it);
    }
}

// ---------------------------------------------------------------- offsets_loader

void offsets_loader::skip(std::string why) {
    if (_skipped++ == 0) {
        _first_skip = std::move(why);
    }
}

result<bool> offsets_loader::step(const storage::partition_log& log, offset_store& store,
                                  uint64_t max_bytes) {
    // Up to the high watermark: a commit still waiting for its fsync is not
    // an offset yet (its own answer puts it in memory once durable).
    const kafka_offset end = log.high_watermark();
    if (_next < log.log_start_offset()) {
        _next = log.log_start_offset();  // retention moved the start (it never does here)
    }
    if (_next >= end) {
        return true;
    }
    auto slice = log.read(_next, max_bytes, end);
    if (!slice) {
        return slice.error();
    }
    if (slice->batches == 0 || slice->next_offset <= _next) {
        // Cannot happen with a readable log (read returns at least one
        // batch); stop rather than spin.
        return error_info(std::make_error_code(std::errc::io_error),
                          fmt::format("no progress reading from offset {}", _next.value()));
    }
    auto batches = kafka::parse_record_batches(slice->bytes);
    if (!batches) {
        return error_info(batches.error().code,
                          fmt::format("at offset {}: {}", _next.value(), batches.error().detail));
    }
    for (const auto& b : *batches) {
        if (b.header.is_control()) {
            continue;  // transaction markers carry no offsets
        }
        auto records = kafka::read_records(b);
        if (!records) {
            skip(fmt::format("batch at offset {}: {}", b.header.base_offset,
                             records.error().detail));
            continue;
        }
        for (const auto& r : *records) {
            auto rec = decode_offset_record(r.key, r.value);
            if (!rec) {
                skip(fmt::format("record at offset {}: {}", b.header.base_offset + r.offset_delta,
                                 rec.error().detail));
                continue;
            }
            if (!*rec) {
                continue;  // not an offset commit (e.g. group metadata)
            }
            if ((*rec)->value) {
                store.put((*rec)->key, std::move(*(*rec)->value));
            } else {
                store.erase((*rec)->key);
            }
            ++_applied;
        }
    }
    _next = slice->next_offset;
    return _next >= end;
}

}  // namespace fjord::broker
