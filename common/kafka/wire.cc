// File: common/kafka/wire.cc

#include "common/kafka/wire.h"

#include <algorithm>
#include <bit>
#include <limits>

namespace fjord::kafka {

namespace {

uint64_t load_be(std::string_view b) {
    uint64_t v = 0;
    for (const char c : b) {
        v = (v << 8) | static_cast<uint8_t>(c);
    }
    return v;
}

void store_be(std::string& out, uint64_t v, int width) {
    for (int shift = (width - 1) * 8; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((v >> shift) & 0xff));
    }
}

std::string with_index(std::string_view field, size_t index) {
    std::string s(field);
    s += '[';
    s += std::to_string(index);
    s += ']';
    return s;
}

error_info prefixed(error_info e, std::string prefix) {
    prefix += e.detail;
    e.detail = std::move(prefix);
    return e;
}

}  // namespace

// ---- reader ----

error_info reader::error_at(errc code, std::string_view what) const {
    std::string d = "at byte " + std::to_string(_pos) + ": ";
    d += what;
    return {code, std::move(d)};
}

result<std::string_view> reader::take(size_t n) {
    if (n > remaining()) {
        return error_at(errc::truncated, "needs " + std::to_string(n) + " bytes, " +
                                             std::to_string(remaining()) + " left");
    }
    std::string_view v = _data.substr(_pos, n);
    _pos += n;
    return v;
}

namespace {

/// The big-endian value in `bytes` (take()'s result: its error passes on).
template <typename T>
result<T> from_be(result<std::string_view> bytes) {
    if (!bytes) {
        return bytes.error();
    }
    return static_cast<T>(load_be(*bytes));
}

}  // namespace

result<int8_t> reader::read_int8() {
    return from_be<int8_t>(take(1));
}

result<int16_t> reader::read_int16() {
    return from_be<int16_t>(take(2));
}

result<int32_t> reader::read_int32() {
    return from_be<int32_t>(take(4));
}

result<int64_t> reader::read_int64() {
    return from_be<int64_t>(take(8));
}

result<uint16_t> reader::read_uint16() {
    return from_be<uint16_t>(take(2));
}

result<uint32_t> reader::read_uint32() {
    return from_be<uint32_t>(take(4));
}

result<double> reader::read_float64() {
    auto bits = from_be<uint64_t>(take(8));
    if (!bits) {
        return bits.error();
    }
    return std::bit_cast<double>(*bits);
}

result<bool> reader::read_bool() {
    auto b = take(1);
    if (!b) {
        return b.error();
    }
    return (*b)[0] != 0;
}

result<uuid> reader::read_uuid() {
    auto b = take(16);
    if (!b) {
        return b.error();
    }
    return uuid{load_be(b->substr(0, 8)), load_be(b->substr(8, 8))};
}

result<uint32_t> reader::read_unsigned_varint() {
    const size_t start = _pos;
    uint32_t v = 0;
    for (int i = 0; i < 5; ++i) {
        if (_pos >= _data.size()) {
            _pos = start;
            return error_at(errc::truncated, "unsigned varint runs past the end");
        }
        const auto b = static_cast<uint8_t>(_data[_pos++]);
        if (i == 4 && b > 0x0f) {
            _pos = start;
            return error_at(errc::invalid_varint, "unsigned varint exceeds 32 bits");
        }
        v |= static_cast<uint32_t>(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            return v;
        }
    }
    return v;  // unreachable: the fifth byte has no continuation bit
}

result<int64_t> reader::read_varlong() {
    const size_t start = _pos;
    uint64_t v = 0;
    for (int i = 0; i < 10; ++i) {
        if (_pos >= _data.size()) {
            _pos = start;
            return error_at(errc::truncated, "varint runs past the end");
        }
        const auto b = static_cast<uint8_t>(_data[_pos++]);
        if (i == 9 && b > 0x01) {
            _pos = start;
            return error_at(errc::invalid_varint, "varlong exceeds 64 bits");
        }
        v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
        }
    }
    return int64_t{0};  // unreachable: the tenth byte has no continuation bit
}

