// File: common/objstore/s3_store.cc
//
// The S3 backend over libcurl; see s3_store.h for its contract and
// s3_protocol.h for the rules it applies.
#include "common/objstore/s3_store.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/objstore/errc.h"
#include "common/objstore/s3_protocol.h"
#include "common/objstore/sigv4.h"

namespace fjord::objstore {
namespace {

constexpr std::string_view component = "objstore";
/// Idle easy handles kept for reuse (with their connections).
constexpr size_t max_idle_handles = 16;

struct reply {
    s3::transport how = s3::transport::ok;
    std::string transport_detail;  ///< libcurl's message, or the failed check
    long status = 0;
    std::string body;
    std::optional<uint64_t> content_length;
    std::string content_range;
};

/// One HTTP exchange to make (and to retry as it is).
struct http_call {
    const char* method = "GET";
    std::string key;  ///< decoded; "" addresses the bucket
    sigv4::query_params query;
    std::vector<sigv4::header> extra_headers;
    std::string_view body;  ///< PUT only
    std::string payload_hash;
};

/// Checks a 2xx reply; "" when it is acceptable, else what is wrong (the
/// attempt then counts as a short/corrupt body and is retried).
using reply_check = std::string (*)(const reply&, const void* ctx);

std::string empty_payload_hash() {
    return "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
        s.remove_suffix(1);
    }
    return s;
}

size_t on_body(char* p, size_t size, size_t n, void* ud) {
    static_cast<reply*>(ud)->body.append(p, size * n);
    return size * n;
}

size_t on_header(char* p, size_t size, size_t n, void* ud) {
    auto* r = static_cast<reply*>(ud);
    const std::string_view line(p, size * n);
    if (line.substr(0, 5) == "HTTP/") {
        // A new header block (e.g. after an interim 100): start over.
        r->content_length.reset();
        r->content_range.clear();
        return size * n;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
        return size * n;
    }
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
        uint64_t v = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
        if (ec == std::errc() && end == value.data() + value.size() && !value.empty()) {
            r->content_length = v;
        }
    } else if (iequals(name, "content-range")) {
        r->content_range = std::string(value);
    }
    return size * n;
}

struct upload {
    std::string_view data;
    size_t offset = 0;
};

size_t on_read(char* buf, size_t size, size_t n, void* ud) {
    auto* u = static_cast<upload*>(ud);
    const size_t len = std::min(size * n, u->data.size() - u->offset);
    std::memcpy(buf, u->data.data() + u->offset, len);
    u->offset += len;
    return len;
}

int on_seek(void* ud, curl_off_t offset, int origin) {
    auto* u = static_cast<upload*>(ud);
    if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > u->data.size()) {
        return CURL_SEEKFUNC_FAIL;
    }
    u->offset = static_cast<size_t>(offset);
    return CURL_SEEKFUNC_OK;
}

s3::transport transport_of(CURLcode c) {
    switch (c) {
        case CURLE_OK:
            return s3::transport::ok;
        case CURLE_OPERATION_TIMEDOUT:
            return s3::transport::timeout;
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_UPLOAD_FAILED:
            return s3::transport::connect;
        case CURLE_PARTIAL_FILE:
            return s3::transport::partial;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_CRL_BADFILE:
            return s3::transport::tls;
        default:
            return s3::transport::other;
    }
}

/// "cloud_storage_x: reason" as errc::config.
error_info config_error(std::string_view field, std::string_view reason) {
    return error_info::for_field(errc::config, field, reason);
}

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
}

/// Printable ASCII, no spaces (and no '/' when `slash_ok` is false).
bool credential_chars_ok(std::string_view s, bool slash_ok) {
    return std::all_of(s.begin(), s.end(),
                       [&](char ch) { return ch > 0x20 && ch < 0x7f && (slash_ok || ch != '/'); });
}

std::once_flag curl_init_once;
CURLcode curl_init_result = CURLE_OK;

