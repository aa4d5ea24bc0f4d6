#pragma once
// File: common/tls/grpc_tls.h
//
// gRPC credentials from Fjord's TLS settings, for the controller's client API
// and peer transport (servers) and for every gRPC client: the CLI, the
// broker's controller link, the controllers' forwarding and peer channels.
// gRPC does the TLS itself over the process's OpenSSL, so FIPS mode (the
// fips provider as default, common/tls/fips.h) governs it the same way.
//
// Servers and long-lived channels read their material from a
// credential_watcher's live copies through gRPC's file watcher, so a
// reloaded certificate reaches new handshakes within about a second (gRPC's
// refresh interval) after the watcher took it. Only checked material ever
// reaches gRPC (see watcher.h).
//
// The peer's identity: with mutual TLS, the client certificate's subject
// (RFC 2253) is in the call's auth context; peer_subject() reads it.

#include <memory>
#include <string>

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include "common/result.h"
#include "common/tls/tls.h"
#include "common/tls/watcher.h"

namespace grpc {
class ServerContextBase;
}

namespace fjord::tls {

/// Server credentials serving `w`'s material. Client certificates are
/// requested and verified when a truststore is set, and required when
/// `w.settings().require_client_auth`.
std::shared_ptr<grpc::ServerCredentials> grpc_server_credentials(
    const std::shared_ptr<credential_watcher>& w);

/// Channel credentials for a client: plaintext when `!s.enabled`; else the
/// server verified against s.truststore_file (the system's CAs when empty)
/// and its host name checked, unless s.insecure_skip_verify; a client
/// certificate when s.cert_file is set. The files are read and checked now
/// (errors name the file); use this for short-lived clients (the CLI).
result<std::shared_ptr<grpc::ChannelCredentials>> grpc_channel_credentials(const tls_settings& s);

/// The same for a long-lived channel whose client certificate and
/// truststore must follow reloads: reads `w`'s live copies.
std::shared_ptr<grpc::ChannelCredentials> grpc_channel_credentials(
    const std::shared_ptr<credential_watcher>& w);

/// The verified client certificate's subject (RFC 2253), or "" when the
/// call is not over mutual TLS.
std::string peer_subject(const grpc::ServerContextBase& ctx);

/// The verified client certificate (PEM, the leaf), or "" when the call is
/// not over mutual TLS.
std::string peer_certificate_pem(const grpc::ServerContextBase& ctx);

}  // namespace fjord::tls
