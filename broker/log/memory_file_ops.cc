// File: broker/log/memory_file_ops.cc

#include "broker/log/memory_file_ops.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "broker/log/errc.h"

namespace fjord::broker::storage::testing {

struct memory_file_ops::inode {
    std::string data;     ///< what reads see
    std::string durable;  ///< what a crash leaves (before the torn suffix)
};

struct memory_file_ops::directory {
    std::map<std::string, std::shared_ptr<inode>> live;
    std::map<std::string, std::shared_ptr<inode>> durable;
};

namespace {

error_info eio(const char* op, const std::string& path, const char* why) {
    return error_info(errc::io_error, fmt::format("{} {}: {}", op, path, why));
}

std::string parent_of(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

}  // namespace

class memory_file final : public file {
  public:
    memory_file(memory_file_ops& fs, std::string path, std::shared_ptr<memory_file_ops::inode> n)
        : _fs(fs), _path(std::move(path)), _inode(std::move(n)), _epoch(fs._epoch) {}

    const std::string& path() const override { return _path; }

    result<uint64_t> size() const override {
        if (auto r = check("fstat"); !r) {
            return r.error();
        }
        return _inode->data.size();
    }
    result<size_t> read_at(uint64_t offset, std::span<char> out) const override {
        if (auto r = check("pread"); !r) {
            return r.error();
        }
        if (offset >= _inode->data.size()) {
            return size_t{0};
        }
        const size_t n = std::min<size_t>(out.size(), _inode->data.size() - offset);
        std::copy_n(_inode->data.data() + offset, n, out.data());
        return n;
    }
    result<void> write_at(uint64_t offset, std::string_view data) override {
        if (auto r = check("pwrite"); !r) {
            return r;
        }
        std::string& d = _inode->data;
        if (d.size() < offset + data.size()) {
            d.resize(offset + data.size(), '\0');
        }
        std::copy(data.begin(), data.end(), d.begin() + static_cast<std::ptrdiff_t>(offset));
        return ok();
    }
    result<void> datasync() override { return sync(); }
    result<void> sync() override {
        if (auto r = check("fsync"); !r) {
            return r;
        }
        _inode->durable = _inode->data;
        return ok();
    }
    result<void> truncate(uint64_t size) override {
        if (auto r = check("ftruncate"); !r) {
            return r;
        }
        _inode->data.resize(size, '\0');
        return ok();
    }

  private:
    result<void> check(const char* op) const {
        if (_epoch != _fs._epoch) {
            return eio(op, _path, "handle from before a crash");
        }
        return _fs.tick(op, _path);
    }

    memory_file_ops& _fs;
    std::string _path;
    std::shared_ptr<memory_file_ops::inode> _inode;
    uint64_t _epoch;
};

memory_file_ops::memory_file_ops() = default;
memory_file_ops::~memory_file_ops() = default;

result<void> memory_file_ops::tick(const char* op, const std::string& path) {
    ++_ops;
    if (_budget >= 0 && _ops > static_cast<uint64_t>(_budget)) {
        return eio(op, path, "power cut");
    }
    return ok();
}

memory_file_ops::directory* memory_file_ops::dir_of(const std::string& path, std::string& name) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) {
        return nullptr;
    }
    name = path.substr(slash + 1);
    auto it = _dirs.find(path.substr(0, slash));
    return it == _dirs.end() ? nullptr : it->second.get();
}

result<std::unique_ptr<file>> memory_file_ops::open(const std::string& path, open_mode mode) {
    if (auto r = tick("open", path); !r) {
        return r.error();
    }
    std::string name;
    directory* d = dir_of(path, name);
    if (d == nullptr) {
        return eio("open", path, "no such directory");
    }
    auto it = d->live.find(name);
    if (mode == open_mode::create_new && it != d->live.end()) {
        return eio("open", path, "file exists");
    }
    if (mode == open_mode::existing && it == d->live.end()) {
        return eio("open", path, "no such file");
    }
    std::shared_ptr<inode> n;
    if (it == d->live.end()) {
        n = std::make_shared<inode>();
        d->live.emplace(name, n);
    } else {
        n = it->second;
        if (mode == open_mode::create_or_truncate) {
            n->data.clear();
        }
    }
    return std::unique_ptr<file>(new memory_file(*this, path, std::move(n)));
}

