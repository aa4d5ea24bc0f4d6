// File: common/objstore/s3_store_s3rver_test.cc
//
// The S3 backend end to end against s3rver, an S3-compatible server (npm
// package, pinned in scripts/s3rver, installed by scripts/install-deps),
// which this test starts itself on 127.0.0.1 (a free port, a temporary
// directory, the bucket made with --configure-bucket) and stops by pid.
// Without s3rver installed the test fails saying to run scripts/install-deps.
//
// What s3rver 3.7.1 checks and what it does not (its
// lib/middleware/authentication.js): it knows one access key id, "S3RVER",
// and refuses any other (403 InvalidAccessKeyId); it checks that
// x-amz-content-sha256 is present and well-formed, that the Authorization
// header has Credential, SignedHeaders and Signature, and that x-amz-date is
// within 15 minutes. It does NOT verify V4 signatures nor the payload hash
// (a wrong secret is accepted: S3rverDoesNotVerifySignatures shows it). The
// signature itself is checked against AWS's published vectors
// (sigv4_test.cc) and re-derived from what went over the wire
// (s3_store_test.cc). Virtual-host addressing works on loopback: s3rver
// takes the bucket from "<bucket>.s3.<service-endpoint>" and libcurl
// resolves any *.localhost name to loopback itself.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/objstore/errc.h"
#include "common/objstore/s3_store.h"
#include "common/tls/cert_gen.h"

namespace fjord::objstore {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* bucket = "fjord-test";

/// One s3rver process, started through scripts/s3rver and stopped (by its
/// pid) when this goes away.
class s3rver {
  public:
    /// Starts it and waits for its "S3rver listening on 127.0.0.1:<port>";
    /// nullptr with `why` set when it does not come up.
    static std::unique_ptr<s3rver> start(std::string* why,
                                         const std::vector<std::string>& extra = {}) {
        auto s = std::unique_ptr<s3rver>(new s3rver());
        std::string tmpl = (fs::path(::testing::TempDir()) / "fjord-s3rver-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            *why = "mkdtemp failed";
            return nullptr;
        }
        s->_dir = tmpl;
        fs::create_directories(s->_dir / "data");
        const std::string script = std::string(FJORD_SOURCE_DIR) + "/scripts/s3rver";
        const std::string data = (s->_dir / "data").string();
        const std::string log = (s->_dir / "log").string();
        std::vector<std::string> args = {script,      "--port",
                                         "0",         "--directory",
                                         data,        "--configure-bucket",
                                         bucket,      "--service-endpoint",
                                         "localhost", "--silent"};
        args.insert(args.end(), extra.begin(), extra.end());
        s->_pid = ::fork();
        if (s->_pid == 0) {
            // Dies with the test, should the test die first.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            const int in = ::open("/dev/null", O_RDONLY);
            ::dup2(in, 0);
            ::dup2(out, 1);
            ::dup2(out, 2);
            std::vector<char*> argv;
            for (std::string& a : args) {
                argv.push_back(a.data());
            }
            argv.push_back(nullptr);
            ::execv(script.c_str(), argv.data());
            ::_exit(127);
        }
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        constexpr std::string_view ready = "S3rver listening on 127.0.0.1:";
        while (std::chrono::steady_clock::now() < deadline) {
            const std::string text = s->log();
            if (const size_t at = text.find(ready); at != std::string::npos) {
                s->_port = std::atoi(text.c_str() + at + ready.size());
                if (s->_port > 0) {
                    return s;
                }
            }
            int status = 0;
            if (::waitpid(s->_pid, &status, WNOHANG) == s->_pid) {
                s->_pid = -1;
                *why = "scripts/s3rver exited (status " +
                       std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                       ") before listening; run scripts/install-deps if s3rver is missing. "
                       "Its output:\n" +
                       s->log();
                return nullptr;
            }
            std::this_thread::sleep_for(50ms);
        }
        *why = "s3rver did not listen within 20 s. Its output:\n" + s->log();
        return nullptr;
    }

