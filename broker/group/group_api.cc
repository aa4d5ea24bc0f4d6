// File: broker/group/group_api.cc
//
// The handlers behind group_api.h: one per API, each answering through
// `reply` exactly once (JoinGroup and SyncGroup possibly later, through a
// waiter). Error codes are broker/kafka/errors.h's.

#include "broker/group/group_api.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "broker/kafka/errors.h"
#include "common/kafka/messages/describe_groups.h"
#include "common/kafka/messages/find_coordinator.h"
#include "common/kafka/messages/heartbeat.h"
#include "common/kafka/messages/join_group.h"
#include "common/kafka/messages/leave_group.h"
#include "common/kafka/messages/list_groups.h"
#include "common/kafka/messages/offset_commit.h"
#include "common/kafka/messages/offset_fetch.h"
#include "common/kafka/messages/sync_group.h"
#include "common/log.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;
constexpr const char* component = "groups";

constexpr served_api served[] = {
    {kafka::api_key::offset_commit, 0, 8},    {kafka::api_key::offset_fetch, 0, 8},
    {kafka::api_key::find_coordinator, 0, 4}, {kafka::api_key::join_group, 0, 7},
    {kafka::api_key::heartbeat, 0, 4},        {kafka::api_key::leave_group, 0, 4},
    {kafka::api_key::sync_group, 0, 5},       {kafka::api_key::describe_groups, 0, 5},
    {kafka::api_key::list_groups, 0, 4},
};

/// Kafka's AclOperation codes allowed on a group (READ, DELETE, DESCRIBE),
/// as a DescribeGroups v3+ bitfield: without an authorizer, all of them.
constexpr int32_t group_operations = (1 << 3) | (1 << 6) | (1 << 8);

/// Kafka reports the client's address as Java's InetAddress.toString():
/// "/127.0.0.1".
std::string client_host(const connection_info& conn) {
    const auto colon = conn.peer.rfind(':');
    return "/" + (colon == std::string::npos ? conn.peer : conn.peer.substr(0, colon));
}

bool group_id_too_long(const std::string& id) {
    return id.size() > offset_record_max_string;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

}  // namespace

/// A JoinGroup/SyncGroup reply waiting for its group; `done` once used or
/// once its connection closed.
struct group_api::waiter {
    kafka::request_view header;  // body cleared: header fields only
    connection_info conn;
    reply_fn reply;
    bool done = false;
};

group_api::group_api(coordinator_options opts, metadata_cache& md, partition_manager& pm,
                     controller_client* controller, group_coordinator::schedule_fn schedule,
                     group_coordinator::clock_fn now, group::id_fn new_id)
    : _md(md),
      _coord(opts, md, pm, controller, std::move(schedule), std::move(now), std::move(new_id)) {}

std::span<const served_api> group_api::apis() const {
    return served;
}

void group_api::stop() {
    _stopped = true;
    // The listener is gone: waiting replies are dropped, not answered.
    for (auto& [id, ws] : _waiting) {
        for (const auto& w : ws) {
            w->done = true;
            w->reply = nullptr;
        }
    }
    _waiting.clear();
    _coord.stop();
}

void group_api::on_close(const connection_info& conn) {
    auto it = _waiting.find(conn.id);
    if (it == _waiting.end()) {
        return;
    }
    for (const auto& w : it->second) {
        w->done = true;
        w->reply = nullptr;  // the listener discards it anyway; free it now
    }
    _waiting.erase(it);
}

std::shared_ptr<group_api::waiter> group_api::hold(const kafka::request_view& rq,
                                                   const connection_info& conn,
                                                   const reply_fn& reply) {
    auto w = std::make_shared<waiter>();
    w->header = rq;
    w->header.body = {};
    w->conn = conn;
    w->reply = reply;
    _waiting[conn.id].insert(w);
    return w;
}

