#pragma once
// File: controller/frontend/cluster_config.h
//
// Cluster config: set (all or nothing, one command) and get (a read).

#include <map>
#include <string>

#include "controller/frontend/frontend.h"

namespace fjord::frontend {

/// SetClusterConfig's answer. A refusal names its key (`outcome.error().field`);
/// `alone` holds, for every other key that is wrong on its own, its error, so
/// that one answer names every bad key (a config file is fixed in one pass,
/// not one key per try).
struct config_outcome {
    result<void> outcome;
    std::map<std::string, error_info> alone;
    bool needs_restart = false;  ///< a key set takes effect at restart
    uint64_t revision = 0;
    /// False when every value was already in place (checked on linearizable
    /// tables): nothing was proposed. Also false with validate_only.
    bool changed = false;
};

/// Whole-call errors: a malformed session.
void set_cluster_config(core& c, const v1::SetClusterConfigRequest& req, const command_meta& meta,
                        then_fn<result<config_outcome>> then);

result<v1::GetClusterConfigResponse> get_cluster_config(core& c,
                                                        const v1::GetClusterConfigRequest& req);

}  // namespace fjord::frontend
