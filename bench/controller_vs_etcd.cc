// File: bench/controller_vs_etcd.cc
//
// controller_vs_etcd: a closed-loop gRPC write load generator. It drives either
// an etcd group (KV.Put) or a Fjord controller group
// (ControllerService.AlterTopicConfigs) with the same concurrency and the same
// request size, and reports throughput and latency percentiles. The driver
// bench/run_controller_vs_etcd starts the clusters and runs it against each.
//
//   controller_vs_etcd --system etcd|fjord --endpoints H:P[,H:P...]
//                      [--concurrency 1,64,512] [--seconds 10] [--warmup 1]
//                      [--conns N] [--threads 2] [--key-bytes 16] [--value-bytes 256]
//                      [--topics 512] [--sessions] [--cpu-pids PID[,PID...]]
//
// Contract:
// - The leader is found first (etcd: Maintenance.Status, the member whose id is
//   the leader it names; Fjord: Status, role "leader") and every request goes to
//   it directly, like etcd's `benchmark --target-leader`.
// - Closed loop: exactly C requests are in flight; each completion issues the
//   next request on the same slot at once. Slots are spread over `--conns`
//   connections (default min(C, 16)) and `--threads` completion-queue threads.
// - Per level: `--warmup` seconds unmeasured, then `--seconds` measured. A
//   request completing inside the window counts as one op and its latency (issue
//   to completion) is recorded; failed requests are counted as errors only.
// - etcd: Put of a distinct sequential key of `--key-bytes` digits with a value
//   of `--value-bytes` bytes.
// - Fjord: AlterTopicConfigs of one topic setting eight topic configs, with
//   retention.ms different on every request, so every write changes the state
//   (proposed, committed on a quorum with fsync, applied). Topic names are padded
//   so that the serialized request is exactly as large as the etcd PutRequest.
//   Slot i always alters topic i % topics, so no two in-flight writes touch the
//   same topic when topics >= C. Set-up (idempotent): registers broker 1 and
//   creates the topics with 1 partition and replication factor 1.
//   With --sessions every request carries a client session (each slot is one
//   client, numbering its requests), as the CLI's writes do: the cost of
//   exactly-once writes. Off by default, so requests keep etcd's size.
// - With --cpu-pids, each level also reports the CPU time (user + system, from
//   /proc) that each of those processes and this one ("self") used during its
//   measured window, so a driver can put the cost of a write per process next
//   to its rate.
// - Output: one JSON object on stdout, progress on stderr. Exit 1 when no
//   leader is found or set-up fails, 2 on usage errors. Errors during a run are
//   reported in the JSON, never fatal. A benchmark: it asserts nothing.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "fjord/controller/v1/controller_service.grpc.pb.h"

namespace {

using clock_type = std::chrono::steady_clock;
namespace v1 = fjord::controller::v1;

constexpr auto rpc_deadline = std::chrono::seconds(30);

struct options {
    std::string system;
    std::vector<std::string> endpoints;
    std::vector<int> concurrency{1, 64, 512};
    double seconds = 10;
    double warmup = 1;
    int conns = 0;  // 0: min(C, 16)
    int threads = 2;
    size_t key_bytes = 16;
    size_t value_bytes = 256;
    int topics = 512;
    bool sessions = false;
    std::vector<std::string> cpu_pids;  // processes whose CPU each window reports
};

/// CPU seconds (user + system) process `pid` has used ("self": this one); 0
/// if it is gone.
double process_cpu_seconds(const std::string& pid) {
    std::ifstream in("/proc/" + pid + "/stat");
    const std::string stat((std::istreambuf_iterator<char>(in)), {});
    // Fields after the command name (which may hold spaces), which ends at
    // the last ')': state is field 3, utime 14 and stime 15.
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) {
        return 0;
    }
    std::istringstream fields(stat.substr(close + 1));
    std::string f;
    double ticks = 0;
    for (int field = 3; field <= 15 && fields >> f; ++field) {
        if (field >= 14) {
            ticks += std::stod(f);
        }
    }
    return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// Every --cpu-pids process's CPU seconds, and this process's.
std::map<std::string, double> cpu_sample(const options& o) {
    std::map<std::string, double> m{{"self", process_cpu_seconds("self")}};
    for (const auto& pid : o.cpu_pids) {
        m[pid] = process_cpu_seconds(pid);
    }
    return m;
}

/// The channels' credentials: plaintext, or TLS trusting --tls-ca (set once
/// in main, before any channel exists).
std::shared_ptr<grpc::ChannelCredentials>& channel_credentials() {
    static std::shared_ptr<grpc::ChannelCredentials> c = grpc::InsecureChannelCredentials();
    return c;
}

std::shared_ptr<grpc::Channel> make_channel(const std::string& address, int index) {
    grpc::ChannelArguments args;
    // A channel of its own per connection: without a local subchannel pool,
    // channels to one address would share a single TCP connection.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("fjord.bench.connection", index);
    return grpc::CreateCustomChannel(address, channel_credentials(), args);
}

void set_deadline(grpc::ClientContext& ctx, std::chrono::milliseconds d) {
    ctx.set_deadline(std::chrono::system_clock::now() + d);
}

// ------------------------------------------------------------ slots

/// One in-flight request position of the closed loop. Its address is the
/// completion-queue tag.
class slot {
  public:
    slot() = default;
    slot(const slot&) = delete;
    slot& operator=(const slot&) = delete;
    virtual ~slot() = default;

