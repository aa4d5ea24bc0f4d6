// File: broker/sim/log_sim.cc

#include "broker/sim/log_sim.h"

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string_view>

#include <fmt/format.h>

#include "broker/cluster/log_flusher.h"
#include "broker/cluster/partition.h"
#include "broker/group/offset_store.h"
#include "broker/storage/errc.h"
#include "broker/storage/partition_log.h"
#include "common/fs/memory_file_ops.h"
#include "common/kafka/record_batch.h"
#include "common/log.h"

namespace fjord::broker::sim {
namespace {

using storage::partition_log;

constexpr const char* data_dir = "/sim/data/0";
constexpr const char* offsets_dir = "/sim/offsets/0";
constexpr int64_t t0 = 1'700'000'000'000;

/// What a reader can compare across crashes: the batch from its attributes
/// on (the CRC's range), which the log stores exactly as it was appended.
std::string content_of(std::string_view batch) {
    return std::string(batch.substr(kafka::record_batch_crc_start));
}

class simulation {
  public:
    simulation(uint64_t seed, const sim_options& opts) : _rng(seed), _opts(opts) {}

    sim_result run() {
        (void)_fs->make_dir("/sim");
        (void)_fs->make_dir("/sim/data");
        (void)_fs->make_dir("/sim/offsets");
        _config.segment_bytes = 512 + static_cast<int64_t>(_rng() % 4096);
        _config.index_interval_bytes = static_cast<int64_t>(_rng() % 512);
        _config.retention_ms = -1;
        _config.write_caching = _opts.write_caching;
        if (!boot()) {
            return _result;
        }
        for (_step = 0; _step < _opts.steps && _result.ok; ++_step) {
            step();
        }
        if (_result.ok) {
            power_loss();  // every run ends with one
        }
        return _result;
    }

  private:
    void fail(std::string why) {
        if (_result.ok) {
            _result.ok = false;
            _result.failure = fmt::format("step {}: {}", _step, why);
        }
    }
    void trace(std::string_view what) {
        if (_opts.verbose) {
            fmt::print("  {:4} {}\n", _step, what);
        }
    }

    /// (Re)opens both logs and the flusher, as a broker start does.
    bool boot() {
        auto d = partition_log::open(data_dir, _config, _now, _fs);
        // __consumer_offsets is compacted, as the broker creates it.
        storage::log_config oc;
        oc.segment_bytes = 1024;
        oc.cleanup_compact = true;
        oc.cleanup_delete = false;
        oc.min_cleanable_dirty_ratio = 0;
        oc.delete_retention_ms = 0;
        auto o = partition_log::open(offsets_dir, oc, _now, _fs);
        if (!d || !o) {
            fail(fmt::format("reopen failed: {}", !d ? d.error().detail : o.error().detail));
            return false;
        }
        _flusher = std::make_unique<log_flusher>(
            [this](std::function<void()> fn) { _posted.push_back(std::move(fn)); },
            [this] { return _now; }, log_flusher::worker_mode::manual);
        _data = std::make_unique<partition>(std::move(*d), *_flusher);
        _offsets = std::make_unique<partition>(std::move(*o), *_flusher);
        return true;
    }

    void step() {
        _now += static_cast<int64_t>(_rng() % 50);
        const uint64_t r = _rng() % 100;
        if (r < 26) {
            produce(/*acks_all=*/true);
        } else if (r < 30) {
            retry_last();
        } else if (r < 40) {
            produce(/*acks_all=*/false);
        } else if (r < 50) {
            commit_offset();
        } else if (r < 62) {
            trace("sync round");
            _flusher->run_round();
        } else if (r < 78) {
            deliver();
        } else if (r < 92) {
            consume();
        } else if (r < 94) {
            trace("roll");
            (void)_data->log().roll(_now);
        } else if (r < 95) {
            // The cleaner of the compacted offsets log (housekeeping).
            auto c = _offsets->log().compact(_now);
            trace(c ? "offsets compacted" : "offsets compaction: " + c.error().detail);
        } else if (r < 97) {
            // The power will go out within a few file operations, in the
            // middle of whatever the next steps do.
            const uint64_t in = _rng() % 12;
            trace(fmt::format("power cut in {} operations", in));
            _fs->cut_after(static_cast<int64_t>(_fs->ops() + in));
            _cut_pending = true;
        } else {
            power_loss();
        }
        if (_cut_pending && _rng() % 4 == 0) {
            power_loss();
        }
    }

