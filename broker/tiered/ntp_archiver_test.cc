// File: broker/tiered/ntp_archiver_test.cc
//
// The archiver of one partition, run step by step (next(), the job on the
// test's thread, the completion) against a local-directory bucket behind
// fault stores: uploads and the manifest written after each object; a
// manifest that never names a missing object, checked after every step of
// runs that crash at every mutating store operation (the operation failing,
// or done with its reply lost), then resume in a new archiver; nothing
// removed locally before it is uploaded; a store that is down (backoff);
// remote retention (time, size, DeleteRecords: the manifest first, then the
// objects); the final marker of an unmount and its removal after a cancel;
// a mount in progress (nothing written) and a mounted partition continuing
// above the unmounted data; the upload interval roll; a damaged segment.

#include "broker/tiered/ntp_archiver.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "broker/storage/log_test_util.h"
#include "broker/tiered/segment_object.h"
#include "common/crc32c.h"
#include "common/log.h"
#include "common/objstore/errc.h"
#include "common/objstore/local_store.h"
#include "common/objstore/testing.h"
#include "common/tiered/layout.h"

namespace fjord::broker::archival {
namespace {

using storage::testing::make_batch;
using storage::testing::split_batches;

[[maybe_unused]] const bool quiet_logs = [] {
    if (std::getenv("FJORD_LOG") == nullptr) {
        set_log_level(log_level::off);
    }
    return true;
}();

const std::string location =
    "orders/11111111-1111-4111-8111-111111111111/22222222-2222-4222-8222-222222222222";

/// A store that "crashes" at its n-th mutating operation (put or del): that
/// operation fails (or, with lose_reply, is done and then reported failed),
/// and so does everything after it, as if the process died there.
class crash_store final : public objstore::object_store {
  public:
    crash_store(std::shared_ptr<objstore::object_store> inner, uint64_t crash_at, bool lose_reply)
        : _inner(std::move(inner)), _crash_at(crash_at), _lose_reply(lose_reply) {}
    bool crashed() const { return _crashed; }
    /// The mutating operations in order ("put <key>", "del <key>").
    const std::vector<std::string>& journal() const { return _journal; }

    result<void> put(const std::string& key, std::string_view bytes) override {
        return mutate("put", key, [&] { return _inner->put(key, bytes); });
    }
    result<std::string> get(const std::string& key,
                            std::optional<objstore::byte_range> range) override {
        if (_crashed) {
            return error_info(objstore::errc::transient, "crashed");
        }
        return _inner->get(key, range);
    }
    result<objstore::object_info> head(const std::string& key) override {
        if (_crashed) {
            return error_info(objstore::errc::transient, "crashed");
        }
        return _inner->head(key);
    }
    result<std::vector<objstore::object_info>> list(const std::string& prefix) override {
        if (_crashed) {
            return error_info(objstore::errc::transient, "crashed");
        }
        return _inner->list(prefix);
    }
    result<void> del(const std::string& key) override {
        return mutate("del", key, [&] { return _inner->del(key); });
    }
    std::string describe() const override { return "crash"; }
    objstore::store_stats stats() const override { return _inner->stats(); }

  private:
    template <typename F>
    result<void> mutate(const char* op, const std::string& key, F&& f) {
        if (_crashed) {
            return error_info(objstore::errc::transient, "crashed");
        }
        if (_ops++ == _crash_at) {
            _crashed = true;
            if (_lose_reply) {
                (void)f();
                _journal.push_back(std::string(op) + " " + key);
            }
            return error_info(objstore::errc::transient, "crashed here");
        }
        auto r = f();
        if (r) {
            _journal.push_back(std::string(op) + " " + key);
        }
        return r;
    }

