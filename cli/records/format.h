#pragma once
// File: cli/records/format.h
//
// The record format language of `fjord topic produce|consume -f` (rpk's):
// %t topic, %T its length, %k key, %K its length, %v value, %V its length,
// %p partition, %o offset, %d timestamp (ms), %H header count, %h headers
// (k:v, comma-separated), %% a percent sign; the escapes \n \t \r \\ \" \0.
// Consume renders records with it; produce splits its input with it: %t %k
// %v %p are read up to the literal text that follows them in the format, so
// `%v\n` is one record per line. Pure: no I/O (records.cc reads stdin).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace fjord::cli::records {

/// A format string as literal text and %-fields.
struct token {
    char field = 0;  ///< 0: literal `text`
    std::string text;
};

/// Parses `raw` (escapes as the shell passes them); `allowed` lists the
/// field letters this use supports, `flag` names the flag in errors.
result<std::vector<token>> parse_format(const std::string& raw, const std::string& allowed,
                                        const char* flag);

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

std::string render(const std::vector<token>& format, const record_view& r);

/// Splits input into records by a produce format. Input arrives in pieces
/// (feed); a record is returned once its last delimiter has arrived, or, for
/// a format ending in a field, at the end of input.
class record_splitter {
  public:
    /// A record's fields: 't', 'k', 'v', 'p' to their text.
    using fields = std::map<char, std::string>;

    explicit record_splitter(std::vector<token> format) : _format(std::move(format)) {}

    void feed(std::string_view data);
    /// No more input will come.
    void end_input() { _eof = true; }
    bool input_ended() const { return _eof; }

    /// The next whole record in the input so far. nullopt: more input is
    /// needed, or text that does not match the format was skipped (a byte at
    /// a time, so the splitter never loops).
    std::optional<fields> next();
    /// After end_input: the last record, whose final delimiter may be
    /// missing; nullopt when nothing is left. Consumes the rest of the input.
    std::optional<fields> last();

  private:
    std::vector<token> _format;
    std::string _buf;
    size_t _pos = 0;
    bool _eof = false;
};

}  // namespace fjord::cli::records
