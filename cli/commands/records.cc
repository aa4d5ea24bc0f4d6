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
// Format strings: %t topic, %T its length, %k key, %K its length, %v value,
// %V its length, %p partition, %o offset, %d timestamp (ms), %H header
// count, %h headers (k:v, comma-separated), %% a percent sign; the escapes
// \n \t \r \\ \" \0. For produce, -f says how stdin is split: %t %k %v %p
// are read up to the text that follows them in the format, so the default
// `%v\n` produces one record per line.
//
// Exit codes: 0 all records produced / the consume ended as asked (-n, an
// end offset, Ctrl-C); 1 a record was not produced or the consumer hit an
// error it cannot go on from (an unknown topic); 2 usage errors.

#include <poll.h>
#include <unistd.h>

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

/// Backslash escapes of a format string, as the shell passes them.
std::string unescape(const std::string& in) {
    std::string out;
    for (size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '\\' || i + 1 == in.size()) {
            out += in[i];
            continue;
        }
        switch (in[++i]) {
            case 'n':
                out += '\n';
                break;
            case 't':
                out += '\t';
                break;
            case 'r':
                out += '\r';
                break;
            case '0':
                out += '\0';
                break;
            default:
                out += in[i];
        }
    }
    return out;
}

/// A format string as literal text and %-fields.
struct token {
    char field = 0;  ///< 0: literal `text`
    std::string text;
};

result<std::vector<token>> parse_format(const std::string& raw, const std::string& allowed,
                                        const char* flag) {
    const std::string f = unescape(raw);
    std::vector<token> out;
    for (size_t i = 0; i < f.size(); ++i) {
        if (f[i] != '%') {
            if (out.empty() || out.back().field != 0) {
                out.push_back({});
            }
            out.back().text += f[i];
            continue;
        }
        if (i + 1 == f.size()) {
            return error_info(std::make_error_code(std::errc::invalid_argument),
                              fmt::format("{}: a lone % at the end of \"{}\"", flag, raw));
        }
        const char c = f[++i];
        if (c == '%') {
            if (out.empty() || out.back().field != 0) {
                out.push_back({});
            }
            out.back().text += '%';
        } else if (allowed.find(c) == std::string::npos) {
            return error_info(
                std::make_error_code(std::errc::invalid_argument),
                fmt::format("{}: %{} is not supported here (supported: {})", flag, c, [&] {
                    std::string s;
                    for (char a : allowed) {
                        s += (s.empty() ? "%" : " %") + std::string(1, a);
                    }
                    return s;
                }()));
        } else {
            out.push_back({c, {}});
        }
    }
    return out;
}

/// What a format string can print of one record.
struct record_view {
    std::string topic;
    std::optional<std::string> key;
    std::optional<std::string> value;
    int32_t partition = -1;
    int64_t offset = -1;
    int64_t timestamp = -1;
    std::vector<std::pair<std::string, std::string>> headers;
};

std::string render(const std::vector<token>& fmt_tokens, const record_view& r) {
    std::string out;
    for (const auto& t : fmt_tokens) {
        switch (t.field) {
            case 0:
                out += t.text;
                break;
            case 't':
                out += r.topic;
                break;
            case 'T':
                out += std::to_string(r.topic.size());
                break;
            case 'k':
                out += r.key.value_or("");
                break;
            case 'K':
                out += std::to_string(r.key ? r.key->size() : 0);
                break;
            case 'v':
                out += r.value.value_or("");
                break;
            case 'V':
                out += std::to_string(r.value ? r.value->size() : 0);
                break;
            case 'p':
                out += std::to_string(r.partition);
                break;
            case 'o':
                out += std::to_string(r.offset);
                break;
            case 'd':
                out += std::to_string(r.timestamp);
                break;
            case 'H':
                out += std::to_string(r.headers.size());
                break;
            case 'h': {
                std::string hs;
                for (const auto& [k, v] : r.headers) {
                    hs += (hs.empty() ? "" : ",") + k + ":" + v;
                }
                out += hs;
                break;
            }
        }
    }
    return out;
}

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
};

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

/// Splits stdin into records by the input format. Returns false at the end
/// of input (or on a read error, reported through `error`).
class record_reader {
  public:
    /// `idle` runs every 100 ms while stdin has nothing to read (the
    /// producer's delivery reports are served there, so acknowledgements
    /// print while a terminal waits for the next line).
    record_reader(std::vector<token> f, std::function<void()> idle)
        : _format(std::move(f)), _idle(std::move(idle)) {}

