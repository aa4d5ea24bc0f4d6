// File: broker/kafka/admin_api.cc
//
// The handlers behind admin_api.h. Each decodes its request on the io
// thread, refuses per item what Kafka refuses before any validation (a name
// twice in one request, manual replica assignments, null config values),
// sends the rest to the controller in one call, and answers every item in
// request order: the controller's result (errors.h translates it), or the
// refusal. Error messages are the controller's, without the item's position
// in the controller request (the Kafka response already says which item).

#include "broker/kafka/admin_api.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "broker/kafka/errors.h"
#include "common/cluster/config_schema.h"
#include "common/cluster/topic_name.h"
#include "common/kafka/messages/alter_configs.h"
#include "common/kafka/messages/create_partitions.h"
#include "common/kafka/messages/create_topics.h"
#include "common/kafka/messages/delete_topics.h"
#include "common/kafka/messages/describe_cluster.h"
#include "common/kafka/messages/describe_configs.h"
#include "common/kafka/messages/incremental_alter_configs.h"
#include "common/log.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;
using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
constexpr const char* component = "kafka-admin";

constexpr served_api served[] = {
    {kafka::api_key::create_topics, 0, 7},     {kafka::api_key::delete_topics, 0, 6},
    {kafka::api_key::describe_configs, 0, 4},  {kafka::api_key::alter_configs, 0, 2},
    {kafka::api_key::create_partitions, 0, 3}, {kafka::api_key::incremental_alter_configs, 0, 1},
    {kafka::api_key::describe_cluster, 0, 1},
};

/// Kafka's ConfigResource.Type values.
constexpr int8_t resource_topic = 2;
constexpr int8_t resource_broker = 4;
constexpr int8_t resource_broker_logger = 8;

/// DescribeCluster's EndpointType values.
constexpr int8_t endpoint_brokers = 1;
constexpr int8_t endpoint_controllers = 2;

/// A per-item answer: the Kafka code and, on failure, the message.
struct outcome {
    int16_t code = k::none;
    std::optional<std::string> message;
};

/// "topics[2].partitions: reason" -> "partitions: reason";
/// "names[0]: reason" -> "reason".
std::string without_position(const std::string& m) {
    const size_t open = m.find('[');
    const size_t close = m.find(']');
    if (open == 0 || open == std::string::npos || close == std::string::npos || close < open + 2) {
        return m;
    }
    for (size_t i = 0; i < open; ++i) {
        if (std::isalnum(static_cast<unsigned char>(m[i])) == 0 && m[i] != '_') {
            return m;
        }
    }
    for (size_t i = open + 1; i < close; ++i) {
        if (std::isdigit(static_cast<unsigned char>(m[i])) == 0) {
            return m;
        }
    }
    if (m.compare(close + 1, 1, ".") == 0) {
        return m.substr(close + 2);
    }
    if (m.compare(close + 1, 2, ": ") == 0) {
        return m.substr(close + 3);
    }
    return m;
}

outcome outcome_of(const v1::ItemResult& r) {
    const int16_t code = kafka_error(r.code(), r.field());
    if (code == k::none) {
        return {};
    }
    return {code, without_position(r.message())};
}

/// Every item of a call that failed as a whole.
outcome outcome_of(const error_info& e) {
    return {kafka_error_for_controller_call(e.code), e.detail};
}

/// The controller's answer has fewer items than it was sent (a bug).
outcome missing_item() {
    return {k::unknown_server_error, "the controller's answer has no result for this item"};
}

/// Item `i` of a controller answer: its result, or the call's failure.
template <typename Resp>
outcome outcome_at(const result<Resp>& r, size_t i) {
    if (!r) {
        return outcome_of(r.error());
    }
    if (i >= static_cast<size_t>(r->topics_size())) {
        return missing_item();
    }
    return outcome_of(r->topics(static_cast<int>(i)).result());
}

/// Refusing a topic Kafka-style: an invalid name is INVALID_TOPIC_EXCEPTION,
/// a valid one the cache does not hold UNKNOWN_TOPIC_OR_PARTITION.
/// The refusal of an admin change to an internal topic (api_module.h).
std::optional<outcome> refuse_internal(const std::string& name) {
    if (!cluster::is_internal_topic(name)) {
        return std::nullopt;
    }
    return outcome{k::invalid_request,
                   fmt::format("topic \"{}\" is internal: the group coordinator owns it", name)};
}

