// File: common/objstore/s3_store_test.cc
//
// The S3 backend against a scripted HTTP server on loopback that answers
// each connection with the next canned reply and records what it got: the
// retry loop (SlowDown, 5xx, stalls, short and wrong bodies), what is never
// retried, list pagination, and that every request sent is the request
// signed (each recorded request is re-signed here from what arrived and must
// carry the same Authorization). The end-to-end run against a real
// S3-compatible server is s3_store_s3rver_test.cc.
#include "common/objstore/s3_store.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "common/objstore/errc.h"
#include "common/objstore/sigv4.h"

namespace fjord::objstore {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view stall = "<stall>";  ///< a reply that never comes

struct recorded {
    std::string method;
    std::string target;
    std::vector<sigv4::header> headers;
    std::string body;

    std::string header(std::string_view name) const {
        for (const auto& [n, v] : headers) {
            if (strcasecmp(n.c_str(), std::string(name).c_str()) == 0) {
                return v;
            }
        }
        return "";
    }
};

/// Answers connection i with replies[min(i, last)] and closes it.
class scripted_server {
  public:
    explicit scripted_server(std::vector<std::string> replies) : _replies(std::move(replies)) {
        _fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const int one = 1;
        ::setsockopt(_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        EXPECT_EQ(::bind(_fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
        EXPECT_EQ(::listen(_fd, 16), 0);
        socklen_t len = sizeof(a);
        ::getsockname(_fd, reinterpret_cast<sockaddr*>(&a), &len);
        _port = ntohs(a.sin_port);
        _thread = std::thread([this] { run(); });
    }
    ~scripted_server() {
        _stop = true;
        _thread.join();
        ::close(_fd);
    }
    scripted_server(const scripted_server&) = delete;
    scripted_server& operator=(const scripted_server&) = delete;

    int port() const { return _port; }
    std::vector<recorded> requests() const {
        const std::lock_guard lock(_mu);
        return _requests;
    }

  private:
    void run() {
        size_t served = 0;
        while (!_stop) {
            pollfd p{_fd, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) {
                continue;
            }
            const int c = ::accept(_fd, nullptr, nullptr);
            if (c < 0) {
                continue;
            }
            recorded r;
            if (read_request(c, r)) {
                const std::lock_guard lock(_mu);
                _requests.push_back(std::move(r));
            }
            const std::string& reply = _replies[std::min(served, _replies.size() - 1)];
            ++served;
            if (reply == stall) {
                // Hold the connection open, answer nothing, until the
                // client gives up (or the test ends).
                char b;
                pollfd q{c, POLLIN, 0};
                while (!_stop && (::poll(&q, 1, 20) == 0 || ::recv(c, &b, 1, MSG_PEEK) > 0)) {
                    q.revents = 0;
                }
            } else {
                size_t off = 0;
                while (off < reply.size()) {
                    const ssize_t n =
                        ::send(c, reply.data() + off, reply.size() - off, MSG_NOSIGNAL);
                    if (n <= 0) {
                        break;
                    }
                    off += static_cast<size_t>(n);
                }
            }
            ::close(c);
        }
    }

    bool read_request(int c, recorded& r) {
        std::string in;
        char buf[4096];
        size_t head_end = std::string::npos;
        while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
            const ssize_t n = ::recv(c, buf, sizeof(buf), 0);
            if (n <= 0) {
                return false;
            }
            in.append(buf, static_cast<size_t>(n));
        }
        const std::string head = in.substr(0, head_end);
        size_t line_end = head.find("\r\n");
        const std::string first = head.substr(0, line_end);
        const size_t sp1 = first.find(' ');
        const size_t sp2 = first.find(' ', sp1 + 1);
        r.method = first.substr(0, sp1);
        r.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
        size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
        while (pos < head.size()) {
            size_t e = head.find("\r\n", pos);
            e = e == std::string::npos ? head.size() : e;
            const std::string line = head.substr(pos, e - pos);
            const size_t colon = line.find(':');
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') {
                value.erase(0, 1);
            }
            r.headers.push_back({line.substr(0, colon), value});
            pos = e + 2;
        }
        const std::string cl = r.header("Content-Length");
        const size_t want = cl.empty() ? 0 : std::stoul(cl);
        r.body = in.substr(head_end + 4);
        while (r.body.size() < want) {
            const ssize_t n = ::recv(c, buf, sizeof(buf), 0);
            if (n <= 0) {
                return false;
            }
            r.body.append(buf, static_cast<size_t>(n));
        }
        return true;
    }

    std::vector<std::string> _replies;
    int _fd = -1;
    int _port = 0;
    std::atomic<bool> _stop{false};
    mutable std::mutex _mu;
    std::vector<recorded> _requests;
    std::thread _thread;
};

std::string http(int status, std::string_view reason, std::string_view body,
                 std::string_view extra_headers = "") {
    return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
           std::string(extra_headers) + "Connection: close\r\n\r\n" + std::string(body);
}

std::string s3_error(int status, std::string_view reason, std::string_view code,
                     std::string_view message) {
    return http(status, reason,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + std::string(code) +
                    "</Code><Message>" + std::string(message) +
                    "</Message><RequestId>1</RequestId></Error>",
                "Content-Type: application/xml\r\n");
}

store_config config_for(int port) {
    store_config c;
    c.kind = store_config::backend::s3;
    c.bucket = "fjord-test";
    c.region = "us-east-1";
    c.endpoint = "127.0.0.1";
    c.port = port;
    c.disable_tls = true;
    c.path_style = true;
    c.access_key = "AKIDEXAMPLE";
    c.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    c.request_timeout_ms = 1000;
    c.max_retries = 3;
    c.backoff_ms = 1;
    return c;
}

std::unique_ptr<object_store> store_for(const store_config& c) {
    auto s = make_s3_store(c);
    EXPECT_TRUE(s.has_value()) << s.error().message();
    return s ? std::move(*s) : nullptr;
}

std::string percent_decode(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            out.push_back(
                static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

/// Re-signs a recorded request from what arrived (the headers its
/// Authorization names, the decoded path and query, the x-amz-* values) and
/// expects the same Authorization: what was sent is what was signed.
void expect_signed_as_sent(const recorded& r, const store_config& c) {
    SCOPED_TRACE(r.method + " " + r.target);
    const std::string auth = r.header("Authorization");
    const size_t sh = auth.find("SignedHeaders=");
    ASSERT_NE(sh, std::string::npos) << auth;
    const std::string signed_names = auth.substr(sh + 14, auth.find(',', sh) - sh - 14);
    sigv4::request req;
    req.method = r.method;
    const size_t q = r.target.find('?');
    req.path = percent_decode(r.target.substr(0, q));
    if (q != std::string::npos) {
        std::string_view rest = std::string_view(r.target).substr(q + 1);
        while (!rest.empty()) {
            const size_t amp = rest.find('&');
            const std::string_view kv = rest.substr(0, amp);
            const size_t eq = kv.find('=');
            req.query.emplace_back(
                percent_decode(kv.substr(0, eq)),
                eq == std::string_view::npos ? "" : percent_decode(kv.substr(eq + 1)));
            rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        }
    }
    size_t start = 0;
    while (start <= signed_names.size()) {
        size_t semi = signed_names.find(';', start);
        semi = semi == std::string::npos ? signed_names.size() : semi;
        const std::string name = signed_names.substr(start, semi - start);
        req.headers.push_back({name, r.header(name)});
        start = semi + 1;
    }
    req.payload_hash = r.header("x-amz-content-sha256");
    const sigv4::scope s{c.region, "s3", r.header("x-amz-date")};
    auto sig = sigv4::sign(req, {c.access_key, c.secret_key, ""}, s);
    ASSERT_TRUE(sig.has_value()) << sig.error().message();
    EXPECT_EQ(sig->authorization, auth);
    EXPECT_EQ(r.header("Host"), "127.0.0.1:" + std::to_string(c.port));
}

TEST(S3StoreTest, PutSendsThePayloadHashAndTheSignedRequest) {
    scripted_server srv({http(200, "OK", "", "ETag: \"x\"\r\n")});
    const store_config c = config_for(srv.port());
    auto s = store_for(c);
    ASSERT_NE(s, nullptr);
    const std::string payload(100000, 'x');
    ASSERT_TRUE(s->put("topic/0/seg=00+1&x%", payload).has_value());
    const auto reqs = srv.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].method, "PUT");
    EXPECT_EQ(reqs[0].target, "/fjord-test/topic/0/seg%3D00%2B1%26x%25");
    EXPECT_EQ(reqs[0].body, payload);
    EXPECT_EQ(reqs[0].header("x-amz-content-sha256"), *sigv4::sha256_hex(payload));
    EXPECT_EQ(reqs[0].header("Expect"), "");
    expect_signed_as_sent(reqs[0], c);
    EXPECT_EQ(s->stats().bytes_put, payload.size());
    EXPECT_EQ(s->stats().requests, 1u);
}

TEST(S3StoreTest, RetriesSlowDownAnd5xxThenSucceeds) {
    scripted_server srv({s3_error(503, "Slow Down", "SlowDown", "Please reduce your request rate."),
                         s3_error(500, "Internal Server Error", "InternalError", "oops"),
                         http(200, "OK", "hello")});
    const store_config c = config_for(srv.port());
    auto s = store_for(c);
    ASSERT_NE(s, nullptr);
    auto got = s->get("k");
    ASSERT_TRUE(got.has_value()) << got.error().message();
    EXPECT_EQ(*got, "hello");
    const store_stats st = s->stats();
    EXPECT_EQ(st.requests, 1u);
    EXPECT_EQ(st.retries, 2u);
    EXPECT_EQ(st.bytes_got, 5u);
    const auto reqs = srv.requests();
    ASSERT_EQ(reqs.size(), 3u);
    for (const recorded& r : reqs) {
        expect_signed_as_sent(r, c);
    }
}

TEST(S3StoreTest, GivesUpAfterMaxRetriesAsTransient) {
    scripted_server srv(
        {s3_error(503, "Slow Down", "SlowDown", "Please reduce your request rate.")});
    const store_config c = config_for(srv.port());
    auto s = store_for(c);
    ASSERT_NE(s, nullptr);
    auto got = s->get("a/b");
    ASSERT_FALSE(got.has_value());
    EXPECT_EQ(got.code(), make_error_code(errc::transient));
    const std::string d = got.error().detail;
    EXPECT_NE(d.find("get \"a/b\""), std::string::npos) << d;
    EXPECT_NE(d.find("HTTP 503 SlowDown: Please reduce your request rate."), std::string::npos)
        << d;
    EXPECT_NE(d.find("(4 attempts)"), std::string::npos) << d;
    EXPECT_EQ(srv.requests().size(), 4u);
    EXPECT_EQ(s->stats().retries, 3u);
    EXPECT_EQ(s->stats().errors_transient, 1u);
}

TEST(S3StoreTest, NeverRetries4xx) {
    scripted_server srv({s3_error(403, "Forbidden", "AccessDenied", "Access Denied")});
    const store_config c = config_for(srv.port());
    auto s = store_for(c);
    ASSERT_NE(s, nullptr);
    auto r = s->put("k", "v");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.code(), make_error_code(errc::rejected));
    EXPECT_NE(r.error().detail.find("put \"k\": HTTP 403 AccessDenied: Access Denied (1 attempt)"),
              std::string::npos)
        << r.error().detail;
    EXPECT_EQ(srv.requests().size(), 1u);
    EXPECT_EQ(s->stats().retries, 0u);
    EXPECT_EQ(s->stats().errors_rejected, 1u);
}

TEST(S3StoreTest, NotFoundIsNotRetriedAndDelOfAMissingKeySucceeds) {
    scripted_server srv(
        {s3_error(404, "Not Found", "NoSuchKey", "The specified key does not exist.")});
    const store_config c = config_for(srv.port());
    auto s = store_for(c);
    ASSERT_NE(s, nullptr);
    auto got = s->get("gone");
    EXPECT_EQ(got.code(), make_error_code(errc::not_found));
    EXPECT_EQ(s->head("gone").code(), make_error_code(errc::not_found));
    EXPECT_TRUE(s->del("gone").has_value());
    EXPECT_EQ(srv.requests().size(), 3u);
    EXPECT_EQ(s->stats().errors_not_found, 2u);
}

TEST(S3StoreTest, AMissingBucketIsRejectedNotNotFound) {
    scripted_server srv(
        {s3_error(404, "Not Found", "NoSuchBucket", "The specified bucket does not exist")});
    auto s = store_for(config_for(srv.port()));
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->get("k").code(), make_error_code(errc::rejected));
    auto d = s->del("k");
    EXPECT_EQ(d.code(), make_error_code(errc::rejected));
    EXPECT_NE(d.error().detail.find("NoSuchBucket"), std::string::npos) << d.error().detail;
}

