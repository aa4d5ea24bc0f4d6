// File: cli/kafka/rdkafka.cc

#include "cli/kafka/rdkafka.h"

#include <dlfcn.h>

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

}  // namespace fjord::cli::kafka
