#pragma once
// File: cli/kafka/wire_client.h
//
// A direct Kafka connection to one broker, for what librdkafka 2.0.2
// (cli/kafka/rdkafka.h) cannot send: `topic describe`'s ListOffsets
// EARLIEST_LOCAL (-4, v8, KIP-405) and DescribeLogDirs (key 35). The bytes
// are common/kafka's codec's; the connection honours the same settings as
// librdkafka's does (settings.h):
//   - tls.*: TLS through common/tls (the files loaded and checked first, the
//     server verified against tls.ca or the system's CAs, its certificate
//     checked for the host dialed, unless tls.insecure_skip_verify), client
//     certificate from tls.cert/tls.key;
//   - user/pass: SASL after ApiVersions (SaslHandshake v1, then
//     SaslAuthenticate) with sasl.mechanism: SCRAM-SHA-256 (the default),
//     SCRAM-SHA-512 (common/security/scram.h, the server's signature
//     checked) or PLAIN;
//   - command_timeout bounds the connect and every read and write.
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

#include "cli/settings.h"
#include "common/kafka/wire.h"
#include "common/result.h"

namespace fjord::cli::kafka {

class wire_client {
  public:
    /// Connects to `address` ("host:port"), negotiates versions and
    /// authenticates as `s` says.
    static result<std::unique_ptr<wire_client>> open(const std::string& address, const settings& s);
    ~wire_client();
    wire_client(const wire_client&) = delete;
    wire_client& operator=(const wire_client&) = delete;

    /// The highest version in [min, max] the broker serves for `api_key`;
    /// nullopt if none.
    std::optional<int16_t> version_for(int16_t api_key, int16_t min, int16_t max) const;

    /// Sends `req` at `version` and decodes the answer.
    template <typename Req, typename Resp>
    result<Resp> call(const Req& req, int16_t version) {
        fjord::kafka::writer w;
        if (auto e = req.encode(w, version); !e) {
            return e.error();
        }
        auto body = round_trip(static_cast<int16_t>(Req::api), version, w.data());
        if (!body) {
            return body.error();
        }
        fjord::kafka::reader r(*body);
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
    explicit wire_client(std::string address);
    /// One request: framed with a request header, written, and the body of
    /// its answer (after the response header) read back.
    result<std::string> round_trip(int16_t key, int16_t version, std::string_view body);
    result<void> negotiate();
    result<void> authenticate(const settings& s);

    std::string _address;
    std::unique_ptr<impl> _impl;
    int32_t _correlation = 1;
    /// api key -> [min, max] the broker serves.
    std::map<int16_t, std::pair<int16_t, int16_t>> _versions;
};

}  // namespace fjord::cli::kafka
