// File: common/objstore/object_store.cc
//
// The key rule and the factory of object_store.h.

#include "common/objstore/object_store.h"

#include "common/objstore/errc.h"
#include "common/objstore/local_store.h"
#include "common/objstore/s3_store.h"

namespace fjord::objstore {

result<void> check_key(std::string_view key) {
    auto bad = [&](std::string_view why) {
        return error_info(errc::invalid_key,
                          "key \"" + std::string(key) + "\": " + std::string(why));
    };
    if (key.empty()) {
        return bad("empty");
    }
    if (key.size() > 1024) {
        return bad("longer than 1024 bytes");
    }
    if (key.front() == '/') {
        return bad("starts with '/'");
    }
    for (char c : key) {
        if (c < 0x21 || c > 0x7e) {
            return bad("holds a character that is not printable ASCII");
        }
    }
    size_t start = 0;
    while (start <= key.size()) {
        size_t end = key.find('/', start);
        if (end == std::string_view::npos) {
            end = key.size();
        }
        const std::string_view seg = key.substr(start, end - start);
        if (seg.empty()) {
            return bad("has an empty path segment");
        }
        if (seg == "." || seg == "..") {
            return bad("has a \".\" or \"..\" segment");
        }
        start = end + 1;
    }
    return ok();
}

result<std::unique_ptr<object_store>> make_store(const store_config& c) {
    switch (c.kind) {
        case store_config::backend::local:
            return make_local_store(c.local_directory);
        case store_config::backend::s3:
            return make_s3_store(c);
    }
    return error_info(errc::config, "unknown backend");
}

}  // namespace fjord::objstore
