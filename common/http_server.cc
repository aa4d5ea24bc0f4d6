// File: common/http_server.cc
//
// The poll loop behind http_server. Each connection moves through
//   reading  → (head complete, or limit/timeout hit) → writing → draining → closed
// "draining" half-closes our side and discards what the client still sends
// for a moment, so that closing a socket with unread input (an oversized or
// early-answered request) does not turn into a TCP reset that destroys the
// response before the client reads it.

#include "common/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "common/log.h"

namespace fjord {
namespace {

using clock_type = std::chrono::steady_clock;

constexpr std::string_view component = "http";
// After the response: how long, and how much, we keep reading the client's
// leftovers before closing.
constexpr std::chrono::milliseconds drain_timeout{500};
constexpr size_t drain_limit = 64 * 1024;
// Pause after accept() fails for lack of resources (EMFILE...), so the loop
// does not spin on a listener that stays readable.
constexpr std::chrono::milliseconds accept_backoff{100};

error_info sys_error(std::string_view what, int err) {
    return error_info(std::error_code(err, std::generic_category()),
                      fmt::format("{}: {}", what, std::strerror(err)));
}

void close_fd(int& fd) {
    if (fd >= 0) {
        ::close(fd);
        fd = -1;
    }
}

std::string_view reason_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 204:
            return "No Content";
        case 400:
            return "Bad Request";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 503:
            return "Service Unavailable";
        case 505:
            return "HTTP Version Not Supported";
        default:
            break;
    }
    return "";
}

// RFC 9110 tchar: the characters of a method or a header field name.
bool is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) {
            return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        };
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

// Index one past the blank line that ends the request head ("\r\n\r\n", or
// bare "\n\n", which RFC 9112 §2.2 allows a recipient to accept), or npos.
size_t find_head_end(std::string_view buf) {
    for (size_t i = 0; i < buf.size(); ++i) {
        if (buf[i] != '\n') {
            continue;
        }
        if (i + 1 < buf.size() && buf[i + 1] == '\n') {
            return i + 2;
        }
        if (i + 2 < buf.size() && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
            return i + 3;
        }
    }
    return std::string_view::npos;
}

// Splits the head into lines on '\n', dropping one trailing '\r' from each.
std::vector<std::string_view> split_lines(std::string_view head) {
    std::vector<std::string_view> lines;
    size_t start = 0;
    while (start < head.size()) {
        size_t nl = head.find('\n', start);
        if (nl == std::string_view::npos) {
            nl = head.size();
        }
        std::string_view line = head.substr(start, nl - start);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        lines.push_back(line);
        start = nl + 1;
    }
    return lines;
}

struct parse_failure {
    int status;
    std::string reason;
};

// The request line and headers, or the status to answer with and why.
// `head` excludes the final blank line.
std::variant<http_request, parse_failure> parse_head(std::string_view head) {
    std::vector<std::string_view> lines = split_lines(head);
    // RFC 9112 §2.2: ignore empty lines before the request line.
    size_t first = 0;
    while (first < lines.size() && lines[first].empty()) {
        ++first;
    }
    if (first == lines.size()) {
        return parse_failure{400, "empty request"};
    }
    const std::string_view line = lines[first];
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
        return parse_failure{400, "request line is not \"METHOD target HTTP/x.y\""};
    }
    const std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!is_token(method)) {
        return parse_failure{400, "malformed method"};
    }
    if (version.size() != 8 || !version.starts_with("HTTP/") || version[6] != '.' ||
        version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
        return parse_failure{400, "malformed HTTP version"};
    }
    if (version[5] != '1') {
        return parse_failure{505, "only HTTP/1.x is supported"};
    }
    for (const char c : target) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            return parse_failure{400, "malformed request target"};
        }
    }
    // absolute-form ("http://host/path") must be accepted (RFC 9112 §3.2.2);
    // only its path matters here.
    for (const std::string_view scheme : {"http://", "https://"}) {
        if (target.size() >= scheme.size() && iequals(target.substr(0, scheme.size()), scheme)) {
            const size_t slash = target.find('/', scheme.size());
            target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
        }
    }
    if (target.empty() || target[0] != '/') {
        return parse_failure{400, "request target must be a path"};
    }
    int hosts = 0;
    for (size_t i = first + 1; i < lines.size(); ++i) {
        const std::string_view h = lines[i];
        if (!h.empty() && (h[0] == ' ' || h[0] == '\t')) {
            return parse_failure{400, "obsolete header line folding"};
        }
        const size_t colon = h.find(':');
        if (colon == std::string_view::npos || !is_token(h.substr(0, colon))) {
            return parse_failure{400, "malformed header line"};
        }
        for (const char c : h.substr(colon + 1)) {
            if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
                return parse_failure{400, "control character in header value"};
            }
        }
        if (iequals(h.substr(0, colon), "host")) {
            ++hosts;
        }
    }
    // RFC 9112 §3.2: an HTTP/1.1 request without exactly one Host is a 400.
    if (version == "HTTP/1.1" && hosts != 1) {
        return parse_failure{400, hosts == 0 ? "missing Host header" : "more than one Host header"};
    }
    http_request r;
    r.method = std::string(method);
    r.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
    const size_t q = target.find('?');
    r.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) {
        r.query = std::string(target.substr(q + 1));
    }
    return r;
}

}  // namespace