TEST(S3StoreTest, AShortBodyIsRetriedThenCorrupt) {
    // Content-Length says 10, the connection closes after 5.
    scripted_server srv({"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"});
    auto s = store_for(config_for(srv.port()));
    ASSERT_NE(s, nullptr);
    auto got = s->get("k");
    ASSERT_FALSE(got.has_value());
    EXPECT_EQ(got.code(), make_error_code(errc::corrupt)) << got.error().message();
    EXPECT_EQ(srv.requests().size(), 4u);
    EXPECT_EQ(s->stats().errors_corrupt, 1u);
}

TEST(S3StoreTest, ABodyWithoutContentLengthIsCorrupt) {
    scripted_server srv({"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello"});
    auto s = store_for(config_for(srv.port()));
    ASSERT_NE(s, nullptr);
    auto got = s->get("k");
    ASSERT_FALSE(got.has_value());
    EXPECT_EQ(got.code(), make_error_code(errc::corrupt));
    EXPECT_NE(got.error().detail.find("no Content-Length"), std::string::npos)
        << got.error().detail;
}

TEST(S3StoreTest, RangeGets) {
    scripted_server srv(
        {http(206, "Partial Content", "0123456789", "Content-Range: bytes 10-19/100\r\n"),
         // clipped at the object's end: allowed
         http(206, "Partial Content", "abc", "Content-Range: bytes 97-99/100\r\n"),
         // the server ignored Range and sent it all: cut here
         http(200, "OK", "whole object"),
         // another range than asked
         http(206, "Partial Content", "0123456789", "Content-Range: bytes 0-9/100\r\n")});
    store_config c = config_for(srv.port());
    c.max_retries = 0;
    auto s = store_for(c);
    ASSERT_NE(s, nullptr);
    auto a = s->get("k", byte_range{10, 19});
    ASSERT_TRUE(a.has_value()) << a.error().message();
    EXPECT_EQ(*a, "0123456789");
    auto b = s->get("k", byte_range{97, 120});
    ASSERT_TRUE(b.has_value()) << b.error().message();
    EXPECT_EQ(*b, "abc");
    auto whole = s->get("k", byte_range{6, 8});
    ASSERT_TRUE(whole.has_value()) << whole.error().message();
    EXPECT_EQ(*whole, "obj");
    auto wrong = s->get("k", byte_range{10, 19});
    ASSERT_FALSE(wrong.has_value());
    EXPECT_EQ(wrong.code(), make_error_code(errc::corrupt));
    const auto reqs = srv.requests();
    ASSERT_EQ(reqs.size(), 4u);
    EXPECT_EQ(reqs[0].header("Range"), "bytes=10-19");
    EXPECT_EQ(reqs[1].header("Range"), "bytes=97-120");
    expect_signed_as_sent(reqs[0], c);
    EXPECT_EQ(s->get("k", byte_range{5, 4}).code(), make_error_code(errc::rejected));
}

