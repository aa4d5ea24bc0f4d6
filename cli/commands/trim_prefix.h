#pragma once
// File: cli/commands/trim_prefix.h
//
// The pure parts of `fjord topic trim-prefix` (trim_prefix.cc): its -o/--offset
// values, its -f/--from-file formats and the rules between its flags, each
// error naming the flag (or the file and line) it is about. Unit-tested in
// cli/trim_prefix_test.cc; the command itself talks DeleteRecords to the
// brokers through librdkafka.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace fjord::cli {

/// An -o/--offset value, as rpk takes it.
struct trim_offset {
    enum class kind {
        end,        ///< "end": the high watermark (everything readable goes)
        exact,      ///< "47": records before offset 47 go
        timestamp,  ///< "@1622505600000": records before the first at or after this time (ms)
    };
    kind what = kind::exact;
    int64_t n = 0;
    bool operator==(const trim_offset&) const = default;
};

/// "end", a non-negative offset, or "@" and a non-negative timestamp in
/// milliseconds; anything else is an error naming `flag`.
result<trim_offset> parse_trim_offset(std::string_view text, std::string_view flag = "-o/--offset");

/// One partition to trim.
struct trim_target {
    std::string topic;
    int32_t partition = 0;
    trim_offset offset;
    bool operator==(const trim_target&) const = default;
};

/// The contents of a --from-file: either lines of "TOPIC PARTITION OFFSET"
/// (blank lines and # comments skipped), or a JSON or YAML mapping
/// {"TOPIC": {"PARTITION": OFFSET}}; OFFSET as -o takes it. Errors name
/// `path` and, for lines, the line number. An empty plan is an error.
result<std::vector<trim_target>> parse_trim_file(std::string_view text, const std::string& path);

/// The flags as given.
struct trim_options {
    std::string topic;  ///< the argument; "" if none
    std::string offset;
    std::vector<int32_t> partitions;
    std::string from_file;
    bool no_confirm = false;
};

/// The rules between the flags: a TOPIC or -f/--from-file, not both; -o
/// with a TOPIC, and neither -o nor -p with a file; partitions >= 0 and
/// not repeated. Returns the parsed offset for a TOPIC (nullopt with a file).
result<std::optional<trim_offset>> check_trim_options(const trim_options& o);

}  // namespace fjord::cli
