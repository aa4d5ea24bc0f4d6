// File: broker/storage/producer_state.cc

#include "broker/storage/producer_state.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "broker/storage/errc.h"
#include "common/crc32c.h"

namespace fjord::broker::storage {
namespace {

/// Kafka's DefaultRecordBatch.incrementSequence: sequences wrap to 0.
int32_t add_sequence(int32_t seq, int32_t delta) {
    constexpr int32_t max = std::numeric_limits<int32_t>::max();
    if (seq > max - delta) {
        return delta - (max - seq) - 1;
    }
    return seq + delta;
}

constexpr std::string_view snapshot_magic = "FJPS";
constexpr uint8_t snapshot_version = 2;

template <typename T>
void put(std::string& out, T v) {
    // Big-endian, like the rest of Kafka's formats.
    for (int i = sizeof(T) - 1; i >= 0; --i) {
        out.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
    }
}

struct cursor {
    std::string_view in;
    bool ok = true;
    template <typename T>
    T get() {
        if (in.size() < sizeof(T)) {
            ok = false;
            return T{};
        }
        uint64_t v = 0;
        for (size_t i = 0; i < sizeof(T); ++i) {
            v = (v << 8) | static_cast<uint8_t>(in[i]);
        }
        in.remove_prefix(sizeof(T));
        return static_cast<T>(v);
    }
};

}  // namespace

const producer_entry* producer_state::find(int64_t producer_id) const {
    auto it = _producers.find(producer_id);
    return it == _producers.end() ? nullptr : &it->second;
}

result<std::optional<producer_batch>> producer_state::check(
    const kafka::record_batch_header& h) const {
    if (h.producer_id < 0) {
        return std::optional<producer_batch>{};
    }
    if ((h.attributes & 0x10) != 0) {
        return {errc::invalid_batch,
                "attributes: a transactional batch; this broker does not support transactions"};
    }
    const int32_t first = h.base_sequence;
    if (first < 0) {
        return {errc::out_of_order_sequence,
                fmt::format("baseSequence: {} for producer {}", first, h.producer_id)};
    }
    const int32_t last = add_sequence(first, h.last_offset_delta);
    const producer_entry* e = find(h.producer_id);
    if (e != nullptr && h.producer_epoch < e->epoch) {
        return {errc::invalid_producer_epoch,
                fmt::format("producer {}: epoch {} is older than the current epoch {}",
                            h.producer_id, h.producer_epoch, e->epoch)};
    }
    if (e == nullptr || e->batches.empty()) {
        return std::optional<producer_batch>{};
    }
    if (h.producer_epoch > e->epoch) {
        if (first != 0) {
            return {errc::out_of_order_sequence,
                    fmt::format("producer {} epoch {}: first sequence {} of a new epoch, want 0",
                                h.producer_id, h.producer_epoch, first)};
        }
        return std::optional<producer_batch>{};
    }
    for (const producer_batch& b : e->batches) {
        if (b.first_seq == first && b.last_seq == last) {
            return std::optional<producer_batch>{b};
        }
    }
    const int32_t expected = add_sequence(e->batches.back().last_seq, 1);
    if (first != expected) {
        return {errc::out_of_order_sequence,
                fmt::format("producer {} epoch {}: sequence {}, want {}", h.producer_id,
                            h.producer_epoch, first, expected)};
    }
    return std::optional<producer_batch>{};
}

void producer_state::update(const kafka::record_batch_header& h, int64_t now_ms,
                            int64_t log_append_time) {
    if (h.producer_id < 0 || h.base_sequence < 0) {
        return;
    }
    producer_entry& e = _producers[h.producer_id];
    e.last_seen_ms = std::max(e.last_seen_ms, now_ms);
    if (h.producer_epoch != e.epoch) {
        e.epoch = h.producer_epoch;
        e.batches.clear();
    }
    e.batches.push_back(
        producer_batch{h.base_sequence, add_sequence(h.base_sequence, h.last_offset_delta),
                       h.base_offset, h.base_offset + h.last_offset_delta, log_append_time});
    while (e.batches.size() > batches_kept) {
        e.batches.pop_front();
    }
}

void producer_state::expire(int64_t now_ms, int64_t max_age_ms) {
    std::erase_if(_producers,
                  [&](const auto& p) { return p.second.last_seen_ms < now_ms - max_age_ms; });
}

// Layout: "FJPS" u8 version, i64 next_offset, u32 producers, then per
// producer i64 id, i16 epoch, i64 last_seen_ms, u8 batches, and per batch i32 first_seq,
// i32 last_seq, i64 base_offset, i64 last_offset, i64 log_append_time;
// last a u32 CRC-32C of everything before it.
std::string producer_state::snapshot(int64_t next_offset) const {
    std::string out(snapshot_magic);
    put<uint8_t>(out, snapshot_version);
    put<int64_t>(out, next_offset);
    put<uint32_t>(out, static_cast<uint32_t>(_producers.size()));
    for (const auto& [id, e] : _producers) {
        put<int64_t>(out, id);
        put<int16_t>(out, e.epoch);
        put<int64_t>(out, e.last_seen_ms);
        put<uint8_t>(out, static_cast<uint8_t>(e.batches.size()));
        for (const producer_batch& b : e.batches) {
            put<int32_t>(out, b.first_seq);
            put<int32_t>(out, b.last_seq);
            put<int64_t>(out, b.base_offset);
            put<int64_t>(out, b.last_offset);
            put<int64_t>(out, b.log_append_time);
        }
    }
    put<uint32_t>(out, crc32c(out));
    return out;
}

result<int64_t> producer_state::restore(std::string_view bytes) {
    if (bytes.size() < snapshot_magic.size() + 1 + 8 + 4 + 4 ||
        bytes.substr(0, snapshot_magic.size()) != snapshot_magic) {
        return {errc::corrupt, "producer state snapshot: bad magic or too short"};
    }
    cursor crc_at{bytes.substr(bytes.size() - 4)};
    if (crc_at.get<uint32_t>() != crc32c(bytes.substr(0, bytes.size() - 4))) {
        return {errc::corrupt, "producer state snapshot: CRC mismatch"};
    }
    cursor c{bytes.substr(snapshot_magic.size(), bytes.size() - snapshot_magic.size() - 4)};
    if (const auto v = c.get<uint8_t>(); v != snapshot_version) {
        return {errc::corrupt, fmt::format("producer state snapshot: version {}", v)};
    }
    const auto next_offset = c.get<int64_t>();
    const auto n = c.get<uint32_t>();
    std::unordered_map<int64_t, producer_entry> table;
    for (uint32_t i = 0; i < n && c.ok; ++i) {
        const auto id = c.get<int64_t>();
        producer_entry e;
        e.epoch = c.get<int16_t>();
        e.last_seen_ms = c.get<int64_t>();
        const auto nb = c.get<uint8_t>();
        for (uint8_t j = 0; j < nb && c.ok; ++j) {
            producer_batch b;
            b.first_seq = c.get<int32_t>();
            b.last_seq = c.get<int32_t>();
            b.base_offset = c.get<int64_t>();
            b.last_offset = c.get<int64_t>();
            b.log_append_time = c.get<int64_t>();
            e.batches.push_back(b);
        }
        table.emplace(id, std::move(e));
    }
    if (!c.ok || !c.in.empty() || next_offset < 0) {
        return {errc::corrupt, "producer state snapshot: truncated or trailing bytes"};
    }
    _producers = std::move(table);
    return next_offset;
}

}  // namespace fjord::broker::storage
