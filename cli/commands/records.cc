// File: cli/commands/records.cc
//
// `fjord topic produce` and `fjord topic consume`: records in and out of the
// brokers (the `brokers` setting) through librdkafka, loaded when one of
// these runs (cli/kafka/rdkafka.h). The flags are rpk's main ones
// (rpk-reference §2.7, §2.8):
//
//   produce [TOPIC] [-f '%k %v\n'] [-o OUTPUT] [-k KEY] [-H k:v] [-p N]
//           [-z snappy] [--acks -1] [--delivery-timeout 10s] [-Z]
//   consume TOPIC... [-o start|end|N|+N|-N|@MS[:end]] [-p N,...] [-g GROUP]
//           [-n N] [-f FORMAT] [--pretty-print=false] [--meta-only]
//           [--fetch-max-bytes B] [--fetch-max-wait 5s]
//           [--fetch-max-partition-bytes B]
//
// rpk's `-f/--format` is the record format here too; fjord's global
// `--format` keeps its meaning: `help` prints the output schema, `json`
// prints one compact JSON object per line (a produced record's partition,
// offset and timestamp; a consumed record as rpk's JSON).
//
// Format strings (-f, and produce's -o/--output-format): the language of
// cli/records/format.h, which also splits produce's stdin into records.
//
// Exit codes: 0 all records produced / the consume ended as asked (-n, an
// end offset, Ctrl-C); 1 a record was not produced or the consumer hit an
// error it cannot go on from (an unknown topic); 2 usage errors.

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <csignal>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.h"
#include "cli/context.h"
#include "cli/kafka/rdkafka.h"
#include "cli/records/format.h"

namespace fjord::cli {
namespace {

using kafka::rdkafka_api;

std::atomic<bool> g_interrupted{false};

std::string join(const std::vector<std::string>& v, const std::string& sep) {
    std::string out;
    for (const auto& s : v) {
        out += (out.empty() ? "" : sep) + s;
    }
    return out;
}

using records::parse_format;
using records::record_view;
using records::render;
using records::token;

nlohmann::ordered_json record_json(const record_view& r, bool meta_only) {
    nlohmann::ordered_json j;
    j["topic"] = r.topic;
    j["key"] = r.key.value_or("");
    if (r.value) {
        if (meta_only) {
            j["value_size"] = r.value->size();
        } else {
            j["value"] = *r.value;
        }
    }
    auto hs = nlohmann::ordered_json::array();
    for (const auto& [k, v] : r.headers) {
        hs.push_back({{"key", k}, {"value", v}});
    }
    j["headers"] = hs;
    j["timestamp"] = r.timestamp;
    j["partition"] = r.partition;
    j["offset"] = r.offset;
    return j;
}

/// A Go-style duration ("500ms", "10s", "2m") in milliseconds.
result<int64_t> parse_duration_ms(const std::string& s, const char* flag) {
    int64_t n = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    const std::string unit(p, s.data() + s.size());
    static const std::map<std::string, int64_t> units{
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    if (ec != std::errc() || n < 0 || !units.contains(unit)) {
        return error_info(
            std::make_error_code(std::errc::invalid_argument),
            fmt::format("{}: \"{}\" is not a duration like 500ms, 10s or 2m", flag, s));
    }
    return n * units.at(unit);
}

/// A librdkafka configuration, destroyed unless handed to rd_kafka_new.
struct conf_holder {
    const rdkafka_api& rk;
    rd_kafka_conf_t* conf;
    explicit conf_holder(const rdkafka_api& api) : rk(api), conf(api.rd_kafka_conf_new()) {}
    ~conf_holder() {
        if (conf != nullptr) {
            rk.rd_kafka_conf_destroy(conf);
        }
    }
    conf_holder(const conf_holder&) = delete;
    conf_holder& operator=(const conf_holder&) = delete;
    result<void> set(const std::string& k, const std::string& v) {
        char err[512];
        if (rk.rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
            return error_info(std::make_error_code(std::errc::invalid_argument),
                              fmt::format("{}={}: {}", k, v, err));
        }
        return ok();
    }
    /// The TLS and SASL login of the settings (kafka::security_properties),
    /// the login watched so that a refusal ends the command at once. False
    /// after failing it.
    bool set_sasl(cli_context& ctx) {
        auto props = kafka::security_properties(ctx.cfg());
        if (!props) {
            ctx.fail(exit_code::failed, props.error().detail);
            return false;
        }
        for (const auto& [k, v] : *props) {
            char err[512];
            if (rk.rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) !=
                RD_KAFKA_CONF_OK) {
                // Never the value: it may be the password.
                ctx.fail(exit_code::failed, fmt::format("librdkafka refuses {}: {}", k, err));
                return false;
            }
        }
        kafka::watch_authentication(rk, conf, ctx.cfg());
        return true;
    }
};

/// Fails the command when the brokers refused the SASL login; true then.
bool login_refused(cli_context& ctx) {
    const std::string why = kafka::authentication_failure();
    if (why.empty()) {
        return false;
    }
    ctx.fail(exit_code::failed, why);
    return true;
}

struct client_deleter {
    const rdkafka_api* rk;
    void operator()(rd_kafka_t* k) const { rk->rd_kafka_destroy(k); }
};
using client_ptr = std::unique_ptr<rd_kafka_t, client_deleter>;

const rdkafka_api* load(cli_context& ctx) {
    auto api = kafka::load_rdkafka();
    if (!api) {
        ctx.fail(exit_code::failed, api.error().detail);
        return nullptr;
    }
    return *api;
}

void on_signal(int) {
    g_interrupted = true;
}

/// Ctrl-C and SIGTERM end the command cleanly. Without SA_RESTART, so that
/// a read of stdin waiting for the next line returns at once.
void catch_interrupts() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

// ------------------------------------------------------------ produce

struct produce_options {
    std::string topic;
    std::string format = "%v\\n";
    std::string output_format = "Produced to partition %p at offset %o with timestamp %d.\\n";
    std::string key;
    std::vector<std::string> headers;
    int32_t partition = -1;
    std::string compression = "snappy";
    int acks = -1;
    std::string delivery_timeout = "0";
    bool tombstone = false;
};

struct produce_state {
    const rdkafka_api* rk = nullptr;
    std::vector<token> output;
    bool json = false;
    long failed = 0;
    long delivered = 0;
};

void delivered_cb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* st = static_cast<produce_state*>(opaque);
    const rdkafka_api& rk = *st->rk;
    record_view r;
    r.topic = rk.rd_kafka_topic_name(m->rkt);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++st->failed;
        std::cerr << fmt::format("fjord: record to {} not produced: {}\n", r.topic,
                                 rk.rd_kafka_err2str(m->err));
        return;
    }
    ++st->delivered;
    r.partition = m->partition;
    r.offset = m->offset;
    rd_kafka_timestamp_type_t type;
    r.timestamp = rk.rd_kafka_message_timestamp(m, &type);
    if (m->key != nullptr) {
        r.key = std::string(static_cast<const char*>(m->key), m->key_len);
    }
    if (m->payload != nullptr) {
        r.value = std::string(static_cast<const char*>(m->payload), m->len);
    }
    if (st->json) {
        nlohmann::ordered_json j;
        j["topic"] = r.topic;
        j["partition"] = r.partition;
        j["offset"] = r.offset;
        j["timestamp"] = r.timestamp;
        std::cout << j.dump() << "\n";
    } else {
        std::cout << render(st->output, r);
    }
    std::cout.flush();
}

