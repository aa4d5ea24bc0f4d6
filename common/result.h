#pragma once
// File: common/result.h
//
// Errors are values (DESIGN.md §4). `result<T>` holds either a T or an `error_info`:
// an `std::error_code` from a module's `errc` enum plus a human detail that
// names the field and the reason. An error about a request field carries that
// field as data too (`error_info::for_field`), so that an API can report it
// without parsing the text. Nothing here throws; `value()` on an error is a
// programming mistake and aborts.
//
// Example:
//   result<log_index> r = log.append(entries);
//   if (!r) { return r.error(); }
//   use(*r);

#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace fjord {

/// An error code together with a detail for the reader ("segment 3 at offset
/// 4096: checksum mismatch"). Compare by `code`; print with `message()`.
///
/// An error about a request field also names the field (`field`, relative to
/// the request or item the producer was given: "name", "partitions[2].replicas").
/// Invariant: when `field` is set, `detail == field + ": " + reason()`, so the
/// text reads the same whether or not its reader looks at `field`.
struct error_info {
    std::error_code code;
    std::string detail;
    /// The request field at fault; empty when the error is not about one.
    std::string field;

    error_info() = default;
    error_info(std::error_code c, std::string d = {}) : code(c), detail(std::move(d)) {}
    template <typename E>
    requires std::is_error_code_enum_v<E> error_info(E e, std::string d = {})
        : code(make_error_code(e)), detail(std::move(d)) {}

    /// An error about request field `f` (empty: about no field):
    /// detail "<f>: <reason>".
    static error_info for_field(std::error_code c, std::string_view f, std::string_view reason) {
        error_info e(c);
        e.field = std::string(f);
        e.detail = f.empty() ? std::string(reason) : e.field + ": " + std::string(reason);
        return e;
    }
    template <typename E>
    requires std::is_error_code_enum_v<E>
    static error_info for_field(E c, std::string_view f, std::string_view reason) {
        return for_field(make_error_code(c), f, reason);
    }

    /// The detail without the "<field>: " prefix (all of it when no field).
    std::string_view reason() const {
        std::string_view d = detail;
        return field.empty() ? d : d.substr(field.size() + 2);
    }

    /// The same error seen from an enclosing request: `prefix` ("set.",
    /// "topics[2].") is put before the field and the detail. Without a field
    /// only the detail is prefixed.
    error_info within(std::string_view prefix) const {
        error_info e(code, std::string(prefix) + detail);
        if (!field.empty()) {
            e.field = std::string(prefix) + field;
        }
        return e;
    }

    /// "<category>: <code message>: <detail>" (detail omitted when empty).
    std::string message() const {
        std::string m = std::string(code.category().name()) + ": " + code.message();
        if (!detail.empty()) {
            m += ": " + detail;
        }
        return m;
    }
};

template <typename T>
class [[nodiscard]] result {
  public:
    result(T v) : _v(std::in_place_index<0>, std::move(v)) {}
    result(error_info e) : _v(std::in_place_index<1>, std::move(e)) {}
    template <typename E>
    requires std::is_error_code_enum_v<E> result(E e, std::string detail = {})
        : _v(std::in_place_index<1>, error_info(e, std::move(detail))) {}

    bool has_value() const { return _v.index() == 0; }
    explicit operator bool() const { return has_value(); }

    T& value() & { return checked(); }
    const T& value() const& { return const_cast<result*>(this)->checked(); }
    T&& value() && { return std::move(checked()); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    std::error_code code() const { return has_value() ? std::error_code{} : std::get<1>(_v).code; }
    /// The error, for propagation (`return r.error();`). Only valid on failure.
    const fjord::error_info& error() const { return std::get<1>(_v); }

  private:
    T& checked() {
        if (!has_value()) {
            std::abort();
        }
        return std::get<0>(_v);
    }
    std::variant<T, fjord::error_info> _v;
};

template <>
class [[nodiscard]] result<void> {
  public:
    result() = default;
    result(error_info e) : _e(std::move(e)), _failed(true) {}
    template <typename E>
    requires std::is_error_code_enum_v<E> result(E e, std::string detail = {})
        : _e(e, std::move(detail)), _failed(true) {}

    bool has_value() const { return !_failed; }
    explicit operator bool() const { return has_value(); }
    std::error_code code() const { return _failed ? _e.code : std::error_code{}; }
    const fjord::error_info& error() const { return _e; }

  private:
    fjord::error_info _e;
    bool _failed = false;
};

/// The success value of `result<void>`.
inline result<void> ok() {
    return {};
}

}  // namespace fjord
