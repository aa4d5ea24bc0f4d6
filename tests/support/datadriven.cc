// File: tests/support/datadriven.cc
//
// Parsing, comparison and rewriting for tests/support/datadriven.h. The file
// is read whole, split into lines, and each block remembers the line range of
// its expected output so a rewrite replaces exactly those lines and nothing
// else.

#include "tests/support/datadriven.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace fjord::datadriven {
namespace {

constexpr const char* separator = "----";

bool is_blank(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t'; });
}

std::string rstrip(std::string s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.pop_back();
    }
    return s;
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : text) {
        if (c == '\n') {
            out.push_back(std::move(cur));
            cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    if (!cur.empty()) {
        out.push_back(std::move(cur));
    }
    return out;
}

std::string join_lines(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) {
        out += l;
        out += '\n';
    }
    return out;
}

// Splits a command line into tokens at whitespace outside parentheses and
// double quotes. Quotes are removed; parentheses are kept for parse_arg.
std::vector<std::string> tokenize(const std::string& text, const std::string& where) {
    std::vector<std::string> toks;
    std::string cur;
    bool in_token = false;
    bool in_quote = false;
    int depth = 0;
    for (char c : text) {
        if (in_quote) {
            if (c == '"') {
                in_quote = false;
            } else {
                cur.push_back(c);
            }
            continue;
        }
        if (c == '"') {
            in_quote = true;
            in_token = true;
            continue;
        }
        if ((c == ' ' || c == '\t') && depth == 0) {
            if (in_token) {
                toks.push_back(std::move(cur));
                cur.clear();
                in_token = false;
            }
            continue;
        }
        if (c == '(') {
            ++depth;
        } else if (c == ')') {
            if (--depth < 0) {
                throw datadriven_error(where + "unbalanced ')' in: " + text);
            }
        }
        if (depth > 0 && (c == ' ' || c == '\t')) {
            continue;  // "(1, 2)" reads as "(1,2)"
        }
        cur.push_back(c);
        in_token = true;
    }
    if (in_quote) {
        throw datadriven_error(where + "unterminated '\"' in: " + text);
    }
    if (depth != 0) {
        throw datadriven_error(where + "unbalanced '(' in: " + text);
    }
    if (in_token) {
        toks.push_back(std::move(cur));
    }
    return toks;
}

// A value: "(a,b,c)" is a list, anything else a single value.
void parse_value(const std::string& v, test_arg& arg) {
    if (v.size() >= 2 && v.front() == '(' && v.back() == ')') {
        arg.is_list = true;
        const std::string inner = v.substr(1, v.size() - 2);
        if (inner.empty()) {
            return;
        }
        std::string cur;
        for (char c : inner) {
            if (c == ',') {
                arg.vals.push_back(std::move(cur));
                cur.clear();
            } else {
                cur.push_back(c);
            }
        }
        arg.vals.push_back(std::move(cur));
        return;
    }
    arg.vals.push_back(v);
}

test_arg parse_arg(const std::string& tok) {
    test_arg arg;
    const auto eq = tok.find('=');
    const auto paren = tok.find('(');
    if (eq != std::string::npos && eq > 0 && (paren == std::string::npos || eq < paren)) {
        arg.key = tok.substr(0, eq);
        parse_value(tok.substr(eq + 1), arg);
    } else {
        parse_value(tok, arg);
    }
    return arg;
}

struct block {
    test_command cmd;
    size_t expected_begin = 0;  // line range [begin, end) of the expected output
    size_t expected_end = 0;
};

std::string indent_block(const std::vector<std::string>& lines) {
    if (lines.empty()) {
        return "    <empty>\n";
    }
    std::string out;
    for (const auto& l : lines) {
        out += "    " + l + "\n";
    }
    return out;
}

// A line diff of expected against actual (longest common subsequence):
// "- " only expected, "+ " only actual, "  " both. Blocks are at most a few
// hundred lines, so the quadratic table is fine.
std::string line_diff(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    const size_t n = a.size();
    const size_t m = b.size();
    std::vector<std::vector<size_t>> lcs(n + 1, std::vector<size_t>(m + 1, 0));
    for (size_t i = n; i-- > 0;) {
        for (size_t j = m; j-- > 0;) {
            lcs[i][j] =
                a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
        }
    }
    std::string out;
    size_t i = 0;
    size_t j = 0;
    while (i < n || j < m) {
        if (i < n && j < m && a[i] == b[j]) {
            out += "      " + a[i] + "\n";
            ++i;
            ++j;
        } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
            out += "    - " + a[i] + "\n";
            ++i;
        } else {
            out += "    + " + b[j] + "\n";
            ++j;
        }
    }
    return out;
}

}  // namespace