outcome no_such_topic(const std::string& name) {
    if (auto r = cluster::validate_topic_name(name); !r) {
        return {k::invalid_topic_exception, r.error().detail};
    }
    return {k::unknown_topic_or_partition, fmt::format("topic \"{}\" does not exist", name)};
}

std::string uuid_text(const kafka::uuid& u) {
    const std::string h = fmt::format("{:016x}{:016x}", u.high, u.low);
    return fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4),
                       h.substr(16, 4), h.substr(20));
}

const char* resource_type_name(int8_t t) {
    switch (t) {
        case resource_topic:
            return "TOPIC";
        case resource_broker:
            return "BROKER";
        case resource_broker_logger:
            return "BROKER_LOGGER";
        default:
            return "unknown";
    }
}

/// A resource type Kafka defines but nothing here serves, or one it does
/// not define.
outcome unsupported_resource(int8_t type) {
    if (type == resource_broker_logger) {
        return {k::invalid_request,
                "resource_type: BROKER_LOGGER (8) is not supported: the broker's log level is "
                "broker.yaml's log_level"};
    }
    return {k::invalid_request,
            fmt::format("resource_type: {} is not supported (TOPIC 2, BROKER 4)",
                        static_cast<int>(type))};
}

}  // namespace

/// One request between serve() and its reply.
struct admin_api::pending {
    kafka::request_view rq;  ///< header only: the body is gone after serve()
    connection_info conn;
    reply_fn reply;
    clock::time_point deadline;
    bool wait = true;  ///< answer only once the cache has applied the change
    std::string what;  ///< the API, for log lines
};

/// The handlers, with access to admin_api's state (io thread).
struct admin_api::handlers {
    admin_api& api;

    std::shared_ptr<pending> make_pending(const kafka::request_view& rq,
                                          const connection_info& conn, const reply_fn& reply,
                                          milliseconds timeout, bool wait) {
        auto p = std::make_shared<pending>();
        p->rq = rq;
        p->rq.body = {};
        p->conn = conn;
        p->reply = reply;
        p->deadline = clock::now() + timeout;
        p->wait = wait;
        p->what = std::string(rq.api->name);
        return p;
    }

    /// The call's timeout and whether to wait for the cache (admin_api.h).
    std::pair<milliseconds, bool> timeout_of(int32_t timeout_ms) const {
        if (timeout_ms <= 0) {
            return {api._o.default_timeout, false};
        }
        return {std::min(milliseconds(timeout_ms), api._o.max_timeout), true};
    }

    /// A controller_client `done` that runs `fn` on the io thread.
    template <typename Resp>
    controller_client::done_fn<Resp> on_io(std::function<void(result<Resp>)> fn) {
        admin_api* self = &api;
        return [self, post = api._post, fn = std::move(fn)](result<Resp> r) {
            auto shared = std::make_shared<result<Resp>>(std::move(r));
            post(milliseconds(0), [self, fn, shared] {
                if (!self->_stopped) {
                    fn(std::move(*shared));
                }
            });
        };
    }

    template <typename Resp>
    static std::function<void()> sender(const std::shared_ptr<pending>& p,
                                        std::shared_ptr<Resp> resp) {
        return [p, resp] { send_response(p->rq, *resp, p->reply, p->conn); };
    }

    static void log_outcome(const pending& p, const std::string& item, const outcome& o) {
        if (o.code == k::none) {
            log(log_level::info, component, "{} from {}: {}: done", p.what, p.conn.peer, item);
        } else {
            log(log_level::info, component, "{} from {}: {}: error {}: {}", p.what, p.conn.peer,
                item, o.code, o.message.value_or(""));
        }
    }

    // ------------------------------------------------------------ CreateTopics

