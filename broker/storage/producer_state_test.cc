// File: broker/storage/producer_state_test.cc
//
// The idempotent producer's de-duplication: the pure table's rules and
// snapshot, and partition_log's use of them across appends, rolls and
// reopening (with and without a snapshot).

#include "broker/storage/producer_state.h"

#include <gtest/gtest.h>

#include "broker/storage/errc.h"
#include "broker/storage/log_test_util.h"
#include "broker/storage/partition_log.h"

namespace fjord::broker::storage {
namespace {

using namespace testing;  // storage::testing: batches and temp dirs

kafka::record_batch_header header(int64_t pid, int16_t epoch, int32_t seq, int records,
                                  int64_t base) {
    kafka::record_batch_header h;
    h.producer_id = pid;
    h.producer_epoch = epoch;
    h.base_sequence = seq;
    h.last_offset_delta = records - 1;
    h.record_count = records;
    h.base_offset = base;
    return h;
}

std::error_code code_of(const result<std::optional<producer_batch>>& r) {
    return r ? std::error_code() : r.error().code;
}

TEST(ProducerState, InOrderBatchesPassAndGapsAreRefused) {
    producer_state s;
    auto first = header(7, 0, 0, 3, 0);
    ASSERT_TRUE(s.check(first));
    EXPECT_FALSE(*s.check(first));
    s.update(first, 1000);
    EXPECT_FALSE(*s.check(header(7, 0, 3, 2, 3)));
    EXPECT_EQ(code_of(s.check(header(7, 0, 4, 1, 3))), errc::out_of_order_sequence);
    EXPECT_EQ(code_of(s.check(header(7, 0, 2, 1, 3))), errc::out_of_order_sequence);
    // A producer this partition does not know is accepted at any sequence
    // (after a leader change the new leader may not know a live producer).
    EXPECT_FALSE(*s.check(header(8, 0, 5, 1, 3)));
}

TEST(ProducerState, ProducersNotSeenForTheExpirationAreForgotten) {
    producer_state s;
    s.update(header(7, 0, 0, 1, 0), 1000);
    s.update(header(8, 0, 0, 1, 1), 5000);
    s.expire(6000, 2000);
    EXPECT_EQ(s.find(7), nullptr);
    ASSERT_NE(s.find(8), nullptr);
    // Forgotten: its next batch is accepted as from an unknown producer.
    EXPECT_FALSE(*s.check(header(7, 0, 1, 1, 2)));
}

TEST(ProducerState, ARetryOfOneOfTheLastFiveBatchesIsADuplicate) {
    producer_state s;
    for (int i = 0; i < 7; ++i) {
        s.update(header(7, 0, i * 2, 2, 100 + i * 2), 1000);
    }
    // Batches 2..6 are remembered; 0 and 1 fell out of the window.
    auto dup = s.check(header(7, 0, 4, 2, -1));
    ASSERT_TRUE(dup);
    ASSERT_TRUE(*dup);
    EXPECT_EQ((*dup)->base_offset, 104);
    EXPECT_EQ((*dup)->last_offset, 105);
    EXPECT_EQ(code_of(s.check(header(7, 0, 0, 2, -1))), errc::out_of_order_sequence);
    EXPECT_EQ(s.find(7)->batches.size(), producer_state::batches_kept);
}

TEST(ProducerState, EpochsFenceOldProducersAndRestartSequences) {
    producer_state s;
    s.update(header(7, 1, 0, 1, 0), 1000);
    EXPECT_EQ(code_of(s.check(header(7, 0, 1, 1, 1))), errc::invalid_producer_epoch);
    EXPECT_EQ(code_of(s.check(header(7, 2, 1, 1, 1))), errc::out_of_order_sequence);
    EXPECT_FALSE(*s.check(header(7, 2, 0, 1, 1)));
    s.update(header(7, 2, 0, 1, 1), 1000);
    EXPECT_EQ(s.find(7)->epoch, 2);
    EXPECT_EQ(s.find(7)->batches.size(), 1u);
}

TEST(ProducerState, SequencesWrapAtIntMax) {
    producer_state s;
    s.update(header(5, 0, 0, 2, 0), 1000);                          // sequences 0 .. 1
    kafka::record_batch_header b = header(5, 0, 2, 2147483646, 2);  // sequences 2 .. 2147483647
    ASSERT_FALSE(*s.check(b));
    s.update(b, 1000);
    EXPECT_EQ(s.find(5)->batches.back().last_seq, 2147483647);
    EXPECT_FALSE(*s.check(header(5, 0, 0, 1, 2147483648)));
    EXPECT_EQ(code_of(s.check(header(5, 0, 1, 1, 2147483648))), errc::out_of_order_sequence);
    // The same sequences as a batch still in the window: a duplicate.
    EXPECT_TRUE(*s.check(header(5, 0, 0, 2, 2147483648)));
}

TEST(ProducerState, NonIdempotentAndTransactionalBatches) {
    producer_state s;
    EXPECT_FALSE(*s.check(header(-1, -1, -1, 3, 0)));
    s.update(header(-1, -1, -1, 3, 0), 1000);
    EXPECT_EQ(s.size(), 0u);
    kafka::record_batch_header txn = header(7, 0, 0, 1, 0);
    txn.attributes = 0x10;
    EXPECT_EQ(code_of(s.check(txn)), errc::invalid_batch);
    EXPECT_EQ(code_of(s.check(header(7, 0, -1, 1, 0))), errc::out_of_order_sequence);
}

TEST(ProducerState, SnapshotRoundTripsAndRefusesDamage) {
    producer_state s;
    s.update(header(7, 3, 0, 2, 10), 1000);
    s.update(header(7, 3, 2, 1, 12), 1000, 5555);
    s.update(header(1LL << 40, 0, 0, 1, 13), 1000);
    const std::string snap = s.snapshot(14);
    producer_state t;
    auto next = t.restore(snap);
    ASSERT_TRUE(next) << next.error().detail;
    EXPECT_EQ(*next, 14);
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(*t.find(7), *s.find(7));
    EXPECT_EQ(t.find(7)->batches.back().log_append_time, 5555);
    for (size_t cut : {size_t{0}, size_t{3}, snap.size() - 1}) {
        producer_state u;
        EXPECT_FALSE(u.restore(snap.substr(0, cut)));
    }
    std::string flipped = snap;
    flipped[20] = static_cast<char>(flipped[20] ^ 1);
    producer_state u;
    auto bad = u.restore(flipped);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, errc::corrupt);
}

// --- through partition_log ----------------------------------------------------

std::string idem(int64_t pid, int16_t epoch, int32_t seq, int records, int tag) {
    batch_spec s;
    s.records = records;
    s.tag = tag;
    s.producer_id = pid;
    s.producer_epoch = epoch;
    s.base_sequence = seq;
    return make_batch(s);
}

TEST(PartitionLogIdempotence, ARetriedBatchIsWrittenOnceAndAnsweredWithItsOffsets) {
    temp_dir d;
    auto log = open_ok(d.log(), small_config(1 << 20));
    ASSERT_TRUE(log->append(make_batch(2, 1000), 1));  // offsets 0-1, no producer
    auto a = log->append(idem(7, 0, 0, 3, 1), 1);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->base_offset, kafka_offset{2});
    auto again = log->append(idem(7, 0, 0, 3, 1), 1);
    ASSERT_TRUE(again) << again.error().detail;
    EXPECT_EQ(again->base_offset, kafka_offset{2});
    EXPECT_EQ(again->last_offset, kafka_offset{4});
    EXPECT_EQ(log->log_end_offset(), kafka_offset{5});
    auto gap = log->append(idem(7, 0, 5, 1, 2), 1);
    ASSERT_FALSE(gap);
    EXPECT_EQ(gap.error().code, errc::out_of_order_sequence);
    EXPECT_EQ(log->log_end_offset(), kafka_offset{5});
    ASSERT_TRUE(log->append(idem(7, 0, 3, 1, 3), 1));
    EXPECT_EQ(all_batches(*log).size(), 3u);
}