/// Splits stdin into records by the input format (record_splitter).
class record_reader {
  public:
    /// `idle` runs every 100 ms while stdin has nothing to read (the
    /// producer's delivery reports are served there, so acknowledgements
    /// print while a terminal waits for the next line).
    record_reader(std::vector<token> f, std::function<void()> idle)
        : _split(std::move(f)), _idle(std::move(idle)) {}

    /// The next record's fields ('t', 'k', 'v', 'p' → text); nullopt at the
    /// end of input (or on a read error, or Ctrl-C).
    std::optional<records::record_splitter::fields> next() {
        for (;;) {
            if (auto r = _split.next()) {
                return r;
            }
            if (_split.input_ended()) {
                return _split.last();
            }
            fill();
        }
    }

  private:
    void fill() {
        char chunk[65536];
        for (;;) {
            pollfd in{STDIN_FILENO, POLLIN, 0};
            const int ready = ::poll(&in, 1, 100);
            if (g_interrupted) {
                _split.end_input();
                return;
            }
            if (ready == 0 || (ready < 0 && errno == EINTR)) {
                _idle();
                continue;
            }
            const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
            if (n > 0) {
                _split.feed(std::string_view(chunk, static_cast<size_t>(n)));
                return;
            }
            if (n < 0 && errno == EINTR && !g_interrupted) {  // another signal
                continue;
            }
            _split.end_input();
            return;
        }
    }

    records::record_splitter _split;
    std::function<void()> _idle;
};

using header_list = std::vector<std::pair<std::string, std::string>>;

