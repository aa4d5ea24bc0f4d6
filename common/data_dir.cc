// File: common/data_dir.cc
//
// data_dir_lock, the identity file and sd_notify. Identity file format (text,
// so an operator can read it; the checksum makes edits or damage visible):
//
//   # Fjord data directory identity. Do not edit: a bad checksum stops the node.
//   format=1
//   node_id=1
//   cluster_uuid=9f1c0a52-6b1e-4c3d-8e2f-0a1b2c3d4e5f     (empty until known)
//   crc32c=1a2b3c4d                                       (over every byte before this line)

#include "common/data_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "common/crc32c.h"
#include "common/log.h"
#include "common/uuid.h"

namespace fjord {
namespace {

constexpr std::string_view component = "data_dir";
constexpr std::string_view lock_name = "LOCK";
constexpr std::string_view identity_name = "identity";
constexpr std::string_view identity_tmp_name = "identity.tmp";
constexpr size_t max_identity_bytes = 4096;

class data_dir_category_impl final : public std::error_category {
  public:
    const char* name() const noexcept override { return "fjord.data_dir"; }
    std::string message(int c) const override {
        switch (static_cast<data_dir_errc>(c)) {
            case data_dir_errc::success:
                return "success";
            case data_dir_errc::locked:
                return "data directory locked";
            case data_dir_errc::foreign_node:
                return "data directory belongs to another node";
            case data_dir_errc::foreign_cluster:
                return "data directory belongs to another cluster";
            case data_dir_errc::not_empty:
                return "data directory has data but no identity";
            case data_dir_errc::corrupt:
                return "identity file corrupt";
            case data_dir_errc::io_error:
                return "I/O error";
            case data_dir_errc::invalid_uuid:
                return "invalid cluster uuid";
        }
        return "unknown data_dir error";
    }
};

std::string join(const std::string& dir, std::string_view name) {
    return fmt::format("{}/{}", dir, name);
}

error_info io_error(std::string_view call, const std::string& path, int err) {
    return error_info(data_dir_errc::io_error,
                      fmt::format("{} {}: {}", call, path, std::strerror(err)));
}

int open_retry(const char* path, int flags, mode_t mode = 0) {
    int fd = -1;
    do {
        fd = ::open(path, flags, mode);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

result<void> write_all(int fd, std::string_view data, const std::string& path) {
    size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return io_error("write", path, n < 0 ? errno : EIO);
        }
        done += static_cast<size_t>(n);
    }
    return ok();
}

// Reads at most `limit` + 1 bytes (so callers can tell "too big").
result<std::string> read_small(int fd, const std::string& path, size_t limit) {
    std::string out;
    char buf[1024];
    while (out.size() <= limit) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return io_error("read", path, errno);
        }
        if (n == 0) {
            break;
        }
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

result<void> sync_dir(const std::string& dir) {
    const int fd = open_retry(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return io_error("open directory", dir, errno);
    }
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) {
        return io_error("fsync directory", dir, err);
    }
    return ok();
}

std::string encode_identity(node_id node, std::string_view cluster_uuid) {
    return encode_checked_kv(
        fmt::format("# Fjord data directory identity. Do not edit: a bad checksum stops the node.\n"
                    "format=1\n"
                    "node_id={}\n"
                    "cluster_uuid={}\n",
                    node, cluster_uuid));
}

result<identity> decode_identity(const std::string& dir, const std::string& path,
                                 std::string_view text) {
    auto pairs = decode_checked_kv(text, path, max_identity_bytes);
    if (!pairs) {
        return pairs.error();
    }
    identity id;
    id.dir = dir;
    bool have_format = false;
    bool have_node = false;
    bool have_cluster = false;
    for (const auto& [key, value] : *pairs) {
        if (key == "format") {
            if (value != "1") {
                return checked_kv_corrupt(path, fmt::format("unsupported format {}", value));
            }
            have_format = true;
        } else if (key == "node_id") {
            uint64_t v = 0;
            const auto [e, c] = std::from_chars(value.data(), value.data() + value.size(), v);
            if (c != std::errc() || e != value.data() + value.size() || v == 0 ||
                value.find_first_not_of("0123456789") != std::string_view::npos) {
                return checked_kv_corrupt(path, fmt::format("bad node_id \"{}\"", value));
            }
            id.node_id = node_id(v);
            have_node = true;
        } else if (key == "cluster_uuid") {
            if (!value.empty()) {
                const auto u = parse_uuid(value);
                if (!u || *u != value) {
                    return checked_kv_corrupt(path, fmt::format("bad cluster_uuid \"{}\"", value));
                }
                id.cluster_uuid = *u;
            }
            have_cluster = true;
        } else {
            return checked_kv_corrupt(path, fmt::format("unknown key \"{}\"", key));
        }
    }
    if (!have_format || !have_node || !have_cluster) {
        return checked_kv_corrupt(path, "missing format, node_id or cluster_uuid");
    }
    return id;
}

result<void> write_identity(const std::string& dir, node_id node, std::string_view cluster_uuid) {
    return write_file_durably(dir, identity_name, encode_identity(node, cluster_uuid));
}

}  // namespace

