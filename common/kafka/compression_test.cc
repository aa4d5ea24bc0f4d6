// File: common/kafka/compression_test.cc
//
// compression.h: round trips for every codec, batches real clients wrote
// (client_batches_test_util.h), snappy's two framings, damaged input, and
// decompression bombs.

#include "common/kafka/compression.h"

#include <gtest/gtest.h>
#include <snappy.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/kafka/client_batches_test_util.h"
#include "common/kafka/record_batch.h"
#include "common/kafka/test_util.h"

namespace fjord::kafka {
namespace {

using testing::client_batch_value;
using testing::client_batches;
using testing::H;

constexpr compression_codec codecs[] = {compression_codec::gzip, compression_codec::snappy,
                                        compression_codec::lz4, compression_codec::zstd};

std::string random_bytes(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) {
        c = static_cast<char>(rng() & 0xFF);
    }
    return s;
}

std::string text(size_t n) {
    std::string s;
    for (int i = 0; s.size() < n; ++i) {
        s += "{\"order\":" + std::to_string(i) +
             ",\"item\":\"widget\",\"qty\":" + std::to_string(i % 7) + "}\n";
    }
    s.resize(n);
    return s;
}

TEST(compression, round_trips_every_codec) {
    const std::vector<std::string> inputs = {
        "",
        "x",
        text(1000),
        random_bytes(100 * 1024, 1),
        text(300 * 1024),
        std::string(200 * 1024, '\0'),  // several xerial and lz4 blocks
    };
    for (const auto codec : codecs) {
        for (const auto& in : inputs) {
            SCOPED_TRACE(::testing::Message() << codec_name(codec) << " " << in.size() << " bytes");
            auto c = compress(codec, in);
            ASSERT_TRUE(c) << c.error().message();
            auto d = decompress(codec, *c, in.size());
            ASSERT_TRUE(d) << d.error().message();
            EXPECT_EQ(*d, in);
            if (!in.empty()) {
                auto over = decompress(codec, *c, in.size() - 1);
                ASSERT_FALSE(over);
                EXPECT_EQ(over.code(), compression_errc::output_too_large)
                    << over.error().message();
            }
        }
    }
}

TEST(compression, reads_batches_real_clients_wrote) {
    for (const auto& cb : client_batches) {
        SCOPED_TRACE(::testing::Message() << cb.client << " " << codec_name(cb.codec));
        const std::string batch = H(cb.hex);
        auto view = parse_record_batch(batch);
        ASSERT_TRUE(view) << view.error().message();
        ASSERT_EQ(view->header.compression(), cb.codec);
        auto plain = decompress(cb.codec, view->records, 1 << 20);
        ASSERT_TRUE(plain) << plain.error().message();
        record_batch_view uncompressed = *view;
        uncompressed.header.attributes = 0;
        uncompressed.records = *plain;
        auto records = read_records(uncompressed);
        ASSERT_TRUE(records) << records.error().message();
        ASSERT_EQ(records->size(), 3u);
        const bool rd = cb.client == "librdkafka";
        for (int i = 0; i < 3; ++i) {
            const record_view& r = (*records)[static_cast<size_t>(i)];
            EXPECT_EQ(r.offset_delta, i);
            EXPECT_EQ(r.key, (rd ? "key" : "k") + std::to_string(i));
            EXPECT_EQ(r.value, client_batch_value(i));
            if (rd) {
                ASSERT_EQ(r.headers.size(), 2u);
                EXPECT_EQ(r.headers[0].key, "h1");
                EXPECT_EQ(r.headers[0].value, "hv");
                EXPECT_EQ(r.headers[1].key, "h2");
            } else {
                ASSERT_EQ(r.headers.size(), 1u);
                EXPECT_EQ(r.headers[0].key, "h");
                EXPECT_EQ(r.headers[0].value, "v");
                EXPECT_EQ(r.timestamp_delta, i);
            }
        }
    }
}

std::string be32(uint32_t v) {
    std::string s;
    for (int shift = 24; shift >= 0; shift -= 8) {
        s.push_back(static_cast<char>((v >> shift) & 0xFF));
    }
    return s;
}

const std::string xerial_header = std::string("\x82SNAPPY\0", 8) + be32(1) + be32(1);

std::string raw_snappy(std::string_view in) {
    std::string out;
    snappy::Compress(in.data(), in.size(), &out);
    return out;
}

TEST(compression, snappy_reads_raw_and_xerial_framing) {
    // librdkafka's raw block, then the same block in the Java client's framing.
    const std::string raw = H(client_batches[1].hex).substr(record_batch_header_size);
    auto from_raw = decompress(compression_codec::snappy, raw, 1 << 20);
    ASSERT_TRUE(from_raw) << from_raw.error().message();
    auto framed =
        decompress(compression_codec::snappy,
                   xerial_header + be32(static_cast<uint32_t>(raw.size())) + raw, 1 << 20);
    ASSERT_TRUE(framed) << framed.error().message();
    EXPECT_EQ(*framed, *from_raw);

    // Several blocks, and a second stream appended to the first (snappy-java
    // reads that as one).
    const std::string a = text(5000), b = text(70), c = random_bytes(300, 2);
    std::string two;
    for (const auto& part : {a, b}) {
        const std::string block = raw_snappy(part);
        two += be32(static_cast<uint32_t>(block.size())) + block;
    }
    const std::string block_c = raw_snappy(c);
    const std::string stream =
        xerial_header + two + xerial_header + be32(static_cast<uint32_t>(block_c.size())) + block_c;
    auto all = decompress(compression_codec::snappy, stream, 1 << 20);
    ASSERT_TRUE(all) << all.error().message();
    EXPECT_EQ(*all, a + b + c);
    // A header alone is an empty stream.
    auto empty = decompress(compression_codec::snappy, xerial_header, 10);
    ASSERT_TRUE(empty) << empty.error().message();
    EXPECT_EQ(*empty, "");

    // A block length running past the input names the block.
    auto bad =
        decompress(compression_codec::snappy, xerial_header + two + be32(900) + "abc", 1 << 20);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.code(), compression_errc::corrupt_input);
    EXPECT_EQ(bad.error().detail,
              "snappy: xerial block 2: length 900 runs past the input (3 bytes left)");
    auto short_header = decompress(compression_codec::snappy, xerial_header.substr(0, 12), 10);
    ASSERT_FALSE(short_header);
    EXPECT_EQ(short_header.code(), compression_errc::corrupt_input);
}

