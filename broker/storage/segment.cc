// File: broker/storage/segment.cc
//
// One segment's files (segment.h). Every batch read from disk is framed
// (length, magic, offsets) before it is trusted, and its CRC-32C is checked
// before it is served or counted as recovered.

#include "broker/storage/segment.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "broker/storage/batch_header.h"
#include "broker/storage/errc.h"
#include "common/log.h"

namespace fjord::broker::storage {
namespace {

constexpr std::string_view component = "broker.log";
/// Reads go to disk in windows of at least this much (recovery scans use
/// the largest), so a run of small batches costs one pread, not one each.
constexpr uint64_t min_read_window = 64 * 1024;
constexpr uint64_t max_read_window = 4 * 1024 * 1024;

/// Sequential reads of [0, end) of a file through a window buffer.
class read_cursor {
  public:
    read_cursor(const fs::file& f, uint64_t end, uint64_t window)
        : _file(f), _end(end), _window(std::clamp(window, min_read_window, max_read_window)) {}

    /// The bytes [pos, pos + len), which must lie below end.
    result<std::string_view> bytes(uint64_t pos, uint64_t len) {
        if (pos < _buf_pos || pos + len > _buf_pos + _buf.size()) {
            _buf_pos = pos;
            _buf.resize(std::min(_end - pos, std::max(len, _window)));
            auto n = _file.read_at(pos, _buf);
            if (!n) {
                return n.error();
            }
            _buf.resize(*n);
            if (*n < len) {
                return error_info(errc::corrupt,
                                  fmt::format("{} at position {}: file ends after {} bytes, "
                                              "expected {}",
                                              _file.path(), pos, *n, len));
            }
        }
        return std::string_view(_buf).substr(pos - _buf_pos, len);
    }

