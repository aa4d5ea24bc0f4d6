#pragma once
// File: common/kafka/client/shadow_options.h
//
// A shadow link's client_options (rpk's, ShadowClientOptions in
// metadata.proto) as a wire_client's client_options: what the controller's
// shadow driver and the brokers' fetchers and sync tasks dial the source
// cluster with, read the same way by both. Reads the TLS files a link names
// (tls_file_settings, on this host) or checks its PEM (tls_pem_settings);
// no network.
//   - tls_settings.enabled: TLS; the files or the PEM are the CA the source
//     must chain to (none: the system's) and the client certificate (key and
//     cert both or neither); do_not_set_sni_hostname turns SNI off;
//   - SCRAM: user, password, mechanism (SCRAM-SHA-256 | SCRAM-SHA-512);
//     PLAIN: user, password, "PLAIN";
//   - timeout: connection_timeout_ms + fetch_wait_max_ms, effective values
//     (cluster::shadow::effective): it bounds the connect and every read,
//     and a Fetch's long poll must fit in one read.
// Errors name the rpk YAML field ("client_options.tls_settings.
// tls_file_settings.ca_path: ...").

#include <string>

#include "common/kafka/client/wire_client.h"
#include "common/result.h"
#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::kafka::client {

/// `client_id` is what the source's logs and quotas see
/// ("fjord-shadow-<link>").
result<client_options> client_options_for(const fjord::controller::v1::ShadowClientOptions& o,
                                          std::string client_id = "fjord-shadow");

}  // namespace fjord::kafka::client
