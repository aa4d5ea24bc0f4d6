// File: broker/storage/partition_log.cc
//
// The partition log (partition_log.h). Ordering rules that recovery relies on
// (README.md):
// - roll() seals the active segment (index files written and synced, log
//   synced) before the successor's file is created and the directory
//   synced. So every segment but the last is complete on disk, and only the
//   last is scanned on open.
// - Segments are removed log file first, one directory sync per segment:
//   retention oldest first, truncation newest first, so a crash leaves a
//   contiguous run of segments.
// - A truncation is fsynced before anything is appended after it.
// - DeleteRecords makes the new log start durable (its checkpoint) before it
//   removes any segment below it; open() removes those a crash left.

#include "broker/storage/partition_log.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "broker/storage/batch_header.h"
#include "broker/storage/compactor.h"
#include "broker/storage/errc.h"
#include "broker/storage/record_validator.h"
#include "broker/storage/segment.h"
#include "common/data_dir.h"
#include "common/log.h"

namespace fjord::broker::storage {
namespace {

constexpr std::string_view component = "broker.log";
/// Relative offsets in .index are 32-bit: a segment spans at most this many.
/// The producer state as of the last roll (producer_state.h).
constexpr std::string_view producer_snapshot_name = "producer_state.snapshot";
/// partition_log.h end_copies(): "copying" or "ended".
constexpr std::string_view shadow_copy_name = "shadow_copy";
/// The log start set by DeleteRecords (README.md).
constexpr std::string_view log_start_name = "log_start.checkpoint";
constexpr size_t max_log_start_bytes = 4096;
constexpr int64_t max_relative_offset = std::numeric_limits<int32_t>::max();

result<void> check_range(std::string_view key, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi) {
        return {errc::invalid_config, fmt::format("{}: {}, must be in [{}, {}]", key, v, lo, hi)};
    }
    return ok();
}

std::string encode_log_start(kafka_offset o) {
    return encode_checked_kv(
        fmt::format("# The partition's log start offset (DeleteRecords). Do not edit.\n"
                    "format=1\n"
                    "log_start_offset={}\n",
                    o));
}

result<kafka_offset> decode_log_start(std::string_view text, const std::string& path) {
    auto pairs = decode_checked_kv(text, path, max_log_start_bytes);
    if (!pairs) {
        return pairs.error();
    }
    std::optional<int64_t> offset;
    bool format = false;
    for (const auto& [key, value] : *pairs) {
        if (key == "format") {
            if (value != "1") {
                return checked_kv_corrupt(path, fmt::format("unsupported format {}", value));
            }
            format = true;
        } else if (key == "log_start_offset") {
            int64_t v = -1;
            const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
            if (ec != std::errc() || end != value.data() + value.size() || v < 0) {
                return checked_kv_corrupt(path, fmt::format("bad log_start_offset \"{}\"", value));
            }
            offset = v;
        }
    }
    if (!format || !offset) {
        return checked_kv_corrupt(path, !format ? "no format line" : "no log_start_offset line");
    }
    return kafka_offset{*offset};
}

}  // namespace

result<void> validate(const log_config& c) {
    constexpr int64_t max = std::numeric_limits<int64_t>::max();
    const struct {
        std::string_view key;
        int64_t value, lo, hi;
    } checks[] = {
        {"segment.bytes", c.segment_bytes, static_cast<int64_t>(kafka::record_batch_header_size),
         std::numeric_limits<int32_t>::max()},
        {"segment.ms", c.segment_ms, 1, max},
        {"index.interval.bytes", c.index_interval_bytes, 0, max},
        {"retention.ms", c.retention_ms, -1, max},
        {"retention.bytes", c.retention_bytes, -1, max},
        {"flush.messages", c.flush_messages, 1, max},
        {"flush.ms", c.flush_ms, 0, max},
        {"max.message.bytes", c.max_batch_bytes, 0, max},
        {"delete.retention.ms", c.delete_retention_ms, 0, max},
        {"min.compaction.lag.ms", c.min_compaction_lag_ms, 0, max},
    };
    for (const auto& k : checks) {
        if (auto r = check_range(k.key, k.value, k.lo, k.hi); !r) {
            return r;
        }
    }
    if (!c.cleanup_delete && !c.cleanup_compact) {
        return {errc::invalid_config, "cleanup.policy: neither delete nor compact"};
    }
    // Written so that NaN fails too.
    if (!(c.min_cleanable_dirty_ratio >= 0 && c.min_cleanable_dirty_ratio <= 1)) {
        return {errc::invalid_config,
                fmt::format("min.cleanable.dirty.ratio: {}, must be in [0, 1]",
                            c.min_cleanable_dirty_ratio)};
    }
    return ok();
}

partition_log::partition_log(std::string dir, log_config config, std::shared_ptr<fs::file_ops> fs,
                             int64_t now_ms)
    : _dir(std::move(dir)),
      _config(config),
      _fs(fs ? std::move(fs) : fs::posix_file_ops(errc::io_error)),
      _last_flush_ms(now_ms),
      _last_append_ms(now_ms) {}

