#pragma once
// File: common/http_server.h
//
// A minimal HTTP/1.1 server for operational endpoints (/metrics, /healthz):
// one background thread runs a poll(2) loop over the listening socket and
// every open connection; each connection carries one request and is closed
// after its response ("Connection: close").
//
// Contract:
// - GET and HEAD only. The path (the target without "?query") selects the
//   handler; no handler → 404; any other method → 405 (with Allow).
//   A malformed request → 400, a request head over `max_request_bytes` → 431,
//   no complete head within `read_timeout` → 408, HTTP/2+ → 505, a handler that
//   throws or returns an invalid status/content type → 500. Error bodies are a
//   one-line plain-text reason.
// - A slow or hostile client cannot wedge the server: sockets are
//   non-blocking, every connection has a deadline (read_timeout to send its
//   head, write_timeout to take the response), at most `max_connections` are
//   open at once (further clients wait in the kernel's backlog), and the
//   request head is never buffered beyond `max_request_bytes`.
// - Handlers run on the server thread, one at a time: keep them fast and
//   never call stop() from one. They may throw (→ 500); nothing escapes.
// - start() binds and listens before returning (port 0 → an ephemeral port,
//   see port()). stop() (also run by the destructor) wakes the loop, joins the
//   thread and closes every socket (the port is free when it returns); it is
//   idempotent and thread-safe.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/result.h"

namespace fjord {

struct http_request {
    std::string method;  ///< "GET" or "HEAD"
    std::string target;  ///< as sent, e.g. "/metrics?x=1"
    std::string path;    ///< the target without "?query", e.g. "/metrics"
    std::string query;   ///< after the '?', without it; empty if none
};

struct http_response {
    int status = 200;  ///< 100..599
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

using http_handler = std::function<http_response(const http_request&)>;

struct http_server_options {
    /// Numeric IPv4/IPv6 address or host name to bind; "" binds every address.
    /// IPv6 may be given with or without brackets ("[::1]" or "::1").
    std::string host = "127.0.0.1";
    /// 0 picks an ephemeral port (see http_server::port()).
    uint16_t port = 0;
    /// Upper bound on the request line plus headers, in bytes.
    size_t max_request_bytes = 8192;
    /// From accept until the request head is complete.
    std::chrono::milliseconds read_timeout{2000};
    /// From the start of the response until the client has taken all of it.
    std::chrono::milliseconds write_timeout{10000};
    /// Connections served at once.
    size_t max_connections = 64;
};

class http_server {
  public:
    /// Binds, listens and starts the server thread. `handlers` maps exact
    /// paths ("/metrics") to handlers. Fails (errno-based std::error_code,
    /// detail naming host:port and the call) if the address cannot be resolved
    /// or bound, or the thread cannot start.
    static result<std::unique_ptr<http_server>> start(http_server_options opts,
                                                      std::map<std::string, http_handler> handlers);

    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;
    ~http_server();

    /// The bound port (the ephemeral one if options.port was 0).
    uint16_t port() const { return _port; }
    void stop();

  private:
    struct connection;

    http_server(http_server_options opts, std::map<std::string, http_handler> handlers);
    void run();
    void accept_ready(std::vector<connection>& conns);
    void on_readable(connection& c);
    void on_writable(connection& c);
    void respond(connection& c, int status, std::string_view content_type, std::string body,
                 bool head_only, std::string_view extra_headers = {});
    void dispatch(connection& c, size_t head_end);

    const http_server_options _opts;
    const std::map<std::string, http_handler> _handlers;
    int _listen_fd = -1;
    int _wake_read_fd = -1;
    int _wake_write_fd = -1;
    uint16_t _port = 0;
    std::chrono::steady_clock::time_point _accept_paused_until{};
    std::mutex _stop_mu;
    std::thread _thread;
};

}  // namespace fjord
