// File: controller/storage/storage_fault_test.cc
//
// Storage fault tests: what recovery makes of torn writes, flipped bits,
// zeroed sectors, lost unsynced writes and failed syncs. Each test states the
// exact outcome: how many entries survive with what content, or that open()
// fails with errc::corrupt naming the file and byte offset of the damage.
//
// Damage is applied to a copy of a synced data directory with raw file
// surgery (storage_test_util.h) or through fault_file_ops' crash model.

#include <gtest/gtest.h>

#include <random>

#include "common/log.h"
#include "controller/raft/errc.h"
#include "controller/raft/node.h"
#include "controller/storage/format.h"
#include "controller/storage/segmented_log.h"
#include "controller/storage/storage_test_util.h"

namespace fjord::storage::testing {
namespace {

using raft::errc;

/// Writes `all` (indexes from 1) into a new log in `dir` and syncs.
void write_log(const std::string& dir, uint64_t segment_size, const std::vector<raft::entry>& all,
               const raft::hard_state& hs = {}) {
    auto log = open_ok(dir, segment_size);
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->append(all));
    ASSERT_TRUE(log->set_hard_state(hs));
    ASSERT_TRUE(log->sync());
}

std::vector<raft::entry> prefix(const std::vector<raft::entry>& all, uint64_t n) {
    return std::vector<raft::entry>(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
}

/// Reopens `dir`, expects exactly `want`, appends five entries after it,
/// syncs, reopens again and expects `want` plus those five.
void expect_recovers_to(const std::string& dir, uint64_t segment_size,
                        const std::vector<raft::entry>& want) {
    std::vector<raft::entry> more;
    {
        auto log = open_ok(dir, segment_size);
        ASSERT_TRUE(log);
        ASSERT_EQ(log->last_index().value(), want.size());
        ASSERT_EQ(all_entries(*log), want);
        const uint64_t next = want.size() + 1;
        more = make_entries(next, next + 4, 50, 9);
        ASSERT_TRUE(log->append(more));
        ASSERT_TRUE(log->sync());
    }
    auto log = open_ok(dir, segment_size);
    ASSERT_TRUE(log);
    std::vector<raft::entry> both = want;
    both.insert(both.end(), more.begin(), more.end());
    ASSERT_EQ(all_entries(*log), both);
}

/// open() must fail with errc::corrupt naming `file` and `offset`.
void expect_corrupt(const std::string& dir, uint64_t segment_size, const std::string& file,
                    uint64_t offset) {
    auto r = segmented_log::open(options{dir, segment_size, nullptr});
    ASSERT_FALSE(r) << "opened despite damage in " << file << " at " << offset;
    EXPECT_EQ(r.code(), errc::corrupt) << r.error().message();
    EXPECT_TRUE(contains(r.error().detail, fmt::format("{} at offset {}:", file, offset)))
        << r.error().detail;
}

// Geometry of the small log most tests use: 12 entries with 20 bytes of data
// (45-byte records), 160-byte segments hold 3 records (24 + 3 * 45 = 159).
constexpr uint64_t small_segment = 160;

std::vector<raft::entry> small_log() {
    std::vector<raft::entry> all;
    for (uint64_t i = 1; i <= 12; ++i) {
        all.push_back(make_entry(i, 1 + i / 5));
    }
    return all;
}

// (a) A crash can cut the last segment at any byte. Every cut inside the last
// three records keeps exactly the records that are whole, and the log goes on.
TEST(storage_faults, torn_tail_at_every_offset_of_the_last_three_records) {
    temp_dir src;
    temp_dir work;
    const auto all = small_log();
    const raft::hard_state hs{term_id{3}, node_id{1}, log_index{5}};
    write_log(src.path(), small_segment, all, hs);
    const auto segs = segment_files(src.path());
    ASSERT_EQ(segs.size(), 4u);
    const auto last = entries_of_segment(all, segs, segs.size() - 1);
    ASSERT_EQ(last.size(), 3u);
    const auto offsets = record_offsets(last);
    const uint64_t end = offsets.back() + record_bytes(last.back());
    ASSERT_EQ(file_size(segs.back()), end);
    const uint64_t before_last = segment_first(segs.back()) - 1;

    const std::string data = work.sub("data");
    const std::string seg = data + "/log/" + std::filesystem::path(segs.back()).filename().string();
    uint64_t cases = 0;
    for (uint64_t cut = offsets.front(); cut <= end; ++cut) {
        SCOPED_TRACE(fmt::format("cut at {}", cut));
        copy_dir(src.path(), data);
        truncate_file(seg, cut);
        uint64_t whole = 0;
        uint64_t whole_end = header_bytes;
        for (size_t r = 0; r < last.size(); ++r) {
            if (offsets[r] + record_bytes(last[r]) <= cut) {
                ++whole;
                whole_end = offsets[r] + record_bytes(last[r]);
            }
        }
        {
            auto log = open_ok(data, small_segment);
            ASSERT_TRUE(log);
            EXPECT_EQ(log->initial_hard_state(), hs);
        }
        // The torn bytes are gone from the file, not just skipped.
        EXPECT_EQ(file_size(seg), whole_end);
        expect_recovers_to(data, small_segment, prefix(all, before_last + whole));
        if (HasFatalFailure()) {
            return;
        }
        ++cases;
    }
    EXPECT_EQ(cases, end - offsets.front() + 1);
}

// A crash while a segment was being created leaves less than its header:
// that segment holds nothing and goes; the log ends with the previous one.
TEST(storage_faults, torn_segment_header_removes_the_segment) {
    temp_dir src;
    temp_dir work;
    const auto all = small_log();
    write_log(src.path(), small_segment, all);
    const auto segs = segment_files(src.path());
    const std::string data = work.sub("data");
    const std::string seg = data + "/log/" + std::filesystem::path(segs.back()).filename().string();
    for (uint64_t cut = 0; cut < header_bytes; ++cut) {
        SCOPED_TRACE(fmt::format("cut at {}", cut));
        copy_dir(src.path(), data);
        truncate_file(seg, cut);
        expect_recovers_to(data, small_segment, prefix(all, segment_first(segs.back()) - 1));
        if (HasFatalFailure()) {
            return;
        }
    }
    // A zero-filled header (allocated, never written) is the same.
    copy_dir(src.path(), data);
    write_bytes(seg, std::string(header_bytes, '\0'));
    expect_recovers_to(data, small_segment, prefix(all, segment_first(segs.back()) - 1));
}

TEST(storage_faults, torn_tail_is_logged) {
    temp_dir dir;
    const auto all = small_log();
    write_log(dir.path(), small_segment, all);
    const auto segs = segment_files(dir.path());
    truncate_file(segs.back(), file_size(segs.back()) - 3);
    const log_level saved = current_log_level();
    set_log_level(log_level::warn);
    ::testing::internal::CaptureStderr();
    auto log = open_ok(dir.path(), small_segment);
    const std::string err = ::testing::internal::GetCapturedStderr();
    set_log_level(saved);
    ASSERT_TRUE(log);
    EXPECT_TRUE(contains(err, "WARN")) << err;
    EXPECT_TRUE(contains(err, segs.back() + ": torn tail")) << err;
    EXPECT_EQ(log->last_index(), log_index{11});
}

// (b) A flipped bit in the last record with nothing after it is a torn tail:
// the log ends before that record.
TEST(storage_faults, bit_flip_in_the_last_record_is_a_torn_tail) {
    temp_dir src;
    temp_dir work;
    const auto all = small_log();
    write_log(src.path(), small_segment, all);
    const auto segs = segment_files(src.path());
    const auto last = entries_of_segment(all, segs, segs.size() - 1);
    const uint64_t start = record_offsets(last).back();
    const uint64_t size = record_bytes(last.back());
    const std::string data = work.sub("data");
    const std::string seg = data + "/log/" + std::filesystem::path(segs.back()).filename().string();
    for (uint64_t bit = start * 8; bit < (start + size) * 8; ++bit) {
        SCOPED_TRACE(fmt::format("bit {} (byte {})", bit, bit / 8));
        copy_dir(src.path(), data);
        flip_bit(seg, bit);
        {
            auto log = open_ok(data, small_segment);
            ASSERT_TRUE(log);
            ASSERT_EQ(all_entries(*log), prefix(all, all.size() - 1));
        }
        EXPECT_EQ(file_size(seg), start) << "the damaged record is cut off";
        // Every fifth case also checks that the log continues correctly.
        if (bit % 5 == 0) {
            expect_recovers_to(data, small_segment, prefix(all, all.size() - 1));
        }
        ASSERT_FALSE(HasFailure());
    }
}

// (b) A flipped bit in any earlier record - valid records follow it, in its
// own segment or in later ones - is corruption, reported at that record.
TEST(storage_faults, bit_flip_in_an_earlier_record_is_corruption) {
    temp_dir src;
    temp_dir work;
    const auto all = small_log();
    write_log(src.path(), small_segment, all);
    const auto segs = segment_files(src.path());
    const std::string data = work.sub("data");
    uint64_t cases = 0;
    for (size_t s = 0; s < segs.size(); ++s) {
        const auto held = entries_of_segment(all, segs, s);
        const auto offsets = record_offsets(held);
        const std::string seg = data + "/log/" + std::filesystem::path(segs[s]).filename().string();
        for (size_t r = 0; r < held.size(); ++r) {
            if (s + 1 == segs.size() && r + 1 == held.size()) {
                continue;  // the very last record: the torn-tail test above
            }
            const uint64_t first_bit = offsets[r] * 8;
            const uint64_t end_bit = (offsets[r] + record_bytes(held[r])) * 8;
            // Every bit of the records next to the tail, every third elsewhere.
            const uint64_t step = s + 1 == segs.size() ? 1 : 3;
            for (uint64_t bit = first_bit + (r % step); bit < end_bit; bit += step) {
                SCOPED_TRACE(fmt::format("segment {} record {} bit {}", s, r, bit));
                copy_dir(src.path(), data);
                flip_bit(seg, bit);
                expect_corrupt(data, small_segment, seg, offsets[r]);
                ASSERT_FALSE(HasFailure());
                ++cases;
            }
        }
    }
    EXPECT_GT(cases, 1500u);
}

TEST(storage_faults, bit_flip_in_a_segment_header_is_corruption) {
    temp_dir src;
    temp_dir work;
    const auto all = small_log();
    write_log(src.path(), small_segment, all);
    const auto segs = segment_files(src.path());
    const std::string data = work.sub("data");
    for (const size_t s : {size_t{0}, segs.size() - 1}) {
        const std::string seg = data + "/log/" + std::filesystem::path(segs[s]).filename().string();
        for (uint64_t bit = 0; bit < header_bytes * 8; ++bit) {
            SCOPED_TRACE(fmt::format("segment {} bit {}", s, bit));
            copy_dir(src.path(), data);
            flip_bit(seg, bit);
            expect_corrupt(data, small_segment, seg, 0);
            ASSERT_FALSE(HasFailure());
        }
    }
}

// Records whose checksum is fine but whose contents break the log's rules
// were written that way: corruption even at the tail, never a torn write.
TEST(storage_faults, checksummed_record_that_breaks_the_log_is_corruption) {
    temp_dir src;
    temp_dir work;
    const auto all = small_log();
    write_log(src.path(), small_segment, all);
    const auto segs = segment_files(src.path());
    const auto last = entries_of_segment(all, segs, segs.size() - 1);
    const uint64_t start = record_offsets(last).back();
    const std::string data = work.sub("data");
    const std::string seg = data + "/log/" + std::filesystem::path(segs.back()).filename().string();

    raft::entry skipped = all.back();
    skipped.index = skipped.index + 3;
    raft::entry regressed = all.back();
    regressed.term = term_id{0};
    for (const raft::entry& bad : {skipped, regressed}) {
        copy_dir(src.path(), data);
        std::string bytes = read_bytes(seg).substr(0, start);
        format::append_record(bytes, bad);
        write_bytes(seg, bytes);
        expect_corrupt(data, small_segment, seg, start);
        ASSERT_FALSE(HasFailure());
    }
}

TEST(storage_faults, missing_segment_is_corruption) {
    temp_dir src;
    temp_dir work;
    const auto all = small_log();
    write_log(src.path(), small_segment, all);
    const auto segs = segment_files(src.path());
    const std::string data = work.sub("data");
    auto in_copy = [&](size_t s) {
        return data + "/log/" + std::filesystem::path(segs[s]).filename().string();
    };
    copy_dir(src.path(), data);
    std::filesystem::remove(in_copy(1));
    expect_corrupt(data, small_segment, in_copy(2), 0);

    copy_dir(src.path(), data);
    std::filesystem::remove(in_copy(0));
    auto r = segmented_log::open(options{data, small_segment, nullptr});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), errc::corrupt);
    EXPECT_TRUE(contains(r.error().detail, in_copy(1))) << r.error().detail;
}