void group_api::serve(const kafka::request_view& rq, const connection_info& conn,
                      const reply_fn& reply) {
    if (_stopped) {
        reply(reply_t::close_connection());
        return;
    }
    _coord.refresh();
    switch (static_cast<kafka::api_key>(rq.api_key())) {
        case kafka::api_key::find_coordinator:
            find_coordinator(rq, conn, reply);
            return;
        case kafka::api_key::join_group:
            join_group(rq, conn, reply);
            return;
        case kafka::api_key::sync_group:
            sync_group(rq, conn, reply);
            return;
        case kafka::api_key::heartbeat:
            heartbeat(rq, conn, reply);
            return;
        case kafka::api_key::leave_group:
            leave_group(rq, conn, reply);
            return;
        case kafka::api_key::offset_commit:
            offset_commit(rq, conn, reply);
            return;
        case kafka::api_key::offset_fetch:
            offset_fetch(rq, conn, reply);
            return;
        case kafka::api_key::list_groups:
            list_groups(rq, conn, reply);
            return;
        case kafka::api_key::describe_groups:
            describe_groups(rq, conn, reply);
            return;
        default:
            reply(reply_t::close_connection());
            return;
    }
}

// ---------------------------------------------------------------- FindCoordinator

void group_api::find_coordinator(const kafka::request_view& rq, const connection_info& conn,
                                 const reply_fn& reply) {
    auto req = decode_request<kafka::find_coordinator_request>(rq, conn);
    if (!req) {
        reply(reply_t::close_connection());
        return;
    }
    const int16_t v = rq.api_version();
    const auto answer = [&](const std::string& key) {
        group_coordinator::location loc;
        if (req->key_type == 1) {
            loc.error = k::invalid_request;
            loc.message = "key_type 1 (transaction): this broker has no transaction coordinator";
        } else if (req->key_type != 0) {
            loc.error = k::invalid_request;
            loc.message = fmt::format("key_type {}: unknown (0 is a group)", req->key_type);
        } else {
            loc = _coord.locate(key);
        }
        return loc;
    };
    kafka::find_coordinator_response resp;
    if (v < 4) {
        const auto loc = answer(req->key);
        resp.error_code = loc.error;
        if (loc.error != k::none) {
            resp.error_message = loc.message;
        } else {
            resp.error_message = std::nullopt;
        }
        resp.node_id = loc.node_id;
        resp.host = loc.host;
        resp.port = loc.port;
    } else {
        for (const auto& key : req->coordinator_keys) {
            const auto loc = answer(key);
            kafka::find_coordinator_response::coordinator c;
            c.key = key;
            c.error_code = loc.error;
            c.error_message =
                loc.error != k::none ? std::optional<std::string>(loc.message) : std::nullopt;
            c.node_id = loc.node_id;
            c.host = loc.host;
            c.port = loc.port;
            resp.coordinators.push_back(std::move(c));
        }
    }
    send_response(rq, resp, reply, conn);
}

// ---------------------------------------------------------------- JoinGroup, SyncGroup

void group_api::join_group(const kafka::request_view& rq, const connection_info& conn,
                           const reply_fn& reply) {
    auto req = decode_request<kafka::join_group_request>(rq, conn);
    if (!req) {
        reply(reply_t::close_connection());
        return;
    }
    const int16_t v = rq.api_version();
    auto w = hold(rq, conn, reply);
    // Answers through the waiter, from now or from a later call.
    join_callback answer = [this, w, v](join_result r) {
        if (w->done) {
            return;
        }
        w->done = true;
        kafka::join_group_response resp;
        resp.error_code = r.error;
        resp.generation_id = r.generation_id;
        if (v >= 7) {
            resp.protocol_type = r.protocol_type;
            resp.protocol_name = r.protocol_name;
        } else {
            resp.protocol_name = r.protocol_name.value_or("");
        }
        resp.leader = r.leader_id;
        resp.member_id = r.member_id;
        for (auto& m : r.members) {
            kafka::join_group_response::join_group_response_member jm;
            jm.member_id = std::move(m.member_id);
            jm.metadata = std::move(m.metadata);
            resp.members.push_back(std::move(jm));
        }
        send_response(w->header, resp, w->reply, w->conn);
        auto it = _waiting.find(w->conn.id);
        if (it != _waiting.end()) {
            it->second.erase(w);
            if (it->second.empty()) {
                _waiting.erase(it);
            }
        }
    };
    const auto fail = [&](int16_t error) {
        join_result r;
        r.error = error;
        r.member_id = req->member_id;
        answer(std::move(r));
    };
    if (req->group_instance_id) {
        log(log_level::info, component,
            "{} (client {}): JoinGroup with group.instance.id \"{}\": static membership is not "
            "supported",
            conn.peer, rq.header.client_id.value_or(""), *req->group_instance_id);
        fail(k::unsupported_version);
        return;
    }
    if (req->group_id.empty() || group_id_too_long(req->group_id)) {
        fail(k::invalid_group_id);
        return;
    }
    if (const int16_t e = _coord.check(req->group_id); e != k::none) {
        fail(e);
        return;
    }
    join_request jr;
    jr.member_id = req->member_id;
    jr.client_id = rq.header.client_id.value_or("");
    jr.client_host = client_host(conn);
    jr.session_timeout_ms = req->session_timeout_ms;
    // v0 has no rebalance timeout: Kafka uses the session timeout.
    jr.rebalance_timeout_ms = v == 0 ? req->session_timeout_ms : req->rebalance_timeout_ms;
    if (jr.rebalance_timeout_ms < 0) {
        fail(k::invalid_request);
        return;
    }
    jr.protocol_type = req->protocol_type;
    for (auto& p : req->protocols) {
        // A name listed twice keeps its first metadata.
        const bool seen = std::any_of(jr.protocols.begin(), jr.protocols.end(),
                                      [&](const group_protocol& q) { return q.name == p.name; });
        if (!seen) {
            jr.protocols.push_back({std::move(p.name), std::move(p.metadata)});
        }
    }
    jr.require_known_member_id = v >= 4;
    _coord.groups().join(req->group_id, std::move(jr), _coord.now(), std::move(answer));
}

