#pragma once
// File: common/objstore/errc.h
//
// TEMPORARY stand-in for the integrator's errc.h on branch tiered-base (same
// enum, same category name); replaced by that file on merge.

#include <system_error>

namespace fjord::objstore {

enum class errc {
    not_found = 1,
    transient,
    rejected,
    corrupt,
    timeout,
    io_error,
    invalid_key,
    config,
};

const std::error_category& error_category();
inline std::error_code make_error_code(errc e) {
    return {static_cast<int>(e), error_category()};
}

}  // namespace fjord::objstore

template <>
struct std::is_error_code_enum<fjord::objstore::errc> : std::true_type {};
