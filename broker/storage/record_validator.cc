// File: broker/storage/record_validator.cc
//
// Record layout (Kafka's DefaultRecord; varints zig-zag, at most 5 bytes,
// varlongs at most 10):
//
//   length varint | attributes int8 | timestampDelta varlong | offsetDelta varint
//   keyLength varint (-1: null) | key | valueLength varint (-1: null) | value
//   headerCount varint | [headerKeyLength varint | headerKey |
//                         headerValueLength varint (-1: null) | headerValue]...

#include "broker/storage/record_validator.h"

#include <algorithm>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "broker/storage/errc.h"
#include "common/kafka/compression.h"

namespace fjord::broker::storage {
namespace {

/// A read position in the records, or in one record.
struct cursor {
    std::string_view data;
    size_t pos = 0;
    size_t left() const { return data.size() - pos; }
};

error_info framing(std::string what) {
    return {errc::invalid_batch, std::move(what)};
}

/// A field's name in errors ("value length", "header 2: key length"), put
/// together only when an error is reported: the validator runs on every
/// record produced, and formatting names for records that pass cost about
/// as much as checking them.
struct field_name {
    field_name(std::string_view n, std::string_view s = {}, int64_t h = -1)
        : name(n), suffix(s), header(h) {}
    field_name(const char* n) : field_name(std::string_view(n)) {}
    std::string str() const {
        return header < 0 ? fmt::format("{}{}", name, suffix)
                          : fmt::format("header {}: {}{}", header, name, suffix);
    }
    std::string_view name;
    std::string_view suffix;  // appended to the name (" length")
    int64_t header;           // >= 0: a field of that header
};

/// A zig-zag varint of at most `max_bytes` bytes (5 for an int32, 10 for an
/// int64). Bits beyond the type are refused, as common/kafka's reader does
/// (Java's ByteUtils drops them; no encoder writes them), so that whatever
/// is accepted here decodes there too. `field` and `within` ("the record")
/// name it in errors.
result<int64_t> read_zigzag(cursor& c, size_t max_bytes, const field_name& field,
                            std::string_view within) {
    const size_t left = c.left();
    uint64_t v = 0;
    for (size_t i = 0; i < max_bytes; ++i) {
        if (c.left() == 0) {
            return framing(
                fmt::format("{}: varint runs past {} ({} bytes left)", field.str(), within, left));
        }
        const auto b = static_cast<uint8_t>(c.data[c.pos++]);
        if (i + 1 == max_bytes && b > (max_bytes == 5 ? 0x0Fu : 0x01u)) {
            return framing(
                fmt::format("{}: varint exceeds {} bits", field.str(), max_bytes == 5 ? 32 : 64));
        }
        v |= uint64_t{b & 0x7Fu} << (7 * i);
        if ((b & 0x80u) != 0) {
            continue;
        }
        if (max_bytes == 5) {
            const auto u = static_cast<uint32_t>(v);
            return int64_t{static_cast<int32_t>((u >> 1) ^ (0u - (u & 1u)))};
        }
        return static_cast<int64_t>((v >> 1) ^ (uint64_t{0} - (v & 1u)));
    }
    return framing(
        fmt::format("{}: varint longer than {} bytes", field.str(), max_bytes));  // unreachable
}

/// A length-prefixed byte string inside a record; true if present, false if
/// null (-1, only when `nullable`).
result<bool> read_bytes(cursor& c, const field_name& field, bool nullable) {
    auto n = read_zigzag(c, 5, field_name(field.name, " length", field.header), "the record");
    if (!n) {
        return n.error();
    }
    if (*n == -1 && nullable) {
        return false;
    }
    if (*n < 0) {
        return framing(fmt::format("{} length {} is invalid ({})", field.str(), *n,
                                   nullable ? "-1 is null" : "it cannot be null"));
    }
    if (static_cast<uint64_t>(*n) > c.left()) {
        return framing(fmt::format("{} length {} runs past the record ({} bytes left)", field.str(),
                                   *n, c.left()));
    }
    c.pos += static_cast<size_t>(*n);
    return true;
}

struct record_fields {
    int64_t timestamp_delta = 0;
    int64_t offset_delta = 0;
    bool has_key = false;
};

/// The fields of one record body (after its length), which they must fill.
result<record_fields> parse_record(std::string_view body) {
    cursor c{body};
    record_fields f;
    if (c.left() == 0) {
        return framing("attributes: runs past the record (0 bytes left)");
    }
    ++c.pos;  // attributes: unused in v2; Kafka ignores them too
    auto ts = read_zigzag(c, 10, "timestampDelta", "the record");
    if (!ts) {
        return ts.error();
    }
    f.timestamp_delta = *ts;
    auto od = read_zigzag(c, 5, "offsetDelta", "the record");
    if (!od) {
        return od.error();
    }
    f.offset_delta = *od;
    auto key = read_bytes(c, "key", true);
    if (!key) {
        return key.error();
    }
    f.has_key = *key;
    if (auto value = read_bytes(c, "value", true); !value) {
        return value.error();
    }
    auto count = read_zigzag(c, 5, "header count", "the record");
    if (!count) {
        return count.error();
    }
    // A header takes at least two bytes (two one-byte lengths).
    if (*count < 0 || static_cast<uint64_t>(*count) > c.left() / 2) {
        return framing(fmt::format("header count {} cannot fit in the record ({} bytes left)",
                                   *count, c.left()));
    }
    for (int64_t j = 0; j < *count; ++j) {
        if (auto k = read_bytes(c, field_name("key", {}, j), false); !k) {
            return k.error();
        }
        if (auto v = read_bytes(c, field_name("value", {}, j), true); !v) {
            return v.error();
        }
    }
    if (c.left() != 0) {
        return framing(
            fmt::format("{} bytes left after its fields (length {})", c.left(), body.size()));
    }
    return f;
}

error_info in_record(int64_t index, const error_info& e) {
    return {e.code, fmt::format("record {}: {}", index, e.detail)};
}

error_info invalid(std::string what) {
    return {errc::invalid_record, std::move(what)};
}

/// The rules on the header's attributes and producer fields.
result<void> check_attributes(const kafka::record_batch_header& h, const record_validation& opts) {
    const bool transactional = h.is_transactional();
    if (h.is_control() && opts.from_client) {
        return invalid("attributes: a control batch (bit 5): clients cannot write control records");
    }
    if (transactional && h.producer_id < 0) {
        return invalid(fmt::format(
            "attributes: a transactional batch (bit 4) without a producer id (producerId {})",
            h.producer_id));
    }
    if (transactional && opts.from_client) {
        return invalid(
            "attributes: a transactional batch (bit 4): this broker does not support "
            "transactions");
    }
    if (h.producer_id < -1) {
        return invalid(fmt::format("producerId: {}; -1 (no producer id) is the only negative id",
                                   h.producer_id));
    }
    if (h.producer_id >= 0 && h.producer_epoch < 0) {
        return invalid(fmt::format("producerEpoch: {} for producerId {}; an epoch is >= 0",
                                   h.producer_epoch, h.producer_id));
    }
    return ok();
}

}  // namespace

size_t max_decompressed_for(int64_t max_batch_bytes) {
    constexpr int64_t floor = int64_t{1} << 20;
    return static_cast<size_t>(std::max(max_batch_bytes, floor)) * 32;
}

result<void> validate_records(std::string_view batch, const kafka::record_batch_header& h,
                              const record_validation& opts) {
    if (batch.size() < kafka::record_batch_header_size) {
        return framing(fmt::format("batch: {} bytes, shorter than the {}-byte header", batch.size(),
                                   kafka::record_batch_header_size));
    }
    if (auto r = check_attributes(h, opts); !r) {
        return r;
    }
    if (h.record_count <= 0) {
        return framing(
            fmt::format("recordCount: {}; a batch holds at least one record", h.record_count));
    }

    std::string_view records = batch.substr(kafka::record_batch_header_size);
    std::string decompressed;
    if (h.compression() != kafka::compression_codec::none) {
        auto d = kafka::decompress(h.compression(), records, opts.max_decompressed_bytes);
        if (!d) {
            const errc code = d.code() == kafka::compression_errc::output_too_large
                                  ? errc::batch_too_large
                                  : errc::invalid_batch;
            return error_info(code, "records: " + d.error().detail);
        }
        decompressed = std::move(*d);
        records = decompressed;
    }

    cursor c{records};
    int64_t last_delta = -1;
    for (int64_t i = 0; i < h.record_count; ++i) {
        if (c.left() == 0) {
            return framing(fmt::format("recordCount: {}, but the records end after {}",
                                       h.record_count,
                                       i == 1 ? "1 record" : fmt::format("{} records", i)));
        }
        auto length = read_zigzag(c, 5, "length", "the records");
        if (!length) {
            return in_record(i, length.error());
        }
        if (*length < 0) {
            return in_record(i, framing(fmt::format("length {} is negative", *length)));
        }
        if (static_cast<uint64_t>(*length) > c.left()) {
            return in_record(i, framing(fmt::format("length {} runs past the records ({} bytes "
                                                    "left)",
                                                    *length, c.left())));
        }
        auto f = parse_record(records.substr(c.pos, static_cast<size_t>(*length)));
        if (!f) {
            return in_record(i, f.error());
        }
        c.pos += static_cast<size_t>(*length);
        if (f->offset_delta != i) {
            return in_record(i, invalid(fmt::format("offsetDelta {}, want {} (deltas count "
                                                    "0, 1, 2, ... in order)",
                                                    f->offset_delta, i)));
        }
        if (int64_t ts = 0; __builtin_add_overflow(h.base_timestamp, f->timestamp_delta, &ts)) {
            return in_record(i, invalid(fmt::format("timestampDelta {} overflows baseTimestamp {}",
                                                    f->timestamp_delta, h.base_timestamp)));
        }
        if (opts.require_keys && !f->has_key && !h.is_control()) {
            return in_record(i, invalid("key: null, but the topic is compacted (cleanup.policy="
                                        "compact keeps the last record of each key)"));
        }
        last_delta = f->offset_delta;
    }
    if (c.left() != 0) {
        return framing(fmt::format("records: {} bytes after the last of {} records", c.left(),
                                   h.record_count));
    }
    if (last_delta != h.last_offset_delta) {
        return invalid(fmt::format("lastOffsetDelta: {}, but the last record's offsetDelta is {}",
                                   h.last_offset_delta, last_delta));
    }
    return ok();
}

}  // namespace fjord::broker::storage
