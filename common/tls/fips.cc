// File: common/tls/fips.cc
//
// FIPS mode's start-up (fips.h): the kernel flag, then OpenSSL's fips
// provider made the default for the whole process, then a check that it
// took. Everything happens on the calling thread before any other thread
// exists, so the default library context is changed while no one uses it;
// afterwards only current_fips_mode() is read, from any thread.
//
// The provider handles are kept for the life of the process: unloading the
// fips provider would leave every fetched algorithm dangling.

#include "common/tls/fips.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/log.h"
#include "common/tls/tls.h"

namespace fjord::tls {

std::string_view to_string(fips_mode m) {
    switch (m) {
        case fips_mode::disabled:
            return "disabled";
        case fips_mode::permissive:
            return "permissive";
        case fips_mode::enabled:
            return "enabled";
    }
    return "disabled";
}

std::optional<fips_mode> parse_fips_mode(std::string_view s) {
    if (s == "disabled") {
        return fips_mode::disabled;
    }
    if (s == "permissive") {
        return fips_mode::permissive;
    }
    if (s == "enabled") {
        return fips_mode::enabled;
    }
    return std::nullopt;
}

size_t min_password_length(fips_mode m) {
    return m == fips_mode::disabled ? 0 : fips_min_password_length;
}

namespace {

constexpr std::string_view component = "fips";

std::atomic<fips_mode> g_mode{fips_mode::disabled};

/// OpenSSL's queued errors as one line: each reason once, with the detail
/// OpenSSL attached to it (the file it could not open, the provider's name),
/// which is what tells an operator which path was wrong.
std::string openssl_reasons() {
    std::string out;
    const char* data = nullptr;
    int flags = 0;
    unsigned long e = 0;
    while ((e = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
        const char* reason = ERR_reason_error_string(e);
        std::string item = reason != nullptr ? reason : fmt::format("OpenSSL error {:08X}", e);
        if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
            item += fmt::format(" ({})", data);
        }
        if (out.find(item) != std::string::npos) {
            continue;
        }
        out += out.empty() ? "" : "; ";
        out += item;
    }
    return out.empty() ? "no reason given by OpenSSL" : out;
}

/// The flag file's contents (its first bytes are all that matter), or
/// nullopt with the reason it cannot be read.
std::optional<std::string> read_flag_file(const std::string& path, std::string& why) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        why = errno == ENOENT ? "does not exist"
                              : fmt::format("cannot be read ({})", std::strerror(errno));
        return std::nullopt;
    }
    char buf[64];
    ssize_t n = 0;
    do {
        n = ::read(fd, buf, sizeof buf);
    } while (n < 0 && errno == EINTR);
    const int read_errno = errno;
    ::close(fd);
    if (n < 0) {
        why = fmt::format("cannot be read ({})", std::strerror(read_errno));
        return std::nullopt;
    }
    return std::string(buf, static_cast<size_t>(n));
}

/// The provider's name and version, for the log line saying what runs.
std::string describe_provider(OSSL_PROVIDER* p) {
    const char* name = nullptr;
    const char* version = nullptr;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_ptr(OSSL_PROV_PARAM_NAME, const_cast<char**>(&name), 0),
        OSSL_PARAM_construct_utf8_ptr(OSSL_PROV_PARAM_VERSION, const_cast<char**>(&version), 0),
        OSSL_PARAM_construct_end()};
    if (OSSL_PROVIDER_get_params(p, params) != 1 || name == nullptr) {
        ERR_clear_error();
        return "fips";
    }
    return fmt::format("{} {}", name, version != nullptr ? version : "");
}