  private:
    const fs::file& _file;
    uint64_t _end;
    uint64_t _window;
    uint64_t _buf_pos = 0;
    std::string _buf;
};

/// Why the batch framed by `h` cannot be one, with `remaining` bytes from its
/// start to the end of the segment; empty if it can.
std::string framing_problem(const kafka::record_batch_header& h, uint64_t remaining) {
    if (h.batch_length < kafka::record_batch_min_length) {
        return fmt::format("batchLength {} is shorter than a batch header", h.batch_length);
    }
    if (h.size_bytes() > remaining) {
        return fmt::format("batchLength {} runs past the end of the segment ({} bytes left)",
                           h.batch_length, remaining);
    }
    if (h.magic != kafka::record_batch_magic_v2) {
        return fmt::format("magic {}, want {}", h.magic, kafka::record_batch_magic_v2);
    }
    if (h.last_offset_delta < 0) {
        return fmt::format("lastOffsetDelta {} < 0", h.last_offset_delta);
    }
    return {};
}

/// Reads and frames the batch header at `pos`; errc::corrupt if it is not one.
result<kafka::record_batch_header> header_at(read_cursor& cur, const std::string& path,
                                             uint64_t pos, uint64_t end) {
    const uint64_t remaining = end - pos;
    if (remaining < kafka::record_batch_header_size) {
        return error_info(errc::corrupt,
                          fmt::format("{} at position {}: {} bytes left, less than a batch header",
                                      path, pos, remaining));
    }
    auto b = cur.bytes(pos, kafka::record_batch_header_size);
    if (!b) {
        return b.error();
    }
    kafka::record_batch_header h = kafka::decode_record_batch_header(*b);
    if (std::string why = framing_problem(h, remaining); !why.empty()) {
        return error_info(errc::corrupt, fmt::format("{} at position {}: {}", path, pos, why));
    }
    return h;
}

/// What a scan of a segment's log found.
struct scan_result {
    explicit scan_result(kafka_offset base) : index(base), next(base) {}
    segment_index index;
    kafka_offset next;       ///< the offset after the last valid batch
    uint64_t valid_end = 0;  ///< the end of the last valid batch
    int64_t first_timestamp = no_timestamp;
    std::string stop_reason;  ///< why it stopped before the end of the file (empty: it did not)
};

/// Scans the batches of [0, size) of `f`: framing, offsets continuing from
/// `base` (with `allow_gaps`, a cleaned segment's: at or after it), CRC-32C.
/// Stops at the first batch that fails (stop_reason says why) or at the
/// first whose last offset is >= stop_before. Only I/O failures are errors.
result<scan_result> scan_log(
    const fs::file& f, kafka_offset base, uint64_t size, uint64_t index_interval,
    kafka_offset stop_before = kafka_offset{std::numeric_limits<int64_t>::max()},
    bool allow_gaps = false) {
    scan_result s(base);
    read_cursor cur(f, size, max_read_window);
    uint64_t pos = 0;
    while (pos < size) {
        auto h = header_at(cur, f.path(), pos, size);
        if (!h) {
            if (h.code() != errc::corrupt) {
                return h.error();
            }
            s.stop_reason = h.error().detail;
            break;
        }
        if (allow_gaps ? base_of(*h) < s.next : base_of(*h) != s.next) {
            s.stop_reason = fmt::format("{} at position {}: baseOffset {}, want {}", f.path(), pos,
                                        h->base_offset, s.next);
            break;
        }
        if (last_of(*h) >= stop_before) {
            break;
        }
        auto b = cur.bytes(pos, h->size_bytes());
        if (!b) {
            return b.error();
        }
        if (const uint32_t crc = kafka::record_batch_crc(*b); crc != h->crc) {
            s.stop_reason = fmt::format("{} at position {}: crc {:#010x}, the batch gives {:#010x}",
                                        f.path(), pos, h->crc, crc);
            break;
        }
        s.index.add(pos, *h, index_interval);
        if (pos == 0) {
            s.first_timestamp = h->max_timestamp;
        }
        pos += h->size_bytes();
        s.next = last_of(*h) + 1;
    }
    s.valid_end = pos;
    return s;
}

}  // namespace

std::string segment_file_name(kafka_offset base, std::string_view ext) {
    return fmt::format("{:020d}{}", base.value(), ext);
}

bool parse_segment_file_name(std::string_view name, kafka_offset& base, std::string& ext) {
    if (name.size() < 21 || name[20] != '.') {
        return false;
    }
    std::string_view rest = name.substr(20);
    const std::string_view bare =
        rest.ends_with(tmp_ext) ? rest.substr(0, rest.size() - tmp_ext.size()) : rest;
    if (bare != log_ext && bare != offset_index_ext && bare != time_index_ext) {
        return false;
    }
    int64_t v = 0;
    const auto digits = name.substr(0, 20);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc{} || end != digits.data() + digits.size() || v < 0) {
        return false;
    }
    base = kafka_offset{v};
    ext = std::string(rest);
    return true;
}

segment::segment(fs::file_ops& fs, std::string dir, kafka_offset base, int64_t now_ms)
    : _fs(fs),
      _dir(std::move(dir)),
      _prefix(_dir + "/" + segment_file_name(base, "")),
      _log_path(_prefix + std::string(log_ext)),
      _base(base),
      _next(base),
      _index(base),
      _created_ms(now_ms) {}

segment::~segment() = default;

result<std::unique_ptr<segment>> segment::create(fs::file_ops& fs, const std::string& dir,
                                                 kafka_offset base, int64_t now_ms) {
    std::unique_ptr<segment> s(new segment(fs, dir, base, now_ms));
    auto f = fs.open(s->_log_path, fs::open_mode::create_new);
    if (!f) {
        return f.error();
    }
    s->_log = std::move(*f);
    if (auto r = fs.sync_dir(dir); !r) {
        return r.error();
    }
    return s;
}

