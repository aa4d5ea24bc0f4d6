#pragma once
// File: common/strong_type.h
//
// `named_type<T, Tag>`: a value of T that does not mix with other named types
// over the same T. A term is not an index is not a node id; the compiler says
// so. Ordered ids also get offset arithmetic (`index + 1`), and the distance
// between two values of one type is a plain T.

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <type_traits>

#include <fmt/format.h>

namespace fjord {

template <typename T, typename Tag>
class named_type {
  public:
    using value_type = T;

    constexpr named_type() = default;
    constexpr explicit named_type(T v) : _v(v) {}

    constexpr T value() const { return _v; }
    constexpr auto operator<=>(const named_type&) const = default;

    constexpr named_type operator+(T d) const { return named_type(_v + d); }
    constexpr named_type operator-(T d) const { return named_type(_v - d); }
    constexpr T operator-(named_type o) const { return _v - o._v; }
    constexpr named_type& operator++() {
        ++_v;
        return *this;
    }
    constexpr named_type& operator--() {
        --_v;
        return *this;
    }
    constexpr named_type& operator+=(T d) {
        _v += d;
        return *this;
    }

    friend std::ostream& operator<<(std::ostream& os, named_type v) { return os << v._v; }

  private:
    T _v{};
};

}  // namespace fjord

template <typename T, typename Tag>
struct std::hash<fjord::named_type<T, Tag>> {
    size_t operator()(fjord::named_type<T, Tag> v) const noexcept {
        return std::hash<T>{}(v.value());
    }
};

template <typename T, typename Tag>
struct fmt::formatter<fjord::named_type<T, Tag>> : fmt::formatter<T> {
    auto format(fjord::named_type<T, Tag> v, fmt::format_context& ctx) const {
        return fmt::formatter<T>::format(v.value(), ctx);
    }
};