    /// acks=all batches come from an idempotent producer (a new producer id
    /// after each power loss, as after InitProducerId), so retries dedupe.
    void produce(bool acks_all) {
        kafka::record_batch_builder b;
        if (acks_all) {
            b.producer(_producer_id, 0, _sequence);
        }
        const int n = 1 + static_cast<int>(_rng() % 4);
        const uint64_t id = ++_batch_id;
        for (int i = 0; i < n; ++i) {
            const std::string key = fmt::format("k{}", _rng() % 8);
            const std::string value =
                fmt::format("batch {} record {} {}", id, i, std::string(_rng() % 200, 'x'));
            b.add(key, value, _now + i);
        }
        const std::string batch = b.build();
        if (acks_all) {
            _sequence += n;
            _last_idempotent = batch;
        }
        append_and_ack(batch, acks_all, fmt::format("batch {}", id));
    }

    /// The producer did not hear back and sends its last batch again: the
    /// log answers with where it went (or refuses it), and the answer again
    /// waits for the sync.
    void retry_last() {
        if (!_last_idempotent.empty()) {
            append_and_ack(_last_idempotent, true, "retry");
        }
    }

    void append_and_ack(const std::string& batch, bool acks_all, const std::string& what) {
        auto a = _data->append(batch, _now);
        trace(fmt::format("produce acks={} {}: {}", acks_all ? "all" : "1", what,
                          a ? fmt::format("offset {}", a->base_offset) : a.error().detail));
        if (!a) {
            return;
        }
        if (!acks_all) {
            _data->sync(nullptr);
            return;
        }
        const kafka_offset base = a->base_offset;
        std::string content = content_of(batch);
        if (_opts.unsafe_ack_on_write) {
            _acked[base] = content;
            ++_result.acked_batches;
        }
        const uint64_t gen = _generation;
        _data->sync([this, base, content, gen](const result<void>& synced) {
            if (synced && gen == _generation) {
                _acked[base] = content;  // the producer was told: durable
                ++_result.acked_batches;
            }
        });
    }

    void commit_offset() {
        offset_key k{"group", "topic", static_cast<int32_t>(_rng() % 3)};
        committed_offset v;
        v.offset = ++_commit_counter;
        v.commit_timestamp_ms = _now;
        kafka::record_batch_builder b;
        b.add(encode_offset_key(k), encode_offset_value(v), _now);
        auto a = _offsets->append(b.build(), _now);
        trace(fmt::format("commit {}={}: {}", k.partition, v.offset,
                          a ? "appended" : a.error().detail));
        if (!a) {
            return;
        }
        if (_opts.unsafe_commit_on_write) {
            _committed[k.partition] = v.offset;
            ++_result.commits;
        }
        const uint64_t gen = _generation;
        _offsets->sync([this, k, v, gen](const result<void>& synced) {
            if (synced && gen == _generation) {
                _committed[k.partition] = v.offset;  // OffsetCommit answered
                ++_result.commits;
            }
        });
    }

    void deliver() {
        if (_posted.empty()) {
            return;
        }
        trace("completion delivered");
        auto fn = std::move(_posted.front());
        _posted.pop_front();
        fn();
    }

    /// A consumer's read from a random offset up to the high watermark.
    void consume() {
        const int64_t start = _data->log().log_start_offset().value();
        const int64_t hw = _data->high_watermark().value();
        if (hw <= start) {
            return;
        }
        const kafka_offset from{start +
                                static_cast<int64_t>(_rng() % static_cast<uint64_t>(hw - start))};
        auto slice = _data->log().read(from, 1 + _rng() % 4096, _data->high_watermark());
        if (!slice) {
            trace(fmt::format("read at {}: {}", from, slice.error().detail));
            return;
        }
        std::string_view bytes = slice->bytes;
        while (bytes.size() >= kafka::record_batch_header_size) {
            const kafka::record_batch_header h = kafka::decode_record_batch_header(bytes);
            if (h.size_bytes() > bytes.size() || h.size_bytes() < kafka::record_batch_header_size) {
                fail(fmt::format("read at {}: a malformed batch was served", from));
                return;
            }
            const kafka_offset base{h.base_offset};
            const std::string content = content_of(bytes.substr(0, h.size_bytes()));
            auto [it, fresh] = _served.emplace(base, content);
            if (fresh) {
                ++_result.served_batches;
            } else if (it->second != content) {
                fail(fmt::format("offset {} was served with two different records", base));
                return;
            }
            bytes.remove_prefix(h.size_bytes());
        }
        trace(fmt::format("consumed from {}: {} batches", from, slice->batches));
    }