/// The checked flags of one produce.
struct produce_plan {
    std::vector<token> in;   ///< -f: how stdin splits into records
    std::vector<token> out;  ///< -o: what each delivery prints
    header_list headers;
    int64_t timeout_ms = 0;  ///< 0: librdkafka's default
};

result<produce_plan> check_produce_flags(const produce_options& o) {
    auto in = parse_format(o.format, "tkvp", "-f/--format");
    auto out = parse_format(o.output_format, "tTkKvVpod", "-o/--output-format");
    if (!in || !out) {
        return !in ? in.error() : out.error();
    }
    const auto usage = [](std::string why) {
        return error_info(std::make_error_code(std::errc::invalid_argument), std::move(why));
    };
    const bool has_topic_field =
        std::any_of(in->begin(), in->end(), [](const token& t) { return t.field == 't'; });
    if (o.topic.empty() && !has_topic_field) {
        return usage("a topic is required: an argument, or %t in -f/--format");
    }
    if (o.acks != -1 && o.acks != 0 && o.acks != 1) {
        return usage(fmt::format("--acks: {} (want -1, 0 or 1)", o.acks));
    }
    produce_plan plan{std::move(*in), std::move(*out), {}, 0};
    for (const auto& h : o.headers) {
        const auto colon = h.find(':');
        if (colon == std::string::npos) {
            return usage(fmt::format("-H/--header: \"{}\" is not key:value", h));
        }
        plan.headers.emplace_back(h.substr(0, colon), h.substr(colon + 1));
    }
    auto timeout = o.delivery_timeout == "0"
                       ? result<int64_t>(int64_t{0})
                       : parse_duration_ms(o.delivery_timeout, "--delivery-timeout");
    if (!timeout) {
        return timeout.error();
    }
    plan.timeout_ms = *timeout;
    return plan;
}

/// The producer, configured to report deliveries to `st`; null after
/// failing the command.
client_ptr make_producer(cli_context& ctx, const rdkafka_api* rk, const produce_options& o,
                         const produce_plan& plan, produce_state& st) {
    conf_holder conf(*rk);
    for (const auto& [k, v] :
         header_list{{"bootstrap.servers", join(ctx.cfg().brokers, ",")},
                     {"client.id", "fjord"},
                     {"compression.codec", o.compression},
                     {"acks", std::to_string(o.acks)},
                     {"linger.ms", "5"},
                     {"message.timeout.ms",
                      std::to_string(plan.timeout_ms > 0 ? std::max<int64_t>(plan.timeout_ms, 1000)
                                                         : 300000)}}) {
        if (auto r = conf.set(k, v); !r) {
            ctx.fail(exit_code::usage, r.error().detail);
            return client_ptr(nullptr, client_deleter{rk});
        }
    }
    if (!conf.set_sasl(ctx)) {
        return client_ptr(nullptr, client_deleter{rk});
    }
    rk->rd_kafka_conf_set_dr_msg_cb(conf.conf, delivered_cb);
    rk->rd_kafka_conf_set_opaque(conf.conf, &st);
    char err[512];
    client_ptr producer(rk->rd_kafka_new(RD_KAFKA_PRODUCER, conf.conf, err, sizeof err),
                        client_deleter{rk});
    if (!producer) {
        ctx.fail(exit_code::failed, fmt::format("cannot create a producer: {}", err));
        return producer;
    }
    conf.conf = nullptr;  // owned by the producer now
    return producer;
}

/// One record as the producer sends it.
struct outgoing {
    std::string topic;
    int32_t partition = -1;
    std::string key;
    const std::string* value = nullptr;
    bool null_value = false;
};