class s3_store final : public object_store {
  public:
    s3_store(s3::endpoint ep, sigv4::credentials creds, std::string ca_bundle,
             const store_config& c)
        : _ep(std::move(ep)),
          _creds(std::move(creds)),
          _ca_bundle(std::move(ca_bundle)),
          _timeout_ms(c.request_timeout_ms),
          _max_retries(c.max_retries),
          _backoff_ms(c.backoff_ms) {}

    ~s3_store() override {
        for (CURL* h : _idle) {
            curl_easy_cleanup(h);
        }
    }

    s3_store(const s3_store&) = delete;
    s3_store& operator=(const s3_store&) = delete;

    result<void> put(const std::string& key, std::string_view bytes) override {
        if (auto k = check_key(key); !k) {
            return counted(k.error());
        }
        auto hash = sigv4::sha256_hex(bytes);
        if (!hash) {
            return counted(hash.error());
        }
        http_call c;
        c.method = "PUT";
        c.key = key;
        c.body = bytes;
        c.payload_hash = *hash;
        auto r = call("put", key, c, nullptr, nullptr);
        if (!r) {
            return counted(r.error());
        }
        _bytes_put += bytes.size();
        return ok();
    }

    result<std::string> get(const std::string& key, std::optional<byte_range> range) override {
        if (auto k = check_key(key); !k) {
            return counted(k.error());
        }
        if (range && range->first > range->last) {
            return counted(error_info::for_field(errc::rejected, "range",
                                                 "first " + std::to_string(range->first) +
                                                     " > last " + std::to_string(range->last)));
        }
        http_call c;
        c.key = key;
        c.payload_hash = empty_payload_hash();
        if (range) {
            c.extra_headers.push_back({"Range", "bytes=" + std::to_string(range->first) + "-" +
                                                    std::to_string(range->last)});
        }
        const std::optional<byte_range>* asked = &range;
        auto check = [](const reply& r, const void* ctx) -> std::string {
            const auto& want = *static_cast<const std::optional<byte_range>*>(ctx);
            if (!r.content_length) {
                return "no Content-Length to check the body against";
            }
            if (*r.content_length != r.body.size()) {
                return "Content-Length " + std::to_string(*r.content_length) + ", body " +
                       std::to_string(r.body.size()) + " bytes";
            }
            if (want && r.status == 206) {
                return s3::check_partial_reply(*want, s3::parse_content_range(r.content_range),
                                               r.body.size());
            }
            if (r.status != 200) {
                return "HTTP " + std::to_string(r.status) + " to a GET";
            }
            return "";
        };
        auto r = call("get", key, c, check, asked);
        if (!r) {
            return counted(r.error());
        }
        std::string body = std::move(r->body);
        if (range && r->status == 200) {
            // The server sent the whole object (it may ignore Range): cut
            // out what was asked, clipped at the end as a 206 would be.
            if (range->first >= body.size()) {
                return counted(error_info(
                    errc::rejected, "get \"" + key + "\": range starts at " +
                                        std::to_string(range->first) + ", past the object's " +
                                        std::to_string(body.size()) + " bytes"));
            }
            const uint64_t last = std::min<uint64_t>(range->last, body.size() - 1);
            body = body.substr(range->first, last - range->first + 1);
        }
        _bytes_got += body.size();
        return body;
    }

    result<object_info> head(const std::string& key) override {
        if (auto k = check_key(key); !k) {
            return counted(k.error());
        }
        http_call c;
        c.method = "HEAD";
        c.key = key;
        c.payload_hash = empty_payload_hash();
        auto check = [](const reply& r, const void*) -> std::string {
            return r.content_length ? "" : "no Content-Length in the HEAD reply";
        };
        auto r = call("head", key, c, check, nullptr);
        if (!r) {
            return counted(r.error());
        }
        return object_info{key, *r->content_length};
    }

