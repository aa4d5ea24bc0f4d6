#pragma once
// File: cli/dev/report.h
//
// What the dev verbs print: the JSON documents (and their `--format help`
// schemas) and the text tables of members and brokers.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/dev/dev.h"
#include "cli/dev/observe.h"
#include "cli/dev/state.h"

namespace fjord::cli {
class cli_context;
}

namespace fjord::cli::dev {

using json = nlohmann::json;

// `--format help` output: the JSON document each dev verb prints.
extern const std::string start_schema;
extern const std::string status_schema;
extern const std::string stop_schema;
extern const std::string purge_schema;

/// Resolves the output format; true when the command should go on (false on
/// a bad format, or after printing `schema` for `--format help`, which must
/// neither start nor stop anything).
bool begin(cli_context& ctx, const std::string& schema);

std::string plural(size_t n, const char* noun);

json members_json(const cluster& c, const std::vector<member_view>& views);
std::string members_table(const cluster& c, const std::vector<member_view>& views);
json brokers_json(const cluster& c, const std::vector<broker_view>& views);
std::string brokers_table(const cluster& c, const std::vector<broker_view>& views);

/// start's report: the cluster, how to reach it, and `headline` first.
/// `profile_path` is "" when no profile was written (--no-profile); a named
/// cluster's profile is written but not selected (dev.h).
void print_started(cli_context& ctx, const dev_options& o, const cluster& c, const readiness& r,
                   const std::string& profile_path, const std::string& headline);

}  // namespace fjord::cli::dev
