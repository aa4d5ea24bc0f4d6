// File: common/tls/engine.cc
//
// engine.h over OpenSSL: an SSL whose one BIO reads from the engine's input
// buffer and appends to its output string, so OpenSSL never sees a socket.

#include "common/tls/engine.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/tls/tls.h"

namespace fjord::tls {

/// The BIO between an SSL and its engine: reads take from the input buffer
/// (a retry, not end of file, when it is empty: more may come), writes
/// append to the output and always succeed.
struct engine_bio {
    static engine& of(BIO* b) { return *static_cast<engine*>(BIO_get_data(b)); }

    static int read_ex(BIO* b, char* buf, size_t len, size_t* done) {
        engine& e = of(b);
        BIO_clear_retry_flags(b);
        const size_t avail = e._in.size();
        if (avail == 0) {
            BIO_set_retry_read(b);
            *done = 0;
            return 0;
        }
        const size_t n = std::min(avail, len);
        std::memcpy(buf, e._in.data(), n);
        e._in.consume(n);
        *done = n;
        return 1;
    }

    static int write_ex(BIO* b, const char* buf, size_t len, size_t* done) {
        BIO_clear_retry_flags(b);
        of(b)._out.append(buf, len);
        *done = len;
        return 1;
    }

    static long ctrl(BIO* b, int cmd, long, void*) {
        switch (cmd) {
            case BIO_CTRL_FLUSH:
                return 1;
            case BIO_CTRL_PENDING:
                return static_cast<long>(of(b).input_buffered());
            default:
                return 0;  // no kTLS, no EOF until the caller says so, nothing else
        }
    }

    static int create(BIO* b) {
        BIO_set_init(b, 1);
        return 1;
    }

    /// One method for the process (OpenSSL keeps it; never freed).
    static const BIO_METHOD* method() {
        static BIO_METHOD* m = [] {
            BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "fjord tls");
            if (bm != nullptr) {
                BIO_meth_set_read_ex(bm, read_ex);
                BIO_meth_set_write_ex(bm, write_ex);
                BIO_meth_set_ctrl(bm, ctrl);
                BIO_meth_set_create(bm, create);
            }
            return bm;
        }();
        return m;
    }
};

namespace {
constexpr size_t initial_input = 16 * 1024;
}

result<std::unique_ptr<engine>> engine::make(ssl_ctx_st* ctx, role r) {
    std::unique_ptr<engine> e(new engine());
    const BIO_METHOD* m = engine_bio::method();
    e->_ssl = m != nullptr ? SSL_new(ctx) : nullptr;
    BIO* b = e->_ssl != nullptr ? BIO_new(m) : nullptr;
    if (b == nullptr) {
        return error_info(std::make_error_code(std::errc::not_enough_memory),
                          fmt::format("cannot make a TLS session: {}", drain_errors()));
    }
    BIO_set_data(b, e.get());
    SSL_set_bio(e->_ssl, b, b);  // the SSL owns the BIO
    if (r == role::server) {
        SSL_set_accept_state(e->_ssl);
    } else {
        SSL_set_connect_state(e->_ssl);
    }
    return e;
}

engine::~engine() {
    SSL_free(_ssl);
}

engine::status engine::fail() {
    _pending = status::failed;
    _failure = describe_failure(_ssl);
    return status::failed;
}

engine::status engine::handshake() {
    if (_pending != status::ok) {
        return _pending;
    }
    ERR_clear_error();
    const int rc = SSL_do_handshake(_ssl);
    if (rc == 1) {
        return status::ok;
    }
    if (SSL_get_error(_ssl, rc) == SSL_ERROR_WANT_READ) {
        return status::want_input;
    }
    return fail();
}

bool engine::handshake_done() const {
    return SSL_is_init_finished(_ssl) == 1;
}

engine::read_result engine::read(char* dst, size_t cap) {
    if (_pending != status::ok) {
        return {0, _pending};
    }
    ERR_clear_error();
    size_t got = 0;
    while (got < cap) {
        size_t n = 0;
        if (SSL_read_ex(_ssl, dst + got, cap - got, &n) == 1) {
            got += n;
            continue;
        }
        const int e = SSL_get_error(_ssl, 0);
        if (e == SSL_ERROR_WANT_READ) {
            break;
        }
        if (e == SSL_ERROR_ZERO_RETURN) {
            _pending = status::closed;
        } else {
            fail();
        }
        if (got > 0) {
            return {got, status::ok};
        }
        return {0, _pending};
    }
    return {got, got > 0 ? status::ok : status::want_input};
}

bool engine::write(const char* p, size_t n) {
    if (_pending == status::failed) {
        return false;
    }
    if (n == 0) {
        return true;
    }
    // Records add 22 bytes (TLS 1.3) to 29 (TLS 1.2) per 16 KiB.
    _out.reserve(_out.size() + n + (n / (16 * 1024) + 1) * 32);
    ERR_clear_error();
    size_t done = 0;
    if (SSL_write_ex(_ssl, p, n, &done) == 1 && done == n) {
        return true;
    }
    fail();
    return false;
}

std::span<char> engine::input_space() {
    _in.prepare_receive(initial_input, max_input);
    return _in.free_space();
}

void engine::release_output() {
    if (_out.empty()) {
        std::string().swap(_out);
    }
    SSL_free_buffers(_ssl);  // a no-op while OpenSSL holds part of a record
}

void engine::input_added(size_t n) {
    _in.commit(n);
}

void engine::swap_output(std::string& s) {
    s.clear();
    _out.swap(s);
}

std::string engine::failure() {
    if (_failure.empty()) {
        _failure = describe_failure(_ssl);
    }
    return _failure;
}

}  // namespace fjord::tls
