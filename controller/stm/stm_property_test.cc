// File: controller/stm/stm_property_test.cc
//
// Properties of controller_stm over random command sequences (many seeds):
//
// 1. Snapshot + deltas = state: for a checkpoint (full_state() at revision R)
//    taken at any point, applying changes_after(R) to it (delta.h) yields
//    exactly full_state() at every later point, or changes_after(R) is
//    nullopt, which happens exactly when R < horizon().
// 2. Refusals change nothing: a refused apply leaves the snapshot bytes equal.
// 3. Determinism: a second stm fed the same entries, and a third restored from
//    a snapshot midway then fed the rest, end with identical snapshot bytes.
//
// The sequence mixes the frontend's path (commands.h builders, most of them
// applied at once, some held back and applied later so the state moves
// between validation and apply), raw commands that skip validation, membership
// changes, empty entries and malformed bytes.

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "common/cluster/migration.h"
#include "common/log.h"
#include "common/security/scram.h"
#include "controller/stm/commands.h"
#include "controller/stm/controller_stm.h"
#include "controller/stm/delta.h"
#include "controller/stm/placement.h"

namespace fjord::stm {
namespace {

// One log entry: a command, a membership change, or an empty entry.
struct entry {
    enum class kind { command, conf_change, noop } type = kind::noop;
    std::string data;
    raft::conf_change cc;
};

class sequence {
  public:
    explicit sequence(uint64_t seed) : _rng(seed) {}

