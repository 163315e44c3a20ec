#include "loop_executor.hpp"

#include <utility>

#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

namespace fastnet::actors::detail {

loop_executor::loop_executor(caf::actor_system& sys, event_loop& loop)
    : caf::execution_unit(&sys), loop_(loop), max_throughput_(sys.scheduler().max_throughput()) {}

loop_executor::~loop_executor() {
  // Not expected (the loop runs deferred work before it stops), but a job
  // still here holds a reference: hand it to the scheduler, never drop it.
  for (auto* job : std::exchange(pending_, {}))
    system().scheduler().enqueue(job);
}

void loop_executor::send(const caf::actor& target, caf::message msg) {
  // Checked on the handle: CAF 0.17's actor_cast of a null handle to a raw
  // pointer yields the null control block's offset (0x40), not null.
  if (!target) return;
  auto* dest = caf::actor_cast<caf::abstract_actor*>(target);
  capturing_ = true;
  dest->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, std::move(msg)),
                this);
  capturing_ = false;
}

void loop_executor::exec_later(caf::resumable* job) {
  if (!capturing_) {
    system().scheduler().enqueue(job);
    return;
  }
  pending_.push_back(job);
  if (!scheduled_) {
    scheduled_ = true;
    loop_.defer([this] { run_pending(); });
  }
}

void loop_executor::run_pending() {
  scheduled_ = false;
  std::vector<caf::resumable*> jobs;
  jobs.swap(pending_);
  for (auto* job : jobs) {
    switch (job->resume(this, max_throughput_)) {
      case caf::resumable::resume_later:
        // More messages than one turn allows: let a worker finish them, so
        // one busy actor cannot hold the loop (and every other connection).
        system().scheduler().enqueue(job);
        break;
      case caf::resumable::done:
      case caf::resumable::awaiting_message:
      case caf::resumable::shutdown_execution_unit:
        intrusive_ptr_release(job);
        break;
    }
  }
  if (pending_.empty()) {  // keep the capacity
    jobs.clear();
    pending_.swap(jobs);
  }
}

}  // namespace fastnet::actors::detail