// (c) A zeroed 512-byte sector with records after it is corruption, in the
// last segment (found by the forward scan) as in any other.
TEST(storage_faults, zeroed_sector_mid_segment_is_corruption) {
    temp_dir src;
    temp_dir work;
    constexpr uint64_t segment_size = 4096;
    const auto all = make_entries(1, 150, 1, 40);  // 65-byte records, 62 per segment
    write_log(src.path(), segment_size, all);
    const auto segs = segment_files(src.path());
    ASSERT_EQ(segs.size(), 3u);
    const std::string data = work.sub("data");
    for (const size_t s : {size_t{0}, size_t{1}, segs.size() - 1}) {
        const auto held = entries_of_segment(all, segs, s);
        const auto offsets = record_offsets(held);
        const std::string seg = data + "/log/" + std::filesystem::path(segs[s]).filename().string();
        for (const uint64_t sector : {uint64_t{512}, uint64_t{1024}}) {
            SCOPED_TRACE(fmt::format("segment {} sector at {}", s, sector));
            ASSERT_GT(file_size(segs[s]), sector + 512 + 65) << "records must follow the sector";
            // The damage is reported at the record the sector starts in.
            uint64_t expect_at = offsets.front();
            for (const uint64_t off : offsets) {
                if (off <= sector) {
                    expect_at = off;
                }
            }
            copy_dir(src.path(), data);
            zero_range(seg, sector, 512);
            expect_corrupt(data, segment_size, seg, expect_at);
            ASSERT_FALSE(HasFailure());
        }
    }
}

