// File: common/controller_client/client.cc
//
// One call is a shared call_state passed from attempt to attempt: send,
// on_status (the rule and the budget), then a backoff (a grpc::Alarm) or
// finish. Every gRPC callback moves the state out of its functor, so that
// gRPC, which destroys the functor later on its own thread, holds nothing of
// the call (see finish()).

#include "common/controller_client/client.h"

#include <algorithm>
#include <optional>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include "common/controller_client/retry_rule.h"
#include "common/log.h"

namespace fjord::controller_client {
namespace {

using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;
using stub = v1::ControllerService::Stub;

constexpr milliseconds first_backoff{50};
constexpr milliseconds max_backoff{1000};
/// An unsafe write waits this long at most for a connection.
constexpr milliseconds connect_wait{2000};
/// Listings of large clusters are large (100,000 topics of 10 partitions is
/// ~60 MB); gRPC's default limit is 4 MiB.
constexpr int max_response_bytes = 1 << 30;

std::string random_client_id(const std::string& prefix) {
    std::random_device rd;
    return fmt::format("{}{:08x}{:08x}{:08x}{:08x}", prefix, rd(), rd(), rd(), rd());
}

/// gRPC takes deadlines on the system clock; budgets run on the steady one.
std::chrono::system_clock::time_point to_system(steady::time_point t) {
    return std::chrono::system_clock::now() +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(t - steady::now());
}

}  // namespace

std::string basic_authorization(const credential& c) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const std::string in = c.user + ":" + c.password;
    std::string out = "Basic ";
    out.reserve(out.size() + (in.size() + 2) / 3 * 4);
    for (size_t i = 0; i < in.size(); i += 3) {
        const size_t n = std::min<size_t>(3, in.size() - i);
        uint32_t v = 0;
        for (size_t j = 0; j < 3; ++j) {
            v = (v << 8) | (j < n ? static_cast<unsigned char>(in[i + j]) : 0u);
        }
        for (size_t j = 0; j < 4; ++j) {
            out += j <= n ? alphabet[(v >> (18 - 6 * j)) & 0x3f] : '=';
        }
    }
    return out;
}

/// Counts one call in client::_calls from begin() until nothing of it is
/// left: its state, wherever its last reference drops (a thread that set an
/// alarm may still hold one after the call has finished elsewhere), and
/// finish()'s run of `done`. stop() waits for the count, so no ClientContext
/// outlives the client's channels: were a context's reference a channel's
/// last, ~Channel would run on a gRPC callback thread, and the last channel
/// there releases gRPC's shared callback queue from one of the very threads
/// it then joins (a double free in grpc_cq_internal_unref under ASan).
struct call_token {
    client& c;

    explicit call_token(client& owner) : c(owner) {
        std::lock_guard g(c._mu);
        ++c._calls;
    }
    call_token(const call_token&) = delete;
    call_token& operator=(const call_token&) = delete;
    ~call_token() {
        std::lock_guard g(c._mu);
        if (--c._calls == 0) {
            c._idle.notify_all();
        }
    }
};

/// One call through its attempts.
template <typename Req, typename Resp>
struct call_state {
    /// First, so that it is destroyed last: after the context and the alarm.
    std::shared_ptr<call_token> token;
    using start_fn = void (*)(stub::async_interface*, grpc::ClientContext*, const Req*, Resp*,
                              std::function<void(grpc::Status)>);
    Req req;
    Resp resp;
    call_kind kind = call_kind::read;
    start_fn start = nullptr;
    client::done_fn<Resp> done;
    std::unique_ptr<grpc::ClientContext> ctx;
    std::unique_ptr<grpc::Alarm> alarm;
    steady::time_point until;  ///< no retry starts after this
    steady::time_point attempt_until;
    std::string target;
    bool pinned = false;  ///< status_of: one attempt at `target`
    size_t attempts = 0;
    milliseconds backoff = first_backoff;
    uint64_t seq = 0;            ///< 0: the request carries no session
    bool maybe_applied = false;  ///< some attempt of this write may have been applied
    std::map<std::string, std::string> answers;  ///< what each controller answered
    std::optional<Resp> last_answer;             ///< an answer with items still in doubt
};

