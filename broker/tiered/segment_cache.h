#pragma once
// File: broker/tiered/segment_cache.h
//
// The read side's bounded on-disk cache of segments downloaded from the
// object store: <data_dir>/cloud_cache/. The remote reader
// (remote_reader.h) owns it; everything but download_segment() is the io
// thread's, like the partition logs (nothing here locks).
//
// Layout: one directory per cached segment object, named by its identity
// (entry_name(): the location's uuids, the partition, the segment's offsets
// and epoch, and the CRC-32C and size the partition manifest gives it), and
// inside it the segment exactly as a partition log keeps one
// (broker/storage/README.md): <base>.log (the object's bytes), <base>.index
// and <base>.timeindex. A cached segment is served by broker/storage's own
// segment reader (segment::read, find_timestamp), so every batch served is
// framed and CRC-checked again on the way out, as local reads are.
//
// Atomicity: a download is written into <entry>.part/ and verified there
// (download_segment), its files and the directory fsynced, and only then is
// the directory renamed to <entry> (and the cache directory fsynced): an
// <entry> directory is always a whole, verified segment. Eviction renames
// <entry> to <entry>.del before removing it. open() (at start) removes every
// *.part and *.del left by a crash, and any entry whose name does not parse
// or whose .log does not have the size its name says; the rest is kept, in
// least-recently-used order by modification time, so a restart does not
// download again what it already had.
//
// Size: entries' bytes (log and indexes) plus the reservations of downloads
// in flight stay within the limit (cluster config cloud_storage_cache_size):
// a reservation evicts least-recently-used entries first. One exception,
// so that no segment is unreadable: a segment larger than the whole limit
// is still downloaded, after everything else is evicted, and is the next to
// go. Entries in use by a read are not an issue: reads are synchronous on
// the io thread, as are evictions.
//
// Open files: at most max_open_segments entries keep their .log open; the
// others are reopened (index files loaded and checked) when read again.

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "broker/storage/segment.h"
#include "common/fs/file_ops.h"
#include "common/objstore/object_store.h"
#include "common/result.h"
#include "common/tiered/manifest.h"

namespace fjord::broker::tiered_read {

/// One segment object of a partition's remote log, as its manifest describes it.
struct segment_ref {
    std::string location;  ///< Topic.remote_location (layout.h)
    int32_t partition = 0;
    ::fjord::tiered::segment_meta meta;

    /// The object's key in the store.
    std::string key() const;
    /// The cache entry's directory name: "<cluster uuid>_<topic uuid>_<partition>_<base>-<last>
    /// -<epoch>_<crc32c hex>_<size>"; errc::invalid_argument (cluster) if the location
    /// does not parse.
    result<std::string> entry_name() const;
};

/// What download_segment() did, for the reader's counters (any thread).
struct download_outcome {
    uint64_t bytes = 0;     ///< bytes received from the store (all attempts)
    uint32_t corrupt = 0;   ///< attempts whose bytes failed a check
    uint32_t attempts = 0;  ///< downloads started
};

/// Downloads `ref` from `store` into `<cache_dir>/<entry>.part`, checks it
/// (size and CRC-32C against the manifest's; every batch framed, its CRC
/// valid, offsets increasing, within [meta.base_offset, meta.last_offset]
/// and the last batch ending at meta.last_offset), builds its indexes,
/// makes it durable and renames it into place, then opens it. A download
/// whose bytes fail a check is tried again, `corrupt_retries` more times;
/// then errc::corrupt (objstore). Store errors are returned as they are
/// (objstore errc); the cache's own disk errors as storage::errc::io_error.
/// Chunks of at most `chunk_bytes` are fetched by byte range, so memory
/// stays bounded whatever the segment's size. `stop` (may be null), once
/// true, ends the download at its next chunk (std::errc::operation_canceled).
/// Any thread; touches only its own entry's files.
result<std::unique_ptr<storage::segment>> download_segment(
    objstore::object_store& store, fs::file_ops& fs, const std::string& cache_dir,
    const segment_ref& ref, uint64_t chunk_bytes, uint32_t corrupt_retries,
    download_outcome& outcome, const std::atomic<bool>* stop = nullptr);

class segment_cache {
  public:
    /// Opens (creating it if missing) the cache in `dir`, whose parent must
    /// exist, recovering it as the file comment says. Errors: the directory
    /// cannot be created or listed (storage::errc::io_error).
    static result<std::unique_ptr<segment_cache>> open(std::string dir, uint64_t limit_bytes,
                                                       std::shared_ptr<fs::file_ops> fs = nullptr);
    segment_cache(const segment_cache&) = delete;
    segment_cache& operator=(const segment_cache&) = delete;
    ~segment_cache();