    std::shared_ptr<objstore::object_store> _inner;
    uint64_t _ops = 0;
    uint64_t _crash_at;
    bool _lose_reply;
    bool _crashed = false;
    std::vector<std::string> _journal;
};

struct harness {
    storage::testing::temp_dir dir;
    std::shared_ptr<objstore::object_store> bucket;
    archiver_stats stats;
    archiver_context ctx;
    std::unique_ptr<storage::partition_log> log;
    std::unique_ptr<ntp_archiver> arch;
    /// Every batch appended, as stored, by base offset.
    std::map<int64_t, std::string> appended;

    explicit harness(storage::log_config c = storage::testing::small_config(1 << 20),
                     int64_t first_offset = 0) {
        auto b = objstore::make_local_store(dir.path() + "/bucket");
        EXPECT_TRUE(b) << b.error().message();
        bucket = std::move(*b);
        ctx.settings.tiered = true;
        ctx.settings.location = location;
        ctx.settings.retention_ms = -1;
        ctx.settings.retention_bytes = -1;
        ctx.settings.upload_interval_ms = int64_t{1} << 40;
        ctx.leader_epoch = 3;
        auto l = storage::partition_log::open(dir.log(), c, 0, nullptr, kafka_offset{first_offset});
        EXPECT_TRUE(l) << l.error().message();
        log = std::move(*l);
        restart();
    }

    /// A new archiver, as after a broker restart (the log stays).
    void restart(archiver_options o = {0, 0}) {
        arch = std::make_unique<ntp_archiver>("orders-0", location, 0, stats, o);
    }

    /// `n` one-record batches (timestamps ts + offset), rolling every
    /// `per_segment`; committed.
    void produce(int n, int per_segment = 4, int64_t ts = 1000) {
        for (int i = 0; i < n; ++i) {
            const int64_t base = log->log_end_offset().value();
            std::string b = make_batch(1, ts + base, 100, static_cast<int>(base));
            auto r = log->append(b, 0);
            ASSERT_TRUE(r) << r.error().message();
            appended[base] = storage::testing::with_base_offset(b, base);
            if ((i + 1) % per_segment == 0) {
                ASSERT_TRUE(log->roll(0));
            }
        }
        ASSERT_TRUE(log->set_high_watermark(log->log_end_offset()));
    }

    /// One step against `store`; false when nothing was due.
    bool step(objstore::object_store& store, int64_t now = 0) {
        auto j = arch->next(*log, ctx, now);
        if (!j) {
            return false;
        }
        auto c = (*j)(store);
        c(*arch, now);
        return true;
    }
    /// Steps until nothing is due (at most `max`); returns how many ran.
    int run(objstore::object_store& store, int64_t now = 0, int max = 1000) {
        int n = 0;
        while (n < max && step(store, now)) {
            ++n;
        }
        return n;
    }
    int run(int64_t now = 0) { return run(*bucket, now); }

    std::optional<tiered::partition_manifest> stored_manifest() {
        const std::string key = tiered::partition_manifest_key(location, 0);
        auto got = bucket->get(key);
        if (!got) {
            EXPECT_EQ(got.error().code, make_error_code(objstore::errc::not_found));
            return std::nullopt;
        }
        auto m = tiered::decode_partition_manifest(*got, key);
        EXPECT_TRUE(m) << m.error().message();
        return m ? std::optional(*m) : std::nullopt;
    }

    /// The invariant: the stored manifest names only objects that exist,
    /// whole (size, CRC-32C), holding exactly the batches appended at those
    /// offsets.
    void expect_bucket_consistent(const std::string& when) {
        auto m = stored_manifest();
        if (!m) {
            return;
        }
        for (const auto& s : m->segments) {
            auto obj = bucket->get(tiered::segment_key(location, 0, s.name));
            ASSERT_TRUE(obj) << when << ": the manifest names missing " << s.name;
            EXPECT_EQ(obj->size(), s.size) << when << " " << s.name;
            EXPECT_EQ(crc32c(*obj), s.crc32c) << when << " " << s.name;
            const auto batches = split_batches(*obj);
            ASSERT_FALSE(batches.empty());
            EXPECT_EQ(storage::testing::base_offset_of(batches.front()), s.base_offset);
            for (const auto& b : batches) {
                const int64_t base = storage::testing::base_offset_of(b);
                ASSERT_TRUE(appended.count(base)) << when << ": offset " << base;
                EXPECT_EQ(b, appended[base]) << when << ": offset " << base;
            }
        }
    }

