// File: broker/cluster/log_flusher_test.cc
//
// Group commit as the broker runs it: a real worker thread fdatasyncs real
// segment files; its completions are posted to a queue this test drains on
// its own thread, standing in for the io thread, so the test decides when
// a round's outcome lands (reported to the partition, partition.h). What a user would notice:
// acks=all answered only after the sync, records readable (high watermark) only after it, many
// requests sharing one sync, a failed sync never reported as success, a
// closed partition's waiters answered rather than left hanging.

#include "broker/cluster/log_flusher.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

#include "broker/storage/errc.h"
#include "broker/storage/log_test_util.h"
#include "common/fs/fault_file_ops.h"

namespace fjord::broker {
namespace {

using storage::partition_log;
using storage::testing::make_batch;
using storage::testing::temp_dir;

constexpr int64_t now = 1'700'000'000'000;

/// The io thread's queue: completions posted by the worker, run on demand.
class io_queue {
  public:
    log_flusher::post_fn post() {
        return [this](std::function<void()> fn) {
            std::lock_guard<std::mutex> lk(_mu);
            _q.push_back(std::move(fn));
            _cv.notify_all();
        };
    }
    /// Waits for one posted completion and runs it here.
    void run_one() {
        std::function<void()> fn;
        {
            std::unique_lock<std::mutex> lk(_mu);
            ASSERT_TRUE(_cv.wait_for(lk, std::chrono::seconds(10), [&] { return !_q.empty(); }))
                << "no completion within 10 s";
            fn = std::move(_q.front());
            _q.pop_front();
        }
        fn();
    }