template <typename Req, typename Resp>
using state_ptr = std::shared_ptr<call_state<Req, Resp>>;

struct engine {
    client& c;

    template <typename Req, typename Resp>
    void begin(const state_ptr<Req, Resp>& st, milliseconds timeout) {
        st->token = std::make_shared<call_token>(c);
        st->until = steady::now() + timeout;
        std::lock_guard g(c._mu);
        if (!st->pinned) {
            st->target = c._target;
        }
        if constexpr (requires { st->req.mutable_session(); }) {
            bool validate_only = false;
            if constexpr (requires { st->req.validate_only(); }) {
                validate_only = st->req.validate_only();
            }
            if (!validate_only) {
                st->seq = ++c._last_seq;
                c._outstanding.insert(st->seq);
                auto* ses = st->req.mutable_session();
                ses->set_client_id(c._client_id);
                ses->set_seq(st->seq);
                ses->set_first_outstanding(*c._outstanding.begin());
            }
        }
    }

    client::conn& conn_for(const std::string& address) {
        std::lock_guard g(c._mu);
        auto& k = c._conns[address];
        if (!k.stub) {
            grpc::ChannelArguments args;
            args.SetMaxReceiveMessageSize(max_response_bytes);
            k.channel = grpc::CreateCustomChannel(
                address, c._o.credentials ? c._o.credentials : grpc::InsecureChannelCredentials(),
                args);
            k.stub = v1::ControllerService::NewStub(k.channel);
        }
        return k;
    }

    /// One attempt at st->target. An unsafe write is sent only on a
    /// connection that is up, so that "could not connect" means "not sent".
    template <typename Req, typename Resp>
    void attempt(state_ptr<Req, Resp> st) {
        st->ctx.reset();  // the last attempt's, done with
        ++st->attempts;
        if constexpr (requires { st->req.mutable_session(); }) {
            if (st->seq != 0 && (st->maybe_applied || st->last_answer)) {
                // The server then decides a refusal in the log, where an
                // earlier attempt still in flight cannot overtake it.
                st->req.mutable_session()->set_retry(true);
            }
        }
        const auto now = steady::now();
        st->attempt_until = c._o.attempt_timeout.count() > 0 ? now + c._o.attempt_timeout
                                                             : std::max(st->until, now);
        if (st->kind == call_kind::unsafe_write) {
            await_connection(std::move(st), std::min(st->attempt_until, now + connect_wait));
        } else {
            send(std::move(st));
        }
    }

    /// Waits for the connection on a thread of its own (gRPC's channels make
    /// progress only while someone polls them, and an asynchronous call must
    /// not block its caller), then sends, or answers "could not connect".
    template <typename Req, typename Resp>
    void await_connection(state_ptr<Req, Resp> st, steady::time_point give_up) {
        client* self = &c;
        std::thread([self, st = std::move(st), give_up]() mutable {
            engine e{*self};
            client::conn& k = e.conn_for(st->target);
            if (k.channel->WaitForConnected(to_system(give_up))) {
                e.send(std::move(st));
            } else {
                e.on_status(
                    std::move(st),
                    {grpc::Status(grpc::StatusCode::UNAVAILABLE, "could not connect"), false});
            }
        }).detach();
    }