    result<std::vector<object_info>> list(const std::string& prefix) override {
        for (const char ch : prefix) {
            if (ch < 0x20 || ch > 0x7e) {
                return counted(error_info::for_field(errc::invalid_key, "prefix",
                                                     "has a byte that is not printable ASCII"));
            }
        }
        std::vector<object_info> all;
        std::string token;
        for (int page_no = 1;; ++page_no) {
            http_call c;
            c.payload_hash = empty_payload_hash();
            c.query = {{"list-type", "2"}, {"prefix", prefix}};
            if (!token.empty()) {
                c.query.emplace_back("continuation-token", token);
            }
            auto r = call("list", prefix, c, nullptr, nullptr);
            if (!r) {
                return counted(r.error());
            }
            auto page = s3::parse_list_page(r->body);
            if (!page) {
                return counted(error_info(errc::corrupt, "list \"" + prefix + "\" page " +
                                                             std::to_string(page_no) + ": " +
                                                             page.error().detail));
            }
            for (object_info& o : page->objects) {
                all.push_back(std::move(o));
            }
            if (!page->truncated) {
                break;
            }
            if (page->next_token == token) {
                return counted(error_info(
                    errc::corrupt, "list \"" + prefix + "\" page " + std::to_string(page_no) +
                                       ": the same continuation token again"));
            }
            token = std::move(page->next_token);
        }
        std::sort(all.begin(), all.end(),
                  [](const object_info& a, const object_info& b) { return a.key < b.key; });
        return all;
    }

    result<void> del(const std::string& key) override {
        if (auto k = check_key(key); !k) {
            return counted(k.error());
        }
        http_call c;
        c.method = "DELETE";
        c.key = key;
        c.payload_hash = empty_payload_hash();
        auto r = call("del", key, c, nullptr, nullptr);
        if (!r && r.code() != make_error_code(errc::not_found)) {
            return counted(r.error());
        }
        return ok();
    }

    std::string describe() const override { return _ep.describe(); }

    store_stats stats() const override {
        store_stats s;
        s.requests = _requests.load();
        s.retries = _retries.load();
        s.bytes_put = _bytes_put.load();
        s.bytes_got = _bytes_got.load();
        s.errors_not_found = _errors[static_cast<int>(errc::not_found)].load();
        s.errors_transient = _errors[static_cast<int>(errc::transient)].load();
        s.errors_rejected = _errors[static_cast<int>(errc::rejected)].load();
        s.errors_corrupt = _errors[static_cast<int>(errc::corrupt)].load();
        s.errors_timeout = _errors[static_cast<int>(errc::timeout)].load();
        s.errors_io = _errors[static_cast<int>(errc::io_error)].load();
        return s;
    }

  private:
    /// Counts a failed call by its errc and returns the error.
    error_info counted(error_info e) {
        if (e.code.category() == error_category()) {
            const int v = e.code.value();
            if (v > 0 && v < static_cast<int>(_errors.size())) {
                ++_errors[v];
            }
        }
        return e;
    }

    CURL* acquire() {
        {
            const std::lock_guard lock(_pool_mu);
            if (!_idle.empty()) {
                CURL* h = _idle.back();
                _idle.pop_back();
                return h;
            }
        }
        return curl_easy_init();
    }

    void release(CURL* h) {
        {
            const std::lock_guard lock(_pool_mu);
            if (_idle.size() < max_idle_handles) {
                _idle.push_back(h);
                return;
            }
        }
        curl_easy_cleanup(h);
    }

