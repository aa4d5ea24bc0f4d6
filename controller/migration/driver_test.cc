// File: controller/migration/driver_test.cc
//
// The migration driver's steps against a real controller_stm (commands
// built and applied as the frontend and the Raft loop would), the local
// directory store behind objstore::testing::fault_store, and a fake broker
// that does what the archivers of tiered.md do: a partition manifest for
// every partition of a tiered topic, and the final marker once an unmount is
// executing. Every scenario also runs with the driver thrown away after
// every step (a leader crash), and with proposals whose replies are lost.

#include "controller/migration/driver.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "common/cluster/errc.h"
#include "common/cluster/migration.h"
#include "common/log.h"
#include "common/objstore/errc.h"
#include "common/objstore/local_store.h"
#include "common/objstore/testing.h"
#include "common/tiered/layout.h"
#include "common/tiered/manifest.h"
#include "controller/migration/store_cache.h"
#include "controller/stm/commands.h"

namespace fjord::migration {
namespace {

using objstore::testing::fault_store;
constexpr const char* cluster_uuid = "11111111-1111-4111-8111-111111111111";

class test_host final : public driver_host {
  public:
    explicit test_host(std::shared_ptr<objstore::object_store> store) : _store(std::move(store)) {}

    stm::controller_stm stm;
    bool leader = true;
    bool store_configured = true;
    /// The next n proposals: applied, but their outcome is lost.
    int lose_replies = 0;
    /// The next n proposals: dropped before they reach the log.
    int drop = 0;
    int proposals = 0;

    /// Runs at every pass's read barrier, under the host's lock (the thread
    /// test's broker).
    std::function<void()> before_pass;

    void read(const std::function<void(const stm::controller_stm&)>& fn) override {
        std::lock_guard g(_mu);
        fn(stm);
    }
    result<void> propose(const v1::ControllerCommand& cmd) override {
        std::lock_guard g(_mu);
        ++proposals;
        if (drop > 0) {
            --drop;
            return error_info(cluster::errc::not_leader, "dropped");
        }
        auto r = apply(cmd);
        if (lose_replies > 0) {
            --lose_replies;
            return error_info(cluster::errc::outcome_unknown, "reply lost");
        }
        return r;
    }
    bool is_leader() override { return leader; }
    result<void> linearize() override {
        if (!leader) {
            return error_info(cluster::errc::not_leader, "not the leader");
        }
        std::lock_guard g(_mu);
        if (before_pass) {
            before_pass();
        }
        return ok();
    }
    result<std::shared_ptr<objstore::object_store>> store() override {
        if (!store_configured) {
            return error_info(objstore::errc::config,
                              "cloud_storage_local_directory: required when cloud_storage_backend "
                              "is local");
        }
        return _store;
    }
    int64_t now_ms() override { return _clock += 1000; }
    std::string new_uuid() override {
        return fmt::format("22222222-2222-4222-8222-{:012d}", ++_uuids);
    }

    result<void> apply(const v1::ControllerCommand& cmd) {
        return stm.apply_command(stm.applied() + 1, cmd.SerializeAsString());
    }
    template <typename R>
    void must(R r) {
        ASSERT_TRUE(r) << r.error().message();
        if constexpr (std::is_same_v<R, result<std::optional<v1::ControllerCommand>>>) {
            ASSERT_TRUE(r->has_value());
            ASSERT_TRUE(apply(**r)) << (**r).ShortDebugString();
        } else {
            auto a = apply(*r);
            ASSERT_TRUE(a) << a.error().message();
        }
    }
    stm::command_meta meta() { return {"test", now_ms()}; }

    const v1::Migration& migration(int64_t id) const { return *stm.migrations().find(id); }

  private:
    std::mutex _mu;
    std::shared_ptr<objstore::object_store> _store;
    int64_t _clock = 0;
    int _uuids = 0;
};

/// What the brokers' archivers do (tiered.md): every partition of a tiered
/// topic has a manifest (an empty partition too) once the broker "uploaded",
/// and an unmount that is executing gets each partition sealed with a final
/// marker at its log end. Partition p of a topic holds 100 * (p + 1)
/// records, from its start offset.
class fake_broker {
  public:
    fake_broker(objstore::object_store& store, const stm::controller_stm& stm)
        : _store(store), _stm(stm) {}

