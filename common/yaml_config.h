#pragma once
// File: common/yaml_config.h
//
// The machinery behind the daemons' YAML configuration files
// (controller/server/controller_config.h, broker/server/broker_config.h).
// yaml-cpp only builds the node tree; every check is ours: a mapping's keys
// are compared with the known set (unknown keys get a "did you mean" when one
// is within two edits; duplicates are refused, since yaml-cpp would silently
// keep one), scalars are converted by hand (decimal digits only for integers)
// so each message can name the key path, the expected type and the line.
//
// A `yaml_checker` collects problems instead of stopping at the first; its
// report lists them sorted by line, one per line of text, at most
// yaml_checker::max_reported_errors of them:
//     raft.electon_ticks: unknown key, did you mean election_ticks? (line 12)
//     node_id: expected an unsigned integer, got "one" (line 1)
//     data_dir: required key is missing
//
// A config parser, in outline (parse_config and load_config below do the
// rest: the document, the checker's report, the file and its path):
//   void parse_document(yaml_checker& p, const YAML::Node& root, my_config& c) {
//       const auto fs = p.fields(root, "", line_of(root), top_keys);
//       if (fs) { p.read_uint<uint32_t>(*fs, "", "port", true, 0, 1, 65535, c.port); }
//   }
//   result<my_config> parse_my_config(std::string_view text) {
//       return parse_config<my_config>(text, parse_document);
//   }
//   result<my_config> load_my_config(const std::string& path) {
//       return load_config(path, parse_my_config);
//   }
//
// Contract: nothing here throws; check_yaml_document turns yaml-cpp's
// exceptions into errors.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "common/host_port.h"
#include "common/log.h"
#include "common/result.h"

namespace fjord {

/// One entry of a checked mapping: its key, value and (1-based) line.
struct yaml_field {
    std::string key;
    YAML::Node value;
    int line = 0;
};

/// One pass over a document. Each read_* records a problem and leaves the
/// output untouched (so its default stays in place), and the walk continues
/// to report everything.
///
/// Paths are dotted ("raft.tick_ms", "initial_members[0].id"); "" is the top
/// level. `parent_line` is where a missing required key is reported (0: no
/// line, as for the top level).
class yaml_checker {
  public:
    static constexpr size_t max_reported_errors = 20;

    /// Records "<path>: <msg> (line N)" (no path prefix for "", no line for 0).
    void error(std::string_view path, std::string_view msg, int line);

    bool failed() const { return !_errors.empty(); }

    /// The problems, by line (those without a line last), one per line of
    /// text; beyond max_reported_errors, "... and N more".
    std::string report() const;

    /// std::errc::invalid_argument with report() as detail.
    error_info failure() const;

    /// The entries of mapping `node` at `path`, each key in `known` and
    /// unique; nullopt (with an error) if `node` is not a mapping.
    std::optional<std::vector<yaml_field>> fields(const YAML::Node& node, std::string_view path,
                                                  int line,
                                                  std::span<const std::string_view> known);

    /// The entry for `key`, or nullptr.
    static const yaml_field* find(const std::vector<yaml_field>& fs, std::string_view key);

    /// The line where `path` was set (0 if it was not looked up, or absent).
    int line(std::string_view path) const;

    /// Records that `path` was set on `line`, for checks that report on it
    /// later (lookup() does this for mapping entries; use it for sequence
    /// items).
    void note_line(std::string_view path, int line);

    /// Looks `key` up in `fs` and records its line; a missing required key is
    /// an error reported at `parent_line`.
    const yaml_field* lookup(const std::vector<yaml_field>& fs, std::string_view parent,
                             std::string_view key, bool required, int parent_line);

    /// An unsigned integer in min..max. When `max` is T's largest value the
    /// range message names only the bound that was crossed.
    template <typename T>
    requires std::is_unsigned_v<T>
    void read_uint(const std::vector<yaml_field>& fs, std::string_view parent, std::string_view key,
                   bool required, int parent_line, T min, T max, T& out) {
        if (const auto v = read_unsigned(fs, parent, key, required, parent_line, min, max,
                                         max == std::numeric_limits<T>::max())) {
            out = static_cast<T>(*v);
        }
    }

