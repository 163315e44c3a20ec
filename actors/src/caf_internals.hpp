// fastnet::actors — every use of CAF 0.17 beyond its documented API, in one
// place: running a message through an actor's current behavior from outside
// its mailbox, and a scheduler whose clock skips needless work. Porting to
// another CAF version starts and ends here. (loop_executor implements CAF's
// execution_unit, the interface CAF offers for running actors elsewhere.)
#pragma once

#include <mutex>
#include <unordered_set>

#include <caf/actor_system.hpp>
#include <caf/behavior.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/detail/type_list.hpp>
#include <caf/message.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/scheduler/coordinator.hpp>

namespace fastnet::actors::detail {

/// True while `self` has a behavior (it has not quit and not become() an
/// empty one). Actor thread only.
inline bool has_behavior(caf::scheduled_actor* self) {
  return !self->bhvr_stack().empty();
}

/// Runs `msg` through the actor's current behavior synchronously, from
/// inside one of its own handlers (no mailbox round trip). Returns false
/// when no handler matched or the actor has no behavior left. Actor thread
/// only.
inline bool apply_behavior(caf::scheduled_actor* self, caf::message& msg) {
  auto& stack = self->bhvr_stack();
  if (stack.empty()) return false;
  // A counted copy: the handler may quit() or become() while it runs, which
  // would otherwise destroy the behavior under its own call.
  caf::behavior current = stack.back();
  return static_cast<bool>(current(msg));
}

/// A CAF clock that forwards everything to the scheduler's own clock, except
/// the timeout cancel that CAF 0.17 makes when any actor exits
/// (local_actor::cleanup -> cancel_timeouts). That cancel is a push to the
/// clock thread's queue and a condition-variable wake, paid by every actor,
/// although only actors that set a receive or request timeout have anything
/// to cancel. With an actor per short connection it was 17 % of the server's
/// CPU (perf: the caf.clock thread). This clock remembers which actors set
/// a timeout and forwards only their cancel; for the others cancelling would
/// find nothing. Delayed messages (schedule_message) are not keyed by actor
/// and are untouched.
///
/// Derives from thread_safe_actor_clock only because CAF's coordinator
/// returns that type from clock(); its own queue and dispatch loop are unused.
/// Thread safety: any thread, like the clock it wraps.
class timeout_clock final : public caf::detail::thread_safe_actor_clock {
 public:
  explicit timeout_clock(caf::detail::thread_safe_actor_clock& real) : real_(real) {}

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            uint64_t id) override {
    remember(self);
    real_.set_ordinary_timeout(t, self, type, id);
  }
  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override {
    remember(self);
    real_.set_request_timeout(t, self, id);
  }
  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         uint64_t id) override {
    remember(self);
    real_.set_multi_timeout(t, self, type, id);
  }
  void cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) override {
    real_.cancel_ordinary_timeout(self, type);
  }
  void cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) override {
    real_.cancel_request_timeout(self, id);
  }
  void cancel_timeouts(caf::abstract_actor* self) override {
    {
      std::lock_guard lock(mutex_);
      if (with_timeouts_.erase(self) == 0) return;
    }
    real_.cancel_timeouts(self);
  }
  void schedule_message(time_point t, caf::strong_actor_ptr receiver,
                        caf::mailbox_element_ptr content) override {
    real_.schedule_message(t, std::move(receiver), std::move(content));
  }
  void schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                        caf::message content) override {
    real_.schedule_message(t, std::move(target), std::move(sender), std::move(content));
  }
  void cancel_all() override { real_.cancel_all(); }

 private:
  // Entries live until the actor's exit cancels them, so the set is bounded
  // by the live actors that use timeouts.
  void remember(caf::abstract_actor* self) {
    std::lock_guard lock(mutex_);
    with_timeouts_.insert(self);
  }

  caf::detail::thread_safe_actor_clock& real_;
  std::mutex mutex_;
  std::unordered_set<caf::abstract_actor*> with_timeouts_;
};

/// CAF's coordinator (work sharing or stealing, as `Policy` says) with its
/// clock wrapped in a timeout_clock. Loaded into an actor_system_config
/// with cfg.load<coordinator<Policy>>().
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
  timeout_clock clock_;
};

}  // namespace fastnet::actors::detail
