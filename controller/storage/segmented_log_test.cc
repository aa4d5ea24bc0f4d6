// File: controller/storage/segmented_log_test.cc
//
// Functional tests of segmented_log: the raft::storage contract, round trips
// through reopen, suffix truncation across segments, group commit, hard state
// and snapshots (creation, compaction on disk, install, corruption).
// Crash and disk-fault behaviour is in storage_fault_test.cc.

#include <gtest/gtest.h>

#include <cstdlib>

#include "common/log.h"
#include "controller/raft/errc.h"
#include "controller/storage/format.h"
#include "controller/storage/segmented_log.h"
#include "controller/storage/storage_test_util.h"

namespace fjord::storage::testing {
namespace {

using raft::errc;

// Recovery warns about every torn tail, and these tests make hundreds; run
// with FJORD_LOG=warn to see them.
[[maybe_unused]] const bool quiet_logs = [] {
    if (std::getenv("FJORD_LOG") == nullptr) {
        set_log_level(log_level::error);
    }
    return true;
}();

raft::conf_state test_conf() {
    return raft::conf_state{{node_id{1}, node_id{2}, node_id{3}}, {node_id{9}}};
}

void expect_log(const segmented_log& log, const std::vector<raft::entry>& want) {
    ASSERT_FALSE(want.empty());
    EXPECT_EQ(log.first_index(), want.front().index);
    EXPECT_EQ(log.last_index(), want.back().index);
    EXPECT_EQ(all_entries(log), want);
    for (const raft::entry& e : want) {
        auto t = log.term(e.index);
        ASSERT_TRUE(t) << t.error().message();
        EXPECT_EQ(*t, e.term) << "index " << e.index;
    }
}

TEST(segmented_log, fresh_log_is_empty) {
    temp_dir dir;
    auto log = open_ok(dir.path(), 4096);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->first_index(), log_index{1});
    EXPECT_EQ(log->last_index(), log_index{0});
    EXPECT_TRUE(log->initial_hard_state().empty());
    EXPECT_EQ(log->snapshot_metadata(), raft::snapshot_meta{});
    auto t0 = log->term(log_index{0});
    ASSERT_TRUE(t0);
    EXPECT_EQ(*t0, term_id{0});
    EXPECT_EQ(log->term(log_index{1}).code(), errc::unavailable);
    auto none = log->entries(log_index{1}, log_index{1}, 100);
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
    EXPECT_EQ(log->entries(log_index{1}, log_index{2}, 100).code(), errc::unavailable);
    EXPECT_EQ(log->entries(log_index{0}, log_index{1}, 100).code(), errc::compacted);
    auto snap = log->load_snapshot();
    ASSERT_TRUE(snap);
    EXPECT_TRUE(snap->empty());
    EXPECT_TRUE(log->sync());
    EXPECT_TRUE(segment_files(dir.path()).empty());
    EXPECT_FALSE(std::filesystem::exists(log->hard_state_path()));
}

TEST(segmented_log, round_trip_across_segments) {
    temp_dir dir;
    constexpr uint64_t segment_size = 512;
    std::vector<raft::entry> want;
    const raft::hard_state hs{term_id{9}, node_id{2}, log_index{80}};
    {
        auto log = open_ok(dir.path(), segment_size);
        ASSERT_TRUE(log);
        uint64_t next = 1;
        for (uint64_t batch = 1; next <= 100; batch = batch % 7 + 1) {
            std::vector<raft::entry> es;
            for (uint64_t k = 0; k < batch && next <= 100; ++k, ++next) {
                es.push_back(make_entry(next, 1 + next / 12, 5 + next % 40));
            }
            ASSERT_TRUE(log->append(es));
            want.insert(want.end(), es.begin(), es.end());
        }
        ASSERT_TRUE(log->set_hard_state(hs));
        ASSERT_TRUE(log->sync());
        expect_log(*log, want);
        EXPECT_EQ(log->initial_hard_state(), hs);
    }
    const auto segs = segment_files(dir.path());
    ASSERT_GE(segs.size(), 8u);
    EXPECT_EQ(segment_first(segs.front()), 1u);
    for (size_t i = 0; i < segs.size(); ++i) {
        // A segment is closed before the next record would take it past the
        // limit, and every record is in exactly the segment its name implies.
        EXPECT_LE(file_size(segs[i]), segment_size) << segs[i];
        const auto held = entries_of_segment(want, segs, i);
        ASSERT_FALSE(held.empty());
        uint64_t expect_size = header_bytes;
        for (const raft::entry& e : held) {
            expect_size += record_bytes(e);
        }
        EXPECT_EQ(file_size(segs[i]), expect_size) << segs[i];
    }
    auto log = open_ok(dir.path(), segment_size);
    ASSERT_TRUE(log);
    expect_log(*log, want);
    EXPECT_EQ(log->initial_hard_state(), hs);
}

TEST(segmented_log, reopen_with_other_segment_size_continues) {
    temp_dir dir;
    auto want = make_entries(1, 30, 1);
    {
        auto log = open_ok(dir.path(), 256);
        ASSERT_TRUE(log);
        ASSERT_TRUE(log->append(want));
        ASSERT_TRUE(log->sync());
    }
    auto log = open_ok(dir.path(), 1 << 20);
    ASSERT_TRUE(log);
    const auto more = make_entries(31, 40, 2);
    ASSERT_TRUE(log->append(more));
    ASSERT_TRUE(log->sync());
    want.insert(want.end(), more.begin(), more.end());
    log.reset();
    log = open_ok(dir.path(), 256);
    ASSERT_TRUE(log);
    expect_log(*log, want);
}

TEST(segmented_log, group_commit_syncs_once_per_touched_segment) {
    temp_dir dir;
    auto fs = std::make_shared<fault_file_ops>(errc::io_error);
    auto log = open_ok(dir.path(), 1 << 20, fs);
    ASSERT_TRUE(log);
    for (uint64_t i = 1; i <= 50; ++i) {
        ASSERT_TRUE(log->append(make_entries(i, i, 1)));
    }
    const uint64_t before = fs->total_syncs();
    ASSERT_TRUE(log->sync());
    const auto segs = segment_files(dir.path());
    ASSERT_EQ(segs.size(), 1u);
    EXPECT_EQ(fs->total_syncs() - before, 1u) << "50 appends, one fdatasync";
    // Nothing new: nothing to sync.
    ASSERT_TRUE(log->sync());
    EXPECT_EQ(fs->total_syncs() - before, 1u);
    // Commit alone does not rewrite the hard state (entries 1-6 are normal
    // ones; every 7th is a membership change); term does (file + rename).
    ASSERT_TRUE(log->set_hard_state({term_id{0}, no_node, log_index{6}}));
    ASSERT_TRUE(log->sync());
    EXPECT_EQ(fs->total_syncs() - before, 1u);
    ASSERT_TRUE(log->set_hard_state({term_id{1}, node_id{1}, log_index{6}}));
    ASSERT_TRUE(log->sync());
    EXPECT_EQ(fs->syncs(log->hard_state_path() + ".tmp"), 1u);
}

TEST(segmented_log, append_replaces_suffix_across_segments) {
    temp_dir dir;
    constexpr uint64_t segment_size = 256;
    auto want = make_entries(1, 60, 1);
    {
        auto log = open_ok(dir.path(), segment_size);
        ASSERT_TRUE(log);
        ASSERT_TRUE(log->append(want));
        ASSERT_TRUE(log->sync());
        const auto before = segment_files(dir.path());
        ASSERT_GE(before.size(), 6u);

        // Cut in the middle of the second segment.
        const uint64_t cut = segment_first(before[1]) + 2;
        auto repl = make_entries(cut, cut + 1, 2);
        ASSERT_TRUE(log->append(repl));
        want.resize(cut - 1);
        want.insert(want.end(), repl.begin(), repl.end());
        expect_log(*log, want);
        const auto after = segment_files(dir.path());
        ASSERT_EQ(after.size(), 2u) << "later segments are deleted at once";
        EXPECT_EQ(after[0], before[0]);
        EXPECT_EQ(after[1], before[1]);
        ASSERT_TRUE(log->sync());
    }
    {
        auto log = open_ok(dir.path(), segment_size);
        ASSERT_TRUE(log);
        expect_log(*log, want);
        // Cut exactly at a segment's first entry.
        const auto segs = segment_files(dir.path());
        const uint64_t cut = segment_first(segs[1]);
        auto repl = make_entries(cut, cut + 20, 3);
        ASSERT_TRUE(log->append(repl));
        want.resize(cut - 1);
        want.insert(want.end(), repl.begin(), repl.end());
        ASSERT_TRUE(log->sync());
        expect_log(*log, want);
    }
    {
        auto log = open_ok(dir.path(), segment_size);
        ASSERT_TRUE(log);
        expect_log(*log, want);
        // Cut inside the last segment, then replace the whole log.
        const uint64_t last = log->last_index().value();
        auto repl = make_entries(last, last + 3, 4);
        ASSERT_TRUE(log->append(repl));
        want.resize(last - 1);
        want.insert(want.end(), repl.begin(), repl.end());
        ASSERT_TRUE(log->sync());
        expect_log(*log, want);
        want = make_entries(1, 5, 5);
        ASSERT_TRUE(log->append(want));
        ASSERT_TRUE(log->sync());
        expect_log(*log, want);
        EXPECT_EQ(segment_files(dir.path()).size(), 1u);
    }
    auto log = open_ok(dir.path(), segment_size);
    ASSERT_TRUE(log);
    expect_log(*log, want);
}

TEST(segmented_log, append_rejects_bad_input_without_writing) {
    temp_dir dir;
    auto log = open_ok(dir.path(), 4096);
    ASSERT_TRUE(log);
    auto want = make_entries(1, 10, 2);
    ASSERT_TRUE(log->append(want));

    auto gap = log->append(make_entries(12, 13, 2));
    EXPECT_EQ(gap.code(), errc::unavailable);
    std::vector<raft::entry> skip = {make_entry(11, 2), make_entry(13, 2)};
    EXPECT_EQ(log->append(skip).code(), errc::malformed);
    std::vector<raft::entry> regress = {make_entry(11, 3), make_entry(12, 2)};
    EXPECT_EQ(log->append(regress).code(), errc::malformed);
    EXPECT_EQ(log->append(make_entries(11, 12, 1)).code(), errc::malformed)
        << "term below the previous entry's";
    raft::entry bad_type = make_entry(11, 2);
    bad_type.type = static_cast<raft::entry_type>(9);
    EXPECT_EQ(log->append(std::vector<raft::entry>{bad_type}).code(), errc::malformed);
    EXPECT_TRUE(log->append(std::vector<raft::entry>{}));
    expect_log(*log, want);

    ASSERT_TRUE(log->create_snapshot(log_index{6}, test_conf(), "s6"));
    EXPECT_EQ(log->append(make_entries(6, 7, 3)).code(), errc::compacted);
    EXPECT_EQ(log->append(make_entries(2, 3, 3)).code(), errc::compacted);
    // Still writable: rejections do not fail the log.
    ASSERT_TRUE(log->append(make_entries(7, 8, 3)));
    ASSERT_TRUE(log->sync());
    expect_log(*log, make_entries(7, 8, 3));
}

TEST(segmented_log, entries_and_term_bounds) {
    temp_dir dir;
    auto log = open_ok(dir.path(), 4096);
    ASSERT_TRUE(log);
    const auto es = make_entries(1, 10, 1, 76);  // byte_size() 100 each
    ASSERT_TRUE(log->append(es));
    auto one = log->entries(log_index{3}, log_index{8}, 0);
    ASSERT_TRUE(one);
    ASSERT_EQ(one->size(), 1u) << "always at least one entry";
    EXPECT_EQ(one->front(), es[2]);
    auto three = log->entries(log_index{3}, log_index{8}, 350);
    ASSERT_TRUE(three);
    EXPECT_EQ(three->size(), 3u);
    auto exact = log->entries(log_index{3}, log_index{8}, 300);
    ASSERT_TRUE(exact);
    EXPECT_EQ(exact->size(), 3u);
    auto all = log->entries(log_index{3}, log_index{8}, UINT64_MAX);
    ASSERT_TRUE(all);
    EXPECT_EQ(*all, std::vector<raft::entry>(es.begin() + 2, es.begin() + 7));
    EXPECT_EQ(log->entries(log_index{5}, log_index{12}, 1000).code(), errc::unavailable);

    ASSERT_TRUE(log->create_snapshot(log_index{4}, test_conf(), "s"));
    EXPECT_EQ(log->entries(log_index{4}, log_index{6}, 1000).code(), errc::compacted);
    EXPECT_EQ(log->term(log_index{3}).code(), errc::compacted);
    EXPECT_EQ(log->term(log_index{11}).code(), errc::unavailable);
    auto t4 = log->term(log_index{4});
    ASSERT_TRUE(t4);
    EXPECT_EQ(*t4, term_id{1});
}

TEST(segmented_log, hard_state_round_trip_and_commit_only_updates) {
    temp_dir dir;
    const raft::hard_state first{term_id{3}, node_id{2}, log_index{4}};
    {
        auto log = open_ok(dir.path(), 4096);
        ASSERT_TRUE(log);
        ASSERT_TRUE(log->append(make_entries(1, 10, 3)));
        ASSERT_TRUE(log->set_hard_state(first));
        ASSERT_TRUE(log->sync());
        EXPECT_EQ(log->initial_hard_state(), first);
    }
    const std::string hs_path = dir.sub("hard_state");
    const std::string bytes = read_bytes(hs_path);
    EXPECT_EQ(bytes.size(), 36u);
    {
        auto log = open_ok(dir.path(), 4096);
        ASSERT_TRUE(log);
        EXPECT_EQ(log->initial_hard_state(), first);
        // Commit alone is not written (documented): the file keeps commit 4.
        // Entries 5 and 6 are normal entries (make_entry: every 7th is a
        // membership change).
        ASSERT_TRUE(log->set_hard_state({term_id{3}, node_id{2}, log_index{6}}));
        ASSERT_TRUE(log->sync());
        EXPECT_EQ(read_bytes(hs_path), bytes);
        EXPECT_EQ(log->initial_hard_state(), first);
    }
    {
        auto log = open_ok(dir.path(), 4096);
        ASSERT_TRUE(log);
        // A commit that covers a membership change (entry 7) is written, so a
        // restart rebuilds the voter set this member acts on.
        ASSERT_TRUE(log->set_hard_state({term_id{3}, node_id{2}, log_index{8}}));
        ASSERT_TRUE(log->sync());
        EXPECT_NE(read_bytes(hs_path), bytes);
    }
    {
        auto log = open_ok(dir.path(), 4096);
        ASSERT_TRUE(log);
        EXPECT_EQ(log->initial_hard_state(),
                  (raft::hard_state{term_id{3}, node_id{2}, log_index{8}}));
        // Past it, commit alone is again not written.
        const std::string at8 = read_bytes(hs_path);
        ASSERT_TRUE(log->set_hard_state({term_id{3}, node_id{2}, log_index{9}}));
        ASSERT_TRUE(log->sync());
        EXPECT_EQ(read_bytes(hs_path), at8);
    }
    {
        auto log = open_ok(dir.path(), 4096);
        ASSERT_TRUE(log);
        // A vote change is written, with the latest commit.
        ASSERT_TRUE(log->set_hard_state({term_id{3}, node_id{2}, log_index{8}}));
        ASSERT_TRUE(log->set_hard_state({term_id{4}, no_node, log_index{9}}));
        ASSERT_TRUE(log->sync());
    }
    auto log = open_ok(dir.path(), 4096);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->initial_hard_state(), (raft::hard_state{term_id{4}, no_node, log_index{9}}));
}

