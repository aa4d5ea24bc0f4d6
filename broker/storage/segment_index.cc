// File: broker/storage/segment_index.cc

#include "broker/storage/segment_index.h"

#include <algorithm>

#include <fmt/format.h>

#include "broker/storage/batch_header.h"
#include "broker/storage/errc.h"

namespace fjord::broker::storage {
namespace {

void put_be(std::string& out, uint64_t v, size_t n) {
    for (size_t i = n; i-- > 0;) {
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
    }
}

uint64_t get_be(std::string_view b, size_t at, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
        v = (v << 8) | static_cast<uint8_t>(b[at + i]);
    }
    return v;
}

}  // namespace

void segment_index::add(uint64_t position, const kafka::record_batch_header& h,
                        uint64_t interval_bytes) {
    const auto relative = [this](kafka_offset o) { return static_cast<uint32_t>(o - _base); };
    if (h.max_timestamp > _max_timestamp) {
        _max_timestamp = h.max_timestamp;
        _max_timestamp_relative = relative(base_of(h));
    }
    if (_bytes_since_entry > interval_bytes) {
        _offsets.push_back({relative(base_of(h)), static_cast<uint32_t>(position)});
        if (_max_timestamp > (_times.empty() ? no_timestamp : _times.back().timestamp)) {
            _times.push_back({_max_timestamp, _max_timestamp_relative});
        }
        _bytes_since_entry = 0;
    }
    _bytes_since_entry += h.size_bytes();
}

void segment_index::finish() {
    if (_max_timestamp > (_times.empty() ? no_timestamp : _times.back().timestamp)) {
        _times.push_back({_max_timestamp, _max_timestamp_relative});
    }
}

uint64_t segment_index::position_for(kafka_offset o) const {
    if (o < _base) {
        return 0;
    }
    const auto rel = static_cast<uint64_t>(o - _base);
    const auto it = std::upper_bound(
        _offsets.begin(), _offsets.end(), rel,
        [](uint64_t r, const offset_index_entry& e) { return r < e.relative_offset; });
    return it == _offsets.begin() ? 0 : std::prev(it)->position;
}

uint64_t segment_index::position_for_timestamp(int64_t ts) const {
    // The last entry with a timestamp below ts: every batch up to the one
    // that entry was taken at has a smaller maxTimestamp, and that batch is
    // at or after the one the entry names.
    const auto it =
        std::lower_bound(_times.begin(), _times.end(), ts,
                         [](const time_index_entry& e, int64_t t) { return e.timestamp < t; });
    if (it == _times.begin()) {
        return 0;
    }
    return position_for(_base + std::prev(it)->relative_offset);
}

std::string segment_index::encode_offsets() const {
    std::string out;
    out.reserve(_offsets.size() * offset_index_entry_size);
    for (const offset_index_entry& e : _offsets) {
        put_be(out, e.relative_offset, 4);
        put_be(out, e.position, 4);
    }
    return out;
}

std::string segment_index::encode_times() const {
    std::string out;
    out.reserve(_times.size() * time_index_entry_size);
    for (const time_index_entry& e : _times) {
        put_be(out, static_cast<uint64_t>(e.timestamp), 8);
        put_be(out, e.relative_offset, 4);
    }
    return out;
}

result<segment_index> segment_index::decode(std::string_view offsets, std::string_view times,
                                            kafka_offset base, kafka_offset next, uint64_t log_size,
                                            const std::string& path) {
    const uint64_t span = static_cast<uint64_t>(next - base);
    segment_index idx(base);
    if (offsets.size() % offset_index_entry_size != 0) {
        return {errc::corrupt, fmt::format("{}.index: {} bytes, not a whole number of entries",
                                           path, offsets.size())};
    }
    for (size_t at = 0; at < offsets.size(); at += offset_index_entry_size) {
        const offset_index_entry e{static_cast<uint32_t>(get_be(offsets, at, 4)),
                                   static_cast<uint32_t>(get_be(offsets, at + 4, 4))};
        const bool increasing =
            idx._offsets.empty() || (e.relative_offset > idx._offsets.back().relative_offset &&
                                     e.position > idx._offsets.back().position);
        if (!increasing || e.relative_offset >= span || e.position >= log_size) {
            return {errc::corrupt,
                    fmt::format("{}.index entry {}: offset +{} at position {} is out of order or "
                                "outside the segment",
                                path, at / offset_index_entry_size, e.relative_offset, e.position)};
        }
        idx._offsets.push_back(e);
    }
    if (times.size() % time_index_entry_size != 0) {
        return {errc::corrupt, fmt::format("{}.timeindex: {} bytes, not a whole number of entries",
                                           path, times.size())};
    }
    for (size_t at = 0; at < times.size(); at += time_index_entry_size) {
        const time_index_entry e{static_cast<int64_t>(get_be(times, at, 8)),
                                 static_cast<uint32_t>(get_be(times, at + 8, 4))};
        const bool increasing = idx._times.empty()
                                    ? e.timestamp > no_timestamp
                                    : (e.timestamp > idx._times.back().timestamp &&
                                       e.relative_offset > idx._times.back().relative_offset);
        if (!increasing || e.relative_offset >= span) {
            return {errc::corrupt,
                    fmt::format("{}.timeindex entry {}: timestamp {} at offset +{} is out of "
                                "order or outside the segment",
                                path, at / time_index_entry_size, e.timestamp, e.relative_offset)};
        }
        idx._times.push_back(e);
    }
    if (!idx._times.empty()) {
        idx._max_timestamp = idx._times.back().timestamp;
        idx._max_timestamp_relative = idx._times.back().relative_offset;
    }
    return idx;
}

}  // namespace fjord::broker::storage
