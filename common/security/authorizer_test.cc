// File: common/security/authorizer_test.cc
//
// Datadriven tests of the authorizer's decisions (authorizer.h). Every file in
// testdata/authorizer/ is one scenario run as its own GoogleTest case, from
// the source directory common/security.
//
// If this test fails, run with REWRITE=1 and inspect the diff. Only commit the
// changes if you understand what caused them and they are desired.
//
// The environment is the state a snapshot is built from (bindings,
// superusers, role memberships); `check` builds a fresh snapshot whenever that
// state changed since the last one, exactly as a broker would after a change.
//
// Commands:
//   acls                      add the bindings on the input lines, one per line,
//                             in the form decisions print them:
//                               ALLOW|DENY <principal> <host> <type> <pattern>:<name> <op>
//                             prints each refused line with validate()'s error,
//                             then the snapshot's distinct binding count
//   superusers (a,b,...)      the superusers (user names); () for none
//   role <name> members=(User:a,...)   the role's members (replaces them)
//   reset                     no bindings, superusers or roles
//   check                     one query per input line:
//                               <principal> <op> <type> <name> [<host>]
//                             host defaults to 10.0.0.1; prints each query and
//                             the decision's explanation

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/security/acl.h"
#include "common/security/authorizer.h"
#include "tests/support/datadriven.h"

namespace fjord::security {
namespace {

using datadriven::test_command;

std::vector<std::string> words(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> out;
    for (std::string w; in >> w;) {
        out.push_back(w);
    }
    return out;
}

template <typename T>
T must(const test_command& c, result<T> r) {
    if (!r) {
        c.fail(r.error().message());
    }
    return std::move(r).value();
}

class authorizer_env {
  public:
    std::string handle(const test_command& c) {
        if (c.name == "acls") {
            return acls(c);
        }
        if (c.name == "superusers") {
            c.expect_keys({});
            _superusers = c.positional_count() == 0 ? std::vector<std::string>{} : c.pos_list(0);
            _snapshot.reset();
            return "ok";
        }
        if (c.name == "role") {
            c.expect_keys({"members"});
            std::set<principal> members;
            for (const auto& m : c.get_list("members")) {
                members.insert(must(c, parse_principal(m)));
            }
            _roles[c.pos_string(0)] = members;
            _snapshot.reset();
            return "ok";
        }
        if (c.name == "reset") {
            _bindings.clear();
            _superusers.clear();
            _roles.clear();
            _snapshot.reset();
            return "ok";
        }
        if (c.name == "check") {
            return check(c);
        }
        c.fail("unknown command");
    }

  private:
    const authorizer& snapshot() {
        if (!_snapshot) {
            _snapshot = authorizer::build(_bindings, _superusers, _roles);
        }
        return *_snapshot;
    }

    /// One binding in the form decisions print it (see the file comment).
    static result<acl_binding> parse_binding(const std::string& line) {
        const auto w = words(line);
        if (w.size() != 6) {
            return error_info(std::make_error_code(std::errc::invalid_argument), "want 6 words");
        }
        const auto colon = w[4].find(':');
        if (colon == std::string::npos) {
            return error_info(std::make_error_code(std::errc::invalid_argument),
                              "want <pattern>:<name>");
        }
        auto perm = parse_permission(w[0]);
        auto who = parse_principal(w[1]);
        auto rt = parse_resource_type(w[3]);
        auto pt = parse_pattern_type(w[4].substr(0, colon));
        auto op = parse_operation(w[5]);
        for (const error_info* e :
             {perm ? nullptr : &perm.error(), who ? nullptr : &who.error(),
              rt ? nullptr : &rt.error(), pt ? nullptr : &pt.error(), op ? nullptr : &op.error()}) {
            if (e != nullptr) {
                return *e;
            }
        }
        return acl_binding{.rtype = *rt,
                           .name = w[4].substr(colon + 1),
                           .ptype = *pt,
                           .who = *who,
                           .host = w[2],
                           .op = *op,
                           .perm = *perm};
    }

    std::string acls(const test_command& c) {
        std::string out;
        for (const auto& line : c.input) {
            auto b = parse_binding(line);
            if (!b) {
                out += fmt::format("refused {}: {}\n", line, b.error().detail);
                continue;
            }
            if (auto r = validate(*b); !r) {
                out += fmt::format("refused {}: {}\n", line, r.error().detail);
                continue;
            }
            _bindings.push_back(*b);
        }
        _snapshot.reset();
        out += fmt::format("{} bindings", snapshot().binding_count());
        return out;
    }