std::string encode_checked_kv(std::string body) {
    body += fmt::format("crc32c={:08x}\n", crc32c(body));
    return body;
}

error_info checked_kv_corrupt(const std::string& path, std::string_view why) {
    return error_info(data_dir_errc::corrupt,
                      fmt::format("{}: {}; the file is damaged or was edited", path, why));
}

result<std::vector<std::pair<std::string_view, std::string_view>>> decode_checked_kv(
    std::string_view text, const std::string& path, size_t max_bytes) {
    if (text.size() > max_bytes) {
        return checked_kv_corrupt(path, fmt::format("larger than {} bytes", max_bytes));
    }
    if (!text.ends_with('\n')) {
        return checked_kv_corrupt(path, "truncated (no final newline)");
    }
    const size_t crc_at = text.rfind("crc32c=");
    if (crc_at == std::string_view::npos || (crc_at != 0 && text[crc_at - 1] != '\n')) {
        return checked_kv_corrupt(path, "no crc32c line");
    }
    const std::string_view crc_text = text.substr(crc_at + 7, text.size() - crc_at - 8);
    uint32_t want = 0;
    const auto [end, ec] =
        std::from_chars(crc_text.data(), crc_text.data() + crc_text.size(), want, 16);
    if (crc_text.size() != 8 || ec != std::errc() || end != crc_text.data() + crc_text.size()) {
        return checked_kv_corrupt(path, "malformed crc32c line");
    }
    const std::string_view body = text.substr(0, crc_at);
    if (crc32c(body) != want) {
        return checked_kv_corrupt(path, "checksum mismatch");
    }
    std::vector<std::pair<std::string_view, std::string_view>> pairs;
    size_t start = 0;
    while (start < body.size()) {
        size_t nl = body.find('\n', start);
        if (nl == std::string_view::npos) {
            nl = body.size();
        }
        const std::string_view line = body.substr(start, nl - start);
        start = nl + 1;
        if (line.empty() || line.starts_with('#')) {
            continue;
        }
        const size_t eq = line.find('=');
        if (eq == std::string_view::npos) {
            return checked_kv_corrupt(path, fmt::format("line \"{}\" is not key=value", line));
        }
        pairs.emplace_back(line.substr(0, eq), line.substr(eq + 1));
    }
    return pairs;
}

