// File: common/kafka/client/wire_client.cc
//
// A direct Kafka connection (wire_client.h).

#include "common/kafka/client/wire_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/host_port.h"
#include "common/kafka/frame.h"
#include "common/kafka/messages/api_versions.h"
#include "common/kafka/messages/sasl_authenticate.h"
#include "common/kafka/messages/sasl_handshake.h"
#include "common/security/scram.h"
#include "common/tls/tls.h"

namespace fjord::kafka::client {
namespace {

namespace k = fjord::kafka;

error_info io_error(const std::string& address, std::string_view what, int err) {
    return error_info(std::error_code(err, std::generic_category()),
                      fmt::format("{}: {}: {}", address, what, std::strerror(err)));
}

std::string openssl_reason() {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) {
        return "the connection closed during the handshake";
    }
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

}  // namespace

struct wire_client::impl {
    int fd = -1;
    tls::ssl_ctx_ptr ctx;
    SSL* ssl = nullptr;

    ~impl() {
        if (ssl != nullptr) {
            SSL_shutdown(ssl);
            SSL_free(ssl);
        }
        if (fd >= 0) {
            ::close(fd);
        }
    }

    /// Writes all of `data`; false with errno set (or EPROTO for TLS).
    bool write_all(std::string_view data) {
        while (!data.empty()) {
            ssize_t n = 0;
            if (ssl != nullptr) {
                const int w = SSL_write(ssl, data.data(), static_cast<int>(data.size()));
                if (w <= 0) {
                    errno = errno != 0 ? errno : EPROTO;
                    return false;
                }
                n = w;
            } else {
                n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
                if (n < 0) {
                    if (errno == EINTR) {
                        continue;
                    }
                    return false;
                }
            }
            data.remove_prefix(static_cast<size_t>(n));
        }
        return true;
    }

    /// Reads exactly `n` bytes; false with errno set (0 bytes: ECONNRESET).
    bool read_exact(char* out, size_t n) {
        while (n > 0) {
            ssize_t got = 0;
            if (ssl != nullptr) {
                errno = 0;
                const int r = SSL_read(ssl, out, static_cast<int>(std::min<size_t>(n, 1 << 20)));
                if (r <= 0) {
                    errno = errno != 0 ? errno : ECONNRESET;
                    return false;
                }
                got = r;
            } else {
                got = ::recv(fd, out, n, 0);
                if (got < 0 && errno == EINTR) {
                    continue;
                }
                if (got <= 0) {
                    errno = got == 0 ? ECONNRESET : errno;
                    return false;
                }
            }
            out += got;
            n -= static_cast<size_t>(got);
        }
        return true;
    }
};

wire_client::wire_client(std::string address, client_options o)
    : _address(std::move(address)), _o(std::move(o)), _impl(std::make_unique<impl>()) {}

wire_client::~wire_client() = default;

result<std::unique_ptr<wire_client>> wire_client::open(const std::string& address,
                                                       const client_options& o) {
    auto hp = parse_host_port(address);
    if (!hp) {
        return error_info(hp.error().code,
                          fmt::format("broker address \"{}\": {}", address, hp.error().detail));
    }
    std::unique_ptr<wire_client> c(new wire_client(address, o));
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(hp->port);
    if (const int rc = ::getaddrinfo(hp->host.c_str(), port.c_str(), &hints, &found); rc != 0) {
        return error_info(
            std::make_error_code(std::errc::host_unreachable),
            fmt::format("{}: cannot resolve {}: {}", address, hp->host, ::gai_strerror(rc)));
    }
    const auto ms = o.timeout.count();
    const timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
    int last_errno = ECONNREFUSED;
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            c->_impl->fd = fd;
            break;
        }
        last_errno = errno == EINPROGRESS ? ETIMEDOUT : errno;
        ::close(fd);
    }
    ::freeaddrinfo(found);
    if (c->_impl->fd < 0) {
        return io_error(address, "cannot connect", last_errno);
    }
    if (o.tls) {
        in_addr v4{};
        in6_addr v6{};
        auto ctx = tls::make_client_context(*o.tls, o.tls_insecure_skip_verify);
        if (!ctx) {
            return error_info(ctx.error().code,
                              fmt::format("{}: TLS: {}", address, ctx.error().detail));
        }
        c->_impl->ctx = std::move(*ctx);
        c->_impl->ssl = SSL_new(c->_impl->ctx.get());
        if (c->_impl->ssl == nullptr || SSL_set_fd(c->_impl->ssl, c->_impl->fd) != 1) {
            return error_info(std::make_error_code(std::errc::protocol_error),
                              fmt::format("{}: TLS: {}", address, openssl_reason()));
        }
        if (!o.tls_insecure_skip_verify) {
            // Also names the host in SNI.
            if (auto v = tls::verify_host(c->_impl->ssl, hp->host); !v) {
                return error_info(v.error().code, fmt::format("{}: {}", address, v.error().detail));
            }
        } else if (o.tls_sni && ::inet_pton(AF_INET, hp->host.c_str(), &v4) != 1 &&
                   ::inet_pton(AF_INET6, hp->host.c_str(), &v6) != 1) {
            SSL_ctrl(c->_impl->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                     const_cast<char*>(hp->host.c_str()));
        }
        if (!o.tls_sni) {
            SSL_ctrl(c->_impl->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                     nullptr);
        }
        if (SSL_connect(c->_impl->ssl) != 1) {
            return error_info(
                std::make_error_code(std::errc::protocol_error),
                fmt::format("TLS with the broker {} failed: {}", address, openssl_reason()));
        }
    }
    if (auto v = c->negotiate(); !v) {
        return v.error();
    }
    if (!o.user.empty()) {
        if (auto a = c->authenticate(); !a) {
            return a.error();
        }
    }
    return c;
}