    const std::string& dir() const { return _dir; }
    fs::file_ops& file_ops() { return *_fs; }

    /// Whether `entry` is cached (it may need reopening).
    bool contains(const std::string& name) const { return _entries.count(name) > 0; }
    /// The cached segment `entry`, most recently used from now on; null if
    /// it is not cached. An entry whose files no longer open or check is
    /// removed and reported as the error (the caller downloads it again).
    result<storage::segment*> find(const std::string& name, int64_t now_ms);
    /// Adds the entry download_segment() committed, with its open segment.
    void insert(const std::string& name, std::unique_ptr<storage::segment> seg);
    /// Drops `entry` and removes its files (a damaged entry).
    void remove(const std::string& name);

    /// Makes room for a download of `bytes` (evicting least-recently-used
    /// entries) and holds it until release(); see "Size" in the file comment.
    void reserve(uint64_t bytes);
    void release(uint64_t bytes);
    /// A new limit (cloud_storage_cache_size changed): evicts down to it.
    void set_limit(uint64_t limit_bytes);

    uint64_t limit() const { return _limit; }
    /// Bytes of the entries on disk (logs and indexes).
    uint64_t used_bytes() const { return _used; }
    uint64_t reserved_bytes() const { return _reserved; }
    size_t entries() const { return _entries.size(); }
    /// Entries evicted to make room since open().
    uint64_t evictions() const { return _evictions; }
    /// Entries found at open() and kept / removed as leftovers or damaged.
    size_t recovered() const { return _recovered; }
    size_t discarded() const { return _discarded; }
    /// Entries whose .log is open now.
    size_t open_segments() const { return _open; }

    /// Entries kept with their .log open at most (see the file comment).
    static constexpr size_t max_open_segments = 64;

  private:
    struct entry {
        std::string name;
        uint64_t bytes = 0;
        kafka_offset base;
        kafka_offset next;
        std::unique_ptr<storage::segment> seg;  ///< null: closed
        std::list<std::string>::iterator lru;   ///< position in _lru
    };

    segment_cache(std::string dir, uint64_t limit, std::shared_ptr<fs::file_ops> fs);
    result<void> recover();
    /// Evicts least-recently-used entries until used + reserved + `extra`
    /// fits the limit (or nothing is left but, with `keep_newest`, the most
    /// recently used: a segment just downloaded is served at least once).
    void make_room(uint64_t extra, bool keep_newest = false);
    /// By value: callers pass names the removal destroys.
    void drop(std::string name, bool evicted);
    void touch(entry& e);
    /// Closes the .log of the least recently used open entries beyond the bound.
    void bound_open_files();

    std::string _dir;
    uint64_t _limit;
    std::shared_ptr<fs::file_ops> _fs;
    std::map<std::string, entry> _entries;
    std::list<std::string> _lru;  ///< front: least recently used
    uint64_t _used = 0;
    uint64_t _reserved = 0;
    uint64_t _evictions = 0;
    size_t _recovered = 0;
    size_t _discarded = 0;
    size_t _open = 0;
};

/// The bytes of a cache entry's files on disk (what the cache counts).
uint64_t entry_disk_bytes(const std::string& entry_dir);

/// The parts of an entry name (segment_ref::entry_name), or nullopt.
struct entry_name_parts {
    int64_t base_offset = 0;
    int64_t last_offset = 0;
    uint64_t size = 0;
};
std::optional<entry_name_parts> parse_entry_name(std::string_view name);

}  // namespace fjord::broker::tiered_read