    template <typename Req, typename Resp>
    void send(state_ptr<Req, Resp> st) {
        client::conn& k = conn_for(st->target);
        st->ctx = std::make_unique<grpc::ClientContext>();
        st->ctx->set_deadline(to_system(st->attempt_until));
        if (!c._authorization.empty()) {
            st->ctx->AddMetadata("authorization", c._authorization);
        }
        st->resp.Clear();
        {
            std::lock_guard g(c._mu);
            if (c._stopped) {
                st->ctx.reset();
                after(std::move(st), milliseconds(0), [](engine&, state_ptr<Req, Resp>) {});
                return;
            }
            c._in_flight.insert(st->ctx.get());
        }
        client* self = &c;
        auto* ctx = st->ctx.get();
        auto* req = &st->req;
        auto* resp = &st->resp;
        const auto start = st->start;
        // The callback holds the only reference: once it has run (perhaps on a
        // gRPC thread before start() even returns here), nothing of the call
        // is left for this thread to destroy after `done`.
        start(k.stub->async(), ctx, req, resp, [self, st = std::move(st)](grpc::Status s) mutable {
            engine{*self}.on_status(std::move(st), {std::move(s), true});
        });
    }

    /// The rule and the budget: answer, or try again (now or after a backoff).
    template <typename Req, typename Resp>
    void on_status(state_ptr<Req, Resp> st, failed_attempt a) {
        if (st->ctx) {
            std::lock_guard g(c._mu);
            c._in_flight.erase(st->ctx.get());
        }
        const size_t max_attempts = st->pinned              ? 1
                                    : c._o.max_attempts > 0 ? c._o.max_attempts
                                                            : c._controllers.size();
        const bool budget_left =
            st->attempts < max_attempts && steady::now() + st->backoff < st->until;
        const grpc::Status& s = a.status;
        log(log_level::debug, "controller_client", "attempt {} at {} (client {} seq {}): {}",
            st->attempts, st->target, c._client_id, st->seq,
            s.ok() ? (in_doubt(st->resp) ? "answered, items in doubt" : "answered") : describe(s));
        if (s.ok()) {
            remember(*st);
            // Items that failed without a definite answer are sent again with
            // the same seq: those already applied are answered from the
            // session, the rest are applied now.
            if (st->kind != call_kind::session_write || !in_doubt(st->resp) || !budget_left) {
                result<Resp> r(std::move(st->resp));
                finish(std::move(st), std::move(r));
                return;
            }
            st->answers[st->target] = "some items not yet applied";
            st->last_answer = std::move(st->resp);
        } else {
            st->answers[st->target] = describe(s);
            st->maybe_applied = st->maybe_applied || may_have_applied(st->kind, a);
            if (std::string why = diagnosis(st->target, s); !why.empty()) {
                // This attempt never reached the server, and no retry will.
                st->answers[st->target] = why;
                if (std::string all = all_diagnosed(); !all.empty()) {
                    if (st->maybe_applied) {
                        auto e = final_error(*st, s);
                        finish(std::move(st), std::move(e));
                    } else {
                        finish(std::move(st), result<Resp>(error_info(
                                                  std::make_error_code(std::errc::host_unreachable),
                                                  std::move(all))));
                    }
                    return;
                }
                // Another configured controller may still be reachable.
            }
            if (!may_retry(st->kind, a) || !budget_left) {
                auto e = final_error(*st, s);
                finish(std::move(st), std::move(e));
                return;
            }
        }
        retry(std::move(st), s);
    }

    /// options::diagnose's answer for `target` after `s` (asked once per
    /// target; "" when there is nothing definite to say).
    std::string diagnosis(const std::string& target, const grpc::Status& s) {
        if (!c._o.diagnose || s.error_code() != grpc::StatusCode::UNAVAILABLE) {
            return {};
        }
        // A controller's own answers (retry_rule.cc) came over a working
        // connection: nothing to diagnose.
        const std::string& m = s.error_message();
        if (m.rfind("not the leader", 0) == 0 || m.rfind("nothing was done", 0) == 0 ||
            m == "controller shutting down") {
            return {};
        }
        {
            std::lock_guard g(c._mu);
            if (auto it = c._diagnosed.find(target); it != c._diagnosed.end()) {
                return it->second;
            }
        }
        std::string why = c._o.diagnose(target);
        std::lock_guard g(c._mu);
        return c._diagnosed.emplace(target, std::move(why)).first->second;
    }

