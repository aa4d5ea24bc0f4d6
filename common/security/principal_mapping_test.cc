// File: common/security/principal_mapping_test.cc
//
// Kafka's principal mapping rules: the examples of its documentation, the
// escapes, the order of rules, and every parse error naming where it is.

#include "common/security/principal_mapping.h"

#include <gtest/gtest.h>

namespace fjord::security {
namespace {

std::string map_or_error(const principal_mapper& m, std::string_view dn) {
    auto r = m.map(dn);
    return r ? *r : "error: " + r.error().detail;
}

TEST(principal_mapping, kafkas_documented_rules) {
    auto m = principal_mapper::parse(
        "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,"
        "RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,"
        "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L,"
        "DEFAULT");
    ASSERT_TRUE(m) << m.error().detail;
    EXPECT_EQ(map_or_error(*m, "CN=kafka-monitor,OU=ServiceUsers,O=Example,L=X,ST=Y,C=Z"),
              "kafka-monitor");
    EXPECT_EQ(map_or_error(*m, "CN=Duke,OU=JavaSoft,O=Sun Microsystems,L=X,ST=Y,C=US"),
              "duke@javasoft");
    EXPECT_EQ(map_or_error(*m, "OU=Ops,cN=Adam.Smith,O=Example"), "adam.smith");
    EXPECT_EQ(map_or_error(*m, "O=Example,OU=nothing-else"), "O=Example,OU=nothing-else");
    EXPECT_EQ(m->describe().size(), 4u);
}

TEST(principal_mapping, first_rule_that_applies_decides_and_none_is_an_error) {
    auto m = principal_mapper::parse("RULE:^CN=([^,]+)$/$1/U , RULE:^CN=([^,]+),.*$/$1/");
    ASSERT_TRUE(m) << m.error().detail;
    EXPECT_EQ(map_or_error(*m, "CN=alice"), "ALICE");
    EXPECT_EQ(map_or_error(*m, "CN=bob,O=x"), "bob");
    // The pattern must match the whole DN; no rule, no identity.
    EXPECT_EQ(map_or_error(*m, "O=x,CN=carol"), "error: dn: no rule applies to \"O=x,CN=carol\"");
    auto empty = principal_mapper::parse("RULE:^CN=([^,]*)$/$1/");
    ASSERT_TRUE(empty);
    EXPECT_EQ(map_or_error(*empty, "CN="),
              "error: dn: the rule for \"^CN=([^,]*)$\" maps \"CN=\" to an empty name");
}

TEST(principal_mapping, escaped_slashes_and_the_default_when_empty) {
    // An unescaped '/' ends the pattern, also inside brackets (as Kafka).
    auto m = principal_mapper::parse("RULE:^CN=([^\\/]+)\\/(.+)$/$2\\/$1/");
    ASSERT_TRUE(m) << m.error().detail;
    EXPECT_EQ(map_or_error(*m, "CN=a/b"), "b/a");
    auto d = principal_mapper::parse("  ");
    ASSERT_TRUE(d);
    EXPECT_EQ(map_or_error(*d, "CN=x,O=y"), "CN=x,O=y");
    EXPECT_EQ(d->describe(), std::vector<std::string>{"DEFAULT"});
}

TEST(principal_mapping, parse_errors_name_the_setting_and_the_place) {
    for (const auto& [rules, why] : std::vector<std::pair<std::string, std::string>>{
             {"RULE:^CN=(.*)$", "at character 6: the pattern has no closing '/'"},
             {"RULE:^CN=(.*)$/$1", "at character 16: the replacement has no closing '/'"},
             {"RULE://x/", "at character 1: the pattern is empty"},
             {"RULE:([/x/", "at character 1: the pattern \"([\" is not a valid regex"},
             {"DEFAULT RULE:a/b/", "at character 9: expected ',' between rules"},
             {"DEFAULT,", "at character 8: a ',' with no rule after it"},
             {"default", "at character 1: expected DEFAULT or RULE:"},
             {"RULE:a/b/X", "at character 10: expected ',' between rules"},
         }) {
        auto m = principal_mapper::parse(rules);
        ASSERT_FALSE(m) << rules;
        EXPECT_EQ(m.error().field, "principal_mapping_rules");
        EXPECT_NE(m.error().detail.find(why), std::string::npos)
            << rules << " -> " << m.error().detail;
    }
}

}  // namespace
}  // namespace fjord::security