result<int32_t> reader::read_varint() {
    const size_t start = _pos;
    uint32_t v = 0;
    for (int i = 0; i < 5; ++i) {
        if (_pos >= _data.size()) {
            _pos = start;
            return error_at(errc::truncated, "varint runs past the end");
        }
        const auto b = static_cast<uint8_t>(_data[_pos++]);
        if (i == 4 && b > 0x0f) {
            _pos = start;
            return error_at(errc::invalid_varint, "varint exceeds 32 bits");
        }
        v |= static_cast<uint32_t>(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            return static_cast<int32_t>(v >> 1) ^ -static_cast<int32_t>(v & 1);
        }
    }
    return int32_t{0};  // unreachable
}

result<int64_t> reader::read_length(bool compact, bool bytes) {
    const size_t start = _pos;
    int64_t n = 0;
    if (compact) {
        auto v = read_unsigned_varint();
        if (!v) {
            return v.error();
        }
        n = static_cast<int64_t>(*v) - 1;
    } else if (bytes) {
        auto v = read_int32();
        if (!v) {
            return v.error();
        }
        n = *v;
    } else {
        auto v = read_int16();
        if (!v) {
            return v.error();
        }
        n = *v;
    }
    const char* kind = bytes ? "bytes" : "string";
    const size_t left = remaining();
    if (n < -1) {
        _pos = start;
        return error_at(errc::invalid_length,
                        std::string(kind) + " length " + std::to_string(n) + " is negative");
    }
    if (!bytes && n > static_cast<int64_t>(max_string_length)) {
        _pos = start;
        return error_at(errc::invalid_length,
                        "string length " + std::to_string(n) + " exceeds 32767");
    }
    if (n > static_cast<int64_t>(left)) {
        _pos = start;
        return error_at(errc::invalid_length, std::string(kind) + " length " + std::to_string(n) +
                                                  " exceeds the " + std::to_string(left) +
                                                  " bytes left");
    }
    return n;
}

result<std::string> reader::read_string(bool compact) {
    auto s = read_nullable_string(compact, false);
    if (!s) {
        return s.error();
    }
    return std::move(**s);
}

result<std::optional<std::string>> reader::read_nullable_string(bool compact, bool nullable) {
    const size_t start = _pos;
    auto n = read_length(compact, false);
    if (!n) {
        return n.error();
    }
    if (*n < 0) {
        if (!nullable) {
            _pos = start;
            return error_at(errc::invalid_value, "null string where the version forbids null");
        }
        return std::optional<std::string>();
    }
    auto b = take(static_cast<size_t>(*n));
    if (!b) {
        return b.error();
    }
    return std::optional<std::string>(std::string(*b));
}

result<std::string> reader::read_bytes(bool compact) {
    auto s = read_nullable_bytes(compact, false);
    if (!s) {
        return s.error();
    }
    return std::move(**s);
}

result<std::optional<std::string>> reader::read_nullable_bytes(bool compact, bool nullable) {
    const size_t start = _pos;
    auto n = read_length(compact, true);
    if (!n) {
        return n.error();
    }
    if (*n < 0) {
        if (!nullable) {
            _pos = start;
            return error_at(errc::invalid_value, "null bytes where the version forbids null");
        }
        return std::optional<std::string>();
    }
    auto b = take(static_cast<size_t>(*n));
    if (!b) {
        return b.error();
    }
    return std::optional<std::string>(std::string(*b));
}

result<int32_t> reader::read_array_length(bool compact, bool nullable, size_t min_element_size) {
    const size_t start = _pos;
    int64_t n = 0;
    if (compact) {
        auto v = read_unsigned_varint();
        if (!v) {
            return v.error();
        }
        n = static_cast<int64_t>(*v) - 1;
    } else {
        auto v = read_int32();
        if (!v) {
            return v.error();
        }
        n = *v;
    }
    if (n == -1) {
        if (!nullable) {
            _pos = start;
            return error_at(errc::invalid_value, "null array where the version forbids null");
        }
        return int32_t{-1};
    }
    if (n < -1) {
        _pos = start;
        return error_at(errc::invalid_length, "array length " + std::to_string(n) + " is negative");
    }
    const size_t each = std::max<size_t>(min_element_size, 1);
    const size_t left = remaining();
    if (static_cast<uint64_t>(n) > left / each) {
        _pos = start;
        return error_at(errc::invalid_length, "array length " + std::to_string(n) +
                                                  " needs at least " +
                                                  std::to_string(static_cast<uint64_t>(n) * each) +
                                                  " bytes, " + std::to_string(left) + " left");
    }
    if (n > std::numeric_limits<int32_t>::max()) {
        _pos = start;
        return error_at(errc::invalid_length, "array length " + std::to_string(n) + " too large");
    }
    return static_cast<int32_t>(n);
}

