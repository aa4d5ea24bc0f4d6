#pragma once
// File: common/objstore/testing.h
//
// A store for tests that is as harsh as a real one can be: it wraps another
// store and, on demand, is down (every call errc::transient, as a bucket
// behind a dead network is after the backend's retries), fails the next n
// puts, or fails a put *after* it stored the object (the reply lost: the
// caller must not assume the object is absent). Header-only, test code.
#include <atomic>
#include <memory>
#include <mutex>

#include "common/objstore/errc.h"
#include "common/objstore/object_store.h"

namespace fjord::objstore::testing {

class fault_store final : public object_store {
  public:
    explicit fault_store(std::shared_ptr<object_store> inner) : _inner(std::move(inner)) {}

    /// Every call fails with errc::transient until set_down(false).
    void set_down(bool down) { _down = down; }
    /// The next `n` puts fail without storing anything.
    void fail_puts(int n) { _fail_puts = n; }
    /// The next `n` puts store the object, then report errc::transient.
    void lose_put_replies(int n) { _lose_replies = n; }
    /// Puts seen (whatever their outcome).
    uint64_t puts() const { return _puts; }

    result<void> put(const std::string& key, std::string_view bytes) override {
        ++_puts;
        if (auto d = down("put", key); !d) {
            return d;
        }
        if (_fail_puts > 0) {
            --_fail_puts;
            return error_info(errc::transient, "put " + key + ": injected failure");
        }
        auto r = _inner->put(key, bytes);
        if (r && _lose_replies > 0) {
            --_lose_replies;
            return error_info(errc::transient, "put " + key + ": injected lost reply");
        }
        return r;
    }
    result<std::string> get(const std::string& key, std::optional<byte_range> range) override {
        if (auto d = down("get", key); !d) {
            return d.error();
        }
        return _inner->get(key, range);
    }
    result<object_info> head(const std::string& key) override {
        if (auto d = down("head", key); !d) {
            return d.error();
        }
        return _inner->head(key);
    }
    result<std::vector<object_info>> list(const std::string& prefix) override {
        if (auto d = down("list", prefix); !d) {
            return d.error();
        }
        return _inner->list(prefix);
    }
    result<void> del(const std::string& key) override {
        if (auto d = down("del", key); !d) {
            return d;
        }
        return _inner->del(key);
    }
    std::string describe() const override { return "fault(" + _inner->describe() + ")"; }
    store_stats stats() const override { return _inner->stats(); }

  private:
    result<void> down(const char* op, const std::string& key) const {
        if (_down) {
            return error_info(errc::transient, std::string(op) + " " + key + ": store is down");
        }
        return ok();
    }

    std::shared_ptr<object_store> _inner;
    std::atomic<bool> _down{false};
    std::atomic<int> _fail_puts{0};
    std::atomic<int> _lose_replies{0};
    std::atomic<uint64_t> _puts{0};
};

}  // namespace fjord::objstore::testing
