#pragma once
// --config FILE.toml for a subcommand: every key is one of its flags without
// the dashes, typed as TOML (`port = 8080`, `host = "0.0.0.0"`, `kv-host-q8 =
// true`, `kv-host-bytes = "4GB"`); flags given on the command line win.
//
// toml++ reads the file rather than CLI11's own config support: CLI11 2.1
// (Debian 12) parses a TOML subset without line numbers in its errors, and
// reports keys it does not know only as a generic "extras" failure.
#include <CLI/CLI.hpp>

#include <string>

#include "util/expected.h"

namespace ig::app {

// Applies the file's keys to `sub`'s options that the command line left
// unset. Errors name the file, the line and the key: unknown keys, values of
// the wrong TOML type (a flag takes true/false; other options a string or a
// number) and values the flag itself refuses.
Status apply_config(CLI::App& sub, const std::string& path);

}  // namespace ig::app
