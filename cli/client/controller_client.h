#pragma once
// File: cli/client/controller_client.h
//
// The CLI's connection to the controller group. Each call goes to the last
// known leader (at first, the first configured controller) and is retried
// against the leader hint or the next controller until `retry_timeout`, but
// only where a retry cannot apply a write twice:
//   - reads, and writes carrying a session (every topic and cluster-config
//     write: this client numbers them under a random client id, and the
//     controller answers a retry with the first outcome; see Session in
//     controller_service.proto), are retried on any transient failure: not
//     the leader, unreachable, timed out, outcome unknown; a session write
//     whose answer has items without a definite result (NOT_LEADER,
//     OUTCOME_UNKNOWN, TIMEOUT) is sent again, whole, with the same seq;
//   - membership changes, which have no session, only when nothing can have
//     been applied: the controller said "not the leader", or no connection
//     could be made.
// Other errors are returned at once. A final failure names what each
// controller answered; when any attempt of a write may have been applied it
// says "outcome unknown" (errc: std::errc::state_not_recoverable); a write
// whose items are still in doubt when time runs out returns its last answer,
// whose item codes say so.

#include <memory>
#include <string>

#include "cli/settings.h"
#include "common/result.h"
#include "fjord/controller/v1/controller_service.grpc.pb.h"

namespace fjord::cli {

namespace v1 = fjord::controller::v1;

class controller_client {
  public:
    explicit controller_client(const settings& s);
    ~controller_client();

    result<v1::CreateTopicsResponse> create_topics(const v1::CreateTopicsRequest& r);
    result<v1::DeleteTopicsResponse> delete_topics(const v1::DeleteTopicsRequest& r);
    result<v1::ListTopicsResponse> list_topics(const v1::ListTopicsRequest& r);
    result<v1::AlterTopicConfigsResponse> alter_topic_configs(
        const v1::AlterTopicConfigsRequest& r);
    result<v1::CreatePartitionsResponse> create_partitions(const v1::CreatePartitionsRequest& r);
    result<v1::ListBrokersResponse> list_brokers(const v1::ListBrokersRequest& r);
    result<v1::GetClusterConfigResponse> get_cluster_config(const v1::GetClusterConfigRequest& r);
    result<v1::SetClusterConfigResponse> set_cluster_config(const v1::SetClusterConfigRequest& r);
    result<v1::StatusResponse> status(const v1::StatusRequest& r);
    /// Status of one specific controller (no leader redirection).
    result<v1::StatusResponse> status_of(const std::string& address);
    result<v1::AddMemberResponse> add_member(const v1::AddMemberRequest& r);
    result<v1::RemoveMemberResponse> remove_member(const v1::RemoveMemberRequest& r);
    result<v1::TransferLeadershipResponse> transfer_leadership(
        const v1::TransferLeadershipRequest& r);

    struct impl;

  private:
    std::unique_ptr<impl> _impl;
};

}  // namespace fjord::cli
