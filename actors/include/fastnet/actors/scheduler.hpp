// fastnet::actors — CAF scheduler settings that suit a reactor on a small machine.
#pragma once

#include <cstddef>

namespace caf {
class actor_system_config;
}

namespace fastnet::actors {

/// How CAF schedules actors. fastnet's defaults: work sharing with one
/// worker per core. On this 2-core class of machine CAF's own default
/// (work stealing, 4 workers) sleeps and polls between sparse messages and
/// added 80–130 µs median latency; work sharing measured p50 ≈ 12 µs.
/// Measure with bench/ before changing them.
struct scheduler_options {
  /// CAF's scheduling policies.
  enum class policy {
    sharing,  ///< work sharing: one queue that every worker takes from
    stealing  ///< work stealing: a queue per worker; idle workers poll and steal
  };
  /// The policy; sharing by default (see above).
  policy kind = policy::sharing;
  /// CAF worker threads; 0 = one per core.
  size_t workers = 0;
  /// Messages an actor may handle before yielding its worker (CAF max-throughput).
  size_t max_throughput = 300;
};

/// Applies `opts` to a CAF configuration (before the actor_system is built).
/// Also routes CAF's own diagnostics through fastnet's logger. Any thread.
void apply(caf::actor_system_config& cfg, const scheduler_options& opts = {});

}  // namespace fastnet::actors
