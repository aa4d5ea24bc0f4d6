// File: controller/shadow/driver.cc
//
// The shadow-link driver (driver.h): per link, failovers finished every
// pass and the controller-side tasks run when due, each as ask the source
// -> plan (plan.h) under the read lock -> propose outside it.

#include "controller/shadow/driver.h"

#include <set>

#include <fmt/format.h>

#include "common/cluster/errc.h"
#include "common/cluster/shadow_link.h"
#include "common/log.h"

namespace fjord::shadow {
namespace {

using cluster::errc;
using steady = std::chrono::steady_clock;
constexpr std::string_view component = "shadow";

/// A proposal that did not reach the state (this member no longer leads,
/// or its outcome is unknown): stop and let the next pass plan again.
bool not_applied(const error_info& e) {
    return e.code == errc::not_leader || e.code == errc::timeout ||
           e.code == errc::outcome_unknown ||
           e.code == std::make_error_code(std::errc::operation_canceled);
}

v1::ShadowTaskStatus task_status(const std::string& link, std::string_view name,
                                 std::string_view state, std::string reason) {
    v1::ShadowTaskStatus s;
    s.set_link(link);
    s.set_name(std::string(name));
    s.set_broker_id(-1);
    s.set_shard(0);
    s.set_state(std::string(state));
    s.set_reason(std::move(reason));
    return s;
}

bool same(const std::vector<v1::ShadowTaskStatus>& a, const std::vector<v1::ShadowTaskStatus>& b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (size_t i = 0; i < a.size(); ++i) {
        if (a[i].SerializeAsString() != b[i].SerializeAsString()) {
            return false;
        }
    }
    return true;
}

std::string joined(const std::vector<std::string>& notes) {
    return fmt::format("{}", fmt::join(notes, "; "));
}

}  // namespace

/// One pass's connection to a link's source: opened on first use; the
/// cluster id is checked against the link's source_cluster_id with the
/// first Metadata; a failure is kept, so the link's other task in the same
/// pass does not dial again.
struct driver::source_session {
    const v1::ShadowLink& link;
    driver_host& host;
    std::unique_ptr<source_client> client;
    std::optional<source_metadata> md;
    std::optional<error_info> failed;

    /// The connection, or why there is none.
    result<source_client*> get() {
        if (failed) {
            return *failed;
        }
        if (!client) {
            auto c = host.connect(link);
            if (!c) {
                failed = c.error();
                return *failed;
            }
            client = std::move(*c);
        }
        return client.get();
    }

    /// The source's listing, cluster id checked.
    result<const source_metadata*> metadata() {
        if (md) {
            return &*md;
        }
        auto c = get();
        if (!c) {
            return c.error();
        }
        auto m = (*c)->metadata();
        if (!m) {
            return fail(m.error());
        }
        const std::string& want = link.config().client_options().source_cluster_id();
        if (!want.empty() && m->cluster_id != want) {
            return fail(error_info(errc::shadow_link_unreachable,
                                   fmt::format("the source is cluster \"{}\", not \"{}\" "
                                               "(client_options.source_cluster_id)",
                                               m->cluster_id, want)));
        }
        md = std::move(*m);
        return &*md;
    }

