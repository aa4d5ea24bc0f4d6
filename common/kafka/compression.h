#pragma once
// File: common/kafka/compression.h
//
// The four codecs of Kafka record batches (attributes bits 0-2), in the
// formats Kafka clients write them: the records of a compressed batch v2 are
// one blob in the codec's format (the header stays uncompressed).
//
//   gzip    RFC 1952 gzip (zlib); several members back to back are read as one
//   snappy  raw snappy (librdkafka, kafka-python) or xerial's framing (the Java
//           client: an 8-byte magic "\x82SNAPPY\0", two int32 versions, then
//           [int32 length][raw snappy block]...). decompress() reads both;
//           compress() writes xerial's, as Kafka's Java client does (every
//           client reads it)
//   lz4     the LZ4 frame format (KIP-57; liblz4's lz4frame); compress() writes
//           independent 64 KiB blocks, which Kafka's Java reader requires
//   zstd    zstd frames (libzstd); several frames back to back are read as one
//
// Pure functions; nothing is kept between calls. Errors name the codec and the
// reason ("snappy: xerial block 2: length 900 runs past the input (40 bytes
// left)").

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

#include "common/kafka/record_batch.h"
#include "common/result.h"

namespace fjord::kafka {

enum class compression_errc {
    success = 0,
    /// The codec is none or not one of Kafka's four.
    unsupported_codec,
    /// The input is not valid data of its codec: truncated, damaged, or with
    /// bytes after the end of the compressed stream.
    corrupt_input,
    /// The input decompresses to more than max_output bytes (a decompression
    /// bomb, or a batch above the caller's limit).
    output_too_large,
    /// The library failed for another reason (out of memory).
    codec_failure,
};

const std::error_category& compression_category();
inline std::error_code make_error_code(compression_errc e) {
    return {static_cast<int>(e), compression_category()};
}

/// "gzip", "snappy", "lz4", "zstd", "none", or "codec <n>".
std::string_view codec_name(compression_codec c);

/// Decompresses `data`, refusing (output_too_large) as soon as the output
/// would exceed `max_output` bytes, whatever sizes the input claims: the
/// output never grows past max_output plus one chunk. (zstd's decoder also
/// reserves the window a frame declares, up to libzstd's default limit of
/// 128 MiB of address space; it is touched only as far as output is written.)
result<std::string> decompress(compression_codec codec, std::string_view data, size_t max_output);

/// Compresses `data` at the codec's default level.
result<std::string> compress(compression_codec codec, std::string_view data);

}  // namespace fjord::kafka

template <>
struct std::is_error_code_enum<fjord::kafka::compression_errc> : std::true_type {};