// temp file → write → fsync → rename over the file → fsync the directory.
result<void> write_file_durably(const std::string& dir, std::string_view name,
                                std::string_view data) {
    const std::string final_path = join(dir, name);
    const std::string tmp = final_path + ".tmp";
    const int fd = open_retry(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return io_error("open", tmp, errno);
    }
    auto w = write_all(fd, data, tmp);
    if (w && ::fsync(fd) != 0) {
        w = io_error("fsync", tmp, errno);
    }
    if (::close(fd) != 0 && w) {
        w = io_error("close", tmp, errno);
    }
    if (!w) {
        ::unlink(tmp.c_str());
        return w;
    }
    if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return io_error("rename to " + final_path, tmp, err);
    }
    return sync_dir(dir);
}

const std::error_category& data_dir_category() {
    static const data_dir_category_impl c;
    return c;
}

// --- data_dir_lock ---

result<data_dir_lock> data_dir_lock::acquire(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        return io_error("mkdir", dir, errno);
    }
    const std::string path = join(dir, lock_name);
    const int fd = open_retry(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        return io_error("open", path, errno);
    }
    int rc = 0;
    do {
        rc = ::flock(fd, LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        const int err = errno;
        if (err != EWOULDBLOCK) {
            ::close(fd);
            return io_error("flock", path, err);
        }
        // The holder writes its pid right after locking; it may not have yet.
        std::string holder = "pid unknown";
        auto text = read_small(fd, path, 32);
        if (text) {
            std::string_view t = *text;
            while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) {
                t.remove_suffix(1);
            }
            if (!t.empty() && t.size() <= 20 &&
                t.find_first_not_of("0123456789") == std::string_view::npos) {
                holder = fmt::format("pid {}", t);
            }
        }
        ::close(fd);
        return error_info(
            data_dir_errc::locked,
            fmt::format("data dir {} is locked by another process ({})", dir, holder));
    }
    const std::string pid = fmt::format("{}\n", ::getpid());
    if (::ftruncate(fd, 0) != 0) {
        const int err = errno;
        ::close(fd);
        return io_error("ftruncate", path, err);
    }
    ssize_t n = 0;
    do {
        n = ::pwrite(fd, pid.data(), pid.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(pid.size())) {
        const int err = n < 0 ? errno : EIO;
        ::close(fd);
        return io_error("write pid to", path, err);
    }
    return data_dir_lock(dir, fd);
}

data_dir_lock::data_dir_lock(data_dir_lock&& o) noexcept
    : _dir(std::move(o._dir)), _fd(std::exchange(o._fd, -1)) {}

data_dir_lock& data_dir_lock::operator=(data_dir_lock&& o) noexcept {
    if (this != &o) {
        if (_fd >= 0) {
            ::close(_fd);
        }
        _dir = std::move(o._dir);
        _fd = std::exchange(o._fd, -1);
    }
    return *this;
}

data_dir_lock::~data_dir_lock() {
    if (_fd >= 0) {
        ::close(_fd);  // releases the flock
    }
}

// --- identity ---

result<identity> load_identity(const std::string& dir) {
    const std::string path = join(dir, identity_name);
    const int fd = open_retry(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return io_error("open", path, errno);
    }
    auto text = read_small(fd, path, max_identity_bytes);
    ::close(fd);
    if (!text) {
        return text.error();
    }
    return decode_identity(dir, path, *text);
}

result<identity> load_or_create_identity(const std::string& dir, node_id node) {
    auto id = load_identity(dir);
    if (id) {
        if (id->node_id != node) {
            return error_info(data_dir_errc::foreign_node,
                              fmt::format("data dir {} belongs to node {}, this is node {}", dir,
                                          id->node_id, node));
        }
        return id;
    }
    const std::string path = join(dir, identity_name);
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 || errno != ENOENT) {
        return id.error();  // it exists but could not be read or decoded
    }
    // No identity: only claim a directory with nothing in it worth keeping.
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        return io_error("opendir", dir, errno);
    }
    std::vector<std::string> others;
    errno = 0;
    while (const dirent* e = ::readdir(d)) {
        const std::string_view name(e->d_name);
        if (name != "." && name != ".." && name != lock_name && name != identity_tmp_name) {
            others.emplace_back(name);
        }
    }
    const int err = errno;
    ::closedir(d);
    if (err != 0) {
        return io_error("readdir", dir, err);
    }
    if (!others.empty()) {
        std::sort(others.begin(), others.end());
        std::string listed;
        for (const std::string& o : others) {
            listed += listed.empty() ? o : ", " + o;
        }
        return error_info(
            data_dir_errc::not_empty,
            fmt::format("data dir {} holds data ({}) but no identity file; refusing to claim it "
                        "for node {}",
                        dir, listed, node));
    }
    if (auto w = write_identity(dir, node, ""); !w) {
        return w.error();
    }
    log(log_level::info, component, "data dir {} now belongs to node {}", dir, node);
    return identity{node, "", dir};
}

