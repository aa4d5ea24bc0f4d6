// File: tests/clients/rdkafka_client.cc
//
// rdkafka_client: a small Kafka client on librdkafka's C++ API (Debian's
// librdkafka 2.0.2), for the e2e tests (idempotent producer, consumer
// groups with rebalances) and bench/run_produce_consume. It is a client
// nobody here wrote the protocol of: every byte on the wire is librdkafka's.
//
//   rdkafka_client produce --bootstrap H:P --topic T [--count 100] [--size 100]
//                          [--acks all|1|0] [--idempotent] [--linger-ms 5]
//                          [--set key=value ...]
//   rdkafka_client consume --bootstrap H:P --topic T [--group G] [--count N]
//                          [--timeout-s 30] [--idle-s 0] [--records]
//                          [--set key=value ...]
//
// Output: JSON lines on stdout, flushed as they happen.
// - produce: one line at the end: {"event":"produced","delivered":n,
//   "failed":n,"errors":{name:count},"seconds":s,"mb_per_s":x,
//   "latency_ms":{"p50":..,"p99":..,"max":..},"first_offsets":{p:o}}.
//   Record i's value is "<i>:" padded with 'x' to --size bytes; the key is i.
// - consume: {"event":"assigned"|"revoked","partitions":[...]} on each
//   rebalance, {"event":"record","partition":p,"offset":o,"value":v} per
//   record with --records, and at the end {"event":"done","consumed":n,
//   "seconds":s,"mb_per_s":x,"e2e_latency_ms":{"p50":..,"p99":..}}, the
//   latency being receive time minus the record's CreateTime (wall clock,
//   millisecond resolution: meaningful when consuming while producing). Without --group the
//   consumer assigns itself every partition from the beginning; with --group it subscribes,
//   auto.offset.reset=earliest, and commits synchronously after each record
//   batch it hands out. It stops after --count records, after --timeout-s,
//   after --idle-s seconds without a record (when > 0), or on SIGTERM/SIGINT,
//   and then closes (leaving the group).
// Exit status: 0 when everything asked for happened (all delivered; count
// reached when given), 1 otherwise, 2 on usage errors.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <librdkafka/rdkafkacpp.h>

namespace {

using clock_type = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};

struct options {
    std::string mode;
    std::string bootstrap;
    std::string topic;
    std::string group;
    long count = -1;
    size_t size = 100;
    std::string acks = "all";
    bool idempotent = false;
    int linger_ms = 5;
    double timeout_s = 30;
    double idle_s = 0;
    bool records = false;
    std::vector<std::pair<std::string, std::string>> extra;
};

std::string json_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}

void emit(const std::string& line) {
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

bool set(RdKafka::Conf& conf, const std::string& k, const std::string& v) {
    std::string err;
    if (conf.set(k, v, err) != RdKafka::Conf::CONF_OK) {
        std::fprintf(stderr, "rdkafka_client: %s=%s: %s\n", k.c_str(), v.c_str(), err.c_str());
        return false;
    }
    return true;
}

std::unique_ptr<RdKafka::Conf> base_conf(const options& o) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    if (!set(*conf, "bootstrap.servers", o.bootstrap) ||
        !set(*conf, "client.id", "fjord-rdkafka-client")) {
        return nullptr;
    }
    for (const auto& [k, v] : o.extra) {
        if (!set(*conf, k, v)) {
            return nullptr;
        }
    }
    return conf;
}

// ------------------------------------------------------------ produce

struct delivery : RdKafka::DeliveryReportCb {
    std::vector<double> latencies_ms;
    std::map<std::string, long> errors;
    std::map<int32_t, int64_t> first_offsets;
    long delivered = 0;
    long failed = 0;

    void dr_cb(RdKafka::Message& m) override {
        auto* sent = static_cast<clock_type::time_point*>(m.msg_opaque());
        if (m.err() == RdKafka::ERR_NO_ERROR) {
            ++delivered;
            latencies_ms.push_back(
                std::chrono::duration<double, std::milli>(clock_type::now() - *sent).count());
            auto [it, fresh] = first_offsets.emplace(m.partition(), m.offset());
            if (!fresh) {
                it->second = std::min(it->second, m.offset());
            }
        } else {
            ++failed;
            ++errors[RdKafka::err2str(m.err())];
        }
        delete sent;
    }
};

double percentile(std::vector<double> v, double p) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    const auto i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

