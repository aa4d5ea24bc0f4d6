#pragma once
// File: controller/transport/peer_transport.h
//
// Raft messages between controller members over gRPC (fjord.raft.v1.RaftService).
//
// Outbound: one sender thread per peer owns one client stream and writes the
// peer's messages in order. Delivery is best effort, as Raft expects: when a
// stream breaks, queued messages are dropped, and the sender reconnects with
// backoff; a full queue drops new messages. send() never blocks the caller
// (the ready loop).
//
// Security: with peer_tls the channels are made from the credentials given
// (TLS with this member's certificate as the client certificate; the other
// member's certificate must name the peer address dialed); the inbound side
// is the peer server's (controller_server.cc), which requires a client
// certificate. With `verify_peers` an inbound stream is accepted only when
// that certificate names the host of the claimed member's peer address (as
// set_peer/learn_peer know it; for a member not known yet, the address its
// stream announces) and every message on it is from the claimed member:
// otherwise any holder of a certificate from the peer CA could speak as any
// member. A stream that cannot be
// opened (a refused handshake, an unreachable member) is logged once per
// distinct reason, at warn, and again when it recovers.
//
// Inbound: service() is registered on the peer gRPC server; each incoming
// stream's messages are validated (convert.h) and handed to the inbound
// callback on the gRPC thread that reads them. Malformed messages are logged
// and dropped; the stream keeps serving.
//
// Threading: all public methods are thread-safe.

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "controller/raft/transport.h"
#include "controller/raft/types.h"
#include "fjord/raft/v1/raft.grpc.pb.h"

namespace fjord::transport {

class peer_transport final : public raft::transport {
  public:
    using inbound_fn = std::function<void(raft::message)>;

    /// `advertise` is this member's peer address; every outbound stream
    /// carries it, so a peer that does not know us yet (a member just added)
    /// can answer. `credentials` are every outbound channel's (nullptr:
    /// plaintext). `verify_peers`: bind inbound streams to the claimed
    /// member by their verified client certificate (see above; set with
    /// peer_tls, whose server requires client certificates).
    peer_transport(node_id self, std::string advertise, inbound_fn inbound,
                   std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr,
                   bool verify_peers = false);
    ~peer_transport() override;
    peer_transport(const peer_transport&) = delete;
    peer_transport& operator=(const peer_transport&) = delete;

    /// Adds a peer or changes its address (the sender reconnects).
    void set_peer(node_id id, const std::string& address);
    void remove_peer(node_id id);
    /// Adds `id` at `address` only if it is not known yet (from a stream's
    /// metadata; configuration and the log take precedence).
    void learn_peer(node_id id, const std::string& address);
    /// Queues `m` for m.to; dropped if the peer is unknown or its queue full.
    void send(raft::message m) override;
    /// The inbound RaftService, for the peer gRPC server.
    grpc::Service* service();
    /// Stops every sender; later sends are dropped. Idempotent.
    void stop();

    /// Messages dropped because a peer was unknown, its queue full, or its
    /// stream broke (for metrics).
    uint64_t dropped() const { return _dropped.load(); }

    /// This member's FIPS mode ("disabled", "permissive", "enabled"), sent
    /// with every outbound stream so that peers (the leader) can report it.
    /// Call before the first set_peer: streams opened earlier do not carry it.
    void announce_fips_mode(std::string mode);
    /// The FIPS mode each peer announced on its latest stream to this member.
    std::map<node_id, std::string> peer_fips_modes() const;

  private:
    class sender;
    class inbound_service;

    node_id _self;
    std::string _advertise;
    inbound_fn _inbound;
    std::shared_ptr<grpc::ChannelCredentials> _credentials;
    std::unique_ptr<inbound_service> _service;
    mutable std::mutex _mu;
    std::map<node_id, std::unique_ptr<sender>> _senders;
    /// Each known peer's address (as its sender dials it).
    std::map<node_id, std::string> _addresses;
    const bool _verify_peers;
    std::string _fips_mode;
    std::map<node_id, std::string> _peer_fips_modes;
    bool _stopped = false;
    std::atomic<uint64_t> _dropped{0};
};

}  // namespace fjord::transport
