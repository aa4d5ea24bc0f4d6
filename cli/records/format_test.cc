// File: cli/records/format_test.cc
//
// The record format language: parsing (escapes, %%, unsupported fields),
// rendering a record, and splitting produce input into records.

#include "cli/records/format.h"

#include <gtest/gtest.h>

namespace fjord::cli::records {
namespace {

std::vector<token> must_parse(const std::string& raw, const std::string& allowed = "tkvp") {
    auto f = parse_format(raw, allowed, "-f");
    EXPECT_TRUE(f.has_value()) << (f ? "" : f.error().detail);
    return f ? *f : std::vector<token>{};
}

TEST(record_format, parses_fields_literals_and_escapes) {
    const auto f = must_parse("%k=%v\\n100%%", "kv");
    ASSERT_EQ(f.size(), 4u);
    EXPECT_EQ(f[0].field, 'k');
    EXPECT_EQ(f[1].text, "=");
    EXPECT_EQ(f[2].field, 'v');
    EXPECT_EQ(f[3].field, 0);
    EXPECT_EQ(f[3].text, "\n100%");
}

TEST(record_format, refuses_unsupported_fields_and_a_lone_percent) {
    auto bad = parse_format("%o", "tkvp", "-f/--format");
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().detail, "-f/--format: %o is not supported here (supported: %t %k %v %p)");
    auto lone = parse_format("%v%", "v", "-f");
    ASSERT_FALSE(lone.has_value());
    EXPECT_EQ(lone.error().detail, "-f: a lone % at the end of \"%v%\"");
}

TEST(record_format, renders_every_field) {
    record_view r;
    r.topic = "orders";
    r.key = "k1";
    r.value = "hello";
    r.partition = 2;
    r.offset = 41;
    r.timestamp = 1700;
    r.headers = {{"a", "1"}, {"b", "2"}};
    EXPECT_EQ(render(must_parse("%t(%T) %k(%K) %v(%V) %p %o %d %H %h\\n", "tTkKvVpodHh"), r),
              "orders(6) k1(2) hello(5) 2 41 1700 2 a:1,b:2\n");
    record_view null_value;
    EXPECT_EQ(render(must_parse("[%k][%v] %V", "kvV"), null_value), "[][] 0");
}

TEST(record_splitter, splits_lines_as_they_arrive) {
    record_splitter s(must_parse("%k %v\\n"));
    s.feed("a 1\nb ");
    auto first = s.next();
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ((*first)['k'], "a");
    EXPECT_EQ((*first)['v'], "1");
    EXPECT_FALSE(s.next().has_value()) << "b's value has not arrived";
    s.feed("2\n");
    auto second = s.next();
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ((*second)['v'], "2");
}

TEST(record_splitter, the_last_record_may_lack_its_delimiter) {
    record_splitter s(must_parse("%v\\n"));
    s.feed("x\ny");
    EXPECT_EQ((*s.next())['v'], "x");
    EXPECT_FALSE(s.next().has_value());
    s.end_input();
    auto last = s.last();
    ASSERT_TRUE(last.has_value());
    EXPECT_EQ((*last)['v'], "y");
    EXPECT_FALSE(s.last().has_value());
}

TEST(record_splitter, a_trailing_field_takes_the_rest_at_the_end) {
    record_splitter s(must_parse("%k:%v"));
    s.feed("key:multi\nline");
    EXPECT_FALSE(s.next().has_value()) << "more may come";
    s.end_input();
    auto r = s.next();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ((*r)['v'], "multi\nline");
}

TEST(record_splitter, skips_text_that_does_not_match) {
    record_splitter s(must_parse("<%v>"));
    s.feed("x<ok>");
    EXPECT_FALSE(s.next().has_value()) << "'x' skipped";
    auto r = s.next();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ((*r)['v'], "ok");
}

}  // namespace
}  // namespace fjord::cli::records
