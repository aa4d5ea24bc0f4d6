// File: common/security/principal_mapping.cc
//
// The rule parser (a hand-written scanner, so that escaped slashes and the
// commas inside patterns need no second regex) and the mapping itself.

#include "common/security/principal_mapping.h"

#include <algorithm>
#include <cctype>
#include <regex>

#include <fmt/format.h>

#include "common/cluster/errc.h"

namespace fjord::security {

using cluster::errc;

struct principal_mapper::rule {
    bool is_default = false;
    std::string pattern_text;
    std::regex pattern;
    std::string replacement;
    char casing = 0;  ///< 0, 'L' or 'U'
};

namespace {

constexpr const char* field = "principal_mapping_rules";

error_info bad(size_t pos, std::string_view why) {
    return error_info::for_field(errc::invalid_argument, field,
                                 fmt::format("at character {}: {}", pos + 1, why));
}

/// Reads up to the next unescaped '/' from `s` at `i`; "\/" becomes '/', any
/// other backslash is kept (it belongs to the regex or the replacement).
result<std::string> until_slash(std::string_view s, size_t& i, std::string_view what) {
    std::string out;
    const size_t start = i;
    while (i < s.size()) {
        if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == '/') {
            out += '/';
            i += 2;
        } else if (s[i] == '/') {
            ++i;
            return out;
        } else {
            out += s[i++];
        }
    }
    return bad(start, fmt::format("the {} has no closing '/'", what));
}

void skip_spaces(std::string_view s, size_t& i) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) {
        ++i;
    }
}

}  // namespace

result<principal_mapper> principal_mapper::parse(std::string_view rules) {
    principal_mapper m;
    size_t i = 0;
    skip_spaces(rules, i);
    if (i == rules.size()) {
        auto r = std::make_shared<rule>();
        r->is_default = true;
        m._rules.push_back(std::move(r));
        return m;
    }
    while (i < rules.size()) {
        skip_spaces(rules, i);
        const size_t at = i;
        auto r = std::make_shared<rule>();
        if (rules.substr(i, 7) == "DEFAULT") {
            r->is_default = true;
            i += 7;
        } else if (rules.substr(i, 5) == "RULE:") {
            i += 5;
            auto pattern = until_slash(rules, i, "pattern");
            if (!pattern) {
                return pattern.error();
            }
            if (pattern->empty()) {
                return bad(at, "the pattern is empty");
            }
            auto replacement = until_slash(rules, i, "replacement");
            if (!replacement) {
                return replacement.error();
            }
            if (i < rules.size() && (rules[i] == 'L' || rules[i] == 'U')) {
                r->casing = rules[i++];
            }
            try {
                r->pattern = std::regex(*pattern, std::regex::ECMAScript);
            } catch (const std::regex_error& e) {
                return bad(at, fmt::format("the pattern \"{}\" is not a valid regex ({})", *pattern,
                                           e.what()));
            }
            r->pattern_text = std::move(*pattern);
            r->replacement = std::move(*replacement);
        } else {
            return bad(at, "expected DEFAULT or RULE:<pattern>/<replacement>/[L|U]");
        }
        m._rules.push_back(std::move(r));
        skip_spaces(rules, i);
        if (i < rules.size()) {
            if (rules[i] != ',') {
                return bad(i, "expected ',' between rules");
            }
            ++i;
            skip_spaces(rules, i);
            if (i == rules.size()) {
                return bad(i - 1, "a ',' with no rule after it");
            }
        }
    }
    return m;
}

result<std::string> principal_mapper::map(std::string_view dn) const {
    const std::string subject(dn);
    for (const auto& r : _rules) {
        if (r->is_default) {
            if (subject.empty()) {
                break;
            }
            return subject;
        }
        std::smatch match;
        if (!std::regex_match(subject, match, r->pattern)) {
            continue;
        }
        std::string out = match.format(r->replacement);
        if (r->casing == 'L') {
            std::transform(out.begin(), out.end(), out.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        } else if (r->casing == 'U') {
            std::transform(out.begin(), out.end(), out.begin(),
                           [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        }
        if (out.empty()) {
            return error_info::for_field(
                errc::invalid_argument, "dn",
                fmt::format("the rule for \"{}\" maps \"{}\" to an empty name", r->pattern_text,
                            dn));
        }
        return out;
    }
    return error_info::for_field(errc::invalid_argument, "dn",
                                 fmt::format("no rule applies to \"{}\"", dn));
}

std::vector<std::string> principal_mapper::describe() const {
    std::vector<std::string> out;
    for (const auto& r : _rules) {
        if (r->is_default) {
            out.emplace_back("DEFAULT");
        } else {
            out.push_back(fmt::format("RULE:{}/{}/{}", r->pattern_text, r->replacement,
                                      r->casing == 0 ? std::string() : std::string(1, r->casing)));
        }
    }
    return out;
}

}  // namespace fjord::security