    bool uploading = true;
    bool sealing = true;

    void tick() {
        for (const auto& [name, t] : _stm.topics().all()) {
            const auto it = t.configs().find("redpanda.remote.write");
            if (it == t.configs().end() || it->second != "true") {
                continue;
            }
            const std::string location = t.remote_location();
            const bool seal = sealing && t.migration().type() == v1::MIGRATION_TYPE_UNMOUNT &&
                              (t.migration().state() == v1::MIGRATION_STATE_EXECUTING ||
                               t.migration().state() == v1::MIGRATION_STATE_EXECUTED);
            const bool mounted_in_flight = t.migration().type() == v1::MIGRATION_TYPE_MOUNT;
            if (!uploading || mounted_in_flight) {
                continue;
            }
            for (const v1::PartitionAssignment& p : t.partitions()) {
                const std::string key = tiered::partition_manifest_key(location, p.partition());
                tiered::partition_manifest m;
                if (auto bytes = _store.get(key)) {
                    m = *tiered::decode_partition_manifest(*bytes, key);
                } else {
                    m.location = location;
                    m.partition = p.partition();
                    m.start_offset = p.start_offset();
                }
                // The log ends 100 * (p + 1) records after the partition's
                // start (a mounted partition starts where it was unmounted).
                const int64_t end = p.start_offset() + 100 * (p.partition() + 1);
                if (m.next_offset() < end) {
                    if (!seal) {
                        m.final.reset();  // a mounted topic's first write clears it
                    }
                    m.segments.push_back({tiered::segment_name(m.next_offset(), end - 1, 1),
                                          m.next_offset(), end - 1, 1, 2, 1, 4096, 7});
                }
                // As the real archiver: a marker is ours only if this
                // cluster wrote it (migration ids are per cluster).
                const bool ours = m.final && m.final->migration_id == t.migration().id() &&
                                  m.owner_cluster == _stm.cluster_uuid();
                if (seal && !ours) {
                    m.final = tiered::final_marker{t.migration().id(), m.next_offset()};
                }
                m.owner_cluster = _stm.cluster_uuid();
                ++m.sequence;
                ASSERT_TRUE(_store.put(key, tiered::encode(m)));
            }
        }
    }

  private:
    objstore::object_store& _store;
    const stm::controller_stm& _stm;
};

class driver_test : public ::testing::Test {
  protected:
    void SetUp() override {
        _saved = current_log_level();
        set_log_level(log_level::error);
        _dir = std::filesystem::temp_directory_path() /
               fmt::format("fjord-migration-{}-{}", ::getpid(), ++counter());
        std::filesystem::remove_all(_dir);
        auto local = objstore::make_local_store(_dir.string());
        ASSERT_TRUE(local);
        bucket = std::shared_ptr<objstore::object_store>(std::move(*local));
        faults = std::make_shared<fault_store>(bucket);
        host = std::make_unique<test_host>(faults);
        // The broker talks to the bucket itself: the faults are the driver's.
        broker = std::make_unique<fake_broker>(*bucket, host->stm);
        for (int32_t id = 1; id <= 3; ++id) {
            v1::Broker b;
            b.set_id(id);
            b.set_incarnation(fmt::format("inc-{}", id));
            auto* e = b.add_endpoints();
            e->set_name("kafka");
            e->set_host("h");
            e->set_port(9092);
            host->must(stm::make_register_broker(host->stm, b, false, host->meta()));
        }
        host->must(stm::make_init_cluster(host->stm, cluster_uuid, host->meta()));
        v1::SetClusterConfigRequest cfg;
        (*cfg.mutable_upsert())["cloud_storage_enabled"] = "true";
        host->must(stm::make_set_cluster_config(host->stm, cfg, host->meta()));
        create_topic("orders", 2, {{"redpanda.remote.write", "true"}, {"retention.ms", "100000"}});
    }
    void TearDown() override {
        std::filesystem::remove_all(_dir);
        set_log_level(_saved);
    }