partition_log::~partition_log() = default;

result<std::unique_ptr<partition_log>> partition_log::open(std::string dir, log_config config,
                                                           int64_t now_ms,
                                                           std::shared_ptr<fs::file_ops> fs,
                                                           kafka_offset first_offset) {
    if (dir.empty()) {
        return error_info(errc::invalid_config, "partition log: empty directory");
    }
    if (auto r = validate(config); !r) {
        return r.error();
    }
    if (first_offset < kafka_offset{0}) {
        return error_info(errc::invalid_config,
                          fmt::format("partition log: first offset {} is negative", first_offset));
    }
    std::unique_ptr<partition_log> out(
        new partition_log(std::move(dir), config, std::move(fs), now_ms));
    out->_first_offset = first_offset;
    if (auto r = out->recover(now_ms); !r) {
        return r.error();
    }
    return out;
}

// --- recovery ---------------------------------------------------------------

result<void> partition_log::recover(int64_t now_ms) {
    if (auto r = _fs->make_dir(_dir); !r) {
        return r;
    }
    // First, what a crash left of a compaction (compactor.h).
    auto cleaner = recover_compaction(*_fs, _dir);
    if (!cleaner) {
        return cleaner.error();
    }
    _compaction = std::make_unique<compaction_state>();
    _compaction->checkpoint = *cleaner;
    // A shadow topic's log keeps accepting its gaps after the topic stops
    // being one (end_copies); a new one says so before any copy lands.
    const std::string marker = _dir + "/" + std::string(shadow_copy_name);
    if (auto exists = _fs->exists(marker); exists && *exists) {
        auto bytes = _fs->read_file(marker);
        if (!bytes) {
            return bytes.error();
        }
        _holds_copies = true;
        _copies_ended = *bytes == "ended";
    } else if (_config.offset_gaps) {
        if (auto r = fs::replace_file(*_fs, _dir, shadow_copy_name, {"copying"}); !r) {
            return error_info(r.error().code, fmt::format("{}: cannot mark the log as a shadow "
                                                          "copy: {}",
                                                          _dir, r.error().detail));
        }
        _holds_copies = true;
    }
    if (_holds_copies) {
        _config.offset_gaps = true;
    }
    const kafka_offset cleaned_through{_compaction->checkpoint.cleaned_through};
    auto names = _fs->list_dir(_dir);
    if (!names) {
        return names.error();
    }
    std::set<kafka_offset> logs;
    std::map<std::string, kafka_offset> indexes;  // index file name -> base
    for (const std::string& name : *names) {
        kafka_offset base;
        std::string ext;
        if (name == producer_snapshot_name) {
            continue;  // load_producer_state()'s
        }
        if (name == shadow_copy_name) {
            continue;  // read above
        }
        if (name == log_start_name) {
            continue;  // load_log_start()'s
        }
        if (name == cleaner_checkpoint_name) {
            continue;  // recover_compaction()'s
        }
        if (name == std::string(producer_snapshot_name) + std::string(tmp_ext) ||
            name == std::string(log_start_name) + std::string(tmp_ext)) {
            // A snapshot whose rename never happened: the old one stands.
            if (auto r = _fs->remove(_dir + "/" + name); !r) {
                return r;
            }
            continue;
        }
        if (!parse_segment_file_name(name, base, ext)) {
            log(log_level::warn, component, "ignoring unexpected file {}/{}", _dir, name);
        } else if (ext.ends_with(tmp_ext)) {
            // An index rewrite whose rename never happened: never an index.
            log(log_level::info, component, "removing leftover {}/{}", _dir, name);
            if (auto r = _fs->remove(_dir + "/" + name); !r) {
                return r;
            }
        } else if (ext == log_ext) {
            logs.insert(base);
        } else {
            indexes.emplace(name, base);
        }
    }
    // Index files without a log: a segment removal that a crash interrupted.
    for (const auto& [name, base] : indexes) {
        if (logs.count(base) == 0) {
            log(log_level::info, component, "removing orphan index {}/{}", _dir, name);
            if (auto r = _fs->remove(_dir + "/" + name); !r) {
                return r;
            }
        }
    }

    // An empty segment before the last: a move of an empty active
    // segment's base (rebase_empty_active) that a crash interrupted between
    // creating the new segment and removing the old. Sealed segments are
    // never empty, so nothing else looks like it.
    if (logs.size() > 1) {
        const kafka_offset before_last = *std::prev(logs.end(), 2);
        const std::string path = _dir + "/" + segment_file_name(before_last, log_ext);
        auto f = _fs->open(path, fs::open_mode::existing);
        if (!f) {
            return f.error();
        }
        auto size = (*f)->size();
        if (!size) {
            return size.error();
        }
        if (*size == 0) {
            log(log_level::info, component, "removing the empty segment {} (a moved base)", path);
            f->reset();
            if (auto r = _fs->remove(path); !r) {
                return r;
            }
            if (auto r = _fs->sync_dir(_dir); !r) {
                return r;
            }
            logs.erase(before_last);
        }
    }
    if (logs.empty()) {
        // A new log (or one whose creation a crash interrupted before its
        // first segment): it starts at its first offset, 0 unless mounted.
        auto s = segment::create(*_fs, _dir, _first_offset, now_ms);
        if (!s) {
            return s.error();
        }
        _segments.push_back(std::move(*s));
    } else {
        const std::vector<kafka_offset> bases(logs.begin(), logs.end());
        const uint64_t interval = index_interval();
        for (size_t i = 0; i + 1 < bases.size(); ++i) {
            auto s = segment::open_sealed(*_fs, _dir, bases[i], bases[i + 1], interval, now_ms,
                                          bases[i] < cleaned_through || _config.offset_gaps);
            if (!s) {
                return s.error();
            }
            _segments.push_back(std::move(*s));
        }
        auto last = segment::recover(*_fs, _dir, bases.back(), interval, now_ms,
                                     bases.back() < cleaned_through);
        if (!last) {
            return last.error();
        }
        _segments.push_back(std::move(*last));
    }
    if (auto r = load_log_start(); !r) {
        return r;
    }
    _high_watermark = log_end_offset();
    _flushed = log_end_offset();
    bool replayed_sealed = false;
    if (auto r = load_producer_state(&replayed_sealed); !r) {
        return r;
    }
    if (replayed_sealed) {
        // The snapshot is older than the active segment (a crash, or a
        // failed save, at a roll): the replay went through sealed segments,
        // which compaction may rewrite from now on. Saved before anything
        // runs, so that the next open replays the active segment only.
        if (auto r = save_producer_state(std::nullopt); !r) {
            return r;
        }
    }
    // A DeleteRecords that a crash interrupted after its checkpoint.
    if (auto r = remove_segments_below_start(); !r) {
        return r.error();
    }
    // The cleaner forgets offsets a crash (or a truncation) took.
    if (auto r = compaction_truncated(); !r) {
        return r;
    }
    _active_since_ms = _segments.back()->empty() ? -1 : now_ms;
    log(log_level::info, component, "opened {}: offsets [{}, {}) in {} segments, {} bytes", _dir,
        log_start_offset(), log_end_offset(), _segments.size(), size_bytes());
    return ok();
}

