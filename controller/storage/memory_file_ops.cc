// File: controller/storage/memory_file_ops.cc
//
// The in-memory file system and power-loss model of memory_file_ops.h.
// Errors mirror posix_file_ops: raft::errc::io_error naming the call, the
// path and strerror, so the log under test takes the same paths it would on
// a real disk.

#include "controller/storage/memory_file_ops.h"

#include <cerrno>
#include <cstring>
#include <random>
#include <set>

#include <fmt/format.h>

#include "controller/raft/errc.h"

namespace fjord::storage::testing {
namespace {

error_info io_error(std::string_view call, const std::string& path, int err) {
    return error_info(raft::errc::io_error,
                      fmt::format("{} {}: {}", call, path, std::strerror(err)));
}

/// (parent directory, name); "/" for a top-level path and "." for a bare name.
std::pair<std::string, std::string> split(const std::string& path) {
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos) {
        return {".", path};
    }
    return {slash == 0 ? std::string("/") : path.substr(0, slash), path.substr(slash + 1)};
}

}  // namespace

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

class memory_writable_file final : public writable_file {
  public:
    memory_writable_file(memory_file_ops& ops, std::string path,
                         std::shared_ptr<memory_file_ops::inode> node)
        : _ops(ops), _path(std::move(path)), _node(std::move(node)) {}

    const std::string& path() const override { return _path; }

    result<void> write_at(uint64_t offset, std::string_view data) override {
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
        if (auto r = _ops.before_sync(_path); !r) {
            return r;
        }
        if (_ops._syncs_durable) {
            _node->make_durable();
        }
        return ok();
    }

    result<void> truncate(uint64_t size) override {
        if (size < _node->durable_size) {
            _node->keep_durable();
        }
        _node->data.resize(size, '\0');
        return ok();
    }

  private:
    memory_file_ops& _ops;
    std::string _path;
    std::shared_ptr<memory_file_ops::inode> _node;
};

memory_file_ops::memory_file_ops() {
    _dirs["/"];
    _dirs["."];
}

memory_file_ops::~memory_file_ops() = default;

memory_file_ops::directory* memory_file_ops::parent(const std::string& path, std::string& name) {
    auto [dir, base] = split(path);
    name = std::move(base);
    auto it = _dirs.find(dir);
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

result<void> memory_file_ops::before_sync(const std::string& path) {
    if (_before_sync) {
        _before_sync(path);  // may throw: a power loss in mid-call
    }
    ++_syncs;
    return ok();
}

result<std::unique_ptr<writable_file>> memory_file_ops::open_writable(const std::string& path,
                                                                      open_mode mode) {
    std::string name;
    directory* d = parent(path, name);
    if (d == nullptr || name.empty() || _dirs.count(path) > 0) {
        return io_error("open", path, d == nullptr ? ENOENT : EISDIR);
    }
    std::shared_ptr<inode> node;
    if (auto it = d->live.find(name); it != d->live.end()) {
        if (mode == open_mode::create_new) {
            return io_error("open", path, EEXIST);
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
            return io_error("open", path, ENOENT);
        }
        node = std::make_shared<inode>();
        d->live.emplace(name, node);
    }
    return std::unique_ptr<writable_file>(
        std::make_unique<memory_writable_file>(*this, path, std::move(node)));
}

result<std::string> memory_file_ops::read_file(const std::string& path) {
    auto node = find(path);
    if (!node) {
        return io_error("open", path, _dirs.count(path) > 0 ? EISDIR : ENOENT);
    }
    return node->data;
}

result<std::vector<std::string>> memory_file_ops::list_dir(const std::string& dir) {
    auto it = _dirs.find(dir);
    if (it == _dirs.end()) {
        return io_error("opendir", dir, ENOENT);
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
    return _dirs.count(path) > 0 || find(path) != nullptr;
}

result<void> memory_file_ops::make_dir(const std::string& dir) {
    if (_dirs.count(dir) > 0) {
        return ok();
    }
    std::string name;
    directory* d = parent(dir, name);
    if (d == nullptr) {
        return io_error("mkdir", dir, ENOENT);
    }
    if (d->live.count(name) > 0) {
        return io_error("mkdir", dir, ENOTDIR);
    }
    _dirs[dir];  // durable at once, as make_dir promises
    return ok();
}

result<void> memory_file_ops::sync_dir(const std::string& dir) {
    auto it = _dirs.find(dir);
    if (it == _dirs.end()) {
        return io_error("open directory", dir, ENOENT);
    }
    if (auto r = before_sync(dir); !r) {
        return r;
    }
    if (_syncs_durable) {
        it->second.durable = it->second.live;
    }
    return ok();
}

result<void> memory_file_ops::rename(const std::string& from, const std::string& to) {
    std::string from_name;
    std::string to_name;
    directory* fd = parent(from, from_name);
    directory* td = parent(to, to_name);
    if (fd == nullptr || td == nullptr || fd->live.count(from_name) == 0) {
        return io_error(fmt::format("rename to {}", to), from, ENOENT);
    }
    if (_dirs.count(to) > 0) {
        return io_error(fmt::format("rename to {}", to), from, EISDIR);
    }
    auto node = fd->live.at(from_name);
    fd->live.erase(from_name);
    td->live[to_name] = std::move(node);
    return ok();
}

result<void> memory_file_ops::remove(const std::string& path) {
    std::string name;
    directory* d = parent(path, name);
    if (d == nullptr || d->live.erase(name) == 0) {
        return io_error("unlink", path, ENOENT);
    }
    return ok();
}

void memory_file_ops::crash(crash_tail tail, uint64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::set<inode*> done;
    for (auto& [path, d] : _dirs) {
        d.live = d.durable;
        for (auto& [name, node] : d.live) {
            if (!done.insert(node.get()).second) {
                continue;
            }
            const std::string durable = node->durable_contents();
            // Junk only where the file had grown past its durable contents,
            // as a crash in the middle of an append leaves it.
            const bool grew = node->data.size() > durable.size();
            std::string after;
            if (grew) {
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
                        after = node->data.substr(durable.size(), n);
                        break;
                }
            }
            node->data = durable + after;
            node->make_durable();  // what survived is on the disk now
        }
    }
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

}  // namespace fjord::storage::testing
