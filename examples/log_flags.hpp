// The --log-level flag of the examples: fastnet's own log (spdlog), warn
// unless told otherwise.
#pragma once

#include <fastnet/log.hpp>

#include <CLI/CLI.hpp>
#include <string>

/// Adds --log-level trace|debug|info|warn|error|off to `app` (default warn,
/// fastnet's own); the flag sets the level while the command line is parsed,
/// and an unknown name is a usage error (CLI11's message and exit code).
inline void add_log_level_flag(CLI::App& app) {
  app.add_option_function<std::string>(
         "--log-level",
         [](const std::string& name) {
           auto level = fastnet::parse_log_level(name);
           if (!level) throw CLI::ValidationError("--log-level", "unknown level: " + name);
           fastnet::set_log_level(*level);
         },
         "trace|debug|info|warn|error|off")
      ->default_str("warn");
}