    ~s3rver() {
        kill_now();
        std::error_code ec;
        fs::remove_all(_dir, ec);
    }
    s3rver(const s3rver&) = delete;
    s3rver& operator=(const s3rver&) = delete;

    int port() const { return _port; }

    /// SIGKILL, and reap it.
    void kill_now() {
        if (_pid > 0) {
            ::kill(_pid, SIGCONT);
            ::kill(_pid, SIGKILL);
            ::waitpid(_pid, nullptr, 0);
            _pid = -1;
        }
    }
    void pause() { ::kill(_pid, SIGSTOP); }
    void resume() { ::kill(_pid, SIGCONT); }

  private:
    s3rver() = default;
    std::string log() const {
        std::ifstream f(_dir / "log");
        std::stringstream ss;
        ss << f.rdbuf();
        return ss.str();
    }

    fs::path _dir;
    pid_t _pid = -1;
    int _port = 0;
};

store_config config_for(int port) {
    store_config c;
    c.kind = store_config::backend::s3;
    c.bucket = bucket;
    c.region = "us-east-1";
    c.endpoint = "127.0.0.1";
    c.port = port;
    c.disable_tls = true;
    c.path_style = true;
    c.access_key = "S3RVER";  // the one key s3rver knows
    c.secret_key = "S3RVER";
    c.request_timeout_ms = 5000;
    c.max_retries = 2;
    c.backoff_ms = 20;
    return c;
}

std::unique_ptr<object_store> store_for(const store_config& c) {
    auto s = make_s3_store(c);
    EXPECT_TRUE(s.has_value()) << s.error().message();
    return s ? std::move(*s) : nullptr;
}

/// A port nothing listens on (bound, read, closed).
int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

class S3rverTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { _server = s3rver::start(&_why).release(); }
    static void TearDownTestSuite() {
        delete _server;
        _server = nullptr;
    }
    void SetUp() override {
        ASSERT_NE(_server, nullptr) << "s3rver did not start: " << _why;
        _store = store_for(config_for(_server->port()));
        ASSERT_NE(_store, nullptr);
    }

    static s3rver* _server;
    static std::string _why;
    std::unique_ptr<object_store> _store;
};
s3rver* S3rverTest::_server = nullptr;
std::string S3rverTest::_why;

TEST_F(S3rverTest, PutGetRangeHeadDel) {
    object_store& s = *_store;
    std::string payload;
    for (int i = 0; i < 300000; ++i) {
        payload.push_back(static_cast<char>(i * 7 % 256));
    }
    const std::string key = "rt/seg=00+1&x,y;z:@$!'()*~%.log";
    ASSERT_TRUE(s.put(key, payload).has_value());

    auto got = s.get(key);
    ASSERT_TRUE(got.has_value()) << got.error().message();
    EXPECT_EQ(*got, payload);

    auto mid = s.get(key, byte_range{1000, 1999});
    ASSERT_TRUE(mid.has_value()) << mid.error().message();
    EXPECT_EQ(*mid, payload.substr(1000, 1000));
    // A range past the end is clipped at the object's end (HTTP semantics).
    auto tail = s.get(key, byte_range{payload.size() - 10, payload.size() + 1000});
    ASSERT_TRUE(tail.has_value()) << tail.error().message();
    EXPECT_EQ(*tail, payload.substr(payload.size() - 10));
    // One starting past the end is refused (416).
    EXPECT_EQ(s.get(key, byte_range{payload.size() + 5, payload.size() + 10}).code(),
              make_error_code(errc::rejected));

    auto info = s.head(key);
    ASSERT_TRUE(info.has_value()) << info.error().message();
    EXPECT_EQ(info->size, payload.size());

    // Overwrite; an empty object.
    ASSERT_TRUE(s.put(key, "second").has_value());
    EXPECT_EQ(*s.get(key), "second");
    ASSERT_TRUE(s.put("rt/empty", "").has_value());
    auto empty = s.get("rt/empty");
    ASSERT_TRUE(empty.has_value()) << empty.error().message();
    EXPECT_EQ(*empty, "");
    EXPECT_EQ(s.head("rt/empty")->size, 0u);

    ASSERT_TRUE(s.del(key).has_value());
    EXPECT_EQ(s.get(key).code(), make_error_code(errc::not_found));
    EXPECT_EQ(s.head(key).code(), make_error_code(errc::not_found));
    EXPECT_TRUE(s.del(key).has_value());  // a missing key: success
    EXPECT_EQ(s.get("rt/never-was").code(), make_error_code(errc::not_found));

    const store_stats st = s.stats();
    EXPECT_EQ(st.retries, 0u);
    EXPECT_EQ(st.bytes_put, payload.size() + 6);
    EXPECT_EQ(st.bytes_got, payload.size() + 1000 + 10 + 6);
    EXPECT_EQ(st.errors_not_found, 3u);
    EXPECT_EQ(st.errors_rejected, 1u);
}

