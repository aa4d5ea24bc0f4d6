// File: broker/storage/compactor.cc
//
// The pieces of log compaction (compactor.h): the checkpoint, the recovery of
// an interrupted swap, record filtering and the cleaned segment's files.

#include "broker/storage/compactor.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "broker/storage/errc.h"
#include "broker/storage/segment.h"
#include "common/data_dir.h"
#include "common/kafka/compression.h"
#include "common/kafka/record_batch.h"
#include "common/log.h"

namespace fjord::broker::storage {
namespace {

constexpr std::string_view component = "broker.log";
constexpr size_t max_checkpoint_bytes = 16 * 1024;
/// At most this many cleaned_at entries: the oldest are merged beyond it.
constexpr size_t max_cleaned_at = 64;
/// A cleaned segment's log is written in chunks of about this size.
constexpr size_t write_chunk = 1 << 20;
/// Decompressed records of one batch the cleaner holds at most; a batch
/// beyond it is kept whole (record_validator bounds what producers send
/// well below this).
constexpr size_t max_decompressed = size_t{256} << 20;
constexpr std::string_view segment_exts[3] = {log_ext, offset_index_ext, time_index_ext};

std::string checkpoint_path(const std::string& dir, std::string_view suffix = {}) {
    return dir + "/" + std::string(cleaner_checkpoint_name) + std::string(suffix);
}

std::string segment_path(const std::string& dir, kafka_offset base, std::string_view ext,
                         std::string_view suffix = {}) {
    return dir + "/" + segment_file_name(base, ext) + std::string(suffix);
}

/// Kafka's zigzag varint (up to 10 bytes), consumed from the front of `in`.
bool read_varlong(std::string_view& in, int64_t& out) {
    uint64_t raw = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (in.empty()) {
            return false;
        }
        const auto b = static_cast<uint8_t>(in.front());
        in.remove_prefix(1);
        raw |= static_cast<uint64_t>(b & 0x7Fu) << shift;
        if ((b & 0x80u) == 0) {
            out = static_cast<int64_t>(raw >> 1) ^ -static_cast<int64_t>(raw & 1);
            return true;
        }
    }
    return false;
}

bool parse_i64(std::string_view s, int64_t& out) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

error_info corrupt(const std::string& path, std::string_view why) {
    return {errc::corrupt, fmt::format("{}: {}", path, why)};
}

/// Walks the records in `records` (uncompressed), `count` of them, of a
/// batch with base offset `base` and lastOffsetDelta `last_delta`.
std::optional<std::vector<record_ref>> walk_records(std::string_view records, int64_t count,
                                                    int64_t base, int64_t last_delta) {
    std::vector<record_ref> out;
    out.reserve(static_cast<size_t>(std::min<int64_t>(count, 4096)));
    int64_t prev_delta = -1;
    for (int64_t i = 0; i < count; ++i) {
        std::string_view in = records;
        int64_t length = 0;
        if (!read_varlong(in, length) || length < 0 || static_cast<uint64_t>(length) > in.size()) {
            return std::nullopt;
        }
        const size_t prefix = records.size() - in.size();
        std::string_view body = in.substr(0, static_cast<size_t>(length));
        int64_t ts_delta = 0;
        int64_t offset_delta = 0;
        int64_t key_length = 0;
        if (body.empty()) {
            return std::nullopt;
        }
        body.remove_prefix(1);  // attributes
        if (!read_varlong(body, ts_delta) || !read_varlong(body, offset_delta) ||
            offset_delta <= prev_delta || offset_delta > last_delta ||
            !read_varlong(body, key_length) || key_length < -1 ||
            key_length > static_cast<int64_t>(body.size())) {
            return std::nullopt;
        }
        record_ref r;
        if (key_length >= 0) {
            r.key = body.substr(0, static_cast<size_t>(key_length));
            body.remove_prefix(static_cast<size_t>(key_length));
        }
        int64_t value_length = 0;
        if (!read_varlong(body, value_length) || value_length < -1 ||
            value_length > static_cast<int64_t>(body.size())) {
            return std::nullopt;
        }
        r.tombstone = value_length < 0;
        r.offset = base + offset_delta;
        r.bytes = records.substr(0, prefix + static_cast<size_t>(length));
        prev_delta = offset_delta;
        records.remove_prefix(r.bytes.size());
        out.push_back(r);
    }
    if (!records.empty()) {
        return std::nullopt;
    }
    return out;
}

/// The records of `batch`, decompressed into `storage` if need be; nullopt
/// for an opaque batch.
std::optional<std::vector<record_ref>> records_of(std::string_view batch, std::string& storage) {
    if (batch.size() < kafka::record_batch_header_size) {
        return std::nullopt;
    }
    const kafka::record_batch_header h = kafka::decode_record_batch_header(batch);
    if (h.is_control() || h.is_transactional() || h.record_count < 0 ||
        h.size_bytes() != batch.size()) {
        return std::nullopt;
    }
    std::string_view records = batch.substr(kafka::record_batch_header_size);
    if (h.compression() != kafka::compression_codec::none) {
        auto plain = kafka::decompress(h.compression(), records, max_decompressed);
        if (!plain) {
            return std::nullopt;
        }
        storage = std::move(*plain);
        records = storage;
    }
    return walk_records(records, h.record_count, h.base_offset, h.last_offset_delta);
}

/// Removes the old segments' files (log first, a segment is its log) and
/// puts the output's .swap files in place, then the checkpoint: steps 4-6
/// of commit_swap, and what recovery redoes.
result<void> finish_swap(fs::file_ops& fs, const std::string& dir, const cleaner_checkpoint& after,
                         const std::set<int64_t>& old_bases) {
    for (const int64_t b : old_bases) {
        if (b == after.swap_output) {
            continue;
        }
        for (const std::string_view ext : segment_exts) {
            const std::string path = segment_path(dir, kafka_offset{b}, ext);
            if (auto r = fs::remove_if_present(fs, path); !r) {
                return r;
            }
        }
    }
    if (after.swap_output >= 0) {
        const kafka_offset out{after.swap_output};
        for (const std::string_view ext : segment_exts) {
            const std::string swap = segment_path(dir, out, ext, swap_ext);
            auto present = fs.exists(swap);
            if (!present) {
                return present.error();
            }
            if (*present) {
                if (auto r = fs.rename(swap, segment_path(dir, out, ext)); !r) {
                    return r;
                }
            }
        }
    }
    if (auto r = fs.sync_dir(dir); !r) {
        return r;
    }
    if (auto r = fs.rename(checkpoint_path(dir, swap_ext), checkpoint_path(dir)); !r) {
        return r;
    }
    return fs.sync_dir(dir);
}

result<void> write_synced(fs::file_ops& fs, const std::string& path, std::string_view data) {
    auto f = fs.open(path, fs::open_mode::create_or_truncate);
    if (!f) {
        return f.error();
    }
    if (auto r = (*f)->write_at(0, data); !r) {
        return r;
    }
    return (*f)->datasync();
}

}  // namespace

