// File: cli/kafka/rdkafka.cc

#include "cli/kafka/rdkafka.h"

#include <dlfcn.h>

#include <mutex>
#include <system_error>

#include <fmt/format.h>

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

properties sasl_properties(const settings& s) {
    if (s.user.empty()) {
        return {};
    }
    return {{"security.protocol", "SASL_PLAINTEXT"},
            {"sasl.mechanisms", s.sasl_mechanism.empty() ? "SCRAM-SHA-256" : s.sasl_mechanism},
            {"sasl.username", s.user},
            {"sasl.password", s.pass}};
}

namespace {

std::mutex g_auth_mu;
std::string g_auth_failure;  // guarded by g_auth_mu
std::string g_auth_who;      // set before the client starts

void on_error(rd_kafka_t*, int err, const char* reason, void*) {
    if (err != RD_KAFKA_RESP_ERR__AUTHENTICATION) {
        return;  // transient ones are librdkafka's to retry, and surface as request errors
    }
    std::lock_guard g(g_auth_mu);
    if (g_auth_failure.empty()) {
        g_auth_failure = fmt::format("SASL authentication {} failed: {}", g_auth_who,
                                     reason != nullptr ? reason : "(no reason given)");
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
