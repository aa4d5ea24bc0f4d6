// File: controller/stm/stm_test.cc
//
// Datadriven tests of the controller state machine, its validation and its
// placement. Every file in testdata/ is one scenario run as its own
// GoogleTest case, from the source directory controller/stm.
//
// If this test fails, run with REWRITE=1 and inspect the diff. Only commit the
// changes if you understand what caused them and they are desired.
//
// The environment is one controller_stm and the frontend's path to it: a
// mutating command is validated and built (validation.h) against the current
// state, exactly as the frontend would, then applied at the next log index,
// exactly as the Raft loop would. With defer=true the validated command is
// queued instead, and apply-deferred applies the queue in order: two
// proposals validated against the same state, then both committed. After
// every refused apply the harness checks that the state's snapshot bytes did
// not change and says so ("state unchanged"; "STATE CHANGED" is a bug).
// Proposer clock: starts at 1000 and moves 1000 per mutating command.
//
// Commands (every mutating one takes [as=principal] (default admin) and
// [defer=true]):
//   reset [max-deltas=N] [members=(1=peer/api,...)]   a fresh stm
//   register-broker id=N [rack=R] [incarnation=I] [endpoints=(name=host:port,...)]
//       [fips=disabled|permissive|enabled] [version=V] [alive=B]
//       alive: the frontend's view of the registered incarnation's liveness
//   set-broker-state id=N state=active|draining|decommissioned|unspecified
//   create-topic name=T [long-name=N] [partitions=N] [rf=N] [config=(k=v,...)] [uuid=U]
//       partitions and rf default to -1 (the cluster defaults); long-name=N
//       makes the name N 't's. In config lists an element without '=' belongs
//       to the previous value: config=(cleanup.policy=compact,delete).
//   delete-topic name=T
//   alter-topic-config name=T [set=(k=v,...)] [remove=(k,...)]
//   create-partitions name=T total=N
//   set-leaders topic=T partition=P leader=B
//   set-config k=v [k=(a,b)]...        cluster config upserts (lists joined by ',')
//   remove-config k...
//   init-cluster uuid=U
//   apply-deferred                      apply every queued command, in order
//   apply-garbage [hex=ff..]            malformed bytes as a log entry
//   apply-unknown tag=N                 a command from a newer version (field N)
//   apply-raw-create-topic name=T rf=N replicas=(1:2:3,...)   skips validation
//   conf-change add-voter=N|add-learner=N|remove=N [peer=A api=A] [context=garbage]
//   noop                                an empty entry
//   snapshot                            take and keep a snapshot
//   restore [garbage=true]              a fresh stm restored from the kept
//                                       snapshot (garbage: bad bytes into the
//                                       current stm, refused)
//   watch from=R                        changes_after(R)
//   dump                                every table, with audits and revisions
//   placement [topic=T]                 replica/leader counts per broker, rack spread
//   get-config [k...]                   effective cluster config
//   topic-config name=T                 effective topic config
//   schema cluster|topic                the schema table
//   create-user name=U [password=P] [mechanism=SCRAM-SHA-256|SCRAM-SHA-512]
//       [iterations=N] [salt=S] [mode=create|update|upsert] [corrupt=F]
//       the credential is derived here (salt default "salt-<U>", so the
//       output is stable); corrupt=salt|iterations|stored_key|mechanism
//       breaks that part of it; mode create (default) is create_only
//   delete-user name=U
//   create-acl principal=P [resource=topic] [name=N] [pattern=literal]
//       [op=read] [perm=allow] [host=*]   one binding (words as acl.h parses
//       them; "unspecified" or a number for a raw enum value)
//   delete-acls [resource=R] [name=N] [pattern=P] [principal=P] [host=H]
//       [op=O] [perm=P]                  one filter; prints what apply removed
//   create-role name=R / delete-role name=R (prints the bindings removed)
//   alter-role role=R [add=(p,...)] [remove=(p,...)]
//   check principal=P op=O resource=R [name=N] [host=H]   the authorizer
//   unmount topics=(T,...)              CreateMigration (unmount)
//   mount topics=(T:LOCATION[:ALIAS],...)   CreateMigration (mount), locations
//       as the API resolved them
//   advance id=N from=S to=S            the driver's step (state names of
//       common/cluster/migration.h)
//   mount-prepared id=N [rf=N] [offsets=(O,...)] [config=(k=v,...)]
//       [location=L] [uuid=U]   the mount's preparing -> prepared, every
//       topic from a manifest with these values (location: the migration
//       topic's unless given)
//   migration-status id=N state=S status=TEXT
//   cancel-migration id=N / remove-migration id=N
//   apply-raw-advance id=N from=S to=S  an AdvanceMigration that skipped
//       validation
//   migrations                          the migration table
//   create-link name=L [servers=(h:p,...)] [scram=user:pw] [plain=user:pw]
//       [mechanism=M] [pem=cert:key] [filters=(include:literal:NAME,...)]
//       [synced=(k,...)] [exclude-default=B] [state=S] [uuid=U]
//       a link through make_create_shadow_link (servers default
//       (src:9092), filters default include:literal:*)
//   update-link name=L [the same] [password-set=B]   make_update_shadow_link
//   delete-link name=L [force=B]
//   apply-raw-upsert-link name=L uuid=U [create-only=B] [servers=...]  skips validation
//   create-shadow-topic link=L name=T [partitions=N] [rf=N] [config=(k=v,...)]
//       [source=S] [uuid=U]
//   shadow-state topic=T from=S to=S [reason=R]   (ShadowTopicState names)
//   apply-raw-shadow-state topic=T from=S to=S [link-uuid=U]   skips validation
//   sync-shadow-topic topic=T partitions=N [config=(k=v,...)]
//   sync-acls link=L [create=(user:topic,...)] [remove=(user:topic,...)]
//       User:<user> ALLOW READ on literal topic <topic> from any host
//   links                               the shadow link table

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/cluster/config_schema.h"
#include "common/cluster/errc.h"
#include "common/cluster/migration.h"
#include "common/cluster/shadow_link.h"
#include "common/security/acl_proto.h"
#include "common/security/scram.h"
#include "controller/stm/commands.h"
#include "controller/stm/controller_stm.h"
#include "controller/stm/placement.h"
#include "tests/support/datadriven.h"

