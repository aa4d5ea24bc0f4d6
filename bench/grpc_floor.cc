// File: bench/grpc_floor.cc
//
// grpc_floor: the cost of the RPC alone. A single process that serves the
// controller API methods controller_vs_etcd calls (Status, RegisterBroker,
// CreateTopics, AlterTopicConfigs) through gRPC's callback API, parses each
// request and answers OK at once: no Raft, no disk, no state. Driven by the
// same load generator at the same concurrency as etcd and the controller
// group, it measures the throughput ceiling of any server built on this gRPC
// stack on this machine, so that a missed throughput target can be told apart
// from a slow controller. bench/run_controller_vs_etcd runs it as the system
// "floor".
//
//   grpc_floor --listen 127.0.0.1:PORT [--tls CERT_PEM KEY_PEM]
//
// With --tls it serves over TLS (gRPC's own, as the controller's api_tls
// does) with that certificate, so the same load over plaintext and TLS
// gives the TLS cost of an RPC on this stack, apart from any controller.
//
// Contract: serves until SIGTERM or SIGINT, then exits 0. Exit 2 on usage
// errors, 1 when it cannot listen. A benchmark: it asserts nothing.

#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include "fjord/controller/v1/controller_service.grpc.pb.h"

namespace {

namespace v1 = fjord::controller::v1;

/// Answers from the handler's thread, like the controller's reads; writes are
/// answered the same way here because there is nothing to wait for.
using floor_base = v1::ControllerService::CallbackService;

class floor_service final : public floor_base {
  public:
    // The generated bases also declare the sync signatures; keep them visible.
    using floor_base::AlterTopicConfigs;
    using floor_base::CreateTopics;
    using floor_base::RegisterBroker;
    using floor_base::Status;

    grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* ctx, const v1::StatusRequest*,
                                     v1::StatusResponse* resp) override {
        resp->set_node_id(1);
        resp->set_leader_id(1);
        resp->set_role("leader");
        resp->set_term(1);
        return ok(ctx);
    }

    grpc::ServerUnaryReactor* RegisterBroker(grpc::CallbackServerContext* ctx,
                                             const v1::RegisterBrokerRequest*,
                                             v1::RegisterBrokerResponse* resp) override {
        resp->mutable_result()->set_code(v1::OK);
        return ok(ctx);
    }

    grpc::ServerUnaryReactor* CreateTopics(grpc::CallbackServerContext* ctx,
                                           const v1::CreateTopicsRequest* req,
                                           v1::CreateTopicsResponse* resp) override {
        for (const auto& t : req->topics()) {
            auto* item = resp->add_topics();
            item->set_name(t.name());
            item->mutable_result()->set_code(v1::OK);
        }
        return ok(ctx);
    }

    grpc::ServerUnaryReactor* AlterTopicConfigs(grpc::CallbackServerContext* ctx,
                                                const v1::AlterTopicConfigsRequest* req,
                                                v1::AlterTopicConfigsResponse* resp) override {
        for (const auto& t : req->topics()) {
            auto* item = resp->add_topics();
            item->set_name(t.name());
            item->mutable_result()->set_code(v1::OK);
        }
        return ok(ctx);
    }

  private:
    static grpc::ServerUnaryReactor* ok(grpc::CallbackServerContext* ctx) {
        auto* r = ctx->DefaultReactor();
        r->Finish(grpc::Status::OK);
        return r;
    }
};

volatile std::sig_atomic_t g_stop = 0;

}  // namespace

std::string read_file(const char* path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), {});
}

int main(int argc, char** argv) {
    const bool tls = argc == 6 && std::string(argv[3]) == "--tls";
    if ((argc != 3 && !tls) || std::string(argv[1]) != "--listen") {
        fmt::print(stderr, "usage: grpc_floor --listen HOST:PORT [--tls CERT_PEM KEY_PEM]\n");
        return 2;
    }
    std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
    if (tls) {
        grpc::SslServerCredentialsOptions o;
        o.pem_key_cert_pairs.push_back({read_file(argv[5]), read_file(argv[4])});
        if (o.pem_key_cert_pairs[0].private_key.empty() ||
            o.pem_key_cert_pairs[0].cert_chain.empty()) {
            fmt::print(stderr, "grpc_floor: --tls: cannot read {} or {}\n", argv[4], argv[5]);
            return 2;
        }
        creds = grpc::SslServerCredentials(o);
    }
    floor_service svc;
    grpc::ServerBuilder b;
    int port = 0;
    b.AddListeningPort(argv[2], creds, &port);
    b.RegisterService(&svc);
    std::unique_ptr<grpc::Server> server = b.BuildAndStart();
    if (!server || port == 0) {
        fmt::print(stderr, "grpc_floor: cannot listen on {}\n", argv[2]);
        return 1;
    }
    std::signal(SIGTERM, [](int) { g_stop = 1; });
    std::signal(SIGINT, [](int) { g_stop = 1; });
    while (g_stop == 0) {
        // gRPC's threads serve; this one only waits for the signal.
        struct timespec ts {
            0, 50'000'000
        };
        nanosleep(&ts, nullptr);
    }
    server->Shutdown();
    return 0;
}
