#pragma once
// File: common/objstore/sigv4.h
//
// AWS Signature Version 4 (the header form, "AWS4-HMAC-SHA256"), pure: no
// I/O, no clock, no globals. The S3 backend (s3_store.h) signs every request
// with it; sigv4_test.cc checks it against AWS's published test suite and
// the S3 documentation's worked examples.
//
// The steps (AWS's "Create a signed AWS API request"):
//   1. canonical request: method, canonical URI, canonical query, canonical
//      headers, signed headers, payload hash, joined by '\n';
//   2. string to sign: "AWS4-HMAC-SHA256", the x-amz-date, the credential
//      scope (<yyyymmdd>/<region>/<service>/aws4_request), the SHA-256 hex of
//      the canonical request;
//   3. signing key: HMAC chain "AWS4"+secret -> date -> region -> service ->
//      "aws4_request";
//   4. signature: hex HMAC of the string to sign; the Authorization header
//      names the credential, the signed headers and the signature.
//
// S3's rules, which this signer follows for every service: the path is
// URI-encoded once (not twice) and never normalized ("//", "/./" and "/../"
// are signed as they are). Paths and query parameters are given decoded;
// encode_path/canonical_query produce the one encoding both the signature
// and the request line use.
//
// All hashing and HMAC go through OpenSSL 3's EVP interfaces (EVP_Digest,
// EVP_MAC "HMAC"), fetched at each call from the default library context, so
// that a FIPS provider made the default (common/tls/fips.h) serves them.
// Their failure (no provider offers SHA-256 or HMAC) is errc::config.

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace fjord::objstore::sigv4 {

inline constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";
/// x-amz-content-sha256 for a payload that is not signed.
inline constexpr std::string_view unsigned_payload = "UNSIGNED-PAYLOAD";

struct credentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;  ///< empty: none (long-term keys)
};

struct header {
    std::string name;
    std::string value;
};

using query_params = std::vector<std::pair<std::string, std::string>>;

/// What is signed. Every header in `headers` is signed (and must be sent as
/// given); it must contain Host. A name may repeat (its values are joined
/// with ',' in the order given).
struct request {
    std::string method;  ///< "GET", "PUT", ...
    std::string path;    ///< decoded, starts with '/'
    query_params query;  ///< decoded names and values, any order
    std::vector<header> headers;
    std::string payload_hash;  ///< lower-case SHA-256 hex of the body, or UNSIGNED-PAYLOAD
};

struct scope {
    std::string region;
    std::string service;
    std::string amz_date;  ///< "yyyymmddThhmmssZ" (UTC), as in x-amz-date
};

struct signature {
    std::string canonical_request;
    std::string string_to_sign;
    std::string signed_headers;  ///< "host;x-amz-date"
    std::string signature;       ///< 64 lower-case hex digits
    std::string authorization;   ///< the Authorization header's value
};

/// RFC 3986 percent-encoding as SigV4 defines it: A-Z a-z 0-9 - . _ ~ stay,
/// every other byte becomes %XX (upper-case hex); '/' stays when
/// `keep_slash`.
std::string uri_encode(std::string_view s, bool keep_slash);
/// The canonical URI of a decoded path (and the path to send): each byte
/// encoded once, '/' kept, nothing normalized; "" becomes "/".
std::string encode_path(std::string_view path);
/// name=value pairs, both encoded, sorted by name then value, joined by '&'
/// (a parameter without a value is "name="). Also the query string to send.
std::string canonical_query(const query_params& q);

struct canonical_headers {
    std::string text;            ///< "name:value\n" per name, sorted
    std::string signed_headers;  ///< the names, ';'-separated
};
/// Names lower-cased and sorted; values trimmed, runs of spaces and tabs
/// collapsed to one space; a repeated name's values joined by ','.
canonical_headers canonicalize_headers(const std::vector<header>& headers);

/// Step 1. Errors (errc::rejected): no method, a path not starting with '/',
/// no Host header, a payload hash that is neither 64 hex digits nor
/// UNSIGNED-PAYLOAD, a CR or LF in a header.
result<std::string> canonical_request(const request& r);
/// "<yyyymmdd>/<region>/<service>/aws4_request"
std::string credential_scope(const scope& s);
/// Step 2.
result<std::string> string_to_sign(const scope& s, std::string_view canonical_request);
/// Step 3: the 32-byte signing key (binary).
result<std::string> signing_key(std::string_view secret_access_key, std::string_view date,
                                std::string_view region, std::string_view service);
/// Steps 1-4. Checks the scope (x-amz-date format, region and service
/// present) and that the credentials have a key id and a secret.
result<signature> sign(const request& r, const credentials& c, const scope& s);

/// Adds what S3 needs before signing, in this order: x-amz-content-sha256
/// (the request's payload_hash), x-amz-date (the scope's), and
/// x-amz-security-token when the credentials carry one; then signs. The
/// caller sends r.headers plus Authorization: <result>.authorization.
result<signature> sign_s3(request& r, const credentials& c, const scope& s);

/// SHA-256 of `data` as 64 lower-case hex digits.
result<std::string> sha256_hex(std::string_view data);
/// HMAC-SHA256(key, data), binary (32 bytes).
result<std::string> hmac_sha256(std::string_view key, std::string_view data);
/// Lower-case hex of bytes.
std::string to_hex(std::string_view bytes);
/// "yyyymmddThhmmssZ" of `t` in UTC.
std::string format_amz_date(std::chrono::system_clock::time_point t);

}  // namespace fjord::objstore::sigv4
