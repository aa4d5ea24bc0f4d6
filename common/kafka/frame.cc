// File: common/kafka/frame.cc

#include "common/kafka/frame.h"

#include "common/kafka/errc.h"
#include "common/kafka/wire.h"

namespace fjord::kafka {

result<std::optional<frame_split>> split_frame(std::string_view buffer, uint32_t max_frame_bytes) {
    reader r(buffer);
    auto size = r.read_int32();
    if (!size) {
        return std::optional<frame_split>();
    }
    if (*size < 0) {
        return error_info(errc::invalid_length,
                          "frame size " + std::to_string(*size) + " is negative");
    }
    if (static_cast<uint32_t>(*size) > max_frame_bytes) {
        return error_info(errc::frame_too_large, "frame size " + std::to_string(*size) +
                                                     " exceeds the limit of " +
                                                     std::to_string(max_frame_bytes) + " bytes");
    }
    const auto n = static_cast<size_t>(*size);
    if (r.remaining() < n) {
        return std::optional<frame_split>();
    }
    return std::optional<frame_split>(frame_split{buffer.substr(4, n), 4 + n});
}

result<request_view> parse_request(std::string_view frame) {
    reader peek(frame);
    auto key = peek.read_int16();
    if (!key) {
        return in_field(key.error(), "RequestHeader.RequestApiKey");
    }
    auto version = peek.read_int16();
    if (!version) {
        return in_field(version.error(), "RequestHeader.RequestApiVersion");
    }
    const api_info* api = find_api(*key);
    if (api == nullptr) {
        return error_info(errc::unsupported_api, "api key " + std::to_string(*key) + " (version " +
                                                     std::to_string(*version) +
                                                     ") is not supported");
    }
    request_view v;
    v.api = api;
    v.header_version = request_header_version(*api, *version);
    reader r(frame);
    auto header = request_header::decode(r, v.header_version);
    if (!header) {
        return header.error();
    }
    v.header = std::move(*header);
    v.body = frame.substr(r.position());
    return v;
}

result<std::string> frame_request(const request_header& header, std::string_view body) {
    const api_info* api = find_api(header.request_api_key);
    if (api == nullptr) {
        return error_info(
            errc::unsupported_api,
            "api key " + std::to_string(header.request_api_key) + " is not supported");
    }
    writer w;
    w.write_int32(0);
    if (auto e = header.encode(w, request_header_version(*api, header.request_api_version)); !e) {
        return e.error();
    }
    w.write_raw(body);
    w.patch_int32(0, static_cast<int32_t>(w.size() - 4));
    return w.take();
}

namespace {

std::string response(int32_t correlation_id, int16_t header_version, std::string_view body,
                     bool size_prefix) {
    const size_t header_size = header_version >= 1 ? 5 : 4;
    const size_t size = header_size + body.size();
    writer w;
    w.reserve((size_prefix ? 4 : 0) + size);
    if (size_prefix) {
        w.write_int32(static_cast<int32_t>(size));
    }
    w.write_int32(correlation_id);
    if (header_version >= 1) {
        w.write_unsigned_varint(0);  // no tagged fields
    }
    w.write_raw(body);
    return w.take();
}

}  // namespace

std::string frame_response(int32_t correlation_id, int16_t header_version, std::string_view body) {
    return response(correlation_id, header_version, body, true);
}

std::string response_message(int32_t correlation_id, int16_t header_version,
                             std::string_view body) {
    return response(correlation_id, header_version, body, false);
}

}  // namespace fjord::kafka
