#include "fastnet/actors/scheduler.hpp"

#include <thread>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

namespace fastnet::actors {

void apply(caf::actor_system_config& cfg, const scheduler_options& opts) {
  size_t workers =
      opts.workers != 0 ? opts.workers : std::max(1u, std::thread::hardware_concurrency());
  cfg.set("scheduler.policy", opts.kind == scheduler_options::policy::sharing
                                  ? caf::atom("sharing")
                                  : caf::atom("stealing"));
  cfg.set("scheduler.max-threads", workers);
  cfg.set("scheduler.max-throughput", opts.max_throughput);
}

}  // namespace fastnet::actors
