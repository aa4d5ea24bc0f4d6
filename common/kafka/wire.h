#pragma once
// File: common/kafka/wire.h
//
// Kafka's wire primitives: big-endian integers, varints, classic and compact
// strings / bytes / arrays, uuids and tagged-field sections
// (../shared/kafka-protocol/README.md). The generated messages
// (common/kafka/messages/*.h in the build tree) are written in these terms.
//
// Contract:
// - A reader never reads outside its buffer, never throws, and never
//   allocates more than the bytes it has left justify: a length or count is
//   checked against what is left before anything is reserved. Every failure
//   is an error value (errc.h) whose detail says where ("at byte 17: ...");
//   generated code prefixes the field path ("Topics[2].Name: ...").
// - A writer appends to its own buffer; it fails only for values the wire
//   cannot carry (a string over 32767 bytes, null where the version forbids).
// - Byte strings are std::string: a `bytes` or `records` field holds raw
//   bytes, not text.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/kafka/errc.h"
#include "common/result.h"

namespace fjord::kafka {

/// Kafka's 128-bit uuid: on the wire the most significant 64 bits, then the
/// least significant. All zero is Kafka's ZERO_UUID (the default).
struct uuid {
    uint64_t high = 0;
    uint64_t low = 0;
    bool operator==(const uuid&) const = default;
};

/// A tagged field the codec does not know (a newer peer's), kept so that
/// re-encoding the struct sends it unchanged.
struct tagged_field {
    uint32_t tag = 0;
    std::string data;
    bool operator==(const tagged_field&) const = default;
};

/// One entry of a tagged-field section, still in the reader's buffer.
struct tagged_field_view {
    uint32_t tag = 0;
    std::string_view data;
};

/// Kafka strings are at most this long in either encoding.
inline constexpr size_t max_string_length = 32767;

/// How many elements to reserve for an array of `n` (already checked against
/// the bytes left): at most 1024 up front, so that a count backed by few real
/// elements costs little; the vector grows as elements actually decode.
inline size_t reserve_hint(int32_t n) {
    return n < 1024 ? static_cast<size_t>(n) : 1024;
}

class reader {
  public:
    explicit reader(std::string_view data) : _data(data) {}

    size_t position() const { return _pos; }
    size_t remaining() const { return _data.size() - _pos; }

    result<int8_t> read_int8();
    result<int16_t> read_int16();
    result<int32_t> read_int32();
    result<int64_t> read_int64();
    result<uint16_t> read_uint16();
    result<uint32_t> read_uint32();
    result<double> read_float64();
    /// Any non-zero byte is true.
    result<bool> read_bool();
    result<uuid> read_uuid();
    /// 7 bits a byte, low group first, at most 5 bytes; no zig-zag.
    result<uint32_t> read_unsigned_varint();
    /// Zig-zag varint (record fields), at most 5 bytes.
    result<int32_t> read_varint();
    /// Zig-zag varlong (record fields), at most 10 bytes.
    result<int64_t> read_varlong();

    /// A non-null string; null is an error.
    result<std::string> read_string(bool compact);
    /// A string that may be null when `nullable` (the field's nullableVersions
    /// hold for this version); null otherwise is an error.
    result<std::optional<std::string>> read_nullable_string(bool compact, bool nullable);
    result<std::string> read_bytes(bool compact);
    result<std::optional<std::string>> read_nullable_bytes(bool compact, bool nullable);
    /// An array's element count, or -1 for null (only when `nullable`). The
    /// count times `min_element_size` (taken as at least 1) must fit in the
    /// bytes left, so a hostile count cannot make the caller reserve memory.
    result<int32_t> read_array_length(bool compact, bool nullable, size_t min_element_size);
    /// Tag, size and that many bytes of one tagged field.
    result<tagged_field_view> read_tagged_field();
    /// The next `n` bytes, without copying.
    result<std::string_view> read_view(size_t n);
    /// Fails with trailing_bytes unless every byte was read.
    result<void> expect_end() const;

