#include "cli/wait.h"

#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

namespace fjord::cli {

void add_wait_flag(CLI::App* cmd, std::chrono::milliseconds& out) {
    cmd->add_option_function<std::string>(
           "--wait",
           [&out](const std::string& v) {
               auto d = parse_duration(v);
               if (!d) {
                   throw CLI::ValidationError("--wait", d.error().detail);
               }
               out = *d;
           },
           "Return only when every live broker has applied the change (default timeout 30s)")
        ->expected(0, 1)
        ->default_str("30s");
}

bool wait_for_brokers(cli_context& ctx, uint64_t revision, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string lagging;
    for (;;) {
        v1::ListBrokersRequest req;
        req.set_applied_at_least(revision);
        auto resp = ctx.call(&ctl::list_brokers, req);
        if (!resp) {
            ctx.fail(exit_code::failed, fmt::format("--wait: {}", resp.error().detail));
            return false;
        }
        lagging.clear();
        for (const auto& b : resp->brokers()) {
            if (b.alive() && !b.applied()) {
                lagging += fmt::format("{}broker {} (applied {})", lagging.empty() ? "" : ", ",
                                       b.broker().id(), b.applied_revision());
            }
        }
        if (lagging.empty()) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            ctx.fail(exit_code::failed,
                     fmt::format("--wait: revision {} not applied within {} ms by: {}", revision,
                                 timeout.count(), lagging));
            return false;
        }
        // Brokers report a new revision as soon as they apply it, so a
        // short poll is what bounds --wait's latency (ListBrokers is a read
        // of the leader's liveness table).
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

}  // namespace fjord::cli