TEST(S3StoreTest, AStalledServerTimesOutEveryAttempt) {
    scripted_server srv({std::string(stall)});
    store_config c = config_for(srv.port());
    c.request_timeout_ms = 300;
    c.max_retries = 1;
    auto s = store_for(c);
    ASSERT_NE(s, nullptr);
    auto got = s->get("k");
    ASSERT_FALSE(got.has_value());
    EXPECT_EQ(got.code(), make_error_code(errc::timeout)) << got.error().message();
    EXPECT_EQ(srv.requests().size(), 2u);
    EXPECT_EQ(s->stats().errors_timeout, 1u);
}

TEST(S3StoreTest, ListFollowsContinuationTokens) {
    auto page = [](std::string_view keys, bool truncated, std::string_view token) {
        std::string b = "<?xml version=\"1.0\"?><ListBucketResult><Name>fjord-test</Name>";
        b += std::string("<IsTruncated>") + (truncated ? "true" : "false") + "</IsTruncated>";
        if (!token.empty()) {
            b += "<NextContinuationToken>" + std::string(token) + "</NextContinuationToken>";
        }
        b += std::string(keys) + "</ListBucketResult>";
        return http(200, "OK", b);
    };
    scripted_server srv({page("<Contents><Key>p/b</Key><Size>2</Size></Contents>"
                              "<Contents><Key>p/a&amp;1</Key><Size>1</Size></Contents>",
                              true, "tok+/="),
                         page("<Contents><Key>p/c</Key><Size>3</Size></Contents>", false, "")});
    const store_config c = config_for(srv.port());
    auto s = store_for(c);
    ASSERT_NE(s, nullptr);
    auto all = s->list("p/");
    ASSERT_TRUE(all.has_value()) << all.error().message();
    ASSERT_EQ(all->size(), 3u);
    EXPECT_EQ((*all)[0].key, "p/a&1");
    EXPECT_EQ((*all)[1].key, "p/b");
    EXPECT_EQ((*all)[2].key, "p/c");
    EXPECT_EQ((*all)[2].size, 3u);
    const auto reqs = srv.requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_EQ(reqs[0].target, "/fjord-test?list-type=2&prefix=p%2F");
    EXPECT_EQ(reqs[1].target,
              "/fjord-test?continuation-token=tok%2B%2F%3D&list-type=2&prefix=p%2F");
    for (const recorded& r : reqs) {
        expect_signed_as_sent(r, c);
    }
    EXPECT_EQ(s->stats().requests, 2u);
}