  private:
    result<std::string_view> take(size_t n);
    /// The length prefix of a string (`bytes` false) or bytes value; -1 is null.
    result<int64_t> read_length(bool compact, bool bytes);
    error_info error_at(errc code, std::string_view what) const;

    std::string_view _data;
    size_t _pos = 0;
};

class writer {
  public:
    void write_int8(int8_t v);
    void write_int16(int16_t v);
    void write_int32(int32_t v);
    void write_int64(int64_t v);
    void write_uint16(uint16_t v);
    void write_uint32(uint32_t v);
    void write_float64(double v);
    void write_bool(bool v) { write_int8(v ? 1 : 0); }
    void write_uuid(const uuid& v);
    void write_unsigned_varint(uint32_t v);
    void write_varint(int32_t v);
    void write_varlong(int64_t v);
    void write_raw(std::string_view bytes) { _buf.append(bytes); }

    result<void> write_string(std::string_view s, bool compact);
    /// Null is written only when `nullable`; otherwise it is an error.
    result<void> write_nullable_string(const std::optional<std::string>& s, bool compact,
                                       bool nullable);
    result<void> write_bytes(std::string_view b, bool compact);
    result<void> write_nullable_bytes(const std::optional<std::string>& b, bool compact,
                                      bool nullable);
    result<void> write_array_length(size_t n, bool compact);
    /// The null array, an error unless `nullable`.
    result<void> write_null_array(bool compact, bool nullable);

    void reserve(size_t n) { _buf.reserve(n); }
    /// Overwrites the 4 bytes at `pos` (a size prefix reserved earlier).
    void patch_int32(size_t pos, int32_t v);

    size_t size() const { return _buf.size(); }
    const std::string& data() const { return _buf; }
    std::string take() { return std::move(_buf); }

  private:
    std::string _buf;
};

/// Builds one struct's tagged-field section: known fields are added as they
/// are encoded, unknown ones come from the struct, and finish() writes them
/// all in ascending tag order.
class tagged_fields_writer {
  public:
    explicit tagged_fields_writer(const std::vector<tagged_field>& unknown) : _unknown(unknown) {}
    tagged_fields_writer(std::vector<tagged_field>&&) = delete;  // would dangle
    /// A writer for the body of known field `tag`; valid until the next add().
    writer& add(uint32_t tag);
    /// Fails if a known field's tag is also among the unknown ones.
    result<void> finish(writer& w);

  private:
    const std::vector<tagged_field>& _unknown;
    std::vector<std::pair<uint32_t, writer>> _known;
};

/// Puts unknown tagged fields in ascending tag order (stable), the order the
/// protocol writes them in, so that a decoded struct compares equal to its
/// re-encoded self.
void sort_by_tag(std::vector<tagged_field>& tags);

// Error paths. Generated code wraps every failure on its way up, so that the
// detail reads "Topics[2].Partitions[0].ErrorCode: at byte 40: needs 2 bytes, 1 left".

/// "<field>: <detail>" for a value read or written directly.
error_info in_field(error_info e, std::string_view field);
/// "<field>[<i>]: <detail>" for an element of an array of primitives.
error_info in_element(error_info e, std::string_view field, size_t index);
/// "<field>.<detail>" for a failure inside a nested struct.
error_info in_struct(error_info e, std::string_view field);
/// "<field>[<i>].<detail>" for a failure inside a struct element.
error_info in_struct_element(error_info e, std::string_view field, size_t index);
/// "<message> v<version>: <detail>".
error_info in_message(error_info e, std::string_view message, int16_t version);
/// unsupported_version: "<message> has no version <version>".
error_info no_such_version(std::string_view message, int16_t version);
/// unsupported_version: "<field>: version <v> cannot carry a non-default value".
error_info absent_field(std::string_view field, int16_t version);
/// unsupported_version: tagged fields set on a version that has none.
error_info tags_not_flexible(int16_t version);

}  // namespace fjord::kafka
