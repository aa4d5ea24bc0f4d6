#pragma once
// File: broker/storage/log_test_util.h
//
// Helpers shared by the broker/storage tests: a temp directory per test, a
// builder of real Kafka v2 record batches (records varint-encoded as the
// protocol says, CRC-32C computed here from the spec, independently of
// common/kafka/record_batch.cc), and raw file surgery for damaging a log directory the
// way disks and crashes do.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "broker/storage/partition_log.h"
#include "common/crc32c.h"
#include "common/fs/fault_file_ops.h"
#include "common/fs/test_util.h"

namespace fjord::broker::storage {

/// Readable gtest failure messages.
inline void PrintTo(const segment_info& s, std::ostream* os) {
    *os << fmt::format("{{[{}, {}) {} bytes, max ts {}}}", s.base, s.next, s.size_bytes,
                       s.max_timestamp);
}

}  // namespace fjord::broker::storage

namespace fjord::broker::storage::testing {

// The shared test file layer and file surgery (common/fs).
using fs::testing::contains;
using fs::testing::copy_dir;
using fs::testing::crash_tail;
using fs::testing::fault_file_ops;
using fs::testing::files_in;
using fs::testing::flip_bit;
using fs::testing::read_bytes;
using fs::testing::write_bytes;

/// A temp directory (common/fs) that also names the partition directory the
/// tests use.
class temp_dir : public fs::testing::temp_dir {
  public:
    temp_dir() : fs::testing::temp_dir("fjord_broker_log_test") {}
    /// The partition directory the tests use (created by open()).
    std::string log() const { return path() + "/topic-0"; }
};

// --- batches ----------------------------------------------------------------

inline void put_be(std::string& out, uint64_t v, size_t n) {
    for (size_t i = n; i-- > 0;) {
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
    }
}

inline void put_varlong(std::string& out, int64_t v) {
    auto z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
    while (z >= 0x80) {
        out.push_back(static_cast<char>((z & 0x7F) | 0x80));
        z >>= 7;
    }
    out.push_back(static_cast<char>(z));
}

struct batch_spec {
    int records = 1;
    int64_t timestamp = 1000;  ///< the first record's; record i has timestamp + i
    size_t value_size = 16;
    int tag = 0;  ///< varies the values, so batches differ
    /// An idempotent producer's fields; -1: none (a plain producer).
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    int32_t base_sequence = -1;
};

/// A valid producer batch (baseOffset 0) as a Kafka client would send it.
inline std::string make_batch(const batch_spec& s) {
    std::string records;
    for (int i = 0; i < s.records; ++i) {
        std::string body;
        body.push_back(0);                           // attributes
        put_varlong(body, s.timestamp < 0 ? 0 : i);  // timestampDelta
        put_varlong(body, i);                        // offsetDelta
        put_varlong(body, -1);                       // key: null
        std::string value;
        while (value.size() < s.value_size) {
            value += fmt::format("v{}.{}.{};", s.tag, i, value.size());
        }
        value.resize(s.value_size);
        put_varlong(body, static_cast<int64_t>(value.size()));
        body += value;
        put_varlong(body, 0);  // headers
        put_varlong(records, static_cast<int64_t>(body.size()));
        records += body;
    }
    const int64_t max_ts = s.timestamp < 0 ? s.timestamp : s.timestamp + s.records - 1;
    std::string crc_part;
    put_be(crc_part, 0, 2);                                        // attributes
    put_be(crc_part, static_cast<uint64_t>(s.records - 1), 4);     // lastOffsetDelta
    put_be(crc_part, static_cast<uint64_t>(s.timestamp), 8);       // baseTimestamp
    put_be(crc_part, static_cast<uint64_t>(max_ts), 8);            // maxTimestamp
    put_be(crc_part, static_cast<uint64_t>(s.producer_id), 8);     // producerId
    put_be(crc_part, static_cast<uint64_t>(s.producer_epoch), 2);  // producerEpoch
    put_be(crc_part, static_cast<uint64_t>(s.base_sequence), 4);   // baseSequence
    put_be(crc_part, static_cast<uint64_t>(s.records), 4);         // recordCount
    crc_part += records;
    std::string b;
    put_be(b, 0, 8);                                                   // baseOffset
    put_be(b, 4 + 1 + 4 + crc_part.size(), 4);                         // batchLength
    put_be(b, static_cast<uint64_t>(-1), 4);                           // partitionLeaderEpoch
    b.push_back(2);                                                    // magic
    put_be(b, crc32c_extend(0, crc_part.data(), crc_part.size()), 4);  // crc
    b += crc_part;
    return b;
}

inline std::string make_batch(int records, int64_t timestamp, size_t value_size = 16, int tag = 0) {
    return make_batch(batch_spec{records, timestamp, value_size, tag});
}

/// The header fields of frame_records().
struct batch_frame {
    int32_t record_count = 1;
    int32_t last_offset_delta = -1;  ///< -1: record_count - 1
    int16_t attributes = 0;          ///< bits 0-2 the codec of `records`
    int64_t base_timestamp = 1000;
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    int32_t base_sequence = -1;
};

/// A batch with a valid header and CRC around `records`, whatever they hold
/// (records, a compressed blob, garbage): what a client that frames its
/// batch correctly but writes bad records sends.
inline std::string frame_records(std::string_view records, const batch_frame& f) {
    const int32_t last = f.last_offset_delta == -1 ? f.record_count - 1 : f.last_offset_delta;
    std::string crc_part;
    put_be(crc_part, static_cast<uint16_t>(f.attributes), 2);
    put_be(crc_part, static_cast<uint32_t>(last), 4);
    put_be(crc_part, static_cast<uint64_t>(f.base_timestamp), 8);
    put_be(crc_part, static_cast<uint64_t>(f.base_timestamp), 8);  // maxTimestamp
    put_be(crc_part, static_cast<uint64_t>(f.producer_id), 8);
    put_be(crc_part, static_cast<uint16_t>(f.producer_epoch), 2);
    put_be(crc_part, static_cast<uint32_t>(f.base_sequence), 4);
    put_be(crc_part, static_cast<uint32_t>(f.record_count), 4);
    crc_part += records;
    std::string b;
    put_be(b, 0, 8);                            // baseOffset
    put_be(b, 4 + 1 + 4 + crc_part.size(), 4);  // batchLength
    put_be(b, static_cast<uint32_t>(-1), 4);    // partitionLeaderEpoch
    b.push_back(2);                             // magic
    put_be(b, crc32c_extend(0, crc_part.data(), crc_part.size()), 4);
    b += crc_part;
    return b;
}

/// `batch` with baseOffset o: what the log stores for it.
inline std::string with_base_offset(std::string batch, int64_t o) {
    std::string be;
    put_be(be, static_cast<uint64_t>(o), 8);
    batch.replace(0, 8, be);
    return batch;
}

inline uint64_t get_be(std::string_view b, size_t at, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
        v = (v << 8) | static_cast<uint8_t>(b[at + i]);
    }
    return v;
}

