// File: cli/dev/start.cc
//
// fjord dev start (contract: dev.h): load or create the cluster's state, launch
// what is not running, wait for readiness, select the profile, report.

#include "cli/dev/dev.h"

#include <chrono>
#include <optional>

#include <fmt/format.h>

#include "cli/context.h"
#include "cli/dev/observe.h"
#include "cli/dev/pki.h"
#include "cli/dev/ports.h"
#include "cli/dev/processes.h"
#include "cli/dev/report.h"
#include "cli/dev/secure.h"
#include "cli/dev/state.h"
#include "cli/profile.h"

namespace fjord::cli::dev {
namespace {

using steady = std::chrono::steady_clock;

/// Creates or updates the profile `name` ("dev", or the cluster's --name) to
/// point at `c`; selects it when `select` (the default cluster only: a named
/// one leaves the current profile alone, dev.h).
result<std::string> select_dev_profile(cli_context& ctx, const cluster& c, const std::string& name,
                                       bool select) {
    std::string path;
    auto p = profile_file_path(ctx.config_flag, ctx.env());
    if (!p) {
        return p.error();
    }
    path = *p;
    auto f = update_profile_file(path, [&](profile_file& pf) -> result<void> {
        profile* prof = pf.find(name);
        if (prof == nullptr) {
            pf.profiles.push_back(profile{name, {}, {}});
            prof = &pf.profiles.back();
        }
        prof->description = fmt::format("fjord dev cluster ({})", c.state_dir.string());
        prof->values["controllers"] = c.controllers();
        if (c.brokers.empty()) {
            prof->values.erase("brokers");
        } else {
            prof->values["brokers"] = c.kafka_brokers();
        }
        // The superuser's credentials, or none (a dev cluster without
        // security must not inherit an earlier one's).
        if (c.sasl) {
            prof->values["user"] = c.sasl->user;
            prof->values["pass"] = c.sasl->password;
            prof->values["sasl.mechanism"] = c.sasl->mechanism;
        } else {
            for (const char* k : {"user", "pass", "sasl.mechanism"}) {
                prof->values.erase(k);
            }
        }
        // TLS: trust the dev CA for the brokers and the controllers (pki.h).
        for (const char* k :
             {"tls.enabled", "tls.ca", "tls.cert", "tls.key", "tls.insecure_skip_verify",
              "admin.tls.enabled", "admin.tls.ca", "admin.tls.cert", "admin.tls.key",
              "admin.tls.insecure_skip_verify"}) {
            prof->values.erase(k);
        }
        if (c.tls) {
            prof->values["tls.ca"] = ca_cert_file(c).string();
            prof->values["admin.tls.ca"] = ca_cert_file(c).string();
        }
        if (select) {
            pf.current = name;
        }
        return ok();
    });
    if (!f) {
        return f.error();
    }
    return path;
}

/// Fails the start: prints why and the log tails of `shown`, stops what this
/// run started (state is kept for the logs).
void fail_start(cli_context& ctx, const std::vector<dev_process>& shown,
                const std::vector<dev_process>& started, const std::string& why) {
    std::string msg = why + "\n";
    for (const auto& p : shown) {
        msg += fmt::format("  {} log ({}), last lines:\n{}", p.label(), p.log().string(),
                           log_tail(p.log(), 15));
    }
    ctx.fail(exit_code::failed, msg + "  (stopping the processes this command started)");
    stop_in_order(started, std::chrono::milliseconds(10000));
}

/// The cluster in `dir`, checked against the flags; `fresh` when there is
/// none yet (then an empty one).
result<cluster> load_for_start(const fs::path& dir, const dev_options& o, bool nodes_given,
                               bool brokers_given, bool& fresh) {
    auto existing = load_cluster(dir);
    if (!existing) {
        return existing.error();
    }
    fresh = !existing->has_value();
    if (fresh) {
        return cluster{};
    }
    cluster c = std::move(**existing);
    if (nodes_given && static_cast<size_t>(o.nodes) != c.members.size()) {
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          fmt::format("the dev cluster in {} has {} controllers, not {}; remove "
                                      "it first (fjord dev purge) to start a new one",
                                      dir.string(), c.members.size(), o.nodes));
    }
    if (brokers_given && static_cast<size_t>(o.brokers) != c.brokers.size()) {
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          fmt::format("the dev cluster in {} has {}, not {}; remove it first "
                                      "(fjord dev purge) to start a new one",
                                      dir.string(), plural(c.brokers.size(), "broker"), o.brokers));
    }
    return c;
}

/// The processes a start launches: those not running (the others are left alone).
struct launch_plan {
    std::vector<member> members;
    std::vector<broker_node> brokers;
};