void group_api::sync_group(const kafka::request_view& rq, const connection_info& conn,
                           const reply_fn& reply) {
    auto req = decode_request<kafka::sync_group_request>(rq, conn);
    if (!req) {
        reply(reply_t::close_connection());
        return;
    }
    const int16_t v = rq.api_version();
    auto w = hold(rq, conn, reply);
    sync_callback answer = [this, w, v](sync_result r) {
        if (w->done) {
            return;
        }
        w->done = true;
        kafka::sync_group_response resp;
        resp.error_code = r.error;
        if (v >= 5) {
            resp.protocol_type = r.protocol_type;
            resp.protocol_name = r.protocol_name;
        }
        resp.assignment = std::move(r.assignment);
        send_response(w->header, resp, w->reply, w->conn);
        auto it = _waiting.find(w->conn.id);
        if (it != _waiting.end()) {
            it->second.erase(w);
            if (it->second.empty()) {
                _waiting.erase(it);
            }
        }
    };
    const auto fail = [&](int16_t error) {
        sync_result r;
        r.error = error;
        answer(std::move(r));
    };
    if (req->group_instance_id) {
        fail(k::unsupported_version);
        return;
    }
    if (req->group_id.empty() || group_id_too_long(req->group_id)) {
        fail(k::invalid_group_id);
        return;
    }
    if (const int16_t e = _coord.check(req->group_id); e != k::none) {
        fail(e);
        return;
    }
    sync_request sr;
    sr.member_id = req->member_id;
    sr.generation_id = req->generation_id;
    sr.protocol_type = req->protocol_type;
    sr.protocol_name = req->protocol_name;
    for (auto& a : req->assignments) {
        sr.assignments.emplace_back(std::move(a.member_id), std::move(a.assignment));
    }
    _coord.groups().sync(req->group_id, std::move(sr), _coord.now(), std::move(answer));
}

// ---------------------------------------------------------------- Heartbeat, LeaveGroup

void group_api::heartbeat(const kafka::request_view& rq, const connection_info& conn,
                          const reply_fn& reply) {
    auto req = decode_request<kafka::heartbeat_request>(rq, conn);
    if (!req) {
        reply(reply_t::close_connection());
        return;
    }
    kafka::heartbeat_response resp;
    if (req->group_instance_id) {
        resp.error_code = k::unsupported_version;
    } else if (req->group_id.empty() || group_id_too_long(req->group_id)) {
        resp.error_code = k::invalid_group_id;
    } else if (const int16_t e = _coord.check(req->group_id); e != k::none) {
        resp.error_code = e;
    } else {
        resp.error_code = _coord.groups().heartbeat(req->group_id, req->member_id,
                                                    req->generation_id, _coord.now());
    }
    send_response(rq, resp, reply, conn);
}