// ---------------------------------------------------------------- test_command

std::string test_command::pos() const {
    return fmt::format("{}:{}: ", file, line);
}

void test_command::fail(const std::string& msg) const {
    throw datadriven_error(pos() + name + ": " + msg);
}

const test_arg* test_command::find(const std::string& key) const {
    for (const auto& a : args) {
        if (!a.key.empty() && a.key == key) {
            return &a;
        }
    }
    return nullptr;
}

uint64_t test_command::parse_uint(const std::string& what, const std::string& s) const {
    if (s.empty() ||
        !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        fail(fmt::format("{}: expected an unsigned integer, got '{}'", what, s));
    }
    errno = 0;
    const unsigned long long v = std::strtoull(s.c_str(), nullptr, 10);
    if (errno != 0) {
        fail(fmt::format("{}: '{}' out of range", what, s));
    }
    return v;
}

size_t test_command::positional_count() const {
    return static_cast<size_t>(
        std::count_if(args.begin(), args.end(), [](const test_arg& a) { return a.key.empty(); }));
}

const test_arg& test_command::positional(size_t i) const {
    size_t n = 0;
    for (const auto& a : args) {
        if (!a.key.empty()) {
            continue;
        }
        if (n == i) {
            return a;
        }
        ++n;
    }
    fail(fmt::format("missing positional argument #{}", i + 1));
}

std::string test_command::pos_string(size_t i) const {
    const test_arg& a = positional(i);
    if (a.is_list || a.vals.size() != 1) {
        fail(fmt::format("positional argument #{}: expected a single value", i + 1));
    }
    return a.vals.front();
}

uint64_t test_command::pos_uint(size_t i) const {
    return parse_uint(fmt::format("positional argument #{}", i + 1), pos_string(i));
}

std::vector<std::string> test_command::pos_list(size_t i) const {
    return positional(i).vals;
}

std::vector<uint64_t> test_command::pos_uint_list(size_t i) const {
    std::vector<uint64_t> out;
    for (const auto& v : pos_list(i)) {
        out.push_back(parse_uint(fmt::format("positional argument #{}", i + 1), v));
    }
    return out;
}

bool test_command::has(const std::string& key) const {
    return find(key) != nullptr;
}

std::string test_command::get_string(const std::string& key) const {
    const test_arg* a = find(key);
    if (a == nullptr) {
        fail(fmt::format("missing argument {}=", key));
    }
    if (a->is_list || a->vals.size() != 1) {
        fail(fmt::format("{}: expected a single value", key));
    }
    return a->vals.front();
}

std::string test_command::get_string(const std::string& key, const std::string& def) const {
    return has(key) ? get_string(key) : def;
}

uint64_t test_command::get_uint(const std::string& key) const {
    return parse_uint(key, get_string(key));
}

uint64_t test_command::get_uint(const std::string& key, uint64_t def) const {
    return has(key) ? get_uint(key) : def;
}

bool test_command::get_bool(const std::string& key, bool def) const {
    if (!has(key)) {
        return def;
    }
    const std::string v = get_string(key);
    if (v == "true") {
        return true;
    }
    if (v == "false") {
        return false;
    }
    fail(fmt::format("{}: expected true or false, got '{}'", key, v));
}

std::vector<std::string> test_command::get_list(const std::string& key) const {
    const test_arg* a = find(key);
    return a == nullptr ? std::vector<std::string>{} : a->vals;
}

std::vector<uint64_t> test_command::get_uint_list(const std::string& key) const {
    std::vector<uint64_t> out;
    for (const auto& v : get_list(key)) {
        out.push_back(parse_uint(key, v));
    }
    return out;
}

void test_command::expect_keys(const std::vector<std::string>& allowed) const {
    for (const auto& a : args) {
        if (!a.key.empty() && std::find(allowed.begin(), allowed.end(), a.key) == allowed.end()) {
            fail(fmt::format("unknown argument {}=", a.key));
        }
    }
}

test_command parse_command_line(const std::string& text, const std::string& file, int line) {
    const std::string where = fmt::format("{}:{}: ", file, line);
    std::vector<std::string> toks = tokenize(text, where);
    if (toks.empty()) {
        throw datadriven_error(where + "empty command line");
    }
    test_command cmd;
    cmd.file = file;
    cmd.line = line;
    cmd.name = toks.front();
    for (size_t i = 1; i < toks.size(); ++i) {
        cmd.args.push_back(parse_arg(toks[i]));
    }
    return cmd;
}

// ---------------------------------------------------------------- runner

