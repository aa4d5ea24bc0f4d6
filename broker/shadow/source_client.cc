// File: broker/shadow/source_client.cc

#include "broker/shadow/source_client.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "common/cluster/shadow_link.h"
#include "common/tls/tls.h"

namespace fjord::broker::shadow {

result<kafka::client::client_options> source_client_options(const v1::ShadowClientOptions& o,
                                                            const std::string& client_id) {
    const auto tunables = cluster::shadow::effective(o);
    kafka::client::client_options out;
    out.client_id = client_id;
    // One bound for connects and reads: a Fetch parks up to
    // fetch_wait_max_ms on the source before it answers.
    out.timeout = std::chrono::milliseconds(
        std::max(tunables.connection_timeout_ms, tunables.fetch_wait_max_ms + 5000));
    // The largest answer: a Fetch of fetch_max_bytes, plus room for the
    // framing and the first batch Kafka sends above the limit.
    out.max_frame_bytes = static_cast<uint32_t>(
        std::min<int64_t>(int64_t{1} << 30, int64_t{tunables.fetch_max_bytes} * 2 + (16 << 20)));
    const auto& tls_in = o.tls_settings();
    if (tls_in.enabled()) {
        const auto& pem = tls_in.tls_pem_settings();
        const auto& files = tls_in.tls_file_settings();
        const auto now = std::chrono::system_clock::now();
        if (!pem.ca().empty() || !pem.cert().empty() || !pem.key().empty()) {
            auto c = tls::check_credentials(pem.key(), pem.cert(), pem.ca(), now);
            if (!c) {
                return error_info(c.error().code,
                                  fmt::format("client_options.tls_settings.tls_pem_settings: {}",
                                              c.error().message()));
            }
            out.tls = std::move(*c);
        } else if (!files.ca_path().empty() || !files.cert_path().empty() ||
                   !files.key_path().empty()) {
            tls::tls_settings s;
            s.enabled = true;
            s.truststore_file = files.ca_path();
            s.cert_file = files.cert_path();
            s.key_file = files.key_path();
            auto c = tls::load_credentials(s, now);
            if (!c) {
                return error_info(c.error().code,
                                  fmt::format("client_options.tls_settings.tls_file_settings: {}",
                                              c.error().message()));
            }
            out.tls = std::move(*c);
        } else {
            out.tls = tls::credential_set{};  // the system's CAs
        }
        out.tls_sni = !tls_in.do_not_set_sni_hostname();
    }
    const auto& auth = o.authentication_configuration();
    if (auth.has_scram_configuration()) {
        out.user = auth.scram_configuration().username();
        out.pass = auth.scram_configuration().password();
        out.sasl_mechanism = auth.scram_configuration().scram_mechanism();
    } else if (auth.has_plain_configuration()) {
        out.user = auth.plain_configuration().username();
        out.pass = auth.plain_configuration().password();
        out.sasl_mechanism = "PLAIN";
    }
    return out;
}

}  // namespace fjord::broker::shadow
