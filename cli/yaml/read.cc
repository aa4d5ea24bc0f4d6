// File: cli/yaml/read.cc
//
// The YAML readers every CLI file codec shares (contract: read.h).

#include "cli/yaml/read.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <set>
#include <sstream>
#include <system_error>

namespace fjord::cli::yaml {

result<std::string> read_input(const std::string& path) {
    std::ostringstream s;
    if (path == "-") {
        s << std::cin.rdbuf();
        return s.str();
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return error_info(std::make_error_code(std::errc::no_such_file_or_directory),
                          fmt::format("cannot read {}: {}", path, std::strerror(errno)));
    }
    s << in.rdbuf();
    return s.str();
}

std::string join(std::string_view path, std::string_view key) {
    return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

std::string index(std::string_view path, size_t i) {
    return fmt::format("{}[{}]", path, i);
}

error_info bad(const node& n, std::string_view path, std::string_view reason) {
    std::string r(reason);
    // A key that is absent is an invalid node, which has no mark (and
    // throws when asked for one).
    const YAML::Mark m = n.IsDefined() ? n.Mark() : YAML::Mark::null_mark();
    if (m.line >= 0) {
        r += fmt::format(" (line {})", m.line + 1);
    }
    return error_info::for_field(std::make_error_code(std::errc::invalid_argument), path, r);
}

result<void> check_map(const node& n, std::string_view path,
                       std::initializer_list<std::string_view> known) {
    if (!n.IsDefined() || n.IsNull()) {
        return ok();
    }
    if (!n.IsMap()) {
        return bad(n, path, "expected a map");
    }
    std::set<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
        if (!it->first.IsScalar()) {
            return bad(it->first, path, "keys must be names");
        }
        const std::string key = it->first.Scalar();
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            return bad(it->first, join(path, key), "unknown key");
        }
        if (!seen.insert(key).second) {
            return bad(it->first, join(path, key), "duplicate key");
        }
    }
    return ok();
}

result<std::string> read_string(const node& n, std::string_view path) {
    if (!n.IsDefined() || n.IsNull()) {
        return std::string();
    }
    if (!n.IsScalar()) {
        return bad(n, path, "expected a string");
    }
    return n.Scalar();
}

result<bool> read_bool(const node& n, std::string_view path) {
    if (!n.IsDefined() || n.IsNull()) {
        return false;
    }
    if (n.IsScalar()) {
        std::string v = n.Scalar();
        std::transform(v.begin(), v.end(), v.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (v == "true") {
            return true;
        }
        if (v == "false") {
            return false;
        }
    }
    return bad(n, path, "expected true or false");
}

result<int64_t> read_int(const node& n, std::string_view path, int64_t max) {
    if (!n.IsDefined() || n.IsNull()) {
        return int64_t{0};
    }
    if (!n.IsScalar()) {
        return bad(n, path, "expected a whole number");
    }
    const std::string& s = n.Scalar();
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) {
        return bad(n, path, fmt::format("\"{}\" is not a whole number", s));
    }
    if (v > max || v < -max) {
        return bad(n, path, fmt::format("{} is out of range (at most {})", v, max));
    }
    return v;
}

result<int32_t> read_int32(const node& n, std::string_view path) {
    auto v = read_int(n, path, std::numeric_limits<int32_t>::max());
    if (!v) {
        return v.error();
    }
    return static_cast<int32_t>(*v);
}

result<void> read_string_list(const node& n, std::string_view path,
                              google::protobuf::RepeatedPtrField<std::string>* out) {
    return read_list(n, path, [&](const node& item, const std::string& p) -> result<void> {
        if (!item.IsScalar()) {
            return bad(item, p, "expected a string");
        }
        out->Add(std::string(item.Scalar()));
        return ok();
    });
}

result<node> load(std::string_view text) {
    try {
        return YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          fmt::format("not valid YAML: {} (line {})", e.msg, e.mark.line + 1));
    }
}

}  // namespace fjord::cli::yaml