result<void> record_cluster_uuid(const std::string& dir, std::string_view uuid) {
    const auto u = parse_uuid(uuid);
    if (!u) {
        return error_info(data_dir_errc::invalid_uuid,
                          fmt::format("\"{}\" is not a UUID (8-4-4-4-12 hex digits)", uuid));
    }
    auto id = load_identity(dir);
    if (!id) {
        return id.error();
    }
    if (id->cluster_uuid == *u) {
        return ok();
    }
    if (!id->cluster_uuid.empty()) {
        return error_info(
            data_dir_errc::foreign_cluster,
            fmt::format("data dir {} belongs to cluster {}, not {}", dir, id->cluster_uuid, *u));
    }
    if (auto w = write_identity(dir, id->node_id, *u); !w) {
        return w;
    }
    log(log_level::info, component, "data dir {} now belongs to cluster {}", dir, *u);
    return ok();
}

result<void> check_expected_cluster(const identity& id, std::string_view cluster_id) {
    if (cluster_id.empty()) {
        return ok();
    }
    const auto want = parse_uuid(cluster_id);
    if (!want) {
        return error_info(data_dir_errc::invalid_uuid,
                          fmt::format("\"{}\" is not a UUID (8-4-4-4-12 hex digits)", cluster_id));
    }
    if (id.cluster_uuid.empty() || id.cluster_uuid == *want) {
        return ok();
    }
    return error_info(
        data_dir_errc::foreign_cluster,
        fmt::format("data dir {} belongs to cluster {}, not {}", id.dir, id.cluster_uuid, *want));
}

// --- sd_notify ---

bool sd_notify(std::string_view state) {
    const char* env = std::getenv("NOTIFY_SOCKET");
    if (env == nullptr || *env == '\0') {
        return false;
    }
    const std::string_view target(env);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (target[0] != '/' && target[0] != '@') {
        log(log_level::warn, component, "sd_notify: NOTIFY_SOCKET={} is not a unix socket path",
            target);
        return false;
    }
    if (target.size() >= sizeof addr.sun_path) {
        log(log_level::warn, component, "sd_notify: NOTIFY_SOCKET is too long ({} bytes)",
            target.size());
        return false;
    }
    std::memcpy(addr.sun_path, target.data(), target.size());
    if (target[0] == '@') {
        addr.sun_path[0] = '\0';  // abstract namespace: leading NUL, no terminator
    }
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + target.size());
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log(log_level::warn, component, "sd_notify: socket: {}", std::strerror(errno));
        return false;
    }
    ssize_t n = 0;
    do {
        n = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                     reinterpret_cast<const sockaddr*>(&addr), len);
    } while (n < 0 && errno == EINTR);
    const int err = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(state.size())) {
        log(log_level::warn, component, "sd_notify({}) to {}: {}", state, target,
            n < 0 ? std::strerror(err) : "short send");
        return false;
    }
    return true;
}

bool sd_notify_ready() {
    return sd_notify("READY=1");
}

bool sd_notify_stopping() {
    return sd_notify("STOPPING=1");
}

}  // namespace fjord