struct http_server::connection {
    enum class phase { reading, writing, draining };

    int fd = -1;
    phase state = phase::reading;
    std::string in;
    std::string out;
    size_t out_done = 0;
    size_t drained = 0;
    clock_type::time_point deadline;
    bool closed = false;
};

http_server::http_server(http_server_options opts, std::map<std::string, http_handler> handlers)
    : _opts(std::move(opts)), _handlers(std::move(handlers)) {}

result<std::unique_ptr<http_server>> http_server::start(
    http_server_options opts, std::map<std::string, http_handler> handlers) {
    std::string host = opts.host;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    const std::string where = fmt::format("{}:{}", opts.host, opts.port);
    std::unique_ptr<http_server> s(new http_server(std::move(opts), std::move(handlers)));

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const std::string port_text = std::to_string(s->_opts.port);
    const int gai =
        ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port_text.c_str(), &hints, &res);
    if (gai != 0) {
        return error_info(std::make_error_code(std::errc::address_not_available),
                          fmt::format("resolve {}: {}", where, ::gai_strerror(gai)));
    }
    error_info last = sys_error(fmt::format("bind {}", where), EADDRNOTAVAIL);
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                                ai->ai_protocol);
        if (fd < 0) {
            last = sys_error(fmt::format("socket for {}", where), errno);
            continue;
        }
        const int one = 1;
        // A restarted daemon must rebind while old connections sit in TIME_WAIT.
        (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            last = sys_error(fmt::format("bind {}", where), errno);
            ::close(fd);
            continue;
        }
        if (::listen(fd, 128) != 0) {
            last = sys_error(fmt::format("listen {}", where), errno);
            ::close(fd);
            continue;
        }
        s->_listen_fd = fd;
        break;
    }
    ::freeaddrinfo(res);
    if (s->_listen_fd < 0) {
        return last;
    }

    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    if (::getsockname(s->_listen_fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
        return sys_error(fmt::format("getsockname {}", where), errno);
    }
    if (bound.ss_family == AF_INET6) {
        s->_port = ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port);
    } else {
        s->_port = ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
    }

    int wake[2];
    if (::pipe2(wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        return sys_error("pipe2", errno);
    }
    s->_wake_read_fd = wake[0];
    s->_wake_write_fd = wake[1];

    try {
        s->_thread = std::thread([srv = s.get()] { srv->run(); });
    } catch (const std::system_error& e) {
        return error_info(e.code(), fmt::format("start the HTTP server thread: {}", e.what()));
    }
    log(log_level::info, component, "serving HTTP on {} (port {})", where, s->_port);
    return s;
}

http_server::~http_server() {
    stop();
    // start() may have failed before the thread existed.
    close_fd(_listen_fd);
    close_fd(_wake_read_fd);
    close_fd(_wake_write_fd);
}

