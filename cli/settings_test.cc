// File: cli/settings_test.cc
//
// The settings contract (cli/settings.h): every key's validation, the
// precedence defaults < profile < environment < -X, empty variables as
// unset, unknown keys named (with a suggestion), and the -X help text.

#include "cli/settings.h"

#include "cli/kafka/rdkafka.h"

#include <gtest/gtest.h>

namespace fjord::cli {
namespace {

using namespace std::chrono_literals;

settings_layers layers(std::map<std::string, std::string> profile, env_map env,
                       std::vector<std::string> x) {
    settings_layers l;
    l.profile = std::move(profile);
    l.profile_label = "profile p (f.yaml)";
    l.env = std::move(env);
    l.x_options = std::move(x);
    return l;
}

TEST(settings, defaults) {
    auto s = resolve_settings(layers({}, {}, {}));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->controllers, std::vector<std::string>{"127.0.0.1:9644"});
    EXPECT_EQ(s->brokers, std::vector<std::string>{"127.0.0.1:9092"});
    EXPECT_EQ(s->command_timeout, 30s);
    EXPECT_EQ(s->retry_timeout, 30s);
    EXPECT_FALSE(s->use_tls());
    EXPECT_EQ(s->origin.at("controllers"), "default");
    EXPECT_EQ(s->origin.size(), settings_keys().size());
}

TEST(settings, precedence_profile_env_x) {
    const std::map<std::string, std::string> prof{
        {"controllers", "p:1"}, {"globals.retry_timeout", "5s"}, {"user", "from-profile"}};
    const env_map env{{"FJORD_CONTROLLERS", "e:2"}, {"FJORD_GLOBALS_RETRY_TIMEOUT", "6s"}};
    const std::vector<std::string> x{"controllers=x:3"};

    auto only_profile = resolve_settings(layers(prof, {}, {}));
    ASSERT_TRUE(only_profile);
    EXPECT_EQ(only_profile->controllers, std::vector<std::string>{"p:1"});
    EXPECT_EQ(only_profile->origin.at("controllers"), "profile p (f.yaml)");

    auto with_env = resolve_settings(layers(prof, env, {}));
    ASSERT_TRUE(with_env);
    EXPECT_EQ(with_env->controllers, std::vector<std::string>{"e:2"});
    EXPECT_EQ(with_env->retry_timeout, 6s);
    EXPECT_EQ(with_env->user, "from-profile");  // not overridden: stays
    EXPECT_EQ(with_env->origin.at("controllers"), "environment FJORD_CONTROLLERS");

    auto all = resolve_settings(layers(prof, env, x));
    ASSERT_TRUE(all);
    EXPECT_EQ(all->controllers, std::vector<std::string>{"x:3"});
    EXPECT_EQ(all->retry_timeout, 6s);
    EXPECT_EQ(all->origin.at("controllers"), "-X");
}

TEST(settings, later_x_wins_and_keys_are_case_insensitive) {
    auto s = resolve_settings(
        layers({}, {}, {"Controllers=a:1", "CONTROLLERS=b:2,c:3", "SASL.Mechanism=scram-sha-512"}));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->controllers, (std::vector<std::string>{"b:2", "c:3"}));
    EXPECT_EQ(s->sasl_mechanism, "SCRAM-SHA-512");
}

TEST(settings, empty_environment_variable_is_unset) {
    auto s = resolve_settings(layers({{"controllers", "p:1"}}, {{"FJORD_CONTROLLERS", ""}}, {}));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->controllers, std::vector<std::string>{"p:1"});
}

TEST(settings, foreign_fjord_variables_are_ignored) {
    auto s = resolve_settings(
        layers({}, {{"FJORD_LOG", "debug"}, {"FJORD_PROFILE", "x"}, {"FJORD_CONFIG", "/f"}}, {}));
    ASSERT_TRUE(s);
}

