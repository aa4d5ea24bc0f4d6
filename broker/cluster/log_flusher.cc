// File: broker/cluster/log_flusher.cc

#include "broker/cluster/log_flusher.h"

#include <chrono>
#include <utility>

#include "broker/storage/errc.h"

namespace fjord::broker {
namespace {

int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

log_flusher::log_flusher() : _now(wall_ms) {}

log_flusher::log_flusher(post_fn post, std::function<int64_t()> now, worker_mode mode)
    : _post(std::move(post)), _now(std::move(now)) {
    if (mode == worker_mode::thread) {
        _thread = std::thread([this] { worker(); });
    }
}

bool log_flusher::run_round() {
    std::shared_ptr<round> r;
    {
        std::lock_guard<std::mutex> lk(_mu);
        r = std::move(_handoff);
        _handoff = nullptr;
    }
    if (!r) {
        return false;
    }
    sync_round(r);
    return true;
}

void log_flusher::sync_round(std::shared_ptr<round> r) {
    for (auto& e : *r) {
        e->outcome = e->ticket.sync();
        e->synced = true;
    }
    // The completion owns the round from here (its waiters' captures die on
    // the io thread); `this` outlives it: stop() answers every waiter
    // itself, and a completion after stop() does nothing (the broker's io
    // thread has stopped by then and never runs it).
    _post([this, r = std::move(r)] { complete(*r); });
}

log_flusher::~log_flusher() {
    stop();
}

void log_flusher::sync(partition& p, done_fn done) {
    if (_stopped) {
        if (done) {
            done(error_info(storage::errc::not_open, "the broker is shutting down"));
        }
        return;
    }
    if (!_post) {
        const storage::flush_ticket t = p.log().prepare_flush();
        const result<void> synced = t.sync();
        ++_rounds;
        _syncs += t.log_file ? 1 : 0;
        const result<void> r = p.synced(t, synced, _now());
        if (done) {
            done(r);
        }
        return;
    }
    auto& e = _next[&p];
    if (!e) {
        e = std::make_shared<entry>();
        e->part = &p;
    }
    if (done) {
        e->waiters.push_back(std::move(done));
    }
    if (!_in_flight) {
        launch();
    }  // else it gathers for the next round
}

void log_flusher::launch() {
    if (_next.empty() || _stopped) {
        return;
    }
    // The tickets cover every append made until now.
    auto r = std::make_shared<round>();
    for (auto& [p, e] : _next) {
        e->ticket = p->log().prepare_flush();
        r->push_back(std::move(e));
    }
    _next.clear();
    _in_flight = r;
    {
        std::lock_guard<std::mutex> lk(_mu);
        _handoff = r;
    }
    _cv.notify_one();
}

void log_flusher::worker() {
    for (;;) {
        std::shared_ptr<round> r;
        {
            std::unique_lock<std::mutex> lk(_mu);
            _cv.wait(lk, [this] { return _quit || _handoff != nullptr; });
            if (_handoff == nullptr) {
                return;  // quit with nothing handed off
            }
            r = std::move(_handoff);
            _handoff = nullptr;
        }
        sync_round(std::move(r));
    }
}

void log_flusher::complete(const round& r) {
    if (_stopped) {
        return;  // stop() answered its waiters; the logs may be gone
    }
    if (_in_flight.get() == &r) {
        _in_flight = nullptr;
    }
    ++_rounds;
    const int64_t now = _now();
    for (const auto& e : r) {
        if (e->forgotten) {
            continue;  // its waiters heard errc::not_open already
        }
        _syncs += e->ticket.log_file ? 1 : 0;
        const result<void> res = e->part->synced(e->ticket, e->outcome, now);
        for (auto& w : e->waiters) {
            w(res);
        }
        e->waiters.clear();
    }
    launch();
}

void log_flusher::fail_all(const round& r, const error_info& e) {
    for (const auto& en : r) {
        for (auto& w : en->waiters) {
            w(e);
        }
        en->waiters.clear();
    }
}

void log_flusher::forget(partition& p) {
    const error_info closed(storage::errc::not_open,
                            "the partition's log was closed while the request waited");
    if (auto it = _next.find(&p); it != _next.end()) {
        auto e = it->second;
        _next.erase(it);
        e->forgotten = true;
        if (_post && !e->waiters.empty()) {
            // Later, on the io thread: the caller is in the middle of
            // closing logs.
            _post([e, closed] { fail_all(round{e}, closed); });
        } else {
            fail_all(round{e}, closed);
        }
    }
    if (_in_flight) {
        for (auto& e : *_in_flight) {
            if (e->part == &p && !e->forgotten) {
                e->forgotten = true;
                auto waiters = std::move(e->waiters);
                e->waiters.clear();
                auto copy = std::make_shared<entry>();
                copy->waiters = std::move(waiters);
                _post([copy, closed] { fail_all(round{copy}, closed); });
            }
        }
    }
}

void log_flusher::stop() {
    if (_stopped) {
        return;
    }
    _stopped = true;
    const error_info down(storage::errc::not_open, "the broker is shutting down");
    round pending;
    for (auto& [p, e] : _next) {
        pending.push_back(e);
    }
    _next.clear();
    fail_all(pending, down);
    if (_thread.joinable()) {
        {
            std::lock_guard<std::mutex> lk(_mu);
            _quit = true;
        }
        _cv.notify_one();
        _thread.join();
    }
    // The round in flight (handed off, or synced with its completion posted
    // to an io thread that has stopped): a sync that ran is reported to its
    // partition, which is alive by contract (forget() comes first), so a failed
    // fdatasync fails the log even now -- the error is reported once, and a
    // later flush_all() would otherwise succeed on the same descriptor.
    // The waiters are told the broker is going (their answer cannot be sent).
    _handoff = nullptr;
    if (_in_flight) {
        for (auto& e : *_in_flight) {
            if (e->synced && !e->forgotten) {
                (void)e->part->synced(e->ticket, e->outcome, _now(), /*wake=*/false);
            }
        }
        fail_all(*_in_flight, down);
        _in_flight = nullptr;
    }
}

}  // namespace fjord::broker