    /// The power goes out; the machine restarts; the broker reopens its logs.
    void power_loss() {
        trace("power loss");
        ++_result.crashes;
        ++_generation;  // completions of the old incarnation never count
        _flusher->stop();
        _posted.clear();
        _data.reset();
        _offsets.reset();
        _fs->crash(_rng);
        _cut_pending = false;
        ++_producer_id;  // the restarted producer gets a new id
        _sequence = 0;
        _last_idempotent.clear();
        if (!boot()) {
            return;
        }
        check_after_restart();
    }

    void check_after_restart() {
        // Nothing here deletes records (no retention, trimming or
        // compaction), so the log must still start at 0: a lost prefix is a
        // lost segment.
        if (_data->log().log_start_offset() != kafka_offset{0}) {
            fail(fmt::format("the log starts at {} after a power loss",
                             _data->log().log_start_offset()));
            return;
        }
        // 1 and 2: acknowledged and served batches are where they were.
        for (const auto* m : {&_acked, &_served}) {
            for (const auto& [base, content] : *m) {
                if (base < _data->log().log_start_offset()) {
                    continue;
                }
                auto slice = _data->log().read(base, 1, _data->high_watermark());
                if (!slice || slice->batches == 0 || slice->first_offset != base) {
                    fail(fmt::format(
                        "{} batch at offset {} is gone after a power loss ({})",
                        m == &_acked ? "acknowledged (acks=all)" : "served", base,
                        slice ? fmt::format("log ends at {}", _data->log().log_end_offset())
                              : slice.error().detail));
                    return;
                }
                const kafka::record_batch_header h =
                    kafka::decode_record_batch_header(slice->bytes);
                if (content_of(std::string_view(slice->bytes).substr(0, h.size_bytes())) !=
                    content) {
                    fail(fmt::format("offset {} holds another record after a power loss", base));
                    return;
                }
            }
        }
        // 3: replay the offsets log as the coordinator does.
        offset_store store;
        offsets_loader loader(_offsets->log().log_start_offset());
        for (;;) {
            auto done = loader.step(_offsets->log(), store, 1 << 20);
            if (!done) {
                fail(fmt::format("offsets replay: {}", done.error().detail));
                return;
            }
            if (*done) {
                break;
            }
        }
        for (const auto& [partition, value] : _committed) {
            const committed_offset* c = store.find("group", "topic", partition);
            if (c == nullptr || c->offset < value) {
                fail(fmt::format(
                    "commit of offset {} for partition {} was answered but replays "
                    "as {}",
                    value, partition, c == nullptr ? "nothing" : std::to_string(c->offset)));
                return;
            }
        }
    }

    std::mt19937_64 _rng;
    sim_options _opts;
    sim_result _result;
    int _step = 0;
    int64_t _now = t0;
    std::shared_ptr<fs::testing::memory_file_ops> _fs =
        std::make_shared<fs::testing::memory_file_ops>(storage::errc::io_error);
    storage::log_config _config;
    std::unique_ptr<partition> _data;
    std::unique_ptr<partition> _offsets;
    std::unique_ptr<log_flusher> _flusher;
    std::deque<std::function<void()>> _posted;
    bool _cut_pending = false;
    uint64_t _generation = 0;
    uint64_t _batch_id = 0;
    int64_t _producer_id = 1000;
    int32_t _sequence = 0;
    std::string _last_idempotent;
    int64_t _commit_counter = 0;
    std::map<kafka_offset, std::string> _acked;
    std::map<kafka_offset, std::string> _served;
    std::map<int32_t, int64_t> _committed;
};

}  // namespace

sim_result run_seed(uint64_t seed, const sim_options& opts) {
    return simulation(seed, opts).run();
}

}  // namespace fjord::broker::sim
