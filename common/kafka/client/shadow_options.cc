// File: common/kafka/client/shadow_options.cc
//
// ShadowClientOptions -> client_options (shadow_options.h).

#include "common/kafka/client/shadow_options.h"

#include <chrono>

#include <fmt/format.h>

#include "common/cluster/errc.h"
#include "common/cluster/shadow_link.h"
#include "common/tls/tls.h"

namespace fjord::kafka::client {

namespace v1 = fjord::controller::v1;

result<client_options> client_options_for(const v1::ShadowClientOptions& o, std::string client_id) {
    client_options out;
    out.client_id = std::move(client_id);
    const auto t = cluster::shadow::effective(o);
    out.timeout = std::chrono::milliseconds(int64_t{t.connection_timeout_ms} + t.fetch_wait_max_ms);
    const auto& tls_cfg = o.tls_settings();
    if (tls_cfg.enabled()) {
        out.tls_sni = !tls_cfg.do_not_set_sni_hostname();
        if (tls_cfg.has_tls_file_settings() && tls_cfg.has_tls_pem_settings()) {
            return error_info(std::make_error_code(std::errc::invalid_argument),
                              "client_options.tls_settings: tls_file_settings and "
                              "tls_pem_settings are exclusive");
        }
        const std::string base = "client_options.tls_settings.";
        if (tls_cfg.has_tls_file_settings()) {
            const auto& f = tls_cfg.tls_file_settings();
            tls::tls_settings s;
            s.enabled = true;
            s.truststore_file = f.ca_path();
            s.key_file = f.key_path();
            s.cert_file = f.cert_path();
            auto creds = tls::load_credentials(s);
            if (!creds) {
                // load_credentials names the part by its daemon setting.
                const std::string& d = creds.error().detail;
                const std::string part = d.starts_with("key_file")          ? "key_path"
                                         : d.starts_with("truststore_file") ? "ca_path"
                                                                            : "cert_path";
                return error_info::for_field(cluster::errc::invalid_argument,
                                             base + "tls_file_settings." + part, d);
            }
            out.tls = std::move(*creds);
        } else if (tls_cfg.has_tls_pem_settings()) {
            const auto& p = tls_cfg.tls_pem_settings();
            auto creds =
                tls::check_credentials(p.key(), p.cert(), p.ca(), std::chrono::system_clock::now());
            if (!creds) {
                const std::string part = creds.error().field == "key_file"          ? "key"
                                         : creds.error().field == "truststore_file" ? "ca"
                                                                                    : "cert";
                return error_info::for_field(cluster::errc::invalid_argument,
                                             base + "tls_pem_settings." + part,
                                             creds.error().reason());
            }
            out.tls = std::move(*creds);
        } else {
            out.tls = tls::credential_set{};  // the system's CAs, no client certificate
        }
    }
    const auto& auth = o.authentication_configuration();
    switch (auth.mechanism_case()) {
        case v1::ShadowAuthentication::kScramConfiguration: {
            const auto& s = auth.scram_configuration();
            if (s.scram_mechanism() != "SCRAM-SHA-256" && s.scram_mechanism() != "SCRAM-SHA-512") {
                return error_info(
                    std::make_error_code(std::errc::invalid_argument),
                    fmt::format("client_options.authentication_configuration.scram_configuration."
                                "scram_mechanism: \"{}\" is not SCRAM-SHA-256 or SCRAM-SHA-512",
                                s.scram_mechanism()));
            }
            out.user = s.username();
            out.pass = s.password();
            out.sasl_mechanism = s.scram_mechanism();
            break;
        }
        case v1::ShadowAuthentication::kPlainConfiguration:
            out.user = auth.plain_configuration().username();
            out.pass = auth.plain_configuration().password();
            out.sasl_mechanism = "PLAIN";
            break;
        case v1::ShadowAuthentication::MECHANISM_NOT_SET:
            break;
    }
    if (!out.sasl_mechanism.empty() && out.user.empty()) {
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          "client_options.authentication_configuration: the username is empty");
    }
    return out;
}

}  // namespace fjord::kafka::client
