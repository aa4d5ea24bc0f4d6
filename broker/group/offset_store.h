#pragma once
// File: broker/group/offset_store.h
//
// Committed offsets: their record format in the internal topic
// `__consumer_offsets`, the in-memory view the coordinator answers
// OffsetFetch from, and the replay of a partition's log into that view.
// Pure apart from reading a partition_log the caller owns; runs on the
// broker's io thread.
//
// Record format (one record per committed partition; all records of one
// OffsetCommit go into one uncompressed record batch v2). Integers are
// big-endian; a string is an int16 byte length and UTF-8 bytes, a compact
// string an unsigned varint of length + 1 and the bytes. The layouts are
// those of Kafka's OffsetCommitKey v1 and OffsetCommitValue v3 / v4, so
// Kafka's tools can read them:
//
//   key:   int16  version = 1        (any other version: not an offset
//                                     commit; skipped on replay)
//          string group
//          string topic
//          int32  partition
//   value: int16  version = 3 or 4   (other versions: skipped, with a warning)
//     v3   int64  offset              what brokers before topic ids wrote,
//          int32  leader epoch        and what encode_offset_value still
//          string metadata            writes for an offset without a topic
//          int64  commit timestamp    id (the zero uuid)
//     v4   int64  offset              Kafka 4.1's first flexible version
//          int32  leader epoch        (KAFKA-19141): what this broker writes
//          compact string metadata    for every commit, since the topic's
//          int64  commit timestamp    id must travel with the offset
//          tagged fields: tag 0 = topic id (uuid: 16 bytes); absent means
//                         the zero uuid (unknown); other tags are ignored
//   leader epoch -1: none; metadata at most offset_metadata_max_bytes;
//   commit timestamp in ms since the epoch.
//   A null value (a tombstone) deletes the key's offset.
//
// Kafka's other value versions (0-2, from before leader epochs) are not
// read: no Fjord broker wrote them. v5+ is not defined (KIP-915: Kafka only
// adds tagged fields to v4 now), so one would be a foreign record.
//
// Topic identity: a name can be reused (the topic deleted, then created
// again). An offset carries the id of the topic it was committed on, and the
// coordinator treats one whose id is not the live topic's as absent and
// tombstones it (coordinator.h). An offset without an id (a v3 record, from
// a broker before topic ids) is taken to belong to the topic of that name
// that exists when it is loaded; a deletion and re-creation while its
// partition was not loaded anywhere cannot be detected for it.
//
// Replay applies records in log order: the last record of a key wins.
// Anything that does not decode (a foreign producer's record, a compressed
// batch this broker never writes, a truncated key) is skipped and counted,
// never fatal: only a log that cannot be read fails the load.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/storage/partition_log.h"
#include "common/cluster/internal_topics.h"  // offsets_topic
#include "common/kafka/wire.h"               // kafka::uuid
#include "common/result.h"

namespace fjord::broker {

/// Kafka's offset.metadata.max.bytes: longer metadata is refused
/// (OFFSET_METADATA_TOO_LARGE).
inline constexpr size_t offset_metadata_max_bytes = 4096;
/// Group, topic and metadata are int16-length strings in a record.
inline constexpr size_t offset_record_max_string = 32767;

struct committed_offset {
    int64_t offset = -1;
    int32_t leader_epoch = -1;
    std::string metadata;
    int64_t commit_timestamp_ms = -1;
    /// The topic's id (its controller uuid as Kafka's uuid) when the offset
    /// was committed; zero: unknown (a v3 record).
    kafka::uuid topic_id{};
    bool operator==(const committed_offset&) const = default;
};

struct offset_key {
    std::string group;
    std::string topic;
    int32_t partition = 0;
    auto operator<=>(const offset_key&) const = default;
};

std::string encode_offset_key(const offset_key& k);
/// Version 4 with the topic id as tag 0; version 3 when the id is zero.
std::string encode_offset_value(const committed_offset& v);

/// One decoded record: a commit, or a tombstone (no value).
struct offset_record {
    offset_key key;
    std::optional<committed_offset> value;
};

/// Decodes a record of `__consumer_offsets`. nullopt: a record of another
/// kind (another key version), not an error. Errors name what is wrong.
result<std::optional<offset_record>> decode_offset_record(std::optional<std::string_view> key,
                                                          std::optional<std::string_view> value);

/// The committed offsets this coordinator holds: group → (topic, partition)
/// → offset.
class offset_store {
  public:
    using partition_offsets = std::map<std::pair<std::string, int32_t>, committed_offset>;

    void put(const offset_key& k, committed_offset v);
    void erase(const offset_key& k);
    const committed_offset* find(const std::string& group, const std::string& topic,
                                 int32_t partition) const;
    /// The group's offsets; nullptr if it has none.
    const partition_offsets* group_offsets(const std::string& group) const;
    bool has_group(const std::string& group) const { return _groups.count(group) != 0; }
    /// Forgets the offsets of every group for which `which(group)` holds.
    void erase_groups_if(const std::function<bool(const std::string&)>& which);
    const std::map<std::string, partition_offsets>& groups() const { return _groups; }

  private:
    std::map<std::string, partition_offsets> _groups;
};

/// Replays one `__consumer_offsets` partition's log into an offset_store,
/// a bounded number of bytes per step, so a long log does not hold the io
/// thread: the coordinator answers COORDINATOR_LOAD_IN_PROGRESS until done.
class offsets_loader {
  public:
    explicit offsets_loader(kafka_offset start) : _next(start) {}

    /// Reads up to about `max_bytes` of batches from where the last step
    /// ended (whole batches: at least one) and applies their records to
    /// `store`. True once the high watermark is reached (a commit above it
    /// is not durable yet, so it is not an offset yet). An error means the log
    /// cannot be read there (a damaged segment); the load has failed.
    result<bool> step(const storage::partition_log& log, offset_store& store, uint64_t max_bytes);

    kafka_offset next() const { return _next; }
    /// Records applied, and records skipped (see the file comment).
    uint64_t applied() const { return _applied; }
    uint64_t skipped() const { return _skipped; }
    /// The first reason a record was skipped, for the log line.
    const std::string& first_skip_reason() const { return _first_skip; }

  private:
    void skip(std::string why);

    kafka_offset _next;
    uint64_t _applied = 0;
    uint64_t _skipped = 0;
    std::string _first_skip;
};

}  // namespace fjord::broker
