// File: controller/transport/peer_transport.cc
//
// The senders (one thread and stream per peer) and the inbound RaftService
// of peer_transport.h.

#include "controller/transport/peer_transport.h"

#include <chrono>

#include <fmt/format.h>

#include "common/log.h"
#include "common/tls/grpc_tls.h"
#include "common/tls/tls.h"
#include "controller/transport/convert.h"

namespace fjord::transport {
namespace {

namespace pb = fjord::raft::v1;

constexpr size_t max_queued = 4096;
constexpr const char* peer_id_header = "fjord-peer-id";
constexpr const char* peer_address_header = "fjord-peer-address";
constexpr const char* peer_fips_mode_header = "fjord-fips-mode";
constexpr int max_message_bytes = 256 << 20;

grpc::ChannelArguments channel_args() {
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(max_message_bytes);
    args.SetMaxReceiveMessageSize(max_message_bytes);
    // Reconnect quickly: a member that restarts should rejoin within ticks.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    return args;
}

/// "10.0.0.1:9093" -> "10.0.0.1"; "[::1]:9093" -> "::1"; "c1.example:9093"
/// -> "c1.example".
std::string host_of(const std::string& address) {
    if (address.starts_with("[")) {
        return address.substr(1, address.find(']') - 1);
    }
    return address.substr(0, address.rfind(':'));
}

/// The decimal id in `text`, 0 if it is not one.
uint64_t parse_id(std::string_view text) {
    uint64_t id = 0;
    for (char c : text) {
        if (c < '0' || c > '9' || id > (UINT64_MAX - 9) / 10) {
            return 0;
        }
        id = id * 10 + static_cast<uint64_t>(c - '0');
    }
    return id;
}

}  // namespace

/// Owns the stream to one peer and the thread that writes it.
class peer_transport::sender {
  public:
    sender(node_id self, std::string advertise, std::string fips_mode, node_id peer,
           std::string address, std::shared_ptr<grpc::ChannelCredentials> credentials,
           std::atomic<uint64_t>& dropped)
        : _self(self),
          _advertise(std::move(advertise)),
          _fips_mode(std::move(fips_mode)),
          _peer(peer),
          _address(std::move(address)),
          _credentials(std::move(credentials)),
          _dropped(dropped) {
        _thread = std::thread([this] { run(); });
    }

    ~sender() {
        {
            std::lock_guard g(_mu);
            _stopping = true;
            if (_ctx) {
                _ctx->TryCancel();
            }
        }
        _cv.notify_all();
        _thread.join();
    }

    void set_address(const std::string& address) {
        std::lock_guard g(_mu);
        if (address == _address) {
            return;
        }
        _address = address;
        _address_changed = true;
        if (_ctx) {
            _ctx->TryCancel();
        }
    }

    void enqueue(raft::message m) {
        {
            std::lock_guard g(_mu);
            if (_queue.size() >= max_queued) {
                ++_dropped;
                return;
            }
            _queue.push_back(std::move(m));
        }
        _cv.notify_one();
    }