launch_plan not_running(const cluster& c) {
    launch_plan p;
    for (const auto& m : c.members) {
        if (!running_pid(m)) {
            p.members.push_back(m);
        }
    }
    for (const auto& b : c.brokers) {
        if (!running_pid(b)) {
            p.brokers.push_back(b);
        }
    }
    return p;
}

/// Everything already runs: says so (and selects the profile).
void report_running(cli_context& ctx, const dev_options& o, const cluster& c) {
    readiness r;
    r.members = observe(c);
    r.brokers = observe_brokers(c);
    r.leader = agreed_leader(r.members, r.uuid, false);
    std::string path;
    if (!o.no_profile) {
        auto p = select_dev_profile(ctx, c, profile_of(o), o.name.empty());
        if (!p) {
            ctx.fail(exit_code::failed, p.error().detail);
            return;
        }
        path = *p;
    }
    print_started(
        ctx, o, c, r, path,
        fmt::format("The dev cluster in {} is already running ({}, {}, leader {}).",
                    c.state_dir.string(), plural(c.members.size(), "controller"),
                    plural(c.brokers.size(), "broker"),
                    r.leader == 0 ? std::string("not agreed yet") : std::to_string(r.leader)));
}

/// Records the binaries this run uses (a rebuilt tree may have moved).
result<void> find_binaries(const env_map& env, cluster& c, bool fresh, const dev_options& o,
                           const launch_plan& p) {
    if (fresh || !p.members.empty()) {
        auto bin = find_bin(env, controller_kind);
        if (!bin) {
            return bin.error();
        }
        c.controller_bin = *bin;
    }
    if (fresh ? o.brokers > 0 : !p.brokers.empty()) {
        auto bin = find_bin(env, broker_kind);
        if (!bin) {
            return bin.error();
        }
        c.broker_bin = *bin;
    }
    return ok();
}

/// A fresh cluster: ports, configs and cluster.json. Leftover process
/// directories without cluster.json hold some earlier cluster's data, which
/// a new one must not adopt.
result<void> create_cluster(cluster& c, const dev_options& o) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(c.state_dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.starts_with("controller-") || name.starts_with("broker-")) {
            return error_info(std::make_error_code(std::errc::file_exists),
                              fmt::format("{} holds {} but no cluster.json; remove it first "
                                          "(fjord dev purge)",
                                          c.state_dir.string(), name));
        }
    }
    if (auto r = assign_ports(c, o.nodes, o.brokers, o.name); !r) {
        return r;
    }
    if (c.tls) {
        if (auto r = ensure_pki(c); !r) {
            return r;
        }
    }
    if (auto r = write_configs(c); !r) {
        return r;
    }
    return save_cluster(c);
}

/// Launches the members and waits for an agreed leader; false after failing the start.
bool start_members(cli_context& ctx, const cluster& c, const launch_plan& p, children& kids,
                   steady::time_point deadline, const dev_options& o, readiness& r) {
    for (const auto& m : p.members) {
        auto pid = spawn(c.controller_bin, m);
        if (!pid) {
            fail_start(ctx, processes_of(c.members), kids.started(), pid.error().detail);
            return false;
        }
        kids.add(m, *pid);
    }
    std::optional<dev_process> exited;
    if (auto w = wait_for_leader(c, kids, deadline, o.timeout, r, exited); !w) {
        fail_start(ctx, processes_of(c.members), kids.started(), w.error().detail);
        return false;
    }
    return true;
}

/// Launches the brokers and waits until each is ready (it has the
/// controller's state); false after failing the start.
bool start_brokers(cli_context& ctx, const cluster& c, const launch_plan& p, children& kids,
                   steady::time_point deadline, const dev_options& o, readiness& r) {
    if (p.brokers.empty()) {
        r.brokers = observe_brokers(c);
        return true;
    }
    const auto failure = [&](const std::string& why, const std::optional<dev_process>& also) {
        std::vector<dev_process> shown = processes_of(c.brokers);
        if (also && also->kind != broker_kind) {
            shown.push_back(*also);
        }
        fail_start(ctx, shown, kids.started(), why);
        return false;
    };
    for (const auto& b : p.brokers) {
        auto pid = spawn(c.broker_bin, b);
        if (!pid) {
            return failure(pid.error().detail, std::nullopt);
        }
        kids.add(b, *pid);
    }
    std::optional<dev_process> exited;
    if (auto w = wait_for_brokers(c, kids, deadline, o.timeout, r, exited); !w) {
        return failure(w.error().detail, exited);
    }
    return true;
}

