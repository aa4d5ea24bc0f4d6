// File: broker/log/batch_header.cc

#include "broker/log/batch_header.h"

#include <fmt/format.h>

#include "broker/log/errc.h"
#include "common/crc32c.h"

namespace fjord::broker::storage {
namespace {

uint64_t read_be(std::string_view b, size_t at, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
        v = (v << 8) | static_cast<uint8_t>(b[at + i]);
    }
    return v;
}

void write_be(std::string& b, size_t at, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        b[at + n - 1 - i] = static_cast<char>(v & 0xFFu);
        v >>= 8;
    }
}

}  // namespace

batch_header decode_batch_header(std::string_view b) {
    batch_header h;
    h.base_offset = static_cast<int64_t>(read_be(b, 0, 8));
    h.batch_length = static_cast<int32_t>(read_be(b, 8, 4));
    h.partition_leader_epoch = static_cast<int32_t>(read_be(b, 12, 4));
    h.magic = static_cast<int8_t>(read_be(b, 16, 1));
    h.crc = static_cast<uint32_t>(read_be(b, 17, 4));
    h.attributes = static_cast<int16_t>(read_be(b, 21, 2));
    h.last_offset_delta = static_cast<int32_t>(read_be(b, 23, 4));
    h.base_timestamp = static_cast<int64_t>(read_be(b, 27, 8));
    h.max_timestamp = static_cast<int64_t>(read_be(b, 35, 8));
    h.producer_id = static_cast<int64_t>(read_be(b, 43, 8));
    h.producer_epoch = static_cast<int16_t>(read_be(b, 51, 2));
    h.base_sequence = static_cast<int32_t>(read_be(b, 53, 4));
    h.record_count = static_cast<int32_t>(read_be(b, 57, 4));
    return h;
}

uint32_t compute_batch_crc(std::string_view batch) {
    return crc32c(batch.substr(batch_crc_range_start));
}

result<batch_header> validate_batch(std::string_view batch) {
    // magic sits at byte 16 in every message format version, so it is read
    // before anything that depends on the v2 layout.
    if (batch.size() <= batch_magic_offset) {
        return {errc::invalid_batch,
                fmt::format("batch: {} bytes, too short to hold magic", batch.size())};
    }
    const auto magic = static_cast<int8_t>(batch[batch_magic_offset]);
    if (magic != batch_magic_v2) {
        return {errc::invalid_batch, fmt::format("magic: {}, want {}", magic, batch_magic_v2)};
    }
    if (batch.size() < batch_header_size) {
        return {errc::invalid_batch,
                fmt::format("batchLength: {} bytes, shorter than the {}-byte v2 header",
                            batch.size(), batch_header_size)};
    }
    const batch_header h = decode_batch_header(batch);
    if (h.batch_length < 0 || h.size_bytes() != batch.size()) {
        return {errc::invalid_batch,
                fmt::format("batchLength: {}, but {} bytes follow it", h.batch_length,
                            batch.size() - batch_length_prefix)};
    }
    if (const uint32_t crc = compute_batch_crc(batch); crc != h.crc) {
        return {errc::corrupt_batch,
                fmt::format("crc: batch carries {:#010x}, its bytes give {:#010x}", h.crc, crc)};
    }
    if (h.compression() > 4) {
        return {errc::invalid_batch,
                fmt::format("attributes: unknown compression codec {}", h.compression())};
    }
    if (h.last_offset_delta < 0) {
        return {errc::invalid_batch, fmt::format("lastOffsetDelta: {} < 0", h.last_offset_delta)};
    }
    if (static_cast<int64_t>(h.record_count) != int64_t{h.last_offset_delta} + 1) {
        return {errc::invalid_batch,
                fmt::format("recordCount: {}, but lastOffsetDelta {} means {} records",
                            h.record_count, h.last_offset_delta, int64_t{h.last_offset_delta} + 1)};
    }
    return h;
}

void set_base_offset(std::string& batch, kafka_offset o) {
    write_be(batch, 0, static_cast<uint64_t>(o.value()), 8);
}

void set_log_append_time(std::string& batch, int64_t ts) {
    const auto attributes = static_cast<uint16_t>(read_be(batch, 21, 2) | 0x8u);
    write_be(batch, 21, attributes, 2);
    write_be(batch, 35, static_cast<uint64_t>(ts), 8);
    write_be(batch, batch_crc_offset, compute_batch_crc(batch), 4);
}

}  // namespace fjord::broker::storage