result<std::unique_ptr<segment>> segment::open_sealed(fs::file_ops& fs, const std::string& dir,
                                                      kafka_offset base, kafka_offset next,
                                                      uint64_t index_interval, int64_t now_ms,
                                                      bool cleaned) {
    std::unique_ptr<segment> s(new segment(fs, dir, base, now_ms));
    s->_cleaned = cleaned;
    auto f = fs.open(s->_log_path, fs::open_mode::existing);
    if (!f) {
        return f.error();
    }
    s->_log = std::move(*f);
    auto size = s->_log->size();
    if (!size) {
        return size.error();
    }
    s->_size = *size;
    s->_next = next;

    // A sealed segment is never empty, and its indexes were synced with it.
    // If they are gone or do not fit, the log is the truth: rebuild them.
    auto load = [&]() -> result<segment_index> {
        if (s->_size == 0) {
            return {errc::corrupt, fmt::format("{}: a sealed segment is empty", s->_log_path)};
        }
        std::string files[2];
        const std::string_view exts[2] = {offset_index_ext, time_index_ext};
        for (int i = 0; i < 2; ++i) {
            auto r = fs.read_file(s->_prefix + std::string(exts[i]));
            if (!r) {
                return r.error();
            }
            files[i] = std::move(*r);
        }
        return segment_index::decode(files[0], files[1], base, next, s->_size, s->_prefix);
    };
    auto loaded = load();
    if (loaded) {
        s->_index = std::move(*loaded);
        return s;
    }
    log(log_level::warn, component, "rebuilding the indexes of {}: {}", s->_log_path,
        loaded.error().message());
    auto scan = scan_log(*s->_log, base, s->_size, index_interval,
                         kafka_offset{std::numeric_limits<int64_t>::max()}, cleaned);
    if (!scan) {
        return scan.error();
    }
    if (!scan->stop_reason.empty()) {
        return error_info(errc::corrupt, scan->stop_reason);
    }
    // Compaction leaves a cleaned segment ending at or before its
    // successor's base; anything else must end exactly there.
    if (cleaned ? scan->next > next : scan->next != next) {
        return error_info(errc::corrupt,
                          fmt::format("{} at position {}: the segment ends at offset {}, but the "
                                      "next one starts at {}",
                                      s->_log_path, s->_size, scan->next, next));
    }
    scan->index.finish();
    s->_index = std::move(scan->index);
    s->_first_timestamp = scan->first_timestamp;
    if (auto r = s->write_atomically(offset_index_ext, s->_index.encode_offsets()); !r) {
        return r.error();
    }
    if (auto r = s->write_atomically(time_index_ext, s->_index.encode_times()); !r) {
        return r.error();
    }
    return s;
}

result<std::unique_ptr<segment>> segment::recover(fs::file_ops& fs, const std::string& dir,
                                                  kafka_offset base, uint64_t index_interval,
                                                  int64_t now_ms, bool cleaned) {
    std::unique_ptr<segment> s(new segment(fs, dir, base, now_ms));
    s->_cleaned = cleaned;
    auto f = fs.open(s->_log_path, fs::open_mode::existing);
    if (!f) {
        return f.error();
    }
    s->_log = std::move(*f);
    auto size = s->_log->size();
    if (!size) {
        return size.error();
    }
    auto scan = scan_log(*s->_log, base, *size, index_interval,
                         kafka_offset{std::numeric_limits<int64_t>::max()}, cleaned);
    if (!scan) {
        return scan.error();
    }
    if (scan->valid_end < *size) {
        // A crash leaves the unsynced tail of the last segment in any state:
        // cut, zero-filled, or partly written. Whatever does not verify is
        // dropped, with everything after it.
        log(log_level::warn, component, "truncating {} from {} to {} bytes (offsets from {}): {}",
            s->_log_path, *size, scan->valid_end, scan->next, scan->stop_reason);
        if (auto r = s->_log->truncate(scan->valid_end); !r) {
            return r.error();
        }
        if (auto r = s->_log->sync(); !r) {
            return r.error();
        }
    } else if (auto r = s->_log->datasync(); !r) {
        // What survived may still be only in the page cache (a process
        // crash); after open it is durable, so flushed_offset() is the end.
        return r.error();
    }
    s->_size = scan->valid_end;
    s->_next = scan->next;
    s->_index = std::move(scan->index);
    s->_first_timestamp = scan->first_timestamp;
    return s;
}

