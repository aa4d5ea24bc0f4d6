#pragma once
// File: controller/service/status_mapping.h
//
// The one translation table from the controller's errors (cluster::errc,
// raft::errc, std::errc for timeouts) to what the API says: a per-item
// ItemResult, or a whole-call grpc::Status. Nothing else in the service
// chooses codes.
//
// An error that names a request field (error_info::field, relative to the
// item) keeps it in ItemResult.field, prefixed with the item's place in the
// request ("topics[2]."); ItemResult.message is the whole text with that
// prefix, ItemResult.detail the text relative to the item.

#include <cstddef>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include "common/result.h"
#include "fjord/controller/v1/controller_service.pb.h"

namespace fjord::service {

namespace v1 = fjord::controller::v1;

v1::ErrorCode to_error_code(const std::error_code& ec);
/// An ItemResult for `e`, its field and message prefixed by `field_prefix`
/// ("member."; "" for a request that is its own item).
v1::ItemResult to_item_result(const error_info& e, std::string_view field_prefix);
/// The ItemResult of item `i` of the request's list `list` ("topics[2].").
/// An item that is a plain value (`scalar_item`: DeleteTopics' names) is its
/// own field: the item's "name" becomes "names[2]", and detail is the reason.
v1::ItemResult to_item_result(const error_info& e, std::string_view list, size_t i,
                              bool scalar_item);
v1::ItemResult ok_item();
/// A whole-call status for `e` (INVALID_ARGUMENT, UNAVAILABLE for not-leader,
/// DEADLINE_EXCEEDED, INTERNAL, ...).
grpc::Status to_grpc_status(const error_info& e);

}  // namespace fjord::service
