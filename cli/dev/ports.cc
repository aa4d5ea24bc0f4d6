// File: cli/dev/ports.cc

#include "cli/dev/ports.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include <set>
#include <utility>
#include <vector>

#include "common/log.h"

namespace fjord::cli::dev {
namespace {

constexpr uint16_t base_ports[3] = {9644, 33145, 9645};  // api, peer, metrics; +1000 per member
constexpr uint16_t broker_base_ports[2] = {9092, 9093};  // kafka, metrics; +100 per broker

/// A port the kernel hands out now (free until someone else takes it).
uint16_t ephemeral_port() {
    fd_guard s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = 0;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s.get() < 0 || ::bind(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0) {
        return 0;
    }
    socklen_t len = sizeof(a);
    if (::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        return 0;
    }
    return ntohs(a.sin_port);
}

result<uint16_t> pick_port(uint32_t preferred, std::set<uint16_t>& taken) {
    if (preferred <= 65535 && !taken.contains(static_cast<uint16_t>(preferred)) &&
        port_free(static_cast<uint16_t>(preferred))) {
        taken.insert(static_cast<uint16_t>(preferred));
        return static_cast<uint16_t>(preferred);
    }
    for (int attempt = 0; attempt < 100; ++attempt) {
        const uint16_t p = ephemeral_port();
        if (p != 0 && !taken.contains(p)) {
            taken.insert(p);
            return p;
        }
    }
    return error_info(std::make_error_code(std::errc::address_in_use),
                      "no free loopback port for the dev cluster");
}

/// Picks the ports `*ports[k]` from base[k] + offset each.
template <size_t N>
result<void> pick_ports(const uint16_t (&base)[N], uint32_t offset, uint16_t* (&ports)[N],
                        std::set<uint16_t>& taken) {
    for (size_t k = 0; k < N; ++k) {
        auto p = pick_port(base[k] + offset, taken);
        if (!p) {
            return p.error();
        }
        *ports[k] = *p;
    }
    return ok();
}

}  // namespace

bool port_free(uint16_t port) {
    fd_guard s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (s.get() < 0) {
        return false;
    }
    const int one = 1;
    ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::bind(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0;
}

bool port_listening(uint16_t port) {
    fd_guard s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return s.get() >= 0 &&
           ::connect(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0;
}

uint16_t named_port_block(std::string_view name) {
    uint32_t h = 2166136261u;  // FNV-1a, 32 bits: stable across builds and hosts
    for (const unsigned char ch : name) {
        h = (h ^ ch) * 16777619u;
    }
    return static_cast<uint16_t>(20000u + 250u * (h % 48u));
}

result<void> assign_ports(cluster& c, int nodes, int brokers, std::string_view name) {
    std::set<uint16_t> taken;
    // The default cluster: rpk container's bases and strides. A named one:
    // its block (ports.h), bases 0/1/2 and 100/101 with a stride of 10.
    uint16_t member_base[3] = {base_ports[0], base_ports[1], base_ports[2]};
    uint16_t broker_base[2] = {broker_base_ports[0], broker_base_ports[1]};
    uint32_t member_stride = 1000;
    uint32_t broker_stride = 100;
    if (!name.empty()) {
        const uint16_t b = named_port_block(name);
        member_base[0] = b;
        member_base[1] = static_cast<uint16_t>(b + 1);
        member_base[2] = static_cast<uint16_t>(b + 2);
        broker_base[0] = static_cast<uint16_t>(b + 100);
        broker_base[1] = static_cast<uint16_t>(b + 101);
        member_stride = 10;
        broker_stride = 10;
    }
    for (int i = 0; i < nodes; ++i) {
        member m;
        m.id = static_cast<uint64_t>(i + 1);
        m.dir = c.state_dir / fmt::format("controller-{}", m.id);
        uint16_t* ports[3] = {&m.api, &m.peer, &m.metrics};
        if (auto r =
                pick_ports(member_base, member_stride * static_cast<uint32_t>(i), ports, taken);
            !r) {
            return r;
        }
        log(log_level::debug, "dev", "controller {}: api {}, peer {}, metrics {}", m.id, m.api,
            m.peer, m.metrics);
        c.members.push_back(std::move(m));
    }
    for (int i = 0; i < brokers; ++i) {
        broker_node b;
        b.id = static_cast<uint64_t>(i + 1);
        b.dir = c.state_dir / fmt::format("broker-{}", b.id);
        uint16_t* ports[2] = {&b.kafka, &b.metrics};
        if (auto r =
                pick_ports(broker_base, broker_stride * static_cast<uint32_t>(i), ports, taken);
            !r) {
            return r;
        }
        log(log_level::debug, "dev", "broker {}: kafka {}, metrics {}", b.id, b.kafka, b.metrics);
        c.brokers.push_back(std::move(b));
    }
    return ok();
}

result<void> recorded_ports_free(const std::vector<member>& members,
                                 const std::vector<broker_node>& brokers) {
    std::vector<std::pair<dev_process, std::vector<uint16_t>>> wanted;
    for (const auto& m : members) {
        wanted.push_back({m, {m.api, m.peer, m.metrics}});
    }
    for (const auto& b : brokers) {
        wanted.push_back({b, {b.kafka, b.metrics}});
    }
    for (const auto& [p, ports] : wanted) {
        for (const uint16_t port : ports) {
            if (!port_free(port)) {
                return error_info(std::make_error_code(std::errc::address_in_use),
                                  fmt::format("cannot restart {}: port {} is in use by another "
                                              "process; remove the dev cluster (fjord dev purge) "
                                              "to start one on new ports",
                                              p.label(), port));
            }
        }
    }
    return ok();
}

}  // namespace fjord::cli::dev
