// File: common/yaml_config_test.cc
//
// yaml_checker on its own: key checks, typed reads and their messages, the
// report's order and cap; check_yaml_document, read_config_file and
// prefix_lines. The daemons' config tests cover the same paths through
// their own keys.

#include "common/yaml_config.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace fjord {
namespace {

constexpr std::string_view keys[] = {"port", "name", "level", "big", "addr"};

// Checks `yaml` with `keys` at the top level and runs `read` on the fields.
template <typename F>
std::string check(std::string_view yaml, F read) {
    yaml_checker p;
    auto r = check_yaml_document(yaml, [&](const YAML::Node& root) {
        if (const auto fs = p.fields(root, "", line_of(root), keys)) {
            read(p, *fs);
        }
    });
    if (!r) {
        return r.error().detail;
    }
    return p.failed() ? p.report() : "<ok>";
}

TEST(yaml_checker, unknown_and_duplicate_keys) {
    const auto nothing = [](yaml_checker&, const std::vector<yaml_field>&) {};
    EXPECT_EQ(check("prot: 1\ncolour: x\nport: 1\nport: 2\n", nothing),
              "prot: unknown key, did you mean port? (line 1)\n"
              "colour: unknown key (line 2)\n"
              "port: duplicate key, first set on line 3 (line 4)");
    EXPECT_EQ(check("[1]\n", nothing), "top level: expected a mapping, got a sequence (line 1)");
}

TEST(yaml_checker, typed_reads) {
    uint16_t port = 7;
    uint32_t big = 0;
    std::string name;
    log_level level = log_level::info;
    host_port addr;
    const auto read = [&](yaml_checker& p, const std::vector<yaml_field>& fs) {
        p.read_uint<uint16_t>(fs, "", "port", true, 0, 1, 100, port);
        p.read_uint<uint32_t>(fs, "", "big", false, 0, 10, std::numeric_limits<uint32_t>::max(),
                              big);
        if (auto n = p.read_string(fs, "", "name", false, 0, false)) {
            name = *n;
        }
        p.read_log_level(fs, "", "level", false, 0, level);
        p.read_address(fs, "", "addr", false, 0, addr);
    };
    EXPECT_EQ(check("port: 80\nbig: '99'\nname: n\nlevel: debug\naddr: \"[::1]:5\"\n", read),
              "<ok>");
    EXPECT_EQ(port, 80);
    EXPECT_EQ(big, 99u);
    EXPECT_EQ(name, "n");
    EXPECT_EQ(level, log_level::debug);
    EXPECT_EQ(addr, (host_port{"::1", 5}));

    port = 7;
    EXPECT_EQ(check("port: 101\nbig: 4294967296\nname: \"\"\nlevel: loud\naddr: x\n", read),
              "port: must be between 1 and 100, got 101 (line 1)\n"
              "big: must be at most 4294967295, got 4294967296 (line 2)\n"
              "name: must not be empty (line 3)\n"
              "level: expected one of trace, debug, info, warn, error, off, got \"loud\" "
              "(line 4)\n"
              "addr: \"x\" is not host:port: missing \":port\" (line 5)");
    EXPECT_EQ(port, 7) << "a rejected value leaves the output alone";
    EXPECT_EQ(check("big: 9\n", read),
              "big: must be at least 10, got 9 (line 1)\n"
              "port: required key is missing");
    EXPECT_EQ(check("port: 0x10\n", read),
              "port: expected an unsigned integer, got \"0x10\" (line 1)");
}

TEST(yaml_checker, report_is_by_line_and_capped) {
    yaml_checker p;
    EXPECT_FALSE(p.failed());
    p.error("b", "second", 2);
    p.error("", "no line", 0);
    p.error("a", "first", 1);
    EXPECT_EQ(p.report(), "a: first (line 1)\nb: second (line 2)\nno line");
    EXPECT_EQ(p.failure().code, std::errc::invalid_argument);
    p.note_line("list[0]", 9);
    EXPECT_EQ(p.line("list[0]"), 9);
    EXPECT_EQ(p.line("list[1]"), 0);

    yaml_checker many;
    for (int i = 1; i <= 25; ++i) {
        many.error("k", "bad", i);
    }
    const std::string r = many.report();
    EXPECT_TRUE(r.ends_with("k: bad (line 20)\n... and 5 more")) << r;
}

TEST(yaml_checker, documents) {
    const auto nothing = [](const YAML::Node&) {};
    EXPECT_TRUE(check_yaml_document("", nothing));
    EXPECT_EQ(check_yaml_document("a: 1\n---\nb: 2\n", nothing).error().detail,
              "expected one YAML document, found 2");
    EXPECT_EQ(check_yaml_document("a: [1\n", nothing).error().detail,
              "YAML syntax error: end of sequence flow not found (line 2, column 1)");
    // An exception from yaml-cpp inside the check is an error, not a throw.
    const auto throws = [](const YAML::Node& root) { (void)root["a"].as<std::vector<int>>(); };
    EXPECT_EQ(check_yaml_document("a: 1\n", throws).code(), std::errc::invalid_argument);
}

TEST(yaml_checker, files_and_prefixes) {
    char tmpl[] = "/tmp/fjord_yaml_config_test_XXXXXX";
    const int fd = ::mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    ::close(fd);
    const std::string path = tmpl;
    std::ofstream(path) << "a: 1\n";
    auto t = read_config_file(path);
    ASSERT_TRUE(t) << t.error().message();
    EXPECT_EQ(*t, "a: 1\n");
    std::remove(path.c_str());

    auto m = read_config_file(path);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.code(), std::errc::no_such_file_or_directory);
    EXPECT_EQ(m.error().detail, path + ": cannot open: No such file or directory");

    const error_info e = prefix_lines(
        "f.yaml", error_info(std::make_error_code(std::errc::invalid_argument), "x\ny"));
    EXPECT_EQ(e.code, std::errc::invalid_argument);
    EXPECT_EQ(e.detail, "f.yaml: x\nf.yaml: y");
}

}  // namespace
}  // namespace fjord