void http_server::stop() {
    std::lock_guard g(_stop_mu);
    if (!_thread.joinable()) {
        return;
    }
    const char b = 1;
    // The pipe is non-blocking: if it is full, a wake-up is already pending.
    ssize_t n = 0;
    do {
        n = ::write(_wake_write_fd, &b, 1);
    } while (n < 0 && errno == EINTR);
    _thread.join();
    // Release the port now: connections still in the backlog are reset and a
    // new server may bind the same address.
    close_fd(_listen_fd);
    close_fd(_wake_read_fd);
    close_fd(_wake_write_fd);
}

void http_server::run() {
    std::vector<connection> conns;
    std::vector<pollfd> fds;
    for (;;) {
        const auto now = clock_type::now();
        // Deadlines first: a connection past its deadline is answered (408,
        // if it never finished its head) or closed.
        for (connection& c : conns) {
            if (c.closed || now < c.deadline) {
                continue;
            }
            if (c.state == connection::phase::reading) {
                respond(c, 408, "text/plain; charset=utf-8", "request timeout\n", false);
            } else {
                close_fd(c.fd);
                c.closed = true;
            }
        }
        std::erase_if(conns, [](const connection& c) { return c.closed; });

        fds.clear();
        fds.push_back({_wake_read_fd, POLLIN, 0});
        const bool accepting = conns.size() < _opts.max_connections && now >= _accept_paused_until;
        fds.push_back({accepting ? _listen_fd : -1, POLLIN, 0});
        auto next = clock_type::time_point::max();
        if (!accepting && conns.size() < _opts.max_connections) {
            next = _accept_paused_until;
        }
        for (const connection& c : conns) {
            const short events = c.state == connection::phase::writing ? POLLOUT : POLLIN;
            fds.push_back({c.fd, events, 0});
            next = std::min(next, c.deadline);
        }
        int timeout_ms = -1;
        if (next != clock_type::time_point::max()) {
            const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - now);
            timeout_ms = static_cast<int>(std::clamp<int64_t>(wait.count(), 0, 60'000));
        }
        const int n = ::poll(fds.data(), fds.size(), timeout_ms);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            // poll fails only for EFAULT/EINVAL/ENOMEM; back off and retry
            // rather than take the process down over an operational endpoint.
            log(log_level::warn, component, "poll: {}", std::strerror(errno));
            ::usleep(10'000);
            continue;
        }
        if (fds[0].revents != 0) {
            break;  // stop()
        }
        // Connections first (fds[2..] match conns[0..] as they were), then
        // accept, which appends to conns.
        for (size_t i = 0; i < conns.size(); ++i) {
            const short re = fds[i + 2].revents;
            if (re == 0) {
                continue;
            }
            connection& c = conns[i];
            if (c.state == connection::phase::writing) {
                on_writable(c);
            } else {
                on_readable(c);
            }
        }
        std::erase_if(conns, [](const connection& c) { return c.closed; });
        if (fds[1].revents != 0) {
            accept_ready(conns);
        }
    }
    for (connection& c : conns) {
        close_fd(c.fd);
    }
}

void http_server::accept_ready(std::vector<connection>& conns) {
    while (conns.size() < _opts.max_connections) {
        const int fd = ::accept4(_listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            const int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK) {
                return;
            }
            if (err == EINTR || err == ECONNABORTED || err == EPROTO) {
                continue;
            }
            log(log_level::warn, component, "accept: {}; pausing for {} ms", std::strerror(err),
                accept_backoff.count());
            _accept_paused_until = clock_type::now() + accept_backoff;
            return;
        }
        connection c;
        c.fd = fd;
        c.deadline = clock_type::now() + _opts.read_timeout;
        conns.push_back(std::move(c));
    }
}

