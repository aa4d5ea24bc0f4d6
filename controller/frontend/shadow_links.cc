// File: controller/frontend/shadow_links.cc
//
// The shadow-links domain of the frontend (shadow_links.h).

#include "controller/frontend/shadow_links.h"

#include <map>
#include <memory>
#include <utility>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "common/cluster/shadow_link.h"
#include "common/cluster/topic_name.h"
#include "common/uuid.h"

namespace fjord::frontend {
namespace {

using cluster::errc;
using cluster::quoted;
namespace shadow = cluster::shadow;

/// The link named `name` as the API returns it, and the revision.
void answer(core& c, result<void> outcome, const std::string& name, bool with_link,
            const then_fn<result<shadow_link_outcome>>& then) {
    shadow_link_outcome out;
    c.state().read([&](const stm::controller_stm& s) {
        if (const v1::ShadowLink* l = s.shadow_links().find(name); l != nullptr && with_link) {
            out.link = shadow::redacted(*l);
        }
        out.revision = s.revision().value();
        return 0;
    });
    out.outcome = std::move(outcome);
    then(std::move(out));
}

void refuse(core& c, error_info e, const then_fn<result<shadow_link_outcome>>& then) {
    shadow_link_outcome out;
    out.outcome = std::move(e);
    out.revision = c.revision();
    then(std::move(out));
}

/// A PEM key given in the request is fingerprinted here: the builders are
/// pure and the fingerprint is what the API returns in the key's place.
void fingerprint_key(v1::ShadowLink& l) {
    v1::ShadowClientOptions* c = l.mutable_config()->mutable_client_options();
    if (!c->has_tls_settings() || !c->tls_settings().has_tls_pem_settings()) {
        return;
    }
    v1::ShadowTlsPemSettings* pem = c->mutable_tls_settings()->mutable_tls_pem_settings();
    if (pem->key().empty()) {
        pem->clear_key_fingerprint();  // output only; an update's kept key brings its own
    } else {
        pem->set_key_fingerprint(key_fingerprint(pem->key()));
    }
}

/// Runs the one command `build` makes with the request's session; answers
/// with link `name` (when `with_link`) and wakes the driver on success.
void run_one(core& c, const v1::Session& session, bool validate_only, const command_meta& meta,
             std::string name, bool with_link, core::build_fn build,
             then_fn<result<shadow_link_outcome>> then) {
    c.run_batch(1, validate_only, session, meta, std::move(build),
                [&c, validate_only, name = std::move(name), with_link,
                 then = std::move(then)](std::vector<result<void>> items) {
                    result<void> outcome = std::move(items.front());
                    if (outcome && !validate_only && c.opts().shadow_links_changed) {
                        c.opts().shadow_links_changed();
                    }
                    answer(c, std::move(outcome), name, with_link && !validate_only, then);
                });
}

/// Item `topic` of a failover of link `link`: ACTIVE or PAUSED ->
/// FAILING_OVER; FAILING_OVER or FAILED_OVER: nothing to do.
result<v1::ControllerCommand> failover_one(const stm::controller_stm& s, const std::string& link,
                                           const std::string& topic, const command_meta& meta) {
    if (s.shadow_links().find(link) == nullptr) {
        return error_info::for_field(errc::unknown_shadow_link, "name",
                                     fmt::format("no shadow link {}", quoted(link)));
    }
    const v1::Topic* t = s.topics().find(topic);
    if (t == nullptr) {
        return error_info::for_field(errc::unknown_topic, "topic",
                                     fmt::format("topic {} does not exist", quoted(topic)));
    }
    if (!t->has_shadow() || t->shadow().link() != link) {
        return error_info::for_field(
            errc::invalid_argument, "topic",
            t->has_shadow() ? fmt::format("topic {} is a shadow topic of link {}, not of {}",
                                          quoted(topic), quoted(t->shadow().link()), quoted(link))
                            : fmt::format("topic {} is not a shadow topic", quoted(topic)));
    }
    const v1::ShadowTopicState st = t->shadow().state();
    switch (st) {
        case v1::SHADOW_TOPIC_STATE_FAILING_OVER:
        case v1::SHADOW_TOPIC_STATE_FAILED_OVER:
            return v1::ControllerCommand{};  // asked before: on its way or done
        case v1::SHADOW_TOPIC_STATE_ACTIVE:
        case v1::SHADOW_TOPIC_STATE_PAUSED:
            return core::nothing_to_do(stm::make_set_shadow_topic_state(
                s, topic, st, v1::SHADOW_TOPIC_STATE_FAILING_OVER,
                fmt::format("failover requested by {}", meta.principal), meta));
        case v1::SHADOW_TOPIC_STATE_FAULTED:
            // Nothing replicates it: what it holds becomes writable at once.
            return core::nothing_to_do(stm::make_set_shadow_topic_state(
                s, topic, st, v1::SHADOW_TOPIC_STATE_FAILED_OVER,
                fmt::format("failover of a FAULTED topic requested by {}", meta.principal), meta));
        default:
            return error_info::for_field(
                errc::invalid_argument, "topic",
                fmt::format("topic {} is {}: only an ACTIVE, PAUSED or FAULTED shadow topic fails "
                            "over",
                            quoted(topic), shadow::to_string(st)));
    }
}

}  // namespace

std::string key_fingerprint(std::string_view pem_key) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(pem_key.data(), pem_key.size(), md, &len, EVP_sha256(), nullptr) != 1) {
        return {};  // only on allocation failure; an empty fingerprint says "unknown"
    }
    std::string out;
    out.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
        out += fmt::format("{:02x}", md[i]);
    }
    return out;
}

