// File: common/security/authorizer_property_test.cc
//
// The indexed authorizer against a brute-force scan written plainly from the
// rules (authorizer.h): random binding sets, superusers and role memberships
// over a small universe of names (so that prefixes, wildcards, hosts and roles
// collide often), random queries, and the whole decision compared: allowed,
// reason, deciding binding and role. Deterministic: seeded std::mt19937.
// A failure prints the seed, the bindings and the query.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/security/acl.h"
#include "common/security/authorizer.h"

namespace fjord::security {
namespace {

// ---------------------------------------------------------------- the reference

struct reference {
    std::vector<acl_binding> bindings;
    std::set<std::string> superusers;
    role_memberships roles;

    bool resource_matches(const acl_binding& b, resource_type rt, std::string_view name) const {
        if (b.rtype != rt) {
            return false;
        }
        if (b.ptype == pattern_type::literal) {
            return b.name == name || b.name == "*";
        }
        return b.ptype == pattern_type::prefixed && name.substr(0, b.name.size()) == b.name;
    }

    static bool op_matches(const acl_binding& b, acl_operation op) {
        if (b.op == acl_operation::all || b.op == op) {
            return true;
        }
        if (b.perm != acl_permission::allow) {
            return false;
        }
        if (op == acl_operation::describe) {
            return b.op == acl_operation::read || b.op == acl_operation::write ||
                   b.op == acl_operation::remove || b.op == acl_operation::alter;
        }
        if (op == acl_operation::describe_configs) {
            return b.op == acl_operation::alter_configs;
        }
        return false;
    }

    /// Whether `b` names `user` directly (the user or User:*), through a
    /// role, or not at all.
    enum class source { none, direct, role };
    source source_of(const acl_binding& b, const principal& user) const {
        if (b.who == user) {
            return b.who.type == principal::kind::role ? source::role : source::direct;
        }
        if (user.type != principal::kind::user) {
            return source::none;
        }
        if (b.who.is_wildcard()) {
            return source::direct;
        }
        if (b.who.type == principal::kind::role) {
            auto it = roles.find(b.who.name);
            if (it != roles.end() && it->second.contains(user)) {
                return source::role;
            }
        }
        return source::none;
    }