TEST(compression, damaged_input_is_refused_naming_the_codec) {
    const std::string plain = text(3000);
    for (const auto codec : codecs) {
        SCOPED_TRACE(codec_name(codec));
        const std::string name = std::string(codec_name(codec)) + ": ";
        auto c = compress(codec, plain);
        ASSERT_TRUE(c);
        // Every truncation fails, except xerial's framing cut between blocks
        // (it has no end mark), which gives back a prefix.
        for (size_t n = 0; n < c->size(); ++n) {
            auto d = decompress(codec, c->substr(0, n), 1 << 20);
            if (d) {
                ASSERT_EQ(codec, compression_codec::snappy) << n;
                EXPECT_EQ(plain.substr(0, d->size()), *d) << n;
                continue;
            }
            EXPECT_EQ(d.code(), compression_errc::corrupt_input) << n << d.error().message();
            EXPECT_TRUE(d.error().detail.starts_with(name)) << d.error().detail;
        }
        // Bytes after the end of the stream.
        auto trailing = decompress(codec, *c + "junk", 1 << 20);
        ASSERT_FALSE(trailing);
        EXPECT_EQ(trailing.code(), compression_errc::corrupt_input) << trailing.error().message();
        // Garbage, and garbage that looks like snappy's raw length prefix.
        for (uint32_t seed = 0; seed < 50; ++seed) {
            auto g = decompress(codec, random_bytes(1 + seed * 7, seed), 1 << 20);
            if (g) {
                // Only raw snappy has no magic: a few random bytes can be valid.
                EXPECT_EQ(codec, compression_codec::snappy) << seed;
            } else {
                EXPECT_NE(g.code(), compression_errc::codec_failure) << g.error().message();
            }
        }
    }
    EXPECT_EQ(decompress(compression_codec::gzip, "", 100).error().detail,
              "gzip: no compressed data");
}

TEST(compression, bombs_stop_at_the_limit) {
    const std::string zeros(8 << 20, '\0');
    for (const auto codec : codecs) {
        SCOPED_TRACE(codec_name(codec));
        auto c = compress(codec, zeros);
        ASSERT_TRUE(c);
        EXPECT_LT(c->size(), zeros.size() / 10);
        auto d = decompress(codec, *c, 1 << 20);
        ASSERT_FALSE(d);
        EXPECT_EQ(d.code(), compression_errc::output_too_large);
        EXPECT_EQ(d.error().detail.substr(0, codec_name(codec).size()), codec_name(codec));
    }
    // Raw snappy whose prefix claims 4 GiB: refused before any allocation.
    const std::string claim = "\xff\xff\xff\xff\x0f" + std::string(10, 'a');
    auto d = decompress(compression_codec::snappy, claim, 1 << 20);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.code(), compression_errc::output_too_large) << d.error().message();
}

TEST(compression, codec_none_and_unknown_codecs_are_unsupported) {
    for (const auto codec : {compression_codec::none, static_cast<compression_codec>(5)}) {
        auto d = decompress(codec, "abc", 100);
        ASSERT_FALSE(d);
        EXPECT_EQ(d.code(), compression_errc::unsupported_codec);
        auto c = compress(codec, "abc");
        ASSERT_FALSE(c);
        EXPECT_EQ(c.code(), compression_errc::unsupported_codec);
    }
}

}  // namespace
}  // namespace fjord::kafka
