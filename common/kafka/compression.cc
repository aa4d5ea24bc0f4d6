// File: common/kafka/compression.cc

#include "common/kafka/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>

#include <fmt/format.h>

namespace fjord::kafka {
namespace {

class category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "kafka.compression"; }
    std::string message(int c) const override {
        switch (static_cast<compression_errc>(c)) {
            case compression_errc::success:
                return "success";
            case compression_errc::unsupported_codec:
                return "unsupported compression codec";
            case compression_errc::corrupt_input:
                return "corrupt compressed data";
            case compression_errc::output_too_large:
                return "decompressed data too large";
            case compression_errc::codec_failure:
                return "compression library failure";
        }
        return "unknown kafka.compression error " + std::to_string(c);
    }
};

error_info fail(compression_errc e, compression_codec c, std::string_view what) {
    return {e, fmt::format("{}: {}", codec_name(c), what)};
}

/// Decompressed output that never grows past max + 1 bytes: a codec writes
/// into the space room() hands out, and a result above max is refused.
class bounded_output {
  public:
    explicit bounded_output(size_t max) : _max(max) {}

    /// Up to `chunk` writable bytes at the end (0 once past the limit). The
    /// buffer doubles as it grows, but never beyond max + 1 bytes.
    std::pair<char*, size_t> room(size_t chunk) {
        const size_t cap = _max == std::numeric_limits<size_t>::max() ? _max : _max + 1;
        const size_t n = std::min(chunk, cap - _used);
        if (_used + n > _out.capacity()) {
            _out.reserve(std::min(cap, std::max(_used + n, 2 * _out.capacity())));
        }
        _out.resize(_used + n);
        return {_out.data() + _used, n};
    }
    void commit(size_t n) { _used += n; }
    bool over() const { return _used > _max; }
    size_t size() const { return _used; }
    std::string take() {
        _out.resize(_used);
        return std::move(_out);
    }

  private:
    std::string _out;
    size_t _used = 0;
    size_t _max;
};

constexpr size_t chunk_size = 64 * 1024;

std::string too_large(size_t max) {
    return fmt::format("decompresses to more than the {}-byte limit", max);
}

// --- gzip -------------------------------------------------------------------

result<std::string> gzip_decompress(std::string_view data, size_t max) {
    constexpr auto c = compression_codec::gzip;
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 16) != Z_OK) {  // 16: gzip wrapper only
        return fail(compression_errc::codec_failure, c, "inflateInit2 failed");
    }
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
    // avail_in is 32 bits; a batch is far below 4 GiB.
    if (data.size() > std::numeric_limits<uInt>::max()) {
        return fail(compression_errc::corrupt_input, c, "input above 4 GiB");
    }
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    bounded_output out(max);
    int member = 0;
    for (;;) {
        auto [p, n] = out.room(chunk_size);
        zs.next_out = reinterpret_cast<Bytef*>(p);
        zs.avail_out = static_cast<uInt>(n);
        const int rc = inflate(&zs, Z_NO_FLUSH);
        out.commit(n - zs.avail_out);
        if (out.over()) {
            return fail(compression_errc::output_too_large, c, too_large(max));
        }
        if (rc == Z_STREAM_END) {
            if (zs.avail_in == 0) {
                return out.take();
            }
            ++member;  // another gzip member follows (Java's GZIPInputStream reads them too)
            if (inflateReset(&zs) != Z_OK) {
                return fail(compression_errc::codec_failure, c, "inflateReset failed");
            }
            continue;
        }
        if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
            return fail(compression_errc::corrupt_input, c,
                        fmt::format("member {}: the input ends inside the stream", member));
        }
        if (rc != Z_OK) {
            return fail(compression_errc::corrupt_input, c,
                        fmt::format("member {}: {} (at input byte {})", member,
                                    zs.msg != nullptr ? zs.msg : "inflate failed",
                                    data.size() - zs.avail_in));
        }
    }
}

result<std::string> gzip_compress(std::string_view data) {
    constexpr auto c = compression_codec::gzip;
    if (data.size() > std::numeric_limits<uInt>::max()) {
        return fail(compression_errc::codec_failure, c, "input above 4 GiB");
    }
    z_stream zs{};
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        return fail(compression_errc::codec_failure, c, "deflateInit2 failed");
    }
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, deflateEnd);
    std::string out(deflateBound(&zs, static_cast<uLong>(data.size())), '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    if (const int rc = deflate(&zs, Z_FINISH); rc != Z_STREAM_END) {
        return fail(compression_errc::codec_failure, c, fmt::format("deflate returned {}", rc));
    }
    out.resize(zs.total_out);
    return out;
}

// --- snappy -----------------------------------------------------------------

