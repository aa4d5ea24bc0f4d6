// File: common/kafka/record_batch.cc

#include "common/kafka/record_batch.h"

#include <cstdio>

#include "common/crc32c.h"
#include "common/kafka/errc.h"

namespace fjord::kafka {

namespace {

std::string hex32(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "0x%08x", v);
    return buf;
}

error_info batch_error(errc code, std::string detail) {
    return {code, "record batch: " + std::move(detail)};
}

// Reads `f` big-endian; the caller has checked that `b` holds it.
uint64_t read_field(std::string_view b, batch_field_layout f) {
    uint64_t v = 0;
    for (size_t i = 0; i < f.width; ++i) {
        v = (v << 8) | static_cast<uint8_t>(b[f.at + i]);
    }
    return v;
}

}  // namespace

record_batch_header decode_record_batch_header(std::string_view b) {
    namespace f = batch_field;
    record_batch_header h;
    h.base_offset = static_cast<int64_t>(read_field(b, f::base_offset));
    h.batch_length = static_cast<int32_t>(read_field(b, f::batch_length));
    h.partition_leader_epoch = static_cast<int32_t>(read_field(b, f::partition_leader_epoch));
    h.magic = static_cast<int8_t>(read_field(b, f::magic));
    h.crc = static_cast<uint32_t>(read_field(b, f::crc));
    h.attributes = static_cast<int16_t>(read_field(b, f::attributes));
    h.last_offset_delta = static_cast<int32_t>(read_field(b, f::last_offset_delta));
    h.base_timestamp = static_cast<int64_t>(read_field(b, f::base_timestamp));
    h.max_timestamp = static_cast<int64_t>(read_field(b, f::max_timestamp));
    h.producer_id = static_cast<int64_t>(read_field(b, f::producer_id));
    h.producer_epoch = static_cast<int16_t>(read_field(b, f::producer_epoch));
    h.base_sequence = static_cast<int32_t>(read_field(b, f::base_sequence));
    h.record_count = static_cast<int32_t>(read_field(b, f::record_count));
    return h;
}

void write_batch_field(std::string& batch, batch_field_layout f, uint64_t v) {
    for (size_t i = 0; i < f.width; ++i) {
        batch[f.at + f.width - 1 - i] = static_cast<char>(v & 0xFFu);
        v >>= 8;
    }
}

uint32_t record_batch_crc(std::string_view batch) {
    return crc32c(batch.substr(record_batch_crc_start));
}

void update_record_batch_crc(std::string& batch) {
    write_batch_field(batch, batch_field::crc, record_batch_crc(batch));
}

result<record_batch_view> parse_record_batch(std::string_view data) {
    if (data.size() < record_batch_header_size) {
        return batch_error(errc::truncated,
                           "header needs 61 bytes, " + std::to_string(data.size()) + " available");
    }
    const record_batch_header h = decode_record_batch_header(data);
    if (h.batch_length < record_batch_min_length) {
        return batch_error(errc::invalid_batch, "batchLength " + std::to_string(h.batch_length) +
                                                    " is below the header's 49 bytes");
    }
    if (h.magic != record_batch_magic_v2) {
        return batch_error(errc::invalid_batch,
                           "magic " + std::to_string(h.magic) + ", expected 2");
    }
    if (h.size_bytes() > data.size()) {
        return batch_error(errc::truncated, "batchLength " + std::to_string(h.batch_length) +
                                                " needs " + std::to_string(h.size_bytes()) +
                                                " bytes, " + std::to_string(data.size()) +
                                                " available");
    }
    const std::string_view bytes = data.substr(0, h.size_bytes());
    const uint32_t crc = record_batch_crc(bytes);
    if (crc != h.crc) {
        return batch_error(errc::corrupt_batch,
                           "crc mismatch: stored " + hex32(h.crc) + ", computed " + hex32(crc));
    }
    if ((h.attributes & 0x07) > static_cast<int>(compression_codec::zstd)) {
        return batch_error(errc::invalid_batch, "attributes: unknown compression codec " +
                                                    std::to_string(h.attributes & 0x07));
    }
    if (h.record_count < 0) {
        return batch_error(errc::invalid_batch,
                           "recordsCount " + std::to_string(h.record_count) + " is negative");
    }
    if (h.last_offset_delta < 0) {
        return batch_error(
            errc::invalid_batch,
            "lastOffsetDelta " + std::to_string(h.last_offset_delta) + " is negative");
    }
    const std::string_view records = bytes.substr(record_batch_header_size);
    // An uncompressed record takes at least 7 bytes; a compressed blob may be
    // smaller than its records, so only uncompressed counts are bounded here.
    if (h.compression() == compression_codec::none &&
        static_cast<size_t>(h.record_count) > records.size() / 7) {
        return batch_error(errc::invalid_batch, "recordsCount " + std::to_string(h.record_count) +
                                                    " cannot fit in " +
                                                    std::to_string(records.size()) + " bytes");
    }
    return record_batch_view{h, bytes, records};
}