// (c) Zeros at the end of the last segment (preallocation, or sectors that
// never got written) are a torn tail.
TEST(storage_faults, zeros_at_the_end_are_a_torn_tail) {
    temp_dir src;
    temp_dir work;
    constexpr uint64_t segment_size = 4096;
    const auto all = make_entries(1, 150, 1, 40);
    write_log(src.path(), segment_size, all);
    const auto segs = segment_files(src.path());
    const auto held = entries_of_segment(all, segs, segs.size() - 1);
    const auto offsets = record_offsets(held);
    const uint64_t end = file_size(segs.back());
    const std::string data = work.sub("data");
    const std::string seg = data + "/log/" + std::filesystem::path(segs.back()).filename().string();

    // Zeros appended after the last record: nothing is lost.
    copy_dir(src.path(), data);
    write_bytes(seg, read_bytes(seg) + std::string(4096, '\0'));
    expect_recovers_to(data, segment_size, all);
    ASSERT_FALSE(HasFailure());

    // The last sectors zeroed: the records they touch are lost.
    for (const uint64_t from : {uint64_t{512}, uint64_t{1024}, end - 512}) {
        SCOPED_TRACE(fmt::format("zeroed from {}", from));
        copy_dir(src.path(), data);
        zero_range(seg, from, end - from);
        uint64_t whole = 0;
        for (size_t r = 0; r < held.size(); ++r) {
            if (offsets[r] + 65 <= from) {
                ++whole;
            }
        }
        expect_recovers_to(data, segment_size, prefix(all, segment_first(segs.back()) - 1 + whole));
        ASSERT_FALSE(HasFailure());
    }
}

