// File: common/objstore/errc.cc
//
// TEMPORARY stand-in for the integrator's errc.cc on branch tiered-base.
#include "common/objstore/errc.h"

#include <string>

namespace fjord::objstore {
namespace {

class category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "objstore"; }
    std::string message(int c) const override {
        switch (static_cast<errc>(c)) {
            case errc::not_found:
                return "not found";
            case errc::transient:
                return "transient";
            case errc::rejected:
                return "rejected";
            case errc::corrupt:
                return "corrupt";
            case errc::timeout:
                return "timeout";
            case errc::io_error:
                return "io error";
            case errc::invalid_key:
                return "invalid key";
            case errc::config:
                return "config";
        }
        return "unknown";
    }
};

}  // namespace

const std::error_category& error_category() {
    static const category c;
    return c;
}

}  // namespace fjord::objstore
