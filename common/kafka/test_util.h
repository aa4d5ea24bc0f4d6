#pragma once
// File: common/kafka/test_util.h
//
// Helpers for the codec's tests: hex in and out, and the golden round trip
// (decode hand-written bytes, re-encode them, and check that every truncation
// fails cleanly).

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/kafka/wire.h"

namespace fjord::kafka::testing {

/// Bytes from hex digits; spaces are ignored.
inline std::string H(std::string_view hex) {
    std::string out;
    int hi = -1;
    for (const char c : hex) {
        int v = -1;
        if (c >= '0' && c <= '9') {
            v = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            v = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            v = c - 'A' + 10;
        } else {
            continue;
        }
        if (hi < 0) {
            hi = v;
        } else {
            out.push_back(static_cast<char>(hi * 16 + v));
            hi = -1;
        }
    }
    EXPECT_EQ(hi, -1) << "odd number of hex digits in " << hex;
    return out;
}

/// Lowercase hex of `bytes`, for readable failures.
inline std::string hex(std::string_view bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (const char c : bytes) {
        const auto b = static_cast<uint8_t>(c);
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

/// Decodes `wire` as a T of `version`, expects every byte consumed, re-encodes
/// and expects the same bytes, then expects every strict prefix to fail.
template <typename T>
T golden(const std::string& wire, int16_t version) {
    reader r(wire);
    auto m = T::decode(r, version);
    if (!m) {
        ADD_FAILURE() << T::schema_name << " v" << version << ": " << m.error().message();
        return T{};
    }
    EXPECT_EQ(r.remaining(), 0u) << T::schema_name << " v" << version;
    writer w;
    auto e = m->encode(w, version);
    EXPECT_TRUE(e) << (e ? "" : e.error().message());
    EXPECT_EQ(hex(w.data()), hex(wire)) << T::schema_name << " v" << version << " re-encoded";
    for (size_t n = 0; n < wire.size(); ++n) {
        reader tr(std::string_view(wire).substr(0, n));
        auto t = T::decode(tr, version);
        EXPECT_FALSE(t) << T::schema_name << " v" << version << " decoded from a " << n
                        << "-byte prefix of " << wire.size();
    }
    return std::move(*m);
}

/// Decodes `wire` as a T of `version`, expecting failure; returns the error.
template <typename T>
error_info decode_error(const std::string& wire, int16_t version) {
    reader r(wire);
    auto m = T::decode(r, version);
    EXPECT_FALSE(m) << T::schema_name << " v" << version << " decoded bad input";
    return m ? error_info() : m.error();
}

}  // namespace fjord::kafka::testing