/// The cluster runs: selects the profile and reports.
void report_started(cli_context& ctx, const dev_options& o, const cluster& c, const launch_plan& p,
                    const readiness& r, bool fresh, double secs) {
    std::string path;
    if (!o.no_profile) {
        auto prof = select_dev_profile(ctx, c, profile_of(o), o.name.empty());
        if (!prof) {
            ctx.fail(exit_code::failed,
                     fmt::format("the dev cluster is running, but the profile could not be "
                                 "written: {}",
                                 prof.error().detail));
            return;
        }
        path = *prof;
    }
    std::string what;
    if (!p.members.empty()) {
        what = plural(p.members.size(), "controller");
    }
    if (!p.brokers.empty()) {
        what += (what.empty() ? "" : " and ") + plural(p.brokers.size(), "broker");
    }
    print_started(ctx, o, c, r, path,
                  fmt::format("{} {} in {:.1f}s; cluster {}, leader {}.",
                              fresh ? "Started" : "Restarted", what, secs, r.uuid, r.leader));
}

}  // namespace

result<void> validate_cluster_name(const std::string& name) {
    if (name.empty()) {
        return ok();
    }
    if (name == "dev") {
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          "--name dev: \"dev\" is the default cluster's profile; leave --name "
                          "out for it, or pick another name");
    }
    if (auto r = validate_profile_name(name); !r) {
        return error_info(r.error().code, fmt::format("--name: {}", r.error().detail));
    }
    return ok();
}

void run_start(cli_context& ctx, const dev_options& o, bool nodes_given, bool brokers_given) {
    if (!begin(ctx, start_schema)) {
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
    auto lock = lock_state(*dir);
    if (!lock) {
        ctx.fail(exit_code::failed, lock.error().detail);
        return;
    }
    bool fresh = false;
    auto c = load_for_start(*dir, o, nodes_given, brokers_given, fresh);
    if (!c) {
        ctx.fail(exit_code::failed, c.error().detail);
        return;
    }
    if (!fresh && o.sasl && !c->sasl) {
        ctx.fail(exit_code::failed,
                 fmt::format("the dev cluster in {} was started without --sasl, and security is "
                             "not added to an existing one here; remove it first (fjord dev "
                             "purge), then fjord dev start --sasl",
                             dir->string()));
        return;
    }
    if (!fresh && o.tls && !c->tls) {
        ctx.fail(exit_code::failed,
                 fmt::format("the dev cluster in {} was started without --tls, and TLS is not "
                             "added to an existing one here; remove it first (fjord dev purge), "
                             "then fjord dev start --tls",
                             dir->string()));
        return;
    }
    launch_plan plan = not_running(*c);
    if (!fresh && plan.members.empty() && plan.brokers.empty()) {
        // An earlier start may have stopped half way through securing it.
        if (auto sec = secure(*c, o.timeout); !sec) {
            ctx.fail(exit_code::failed, sec.error().detail);
            return;
        }
        report_running(ctx, o, *c);
        return;
    }
    c->state_dir = *dir;
    if (fresh && o.sasl) {
        c->sasl = new_superuser();
    }
    if (fresh) {
        c->tls = o.tls;
    }
    auto ready = find_binaries(ctx.env(), *c, fresh, o, plan);
    if (ready && fresh) {
        ready = create_cluster(*c, o);
        if (ready) {
            ready = save_sasl(*c);
        }
        plan = launch_plan{c->members, c->brokers};
    } else if (ready) {
        // A restart keeps the recorded ports (the members' data and the
        // brokers' registrations name them), and renews certificates that
        // are about to expire.
        ready = recorded_ports_free(plan.members, plan.brokers);
        if (ready && c->tls) {
            ready = ensure_pki(*c);
        }
        if (ready) {
            ready = save_cluster(*c);
        }
    }
    if (!ready) {
        ctx.fail(exit_code::failed, ready.error().detail);
        return;
    }
    const auto t0 = steady::now();
    const auto deadline = t0 + o.timeout;
    children kids;
    readiness r;
    if (!start_members(ctx, *c, plan, kids, deadline, o, r)) {
        return;
    }
    // Security is on before any broker starts (secure.h).
    if (auto sec = secure(*c, o.timeout); !sec) {
        fail_start(ctx, processes_of(c->members), kids.started(), sec.error().detail);
        return;
    }
    if (!start_brokers(ctx, *c, plan, kids, deadline, o, r)) {
        return;
    }
    report_started(ctx, o, *c, plan, r, fresh,
                   std::chrono::duration<double>(steady::now() - t0).count());
}

}  // namespace fjord::cli::dev