    /// Starts one request; its completion arrives on `cq` tagged `this`.
    virtual void issue(grpc::CompletionQueue* cq) = 0;
    /// After the completion: empty when the write was acknowledged, else why not.
    virtual std::string outcome() = 0;

    clock_type::time_point started;
};

class etcd_slot final : public slot {
  public:
    etcd_slot(etcdserverpb::KV::Stub* stub, std::atomic<uint64_t>* seq, size_t key_bytes,
              const std::string& value)
        : _stub(stub), _seq(seq), _key_bytes(key_bytes) {
        _req.set_value(value);
    }

    void issue(grpc::CompletionQueue* cq) override {
        _ctx = std::make_unique<grpc::ClientContext>();
        set_deadline(*_ctx, rpc_deadline);
        _req.set_key(fmt::format("{:0{}d}", _seq->fetch_add(1), _key_bytes));
        _resp.Clear();
        started = clock_type::now();
        _rpc = _stub->AsyncPut(_ctx.get(), _req, cq);
        _rpc->Finish(&_resp, &_status, this);
    }

    std::string outcome() override {
        if (!_status.ok()) {
            return fmt::format("grpc {}: {}", static_cast<int>(_status.error_code()),
                               _status.error_message());
        }
        return {};
    }

  private:
    etcdserverpb::KV::Stub* _stub;
    std::atomic<uint64_t>* _seq;
    size_t _key_bytes;
    etcdserverpb::PutRequest _req;
    etcdserverpb::PutResponse _resp;
    grpc::Status _status;
    std::unique_ptr<grpc::ClientContext> _ctx;
    std::unique_ptr<grpc::ClientAsyncResponseReader<etcdserverpb::PutResponse>> _rpc;
};

/// retention.ms values: 13 digits, so every request has the same size.
constexpr uint64_t retention_base = 1'000'000'000'000;

/// The AlterTopicConfigs request of the Fjord workload for one topic.
v1::AlterTopicConfigsRequest fjord_request(const std::string& topic, uint64_t seq) {
    v1::AlterTopicConfigsRequest req;
    auto* item = req.add_topics();
    item->set_name(topic);
    auto& set = *item->mutable_set();
    set["cleanup.policy"] = "delete";
    set["compression.type"] = "producer";
    set["max.message.bytes"] = "1048588";
    set["message.timestamp.type"] = "CreateTime";
    set["min.insync.replicas"] = "1";
    set["retention.bytes"] = "1073741824";
    set["retention.ms"] = std::to_string(retention_base + seq);
    set["segment.bytes"] = "134217728";
    return req;
}

class fjord_slot final : public slot {
  public:
    /// `client_id` empty: no session.
    fjord_slot(v1::ControllerService::Stub* stub, std::atomic<uint64_t>* seq,
               const std::string& topic, std::string client_id)
        : _stub(stub), _seq(seq), _req(fjord_request(topic, 0)) {
        if (!client_id.empty()) {
            _req.mutable_session()->set_client_id(std::move(client_id));
        }
    }

    void issue(grpc::CompletionQueue* cq) override {
        _ctx = std::make_unique<grpc::ClientContext>();
        set_deadline(*_ctx, rpc_deadline);
        (*_req.mutable_topics(0)->mutable_set())["retention.ms"] =
            std::to_string(retention_base + _seq->fetch_add(1));
        if (_req.has_session()) {
            _req.mutable_session()->set_seq(++_session_seq);
            _req.mutable_session()->set_first_outstanding(_session_seq);
        }
        _resp.Clear();
        started = clock_type::now();
        _rpc = _stub->AsyncAlterTopicConfigs(_ctx.get(), _req, cq);
        _rpc->Finish(&_resp, &_status, this);
    }