    static int& counter() {
        static int n = 0;
        return n;
    }

    void create_topic(const std::string& name, int32_t partitions,
                      std::map<std::string, std::string> configs) {
        v1::CreateTopicsRequest::Item item;
        item.set_name(name);
        item.set_partitions(partitions);
        item.set_replication_factor(1);
        for (auto& [k, v] : configs) {
            (*item.mutable_configs())[k] = v;
        }
        host->must(stm::make_create_topic(host->stm, item, host->new_uuid(), host->meta()));
    }

    int64_t unmount(const std::string& topic) {
        const int64_t id = host->stm.migrations().next_id();
        host->must(stm::make_unmount(host->stm, {topic}, host->meta()));
        return id;
    }

    int64_t mount(const std::string& topic, const std::string& location,
                  const std::string& alias = {}) {
        const int64_t id = host->stm.migrations().next_id();
        v1::MigrationTopic t;
        t.set_topic(topic);
        t.set_location(location);
        t.set_alias(alias);
        host->must(stm::make_mount(host->stm, {t}, host->meta()));
        return id;
    }

    /// Broker and driver turns until migration `id` ends (or `turns` pass).
    /// With `crash`, a new driver for every step (nothing carried over).
    v1::MigrationState run(int64_t id, int turns = 100, bool crash = false) {
        auto d = std::make_unique<driver>(*host);
        for (int i = 0; i < turns; ++i) {
            broker->tick();
            if (crash) {
                d = std::make_unique<driver>(*host);
                d->step(id);
            } else {
                d->run_once();
                // Retries are due after a backoff; a test does not wait.
                d = std::make_unique<driver>(*host);
            }
            if (cluster::is_terminal(host->migration(id).state())) {
                break;
            }
        }
        return host->migration(id).state();
    }

    std::optional<tiered::topic_mount_manifest> mount_manifest(const std::string& location) {
        const std::string key = tiered::mount_manifest_key(location);
        auto bytes = faults->get(key, std::nullopt);
        if (!bytes) {
            return std::nullopt;
        }
        auto m = tiered::decode_topic_mount_manifest(*bytes, key);
        EXPECT_TRUE(m) << m.error().message();
        return m ? std::optional(*m) : std::nullopt;
    }

    std::string location_of(const std::string& topic) {
        return host->stm.topics().find(topic)->remote_location();
    }