result<std::string> wire_client::round_trip(int16_t key, int16_t version, std::string_view body) {
    k::request_header h;
    h.request_api_key = key;
    h.request_api_version = version;
    h.correlation_id = _correlation++;
    h.client_id = _o.client_id;
    auto framed = k::frame_request(h, body);
    if (!framed) {
        return framed.error();
    }
    if (!_impl->write_all(*framed)) {
        return io_error(_address, "write", errno);
    }
    char size_be[4];
    if (!_impl->read_exact(size_be, sizeof size_be)) {
        return io_error(_address, "read", errno);
    }
    const uint32_t size = (static_cast<uint32_t>(static_cast<uint8_t>(size_be[0])) << 24) |
                          (static_cast<uint32_t>(static_cast<uint8_t>(size_be[1])) << 16) |
                          (static_cast<uint32_t>(static_cast<uint8_t>(size_be[2])) << 8) |
                          static_cast<uint32_t>(static_cast<uint8_t>(size_be[3]));
    if (size < 4 || size > _o.max_frame_bytes) {
        return error_info(std::make_error_code(std::errc::protocol_error),
                          fmt::format("{}: an answer of {} bytes", _address, size));
    }
    std::string frame(size, '\0');
    if (!_impl->read_exact(frame.data(), frame.size())) {
        return io_error(_address, "read", errno);
    }
    k::reader r(frame);
    auto corr = r.read_int32();
    if (!corr || *corr != h.correlation_id) {
        return error_info(std::make_error_code(std::errc::protocol_error),
                          fmt::format("{}: an answer to another request", _address));
    }
    const k::api_info* api = k::find_api(key);
    if (api != nullptr && k::response_header_version(*api, version) >= 1) {
        // The response header's tagged fields: none are read.
        auto tags = r.read_unsigned_varint();
        if (!tags) {
            return tags.error();
        }
        for (uint32_t i = 0; i < *tags; ++i) {
            if (auto t = r.read_tagged_field(); !t) {
                return t.error();
            }
        }
    }
    return std::string(frame.substr(frame.size() - r.remaining()));
}

result<void> wire_client::negotiate() {
    // v0: every broker answers it, and it needs no client name.
    auto resp = call<k::api_versions_request, k::api_versions_response>({}, 0);
    if (!resp) {
        return resp.error();
    }
    if (resp->error_code != 0) {
        return error_info(
            std::make_error_code(std::errc::protocol_error),
            fmt::format("{}: ApiVersions answered error {}", _address, resp->error_code));
    }
    for (const auto& a : resp->api_keys) {
        _versions[a.api_key] = {a.min_version, a.max_version};
    }
    return ok();
}

std::optional<int16_t> wire_client::version_for(int16_t api_key, int16_t min, int16_t max) const {
    auto it = _versions.find(api_key);
    if (it == _versions.end()) {
        return std::nullopt;
    }
    const int16_t v = std::min(max, it->second.second);
    if (v < min || v < it->second.first) {
        return std::nullopt;
    }
    return v;
}

result<void> wire_client::authenticate() {
    const auto& s = _o;
    const std::string mechanism = s.sasl_mechanism.empty() ? "SCRAM-SHA-256" : s.sasl_mechanism;
    auto failed = [&](std::string_view why) {
        return error_info(std::make_error_code(std::errc::permission_denied),
                          fmt::format("{}: SASL authentication as \"{}\" ({}) failed: {}", _address,
                                      s.user, mechanism, why));
    };
    const auto hs_version = version_for(static_cast<int16_t>(k::api_key::sasl_handshake), 1, 1);
    const auto auth_version =
        version_for(static_cast<int16_t>(k::api_key::sasl_authenticate), 0, 2);
    if (!hs_version || !auth_version) {
        return failed("the broker does not serve SaslHandshake v1 and SaslAuthenticate");
    }
    k::sasl_handshake_request hs;
    hs.mechanism = mechanism;
    auto hr = call<k::sasl_handshake_request, k::sasl_handshake_response>(hs, *hs_version);
    if (!hr) {
        return hr.error();
    }
    if (hr->error_code != 0) {
        return failed(fmt::format("the broker offers {}", fmt::join(hr->mechanisms, ", ")));
    }
    auto step = [&](std::string bytes) -> result<std::string> {
        k::sasl_authenticate_request req;
        req.auth_bytes = std::move(bytes);
        auto r =
            call<k::sasl_authenticate_request, k::sasl_authenticate_response>(req, *auth_version);
        if (!r) {
            return r.error();
        }
        if (r->error_code != 0) {
            return failed(r->error_message.value_or(fmt::format("error {}", r->error_code)));
        }
        return std::move(r->auth_bytes);
    };
    if (mechanism == "PLAIN") {
        std::string token;
        token.push_back('\0');
        token += s.user;
        token.push_back('\0');
        token += s.pass;
        auto r = step(std::move(token));
        return r ? ok() : result<void>(r.error());
    }
    auto m = security::parse_scram_mechanism(mechanism);
    if (!m) {
        return failed(m.error().reason());
    }
    security::scram_client sc(*m);
    auto server_first = step(sc.client_first(s.user));
    if (!server_first) {
        return server_first.error();
    }
    auto final_msg = sc.client_final(*server_first, s.pass);
    if (!final_msg) {
        return failed(final_msg.error().detail);
    }
    auto server_final = step(std::move(*final_msg));
    if (!server_final) {
        return server_final.error();
    }
    if (auto v = sc.verify_server_final(*server_final); !v) {
        return failed(v.error().detail);
    }
    return ok();
}

}  // namespace fjord::kafka::client
