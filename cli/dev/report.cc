// File: cli/dev/report.cc

#include "cli/dev/report.h"

#include "cli/dev/pki.h"

#include <iostream>

#include <fmt/format.h>

#include "cli/context.h"
#include "cli/output/printer.h"

namespace fjord::cli::dev {
namespace {

// The pieces of the `--format help` schemas.
constexpr const char* member_schema =
    "{\"id\": int, \"pid\": int|null, \"alive\": bool, \"api\": \"host:port\", "
    "\"peer\": \"host:port\", \"metrics\": \"host:port\", \"role\": "
    "\"leader\"|\"follower\"|...|null, \"log\": path, \"error\"?: string}";
constexpr const char* broker_schema =
    "{\"id\": int, \"pid\": int|null, \"alive\": bool, \"ready\": bool, \"kafka\": "
    "\"host:port\", \"metrics\": \"host:port\", \"log\": path, \"error\"?: \"not "
    "running\"|\"not ready\"}";
constexpr const char* stop_item_schema =
    "{\"id\": int, \"result\": \"not running\"|\"stopped\"|\"killed ...\"|\"still running "
    "after SIGKILL\", \"pid\"?: int, \"seconds\"?: float}";

}  // namespace

const std::string start_schema = fmt::format(
    "{{\"state_dir\": path, \"cluster_uuid\": string, \"leader_id\": int, "
    "\"controllers\": \"host:port,...\", \"bootstrap_servers\": \"host:port,...\", "
    "\"profile\": string|null, \"members\": [{}], \"brokers\": [{}], \"sasl\": "
    "{{\"user\": string, \"mechanism\": string, \"credentials_file\": path}}|null}}\n",
    member_schema, broker_schema);
const std::string status_schema = fmt::format(
    "{{\"state_dir\": path, \"running\": bool, \"cluster_uuid\": string, \"leader_id\": int, "
    "\"controllers\": \"host:port,...\", \"bootstrap_servers\": \"host:port,...\", "
    "\"members\": [{}], \"brokers\": [{}]}}\n",
    member_schema, broker_schema);
const std::string stop_schema = fmt::format(
    "{{\"state_dir\": path, \"was_running\": bool, \"brokers\": [{}], \"members\": [{}]}}\n",
    stop_item_schema, stop_item_schema);
const std::string purge_schema = fmt::format(
    "{{\"state_dir\": path, \"removed\": bool, \"left\"?: [file name], \"profile_deleted\"?: "
    "bool, \"was_running\"?: bool, \"brokers\"?: [{}], \"members\"?: [{}]}}\n",
    stop_item_schema, stop_item_schema);

bool begin(cli_context& ctx, const std::string& schema) {
    if (!ctx.prepare_output()) {
        return false;
    }
    if (ctx.format() == output_format::help) {
        std::cout << schema;
        return false;
    }
    return true;
}

std::string plural(size_t n, const char* noun) {
    return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

json members_json(const cluster& c, const std::vector<member_view>& views) {
    json out = json::array();
    for (size_t i = 0; i < c.members.size(); ++i) {
        const auto& m = c.members[i];
        const auto& v = views[i];
        json j = {{"id", m.id},
                  {"pid", v.pid ? json(*v.pid) : json(nullptr)},
                  {"alive", v.pid.has_value()},
                  {"api", m.api_address()},
                  {"peer", m.peer_address()},
                  {"metrics", m.metrics_address()},
                  {"role", v.role.empty() ? json(nullptr) : json(v.role)},
                  {"log", m.log().string()}};
        if (!v.error.empty()) {
            j["error"] = v.error;
        }
        out.push_back(std::move(j));
    }
    return out;
}

std::string members_table(const cluster& c, const std::vector<member_view>& views) {
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < c.members.size(); ++i) {
        const auto& m = c.members[i];
        const auto& v = views[i];
        rows.push_back({std::to_string(m.id), v.pid ? std::to_string(*v.pid) : "-",
                        v.pid ? "yes" : "no", m.api_address(), m.peer_address(),
                        m.metrics_address(), v.role.empty() ? "(" + v.error + ")" : v.role});
    }
    return render_table({"id", "pid", "alive", "api", "peer", "metrics", "role"}, rows);
}

json brokers_json(const cluster& c, const std::vector<broker_view>& views) {
    json out = json::array();
    for (size_t i = 0; i < c.brokers.size(); ++i) {
        const auto& b = c.brokers[i];
        const auto& v = views[i];
        json j = {{"id", b.id},
                  {"pid", v.pid ? json(*v.pid) : json(nullptr)},
                  {"alive", v.pid.has_value()},
                  {"ready", v.ready},
                  {"kafka", b.kafka_address()},
                  {"metrics", b.metrics_address()},
                  {"log", b.log().string()}};
        if (!v.error.empty()) {
            j["error"] = v.error;
        }
        out.push_back(std::move(j));
    }
    return out;
}

std::string brokers_table(const cluster& c, const std::vector<broker_view>& views) {
    if (c.brokers.empty()) {
        return "brokers: none (the dev cluster was created with --brokers 0)\n";
    }
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < c.brokers.size(); ++i) {
        const auto& b = c.brokers[i];
        const auto& v = views[i];
        rows.push_back({std::to_string(b.id), v.pid ? std::to_string(*v.pid) : "-",
                        v.pid ? "yes" : "no", b.kafka_address(), b.metrics_address(),
                        v.ready ? "yes" : "no"});
    }
    return "brokers:\n" + render_table({"id", "pid", "alive", "kafka", "metrics", "ready"}, rows);
}

