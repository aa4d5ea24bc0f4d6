// File: broker/shadow/source_client.cc

#include "broker/shadow/source_client.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "common/cluster/shadow_link.h"
#include "common/kafka/client/shadow_options.h"
#include "common/tls/tls.h"

namespace fjord::broker::shadow {

result<kafka::client::client_options> source_client_options(const v1::ShadowClientOptions& o,
                                                            const std::string& client_id) {
    const auto tunables = cluster::shadow::effective(o);
    kafka::client::client_options out;
    out.client_id = client_id;
    // One bound for connects and reads: a Fetch parks up to
    // fetch_wait_max_ms on the source before it answers.
    out.timeout = std::chrono::milliseconds(
        std::max(tunables.connection_timeout_ms, tunables.fetch_wait_max_ms + 5000));
    // The largest answer: a Fetch of fetch_max_bytes, plus room for the
    // framing and the first batch Kafka sends above the limit.
    out.max_frame_bytes = static_cast<uint32_t>(
        std::min<int64_t>(int64_t{1} << 30, int64_t{tunables.fetch_max_bytes} * 2 + (16 << 20)));
    // TLS and SASL as the controller reads them (one conversion for both).
    auto common = kafka::client::client_options_for(o, client_id);
    if (!common) {
        return common.error();
    }
    common->timeout = out.timeout;
    common->max_frame_bytes = out.max_frame_bytes;
    return common;
}

}  // namespace fjord::broker::shadow
