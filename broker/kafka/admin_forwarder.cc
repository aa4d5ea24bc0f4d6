// File: broker/kafka/admin_forwarder.cc

#include "broker/kafka/admin_forwarder.h"

#include <fmt/format.h>

#include "broker/kafka/errors.h"
#include "common/cluster/config_schema.h"
#include "common/cluster/topic_name.h"
#include "common/log.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;
using std::chrono::milliseconds;
constexpr const char* component = "kafka-admin";

}  // namespace

admin_forwarder::admin_forwarder(admin_options o, metadata_cache& md,
                                 controller_client::client& controller, post_fn post)
    : _o(std::move(o)), _md(md), _controller(controller), _post(std::move(post)) {}

std::shared_ptr<admin_forwarder::pending> admin_forwarder::make_pending(const request_context& ctx,
                                                                        milliseconds timeout,
                                                                        bool wait) const {
    return std::make_shared<pending>(pending{ctx, clock::now() + timeout, wait});
}

std::pair<milliseconds, bool> admin_forwarder::timeout_of(int32_t timeout_ms) const {
    if (timeout_ms <= 0) {
        return {_o.default_timeout, false};
    }
    return {std::min(milliseconds(timeout_ms), _o.max_timeout), true};
}

void admin_forwarder::log_outcome(const pending& p, const std::string& item, const outcome& o) {
    if (o.code == k::none) {
        log(log_level::info, component, "{} from {}: {}: done", p.ctx.api_name(), p.ctx.peer(),
            item);
    } else {
        log(log_level::info, component, "{} from {}: {}: error {}: {}", p.ctx.api_name(),
            p.ctx.peer(), item, o.code, o.message.value_or(""));
    }
}

void admin_forwarder::on_close(const session& s) {
    // Their answers would be dropped anyway; stop watching the cache for them.
    std::erase_if(_waiters, [&](const waiter& w) { return w.p->ctx.conn->id() == s.id(); });
}

void admin_forwarder::answer_after(uint64_t revision, std::shared_ptr<pending> p,
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

void admin_forwarder::poll_waiters() {
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
                w.p->ctx.api_name(), w.p->ctx.peer(), w.revision, _md.applied_revision());
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

bool admin_forwarder::auto_create_enabled() const {
    std::string enabled;
    if (auto v = _md.config("auto_create_topics_enabled")) {
        enabled = *v;
    } else if (const auto* p =
                   cluster::cluster_config_schema().find("auto_create_topics_enabled")) {
        enabled = p->default_value;
    }
    return enabled == "true";
}

int16_t admin_forwarder::auto_create_topic(const std::string& topic) {
    if (auto r = cluster::validate_topic_name(topic); !r) {
        return k::invalid_topic_exception;
    }
    if (!auto_create_enabled() || _stopped) {
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
    admin_forwarder* self = this;
    _controller.create_topics(
        std::move(call), _o.auto_create_timeout,
        on_io<v1::CreateTopicsResponse>([self, topic](result<v1::CreateTopicsResponse> r) {
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

void admin_forwarder::stop() {
    _stopped = true;
    _waiters.clear();
}

}  // namespace fjord::broker