    /// One attempt: sign (afresh: x-amz-date is now), send, read.
    reply perform(const http_call& c) {
        reply r;
        const std::string path = _ep.path(c.key);
        sigv4::request sr{c.method, path, c.query, {{"Host", _ep.host_header()}}, c.payload_hash};
        for (const auto& h : c.extra_headers) {
            sr.headers.push_back(h);
        }
        const sigv4::scope scope{_ep.region, "s3",
                                 sigv4::format_amz_date(std::chrono::system_clock::now())};
        auto sig = sigv4::sign_s3(sr, _creds, scope);
        if (!sig) {
            r.how = s3::transport::other;
            r.transport_detail = sig.error().detail;
            return r;
        }
        const std::string url = _ep.url(path, sigv4::canonical_query(c.query));

        CURL* h = acquire();
        if (h == nullptr) {
            r.how = s3::transport::other;
            r.transport_detail = "curl_easy_init failed";
            return r;
        }
        curl_slist* headers = nullptr;
        auto add_header = [&headers](const std::string& line) {
            if (curl_slist* n = curl_slist_append(headers, line.c_str())) {
                headers = n;
            }
        };
        for (const auto& [name, value] : sr.headers) {
            add_header(name + ": " + value);
        }
        add_header("Authorization: " + sig->authorization);
        add_header("Expect:");  // no 100-continue round trip before a PUT body
        upload up{c.body, 0};
        char errbuf[CURL_ERROR_SIZE] = {};

        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url.c_str());
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(_timeout_ms));
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(_timeout_ms));
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        if (!_ca_bundle.empty()) {
            curl_easy_setopt(h, CURLOPT_CAINFO, _ca_bundle.c_str());
        }
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
        if (std::strcmp(c.method, "HEAD") == 0) {
            curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        } else if (std::strcmp(c.method, "PUT") == 0) {
            curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(c.body.size()));
            curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(h, CURLOPT_READDATA, &up);
            curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
            curl_easy_setopt(h, CURLOPT_SEEKDATA, &up);
        } else if (std::strcmp(c.method, "DELETE") == 0) {
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
        } else {
            curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        }
        const CURLcode rc = curl_easy_perform(h);
        r.how = transport_of(rc);
        if (rc != CURLE_OK) {
            r.transport_detail = errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(rc);
        } else {
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
        }
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
        curl_slist_free_all(headers);
        release(h);
        return r;
    }

    /// The attempts of one exchange; the reply of the first that succeeds
    /// (a 2xx that passes `check`), else the last failure as an error
    /// naming the operation and the key. Does not count errors (the caller
    /// decides what a failure is: del's not_found is success).
    result<reply> call(std::string_view op, const std::string& key, const http_call& c,
                       reply_check check, const void* check_ctx) {
        const int attempts = _max_retries + 1;
        std::string last;
        s3::verdict v;
        int made = 0;
        for (int n = 0; n < attempts; ++n) {
            if (n > 0) {
                ++_retries;
                std::this_thread::sleep_for(s3::backoff_delay(n - 1, _backoff_ms, jitter()));
            } else {
                ++_requests;
            }
            reply r = perform(c);
            made = n + 1;
            s3::attempt a{r.how, r.status, ""};
            std::optional<s3::error_document> doc;
            if (r.how == s3::transport::ok && (r.status < 200 || r.status >= 300)) {
                doc = s3::parse_error_document(r.body);
                if (doc) {
                    a.error_code = doc->code;
                }
            }
            if (r.how == s3::transport::ok && r.status >= 200 && r.status < 300 &&
                check != nullptr) {
                if (std::string bad = check(r, check_ctx); !bad.empty()) {
                    a.how = s3::transport::partial;
                    r.transport_detail = std::move(bad);
                }
            }
            v = s3::classify(a);
            if (v.success) {
                return r;
            }
            last = describe_failure(a, r, doc);
            if (!v.retry) {
                break;
            }
            if (n + 1 < attempts) {
                log(log_level::debug, component, "{} {} \"{}\": {}; retrying ({} of {})",
                    describe(), op, key, last, n + 1, _max_retries);
            }
        }
        return error_info(v.code, std::string(op) + " \"" + key + "\": " + last + " (" +
                                      std::to_string(made) +
                                      (made == 1 ? " attempt" : " attempts") + ")");
    }

    std::string describe_failure(const s3::attempt& a, const reply& r,
                                 const std::optional<s3::error_document>& doc) const {
        switch (a.how) {
            case s3::transport::timeout:
                return "timed out after " + std::to_string(_timeout_ms) +
                       " ms: " + r.transport_detail;
            case s3::transport::connect:
                return "connection failed: " + r.transport_detail;
            case s3::transport::partial:
                return (r.status != 0 ? "HTTP " + std::to_string(r.status) + ", " : "") +
                       "body incomplete or wrong: " + r.transport_detail;
            case s3::transport::tls:
                return "TLS: " + r.transport_detail;
            case s3::transport::other:
                return r.transport_detail;
            case s3::transport::ok:
                break;
        }
        std::string s = "HTTP " + std::to_string(a.status);
        if (doc) {
            s += " " + doc->code + ": " + doc->message;
        }
        return s;
    }

    static uint64_t jitter() {
        thread_local std::mt19937_64 rng{std::random_device{}()};
        return rng();
    }

    const s3::endpoint _ep;
    const sigv4::credentials _creds;
    const std::string _ca_bundle;  ///< AWS_CA_BUNDLE; "" = libcurl's default trust store
    const int64_t _timeout_ms;
    const int32_t _max_retries;
    const int64_t _backoff_ms;

    std::mutex _pool_mu;
    std::vector<CURL*> _idle;

    std::atomic<uint64_t> _requests{0};
    std::atomic<uint64_t> _retries{0};
    std::atomic<uint64_t> _bytes_put{0};
    std::atomic<uint64_t> _bytes_got{0};
    std::array<std::atomic<uint64_t>, 9> _errors{};  ///< by errc value
};

}  // namespace

