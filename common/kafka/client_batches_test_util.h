#pragma once
// File: common/kafka/client_batches_test_util.h
//
// Compressed record batches v2 exactly as real Kafka clients sent them, for
// the tests of compression.h and of the broker's record validator.
//
// librdkafka 2.0.2 (kcat 1.7.1): `kcat -P -t t -K: -z <codec> -H h1=hv -H h2=`
// with three lines "key<i>:value-<i> " + "abcdefgh" x 6, captured off the wire
// by a fake broker (tests/e2e/test_record_validation.py has it; it advertises
// Produce v0, without which librdkafka before 2.10 sends gzip, snappy and lz4
// batches uncompressed). librdkafka writes raw snappy, not xerial's framing.
//
// kafka-python 2.0.2, offline: DefaultRecordBatchBuilder(magic=2,
// compression_type=1) with records (k<i>, "value-<i> " + "abcdefgh" x 6,
// timestamp 1700000000000 + i, headers [("h", "v")]), i = 0..2.

#include <string>
#include <string_view>

#include "common/kafka/record_batch.h"

namespace fjord::kafka::testing {

struct client_batch {
    std::string_view client;
    compression_codec codec;
    std::string_view hex;  ///< the whole batch, header included
};

inline constexpr client_batch client_batches[] = {
    {"librdkafka", compression_codec::gzip,
     "0000000000000000000000840000000002fb0d7850000100000002000001a24d61e95e000001a24d61e95eff"
     "ffffffffffffffffffffffffff000000031f8b08000000000000039bc1c8c0c0c0919d5a6950509698539aaa"
     "6ba09098949c929a969e412ccdc29261c89251c69261c43003681a13c83443a86986949ac60232cd086a9a11"
     "25a60100b79993b8ea000000"},
    {"librdkafka", compression_codec::snappy,
     "0000000000000000000000810000000002a66e0431000200000002000001a24d61e96a000001a24d61e96aff"
     "ffffffffffffffffffffffffff00000003ea01689801000000086b6579307076616c75652d30206162636465"
     "6667689e0800280404683104687604683200014e1402086b6579310d4e0431209e460011283a4e000004014e"
     "00320d4e0032ee4e00"},
    {"librdkafka", compression_codec::lz4,
     "00000000000000000000008e0000000002f83cfc93000300000002000001a24d61e975000001a24d61e975ff"
     "ffffffffffffffffffffffffff0000000304224d186040824e000000ff0c9801000000086b6579307076616c"
     "75652d30206162636465666768080015b004046831046876046832004e0010024e0013314e001f314e002d10"
     "044e0013324e001f324e002450760468320000000000"},
    {"librdkafka", compression_codec::zstd,
     "0000000000000000000000800000000002c278cac6000400000002000001a24d61e97f000001a24d61e97fff"
     "ffffffffffffffffffffffffff0000000328b52ffd005835020044039801000000086b6579307076616c7565"
     "2d3020616263646566676804046831046876046832009801000002086b6579313104323206000152401eb058"
     "418a51c8d8579631"},
    {"kafka-python", compression_codec::gzip,
     "00000000000000000000007d0000000002ad84d76c0001000000020000018bcfe568000000018bcfe56802ff"
     "ffffffffffffffffffffffffff000000031f8b0800a7db156b02ffeb6064606060c93628284bcc294dd53550"
     "484c4a4e494d4bcf20966662ca602aeb6064606262c936849a6248b6292c2c2cd94650538cc8330500d26bbe"
     "19d2000000"},
};

/// The value of record i in every batch above.
inline std::string client_batch_value(int i) {
    std::string v = "value-" + std::to_string(i) + " ";
    for (int k = 0; k < 6; ++k) {
        v += "abcdefgh";
    }
    return v;
}

}  // namespace fjord::kafka::testing
