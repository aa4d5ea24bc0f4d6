#pragma once
// File: broker/kafka/registry.h
//
// The one table of the Kafka APIs this broker serves: per API its key, the
// versions served and its handler (registry.cc; handlers/handlers.h
// declares the handlers). The dispatcher routes by it, and ApiVersions
// answers with it, so an API and its advertised versions cannot disagree.
// Adding an API: README.md.
//
// Each entry's `serve` decodes the request body for the version asked and
// calls the handler with the decoded request; a body that does not decode
// closes the connection with a log line naming the client and the reason,
// as Kafka does. ApiVersions alone is lenient (KIP-511): its handler is
// given nullopt for such a body and answers INVALID_REQUEST.

#include <cstdint>
#include <span>
#include <string_view>

#include "broker/kafka/request_context.h"
#include "common/kafka/messages/api_versions.h"

namespace fjord::broker {

struct api_entry {
    kafka::api_key key;
    int16_t min_version;
    int16_t max_version;
    /// Decodes `body` for ctx.version and hands it to the handler.
    void (*serve)(const request_context& ctx, std::string_view body);

    bool serves(int16_t version) const { return version >= min_version && version <= max_version; }
};

/// Every API served, in key order.
std::span<const api_entry> kafka_apis();
/// The entry of `key`, or nullptr when it is not served.
const api_entry* find_api_entry(int16_t key);
/// ApiVersions' list: every entry's key and versions, in key order.
std::vector<kafka::api_versions_response::api_version> advertised_versions();

}  // namespace fjord::broker