void print_started(cli_context& ctx, const dev_options& o, const cluster& c, const readiness& r,
                   const std::string& profile_path, const std::string& headline) {
    const std::string profile_name = profile_of(o);
    // How a command reaches this cluster: through the current profile for
    // the default one, with --profile NAME for a named one.
    const std::string via = o.name.empty() ? "" : fmt::format("--profile {} ", o.name);
    json doc = {{"state_dir", c.state_dir.string()},
                {"cluster_uuid", r.uuid},
                {"leader_id", r.leader},
                {"controllers", c.controllers()},
                {"bootstrap_servers", c.kafka_brokers()},
                {"profile", profile_path.empty() ? json(nullptr) : json(profile_name)},
                {"members", members_json(c, r.members)},
                {"brokers", brokers_json(c, r.brokers)},
                {"sasl", c.sasl ? json{{"user", c.sasl->user},
                                       {"mechanism", c.sasl->mechanism},
                                       {"credentials_file", sasl_file(c.state_dir).string()}}
                                : json(nullptr)}};
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        std::string out = headline + "\n\ncontrollers:\n" + members_table(c, r.members) + "\n" +
                          brokers_table(c, r.brokers) + "\n";
        if (!profile_path.empty() && o.name.empty()) {
            out +=
                fmt::format("Profile \"{}\" is selected ({}). Try:\n", profile_name, profile_path);
        } else if (!profile_path.empty()) {
            out += fmt::format(
                "Profile \"{}\" is written ({}); the current profile is unchanged. Try:\n",
                profile_name, profile_path);
        } else {
            out += fmt::format("Reach it with: export FJORD_CONTROLLERS={}\nthen try:\n",
                               c.controllers());
        }
        if (profile_path.empty()) {
            out += "  fjord controller status\n  fjord topic list\n";
        } else {
            out += fmt::format("  fjord {}controller status\n  fjord {}topic list\n", via, via);
        }
        if (!c.brokers.empty()) {
            // kcat's flags for this cluster's listener: SSL and/or SASL.
            std::string flags;
            if (c.sasl) {
                flags = fmt::format(
                    " -X security.protocol={} -X sasl.mechanisms={} -X sasl.username={} -X "
                    "sasl.password=...",
                    c.tls ? "SASL_SSL" : "SASL_PLAINTEXT", c.sasl->mechanism, c.sasl->user);
            } else if (c.tls) {
                flags = " -X security.protocol=SSL";
            }
            if (c.tls) {
                flags += fmt::format(" -X ssl.ca.location={}", ca_cert_file(c).string());
            }
            out += fmt::format("  kcat -b {}{} -L\n", c.brokers.front().kafka_address(), flags);
        }
        if (!profile_path.empty()) {
            out += fmt::format("Without the profile: -X controllers={} (or FJORD_CONTROLLERS)\n",
                               c.controllers());
        }
        if (c.tls) {
            out += fmt::format(
                "TLS is on for every listener, with certificates from the dev CA {} (the {} "
                "profile trusts it: tls.ca, admin.tls.ca).\n",
                ca_cert_file(c).string(), profile_name);
        }
        if (c.sasl) {
            out += fmt::format(
                "Security is on (SASL, ACL authorization, controller API authentication).\n"
                "Superuser \"{}\" ({}); its password is in {} (mode 0600){}.\n",
                c.sasl->user, c.sasl->mechanism, sasl_file(c.state_dir).string(),
                profile_path.empty()
                    ? ""
                    : fmt::format(" and in the {} profile (user, pass, sasl.mechanism)",
                                  profile_name));
        }
        if (!c.brokers.empty()) {
            out += fmt::format("Kafka clients: bootstrap servers {}\n", c.kafka_brokers());
        }
        out += fmt::format(
            "Logs: {}/{{controller,broker}}-<id>/log. Stop: fjord dev stop{}. Remove: "
            "fjord dev purge{}.\n",
            c.state_dir.string(), name_flag(o), name_flag(o));
        return out;
    });
}

}  // namespace fjord::cli::dev