// xerial's snappy-java framing (SnappyOutputStream), which Kafka's Java
// client writes: the magic, version 1, minimum compatible version 1.
constexpr std::string_view xerial_magic("\x82SNAPPY\0", 8);
constexpr size_t xerial_header_size = 16;
constexpr size_t xerial_block_size = 32 * 1024;  // snappy-java's default

uint32_t read_be32(std::string_view b, size_t at) {
    return (uint32_t{static_cast<uint8_t>(b[at])} << 24) |
           (uint32_t{static_cast<uint8_t>(b[at + 1])} << 16) |
           (uint32_t{static_cast<uint8_t>(b[at + 2])} << 8) | static_cast<uint8_t>(b[at + 3]);
}

void put_be32(std::string& out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((v >> shift) & 0xFFu));
    }
}

/// One raw snappy block appended to `out`. `where` prefixes errors.
result<void> snappy_block(std::string_view block, bounded_output& out, size_t max,
                          std::string_view where) {
    constexpr auto c = compression_codec::snappy;
    size_t n = 0;
    if (!snappy::GetUncompressedLength(block.data(), block.size(), &n)) {
        return fail(compression_errc::corrupt_input, c,
                    fmt::format("{}the uncompressed length prefix is malformed", where));
    }
    if (n > max - out.size()) {
        return fail(compression_errc::output_too_large, c,
                    fmt::format("{} ({}a block of {} bytes)", too_large(max), where, n));
    }
    auto [p, room] = out.room(n);
    if (!snappy::RawUncompress(block.data(), block.size(), p)) {
        return fail(compression_errc::corrupt_input, c,
                    fmt::format("{}the block does not decompress", where));
    }
    out.commit(room);
    return ok();
}

result<std::string> snappy_decompress(std::string_view data, size_t max) {
    constexpr auto c = compression_codec::snappy;
    bounded_output out(max);
    if (!data.starts_with(xerial_magic)) {
        // Raw snappy, as librdkafka and kafka-python write it.
        if (auto r = snappy_block(data, out, max, ""); !r) {
            return r.error();
        }
        return out.take();
    }
    size_t pos = 0;
    for (int block = 0; pos < data.size(); ++block) {
        const size_t left = data.size() - pos;
        if (data.substr(pos).starts_with(xerial_magic)) {
            // A header: the stream's first, or that of a stream appended to it.
            if (left < xerial_header_size) {
                return fail(compression_errc::corrupt_input, c,
                            fmt::format("xerial header at byte {}: {} bytes, want {}", pos, left,
                                        xerial_header_size));
            }
            pos += xerial_header_size;
            --block;
            continue;
        }
        if (left < 4) {
            return fail(
                compression_errc::corrupt_input, c,
                fmt::format("xerial block {}: {} bytes left, too few for its length", block, left));
        }
        const uint32_t len = read_be32(data, pos);
        if (len > left - 4) {
            return fail(compression_errc::corrupt_input, c,
                        fmt::format("xerial block {}: length {} runs past the input ({} bytes "
                                    "left)",
                                    block, static_cast<int32_t>(len), left - 4));
        }
        if (auto r = snappy_block(data.substr(pos + 4, len), out, max,
                                  fmt::format("xerial block {}: ", block));
            !r) {
            return r.error();
        }
        pos += 4 + len;
    }
    return out.take();
}

std::string snappy_compress(std::string_view data) {
    std::string out(xerial_magic);
    put_be32(out, 1);  // version
    put_be32(out, 1);  // minimum compatible version
    std::string block;
    for (size_t pos = 0; pos < data.size(); pos += xerial_block_size) {
        const std::string_view in = data.substr(pos, xerial_block_size);
        block.resize(snappy::MaxCompressedLength(in.size()));
        size_t n = 0;
        snappy::RawCompress(in.data(), in.size(), block.data(), &n);
        put_be32(out, static_cast<uint32_t>(n));
        out.append(block.data(), n);
    }
    return out;
}

// --- lz4 --------------------------------------------------------------------

result<std::string> lz4_decompress(std::string_view data, size_t max) {
    constexpr auto c = compression_codec::lz4;
    LZ4F_dctx* raw = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
        return fail(compression_errc::codec_failure, c, "cannot create a context");
    }
    std::unique_ptr<LZ4F_dctx, LZ4F_errorCode_t (*)(LZ4F_dctx*)> ctx(raw,
                                                                     LZ4F_freeDecompressionContext);
    bounded_output out(max);
    size_t pos = 0;
    for (;;) {
        auto [p, room] = out.room(chunk_size);
        size_t produced = room;
        size_t consumed = data.size() - pos;
        const size_t hint =
            LZ4F_decompress(ctx.get(), p, &produced, data.data() + pos, &consumed, nullptr);
        out.commit(produced);
        pos += consumed;
        if (LZ4F_isError(hint)) {
            return fail(compression_errc::corrupt_input, c,
                        fmt::format("{} (at input byte {})", LZ4F_getErrorName(hint), pos));
        }
        if (out.over()) {
            return fail(compression_errc::output_too_large, c, too_large(max));
        }
        // hint 0: a frame ended; more input is another frame.
        if (hint == 0 && pos == data.size()) {
            return out.take();
        }
        if (pos == data.size() && produced < room) {
            return fail(compression_errc::corrupt_input, c, "the input ends inside a frame");
        }
        if (consumed == 0 && produced == 0) {
            return fail(compression_errc::corrupt_input, c,
                        fmt::format("no progress at input byte {}", pos));
        }
    }
}