    /// What Kafka refuses before asking anyone; nullopt: ask the controller.
    static std::optional<outcome> refuse_create(
        const kafka::create_topics_request::creatable_topic& t, int named) {
        if (auto internal = refuse_internal(t.name)) {
            return internal;
        }
        if (named > 1) {
            return outcome{
                k::invalid_request,
                fmt::format("name: topic \"{}\" is named more than once in the request", t.name)};
        }
        if (!t.assignments.empty()) {
            return outcome{k::invalid_request,
                           "assignments: manual replica assignment is not supported: give "
                           "num_partitions and replication_factor (-1 for the cluster defaults) "
                           "and the controller places the partitions"};
        }
        std::set<std::string> keys;
        for (const auto& c : t.configs) {
            if (!c.value) {
                return outcome{k::invalid_config,
                               fmt::format("configs.{}: a null value is not allowed", c.name)};
            }
            if (!keys.insert(c.name).second) {
                return outcome{k::invalid_request,
                               fmt::format("configs: \"{}\" is named more than once", c.name)};
            }
        }
        return std::nullopt;
    }

    /// v5+: the created topic's partitions, replication factor and configs
    /// (with validate_only: as it would be created); v7: its id (none with
    /// validate_only: the controller's would-be id never exists).
    void fill_created(kafka::create_topics_response::creatable_topic_result& out,
                      const v1::Topic& t, int16_t version, bool validate_only) {
        if (!validate_only) {
            out.topic_id = to_kafka_uuid(t.uuid());
        }
        if (version < 5) {
            return;
        }
        out.num_partitions = t.partitions_size();
        out.replication_factor = static_cast<int16_t>(t.replication_factor());
        out.configs.emplace();
        for (const auto& d : describe_topic(t, api._md)) {
            kafka::create_topics_response::creatable_topic_configs c;
            c.name = d.name;
            c.value = d.value;
            c.read_only = d.read_only;
            c.config_source = static_cast<int8_t>(d.source);
            out.configs->push_back(std::move(c));
        }
    }

    void create_topics(const kafka::request_view& rq, const connection_info& conn,
                       const reply_fn& reply) {
        auto req = decode_request<kafka::create_topics_request>(rq, conn);
        if (!req) {
            reply(reply_t::close_connection());
            return;
        }
        const int16_t version = rq.api_version();
        auto resp = std::make_shared<kafka::create_topics_response>();
        std::map<std::string, int> named;
        for (const auto& t : req->topics) {
            ++named[t.name];
        }
        v1::CreateTopicsRequest call;
        call.set_validate_only(req->validate_only);
        std::vector<size_t> sent;  // the response item of each call item
        for (const auto& t : req->topics) {
            kafka::create_topics_response::creatable_topic_result r;
            r.name = t.name;
            r.error_message = std::nullopt;
            if (auto refused = refuse_create(t, named[t.name])) {
                r.error_code = refused->code;
                r.error_message = refused->message;
            } else {
                auto* item = call.add_topics();
                item->set_name(t.name);
                item->set_partitions(t.num_partitions);
                item->set_replication_factor(t.replication_factor);
                for (const auto& c : t.configs) {
                    (*item->mutable_configs())[c.name] = *c.value;
                }
                sent.push_back(resp->topics.size());
            }
            resp->topics.push_back(std::move(r));
        }
        if (sent.empty()) {
            send_response(rq, *resp, reply, conn);
            return;
        }
        const auto [timeout, wait] = timeout_of(req->timeout_ms);
        const bool validate_only = req->validate_only;
        auto p = make_pending(rq, conn, reply, timeout, wait && !validate_only);
        admin_api* self = &api;
        api._controller.create_topics(
            std::move(call), timeout,
            on_io<v1::CreateTopicsResponse>(
                [self, p, resp, sent, version, validate_only](result<v1::CreateTopicsResponse> r) {
                    handlers h{*self};
                    uint64_t revision = 0;
                    for (size_t i = 0; i < sent.size(); ++i) {
                        auto& out = resp->topics[sent[i]];
                        const outcome o = outcome_at(r, i);
                        out.error_code = o.code;
                        out.error_message = o.message;
                        if (o.code == k::none) {
                            h.fill_created(out, r->topics(static_cast<int>(i)).topic(), version,
                                           validate_only);
                            revision = r->revision();
                        }
                        if (!validate_only) {
                            log_outcome(*p, "create topic " + out.name, o);
                        }
                    }
                    self->answer_after(revision, p, sender(p, resp));
                }));
    }