// (d) A crash loses exactly what was not synced, whatever junk the lost
// writes leave behind, and the log continues.
TEST(storage_faults, crash_drops_exactly_the_unsynced_appends) {
    const auto all = make_entries(1, 15, 2);
    const uint64_t record = record_bytes(all[10]);
    struct crash_case {
        crash_tail tail;
        uint64_t n;
        uint64_t survivors;
    };
    std::vector<crash_case> cases = {{crash_tail::none, 0, 10},
                                     {crash_tail::garbage, 3, 10},
                                     {crash_tail::garbage, 100, 10},
                                     {crash_tail::zeros, 512, 10},
                                     {crash_tail::partial, record, 11}};
    for (uint64_t n = 1; n < record; ++n) {
        cases.push_back({crash_tail::partial, n, 10});
    }
    for (const crash_case& c : cases) {
        SCOPED_TRACE(fmt::format("tail {} n {}", static_cast<int>(c.tail), c.n));
        temp_dir dir;
        auto fs = std::make_shared<fault_file_ops>(errc::io_error);
        {
            auto log = open_ok(dir.path(), 4096, fs);
            ASSERT_TRUE(log);
            ASSERT_TRUE(log->append(prefix(all, 4)));
            ASSERT_TRUE(log->append(std::vector<raft::entry>(all.begin() + 4, all.begin() + 10)));
            ASSERT_TRUE(log->sync());
            ASSERT_TRUE(log->append(std::vector<raft::entry>(all.begin() + 10, all.begin() + 13)));
            ASSERT_TRUE(log->append(std::vector<raft::entry>(all.begin() + 13, all.end())));
            EXPECT_EQ(log->last_index(), log_index{15});
        }
        fs->crash(c.tail, c.n, static_cast<uint32_t>(c.n));
        expect_recovers_to(dir.path(), 4096, prefix(all, c.survivors));
        ASSERT_FALSE(HasFailure());
    }
}

// Starting a segment syncs the one before it, so appends that filled whole
// segments survive a crash even without sync(); the last segment loses its
// unsynced records.
TEST(storage_faults, crash_across_segment_rolls_keeps_sealed_segments) {
    temp_dir dir;
    auto fs = std::make_shared<fault_file_ops>(errc::io_error);
    const auto all = small_log();
    {
        auto log = open_ok(dir.path(), small_segment, fs);
        ASSERT_TRUE(log);
        ASSERT_TRUE(log->append(prefix(all, 2)));
        ASSERT_TRUE(log->sync());
        ASSERT_TRUE(log->append(std::vector<raft::entry>(all.begin() + 2, all.end())));
    }
    const auto segs = segment_files(dir.path());
    ASSERT_EQ(segs.size(), 4u);
    fs->crash(crash_tail::garbage, 64);
    EXPECT_EQ(file_size(segs.back()), header_bytes + 64) << "header synced, records lost";
    expect_recovers_to(dir.path(), small_segment, prefix(all, 9));
}

// A suffix truncation is durable at once (so stale records never reappear);
// the replacing entries are not, until sync().
TEST(storage_faults, crash_after_a_suffix_truncation) {
    temp_dir dir;
    auto fs = std::make_shared<fault_file_ops>(errc::io_error);
    const auto all = small_log();
    {
        auto log = open_ok(dir.path(), small_segment, fs);
        ASSERT_TRUE(log);
        ASSERT_TRUE(log->append(all));
        ASSERT_TRUE(log->sync());
        ASSERT_TRUE(log->append(make_entries(5, 6, 9)));
    }
    fs->crash(crash_tail::garbage, 30);
    expect_recovers_to(dir.path(), small_segment, prefix(all, 4));
}