result<tagged_field_view> reader::read_tagged_field() {
    auto tag = read_unsigned_varint();
    if (!tag) {
        return tag.error();
    }
    const size_t at = _pos;
    auto size = read_unsigned_varint();
    if (!size) {
        return size.error();
    }
    if (const size_t left = remaining(); *size > left) {
        _pos = at;
        return error_at(errc::invalid_length, "tagged field " + std::to_string(*tag) + " size " +
                                                  std::to_string(*size) + " exceeds the " +
                                                  std::to_string(left) + " bytes left");
    }
    auto data = take(*size);
    if (!data) {
        return data.error();
    }
    return tagged_field_view{*tag, *data};
}

result<std::string_view> reader::read_view(size_t n) {
    return take(n);
}

result<void> reader::expect_end() const {
    if (remaining() != 0) {
        return error_at(errc::trailing_bytes, std::to_string(remaining()) + " bytes left unread");
    }
    return ok();
}

// ---- writer ----

void writer::write_int8(int8_t v) {
    _buf.push_back(static_cast<char>(v));
}

void writer::write_int16(int16_t v) {
    store_be(_buf, static_cast<uint16_t>(v), 2);
}

void writer::write_int32(int32_t v) {
    store_be(_buf, static_cast<uint32_t>(v), 4);
}

void writer::write_int64(int64_t v) {
    store_be(_buf, static_cast<uint64_t>(v), 8);
}

void writer::write_uint16(uint16_t v) {
    store_be(_buf, v, 2);
}

void writer::write_uint32(uint32_t v) {
    store_be(_buf, v, 4);
}

void writer::write_float64(double v) {
    store_be(_buf, std::bit_cast<uint64_t>(v), 8);
}

void writer::write_uuid(const uuid& v) {
    store_be(_buf, v.high, 8);
    store_be(_buf, v.low, 8);
}

void writer::write_unsigned_varint(uint32_t v) {
    while (v >= 0x80) {
        _buf.push_back(static_cast<char>((v & 0x7f) | 0x80));
        v >>= 7;
    }
    _buf.push_back(static_cast<char>(v));
}

void writer::write_varint(int32_t v) {
    write_unsigned_varint((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
}

void writer::write_varlong(int64_t v) {
    uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
    while (z >= 0x80) {
        _buf.push_back(static_cast<char>((z & 0x7f) | 0x80));
        z >>= 7;
    }
    _buf.push_back(static_cast<char>(z));
}

result<void> writer::write_string(std::string_view s, bool compact) {
    if (s.size() > max_string_length) {
        return error_info(errc::invalid_value,
                          "string of " + std::to_string(s.size()) + " bytes exceeds 32767");
    }
    if (compact) {
        write_unsigned_varint(static_cast<uint32_t>(s.size() + 1));
    } else {
        write_int16(static_cast<int16_t>(s.size()));
    }
    _buf.append(s);
    return ok();
}

result<void> writer::write_nullable_string(const std::optional<std::string>& s, bool compact,
                                           bool nullable) {
    if (s) {
        return write_string(*s, compact);
    }
    if (!nullable) {
        return error_info(errc::invalid_value, "null string where the version forbids null");
    }
    if (compact) {
        write_unsigned_varint(0);
    } else {
        write_int16(-1);
    }
    return ok();
}

result<void> writer::write_bytes(std::string_view b, bool compact) {
    if (b.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()) - 1) {
        return error_info(errc::invalid_value,
                          "bytes of length " + std::to_string(b.size()) + " exceed 2^31-2");
    }
    if (compact) {
        write_unsigned_varint(static_cast<uint32_t>(b.size() + 1));
    } else {
        write_int32(static_cast<int32_t>(b.size()));
    }
    _buf.append(b);
    return ok();
}

result<void> writer::write_nullable_bytes(const std::optional<std::string>& b, bool compact,
                                          bool nullable) {
    if (b) {
        return write_bytes(*b, compact);
    }
    if (!nullable) {
        return error_info(errc::invalid_value, "null bytes where the version forbids null");
    }
    if (compact) {
        write_unsigned_varint(0);
    } else {
        write_int32(-1);
    }
    return ok();
}

result<void> writer::write_array_length(size_t n, bool compact) {
    if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max()) - 1) {
        return error_info(errc::invalid_value,
                          "array of " + std::to_string(n) + " elements exceeds 2^31-2");
    }
    if (compact) {
        write_unsigned_varint(static_cast<uint32_t>(n + 1));
    } else {
        write_int32(static_cast<int32_t>(n));
    }
    return ok();
}