/// Hands one record to librdkafka, waiting while its queue is full; false
/// when it was refused (reported).
bool produce_one(const rdkafka_api* rk, rd_kafka_t* producer, const outgoing& r,
                 const header_list& headers) {
    for (;;) {
        // producev's varargs, spelled out: librdkafka's RD_KAFKA_V_*
        // macros are C casts. Headers go as one list the message owns
        // once produced.
        rd_kafka_headers_t* hs = nullptr;
        if (!headers.empty()) {
            hs = rk->rd_kafka_headers_new(headers.size());
            for (const auto& [hk, hv] : headers) {
                rk->rd_kafka_header_add(hs, hk.data(), static_cast<ssize_t>(hk.size()), hv.data(),
                                        static_cast<ssize_t>(hv.size()));
            }
        }
        const int32_t part = r.partition < 0 ? RD_KAFKA_PARTITION_UA : r.partition;
        void* key_ptr = r.key.empty() ? nullptr : const_cast<char*>(r.key.data());
        void* value_ptr = r.null_value ? nullptr : const_cast<char*>(r.value->data());
        const size_t value_len = r.null_value ? 0 : r.value->size();
        const rd_kafka_resp_err_t e =
            hs == nullptr
                ? rk->rd_kafka_producev(producer, RD_KAFKA_VTYPE_TOPIC, r.topic.c_str(),
                                        RD_KAFKA_VTYPE_PARTITION, part, RD_KAFKA_VTYPE_MSGFLAGS,
                                        RD_KAFKA_MSG_F_COPY, RD_KAFKA_VTYPE_KEY, key_ptr,
                                        r.key.size(), RD_KAFKA_VTYPE_VALUE, value_ptr, value_len,
                                        RD_KAFKA_VTYPE_END)
                : rk->rd_kafka_producev(producer, RD_KAFKA_VTYPE_TOPIC, r.topic.c_str(),
                                        RD_KAFKA_VTYPE_PARTITION, part, RD_KAFKA_VTYPE_MSGFLAGS,
                                        RD_KAFKA_MSG_F_COPY, RD_KAFKA_VTYPE_KEY, key_ptr,
                                        r.key.size(), RD_KAFKA_VTYPE_VALUE, value_ptr, value_len,
                                        RD_KAFKA_VTYPE_HEADERS, hs, RD_KAFKA_VTYPE_END);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR && hs != nullptr) {
            rk->rd_kafka_headers_destroy(hs);
        }
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rk->rd_kafka_poll(producer, 50);
            continue;
        }
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            std::cerr << fmt::format("fjord: record to {} not produced: {}\n", r.topic,
                                     rk->rd_kafka_err2str(e));
            return false;
        }
        return true;
    }
}

/// Produces what stdin holds until its end or Ctrl-C; the number of records
/// refused before they were sent.
long produce_input(const rdkafka_api* rk, rd_kafka_t* producer, const produce_options& o,
                   produce_plan& plan) {
    record_reader reader(std::move(plan.in), [&] { rk->rd_kafka_poll(producer, 0); });
    long refused = 0;
    while (!g_interrupted && kafka::authentication_failure().empty()) {
        auto rec = reader.next();
        if (!rec) {
            break;
        }
        outgoing r;
        r.topic = rec->contains('t') ? (*rec)['t'] : o.topic;
        r.partition = o.partition;
        if (rec->contains('p')) {
            const std::string& p = (*rec)['p'];
            if (std::from_chars(p.data(), p.data() + p.size(), r.partition).ec != std::errc()) {
                std::cerr << fmt::format(
                    "fjord: record skipped: partition \"{}\" is not a "
                    "number\n",
                    p);
                ++refused;
                continue;
            }
        }
        r.key = rec->contains('k') ? (*rec)['k'] : o.key;
        r.value = &(*rec)['v'];
        r.null_value = o.tombstone && r.value->empty();
        if (!produce_one(rk, producer, r, plan.headers)) {
            ++refused;
        }
        rk->rd_kafka_poll(producer, 0);
    }
    return refused;
}

void run_produce(cli_context& ctx, const produce_options& o) {
    if (ctx.print_schema("one per produced record (--format json): {\"topic\": string, "
                         "\"partition\": int, \"offset\": int, \"timestamp\": int}")) {
        return;
    }
    auto plan = check_produce_flags(o);
    if (!plan) {
        ctx.fail(exit_code::usage, plan.error().detail);
        return;
    }
    const rdkafka_api* rk = load(ctx);
    if (rk == nullptr) {
        return;
    }
    produce_state st;
    st.rk = rk;
    st.output = plan->out;
    st.json = ctx.format() == output_format::json;
    client_ptr producer = make_producer(ctx, rk, o, *plan, st);
    if (!producer) {
        return;
    }
    catch_interrupts();
    const long refused = produce_input(rk, producer.get(), o, *plan);
    while (rk->rd_kafka_outq_len(producer.get()) > 0 && !g_interrupted &&
           kafka::authentication_failure().empty()) {
        rk->rd_kafka_flush(producer.get(), 100);
    }
    if (login_refused(ctx)) {
        return;  // nothing was or will be delivered: the brokers refused the login
    }
    if (g_interrupted) {
        rk->rd_kafka_flush(producer.get(), 2000);  // what was read still gets a chance
    }
    if (st.failed + refused > 0 || rk->rd_kafka_outq_len(producer.get()) > 0) {
        ctx.set_code(exit_code::failed);
    }
}

// ------------------------------------------------------------ consume

struct consume_options {
    std::vector<std::string> topics;
    std::string offset = "start";
    std::vector<int32_t> partitions;
    std::string group;
    int64_t num = 0;
    std::string format;
    bool pretty = true;
    bool meta_only = false;
    int32_t fetch_max_bytes = 1 << 20;
    std::string fetch_max_wait = "5s";
    int32_t fetch_max_partition_bytes = 1 << 20;
};