    // ------------------------------------------------------------ DeleteTopics

    void delete_topics(const kafka::request_view& rq, const connection_info& conn,
                       const reply_fn& reply) {
        auto req = decode_request<kafka::delete_topics_request>(rq, conn);
        if (!req) {
            reply(reply_t::close_connection());
            return;
        }
        const int16_t version = rq.api_version();
        // v0-5 name topics; v6 names or ids.
        std::vector<kafka::delete_topics_request::delete_topic_state> wanted;
        if (version >= 6) {
            wanted = req->topics;
        } else {
            for (const auto& n : req->topic_names) {
                kafka::delete_topics_request::delete_topic_state s;
                s.name = n;
                wanted.push_back(std::move(s));
            }
        }
        auto resp = std::make_shared<kafka::delete_topics_response>();
        std::vector<std::optional<std::string>> names;  // resolved, or nullopt if refused
        std::map<std::string, int> named;
        for (const auto& w : wanted) {
            kafka::delete_topics_response::deletable_topic_result r;
            r.name = w.name ? *w.name : std::string();
            r.topic_id = w.topic_id;
            std::optional<std::string> name = w.name;
            const bool by_id = w.topic_id != kafka::uuid{};
            if (name && by_id) {
                r.error_code = k::invalid_request;
                r.error_message = "topics: give a topic's name or its id, not both";
                name.reset();
            } else if (!name && !by_id) {
                r.error_code = k::invalid_request;
                r.error_message = "topics: a topic's name or its id is required";
            } else if (by_id) {
                r.name = std::nullopt;
                for (const auto& [n, t] : api._md.topics()) {
                    if (to_kafka_uuid(t.uuid()) == w.topic_id) {
                        name = n;
                        r.name = n;
                    }
                }
                if (!name) {
                    r.error_code = k::unknown_topic_id;
                    r.error_message =
                        fmt::format("topic_id: no topic has the id {}", uuid_text(w.topic_id));
                }
            } else if (const v1::Topic* t = api._md.topic(*name); t != nullptr && version >= 6) {
                r.topic_id = to_kafka_uuid(t->uuid());
            }
            if (name) {
                if (auto internal = refuse_internal(*name)) {
                    r.error_code = internal->code;
                    r.error_message = internal->message;
                    name.reset();
                } else {
                    ++named[*name];
                }
            }
            names.push_back(name);
            resp->responses.push_back(std::move(r));
        }
        v1::DeleteTopicsRequest call;
        std::vector<size_t> sent;
        for (size_t i = 0; i < names.size(); ++i) {
            if (!names[i]) {
                continue;
            }
            if (named[*names[i]] > 1) {
                resp->responses[i].error_code = k::invalid_request;
                resp->responses[i].error_message = fmt::format(
                    "topics: topic \"{}\" is named more than once in the request", *names[i]);
                continue;
            }
            call.add_names(*names[i]);
            sent.push_back(i);
        }
        if (sent.empty()) {
            send_response(rq, *resp, reply, conn);
            return;
        }
        const auto [timeout, wait] = timeout_of(req->timeout_ms);
        auto p = make_pending(rq, conn, reply, timeout, wait);
        admin_api* self = &api;
        api._controller.delete_topics(
            std::move(call), timeout,
            on_io<v1::DeleteTopicsResponse>(
                [self, p, resp, sent, names](result<v1::DeleteTopicsResponse> r) {
                    uint64_t revision = 0;
                    for (size_t i = 0; i < sent.size(); ++i) {
                        auto& out = resp->responses[sent[i]];
                        const outcome o = outcome_at(r, i);
                        out.error_code = o.code;
                        out.error_message = o.message;
                        if (o.code == k::none) {
                            revision = r->revision();
                        }
                        log_outcome(*p, "delete topic " + *names[sent[i]], o);
                    }
                    self->answer_after(revision, p, sender(p, resp));
                }));
    }

    // ------------------------------------------------------------ CreatePartitions

