#pragma once
// File: cli/commands/commands.h
//
// One registration function per command group (one .cc file each). Each
// binds its flags to an options struct and sets a callback that calls the
// controller client and prints through the printer.

namespace CLI {
class App;
}

namespace fjord::cli {

class cli_context;

void register_topic_commands(CLI::App& root, cli_context& ctx);
/// `topic produce` and `topic consume` (records.cc), under `topic`.
void register_record_commands(CLI::App& topic, cli_context& ctx);
/// `topic trim-prefix` (trim_prefix.cc), under `topic`.
void register_trim_command(CLI::App& topic, cli_context& ctx);
void register_controller_commands(CLI::App& root, cli_context& ctx);
void register_cluster_commands(CLI::App& root, cli_context& ctx);
/// `cluster storage ...` (storage.cc), under `cluster`: mountable topics.
void register_storage_commands(CLI::App& cluster, cli_context& ctx);
void register_version_command(CLI::App& root, cli_context& ctx);
void register_profile_commands(CLI::App& root, cli_context& ctx);
void register_dev_commands(CLI::App& root, cli_context& ctx);
/// `security acl|user|role` (security.cc).
void register_security_commands(CLI::App& root, cli_context& ctx);
/// `shadow ...` (shadow.cc): shadow links, run against the shadow cluster.
void register_shadow_commands(CLI::App& root, cli_context& ctx);
/// `apply -f FILE` (apply.cc): desired state, docs/apply.md.
void register_apply_command(CLI::App& root, cli_context& ctx);
/// Walks `root` when run, so register it after every other command.
void register_completion_command(CLI::App& root, cli_context& ctx);
/// The hidden `__generate man DIR` (generate.cc): manual pages for
/// packaging. Walks `root` when run, like completion.
void register_generate_command(CLI::App& root, cli_context& ctx);

}  // namespace fjord::cli
