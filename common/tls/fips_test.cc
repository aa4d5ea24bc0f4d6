// File: common/tls/fips_test.cc
//
// FIPS mode's start-up decisions (fips.h): the kernel flag file's meaning in
// each mode, the password floor, and start_crypto refusing before it changes
// anything when the flag is wrong, or naming the directory when the provider
// is not there. Loading the real provider is the e2e suite's
// (tests/e2e/test_fips.py), which has it built.

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "common/tls/fips.h"
#include "common/tls/tls.h"

namespace fjord::tls {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view flag = "/proc/sys/crypto/fips_enabled";

TEST(KernelFlag, OneIsFipsInEveryMode) {
    for (auto m : {fips_mode::enabled, fips_mode::permissive}) {
        for (std::string_view c : {"1", "1\n", "1 trailing"}) {
            auto r = check_kernel_flag(m, flag, c);
            ASSERT_TRUE(r) << r.error().detail;
            EXPECT_FALSE(r->has_value()) << to_string(m) << " with '" << c << "'";
        }
    }
}

TEST(KernelFlag, DisabledLooksAtNothing) {
    auto r = check_kernel_flag(fips_mode::disabled, flag, std::nullopt);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->has_value());
    r = check_kernel_flag(fips_mode::disabled, flag, "0\n");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->has_value());
}

TEST(KernelFlag, MissingIsFatalWhenEnabled) {
    auto r = check_kernel_flag(fips_mode::enabled, "/tmp/nowhere/fips_enabled", std::nullopt);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(tls_errc::unreadable));
    EXPECT_EQ(r.error().detail,
              "File '/tmp/nowhere/fips_enabled' does not exist. Fjord cannot start in FIPS "
              "mode (fips_mode: enabled; the kernel's flag file is fips_flag_file)");
}

TEST(KernelFlag, NotOneIsFatalWhenEnabledAndSaysWhatItReads) {
    for (std::string_view c : {"0\n", "", "\n", "yes", " 1"}) {
        auto r = check_kernel_flag(fips_mode::enabled, flag, c);
        ASSERT_FALSE(r) << "'" << c << "'";
        EXPECT_EQ(r.error().code, make_error_code(tls_errc::bad_settings));
        EXPECT_NE(r.error().detail.find("File '/proc/sys/crypto/fips_enabled' not reporting '1'"),
                  std::string::npos)
            << r.error().detail;
        EXPECT_NE(r.error().detail.find("cannot start in FIPS mode"), std::string::npos);
    }
    auto r = check_kernel_flag(fips_mode::enabled, flag, "0\n");
    EXPECT_NE(r.error().detail.find("(it reads '0')"), std::string::npos) << r.error().detail;
}

TEST(KernelFlag, PermissiveOnlyWarns) {
    auto missing = check_kernel_flag(fips_mode::permissive, flag, std::nullopt);
    ASSERT_TRUE(missing);
    ASSERT_TRUE(missing->has_value());
    EXPECT_NE((*missing)->find("File '/proc/sys/crypto/fips_enabled' does not exist"),
              std::string::npos);
    EXPECT_NE((*missing)->find("not a supported configuration"), std::string::npos);

    auto zero = check_kernel_flag(fips_mode::permissive, flag, "0");
    ASSERT_TRUE(zero);
    ASSERT_TRUE(zero->has_value());
    EXPECT_NE((*zero)->find("not reporting '1'"), std::string::npos);
}

TEST(KernelFlag, AnUnreadableFileSaysWhy) {
    auto r = check_kernel_flag(fips_mode::enabled, "/f", std::nullopt,
                               "cannot be read (Permission denied)");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("File '/f' cannot be read (Permission denied)"),
              std::string::npos);
}

TEST(Fips, PasswordFloorOnlyInFipsMode) {
    EXPECT_EQ(min_password_length(fips_mode::disabled), 0u);
    EXPECT_EQ(min_password_length(fips_mode::permissive), 14u);
    EXPECT_EQ(min_password_length(fips_mode::enabled), 14u);
}

TEST(Fips, ModeNamesRoundTrip) {
    for (auto m : {fips_mode::disabled, fips_mode::permissive, fips_mode::enabled}) {
        EXPECT_EQ(parse_fips_mode(to_string(m)), m);
    }
    EXPECT_FALSE(parse_fips_mode("Enabled"));
    EXPECT_FALSE(parse_fips_mode("on"));
}

class StartCrypto : public ::testing::Test {
  protected:
    void SetUp() override {
        dir = fs::temp_directory_path() /
              ("fjord-fips-test-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir);
    }
    void TearDown() override { fs::remove_all(dir); }
    std::string write(const std::string& name, const std::string& text) {
        const auto p = dir / name;
        std::ofstream(p) << text;
        return p.string();
    }
    fs::path dir;
};

TEST_F(StartCrypto, DisabledChangesNothing) {
    auto r = start_crypto({});
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_TRUE(r->warnings.empty());
    EXPECT_EQ(current_fips_mode(), fips_mode::disabled);
    EXPECT_FALSE(fips_active());
}

TEST_F(StartCrypto, EnabledRefusesAMissingOrZeroFlagBeforeTouchingOpenSSL) {
    fips_settings s{.mode = fips_mode::enabled,
                    .openssl_config_file = write("openssl.cnf", ""),
                    .openssl_module_directory = dir.string(),
                    .flag_file = (dir / "absent").string()};
    auto r = start_crypto(s);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("File '" + s.flag_file + "' does not exist"), std::string::npos)
        << r.error().detail;

    s.flag_file = write("fips_enabled", "0\n");
    r = start_crypto(s);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("not reporting '1'"), std::string::npos) << r.error().detail;
    EXPECT_EQ(current_fips_mode(), fips_mode::disabled);
    EXPECT_FALSE(fips_active());
}

// Runs last in this binary (it changes the process's OpenSSL search path):
// permissive passes the flag check with a warning, then the provider is not
// in the configured directory.
TEST_F(StartCrypto, ZzAMissingProviderNamesTheDirectory) {
    fips_settings s{.mode = fips_mode::permissive,
                    .openssl_config_file = write("openssl.cnf", "# nothing loads fips here\n"),
                    .openssl_module_directory = (dir / "no-modules").string(),
                    .flag_file = (dir / "absent").string()};
    auto r = start_crypto(s);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(tls_errc::openssl));
    EXPECT_NE(
        r.error().detail.find("Failed to load 'fips' provider from " + s.openssl_module_directory),
        std::string::npos)
        << r.error().detail;
    // OpenSSL's own reason names the file it tried.
    EXPECT_NE(r.error().detail.find((dir / "no-modules" / "fips.so").string()), std::string::npos)
        << r.error().detail;
    EXPECT_EQ(current_fips_mode(), fips_mode::disabled);
}

}  // namespace
}  // namespace fjord::tls
