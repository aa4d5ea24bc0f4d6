#pragma once
// File: common/tls/tls_yaml.h
//
// The `tls:` block of the daemons' YAML files, one reader for every listener
// and link so that each spells its keys the same way:
//
//   tls:
//     enabled: true
//     cert_file: /etc/fjord/tls/node.crt
//     key_file: /etc/fjord/tls/node.key
//     truststore_file: /etc/fjord/tls/ca.crt
//     require_client_auth: false      # servers only
//
// A server block is checked with check_server_settings (enabled needs a
// certificate and key, require_client_auth needs a truststore); a client
// block (a daemon's link to another) with check_client_settings.

#include <string_view>
#include <vector>

#include "common/tls/fips.h"
#include "common/tls/tls.h"
#include "common/yaml_config.h"

namespace fjord::tls {

enum class tls_role { server, client };

/// Reads the optional mapping `key` of `fs` (under `parent`) into `out`.
void read_tls_block(yaml_checker& p, const std::vector<yaml_field>& fs, std::string_view parent,
                    std::string_view key, tls_role role, tls_settings& out);

/// The top-level FIPS keys (fips.h) of a daemon's file: fips_mode,
/// openssl_config_file, openssl_module_directory, fips_flag_file. A mode
/// other than disabled needs the file and the directory.
void read_fips_keys(yaml_checker& p, const std::vector<yaml_field>& fs, fips_settings& out);

}  // namespace fjord::tls