  private:
    void run() {
        std::unique_ptr<pb::RaftService::Stub> stub;
        std::unique_ptr<grpc::ClientWriter<pb::Message>> writer;
        pb::SendResponse response;
        std::chrono::milliseconds backoff{50};
        for (;;) {
            std::deque<raft::message> batch;
            std::string address;
            {
                std::unique_lock lk(_mu);
                _cv.wait(lk, [&] { return _stopping || !_queue.empty(); });
                if (_stopping) {
                    break;
                }
                batch.swap(_queue);
                if (_address_changed) {
                    stub.reset();
                    _address_changed = false;
                }
                address = _address;
            }
            if (!stub) {
                writer.reset();
                stub = pb::RaftService::NewStub(grpc::CreateCustomChannel(
                    address, _credentials ? _credentials : grpc::InsecureChannelCredentials(),
                    channel_args()));
            }
            auto open = [&] {
                auto ctx = std::make_unique<grpc::ClientContext>();
                ctx->set_wait_for_ready(false);
                ctx->AddMetadata(peer_id_header, std::to_string(_self.value()));
                ctx->AddMetadata(peer_address_header, _advertise);
                if (!_fips_mode.empty()) {
                    ctx->AddMetadata(peer_fips_mode_header, _fips_mode);
                }
                std::lock_guard g(_mu);
                _ctx = std::move(ctx);
                writer = stub->Send(_ctx.get(), &response);
            };
            grpc::Status last;
            auto close = [&] {
                writer->WritesDone();
                last = writer->Finish();
                writer.reset();
                std::lock_guard g(_mu);
                _ctx.reset();
            };
            auto write_all = [&] {
                pb::Message p;
                for (auto& m : batch) {
                    p.Clear();
                    to_proto(m, p);
                    if (!writer->Write(p)) {
                        return false;
                    }
                }
                return true;
            };
            if (!writer) {
                open();
            }
            bool broken = !write_all();
            if (broken) {
                // A stream usually breaks because the peer restarted: the
                // first write after that finds the old connection gone. One
                // retry on a fresh stream delivers this batch now rather than
                // after the backoff (a restarted member would otherwise miss
                // the first votes and appends sent to it, and an election
                // could take a whole extra round). Duplicates are harmless
                // to Raft.
                close();
                open();
                broken = !write_all();
            }
            if (!broken) {
                backoff = std::chrono::milliseconds{50};
                if (!_failure.empty()) {
                    log(log_level::info, "transport", "{}: stream to {} at {} is up again", _self,
                        _peer, address);
                    _failure.clear();
                }
                continue;
            }
            // The stream broke again: Raft tolerates the loss; reconnect
            // after a pause.
            _dropped += batch.size();
            close();
            // Once per reason: a peer that refuses our certificate (or whose
            // certificate we refuse) fails every few hundred milliseconds.
            if (!last.ok() && last.error_message() != _failure) {
                _failure = last.error_message();
                log(log_level::warn, "transport", "{}: cannot send to {} at {}: {}", _self, _peer,
                    address, _failure);
            }
            {
                std::unique_lock lk(_mu);
                _dropped += _queue.size();
                _queue.clear();
                _cv.wait_for(lk, backoff, [&] { return _stopping; });
                if (_stopping) {
                    break;
                }
            }
            backoff = std::min(backoff * 2, std::chrono::milliseconds{1000});
            log(log_level::debug, "transport", "{}: stream to {} at {} broken; reconnecting", _self,
                _peer, address);
        }
        if (writer) {
            writer->WritesDone();
            (void)writer->Finish();
        }
    }

    node_id _self;
    std::string _advertise;
    std::string _fips_mode;
    node_id _peer;
    std::string _failure;  // the last stream failure logged (sender thread only)
    std::mutex _mu;
    std::condition_variable _cv;
    std::deque<raft::message> _queue;
    std::string _address;
    bool _address_changed = false;
    bool _stopping = false;
    std::unique_ptr<grpc::ClientContext> _ctx;
    const std::shared_ptr<grpc::ChannelCredentials> _credentials;
    std::atomic<uint64_t>& _dropped;
    std::thread _thread;
};

class peer_transport::inbound_service final : public pb::RaftService::Service {
  public:
    explicit inbound_service(peer_transport& t) : _t(t) {}

