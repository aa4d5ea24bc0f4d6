// File: cli/records/format.cc

#include "cli/records/format.h"

#include <fmt/format.h>

namespace fjord::cli::records {
namespace {

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

}  // namespace

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

std::string render(const std::vector<token>& format, const record_view& r) {
    std::string out;
    for (const auto& t : format) {
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

void record_splitter::feed(std::string_view data) {
    if (_pos > (1u << 20)) {
        _buf.erase(0, _pos);
        _pos = 0;
    }
    _buf.append(data);
}

std::optional<record_splitter::fields> record_splitter::next() {
    fields out;
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
            out[t.field] = _buf.substr(at);
            at = _buf.size();
            continue;
        }
        const std::string& until = _format[i + 1].text;
        const size_t end = _buf.find(until, at);
        if (end == std::string::npos) {
            return std::nullopt;
        }
        out[t.field] = _buf.substr(at, end - at);
        at = end;
    }
    _pos = at;
    return out;
}

std::optional<record_splitter::fields> record_splitter::last() {
    if (_pos < _buf.size()) {
        // A last record without the format's final delimiter.
        _buf += !_format.empty() && _format.back().field == 0 ? _format.back().text : "";
        if (auto r = next()) {
            return r;
        }
        _pos = _buf.size();
    }
    return std::nullopt;
}

}  // namespace fjord::cli::records