// --- the checkpoint -----------------------------------------------------------

std::optional<int64_t> cleaner_checkpoint::first_cleaned_ms(int64_t offset) const {
    for (const auto& [end, ms] : cleaned_at) {
        if (offset < end) {
            return ms;
        }
    }
    return std::nullopt;
}

void cleaner_checkpoint::record_pass(int64_t end, int64_t started_ms) {
    first_dirty = std::max(first_dirty, end);
    cleaned_through = std::max(cleaned_through, end);
    if (!cleaned_at.empty() && cleaned_at.back().first >= end) {
        return;
    }
    const int64_t ms =
        cleaned_at.empty() ? started_ms : std::max(started_ms, cleaned_at.back().second);
    cleaned_at.emplace_back(end, ms);
    while (cleaned_at.size() > max_cleaned_at) {
        // The two oldest ranges become one, with the later time: their
        // tombstones may stay longer, never go sooner.
        cleaned_at[1].second = std::max(cleaned_at[0].second, cleaned_at[1].second);
        cleaned_at.erase(cleaned_at.begin());
    }
}

void cleaner_checkpoint::clamp(int64_t end) {
    first_dirty = std::min(first_dirty, end);
    // Segments from the end on are new; the one holding the cut (base
    // below it) stays a cleaned one.
    cleaned_through = std::min(cleaned_through, end);
    for (size_t i = 0; i < cleaned_at.size(); ++i) {
        if (cleaned_at[i].first >= end) {
            cleaned_at[i].first = end;
            cleaned_at.resize(i + 1);
            break;
        }
    }
    if (cleaned_at.size() >= 2 &&
        cleaned_at.back().first == cleaned_at[cleaned_at.size() - 2].first) {
        cleaned_at.pop_back();
    }
}