namespace fjord::stm {

using cluster::cluster_config_schema;
using cluster::config_schema;
using cluster::errc;
using cluster::parse_int;
using cluster::topic_config_schema;
namespace {

using datadriven::test_command;

// ---------------------------------------------------------------- formatting

std::string state_name(v1::BrokerState s) {
    switch (s) {
        case v1::BROKER_STATE_ACTIVE:
            return "active";
        case v1::BROKER_STATE_DRAINING:
            return "draining";
        case v1::BROKER_STATE_DECOMMISSIONED:
            return "decommissioned";
        default:
            return "unspecified";
    }
}

std::string fips_name(v1::FipsMode m) {
    switch (m) {
        case v1::FIPS_MODE_DISABLED:
            return "disabled";
        case v1::FIPS_MODE_PERMISSIVE:
            return "permissive";
        case v1::FIPS_MODE_ENABLED:
            return "enabled";
        default:
            return "unspecified";
    }
}

std::string audit(const v1::Audit& a) {
    return fmt::format("{}@{}/r{}", a.principal(), a.time_ms(), a.revision());
}

std::string error_text(const error_info& e) {
    return fmt::format("{}: {}", to_string(static_cast<errc>(e.code.value())), e.detail);
}

std::string configs(const google::protobuf::Map<std::string, std::string>& m) {
    const std::map<std::string, std::string> s(m.begin(), m.end());
    std::vector<std::string> kv;
    for (const auto& [k, v] : s) {
        kv.push_back(k + "=" + v);
    }
    return "{" + fmt::format("{}", fmt::join(kv, " ")) + "}";
}

std::string partition(const v1::PartitionAssignment& p) {
    return fmt::format("p{} replicas=[{}] leader={} epoch={}{}", p.partition(),
                       fmt::join(p.replicas(), ","), p.leader(), p.leader_epoch(),
                       p.start_offset() != 0 ? fmt::format(" start={}", p.start_offset()) : "");
}

std::string topic_line(const v1::Topic& t) {
    std::string extra;
    if (!t.remote_location().empty()) {
        extra += " location=" + t.remote_location();
    }
    if (t.has_migration()) {
        extra += fmt::format(" migration={}:{}:{}", t.migration().id(),
                             cluster::to_string(t.migration().type()),
                             cluster::to_string(t.migration().state()));
    }
    if (t.has_shadow()) {
        const v1::TopicShadow& sh = t.shadow();
        extra += fmt::format(" shadow={}:{}:{}@r{}{}{}", sh.link(), sh.source_topic(),
                             cluster::shadow::to_string(sh.state()), sh.state_revision(),
                             sh.start_at() != 0 ? fmt::format(" start_at={}", sh.start_at()) : "",
                             sh.reason().empty() ? "" : fmt::format(" reason=\"{}\"", sh.reason()));
    }
    return fmt::format("topic {} uuid={} rf={} partitions={} configs={}{}", t.name(), t.uuid(),
                       t.replication_factor(), t.partitions_size(), configs(t.configs()), extra);
}

std::string migration_line(const v1::Migration& m) {
    std::vector<std::string> topics;
    for (const v1::MigrationTopic& t : m.topics()) {
        topics.push_back(t.topic() + (t.alias().empty() ? "" : "->" + t.alias()) + "@" +
                         t.location() +
                         (t.mount_manifest().empty() ? "" : " manifest=" + t.mount_manifest()));
    }
    return fmt::format("{} {} {} topics=[{}]{}{} created={} updated={}", m.id(),
                       cluster::to_string(m.type()), cluster::to_string(m.state()),
                       fmt::join(topics, ","),
                       m.status().empty() ? "" : fmt::format(" status=\"{}\"", m.status()),
                       m.completed_ms() != 0 ? fmt::format(" completed={}", m.completed_ms()) : "",
                       audit(m.created()), audit(m.updated()));
}

std::string link_line(const v1::ShadowLink& l) {
    const v1::ShadowClientOptions& c = l.config().client_options();
    std::string auth = "none";
    const auto sasl = [](const char* mech, const auto& a) {
        return fmt::format("{}:{}:{} set={}@{}", mech, a.username(),
                           a.password().empty() ? "-" : a.password(), a.password_set(),
                           a.password_set_at_ms());
    };
    if (c.authentication_configuration().has_scram_configuration()) {
        auth =
            sasl(c.authentication_configuration().scram_configuration().scram_mechanism().c_str(),
                 c.authentication_configuration().scram_configuration());
    } else if (c.authentication_configuration().has_plain_configuration()) {
        auth = sasl("PLAIN", c.authentication_configuration().plain_configuration());
    }
    std::string tls;
    if (c.tls_settings().has_tls_pem_settings()) {
        const auto& p = c.tls_settings().tls_pem_settings();
        tls = fmt::format(" pem=cert:{},key:{},fp:{}", p.cert(), p.key().empty() ? "-" : p.key(),
                          p.key_fingerprint().empty() ? "-" : p.key_fingerprint());
    }
    std::vector<std::string> acls;
    for (const v1::AclBinding& b : l.synced_acls()) {
        auto m = security::binding_from_proto(b);
        acls.push_back(m ? security::to_string(*m) : "unconvertible");
    }
    return fmt::format(
        "{} uuid={} {} servers=[{}] auth={}{} synced_acls=[{}] created={} updated={}", l.name(),
        l.uuid(), cluster::shadow::to_string(l.state()), fmt::join(c.bootstrap_servers(), ","),
        auth, tls, fmt::join(acls, "; "), audit(l.created()), audit(l.updated()));
}

std::string broker_line(const v1::Broker& b) {
    std::vector<std::string> eps;
    for (const v1::Endpoint& e : b.endpoints()) {
        eps.push_back(fmt::format("{}={}:{}", e.name(), e.host(), e.port()));
    }
    return fmt::format("broker {} {} rack={} incarnation={} endpoints=({}) fips={} version={}",
                       b.id(), state_name(b.state()), b.rack(), b.incarnation(),
                       fmt::join(eps, ","), fips_name(b.fips_mode()), b.version());
}

std::string member_line(const v1::Member& m) {
    return fmt::format("member {} peer={} api={}", m.id(), m.peer_address(), m.api_address());
}

// A user without its keys (they are random-looking bytes; a test that needs
// them compares them).
std::string user_line(const v1::User& u) {
    return fmt::format("{} {} iterations={} salt={}B created={} updated={}", u.name(),
                       u.credential().mechanism(), u.credential().iterations(),
                       u.credential().salt().size(), audit(u.created()), audit(u.updated()));
}

std::string acl_line(const v1::AclBinding& b) {
    auto m = security::binding_from_proto(b);
    return (m ? security::to_string(*m) : "unconvertible") + " created=" + audit(b.created());
}

std::string role_line(const v1::Role& r) {
    return fmt::format("{} members=[{}] created={} updated={}", r.name(),
                       fmt::join(r.members(), ","), audit(r.created()), audit(r.updated()));
}

std::string delta_line(const v1::Delta& d) {
    const std::string r = fmt::format("r{} ", d.revision());
    switch (d.change_case()) {
        case v1::Delta::kTopicUpserted: {
            std::string out = r + "topic_upserted " + topic_line(d.topic_upserted()).substr(6) +
                              " updated=" + audit(d.topic_upserted().updated());
            for (const v1::PartitionAssignment& p : d.topic_upserted().partitions()) {
                out += "\n  " + partition(p);
            }
            return out;
        }
        case v1::Delta::kTopicDeleted:
            return r + "topic_deleted " + d.topic_deleted();
        case v1::Delta::kBrokerUpserted:
            return r + "broker_upserted " + broker_line(d.broker_upserted()).substr(7);
        case v1::Delta::kConfigSet:
            return r + fmt::format("config_set {}={} updated={}", d.config_set().key(),
                                   d.config_set().value(), audit(d.config_set().updated()));
        case v1::Delta::kConfigRemoved:
            return r + "config_removed " + d.config_removed();
        case v1::Delta::kMemberUpserted:
            return r + "member_upserted " + member_line(d.member_upserted()).substr(7);
        case v1::Delta::kMemberRemoved:
            return r + fmt::format("member_removed {}", d.member_removed());
        case v1::Delta::kClusterUuidSet:
            return r + "cluster_uuid_set " + d.cluster_uuid_set();
        case v1::Delta::kUserUpserted:
            return r + "user_upserted " + user_line(d.user_upserted());
        case v1::Delta::kUserDeleted:
            return r + "user_deleted " + d.user_deleted();
        case v1::Delta::kAclCreated:
            return r + "acl_created " + acl_line(d.acl_created());
        case v1::Delta::kAclDeleted:
            return r + "acl_deleted " + acl_line(d.acl_deleted());
        case v1::Delta::kRoleUpserted:
            return r + "role_upserted " + role_line(d.role_upserted());
        case v1::Delta::kRoleDeleted:
            return r + "role_deleted " + d.role_deleted();
        case v1::Delta::kMigrationUpserted:
            return r + "migration_upserted " + migration_line(d.migration_upserted());
        case v1::Delta::kMigrationRemoved:
            return r + "migration_removed " + std::to_string(d.migration_removed());
        case v1::Delta::kShadowLinkUpserted:
            return r + "shadow_link_upserted " + link_line(d.shadow_link_upserted());
        case v1::Delta::kShadowLinkRemoved:
            return r + "shadow_link_removed " + d.shadow_link_removed();
        case v1::Delta::CHANGE_NOT_SET:
            break;
    }
    return r + "unknown";
}

int64_t parse_int_arg(const test_command& c, const std::string& key, int64_t def) {
    if (!c.has(key)) {
        return def;
    }
    const std::string s = c.get_string(key);
    const std::optional<int64_t> v = parse_int(s);
    if (!v) {
        c.fail(fmt::format("{}: expected an integer, got '{}'", key, s));
    }
    return *v;
}

// `k=v` elements of a list argument; an element without '=' continues the
// previous value (so list values can be written inside the list).
std::vector<std::pair<std::string, std::string>> kv_list(const test_command& c,
                                                         const std::string& key) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const std::string& e : c.get_list(key)) {
        const size_t eq = e.find('=');
        if (eq == std::string::npos) {
            if (out.empty()) {
                c.fail(fmt::format("{}: '{}' is not k=v", key, e));
            }
            out.back().second += "," + e;
            continue;
        }
        out.emplace_back(e.substr(0, eq), e.substr(eq + 1));
    }
    return out;
}

