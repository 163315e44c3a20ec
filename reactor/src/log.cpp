#include "log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include "fastnet/log.hpp"

namespace fastnet {
namespace detail {

spdlog::logger& log() {
  // A function-local static: created once, thread-safely, on first use. A
  // user-registered logger named "fastnet" takes precedence.
  static const std::shared_ptr<spdlog::logger> logger = [] {
    if (auto existing = spdlog::get("fastnet")) return existing;
    auto l = spdlog::stderr_color_mt("fastnet");
    l->set_level(spdlog::level::warn);
    return l;
  }();
  return *logger;
}

}  // namespace detail

void set_log_level(log_level level) {
  static constexpr spdlog::level::level_enum map[] = {spdlog::level::trace, spdlog::level::debug,
                                                      spdlog::level::info,  spdlog::level::warn,
                                                      spdlog::level::err,   spdlog::level::off};
  detail::log().set_level(map[static_cast<int>(level)]);
}

std::optional<log_level> parse_log_level(std::string_view name) {
  if (name == "trace") return log_level::trace;
  if (name == "debug") return log_level::debug;
  if (name == "info") return log_level::info;
  if (name == "warn" || name == "warning") return log_level::warn;
  if (name == "error") return log_level::error;
  if (name == "off") return log_level::off;
  return std::nullopt;
}

}  // namespace fastnet
