// File: common/host_port.cc
//
// host:port parsing by hand: inet_pton decides what an IP address is, a short
// loop what a DNS name is (RFC 1123 labels), from_chars the port.

#include "common/host_port.h"

#include <arpa/inet.h>

#include <charconv>
#include <system_error>

#include <fmt/format.h>

namespace fjord {

std::string host_port::to_string() const {
    if (host.find(':') != std::string::npos) {
        return fmt::format("[{}]:{}", host, port);
    }
    return fmt::format("{}:{}", host, port);
}

bool is_wildcard_host(std::string_view host) {
    return host == "0.0.0.0" || host == "::" || host == "0:0:0:0:0:0:0:0";
}

namespace {

bool valid_dns_name(std::string_view h) {
    if (h.empty() || h.size() > 253) {
        return false;
    }
    size_t label = 0;
    char prev = '.';
    for (const char c : h) {
        if (c == '.') {
            if (label == 0 || prev == '-') {
                return false;
            }
            label = 0;
        } else {
            const bool alnum =
                (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            if (!(alnum || (c == '-' && label > 0)) || ++label > 63) {
                return false;
            }
        }
        prev = c;
    }
    return prev != '-';
}

}  // namespace

result<host_port> parse_host_port(std::string_view text) {
    const auto invalid = [](std::string reason) {
        return error_info(std::make_error_code(std::errc::invalid_argument), std::move(reason));
    };
    std::string_view host;
    std::string_view port_text;
    if (text.starts_with('[')) {
        const size_t close = text.find(']');
        if (close == std::string_view::npos) {
            return invalid("missing \"]\" after the IPv6 address");
        }
        host = text.substr(1, close - 1);
        const std::string_view rest = text.substr(close + 1);
        if (!rest.starts_with(':')) {
            return invalid("missing \":port\"");
        }
        port_text = rest.substr(1);
        in6_addr a6{};
        if (::inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) {
            return invalid(fmt::format("\"{}\" is not an IPv6 address", host));
        }
    } else {
        const size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return invalid("missing \":port\"");
        }
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            return invalid("an IPv6 address must be in brackets, as in [::1]:9644");
        }
        if (host.empty()) {
            return invalid("empty host");
        }
        const bool numeric = host.find_first_not_of("0123456789.") == std::string_view::npos;
        in_addr a4{};
        if (numeric) {
            if (::inet_pton(AF_INET, std::string(host).c_str(), &a4) != 1) {
                return invalid(fmt::format("\"{}\" is not an IPv4 address", host));
            }
        } else if (!valid_dns_name(host)) {
            return invalid(fmt::format("\"{}\" is not a valid host name", host));
        }
    }
    if (port_text.empty()) {
        return invalid("missing port number after \":\"");
    }
    uint32_t port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() ||
        port_text.find_first_not_of("0123456789") != std::string_view::npos) {
        return invalid(fmt::format("port \"{}\" is not a number", port_text));
    }
    if (port < 1 || port > 65535) {
        return invalid(fmt::format("port {} is outside 1..65535", port));
    }
    return host_port{std::string(host), static_cast<uint16_t>(port)};
}

}  // namespace fjord
