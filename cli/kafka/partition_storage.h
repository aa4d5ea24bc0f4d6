#pragma once
// File: cli/kafka/partition_storage.h
//
// Where each partition's records are, as `fjord topic describe` shows it,
// asked of each partition's leader over standard Kafka APIs (wire_client.h:
// the settings' TLS and SASL):
//   ListOffsets -2 (EARLIEST)        the log start clients see: for a topic
//                                    reading from the object store
//                                    (redpanda.remote.read), the remote start
//   ListOffsets -4 (EARLIEST_LOCAL)  the first offset on the broker's disk
//                                    (v8, KIP-405)
//   ListOffsets -1 (LATEST)          the high watermark
//   DescribeLogDirs                  the bytes on the broker's disk (its log
//                                    directory) and in the object store (the
//                                    "remote://..." directory, as Redpanda
//                                    reports it), with the offsets not
//                                    uploaded yet
// Whatever a broker cannot answer (down, not the leader, a version it does
// not serve, the store unreadable) is left unknown for its partitions, with
// the reason: the facts are extra to describe's answer, never a reason for
// it to fail.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/settings.h"
#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::cli::kafka {

struct partition_storage {
    std::optional<int64_t> log_start;    ///< ListOffsets -2
    std::optional<int64_t> local_start;  ///< ListOffsets -4
    std::optional<int64_t> high_watermark;
    std::optional<int64_t> local_bytes;
    std::optional<int64_t> remote_bytes;
    /// Offsets below the high watermark not in the object store yet.
    std::optional<int64_t> remote_lag;
    /// Why something is unknown ("" when everything is known that applies).
    std::string error;
};

using topic_partition = std::pair<std::string, int32_t>;

/// The storage facts of every partition of `topics`, each asked of its
/// leader; `brokers` maps broker ids to their Kafka "host:port".
std::map<topic_partition, partition_storage> describe_storage(
    const settings& s, const std::vector<controller::v1::Topic>& topics,
    const std::map<int32_t, std::string>& brokers);

}  // namespace fjord::cli::kafka
