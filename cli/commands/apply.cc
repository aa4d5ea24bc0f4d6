// File: cli/commands/apply.cc
//
// fjord apply -f FILE: make the cluster match a desired-state file
// (docs/apply.md). The CLI parses the file and resolves its secrets
// (cli/apply/desired_state.h); the controller leader computes the plan and,
// unless --dry-run, applies it as one all-or-nothing batch whose
// preconditions are the revisions the plan read (controller_service.proto
// Apply). The request carries the client's Session (common/controller_client
// sets it on every write), so a retried Apply after a lost answer is
// answered with the first outcome instead of applying twice.
//
// shadow_links are planned here (cli/apply/shadow_plan.h) and applied after
// the batch through Create/UpdateShadowLink: not part of the batch.
//
// Exit codes (cli/exit_codes.h): 0 applied, or nothing to do; 1 failed (a
// change in error, a conflict, outcome unknown, a refused call, a bad file);
// 2 usage; 3 --dry-run with changes pending.

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/apply/desired_state.h"
#include "cli/apply/plan_print.h"
#include "cli/apply/shadow_plan.h"
#include "cli/commands/commands.h"
#include "cli/context.h"
#include "cli/yaml/read.h"

namespace fjord::cli {
namespace {

struct apply_options {
    std::string file;
    bool dry_run = false;
    bool prune = false;
    std::string owner;
};

/// The owner label's rule (ApplyRequest.owner): 1-64 of [A-Za-z0-9._-].
bool valid_owner(const std::string& o) {
    if (o.empty() || o.size() > 64) {
        return false;
    }
    for (unsigned char c : o) {
        if (!(std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

/// The link as the cluster has it; nullopt when it does not exist.
result<std::optional<v1::ShadowLink>> current_link(cli_context& ctx, const std::string& name) {
    v1::GetShadowLinkRequest req;
    req.set_name(name);
    auto r = ctx.call(&ctl::get_shadow_link, std::move(req));
    if (!r) {
        if (r.error().code == std::errc::no_such_file_or_directory) {
            return std::optional<v1::ShadowLink>();
        }
        return r.error();
    }
    if (r->result().code() == v1::UNKNOWN_SHADOW_LINK) {
        return std::optional<v1::ShadowLink>();
    }
    if (r->result().code() != v1::OK) {
        return error_info(
            std::make_error_code(std::errc::io_error),
            fmt::format("shadow link {}: {}: {}", name, v1::ErrorCode_Name(r->result().code()),
                        r->result().message()));
    }
    return std::optional<v1::ShadowLink>(r->link());
}

/// Creates or updates one link; records a failure as the change's error.
/// Returns the revision written (0 when nothing was).
uint64_t apply_shadow_step(cli_context& ctx, apply::shadow_step& s, v1::PlannedChange& shown) {
    result<v1::ShadowLinkResponse> r =
        error_info(std::make_error_code(std::errc::invalid_argument));
    if (s.change.action() == v1::CHANGE_CREATE) {
        v1::CreateShadowLinkRequest req;
        *req.mutable_link() = s.request_link;
        r = ctx.call(&ctl::create_shadow_link, std::move(req));
    } else {
        v1::UpdateShadowLinkRequest req;
        *req.mutable_link() = s.request_link;
        for (const auto& p : s.update_mask) {
            req.add_update_mask(p);
        }
        r = ctx.call(&ctl::update_shadow_link, std::move(req));
    }
    v1::ItemResult* e = shown.mutable_error();
    if (!r) {
        // "outcome unknown" from the client stays in the message.
        e->set_code(r.error().code == std::errc::timed_out ? v1::OUTCOME_UNKNOWN : v1::INTERNAL);
        e->set_message(r.error().detail);
        return 0;
    }
    if (r->result().code() != v1::OK) {
        *e = r->result();
        return 0;
    }
    shown.clear_error();
    return r->revision();
}

void run_apply(cli_context& ctx, const apply_options& o) {
    if (ctx.print_schema(apply::plan_schema)) {
        return;
    }
    const bool text = ctx.format() == output_format::text || ctx.format() == output_format::wide;
    const std::string source = o.file == "-" ? std::string("stdin") : o.file;
    auto content = yaml::read_input(o.file);
    if (!content) {
        ctx.fail(exit_code::failed, content.error().detail);
        return;
    }
    const env_map& env = ctx.env();
    apply::secret_source secrets{
        [&env](const std::string& var) -> std::optional<std::string> {
            auto it = env.find(var);
            return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
        },
        [](const std::string& path) -> result<std::string> {
            if (path == "-") {
                return error_info(std::make_error_code(std::errc::invalid_argument),
                                  "a password file cannot be stdin");
            }
            return yaml::read_input(path);
        }};
    auto parsed = apply::parse_desired_state(*content, secrets);
    if (!parsed) {
        ctx.fail(exit_code::failed, fmt::format("{}: {}", source, parsed.error().detail));
        return;
    }
    const std::string owner = o.owner.empty() ? parsed->owner : o.owner;
    const char* owner_origin = o.owner.empty() ? "the file's owner" : "--owner";
    if (!owner.empty() && !valid_owner(owner)) {
        ctx.fail(exit_code::usage,
                 fmt::format("{} \"{}\": an owner label is 1-64 characters of A-Z a-z 0-9 . _ -",
                             owner_origin, owner));
        return;
    }
    if (o.prune && owner.empty()) {
        ctx.fail(exit_code::usage,
                 "--prune needs an owner (--owner LABEL, or owner: in the file): it deletes only "
                 "objects an apply with the same owner created");
        return;
    }

    // Shadow links first, read-only: a link whose config is refused makes
    // the whole plan invalid, so nothing is applied.
    std::vector<apply::shadow_step> steps;
    bool shadow_errors = false;
    for (const auto& e : parsed->shadow_links) {
        auto current = current_link(ctx, e.link.name());
        if (!current) {
            ctx.fail(exit_code::failed,
                     fmt::format("shadow link {}: {}", e.link.name(), current.error().detail));
            return;
        }
        steps.push_back(apply::plan_shadow_link(e, *current));
        shadow_errors = shadow_errors || steps.back().change.has_error();
    }

    v1::ApplyRequest req;
    *req.mutable_desired() = parsed->state;
    req.set_owner(owner);
    req.set_prune(o.prune);
    req.set_dry_run(o.dry_run || shadow_errors);
    auto resp = ctx.call(&ctl::apply, std::move(req));
    if (!resp) {
        ctx.fail(exit_code::failed, resp.error().detail);
        return;
    }

    // What is shown: the controller's plan, then the links'.
    v1::ApplyResponse shown = *resp;
    std::vector<std::pair<apply::shadow_step*, int>> pending;  // step, index in shown
    for (auto& s : steps) {
        if (s.change.action() != v1::CHANGE_ACTION_UNSPECIFIED) {
            *shown.add_changes() = s.change;
            pending.emplace_back(&s, shown.changes_size() - 1);
        }
    }
    const v1::ErrorCode code = resp->result().code();
    const std::string message =
        resp->result().message().empty() ? resp->result().detail() : resp->result().message();
    std::vector<std::string> failures;
    bool wrote = resp->applied();
    uint64_t revision = resp->applied() ? resp->revision() : 0;

    if (code == v1::OK && !o.dry_run && !shadow_errors) {
        for (auto& [s, i] : pending) {
            const uint64_t rev = apply_shadow_step(ctx, *s, *shown.mutable_changes(i));
            if (rev > 0) {
                wrote = true;
                revision = std::max(revision, rev);
            } else {
                const auto& e = shown.changes(i).error();
                failures.push_back(fmt::format("shadow link {}: {}: {}", s->change.object().name(),
                                               v1::ErrorCode_Name(e.code()), e.message()));
            }
        }
        shown.set_applied(wrote);
        shown.set_revision(revision);
    }

    const apply::plan_counts counts = apply::count(shown);
    const auto errors = apply::plan_errors(shown);
    if (text) {
        std::cout << apply::plan_text(shown);
    } else {
        print_output(std::cout, ctx.format(), apply::plan_json(shown), {});
    }
    std::cout << std::flush;

    if (!errors.empty() && (code != v1::OK || shadow_errors || o.dry_run)) {
        ctx.fail(exit_code::failed,
                 fmt::format("the plan has {} change(s) that cannot be made; nothing was "
                             "applied:\n  {}",
                             errors.size(), fmt::join(errors, "\n  ")));
        return;
    }
    switch (code) {
        case v1::OK:
            break;
        case v1::CONFLICT:
            ctx.fail(exit_code::failed,
                     fmt::format("the cluster changed since the plan: {}; run fjord apply again",
                                 message));
            return;
        case v1::OUTCOME_UNKNOWN:
        case v1::TIMEOUT:
        case v1::NOT_LEADER:
            ctx.fail(exit_code::failed,
                     fmt::format("outcome unknown: the plan may or may not have been applied; "
                                 "run fjord apply --dry-run to see what is left ({}: {})",
                                 v1::ErrorCode_Name(code), message));
            return;
        default:
            ctx.fail(exit_code::failed,
                     fmt::format("nothing was applied: {}: {}", v1::ErrorCode_Name(code), message));
            return;
    }
    if (!failures.empty()) {
        ctx.fail(exit_code::failed,
                 fmt::format(
                     "{}; shadow links are applied after the batch and are not part "
                     "of it{}",
                     fmt::join(failures, "; "),
                     resp->applied()
                         ? fmt::format(" (the batch was applied at revision {})", resp->revision())
                         : std::string()));
        return;
    }
    if (o.dry_run) {
        if (counts.total() > 0) {
            if (text) {
                std::cout << "Changes pending (--dry-run): nothing was applied.\n";
            }
            ctx.set_code(exit_code::pending);
        } else if (text) {
            std::cout << "Nothing to do.\n";
        }
        return;
    }
    if (text) {
        std::cout << (wrote ? fmt::format("Applied at revision {}.\n", revision)
                            : std::string("Nothing to do.\n"));
    }
}

}  // namespace

void register_apply_command(CLI::App& root, cli_context& ctx) {
    auto o = std::make_shared<apply_options>();
    auto* cmd = root.add_subcommand(
        "apply",
        "Make the cluster match a desired-state file: topics, ACLs, users, roles, cluster "
        "config and shadow links (docs/apply.md). The plan is applied whole or not at all");
    cmd->add_option("-f,--file", o->file, "The desired-state YAML file ('-': stdin)")->required();
    cmd->add_flag("--dry-run", o->dry_run,
                  "Print the plan and change nothing (exit 0: nothing to do, 3: changes pending)");
    cmd->add_flag("--prune", o->prune,
                  "Delete objects the file does not list, but only those an apply with the same "
                  "owner created (needs an owner)");
    cmd->add_option("--owner", o->owner,
                    "Owner label recorded on the objects this apply creates (default: the "
                    "file's owner key)");
    cmd->footer(
        "Exit codes: 0 applied (or nothing to do), 1 failed (nothing of the batch applied), "
        "2 usage, 3 --dry-run: changes pending.");
    cmd->callback([&ctx, o] {
        if (ctx.prepare()) {
            run_apply(ctx, *o);
        }
    });
}

}  // namespace fjord::cli
