// File: controller/shadow/source.cc
//
// The source-cluster connection of a shadow link (source.h): client options
// from the link, the bootstrap servers tried in order, and the questions
// the tasks and the preflight ask.

#include "controller/shadow/source.h"

#include "common/kafka/client/shadow_options.h"

#include <limits>

#include <fmt/format.h>

#include "common/cluster/errc.h"
#include "common/cluster/shadow_link.h"
#include "common/kafka/api_keys.h"
#include "common/kafka/messages/describe_acls.h"
#include "common/kafka/messages/describe_configs.h"
#include "common/kafka/messages/fetch.h"
#include "common/kafka/messages/find_coordinator.h"
#include "common/kafka/messages/list_groups.h"
#include "common/kafka/messages/list_offsets.h"
#include "common/kafka/messages/metadata.h"
#include "common/kafka/messages/offset_fetch.h"
#include "common/tls/tls.h"

namespace fjord::shadow {
namespace {

namespace k = fjord::kafka;
using cluster::errc;
using kafka::client::wire_client;

constexpr int16_t key(k::api_key a) {
    return static_cast<int16_t>(a);
}

// Kafka error codes the tasks tell apart.
constexpr int16_t unknown_topic_or_partition = 3;
constexpr int16_t topic_authorization_failed = 29;
constexpr int16_t cluster_authorization_failed = 31;
constexpr int16_t security_disabled = 54;
// DescribeConfigs: resource type TOPIC, config source DYNAMIC_TOPIC_CONFIG.
constexpr int8_t config_resource_topic = 2;
constexpr int8_t config_source_topic = 1;

std::string kafka_error_name(int16_t code) {
    switch (code) {
        case unknown_topic_or_partition:
            return "UNKNOWN_TOPIC_OR_PARTITION";
        case topic_authorization_failed:
            return "TOPIC_AUTHORIZATION_FAILED";
        case cluster_authorization_failed:
            return "CLUSTER_AUTHORIZATION_FAILED";
        case security_disabled:
            return "SECURITY_DISABLED";
        default:
            return fmt::format("Kafka error {}", code);
    }
}

/// The 36-character text of a Kafka topic id; empty for the all-zero id.
std::string uuid_text(const k::uuid& u) {
    if (u.high == 0 && u.low == 0) {
        return {};
    }
    const std::string hex = fmt::format("{:016x}{:016x}", u.high, u.low);
    return fmt::format("{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4),
                       hex.substr(16, 4), hex.substr(20, 12));
}

/// Tries each bootstrap server in order; the reasons of every failure when
/// none answers.
result<std::unique_ptr<wire_client>> dial(const v1::ShadowLink& link) {
    const v1::ShadowClientOptions& co = link.config().client_options();
    auto opts = make_client_options(co);
    if (!opts) {
        return opts.error();
    }
    if (co.bootstrap_servers().empty()) {
        return error_info::for_field(errc::invalid_argument, "client_options.bootstrap_servers",
                                     "at least one source broker is required");
    }
    std::vector<std::string> reasons;
    for (const std::string& address : co.bootstrap_servers()) {
        auto c = wire_client::open(address, *opts);
        if (c) {
            return std::move(*c);
        }
        reasons.push_back(c.error().detail);
    }
    return error_info(errc::shadow_link_unreachable, fmt::format("{}", fmt::join(reasons, "; ")));
}

/// A failed call on an open connection: the source is not usable right now.
error_info unreachable(const error_info& e) {
    return error_info(errc::shadow_link_unreachable, e.detail);
}

error_info unsupported(const wire_client& c, std::string_view api, int16_t code, int16_t min,
                       int16_t max) {
    const auto served = c.version_for(code, 0, std::numeric_limits<int16_t>::max());
    return error_info(errc::shadow_link_unsupported_api,
                      served ? fmt::format("the source {} does not serve {} v{}-{} (it serves up "
                                           "to v{})",
                                           c.address(), api, min, max, *served)
                             : fmt::format("the source {} does not serve {} (v{}-{} needed)",
                                           c.address(), api, min, max));
}

class wire_source final : public source_client {
  public:
    explicit wire_source(std::unique_ptr<wire_client> c) : _c(std::move(c)) {}

