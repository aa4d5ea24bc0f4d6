#pragma once
// File: controller/shadow/source.h
//
// The controller's connection to a shadow link's source cluster
// (docs/shadow-links.md, rpk-reference §4.9, §10): what the link's
// client_options say, as a common/kafka/client wire_client, and the few
// questions the controller's tasks and the API's preflight ask of it. The
// brokers' fetchers have their own connections (broker/shadow); this room
// only lists and describes, it never reads records.
//
//   preflight(link)      create/update: reachable, the APIs the link needs,
//                        the cluster id (errc::shadow_link_unreachable |
//                        shadow_link_unsupported_api)
//   connect(link)        a source_client for the driver's tasks:
//     metadata()           topics, partition counts, topic ids (Metadata)
//     absent_topics(names) which of `names` the source says do not exist
//     topic_configs(...)   the explicitly set values of the synced keys
//     describe_acls(f)     the bindings one AclFilter selects
//
// Blocking I/O bounded by the link's connection_timeout_ms
// (cluster::shadow::effective); never call it on the Raft loop or under the
// state's read lock. Errors are values and name the broker dialed and what
// failed ("127.0.0.1:9092: cannot connect: Connection refused"); a setting
// at fault names its YAML path ("client_options.tls_settings.
// tls_file_settings.ca_path"). The questions are an interface
// (source_client) so the driver's tests run against a fake source.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/kafka/client/wire_client.h"
#include "common/result.h"
#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::shadow {

namespace v1 = fjord::controller::v1;

/// One API the link needs of the source, at versions in [min, max]: what the
/// brokers' fetchers and the group and topic tasks send.
struct required_api {
    int16_t key = 0;
    std::string_view name;
    int16_t min = 0;
    int16_t max = 0;
};
/// Metadata v2+ (cluster id), ListOffsets v1+, Fetch v4..v12, OffsetFetch
/// v1+, ListGroups, FindCoordinator, DescribeConfigs, DescribeAcls v1+
/// (pattern types), each up to what this codec speaks.
const std::vector<required_api>& required_apis();

/// The wire_client options of `o`: TLS (tls_file_settings read and checked
/// with common/tls load_credentials, or tls_pem_settings checked with
/// check_credentials; SNI unless do_not_set_sni_hostname), SASL SCRAM or
/// PLAIN, timeout = effective connection_timeout_ms. TLS material that does
/// not load or check is invalid_argument naming the setting.
result<kafka::client::client_options> make_client_options(const v1::ShadowClientOptions& o);

/// One source topic as Metadata lists it.
struct source_topic {
    std::string name;
    /// The source's topic id (36-character text), empty when it sent none
    /// (Metadata below v10, or an all-zero id).
    std::string id;
    int32_t partitions = 0;
    /// Partition 0's replica count (at least 1).
    int32_t replication_factor = 1;
};

struct source_metadata {
    std::string cluster_id;  ///< empty when the source sent none
    /// Topics listed without error (a topic whose leader is being elected,
    /// or that this link may not describe, is left out).
    std::map<std::string, source_topic> topics;
};

/// What the driver's tasks ask of one source connection. Not thread-safe.
class source_client {
  public:
    virtual ~source_client() = default;
    /// Every topic the source lists (Metadata with all topics; never
    /// auto-creates).
    virtual result<source_metadata> metadata() = 0;
    /// Which of `names` the source says do not exist
    /// (UNKNOWN_TOPIC_OR_PARTITION when asked by name): a topic the listing
    /// omitted because this link may not describe it is not among them.
    virtual result<std::set<std::string>> absent_topics(const std::vector<std::string>& names) = 0;
    /// For each of `topics`, the values of `keys` set on the topic itself at
    /// the source (DescribeConfigs: source DYNAMIC_TOPIC_CONFIG, or not
    /// is_default at v0); defaults are not copied. A topic the source
    /// refused to describe is absent from the answer.
    virtual result<std::map<std::string, std::map<std::string, std::string>>> topic_configs(
        const std::vector<std::string>& topics, const std::vector<std::string>& keys) = 0;
    /// The bindings `f` selects at the source (DescribeAcls; an unset or
    /// UNSPECIFIED dimension is ANY), as records without an Audit.
    virtual result<std::vector<v1::AclBinding>> describe_acls(const v1::AclFilter& f) = 0;
};

/// Connects to `link`'s source: each bootstrap server in order until one
/// answers ApiVersions (and SASL). When none does:
/// shadow_link_unreachable, the reasons of every server tried joined by
/// "; ". TLS material at fault: invalid_argument naming the setting.
result<std::unique_ptr<source_client>> connect(const v1::ShadowLink& link);

/// The create/update preflight: connect(link); every required_api served
/// (else shadow_link_unsupported_api naming the API, the versions needed
/// and what the source serves); Metadata answers; when source_cluster_id is
/// set, the source's cluster id equals it (else shadow_link_unreachable
/// naming both).
result<void> preflight(const v1::ShadowLink& link);

}  // namespace fjord::shadow
