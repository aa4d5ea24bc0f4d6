// File: broker/storage/fuzz/record_validator_fuzzer.cc
//
// libFuzzer target for what partition_log::append checks of a producer's
// batch: validate_batch (header, CRC) and validate_records (every record,
// after decompression). Each input is used twice:
//
//   1. as a whole batch, as a client would send it: validate_batch, then
//      validate_records if the header passed;
//   2. as records inside a batch whose header and CRC are valid, so that the
//      fuzzer reaches the record walker instead of failing at the CRC:
//        byte 0   bits 0-2 the codec, bit 3 compress the rest with it (else
//                 the rest is the compressed blob as is), bit 4 transactional,
//                 bit 5 control, bit 6 require_keys, bit 7 from the broker
//        byte 1   recordCount - 1
//        rest     the records
//      validate_batch must accept that header (else the harness is wrong).
//
// Any crash or sanitizer report is a bug, and so is a batch the validator
// accepts but common/kafka's independent record reader refuses or counts
// differently. Built with clang only (FJORD_FUZZ=ON, see
// broker/storage/CMakeLists.txt); scripts/test runs it for a short while with
// the seeds in corpus/.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "broker/storage/batch_header.h"
#include "broker/storage/record_validator.h"
#include "common/crc32c.h"
#include "common/kafka/compression.h"
#include "common/kafka/record_batch.h"

namespace {

using namespace fjord::broker::storage;
using fjord::kafka::compression_codec;

// Small enough that a bomb is cheap to refuse, large enough for any input.
constexpr size_t max_decompressed = 1 << 20;

void put_be(std::string& out, uint64_t v, size_t n) {
    for (size_t i = n; i-- > 0;) {
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
    }
}

/// A batch with a valid header and CRC around `records`.
std::string frame(std::string_view records, int16_t attributes, int32_t count,
                  int64_t producer_id) {
    std::string crc_part;
    put_be(crc_part, static_cast<uint16_t>(attributes), 2);
    put_be(crc_part, static_cast<uint32_t>(count - 1), 4);  // lastOffsetDelta
    put_be(crc_part, 1000, 8);                              // baseTimestamp
    put_be(crc_part, 1000, 8);                              // maxTimestamp
    put_be(crc_part, static_cast<uint64_t>(producer_id), 8);
    put_be(crc_part, producer_id < 0 ? 0xFFFFu : 0u, 2);      // producerEpoch
    put_be(crc_part, producer_id < 0 ? 0xFFFFFFFFu : 0u, 4);  // baseSequence
    put_be(crc_part, static_cast<uint32_t>(count), 4);        // recordCount
    crc_part += records;
    std::string b;
    put_be(b, 0, 8);                            // baseOffset
    put_be(b, 4 + 1 + 4 + crc_part.size(), 4);  // batchLength
    put_be(b, 0xFFFFFFFFu, 4);                  // partitionLeaderEpoch
    b.push_back(2);                             // magic
    put_be(b, fjord::crc32c(crc_part), 4);
    return b + crc_part;
}

/// An accepted batch must walk, with common/kafka's reader, to exactly its
/// recordCount records with offset deltas 0, 1, 2, ...
void check_accepted(std::string_view batch, const fjord::kafka::record_batch_header& h) {
    std::string plain(batch.substr(fjord::kafka::record_batch_header_size));
    if (h.compression() != compression_codec::none) {
        auto d = fjord::kafka::decompress(h.compression(), plain, max_decompressed);
        if (!d) {
            std::abort();  // accepted, so it decompressed
        }
        plain = std::move(*d);
    }
    fjord::kafka::record_batch_view v;
    v.header.record_count = h.record_count;
    v.records = plain;
    auto records = fjord::kafka::read_records(v);
    if (!records || records->size() != static_cast<size_t>(h.record_count)) {
        std::abort();
    }
    for (size_t i = 0; i < records->size(); ++i) {
        if ((*records)[i].offset_delta != static_cast<int32_t>(i)) {
            std::abort();
        }
    }
}

void validate(std::string_view batch, const record_validation& opts, bool header_must_pass) {
    auto h = validate_batch(batch);
    if (!h) {
        if (header_must_pass) {
            std::abort();
        }
        return;
    }
    if (validate_records(batch, *h, opts)) {
        check_accepted(batch, *h);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    record_validation opts;
    opts.max_decompressed_bytes = max_decompressed;
    validate(input, opts, false);

    if (size < 2) {
        return 0;
    }
    const auto mode = static_cast<uint8_t>(input[0]);
    const int count = static_cast<uint8_t>(input[1]) + 1;
    const int codec = mode & 0x7;
    if (codec > 4) {
        return 0;
    }
    std::string records(input.substr(2));
    if ((mode & 0x08) != 0 && codec != 0) {
        auto c = fjord::kafka::compress(static_cast<compression_codec>(codec), records);
        if (!c) {
            std::abort();
        }
        records = std::move(*c);
    }
    const auto attributes = static_cast<int16_t>(codec | (mode & 0x30));
    opts.require_keys = (mode & 0x40) != 0;
    opts.from_client = (mode & 0x80) == 0;
    // A transactional batch gets a producer id half of the time.
    const int64_t producer_id = (mode & 0x10) != 0 && (count & 1) != 0 ? 7 : -1;
    validate(frame(records, attributes, count, producer_id), opts, true);
    return 0;
}