void run_datadriven_file(const std::string& path, const handler_fn& handler) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        ADD_FAILURE() << "cannot open datadriven file " << path;
        return;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::vector<std::string> lines = split_lines(ss.str());

    // Parse the whole file first, so a malformed file fails before any
    // handler runs.
    std::vector<block> blocks;
    size_t i = 0;
    while (i < lines.size()) {
        if (is_blank(lines[i]) || lines[i].front() == '#') {
            ++i;
            continue;
        }
        block b;
        const int cmd_line = static_cast<int>(i) + 1;
        try {
            b.cmd = parse_command_line(lines[i], path, cmd_line);
        } catch (const datadriven_error& e) {
            ADD_FAILURE_AT(path.c_str(), cmd_line) << e.what();
            return;
        }
        ++i;
        while (i < lines.size() && rstrip(lines[i]) != separator) {
            if (is_blank(lines[i])) {
                ADD_FAILURE_AT(path.c_str(), cmd_line)
                    << path << ":" << cmd_line << ": block has no '----' separator";
                return;
            }
            b.cmd.input.push_back(lines[i]);
            ++i;
        }
        if (i == lines.size()) {
            ADD_FAILURE_AT(path.c_str(), cmd_line)
                << path << ":" << cmd_line << ": block has no '----' separator";
            return;
        }
        ++i;  // the separator
        b.expected_begin = i;
        while (i < lines.size() && !is_blank(lines[i])) {
            ++i;
        }
        b.expected_end = i;
        blocks.push_back(std::move(b));
    }

    const char* rewrite_env = std::getenv("REWRITE");
    const bool rewrite = rewrite_env != nullptr && std::string(rewrite_env) == "1";
    std::vector<std::vector<std::string>> actuals;

    for (const block& b : blocks) {
        std::vector<std::string> expected;
        for (size_t k = b.expected_begin; k < b.expected_end; ++k) {
            expected.push_back(rstrip(lines[k]));
        }
        const std::string cmd_text = lines[static_cast<size_t>(b.cmd.line - 1)];
        std::vector<std::string> actual;
        try {
            for (std::string& l : split_lines(handler(b.cmd))) {
                actual.push_back(rstrip(std::move(l)));
            }
        } catch (const std::exception& e) {
            ADD_FAILURE_AT(path.c_str(), b.cmd.line) << e.what();
            // A rewrite leaves this block's expected output alone.
            actuals.emplace_back(lines.begin() + static_cast<std::ptrdiff_t>(b.expected_begin),
                                 lines.begin() + static_cast<std::ptrdiff_t>(b.expected_end));
            continue;
        }
        while (!actual.empty() && actual.back().empty()) {
            actual.pop_back();
        }
        const bool has_blank = std::any_of(actual.begin(), actual.end(),
                                           [](const std::string& l) { return l.empty(); });
        if (has_blank) {
            ADD_FAILURE_AT(path.c_str(), b.cmd.line)
                << path << ":" << b.cmd.line << ": " << cmd_text
                << "\nhandler output contains a blank line (it would end the block):\n"
                << indent_block(actual);
            std::erase_if(actual, [](const std::string& l) { return l.empty(); });
        }
        if (!rewrite && actual != expected) {
            size_t first_diff = 0;
            while (first_diff < actual.size() && first_diff < expected.size() &&
                   actual[first_diff] == expected[first_diff]) {
                ++first_diff;
            }
            ADD_FAILURE_AT(path.c_str(), b.cmd.line)
                << path << ":" << b.cmd.line << ": " << cmd_text
                << "\noutput differs from the expected output first at " << path << ":"
                << b.expected_begin + first_diff + 1
                << " (- expected, + actual; REWRITE=1 rewrites the file):\n"
                << line_diff(expected, actual);
        }
        actuals.push_back(std::move(actual));
    }

    if (!rewrite) {
        return;
    }
    std::vector<std::string> out;
    size_t next = 0;
    for (size_t k = 0; k < blocks.size(); ++k) {
        out.insert(out.end(), lines.begin() + static_cast<std::ptrdiff_t>(next),
                   lines.begin() + static_cast<std::ptrdiff_t>(blocks[k].expected_begin));
        out.insert(out.end(), actuals[k].begin(), actuals[k].end());
        next = blocks[k].expected_end;
    }
    out.insert(out.end(), lines.begin() + static_cast<std::ptrdiff_t>(next), lines.end());
    std::ofstream o(path, std::ios::binary | std::ios::trunc);
    o << join_lines(out);
    if (!o) {
        ADD_FAILURE() << "cannot rewrite " << path;
    }
}

std::vector<std::string> list_files(const std::string& dir, const std::string& suffix) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        const std::string p = e.path().string();
        if (e.is_regular_file() && p.size() >= suffix.size() &&
            p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0) {
            out.push_back(p);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace fjord::datadriven
