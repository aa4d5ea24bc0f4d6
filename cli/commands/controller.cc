// File: cli/commands/controller.cc
//
// fjord controller status|members add|members remove|transfer-leadership:
// the Raft group's administration (no rpk equivalent; etcdctl's `member` and
// `move-leader` are the models).

#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.h"
#include "cli/context.h"
#include "cli/output/printer.h"
#include "common/build_info.h"

namespace fjord::cli {
namespace {

using json = nlohmann::json;

constexpr const char* item_result_schema = "{\"status\": \"OK\"|error code, \"message\"?: string}";
constexpr const char* transfer_schema =
    "{\"status\": \"OK\"|error code, \"message\"?: string, \"leader_id\": int}";

void print_item_result(cli_context& ctx, const v1::ItemResult& r, const std::string& ok_text,
                       const json& extra = json::object()) {
    const bool ok = r.code() == v1::OK;
    if (!ok) {
        ctx.set_code(exit_code::failed);
    }
    json doc = {{"status", ok ? "OK" : v1::ErrorCode_Name(r.code())}};
    if (!r.message().empty()) {
        doc["message"] = r.message();
    }
    doc.update(extra);
    if (ctx.format() == output_format::text || ctx.format() == output_format::wide) {
        if (ok) {
            std::cout << ok_text << "\n";
        } else {
            std::cerr << "fjord: " << v1::ErrorCode_Name(r.code()) << ": " << r.message() << "\n";
        }
        return;
    }
    print_output(std::cout, ctx.format(), doc, [](bool) { return std::string(); });
}

void run_status(cli_context& ctx) {
    if (ctx.format() == output_format::help) {
        std::cout << "{\"node_id\": int, \"leader_id\": int, \"term\": int, \"commit_index\": int, "
                     "\"applied_index\": int, \"cluster_uuid\": string, \"fips_mode\": string, "
                     "\"members\": [{\"id\": int, \"voter\": bool, \"leader\": bool, "
                     "\"api_address\": string, \"peer_address\": string, \"match_index\": int, "
                     "\"state\": string, \"fips_mode\": \"disabled\"|\"permissive\"|\"enabled\"|"
                     "\"unknown\"}]}\n";
        return;
    }
    auto st = ctx.call(&ctl::status, v1::StatusRequest{});
    if (!st) {
        ctx.fail(exit_code::failed, st.error().detail);
        return;
    }
    // Progress (match index) is the leader's view: ask the leader if we can.
    if (st->leader_id() != 0 && st->leader_id() != st->node_id()) {
        for (const auto& m : st->members()) {
            if (m.member().id() == st->leader_id() && !m.member().api_address().empty()) {
                if (auto from_leader = ctx.call(&ctl::status_of, m.member().api_address())) {
                    st = std::move(from_leader);
                }
                break;
            }
        }
    }
    json members = json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& m : st->members()) {
        const bool leader = m.member().id() == st->leader_id();
        members.push_back({{"id", m.member().id()},
                           {"voter", m.voter()},
                           {"leader", leader},
                           {"api_address", m.member().api_address()},
                           {"peer_address", m.member().peer_address()},
                           {"match_index", m.match_index()},
                           {"state", m.state()},
                           {"fips_mode", fips_mode_name(m.fips_mode())}});
        rows.push_back({fmt::format("{}{}", m.member().id(), leader ? "*" : ""),
                        m.voter() ? "voter" : "learner", m.member().api_address(),
                        m.member().peer_address(), std::to_string(m.match_index()), m.state(),
                        fips_mode_name(m.fips_mode())});
    }
    json doc = {{"node_id", st->node_id()},
                {"leader_id", st->leader_id()},
                {"term", st->term()},
                {"commit_index", st->commit_index()},
                {"applied_index", st->applied_index()},
                {"cluster_uuid", st->cluster_uuid()},
                {"fips_mode", fips_mode_name(st->fips_mode())},
                {"members", members}};
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        return fmt::format(
                   "cluster {}\nleader {}, term {}, commit {}, applied {} (as seen by {})\n\n",
                   st->cluster_uuid(), st->leader_id(), st->term(), st->commit_index(),
                   st->applied_index(), st->node_id()) +
               render_table({"id", "role", "api", "peer", "match", "state", "fips_mode"}, rows);
    });
}

