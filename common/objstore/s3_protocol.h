#pragma once
// File: common/objstore/s3_protocol.h
//
// The S3 backend's rules as pure functions (no network, no clock), so that
// s3_protocol_test.cc checks them directly; s3_store.cc applies them:
//   - addressing: the checked config -> scheme, host, port, Host header and
//     request paths (path-style or virtual-host);
//   - which outcome of an attempt is retried, and what error it becomes;
//   - the backoff before a retry (exponential, full jitter);
//   - the XML S3 answers with: ListObjectsV2 pages and error documents,
//     read by a small but complete parser (entities, CDATA, comments,
//     declarations; no DTD internal subsets, which S3 never sends).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/objstore/errc.h"
#include "common/objstore/object_store.h"
#include "common/result.h"

namespace fjord::objstore::s3 {

// ---------------------------------------------------------------- addressing

struct endpoint {
    bool tls = true;
    std::string host;  ///< the host requests go to (bucket.<endpoint> for virtual-host)
    int32_t port = 443;
    bool path_style = false;
    std::string bucket;
    std::string region;

    /// host, with ":port" unless the port is the scheme's default.
    std::string host_header() const;
    /// The decoded request path of an object ("/bucket/key" or "/key"), or
    /// of the bucket itself when key is empty ("/bucket" or "/").
    std::string path(std::string_view key) const;
    /// scheme://host:port + encoded path (+ '?' + the canonical query).
    std::string url(std::string_view path, std::string_view canonical_query) const;
    /// "s3://bucket (host:port, region, path-style, tls)"
    std::string describe() const;
};

/// Checks the S3 part of a store_config and derives the endpoint. Errors are
/// errc::config naming the cluster config key at fault (error_info::field):
/// cloud_storage_bucket (S3's bucket-name rules), cloud_storage_region,
/// cloud_storage_api_endpoint (a host name or IP address, no scheme, path or
/// port), cloud_storage_api_endpoint_port, cloud_storage_url_style
/// (virtual-host addressing needs a host name, and with TLS a bucket without
/// '.'), cloud_storage_request_timeout_ms, cloud_storage_max_retries,
/// cloud_storage_initial_backoff_ms.
result<endpoint> make_endpoint(const store_config& c);

// ------------------------------------------------------------ classification

/// How an attempt's transfer ended, before any HTTP status is looked at.
enum class transport {
    ok,       ///< a complete HTTP response arrived
    timeout,  ///< the per-attempt timeout expired (connect or transfer)
    connect,  ///< no connection, or it broke (refused, reset, DNS, TLS handshake)
    partial,  ///< the body ended short, or did not match its length checks
    tls,      ///< the server's certificate did not verify: a configuration problem
    other,    ///< anything else (a local failure)
};

struct attempt {
    transport how = transport::ok;
    long status = 0;         ///< HTTP status when how == ok
    std::string error_code;  ///< S3's <Code> from an error body ("" if none)
};

struct verdict {
    bool success = false;
    bool retry = false;
    errc code = errc::io_error;  ///< the error when !success
};

/// success: 2xx. Retried: timeouts (errc::timeout), broken connections
/// (transient), short bodies (corrupt), 429, 5xx, and S3's SlowDown and
/// RequestTimeout codes whatever their status (transient). Not retried: 404
/// (not_found; NoSuchBucket is rejected: a missing bucket is not a missing
/// object), any other 3xx/4xx (rejected), certificate failures (rejected),
/// local failures (io_error).
verdict classify(const attempt& a);

/// The delay before retry number `retry` (0 = the first retry): uniform in
/// [0, min(cap, base * 2^retry)] ("full jitter"), drawn from `random`.
std::chrono::milliseconds backoff_delay(int retry, int64_t base_ms, uint64_t random);
/// The cap of backoff_delay.
inline constexpr int64_t max_backoff_ms = 20000;

// ----------------------------------------------------------------------- XML

struct xml_node {
    std::string name;  ///< local name (any "prefix:" removed)
    std::string text;  ///< the element's own character data, entities decoded
    std::vector<xml_node> children;
    /// The first child named `n`, or nullptr.
    const xml_node* child(std::string_view n) const;
};

/// One document with one root element. errc::corrupt saying where it broke.
result<xml_node> parse_xml(std::string_view doc);
/// &amp; &lt; &gt; &quot; &apos; &#NN; &#xNN; (as UTF-8). errc::corrupt for
/// anything else after '&'.
result<std::string> decode_entities(std::string_view s);

/// S3's <Error><Code/><Message/></Error>; nullopt when the body is not one.
struct error_document {
    std::string code;
    std::string message;
};
std::optional<error_document> parse_error_document(std::string_view body);

/// One ListObjectsV2 page (<ListBucketResult>).
struct list_page {
    std::vector<object_info> objects;
    bool truncated = false;
    std::string next_token;  ///< NextContinuationToken
};
/// errc::corrupt: not XML, not a ListBucketResult, a <Contents> without a
/// Key or with a Size that is not a decimal number, an IsTruncated that is
/// neither "true" nor "false", or a truncated page without a
/// NextContinuationToken.
result<list_page> parse_list_page(std::string_view body);

// ---------------------------------------------------------- range responses

/// "bytes <first>-<last>/<total|*>"
struct content_range {
    uint64_t first = 0;
    uint64_t last = 0;
    std::optional<uint64_t> total;
};
std::optional<content_range> parse_content_range(std::string_view v);

/// Whether a 206 reply to Range: bytes=<asked.first>-<asked.last> is
/// exactly what HTTP allows: it starts at first, ends at last or (shorter)
/// at the object's end, and the body has that many bytes. "" when it is;
/// otherwise what is wrong.
std::string check_partial_reply(byte_range asked, const std::optional<content_range>& got,
                                uint64_t body_size);

}  // namespace fjord::objstore::s3