    std::string outcome() override {
        if (!_status.ok()) {
            return fmt::format("grpc {}: {}", static_cast<int>(_status.error_code()),
                               _status.error_message());
        }
        if (_resp.topics_size() != 1) {
            return fmt::format("{} results for one topic", _resp.topics_size());
        }
        const auto& r = _resp.topics(0).result();
        if (r.code() != v1::OK) {
            return fmt::format("item {}: {}", v1::ErrorCode_Name(r.code()), r.message());
        }
        return {};
    }

  private:
    v1::ControllerService::Stub* _stub;
    std::atomic<uint64_t>* _seq;
    uint64_t _session_seq = 0;
    v1::AlterTopicConfigsRequest _req;
    v1::AlterTopicConfigsResponse _resp;
    grpc::Status _status;
    std::unique_ptr<grpc::ClientContext> _ctx;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::AlterTopicConfigsResponse>> _rpc;
};

// ------------------------------------------------------------ the closed loop

struct window {
    clock_type::time_point start;
    clock_type::time_point end;
    std::atomic<bool> stop{false};
};

struct worker_stats {
    std::vector<int64_t> latencies_ns;
    uint64_t errors = 0;
    std::string first_error;
};

/// Serves one completion queue until its `outstanding` slots have finished
/// after the stop flag: every completion is measured (inside the window) and,
/// unless stopping, immediately re-issued.
void poll(grpc::CompletionQueue* cq, int outstanding, const window& w, worker_stats* st) {
    void* tag = nullptr;
    bool ok = false;
    while (outstanding > 0 && cq->Next(&tag, &ok)) {
        auto* s = static_cast<slot*>(tag);
        const auto now = clock_type::now();
        const std::string why = ok ? s->outcome() : std::string("completion queue failure");
        if (now >= w.start && now < w.end) {
            if (why.empty()) {
                st->latencies_ns.push_back(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(now - s->started).count());
            } else {
                ++st->errors;
                if (st->first_error.empty()) {
                    st->first_error = why;
                }
            }
        }
        if (w.stop.load(std::memory_order_relaxed)) {
            --outstanding;
        } else {
            s->issue(cq);
        }
    }
}

/// Nearest-rank percentile of sorted latencies, in milliseconds.
double pct_ms(const std::vector<int64_t>& sorted, double p) {
    if (sorted.empty()) {
        return 0;
    }
    auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
    rank = std::clamp<size_t>(rank, 1, sorted.size());
    return static_cast<double>(sorted[rank - 1]) / 1e6;
}

/// The system under test: makes slots for one level.
class target {
  public:
    virtual ~target() = default;
    /// A slot that sends over `channel`.
    virtual std::unique_ptr<slot> make_slot(int index,
                                            const std::shared_ptr<grpc::Channel>& ch) = 0;
    virtual size_t request_bytes() const = 0;
};

class etcd_target final : public target {
  public:
    etcd_target(size_t key_bytes, size_t value_bytes)
        : _key_bytes(key_bytes), _value(value_bytes, 'v') {}

    std::unique_ptr<slot> make_slot(int, const std::shared_ptr<grpc::Channel>& ch) override {
        auto& stub = _stubs.emplace_back(etcdserverpb::KV::NewStub(ch));
        return std::make_unique<etcd_slot>(stub.get(), &_seq, _key_bytes, _value);
    }

    size_t request_bytes() const override {
        etcdserverpb::PutRequest r;
        r.set_key(std::string(_key_bytes, '0'));
        r.set_value(_value);
        return r.ByteSizeLong();
    }

  private:
    size_t _key_bytes;
    std::string _value;
    std::atomic<uint64_t> _seq{0};
    std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> _stubs;
};

class fjord_target final : public target {
  public:
    fjord_target(std::vector<std::string> topics, bool sessions)
        : _topics(std::move(topics)), _sessions(sessions) {}

    std::unique_ptr<slot> make_slot(int index, const std::shared_ptr<grpc::Channel>& ch) override {
        auto& stub = _stubs.emplace_back(v1::ControllerService::NewStub(ch));
        const auto& topic = _topics[static_cast<size_t>(index) % _topics.size()];
        return std::make_unique<fjord_slot>(
            stub.get(), &_seq, topic,
            _sessions ? fmt::format("bench-{}-{}", ::getpid(), index) : std::string{});
    }