TEST(settings, unknown_key_is_named_with_suggestion) {
    auto s = resolve_settings(layers({}, {}, {"controlers=a:1"}));
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().detail.find("-X: unknown key \"controlers\""), std::string::npos)
        << s.error().detail;
    EXPECT_NE(s.error().detail.find("did you mean controllers?"), std::string::npos);

    auto t = resolve_settings(layers({}, {}, {"command_timeout=1s"}));
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().detail.find("did you mean globals.command_timeout?"), std::string::npos)
        << t.error().detail;

    auto u = resolve_settings(layers({}, {}, {"zzzzzzzz=1"}));
    ASSERT_FALSE(u);
    EXPECT_EQ(u.error().detail.find("did you mean"), std::string::npos);
}

TEST(settings, malformed_key_value) {
    for (const char* bad : {"controllers", "=a:1", ""}) {
        auto s = resolve_settings(layers({}, {}, {bad}));
        ASSERT_FALSE(s) << bad;
        EXPECT_NE(s.error().detail.find("expected key=value"), std::string::npos);
    }
}

TEST(settings, errors_name_the_layer) {
    auto p = resolve_settings(layers({{"globals.command_timeout", "soon"}}, {}, {}));
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().detail.rfind("profile p (f.yaml) globals.command_timeout:", 0), 0u)
        << p.error().detail;
    auto e = resolve_settings(layers({}, {{"FJORD_TLS_ENABLED", "maybe"}}, {}));
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().detail.rfind("environment FJORD_TLS_ENABLED tls.enabled:", 0), 0u)
        << e.error().detail;
}

TEST(settings, host_port_lists) {
    settings s;
    EXPECT_TRUE(apply_setting(s, "controllers", "a:1, b.example.com:9644 ,[::1]:9644", "-X"));
    EXPECT_EQ(s.controllers, (std::vector<std::string>{"a:1", "b.example.com:9644", "[::1]:9644"}));
    for (const char* bad :
         {"", ",", "a", ":9644", "a:", "a:0", "a:65536", "a:x", "::1:9644", "[zz]:1", "a b:1"}) {
        EXPECT_FALSE(apply_setting(s, "controllers", bad, "-X")) << bad;
        EXPECT_FALSE(apply_setting(s, "brokers", bad, "-X")) << bad;
    }
}

TEST(settings, booleans_paths_and_tls) {
    settings s;
    EXPECT_TRUE(apply_setting(s, "tls.enabled", "TRUE", "-X"));
    EXPECT_TRUE(s.tls_enabled);
    EXPECT_TRUE(apply_setting(s, "tls.enabled", "0", "-X"));
    EXPECT_FALSE(s.use_tls());
    EXPECT_FALSE(apply_setting(s, "tls.insecure_skip_verify", "y", "-X"));
    EXPECT_TRUE(apply_setting(s, "tls.ca", "/etc/ca.pem", "-X"));
    EXPECT_TRUE(s.use_tls());  // a PEM path implies TLS, whatever the key order
    EXPECT_FALSE(s.tls_enabled);
}