void create_shadow_link(core& c, const v1::CreateShadowLinkRequest& req, const command_meta& meta,
                        then_fn<result<shadow_link_outcome>> then) {
    if (auto r = check_session(req.session()); !r) {
        then(r.error());
        return;
    }
    v1::ShadowLink link = req.link();
    fingerprint_key(link);
    const std::string uuid = new_uuid();
    auto build = [link, uuid, meta](const stm::controller_stm& s, size_t) {
        return stm::make_create_shadow_link(s, link, uuid, meta);
    };
    // The config and the tables first, so a bad config is refused without
    // dialling anyone; a refusal here is left to run_batch (it answers it on
    // linearizable tables, and in the log for a retry).
    auto local = c.state().read([&](const stm::controller_stm& s) { return build(s, 0); });
    // Then the source. Not for a retry: its first attempt ran the preflight
    // and may have been applied, which a "no" now must not contradict.
    if (local && !req.session().retry() && c.opts().shadow_preflight) {
        if (auto r = c.opts().shadow_preflight(link); !r) {
            refuse(c, std::move(r.error()), then);
            return;
        }
    }
    if (req.validate_only()) {
        if (!local) {
            refuse(c, std::move(local.error()), then);
            return;
        }
        shadow_link_outcome out;
        out.link = shadow::redacted(local->upsert_shadow_link().link());
        out.revision = c.revision();
        then(std::move(out));
        return;
    }
    run_one(c, req.session(), false, meta, link.name(), true, std::move(build), std::move(then));
}

void update_shadow_link(core& c, const v1::UpdateShadowLinkRequest& req, const command_meta& meta,
                        then_fn<result<shadow_link_outcome>> then) {
    if (auto r = check_session(req.session()); !r) {
        then(r.error());
        return;
    }
    v1::ShadowLink link = req.link();
    fingerprint_key(link);
    const std::string name = link.name();
    run_one(
        c, req.session(), false, meta, name, true,
        [link = std::move(link), meta](const stm::controller_stm& s, size_t) {
            return stm::make_update_shadow_link(s, link, meta);
        },
        std::move(then));
}

void delete_shadow_link(core& c, const v1::DeleteShadowLinkRequest& req, const command_meta& meta,
                        then_fn<result<shadow_link_outcome>> then) {
    if (auto r = check_session(req.session()); !r) {
        then(r.error());
        return;
    }
    const std::string name = req.name();
    const bool force = req.force();
    run_one(
        c, req.session(), false, meta, name, false,
        [name, force, meta](const stm::controller_stm& s, size_t) {
            return stm::make_delete_shadow_link(s, name, force, meta);
        },
        std::move(then));
}

void fail_over_shadow_link(core& c, const v1::FailOverShadowLinkRequest& req,
                           const command_meta& meta, then_fn<result<shadow_link_outcome>> then) {
    if (auto r = check_session(req.session()); !r) {
        then(r.error());
        return;
    }
    const std::string name = req.name();
    if (req.topic().empty()) {
        // The whole link: one command whose apply picks the topics, so none
        // created or applied meanwhile is missed (commands.proto).
        run_one(
            c, req.session(), false, meta, name, true,
            [name, meta](const stm::controller_stm& s, size_t) {
                return stm::make_fail_over_shadow_link(
                    s, name, fmt::format("failover of the link requested by {}", meta.principal),
                    meta);
            },
            std::move(then));
        return;
    }
    const std::string topic = req.topic();
    run_one(
        c, req.session(), false, meta, name, true,
        [name, topic, meta](const stm::controller_stm& s, size_t) {
            return failover_one(s, name, topic, meta);
        },
        std::move(then));
}

