// fastnet — logging controls. fastnet logs through spdlog under the logger
// name "fastnet"; it is quiet by default (warnings and errors only).
#pragma once

#include <optional>
#include <string_view>

namespace fastnet {

/// How much fastnet's logger writes: a level's messages and those of the
/// levels after it (more severe). Quiet by default: `warn`.
enum class log_level {
  trace,  ///< everything
  debug,  ///< also what happens to single connections (timeouts, socket errors, connect attempts)
  info,   ///< also what a server listens on, and frame timeouts
  warn,   ///< warnings and errors (the default)
  error,  ///< errors only
  off     ///< nothing
};

/// Sets the level of fastnet's logger. Any thread.
void set_log_level(log_level level);

/// Parses "trace", "debug", "info", "warn" (or "warning"), "error" or
/// "off"; nullopt for anything else. Any thread.
std::optional<log_level> parse_log_level(std::string_view name);

}  // namespace fastnet