    decision authorize(const principal& user, const std::string& host, acl_operation op,
                       resource_type rt, const std::string& name) const {
        decision d;
        if (user.type == principal::kind::user && superusers.contains(user.name)) {
            d.allowed = true;
            d.reason = decision_reason::superuser;
            return d;
        }
        // The least matching binding of each class: direct deny, role deny,
        // direct allow, role allow.
        std::optional<acl_binding> best[4];
        for (const auto& b : bindings) {
            if (!resource_matches(b, rt, name) || (b.host != "*" && b.host != host) ||
                !op_matches(b, op)) {
                continue;
            }
            const source s = source_of(b, user);
            if (s == source::none) {
                continue;
            }
            const int c = (b.perm == acl_permission::deny ? 0 : 2) + (s == source::role ? 1 : 0);
            if (!best[c] || b < *best[c]) {
                best[c] = b;
            }
        }
        for (int c = 0; c < 4; ++c) {
            if (best[c]) {
                d.allowed = c >= 2;
                d.reason = d.allowed ? decision_reason::allowed_by_binding
                                     : decision_reason::denied_by_binding;
                d.binding = best[c];
                if (c % 2 == 1) {
                    d.via_role = best[c]->who.name;
                }
                return d;
            }
        }
        return d;
    }
};

// ---------------------------------------------------------------- generators

const std::vector<std::string> names{"a", "ab", "abc", "abd", "b", "ba", "c", ""};
const std::vector<std::string> hosts{"10.0.0.1", "10.0.0.2", "::1"};
const std::vector<std::string> users{"alice", "bob", "carol", "dave"};
const std::vector<std::string> role_names{"r1", "r2", "r3"};
const std::vector<resource_type> types{resource_type::topic, resource_type::group,
                                       resource_type::transactional_id};

template <typename T>
const T& pick(std::mt19937& rng, const std::vector<T>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
}

bool coin(std::mt19937& rng, int percent) {
    return std::uniform_int_distribution<int>(0, 99)(rng) < percent;
}

acl_operation random_op(std::mt19937& rng) {
    return static_cast<acl_operation>(
        std::uniform_int_distribution<int>(static_cast<int>(acl_operation::all),
                                           static_cast<int>(acl_operation::idempotent_write))(rng));
}

acl_binding random_binding(std::mt19937& rng) {
    acl_binding b;
    b.rtype = pick(rng, types);
    b.ptype = coin(rng, 40) ? pattern_type::prefixed : pattern_type::literal;
    b.name = coin(rng, 15) ? "*" : pick(rng, names);
    if (b.name.empty()) {
        b.name = "a";
    }
    if (coin(rng, 20)) {
        b.who = principal::any_user();
    } else if (coin(rng, 35)) {
        b.who = principal::role(pick(rng, role_names));
    } else {
        b.who = principal::user(pick(rng, users));
    }
    b.host = coin(rng, 60) ? "*" : pick(rng, hosts);
    b.op = random_op(rng);
    b.perm = coin(rng, 35) ? acl_permission::deny : acl_permission::allow;
    return b;
}

std::string dump(const reference& ref) {
    std::string s;
    for (const auto& b : ref.bindings) {
        s += "  " + to_string(b) + "\n";
    }
    for (const auto& [role, members] : ref.roles) {
        s += "  role " + role + ":";
        for (const auto& m : members) {
            s += " " + to_string(m);
        }
        s += "\n";
    }
    for (const auto& u : ref.superusers) {
        s += "  superuser " + u + "\n";
    }
    return s;
}

std::string show(const decision& d) {
    return fmt::format("{} [{}]", d.to_string(), to_string(d.reason));
}

// ---------------------------------------------------------------- the property

TEST(authorizer_property, matches_brute_force) {
    constexpr int sets = 1000;
    constexpr int queries_per_set = 40;
    int allowed = 0;
    int denied_by_binding = 0;
    int via_role = 0;
    for (int seed = 1; seed <= sets; ++seed) {
        std::mt19937 rng(static_cast<uint32_t>(seed));
        reference ref;
        const int n = std::uniform_int_distribution<int>(0, 40)(rng);
        for (int i = 0; i < n; ++i) {
            ref.bindings.push_back(random_binding(rng));
            if (coin(rng, 10)) {
                ref.bindings.push_back(ref.bindings.back());  // duplicates collapse
            }
        }
        for (const auto& r : role_names) {
            for (const auto& u : users) {
                if (coin(rng, 30)) {
                    ref.roles[r].insert(principal::user(u));
                }
            }
        }
        if (coin(rng, 20)) {
            ref.superusers.insert(pick(rng, users));
        }
        // Shuffled input must not change any answer.
        std::vector<acl_binding> shuffled = ref.bindings;
        std::shuffle(shuffled.begin(), shuffled.end(), rng);
        const std::vector<std::string> su(ref.superusers.begin(), ref.superusers.end());
        auto a = authorizer::build(shuffled, su, ref.roles);
        ASSERT_EQ(a->binding_count(),
                  std::set<acl_binding>(ref.bindings.begin(), ref.bindings.end()).size())
            << "seed " << seed;

        for (int q = 0; q < queries_per_set; ++q) {
            principal user = coin(rng, 5) ? principal::role(pick(rng, role_names))
                                          : principal::user(pick(rng, users));
            std::string host = pick(rng, hosts);
            acl_operation op = random_op(rng);
            if (coin(rng, 25)) {
                op = coin(rng, 50) ? acl_operation::describe : acl_operation::describe_configs;
            }
            resource_type rt = coin(rng, 5) ? resource_type::cluster : pick(rng, types);
            std::string name = coin(rng, 5) ? "*" : pick(rng, names);
            if (!ref.bindings.empty() && coin(rng, 50)) {
                // Aim at a stored binding, so that matches (and conflicts) are common.
                const acl_binding& b = pick(rng, ref.bindings);
                rt = b.rtype;
                if (b.name != "*") {
                    name =
                        b.ptype == pattern_type::prefixed && coin(rng, 50) ? b.name + "x" : b.name;
                }
                if (coin(rng, 50)) {
                    op = b.op == acl_operation::all ? random_op(rng) : b.op;
                }
                if (b.host != "*") {
                    host = b.host;
                }
            }
            const decision want = ref.authorize(user, host, op, rt, name);
            const decision got = a->authorize(user, host, op, rt, name);
            ASSERT_EQ(got, want) << "seed " << seed << " query " << to_string(user) << " "
                                 << to_string(op) << " " << to_string(rt) << " \"" << name
                                 << "\" from " << host << "\n got:  " << show(got)
                                 << "\n want: " << show(want) << "\n bindings:\n"
                                 << dump(ref);
            ASSERT_EQ(a->allowed(user, host, op, rt, name), want.allowed) << "seed " << seed;
            allowed += want.allowed ? 1 : 0;
            denied_by_binding += want.reason == decision_reason::denied_by_binding ? 1 : 0;
            via_role += want.via_role ? 1 : 0;
        }
    }
    // The generator must exercise every outcome, not just default deny.
    const int total = sets * queries_per_set;
    std::printf("%d queries: %d allowed, %d denied by a binding, %d decided via a role\n", total,
                allowed, denied_by_binding, via_role);
    EXPECT_GT(allowed, total / 20);
    EXPECT_GT(denied_by_binding, total / 20);
    EXPECT_GT(via_role, total / 50);
}

}  // namespace
}  // namespace fjord::security
