#pragma once
// File: cli/profile.h
//
// The profile file: named sets of settings (cli/settings.h keys) and which
// one is current, in YAML:
//
//   # (a header comment; comments are not preserved on rewrite)
//   version: 1
//   current_profile: dev
//   profiles:
//     - name: dev
//       description: fjord dev cluster (/home/u/.local/state/fjord/dev)
//       settings:
//         controllers: 127.0.0.1:9644,127.0.0.1:10644   # or a YAML list
//         globals.retry_timeout: 10s
//
// Location: --config FILE > $FJORD_CONFIG > $XDG_CONFIG_HOME/fjord/fjord.yaml
// > $HOME/.config/fjord/fjord.yaml. A missing file is an empty one.
// Loading is strict: unknown or duplicate keys, unknown settings keys, bad
// values, duplicate profile names and a current_profile that names no
// profile are errors; every problem is reported, one per line, as
// "<file>: <key path>: <reason> (line N)". Saving is atomic (temporary file,
// fsync, rename, directory fsync) with mode 0600, since `pass` may be stored;
// read-modify-write is serialised between fjord processes by
// `update_profile_file` (flock on the directory).

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cli/settings.h"
#include "common/result.h"

namespace fjord::cli {

struct profile {
    std::string name;
    std::string description;
    /// Settings key (lower case, as in settings_keys()) -> value as -X takes it.
    std::map<std::string, std::string> values;
};

struct profile_file {
    std::string path;
    bool exists = false;  // false: nothing on disk yet
    std::string current;  // "" = none
    std::vector<profile> profiles;

    profile* find(std::string_view name);
    const profile* find(std::string_view name) const;
    /// Names in file order, comma-separated ("(none)" if empty); for errors.
    std::string names() const;
};

/// Where the profile file is (see the header), or an error when neither a
/// flag, FJORD_CONFIG, XDG_CONFIG_HOME nor HOME says.
result<std::string> profile_file_path(std::string_view config_flag, const env_map& env);

/// Reads and validates `path`; see the header for what is rejected.
result<profile_file> load_profile_file(const std::string& path);

/// Writes `f` to `f.path` atomically, creating its directory (mode 0700).
result<void> save_profile_file(const profile_file& f);

/// Locks the file's directory, loads, calls `change`, and saves if `change`
/// succeeded. Returns the saved file, or the first error.
result<profile_file> update_profile_file(const std::string& path,
                                         const std::function<result<void>(profile_file&)>& change);

/// Profile names: 1..64 of [A-Za-z0-9._-], starting with a letter or digit
/// (safe in shells, file names and YAML without quoting).
result<void> validate_profile_name(std::string_view name);

/// Validates `key`=`value` as a setting and stores it in `p` under the
/// key's canonical name; an empty value removes the key (back to the
/// default). Errors name the key ("profile dev: ..." via `from`).
result<void> set_profile_value(profile& p, std::string_view key, std::string_view value,
                               std::string_view from);

}  // namespace fjord::cli
