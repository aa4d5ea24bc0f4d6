// File: broker/tiered/segment_cache.cc
//
// The read side's segment cache and its download (segment_cache.h).

#include "broker/tiered/segment_cache.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "broker/storage/errc.h"
#include "broker/storage/segment_index.h"
#include "common/crc32c.h"
#include "common/kafka/record_batch.h"
#include "common/log.h"
#include "common/objstore/errc.h"
#include "common/tiered/layout.h"

namespace fjord::broker::tiered_read {
namespace {

namespace stdfs = std::filesystem;
namespace layout = ::fjord::tiered;

constexpr const char* component = "tiered";
constexpr std::string_view part_suffix = ".part";
constexpr std::string_view del_suffix = ".del";
/// Index density of cached segments: Kafka's index.interval.bytes default,
/// as the local logs use.
constexpr uint64_t index_interval = 4096;

template <typename T>
bool parse_number(std::string_view s, T& out, int base = 10) {
    if (s.empty()) {
        return false;
    }
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return ec == std::errc{} && end == s.data() + s.size();
}

error_info corrupt_download(const segment_ref& ref, std::string_view why) {
    return error_info(objstore::errc::corrupt, fmt::format("{}: {}", ref.key(), why));
}

/// Removes a directory tree; false (logged) if it could not.
bool remove_tree(const std::string& path) {
    std::error_code ec;
    stdfs::remove_all(path, ec);
    if (ec) {
        log(log_level::warn, component, "cannot remove {}: {}", path, ec.message());
        return false;
    }
    return true;
}

/// Checks batches as the download streams them in: framing and CRC
/// (parse_record_batch), offsets increasing and within the manifest's
/// range; feeds the segment's index.
class batch_checker {
  public:
    explicit batch_checker(const segment_ref& ref)
        : _ref(ref), _index(kafka_offset{ref.meta.base_offset}), _next(ref.meta.base_offset) {}

    /// Takes the next bytes of the object; checks every batch completed by them.
    result<void> feed(std::string_view bytes) {
        _pending.append(bytes);
        size_t at = 0;
        while (_pending.size() - at >= kafka::record_batch_length_prefix) {
            const std::string_view rest = std::string_view(_pending).substr(at);
            const int32_t len =
                static_cast<int32_t>((static_cast<uint32_t>(static_cast<uint8_t>(rest[8])) << 24) |
                                     (static_cast<uint32_t>(static_cast<uint8_t>(rest[9])) << 16) |
                                     (static_cast<uint32_t>(static_cast<uint8_t>(rest[10])) << 8) |
                                     static_cast<uint32_t>(static_cast<uint8_t>(rest[11])));
            if (len < kafka::record_batch_min_length) {
                return bad(fmt::format("batchLength {} below the header's", len));
            }
            const uint64_t size = kafka::record_batch_length_prefix + static_cast<uint64_t>(len);
            if (_pos + size > _ref.meta.size) {
                return bad(fmt::format("a batch of {} bytes runs past the object's end", size));
            }
            if (rest.size() < size) {
                break;  // the rest of it comes with the next chunk
            }
            auto v = kafka::parse_record_batch(rest.substr(0, size));
            if (!v) {
                return bad(v.error().detail);
            }
            const kafka::record_batch_header& h = v->header;
            if (h.last_offset_delta < 0 || h.base_offset < _next ||
                h.last_offset() > _ref.meta.last_offset) {
                return bad(fmt::format("offsets [{}, {}] where [{}, {}] was expected",
                                       h.base_offset, h.last_offset(), _next,
                                       _ref.meta.last_offset));
            }
            _index.add(_pos, h, index_interval);
            _next = h.last_offset() + 1;
            _pos += size;
            ++_batches;
            at += size;
        }
        _pending.erase(0, at);
        return ok();
    }

