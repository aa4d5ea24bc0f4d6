// File: common/fs/memory_file_ops_test.cc
//
// The crash model of fs::testing::memory_file_ops, which both simulations
// trust to lose exactly what a power loss loses: unsynced bytes, unsynced
// truncations and directory entries whose directory was not synced.

#include "common/fs/memory_file_ops.h"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>

namespace fjord::fs::testing {
namespace {

const std::error_code io_error = std::make_error_code(std::errc::io_error);

std::string read(memory_file_ops& fs, const std::string& path) {
    auto r = fs.read_file(path);
    return r ? *r : std::string("<missing>");
}

std::unique_ptr<file> open(memory_file_ops& fs, const std::string& path, open_mode mode) {
    auto f = fs.open(path, mode);
    EXPECT_TRUE(f.has_value()) << path;
    return f ? std::move(*f) : nullptr;
}

TEST(memory_file_ops, a_crash_keeps_synced_bytes_and_loses_the_rest) {
    memory_file_ops fs(io_error);
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
    memory_file_ops fs(io_error);
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
    memory_file_ops fs(io_error);
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
    memory_file_ops fs(io_error);
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
    memory_file_ops fs(io_error);
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
    memory_file_ops fs(io_error);
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

TEST(memory_file_ops, a_power_cut_fails_every_later_call_until_the_crash) {
    memory_file_ops fs(io_error);
    ASSERT_TRUE(fs.make_dir("/d"));
    auto f = open(fs, "/d/a", open_mode::create_new);
    ASSERT_TRUE(f->write_at(0, "abc"));
    fs.cut_after(static_cast<int64_t>(fs.ops()));
    EXPECT_EQ(f->datasync().code(), io_error);
    EXPECT_EQ(fs.sync_dir("/d").code(), io_error);
    std::mt19937_64 rng(1);
    fs.crash(rng);
    EXPECT_FALSE(*fs.exists("/d/a")) << "its entry was never synced";
    EXPECT_EQ(f->write_at(0, "x").code(), io_error) << "a handle from before the crash";
}

TEST(memory_file_ops, a_random_tail_only_extends_what_was_appended) {
    for (uint64_t seed = 0; seed < 50; ++seed) {
        memory_file_ops fs(io_error);
        ASSERT_TRUE(fs.make_dir("/d"));
        auto f = open(fs, "/d/a", open_mode::create_new);
        ASSERT_TRUE(f->write_at(0, "durable"));
        ASSERT_TRUE(f->sync());
        ASSERT_TRUE(fs.sync_dir("/d"));
        ASSERT_TRUE(f->write_at(7, "+appended"));
        std::mt19937_64 rng(seed);
        fs.crash(rng);
        const std::string after = read(fs, "/d/a");
        EXPECT_EQ(after.substr(0, 7), "durable") << seed;
        EXPECT_LE(after.size(), 7u + 63u) << seed;
    }
}

}  // namespace
}  // namespace fjord::fs::testing
