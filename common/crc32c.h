#pragma once
// File: common/crc32c.h
//
// CRC32C (Castagnoli), the checksum on every durable record. Uses the SSE4.2
// instruction when the CPU has it, a table otherwise; both give the same value.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fjord {

/// Extends `crc` (0 to start) over `n` bytes at `data`.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n);
inline uint32_t crc32c(std::string_view s) {
    return crc32c_extend(0, s.data(), s.size());
}

}  // namespace fjord