/// -o: where each partition starts, and whether to stop at the end as of
/// the start.
struct offset_spec {
    enum class kind { start, end, exact, from_start, from_end, timestamp } what = kind::start;
    int64_t n = 0;
    bool stop_at_end = false;
};

result<offset_spec> parse_offset(std::string s) {
    offset_spec o;
    const auto bad = [&] {
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          fmt::format("-o/--offset: \"{}\" (want start, end, N, +N, -N or @MS, "
                                      "optionally followed by :end)",
                                      s));
    };
    std::string head = s;
    if (head.ends_with(":end")) {
        o.stop_at_end = true;
        head.resize(head.size() - 4);
        if (head.empty()) {
            return o;  // ":end": from the start to the end
        }
    }
    if (head == "start" || head == "oldest") {
        o.what = offset_spec::kind::start;
        return o;
    }
    if (head == "end" || head == "newest") {
        o.what = offset_spec::kind::end;
        return o;
    }
    std::string_view num = head;
    if (head[0] == '+') {
        o.what = offset_spec::kind::from_start;
        num.remove_prefix(1);
    } else if (head[0] == '-') {
        o.what = offset_spec::kind::from_end;
        num.remove_prefix(1);
    } else if (head[0] == '@') {
        o.what = offset_spec::kind::timestamp;
        num.remove_prefix(1);
    } else {
        o.what = offset_spec::kind::exact;
    }
    const auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), o.n);
    if (ec != std::errc() || p != num.data() + num.size() || o.n < 0 || num.empty()) {
        return bad();
    }
    return o;
}

/// Where each (topic, partition) stops with -o ...:end; empty otherwise.
using stop_map = std::map<std::pair<std::string, int32_t>, int64_t>;

/// The checked flags of one consume.
struct consume_plan {
    offset_spec spec;
    std::optional<std::vector<token>> format;  ///< nullopt: JSON
    int64_t wait_ms = 0;
};

result<consume_plan> check_consume_flags(const consume_options& o) {
    consume_plan plan;
    auto spec = parse_offset(o.offset);
    if (!spec) {
        return spec.error();
    }
    plan.spec = *spec;
    if (!o.format.empty() && o.format != "json") {
        auto f = parse_format(o.format, "tTkKvVpodHh", "-f/--format");
        if (!f) {
            return f.error();
        }
        plan.format = std::move(*f);
    }
    auto wait = parse_duration_ms(o.fetch_max_wait, "--fetch-max-wait");
    if (!wait) {
        return wait.error();
    }
    plan.wait_ms = *wait;
    const auto usage = [](const char* why) {
        return error_info(std::make_error_code(std::errc::invalid_argument), why);
    };
    if (!o.group.empty() && !o.partitions.empty()) {
        return usage("-p/--partitions cannot be used with -g/--group");
    }
    if (!o.group.empty() && plan.spec.stop_at_end) {
        return usage("-o ...:end cannot be used with -g/--group");
    }
    return plan;
}

/// The consumer, configured; null after failing the command.
client_ptr make_consumer(cli_context& ctx, const rdkafka_api* rk, const consume_options& o,
                         const consume_plan& plan) {
    const bool grouped = !o.group.empty();
    conf_holder conf(*rk);
    for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"bootstrap.servers", join(ctx.cfg().brokers, ",")},
             {"client.id", "fjord"},
             // librdkafka's consumer needs a group even to assign
             // partitions itself; without -g a private one commits nothing.
             {"group.id", grouped ? o.group : fmt::format("fjord-consume-{}", ::getpid())},
             {"enable.auto.commit", grouped ? "true" : "false"},
             {"auto.offset.reset",
              plan.spec.what == offset_spec::kind::end ? "latest" : "earliest"},
             {"enable.partition.eof", "true"},
             {"fetch.max.bytes", std::to_string(o.fetch_max_bytes)},
             {"fetch.wait.max.ms", std::to_string(plan.wait_ms)},
             {"max.partition.fetch.bytes", std::to_string(o.fetch_max_partition_bytes)}}) {
        if (auto r = conf.set(k, v); !r) {
            ctx.fail(exit_code::usage, r.error().detail);
            return client_ptr(nullptr, client_deleter{rk});
        }
    }
    if (!conf.set_sasl(ctx)) {
        return client_ptr(nullptr, client_deleter{rk});
    }
    char err[512];
    client_ptr consumer(rk->rd_kafka_new(RD_KAFKA_CONSUMER, conf.conf, err, sizeof err),
                        client_deleter{rk});
    if (!consumer) {
        ctx.fail(exit_code::failed, fmt::format("cannot create a consumer: {}", err));
        return consumer;
    }
    conf.conf = nullptr;
    rk->rd_kafka_poll_set_consumer(consumer.get());
    return consumer;
}