    /// The next record's fields ('t', 'k', 'v', 'p' → text).
    std::optional<std::map<char, std::string>> next() {
        for (;;) {
            if (auto r = try_parse()) {
                return r;
            }
            if (_eof) {
                if (_pos < _buf.size()) {
                    // A last record without the format's final delimiter.
                    _buf += trailing_literal();
                    if (auto r = try_parse()) {
                        return r;
                    }
                    _pos = _buf.size();
                }
                return std::nullopt;
            }
            fill();
        }
    }

  private:
    std::string trailing_literal() const {
        return !_format.empty() && _format.back().field == 0 ? _format.back().text : "";
    }

    void fill() {
        if (_pos > (1u << 20)) {
            _buf.erase(0, _pos);
            _pos = 0;
        }
        char chunk[65536];
        for (;;) {
            pollfd in{STDIN_FILENO, POLLIN, 0};
            const int ready = ::poll(&in, 1, 100);
            if (g_interrupted) {
                _eof = true;
                return;
            }
            if (ready == 0 || (ready < 0 && errno == EINTR)) {
                _idle();
                continue;
            }
            const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
            if (n > 0) {
                _buf.append(chunk, static_cast<size_t>(n));
                return;
            }
            if (n < 0 && errno == EINTR && !g_interrupted) {  // another signal
                continue;
            }
            _eof = true;
            return;
        }
    }

    std::optional<std::map<char, std::string>> try_parse() {
        std::map<char, std::string> fields;
        size_t at = _pos;
        if (at >= _buf.size()) {
            return std::nullopt;
        }
        for (size_t i = 0; i < _format.size(); ++i) {
            const token& t = _format[i];
            if (t.field == 0) {
                if (_buf.compare(at, t.text.size(), t.text) != 0) {
                    if (_buf.size() - at < t.text.size()) {
                        return std::nullopt;  // wait for more input
                    }
                    // Text that does not match the format: skip a byte so
                    // the reader never loops; the record is malformed.
                    _pos = at + 1;
                    return std::nullopt;
                }
                at += t.text.size();
                continue;
            }
            if (i + 1 == _format.size()) {
                if (!_eof) {
                    return std::nullopt;  // a trailing field takes the rest
                }
                fields[t.field] = _buf.substr(at);
                at = _buf.size();
                continue;
            }
            const std::string& until = _format[i + 1].text;
            const size_t end = _buf.find(until, at);
            if (end == std::string::npos) {
                return std::nullopt;
            }
            fields[t.field] = _buf.substr(at, end - at);
            at = end;
        }
        _pos = at;
        return fields;
    }

    std::vector<token> _format;
    std::function<void()> _idle;
    std::string _buf;
    size_t _pos = 0;
    bool _eof = false;
};