    void create_partitions(const kafka::request_view& rq, const connection_info& conn,
                           const reply_fn& reply) {
        auto req = decode_request<kafka::create_partitions_request>(rq, conn);
        if (!req) {
            reply(reply_t::close_connection());
            return;
        }
        auto resp = std::make_shared<kafka::create_partitions_response>();
        std::map<std::string, int> named;
        for (const auto& t : req->topics) {
            ++named[t.name];
        }
        v1::CreatePartitionsRequest call;
        call.set_validate_only(req->validate_only);
        std::vector<size_t> sent;
        for (const auto& t : req->topics) {
            kafka::create_partitions_response::create_partitions_topic_result r;
            r.name = t.name;
            if (auto internal = refuse_internal(t.name)) {
                r.error_code = internal->code;
                r.error_message = internal->message;
            } else if (named[t.name] > 1) {
                r.error_code = k::invalid_request;
                r.error_message = fmt::format(
                    "name: topic \"{}\" is named more than once in the request", t.name);
            } else if (t.assignments && !t.assignments->empty()) {
                r.error_code = k::invalid_request;
                r.error_message =
                    "assignments: manual replica assignment is not supported: give only the "
                    "new count and the controller places the new partitions";
            } else {
                auto* item = call.add_topics();
                item->set_name(t.name);
                item->set_total(t.count);
                sent.push_back(resp->results.size());
            }
            resp->results.push_back(std::move(r));
        }
        if (sent.empty()) {
            send_response(rq, *resp, reply, conn);
            return;
        }
        const auto [timeout, wait] = timeout_of(req->timeout_ms);
        const bool validate_only = req->validate_only;
        auto p = make_pending(rq, conn, reply, timeout, wait && !validate_only);
        admin_api* self = &api;
        api._controller.create_partitions(
            std::move(call), timeout,
            on_io<v1::CreatePartitionsResponse>(
                [self, p, resp, sent, validate_only](result<v1::CreatePartitionsResponse> r) {
                    uint64_t revision = 0;
                    for (size_t i = 0; i < sent.size(); ++i) {
                        auto& out = resp->results[sent[i]];
                        const outcome o = outcome_at(r, i);
                        out.error_code = o.code;
                        out.error_message = o.message;
                        if (o.code == k::none) {
                            revision = r->revision();
                        }
                        if (!validate_only) {
                            log_outcome(*p, "add partitions to " + out.name, o);
                        }
                    }
                    self->answer_after(revision, p, sender(p, resp));
                }));
    }

    // ------------------------------------------------------------ DescribeConfigs

    /// The described configs of one resource, or why not.
    std::pair<std::vector<described_config>, outcome> describe(int8_t type,
                                                               const std::string& name) {
        if (type == resource_topic) {
            const v1::Topic* t = api._md.topic(name);
            if (t == nullptr) {
                return {{}, no_such_topic(name)};
            }
            return {describe_topic(*t, api._md), {}};
        }
        if (type == resource_broker) {
            if (name.empty()) {
                return {describe_broker(api._o.settings, api._md, true), {}};
            }
            int32_t id = 0;
            const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
            if (ec != std::errc() || end != name.data() + name.size()) {
                return {{},
                        {k::invalid_request,
                         fmt::format("resource_name: \"{}\" is not a broker id", name)}};
            }
            if (id != api._o.node_id) {
                return {{},
                        {k::invalid_request,
                         fmt::format("resource_name: this is broker {}, not {}: ask broker {} "
                                     "(or name \"\" for the cluster-wide defaults)",
                                     api._o.node_id, id, id)}};
            }
            return {describe_broker(api._o.settings, api._md, false), {}};
        }
        return {{}, unsupported_resource(type)};
    }

