// File: cli/commands/trim_prefix.cc
//
// fjord topic trim-prefix [TOPIC] (alias trim): rpk's command (rpk-reference
// §2.9). Moves the start of partitions forward with Kafka's DeleteRecords,
// sent through librdkafka (loaded when this runs, cli/kafka/rdkafka.h) to
// each partition's leader; records before the new start can no longer be
// read, and the brokers remove whole segments below it.
//
//   fjord topic trim-prefix orders -o 120 -p 1      # partition 1 starts at 120
//   fjord topic trim-prefix orders -o end           # every partition: all readable records
//   fjord topic trim-prefix orders -o @1622505600000   # records older than this time (ms)
//   fjord topic trim-prefix -f plan.txt             # "TOPIC PARTITION OFFSET" lines,
//                                                   # or {"TOPIC": {"PARTITION": OFFSET}}
//
// It prints the plan (TOPIC PARTITION NEW-START-OFFSET) and asks for
// confirmation on stdin unless --no-confirm; "y" or "yes" goes on, anything
// else cancels (exit 0, as rpk). Then one row per partition: the new start
// (the partition's low watermark) or the error. Exit codes: 0 every
// partition trimmed (an offset below the current start trims nothing and
// succeeds, as in Kafka), 1 any partition failed (an offset above the high
// watermark is OFFSET_OUT_OF_RANGE), 2 usage errors, including stdin
// closing before an answer (pass --no-confirm in scripts).

#include "cli/commands/trim_prefix.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <tuple>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.h"
#include "cli/context.h"
#include "cli/kafka/rdkafka.h"

