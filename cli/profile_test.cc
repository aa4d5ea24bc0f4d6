// File: cli/profile_test.cc
//
// The profile file contract (cli/profile.h): location rules, strict loading
// with every problem named by file, key path and line, atomic round-trip
// saves with mode 0600, and locked read-modify-write.

#include "cli/profile.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace fjord::cli {
namespace {

namespace fs = std::filesystem;

class profile_file_test : public ::testing::Test {
  protected:
    void SetUp() override {
        _dir = fs::temp_directory_path() /
               ("fjord-profile-test-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(_dir);
        fs::create_directories(_dir);
    }
    void TearDown() override { fs::remove_all(_dir); }

    std::string write(const std::string& text) {
        const std::string path = (_dir / "fjord.yaml").string();
        std::ofstream(path) << text;
        return path;
    }

    fs::path _dir;
};

TEST(profile_path, precedence) {
    EXPECT_EQ(*profile_file_path("/flag.yaml", {{"FJORD_CONFIG", "/env.yaml"}}), "/flag.yaml");
    EXPECT_EQ(*profile_file_path("", {{"FJORD_CONFIG", "/env.yaml"}, {"HOME", "/h"}}), "/env.yaml");
    EXPECT_EQ(*profile_file_path("", {{"XDG_CONFIG_HOME", "/x"}, {"HOME", "/h"}}),
              "/x/fjord/fjord.yaml");
    // A relative XDG_CONFIG_HOME is invalid per the XDG spec: ignored.
    EXPECT_EQ(*profile_file_path("", {{"XDG_CONFIG_HOME", "rel"}, {"HOME", "/h"}}),
              "/h/.config/fjord/fjord.yaml");
    EXPECT_FALSE(profile_file_path("", {}));
}

TEST(profile_name, rules) {
    for (const char* good : {"dev", "a", "prod-eu.1", "A_b"}) {
        EXPECT_TRUE(validate_profile_name(good)) << good;
    }
    for (const char* bad : {"", "-x", ".x", "_x", "a b", "a/b", "é"}) {
        EXPECT_FALSE(validate_profile_name(bad)) << bad;
    }
    EXPECT_FALSE(validate_profile_name(std::string(65, 'a')));
}

TEST_F(profile_file_test, missing_file_is_empty) {
    auto f = load_profile_file((_dir / "nope.yaml").string());
    ASSERT_TRUE(f) << f.error().detail;
    EXPECT_FALSE(f->exists);
    EXPECT_TRUE(f->profiles.empty());
    EXPECT_EQ(f->names(), "(none)");
}

TEST_F(profile_file_test, empty_file_is_empty) {
    auto f = load_profile_file(write(""));
    ASSERT_TRUE(f) << f.error().detail;
    EXPECT_TRUE(f->exists);
    EXPECT_TRUE(f->profiles.empty());
}

TEST_F(profile_file_test, loads_a_valid_file) {
    auto f = load_profile_file(write(R"(version: 1
current_profile: b
profiles:
  - name: a
    description: first
    settings:
      controllers: [h1:1, h2:2]
      GLOBALS.retry_timeout: 5s
  - name: b
    settings:
      controllers: "h3:3"
      tls.enabled: true
)"));
    ASSERT_TRUE(f) << f.error().detail;
    EXPECT_EQ(f->current, "b");
    ASSERT_EQ(f->profiles.size(), 2u);
    const profile* a = f->find("a");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->description, "first");
    EXPECT_EQ(a->values.at("controllers"), "h1:1,h2:2");
    EXPECT_EQ(a->values.at("globals.retry_timeout"), "5s");  // canonical key
    EXPECT_EQ(f->find("b")->values.at("tls.enabled"), "true");
    EXPECT_EQ(f->names(), "a, b");
}

TEST_F(profile_file_test, reports_every_problem_with_file_key_and_line) {
    const std::string path = write(R"(version: 1
colour: blue
profiles:
  - name: a
    settings:
      controlers: h:1
      globals.command_timeout: soon
      brokers: nohostport
  - name: a
    wat: 1
  - settings: {}
  - name: "bad name"
)");
    auto f = load_profile_file(path);
    ASSERT_FALSE(f);
    const std::string& d = f.error().detail;
    EXPECT_NE(d.find(path + ": colour: unknown key (expected version, current_profile, profiles) "
                            "(line 2)"),
              std::string::npos)
        << d;
    EXPECT_NE(d.find(path + ": profiles[a].settings.controlers: unknown key \"controlers\" (did "
                            "you mean controllers? see -X list) (line 6)"),
              std::string::npos)
        << d;
    EXPECT_NE(d.find("profiles[a].settings.globals.command_timeout: \"soon\" is not a duration"),
              std::string::npos)
        << d;
    EXPECT_NE(d.find("(line 7)"), std::string::npos);
    EXPECT_NE(d.find("profiles[a].settings.brokers: \"nohostport\" is not host:port (line 8)"),
              std::string::npos)
        << d;
    EXPECT_NE(d.find("profiles[a]: a second profile with this name (line 9)"), std::string::npos)
        << d;
    EXPECT_NE(d.find("profiles[a].wat: unknown key"), std::string::npos) << d;
    EXPECT_NE(d.find("profiles[2].name: required"), std::string::npos) << d;
    EXPECT_NE(d.find("profiles[3].name: \"bad name\" is not a profile name"), std::string::npos)
        << d;
    // One problem a line, in line order.
    EXPECT_LT(d.find("(line 2)"), d.find("(line 6)"));
    EXPECT_EQ(std::count(d.begin(), d.end(), '\n'), 7);  // 8 problems
}

TEST_F(profile_file_test, current_profile_must_exist) {
    auto f = load_profile_file(write("current_profile: ghost\nprofiles:\n  - name: a\n"));
    ASSERT_FALSE(f);
    EXPECT_NE(f.error().detail.find("current_profile: names no profile (profiles: a) (line 1)"),
              std::string::npos)
        << f.error().detail;
}

TEST_F(profile_file_test, rejects_bad_yaml_version_and_types) {
    auto y = load_profile_file(write("profiles: [\n"));
    ASSERT_FALSE(y);
    EXPECT_NE(y.error().detail.find("not valid YAML"), std::string::npos) << y.error().detail;

    auto v = load_profile_file(write("version: 2\n"));
    ASSERT_FALSE(v);
    EXPECT_NE(v.error().detail.find("version: unsupported version"), std::string::npos);

    auto t = load_profile_file(write("- a\n- b\n"));
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().detail.find("expected a map"), std::string::npos);