/// Step 2: the provider loaded from the configured places and made the
/// default, then checked.
result<std::string> start_provider(const fips_settings& s) {
    ERR_clear_error();
    if (OSSL_PROVIDER_set_default_search_path(nullptr, s.openssl_module_directory.c_str()) != 1) {
        return error_info(tls_errc::openssl,
                          fmt::format("openssl_module_directory {}: cannot be used as OpenSSL's "
                                      "provider search path: {}",
                                      s.openssl_module_directory, openssl_reasons()));
    }
    if (OSSL_LIB_CTX_load_config(nullptr, s.openssl_config_file.c_str()) != 1) {
        return error_info(tls_errc::openssl,
                          fmt::format("openssl_config_file {}: OpenSSL cannot load it: {}",
                                      s.openssl_config_file, openssl_reasons()));
    }
    // Loading runs the provider's self-tests and checks its own checksum
    // against the one fipsinstall recorded (the config's fipsmodule.cnf).
    static OSSL_PROVIDER* fips = nullptr;
    static OSSL_PROVIDER* base = nullptr;
    fips = OSSL_PROVIDER_load(nullptr, "fips");
    if (fips == nullptr) {
        return error_info(
            tls_errc::openssl,
            fmt::format("Failed to load 'fips' provider from {} (openssl_module_directory; its "
                        "checksum and self-test settings come from openssl_config_file {}): {}",
                        s.openssl_module_directory, s.openssl_config_file, openssl_reasons()));
    }
    // Encoders and decoders (reading PEM keys and certificates) are base's.
    base = OSSL_PROVIDER_load(nullptr, "base");
    if (base == nullptr) {
        return error_info(tls_errc::openssl,
                          fmt::format("Failed to load OpenSSL's 'base' provider (PEM decoding) "
                                      "with openssl_config_file {}: {}",
                                      s.openssl_config_file, openssl_reasons()));
    }
    if (EVP_default_properties_enable_fips(nullptr, 1) != 1) {
        return error_info(
            tls_errc::openssl,
            fmt::format("cannot make fips=yes OpenSSL's default property: {}", openssl_reasons()));
    }
    // The check: FIPS properties in force, an approved digest served by the
    // fips provider, and a non-approved one not served at all.
    if (EVP_default_properties_is_fips_enabled(nullptr) != 1) {
        return error_info(tls_errc::openssl,
                          "OpenSSL does not report fips=yes as its default property after "
                          "enabling it");
    }
    EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    const OSSL_PROVIDER* from = sha256 != nullptr ? EVP_MD_get0_provider(sha256) : nullptr;
    const std::string served_by = from != nullptr ? OSSL_PROVIDER_get0_name(from) : "nothing";
    EVP_MD_free(sha256);
    if (served_by != "fips") {
        return error_info(tls_errc::openssl,
                          fmt::format("SHA-256 is served by {} instead of the fips provider: {}",
                                      served_by, openssl_reasons()));
    }
    EVP_MD* md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
    if (md5 != nullptr) {
        EVP_MD_free(md5);
        return error_info(tls_errc::openssl,
                          "MD5 is still available after fips=yes: a non-FIPS provider is the "
                          "default (check openssl_config_file's default_properties)");
    }
    ERR_clear_error();  // the refused MD5 fetch
    return describe_provider(fips);
}

}  // namespace

result<std::optional<std::string>> check_kernel_flag(fips_mode m, std::string_view path,
                                                     std::optional<std::string_view> contents,
                                                     std::string_view why) {
    if (m == fips_mode::disabled) {
        return std::optional<std::string>();
    }
    std::string problem;
    if (!contents) {
        problem = fmt::format("File '{}' {}", path, why);
    } else if (contents->empty() || contents->front() != '1') {
        std::string_view shown = *contents;
        shown = shown.substr(0, std::min<size_t>(shown.find_first_of("\r\n"), 16));
        problem = fmt::format("File '{}' not reporting '1' (it reads '{}')", path, shown);
    } else {
        return std::optional<std::string>();
    }
    if (m == fips_mode::enabled) {
        return error_info(contents ? tls_errc::bad_settings : tls_errc::unreadable,
                          fmt::format("{}. Fjord cannot start in FIPS mode (fips_mode: enabled; "
                                      "the kernel's flag file is fips_flag_file)",
                                      problem));
    }
    return std::optional<std::string>(
        fmt::format("{}. Fjord will start in FIPS mode but this is not a supported configuration "
                    "(fips_mode: permissive): the kernel is not in FIPS mode",
                    problem));
}

result<crypto_report> start_crypto(const fips_settings& s) {
    crypto_report report;
    if (s.mode == fips_mode::disabled) {
        g_mode = fips_mode::disabled;
        return report;
    }
    std::string why;
    const auto contents = read_flag_file(s.flag_file, why);
    auto flag = check_kernel_flag(
        s.mode, s.flag_file,
        contents ? std::optional<std::string_view>(*contents) : std::optional<std::string_view>(),
        why);
    if (!flag) {
        log(log_level::error, component, "{}", flag.error().detail);
        return flag.error();
    }
    if (*flag) {
        log(log_level::warn, component, "{}", **flag);
        report.warnings.push_back(std::move(**flag));
    }
    auto provider = start_provider(s);
    if (!provider) {
        log(log_level::error, component, "{}", provider.error().detail);
        return provider.error();
    }
    g_mode = s.mode;
    log(log_level::info, component,
        "Starting in FIPS mode (fips_mode: {}): provider {} from {}, default properties fips=yes",
        to_string(s.mode), *provider, s.openssl_module_directory);
    return report;
}

fips_mode current_fips_mode() {
    return g_mode.load();
}

}  // namespace fjord::tls
