#pragma once
// File: common/kafka/frame.h
//
// Request framing: every request and response on a Kafka connection is an
// int32 size, then that many bytes (header + body). This file splits a byte
// stream into frames, parses request headers, and frames responses. It never
// sees a socket (broker/server/kafka_listener does the I/O).
//
//   stream ──split_frame──▶ frame ──parse_request──▶ request_view{header, body}
//                                                        │ <api>_request::decode(body, version)
//   frame_response(correlation_id, header_version, body) ◀┘ <api>_response::encode
//
// The header version follows from the API and its version (api_keys.h):
// request header v2 for flexible request versions, else v1; response header
// v1 for flexible versions, else v0, and always v0 for ApiVersions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/kafka/api_keys.h"
#include "common/kafka/messages/headers.h"
#include "common/result.h"

namespace fjord::kafka {

/// Kafka's socket.request.max.bytes default.
inline constexpr uint32_t default_max_frame_bytes = 100u << 20;

/// A complete frame at the front of a stream buffer.
struct frame_split {
    std::string_view frame;  ///< the frame's bytes, without the size prefix
    size_t consumed = 0;     ///< bytes of the buffer the frame took (prefix included)
};

/// The first frame of `buffer`, nullopt when more bytes are needed, or an
/// error when the size prefix is negative (invalid_length) or above
/// `max_frame_bytes` (frame_too_large): the connection cannot continue.
result<std::optional<frame_split>> split_frame(std::string_view buffer,
                                               uint32_t max_frame_bytes = default_max_frame_bytes);

/// A request frame with its header parsed; `body` points into the frame.
struct request_view {
    request_header header;
    int16_t header_version = 1;
    const api_info* api = nullptr;  ///< never null after a successful parse
    std::string_view body;

    int16_t api_key() const { return header.request_api_key; }
    int16_t api_version() const { return header.request_api_version; }
    int32_t correlation_id() const { return header.correlation_id; }
};

/// Parses the header of one request frame (without its size prefix).
/// An unknown API key fails with unsupported_api (Kafka closes the
/// connection). A version outside the API's range is not an error here: the
/// caller answers UNSUPPORTED_VERSION, and ApiVersions must do so with a v0
/// response even for versions it does not know.
result<request_view> parse_request(std::string_view frame);

/// A complete request frame: size prefix, header (version chosen from the
/// API and version in `header`), then `body`.
result<std::string> frame_request(const request_header& header, std::string_view body);

/// A complete response frame: size prefix, response header of
/// `header_version` (0 or 1, see response_header_version()), then `body`.
std::string frame_response(int32_t correlation_id, int16_t header_version, std::string_view body);

/// The same without the size prefix, for a transport that writes it itself
/// (broker/server/kafka_listener): response header, then `body`.
std::string response_message(int32_t correlation_id, int16_t header_version, std::string_view body);

}  // namespace fjord::kafka
