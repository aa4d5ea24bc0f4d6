// File: broker/cluster/controller_client.cc

#include "broker/cluster/controller_client.h"

#include <random>
#include <system_error>
#include <thread>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

namespace fjord::broker {

/// One call through its attempts: the request is kept for a retry on the
/// next controller.
template <typename Req, typename Resp>
struct attempt_state {
    Req req;
    Resp resp;
    std::unique_ptr<grpc::ClientContext> ctx;
    std::chrono::system_clock::time_point deadline;
    size_t target = 0;
    size_t tries = 0;
    uint64_t session_seq = 0;  ///< 0: the request carries no session
    controller_client::done_fn<Resp> done;
};

struct caller {
    controller_client& c;

    /// `start(async, ctx, req, resp, on_status)` issues the RPC.
    template <typename Req, typename Resp, typename Start>
    void call(Req req, std::chrono::milliseconds timeout, controller_client::done_fn<Resp> done,
              Start start) {
        auto st = std::make_shared<attempt_state<Req, Resp>>();
        st->req = std::move(req);
        st->deadline = std::chrono::system_clock::now() + timeout;
        st->done = std::move(done);
        {
            std::lock_guard g(c._mu);
            st->target = c._next;
            ++c._calls;
            // Writes carry this broker's session, so that a retry (here, or
            // by the controller that forwards it) is applied at most once.
            if constexpr (requires { st->req.mutable_session(); }) {
                if (!st->req.validate_only()) {
                    st->session_seq = ++c._last_seq;
                    c._outstanding.insert(st->session_seq);
                    auto* ses = st->req.mutable_session();
                    ses->set_client_id(c._client_id);
                    ses->set_seq(st->session_seq);
                    ses->set_first_outstanding(*c._outstanding.begin());
                }
            }
        }
        attempt(st, start);
    }

    template <typename Req, typename Resp, typename Start>
    void attempt(const std::shared_ptr<attempt_state<Req, Resp>>& st, Start start) {
        st->ctx = std::make_unique<grpc::ClientContext>();
        st->ctx->set_deadline(st->deadline);
        st->resp.Clear();
        const size_t i = st->target % c._stubs.size();
        {
            std::lock_guard g(c._mu);
            if (c._stopped) {
                fail(st, "the broker is stopping");
                return;
            }
            c._in_flight.insert(st->ctx.get());
        }
        ++st->tries;
        controller_client* self = &c;
        start(c._stubs[i]->async(), st->ctx.get(), &st->req, &st->resp,
              [self, st = st, start, i](grpc::Status s) mutable {
                  caller k{*self};
                  bool retry = false;
                  {
                      std::lock_guard g(self->_mu);
                      self->_in_flight.erase(st->ctx.get());
                      if (s.ok()) {
                          self->_next = i;
                      }
                      // Without a session only UNAVAILABLE is retried (as
                      // before); with one, outcome unknown too: the retry
                      // is answered from the session if the first applied.
                      const bool transient =
                          s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                          (st->session_seq != 0 && s.error_code() == grpc::StatusCode::UNKNOWN);
                      retry = transient && st->tries < self->_stubs.size() && !self->_stopped &&
                              std::chrono::system_clock::now() < st->deadline;
                      if (!retry) {
                          self->_outstanding.erase(st->session_seq);
                      }
                  }
                  if (retry) {
                      st->target = i + 1;
                      k.attempt(st, start);
                      return;
                  }
                  if (s.ok()) {
                      st->done(std::move(st->resp));
                  } else {
                      // Timed out and outcome unknown both mean "may have been
                      // applied" (Kafka: REQUEST_TIMED_OUT).
                      const bool unknown = s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
                                           s.error_code() == grpc::StatusCode::UNKNOWN;
                      const std::errc code = unknown ? std::errc::timed_out : std::errc::io_error;
                      st->done(error_info(
                          std::make_error_code(code),
                          fmt::format("controller {}: {} (gRPC {})", self->_addresses[i],
                                      s.error_message(), static_cast<int>(s.error_code()))));
                  }
                  // Nothing of the call may outlive finished(): stop() can
                  // return, the client go and the process exit right after,
                  // while gRPC would otherwise destroy this functor, and with
                  // it the context and messages, on its own thread.
                  st.reset();
                  k.finished();
              });
    }

    template <typename Req, typename Resp>
    void fail(const std::shared_ptr<attempt_state<Req, Resp>>& st, const std::string& why) {
        // Called with c._mu held: run `done` on a thread of its own, never
        // inside the caller's call.
        controller_client* self = &c;
        self->_outstanding.erase(st->session_seq);
        std::thread([self, st = st, why = why]() mutable {
            st->done(error_info(std::make_error_code(std::errc::operation_canceled), why));
            st.reset();  // before finished(): see attempt()
            why = std::string();
            caller{*self}.finished();
        }).detach();
    }

    /// After a call's `done` has run.
    void finished() {
        std::lock_guard g(c._mu);
        if (--c._calls == 0) {
            c._idle.notify_all();
        }
    }
};

namespace {

std::string random_client_id() {
    std::random_device rd;
    return fmt::format("broker-{:08x}{:08x}{:08x}", rd(), rd(), rd());
}

}  // namespace

controller_client::controller_client(std::vector<std::string> controllers)
    : _addresses(std::move(controllers)), _client_id(random_client_id()) {
    for (const auto& address : _addresses) {
        _stubs.push_back(v1::ControllerService::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials())));
    }
}

controller_client::~controller_client() {
    stop();
}

void controller_client::stop() {
    std::unique_lock lk(_mu);
    _stopped = true;
    for (grpc::ClientContext* ctx : _in_flight) {
        ctx->TryCancel();
    }
    _idle.wait(lk, [&] { return _calls == 0; });
}

#define FJORD_CONTROLLER_CALL(fn, Method)                                                         \
    void controller_client::fn(v1::Method##Request req, std::chrono::milliseconds timeout,        \
                               done_fn<v1::Method##Response> done) {                              \
        caller{*this}.call<v1::Method##Request, v1::Method##Response>(                            \
            std::move(req), timeout, std::move(done),                                             \
            [](stub::async_interface* a, grpc::ClientContext* ctx, const v1::Method##Request* r,  \
               v1::Method##Response* out,                                                         \
               std::function<void(grpc::Status)> on) { a->Method(ctx, r, out, std::move(on)); }); \
    }

FJORD_CONTROLLER_CALL(create_topics, CreateTopics)
FJORD_CONTROLLER_CALL(delete_topics, DeleteTopics)
FJORD_CONTROLLER_CALL(create_partitions, CreatePartitions)
FJORD_CONTROLLER_CALL(alter_topic_configs, AlterTopicConfigs)
FJORD_CONTROLLER_CALL(get_cluster_config, GetClusterConfig)
FJORD_CONTROLLER_CALL(set_cluster_config, SetClusterConfig)

#undef FJORD_CONTROLLER_CALL

}  // namespace fjord::broker
