// File: controller/migration/driver.cc
//
// The migration driver (driver.h): one step per state, each re-derived from
// the replicated state and the object store.

#include "controller/migration/driver.h"

#include <fmt/format.h>

#include "common/cluster/errc.h"
#include "common/cluster/migration.h"
#include "common/log.h"
#include "common/objstore/errc.h"
#include "common/tiered/layout.h"
#include "common/tiered/manifest.h"
#include "controller/stm/commands.h"

namespace fjord::migration {
namespace {

using cluster::errc;
constexpr std::string_view component = "migration";
/// Steps of one migration in one pass at most (each applies a command).
constexpr int max_steps_per_pass = 16;

/// A refusal that means the state moved on since the step read it: the next
/// step reads it again.
bool state_moved(const error_info& e) {
    return e.code == errc::invalid_migration_state || e.code == errc::unknown_migration;
}

step_outcome waiting(std::string why) {
    return {step_result::waiting, std::move(why)};
}

/// What a failed store call means for the wait.
std::string store_trouble(const error_info& e, std::string_view doing) {
    if (e.code == objstore::errc::transient || e.code == objstore::errc::timeout) {
        return fmt::format("object store unavailable while {}: {}; retrying", doing, e.detail);
    }
    return fmt::format("object store error while {}: {}; retrying", doing, e.detail);
}

/// A copy of what the unmount steps read of one topic.
struct topic_view {
    std::string name;
    std::string uuid;
    int32_t partitions = 0;
    int32_t replication_factor = 1;
    std::map<std::string, std::string> configs;
};

}  // namespace

driver::driver(driver_host& host, driver_options o) : _host(host), _o(std::move(o)) {}

driver::~driver() {
    stop();
}

stm::command_meta driver::meta() {
    return stm::command_meta{_o.principal, _host.now_ms()};
}

step_outcome driver::propose(
    const std::function<result<std::optional<v1::ControllerCommand>>(const stm::controller_stm&)>&
        build) {
    result<std::optional<v1::ControllerCommand>> cmd = error_info(errc::internal, "not built");
    _host.read([&](const stm::controller_stm& s) { cmd = build(s); });
    if (!cmd) {
        if (state_moved(cmd.error())) {
            return {step_result::advanced, {}};
        }
        return waiting(cmd.error().detail);
    }
    if (!cmd->has_value()) {
        return {step_result::advanced, {}};  // taken already
    }
    auto r = _host.propose(**cmd);
    if (r || state_moved(r.error())) {
        return {step_result::advanced, {}};
    }
    // Not the leader any more, or the outcome is unknown: the next pass (or
    // the next leader) reads the state again. Not a reason worth a status.
    log(log_level::info, component, "a step was not applied: {}", r.error().message());
    return waiting({});
}

step_outcome driver::advance(const v1::Migration& m, v1::MigrationState to) {
    return propose([&](const stm::controller_stm& s) {
        return stm::make_advance_migration(s, m.id(), m.state(), to, meta());
    });
}

void driver::set_status(const v1::Migration& m, const std::string& status) {
    if (status.empty()) {
        return;
    }
    result<std::optional<v1::ControllerCommand>> cmd = std::optional<v1::ControllerCommand>{};
    _host.read([&](const stm::controller_stm& s) {
        cmd = stm::make_set_migration_status(s, m.id(), m.state(), status, meta());
    });
    if (cmd && cmd->has_value()) {
        if (auto r = _host.propose(**cmd); !r) {
            log(log_level::debug, component, "migration {}: status not recorded: {}", m.id(),
                r.error().message());
        } else {
            log(log_level::info, component, "migration {} ({}) waits: {}", m.id(),
                cluster::to_string(m.state()), status);
        }
    }
}

step_outcome driver::step(int64_t id) {
    std::optional<v1::Migration> m;
    _host.read([&](const stm::controller_stm& s) {
        if (const v1::Migration* p = s.migrations().find(id)) {
            m = *p;
        }
    });
    if (!m || cluster::is_terminal(m->state())) {
        return {step_result::idle, {}};
    }
    step_outcome out = m->type() == v1::MIGRATION_TYPE_UNMOUNT ? step_unmount(*m) : step_mount(*m);
    if (out.result == step_result::waiting) {
        set_status(*m, out.status);
    } else if (out.result == step_result::advanced) {
        log(log_level::debug, component, "migration {} stepped from {}", id,
            cluster::to_string(m->state()));
    }
    return out;
}

step_outcome driver::step_unmount(const v1::Migration& m) {
    switch (m.state()) {
        case v1::MIGRATION_STATE_PLANNED:
            return advance(m, v1::MIGRATION_STATE_PREPARING);
        case v1::MIGRATION_STATE_PREPARED:
            return advance(m, v1::MIGRATION_STATE_EXECUTING);
        case v1::MIGRATION_STATE_PREPARING:
        case v1::MIGRATION_STATE_EXECUTING:
        case v1::MIGRATION_STATE_EXECUTED:
        case v1::MIGRATION_STATE_CUT_OVER:
        case v1::MIGRATION_STATE_CANCELING:
            break;
        default:
            return {step_result::idle, {}};
    }
    auto store = _host.store();
    if (!store) {
        return waiting(fmt::format("object store unavailable: {}", store.error().detail));
    }
    if (m.state() == v1::MIGRATION_STATE_CUT_OVER) {
        // The topic has left the cluster: its mount manifests (decided at
        // executed, kept in the migration) make it mountable. Written only
        // now, once nothing can cancel the unmount.
        for (const v1::MigrationTopic& mt : m.topics()) {
            const std::string key = tiered::mount_manifest_key(mt.location());
            if (auto r = (*store)->put(key, mt.mount_manifest()); !r) {
                return waiting(store_trouble(r.error(), "writing " + key));
            }
        }
        return advance(m, v1::MIGRATION_STATE_FINISHED);
    }
    if (m.state() == v1::MIGRATION_STATE_CANCELING) {
        // Mount manifests are written only in cut_over, which cannot be
        // cancelled; one left by an earlier version's executed step would
        // make the topic mountable elsewhere while it is served here:
        // remove it before the topic is served again.
        for (const v1::MigrationTopic& mt : m.topics()) {
            const std::string key = tiered::mount_manifest_key(mt.location());
            auto bytes = (*store)->get(key);
            if (!bytes) {
                if (bytes.error().code == objstore::errc::not_found) {
                    continue;
                }
                return waiting(store_trouble(bytes.error(), "checking " + key));
            }
            auto mf = tiered::decode_topic_mount_manifest(*bytes, key);
            if (!mf || mf->migration_id != m.id()) {
                continue;  // not this migration's: not ours to remove
            }
            if (auto r = (*store)->del(key); !r) {
                return waiting(store_trouble(r.error(), "deleting " + key));
            }
            log(log_level::info, component, "migration {} cancelled: removed {}", m.id(), key);
        }
        return advance(m, v1::MIGRATION_STATE_CANCELLED);
    }

    std::vector<topic_view> topics;
    std::string cluster_uuid;
    std::string missing;
    _host.read([&](const stm::controller_stm& s) {
        cluster_uuid = s.cluster_uuid();
        for (const v1::MigrationTopic& mt : m.topics()) {
            const v1::Topic* t = s.topics().find(mt.topic());
            if (t == nullptr) {
                missing = mt.topic();
                return;
            }
            topic_view v;
            v.name = t->name();
            v.uuid = t->uuid();
            v.partitions = t->partitions_size();
            v.replication_factor = t->replication_factor();
            v.configs = {t->configs().begin(), t->configs().end()};
            topics.push_back(std::move(v));
        }
    });
    if (!missing.empty()) {
        // Cannot happen while the topic is locked; say so rather than guess.
        return waiting(fmt::format("topic \"{}\" is not in the cluster", missing));
    }
    const bool sealed = m.state() != v1::MIGRATION_STATE_PREPARING;
    std::vector<std::vector<int64_t>> next_offsets(topics.size());
    for (size_t i = 0; i < topics.size(); ++i) {
        const std::string& location = m.topics(static_cast<int>(i)).location();
        for (int32_t p = 0; p < topics[i].partitions; ++p) {
            const std::string key = tiered::partition_manifest_key(location, p);
            auto bytes = (*store)->get(key);
            if (!bytes) {
                if (bytes.error().code == objstore::errc::not_found) {
                    return waiting(fmt::format(
                        "partition {} of topic \"{}\" has not uploaded its manifest yet ({})", p,
                        topics[i].name, key));
                }
                return waiting(store_trouble(bytes.error(), "reading " + key));
            }
            auto pm = tiered::decode_partition_manifest(*bytes, key);
            if (!pm) {
                return waiting(pm.error().detail);
            }
            if (sealed) {
                // The marker must be this cluster's (ids are per cluster: the
                // unmount this topic was mounted from may share the id).
                if (!pm->final || pm->final->migration_id != m.id() ||
                    pm->owner_cluster != cluster_uuid) {
                    return waiting(fmt::format(
                        "partition {} of topic \"{}\" has not sealed its final upload yet", p,
                        topics[i].name));
                }
                next_offsets[i].push_back(pm->final->next_offset);
            }
        }
    }
    if (m.state() == v1::MIGRATION_STATE_PREPARING) {
        return advance(m, v1::MIGRATION_STATE_PREPARED);
    }
    if (m.state() == v1::MIGRATION_STATE_EXECUTING) {
        return advance(m, v1::MIGRATION_STATE_EXECUTED);
    }
    // executed: decide the topic mount manifests and cut over with them;
    // cut_over writes them.
    std::vector<std::string> manifests;
    for (size_t i = 0; i < topics.size(); ++i) {
        const std::string& location = m.topics(static_cast<int>(i)).location();
        tiered::topic_mount_manifest mf;
        mf.topic = topics[i].name;
        mf.location = location;
        mf.cluster_uuid = cluster_uuid;
        mf.topic_uuid = topics[i].uuid;
        mf.replication_factor = topics[i].replication_factor;
        mf.configs = topics[i].configs;
        mf.next_offsets = next_offsets[i];
        mf.migration_id = m.id();
        mf.unmounted_ms = _host.now_ms();
        manifests.push_back(tiered::encode(mf));
    }
    return propose([&](const stm::controller_stm& s) {
        return stm::make_advance_migration(s, m.id(), m.state(), v1::MIGRATION_STATE_CUT_OVER,
                                           meta(), manifests);
    });
}

step_outcome driver::step_mount(const v1::Migration& m) {
    switch (m.state()) {
        case v1::MIGRATION_STATE_PLANNED:
            return advance(m, v1::MIGRATION_STATE_PREPARING);
        case v1::MIGRATION_STATE_PREPARED:
            return advance(m, v1::MIGRATION_STATE_EXECUTING);
        case v1::MIGRATION_STATE_EXECUTED:
            return advance(m, v1::MIGRATION_STATE_CUT_OVER);
        case v1::MIGRATION_STATE_CANCELING:
            return advance(m, v1::MIGRATION_STATE_CANCELLED);
        case v1::MIGRATION_STATE_PREPARING:
        case v1::MIGRATION_STATE_EXECUTING:
        case v1::MIGRATION_STATE_CUT_OVER:
            break;
        default:
            return {step_result::idle, {}};
    }
    auto store = _host.store();
    if (!store) {
        return waiting(fmt::format("object store unavailable: {}", store.error().detail));
    }
    const auto gone = [&](const std::string& key, const v1::MigrationTopic& mt) {
        return waiting(fmt::format(
            "the mount manifest {} is gone: {} is not mountable any more (mounted by another "
            "cluster?); cancel this migration",
            key, mt.location()));
    };
    if (m.state() == v1::MIGRATION_STATE_PREPARING) {
        std::vector<tiered::topic_mount_manifest> manifests;
        std::vector<std::string> uuids;
        for (const v1::MigrationTopic& mt : m.topics()) {
            const std::string key = tiered::mount_manifest_key(mt.location());
            auto bytes = (*store)->get(key);
            if (!bytes) {
                if (bytes.error().code == objstore::errc::not_found) {
                    return gone(key, mt);
                }
                return waiting(store_trouble(bytes.error(), "reading " + key));
            }
            auto mf = tiered::decode_topic_mount_manifest(*bytes, key);
            if (!mf) {
                return waiting(mf.error().detail);
            }
            manifests.push_back(std::move(*mf));
            uuids.push_back(_host.new_uuid());
        }
        return propose([&](const stm::controller_stm& s) {
            return stm::make_mount_prepared(s, m.id(), manifests, uuids, meta());
        });
    }
    for (const v1::MigrationTopic& mt : m.topics()) {
        const std::string key = tiered::mount_manifest_key(mt.location());
        if (m.state() == v1::MIGRATION_STATE_EXECUTING) {
            // Still mountable: no other cluster has committed a mount of it.
            if (auto h = (*store)->head(key); !h) {
                if (h.error().code == objstore::errc::not_found) {
                    return gone(key, mt);
                }
                return waiting(store_trouble(h.error(), "checking " + key));
            }
        } else if (auto r = (*store)->del(key); !r) {
            // cut_over: the lock is taken by deleting it (a missing one is fine).
            return waiting(store_trouble(r.error(), "deleting " + key));
        }
    }
    return advance(m, m.state() == v1::MIGRATION_STATE_EXECUTING ? v1::MIGRATION_STATE_EXECUTED
                                                                 : v1::MIGRATION_STATE_FINISHED);
}

size_t driver::run_once() {
    if (!_host.is_leader()) {
        _retry.clear();  // a new leadership starts afresh
        return 0;
    }
    std::vector<int64_t> ids;
    const auto active = [&] {
        ids.clear();
        _host.read([&](const stm::controller_stm& s) {
            for (const auto& [id, m] : s.migrations().all()) {
                if (!cluster::is_terminal(m.state())) {
                    ids.push_back(id);
                }
            }
        });
    };
    // Idle passes cost a look at the table; with work, the tables must hold
    // every committed change first (a new leader applies its predecessor's
    // last steps before it takes the next).
    active();
    if (ids.empty()) {
        _retry.clear();
        return 0;
    }
    if (auto r = _host.linearize(); !r) {
        return 0;
    }
    active();
    std::erase_if(_retry, [&](const auto& kv) {
        return std::find(ids.begin(), ids.end(), kv.first) == ids.end();
    });
    size_t advanced = 0;
    const auto now = std::chrono::steady_clock::now();
    for (int64_t id : ids) {
        retry& r = _retry[id];
        if (r.due > now) {
            continue;
        }
        step_outcome out;
        for (int i = 0; i < max_steps_per_pass; ++i) {
            out = step(id);
            if (out.result != step_result::advanced) {
                break;
            }
            ++advanced;
        }
        if (out.result == step_result::waiting) {
            r.backoff =
                r.backoff.count() == 0 ? _o.min_backoff : std::min(r.backoff * 2, _o.max_backoff);
            r.due = std::chrono::steady_clock::now() + r.backoff;
        } else {
            r = retry{};
        }
    }
    return advanced;
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
            // A bug; keep driving rather than leave every migration stuck.
            log(log_level::error, component, "pass failed: {}", e.what());
        }
    }
}

}  // namespace fjord::migration
