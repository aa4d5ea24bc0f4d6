// File: common/data_dir_test.cc
//
// data_dir_lock (exclusion within a process and across processes, the pid in
// the message, release on destruction), the identity file (create, reload,
// foreign node, foreign cluster, refusal to claim a non-empty directory,
// corruption detection, atomic rewrite) and sd_notify over real unix
// datagram sockets (path and abstract namespace).

#include "common/data_dir.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "common/uuid.h"

namespace fjord {
namespace {

[[maybe_unused]] const bool quiet_logs = [] {
    if (std::getenv("FJORD_LOG") == nullptr) {
        set_log_level(log_level::error);
    }
    return true;
}();

class temp_dir {
  public:
    temp_dir() {
        char tmpl[] = "/tmp/fjord_data_dir_test_XXXXXX";
        const char* p = ::mkdtemp(tmpl);
        EXPECT_NE(p, nullptr);
        _path = p == nullptr ? "/tmp" : p;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(_path, ec);
    }
    const std::string& path() const { return _path; }

  private:
    std::string _path;
};

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_file(const std::string& path, std::string_view contents) {
    std::ofstream(path, std::ios::trunc) << contents;
}

TEST(data_dir_lock, creates_dir_and_writes_pid) {
    temp_dir t;
    const std::string dir = t.path() + "/data";
    auto l = data_dir_lock::acquire(dir);
    ASSERT_TRUE(l) << l.error().message();
    EXPECT_EQ(l->dir(), dir);
    EXPECT_EQ(read_file(dir + "/LOCK"), std::to_string(::getpid()) + "\n");
}

TEST(data_dir_lock, second_acquire_in_process_fails_until_released) {
    temp_dir t;
    {
        auto first = data_dir_lock::acquire(t.path());
        ASSERT_TRUE(first) << first.error().message();
        auto second = data_dir_lock::acquire(t.path());
        ASSERT_FALSE(second);
        EXPECT_EQ(second.code(), data_dir_errc::locked);
        EXPECT_EQ(
            second.error().detail,
            fmt::format("data dir {} is locked by another process (pid {})", t.path(), ::getpid()));
        // Moving the lock keeps it held.
        data_dir_lock moved = std::move(*first);
        EXPECT_FALSE(data_dir_lock::acquire(t.path()));
    }
    auto again = data_dir_lock::acquire(t.path());
    EXPECT_TRUE(again) << again.error().message();
}

TEST(data_dir_lock, another_process_is_refused_with_its_pid) {
    temp_dir t;
    int ready[2];
    int release[2];
    ASSERT_EQ(::pipe(ready), 0);
    ASSERT_EQ(::pipe(release), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        auto l = data_dir_lock::acquire(t.path());
        const char ok = l ? 'y' : 'n';
        (void)::write(ready[1], &ok, 1);
        char c;
        (void)::read(release[0], &c, 1);
        ::_exit(0);
    }
    char ok = 0;
    ASSERT_EQ(::read(ready[0], &ok, 1), 1);
    ASSERT_EQ(ok, 'y');
    auto mine = data_dir_lock::acquire(t.path());
    ASSERT_FALSE(mine);
    EXPECT_EQ(mine.code(), data_dir_errc::locked);
    EXPECT_EQ(mine.error().detail,
              fmt::format("data dir {} is locked by another process (pid {})", t.path(), child));
    // When the holder exits the kernel releases the lock: no stale lock.
    (void)::write(release[1], "x", 1);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    auto after = data_dir_lock::acquire(t.path());
    EXPECT_TRUE(after) << after.error().message();
    for (const int fd : {ready[0], ready[1], release[0], release[1]}) {
        ::close(fd);
    }
}

TEST(data_dir_lock, holder_without_pid_yet) {
    temp_dir t;
    auto first = data_dir_lock::acquire(t.path());
    ASSERT_TRUE(first);
    write_file(t.path() + "/LOCK", "");
    auto second = data_dir_lock::acquire(t.path());
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().detail,
              fmt::format("data dir {} is locked by another process (pid unknown)", t.path()));
}

TEST(data_dir_lock, missing_parent_is_an_io_error) {
    auto l = data_dir_lock::acquire("/nonexistent/parent/data");
    ASSERT_FALSE(l);
    EXPECT_EQ(l.code(), data_dir_errc::io_error);
    EXPECT_EQ(l.error().detail, "mkdir /nonexistent/parent/data: No such file or directory");
}

TEST(identity, created_once_then_reloaded) {
    temp_dir t;
    auto lock = data_dir_lock::acquire(t.path());
    ASSERT_TRUE(lock);
    auto id = load_or_create_identity(t.path(), node_id{1});
    ASSERT_TRUE(id) << id.error().message();
    EXPECT_EQ(id->node_id, node_id{1});
    EXPECT_EQ(id->cluster_uuid, "");
    EXPECT_EQ(id->dir, t.path());
    const std::string text = read_file(t.path() + "/identity");
    EXPECT_TRUE(
        text.starts_with("# Fjord data directory identity. Do not edit: a bad checksum "
                         "stops the node.\nformat=1\nnode_id=1\ncluster_uuid=\ncrc32c="))
        << text;
    EXPECT_FALSE(std::filesystem::exists(t.path() + "/identity.tmp"));

    auto again = load_or_create_identity(t.path(), node_id{1});
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(again->node_id, node_id{1});
    EXPECT_EQ(read_file(t.path() + "/identity"), text);  // not rewritten
}

TEST(identity, belongs_to_another_node) {
    temp_dir t;
    ASSERT_TRUE(load_or_create_identity(t.path(), node_id{2}));
    auto id = load_or_create_identity(t.path(), node_id{1});
    ASSERT_FALSE(id);
    EXPECT_EQ(id.code(), data_dir_errc::foreign_node);
    EXPECT_EQ(id.error().detail,
              fmt::format("data dir {} belongs to node 2, this is node 1", t.path()));
}

TEST(identity, refuses_to_claim_a_dir_with_data) {
    temp_dir t;
    ASSERT_EQ(::mkdir((t.path() + "/log").c_str(), 0755), 0);
    write_file(t.path() + "/hard_state", "x");
    write_file(t.path() + "/LOCK", "1\n");
    write_file(t.path() + "/identity.tmp", "half-written");
    auto id = load_or_create_identity(t.path(), node_id{1});
    ASSERT_FALSE(id);
    EXPECT_EQ(id.code(), data_dir_errc::not_empty);
    EXPECT_EQ(id.error().detail,
              fmt::format("data dir {} holds data (hard_state, log) but no identity file; "
                          "refusing to claim it for node 1",
                          t.path()));
}

TEST(identity, stale_temp_file_is_ignored_and_replaced) {
    temp_dir t;
    write_file(t.path() + "/identity.tmp", "half-written");
    auto id = load_or_create_identity(t.path(), node_id{5});
    ASSERT_TRUE(id) << id.error().message();
    EXPECT_FALSE(std::filesystem::exists(t.path() + "/identity.tmp"));
}

TEST(identity, corruption_is_detected) {
    temp_dir t;
    ASSERT_TRUE(load_or_create_identity(t.path(), node_id{1}));
    const std::string path = t.path() + "/identity";
    const std::string good = read_file(path);

    struct damage {
        std::string contents;
        std::string why;
    };
    std::string edited = good;
    edited.replace(edited.find("node_id=1"), 9, "node_id=2");
    std::string bad_crc = good;
    bad_crc.replace(bad_crc.find("crc32c=") + 7, 8, "zzzzzzzz");
    const std::vector<damage> cases = {
        {edited, "checksum mismatch"},
        {good.substr(0, good.size() - 1), "truncated (no final newline)"},
        {"", "truncated (no final newline)"},
        {"format=1\n", "no crc32c line"},
        {bad_crc, "malformed crc32c line"},
        {std::string(5000, '\n'), "larger than 4096 bytes"},
    };
    for (const damage& d : cases) {
        write_file(path, d.contents);
        auto id = load_or_create_identity(t.path(), node_id{1});
        ASSERT_FALSE(id) << d.why;
        EXPECT_EQ(id.code(), data_dir_errc::corrupt);
        EXPECT_EQ(id.error().detail,
                  fmt::format("{}: {}; the file is damaged or was edited", path, d.why));
    }
    // A damaged identity is never replaced by a fresh one.
    EXPECT_EQ(read_file(path), cases.back().contents);
}

TEST(identity, record_cluster_uuid) {
    temp_dir t;
    ASSERT_TRUE(load_or_create_identity(t.path(), node_id{3}));
    const std::string a = new_uuid();
    const std::string b = new_uuid();

    auto bad = record_cluster_uuid(t.path(), "not-a-uuid");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.code(), data_dir_errc::invalid_uuid);
    EXPECT_EQ(bad.error().detail, "\"not-a-uuid\" is not a UUID (8-4-4-4-12 hex digits)");

