#include "fastnet/actors/scheduler.hpp"

#include <thread>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/policy/work_sharing.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>

#include "timeout_clock.hpp"

namespace fastnet::actors {
namespace {

/// CAF's coordinator with its clock wrapped in a timeout_clock.
template <class Policy>
class coordinator final : public caf::scheduler::coordinator<Policy> {
 public:
  using super = caf::scheduler::coordinator<Policy>;

  explicit coordinator(caf::actor_system& sys) : super(sys), clock_(super::clock()) {}

  /// CAF's module factory: the actor_system takes ownership of the raw
  /// pointer (its API), so this is the one place that says new.
  static caf::actor_system::module* make(caf::actor_system& sys, caf::detail::type_list<>) {
    return new coordinator(sys);
  }

  caf::detail::thread_safe_actor_clock& clock() noexcept override { return clock_; }

 private:
  detail::timeout_clock clock_;
};

}  // namespace

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
    cfg.load<coordinator<caf::policy::work_sharing>>();
  } else {
    cfg.load<coordinator<caf::policy::work_stealing>>();
  }
}

}  // namespace fastnet::actors