result<std::string> lz4_compress(std::string_view data) {
    LZ4F_preferences_t prefs{};
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    std::string out(LZ4F_compressFrameBound(data.size(), &prefs), '\0');
    const size_t n = LZ4F_compressFrame(out.data(), out.size(), data.data(), data.size(), &prefs);
    if (LZ4F_isError(n)) {
        return fail(compression_errc::codec_failure, compression_codec::lz4, LZ4F_getErrorName(n));
    }
    out.resize(n);
    return out;
}

// --- zstd -------------------------------------------------------------------

result<std::string> zstd_decompress(std::string_view data, size_t max) {
    constexpr auto c = compression_codec::zstd;
    std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
    if (!ctx) {
        return fail(compression_errc::codec_failure, c, "cannot create a context");
    }
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    bounded_output out(max);
    for (;;) {
        auto [p, room] = out.room(chunk_size);
        ZSTD_outBuffer o{p, room, 0};
        const size_t before = in.pos;
        const size_t rc = ZSTD_decompressStream(ctx.get(), &o, &in);
        out.commit(o.pos);
        if (ZSTD_isError(rc)) {
            return fail(compression_errc::corrupt_input, c,
                        fmt::format("{} (at input byte {})", ZSTD_getErrorName(rc), in.pos));
        }
        if (out.over()) {
            return fail(compression_errc::output_too_large, c, too_large(max));
        }
        // rc 0: a frame ended and is flushed; more input is another frame.
        if (rc == 0 && in.pos == in.size) {
            return out.take();
        }
        if (in.pos == in.size && o.pos < room) {
            return fail(compression_errc::corrupt_input, c, "the input ends inside a frame");
        }
        if (in.pos == before && o.pos == 0) {
            return fail(compression_errc::corrupt_input, c,
                        fmt::format("no progress at input byte {}", in.pos));
        }
    }
}

result<std::string> zstd_compress(std::string_view data) {
    std::string out(ZSTD_compressBound(data.size()), '\0');
    const size_t n =
        ZSTD_compress(out.data(), out.size(), data.data(), data.size(), ZSTD_CLEVEL_DEFAULT);
    if (ZSTD_isError(n)) {
        return fail(compression_errc::codec_failure, compression_codec::zstd, ZSTD_getErrorName(n));
    }
    out.resize(n);
    return out;
}

}  // namespace

const std::error_category& compression_category() {
    static const category c;
    return c;
}

std::string_view codec_name(compression_codec c) {
    switch (c) {
        case compression_codec::none:
            return "none";
        case compression_codec::gzip:
            return "gzip";
        case compression_codec::snappy:
            return "snappy";
        case compression_codec::lz4:
            return "lz4";
        case compression_codec::zstd:
            return "zstd";
    }
    return "unknown codec";
}

result<std::string> decompress(compression_codec codec, std::string_view data, size_t max_output) {
    if (data.empty() && codec != compression_codec::none) {
        // Every codec writes a header even for no data.
        return fail(compression_errc::corrupt_input, codec, "no compressed data");
    }
    switch (codec) {
        case compression_codec::gzip:
            return gzip_decompress(data, max_output);
        case compression_codec::snappy:
            return snappy_decompress(data, max_output);
        case compression_codec::lz4:
            return lz4_decompress(data, max_output);
        case compression_codec::zstd:
            return zstd_decompress(data, max_output);
        case compression_codec::none:
            break;
    }
    return error_info(compression_errc::unsupported_codec,
                      fmt::format("codec {} is not one of gzip (1), snappy (2), lz4 (3), zstd (4)",
                                  static_cast<int>(codec)));
}

result<std::string> compress(compression_codec codec, std::string_view data) {
    switch (codec) {
        case compression_codec::gzip:
            return gzip_compress(data);
        case compression_codec::snappy:
            return snappy_compress(data);
        case compression_codec::lz4:
            return lz4_compress(data);
        case compression_codec::zstd:
            return zstd_compress(data);
        case compression_codec::none:
            break;
    }
    return error_info(compression_errc::unsupported_codec,
                      fmt::format("codec {} is not one of gzip (1), snappy (2), lz4 (3), zstd (4)",
                                  static_cast<int>(codec)));
}

}  // namespace fjord::kafka
