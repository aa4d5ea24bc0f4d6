#pragma once
// File: controller/storage/storage_test_util.h
//
// Helpers shared by the storage tests: a fresh temp directory per test,
// deterministic entries, and raw file surgery (truncate, flip a bit, zero a
// range) for damaging a data directory the way disks and crashes do.
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

#include "controller/storage/segmented_log.h"

namespace fjord::storage::testing {

inline constexpr uint64_t header_bytes = 24;

inline uint64_t record_bytes(const raft::entry& e) {
    return 8 + 17 + e.data.size();
}

/// A directory under the system temp dir, removed with its contents at scope
/// exit.
class temp_dir {
  public:
    temp_dir() {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "fjord_storage_test_XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            ADD_FAILURE() << "mkdtemp failed";
        }
        _path = tmpl;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(_path, ec);
    }
    const std::string& path() const { return _path; }
    /// A path inside this directory.
    std::string sub(std::string_view name) const { return _path + "/" + std::string(name); }

  private:
    std::string _path;
};

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
                                              std::shared_ptr<file_ops> fs = nullptr) {
    auto r = segmented_log::open(options{dir, segment_size, std::move(fs)});
    EXPECT_TRUE(r) << r.error().message();
    return r ? std::move(*r) : nullptr;
}

/// Sorted paths of the files in `dir` whose names end in `suffix`.
inline std::vector<std::string> files_in(const std::string& dir, std::string_view suffix) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
            out.push_back(e.path().string());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

inline std::vector<std::string> segment_files(const std::string& dir) {
    return files_in(dir + "/log", ".seg");
}

/// The first index a segment path's name encodes.
inline uint64_t segment_first(const std::string& path) {
    return std::stoull(std::filesystem::path(path).filename().string().substr(0, 20));
}

inline uint64_t file_size(const std::string& path) {
    return std::filesystem::file_size(path);
}

inline std::string read_bytes(const std::string& path) {
    std::string out(std::filesystem::file_size(path), '\0');
    std::ifstream in(path, std::ios::binary);
    in.read(out.data(), static_cast<std::streamsize>(out.size()));
    EXPECT_TRUE(in.good()) << path;
    return out;
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good()) << path;
}

inline void truncate_file(const std::string& path, uint64_t size) {
    std::filesystem::resize_file(path, size);
}

inline void flip_bit(const std::string& path, uint64_t bit) {
    std::string b = read_bytes(path);
    ASSERT_LT(bit / 8, b.size());
    b[bit / 8] = static_cast<char>(b[bit / 8] ^ (1 << (bit % 8)));
    write_bytes(path, b);
}

inline void zero_range(const std::string& path, uint64_t offset, uint64_t len) {
    std::string b = read_bytes(path);
    ASSERT_LE(offset + len, b.size());
    std::fill(b.begin() + static_cast<std::ptrdiff_t>(offset),
              b.begin() + static_cast<std::ptrdiff_t>(offset + len), '\0');
    write_bytes(path, b);
}

/// Replaces `to` with a recursive copy of `from`.
inline void copy_dir(const std::string& from, const std::string& to) {
    std::filesystem::remove_all(to);
    std::filesystem::copy(from, to, std::filesystem::copy_options::recursive);
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

inline bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace fjord::storage::testing
