// File: common/fs/fault_file_ops.cc
//
// The crash and fault model of fault_file_ops.h. Sizes are taken from the
// real files (stat) at sync time, so the model cannot drift from what the log
// actually wrote.

#include "common/fs/fault_file_ops.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include <fmt/format.h>

#include "common/assert.h"

namespace fjord::fs::testing {
namespace {

uint64_t size_of(const std::string& path) {
    struct stat st {};
    FJORD_ASSERT(::stat(path.c_str(), &st) == 0, "stat {}: {}", path, std::strerror(errno));
    return static_cast<uint64_t>(st.st_size);
}

}  // namespace

class fault_file final : public file {
  public:
    fault_file(fault_file_ops& ops, std::unique_ptr<file> base)
        : _ops(ops), _base(std::move(base)) {}

    const std::string& path() const override { return _base->path(); }
    result<uint64_t> size() const override {
        if (auto f = _ops.count("fstat", path()); !f) {
            return f.error();
        }
        return _base->size();
    }
    result<size_t> read_at(uint64_t offset, std::span<char> out) const override {
        if (auto f = _ops.count("pread", path()); !f) {
            return f.error();
        }
        return _base->read_at(offset, out);
    }
    result<void> write_at(uint64_t offset, std::string_view data) override {
        _ops.note(fmt::format("write {} {} {}", path(), offset, data.size()));
        if (auto f = _ops.count("pwrite", path()); !f) {
            return f;
        }
        return _base->write_at(offset, data);
    }
    result<void> datasync() override {
        _ops.note("datasync " + path());
        return synced([this] { return _base->datasync(); });
    }
    result<void> sync() override {
        _ops.note("sync " + path());
        return synced([this] { return _base->sync(); });
    }
    result<void> truncate(uint64_t size) override {
        _ops.note(fmt::format("truncate {} {}", path(), size));
        if (auto f = _ops.count("ftruncate", path()); !f) {
            return f;
        }
        return _base->truncate(size);
    }

  private:
    /// Runs the real sync unless a failure is injected; counts it if it worked.
    template <typename F>
    result<void> synced(F do_sync) {
        if (auto f = _ops.count("fsync", path()); !f) {
            return f;
        }
        if (auto f = _ops.before_sync(path()); !f) {
            return f;
        }
        auto r = do_sync();
        if (r) {
            _ops.after_sync(path());
        }
        return r;
    }

