#pragma once
// File: cli/apply/desired_state.h
//
// `fjord apply -f FILE`'s desired-state file (docs/apply.md) -> the Apply
// request's v1::DesiredState, plus the shadow links the CLI applies itself.
// Pure but for the secret lookups, which are injected (secret_source), so
// cli_unit_test covers every rule here.
//
// The file is one YAML map with these top-level keys, all optional:
//   owner           string: the owner label (--owner overrides it)
//   topics          [{name, partitions, replication_factor, config: {k: v}}]
//   acls            [{principal, host: "*", resource_type, resource_name,
//                     pattern_type: literal, operation, permission: allow}]
//   users           [{name, mechanism: SCRAM-SHA-256, password_env: VAR |
//                     password_file: PATH}]
//   roles           [{name, members: [principal, ...]}]
//   cluster_config  {key: value}
//   shadow_links    [{name, config: <fjord shadow create -c's YAML>,
//                     password_env | password_file (the source's SASL
//                     password, instead of one inline in config)}]
// A kind's key present (even as an empty list, or null) makes that list the
// whole desired set of its kind (DesiredState.has_<kind>); absent leaves the
// kind alone.
//
// Refused, each naming the YAML path and line ("topics[1].partiton: unknown
// key (line 7)"): an unknown key anywhere; a value of the wrong kind; a
// missing name; a name listed twice; partitions or replication_factor < 1;
// a config value that is a map or null (scalars are sent as written, so
// `true` is "true" and `86400000` is "86400000"; a list is comma-joined, as
// the cluster config takes lists); an ACL field the `fjord security acl`
// vocabulary does not have (common/security/acl.h parse_*, and a binding
// acl.h validate() refuses); a mechanism other than SCRAM-SHA-256 and
// SCRAM-SHA-512; a user with an inline `password` ("use password_env or
// password_file": the file is meant to be committed), with both or neither
// of password_env and password_file, or whose variable is unset or empty or
// whose file cannot be read or is empty; a role member that is not a user
// principal. A password file's content is the password, without one
// trailing line break; a relative path is relative to the working directory.
//
// Principals are written as `fjord security acl` takes them: "alice" means
// User:alice; User:*, Role:ops. ACL principals and role members are sent in
// their canonical text ("User:alice"), so the plan compares like with like.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "common/result.h"
#include "fjord/controller/v1/controller_service.pb.h"

namespace fjord::cli::apply {

namespace v1 = fjord::controller::v1;

/// Where password_env and password_file are looked up (the process
/// environment and the file system in the command; maps in tests).
struct secret_source {
    /// The variable's value, or nullopt when it is not set.
    std::function<std::optional<std::string>(const std::string& var)> env;
    /// The file's whole content, or an error saying why it cannot be read.
    std::function<result<std::string>(const std::string& path)> read_file;
};

/// One entry of shadow_links: the link as `fjord shadow create -c` would
/// send it (name from the entry; the config's own name, if any, must match).
struct shadow_link_entry {
    v1::ShadowLink link;
    std::string path;  ///< "shadow_links[i]", for messages
    /// Whether the source's SASL password came from the file (inline,
    /// password_env or password_file); false: none was given.
    bool has_password = false;
};

struct desired_file {
    v1::DesiredState state;  ///< passwords resolved
    std::string owner;       ///< the file's owner key; "" when absent
    bool has_shadow_links = false;
    std::vector<shadow_link_entry> shadow_links;
};

/// Parses the file's text (see the header). Errors are error_info::for_field
/// with the YAML path as the field.
result<desired_file> parse_desired_state(std::string_view text, const secret_source& secrets);

/// The text a config value is sent as: a scalar as written, a list of
/// scalars comma-joined; anything else is refused naming `path`.
result<std::string> config_value_text(const YAML::Node& n, std::string_view path);

}  // namespace fjord::cli::apply