// --- write side -------------------------------------------------------------

result<append_info> partition_log::append(std::string batch, int64_t now_ms) {
    if (auto r = check_failed(); !r) {
        return r.error();
    }
    if (static_cast<int64_t>(batch.size()) > _config.max_batch_bytes) {
        return {errc::batch_too_large, fmt::format("batch of {} bytes, max.message.bytes is {}",
                                                   batch.size(), _config.max_batch_bytes)};
    }
    if (static_cast<int64_t>(batch.size()) > _config.segment_bytes) {
        return {errc::batch_exceeds_segment, fmt::format("batch of {} bytes, segment.bytes is {}",
                                                         batch.size(), _config.segment_bytes)};
    }
    auto validated = validate_batch(batch);
    if (!validated) {
        return validated.error();
    }
    record_validation records;
    records.max_decompressed_bytes = max_decompressed_for(_config.max_batch_bytes);
    // Kafka refuses keyless records on compacted topics: the cleaner could
    // only drop them.
    records.require_keys = _config.cleanup_compact;
    if (auto r = validate_records(batch, *validated, records); !r) {
        return r.error();
    }
    kafka::record_batch_header h = *validated;
    auto seen = _producers.check(h);
    if (!seen) {
        return seen.error();
    }
    if (*seen) {
        // An idempotent producer's retry of a batch already written: answer
        // with where it went, write nothing.
        const producer_batch& b = **seen;
        return append_info{kafka_offset{b.base_offset}, kafka_offset{b.last_offset},
                           b.log_append_time};
    }
    const kafka_offset base = log_end_offset();

    segment* active = _segments.back().get();
    // A LogAppendTime batch will carry `now`: its age is taken from that.
    const bool log_append_time = _config.message_timestamp_type == timestamp_type::log_append_time;
    const bool roll_needed =
        !active->empty() &&
        (active->size() + batch.size() > static_cast<uint64_t>(_config.segment_bytes) ||
         active->age_ms(now_ms, log_append_time ? now_ms : h.max_timestamp) > _config.segment_ms ||
         (base + h.last_offset_delta) - active->base() > max_relative_offset);
    if (roll_needed) {
        if (auto r = roll(now_ms); !r) {
            return r.error();
        }
        active = _segments.back().get();
    }

    // baseOffset lies outside the CRC's range: the producer's CRC stays valid.
    kafka::write_batch_field(batch, kafka::batch_field::base_offset,
                             static_cast<uint64_t>(base.value()));
    h.base_offset = base.value();
    append_info info{base, last_of(h), no_timestamp};
    if (_config.message_timestamp_type == timestamp_type::log_append_time) {
        set_log_append_time(batch, now_ms);
        h = kafka::decode_record_batch_header(batch);
        info.log_append_time = now_ms;
    }
    const bool was_empty = active->empty();
    if (auto r = active->append(batch, h, index_interval()); !r) {
        return fail(r.error());
    }
    if (was_empty) {
        _active_since_ms = now_ms;
    }
    _producers.update(h, now_ms, info.log_append_time);
    _last_append_ms = now_ms;
    if (auto r = apply_flush_policy(now_ms); !r) {
        return r.error();
    }
    return info;
}