    result<source_metadata> metadata() override {
        k::metadata_request req;
        req.topics = std::nullopt;  // every topic
        auto resp = call_metadata(req);
        if (!resp) {
            return resp.error();
        }
        source_metadata out;
        out.cluster_id = resp->cluster_id.value_or("");
        for (const auto& t : resp->topics) {
            if (t.error_code != 0 || !t.name || t.partitions.empty()) {
                continue;
            }
            source_topic st;
            st.name = *t.name;
            st.id = uuid_text(t.topic_id);
            st.partitions = static_cast<int32_t>(t.partitions.size());
            for (const auto& p : t.partitions) {
                if (p.partition_index == 0) {
                    st.replication_factor =
                        std::max<int32_t>(1, static_cast<int32_t>(p.replica_nodes.size()));
                }
            }
            out.topics.emplace(st.name, std::move(st));
        }
        return out;
    }

    result<std::set<std::string>> absent_topics(const std::vector<std::string>& names) override {
        std::set<std::string> out;
        if (names.empty()) {
            return out;
        }
        k::metadata_request req;
        req.topics.emplace();
        for (const std::string& n : names) {
            k::metadata_request::metadata_request_topic t;
            t.name = n;
            req.topics->push_back(std::move(t));
        }
        auto resp = call_metadata(req);
        if (!resp) {
            return resp.error();
        }
        for (const auto& t : resp->topics) {
            if (t.error_code == unknown_topic_or_partition && t.name) {
                out.insert(*t.name);
            }
        }
        return out;
    }

    result<std::map<std::string, std::map<std::string, std::string>>> topic_configs(
        const std::vector<std::string>& topics, const std::vector<std::string>& keys) override {
        std::map<std::string, std::map<std::string, std::string>> out;
        if (topics.empty()) {
            return out;
        }
        const auto v = _c->version_for(key(k::api_key::describe_configs), 0,
                                       k::describe_configs_request::max_version);
        if (!v) {
            return unsupported(*_c, "DescribeConfigs", key(k::api_key::describe_configs), 0,
                               k::describe_configs_request::max_version);
        }
        // A bounded request per batch of topics: a source with thousands of
        // topics answers in pieces the frame limit allows.
        constexpr size_t batch = 200;
        for (size_t i = 0; i < topics.size(); i += batch) {
            k::describe_configs_request req;
            for (size_t j = i; j < std::min(topics.size(), i + batch); ++j) {
                k::describe_configs_request::describe_configs_resource r;
                r.resource_type = config_resource_topic;
                r.resource_name = topics[j];
                r.configuration_keys = keys;
                req.resources.push_back(std::move(r));
            }
            auto resp =
                _c->call<k::describe_configs_request, k::describe_configs_response>(req, *v);
            if (!resp) {
                return unreachable(resp.error());
            }
            for (const auto& r : resp->results) {
                if (r.error_code != 0) {
                    continue;  // refused or gone: absent (the caller skips it this pass)
                }
                auto& values = out[r.resource_name];
                for (const auto& c : r.configs) {
                    const bool set_on_topic =
                        *v == 0 ? !c.is_default : c.config_source == config_source_topic;
                    if (set_on_topic && c.value && !c.is_sensitive) {
                        values[c.name] = *c.value;
                    }
                }
            }
        }
        return out;
    }