    std::filesystem::path _dir;
    log_level _saved = log_level::info;
    std::shared_ptr<objstore::object_store> bucket;
    std::shared_ptr<fault_store> faults;
    std::unique_ptr<test_host> host;
    std::unique_ptr<fake_broker> broker;
};

TEST_F(driver_test, unmount_waits_for_every_step_then_leaves_a_mount_manifest) {
    const std::string location = location_of("orders");
    EXPECT_EQ(location,
              fmt::format("orders/{}/22222222-2222-4222-8222-000000000001", cluster_uuid));
    const int64_t id = unmount("orders");
    driver d(*host);
    broker->uploading = false;

    EXPECT_EQ(d.step(id).result, step_result::advanced);  // planned -> preparing
    EXPECT_EQ(host->migration(id).state(), v1::MIGRATION_STATE_PREPARING);
    step_outcome w = d.step(id);
    EXPECT_EQ(w.result, step_result::waiting);
    EXPECT_EQ(w.status, fmt::format("partition 0 of topic \"orders\" has not uploaded its manifest "
                                    "yet (topics/{}/0/manifest.json)",
                                    location));
    EXPECT_EQ(host->migration(id).status(), w.status);  // recorded where status-mount reads it

    broker->uploading = true;
    broker->sealing = false;
    broker->tick();
    EXPECT_EQ(d.step(id).result, step_result::advanced);  // -> prepared, status cleared
    EXPECT_EQ(host->migration(id).state(), v1::MIGRATION_STATE_PREPARED);
    EXPECT_EQ(host->migration(id).status(), "");
    EXPECT_EQ(d.step(id).result, step_result::advanced);  // -> executing
    EXPECT_EQ(host->stm.topics().find("orders")->migration().state(),
              v1::MIGRATION_STATE_EXECUTING);
    w = d.step(id);
    EXPECT_EQ(w.result, step_result::waiting);
    EXPECT_EQ(w.status, "partition 0 of topic \"orders\" has not sealed its final upload yet");

    broker->sealing = true;
    broker->tick();
    EXPECT_EQ(d.step(id).result, step_result::advanced);  // -> executed
    EXPECT_FALSE(mount_manifest(location));
    EXPECT_EQ(d.step(id).result, step_result::advanced);  // -> cut_over with the manifest
    EXPECT_EQ(host->migration(id).state(), v1::MIGRATION_STATE_CUT_OVER);
    EXPECT_EQ(host->stm.topics().find("orders"), nullptr);  // left the cluster
    // Not written before cut_over, which nothing cancels: a cancelled
    // unmount never leaves a mountable copy of a topic served again.
    EXPECT_FALSE(mount_manifest(location));
    EXPECT_EQ(d.step(id).result, step_result::advanced);  // manifest written, -> finished
    EXPECT_EQ(host->migration(id).state(), v1::MIGRATION_STATE_FINISHED);
    EXPECT_EQ(d.step(id).result, step_result::idle);

    auto mf = mount_manifest(location);
    ASSERT_TRUE(mf);
    EXPECT_EQ(mf->topic, "orders");
    EXPECT_EQ(mf->location, location);
    EXPECT_EQ(mf->cluster_uuid, cluster_uuid);
    EXPECT_EQ(mf->topic_uuid, "22222222-2222-4222-8222-000000000001");
    EXPECT_EQ(mf->replication_factor, 1);
    EXPECT_EQ(mf->next_offsets, (std::vector<int64_t>{100, 200}));
    EXPECT_EQ(mf->migration_id, id);
    EXPECT_EQ(mf->configs.at("retention.ms"), "100000");
    EXPECT_EQ(mf->configs.at("redpanda.remote.write"), "true");
    // The partitions' data stays: remote delete is not an unmount's.
    EXPECT_TRUE(faults->head(tiered::partition_manifest_key(location, 1)));
}

TEST_F(driver_test, mount_recreates_the_topic_at_its_offsets_and_takes_the_lock) {
    const std::string location = location_of("orders");
    const int64_t out = unmount("orders");
    ASSERT_EQ(run(out), v1::MIGRATION_STATE_FINISHED);
    const int64_t in = mount("orders", location, "restored");
    driver d(*host);
    EXPECT_EQ(d.step(in).result, step_result::advanced);  // -> preparing
    EXPECT_EQ(d.step(in).result, step_result::advanced);  // topics created, -> prepared
    const v1::Topic* t = host->stm.topics().find("restored");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->remote_location(), location);
    EXPECT_EQ(t->partitions_size(), 2);
    EXPECT_EQ(t->partitions(0).start_offset(), 100);
    EXPECT_EQ(t->partitions(1).start_offset(), 200);
    EXPECT_EQ(t->configs().at("retention.ms"), "100000");
    EXPECT_EQ(t->configs().at("redpanda.remote.read"), "true");
    EXPECT_EQ(t->migration().state(), v1::MIGRATION_STATE_PREPARED);
    EXPECT_NE(t->uuid(), "22222222-2222-4222-8222-000000000001");  // a fresh uuid
    EXPECT_EQ(d.step(in).result, step_result::advanced);           // -> executing
    EXPECT_EQ(d.step(in).result, step_result::advanced);  // manifest still there, -> executed
    EXPECT_EQ(d.step(in).result, step_result::advanced);  // -> cut_over
    EXPECT_TRUE(mount_manifest(location));
    EXPECT_EQ(d.step(in).result, step_result::advanced);  // lock taken, -> finished
    EXPECT_EQ(host->migration(in).state(), v1::MIGRATION_STATE_FINISHED);
    EXPECT_FALSE(mount_manifest(location));
    EXPECT_FALSE(host->stm.topics().find("restored")->has_migration());  // served now
}

TEST_F(driver_test, every_step_survives_a_crash_and_lost_replies) {
    // The clean run's end state is the reference; the same scenario with the
    // driver thrown away after every step, store replies lost and proposal
    // replies lost (applied, or dropped) must end the same way.
    const std::string location = location_of("orders");
    auto reference = [&]() {
        const int64_t out = unmount("orders");
        EXPECT_EQ(run(out, 200, true), v1::MIGRATION_STATE_FINISHED);
        const int64_t in = mount("orders", location);
        EXPECT_EQ(run(in, 200, true), v1::MIGRATION_STATE_FINISHED);
        const v1::Topic* t = host->stm.topics().find("orders");
        EXPECT_NE(t, nullptr);
        return t ? std::vector<int64_t>{t->partitions(0).start_offset(),
                                        t->partitions(1).start_offset()}
                 : std::vector<int64_t>{};
    };
    EXPECT_EQ(reference(), (std::vector<int64_t>{100, 200}));
    EXPECT_FALSE(mount_manifest(location));

    // Again, with faults at every turn: the topic was mounted back, so
    // unmount it a second time (its location is unchanged).
    std::mt19937 rng(7);
    const int64_t out = unmount("orders");
    for (int i = 0; i < 400 && !cluster::is_terminal(host->migration(out).state()); ++i) {
        broker->tick();
        switch (rng() % 4) {
            case 0:
                host->lose_replies = 1;
                break;
            case 1:
                host->drop = 1;
                break;
            case 2:
                faults->lose_put_replies(1);
                break;
            default:
                break;
        }
        driver(*host).step(out);
        host->lose_replies = 0;
        host->drop = 0;
    }
    ASSERT_EQ(host->migration(out).state(), v1::MIGRATION_STATE_FINISHED);
    auto mf = mount_manifest(location);
    ASSERT_TRUE(mf);
    // The partitions kept growing from their mounted start: 100 + 100, 200 + 200.
    EXPECT_EQ(mf->next_offsets, (std::vector<int64_t>{200, 400}));
    EXPECT_EQ(mf->migration_id, out);
    const int64_t in = mount("orders", location, "again");
    for (int i = 0; i < 400 && !cluster::is_terminal(host->migration(in).state()); ++i) {
        broker->tick();
        if (rng() % 3 == 0) {
            host->lose_replies = 1;
        }
        driver(*host).step(in);
        host->lose_replies = 0;
    }
    ASSERT_EQ(host->migration(in).state(), v1::MIGRATION_STATE_FINISHED);
    EXPECT_EQ(host->stm.topics().find("again")->partitions(1).start_offset(), 400);
    EXPECT_FALSE(mount_manifest(location));
}

TEST_F(driver_test, a_store_that_is_down_makes_it_wait_saying_why) {
    const int64_t id = unmount("orders");
    driver d(*host);
    faults->set_down(true);
    EXPECT_EQ(d.step(id).result, step_result::advanced);  // planned -> preparing needs no store
    step_outcome w = d.step(id);
    EXPECT_EQ(w.result, step_result::waiting);
    EXPECT_NE(w.status.find("object store unavailable while reading topics/orders/"),
              std::string::npos)
        << w.status;
    EXPECT_NE(w.status.find("store is down"), std::string::npos) << w.status;
    EXPECT_EQ(host->migration(id).status(), w.status);
    // An unusable configuration says which key.
    faults->set_down(false);
    host->store_configured = false;
    w = d.step(id);
    EXPECT_EQ(w.result, step_result::waiting);
    EXPECT_EQ(w.status,
              "object store unavailable: cloud_storage_local_directory: required when "
              "cloud_storage_backend is local");
    host->store_configured = true;
    EXPECT_EQ(run(id), v1::MIGRATION_STATE_FINISHED);
    EXPECT_EQ(host->migration(id).status(), "");
}

TEST_F(driver_test, a_corrupt_partition_manifest_is_named_and_never_acted_on) {
    const std::string location = location_of("orders");
    const int64_t id = unmount("orders");
    broker->tick();
    ASSERT_TRUE(faults->put(tiered::partition_manifest_key(location, 1), "{not json"));
    driver d(*host);
    d.step(id);
    step_outcome w = d.step(id);
    EXPECT_EQ(w.result, step_result::waiting);
    EXPECT_NE(w.status.find(tiered::partition_manifest_key(location, 1)), std::string::npos)
        << w.status;
    EXPECT_EQ(host->migration(id).state(), v1::MIGRATION_STATE_PREPARING);
}

TEST_F(driver_test, cancelling_an_unmount_in_executed_leaves_nothing_mountable) {
    const std::string location = location_of("orders");
    const int64_t id = unmount("orders");
    driver d(*host);
    for (int i = 0; i < 20 && host->migration(id).state() != v1::MIGRATION_STATE_EXECUTED; ++i) {
        broker->tick();
        d.step(id);
    }
    ASSERT_EQ(host->migration(id).state(), v1::MIGRATION_STATE_EXECUTED);
    // The cut_over proposal (carrying the mount manifest) is lost: nothing
    // was written to the store, since only cut_over writes it.
    host->drop = 1;
    d.step(id);
    ASSERT_EQ(host->migration(id).state(), v1::MIGRATION_STATE_EXECUTED);
    EXPECT_FALSE(mount_manifest(location));
    host->must(stm::make_cancel_migration(host->stm, id, host->meta()));
    EXPECT_EQ(d.step(id).result, step_result::advanced);
    EXPECT_EQ(host->migration(id).state(), v1::MIGRATION_STATE_CANCELLED);
    EXPECT_FALSE(mount_manifest(location));  // not mountable elsewhere
    const v1::Topic* t = host->stm.topics().find("orders");
    ASSERT_NE(t, nullptr);
    EXPECT_FALSE(t->has_migration());  // served again, unchanged
    EXPECT_EQ(t->configs().at("retention.ms"), "100000");
}

TEST_F(driver_test, a_mount_manifest_left_by_an_executed_step_is_removed_on_cancel) {
    // A manifest an earlier version wrote in executed (before cut_over):
    // cancelling removes it before the topic is served again.
    const std::string location = location_of("orders");
    const int64_t id = unmount("orders");
    driver d(*host);
    for (int i = 0; i < 20 && host->migration(id).state() != v1::MIGRATION_STATE_EXECUTED; ++i) {
        broker->tick();
        d.step(id);
    }
    ASSERT_EQ(host->migration(id).state(), v1::MIGRATION_STATE_EXECUTED);
    tiered::topic_mount_manifest mf;
    mf.topic = "orders";
    mf.location = location;
    mf.next_offsets = {100, 200};
    mf.migration_id = id;
    ASSERT_TRUE(faults->put(tiered::mount_manifest_key(location), tiered::encode(mf)));
    host->must(stm::make_cancel_migration(host->stm, id, host->meta()));
    EXPECT_EQ(d.step(id).result, step_result::advanced);
    EXPECT_EQ(host->migration(id).state(), v1::MIGRATION_STATE_CANCELLED);
    EXPECT_FALSE(mount_manifest(location));
}

TEST_F(driver_test, a_mount_whose_manifest_is_gone_waits_and_cancels_cleanly) {
    const std::string location = location_of("orders");
    ASSERT_EQ(run(unmount("orders")), v1::MIGRATION_STATE_FINISHED);
    const int64_t in = mount("orders", location);
    driver d(*host);
    d.step(in);
    d.step(in);  // topic created
    ASSERT_EQ(host->migration(in).state(), v1::MIGRATION_STATE_PREPARED);
    d.step(in);  // -> executing
    // Another cluster committed its mount first: the lock is gone.
    ASSERT_TRUE(faults->del(tiered::mount_manifest_key(location)));
    step_outcome w = d.step(in);
    EXPECT_EQ(w.result, step_result::waiting);
    EXPECT_NE(w.status.find("is gone"), std::string::npos) << w.status;
    EXPECT_EQ(host->migration(in).state(), v1::MIGRATION_STATE_EXECUTING);
    host->must(stm::make_cancel_migration(host->stm, in, host->meta()));
    EXPECT_EQ(d.step(in).result, step_result::advanced);
    EXPECT_EQ(host->migration(in).state(), v1::MIGRATION_STATE_CANCELLED);
    EXPECT_EQ(host->stm.topics().find("orders"), nullptr);  // the created topic went
    // The bucket is untouched: the partitions' data is still there.
    EXPECT_TRUE(faults->head(tiered::partition_manifest_key(location, 0)));
}

TEST_F(driver_test, a_mount_that_cannot_be_placed_says_why) {
    const std::string location = location_of("orders");
    ASSERT_EQ(run(unmount("orders")), v1::MIGRATION_STATE_FINISHED);
    // Rewrite the manifest as if the topic came from a cluster with rf 5.
    auto mf = *mount_manifest(location);
    mf.replication_factor = 5;
    ASSERT_TRUE(faults->put(tiered::mount_manifest_key(location), tiered::encode(mf)));
    const int64_t in = mount("orders", location);
    driver d(*host);
    d.step(in);
    step_outcome w = d.step(in);
    EXPECT_EQ(w.result, step_result::waiting);
    EXPECT_EQ(w.status,
              "topics[0].replication_factor: 5 (from the mount manifest) is more than the 3 "
              "active brokers");
    EXPECT_EQ(host->migration(in).status(), w.status);
}

TEST_F(driver_test, only_the_leader_drives) {
    const int64_t id = unmount("orders");
    host->leader = false;
    driver d(*host);
    EXPECT_EQ(d.run_once(), 0u);
    EXPECT_EQ(host->proposals, 0);
    EXPECT_EQ(host->migration(id).state(), v1::MIGRATION_STATE_PLANNED);
    host->leader = true;
    broker->tick();
    EXPECT_GT(d.run_once(), 0u);
}

TEST_F(driver_test, the_thread_drives_until_stopped) {
    const int64_t id = unmount("orders");
    host->before_pass = [&] { broker->tick(); };
    driver_options o;
    o.poll = std::chrono::milliseconds(5);
    o.min_backoff = std::chrono::milliseconds(1);
    driver d(*host, o);
    d.start();
    v1::MigrationState state = v1::MIGRATION_STATE_PLANNED;
    for (int i = 0; i < 5000 && !cluster::is_terminal(state); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        host->read([&](const stm::controller_stm& s) { state = s.migrations().find(id)->state(); });
    }
    d.stop();
    EXPECT_EQ(state, v1::MIGRATION_STATE_FINISHED);
}

TEST(store_cache_test, builds_from_the_config_and_rebuilds_on_change) {
    int built = 0;
    store_cache cache([&](const objstore::store_config& c) {
        ++built;
        return objstore::make_local_store(c.local_directory);
    });
    auto off = cache.get({});
    ASSERT_FALSE(off);
    EXPECT_EQ(off.error().code, cluster::errc::migrations_disabled);
    auto missing = cache.get({{"cloud_storage_enabled", "true"}});
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().field, "cloud_storage_local_directory");
    const std::string dir =
        (std::filesystem::temp_directory_path() / fmt::format("fjord-store-cache-{}", ::getpid()))
            .string();
    std::map<std::string, std::string> keys = {{"cloud_storage_enabled", "true"},
                                               {"cloud_storage_local_directory", dir}};
    auto a = cache.get(keys);
    ASSERT_TRUE(a) << a.error().message();
    auto b = cache.get(keys);
    ASSERT_TRUE(b);
    EXPECT_EQ(a->get(), b->get());
    EXPECT_EQ(built, 1);
    keys["cloud_storage_local_directory"] = dir + "-2";
    auto c = cache.get(keys);
    ASSERT_TRUE(c);
    EXPECT_NE(a->get(), c->get());
    EXPECT_EQ(built, 2);
    std::filesystem::remove_all(dir);
    std::filesystem::remove_all(dir + "-2");
}

}  // namespace
}  // namespace fjord::migration