namespace fjord::cli {
namespace {

error_info invalid(std::string detail) {
    return error_info(std::make_error_code(std::errc::invalid_argument), std::move(detail));
}

bool parse_int(std::string_view s, int64_t& out) {
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string> words(std::string_view line) {
    std::vector<std::string> out;
    std::istringstream in{std::string(line)};
    std::string w;
    while (in >> w) {
        out.push_back(w);
    }
    return out;
}

result<int32_t> parse_partition(std::string_view text, const std::string& where) {
    int64_t p = -1;
    if (!parse_int(text, p) || p < 0 || p > std::numeric_limits<int32_t>::max()) {
        return invalid(fmt::format("{}: partition \"{}\" is not a partition number", where, text));
    }
    return static_cast<int32_t>(p);
}

result<std::vector<trim_target>> parse_trim_lines(std::string_view text, const std::string& path) {
    std::vector<trim_target> out;
    size_t line_no = 0;
    size_t start = 0;
    while (start < text.size()) {
        size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos) {
            nl = text.size();
        }
        const std::string_view line = text.substr(start, nl - start);
        start = nl + 1;
        ++line_no;
        const auto w = words(line);
        if (w.empty() || w[0].starts_with('#')) {
            continue;
        }
        const std::string where = fmt::format("{}:{}", path, line_no);
        if (w.size() != 3) {
            return invalid(fmt::format("{}: \"{}\": want TOPIC PARTITION OFFSET", where, line));
        }
        auto p = parse_partition(w[1], where);
        if (!p) {
            return p.error();
        }
        auto o = parse_trim_offset(w[2], where);
        if (!o) {
            return o.error();
        }
        out.push_back({w[0], *p, *o});
    }
    return out;
}

result<std::vector<trim_target>> parse_trim_map(const YAML::Node& root, const std::string& path) {
    std::vector<trim_target> out;
    for (const auto& t : root) {
        const std::string topic = t.first.as<std::string>();
        const std::string where = fmt::format("{}: {}", path, topic);
        if (!t.second.IsMap()) {
            return invalid(
                fmt::format("{}: want a mapping of partitions to offsets ({{\"0\": 120}})", where));
        }
        for (const auto& p : t.second) {
            if (!p.first.IsScalar() || !p.second.IsScalar()) {
                return invalid(fmt::format("{}: want PARTITION: OFFSET pairs", where));
            }
            auto part = parse_partition(p.first.Scalar(), where);
            if (!part) {
                return part.error();
            }
            auto o =
                parse_trim_offset(p.second.Scalar(), fmt::format("{}: partition {}", where, *part));
            if (!o) {
                return o.error();
            }
            out.push_back({topic, *part, *o});
        }
    }
    return out;
}

}  // namespace

result<trim_offset> parse_trim_offset(std::string_view text, std::string_view flag) {
    const auto bad = [&] {
        return invalid(fmt::format(
            "{}: \"{}\" is not an offset: want end, an offset >= 0, or @ and a timestamp in ms "
            "(@1622505600000)",
            flag, text));
    };
    trim_offset o;
    if (text == "end") {
        o.what = trim_offset::kind::end;
        o.n = -1;
        return o;
    }
    std::string_view num = text;
    if (num.starts_with('@')) {
        o.what = trim_offset::kind::timestamp;
        num.remove_prefix(1);
    }
    if (num.find_first_not_of("0123456789") != std::string_view::npos || !parse_int(num, o.n)) {
        return bad();
    }
    return o;
}

result<std::vector<trim_target>> parse_trim_file(std::string_view text, const std::string& path) {
    std::vector<trim_target> out;
    // JSON is YAML: a mapping at the top is the keyed format; anything else
    // (lines of words are one YAML scalar) is the line format.
    YAML::Node root;
    bool mapping = false;
    try {
        root = YAML::Load(std::string(text));
        mapping = root.IsMap();
    } catch (const YAML::Exception& e) {
        const std::string_view first =
            text.substr(std::min(text.find_first_not_of(" \t\r\n"), text.size()));
        if (first.starts_with('{')) {
            return invalid(fmt::format("{}: not JSON or YAML: {}", path, e.what()));
        }
    }
    if (mapping) {
        try {
            auto m = parse_trim_map(root, path);
            if (!m) {
                return m.error();
            }
            out = std::move(*m);
        } catch (const YAML::Exception& e) {
            return invalid(fmt::format("{}: {}", path, e.what()));
        }
    } else {
        auto l = parse_trim_lines(text, path);
        if (!l) {
            return l.error();
        }
        out = std::move(*l);
    }
    if (out.empty()) {
        return invalid(fmt::format("{}: no partitions to trim", path));
    }
    std::set<std::pair<std::string, int32_t>> seen;
    for (const auto& t : out) {
        if (!seen.insert({t.topic, t.partition}).second) {
            return invalid(
                fmt::format("{}: {} partition {} is listed twice", path, t.topic, t.partition));
        }
    }
    return out;
}

result<std::optional<trim_offset>> check_trim_options(const trim_options& o) {
    if (!o.from_file.empty()) {
        if (!o.topic.empty()) {
            return invalid("TOPIC and -f/--from-file cannot be used together");
        }
        if (!o.offset.empty()) {
            return invalid("-o/--offset cannot be used with -f/--from-file (the file has them)");
        }
        if (!o.partitions.empty()) {
            return invalid(
                "-p/--partitions cannot be used with -f/--from-file (the file has them)");
        }
        return std::optional<trim_offset>();
    }
    if (o.topic.empty()) {
        return invalid("a TOPIC (with -o/--offset) or -f/--from-file is required");
    }
    if (o.offset.empty()) {
        return invalid("-o/--offset is required with a TOPIC (end, an offset, or @<ms>)");
    }
    std::set<int32_t> seen;
    for (int32_t p : o.partitions) {
        if (p < 0) {
            return invalid(fmt::format("-p/--partitions: {} is not a partition number", p));
        }
        if (!seen.insert(p).second) {
            return invalid(fmt::format("-p/--partitions: {} is listed twice", p));
        }
    }
    auto off = parse_trim_offset(o.offset);
    if (!off) {
        return off.error();
    }
    return std::optional<trim_offset>(*off);
}

namespace {

using json = nlohmann::json;
using kafka::rdkafka_api;

/// librdkafka's name and text of an error ("OFFSET_OUT_OF_RANGE: Broker:
/// Offset out of range").
std::string error_text(const rdkafka_api& rk, rd_kafka_resp_err_t e) {
    return fmt::format("{}: {}", rk.rd_kafka_err2name(e), rk.rd_kafka_err2str(e));
}

struct row {
    std::string topic;
    int32_t partition = 0;
    int64_t offset = -1;  ///< planned: what is sent (-1: the high watermark); done: the new start
    std::string error;
};

/// Everything librdkafka hands out, destroyed at the end of the run.
struct rdk_session {
    const rdkafka_api* rk = nullptr;
    rd_kafka_t* client = nullptr;
    rd_kafka_queue_t* queue = nullptr;
    rd_kafka_topic_partition_list_t* list = nullptr;
    rd_kafka_DeleteRecords_t* del = nullptr;
    rd_kafka_AdminOptions_t* options = nullptr;
    rd_kafka_event_t* event = nullptr;
    const rd_kafka_metadata_t* md = nullptr;
    rdk_session() = default;
    rdk_session(const rdk_session&) = delete;
    rdk_session& operator=(const rdk_session&) = delete;
    ~rdk_session() {
        if (rk == nullptr) {
            return;
        }
        if (event != nullptr) {
            rk->rd_kafka_event_destroy(event);
        }
        if (options != nullptr) {
            rk->rd_kafka_AdminOptions_destroy(options);
        }
        if (del != nullptr) {
            rk->rd_kafka_DeleteRecords_destroy(del);
        }
        if (list != nullptr) {
            rk->rd_kafka_topic_partition_list_destroy(list);
        }
        if (md != nullptr) {
            rk->rd_kafka_metadata_destroy(md);
        }
        if (queue != nullptr) {
            rk->rd_kafka_queue_destroy(queue);
        }
        if (client != nullptr) {
            rk->rd_kafka_destroy(client);
        }
    }
};

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) {
        out += (out.empty() ? "" : ",") + s;
    }
    return out;
}

