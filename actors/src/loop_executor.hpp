// fastnet::actors — runs connection actors on the loop thread that woke them.
#pragma once

#include <cstddef>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/execution_unit.hpp>
#include <caf/message.hpp>
#include <caf/resumable.hpp>

#include <fastnet/event_loop.hpp>

namespace fastnet::actors::detail {

/// A CAF execution unit owned by one event loop. When the loop has frames
/// (or news) for a connection actor that is waiting for messages, it wakes
/// the actor through here instead of through CAF's scheduler: the actor then
/// runs on the loop thread after the current events, and its replies are
/// written directly, with no thread hand-off either way. A ping-pong through
/// a scheduler worker costs two context switches per message on a small
/// machine; this costs none.
///
/// Only the actor being woken is captured. Everything else that becomes
/// runnable while an actor runs here (actors it messages or spawns, an
/// actor that used up its throughput) goes to CAF's scheduler as usual, so
/// long computations elsewhere never land on a loop thread. An actor woken
/// by another actor runs on a CAF worker, as any actor does.
///
/// Thread safety: the owning loop's thread only (CAF calls exec_later only
/// from actors this unit is running, i.e. on that thread).
class loop_executor final : public caf::execution_unit {
 public:
  /// `loop` must outlive the executor's pending work (the server stops the
  /// loops, which run what was deferred, before destroying executors).
  loop_executor(caf::actor_system& sys, event_loop& loop);
  ~loop_executor() override;
  loop_executor(const loop_executor&) = delete;
  loop_executor& operator=(const loop_executor&) = delete;

  /// Puts `msg` in `target`'s mailbox; if that makes the actor runnable, it
  /// runs on this loop after the current events. Loop thread only.
  void send(const caf::actor& target, caf::message msg);

  /// CAF: `job` became runnable while this unit was running an actor.
  void exec_later(caf::resumable* job) override;

 private:
  void run_pending();

  event_loop& loop_;
  size_t max_throughput_;
  std::vector<caf::resumable*> pending_;  // each holds one reference
  bool capturing_ = false;                // inside send(): keep the job here
  bool scheduled_ = false;                // run_pending is deferred on the loop
};

}  // namespace fastnet::actors::detail
