#pragma once
// File: cli/kafka/wire_client.h
//
// The CLI's direct Kafka connections (common/kafka/client/wire_client.h)
// with the same settings librdkafka's connections honour (settings.h):
// tls.* loaded and checked here, errors in the CLI's terms; user, pass and
// sasl.mechanism; command_timeout.

#include <memory>
#include <string>

#include "cli/settings.h"
#include "common/kafka/client/wire_client.h"
#include "common/result.h"

namespace fjord::cli::kafka {

using wire_client = fjord::kafka::client::wire_client;

/// Connects to `address` ("host:port") as `s` says.
result<std::unique_ptr<wire_client>> open_wire_client(const std::string& address,
                                                      const settings& s);

}  // namespace fjord::cli::kafka
