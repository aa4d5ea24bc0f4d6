#pragma once
// File: broker/shadow/fetch_rules.h
//
// The decisions of a shadow-link fetcher (fetcher_service.h), pure so that
// they are tested without a source cluster: which protocol versions it
// speaks, what it does on each partition error, where an empty shadow
// partition starts, what it does when the source's retention passed it,
// and which batches of a Fetch answer it appends. No I/O, no clock.
//
// The invariant every rule keeps: a shadow partition's log end is where
// its copy continues (never a stored cursor), and a batch is appended only
// at or after it (partition_log::append_copy), so a crash, a restart or a
// repeated Fetch never duplicates or skips a record; a gap in the shadow is
// only ever one the source has (retention, compaction, start_at).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fjord::broker::shadow {

/// Fetch 4 (isolation level, record batch v2) to 12, the last that names
/// topics (13+ name them by id, which a shadow topic does not share).
inline constexpr int16_t min_fetch_version = 4;
inline constexpr int16_t max_fetch_version = 12;
/// ListOffsets 1 (one offset per partition, timestamps) to 9.
inline constexpr int16_t min_list_offsets_version = 1;
inline constexpr int16_t max_list_offsets_version = 9;
/// Metadata 1 to 12; cluster_id from 2.
inline constexpr int16_t min_metadata_version = 1;
inline constexpr int16_t max_metadata_version = 12;

/// ListOffsets' special timestamps.
inline constexpr int64_t earliest = -2;
inline constexpr int64_t latest = -1;

/// What a fetcher does about a partition's error code in a Fetch or
/// ListOffsets answer.
enum class error_action {
    none,              ///< no error
    refresh_metadata,  ///< the leader moved or the topic is not (yet) known there: ask again
    reset_offset,      ///< OFFSET_OUT_OF_RANGE: ask the source's earliest (on_out_of_range)
    back_off,          ///< transient on the source: retry after retry_backoff
    unavailable,       ///< the source refuses us (authorization, ...): LINK_UNAVAILABLE
};
error_action on_partition_error(int16_t kafka_error);

/// Kafka's name of an error code, for reasons ("NOT_LEADER_OR_FOLLOWER");
/// "ERROR <n>" for codes it does not name.
std::string error_name(int16_t kafka_error);

/// After OFFSET_OUT_OF_RANGE at the shadow's log end `log_end`, given the
/// source's log start and high watermark (ListOffsets earliest and latest):
///   source_start > log_end   -> continue at source_start (the records in
///                               between are gone on the source: a gap,
///                               preserved);
///   log_end > source_hwm     -> faulted: the source lost records the
///                               shadow has (an unclean source); nothing
///                               the shadow holds is rewritten;
///   otherwise                -> continue at log_end (the range moved
///                               meanwhile: try again).
struct out_of_range_plan {
    bool faulted = false;
    int64_t next_offset = 0;
    std::string reason;  ///< when faulted
};
out_of_range_plan on_out_of_range(int64_t source_start, int64_t source_hwm, int64_t log_end);

/// Where an empty shadow partition (a log holding no batch, ending at
/// `log_end`) starts, given the source's answer to ListOffsets at the
/// topic's start_at (`answer`, -1 when no record is at or after a
/// timestamp) and the source's high watermark: the answer, else the high
/// watermark (a timestamp after every record means "from now"). nullopt:
/// stay where it is (the answer is at or below log_end, e.g. earliest 0).
std::optional<int64_t> start_offset(int64_t answer, int64_t source_hwm, int64_t log_end);

/// The ListOffsets timestamp that finds where an empty shadow partition
/// starts, for the topic's start_at and the time the shadow topic was
/// created: "latest" is asked as the first record at or after the
/// creation (then the high watermark when there is none), so asking again
/// after a restart gives the same start and skips nothing produced since.
int64_t start_query(int64_t start_at, int64_t created_ms);

/// The source partition is no longer the log the shadow copied
/// (fetcher_service.h): these faults are sticky, the partition is never
/// fetched again until its topic's metadata changes (a failover, a state
/// change), so two histories are never spliced into one shadow log.

/// The 36-character text of a Kafka topic id (as the controller stores it
/// in TopicShadow.source_topic_id); empty for the all-zero id.
std::string topic_id_text(uint64_t high, uint64_t low);