TEST(segmented_log, create_snapshot_compacts_memory_and_disk) {
    temp_dir dir;
    constexpr uint64_t segment_size = 256;
    std::vector<raft::entry> want;
    for (uint64_t i = 1; i <= 60; ++i) {
        want.push_back(make_entry(i, 1 + i / 10));
    }
    {
        auto log = open_ok(dir.path(), segment_size);
        ASSERT_TRUE(log);
        ASSERT_TRUE(log->append(want));
        ASSERT_TRUE(log->sync());
        const auto before = segment_files(dir.path());
        ASSERT_GE(before.size(), 8u);

        ASSERT_TRUE(log->create_snapshot(log_index{25}, test_conf(), "state@25"));
        EXPECT_EQ(log->first_index(), log_index{26});
        EXPECT_EQ(log->last_index(), log_index{60});
        auto t = log->term(log_index{25});
        ASSERT_TRUE(t);
        EXPECT_EQ(*t, want[24].term);
        EXPECT_EQ(log->term(log_index{24}).code(), errc::compacted);
        EXPECT_EQ(log->entries(log_index{25}, log_index{27}, 100).code(), errc::compacted);
        expect_log(*log, std::vector<raft::entry>(want.begin() + 25, want.end()));

        // On disk: exactly the segments holding an entry above 25 remain.
        const auto after = segment_files(dir.path());
        std::vector<std::string> expected;
        for (size_t i = 0; i < before.size(); ++i) {
            const uint64_t last =
                i + 1 < before.size() ? segment_first(before[i + 1]) - 1 : uint64_t{60};
            if (last > 25) {
                expected.push_back(before[i]);
            }
        }
        EXPECT_EQ(after, expected);
        EXPECT_LT(after.size(), before.size());
        EXPECT_LE(segment_first(after.front()), 26u);
        EXPECT_EQ(files_in(dir.sub("snapshot"), ""),
                  std::vector<std::string>{dir.sub("snapshot/00000000000000000025.snap")});

        auto snap = log->load_snapshot();
        ASSERT_TRUE(snap) << snap.error().message();
        EXPECT_EQ(snap->meta, (raft::snapshot_meta{log_index{25}, want[24].term, test_conf()}));
        EXPECT_EQ(snap->data, "state@25");
    }
    {
        auto log = open_ok(dir.path(), segment_size);
        ASSERT_TRUE(log);
        EXPECT_EQ(log->snapshot_metadata(),
                  (raft::snapshot_meta{log_index{25}, want[24].term, test_conf()}));
        auto t = log->term(log_index{25});
        ASSERT_TRUE(t);
        EXPECT_EQ(*t, want[24].term);
        expect_log(*log, std::vector<raft::entry>(want.begin() + 25, want.end()));

        // A newer snapshot replaces the older file.
        ASSERT_TRUE(log->create_snapshot(log_index{40}, test_conf(), "state@40"));
        EXPECT_EQ(files_in(dir.sub("snapshot"), ""),
                  std::vector<std::string>{dir.sub("snapshot/00000000000000000040.snap")});
        // Snapshotting everything removes every segment; appends start a new one.
        ASSERT_TRUE(log->create_snapshot(log_index{60}, test_conf(), "state@60"));
        EXPECT_EQ(log->first_index(), log_index{61});
        EXPECT_EQ(log->last_index(), log_index{60});
        EXPECT_TRUE(segment_files(dir.path()).empty());
        ASSERT_TRUE(log->append(make_entries(61, 65, 9)));
        ASSERT_TRUE(log->sync());
        EXPECT_EQ(segment_files(dir.path()),
                  std::vector<std::string>{dir.sub("log/00000000000000000061.seg")});
    }
    auto log = open_ok(dir.path(), segment_size);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->snapshot_metadata().index, log_index{60});
    auto t = log->term(log_index{60});
    ASSERT_TRUE(t);
    EXPECT_EQ(*t, want[59].term);
    expect_log(*log, make_entries(61, 65, 9));
    auto snap = log->load_snapshot();
    ASSERT_TRUE(snap);
    EXPECT_EQ(snap->data, "state@60");
}