void http_server::on_readable(connection& c) {
    char buf[4096];
    for (;;) {
        size_t want = sizeof buf;
        if (c.state == connection::phase::reading) {
            // Never buffer more than the limit (+1 byte to detect going over).
            want = std::min(want, _opts.max_request_bytes + 1 - c.in.size());
        }
        const ssize_t n = ::recv(c.fd, buf, want, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n <= 0) {
            // EOF or reset: a client that gives up before its answer gets none.
            close_fd(c.fd);
            c.closed = true;
            return;
        }
        if (c.state == connection::phase::draining) {
            c.drained += static_cast<size_t>(n);
            if (c.drained > drain_limit) {
                close_fd(c.fd);
                c.closed = true;
                return;
            }
            continue;
        }
        c.in.append(buf, static_cast<size_t>(n));
        const size_t end = find_head_end(c.in);
        if (end != std::string::npos && end <= _opts.max_request_bytes) {
            dispatch(c, end);
            return;
        }
        if (c.in.size() > _opts.max_request_bytes || end != std::string::npos) {
            respond(c, 431, "text/plain; charset=utf-8",
                    fmt::format("request head exceeds {} bytes\n", _opts.max_request_bytes), false);
            return;
        }
    }
}

void http_server::dispatch(connection& c, size_t head_end) {
    // Drop the blank line: parse_head sees request line and headers only.
    std::string_view head(c.in.data(), head_end);
    while (!head.empty() && (head.back() == '\n' || head.back() == '\r')) {
        head.remove_suffix(1);
    }
    auto parsed = parse_head(head);
    if (auto* f = std::get_if<parse_failure>(&parsed)) {
        log(log_level::debug, component, "bad request: {}", f->reason);
        respond(c, f->status, "text/plain; charset=utf-8", f->reason + "\n", false);
        return;
    }
    const http_request& req = std::get<http_request>(parsed);
    const bool head_only = req.method == "HEAD";
    if (req.method != "GET" && !head_only) {
        respond(c, 405, "text/plain; charset=utf-8",
                fmt::format("method {} not allowed\n", req.method), false, "Allow: GET, HEAD\r\n");
        return;
    }
    const auto it = _handlers.find(req.path);
    if (it == _handlers.end()) {
        respond(c, 404, "text/plain; charset=utf-8", "not found\n", head_only);
        return;
    }
    http_response r;
    try {
        r = it->second(req);
    } catch (const std::exception& e) {
        log(log_level::warn, component, "handler for {} threw: {}", req.path, e.what());
        respond(c, 500, "text/plain; charset=utf-8", "internal error\n", head_only);
        return;
    } catch (...) {
        log(log_level::warn, component, "handler for {} threw", req.path);
        respond(c, 500, "text/plain; charset=utf-8", "internal error\n", head_only);
        return;
    }
    const bool bad_type = r.content_type.find_first_of("\r\n") != std::string::npos;
    if (r.status < 100 || r.status > 599 || bad_type) {
        log(log_level::warn, component, "handler for {} returned status {}{}", req.path, r.status,
            bad_type ? " and a content type with a line break" : "");
        respond(c, 500, "text/plain; charset=utf-8", "internal error\n", head_only);
        return;
    }
    respond(c, r.status, r.content_type, std::move(r.body), head_only);
}

void http_server::respond(connection& c, int status, std::string_view content_type,
                          std::string body, bool head_only, std::string_view extra_headers) {
    c.out = fmt::format(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n",
        status, reason_phrase(status), content_type, body.size(), extra_headers);
    if (!head_only) {
        c.out += body;
    }
    c.out_done = 0;
    c.in.clear();
    c.in.shrink_to_fit();
    c.state = connection::phase::writing;
    c.deadline = clock_type::now() + _opts.write_timeout;
    on_writable(c);  // most responses fit the socket buffer: no extra poll round
}

void http_server::on_writable(connection& c) {
    while (c.out_done < c.out.size()) {
        const ssize_t n =
            ::send(c.fd, c.out.data() + c.out_done, c.out.size() - c.out_done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n <= 0) {
            close_fd(c.fd);
            c.closed = true;
            return;
        }
        c.out_done += static_cast<size_t>(n);
    }
    c.out.clear();
    c.out.shrink_to_fit();
    // Half-close, then discard the client's leftovers until it closes (or the
    // drain budget runs out) so our close does not reset the connection.
    (void)::shutdown(c.fd, SHUT_WR);
    c.state = connection::phase::draining;
    c.deadline = clock_type::now() + drain_timeout;
}

}  // namespace fjord