result<void> writer::write_null_array(bool compact, bool nullable) {
    if (!nullable) {
        return error_info(errc::invalid_value, "null array where the version forbids null");
    }
    if (compact) {
        write_unsigned_varint(0);
    } else {
        write_int32(-1);
    }
    return ok();
}

void writer::patch_int32(size_t pos, int32_t v) {
    const auto u = static_cast<uint32_t>(v);
    for (int i = 0; i < 4; ++i) {
        _buf[pos + static_cast<size_t>(i)] = static_cast<char>((u >> (24 - 8 * i)) & 0xff);
    }
}

// ---- tagged fields ----

writer& tagged_fields_writer::add(uint32_t tag) {
    _known.emplace_back(tag, writer());
    return _known.back().second;
}

result<void> tagged_fields_writer::finish(writer& w) {
    if (_known.empty() && _unknown.empty()) {
        w.write_unsigned_varint(0);
        return ok();
    }
    struct entry {
        uint32_t tag;
        std::string_view data;
        bool known;
    };
    std::vector<entry> all;
    all.reserve(_known.size() + _unknown.size());
    for (const auto& [tag, body] : _known) {
        all.push_back({tag, body.data(), true});
    }
    for (const auto& f : _unknown) {
        all.push_back({f.tag, f.data, false});
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const entry& a, const entry& b) { return a.tag < b.tag; });
    // Repeated unknown tags were received that way and go back unchanged; a
    // known field also present as unknown would be sent twice.
    for (size_t i = 1; i < all.size(); ++i) {
        if (all[i].tag == all[i - 1].tag && (all[i].known || all[i - 1].known)) {
            return error_info(errc::invalid_value,
                              "tag " + std::to_string(all[i].tag) + " appears twice");
        }
    }
    w.write_unsigned_varint(static_cast<uint32_t>(all.size()));
    for (const auto& e : all) {
        w.write_unsigned_varint(e.tag);
        w.write_unsigned_varint(static_cast<uint32_t>(e.data.size()));
        w.write_raw(e.data);
    }
    return ok();
}

void sort_by_tag(std::vector<tagged_field>& tags) {
    std::stable_sort(tags.begin(), tags.end(),
                     [](const tagged_field& a, const tagged_field& b) { return a.tag < b.tag; });
}

// ---- error paths ----

error_info in_field(error_info e, std::string_view field) {
    std::string p(field);
    p += ": ";
    return prefixed(std::move(e), std::move(p));
}

error_info in_element(error_info e, std::string_view field, size_t index) {
    return prefixed(std::move(e), with_index(field, index) + ": ");
}

error_info in_struct(error_info e, std::string_view field) {
    std::string p(field);
    p += '.';
    return prefixed(std::move(e), std::move(p));
}

error_info in_struct_element(error_info e, std::string_view field, size_t index) {
    return prefixed(std::move(e), with_index(field, index) + ".");
}

error_info in_message(error_info e, std::string_view message, int16_t version) {
    std::string p(message);
    p += " v" + std::to_string(version) + ": ";
    return prefixed(std::move(e), std::move(p));
}

error_info no_such_version(std::string_view message, int16_t version) {
    return {errc::unsupported_version,
            std::string(message) + " has no version " + std::to_string(version)};
}

error_info absent_field(std::string_view field, int16_t version) {
    return {errc::unsupported_version, std::string(field) + ": version " + std::to_string(version) +
                                           " cannot carry a non-default value"};
}

error_info tags_not_flexible(int16_t version) {
    return {errc::unsupported_version,
            "(tagged fields): version " + std::to_string(version) + " has no tagged fields"};
}

}  // namespace fjord::kafka
