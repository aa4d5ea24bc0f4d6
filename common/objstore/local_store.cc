// File: common/objstore/local_store.cc
//
// The directory backend (local_store.h). Durability through common/fs's
// file layer; listing through std::filesystem (never throwing overloads).

#include "common/objstore/local_store.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <random>
#include <system_error>

#include "common/fs/file_ops.h"
#include "common/objstore/errc.h"

namespace fjord::objstore {
namespace {

namespace stdfs = std::filesystem;
constexpr std::string_view tmp_suffix = ".fjord-tmp";

class local_store final : public object_store {
  public:
    explicit local_store(std::string root)
        : _root(std::move(root)), _fs(fs::posix_file_ops(make_error_code(errc::io_error))) {}

    result<void> put(const std::string& key, std::string_view bytes) override {
        ++_requests;
        if (auto k = check_local_key(key); !k) {
            return count(k.error());
        }
        const std::string path = path_of(key);
        const std::string dir = fs::parent_of(path);
        if (auto d = make_dirs(dir); !d) {
            return count(d.error());
        }
        const std::string tmp = path + "." + random_tag() + std::string(tmp_suffix);
        auto f = _fs->open(tmp, fs::open_mode::create_or_truncate);
        if (!f) {
            return count(f.error());
        }
        if (auto w = (*f)->write_at(0, bytes); !w) {
            (void)_fs->remove(tmp);
            return count(w.error());
        }
        if (auto s = (*f)->datasync(); !s) {
            (void)_fs->remove(tmp);
            return count(s.error());
        }
        f->reset();
        if (auto r = _fs->rename(tmp, path); !r) {
            (void)_fs->remove(tmp);
            return count(r.error());
        }
        if (auto s = _fs->sync_dir(dir); !s) {
            return count(s.error());
        }
        _bytes_put += bytes.size();
        return ok();
    }

    result<std::string> get(const std::string& key, std::optional<byte_range> range) override {
        ++_requests;
        if (auto k = check_local_key(key); !k) {
            return count(k.error());
        }
        const std::string path = path_of(key);
        auto f = _fs->open(path, fs::open_mode::existing);
        if (!f) {
            return count(missing_or(f.error(), path, key));
        }
        auto size = (*f)->size();
        if (!size) {
            return count(size.error());
        }
        uint64_t first = 0;
        uint64_t len = *size;
        if (range) {
            if (range->first > range->last || range->first >= *size) {
                return count(error_info(errc::rejected, "get " + key + ": range " +
                                                            std::to_string(range->first) + "-" +
                                                            std::to_string(range->last) +
                                                            " is not within the object's " +
                                                            std::to_string(*size) + " bytes"));
            }
            first = range->first;
            len = std::min<uint64_t>(range->last, *size - 1) - first + 1;
        }
        std::string out(len, '\0');
        auto n = (*f)->read_at(first, std::span<char>(out.data(), out.size()));
        if (!n) {
            return count(n.error());
        }
        if (*n != len) {
            return count(error_info(errc::corrupt, "get " + key + ": read " + std::to_string(*n) +
                                                       " of " + std::to_string(len) + " bytes"));
        }
        _bytes_got += len;
        return out;
    }

    result<object_info> head(const std::string& key) override {
        ++_requests;
        if (auto k = check_local_key(key); !k) {
            return count(k.error());
        }
        std::error_code ec;
        const std::string path = path_of(key);
        const auto st = stdfs::status(path, ec);
        if (ec || !stdfs::is_regular_file(st)) {
            if (ec && ec != std::errc::no_such_file_or_directory) {
                return count(error_info(errc::io_error, "head " + path + ": " + ec.message()));
            }
            return count(
                error_info(errc::not_found, "head " + key + ": no such object in " + describe()));
        }
        const auto size = stdfs::file_size(path, ec);
        if (ec) {
            return count(error_info(errc::io_error, "head " + path + ": " + ec.message()));
        }
        return object_info{key, static_cast<uint64_t>(size)};
    }