/// Where a partition with offsets [low, high) starts under -o.
int64_t start_offset(const offset_spec& spec, int64_t low, int64_t high) {
    switch (spec.what) {
        case offset_spec::kind::start:
            return low;
        case offset_spec::kind::end:
            return high;
        case offset_spec::kind::exact:
            return std::clamp(spec.n, low, high);
        case offset_spec::kind::from_start:
            return std::min(low + spec.n, high);
        case offset_spec::kind::from_end:
            return std::max(high - spec.n, low);
        case offset_spec::kind::timestamp:
            return spec.n;  // resolved by offsets_for_times
    }
    return low;
}

/// Adds topic `t`'s wanted partitions to `list`, each from its -o start
/// (failing the command for a topic or partition that cannot be read).
void add_partitions(cli_context& ctx, const rdkafka_api* rk, rd_kafka_t* consumer,
                    const rd_kafka_metadata_t* md, const std::string& t,
                    const std::set<int32_t>& wanted, const offset_spec& spec,
                    rd_kafka_topic_partition_list_t* list, stop_map& stop_at) {
    const rd_kafka_metadata_topic* found = nullptr;
    for (int i = 0; i < md->topic_cnt; ++i) {
        if (t == md->topics[i].topic) {
            found = &md->topics[i];
        }
    }
    if (found == nullptr || found->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        const auto e = found ? found->err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        ctx.fail(exit_code::failed, fmt::format("topic {}: {}", t, rk->rd_kafka_err2str(e)));
        return;
    }
    for (int i = 0; i < found->partition_cnt; ++i) {
        const int32_t p = found->partitions[i].id;
        if (!wanted.empty() && !wanted.contains(p)) {
            continue;
        }
        int64_t low = 0;
        int64_t high = 0;
        if (auto e =
                rk->rd_kafka_query_watermark_offsets(consumer, t.c_str(), p, &low, &high, 10000);
            e) {
            ctx.fail(exit_code::failed,
                     fmt::format("{}/{}: offsets: {}", t, p, rk->rd_kafka_err2str(e)));
            continue;
        }
        const int64_t start = start_offset(spec, low, high);
        auto* tp = rk->rd_kafka_topic_partition_list_add(list, t.c_str(), p);
        tp->offset = start;
        if (spec.stop_at_end && (spec.what == offset_spec::kind::timestamp || start < high)) {
            stop_at[{t, p}] = high;
        }
    }
}

/// -o @MS: each partition's first offset at or after the timestamp.
void resolve_timestamps(cli_context& ctx, const rdkafka_api* rk, rd_kafka_t* consumer,
                        rd_kafka_topic_partition_list_t* list, stop_map& stop_at) {
    if (auto e = rk->rd_kafka_offsets_for_times(consumer, list, 10000); e) {
        ctx.fail(exit_code::failed,
                 fmt::format("offsets by timestamp: {}", rk->rd_kafka_err2str(e)));
    }
    for (int i = 0; i < list->cnt; ++i) {
        auto& tp = list->elems[i];
        const auto key = std::make_pair(std::string(tp.topic), tp.partition);
        if (tp.offset < 0) {
            tp.offset = RD_KAFKA_OFFSET_END;  // nothing at or after it
            stop_at.erase(key);
        } else if (stop_at.contains(key) && tp.offset >= stop_at[key]) {
            stop_at.erase(key);
        }
    }
}

/// Without -g: assigns the partitions itself from their -o starts. False
/// when the consume ends here (an error, or nothing between start and end).
bool assign_partitions(cli_context& ctx, const rdkafka_api* rk, rd_kafka_t* consumer,
                       const consume_options& o, const offset_spec& spec,
                       rd_kafka_topic_partition_list_t* list, stop_map& stop_at) {
    const rd_kafka_metadata_t* md = nullptr;
    if (auto e = rk->rd_kafka_metadata(consumer, 1, nullptr, &md, 10000); e) {
        if (login_refused(ctx)) {
            return false;
        }
        ctx.fail(exit_code::failed,
                 fmt::format("metadata from {}: {}", join(ctx.cfg().brokers, ","),
                             rk->rd_kafka_err2str(e)));
        return false;
    }
    const std::set<int32_t> wanted(o.partitions.begin(), o.partitions.end());
    for (const auto& t : o.topics) {
        add_partitions(ctx, rk, consumer, md, t, wanted, spec, list, stop_at);
    }
    rk->rd_kafka_metadata_destroy(md);
    if (spec.what == offset_spec::kind::timestamp && list->cnt > 0) {
        resolve_timestamps(ctx, rk, consumer, list, stop_at);
    }
    if (ctx.code() != exit_code::ok) {
        return false;
    }
    if (auto e = rk->rd_kafka_assign(consumer, list); e) {
        ctx.fail(exit_code::failed, fmt::format("assign: {}", rk->rd_kafka_err2str(e)));
        return false;
    }
    if (spec.stop_at_end && stop_at.empty()) {
        rk->rd_kafka_consumer_close(consumer);
        return false;  // nothing between the start and the end
    }
    return true;
}