result<std::string> memory_file_ops::read_file(const std::string& path) {
    if (auto r = tick("read", path); !r) {
        return r.error();
    }
    std::string name;
    directory* d = dir_of(path, name);
    if (d == nullptr || d->live.count(name) == 0) {
        return eio("read", path, "no such file");
    }
    return d->live.at(name)->data;
}

result<std::vector<std::string>> memory_file_ops::list_dir(const std::string& dir) {
    if (auto r = tick("opendir", dir); !r) {
        return r.error();
    }
    auto it = _dirs.find(dir);
    if (it == _dirs.end()) {
        return eio("opendir", dir, "no such directory");
    }
    std::vector<std::string> out;
    for (const auto& [name, n] : it->second->live) {
        out.push_back(name);
    }
    for (const auto& [path, d] : _dirs) {
        if (parent_of(path) == dir) {
            out.push_back(path.substr(dir.size() + 1));
        }
    }
    return out;
}

result<bool> memory_file_ops::exists(const std::string& path) {
    if (auto r = tick("stat", path); !r) {
        return r.error();
    }
    if (_dirs.count(path) != 0) {
        return true;
    }
    std::string name;
    directory* d = dir_of(path, name);
    return d != nullptr && d->live.count(name) != 0;
}

result<void> memory_file_ops::make_dir(const std::string& dir) {
    if (auto r = tick("mkdir", dir); !r) {
        return r;
    }
    // Durable at once (the contract syncs the parent); its parent must
    // exist, except for a root the test starts from.
    const std::string parent = parent_of(dir);
    if (!parent.empty() && _dirs.count(parent) == 0 && _dirs.size() > 0) {
        return eio("mkdir", dir, "no such parent directory");
    }
    _dirs.try_emplace(dir, std::make_unique<directory>());
    return ok();
}

result<void> memory_file_ops::sync_dir(const std::string& dir) {
    if (auto r = tick("fsync(dir)", dir); !r) {
        return r;
    }
    auto it = _dirs.find(dir);
    if (it == _dirs.end()) {
        return eio("fsync(dir)", dir, "no such directory");
    }
    it->second->durable = it->second->live;
    return ok();
}

result<void> memory_file_ops::rename(const std::string& from, const std::string& to) {
    if (auto r = tick("rename", from); !r) {
        return r;
    }
    std::string from_name;
    std::string to_name;
    directory* a = dir_of(from, from_name);
    directory* b = dir_of(to, to_name);
    if (a == nullptr || b == nullptr || a->live.count(from_name) == 0) {
        return eio("rename", from, "no such file");
    }
    auto n = a->live.at(from_name);
    a->live.erase(from_name);
    b->live[to_name] = std::move(n);
    return ok();
}

result<void> memory_file_ops::remove(const std::string& path) {
    if (auto r = tick("unlink", path); !r) {
        return r;
    }
    std::string name;
    directory* d = dir_of(path, name);
    if (d == nullptr || d->live.erase(name) == 0) {
        return eio("unlink", path, "no such file");
    }
    return ok();
}

void memory_file_ops::crash(std::mt19937_64& rng) {
    std::set<inode*> done;
    for (auto& [path, d] : _dirs) {
        d->live = d->durable;
        for (auto& [name, n] : d->live) {
            if (!done.insert(n.get()).second) {
                continue;
            }
            std::string after = n->durable;
            // What the disk may hold beyond the synced bytes: nothing, a
            // prefix of what was written (a torn write), or garbage.
            const bool longer = n->data.size() > n->durable.size() &&
                                n->data.compare(0, n->durable.size(), n->durable) == 0;
            switch (rng() % 4) {
                case 1:
                    if (longer) {
                        const size_t extra = n->data.size() - n->durable.size();
                        after += n->data.substr(n->durable.size(), rng() % (extra + 1));
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
            n->data = after;
            n->durable = after;
        }
    }
    _budget = -1;
    ++_epoch;
}

}  // namespace fjord::broker::storage::testing