int64_t segment::age_ms(int64_t now_ms, int64_t batch_max_timestamp) const {
    if (_first_timestamp >= 0) {
        return batch_max_timestamp - _first_timestamp;
    }
    return now_ms - _created_ms;
}

result<void> segment::append(std::string_view batch, const kafka::record_batch_header& h,
                             uint64_t index_interval) {
    if (auto r = _log->write_at(_size, batch); !r) {
        return r;
    }
    _dirty = true;
    _index.add(_size, h, index_interval);
    if (_size == 0) {
        _first_timestamp = h.max_timestamp;
    }
    _size += batch.size();
    _next = last_of(h) + 1;
    return ok();
}

result<void> segment::flush() {
    if (!_dirty) {
        return ok();
    }
    if (auto r = _log->datasync(); !r) {
        return r;
    }
    _dirty = false;
    return ok();
}

result<void> segment::seal() {
    _index.finish();
    const std::pair<std::string_view, std::string> files[2] = {
        {offset_index_ext, _index.encode_offsets()}, {time_index_ext, _index.encode_times()}};
    // Written in place: until the successor exists this is the last segment,
    // whose index files recovery never reads.
    for (const auto& [ext, data] : files) {
        auto f = _fs.open(_prefix + std::string(ext), fs::open_mode::create_or_truncate);
        if (!f) {
            return f.error();
        }
        if (auto r = (*f)->write_at(0, data); !r) {
            return r;
        }
        if (auto r = (*f)->datasync(); !r) {
            return r;
        }
    }
    if (auto r = _log->datasync(); !r) {
        return r;
    }
    _dirty = false;
    return ok();
}

result<void> segment::truncate_before(kafka_offset o, uint64_t index_interval) {
    auto scan = scan_log(*_log, _base, _size, index_interval, o, _cleaned);
    if (!scan) {
        return scan.error();
    }
    if (!scan->stop_reason.empty()) {
        return error_info(errc::corrupt, scan->stop_reason);
    }
    if (auto r = _log->truncate(scan->valid_end); !r) {
        return r;
    }
    if (auto r = _log->sync(); !r) {
        return r;
    }
    _dirty = false;
    _size = scan->valid_end;
    _next = scan->next;
    _index = std::move(scan->index);
    _first_timestamp = scan->first_timestamp;
    return ok();
}

result<kafka_offset> segment::end_if_truncated_before(kafka_offset o,
                                                      uint64_t index_interval) const {
    auto scan = scan_log(*_log, _base, _size, index_interval, o, _cleaned);
    if (!scan) {
        return scan.error();
    }
    if (!scan->stop_reason.empty()) {
        return error_info(errc::corrupt, scan->stop_reason);
    }
    return scan->next;
}

result<void> segment::remove_files() {
    // The log first: a segment is its log, and index files left behind by a
    // crash are removed as orphans on open.
    _log.reset();
    if (auto r = _fs.remove(_log_path); !r) {
        return r;
    }
    for (const std::string_view ext : {offset_index_ext, time_index_ext}) {
        const std::string path = _prefix + std::string(ext);
        if (auto r = fs::remove_if_present(_fs, path); !r) {
            return r;
        }
    }
    return ok();
}

result<void> segment::write_atomically(std::string_view ext, std::string_view data) {
    return fs::replace_file(_fs, _dir, segment_file_name(_base, ext), {data});
}