    /// A call that failed: an unreachable source is kept as this pass's
    /// answer.
    error_info fail(error_info e) {
        if (e.code == errc::shadow_link_unreachable) {
            failed = e;
        }
        return e;
    }
};

driver::driver(driver_host& host, driver_options o) : _host(host), _o(std::move(o)) {}

driver::~driver() {
    stop();
}

stm::command_meta driver::meta() {
    return stm::command_meta{_o.principal, _host.now_ms()};
}

std::pair<size_t, bool> driver::propose_all(plan& p) {
    size_t applied = 0;
    for (const v1::ControllerCommand& cmd : p.commands) {
        auto r = _host.propose(cmd);
        if (r) {
            ++applied;
            continue;
        }
        if (not_applied(r.error())) {
            log(log_level::info, component, "a change was not applied: {}", r.error().message());
            return {applied, false};
        }
        // Refused at apply: the state moved on since the plan (a topic of
        // that name appeared, the link was recreated). The next pass plans
        // from the new state.
        p.notes.push_back(fmt::format("a change was refused: {}", r.error().detail));
    }
    return {applied, true};
}

size_t driver::finish_failovers(const v1::ShadowLink& link) {
    bool failing_over = false;
    std::vector<std::pair<int32_t, std::string>> registered;
    _host.read([&](const stm::controller_stm& s) {
        for (const auto& [name, t] : s.topics().all()) {
            if (t.has_shadow() && t.shadow().link_uuid() == link.uuid() &&
                t.shadow().state() == v1::SHADOW_TOPIC_STATE_FAILING_OVER) {
                failing_over = true;
                break;
            }
        }
        if (failing_over) {
            for (const auto& [id, b] : s.brokers().all()) {
                registered.emplace_back(id, b.incarnation());
            }
        }
    });
    if (!failing_over) {
        return 0;
    }
    std::map<int32_t, broker_view> views;
    for (const auto& [id, incarnation] : registered) {
        views[id] = _host.liveness(id, incarnation);
    }
    plan p;
    _host.read([&](const stm::controller_stm& s) {
        p = plan_failover_completion(s, link, views, meta());
    });
    for (const std::string& n : p.notes) {
        log(log_level::debug, component, "link {}: {}", link.name(), n);
    }
    const size_t applied = propose_all(p).first;
    if (applied > 0) {
        log(log_level::info, component, "link {}: {} topic(s) failed over", link.name(), applied);
    }
    return applied;
}

size_t driver::run_topic_sync(const v1::ShadowLink& link, source_session& src, task_timer& t) {
    const auto md = src.metadata();
    if (!md) {
        return fail(link, topic_sync_task, t, md.error());
    }
    topic_sync_questions q;
    _host.read([&](const stm::controller_stm& s) { q = topic_sync_questions_of(s, link, **md); });
    topic_sync_input in;
    in.source = **md;
    source_client* c = src.client.get();
    auto configs = c->topic_configs(q.describe, synced_keys(link));
    if (!configs) {
        return fail(link, topic_sync_task, t, src.fail(configs.error()));
    }
    in.configs = std::move(*configs);
    auto absent = c->absent_topics(q.check_absent);
    if (!absent) {
        return fail(link, topic_sync_task, t, src.fail(absent.error()));
    }
    in.absent = std::move(*absent);
    plan p;
    _host.read([&](const stm::controller_stm& s) {
        p = plan_topic_sync(
            s, link, in, [&] { return _host.new_uuid(); }, meta());
    });
    const auto [applied, complete] = propose_all(p);
    succeed(link, topic_sync_task, t, p.notes, complete);
    if (applied > 0) {
        log(log_level::info, component, "link {}: source topic sync applied {} change(s)",
            link.name(), applied);
    }
    return applied;
}

size_t driver::run_security_sync(const v1::ShadowLink& link, source_session& src, task_timer& t) {
    // The listing checks that the source is the cluster the link names.
    if (const auto md = src.metadata(); !md) {
        return fail(link, security_task, t, md.error());
    }
    std::vector<v1::AclBinding> bindings;
    for (const v1::AclFilter& f : link.config().security_sync_options().acl_filters()) {
        auto b = src.client->describe_acls(f);
        if (!b) {
            return fail(link, security_task, t, src.fail(b.error()));
        }
        bindings.insert(bindings.end(), b->begin(), b->end());
    }
    plan p;
    _host.read([&](const stm::controller_stm& s) { p = plan_acl_sync(s, link, bindings, meta()); });
    const auto [applied, complete] = propose_all(p);
    succeed(link, security_task, t, p.notes, complete);
    if (applied > 0) {
        log(log_level::info, component, "link {}: ACLs synced", link.name());
    }
    return applied;
}

size_t driver::fail(const v1::ShadowLink& link, std::string_view task, task_timer& t,
                    const error_info& e) {
    const bool unreachable = e.code == errc::shadow_link_unreachable;
    if (t.status.state() != (unreachable ? "LINK_UNAVAILABLE" : "FAULTED") ||
        t.status.reason() != e.detail) {
        log(log_level::warn, component, "link {}: {}: {}", link.name(), task, e.detail);
    }
    t.status =
        task_status(link.name(), task, unreachable ? "LINK_UNAVAILABLE" : "FAULTED", e.detail);
    retry_later(link, task, t);
    return 0;
}

void driver::succeed(const v1::ShadowLink& link, std::string_view task, task_timer& t,
                     const std::vector<std::string>& notes, bool complete) {
    t.status = task_status(link.name(), task, "ACTIVE", joined(notes));
    if (!complete) {
        retry_later(link, task, t);
        return;
    }
    t.backoff = std::chrono::milliseconds(0);
    t.due = steady::now() + std::chrono::milliseconds(interval_of(link, task));
}

void driver::retry_later(const v1::ShadowLink& link, std::string_view task, task_timer& t) {
    const std::chrono::milliseconds first(
        cluster::shadow::effective(link.config().client_options()).retry_backoff_ms);
    const std::chrono::milliseconds cap(interval_of(link, task));
    t.backoff = t.backoff.count() == 0 ? first : std::min(t.backoff * 2, cap);
    t.backoff = std::min(t.backoff, cap);
    t.due = steady::now() + t.backoff;
}

int64_t driver::interval_of(const v1::ShadowLink& link, std::string_view task) {
    const auto& c = link.config();
    return cluster::shadow::effective_interval_ms(
        task == topic_sync_task ? c.topic_metadata_sync_options().interval_ms()
                                : c.security_sync_options().interval_ms());
}

size_t driver::run_once() {
    {
        std::lock_guard g(_mu);
        if (_due_all) {
            _due_all = false;
            for (auto& [name, lt] : _links) {
                lt.topics.due = {};
                lt.security.due = {};
            }
        }
    }
    if (!_host.is_leader()) {
        // A follower's task states are not current: withdraw them; a new
        // leadership starts afresh (and publishes anew).
        for (const auto& [name, lt] : _links) {
            _host.publish_tasks(name, {});
        }
        _links.clear();
        return 0;
    }
    std::vector<v1::ShadowLink> links = _host.links();
    if (links.empty() && _links.empty()) {
        return 0;
    }
    // With work, the state must hold every committed change first (a new
    // leader sees its predecessor's last proposals before it plans).
    if (auto r = _host.linearize(); !r) {
        return 0;
    }
    links = _host.links();
    size_t applied = 0;
    std::set<std::string> present;
    for (const v1::ShadowLink& link : links) {
        present.insert(link.name());
        link_timers& lt = _links[link.name()];
        if (lt.uuid != link.uuid()) {
            lt = link_timers{};  // a new link (or recreated): every task due now
            lt.uuid = link.uuid();
        }
        if (std::string config = link.config().SerializeAsString(); config != lt.config) {
            // Updated (filters, intervals, the source): run with it now.
            lt.config = std::move(config);
            lt.topics.due = {};
            lt.security.due = {};
        }
        applied += finish_failovers(link);

        source_session src{link, _host, nullptr, std::nullopt, std::nullopt};
        const bool link_paused = link.state() == v1::SHADOW_LINK_STATE_PAUSED;
        const auto now = steady::now();
        const auto run =
            [&](std::string_view task, bool paused, task_timer& t,
                size_t (driver::*fn)(const v1::ShadowLink&, source_session&, task_timer&)) {
                if (link_paused || paused) {
                    t.status = task_status(link.name(), task, "PAUSED",
                                           link_paused ? "the link is paused" : "");
                    return;
                }
                if (t.due <= now) {
                    applied += (this->*fn)(link, src, t);
                }
            };
        run(topic_sync_task, link.config().topic_metadata_sync_options().paused(), lt.topics,
            &driver::run_topic_sync);
        run(security_task, link.config().security_sync_options().paused(), lt.security,
            &driver::run_security_sync);

        std::vector<v1::ShadowTaskStatus> tasks;
        for (const task_timer* t : {&lt.topics, &lt.security}) {
            if (!t->status.name().empty()) {
                tasks.push_back(t->status);
            }
        }
        if (!same(tasks, lt.published)) {
            lt.published = tasks;
            _host.publish_tasks(link.name(), std::move(tasks));
        }
    }
    for (auto it = _links.begin(); it != _links.end();) {
        if (present.count(it->first) == 0) {
            _host.publish_tasks(it->first, {});
            it = _links.erase(it);
        } else {
            ++it;
        }
    }
    return applied;
}

void driver::make_due() {
    std::lock_guard g(_mu);
    _due_all = true;
}

void driver::start() {
    std::lock_guard g(_mu);
    if (_thread.joinable()) {
        return;
    }
    _stopping = false;
    _thread = std::thread([this] { loop(); });
}

void driver::stop() {
    {
        std::lock_guard g(_mu);
        _stopping = true;
    }
    _cv.notify_all();
    if (_thread.joinable() && _thread.get_id() != std::this_thread::get_id()) {
        _thread.join();
    }
}

void driver::poke() {
    {
        std::lock_guard g(_mu);
        _poked = true;
        _due_all = true;
    }
    _cv.notify_all();
}

void driver::loop() {
    for (;;) {
        {
            std::unique_lock lk(_mu);
            _cv.wait_for(lk, _o.poll, [&] { return _stopping || _poked; });
            if (_stopping) {
                return;
            }
            _poked = false;
        }
        try {
            run_once();
        } catch (const std::exception& e) {
            // A bug; keep driving rather than leave every link's tasks stuck.
            log(log_level::error, component, "pass failed: {}", e.what());
        }
    }
}

}  // namespace fjord::shadow
