#pragma once
// File: common/objstore/s3_store.h
//
// The S3 backend of object_store.h, over libcurl, every request signed with
// AWS Signature Version 4 (sigv4.h). make_store() (object_store.cc) calls
// make_s3_store for store_config::backend::s3.
//
//   put   PUT with x-amz-content-sha256 = the payload's SHA-256, so that S3
//         itself refuses a body that arrived changed
//   get   GET, optionally with Range; the body must have Content-Length
//         bytes, and a 206 must carry exactly the range asked (clipped only
//         at the object's end, as HTTP allows); otherwise errc::corrupt
//   head  HEAD, the size from Content-Length
//   list  ListObjectsV2 (list-type=2), every page via continuation tokens
//   del   DELETE; a missing key is success
//
// Addressing: path-style (scheme://endpoint:port/bucket/key) or virtual-host
// (scheme://bucket.endpoint:port/key); https unless disable_tls; the
// endpoint defaults to s3.<region>.amazonaws.com. Credentials: the config's
// access and secret key, each else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY;
// the session token is the config's, else AWS_SESSION_TOKEN, the latter only
// when both keys came from the environment too.
//
// TLS verifies the server's certificate against libcurl's default trust
// store, or the PEM bundle named by AWS_CA_BUNDLE (as the AWS SDKs read it).
//
// Every attempt is bounded by request_timeout_ms (connect and transfer).
// Retried up to max_retries times, after a delay drawn uniformly from
// [0, min(20 s, backoff_ms * 2^n)]: timeouts, broken connections, short
// bodies, 429, 5xx and S3's SlowDown/RequestTimeout (s3_protocol.h,
// classify). Never retried: 404 (errc::not_found) and other 4xx
// (errc::rejected). Error details name the operation, the key, the HTTP
// status, S3's error Code and Message, and the attempts made.
//
// Thread-safe: any number of threads may call one store; each call borrows
// an easy handle from a small pool (connections are reused).
//
// stats(): requests counts HTTP requests (a list of n pages is n), retries
// the extra attempts; bytes_put/bytes_got count the bodies of successful
// puts and gets; errors_* count failed calls by their final errc.

#include <memory>

#include "common/objstore/object_store.h"
#include "common/result.h"

namespace fjord::objstore {

/// errc::config naming the key at fault (error_info::field): the checks of
/// s3::make_endpoint, a missing credential (cloud_storage_access_key /
/// cloud_storage_secret_key, saying which environment variable was also
/// empty), an AWS_CA_BUNDLE that cannot be read, or a libcurl without TLS
/// when TLS is asked for.
result<std::unique_ptr<object_store>> make_s3_store(const store_config& c);

}  // namespace fjord::objstore
