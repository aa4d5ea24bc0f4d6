#include "controller/service/controller_service.h"

#include <algorithm>
#include <atomic>

#include <fmt/format.h>

#include "common/cluster/config_schema.h"
#include "common/cluster/errc.h"
#include "common/log.h"
#include "common/uuid.h"
#include "controller/raft/errc.h"
#include "controller/service/status_mapping.h"
#include "controller/stm/validation.h"

namespace fjord::service {
namespace {

using cluster::errc;
using clock = std::chrono::steady_clock;

constexpr const char* forwarded_header = "fjord-forwarded";

/// Waits for `f` until `deadline`; a broken promise (shutdown) or a timeout
/// becomes an error value.
template <typename T>
result<T> await(std::future<result<T>>& f, clock::time_point deadline) {
    if (f.wait_until(deadline) != std::future_status::ready) {
        return error_info(cluster::errc::timeout, "not applied in time; the outcome is unknown");
    }
    try {
        return f.get();
    } catch (const std::future_error&) {
        return error_info(std::make_error_code(std::errc::operation_canceled),
                          "controller shutting down");
    }
}

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string item_prefix(const char* list, size_t i) {
    return fmt::format("{}[{}].", list, i);
}

/// An item's error. Items that are plain strings (DeleteTopics' names) are
/// their own field: the validator's "name" becomes "names[i]".
v1::ItemResult item_error(const error_info& e, const char* list, size_t i, bool scalar_items) {
    v1::ItemResult r = to_item_result(e, item_prefix(list, i));
    if (scalar_items && !r.field().empty()) {
        const std::string field = fmt::format("{}[{}]", list, i);
        const std::string old_prefix = r.field() + ": ";
        if (r.message().starts_with(old_prefix)) {
            r.set_message(field + ": " + r.message().substr(old_prefix.size()));
        }
        r.set_field(field);
    }
    return r;
}

grpc::Status invalid(const std::string& msg) {
    return {grpc::StatusCode::INVALID_ARGUMENT, msg};
}

/// Validates "host:port" with port 1..65535; the error names `field`.
result<void> check_address(std::string_view field, const std::string& addr) {
    const size_t colon = addr.rfind(':');
    if (addr.empty() || colon == std::string::npos || colon == 0 || colon + 1 == addr.size()) {
        return {errc::invalid_argument, fmt::format("{}: \"{}\" is not host:port", field, addr)};
    }
    int port = 0;
    for (char c : addr.substr(colon + 1)) {
        if (c < '0' || c > '9' || port > 65535) {
            return {errc::invalid_argument, fmt::format("{}: bad port in \"{}\"", field, addr)};
        }
        port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) {
        return {errc::invalid_argument,
                fmt::format("{}: port {} is outside 1..65535", field, port)};
    }
    return ok();
}

}  // namespace

controller_service::controller_service(service_options o, server::raft_loop& loop,
                                       server::controller_state& state, broker_liveness& liveness,
                                       metrics::registry& metrics)
    : _o(o),
      _loop(loop),
      _state(state),
      _liveness(liveness),
      _requests(metrics.add_counter_family("fjord_controller_requests_total",
                                           "ControllerService calls by method and status code",
                                           {"method", "code"})) {}

// ------------------------------------------------------------ plumbing

void controller_service::count(const char* method, const grpc::Status& s) {
    static const char* const names[] = {"OK",
                                        "CANCELLED",
                                        "UNKNOWN",
                                        "INVALID_ARGUMENT",
                                        "DEADLINE_EXCEEDED",
                                        "NOT_FOUND",
                                        "ALREADY_EXISTS",
                                        "PERMISSION_DENIED",
                                        "RESOURCE_EXHAUSTED",
                                        "FAILED_PRECONDITION",
                                        "ABORTED",
                                        "OUT_OF_RANGE",
                                        "UNIMPLEMENTED",
                                        "INTERNAL",
                                        "UNAVAILABLE",
                                        "DATA_LOSS",
                                        "UNAUTHENTICATED"};
    const auto code = static_cast<size_t>(s.error_code());
    _requests.with({method, code < std::size(names) ? names[code] : "UNKNOWN"}).inc();
}

std::string controller_service::principal(grpc::ServerContextBase*) const {
    // Authentication arrives with the security issue; until then every
    // caller is anonymous, and the audit trail says so.
    return "anonymous";
}

uint64_t controller_service::revision() const {
    return _state.read([](const controller::controller_stm& s) { return s.revision().value(); });
}

grpc::Status controller_service::not_leader(grpc::ServerContextBase* ctx) {
    const node_id leader = _loop.leader();
    std::string address;
    if (leader != no_node) {
        address = _state.read([&](const controller::controller_stm& s) {
            const auto* m = s.members().find(leader.value());
            return m != nullptr ? m->api_address() : std::string{};
        });
        ctx->AddTrailingMetadata("fjord-leader-id", std::to_string(leader.value()));
        if (!address.empty()) {
            ctx->AddTrailingMetadata("fjord-leader-address", address);
        }
    }
    return {grpc::StatusCode::UNAVAILABLE,
            leader == no_node
                ? std::string("not the leader; no leader is known (election in progress?)")
                : fmt::format("not the leader; the leader is {} at {}", leader,
                              address.empty() ? "an unknown address" : address)};
}

controller_service::route controller_service::route_call(grpc::ServerContextBase* ctx) {
    route r;
    if (_stopping) {
        r.answer = grpc::Status(grpc::StatusCode::UNAVAILABLE, "controller shutting down");
        return r;
    }
    if (_loop.is_leader()) {
        return r;
    }
    // One hop only: a forwarded call that meets a non-leader (leadership
    // moved meanwhile) tells the caller where to go instead of bouncing.
    if (ctx->client_metadata().count(forwarded_header) > 0) {
        r.answer = not_leader(ctx);
        return r;
    }
    r.leader_id = _loop.leader();
    if (r.leader_id == no_node) {
        r.answer = not_leader(ctx);
        return r;
    }
    r.address = _state.read([&](const controller::controller_stm& s) {
        const auto* m = s.members().find(r.leader_id.value());
        return m != nullptr ? m->api_address() : std::string{};
    });
    if (r.address.empty()) {
        r.answer = not_leader(ctx);
        return r;
    }
    std::lock_guard g(_stubs_mu);
    auto& slot = _stubs[r.address];
    if (!slot) {
        slot = v1::ControllerService::NewStub(
            grpc::CreateChannel(r.address, grpc::InsecureChannelCredentials()));
    }
    r.leader = slot.get();
    return r;
}

std::shared_ptr<grpc::ClientContext> controller_service::forward_context(
    grpc::ServerContextBase* ctx) const {
    auto fctx = std::make_shared<grpc::ClientContext>();
    fctx->AddMetadata(forwarded_header, "1");
    const auto cap = std::chrono::system_clock::now() + _o.write_timeout + std::chrono::seconds(2);
    fctx->set_deadline(std::min(ctx->deadline(), cap));
    return fctx;
}

grpc::Status controller_service::forwarded(grpc::ServerContextBase* ctx,
                                           const grpc::ClientContext& fctx, grpc::Status s,
                                           const route& r, const char* name, bool write) {
    for (const auto& [k, v] : fctx.GetServerTrailingMetadata()) {
        ctx->AddTrailingMetadata(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
    }
    const bool transport_failed = (s.error_code() == grpc::StatusCode::UNAVAILABLE &&
                                   s.error_message().find("not the leader") == std::string::npos) ||
                                  (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && write);
    if (!transport_failed) {
        return s;
    }
    log(log_level::debug, "service", "forwarding {} to leader {} at {} failed: {}", name,
        r.leader_id, r.address, s.error_message());
    grpc::Status hint = not_leader(ctx);
    // gRPC fails a call on a channel that could not connect before sending
    // anything ("failed to connect to all addresses"): nothing was proposed.
    const bool never_sent = s.error_code() == grpc::StatusCode::UNAVAILABLE &&
                            s.error_message().find("failed to connect") != std::string::npos;
    if (!write || never_sent) {
        return hint;
    }
    // gRPC cannot tell whether the leader received the write before the
    // call broke, so "not the leader, retry" would be a guess; a retry with
    // the same session is what is safe.
    return {grpc::StatusCode::UNKNOWN,
            fmt::format("outcome unknown: forwarding {} to the leader {} at {} failed ({}); {}",
                        name, r.leader_id, r.address, s.error_message(), hint.error_message())};
}

template <typename Req, typename Resp>
std::optional<grpc::Status> controller_service::forward_if_follower(grpc::ServerContext* ctx,
                                                                    const Req& req, Resp* resp,
                                                                    stub_method<Req, Resp> method,
                                                                    const char* name, bool write) {
    route r = route_call(ctx);
    if (r.answer || r.leader == nullptr) {
        return r.answer;
    }
    auto fctx = forward_context(ctx);
    grpc::Status s = (r.leader->*method)(fctx.get(), req, resp);
    return forwarded(ctx, *fctx, std::move(s), r, name, write);
}

template <typename Req, typename Resp>
bool controller_service::forward_async(call<Req, Resp>& c, async_method<Req, Resp> method,
                                       const char* name) {
    route r = route_call(c.ctx);
    if (r.answer) {
        c.reply(*r.answer);
        return true;
    }
    if (r.leader == nullptr) {
        return false;
    }
    auto fctx = forward_context(c.ctx);
    stub* leader = r.leader;
    (leader->async()->*method)(fctx.get(), &c.req, &c.resp,
                               [this, &c, fctx, r = std::move(r), name](grpc::Status s) {
                                   c.reply(forwarded(c.ctx, *fctx, std::move(s), r, name, true));
                               });
    return true;
}

template <typename Req, typename Resp>
grpc::ServerUnaryReactor* controller_service::serve(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* in, grpc::ByteBuffer* out,
    const char* method, void (controller_service::*handler)(call<Req, Resp>&)) {
    auto* c = new call<Req, Resp>(ctx, out, method,
                                  [this](const char* m, const grpc::Status& s) { count(m, s); });
    grpc::ByteBuffer bytes(*in);  // shares the slices; Deserialize consumes its argument
    const size_t size = bytes.Length();
    if (!grpc::SerializationTraits<Req>::Deserialize(&bytes, &c->req).ok()) {
        c->reply(invalid(fmt::format("request: {} bytes are not a valid {}", size,
                                     Req::descriptor()->full_name())));
        return c;
    }
    (this->*handler)(*c);
    return c;
}

grpc::ServerUnaryReactor* controller_service::CreateTopics(grpc::CallbackServerContext* ctx,
                                                           const grpc::ByteBuffer* in,
                                                           grpc::ByteBuffer* out) {
    return serve<v1::CreateTopicsRequest, v1::CreateTopicsResponse>(
        ctx, in, out, "CreateTopics", &controller_service::CreateTopics_async);
}

grpc::ServerUnaryReactor* controller_service::DeleteTopics(grpc::CallbackServerContext* ctx,
                                                           const grpc::ByteBuffer* in,
                                                           grpc::ByteBuffer* out) {
    return serve<v1::DeleteTopicsRequest, v1::DeleteTopicsResponse>(
        ctx, in, out, "DeleteTopics", &controller_service::DeleteTopics_async);
}

grpc::ServerUnaryReactor* controller_service::AlterTopicConfigs(grpc::CallbackServerContext* ctx,
                                                                const grpc::ByteBuffer* in,
                                                                grpc::ByteBuffer* out) {
    return serve<v1::AlterTopicConfigsRequest, v1::AlterTopicConfigsResponse>(
        ctx, in, out, "AlterTopicConfigs", &controller_service::AlterTopicConfigs_async);
}

grpc::ServerUnaryReactor* controller_service::CreatePartitions(grpc::CallbackServerContext* ctx,
                                                               const grpc::ByteBuffer* in,
                                                               grpc::ByteBuffer* out) {
    return serve<v1::CreatePartitionsRequest, v1::CreatePartitionsResponse>(
        ctx, in, out, "CreatePartitions", &controller_service::CreatePartitions_async);
}

grpc::ServerUnaryReactor* controller_service::SetClusterConfig(grpc::CallbackServerContext* ctx,
                                                               const grpc::ByteBuffer* in,
                                                               grpc::ByteBuffer* out) {
    return serve<v1::SetClusterConfigRequest, v1::SetClusterConfigResponse>(
        ctx, in, out, "SetClusterConfig", &controller_service::SetClusterConfig_async);
}

grpc::ServerUnaryReactor* controller_service::RegisterBroker(grpc::CallbackServerContext* ctx,
                                                             const grpc::ByteBuffer* in,
                                                             grpc::ByteBuffer* out) {
    return serve<v1::RegisterBrokerRequest, v1::RegisterBrokerResponse>(
        ctx, in, out, "RegisterBroker", &controller_service::RegisterBroker_async);
}

grpc::ServerUnaryReactor* controller_service::Heartbeat(grpc::CallbackServerContext* ctx,
                                                        const grpc::ByteBuffer* in,
                                                        grpc::ByteBuffer* out) {
    return serve<v1::HeartbeatRequest, v1::HeartbeatResponse>(ctx, in, out, "Heartbeat",
                                                              &controller_service::Heartbeat_async);
}

grpc::ServerUnaryReactor* controller_service::SetBrokerState(grpc::CallbackServerContext* ctx,
                                                             const grpc::ByteBuffer* in,
                                                             grpc::ByteBuffer* out) {
    return serve<v1::SetBrokerStateRequest, v1::SetBrokerStateResponse>(
        ctx, in, out, "SetBrokerState", &controller_service::SetBrokerState_async);
}

result<void> controller_service::linearize(const v1::ReadOptions& read) {
    if (read.stale()) {
        return ok();
    }
    auto f = _loop.read_index();
    auto r = await(f, clock::now() + _o.read_timeout);
    if (!r) {
        return r.error();
    }
    return ok();
}

namespace {

/// The command-level session of item `item` of a request, if it has one.
std::optional<v1::CommandSession> command_session(const v1::Session& s, size_t item) {
    if (s.client_id().empty()) {
        return std::nullopt;
    }
    v1::CommandSession c;
    c.set_client_id(s.client_id());
    c.set_seq(s.seq());
    c.set_first_outstanding(s.first_outstanding());
    c.set_item(static_cast<uint32_t>(item));
    return c;
}

/// A request's session must be well formed before anything is proposed.
std::optional<grpc::Status> bad_session(const v1::Session& s) {
    const auto c = command_session(s, 0);
    if (!c) {
        return std::nullopt;
    }
    auto r = controller::session_table::validate(*c);
    if (r) {
        return std::nullopt;
    }
    return invalid(r.error().detail);
}

}  // namespace

void controller_service::propose_one(const v1::ControllerCommand& cmd,
                                     std::function<void(result<void>)> then) {
    std::string data;
    if (!cmd.SerializeToString(&data)) {
        then(error_info{errc::internal, "command does not serialize"});
        return;
    }
    _loop.propose(std::move(data), clock::now() + _o.write_timeout, std::move(then));
}

void controller_service::propose_all(std::vector<std::optional<std::string>> cmds,
                                     std::function<void(std::vector<result<void>>)> then) {
    struct batch {
        std::vector<result<void>> outcomes;
        std::atomic<size_t> pending{0};
        std::function<void(std::vector<result<void>>)> then;
    };
    auto b = std::make_shared<batch>();
    b->outcomes.assign(cmds.size(), ok());
    b->then = std::move(then);
    // One extra count, dropped after the loop below, so that `then` cannot
    // run before every proposal has been handed to the loop.
    b->pending = 1 + static_cast<size_t>(std::count_if(
                         cmds.begin(), cmds.end(), [](const auto& c) { return c.has_value(); }));
    const auto deadline = clock::now() + _o.write_timeout;
    auto arrive = [](const std::shared_ptr<batch>& state) {
        if (state->pending.fetch_sub(1) == 1) {
            state->then(std::move(state->outcomes));
        }
    };
    for (size_t i = 0; i < cmds.size(); ++i) {
        if (cmds[i]) {
            _loop.propose(std::move(*cmds[i]), deadline, [b, i, arrive](result<void> r) {
                b->outcomes[i] = std::move(r);
                arrive(b);
            });
        }
    }
    arrive(b);
}

// ------------------------------------------------------------ topics

template <typename Build, typename Out>
void controller_service::run_batch(size_t n, const char* list, bool validate_only,
                                   const v1::Session& session, Build build, Out out,
                                   std::function<void()> then, bool scalar_items) {
    std::vector<std::optional<std::string>> cmds(n);
    // Checks item i against the tables: answered from its session (a retry
    // whose first attempt has applied; checked first, since validated again
    // a create that succeeded would now fail with "already exists"), refused
    // (returns true), or turned into a command to propose.
    const auto check = [&](size_t i) {
        const auto ses = validate_only ? std::nullopt : command_session(session, i);
        std::optional<result<void>> prior;
        auto cmd =
            _state.read([&](const controller::controller_stm& s) -> result<v1::ControllerCommand> {
                if (ses && (prior = s.sessions().prior(*ses))) {
                    return v1::ControllerCommand{};
                }
                return build(s, i);
            });
        auto* item = out(i);
        if (prior) {
            *item->mutable_result() =
                *prior ? ok_item() : item_error(prior->error(), list, i, scalar_items);
            return false;
        }
        if (!cmd) {
            *item->mutable_result() = item_error(cmd.error(), list, i, scalar_items);
            return true;
        }
        *item->mutable_result() = ok_item();
        if (!validate_only) {
            if (ses) {
                *cmd->mutable_session() = *ses;
            }
            cmds[i] = cmd->SerializeAsString();
        }
        return false;
    };
    std::vector<size_t> refused;
    for (size_t i = 0; i < n; ++i) {
        if (check(i)) {
            refused.push_back(i);
        }
    }
    if (!refused.empty() && !validate_only) {
        // A refusal is final (nothing is proposed, apply never re-checks it),
        // so it must not rest on stale tables: a new leader that has not yet
        // applied its predecessor's last commits, or a deposed one that has
        // not noticed, would refuse what the cluster allows. After a read
        // barrier the tables hold every write acknowledged before this call.
        if (auto barrier = linearize(v1::ReadOptions{}); !barrier) {
            for (size_t i : refused) {
                *out(i)->mutable_result() = item_error(barrier.error(), list, i, scalar_items);
            }
        } else {
            for (size_t i : refused) {
                check(i);
            }
        }
    }
    std::vector<bool> proposed(n);
    for (size_t i = 0; i < n; ++i) {
        proposed[i] = cmds[i].has_value();
    }
    propose_all(std::move(cmds), [list, out, then = std::move(then), scalar_items,
                                  proposed =
                                      std::move(proposed)](std::vector<result<void>> outcomes) {
        for (size_t i = 0; i < outcomes.size(); ++i) {
            if (proposed[i] && !outcomes[i]) {
                *out(i)->mutable_result() = item_error(outcomes[i].error(), list, i, scalar_items);
            }
        }
        then();
    });
}

void controller_service::CreateTopics_async(
    call<v1::CreateTopicsRequest, v1::CreateTopicsResponse>& c) {
    auto* ctx = c.ctx;
    const auto* req = &c.req;
    auto* resp = &c.resp;
    if (forward_async(c, &stub::async::CreateTopics, "CreateTopics")) {
        return;
    }
    if (auto bad = bad_session(req->session())) {
        c.reply(*bad);
        return;
    }
    if (req->topics_size() == 0) {
        c.reply(invalid("topics: at least one topic is required"));
        return;
    }
    const controller::command_meta meta{principal(ctx), now_ms()};
    for (const auto& item : req->topics()) {
        resp->add_topics()->set_name(item.name());
    }
    run_batch(
        static_cast<size_t>(req->topics_size()), "topics", req->validate_only(), req->session(),
        [&](const controller::controller_stm& s, size_t i) {
            auto cmd = controller::make_create_topic(s, req->topics(static_cast<int>(i)),
                                                     new_uuid(), meta);
            if (cmd) {
                // As it would be created (validate_only), or as proposed.
                *resp->mutable_topics(static_cast<int>(i))->mutable_topic() =
                    cmd->create_topic().topic();
            }
            return cmd;
        },
        [resp](size_t i) { return resp->mutable_topics(static_cast<int>(i)); },
        [this, req, resp, &c] {
            // Report applied topics as the tables hold them (placement and audit).
            _state.read([&](const controller::controller_stm& s) {
                for (auto& t : *resp->mutable_topics()) {
                    if (t.result().code() != v1::OK) {
                        t.clear_topic();
                    } else if (!req->validate_only()) {
                        if (const auto* applied = s.topics().find(t.name())) {
                            *t.mutable_topic() = *applied;
                        }
                    }
                }
                resp->set_revision(s.revision().value());
                return 0;
            });
            c.reply(grpc::Status::OK);
        });
}

void controller_service::DeleteTopics_async(
    call<v1::DeleteTopicsRequest, v1::DeleteTopicsResponse>& c) {
    auto* ctx = c.ctx;
    const auto* req = &c.req;
    auto* resp = &c.resp;
    if (forward_async(c, &stub::async::DeleteTopics, "DeleteTopics")) {
        return;
    }
    if (auto bad = bad_session(req->session())) {
        c.reply(*bad);
        return;
    }
    if (req->names_size() == 0) {
        c.reply(invalid("names: at least one topic is required"));
        return;
    }
    const controller::command_meta meta{principal(ctx), now_ms()};
    for (const auto& name : req->names()) {
        resp->add_topics()->set_name(name);
    }
    run_batch(
        static_cast<size_t>(req->names_size()), "names", req->validate_only(), req->session(),
        [&](const controller::controller_stm& s, size_t i) {
            return controller::make_delete_topic(s, req->names(static_cast<int>(i)), meta);
        },
        [resp](size_t i) { return resp->mutable_topics(static_cast<int>(i)); },
        [this, resp, &c] {
            resp->set_revision(revision());
            c.reply(grpc::Status::OK);
        },
        true);
}

grpc::Status controller_service::ListTopics(grpc::ServerContext*, const v1::ListTopicsRequest* req,
                                            v1::ListTopicsResponse* resp) {
    if (auto r = linearize(req->read()); !r) {
        return finish("ListTopics", to_grpc_status(r.error()));
    }
    _state.read([&](const controller::controller_stm& s) {
        if (req->names_size() == 0) {
            for (const auto& [name, t] : s.topics().all()) {
                *resp->add_topics() = t;
            }
        } else {
            for (const auto& name : req->names()) {
                if (const auto* t = s.topics().find(name)) {
                    *resp->add_topics() = *t;
                } else {
                    resp->add_missing(name);
                }
            }
        }
        resp->set_revision(s.revision().value());
        return 0;
    });
    return finish("ListTopics", grpc::Status::OK);
}

void controller_service::AlterTopicConfigs_async(
    call<v1::AlterTopicConfigsRequest, v1::AlterTopicConfigsResponse>& c) {
    auto* ctx = c.ctx;
    const auto* req = &c.req;
    auto* resp = &c.resp;
    if (forward_async(c, &stub::async::AlterTopicConfigs, "AlterTopicConfigs")) {
        return;
    }
    if (auto bad = bad_session(req->session())) {
        c.reply(*bad);
        return;
    }
    if (req->topics_size() == 0) {
        c.reply(invalid("topics: at least one topic is required"));
        return;
    }
    const controller::command_meta meta{principal(ctx), now_ms()};
    for (const auto& item : req->topics()) {
        resp->add_topics()->set_name(item.name());
    }
    run_batch(
        static_cast<size_t>(req->topics_size()), "topics", req->validate_only(), req->session(),
        [&](const controller::controller_stm& s, size_t i) {
            return controller::make_alter_topic_configs(s, req->topics(static_cast<int>(i)), meta);
        },
        [resp](size_t i) { return resp->mutable_topics(static_cast<int>(i)); },
        [this, resp, &c] {
            resp->set_revision(revision());
            c.reply(grpc::Status::OK);
        });
}

void controller_service::CreatePartitions_async(
    call<v1::CreatePartitionsRequest, v1::CreatePartitionsResponse>& c) {
    auto* ctx = c.ctx;
    const auto* req = &c.req;
    auto* resp = &c.resp;
    if (forward_async(c, &stub::async::CreatePartitions, "CreatePartitions")) {
        return;
    }
    if (auto bad = bad_session(req->session())) {
        c.reply(*bad);
        return;
    }
    if (req->topics_size() == 0) {
        c.reply(invalid("topics: at least one topic is required"));
        return;
    }
    const controller::command_meta meta{principal(ctx), now_ms()};
    for (const auto& item : req->topics()) {
        resp->add_topics()->set_name(item.name());
    }
    run_batch(
        static_cast<size_t>(req->topics_size()), "topics", req->validate_only(), req->session(),
        [&](const controller::controller_stm& s, size_t i) {
            return controller::make_create_partitions(s, req->topics(static_cast<int>(i)), meta);
        },
        [resp](size_t i) { return resp->mutable_topics(static_cast<int>(i)); },
        [this, resp, &c] {
            resp->set_revision(revision());
            c.reply(grpc::Status::OK);
        });
}

// ------------------------------------------------------------ cluster config

grpc::Status controller_service::GetClusterConfig(grpc::ServerContext*,
                                                  const v1::GetClusterConfigRequest* req,
                                                  v1::GetClusterConfigResponse* resp) {
    if (auto r = linearize(req->read()); !r) {
        return finish("GetClusterConfig", to_grpc_status(r.error()));
    }
    const std::vector<std::string> keys(req->keys().begin(), req->keys().end());
    auto entries = _state.read([&](const controller::controller_stm& s) {
        resp->set_revision(s.revision().value());
        return s.cluster_config().effective(keys);
    });
    if (!entries) {
        return finish("GetClusterConfig", to_grpc_status(entries.error()));
    }
    for (auto& e : *entries) {
        *resp->add_entries() = std::move(e);
    }
    if (req->include_schema()) {
        for (auto& p : cluster::cluster_config_schema().to_proto()) {
            *resp->add_schema() = std::move(p);
        }
    }
    return finish("GetClusterConfig", grpc::Status::OK);
}

void controller_service::SetClusterConfig_async(
    call<v1::SetClusterConfigRequest, v1::SetClusterConfigResponse>& c) {
    auto* ctx = c.ctx;
    const auto* req = &c.req;
    auto* resp = &c.resp;
    if (forward_async(c, &stub::async::SetClusterConfig, "SetClusterConfig")) {
        return;
    }
    if (auto bad = bad_session(req->session())) {
        c.reply(*bad);
        return;
    }
    const controller::command_meta meta{principal(ctx), now_ms()};
    const auto ses = req->validate_only() ? std::nullopt : command_session(req->session(), 0);
    std::optional<result<void>> prior;
    const auto check = [&] {
        return _state.read(
            [&](const controller::controller_stm& s) -> result<v1::ControllerCommand> {
                if (ses && (prior = s.sessions().prior(*ses))) {
                    return v1::ControllerCommand{};  // a retry: answered below
                }
                return controller::make_set_cluster_config(s, *req, meta);
            });
    };
    auto cmd = check();
    if (!cmd && !req->validate_only()) {
        // A refusal must not rest on stale tables (see run_batch).
        if (auto barrier = linearize(v1::ReadOptions{}); !barrier) {
            cmd = barrier.error();
        } else {
            cmd = check();
        }
    }
    auto fill = [req, resp](const result<void>& outcome) {
        for (const auto& [k, v] : req->upsert()) {
            (*resp->mutable_results())[k] = ok_item();
        }
        for (const auto& k : req->remove()) {
            (*resp->mutable_results())[k] = ok_item();
        }
        if (outcome) {
            return;
        }
        // All or nothing: the key at fault gets the error, every other key
        // says it was not applied.
        const v1::ItemResult failed = to_item_result(outcome.error(), "");
        for (auto& [k, r] : *resp->mutable_results()) {
            if (failed.field() == k) {
                r = failed;
            } else {
                r.set_code(failed.code() == v1::INVALID_CONFIG ? v1::INVALID_ARGUMENT
                                                               : failed.code());
                const bool unknown =
                    failed.code() == v1::OUTCOME_UNKNOWN || failed.code() == v1::TIMEOUT;
                r.set_message(unknown ? failed.message()
                                      : fmt::format("not applied: {}", failed.message()));
            }
        }
    };
    if (!cmd) {
        fill(cmd.error());
        // The validator stops at the first bad key; check the others alone so
        // that one answer names every bad key (a config file is fixed in one
        // pass, not one key per try).
        for (auto& [k, r] : *resp->mutable_results()) {
            if (r.field() == k) {
                continue;
            }
            v1::SetClusterConfigRequest one;
            if (auto it = req->upsert().find(k); it != req->upsert().end()) {
                (*one.mutable_upsert())[k] = it->second;
            } else {
                one.add_remove(k);
            }
            auto alone = _state.read([&](const controller::controller_stm& s) {
                return controller::make_set_cluster_config(s, one, meta);
            });
            if (!alone) {
                r = to_item_result(alone.error(), "");
            }
        }
        resp->set_revision(revision());
        c.reply(grpc::Status::OK);
        return;
    }
    for (const auto& [k, v] : req->upsert()) {
        if (const auto* p = cluster::cluster_config_schema().find(k); p && p->needs_restart) {
            resp->set_needs_restart(true);
        }
    }
    auto then = [this, fill, resp, &c](result<void> outcome) {
        fill(outcome);
        resp->set_revision(revision());
        c.reply(grpc::Status::OK);
    };
    if (prior) {
        then(std::move(*prior));
    } else if (req->validate_only()) {
        then(ok());
    } else {
        if (ses) {
            *cmd->mutable_session() = *ses;
        }
        propose_one(*cmd, std::move(then));
    }
}

// ------------------------------------------------------------ brokers

void controller_service::RegisterBroker_async(
    call<v1::RegisterBrokerRequest, v1::RegisterBrokerResponse>& c) {
    auto* ctx = c.ctx;
    const auto* req = &c.req;
    auto* resp = &c.resp;
    if (forward_async(c, &stub::async::RegisterBroker, "RegisterBroker")) {
        return;
    }
    if (!req->has_broker()) {
        c.reply(invalid("broker: required"));
        return;
    }
    const v1::Broker& b = req->broker();
    const auto now = clock::now();
    const controller::command_meta meta{principal(ctx), now_ms()};
    auto cmd = _state.read([&](const controller::controller_stm& s) {
        bool alive = false;
        if (const auto* existing = s.brokers().find(b.id())) {
            alive = _liveness.get(b.id(), existing->incarnation(), _o.broker_session_timeout, now)
                        .alive;
        }
        return controller::make_register_broker(s, b, alive, meta);
    });
    auto then = [this, req, resp, &c](result<void> outcome) {
        if (outcome) {
            _liveness.heartbeat(req->broker().id(), req->broker().incarnation(), 0, clock::now());
            *resp->mutable_result() = ok_item();
        } else {
            *resp->mutable_result() = to_item_result(outcome.error(), "");
        }
        _state.read([&](const controller::controller_stm& s) {
            resp->set_revision(s.revision().value());
            resp->set_cluster_uuid(s.cluster_uuid());
            return 0;
        });
        c.reply(grpc::Status::OK);
    };
    if (!cmd) {
        then(cmd.error());
    } else if (*cmd) {
        propose_one(**cmd, std::move(then));
    } else {
        then(ok());
    }
}

void controller_service::Heartbeat_async(call<v1::HeartbeatRequest, v1::HeartbeatResponse>& c) {
    const auto* req = &c.req;
    auto* resp = &c.resp;
    if (forward_async(c, &stub::async::Heartbeat, "Heartbeat")) {
        return;
    }
    const bool known = _state.read([&](const controller::controller_stm& s) {
        const auto* b = s.brokers().find(req->broker_id());
        resp->set_revision(s.revision().value());
        return b != nullptr && b->incarnation() == req->incarnation() &&
               b->state() != v1::BROKER_STATE_DECOMMISSIONED;
    });
    resp->set_session_timeout_ms(_o.broker_session_timeout.count());
    if (!known) {
        resp->mutable_result()->set_code(v1::UNKNOWN_BROKER);
        resp->mutable_result()->set_message(
            fmt::format("broker {} incarnation \"{}\" is not registered (register again)",
                        req->broker_id(), req->incarnation()));
        resp->mutable_result()->set_field("broker_id");
        c.reply(grpc::Status::OK);
        return;
    }
    _liveness.heartbeat(req->broker_id(), req->incarnation(), req->applied_revision(),
                        clock::now());
    *resp->mutable_result() = ok_item();
    c.reply(grpc::Status::OK);
}

grpc::Status controller_service::ListBrokers(grpc::ServerContext* ctx,
                                             const v1::ListBrokersRequest* req,
                                             v1::ListBrokersResponse* resp) {
    // Liveness lives on the leader: only a stale read is served locally.
    if (!req->read().stale()) {
        if (auto fwd = forward_if_follower(ctx, *req, resp, &stub::ListBrokers, "ListBrokers")) {
            return finish("ListBrokers", *fwd);
        }
    }
    if (auto r = linearize(req->read()); !r) {
        return finish("ListBrokers", to_grpc_status(r.error()));
    }
    const auto now = clock::now();
    const bool leader = _loop.is_leader();
    _state.read([&](const controller::controller_stm& s) {
        for (const auto& [id, b] : s.brokers().all()) {
            auto* item = resp->add_brokers();
            *item->mutable_broker() = b;
            if (leader) {
                const auto v = _liveness.get(id, b.incarnation(), _o.broker_session_timeout, now);
                item->set_alive(v.alive && b.state() != v1::BROKER_STATE_DECOMMISSIONED);
                item->set_applied_revision(v.applied_revision);
                item->set_last_heartbeat_ms_ago(v.last_heartbeat_ms_ago);
            } else {
                item->set_last_heartbeat_ms_ago(-1);
            }
            item->set_applied(req->applied_at_least() > 0 &&
                              item->applied_revision() >= req->applied_at_least());
        }
        resp->set_revision(s.revision().value());
        return 0;
    });
    return finish("ListBrokers", grpc::Status::OK);
}

void controller_service::SetBrokerState_async(
    call<v1::SetBrokerStateRequest, v1::SetBrokerStateResponse>& c) {
    auto* ctx = c.ctx;
    const auto* req = &c.req;
    auto* resp = &c.resp;
    if (forward_async(c, &stub::async::SetBrokerState, "SetBrokerState")) {
        return;
    }
    const controller::command_meta meta{principal(ctx), now_ms()};
    auto cmd = _state.read([&](const controller::controller_stm& s) {
        return controller::make_set_broker_state(s, req->id(), req->state(), meta);
    });
    auto then = [this, resp, &c](result<void> outcome) {
        *resp->mutable_result() = outcome ? ok_item() : to_item_result(outcome.error(), "");
        resp->set_revision(revision());
        c.reply(grpc::Status::OK);
    };
    if (!cmd) {
        then(cmd.error());
    } else if (*cmd) {
        propose_one(**cmd, std::move(then));
    } else {
        then(ok());
    }
}

grpc::Status controller_service::Watch(grpc::ServerContext* ctx, const v1::WatchRequest* req,
                                       grpc::ServerWriter<v1::WatchEvent>* writer) {
    const auto cancelled = [&] { return _stopping.load() || ctx->IsCancelled(); };
    // A watcher acts on what it is sent (a broker creates and deletes data
    // on it), so the stream starts only from a member that has proven it
    // is current: a ReadIndex, as for a linearizable read. A member that is
    // partitioned, behind or without a leader fails the call, with the
    // leader hint, and the watcher tries another. One that has just started
    // or lost its leader learns of one within an election timeout: that is
    // waited for (up to the read timeout), not turned into a failure.
    if (_stopping) {
        return finish("Watch", {grpc::StatusCode::UNAVAILABLE, "controller shutting down"});
    }
    const auto barrier_deadline = clock::now() + _o.read_timeout;
    auto r = linearize(v1::ReadOptions{});
    while (!r && to_error_code(r.error().code) == v1::NOT_LEADER &&
           clock::now() + std::chrono::milliseconds(20) < barrier_deadline && !cancelled()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        r = linearize(v1::ReadOptions{});
    }
    if (!r) {
        const grpc::Status hint = not_leader(ctx);  // adds the leader's id and address
        if (to_error_code(r.error().code) == v1::NOT_LEADER) {
            return finish("Watch", hint);
        }
        return finish(
            "Watch",
            {grpc::StatusCode::UNAVAILABLE,
             fmt::format("this member cannot confirm that its state is current ({}); {}",
                         r.error().detail.empty() ? r.error().code.message() : r.error().detail,
                         hint.error_message())});
    }
    revision_id last{req->from_revision()};
    auto send_snapshot = [&]() {
        // Serialized under the read lock (no copy of the tables), parsed
        // outside it: the raft loop's applies wait for that lock, and at a
        // million partitions a copy held it long enough to cost the leader
        // its lease.
        const std::string bytes =
            _state.read([&](const controller::controller_stm& s) { return s.snapshot(); });
        v1::WatchEvent ev;
        if (!ev.mutable_snapshot()->ParseFromString(bytes)) {
            return false;
        }
        last = revision_id{ev.snapshot().revision()};
        ev.set_revision_complete(true);
        return writer->Write(ev);
    };
    if (last == revision_id{0}) {
        if (!send_snapshot()) {
            return finish("Watch", grpc::Status::OK);
        }
    }
    // A member that loses its leader (partitioned, or the group has no
    // quorum) stops learning commits, and a watcher kept on it would stay
    // behind for as long as the partition lasts: after an election timeout
    // without a leader the stream ends, and the watcher goes to a member
    // that can prove it is current (the barrier above).
    std::optional<clock::time_point> leaderless_since;
    while (!cancelled()) {
        if (_loop.leader() != no_node) {
            leaderless_since.reset();
        } else if (!leaderless_since) {
            leaderless_since = clock::now();
        } else if (clock::now() - *leaderless_since >= _o.election_timeout) {
            return finish("Watch", {grpc::StatusCode::UNAVAILABLE,
                                    "this member has lost its leader; its state may be behind"});
        }
        auto deltas =
            _state.read([&](const controller::controller_stm& s) { return s.changes_after(last); });
        if (!deltas) {
            // The changes after `last` are no longer retained: start over.
            if (!send_snapshot()) {
                break;
            }
            continue;
        }
        for (size_t i = 0; i < deltas->size(); ++i) {
            v1::WatchEvent ev;
            last = revision_id{(*deltas)[i].revision()};
            ev.set_revision_complete(i + 1 == deltas->size() ||
                                     (*deltas)[i + 1].revision() != (*deltas)[i].revision());
            *ev.mutable_delta() = std::move((*deltas)[i]);
            if (!writer->Write(ev)) {
                return finish("Watch", grpc::Status::OK);
            }
        }
        _state.wait_for_revision(last, clock::now() + std::chrono::seconds(1), cancelled);
    }
    return finish(
        "Watch", _stopping ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "controller shutting down")
                           : grpc::Status::OK);
}

// ------------------------------------------------------------ administration

grpc::Status controller_service::Status(grpc::ServerContext*, const v1::StatusRequest*,
                                        v1::StatusResponse* resp) {
    auto f = _loop.status();
    if (f.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
        return finish("Status", {grpc::StatusCode::DEADLINE_EXCEEDED, "raft loop not responding"});
    }
    server::loop_status st;
    try {
        st = f.get();
    } catch (const std::future_error&) {
        return finish("Status", {grpc::StatusCode::UNAVAILABLE, "controller shutting down"});
    }
    resp->set_node_id(st.id.value());
    resp->set_leader_id(st.leader.value());
    resp->set_term(st.term.value());
    resp->set_commit_index(st.commit.value());
    resp->set_applied_index(st.applied.value());
    resp->set_role(std::string(raft::to_string(st.role)));
    resp->set_snapshot_index(st.snapshot_index.value());
    _state.read([&](const controller::controller_stm& s) {
        resp->set_cluster_uuid(s.cluster_uuid());
        auto add = [&](node_id id, bool voter) {
            auto* m = resp->add_members();
            m->set_voter(voter);
            if (const auto* rec = s.members().find(id.value())) {
                *m->mutable_member() = *rec;
            } else {
                m->mutable_member()->set_id(id.value());
            }
            for (const auto& p : st.progress) {
                if (p.id == id) {
                    m->set_match_index(p.match.value());
                    m->set_state(p.state);
                }
            }
        };
        for (node_id v : st.conf.voters) {
            add(v, true);
        }
        for (node_id l : st.conf.learners) {
            add(l, false);
        }
        return 0;
    });
    return finish("Status", grpc::Status::OK);
}

grpc::Status controller_service::AddMember(grpc::ServerContext* ctx,
                                           const v1::AddMemberRequest* req,
                                           v1::AddMemberResponse* resp) {
    if (auto fwd = forward_if_follower(ctx, *req, resp, &stub::AddMember, "AddMember", true)) {
        return finish("AddMember", *fwd);
    }
    const v1::Member& m = req->member();
    if (m.id() == 0) {
        return finish("AddMember", invalid("member.id: must be >= 1"));
    }
    if (auto r = check_address("member.peer_address", m.peer_address()); !r) {
        return finish("AddMember", to_grpc_status(r.error()));
    }
    if (auto r = check_address("member.api_address", m.api_address()); !r) {
        return finish("AddMember", to_grpc_status(r.error()));
    }
    v1::MemberContext mc;
    *mc.mutable_member() = m;
    raft::conf_change cc{raft::conf_change_type::add_learner, node_id{m.id()},
                         mc.SerializeAsString()};
    auto f = _loop.propose_conf_change(cc);
    auto r = await(f, clock::now() + _o.write_timeout);
    if (!r) {
        *resp->mutable_result() = to_item_result(r.error(), "member.");
        return finish("AddMember", grpc::Status::OK);
    }
    if (req->as_learner()) {
        *resp->mutable_result() = ok_item();
        return finish("AddMember", grpc::Status::OK);
    }
    // Promote once the learner holds the committed log (the core refuses
    // earlier promotion), polling the leader's view of its progress.
    const auto deadline = clock::now() + _o.write_timeout * 3;
    error_info last_error(errc::timeout, "member.id: learner did not catch up in time");
    while (clock::now() < deadline && !_stopping) {
        cc.type = raft::conf_change_type::add_voter;
        auto pf = _loop.propose_conf_change(cc);
        auto pr = await(pf, clock::now() + _o.write_timeout);
        if (pr) {
            *resp->mutable_result() = ok_item();
            return finish("AddMember", grpc::Status::OK);
        }
        if (pr.code() != raft::errc::learner_not_caught_up &&
            pr.code() != raft::errc::conf_change_pending) {
            *resp->mutable_result() = to_item_result(pr.error(), "member.");
            return finish("AddMember", grpc::Status::OK);
        }
        last_error = pr.error();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    *resp->mutable_result() = to_item_result(last_error, "member.");
    return finish("AddMember", grpc::Status::OK);
}

grpc::Status controller_service::RemoveMember(grpc::ServerContext* ctx,
                                              const v1::RemoveMemberRequest* req,
                                              v1::RemoveMemberResponse* resp) {
    if (auto fwd =
            forward_if_follower(ctx, *req, resp, &stub::RemoveMember, "RemoveMember", true)) {
        return finish("RemoveMember", *fwd);
    }
    if (req->id() == 0) {
        return finish("RemoveMember", invalid("id: must be >= 1"));
    }
    raft::conf_change cc{raft::conf_change_type::remove_node, node_id{req->id()}, {}};
    auto f = _loop.propose_conf_change(cc);
    auto r = await(f, clock::now() + _o.write_timeout);
    *resp->mutable_result() = r ? ok_item() : to_item_result(r.error(), "");
    return finish("RemoveMember", grpc::Status::OK);
}

grpc::Status controller_service::TransferLeadership(grpc::ServerContext* ctx,
                                                    const v1::TransferLeadershipRequest* req,
                                                    v1::TransferLeadershipResponse* resp) {
    if (auto fwd = forward_if_follower(ctx, *req, resp, &stub::TransferLeadership,
                                       "TransferLeadership", true)) {
        return finish("TransferLeadership", *fwd);
    }
    node_id to{req->to()};
    if (to == no_node) {
        // The most caught-up other voter.
        auto f = _loop.status();
        if (f.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
            return finish("TransferLeadership",
                          {grpc::StatusCode::DEADLINE_EXCEEDED, "raft loop not responding"});
        }
        const auto st = f.get();
        log_index best;
        for (const auto& p : st.progress) {
            const bool voter = std::find(st.conf.voters.begin(), st.conf.voters.end(), p.id) !=
                               st.conf.voters.end();
            if (p.id != st.id && voter && p.active && (to == no_node || p.match > best)) {
                to = p.id;
                best = p.match;
            }
        }
        if (to == no_node) {
            resp->mutable_result()->set_code(v1::INVALID_ARGUMENT);
            resp->mutable_result()->set_message("to: there is no other voter to transfer to");
            resp->mutable_result()->set_field("to");
            return finish("TransferLeadership", grpc::Status::OK);
        }
    }
    auto f = _loop.transfer_leadership(to);
    auto r = await(f, clock::now() + _o.write_timeout);
    if (!r) {
        *resp->mutable_result() = to_item_result(r.error(), "");
        return finish("TransferLeadership", grpc::Status::OK);
    }
    const auto deadline = clock::now() + _o.election_timeout * 3;
    while (clock::now() < deadline && _loop.leader() != to) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    resp->set_leader_id(_loop.leader().value());
    if (_loop.leader() == to) {
        *resp->mutable_result() = ok_item();
    } else {
        resp->mutable_result()->set_code(v1::TIMEOUT);
        resp->mutable_result()->set_message(fmt::format("to: {} did not take over within {} ms", to,
                                                        (_o.election_timeout * 3).count()));
        resp->mutable_result()->set_field("to");
    }
    return finish("TransferLeadership", grpc::Status::OK);
}

grpc::Status controller_service::TakeSnapshot(grpc::ServerContext*, const v1::TakeSnapshotRequest*,
                                              v1::TakeSnapshotResponse* resp) {
    auto f = _loop.take_snapshot();
    auto r = await(f, clock::now() + _o.write_timeout);
    if (!r) {
        *resp->mutable_result() = to_item_result(r.error(), "");
    } else {
        *resp->mutable_result() = ok_item();
        resp->set_snapshot_index(r->value());
    }
    return finish("TakeSnapshot", grpc::Status::OK);
}

}  // namespace fjord::service
