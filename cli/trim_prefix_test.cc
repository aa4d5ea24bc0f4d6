// File: cli/trim_prefix_test.cc
//
// `fjord topic trim-prefix`'s flags (cli/commands/trim_prefix.h): the -o
// values rpk takes, the rules between TOPIC, -o, -p and -f, and the
// --from-file formats (lines, JSON, YAML), every error naming the flag or
// the file and line; and the command's flags as registered (CLI11).

#include "cli/commands/trim_prefix.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include "cli/commands/commands.h"
#include "cli/context.h"

namespace fjord::cli {
namespace {

using kind = trim_offset::kind;

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST(trim_prefix, offsets) {
    EXPECT_EQ(*parse_trim_offset("end"), (trim_offset{kind::end, -1}));
    EXPECT_EQ(*parse_trim_offset("0"), (trim_offset{kind::exact, 0}));
    EXPECT_EQ(*parse_trim_offset("47"), (trim_offset{kind::exact, 47}));
    EXPECT_EQ(*parse_trim_offset("@1622505600000"), (trim_offset{kind::timestamp, 1622505600000}));
    for (const char* bad :
         {"", "-1", "+3", "start", "1.5", "12x", "@", "@-5", "@x", " 3", "99999999999999999999"}) {
        auto r = parse_trim_offset(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_TRUE(r.error().detail.starts_with("-o/--offset: \"")) << r.error().detail;
        EXPECT_TRUE(has(r.error().detail, "end, an offset >= 0, or @")) << r.error().detail;
    }
}

TEST(trim_prefix, flag_rules_name_the_flags) {
    trim_options o;
    auto r = check_trim_options(o);
    ASSERT_FALSE(r);
    EXPECT_TRUE(has(r.error().detail, "TOPIC (with -o/--offset) or -f/--from-file is required"));

    o.topic = "t";
    r = check_trim_options(o);
    ASSERT_FALSE(r);
    EXPECT_TRUE(has(r.error().detail, "-o/--offset is required")) << r.error().detail;

    o.offset = "10";
    r = check_trim_options(o);
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(**r, (trim_offset{kind::exact, 10}));

    o.offset = "ten";
    r = check_trim_options(o);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().detail.starts_with("-o/--offset: \"ten\"")) << r.error().detail;

    o.offset = "end";
    o.partitions = {0, 2, 0};
    r = check_trim_options(o);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().detail, "-p/--partitions: 0 is listed twice");
    o.partitions = {1, -1};
    r = check_trim_options(o);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().detail, "-p/--partitions: -1 is not a partition number");
    o.partitions = {1, 2};
    EXPECT_TRUE(check_trim_options(o));

    o.from_file = "plan.txt";
    r = check_trim_options(o);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().detail, "TOPIC and -f/--from-file cannot be used together");
    o.topic.clear();
    r = check_trim_options(o);
    ASSERT_FALSE(r);
    EXPECT_TRUE(has(r.error().detail, "-o/--offset cannot be used with -f/--from-file"));
    o.offset.clear();
    r = check_trim_options(o);
    ASSERT_FALSE(r);
    EXPECT_TRUE(has(r.error().detail, "-p/--partitions cannot be used with -f/--from-file"));
    o.partitions.clear();
    r = check_trim_options(o);
    ASSERT_TRUE(r);
    EXPECT_FALSE(*r) << "the file has the offsets";
}

TEST(trim_prefix, file_of_lines) {
    auto r = parse_trim_file(
        "# topic partition offset\n"
        "orders 0 120\n"
        "\n"
        "  orders\t1   end  \n"
        "events 3 @1622505600000\n",
        "plan.txt");
    ASSERT_TRUE(r) << r.error().detail;
    const std::vector<trim_target> want = {
        {"orders", 0, {kind::exact, 120}},
        {"orders", 1, {kind::end, -1}},
        {"events", 3, {kind::timestamp, 1622505600000}},
    };
    EXPECT_EQ(*r, want);
    // No final newline is fine.
    r = parse_trim_file("orders 0 5", "p");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->size(), 1u);
}

TEST(trim_prefix, file_errors_name_the_file_and_line) {
    const std::pair<const char*, const char*> cases[] = {
        {"orders 0 120\norders 1\n", "plan.txt:2: \"orders 1\": want TOPIC PARTITION OFFSET"},
        {"orders x 1\n", "plan.txt:1: partition \"x\" is not a partition number"},
        {"orders -1 1\n", "plan.txt:1: partition \"-1\" is not a partition number"},
        {"\n\norders 0 soon\n", "plan.txt:3: \"soon\" is not an offset"},
        {"orders 0 1\norders 0 2\n", "plan.txt: orders partition 0 is listed twice"},
        {"# nothing\n\n", "plan.txt: no partitions to trim"},
        {"{\"orders\": {\"0\": 1}", "plan.txt: not JSON or YAML"},
        {"{\"orders\": [1, 2]}", "plan.txt: orders: want a mapping of partitions to offsets"},
        {"{\"orders\": {\"p\": 1}}", "plan.txt: orders: partition \"p\" is not a partition number"},
        {"{\"orders\": {\"0\": \"-3\"}}", "plan.txt: orders: partition 0: \"-3\" is not an offset"},
    };
    for (const auto& [text, want] : cases) {
        auto r = parse_trim_file(text, "plan.txt");
        ASSERT_FALSE(r) << text;
        EXPECT_TRUE(has(r.error().detail, want)) << text << "\n -> " << r.error().detail;
    }
}

TEST(trim_prefix, file_as_json_or_yaml) {
    auto r =
        parse_trim_file(R"({"orders": {"0": "120", "1": 7}, "events": {"2": "end"}})", "plan.json");
    ASSERT_TRUE(r) << r.error().detail;
    std::vector<trim_target> want = {
        {"orders", 0, {kind::exact, 120}},
        {"orders", 1, {kind::exact, 7}},
        {"events", 2, {kind::end, -1}},
    };
    EXPECT_EQ(*r, want);
    r = parse_trim_file("orders:\n  0: 120\n  1: 7\nevents:\n  2: end\n", "plan.yaml");
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(*r, want);
}

TEST(trim_prefix, registered_flags_and_alias) {
    cli_context ctx;
    CLI::App root;
    auto* topic = root.add_subcommand("topic");
    register_trim_command(*topic, ctx);
    CLI::App* trim = topic->get_subcommand("trim-prefix");
    ASSERT_NE(trim, nullptr);
    EXPECT_EQ(trim->get_aliases(), std::vector<std::string>{"trim"});
    for (const char* flag :
         {"-o", "--offset", "-p", "--partitions", "-f", "--from-file", "--no-confirm"}) {
        EXPECT_NO_THROW(trim->get_option(flag)) << flag;
    }
    // -p takes a comma-separated list, as rpk's int32Slice.
    trim->callback(nullptr);
    std::vector<std::string> args = {"0,1,2", "-p", "end", "-o", "t", "trim", "topic"};  // reversed
    root.parse(args);
    EXPECT_EQ(trim->get_option("-p")->as<std::vector<int32_t>>(), (std::vector<int32_t>{0, 1, 2}));
    EXPECT_EQ(trim->get_option("-o")->as<std::string>(), "end");
}

}  // namespace
}  // namespace fjord::cli
