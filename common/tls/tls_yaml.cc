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

}  // namespace fjord::tls