result<std::vector<record_batch_view>> parse_record_batches(std::string_view data,
                                                            bool allow_partial_tail) {
    std::vector<record_batch_view> out;
    size_t pos = 0;
    while (pos < data.size()) {
        auto b = parse_record_batch(data.substr(pos));
        if (!b) {
            if (allow_partial_tail && b.code() == errc::truncated) {
                break;
            }
            error_info e = b.error();
            e.detail = "batch " + std::to_string(out.size()) + " at byte " + std::to_string(pos) +
                       ": " + e.detail;
            return e;
        }
        pos += b->bytes.size();
        out.push_back(*b);
    }
    return out;
}

// ---- records ----

record_reader::record_reader(const record_batch_view& batch)
    : _r(batch.records), _codec(batch.header.compression()), _count(batch.header.record_count) {}

namespace {

error_info record_error(int32_t index, errc code, const std::string& what) {
    return {code, "record batch: record " + std::to_string(index) + ": " + what};
}

// A varint length that may be -1 (null); the bytes follow.
result<std::optional<std::string_view>> read_varint_bytes(reader& r, bool nullable) {
    auto n = r.read_varint();
    if (!n) {
        return n.error();
    }
    if (*n == -1 && nullable) {
        return std::optional<std::string_view>();
    }
    if (*n < 0) {
        return error_info(errc::invalid_length, "length " + std::to_string(*n) + " is negative");
    }
    auto v = r.read_view(static_cast<size_t>(*n));
    if (!v) {
        return v.error();
    }
    return std::optional<std::string_view>(*v);
}

result<record_view> parse_record(std::string_view body) {
    reader r(body);
    record_view rec;
    if (auto v = r.read_int8(); v) {
        rec.attributes = *v;
    } else {
        return in_field(v.error(), "attributes");
    }
    if (auto v = r.read_varlong(); v) {
        rec.timestamp_delta = *v;
    } else {
        return in_field(v.error(), "timestampDelta");
    }
    if (auto v = r.read_varint(); v) {
        rec.offset_delta = *v;
    } else {
        return in_field(v.error(), "offsetDelta");
    }
    if (auto v = read_varint_bytes(r, true); v) {
        rec.key = *v;
    } else {
        return in_field(v.error(), "key");
    }
    if (auto v = read_varint_bytes(r, true); v) {
        rec.value = *v;
    } else {
        return in_field(v.error(), "value");
    }
    auto count = r.read_varint();
    if (!count) {
        return in_field(count.error(), "headersCount");
    }
    // A header takes at least 2 bytes (two one-byte lengths).
    if (*count < 0 || static_cast<size_t>(*count) > r.remaining() / 2) {
        return in_field(
            error_info(errc::invalid_length, std::to_string(*count) + " headers cannot fit in " +
                                                 std::to_string(r.remaining()) + " bytes"),
            "headersCount");
    }
    rec.headers.reserve(reserve_hint(*count));
    for (int32_t i = 0; i < *count; ++i) {
        record_header_view h;
        if (auto k = read_varint_bytes(r, false); k) {
            h.key = **k;
        } else {
            return in_struct_element(in_field(k.error(), "key"), "headers", static_cast<size_t>(i));
        }
        if (auto v = read_varint_bytes(r, true); v) {
            h.value = *v;
        } else {
            return in_struct_element(in_field(v.error(), "value"), "headers",
                                     static_cast<size_t>(i));
        }
        rec.headers.push_back(h);
    }
    if (r.remaining() != 0) {
        return error_info(errc::trailing_bytes,
                          std::to_string(r.remaining()) + " bytes after the record's fields");
    }
    return rec;
}

}  // namespace