TEST(settings, admin_tls_keys_are_the_controllers_tls) {
    auto s = resolve_settings(layers({{"admin.tls.ca", "/p/ca.pem"}},
                                     {{"FJORD_ADMIN_TLS_CERT", "/e/c.pem"},
                                      {"FJORD_ADMIN_TLS_KEY", "/e/c.key"},
                                      {"FJORD_TLS_ENABLED", "true"}},
                                     {"admin.tls.insecure_skip_verify=true"}));
    ASSERT_TRUE(s) << s.error().detail;
    EXPECT_TRUE(s->use_admin_tls()) << "a PEM path implies TLS";
    EXPECT_FALSE(s->admin_tls_enabled);
    EXPECT_TRUE(s->use_tls()) << "tls.enabled is the brokers' own switch";
    EXPECT_EQ(s->origin.at("admin.tls.ca"), "profile p (f.yaml)");
    EXPECT_EQ(s->origin.at("admin.tls.cert"), "environment FJORD_ADMIN_TLS_CERT");
    EXPECT_EQ(s->origin.at("admin.tls.insecure_skip_verify"), "-X");
    const tls::tls_settings a = s->admin_tls();
    EXPECT_TRUE(a.enabled);
    EXPECT_EQ(a.truststore_file, "/p/ca.pem");
    EXPECT_EQ(a.cert_file, "/e/c.pem");
    EXPECT_EQ(a.key_file, "/e/c.key");
    EXPECT_TRUE(a.insecure_skip_verify);
    const tls::tls_settings k = s->kafka_tls();
    EXPECT_TRUE(k.enabled);
    EXPECT_TRUE(k.truststore_file.empty());
    EXPECT_FALSE(k.insecure_skip_verify) << "the groups do not leak into each other";
    EXPECT_EQ(setting_value(*s, "admin.tls.ca"), "/p/ca.pem");
    EXPECT_EQ(setting_value(*s, "admin.tls.insecure_skip_verify"), "true");
    EXPECT_EQ(setting_value(*s, "admin.tls.enabled"), "false");

    settings t;
    EXPECT_FALSE(t.use_admin_tls());
    EXPECT_FALSE(t.admin_tls().enabled);
    // Skipping verification asks for TLS: never plaintext in its stead.
    settings v;
    ASSERT_TRUE(apply_setting(v, "tls.insecure_skip_verify", "true", "-X"));
    EXPECT_TRUE(v.use_tls());
    EXPECT_FALSE(v.use_admin_tls());
    auto bad = apply_setting(t, "ADMIN.TLS.ENABLED", "sure", "-X");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().detail,
              "-X admin.tls.enabled: \"sure\" is not a boolean (true or false)");
    EXPECT_NE(unknown_key_message("admin.tls.crt").find("did you mean admin.tls.cert?"),
              std::string::npos)
        << unknown_key_message("admin.tls.crt");
}

TEST(settings, sasl_and_credentials) {
    settings s;
    EXPECT_TRUE(apply_setting(s, "sasl.mechanism", "plain", "-X"));
    EXPECT_EQ(s.sasl_mechanism, "PLAIN");
    EXPECT_FALSE(apply_setting(s, "sasl.mechanism", "GSSAPI", "-X"));
    EXPECT_TRUE(apply_setting(s, "user", "alice", "-X"));
    EXPECT_FALSE(apply_setting(s, "user", "a\nb", "-X"));
    EXPECT_TRUE(apply_setting(s, "pass", "p=w:d", "-X"));
    EXPECT_EQ(s.pass, "p=w:d");
    EXPECT_EQ(setting_value(s, "pass"), "(set)");  // never echoed
}

TEST(settings, durations) {
    EXPECT_EQ(*parse_duration("500ms"), 500ms);
    EXPECT_EQ(*parse_duration("30"), 30s);
    EXPECT_EQ(*parse_duration("2m"), 120s);
    EXPECT_EQ(*parse_duration("1h"), 3600s);
    for (const char* bad : {"", "s", "1.5s", "-1s", "10d", "1 s", "999999999999999s"}) {
        EXPECT_FALSE(parse_duration(bad)) << bad;
    }
    settings s;
    EXPECT_FALSE(apply_setting(s, "globals.command_timeout", "0s", "-X"));
    EXPECT_TRUE(apply_setting(s, "globals.retry_timeout", "0s", "-X"));
    EXPECT_EQ(s.retry_timeout, 0ms);
    EXPECT_EQ(setting_value(s, "globals.retry_timeout"), "0s");
    EXPECT_TRUE(apply_setting(s, "globals.command_timeout", "1500ms", "-X"));
    EXPECT_EQ(setting_value(s, "globals.command_timeout"), "1500ms");
}