TEST_F(S3rverTest, ListCrossesPagesFromManyThreads) {
    constexpr int n = 1100;  // S3 pages hold at most 1000 keys
    constexpr int threads = 4;
    std::vector<std::thread> ts;
    std::atomic<int> failures{0};
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            for (int i = t; i < n; i += threads) {
                char key[32];
                std::snprintf(key, sizeof(key), "many/%04d", i);
                if (!_store->put(key, std::string(static_cast<size_t>(i % 7), 'v'))) {
                    ++failures;
                }
            }
        });
    }
    for (auto& t : ts) {
        t.join();
    }
    ASSERT_EQ(failures.load(), 0);
    ASSERT_TRUE(_store->put("other/x", "x").has_value());
    const std::string odd = "ent/a&b<c>'d\"e";
    ASSERT_TRUE(_store->put(odd, "odd").has_value());

    const uint64_t before = _store->stats().requests;
    auto all = _store->list("many/");
    ASSERT_TRUE(all.has_value()) << all.error().message();
    EXPECT_EQ(_store->stats().requests - before, 2u);  // two pages
    ASSERT_EQ(all->size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        char key[32];
        std::snprintf(key, sizeof(key), "many/%04d", i);
        ASSERT_EQ((*all)[static_cast<size_t>(i)].key, key);
        ASSERT_EQ((*all)[static_cast<size_t>(i)].size, static_cast<uint64_t>(i % 7));
    }
    auto some = _store->list("many/10");
    ASSERT_TRUE(some.has_value()) << some.error().message();
    EXPECT_EQ(some->size(), 100u);

    auto ent = _store->list("ent/");
    ASSERT_TRUE(ent.has_value()) << ent.error().message();
    ASSERT_EQ(ent->size(), 1u);
    EXPECT_EQ((*ent)[0].key, odd);  // entities decoded
    EXPECT_EQ(*_store->get((*ent)[0].key), "odd");

    auto none = _store->list("nothing-here/");
    ASSERT_TRUE(none.has_value()) << none.error().message();
    EXPECT_TRUE(none->empty());
}

TEST_F(S3rverTest, VirtualHostAddressing) {
    store_config c = config_for(_server->port());
    c.endpoint = "s3.localhost";  // fjord-test.s3.localhost: s3rver's vhost form
    c.path_style = false;
    auto vhost = store_for(c);
    ASSERT_NE(vhost, nullptr);
    EXPECT_NE(vhost->describe().find("fjord-test.s3.localhost"), std::string::npos);
    ASSERT_TRUE(vhost->put("vh/one", "via vhost").has_value());
    // The same bucket seen path-style: so the bucket really came from the
    // host name (a path-style reading of /vh/one would be bucket "vh").
    EXPECT_EQ(*_store->get("vh/one"), "via vhost");
    ASSERT_TRUE(_store->put("vh/two", "via path").has_value());
    EXPECT_EQ(*vhost->get("vh/two"), "via path");
    auto listed = vhost->list("vh/");
    ASSERT_TRUE(listed.has_value()) << listed.error().message();
    ASSERT_EQ(listed->size(), 2u);
    EXPECT_EQ((*listed)[0].key, "vh/one");
    EXPECT_TRUE(vhost->del("vh/one").has_value());
    EXPECT_EQ(_store->get("vh/one").code(), make_error_code(errc::not_found));
}

