// File: broker/shadow/group_offset_source.cc
//
// The Kafka source of the Consumer Group Shadowing (group_offset_source.h).

#include "broker/shadow/group_offset_source.h"

#include <fmt/format.h>

#include "common/kafka/api_keys.h"
#include "common/kafka/client/shadow_options.h"
#include "common/kafka/client/wire_client.h"
#include "common/kafka/messages/find_coordinator.h"
#include "common/kafka/messages/list_groups.h"
#include "common/kafka/messages/metadata.h"
#include "common/kafka/messages/offset_fetch.h"

namespace fjord::broker::shadow {
namespace {

namespace kc = fjord::kafka::client;
namespace km = fjord::kafka;

error_info kafka_refusal(const std::string& what, int16_t code) {
    switch (code) {
        case 29:  // TOPIC_AUTHORIZATION_FAILED
        case 30:  // GROUP_AUTHORIZATION_FAILED
        case 31:  // CLUSTER_AUTHORIZATION_FAILED
            return error_info(
                std::make_error_code(std::errc::permission_denied),
                fmt::format("{}: not authorized on the source (error {})", what, code));
        default:
            return error_info(std::make_error_code(std::errc::resource_unavailable_try_again),
                              fmt::format("{}: the source answered error {}", what, code));
    }
}

std::string address_of(const std::string& host, int32_t port) {
    return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                               : fmt::format("{}:{}", host, port);
}

class kafka_source final : public source_cluster {
  public:
    kafka_source(v1::ShadowLink link, kc::client_options o, std::unique_ptr<kc::wire_client> first)
        : _link(std::move(link)), _o(std::move(o)), _bootstrap(first->address()) {
        _conns[_bootstrap] = std::move(first);
    }

    /// Metadata at the bootstrap connection (reopened if it broke): the
    /// source's brokers and cluster id.
    result<km::metadata_response> metadata() {
        auto c = conn(_bootstrap);
        if (!c) {
            return c.error();
        }
        const auto v = (*c)->version_for(static_cast<int16_t>(km::api_key::metadata), 1, 12);
        if (!v) {
            return unsupported("Metadata v1-12");
        }
        km::metadata_request req;
        req.topics.emplace();  // none: only the brokers and the cluster id
        req.allow_auto_topic_creation = false;
        auto r = (*c)->call<km::metadata_request, km::metadata_response>(req, *v);
        if (!r) {
            _conns.erase(_bootstrap);
            return r.error();
        }
        const auto& want = _link.config().client_options().source_cluster_id();
        if (!want.empty() && r->cluster_id.value_or("") != want) {
            return error_info(std::make_error_code(std::errc::invalid_argument),
                              fmt::format("the source's cluster id is \"{}\", not the configured "
                                          "client_options.source_cluster_id \"{}\"",
                                          r->cluster_id.value_or(""), want));
        }
        return r;
    }

    result<std::vector<std::string>> list_groups(std::vector<std::string>& partial) override {
        auto md = metadata();
        if (!md) {
            return md.error();
        }
        std::vector<std::string> out;
        std::optional<error_info> first;
        size_t answered = 0;
        for (const auto& b : md->brokers) {
            const std::string addr = address_of(b.host, b.port);
            auto groups = list_groups_at(addr);
            if (!groups) {
                partial.push_back(addr);
                if (!first) {
                    first = groups.error();
                }
                continue;
            }
            ++answered;
            out.insert(out.end(), groups->begin(), groups->end());
        }
        if (answered == 0 && first) {
            return *first;
        }
        return out;
    }

    result<source_offsets> fetch_offsets(const std::string& group) override {
        auto coordinator = find_coordinator(group);
        if (!coordinator) {
            return coordinator.error();
        }
        auto c = conn(*coordinator);
        if (!c) {
            return c.error();
        }
        const auto v = (*c)->version_for(static_cast<int16_t>(km::api_key::offset_fetch), 2, 8);
        if (!v) {
            return unsupported("OffsetFetch v2-8");
        }
        km::offset_fetch_request req;
        if (*v >= 8) {
            km::offset_fetch_request::offset_fetch_request_group g;
            g.group_id = group;
            g.topics.reset();  // every partition with an offset
            req.groups.push_back(std::move(g));
        } else {
            req.group_id = group;
            req.topics.reset();
        }
        auto r = (*c)->call<km::offset_fetch_request, km::offset_fetch_response>(req, *v);
        if (!r) {
            _conns.erase(*coordinator);
            return r.error();
        }
        const std::string what =
            fmt::format("OffsetFetch of group \"{}\" at {}", group, *coordinator);
        source_offsets out;
        const auto add = [&](const std::string& topic, const auto& p) {
            if (p.error_code == 0 && p.committed_offset >= 0) {
                out[{topic, p.partition_index}] =
                    source_offset{p.committed_offset, p.metadata.value_or("")};
            }
        };
        if (*v >= 8) {
            for (const auto& g : r->groups) {
                if (g.error_code != 0) {
                    return kafka_refusal(what, g.error_code);
                }
                for (const auto& t : g.topics) {
                    for (const auto& p : t.partitions) {
                        add(t.name, p);
                    }
                }
            }
            return out;
        }
        if (r->error_code != 0) {
            return kafka_refusal(what, r->error_code);
        }
        for (const auto& t : r->topics) {
            for (const auto& p : t.partitions) {
                add(t.name, p);
            }
        }
        return out;
    }

