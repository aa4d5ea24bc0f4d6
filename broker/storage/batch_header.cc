// File: broker/storage/batch_header.cc

#include "broker/storage/batch_header.h"

#include <fmt/format.h>

#include "broker/storage/errc.h"

namespace fjord::broker::storage {

namespace {

enum class record_count_rule { exact, compacted };

result<kafka::record_batch_header> check_batch(std::string_view batch, record_count_rule rule) {
    // magic sits at byte 16 in every message format version, so it is read
    // before anything that depends on the v2 layout.
    if (batch.size() <= kafka::batch_field::magic.at) {
        return {errc::invalid_batch,
                fmt::format("batch: {} bytes, too short to hold magic", batch.size())};
    }
    const auto magic = static_cast<int8_t>(batch[kafka::batch_field::magic.at]);
    if (magic != kafka::record_batch_magic_v2) {
        return {errc::invalid_batch,
                fmt::format("magic: {}, want {}", magic, kafka::record_batch_magic_v2)};
    }
    if (batch.size() < kafka::record_batch_header_size) {
        return {errc::invalid_batch,
                fmt::format("batchLength: {} bytes, shorter than the {}-byte v2 header",
                            batch.size(), kafka::record_batch_header_size)};
    }
    const kafka::record_batch_header h = kafka::decode_record_batch_header(batch);
    if (h.batch_length < 0 || h.size_bytes() != batch.size()) {
        return {errc::invalid_batch,
                fmt::format("batchLength: {}, but {} bytes follow it", h.batch_length,
                            batch.size() - kafka::record_batch_length_prefix)};
    }
    if (const uint32_t crc = kafka::record_batch_crc(batch); crc != h.crc) {
        return {errc::corrupt_batch,
                fmt::format("crc: batch carries {:#010x}, its bytes give {:#010x}", h.crc, crc)};
    }
    if (h.compression() > kafka::compression_codec::zstd) {
        return {errc::invalid_batch, fmt::format("attributes: unknown compression codec {}",
                                                 static_cast<int>(h.compression()))};
    }
    if (h.last_offset_delta < 0) {
        return {errc::invalid_batch, fmt::format("lastOffsetDelta: {} < 0", h.last_offset_delta)};
    }
    if (rule == record_count_rule::compacted) {
        if (h.record_count < 0 || int64_t{h.record_count} > int64_t{h.last_offset_delta} + 1) {
            return {
                errc::invalid_batch,
                fmt::format("recordCount: {}, outside [0, {}] (lastOffsetDelta {})", h.record_count,
                            int64_t{h.last_offset_delta} + 1, h.last_offset_delta)};
        }
    } else if (static_cast<int64_t>(h.record_count) != int64_t{h.last_offset_delta} + 1) {
        return {errc::invalid_batch,
                fmt::format("recordCount: {}, but lastOffsetDelta {} means {} records",
                            h.record_count, h.last_offset_delta, int64_t{h.last_offset_delta} + 1)};
    }
    return h;
}

}  // namespace

result<kafka::record_batch_header> validate_batch(std::string_view batch) {
    return check_batch(batch, record_count_rule::exact);
}

result<kafka::record_batch_header> validate_copied_batch(std::string_view batch) {
    return check_batch(batch, record_count_rule::compacted);
}

void set_log_append_time(std::string& batch, int64_t ts) {
    const kafka::record_batch_header h = kafka::decode_record_batch_header(batch);
    kafka::write_batch_field(batch, kafka::batch_field::attributes,
                             static_cast<uint16_t>(h.attributes) | 0x8u);
    kafka::write_batch_field(batch, kafka::batch_field::max_timestamp, static_cast<uint64_t>(ts));
    kafka::update_record_batch_crc(batch);
}

}  // namespace fjord::broker::storage