/// Splits concatenated batches (as read() returns them).
inline std::vector<std::string> split_batches(std::string_view bytes) {
    std::vector<std::string> out;
    while (!bytes.empty()) {
        EXPECT_GE(bytes.size(), 12u);
        if (bytes.size() < 12) {
            break;
        }
        const size_t n = 12 + get_be(bytes, 8, 4);
        EXPECT_LE(n, bytes.size());
        out.emplace_back(bytes.substr(0, std::min(n, bytes.size())));
        bytes.remove_prefix(std::min(n, bytes.size()));
    }
    return out;
}

inline int64_t base_offset_of(std::string_view batch) {
    return static_cast<int64_t>(get_be(batch, 0, 8));
}

// --- logs -------------------------------------------------------------------

inline log_config small_config(int64_t segment_bytes = 1024) {
    log_config c;
    c.segment_bytes = segment_bytes;
    c.index_interval_bytes = 100;
    c.retention_ms = -1;
    return c;
}

inline std::unique_ptr<partition_log> open_ok(const std::string& dir, const log_config& c,
                                              int64_t now_ms = 0,
                                              std::shared_ptr<fs::file_ops> fs = nullptr) {
    auto r = partition_log::open(dir, c, now_ms, std::move(fs));
    EXPECT_TRUE(r) << r.error().message();
    return r ? std::move(*r) : nullptr;
}

/// Every batch in the log from its start, as stored.
inline std::vector<std::string> all_batches(const partition_log& log) {
    auto r = log.read(log.log_start_offset(), UINT64_MAX, log.log_end_offset());
    EXPECT_TRUE(r) << r.error().message();
    return r ? split_batches(r->bytes) : std::vector<std::string>{};
}

// --- files ------------------------------------------------------------------

inline std::vector<std::string> log_files(const std::string& dir) {
    return files_in(dir, ".log");
}

}  // namespace fjord::broker::storage::testing