  private:
    error_info unsupported(std::string_view what) const {
        return error_info(std::make_error_code(std::errc::not_supported),
                          fmt::format("the source does not serve {}", what));
    }

    result<kc::wire_client*> conn(const std::string& address) {
        auto it = _conns.find(address);
        if (it != _conns.end()) {
            return it->second.get();
        }
        auto opened = kc::wire_client::open(address, _o);
        if (!opened) {
            return opened.error();
        }
        kc::wire_client* c = opened->get();
        _conns[address] = std::move(*opened);
        return c;
    }

    result<std::vector<std::string>> list_groups_at(const std::string& address) {
        auto c = conn(address);
        if (!c) {
            return c.error();
        }
        const auto v = (*c)->version_for(static_cast<int16_t>(km::api_key::list_groups), 0, 4);
        if (!v) {
            return unsupported("ListGroups v0-4");
        }
        auto r = (*c)->call<km::list_groups_request, km::list_groups_response>({}, *v);
        if (!r) {
            _conns.erase(address);
            return r.error();
        }
        if (r->error_code != 0) {
            return kafka_refusal(fmt::format("ListGroups at {}", address), r->error_code);
        }
        std::vector<std::string> out;
        for (const auto& g : r->groups) {
            out.push_back(g.group_id);
        }
        return out;
    }

    result<std::string> find_coordinator(const std::string& group) {
        auto c = conn(_bootstrap);
        if (!c) {
            return c.error();
        }
        const auto v = (*c)->version_for(static_cast<int16_t>(km::api_key::find_coordinator), 1, 6);
        if (!v) {
            return unsupported("FindCoordinator v1-6");
        }
        km::find_coordinator_request req;
        req.key_type = 0;  // a group
        if (*v >= 4) {
            req.coordinator_keys = {group};
        } else {
            req.key = group;
        }
        auto r = (*c)->call<km::find_coordinator_request, km::find_coordinator_response>(req, *v);
        if (!r) {
            _conns.erase(_bootstrap);
            return r.error();
        }
        const std::string what = fmt::format("FindCoordinator of group \"{}\"", group);
        if (*v >= 4) {
            if (r->coordinators.empty()) {
                return kafka_refusal(what, 15);
            }
            const auto& co = r->coordinators.front();
            if (co.error_code != 0) {
                return kafka_refusal(what, co.error_code);
            }
            return address_of(co.host, co.port);
        }
        if (r->error_code != 0) {
            return kafka_refusal(what, r->error_code);
        }
        return address_of(r->host, r->port);
    }

    v1::ShadowLink _link;
    kc::client_options _o;
    std::string _bootstrap;
    std::map<std::string, std::unique_ptr<kc::wire_client>> _conns;
};

}  // namespace

result<std::unique_ptr<source_cluster>> connect_source(const v1::ShadowLink& l) {
    auto o = kc::client_options_for(l.config().client_options(), "fjord-shadow-" + l.name());
    if (!o) {
        return o.error();
    }
    std::optional<error_info> first;
    for (const auto& address : l.config().client_options().bootstrap_servers()) {
        auto c = kc::wire_client::open(address, *o);
        if (!c) {
            if (!first) {
                first = c.error();
            }
            continue;
        }
        auto source = std::make_unique<kafka_source>(l, *o, std::move(*c));
        if (auto md = source->metadata(); !md) {
            return md.error();  // the cluster id, or the source's answer
        }
        return std::unique_ptr<source_cluster>(std::move(source));
    }
    if (!first) {
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          "client_options.bootstrap_servers is empty");
    }
    return error_info(first->code, fmt::format("no bootstrap server answered: {}", first->detail));
}

}  // namespace fjord::broker::shadow