// (d) Hard state: set but not synced is lost; commit alone is not written.
TEST(storage_faults, crash_loses_the_unsynced_hard_state) {
    temp_dir dir;
    auto fs = std::make_shared<fault_file_ops>(errc::io_error);
    const raft::hard_state synced{term_id{1}, node_id{1}, log_index{2}};
    auto reopen = [&]() {
        auto log = open_ok(dir.path(), 4096, fs);
        EXPECT_TRUE(log);
        return log;
    };
    {
        auto log = reopen();
        ASSERT_TRUE(log);
        ASSERT_TRUE(log->append(make_entries(1, 5, 1)));
        ASSERT_TRUE(log->set_hard_state(synced));
        ASSERT_TRUE(log->sync());
        ASSERT_TRUE(log->set_hard_state({term_id{2}, node_id{2}, log_index{5}}));
    }
    fs->crash();
    {
        auto log = reopen();
        ASSERT_TRUE(log);
        EXPECT_EQ(log->initial_hard_state(), synced);
        ASSERT_TRUE(log->set_hard_state({term_id{1}, node_id{1}, log_index{5}}));
        ASSERT_TRUE(log->sync());
    }
    fs->crash();
    {
        auto log = reopen();
        ASSERT_TRUE(log);
        EXPECT_EQ(log->initial_hard_state(), synced) << "commit alone is not persisted";
        ASSERT_TRUE(log->set_hard_state({term_id{2}, node_id{1}, log_index{5}}));
        ASSERT_TRUE(log->sync());
    }
    fs->crash();
    auto log = reopen();
    ASSERT_TRUE(log);
    EXPECT_EQ(log->initial_hard_state(), (raft::hard_state{term_id{2}, node_id{1}, log_index{5}}));
}

TEST(storage_faults, leftover_hard_state_temp_file_is_ignored) {
    temp_dir dir;
    const raft::hard_state hs{term_id{4}, node_id{3}, log_index{2}};
    write_log(dir.path(), 4096, make_entries(1, 3, 4), hs);
    // A complete, valid temp file whose rename never happened is still not
    // the hard state.
    const std::string tmp = dir.sub("hard_state.tmp");
    write_bytes(tmp, format::encode_hard_state({term_id{9}, node_id{9}, log_index{3}}));
    {
        auto log = open_ok(dir.path(), 4096);
        ASSERT_TRUE(log);
        EXPECT_EQ(log->initial_hard_state(), hs);
    }
    EXPECT_FALSE(std::filesystem::exists(tmp));
    write_bytes(tmp, "torn");
    auto log = open_ok(dir.path(), 4096);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->initial_hard_state(), hs);
}

// After a failed fsync the page cache cannot be trusted: the log refuses
// further writes until reopened, and recovery finds what was synced.
TEST(storage_faults, failed_sync_fails_the_log) {
    temp_dir dir;
    auto fs = std::make_shared<fault_file_ops>(errc::io_error);
    const auto all = make_entries(1, 9, 1);
    {
        auto log = open_ok(dir.path(), 4096, fs);
        ASSERT_TRUE(log);
        ASSERT_TRUE(log->append(prefix(all, 5)));
        ASSERT_TRUE(log->sync());
        ASSERT_TRUE(log->append(std::vector<raft::entry>(all.begin() + 5, all.begin() + 8)));
        fs->fail_next_sync();
        auto r = log->sync();
        ASSERT_FALSE(r);
        EXPECT_EQ(r.code(), errc::io_error);
        EXPECT_TRUE(contains(r.error().detail, segment_files(dir.path()).back()))
            << r.error().detail;
        EXPECT_EQ(log->append(std::vector<raft::entry>{all[8]}).code(), errc::io_error);
        EXPECT_EQ(log->set_hard_state({term_id{1}, node_id{1}, log_index{1}}).code(),
                  errc::io_error);
        EXPECT_EQ(log->sync().code(), errc::io_error) << "the retry must not report success";
        EXPECT_EQ(log->create_snapshot(log_index{3}, {}, "x").code(), errc::io_error);
        EXPECT_EQ(log->last_index(), log_index{8});
    }
    fs->crash();
    expect_recovers_to(dir.path(), 4096, prefix(all, 5));
}