/// Prints the plan and asks; true to go on. Cancelling sets nothing (exit
/// 0); a closed stdin is a usage error.
bool confirm(cli_context& ctx, const std::vector<row>& plan) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : plan) {
        rows.push_back(
            {r.topic, std::to_string(r.partition),
             r.offset < 0 ? std::string("end (high watermark)") : std::to_string(r.offset)});
    }
    // Data formats keep stdout for the result: the plan goes to stderr.
    const bool text = ctx.format() == output_format::text || ctx.format() == output_format::wide;
    std::ostream& out = text ? std::cout : std::cerr;
    out << render_table({"topic", "partition", "new-start-offset"}, rows)
        << "\nRecords before the new start offsets will be deleted. Confirm? [y/N]: ";
    out.flush();
    std::string answer;
    if (!std::getline(std::cin, answer)) {
        out << "\n";
        ctx.fail(exit_code::usage,
                 "no answer on stdin to the confirmation; pass --no-confirm to trim without "
                 "asking");
        return false;
    }
    if (::isatty(STDIN_FILENO) == 0) {
        out << answer << "\n";  // a terminal echoed it; a pipe did not
    }
    while (!answer.empty() && (answer.back() == '\r' || answer.back() == ' ')) {
        answer.pop_back();
    }
    if (answer == "y" || answer == "Y" || answer == "yes" || answer == "YES" || answer == "Yes") {
        return true;
    }
    out << "Trim canceled.\n";
    return false;
}