    void describe_configs(const kafka::request_view& rq, const connection_info& conn,
                          const reply_fn& reply) {
        auto req = decode_request<kafka::describe_configs_request>(rq, conn);
        if (!req) {
            reply(reply_t::close_connection());
            return;
        }
        const int16_t version = rq.api_version();
        kafka::describe_configs_response resp;
        for (const auto& res : req->resources) {
            kafka::describe_configs_response::describe_configs_result out;
            out.resource_type = res.resource_type;
            out.resource_name = res.resource_name;
            out.error_message = std::nullopt;
            auto [configs, o] = describe(res.resource_type, res.resource_name);
            out.error_code = o.code;
            out.error_message = o.message;
            for (auto& d : configs) {
                if (res.configuration_keys &&
                    std::find(res.configuration_keys->begin(), res.configuration_keys->end(),
                              d.name) == res.configuration_keys->end()) {
                    continue;  // Kafka leaves keys it does not know out, too
                }
                kafka::describe_configs_response::describe_configs_resource_result c;
                c.name = d.name;
                c.value = d.value;
                c.read_only = d.read_only;
                if (version == 0) {
                    c.is_default = d.source == config_source::default_config;
                }
                c.config_source = static_cast<int8_t>(d.source);
                if (req->include_synonyms) {
                    for (auto& s : d.synonyms) {
                        kafka::describe_configs_response::describe_configs_synonym syn;
                        syn.name = s.name;
                        syn.value = s.value;
                        syn.source = static_cast<int8_t>(s.source);
                        c.synonyms.push_back(std::move(syn));
                    }
                }
                c.config_type = static_cast<int8_t>(d.type);
                c.documentation = req->include_documentation
                                      ? std::optional<std::string>(d.documentation)
                                      : std::nullopt;
                out.configs.push_back(std::move(c));
            }
            resp.results.push_back(std::move(out));
        }
        send_response(rq, resp, reply, conn);
    }

    // ------------------------------------------------------------ AlterConfigs

    /// AlterConfigs (`incremental` false) and IncrementalAlterConfigs: TOPIC
    /// resources become one controller AlterTopicConfigs call.
    template <typename Req, typename Resp>
    void alter_configs(const kafka::request_view& rq, const connection_info& conn,
                       const reply_fn& reply) {
        auto req = decode_request<Req>(rq, conn);
        if (!req) {
            reply(reply_t::close_connection());
            return;
        }
        auto resp = std::make_shared<Resp>();
        std::map<std::pair<int8_t, std::string>, int> named;
        for (const auto& res : req->resources) {
            ++named[{res.resource_type, res.resource_name}];
        }
        v1::AlterTopicConfigsRequest call;
        call.set_validate_only(req->validate_only);
        std::vector<size_t> sent;
        for (const auto& res : req->resources) {
            typename Resp::alter_configs_resource_response out;
            out.resource_type = res.resource_type;
            out.resource_name = res.resource_name;
            out.error_message = std::nullopt;
            outcome o;
            if (named[{res.resource_type, res.resource_name}] > 1) {
                o = {k::invalid_request,
                     fmt::format("resources: {} \"{}\" is named more than once in the request",
                                 resource_type_name(res.resource_type), res.resource_name)};
            } else if (res.resource_type == resource_broker) {
                o = {k::policy_violation,
                     "resource_type: BROKER configs are not altered through Kafka: cluster-wide "
                     "settings belong to the controller (fjord cluster config set KEY=VALUE), "
                     "this broker's own to its broker.yaml"};
            } else if (res.resource_type != resource_topic) {
                o = unsupported_resource(res.resource_type);
            } else if (auto internal = refuse_internal(res.resource_name)) {
                o = *internal;
            } else if (const v1::Topic* t = api._md.topic(res.resource_name); t == nullptr) {
                o = no_such_topic(res.resource_name);
            } else {
                alter_plan plan;
                if constexpr (std::is_same_v<Req, kafka::incremental_alter_configs_request>) {
                    plan = incremental_topic_configs(*t, api._md, res.configs);
                } else {
                    plan = replace_topic_configs(*t, res.configs);
                }
                if (plan.error_code != k::none) {
                    o = {plan.error_code, plan.error_message};
                } else if (!plan.no_op) {
                    *call.add_topics() = std::move(plan.item);
                    sent.push_back(resp->responses.size());
                }
            }
            out.error_code = o.code;
            out.error_message = o.message;
            resp->responses.push_back(std::move(out));
        }
        if (sent.empty()) {
            send_response(rq, *resp, reply, conn);
            return;
        }
        const bool validate_only = req->validate_only;
        auto p = make_pending(rq, conn, reply, api._o.default_timeout, !validate_only);
        admin_api* self = &api;
        api._controller.alter_topic_configs(
            std::move(call), api._o.default_timeout,
            on_io<v1::AlterTopicConfigsResponse>(
                [self, p, resp, sent, validate_only](result<v1::AlterTopicConfigsResponse> r) {
                    uint64_t revision = 0;
                    for (size_t i = 0; i < sent.size(); ++i) {
                        auto& out = resp->responses[sent[i]];
                        const outcome o = outcome_at(r, i);
                        out.error_code = o.code;
                        out.error_message = o.message;
                        if (o.code == k::none) {
                            revision = r->revision();
                        }
                        if (!validate_only) {
                            log_outcome(*p, "alter configs of topic " + out.resource_name, o);
                        }
                    }
                    self->answer_after(revision, p, sender(p, resp));
                }));
    }