    /// When every configured controller has a diagnosis: those, joined
    /// ("; "); else "".
    std::string all_diagnosed() {
        std::lock_guard g(c._mu);
        std::string out;
        for (const auto& address : c._controllers) {
            const auto it = c._diagnosed.find(address);
            if (it == c._diagnosed.end() || it->second.empty()) {
                return {};
            }
            if (out.find(it->second) == std::string::npos) {
                out += (out.empty() ? "" : "; ") + it->second;
            }
        }
        return out;
    }

    /// Follows the leader hint at once, else the next controller after a backoff.
    template <typename Req, typename Resp>
    void retry(state_ptr<Req, Resp> st, const grpc::Status& s) {
        std::string hint;
        if (!s.ok() && st->ctx) {
            const auto& md = st->ctx->GetServerTrailingMetadata();
            if (auto it = md.find("fjord-leader-address"); it != md.end()) {
                hint.assign(it->second.data(), it->second.size());
            }
        }
        if (!hint.empty() && hint != st->target) {
            st->target = hint;
            remember(*st);
            attempt(std::move(st));
            return;
        }
        if (!s.ok()) {
            st->target = next_after(st->target);
            remember(*st);
        }
        const milliseconds wait = st->backoff;
        st->backoff = std::min(st->backoff * 2, max_backoff);
        after(std::move(st), wait,
              [](engine& e, state_ptr<Req, Resp> next) { e.attempt(std::move(next)); });
    }

    std::string next_after(const std::string& address) const {
        auto it = std::find(c._controllers.begin(), c._controllers.end(), address);
        if (it == c._controllers.end() || ++it == c._controllers.end()) {
            return c._controllers.front();
        }
        return *it;
    }

    template <typename Req, typename Resp>
    void remember(const call_state<Req, Resp>& st) {
        if (!st.pinned) {
            std::lock_guard g(c._mu);
            c._target = st.target;
        }
    }

    template <typename Req, typename Resp>
    result<Resp> final_error(call_state<Req, Resp>& st, const grpc::Status& s) {
        if (st.last_answer && !st.maybe_applied) {
            // No attempt after it can have applied anything: its items say
            // what is in doubt.
            return std::move(*st.last_answer);
        }
        if (refused(s) && !st.maybe_applied) {
            // Definite: decided before anything was proposed. Only the
            // refusing controller's answer matters to the caller.
            return error_info(std::make_error_code(to_errc(s.error_code())),
                              fmt::format("controller {}: {}", st.target, describe(s)));
        }
        std::string detail;
        for (const auto& [addr, what] : st.answers) {
            detail += fmt::format("{}controller {}: {}", detail.empty() ? "" : "; ", addr, what);
        }
        if (st.maybe_applied) {
            return error_info(std::make_error_code(std::errc::timed_out),
                              "outcome unknown: the change may or may not have been applied; "
                              "check before retrying (" +
                                  detail + ")");
        }
        return error_info(std::make_error_code(to_errc(s.error_code())), detail);
    }

    /// Runs `next(engine, st)` after `wait` on a gRPC thread; once the client has
    /// stopped, finishes the call instead.
    template <typename Req, typename Resp, typename Next>
    void after(state_ptr<Req, Resp> st, milliseconds wait, Next next) {
        st->alarm = std::make_unique<grpc::Alarm>();
        grpc::Alarm* alarm = st->alarm.get();
        client* self = &c;
        alarm->Set(std::chrono::system_clock::now() + wait, [self, st,
                                                             next = std::move(next)](bool) mutable {
            auto s = std::move(st);
            bool stopped = false;
            {
                std::lock_guard g(self->_mu);
                stopped = self->_stopped;
            }
            engine e{*self};
            if (stopped && (s->maybe_applied || s->last_answer)) {
                // An earlier attempt may have applied: say so, never "failed".
                auto r = e.final_error(*s, grpc::Status(grpc::StatusCode::CANCELLED,
                                                        "the controller client is stopping"));
                e.finish(std::move(s), std::move(r));
            } else if (stopped) {
                e.finish(std::move(s), result<Resp>(error_info(
                                           std::make_error_code(std::errc::operation_canceled),
                                           "the controller client is stopping")));
            } else {
                next(e, std::move(s));
            }
        });
    }

