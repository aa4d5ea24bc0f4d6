#pragma once
// File: cli/shadow/config_yaml.h
//
// The shadow link's YAML file (rpk-reference §4.9, minus cloud_options and
// the schema registry and role options, which Fjord does not have) to and
// from v1::ShadowLink: what `fjord shadow create -c`, `update` (file or
// $EDITOR) and `config generate` read and write. Pure: text in, values out;
// the checks of a link's meaning (bootstrap servers, filters, synced
// properties) are common/cluster/shadow_link.h validate_link's, run after
// parsing. This file refuses what the format cannot hold:
//
//   - an unknown key, naming its path: "topic_metadata_sync_options.intervall:
//     unknown key (line 12)"; cloud_options, schema_registry_sync_options and
//     role_sync_options: "not supported";
//   - a value of the wrong kind: strings, booleans, int32 tunables, lists;
//   - durations other than Go's form of whole numbers with h, m, s, ms units
//     ("30s", "500ms", "1m30s"; "0" and "0s" mean the default);
//   - both tls_file_settings and tls_pem_settings, both scram_configuration
//     and plain_configuration, more than one start_at_*, each naming the
//     field;
//   - enum spellings other than: pattern_type LITERAL | PREFIX (PREFIXED
//     accepted); filter_type INCLUDE | EXCLUDE; scram_mechanism SCRAM-SHA-256 |
//     SCRAM-SHA-512 (SCRAM_SHA_256, SCRAM_SHA_512 accepted); ACL
//     resource_type ANY | CLUSTER | GROUP | TOPIC | TXN_ID (TRANSACTIONAL_ID
//     accepted; SUBJECT, REGISTRY, SR_ANY refused: no schema registry),
//     pattern_type ANY | LITERAL | PREFIXED (PREFIX accepted) | MATCH,
//     operation ANY | ALL | READ | WRITE | CREATE | REMOVE (DELETE accepted) |
//     ALTER | DESCRIBE | CLUSTER_ACTION | DESCRIBE_CONFIGS | ALTER_CONFIGS |
//     IDEMPOTENT_WRITE, permission_type ANY | ALLOW | DENY; case-insensitive;
//   - start_at_timestamp other than RFC 3339 ("2026-01-02T03:04:05Z",
//     fractions and offsets allowed).
// Output-only keys (password_set, password_set_at, key_fingerprint) are
// accepted and ignored, so that what `describe --format yaml` printed can be
// edited and fed back.
//
// Every error is error_info::for_field with the YAML path as the field.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "common/result.h"
#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::cli::shadow {

namespace v1 = fjord::controller::v1;

/// What `update` shows for a password (or PEM key) that is set but never
/// returned; reading it back means "keep the stored one".
inline constexpr std::string_view redacted_marker = "<redacted>";

/// Parses a link's YAML file (see the header). A password or PEM key equal
/// to redacted_marker comes back empty (keep the stored one).
result<v1::ShadowLink> parse_link_yaml(std::string_view text);
/// The same, of a link's map inside a larger file (fjord apply's
/// shadow_links[i].config): error paths are prefixed with `path` and lines
/// are the larger file's.
result<v1::ShadowLink> parse_link_node(const YAML::Node& root, std::string_view path);

/// How to_document renders a link.
struct doc_options {
    /// Passwords (and a PEM key) that are set: redacted_marker. Otherwise
    /// they are left out (a redacted link from the API has none).
    bool mark_redacted = false;
    /// password_set, password_set_at, key_fingerprint (describe's output).
    bool output_fields = false;
};

/// The link as the YAML file's document, keys in §4.9's order: name, then
/// client_options, topic_metadata_sync_options, consumer_offset_sync_options,
/// security_sync_options (each only when present). Durations as "30s",
/// timestamps RFC 3339 UTC. parse_link_yaml(render_link_yaml(l)) == l for
/// every l the parser can produce.
nlohmann::ordered_json to_document(const v1::ShadowLink& l, const doc_options& o = {});

/// to_document as YAML text (block style, strings quoted only when needed).
std::string render_link_yaml(const v1::ShadowLink& l, const doc_options& o = {});

/// The field-mask paths of what differs between two links' configs, as rpk
/// writes them: "configurations.client_options.bootstrap_servers"; lists are
/// compared whole, maps field by field; sorted. Output-only fields never
/// count; passwords count only when `b` sets one.
std::vector<std::string> changed_paths(const v1::ShadowLink& a, const v1::ShadowLink& b);

/// The link's config flattened, as changed_paths compares it: each leaf's
/// path ("configurations.client_options.bootstrap_servers") -> its JSON text
/// (lists whole). Passwords only when set in `l` (never in what the API
/// returns).
std::map<std::string, std::string> flat_config(const v1::ShadowLink& l);

/// A password left empty (or <redacted>) in `next` keeps the stored one:
/// `next` then says so with password_set (and the stored key's fingerprint
/// for a PEM key), which validate_link reads as "kept" and the controller
/// fills in (commands.proto UpsertShadowLink). For update and fjord apply.
void keep_stored_secrets(const v1::ShadowLink& current, v1::ShadowLink& next);

/// `config generate`: a sample link to edit (it parses and validates).
std::string sample_config();
/// `config generate --print-template`: every field, commented one by one.
std::string config_template();

/// Go-style durations, whole numbers with h, m, s and ms units ("1m30s");
/// "0" alone is zero. Errors name `field`.
result<int64_t> parse_duration_ms(std::string_view text, std::string_view field);
/// The shortest such form ("30s", "1m30s", "500ms", "0s").
std::string format_duration_ms(int64_t ms);

/// RFC 3339 -> ms since the epoch (UTC); errors name `field`.
result<int64_t> parse_rfc3339_ms(std::string_view text, std::string_view field);
/// ms since the epoch -> "2026-01-02T03:04:05Z" (".123" when not whole seconds).
std::string format_rfc3339_ms(int64_t ms);

}  // namespace fjord::cli::shadow
