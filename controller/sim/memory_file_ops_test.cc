// File: controller/sim/memory_file_ops_test.cc
//
// The crash model of storage::testing::memory_file_ops, which the simulation
// trusts to lose exactly what a power loss loses: unsynced bytes, unsynced
// truncations and directory entries whose directory was not synced; and the
// real segmented_log recovering over it.

#include "controller/storage/memory_file_ops.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "controller/storage/segmented_log.h"

namespace fjord::storage::testing {
namespace {

std::string read(memory_file_ops& fs, const std::string& path) {
    auto r = fs.read_file(path);
    return r ? *r : std::string("<missing>");
}

std::unique_ptr<writable_file> open(memory_file_ops& fs, const std::string& path, open_mode mode) {
    auto f = fs.open_writable(path, mode);
    EXPECT_TRUE(f.has_value()) << path;
    return f ? std::move(*f) : nullptr;
}

TEST(memory_file_ops, a_crash_keeps_synced_bytes_and_loses_the_rest) {
    memory_file_ops fs;
    ASSERT_TRUE(fs.make_dir("/d"));
    auto f = open(fs, "/d/a", open_mode::create_new);
    ASSERT_TRUE(f->write_at(0, "durable"));
    ASSERT_TRUE(f->datasync());
    ASSERT_TRUE(fs.sync_dir("/d"));
    ASSERT_TRUE(f->write_at(7, "+lost"));
    EXPECT_EQ(read(fs, "/d/a"), "durable+lost");
    f.reset();
    fs.crash();
    EXPECT_EQ(read(fs, "/d/a"), "durable");
}

TEST(memory_file_ops, tails_are_left_only_after_a_file_that_grew) {
    memory_file_ops fs;
    ASSERT_TRUE(fs.make_dir("/d"));
    auto f = open(fs, "/d/a", open_mode::create_new);
    auto g = open(fs, "/d/b", open_mode::create_new);
    ASSERT_TRUE(f->write_at(0, "abc"));
    ASSERT_TRUE(f->datasync());
    ASSERT_TRUE(g->write_at(0, "xyz"));
    ASSERT_TRUE(g->datasync());
    ASSERT_TRUE(fs.sync_dir("/d"));
    ASSERT_TRUE(f->write_at(3, "defgh"));
    f.reset();
    g.reset();
    fs.crash(crash_tail::partial, 2);
    EXPECT_EQ(read(fs, "/d/a"), "abcde");  // a torn write: part of the unsynced bytes
    EXPECT_EQ(read(fs, "/d/b"), "xyz");
    fs.crash(crash_tail::zeros, 3);  // nothing unsynced left: nothing added
    EXPECT_EQ(read(fs, "/d/a"), "abcde");
}

TEST(memory_file_ops, unsynced_overwrites_and_truncations_are_undone) {
    memory_file_ops fs;
    ASSERT_TRUE(fs.make_dir("/d"));
    auto f = open(fs, "/d/a", open_mode::create_new);
    ASSERT_TRUE(f->write_at(0, "0123456789"));
    ASSERT_TRUE(f->sync());
    ASSERT_TRUE(fs.sync_dir("/d"));
    ASSERT_TRUE(f->truncate(4));
    ASSERT_TRUE(f->write_at(2, "XY"));
    EXPECT_EQ(read(fs, "/d/a"), "01XY");
    f.reset();
    fs.crash(crash_tail::garbage, 8);
    EXPECT_EQ(read(fs, "/d/a"), "0123456789");
}

TEST(memory_file_ops, directory_entries_are_durable_only_after_sync_dir) {
    memory_file_ops fs;
    ASSERT_TRUE(fs.make_dir("/d"));
    {
        auto f = open(fs, "/d/old", open_mode::create_new);
        ASSERT_TRUE(f->write_at(0, "old"));
        ASSERT_TRUE(f->sync());
        ASSERT_TRUE(fs.sync_dir("/d"));
        auto g = open(fs, "/d/new.tmp", open_mode::create_or_truncate);
        ASSERT_TRUE(g->write_at(0, "new"));
        ASSERT_TRUE(g->sync());
    }
    ASSERT_TRUE(fs.rename("/d/new.tmp", "/d/old"));
    auto h = open(fs, "/d/unsynced", open_mode::create_new);
    ASSERT_TRUE(h->write_at(0, "x"));
    ASSERT_TRUE(h->sync());
    h.reset();
    EXPECT_EQ(read(fs, "/d/old"), "new");
    fs.crash();
    // The rename was never made durable: the old file is back, and neither
    // the temp file nor the unsynced creation survived.
    EXPECT_EQ(read(fs, "/d/old"), "old");
    EXPECT_FALSE(*fs.exists("/d/new.tmp"));
    EXPECT_FALSE(*fs.exists("/d/unsynced"));

    {
        auto g = open(fs, "/d/new.tmp", open_mode::create_or_truncate);
        ASSERT_TRUE(g->write_at(0, "new"));
        ASSERT_TRUE(g->sync());
    }
    ASSERT_TRUE(fs.rename("/d/new.tmp", "/d/old"));
    ASSERT_TRUE(fs.sync_dir("/d"));
    fs.crash();
    EXPECT_EQ(read(fs, "/d/old"), "new");
    auto names = fs.list_dir("/d");
    ASSERT_TRUE(names.has_value());
    EXPECT_EQ(*names, std::vector<std::string>{"old"});
}

TEST(memory_file_ops, a_throwing_hook_models_power_loss_in_mid_sync) {
    memory_file_ops fs;
    ASSERT_TRUE(fs.make_dir("/d"));
    auto f = open(fs, "/d/a", open_mode::create_new);
    ASSERT_TRUE(fs.sync_dir("/d"));
    ASSERT_TRUE(f->write_at(0, "abc"));
    fs.set_before_sync([](const std::string&) { throw std::runtime_error("power"); });
    EXPECT_THROW((void)f->datasync(), std::runtime_error);
    fs.set_before_sync(nullptr);
    f.reset();
    fs.crash();
    EXPECT_EQ(read(fs, "/d/a"), "");
}

TEST(memory_file_ops, syncs_that_do_nothing_lose_everything) {
    memory_file_ops fs;
    fs.set_syncs_durable(false);
    ASSERT_TRUE(fs.make_dir("/d"));
    auto f = open(fs, "/d/a", open_mode::create_new);
    ASSERT_TRUE(f->write_at(0, "abc"));
    ASSERT_TRUE(f->datasync());
    ASSERT_TRUE(fs.sync_dir("/d"));
    f.reset();
    fs.crash();
    EXPECT_FALSE(*fs.exists("/d/a"));
    EXPECT_TRUE(*fs.exists("/d"));
}

raft::entry entry_at(uint64_t index, uint64_t term) {
    raft::entry e;
    e.index = log_index{index};
    e.term = term_id{term};
    e.data = std::string(40, static_cast<char>('a' + index % 26));
    return e;
}

// The real durable log over the in-memory disk: what sync() returned for
// survives a crash with any tail; what it did not, does not.
TEST(memory_file_ops, segmented_log_recovers_what_it_synced) {
    for (crash_tail tail :
         {crash_tail::none, crash_tail::garbage, crash_tail::zeros, crash_tail::partial}) {
        auto fs = std::make_shared<memory_file_ops>();
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
