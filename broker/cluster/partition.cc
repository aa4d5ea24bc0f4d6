// File: broker/cluster/partition.cc

#include "broker/cluster/partition.h"

#include <utility>
#include <vector>

#include "broker/cluster/log_flusher.h"
#include "common/log.h"

namespace fjord::broker {
namespace {

constexpr const char* component = "flusher";

}  // namespace

partition::partition(std::unique_ptr<storage::partition_log> log, log_flusher& flusher)
    : _log(std::move(log)), _flusher(flusher) {}

result<storage::append_info> partition::append(std::string batch, int64_t now_ms) {
    auto r = _log->append(std::move(batch), now_ms);
    if (r && _log->config().write_caching) {
        // Readable and acknowledged once written; the flush policy bounds
        // what a power loss takes.
        raise(_log->log_end_offset(), true);
    }
    return r;
}

result<storage::append_info> partition::append_copy(std::string batch, int64_t now_ms) {
    auto r = _log->append_copy(std::move(batch), now_ms);
    if (r && _log->config().write_caching) {
        raise(_log->log_end_offset(), true);
    }
    return r;
}

result<void> partition::move_empty_start(kafka_offset o, int64_t now_ms) {
    const kafka_offset before = _log->high_watermark();
    auto r = _log->move_empty_start(o, now_ms);
    if (r && _log->high_watermark() > before) {
        wake();  // the log moved it (nothing lies below it)
    }
    return r;
}

void partition::sync(std::function<void(const result<void>&)> done) {
    _flusher.sync(*this, std::move(done));
}

result<void> partition::synced(const storage::flush_ticket& t, const result<void>& synced,
                               int64_t now_ms, bool wake) {
    result<void> outcome = _log->complete_flush(t, synced, now_ms);
    if (!outcome) {
        fjord::log(log_level::error, component, "{}: fdatasync failed: {}; the log refuses writes",
                   _log->dir(), outcome.error().detail);
        return outcome;
    }
    raise(_log->config().write_caching ? _log->log_end_offset() : _log->flushed_offset(), wake);
    return outcome;
}

partition::subscription partition::observe(observer fn) {
    // Released handles are dropped here too, not only at a move: a partition
    // whose high watermark stays while Fetches park and time out on it
    // would otherwise collect them without bound.
    std::erase_if(_observers, [](const std::weak_ptr<observer>& w) { return w.expired(); });
    auto s = std::make_shared<observer>(std::move(fn));
    _observers.push_back(s);
    return s;
}

void partition::raise(kafka_offset hw, bool wake) {
    if (hw <= _log->high_watermark()) {
        return;
    }
    (void)_log->set_high_watermark(hw);
    if (wake) {
        this->wake();
    }
}

void partition::wake() {
    // A snapshot of the live observers, each kept alive while it runs: one
    // may drop its own or another's handle, or subscribe anew.
    std::vector<subscription> live;
    for (const auto& w : _observers) {
        if (auto s = w.lock()) {
            live.push_back(std::move(s));
        }
    }
    for (const auto& s : live) {
        (*s)();
    }
}

}  // namespace fjord::broker
