// File: common/fs/file_ops.cc
//
// The POSIX file_ops: thin wrappers over open/pread/pwrite/fdatasync/fsync/
// ftruncate/rename/unlink/mkdir that check every return value and turn
// failures into the layer's io_error naming the call, the path and strerror.
// And replace_file, the one atomic-replace recipe of the tree.

#include "common/fs/file_ops.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/log.h"

namespace fjord::fs {
namespace {

error_info io_failure(std::error_code code, std::string_view call, const std::string& path,
                      int err) {
    return error_info(code, fmt::format("{} {}: {}", call, path, std::strerror(err)));
}

int open_retrying(const std::string& path, int flags) {
    int fd = -1;
    do {
        fd = ::open(path.c_str(), flags, 0644);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

class posix_file final : public file {
  public:
    posix_file(std::error_code io_error, std::string path, int fd)
        : _io_error(io_error), _path(std::move(path)), _fd(fd) {}
    posix_file(const posix_file&) = delete;
    posix_file& operator=(const posix_file&) = delete;

    ~posix_file() override {
        // A failed close loses nothing that was synced, and unsynced data has
        // no durability promise, so it is only worth a warning.
        if (::close(_fd) != 0) {
            log(log_level::warn, "fs", "close {}: {}", _path, std::strerror(errno));
        }
    }

    const std::string& path() const override { return _path; }

    result<uint64_t> size() const override {
        struct stat st {};
        if (::fstat(_fd, &st) != 0) {
            return fail("fstat", errno);
        }
        return static_cast<uint64_t>(st.st_size);
    }

    result<size_t> read_at(uint64_t offset, std::span<char> out) const override {
        size_t done = 0;
        while (done < out.size()) {
            const ssize_t n = ::pread(_fd, out.data() + done, out.size() - done,
                                      static_cast<off_t>(offset + done));
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return fail(fmt::format("pread at offset {}", offset + done), errno);
            }
            if (n == 0) {
                break;
            }
            done += static_cast<size_t>(n);
        }
        return done;
    }

    result<void> write_at(uint64_t offset, std::string_view data) override {
        size_t done = 0;
        while (done < data.size()) {
            const ssize_t n = ::pwrite(_fd, data.data() + done, data.size() - done,
                                       static_cast<off_t>(offset + done));
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return fail(fmt::format("pwrite at offset {}", offset + done), errno);
            }
            if (n == 0) {
                return fail(fmt::format("pwrite at offset {}", offset + done), EIO);
            }
            done += static_cast<size_t>(n);
        }
        return ok();
    }

    result<void> datasync() override {
        if (::fdatasync(_fd) != 0) {
            return fail("fdatasync", errno);
        }
        return ok();
    }

    result<void> sync() override {
        if (::fsync(_fd) != 0) {
            return fail("fsync", errno);
        }
        return ok();
    }

    result<void> truncate(uint64_t size) override {
        if (::ftruncate(_fd, static_cast<off_t>(size)) != 0) {
            return fail(fmt::format("ftruncate to {}", size), errno);
        }
        return ok();
    }

  private:
    error_info fail(std::string_view call, int err) const {
        return io_failure(_io_error, call, _path, err);
    }

    std::error_code _io_error;
    std::string _path;
    int _fd;
};

class posix_ops final : public file_ops {
  public:
    using file_ops::file_ops;

    result<std::unique_ptr<file>> open(const std::string& path, open_mode mode) override {
        int flags = O_RDWR | O_CLOEXEC;
        switch (mode) {
            case open_mode::create_new:
                flags |= O_CREAT | O_EXCL;
                break;
            case open_mode::create_or_truncate:
                flags |= O_CREAT | O_TRUNC;
                break;
            case open_mode::existing:
                break;
        }
        const int fd = open_retrying(path, flags);
        if (fd < 0) {
            return failure("open", path, errno);
        }
        return std::unique_ptr<file>(std::make_unique<posix_file>(io_error(), path, fd));
    }

