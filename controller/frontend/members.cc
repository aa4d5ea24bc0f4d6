// File: controller/frontend/members.cc
//
// The members and administration domain of the frontend (members.h).

#include "controller/frontend/members.h"

#include <algorithm>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "controller/raft/errc.h"

namespace fjord::frontend {

using cluster::errc;

result<void> check_address(std::string_view field, const std::string& addr) {
    const size_t colon = addr.rfind(':');
    if (addr.empty() || colon == std::string::npos || colon == 0 || colon + 1 == addr.size()) {
        return error_info::for_field(errc::invalid_argument, field,
                                     fmt::format("\"{}\" is not host:port", addr));
    }
    int port = 0;
    for (char ch : addr.substr(colon + 1)) {
        if (ch < '0' || ch > '9' || port > 65535) {
            return error_info::for_field(errc::invalid_argument, field,
                                         fmt::format("bad port in \"{}\"", addr));
        }
        port = port * 10 + (ch - '0');
    }
    if (port < 1 || port > 65535) {
        return error_info::for_field(errc::invalid_argument, field,
                                     fmt::format("port {} is outside 1..65535", port));
    }
    return ok();
}

result<void> check(const v1::AddMemberRequest& req) {
    const v1::Member& m = req.member();
    if (m.id() == 0) {
        return error_info::for_field(errc::invalid_argument, "member.id", "must be >= 1");
    }
    if (auto r = check_address("member.peer_address", m.peer_address()); !r) {
        return r;
    }
    return check_address("member.api_address", m.api_address());
}

result<void> check(const v1::RemoveMemberRequest& req) {
    if (req.id() == 0) {
        return error_info::for_field(errc::invalid_argument, "id", "must be >= 1");
    }
    return ok();
}

result<void> add_member(core& c, const v1::AddMemberRequest& req) {
    const v1::Member& m = req.member();
    v1::MemberContext mc;
    *mc.mutable_member() = m;
    raft::conf_change cc{raft::conf_change_type::add_learner, node_id{m.id()},
                         mc.SerializeAsString()};
    auto f = c.loop().propose_conf_change(cc);
    if (auto r = await(f, clock::now() + c.opts().write_timeout); !r || req.as_learner()) {
        return r;
    }
    // Promote once the learner holds the committed log (the core refuses
    // earlier promotion), polling the leader's view of its progress.
    const auto deadline = clock::now() + c.opts().write_timeout * 3;
    error_info last_error =
        error_info::for_field(errc::timeout, "id", "learner did not catch up in time");
    while (clock::now() < deadline && !c.stopping()) {
        cc.type = raft::conf_change_type::add_voter;
        auto pf = c.loop().propose_conf_change(cc);
        auto pr = await(pf, clock::now() + c.opts().write_timeout);
        if (pr) {
            return ok();
        }
        if (pr.code() != raft::errc::learner_not_caught_up &&
            pr.code() != raft::errc::conf_change_pending) {
            return pr;
        }
        last_error = pr.error();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return last_error;
}

result<void> remove_member(core& c, const v1::RemoveMemberRequest& req) {
    raft::conf_change cc{raft::conf_change_type::remove_node, node_id{req.id()}, {}};
    auto f = c.loop().propose_conf_change(cc);
    return await(f, clock::now() + c.opts().write_timeout);
}

result<transferred> transfer_leadership(core& c, const v1::TransferLeadershipRequest& req) {
    node_id to{req.to()};
    if (to == no_node) {
        // The most caught-up other voter.
        auto f = c.loop().status();
        if (f.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
            return error_info(std::make_error_code(std::errc::timed_out),
                              "raft loop not responding");
        }
        const auto st = f.get();
        log_index best;
        for (const auto& p : st.progress) {
            const bool voter = std::find(st.conf.voters.begin(), st.conf.voters.end(), p.id) !=
                               st.conf.voters.end();
            if (p.id != st.id && voter && p.active && (to == no_node || p.match > best)) {
                to = p.id;
                best = p.match;
            }
        }
        if (to == no_node) {
            return transferred{error_info::for_field(errc::invalid_argument, "to",
                                                     "there is no other voter to transfer to"),
                               no_node};
        }
    }
    auto f = c.loop().transfer_leadership(to);
    if (auto r = await(f, clock::now() + c.opts().write_timeout); !r) {
        return transferred{r.error(), no_node};
    }
    const auto deadline = clock::now() + c.opts().election_timeout * 3;
    while (clock::now() < deadline && c.loop().leader() != to) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const node_id leader = c.loop().leader();
    if (leader == to) {
        return transferred{ok(), leader};
    }
    return transferred{error_info::for_field(errc::timeout, "to",
                                             fmt::format("{} did not take over within {} ms", to,
                                                         (c.opts().election_timeout * 3).count())),
                       leader};
}

result<log_index> take_snapshot(core& c) {
    auto f = c.loop().take_snapshot();
    return await(f, clock::now() + c.opts().write_timeout);
}

result<v1::StatusResponse> status(core& c) {
    auto f = c.loop().status();
    if (f.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
        return error_info(std::make_error_code(std::errc::timed_out), "raft loop not responding");
    }
    loop::loop_status st;
    try {
        st = f.get();
    } catch (const std::future_error&) {
        return error_info(std::make_error_code(std::errc::operation_canceled),
                          "controller shutting down");
    }
    v1::StatusResponse resp;
    resp.set_node_id(st.id.value());
    resp.set_leader_id(st.leader.value());
    resp.set_term(st.term.value());
    resp.set_commit_index(st.commit.value());
    resp.set_applied_index(st.applied.value());
    resp.set_role(std::string(raft::to_string(st.role)));
    resp.set_snapshot_index(st.snapshot_index.value());
    resp.set_fips_mode(c.opts().fips_mode);
    const std::map<uint64_t, v1::FipsMode> peer_modes =
        c.opts().peer_fips_modes ? c.opts().peer_fips_modes() : std::map<uint64_t, v1::FipsMode>{};
    c.state().read([&](const stm::controller_stm& s) {
        resp.set_cluster_uuid(s.cluster_uuid());
        auto add = [&](node_id id, bool voter) {
            auto* m = resp.add_members();
            m->set_voter(voter);
            if (const auto* rec = s.members().find(id.value())) {
                *m->mutable_member() = *rec;
            } else {
                m->mutable_member()->set_id(id.value());
            }
            if (id == st.id) {
                m->set_fips_mode(c.opts().fips_mode);
            } else if (auto it = peer_modes.find(id.value()); it != peer_modes.end()) {
                m->set_fips_mode(it->second);
            }
            for (const auto& p : st.progress) {
                if (p.id == id) {
                    m->set_match_index(p.match.value());
                    m->set_state(p.state);
                }
            }
        };
        for (node_id v : st.conf.voters) {
            add(v, true);
        }
        for (node_id l : st.conf.learners) {
            add(l, false);
        }
        return 0;
    });
    return resp;
}

size_t fips_mode_outliers(const std::vector<v1::FipsMode>& modes) {
    std::map<v1::FipsMode, size_t> counts;
    size_t known = 0;
    for (v1::FipsMode m : modes) {
        if (m != v1::FIPS_MODE_UNSPECIFIED) {
            ++counts[m];
            ++known;
        }
    }
    size_t largest = 0;
    for (const auto& [mode, n] : counts) {
        largest = std::max(largest, n);
    }
    return known - largest;
}

size_t non_homogenous_fips_mode(core& c, const v1::StatusResponse& st) {
    std::vector<v1::FipsMode> modes;
    for (const auto& m : st.members()) {
        modes.push_back(m.fips_mode());
    }
    c.state().read([&](const stm::controller_stm& s) {
        for (const auto& [id, b] : s.brokers().all()) {
            if (b.state() != v1::BROKER_STATE_DECOMMISSIONED) {
                modes.push_back(b.fips_mode());
            }
        }
        return 0;
    });
    return fips_mode_outliers(modes);
}

}  // namespace fjord::frontend