    // Upper case input is stored canonical; recording the same one is a no-op.
    std::string upper = a;
    for (char& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    auto r = record_cluster_uuid(t.path(), upper);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(record_cluster_uuid(t.path(), a));
    auto id = load_or_create_identity(t.path(), node_id{3});
    ASSERT_TRUE(id);
    EXPECT_EQ(id->cluster_uuid, a);
    EXPECT_NE(read_file(t.path() + "/identity").find("cluster_uuid=" + a + "\n"),
              std::string::npos);

    auto other = record_cluster_uuid(t.path(), b);
    ASSERT_FALSE(other);
    EXPECT_EQ(other.code(), data_dir_errc::foreign_cluster);
    EXPECT_EQ(other.error().detail,
              fmt::format("data dir {} belongs to cluster {}, not {}", t.path(), a, b));

    temp_dir empty;
    auto none = record_cluster_uuid(empty.path(), a);
    ASSERT_FALSE(none);
    EXPECT_EQ(none.code(), data_dir_errc::io_error);
    EXPECT_EQ(none.error().detail,
              fmt::format("open {}/identity: No such file or directory", empty.path()));
}

TEST(identity, check_expected_cluster) {
    const std::string a = new_uuid();
    const std::string b = new_uuid();
    const identity unknown{node_id{1}, "", "/d"};
    const identity known{node_id{1}, a, "/d"};
    EXPECT_TRUE(check_expected_cluster(unknown, ""));
    EXPECT_TRUE(check_expected_cluster(unknown, b));  // not known yet: checked when recorded
    EXPECT_TRUE(check_expected_cluster(known, ""));
    EXPECT_TRUE(check_expected_cluster(known, a));
    std::string upper = a;
    for (char& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    EXPECT_TRUE(check_expected_cluster(known, upper));
    auto r = check_expected_cluster(known, b);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), data_dir_errc::foreign_cluster);
    EXPECT_EQ(r.error().detail, fmt::format("data dir /d belongs to cluster {}, not {}", a, b));
    auto bad = check_expected_cluster(known, "xyz");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.code(), data_dir_errc::invalid_uuid);
}