    /// Runs `done`, dropping this thread's reference to the call's state
    /// first (gRPC destroys a callback's functor later, on its own thread).
    /// The token keeps the call counted until both are gone.
    template <typename Req, typename Resp>
    void finish(state_ptr<Req, Resp> st, result<Resp> r) {
        {
            std::lock_guard g(c._mu);
            c._outstanding.erase(st->seq);
        }
        const std::shared_ptr<call_token> token = st->token;
        auto done = std::move(st->done);
        st.reset();
        done(std::move(r));
        done = nullptr;
    }

    template <typename Req, typename Resp>
    void run(Req req, call_kind kind, typename call_state<Req, Resp>::start_fn start,
             milliseconds timeout, client::done_fn<Resp> done) {
        auto st = std::make_shared<call_state<Req, Resp>>();
        st->req = std::move(req);
        st->kind = kind;
        st->start = start;
        st->done = std::move(done);
        begin(st, timeout);
        attempt(std::move(st));
    }
};

client::client(std::vector<std::string> controllers, options o)
    : _controllers(std::move(controllers)),
      _o(std::move(o)),
      _client_id(random_client_id(_o.client_id_prefix)),
      _authorization(_o.auth ? basic_authorization(*_o.auth) : std::string()),
      _target(_controllers.front()) {}

client::~client() {
    stop();
}

void client::stop() {
    std::unique_lock lk(_mu);
    _stopped = true;
    for (grpc::ClientContext* ctx : _in_flight) {
        ctx->TryCancel();
    }
    _idle.wait(lk, [&] { return _calls == 0; });
}

void client::status_of(std::string address, milliseconds timeout,
                       done_fn<v1::StatusResponse> done) {
    auto st = std::make_shared<call_state<v1::StatusRequest, v1::StatusResponse>>();
    st->kind = call_kind::read;
    st->start = [](stub::async_interface* a, grpc::ClientContext* ctx, const v1::StatusRequest* r,
                   v1::StatusResponse* out,
                   std::function<void(grpc::Status)> on) { a->Status(ctx, r, out, std::move(on)); };
    st->done = std::move(done);
    st->target = std::move(address);
    st->pinned = true;
    engine e{*this};
    e.begin(st, timeout);
    e.attempt(std::move(st));
}

/// A call whose response type is not <Method>Response (CreateUser: UserResponse).
#define FJORD_CONTROLLER_CALL_TO(fn, Method, Resp, kind)                                         \
    void client::fn(v1::Method##Request req, milliseconds timeout, done_fn<v1::Resp> done) {     \
        engine{*this}.run<v1::Method##Request, v1::Resp>(                                        \
            std::move(req), kind,                                                                \
            [](stub::async_interface* a, grpc::ClientContext* ctx, const v1::Method##Request* r, \
               v1::Resp* out,                                                                    \
               std::function<void(grpc::Status)> on) { a->Method(ctx, r, out, std::move(on)); }, \
            timeout, std::move(done));                                                           \
    }