    auto n = load_profile_file(write("profiles:\n  - name: a\n    settings:\n      user:\n"));
    ASSERT_FALSE(n);
    EXPECT_NE(n.error().detail.find("profiles[a].settings.user: no value"), std::string::npos)
        << n.error().detail;

    auto l = load_profile_file(write("profiles:\n  - name: a\n    settings:\n      user: [x]\n"));
    ASSERT_FALSE(l);
    EXPECT_NE(l.error().detail.find("expected a value, found a list"), std::string::npos)
        << l.error().detail;
}

TEST_F(profile_file_test, duplicate_keys) {
    auto f = load_profile_file(write(
        "profiles:\n  - name: a\n    settings:\n      user: x\n      USER: y\ncurrent_profile: a\n"
        "current_profile: a\n"));
    ASSERT_FALSE(f);
    EXPECT_NE(f.error().detail.find("profiles[a].settings.USER: duplicate key (line 5)"),
              std::string::npos)
        << f.error().detail;
    EXPECT_NE(f.error().detail.find("current_profile: duplicate key (line 7)"), std::string::npos)
        << f.error().detail;
}

TEST_F(profile_file_test, save_round_trips_atomically_with_mode_0600) {
    profile_file f;
    f.path = (_dir / "sub" / "dir" / "fjord.yaml").string();
    f.current = "dev";
    f.profiles.push_back(
        {"dev",
         "a: tricky # description",
         {{"controllers", "a:1,b:2"}, {"pass", "p: w'\"d"}, {"tls.enabled", "true"}}});
    f.profiles.push_back({"empty", "", {}});
    ASSERT_TRUE(save_profile_file(f));
    struct stat st {};
    ASSERT_EQ(::stat(f.path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    // No temporary file is left behind.
    size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(_dir / "sub" / "dir")) {
        ++entries;
    }
    EXPECT_EQ(entries, 1u);

    auto back = load_profile_file(f.path);
    ASSERT_TRUE(back) << back.error().detail;
    EXPECT_TRUE(back->exists);
    EXPECT_EQ(back->current, "dev");
    ASSERT_EQ(back->profiles.size(), 2u);
    EXPECT_EQ(back->profiles[0].name, "dev");
    EXPECT_EQ(back->profiles[0].description, "a: tricky # description");
    EXPECT_EQ(back->profiles[0].values, f.profiles[0].values);
    EXPECT_EQ(back->profiles[1].name, "empty");
    EXPECT_TRUE(back->profiles[1].values.empty());
}

TEST_F(profile_file_test, set_profile_value_validates_and_unsets) {
    profile p;
    EXPECT_TRUE(set_profile_value(p, "Controllers", "h:1", "--set"));
    EXPECT_EQ(p.values.at("controllers"), "h:1");
    auto bad = set_profile_value(p, "controllers", "h", "--set");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().detail, "--set controllers: \"h\" is not host:port");
    auto unknown = set_profile_value(p, "nope", "1", "--set");
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().detail.find("--set: unknown key \"nope\""), std::string::npos);
    EXPECT_TRUE(set_profile_value(p, "controllers", "", "--set"));
    EXPECT_TRUE(p.values.empty());
}

