// File: common/tls/engine_test.cc
//
// Two engines, a client and a server, with real certificates from cert_gen,
// talking through nothing but their buffers: every byte of ciphertext is
// carried by the test, in chunks from one byte to everything at once, so
// each way a network can split the stream is exercised deterministically.

#include "common/tls/engine.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "common/tls/cert_gen.h"
#include "common/tls/tls.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace fjord::tls {
namespace {

struct contexts {
    ssl_ctx_ptr server;
    ssl_ctx_ptr client;
};

contexts make_contexts(bool trusted = true) {
    const issued ca = *make_ca({.common_name = "engine test CA"});
    const issued other_ca = *make_ca({.common_name = "someone else's CA"});
    const issued server = *issue(ca, {.common_name = "broker-1", .ip_addresses = {"127.0.0.1"}});
    const auto now = std::chrono::system_clock::now();
    auto s =
        make_server_context(*check_credentials(server.key_pem, server.cert_pem, "", now), false);
    auto c = make_client_context(
        *check_credentials("", "", trusted ? ca.cert_pem : other_ca.cert_pem, now), false);
    return {std::move(*s), std::move(*c)};
}

/// One side: its engine and the plaintext it has received.
struct peer {
    std::unique_ptr<engine> e;
    std::string received;
    engine::status last = engine::status::ok;
    size_t read_cap = 64 * 1024;
    size_t max_space = 0;  // the largest input_space() offered
    std::string buf;

    /// Takes what the engine can: the handshake, then every record.
    void step() {
        if (last == engine::status::failed || last == engine::status::closed) {
            return;
        }
        if (!e->handshake_done()) {
            last = e->handshake();
            if (last != engine::status::ok) {
                return;
            }
        }
        buf.resize(read_cap);
        for (;;) {
            const auto r = e->read(buf.data(), buf.size());
            received.append(buf.data(), r.n);
            last = r.st;
            if (r.st != engine::status::ok) {
                return;
            }
        }
    }
};

peer make_peer(SSL_CTX* ctx, engine::role r) {
    auto e = engine::make(ctx, r);
    EXPECT_TRUE(e);
    return peer{std::move(*e)};
}

/// Carries `from`'s output to `to` in chunks of `chunk` bytes, letting `to`
/// take each before the next (as a socket's reads would). True if anything
/// moved.
bool carry(peer& from, peer& to, size_t chunk) {
    std::string wire;
    from.e->swap_output(wire);
    for (size_t off = 0; off < wire.size();) {
        auto space = to.e->input_space();
        to.max_space = std::max(to.max_space, space.size());
        if (space.empty()) {
            break;  // `to` failed and takes nothing more
        }
        const size_t n = std::min({chunk, space.size(), wire.size() - off});
        std::memcpy(space.data(), wire.data() + off, n);
        to.e->input_added(n);
        off += n;
        to.step();
    }
    return !wire.empty();
}

/// Until neither side has anything to send.
void settle(peer& c, peer& s, size_t chunk) {
    c.step();
    for (int i = 0; i < 100; ++i) {
        const bool a = carry(c, s, chunk);
        const bool b = carry(s, c, chunk);
        if (!a && !b) {
            return;
        }
    }
    ADD_FAILURE() << "the peers never settled";
}

/// A client and a server done with their handshake (the SSLs hold
/// references to their contexts).
std::pair<peer, peer> handshaken() {
    const auto ctx = make_contexts();
    peer c = make_peer(ctx.client.get(), engine::role::client);
    peer s = make_peer(ctx.server.get(), engine::role::server);
    settle(c, s, size_t{1} << 30);
    EXPECT_TRUE(c.e->handshake_done() && s.e->handshake_done());
    return {std::move(c), std::move(s)};
}

std::string pattern(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
    }
    return s;
}

class EngineChunks : public ::testing::TestWithParam<size_t> {};

TEST_P(EngineChunks, HandshakeAndBothDirectionsWhateverTheSplit) {
    const auto ctx = make_contexts();
    peer c = make_peer(ctx.client.get(), engine::role::client);
    peer s = make_peer(ctx.server.get(), engine::role::server);
    ASSERT_TRUE(verify_host(c.e->native(), "127.0.0.1"));
    settle(c, s, GetParam());
    ASSERT_TRUE(c.e->handshake_done()) << c.e->failure();
    ASSERT_TRUE(s.e->handshake_done()) << s.e->failure();

    // Writes of every size around a record's 16 KiB, 1.5 MiB in all.
    const std::string data = pattern(1536 * 1024);
    const size_t sizes[] = {1, 5, 16383, 16384, 16385, 100000, 4};
    for (size_t off = 0, i = 0; off < data.size(); ++i) {
        const size_t n = std::min(sizes[i % std::size(sizes)], data.size() - off);
        ASSERT_TRUE(c.e->write(data.data() + off, n));
        off += n;
        if (i % 3 == 0) {
            carry(c, s, GetParam());
        }
    }
    settle(c, s, GetParam());
    EXPECT_EQ(s.received.size(), data.size());
    EXPECT_TRUE(s.received == data);

    ASSERT_TRUE(s.e->write("pong", 4));
    settle(c, s, GetParam());
    EXPECT_EQ(c.received, "pong");
}