/// Subscribes (-g) or assigns the partitions; false when the consume ends here.
bool start_consuming(cli_context& ctx, const rdkafka_api* rk, rd_kafka_t* consumer,
                     const consume_options& o, const offset_spec& spec, stop_map& stop_at) {
    rd_kafka_topic_partition_list_t* list =
        rk->rd_kafka_topic_partition_list_new(static_cast<int>(o.topics.size()));
    bool go_on = true;
    if (!o.group.empty()) {
        for (const auto& t : o.topics) {
            rk->rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
        }
        if (auto e = rk->rd_kafka_subscribe(consumer, list); e) {
            ctx.fail(exit_code::failed, fmt::format("subscribe: {}", rk->rd_kafka_err2str(e)));
            go_on = false;
        }
    } else {
        go_on = assign_partitions(ctx, rk, consumer, o, spec, list, stop_at);
    }
    rk->rd_kafka_topic_partition_list_destroy(list);
    return go_on;
}

/// A consumed message as the format language sees it.
record_view view_of(const rdkafka_api* rk, const rd_kafka_message_t* m) {
    record_view r;
    r.topic = rk->rd_kafka_topic_name(m->rkt);
    r.partition = m->partition;
    r.offset = m->offset;
    rd_kafka_timestamp_type_t type;
    r.timestamp = rk->rd_kafka_message_timestamp(m, &type);
    if (m->key != nullptr) {
        r.key = std::string(static_cast<const char*>(m->key), m->key_len);
    }
    if (m->payload != nullptr) {
        r.value = std::string(static_cast<const char*>(m->payload), m->len);
    }
    rd_kafka_headers_t* hs = nullptr;
    if (rk->rd_kafka_message_headers(m, &hs) == RD_KAFKA_RESP_ERR_NO_ERROR && hs) {
        const char* name = nullptr;
        const void* val = nullptr;
        size_t size = 0;
        for (size_t i = 0;
             rk->rd_kafka_header_get_all(hs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i) {
            r.headers.emplace_back(
                name, val ? std::string(static_cast<const char*>(val), size) : std::string());
        }
    }
    return r;
}

/// A consumer error: printed; true when the consume cannot go on.
bool consumer_error(const rdkafka_api* rk, const rd_kafka_message_t* m) {
    const std::string where = m->rkt ? rk->rd_kafka_topic_name(m->rkt) : std::string();
    std::cerr << fmt::format("fjord: {}{}{}\n", where, where.empty() ? "" : ": ",
                             rk->rd_kafka_err2str(m->err));
    return m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
           m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
}

/// Prints records until -n, the :end offsets, an error it cannot go on
/// from, or Ctrl-C.
void consume_loop(cli_context& ctx, const rdkafka_api* rk, rd_kafka_t* consumer,
                  const consume_options& o, const consume_plan& plan, stop_map& stop_at) {
    const bool stop_at_end = plan.spec.stop_at_end;
    const bool compact = !o.pretty || ctx.format() == output_format::json;
    int64_t seen = 0;
    while (!g_interrupted && (o.num <= 0 || seen < o.num)) {
        rd_kafka_message_t* m = rk->rd_kafka_consumer_poll(consumer, 100);
        if (m == nullptr) {
            if (login_refused(ctx)) {
                break;
            }
            continue;
        }
        std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> msg(
            m, rk->rd_kafka_message_destroy);
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED && o.group.empty()) {
            // Without -g the consumer's private group is never used (the
            // partitions are assigned, nothing is committed), but librdkafka
            // still looks up its coordinator: a user without group ACLs
            // consumes all the same, so this is no error of the command's.
            continue;
        }
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (consumer_error(rk, m)) {
                ctx.set_code(exit_code::failed);
                break;
            }
            continue;
        }
        const record_view r = view_of(rk, m);
        auto stop = stop_at.find(std::make_pair(r.topic, r.partition));
        const bool stopping = stop_at_end && stop != stop_at.end();
        if (stopping && r.offset >= stop->second) {
            stop_at.erase(stop);
            if (stop_at.empty()) {
                break;
            }
            continue;
        }
        if (plan.format) {
            std::cout << render(*plan.format, r);
        } else {
            std::cout << record_json(r, o.meta_only).dump(compact ? -1 : 2) << "\n";
        }
        std::cout.flush();
        ++seen;
        if (stopping && r.offset + 1 >= stop->second) {
            stop_at.erase(stop);
            if (stop_at.empty()) {
                break;
            }
        }
    }
}

