// File: common/objstore/config.cc
//
// store_config from the cluster config (config.h). The schema has already
// canonicalised every stored value; this still refuses what does not parse,
// so a value written by a newer version never becomes a silent default.

#include "common/objstore/config.h"

#include <charconv>
#include <cstdlib>

#include "common/objstore/errc.h"

namespace fjord::objstore {
namespace {

result<int64_t> int_key(const config_lookup& get, std::string_view key, int64_t dflt) {
    auto v = get(key);
    if (!v) {
        return dflt;
    }
    int64_t out = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || p != v->data() + v->size()) {
        return error_info::for_field(errc::config, key, "not an integer: \"" + *v + "\"");
    }
    return out;
}

bool bool_key(const config_lookup& get, std::string_view key, bool dflt) {
    auto v = get(key);
    return v ? *v == "true" : dflt;
}

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? v : "";
}

}  // namespace

bool cloud_storage_enabled(const config_lookup& get) {
    return bool_key(get, "cloud_storage_enabled", false);
}

result<store_config> store_config_from(const config_lookup& get) {
    store_config c;
    const std::string backend = get("cloud_storage_backend").value_or("local");
    if (backend == "local") {
        c.kind = store_config::backend::local;
        c.local_directory = get("cloud_storage_local_directory").value_or("");
        if (c.local_directory.empty()) {
            return error_info::for_field(errc::config, "cloud_storage_local_directory",
                                         "required when cloud_storage_backend is local");
        }
    } else if (backend == "s3") {
        c.kind = store_config::backend::s3;
    } else {
        return error_info::for_field(errc::config, "cloud_storage_backend",
                                     "must be local or s3, got \"" + backend + "\"");
    }
    c.bucket = get("cloud_storage_bucket").value_or("");
    if (c.kind == store_config::backend::s3 && c.bucket.empty()) {
        return error_info::for_field(errc::config, "cloud_storage_bucket",
                                     "required when cloud_storage_backend is s3");
    }
    c.region = get("cloud_storage_region").value_or("us-east-1");
    c.endpoint = get("cloud_storage_api_endpoint").value_or("");
    auto port = int_key(get, "cloud_storage_api_endpoint_port", 443);
    if (!port) {
        return port.error();
    }
    c.port = static_cast<int32_t>(*port);
    c.disable_tls = bool_key(get, "cloud_storage_disable_tls", false);
    c.path_style = get("cloud_storage_url_style").value_or("virtual_host") == "path";
    // Credentials come from the config or all from the environment, never
    // mixed: a configured key paired with another identity's session token
    // would sign requests nobody meant.
    c.access_key = get("cloud_storage_access_key").value_or("");
    c.secret_key = get("cloud_storage_secret_key").value_or("");
    if (c.access_key.empty() && c.secret_key.empty()) {
        c.access_key = env("AWS_ACCESS_KEY_ID");
        c.secret_key = env("AWS_SECRET_ACCESS_KEY");
        c.session_token = env("AWS_SESSION_TOKEN");
    }
    auto timeout = int_key(get, "cloud_storage_request_timeout_ms", 10000);
    auto retries = int_key(get, "cloud_storage_max_retries", 5);
    auto backoff = int_key(get, "cloud_storage_initial_backoff_ms", 100);
    for (const auto* r : {&timeout, &retries, &backoff}) {
        if (!*r) {
            return r->error();
        }
    }
    c.request_timeout_ms = *timeout;
    c.max_retries = static_cast<int32_t>(*retries);
    c.backoff_ms = *backoff;
    return c;
}

}  // namespace fjord::objstore
