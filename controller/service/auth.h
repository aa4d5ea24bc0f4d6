#pragma once
// File: controller/service/auth.h
//
// The controller API's authentication (docs/security.md): while the cluster
// config admin_api_require_auth is true, every call carries the gRPC
// metadata `authorization: Basic base64(user:password)` (rpk's Admin API
// basic auth, over gRPC) naming a SCRAM user of the users table. The
// password is checked with security::verify_password (one PBKDF2 of the
// credential's iterations); a verified (user, password, credential) is then
// remembered in a bounded cache so that PBKDF2 does not run on every call.
//
// Rules:
//   - An unknown user gets exactly the answer a wrong password gets, after
//     the same work (a check against decoy_scram_credential), so the API
//     does not tell which users exist.
//   - The cache key is the user, a SHA-256 of the password and the stored
//     credential's StoredKey: a changed password (or a deleted and
//     re-created user) never matches an old entry. Only successes are
//     cached; the cache holds no password.
//   - Passwords are never logged, and no error repeats one.
//   - In FIPS mode a password shorter than tls::fips_min_password_length is
//     refused with its own message (Redpanda's HTTP basic auth rule).
//
// Thread-safe: gRPC threads share one authenticator.

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/security/acl.h"
#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::service {

namespace v1 = fjord::controller::v1;

/// What a call needs, while authentication is on: `op` on the resource
/// `rt`/`name` (the cluster: resource_type::cluster, "kafka-cluster"), or,
/// with `or_cluster`, `op` on the cluster instead (Kafka's CreateTopics rule:
/// CREATE on the topic or on the cluster).
struct access {
    security::acl_operation op;
    security::resource_type rt = security::resource_type::cluster;
    std::string name = std::string(security::cluster_resource_name);
    bool or_cluster = false;
    /// Only a superuser (the cluster config `superusers`) may: no ACL
    /// binding grants it (shadow links: they hold another cluster's
    /// credentials).
    bool superuser_only = false;
};
/// `op` on the cluster.
inline access on_cluster(security::acl_operation op) {
    return access{op};
}
/// Superusers only (see access::superuser_only).
inline access superuser() {
    access a{security::acl_operation::alter};
    a.superuser_only = true;
    return a;
}
/// `op` on topic `name`.
inline access on_topic(security::acl_operation op, std::string name, bool or_cluster = false) {
    return access{op, security::resource_type::topic, std::move(name), or_cluster};
}

/// The user and password of an `authorization` metadata value
/// "Basic base64(user:password)" (the scheme is case-insensitive; the user is
/// what precedes the first ':'). errc::unauthenticated naming what is wrong.
struct basic_credentials {
    std::string user;
    std::string password;
};
result<basic_credentials> parse_basic_authorization(std::string_view value);

class authenticator {
  public:
    /// `min_password_length`: FIPS mode's floor (tls::fips_min_password_length;
    /// 0 outside FIPS mode).
    explicit authenticator(size_t max_cached = 1024, size_t min_password_length = 0)
        : _max(max_cached), _min_password_length(min_password_length) {}

    /// Verifies `c` against `stored` (the user's credential, nullopt when
    /// there is no such user). errc::unauthenticated "authentication failed:
    /// invalid credentials" for a wrong password and an unknown user alike.
    /// A password under the FIPS floor is refused before any lookup, saying
    /// so (its length is the caller's own, so nothing about users leaks).
    result<void> verify(const basic_credentials& c,
                        const std::optional<v1::ScramCredential>& stored);

    /// Entries cached now (tests).
    size_t cached() const;

  private:
    size_t _max;
    size_t _min_password_length;
    mutable std::mutex _mu;
    std::set<std::string> _verified;
    std::deque<std::string> _order;  // insertion order, for eviction
};

}  // namespace fjord::service