    grpc::Status Send(grpc::ServerContext* ctx, grpc::ServerReader<pb::Message>* reader,
                      pb::SendResponse*) override {
        const auto& md = ctx->client_metadata();
        auto id_it = md.find(peer_id_header);
        auto addr_it = md.find(peer_address_header);
        const uint64_t id =
            id_it == md.end()
                ? 0
                : parse_id(std::string_view(id_it->second.data(), id_it->second.size()));
        const std::string announced =
            addr_it == md.end() ? std::string()
                                : std::string(addr_it->second.data(), addr_it->second.size());
        std::string pem;
        // One line per refused stream, naming who it claimed to be and what
        // it proved.
        auto refuse = [&](grpc::StatusCode code, const std::string& why) {
            log(log_level::warn, "transport",
                "{}: refused a peer stream from {} claiming member {} with certificate \"{}\": {}",
                _t._self, ctx->peer(), id, tls::certificate_subject(pem), why);
            return grpc::Status(code, why);
        };
        if (_t._verify_peers) {
            pem = tls::peer_certificate_pem(*ctx);
            if (id == 0) {
                return refuse(
                    grpc::StatusCode::UNAUTHENTICATED,
                    fmt::format("the stream names no member ({} metadata)", peer_id_header));
            }
            if (pem.empty()) {
                return refuse(grpc::StatusCode::UNAUTHENTICATED,
                              "peer_tls needs a verified client certificate");
            }
            std::string address;
            {
                std::lock_guard g(_t._mu);
                const auto it = _t._addresses.find(node_id{id});
                address = it != _t._addresses.end() ? it->second : announced;
            }
            if (address.empty() || !tls::certificate_names_host(pem, host_of(address))) {
                return refuse(grpc::StatusCode::PERMISSION_DENIED,
                              fmt::format("the client certificate does not name member {}'s peer "
                                          "address {} (as an IP or DNS subject alternative name)",
                                          id, address.empty() ? "(unknown)" : address));
            }
        }
        if (id != 0 && !announced.empty()) {
            _t.learn_peer(node_id{id}, announced);
            if (auto f = md.find(peer_fips_mode_header); f != md.end()) {
                std::lock_guard g(_t._mu);
                _t._peer_fips_modes[node_id{id}] = std::string(f->second.data(), f->second.size());
            }
        }
        pb::Message p;
        while (reader->Read(&p)) {
            auto m = from_proto(p);
            if (!m) {
                log(log_level::warn, "transport", "dropped malformed message from {}: {}",
                    ctx->peer(), m.error().message());
                continue;
            }
            if (_t._verify_peers && m->from != node_id{id}) {
                return refuse(
                    grpc::StatusCode::PERMISSION_DENIED,
                    fmt::format("a message from member {} on member {}'s stream", m->from, id));
            }
            if (m->to != _t._self) {
                log(log_level::warn, "transport", "dropped message for {} (this is {}) from {}",
                    m->to, _t._self, ctx->peer());
                continue;
            }
            _t._inbound(std::move(*m));
        }
        return grpc::Status::OK;
    }

  private:
    peer_transport& _t;
};

peer_transport::peer_transport(node_id self, std::string advertise, inbound_fn inbound,
                               std::shared_ptr<grpc::ChannelCredentials> credentials,
                               bool verify_peers)
    : _self(self),
      _advertise(std::move(advertise)),
      _inbound(std::move(inbound)),
      _credentials(std::move(credentials)),
      _service(std::make_unique<inbound_service>(*this)),
      _verify_peers(verify_peers) {}

peer_transport::~peer_transport() {
    stop();
}

void peer_transport::set_peer(node_id id, const std::string& address) {
    if (id == _self) {
        return;
    }
    std::lock_guard g(_mu);
    if (_stopped) {
        return;
    }
    _addresses[id] = address;
    auto it = _senders.find(id);
    if (it == _senders.end()) {
        _senders.emplace(id, std::make_unique<sender>(_self, _advertise, _fips_mode, id, address,
                                                      _credentials, _dropped));
    } else {
        it->second->set_address(address);
    }
}

void peer_transport::learn_peer(node_id id, const std::string& address) {
    if (id == _self || address.empty()) {
        return;
    }
    std::lock_guard g(_mu);
    if (_stopped || _senders.count(id) > 0) {
        return;
    }
    log(log_level::info, "transport", "{}: learned peer {} at {} from its stream", _self, id,
        address);
    _addresses[id] = address;
    _senders.emplace(id, std::make_unique<sender>(_self, _advertise, _fips_mode, id, address,
                                                  _credentials, _dropped));
}

void peer_transport::remove_peer(node_id id) {
    std::unique_ptr<sender> s;
    {
        std::lock_guard g(_mu);
        auto it = _senders.find(id);
        if (it == _senders.end()) {
            return;
        }
        s = std::move(it->second);
        _senders.erase(it);
        _addresses.erase(id);
    }
    // Joined outside the lock: the sender may be blocked in a write.
}

void peer_transport::send(raft::message m) {
    std::lock_guard g(_mu);
    auto it = _senders.find(m.to);
    if (it == _senders.end()) {
        ++_dropped;
        return;
    }
    it->second->enqueue(std::move(m));
}

grpc::Service* peer_transport::service() {
    return _service.get();
}

void peer_transport::stop() {
    std::map<node_id, std::unique_ptr<sender>> senders;
    {
        std::lock_guard g(_mu);
        _stopped = true;
        senders.swap(_senders);
    }
}

void peer_transport::announce_fips_mode(std::string mode) {
    std::lock_guard g(_mu);
    _fips_mode = std::move(mode);
}

std::map<node_id, std::string> peer_transport::peer_fips_modes() const {
    std::lock_guard g(_mu);
    return _peer_fips_modes;
}

}  // namespace fjord::transport