#define FJORD_CONTROLLER_CALL(fn, Method, kind) \
    FJORD_CONTROLLER_CALL_TO(fn, Method, Method##Response, kind)

FJORD_CONTROLLER_CALL(create_topics, CreateTopics, call_kind::session_write)
FJORD_CONTROLLER_CALL(delete_topics, DeleteTopics, call_kind::session_write)
FJORD_CONTROLLER_CALL(create_partitions, CreatePartitions, call_kind::session_write)
FJORD_CONTROLLER_CALL(alter_topic_configs, AlterTopicConfigs, call_kind::session_write)
FJORD_CONTROLLER_CALL(set_cluster_config, SetClusterConfig, call_kind::session_write)
FJORD_CONTROLLER_CALL_TO(create_user, CreateUser, UserResponse, call_kind::session_write)
FJORD_CONTROLLER_CALL_TO(update_user, UpdateUser, UserResponse, call_kind::session_write)
FJORD_CONTROLLER_CALL_TO(delete_user, DeleteUser, UserResponse, call_kind::session_write)
FJORD_CONTROLLER_CALL(create_acls, CreateAcls, call_kind::session_write)
FJORD_CONTROLLER_CALL(delete_acls, DeleteAcls, call_kind::session_write)
FJORD_CONTROLLER_CALL_TO(create_role, CreateRole, RoleResponse, call_kind::session_write)
FJORD_CONTROLLER_CALL_TO(delete_role, DeleteRole, RoleResponse, call_kind::session_write)
FJORD_CONTROLLER_CALL_TO(alter_role_members, AlterRoleMembers, RoleResponse,
                         call_kind::session_write)
FJORD_CONTROLLER_CALL_TO(unmount_topics, UnmountTopics, MigrationResponse, call_kind::session_write)
FJORD_CONTROLLER_CALL_TO(mount_topics, MountTopics, MigrationResponse, call_kind::session_write)
FJORD_CONTROLLER_CALL_TO(cancel_migration, CancelMigration, MigrationResponse,
                         call_kind::session_write)
FJORD_CONTROLLER_CALL_TO(delete_migration, DeleteMigration, MigrationResponse,
                         call_kind::session_write)
FJORD_CONTROLLER_CALL_TO(create_shadow_link, CreateShadowLink, ShadowLinkResponse,
                         call_kind::session_write)
FJORD_CONTROLLER_CALL_TO(update_shadow_link, UpdateShadowLink, ShadowLinkResponse,
                         call_kind::session_write)
FJORD_CONTROLLER_CALL_TO(delete_shadow_link, DeleteShadowLink, ShadowLinkResponse,
                         call_kind::session_write)
FJORD_CONTROLLER_CALL_TO(fail_over_shadow_link, FailOverShadowLink, ShadowLinkResponse,
                         call_kind::session_write)
FJORD_CONTROLLER_CALL(apply, Apply, call_kind::session_write)
FJORD_CONTROLLER_CALL_TO(get_shadow_link, GetShadowLink, ShadowLinkResponse, call_kind::read)
FJORD_CONTROLLER_CALL(list_shadow_links, ListShadowLinks, call_kind::read)
FJORD_CONTROLLER_CALL(get_shadow_link_status, GetShadowLinkStatus, call_kind::read)
FJORD_CONTROLLER_CALL(list_topics, ListTopics, call_kind::read)
FJORD_CONTROLLER_CALL(list_migrations, ListMigrations, call_kind::read)
FJORD_CONTROLLER_CALL(get_migration, GetMigration, call_kind::read)
FJORD_CONTROLLER_CALL(list_mountable_topics, ListMountableTopics, call_kind::read)
FJORD_CONTROLLER_CALL(list_brokers, ListBrokers, call_kind::read)
FJORD_CONTROLLER_CALL(get_cluster_config, GetClusterConfig, call_kind::read)
FJORD_CONTROLLER_CALL(status, Status, call_kind::read)
FJORD_CONTROLLER_CALL(list_users, ListUsers, call_kind::read)
FJORD_CONTROLLER_CALL(list_acls, ListAcls, call_kind::read)
FJORD_CONTROLLER_CALL(list_roles, ListRoles, call_kind::read)
FJORD_CONTROLLER_CALL(check_acl, CheckAcl, call_kind::read)
FJORD_CONTROLLER_CALL(add_member, AddMember, call_kind::unsafe_write)
FJORD_CONTROLLER_CALL(remove_member, RemoveMember, call_kind::unsafe_write)
FJORD_CONTROLLER_CALL(transfer_leadership, TransferLeadership, call_kind::unsafe_write)

#undef FJORD_CONTROLLER_CALL
#undef FJORD_CONTROLLER_CALL_TO

}  // namespace fjord::controller_client
