// fastnet — the library's internal logger (spdlog stays out of public headers
// so users do not pay its compile time).
#pragma once

#include <spdlog/spdlog.h>

namespace fastnet::detail {

/// The "fastnet" spdlog logger, created on first use at level warn. Any thread.
spdlog::logger& log();

}  // namespace fastnet::detail
