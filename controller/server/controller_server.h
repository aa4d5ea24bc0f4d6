#pragma once
// File: controller/server/controller_server.h
//
// The composition root of fjord-controller (cf. LogCabin's Globals,
// Redpanda's application): builds every long-lived object in dependency
// order, owns them, and tears them down in reverse. Nothing else constructs
// these objects; main() only parses flags, waits for a signal and calls
// shutdown().
//
//   config ─▶ data dir lock + identity ─▶ TLS files checked and watched
//     (api_tls, peer_tls; a bad file refuses the start) ─▶ segmented_log
//     ─▶ controller_state
//     (restored from the snapshot) ─▶ peer_transport ─▶ raft_loop
//     (controller/loop) ─▶ frontend core (controller/frontend)
//     ─▶ gRPC: RaftService (peer port), ControllerService (API port,
//     controller/service)
//     ─▶ /metrics + /healthz ─▶ READY=1 to systemd
//
// Shutdown (SIGTERM): a leader hands leadership to the most caught-up voter
// first; then the API server stops taking calls and finishes the ones in
// flight; then the loop, the transport and the peer server stop.

#include <memory>

#include "common/result.h"
#include "controller/server/controller_config.h"

namespace fjord::server {

class controller_server {
  public:
    static result<std::unique_ptr<controller_server>> start(const server::controller_config& c);
    ~controller_server();
    controller_server(const controller_server&) = delete;
    controller_server& operator=(const controller_server&) = delete;

    /// Graceful stop (see the file comment). Idempotent.
    void shutdown();

    /// For tests and logs: the bound ports (an ephemeral 0 in the config is resolved).
    int api_port() const;
    int peer_port() const;

    struct impl;

  private:
    explicit controller_server(std::unique_ptr<impl> i);
    std::unique_ptr<impl> _impl;
};

}  // namespace fjord::server
