// File: broker/shadow/group_offset_sync.cc

#include "broker/shadow/group_offset_sync.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/group/coordinator.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/topic_id.h"
#include "common/cluster/internal_topics.h"
#include "common/cluster/shadow_link.h"
#include "common/log.h"

namespace fjord::broker::shadow {
namespace {

namespace k = kafka_errors;
constexpr const char* component = "shadow";
/// How often the worker looks for new links and config changes.
constexpr int64_t poll_ms = 1000;
/// Groups named in a status reason, at most.
constexpr size_t reason_names = 5;

std::string name_some(const std::vector<std::string>& names) {
    std::string out;
    for (size_t i = 0; i < names.size() && i < reason_names; ++i) {
        out += (i == 0 ? "" : ", ") + names[i];
    }
    if (names.size() > reason_names) {
        out += fmt::format(" and {} more", names.size() - reason_names);
    }
    return out;
}

}  // namespace

// ------------------------------------------------------------------ pure rules

std::optional<std::string> paused_reason(const v1::ShadowLink& l) {
    if (l.state() != v1::SHADOW_LINK_STATE_ACTIVE) {
        return fmt::format("the link is {}", cluster::shadow::to_string(l.state()));
    }
    if (l.config().consumer_offset_sync_options().paused()) {
        return std::string("consumer_offset_sync_options.paused is set");
    }
    return std::nullopt;
}

std::map<std::string, synced_topic> synced_topics(const v1::ShadowLink& l,
                                                  const std::map<std::string, v1::Topic>& topics) {
    std::map<std::string, synced_topic> out;
    for (const auto& [name, t] : topics) {
        if (!t.has_shadow()) {
            continue;
        }
        const auto& s = t.shadow();
        if (s.link() != l.name() || s.state() != v1::SHADOW_TOPIC_STATE_ACTIVE ||
            (!s.link_uuid().empty() && !l.uuid().empty() && s.link_uuid() != l.uuid())) {
            continue;
        }
        out[s.source_topic().empty() ? name : s.source_topic()] =
            synced_topic{name, t.uuid(), t.partitions_size()};
    }
    return out;
}

offsets_topic_view offsets_view(const std::map<std::string, v1::Topic>& topics, int32_t node_id) {
    offsets_topic_view v;
    auto it = topics.find(std::string(cluster::offsets_topic));
    if (it == topics.end()) {
        return v;
    }
    v.partitions = it->second.partitions_size();
    for (const auto& a : it->second.partitions()) {
        if (a.leader() == node_id) {
            v.led_here.insert(a.partition());
        }
    }
    return v;
}

bool coordinated_here(const offsets_topic_view& v, std::string_view group) {
    return v.partitions > 0 && v.led_here.count(offsets_partition_for(group, v.partitions)) != 0;
}

std::vector<std::string> groups_to_sync(const v1::ShadowLink& l,
                                        const std::vector<std::string>& listed,
                                        const offsets_topic_view& v) {
    std::set<std::string> out;
    const auto& filters = l.config().consumer_offset_sync_options().group_filters();
    for (const auto& g : listed) {
        if (coordinated_here(v, g) &&
            cluster::shadow::passes(filters, g, cluster::shadow::filter_kind::group)) {
            out.insert(g);
        }
    }
    return {out.begin(), out.end()};
}

hwm_map hwms_from_status(const v1::GetShadowLinkStatusResponse& s) {
    hwm_map out;
    for (const auto& t : s.topics()) {
        for (const auto& p : t.partitions()) {
            if (p.shadow_hwm() >= 0) {
                out[{t.name(), p.partition()}] = p.shadow_hwm();
            }
        }
    }
    return out;
}

group_plan plan_group(std::string group, const source_offsets& src,
                      const std::map<std::string, synced_topic>& topics, const hwm_map& hwms) {
    group_plan plan;
    plan.group = std::move(group);
    for (const auto& [tp, o] : src) {
        auto t = topics.find(tp.first);
        if (t == topics.end() || tp.second < 0 || tp.second >= t->second.partitions ||
            o.offset < 0) {
            continue;
        }
        auto h = hwms.find({t->second.name, tp.second});
        if (h == hwms.end()) {
            ++plan.unknown_hwm;
            continue;
        }
        const bool clamped = o.offset > h->second;
        plan.writes.push_back(offset_write{t->second.name, tp.second,
                                           clamped ? h->second : o.offset, o.metadata, clamped});
    }
    // Source names and shadow names may sort apart.
    std::sort(plan.writes.begin(), plan.writes.end(), [](const auto& a, const auto& b) {
        return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
    });
    return plan;
}

std::vector<offset_write> changed_writes(
    const std::vector<offset_write>& wanted,
    const std::function<const committed_offset*(const std::string&, int32_t)>& current) {
    std::vector<offset_write> out;
    for (const auto& w : wanted) {
        const committed_offset* c = current(w.topic, w.partition);
        if (c == nullptr || c->offset != w.offset || c->metadata != w.metadata) {
            out.push_back(w);
        }
    }
    return out;
}

std::string_view to_string(task_state s) {
    switch (s) {
        case task_state::active:
            return "ACTIVE";
        case task_state::paused:
            return "PAUSED";
        case task_state::link_unavailable:
            return "LINK_UNAVAILABLE";
        case task_state::faulted:
            return "FAULTED";
    }
    return "FAULTED";
}

task_state state_for(const error_info& e) {
    if (e.code == std::errc::permission_denied || e.code == std::errc::operation_not_permitted ||
        e.code == std::errc::not_supported || e.code == std::errc::invalid_argument) {
        return task_state::faulted;
    }
    return task_state::link_unavailable;
}

v1::ShadowTaskStatus task_status(const std::string& link, int32_t broker_id, task_state s,
                                 std::string reason) {
    v1::ShadowTaskStatus st;
    st.set_link(link);
    st.set_name(std::string(group_sync_task_name));
    st.set_broker_id(broker_id);
    st.set_shard(0);
    st.set_state(std::string(to_string(s)));
    st.set_reason(std::move(reason));
    return st;
}

// ------------------------------------------------------------------ the task

group_offset_sync::group_offset_sync(group_sync_env env, const metadata_cache& md,
                                     partition_manager& pm, group_coordinator& coord)
    : _env(std::move(env)), _md(md), _pm(pm), _coord(coord) {}

group_offset_sync::~group_offset_sync() {
    stop();
}

void group_offset_sync::start() {
    if (_thread.joinable() || *_stopped) {
        return;
    }
    _thread = std::thread([this] { worker(); });
}

void group_offset_sync::stop() {
    {
        std::lock_guard g(_mu);
        *_stopped = true;
    }
    _cv.notify_all();
    if (_thread.joinable()) {
        _thread.join();
    }
}

void group_offset_sync::worker() {
    std::unique_lock l(_mu);
    while (!*_stopped) {
        l.unlock();
        run_once(_env.now_ms());
        l.lock();
        _cv.wait_for(l, std::chrono::milliseconds(poll_ms), [this] { return _stopped->load(); });
    }
}

template <typename T>
std::optional<T> group_offset_sync::await(std::function<void(std::function<void(T)>)> start) {
    struct state {
        std::mutex mu;
        std::condition_variable cv;
        std::optional<T> value;
    };
    auto st = std::make_shared<state>();
    start([st](T v) {
        {
            std::lock_guard g(st->mu);
            st->value = std::move(v);
        }
        st->cv.notify_all();
    });
    std::unique_lock l(st->mu);
    const int64_t deadline = _env.now_ms() + _env.wait_ms;
    while (!st->value && !*_stopped && _env.now_ms() < deadline) {
        st->cv.wait_for(l, std::chrono::milliseconds(100));
    }
    return std::move(st->value);
}

template <typename T>
std::optional<T> group_offset_sync::on_io(std::function<void(std::function<void(T)>)> fn) {
    return await<T>([this, fn = std::move(fn)](std::function<void(T)> deliver) mutable {
        _env.post([stopped = _stopped, fn = std::move(fn), deliver = std::move(deliver)] {
            if (*stopped) {
                return;  // the broker is stopping: touch nothing
            }
            fn(deliver);
        });
    });
}

result<v1::GetShadowLinkStatusResponse> group_offset_sync::link_status(const std::string& link) {
    using answer = result<v1::GetShadowLinkStatusResponse>;
    auto got = await<answer>([this, &link](std::function<void(answer)> deliver) {
        _env.link_status(link, std::move(deliver));
    });
    if (!got) {
        return error_info(std::make_error_code(std::errc::timed_out),
                          "the controller's link status did not arrive in time");
    }
    return std::move(*got);
}

std::optional<group_offset_sync::view> group_offset_sync::read_view() {
    return on_io<view>([this](std::function<void(view)> deliver) {
        view v;
        v.links = _env.links();
        v.offsets = offsets_view(_md.topics(), _env.node_id);
        for (const auto& l : v.links) {
            auto topics = synced_topics(l, _md.topics());
            for (const auto& [src, t] : topics) {
                const v1::Topic* topic = _md.topic(t.name);
                for (const auto& a : topic->partitions()) {
                    partition* p =
                        a.leader() == _env.node_id ? _pm.find(t.name, a.partition()) : nullptr;
                    if (p != nullptr) {
                        v.own_hwms[{t.name, a.partition()}] = p->high_watermark().value();
                    }
                }
            }
            v.topics[l.name()] = std::move(topics);
        }
        deliver(std::move(v));
    });
}

std::vector<group_offset_sync::group_outcome> group_offset_sync::write_groups(
    std::vector<group_plan> plans, std::string link, std::map<std::string, std::string> uuids) {
    using outcomes = std::vector<group_outcome>;
    auto shared_plans = std::make_shared<std::vector<group_plan>>(std::move(plans));
    auto done = on_io<outcomes>([this, shared_plans, link = std::move(link),
                                 uuids = std::move(uuids)](std::function<void(outcomes)> deliver) {
        struct pending {
            outcomes out;
            size_t left = 0;
            std::function<void(outcomes)> deliver;
        };
        auto p = std::make_shared<pending>();
        p->deliver = std::move(deliver);
        p->left = shared_plans->size();
        p->out.resize(shared_plans->size());
        const int64_t now = _env.wall_ms();
        auto finish_one = [p] {
            if (--p->left == 0) {
                p->deliver(std::move(p->out));
            }
        };
        if (shared_plans->empty()) {
            p->deliver({});
            return;
        }
        for (size_t i = 0; i < shared_plans->size(); ++i) {
            const group_plan& plan = (*shared_plans)[i];
            group_outcome& o = p->out[i];
            o.group = plan.group;
            auto writes = changed_writes(plan.writes, [&](const std::string& t, int32_t part) {
                return _coord.fetch_offset(plan.group, t, part);
            });
            std::vector<group_coordinator::commit> commits;
            for (const auto& w : writes) {
                const v1::Topic* t = _md.topic(w.topic);
                const auto want = uuids.find(w.topic);
                if (t == nullptr || want == uuids.end() || t->uuid() != want->second ||
                    !t->has_shadow() || t->shadow().link() != link ||
                    t->shadow().state() != v1::SHADOW_TOPIC_STATE_ACTIVE) {
                    continue;  // deleted, recreated or failed over since the pass began
                }
                group_coordinator::commit c;
                c.topic = w.topic;
                c.partition = w.partition;
                c.value.offset = w.offset;
                c.value.leader_epoch = -1;
                c.value.metadata = w.metadata;
                c.value.commit_timestamp_ms = now;
                c.value.topic_id = to_kafka_uuid(t->uuid());
                commits.push_back(std::move(c));
                o.clamped += w.clamped ? 1 : 0;
            }
            const size_t n = commits.size();
            // A live group is refused even with nothing to write: it is
            // reported as left alone.
            _coord.store_admin_offsets(plan.group, commits, [p, i, n, finish_one](int16_t e) {
                p->out[i].error = e;
                p->out[i].written = e == k::none ? n : 0;
                finish_one();
            });
        }
    });
    if (!done) {
        outcomes out;
        for (const auto& plan : *shared_plans) {
            out.push_back(group_outcome{plan.group, k::request_timed_out, 0, 0});
        }
        return out;
    }
    return std::move(*done);
}

v1::ShadowTaskStatus group_offset_sync::sync_link(const v1::ShadowLink& l, link_run& run,
                                                  const view& v) {
    const auto fail = [&](const error_info& e) {
        run.source.reset();  // reconnect next time
        log(log_level::warn, component, "link {}: consumer group shadowing: {}", l.name(),
            e.detail);
        return task_status(l.name(), _env.node_id, state_for(e), e.detail);
    };
    if (v.offsets.led_here.empty()) {
        return task_status(l.name(), _env.node_id, task_state::active,
                           "no partition of __consumer_offsets is led by this broker");
    }
    if (!run.source) {
        auto opened = _env.connect(l);
        if (!opened) {
            return fail(opened.error());
        }
        run.source = std::move(*opened);
    }
    std::vector<std::string> unanswered;
    auto listed = run.source->list_groups(unanswered);
    if (!listed) {
        return fail(listed.error());
    }
    const auto groups = groups_to_sync(l, *listed, v.offsets);
    std::vector<std::string> notes;
    if (!unanswered.empty()) {
        notes.push_back("source brokers that did not list their groups: " + name_some(unanswered));
    }
    if (groups.empty()) {
        std::string reason = "no source group to sync on this broker";
        for (const auto& n : notes) {
            reason += "; " + n;
        }
        return task_status(l.name(), _env.node_id, task_state::active, std::move(reason));
    }
    // The high watermarks: the controller's (reported by each partition's
    // leader), this broker's own where it leads.
    hwm_map hwms;
    if (_env.link_status) {
        if (auto status = link_status(l.name())) {
            hwms = hwms_from_status(*status);
        } else {
            notes.push_back("only partitions led here are synced: " + status.error().detail);
        }
    }
    for (const auto& [tp, h] : v.own_hwms) {
        hwms[tp] = h;
    }
    const auto topics_it = v.topics.find(l.name());
    static const std::map<std::string, synced_topic> none;
    const auto& topics = topics_it == v.topics.end() ? none : topics_it->second;

    std::vector<group_plan> plans;
    std::vector<std::string> unread;
    size_t unknown_hwm = 0;
    for (const auto& g : groups) {
        auto offsets = run.source->fetch_offsets(g);
        if (!offsets) {
            // This group's answer (its coordinator loading or moving, no
            // right to read it): the others go on. Anything else is the
            // connection's.
            const auto& e = offsets.error();
            if (e.code != std::errc::resource_unavailable_try_again &&
                e.code != std::errc::permission_denied) {
                return fail(e);
            }
            unread.push_back(fmt::format("{} ({})", g, e.detail));
            if (unread.size() == groups.size()) {
                return task_status(l.name(), _env.node_id, state_for(e),
                                   "no group could be read on the source: " + name_some(unread));
            }
            continue;
        }
        auto plan = plan_group(g, *offsets, topics, hwms);
        unknown_hwm += plan.unknown_hwm;
        plans.push_back(std::move(plan));
    }
    size_t written = 0;
    size_t clamped = 0;
    size_t groups_written = 0;
    std::vector<std::string> live;
    std::vector<std::string> refused;
    std::map<std::string, std::string> uuids;
    for (const auto& [source_name, st] : topics) {
        uuids[st.name] = st.uuid;
    }
    for (const auto& o : write_groups(std::move(plans), l.name(), std::move(uuids))) {
        if (o.error == k::non_empty_group) {
            live.push_back(o.group);
        } else if (o.error != k::none) {
            refused.push_back(fmt::format("{} (error {})", o.group, o.error));
        } else if (o.written > 0) {
            written += o.written;
            clamped += o.clamped;
            ++groups_written;
        }
    }
    std::string reason = fmt::format("{} groups: {} offsets written in {} groups", groups.size(),
                                     written, groups_written);
    if (clamped > 0) {
        reason += fmt::format(" ({} clamped to the shadow high watermark)", clamped);
    }
    if (!live.empty()) {
        notes.push_back("left alone, members on this cluster: " + name_some(live));
    }
    if (unknown_hwm > 0) {
        notes.push_back(
            fmt::format("{} partitions skipped, their high watermark not known yet", unknown_hwm));
    }
    if (!unread.empty()) {
        notes.push_back("not read on the source: " + name_some(unread));
    }
    if (!refused.empty()) {
        notes.push_back("not written here: " + name_some(refused));
    }
    for (const auto& n : notes) {
        reason += "; " + n;
    }
    if (written > 0 || !refused.empty()) {
        log(refused.empty() ? log_level::info : log_level::warn, component,
            "link {}: consumer group shadowing: {}", l.name(), reason);
    }
    return task_status(l.name(), _env.node_id, task_state::active, std::move(reason));
}

void group_offset_sync::run_once(int64_t now_ms) {
    auto v = read_view();
    if (!v) {
        return;  // stopping, or the io thread is busy: next pass
    }
    std::map<std::string, link_run> runs;
    std::vector<v1::ShadowTaskStatus> statuses;
    for (const auto& l : v->links) {
        link_run run;
        if (auto it = _runs.find(l.name()); it != _runs.end()) {
            run = std::move(it->second);
        }
        const std::string key = l.uuid() + "\n" + l.config().client_options().SerializeAsString();
        if (key != run.config_key) {
            run.config_key = key;
            run.source.reset();
            run.next_ms = 0;  // a new or changed link syncs at once
        }
        if (auto why = paused_reason(l)) {
            run.source.reset();
            run.next_ms = 0;  // resumes at once
            run.status = task_status(l.name(), _env.node_id, task_state::paused, *why);
        } else if (now_ms >= run.next_ms) {
            run.status = sync_link(l, run, *v);
            run.next_ms = now_ms + cluster::shadow::effective_interval_ms(
                                       l.config().consumer_offset_sync_options().interval_ms());
        }
        statuses.push_back(run.status);
        runs[l.name()] = std::move(run);
    }
    _runs = std::move(runs);  // links gone are forgotten (their connections closed)
    if (_env.publish) {
        _env.publish(std::move(statuses));
    }
}

}  // namespace fjord::broker::shadow