TEST(PartitionLogIdempotence, StateSurvivesReopeningWithAndWithoutASnapshot) {
    temp_dir d;
    {
        auto log = open_ok(d.log(), small_config(400));
        for (int i = 0; i < 8; ++i) {
            ASSERT_TRUE(log->append(idem(7, 0, i * 2, 2, i), 1));
        }
        ASSERT_TRUE(log->flush(1));
        ASSERT_GT(log->segments().size(), 1u) << "the test wants rolls, hence a snapshot";
    }
    ASSERT_FALSE(files_in(d.log(), "producer_state.snapshot").empty());
    {
        auto log = open_ok(d.log(), small_config(400));
        auto dup = log->append(idem(7, 0, 14, 2, 7), 1);
        ASSERT_TRUE(dup);
        EXPECT_EQ(dup->base_offset, kafka_offset{14});
        EXPECT_EQ(log->log_end_offset(), kafka_offset{16});
        auto next = log->append(idem(7, 0, 16, 2, 8), 1);
        ASSERT_TRUE(next) << next.error().detail;
        ASSERT_TRUE(log->flush(1));
    }
    // Without the snapshot, the active segment is replayed (it holds the
    // producer's last batches).
    std::filesystem::remove(d.log() + "/producer_state.snapshot");
    auto log = open_ok(d.log(), small_config(400));
    auto dup = log->append(idem(7, 0, 16, 2, 8), 1);
    ASSERT_TRUE(dup);
    EXPECT_EQ(dup->base_offset, kafka_offset{16});
    auto gap = log->append(idem(7, 0, 19, 1, 9), 1);
    ASSERT_FALSE(gap);
    EXPECT_EQ(gap.error().code, errc::out_of_order_sequence);
}

