// File: cli/kafka/rdkafka.cc
//
// librdkafka loaded at run time, the properties of the settings' TLS and
// SASL login, and the record of a refused login (rdkafka.h).

#include "cli/kafka/rdkafka.h"

#include <dlfcn.h>

#include <mutex>
#include <system_error>

#include <fmt/format.h>

#include "cli/context.h"
#include "common/tls/tls.h"

namespace fjord::cli::kafka {

result<const rdkafka_api*> load_rdkafka() {
    static rdkafka_api api;
    static std::string failure;
    static bool tried = false;
    if (!tried) {
        tried = true;
        void* lib = ::dlopen("librdkafka.so.1", RTLD_NOW | RTLD_LOCAL);
        if (lib == nullptr) {
            failure = fmt::format("cannot load librdkafka ({}); install the librdkafka1 package",
                                  ::dlerror());
        } else {
#define FJORD_RDK_RESOLVE(name)                                                               \
    if (failure.empty()) {                                                                    \
        void* sym = ::dlsym(lib, "rd_kafka_" #name);                                          \
        if (sym == nullptr) {                                                                 \
            failure = "librdkafka.so.1 has no rd_kafka_" #name " (librdkafka >= 2.0 needed)"; \
        } else {                                                                              \
            api.rd_kafka_##name = reinterpret_cast<decltype(api.rd_kafka_##name)>(sym);       \
        }                                                                                     \
    }
            FJORD_RDKAFKA_FUNCTIONS(FJORD_RDK_RESOLVE)
#undef FJORD_RDK_RESOLVE
        }
    }
    if (!failure.empty()) {
        return error_info(std::make_error_code(std::errc::not_supported), failure);
    }
    return &api;
}

result<properties> security_properties(const settings& s) {
    properties out;
    const bool tls = s.use_tls();
    if (tls) {
        if (auto c = tls::load_credentials(s.kafka_tls()); !c) {
            return error_info(c.error().code, tls_error_in_cli_terms(c.error().detail, "tls"));
        }
    }
    if (tls || !s.user.empty()) {
        out.emplace_back("security.protocol", !tls             ? "SASL_PLAINTEXT"
                                              : s.user.empty() ? "SSL"
                                                               : "SASL_SSL");
    }
    if (tls) {
        if (!s.tls_ca.empty()) {
            out.emplace_back("ssl.ca.location", s.tls_ca);
        }
        if (!s.tls_cert.empty()) {
            out.emplace_back("ssl.certificate.location", s.tls_cert);
            out.emplace_back("ssl.key.location", s.tls_key);
        }
        if (s.tls_insecure_skip_verify) {
            out.emplace_back("enable.ssl.certificate.verification", "false");
            out.emplace_back("ssl.endpoint.identification.algorithm", "none");
        } else {
            out.emplace_back("ssl.endpoint.identification.algorithm", "https");
        }
    }
    if (!s.user.empty()) {
        out.emplace_back("sasl.mechanisms",
                         s.sasl_mechanism.empty() ? "SCRAM-SHA-256" : s.sasl_mechanism);
        out.emplace_back("sasl.username", s.user);
        out.emplace_back("sasl.password", s.pass);
    }
    return out;
}

namespace {

std::mutex g_auth_mu;
std::string g_auth_failure;  // guarded by g_auth_mu
std::string g_auth_who;      // set before the client starts

void on_error(rd_kafka_t*, int err, const char* reason, void*) {
    // A refused login or TLS handshake fails the same way on every retry;
    // transient errors are librdkafka's to retry, and surface as request
    // errors.
    if (err != RD_KAFKA_RESP_ERR__AUTHENTICATION && err != RD_KAFKA_RESP_ERR__SSL) {
        return;
    }
    std::lock_guard g(g_auth_mu);
    if (g_auth_failure.empty()) {
        const char* why = reason != nullptr ? reason : "(no reason given)";
        g_auth_failure = err == RD_KAFKA_RESP_ERR__SSL
                             ? fmt::format("TLS with the brokers failed: {}", why)
                             : fmt::format("SASL authentication {} failed: {}", g_auth_who, why);
    }
}

}  // namespace

void watch_authentication(const rdkafka_api& rk, rd_kafka_conf_t* conf, const settings& s) {
    {
        std::lock_guard g(g_auth_mu);
        g_auth_who = s.user.empty() ? std::string("to the brokers")
                                    : fmt::format("as \"{}\" ({})", s.user,
                                                  s.sasl_mechanism.empty() ? "SCRAM-SHA-256"
                                                                           : s.sasl_mechanism);
    }
    rk.rd_kafka_conf_set_error_cb(conf, on_error);
}

std::string authentication_failure() {
    std::lock_guard g(g_auth_mu);
    return g_auth_failure;
}

}  // namespace fjord::cli::kafka