INSTANTIATE_TEST_SUITE_P(Splits, EngineChunks,
                         ::testing::Values(size_t{1}, size_t{7}, size_t{1500}, size_t{65536},
                                           size_t{1} << 30));

TEST(Engine, ReadFillsASmallBufferAcrossCalls) {
    auto [c, s] = handshaken();
    s.read_cap = 100;  // far less than a record
    const std::string data = pattern(50000);
    ASSERT_TRUE(c.e->write(data.data(), data.size()));
    settle(c, s, size_t{1} << 30);
    EXPECT_TRUE(s.received == data);
    EXPECT_EQ(s.last, engine::status::want_input);
}

TEST(Engine, CloseNotifyComesAfterTheDataBeforeIt) {
    auto [c, s] = handshaken();
    ASSERT_TRUE(c.e->write("last words", 10));
    SSL_shutdown(c.e->native());
    carry(c, s, size_t{1} << 30);
    EXPECT_EQ(s.received, "last words");
    EXPECT_EQ(s.last, engine::status::closed);
    char buf[16];
    EXPECT_EQ(s.e->read(buf, sizeof buf).st, engine::status::closed);  // and stays closed
}

TEST(Engine, ATamperedRecordFailsTheSession) {
    auto [c, s] = handshaken();
    ASSERT_TRUE(c.e->write("secret", 6));
    std::string wire;
    c.e->swap_output(wire);
    wire[wire.size() - 3] ^= 0x40;  // inside the authentication tag
    auto space = s.e->input_space();
    std::memcpy(space.data(), wire.data(), wire.size());
    s.e->input_added(wire.size());
    s.step();
    EXPECT_EQ(s.last, engine::status::failed);
    EXPECT_EQ(s.received, "");
    EXPECT_NE(s.e->failure().find("bad record mac"), std::string::npos) << s.e->failure();
    EXPECT_GT(s.e->output_size(), 0u) << "an alert for the client";
    EXPECT_FALSE(s.e->write("x", 1));
}

TEST(Engine, PlaintextToTheServerFailsTheHandshakeSayingSo) {
    const auto ctx = make_contexts();
    peer s = make_peer(ctx.server.get(), engine::role::server);
    // A Kafka ApiVersions request, as a plaintext client would send it.
    const std::string kafka("\x00\x00\x00\x0f\x00\x12\x00\x00\x00\x00\x00\x01\x00\x01x", 15);
    auto space = s.e->input_space();
    std::memcpy(space.data(), kafka.data(), kafka.size());
    s.e->input_added(kafka.size());
    s.step();
    EXPECT_EQ(s.last, engine::status::failed);
    EXPECT_NE(s.e->failure().find("plaintext"), std::string::npos) << s.e->failure();
}

TEST(Engine, AnUntrustedServerIsNamedOnTheClientAndTheServerHearsTheAlert) {
    const auto ctx = make_contexts(/*trusted=*/false);
    peer c = make_peer(ctx.client.get(), engine::role::client);
    peer s = make_peer(ctx.server.get(), engine::role::server);
    settle(c, s, 1500);
    EXPECT_EQ(c.last, engine::status::failed);
    EXPECT_NE(c.e->failure().find("not signed by a trusted CA"), std::string::npos)
        << c.e->failure();
    EXPECT_EQ(s.last, engine::status::failed);
    EXPECT_NE(s.e->failure().find("unknown ca"), std::string::npos) << s.e->failure();
}

TEST(Engine, InputSpaceGrowsWhileReadsFillItAndStaysBounded) {
    auto [c, s] = handshaken();
    EXPECT_LT(s.max_space, size_t{32 * 1024}) << "a handshake needs no large buffer";
    const std::string data = pattern(4 << 20);
    ASSERT_TRUE(c.e->write(data.data(), data.size()));
    settle(c, s, size_t{1} << 30);  // every read fills the space offered
    EXPECT_TRUE(s.received == data);
    EXPECT_EQ(s.max_space, engine::max_input);
}

}  // namespace
}  // namespace fjord::tls
