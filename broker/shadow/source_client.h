#pragma once
// File: broker/shadow/source_client.h
//
// How the shadow cluster's brokers connect to a link's source cluster: the
// link's client_options (rpk-reference §4.9) made into the settings of a
// blocking Kafka connection (common/kafka/client/wire_client.h). Shared by
// the fetchers (fetcher_service.h) and the consumer group offset sync.
// Reads the TLS files a link names (tls_file_settings) when called; no
// other I/O.

#include <string>

#include "common/kafka/client/wire_client.h"
#include "common/result.h"
#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::broker::shadow {

namespace v1 = fjord::controller::v1;

/// The connection settings for `o`: TLS when tls_settings.enabled (from
/// the PEM strings if any is set, else from the files, else the system's
/// CAs), SNI unless do_not_set_sni_hostname; SASL SCRAM (its mechanism) or
/// PLAIN with the stored password; a timeout that covers a connect
/// (connection_timeout_ms) and a Fetch's long poll (fetch_wait_max_ms)
/// with room to spare. Errors name the field
/// ("client_options.tls_settings.tls_file_settings.ca_path: ...").
result<kafka::client::client_options> source_client_options(const v1::ShadowClientOptions& o,
                                                            const std::string& client_id);

}  // namespace fjord::broker::shadow