    fault_file_ops& _ops;
    std::unique_ptr<file> _base;
};

fault_file_ops::fault_file_ops(std::error_code io_error)
    : fault_file_ops(posix_file_ops(io_error)) {}

fault_file_ops::fault_file_ops(std::shared_ptr<file_ops> base)
    : file_ops(base->io_error()), _base(std::move(base)) {}

result<void> fault_file_ops::count(std::string_view what, const std::string& path) {
    const uint64_t n = _operations++;
    if ((_fail_from && n >= *_fail_from) ||
        (_fail_path && path.find(*_fail_path) != std::string::npos)) {
        return error_info(io_error(), fmt::format("{} {}: {} (injected at operation {})", what,
                                                  path, std::strerror(EIO), n));
    }
    return ok();
}

result<std::unique_ptr<file>> fault_file_ops::open(const std::string& path, open_mode mode) {
    note((mode == open_mode::existing ? "open " : "create ") + path);
    if (auto f = count("open", path); !f) {
        return f.error();
    }
    const bool existed = _files.count(path) > 0 || ::access(path.c_str(), F_OK) == 0;
    auto f = _base->open(path, mode);
    if (!f) {
        return f;
    }
    if (_files.count(path) == 0) {
        file_state st;
        if (mode == open_mode::existing) {
            // Whatever an untracked file held when opened is already on disk.
            st.synced_size = size_of(path);
        } else {
            st.entry_durable = existed;
        }
        _files[path] = st;
    } else if (mode == open_mode::create_or_truncate) {
        _files[path].synced_size = 0;
    }
    return std::unique_ptr<file>(std::make_unique<fault_file>(*this, std::move(*f)));
}

result<std::string> fault_file_ops::read_file(const std::string& path) {
    if (auto f = count("read", path); !f) {
        return f.error();
    }
    return _base->read_file(path);
}

result<std::vector<std::string>> fault_file_ops::list_dir(const std::string& dir) {
    if (auto f = count("readdir", dir); !f) {
        return f.error();
    }
    return _base->list_dir(dir);
}

result<bool> fault_file_ops::exists(const std::string& path) {
    if (auto f = count("stat", path); !f) {
        return f.error();
    }
    return _base->exists(path);
}

result<void> fault_file_ops::make_dir(const std::string& dir) {
    if (auto f = count("mkdir", dir); !f) {
        return f;
    }
    return _base->make_dir(dir);
}

result<void> fault_file_ops::sync_dir(const std::string& dir) {
    note("sync_dir " + dir);
    if (auto f = count("fsync", dir); !f) {
        return f;
    }
    auto r = _base->sync_dir(dir);
    if (r) {
        ++_dir_syncs;
        for (auto& [path, st] : _files) {
            if (parent_of(path) == dir) {
                st.entry_durable = true;
                st.replaced.reset();
            }
        }
    }
    return r;
}

result<void> fault_file_ops::rename(const std::string& from, const std::string& to) {
    note(fmt::format("rename {} {}", from, to));
    if (auto f = count("rename", from); !f) {
        return f;
    }
    // What a crash leaves at `to` if this rename never reaches the disk.
    std::optional<std::string> old;
    if (auto it = _files.find(to); it != _files.end()) {
        if (!it->second.entry_durable) {
            old = it->second.replaced;
        } else if (auto c = _base->read_file(to)) {
            old = c->substr(0, std::min<uint64_t>(c->size(), it->second.synced_size));
        }
    } else if (::access(to.c_str(), F_OK) == 0) {
        if (auto c = _base->read_file(to)) {
            old = std::move(*c);  // untracked: on disk before this layer saw it
        }
    }
    auto r = _base->rename(from, to);
    if (r) {
        file_state st;
        st.source = from;
        if (auto it = _files.find(from); it != _files.end()) {
            st = it->second;
            // From a durable entry the file comes back there; from an
            // undurable one, wherever that one would come back (or nowhere).
            st.source = st.entry_durable ? std::optional<std::string>(from) : st.source;
            _files.erase(it);
        } else {
            st.synced_size = size_of(to);
        }
        st.entry_durable = false;
        st.replaced = std::move(old);
        _files[to] = st;
    }
    return r;
}

result<void> fault_file_ops::remove(const std::string& path) {
    note("remove " + path);
    if (auto f = count("unlink", path); !f) {
        return f;
    }
    auto r = _base->remove(path);
    if (r) {
        _files.erase(path);
    }
    return r;
}

result<void> fault_file_ops::before_sync(const std::string& path) {
    if (_fail_next_sync) {
        _fail_next_sync = false;
        return error_info(io_error(),
                          fmt::format("fsync {}: {} (injected)", path, std::strerror(EIO)));
    }
    return ok();
}

void fault_file_ops::after_sync(const std::string& path) {
    _files[path].synced_size = size_of(path);
    ++_sync_counts[path];
}

uint64_t fault_file_ops::syncs(const std::string& path) const {
    const auto it = _sync_counts.find(path);
    return it == _sync_counts.end() ? 0 : it->second;
}

uint64_t fault_file_ops::total_syncs() const {
    uint64_t n = 0;
    for (const auto& [path, count] : _sync_counts) {
        n += count;
    }
    return n;
}

void fault_file_ops::crash(crash_tail tail, uint64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<std::pair<std::string, std::string>> renamed_back;  // path, synced bytes
    for (const auto& [path, st] : _files) {
        if (::access(path.c_str(), F_OK) != 0) {
            continue;
        }
        if (!st.entry_durable) {
            if (st.source) {
                auto c = _base->read_file(path);
                FJORD_ASSERT(c.has_value(), "read {}", path);
                renamed_back.emplace_back(*st.source, c->substr(0, st.synced_size));
            }
            if (st.replaced) {
                // The rename is lost: the file it replaced is back.
                auto f = _base->open(path, open_mode::create_or_truncate);
                FJORD_ASSERT(f.has_value(), "restore {}", path);
                FJORD_ASSERT((*f)->write_at(0, *st.replaced).has_value(), "restore {}", path);
            } else {
                FJORD_ASSERT(::unlink(path.c_str()) == 0, "unlink {}: {}", path,
                             std::strerror(errno));
            }
            continue;
        }
        const uint64_t size = size_of(path);
        if (size <= st.synced_size) {
            continue;
        }
        uint64_t keep = st.synced_size;
        std::string junk;
        switch (tail) {
            case crash_tail::none:
                break;
            case crash_tail::garbage:
                for (uint64_t i = 0; i < n; ++i) {
                    junk.push_back(static_cast<char>(rng() & 0xFFu));
                }
                break;
            case crash_tail::zeros:
                junk.assign(n, '\0');
                break;
            case crash_tail::partial:
                keep = std::min(size, st.synced_size + n);
                break;
        }
        FJORD_ASSERT(::truncate(path.c_str(), static_cast<off_t>(keep)) == 0, "truncate {}: {}",
                     path, std::strerror(errno));
        if (!junk.empty()) {
            auto f = _base->open(path, open_mode::existing);
            FJORD_ASSERT(f.has_value(), "reopen {}", path);
            FJORD_ASSERT((*f)->write_at(keep, junk).has_value(), "write junk to {}", path);
        }
    }
    // Lost renames: each file is back under the name it had (after the loop,
    // which may have removed a newer, undurable file of that name).
    for (const auto& [path, bytes] : renamed_back) {
        if (::access(path.c_str(), F_OK) != 0) {
            auto f = _base->open(path, open_mode::create_new);
            FJORD_ASSERT(f.has_value(), "restore {}", path);
            FJORD_ASSERT((*f)->write_at(0, bytes).has_value(), "restore {}", path);
        }
    }
    _files.clear();
}

}  // namespace fjord::fs::testing
