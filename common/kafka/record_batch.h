#pragma once
// File: common/kafka/record_batch.h
//
// RecordBatch v2 (magic 2), the unit of data in Produce and Fetch `records`
// fields and in partition logs (layout: ../shared/kafka-protocol/README.md):
//
//   0 baseOffset i64 | 8 batchLength i32 | 12 partitionLeaderEpoch i32 | 16 magic i8
//   17 crc u32 | 21 attributes i16 | 23 lastOffsetDelta i32 | 27 baseTimestamp i64
//   35 maxTimestamp i64 | 43 producerId i64 | 51 producerEpoch i16 | 53 baseSequence i32
//   57 recordsCount i32 | 61 records...    (CRC-32C covers byte 21 to the end)
//
// This file is the one place that layout is written down: batch_field says
// where each header field sits, decode_record_batch_header() reads them all
// (checking nothing: each caller judges them by its own rules, as
// parse_record_batch() below and the broker's partition log do), and
// write_batch_field() rewrites one in place.
// parse_record_batch() validates the framing of one batch (length against the
// bytes available, magic, CRC, attributes, counts) without touching the
// records; record_reader walks the records of an uncompressed batch;
// record_batch_builder writes uncompressed batches (tests, control batches).
// Everything reads from the caller's buffer: views stay valid as long as it.
// Nothing on the header paths allocates (the broker decodes every batch it
// appends).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/kafka/wire.h"
#include "common/result.h"

namespace fjord::kafka {

enum class compression_codec : int8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };
enum class timestamp_type : int8_t { create_time = 0, log_append_time = 1 };

/// A header field: where it starts and how many big-endian bytes it takes.
struct batch_field_layout {
    size_t at;
    size_t width;
};

/// Every header field, in the order of the layout above.
namespace batch_field {
inline constexpr batch_field_layout base_offset{0, 8};
inline constexpr batch_field_layout batch_length{8, 4};
inline constexpr batch_field_layout partition_leader_epoch{12, 4};
inline constexpr batch_field_layout magic{16, 1};
inline constexpr batch_field_layout crc{17, 4};
inline constexpr batch_field_layout attributes{21, 2};
inline constexpr batch_field_layout last_offset_delta{23, 4};
inline constexpr batch_field_layout base_timestamp{27, 8};
inline constexpr batch_field_layout max_timestamp{35, 8};
inline constexpr batch_field_layout producer_id{43, 8};
inline constexpr batch_field_layout producer_epoch{51, 2};
inline constexpr batch_field_layout base_sequence{53, 4};
inline constexpr batch_field_layout record_count{57, 4};
}  // namespace batch_field

/// Bytes before the first record.
inline constexpr size_t record_batch_header_size = 61;
/// baseOffset and batchLength: batchLength counts the bytes after these 12.
inline constexpr size_t record_batch_length_prefix = 12;
/// The smallest batchLength: the header after the batchLength field.
inline constexpr int32_t record_batch_min_length =
    static_cast<int32_t>(record_batch_header_size - record_batch_length_prefix);
/// Offset of the first byte the CRC covers (attributes). baseOffset lies
/// outside it, so assigning offsets leaves a producer's CRC valid.
inline constexpr size_t record_batch_crc_start = batch_field::attributes.at;
/// The magic byte of the v2 format, the only one this codec reads.
inline constexpr int8_t record_batch_magic_v2 = 2;

/// The fields of a batch header; see the layout above.
struct record_batch_header {
    int64_t base_offset = 0;
    int32_t batch_length = 0;
    int32_t partition_leader_epoch = -1;
    int8_t magic = 2;
    uint32_t crc = 0;
    int16_t attributes = 0;
    int32_t last_offset_delta = 0;
    int64_t base_timestamp = -1;
    int64_t max_timestamp = -1;
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    int32_t base_sequence = -1;
    int32_t record_count = 0;

    /// Attribute bits 0-2.
    compression_codec compression() const {
        return static_cast<compression_codec>(attributes & 0x07);
    }
    /// Attribute bit 3.
    timestamp_type ts_type() const {
        return (attributes & 0x08) != 0 ? timestamp_type::log_append_time
                                        : timestamp_type::create_time;
    }
    /// Attribute bit 4.
    bool is_transactional() const { return (attributes & 0x10) != 0; }
    /// Attribute bit 5: the batch holds one control record (commit/abort marker).
    bool is_control() const { return (attributes & 0x20) != 0; }
    /// Attribute bit 6: baseTimestamp holds the delete horizon (set by compaction).
    bool has_delete_horizon() const { return (attributes & 0x40) != 0; }
    int64_t last_offset() const { return base_offset + last_offset_delta; }
    /// The whole batch: batchLength plus the 12 bytes before it counts from;
    /// 0 for a negative batchLength (an unchecked header may carry one).
    size_t size_bytes() const {
        return batch_length < 0 ? 0
                                : record_batch_length_prefix + static_cast<size_t>(batch_length);
    }
};

