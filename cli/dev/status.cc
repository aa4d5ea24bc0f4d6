// File: cli/dev/status.cc
//
// fjord dev status (contract: dev.h): what each member and broker says, exit 0
// only when all run with an agreed leader and every broker is ready.

#include "cli/dev/dev.h"

#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "cli/context.h"
#include "cli/dev/observe.h"
#include "cli/dev/report.h"
#include "cli/dev/state.h"
#include "cli/output/printer.h"

namespace fjord::cli::dev {
namespace {

/// The one-line verdict status prints first.
std::string status_head(const std::vector<member_view>& views,
                        const std::vector<broker_view>& broker_views, bool running, uint64_t leader,
                        const std::string& uuid) {
    const bool members_alive = std::all_of(views.begin(), views.end(),
                                           [](const member_view& v) { return v.pid.has_value(); });
    const bool brokers_alive = std::all_of(broker_views.begin(), broker_views.end(),
                                           [](const broker_view& v) { return v.pid.has_value(); });
    if (running) {
        return fmt::format("dev cluster {}: running, leader {}", uuid, leader);
    }
    if (std::none_of(views.begin(), views.end(),
                     [](const member_view& v) { return v.pid.has_value(); }) &&
        std::none_of(broker_views.begin(), broker_views.end(),
                     [](const broker_view& v) { return v.pid.has_value(); })) {
        return "dev cluster: stopped (fjord dev start restarts it)";
    }
    return fmt::format("dev cluster: degraded ({})", !members_alive   ? "a controller is down"
                                                     : leader == 0    ? "no agreed leader"
                                                     : !brokers_alive ? "a broker is down"
                                                                      : "a broker is not ready");
}

void print_no_cluster(cli_context& ctx, const fs::path& dir, const dev_options& o) {
    ctx.set_code(exit_code::failed);
    print_output(std::cout, ctx.format(),
                 {{"state_dir", dir.string()},
                  {"running", false},
                  {"members", json::array()},
                  {"brokers", json::array()}},
                 [&](bool) {
                     return fmt::format("No dev cluster in {} (fjord dev start{} makes one).\n",
                                        dir.string(), name_flag(o));
                 });
}

}  // namespace

void run_status(cli_context& ctx, const dev_options& o) {
    if (!begin(ctx, status_schema)) {
        return;
    }
    if (auto n = validate_cluster_name(o.name); !n) {
        ctx.fail(exit_code::usage, n.error().detail);
        return;
    }
    auto dir = state_dir_for(o.state_dir, ctx.env(), o.name);
    if (!dir) {
        ctx.fail(exit_code::usage, dir.error().detail);
        return;
    }
    auto c = load_cluster(*dir);
    if (!c) {
        ctx.fail(exit_code::failed, c.error().detail);
        return;
    }
    if (!c->has_value()) {
        print_no_cluster(ctx, *dir, o);
        return;
    }
    const cluster& cl = **c;
    const auto views = observe(cl);
    const auto broker_views = observe_brokers(cl);
    std::string uuid;
    const uint64_t leader = agreed_leader(views, uuid, false);
    const bool running =
        leader != 0 &&
        std::all_of(views.begin(), views.end(),
                    [](const member_view& v) { return v.pid.has_value(); }) &&
        std::all_of(broker_views.begin(), broker_views.end(),
                    [](const broker_view& v) { return v.pid.has_value() && v.ready; });
    if (!running) {
        ctx.set_code(exit_code::failed);
    }
    const json doc = {{"state_dir", dir->string()},
                      {"running", running},
                      {"cluster_uuid", uuid},
                      {"leader_id", leader},
                      {"controllers", cl.controllers()},
                      {"bootstrap_servers", cl.kafka_brokers()},
                      {"members", members_json(cl, views)},
                      {"brokers", brokers_json(cl, broker_views)}};
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        return fmt::format("{}\nstate: {}\n\ncontrollers:\n",
                           status_head(views, broker_views, running, leader, uuid), dir->string()) +
               members_table(cl, views) + "\n" + brokers_table(cl, broker_views);
    });
}

}  // namespace fjord::cli::dev
