#pragma once
// File: cli/yaml/read.h
//
// Reading the CLI's YAML files (the shadow link file, cli/shadow/config_yaml;
// the desired-state file, cli/apply/desired_state) key by key, so that every
// refusal names the value's path and line: "topics[2].config: expected a map
// (line 14)". Pure: nodes in, values or errors out.
//
// Contract shared by every reader here:
//   - `path` is the dotted YAML path of `n` ("client_options.tls_settings",
//     "topics[0].name"); errors are error_info::for_field(invalid_argument,
//     path, "<reason> (line N)"), the line 1-based, left out when the node
//     has no mark (an absent key);
//   - a node may be absent (operator[] on a const map gives an invalid node
//     for a missing key, on which anything but IsDefined() throws) or null:
//     readers then return the type's zero value (or do nothing);
//   - read through const nodes: a non-const operator[] adds the key.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <google/protobuf/repeated_ptr_field.h>
#include <yaml-cpp/yaml.h>

#include "common/result.h"

namespace fjord::cli::yaml {

using node = YAML::Node;

/// The whole file at `path` ("-": stdin), to parse: the CLI's YAML inputs
/// (-f/-c FILE). The error names the path and the OS's reason.
result<std::string> read_input(const std::string& path);

/// "path.key", or "key" at the root (path "").
std::string join(std::string_view path, std::string_view key);
/// "path[i]".
std::string index(std::string_view path, size_t i);

/// An error about `path` at `n`'s line.
error_info bad(const node& n, std::string_view path, std::string_view reason);

/// Whether the key is there at all (null counts as present).
inline bool present(const node& n) {
    return n.IsDefined();
}

/// A map (or nothing: absent or null) whose keys are all in `known`, each
/// once; an unknown key is "<path>.<key>: unknown key (line N)".
result<void> check_map(const node& n, std::string_view path,
                       std::initializer_list<std::string_view> known);

/// A scalar's text ("" when absent or null); anything else is refused.
result<std::string> read_string(const node& n, std::string_view path);
/// true/false in any case (false when absent or null).
result<bool> read_bool(const node& n, std::string_view path);
/// A whole number in [-max, max] (0 when absent or null).
result<int64_t> read_int(const node& n, std::string_view path, int64_t max);
result<int32_t> read_int32(const node& n, std::string_view path);

/// A list (or nothing); calls `each(item, "path[i]")` in order and stops at
/// the first error.
template <typename F>
result<void> read_list(const node& n, std::string_view path, F&& each) {
    if (!n.IsDefined() || n.IsNull()) {
        return ok();
    }
    if (!n.IsSequence()) {
        return bad(n, path, "expected a list");
    }
    for (size_t i = 0; i < n.size(); ++i) {
        if (auto r = each(n[i], index(path, i)); !r) {
            return r;
        }
    }
    return ok();
}

/// A list of strings appended to `out`.
result<void> read_string_list(const node& n, std::string_view path,
                              google::protobuf::RepeatedPtrField<std::string>* out);

/// Parses `text` (the whole file) into a node; a syntax error is "not valid
/// YAML: <yaml-cpp's message> (line N)".
result<node> load(std::string_view text);

}  // namespace fjord::cli::yaml