TEST_F(profile_file_test, admin_tls_keys_live_in_profiles) {
    profile p;
    EXPECT_TRUE(set_profile_value(p, "ADMIN.TLS.CA", "/etc/fjord/ca.pem", "fjord profile set"));
    EXPECT_TRUE(set_profile_value(p, "admin.tls.insecure_skip_verify", "false", "--set"));
    EXPECT_EQ(p.values.at("admin.tls.ca"), "/etc/fjord/ca.pem");  // canonical key
    auto bad = set_profile_value(p, "admin.tls.enabled", "on", "--set");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().detail,
              "--set admin.tls.enabled: \"on\" is not a boolean (true or false)");

    auto f = load_profile_file(write(R"(version: 1
current_profile: secure
profiles:
  - name: secure
    settings:
      admin.tls.ca: /etc/fjord/ca.pem
      admin.tls.cert: /etc/fjord/alice.pem
      admin.tls.key: /etc/fjord/alice.key
      tls.ca: /etc/fjord/kafka-ca.pem
)"));
    ASSERT_TRUE(f) << f.error().detail;
    settings_layers l;
    l.profile = f->find("secure")->values;
    l.profile_label = "profile secure";
    auto s = resolve_settings(l);
    ASSERT_TRUE(s) << s.error().detail;
    EXPECT_TRUE(s->use_admin_tls());
    EXPECT_EQ(s->admin_tls().cert_file, "/etc/fjord/alice.pem");
    EXPECT_EQ(s->kafka_tls().truststore_file, "/etc/fjord/kafka-ca.pem");
    EXPECT_EQ(s->origin.at("admin.tls.key"), "profile secure");
}

TEST_F(profile_file_test, update_is_read_modify_write) {
    const std::string path = (_dir / "fjord.yaml").string();
    auto first = update_profile_file(path, [](profile_file& f) -> result<void> {
        f.profiles.push_back({"a", "", {{"user", "u"}}});
        f.current = "a";
        return ok();
    });
    ASSERT_TRUE(first) << first.error().detail;
    auto second = update_profile_file(path, [](profile_file& f) -> result<void> {
        EXPECT_EQ(f.profiles.size(), 1u);
        f.profiles.push_back({"b", "", {}});
        return ok();
    });
    ASSERT_TRUE(second);
    // A failing change writes nothing.
    auto third = update_profile_file(path, [](profile_file& f) -> result<void> {
        f.profiles.clear();
        return error_info(std::make_error_code(std::errc::invalid_argument), "no");
    });
    ASSERT_FALSE(third);
    auto now = load_profile_file(path);
    ASSERT_TRUE(now);
    EXPECT_EQ(now->names(), "a, b");
    EXPECT_EQ(now->current, "a");
}

TEST_F(profile_file_test, profile_values_feed_settings) {
    auto f = load_profile_file(
        write("current_profile: p\nprofiles:\n  - name: p\n    settings:\n      controllers: "
              "[a:1, b:2]\n      globals.command_timeout: 2s\n"));
    ASSERT_TRUE(f) << f.error().detail;
    settings_layers l;
    l.profile = f->find("p")->values;
    l.profile_label = "profile p";
    l.env = {{"FJORD_GLOBALS_COMMAND_TIMEOUT", "3s"}};
    auto s = resolve_settings(l);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->controllers, (std::vector<std::string>{"a:1", "b:2"}));
    EXPECT_EQ(s->command_timeout, std::chrono::seconds(3));
}

}  // namespace
}  // namespace fjord::cli