std::string hex_decode(const test_command& c, const std::string& hex) {
    if (hex.size() % 2 != 0) {
        c.fail("hex: odd length");
    }
    std::string out;
    for (size_t i = 0; i < hex.size(); i += 2) {
        out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    return out;
}

// ---------------------------------------------------------------- environment

class stm_env {
  public:
    stm_env() { reset({}); }

    std::string handle(const test_command& c) {
        _out.clear();
        dispatch(c);
        if (_out.empty()) {
            _out = "ok\n";
        }
        return _out;
    }

  private:
    void print(const std::string& line) { _out += line + "\n"; }

    void reset(stm_config cfg) {
        _stm = std::make_unique<controller_stm>(std::move(cfg));
        _deferred.clear();
        _uuids = 0;
    }

    log_index next_index() const { return _stm->applied() + 1; }

    command_meta meta(const test_command& c) {
        _clock += 1000;
        return command_meta{c.get_string("as", "admin"), _clock};
    }

    std::string next_uuid() {
        ++_uuids;
        return fmt::format("00000000-0000-4000-8000-{:012d}", _uuids);
    }

    // Applies `data` at the next index and prints the outcome; a refusal must
    // leave the state as it was.
    void apply_bytes(const std::string& data) {
        const std::string before = _stm->snapshot();
        const log_index index = next_index();
        const apply_result r = _stm->apply_command(index, data);
        if (r) {
            print(fmt::format(
                "index {}: ok{} (revision {})", index,
                _stm->revision() == revision_id{index.value()} ? "" : ", nothing changed",
                _stm->revision()));
            return;
        }
        const bool same = _stm->snapshot() == before;
        print(fmt::format("index {}: error: {} ({})", index, error_text(r.error()),
                          same ? "state unchanged" : "STATE CHANGED"));
    }

    // The frontend's path: a validation error is printed, a no-op says so, a
    // command is applied at the next index (or queued with defer=true).
    void propose(const test_command& c, const result<std::optional<v1::ControllerCommand>>& r) {
        if (!r) {
            print("error: " + error_text(r.error()));
            return;
        }
        if (!r->has_value()) {
            print("no-op: nothing to propose");
            return;
        }
        if (c.get_bool("defer", false)) {
            _deferred.push_back(**r);
            print(fmt::format("deferred #{} (validated at revision {})", _deferred.size(),
                              _stm->revision()));
            return;
        }
        apply_bytes((*r)->SerializeAsString());
    }

    void propose(const test_command& c, const result<v1::ControllerCommand>& r) {
        if (!r) {
            propose(c, result<std::optional<v1::ControllerCommand>>(r.error()));
            return;
        }
        propose(c, result<std::optional<v1::ControllerCommand>>(std::optional(*r)));
    }

    void dispatch(const test_command& c) {
        const std::string& n = c.name;
        if (n == "reset") {
            c.expect_keys({"max-deltas", "members"});
            stm_config cfg;
            cfg.max_retained_deltas = c.get_uint("max-deltas", cfg.max_retained_deltas);
            for (const auto& [id, addrs] : kv_list(c, "members")) {
                v1::Member m;
                m.set_id(std::stoull(id));
                m.set_peer_address(addrs.substr(0, addrs.find('/')));
                m.set_api_address(addrs.substr(addrs.find('/') + 1));
                cfg.initial_members.push_back(std::move(m));
            }
            reset(std::move(cfg));
        } else if (n == "register-broker") {
            c.expect_keys({"id", "rack", "incarnation", "endpoints", "fips", "version", "alive",
                           "as", "defer"});
            register_broker(c);
        } else if (n == "set-broker-state") {
            c.expect_keys({"id", "state", "as", "defer"});
            const std::string s = c.get_string("state");
            v1::BrokerState st = v1::BROKER_STATE_UNSPECIFIED;
            if (s == "active") {
                st = v1::BROKER_STATE_ACTIVE;
            } else if (s == "draining") {
                st = v1::BROKER_STATE_DRAINING;
            } else if (s == "decommissioned") {
                st = v1::BROKER_STATE_DECOMMISSIONED;
            }
            propose(c, make_set_broker_state(*_stm, static_cast<int32_t>(parse_int_arg(c, "id", 0)),
                                             st, meta(c)));
        } else if (n == "create-topic") {
            c.expect_keys(
                {"name", "long-name", "partitions", "rf", "config", "uuid", "as", "defer"});
            v1::CreateTopicsRequest::Item item;
            item.set_name(c.has("long-name") ? std::string(c.get_uint("long-name"), 't')
                                             : c.get_string("name"));
            item.set_partitions(static_cast<int32_t>(parse_int_arg(c, "partitions", -1)));
            item.set_replication_factor(static_cast<int32_t>(parse_int_arg(c, "rf", -1)));
            for (const auto& [k, v] : kv_list(c, "config")) {
                (*item.mutable_configs())[k] = v;
            }
            const std::string uuid = c.has("uuid") ? c.get_string("uuid") : next_uuid();
            propose(c, make_create_topic(*_stm, item, uuid, meta(c)));
        } else if (n == "delete-topic") {
            c.expect_keys({"name", "as", "defer"});
            propose(c, make_delete_topic(*_stm, c.get_string("name"), meta(c)));
        } else if (n == "alter-topic-config") {
            c.expect_keys({"name", "set", "remove", "as", "defer"});
            v1::AlterTopicConfigsRequest::Item item;
            item.set_name(c.get_string("name"));
            for (const auto& [k, v] : kv_list(c, "set")) {
                (*item.mutable_set())[k] = v;
            }
            for (const std::string& k : c.get_list("remove")) {
                item.add_remove(k);
            }
            propose(c, make_alter_topic_configs(*_stm, item, meta(c)));
        } else if (n == "create-partitions") {
            c.expect_keys({"name", "total", "as", "defer"});
            v1::CreatePartitionsRequest::Item item;
            item.set_name(c.get_string("name"));
            item.set_total(static_cast<int32_t>(parse_int_arg(c, "total", 0)));
            propose(c, make_create_partitions(*_stm, item, meta(c)));
        } else if (n == "set-leaders") {
            c.expect_keys({"topic", "partition", "leader", "as", "defer"});
            v1::LeaderChange lc;
            lc.set_topic(c.get_string("topic"));
            lc.set_partition(static_cast<int32_t>(parse_int_arg(c, "partition", 0)));
            lc.set_leader(static_cast<int32_t>(parse_int_arg(c, "leader", -1)));
            propose(c, make_set_partition_leaders(*_stm, {lc}, meta(c)));
        } else if (n == "set-config") {
            v1::SetClusterConfigRequest req;
            for (const auto& a : c.args) {
                if (a.key.empty()) {
                    c.fail("set-config takes k=v arguments");
                }
                if (a.key == "as" || a.key == "defer") {
                    continue;
                }
                (*req.mutable_upsert())[a.key] = fmt::format("{}", fmt::join(a.vals, ","));
            }
            propose(c, make_set_cluster_config(*_stm, req, meta(c)));
        } else if (n == "remove-config") {
            v1::SetClusterConfigRequest req;
            for (size_t i = 0; i < c.positional_count(); ++i) {
                req.add_remove(c.pos_string(i));
            }
            propose(c, make_set_cluster_config(*_stm, req, meta(c)));
        } else if (n == "init-cluster") {
            c.expect_keys({"uuid", "as", "defer"});
            propose(c, make_init_cluster(*_stm, c.get_string("uuid"), meta(c)));
        } else if (n == "apply-deferred") {
            std::vector<v1::ControllerCommand> q;
            q.swap(_deferred);
            for (size_t i = 0; i < q.size(); ++i) {
                _out += fmt::format("#{} ", i + 1);
                apply_bytes(q[i].SerializeAsString());
            }
        } else if (n == "apply-garbage") {
            c.expect_keys({"hex"});
            apply_bytes(hex_decode(c, c.get_string("hex", "ffffffff")));
        } else if (n == "apply-unknown") {
            c.expect_keys({"tag"});
            v1::ControllerCommand cmd;
            cmd.set_principal("newer");
            std::string data = cmd.SerializeAsString();
            // Field `tag`, wire type 2 (length-delimited), empty payload.
            uint64_t key = (c.get_uint("tag") << 3) | 2;
            while (key >= 0x80) {
                data.push_back(static_cast<char>((key & 0x7f) | 0x80));
                key >>= 7;
            }
            data.push_back(static_cast<char>(key));
            data.push_back('\0');
            apply_bytes(data);
        } else if (n == "apply-raw-create-topic") {
            c.expect_keys({"name", "rf", "replicas", "uuid"});
            v1::ControllerCommand cmd;
            cmd.set_principal("raw");
            v1::Topic* t = cmd.mutable_create_topic()->mutable_topic();
            t->set_name(c.get_string("name"));
            t->set_uuid(c.has("uuid") ? c.get_string("uuid") : next_uuid());
            t->set_replication_factor(static_cast<int32_t>(parse_int_arg(c, "rf", 1)));
            int32_t i = 0;
            for (const std::string& reps : c.get_list("replicas")) {
                v1::PartitionAssignment* p = t->add_partitions();
                p->set_partition(i++);
                size_t start = 0;
                while (start <= reps.size()) {
                    const size_t colon = std::min(reps.find(':', start), reps.size());
                    p->add_replicas(std::stoi(reps.substr(start, colon - start)));
                    start = colon + 1;
                }
                p->set_leader(p->replicas(0));
            }
            apply_bytes(cmd.SerializeAsString());
        } else if (n == "conf-change") {
            conf_change(c);
        } else if (n == "noop") {
            _stm->apply_noop(next_index());
            print(fmt::format("index {}: noop (revision {})", _stm->applied(), _stm->revision()));
        } else if (n == "snapshot") {
            _snapshot = _stm->snapshot();
            _snapshot_index = _stm->applied();
            const v1::ClusterState s = _stm->full_state();
            print(
                fmt::format("snapshot at index {}: revision {}, {} topics, {} brokers, {} "
                            "config keys, {} members",
                            _snapshot_index, s.revision(), s.topics_size(), s.brokers_size(),
                            s.cluster_config_size(), s.members_size()));
        } else if (n == "restore") {
            c.expect_keys({"garbage"});
            restore(c);
        } else if (n == "watch") {
            c.expect_keys({"from"});
            const auto changes = _stm->changes_after(revision_id{c.get_uint("from")});
            if (!changes) {
                print(fmt::format("snapshot needed: changes up to revision {} were dropped",
                                  _stm->horizon()));
                return;
            }
            if (changes->empty()) {
                print("no changes");
            }
            for (const v1::Delta& d : *changes) {
                print(delta_line(d));
            }
        } else if (n == "dump") {
            dump();
        } else if (n == "placement") {
            c.expect_keys({"topic"});
            placement(c);
        } else if (n == "get-config") {
            std::vector<std::string> keys;
            for (size_t i = 0; i < c.positional_count(); ++i) {
                keys.push_back(c.pos_string(i));
            }
            const auto entries = _stm->cluster_config().effective(keys);
            if (!entries) {
                print("error: " + error_text(entries.error()));
                return;
            }
            for (const auto& e : *entries) {
                print(fmt::format(
                    "{}={}{}", e.key(), e.value(),
                    e.is_default() ? " (default)" : " (set " + audit(e.updated()) + ")"));
            }
        } else if (n == "topic-config") {
            c.expect_keys({"name"});
            const v1::Topic* t = _stm->topics().find(c.get_string("name"));
            if (t == nullptr) {
                c.fail("no such topic");
            }
            for (const effective_config& e : effective_topic_configs(*t, _stm->cluster_config())) {
                print(fmt::format("{}={} ({})", e.key, e.value, e.source));
            }
        } else if (n == "schema") {
            const std::string which = c.pos_string(0);
            const config_schema& s =
                which == "cluster" ? cluster_config_schema() : topic_config_schema();
            for (const v1::ConfigProperty& p : s.to_proto()) {
                print(fmt::format("{} {} default={} allowed={}{}", p.name(), p.type(),
                                  p.default_value().empty() ? "\"\"" : p.default_value(),
                                  p.allowed().empty() ? "any" : p.allowed(),
                                  p.needs_restart() ? " needs_restart" : ""));
            }
        } else if (n == "create-user") {
            c.expect_keys({"name", "password", "mechanism", "iterations", "salt", "mode", "corrupt",
                           "as", "defer"});
            create_user(c);
        } else if (n == "delete-user") {
            c.expect_keys({"name", "as", "defer"});
            propose(c, make_delete_user(*_stm, c.get_string("name"), meta(c)));
        } else if (n == "create-acl") {
            c.expect_keys(
                {"principal", "resource", "name", "pattern", "op", "perm", "host", "as", "defer"});
            v1::AclBinding b;
            b.set_resource_type(static_cast<v1::AclResourceType>(
                enum_arg(c, "resource", "topic", security::parse_resource_type)));
            b.set_resource_name(c.get_string("name", "orders"));
            b.set_pattern_type(static_cast<v1::AclPatternType>(
                enum_arg(c, "pattern", "literal", security::parse_pattern_type)));
            b.set_principal(c.get_string("principal"));
            b.set_host(c.get_string("host", "*"));
            b.set_operation(static_cast<v1::AclOperation>(
                enum_arg(c, "op", "read", security::parse_operation)));
            b.set_permission(static_cast<v1::AclPermission>(
                enum_arg(c, "perm", "allow", security::parse_permission)));
            propose(c, make_create_acl(*_stm, b, meta(c)));
        } else if (n == "delete-acls") {
            c.expect_keys(
                {"resource", "name", "pattern", "principal", "host", "op", "perm", "as", "defer"});
            v1::AclFilter f;
            f.set_resource_type(static_cast<v1::AclResourceType>(
                enum_arg(c, "resource", "unspecified", security::parse_resource_type)));
            f.set_pattern_type(static_cast<v1::AclPatternType>(
                enum_arg(c, "pattern", "unspecified", security::parse_pattern_type)));
            f.set_operation(static_cast<v1::AclOperation>(
                enum_arg(c, "op", "unspecified", security::parse_operation)));
            f.set_permission(static_cast<v1::AclPermission>(
                enum_arg(c, "perm", "unspecified", security::parse_permission)));
            if (c.has("name")) {
                f.set_resource_name(c.get_string("name"));
            }
            if (c.has("principal")) {
                f.set_principal(c.get_string("principal"));
            }
            if (c.has("host")) {
                f.set_host(c.get_string("host"));
            }
            propose_with_id(c, make_delete_acls(*_stm, f, meta(c)));
        } else if (n == "create-role") {
            c.expect_keys({"name", "as", "defer"});
            propose(c, make_create_role(*_stm, c.get_string("name"), meta(c)));
        } else if (n == "delete-role") {
            c.expect_keys({"name", "as", "defer"});
            propose_with_id(c, make_delete_role(*_stm, c.get_string("name"), meta(c)));
        } else if (n == "alter-role") {
            c.expect_keys({"role", "add", "remove", "as", "defer"});
            v1::AlterRoleMembersRequest req;
            req.set_role(c.get_string("role"));
            for (const std::string& p : c.get_list("add")) {
                req.add_add(p);
            }
            for (const std::string& p : c.get_list("remove")) {
                req.add_remove(p);
            }
            propose(c, make_alter_role_members(*_stm, req, meta(c)));
        } else if (n == "check") {
            c.expect_keys({"principal", "op", "resource", "name", "host"});
            auto who = security::parse_principal(c.get_string("principal"));
            if (!who) {
                c.fail(who.error().message());
            }
            const auto op = security::parse_operation(c.get_string("op"));
            const auto rt = security::parse_resource_type(c.get_string("resource"));
            if (!op || !rt) {
                c.fail("bad op or resource");
            }
            const security::decision d = _stm->authorizer()->authorize(
                *who, c.get_string("host", "10.0.0.1"), *op, *rt,
                c.get_string("name", std::string(security::cluster_resource_name)));
            print(d.to_string());
        } else if (n == "unmount") {
            c.expect_keys({"topics", "as", "defer"});
            propose(c, make_unmount(*_stm, c.get_list("topics"), meta(c)));
        } else if (n == "mount") {
            c.expect_keys({"topics", "as", "defer"});
            std::vector<v1::MigrationTopic> topics;
            for (const std::string& e : c.get_list("topics")) {
                v1::MigrationTopic t;
                const size_t a = e.find(':');
                const size_t b = a == std::string::npos ? a : e.find(':', a + 1);
                t.set_topic(e.substr(0, a));
                if (a != std::string::npos) {
                    t.set_location(e.substr(a + 1, b == std::string::npos ? b : b - a - 1));
                }
                if (b != std::string::npos) {
                    t.set_alias(e.substr(b + 1));
                }
                topics.push_back(std::move(t));
            }
            propose(c, make_mount(*_stm, topics, meta(c)));
        } else if (n == "advance") {
            c.expect_keys({"id", "from", "to", "as", "defer", "manifests"});
            // An unmount's executed -> cut_over carries one mount manifest
            // per topic (the driver's JSON; any text to the table).
            std::vector<std::string> manifests;
            const int64_t id = parse_int_arg(c, "id", 0);
            const v1::Migration* m = _stm->migrations().find(id);
            const int64_t dflt = m != nullptr && m->type() == v1::MIGRATION_TYPE_UNMOUNT &&
                                         state_arg(c, "to") == v1::MIGRATION_STATE_CUT_OVER
                                     ? m->topics_size()
                                     : 0;
            for (int64_t i = 0; i < parse_int_arg(c, "manifests", dflt); ++i) {
                manifests.push_back(fmt::format("{{\"mount manifest\": {}}}", i));
            }
            propose(c, make_advance_migration(*_stm, id, state_arg(c, "from"), state_arg(c, "to"),
                                              meta(c), manifests));
        } else if (n == "apply-raw-advance") {
            c.expect_keys({"id", "from", "to"});
            v1::ControllerCommand cmd;
            cmd.set_principal("raw");
            v1::AdvanceMigration* a = cmd.mutable_advance_migration();
            a->set_id(parse_int_arg(c, "id", 0));
            a->set_from(state_arg(c, "from"));
            a->set_to(state_arg(c, "to"));
            apply_bytes(cmd.SerializeAsString());
        } else if (n == "mount-prepared") {
            c.expect_keys({"id", "rf", "offsets", "config", "location", "uuid", "as", "defer"});
            mount_prepared(c);
        } else if (n == "migration-status") {
            c.expect_keys({"id", "state", "status", "as", "defer"});
            propose(c, make_set_migration_status(*_stm, parse_int_arg(c, "id", 0),
                                                 state_arg(c, "state"), c.get_string("status", ""),
                                                 meta(c)));
        } else if (n == "cancel-migration") {
            c.expect_keys({"id", "as", "defer"});
            propose(c, make_cancel_migration(*_stm, parse_int_arg(c, "id", 0), meta(c)));
        } else if (n == "remove-migration") {
            c.expect_keys({"id", "as", "defer"});
            propose(c, make_remove_migration(*_stm, parse_int_arg(c, "id", 0), meta(c)));
        } else if (n == "migrations") {
            if (_stm->migrations().all().empty()) {
                print("no migrations");
            }
            for (const auto& [id, m] : _stm->migrations().all()) {
                print("migration " + migration_line(m));
            }
            print(fmt::format("next id {}", _stm->migrations().next_id()));
        } else if (n == "create-link" || n == "update-link") {
            c.expect_keys({"name", "servers", "scram", "plain", "mechanism", "pem", "filters",
                           "synced", "exclude-default", "state", "uuid", "password-set", "as",
                           "defer"});
            v1::ShadowLink l = link_arg(c);
            if (n == "create-link") {
                const std::string uuid = c.has("uuid") ? c.get_string("uuid") : next_uuid();
                propose(c, make_create_shadow_link(*_stm, l, uuid, meta(c)));
            } else {
                propose(c, make_update_shadow_link(*_stm, l, meta(c)));
            }
        } else if (n == "delete-link") {
            c.expect_keys({"name", "force", "as", "defer"});
            propose(c, make_delete_shadow_link(*_stm, c.get_string("name"),
                                               c.get_bool("force", false), meta(c)));
        } else if (n == "apply-raw-upsert-link") {
            c.expect_keys({"name", "uuid", "create-only", "servers", "scram", "plain", "mechanism",
                           "pem", "filters", "synced", "exclude-default", "state", "password-set"});
            v1::ControllerCommand cmd;
            cmd.set_principal("raw");
            v1::UpsertShadowLink* u = cmd.mutable_upsert_shadow_link();
            *u->mutable_link() = link_arg(c);
            u->mutable_link()->set_uuid(c.get_string("uuid", ""));
            u->set_create_only(c.get_bool("create-only", true));
            apply_bytes(cmd.SerializeAsString());
        } else if (n == "create-shadow-topic") {
            c.expect_keys(
                {"link", "name", "partitions", "rf", "config", "source", "uuid", "as", "defer"});
            v1::CreateTopicsRequest::Item item;
            item.set_name(c.get_string("name"));
            item.set_partitions(static_cast<int32_t>(parse_int_arg(c, "partitions", -1)));
            item.set_replication_factor(static_cast<int32_t>(parse_int_arg(c, "rf", -1)));
            for (const auto& [k, v] : kv_list(c, "config")) {
                (*item.mutable_configs())[k] = v;
            }
            v1::TopicShadow sh;
            sh.set_source_topic(c.get_string("source", ""));
            const std::string uuid = c.has("uuid") ? c.get_string("uuid") : next_uuid();
            propose(c,
                    make_create_shadow_topic(*_stm, c.get_string("link"), item, sh, uuid, meta(c)));
        } else if (n == "shadow-state") {
            c.expect_keys({"topic", "from", "to", "reason", "as", "defer"});
            propose(c, make_set_shadow_topic_state(
                           *_stm, c.get_string("topic"), topic_state_arg(c, "from"),
                           topic_state_arg(c, "to"), c.get_string("reason", ""), meta(c)));
        } else if (n == "fail-over-link") {
            c.expect_keys({"name", "as", "defer"});
            propose(c, make_fail_over_shadow_link(*_stm, c.get_string("name"), "test", meta(c)));
        } else if (n == "apply-raw-shadow-state") {
            c.expect_keys({"topic", "from", "to", "link-uuid"});
            v1::ControllerCommand cmd;
            cmd.set_principal("raw");
            v1::SetShadowTopicState* st = cmd.mutable_set_shadow_topic_state();
            st->set_topic(c.get_string("topic"));
            st->set_from(topic_state_arg(c, "from"));
            st->set_to(topic_state_arg(c, "to"));
            st->set_link_uuid(c.get_string("link-uuid", ""));
            apply_bytes(cmd.SerializeAsString());
        } else if (n == "sync-shadow-topic") {
            c.expect_keys({"topic", "partitions", "config", "as", "defer"});
            std::map<std::string, std::string> configs;
            for (const auto& [k, v] : kv_list(c, "config")) {
                configs[k] = v;
            }
            propose(c,
                    make_sync_shadow_topic(*_stm, c.get_string("topic"),
                                           static_cast<int32_t>(parse_int_arg(c, "partitions", 0)),
                                           configs, meta(c)));
        } else if (n == "sync-acls") {
            c.expect_keys({"link", "create", "remove", "as", "defer"});
            propose(c, make_sync_shadow_acls(*_stm, c.get_string("link"), acl_list(c, "create"),
                                             acl_list(c, "remove"), meta(c)));
        } else if (n == "links") {
            if (_stm->shadow_links().all().empty()) {
                print("no links");
            }
            for (const auto& [name, l] : _stm->shadow_links().all()) {
                print("link " + link_line(l));
            }
        } else {
            c.fail("unknown command");
        }
    }

    v1::ShadowTopicState topic_state_arg(const test_command& c, const std::string& key) {
        const auto s = cluster::shadow::parse_topic_state(c.get_string(key));
        if (!s) {
            c.fail(fmt::format("{}: not a shadow topic state", key));
        }
        return *s;
    }

    /// "user:topic" -> User:<user> ALLOW READ on literal topic <topic>, any host.
    std::vector<v1::AclBinding> acl_list(const test_command& c, const std::string& key) {
        std::vector<v1::AclBinding> out;
        for (const std::string& e : c.get_list(key)) {
            const size_t colon = e.find(':');
            if (colon == std::string::npos) {
                c.fail(fmt::format("{}: '{}' is not user:topic", key, e));
            }
            v1::AclBinding b;
            b.set_principal("User:" + e.substr(0, colon));
            b.set_resource_type(v1::ACL_RESOURCE_TOPIC);
            b.set_resource_name(e.substr(colon + 1));
            b.set_pattern_type(v1::ACL_PATTERN_LITERAL);
            b.set_host("*");
            b.set_operation(v1::ACL_OPERATION_READ);
            b.set_permission(v1::ACL_PERMISSION_ALLOW);
            out.push_back(std::move(b));
        }
        return out;
    }

    v1::ShadowLink link_arg(const test_command& c) {
        v1::ShadowLink l;
        l.set_name(c.get_string("name"));
        v1::ShadowLinkConfig* cfg = l.mutable_config();
        v1::ShadowClientOptions* co = cfg->mutable_client_options();
        if (c.has("servers")) {
            for (const std::string& s : c.get_list("servers")) {
                co->add_bootstrap_servers(s);
            }
        } else {
            co->add_bootstrap_servers("src:9092");
        }
        const auto split = [&](const std::string& key) {
            const std::string v = c.get_string(key);
            const size_t colon = v.find(':');
            return std::pair(v.substr(0, colon),
                             colon == std::string::npos ? std::string() : v.substr(colon + 1));
        };
        const bool password_set = c.get_bool("password-set", false);
        if (c.has("scram")) {
            auto [user, pw] = split("scram");
            auto* a = co->mutable_authentication_configuration()->mutable_scram_configuration();
            a->set_username(user);
            a->set_password(pw);
            a->set_scram_mechanism(c.get_string("mechanism", "SCRAM-SHA-256"));
            a->set_password_set(password_set);
        } else if (c.has("plain")) {
            auto [user, pw] = split("plain");
            auto* a = co->mutable_authentication_configuration()->mutable_plain_configuration();
            a->set_username(user);
            a->set_password(pw);
            a->set_password_set(password_set);
        }
        if (c.has("pem")) {
            auto [cert, key] = split("pem");
            v1::ShadowTlsSettings* t = co->mutable_tls_settings();
            t->set_enabled(true);
            t->mutable_tls_pem_settings()->set_cert(cert);
            t->mutable_tls_pem_settings()->set_key(key);
            if (!key.empty()) {
                t->mutable_tls_pem_settings()->set_key_fingerprint("fp-" + key);
            }
        }
        v1::ShadowTopicSyncOptions* ts = cfg->mutable_topic_metadata_sync_options();
        const std::vector<std::string> filters =
            c.has("filters") ? c.get_list("filters")
                             : std::vector<std::string>{"include:literal:*"};
        for (const std::string& f : filters) {
            const size_t a = f.find(':');
            const size_t b = f.find(':', a + 1);
            if (a == std::string::npos || b == std::string::npos) {
                c.fail(fmt::format("filters: '{}' is not include|exclude:literal|prefix:name", f));
            }
            v1::ShadowNameFilter* nf = ts->add_auto_create_shadow_topic_filters();
            nf->set_filter_type(f.substr(0, a) == "exclude" ? v1::SHADOW_FILTER_EXCLUDE
                                                            : v1::SHADOW_FILTER_INCLUDE);
            nf->set_pattern_type(f.substr(a + 1, b - a - 1) == "prefix"
                                     ? v1::SHADOW_PATTERN_PREFIX
                                     : v1::SHADOW_PATTERN_LITERAL);
            nf->set_name(f.substr(b + 1));
        }
        for (const std::string& k : c.get_list("synced")) {
            ts->add_synced_shadow_topic_properties(k);
        }
        ts->set_exclude_default(c.get_bool("exclude-default", false));
        if (c.has("state")) {
            const std::string st = c.get_string("state");
            l.set_state(st == "ACTIVE"   ? v1::SHADOW_LINK_STATE_ACTIVE
                        : st == "PAUSED" ? v1::SHADOW_LINK_STATE_PAUSED
                                         : v1::SHADOW_LINK_STATE_UNSPECIFIED);
        }
        return l;
    }

    v1::MigrationState state_arg(const test_command& c, const std::string& key) {
        const auto s = cluster::parse_migration_state(c.get_string(key));
        if (!s) {
            c.fail(fmt::format("{}: not a migration state", key));
        }
        return *s;
    }

    void mount_prepared(const test_command& c) {
        const int64_t id = parse_int_arg(c, "id", 0);
        const v1::Migration* m = _stm->migrations().find(id);
        std::vector<tiered::topic_mount_manifest> manifests;
        std::vector<std::string> uuids;
        for (int i = 0; m != nullptr && i < m->topics_size(); ++i) {
            tiered::topic_mount_manifest mf;
            mf.topic = m->topics(i).topic();
            mf.location = c.get_string("location", m->topics(i).location());
            mf.replication_factor = static_cast<int32_t>(parse_int_arg(c, "rf", 1));
            for (const std::string& o : c.get_list("offsets")) {
                mf.next_offsets.push_back(*parse_int(o));
            }
            if (!c.has("offsets")) {
                mf.next_offsets = {0};
            }
            for (const auto& [k, v] : kv_list(c, "config")) {
                mf.configs[k] = v;
            }
            manifests.push_back(std::move(mf));
            uuids.push_back(c.has("uuid") ? c.get_string("uuid") : next_uuid());
        }
        propose(c, make_mount_prepared(*_stm, id, manifests, uuids, meta(c)));
    }

    /// An enum argument as its wire value: a word acl.h parses, a number, or
    /// "unspecified" (0).
    template <typename Parse>
    int enum_arg(const test_command& c, const std::string& key, const std::string& def,
                 Parse parse) {
        const std::string v = c.get_string(key, def);
        if (v == "unspecified") {
            return 0;
        }
        if (auto n = parse_int(v)) {
            return static_cast<int>(*n);
        }
        auto e = parse(v);
        if (!e) {
            c.fail(e.error().message());
        }
        return static_cast<int>(*e);
    }

    void create_user(const test_command& c) {
        const std::string name = c.get_string("name");
        const std::string mech = c.get_string("mechanism", "SCRAM-SHA-256");
        auto m = security::parse_scram_mechanism(mech);
        if (!m) {
            c.fail(m.error().message());
        }
        auto cred = security::make_scram_credential(
            *m, c.get_string("password", "pw-" + name),
            static_cast<int32_t>(parse_int_arg(c, "iterations", 4096)),
            c.get_string("salt", "salt-" + name));
        if (!cred) {
            c.fail(cred.error().message());
        }
        v1::User u;
        u.set_name(name);
        v1::ScramCredential* sc = u.mutable_credential();
        sc->set_mechanism(std::string(security::to_string(cred->mechanism)));
        sc->set_salt(cred->salt);
        sc->set_iterations(cred->iterations);
        sc->set_stored_key(cred->stored_key);
        sc->set_server_key(cred->server_key);
        const std::string corrupt = c.get_string("corrupt", "");
        if (corrupt == "salt") {
            sc->clear_salt();
        } else if (corrupt == "iterations") {
            sc->set_iterations(100);
        } else if (corrupt == "stored_key") {
            sc->set_stored_key("short");
        } else if (corrupt == "mechanism") {
            sc->set_mechanism("SCRAM-SHA-1");
        } else if (!corrupt.empty()) {
            c.fail("corrupt: salt|iterations|stored_key|mechanism");
        }
        const std::string mode = c.get_string("mode", "create");
        propose(c, make_upsert_user(*_stm, u, mode == "create", mode == "update", meta(c)));
    }

    // propose() with a request_id on the command, then what the stm
    // remembers of it: the bindings it removed.
    void propose_with_id(const test_command& c, result<std::optional<v1::ControllerCommand>> r) {
        std::string id;
        if (r && r->has_value()) {
            id = fmt::format("req-{}", ++_requests);
            (*r)->set_request_id(id);
        }
        propose(c, r);
        if (id.empty() || c.get_bool("defer", false)) {
            return;
        }
        const auto changes = _stm->changes_of(id);
        if (!changes) {
            print("changes_of: not remembered");
            return;
        }
        for (const v1::Delta& d : *changes) {
            if (d.has_acl_deleted()) {
                print("  removed " + acl_line(d.acl_deleted()));
            }
        }
    }

    void propose_with_id(const test_command& c, result<v1::ControllerCommand> r) {
        if (!r) {
            propose_with_id(c, result<std::optional<v1::ControllerCommand>>(r.error()));
            return;
        }
        propose_with_id(c, result<std::optional<v1::ControllerCommand>>(std::optional(*r)));
    }

    void register_broker(const test_command& c) {
        v1::Broker b;
        const int64_t id = parse_int_arg(c, "id", 0);
        b.set_id(static_cast<int32_t>(id));
        b.set_rack(c.get_string("rack", ""));
        b.set_incarnation(c.get_string("incarnation", fmt::format("inc-{}", id)));
        b.set_version(c.get_string("version", "v1"));
        const std::string fips = c.get_string("fips", "disabled");
        b.set_fips_mode(fips == "enabled"      ? v1::FIPS_MODE_ENABLED
                        : fips == "permissive" ? v1::FIPS_MODE_PERMISSIVE
                        : fips == "disabled"   ? v1::FIPS_MODE_DISABLED
                                               : v1::FIPS_MODE_UNSPECIFIED);
        auto eps = kv_list(c, "endpoints");
        if (!c.has("endpoints")) {
            eps.emplace_back("kafka", fmt::format("broker{}:9092", id));
        }
        for (const auto& [name, addr] : eps) {
            v1::Endpoint* e = b.add_endpoints();
            e->set_name(name);
            const size_t colon = addr.rfind(':');
            e->set_host(addr.substr(0, colon));
            e->set_port(colon == std::string::npos ? 0 : std::stoi(addr.substr(colon + 1)));
        }
        propose(c, make_register_broker(*_stm, b, c.get_bool("alive", false), meta(c)));
    }

    void conf_change(const test_command& c) {
        c.expect_keys({"add-voter", "add-learner", "remove", "peer", "api", "context"});
        raft::conf_change cc;
        if (c.has("add-voter")) {
            cc.type = raft::conf_change_type::add_voter;
            cc.node = node_id{c.get_uint("add-voter")};
        } else if (c.has("add-learner")) {
            cc.type = raft::conf_change_type::add_learner;
            cc.node = node_id{c.get_uint("add-learner")};
        } else {
            cc.type = raft::conf_change_type::remove_node;
            cc.node = node_id{c.get_uint("remove")};
        }
        if (c.get_string("context", "") == "garbage") {
            cc.context = "\xff\xff\xff";
        } else if (c.has("peer") || c.has("api")) {
            v1::MemberContext ctx;
            ctx.mutable_member()->set_id(cc.node.value());
            ctx.mutable_member()->set_peer_address(c.get_string("peer", ""));
            ctx.mutable_member()->set_api_address(c.get_string("api", ""));
            cc.context = ctx.SerializeAsString();
        }
        _stm->apply_conf_change(next_index(), cc);
        print(fmt::format("index {}: applied (revision {})", _stm->applied(), _stm->revision()));
    }

    void restore(const test_command& c) {
        if (c.get_bool("garbage", false)) {
            const std::string before = _stm->snapshot();
            const log_index applied = _stm->applied();
            std::string bad = _snapshot.empty() ? std::string("\x0a\x05zz", 4) : _snapshot;
            bad.resize(bad.size() / 2);  // truncated mid-message
            const result<void> r = _stm->restore(bad, applied + 1);
            if (r) {
                print("restored a truncated snapshot: BUG");
                return;
            }
            print(fmt::format("error: {} ({})", error_text(r.error()),
                              _stm->snapshot() == before && _stm->applied() == applied
                                  ? "state unchanged"
                                  : "STATE CHANGED"));
            return;
        }
        if (_snapshot_index == log_index{0}) {
            c.fail("no snapshot taken");
        }
        auto fresh = std::make_unique<controller_stm>();
        const result<void> r = fresh->restore(_snapshot, _snapshot_index);
        if (!r) {
            print("error: " + error_text(r.error()));
            return;
        }
        _stm = std::move(fresh);
        _deferred.clear();
        print(fmt::format("restored at index {}: revision {}, horizon {}", _stm->applied(),
                          _stm->revision(), _stm->horizon()));
    }

    void dump() {
        print(fmt::format("applied {} revision {} horizon {} cluster_uuid {}", _stm->applied(),
                          _stm->revision(), _stm->horizon(),
                          _stm->cluster_uuid().empty() ? "-" : _stm->cluster_uuid()));
        for (const auto& [id, b] : _stm->brokers().all()) {
            print(broker_line(b) + " registered=" + audit(b.registered()) +
                  " updated=" + audit(b.updated()));
        }
        for (const auto& [name, t] : _stm->topics().all()) {
            print(topic_line(t) + " created=" + audit(t.created()) +
                  " updated=" + audit(t.updated()));
            for (const v1::PartitionAssignment& p : t.partitions()) {
                print("  " + partition(p));
            }
        }
        for (const auto& [key, v] : _stm->cluster_config().all()) {
            print(fmt::format("config {}={} updated={}", key, v.value(), audit(v.updated())));
        }
        for (const auto& [id, m] : _stm->members().all()) {
            print(member_line(m));
        }
        for (const auto& [name, u] : _stm->users().all()) {
            print("user " + user_line(u));
        }
        for (const auto& [key, b] : _stm->acls().all()) {
            print("acl " + acl_line(b));
        }
        for (const auto& [name, r] : _stm->roles().all()) {
            print("role " + role_line(r));
        }
        for (const auto& [id, m] : _stm->migrations().all()) {
            print("migration " + migration_line(m));
        }
        for (const auto& [name, l] : _stm->shadow_links().all()) {
            print("link " + link_line(l));
        }
    }

    void placement(const test_command& c) {
        topic_table selected;
        for (const auto& [name, t] : _stm->topics().all()) {
            if (!c.has("topic") || name == c.get_string("topic")) {
                selected.upsert(t);
            }
        }
        const std::map<int32_t, broker_load> load = current_load(selected);
        for (const auto& [id, b] : _stm->brokers().all()) {
            const auto it = load.find(id);
            const broker_load l = it == load.end() ? broker_load{} : it->second;
            print(fmt::format("broker {} rack={} {}: replicas={} leaders={}", id, b.rack(),
                              state_name(b.state()), l.replicas, l.leaders));
        }
        int64_t partitions = 0;
        int64_t spread = 0;
        std::set<size_t> racks_per_partition;
        for (const auto& [name, t] : selected.all()) {
            for (const v1::PartitionAssignment& p : t.partitions()) {
                std::set<std::string> racks;
                for (int32_t r : p.replicas()) {
                    racks.insert(_stm->brokers().find(r)->rack());
                }
                ++partitions;
                racks_per_partition.insert(racks.size());
                spread += racks.size() == static_cast<size_t>(p.replicas_size()) ? 1 : 0;
            }
        }
        print(
            fmt::format("{} partitions; {} with every replica on a distinct rack; racks per "
                        "partition: {}",
                        partitions, spread, fmt::join(racks_per_partition, ",")));
    }

    std::unique_ptr<controller_stm> _stm;
    std::vector<v1::ControllerCommand> _deferred;
    std::string _snapshot;
    log_index _snapshot_index;
    int64_t _clock = 0;
    int _uuids = 0;
    int _requests = 0;
    std::string _out;
};

// ---------------------------------------------------------------- the test

std::vector<std::string> testdata_files() {
    return datadriven::list_files("testdata", ".txt");
}

class stm_datadriven : public ::testing::TestWithParam<std::string> {};

TEST_P(stm_datadriven, run) {
    stm_env env;
    datadriven::run_datadriven_file(GetParam(),
                                    [&](const test_command& c) { return env.handle(c); });
}

/// "testdata/topics.txt" -> "topics" (GoogleTest names are [A-Za-z0-9_]).
std::string case_name(const ::testing::TestParamInfo<std::string>& p) {
    std::string name = p.param.substr(p.param.find_last_of('/') + 1);
    name = name.substr(0, name.size() - 4);  // ".txt"
    for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) {
            ch = '_';
        }
    }
    return name;
}

INSTANTIATE_TEST_SUITE_P(testdata, stm_datadriven, ::testing::ValuesIn(testdata_files()),
                         case_name);

TEST(stm_datadriven_files, found) {
    // Guards against running from the wrong directory, which would otherwise
    // pass by running nothing.
    EXPECT_FALSE(testdata_files().empty()) << "no testdata/*.txt: run from controller/stm";
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(stm_datadriven);

}  // namespace
}  // namespace fjord::stm
