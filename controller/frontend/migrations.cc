// File: controller/frontend/migrations.cc
//
// The mountable-topics domain of the frontend (migrations.h).

#include "controller/frontend/migrations.h"

#include <fmt/format.h>

#include "common/cluster/migration.h"
#include "common/cluster/topic_name.h"
#include "common/objstore/errc.h"
#include "common/tiered/layout.h"
#include "common/tiered/manifest.h"

namespace fjord::frontend {
namespace {

using cluster::errc;

bool transient(const error_info& e) {
    return e.code == objstore::errc::transient || e.code == objstore::errc::timeout;
}

/// The object store, or why there is none: cloud storage off
/// (migrations_disabled), a configuration it cannot be built from
/// (invalid_config, naming the key).
result<std::shared_ptr<objstore::object_store>> store_of(core& c) {
    if (!c.opts().object_store) {
        return error_info(errc::internal, "this controller has no object store");
    }
    auto s = c.opts().object_store();
    if (!s && s.error().code.category() != cluster::error_category()) {
        return error_info(errc::invalid_config,
                          fmt::format("the object store cannot be used: {}", s.error().detail));
    }
    return s;
}

/// What the caller is told about a migration write: the outcome, and the
/// migration `id` (or, for a new one, the one the command recorded under
/// `rid`, else the newest that `same` accepts) as the tables hold it.
void answer(core& c, result<void> outcome, int64_t id, const std::string& rid,
            const std::function<bool(const v1::Migration&)>& same,
            const then_fn<result<migration_outcome>>& then) {
    migration_outcome out;
    c.state().read([&](const stm::controller_stm& s) {
        if (outcome && id == 0) {
            if (auto changes = s.changes_of(rid)) {
                for (const v1::Delta& d : *changes) {
                    if (d.has_migration_upserted()) {
                        id = d.migration_upserted().id();
                        break;
                    }
                }
            }
            // Not remembered any more (a retry long after, a restored
            // snapshot): the newest migration of these topics.
            for (auto it = s.migrations().all().rbegin();
                 id == 0 && same && it != s.migrations().all().rend(); ++it) {
                if (same(it->second)) {
                    id = it->first;
                }
            }
        }
        if (const v1::Migration* m = s.migrations().find(id)) {
            out.migration = *m;
        }
        out.revision = s.revision().value();
        return 0;
    });
    out.id = id;
    out.outcome = std::move(outcome);
    then(std::move(out));
}

/// Runs the one command `build` makes, with the request's session, and
/// answers through answer().
void run_one(core& c, const v1::Session& session, const command_meta& meta, int64_t id,
             std::function<result<v1::ControllerCommand>(const stm::controller_stm&)> build,
             std::function<bool(const v1::Migration&)> same,
             then_fn<result<migration_outcome>> then) {
    if (auto r = check_session(session); !r) {
        then(r.error());
        return;
    }
    const std::string rid = request_id(session, 0);
    c.run_batch(
        1, false, session, meta,
        [build = std::move(build), rid](const stm::controller_stm& s, size_t) {
            auto cmd = build(s);
            if (cmd) {
                cmd->set_request_id(rid);
            }
            return cmd;
        },
        [&c, id, rid, same = std::move(same),
         then = std::move(then)](std::vector<result<void>> items) {
            if (items.front() && c.opts().migrations_changed) {
                c.opts().migrations_changed();
            }
            answer(c, std::move(items.front()), id, rid, same, then);
        });
}

/// Whether migration `m` is of `type` and names exactly `names` (in this
/// cluster), in order.
bool names_are(const v1::Migration& m, v1::MigrationType type,
               const std::vector<std::string>& names) {
    if (m.type() != type || static_cast<size_t>(m.topics_size()) != names.size()) {
        return false;
    }
    for (size_t i = 0; i < names.size(); ++i) {
        if (cluster::effective_name(m.topics(static_cast<int>(i))) != names[i]) {
            return false;
        }
    }
    return true;
}

/// The location of the only unmounted copy of `topic` (field `field`), read
/// from the store's listing of mountable/<topic>/.
result<std::string> resolve_location(objstore::object_store& store, const std::string& topic,
                                     const std::string& field) {
    auto keys = store.list(fmt::format("{}{}/", tiered::mountable_prefix, topic));
    if (!keys) {
        return error_info::for_field(
            errc::timeout, field,
            fmt::format("object store {} while looking for unmounted copies of \"{}\": {}; name "
                        "its location (fjord cluster storage list-mountable) to mount it anyway: "
                        "the migration then waits for the store",
                        transient(keys.error()) ? "unavailable" : "error", topic,
                        keys.error().detail));
    }
    std::vector<std::string> found;
    for (const objstore::object_info& k : *keys) {
        if (auto loc = tiered::location_of_mount_manifest(k.key)) {
            if (tiered::parse_location(*loc)->topic == topic) {
                found.push_back(std::move(*loc));
            }
        }
    }
    if (found.empty()) {
        return error_info::for_field(
            errc::unknown_topic, field,
            fmt::format("no unmounted topic \"{}\" in the object store (fjord cluster storage "
                        "list-mountable lists them)",
                        topic));
    }
    if (found.size() > 1) {
        return error_info::for_field(
            errc::invalid_argument, field,
            fmt::format("{} unmounted copies of \"{}\": name one by its location ({})",
                        found.size(), topic, fmt::join(found, ", ")));
    }
    return found.front();
}

}  // namespace

void unmount_topics(core& c, const v1::UnmountTopicsRequest& req, const command_meta& meta,
                    then_fn<result<migration_outcome>> then) {
    std::vector<std::string> topics(req.topics().begin(), req.topics().end());
    run_one(
        c, req.session(), meta, 0,
        [topics, meta](const stm::controller_stm& s) { return stm::make_unmount(s, topics, meta); },
        [topics](const v1::Migration& m) {
            return names_are(m, v1::MIGRATION_TYPE_UNMOUNT, topics);
        },
        std::move(then));
}

void mount_topics(core& c, const v1::MountTopicsRequest& req, const command_meta& meta,
                  then_fn<result<migration_outcome>> then) {
    if (auto r = check_session(req.session()); !r) {
        then(r.error());
        return;
    }
    const auto refuse = [&](error_info e) {
        migration_outcome out;
        out.outcome = std::move(e);
        out.revision = c.revision();
        then(std::move(out));
    };
    if (req.topics().empty()) {
        refuse(error_info::for_field(errc::invalid_argument, "topics",
                                     "at least one topic is required"));
        return;
    }
    {
        // Cloud storage off is the builder's refusal, but the store is not
        // even built then: say it first, as the builder would.
        auto enabled = c.state().read([](const stm::controller_stm& s) {
            return stm::check_migrations_enabled(s, "topics");
        });
        if (!enabled) {
            refuse(enabled.error());
            return;
        }
    }
    auto store = store_of(c);
    if (!store) {
        refuse(store.error());
        return;
    }
    std::vector<v1::MigrationTopic> topics;
    std::vector<std::string> names;
    for (int i = 0; i < req.topics_size(); ++i) {
        const v1::MountTopicsRequest::Item& item = req.topics(i);
        const std::string field = fmt::format("topics[{}]", i);
        v1::MigrationTopic t;
        t.set_topic(item.topic());
        t.set_alias(item.alias());
        if (item.location().empty()) {
            if (auto r = cluster::validate_topic_name(item.topic()); !r) {
                refuse(error_info::for_field(r.error().code, field + ".topic",
                                             std::string(r.error().reason())));
                return;
            }
            auto loc = resolve_location(**store, item.topic(), field + ".topic");
            if (!loc) {
                refuse(loc.error());
                return;
            }
            t.set_location(*loc);
        } else {
            auto parts = tiered::parse_location(item.location());
            if (!parts) {
                refuse(error_info::for_field(errc::invalid_argument, field + ".location",
                                             std::string(parts.error().reason())));
                return;
            }
            if (item.topic().empty()) {
                t.set_topic(parts->topic);
            }
            t.set_location(item.location());
        }
        // The mount manifest must be there and decode; a store that does
        // not answer leaves that to the driver (the migration waits).
        const std::string key = tiered::mount_manifest_key(t.location());
        auto bytes = (*store)->get(key);
        if (!bytes && bytes.error().code == objstore::errc::not_found) {
            refuse(error_info::for_field(
                errc::unknown_topic, field + ".location",
                fmt::format("\"{}\" is not mountable: no topic mount manifest at {}", t.location(),
                            key)));
            return;
        }
        if (bytes) {
            auto mf = tiered::decode_topic_mount_manifest(*bytes, key);
            if (!mf) {
                refuse(error_info::for_field(
                    errc::invalid_argument, field + ".location",
                    fmt::format("\"{}\" is not mountable: {}", t.location(), mf.error().detail)));
                return;
            }
            if (mf->location != t.location()) {
                refuse(error_info::for_field(
                    errc::invalid_argument, field + ".location",
                    fmt::format("\"{}\" is not mountable: its manifest {} names location \"{}\"",
                                t.location(), key, mf->location)));
                return;
            }
        }
        names.push_back(cluster::effective_name(t));
        topics.push_back(std::move(t));
    }
    run_one(
        c, req.session(), meta, 0,
        [topics, meta](const stm::controller_stm& s) { return stm::make_mount(s, topics, meta); },
        [names](const v1::Migration& m) { return names_are(m, v1::MIGRATION_TYPE_MOUNT, names); },
        std::move(then));
}

void cancel_migration(core& c, const v1::CancelMigrationRequest& req, const command_meta& meta,
                      then_fn<result<migration_outcome>> then) {
    const int64_t id = req.id();
    run_one(
        c, req.session(), meta, id,
        [id, meta](const stm::controller_stm& s) {
            return stm::make_cancel_migration(s, id, meta);
        },
        {}, std::move(then));
}

void delete_migration(core& c, const v1::DeleteMigrationRequest& req, const command_meta& meta,
                      then_fn<result<migration_outcome>> then) {
    const int64_t id = req.id();
    run_one(
        c, req.session(), meta, id,
        [id, meta](const stm::controller_stm& s) {
            return stm::make_remove_migration(s, id, meta);
        },
        {}, std::move(then));
}

result<v1::ListMigrationsResponse> list_migrations(core& c, const v1::ListMigrationsRequest& req) {
    if (auto r = c.linearize(req.read()); !r) {
        return r.error();
    }
    v1::ListMigrationsResponse resp;
    c.state().read([&](const stm::controller_stm& s) {
        for (const auto& [id, m] : s.migrations().all()) {
            *resp.add_migrations() = m;
        }
        resp.set_revision(s.revision().value());
        return 0;
    });
    return resp;
}

result<v1::GetMigrationResponse> get_migration(core& c, const v1::GetMigrationRequest& req) {
    if (auto r = c.linearize(req.read()); !r) {
        return r.error();
    }
    v1::GetMigrationResponse resp;
    const bool found = c.state().read([&](const stm::controller_stm& s) {
        resp.set_revision(s.revision().value());
        if (const v1::Migration* m = s.migrations().find(req.id())) {
            *resp.mutable_migration() = *m;
            return true;
        }
        return false;
    });
    if (!found) {
        return error_info::for_field(errc::unknown_migration, "id",
                                     fmt::format("no migration {}", req.id()));
    }
    return resp;
}

result<v1::ListMountableTopicsResponse> list_mountable_topics(
    core& c, const v1::ListMountableTopicsRequest&) {
    auto store = store_of(c);
    if (!store) {
        return store.error();
    }
    auto keys = (*store)->list(std::string(tiered::mountable_prefix));
    if (!keys) {
        return error_info(transient(keys.error()) ? errc::timeout : errc::internal,
                          fmt::format("object store {} while listing {}: {}",
                                      transient(keys.error()) ? "unavailable" : "error",
                                      tiered::mountable_prefix, keys.error().detail));
    }
    v1::ListMountableTopicsResponse resp;
    for (const objstore::object_info& k : *keys) {
        const auto skip = [&](std::string why) {
            auto* s = resp.add_skipped();
            s->set_key(k.key);
            s->set_reason(std::move(why));
        };
        const auto location = tiered::location_of_mount_manifest(k.key);
        if (!location) {
            skip(
                "not a topic mount manifest (mountable/<topic>/<cluster uuid>/<topic "
                "uuid>/topic_manifest.json)");
            continue;
        }
        auto bytes = (*store)->get(k.key);
        if (!bytes) {
            if (bytes.error().code == objstore::errc::not_found) {
                continue;  // mounted meanwhile
            }
            skip(fmt::format("unreadable: {}", bytes.error().detail));
            continue;
        }
        auto mf = tiered::decode_topic_mount_manifest(*bytes, k.key);
        if (!mf) {
            skip(mf.error().detail);
            continue;
        }
        if (mf->location != *location) {
            skip(fmt::format("names location \"{}\"", mf->location));
            continue;
        }
        v1::MountableTopic* t = resp.add_topics();
        t->set_topic(mf->topic);
        t->set_topic_location(*location);
        t->set_ns("kafka");
        t->set_cluster_uuid(mf->cluster_uuid);
        t->set_topic_uuid(mf->topic_uuid);
        t->set_partitions(static_cast<int32_t>(mf->next_offsets.size()));
        t->set_replication_factor(mf->replication_factor);
        t->set_unmounted_ms(mf->unmounted_ms);
    }
    return resp;
}

}  // namespace fjord::frontend
