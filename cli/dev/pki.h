#pragma once
// File: cli/dev/pki.h
//
// `fjord dev start --tls`: a private CA for the dev cluster and a
// certificate for every process, made with common/tls/cert_gen.h (ECDSA
// P-256, SHA-256: usable in FIPS mode too). Layout under the state directory:
//   tls/ca.crt, tls/ca.key              the CA (key 0600); the dev profile's
//                                       tls.ca and admin.tls.ca name ca.crt
//   <kind>-<id>/tls/node.crt, node.key  each process's identity, CN
//                                       "<kind>-<id>", SANs 127.0.0.1 and
//                                       localhost (what clients dial)
// ensure_pki() makes whatever is missing and replaces a certificate that
// expires within a day, so a restarted dev cluster never serves an expired
// one; existing valid material is kept (brokers' clients keep trusting it).

#include <filesystem>

#include "cli/dev/state.h"
#include "common/result.h"

namespace fjord::cli::dev {

fs::path ca_cert_file(const cluster& c);
fs::path node_cert_file(const dev_process& p);
fs::path node_key_file(const dev_process& p);

/// Creates the CA and every process's certificate that is missing or about
/// to expire.
result<void> ensure_pki(const cluster& c);

}  // namespace fjord::cli::dev
