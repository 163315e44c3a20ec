// fastnet — logging controls. fastnet logs through spdlog under the logger
// name "fastnet"; it is quiet by default (warnings and errors only).
#pragma once

#include <optional>
#include <string_view>

namespace fastnet {

enum class log_level { trace, debug, info, warn, error, off };

/// Sets the level of fastnet's logger. Any thread.
void set_log_level(log_level level);

/// Parses "trace", "debug", "info", "warn", "error" or "off".
std::optional<log_level> parse_log_level(std::string_view name);

}  // namespace fastnet