    /// Every offset the local log no longer holds is in the remote log
    /// (or below its start, for retention).
    void expect_nothing_lost_locally(const std::string& when) {
        const int64_t local_start = log->log_start_offset().value();
        if (local_start == 0 || appended.empty() || appended.begin()->first >= local_start) {
            return;
        }
        auto m = stored_manifest();
        ASSERT_TRUE(m) << when << ": local data removed with no manifest";
        EXPECT_GE(m->next_offset(), local_start)
            << when << ": removed locally below " << local_start << " but uploaded only below "
            << m->next_offset();
    }

    std::set<std::string> object_names() {
        std::set<std::string> out;
        auto listed = bucket->list(tiered::partition_prefix(location, 0));
        EXPECT_TRUE(listed);
        for (const auto& o : *listed) {
            out.insert(o.key.substr(tiered::partition_prefix(location, 0).size()));
        }
        return out;
    }
};

TEST(ntp_archiver, uploads_each_sealed_segment_then_the_manifest_naming_it) {
    harness h;
    h.produce(20);  // [0,4) ... [16,20) sealed, an empty active segment
    EXPECT_GT(h.run(), 0);
    auto m = h.stored_manifest();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->location, location);
    EXPECT_EQ(m->partition, 0);
    EXPECT_EQ(m->start_offset, 0);
    EXPECT_EQ(m->next_offset(), 20);
    ASSERT_EQ(m->segments.size(), 5u);
    for (size_t i = 0; i < 5; ++i) {
        const auto& s = m->segments[i];
        EXPECT_EQ(s.base_offset, static_cast<int64_t>(4 * i));
        EXPECT_EQ(s.last_offset, static_cast<int64_t>(4 * i + 3));
        EXPECT_EQ(s.name, tiered::segment_name(s.base_offset, s.last_offset, 3));
        EXPECT_EQ(s.epoch, 3);  // the batches carry none: the leader epoch
        EXPECT_EQ(s.base_timestamp, 1000 + s.base_offset);
        EXPECT_EQ(s.max_timestamp, 1000 + s.last_offset);
    }
    EXPECT_FALSE(m->final);
    h.expect_bucket_consistent("after the run");
    EXPECT_EQ(h.stats.segments_uploaded.load(), 5u);
    EXPECT_EQ(h.stats.manifest_writes.load(), 6u);  // the first (empty) one, then one per segment
    EXPECT_EQ(h.arch->lag(*h.log).offsets, 0);
    EXPECT_EQ(h.arch->lag(*h.log).bytes, 0u);
    // The active segment is never uploaded, nor what consumers cannot see.
    h.produce(2, 100);
    EXPECT_EQ(h.run(), 0);
    EXPECT_EQ(h.arch->lag(*h.log).offsets, 2);
    EXPECT_GT(h.arch->lag(*h.log).bytes, 0u);
    ASSERT_TRUE(h.log->append(make_batch(1, 5000), 0));
    ASSERT_TRUE(h.log->roll(0));  // sealed, but beyond the high watermark
    EXPECT_EQ(h.run(), 0);
    ASSERT_TRUE(h.log->set_high_watermark(h.log->log_end_offset()));
    EXPECT_EQ(h.run(), 1);
    EXPECT_EQ(h.stored_manifest()->next_offset(), 23);
}

TEST(ntp_archiver, an_empty_partition_gets_a_manifest_starting_at_the_local_log_start) {
    harness h(storage::testing::small_config(1 << 20), 100);
    EXPECT_EQ(h.run(), 2);  // read (missing), write
    auto m = h.stored_manifest();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->start_offset, 100);
    EXPECT_TRUE(m->segments.empty());
    EXPECT_EQ(m->sequence, 1u);
    EXPECT_EQ(h.run(), 0);  // nothing more to do
}