    result<std::vector<v1::AclBinding>> describe_acls(const v1::AclFilter& f) override {
        const auto v = _c->version_for(key(k::api_key::describe_acls), 1,
                                       k::describe_acls_request::max_version);
        if (!v) {
            return unsupported(*_c, "DescribeAcls", key(k::api_key::describe_acls), 1,
                               k::describe_acls_request::max_version);
        }
        // UNSPECIFIED (0) is ANY (1) in an AclFilter; the proto enums carry
        // Kafka's codes otherwise.
        const auto any = [](int value) { return static_cast<int8_t>(value == 0 ? 1 : value); };
        k::describe_acls_request req;
        req.resource_type_filter = any(f.resource_type());
        req.resource_name_filter =
            f.has_resource_name() ? std::optional(f.resource_name()) : std::nullopt;
        req.pattern_type_filter = any(f.pattern_type());
        req.principal_filter = f.has_principal() ? std::optional(f.principal()) : std::nullopt;
        req.host_filter = f.has_host() ? std::optional(f.host()) : std::nullopt;
        req.operation = any(f.operation());
        req.permission_type = any(f.permission());
        auto resp = _c->call<k::describe_acls_request, k::describe_acls_response>(req, *v);
        if (!resp) {
            return unreachable(resp.error());
        }
        if (resp->error_code != 0) {
            return error_info(errc::invalid_argument,
                              fmt::format("the source {} refused DescribeAcls: {}{}", _c->address(),
                                          kafka_error_name(resp->error_code),
                                          resp->error_message && !resp->error_message->empty()
                                              ? fmt::format(" ({})", *resp->error_message)
                                              : std::string()));
        }
        std::vector<v1::AclBinding> out;
        for (const auto& r : resp->resources) {
            for (const auto& a : r.acls) {
                v1::AclBinding b;
                b.set_resource_type(static_cast<v1::AclResourceType>(r.resource_type));
                b.set_resource_name(r.resource_name);
                b.set_pattern_type(static_cast<v1::AclPatternType>(r.pattern_type));
                b.set_principal(a.principal);
                b.set_host(a.host);
                b.set_operation(static_cast<v1::AclOperation>(a.operation));
                b.set_permission(static_cast<v1::AclPermission>(a.permission_type));
                out.push_back(std::move(b));
            }
        }
        return out;
    }

    wire_client& client() { return *_c; }

  private:
    result<k::metadata_response> call_metadata(k::metadata_request& req) {
        const auto v =
            _c->version_for(key(k::api_key::metadata), 2, k::metadata_request::max_version);
        if (!v) {
            return unsupported(*_c, "Metadata", key(k::api_key::metadata), 2,
                               k::metadata_request::max_version);
        }
        req.allow_auto_topic_creation = false;
        auto resp = _c->call<k::metadata_request, k::metadata_response>(req, *v);
        if (!resp) {
            return unreachable(resp.error());
        }
        return resp;
    }

    std::unique_ptr<wire_client> _c;
};

}  // namespace

const std::vector<required_api>& required_apis() {
    static const std::vector<required_api> apis = {
        {key(k::api_key::metadata), "Metadata", 2, k::metadata_request::max_version},
        {key(k::api_key::list_offsets), "ListOffsets", 1, k::list_offsets_request::max_version},
        // The fetchers' range (broker/shadow): v4 brings the isolation level
        // and the last stable offset, v12 is the last before topic ids.
        {key(k::api_key::fetch), "Fetch", 4, 12},
        {key(k::api_key::offset_fetch), "OffsetFetch", 1, k::offset_fetch_request::max_version},
        {key(k::api_key::list_groups), "ListGroups", 0, k::list_groups_request::max_version},
        {key(k::api_key::find_coordinator), "FindCoordinator", 0,
         k::find_coordinator_request::max_version},
        {key(k::api_key::describe_configs), "DescribeConfigs", 0,
         k::describe_configs_request::max_version},
        {key(k::api_key::describe_acls), "DescribeAcls", 1, k::describe_acls_request::max_version},
    };
    return apis;
}

result<kafka::client::client_options> make_client_options(const v1::ShadowClientOptions& o) {
    // One conversion for the controller and the brokers (shadow_options.h).
    return kafka::client::client_options_for(o, "fjord-shadow");
}

result<std::unique_ptr<source_client>> connect(const v1::ShadowLink& link) {
    auto c = dial(link);
    if (!c) {
        return c.error();
    }
    return std::unique_ptr<source_client>(std::make_unique<wire_source>(std::move(*c)));
}

result<void> preflight(const v1::ShadowLink& link) {
    auto c = dial(link);
    if (!c) {
        return c.error();
    }
    for (const required_api& api : required_apis()) {
        if (!(*c)->version_for(api.key, api.min, api.max)) {
            return unsupported(**c, api.name, api.key, api.min, api.max);
        }
    }
    wire_source src(std::move(*c));
    auto md = src.metadata();
    if (!md) {
        return md.error();
    }
    const std::string& want = link.config().client_options().source_cluster_id();
    if (!want.empty() && md->cluster_id != want) {
        return error_info::for_field(errc::shadow_link_unreachable,
                                     "client_options.source_cluster_id",
                                     fmt::format("the source {} is cluster \"{}\", not \"{}\"",
                                                 src.client().address(), md->cluster_id, want));
    }
    return ok();
}

}  // namespace fjord::shadow