TEST(data_dir_errc, messages) {
    EXPECT_STREQ(data_dir_category().name(), "fjord.data_dir");
    const error_info e(data_dir_errc::foreign_node,
                       "data dir /d belongs to node 2, this is node 1");
    EXPECT_EQ(e.message(),
              "fjord.data_dir: data directory belongs to another node: data dir /d belongs to "
              "node 2, this is node 1");
}

// A unix datagram socket bound to `addr`; closes on destruction.
class notify_receiver {
  public:
    explicit notify_receiver(const sockaddr_un& addr, socklen_t len) {
        _fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        EXPECT_GE(_fd, 0);
        EXPECT_EQ(::bind(_fd, reinterpret_cast<const sockaddr*>(&addr), len), 0)
            << std::strerror(errno);
        timeval tv{5, 0};
        ::setsockopt(_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~notify_receiver() { ::close(_fd); }

    std::string receive() {
        char buf[256];
        const ssize_t n = ::recv(_fd, buf, sizeof buf, 0);
        return n < 0 ? "<nothing>" : std::string(buf, static_cast<size_t>(n));
    }

  private:
    int _fd = -1;
};

class env_guard {
  public:
    explicit env_guard(const std::string& value) { ::setenv("NOTIFY_SOCKET", value.c_str(), 1); }
    ~env_guard() { ::unsetenv("NOTIFY_SOCKET"); }
};

TEST(sd_notify, path_socket) {
    temp_dir t;
    const std::string path = t.path() + "/notify.sock";
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    notify_receiver rx(addr, sizeof addr);
    env_guard env(path);
    EXPECT_TRUE(sd_notify_ready());
    EXPECT_EQ(rx.receive(), "READY=1");
    EXPECT_TRUE(sd_notify("STATUS=replaying log"));
    EXPECT_EQ(rx.receive(), "STATUS=replaying log");
    EXPECT_TRUE(sd_notify_stopping());
    EXPECT_EQ(rx.receive(), "STOPPING=1");
}

TEST(sd_notify, abstract_socket) {
    const std::string name = "fjord-test-" + new_uuid();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, name.data(), name.size());  // sun_path[0] = '\0'
    notify_receiver rx(addr,
                       static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size()));
    env_guard env("@" + name);
    EXPECT_TRUE(sd_notify_ready());
    EXPECT_EQ(rx.receive(), "READY=1");
}

TEST(sd_notify, not_configured_or_broken_is_not_fatal) {
    ::unsetenv("NOTIFY_SOCKET");
    EXPECT_FALSE(sd_notify_ready());
    {
        env_guard env("/nonexistent/notify.sock");
        EXPECT_FALSE(sd_notify_ready());
    }
    {
        env_guard env("vsock:2:1234");
        EXPECT_FALSE(sd_notify_ready());
    }
    {
        env_guard env("/" + std::string(200, 'x'));
        EXPECT_FALSE(sd_notify_ready());
    }
}

}  // namespace
}  // namespace fjord