std::string encode_cleaner_checkpoint(const cleaner_checkpoint& c) {
    std::string at;
    for (const auto& [end, ms] : c.cleaned_at) {
        at += fmt::format("{}{}@{}", at.empty() ? "" : ",", end, ms);
    }
    return encode_checked_kv(
        fmt::format("# The log cleaner's state (broker/storage/compactor.h). Do not edit.\n"
                    "format=1\n"
                    "first_dirty={}\n"
                    "cleaned_through={}\n"
                    "cleaned_at={}\n"
                    "swap={},{},{}\n",
                    c.first_dirty, c.cleaned_through, at, c.swap_from, c.swap_to, c.swap_output));
}

result<cleaner_checkpoint> decode_cleaner_checkpoint(std::string_view text,
                                                     const std::string& path) {
    auto pairs = decode_checked_kv(text, path, max_checkpoint_bytes);
    if (!pairs) {
        return error_info(errc::corrupt, pairs.error().detail);
    }
    cleaner_checkpoint c;
    std::set<std::string_view> seen;
    for (const auto& [key, value] : *pairs) {
        seen.insert(key);
        if (key == "format") {
            if (value != "1") {
                return corrupt(path, fmt::format("unsupported format {}", value));
            }
        } else if (key == "first_dirty" || key == "cleaned_through") {
            int64_t v = 0;
            if (!parse_i64(value, v) || v < 0) {
                return corrupt(path, fmt::format("bad {} \"{}\"", key, value));
            }
            (key == "first_dirty" ? c.first_dirty : c.cleaned_through) = v;
        } else if (key == "cleaned_at") {
            std::string_view rest = value;
            while (!rest.empty()) {
                const size_t comma = rest.find(',');
                const std::string_view item = rest.substr(0, comma);
                rest =
                    comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
                const size_t at = item.find('@');
                int64_t end = 0;
                int64_t ms = 0;
                if (at == std::string_view::npos || !parse_i64(item.substr(0, at), end) ||
                    !parse_i64(item.substr(at + 1), ms) ||
                    (!c.cleaned_at.empty() && end <= c.cleaned_at.back().first)) {
                    return corrupt(path, fmt::format("bad cleaned_at entry \"{}\"", item));
                }
                c.cleaned_at.emplace_back(end, ms);
            }
        } else if (key == "swap") {
            int64_t v[3] = {0, 0, 0};
            std::string_view rest = value;
            for (int i = 0; i < 3; ++i) {
                const size_t comma = rest.find(',');
                if ((i < 2) == (comma == std::string_view::npos) ||
                    !parse_i64(rest.substr(0, comma), v[i]) || v[i] < -1) {
                    return corrupt(path, fmt::format("bad swap \"{}\"", value));
                }
                rest =
                    comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
            }
            c.swap_from = v[0];
            c.swap_to = v[1];
            c.swap_output = v[2];
        }
    }
    for (const std::string_view key : {"format", "first_dirty", "cleaned_through", "swap"}) {
        if (seen.count(key) == 0) {
            return corrupt(path, fmt::format("no {} line", key));
        }
    }
    return c;
}

result<void> write_cleaner_checkpoint(fs::file_ops& fs, const std::string& dir,
                                      const cleaner_checkpoint& c) {
    const std::string tmp = checkpoint_path(dir, tmp_ext);
    if (auto r = write_synced(fs, tmp, encode_cleaner_checkpoint(c)); !r) {
        return r;
    }
    if (auto r = fs.rename(tmp, checkpoint_path(dir)); !r) {
        return r;
    }
    return fs.sync_dir(dir);
}

