#include "fastnet/actors/scheduler.hpp"

#include <thread>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/policy/work_sharing.hpp>
#include <caf/policy/work_stealing.hpp>

#include "caf_internals.hpp"

namespace fastnet::actors {
void apply(caf::actor_system_config& cfg, const scheduler_options& opts) {
  size_t workers =
      opts.workers != 0 ? opts.workers : std::max(1u, std::thread::hardware_concurrency());
  const bool sharing = opts.kind == scheduler_options::policy::sharing;
  cfg.set("scheduler.policy", sharing ? caf::atom("sharing") : caf::atom("stealing"));
  cfg.set("scheduler.max-threads", workers);
  cfg.set("scheduler.max-throughput", opts.max_throughput);
  // A loaded scheduler module replaces the one CAF would make from
  // scheduler.policy (which stays set, for anyone reading the config).
  if (sharing) {
    cfg.load<detail::coordinator<caf::policy::work_sharing>>();
  } else {
    cfg.load<detail::coordinator<caf::policy::work_stealing>>();
  }
}

}  // namespace fastnet::actors
