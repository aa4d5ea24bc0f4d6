#pragma once
// File: tests/support/datadriven.h
//
// A small runner for data-driven tests (after cockroachdb/datadriven, as used
// by etcd-io/raft). A test file is a sequence of blocks:
//
//     # comment lines (and blank lines) between blocks are kept verbatim
//     command pos1 key=val key=(a,b,c) (x,y)
//     optional input lines, until the separator
//     ----
//     expected output, one or more lines,
//     ended by a blank line or the end of the file
//
// Exactly one command line per block. The expected output can never contain a
// blank line (that would end the block), so the runner rejects handler output
// with blank lines as a bug in the handler.
//
// Contract of run_datadriven_file: for each block in file order, call the
// handler and compare its output (trailing whitespace of each line ignored,
// trailing newlines ignored) with the expected output. A mismatch is a
// GoogleTest failure at file:line of the command, showing both outputs; later
// blocks still run. Bad test input (an unknown command, a missing or
// malformed argument) is reported the same way: handlers and the typed getters
// below throw `datadriven_error`, which the runner catches and turns into a
// failure naming the line.
//
// With REWRITE=1 in the environment the runner instead writes the file back
// with every block's expected output replaced by the actual output; comments,
// commands, input lines and spacing are preserved byte for byte.

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fjord::datadriven {

/// Bad test input or a misbehaving handler. The runner reports the message
/// as a failure at the block's file:line; the test keeps running.
class datadriven_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// One argument of a command line. `key` is empty for positional arguments.
/// `vals` holds one value for `key=v` or a bare `v`, and the elements of a
/// parenthesised list `(a,b)` (possibly none, for `()`).
struct test_arg {
    std::string key;
    std::vector<std::string> vals;
    bool is_list = false;
};

/// A parsed block: the command line, its input lines and where it came from.
struct test_command {
    std::string file;
    int line = 0;  ///< 1-based line of the command in `file`
    std::string name;
    std::vector<test_arg> args;
    std::vector<std::string> input;  ///< lines between the command and "----"

    /// "file:line: " for messages.
    std::string pos() const;

    // --- positional arguments (key empty), in order ---
    size_t positional_count() const;
    const test_arg& positional(size_t i) const;
    std::string pos_string(size_t i) const;
    uint64_t pos_uint(size_t i) const;
    /// The positional argument as a list; a bare value is a list of one.
    std::vector<std::string> pos_list(size_t i) const;
    std::vector<uint64_t> pos_uint_list(size_t i) const;

    // --- key=value arguments ---
    bool has(const std::string& key) const;
    std::string get_string(const std::string& key) const;
    std::string get_string(const std::string& key, const std::string& def) const;
    uint64_t get_uint(const std::string& key) const;
    uint64_t get_uint(const std::string& key, uint64_t def) const;
    bool get_bool(const std::string& key, bool def) const;
    /// `key=(a,b)` or `key=a` (a list of one); absent keys give an empty list.
    std::vector<std::string> get_list(const std::string& key) const;
    std::vector<uint64_t> get_uint_list(const std::string& key) const;

    /// Fails the block when an argument is present whose key is not in
    /// `allowed` (catches typos such as `votes=` for `voters=`).
    void expect_keys(const std::vector<std::string>& allowed) const;
    /// Throws datadriven_error("file:line: <name>: <msg>").
    [[noreturn]] void fail(const std::string& msg) const;

  private:
    const test_arg* find(const std::string& key) const;
    uint64_t parse_uint(const std::string& what, const std::string& s) const;
};

/// Parses one command line ("name a k=v k=(x,y)"). Throws datadriven_error on
/// unbalanced parentheses or an empty line.
test_command parse_command_line(const std::string& text, const std::string& file, int line);

using handler_fn = std::function<std::string(const test_command&)>;

/// Runs every block of `path` through `handler` (see the file comment).
void run_datadriven_file(const std::string& path, const handler_fn& handler);

/// The files in `dir` (non-recursive) whose names end in `suffix`, sorted.
std::vector<std::string> list_files(const std::string& dir, const std::string& suffix);

}  // namespace fjord::datadriven