// --- recovery -----------------------------------------------------------------

result<cleaner_checkpoint> recover_compaction(fs::file_ops& fs, const std::string& dir) {
    auto names = fs.list_dir(dir);
    if (!names) {
        return names.error();
    }
    const std::string swap_name = std::string(cleaner_checkpoint_name) + std::string(swap_ext);
    if (std::find(names->begin(), names->end(), swap_name) != names->end()) {
        // Committed: finish it.
        const std::string path = dir + "/" + swap_name;
        auto text = fs.read_file(path);
        if (!text) {
            return text.error();
        }
        auto after = decode_cleaner_checkpoint(*text, path);
        if (!after) {
            return after.error();
        }
        if (after->swap_from < 0 || after->swap_to < after->swap_from) {
            return corrupt(path, "no swap in a .swap checkpoint");
        }
        std::set<int64_t> old_bases;
        for (const std::string& name : *names) {
            kafka_offset base;
            std::string ext;
            if (parse_segment_file_name(name, base, ext) && base.value() >= after->swap_from &&
                base.value() < after->swap_to) {
                old_bases.insert(base.value());
            }
        }
        log(log_level::info, component,
            "{}: finishing a compaction swap a crash interrupted (segments [{}, {}) -> {})", dir,
            after->swap_from, after->swap_to, after->swap_output);
        if (auto r = finish_swap(fs, dir, *after, old_bases); !r) {
            return r.error();
        }
        names = fs.list_dir(dir);
        if (!names) {
            return names.error();
        }
    }
    // An uncommitted pass (or group) and a checkpoint whose rename never
    // happened: never part of the log.
    bool removed = false;
    const std::string tmp_name = std::string(cleaner_checkpoint_name) + std::string(tmp_ext);
    for (const std::string& name : *names) {
        if (name.ends_with(cleaned_ext) || name.ends_with(swap_ext) || name == tmp_name) {
            log(log_level::info, component, "removing leftover {}/{}", dir, name);
            if (auto r = fs.remove(dir + "/" + name); !r) {
                return r.error();
            }
            removed = true;
        }
    }
    if (removed) {
        if (auto r = fs.sync_dir(dir); !r) {
            return r.error();
        }
    }
    const std::string path = checkpoint_path(dir);
    if (std::find(names->begin(), names->end(), std::string(cleaner_checkpoint_name)) ==
        names->end()) {
        return cleaner_checkpoint{};
    }
    auto text = fs.read_file(path);
    if (!text) {
        return text.error();
    }
    auto c = decode_cleaner_checkpoint(*text, path);
    if (!c) {
        // Nothing counts as clean (the next pass maps everything, tombstones
        // wait a full delete.retention.ms again), and any sealed segment may
        // have gaps.
        log(log_level::warn, component, "{}; the cleaner starts over", c.error().detail);
        cleaner_checkpoint conservative;
        conservative.cleaned_through = std::numeric_limits<int64_t>::max();
        return conservative;
    }
    return c;
}

// --- records ------------------------------------------------------------------

size_t offset_map::find(std::string_view key, uint64_t hash) const {
    const size_t mask = _slots.size() - 1;
    const auto tag = static_cast<uint32_t>(hash >> 32);
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const slot& s = _slots[i];
        if (s.offset < 0 || (s.tag == tag && s.key_size == key.size() &&
                             std::string_view(_keys).substr(s.key_at, s.key_size) == key)) {
            return i;
        }
    }
}

void offset_map::grow() {
    std::vector<slot> old(std::max<size_t>(1024, _slots.size() * 2));
    old.swap(_slots);
    const size_t mask = _slots.size() - 1;
    for (const slot& s : old) {
        if (s.offset >= 0) {
            const uint64_t hash =
                std::hash<std::string_view>{}(std::string_view(_keys).substr(s.key_at, s.key_size));
            size_t i = hash & mask;
            while (_slots[i].offset >= 0) {
                i = (i + 1) & mask;
            }
            _slots[i] = s;
        }
    }
}

