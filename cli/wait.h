#pragma once
// File: cli/wait.h
//
// --wait: after a change committed at revision R, block until every live
// broker reports having applied R (the controller tracks each broker's
// applied revision from its heartbeats), or fail at the timeout naming the
// brokers that lag. No live broker means nothing to wait for.

#include <chrono>
#include <cstdint>

#include "cli/context.h"

namespace CLI {
class App;
}

namespace fjord::cli {

/// Adds `--wait[=TIMEOUT]` to `cmd`, bound to `out` (0 = not asked).
void add_wait_flag(CLI::App* cmd, std::chrono::milliseconds& out);

/// Waits as described above; prints progress on failure and returns false.
bool wait_for_brokers(cli_context& ctx, uint64_t revision, std::chrono::milliseconds timeout);

}  // namespace fjord::cli