TEST(ntp_archiver, resumes_from_the_stored_manifest_after_a_restart) {
    harness h;
    h.produce(8);
    h.run();
    h.produce(8);
    h.restart();
    auto store = std::make_shared<objstore::testing::fault_store>(h.bucket);
    h.run(*store);
    EXPECT_EQ(store->puts(), 4u);  // two segments, each with its manifest
    EXPECT_EQ(h.stored_manifest()->next_offset(), 16);
    EXPECT_EQ(h.stored_manifest()->segments.size(), 4u);
    h.expect_bucket_consistent("after resuming");
}

TEST(ntp_archiver, nothing_goes_locally_before_it_is_uploaded) {
    storage::log_config c = storage::testing::small_config(1 << 20);
    c.retention_bytes = 0;  // local retention would remove every sealed segment
    harness h(c);
    h.produce(20);
    auto store = std::make_shared<objstore::testing::fault_store>(h.bucket);
    store->set_down(true);
    h.run(*store);
    ASSERT_TRUE(h.log->apply_retention(0));
    EXPECT_EQ(h.log->log_start_offset(), kafka_offset{0});
    store->set_down(false);
    // Three uploads go through, then puts fail.
    for (int i = 0;
         i < 5 && h.stored_manifest().value_or(tiered::partition_manifest{}).segments.size() < 3;
         ++i) {
        h.step(*store);
    }
    store->fail_puts(1000);
    h.run(*store, 0, 50);
    ASSERT_TRUE(h.log->apply_retention(0));
    EXPECT_EQ(h.stored_manifest()->next_offset(), 12);
    EXPECT_EQ(h.log->log_start_offset(), kafka_offset{12});
    h.expect_nothing_lost_locally("puts failing");
    store->fail_puts(0);
    h.run(*store);
    ASSERT_TRUE(h.log->apply_retention(0));
    EXPECT_EQ(h.log->log_start_offset(), kafka_offset{20});
    h.expect_nothing_lost_locally("all uploaded");
    h.expect_bucket_consistent("all uploaded");
}

/// Runs an archiver that crashes at mutating store operation `n` (failing
/// it, or doing it and losing the reply), checking the invariants after
/// every step, then restarts it over a healthy store and runs it to the end.
void crash_and_resume(uint64_t n, bool lose_reply, bool* crashed_out) {
    storage::log_config c = storage::testing::small_config(1 << 20);
    c.retention_bytes = 0;
    harness h(c);
    h.ctx.settings.retention_bytes = 900;  // remote retention: about 8 batches of ~110 bytes
    h.produce(12);
    crash_store store(h.bucket, n, lose_reply);
    const std::string when = fmt::format("crash at op {}{}", n, lose_reply ? " (reply lost)" : "");
    for (int i = 0; i < 100 && h.step(store); ++i) {
        h.expect_bucket_consistent(when);
        ASSERT_TRUE(h.log->apply_retention(0));
        h.expect_nothing_lost_locally(when);
        if (i == 3) {
            h.produce(6, 3);  // more data arrives meanwhile
        }
    }
    *crashed_out = store.crashed();
    // Restart: a new archiver over the healthy bucket.
    h.restart();
    h.run();
    h.expect_bucket_consistent(when + ", resumed");
    ASSERT_TRUE(h.log->apply_retention(0));
    h.expect_nothing_lost_locally(when + ", resumed");
    auto m = h.stored_manifest();
    ASSERT_TRUE(m) << when;
    EXPECT_EQ(m->next_offset(), 18) << when;
    // Retention kept the newest ~900 bytes of the whole log remotely, and
    // every object not in the manifest is gone (the load deletes what a
    // crash left below the start; above it, re-uploads reuse the names).
    EXPECT_GT(m->start_offset, 0) << when;
    std::set<std::string> named{"manifest.json"};
    for (const auto& s : m->segments) {
        named.insert(s.name);
    }
    h.restart();
    h.run();
    EXPECT_EQ(h.object_names(), named) << when;
}