TEST(segmented_log, create_snapshot_bounds) {
    temp_dir dir;
    auto log = open_ok(dir.path(), 4096);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->create_snapshot(log_index{0}, test_conf(), "x").code(),
              errc::snapshot_out_of_date);
    ASSERT_TRUE(log->append(make_entries(1, 10, 1)));
    EXPECT_EQ(log->create_snapshot(log_index{11}, test_conf(), "x").code(), errc::unavailable);
    ASSERT_TRUE(log->create_snapshot(log_index{5}, test_conf(), "x"));
    EXPECT_EQ(log->create_snapshot(log_index{5}, test_conf(), "y").code(),
              errc::snapshot_out_of_date);
    EXPECT_EQ(log->create_snapshot(log_index{3}, test_conf(), "y").code(),
              errc::snapshot_out_of_date);
    auto snap = log->load_snapshot();
    ASSERT_TRUE(snap);
    EXPECT_EQ(snap->data, "x");
}

TEST(segmented_log, install_snapshot_replaces_the_log) {
    temp_dir dir;
    const raft::snapshot leader{{log_index{100}, term_id{7}, test_conf()}, "leader image"};
    {
        auto log = open_ok(dir.path(), 256);
        ASSERT_TRUE(log);
        ASSERT_TRUE(log->append(make_entries(1, 30, 2)));
        ASSERT_TRUE(log->sync());
        ASSERT_GT(segment_files(dir.path()).size(), 2u);

        ASSERT_TRUE(log->install_snapshot(leader));
        EXPECT_EQ(log->first_index(), log_index{101});
        EXPECT_EQ(log->last_index(), log_index{100});
        auto t = log->term(log_index{100});
        ASSERT_TRUE(t);
        EXPECT_EQ(*t, term_id{7});
        EXPECT_EQ(log->term(log_index{99}).code(), errc::compacted);
        EXPECT_TRUE(segment_files(dir.path()).empty());
        EXPECT_EQ(log->snapshot_metadata(), leader.meta);

        const raft::snapshot older{{log_index{100}, term_id{7}, test_conf()}, "same index"};
        EXPECT_EQ(log->install_snapshot(older).code(), errc::snapshot_out_of_date);
        const raft::snapshot oldest{{log_index{50}, term_id{7}, test_conf()}, "older"};
        EXPECT_EQ(log->install_snapshot(oldest).code(), errc::snapshot_out_of_date);
        EXPECT_EQ(log->append(make_entries(100, 101, 7)).code(), errc::compacted);

        ASSERT_TRUE(log->append(make_entries(101, 110, 7)));
        ASSERT_TRUE(log->sync());
        EXPECT_EQ(segment_first(segment_files(dir.path()).front()), 101u);
    }
    {
        auto log = open_ok(dir.path(), 256);
        ASSERT_TRUE(log);
        EXPECT_EQ(log->snapshot_metadata(), leader.meta);
        expect_log(*log, make_entries(101, 110, 7));
        auto snap = log->load_snapshot();
        ASSERT_TRUE(snap);
        EXPECT_EQ(snap->meta, leader.meta);
        EXPECT_EQ(snap->data, leader.data);
        // A second install replaces both the log and the previous snapshot file.
        const raft::snapshot newer{{log_index{200}, term_id{8}, test_conf()}, "newer"};
        ASSERT_TRUE(log->install_snapshot(newer));
        EXPECT_EQ(files_in(dir.sub("snapshot"), ""),
                  std::vector<std::string>{dir.sub("snapshot/00000000000000000200.snap")});
    }
    auto log = open_ok(dir.path(), 256);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->first_index(), log_index{201});
    EXPECT_EQ(log->last_index(), log_index{200});
}

