#pragma once
// File: common/fs/test_util.h
//
// Helpers shared by the tests of the durable logs (broker/storage,
// controller/storage) and of this layer: a fresh temp directory per test and
// raw file surgery (truncate, flip a bit, zero a range, copy a directory) for
// damaging a data directory the way disks and crashes do. They go around
// file_ops on purpose: the damage must not pass through the layer under test.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace fjord::fs::testing {

/// A directory under the system temp dir, removed with its contents at scope
/// exit.
class temp_dir {
  public:
    explicit temp_dir(std::string_view prefix = "fjord_test") {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / (std::string(prefix) + "_XXXXXX")).string();
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

/// Sorted paths of the files in `dir` whose names end in `suffix`.
inline std::vector<std::string> files_in(const std::string& dir, std::string_view suffix) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name.ends_with(suffix)) {
            out.push_back(e.path().string());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
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

inline bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace fjord::fs::testing