    // ------------------------------------------------------------ DescribeCluster

    void describe_cluster(const kafka::request_view& rq, const connection_info& conn,
                          const reply_fn& reply) {
        auto req = decode_request<kafka::describe_cluster_request>(rq, conn);
        if (!req) {
            reply(reply_t::close_connection());
            return;
        }
        kafka::describe_cluster_response resp;
        resp.cluster_id = api._md.cluster_uuid();
        // As Metadata answers: no broker is a Kafka controller here (Fjord's
        // controller is its own Raft group), and admin requests come to any
        // broker, so each names itself.
        resp.controller_id = api._o.node_id;
        if (rq.api_version() >= 1) {
            resp.endpoint_type = req->endpoint_type;
            if (req->endpoint_type == endpoint_controllers) {
                resp.error_code = k::mismatched_endpoint_type;
                resp.error_message =
                    "endpoint_type: this is a broker; Fjord's controllers speak gRPC, not Kafka";
            } else if (req->endpoint_type != endpoint_brokers) {
                resp.error_code = k::unsupported_endpoint_type;
                resp.error_message =
                    fmt::format("endpoint_type: {} is not 1 (brokers) or 2 (controllers)",
                                static_cast<int>(req->endpoint_type));
            }
        }
        if (resp.error_code == k::none) {
            for (const auto& [id, b] : api._md.brokers()) {
                const v1::Endpoint* ep = kafka_endpoint(b);
                if (ep == nullptr) {
                    continue;
                }
                kafka::describe_cluster_response::describe_cluster_broker db;
                db.broker_id = id;
                db.host = ep->host();
                db.port = ep->port();
                if (!b.rack().empty()) {
                    db.rack = b.rack();
                }
                resp.brokers.push_back(std::move(db));
            }
        }
        // Authorized operations stay "not provided" (INT32_MIN) until ACLs land.
        send_response(rq, resp, reply, conn);
    }
};

admin_api::admin_api(admin_options o, metadata_cache& md, controller_client& controller,
                     post_fn post)
    : _o(std::move(o)), _md(md), _controller(controller), _post(std::move(post)) {}

admin_api::~admin_api() = default;

std::span<const served_api> admin_api::apis() const {
    return served;
}

void admin_api::serve(const kafka::request_view& rq, const connection_info& conn,
                      const reply_fn& reply) {
    handlers h{*this};
    switch (static_cast<kafka::api_key>(rq.api_key())) {
        case kafka::api_key::create_topics:
            h.create_topics(rq, conn, reply);
            return;
        case kafka::api_key::delete_topics:
            h.delete_topics(rq, conn, reply);
            return;
        case kafka::api_key::create_partitions:
            h.create_partitions(rq, conn, reply);
            return;
        case kafka::api_key::describe_configs:
            h.describe_configs(rq, conn, reply);
            return;
        case kafka::api_key::alter_configs:
            h.alter_configs<kafka::alter_configs_request, kafka::alter_configs_response>(rq, conn,
                                                                                         reply);
            return;
        case kafka::api_key::incremental_alter_configs:
            h.alter_configs<kafka::incremental_alter_configs_request,
                            kafka::incremental_alter_configs_response>(rq, conn, reply);
            return;
        case kafka::api_key::describe_cluster:
            h.describe_cluster(rq, conn, reply);
            return;
        default:
            reply(reply_t::close_connection());  // not advertised: kafka_api never sends it
            return;
    }
}

void admin_api::on_close(const connection_info& conn) {
    // Their answers would be dropped anyway; stop watching the cache for them.
    std::erase_if(_waiters, [&](const waiter& w) { return w.p->conn.id == conn.id; });
}

