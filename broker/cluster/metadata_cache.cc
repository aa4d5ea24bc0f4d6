// File: broker/cluster/metadata_cache.cc

#include "broker/cluster/metadata_cache.h"

#include <algorithm>
#include <string>

#include <fmt/format.h>

namespace fjord::broker {
namespace {

class watch_category_impl final : public std::error_category {
  public:
    const char* name() const noexcept override { return "broker.watch"; }
    std::string message(int c) const override {
        switch (static_cast<watch_errc>(c)) {
            case watch_errc::success:
                return "success";
            case watch_errc::foreign_cluster:
                return "controller of another cluster";
            case watch_errc::behind:
                return "controller behind the broker";
        }
        return "unknown broker.watch error " + std::to_string(c);
    }
};

}  // namespace

const std::error_category& watch_category() {
    static const watch_category_impl c;
    return c;
}

acl_key key_of(const v1::AclBinding& b) {
    return {b.resource_type(), b.resource_name(), b.pattern_type(), b.principal(),
            b.host(),          b.operation(),     b.permission()};
}

void metadata_cache::require(std::string cluster_uuid, uint64_t min_revision) {
    _required_uuid = std::move(cluster_uuid);
    _required_revision = min_revision;
}

result<void> metadata_cache::apply(const v1::WatchEvent& ev) {
    if (ev.has_snapshot()) {
        const auto& s = ev.snapshot();
        // Once applied, a cluster uuid is as binding as the recorded one.
        const std::string& mine = _cluster_uuid.empty() ? _required_uuid : _cluster_uuid;
        if (!mine.empty() && s.cluster_uuid() != mine) {
            return error_info(
                watch_errc::foreign_cluster,
                fmt::format(
                    "snapshot of cluster {} refused: this broker's data belongs to cluster {}",
                    s.cluster_uuid().empty() ? "(no uuid)" : s.cluster_uuid(), mine));
        }
        const uint64_t floor = std::max(_applied, _required_revision);
        if (s.revision() < floor) {
            return error_info(
                watch_errc::behind,
                fmt::format("snapshot revision {} < applied revision {}", s.revision(), floor));
        }
        _topics.clear();
        _brokers.clear();
        _config.clear();
        _users.clear();
        _acls.clear();
        _roles.clear();
        _shadow_links.clear();
        for (const auto& t : s.topics()) {
            _topics[t.name()] = t;
        }
        for (const auto& b : s.brokers()) {
            _brokers[b.id()] = b;
        }
        for (const auto& c : s.cluster_config()) {
            _config[c.key()] = c.value();
        }
        for (const auto& u : s.users()) {
            _users[u.name()] = u;
        }
        for (const auto& a : s.acls()) {
            _acls[key_of(a)] = a;
        }
        for (const auto& r : s.roles()) {
            _roles[r.name()] = r;
        }
        for (const auto& l : s.shadow_links()) {
            _shadow_links[l.name()] = l;
        }
        ++_security_generation;
        _cluster_uuid = s.cluster_uuid();
        _applied = s.revision();
        _ready = true;
        ++_generation;
        return ok();
    }
    if (!ev.has_delta()) {
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          "watch event: neither snapshot nor delta");
    }
    if (!_ready) {
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          fmt::format("watch event: delta at revision {} before any snapshot",
                                      ev.delta().revision()));
    }
    if (ev.delta().revision() <= _applied) {
        return ok();  // already applied (a resumed stream repeats nothing, but be safe)
    }
    if (ev.delta().has_cluster_uuid_set()) {
        const std::string& mine = _cluster_uuid.empty() ? _required_uuid : _cluster_uuid;
        if (!mine.empty() && ev.delta().cluster_uuid_set() != mine) {
            return error_info(
                watch_errc::foreign_cluster,
                fmt::format("delta at revision {} sets cluster uuid {}: this "
                            "broker's data belongs to cluster {}",
                            ev.delta().revision(), ev.delta().cluster_uuid_set(), mine));
        }
    }
    apply_delta(ev.delta());
    ++_generation;
    if (ev.revision_complete()) {
        _applied = ev.delta().revision();
    }
    return ok();
}

void metadata_cache::apply_delta(const v1::Delta& d) {
    switch (d.change_case()) {
        case v1::Delta::kTopicUpserted:
            _topics[d.topic_upserted().name()] = d.topic_upserted();
            break;
        case v1::Delta::kTopicDeleted:
            _topics.erase(d.topic_deleted());
            break;
        case v1::Delta::kBrokerUpserted:
            _brokers[d.broker_upserted().id()] = d.broker_upserted();
            break;
        case v1::Delta::kConfigSet:
            _config[d.config_set().key()] = d.config_set().value();
            ++_security_generation;
            break;
        case v1::Delta::kConfigRemoved:
            _config.erase(d.config_removed());
            ++_security_generation;
            break;
        case v1::Delta::kUserUpserted:
            _users[d.user_upserted().name()] = d.user_upserted();
            ++_security_generation;
            break;
        case v1::Delta::kUserDeleted:
            _users.erase(d.user_deleted());
            ++_security_generation;
            break;
        case v1::Delta::kAclCreated:
            _acls[key_of(d.acl_created())] = d.acl_created();
            ++_security_generation;
            break;
        case v1::Delta::kAclDeleted:
            _acls.erase(key_of(d.acl_deleted()));
            ++_security_generation;
            break;
        case v1::Delta::kRoleUpserted:
            _roles[d.role_upserted().name()] = d.role_upserted();
            ++_security_generation;
            break;
        case v1::Delta::kRoleDeleted:
            _roles.erase(d.role_deleted());
            ++_security_generation;
            break;
        case v1::Delta::kShadowLinkUpserted:
            _shadow_links[d.shadow_link_upserted().name()] = d.shadow_link_upserted();
            break;
        case v1::Delta::kShadowLinkRemoved:
            _shadow_links.erase(d.shadow_link_removed());
            break;
        case v1::Delta::kClusterUuidSet:
            _cluster_uuid = d.cluster_uuid_set();
            break;
        case v1::Delta::kMemberUpserted:
        case v1::Delta::kMemberRemoved:
        // Migrations reach brokers through their topics (Topic.migration).
        case v1::Delta::kMigrationUpserted:
        case v1::Delta::kMigrationRemoved:
        case v1::Delta::CHANGE_NOT_SET:
            // Controller membership is not the broker's business; a change
            // type newer than this broker is skipped the same way.
            break;
    }
}

const v1::Topic* metadata_cache::topic(const std::string& name) const {
    auto it = _topics.find(name);
    return it == _topics.end() ? nullptr : &it->second;
}

const v1::ShadowLink* metadata_cache::shadow_link(const std::string& name) const {
    auto it = _shadow_links.find(name);
    return it == _shadow_links.end() ? nullptr : &it->second;
}

const v1::Broker* metadata_cache::broker(int32_t id) const {
    auto it = _brokers.find(id);
    return it == _brokers.end() ? nullptr : &it->second;
}

std::optional<std::string> metadata_cache::config(const std::string& key) const {
    auto it = _config.find(key);
    if (it == _config.end()) {
        return std::nullopt;
    }
    return it->second;
}

const v1::Endpoint* kafka_endpoint(const v1::Broker& b) {
    if (b.state() == v1::BROKER_STATE_DECOMMISSIONED || b.endpoints().empty()) {
        return nullptr;
    }
    for (const auto& e : b.endpoints()) {
        if (e.name() == "kafka") {
            return &e;
        }
    }
    return &b.endpoints(0);
}

}  // namespace fjord::broker
