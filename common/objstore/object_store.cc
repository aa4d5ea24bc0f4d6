// File: common/objstore/object_store.cc
//
// TEMPORARY stand-in for the integrator's object_store.cc on branch
// tiered-base (check_key only); replaced by that file on merge.
#include "common/objstore/object_store.h"

#include "common/objstore/errc.h"

namespace fjord::objstore {

result<void> check_key(std::string_view key) {
    if (key.empty()) {
        return error_info(errc::invalid_key, "key is empty");
    }
    if (key.front() == '/') {
        return error_info(errc::invalid_key, "key starts with '/'");
    }
    size_t start = 0;
    while (true) {
        const size_t slash = key.find('/', start);
        const std::string_view seg =
            key.substr(start, slash == std::string_view::npos ? key.npos : slash - start);
        if (seg.empty() || seg == "." || seg == "..") {
            return error_info(errc::invalid_key, "key has an empty, \".\" or \"..\" segment");
        }
        if (slash == std::string_view::npos) {
            break;
        }
        start = slash + 1;
    }
    for (const char ch : key) {
        if (ch < 0x20 || ch > 0x7e) {
            return error_info(errc::invalid_key, "key has a byte that is not printable ASCII");
        }
    }
    return ok();
}

}  // namespace fjord::objstore
