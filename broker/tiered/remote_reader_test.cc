// File: broker/tiered/remote_reader_test.cc
//
// The remote reader (remote_reader.h) over a local-directory bucket behind
// objstore::testing::fault_store, with the io thread driven by the test:
// pending, then the bytes; the store down (pending, then the error, then
// served once it is back); corrupt and truncated objects never served;
// offsets below the remote start; the manifest refreshed when an offset is
// not covered and when it is old; timestamps picked by the manifest's
// max_timestamp (one segment downloaded); a cached file damaged after its
// download is downloaded again; the cache bound while reading a whole log;
// await().

#include "broker/tiered/remote_reader.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "broker/storage/errc.h"
#include "broker/tiered/test_util.h"
#include "common/objstore/errc.h"
#include "common/objstore/testing.h"

namespace fjord::broker::tiered_read {
namespace {

using testing::manual_io;
using testing::remote_log;
using testing::segment_spec;
namespace stdfs = std::filesystem;
namespace layout = ::fjord::tiered;

remote_reader_options chunked(uint64_t chunk) {
    remote_reader_options o;
    o.chunk_bytes = chunk;
    return o;
}

remote_reader_options cache_of(uint64_t bytes) {
    remote_reader_options o;
    o.cache_bytes = bytes;
    return o;
}

remote_reader_options in_dir(std::string dir) {
    remote_reader_options o;
    o.cache_dir = std::move(dir);
    return o;
}

struct fixture {
    storage::testing::temp_dir tmp;
    std::shared_ptr<objstore::testing::fault_store> store;
    manual_io io;
    int64_t now = 1'000'000;
    std::unique_ptr<remote_reader> reader;
    int progress_calls = 0;
    /// The partition's local log start the reader is told (everything
    /// uploaded is below it unless a test says otherwise).
    kafka_offset local{1'000'000};

    explicit fixture(remote_reader_options o = {}) {
        auto s = objstore::make_local_store(tmp.sub("bucket"));
        EXPECT_TRUE(s);
        store = std::make_shared<objstore::testing::fault_store>(
            std::shared_ptr<objstore::object_store>(std::move(*s)));
        o.cache_dir = tmp.sub("cloud_cache");
        open(o);
    }

    void open(remote_reader_options o) {
        reader.reset();
        auto r = remote_reader::open(
            o, [this](std::function<void()> fn) { io.post(std::move(fn)); },
            [this](std::chrono::milliseconds d, std::function<void()> fn) {
                io.schedule(d, std::move(fn));
            },
            [this] { return now; });
        ASSERT_TRUE(r) << r.error().message();
        reader = std::move(*r);
        reader->set_store(store);
        reader->set_on_progress([this] { ++progress_calls; });
    }

    /// Runs the io thread until the reader has nothing in flight.
    void settle() {
        ASSERT_TRUE(io.run_until([&] { return reader->jobs_in_flight() == 0; }));
    }

    remote_partition rp(const remote_log& l) const { return {l.location, l.partition}; }

    using slice_answer = remote_answer<remote_reader::remote_slice>;

    /// One read, as the Fetch handler asks.
    slice_answer ask(const remote_log& l, int64_t offset, uint64_t max_bytes = 1 << 20,
                     storage::first_batch rule = storage::first_batch::may_exceed_max_bytes) {
        return reader->read(rp(l), kafka_offset{offset}, local, max_bytes, rule);
    }