result<void> partition_log::apply_flush_policy(int64_t now_ms) {
    // A failed flush fails the append: the batch is in the log but may not
    // survive a crash, which the producer must hear.
    const bool by_count = log_end_offset() - _flushed >= _config.flush_messages;
    const bool by_time = now_ms - _last_flush_ms >= _config.flush_ms;
    if (by_count || by_time) {
        return flush(now_ms);
    }
    return ok();
}

result<append_info> partition_log::append_copy(std::string batch, int64_t now_ms) {
    if (auto r = check_failed(); !r) {
        return r.error();
    }
    if (_copies_ended) {
        return {
            errc::invalid_config,
            fmt::format("{}: copies ended (the topic failed over); nothing more is copied", _dir)};
    }
    auto validated = validate_copied_batch(batch);
    if (!validated) {
        return validated.error();
    }
    const kafka::record_batch_header& h = *validated;
    const kafka_offset base = base_of(h);
    const kafka_offset end = log_end_offset();
    if (base < end) {
        return {errc::offset_out_of_range,
                fmt::format("baseOffset {} is below the log end {}: a copied batch never "
                            "overlaps what the log holds",
                            base, end)};
    }
    segment* active = _segments.back().get();
    // A gap starts a new segment at the batch (so segments stay contiguous
    // inside: recovery scans the last one for continuing offsets); else
    // append()'s roll rules.
    const bool roll_needed =
        base > end ||
        (!active->empty() &&
         (active->size() + batch.size() > static_cast<uint64_t>(_config.segment_bytes) ||
          active->age_ms(now_ms, h.max_timestamp) > _config.segment_ms ||
          last_of(h) - active->base() > max_relative_offset));
    if (roll_needed) {
        if (auto r = roll_at(base, now_ms); !r) {
            return r.error();
        }
        active = _segments.back().get();
    }
    const bool was_empty = active->empty();
    if (auto r = active->append(batch, h, index_interval()); !r) {
        return fail(r.error());
    }
    if (was_empty) {
        _active_since_ms = now_ms;
    }
    const int64_t append_time =
        h.ts_type() == kafka::timestamp_type::log_append_time ? h.max_timestamp : no_timestamp;
    _producers.update(h, now_ms, append_time);
    _last_append_ms = now_ms;
    if (auto r = apply_flush_policy(now_ms); !r) {
        return r.error();
    }
    return append_info{base, last_of(h), append_time};
}

result<void> partition_log::move_empty_start(kafka_offset o, int64_t now_ms) {
    if (auto r = check_failed(); !r) {
        return r;
    }
    const kafka_offset end = log_end_offset();
    if (size_bytes() != 0) {
        return {errc::offset_out_of_range,
                fmt::format("cannot move the start to {}: the log holds batches up to {}", o, end)};
    }
    if (const kafka_offset floor = std::max(_log_start, _records_deleted_before);
        o < floor || o < kafka_offset{0}) {
        return {
            errc::offset_out_of_range,
            fmt::format("cannot move the start to {}: below the DeleteRecords start {}", o, floor)};
    }
    if (o == end) {
        return ok();
    }
    if (auto r = rebase_empty_active(o, now_ms); !r) {
        return r;
    }
    _high_watermark = o;
    log(log_level::info, component, "{}: empty log moved to start at offset {}", _dir, o);
    return ok();
}

result<void> partition_log::rebase_empty_active(kafka_offset base, int64_t now_ms) {
    auto next = segment::create(*_fs, _dir, base, now_ms);
    if (!next) {
        return fail(next.error());
    }
    std::unique_ptr<segment> old = std::move(_segments.back());
    _segments.back() = std::move(*next);
    if (auto r = remove_segment(*old); !r) {
        return fail(r.error());
    }
    // Nothing lies between the old base and the new one: nothing to sync.
    _flushed = base;
    _high_watermark = std::min(_high_watermark, base);
    _active_since_ms = -1;
    return ok();
}

result<void> partition_log::flush(int64_t now_ms) {
    if (auto r = check_failed(); !r) {
        return r;
    }
    if (auto r = _segments.back()->flush(); !r) {
        return fail(r.error());
    }
    _flushed = log_end_offset();
    _last_flush_ms = now_ms;
    return ok();
}

result<void> flush_ticket::sync() const {
    return log_file ? log_file->datasync() : ok();
}

