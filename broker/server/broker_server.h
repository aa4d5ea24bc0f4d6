#pragma once
// File: broker/server/broker_server.h
//
// fjord-broker's composition root: the one place that builds and wires the
// broker's parts, and tears them down in order.
//
//   controller_link ──Watch events──▶ (io thread) metadata_cache.apply
//        ▲  heartbeats(applied revision)     └─▶ partition_manager.reconcile
//        │                                   └─▶ parked_fetches.wake
//   kafka_listener (io thread) ──frames──▶ dispatcher ──▶ handlers ──▶ partition logs
//   http (/metrics, /healthz)
//
// Start-up: lock the data directory, read its cluster_record (which cluster
// the data belongs to, the revision acted on), listen (Kafka, metrics), then
// register with the controller and follow Watch; READY=1 goes to systemd
// once the first snapshot is applied. Kafka requests that arrive before it
// wait for it (broker/kafka/dispatcher.h): the snapshot carries the users,
// ACLs and security switches, and nothing is served under rules the broker
// does not know yet. Each applied revision that changed security publishes
// a new snapshot (broker/security/security_snapshot.h) that the next request
// is decided under.
// A snapshot of another cluster, or older than the record, is refused with
// an error in the log, and the broker keeps trying the controllers without
// applying anything or touching its data (broker/cluster/cluster_record.h).
// shutdown(): STOPPING=1, stop following the controller, close the
// listener (connections closed), then the logs.

#include <memory>

#include "broker/server/broker_config.h"
#include "common/result.h"

namespace fjord::broker {

class broker_server {
  public:
    static result<std::unique_ptr<broker_server>> start(const broker_config& cfg);
    ~broker_server();
    broker_server(const broker_server&) = delete;
    broker_server& operator=(const broker_server&) = delete;

    void shutdown();

    struct impl;

  private:
    explicit broker_server(std::unique_ptr<impl> im);
    std::unique_ptr<impl> _impl;
};

}  // namespace fjord::broker
