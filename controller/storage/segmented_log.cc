// File: controller/storage/segmented_log.cc
//
// The durable raft::storage (segmented_log.h). Ordering rules that the
// recovery rules in format.cc rely on:
// - A segment's header is fdatasynced, and the directory fsynced, before any
//   record is written to it; the previous segment is fdatasynced before a new
//   one is started. So every segment but the last is complete on disk, and a
//   torn write can only be at the end of the last one.
// - A suffix truncation removes later segments newest first, fsyncing the
//   directory after each, then ftruncates and fsyncs the segment holding the
//   cut before anything new is written: stale records can never reappear
//   after the cut, and a crash leaves a contiguous prefix of segments.
// - sync() fdatasyncs segments before writing the hard state, so a durable
//   commit index never points past the durable log.
// - A snapshot is durable (temp file, fsync, rename, fsync directory) before
//   any segment or older snapshot it replaces is removed.

#include "controller/storage/segmented_log.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "common/crc32c.h"
#include "common/log.h"
#include "controller/raft/errc.h"
#include "controller/storage/format.h"

namespace fjord::storage {
namespace {

constexpr std::string_view component = "storage";
constexpr std::string_view tmp_suffix = ".tmp";

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

segmented_log::segmented_log(options opts)
    : _opts(std::move(opts)),
      _fs(_opts.fs ? _opts.fs : fs::posix_file_ops(raft::errc::io_error)),
      _log_dir(_opts.dir + "/log"),
      _snap_dir(_opts.dir + "/snapshot"),
      _hs_path(_opts.dir + "/hard_state") {}

segmented_log::~segmented_log() = default;

result<std::unique_ptr<segmented_log>> segmented_log::open(options opts) {
    if (opts.dir.empty()) {
        return error_info(raft::errc::io_error, "storage options: empty data directory");
    }
    std::unique_ptr<segmented_log> out(new segmented_log(std::move(opts)));
    if (auto r = out->recover(); !r) {
        return r.error();
    }
    return out;
}

// --- recovery ---------------------------------------------------------------

result<void> segmented_log::recover() {
    for (const std::string* d : {&_opts.dir, &_log_dir, &_snap_dir}) {
        if (auto r = _fs->make_dir(*d); !r) {
            return r;
        }
    }
    // A temp file is a write whose rename never happened: it was never the
    // hard state or a snapshot, so it is garbage.
    const std::string hs_tmp = _hs_path + std::string(tmp_suffix);
    auto tmp_exists = _fs->exists(hs_tmp);
    if (!tmp_exists) {
        return tmp_exists.error();
    }
    if (*tmp_exists) {
        log(log_level::info, component, "removing leftover {}", hs_tmp);
        if (auto r = _fs->remove(hs_tmp); !r) {
            return r;
        }
    }
    if (auto r = load_hard_state(); !r) {
        return r;
    }
    // Beyond dropping temp files (never part of the state), nothing on disk is
    // changed until everything is validated, so a log found corrupt is left
    // exactly as it was found, for inspection.
    std::vector<std::string> stale;
    if (auto r = load_newest_snapshot(stale); !r) {
        return r;
    }
    if (auto r = recover_segments(stale); !r) {
        return r;
    }
    log(log_level::info, component, "opened {}: snapshot {}, log [{}, {}] in {} segments",
        _opts.dir, _snap.index, first_index(), last_index(), _segments.size());
    return ok();
}

result<void> segmented_log::load_hard_state() {
    auto present = _fs->exists(_hs_path);
    if (!present) {
        return present.error();
    }
    if (!*present) {
        return ok();
    }
    auto buf = _fs->read_file(_hs_path);
    if (!buf) {
        return buf.error();
    }
    auto hs = format::decode_hard_state(*buf, _hs_path);
    if (!hs) {
        return hs.error();
    }
    _hs = *hs;
    _persisted_hs = *hs;
    return ok();
}

result<void> segmented_log::load_newest_snapshot(std::vector<std::string>& stale) {
    auto names = _fs->list_dir(_snap_dir);
    if (!names) {
        return names.error();
    }
    std::vector<log_index> found;
    for (const std::string& name : *names) {
        log_index index;
        if (ends_with(name, tmp_suffix)) {
            const std::string path = _snap_dir + "/" + name;
            log(log_level::info, component, "removing leftover {}", path);
            if (auto r = _fs->remove(path); !r) {
                return r;
            }
        } else if (format::parse_snapshot_name(name, index)) {
            found.push_back(index);
        } else {
            log(log_level::warn, component, "ignoring unexpected file {}/{}", _snap_dir, name);
        }
    }
    if (found.empty()) {
        return ok();
    }
    std::sort(found.begin(), found.end());
    const std::string path = snapshot_path(found.back());
    auto buf = _fs->read_file(path);
    if (!buf) {
        return buf.error();
    }
    // The newest snapshot must verify. Falling back to an older one could
    // silently lose entries the newer one covered and the log no longer has.
    auto snap = format::decode_snapshot(*buf, path);
    if (!snap) {
        return snap.error();
    }
    if (snap->meta.index != found.back()) {
        return error_info(raft::errc::corrupt,
                          fmt::format("{} at offset 8: snapshot index {} does not match the name",
                                      path, snap->meta.index));
    }
    if (snap->meta.index == log_index{0}) {
        return error_info(raft::errc::corrupt,
                          fmt::format("{}: a snapshot at index 0 covers nothing", path));
    }
    _snap = snap->meta;
    found.pop_back();
    for (const log_index old : found) {
        stale.push_back(snapshot_path(old));
    }
    return ok();
}

/// One segment file as recovery read it.
struct segmented_log::scanned_segment {
    log_index first;
    std::string path;
    format::segment_scan scan;
};

/// What recovery found and decided, before it changes anything on disk.
struct segmented_log::recovery_plan {
    /// The segments from the first one recovery needs, contiguous and scanned.
    std::vector<scanned_segment> segs;
    /// The last segment's torn tail: (path, bytes to keep).
    std::optional<std::pair<std::string, uint64_t>> cut;
    struct torn_tail {
        std::string path;
        std::string reason;
        log_index first_lost;
    };
    std::optional<torn_tail> torn;
    /// The segments disagree with the snapshot: all of them go.
    bool discard_all = false;
    /// The entries after the snapshot, in order.
    std::deque<raft::entry> entries;
};

result<void> segmented_log::recover_segments(std::vector<std::string>& stale) {
    recovery_plan plan;
    if (auto r = scan_segments(plan, stale); !r) {
        return r;
    }
    if (auto r = validate_segments(plan, stale); !r) {
        return r;
    }
    return repair_segments(plan, stale);
}

result<void> segmented_log::scan_segments(recovery_plan& plan, std::vector<std::string>& stale) {
    auto names = _fs->list_dir(_log_dir);
    if (!names) {
        return names.error();
    }
    std::vector<log_index> firsts;
    for (const std::string& name : *names) {
        log_index first;
        if (format::parse_segment_name(name, first)) {
            firsts.push_back(first);
        } else {
            log(log_level::warn, component, "ignoring unexpected file {}/{}", _log_dir, name);
        }
    }
    std::sort(firsts.begin(), firsts.end());
    const log_index snap = _snap.index;
    auto path_of = [this](log_index first) { return _log_dir + "/" + format::segment_name(first); };

    // Recovery starts at segment k, the last one starting at or below the
    // snapshot's own entry (index 1 without a snapshot), so that entry's term
    // can be checked against the snapshot. Earlier segments hold only entries
    // the snapshot covers, whatever their contents: they are left over from a
    // compaction that did not finish deleting them. If no segment starts that
    // low, the log must start right after the snapshot (a compaction removed
    // the segment whose last entry the snapshot ends at).
    const log_index boundary = snap == log_index{0} ? log_index{1} : snap;
    size_t k = 0;
    if (!firsts.empty()) {
        if (firsts.front() > boundary && firsts.front() != snap + 1) {
            return error_info(
                raft::errc::corrupt,
                fmt::format("{}: the log starts at index {} but entries up to {} are neither in "
                            "the snapshot (index {}) nor in any segment",
                            path_of(firsts.front()), firsts.front(), firsts.front() - 1, snap));
        }
        while (k + 1 < firsts.size() && firsts[k + 1] <= boundary) {
            stale.push_back(path_of(firsts[k]));
            ++k;
        }
    }

    std::vector<scanned_segment>& segs = plan.segs;
    for (size_t j = k; j < firsts.size(); ++j) {
        const bool is_last = j + 1 == firsts.size();
        scanned_segment s{firsts[j], path_of(firsts[j]), {}};
        if (!segs.empty()) {
            const scanned_segment& prev = segs.back();
            const log_index expected = prev.first + prev.scan.entries.size();
            if (s.first != expected) {
                return error_info(raft::errc::corrupt,
                                  fmt::format("{} at offset 0: segment starts at index {} but the "
                                              "previous segment {} ends at index {}",
                                              s.path, s.first, prev.path, expected - 1));
            }
        }
        auto buf = _fs->read_file(s.path);
        if (!buf) {
            return buf.error();
        }
        auto scan = format::scan_segment(*buf, s.path, s.first, is_last);
        if (!scan) {
            return scan.error();
        }
        s.scan = std::move(*scan);
        if (!segs.empty() && !s.scan.entries.empty() && !segs.back().scan.entries.empty() &&
            s.scan.entries.front().term < segs.back().scan.entries.back().term) {
            return error_info(
                raft::errc::corrupt,
                fmt::format("{} at offset {}: entry {} has term {} after term {}", s.path,
                            s.scan.offsets.front(), s.first, s.scan.entries.front().term,
                            segs.back().scan.entries.back().term));
        }
        segs.push_back(std::move(s));
    }

    return ok();
}

result<void> segmented_log::validate_segments(recovery_plan& plan,
                                              std::vector<std::string>& stale) {
    std::vector<scanned_segment>& segs = plan.segs;
    const log_index snap = _snap.index;
    // The last segment's tail may be torn: cut off below. A segment whose very
    // header is torn never held a record and goes entirely.
    if (!segs.empty() && segs.back().scan.torn) {
        const scanned_segment& last = segs.back();
        plan.torn = recovery_plan::torn_tail{last.path, last.scan.torn_reason,
                                             last.first + last.scan.entries.size()};
        if (last.scan.header_torn) {
            stale.push_back(last.path);
            segs.pop_back();
        } else {
            plan.cut.emplace(last.path, last.scan.valid_end);
        }
    }

    // The snapshot's own entry, if still in the log, must agree with it. If it
    // does not, the segments are what an interrupted install_snapshot did not
    // get to remove: a different history, replaced as a whole by the snapshot.
    if (snap > log_index{0} && !segs.empty() && segs.front().first <= snap) {
        const scanned_segment& s = segs.front();
        const uint64_t at = snap - s.first;
        if (at < s.scan.entries.size() && s.scan.entries[at].term != _snap.term) {
            log(log_level::warn, component,
                "{}: entry {} has term {} but the snapshot says {}; discarding the log after an "
                "interrupted snapshot install",
                s.path, snap, s.scan.entries[at].term, _snap.term);
            plan.discard_all = true;
        }
    }

    std::deque<raft::entry>& entries = plan.entries;
    term_id last_term = _snap.term;
    for (scanned_segment& s : segs) {
        if (plan.discard_all) {
            break;
        }
        for (size_t i = 0; i < s.scan.entries.size(); ++i) {
            raft::entry& e = s.scan.entries[i];
            if (e.index <= snap) {
                continue;
            }
            if (e.term < last_term) {
                return error_info(
                    raft::errc::corrupt,
                    fmt::format("{} at offset {}: entry {} has term {} below the "
                                "snapshot's term {}",
                                s.path, s.scan.offsets[i], e.index, e.term, _snap.term));
            }
            last_term = e.term;
            entries.push_back(std::move(e));
        }
    }
    const log_index last = entries.empty() ? snap : entries.back().index;
    if (_persisted_hs.commit > last) {
        return error_info(raft::errc::corrupt,
                          fmt::format("{}: commit index {} is beyond the last durable log index "
                                      "{}: acknowledged entries are missing",
                                      _hs_path, _persisted_hs.commit, last));
    }

    return ok();
}

result<void> segmented_log::repair_segments(recovery_plan& plan, std::vector<std::string>& stale) {
    const log_index snap = _snap.index;
    auto& cut = plan.cut;
    // Validation is done; from here on the directory is repaired. Segments
    // holding only entries the snapshot covers go (they can only be a prefix).
    std::vector<segment> kept;
    std::vector<std::string> remove_newest_first;
    for (scanned_segment& s : plan.segs) {
        const bool covered = s.scan.entries.empty() ? s.first <= snap
                                                    : s.first + (s.scan.entries.size() - 1) <= snap;
        if (plan.discard_all) {
            remove_newest_first.insert(remove_newest_first.begin(), s.path);
        } else if (covered) {
            stale.push_back(s.path);
            if (cut && cut->first == s.path) {
                cut.reset();
            }
        } else {
            segment seg;
            seg.first = s.first;
            seg.path = s.path;
            seg.offsets = std::move(s.scan.offsets);
            seg.size = s.scan.valid_end;
            kept.push_back(std::move(seg));
        }
    }
    if (plan.discard_all) {
        cut.reset();
    }
    if (const auto& torn = plan.torn) {
        // A torn tail is expected after a crash, but worth a line: it is the
        // only data recovery ever drops (none of it was acknowledged).
        log(log_level::warn, component, "{}: torn tail ({}); {}", torn->path, torn->reason,
            cut ? fmt::format("truncating to {} bytes, before entry {}", cut->second,
                              torn->first_lost)
                : std::string("removing the segment"));
    }
    for (const std::string& path : stale) {
        log(log_level::info, component, "removing {}", path);
        if (auto r = _fs->remove(path); !r) {
            return r;
        }
    }
    if (!stale.empty()) {
        for (const std::string* d : {&_snap_dir, &_log_dir}) {
            if (auto r = _fs->sync_dir(*d); !r) {
                return r;
            }
        }
    }
    // Newest first, each removal durable before the next: a crash leaves a
    // contiguous run of segments that this rule removes again.
    for (const std::string& path : remove_newest_first) {
        log(log_level::info, component, "removing {}", path);
        if (auto r = _fs->remove(path); !r) {
            return r;
        }
        if (auto r = _fs->sync_dir(_log_dir); !r) {
            return r;
        }
    }
    if (!kept.empty()) {
        segment& active = kept.back();
        auto file = _fs->open(active.path, fs::open_mode::existing);
        if (!file) {
            return file.error();
        }
        active.file = std::move(*file);
        if (cut) {
            if (auto r = active.file->truncate(cut->second); !r) {
                return r;
            }
            if (auto r = active.file->sync(); !r) {
                return r;
            }
        }
    }
    _segments = std::move(kept);
    _entries = std::move(plan.entries);
    return ok();
}

// --- read side --------------------------------------------------------------

raft::hard_state segmented_log::initial_hard_state() const {
    return _persisted_hs;
}

raft::snapshot_meta segmented_log::snapshot_metadata() const {
    return _snap;
}

log_index segmented_log::first_index() const {
    return _snap.index + 1;
}

log_index segmented_log::last_index() const {
    return _snap.index + static_cast<uint64_t>(_entries.size());
}

result<std::vector<raft::entry>> segmented_log::entries(log_index lo, log_index hi,
                                                        uint64_t max_bytes) const {
    if (lo < first_index()) {
        return error_info(raft::errc::compacted,
                          fmt::format("entries from {} below first index {}", lo, first_index()));
    }
    if (hi > last_index() + 1) {
        return error_info(raft::errc::unavailable,
                          fmt::format("entries up to {} beyond last index {}", hi, last_index()));
    }
    std::vector<raft::entry> out;
    uint64_t bytes = 0;
    for (log_index i = lo; i < hi; ++i) {
        const raft::entry& e = _entries[i - first_index()];
        bytes += e.byte_size();
        if (!out.empty() && bytes > max_bytes) {
            break;
        }
        out.push_back(e);
    }
    return out;
}

result<term_id> segmented_log::term(log_index i) const {
    if (i == _snap.index) {
        return _snap.term;
    }
    if (i < first_index()) {
        return error_info(raft::errc::compacted,
                          fmt::format("term of {} below first index {}", i, first_index()));
    }
    if (i > last_index()) {
        return error_info(raft::errc::unavailable,
                          fmt::format("term of {} beyond last index {}", i, last_index()));
    }
    return _entries[i - first_index()].term;
}

result<raft::snapshot> segmented_log::load_snapshot() const {
    if (_snap.index == log_index{0}) {
        return raft::snapshot{};
    }
    const std::string path = snapshot_path(_snap.index);
    auto buf = _fs->read_file(path);
    if (!buf) {
        return buf.error();
    }
    auto snap = format::decode_snapshot(*buf, path);
    if (!snap) {
        return snap.error();
    }
    if (!(snap->meta == _snap)) {
        return error_info(
            raft::errc::corrupt,
            fmt::format("{}: metadata (index {}, term {}) differs from the one "
                        "loaded (index {}, term {})",
                        path, snap->meta.index, snap->meta.term, _snap.index, _snap.term));
    }
    return snap;
}

// --- write side -------------------------------------------------------------

error_info segmented_log::fail(error_info e) {
    if (!_failed) {
        log(log_level::error, component, "{}: failing the log: {}", _opts.dir, e.message());
        _failed = e;
    }
    return e;
}

result<void> segmented_log::check_failed() const {
    if (_failed) {
        return error_info(_failed->code, fmt::format("log failed earlier and must be reopened: {}",
                                                     _failed->detail));
    }
    return ok();
}

result<void> segmented_log::append(std::span<const raft::entry> batch) {
    if (auto r = check_failed(); !r) {
        return r;
    }
    if (batch.empty()) {
        return ok();
    }
    // Input checks come first: nothing is written for a batch that would make
    // the log unrecoverable (gaps, term regressions, unknown types).
    for (size_t k = 0; k < batch.size(); ++k) {
        const raft::entry& e = batch[k];
        if (static_cast<uint8_t>(e.type) > static_cast<uint8_t>(raft::entry_type::conf_change)) {
            return error_info(
                raft::errc::malformed,
                fmt::format("entry {} has unknown type {}", e.index, static_cast<uint8_t>(e.type)));
        }
        if (format::entry_payload_fixed + e.data.size() > format::max_payload) {
            return error_info(raft::errc::malformed,
                              fmt::format("entry {} has {} bytes of data, more than the {} a "
                                          "record holds",
                                          e.index, e.data.size(), format::max_payload));
        }
        if (k > 0 && e.index != batch[k - 1].index + 1) {
            return error_info(raft::errc::malformed,
                              fmt::format("batch is not consecutive: entry {} follows {}", e.index,
                                          batch[k - 1].index));
        }
        if (k > 0 && e.term < batch[k - 1].term) {
            return error_info(raft::errc::malformed,
                              fmt::format("batch regresses: entry {} has term {} after term {}",
                                          e.index, e.term, batch[k - 1].term));
        }
    }
    const log_index front = batch.front().index;
    if (front <= _snap.index) {
        return error_info(raft::errc::compacted,
                          fmt::format("append at {} at or below snapshot {}", front, _snap.index));
    }
    if (front > last_index() + 1) {
        return error_info(raft::errc::unavailable,
                          fmt::format("append at {} leaves a gap after {}", front, last_index()));
    }
    const auto prev_term = term(front - 1);
    if (!prev_term) {
        return prev_term.error();
    }
    if (batch.front().term < *prev_term) {
        return error_info(raft::errc::malformed,
                          fmt::format("append regresses: entry {} has term {} after term {}", front,
                                      batch.front().term, *prev_term));
    }
    if (front <= last_index()) {
        if (auto r = truncate_suffix(front); !r) {
            return fail(r.error());
        }
    }
    if (auto r = write_records(batch); !r) {
        return fail(r.error());
    }
    return ok();
}

result<void> segmented_log::write_records(std::span<const raft::entry> batch) {
    std::string buf;
    size_t pending_from = 0;  // batch[pending_from..] are encoded in buf, not yet written
    auto flush = [&](size_t upto) -> result<void> {
        if (buf.empty()) {
            return ok();
        }
        segment& seg = _segments.back();
        if (auto r = seg.file->write_at(seg.size, buf); !r) {
            return r;
        }
        seg.size += buf.size();
        seg.dirty = true;
        buf.clear();
        _entries.insert(_entries.end(), batch.begin() + static_cast<std::ptrdiff_t>(pending_from),
                        batch.begin() + static_cast<std::ptrdiff_t>(upto));
        pending_from = upto;
        return ok();
    };
    for (size_t k = 0; k < batch.size(); ++k) {
        const raft::entry& e = batch[k];
        const uint64_t size = format::record_size(e);
        const bool full = !_segments.empty() && !_segments.back().offsets.empty() &&
                          _segments.back().size + buf.size() + size > _opts.segment_size;
        if (_segments.empty() || full) {
            if (auto r = flush(k); !r) {
                return r;
            }
            if (auto r = start_segment(e.index); !r) {
                return r;
            }
        }
        segment& seg = _segments.back();
        seg.offsets.push_back(seg.size + buf.size());
        format::append_record(buf, e);
    }
    return flush(batch.size());
}

result<void> segmented_log::start_segment(log_index first) {
    if (!_segments.empty()) {
        // Sealing the previous segment keeps torn writes confined to the last
        // segment, which is what lets recovery treat damage anywhere else as
        // corruption.
        segment& prev = _segments.back();
        if (prev.dirty) {
            if (auto r = prev.file->datasync(); !r) {
                return r;
            }
            prev.dirty = false;
        }
        prev.file.reset();
    }
    segment seg;
    seg.first = first;
    seg.path = _log_dir + "/" + format::segment_name(first);
    auto file = _fs->open(seg.path, fs::open_mode::create_new);
    if (!file) {
        return file.error();
    }
    seg.file = std::move(*file);
    const std::string header = format::encode_segment_header(first);
    if (auto r = seg.file->write_at(0, header); !r) {
        return r;
    }
    if (auto r = seg.file->datasync(); !r) {
        return r;
    }
    if (auto r = _fs->sync_dir(_log_dir); !r) {
        return r;
    }
    seg.size = header.size();
    _segments.push_back(std::move(seg));
    return ok();
}

result<void> segmented_log::truncate_suffix(log_index cut) {
    // The segment holding `cut` is the last one starting at or before it; it
    // exists because the segments cover [first_index(), last_index()].
    size_t s = _segments.size() - 1;
    while (_segments[s].first > cut) {
        --s;
    }
    if (auto r = remove_segments_from_back(s + 1); !r) {
        return r;
    }
    segment& seg = _segments.back();
    if (!seg.file) {
        auto file = _fs->open(seg.path, fs::open_mode::existing);
        if (!file) {
            return file.error();
        }
        seg.file = std::move(*file);
    }
    const uint64_t k = cut - seg.first;
    const uint64_t offset = seg.offsets[k];
    if (auto r = seg.file->truncate(offset); !r) {
        return r;
    }
    // fsync, not fdatasync: the new size must be durable before new records
    // are written over the cut, or stale records could reappear after them.
    if (auto r = seg.file->sync(); !r) {
        return r;
    }
    log(log_level::debug, component, "{}: truncated to {} bytes (entries from {} removed)",
        seg.path, offset, cut);
    seg.offsets.resize(k);
    seg.size = offset;
    seg.dirty = false;
    _entries.erase(_entries.begin() + static_cast<std::ptrdiff_t>(cut - first_index()),
                   _entries.end());
    return ok();
}

result<void> segmented_log::remove_segments_from_back(size_t keep) {
    while (_segments.size() > keep) {
        segment& seg = _segments.back();
        seg.file.reset();
        if (auto r = _fs->remove(seg.path); !r) {
            return r;
        }
        // Each removal is durable before the next, so a crash leaves the
        // segments contiguous.
        if (auto r = _fs->sync_dir(_log_dir); !r) {
            return r;
        }
        _segments.pop_back();
    }
    return ok();
}

result<void> segmented_log::set_hard_state(const raft::hard_state& hs) {
    if (auto r = check_failed(); !r) {
        return r;
    }
    _hs = hs;
    return ok();
}

result<void> segmented_log::sync() {
    if (auto r = check_failed(); !r) {
        return r;
    }
    // Log first: the hard state's commit must never point past the durable log.
    for (segment& seg : _segments) {
        if (seg.dirty) {
            if (auto r = seg.file->datasync(); !r) {
                return fail(r.error());
            }
            seg.dirty = false;
        }
    }
    // Commit alone does not justify a file replacement (three syncs): a stale
    // commit is recomputed by Raft, while term and vote must never go back.
    // The exception is a commit that crosses a membership change: the member
    // is about to act on the new configuration, and at restart it rebuilds
    // its voters from the committed entries it finds (raft::core's
    // constructor), so a stale commit there would revive an old voter set.
    if (_hs.term != _persisted_hs.term || _hs.vote != _persisted_hs.vote || commits_conf_change()) {
        if (auto r = write_hard_state(_hs); !r) {
            return fail(r.error());
        }
        _persisted_hs = _hs;
    }
    return ok();
}

bool segmented_log::commits_conf_change() {
    const log_index to = std::min(_hs.commit, last_index());
    log_index from = std::max({_persisted_hs.commit, _conf_scanned, _snap.index}) + 1;
    bool found = false;
    for (; from <= to && !found; ++from) {
        found = _entries[from - first_index()].type == raft::entry_type::conf_change;
    }
    // Entries at or below a commit are never truncated, so what has been
    // scanned once need not be scanned again.
    _conf_scanned = std::max(_conf_scanned, to);
    return found;
}

result<void> segmented_log::write_hard_state(const raft::hard_state& hs) {
    const std::string buf = format::encode_hard_state(hs);
    return fs::replace_file(*_fs, _opts.dir, "hard_state", {buf});
}

std::string segmented_log::snapshot_path(log_index index) const {
    return _snap_dir + "/" + format::snapshot_name(index);
}

result<void> segmented_log::write_snapshot(const raft::snapshot_meta& meta, std::string_view data) {
    const std::string header = format::encode_snapshot_header(meta, data.size());
    uint32_t crc = crc32c_extend(0, header.data(), header.size());
    crc = crc32c_extend(crc, data.data(), data.size());
    const std::string trailer = format::encode_u32(crc);
    if (auto r = fs::replace_file(*_fs, _snap_dir, format::snapshot_name(meta.index),
                                  {header, data, trailer});
        !r) {
        return r;
    }
    // The new snapshot is durable; the one it supersedes can go.
    if (_snap.index > log_index{0} && _snap.index != meta.index) {
        if (auto r = _fs->remove(snapshot_path(_snap.index)); !r) {
            return r;
        }
        if (auto r = _fs->sync_dir(_snap_dir); !r) {
            return r;
        }
    }
    return ok();
}

result<void> segmented_log::create_snapshot(log_index i, const raft::conf_state& conf,
                                            std::string data) {
    if (auto r = check_failed(); !r) {
        return r;
    }
    if (i <= _snap.index) {
        return error_info(raft::errc::snapshot_out_of_date,
                          fmt::format("snapshot {} not newer than {}", i, _snap.index));
    }
    if (i > last_index()) {
        return error_info(raft::errc::unavailable,
                          fmt::format("snapshot {} beyond last index {}", i, last_index()));
    }
    const auto t = term(i);
    if (!t) {
        return t.error();
    }
    const raft::snapshot_meta meta{i, *t, conf};
    if (auto r = write_snapshot(meta, data); !r) {
        return fail(r.error());
    }
    _snap = meta;
    if (auto r = compact(i); !r) {
        return fail(r.error());
    }
    return ok();
}

result<void> segmented_log::compact(log_index i) {
    // _snap is already i, so first_index() is i + 1: count what remains.
    while (!_entries.empty() && _entries.front().index <= i) {
        _entries.pop_front();
    }
    // A segment holds only entries <= i if the next one starts at or below
    // i + 1, or, for the last, if its last record is <= i. Any subset of these
    // may be removed before a crash; recovery removes the rest.
    size_t drop = 0;
    while (drop < _segments.size()) {
        const segment& seg = _segments[drop];
        const bool is_last = drop + 1 == _segments.size();
        const bool covered =
            is_last ? (!seg.offsets.empty() && seg.first + (seg.offsets.size() - 1) <= i)
                    : _segments[drop + 1].first <= i + 1;
        if (!covered) {
            break;
        }
        ++drop;
    }
    for (size_t k = 0; k < drop; ++k) {
        _segments[k].file.reset();
        if (auto r = _fs->remove(_segments[k].path); !r) {
            _segments.erase(_segments.begin(), _segments.begin() + static_cast<std::ptrdiff_t>(k));
            return r;
        }
    }
    _segments.erase(_segments.begin(), _segments.begin() + static_cast<std::ptrdiff_t>(drop));
    if (drop > 0) {
        return _fs->sync_dir(_log_dir);
    }
    return ok();
}

result<void> segmented_log::install_snapshot(const raft::snapshot& s) {
    if (auto r = check_failed(); !r) {
        return r;
    }
    if (s.meta.index <= _snap.index) {
        return error_info(raft::errc::snapshot_out_of_date,
                          fmt::format("snapshot {} not newer than {}", s.meta.index, _snap.index));
    }
    if (auto r = write_snapshot(s.meta, s.data); !r) {
        return fail(r.error());
    }
    _snap = s.meta;
    _entries.clear();
    if (auto r = remove_segments_from_back(0); !r) {
        return fail(r.error());
    }
    return ok();
}

}  // namespace fjord::storage