    result<std::string> read_file(const std::string& path) override {
        const int fd = open_retrying(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            return failure("open", path, errno);
        }
        const posix_file f(io_error(), path, fd);  // closes fd
        auto size = f.size();
        if (!size) {
            return size.error();
        }
        std::string out(*size, '\0');
        auto n = f.read_at(0, out);
        if (!n) {
            return n.error();
        }
        out.resize(*n);  // the file may have shrunk under us
        return out;
    }

    result<std::vector<std::string>> list_dir(const std::string& dir) override {
        DIR* d = ::opendir(dir.c_str());
        if (d == nullptr) {
            return failure("opendir", dir, errno);
        }
        std::vector<std::string> names;
        for (;;) {
            errno = 0;
            const dirent* e = ::readdir(d);
            if (e == nullptr) {
                const int err = errno;
                ::closedir(d);
                if (err != 0) {
                    return failure("readdir", dir, err);
                }
                return names;
            }
            const std::string_view name(e->d_name);
            if (name != "." && name != "..") {
                names.emplace_back(name);
            }
        }
    }

    result<bool> exists(const std::string& path) override {
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0) {
            return true;
        }
        if (errno == ENOENT) {
            return false;
        }
        return failure("stat", path, errno);
    }

    result<void> make_dir(const std::string& dir) override {
        if (::mkdir(dir.c_str(), 0755) != 0) {
            if (errno != EEXIST) {
                return failure("mkdir", dir, errno);
            }
            struct stat st {};
            if (::stat(dir.c_str(), &st) != 0) {
                return failure("stat", dir, errno);
            }
            if (!S_ISDIR(st.st_mode)) {
                return failure("mkdir", dir, ENOTDIR);
            }
            // It may be there only in the page cache (a process killed
            // between its mkdir and the parent's fsync): sync it now too.
        }
        return sync_dir(parent_of(dir));
    }

    result<void> sync_dir(const std::string& dir) override {
        const int fd = open_retrying(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            return failure("open directory", dir, errno);
        }
        if (::fsync(fd) != 0) {
            const int err = errno;
            ::close(fd);
            return failure("fsync directory", dir, err);
        }
        if (::close(fd) != 0) {
            return failure("close directory", dir, errno);
        }
        return ok();
    }

    result<void> rename(const std::string& from, const std::string& to) override {
        if (::rename(from.c_str(), to.c_str()) != 0) {
            return failure(fmt::format("rename to {}", to), from, errno);
        }
        return ok();
    }

    result<void> remove(const std::string& path) override {
        if (::unlink(path.c_str()) != 0) {
            return failure("unlink", path, errno);
        }
        return ok();
    }
};

}  // namespace

error_info file_ops::failure(std::string_view call, const std::string& path, int err) const {
    return io_failure(_io_error, call, path, err);
}

std::shared_ptr<file_ops> posix_file_ops(std::error_code io_error) {
    return std::make_shared<posix_ops>(io_error);
}

std::string parent_of(const std::string& path) {
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos) {
        return ".";
    }
    if (slash == 0) {
        return "/";
    }
    return path.substr(0, slash);
}

result<void> remove_if_present(file_ops& fs, const std::string& path) {
    auto present = fs.exists(path);
    if (!present) {
        return present.error();
    }
    return *present ? fs.remove(path) : ok();
}

result<void> replace_file(file_ops& fs, const std::string& dir, std::string_view name,
                          std::initializer_list<std::string_view> pieces) {
    const std::string path = dir + "/" + std::string(name);
    const std::string tmp = path + ".tmp";  // the owner removes leftover .tmp files on open
    {
        auto f = fs.open(tmp, open_mode::create_or_truncate);
        if (!f) {
            return f.error();
        }
        uint64_t off = 0;
        for (const std::string_view piece : pieces) {
            if (auto r = (*f)->write_at(off, piece); !r) {
                return r;
            }
            off += piece.size();
        }
        // fsync, not fdatasync: the new file's size and inode must be on the
        // disk before the rename can make it the only copy.
        if (auto r = (*f)->sync(); !r) {
            return r;
        }
    }
    if (auto r = fs.rename(tmp, path); !r) {
        return r;
    }
    return fs.sync_dir(dir);
}

}  // namespace fjord::fs