TEST(ntp_archiver, a_manifest_never_names_a_missing_object_crash_at_every_store_operation) {
    for (bool lose_reply : {false, true}) {
        for (uint64_t n = 0;; ++n) {
            bool crashed = false;
            crash_and_resume(n, lose_reply, &crashed);
            if (::testing::Test::HasFatalFailure() || !crashed) {
                break;  // a run that never reached operation n: all covered
            }
            ASSERT_LT(n, 200u);
        }
    }
}

TEST(ntp_archiver, lost_put_replies_repeat_the_same_object) {
    harness h;
    h.produce(12);
    auto store = std::make_shared<objstore::testing::fault_store>(h.bucket);
    for (int i = 0; i < 40; ++i) {
        store->lose_put_replies(1);
        h.step(*store);
        h.expect_bucket_consistent("lost replies");
    }
    store->lose_put_replies(0);
    h.run(*store);
    auto m = h.stored_manifest();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->next_offset(), 12);
    EXPECT_EQ(h.object_names().size(), 4u);  // three segments and the manifest: no duplicates
    h.expect_bucket_consistent("after");
}

TEST(ntp_archiver, a_store_that_is_down_is_retried_with_backoff) {
    harness h;
    h.restart({1000, 4000});
    h.produce(4);
    auto store = std::make_shared<objstore::testing::fault_store>(h.bucket);
    store->set_down(true);
    EXPECT_TRUE(h.step(*store, 0));  // the load fails
    EXPECT_TRUE(h.arch->failing());
    EXPECT_FALSE(h.step(*store, 999));  // backing off
    EXPECT_TRUE(h.step(*store, 1000));  // 1 s later: fails again
    EXPECT_FALSE(h.step(*store, 2999));
    EXPECT_TRUE(h.step(*store, 3000));  // 2 s later
    EXPECT_TRUE(h.step(*store, 7000));  // 4 s (the maximum)
    EXPECT_FALSE(h.step(*store, 10999));
    EXPECT_TRUE(h.step(*store, 11000));
    EXPECT_EQ(h.stats.failures.load(), 5u);
    store->set_down(false);
    EXPECT_FALSE(h.step(*store, 11000));
    EXPECT_EQ(h.run(*store, 15000), 3);  // load, first manifest, the segment
    EXPECT_FALSE(h.arch->failing());
    EXPECT_EQ(h.stored_manifest()->next_offset(), 4);
}

TEST(ntp_archiver, remote_retention_by_time_writes_the_manifest_then_deletes_the_objects) {
    harness h;
    h.produce(16);  // timestamps 1000 + offset
    h.run();
    ASSERT_EQ(h.stored_manifest()->segments.size(), 4u);
    h.ctx.settings.retention_ms = 100;
    crash_store journal(h.bucket, UINT64_MAX, false);
    // At 1108 the segments whose newest record is older than 1008 expire: [0,4) [4,8).
    h.run(journal, 1108);
    auto m = h.stored_manifest();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->start_offset, 8);
    ASSERT_EQ(m->segments.size(), 2u);
    EXPECT_EQ(m->segments.front().base_offset, 8);
    ASSERT_EQ(journal.journal().size(), 3u);
    EXPECT_EQ(journal.journal()[0], "put " + tiered::partition_manifest_key(location, 0));
    EXPECT_EQ(journal.journal()[1],
              "del " + tiered::segment_key(location, 0, tiered::segment_name(0, 3, 3)));
    EXPECT_EQ(journal.journal()[2],
              "del " + tiered::segment_key(location, 0, tiered::segment_name(4, 7, 3)));
    EXPECT_EQ(h.object_names().size(), 3u);
    EXPECT_EQ(h.stats.objects_deleted.load(), 2u);
    // compact-only topics keep everything.
    h.ctx.settings.cleanup_delete = false;
    EXPECT_EQ(h.run(100000), 0);
}