void group_api::leave_group(const kafka::request_view& rq, const connection_info& conn,
                            const reply_fn& reply) {
    auto req = decode_request<kafka::leave_group_request>(rq, conn);
    if (!req) {
        reply(reply_t::close_connection());
        return;
    }
    const int16_t v = rq.api_version();
    kafka::leave_group_response resp;
    if (v <= 2) {
        // One member, named at the top level; its error is the answer.
        kafka::leave_group_request::member_identity m;
        m.member_id = req->member_id;
        req->members.push_back(std::move(m));
    }
    int16_t top = k::none;
    if (req->group_id.empty() || group_id_too_long(req->group_id)) {
        top = k::invalid_group_id;
    } else {
        top = _coord.check(req->group_id);
    }
    if (top == k::none) {
        for (const auto& m : req->members) {
            kafka::leave_group_response::member_response mr;
            mr.member_id = m.member_id;
            mr.group_instance_id = m.group_instance_id;
            if (m.group_instance_id) {
                mr.error_code = k::unsupported_version;  // no static membership
            } else {
                mr.error_code = _coord.groups().leave(req->group_id, m.member_id, _coord.now());
            }
            resp.members.push_back(std::move(mr));
        }
    }
    if (v <= 2) {
        resp.error_code = top != k::none ? top : resp.members.front().error_code;
        resp.members.clear();
    } else {
        resp.error_code = top;
    }
    send_response(rq, resp, reply, conn);
}

// ---------------------------------------------------------------- OffsetCommit, OffsetFetch

void group_api::offset_commit(const kafka::request_view& rq, const connection_info& conn,
                              const reply_fn& reply) {
    auto req = decode_request<kafka::offset_commit_request>(rq, conn);
    if (!req) {
        reply(reply_t::close_connection());
        return;
    }
    const int16_t v = rq.api_version();
    // One error for every partition of the request, when there is one.
    int16_t all = k::none;
    if (req->group_instance_id) {
        all = k::unsupported_version;
    } else if (group_id_too_long(req->group_id)) {
        all = k::invalid_group_id;
    } else {
        all = _coord.check(req->group_id);
    }
    const int64_t now_ms = _coord.now();
    kafka::offset_commit_response resp;
    std::vector<group_coordinator::commit> commits;
    // Where each commit's partition sits in the response, to fill in its
    // error once the batch is appended.
    std::vector<std::pair<size_t, size_t>> slots;
    for (const auto& t : req->topics) {
        kafka::offset_commit_response::offset_commit_response_topic tr;
        tr.name = t.name;
        const v1::Topic* topic = _md.topic(t.name);
        for (const auto& p : t.partitions) {
            kafka::offset_commit_response::offset_commit_response_partition pr;
            pr.partition_index = p.partition_index;
            const bool known =
                topic != nullptr &&
                std::any_of(topic->partitions().begin(), topic->partitions().end(),
                            [&](const auto& a) { return a.partition() == p.partition_index; });
            const std::string metadata = p.committed_metadata.value_or("");
            if (all != k::none) {
                pr.error_code = all;
            } else if (!known) {
                pr.error_code = k::unknown_topic_or_partition;
            } else if (metadata.size() > offset_metadata_max_bytes) {
                pr.error_code = k::offset_metadata_too_large;
            } else {
                group_coordinator::commit c;
                c.topic = t.name;
                c.partition = p.partition_index;
                c.value.offset = p.committed_offset;
                c.value.leader_epoch = p.committed_leader_epoch;
                c.value.topic_id = to_kafka_uuid(topic->uuid());  // the offset follows it
                c.value.metadata = metadata;
                // v1 carries the client's commit time (-1: now); later
                // versions' retention_time_ms is ignored: offsets never
                // expire here.
                c.value.commit_timestamp_ms =
                    v == 1 && p.commit_timestamp != -1 ? p.commit_timestamp : now_ms;
                commits.push_back(std::move(c));
                slots.emplace_back(resp.topics.size(), tr.partitions.size());
            }
            tr.partitions.push_back(std::move(pr));
        }
        resp.topics.push_back(std::move(tr));
    }
    auto answer = [slots = std::move(slots), resp = std::move(resp), reply, conn](
                      const kafka::request_view& header, int16_t e) mutable {
        for (const auto& [ti, pi] : slots) {
            resp.topics[ti].partitions[pi].error_code = e;
        }
        send_response(header, resp, reply, conn);
    };
    if (commits.empty()) {
        answer(rq, k::none);
        return;
    }
    const int16_t e = _coord.groups().validate_commit(req->group_id, req->member_id,
                                                      req->generation_id_or_member_epoch, now_ms);
    if (e != k::none) {
        answer(rq, e);
        return;
    }
    // Answered once the commit is durable (the body is gone by then).
    kafka::request_view header = rq;
    header.body = {};
    _coord.store_offsets(
        req->group_id, commits,
        [header, answer = std::move(answer)](int16_t err) mutable { answer(header, err); });
}

