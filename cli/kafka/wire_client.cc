// File: cli/kafka/wire_client.cc
//
// settings -> client_options (wire_client.h).

#include "cli/kafka/wire_client.h"

#include "cli/context.h"

namespace fjord::cli::kafka {

result<std::unique_ptr<wire_client>> open_wire_client(const std::string& address,
                                                      const settings& s) {
    fjord::kafka::client::client_options o;
    o.timeout = s.command_timeout;
    if (s.use_tls()) {
        auto creds = tls::load_credentials(s.kafka_tls());
        if (!creds) {
            return error_info(creds.error().code,
                              tls_error_in_cli_terms(creds.error().detail, "tls"));
        }
        o.tls = std::move(*creds);
        o.tls_insecure_skip_verify = s.tls_insecure_skip_verify;
    }
    o.user = s.user;
    o.pass = s.pass;
    o.sasl_mechanism = s.sasl_mechanism;
    return wire_client::open(address, o);
}

}  // namespace fjord::cli::kafka