result<std::unique_ptr<object_store>> make_s3_store(const store_config& c) {
    auto ep = s3::make_endpoint(c);
    if (!ep) {
        return ep.error();
    }
    sigv4::credentials creds{c.access_key, c.secret_key, c.session_token};
    const bool key_from_env = creds.access_key_id.empty();
    const bool secret_from_env = creds.secret_access_key.empty();
    if (key_from_env) {
        creds.access_key_id = env("AWS_ACCESS_KEY_ID");
    }
    if (secret_from_env) {
        creds.secret_access_key = env("AWS_SECRET_ACCESS_KEY");
    }
    if (creds.access_key_id.empty()) {
        return config_error("cloud_storage_access_key",
                            "not set, and AWS_ACCESS_KEY_ID is not in the environment");
    }
    if (creds.secret_access_key.empty()) {
        return config_error("cloud_storage_secret_key",
                            "not set, and AWS_SECRET_ACCESS_KEY is not in the environment");
    }
    if (creds.session_token.empty() && key_from_env && secret_from_env) {
        creds.session_token = env("AWS_SESSION_TOKEN");
    }
    const char* key_source = key_from_env ? "AWS_ACCESS_KEY_ID" : "cloud_storage_access_key";
    if (!credential_chars_ok(creds.access_key_id, false)) {
        return config_error(key_source, "not an access key id (printable ASCII, no space or '/')");
    }
    if (!credential_chars_ok(creds.secret_access_key, true)) {
        return config_error(secret_from_env ? "AWS_SECRET_ACCESS_KEY" : "cloud_storage_secret_key",
                            "not a secret key (printable ASCII, no space)");
    }
    if (!credential_chars_ok(creds.session_token, true)) {
        return config_error("AWS_SESSION_TOKEN", "not a session token (printable ASCII, no space)");
    }
    // The signer's primitives, once: a process whose OpenSSL cannot give
    // SHA-256 and HMAC (no provider) cannot talk to S3 at all.
    if (auto probe = sigv4::signing_key("probe", "20150830", "us-east-1", "s3"); !probe) {
        return probe.error();
    }
    std::call_once(curl_init_once,
                   [] { curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (curl_init_result != CURLE_OK) {
        return error_info(errc::config, std::string("libcurl did not initialize: ") +
                                            curl_easy_strerror(curl_init_result));
    }
    // AWS_CA_BUNDLE, as the AWS SDKs read it: the certificates to trust
    // instead of the system's (a private CA in front of an S3-compatible
    // store).
    const std::string ca_bundle = env("AWS_CA_BUNDLE");
    if (!ca_bundle.empty() && ::access(ca_bundle.c_str(), R_OK) != 0) {
        return config_error("AWS_CA_BUNDLE", "cannot read \"" + ca_bundle + "\"");
    }
    const curl_version_info_data* v = curl_version_info(CURLVERSION_NOW);
    if (ep->tls && (v == nullptr || (v->features & CURL_VERSION_SSL) == 0)) {
        return config_error("cloud_storage_disable_tls",
                            "TLS is asked for, but this libcurl was built without TLS");
    }
    return std::unique_ptr<object_store>(
        std::make_unique<s3_store>(std::move(*ep), std::move(creds), ca_bundle, c));
}

}  // namespace fjord::objstore
