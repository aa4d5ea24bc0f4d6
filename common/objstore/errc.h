#pragma once
// File: common/objstore/errc.h
//
// The object store's errors (object_store.h says what a caller may do with
// each). One category, "objstore", for every backend, so the archiver, the
// remote reader and the migration driver translate one space.

#include <string_view>
#include <system_error>

namespace fjord::objstore {

enum class errc {
    success = 0,
    not_found,    ///< no object under the key (S3 404)
    transient,    ///< 5xx, 429/SlowDown, a connection failure: retried, still failing
    rejected,     ///< any other 4xx (credentials, permissions, a bad request): not retried
    corrupt,      ///< a download failed its length or checksum check
    timeout,      ///< a request exceeded its timeout on every attempt
    io_error,     ///< the local directory backend's file system failed
    invalid_key,  ///< a key object_store.h does not allow
    config,       ///< the store's configuration is incomplete or wrong
};

std::string_view to_string(errc e);
const std::error_category& error_category();
inline std::error_code make_error_code(errc e) {
    return {static_cast<int>(e), error_category()};
}

}  // namespace fjord::objstore

template <>
struct std::is_error_code_enum<fjord::objstore::errc> : std::true_type {};
