// File: common/tls/watcher.cc

#include "common/tls/watcher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace fjord::tls {
namespace {

constexpr const char* component = "tls";

std::mutex registry_mu;
std::vector<std::weak_ptr<credential_watcher>>& registry() {
    static std::vector<std::weak_ptr<credential_watcher>> r;
    return r;
}

/// Writes `data` to `path` atomically (temp file, fsync, rename), mode 0600.
result<void> write_private(const std::string& path, const std::string& data) {
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return error_info(std::error_code(errno, std::generic_category()), "create " + tmp);
    }
    size_t off = 0;
    while (off < data.size()) {
        const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            const int e = errno;
            ::close(fd);
            return error_info(std::error_code(e, std::generic_category()), "write " + tmp);
        }
        off += static_cast<size_t>(n);
    }
    ::fsync(fd);
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        return error_info(std::error_code(errno, std::generic_category()), "rename " + tmp);
    }
    return {};
}

}  // namespace

credential_watcher::credential_watcher(tls_settings s, std::string name, std::string live_dir,
                                       std::chrono::milliseconds poll)
    : _settings(std::move(s)),
      _name(std::move(name)),
      _live_dir(std::move(live_dir)),
      _poll(poll) {}

result<std::shared_ptr<credential_watcher>> credential_watcher::start(
    tls_settings s, std::string name, std::string live_dir, std::chrono::milliseconds poll) {
    auto first = load_credentials(s);
    if (!first) {
        return error_info(first.error().code, name + ": " + first.error().detail);
    }
    if (::mkdir(live_dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return error_info(std::error_code(errno, std::generic_category()),
                          name + ": cannot create " + live_dir);
    }
    std::shared_ptr<credential_watcher> w(
        new credential_watcher(std::move(s), std::move(name), std::move(live_dir), poll));
    if (auto r = w->write_live(*first); !r) {
        return error_info(r.error().code, w->_name + ": " + r.error().detail);
    }
    w->_current = std::make_shared<const credential_set>(std::move(*first));
    w->_generation = 1;
    w->_thread = std::thread([raw = w.get()] { raw->run(); });
    {
        std::lock_guard g(registry_mu);
        auto& r = registry();
        std::erase_if(r, [](const auto& p) { return p.expired(); });
        r.push_back(w);
    }
    if (w->_current->cert_pem.empty()) {
        log(log_level::info, component, "{}: trusting the CAs in {}", w->_name,
            w->_settings.truststore_file.empty() ? "the system's store"
                                                 : w->_settings.truststore_file);
    } else {
        log(log_level::info, component, "{}: serving certificate {} (expires {})", w->_name,
            w->_current->subject, format_utc(w->_current->not_after));
    }
    return w;
}

credential_watcher::~credential_watcher() {
    stop();
}

void credential_watcher::stop() {
    {
        std::lock_guard g(_mu);
        _stopping = true;
    }
    _cv.notify_all();
    if (_thread.joinable() && _thread.get_id() != std::this_thread::get_id()) {
        _thread.join();
    }
}

std::shared_ptr<const credential_set> credential_watcher::current() const {
    std::lock_guard g(_mu);
    return _current;
}

std::string credential_watcher::live_ca_path() const {
    return _settings.truststore_file.empty() ? std::string() : _live_dir + "/ca.pem";
}

void credential_watcher::subscribe(std::function<void(const credential_set&)> fn) {
    std::lock_guard g(_mu);
    _subscribers.push_back(std::move(fn));
}

result<void> credential_watcher::write_live(const credential_set& c) {
    std::this_thread::sleep_until(_last_live_write + std::chrono::milliseconds(1100));
    _last_live_write = std::chrono::steady_clock::now();
    if (!_settings.truststore_file.empty()) {
        if (auto r = write_private(_live_dir + "/ca.pem", c.ca_pem); !r) {
            return r;
        }
    }
    std::string identity = c.key_pem;
    if (!identity.empty() && identity.back() != '\n') {
        identity += '\n';
    }
    identity += c.cert_pem;
    return write_private(_live_dir + "/identity.pem", identity);
}

result<bool> credential_watcher::reload() {
    std::lock_guard serial(_reload_mu);
    auto next = load_credentials(_settings);
    if (!next) {
        const std::string why = next.error().detail;
        bool first_time = false;
        {
            std::lock_guard g(_mu);
            first_time = _last_refused != why;
            _last_refused = why;
        }
        if (first_time) {
            log(log_level::warn, component,
                "{}: new TLS files refused, still serving the previous certificate: {}", _name,
                why);
        }
        return next.error();
    }
    std::vector<std::function<void(const credential_set&)>> subs;
    {
        std::lock_guard g(_mu);
        _last_refused.clear();
        if (*_current == *next) {
            return false;
        }
    }
    if (auto r = write_live(*next); !r) {
        log(log_level::warn, component, "{}: cannot update the live TLS copies: {}", _name,
            r.error().detail);
        return r.error();
    }
    auto taken = std::make_shared<const credential_set>(std::move(*next));
    {
        std::lock_guard g(_mu);
        _current = taken;
        subs = _subscribers;
    }
    ++_generation;
    log(log_level::info, component, "{}: reloaded TLS files, now serving certificate {}", _name,
        taken->subject.empty() ? "(none)" : taken->subject);
    for (const auto& fn : subs) {
        fn(*taken);
    }
    return true;
}

void credential_watcher::run() {
    std::unique_lock lk(_mu);
    while (!_stopping) {
        _cv.wait_for(lk, _poll, [this] { return _stopping; });
        if (_stopping) {
            break;
        }
        lk.unlock();
        (void)reload();
        lk.lock();
    }
}

void credential_watcher::reload_all() {
    std::vector<std::shared_ptr<credential_watcher>> live;
    {
        std::lock_guard g(registry_mu);
        for (const auto& w : registry()) {
            if (auto p = w.lock()) {
                live.push_back(std::move(p));
            }
        }
    }
    for (const auto& w : live) {
        (void)w->reload();
    }
}

}  // namespace fjord::tls