struct member_options {
    uint64_t id = 0;
    std::string peer;
    std::string api;
    bool learner = false;
};

}  // namespace

void register_controller_commands(CLI::App& root, cli_context& ctx) {
    auto* controller = root.add_subcommand("controller", "Administer the controller Raft group");
    controller->require_subcommand(1);

    auto* status = controller->add_subcommand("status", "Members, leader, term and progress");
    status->callback([&ctx] {
        if (ctx.prepare()) {
            run_status(ctx);
        }
    });

    auto* members = controller->add_subcommand("members", "Add or remove controller members");
    members->require_subcommand(1);
    auto ao = std::make_shared<member_options>();
    auto* add = members->add_subcommand("add", "Add a member (a learner, promoted once caught up)");
    add->add_option("id", ao->id, "Member id (>= 1)")->required();
    add->add_option("--peer", ao->peer, "The member's Raft peer address host:port")->required();
    add->add_option("--api", ao->api, "The member's API address host:port")->required();
    add->add_flag("--learner", ao->learner, "Keep it a non-voting learner");
    add->callback([&ctx, ao] {
        if (!ctx.prepare() || ctx.print_schema(item_result_schema)) {
            return;
        }
        v1::AddMemberRequest req;
        req.mutable_member()->set_id(ao->id);
        req.mutable_member()->set_peer_address(ao->peer);
        req.mutable_member()->set_api_address(ao->api);
        req.set_as_learner(ao->learner);
        auto r = ctx.call(&ctl::add_member, req);
        if (!r) {
            ctx.fail(exit_code::failed, r.error().detail);
            return;
        }
        print_item_result(ctx, r->result(), fmt::format("member {} added", ao->id));
    });

    auto rid = std::make_shared<uint64_t>(0);
    auto* remove = members->add_subcommand("remove", "Remove a member (may be the leader)");
    remove->add_option("id", *rid, "Member id")->required();
    remove->callback([&ctx, rid] {
        if (!ctx.prepare() || ctx.print_schema(item_result_schema)) {
            return;
        }
        v1::RemoveMemberRequest req;
        req.set_id(*rid);
        auto r = ctx.call(&ctl::remove_member, req);
        if (!r) {
            ctx.fail(exit_code::failed, r.error().detail);
            return;
        }
        print_item_result(ctx, r->result(), fmt::format("member {} removed", *rid));
    });

    auto to = std::make_shared<uint64_t>(0);
    auto* transfer = controller->add_subcommand(
        "transfer-leadership", "Hand leadership to a member (default: the most caught-up)");
    transfer->add_option("--to", *to, "Target member id");
    transfer->callback([&ctx, to] {
        if (!ctx.prepare() || ctx.print_schema(transfer_schema)) {
            return;
        }
        v1::TransferLeadershipRequest req;
        req.set_to(*to);
        auto r = ctx.call(&ctl::transfer_leadership, req);
        if (!r) {
            ctx.fail(exit_code::failed, r.error().detail);
            return;
        }
        print_item_result(ctx, r->result(), fmt::format("leader is now {}", r->leader_id()),
                          {{"leader_id", r->leader_id()}});
    });
}

void register_version_command(CLI::App& root, cli_context& ctx) {
    auto* version =
        root.add_subcommand("version", "Print the version, git revision and build type");
    version->callback([&ctx] {
        if (!ctx.prepare_output()) {
            return;
        }
        if (ctx.print_schema(
                "{\"version\": string, \"git_revision\": string, \"build_type\": string}")) {
            return;
        }
        print_output(std::cout, ctx.format(),
                     {{"version", build::version()},
                      {"git_revision", build::git_revision()},
                      {"build_type", build::build_type()}},
                     [](bool) {
                         return fmt::format("fjord {}\ngit revision: {}\nbuild type:   {}\n",
                                            build::version(), build::git_revision(),
                                            build::build_type());
                     });
    });
}

}  // namespace fjord::cli