void run_trim(cli_context& ctx, const trim_options& o) {
    if (ctx.print_schema("[{\"topic\": string, \"partition\": int, \"new_start_offset\": int "
                         "(-1 with an error), \"error\": string (only with an error)}]")) {
        return;
    }
    auto checked = check_trim_options(o);
    if (!checked) {
        ctx.fail(exit_code::usage, checked.error().detail);
        return;
    }
    std::vector<trim_target> targets;
    if (!o.from_file.empty()) {
        std::ifstream in(o.from_file, std::ios::binary);
        if (!in) {
            ctx.fail(exit_code::usage, fmt::format("-f/--from-file: cannot read {}: {}",
                                                   o.from_file, std::strerror(errno)));
            return;
        }
        std::stringstream ss;
        ss << in.rdbuf();
        auto parsed = parse_trim_file(ss.str(), o.from_file);
        if (!parsed) {
            ctx.fail(exit_code::usage, fmt::format("-f/--from-file: {}", parsed.error().detail));
            return;
        }
        targets = std::move(*parsed);
    }

    auto api = kafka::load_rdkafka();
    if (!api) {
        ctx.fail(exit_code::failed, api.error().detail);
        return;
    }
    rdk_session s;
    s.rk = *api;
    const rdkafka_api& rk = **api;
    const int timeout_ms = static_cast<int>(ctx.cfg().command_timeout.count());
    rd_kafka_conf_t* conf = rk.rd_kafka_conf_new();
    char err[512];
    kafka::properties props{{"bootstrap.servers", join(ctx.cfg().brokers)}, {"client.id", "fjord"}};
    auto security = kafka::security_properties(ctx.cfg());
    if (!security) {
        rk.rd_kafka_conf_destroy(conf);
        ctx.fail(exit_code::failed, security.error().detail);
        return;
    }
    for (auto& p : *security) {
        props.push_back(std::move(p));
    }
    for (const auto& [k, v] : props) {
        if (rk.rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
            rk.rd_kafka_conf_destroy(conf);
            ctx.fail(exit_code::usage,
                     fmt::format("{}={}: {}", k, k == "sasl.password" ? "(hidden)" : v, err));
            return;
        }
    }
    kafka::watch_authentication(rk, conf, ctx.cfg());
    s.client = rk.rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (s.client == nullptr) {
        rk.rd_kafka_conf_destroy(conf);
        ctx.fail(exit_code::failed, fmt::format("cannot create a Kafka client: {}", err));
        return;
    }

    if (targets.empty()) {
        // A TOPIC: its partitions from the brokers' metadata (-p or all).
        if (auto e = rk.rd_kafka_metadata(s.client, 1, nullptr, &s.md, timeout_ms); e) {
            const std::string refused = kafka::authentication_failure();
            ctx.fail(exit_code::failed,
                     !refused.empty() ? refused
                                      : fmt::format("metadata from {}: {}", join(ctx.cfg().brokers),
                                                    error_text(rk, e)));
            return;
        }
        const rd_kafka_metadata_topic* found = nullptr;
        for (int i = 0; i < s.md->topic_cnt; ++i) {
            if (o.topic == s.md->topics[i].topic) {
                found = &s.md->topics[i];
            }
        }
        if (found == nullptr || found->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            const auto e = found ? found->err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
            ctx.fail(exit_code::failed, fmt::format("topic {}: {}", o.topic, error_text(rk, e)));
            return;
        }
        std::set<int32_t> existing;
        for (int i = 0; i < found->partition_cnt; ++i) {
            existing.insert(found->partitions[i].id);
        }
        for (int32_t p : o.partitions) {
            if (!existing.contains(p)) {
                ctx.fail(exit_code::failed,
                         fmt::format("-p/--partitions: topic {} has no partition {} (it has {})",
                                     o.topic, p, existing.size()));
                return;
            }
        }
        for (int32_t p : o.partitions.empty()
                             ? std::vector<int32_t>(existing.begin(), existing.end())
                             : o.partitions) {
            targets.push_back({o.topic, p, **checked});
        }
    }

    // Timestamps become offsets: the first record at or after the time
    // (ListOffsets); none means every record is older: trim to the end.
    std::vector<row> plan;
    rd_kafka_topic_partition_list_t* times =
        rk.rd_kafka_topic_partition_list_new(static_cast<int>(targets.size()));
    for (const auto& t : targets) {
        plan.push_back({t.topic, t.partition, t.offset.n, ""});
        if (t.offset.what == trim_offset::kind::timestamp) {
            rk.rd_kafka_topic_partition_list_add(times, t.topic.c_str(), t.partition)->offset =
                t.offset.n;
        }
    }
    if (times->cnt > 0) {
        if (const auto e = rk.rd_kafka_offsets_for_times(s.client, times, timeout_ms); e) {
            rk.rd_kafka_topic_partition_list_destroy(times);
            ctx.fail(exit_code::failed,
                     fmt::format("offsets for the timestamps: {}", error_text(rk, e)));
            return;
        }
        for (int i = 0; i < times->cnt; ++i) {
            const auto& tp = times->elems[i];
            for (auto& r : plan) {
                if (r.partition == tp.partition && r.topic == tp.topic) {
                    r.offset = tp.offset < 0 ? -1 : tp.offset;
                    if (tp.err) {
                        r.error = "offset for the timestamp: " + error_text(rk, tp.err);
                    }
                }
            }
        }
    }
    rk.rd_kafka_topic_partition_list_destroy(times);
    // A partition whose timestamp lookup failed is reported, not trimmed.
    std::vector<row> done;
    s.list = rk.rd_kafka_topic_partition_list_new(static_cast<int>(plan.size()));
    for (const auto& r : plan) {
        if (r.error.empty()) {
            rk.rd_kafka_topic_partition_list_add(s.list, r.topic.c_str(), r.partition)->offset =
                r.offset;
        } else {
            done.push_back(r);
        }
    }
    std::erase_if(plan, [](const row& r) { return !r.error.empty(); });

    if (!o.no_confirm && !plan.empty() && !confirm(ctx, plan)) {
        return;
    }

    if (s.list->cnt > 0) {
        s.del = rk.rd_kafka_DeleteRecords_new(s.list);
        s.options = rk.rd_kafka_AdminOptions_new(s.client, RD_KAFKA_ADMIN_OP_DELETERECORDS);
        rk.rd_kafka_AdminOptions_set_request_timeout(s.options, timeout_ms, err, sizeof err);
        rk.rd_kafka_AdminOptions_set_operation_timeout(s.options, timeout_ms, err, sizeof err);
        s.queue = rk.rd_kafka_queue_new(s.client);
        rk.rd_kafka_DeleteRecords(s.client, &s.del, 1, s.options, s.queue);
        s.event = rk.rd_kafka_queue_poll(s.queue, timeout_ms + 5000);
        if (s.event == nullptr) {
            ctx.fail(exit_code::failed,
                     fmt::format("DeleteRecords: no answer within {} ms", timeout_ms + 5000));
            return;
        }
        const rd_kafka_DeleteRecords_result_t* res =
            rk.rd_kafka_event_DeleteRecords_result(s.event);
        if (const auto e = rk.rd_kafka_event_error(s.event); e || res == nullptr) {
            ctx.fail(exit_code::failed,
                     fmt::format("DeleteRecords: {}", e ? rk.rd_kafka_event_error_string(s.event)
                                                        : "unexpected answer"));
            return;
        }
        const rd_kafka_topic_partition_list_t* offsets =
            rk.rd_kafka_DeleteRecords_result_offsets(res);
        for (int i = 0; i < offsets->cnt; ++i) {
            const auto& tp = offsets->elems[i];
            done.push_back({tp.topic, tp.partition, tp.err ? -1 : tp.offset,
                            tp.err ? error_text(rk, tp.err) : ""});
        }
    }
    std::sort(done.begin(), done.end(), [](const row& a, const row& b) {
        return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
    });

    json doc = json::array();
    std::vector<std::vector<std::string>> rows;
    bool any_error = false;
    for (const auto& r : done) {
        json item = {
            {"topic", r.topic}, {"partition", r.partition}, {"new_start_offset", r.offset}};
        if (!r.error.empty()) {
            item["error"] = r.error;
            any_error = true;
        }
        doc.push_back(item);
        rows.push_back({r.topic, std::to_string(r.partition),
                        r.error.empty() ? std::to_string(r.offset) : "-", r.error});
    }
    if (any_error) {
        ctx.set_code(exit_code::failed);
    }
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        return render_table({"topic", "partition", "new-start-offset", "error"}, rows);
    });
}

}  // namespace

void register_trim_command(CLI::App& topic, cli_context& ctx) {
    auto o = std::make_shared<trim_options>();
    auto* trim = topic.add_subcommand(
        "trim-prefix", "Trim records from the start of partitions (Kafka's DeleteRecords)");
    trim->alias("trim");
    trim->add_option("topic", o->topic, "Topic (or -f/--from-file)");
    trim->add_option("-o,--offset", o->offset,
                     "New start offset: end (the high watermark), N, or @MS (records older than "
                     "this time)");
    trim->add_option("-p,--partitions", o->partitions, "Only these partitions (default: all)")
        ->delimiter(',');
    trim->add_option("-f,--from-file", o->from_file,
                     "File of TOPIC PARTITION OFFSET lines, or JSON/YAML "
                     "{\"TOPIC\": {\"PARTITION\": OFFSET}}");
    trim->add_flag("--no-confirm", o->no_confirm, "Do not ask before trimming");
    trim->callback([&ctx, o] {
        if (ctx.prepare()) {
            run_trim(ctx, *o);
        }
    });
    // The options bound above must live as long as the command, even if its
    // callback is replaced (tests parse with callback(nullptr)).
    trim->parse_complete_callback([o] {});
}

}  // namespace fjord::cli