    size_t request_bytes() const override {
        return fjord_request(_topics.front(), 0).ByteSizeLong();
    }

  private:
    std::vector<std::string> _topics;
    bool _sessions;
    std::atomic<uint64_t> _seq{0};
    std::vector<std::unique_ptr<v1::ControllerService::Stub>> _stubs;
};

nlohmann::json run_level(target& t, const std::string& leader, int c, const options& o) {
    const int conns = o.conns > 0 ? std::min(o.conns, c) : std::min(c, 16);
    const int nthreads = std::max(1, std::min(o.threads, c));
    std::vector<std::shared_ptr<grpc::Channel>> channels;
    for (int i = 0; i < conns; ++i) {
        channels.push_back(make_channel(leader, i));
        channels.back()->WaitForConnected(std::chrono::system_clock::now() +
                                          std::chrono::seconds(5));
    }
    std::vector<std::unique_ptr<grpc::CompletionQueue>> cqs;
    for (int i = 0; i < nthreads; ++i) {
        cqs.push_back(std::make_unique<grpc::CompletionQueue>());
    }
    std::vector<std::unique_ptr<slot>> slots;
    std::vector<int> per_cq(static_cast<size_t>(nthreads), 0);
    for (int i = 0; i < c; ++i) {
        slots.push_back(t.make_slot(i, channels[static_cast<size_t>(i % conns)]));
        ++per_cq[static_cast<size_t>(i % nthreads)];
    }

    window w;
    const auto t0 = clock_type::now();
    w.start = t0 + std::chrono::duration_cast<clock_type::duration>(
                       std::chrono::duration<double>(o.warmup));
    w.end = w.start + std::chrono::duration_cast<clock_type::duration>(
                          std::chrono::duration<double>(o.seconds));
    std::vector<worker_stats> stats(static_cast<size_t>(nthreads));
    for (int i = 0; i < c; ++i) {
        slots[static_cast<size_t>(i)]->issue(cqs[static_cast<size_t>(i % nthreads)].get());
    }
    std::vector<std::thread> threads;
    for (int i = 0; i < nthreads; ++i) {
        const auto k = static_cast<size_t>(i);
        threads.emplace_back([&, k] { poll(cqs[k].get(), per_cq[k], w, &stats[k]); });
    }
    std::this_thread::sleep_until(w.start);
    const auto cpu_start = cpu_sample(o);
    std::this_thread::sleep_until(w.end);
    const auto cpu_end = cpu_sample(o);
    w.stop = true;
    for (auto& th : threads) {
        th.join();
    }
    for (auto& cq : cqs) {
        cq->Shutdown();
        void* tag = nullptr;
        bool ok = false;
        while (cq->Next(&tag, &ok)) {
        }
    }

    std::vector<int64_t> lat;
    uint64_t errors = 0;
    std::string first_error;
    for (auto& s : stats) {
        lat.insert(lat.end(), s.latencies_ns.begin(), s.latencies_ns.end());
        errors += s.errors;
        if (first_error.empty()) {
            first_error = s.first_error;
        }
    }
    std::sort(lat.begin(), lat.end());
    double mean = 0;
    for (int64_t v : lat) {
        mean += static_cast<double>(v);
    }
    mean = lat.empty() ? 0 : mean / static_cast<double>(lat.size()) / 1e6;
    const double ops_per_s = static_cast<double>(lat.size()) / o.seconds;
    fmt::print(stderr, "  {} c={}: {:.0f} ops/s, p50 {:.2f} ms, p99 {:.2f} ms, errors {}\n",
               o.system, c, ops_per_s, pct_ms(lat, 0.5), pct_ms(lat, 0.99), errors);
    nlohmann::json cpu = nlohmann::json::object();
    for (const auto& [pid, end] : cpu_end) {
        cpu[pid] = end - cpu_start.at(pid);
    }
    return {{"concurrency", c},
            {"conns", conns},
            {"threads", nthreads},
            {"ops", lat.size()},
            {"errors", errors},
            {"first_error", first_error},
            {"ops_per_s", ops_per_s},
            {"mean_ms", mean},
            {"p50_ms", pct_ms(lat, 0.50)},
            {"p90_ms", pct_ms(lat, 0.90)},
            {"p99_ms", pct_ms(lat, 0.99)},
            {"p999_ms", pct_ms(lat, 0.999)},
            {"max_ms", pct_ms(lat, 1.0)},
            {"cpu_seconds", cpu}};
}

// ------------------------------------------------------------ leaders and set-up

std::optional<std::string> find_etcd_leader(const std::vector<std::string>& endpoints) {
    for (const auto& ep : endpoints) {
        auto stub =
            etcdserverpb::Maintenance::NewStub(grpc::CreateChannel(ep, channel_credentials()));
        grpc::ClientContext ctx;
        set_deadline(ctx, std::chrono::milliseconds(1000));
        etcdserverpb::StatusResponse resp;
        if (stub->Status(&ctx, etcdserverpb::StatusRequest(), &resp).ok() && resp.leader() != 0 &&
            resp.leader() == resp.header().member_id()) {
            return ep;
        }
    }
    return std::nullopt;
}

std::optional<std::string> find_fjord_leader(const std::vector<std::string>& endpoints) {
    for (const auto& ep : endpoints) {
        auto stub = v1::ControllerService::NewStub(grpc::CreateChannel(ep, channel_credentials()));
        grpc::ClientContext ctx;
        set_deadline(ctx, std::chrono::milliseconds(1000));
        v1::StatusResponse resp;
        if (stub->Status(&ctx, v1::StatusRequest(), &resp).ok() && resp.role() == "leader" &&
            resp.leader_id() == resp.node_id()) {
            return ep;
        }
    }
    return std::nullopt;
}

/// Topic names padded so that the AlterTopicConfigs request is `want` bytes
/// (or the first size above it, when varint lengths make `want` unreachable).
std::vector<std::string> topic_names(int n, size_t want) {
    auto name = [](int i, size_t pad) {
        return fmt::format("bench-{:05d}-{}", i, std::string(pad, 'x'));
    };
    size_t pad = 0;
    while (fjord_request(name(0, pad), 0).ByteSizeLong() < want && pad < 200) {
        ++pad;
    }
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
        out.push_back(name(i, pad));
    }
    return out;
}

