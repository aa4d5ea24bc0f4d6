// File: common/objstore/errc.cc
//
// The "objstore" error category.

#include "common/objstore/errc.h"

#include <string>

namespace fjord::objstore {

std::string_view to_string(errc e) {
    switch (e) {
        case errc::success:
            return "success";
        case errc::not_found:
            return "not_found";
        case errc::transient:
            return "transient";
        case errc::rejected:
            return "rejected";
        case errc::corrupt:
            return "corrupt";
        case errc::timeout:
            return "timeout";
        case errc::io_error:
            return "io_error";
        case errc::invalid_key:
            return "invalid_key";
        case errc::config:
            return "config";
    }
    return "unknown";
}

namespace {
class category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "objstore"; }
    std::string message(int v) const override { return std::string(to_string(errc(v))); }
};
}  // namespace

const std::error_category& error_category() {
    static const category c;
    return c;
}

}  // namespace fjord::objstore
