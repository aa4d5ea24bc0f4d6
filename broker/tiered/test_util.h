#pragma once
// File: broker/tiered/test_util.h
//
// Test helpers of the read side: a bucket with a partition's remote log in
// it, written the way the archiver writes one (segment objects of real
// record batches, built with broker/storage's batch builder, then the
// partition manifest naming them with their sizes and CRC-32Cs), and an
// io thread the test drives by hand.

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "broker/storage/log_test_util.h"
#include "common/crc32c.h"
#include "common/objstore/local_store.h"
#include "common/tiered/layout.h"
#include "common/tiered/manifest.h"

namespace fjord::broker::tiered_read::testing {

namespace layout = ::fjord::tiered;

inline constexpr const char* test_location =
    "orders/00000000-0000-4000-8000-00000000c1c1/00000000-0000-4000-8000-0000000070b1";

/// One segment to upload: `batches` batches of `records` records each,
/// timestamps from `first_ts` (one per record).
struct segment_spec {
    int batches = 4;
    int records = 5;
    int64_t first_ts = 1000;
    size_t value_size = 100;
};

/// A remote log being built: its batches as they were uploaded.
struct remote_log {
    std::string location = test_location;
    int32_t partition = 0;
    layout::partition_manifest manifest;
    /// Every batch uploaded, with its base offset; and each segment's object bytes.
    std::vector<std::pair<int64_t, std::string>> batches;
    std::vector<std::string> objects;
    int64_t next = 0;

    remote_log() {
        manifest.location = location;
        manifest.partition = partition;
    }

    /// The bytes of a segment of `s` starting at the current end; appended
    /// to the manifest (not uploaded: upload() does).
    const layout::segment_meta& add(const segment_spec& s, int64_t epoch = 1) {
        std::string object;
        const int64_t base = next;
        int64_t ts = s.first_ts;
        int64_t max_ts = -1;
        for (int b = 0; b < s.batches; ++b) {
            std::string batch = storage::testing::with_base_offset(
                storage::testing::make_batch(s.records, ts, s.value_size, static_cast<int>(next)),
                next);
            batches.emplace_back(next, batch);
            object += batch;
            next += s.records;
            max_ts = ts + s.records - 1;
            ts += s.records;
        }
        layout::segment_meta m;
        m.base_offset = base;
        m.last_offset = next - 1;
        m.base_timestamp = s.first_ts;
        m.max_timestamp = max_ts;
        m.epoch = epoch;
        m.size = object.size();
        m.crc32c = crc32c(object);
        m.name = layout::segment_name(m.base_offset, m.last_offset, m.epoch);
        manifest.segments.push_back(m);
        objects.push_back(std::move(object));
        return manifest.segments.back();
    }

    /// Puts every segment object, then the manifest (the archiver's order).
    void upload(objstore::object_store& store) const {
        for (size_t i = 0; i < objects.size(); ++i) {
            ASSERT_TRUE(store.put(
                layout::segment_key(location, partition, manifest.segments[i].name), objects[i]));
        }
        ASSERT_TRUE(store.put(layout::partition_manifest_key(location, partition),
                              layout::encode(manifest)));
    }

    /// The concatenated batches from the one holding `from` up to (not
    /// including) the one holding `to`.
    std::string bytes(int64_t from, int64_t to) const {
        std::string out;
        for (size_t i = 0; i < batches.size(); ++i) {
            const int64_t base = batches[i].first;
            const int64_t last = i + 1 < batches.size() ? batches[i + 1].first - 1 : next - 1;
            if (last >= from && base < to) {
                out += batches[i].second;
            }
        }
        return out;
    }
};

/// The io thread, driven by the test: posted work queues up until run().
class manual_io {
  public:
    void post(std::function<void()> fn) {
        std::lock_guard lk(_mu);
        _posted.push_back(std::move(fn));
    }
    void schedule(std::chrono::milliseconds d, std::function<void()> fn) {
        _timers.push_back({d, std::move(fn)});
    }
    /// Runs what was posted so far; returns how many ran.
    size_t run() {
        std::deque<std::function<void()>> now;
        {
            std::lock_guard lk(_mu);
            now.swap(_posted);
        }
        for (auto& f : now) {
            f();
        }
        return now.size();
    }
    /// Runs posted work until `done()` holds (or about 10 s pass).
    bool run_until(const std::function<bool()>& done) {
        for (int i = 0; i < 10000; ++i) {
            run();
            if (done()) {
                return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return false;
    }
    /// Fires every timer set so far.
    void fire_timers() {
        auto t = std::move(_timers);
        _timers.clear();
        for (auto& x : t) {
            x.fn();
        }
    }
    size_t timers() const { return _timers.size(); }

  private:
    struct timer {
        std::chrono::milliseconds delay;
        std::function<void()> fn;
    };
    std::mutex _mu;
    std::deque<std::function<void()>> _posted;
    std::vector<timer> _timers;
};

}  // namespace fjord::broker::tiered_read::testing
