// File: common/kafka/errc.cc
//
// The "kafka_codec" error category.

#include "common/kafka/errc.h"

#include <string>

namespace fjord::kafka {

std::string_view to_string(errc e) {
    switch (e) {
        case errc::success:
            return "success";
        case errc::truncated:
            return "truncated";
        case errc::invalid_length:
            return "invalid_length";
        case errc::invalid_varint:
            return "invalid_varint";
        case errc::invalid_value:
            return "invalid_value";
        case errc::trailing_bytes:
            return "trailing_bytes";
        case errc::unsupported_version:
            return "unsupported_version";
        case errc::unsupported_api:
            return "unsupported_api";
        case errc::frame_too_large:
            return "frame_too_large";
        case errc::corrupt_batch:
            return "corrupt_batch";
        case errc::invalid_batch:
            return "invalid_batch";
        case errc::unsupported_compression:
            return "unsupported_compression";
    }
    return "unknown";
}

namespace {

class category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "kafka_codec"; }
    std::string message(int c) const override {
        switch (static_cast<errc>(c)) {
            case errc::success:
                return "success";
            case errc::truncated:
                return "truncated input";
            case errc::invalid_length:
                return "invalid length";
            case errc::invalid_varint:
                return "invalid varint";
            case errc::invalid_value:
                return "invalid value";
            case errc::trailing_bytes:
                return "trailing bytes";
            case errc::unsupported_version:
                return "unsupported version";
            case errc::unsupported_api:
                return "unsupported api key";
            case errc::frame_too_large:
                return "frame too large";
            case errc::corrupt_batch:
                return "corrupt record batch";
            case errc::invalid_batch:
                return "invalid record batch";
            case errc::unsupported_compression:
                return "unsupported compression";
        }
        return "unknown kafka_codec error " + std::to_string(c);
    }
};

}  // namespace

const std::error_category& error_category() {
    static const category c;
    return c;
}

}  // namespace fjord::kafka
