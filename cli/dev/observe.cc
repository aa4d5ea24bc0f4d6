// File: cli/dev/observe.cc

#include "cli/dev/observe.h"

#include "cli/dev/pki.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>

#include <algorithm>
#include <thread>

#include "cli/context.h"
#include "cli/dev/ports.h"

namespace fjord::cli::dev {
namespace {

using steady = std::chrono::steady_clock;
constexpr std::chrono::milliseconds poll_interval{100};

/// True when an HTTP server on 127.0.0.1:port answers GET /healthz with 200
/// within about a second (the broker's readiness: it has the controller's
/// state).
bool healthz_ok(uint16_t port) {
    fd_guard s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (s.get() < 0) {
        return false;
    }
    const timeval tv{1, 0};
    ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(s.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0) {
        return false;
    }
    const std::string request = "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(s.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
        return false;
    }
    std::string reply;
    char buf[256];
    while (reply.find('\n') == std::string::npos && reply.size() < 1024) {
        const ssize_t n = ::recv(s.get(), buf, sizeof(buf), 0);
        if (n <= 0) {
            break;
        }
        reply.append(buf, static_cast<size_t>(n));
    }
    // "HTTP/1.x 200 OK"
    return reply.starts_with("HTTP/1.") && reply.size() >= 12 && reply.compare(8, 4, " 200") == 0;
}

/// What each member said, for a leader that did not come.
std::string members_seen(const cluster& c, const std::vector<member_view>& views) {
    std::string seen;
    for (size_t i = 0; i < views.size(); ++i) {
        const auto& v = views[i];
        seen += fmt::format(
            "  controller {}: {}\n", c.members[i].id,
            v.role.empty()
                ? v.error
                : fmt::format("{}, leader {}, term {}, cluster {}", v.role, v.leader_id, v.term,
                              v.cluster_uuid.empty() ? "(unknown)" : v.cluster_uuid));
    }
    return seen;
}

}  // namespace

std::vector<member_view> observe(const cluster& c) {
    // One attempt per member, each its own answer (no leader redirection).
    settings s;
    s.controllers = {c.members.front().api_address()};
    s.command_timeout = std::chrono::milliseconds(1000);
    s.retry_timeout = std::chrono::milliseconds(0);
    if (c.tls) {
        s.admin_tls_ca = ca_cert_file(c).string();
    }
    if (c.sasl && c.sasl->progress != sasl_state::stage::fresh) {
        // Once the superuser exists its credentials are accepted, whether
        // or not admin_api_require_auth is on yet.
        s.user = c.sasl->user;
        s.pass = c.sasl->password;
    }
    auto client = make_controller_client(s);
    std::vector<member_view> out;
    for (const auto& m : c.members) {
        member_view v;
        v.pid = running_pid(m);
        if (!client) {
            v.error = client.error().detail;
        } else if (!v.pid) {
            v.error = "not running";
        } else if (!port_listening(m.api)) {
            v.error = "not listening yet";
        } else if (auto st = controller_client::wait_for(**client, &ctl::status_of, m.api_address(),
                                                         s.retry_timeout)) {
            v.role = st->role();
            v.leader_id = st->leader_id();
            v.term = st->term();
            v.cluster_uuid = st->cluster_uuid();
        } else {
            v.error = st.error().detail;
        }
        out.push_back(std::move(v));
    }
    return out;
}

std::vector<broker_view> observe_brokers(const cluster& c) {
    std::vector<broker_view> out;
    for (const auto& b : c.brokers) {
        broker_view v;
        v.pid = running_pid(b);
        if (!v.pid) {
            v.error = "not running";
        } else if (!healthz_ok(b.metrics)) {
            v.error = "not ready";
        } else {
            v.ready = true;
        }
        out.push_back(std::move(v));
    }
    return out;
}

uint64_t agreed_leader(const std::vector<member_view>& views, std::string& uuid, bool all) {
    uint64_t leader = 0;
    for (const auto& v : views) {
        if (v.role.empty() && !all) {
            continue;
        }
        if (v.role.empty() || v.leader_id == 0 || (leader != 0 && v.leader_id != leader)) {
            return 0;
        }
        leader = v.leader_id;
        if (!v.cluster_uuid.empty()) {
            uuid = v.cluster_uuid;
        }
    }
    return uuid.empty() ? 0 : leader;
}

result<void> wait_for_leader(const cluster& c, children& kids, steady::time_point deadline,
                             std::chrono::milliseconds timeout, readiness& out,
                             std::optional<dev_process>& exited) {
    for (;;) {
        if (auto gone = kids.exited()) {
            exited = gone->first;
            return error_info(std::make_error_code(std::errc::io_error), gone->second);
        }
        out.members = observe(c);
        out.uuid.clear();
        out.leader = agreed_leader(out.members, out.uuid, true);
        if (out.leader != 0) {
            return ok();
        }
        if (steady::now() >= deadline) {
            return error_info(std::make_error_code(std::errc::timed_out),
                              fmt::format("the dev cluster did not agree on a leader with a "
                                          "cluster id within {} ms:\n{}",
                                          timeout.count(), members_seen(c, out.members)));
        }
        std::this_thread::sleep_for(poll_interval);
    }
}

result<void> wait_for_brokers(const cluster& c, children& kids, steady::time_point deadline,
                              std::chrono::milliseconds timeout, readiness& out,
                              std::optional<dev_process>& exited) {
    for (;;) {
        if (auto gone = kids.exited()) {
            exited = gone->first;
            return error_info(std::make_error_code(std::errc::io_error), gone->second);
        }
        out.brokers = observe_brokers(c);
        if (std::all_of(out.brokers.begin(), out.brokers.end(),
                        [](const broker_view& v) { return v.ready; })) {
            return ok();
        }
        if (steady::now() >= deadline) {
            std::string seen;
            for (size_t i = 0; i < out.brokers.size(); ++i) {
                seen += fmt::format("  broker {}: {}\n", c.brokers[i].id,
                                    out.brokers[i].ready ? "ready" : out.brokers[i].error);
            }
            return error_info(std::make_error_code(std::errc::timed_out),
                              fmt::format("the dev brokers were not ready (GET /healthz) within "
                                          "{} ms:\n{}",
                                          timeout.count(), seen));
        }
        std::this_thread::sleep_for(poll_interval);
    }
}

}  // namespace fjord::cli::dev