/// Decodes the header fields from the first 61 bytes of `bytes` (which may
/// hold more). Checks nothing, not even the magic: the caller must pass at
/// least record_batch_header_size bytes and judge the fields itself.
record_batch_header decode_record_batch_header(std::string_view bytes);

/// Overwrites `field` of the batch header at the front of `batch` with the
/// low bytes of `v`, big-endian. A field in the CRC's range leaves the CRC
/// stale until update_record_batch_crc.
void write_batch_field(std::string& batch, batch_field_layout field, uint64_t v);

/// The CRC-32C that `batch` (one whole batch) should carry.
uint32_t record_batch_crc(std::string_view batch);

/// Recomputes the CRC of `batch` (one whole batch) and writes it into its
/// crc field.
void update_record_batch_crc(std::string& batch);

/// A validated batch inside the caller's buffer.
struct record_batch_view {
    record_batch_header header;
    std::string_view bytes;    ///< the whole batch, header included
    std::string_view records;  ///< after the header: the records, or one compressed blob
};

/// Parses and validates the batch at the front of `data` (which may hold more
/// after it). Errors: truncated (the header or batchLength runs past `data`),
/// invalid_batch (batchLength below 49, magic other than 2, an unknown
/// compression codec, negative counts), corrupt_batch (CRC-32C mismatch).
result<record_batch_view> parse_record_batch(std::string_view data);

/// Every batch of a `records` field, each validated. With `allow_partial_tail`
/// (a Fetch response cut at its byte limit) an incomplete last batch is
/// dropped instead of failing.
result<std::vector<record_batch_view>> parse_record_batches(std::string_view data,
                                                            bool allow_partial_tail = false);

/// A record header; the key is never null.
struct record_header_view {
    std::string_view key;
    std::optional<std::string_view> value;
};

/// One record of a batch; key and value are null when their length is -1.
struct record_view {
    int8_t attributes = 0;
    int64_t timestamp_delta = 0;
    int32_t offset_delta = 0;
    std::optional<std::string_view> key;
    std::optional<std::string_view> value;
    std::vector<record_header_view> headers;
};

/// Walks the records of one uncompressed batch, checking each record's
/// length prefix against its fields and the batch's recordsCount against the
/// records present.
class record_reader {
  public:
    explicit record_reader(const record_batch_view& batch);

    /// The next record, or nullopt after the last one. Fails with
    /// unsupported_compression on a compressed batch and with invalid_batch
    /// on a malformed record, a missing record, or bytes after the last.
    result<std::optional<record_view>> next();

  private:
    reader _r;
    compression_codec _codec;
    int32_t _count;
    int32_t _index = 0;
};

/// All records of an uncompressed batch.
result<std::vector<record_view>> read_records(const record_batch_view& batch);

/// A record header for the builder.
struct record_header {
    std::string key;
    std::optional<std::string> value;
};

/// Writes one uncompressed v2 batch. Records get consecutive offset deltas;
/// baseTimestamp is the first record's timestamp, maxTimestamp the largest.
///
///   std::string b = record_batch_builder(0).add("k", "v", 1700000000000).build();
class record_batch_builder {
  public:
    explicit record_batch_builder(int64_t base_offset = 0) : _base_offset(base_offset) {}

    record_batch_builder& partition_leader_epoch(int32_t e) {
        _leader_epoch = e;
        return *this;
    }
    record_batch_builder& producer(int64_t id, int16_t epoch, int32_t base_sequence) {
        _producer_id = id;
        _producer_epoch = epoch;
        _base_sequence = base_sequence;
        return *this;
    }
    record_batch_builder& transactional(bool on = true) { return set_bit(0x10, on); }
    record_batch_builder& control(bool on = true) { return set_bit(0x20, on); }
    record_batch_builder& log_append_time(bool on = true) { return set_bit(0x08, on); }

    record_batch_builder& add(std::optional<std::string_view> key,
                              std::optional<std::string_view> value, int64_t timestamp,
                              const std::vector<record_header>& headers = {});

    /// The batch, with batchLength and CRC filled in.
    std::string build() const;

  private:
    record_batch_builder& set_bit(int16_t bit, bool on) {
        _attributes = static_cast<int16_t>(on ? (_attributes | bit) : (_attributes & ~bit));
        return *this;
    }

    int64_t _base_offset;
    int32_t _leader_epoch = -1;
    int64_t _producer_id = -1;
    int16_t _producer_epoch = -1;
    int32_t _base_sequence = -1;
    int16_t _attributes = 0;
    int64_t _base_timestamp = -1;
    int64_t _max_timestamp = -1;
    int32_t _count = 0;
    writer _records;
};

}  // namespace fjord::kafka
