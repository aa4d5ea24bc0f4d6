// File: common/byte_window.cc

#include "common/byte_window.h"

#include <algorithm>
#include <cstring>

namespace fjord {

void byte_window::reshape(size_t cap) {
    const size_t n = size();
    cap = std::max(cap, n);
    if (cap != _cap) {
        std::unique_ptr<char[]> other(new char[cap]);
        if (n > 0) {
            std::memcpy(other.get(), data(), n);
        }
        _buf = std::move(other);
        _cap = cap;
    } else if (_start > 0 && n > 0) {
        std::memmove(_buf.get(), data(), n);
    }
    _start = 0;
    _end = n;
}

void byte_window::prepare_receive(size_t initial, size_t max, size_t want) {
    size_t cap = std::max({_cap, initial, size_t{1}});
    if (_filled) {
        cap *= 2;
    }
    // Past `max` the capacity is capped anyway; this also keeps the
    // doubling finite whatever `want` is.
    want = std::min(want, max);
    while (cap < want) {
        cap *= 2;
    }
    _filled = false;
    reshape(std::max(std::min(cap, max), _cap));
}

}  // namespace fjord
