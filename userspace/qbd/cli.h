// Command-line parsing of `qbd`: one option group with the commands (exactly
// one of -m, -u, -l, -i, -v) and the modifiers each command accepts.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "options.h"
#include "result.h"

namespace qbd::cli {

// Declares every option of `qbd` on @app, storing into @opts.
void setup_cli(CLI::App &app, Options &opts);

// Checks what CLI11 cannot express (which modifiers go with which command).
// Called after app.parse(); the message names the option and the rule.
Status check_options(const Options &opts);

// Parses @args (without argv[0]) as `qbd` would: a help request comes back
// as an error with code 0 and the help text as message; a usage error as
// EINVAL with a one-line message. Used by main() and by the tests.
Result<Options> parse_args(const std::vector<std::string> &args);

}  // namespace qbd::cli
