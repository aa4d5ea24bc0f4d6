#pragma once
// File: cli/dev/secure.h
//
// `fjord dev start --sasl`: turning security on in a running dev cluster
// without ever locking it out. The steps, each saved in sasl.json
// (state.h, sasl_state::progress) once the controller has answered it, so
// an interrupted start resumes where it stopped:
//   1. the superuser (SCRAM-SHA-256, generated password): UpdateUser with
//      create_if_missing, an upsert, so a repeat after a lost answer is
//      harmless; sent without credentials, since none are required yet;
//   2. cluster config superusers += that user (with its credentials from
//      here on: the controller accepts them whether or not it requires them);
//   3. enable_sasl, kafka_enable_authorization and admin_api_require_auth,
//      in one change.
// When 3 takes effect, a superuser already exists and the CLI already
// holds its password: nothing is locked out. Brokers start after this
// (their configs carry the same credential), so they never see a cluster
// whose security is half on.

#include <chrono>

#include "cli/dev/state.h"
#include "common/result.h"

namespace fjord::cli::dev {

/// A new superuser for a cluster about to be created: user "admin", a
/// generated 30-character password, SCRAM-SHA-256, nothing done yet.
sasl_state new_superuser();

/// Runs the steps above that c.sasl's progress has not reached (and saves
/// the progress after each); an error names the step and the controller's
/// answer. `timeout` bounds each call.
result<void> secure(cluster& c, std::chrono::milliseconds timeout);

}  // namespace fjord::cli::dev