bool fjord_setup(const std::string& leader, const std::vector<std::string>& topics) {
    auto stub = v1::ControllerService::NewStub(grpc::CreateChannel(leader, channel_credentials()));
    {
        v1::RegisterBrokerRequest req;
        auto* b = req.mutable_broker();
        b->set_id(1);
        b->set_incarnation("00000000-0000-4000-8000-0000000000b1");
        auto* e = b->add_endpoints();
        e->set_name("kafka");
        e->set_host("127.0.0.1");
        e->set_port(9092);
        b->set_version("controller_vs_etcd");
        grpc::ClientContext ctx;
        set_deadline(ctx, std::chrono::milliseconds(10000));
        v1::RegisterBrokerResponse resp;
        const grpc::Status s = stub->RegisterBroker(&ctx, req, &resp);
        if (!s.ok() || resp.result().code() != v1::OK) {
            fmt::print(stderr, "controller_vs_etcd: RegisterBroker failed: {} {}\n",
                       s.error_message(), resp.result().message());
            return false;
        }
    }
    constexpr size_t batch = 64;
    for (size_t first = 0; first < topics.size(); first += batch) {
        v1::CreateTopicsRequest req;
        for (size_t i = first; i < std::min(topics.size(), first + batch); ++i) {
            auto* t = req.add_topics();
            t->set_name(topics[i]);
            t->set_partitions(1);
            t->set_replication_factor(1);
        }
        grpc::ClientContext ctx;
        set_deadline(ctx, std::chrono::milliseconds(30000));
        v1::CreateTopicsResponse resp;
        const grpc::Status s = stub->CreateTopics(&ctx, req, &resp);
        if (!s.ok()) {
            fmt::print(stderr, "controller_vs_etcd: CreateTopics failed: {}\n", s.error_message());
            return false;
        }
        for (const auto& item : resp.topics()) {
            const auto code = item.result().code();
            if (code != v1::OK && code != v1::TOPIC_ALREADY_EXISTS) {
                fmt::print(stderr, "controller_vs_etcd: creating {} failed: {}\n", item.name(),
                           item.result().message());
                return false;
            }
        }
    }
    return true;
}

// ------------------------------------------------------------ flags

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos <= s.size()) {
        const size_t comma = s.find(',', pos);
        out.push_back(s.substr(pos, comma - pos));
        if (comma == std::string::npos) {
            break;
        }
        pos = comma + 1;
    }
    return out;
}