// Random workloads of appends, conflicting appends, syncs, snapshots and hard
// states, crashed at the end: recovery yields a prefix of the log at the
// crash that holds every entry that was synced and not since replaced.
TEST(storage_faults, random_workloads_survive_crashes) {
    for (uint32_t seed = 1; seed <= 40; ++seed) {
        SCOPED_TRACE(fmt::format("seed {}", seed));
        std::mt19937 rng(seed);
        temp_dir dir;
        auto fs = std::make_shared<fault_file_ops>(errc::io_error);
        std::vector<raft::entry> log_model;  // the whole log from index 1
        uint64_t durable = 0;                // entries 1..durable must survive
        uint64_t snap = 0;
        uint64_t commit = 0;
        uint64_t term = 1;
        {
            auto log = open_ok(dir.path(), 200, fs);
            ASSERT_TRUE(log);
            const int steps = 20 + static_cast<int>(rng() % 40);
            for (int step = 0; step < steps; ++step) {
                const uint32_t op = rng() % 10;
                if (op < 6) {
                    uint64_t from = log_model.size() + 1;
                    const uint64_t floor = std::max(snap, commit);
                    if (rng() % 4 == 0 && log_model.size() > floor) {
                        from = floor + 1 + rng() % (log_model.size() - floor);
                        ++term;
                        durable = std::min(durable, from - 1);
                    }
                    const auto es = make_entries(from, from + rng() % 5, term, 1 + rng() % 60);
                    ASSERT_TRUE(log->append(es));
                    log_model.resize(from - 1);
                    log_model.insert(log_model.end(), es.begin(), es.end());
                } else if (op < 8) {
                    ASSERT_TRUE(log->sync());
                    durable = log_model.size();
                } else if (op == 8) {
                    if (durable > snap) {
                        snap = snap + 1 + rng() % (durable - snap);
                        commit = std::max(commit, snap);
                        ASSERT_TRUE(log->create_snapshot(log_index{snap}, {}, "s"));
                    }
                } else {
                    ASSERT_TRUE(log->sync());
                    durable = log_model.size();
                    commit = std::max(commit, durable / 2);
                    ASSERT_TRUE(
                        log->set_hard_state({term_id{term}, node_id{1}, log_index{commit}}));
                    ASSERT_TRUE(log->sync());
                }
            }
        }
        const auto tail = static_cast<crash_tail>(rng() % 4);
        fs->crash(tail, rng() % 100, seed);
        auto log = open_ok(dir.path(), 200);
        ASSERT_TRUE(log);
        EXPECT_EQ(log->snapshot_metadata().index, log_index{snap});
        ASSERT_GE(log->last_index().value(), std::max(durable, snap));
        ASSERT_LE(log->last_index().value(), std::max<uint64_t>(log_model.size(), snap));
        ASSERT_EQ(all_entries(*log),
                  std::vector<raft::entry>(
                      log_model.begin() + static_cast<std::ptrdiff_t>(snap),
                      log_model.begin() + static_cast<std::ptrdiff_t>(log->last_index().value())));
        const uint64_t next = log->last_index().value() + 1;
        ASSERT_TRUE(log->append(make_entries(next, next + 2, term + 1)));
        ASSERT_TRUE(log->sync());
        log.reset();
        log = open_ok(dir.path(), 200);
        ASSERT_TRUE(log);
        EXPECT_EQ(log->last_index().value(), next + 2);
    }
}

// (e) The hard state file's checksum catches any flipped bit; a torn file
// cannot occur (it is replaced by rename) and is corruption too.
TEST(storage_faults, corrupt_hard_state_is_detected) {
    temp_dir dir;
    write_log(dir.path(), 4096, make_entries(1, 3, 4), {term_id{4}, node_id{3}, log_index{2}});
    const std::string path = dir.sub("hard_state");
    const std::string good = read_bytes(path);
    ASSERT_EQ(good.size(), 36u);
    auto expect_bad = [&]() {
        auto r = segmented_log::open(options{dir.path(), 4096, nullptr});
        ASSERT_FALSE(r);
        EXPECT_EQ(r.code(), errc::corrupt);
        EXPECT_TRUE(contains(r.error().detail, path)) << r.error().detail;
    };
    for (uint64_t bit = 0; bit < good.size() * 8; ++bit) {
        SCOPED_TRACE(fmt::format("bit {}", bit));
        write_bytes(path, good);
        flip_bit(path, bit);
        expect_bad();
        ASSERT_FALSE(HasFailure());
    }
    for (uint64_t size = 0; size < good.size(); ++size) {
        SCOPED_TRACE(fmt::format("size {}", size));
        write_bytes(path, good.substr(0, size));
        expect_bad();
        ASSERT_FALSE(HasFailure());
    }
    write_bytes(path, good + "x");
    expect_bad();
}

// Losing a synced, committed entry is not a torn tail to shrug off: the hard
// state's commit index proves it was acknowledged.
TEST(storage_faults, lost_committed_entries_are_corruption) {
    temp_dir dir;
    write_log(dir.path(), 4096, make_entries(1, 10, 1), {term_id{1}, node_id{1}, log_index{10}});
    const auto segs = segment_files(dir.path());
    truncate_file(segs.back(), file_size(segs.back()) - 1);
    auto r = segmented_log::open(options{dir.path(), 4096, nullptr});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), errc::corrupt);
    EXPECT_TRUE(contains(r.error().detail, dir.sub("hard_state"))) << r.error().detail;
    EXPECT_EQ(file_size(segs.back()), file_size(segs.back())) << "nothing repaired";
}

