#pragma once
// File: cli/kafka/rdkafka.h
//
// librdkafka, loaded only when a command speaks Kafka (`topic produce`,
// `topic consume`, `topic trim-prefix`). Linking it would make every `fjord` invocation load it
// and its dependencies (OpenSSL, SASL, zstd, lz4, curl ...) at start-up,
// and start-up time is part of the CLI's contract (proto/CMakeLists.txt).
// The functions are librdkafka's C API, declared by <librdkafka/rdkafka.h>
// and resolved with dlsym from Debian's librdkafka1 (librdkafka.so.1).
//
// load() resolves every function once; on failure it names the library or
// the missing symbol, and the command fails with it.

#include <librdkafka/rdkafka.h>

#include <string>
#include <utility>
#include <vector>

#include "cli/settings.h"
#include "common/result.h"

namespace fjord::cli::kafka {

/// The functions used, resolved by load_rdkafka().
#define FJORD_RDKAFKA_FUNCTIONS(X)        \
    X(version_str)                        \
    X(conf_new)                           \
    X(conf_set)                           \
    X(conf_destroy)                       \
    X(conf_set_dr_msg_cb)                 \
    X(conf_set_opaque)                    \
    X(conf_set_error_cb)                  \
    X(new)                                \
    X(destroy)                            \
    X(producev)                           \
    X(poll)                               \
    X(flush)                              \
    X(outq_len)                           \
    X(err2str)                            \
    X(message_timestamp)                  \
    X(topic_name)                         \
    X(message_headers)                    \
    X(header_get_all)                     \
    X(header_cnt)                         \
    X(headers_new)                        \
    X(header_add)                         \
    X(headers_destroy)                    \
    X(poll_set_consumer)                  \
    X(subscribe)                          \
    X(assign)                             \
    X(consumer_poll)                      \
    X(consumer_close)                     \
    X(message_destroy)                    \
    X(commit_message)                     \
    X(topic_partition_list_new)           \
    X(topic_partition_list_add)           \
    X(topic_partition_list_destroy)       \
    X(query_watermark_offsets)            \
    X(offsets_for_times)                  \
    X(metadata)                           \
    X(metadata_destroy)                   \
    X(err2name)                           \
    X(queue_new)                          \
    X(queue_destroy)                      \
    X(queue_poll)                         \
    X(event_error)                        \
    X(event_error_string)                 \
    X(event_destroy)                      \
    X(AdminOptions_new)                   \
    X(AdminOptions_destroy)               \
    X(AdminOptions_set_request_timeout)   \
    X(AdminOptions_set_operation_timeout) \
    X(DeleteRecords_new)                  \
    X(DeleteRecords_destroy)              \
    X(DeleteRecords)                      \
    X(event_DeleteRecords_result)         \
    X(DeleteRecords_result_offsets)

struct rdkafka_api {
#define FJORD_RDK_MEMBER(name) decltype(&::rd_kafka_##name) rd_kafka_##name = nullptr;
    FJORD_RDKAFKA_FUNCTIONS(FJORD_RDK_MEMBER)
#undef FJORD_RDK_MEMBER
};

/// The loaded API (the same object on every call), or why it cannot be.
result<const rdkafka_api*> load_rdkafka();

using properties = std::vector<std::pair<std::string, std::string>>;

/// The librdkafka properties of the settings' TLS (tls.*) and SASL login
/// (user, pass, sasl.mechanism): security.protocol PLAINTEXT, SSL,
/// SASL_PLAINTEXT or SASL_SSL; with TLS ssl.ca.location (tls.ca; the
/// system's CAs when unset), ssl.certificate.location and ssl.key.location
/// (tls.cert, tls.key), and with tls.insecure_skip_verify
/// enable.ssl.certificate.verification=false and no host check; with a user
/// sasl.mechanisms (SCRAM-SHA-256 when unset), sasl.username and
/// sasl.password. The TLS files are read and checked first (as
/// common/tls/tls.h's load_credentials does: expired, key mismatch, not
/// PEM), so that a bad file is refused before anything is dialed, naming
/// the key ("tls.cert /x.pem: certificate expired on ...").
result<properties> security_properties(const settings& s);

/// Installs on `conf` an error callback that records a failed SASL login or
/// TLS handshake (librdkafka would retry it until each request timed out,
/// minutes for a produce; the CLI gives up at once, naming the cause). One record per
/// process: a command has one Kafka client.
void watch_authentication(const rdkafka_api& rk, rd_kafka_conf_t* conf, const settings& s);
/// "SASL authentication as \"alice\" (SCRAM-SHA-256) failed: <librdkafka's
/// reason>" once a login failed, "TLS with the brokers failed: <reason>" once
/// a handshake failed (both are final: the same settings fail the same way),
/// else "".
std::string authentication_failure();

}  // namespace fjord::cli::kafka