int produce(const options& o) {
    auto conf = base_conf(o);
    delivery dr;
    std::string err;
    const long count = o.count < 0 ? 100 : o.count;
    if (!conf || !set(*conf, "acks", o.acks) ||
        !set(*conf, "enable.idempotence", o.idempotent ? "true" : "false") ||
        !set(*conf, "linger.ms", std::to_string(o.linger_ms)) ||
        conf->set("dr_cb", &dr, err) != RdKafka::Conf::CONF_OK) {
        return 2;
    }
    std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
    if (!p) {
        std::fprintf(stderr, "rdkafka_client: producer: %s\n", err.c_str());
        return 1;
    }
    const auto start = clock_type::now();
    const auto deadline = start + std::chrono::duration<double>(o.timeout_s);
    for (long i = 0; i < count && !g_stop && clock_type::now() < deadline; ++i) {
        std::string value = std::to_string(i) + ":";
        if (value.size() < o.size) {
            value.resize(o.size, 'x');
        }
        const std::string key = std::to_string(i);
        for (;;) {
            auto* sent = new clock_type::time_point(clock_type::now());
            const auto e =
                p->produce(o.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                           value.data(), value.size(), key.data(), key.size(), 0, sent);
            if (e == RdKafka::ERR_NO_ERROR) {
                break;
            }
            delete sent;
            if (e != RdKafka::ERR__QUEUE_FULL) {
                ++dr.failed;
                ++dr.errors[RdKafka::err2str(e)];
                break;
            }
            p->poll(10);
        }
        p->poll(0);
    }
    while (p->outq_len() > 0 && !g_stop && clock_type::now() < deadline) {
        p->poll(50);
    }
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    std::string errors;
    for (const auto& [name, n] : dr.errors) {
        errors +=
            (errors.empty() ? "" : ",") + ("\"" + json_escape(name) + "\":") + std::to_string(n);
    }
    std::string offsets;
    for (const auto& [part, off] : dr.first_offsets) {
        offsets += (offsets.empty() ? "" : ",") + ("\"" + std::to_string(part) + "\":") +
                   std::to_string(off);
    }
    char line[1024];
    std::snprintf(line, sizeof line,
                  "{\"event\":\"produced\",\"delivered\":%ld,\"failed\":%ld,\"seconds\":%.3f,"
                  "\"mb_per_s\":%.3f,\"latency_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f},",
                  dr.delivered, dr.failed + static_cast<long>(p->outq_len()), seconds,
                  static_cast<double>(dr.delivered) * static_cast<double>(o.size) / 1e6 /
                      std::max(seconds, 1e-9),
                  percentile(dr.latencies_ms, 0.5), percentile(dr.latencies_ms, 0.99),
                  percentile(dr.latencies_ms, 1.0));
    emit(std::string(line) + "\"errors\":{" + errors + "},\"first_offsets\":{" + offsets + "}}");
    return dr.delivered == count ? 0 : 1;
}

// ------------------------------------------------------------ consume

std::string partitions_json(const std::vector<RdKafka::TopicPartition*>& ps) {
    std::vector<int32_t> ids;
    for (const auto* tp : ps) {
        ids.push_back(tp->partition());
    }
    std::sort(ids.begin(), ids.end());
    std::string out;
    for (int32_t id : ids) {
        out += (out.empty() ? "" : ",") + std::to_string(id);
    }
    return "[" + out + "]";
}

struct rebalance : RdKafka::RebalanceCb {
    void rebalance_cb(RdKafka::KafkaConsumer* c, RdKafka::ErrorCode err,
                      std::vector<RdKafka::TopicPartition*>& ps) override {
        if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
            emit("{\"event\":\"assigned\",\"partitions\":" + partitions_json(ps) + "}");
            c->assign(ps);
        } else {
            emit("{\"event\":\"revoked\",\"partitions\":" + partitions_json(ps) + "}");
            c->unassign();
        }
    }
};