TEST(settings, validate_setting_value_gives_the_bare_reason) {
    auto r = validate_setting_value("controllers", "nope");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().detail, "\"nope\" is not host:port");
    EXPECT_TRUE(validate_setting_value("GLOBALS.RETRY_TIMEOUT", "1m"));
}

TEST(settings, every_key_has_the_env_name_rule_and_help) {
    for (const auto& k : settings_keys()) {
        std::string env = "FJORD_";
        for (const char c : std::string_view(k.name)) {
            env += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        EXPECT_EQ(env, k.env);
        // The default itself must be valid (an empty default means unset).
        if (*k.default_value != 0) {
            EXPECT_TRUE(validate_setting_value(k.name, k.default_value)) << k.name;
        }
    }
    const std::string help = settings_help(false);
    const std::string list = settings_help(true);
    for (const auto& k : settings_keys()) {
        EXPECT_NE(help.find(k.name), std::string::npos);
        EXPECT_NE(help.find(k.env), std::string::npos);
        EXPECT_NE(list.find(std::string(k.name) + "="), std::string::npos);
    }
    EXPECT_EQ(help.find("takes effect when TLS lands"), std::string::npos) << "TLS has landed";
    EXPECT_NE(help.find("tls.* is the brokers' Kafka API, admin.tls.* the controllers' API"),
              std::string::npos);
    EXPECT_NE(help.find("user and pass go together"), std::string::npos);
    EXPECT_NE(help.find("-X > FJORD_* environment > profile > defaults"), std::string::npos);
}

TEST(settings, compatibility_overload) {
    auto s = resolve_settings(std::vector<std::string>{"controllers=x:1"},
                              env_map{{"FJORD_CONTROLLERS", "e:1"}});
    ASSERT_TRUE(s);
    EXPECT_EQ(s->controllers, std::vector<std::string>{"x:1"});
}

}  // namespace
}  // namespace fjord::cli

namespace fjord::cli {
namespace {

TEST(settings, credentials_become_librdkafka_sasl_properties) {
    settings s;
    ASSERT_TRUE(kafka::security_properties(s));
    EXPECT_TRUE(kafka::security_properties(s)->empty()) << "no user: plaintext, no login";
    ASSERT_TRUE(apply_setting(s, "user", "alice", "-X"));
    ASSERT_TRUE(apply_setting(s, "pass", "p w", "-X"));
    EXPECT_EQ(*kafka::security_properties(s),
              (kafka::properties{{"security.protocol", "SASL_PLAINTEXT"},
                                 {"sasl.mechanisms", "SCRAM-SHA-256"},
                                 {"sasl.username", "alice"},
                                 {"sasl.password", "p w"}}));
    ASSERT_TRUE(apply_setting(s, "sasl.mechanism", "scram-sha-512", "-X"));
    EXPECT_EQ((*kafka::security_properties(s))[1].second, "SCRAM-SHA-512");
    auto bad = apply_setting(s, "sasl.mechanism", "OAUTHBEARER", "profile dev");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().detail.rfind("profile dev sasl.mechanism: ", 0), 0u)
        << bad.error().detail;
}

}  // namespace
}  // namespace fjord::cli