TEST(segmented_log, corrupt_snapshot_is_detected_on_open) {
    temp_dir dir;
    {
        auto log = open_ok(dir.path(), 4096);
        ASSERT_TRUE(log);
        ASSERT_TRUE(log->append(make_entries(1, 10, 1)));
        ASSERT_TRUE(log->create_snapshot(log_index{8}, test_conf(), std::string(100, 'S')));
    }
    const std::string snap = dir.sub("snapshot/00000000000000000008.snap");
    const std::string good = read_bytes(snap);
    const uint64_t bits = good.size() * 8;
    // Every region: header, voter ids, data, trailer.
    for (uint64_t bit = 0; bit < bits; bit += 13) {
        write_bytes(snap, good);
        flip_bit(snap, bit);
        auto r = segmented_log::open(options{dir.path(), 4096, nullptr});
        ASSERT_FALSE(r) << "bit " << bit;
        EXPECT_EQ(r.code(), errc::corrupt) << "bit " << bit;
        EXPECT_TRUE(contains(r.error().detail, snap)) << r.error().detail;
    }
    for (uint64_t size : {uint64_t{0}, uint64_t{10}, good.size() - 1}) {
        write_bytes(snap, good.substr(0, size));
        auto r = segmented_log::open(options{dir.path(), 4096, nullptr});
        ASSERT_FALSE(r) << "size " << size;
        EXPECT_EQ(r.code(), errc::corrupt);
        EXPECT_TRUE(contains(r.error().detail, snap)) << r.error().detail;
    }
    write_bytes(snap, good);
    auto log = open_ok(dir.path(), 4096);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->first_index(), log_index{9});
}

