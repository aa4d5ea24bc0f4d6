#pragma once
// File: controller/frontend/topics.h
//
// Topics: create, delete, alter configs, add partitions (batch writes, one
// outcome per item), and list (a read). Builders: controller/stm/commands.h.

#include "controller/frontend/frontend.h"

namespace fjord::frontend {

/// CreateTopics' answer: per item its outcome and, when it succeeded, the
/// topic as the tables hold it once applied (as built, with validate_only, or
/// when it has changed since).
struct created_topics : batch_outcome {
    std::vector<std::optional<v1::Topic>> topics;
};

/// Whole-call errors: a malformed session, no topics.
void create_topics(core& c, const v1::CreateTopicsRequest& req, const command_meta& meta,
                   then_fn<result<created_topics>> then);
/// Item errors name the field "name" (the item is the name itself).
void delete_topics(core& c, const v1::DeleteTopicsRequest& req, const command_meta& meta,
                   then_fn<result<batch_outcome>> then);
void alter_topic_configs(core& c, const v1::AlterTopicConfigsRequest& req, const command_meta& meta,
                         then_fn<result<batch_outcome>> then);
void create_partitions(core& c, const v1::CreatePartitionsRequest& req, const command_meta& meta,
                       then_fn<result<batch_outcome>> then);

/// The named topics (all when none named) and those missing.
result<v1::ListTopicsResponse> list_topics(core& c, const v1::ListTopicsRequest& req);

}  // namespace fjord::frontend