    /// The next entry, built against `stm` (the state all replicas share).
    std::optional<entry> next(const controller_stm& stm) {
        // Held-back proposals validated against an older state.
        if (!_held.empty() && pick(3) == 0) {
            entry e = std::move(_held.front());
            _held.pop_front();
            return e;
        }
        const command_meta meta{pick(2) == 0 ? "alice" : "bob", _clock += 10};
        switch (pick(30)) {
            case 0:
            case 1: {
                v1::Broker b;
                b.set_id(static_cast<int32_t>(pick(7)));
                b.set_rack(std::string(1, static_cast<char>('a' + pick(3))));
                b.set_incarnation(fmt::format("inc-{}", pick(3)));
                v1::Endpoint* ep = b.add_endpoints();
                ep->set_name("kafka");
                ep->set_host(fmt::format("h{}", b.id()));
                ep->set_port(9092 + static_cast<int32_t>(pick(2)));
                return maybe(make_register_broker(stm, b, pick(4) == 0, meta));
            }
            case 2: {
                const auto st = static_cast<v1::BrokerState>(1 + pick(pick(8) == 0 ? 3 : 2));
                return maybe(make_set_broker_state(stm, static_cast<int32_t>(pick(7)), st, meta));
            }
            case 3:
            case 4:
            case 5: {
                v1::CreateTopicsRequest::Item item;
                item.set_name(topic_name());
                item.set_partitions(static_cast<int32_t>(pick(5)) - 1);
                const int32_t rfs[] = {-1, 1, 3};
                item.set_replication_factor(rfs[pick(3)]);
                if (pick(2) == 0) {
                    (*item.mutable_configs())["retention.ms"] = std::to_string(pick(100000));
                }
                if (pick(3) == 0) {
                    (*item.mutable_configs())["cleanup.policy"] = "compact,delete";
                } else if (pick(2) == 0) {
                    (*item.mutable_configs())["redpanda.remote.write"] = "true";
                }
                return maybe(make_create_topic(stm, item, uuid(), meta));
            }
            case 6:
                return maybe(make_delete_topic(stm, topic_name(), meta));
            case 7: {
                v1::AlterTopicConfigsRequest::Item item;
                item.set_name(topic_name());
                (*item.mutable_set())["segment.ms"] = std::to_string(1 + pick(1000));
                if (pick(2) == 0) {
                    item.add_remove("retention.ms");
                }
                return maybe(make_alter_topic_configs(stm, item, meta));
            }
            case 8: {
                v1::CreatePartitionsRequest::Item item;
                item.set_name(topic_name());
                const v1::Topic* t = stm.topics().find(item.name());
                item.set_total((t != nullptr ? t->partitions_size() : 0) +
                               static_cast<int32_t>(pick(3)));
                return maybe(make_create_partitions(stm, item, meta));
            }
            case 9: {
                const v1::Topic* t = stm.topics().find(topic_name());
                if (t == nullptr) {
                    return std::nullopt;
                }
                v1::LeaderChange lc;
                lc.set_topic(t->name());
                lc.set_partition(
                    static_cast<int32_t>(pick(static_cast<uint64_t>(t->partitions_size()))));
                const auto& reps = t->partitions(lc.partition()).replicas();
                lc.set_leader(pick(4) == 0 ? -1 : reps[static_cast<int>(pick(reps.size()))]);
                return maybe(make_set_partition_leaders(stm, {lc}, meta));
            }
            case 10: {
                v1::SetClusterConfigRequest req;
                const char* keys[] = {"default_topic_partitions", "superusers", "enable_sasl",
                                      "cloud_storage_enabled"};
                const std::string k = keys[pick(4)];
                if (pick(3) == 0) {
                    req.add_remove(k);
                } else if (k == "superusers") {
                    (*req.mutable_upsert())[k] = pick(2) == 0 ? "alice" : "alice,bob";
                } else if (k == "enable_sasl" || k == "cloud_storage_enabled") {
                    (*req.mutable_upsert())[k] = pick(4) != 0 ? "true" : "false";
                } else {
                    (*req.mutable_upsert())[k] = std::to_string(1 + pick(4));
                }
                return maybe(make_set_cluster_config(stm, req, meta));
            }
            case 11:
                return maybe(make_init_cluster(
                    stm, fmt::format("00000000-0000-4000-8000-00000000000{}", pick(2)), meta));
            case 12: {
                entry e;
                e.type = entry::kind::conf_change;
                const auto t = static_cast<raft::conf_change_type>(pick(3));
                e.cc.type = t;
                e.cc.node = node_id{1 + pick(5)};
                if (t != raft::conf_change_type::remove_node && pick(2) == 0) {
                    v1::MemberContext ctx;
                    ctx.mutable_member()->set_id(e.cc.node.value());
                    ctx.mutable_member()->set_peer_address(fmt::format("p{}", pick(3)));
                    e.cc.context = ctx.SerializeAsString();
                }
                return e;
            }
            case 13:
                return entry{};
            case 14: {
                // Raw: partitions placed by hand on any broker id, skipping
                // validation (apply must still keep the tables sound).
                v1::ControllerCommand cmd;
                cmd.set_principal("raw");
                v1::Topic* t = cmd.mutable_create_topic()->mutable_topic();
                t->set_name(topic_name());
                t->set_uuid(uuid());
                t->set_replication_factor(1);
                v1::PartitionAssignment* p = t->add_partitions();
                p->add_replicas(static_cast<int32_t>(pick(8)));
                p->set_leader(p->replicas(0));
                return command(cmd);
            }
            case 16: {
                v1::User u;
                u.set_name(user_name());
                *u.mutable_credential() = credential(pick(2));
                const uint64_t mode = pick(3);
                return maybe(make_upsert_user(stm, u, mode == 0, mode == 1, meta));
            }
            case 17:
                return pick(2) == 0 ? maybe(make_delete_user(stm, user_name(), meta))
                                    : maybe(make_create_role(stm, role_name(), meta));
            case 18: {
                v1::AclBinding b;
                b.set_resource_type(pick(3) == 0 ? v1::ACL_RESOURCE_GROUP : v1::ACL_RESOURCE_TOPIC);
                b.set_resource_name(pick(4) == 0 ? "*" : topic_name());
                b.set_pattern_type(pick(2) == 0 ? v1::ACL_PATTERN_LITERAL
                                                : v1::ACL_PATTERN_PREFIXED);
                b.set_principal(pick(3) == 0 ? "Role:" + role_name() : "User:" + user_name());
                b.set_host(pick(3) == 0 ? "10.0.0.1" : "*");
                b.set_operation(static_cast<v1::AclOperation>(2 + pick(11)));
                b.set_permission(pick(4) == 0 ? v1::ACL_PERMISSION_DENY : v1::ACL_PERMISSION_ALLOW);
                return maybe(make_create_acl(stm, b, meta));
            }
            case 19: {
                v1::AclFilter f;
                if (pick(2) == 0) {
                    f.set_principal("User:" + user_name());
                }
                if (pick(2) == 0) {
                    f.set_resource_name(topic_name());
                    f.set_pattern_type(static_cast<v1::AclPatternType>(1 + pick(4)));
                }
                if (pick(2) == 0) {
                    f.set_operation(static_cast<v1::AclOperation>(1 + pick(12)));
                }
                return maybe(make_delete_acls(stm, f, meta));
            }
            case 20: {
                if (pick(3) == 0) {
                    return maybe(make_delete_role(stm, role_name(), meta));
                }
                v1::AlterRoleMembersRequest req;
                req.set_role(role_name());
                (pick(2) == 0 ? req.add_add() : req.add_remove())->assign("User:" + user_name());
                return maybe(make_alter_role_members(stm, req, meta));
            }
            case 21:
                // A migration: unmount a topic, or mount one (maybe under
                // another name) from one of a few locations.
                if (pick(2) == 0) {
                    return maybe(make_unmount(stm, {topic_name()}, meta));
                } else {
                    v1::MigrationTopic t;
                    t.set_topic(topic_name());
                    t.set_location(
                        fmt::format("{}/00000000-0000-4000-8000-00000000000{}/"
                                    "00000000-0000-4000-8000-0000000000{:02}",
                                    t.topic(), pick(2), pick(3)));
                    if (pick(2) == 0) {
                        t.set_alias(topic_name());
                    }
                    return maybe(make_mount(stm, {t}, meta));
                }
            case 22:
            case 23:
            case 24:
            case 25:
            case 26: {
                // The driver's next step of some migration, or a cancel,
                // status or removal; sometimes a raw step that skipped
                // validation.
                const auto& all = stm.migrations().all();
                if (all.empty()) {
                    return std::nullopt;
                }
                auto it = all.begin();
                std::advance(it, static_cast<long>(pick(all.size())));
                const v1::Migration& m = it->second;
                const uint64_t what = pick(10);
                if (what == 0) {
                    return maybe(make_cancel_migration(stm, m.id(), meta));
                }
                if (what == 1) {
                    return maybe(make_remove_migration(stm, m.id(), meta));
                }
                if (what == 2) {
                    return maybe(make_set_migration_status(
                        stm, m.id(), m.state(), fmt::format("waiting {}", pick(3)), meta));
                }
                if (what == 3) {
                    v1::ControllerCommand cmd;
                    cmd.set_principal("raw");
                    v1::AdvanceMigration* a = cmd.mutable_advance_migration();
                    a->set_id(m.id());
                    a->set_from(static_cast<v1::MigrationState>(1 + pick(9)));
                    a->set_to(static_cast<v1::MigrationState>(1 + pick(9)));
                    return command(cmd);
                }
                const auto next = cluster::next_state(m.state());
                if (!next) {
                    return std::nullopt;
                }
                if (m.type() == v1::MIGRATION_TYPE_MOUNT &&
                    m.state() == v1::MIGRATION_STATE_PREPARING) {
                    std::vector<tiered::topic_mount_manifest> manifests;
                    std::vector<std::string> uuids;
                    for (const v1::MigrationTopic& t : m.topics()) {
                        tiered::topic_mount_manifest mf;
                        mf.topic = t.topic();
                        mf.location = t.location();
                        mf.replication_factor = pick(3) == 0 ? 3 : 1;
                        for (uint64_t p = 0; p <= pick(3); ++p) {
                            mf.next_offsets.push_back(static_cast<int64_t>(pick(1000)));
                        }
                        manifests.push_back(std::move(mf));
                        uuids.push_back(uuid());
                    }
                    return maybe(make_mount_prepared(stm, m.id(), manifests, uuids, meta));
                }
                return maybe(make_advance_migration(stm, m.id(), m.state(), *next, meta));
            }
            case 27: {
                // A shadow link: created (maybe with a password), updated
                // keeping it, or deleted (maybe with force).
                const std::string name = pick(3) == 0 ? "dr2" : "dr";
                const uint64_t what = pick(4);
                if (what == 0) {
                    return maybe(make_delete_shadow_link(stm, name, pick(2) == 0, meta));
                }
                v1::ShadowLink l;
                l.set_name(name);
                l.mutable_config()->mutable_client_options()->add_bootstrap_servers(
                    fmt::format("src{}:9092", pick(2)));
                auto* scram = l.mutable_config()
                                  ->mutable_client_options()
                                  ->mutable_authentication_configuration()
                                  ->mutable_scram_configuration();
                scram->set_username("u");
                scram->set_scram_mechanism("SCRAM-SHA-256");
                scram->set_password(pick(2) == 0 ? "" : "pw");
                scram->set_password_set(true);
                l.mutable_config()
                    ->mutable_topic_metadata_sync_options()
                    ->add_synced_shadow_topic_properties("segment.ms");
                return what == 1 ? maybe(make_update_shadow_link(stm, l, meta))
                                 : maybe(make_create_shadow_link(stm, l, uuid(), meta));
            }
            case 28: {
                if (stm.shadow_links().all().empty()) {
                    return std::nullopt;
                }
                v1::CreateTopicsRequest::Item item;
                item.set_name(topic_name());
                item.set_partitions(1 + static_cast<int32_t>(pick(2)));
                item.set_replication_factor(1);
                return maybe(make_create_shadow_topic(stm, stm.shadow_links().all().begin()->first,
                                                      item, v1::TopicShadow{}, uuid(), meta));
            }
            case 29: {
                // The driver: a state change, a sync of partitions and synced
                // keys, or the security sync.
                const std::string name = topic_name();
                const v1::Topic* t = stm.topics().find(name);
                const uint64_t what = pick(3);
                if (what == 2 && !stm.shadow_links().all().empty()) {
                    v1::AclBinding b;
                    b.set_principal("User:" + user_name());
                    b.set_resource_type(v1::ACL_RESOURCE_TOPIC);
                    b.set_resource_name(name);
                    b.set_pattern_type(v1::ACL_PATTERN_LITERAL);
                    b.set_host("*");
                    b.set_operation(v1::ACL_OPERATION_READ);
                    b.set_permission(v1::ACL_PERMISSION_ALLOW);
                    std::vector<v1::AclBinding> one{b};
                    const bool add = pick(2) == 0;
                    return maybe(make_sync_shadow_acls(stm, stm.shadow_links().all().begin()->first,
                                                       add ? one : std::vector<v1::AclBinding>{},
                                                       add ? std::vector<v1::AclBinding>{} : one,
                                                       meta));
                }
                if (t == nullptr || !t->has_shadow()) {
                    return std::nullopt;
                }
                if (what == 1) {
                    std::map<std::string, std::string> configs;
                    if (pick(2) == 0) {
                        configs["segment.ms"] = std::to_string(1 + pick(1000));
                    }
                    return maybe(make_sync_shadow_topic(
                        stm, name, t->partitions_size() + static_cast<int32_t>(pick(2)), configs,
                        meta));
                }
                const auto to = static_cast<v1::ShadowTopicState>(1 + pick(7));
                return maybe(
                    make_set_shadow_topic_state(stm, name, t->shadow().state(), to, "", meta));
            }
            default: {
                entry e;
                e.type = entry::kind::command;
                e.data = pick(2) == 0 ? std::string("\xff\xff\xff", 3) : std::string("\x08", 1);
                return e;
            }
        }
    }