void group_api::offset_fetch(const kafka::request_view& rq, const connection_info& conn,
                             const reply_fn& reply) {
    auto req = decode_request<kafka::offset_fetch_request>(rq, conn);
    if (!req) {
        reply(reply_t::close_connection());
        return;
    }
    const int16_t v = rq.api_version();
    // One group's answer: per topic, per partition (offset, epoch, metadata,
    // error); `topics` null asks for every committed offset.
    struct partition_answer {
        int32_t partition = 0;
        int64_t offset = -1;
        int32_t epoch = -1;
        std::string metadata;
        int16_t error = 0;
    };
    struct group_answer {
        int16_t error = 0;
        std::vector<std::pair<std::string, std::vector<partition_answer>>> topics;
    };
    using wanted_topics = std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>>;
    const auto fetch = [&](const std::string& group_id, const wanted_topics& wanted) {
        group_answer ga;
        ga.error = group_id_too_long(group_id) ? k::invalid_group_id : _coord.check(group_id);
        if (!wanted) {
            if (ga.error != k::none) {
                return ga;
            }
            if (const auto* all = _coord.offsets().group_offsets(group_id)) {
                for (const auto& [tp, c] : *all) {
                    if (!_coord.is_current(tp.first, c)) {
                        continue;  // its topic was deleted (or recreated) since
                    }
                    if (ga.topics.empty() || ga.topics.back().first != tp.first) {
                        ga.topics.emplace_back(tp.first, std::vector<partition_answer>());
                    }
                    ga.topics.back().second.push_back(
                        {tp.second, c.offset, c.leader_epoch, c.metadata, k::none});
                }
            }
            return ga;
        }
        for (const auto& [topic, partitions] : *wanted) {
            std::vector<partition_answer> ps;
            for (int32_t p : partitions) {
                partition_answer pa;
                pa.partition = p;
                if (ga.error != k::none) {
                    pa.error = ga.error;
                } else if (const committed_offset* c = _coord.fetch_offset(group_id, topic, p)) {
                    pa.offset = c->offset;
                    pa.epoch = c->leader_epoch;
                    pa.metadata = c->metadata;
                }
                ps.push_back(std::move(pa));
            }
            ga.topics.emplace_back(topic, std::move(ps));
        }
        return ga;
    };

    kafka::offset_fetch_response resp;
    if (v < 8) {
        wanted_topics wanted;
        if (req->topics) {
            wanted.emplace();
            for (auto& t : *req->topics) {
                wanted->emplace_back(std::move(t.name), std::move(t.partition_indexes));
            }
        }
        group_answer ga = fetch(req->group_id, wanted);
        // v0-1 have no top-level error: it goes into every partition (as
        // fetch() put it); v2+ carry it at the top and clean partitions.
        resp.error_code = ga.error;
        for (auto& [topic, ps] : ga.topics) {
            kafka::offset_fetch_response::offset_fetch_response_topic tr;
            tr.name = topic;
            for (auto& pa : ps) {
                kafka::offset_fetch_response::offset_fetch_response_partition pr;
                pr.partition_index = pa.partition;
                pr.committed_offset = pa.offset;
                if (v >= 5) {
                    pr.committed_leader_epoch = pa.epoch;
                }
                pr.metadata = std::move(pa.metadata);
                pr.error_code = v >= 2 ? k::none : pa.error;
                tr.partitions.push_back(std::move(pr));
            }
            resp.topics.push_back(std::move(tr));
        }
    } else {
        for (auto& g : req->groups) {
            wanted_topics wanted;
            if (g.topics) {
                wanted.emplace();
                for (auto& t : *g.topics) {
                    wanted->emplace_back(std::move(t.name), std::move(t.partition_indexes));
                }
            }
            group_answer ga = fetch(g.group_id, wanted);
            kafka::offset_fetch_response::offset_fetch_response_group gr;
            gr.group_id = g.group_id;
            gr.error_code = ga.error;
            if (ga.error == k::none) {
                for (auto& [topic, ps] : ga.topics) {
                    kafka::offset_fetch_response::offset_fetch_response_topics tr;
                    tr.name = topic;
                    for (auto& pa : ps) {
                        kafka::offset_fetch_response::offset_fetch_response_partitions pr;
                        pr.partition_index = pa.partition;
                        pr.committed_offset = pa.offset;
                        pr.committed_leader_epoch = pa.epoch;
                        pr.metadata = std::move(pa.metadata);
                        tr.partitions.push_back(std::move(pr));
                    }
                    gr.topics.push_back(std::move(tr));
                }
            }
            resp.groups.push_back(std::move(gr));
        }
    }
    send_response(rq, resp, reply, conn);
}