flush_ticket partition_log::prepare_flush() const {
    flush_ticket t;
    t.upto = log_end_offset();
    t.generation = _generation;
    if (_failed || _flushed >= t.upto) {
        return t;  // nothing to sync (a failed log refuses at complete_flush)
    }
    // Everything unflushed is in the active segment: a roll seals (syncs)
    // the old one before the next is created.
    t.log_file = _segments.back()->log_file();
    return t;
}

result<void> partition_log::complete_flush(const flush_ticket& t, const result<void>& synced,
                                           int64_t now_ms) {
    if (auto r = check_failed(); !r) {
        return r;
    }
    if (!synced) {
        return fail(synced.error());
    }
    if (t.generation != _generation) {
        // The synced bytes were truncated away: what the waiters wrote is
        // gone, whatever the sync said (NOT_LEADER_OR_FOLLOWER: retry).
        return error_info(errc::not_open, "the log was truncated while the flush ran");
    }
    if (t.upto > _flushed) {
        _flushed = std::min(t.upto, log_end_offset());
        _last_flush_ms = now_ms;
    }
    return ok();
}

result<bool> partition_log::maybe_flush(int64_t now_ms) {
    if (_flushed == log_end_offset() || now_ms - _last_flush_ms < _config.flush_ms) {
        return false;
    }
    if (auto r = flush(now_ms); !r) {
        return r.error();
    }
    return true;
}

result<void> partition_log::roll(int64_t now_ms) {
    return roll_at(log_end_offset(), now_ms);
}

result<void> partition_log::roll_at(kafka_offset base, int64_t now_ms) {
    if (auto r = check_failed(); !r) {
        return r;
    }
    segment& active = *_segments.back();
    if (active.empty()) {
        return base > active.base() ? rebase_empty_active(base, now_ms) : ok();
    }
    if (auto r = active.seal(); !r) {
        return fail(r.error());
    }
    auto next = segment::create(*_fs, _dir, base, now_ms);
    if (!next) {
        return fail(next.error());
    }
    _segments.push_back(std::move(*next));
    // Sealed, and nothing in a gap up to `base`: all of it is durable.
    _flushed = log_end_offset();
    _active_since_ms = -1;
    if (auto r = save_producer_state(now_ms); !r) {
        return fail(r.error());
    }
    return ok();
}

result<bool> partition_log::maybe_roll(int64_t now_ms) {
    if (auto r = check_failed(); !r) {
        return r.error();
    }
    // Only an idle partition: a busy one rolls in append(), by its batches'
    // timestamps (a producer with an old clock must not get a segment per
    // housekeeping pass).
    const segment& active = *_segments.back();
    if (active.empty() || now_ms - _last_append_ms <= _config.segment_ms ||
        active.age_ms(now_ms, now_ms) <= _config.segment_ms) {
        return false;
    }
    if (auto r = roll(now_ms); !r) {
        return r.error();
    }
    log(log_level::debug, component, "{}: rolled the idle active segment at offset {}", _dir,
        log_end_offset());
    return true;
}

result<void> partition_log::save_producer_state(std::optional<int64_t> now_ms) {
    // Written at each roll, even when empty, so that recovery replays at
    // most the active segment: compaction rewrites sealed segments and may
    // drop a producer's last batch, so a replay through one would rebuild
    // a stale state (a retry written twice, or OUT_OF_ORDER_SEQUENCE). The
    // callers fail the log when this fails.
    if (now_ms) {
        _producers.expire(*now_ms, _config.producer_id_expiration_ms);
    }
    const std::string data = _producers.snapshot(log_end_offset().value());
    if (auto r = fs::replace_file(*_fs, _dir, producer_snapshot_name, {data}); !r) {
        return error_info(r.error().code, fmt::format("{}: cannot save the producer state: {}",
                                                      _dir, r.error().detail));
    }
    return ok();
}