void run_produce(cli_context& ctx, const produce_options& o) {
    if (ctx.print_schema("one per produced record (--format json): {\"topic\": string, "
                         "\"partition\": int, \"offset\": int, \"timestamp\": int}")) {
        return;
    }
    auto in = parse_format(o.format, "tkvp", "-f/--format");
    auto out = parse_format(o.output_format, "tTkKvVpod", "-o/--output-format");
    if (!in || !out) {
        ctx.fail(exit_code::usage, (!in ? in.error() : out.error()).detail);
        return;
    }
    bool has_topic_field = false;
    for (const auto& t : *in) {
        has_topic_field = has_topic_field || t.field == 't';
    }
    if (o.topic.empty() && !has_topic_field) {
        ctx.fail(exit_code::usage, "a topic is required: an argument, or %t in -f/--format");
        return;
    }
    if (o.acks != -1 && o.acks != 0 && o.acks != 1) {
        ctx.fail(exit_code::usage, fmt::format("--acks: {} (want -1, 0 or 1)", o.acks));
        return;
    }
    std::vector<std::pair<std::string, std::string>> headers;
    for (const auto& h : o.headers) {
        const auto colon = h.find(':');
        if (colon == std::string::npos) {
            ctx.fail(exit_code::usage, fmt::format("-H/--header: \"{}\" is not key:value", h));
            return;
        }
        headers.emplace_back(h.substr(0, colon), h.substr(colon + 1));
    }
    auto timeout = o.delivery_timeout == "0"
                       ? result<int64_t>(int64_t{0})
                       : parse_duration_ms(o.delivery_timeout, "--delivery-timeout");
    if (!timeout) {
        ctx.fail(exit_code::usage, timeout.error().detail);
        return;
    }
    const rdkafka_api* rk = load(ctx);
    if (rk == nullptr) {
        return;
    }
    produce_state st;
    st.rk = rk;
    st.output = std::move(*out);
    st.json = ctx.format() == output_format::json;
    conf_holder conf(*rk);
    for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"bootstrap.servers", join(ctx.cfg().brokers, ",")},
             {"client.id", "fjord"},
             {"compression.codec", o.compression},
             {"acks", std::to_string(o.acks)},
             {"linger.ms", "5"},
             {"message.timeout.ms",
              std::to_string(*timeout > 0 ? std::max<int64_t>(*timeout, 1000) : 300000)}}) {
        if (auto r = conf.set(k, v); !r) {
            ctx.fail(exit_code::usage, r.error().detail);
            return;
        }
    }
    rk->rd_kafka_conf_set_dr_msg_cb(conf.conf, delivered_cb);
    rk->rd_kafka_conf_set_opaque(conf.conf, &st);
    char err[512];
    client_ptr producer(rk->rd_kafka_new(RD_KAFKA_PRODUCER, conf.conf, err, sizeof err),
                        client_deleter{rk});
    if (!producer) {
        ctx.fail(exit_code::failed, fmt::format("cannot create a producer: {}", err));
        return;
    }
    conf.conf = nullptr;  // owned by the producer now

    catch_interrupts();
    record_reader reader(std::move(*in), [&] { rk->rd_kafka_poll(producer.get(), 0); });
    long refused = 0;
    while (!g_interrupted) {
        auto rec = reader.next();
        if (!rec) {
            break;
        }
        const std::string topic = rec->contains('t') ? (*rec)['t'] : o.topic;
        int32_t partition = o.partition;
        if (rec->contains('p')) {
            const std::string& p = (*rec)['p'];
            if (std::from_chars(p.data(), p.data() + p.size(), partition).ec != std::errc()) {
                std::cerr << fmt::format(
                    "fjord: record skipped: partition \"{}\" is not a "
                    "number\n",
                    p);
                ++refused;
                continue;
            }
        }
        const std::string key = rec->contains('k') ? (*rec)['k'] : o.key;
        const std::string& value = (*rec)['v'];
        const bool null_value = o.tombstone && value.empty();
        for (;;) {
            // producev's varargs, spelled out: librdkafka's RD_KAFKA_V_*
            // macros are C casts. Headers go as one list the message owns
            // once produced.
            rd_kafka_headers_t* hs = nullptr;
            if (!headers.empty()) {
                hs = rk->rd_kafka_headers_new(headers.size());
                for (const auto& [hk, hv] : headers) {
                    rk->rd_kafka_header_add(hs, hk.data(), static_cast<ssize_t>(hk.size()),
                                            hv.data(), static_cast<ssize_t>(hv.size()));
                }
            }
            const int32_t part = partition < 0 ? RD_KAFKA_PARTITION_UA : partition;
            void* key_ptr = key.empty() ? nullptr : const_cast<char*>(key.data());
            void* value_ptr = null_value ? nullptr : const_cast<char*>(value.data());
            const size_t value_len = null_value ? 0 : value.size();
            const rd_kafka_resp_err_t e =
                hs == nullptr
                    ? rk->rd_kafka_producev(producer.get(), RD_KAFKA_VTYPE_TOPIC, topic.c_str(),
                                            RD_KAFKA_VTYPE_PARTITION, part, RD_KAFKA_VTYPE_MSGFLAGS,
                                            RD_KAFKA_MSG_F_COPY, RD_KAFKA_VTYPE_KEY, key_ptr,
                                            key.size(), RD_KAFKA_VTYPE_VALUE, value_ptr, value_len,
                                            RD_KAFKA_VTYPE_END)
                    : rk->rd_kafka_producev(producer.get(), RD_KAFKA_VTYPE_TOPIC, topic.c_str(),
                                            RD_KAFKA_VTYPE_PARTITION, part, RD_KAFKA_VTYPE_MSGFLAGS,
                                            RD_KAFKA_MSG_F_COPY, RD_KAFKA_VTYPE_KEY, key_ptr,
                                            key.size(), RD_KAFKA_VTYPE_VALUE, value_ptr, value_len,
                                            RD_KAFKA_VTYPE_HEADERS, hs, RD_KAFKA_VTYPE_END);
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR && hs != nullptr) {
                rk->rd_kafka_headers_destroy(hs);
            }
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rk->rd_kafka_poll(producer.get(), 50);
                continue;
            }
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
                std::cerr << fmt::format("fjord: record to {} not produced: {}\n", topic,
                                         rk->rd_kafka_err2str(e));
                ++refused;
            }
            break;
        }
        rk->rd_kafka_poll(producer.get(), 0);
    }
    while (rk->rd_kafka_outq_len(producer.get()) > 0 && !g_interrupted) {
        rk->rd_kafka_flush(producer.get(), 100);
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

void run_consume(cli_context& ctx, const consume_options& o) {
    if (ctx.print_schema("one per record: {\"topic\": string, \"key\": string, \"value\": "
                         "string (absent for a null value; value_size with --meta-only), "
                         "\"headers\": [{\"key\": string, \"value\": string}], \"timestamp\": "
                         "int (ms), \"partition\": int, \"offset\": int}")) {
        return;
    }
    auto spec = parse_offset(o.offset);
    if (!spec) {
        ctx.fail(exit_code::usage, spec.error().detail);
        return;
    }
    std::optional<std::vector<token>> format;
    if (!o.format.empty() && o.format != "json") {
        auto f = parse_format(o.format, "tTkKvVpodHh", "-f/--format");
        if (!f) {
            ctx.fail(exit_code::usage, f.error().detail);
            return;
        }
        format = std::move(*f);
    }
    auto wait = parse_duration_ms(o.fetch_max_wait, "--fetch-max-wait");
    if (!wait) {
        ctx.fail(exit_code::usage, wait.error().detail);
        return;
    }
    if (!o.group.empty() && !o.partitions.empty()) {
        ctx.fail(exit_code::usage, "-p/--partitions cannot be used with -g/--group");
        return;
    }
    if (!o.group.empty() && spec->stop_at_end) {
        ctx.fail(exit_code::usage, "-o ...:end cannot be used with -g/--group");
        return;
    }
    const rdkafka_api* rk = load(ctx);
    if (rk == nullptr) {
        return;
    }
    const bool grouped = !o.group.empty();
    conf_holder conf(*rk);
    for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"bootstrap.servers", join(ctx.cfg().brokers, ",")},
             {"client.id", "fjord"},
             // librdkafka's consumer needs a group even to assign
             // partitions itself; without -g a private one commits nothing.
             {"group.id", grouped ? o.group : fmt::format("fjord-consume-{}", ::getpid())},
             {"enable.auto.commit", grouped ? "true" : "false"},
             {"auto.offset.reset", spec->what == offset_spec::kind::end ? "latest" : "earliest"},
             {"enable.partition.eof", "true"},
             {"fetch.max.bytes", std::to_string(o.fetch_max_bytes)},
             {"fetch.wait.max.ms", std::to_string(*wait)},
             {"max.partition.fetch.bytes", std::to_string(o.fetch_max_partition_bytes)}}) {
        if (auto r = conf.set(k, v); !r) {
            ctx.fail(exit_code::usage, r.error().detail);
            return;
        }
    }
    char err[512];
    client_ptr consumer(rk->rd_kafka_new(RD_KAFKA_CONSUMER, conf.conf, err, sizeof err),
                        client_deleter{rk});
    if (!consumer) {
        ctx.fail(exit_code::failed, fmt::format("cannot create a consumer: {}", err));
        return;
    }
    conf.conf = nullptr;
    rk->rd_kafka_poll_set_consumer(consumer.get());

    // Where to stop per (topic, partition) with :end; empty otherwise.
    std::map<std::pair<std::string, int32_t>, int64_t> stop_at;
    rd_kafka_topic_partition_list_t* list =
        rk->rd_kafka_topic_partition_list_new(static_cast<int>(o.topics.size()));
    if (grouped) {
        for (const auto& t : o.topics) {
            rk->rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
        }
        if (auto e = rk->rd_kafka_subscribe(consumer.get(), list); e) {
            rk->rd_kafka_topic_partition_list_destroy(list);
            ctx.fail(exit_code::failed, fmt::format("subscribe: {}", rk->rd_kafka_err2str(e)));
            return;
        }
    } else {
        const rd_kafka_metadata_t* md = nullptr;
        if (auto e = rk->rd_kafka_metadata(consumer.get(), 1, nullptr, &md, 10000); e) {
            rk->rd_kafka_topic_partition_list_destroy(list);
            ctx.fail(exit_code::failed,
                     fmt::format("metadata from {}: {}", join(ctx.cfg().brokers, ","),
                                 rk->rd_kafka_err2str(e)));
            return;
        }
        const std::set<int32_t> wanted(o.partitions.begin(), o.partitions.end());
        for (const auto& t : o.topics) {
            const rd_kafka_metadata_topic* found = nullptr;
            for (int i = 0; i < md->topic_cnt; ++i) {
                if (t == md->topics[i].topic) {
                    found = &md->topics[i];
                }
            }
            if (found == nullptr || found->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                const auto e = found ? found->err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
                ctx.fail(exit_code::failed,
                         fmt::format("topic {}: {}", t, rk->rd_kafka_err2str(e)));
                continue;
            }
            for (int i = 0; i < found->partition_cnt; ++i) {
                const int32_t p = found->partitions[i].id;
                if (!wanted.empty() && !wanted.contains(p)) {
                    continue;
                }
                int64_t low = 0;
                int64_t high = 0;
                if (auto e = rk->rd_kafka_query_watermark_offsets(consumer.get(), t.c_str(), p,
                                                                  &low, &high, 10000);
                    e) {
                    ctx.fail(exit_code::failed,
                             fmt::format("{}/{}: offsets: {}", t, p, rk->rd_kafka_err2str(e)));
                    continue;
                }
                int64_t start = low;
                switch (spec->what) {
                    case offset_spec::kind::start:
                        start = low;
                        break;
                    case offset_spec::kind::end:
                        start = high;
                        break;
                    case offset_spec::kind::exact:
                        start = std::clamp(spec->n, low, high);
                        break;
                    case offset_spec::kind::from_start:
                        start = std::min(low + spec->n, high);
                        break;
                    case offset_spec::kind::from_end:
                        start = std::max(high - spec->n, low);
                        break;
                    case offset_spec::kind::timestamp:
                        start = spec->n;  // resolved by offsets_for_times below
                        break;
                }
                auto* tp = rk->rd_kafka_topic_partition_list_add(list, t.c_str(), p);
                tp->offset = start;
                if (spec->stop_at_end &&
                    (spec->what == offset_spec::kind::timestamp || start < high)) {
                    stop_at[{t, p}] = high;
                }
            }
        }
        rk->rd_kafka_metadata_destroy(md);
        if (spec->what == offset_spec::kind::timestamp && list->cnt > 0) {
            if (auto e = rk->rd_kafka_offsets_for_times(consumer.get(), list, 10000); e) {
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
        if (ctx.code() != exit_code::ok) {
            rk->rd_kafka_topic_partition_list_destroy(list);
            return;
        }
        if (auto e = rk->rd_kafka_assign(consumer.get(), list); e) {
            rk->rd_kafka_topic_partition_list_destroy(list);
            ctx.fail(exit_code::failed, fmt::format("assign: {}", rk->rd_kafka_err2str(e)));
            return;
        }
        if (spec->stop_at_end && stop_at.empty()) {
            rk->rd_kafka_topic_partition_list_destroy(list);
            rk->rd_kafka_consumer_close(consumer.get());
            return;  // nothing between the start and the end
        }
    }
    rk->rd_kafka_topic_partition_list_destroy(list);

    catch_interrupts();
    const bool compact = !o.pretty || ctx.format() == output_format::json;
    int64_t seen = 0;
    while (!g_interrupted && (o.num <= 0 || seen < o.num)) {
        rd_kafka_message_t* m = rk->rd_kafka_consumer_poll(consumer.get(), 100);
        if (m == nullptr) {
            continue;
        }
        std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> msg(
            m, rk->rd_kafka_message_destroy);
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            continue;
        }
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            const std::string where = m->rkt ? rk->rd_kafka_topic_name(m->rkt) : std::string();
            const bool fatal = m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                               m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
            std::cerr << fmt::format("fjord: {}{}{}\n", where, where.empty() ? "" : ": ",
                                     rk->rd_kafka_err2str(m->err));
            if (fatal) {
                ctx.set_code(exit_code::failed);
                break;
            }
            continue;
        }
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
            for (size_t i = 0; rk->rd_kafka_header_get_all(hs, i, &name, &val, &size) ==
                               RD_KAFKA_RESP_ERR_NO_ERROR;
                 ++i) {
                r.headers.emplace_back(
                    name, val ? std::string(static_cast<const char*>(val), size) : std::string());
            }
        }
        const auto key = std::make_pair(r.topic, r.partition);
        auto stop = stop_at.find(key);
        if (spec->stop_at_end && stop != stop_at.end() && r.offset >= stop->second) {
            stop_at.erase(stop);
            if (stop_at.empty()) {
                break;
            }
            continue;
        }
        if (format) {
            std::cout << render(*format, r);
        } else {
            std::cout << record_json(r, o.meta_only).dump(compact ? -1 : 2) << "\n";
        }
        std::cout.flush();
        ++seen;
        if (spec->stop_at_end && stop != stop_at.end() && r.offset + 1 >= stop->second) {
            stop_at.erase(stop);
            if (stop_at.empty()) {
                break;
            }
        }
    }
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
