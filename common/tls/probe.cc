// File: common/tls/probe.cc
//
// One blocking TLS (or plaintext-detection) handshake against an endpoint
// that a client just failed to reach, to name the mistake (probe.h).

#include "common/tls/probe.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <csignal>
#include <ctime>

#include <fmt/format.h>

namespace fjord::tls {
namespace {

bool split_address(const std::string& address, std::string& host, std::string& port) {
    if (address.starts_with("[")) {
        const size_t end = address.find("]:");
        if (end == std::string::npos) {
            return false;
        }
        host = address.substr(1, end - 1);
        port = address.substr(end + 2);
    } else {
        const size_t colon = address.rfind(':');
        if (colon == std::string::npos) {
            return false;
        }
        host = address.substr(0, colon);
        port = address.substr(colon + 1);
    }
    return !host.empty() && !port.empty();
}

void set_timeouts(int fd, std::chrono::milliseconds t) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(t.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/// A connected blocking socket whose reads and writes time out after `t`,
/// or -1 when no address of `host` accepts within `t`.
int dial(const std::string& host, const std::string& port, std::chrono::milliseconds t) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) {
        return -1;
    }
    int out = -1;
    for (addrinfo* ai = res; ai != nullptr && out < 0; ai = ai->ai_next) {
        const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                                ai->ai_protocol);
        if (fd < 0) {
            continue;
        }
        int r = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (r != 0 && errno == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            int err = -1;
            socklen_t len = sizeof err;
            if (::poll(&p, 1, static_cast<int>(t.count())) == 1 &&
                ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
                r = 0;
            }
        }
        if (r != 0) {
            ::close(fd);
            continue;
        }
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        set_timeouts(fd, t);
        out = fd;
    }
    ::freeaddrinfo(res);
    return out;
}

/// SIGPIPE from a write to a socket the server closed would kill the
/// caller: blocked for the probe, and one raised meanwhile is discarded.
class sigpipe_guard {
  public:
    sigpipe_guard() {
        sigset_t pipe;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        _was_pending = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &pipe, &_old);
    }
    ~sigpipe_guard() {
        if (!_was_pending) {
            sigset_t pipe;
            sigemptyset(&pipe);
            sigaddset(&pipe, SIGPIPE);
            const timespec zero{0, 0};
            while (sigtimedwait(&pipe, nullptr, &zero) == SIGPIPE) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &_old, nullptr);
    }
    sigpipe_guard(const sigpipe_guard&) = delete;
    sigpipe_guard& operator=(const sigpipe_guard&) = delete;

  private:
    sigset_t _old{};
    bool _was_pending = false;
};

bool contains(const std::string& s, std::string_view what) {
    return s.find(what) != std::string::npos;
}

/// describe_failure's sentence as a client-side reader wants it.
std::string client_reason(SSL* ssl, bool has_client_cert) {
    const bool verify_failed = SSL_get_verify_result(ssl) != X509_V_OK;
    std::string why = describe_failure(ssl);
    if (const size_t at = why.find("the peer's certificate"); at != std::string::npos) {
        why.replace(at, 22, "the server's certificate");
    }
    if (verify_failed) {
        return "certificate verify failed: " + why;
    }
    if (contains(why, "(is the peer speaking plaintext?)")) {
        return why.substr(0, why.find(" (is the peer")) +
               " (the server answered in plaintext: is TLS enabled on that port?)";
    }
    if (contains(why, "alert") && !contains(why, "(")) {
        return why + (has_client_cert ? " (the server refused this client's certificate)"
                                      : " (the server refused the handshake: does it require a "
                                        "client certificate?)");
    }
    return why;
}

}  // namespace

std::string diagnose_endpoint(const std::string& address, const tls_settings& s,
                              std::chrono::milliseconds timeout) {
    std::string host, port;
    if (!split_address(address, host, port)) {
        return {};
    }
    credential_set creds;
    if (s.enabled) {
        auto c = load_credentials(s);
        if (!c) {
            return c.error().detail;
        }
        creds = std::move(*c);
    }
    // Without TLS configured: any server certificate will do, the question
    // is only whether the endpoint speaks TLS at all.
    auto ctx = make_client_context(creds, !s.enabled || s.insecure_skip_verify);
    if (!ctx) {
        return {};
    }
    sigpipe_guard no_sigpipe;
    const int fd = dial(host, port, timeout);
    if (fd < 0) {
        return {};
    }
    std::string out;
    SSL* ssl = SSL_new(ctx->get());
    if (ssl != nullptr) {
        static const unsigned char alpn[] = {2, 'h', '2'};
        SSL_set_alpn_protos(ssl, alpn, sizeof alpn);
        SSL_set_fd(ssl, fd);
        bool ready = true;
        if (s.enabled && !s.insecure_skip_verify) {
            if (auto r = verify_host(ssl, host); !r) {
                out = fmt::format("TLS handshake with {} not attempted: {}", address,
                                  r.error().detail);
                ready = false;
            }
        }
        ERR_clear_error();
        const int r = ready ? SSL_connect(ssl) : 0;
        if (!ready) {
        } else if (r == 1 && !s.enabled) {
            out = fmt::format("{} serves TLS, but this client connected in plaintext", address);
        } else if (r == 1) {
            // TLS 1.3 completes the client's handshake before the server
            // has judged the client's certificate; its verdict (an alert)
            // is the first thing to read. Silence means it was accepted.
            set_timeouts(fd, std::min(timeout, std::chrono::milliseconds(300)));
            char byte = 0;
            errno = 0;
            const int n = SSL_read(ssl, &byte, 1);
            const int e = n > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl, n);
            const char* first =
                e == SSL_ERROR_SSL ? ERR_reason_error_string(ERR_peek_error()) : nullptr;
            const bool alert = first != nullptr && contains(first, "alert");
            // A server that refuses the client's certificate sends an alert
            // (OpenSSL) or just closes the connection (gRPC): either right
            // after the handshake. A timeout is a server waiting for us.
            const bool closed = e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SSL ||
                                (e == SSL_ERROR_SYSCALL && errno == 0);
            if (alert) {
                out = fmt::format("TLS handshake with {} failed: {}", address,
                                  client_reason(ssl, !creds.cert_pem.empty()));
            } else if (closed) {
                out = fmt::format(
                    "TLS handshake with {} failed: the server closed the connection right after "
                    "the handshake ({})",
                    address,
                    creds.cert_pem.empty()
                        ? "it requires a client certificate, and none was presented"
                        : "it refused this client's certificate");
            }
        } else if (s.enabled) {
            out = fmt::format("TLS handshake with {} failed: {}", address,
                              client_reason(ssl, !creds.cert_pem.empty()));
        } else {
            // A plaintext server answers a ClientHello with bytes that are
            // not TLS; a TLS server that refuses an anonymous client sends
            // an alert, which is TLS.
            const std::string why = describe_failure(ssl);
            if (contains(why, "alert")) {
                out = fmt::format("{} serves TLS, but this client connected in plaintext", address);
            }
        }
        SSL_free(ssl);
    }
    ::close(fd);
    ERR_clear_error();
    return out;
}

}  // namespace fjord::tls
