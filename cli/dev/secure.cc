// File: cli/dev/secure.cc

#include "cli/dev/secure.h"

#include "cli/dev/pki.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/context.h"
#include "cli/security/password.h"

namespace fjord::cli::dev {
namespace {

error_info step_failed(const char* step, const std::string& why) {
    return error_info(std::make_error_code(std::errc::io_error),
                      fmt::format("turning security on ({}): {}", step, why));
}

/// The settings of a client of `c`'s controllers, with the superuser's
/// credentials when `authenticated`.
settings client_settings(const cluster& c, bool authenticated, std::chrono::milliseconds timeout) {
    settings s;
    s.controllers.clear();
    for (const auto& m : c.members) {
        s.controllers.push_back(m.api_address());
    }
    s.command_timeout = timeout;
    s.retry_timeout = timeout;
    if (c.tls) {
        s.admin_tls_ca = ca_cert_file(c).string();
    }
    if (authenticated) {
        s.user = c.sasl->user;
        s.pass = c.sasl->password;
    }
    return s;
}

/// The elements of a list config value ("a, b" -> a, b), as config_schema reads it.
std::vector<std::string> split_list(const std::string& v) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos <= v.size()) {
        const size_t comma = std::min(v.find(',', pos), v.size());
        std::string one = v.substr(pos, comma - pos);
        one.erase(0, one.find_first_not_of(' '));
        one.erase(one.find_last_not_of(' ') + 1);
        if (!one.empty()) {
            out.push_back(std::move(one));
        }
        pos = comma + 1;
    }
    return out;
}

/// Every key's result is OK, or the first failure as text.
std::string config_failure(const v1::SetClusterConfigResponse& r) {
    for (const auto& [key, result] : r.results()) {
        if (result.code() != v1::OK) {
            return fmt::format("{}: {} {}", key, v1::ErrorCode_Name(result.code()),
                               result.message());
        }
    }
    return {};
}

result<void> set_config(ctl& client, const std::map<std::string, std::string>& values,
                        std::chrono::milliseconds timeout, const char* step) {
    v1::SetClusterConfigRequest req;
    for (const auto& [k, v] : values) {
        (*req.mutable_upsert())[k] = v;
    }
    auto r = controller_client::wait_for(client, &ctl::set_cluster_config, req, timeout);
    if (!r) {
        return step_failed(step, r.error().detail);
    }
    if (auto why = config_failure(*r); !why.empty()) {
        return step_failed(step, why);
    }
    return ok();
}

}  // namespace

sasl_state new_superuser() {
    sasl_state s;
    s.user = "admin";
    s.password = security_cli::generate_password();
    s.mechanism = "SCRAM-SHA-256";
    s.progress = sasl_state::stage::fresh;
    return s;
}

result<void> secure(cluster& c, std::chrono::milliseconds timeout) {
    using stage = sasl_state::stage;
    if (!c.sasl || c.sasl->progress == stage::secured) {
        return ok();
    }
    if (c.sasl->progress == stage::fresh) {
        auto client = make_controller_client(client_settings(c, false, timeout));
        if (!client) {
            return step_failed("connecting", client.error().detail);
        }
        v1::UpdateUserRequest req;
        req.set_name(c.sasl->user);
        req.set_password(c.sasl->password);
        req.set_mechanism(c.sasl->mechanism);
        req.set_create_if_missing(true);
        auto r = controller_client::wait_for(**client, &ctl::update_user, req, timeout);
        if (!r) {
            return step_failed("creating the superuser", r.error().detail);
        }
        if (r->result().code() != v1::OK) {
            return step_failed("creating the superuser",
                               fmt::format("{} {}", v1::ErrorCode_Name(r->result().code()),
                                           r->result().message()));
        }
        c.sasl->progress = stage::user_created;
        if (auto saved = save_sasl(c); !saved) {
            return saved;
        }
    }
    auto client = make_controller_client(client_settings(c, true, timeout));
    if (!client) {
        return step_failed("connecting", client.error().detail);
    }
    // Superusers first, keeping any already named.
    v1::GetClusterConfigRequest get;
    get.add_keys("superusers");
    auto current = controller_client::wait_for(**client, &ctl::get_cluster_config, get, timeout);
    if (!current) {
        return step_failed("reading superusers", current.error().detail);
    }
    std::vector<std::string> supers;
    for (const auto& e : current->entries()) {
        if (e.key() == "superusers") {
            supers = split_list(e.value());
        }
    }
    if (std::find(supers.begin(), supers.end(), c.sasl->user) == supers.end()) {
        supers.push_back(c.sasl->user);
        if (auto r =
                set_config(**client, {{"superusers", fmt::format("{}", fmt::join(supers, ","))}},
                           timeout, "naming the superuser");
            !r) {
            return r;
        }
    }
    // Then the switches, together.
    if (auto r = set_config(**client,
                            {{"enable_sasl", "true"},
                             {"kafka_enable_authorization", "true"},
                             {"admin_api_require_auth", "true"}},
                            timeout, "turning on SASL and authorization");
        !r) {
        return r;
    }
    c.sasl->progress = stage::secured;
    return save_sasl(c);
}

}  // namespace fjord::cli::dev