TEST_F(S3rverTest, WrongAccessKeyIsRejected) {
    store_config c = config_for(_server->port());
    c.access_key = "NOT-S3RVER";
    auto s = store_for(c);
    ASSERT_NE(s, nullptr);
    auto r = s->put("auth/k", "v");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.code(), make_error_code(errc::rejected));
    EXPECT_NE(r.error().detail.find("put \"auth/k\": HTTP 403 InvalidAccessKeyId"),
              std::string::npos)
        << r.error().detail;
    EXPECT_EQ(s->stats().retries, 0u);
    EXPECT_EQ(s->stats().errors_rejected, 1u);
}

// Not a property of the backend: a record of what the test server does not
// check, so that nobody takes a passing run here for a signature check.
TEST_F(S3rverTest, S3rverDoesNotVerifySignatures) {
    store_config c = config_for(_server->port());
    c.secret_key = "a-wrong-secret";
    auto s = store_for(c);
    ASSERT_NE(s, nullptr);
    EXPECT_TRUE(s->put("auth/wrong-secret", "accepted").has_value());
}

TEST_F(S3rverTest, AMissingBucketIsRejected) {
    store_config c = config_for(_server->port());
    c.bucket = "no-such-bucket";
    auto s = store_for(c);
    ASSERT_NE(s, nullptr);
    auto r = s->get("k");
    EXPECT_EQ(r.code(), make_error_code(errc::rejected));
    EXPECT_NE(r.error().detail.find("NoSuchBucket"), std::string::npos) << r.error().detail;
}

TEST(S3rverStandaloneTest, NothingListeningIsTransient) {
    store_config c = config_for(free_port());
    c.max_retries = 2;
    c.backoff_ms = 10;
    auto s = store_for(c);
    ASSERT_NE(s, nullptr);
    auto r = s->get("k");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.code(), make_error_code(errc::transient)) << r.error().message();
    EXPECT_NE(r.error().detail.find("connection failed"), std::string::npos) << r.error().detail;
    EXPECT_NE(r.error().detail.find("(3 attempts)"), std::string::npos) << r.error().detail;
    EXPECT_EQ(s->stats().retries, 2u);
    EXPECT_EQ(s->stats().errors_transient, 1u);
}

// A server of its own: stalled (SIGSTOP) it times out, back it answers,
// killed it is transient, each within the bound the config sets.
TEST(S3rverStandaloneTest, StalledThenKilledServer) {
    std::string why;
    auto server = s3rver::start(&why);
    ASSERT_NE(server, nullptr) << "s3rver did not start: " << why;
    store_config c = config_for(server->port());
    c.request_timeout_ms = 400;
    c.max_retries = 2;
    c.backoff_ms = 20;
    auto s = store_for(c);
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->put("k/a", "alive").has_value());
    // Every call ends within (max_retries + 1) attempts of at most the
    // timeout each, plus the backoff ceilings (20 + 40 ms); 2 s of slack for
    // a loaded machine.
    const auto bound =
        std::chrono::milliseconds((c.max_retries + 1) * c.request_timeout_ms + 60) + 2s;

    server->pause();
    auto start = std::chrono::steady_clock::now();
    auto stalled = s->get("k/a");
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(stalled.has_value());
    EXPECT_EQ(stalled.code(), make_error_code(errc::timeout)) << stalled.error().message();
    EXPECT_LT(took, bound);
    EXPECT_EQ(s->stats().errors_timeout, 1u);

    server->resume();
    auto back = s->get("k/a");
    ASSERT_TRUE(back.has_value()) << back.error().message();
    EXPECT_EQ(*back, "alive");

    server->kill_now();
    start = std::chrono::steady_clock::now();
    auto gone = s->get("k/a");
    took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(gone.has_value());
    EXPECT_EQ(gone.code(), make_error_code(errc::transient)) << gone.error().message();
    EXPECT_LT(took, bound);
    EXPECT_EQ(s->stats().errors_transient, 1u);
    EXPECT_EQ(s->put("k/b", "x").code(), make_error_code(errc::transient));
}