int usage(const std::string& why) {
    fmt::print(stderr,
               "controller_vs_etcd: {}\n"
               "usage: controller_vs_etcd --system etcd|fjord --endpoints H:P[,H:P...]\n"
               "         [--concurrency 1,64,512] [--seconds 10] [--warmup 1] [--conns N]\n"
               "         [--threads 2] [--key-bytes 16] [--value-bytes 256] [--topics 512]\n"
               "         [--tls-ca FILE] [--cpu-pids PID[,PID...]]\n",
               why);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--sessions") {
            o.sessions = true;
            continue;
        }
        if (i + 1 >= argc) {
            return usage("missing value for " + a);
        }
        const std::string v = argv[++i];
        try {
            if (a == "--system") {
                o.system = v;
            } else if (a == "--endpoints") {
                o.endpoints = split(v);
            } else if (a == "--concurrency") {
                o.concurrency.clear();
                for (const auto& c : split(v)) {
                    o.concurrency.push_back(std::stoi(c));
                }
            } else if (a == "--seconds") {
                o.seconds = std::stod(v);
            } else if (a == "--warmup") {
                o.warmup = std::stod(v);
            } else if (a == "--conns") {
                o.conns = std::stoi(v);
            } else if (a == "--threads") {
                o.threads = std::stoi(v);
            } else if (a == "--key-bytes") {
                o.key_bytes = std::stoul(v);
            } else if (a == "--value-bytes") {
                o.value_bytes = std::stoul(v);
            } else if (a == "--topics") {
                o.topics = std::stoi(v);
            } else if (a == "--cpu-pids") {
                for (const auto& pid : split(v)) {
                    (void)std::stoul(pid);  // a number, or a usage error
                    o.cpu_pids.push_back(pid);
                }
            } else if (a == "--tls-ca") {
                // TLS to the endpoints, trusting the CA in this PEM file.
                std::ifstream in(v);
                const std::string pem((std::istreambuf_iterator<char>(in)), {});
                if (pem.empty()) {
                    return usage("--tls-ca: cannot read " + v);
                }
                grpc::SslCredentialsOptions so;
                so.pem_root_certs = pem;
                channel_credentials() = grpc::SslCredentials(so);
            } else {
                return usage("unknown argument " + a);
            }
        } catch (const std::exception&) {
            return usage("bad value for " + a + ": " + v);
        }
    }
    if (o.system != "etcd" && o.system != "fjord") {
        return usage("--system must be etcd or fjord");
    }
    if (o.endpoints.empty() || o.endpoints.front().empty()) {
        return usage("--endpoints is required");
    }
    const bool bad_levels =
        std::any_of(o.concurrency.begin(), o.concurrency.end(), [](int c) { return c < 1; });
    if (o.seconds <= 0 || o.warmup < 0 || o.threads < 1 || o.topics < 1 || bad_levels ||
        o.key_bytes < 1 || o.key_bytes > 64) {
        return usage(
            "--seconds, --threads, --topics, --concurrency must be positive; "
            "--key-bytes 1..64");
    }

    std::optional<std::string> leader;
    for (int attempt = 0; attempt < 150 && !leader; ++attempt) {
        leader =
            o.system == "etcd" ? find_etcd_leader(o.endpoints) : find_fjord_leader(o.endpoints);
        if (!leader) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    if (!leader) {
        fmt::print(stderr, "controller_vs_etcd: no {} leader among the endpoints\n", o.system);
        return 1;
    }
    fmt::print(stderr, "controller_vs_etcd: {} leader is {}\n", o.system, *leader);

    const size_t etcd_bytes = etcd_target(o.key_bytes, o.value_bytes).request_bytes();
    std::unique_ptr<target> t;
    if (o.system == "etcd") {
        t = std::make_unique<etcd_target>(o.key_bytes, o.value_bytes);
    } else {
        auto names = topic_names(o.topics, etcd_bytes);
        if (!fjord_setup(*leader, names)) {
            return 1;
        }
        t = std::make_unique<fjord_target>(std::move(names), o.sessions);
    }

    nlohmann::json levels = nlohmann::json::array();
    for (int c : o.concurrency) {
        levels.push_back(run_level(*t, *leader, c, o));
    }
    nlohmann::json out = {{"benchmark", "controller_vs_etcd"},
                          {"system", o.system},
                          {"leader", *leader},
                          {"write", o.system == "etcd" ? "KV.Put" : "AlterTopicConfigs"},
                          {"request_bytes", t->request_bytes()},
                          {"etcd_put_request_bytes", etcd_bytes},
                          {"warmup_s", o.warmup},
                          {"seconds", o.seconds},
                          {"levels", levels}};
    fmt::print("{}\n", out.dump(2));
    return 0;
}