    result<std::vector<object_info>> list(const std::string& prefix) override {
        ++_requests;
        std::vector<object_info> out;
        // Walk only the deepest directory the prefix names in full.
        const auto slash = prefix.rfind('/');
        const std::string start =
            slash == std::string::npos ? _root : _root + "/" + prefix.substr(0, slash);
        std::error_code ec;
        if (!stdfs::exists(start, ec)) {
            return out;
        }
        stdfs::recursive_directory_iterator it(start, ec);
        if (ec) {
            return count(error_info(errc::io_error, "list " + start + ": " + ec.message()));
        }
        for (; it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
            if (ec) {
                return count(error_info(errc::io_error, "list " + start + ": " + ec.message()));
            }
            std::error_code fec;
            if (!it->is_regular_file(fec)) {
                continue;
            }
            std::string rel = it->path().string().substr(_root.size() + 1);
            if (rel.ends_with(tmp_suffix) || !rel.starts_with(prefix)) {
                continue;
            }
            const auto size = it->file_size(fec);
            if (fec) {
                continue;  // removed while we listed
            }
            out.push_back(object_info{std::move(rel), static_cast<uint64_t>(size)});
        }
        std::sort(out.begin(), out.end(),
                  [](const object_info& a, const object_info& b) { return a.key < b.key; });
        return out;
    }

    result<void> del(const std::string& key) override {
        ++_requests;
        if (auto k = check_local_key(key); !k) {
            return count(k.error());
        }
        const std::string path = path_of(key);
        if (auto r = fs::remove_if_present(*_fs, path); !r) {
            return count(r.error());
        }
        if (auto s = _fs->sync_dir(fs::parent_of(path)); !s) {
            // The parent directory itself may be gone (never created).
            std::error_code ec;
            if (stdfs::exists(fs::parent_of(path), ec)) {
                return count(s.error());
            }
        }
        return ok();
    }

    std::string describe() const override { return "dir:" + _root; }

    store_stats stats() const override {
        store_stats s;
        s.requests = _requests;
        s.bytes_put = _bytes_put;
        s.bytes_got = _bytes_got;
        s.errors_not_found = _not_found;
        s.errors_io = _io;
        s.errors_rejected = _rejected;
        s.errors_corrupt = _corrupt;
        return s;
    }

  private:
    std::string path_of(const std::string& key) const { return _root + "/" + key; }

    result<void> check_local_key(const std::string& key) const {
        if (auto k = check_key(key); !k) {
            return k;
        }
        if (std::string_view(key).ends_with(tmp_suffix)) {
            return error_info(errc::invalid_key,
                              "key " + key + ": ends in .fjord-tmp (reserved for uploads)");
        }
        return ok();
    }

    error_info missing_or(const error_info& e, const std::string& path, const std::string& key) {
        std::error_code ec;
        if (!stdfs::exists(path, ec)) {
            return error_info(errc::not_found, "get " + key + ": no such object in " + describe());
        }
        return e;
    }

    /// Creates `dir` and its missing parents below the root, each durably.
    result<void> make_dirs(const std::string& dir) {
        if (dir.size() <= _root.size()) {
            return ok();
        }
        std::error_code ec;
        if (stdfs::is_directory(dir, ec)) {
            return ok();
        }
        if (auto p = make_dirs(fs::parent_of(dir)); !p) {
            return p;
        }
        return _fs->make_dir(dir);
    }

    static std::string random_tag() {
        static thread_local std::mt19937_64 rng{std::random_device{}()};
        static constexpr char hex[] = "0123456789abcdef";
        std::string s(16, '0');
        uint64_t v = rng();
        for (char& c : s) {
            c = hex[v & 15];
            v >>= 4;
        }
        return s;
    }

    error_info count(error_info e) {
        if (e.code == errc::not_found) {
            ++_not_found;
        } else if (e.code == errc::rejected || e.code == errc::invalid_key) {
            ++_rejected;
        } else if (e.code == errc::corrupt) {
            ++_corrupt;
        } else {
            ++_io;
        }
        return e;
    }

    std::string _root;
    std::shared_ptr<fs::file_ops> _fs;
    std::atomic<uint64_t> _requests{0}, _bytes_put{0}, _bytes_got{0}, _not_found{0}, _io{0},
        _rejected{0}, _corrupt{0};
};

}  // namespace

result<std::unique_ptr<object_store>> make_local_store(const std::string& root) {
    if (root.empty() || root.front() != '/') {
        return error_info::for_field(errc::config, "cloud_storage_local_directory",
                                     "must be an absolute path, got \"" + root + "\"");
    }
    std::string r = root;
    while (r.size() > 1 && r.back() == '/') {
        r.pop_back();
    }
    std::error_code ec;
    stdfs::create_directories(r, ec);
    if (ec || !stdfs::is_directory(r, ec)) {
        return error_info::for_field(errc::config, "cloud_storage_local_directory",
                                     "cannot create " + r + ": " + ec.message());
    }
    return std::unique_ptr<object_store>(new local_store(std::move(r)));
}

}  // namespace fjord::objstore
