// File: bench/log_cleaner_bench.cc
//
// The log cleaner's rate: fills a partition log (broker/storage) with N MiB of
// records over K keys, seals it, and times one whole compaction pass
// (partition_log::compact: map the keys, rewrite every sealed segment, swap
// them in with their fsyncs). Prints one JSON object; MB/s is the log's
// size before the pass over the pass's wall time. The files were just
// written, so they are read from the page cache: this measures the cleaner,
// not the disk's read speed. Not part of the tests.
//
//   build/bin/log_cleaner_bench [--mib 256] [--keys 10000] [--value-bytes 100]
//                               [--batch-records 10] [--segment-mib 128] [--map-mib 1024]
//                               [--dir /tmp]
//
// --map-mib bounds the offset map (the broker uses 64 MiB): a map that fills
// ends the pass early, which would make it look faster than it is.

#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "broker/storage/partition_log.h"
#include "common/kafka/record_batch.h"

namespace {

using namespace fjord;
using namespace fjord::broker::storage;

struct options {
    int64_t mib = 256;
    int64_t keys = 10000;
    int64_t value_bytes = 100;
    int64_t batch_records = 10;
    int64_t segment_mib = 128;
    int64_t map_mib = 1024;
    std::string dir = std::filesystem::temp_directory_path().string();
};

int usage(const char* argv0) {
    std::fprintf(stderr,
                 "usage: %s [--mib N] [--keys K] [--value-bytes V] [--batch-records R] "
                 "[--segment-mib S] [--map-mib M] [--dir D]\n",
                 argv0);
    return 2;
}

int fail(std::string_view what, const error_info& e) {
    std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(what.size()), what.data(),
                 e.message().c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (i + 1 >= argc) {
            return usage(argv[0]);
        }
        const char* v = argv[++i];
        if (a == "--mib") {
            o.mib = std::atoll(v);
        } else if (a == "--keys") {
            o.keys = std::atoll(v);
        } else if (a == "--value-bytes") {
            o.value_bytes = std::atoll(v);
        } else if (a == "--batch-records") {
            o.batch_records = std::atoll(v);
        } else if (a == "--segment-mib") {
            o.segment_mib = std::atoll(v);
        } else if (a == "--map-mib") {
            o.map_mib = std::atoll(v);
        } else if (a == "--dir") {
            o.dir = v;
        } else {
            return usage(argv[0]);
        }
    }
    if (o.mib <= 0 || o.keys <= 0 || o.value_bytes < 0 || o.batch_records <= 0 ||
        o.segment_mib <= 0 || o.segment_mib > 2047 || o.map_mib <= 0) {
        return usage(argv[0]);
    }
    // A fresh directory of our own (mkdtemp: never one a concurrent run or a
    // leftover of a crashed one holds), removed at the end.
    std::string dir = o.dir + "/fjord_log_cleaner_bench_XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) {
        std::fprintf(stderr, "mkdtemp %s: %s\n", dir.c_str(), std::strerror(errno));
        return 1;
    }

    log_config c;
    c.segment_bytes = o.segment_mib << 20;
    c.retention_ms = -1;
    c.cleanup_delete = false;
    c.cleanup_compact = true;
    c.min_cleanable_dirty_ratio = 0;
    c.max_batch_bytes = std::numeric_limits<int32_t>::max();
    int64_t now = 1'700'000'000'000;
    auto log = partition_log::open(dir, c, now);
    if (!log) {
        return fail("open", log.error());
    }
    std::mt19937_64 rng(42);
    const std::string value(static_cast<size_t>(o.value_bytes), 'v');
    const uint64_t target = static_cast<uint64_t>(o.mib) << 20;
    uint64_t records = 0;
    while ((*log)->size_bytes() < target) {
        kafka::record_batch_builder b;
        for (int64_t r = 0; r < o.batch_records; ++r) {
            const std::string key = fmt::format("key-{:08}", rng() % static_cast<uint64_t>(o.keys));
            b.add(key, value, now);
        }
        if (auto a = (*log)->append(b.build(), now); !a) {
            return fail("append", a.error());
        }
        records += static_cast<uint64_t>(o.batch_records);
    }
    if (auto r = (*log)->roll(now); !r) {
        return fail("roll", r.error());
    }
    (void)(*log)->set_high_watermark((*log)->log_end_offset());
    const uint64_t before = (*log)->size_bytes();
    const size_t segments = (*log)->segments().size();

    const auto start = std::chrono::steady_clock::now();
    compaction_limits limits;
    limits.max_map_bytes = static_cast<uint64_t>(o.map_mib) << 20;
    auto info = (*log)->compact(now + 1000, limits);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!info) {
        return fail("compact", info.error());
    }
    const uint64_t after = (*log)->size_bytes();
    std::printf(
        "{\"bench\": \"log_cleaner\", \"log_mib\": %.1f, \"segments\": %zu, \"records\": %llu, "
        "\"keys\": %lld, \"value_bytes\": %lld, \"batch_records\": %lld, \"seconds\": %.3f, "
        "\"mb_per_s\": %.1f, \"mib_per_s\": %.1f, \"bytes_read\": %llu, \"bytes_after\": %llu, "
        "\"records_removed\": %llu, \"pass_done\": %s}\n",
        static_cast<double>(before) / (1 << 20), segments, static_cast<unsigned long long>(records),
        static_cast<long long>(o.keys), static_cast<long long>(o.value_bytes),
        static_cast<long long>(o.batch_records), seconds,
        static_cast<double>(before) / 1e6 / seconds,
        static_cast<double>(before) / (1 << 20) / seconds,
        static_cast<unsigned long long>(info->bytes_read), static_cast<unsigned long long>(after),
        static_cast<unsigned long long>(info->records_removed), info->pass_done ? "true" : "false");
    log->reset();
    std::filesystem::remove_all(dir);
    return 0;
}