// The TLS files as the CLI uses them: real certificates from a private CA.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cli/context.h"
#include "common/tls/cert_gen.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace fjord::cli {
namespace {

struct pem_dir {
    std::filesystem::path path;
    pem_dir() {
        char tpl[] = "/tmp/fjord-cli-tls.XXXXXX";
        path = ::mkdtemp(tpl);
    }
    ~pem_dir() { std::filesystem::remove_all(path); }
    std::string file(const std::string& name, const std::string& text) const {
        const auto p = (path / name).string();
        std::ofstream(p) << text;
        return p;
    }
};

TEST(settings, tls_becomes_librdkafka_ssl_properties_after_the_files_are_checked) {
    pem_dir d;
    const auto ca = *tls::make_ca({.common_name = "cli test CA"});
    const auto me = *tls::issue(ca, {.common_name = "alice"});
    const auto now = std::chrono::system_clock::now();
    const auto old = *tls::issue(ca, {.common_name = "alice",
                                      .not_before = now - std::chrono::hours(48),
                                      .not_after = now - std::chrono::hours(24)});
    const std::string ca_file = d.file("ca.pem", ca.cert_pem);
    const std::string cert = d.file("me.pem", me.cert_pem);
    const std::string key = d.file("me.key", me.key_pem);
    const std::string old_cert = d.file("old.pem", old.cert_pem);
    const std::string old_key = d.file("old.key", old.key_pem);

    settings s;
    ASSERT_TRUE(apply_setting(s, "tls.ca", ca_file, "-X"));
    ASSERT_TRUE(apply_setting(s, "tls.cert", cert, "-X"));
    ASSERT_TRUE(apply_setting(s, "tls.key", key, "-X"));
    auto p = kafka::security_properties(s);
    ASSERT_TRUE(p) << p.error().detail;
    EXPECT_EQ(*p, (kafka::properties{{"security.protocol", "SSL"},
                                     {"ssl.ca.location", ca_file},
                                     {"ssl.certificate.location", cert},
                                     {"ssl.key.location", key},
                                     {"ssl.endpoint.identification.algorithm", "https"}}));
    ASSERT_TRUE(apply_setting(s, "user", "alice", "-X"));
    ASSERT_TRUE(apply_setting(s, "pass", "secret", "-X"));
    ASSERT_TRUE(apply_setting(s, "tls.insecure_skip_verify", "true", "-X"));
    p = kafka::security_properties(s);
    ASSERT_TRUE(p) << p.error().detail;
    EXPECT_EQ((*p)[0], (std::pair<std::string, std::string>{"security.protocol", "SASL_SSL"}));
    EXPECT_NE(std::find(p->begin(), p->end(),
                        std::pair<std::string, std::string>{"enable.ssl.certificate.verification",
                                                            "false"}),
              p->end());

    ASSERT_TRUE(apply_setting(s, "tls.cert", old_cert, "-X"));
    ASSERT_TRUE(apply_setting(s, "tls.key", old_key, "-X"));
    p = kafka::security_properties(s);
    ASSERT_FALSE(p);
    EXPECT_EQ(
        p.error().detail.rfind("tls.cert " + old_cert + ": certificate CN=alice expired on ", 0),
        0u)
        << p.error().detail;
}

TEST(settings, the_controller_client_refuses_bad_admin_tls_files_before_dialing) {
    pem_dir d;
    const auto ca = *tls::make_ca({.common_name = "cli test CA"});
    const auto now = std::chrono::system_clock::now();
    const auto old = *tls::issue(ca, {.common_name = "alice",
                                      .not_before = now - std::chrono::hours(48),
                                      .not_after = now - std::chrono::hours(24)});
    settings s;
    // Nothing listens there: an attempt to dial would fail differently.
    s.controllers = {"127.0.0.1:1"};
    s.admin_tls_ca = d.file("ca.pem", ca.cert_pem);
    EXPECT_TRUE(make_controller_client(s));
    s.admin_tls_cert = d.file("old.pem", old.cert_pem);
    s.admin_tls_key = d.file("old.key", old.key_pem);
    auto c = make_controller_client(s);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().detail.rfind(
                  "admin.tls.cert " + s.admin_tls_cert + ": certificate CN=alice expired on ", 0),
              0u)
        << c.error().detail;
    s.admin_tls_cert.clear();
    s.admin_tls_key.clear();
    s.admin_tls_ca = (d.path / "missing.pem").string();
    c = make_controller_client(s);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().detail.rfind("admin.tls.ca " + s.admin_tls_ca + ": cannot be read", 0), 0u)
        << c.error().detail;
}

}  // namespace
}  // namespace fjord::cli