void offset_map::put(std::string_view key, int64_t offset) {
    if ((_size + 1) * 4 > _slots.size() * 3) {
        grow();
    }
    const uint64_t h = std::hash<std::string_view>{}(key);
    slot& s = _slots[find(key, h)];
    if (s.offset >= 0) {
        s.offset = std::max(s.offset, offset);
        return;
    }
    // A record's key is far below 4 GiB (max.message.bytes is an int32).
    s = slot{static_cast<uint32_t>(h >> 32), static_cast<uint32_t>(key.size()), _keys.size(),
             offset};
    _keys.append(key);
    ++_size;
}

int64_t offset_map::get(std::string_view key) const {
    if (_size == 0) {
        return -1;
    }
    return _slots[find(key, std::hash<std::string_view>{}(key))].offset;
}

std::optional<std::vector<record_ref>> parse_records(std::string_view batch) {
    std::string storage;
    auto r = records_of(batch, storage);
    if (r && !storage.empty()) {
        return std::nullopt;  // views into `storage`: callers get uncompressed batches only
    }
    return r;
}

void map_batch(offset_map& map, std::string_view batch) {
    std::string storage;
    const auto records = records_of(batch, storage);
    if (!records) {
        return;
    }
    for (const record_ref& r : *records) {
        if (r.key) {
            map.put(*r.key, r.offset);
        }
    }
}

filtered_batch filter_batch(std::string_view batch, const filter_rules& rules) {
    filtered_batch out;
    std::string storage;
    const auto records = records_of(batch, storage);
    if (!records) {
        out.unfiltered = true;  // opaque: kept whole
        return out;
    }
    if (records->empty()) {
        out.what = filtered_batch::outcome::drop;  // a header an earlier pass kept
        return out;
    }
    std::string kept;
    uint32_t kept_count = 0;
    for (const record_ref& r : *records) {
        const bool keep = r.key && r.offset >= rules.map->get(*r.key) &&
                          !(r.tombstone && r.offset < rules.remove_tombstones_below);
        if (keep) {
            kept.append(r.bytes);
            ++kept_count;
        } else {
            ++out.records_removed;
        }
    }
    if (out.records_removed == 0) {
        return out;
    }
    if (kept_count == 0) {
        out.what = filtered_batch::outcome::drop;
        return out;
    }
    const kafka::record_batch_header h = kafka::decode_record_batch_header(batch);
    if (h.compression() != kafka::compression_codec::none) {
        auto packed = kafka::compress(h.compression(), kept);
        if (!packed) {
            log(log_level::warn, component,
                "batch at offset {}: cannot recompress its surviving records ({}); kept whole, "
                "and no tombstone after it goes in this pass",
                h.base_offset, packed.error().detail);
            filtered_batch whole;
            whole.unfiltered = true;
            return whole;
        }
        kept = std::move(*packed);
    }
    // The header as it was (offsets, lastOffsetDelta, timestamps, attributes,
    // producer fields), with the new length, count and CRC.
    out.what = filtered_batch::outcome::rewritten;
    out.bytes.reserve(kafka::record_batch_header_size + kept.size());
    out.bytes.assign(batch.substr(0, kafka::record_batch_header_size));
    out.bytes += kept;
    kafka::write_batch_field(out.bytes, kafka::batch_field::batch_length,
                             out.bytes.size() - kafka::record_batch_length_prefix);
    kafka::write_batch_field(out.bytes, kafka::batch_field::record_count, kept_count);
    kafka::update_record_batch_crc(out.bytes);
    return out;
}

std::string header_only_batch(std::string_view batch) {
    std::string out(batch.substr(0, kafka::record_batch_header_size));
    kafka::write_batch_field(out, kafka::batch_field::batch_length, kafka::record_batch_min_length);
    const kafka::record_batch_header h = kafka::decode_record_batch_header(out);
    kafka::write_batch_field(out, kafka::batch_field::attributes,
                             static_cast<uint16_t>(h.attributes & ~0x7));  // no codec: no records
    kafka::write_batch_field(out, kafka::batch_field::record_count, 0);
    kafka::update_record_batch_crc(out);
    return out;
}

