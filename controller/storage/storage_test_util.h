#pragma once
// File: controller/storage/storage_test_util.h
//
// Helpers shared by the storage tests: deterministic entries and the
// geometry of segments, over common/fs/test_util.h's temp directories and
// raw file surgery (truncate, flip a bit, zero a range).
//
// Record geometry is computed here from README.md's format, independently of
// the implementation's encoder: a segment has a 24-byte header, and an entry's
// record is 8 (length, crc) + 17 (term, index, type) + data bytes.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/fs/fault_file_ops.h"
#include "common/fs/memory_file_ops.h"
#include "common/fs/test_util.h"
#include "controller/storage/segmented_log.h"

namespace fjord::storage::testing {

// The shared test file layer and file surgery (common/fs).
using fs::testing::contains;
using fs::testing::copy_dir;
using fs::testing::crash_tail;
using fs::testing::fault_file_ops;
using fs::testing::file_size;
using fs::testing::files_in;
using fs::testing::flip_bit;
using fs::testing::memory_file_ops;
using fs::testing::read_bytes;
using fs::testing::temp_dir;
using fs::testing::truncate_file;
using fs::testing::write_bytes;
using fs::testing::zero_range;

inline constexpr uint64_t header_bytes = 24;

inline uint64_t record_bytes(const raft::entry& e) {
    return 8 + 17 + e.data.size();
}

/// Deterministic printable data of `size` bytes for entry `index`. Printable
/// bytes make implausible record lengths, so no data looks like a frame.
inline std::string entry_data(uint64_t index, size_t size) {
    std::string s;
    while (s.size() < size) {
        s += fmt::format("<{}:", index);
        s.push_back(static_cast<char>('a' + (s.size() % 26)));
    }
    s.resize(size);
    return s;
}

inline raft::entry make_entry(uint64_t index, uint64_t term, size_t size = 20) {
    raft::entry e;
    e.index = log_index{index};
    e.term = term_id{term};
    e.type = index % 7 == 0 ? raft::entry_type::conf_change : raft::entry_type::normal;
    e.data = entry_data(index, size);
    return e;
}

/// Entries [from, to] in `term`.
inline std::vector<raft::entry> make_entries(uint64_t from, uint64_t to, uint64_t term,
                                             size_t size = 20) {
    std::vector<raft::entry> out;
    for (uint64_t i = from; i <= to; ++i) {
        out.push_back(make_entry(i, term, size));
    }
    return out;
}

inline std::vector<raft::entry> all_entries(const segmented_log& log) {
    auto r = log.entries(log.first_index(), log.last_index() + 1, UINT64_MAX);
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : std::vector<raft::entry>{};
}

inline std::unique_ptr<segmented_log> open_ok(const std::string& dir, uint64_t segment_size,
                                              std::shared_ptr<fs::file_ops> fs = nullptr) {
    auto r = segmented_log::open(options{dir, segment_size, std::move(fs)});
    EXPECT_TRUE(r) << r.error().message();
    return r ? std::move(*r) : nullptr;
}

inline std::vector<std::string> segment_files(const std::string& dir) {
    return files_in(dir + "/log", ".seg");
}

/// The first index a segment path's name encodes.
inline uint64_t segment_first(const std::string& path) {
    return std::stoull(std::filesystem::path(path).filename().string().substr(0, 20));
}

/// Record start offsets of a segment holding `entries` (in order).
inline std::vector<uint64_t> record_offsets(const std::vector<raft::entry>& entries) {
    std::vector<uint64_t> out;
    uint64_t off = header_bytes;
    for (const raft::entry& e : entries) {
        out.push_back(off);
        off += record_bytes(e);
    }
    return out;
}

/// The entries of `all` (the whole log from index 1) stored in segment `path`.
inline std::vector<raft::entry> entries_of_segment(const std::vector<raft::entry>& all,
                                                   const std::vector<std::string>& segs,
                                                   size_t which) {
    const uint64_t first = segment_first(segs[which]);
    const uint64_t end =
        which + 1 < segs.size() ? segment_first(segs[which + 1]) : all.back().index.value() + 1;
    return std::vector<raft::entry>(all.begin() + static_cast<std::ptrdiff_t>(first - 1),
                                    all.begin() + static_cast<std::ptrdiff_t>(end - 1));
}

}  // namespace fjord::storage::testing