result<void> partition_log::load_producer_state(bool* replayed_sealed) {
    _producers.clear();
    // Without a usable snapshot (a log from before snapshots, or one cut
    // below it), the active segment is replayed: older producers count as
    // unknown, which producer_state accepts.
    kafka_offset from = _segments.back()->base();
    const std::string path = _dir + "/" + std::string(producer_snapshot_name);
    if (auto exists = _fs->exists(path); exists && *exists) {
        auto bytes = _fs->read_file(path);
        if (!bytes) {
            return bytes.error();
        }
        auto next = _producers.restore(*bytes);
        if (!next) {
            log(log_level::warn, component, "{}: {}; rebuilding it from the log", _dir,
                next.error().detail);
            _producers.clear();
        } else if (kafka_offset{*next} < _segments.front()->base() ||
                   kafka_offset{*next} > log_end_offset()) {
            // Saved before a truncation (or a retention) it no longer matches.
            _producers.clear();
        } else {
            from = kafka_offset{*next};
        }
    }
    if (replayed_sealed != nullptr) {
        *replayed_sealed = from < _segments.back()->base();
    }
    // Replay the batches after the snapshot: their headers are enough.
    // Records below a DeleteRecords log start still count: producers keep
    // their sequences.
    const kafka_offset end = log_end_offset();
    while (from < end) {
        auto slice = read_unchecked(from, 1u << 20, end, first_batch::may_exceed_max_bytes);
        if (!slice) {
            log(log_level::warn, component, "{}: producer state replay stops at offset {}: {}",
                _dir, from, slice.error().detail);
            break;
        }
        if (slice->bytes.empty()) {
            break;
        }
        std::string_view rest(slice->bytes);
        while (rest.size() >= kafka::record_batch_header_size) {
            const kafka::record_batch_header h = kafka::decode_record_batch_header(rest);
            // The batch's own time stands for when it was appended.
            _producers.update(h, h.max_timestamp,
                              h.ts_type() == kafka::timestamp_type::log_append_time
                                  ? h.max_timestamp
                                  : no_timestamp);
            rest.remove_prefix(std::min<size_t>(rest.size(), h.size_bytes()));
        }
        from = slice->next_offset;
    }
    return ok();
}

result<void> partition_log::set_high_watermark(kafka_offset hw) {
    if (hw < log_start_offset() || hw > log_end_offset()) {
        return {errc::offset_out_of_range, fmt::format("high watermark {} outside the log [{}, {}]",
                                                       hw, log_start_offset(), log_end_offset())};
    }
    _high_watermark = hw;
    return ok();
}

result<kafka_offset> partition_log::truncate_to(kafka_offset o) {
    if (auto r = check_failed(); !r) {
        return r.error();
    }
    if (o >= log_end_offset()) {
        return log_end_offset();
    }
    if (o < log_start_offset()) {
        return {errc::offset_out_of_range,
                fmt::format("truncate to {}: below the log start {}", o, log_start_offset())};
    }
    // The segment that will hold the cut: the last whose base is below o
    // (or the first, which always stays).
    size_t holder = _segments.size() - 1;
    while (holder > 0 && _segments[holder]->base() >= o) {
        --holder;
    }
    auto new_end = _segments[holder]->end_if_truncated_before(o, index_interval());
    if (!new_end) {
        return fail(new_end.error());
    }
    if (_log_start > *new_end) {
        // The cut batch holds the DeleteRecords start: it comes down with
        // the end (as Kafka lowers its log start on truncation), durably
        // before anything is cut. Else a crash after the cut would leave a
        // start beyond the end, over offsets that new appends reuse.
        if (auto r = write_log_start(*new_end); !r) {
            return fail(r.error());
        }
        _log_start = *new_end;
    }
    // Newest first, each removal durable before the next: a crash leaves a
    // contiguous prefix. The first segment stays (emptied if need be): the
    // log always has an active segment.
    while (_segments.size() > holder + 1) {
        if (auto r = remove_segment(*_segments.back()); !r) {
            return fail(r.error());
        }
        _segments.pop_back();
    }
    if (auto r = _segments.back()->truncate_before(o, index_interval()); !r) {
        return fail(r.error());
    }
    _high_watermark = std::min(_high_watermark, log_end_offset());
    _flushed = std::min(_flushed, log_end_offset());
    ++_generation;
    if (auto r = load_producer_state(); !r) {
        return fail(r.error());
    }
    // Replaces a snapshot from beyond the new end (which a restart would
    // otherwise trust once appends pass it).
    if (auto r = save_producer_state(std::nullopt); !r) {
        return fail(r.error());
    }
    if (auto r = compaction_truncated(); !r) {
        return fail(r.error());
    }
    log(log_level::info, component, "{}: truncated to offset {} (asked {})", _dir, log_end_offset(),
        o);
    return log_end_offset();
}

result<kafka_offset> partition_log::delete_records_before(kafka_offset o) {
    if (auto r = check_failed(); !r) {
        return r.error();
    }
    const kafka_offset target = o == kafka_offset{-1} ? _high_watermark : o;
    if (target < kafka_offset{0} || target > _high_watermark) {
        return {errc::offset_out_of_range,
                fmt::format("delete records before offset {}: outside [{}, {}] (the log start "
                            "and the high watermark)",
                            o, log_start_offset(), _high_watermark)};
    }
    const kafka_offset was = log_start_offset();
    // The DeleteRecords start moves even below the local log start: a
    // tiered log's records below it live on in the object store, and the
    // read side and the archiver go by records_deleted_before().
    if (target > _records_deleted_before) {
        // Durable before anything is removed or the answer given: a crash
        // after this leaves the new start, before it the old one.
        if (auto r = write_log_start(target); !r) {
            return fail(r.error());
        }
        _log_start = std::max(_log_start, target);
    }
    auto removed = remove_segments_below_start();
    if (!removed) {
        return removed.error();
    }
    if (target > was) {
        log(log_level::info, component,
            "{}: records deleted: log start {} -> {} ({} segments, {} bytes removed)", _dir, was,
            log_start_offset(), removed->segments, removed->bytes);
    }
    return log_start_offset();
}

