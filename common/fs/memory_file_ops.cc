// File: common/fs/memory_file_ops.cc
//
// The in-memory file system and power-loss model of memory_file_ops.h.
// Errors mirror posix_file_ops (the layer's io_error naming the call, the
// path and strerror), so the log under test takes the same paths it would
// on a real disk.

#include "common/fs/memory_file_ops.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <fmt/format.h>

namespace fjord::fs::testing {

void memory_file_ops::inode::keep_durable() {
    if (!durable) {
        durable = std::make_unique<std::string>(data.substr(0, durable_size));
    }
}

void memory_file_ops::inode::make_durable() {
    durable.reset();
    durable_size = data.size();
}

std::string memory_file_ops::inode::durable_contents() const {
    return durable ? *durable : data.substr(0, durable_size);
}

class memory_file final : public file {
  public:
    memory_file(memory_file_ops& ops, std::string path,
                std::shared_ptr<memory_file_ops::inode> node)
        : _ops(ops), _path(std::move(path)), _node(std::move(node)), _epoch(ops._epoch) {}

    const std::string& path() const override { return _path; }

    result<uint64_t> size() const override {
        if (auto r = check("fstat"); !r) {
            return r.error();
        }
        return _node->data.size();
    }

    result<size_t> read_at(uint64_t offset, std::span<char> out) const override {
        if (auto r = check("pread"); !r) {
            return r.error();
        }
        if (offset >= _node->data.size()) {
            return size_t{0};
        }
        const size_t n = std::min<size_t>(out.size(), _node->data.size() - offset);
        std::copy_n(_node->data.data() + offset, n, out.data());
        return n;
    }

    result<void> write_at(uint64_t offset, std::string_view data) override {
        if (auto r = check("pwrite"); !r) {
            return r;
        }
        if (data.empty()) {
            return ok();
        }
        if (offset < _node->durable_size) {
            _node->keep_durable();  // overwriting durable bytes in the page cache
        }
        std::string& d = _node->data;
        if (d.size() < offset + data.size()) {
            d.resize(offset + data.size(), '\0');  // a hole reads as zeros
        }
        d.replace(offset, data.size(), data);
        return ok();
    }

    result<void> datasync() override { return sync(); }

    result<void> sync() override {
        if (auto r = check("fsync"); !r) {
            return r;
        }
        _ops.before_sync(_path);
        if (_ops._syncs_durable) {
            _node->make_durable();
        }
        return ok();
    }

    result<void> truncate(uint64_t size) override {
        if (auto r = check("ftruncate"); !r) {
            return r;
        }
        if (size < _node->durable_size) {
            _node->keep_durable();
        }
        _node->data.resize(size, '\0');
        return ok();
    }

  private:
    /// EIO on a handle from before a crash or once the power is cut.
    result<void> check(const char* op) const {
        if (_epoch != _ops._epoch) {
            return _ops.failure(op, _path, EBADF);
        }
        return _ops.tick(op, _path);
    }

