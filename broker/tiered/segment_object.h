#pragma once
// File: broker/tiered/segment_object.h
//
// One uploaded segment as an object: the bytes of a sealed local segment
// (from its batch holding `from` on), checked batch by batch, and its
// manifest entry (common/tiered/manifest.h: offsets and timestamps from the
// batches, the epoch, the size and the CRC-32C of the object). Runs on the
// archiver's worker thread: it reads the segment through the file handle
// the log lent (partition_log::segment_file), never touches the log itself.
// Pure apart from that read.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/fs/file_ops.h"
#include "common/result.h"
#include "common/tiered/manifest.h"

namespace fjord::broker::archival {

/// Which part of which local segment to upload.
struct segment_source {
    std::shared_ptr<fs::file> file;
    int64_t base = 0;   ///< the local segment's base offset
    int64_t next = 0;   ///< its successor's base: every batch lies below it
    uint64_t size = 0;  ///< its size when it was sealed: exactly this is read
    /// Upload the batches whose last offset is >= this (the remote log's
    /// next offset: a segment partly uploaded before is not uploaded twice).
    int64_t from = 0;
    /// The epoch when the batches carry none (partitionLeaderEpoch -1): the
    /// partition's leader epoch from the controller.
    int64_t fallback_epoch = 0;
};

struct segment_object {
    std::string bytes;
    tiered::segment_meta meta;
};

/// Reads and checks the segment (framing, magic, CRC-32C, increasing
/// offsets within [base, next), exactly `size` bytes) and builds the object.
/// A segment that changed or is damaged is an error naming the file and the
/// position (storage's errc::corrupt): nothing is uploaded from it.
result<segment_object> read_segment_object(const segment_source& src);

/// The parts of an object name made by tiered::segment_name, if `name` is one.
struct segment_name_parts {
    int64_t base = 0;
    int64_t last = 0;
    int64_t epoch = 0;
};
std::optional<segment_name_parts> parse_segment_name(std::string_view name);

}  // namespace fjord::broker::archival