void run_consume(cli_context& ctx, const consume_options& o) {
    if (ctx.print_schema("one per record: {\"topic\": string, \"key\": string, \"value\": "
                         "string (absent for a null value; value_size with --meta-only), "
                         "\"headers\": [{\"key\": string, \"value\": string}], \"timestamp\": "
                         "int (ms), \"partition\": int, \"offset\": int}")) {
        return;
    }
    auto plan = check_consume_flags(o);
    if (!plan) {
        ctx.fail(exit_code::usage, plan.error().detail);
        return;
    }
    const rdkafka_api* rk = load(ctx);
    if (rk == nullptr) {
        return;
    }
    client_ptr consumer = make_consumer(ctx, rk, o, *plan);
    if (!consumer) {
        return;
    }
    stop_map stop_at;
    if (!start_consuming(ctx, rk, consumer.get(), o, plan->spec, stop_at)) {
        return;
    }
    catch_interrupts();
    consume_loop(ctx, rk, consumer.get(), o, *plan, stop_at);
    rk->rd_kafka_consumer_close(consumer.get());
}

}  // namespace

void register_record_commands(CLI::App& topic, cli_context& ctx) {
    auto po = std::make_shared<produce_options>();
    auto* produce = topic.add_subcommand("produce", "Produce records from stdin to a topic");
    produce->add_option("topic", po->topic, "Topic (or %t in -f)");
    produce->add_option("-f", po->format, "Input format (%t %k %v %p, escapes \\n \\t)")
        ->capture_default_str();
    produce
        ->add_option("-o,--output-format", po->output_format,
                     "Printed per produced record (%t %k %v %p %o %d)")
        ->capture_default_str();
    produce->add_option("-k,--key", po->key, "Key of every record (%k in -f wins)");
    produce->add_option("-H,--header", po->headers, "Header key:value (repeatable)");
    produce->add_option("-p,--partition", po->partition, "Partition (-1: the partitioner's)")
        ->capture_default_str();
    produce->add_option("-z,--compression", po->compression, "none, gzip, snappy, lz4, zstd")
        ->capture_default_str();
    produce->add_option("--acks", po->acks, "-1 all, 0 none, 1 leader")->capture_default_str();
    produce->add_option("--delivery-timeout", po->delivery_timeout,
                        "Per record, e.g. 10s (0: librdkafka's 5 min; at least 1s)");
    produce->add_flag("-Z,--tombstone", po->tombstone, "Produce empty values as null");
    produce->callback([&ctx, po] {
        if (ctx.prepare()) {
            run_produce(ctx, *po);
        }
    });

    auto co = std::make_shared<consume_options>();
    auto* consume = topic.add_subcommand("consume", "Consume records from topics");
    consume->add_option("topics", co->topics, "Topics")->required();
    consume->add_option("-o,--offset", co->offset, "start, end, N, +N, -N, @MS; :end to stop")
        ->capture_default_str();
    consume->add_option("-p,--partitions", co->partitions, "Only these partitions")->delimiter(',');
    consume->add_option("-g,--group", co->group, "Consume in this group (commits offsets)");
    consume->add_option("-n,--num", co->num, "Quit after N records (0: no limit)");
    consume->add_option("-f", co->format,
                        "Record format (%t %T %k %K %v %V %p %o %d %H %h; default JSON)");
    consume->add_option("--pretty-print", co->pretty, "Multi-line JSON (default true)");
    consume->add_flag("--meta-only", co->meta_only, "Value size instead of the value (JSON)");
    consume->add_option("--fetch-max-bytes", co->fetch_max_bytes)->capture_default_str();
    consume->add_option("--fetch-max-wait", co->fetch_max_wait)->capture_default_str();
    consume->add_option("--fetch-max-partition-bytes", co->fetch_max_partition_bytes)
        ->capture_default_str();
    consume->callback([&ctx, co] {
        if (ctx.prepare()) {
            run_consume(ctx, *co);
        }
    });
}

}  // namespace fjord::cli