    std::string check(const test_command& c) {
        const authorizer& a = snapshot();
        std::string out;
        for (const auto& line : c.input) {
            const auto w = words(line);
            if (w.size() != 4 && w.size() != 5) {
                c.fail(fmt::format("want <principal> <op> <type> <name> [<host>], got {:?}", line));
            }
            const principal who = must(c, parse_principal(w[0]));
            const acl_operation op = must(c, parse_operation(w[1]));
            const resource_type rt = must(c, parse_resource_type(w[2]));
            const std::string host = w.size() == 5 ? w[4] : "10.0.0.1";
            const decision d = a.authorize(who, host, op, rt, w[3]);
            if (a.allowed(who, host, op, rt, w[3]) != d.allowed) {
                c.fail(fmt::format("allowed() disagrees with authorize() on {:?}", line));
            }
            out += fmt::format("{} {} {} {} from {}: {}\n", to_string(who), to_string(op),
                               to_string(rt), w[3], host, d.to_string());
        }
        return out;
    }

    std::vector<acl_binding> _bindings;
    std::vector<std::string> _superusers;
    role_memberships _roles;
    std::shared_ptr<const authorizer> _snapshot;
};

// ---------------------------------------------------------------- the test

std::vector<std::string> testdata_files() {
    return datadriven::list_files("testdata/authorizer", ".txt");
}

class authorizer_datadriven : public ::testing::TestWithParam<std::string> {};

TEST_P(authorizer_datadriven, run) {
    authorizer_env env;
    datadriven::run_datadriven_file(GetParam(),
                                    [&](const test_command& c) { return env.handle(c); });
}

/// "testdata/authorizer/deny.txt" -> "deny" (GoogleTest names are [A-Za-z0-9_]).
std::string case_name(const ::testing::TestParamInfo<std::string>& p) {
    std::string name = p.param.substr(p.param.find_last_of('/') + 1);
    name = name.substr(0, name.size() - 4);  // ".txt"
    for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) {
            ch = '_';
        }
    }
    return name;
}

INSTANTIATE_TEST_SUITE_P(testdata, authorizer_datadriven, ::testing::ValuesIn(testdata_files()),
                         case_name);

TEST(authorizer_datadriven_files, found) {
    // Guards against running from the wrong directory, which would otherwise
    // pass by running nothing.
    EXPECT_FALSE(testdata_files().empty())
        << "no testdata/authorizer/*.txt: run from common/security";
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(authorizer_datadriven);

// ---------------------------------------------------------------- API facts

TEST(authorizer, empty_snapshot_denies_everyone_but_superusers) {
    const std::vector<std::string> su{"root"};
    auto a = authorizer::build({}, su);
    EXPECT_EQ(a->binding_count(), 0U);
    EXPECT_FALSE(a->allowed(principal::user("alice"), "10.0.0.1", acl_operation::read,
                            resource_type::topic, "t"));
    const decision d = a->authorize(principal::user("root"), "10.0.0.1", acl_operation::alter,
                                    resource_type::cluster, "kafka-cluster");
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.reason, decision_reason::superuser);
    EXPECT_FALSE(d.binding);
    EXPECT_TRUE(a->is_superuser("root"));
    EXPECT_FALSE(a->is_superuser("alice"));
}

TEST(authorizer, duplicates_collapse_and_unbindable_bindings_are_ignored) {
    acl_binding b{.rtype = resource_type::topic,
                  .name = "t",
                  .ptype = pattern_type::literal,
                  .who = principal::user("alice"),
                  .host = "*",
                  .op = acl_operation::read,
                  .perm = acl_permission::allow};
    acl_binding filter_only = b;
    filter_only.op = acl_operation::any;
    const std::vector<acl_binding> in{b, b, filter_only};
    auto a = authorizer::build(in);
    EXPECT_EQ(a->binding_count(), 1U);
    const decision d = a->authorize(principal::user("alice"), "10.0.0.1", acl_operation::read,
                                    resource_type::topic, "t");
    ASSERT_TRUE(d.binding);
    EXPECT_EQ(*d.binding, b);
    EXPECT_FALSE(d.via_role);
}

TEST(authorizer, builder_equals_build) {
    authorizer_builder bld;
    bld.add(acl_binding{.rtype = resource_type::group,
                        .name = "g",
                        .ptype = pattern_type::prefixed,
                        .who = principal::role("ops"),
                        .host = "*",
                        .op = acl_operation::read,
                        .perm = acl_permission::allow});
    bld.add_role_member("ops", principal::user("bob"));
    bld.add_role_member("ops", principal::role("nested"));  // ignored: roles do not nest
    auto a = std::move(bld).build();
    const decision d = a->authorize(principal::user("bob"), "10.0.0.1", acl_operation::describe,
                                    resource_type::group, "g1");
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.via_role, "ops");
    EXPECT_EQ(d.to_string(), "allowed by ALLOW Role:ops * group prefixed:g read (via role ops)");
}

}  // namespace
}  // namespace fjord::security
