// File: broker/cluster/controller_link.cc

#include "broker/cluster/controller_link.h"

#include <grpcpp/grpcpp.h>

#include "common/log.h"

namespace fjord::broker {
namespace {

constexpr const char* component = "controller-link";
constexpr auto call_timeout = std::chrono::seconds(5);

}  // namespace

controller_link::controller_link(controller_link_options o, event_fn on_event)
    : _o(std::move(o)), _on_event(std::move(on_event)) {
    for (const auto& address : _o.controllers) {
        // A Watch snapshot carries the whole cluster (~60 MB at a million
        // partitions); gRPC's default limit is 4 MiB.
        grpc::ChannelArguments args;
        args.SetMaxReceiveMessageSize(1 << 30);
        _stubs.push_back(v1::ControllerService::NewStub(grpc::CreateCustomChannel(
            address, _o.credentials ? _o.credentials : grpc::InsecureChannelCredentials(), args)));
    }
}

controller_link::~controller_link() {
    stop();
}

void controller_link::start() {
    _heartbeats = std::thread([this] { heartbeat_loop(); });
    _watch = std::thread([this] { watch_loop(); });
}

void controller_link::stop() {
    if (_stopping.exchange(true)) {
        return;
    }
    {
        std::lock_guard g(_mu);
        if (_watch_ctx) {
            _watch_ctx->TryCancel();
        }
        if (_call_ctx) {
            _call_ctx->TryCancel();
        }
    }
    _cv.notify_all();
    if (_heartbeats.joinable()) {
        _heartbeats.join();
    }
    if (_watch.joinable()) {
        _watch.join();
    }
}

void controller_link::leave(std::chrono::milliseconds budget) {
    if (!_registered) {
        return;
    }
    v1::HeartbeatRequest req;
    req.set_broker_id(_o.broker.id());
    req.set_incarnation(_o.broker.incarnation());
    req.set_applied_revision(_applied.load());
    req.set_leaving(true);
    // Each controller gets its share of the budget, the one that last
    // answered a heartbeat first: one that does not answer at all must not
    // use up the time the others would need.
    const auto until = std::chrono::system_clock::now() + budget;
    const auto share = budget / static_cast<int>(_stubs.size());
    const size_t first = _answered.load();
    std::string why;
    for (size_t n = 0; n < _stubs.size() && std::chrono::system_clock::now() < until; ++n) {
        const size_t i = (first + n) % _stubs.size();
        auto ctx = new_context();
        ctx->set_deadline(std::min(until, std::chrono::system_clock::now() + share));
        v1::HeartbeatResponse resp;
        const grpc::Status s = _stubs[i]->Heartbeat(ctx.get(), req, &resp);
        if (s.ok() && resp.result().code() == v1::OK) {
            log(log_level::info, component,
                "broker {} (incarnation {}) left the cluster: its id is free for a successor",
                _o.broker.id(), _o.broker.incarnation());
            return;
        }
        if (s.ok()) {
            log(log_level::info, component, "broker {} leaving: {}", _o.broker.id(),
                resp.result().message());
            return;
        }
        why +=
            fmt::format("{}{}: {}", why.empty() ? "" : "; ", _o.controllers[i], s.error_message());
    }
    log(log_level::warn, component,
        "broker {} could not tell the controllers it is leaving ({}); a successor with its id "
        "is refused until its session times out",
        _o.broker.id(), why.empty() ? "out of time" : why);
}

void controller_link::reconnect() {
    std::lock_guard g(_mu);
    if (_watch_ctx) {
        _watch_ctx->TryCancel();
    }
}

void controller_link::set_cluster_uuid(std::string uuid) {
    std::lock_guard g(_mu);
    _cluster_uuid = std::move(uuid);
}

std::shared_ptr<grpc::ClientContext> controller_link::new_context() const {
    auto ctx = std::make_shared<grpc::ClientContext>();
    if (!_o.authorization.empty()) {
        ctx->AddMetadata("authorization", _o.authorization);
    }
    return ctx;
}

bool controller_link::same_cluster(size_t target, const std::shared_ptr<grpc::ClientContext>& ctx) {
    std::string want;
    {
        std::lock_guard g(_mu);
        want = _cluster_uuid;
    }
    if (want.empty()) {
        return true;  // nothing recorded yet: the first snapshot decides
    }
    if (!ctx) {
        return false;  // stopping
    }
    const std::string& address = _o.controllers[target % _stubs.size()];
    ctx->set_deadline(std::chrono::system_clock::now() + call_timeout);
    v1::StatusResponse resp;
    const grpc::Status s = stub_at(target).Status(ctx.get(), v1::StatusRequest{}, &resp);
    if (!s.ok()) {
        log(log_level::debug, component, "status of {}: {}", address, s.error_message());
        return false;
    }
    if (resp.cluster_uuid() == want) {
        return true;
    }
    const std::string why = fmt::format(
        "controller at {} belongs to cluster {}, this broker's data to cluster {}: not following "
        "it (check `controllers` in broker.yaml)",
        address, resp.cluster_uuid().empty() ? "(no uuid yet)" : resp.cluster_uuid(), want);
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard g(_mu);
    auto& last = _refusals[address];
    if (last.first != why || now - last.second >= std::chrono::minutes(1)) {
        log(log_level::error, component, "{}", why);
        last = {why, now};
    }
    return false;
}

std::string controller_link::last_error() const {
    std::lock_guard g(_mu);
    return _last_error;
}

void controller_link::set_error(std::string e) {
    std::lock_guard g(_mu);
    _last_error = std::move(e);
}

controller_link::stub& controller_link::stub_at(size_t i) {
    return *_stubs[i % _stubs.size()];
}

void controller_link::set_applied_revision(uint64_t r) {
    if (_applied.exchange(r) == r) {
        return;
    }
    {
        std::lock_guard g(_mu);
        _report_now = true;
    }
    _cv.notify_all();
}

bool controller_link::pause_until_report(std::chrono::milliseconds d) {
    std::unique_lock lk(_mu);
    _cv.wait_for(lk, d, [&] { return _stopping.load() || _report_now; });
    return !_stopping;
}

bool controller_link::pause(std::chrono::milliseconds d) {
    std::unique_lock lk(_mu);
    _cv.wait_for(lk, d, [&] { return _stopping.load(); });
    return !_stopping;
}

void controller_link::heartbeat_loop() {
    size_t target = 0;
    auto backoff = _o.retry_backoff;
    std::chrono::milliseconds interval{1000};
    auto next_context = [&] {
        auto ctx = new_context();
        ctx->set_deadline(std::chrono::system_clock::now() + call_timeout);
        std::lock_guard g(_mu);
        _call_ctx = ctx;
        if (_stopping) {
            ctx->TryCancel();  // stop() ran before this call existed
        }
        return ctx;
    };
    while (!_stopping) {
        if (!_registered) {
            // Not even registered with another cluster's controller.
            if (!same_cluster(target, next_context())) {
                ++target;
                if (!pause(backoff)) {
                    return;
                }
                backoff = std::min(backoff * 2, _o.max_backoff);
                continue;
            }
            v1::RegisterBrokerRequest req;
            *req.mutable_broker() = _o.broker;
            v1::RegisterBrokerResponse resp;
            auto ctx = next_context();
            const grpc::Status s = stub_at(target).RegisterBroker(ctx.get(), req, &resp);
            if (s.ok() && resp.result().code() == v1::OK) {
                _registered = true;
                backoff = _o.retry_backoff;
                set_error("");
                log(log_level::info, component, "broker {} registered (incarnation {}) via {}",
                    _o.broker.id(), _o.broker.incarnation(),
                    _o.controllers[target % _stubs.size()]);
                continue;
            }
            const std::string why =
                s.ok() ? fmt::format("{}: {}", v1::ErrorCode_Name(resp.result().code()),
                                     resp.result().message())
                       : fmt::format("{} (gRPC {})", s.error_message(),
                                     static_cast<int>(s.error_code()));
            set_error(
                fmt::format("register with {}: {}", _o.controllers[target % _stubs.size()], why));
            log(log_level::warn, component, "register broker {} with {}: {}", _o.broker.id(),
                _o.controllers[target % _stubs.size()], why);
            if (!s.ok()) {
                ++target;  // try the next controller
            }
            if (!pause(backoff)) {
                return;
            }
            backoff = std::min(backoff * 2, _o.max_backoff);
            continue;
        }
        {
            std::lock_guard g(_mu);
            _report_now = false;  // this heartbeat reports what is applied now
        }
        v1::HeartbeatRequest req;
        req.set_broker_id(_o.broker.id());
        req.set_incarnation(_o.broker.incarnation());
        req.set_applied_revision(_applied.load());
        if (_report) {
            _report(req);
        }
        v1::HeartbeatResponse resp;
        auto ctx = next_context();
        const grpc::Status s = stub_at(target).Heartbeat(ctx.get(), req, &resp);
        if (s.ok() && resp.result().code() == v1::UNKNOWN_BROKER) {
            log(log_level::warn, component, "controller no longer knows broker {}: {}",
                _o.broker.id(), resp.result().message());
            _registered = false;
            continue;
        }
        if (!s.ok()) {
            log(log_level::debug, component, "heartbeat to {}: {}",
                _o.controllers[target % _stubs.size()], s.error_message());
            ++target;
            if (!pause(_o.retry_backoff)) {
                return;
            }
            continue;
        }
        _answered = target % _stubs.size();
        if (resp.session_timeout_ms() > 0) {
            interval =
                std::chrono::milliseconds(std::max<int64_t>(100, resp.session_timeout_ms() / 3));
        }
        if (!pause_until_report(interval)) {
            return;
        }
    }
}

std::shared_ptr<grpc::ClientContext> controller_link::watch_context() {
    auto ctx = new_context();
    std::lock_guard g(_mu);
    if (_stopping) {
        return nullptr;
    }
    _watch_ctx = ctx;
    return ctx;
}

void controller_link::watch_loop() {
    size_t target = 0;
    auto backoff = _o.retry_backoff;
    while (!_stopping) {
        bool got_any = false;
        if (same_cluster(target, watch_context())) {
            auto ctx = watch_context();
            if (!ctx) {
                return;
            }
            const watch_source source{++_streams, _o.controllers[target % _stubs.size()]};
            v1::WatchRequest req;
            req.set_from_revision(_applied.load());
            auto reader = stub_at(target).Watch(ctx.get(), req);
            v1::WatchEvent ev;
            while (reader->Read(&ev)) {
                got_any = true;
                _on_event(std::move(ev), source);
                ev = v1::WatchEvent();
            }
            const grpc::Status s = reader->Finish();
            if (_stopping) {
                return;
            }
            log(log_level::debug, component, "watch stream from {} ended: {}", source.address,
                s.ok() ? "closed" : s.error_message());
        }
        if (_stopping) {
            return;
        }
        ++target;
        if (got_any) {
            backoff = _o.retry_backoff;
        }
        if (!pause(backoff)) {
            return;
        }
        backoff = std::min(backoff * 2, _o.max_backoff);
    }
}

}  // namespace fjord::broker
