// File: common/yaml_config.cc
//
// yaml_checker and the file/document helpers around it (see the header).

#include "common/yaml_config.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <system_error>

#include <fmt/format.h>

namespace fjord {

namespace {

constexpr size_t max_file_bytes = size_t{1} << 20;

error_info invalid(std::string detail) {
    return error_info(std::make_error_code(std::errc::invalid_argument), std::move(detail));
}

}  // namespace

// --- helpers ---

int line_of(const YAML::Node& n) {
    const YAML::Mark m = n.Mark();
    return m.is_null() ? 0 : m.line + 1;
}

std::string describe(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Scalar: {
            std::string s = n.Scalar();
            if (s.size() > 40) {
                s = s.substr(0, 40) + "...";
            }
            return fmt::format("\"{}\"", s);
        }
        case YAML::NodeType::Sequence:
            return "a sequence";
        case YAML::NodeType::Map:
            return "a mapping";
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            break;
    }
    return "nothing (null)";
}

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

std::string child_path(std::string_view parent, std::string_view key) {
    return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

// --- yaml_checker ---

void yaml_checker::error(std::string_view path, std::string_view msg, int line) {
    std::string text = path.empty() ? std::string(msg) : fmt::format("{}: {}", path, msg);
    if (line > 0) {
        text += fmt::format(" (line {})", line);
    }
    _errors.push_back({line, std::move(text)});
}

std::string yaml_checker::report() const {
    std::vector<const std::pair<int, std::string>*> sorted;
    sorted.reserve(_errors.size());
    for (const auto& e : _errors) {
        sorted.push_back(&e);
    }
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
        const int la = a->first == 0 ? std::numeric_limits<int>::max() : a->first;
        const int lb = b->first == 0 ? std::numeric_limits<int>::max() : b->first;
        return la < lb;
    });
    std::string out;
    for (size_t i = 0; i < sorted.size() && i < max_reported_errors; ++i) {
        if (i > 0) {
            out += '\n';
        }
        out += sorted[i]->second;
    }
    if (sorted.size() > max_reported_errors) {
        out += fmt::format("\n... and {} more", sorted.size() - max_reported_errors);
    }
    return out;
}

error_info yaml_checker::failure() const {
    return invalid(report());
}

std::optional<std::vector<yaml_field>> yaml_checker::fields(
    const YAML::Node& node, std::string_view path, int line,
    std::span<const std::string_view> known) {
    if (!node.IsMap()) {
        error(path.empty() ? "top level" : path,
              fmt::format("expected a mapping, got {}", describe(node)), line);
        return std::nullopt;
    }
    std::vector<yaml_field> out;
    std::map<std::string, int, std::less<>> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
        const YAML::Node k = it->first;
        const int kline = line_of(k);
        if (!k.IsScalar()) {
            error(path.empty() ? "top level" : path, "keys must be plain strings", kline);
            continue;
        }
        const std::string key = k.Scalar();
        const std::string kp = child_path(path, key);
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            std::string_view best;
            size_t best_d = 3;
            for (const std::string_view cand : known) {
                const size_t d = edit_distance(key, cand);
                if (d < best_d) {
                    best = cand;
                    best_d = d;
                }
            }
            error(kp,
                  best.empty() ? "unknown key" : fmt::format("unknown key, did you mean {}?", best),
                  kline);
            continue;
        }
        if (const auto s = seen.find(key); s != seen.end()) {
            error(kp, fmt::format("duplicate key, first set on line {}", s->second), kline);
            continue;
        }
        seen.emplace(key, kline);
        out.push_back({key, it->second, kline});
    }
    return out;
}

const yaml_field* yaml_checker::find(const std::vector<yaml_field>& fs, std::string_view key) {
    for (const yaml_field& f : fs) {
        if (f.key == key) {
            return &f;
        }
    }
    return nullptr;
}

int yaml_checker::line(std::string_view path) const {
    const auto it = _lines.find(path);
    return it == _lines.end() ? 0 : it->second;
}

void yaml_checker::note_line(std::string_view path, int line) {
    _lines.insert_or_assign(std::string(path), line);
}

const yaml_field* yaml_checker::lookup(const std::vector<yaml_field>& fs, std::string_view parent,
                                       std::string_view key, bool required, int parent_line) {
    const yaml_field* f = find(fs, key);
    const std::string path = child_path(parent, key);
    if (f == nullptr) {
        if (required) {
            error(path, "required key is missing", parent_line);
        }
        return nullptr;
    }
    _lines[path] = f->line;
    return f;
}

std::optional<uint64_t> yaml_checker::read_unsigned(const std::vector<yaml_field>& fs,
                                                    std::string_view parent, std::string_view key,
                                                    bool required, int parent_line, uint64_t min,
                                                    uint64_t max, bool unbounded) {
    const yaml_field* f = lookup(fs, parent, key, required, parent_line);
    if (f == nullptr) {
        return std::nullopt;
    }
    const std::string path = child_path(parent, key);
    const std::string text = f->value.IsScalar() ? f->value.Scalar() : std::string();
    if (!f->value.IsScalar() || text.empty() ||
        text.find_first_not_of("0123456789") != std::string::npos) {
        error(path, fmt::format("expected an unsigned integer, got {}", describe(f->value)),
              f->line);
        return std::nullopt;
    }
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || v < min || v > max) {
        if (unbounded && ec == std::errc() && v < min) {
            error(path, fmt::format("must be at least {}, got {}", min, text), f->line);
        } else if (unbounded) {
            error(path, fmt::format("must be at most {}, got {}", max, text), f->line);
        } else {
            error(path, fmt::format("must be between {} and {}, got {}", min, max, text), f->line);
        }
        return std::nullopt;
    }
    return v;
}

