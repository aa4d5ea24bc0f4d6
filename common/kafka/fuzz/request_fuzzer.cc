// File: common/kafka/fuzz/request_fuzzer.cc
//
// libFuzzer target for what the broker does with a request frame before any
// handler logic: parse the header, decode the body with the API's decoder
// for that version, re-encode what decoded, and validate the record batches
// a Produce carries. Any crash, sanitizer report, or a decoded message that
// does not encode again is a bug. Built with clang only (FJORD_FUZZ=ON, see
// common/kafka/CMakeLists.txt); scripts/test runs it for a short while.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/kafka/frame.h"
#include "common/kafka/messages/api_versions.h"
#include "common/kafka/messages/create_partitions.h"
#include "common/kafka/messages/create_topics.h"
#include "common/kafka/messages/delete_records.h"
#include "common/kafka/messages/delete_topics.h"
#include "common/kafka/messages/fetch.h"
#include "common/kafka/messages/find_coordinator.h"
#include "common/kafka/messages/heartbeat.h"
#include "common/kafka/messages/join_group.h"
#include "common/kafka/messages/leave_group.h"
#include "common/kafka/messages/list_offsets.h"
#include "common/kafka/messages/metadata.h"
#include "common/kafka/messages/offset_commit.h"
#include "common/kafka/messages/offset_fetch.h"
#include "common/kafka/messages/produce.h"
#include "common/kafka/messages/sync_group.h"
#include "common/kafka/record_batch.h"

namespace {

using namespace fjord::kafka;

template <typename Req>
void round_trip(const request_view& rq) {
    reader r(rq.body);
    auto decoded = Req::decode(r, rq.api_version());
    if (!decoded) {
        return;
    }
    writer w;
    if (!decoded->encode(w, rq.api_version())) {
        std::abort();  // what decoded must encode again
    }
    if constexpr (std::is_same_v<Req, produce_request>) {
        for (const auto& t : decoded->topic_data) {
            for (const auto& p : t.partition_data) {
                if (p.records) {
                    (void)parse_record_batch(*p.records);
                }
            }
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view frame(reinterpret_cast<const char*>(data), size);
    auto rq = parse_request(frame);
    if (!rq || !rq->api->supports(rq->api_version())) {
        return 0;
    }
    switch (static_cast<api_key>(rq->api_key())) {
        case api_key::produce:
            round_trip<produce_request>(*rq);
            break;
        case api_key::fetch:
            round_trip<fetch_request>(*rq);
            break;
        case api_key::list_offsets:
            round_trip<list_offsets_request>(*rq);
            break;
        case api_key::metadata:
            round_trip<metadata_request>(*rq);
            break;
        case api_key::offset_commit:
            round_trip<offset_commit_request>(*rq);
            break;
        case api_key::offset_fetch:
            round_trip<offset_fetch_request>(*rq);
            break;
        case api_key::find_coordinator:
            round_trip<find_coordinator_request>(*rq);
            break;
        case api_key::join_group:
            round_trip<join_group_request>(*rq);
            break;
        case api_key::heartbeat:
            round_trip<heartbeat_request>(*rq);
            break;
        case api_key::leave_group:
            round_trip<leave_group_request>(*rq);
            break;
        case api_key::sync_group:
            round_trip<sync_group_request>(*rq);
            break;
        case api_key::api_versions:
            round_trip<api_versions_request>(*rq);
            break;
        case api_key::create_topics:
            round_trip<create_topics_request>(*rq);
            break;
        case api_key::delete_topics:
            round_trip<delete_topics_request>(*rq);
            break;
        case api_key::create_partitions:
            round_trip<create_partitions_request>(*rq);
            break;
        case api_key::delete_records:
            round_trip<delete_records_request>(*rq);
            break;
        default:
            break;
    }
    return 0;
}