result<std::optional<record_view>> record_reader::next() {
    if (_codec != compression_codec::none) {
        return error_info(errc::unsupported_compression,
                          "record batch: records are compressed (codec " +
                              std::to_string(static_cast<int>(_codec)) + ")");
    }
    if (_index == _count) {
        if (_r.remaining() != 0) {
            return error_info(errc::invalid_batch,
                              "record batch: " + std::to_string(_r.remaining()) +
                                  " bytes after the last of " + std::to_string(_count) +
                                  " records");
        }
        return std::optional<record_view>();
    }
    const int32_t index = _index++;
    auto length = _r.read_varint();
    if (!length) {
        return record_error(index, errc::invalid_batch, "length: " + length.error().detail);
    }
    if (*length < 0) {
        return record_error(index, errc::invalid_batch,
                            "length " + std::to_string(*length) + " is negative");
    }
    auto body = _r.read_view(static_cast<size_t>(*length));
    if (!body) {
        return record_error(index, errc::invalid_batch,
                            "length " + std::to_string(*length) + ": " + body.error().detail);
    }
    auto rec = parse_record(*body);
    if (!rec) {
        return record_error(index, errc::invalid_batch, rec.error().detail);
    }
    return std::optional<record_view>(std::move(*rec));
}

result<std::vector<record_view>> read_records(const record_batch_view& batch) {
    std::vector<record_view> out;
    record_reader rr(batch);
    for (;;) {
        auto r = rr.next();
        if (!r) {
            return r.error();
        }
        if (!*r) {
            return out;
        }
        out.push_back(std::move(**r));
    }
}

// ---- builder ----

record_batch_builder& record_batch_builder::add(std::optional<std::string_view> key,
                                                std::optional<std::string_view> value,
                                                int64_t timestamp,
                                                const std::vector<record_header>& headers) {
    if (_count == 0) {
        _base_timestamp = timestamp;
        _max_timestamp = timestamp;
    } else if (timestamp > _max_timestamp) {
        _max_timestamp = timestamp;
    }
    writer body;
    body.write_int8(0);
    body.write_varlong(timestamp - _base_timestamp);
    body.write_varint(_count);
    auto put = [&body](std::optional<std::string_view> b) {
        if (!b) {
            body.write_varint(-1);
            return;
        }
        body.write_varint(static_cast<int32_t>(b->size()));
        body.write_raw(*b);
    };
    put(key);
    put(value);
    body.write_varint(static_cast<int32_t>(headers.size()));
    for (const auto& h : headers) {
        put(std::string_view(h.key));
        put(h.value ? std::optional<std::string_view>(*h.value) : std::nullopt);
    }
    _records.write_varint(static_cast<int32_t>(body.size()));
    _records.write_raw(body.data());
    ++_count;
    return *this;
}

std::string record_batch_builder::build() const {
    writer w;
    w.reserve(record_batch_header_size + _records.size());
    w.write_int64(_base_offset);
    w.write_int32(static_cast<int32_t>(record_batch_header_size - record_batch_length_prefix +
                                       _records.size()));
    w.write_int32(_leader_epoch);
    w.write_int8(record_batch_magic_v2);
    w.write_uint32(0);  // crc, patched below
    w.write_int16(_attributes);
    w.write_int32(_count > 0 ? _count - 1 : 0);
    w.write_int64(_base_timestamp);
    w.write_int64(_max_timestamp);
    w.write_int64(_producer_id);
    w.write_int16(_producer_epoch);
    w.write_int32(_base_sequence);
    w.write_int32(_count);
    w.write_raw(_records.data());
    std::string out = w.take();
    update_record_batch_crc(out);
    return out;
}

}  // namespace fjord::kafka