result<v1::ShadowLinkResponse> get_shadow_link(core& c, const v1::GetShadowLinkRequest& req) {
    if (auto r = c.linearize(req.read()); !r) {
        return r.error();
    }
    v1::ShadowLinkResponse resp;
    const bool found = c.state().read([&](const stm::controller_stm& s) {
        resp.set_revision(s.revision().value());
        if (const v1::ShadowLink* l = s.shadow_links().find(req.name())) {
            *resp.mutable_link() = shadow::redacted(*l);
            return true;
        }
        return false;
    });
    if (!found) {
        return error_info::for_field(errc::unknown_shadow_link, "name",
                                     fmt::format("no shadow link {}", quoted(req.name())));
    }
    return resp;
}

result<v1::ListShadowLinksResponse> list_shadow_links(core& c,
                                                      const v1::ListShadowLinksRequest& req) {
    if (auto r = c.linearize(req.read()); !r) {
        return r.error();
    }
    v1::ListShadowLinksResponse resp;
    c.state().read([&](const stm::controller_stm& s) {
        for (const auto& [name, l] : s.shadow_links().all()) {
            *resp.add_links() = shadow::redacted(l);
        }
        resp.set_revision(s.revision().value());
        return 0;
    });
    return resp;
}

result<v1::GetShadowLinkStatusResponse> shadow_link_status(
    core& c, const v1::GetShadowLinkStatusRequest& req, clock::time_point now) {
    if (auto r = c.linearize(v1::ReadOptions{}); !r) {
        return r.error();
    }
    v1::GetShadowLinkStatusResponse resp;
    std::vector<v1::Topic> topics;  // copies: the reports are joined outside the lock
    const bool found = c.state().read([&](const stm::controller_stm& s) {
        const v1::ShadowLink* l = s.shadow_links().find(req.name());
        if (l == nullptr) {
            return false;
        }
        *resp.mutable_link() = shadow::redacted(*l);
        for (const std::string& k :
             shadow::synced_properties(l->config().topic_metadata_sync_options())) {
            resp.add_synced_shadow_topic_properties(k);
        }
        for (const v1::Topic* t : stm::topics_of(s.topics(), req.name())) {
            topics.push_back(*t);
        }
        resp.set_revision(s.revision().value());
        return true;
    });
    if (!found) {
        return error_info::for_field(errc::unknown_shadow_link, "name",
                                     fmt::format("no shadow link {}", quoted(req.name())));
    }
    shadow_reports::link_view view = c.shadow().of_link(req.name(), now);
    for (v1::ShadowTaskStatus& t : view.tasks) {
        *resp.add_tasks() = std::move(t);
    }
    std::map<std::pair<std::string, int32_t>, std::vector<const v1::ShadowPartitionStatus*>>
        reported;
    for (const v1::ShadowPartitionStatus& p : view.partitions) {
        reported[{p.topic(), p.partition()}].push_back(&p);
    }
    for (const v1::Topic& t : topics) {
        v1::ShadowTopicStatus* ts = resp.add_topics();
        ts->set_name(t.name());
        ts->set_id(t.uuid());
        ts->set_source_topic(t.shadow().source_topic());
        ts->set_source_topic_id(t.shadow().source_topic_id());
        ts->set_state(t.shadow().state());
        ts->set_reason(t.shadow().reason());
        for (const v1::PartitionAssignment& pa : t.partitions()) {
            const auto it = reported.find({t.name(), pa.partition()});
            const v1::ShadowPartitionStatus* best = nullptr;
            if (it != reported.end()) {
                // The partition's leader runs its fetcher; a report from a
                // former leader may linger until its next heartbeat.
                for (const v1::ShadowPartitionStatus* p : it->second) {
                    if (best == nullptr || p->broker_id() == pa.leader()) {
                        best = p;
                    }
                }
            }
            v1::ShadowPartitionStatus* ps = ts->add_partitions();
            if (best != nullptr) {
                *ps = *best;
                continue;
            }
            ps->set_link(req.name());
            ps->set_topic(t.name());
            ps->set_partition(pa.partition());
            ps->set_source_lso(-1);
            ps->set_source_hwm(-1);
            ps->set_shadow_hwm(-1);
            ps->set_state("UNKNOWN");
            ps->set_reason("no report from its leader yet");
            ps->set_broker_id(pa.leader());
        }
    }
    return resp;
}

}  // namespace fjord::frontend