    memory_file_ops& _ops;
    std::string _path;
    std::shared_ptr<memory_file_ops::inode> _node;
    uint64_t _epoch;
};

memory_file_ops::memory_file_ops(std::error_code io_error) : file_ops(io_error) {
    _dirs["/"];
    _dirs["."];
}

memory_file_ops::~memory_file_ops() = default;

memory_file_ops::directory* memory_file_ops::parent(const std::string& path, std::string& name) {
    const auto slash = path.find_last_of('/');
    name = slash == std::string::npos ? path : path.substr(slash + 1);
    auto it = _dirs.find(parent_of(path));
    return it == _dirs.end() ? nullptr : &it->second;
}

std::shared_ptr<memory_file_ops::inode> memory_file_ops::find(const std::string& path) {
    std::string name;
    directory* d = parent(path, name);
    if (d == nullptr) {
        return nullptr;
    }
    auto it = d->live.find(name);
    return it == d->live.end() ? nullptr : it->second;
}

result<void> memory_file_ops::tick(const char* op, const std::string& path) {
    ++_ops;
    if (_budget >= 0 && _ops > static_cast<uint64_t>(_budget)) {
        return error_info(io_error(),
                          fmt::format("{} {}: {} (power cut)", op, path, std::strerror(EIO)));
    }
    return ok();
}

void memory_file_ops::before_sync(const std::string& path) {
    if (_before_sync) {
        _before_sync(path);  // may throw: a power loss in mid-call
    }
    ++_syncs;
}

result<std::unique_ptr<file>> memory_file_ops::open(const std::string& path, open_mode mode) {
    if (auto r = tick("open", path); !r) {
        return r.error();
    }
    std::string name;
    directory* d = parent(path, name);
    if (d == nullptr || name.empty() || _dirs.count(path) > 0) {
        return failure("open", path, d == nullptr ? ENOENT : EISDIR);
    }
    std::shared_ptr<inode> node;
    if (auto it = d->live.find(name); it != d->live.end()) {
        if (mode == open_mode::create_new) {
            return failure("open", path, EEXIST);
        }
        node = it->second;
        if (mode == open_mode::create_or_truncate && !node->data.empty()) {
            if (node->durable_size > 0) {
                node->keep_durable();
            }
            node->data.clear();
        }
    } else {
        if (mode == open_mode::existing) {
            return failure("open", path, ENOENT);
        }
        node = std::make_shared<inode>();
        d->live.emplace(name, node);
    }
    return std::unique_ptr<file>(std::make_unique<memory_file>(*this, path, std::move(node)));
}

result<std::string> memory_file_ops::read_file(const std::string& path) {
    if (auto r = tick("read", path); !r) {
        return r.error();
    }
    auto node = find(path);
    if (!node) {
        return failure("open", path, _dirs.count(path) > 0 ? EISDIR : ENOENT);
    }
    return node->data;
}

result<std::vector<std::string>> memory_file_ops::list_dir(const std::string& dir) {
    if (auto r = tick("opendir", dir); !r) {
        return r.error();
    }
    auto it = _dirs.find(dir);
    if (it == _dirs.end()) {
        return failure("opendir", dir, ENOENT);
    }
    std::vector<std::string> names;
    for (const auto& [name, node] : it->second.live) {
        names.push_back(name);
    }
    const std::string prefix = dir == "/" ? dir : dir + "/";
    for (auto sub = _dirs.upper_bound(prefix); sub != _dirs.end(); ++sub) {
        if (sub->first.compare(0, prefix.size(), prefix) != 0) {
            break;
        }
        const std::string rest = sub->first.substr(prefix.size());
        if (!rest.empty() && rest.find('/') == std::string::npos) {
            names.push_back(rest);
        }
    }
    return names;
}

result<bool> memory_file_ops::exists(const std::string& path) {
    if (auto r = tick("stat", path); !r) {
        return r.error();
    }
    return _dirs.count(path) > 0 || find(path) != nullptr;
}

result<void> memory_file_ops::make_dir(const std::string& dir) {
    if (auto r = tick("mkdir", dir); !r) {
        return r;
    }
    if (_dirs.count(dir) > 0) {
        return ok();
    }
    std::string name;
    directory* d = parent(dir, name);
    if (d == nullptr) {
        return failure("mkdir", dir, ENOENT);
    }
    if (d->live.count(name) > 0) {
        return failure("mkdir", dir, ENOTDIR);
    }
    _dirs[dir];  // durable at once, as make_dir promises
    return ok();
}

result<void> memory_file_ops::sync_dir(const std::string& dir) {
    if (auto r = tick("fsync directory", dir); !r) {
        return r;
    }
    auto it = _dirs.find(dir);
    if (it == _dirs.end()) {
        return failure("open directory", dir, ENOENT);
    }
    before_sync(dir);
    if (_syncs_durable) {
        it->second.durable = it->second.live;
    }
    return ok();
}

result<void> memory_file_ops::rename(const std::string& from, const std::string& to) {
    if (auto r = tick("rename", from); !r) {
        return r;
    }
    std::string from_name;
    std::string to_name;
    directory* fd = parent(from, from_name);
    directory* td = parent(to, to_name);
    if (fd == nullptr || td == nullptr || fd->live.count(from_name) == 0) {
        return failure(fmt::format("rename to {}", to), from, ENOENT);
    }
    if (_dirs.count(to) > 0) {
        return failure(fmt::format("rename to {}", to), from, EISDIR);
    }
    auto node = fd->live.at(from_name);
    fd->live.erase(from_name);
    td->live[to_name] = std::move(node);
    return ok();
}

result<void> memory_file_ops::remove(const std::string& path) {
    if (auto r = tick("unlink", path); !r) {
        return r;
    }
    std::string name;
    directory* d = parent(path, name);
    if (d == nullptr || d->live.erase(name) == 0) {
        return failure("unlink", path, ENOENT);
    }
    return ok();
}

template <typename Tail>
void memory_file_ops::power_loss(Tail tail) {
    std::set<inode*> done;
    for (auto& [path, d] : _dirs) {
        d.live = d.durable;
        for (auto& [name, node] : d.live) {
            if (!done.insert(node.get()).second) {
                continue;
            }
            const std::string durable = node->durable_contents();
            node->data = durable + tail(*node, durable);
            node->make_durable();  // what survived is on the disk now
        }
    }
    _budget = -1;
    ++_epoch;
}

void memory_file_ops::crash(crash_tail tail, uint64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    power_loss([&](const inode& node, const std::string& durable) {
        // Junk only where the file had grown past its durable contents, as a
        // crash in the middle of an append leaves it.
        std::string after;
        if (node.data.size() <= durable.size()) {
            return after;
        }
        switch (tail) {
            case crash_tail::none:
                break;
            case crash_tail::garbage:
                for (uint64_t i = 0; i < n; ++i) {
                    after.push_back(static_cast<char>(rng() & 0xFFu));
                }
                break;
            case crash_tail::zeros:
                after.assign(n, '\0');
                break;
            case crash_tail::partial:
                after = node.data.substr(durable.size(), n);
                break;
        }
        return after;
    });
}

void memory_file_ops::crash(std::mt19937_64& rng) {
    power_loss([&](const inode& node, const std::string& durable) {
        // What the disk may hold beyond the synced bytes when the file grew
        // by appending: nothing, a prefix of what was written (a torn
        // write), or garbage.
        std::string after;
        const bool longer =
            node.data.size() > durable.size() && node.data.compare(0, durable.size(), durable) == 0;
        switch (rng() % 4) {
            case 1:
                if (longer) {
                    const size_t extra = node.data.size() - durable.size();
                    after = node.data.substr(durable.size(), rng() % (extra + 1));
                }
                break;
            case 2:
                if (longer) {
                    const size_t k = rng() % 64;
                    for (size_t i = 0; i < k; ++i) {
                        after.push_back(static_cast<char>(rng()));
                    }
                }
                break;
            default:
                break;
        }
        return after;
    });
}

uint64_t memory_file_ops::total_bytes() const {
    uint64_t n = 0;
    std::set<const inode*> seen;
    for (const auto& [path, d] : _dirs) {
        for (const auto& [name, node] : d.live) {
            if (seen.insert(node.get()).second) {
                n += node->data.size();
            }
        }
    }
    return n;
}

}  // namespace fjord::fs::testing
