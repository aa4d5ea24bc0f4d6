// File: broker/storage/partition_log_compaction.cc
//
// partition_log::compact(): Kafka's log cleaner over this log's segments,
// built from compactor.h's pieces (README.md, "Compaction", has the
// algorithm, the files and the swap protocol).
//
// A pass, resumable across calls (compaction_limits bounds each call):
//   1. plan (start_compaction): the cleanable log is the sealed segments,
//      from the first, up to the first that is active, reaches the high
//      watermark, or (from the dirty part on) holds a record younger than
//      min.compaction.lag.ms. Its dirty part starts at the checkpoint's
//      first_dirty. Nothing happens unless dirty bytes / cleanable bytes >=
//      min.cleanable.dirty.ratio.
//   2. map (map_step): key -> latest offset over the dirty part, a window at
//      a time; if the map outgrows its memory the dirty part ends at the
//      next segment boundary.
//   3. clean (clean_step, finish_group): the cleanable log from its first
//      segment, in groups of at most segment.bytes, each written to
//      <base>.log.cleaned and swapped in atomically (commit_swap). The last
//      group's swap also moves first_dirty to the end of the dirty part.
//
// Tombstones (null values) go once their delete horizon has passed: the
// time the pass that first cleaned them started, plus delete.retention.ms
// (cleaner_checkpoint::cleaned_at). Why that is enough: a tombstone is
// written before the pass that first cleans it starts, so it stays
// readable for at least delete.retention.ms after it was written; and the
// records it deletes went in that first pass. A consumer that reads the log
// from its start to its end within delete.retention.ms therefore sees either
// the tombstone or none of the records it deleted (Kafka's promise for
// delete.retention.ms). Using the broker's clock, not the record's
// timestamp, means a producer's old (or future) timestamps change nothing.

#include <algorithm>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "broker/storage/compactor.h"
#include "broker/storage/errc.h"
#include "broker/storage/partition_log.h"
#include "broker/storage/segment.h"
#include "common/kafka/record_batch.h"
#include "common/log.h"

