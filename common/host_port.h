#pragma once
// File: common/host_port.h
//
// A TCP endpoint as operators write it in configuration files and flags:
// "host:port" or "[ipv6]:port". Shared by the controller's and the broker's
// configuration (and anything else that names an address).
//
// Contract: nothing throws; parse_host_port's error detail is the reason only
// ("missing \":port\""), so callers can add the key and the text.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fjord {

/// A TCP endpoint: "host:port" or "[ipv6]:port". `host` is kept without
/// brackets.
struct host_port {
    std::string host;
    uint16_t port = 0;

    /// "host:port", with brackets around an IPv6 host.
    std::string to_string() const;
    bool operator==(const host_port&) const = default;
};

/// Parses "host:port" / "[v6]:port": port 1..65535, host an IPv4 address, a
/// bracketed IPv6 address or a DNS name. Errors are std::errc::invalid_argument
/// with the reason as detail.
result<host_port> parse_host_port(std::string_view text);

/// True for the "every address" hosts 0.0.0.0 and :: (bindable, but not an
/// address anyone can connect to).
bool is_wildcard_host(std::string_view host);

}  // namespace fjord
