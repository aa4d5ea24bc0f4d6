#pragma once
// File: common/kafka/errc.h
//
// Errors of the Kafka wire codec: primitives (wire.h), generated messages,
// framing (frame.h) and record batches (record_batch.h). Every error carries a
// detail that names the field at fault, e.g.
//   "MetadataRequest v9: Topics[2].Name: at byte 31: string length 40000 exceeds the 12 bytes left"
// The broker maps these to Kafka error codes at its one protocol boundary
// (a malformed request is INVALID_REQUEST or a closed connection; a bad batch
// is CORRUPT_MESSAGE or INVALID_RECORD).

#include <string_view>
#include <system_error>

namespace fjord::kafka {

enum class errc {
    success = 0,
    truncated,       ///< the input ends inside a value
    invalid_length,  ///< a length or count is negative where it may not be, or exceeds what is left
    invalid_varint,  ///< a varint is longer than its type allows
    invalid_value,   ///< null where the version forbids it, a duplicate tag, a value too long to
                     ///< write
    trailing_bytes,  ///< bytes are left after a value that must fill its space
    unsupported_version,  ///< a version outside validVersions, or a field the version cannot carry
    unsupported_api,      ///< an API key this codec does not know
    frame_too_large,      ///< a frame's size prefix is above the limit
    corrupt_batch,        ///< a record batch fails its CRC-32C
    invalid_batch,        ///< a record batch's framing or fields are malformed
    unsupported_compression,  ///< the records of a compressed batch cannot be iterated here
};

/// The enumerator's name, e.g. "invalid_length" (for logs and tests).
std::string_view to_string(errc e);

const std::error_category& error_category();
inline std::error_code make_error_code(errc e) {
    return {static_cast<int>(e), error_category()};
}

}  // namespace fjord::kafka

template <>
struct std::is_error_code_enum<fjord::kafka::errc> : std::true_type {};