    uint64_t pick(uint64_t n) { return n == 0 ? 0 : _rng() % n; }

  private:
    std::string topic_name() {
        const char* names[] = {"orders", "users", "a.b", "a_b", "x-1", "logs", "z"};
        return names[pick(7)];
    }

    std::string user_name() {
        const char* names[] = {"alice", "bob", "carol"};
        return names[pick(3)];
    }

    std::string role_name() {
        const char* names[] = {"ops", "dev"};
        return names[pick(2)];
    }

    /// One of two fixed credentials (PBKDF2 once per process, not per
    /// command): a user re-created with the one it has is a replay.
    static const v1::ScramCredential& credential(uint64_t i) {
        static const std::vector<v1::ScramCredential> creds = [] {
            std::vector<v1::ScramCredential> out;
            for (const char* pw : {"one", "two"}) {
                auto c = security::make_scram_credential(security::scram_mechanism::sha256, pw,
                                                         4096, std::string("salt-") + pw);
                v1::ScramCredential p;
                p.set_mechanism("SCRAM-SHA-256");
                p.set_salt(c->salt);
                p.set_iterations(c->iterations);
                p.set_stored_key(c->stored_key);
                p.set_server_key(c->server_key);
                out.push_back(std::move(p));
            }
            return out;
        }();
        return creds[i];
    }