// --- write ordering ------------------------------------------------------------
//
// Recovery is only as good as the order in which the log makes things durable.
// These tests pin the exact sequence of mutating file operations.

class storage_ordering : public ::testing::Test {
  protected:
    std::string seg(uint64_t first) const {
        return dir.sub("log/" + format::segment_name(log_index{first}));
    }
    std::string snap(uint64_t index) const {
        return dir.sub("snapshot/" + format::snapshot_name(log_index{index}));
    }
    /// The small log: segments starting at 1, 4, 7 and 10, synced.
    std::unique_ptr<segmented_log> open_small_log() {
        auto log = open_ok(dir.path(), small_segment, fs);
        if (!log) {
            return log;
        }
        EXPECT_TRUE(log->append(small_log()));
        EXPECT_TRUE(log->sync());
        fs->clear_journal();
        return log;
    }

    temp_dir dir;
    std::shared_ptr<fault_file_ops> fs = std::make_shared<fault_file_ops>(errc::io_error);
};

using journal = std::vector<std::string>;

TEST_F(storage_ordering, sync_makes_the_log_durable_before_the_hard_state) {
    auto log = open_ok(dir.path(), 4096, fs);
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->append(make_entries(1, 3, 1)));
    ASSERT_TRUE(log->set_hard_state({term_id{1}, node_id{1}, log_index{0}}));
    fs->clear_journal();
    ASSERT_TRUE(log->sync());
    const std::string hs = dir.sub("hard_state");
    EXPECT_EQ(fs->journal(), (journal{"datasync " + seg(1), "create " + hs + ".tmp",
                                      "write " + hs + ".tmp 0 36", "sync " + hs + ".tmp",
                                      "rename " + hs + ".tmp " + hs, "sync_dir " + dir.path()}));
}

TEST_F(storage_ordering, a_segment_is_sealed_and_its_successor_durable_before_records) {
    auto log = open_ok(dir.path(), small_segment, fs);
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->append(make_entries(1, 2, 1)));
    fs->clear_journal();
    ASSERT_TRUE(log->append(make_entries(3, 5, 1)));
    EXPECT_EQ(fs->journal(),
              (journal{"write " + seg(1) + " 114 45", "datasync " + seg(1), "create " + seg(4),
                       "write " + seg(4) + " 0 24", "datasync " + seg(4),
                       "sync_dir " + dir.sub("log"), "write " + seg(4) + " 24 90"}));
}

TEST_F(storage_ordering, suffix_truncation_is_durable_before_new_records) {
    auto log = open_small_log();
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->append(make_entries(5, 6, 9)));
    const std::string log_dir = dir.sub("log");
    EXPECT_EQ(fs->journal(),
              (journal{"remove " + seg(10), "sync_dir " + log_dir, "remove " + seg(7),
                       "sync_dir " + log_dir, "open " + seg(4), "truncate " + seg(4) + " 69",
                       "sync " + seg(4), "write " + seg(4) + " 69 90"}));
}

TEST_F(storage_ordering, snapshot_is_durable_before_what_it_replaces_is_removed) {
    auto log = open_small_log();
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->create_snapshot(log_index{7}, {}, "s"));
    const std::string log_dir = dir.sub("log");
    const std::string snap_dir = dir.sub("snapshot");
    auto write_snap = [&](uint64_t index) {
        const std::string tmp = snap(index) + ".tmp";
        return journal{"create " + tmp,
                       "write " + tmp + " 0 40",
                       "write " + tmp + " 40 1",
                       "write " + tmp + " 41 4",
                       "sync " + tmp,
                       "rename " + tmp + " " + snap(index),
                       "sync_dir " + snap_dir};
    };
    journal want = write_snap(7);
    want.insert(want.end(), {"remove " + seg(1), "remove " + seg(4), "sync_dir " + log_dir});
    EXPECT_EQ(fs->journal(), want);

    fs->clear_journal();
    ASSERT_TRUE(log->create_snapshot(log_index{10}, {}, "s"));
    want = write_snap(10);
    want.insert(want.end(), {"remove " + snap(7), "sync_dir " + snap_dir, "remove " + seg(7),
                             "sync_dir " + log_dir});
    EXPECT_EQ(fs->journal(), want);
}

TEST_F(storage_ordering, install_snapshot_removes_segments_newest_first) {
    auto log = open_small_log();
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->install_snapshot({{log_index{100}, term_id{9}, {}}, "s"}));
    const std::string tmp = snap(100) + ".tmp";
    const std::string log_dir = dir.sub("log");
    EXPECT_EQ(
        fs->journal(),
        (journal{"create " + tmp, "write " + tmp + " 0 40", "write " + tmp + " 40 1",
                 "write " + tmp + " 41 4", "sync " + tmp, "rename " + tmp + " " + snap(100),
                 "sync_dir " + dir.sub("snapshot"), "remove " + seg(10), "sync_dir " + log_dir,
                 "remove " + seg(7), "sync_dir " + log_dir, "remove " + seg(4),
                 "sync_dir " + log_dir, "remove " + seg(1), "sync_dir " + log_dir}));
}