bool segment::trust_index_hint(const result<kafka::record_batch_header>& h, uint64_t pos,
                               kafka_offset max_base) const {
    // Index files carry no checksum: an entry is a hint, followed only if a
    // batch of this segment starts where it points. Otherwise the caller
    // scans from the start.
    if (h ? base_of(*h) >= _base && base_of(*h) <= max_base && last_of(*h) < _next
          : h.code() != errc::corrupt) {
        return true;
    }
    log(log_level::warn, component,
        "{}: the index points at position {}, where no batch it names starts; scanning from "
        "the start",
        _log_path, pos);
    return false;
}

result<bool> segment::read(const read_request& r, fetch_slice& out) const {
    read_cursor cur(*_log, _size, r.max_bytes);
    uint64_t pos = _index.position_for(r.start);
    bool hinted = pos != 0;
    kafka_offset min_base = _base;
    while (pos < _size) {
        auto h = header_at(cur, _log_path, pos, _size);
        if (hinted) {
            hinted = false;
            // The indexed batch must hold offsets up to r.start.
            if (!trust_index_hint(h, pos, r.start)) {
                pos = 0;
                continue;
            }
        }
        if (h && (base_of(*h) < min_base || last_of(*h) >= _next)) {
            h = error_info(
                errc::corrupt,
                fmt::format("{} at position {}: offsets [{}, {}] outside [{}, {})", _log_path, pos,
                            h->base_offset, last_of(*h), min_base, _next));
        }
        if (!h) {
            if (h.code() == errc::corrupt && out.batches > 0) {
                log(log_level::error, component, "read stops short: {}", h.error().detail);
                return true;
            }
            return h.error();
        }
        const uint64_t n = h->size_bytes();
        min_base = last_of(*h) + 1;
        if (last_of(*h) < r.start) {
            pos += n;
            continue;
        }
        if (last_of(*h) >= r.max_offset) {
            return true;
        }
        const bool first = out.batches == 0;
        const bool over =
            first ? (!r.min_one_batch && n > r.max_bytes) : (out.bytes.size() + n > r.max_bytes);
        if (over) {
            return true;
        }
        auto b = cur.bytes(pos, n);
        if (!b) {
            return b.error();
        }
        if (const uint32_t crc = kafka::record_batch_crc(*b); crc != h->crc) {
            const std::string why = fmt::format(
                "{} at position {}: crc {:#010x}, the batch gives "
                "{:#010x}",
                _log_path, pos, h->crc, crc);
            if (first) {
                return error_info(errc::corrupt, why);
            }
            log(log_level::error, component, "read stops short: {}", why);
            return true;
        }
        out.bytes.append(*b);
        if (first) {
            out.first_offset = base_of(*h);
        }
        out.next_offset = last_of(*h) + 1;
        ++out.batches;
        pos += n;
    }
    return false;
}

result<std::optional<timestamp_offset>> segment::find_timestamp(int64_t ts, kafka_offset max_offset,
                                                                kafka_offset min_offset) const {
    read_cursor cur(*_log, _size, min_read_window);
    uint64_t pos = _index.position_for_timestamp(ts);
    bool hinted = pos != 0;
    while (pos < _size) {
        auto h = header_at(cur, _log_path, pos, _size);
        if (hinted) {
            hinted = false;
            if (!trust_index_hint(h, pos, _next)) {
                pos = 0;
                continue;
            }
        }
        if (!h) {
            return h.error();
        }
        if (last_of(*h) >= max_offset) {
            return std::optional<timestamp_offset>();
        }
        if (h->max_timestamp >= ts && last_of(*h) >= min_offset) {
            // The answer is only as good as the header: verify it.
            auto b = cur.bytes(pos, h->size_bytes());
            if (!b) {
                return b.error();
            }
            if (kafka::record_batch_crc(*b) != h->crc) {
                return error_info(errc::corrupt,
                                  fmt::format("{} at position {}: crc mismatch", _log_path, pos));
            }
            return std::optional<timestamp_offset>(timestamp_offset{base_of(*h), h->max_timestamp});
        }
        pos += h->size_bytes();
    }
    return std::optional<timestamp_offset>();
}

}  // namespace fjord::broker::storage