// --- writing and swapping -----------------------------------------------------

cleaned_segment_writer::cleaned_segment_writer(fs::file_ops& fs, std::string prefix,
                                               kafka_offset base, uint64_t index_interval)
    : _fs(&fs),
      _prefix(std::move(prefix)),
      _base(base),
      _index_interval(index_interval),
      _index(base) {}

result<cleaned_segment_writer> cleaned_segment_writer::create(fs::file_ops& fs,
                                                              const std::string& dir,
                                                              kafka_offset base,
                                                              uint64_t index_interval) {
    cleaned_segment_writer w(fs, dir + "/" + segment_file_name(base, ""), base, index_interval);
    auto f = fs.open(w._prefix + std::string(log_ext) + std::string(cleaned_ext),
                     fs::open_mode::create_or_truncate);
    if (!f) {
        return f.error();
    }
    w._log = std::move(*f);
    return w;
}

result<void> cleaned_segment_writer::append(std::string_view batch) {
    const kafka::record_batch_header h = kafka::decode_record_batch_header(batch);
    _index.add(_size, h, _index_interval);
    _buffer.append(batch);
    _size += batch.size();
    if (_buffer.size() >= write_chunk) {
        return write_buffer();
    }
    return ok();
}

result<void> cleaned_segment_writer::write_buffer() {
    if (_buffer.empty()) {
        return ok();
    }
    if (auto r = _log->write_at(_written, _buffer); !r) {
        return r;
    }
    _written += _buffer.size();
    _buffer.clear();
    return ok();
}

result<void> cleaned_segment_writer::finish() {
    if (auto r = write_buffer(); !r) {
        return r;
    }
    if (auto r = _log->datasync(); !r) {
        return r;
    }
    _index.finish();
    const std::pair<std::string_view, std::string> files[2] = {
        {offset_index_ext, _index.encode_offsets()}, {time_index_ext, _index.encode_times()}};
    for (const auto& [ext, data] : files) {
        if (auto r =
                write_synced(*_fs, _prefix + std::string(ext) + std::string(cleaned_ext), data);
            !r) {
            return r;
        }
    }
    return ok();
}

result<void> remove_cleaned_files(fs::file_ops& fs, const std::string& dir, kafka_offset base) {
    for (const std::string_view ext : segment_exts) {
        const std::string path = segment_path(dir, base, ext, cleaned_ext);
        if (auto r = fs::remove_if_present(fs, path); !r) {
            return r;
        }
    }
    return ok();
}

result<void> commit_swap(fs::file_ops& fs, const std::string& dir, const cleaner_checkpoint& after,
                         const std::vector<kafka_offset>& old_bases) {
    // 1. The output's files, synced by the writer, become .swap.
    if (after.swap_output >= 0) {
        const kafka_offset out{after.swap_output};
        for (const std::string_view ext : segment_exts) {
            if (auto r = fs.rename(segment_path(dir, out, ext, cleaned_ext),
                                   segment_path(dir, out, ext, swap_ext));
                !r) {
                return r;
            }
        }
    }
    // 2. The checkpoint that describes the swap, synced, and every entry so far.
    const std::string cleaned = checkpoint_path(dir, cleaned_ext);
    if (auto r = write_synced(fs, cleaned, encode_cleaner_checkpoint(after)); !r) {
        return r;
    }
    if (auto r = fs.sync_dir(dir); !r) {
        return r;
    }
    // 3. The commit: once cleaner.checkpoint.swap is durable, recovery
    // finishes the swap; before, it removes every .cleaned and .swap file.
    if (auto r = fs.rename(cleaned, checkpoint_path(dir, swap_ext)); !r) {
        return r;
    }
    if (auto r = fs.sync_dir(dir); !r) {
        return r;
    }
    // 4-6.
    std::set<int64_t> bases;
    for (const kafka_offset b : old_bases) {
        bases.insert(b.value());
    }
    return finish_swap(fs, dir, after, bases);
}

}  // namespace fjord::broker::storage