result<retention_info> partition_log::remove_segments_below_start() {
    retention_info info;
    // Oldest first, each removal durable before the next (remove_segment):
    // a crash leaves a contiguous run. Never the active segment.
    while (_segments.size() > 1 && _segments.front()->next() <= _log_start) {
        segment& s = *_segments.front();
        if (auto r = remove_segment(s); !r) {
            return fail(r.error());
        }
        info.segments++;
        info.bytes += s.size();
        _segments.erase(_segments.begin());
    }
    return info;
}

result<void> partition_log::load_log_start() {
    const kafka_offset base = _segments.front()->base();
    _log_start = base;
    const std::string path = _dir + "/" + std::string(log_start_name);
    auto exists = _fs->exists(path);
    if (!exists) {
        return exists.error();
    }
    if (!*exists) {
        return ok();
    }
    auto bytes = _fs->read_file(path);
    if (!bytes) {
        return bytes.error();
    }
    auto saved = decode_log_start(*bytes, path);
    if (!saved) {
        // Fail closed, as for a damaged sealed segment: starting at the
        // first segment would serve records DeleteRecords deleted again.
        return error_info(errc::corrupt,
                          fmt::format("{}; the log is not opened (removing the file would "
                                      "start it at its first segment, {}, serving records "
                                      "deleted before the damaged start again)",
                                      saved.error().detail, base));
    }
    _records_deleted_before = *saved;
    if (*saved <= base) {
        return ok();  // retention has gone past it
    }
    if (*saved > log_end_offset()) {
        // Records up to it were acknowledged once: a crash (or a disk) lost
        // them since. Nothing below the end is readable. The lower start is
        // made durable before anything is served or appended: else, once
        // appends pass the old one, a restart would start there, over
        // records never deleted.
        log(log_level::warn, component,
            "{}: log start offset {} is beyond the log end {}: the log starts at its end", path,
            *saved, log_end_offset());
        if (auto r = write_log_start(log_end_offset()); !r) {
            return r;
        }
        _log_start = log_end_offset();
        return ok();
    }
    _log_start = *saved;
    return ok();
}

result<void> partition_log::write_log_start(kafka_offset o) {
    auto r = fs::replace_file(*_fs, _dir, log_start_name, {encode_log_start(o)});
    if (r) {
        _records_deleted_before = o;
    }
    return r;
}

result<retention_info> partition_log::apply_retention(int64_t now_ms) {
    if (auto r = check_failed(); !r) {
        return r.error();
    }
    auto below_start = remove_segments_below_start();
    if (!below_start) {
        return below_start.error();
    }
    retention_info info = *below_start;
    uint64_t total = size_bytes();
    // Never the active segment, never data consumers cannot see yet, never
    // what tiered storage has not uploaded yet (set_retention_limit).
    auto deletable = [this] {
        return _segments.size() > 1 && _segments.front()->next() <= _high_watermark &&
               (!_retention_limit || _segments.front()->next() <= *_retention_limit);
    };
    auto remove_front = [&]() -> result<void> {
        segment& s = *_segments.front();
        if (auto r = remove_segment(s); !r) {
            return fail(r.error());
        }
        info.segments++;
        info.bytes += s.size();
        total -= s.size();
        _segments.erase(_segments.begin());
        return ok();
    };
    auto expired = [&](const segment& s) {
        const int64_t ts = s.max_timestamp();
        return ts >= 0 && now_ms - ts > _config.retention_ms;
    };
    // Time and size retention are cleanup.policy=delete's (DeleteRecords
    // above applies to every topic, as in Kafka).
    if (_config.cleanup_delete && _config.retention_ms >= 0) {
        for (;;) {
            if (!deletable()) {
                // The active segment too, Kafka's way (roll, then delete
                // it), once it has expired and consumers can read all of it:
                // else an idle partition would keep its last records forever.
                const segment& active = *_segments.back();
                if (_segments.size() == 1 && !active.empty() && active.next() <= _high_watermark &&
                    expired(active)) {
                    if (auto r = roll(now_ms); !r) {
                        return r.error();
                    }
                    continue;
                }
                break;
            }
            if (!expired(*_segments.front())) {
                break;
            }
            if (auto r = remove_front(); !r) {
                return r.error();
            }
        }
    }
    if (_config.cleanup_delete && _config.retention_bytes >= 0) {
        const auto limit = static_cast<uint64_t>(_config.retention_bytes);
        while (deletable() && total - _segments.front()->size() >= limit) {
            if (auto r = remove_front(); !r) {
                return r.error();
            }
        }
    }
    if (info.segments > 0) {
        log(log_level::info, component,
            "{}: retention deleted {} segments ({} bytes); log start is now {}", _dir,
            info.segments, info.bytes, log_start_offset());
    }
    return info;
}