void admin_api::answer_after(uint64_t revision, std::shared_ptr<pending> p,
                             std::function<void()> send) {
    if (revision == 0 || !p->wait || _md.applied_revision() >= revision ||
        clock::now() >= p->deadline) {
        send();
        return;
    }
    _waiters.push_back({revision, std::move(p), std::move(send)});
    if (!_polling) {
        _polling = true;
        _post(_o.poll_interval, [this] { poll_waiters(); });
    }
}

void admin_api::poll_waiters() {
    _polling = false;
    if (_stopped) {
        return;
    }
    const auto now = clock::now();
    std::vector<waiter> due;
    std::erase_if(_waiters, [&](waiter& w) {
        const bool applied = _md.applied_revision() >= w.revision;
        if (!applied && now < w.p->deadline) {
            return false;
        }
        if (!applied) {
            log(log_level::warn, component,
                "{} from {}: answering before this broker applied revision {} (it is at {}): "
                "its view of the controller lags",
                w.p->what, w.p->conn.peer, w.revision, _md.applied_revision());
        }
        due.push_back(std::move(w));
        return true;
    });
    for (auto& w : due) {
        w.send();
    }
    if (!_waiters.empty()) {
        _polling = true;
        _post(_o.poll_interval, [this] { poll_waiters(); });
    }
}

int16_t admin_api::auto_create_topic(const std::string& topic) {
    if (auto r = cluster::validate_topic_name(topic); !r) {
        return k::invalid_topic_exception;
    }
    std::string enabled;
    if (auto v = _md.config("auto_create_topics_enabled")) {
        enabled = *v;
    } else if (const auto* p =
                   cluster::cluster_config_schema().find("auto_create_topics_enabled")) {
        enabled = p->default_value;
    }
    if (enabled != "true" || _stopped) {
        return k::unknown_topic_or_partition;
    }
    const auto now = clock::now();
    if (_auto.size() > 1024) {
        // Refusals of names nobody asks for again: forget them.
        std::erase_if(_auto, [&](const auto& kv) {
            return !kv.second.in_flight && kv.second.retry_after <= now;
        });
    }
    auto_create_state& st = _auto[topic];
    if (st.in_flight) {
        return k::leader_not_available;
    }
    if (st.refused != k::none && now < st.retry_after) {
        return st.refused;
    }
    st.in_flight = true;
    v1::CreateTopicsRequest call;
    auto* item = call.add_topics();
    item->set_name(topic);
    item->set_partitions(-1);  // the cluster's defaults
    item->set_replication_factor(-1);
    admin_api* self = this;
    _controller.create_topics(
        std::move(call), _o.auto_create_timeout,
        handlers{*this}.on_io<v1::CreateTopicsResponse>([self, topic](
                                                            result<v1::CreateTopicsResponse> r) {
            outcome o = outcome_at(r, 0);
            if (o.code == k::topic_already_exists) {
                o = {};  // someone else created it meanwhile: as good
            }
            auto it = self->_auto.find(topic);
            if (o.code == k::none) {
                log(log_level::info, component, "auto-created topic {} (cluster defaults)", topic);
                if (it != self->_auto.end()) {
                    self->_auto.erase(it);
                }
                return;
            }
            log(log_level::warn, component, "auto-creating topic {}: error {}: {}", topic, o.code,
                o.message.value_or(""));
            if (it != self->_auto.end()) {
                it->second.in_flight = false;
                // The controller unreachable is not an answer about the
                // topic: the client keeps retrying, as for a topic whose
                // leader is not there yet.
                const bool transient =
                    o.code == k::not_controller || o.code == k::request_timed_out;
                it->second.refused = transient ? k::leader_not_available : o.code;
                it->second.retry_after = clock::now() + self->_o.auto_create_retry;
            }
        }));
    return k::leader_not_available;
}

admin_api* admin_api::find(const std::vector<api_module*>& modules) {
    for (api_module* m : modules) {
        if (auto* a = dynamic_cast<admin_api*>(m)) {
            return a;
        }
    }
    return nullptr;
}

void admin_api::stop() {
    _stopped = true;
    _waiters.clear();
}

}  // namespace fjord::broker