TEST(segmented_log, leftover_snapshot_files_are_cleaned_up) {
    temp_dir dir;
    {
        auto log = open_ok(dir.path(), 4096);
        ASSERT_TRUE(log);
        ASSERT_TRUE(log->append(make_entries(1, 10, 1)));
        ASSERT_TRUE(log->create_snapshot(log_index{4}, test_conf(), "four"));
    }
    const std::string four = dir.sub("snapshot/00000000000000000004.snap");
    const std::string four_bytes = read_bytes(four);
    {
        auto log = open_ok(dir.path(), 4096);
        ASSERT_TRUE(log);
        ASSERT_TRUE(log->create_snapshot(log_index{7}, test_conf(), "seven"));
    }
    // A crash after the new snapshot was durable but before the old one was
    // removed, and another during a snapshot write (the temp file).
    write_bytes(four, four_bytes);
    write_bytes(dir.sub("snapshot/00000000000000000009.snap.tmp"), "half a snapshot");
    auto log = open_ok(dir.path(), 4096);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->snapshot_metadata().index, log_index{7});
    auto snap = log->load_snapshot();
    ASSERT_TRUE(snap);
    EXPECT_EQ(snap->data, "seven");
    EXPECT_EQ(files_in(dir.sub("snapshot"), ""),
              std::vector<std::string>{dir.sub("snapshot/00000000000000000007.snap")});
}