result<void> partition_log::set_config(log_config c) {
    if (auto r = validate(c); !r) {
        return r;
    }
    c.offset_gaps = c.offset_gaps || _holds_copies;
    _config = c;
    return ok();
}

result<void> partition_log::end_copies(int64_t now_ms) {
    if (!_holds_copies || _copies_ended) {
        return ok();
    }
    if (auto r = check_failed(); !r) {
        return r;
    }
    // Durable first, so the empty snapshot's offset is one a crash keeps.
    if (auto r = flush(now_ms); !r) {
        return r;
    }
    _producers.clear();
    if (auto r = save_producer_state(std::nullopt); !r) {
        return r;
    }
    if (auto r = fs::replace_file(*_fs, _dir, shadow_copy_name, {"ended"}); !r) {
        return error_info(r.error().code, fmt::format("{}: cannot mark the shadow copy ended: {}",
                                                      _dir, r.error().detail));
    }
    _copies_ended = true;
    log(log_level::info, component,
        "{}: copies from the source ended at offset {}; their producer state is dropped", _dir,
        log_end_offset().value());
    return ok();
}

// --- read side --------------------------------------------------------------

result<fetch_slice> partition_log::read(kafka_offset start, uint64_t max_bytes,
                                        kafka_offset max_offset, first_batch rule) const {
    if (start < log_start_offset() || start > log_end_offset()) {
        return {errc::offset_out_of_range, fmt::format("offset {} outside the log [{}, {}]", start,
                                                       log_start_offset(), log_end_offset())};
    }
    return read_unchecked(start, max_bytes, max_offset, rule);
}

result<fetch_slice> partition_log::read_unchecked(kafka_offset start, uint64_t max_bytes,
                                                  kafka_offset max_offset, first_batch rule) const {
    fetch_slice out;
    out.first_offset = start;
    out.next_offset = start;
    const read_request req{start, std::min(max_offset, log_end_offset()), max_bytes,
                           rule == first_batch::may_exceed_max_bytes};
    if (start >= req.max_offset) {
        return out;
    }
    // The segment holding start: the last one whose base is <= start.
    auto it = std::upper_bound(
        _segments.begin(), _segments.end(), start,
        [](kafka_offset o, const std::unique_ptr<segment>& s) { return o < s->base(); });
    for (--it; it != _segments.end(); ++it) {
        auto done = (*it)->read(req, out);
        if (!done) {
            return done.error();
        }
        if (*done) {
            break;
        }
    }
    return out;
}

result<std::optional<timestamp_offset>> partition_log::offset_for_timestamp(
    int64_t ts, kafka_offset max_offset) const {
    ts = std::max<int64_t>(ts, 0);
    const kafka_offset start = log_start_offset();
    for (const auto& s : _segments) {
        if (s->base() >= max_offset) {
            break;
        }
        if (s->max_timestamp() < ts || s->next() <= start) {
            continue;
        }
        auto found = s->find_timestamp(ts, max_offset, start);
        if (found && *found && (*found)->offset < start) {
            (*found)->offset = start;  // the batch holding the log start
        }
        if (!found || *found) {
            return found;
        }
    }
    return std::optional<timestamp_offset>();
}

kafka_offset partition_log::log_start_offset() const {
    return std::max(_log_start, _segments.front()->base());
}

kafka_offset partition_log::log_end_offset() const {
    return _segments.back()->next();
}

uint64_t partition_log::size_bytes() const {
    uint64_t n = 0;
    for (const auto& s : _segments) {
        n += s->size();
    }
    return n;
}

std::vector<segment_info> partition_log::segments() const {
    std::vector<segment_info> out;
    out.reserve(_segments.size());
    for (const auto& s : _segments) {
        out.push_back({s->base(), s->next(), s->size(), s->max_timestamp()});
    }
    return out;
}

std::shared_ptr<fs::file> partition_log::segment_file(kafka_offset base) const {
    for (const auto& s : _segments) {
        if (s->base() == base) {
            return s->log_file();
        }
    }
    return nullptr;
}

std::optional<int64_t> partition_log::active_since_ms() const {
    if (_segments.back()->empty()) {
        return std::nullopt;
    }
    // A sealed segment truncate_to() made the active one: since its last
    // append at the latest.
    return _active_since_ms >= 0 ? _active_since_ms : _last_append_ms;
}

// --- helpers ----------------------------------------------------------------

error_info partition_log::fail(error_info e) {
    if (!_failed) {
        log(log_level::error, component, "{}: write failed, refusing further writes: {}", _dir,
            e.message());
        _failed = e;
    }
    return e;
}

result<void> partition_log::check_failed() const {
    if (_failed) {
        return *_failed;
    }
    return ok();
}

result<void> partition_log::remove_segment(segment& s) {
    if (auto r = s.remove_files(); !r) {
        return r;
    }
    return _fs->sync_dir(_dir);
}

uint64_t partition_log::index_interval() const {
    return static_cast<uint64_t>(_config.index_interval_bytes);
}

}  // namespace fjord::broker::storage
