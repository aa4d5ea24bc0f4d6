#pragma once
// File: common/kafka/client/wire_client.h
//
// A blocking Kafka client connection to one broker, on common/kafka's codec:
// the CLI's direct calls (ListOffsets v8, DescribeLogDirs, which librdkafka
// 2.0.2 cannot send) and the shadow-link fetchers and sync tasks, which
// must see record batches as bytes. What client_options say:
//   - tls: TLS through common/tls (the PEM material already loaded and
//     checked by the caller; the server verified against its CA or the
//     system's, its certificate checked for the host dialed, unless
//     insecure_skip_verify), client certificate when the set has one;
//   - user/pass: SASL after ApiVersions (SaslHandshake v1, then
//     SaslAuthenticate) with mechanism SCRAM-SHA-256 (the default),
//     SCRAM-SHA-512 (common/security/scram.h, the server's signature
//     checked) or PLAIN;
//   - timeout bounds the connect and every read and write.
// ApiVersions goes first, so each request goes at a version the broker
// serves (version_for). Blocking; one request at a time; not thread-safe.
// Errors name the broker and what failed ("127.0.0.1:9092: SASL
// authentication as \"alice\" failed: ...").

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common/kafka/wire.h"
#include "common/result.h"
#include "common/tls/tls.h"

namespace fjord::kafka::client {

struct client_options {
    std::chrono::milliseconds timeout{10000};
    /// Null: plaintext.
    std::optional<tls::credential_set> tls;
    bool tls_insecure_skip_verify = false;
    /// Whether to send the dialed host as SNI (rpk's do_not_set_sni_hostname
    /// inverted).
    bool tls_sni = true;
    /// Empty: no SASL.
    std::string user;
    std::string pass;
    std::string sasl_mechanism;  ///< SCRAM-SHA-256 (empty), SCRAM-SHA-512 or PLAIN
    std::string client_id = "fjord";
    /// The largest answer accepted.
    uint32_t max_frame_bytes = 64u << 20;
};

class wire_client {
  public:
    /// Connects to `address` ("host:port"), negotiates versions and
    /// authenticates as `s` says.
    static result<std::unique_ptr<wire_client>> open(const std::string& address,
                                                     const client_options& o);
    ~wire_client();
    wire_client(const wire_client&) = delete;
    wire_client& operator=(const wire_client&) = delete;

    /// The highest version in [min, max] the broker serves for `api_key`;
    /// nullopt if none.
    std::optional<int16_t> version_for(int16_t api_key, int16_t min, int16_t max) const;

    /// Sends `req` at `version` and decodes the answer.
    template <typename Req, typename Resp>
    result<Resp> call(const Req& req, int16_t version) {
        writer w;
        if (auto e = req.encode(w, version); !e) {
            return e.error();
        }
        auto body = round_trip(static_cast<int16_t>(Req::api), version, w.data());
        if (!body) {
            return body.error();
        }
        reader r(*body);
        auto resp = Resp::decode(r, version);
        if (!resp) {
            return error_info(resp.error().code,
                              _address + ": the answer does not decode: " + resp.error().detail);
        }
        return resp;
    }

    const std::string& address() const { return _address; }

    struct impl;

  private:
    wire_client(std::string address, client_options o);
    /// One request: framed with a request header, written, and the body of
    /// its answer (after the response header) read back.
    result<std::string> round_trip(int16_t key, int16_t version, std::string_view body);
    result<void> negotiate();
    result<void> authenticate();

    std::string _address;
    client_options _o;
    std::unique_ptr<impl> _impl;
    int32_t _correlation = 1;
    /// api key -> [min, max] the broker serves.
    std::map<int16_t, std::pair<int16_t, int16_t>> _versions;
};

}  // namespace fjord::kafka::client