std::optional<std::string> yaml_checker::read_string(const std::vector<yaml_field>& fs,
                                                     std::string_view parent, std::string_view key,
                                                     bool required, int parent_line,
                                                     bool allow_empty) {
    const yaml_field* f = lookup(fs, parent, key, required, parent_line);
    if (f == nullptr) {
        return std::nullopt;
    }
    const std::string path = child_path(parent, key);
    if (f->value.IsNull() && allow_empty) {
        return std::string();
    }
    if (!f->value.IsScalar()) {
        error(path, fmt::format("expected a string, got {}", describe(f->value)), f->line);
        return std::nullopt;
    }
    if (f->value.Scalar().empty() && !allow_empty) {
        error(path, "must not be empty", f->line);
        return std::nullopt;
    }
    return f->value.Scalar();
}

void yaml_checker::read_bool(const std::vector<yaml_field>& fs, std::string_view parent,
                             std::string_view key, bool required, int parent_line, bool& out) {
    const yaml_field* f = lookup(fs, parent, key, required, parent_line);
    if (f == nullptr) {
        return;
    }
    if (f->value.IsScalar() && (f->value.Scalar() == "true" || f->value.Scalar() == "false")) {
        out = f->value.Scalar() == "true";
        return;
    }
    error(child_path(parent, key),
          fmt::format("expected true or false, got {}", describe(f->value)), f->line);
}

void yaml_checker::read_address(const std::vector<yaml_field>& fs, std::string_view parent,
                                std::string_view key, bool required, int parent_line,
                                host_port& out) {
    const auto text = read_string(fs, parent, key, required, parent_line, false);
    if (text) {
        set_address(child_path(parent, key), *text, out);
    }
}

bool yaml_checker::set_address(const std::string& path, const std::string& text, host_port& out) {
    auto hp = parse_host_port(text);
    if (!hp) {
        error(path, fmt::format("\"{}\" is not host:port: {}", text, hp.error().detail),
              line(path));
        return false;
    }
    out = std::move(*hp);
    return true;
}

void yaml_checker::read_log_level(const std::vector<yaml_field>& fs, std::string_view parent,
                                  std::string_view key, bool required, int parent_line,
                                  log_level& out) {
    static constexpr std::pair<std::string_view, log_level> levels[] = {
        {"trace", log_level::trace}, {"debug", log_level::debug}, {"info", log_level::info},
        {"warn", log_level::warn},   {"error", log_level::error}, {"off", log_level::off},
    };
    const auto text = read_string(fs, parent, key, required, parent_line, false);
    if (!text) {
        return;
    }
    for (const auto& [name, l] : levels) {
        if (name == *text) {
            out = l;
            return;
        }
    }
    const std::string path = child_path(parent, key);
    error(path,
          fmt::format("expected one of trace, debug, info, warn, error, off, got \"{}\"", *text),
          line(path));
}

// --- documents and files ---

result<void> check_yaml_document(std::string_view text,
                                 const std::function<void(const YAML::Node& root)>& check) {
    try {
        const std::vector<YAML::Node> docs = YAML::LoadAll(std::string(text));
        if (docs.size() > 1) {
            return invalid(fmt::format("expected one YAML document, found {}", docs.size()));
        }
        check(docs.empty() ? YAML::Node() : docs[0]);
        return ok();
    } catch (const YAML::Exception& e) {
        if (e.mark.is_null()) {
            return invalid(fmt::format("YAML syntax error: {}", e.msg));
        }
        return invalid(fmt::format("YAML syntax error: {} (line {}, column {})", e.msg,
                                   e.mark.line + 1, e.mark.column + 1));
    } catch (const std::exception& e) {
        return invalid(fmt::format("cannot parse the configuration: {}", e.what()));
    }
}

result<std::string> read_config_file(const std::string& path) {
    const auto io_error = [&path](std::string_view what, int err) {
        return error_info(std::error_code(err, std::generic_category()),
                          fmt::format("{}: {}: {}", path, what, std::strerror(err)));
    };
    int fd = -1;
    do {
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        return io_error("cannot open", errno);
    }
    std::string text;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            return io_error("cannot read", err);
        }
        if (n == 0) {
            break;
        }
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > max_file_bytes) {
            ::close(fd);
            return error_info(
                std::make_error_code(std::errc::file_too_large),
                fmt::format("{}: larger than {} bytes; is this the configuration file?", path,
                            max_file_bytes));
        }
    }
    ::close(fd);
    return text;
}

error_info prefix_lines(std::string_view path, const error_info& e) {
    std::string detail;
    const std::string& d = e.detail;
    size_t start = 0;
    while (start <= d.size()) {
        size_t nl = d.find('\n', start);
        if (nl == std::string::npos) {
            nl = d.size();
        }
        detail +=
            fmt::format("{}{}: {}", start == 0 ? "" : "\n", path, d.substr(start, nl - start));
        start = nl + 1;
    }
    return error_info(e.code, std::move(detail));
}

}  // namespace fjord
