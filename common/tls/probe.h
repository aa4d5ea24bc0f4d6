#pragma once
// File: common/tls/probe.h
//
// Why a connection failed, in one sentence, for a client that just failed to
// reach an endpoint. gRPC reports every refused handshake as UNAVAILABLE
// ("failed to connect to all addresses", "Socket closed"), which reads like
// a server that is down; a TLS mistake (an untrusted CA, a certificate for
// another host, TLS to a plaintext port or plaintext to a TLS port) needs
// different fixes. diagnose_endpoint() dials the endpoint once more itself,
// with OpenSSL and the same settings (make_client_context, verify_host), and
// names the mistake (describe_failure).
//
// Contracts:
// - Blocking, bounded by `timeout` for the connect and again for the
//   handshake; one TCP connection, closed before returning. Nothing is sent
//   but a TLS ClientHello (and, after a completed handshake, nothing at all:
//   the probe only waits briefly for the server's verdict on a client
//   certificate, which TLS 1.3 delivers after the handshake).
// - "" when the probe finds nothing TLS-related to say: the endpoint does
//   not accept connections (gRPC's own error says that), or the handshake
//   works with these settings.
// - Never throws; OpenSSL's error queue is left empty.

#include <chrono>
#include <string>

#include "common/tls/tls.h"

namespace fjord::tls {

/// `address` is "host:port" or "[v6]:port". With `s.enabled`: a handshake
/// as `s` configures it; a failure reads "TLS handshake with <address>
/// failed: <reason>". Without: whether the endpoint serves TLS, which a
/// plaintext client cannot talk to ("<address> serves TLS, but this client
/// connected in plaintext").
std::string diagnose_endpoint(const std::string& address, const tls_settings& s,
                              std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

}  // namespace fjord::tls
