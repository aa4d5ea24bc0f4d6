#pragma once
// File: cli/dev/observe.h
//
// Observing the dev cluster: each member's Status (through the controller
// client, one attempt per member), each broker's GET /healthz, and waiting
// for readiness: brokers start once every member answers Status naming the
// same leader and the cluster has a uuid; start returns once every broker's
// /healthz says ok.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cli/dev/processes.h"
#include "cli/dev/state.h"

namespace fjord::cli::dev {

struct member_view {
    std::optional<pid_t> pid;
    std::string role;  // from Status: leader, follower, candidate; "" if not answering
    std::string error;
    uint64_t leader_id = 0;
    uint64_t term = 0;
    std::string cluster_uuid;
};

struct broker_view {
    std::optional<pid_t> pid;
    bool ready = false;  // GET /healthz says ok
    std::string error;   // why not ready
};

std::vector<member_view> observe(const cluster& c);
std::vector<broker_view> observe_brokers(const cluster& c);

/// The leader the members agree on, with a known cluster uuid, or 0. With
/// `all`, every member must answer (start's readiness); otherwise those that
/// answer must agree (status, with a member down).
uint64_t agreed_leader(const std::vector<member_view>& views, std::string& uuid, bool all);

/// What start waits for, and what it saw.
struct readiness {
    std::vector<member_view> members;
    std::vector<broker_view> brokers;
    uint64_t leader = 0;
    std::string uuid;
};

/// Polls until the members agree on a leader with a cluster uuid, a child
/// exits, or `deadline` (`timeout` only names it in the error). On failure
/// `exited` is the child that exited, if that was why.
result<void> wait_for_leader(const cluster& c, children& kids,
                             std::chrono::steady_clock::time_point deadline,
                             std::chrono::milliseconds timeout, readiness& out,
                             std::optional<dev_process>& exited);
/// Polls until every broker is ready, a child exits, or `deadline`.
result<void> wait_for_brokers(const cluster& c, children& kids,
                              std::chrono::steady_clock::time_point deadline,
                              std::chrono::milliseconds timeout, readiness& out,
                              std::optional<dev_process>& exited);

}  // namespace fjord::cli::dev
