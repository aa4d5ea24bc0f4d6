#pragma once
// File: controller/storage/format.h
//
// The on-disk encodings of the durable log (README.md has the layout): segment
// headers, entry records, the hard-state file and snapshot files, plus the
// segment scanner that recovery uses to tell a torn tail from corruption.
// All integers are little-endian fixed width. Pure functions: no I/O.
//
// Every decode failure is raft::errc::corrupt with a detail that names the
// file and the byte offset ("<path> at offset <n>: <reason>").

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "controller/raft/types.h"

namespace fjord::storage::format {

// --- segments -------------------------------------------------------------

/// Segment header: [magic u32][version u32][first_index u64][reserved u32]
/// [crc32c u32 over the preceding 20 bytes].
inline constexpr uint32_t segment_magic = 0x47534a46;  // "FJSG"
inline constexpr uint32_t segment_version = 1;
inline constexpr size_t segment_header_size = 24;

/// Record frame: [payload length u32][crc32c u32 over the payload][payload];
/// payload: [term u64][index u64][type u8][data].
inline constexpr size_t frame_header_size = 8;
inline constexpr size_t entry_payload_fixed = 17;
/// Larger lengths are treated as garbage, never allocated or believed.
inline constexpr uint64_t max_payload = uint64_t{1} << 30;

std::string encode_segment_header(log_index first);
/// Bytes the entry occupies in a segment (frame header + payload).
uint64_t record_size(const raft::entry& e);
/// Appends the entry's framed record to `out`.
void append_record(std::string& out, const raft::entry& e);

/// The name of the segment whose first record has index `first`:
/// "<first as 20 digits>.seg".
std::string segment_name(log_index first);
/// The first index a segment file name encodes; false if `name` is no segment.
bool parse_segment_name(std::string_view name, log_index& first);

/// What recovery learned from one segment file.
struct segment_scan {
    std::vector<raft::entry> entries;  ///< valid records, in order
    std::vector<uint64_t> offsets;     ///< byte offset of each entry's record
    uint64_t valid_end = 0;            ///< end of the last valid record (or header)
    bool torn = false;                 ///< the file has a torn tail past valid_end
    bool header_torn = false;          ///< not even the header is intact: drop the file
    std::string torn_reason;           ///< why the tail was judged torn (for the log)
};

/// Validates a segment's bytes. `name_first` is the index from its file name.
///
/// A record that fails framing or its checksum ends a *torn tail* only when
/// `is_last` and no valid frame continuing the log (index > the last good
/// index) starts at any later byte offset; then the result says where to cut.
/// Otherwise - a bad record in a non-last segment, a bad record with a valid
/// one after it, a checksummed record whose index does not continue the
/// segment, whose term regresses or whose type is unknown - it is
/// errc::corrupt naming `path` and the offset of the offending record.
result<segment_scan> scan_segment(std::string_view buf, const std::string& path,
                                  log_index name_first, bool is_last);

// --- hard state -------------------------------------------------------------

/// [magic u32][version u32][term u64][vote u64][commit u64][crc32c u32 over the
/// preceding 32 bytes]: exactly 36 bytes.
inline constexpr uint32_t hard_state_magic = 0x53484a46;  // "FJHS"
inline constexpr uint32_t hard_state_version = 1;
inline constexpr size_t hard_state_size = 36;

std::string encode_hard_state(const raft::hard_state& hs);
result<raft::hard_state> decode_hard_state(std::string_view buf, const std::string& path);

// --- snapshots --------------------------------------------------------------

/// [magic u32][version u32][index u64][term u64][voters u32][learners u32]
/// [voter ids u64...][learner ids u64...][data length u64][data]
/// [crc32c u32 over everything before it].
inline constexpr uint32_t snapshot_magic = 0x4e534a46;  // "FJSN"
inline constexpr uint32_t snapshot_version = 1;

/// The bytes before the data; the file is header + data + crc trailer.
std::string encode_snapshot_header(const raft::snapshot_meta& meta, uint64_t data_size);
std::string encode_u32(uint32_t v);
result<raft::snapshot> decode_snapshot(std::string_view buf, const std::string& path);

/// "<index as 20 digits>.snap".
std::string snapshot_name(log_index index);
bool parse_snapshot_name(std::string_view name, log_index& index);

}  // namespace fjord::storage::format
