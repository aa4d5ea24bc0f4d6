#pragma once
// File: cli/output/printer.h
//
// The one way commands print (DESIGN.md §5): a command builds its result as
// a JSON document plus, for text, a table; the printer renders the format the
// user asked for. Data goes to stdout, errors to stderr (errors never pass
// through here). `--format help` prints the document's schema instead and
// the command exits 0 without contacting the cluster.

#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"

namespace fjord::cli {

enum class output_format { text, wide, json, yaml, help };

/// text|wide|json|yaml|help (short = text, long = wide, as rpk accepts).
result<output_format> parse_output_format(std::string_view s);

/// Tab-free aligned columns: headers in upper case, two spaces between.
std::string render_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows);

/// Renders `doc` as JSON (2-space indent) or YAML.
std::string render_json(const nlohmann::json& doc);
std::string render_yaml(const nlohmann::json& doc);

/// Prints `doc` in `f`; for text and wide, calls `text(wide)` for the text.
void print_output(std::ostream& out, output_format f, const nlohmann::json& doc,
                  const std::function<std::string(bool wide)>& text);

}  // namespace fjord::cli