namespace fjord::broker::storage {
namespace {

constexpr std::string_view component = "broker.log";
/// Bytes read from a segment at a time, to map or to clean.
constexpr uint64_t read_window = 1 << 20;
/// A cleaned segment spans at most this many offsets (relative offsets in
/// its .index are 32-bit, as for the active segment).
constexpr int64_t max_group_span = std::numeric_limits<int32_t>::max();

/// Calls f(batch) for each whole batch of a slice (read() verified them).
template <typename F>
void for_each_batch(std::string_view bytes, F f) {
    while (bytes.size() >= kafka::record_batch_header_size) {
        const size_t n =
            std::min<size_t>(bytes.size(), kafka::decode_record_batch_header(bytes).size_bytes());
        f(bytes.substr(0, n));
        bytes.remove_prefix(n);
    }
}

/// Reads batches of `s` from `from`, up to about read_window bytes; `more`
/// is false when the read reached the end of the segment.
struct window {
    fetch_slice slice;
    bool more = false;
};
result<window> read_window_of(const segment& s, kafka_offset from) {
    window w;
    w.slice.first_offset = from;
    w.slice.next_offset = from;
    auto more = s.read(read_request{from, s.next(), read_window, true}, w.slice);
    if (!more) {
        return more.error();
    }
    w.more = *more && w.slice.batches > 0;
    return w;
}

}  // namespace

size_t partition_log::segment_index_of(kafka_offset o) const {
    const auto it = std::upper_bound(
        _segments.begin(), _segments.end(), o,
        [](kafka_offset v, const std::unique_ptr<segment>& s) { return v < s->base(); });
    return it == _segments.begin() ? 0 : static_cast<size_t>(it - _segments.begin()) - 1;
}

result<compaction_info> partition_log::compact(int64_t now_ms, const compaction_limits& limits) {
    if (auto r = check_failed(); !r) {
        return r.error();
    }
    compaction_info info;
    compaction_state& st = *_compaction;
    if (!_config.cleanup_compact) {
        if (auto r = abandon_compaction(); !r) {
            return fail(r.error());
        }
        return info;
    }
    if (st.uncleanable || (!st.running && !start_compaction(now_ms))) {
        return info;
    }
    if (auto r = run_compaction(now_ms, limits, info); !r) {
        if (_failed) {
            return r.error();  // after a swap's commit: reopen to go on
        }
        if (r.code() == errc::corrupt) {
            // A damaged batch in a sealed segment (reads report it too).
            // Kafka marks such a partition uncleanable; so do we, until the
            // log is reopened.
            st.uncleanable = true;
            log(log_level::error, component, "{}: compaction stops until the log is reopened: {}",
                _dir, r.error().detail);
            if (auto a = abandon_compaction(); !a) {
                return fail(a.error());
            }
            return r.error();
        }
        return fail(r.error());
    }
    info.in_progress = st.running.has_value();
    return info;
}

bool partition_log::compaction_in_progress() const {
    return _compaction && _compaction->running.has_value();
}

bool partition_log::start_compaction(int64_t now_ms) {
    compaction_state& st = *_compaction;
    const kafka_offset front = _segments.front()->base();
    kafka_offset dirty{st.checkpoint.first_dirty};
    if (dirty < front || dirty > log_end_offset()) {
        dirty = front;  // retention went past it (or a truncation below it)
    }
    kafka_offset cleanable_end = front;
    uint64_t clean_bytes = 0;
    uint64_t dirty_bytes = 0;
    for (size_t i = 0; i + 1 < _segments.size(); ++i) {
        const segment& s = *_segments[i];
        if (s.next() > _high_watermark) {
            break;
        }
        const bool is_dirty = s.next() > dirty;
        if (is_dirty && _config.min_compaction_lag_ms > 0) {
            // Segments without timestamps have no age: they wait.
            const int64_t ts = s.max_timestamp();
            if (ts < 0 || now_ms - ts < _config.min_compaction_lag_ms) {
                break;
            }
        }
        (is_dirty ? dirty_bytes : clean_bytes) += s.size();
        cleanable_end = s.next();
    }
    if (dirty_bytes == 0 ||
        static_cast<double>(dirty_bytes) <
            _config.min_cleanable_dirty_ratio * static_cast<double>(dirty_bytes + clean_bytes)) {
        return false;
    }
    compaction_state::pass& p = st.running.emplace();
    p.started_ms = now_ms;
    p.dirty_start = dirty;
    p.dirty_end = cleanable_end;
    p.mapped_to = dirty;
    p.cleaned_to = front;
    p.delete_retention_ms = _config.delete_retention_ms;
    p.segment_bytes = _config.segment_bytes;
    log(log_level::debug, component,
        "{}: compaction starts: dirty [{}, {}), {} dirty and {} clean bytes", _dir, dirty,
        cleanable_end, dirty_bytes, clean_bytes);
    return true;
}

result<void> partition_log::run_compaction(int64_t now_ms, const compaction_limits& limits,
                                           compaction_info& info) {
    compaction_state& st = *_compaction;
    while (st.running) {
        compaction_state::pass& p = *st.running;
        // Retention or DeleteRecords may have removed segments since the
        // last call: what they took needs no cleaning.
        const kafka_offset front = _segments.front()->base();
        if (p.current && p.current->from < front) {
            p.current->writer.reset();
            if (auto r = remove_cleaned_files(*_fs, _dir, p.current->from); !r) {
                return r;
            }
            p.current.reset();
        }
        p.cleaned_to = std::max(p.cleaned_to, front);
        p.mapped_to = std::max(p.mapped_to, front);
        if (p.dirty_end <= front) {
            st.running.reset();
            break;
        }
        if (p.mapped_to < p.dirty_end) {
            if (auto r = map_step(limits, info); !r) {
                return r;
            }
        } else if (p.current) {
            if (auto r = clean_step(now_ms, info); !r) {
                return r;
            }
        } else {
            // The next group: consecutive segments from cleaned_to, at most
            // segment.bytes together (at least one), within the dirty end.
            size_t i = segment_index_of(p.cleaned_to);
            if (_segments[i]->base() < p.cleaned_to) {
                ++i;
            }
            compaction_state::group g;
            g.from = _segments[i]->base();
            g.to = g.from;
            for (size_t j = i; j + 1 < _segments.size() && _segments[j]->base() < p.dirty_end;
                 ++j) {
                const segment& s = *_segments[j];
                if (j > i && (g.bytes_before + s.size() > static_cast<uint64_t>(p.segment_bytes) ||
                              s.next() - g.from > max_group_span)) {
                    break;
                }
                g.bases.push_back(s.base());
                g.bytes_before += s.size();
                g.to = s.next();
            }
            if (g.bases.empty()) {
                // Cannot happen (cleaned_to is a sealed segment's base below
                // the dirty end); start over rather than spin.
                st.running.reset();
                break;
            }
            g.next = g.from;
            // The clean part whose delete horizon has passed.
            for (const auto& [end, ms] : st.checkpoint.cleaned_at) {
                if (ms > now_ms - p.delete_retention_ms) {
                    break;
                }
                g.remove_tombstones_below = std::min(end, p.dirty_start.value());
            }
            auto w = cleaned_segment_writer::create(*_fs, _dir, g.from, index_interval());
            if (!w) {
                return w.error();
            }
            g.writer.emplace(std::move(*w));
            p.current = std::move(g);
        }
        if (info.bytes_read >= limits.max_bytes) {
            break;
        }
    }
    return ok();
}

result<void> partition_log::map_step(const compaction_limits& limits, compaction_info& info) {
    compaction_state::pass& p = *_compaction->running;
    const segment& s = *_segments[segment_index_of(p.mapped_to)];
    auto w = read_window_of(s, p.mapped_to);
    if (!w) {
        return w.error();
    }
    info.bytes_read += w->slice.bytes.size();
    for_each_batch(w->slice.bytes, [&](std::string_view b) { map_batch(p.map, b); });
    p.mapped_to = w->more ? w->slice.next_offset : s.next();
    if (p.mapped_to == s.next() && p.mapped_to < p.dirty_end &&
        p.map.bytes() > limits.max_map_bytes) {
        log(log_level::info, component,
            "{}: the offset map is full ({} keys, {} bytes): this pass cleans up to offset {}",
            _dir, p.map.size(), p.map.bytes(), p.mapped_to);
        p.dirty_end = p.mapped_to;
    }
    return ok();
}

result<void> partition_log::clean_step(int64_t now_ms, compaction_info& info) {
    compaction_state::pass& p = *_compaction->running;
    compaction_state::group& g = *p.current;
    const segment& s = *_segments[segment_index_of(g.next)];
    auto w = read_window_of(s, g.next);
    if (!w) {
        return w.error();
    }
    info.bytes_read += w->slice.bytes.size();
    result<void> written = ok();
    for_each_batch(w->slice.bytes, [&](std::string_view b) {
        if (!written) {
            return;
        }
        // No tombstone after a batch kept unfiltered goes: that batch may
        // hold a value the tombstone deleted (every pass cleans from the
        // first segment, so it sees every such batch below the tombstone).
        const filter_rules rules{&p.map, std::min(g.remove_tombstones_below, p.unfiltered_from)};
        filtered_batch f = filter_batch(b, rules);
        if (f.unfiltered) {
            p.unfiltered_from =
                std::min(p.unfiltered_from, kafka::decode_record_batch_header(b).base_offset);
        }
        g.records_removed += f.records_removed;
        g.dropped_tail.clear();
        switch (f.what) {
            case filtered_batch::outcome::keep:
                written = g.writer->append(b);
                break;
            case filtered_batch::outcome::rewritten:
                written = g.writer->append(f.bytes);
                break;
            case filtered_batch::outcome::drop:
                g.dropped_tail.assign(b);
                break;
        }
    });
    if (!written) {
        return written;
    }
    g.next = w->more ? w->slice.next_offset : s.next();
    if (g.next >= g.to) {
        return finish_group(now_ms, info);
    }
    return ok();
}

result<void> partition_log::finish_group(int64_t now_ms, compaction_info& info) {
    compaction_state& st = *_compaction;
    compaction_state::pass& p = *st.running;
    compaction_state::group& g = *p.current;
    const size_t first = segment_index_of(g.from);
    const bool last = g.to >= p.dirty_end;
    // Two batches the filter dropped stay as their header alone (recordCount
    // 0, header_only_batch: Kafka's empty batch), never with their records:
    // a superseded value kept would be its key's value again once the
    // tombstone after it goes.
    // - the first segment's last, if nothing else of it survives: the first
    //   segment stays, and with it the log start (a consumer's committed
    //   offset there stays valid);
    // - the pass's last batch: the compacted range then ends with a batch
    //   (not a gap), so a read anywhere below its end finds one to move
    //   past, even when the active segment after it is empty (a reader of
    //   a whole log, like the group coordinator's, reads until it gets
    //   nothing).
    // A later pass drops such a header (filter_batch) and makes a new one
    // where one is still needed.
    if (!g.dropped_tail.empty() && (last || (g.writer->empty() && first == 0))) {
        if (auto r = g.writer->append(header_only_batch(g.dropped_tail)); !r) {
            return r;
        }
    }
    cleaner_checkpoint after = st.checkpoint;
    after.cleaned_through = std::max(after.cleaned_through, g.to.value());
    if (last) {
        after.record_pass(p.dirty_end.value(), p.started_ms);
    }
    after.swap_from = g.from.value();
    after.swap_to = g.to.value();
    after.swap_output = g.writer->empty() ? -1 : g.from.value();
    const uint64_t bytes_after = g.writer->size();
    if (after.swap_output >= 0) {
        if (auto r = g.writer->finish(); !r) {
            return r;
        }
    } else if (auto r = remove_cleaned_files(*_fs, _dir, g.from); !r) {
        return r;
    }
    g.writer.reset();
    if (auto r = commit_swap(*_fs, _dir, after, g.bases); !r) {
        return fail(r.error());
    }
    // The disk has the cleaned group now. The old segments' objects keep
    // their (unlinked) files open until replaced here; whatever fails from
    // here fails the log, and a reopen recovers from the disk.
    std::unique_ptr<segment> replacement;
    const size_t at = after.swap_output >= 0 ? first : first - 1;
    {
        // The cleaned segment, or (nothing survived) its predecessor, which
        // now reaches to the group's successor.
        auto s = segment::open_sealed(*_fs, _dir, _segments[at]->base(), g.to, index_interval(),
                                      now_ms, /*cleaned=*/true);
        if (!s) {
            return fail(s.error());
        }
        replacement = std::move(*s);
    }
    const auto group_begin = _segments.begin() + static_cast<std::ptrdiff_t>(first);
    _segments.erase(group_begin, group_begin + static_cast<std::ptrdiff_t>(g.bases.size()));
    if (after.swap_output >= 0) {
        _segments.insert(_segments.begin() + static_cast<std::ptrdiff_t>(first),
                         std::move(replacement));
    } else {
        _segments[at] = std::move(replacement);
    }
    st.checkpoint = after;

    for (compaction_info* i : {&info, &p.totals}) {
        i->segments_cleaned += g.bases.size();
        i->bytes_before += g.bytes_before;
        i->bytes_after += bytes_after;
        i->records_removed += g.records_removed;
    }
    p.cleaned_to = g.to;
    p.current.reset();
    if (last) {
        info.pass_done = true;
        log(log_level::info, component,
            "{}: compacted offsets [{}, {}) (dirty from {}): {} segments, {} -> {} bytes, {} "
            "records removed, {} keys",
            _dir, _segments.front()->base(), p.dirty_end, p.dirty_start, p.totals.segments_cleaned,
            p.totals.bytes_before, p.totals.bytes_after, p.totals.records_removed, p.map.size());
        st.running.reset();
    }
    return ok();
}

result<void> partition_log::abandon_compaction() {
    compaction_state& st = *_compaction;
    if (!st.running) {
        return ok();
    }
    std::optional<kafka_offset> cleaned;
    if (st.running->current) {
        st.running->current->writer.reset();
        cleaned = st.running->current->from;
    }
    st.running.reset();
    return cleaned ? remove_cleaned_files(*_fs, _dir, *cleaned) : ok();
}

result<void> partition_log::compaction_truncated() {
    if (!_compaction) {
        return ok();
    }
    if (auto r = abandon_compaction(); !r) {
        return r;
    }
    cleaner_checkpoint c = _compaction->checkpoint;
    c.clamp(log_end_offset().value());
    if (c == _compaction->checkpoint) {
        return ok();
    }
    if (auto r = write_cleaner_checkpoint(*_fs, _dir, c); !r) {
        return r;
    }
    _compaction->checkpoint = c;
    return ok();
}

}  // namespace fjord::broker::storage
