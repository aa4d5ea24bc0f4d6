// File: cli/dev/stop.cc
//
// fjord dev stop and purge (contracts: dev.h): brokers first, then members,
// only processes that pass is_our_process (processes.h).

#include "cli/dev/dev.h"

#include <iostream>

#include <fmt/format.h>

#include "cli/context.h"
#include "cli/dev/processes.h"
#include "cli/dev/report.h"
#include "cli/dev/state.h"
#include "cli/output/printer.h"
#include "cli/profile.h"

namespace fjord::cli::dev {
namespace {

/// Stops the cluster in `dir` (if any), brokers first, and prints per
/// process; false when a process needed SIGKILL or survived it.
bool stop_and_report(cli_context& ctx, const fs::path& dir, const cluster& c,
                     std::chrono::milliseconds timeout, json& doc, std::string& text) {
    bool clean = true;
    bool any = false;
    const auto stop_kind = [&](const std::vector<dev_process>& ps, const char* kind) {
        json items = json::array();
        for (const auto& r : stop_processes(ps, timeout)) {
            json j = {{"id", r.id}, {"result", stop_text(r.result)}};
            if (r.pid != 0) {
                j["pid"] = r.pid;
                j["seconds"] = r.seconds;
                any = true;
                text += fmt::format("{} {} (pid {}): {} after {:.1f}s\n", kind, r.id, r.pid,
                                    stop_text(r.result), r.seconds);
            } else {
                text += fmt::format("{} {}: not running\n", kind, r.id);
            }
            if (r.result == stop_result::killed || r.result == stop_result::survived) {
                clean = false;
                ctx.set_code(exit_code::failed);
            }
            items.push_back(std::move(j));
        }
        return items;
    };
    json brokers = stop_kind(processes_of(c.brokers), broker_kind);
    json members = stop_kind(processes_of(c.members), controller_kind);
    doc = {{"state_dir", dir.string()},
           {"brokers", brokers},
           {"members", members},
           {"was_running", any}};
    return clean;
}

/// Removes what start created in `dir` (the processes' directories,
/// cluster.json, sasl.json, the dev CA, the lock) and `dir` itself if nothing else is left; the
/// names of what is left.
result<std::vector<std::string>> remove_state(const fs::path& dir, const cluster& c,
                                              bool& removed) {
    std::error_code ec;
    std::vector<dev_process> all = processes_of(c.brokers);
    for (const auto& m : c.members) {
        all.push_back(m);
    }
    for (const auto& m : all) {
        fs::remove_all(m.dir, ec);
        if (ec) {
            return error_info(ec,
                              fmt::format("cannot remove {}: {}", m.dir.string(), ec.message()));
        }
    }
    fs::remove(sasl_file(dir), ec);
    fs::remove(sasl_file(dir).string() + ".tmp", ec);
    fs::remove_all(dir / "tls", ec);  // --tls: the dev CA (pki.h)
    fs::remove(cluster_file(dir), ec);
    fs::remove(cluster_file(dir).string() + ".tmp", ec);
    fs::remove(dir / "lock", ec);
    std::vector<std::string> left;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        left.push_back(entry.path().filename().string());
    }
    removed = left.empty() && fs::remove(dir, ec);
    return left;
}

/// Deletes the profile `name` ("dev", or the cluster's --name) if it still
/// describes the cluster in `dir`; whether it did.
bool delete_dev_profile(cli_context& ctx, const fs::path& dir, const std::string& name) {
    bool deleted = false;
    auto path = profile_file_path(ctx.config_flag, ctx.env());
    if (!path) {
        return false;
    }
    const std::string marker = fmt::format("fjord dev cluster ({})", dir.string());
    auto f = update_profile_file(*path, [&](profile_file& pf) -> result<void> {
        const profile* p = pf.find(name);
        if (p != nullptr && p->description == marker) {
            std::erase_if(pf.profiles, [&](const profile& x) { return x.name == name; });
            if (pf.current == name) {
                pf.current.clear();
            }
            deleted = true;
        }
        return ok();
    });
    if (!f) {
        ctx.fail(exit_code::failed,
                 fmt::format("could not remove the profile \"{}\": {}", name, f.error().detail));
    }
    return deleted;
}

std::string purge_text(const fs::path& dir, const std::string& stopped, bool removed,
                       const std::vector<std::string>& left, bool profile_deleted,
                       const std::string& profile_name) {
    std::string out = stopped;
    if (removed) {
        out += fmt::format("Removed {}.\n", dir.string());
    } else {
        std::string names;
        for (const auto& n : left) {
            names += (names.empty() ? "" : ", ") + n;
        }
        out += fmt::format("Removed the dev cluster's files; left {} (it also holds: {}).\n",
                           dir.string(), names);
    }
    if (profile_deleted) {
        out += fmt::format("Deleted profile \"{}\".\n", profile_name);
    }
    return out;
}

}  // namespace

void run_stop(cli_context& ctx, const dev_options& o) {
    if (!begin(ctx, stop_schema)) {
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
        print_output(std::cout, ctx.format(),
                     {{"state_dir", dir->string()},
                      {"was_running", false},
                      {"brokers", json::array()},
                      {"members", json::array()}},
                     [&](bool) { return fmt::format("No dev cluster in {}.\n", dir->string()); });
        return;
    }
    auto lock = lock_state(*dir);
    if (!lock) {
        ctx.fail(exit_code::failed, lock.error().detail);
        return;
    }
    json doc;
    std::string text;
    stop_and_report(ctx, *dir, **c, o.timeout, doc, text);
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        return text + fmt::format(
                          "State kept in {} (fjord dev start{} restarts it; fjord dev "
                          "purge{} removes it).\n",
                          dir->string(), name_flag(o), name_flag(o));
    });
}

void run_purge(cli_context& ctx, const dev_options& o) {
    if (!begin(ctx, purge_schema)) {
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
    std::error_code ec;
    if (!fs::exists(*dir, ec)) {
        print_output(std::cout, ctx.format(), {{"state_dir", dir->string()}, {"removed", false}},
                     [&](bool) { return fmt::format("No dev cluster in {}.\n", dir->string()); });
        return;
    }
    auto lock = lock_state(*dir);
    if (!lock) {
        ctx.fail(exit_code::failed, lock.error().detail);
        return;
    }
    // Processes are found from the controller-* and broker-* directories, so
    // a damaged cluster.json does not keep processes alive.
    const cluster c = scan_process_dirs(*dir);
    json doc;
    std::string text;
    if (!stop_and_report(ctx, *dir, c, o.timeout, doc, text)) {
        ctx.fail(exit_code::failed,
                 fmt::format("not removing {}: a process did not stop", dir->string()));
        std::cout << text;
        return;
    }
    bool removed = false;
    auto left = remove_state(*dir, c, removed);
    if (!left) {
        ctx.fail(exit_code::failed, left.error().detail);
        return;
    }
    // The dev profile goes too, if it still describes this cluster.
    const bool profile_deleted = delete_dev_profile(ctx, *dir, profile_of(o));
    doc["removed"] = removed;
    doc["left"] = *left;
    doc["profile_deleted"] = profile_deleted;
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        return purge_text(*dir, text, removed, *left, profile_deleted, profile_of(o));
    });
}

}  // namespace fjord::cli::dev
