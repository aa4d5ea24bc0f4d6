#pragma once
// File: cli/shadow/printers.h
//
// What `fjord shadow list|describe|status` print (rpk-reference §4.3-§4.5),
// as pure functions of the controller's answers so that cli_unit_test can
// pin them: the JSON documents (also YAML, through the one printer) and the
// text. Text is rpk's: sections with an underlined title, key/value rows,
// tables with upper-case headers (output/printer.h render_table), and rpk's
// sentences for empty sections ("No tasks to display right now.", "No
// topics are being shadowed."). A password is never printed: the API never
// returns one, and describe prints password_set / PASSWORD SET AT instead.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fjord/controller/v1/controller_service.pb.h"
#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::cli::shadow {

namespace v1 = fjord::controller::v1;

// ------------------------------------------------------------------- list

/// [{"name", "UID", "state"}] sorted by name then state (rpk's capitalised
/// "UID" key).
nlohmann::json list_doc(const std::vector<v1::ShadowLink>& links);
/// NAME UID STATE.
std::string list_text(const std::vector<v1::ShadowLink>& links);

// --------------------------------------------------------------- describe

/// describe's section flags (-o -c -t -r -s; -a all). None set: overview
/// and client (rpk's default).
struct describe_sections {
    bool overview = false;
    bool client = false;
    bool topic = false;
    bool consumer = false;
    bool security = false;
    void defaults_if_none();
};

/// The full link whatever the sections: the config file's document
/// (config_yaml.h to_document, with password_set, password_set_at and
/// key_fingerprint) plus "uid" and "state".
nlohmann::json describe_doc(const v1::ShadowLink& l);
std::string describe_text(const v1::ShadowLink& l, const describe_sections& s);

// ----------------------------------------------------------------- status

/// status's section flags (-o -k -t; -a all). None set: all.
struct status_sections {
    bool overview = false;
    bool tasks = false;
    bool topics = false;
    void defaults_if_none();
};

/// §4.5's shape: {"overview": {name, id, state}, "tasks": [{name,
/// broker_id, shard, state, reason}], "topics": [{name, id, state, reason,
/// partitions: [{partition_id, src_lso, src_hwm, dst_hwm, lag}]}],
/// "synced_shadow_topic_properties": [...]}. Offsets not yet known are -1,
/// and so is the lag then; lag = src_hwm - dst_hwm (rpk's), never below 0.
nlohmann::json status_doc(const v1::GetShadowLinkStatusResponse& r);
std::string status_text(const v1::GetShadowLinkStatusResponse& r, const status_sections& s);

/// A partition's lag as status prints it: -1 when either side is unknown.
int64_t partition_lag(const v1::ShadowPartitionStatus& p);

}  // namespace fjord::cli::shadow
