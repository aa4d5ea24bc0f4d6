// File: common/cluster/topic_name.cc
//
// The topic-name rule (topic_name.h).

#include "common/cluster/topic_name.h"

#include <cctype>

#include <fmt/format.h>

#include "common/cluster/errc.h"

namespace fjord::cluster {
namespace {

bool topic_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
}

std::string show_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
        return fmt::format("\\x{:02x}", u);
    }
    return fmt::format("'{}'", c);
}

}  // namespace

std::string quoted(std::string_view s) {
    if (s.size() > 60) {
        return fmt::format("\"{}...\"", s.substr(0, 57));
    }
    return fmt::format("\"{}\"", s);
}

result<void> validate_topic_name(std::string_view name) {
    if (name.empty()) {
        return error_info::for_field(errc::invalid_argument, "name", "must not be empty");
    }
    if (name.size() > max_topic_name_length) {
        return error_info::for_field(errc::invalid_argument, "name",
                                     fmt::format("{} characters is more than the limit of {}",
                                                 name.size(), max_topic_name_length));
    }
    if (name == "." || name == "..") {
        return error_info::for_field(errc::invalid_argument, "name",
                                     fmt::format("\"{}\" is not allowed", name));
    }
    for (size_t i = 0; i < name.size(); ++i) {
        if (!topic_char(name[i])) {
            return error_info::for_field(
                errc::invalid_argument, "name",
                fmt::format("{}: character {} at position {} is not allowed (use "
                            "a-z, A-Z, 0-9, '.', '_' and '-')",
                            quoted(name), show_char(name[i]), i));
        }
    }
    return ok();
}

}  // namespace fjord::cluster
