#pragma once
// File: broker/security/security_snapshot.h
//
// What a broker enforces, as of one applied controller revision: whether
// Kafka listeners require SASL, whether requests are authorized, which SASL
// mechanisms are offered, the users' SCRAM credentials, and the authorizer
// (common/security/authorizer.h) built from the ACL bindings, the roles and
// the superusers. Built from the metadata cache (which follows the
// controller's Watch stream) whenever its security_generation() moves, and
// never changed afterwards.
//
// Publication (security_state): the broker swaps the whole snapshot in one
// atomic store after each applied revision that changed security; every
// request loads it once (one atomic load, no lock) and is decided against
// that one snapshot from start to end. So an ACL change takes effect on the
// next request, on every connection, without reconnecting; a request
// already being served finishes under the rules it started with.
//
// Cluster config read here (common/cluster/config_schema.cc has the keys):
//   enable_sasl                  listeners without their own
//                                authentication_method require SASL
//   kafka_enable_authorization   "true"/"false" decides; unset (or any other
//                                text): follows enable_sasl, as Redpanda's
//   sasl_mechanisms              SCRAM (SCRAM-SHA-256 and SCRAM-SHA-512),
//                                PLAIN
//   superusers                   user names ("alice" or "User:alice")
// A value that does not parse falls back to the schema's default, as the
// controller's own typed readers do.
//
// Before the controller's state has been applied the snapshot is not
// ready(): the dispatcher holds requests until it is (dispatcher.h), so
// nothing is ever served under rules the broker does not know yet.
//
// Threads: a snapshot is immutable and safe to read from any thread.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/security/acl.h"
#include "common/security/authorizer.h"
#include "common/security/scram.h"

namespace fjord::broker {

class metadata_cache;

/// The SASL mechanisms a broker can offer, by SaslHandshake's names.
enum class sasl_mechanism : int8_t { plain, scram_sha_256, scram_sha_512 };

/// "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512".
std::string_view to_string(sasl_mechanism m);
/// The mechanism SaslHandshake names, exactly as Kafka matches it
/// (case-sensitive); nullopt for any other name.
std::optional<sasl_mechanism> parse_sasl_mechanism(std::string_view name);

class security_snapshot {
  public:
    /// Security as the cache's state says (the cache must be ready()).
    static std::shared_ptr<const security_snapshot> build(const metadata_cache& md);
    /// The snapshot before the controller's state is known: not ready().
    static std::shared_ptr<const security_snapshot> not_ready();
    /// A ready snapshot with authentication and authorization off, for unit
    /// tests and brokers whose tests need no security.
    static std::shared_ptr<const security_snapshot> open();

    /// The controller's state (security included) has been applied.
    bool ready() const { return _ready; }
    /// The controller revision this snapshot was built at.
    uint64_t revision() const { return _revision; }
    /// enable_sasl.
    bool sasl_enabled() const { return _sasl_enabled; }
    /// Requests are authorized (kafka_enable_authorization, see above).
    bool authorization_enabled() const { return _authorization_enabled; }
    /// The mechanisms offered, in the order SaslHandshake lists them.
    const std::vector<sasl_mechanism>& mechanisms() const { return _mechanisms; }
    bool offers(sasl_mechanism m) const;
    /// SaslHandshake's list: the mechanisms' names.
    std::vector<std::string> mechanism_names() const;

    /// The stored credential of `user`, or nullptr when there is no such
    /// user (or its record does not convert).
    const security::scram_credential* credential(std::string_view user) const;
    /// The credential of `user` for SCRAM mechanism `m`: nullopt when the
    /// user has none of that mechanism (scram_server then uses a decoy).
    std::optional<security::scram_credential> credential(std::string_view user,
                                                         security::scram_mechanism m) const;

    /// Whether `who` connecting from `host` may do `op` on the resource
    /// `rt`/`name`: always true when authorization is off; else the
    /// authorizer's decision (the rules are in authorizer.h).
    bool allowed(const security::principal& who, std::string_view host, security::acl_operation op,
                 security::resource_type rt, std::string_view name) const {
        return !_authorization_enabled || _authz->allowed(who, host, op, rt, name);
    }
    /// The same on the cluster resource ("kafka-cluster").
    bool allowed_on_cluster(const security::principal& who, std::string_view host,
                            security::acl_operation op) const {
        return allowed(who, host, op, security::resource_type::cluster,
                       security::cluster_resource_name);
    }
    /// Kafka's InitProducerId rule for idempotent producers (KIP-679):
    /// IDEMPOTENT_WRITE on the cluster, or WRITE on at least one topic. The
    /// second is answered from the ALLOW WRITE (or ALL) topic bindings that
    /// name the user, User:* or one of its roles: allowed when the
    /// authorizer, asked about such a binding's own pattern name, allows
    /// WRITE there (so a DENY covering it wins, as in Kafka).
    bool may_produce_idempotently(const security::principal& who, std::string_view host) const;

    const security::authorizer& authorizer() const { return *_authz; }

  private:
    security_snapshot() = default;

    bool _ready = false;
    uint64_t _revision = 0;
    bool _sasl_enabled = false;
    bool _authorization_enabled = false;
    std::vector<sasl_mechanism> _mechanisms;
    std::map<std::string, security::scram_credential, std::less<>> _users;
    std::shared_ptr<const security::authorizer> _authz;
    /// ALLOW WRITE|ALL topic bindings: (principal, pattern name).
    std::vector<std::pair<security::principal, std::string>> _topic_writers;
    /// User name -> the roles it is a member of.
    std::map<std::string, std::vector<std::string>, std::less<>> _roles_of;
};

/// The broker's current snapshot, replaced whole (see the file comment).
/// current() and publish() may be called from any thread.
class security_state {
  public:
    security_state() : _current(security_snapshot::not_ready()) {}
    security_state(const security_state&) = delete;
    security_state& operator=(const security_state&) = delete;

    std::shared_ptr<const security_snapshot> current() const {
        return _current.load(std::memory_order_acquire);
    }
    void publish(std::shared_ptr<const security_snapshot> s) {
        _current.store(std::move(s), std::memory_order_release);
    }

  private:
    std::atomic<std::shared_ptr<const security_snapshot>> _current;
};

}  // namespace fjord::broker