TEST(ntp_archiver, remote_retention_by_size_counts_the_whole_log) {
    harness h;
    h.produce(16);
    h.run();
    const auto m0 = *h.stored_manifest();
    const uint64_t seg = m0.segments[0].size;
    h.produce(4, 100);  // local only: the active segment
    const uint64_t local_only = h.log->segments().back().size_bytes;
    // Room for the local-only data and two remote segments.
    h.ctx.settings.retention_bytes = static_cast<int64_t>(local_only + 2 * seg);
    h.run();
    auto m = h.stored_manifest();
    EXPECT_EQ(m->segments.size(), 2u);
    EXPECT_EQ(m->start_offset, 8);
}

TEST(ntp_archiver, delete_records_moves_the_remote_start) {
    harness h;
    h.produce(16);
    h.run();
    ASSERT_TRUE(h.log->delete_records_before(kafka_offset{6}));
    h.run();
    auto m = h.stored_manifest();
    EXPECT_EQ(m->start_offset, 6);
    ASSERT_EQ(m->segments.size(), 3u);  // [4,8) holds the start: it stays
    EXPECT_EQ(m->segments.front().base_offset, 4);
    EXPECT_EQ(h.object_names().size(), 4u);
}

TEST(ntp_archiver, an_unmount_rolls_uploads_everything_and_writes_the_final_marker) {
    harness h;
    h.produce(10);  // [0,4) [4,8) sealed, [8,10) active
    h.run();
    EXPECT_EQ(h.stored_manifest()->next_offset(), 8);
    h.ctx.final_migration = 7;
    // The last append is not committed yet: no final marker over it.
    ASSERT_TRUE(h.log->append(make_batch(1, 5000), 0));
    h.run();
    EXPECT_FALSE(h.stored_manifest()->final);
    ASSERT_TRUE(h.log->set_high_watermark(h.log->log_end_offset()));
    h.run();
    auto m = h.stored_manifest();
    ASSERT_TRUE(m);
    ASSERT_TRUE(m->final);
    EXPECT_EQ(m->final->migration_id, 7);
    EXPECT_EQ(m->final->next_offset, 11);
    EXPECT_EQ(m->next_offset(), 11);
    EXPECT_EQ(h.log->log_end_offset(), kafka_offset{11});
    EXPECT_EQ(h.run(), 0);  // done: nothing more while the unmount goes on
    // Cancelled: the next write drops the marker, at once.
    h.ctx.final_migration.reset();
    EXPECT_EQ(h.run(), 1);
    EXPECT_FALSE(h.stored_manifest()->final);
    EXPECT_EQ(h.stored_manifest()->next_offset(), 11);
}

TEST(ntp_archiver, an_empty_partition_gets_a_final_marker_at_its_end) {
    harness h(storage::testing::small_config(1 << 20), 40);
    h.ctx.final_migration = 2;
    h.run();
    auto m = h.stored_manifest();
    ASSERT_TRUE(m && m->final);
    EXPECT_EQ(m->final->next_offset, 40);
    EXPECT_EQ(m->start_offset, 40);
}