// (e) Membership survives a crash at any instant. A member acts on a
// configuration once advance() applies its entry, and a restarted member
// rebuilds its voters from the snapshot plus the committed entries it finds on
// disk; so the durable commit must cover every change applied before the
// crash, even when no term or vote changed since (the bug: a founder restarted
// with the voter set of the last election and never elected a leader again).
TEST(storage_faults, membership_applied_before_a_crash_is_rebuilt) {
    temp_dir dir;
    auto fs = std::make_shared<fault_file_ops>(errc::io_error);
    raft::config cfg;
    cfg.id = node_id{1};
    cfg.bootstrap_voters = {node_id{1}};
    auto drive = [](raft::node& n, raft::storage& log) {
        while (n.has_ready()) {
            raft::ready rd = n.take_ready();
            if (!rd.entries.empty()) {
                ASSERT_TRUE(log.append(rd.entries));
            }
            if (rd.hard_state) {
                ASSERT_TRUE(log.set_hard_state(*rd.hard_state));
            }
            if (rd.must_sync) {
                ASSERT_TRUE(log.sync());
            }
            n.advance(rd);
        }
    };
    const raft::conf_state want{{node_id{1}}, {node_id{2}, node_id{3}}};
    {
        auto log = open_ok(dir.path(), 4096, fs);
        ASSERT_TRUE(log);
        raft::node n(cfg, *log);
        drive(n, *log);
        for (int i = 0; i < 30 && n.current_role() != raft::role::leader; ++i) {
            n.tick();
            drive(n, *log);
        }
        ASSERT_EQ(n.current_role(), raft::role::leader);
        // Two membership changes, each with normal writes after it: the term
        // and vote do not change from here on.
        for (uint64_t learner : {2, 3}) {
            ASSERT_TRUE(n.propose_conf_change(
                raft::conf_change{raft::conf_change_type::add_learner, node_id{learner}, {}}));
            drive(n, *log);
            ASSERT_TRUE(n.propose({"a", "b"}));
            drive(n, *log);
        }
        ASSERT_EQ(n.conf(), want);
    }
    fs->crash();
    auto log = open_ok(dir.path(), 4096, fs);
    ASSERT_TRUE(log);
    raft::node restarted(cfg, *log);
    EXPECT_EQ(restarted.conf(), want);
}

raft::entry entry_at(uint64_t index, uint64_t term) {
    raft::entry e;
    e.index = log_index{index};
    e.term = term_id{term};
    e.data = std::string(40, static_cast<char>('a' + index % 26));
    return e;
}

// The durable log over the simulations' in-memory disk (common/fs): what sync() returned for
// survives a crash with any tail; what it did not, does not.
TEST(memory_file_ops, segmented_log_recovers_what_it_synced) {
    for (crash_tail tail :
         {crash_tail::none, crash_tail::garbage, crash_tail::zeros, crash_tail::partial}) {
        auto fs = std::make_shared<memory_file_ops>(errc::io_error);
        options o;
        o.dir = "/data";
        o.segment_size = 200;  // a few entries per segment
        o.fs = fs;
        {
            auto lg = segmented_log::open(o);
            ASSERT_TRUE(lg.has_value()) << lg.error().message();
            for (uint64_t i = 1; i <= 10; ++i) {
                const raft::entry e = entry_at(i, 1);
                ASSERT_TRUE((*lg)->append(std::span<const raft::entry>(&e, 1)));
            }
            ASSERT_TRUE((*lg)->set_hard_state({term_id{1}, node_id{2}, log_index{10}}));
            ASSERT_TRUE((*lg)->sync());
            for (uint64_t i = 11; i <= 13; ++i) {
                const raft::entry e = entry_at(i, 2);
                ASSERT_TRUE((*lg)->append(std::span<const raft::entry>(&e, 1)));
            }
        }
        fs->crash(tail, 30, 7);
        auto lg = segmented_log::open(o);
        ASSERT_TRUE(lg.has_value()) << lg.error().message();
        EXPECT_GE((*lg)->last_index(), log_index{10});
        EXPECT_LE((*lg)->last_index(), log_index{13});
        EXPECT_EQ((*lg)->initial_hard_state().term, term_id{1});
        EXPECT_EQ((*lg)->initial_hard_state().vote, node_id{2});
        auto ents = (*lg)->entries(log_index{1}, log_index{11}, UINT64_MAX);
        ASSERT_TRUE(ents.has_value());
        ASSERT_EQ(ents->size(), 10u);
        for (uint64_t i = 1; i <= 10; ++i) {
            EXPECT_EQ((*ents)[i - 1], entry_at(i, 1));
        }
    }
}

}  // namespace
}  // namespace fjord::storage::testing
