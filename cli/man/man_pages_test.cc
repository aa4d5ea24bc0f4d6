// File: cli/man/man_pages_test.cc
//
// man_pages (man_pages.h) on a small command tree: one page per visible
// command with its flags, positionals, inherited flags, aliases and links;
// hidden commands and options get nothing; roff special characters are
// escaped. The real tree's pages are rendered by `man` in
// scripts/test-packages (lintian) and tests/e2e/test_man_pages.py.

#include "cli/man/man_pages.h"

#include <map>

#include <gtest/gtest.h>
#include <CLI/CLI.hpp>

namespace fjord::cli {
namespace {

std::map<std::string, std::string> pages_of(const CLI::App& app) {
    std::map<std::string, std::string> out;
    for (const auto& p : man_pages(app, "fjord 9.9.9")) {
        EXPECT_FALSE(out.contains(p.file_name)) << p.file_name;
        out[p.file_name] = p.text;
    }
    return out;
}

TEST(ManPages, OnePagePerVisibleCommandWithFlagsArgumentsAndLinks) {
    CLI::App app{"fjord: the command line", "fjord"};
    std::string format, name;
    int partitions = 1;
    std::string wait;
    app.add_option("--format", format, "Output: text, json");
    // Subcommands inherit the root's footer: printed on fjord.1 only.
    app.footer("ROOT FOOTER");
    auto* topic = app.add_subcommand("topic", "Manage topics");
    auto* create = topic->add_subcommand("create", "Create topics\nSecond line.");
    create->alias("mk");
    create->add_option("name", name, "Topic name")->required();
    create->add_option("-p,--partitions", partitions, "Number of partitions");
    create->add_option("--wait", wait, "Wait until done")->expected(0, 1);
    create->add_option("--secret", name, "hidden")->group("");
    create->footer(".starts with a dot\nback\\slash");
    app.add_subcommand("__hidden", "not for users")->group("");

    const auto pages = pages_of(app);
    ASSERT_EQ(pages.size(), 3u);
    ASSERT_TRUE(pages.contains("fjord.1"));
    ASSERT_TRUE(pages.contains("fjord-topic.1"));
    ASSERT_TRUE(pages.contains("fjord-topic-create.1"));

    const std::string& root = pages.at("fjord.1");
    EXPECT_NE(root.find(".TH FJORD 1 \"\" \"fjord 9.9.9\""), std::string::npos) << root;
    EXPECT_NE(root.find(".SH NAME\nfjord \\- the command line\n"), std::string::npos) << root;
    EXPECT_NE(root.find("\\fBfjord\\-topic\\fR(1)"), std::string::npos) << root;
    EXPECT_EQ(root.find("hidden"), std::string::npos) << root;
    EXPECT_NE(root.find("ROOT FOOTER"), std::string::npos) << root;
    EXPECT_EQ(pages.at("fjord-topic.1").find("ROOT FOOTER"), std::string::npos);
    EXPECT_NE(pages.at("fjord-topic.1").find("see\n.BR fjord (1)"), std::string::npos);
    // A flag takes no value.
    EXPECT_NE(root.find("\\fB\\-h\\fR, \\fB\\-\\-help\\fR\n"), std::string::npos) << root;

    const std::string& c = pages.at("fjord-topic-create.1");
    EXPECT_NE(c.find(".TH FJORD\\-TOPIC\\-CREATE 1"), std::string::npos) << c;
    EXPECT_NE(c.find(".SH NAME\nfjord\\-topic\\-create \\- Create topics\n"), std::string::npos)
        << c;
    EXPECT_NE(c.find(".B fjord topic create\n[\\fIflags\\fR] \\fIname\\fR\n"), std::string::npos)
        << c;
    EXPECT_NE(c.find("\\fB\\-p\\fR, \\fB\\-\\-partitions\\fR \\fIINT\\fR\nNumber of partitions"),
              std::string::npos)
        << c;
    EXPECT_NE(c.find("\\fB\\-\\-wait\\fR[=\\fITEXT\\fR]"), std::string::npos) << c;
    EXPECT_NE(c.find("Also called: mk."), std::string::npos) << c;
    // Inherited from the root, listed apart.
    EXPECT_NE(c.find(".SH GLOBAL OPTIONS\n.TP\n\\fB\\-\\-format\\fR"), std::string::npos) << c;
    EXPECT_EQ(c.find("secret"), std::string::npos) << c;
    // A footer line starting with '.' is not a request; a backslash is text.
    EXPECT_NE(c.find(".nf\n\\&.starts with a dot\nback\\eslash\n.fi\n"), std::string::npos) << c;
    EXPECT_NE(c.find(".SH SEE ALSO\n.BR fjord\\-topic (1)\n"), std::string::npos) << c;
}

TEST(ManPages, RoffEscape) {
    EXPECT_EQ(roff_escape("a-b"), "a\\-b");
    EXPECT_EQ(roff_escape("a\\b"), "a\\eb");
    EXPECT_EQ(roff_escape(".x\n'y\nz.w"), "\\&.x\n\\&'y\nz.w");
}

}  // namespace
}  // namespace fjord::cli
