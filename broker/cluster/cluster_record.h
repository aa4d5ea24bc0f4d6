#pragma once
// File: broker/cluster/cluster_record.h
//
// <data_dir>/cluster_record: which controller cluster this broker's data
// belongs to, and the highest controller revision the broker has acted on.
// The broker's guard against following the wrong controller (DESIGN.md §6):
//
//   - a Watch snapshot of another cluster is refused (metadata_cache::require);
//   - a snapshot older than the recorded revision is refused: a member that
//     is behind would make topics created since look deleted;
//   - so a topic directory missing from an accepted state was deleted, and
//     only then does partition_manager move it to the trash.
//
// For the last point to hold, the record is advanced *before* the broker
// acts on a revision on disk (creates a topic's directory, moves one to the
// trash), and never past what the metadata cache has applied. In between it
// may lag (it is also advanced periodically and at shutdown): lagging only
// means an older, same-cluster snapshot is still accepted, and such a
// snapshot cannot miss a directory that was created at a revision the record
// does not cover.
//
// Format (text, so an operator can read it; the checksum makes damage
// visible), written with write_file_durably (temp file, fsync, rename, fsync
// of the directory):
//
//   # Fjord broker: the controller cluster this data directory follows. ...
//   format=1
//   cluster_uuid=9f1c0a52-6b1e-4c3d-8e2f-0a1b2c3d4e5f   (empty while unknown)
//   applied_revision=1234
//   crc32c=1a2b3c4d                                      (over every byte before)
//
// Deliberately moving a broker to another controller cluster: stop it and
// remove the file (docs/reliability.md). A data directory without a record
// adopts the first cluster it sees, and keeps the directories of topics that
// cluster does not know (partition_manager moves them to orphans/).
//
// Not thread-safe: the broker's io thread owns it.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fjord::broker {

class cluster_record {
  public:
    static constexpr std::string_view file_name = "cluster_record";

    /// Reads <dir>/cluster_record; no file is an empty record (exists() is
    /// false). A file that fails its checksum or does not parse is an error
    /// naming the file: the broker does not start on a guess.
    static result<cluster_record> open(std::string dir);

    /// Whether the file existed when opened, or has been written since.
    bool exists() const { return _exists; }
    /// "" while no cluster is known.
    const std::string& cluster_uuid() const { return _cluster_uuid; }
    uint64_t revision() const { return _revision; }

    /// Records that the broker is about to act on `revision` of `cluster_uuid`
    /// (writing the file durably first if that moves anything). The revision
    /// never goes back (an older one changes nothing). An empty uuid keeps the
    /// recorded one; a uuid other than a recorded one is an error, and nothing
    /// is written.
    result<void> advance(std::string_view cluster_uuid, uint64_t revision);

    const std::string& dir() const { return _dir; }

  private:
    explicit cluster_record(std::string dir) : _dir(std::move(dir)) {}

    std::string _dir;
    bool _exists = false;
    std::string _cluster_uuid;
    uint64_t _revision = 0;
};

}  // namespace fjord::broker