int consume(const options& o) {
    auto conf = base_conf(o);
    rebalance rb;
    std::string err;
    const bool grouped = !o.group.empty();
    if (!conf || !set(*conf, "group.id", grouped ? o.group : "fjord-rdkafka-client-unused") ||
        !set(*conf, "auto.offset.reset", "earliest") ||
        !set(*conf, "enable.auto.commit", "false") ||
        (grouped && conf->set("rebalance_cb", &rb, err) != RdKafka::Conf::CONF_OK)) {
        return 2;
    }
    std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!c) {
        std::fprintf(stderr, "rdkafka_client: consumer: %s\n", err.c_str());
        return 1;
    }
    if (grouped) {
        if (auto e = c->subscribe({o.topic}); e != RdKafka::ERR_NO_ERROR) {
            std::fprintf(stderr, "rdkafka_client: subscribe: %s\n", RdKafka::err2str(e).c_str());
            return 1;
        }
    } else {
        RdKafka::Metadata* md = nullptr;
        std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(c.get(), o.topic, nullptr, err));
        if (!t || c->metadata(false, t.get(), &md, 10000) != RdKafka::ERR_NO_ERROR) {
            std::fprintf(stderr, "rdkafka_client: metadata of %s failed\n", o.topic.c_str());
            return 1;
        }
        std::vector<RdKafka::TopicPartition*> ps;
        for (const auto* tm : *md->topics()) {
            for (const auto* pm : *tm->partitions()) {
                ps.push_back(RdKafka::TopicPartition::create(o.topic, pm->id(),
                                                             RdKafka::Topic::OFFSET_BEGINNING));
            }
        }
        delete md;
        emit("{\"event\":\"assigned\",\"partitions\":" + partitions_json(ps) + "}");
        c->assign(ps);
        RdKafka::TopicPartition::destroy(ps);
    }
    const auto start = clock_type::now();
    const auto deadline = start + std::chrono::duration<double>(o.timeout_s);
    auto last_record = start;
    long consumed = 0;
    uint64_t bytes = 0;
    std::vector<double> e2e_ms;
    while (!g_stop && clock_type::now() < deadline && (o.count < 0 || consumed < o.count)) {
        if (o.idle_s > 0 && consumed > 0 &&
            clock_type::now() - last_record > std::chrono::duration<double>(o.idle_s)) {
            break;
        }
        std::unique_ptr<RdKafka::Message> m(c->consume(100));
        if (m->err() == RdKafka::ERR__TIMED_OUT || m->err() == RdKafka::ERR__PARTITION_EOF) {
            continue;
        }
        if (m->err() != RdKafka::ERR_NO_ERROR) {
            emit("{\"event\":\"error\",\"error\":\"" + json_escape(m->errstr()) + "\"}");
            continue;
        }
        ++consumed;
        bytes += m->len();
        if (const auto ts = m->timestamp();
            ts.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_CREATE_TIME) {
            const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
            e2e_ms.push_back(static_cast<double>(now_ms - ts.timestamp));
        }
        last_record = clock_type::now();
        if (o.records) {
            emit("{\"event\":\"record\",\"partition\":" + std::to_string(m->partition()) +
                 ",\"offset\":" + std::to_string(m->offset()) + ",\"value\":\"" +
                 json_escape(std::string(static_cast<const char*>(m->payload()), m->len())) +
                 "\"}");
        }
        if (grouped) {
            c->commitSync(m.get());
        }
    }
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    c->close();
    char line[256];
    std::snprintf(line, sizeof line,
                  "{\"event\":\"done\",\"consumed\":%ld,\"seconds\":%.3f,\"mb_per_s\":%.3f,"
                  "\"e2e_latency_ms\":{\"p50\":%.1f,\"p99\":%.1f}}",
                  consumed, seconds, static_cast<double>(bytes) / 1e6 / std::max(seconds, 1e-9),
                  percentile(e2e_ms, 0.5), percentile(e2e_ms, 0.99));
    emit(line);
    return o.count < 0 || consumed >= o.count ? 0 : 1;
}

int usage(const char* why) {
    std::fprintf(stderr,
                 "rdkafka_client: %s\n"
                 "usage: rdkafka_client produce|consume --bootstrap H:P --topic T [options]\n",
                 why);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    if (argc < 2) {
        return usage("a mode is required");
    }
    o.mode = argv[1];
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage((a + " needs a value").c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        try {
            if (a == "--bootstrap") {
                o.bootstrap = value();
            } else if (a == "--topic") {
                o.topic = value();
            } else if (a == "--group") {
                o.group = value();
            } else if (a == "--count") {
                o.count = std::stol(value());
            } else if (a == "--size") {
                o.size = std::stoul(value());
            } else if (a == "--acks") {
                o.acks = value();
            } else if (a == "--idempotent") {
                o.idempotent = true;
            } else if (a == "--linger-ms") {
                o.linger_ms = std::stoi(value());
            } else if (a == "--timeout-s") {
                o.timeout_s = std::stod(value());
            } else if (a == "--idle-s") {
                o.idle_s = std::stod(value());
            } else if (a == "--records") {
                o.records = true;
            } else if (a == "--set") {
                const std::string kv = value();
                const auto eq = kv.find('=');
                if (eq == std::string::npos) {
                    return usage("--set wants key=value");
                }
                o.extra.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
            } else {
                return usage(("unknown flag " + a).c_str());
            }
        } catch (const std::exception&) {
            return usage((a + ": not a number").c_str());
        }
    }
    if (o.bootstrap.empty() || o.topic.empty()) {
        return usage("--bootstrap and --topic are required");
    }
    std::signal(SIGTERM, [](int) { g_stop = true; });
    std::signal(SIGINT, [](int) { g_stop = true; });
    if (o.mode == "produce") {
        return produce(o);
    }
    if (o.mode == "consume") {
        return consume(o);
    }
    return usage(("unknown mode " + o.mode).c_str());
}