    std::string uuid() { return fmt::format("00000000-0000-4000-8000-{:012d}", ++_uuids); }

    static entry command(const v1::ControllerCommand& cmd) {
        entry e;
        e.type = entry::kind::command;
        e.data = cmd.SerializeAsString();
        return e;
    }

    // A validated proposal, applied next or (one time in four) held back.
    std::optional<entry> maybe(const result<v1::ControllerCommand>& r) {
        if (!r) {
            return std::nullopt;
        }
        return hold_or_apply(command(*r));
    }
    std::optional<entry> maybe(const result<std::optional<v1::ControllerCommand>>& r) {
        if (!r || !r->has_value()) {
            return std::nullopt;
        }
        return hold_or_apply(command(**r));
    }
    std::optional<entry> hold_or_apply(entry e) {
        if (pick(4) == 0) {
            _held.push_back(std::move(e));
            return std::nullopt;
        }
        return e;
    }

    std::mt19937_64 _rng;
    std::deque<entry> _held;
    int64_t _clock = 0;
    int _uuids = 0;
};

void apply(controller_stm& stm, const entry& e) {
    const log_index index = stm.applied() + 1;
    switch (e.type) {
        case entry::kind::command: {
            const std::string before = stm.snapshot();
            const apply_result r = stm.apply_command(index, e.data);
            if (!r) {
                ASSERT_EQ(stm.snapshot(), before)
                    << "refused at " << index << " but changed " << r.error().message();
            }
            break;
        }
        case entry::kind::conf_change:
            stm.apply_conf_change(index, e.cc);
            break;
        case entry::kind::noop:
            stm.apply_noop(index);
            break;
    }
}

// Deterministic bytes (map entries in key order): equal bytes iff equal
// states, since both sides keep the canonical order of delta.h.
std::string bytes(const v1::ClusterState& s) {
    std::string out;
    {
        google::protobuf::io::StringOutputStream sos(&out);
        google::protobuf::io::CodedOutputStream cos(&sos);
        cos.SetSerializationDeterministic(true);
        s.SerializeToCodedStream(&cos);
    }
    return out;
}

bool equal(const v1::ClusterState& a, const v1::ClusterState& b) {
    return bytes(a) == bytes(b);
}

// What one run exercised, so the test can insist the property was tested on
// something (deltas replayed, changes dropped).
struct run_stats {
    size_t replayed_deltas = 0;
    size_t snapshot_needed = 0;
};

void run_seed(uint64_t seed, run_stats& stats) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    const size_t retained[] = {100000, 3, 25};
    stm_config cfg;
    cfg.max_retained_deltas = retained[seed % 3];
    v1::Member founder;
    founder.set_id(1);
    founder.set_peer_address("founder:33145");
    cfg.initial_members.push_back(founder);

