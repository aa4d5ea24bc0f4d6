#pragma once
// File: controller/frontend/shadow_links.h
//
// Shadow links (docs/shadow-links.md, rpk-reference §4, §10): the API's
// create, update, delete and failover of a link, its reads, and the status
// the leader assembles from the tables and the brokers' reports
// (shadow_reports.h). Builders: controller/stm/commands.h; the leader's
// driver that creates and syncs shadow topics and finishes failovers is
// controller/shadow.
//
// Secrets: a link is returned only through cluster::shadow::redacted (no
// password, no PEM key: password_set / password_set_at_ms and
// key_fingerprint say what is stored). The proposer stamps them: a new
// password is set now; an update's empty password with password_set keeps
// the stored one and its time; a PEM key is fingerprinted (SHA-256, hex).
//
// Create runs the preflight (options::shadow_preflight: the source reachable
// and compatible) before it proposes, so an unreachable source is refused
// (shadow_link_unreachable) and nothing is created; validate_only runs the
// checks and the preflight and proposes nothing. The preflight blocks: call
// these on a thread that may (the service's sync handlers).

#include <optional>
#include <string>
#include <string_view>

#include "controller/frontend/frontend.h"

namespace fjord::frontend {

/// A link write's answer: the outcome (about the request's fields, the
/// link's YAML paths: `client_options.bootstrap_servers[0]`), the link as
/// applied (redacted; absent when refused or deleted), the revision after.
struct shadow_link_outcome {
    result<void> outcome = ok();
    std::optional<v1::ShadowLink> link;
    uint64_t revision = 0;
};

/// Whole-call errors: a malformed session.
void create_shadow_link(core& c, const v1::CreateShadowLinkRequest& req, const command_meta& meta,
                        then_fn<result<shadow_link_outcome>> then);
void update_shadow_link(core& c, const v1::UpdateShadowLinkRequest& req, const command_meta& meta,
                        then_fn<result<shadow_link_outcome>> then);
void delete_shadow_link(core& c, const v1::DeleteShadowLinkRequest& req, const command_meta& meta,
                        then_fn<result<shadow_link_outcome>> then);
/// Topic `req.topic` of link `req.name`, or every topic of it when empty:
/// ACTIVE or PAUSED -> FAILING_OVER (the driver finishes to FAILED_OVER).
/// A topic already FAILING_OVER or FAILED_OVER is fine; with every topic,
/// FAULTED and PROMOTED ones are left as they are. unknown_shadow_link
/// (field `name`), unknown_topic (field `topic`), invalid_argument when the
/// topic is no shadow topic of this link or cannot fail over from its
/// state.
void fail_over_shadow_link(core& c, const v1::FailOverShadowLinkRequest& req,
                           const command_meta& meta, then_fn<result<shadow_link_outcome>> then);

/// unknown_shadow_link (field `name`) when there is none.
result<v1::ShadowLinkResponse> get_shadow_link(core& c, const v1::GetShadowLinkRequest& req);
result<v1::ListShadowLinksResponse> list_shadow_links(core& c,
                                                      const v1::ListShadowLinksRequest& req);
/// The leader's view of link `req.name`: the link (redacted); the tasks of
/// the driver and of the brokers heard within a session timeout; every
/// topic of the link (ascending) with each partition from its reports (the
/// partition leader's report first; one nobody reported is listed with
/// offsets -1 and state "UNKNOWN"); the effective synced properties.
result<v1::GetShadowLinkStatusResponse> shadow_link_status(
    core& c, const v1::GetShadowLinkStatusRequest& req, clock::time_point now);

/// The SHA-256 of `pem_key`, lowercase hex (ShadowTlsPemSettings.key_fingerprint).
std::string key_fingerprint(std::string_view pem_key);

}  // namespace fjord::frontend