    /// After the last byte: nothing left over, and the last batch ends where
    /// the manifest says.
    result<void> finish() {
        if (!_pending.empty()) {
            return bad(fmt::format("{} bytes of an incomplete batch at the end", _pending.size()));
        }
        if (_batches == 0 || _next != _ref.meta.last_offset + 1) {
            return bad(fmt::format("the batches end at offset {}, the manifest says {}", _next - 1,
                                   _ref.meta.last_offset));
        }
        _index.finish();
        return ok();
    }

    const storage::segment_index& index() const { return _index; }

  private:
    error_info bad(std::string_view why) const {
        return corrupt_download(_ref, fmt::format("at position {}: {}", _pos, why));
    }

    const segment_ref& _ref;
    storage::segment_index _index;
    std::string _pending;
    uint64_t _pos = 0;  ///< object position of _pending's first byte
    int64_t _next;      ///< the lowest base offset the next batch may have
    size_t _batches = 0;
};

/// One attempt: the object into `part_dir`, checked, indexes written and
/// everything synced. objstore::errc::corrupt when the bytes fail a check.
result<void> download_once(objstore::object_store& store, fs::file_ops& fs,
                           const std::string& part_dir, const segment_ref& ref,
                           uint64_t chunk_bytes, download_outcome& outcome,
                           const std::atomic<bool>* stop) {
    const std::string key = ref.key();
    const uint64_t size = ref.meta.size;
    const kafka_offset base{ref.meta.base_offset};
    auto file = fs.open(part_dir + "/" + storage::segment_file_name(base, storage::log_ext),
                        fs::open_mode::create_or_truncate);
    if (!file) {
        return file.error();
    }
    batch_checker checker(ref);
    uint32_t crc = 0;
    uint64_t pos = 0;
    auto take = [&](std::string_view bytes) -> result<void> {
        outcome.bytes += bytes.size();
        crc = crc32c_extend(crc, bytes.data(), bytes.size());
        if (auto w = (*file)->write_at(pos, bytes); !w) {
            return w;
        }
        pos += bytes.size();
        return checker.feed(bytes);
    };
    if (size <= chunk_bytes) {
        // One request; its length is checked against the manifest's.
        auto got = store.get(key);
        if (!got) {
            return got.error();
        }
        if (got->size() != size) {
            return corrupt_download(
                ref, fmt::format("{} bytes, the manifest says {}", got->size(), size));
        }
        if (auto t = take(*got); !t) {
            return t;
        }
    } else {
        // By ranges: the object's length first (a longer object would
        // otherwise go unnoticed), then each range (whose length the store
        // checks).
        auto head = store.head(key);
        if (!head) {
            return head.error();
        }
        if (head->size != size) {
            return corrupt_download(
                ref, fmt::format("{} bytes, the manifest says {}", head->size, size));
        }
        while (pos < size) {
            if (stop != nullptr && stop->load()) {
                return error_info(std::make_error_code(std::errc::operation_canceled),
                                  fmt::format("download {}: the broker is stopping", key));
            }
            const uint64_t last = std::min(size, pos + chunk_bytes) - 1;
            auto got = store.get(key, objstore::byte_range{pos, last});
            if (!got) {
                return got.error();
            }
            if (got->size() != last - pos + 1) {
                return corrupt_download(
                    ref, fmt::format("range [{}, {}] gave {} bytes", pos, last, got->size()));
            }
            if (auto t = take(*got); !t) {
                return t;
            }
        }
    }
    if (crc != ref.meta.crc32c) {
        return corrupt_download(
            ref, fmt::format("crc32c {:#010x}, the manifest says {:#010x}", crc, ref.meta.crc32c));
    }
    if (auto f = checker.finish(); !f) {
        return f;
    }
    if (auto s = (*file)->datasync(); !s) {
        return s;
    }
    const std::string prefix = storage::segment_file_name(base, "");
    if (auto w = fs::replace_file(fs, part_dir, prefix + std::string(storage::offset_index_ext),
                                  {checker.index().encode_offsets()});
        !w) {
        return w;
    }
    return fs::replace_file(fs, part_dir, prefix + std::string(storage::time_index_ext),
                            {checker.index().encode_times()});
}

}  // namespace

std::string segment_ref::key() const {
    return layout::segment_key(location, partition, meta.name);
}

result<std::string> segment_ref::entry_name() const {
    auto parts = layout::parse_location(location);
    if (!parts) {
        return parts.error();
    }
    return fmt::format("{}_{}_{}_{:020}-{:020}-{}_{:08x}_{}", parts->cluster_uuid,
                       parts->topic_uuid, partition, meta.base_offset, meta.last_offset, meta.epoch,
                       meta.crc32c, meta.size);
}

std::optional<entry_name_parts> parse_entry_name(std::string_view name) {
    std::vector<std::string_view> f;
    size_t from = 0;
    while (true) {
        const size_t us = name.find('_', from);
        f.push_back(name.substr(from, us == std::string_view::npos ? us : us - from));
        if (us == std::string_view::npos) {
            break;
        }
        from = us + 1;
    }
    if (f.size() != 6 || f[0].size() != 36 || f[1].size() != 36) {
        return std::nullopt;
    }
    int32_t partition = 0;
    uint32_t crc = 0;
    entry_name_parts p;
    const std::string_view seg = f[3];
    const size_t d1 = seg.find('-');
    const size_t d2 = d1 == std::string_view::npos ? d1 : seg.find('-', d1 + 1);
    int64_t epoch = 0;
    if (!parse_number(f[2], partition) || partition < 0 || d2 == std::string_view::npos ||
        !parse_number(seg.substr(0, d1), p.base_offset) ||
        !parse_number(seg.substr(d1 + 1, d2 - d1 - 1), p.last_offset) ||
        !parse_number(seg.substr(d2 + 1), epoch) || !parse_number(f[4], crc, 16) ||
        !parse_number(f[5], p.size) || p.base_offset < 0 || p.last_offset < p.base_offset) {
        return std::nullopt;
    }
    return p;
}

uint64_t entry_disk_bytes(const std::string& entry_dir) {
    uint64_t n = 0;
    std::error_code ec;
    for (const auto& e : stdfs::directory_iterator(entry_dir, ec)) {
        std::error_code fec;
        if (e.is_regular_file(fec)) {
            const auto s = e.file_size(fec);
            n += fec ? 0 : s;
        }
    }
    return n;
}

result<std::unique_ptr<storage::segment>> download_segment(
    objstore::object_store& store, fs::file_ops& fs, const std::string& cache_dir,
    const segment_ref& ref, uint64_t chunk_bytes, uint32_t corrupt_retries,
    download_outcome& outcome, const std::atomic<bool>* stop) {
    auto name = ref.entry_name();
    if (!name) {
        return name.error();
    }
    constexpr auto max32 = std::numeric_limits<int32_t>::max();
    if (ref.meta.size == 0 || ref.meta.size > static_cast<uint64_t>(max32) ||
        ref.meta.last_offset - ref.meta.base_offset > max32) {
        // A segment is never empty, and its index entries are 32-bit.
        return corrupt_download(
            ref, fmt::format("the manifest gives it {} bytes and offsets "
                             "[{}, {}]",
                             ref.meta.size, ref.meta.base_offset, ref.meta.last_offset));
    }
    if (auto k = objstore::check_key(ref.key()); !k) {
        return k.error();
    }
    const std::string part = cache_dir + "/" + *name + std::string(part_suffix);
    const std::string final_dir = cache_dir + "/" + *name;
    for (uint32_t attempt = 0;; ++attempt) {
        ++outcome.attempts;
        remove_tree(part);
        if (auto d = fs.make_dir(part); !d) {
            return d.error();
        }
        auto r =
            download_once(store, fs, part, ref, std::max<uint64_t>(chunk_bytes, 1), outcome, stop);
        if (r) {
            break;
        }
        remove_tree(part);
        if (r.code() != objstore::errc::corrupt) {
            return r.error();
        }
        ++outcome.corrupt;
        log(log_level::warn, component, "download {} (attempt {}): {}; never served{}", ref.key(),
            attempt + 1, r.error().detail,
            attempt < corrupt_retries ? ", downloading it again" : "");
        if (attempt >= corrupt_retries) {
            return r.error();
        }
    }
    // Into place: only a whole, verified segment ever carries the entry's name.
    remove_tree(final_dir);
    if (auto mv = fs.rename(part, final_dir); !mv) {
        remove_tree(part);
        return mv.error();
    }
    if (auto s = fs.sync_dir(cache_dir); !s) {
        return s.error();
    }
    return storage::segment::open_sealed(fs, final_dir, kafka_offset{ref.meta.base_offset},
                                         kafka_offset{ref.meta.last_offset + 1}, index_interval, 0,
                                         /*cleaned=*/true);
}

// --- segment_cache ---------------------------------------------------------

segment_cache::segment_cache(std::string dir, uint64_t limit, std::shared_ptr<fs::file_ops> fs)
    : _dir(std::move(dir)), _limit(limit), _fs(std::move(fs)) {}

segment_cache::~segment_cache() = default;

result<std::unique_ptr<segment_cache>> segment_cache::open(std::string dir, uint64_t limit_bytes,
                                                           std::shared_ptr<fs::file_ops> fs) {
    if (!fs) {
        fs = fs::posix_file_ops(make_error_code(storage::errc::io_error));
    }
    std::unique_ptr<segment_cache> c(new segment_cache(std::move(dir), limit_bytes, std::move(fs)));
    if (auto r = c->recover(); !r) {
        return r.error();
    }
    return c;
}

result<void> segment_cache::recover() {
    if (auto d = _fs->make_dir(_dir); !d) {
        return d;
    }
    auto names = _fs->list_dir(_dir);
    if (!names) {
        return names.error();
    }
    struct found {
        std::string name;
        stdfs::file_time_type mtime;
        entry_name_parts parts;
    };
    std::vector<found> keep;
    for (const auto& n : *names) {
        const std::string path = _dir + "/" + n;
        auto parts = parse_entry_name(n);
        std::error_code ec;
        const bool is_dir = stdfs::is_directory(path, ec);
        const std::string log_path =
            path + "/" +
            storage::segment_file_name(kafka_offset{parts ? parts->base_offset : 0},
                                       storage::log_ext);
        const auto log_size = parts && is_dir ? stdfs::file_size(log_path, ec) : 0;
        if (!parts || !is_dir || ec || log_size != parts->size) {
            // A download or eviction a crash interrupted (*.part, *.del), or
            // something that is not a whole entry: never served.
            log(n.ends_with(part_suffix) || n.ends_with(del_suffix) ? log_level::info
                                                                    : log_level::warn,
                component, "cloud cache: removing {} (not a whole cached segment)", path);
            if (is_dir) {
                remove_tree(path);
            } else {
                (void)fs::remove_if_present(*_fs, path);
            }
            ++_discarded;
            continue;
        }
        const auto mtime = stdfs::last_write_time(log_path, ec);
        keep.push_back({n, ec ? stdfs::file_time_type::min() : mtime, *parts});
    }
    (void)_fs->sync_dir(_dir);
    std::sort(keep.begin(), keep.end(),
              [](const found& a, const found& b) { return a.mtime < b.mtime; });
    for (const auto& f : keep) {
        entry e;
        e.name = f.name;
        e.bytes = entry_disk_bytes(_dir + "/" + f.name);
        e.base = kafka_offset{f.parts.base_offset};
        e.next = kafka_offset{f.parts.last_offset + 1};
        e.lru = _lru.insert(_lru.end(), f.name);
        _used += e.bytes;
        _entries.emplace(f.name, std::move(e));
        ++_recovered;
    }
    make_room(0);
    if (_recovered > 0 || _discarded > 0) {
        log(log_level::info, component,
            "cloud cache {}: {} cached segments kept ({} bytes), {} leftovers removed", _dir,
            _entries.size(), _used, _discarded);
    }
    return ok();
}

result<storage::segment*> segment_cache::find(const std::string& name, int64_t now_ms) {
    auto it = _entries.find(name);
    if (it == _entries.end()) {
        return static_cast<storage::segment*>(nullptr);
    }
    entry& e = it->second;
    if (!e.seg) {
        auto s = storage::segment::open_sealed(*_fs, _dir + "/" + name, e.base, e.next,
                                               index_interval, now_ms, /*cleaned=*/true);
        if (!s) {
            log(log_level::warn, component, "cloud cache: dropping {}: {}", name, s.error().detail);
            drop(name, false);
            return s.error();
        }
        e.seg = std::move(*s);
        ++_open;
    }
    touch(e);
    storage::segment* seg = e.seg.get();
    bound_open_files();
    return seg;
}

void segment_cache::insert(const std::string& name, std::unique_ptr<storage::segment> seg) {
    if (auto old = _entries.find(name); old != _entries.end()) {
        // Not expected (one download per entry at a time), and harmless: the
        // files on disk are the new download's; only the record is replaced.
        if (old->second.seg) {
            --_open;
        }
        _lru.erase(old->second.lru);
        _used -= std::min(_used, old->second.bytes);
        _entries.erase(old);
    }
    entry e;
    e.name = name;
    e.bytes = entry_disk_bytes(_dir + "/" + name);
    e.base = seg->base();
    e.next = seg->next();
    e.seg = std::move(seg);
    ++_open;
    e.lru = _lru.insert(_lru.end(), name);
    _used += e.bytes;
    _entries.emplace(name, std::move(e));
    make_room(0, /*keep_newest=*/true);
    bound_open_files();
}

void segment_cache::remove(const std::string& name) {
    if (_entries.count(name) > 0) {
        drop(name, false);
    }
}

void segment_cache::reserve(uint64_t bytes) {
    make_room(bytes);
    _reserved += bytes;
}

void segment_cache::release(uint64_t bytes) {
    _reserved -= std::min(_reserved, bytes);
}

void segment_cache::set_limit(uint64_t limit_bytes) {
    _limit = limit_bytes;
    make_room(0);
}

void segment_cache::make_room(uint64_t extra, bool keep_newest) {
    while (_lru.size() > (keep_newest ? 1u : 0u) && _used + _reserved + extra > _limit) {
        drop(_lru.front(), true);
    }
}

void segment_cache::drop(std::string name, bool evicted) {
    auto it = _entries.find(name);
    if (it == _entries.end()) {
        return;
    }
    entry& e = it->second;
    if (e.seg) {
        e.seg.reset();
        --_open;
    }
    _lru.erase(e.lru);
    _used -= std::min(_used, e.bytes);
    _entries.erase(it);
    if (evicted) {
        ++_evictions;
    }
    // Renamed first, so that a crash never leaves a partial entry under
    // the entry's name; open() removes a leftover *.del.
    const std::string path = _dir + "/" + name;
    const std::string gone = path + std::string(del_suffix);
    if (auto mv = _fs->rename(path, gone); !mv) {
        log(log_level::warn, component, "cloud cache: {}", mv.error().detail);
        remove_tree(path);
        return;
    }
    remove_tree(gone);
}

void segment_cache::touch(entry& e) {
    _lru.splice(_lru.end(), _lru, e.lru);
}

void segment_cache::bound_open_files() {
    for (auto it = _lru.begin(); _open > max_open_segments && it != _lru.end(); ++it) {
        entry& e = _entries.at(*it);
        if (e.seg) {
            e.seg.reset();
            --_open;
        }
    }
}

}  // namespace fjord::broker::tiered_read