// ---------------------------------------------------------------- ListGroups, DescribeGroups

void group_api::list_groups(const kafka::request_view& rq, const connection_info& conn,
                            const reply_fn& reply) {
    auto req = decode_request<kafka::list_groups_request>(rq, conn);
    if (!req) {
        reply(reply_t::close_connection());
        return;
    }
    std::set<std::string> states;
    for (const auto& s : req->states_filter) {
        states.insert(lower(s));
    }
    kafka::list_groups_response resp;
    // Kafka answers with the groups it has and says it is still loading.
    resp.error_code = _coord.loading() ? k::coordinator_load_in_progress : k::none;
    for (const auto& [id, g] : _coord.groups().groups()) {
        const std::string state(to_string(g->state()));
        if (g->state() == group_state::dead ||
            (!states.empty() && states.count(lower(state)) == 0)) {
            continue;
        }
        kafka::list_groups_response::listed_group lg;
        lg.group_id = id;
        lg.protocol_type = g->protocol_type().value_or("");
        if (rq.api_version() >= 4) {
            lg.group_state = state;
        }
        resp.groups.push_back(std::move(lg));
    }
    send_response(rq, resp, reply, conn);
}

void group_api::describe_groups(const kafka::request_view& rq, const connection_info& conn,
                                const reply_fn& reply) {
    auto req = decode_request<kafka::describe_groups_request>(rq, conn);
    if (!req) {
        reply(reply_t::close_connection());
        return;
    }
    kafka::describe_groups_response resp;
    for (const auto& id : req->groups) {
        kafka::describe_groups_response::described_group dg;
        dg.group_id = id;
        if (rq.api_version() >= 3 && req->include_authorized_operations) {
            dg.authorized_operations = group_operations;
        }
        dg.error_code = group_id_too_long(id) ? k::invalid_group_id : _coord.check(id);
        const group* g = dg.error_code == k::none ? _coord.groups().find(id) : nullptr;
        if (dg.error_code != k::none) {
            // Kafka leaves the rest empty.
        } else if (g == nullptr) {
            dg.group_state = std::string(to_string(group_state::dead));
        } else {
            const bool stable = g->state() == group_state::stable;
            dg.group_state = std::string(to_string(g->state()));
            dg.protocol_type = g->protocol_type().value_or("");
            // Member metadata and assignments only describe a settled group.
            dg.protocol_data = stable ? g->protocol_name().value_or("") : "";
            for (const auto& [mid, m] : g->members()) {
                kafka::describe_groups_response::described_group_member dm;
                dm.member_id = mid;
                dm.client_id = m.client_id;
                dm.client_host = m.client_host;
                if (stable) {
                    dm.member_metadata = m.metadata(*g->protocol_name());
                    dm.member_assignment = m.assignment;
                }
                dg.members.push_back(std::move(dm));
            }
        }
        resp.groups.push_back(std::move(dg));
    }
    send_response(rq, resp, reply, conn);
}

}  // namespace fjord::broker
