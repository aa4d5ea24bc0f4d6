#pragma once
// File: broker/kafka/handlers/acl_items.h
//
// What the ACL APIs (DescribeAcls, CreateAcls, DeleteAcls) share: Kafka's
// ACL fields as the controller's records (metadata.proto AclBinding and
// AclFilter). The enums carry Kafka's wire codes on both sides, so a value
// passes after a range check; everything else is checked by
// common/security (acl_proto.h, acl.h validate()), whose errors name the
// field. A refusal here is INVALID_REQUEST with that message, as Kafka
// answers a malformed ACL; nothing is sent to the controller for it.

#include <cstdint>
#include <optional>
#include <string>

#include "broker/cluster/metadata_cache.h"  // v1::
#include "common/result.h"

namespace fjord::broker {

/// Kafka's ACL fields, filter or binding alike.
struct kafka_acl_fields {
    int8_t resource_type = 0;
    std::optional<std::string> resource_name;
    int8_t pattern_type = 3;
    std::optional<std::string> principal;
    std::optional<std::string> host;
    int8_t operation = 0;
    int8_t permission = 0;
};

/// A DescribeAcls/DeleteAcls filter: each enum within Kafka's codes
/// (ANY/MATCH allowed), a principal that parses, a host "*" or an address.
result<v1::AclFilter> acl_filter_from_kafka(const kafka_acl_fields& f);
/// A CreateAcls creation: a binding that may be stored (acl.h validate():
/// no ANY/MATCH, a valid name, principal and host).
result<v1::AclBinding> acl_binding_from_kafka(const kafka_acl_fields& f);

}  // namespace fjord::broker