    /// A string value. With `allow_empty`, "" and null (nothing after the
    /// colon) both read as ""; without it, both are errors.
    std::optional<std::string> read_string(const std::vector<yaml_field>& fs,
                                           std::string_view parent, std::string_view key,
                                           bool required, int parent_line, bool allow_empty);

    /// `true` or `false` (YAML's yes/no/on/off spellings are refused: one
    /// way to write a boolean).
    void read_bool(const std::vector<yaml_field>& fs, std::string_view parent, std::string_view key,
                   bool required, int parent_line, bool& out);

    /// A "host:port" string (see common/host_port.h).
    void read_address(const std::vector<yaml_field>& fs, std::string_view parent,
                      std::string_view key, bool required, int parent_line, host_port& out);

    /// Parses `text` into `out`, or records `"<text>" is not host:port: <why>`
    /// at `path`'s line and returns false.
    bool set_address(const std::string& path, const std::string& text, host_port& out);

    /// One of trace, debug, info, warn, error, off.
    void read_log_level(const std::vector<yaml_field>& fs, std::string_view parent,
                        std::string_view key, bool required, int parent_line, log_level& out);

  private:
    std::optional<uint64_t> read_unsigned(const std::vector<yaml_field>& fs,
                                          std::string_view parent, std::string_view key,
                                          bool required, int parent_line, uint64_t min,
                                          uint64_t max, bool unbounded);

    std::vector<std::pair<int, std::string>> _errors;
    std::map<std::string, int, std::less<>> _lines;
};

/// 1-based line of a node; 0 when yaml-cpp has no position for it.
int line_of(const YAML::Node& n);

/// A node for a message: "\"text\"" (cut at 40 characters), "a sequence",
/// "a mapping" or "nothing (null)".
std::string describe(const YAML::Node& n);

/// Levenshtein distance (for "did you mean").
size_t edit_distance(std::string_view a, std::string_view b);

/// "parent.key", or "key" at the top level.
std::string child_path(std::string_view parent, std::string_view key);

/// Loads `text`, which must hold at most one YAML document, and calls
/// `check` with its root (a null node for an empty text). YAML syntax errors,
/// extra documents and any exception thrown during `check` become
/// std::errc::invalid_argument.
result<void> check_yaml_document(std::string_view text,
                                 const std::function<void(const YAML::Node& root)>& check);

/// The contents of a configuration file of at most 1 MiB. Errors name the
/// path: the errno code for I/O, std::errc::file_too_large for a larger file.
result<std::string> read_config_file(const std::string& path);

/// `e` with every line of its detail prefixed by "<path>: ", compiler style.
error_info prefix_lines(std::string_view path, const error_info& e);

/// A default-constructed Config filled in by `parse` from the one document in
/// `text`: the document's own error (check_yaml_document), else the checker's
/// report when `parse` recorded any problem, else the config.
template <typename Config>
result<Config> parse_config(std::string_view text,
                            void (*parse)(yaml_checker& p, const YAML::Node& root, Config& c)) {
    Config c;
    yaml_checker p;
    auto r = check_yaml_document(text, [&](const YAML::Node& root) { parse(p, root, c); });
    if (!r) {
        return r.error();
    }
    if (p.failed()) {
        return p.failure();
    }
    return c;
}

/// The config in the file at `path`, read by read_config_file and parsed by
/// `parse_text`; a parse error has every line prefixed with the path.
template <typename Config>
result<Config> load_config(const std::string& path,
                           result<Config> (*parse_text)(std::string_view text)) {
    auto text = read_config_file(path);
    if (!text) {
        return text.error();
    }
    auto c = parse_text(*text);
    if (!c) {
        return prefix_lines(path, c.error());
    }
    return c;
}

}  // namespace fjord