// TLS (disable_tls false): s3rver serving a certificate of a private CA.
// Without that CA the certificate does not verify: rejected at once, not
// retried. With AWS_CA_BUNDLE naming it, path-style and virtual-host
// requests go through (the certificate names 127.0.0.1 and
// fjord-test.s3.localhost).
TEST(S3rverStandaloneTest, Tls) {
    const fs::path dir =
        fs::path(::testing::TempDir()) / ("fjord-s3-tls-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    tls::cert_request ca_req;
    ca_req.common_name = "fjord objstore test CA";
    auto ca = tls::make_ca(ca_req);
    ASSERT_TRUE(ca.has_value()) << ca.error().message();
    tls::cert_request leaf_req;
    leaf_req.common_name = "s3rver";
    leaf_req.dns_names = {"localhost", "fjord-test.s3.localhost"};
    leaf_req.ip_addresses = {"127.0.0.1"};
    auto leaf = tls::issue(*ca, leaf_req);
    ASSERT_TRUE(leaf.has_value()) << leaf.error().message();
    const std::string ca_file = (dir / "ca.pem").string();
    const std::string key_file = (dir / "key.pem").string();
    const std::string cert_file = (dir / "cert.pem").string();
    ASSERT_TRUE(tls::write_pem_file(ca_file, ca->cert_pem, false).has_value());
    ASSERT_TRUE(tls::write_pem_file(key_file, leaf->key_pem, true).has_value());
    ASSERT_TRUE(tls::write_pem_file(cert_file, leaf->cert_pem, false).has_value());

    std::string why;
    auto server = s3rver::start(&why, {"--key", key_file, "--cert", cert_file});
    ASSERT_NE(server, nullptr) << "s3rver did not start: " << why;
    store_config c = config_for(server->port());
    c.disable_tls = false;

    ::unsetenv("AWS_CA_BUNDLE");
    auto untrusted = store_for(c);
    ASSERT_NE(untrusted, nullptr);
    EXPECT_NE(untrusted->describe().find(", tls)"), std::string::npos) << untrusted->describe();
    auto refused = untrusted->put("tls/k", "v");
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.code(), make_error_code(errc::rejected)) << refused.error().message();
    EXPECT_NE(refused.error().detail.find("TLS: "), std::string::npos) << refused.error().detail;
    EXPECT_NE(refused.error().detail.find("(1 attempt)"), std::string::npos)
        << refused.error().detail;

    ::setenv("AWS_CA_BUNDLE", ca_file.c_str(), 1);
    auto trusted = store_for(c);
    store_config vc = c;
    vc.endpoint = "s3.localhost";
    vc.path_style = false;
    auto vhost = store_for(vc);
    store_config missing = c;
    ::setenv("AWS_CA_BUNDLE", (dir / "no-such.pem").c_str(), 1);
    auto bad_bundle = make_s3_store(missing);
    ::unsetenv("AWS_CA_BUNDLE");
    ASSERT_NE(trusted, nullptr);
    ASSERT_NE(vhost, nullptr);
    ASSERT_TRUE(trusted->put("tls/k", "over tls").has_value());
    EXPECT_EQ(*trusted->get("tls/k"), "over tls");
    EXPECT_EQ(*vhost->get("tls/k"), "over tls");
    ASSERT_FALSE(bad_bundle.has_value());
    EXPECT_EQ(bad_bundle.error().field, "AWS_CA_BUNDLE");

    server.reset();
    fs::remove_all(dir);
}

}  // namespace
}  // namespace fjord::objstore