    controller_stm stm(cfg);
    controller_stm replica(cfg);
    std::unique_ptr<controller_stm> restored;
    sequence seq(seed);
    std::deque<v1::ClusterState> checkpoints;
    const int steps = 400;
    const int restore_at = static_cast<int>(seq.pick(steps));
    int applied = 0;

    for (int step = 0; step < steps; ++step) {
        const std::optional<entry> e = seq.next(stm);
        if (!e) {
            continue;
        }
        apply(stm, *e);
        apply(replica, *e);
        if (restored) {
            apply(*restored, *e);
        }
        if (::testing::Test::HasFatalFailure()) {
            return;
        }
        ++applied;
        if (step == restore_at || (step > restore_at && !restored)) {
            restored = std::make_unique<controller_stm>(cfg);
            ASSERT_TRUE(restored->restore(stm.snapshot(), stm.applied()));
            ASSERT_EQ(restored->snapshot(), stm.snapshot());
        }
        if (step % 5 == 0) {
            // Placement reads the table's incremental load: it must equal a
            // count from scratch (ignoring brokers left at zero), also
            // after a restore.
            const auto nonzero = [](std::map<int32_t, broker_load> m) {
                std::erase_if(m, [](const auto& kv) { return kv.second == broker_load{}; });
                return m;
            };
            ASSERT_EQ(nonzero(current_load(stm.topics())), count_load(stm.topics()));
            // snapshot() writes the tables directly; its bytes must be
            // snapshot_image()'s, serialized deterministically.
            {
                std::string expect;
                google::protobuf::io::StringOutputStream sos(&expect);
                google::protobuf::io::CodedOutputStream cos(&sos);
                cos.SetSerializationDeterministic(true);
                stm.snapshot_image().SerializeToCodedStream(&cos);
                cos.Trim();
                ASSERT_EQ(stm.snapshot(), expect);
            }
            if (restored) {
                ASSERT_EQ(nonzero(current_load(restored->topics())), count_load(stm.topics()));
            }
            checkpoints.push_back(stm.full_state());
            if (checkpoints.size() > 12) {
                checkpoints.pop_front();
            }
        }
        if (step % 7 != 0) {
            continue;
        }
        const v1::ClusterState now = stm.full_state();
        for (const v1::ClusterState& cp : checkpoints) {
            const revision_id r{cp.revision()};
            const auto changes = stm.changes_after(r);
            ASSERT_EQ(changes.has_value(), r >= stm.horizon())
                << "checkpoint r" << r << " horizon " << stm.horizon();
            if (!changes) {
                ++stats.snapshot_needed;
                continue;
            }
            stats.replayed_deltas += changes->size();
            v1::ClusterState s = cp;
            for (const v1::Delta& d : *changes) {
                ASSERT_GT(d.revision(), r.value());
                apply_delta(s, d);
            }
            ASSERT_TRUE(equal(s, now))
                << "checkpoint r" << r << " + deltas != state at r" << stm.revision()
                << "\nexpected " << now.DebugString() << "\ngot " << s.DebugString();
        }
    }
    EXPECT_GT(applied, steps / 3);
    EXPECT_EQ(replica.snapshot(), stm.snapshot());
    ASSERT_TRUE(restored);
    EXPECT_EQ(restored->snapshot(), stm.snapshot());
    EXPECT_EQ(restored->applied(), stm.applied());
}

// Malformed entries are logged as warnings by design; keep the output short.
class quiet_log : public ::testing::Test {
  protected:
    void SetUp() override {
        _saved = current_log_level();
        set_log_level(log_level::error);
    }
    void TearDown() override { set_log_level(_saved); }