TEST(S3StoreTest, ListRefusesALoopingToken) {
    const std::string looping =
        http(200, "OK",
             "<ListBucketResult><IsTruncated>true</IsTruncated>"
             "<NextContinuationToken>same</NextContinuationToken></ListBucketResult>");
    scripted_server srv({looping});
    auto s = store_for(config_for(srv.port()));
    ASSERT_NE(s, nullptr);
    auto all = s->list("");
    ASSERT_FALSE(all.has_value());
    EXPECT_EQ(all.code(), make_error_code(errc::corrupt));
    EXPECT_EQ(srv.requests().size(), 2u);
}

TEST(S3StoreTest, InvalidKeysFailBeforeAnyIo) {
    scripted_server srv({http(200, "OK", "")});
    auto s = store_for(config_for(srv.port()));
    ASSERT_NE(s, nullptr);
    for (const char* bad : {"", "/abs", "a//b", "a/./b", "a/../b", "tab\tkey", "space key"}) {
        EXPECT_EQ(s->put(bad, "x").code(), make_error_code(errc::invalid_key)) << bad;
        EXPECT_EQ(s->get(bad).code(), make_error_code(errc::invalid_key)) << bad;
    }
    EXPECT_TRUE(srv.requests().empty());
}

TEST(S3StoreTest, ConfigErrors) {
    store_config c = config_for(1);
    c.access_key.clear();
    ::unsetenv("AWS_ACCESS_KEY_ID");
    auto s = make_s3_store(c);
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.code(), make_error_code(errc::config));
    EXPECT_EQ(s.error().field, "cloud_storage_access_key");
    EXPECT_NE(s.error().detail.find("AWS_ACCESS_KEY_ID"), std::string::npos);

    c = config_for(1);
    c.secret_key.clear();
    ::unsetenv("AWS_SECRET_ACCESS_KEY");
    s = make_s3_store(c);
    EXPECT_EQ(s.error().field, "cloud_storage_secret_key");

    // From the environment, with the session token.
    c.access_key.clear();
    ::setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    ::setenv("AWS_SESSION_TOKEN", "envtoken", 1);
    scripted_server srv({http(200, "OK", "")});
    c.port = srv.port();
    s = make_s3_store(c);
    ASSERT_TRUE(s.has_value()) << s.error().message();
    ASSERT_TRUE((*s)->put("k", "v").has_value());
    ::unsetenv("AWS_ACCESS_KEY_ID");
    ::unsetenv("AWS_SECRET_ACCESS_KEY");
    ::unsetenv("AWS_SESSION_TOKEN");
    const auto reqs = srv.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].header("x-amz-security-token"), "envtoken");
    EXPECT_NE(reqs[0].header("Authorization").find("Credential=ENVKEY/"), std::string::npos);
    EXPECT_NE(reqs[0].header("Authorization").find("x-amz-security-token"), std::string::npos);

    c = config_for(1);
    c.bucket = "Bad_Bucket";
    s = make_s3_store(c);
    EXPECT_EQ(s.error().field, "cloud_storage_bucket");
}

}  // namespace
}  // namespace fjord::objstore
