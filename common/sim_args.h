#pragma once
// File: common/sim_args.h
//
// The command line both deterministic simulations share (raft_sim,
// broker_log_sim): which seeds to run, and a walk over the rest of argv for
// their own flags.
//
//   --seeds N [--first S]   N seeds from S (default 1)
//   --seed S                one seed, replayed exactly (--verbose allowed)
//
//   fjord::sim_args args(argc, argv);
//   while (args.next()) {
//       if (auto e = args.seed_flag(); e) { if (!e->empty()) return usage(*e); continue; }
//       if (args.flag() == "--verbose") ...
//   }
//   if (auto e = args.finish(); !e.empty()) return usage(e);

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fjord {

class sim_args {
  public:
    sim_args(int argc, char** argv) : _argc(argc), _argv(argv) {}

    /// Moves to the next argument; false after the last.
    bool next() { return ++_i < _argc; }
    /// The current argument.
    std::string_view flag() const { return _argv[_i]; }

    /// Consumes the argument after the current one as a decimal integer of at
    /// most 18 digits (no sign, no overflow); false, consuming nothing, if it
    /// is missing or not one.
    bool value(uint64_t& out) {
        if (_i + 1 >= _argc) {
            return false;
        }
        const std::string_view s = _argv[_i + 1];
        if (s.empty() || s.size() > 18) {
            return false;
        }
        uint64_t v = 0;
        for (const char c : s) {
            if (c < '0' || c > '9') {
                return false;
            }
            v = v * 10 + static_cast<uint64_t>(c - '0');
        }
        out = v;
        ++_i;
        return true;
    }

    /// Handles the current argument if it is a seed flag: nullopt if it is
    /// not one, "" if it was handled, else what is wrong with its value.
    std::optional<std::string> seed_flag() {
        const std::string_view a = flag();
        if (a == "--seeds") {
            if (!value(seeds) || seeds == 0) {
                return "--seeds needs a positive integer";
            }
        } else if (a == "--first") {
            if (!value(first)) {
                return "--first needs an integer";
            }
        } else if (a == "--seed") {
            if (!value(first)) {
                return "--seed needs an integer";
            }
            single = true;
        } else {
            return std::nullopt;
        }
        return std::string();
    }

    /// After the walk: "" when the seeds are given (--seed makes `seeds` 1),
    /// else what is missing.
    std::string finish() {
        if (single) {
            seeds = 1;
        } else if (seeds == 0) {
            return "give --seeds N or --seed S";
        }
        return {};
    }

    uint64_t seeds = 0;   ///< how many seeds to run
    uint64_t first = 1;   ///< the first seed
    bool single = false;  ///< --seed: one seed, replayed

  private:
    int _argc;
    char** _argv;
    int _i = 0;
};

}  // namespace fjord
