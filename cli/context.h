#pragma once
// File: cli/context.h
//
// What every command shares for one run: the global flags as parsed, the
// resolved settings and output format, the controller client (created on
// first use), and the exit code the command settles on. One per process,
// owned by main.

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/client/controller_client.h"
#include "cli/exit_codes.h"
#include "cli/output/printer.h"
#include "cli/settings.h"

namespace fjord::cli {

class cli_context {
  public:
    // Global flags, bound by main.
    std::vector<std::string> x_options;
    std::string format_flag = "text";
    bool verbose = false;

    /// Resolves settings and format; on failure prints the error and sets
    /// the usage exit code. Call first in every command callback.
    bool prepare();

    output_format format() const { return _format; }
    const settings& cfg() const { return _settings; }
    controller_client& client();

    /// Prints "fjord: <msg>" to stderr and records `code`.
    void fail(exit_code code, const std::string& msg);
    void set_code(exit_code c) {
        if (static_cast<int>(c) > static_cast<int>(_code)) {
            _code = c;
        }
    }
    exit_code code() const { return _code; }

  private:
    settings _settings;
    output_format _format = output_format::text;
    std::unique_ptr<controller_client> _client;
    exit_code _code = exit_code::ok;
};

}  // namespace fjord::cli