TEST(segmented_log, interrupted_compaction_leftovers_are_removed) {
    temp_dir dir;
    const temp_dir saved;
    const auto want = make_entries(1, 40, 1);
    {
        auto log = open_ok(dir.path(), 256);
        ASSERT_TRUE(log);
        ASSERT_TRUE(log->append(want));
        ASSERT_TRUE(log->sync());
    }
    copy_dir(dir.sub("log"), saved.sub("log"));
    {
        auto log = open_ok(dir.path(), 256);
        ASSERT_TRUE(log);
        ASSERT_TRUE(log->create_snapshot(log_index{30}, test_conf(), "s"));
    }
    const auto compacted = segment_files(dir.path());
    // The crash happened before any covered segment was deleted.
    copy_dir(saved.sub("log"), dir.sub("log"));
    ASSERT_GT(segment_files(dir.path()).size(), compacted.size());
    auto log = open_ok(dir.path(), 256);
    ASSERT_TRUE(log);
    expect_log(*log, std::vector<raft::entry>(want.begin() + 30, want.end()));
    EXPECT_EQ(segment_files(dir.path()), compacted);
}

TEST(segmented_log, interrupted_install_discards_a_conflicting_log) {
    for (const bool same_term : {false, true}) {
        SCOPED_TRACE(same_term ? "log agrees with the snapshot" : "log conflicts");
        temp_dir dir;
        const temp_dir saved;
        const auto old_log = make_entries(1, 40, 1);
        {
            auto log = open_ok(dir.path(), 256);
            ASSERT_TRUE(log);
            ASSERT_TRUE(log->append(old_log));
            ASSERT_TRUE(log->sync());
        }
        copy_dir(dir.sub("log"), saved.sub("log"));
        const term_id snap_term{same_term ? 1u : 5u};
        {
            auto log = open_ok(dir.path(), 256);
            ASSERT_TRUE(log);
            ASSERT_TRUE(log->install_snapshot({{log_index{20}, snap_term, test_conf()}, "s"}));
        }
        // The crash happened after the snapshot was durable, before any
        // segment was removed.
        copy_dir(saved.sub("log"), dir.sub("log"));
        auto log = open_ok(dir.path(), 256);
        ASSERT_TRUE(log);
        EXPECT_EQ(log->first_index(), log_index{21});
        auto t = log->term(log_index{20});
        ASSERT_TRUE(t);
        EXPECT_EQ(*t, snap_term);
        if (same_term) {
            // Raft keeps entries after a snapshot whose last entry matches.
            expect_log(*log, std::vector<raft::entry>(old_log.begin() + 20, old_log.end()));
        } else {
            EXPECT_EQ(log->last_index(), log_index{20});
            EXPECT_TRUE(segment_files(dir.path()).empty());
        }
    }
}

}  // namespace
}  // namespace fjord::storage::testing