/// The reason a source topic whose Metadata id is `seen` is not the one
/// the shadow topic was created from (`expected`): set only when both are
/// known (non-empty) and differ (compared case-insensitively).
std::optional<std::string> source_topic_recreated(std::string_view seen, std::string_view expected);

/// Fetch's LastFetchedEpoch for a fetch at `fetch_offset` from a shadow
/// log ending at `log_end` whose last batch has `last_batch_epoch` (-1:
/// none or unknown): the epoch only when the fetch continues right after
/// that batch; -1 (no check) across a gap, where the source no longer has
/// the records following the shadow's.
int32_t last_fetched_epoch(int64_t fetch_offset, int64_t log_end, int32_t last_batch_epoch);

/// The reason a Fetch answer's DivergingEpoch (epoch, end_offset) says the
/// source's log diverged from the shadow's (either >= 0); nullopt when it
/// is absent (-1, -1).
std::optional<std::string> diverged(int32_t epoch, int64_t end_offset);

/// The partitionLeaderEpoch of the last whole v2 batch in `records`
/// (concatenated batches, perhaps a cut-off tail); -1 when there is none.
int32_t last_batch_epoch(std::string_view records);

/// One whole batch of a Fetch answer's records.
struct batch_ref {
    size_t pos = 0;   ///< where it starts in the records
    size_t size = 0;  ///< its bytes
    int64_t base_offset = 0;
    int64_t last_offset = 0;
    int32_t records = 0;
};

/// What to do with one partition's fetched records.
struct copy_plan {
    /// Batches to append, in order, each starting at or after the log end
    /// (and after the one before it).
    std::vector<batch_ref> batches;
    /// An empty log's start moves down to the first batch's base first:
    /// the source's start (or start_at) fell inside that batch, which is
    /// kept whole rather than lost.
    std::optional<int64_t> move_start_to;
    /// Whole batches seen, and their bytes and records (what was fetched).
    uint64_t bytes_fetched = 0;
    int64_t records_fetched = 0;
    /// A batch held the log end of a log that is not empty and nothing
    /// could be planned: the source's batches no longer line up with the
    /// shadow's (the source rewrote its log). The fetcher reports FAULTED.
    bool misaligned = false;
    /// Why the whole answer is refused (nothing is appended, the partition
    /// is FAULTED): a batch with a negative base offset, a last offset
    /// beyond int64, or a last offset at or beyond the answer's high
    /// watermark. Empty: the answer is sound.
    std::string rejected;
};

/// Splits `records` (a Fetch answer's partition records: whole v2 batches,
/// perhaps a cut-off last one, which is ignored) for a log ending at
/// `log_end` (the log's true end, never the offset fetched from: after a
/// gap that is beyond it) that holds a batch unless `log_empty`: batches
/// ending before the log end are skipped (already copied); one holding the
/// log end is kept only if the log is empty (move_start_to), else skipped
/// (it cannot be appended without overlapping: misaligned); the rest are
/// kept (a base beyond the log end leaves a gap). A batch whose header is
/// not v2 or whose offsets go backwards ends the walk. A batch the source
/// cannot have sent soundly (copy_plan::rejected, given the answer's
/// `source_hwm`) rejects the whole answer: no batch is planned.
copy_plan plan_copy(std::string_view records, int64_t log_end, bool log_empty, int64_t source_hwm);

/// source LSO - shadow high watermark, at least 0; 0 while unknown (< 0).
int64_t lag(int64_t source_lso, int64_t shadow_hwm);

/// Partition states (ShadowPartitionStatus.state) and task states
/// (ShadowTaskStatus.state) as the status reports them.
inline constexpr std::string_view state_active = "ACTIVE";
inline constexpr std::string_view state_paused = "PAUSED";
inline constexpr std::string_view state_link_unavailable = "LINK_UNAVAILABLE";
inline constexpr std::string_view state_faulted = "FAULTED";
inline constexpr std::string_view state_stopped = "STOPPED";
/// The name of the fetchers' task (rpk-reference §10.4).
inline constexpr std::string_view replication_task = "Shadow Topic Replication";

}  // namespace fjord::broker::shadow