  private:
    log_level _saved = log_level::info;
};

using stm_property = quiet_log;

TEST_F(stm_property, snapshot_plus_deltas_is_the_state) {
    run_stats stats;
    for (uint64_t seed = 1; seed <= 150; ++seed) {
        run_seed(seed, stats);
        if (HasFatalFailure()) {
            return;
        }
    }
    EXPECT_GT(stats.replayed_deltas, 10000u);
    EXPECT_GT(stats.snapshot_needed, 1000u);
}

// The sequence really exercises what the property is about: refusals,
// topics, brokers, configs, members and dropped deltas all occur.
TEST_F(stm_property, sequences_cover_the_commands) {
    size_t refused = 0;
    size_t topics = 0;
    size_t deltas_dropped = 0;
    size_t migrations_ended = 0;
    size_t mounted_topics = 0;
    size_t links = 0;
    size_t shadow_topics = 0;
    for (uint64_t seed = 1; seed <= 20; ++seed) {
        stm_config cfg;
        cfg.max_retained_deltas = 3;
        controller_stm stm(cfg);
        sequence seq(seed);
        for (int step = 0; step < 400; ++step) {
            const std::optional<entry> e = seq.next(stm);
            if (!e) {
                continue;
            }
            if (e->type == entry::kind::command) {
                refused += stm.apply_command(stm.applied() + 1, e->data) ? 0 : 1;
            } else {
                apply(stm, *e);
            }
        }
        topics += stm.topics().size();
        deltas_dropped += stm.horizon() > revision_id{0} ? 1 : 0;
        for (const auto& [id, m] : stm.migrations().all()) {
            migrations_ended += cluster::is_terminal(m.state()) ? 1 : 0;
        }
        for (const auto& [name, t] : stm.topics().all()) {
            mounted_topics += t.partitions(0).start_offset() > 0 ? 1 : 0;
            shadow_topics += t.has_shadow() ? 1 : 0;
        }
        links += stm.shadow_links().size();
        EXPECT_GT(stm.brokers().size(), 0u);
        EXPECT_GT(stm.members().size(), 0u);
    }
    EXPECT_GT(refused, 100u);
    EXPECT_GT(topics, 20u);
    EXPECT_EQ(deltas_dropped, 20u);
    // Migrations run to their end (finished or cancelled), and mounts
    // create topics.
    EXPECT_GT(migrations_ended, 2u);
    EXPECT_GT(mounted_topics, 0u);
    // Shadow links exist at the end of some sequences, with shadow topics.
    EXPECT_GT(links, 0u);
    EXPECT_GT(shadow_topics, 0u);
}

}  // namespace
}  // namespace fjord::stm
