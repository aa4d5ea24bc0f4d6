#pragma once
// File: controller/shadow/plan.h
//
// The shadow driver's decisions, apart from its I/O: given the applied state
// (read under the state's lock), one link, and what the source said (read
// before, outside the lock), which commands (commands.proto 72-75) make this
// cluster follow the source. Pure and deterministic: the driver's tests and
// the driver itself call the same functions.
//
//   plan_topic_sync        Source Topic Sync: new shadow topics for source
//                          topics passing the link's filters; partition
//                          increases and synced property values of the
//                          link's ACTIVE/PAUSED shadow topics; FAULTED when
//                          the source topic is gone (or recreated)
//   plan_acl_sync          Security Migrator: the bindings the source has
//                          that this cluster lacks; the ones it created
//                          that the source dropped
//   plan_failover_completion  FAILING_OVER -> FAILED_OVER once every live
//                          broker has applied the FAILING_OVER revision
//
// Every command names the link's uuid and the state it expects (the
// topic's `from` state, the partition count it extends), so a stale
// leader's or a repeated proposal applies once or is refused. What a plan
// could not do is said in `notes`, which become the task's reason.

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "controller/shadow/source.h"
#include "controller/stm/commands.h"
#include "controller/stm/controller_stm.h"
#include "fjord/controller/v1/commands.pb.h"
#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::shadow {

struct plan {
    std::vector<v1::ControllerCommand> commands;
    /// What was skipped and why, one sentence each (the task's reason).
    std::vector<std::string> notes;
};

/// The link's synced properties (cluster::shadow::synced_properties) that
/// this cluster's topic schema knows: a key it does not know could not be
/// stored, so it is neither synced nor noted (a Kafka source's key this
/// cluster has no use for is no fault). SyncShadowTopic.synced_keys.
std::vector<std::string> synced_keys(const v1::ShadowLink& link);

/// What the source said, for plan_topic_sync.
struct topic_sync_input {
    source_metadata source;
    /// Source topics of this link's shadow topics that the source says do
    /// not exist (source_client::absent_topics).
    std::set<std::string> absent;
    /// The explicitly set values of the synced properties, per source topic
    /// described (source_client::topic_configs). A topic missing here is not
    /// created, nor are its configs synced, this pass.
    std::map<std::string, std::map<std::string, std::string>> configs;
};

/// What plan_topic_sync needs asked of the source after its listing: the
/// topics to describe (new ones that pass the filters and are free here, and
/// the link's ACTIVE/PAUSED shadow topics listed), and the link's shadow
/// topics the listing lacks (to ask whether they still exist).
struct topic_sync_questions {
    std::vector<std::string> describe;
    std::vector<std::string> check_absent;
};
topic_sync_questions topic_sync_questions_of(const stm::controller_stm& s,
                                             const v1::ShadowLink& link,
                                             const source_metadata& source);

/// The replication factor of a new shadow topic: the source's (the cluster
/// default default_topic_replications when the link's exclude_default
/// leaves it out of the synced properties), at most the active brokers, and
/// odd (this cluster's rule); 0 when no broker is active.
int32_t shadow_replication_factor(const stm::controller_stm& s, const v1::ShadowLink& link,
                                  int32_t source_rf);

/// Source Topic Sync (see the file comment). Commands in order: state
/// changes and syncs of existing shadow topics, then creations (placed
/// counting the partitions placed before them in this plan). `new_uuid`
/// names each new topic.
plan plan_topic_sync(const stm::controller_stm& s, const v1::ShadowLink& link,
                     const topic_sync_input& in, const std::function<std::string()>& new_uuid,
                     const stm::command_meta& meta);

/// Security Migrator: `source` is the union of what the link's acl_filters
/// select at the source. One SyncShadowAcls at most: create = the valid
/// source bindings this cluster lacks; remove = link.synced_acls the source
/// no longer has. Bindings this cluster does not accept (a principal type it
/// does not know) are noted and skipped.
plan plan_acl_sync(const stm::controller_stm& s, const v1::ShadowLink& link,
                   const std::vector<v1::AclBinding>& source, const stm::command_meta& meta);

/// The leader's view of one registered broker (controller/frontend/
/// broker_liveness.h).
struct broker_view {
    bool alive = false;
    uint64_t applied_revision = 0;
};

/// FAILING_OVER -> FAILED_OVER for each topic of `link` whose
/// shadow.state_revision R has been applied (applied_revision >= R) by every
/// live, not decommissioned registered broker: brokers stop a topic's
/// fetchers when they apply its FAILING_OVER change. A dead broker does not
/// block (it applies the state before it serves again). `brokers` by id; a
/// registered broker missing from it counts as dead. A topic still waiting
/// is noted with the brokers it waits for.
plan plan_failover_completion(const stm::controller_stm& s, const v1::ShadowLink& link,
                              const std::map<int32_t, broker_view>& brokers,
                              const stm::command_meta& meta);

}  // namespace fjord::shadow
