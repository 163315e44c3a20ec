// fastnet::actors — handing a message to an actor's current behavior.
#pragma once

#include <caf/behavior.hpp>
#include <caf/message.hpp>
#include <caf/scheduled_actor.hpp>

namespace fastnet::actors::detail {

/// Hands one message to the actor's current behavior synchronously (no
/// mailbox round trip): this is how a batch of frames becomes a series of
/// `received` messages for the price of one scheduling.
inline bool deliver(caf::scheduled_actor* self, caf::message msg) {
  auto& stack = self->bhvr_stack();
  if (stack.empty()) return false;
  // A counted copy: the handler may quit() or become() while it runs, which
  // would otherwise destroy the behavior under its own call.
  caf::behavior current = stack.back();
  current(msg);
  return true;
}

}  // namespace fastnet::actors::detail