  private:
    std::mutex _mu;
    std::condition_variable _cv;
    std::deque<std::function<void()>> _q;
};

/// A partition served over a fresh log in `dir`, synced through `f`.
std::unique_ptr<partition> open_partition(const std::string& dir, log_flusher& f,
                                          bool write_caching = false,
                                          std::shared_ptr<fs::file_ops> fs = nullptr) {
    storage::log_config c;
    c.write_caching = write_caching;
    auto l = partition_log::open(dir, c, now, std::move(fs));
    EXPECT_TRUE(l) << l.error().detail;
    return std::make_unique<partition>(std::move(*l), f);
}

/// Appends one batch of `records` records as Produce does.
void append(partition& p, int records) {
    auto r = p.append(make_batch(records, now), now);
    ASSERT_TRUE(r) << r.error().detail;
}

TEST(log_flusher, acks_all_waits_for_the_sync_and_records_become_readable_after_it) {
    temp_dir dir;
    io_queue io;
    log_flusher f(io.post(), [] { return now; });
    auto l = open_partition(dir.path() + "/p0", f);
    append(*l, 3);
    EXPECT_EQ(l->high_watermark(), kafka_offset{0}) << "readable before it is durable";
    std::optional<bool> answered;
    f.sync(*l, [&](const result<void>& r) { answered = r.has_value(); });
    EXPECT_FALSE(answered) << "answered before the sync completed";
    io.run_one();
    ASSERT_TRUE(answered);
    EXPECT_TRUE(*answered);
    EXPECT_EQ(l->log().flushed_offset(), kafka_offset{3});
    EXPECT_EQ(l->high_watermark(), kafka_offset{3});
    f.stop();
}

TEST(log_flusher, requests_during_a_round_share_the_next_one) {
    temp_dir dir;
    io_queue io;
    log_flusher f(io.post(), [] { return now; });
    std::vector<std::unique_ptr<partition>> logs;
    for (int i = 0; i < 4; ++i) {
        logs.push_back(open_partition(dir.path() + "/p" + std::to_string(i), f));
    }
    // What the partitions' observers (parked Fetches) hear.
    std::vector<int> wakes(logs.size(), 0);
    std::vector<partition::subscription> watching;
    for (size_t i = 0; i < logs.size(); ++i) {
        watching.push_back(logs[i]->observe([&wakes, i] { ++wakes[i]; }));
    }
    int answers = 0;
    // One request starts round 1; forty more, over all four logs, arrive
    // while it is on the disk and all go into round 2.
    append(*logs[0], 1);
    f.sync(*logs[0], [&](const result<void>& r) { answers += r ? 1 : 0; });
    for (int i = 0; i < 40; ++i) {
        auto& l = *logs[static_cast<size_t>(i % 4)];
        append(l, 1);
        f.sync(l, [&](const result<void>& r) { answers += r ? 1 : 0; });
    }
    io.run_one();  // round 1
    EXPECT_EQ(answers, 1);
    io.run_one();  // round 2
    EXPECT_EQ(answers, 41);
    EXPECT_EQ(f.rounds(), 2u);
    EXPECT_EQ(f.syncs(), 5u) << "one fdatasync per log per round";
    EXPECT_EQ(wakes[0], 2) << "one wake-up per round that moved its high watermark";
    for (size_t i = 1; i < 4; ++i) {
        EXPECT_EQ(wakes[i], 1);
    }
    EXPECT_EQ(logs[0]->high_watermark(), kafka_offset{11});
    for (size_t i = 1; i < 4; ++i) {
        EXPECT_EQ(logs[i]->high_watermark(), kafka_offset{10});
    }
    f.stop();
}

TEST(log_flusher, a_failed_sync_is_never_success_and_fails_the_log) {
    temp_dir dir;
    auto fs = std::make_shared<fs::testing::fault_file_ops>(storage::errc::io_error);
    log_flusher f;  // inline: the fault layer is not thread-safe
    auto l = open_partition(dir.path() + "/p0", f, false, fs);
    append(*l, 2);
    fs->fail_next_sync();
    std::optional<result<void>> answer;
    f.sync(*l, [&](const result<void>& r) { answer = r; });
    ASSERT_TRUE(answer);
    ASSERT_FALSE(*answer);
    EXPECT_EQ(answer->error().code, make_error_code(storage::errc::io_error));
    EXPECT_EQ(l->high_watermark(), kafka_offset{0}) << "unsynced records became readable";
    // The page cache cannot be trusted after a failed fsync: no more writes.
    EXPECT_FALSE(l->append(make_batch(1, now), now));
}

TEST(log_flusher, a_closed_log_answers_its_waiters_and_is_not_touched_again) {
    temp_dir dir;
    io_queue io;
    log_flusher f(io.post(), [] { return now; });
    auto a = open_partition(dir.path() + "/a", f);
    auto b = open_partition(dir.path() + "/b", f);
    append(*a, 1);
    append(*b, 1);
    std::vector<std::error_code> answers;
    const auto record = [&](const result<void>& r) {
        answers.push_back(r ? std::error_code() : r.error().code);
    };
    f.sync(*a, record);  // round 1, in flight
    f.sync(*b, record);  // waits for round 2
    f.forget(*a);
    f.forget(*b);
    a.reset();  // closed while its round is on the disk
    b.reset();
    // Posted: the failures of both, then round 1's completion.
    io.run_one();
    io.run_one();
    io.run_one();
    ASSERT_EQ(answers.size(), 2u);
    for (const auto& e : answers) {
        EXPECT_EQ(e, make_error_code(storage::errc::not_open));
    }
    f.stop();
}

TEST(log_flusher, write_caching_logs_are_readable_at_once_and_synced_on_request) {
    temp_dir dir;
    log_flusher f;
    auto l = open_partition(dir.path() + "/p0", f, /*write_caching=*/true);
    append(*l, 4);
    EXPECT_EQ(l->high_watermark(), kafka_offset{4});
    EXPECT_EQ(l->log().flushed_offset(), kafka_offset{0});
    bool ok = false;
    f.sync(*l, [&](const result<void>& r) { ok = r.has_value(); });
    EXPECT_TRUE(ok);
    EXPECT_EQ(l->log().flushed_offset(), kafka_offset{4});
}

TEST(log_flusher, stop_answers_everything_still_waiting) {
    temp_dir dir;
    io_queue io;
    log_flusher f(io.post(), [] { return now; });
    auto l = open_partition(dir.path() + "/p0", f);
    append(*l, 1);
    int answered = 0;
    f.sync(*l, [&](const result<void>&) { ++answered; });  // in flight
    append(*l, 1);
    f.sync(*l, [&](const result<void>& r) {
        ++answered;
        EXPECT_FALSE(r);
    });  // queued
    f.stop();
    // stop() answered both: the queued one and the one on the disk (whose
    // posted completion the stopped io thread would never run).
    EXPECT_EQ(answered, 2);
    // After stop, a request is answered at once.
    bool refused = false;
    f.sync(*l, [&](const result<void>& r) { refused = !r; });
    EXPECT_TRUE(refused);
}

TEST(log_flusher, a_sync_that_failed_before_stop_still_fails_the_log) {
    // fdatasync reports an error once: if stop() dropped it, the clean
    // shutdown's flush would succeed on the same file and lie.
    temp_dir dir;
    auto fs = std::make_shared<fs::testing::fault_file_ops>(storage::errc::io_error);
    io_queue io;
    log_flusher f(
        io.post(), [] { return now; }, log_flusher::worker_mode::manual);
    auto l = open_partition(dir.path() + "/p0", f, false, fs);
    append(*l, 2);
    std::optional<bool> answer;
    f.sync(*l, [&](const result<void>& r) { answer = r.has_value(); });
    fs->fail_next_sync();
    ASSERT_TRUE(f.run_round());  // the sync fails; its completion is never run
    f.stop();
    ASSERT_TRUE(answer);
    EXPECT_FALSE(*answer);
    EXPECT_FALSE(l->log().flush(now)) << "the failed fdatasync was forgotten";
    EXPECT_EQ(l->high_watermark(), kafka_offset{0});
}

TEST(log_flusher, a_truncation_makes_an_older_ticket_stale) {
    temp_dir dir;
    log_flusher f;
    auto l = open_partition(dir.path() + "/p0", f);
    append(*l, 5);
    const storage::flush_ticket t = l->log().prepare_flush();
    ASSERT_TRUE(t.sync());
    ASSERT_TRUE(l->log().truncate_to(kafka_offset{2}));
    append(*l, 3);  // offsets 2..4 again, other records, not synced
    auto r = l->log().complete_flush(t, ok(), now);
    ASSERT_FALSE(r) << "waiters of truncated records heard \"durable\"";
    EXPECT_EQ(r.error().code, make_error_code(storage::errc::not_open));
    EXPECT_LE(l->log().flushed_offset(), kafka_offset{2}) << "a stale ticket vouched for new data";
}

}  // namespace
}  // namespace fjord::broker