TEST(PartitionLogIdempotence, ALogWithoutProducersStillSavesWhereReplayStarts) {
    // Without it, reopening would replay (read and CRC-check) the whole log.
    temp_dir d;
    auto log = open_ok(d.log(), small_config(400));
    for (int i = 0; i < 12; ++i) {
        ASSERT_TRUE(log->append(make_batch(1, 1000, 16, i), 1));
    }
    ASSERT_GT(log->segments().size(), 2u);
    producer_state saved;
    auto next = saved.restore(read_bytes(d.log() + "/producer_state.snapshot"));
    ASSERT_TRUE(next) << next.error().detail;
    EXPECT_EQ(*next, log->segments().back().base.value());
    EXPECT_EQ(saved.size(), 0u);
}

TEST(PartitionLogIdempotence, ADamagedSnapshotIsRebuiltFromTheLog) {
    temp_dir d;
    {
        auto log = open_ok(d.log(), small_config(400));
        for (int i = 0; i < 6; ++i) {
            ASSERT_TRUE(log->append(idem(7, 0, i, 1, i), 1));
        }
        ASSERT_TRUE(log->flush(1));
    }
    // Damaged: the active segment is replayed instead, and holds the retry's
    // original.
    write_bytes(d.log() + "/producer_state.snapshot", "garbage");
    auto log = open_ok(d.log(), small_config(400));
    auto dup = log->append(idem(7, 0, 5, 1, 5), 1);
    ASSERT_TRUE(dup);
    EXPECT_EQ(dup->base_offset, kafka_offset{5});
}

TEST(PartitionLogIdempotence, TruncationForgetsTheBatchesItRemoves) {
    temp_dir d;
    auto log = open_ok(d.log(), small_config(400));
    for (int i = 0; i < 6; ++i) {
        ASSERT_TRUE(log->append(idem(7, 0, i, 1, i), 1));
    }
    ASSERT_TRUE(log->truncate_to(kafka_offset{3}));
    // Sequence 3 was removed with its batch: it is in order again.
    auto r = log->append(idem(7, 0, 3, 1, 30), 1);
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(r->base_offset, kafka_offset{3});
}

}  // namespace
}  // namespace fjord::broker::storage
