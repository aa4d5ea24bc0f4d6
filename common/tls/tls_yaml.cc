// File: common/tls/tls_yaml.cc

#include "common/tls/tls_yaml.h"

#include <array>

namespace fjord::tls {

void read_tls_block(yaml_checker& p, const std::vector<yaml_field>& fs, std::string_view parent,
                    std::string_view key, tls_role role, tls_settings& out) {
    const yaml_field* f = p.lookup(fs, parent, key, false, 0);
    if (f == nullptr) {
        return;
    }
    const std::string path = child_path(parent, key);
    static constexpr std::array<std::string_view, 5> server_keys = {
        "enabled", "cert_file", "key_file", "truststore_file", "require_client_auth"};
    static constexpr std::array<std::string_view, 4> client_keys = {"enabled", "cert_file",
                                                                    "key_file", "truststore_file"};
    const auto sub = role == tls_role::server ? p.fields(f->value, path, f->line, server_keys)
                                              : p.fields(f->value, path, f->line, client_keys);
    if (!sub) {
        return;
    }
    tls_settings s;
    p.read_bool(*sub, path, "enabled", false, f->line, s.enabled);
    for (auto [name, field] :
         {std::pair{"cert_file", &s.cert_file}, std::pair{"key_file", &s.key_file},
          std::pair{"truststore_file", &s.truststore_file}}) {
        if (auto v = p.read_string(*sub, path, name, false, f->line, true)) {
            *field = *v;
        }
    }
    if (role == tls_role::server) {
        p.read_bool(*sub, path, "require_client_auth", false, f->line, s.require_client_auth);
    }
    const auto checked =
        role == tls_role::server ? check_server_settings(s, path) : check_client_settings(s, path);
    if (!checked) {
        p.error(checked.error().field, checked.error().reason(), f->line);
        return;
    }
    out = std::move(s);
}

void read_fips_keys(yaml_checker& p, const std::vector<yaml_field>& fs, fips_settings& out) {
    fips_settings s;
    if (const yaml_field* f = p.lookup(fs, "", "fips_mode", false, 0)) {
        const auto m = f->value.IsScalar() ? parse_fips_mode(f->value.Scalar()) : std::nullopt;
        if (!m) {
            p.error(
                "fips_mode",
                fmt::format("expected disabled, permissive or enabled, got {}", describe(f->value)),
                f->line);
            return;
        }
        s.mode = *m;
    }
    if (auto v = p.read_string(fs, "", "openssl_config_file", false, 0, true)) {
        s.openssl_config_file = *v;
    }
    if (auto v = p.read_string(fs, "", "openssl_module_directory", false, 0, true)) {
        s.openssl_module_directory = *v;
    }
    if (auto v = p.read_string(fs, "", "fips_flag_file", false, 0, false)) {
        s.flag_file = *v;
    }
    if (s.mode != fips_mode::disabled) {
        for (auto [key, value] :
             {std::pair{"openssl_config_file", &s.openssl_config_file},
              std::pair{"openssl_module_directory", &s.openssl_module_directory}}) {
            if (value->empty()) {
                p.error(key,
                        fmt::format("required when fips_mode is {} (the OpenSSL configuration "
                                    "and the directory holding fips.so)",
                                    to_string(s.mode)),
                        p.line("fips_mode"));
            }
        }
    }
    out = std::move(s);
}

}  // namespace fjord::tls