TEST(ntp_archiver, a_mount_in_progress_writes_nothing_then_the_mounted_partition_continues) {
    // The bucket holds an unmounted partition: [0,8) with final {5, 8}.
    harness old;
    old.produce(8);
    old.ctx.final_migration = 5;
    old.run();
    ASSERT_TRUE(old.stored_manifest()->final);
    // The mounted partition starts its local log at 8, sharing the bucket.
    harness h(storage::testing::small_config(1 << 20), 8);
    h.bucket = old.bucket;
    h.appended = old.appended;
    h.ctx.may_write = false;
    auto store = std::make_shared<objstore::testing::fault_store>(h.bucket);
    h.run(*store);
    EXPECT_EQ(store->puts(), 0u);
    EXPECT_TRUE(h.arch->loaded());
    EXPECT_EQ(h.log->retention_limit(), kafka_offset{8});
    // Finished: the first write drops the old marker, then uploads go on.
    h.ctx.may_write = true;
    h.produce(4);
    h.run(*store);
    auto m = h.stored_manifest();
    ASSERT_TRUE(m);
    EXPECT_FALSE(m->final);
    ASSERT_EQ(m->segments.size(), 3u);
    EXPECT_EQ(m->segments.back().base_offset, 8);
    EXPECT_EQ(m->next_offset(), 12);
    h.expect_bucket_consistent("mounted");
}

TEST(ntp_archiver, a_remote_log_ahead_of_the_local_one_is_never_overwritten) {
    harness old;
    old.produce(8);
    old.run();
    harness h;  // a local log at 0 over a bucket ending at 8
    h.bucket = old.bucket;
    h.produce(4);
    auto store = std::make_shared<objstore::testing::fault_store>(h.bucket);
    h.run(*store);
    EXPECT_EQ(store->puts(), 0u);
    EXPECT_EQ(h.stored_manifest()->next_offset(), 8);
}

TEST(ntp_archiver, the_upload_interval_rolls_an_idle_active_segment) {
    harness h;
    h.ctx.settings.upload_interval_ms = 1000;
    ASSERT_TRUE(h.log->append(make_batch(1, 1000), 500));  // the active segment's data since 500
    ASSERT_TRUE(h.log->set_high_watermark(h.log->log_end_offset()));
    h.appended[0] = storage::testing::with_base_offset(make_batch(1, 1000), 0);
    h.run(1499);
    EXPECT_EQ(h.stored_manifest()->next_offset(), 0);
    h.run(1500);
    EXPECT_EQ(h.stored_manifest()->next_offset(), 1);
    h.expect_bucket_consistent("interval");
}

TEST(ntp_archiver, a_corrupt_manifest_is_never_overwritten) {
    harness h;
    h.produce(4);
    ASSERT_TRUE(h.bucket->put(tiered::partition_manifest_key(location, 0), "{not json"));
    h.restart({1000, 1000});
    auto store = std::make_shared<objstore::testing::fault_store>(h.bucket);
    h.run(*store);
    EXPECT_TRUE(h.arch->failing());
    EXPECT_EQ(store->puts(), 0u);
    EXPECT_EQ(h.log->retention_limit(), kafka_offset{0});
}

TEST(ntp_archiver, a_damaged_segment_is_not_uploaded) {
    harness h;
    h.produce(4);
    h.produce(4);
    const auto seg = h.log->segments()[0];
    auto f = h.log->segment_file(seg.base);
    ASSERT_TRUE(f->write_at(seg.size_bytes - 5, "XXXX"));  // a flipped tail inside the CRC
    h.restart({1000, 1000});
    h.run();
    EXPECT_TRUE(h.arch->failing());
    EXPECT_EQ(h.stored_manifest()->next_offset(), 0);
    EXPECT_EQ(h.object_names(), (std::set<std::string>{"manifest.json"}));
}

TEST(segment_object, names_parse_back) {
    auto p = parse_segment_name(tiered::segment_name(12, 345, 6));
    ASSERT_TRUE(p);
    EXPECT_EQ(p->base, 12);
    EXPECT_EQ(p->last, 345);
    EXPECT_EQ(p->epoch, 6);
    EXPECT_FALSE(parse_segment_name("manifest.json"));
    EXPECT_FALSE(parse_segment_name("00000000000000000012-0000000000000000034x-6.log"));
}

}  // namespace
}  // namespace fjord::broker::archival