    /// Reads until the answer is not pending.
    slice_answer read(const remote_log& l, int64_t offset, uint64_t max_bytes = 1 << 20,
                      storage::first_batch rule = storage::first_batch::may_exceed_max_bytes) {
        for (int i = 0; i < 10; ++i) {
            auto a = ask(l, offset, max_bytes, rule);
            if (!a.is_pending()) {
                return a;
            }
            settle();
        }
        ADD_FAILURE() << "still pending";
        return slice_answer::pending();
    }
};

TEST(remote_reader_test, pending_then_whole_batches_from_the_one_holding_the_offset) {
    fixture f;
    remote_log l;
    l.add({});  // offsets 0-19, batches of 5
    l.add({});  // 20-39
    l.upload(*f.store);

    // The manifest first, then the segment: two pendings, then the bytes.
    auto a = f.ask(l, 7);
    EXPECT_TRUE(a.is_pending());
    f.settle();
    EXPECT_GE(f.progress_calls, 1);
    a = f.ask(l, 7);
    EXPECT_TRUE(a.is_pending());
    f.settle();
    a = f.ask(l, 7);
    ASSERT_TRUE(a.is_ready()) << a.error.message();
    // From the batch holding 7 (5-9) to the end of the first segment.
    EXPECT_EQ(a.value.slice.bytes, l.bytes(7, 20));
    EXPECT_EQ(a.value.slice.first_offset.value(), 5);
    EXPECT_EQ(a.value.slice.next_offset.value(), 20);
    EXPECT_EQ(f.reader->stats().cache_misses.load(), 1u);
    EXPECT_EQ(f.reader->stats().cache_hits.load(), 1u);
    EXPECT_EQ(f.reader->stats().downloads.load(), 1u);
    EXPECT_EQ(f.reader->stats().bytes_downloaded.load(), l.objects[0].size());

    // The next segment, then the whole log in order.
    auto b = f.read(l, 20);
    ASSERT_TRUE(b.is_ready());
    EXPECT_EQ(b.value.slice.bytes, l.objects[1]);
    std::string all;
    int64_t at = 0;
    while (at < l.next) {
        auto r = f.read(l, at);
        ASSERT_TRUE(r.is_ready());
        ASSERT_FALSE(r.value.slice.bytes.empty());
        all += r.value.slice.bytes;
        at = r.value.slice.next_offset.value();
    }
    EXPECT_EQ(all, l.objects[0] + l.objects[1]);
}

TEST(remote_reader_test, max_bytes_caps_like_local_reads) {
    fixture f;
    remote_log l;
    l.add({});
    l.upload(*f.store);
    const size_t batch = l.batches[0].second.size();
    // Two batches fit.
    auto a = f.read(l, 0, 2 * batch + 10);
    ASSERT_TRUE(a.is_ready());
    EXPECT_EQ(a.value.slice.bytes, l.bytes(0, 10));
    EXPECT_EQ(a.value.slice.batches, 2u);
    // Less than one batch: the first goes whole if allowed, else nothing.
    a = f.read(l, 0, 10);
    ASSERT_TRUE(a.is_ready());
    EXPECT_EQ(a.value.slice.bytes, l.bytes(0, 5));
    a = f.read(l, 0, 10, storage::first_batch::within_max_bytes);
    ASSERT_TRUE(a.is_ready());
    EXPECT_TRUE(a.value.slice.bytes.empty());
}

TEST(remote_reader_test, store_down_is_pending_then_the_error_then_served_when_back) {
    fixture f;
    remote_log l;
    l.add({});
    l.upload(*f.store);
    f.store->set_down(true);
    auto a = f.ask(l, 0);
    EXPECT_TRUE(a.is_pending());
    f.settle();
    a = f.ask(l, 0);
    ASSERT_TRUE(a.is_failed());
    EXPECT_EQ(a.error.code, objstore::errc::transient);
    EXPECT_EQ(f.reader->stats().errors[static_cast<size_t>(read_error_kind::transient)].load(), 1u);
    // Within the backoff the same error, without another request.
    a = f.ask(l, 0);
    EXPECT_TRUE(a.is_failed());
    EXPECT_EQ(f.reader->jobs_in_flight(), 0u);

    // Back, and past the backoff: served.
    f.store->set_down(false);
    f.now += 2000;
    a = f.read(l, 0);
    ASSERT_TRUE(a.is_ready()) << a.error.message();
    EXPECT_EQ(a.value.slice.bytes, l.objects[0]);
}

TEST(remote_reader_test, store_down_during_the_download) {
    fixture f;
    remote_log l;
    l.add({});
    l.upload(*f.store);
    auto a = f.ask(l, 0);
    EXPECT_TRUE(a.is_pending());
    f.settle();  // the manifest
    f.store->set_down(true);
    a = f.ask(l, 0);
    EXPECT_TRUE(a.is_pending());  // the download started
    f.settle();
    a = f.ask(l, 0);
    ASSERT_TRUE(a.is_failed());
    EXPECT_EQ(a.error.code, objstore::errc::transient);
    EXPECT_EQ(f.reader->cache().entries(), 0u);
    EXPECT_EQ(f.reader->cache().reserved_bytes(), 0u);
    f.store->set_down(false);
    f.now += 2000;
    a = f.read(l, 0);
    ASSERT_TRUE(a.is_ready()) << a.error.message();
    EXPECT_EQ(a.value.slice.bytes, l.objects[0]);
}

TEST(remote_reader_test, a_corrupt_object_is_never_served) {
    fixture f;
    remote_log l;
    l.add({});
    l.upload(*f.store);
    std::string bad = l.objects[0];
    bad[100] ^= 0x04;
    ASSERT_TRUE(f.store->put(layout::segment_key(l.location, 0, l.manifest.segments[0].name), bad));
    auto a = f.read(l, 0);
    ASSERT_TRUE(a.is_failed());
    EXPECT_EQ(a.error.code, objstore::errc::corrupt);
    EXPECT_TRUE(a.value.slice.bytes.empty());
    // Tried three times (two retries), each counted.
    EXPECT_EQ(f.reader->stats().corrupt_downloads.load(), 3u);
    EXPECT_EQ(f.reader->stats().errors[static_cast<size_t>(read_error_kind::corrupt)].load(), 1u);
    EXPECT_EQ(f.reader->cache().entries(), 0u);
    // Repaired in the store: served after the backoff.
    ASSERT_TRUE(f.store->put(layout::segment_key(l.location, 0, l.manifest.segments[0].name),
                             l.objects[0]));
    f.now += 2000;
    a = f.read(l, 0);
    ASSERT_TRUE(a.is_ready()) << a.error.message();
    EXPECT_EQ(a.value.slice.bytes, l.objects[0]);
}

TEST(remote_reader_test, a_truncated_object_is_never_served) {
    fixture f(chunked(256));
    remote_log l;
    l.add({});
    l.upload(*f.store);
    ASSERT_TRUE(f.store->put(layout::segment_key(l.location, 0, l.manifest.segments[0].name),
                             l.objects[0].substr(0, l.objects[0].size() - 40)));
    auto a = f.read(l, 0);
    ASSERT_TRUE(a.is_failed());
    EXPECT_EQ(a.error.code, objstore::errc::corrupt);
    EXPECT_EQ(f.reader->cache().entries(), 0u);
    EXPECT_TRUE(stdfs::is_empty(f.tmp.sub("cloud_cache")));
}

TEST(remote_reader_test, below_the_remote_start_is_out_of_range) {
    fixture f;
    remote_log l;
    l.add({});
    l.add({});
    l.manifest.start_offset = 12;  // remote retention moved it into segment 0
    l.upload(*f.store);
    auto a = f.read(l, 11);
    ASSERT_TRUE(a.is_failed());
    EXPECT_EQ(a.error.code, storage::errc::offset_out_of_range);
    // At the start: the whole batch holding it, as local reads answer.
    a = f.read(l, 12);
    ASSERT_TRUE(a.is_ready());
    EXPECT_EQ(a.value.slice.first_offset.value(), 10);
    auto b = f.reader->bounds(f.rp(l), f.local);
    ASSERT_TRUE(b.is_ready());
    EXPECT_TRUE(b.value.exists);
    EXPECT_EQ(b.value.start, 12);
    EXPECT_EQ(b.value.next, 40);
    EXPECT_EQ(b.value.size_bytes, l.objects[0].size() + l.objects[1].size());
}

TEST(remote_reader_test, an_offset_not_covered_reloads_the_manifest) {
    fixture f;
    remote_log l;
    l.add({});
    l.upload(*f.store);
    ASSERT_TRUE(f.read(l, 0).is_ready());
    // Uploaded since: the held manifest does not cover 25.
    l.add({});
    l.upload(*f.store);
    f.now += 1500;  // older than miss_refresh_ms
    auto a = f.ask(l, 25);
    EXPECT_TRUE(a.is_pending());
    a = f.read(l, 25);
    ASSERT_TRUE(a.is_ready());
    EXPECT_EQ(a.value.slice.bytes, l.bytes(25, 40));
    // Beyond everything uploaded, with a fresh manifest: an empty answer
    // (the caller goes on locally from the local start).
    a = f.read(l, 40);
    ASSERT_TRUE(a.is_ready());
    EXPECT_TRUE(a.value.beyond_remote);
    EXPECT_TRUE(a.value.slice.bytes.empty());
    EXPECT_EQ(a.value.slice.next_offset.value(), 40);
    // Below the remote start with nothing uploaded at all: out of range.
    remote_log none;
    none.partition = 5;
    a = f.read(none, 3);
    ASSERT_TRUE(a.is_failed());
    EXPECT_EQ(a.error.code, storage::errc::offset_out_of_range);
}

TEST(remote_reader_test, an_old_manifest_is_reloaded_in_the_background) {
    fixture f;
    f.local = kafka_offset{20};  // the manifest reaches the local start
    remote_log l;
    l.add({});
    l.upload(*f.store);
    auto b = f.reader->bounds(f.rp(l), f.local);
    EXPECT_TRUE(b.is_pending());
    f.settle();
    b = f.reader->bounds(f.rp(l), f.local);
    ASSERT_TRUE(b.is_ready());
    EXPECT_EQ(b.value.next, 20);
    l.add({});
    l.upload(*f.store);
    // Young: no load.
    f.now += 1000;
    b = f.reader->bounds(f.rp(l), f.local);
    ASSERT_TRUE(b.is_ready());
    EXPECT_EQ(f.reader->jobs_in_flight(), 0u);
    // Old: answered from the held one while the new one loads.
    f.now += 5000;
    b = f.reader->bounds(f.rp(l), f.local);
    ASSERT_TRUE(b.is_ready());
    EXPECT_EQ(b.value.next, 20);
    f.settle();
    b = f.reader->bounds(f.rp(l), f.local);
    ASSERT_TRUE(b.is_ready());
    EXPECT_EQ(b.value.next, 40);
}

TEST(remote_reader_test, no_manifest_means_no_remote_data) {
    fixture f;
    remote_log l;  // nothing uploaded
    auto b = f.reader->bounds(f.rp(l), f.local);
    EXPECT_TRUE(b.is_pending());
    f.settle();
    b = f.reader->bounds(f.rp(l), f.local);
    ASSERT_TRUE(b.is_ready());
    EXPECT_FALSE(b.value.exists);
    EXPECT_EQ(f.reader->stats().errors[static_cast<size_t>(read_error_kind::not_found)].load(), 0u);
}

TEST(remote_reader_test, a_manifest_short_of_the_local_start_is_reloaded_before_answering) {
    fixture f;
    f.local = kafka_offset{20};
    remote_log l;
    // Nothing uploaded yet.
    EXPECT_TRUE(f.reader->bounds(f.rp(l), f.local).is_pending());
    f.settle();
    auto b = f.reader->bounds(f.rp(l), f.local);
    ASSERT_TRUE(b.is_ready());
    EXPECT_FALSE(b.value.exists);
    // The archiver uploads 0-19 and local retention removes them: the
    // held answer ("nothing remote") would skip them; once it is older
    // than miss_refresh_ms it is not trusted.
    l.add({});
    l.upload(*f.store);
    f.now += 1500;
    EXPECT_TRUE(f.reader->bounds(f.rp(l), f.local).is_pending());
    f.settle();
    b = f.reader->bounds(f.rp(l), f.local);
    ASSERT_TRUE(b.is_ready());
    EXPECT_TRUE(b.value.exists);
    EXPECT_EQ(b.value.start, 0);
    // With the local log starting at 0 nothing is below it: no waiting.
    remote_log other;
    other.partition = 1;
    auto z = f.reader->bounds(f.rp(other), kafka_offset{0});
    EXPECT_TRUE(z.is_ready());
    EXPECT_FALSE(z.value.exists);
}

TEST(remote_reader_test, a_corrupt_manifest_is_an_error_and_the_old_one_keeps_answering) {
    fixture f;
    f.local = kafka_offset{20};
    remote_log l;
    l.add({});
    ASSERT_TRUE(f.store->put(layout::partition_manifest_key(l.location, 0), "{not json"));
    auto b = f.reader->bounds(f.rp(l), f.local);
    f.settle();
    b = f.reader->bounds(f.rp(l), f.local);
    ASSERT_TRUE(b.is_failed());
    EXPECT_EQ(b.error.code, objstore::errc::corrupt);
    // A good one, then damage again: the good one is kept.
    l.upload(*f.store);
    f.now += 2000;
    b = f.reader->bounds(f.rp(l), f.local);
    f.settle();
    b = f.reader->bounds(f.rp(l), f.local);
    ASSERT_TRUE(b.is_ready());
    ASSERT_TRUE(f.store->put(layout::partition_manifest_key(l.location, 0), "{not json"));
    f.now += 6000;
    (void)f.reader->bounds(f.rp(l), f.local);
    f.settle();
    b = f.reader->bounds(f.rp(l), f.local);
    ASSERT_TRUE(b.is_ready());
    EXPECT_EQ(b.value.next, 20);
    // A manifest of another partition at this key is refused.
    remote_log other;
    other.partition = 3;
    other.add({});
    ASSERT_TRUE(f.store->put(layout::partition_manifest_key(l.location, 1),
                             layout::encode(other.manifest)));
    remote_partition p1{l.location, 1};
    (void)f.reader->bounds(p1, f.local);
    f.settle();
    EXPECT_TRUE(f.reader->bounds(p1, f.local).is_failed());
}

TEST(remote_reader_test, timestamps_pick_one_segment_by_the_manifest) {
    fixture f;
    remote_log l;
    l.add({4, 5, 1000, 100});  // 1000-1019
    l.add({4, 5, 2000, 100});  // 2000-2019
    l.add({4, 5, 3000, 100});  // 3000-3019
    l.upload(*f.store);
    auto ask = [&](int64_t ts, int64_t below) {
        for (int i = 0; i < 10; ++i) {
            auto a = f.reader->offset_for_timestamp(f.rp(l), ts, kafka_offset{below});
            if (!a.is_pending()) {
                return a;
            }
            f.settle();
        }
        return remote_answer<std::optional<storage::timestamp_offset>>::pending();
    };
    auto a = ask(2007, 60);
    ASSERT_TRUE(a.is_ready());
    ASSERT_TRUE(a.value);
    EXPECT_EQ(a.value->offset.value(), 25);  // batch 25-29 carries 2005-2009
    EXPECT_EQ(a.value->timestamp, 2009);
    EXPECT_EQ(f.reader->stats().downloads.load(), 1u);  // only segment 1
    // Between segments: the first batch of the next.
    a = ask(1500, 60);
    ASSERT_TRUE(a.is_ready());
    ASSERT_TRUE(a.value);
    EXPECT_EQ(a.value->offset.value(), 20);
    // Segments at or above `below` are the local log's: none here.
    a = ask(3005, 40);
    ASSERT_TRUE(a.is_ready());
    EXPECT_FALSE(a.value);
    // Largest timestamp.
    for (int i = 0; i < 10; ++i) {
        auto m = f.reader->max_timestamp(f.rp(l), kafka_offset{60}, 0);
        if (m.is_pending()) {
            f.settle();
            continue;
        }
        ASSERT_TRUE(m.is_ready());
        ASSERT_TRUE(m.value);
        EXPECT_EQ(m.value->offset.value(), 55);
        EXPECT_EQ(m.value->timestamp, 3019);
        break;
    }
    auto m = f.reader->max_timestamp(f.rp(l), kafka_offset{60}, 5000);
    ASSERT_TRUE(m.is_ready());
    EXPECT_FALSE(m.value);  // the local log has a later one
}

TEST(remote_reader_test, a_cached_file_damaged_later_is_downloaded_again) {
    fixture f;
    remote_log l;
    l.add({});
    l.upload(*f.store);
    ASSERT_TRUE(f.read(l, 0).is_ready());
    const std::string entry = *segment_ref{l.location, 0, l.manifest.segments[0]}.entry_name();
    const std::string log = f.tmp.sub("cloud_cache") + "/" + entry + "/00000000000000000000.log";
    storage::testing::flip_bit(log, 30 * 8);  // in the first batch's CRC range
    auto a = f.ask(l, 0);
    EXPECT_TRUE(a.is_pending());
    EXPECT_EQ(f.reader->stats().corrupt_downloads.load(), 1u);
    a = f.read(l, 0);
    ASSERT_TRUE(a.is_ready());
    EXPECT_EQ(a.value.slice.bytes, l.objects[0]);
    EXPECT_EQ(f.reader->stats().downloads.load(), 2u);
}

TEST(remote_reader_test, reading_a_whole_log_stays_within_the_cache_size) {
    remote_log l;
    for (int i = 0; i < 8; ++i) {
        l.add({});
    }
    const uint64_t one = l.objects[0].size();
    fixture f(cache_of(2 * one + one / 2));
    l.upload(*f.store);
    int64_t at = 0;
    std::string all;
    while (at < l.next) {
        auto r = f.read(l, at);
        ASSERT_TRUE(r.is_ready());
        all += r.value.slice.bytes;
        at = r.value.slice.next_offset.value();
        EXPECT_LE(f.reader->cache().used_bytes(), f.reader->cache().limit());
        EXPECT_LE(f.reader->stats().cache_bytes.load(), f.reader->stats().cache_limit.load());
    }
    std::string want;
    for (const auto& o : l.objects) {
        want += o;
    }
    EXPECT_EQ(all, want);
    EXPECT_EQ(f.reader->stats().cache_evictions.load(), 6u);
    EXPECT_EQ(f.reader->cache().entries(), 2u);
}

TEST(remote_reader_test, a_restart_reuses_the_cache) {
    fixture f;
    remote_log l;
    l.add({});
    l.upload(*f.store);
    ASSERT_TRUE(f.read(l, 0).is_ready());
    f.open(in_dir(f.tmp.sub("cloud_cache")));
    auto a = f.read(l, 0);
    ASSERT_TRUE(a.is_ready());
    EXPECT_EQ(a.value.slice.bytes, l.objects[0]);
    EXPECT_EQ(f.reader->stats().downloads.load(), 0u);
    EXPECT_EQ(f.reader->stats().cache_hits.load(), 1u);
}

TEST(remote_reader_test, a_segment_gone_from_the_store_reloads_the_manifest) {
    fixture f;
    remote_log l;
    l.add({});
    l.add({});
    l.upload(*f.store);
    ASSERT_TRUE(f.reader->bounds(f.rp(l), f.local).is_pending());
    f.settle();
    // Remote retention: segment 0 deleted, the manifest moved on.
    ASSERT_TRUE(f.store->del(layout::segment_key(l.location, 0, l.manifest.segments[0].name)));
    auto a = f.read(l, 0);
    ASSERT_TRUE(a.is_failed());
    EXPECT_EQ(a.error.code, objstore::errc::not_found);
    l.manifest.segments.erase(l.manifest.segments.begin());
    l.manifest.start_offset = 20;
    ASSERT_TRUE(
        f.store->put(layout::partition_manifest_key(l.location, 0), layout::encode(l.manifest)));
    f.now += 1500;
    a = f.read(l, 0);
    ASSERT_TRUE(a.is_failed());
    EXPECT_EQ(a.error.code, storage::errc::offset_out_of_range);
}

TEST(remote_reader_test, await_runs_on_progress_or_at_its_deadline) {
    fixture f;
    remote_log l;
    l.add({});
    l.upload(*f.store);
    int ran = 0;
    f.reader->await(std::chrono::milliseconds(100), [&] { ++ran; });
    (void)f.reader->bounds(f.rp(l), f.local);
    f.settle();
    EXPECT_EQ(ran, 1);
    f.io.fire_timers();  // its timer finds it gone
    EXPECT_EQ(ran, 1);
    f.reader->await(std::chrono::milliseconds(100), [&] { ++ran; });
    f.io.fire_timers();
    EXPECT_EQ(ran, 2);
}

TEST(remote_reader_test, configure_store_builds_on_a_worker_and_the_last_call_wins) {
    fixture f;
    f.reader->set_store(nullptr);
    objstore::store_config c;
    c.local_directory = f.tmp.sub("bucket");
    f.reader->configure_store(c, "the-bucket");
    EXPECT_FALSE(f.reader->has_store());  // built on the worker, then posted
    ASSERT_TRUE(f.io.run_until([&] { return f.reader->has_store(); }));
    EXPECT_EQ(f.reader->store_name(), "the-bucket");
    // It reads the bucket.
    remote_log l;
    l.add({});
    l.upload(*f.store);
    auto a = f.read(l, 0);
    ASSERT_TRUE(a.is_ready());
    EXPECT_EQ(a.value.slice.bytes, l.objects[0]);
    // A store that does not build: none, and tried again later.
    objstore::store_config bad;
    bad.local_directory = "relative/dir";
    f.reader->configure_store(bad, "bad");
    ASSERT_TRUE(f.io.run_until([&] { return !f.reader->has_store(); }));
    EXPECT_EQ(f.io.timers(), 1u);
    // A later configuration wins over the retry.
    f.reader->configure_store(c, "again");
    ASSERT_TRUE(f.io.run_until([&] { return f.reader->has_store(); }));
    f.io.fire_timers();  // the old retry: dropped
    f.io.run();
    EXPECT_EQ(f.reader->store_name(), "again");
    f.reader->configure_store(std::nullopt, "");
    EXPECT_FALSE(f.reader->has_store());
}

TEST(remote_reader_test, without_a_store_nothing_is_read) {
    fixture f;
    remote_log l;
    l.add({});
    l.upload(*f.store);
    f.reader->set_store(nullptr);
    EXPECT_FALSE(f.reader->has_store());
    auto a = f.ask(l, 0);
    ASSERT_TRUE(a.is_failed());
    EXPECT_EQ(a.error.code, objstore::errc::config);
}

}  // namespace
}  // namespace fjord::broker::tiered_read
