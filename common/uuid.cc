// File: common/uuid.cc
//
// new_uuid() fills 16 bytes from getrandom(2) (or /dev/urandom when the
// syscall is missing), then sets the version (4) and variant (10xx) bits.

#include "common/uuid.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "common/assert.h"

namespace fjord {
namespace {

constexpr std::string_view hex_digits = "0123456789abcdef";

// Fills `out` completely or returns false. getrandom never returns short reads
// for <= 256 bytes once the pool is initialised, but EINTR is still possible
// while it is not, so loop.
bool fill_from_getrandom(std::array<uint8_t, 16>& out) {
    size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = ::getrandom(out.data() + done, out.size() - done, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        done += static_cast<size_t>(n);
    }
    return true;
}

bool fill_from_urandom(std::array<uint8_t, 16>& out) {
    const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            ::close(fd);
            return false;
        }
        done += static_cast<size_t>(n);
    }
    ::close(fd);
    return true;
}

bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

char to_lower_ascii(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

std::string new_uuid() {
    std::array<uint8_t, 16> b{};
    if (!fill_from_getrandom(b) && !fill_from_urandom(b)) {
        FJORD_PANIC("no source of randomness for a UUID: getrandom and /dev/urandom failed: {}",
                    std::strerror(errno));
    }
    b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
    b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
    std::string s;
    s.reserve(36);
    for (size_t i = 0; i < b.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            s.push_back('-');
        }
        s.push_back(hex_digits[b[i] >> 4]);
        s.push_back(hex_digits[b[i] & 0x0f]);
    }
    return s;
}

std::optional<std::string> parse_uuid(std::string_view text) {
    if (text.size() != 36) {
        return std::nullopt;
    }
    std::string out(text);
    for (size_t i = 0; i < out.size(); ++i) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (out[i] != '-') {
                return std::nullopt;
            }
        } else if (!is_hex(out[i])) {
            return std::nullopt;
        } else {
            out[i] = to_lower_ascii(out[i]);
        }
    }
    return out;
}

}  // namespace fjord
