#pragma once
// File: common/objstore/object_store.h
//
// The object store tiered storage and mountable topics keep data in: one
// interface, two backends (a local directory: local_store.h; S3 over libcurl
// with AWS Signature V4: s3_store.h), chosen by the cluster config
// (store_config, make_store). The broker's archiver and remote reader and
// the controller's migration driver are its users; all of them call it from
// their own worker threads, never from an io or Raft thread: every call
// blocks until it has an answer, bounded by the store's request timeout.
//
// Contract, for every backend:
//   - put() is atomic: a reader sees the old object or the whole new one,
//     never a prefix. Success means durable (local: fsynced file and
//     directory; S3: the server's 200).
//   - get() returns exactly the object's bytes (or the asked range's): a
//     short or over-long body is errc::corrupt, never returned. A missing key
//     is errc::not_found.
//   - list() returns every key under the prefix (all pages), ascending.
//   - del() of a missing key succeeds (S3's semantics).
//   - Keys are relative ('/'-separated, no leading '/', no "." or ".."
//     segment, no empty segment, printable ASCII): anything else is
//     errc::invalid_key before any I/O.
// Errors carry an objstore errc (errc.h) saying what a caller may do:
// transient errors (5xx, 429/SlowDown, connection failures, timeouts) were
// already retried with backoff and jitter by the backend up to its limit;
// the caller retries later. rejected (any other 4xx: auth, bad request) is
// not retried. corrupt: a download failed a length or checksum check.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace fjord::objstore {

struct object_info {
    std::string key;
    uint64_t size = 0;
};

/// Inclusive byte range [first, last] of an object (HTTP Range semantics).
struct byte_range {
    uint64_t first = 0;
    uint64_t last = 0;
};

/// What each call did, by outcome; read from any thread (/metrics).
struct store_stats {
    uint64_t requests = 0;
    uint64_t retries = 0;
    uint64_t bytes_put = 0;
    uint64_t bytes_got = 0;
    uint64_t errors_not_found = 0;
    uint64_t errors_transient = 0;  ///< after the last retry
    uint64_t errors_rejected = 0;
    uint64_t errors_corrupt = 0;
    uint64_t errors_timeout = 0;
    uint64_t errors_io = 0;
};

class object_store {
  public:
    virtual ~object_store() = default;
    virtual result<void> put(const std::string& key, std::string_view bytes) = 0;
    virtual result<std::string> get(const std::string& key,
                                    std::optional<byte_range> range = std::nullopt) = 0;
    virtual result<object_info> head(const std::string& key) = 0;
    virtual result<std::vector<object_info>> list(const std::string& prefix) = 0;
    virtual result<void> del(const std::string& key) = 0;
    /// "dir:/var/lib/fjord/bucket" or "s3://bucket (endpoint, region)": for logs and status.
    virtual std::string describe() const = 0;
    virtual store_stats stats() const = 0;
};

/// The cluster config keys (common/cluster/config_schema.cc) that choose and
/// configure a store.
struct store_config {
    enum class backend { local, s3 };
    backend kind = backend::local;
    std::string local_directory;       ///< cloud_storage_local_directory (absolute)
    std::string bucket;                ///< cloud_storage_bucket
    std::string region = "us-east-1";  ///< cloud_storage_region
    std::string endpoint;  ///< cloud_storage_api_endpoint (host; empty: s3.<region>.amazonaws.com)
    int32_t port = 443;    ///< cloud_storage_api_endpoint_port
    bool disable_tls = false;   ///< cloud_storage_disable_tls
    bool path_style = false;    ///< cloud_storage_url_style == "path"
    std::string access_key;     ///< cloud_storage_access_key (empty: AWS_ACCESS_KEY_ID)
    std::string secret_key;     ///< cloud_storage_secret_key (empty: AWS_SECRET_ACCESS_KEY)
    std::string session_token;  ///< AWS_SESSION_TOKEN only
    int64_t request_timeout_ms = 10000;  ///< cloud_storage_request_timeout_ms, per attempt
    int32_t max_retries = 5;             ///< cloud_storage_max_retries
    int64_t backoff_ms = 100;            ///< cloud_storage_initial_backoff_ms (doubles, jittered)
};

/// Builds the configured backend; errors name the config key at fault.
result<std::unique_ptr<object_store>> make_store(const store_config& c);

/// errc::invalid_key with the reason, or ok.
result<void> check_key(std::string_view key);

}  // namespace fjord::objstore
