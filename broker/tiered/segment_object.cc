// File: broker/tiered/segment_object.cc
//
// A sealed segment as an object (segment_object.h).

#include "broker/tiered/segment_object.h"

#include <charconv>

#include <fmt/format.h>

#include "broker/storage/errc.h"
#include "common/crc32c.h"
#include "common/kafka/record_batch.h"
#include "common/tiered/layout.h"

namespace fjord::broker::archival {
namespace {

error_info corrupt(const segment_source& src, uint64_t pos, std::string_view why) {
    return error_info(storage::errc::corrupt,
                      fmt::format("{} at byte {}: {}; not uploaded", src.file->path(), pos, why));
}

bool parse_i64(std::string_view s, int64_t& out) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

result<segment_object> read_segment_object(const segment_source& src) {
    if (!src.file) {
        return error_info(storage::errc::not_open, "segment file: no handle");
    }
    std::string bytes(src.size, '\0');
    auto n = src.file->read_at(0, bytes);
    if (!n) {
        return n.error();
    }
    if (*n != src.size) {
        return corrupt(src, *n, fmt::format("the file holds {} bytes, {} expected", *n, src.size));
    }
    std::string_view rest = bytes;
    uint64_t pos = 0;
    std::optional<uint64_t> first_pos;
    kafka::record_batch_header first{};
    kafka::record_batch_header last{};
    int64_t max_ts = -1;
    int64_t prev_last = src.base - 1;
    while (!rest.empty()) {
        if (rest.size() < kafka::record_batch_header_size) {
            return corrupt(src, pos, "a batch header runs past the end");
        }
        const auto h = kafka::decode_record_batch_header(rest);
        const size_t size = h.size_bytes();
        if (h.magic != kafka::record_batch_magic_v2 ||
            h.batch_length < kafka::record_batch_min_length || size > rest.size()) {
            return corrupt(src, pos, "not a whole v2 record batch");
        }
        if (kafka::record_batch_crc(rest.substr(0, size)) != h.crc) {
            return corrupt(src, pos, "CRC-32C mismatch");
        }
        if (h.last_offset_delta < 0 || h.base_offset <= prev_last || h.last_offset() >= src.next) {
            return corrupt(src, pos,
                           fmt::format("offsets [{}, {}] out of order or outside [{}, {})",
                                       h.base_offset, h.last_offset(), src.base, src.next));
        }
        prev_last = h.last_offset();
        if (h.last_offset() >= src.from) {
            if (!first_pos) {
                first_pos = pos;
                first = h;
            }
            last = h;
            max_ts = std::max(max_ts, h.max_timestamp);
        }
        rest.remove_prefix(size);
        pos += size;
    }
    if (!first_pos) {
        return corrupt(src, pos, fmt::format("no batch at or after offset {}", src.from));
    }
    segment_object out;
    out.bytes = bytes.substr(*first_pos);
    auto& m = out.meta;
    m.base_offset = first.base_offset;
    m.last_offset = last.last_offset();
    m.base_timestamp = first.ts_type() == kafka::timestamp_type::log_append_time
                           ? first.max_timestamp
                           : first.base_timestamp;
    m.max_timestamp = max_ts;
    m.epoch = last.partition_leader_epoch >= 0 ? last.partition_leader_epoch : src.fallback_epoch;
    m.size = out.bytes.size();
    m.crc32c = crc32c(out.bytes);
    m.name = tiered::segment_name(m.base_offset, m.last_offset, m.epoch);
    return out;
}

std::optional<segment_name_parts> parse_segment_name(std::string_view name) {
    // <20 digits>-<20 digits>-<epoch>.log
    if (name.size() < 20 + 1 + 20 + 1 + 1 + 4 || !name.ends_with(".log") || name[20] != '-' ||
        name[41] != '-') {
        return std::nullopt;
    }
    segment_name_parts p;
    if (!parse_i64(name.substr(0, 20), p.base) || !parse_i64(name.substr(21, 20), p.last) ||
        !parse_i64(name.substr(42, name.size() - 42 - 4), p.epoch)) {
        return std::nullopt;
    }
    return p;
}

}  // namespace fjord::broker::archival
